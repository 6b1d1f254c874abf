//! Events for the crate's unit tests: a change and a successful regular
//! production deployment of service `api`, no team or source; tests set
//! any other field with struct update syntax.

use chrono::{DateTime, Utc};

use crate::event::{Change, Deployment, DeploymentStatus, DeploymentType};

/// A change committed at `committed_at`.
pub(crate) fn change(id: &str, committed_at: DateTime<Utc>) -> Change {
    Change::new(id, "api", committed_at)
}

/// A successful regular production deployment finishing at `finished_at`.
pub(crate) fn deployment(id: &str, finished_at: DateTime<Utc>, changes: &[&str]) -> Deployment {
    Deployment {
        changes: changes.iter().map(|c| c.to_string()).collect(),
        ..Deployment::new(id, "api", "production", finished_at, DeploymentStatus::Success)
    }
}

fn at(hour: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap()
}

/// A deployment with every field set.
pub(crate) fn full_deployment() -> crate::event::Event {
    crate::event::Event::Deployment(Deployment {
        team: Some("core".into()),
        source: Some("github".into()),
        started_at: Some(at(9)),
        commit: Some("abc".into()),
        deployment_type: DeploymentType::Hotfix,
        remediates: vec!["d0".into()],
        note: Some("undo".into()),
        ..deployment("d1", at(10), &["c1"])
    })
}

/// A change with every field set, its pull request's too.
pub(crate) fn full_change() -> crate::event::Event {
    crate::event::Event::Change(Change {
        team: Some("core".into()),
        source: Some("github".into()),
        authored_at: Some(at(7)),
        pull_request: Some(crate::event::PullRequest {
            number: Some(7),
            opened_at: Some(at(6)),
            merged_at: Some(at(8)),
            first_commit_at: Some(at(5)),
        }),
        ..change("c1", at(8))
    })
}

/// An incident with every field set.
pub(crate) fn full_incident() -> crate::event::Event {
    crate::event::Event::Incident(crate::event::Incident {
        id: "i1".into(),
        service: "api".into(),
        team: Some("core".into()),
        source: Some("pagerduty".into()),
        opened_at: at(11),
        resolved_at: Some(at(12)),
        caused_by: Some("d1".into()),
        caused_by_change: Some("c1".into()),
        severity: Some("sev1".into()),
    })
}
