//! The public, owned event types of `dora.events/v1` (METRICS.md section 1).
//!
//! Embedders build these in code and hand them to an [`EventSet`](super::EventSet);
//! the JSON Lines reader produces the same events without allocating one
//! per line. Every type serializes to exactly the spec's JSON shape.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether a deployment attempt went live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    /// The deployment went live.
    Success,
    /// The attempt did not go live.
    Failure,
}

/// What kind of deployment this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentType {
    /// An ordinary deployment.
    #[default]
    Regular,
    /// A deployment of an older version, undoing a failed one.
    Rollback,
    /// A deployment made to fix a failed one.
    Hotfix,
}

impl DeploymentType {
    /// Whether this type counts as rework (rollback or hotfix).
    pub fn is_rework(self) -> bool {
        !matches!(self, DeploymentType::Regular)
    }
}

/// A deployment attempt of a service to an environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// Identifier, unique among deployments (adapters prefix it with their source).
    pub id: String,
    /// The deployable unit.
    pub service: String,
    /// The owning team, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Where the event came from (`github`, `gitlab`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The environment name (matched against the production patterns).
    pub environment: String,
    /// When it went live, or when it failed.
    pub finished_at: DateTime<Utc>,
    /// When it started, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// Whether the attempt went live.
    pub status: DeploymentStatus,
    /// The revision deployed (informative only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Ids of the changes this deployment shipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// Regular, rollback or hotfix.
    #[serde(rename = "type")]
    pub deployment_type: DeploymentType,
    /// Ids of the deployments this one fixes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remediates: Vec<String>,
    /// Free text about the deployment for people (dora's extension of the
    /// schema, informative only: no figure reads it). Adapters fill it where
    /// the source has such a text, e.g. Kubernetes' `kubernetes.io/change-cause`.
    /// Readers of `dora.events/v1` that do not know it ignore it, as the
    /// spec's forward-compatibility rule says; dora reads it only when it is
    /// a string and ignores any other value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The pull (merge) request a change went through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    /// The pull request number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// When it was opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
    /// When it was merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<DateTime<Utc>>,
    /// When its first commit was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_commit_at: Option<DateTime<Utc>>,
}

/// One commit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The commit SHA.
    pub id: String,
    /// The deployable unit the commit belongs to.
    pub service: String,
    /// The owning team, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Where the event came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When it was committed.
    pub committed_at: DateTime<Utc>,
    /// When it was authored, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authored_at: Option<DateTime<Utc>>,
    /// Its pull request, if it went through one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequest>,
}

/// A production incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Identifier, unique among incidents.
    pub id: String,
    /// The affected service.
    pub service: String,
    /// The owning team, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Where the event came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved; `None` while unresolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The deployment that caused it, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<String>,
    /// The change (commit SHA) that caused it, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by_change: Option<String>,
    /// Free-form severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// Any `dora.events/v1` event.
///
/// It deserializes through the same validating parser as the JSON Lines
/// reader, so a single line can be read with `serde_json::from_str`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Event {
    /// A deployment attempt.
    Deployment(Deployment),
    /// A commit.
    Change(Change),
    /// An incident.
    Incident(Incident),
}

/// The three event kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// `deployment`
    Deployment,
    /// `change`
    Change,
    /// `incident`
    Incident,
}

impl EventKind {
    /// The kind's name in the JSON schema.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Deployment => "deployment",
            EventKind::Change => "change",
            EventKind::Incident => "incident",
        }
    }
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Deployment(_) => EventKind::Deployment,
            Event::Change(_) => EventKind::Change,
            Event::Incident(_) => EventKind::Incident,
        }
    }

    /// The event's id (unique within its kind).
    pub fn id(&self) -> &str {
        match self {
            Event::Deployment(d) => &d.id,
            Event::Change(c) => &c.id,
            Event::Incident(i) => &i.id,
        }
    }
}

impl Deployment {
    /// A deployment with its required fields; every optional one absent
    /// (no team, source, start, commit, changes, remediations or note) and
    /// the type `regular`. Set others with struct update syntax:
    ///
    /// ```
    /// use dora_core::{Deployment, DeploymentStatus};
    ///
    /// let at = "2026-03-02T12:00:00Z".parse().unwrap();
    /// let d = Deployment {
    ///     changes: vec!["c1".into()],
    ///     ..Deployment::new("d1", "api", "production", at, DeploymentStatus::Success)
    /// };
    /// assert_eq!(d.team, None);
    /// ```
    pub fn new(
        id: impl Into<String>,
        service: impl Into<String>,
        environment: impl Into<String>,
        finished_at: DateTime<Utc>,
        status: DeploymentStatus,
    ) -> Self {
        Self {
            id: id.into(),
            service: service.into(),
            team: None,
            source: None,
            environment: environment.into(),
            finished_at,
            started_at: None,
            status,
            commit: None,
            changes: Vec::new(),
            deployment_type: DeploymentType::Regular,
            remediates: Vec::new(),
            note: None,
        }
    }
}

impl Change {
    /// A change with its required fields; no team, source, author time or
    /// pull request.
    pub fn new(id: impl Into<String>, service: impl Into<String>, committed_at: DateTime<Utc>) -> Self {
        Self {
            id: id.into(),
            service: service.into(),
            team: None,
            source: None,
            committed_at,
            authored_at: None,
            pull_request: None,
        }
    }
}

impl Incident {
    /// An unresolved incident with its required fields; no team, source,
    /// cause or severity.
    pub fn new(id: impl Into<String>, service: impl Into<String>, opened_at: DateTime<Utc>) -> Self {
        Self {
            id: id.into(),
            service: service.into(),
            team: None,
            source: None,
            opened_at,
            resolved_at: None,
            caused_by: None,
            caused_by_change: None,
            severity: None,
        }
    }
}

impl From<Deployment> for Event {
    fn from(d: Deployment) -> Self {
        Event::Deployment(d)
    }
}
impl From<Change> for Event {
    fn from(c: Change) -> Self {
        Event::Change(c)
    }
}
impl From<Incident> for Event {
    fn from(i: Incident) -> Self {
        Event::Incident(i)
    }
}
