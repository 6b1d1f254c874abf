//! Pure mapping from GitLab's API objects to `dora.events/v1` events: no
//! I/O, tested against recorded responses.
//!
//! - Ids are unique across sources: `gitlab:group/project:deployment:<id>`,
//!   `gitlab:group/project:issue:<iid>`; changes are commit SHAs.
//! - A deployment's outcome is its own `status` (as in GitLab's DORA
//!   figures and DevLake): `success` (and `completed`) is a success, `failed`
//!   and `canceled` are failures; `created`, `running`, `blocked` and the
//!   rest are not finished, and a later run picks them up. Its job's status
//!   never overrides it (a deployment can succeed while its job is marked
//!   failed, as in DevLake's recorded data).
//! - `finished_at` is the deployment's own finish time when the server
//!   gives one, else its job's finish (as DevLake does), else the
//!   deployment's last update (deployments made through the API have no
//!   job). The job's finish wins over `updated_at` when they disagree:
//!   `updated_at` moves with any later change of the deployment, while the
//!   job's finish is fixed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use regex::Regex;

use super::model::{GlCommit, GlDeployment, GlIssue, GlMergeRequest, GlTimelineEvent};
pub use crate::forge::{ForgeContext, ROOT_CAUSE_PATTERN};
use crate::hotfix::ShippedRequest;
use dora_core::event::{Change, Deployment, DeploymentStatus, DeploymentType, Incident, PullRequest};

/// A finished deployment, ready to become an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The deployment's id.
    pub id: u64,
    /// Its environment's name.
    pub environment: String,
    /// The commit deployed.
    pub sha: String,
    /// The branch or tag deployed.
    pub git_ref: String,
    /// When its job started.
    pub started_at: Option<DateTime<Utc>>,
    /// Its outcome.
    pub status: DeploymentStatus,
    /// When it finished (see the module's notes).
    pub finished_at: DateTime<Utc>,
}

/// The outcome of a deployment's `status`, or `None` while it is not
/// finished (or was never a deployment attempt: `skipped`).
pub fn outcome(status: &str) -> Option<DeploymentStatus> {
    match status.to_ascii_lowercase().as_str() {
        "success" | "completed" => Some(DeploymentStatus::Success),
        "failed" | "canceled" | "cancelled" => Some(DeploymentStatus::Failure),
        _ => None,
    }
}

impl Attempt {
    /// The attempt of a finished deployment; `None` while it is not
    /// finished, or when it has no time at all.
    pub fn from_deployment(d: &GlDeployment) -> Option<Self> {
        let status = outcome(&d.status)?;
        let job = d.deployable.as_ref();
        let finished_at = d.finished_at.or(job.and_then(|j| j.finished_at)).or(d.updated_at)?;
        Some(Attempt {
            id: d.id,
            environment: d.environment.name.clone(),
            sha: d.sha.clone(),
            git_ref: d.git_ref.clone(),
            started_at: job.and_then(|j| j.started_at),
            status,
            finished_at,
        })
    }
}

/// The deployment event of an attempt.
pub fn deployment(
    project: &ForgeContext,
    attempt: &Attempt,
    changes: Vec<String>,
    deployment_type: DeploymentType,
    remediates: Vec<String>,
) -> Deployment {
    Deployment {
        id: project.id("deployment", attempt.id),
        service: project.service.clone(),
        team: project.team.clone(),
        source: Some(project.source.clone()),
        environment: attempt.environment.clone(),
        finished_at: attempt.finished_at,
        started_at: attempt.started_at.filter(|s| *s <= attempt.finished_at),
        status: attempt.status,
        commit: Some(attempt.sha.clone()),
        changes,
        deployment_type,
        remediates,
        note: None,
    }
}

/// The merge requests a deployment shipped, with their commits, and which
/// merge request brought each commit in.
#[derive(Debug, Default)]
pub struct ShippedMergeRequests {
    requests: Vec<(GlMergeRequest, Option<DateTime<Utc>>)>,
    by_commit: HashMap<String, usize>,
}

