//! Embedding `dora-core`: build events in code, compute the metrics of a
//! window, print the figures and ask which events are behind one of them.
//!
//!     cargo run -p dora-core --example embed

use chrono::{DateTime, Duration, TimeZone, Utc};
use dora_core::render::{TableOptions, write_table};
use dora_core::{
    Change, Deployment, DeploymentStatus, DeploymentType, EventSet, GroupKind, Incident, Metric, Options,
    Period, PullRequest, Window, compute,
};

fn deployment(id: &str, at: DateTime<Utc>, changes: &[&str], kind: DeploymentType) -> Deployment {
    Deployment {
        id: id.into(),
        service: "checkout".into(),
        team: Some("commerce".into()),
        source: Some("ci".into()),
        environment: "production".into(),
        finished_at: at,
        started_at: None,
        status: DeploymentStatus::Success,
        commit: changes.last().map(|c| c.to_string()),
        changes: changes.iter().map(|c| c.to_string()).collect(),
        deployment_type: kind,
        remediates: vec![],
        note: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monday = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let hours = |h: i64| monday + Duration::hours(h);

    let mut events = EventSet::new();
    for (sha, committed, first_commit) in [("a1", 8, 2), ("b2", 30, 26), ("c3", 50, 49)] {
        events.push(Change {
            id: sha.into(),
            service: "checkout".into(),
            team: Some("commerce".into()),
            source: None,
            committed_at: hours(committed),
            authored_at: None,
            pull_request: Some(PullRequest {
                number: Some(100 + committed as u64),
                first_commit_at: Some(hours(first_commit)),
                opened_at: Some(hours(first_commit + 1)),
                merged_at: Some(hours(committed)),
            }),
        });
    }
    events.push(deployment("d1", hours(10), &["a1"], DeploymentType::Regular));
    events.push(deployment("d2", hours(32), &["b2"], DeploymentType::Regular));
    events.push(deployment("d3", hours(33), &[], DeploymentType::Rollback));
    events.push(deployment("d4", hours(52), &["c3"], DeploymentType::Regular));
    events.push(Incident {
        id: "INC-7".into(),
        service: "checkout".into(),
        team: Some("commerce".into()),
        source: Some("pagerduty".into()),
        opened_at: hours(32) + Duration::minutes(20),
        resolved_at: Some(hours(33) + Duration::minutes(5)),
        caused_by: None,
        caused_by_change: None,
        severity: Some("sev2".into()),
    });

    let mut options = Options::new(Window::new(monday, monday + Duration::days(7))?);
    options.period = Period::Day;
    let result = compute(&events, &options)?;

    write_table(&result.report, std::io::stdout().lock(), TableOptions::default())?;

    let why = result.explain(GroupKind::Team, "commerce", None, Metric::ChangeFailureRate)?;
    println!("Why the change failure rate of team commerce is what it is:");
    for e in &why.events {
        println!("  {} {}: {}", e.time.format("%a %H:%M"), e.id, e.reason);
    }
    Ok(())
}
