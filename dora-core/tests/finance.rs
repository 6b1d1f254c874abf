//! The finance CSV: its columns (a snapshot makes any change deliberate),
//! formula neutralisation, delimiters and the byte order mark.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dora_core::render::{FINANCE_COLUMNS, FinanceCsvOptions, finance_rows, write_finance_csv};
use dora_core::{
    Change, Deployment, DeploymentStatus, DeploymentType, EventSet, Options, Period, ReadOptions, Window,
    read_jsonl_path,
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
    let rows = finance_rows(set, options, finance).unwrap();
    let mut out = Vec::new();
    write_finance_csv(&rows, &mut out, opts).unwrap();
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

#[test]
fn formulas_are_neutralised_and_options_apply() {
    let evil = r#"=HYPERLINK("http://x","y")"#;
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
    assert_eq!(all, "2026-03-02;2026-03-09;all;;;;1;1;1;3.00;3.00;0;0.0000;0;;;0;0.0000;high");
}