impl ShippedMergeRequests {
    /// From each merged request and its commits: a commit belongs to the
    /// request that lists it, or whose merge or squash commit it is. The
    /// first commit time is the earliest authored time of its commits.
    pub fn new(requests: Vec<(GlMergeRequest, Vec<GlCommit>)>) -> Self {
        let mut out = Self::default();
        for (mr, commits) in requests {
            let index = out.requests.len();
            let first = commits.iter().filter_map(|c| c.authored_date.or(c.committed())).min();
            let own = [&mr.merge_commit_sha, &mr.squash_commit_sha].into_iter().flatten();
            for sha in own.cloned().chain(commits.into_iter().map(|c| c.id)) {
                out.by_commit.entry(sha).or_insert(index);
            }
            out.requests.push((mr, first));
        }
        out
    }

    /// The merge request of a commit, and its first commit's time.
    pub fn of(&self, sha: &str) -> Option<(&GlMergeRequest, Option<DateTime<Utc>>)> {
        self.by_commit.get(sha).map(|&i| (&self.requests[i].0, self.requests[i].1))
    }

    /// The requests, as the hotfix rule sees them (`labels` holds their
    /// labels as `&str`, from [`ShippedMergeRequests::labels`]).
    pub fn shipped<'a>(&'a self, labels: &'a [Vec<&'a str>]) -> Vec<ShippedRequest<'a>> {
        self.requests
            .iter()
            .zip(labels)
            .map(|((mr, _), labels)| ShippedRequest { branch: &mr.source_branch, title: &mr.title, labels })
            .collect()
    }

    /// Each request's labels.
    pub fn labels(&self) -> Vec<Vec<&str>> {
        self.requests.iter().map(|(mr, _)| mr.labels.iter().map(String::as_str).collect()).collect()
    }

    /// The merge requests, out of a project's merged ones with their
    /// commits (`all`), that brought in at least one of `commits`: what a
    /// deployment shipping `commits` shipped. They keep the order of
    /// `all`, so a commit two requests list goes to the first.
    pub fn owning(all: &[(GlMergeRequest, Vec<GlCommit>)], commits: &[GlCommit]) -> Self {
        let shipped: HashSet<&str> = commits.iter().map(|c| c.id.as_str()).collect();
        let owns = |(mr, listed): &(GlMergeRequest, Vec<GlCommit>)| {
            [&mr.merge_commit_sha, &mr.squash_commit_sha]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .chain(listed.iter().map(|c| c.id.as_str()))
                .any(|sha| shipped.contains(sha))
        };
        Self::new(all.iter().filter(|r| owns(r)).cloned().collect())
    }

    /// Whether no merge request was shipped.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// The merge request part of a change: its number, opened and merged
/// times, and its first commit's time.
pub fn pull_request(mr: &GlMergeRequest, first_commit_at: Option<DateTime<Utc>>) -> PullRequest {
    PullRequest {
        number: Some(mr.iid),
        opened_at: Some(mr.created_at),
        merged_at: mr.merged_at,
        first_commit_at,
    }
}

