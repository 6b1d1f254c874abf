//! The Prometheus exposition of the demo data (window 2026-08-31 to
//! 2026-11-23, grouped by all, service and team), in both formats, checked
//! by the real `promtool check metrics` when it is found: the `PROMTOOL`
//! environment variable, else where `.ci/run` keeps it, else `promtool` on
//! the `PATH` (`support/promtool.rs`). Without it the
//! check says so and is skipped (`.ci/run` installs it from Debian's
//! `prometheus` package).
//!
//! `promtool check metrics` parses the Prometheus text format and lints it
//! (help, type, names, units); any line it prints is a failure. It reads
//! OpenMetrics' `# UNIT` and `# EOF` as comments, so the OpenMetrics
//! output is checked by it as text, and by the structural test below.

#[path = "support/promtool.rs"]
mod promtool;

use chrono::{DateTime, Utc};
use dora_core::render::{ExpositionFormat, prometheus_metric_names, write_prometheus};
use dora_core::{EventSet, MetricsReport, Options, ReadOptions, Window, compute, read_jsonl_path};
use promtool::{promtool, promtool_check};

fn demo_report() -> MetricsReport {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
    let mut set = EventSet::new();
    read_jsonl_path(&path, &mut set, &ReadOptions::default()).unwrap();
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let opts = Options::new(Window::new(t("2026-08-31T00:00:00Z"), t("2026-11-23T00:00:00Z")).unwrap());
    compute(&set, &opts).unwrap().report
}

fn render(report: &MetricsReport, format: ExpositionFormat) -> String {
    let mut out = Vec::new();
    write_prometheus(report, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_demo_exposition_has_every_family_and_group() {
    let report = demo_report();
    assert!(report.groups.len() > 3, "the demo has services and teams");
    let text = render(&report, ExpositionFormat::Prometheus);
    for name in prometheus_metric_names() {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    for group in &report.groups {
        let labels =
            format!("dora_deployments{{group_by=\"{}\",name=\"{}\"}} ", group.group_by.as_str(), group.name);
        assert!(text.contains(&labels), "{labels}");
    }
    for kind in ["all", "service", "team"] {
        assert!(text.contains(&format!("group_by=\"{kind}\"")), "{kind}");
    }
    assert!(text.contains("dora_lead_time_seconds{group_by=\"all\",name=\"all\",quantile=\"0.9\"} "));
    let om = render(&report, ExpositionFormat::OpenMetrics);
    assert!(om.ends_with("\n# EOF\n"));
}

#[test]
fn promtool_check_metrics_passes_on_the_demo() {
    let Some(promtool) = promtool() else {
        eprintln!(
            "note: promtool not found (set PROMTOOL or put it on the PATH): the promtool check is skipped"
        );
        return;
    };
    let mut report = demo_report();
    for format in [ExpositionFormat::Prometheus, ExpositionFormat::OpenMetrics] {
        promtool_check(&promtool, &format!("{format:?}, demo"), &render(&report, format));
    }
    // A name that needs escaping, and groups whose statistics are all null.
    let mut odd = report.groups[1].clone();
    odd.name = "we\"ird \\ name\nwith a line feed, ünïcode".into();
    let mut empty = report.groups[2].clone();
    empty.name = "empty".into();
    let f = &mut empty.summary.figures;
    f.lead_time.median = None;
    f.lead_time.p90 = None;
    f.lead_time.stages = dora_core::result::Stages { coding: None, review: None, deploy: None };
    f.change_failure_rate.rate = None;
    f.rework_rate.rate = None;
    f.time_to_restore.median = None;
    f.time_to_restore.p90 = None;
    f.recovery_time.median = None;
    f.recovery_time.p90 = None;
    report.groups.extend([odd, empty]);
    for format in [ExpositionFormat::Prometheus, ExpositionFormat::OpenMetrics] {
        promtool_check(&promtool, &format!("{format:?}, odd names"), &render(&report, format));
    }
    // Nothing but metadata.
    report.groups.clear();
    promtool_check(&promtool, "no groups", &render(&report, ExpositionFormat::Prometheus));
}
