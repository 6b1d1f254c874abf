//! What the unit tests share: the fixture readers and git repositories of
//! the integration tests' `common` (one file serves both), and events made
//! by hand.
#![allow(dead_code, unused_imports)]

use dora_core::event::{Deployment, DeploymentStatus, DeploymentType};

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

pub(crate) use fixtures::{git_repository, peer_json, peer_text};

/// A successful regular deployment `id` of the service `web` (team `shop`)
/// to production, from Kubernetes, finished at `finished_at`, shipping its
/// own `commit`.
pub(crate) fn deployment(id: &str, commit: &str, finished_at: &str) -> Deployment {
    Deployment {
        id: id.into(),
        service: "web".into(),
        team: Some("shop".into()),
        source: Some("kubernetes".into()),
        environment: "production".into(),
        finished_at: finished_at.parse().expect("an RFC 3339 time"),
        started_at: None,
        status: DeploymentStatus::Success,
        commit: Some(commit.into()),
        changes: vec![commit.into()],
        deployment_type: DeploymentType::Regular,
        remediates: vec![],
        note: None,
    }
}
