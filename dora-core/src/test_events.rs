//! Events for the crate's unit tests: a change and a successful regular
//! production deployment of service `api`, no team or source; tests set
//! any other field with struct update syntax.

use chrono::{DateTime, Utc};

use crate::event::{Change, Deployment, DeploymentStatus, DeploymentType};

/// A change committed at `committed_at`.
pub(crate) fn change(id: &str, committed_at: DateTime<Utc>) -> Change {
    Change {
        id: id.into(),
        service: "api".into(),
        team: None,
        source: None,
        committed_at,
        authored_at: None,
        pull_request: None,
    }
}

/// A successful regular production deployment finishing at `finished_at`.
pub(crate) fn deployment(id: &str, finished_at: DateTime<Utc>, changes: &[&str]) -> Deployment {
    Deployment {
        id: id.into(),
        service: "api".into(),
        team: None,
        source: None,
        environment: "production".into(),
        finished_at,
        started_at: None,
        status: DeploymentStatus::Success,
        commit: None,
        changes: changes.iter().map(|c| c.to_string()).collect(),
        deployment_type: DeploymentType::Regular,
        remediates: vec![],
        note: None,
    }
}
