//! Cloud cost beside delivery (METRICS.md section 7), end to end through
//! the engine: groups listed for their cost alone, `cost` in the JSON,
//! the finance CSV's four cost columns against values computed here by
//! hand, the currency error, output unchanged without cost rows in the
//! window, the weekly report's cost line in every format, and a property
//! test of the sums.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use dora_core::cost::{Allocation, CostRow, Costs};
use dora_core::finance::{FINANCE_COLUMNS, FinanceTable};
use dora_core::render::{
    FinanceCsvOptions, ReportTextOptions, write_finance_csv, write_json, write_report_html,
    write_report_json, write_report_markdown, write_report_text,
};
use dora_core::report::{ReportOptions, build_report};
use dora_core::{
    Change, Deployment, DeploymentStatus, Error, EventSet, GroupKind, Options, Period, Window, compute,
};
use proptest::prelude::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn row(start: &str, end: &str, amount: f64, tags: serde_json::Value) -> CostRow {
    CostRow {
        start: t(start),
        end: t(end),
        amount,
        currency: "USD".into(),
        tags: tags.as_object().cloned(),
        resource_id: None,
        resource_name: None,
        service_name: None,
        sub_account_name: None,
    }
}

fn allocation() -> Allocation {
    Allocation { service_tag: Some("app".into()), team_tag: Some("team".into()), rules: vec![] }
}

fn deployment(id: &str, service: &str, at: &str, changes: &[&str]) -> Deployment {
    Deployment {
        team: Some("core".into()),
        changes: changes.iter().map(|c| c.to_string()).collect(),
        ..Deployment::new(id, service, "production", t(at), DeploymentStatus::Success)
    }
}

fn change(id: &str, at: &str) -> Change {
    Change { team: Some("core".into()), ..Change::new(id, "api", t(at)) }
}

/// Service `api` of team `core`: week 1 (from 2026-03-02) one deployment
/// shipping one change; week 2 two deployments shipping three changes.
fn events() -> EventSet {
    let mut set = EventSet::new();
    set.push(change("c1", "2026-03-02T09:00:00Z"));
    set.push(deployment("d1", "api", "2026-03-02T12:00:00Z", &["c1"]));
    for c in ["c2", "c3", "c4"] {
        set.push(change(c, "2026-03-09T09:00:00Z"));
    }
    set.push(deployment("d2", "api", "2026-03-10T12:00:00Z", &["c2", "c3"]));
    set.push(deployment("d3", "api", "2026-03-11T12:00:00Z", &["c4"]));
    set
}

/// The rows: api 48 over 2026-03-01..03 (half before the window: 24 in
/// week 1); api 30 over 2026-03-08 12:00 .. 03-09 12:00 (15 in each
/// week); an unallocated row tagged team ops, 10 in week 2; billing (no
/// events) 5 at one instant in week 1; an api credit of -6 in week 2; and
/// a row wholly after the window.
fn rows() -> Vec<CostRow> {
    vec![
        row("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", 48.0, serde_json::json!({"app": "api"})),
        row("2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z", 30.0, serde_json::json!({"app": "api"})),
        row("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z", 10.0, serde_json::json!({"team": "ops"})),
        row("2026-03-04T08:00:00Z", "2026-03-04T08:00:00Z", 5.0, serde_json::json!({"app": "billing"})),
        row("2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z", -6.0, serde_json::json!({"app": "api"})),
        row("2026-03-20T00:00:00Z", "2026-03-21T00:00:00Z", 1000.0, serde_json::json!({"app": "api"})),
    ]
}

