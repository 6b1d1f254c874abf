//! The raw form of an event: what every reader produces (the JSON Lines
//! fast path and serde path, CSV rows, the store's binary records) before
//! the [`EventSet`](super::EventSet) takes it in. Its strings are of any type
//! `S`: borrowed from a line while parsing, then spans of a block or owned
//! strings; times are microseconds since the epoch.

use super::time::Micros;
use super::{DeploymentStatus, DeploymentType, EventKind};

/// A deployment's list of changes: most list a few, kept inline (reading
/// a line allocates nothing for them).
pub(crate) type StrList<S> = smallvec::SmallVec<[S; 4]>;

/// A parsed event whose strings are of type `S` (borrowed while parsing, then
/// turned into spans or owned strings).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawEvent<S> {
    pub id: S,
    pub service: S,
    pub team: Option<S>,
    pub source: Option<S>,
    pub body: RawBody<S>,
}

/// A deployment's own fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawDeployment<S> {
    pub environment: S,
    pub finished_at: Micros,
    pub started_at: Option<Micros>,
    pub status: DeploymentStatus,
    pub commit: Option<S>,
    pub changes: StrList<S>,
    pub deployment_type: DeploymentType,
    pub remediates: Vec<S>,
    pub note: Option<S>,
}

/// The kind-specific part of a [`RawEvent`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawBody<S> {
    Deployment(RawDeployment<S>),
    Change {
        committed_at: Micros,
        authored_at: Option<Micros>,
        pull_request: Option<RawPullRequest>,
    },
    Incident {
        opened_at: Micros,
        resolved_at: Option<Micros>,
        caused_by: Option<S>,
        caused_by_change: Option<S>,
        severity: Option<S>,
    },
}

/// A change's pull request, with its times parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawPullRequest {
    pub number: Option<u64>,
    pub opened_at: Option<Micros>,
    pub merged_at: Option<Micros>,
    pub first_commit_at: Option<Micros>,
}

impl<S> RawEvent<S> {
    pub fn kind(&self) -> EventKind {
        match self.body {
            RawBody::Deployment(_) => EventKind::Deployment,
            RawBody::Change { .. } => EventKind::Change,
            RawBody::Incident { .. } => EventKind::Incident,
        }
    }

    /// Maps every string with `f`, keeping the structure.
    pub fn map_strs<T>(self, mut f: impl FnMut(S) -> T) -> RawEvent<T> {
        let body = match self.body {
            RawBody::Deployment(d) => RawBody::Deployment(RawDeployment {
                environment: f(d.environment),
                commit: d.commit.map(&mut f),
                changes: d.changes.into_iter().map(&mut f).collect(),
                remediates: d.remediates.into_iter().map(&mut f).collect(),
                note: d.note.map(&mut f),
                finished_at: d.finished_at,
                started_at: d.started_at,
                status: d.status,
                deployment_type: d.deployment_type,
            }),
            RawBody::Change { committed_at, authored_at, pull_request } => {
                RawBody::Change { committed_at, authored_at, pull_request }
            }
            RawBody::Incident { opened_at, resolved_at, caused_by, caused_by_change, severity } => {
                RawBody::Incident {
                    opened_at,
                    resolved_at,
                    caused_by: caused_by.map(&mut f),
                    caused_by_change: caused_by_change.map(&mut f),
                    severity: severity.map(&mut f),
                }
            }
        };
        RawEvent {
            id: f(self.id),
            service: f(self.service),
            team: self.team.map(&mut f),
            source: self.source.map(&mut f),
            body,
        }
    }
}
