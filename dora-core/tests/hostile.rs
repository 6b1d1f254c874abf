//! Hostile text from events through every renderer: names, ids and
//! severities holding terminal escape sequences, other control characters,
//! bidirectional overrides and markup. No renderer may write a control
//! character raw (the only ones left are the line ends a format itself
//! writes), Markdown and HTML show markup as text, and JSON still gives the
//! exact strings back.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use dora_core::finance::FinanceTable;
use dora_core::render::{
    FinanceCsvOptions, ReportTextOptions, TableOptions, is_unsafe_char, write_csv, write_finance_csv,
    write_json, write_report_html, write_report_json, write_report_markdown, write_report_text, write_table,
};
use dora_core::report::{ReportOptions, build_report};
use dora_core::{
    Change, Deployment, DeploymentStatus, DeploymentType, EventSet, Incident, Options, Window, compute,
};
use proptest::prelude::*;

/// Pieces that hostile strings are made of.
const PIECES: &[&str] = &[
    "\u{1b}[2J",
    "\u{1b}]0;owned\u{7}",
    "\u{1b}[31m",
    "\u{9b}31m",
    "\r",
    "\n",
    "\t",
    "\u{0}",
    "\u{7f}",
    "\u{202e}",
    "\u{2066}",
    "\u{200b}",
    "\u{feff}",
    "\u{2028}",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "`",
    "``",
    "|",
    "*bold*",
    "[link](http://x)",
    "&amp;",
    "=HYPERLINK(\"x\")",
    "\"",
    "'",
    "\\",
    "#",
    "api",
    "ü€💳",
    " ",
];

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..5).prop_map(|p| p.concat())
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Events of three services with hostile names, ids and severities, over
/// the weeks before 2026-W10 and in it (deployments, changes, a failure,
/// an open incident, a deployment listing no changes).
fn events(names: &[String]) -> EventSet {
    let mut set = EventSet::new();
    let start = at("2026-01-05T09:00:00Z");
    for (s, name) in names.iter().enumerate() {
        for week in 0..9 {
            let t = start + Duration::weeks(week) + Duration::hours(s as i64);
            let change_id = format!("{name}-c{week}");
            set.push(Change {
                id: change_id.clone(),
                service: name.clone(),
                team: Some(format!("{name}-team")),
                source: Some(name.clone()),
                committed_at: t,
                authored_at: None,
                pull_request: None,
            });
            set.push(Deployment {
                id: format!("{name}-d{week}"),
                service: name.clone(),
                team: Some(format!("{name}-team")),
                source: Some(name.clone()),
                environment: "production".into(),
                finished_at: t + Duration::hours(3),
                started_at: None,
                status: DeploymentStatus::Success,
                commit: Some(name.clone()),
                changes: if week == 8 { vec![] } else { vec![change_id] },
                deployment_type: DeploymentType::Regular,
                remediates: vec![],
                note: Some(name.clone()),
            });
        }
        set.push(Incident {
            id: format!("{name}-i"),
            service: name.clone(),
            team: None,
            source: None,
            opened_at: at("2026-03-03T10:00:00Z") + Duration::hours(s as i64),
            resolved_at: None,
            caused_by: Some(format!("{name}-d8")),
            caused_by_change: None,
            severity: Some(name.clone()),
        });
    }
    set
}

/// No character a terminal or a document would act on, but line ends.
fn assert_clean(format: &str, text: &str) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(c) = line.chars().find(|&c| is_unsafe_char(c)) {
            panic!("{format}: line {}: raw {:?} in {line:?}", i + 1, c);
        }
    }
}