/// The commits of one merge request of a GraphQL answer (a node of
/// `project.mergeRequests` with `iid` and `commits { pageInfo { hasNextPage }
/// nodes { sha authoredDate committedDate } }`): its number, its commits as
/// the REST API lists them, and whether more commits than the page holds
/// remain (then they are read from the REST API). `None` for a node without
/// a number.
pub fn merge_request_commits(node: &serde_json::Value) -> Option<(u64, Vec<GlCommit>, bool)> {
    let iid = match &node["iid"] {
        serde_json::Value::String(s) => s.parse().ok()?,
        v => v.as_u64()?,
    };
    let time = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let commits = node["commits"]["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| {
                    Some(GlCommit {
                        id: n["sha"].as_str()?.to_string(),
                        title: n["title"].as_str().unwrap_or_default().to_string(),
                        authored_date: time(&n["authoredDate"]),
                        committed_date: time(&n["committedDate"]),
                        created_at: None,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let more = node["commits"]["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false);
    Some((iid, commits, more))
}

/// A change event for a commit, with its merge request's times when one
/// brought it in (the first commit's time gives squash merges their true
/// lead time). `None` when the commit carries no time at all.
pub fn change(
    project: &ForgeContext,
    commit: &GlCommit,
    merge_request: Option<(&GlMergeRequest, Option<DateTime<Utc>>)>,
) -> Option<Change> {
    Some(Change {
        id: commit.id.clone(),
        service: project.service.clone(),
        team: project.team.clone(),
        source: Some(project.source.clone()),
        committed_at: commit.committed()?,
        authored_at: commit.authored_date,
        pull_request: merge_request.map(|(mr, first)| pull_request(mr, first)),
    })
}

/// Whether an issue is an incident: GitLab's issue type `incident`, or one
/// of `labels`.
pub fn is_incident(issue: &GlIssue, labels: &[String]) -> bool {
    let typed = issue.issue_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("incident"))
        || issue.kind.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("incident"));
    typed || issue.labels.iter().any(|l| labels.iter().any(|w| w.eq_ignore_ascii_case(l)))
}

/// The timeline tag that marks when an incident started.
pub const START_TAG: &str = "Start time";
/// The timeline tag that marks when it ended.
pub const END_TAG: &str = "End time";

/// An incident from an issue (`None` when it is not one): opened when its
/// timeline's `Start time` event says, else when the issue was opened;
/// resolved when its `End time` event says, else when it was closed (a
/// closed issue without `closed_at`, as old servers answer, is resolved at
/// its last update). `caused_by_change` is the first capture group of
/// `root_cause` in the description; the severity is GitLab's, lowercased
/// (`unknown` is left out).
pub fn incident(
    project: &ForgeContext,
    issue: &GlIssue,
    labels: &[String],
    root_cause: &Regex,
    timeline: &[GlTimelineEvent],
) -> Option<Incident> {
    if !is_incident(issue, labels) {
        return None;
    }
    let tagged = |tag: &'static str| {
        timeline
            .iter()
            .filter(move |e| e.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
            .map(|e| e.occurred_at)
    };
    let opened_at = tagged(START_TAG).min().unwrap_or(issue.created_at);
    let closed = issue.state.eq_ignore_ascii_case("closed");
    let resolved_at =
        tagged(END_TAG).max().or_else(|| closed.then(|| issue.closed_at.or(issue.updated_at)).flatten());
    let caused_by_change = crate::forge::root_cause(root_cause, issue.description.as_deref());
    Some(Incident {
        id: project.id("issue", issue.iid),
        service: project.service.clone(),
        team: project.team.clone(),
        source: Some(project.source.clone()),
        opened_at,
        resolved_at,
        caused_by: None,
        caused_by_change,
        severity: issue
            .severity
            .as_deref()
            .filter(|s| !s.eq_ignore_ascii_case("unknown") && !s.is_empty())
            .map(str::to_ascii_lowercase),
    })
}

/// The timeline events of one incident from the GraphQL answer's `nodes`.
pub fn timeline_events(nodes: &serde_json::Value) -> Vec<GlTimelineEvent> {
    let Some(nodes) = nodes.as_array() else { return Vec::new() };
    nodes
        .iter()
        .filter_map(|n| {
            let occurred_at = n["occurredAt"].as_str()?.parse::<DateTime<Utc>>().ok()?;
            let tags = n["timelineEventTags"]["nodes"]
                .as_array()
                .map(|t| t.iter().filter_map(|x| x["name"].as_str()).map(str::to_string).collect())
                .unwrap_or_default();
            Some(GlTimelineEvent { occurred_at, tags })
        })
        .collect()
}

#[cfg(test)]
#[path = "normalize/tests.rs"]
mod tests;