fn options(costs: Option<Vec<CostRow>>) -> Options {
    let mut o = Options::new(Window::new(t("2026-03-02T00:00:00Z"), t("2026-03-16T00:00:00Z")).unwrap());
    o.costs = costs.map(|rows| Costs::from_rows(allocation(), rows));
    o
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// A group, its cost in weeks 1 and 2, its deployments and changes shipped.
type Expected = (GroupKind, &'static str, [f64; 2], [u64; 2], [u64; 2]);

#[test]
fn every_period_and_summary_has_the_cost_of_its_group() {
    let report = compute(&events(), &options(Some(rows()))).unwrap().report;
    let names: Vec<(GroupKind, &str)> = report.groups.iter().map(|g| (g.group_by, g.name.as_str())).collect();
    // billing, unallocated and ops are listed for their cost alone.
    assert_eq!(
        names,
        vec![
            (GroupKind::All, "all"),
            (GroupKind::Service, "api"),
            (GroupKind::Service, "billing"),
            (GroupKind::Service, "unallocated"),
            (GroupKind::Team, "core"),
            (GroupKind::Team, "ops"),
        ]
    );
    // (group, cost in week 1 and 2, deployments per week, changes per week)
    let expected: [Expected; 6] = [
        (GroupKind::All, "all", [24.0 + 15.0 + 5.0, 15.0 + 10.0 - 6.0], [1, 2], [1, 3]),
        (GroupKind::Service, "api", [24.0 + 15.0, 15.0 - 6.0], [1, 2], [1, 3]),
        (GroupKind::Service, "billing", [5.0, 0.0], [0, 0], [0, 0]),
        (GroupKind::Service, "unallocated", [0.0, 10.0], [0, 0], [0, 0]),
        (GroupKind::Team, "core", [24.0 + 15.0, 15.0 - 6.0], [1, 2], [1, 3]),
        (GroupKind::Team, "ops", [0.0, 10.0], [0, 0], [0, 0]),
    ];
    for (kind, name, amounts, deployments, changes) in expected {
        let g = report.group(kind, name).unwrap();
        for p in 0..2 {
            let cost = g.periods[p].cost.as_ref().unwrap();
            assert!(close(cost.amount, amounts[p]), "{name} week {p}: {cost:?}");
            assert_eq!(cost.currency, "USD");
            let per = |n: u64| (n > 0).then(|| amounts[p] / n as f64);
            assert_eq!(cost.per_deployment.is_some(), deployments[p] > 0, "{name}");
            assert_eq!(cost.per_change.is_some(), changes[p] > 0, "{name}");
            if let (Some(a), Some(b)) = (cost.per_deployment, per(deployments[p])) {
                assert!(close(a, b), "{name}");
            }
            if let (Some(a), Some(b)) = (cost.per_change, per(changes[p])) {
                assert!(close(a, b), "{name}");
            }
        }
        let summary = g.summary.cost.as_ref().unwrap();
        assert!(close(summary.amount, amounts[0] + amounts[1]), "{name}");
        let window_deployments: u64 = deployments.iter().sum();
        assert_eq!(summary.per_deployment.is_some(), window_deployments > 0);
    }
    // The JSON carries `cost` objects with the spec's keys, `null` per_*.
    let mut json = Vec::new();
    write_json(&report, &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let billing = &v["groups"][2];
    assert_eq!(billing["name"], "billing");
    assert_eq!(
        billing["periods"][0]["cost"],
        serde_json::json!({"amount": 5.0, "currency": "USD", "per_deployment": null, "per_change": null})
    );
    assert_eq!(billing["summary"]["cost"]["amount"], 5.0);
}

#[test]
fn teams_overrides_give_cost_only_services_a_team() {
    let mut o = options(None);
    o.costs = Some(
        Costs::from_rows(allocation(), rows())
            .with_teams(BTreeMap::from([("billing".to_string(), "finance".to_string())])),
    );
    let report = compute(&events(), &o).unwrap().report;
    let finance = report.group(GroupKind::Team, "finance").unwrap();
    assert_eq!(finance.summary.cost.as_ref().unwrap().amount, 5.0);
    assert_eq!(finance.summary.figures.deployments, 0);
}

#[test]
fn rows_in_two_currencies_are_an_error_naming_both() {
    let mut rows = rows();
    rows[2].currency = "EUR".into();
    let e = compute(&events(), &options(Some(rows))).unwrap_err();
    assert!(matches!(&e, Error::Currencies { currencies } if currencies == &["EUR", "USD"]), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("(EUR, USD)"), "{message}");
    // A row in another currency outside the window does not count.
    let mut rows = self::rows();
    rows[5].currency = "EUR".into();
    assert!(compute(&events(), &options(Some(rows))).is_ok());
}

fn finance_csv(o: &Options) -> String {
    let table = FinanceTable::compute(&events(), o, &BTreeMap::new()).unwrap();
    let mut out = Vec::new();
    write_finance_csv(&table, &mut out, FinanceCsvOptions::default()).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn no_cost_row_in_the_window_changes_nothing() {
    let without = compute(&events(), &options(None)).unwrap().report;
    let outside =
        vec![row("2026-03-16T00:00:00Z", "2026-03-17T00:00:00Z", 3.0, serde_json::json!({"app": "x"}))];
    let with = compute(&events(), &options(Some(outside.clone()))).unwrap().report;
    let json = |r| {
        let mut out = Vec::new();
        write_json(r, &mut out).unwrap();
        out
    };
    assert_eq!(json(&without), json(&with), "byte-identical JSON");
    assert!(!String::from_utf8(json(&with)).unwrap().contains("\"cost\""));
    let csv = finance_csv(&options(Some(outside)));
    assert_eq!(csv, finance_csv(&options(None)));
    for line in csv.lines().skip(1) {
        assert!(line.ends_with(",,,,"), "four empty cells: {line}");
    }
}

#[test]
fn the_finance_csv_has_the_four_cost_columns_with_2_decimals() {
    let csv = finance_csv(&options(Some(rows())));
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert_eq!(header, FINANCE_COLUMNS.join(","));
    assert!(header.ends_with(",overall_level,cost,currency,cost_per_deployment,cost_per_change"));
    let mut cells: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for line in lines {
        let c: Vec<String> = line.split(',').map(str::to_string).collect();
        assert_eq!(c.len(), 23, "{line}");
        let name = if c[2] == "team" { c[3].clone() } else { c[4].clone() };
        cells.insert((c[0].clone(), c[2].clone(), name), c[19..].to_vec());
    }
    let two = |v: f64| format!("{v:.2}");
    let w1 = "2026-03-02".to_string();
    let w2 = "2026-03-09".to_string();
    let key = |w: &String, kind: &str, name: &str| (w.clone(), kind.to_string(), name.to_string());
    let expect = |w: &String, kind: &str, name: &str, cost: f64, dep: Option<u64>, ch: Option<u64>| {
        let want = vec![
            two(cost),
            "USD".to_string(),
            dep.map(|n| two(cost / n as f64)).unwrap_or_default(),
            ch.map(|n| two(cost / n as f64)).unwrap_or_default(),
        ];
        assert_eq!(cells[&key(w, kind, name)], want, "{w} {kind} {name}");
    };
    // all: 44 then 19 (2 deployments, 3 changes: 9.50 and 6.33).
    expect(&w1, "all", "", 44.0, Some(1), Some(1));
    expect(&w2, "all", "", 19.0, Some(2), Some(3));
    expect(&w1, "service", "api", 39.0, Some(1), Some(1));
    expect(&w2, "service", "api", 9.0, Some(2), Some(3));
    expect(&w1, "service", "billing", 5.0, None, None);
    expect(&w2, "service", "billing", 0.0, None, None);
    expect(&w2, "service", "unallocated", 10.0, None, None);
    expect(&w1, "team", "core", 39.0, Some(1), Some(1));
    expect(&w2, "team", "ops", 10.0, None, None);
    assert_eq!(cells[&key(&w2, "all", "")][3], "6.33");
}

/// Six weeks of events and costs for the weekly report of 2026-W11.
fn report_with_costs() -> dora_core::report::Report {
    let mut set = EventSet::new();
    let monday = t("2026-02-02T00:00:00Z");
    let mut rows = Vec::new();
    for week in 0..6i64 {
        let start = monday + Duration::weeks(week);
        for d in 0..=week % 3 {
            let id = format!("d{week}-{d}");
            let at = start + Duration::hours(10 + d);
            set.push(Deployment {
                team: Some("core".into()),
                ..Deployment::new(&id, "api", "production", at, DeploymentStatus::Success)
            });
        }
        // api costs 100, 110, ... a week (one row a week); the shared NAT
        // is unallocated, 20 a week.
        let mut r = row(
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
            100.0 + 10.0 * week as f64,
            serde_json::json!({"app": "api"}),
        );
        r.start = start;
        r.end = start + Duration::weeks(1);
        rows.push(r.clone());
        r.amount = 20.0;
        r.tags = None;
        rows.push(r);
    }
    let mut engine = Options::new(Window::new(monday, monday + Duration::weeks(6)).unwrap());
    engine.costs = Some(Costs::from_rows(allocation(), rows));
    let opts = ReportOptions { engine, week: "2026-W11".parse().unwrap(), weeks: 6, slowest_changes: 5 };
    build_report(&set, &opts).unwrap()
}

#[test]
fn the_weekly_report_has_a_cost_line_per_group_in_every_format() {
    let report = report_with_costs();
    let api = report.groups.iter().find(|g| g.name == "api").unwrap();
    let cost = api.cost.as_ref().unwrap();
    // Week 2026-W11 is the 6th: 150, with 3 deployments; the 4 weeks
    // before cost 110, 120, 130, 140: median 125.
    assert_eq!(cost.value, 150.0);
    assert_eq!(cost.baseline, 125.0);
    assert_eq!(cost.trend, vec![100.0, 110.0, 120.0, 130.0, 140.0, 150.0]);
    assert_eq!(cost.per_deployment, Some(50.0));

    let mut text = Vec::new();
    write_report_text(&report, &mut text, ReportTextOptions { color: false, width: Some(80) }).unwrap();
    let text = String::from_utf8(text).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    let title = |l: &str| ["all services", "service ", "team "].iter().any(|p| l.starts_with(p));
    let cost_lines: Vec<&str> = text.lines().filter(|l| title(l) || l.starts_with("  cost")).collect();
    insta::assert_snapshot!("report_cost_text", cost_lines.join("\n"));

    let mut md = Vec::new();
    write_report_markdown(&report, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    let section = md.split("### Cost").nth(1).unwrap().split("### Notable").next().unwrap();
    insta::assert_snapshot!("report_cost_markdown", format!("### Cost{section}"));

    let mut html = Vec::new();
    write_report_html(&report, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    let start = html.find("<h2>Cost").unwrap();
    let end = start + html[start..].find("</table></div>").unwrap() + "</table></div>".len();
    insta::assert_snapshot!("report_cost_html", &html[start..end]);

    let mut json = Vec::new();
    write_report_json(&report, &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let costs: Vec<serde_json::Value> =
        v["groups"].as_array().unwrap().iter().map(|g| serde_json::json!([g["name"], g["cost"]])).collect();
    insta::assert_snapshot!("report_cost_json", serde_json::to_string_pretty(&costs).unwrap());
}

#[test]
fn a_report_without_cost_data_has_no_cost_line() {
    let mut report = report_with_costs();
    for g in &mut report.groups {
        g.cost = None;
    }
    let mut md = Vec::new();
    write_report_markdown(&report, &mut md).unwrap();
    assert!(!String::from_utf8(md).unwrap().contains("### Cost"));
    let mut html = Vec::new();
    write_report_html(&report, &mut html).unwrap();
    assert!(!String::from_utf8(html).unwrap().contains("<h2>Cost"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For rows wholly inside the window, over daily periods in a zone with
    /// a DST change: the periods of `all` sum to the rows' amounts, and the
    /// services of each period sum to `all`'s.
    #[test]
    fn prorated_sums_add_up(
        specs in proptest::collection::vec((0i64..(13 * 86_400), 0i64..(5 * 86_400), -1000.0f64..1000.0, 0usize..4), 1..40)
    ) {
        // Berlin midnight of Tuesday 2026-03-24; Sunday the 29th lasts 23 hours.
        let since = t("2026-03-23T23:00:00Z");
        let until = since + Duration::days(14);
        let mut o = Options::new(Window::new(since, until).unwrap());
        o.period = Period::Day;
        o.timezone = "Europe/Berlin".parse().unwrap();
        let services = ["api", "web", "db", ""];
        let rows: Vec<CostRow> = specs
            .iter()
            .map(|&(offset, length, amount, s)| {
                let start = since + Duration::seconds(offset);
                let end = (start + Duration::seconds(length)).min(until);
                let mut r = row("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", amount, serde_json::json!({"app": services[s]}));
                r.start = start;
                r.end = end;
                r
            })
            .collect();
        let total: f64 = rows.iter().map(|r| r.amount).sum();
        o.costs = Some(Costs::from_rows(allocation(), rows));
        let report = compute(&EventSet::new(), &o).unwrap().report;
        let all = report.group(GroupKind::All, "all").unwrap();
        let by_period: f64 = all.periods.iter().map(|p| p.cost.as_ref().unwrap().amount).sum();
        let tolerance = 1e-6 * (1.0 + total.abs());
        prop_assert!((by_period - total).abs() < tolerance, "{by_period} != {total}");
        prop_assert!((all.summary.cost.as_ref().unwrap().amount - total).abs() < tolerance);
        for (p, period) in all.periods.iter().enumerate() {
            let services: f64 = report
                .groups
                .iter()
                .filter(|g| g.group_by == GroupKind::Service)
                .map(|g| g.periods[p].cost.as_ref().unwrap().amount)
                .sum();
            let a = period.cost.as_ref().unwrap().amount;
            prop_assert!((services - a).abs() < tolerance, "period {p}: {services} != {a}");
        }
    }
}