/// `text` without its SGR sequences (`ESC [ 1;31 m`); any other escape is
/// left in place.
fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\u{1b}') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let params = after.strip_prefix('[').map(|p| p.find(|c: char| !(c.is_ascii_digit() || c == ';')));
        match params {
            Some(Some(j)) if after[1 + j..].starts_with('m') => rest = &after[2 + j..],
            _ => {
                out.push('\u{1b}');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text a CommonMark (GitHub-flavoured) reader shows for `md`;
/// panics on any HTML, link or image in it. Emphasis is allowed only where
/// dora writes it (bold arrows and `**all**`), which holds no event text.
fn markdown_shown(md: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut shown = String::new();
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML {h:?} in:\n{md}"),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => panic!("a link or image in:\n{md}"),
            Event::Start(Tag::Strikethrough) => panic!("strikethrough in:\n{md}"),
            Event::Text(t) | Event::Code(t) => shown.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => shown.push('\n'),
            _ => {}
        }
    }
    shown
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_renderer_neutralises_hostile_text(a in hostile(), b in hostile(), c in hostile()) {
        let mut names = vec![a, b, c];
        names.sort();
        names.dedup();
        let set = events(&names);
        let mut options =
            Options::new(Window::new(at("2026-01-05T00:00:00Z"), at("2026-03-09T00:00:00Z")).unwrap());
        options.group_by = vec![dora_core::GroupKind::All, dora_core::GroupKind::Service, dora_core::GroupKind::Team];
        let computation = compute(&set, &options).unwrap();
        let metrics = &computation.report;

        assert_clean("table", &render(|o| write_table(metrics, o, TableOptions { color: false })));
        assert_clean("csv", &render(|o| write_csv(metrics, o)));
        let json = render(|o| write_json(metrics, o));
        assert_clean("json", &json);
        // JSON escapes, never alters: every name comes back exactly.
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let back: Vec<String> = value["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["group_by"] == "service")
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect();
        prop_assert_eq!(&back, &names);

        let finance: BTreeMap<String, String> =
            names.iter().map(|n| (n.clone(), format!("{n}-cc"))).collect();
        let table = FinanceTable::compute(&set, &options, &finance).unwrap();
        let csv = render(|o| write_finance_csv(&table, o, FinanceCsvOptions { bom: true, ..Default::default() }));
        assert_clean("finance csv", &csv);

        let report = build_report(
            &set,
            &ReportOptions { engine: options.clone(), week: "2026-W10".parse().unwrap(), weeks: 8, slowest_changes: 5 },
        )
        .unwrap();
        for width in [None, Some(80), Some(200)] {
            let plain = render(|o| write_report_text(&report, o, ReportTextOptions { color: false, width }));
            assert_clean("report text", &plain);
            // With colours, the only escapes are dora's own (SGR,
            // `ESC [ digits ; ... m`): without them the text is the same.
            let colored = render(|o| write_report_text(&report, o, ReportTextOptions { color: true, width }));
            prop_assert_eq!(strip_sgr(&colored), plain);
        }
        let md = render(|o| write_report_markdown(&report, o));
        assert_clean("markdown", &md);
        // Read as a CommonMark reader reads it: no HTML, no link, no image,
        // no emphasis made of event text, and every name shown as itself.
        // (Table cells lose their outer spaces: compare with spaces folded.)
        let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown = fold(&markdown_shown(&md));
        for name in &names {
            let visible = fold(&format!("service {}", dora_core::render::visible(name)));
            prop_assert!(shown.contains(&visible), "{:?} is not shown as itself:\n{}", name, md);
        }
        let html = render(|o| write_report_html(&report, o));
        assert_clean("html", &html);
        prop_assert!(!html.contains("<script") && !html.contains("<img"), "raw markup in HTML");
        let json = render(|o| write_report_json(&report, o));
        assert_clean("report json", &json);
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
    }
}

#[test]
fn markdown_ids_stay_code_and_severity_shows_in_html() {
    let names = vec!["a`b".to_string(), "svc|x".to_string()];
    let set = events(&names);
    let options = Options::new(Window::new(at("2026-01-05T00:00:00Z"), at("2026-03-09T00:00:00Z")).unwrap());
    let report = build_report(
        &set,
        &ReportOptions { engine: options, week: "2026-W10".parse().unwrap(), weeks: 8, slowest_changes: 5 },
    )
    .unwrap();
    let md = render(|o| write_report_markdown(&report, o));
    // An id with a backtick is fenced with two, so it cannot close the span.
    assert!(md.contains("``a`b-i``"), "{md}");
    assert!(md.contains("svc\\|x"), "{md}");
    let html = render(|o| write_report_html(&report, o));
    assert!(html.contains("[svc|x] opened"), "the open incident's severity: {html}");
}
