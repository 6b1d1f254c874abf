//! The weekly report: snapshots of every format on the bundled demo data,
//! and the edge cases (empty weeks, unicode and long names, one-service
//! teams, time zone week boundaries).

use chrono::{DateTime, Utc};
use dora_core::render::{
    ReportTextOptions, write_report_html, write_report_json, write_report_markdown, write_report_text,
};
use dora_core::report::{IsoWeek, Report, ReportOptions, build_report};
use dora_core::{
    Change, Deployment, DeploymentStatus, EventSet, Incident, Options, ReadOptions, Window, read_jsonl_path,
};

fn demo() -> EventSet {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
    let mut set = EventSet::new();
    read_jsonl_path(&path, &mut set, &ReadOptions::default()).unwrap();
    set
}

fn options(week: &str, tz: &str) -> ReportOptions {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let mut engine = Options::new(Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z")).unwrap());
    engine.timezone = tz.parse().unwrap();
    ReportOptions { engine, week: week.parse().unwrap(), weeks: 12, slowest_changes: 5 }
}

fn text(report: &Report) -> String {
    let mut out = Vec::new();
    write_report_text(report, &mut out, ReportTextOptions { color: false, width: Some(80) }).unwrap();
    String::from_utf8(out).unwrap()
}

fn markdown(report: &Report) -> String {
    let mut out = Vec::new();
    write_report_markdown(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn html(report: &Report) -> String {
    let mut out = Vec::new();
    write_report_html(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn assert_fits_80_columns(text: &str) {
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{} columns: {line}", line.chars().count());
    }
}

#[test]
fn demo_report_in_every_format() {
    let report = build_report(&demo(), &options("2026-W47", "UTC")).unwrap();
    let t = text(&report);
    assert_fits_80_columns(&t);
    insta::assert_snapshot!("demo_text", t);
    insta::assert_snapshot!("demo_markdown", markdown(&report));
    let page = html(&report);
    assert!(!page.contains("<script"), "no scripts");
    assert!(!page.contains("http://") && !page.contains("https://"), "nothing from the network");
    // One chart per metric for all, four per team and per service.
    let groups = report.groups.len() - 1;
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 6 + 4 * groups);
    insta::assert_snapshot!("demo_html", page);
    let mut json = Vec::new();
    write_report_json(&report, &mut json).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["schema"], "dora.report/v1");
    assert_eq!(v["metrics"]["schema"], "dora.metrics/v1");
    // The embedded metrics object is checked by the engine's own tests.
    v.as_object_mut().unwrap().remove("metrics");
    insta::assert_snapshot!("demo_json", serde_json::to_string_pretty(&v).unwrap());
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn deployment(id: &str, service: &str, team: &str, finished: &str, changes: &[&str]) -> Deployment {
    Deployment {
        team: Some(team.into()),
        changes: changes.iter().map(|c| c.to_string()).collect(),
        ..Deployment::new(id, service, "production", at(finished), DeploymentStatus::Success)
    }
}

fn change(id: &str, service: &str, committed: &str) -> Change {
    Change::new(id, service, at(committed))
}

#[test]
fn a_week_without_deployments_shows_dashes_not_zeros() {
    let mut set = EventSet::new();
    set.push(change("c1", "api", "2026-02-02T09:00:00Z"));
    set.push(deployment("d1", "api", "core", "2026-02-02T12:00:00Z", &["c1"]));
    // The report's week (2026-W10, 2 March) has nothing.
    let report = build_report(&set, &options("2026-W10", "UTC")).unwrap();
    let all = &report.groups[0];
    assert_eq!(all.metrics[0].value, Some(0.0), "deployments are counted: 0");
    assert!(all.metrics[1..].iter().all(|m| m.value.is_none()), "the rest is unknown, not 0");
    let t = text(&report);
    let lead = t.lines().find(|l| l.trim_start().starts_with("lead time")).unwrap();
    assert!(lead.contains('—') && !lead.contains(" 0s"), "{lead}");
    assert!(markdown(&report).contains("| **all** | 0 | — | — | — | — | — |"), "{}", markdown(&report));
}

#[test]
fn unicode_and_very_long_names_fit_and_one_service_teams_work() {
    let mut set = EventSet::new();
    let long = "a-service-with-a-remarkably-long-name-that-goes-on-and-on-past-any-column";
    for (i, day) in ["2026-03-02", "2026-03-03", "2026-03-04"].iter().enumerate() {
        set.push(change(&format!("c{i}"), "zahlungsdienst-ä€", &format!("{day}T08:00:00Z")));
        set.push(deployment(
            &format!("d{i}"),
            "zahlungsdienst-ä€",
            "équipe-💳",
            &format!("{day}T12:00:00Z"),
            &[&format!("c{i}")],
        ));
        set.push(deployment(&format!("l{i}"), long, "solo", &format!("{day}T13:00:00Z"), &[]));
    }
    set.push(Incident {
        id: "i1".into(),
        service: long.into(),
        team: None,
        source: None,
        opened_at: at("2026-03-05T10:00:00Z"),
        resolved_at: None,
        caused_by: None,
        caused_by_change: None,
        severity: Some("sev1".into()),
    });
    let report = build_report(&set, &options("2026-W10", "UTC")).unwrap();
    let t = text(&report);
    assert_fits_80_columns(&t);
    assert!(t.contains("team équipe-💳"), "{t}");
    assert!(t.contains("service zahlungsdienst-ä€"), "{t}");
    assert!(t.contains("team solo"), "{t}");
    assert!(t.contains('…'), "the long name is cut");
    // Notable: the open incident, the deployments with no changes.
    assert_eq!(report.notable.open_incidents.len(), 1);
    assert_eq!(report.notable.deployments_without_changes.len(), 3);
    assert!(markdown(&report).contains("team équipe-💳"));
    assert!(html(&report).contains("équipe-💳"));
}

#[test]
fn weeks_are_cut_in_the_time_zone() {
    // Sunday 23:30 in Berlin is already Monday in UTC+... no: Monday 00:30
    // Berlin (UTC+1 in March) is Sunday 23:30 UTC.
    let mut set = EventSet::new();
    set.push(change("c1", "api", "2026-03-08T20:00:00Z"));
    set.push(deployment("d1", "api", "core", "2026-03-08T23:30:00Z", &["c1"]));
    let utc = build_report(&set, &options("2026-W10", "UTC")).unwrap();
    let berlin = build_report(&set, &options("2026-W10", "Europe/Berlin")).unwrap();
    assert_eq!(utc.groups[0].metrics[0].value, Some(1.0), "Sunday in UTC: in W10");
    assert_eq!(berlin.groups[0].metrics[0].value, Some(0.0), "Monday in Berlin: in W11");
    assert_eq!(berlin.start.to_rfc3339(), "2026-03-02T00:00:00+01:00");
    let next = build_report(&set, &options("2026-W11", "Europe/Berlin")).unwrap();
    assert_eq!(next.groups[0].metrics[0].value, Some(1.0));
}

#[test]
fn the_last_complete_week_is_the_default() {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let engine = Options::new(Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z")).unwrap());
    // Wednesday 25 November 2026: the last complete week is W47 (16-22 Nov).
    let opts = ReportOptions::last_complete_week(engine, t("2026-11-25T10:00:00Z"));
    assert_eq!(opts.week, IsoWeek { year: 2026, week: 47 });
}

/// Links for `write_report_html_with_links`: `w:WEEK`, `latest`, `KIND:NAME`.
struct Links;

impl dora_core::render::ReportLinks for Links {
    fn week(&self, week: &str) -> Option<String> {
        Some(format!("w:{week}"))
    }

    fn latest(&self) -> Option<String> {
        None
    }

    fn group(&self, kind: dora_core::GroupKind, name: &str) -> Option<String> {
        Some(format!("{}:{name}&", kind.as_str()))
    }
}

#[test]
fn one_group_and_links() {
    use dora_core::GroupKind;
    use dora_core::render::write_report_html_with_links;
    use dora_core::report::build_report_for;
    let set = demo();
    let opts = options("2026-W47", "UTC");
    let whole = build_report(&set, &opts).unwrap();
    assert_eq!(
        serde_json::to_string(&build_report_for(&set, &opts, None).unwrap()).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    // One team: its group only, its notable items only.
    let team = build_report_for(&set, &opts, Some((GroupKind::Team, "platform"))).unwrap();
    assert_eq!(team.groups.len(), 1);
    assert_eq!((team.groups[0].group_by, team.groups[0].name.as_str()), (GroupKind::Team, "platform"));
    assert!(team.metrics.groups.iter().all(|g| g.name == "platform"));
    assert!(team.regressions.iter().all(|r| r.name == "platform"));
    let platform = ["search", "identity", "edge-proxy"];
    for d in &team.notable.deployments_without_changes {
        assert!(platform.contains(&d.service.as_str()), "{}", d.service);
    }
    assert_eq!(team.trend_weeks, whole.trend_weeks);
    let service = build_report_for(&set, &opts, Some((GroupKind::Service, "checkout"))).unwrap();
    assert!(service.notable.slowest_changes.iter().all(|c| c.service == "checkout"));
    let e = build_report_for(&set, &opts, Some((GroupKind::Team, "nobody"))).unwrap_err();
    assert!(e.to_string().contains("no team named \"nobody\""), "{e}");
    // No links: the page of write_report_html; links: one <nav> more.
    let mut plain = Vec::new();
    write_report_html_with_links(&whole, &mut plain, None).unwrap();
    assert_eq!(String::from_utf8(plain).unwrap(), html(&whole));
    let mut linked = Vec::new();
    write_report_html_with_links(&whole, &mut linked, Some(&Links)).unwrap();
    let linked = String::from_utf8(linked).unwrap();
    let start = linked.find("<nav class=\"links\">").unwrap();
    let end = linked.find("</nav>").unwrap() + "</nav>".len();
    assert_eq!(format!("{}{}", &linked[..start], &linked[end..]), html(&whole));
    let nav = &linked[start..end];
    assert!(nav.contains(r#"<a href="w:2026-W46">2026-W46</a>"#), "{nav}");
    assert!(nav.contains(r#"<a href="w:2026-W36">2026-W36</a>"#), "{nav}");
    assert!(!nav.contains("w:2026-W47"), "not the week itself: {nav}");
    assert!(nav.contains(" last complete week</p>"), "no link when None: {nav}");
    assert!(nav.contains(r#"<a href="team:platform&amp;">platform</a>"#), "escaped: {nav}");
    assert!(nav.contains(r#"<a href="service:checkout&amp;">checkout</a>"#), "{nav}");
}
