//! `dora report`, `dora export csv` and `dora explain` through the CLI.

use serde_json::Value;

use crate::util::{dora, root, write};

fn demo() -> String {
    root().join("examples/demo/events.jsonl").to_string_lossy().to_string()
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = dora(dir).args(args).output().unwrap();
    assert!(out.status.success(), "dora {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn report_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo();
    let text = ok(dir.path(), &["report", "--events", &d, "--week", "2026-W47"]);
    assert!(
        text.starts_with("DORA weekly report 2026-W47: Mon 2026-11-16 to Sun 2026-11-22 (UTC)"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no color off a terminal");
    assert!(text.lines().all(|l| l.chars().count() <= 80));
    let md = ok(dir.path(), &["report", "--events", &d, "--week", "2026-W47", "--format", "markdown"]);
    assert!(md.starts_with("## DORA weekly report 2026-W47"));
    ok(
        dir.path(),
        &["report", "--events", &d, "--week", "2026-W47", "--format", "html", "--output", "out/r.html"],
    );
    let html = std::fs::read_to_string(dir.path().join("out/r.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg class=\"chart\""));
    let json: Value = serde_json::from_str(&ok(
        dir.path(),
        &["report", "--events", &d, "--week", "2026-W47", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["schema"], "dora.report/v1");
    assert_eq!(json["trend_weeks"].as_array().unwrap().len(), 12);
    // --until picks the last complete week before it; --since sets the trend's start.
    let json: Value = serde_json::from_str(&ok(
        dir.path(),
        &["report", "--events", &d, "--until", "2026-11-25", "--since", "2026-09-28", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["week"], "2026-W47");
    assert_eq!(json["trend_weeks"].as_array().unwrap().len(), 8);
}

#[test]
fn report_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo();
    for (args, msg) in [
        (
            vec!["report", "--events", &d, "--week", "2026-W60"],
            "--week: \"2026-W60\" is not an ISO week like 2026-W10",
        ),
        (vec!["report", "--events", &d, "--weeks", "3"], "invalid value '3' for '--weeks <WEEKS>'"),
        (
            vec!["report", "--events", &d, "--week", "2026-W47", "--since", "2026-11-01"],
            "--since: the trend would be 4 weeks",
        ),
        (
            vec!["report", "--events", &d, "--week", "2026-W47", "--team", "nobody"],
            "--team: no team named \"nobody\" in the report's weeks",
        ),
    ] {
        let out = dora(dir.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(msg), "{args:?}: {stderr}");
    }
}

#[test]
fn report_reads_the_store_and_applies_teams() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["import", &demo()]);
    write(dir.path(), "dora.toml", "[teams]\ncheckout = \"payments-team\"\n");
    let text = ok(dir.path(), &["report", "--week", "2026-W47"]);
    assert!(text.contains("team payments-team"), "{text}");
}

#[test]
fn finance_csv_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dora.toml", "[finance]\ncommerce = \"CC-100\"\n");
    let d = demo();
    ok(
        dir.path(),
        &[
            "export",
            "csv",
            "--events",
            &d,
            "--since",
            "2026-06-01",
            "--until",
            "2026-09-01",
            "--bom",
            "--delimiter",
            ";",
            "-o",
            "f.csv",
        ],
    );
    let text = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
    assert!(text.starts_with("\u{feff}period_start;period_end;group_by;team;service;cost_center;"));
    assert!(text.contains(";service;commerce;catalog;CC-100;"), "{text}");
    assert_eq!(text.lines().count(), 1 + 3 * (1 + 7 + 3), "three months of all, 7 services, 3 teams");
    let out = dora(dir.path()).args(["export", "csv", "--events", &d, "--delimiter", "ab"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_lists_the_events_behind_a_figure() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo();
    let window = ["--since", "2026-11-16", "--until", "2026-11-23"];
    let text = ok(
        dir.path(),
        &[&["explain", "change-failure-rate", "--service", "catalog", "--events", &d][..], &window].concat(),
    );
    assert!(
        text.starts_with("change-failure-rate of service catalog, 2026-11-16 00:00 to 2026-11-23 00:00:"),
        "{text}"
    );
    assert!(text.contains("attributed (inferred: latest deployment of the service"), "{text}");
    assert!(text.contains("remediated by deployment"), "{text}");
    let json: Value = serde_json::from_str(&ok(
        dir.path(),
        &[&["explain", "lead-time", "--team", "commerce", "--events", &d, "--format", "json"][..], &window]
            .concat(),
    ))
    .unwrap();
    assert_eq!(json["metric"], "lead_time");
    assert!(json["events"].as_array().unwrap().iter().any(|e| e["kind"] == "change" && e["counted"] == true));
    let out = dora(dir.path())
        .args([&["explain", "lead-time", "--service", "nope", "--events", &d][..], &window].concat())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no service named \"nope\""));
}

#[test]
fn an_empty_week_says_why_and_which_week_has_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo();
    let text = ok(dir.path(), &["report", "--events", &d, "--week", "2026-W49"]);
    assert!(
        text.contains(
            "No events in this week: the events run from 2026-05-25 to 2026-11-22; try --week 2026-W47."
        ),
        "{text}"
    );
    let md = ok(dir.path(), &["report", "--events", &d, "--week", "2026-W49", "--format", "markdown"]);
    assert!(md.contains("> **No events in this week"), "{md}");
    let json: Value = serde_json::from_str(&ok(
        dir.path(),
        &["report", "--events", &d, "--week", "2026-W49", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["empty_week"]["suggested_week"], "2026-W47");
    // A week with events has no such line.
    let json: Value = serde_json::from_str(&ok(
        dir.path(),
        &["report", "--events", &d, "--week", "2026-W47", "--format", "json"],
    ))
    .unwrap();
    assert!(json.get("empty_week").is_none());
}

#[test]
fn notable_lines_are_whole_in_a_file_or_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let service = "a-service-with-a-remarkably-long-name-that-goes-on-and-on-past-eighty-columns";
    write(
        dir.path(),
        "e.jsonl",
        &format!(
            "{{\"kind\":\"deployment\",\"id\":\"d1\",\"service\":\"{service}\",\"environment\":\"production\",\"finished_at\":\"2026-03-03T12:00:00Z\",\"status\":\"success\"}}\n"
        ),
    );
    let text = ok(dir.path(), &["report", "--events", "e.jsonl", "--week", "2026-W10"]);
    assert!(text.contains(&format!("d1 {service} 2026-03-03 12:00")), "{text}");
    let md = ok(dir.path(), &["report", "--events", "e.jsonl", "--week", "2026-W10", "--format", "markdown"]);
    assert!(
        md.contains(&format!("`d1` {service} 2026\\-03\\-03 12:00"))
            || md.contains(&format!("`d1` {service} 2026-03-03 12:00")),
        "{md}"
    );
}
