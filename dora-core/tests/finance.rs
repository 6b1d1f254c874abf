//! The finance table and its CSV: the columns (a snapshot makes any change
//! deliberate), the typed rows an embedder reads, formula neutralisation,
//! delimiters and the byte order mark.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dora_core::finance::{FINANCE_COLUMNS, FinanceTable};
use dora_core::render::{FinanceCsvOptions, write_finance_csv};
use dora_core::{
    Change, Deployment, DeploymentStatus, DeploymentType, EventSet, GroupKind, Level, Options, Period,
    ReadOptions, Window, read_jsonl_path,
};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn csv(
    set: &EventSet,
    options: &Options,
    finance: &BTreeMap<String, String>,
    opts: FinanceCsvOptions,
) -> String {
    let table = FinanceTable::compute(set, options, finance).unwrap();
    let mut out = Vec::new();
    write_finance_csv(&table, &mut out, opts).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn demo_finance_csv() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
    let mut set = EventSet::new();
    read_jsonl_path(&path, &mut set, &ReadOptions::default()).unwrap();
    let mut options =
        Options::new(Window::new(t("2026-06-01T00:00:00Z"), t("2026-09-01T00:00:00Z")).unwrap());
    options.period = Period::Month;
    let finance: BTreeMap<String, String> =
        [("commerce".to_string(), "CC-100".to_string()), ("checkout".to_string(), "CC-101".to_string())]
            .into_iter()
            .collect();
    let text = csv(&set, &options, &finance, FinanceCsvOptions::default());
    let header = text.lines().next().unwrap();
    assert_eq!(header, FINANCE_COLUMNS.join(","));
    assert!(text.contains("\r\n"), "RFC 4180 line ends");
    insta::assert_snapshot!("demo_finance_csv", text);
}

fn deployment(service: &str, team: &str) -> Deployment {
    Deployment {
        id: "d1".into(),
        service: service.into(),
        team: Some(team.into()),
        source: None,
        environment: "production".into(),
        finished_at: t("2026-03-02T12:00:00Z"),
        started_at: None,
        status: DeploymentStatus::Success,
        commit: None,
        changes: vec!["c1".into()],
        deployment_type: DeploymentType::Regular,
        remediates: vec![],
        note: None,
    }
}

fn one_shipped_change(evil: &str) -> EventSet {
    let mut set = EventSet::new();
    set.push(Change {
        id: "c1".into(),
        service: evil.into(),
        team: None,
        source: None,
        committed_at: t("2026-03-02T09:00:00Z"),
        authored_at: None,
        pull_request: None,
    });
    set.push(deployment(evil, "+team"));
    set
}

#[test]
fn the_table_holds_typed_values_and_serializes_with_the_column_names() {
    let set = one_shipped_change("api");
    let options = Options::new(Window::new(t("2026-03-02T00:00:00Z"), t("2026-03-09T00:00:00Z")).unwrap());
    let finance: BTreeMap<String, String> = [("+team".to_string(), "@cc".to_string())].into_iter().collect();
    let table = FinanceTable::compute(&set, &options, &finance).unwrap();
    let kinds: Vec<GroupKind> = table.rows.iter().map(|r| r.group_by).collect();
    assert_eq!(kinds, [GroupKind::All, GroupKind::Service, GroupKind::Team], "one week: one row per group");
    let service = &table.rows[1];
    assert_eq!(service.period_start.to_string(), "2026-03-02");
    assert_eq!(service.period_end.to_string(), "2026-03-09");
    assert_eq!(service.service.as_deref(), Some("api"));
    // The table holds the values as they are: neutralising is the CSV's business.
    assert_eq!((service.team.as_deref(), service.cost_center.as_deref()), (Some("+team"), Some("@cc")));
    assert_eq!((service.deployments, service.deploy_days, service.changes_shipped), (1, 1, 1));
    assert_eq!(service.lead_time_median_hours, Some(3.0));
    assert_eq!((service.failed_deployments, service.change_failure_rate), (0, Some(0.0)));
    assert_eq!((service.incidents, service.time_to_restore_median_hours), (0, None));
    assert_eq!(service.overall_level, Some(Level::High));
    let json = serde_json::to_value(&table).unwrap();
    let row = json["rows"][1].as_object().unwrap();
    assert_eq!(row.len(), FINANCE_COLUMNS.len());
    assert!(FINANCE_COLUMNS.iter().all(|c| row.contains_key(*c)));
    assert_eq!(row["period_start"], "2026-03-02");
    assert_eq!(row["group_by"], "service");
    assert_eq!(row["lead_time_median_hours"], 3.0);
    assert_eq!(row["time_to_restore_median_hours"], serde_json::Value::Null);
    assert_eq!(row["overall_level"], "high");
}

#[test]
fn formulas_are_neutralised_and_options_apply() {
    let evil = r#"=HYPERLINK("http://x","y")"#;
    let set = one_shipped_change(evil);
    let options = Options::new(Window::new(t("2026-03-02T00:00:00Z"), t("2026-03-09T00:00:00Z")).unwrap());
    let finance: BTreeMap<String, String> = [("+team".to_string(), "@cc".to_string())].into_iter().collect();
    let text = csv(&set, &options, &finance, FinanceCsvOptions::default());
    let service_row = text.lines().find(|l| l.starts_with("2026-03-02,2026-03-09,service,")).unwrap();
    // The cell starts with a quote character, so no spreadsheet runs it.
    assert!(service_row.contains(r#",'+team,"'=HYPERLINK(""http://x"",""y"")",'@cc,"#), "{service_row}");
    assert!(!text.lines().any(|l| l.split(',').any(|c| c.starts_with('=') || c.starts_with('+'))));
    let text = csv(&set, &options, &finance, FinanceCsvOptions { delimiter: b';', bom: true });
    assert!(text.starts_with("\u{feff}period_start;period_end;"));
    let all = text.lines().nth(1).unwrap();
    // Without cost data, the four cost cells are empty.
    assert_eq!(all, "2026-03-02;2026-03-09;all;;;;1;1;1;3.00;3.00;0;0.0000;0;;;0;0.0000;high;;;;");
}
