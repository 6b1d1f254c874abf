//! The metrics of a window in the Prometheus text exposition format
//! (version 0.0.4) or in OpenMetrics 1.0: what `dora serve` answers on
//! `GET /metrics`.
//!
//! Every family has `# HELP` and `# TYPE` (and, in OpenMetrics, `# UNIT`
//! when its name ends in a unit), then one sample per group, labelled
//! `group_by` (`all`, `service`, `team`) and `name`, in the report's order
//! of groups (`all` first, then services and teams by name). The figures
//! are the window's summary (not its periods). Counts and rates are gauges:
//! a count over a window that slides can fall, so none is a counter. Lead
//! time, time to restore and recovery time are summaries of quantiles
//! `0.5` and `0.9` only, without `_sum` (not known) or `_count` (a summary's
//! count is a counter, and this one is over a sliding window): their
//! counts are gauges of their own. A statistic or rate that is `None`
//! (nothing to compute it from) has no sample; NaN is never written.
//! `docs/serve.md` lists the families.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::result::{Figures, MetricsReport};

/// The `Content-Type` of [`ExpositionFormat::Prometheus`].
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The `Content-Type` of [`ExpositionFormat::OpenMetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The text format written by [`write_prometheus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExpositionFormat {
    /// The Prometheus text format, version 0.0.4.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text: `# UNIT` lines and a final `# EOF`.
    OpenMetrics,
}

impl ExpositionFormat {
    /// The `Content-Type` header of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ExpositionFormat::Prometheus => PROMETHEUS_CONTENT_TYPE,
            ExpositionFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics when it lists
    /// `application/openmetrics-text` (with any parameters) at a non-zero
    /// quality, else the Prometheus text format.
    pub fn from_accept(accept: &str) -> Self {
        let asks = accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            if !media.eq_ignore_ascii_case("application/openmetrics-text") {
                return false;
            }
            // `q=0` means "not acceptable".
            !parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f64>().is_ok_and(|q| q <= 0.0)
                })
            })
        });
        if asks { ExpositionFormat::OpenMetrics } else { ExpositionFormat::Prometheus }
    }
}

/// The type of a metric family, as its `# TYPE` line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A value that can go up and down.
    Gauge,
    /// Quantiles of observations.
    Summary,
    /// A count that only grows; its name ends in `_total` ([`push_family`]).
    Counter,
}

impl MetricKind {
    /// The name on the `# TYPE` line: `gauge`, `summary` or `counter`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Summary => "summary",
            MetricKind::Counter => "counter",
        }
    }
}

/// One sample of a group: extra labels (name and value) and the value,
/// `None` for no sample.
type Samples = Vec<(Option<(&'static str, &'static str)>, Option<f64>)>;

/// A metric family: its name, type, unit (a suffix of the name), help,
/// and the samples of one group's figures.
struct Family {
    name: &'static str,
    kind: MetricKind,
    unit: Option<&'static str>,
    help: &'static str,
    samples: fn(&Figures) -> Samples,
}

/// A single unlabelled sample.
fn one(value: Option<f64>) -> Samples {
    vec![(None, value)]
}

/// The samples of a summary of quantiles 0.5 and 0.9.
fn quantiles(median: Option<f64>, p90: Option<f64>) -> Samples {
    vec![(Some(("quantile", "0.5")), median), (Some(("quantile", "0.9")), p90)]
}

/// Counts as floats: exact up to 2^53, far beyond any count of events.
fn count(n: u64) -> Option<f64> {
    Some(n as f64)
}

/// The families, in the order they are written.
const FAMILIES: &[Family] = &[
    Family {
        name: "dora_deployments",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Successful production deployments in the window.",
        samples: |f| one(count(f.deployments)),
    },
    Family {
        name: "dora_deploy_dates",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Distinct local dates in the window with at least one successful production deployment.",
        samples: |f| one(count(f.deploy_days)),
    },
    Family {
        name: "dora_deployments_per_day",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Successful production deployments per calendar day of the window.",
        samples: |f| one(Some(f.deployments_per_day)),
    },
    Family {
        name: "dora_failed_deployment_attempts",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Production deployments that ended in a failure status in the window.",
        samples: |f| one(count(f.failed_attempts)),
    },
    Family {
        name: "dora_lead_time_seconds",
        kind: MetricKind::Summary,
        unit: Some("seconds"),
        help: "Lead time for changes shipped in the window: first commit to production.",
        samples: |f| quantiles(f.lead_time.median, f.lead_time.p90),
    },
    Family {
        name: "dora_lead_time_changes",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Changes shipped to production in the window (the lead time's sample size).",
        samples: |f| one(count(f.lead_time.count)),
    },
    Family {
        name: "dora_lead_time_stage_median_seconds",
        kind: MetricKind::Gauge,
        unit: Some("seconds"),
        help: "Median of a pull request stage of the changes shipped in the window (coding, review, deploy).",
        samples: |f| {
            let s = &f.lead_time.stages;
            vec![
                (Some(("stage", "coding")), s.coding),
                (Some(("stage", "review")), s.review),
                (Some(("stage", "deploy")), s.deploy),
            ]
        },
    },
    Family {
        name: "dora_failed_deployments",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Deployments in the window that failed in production.",
        samples: |f| one(count(f.change_failure_rate.failed)),
    },
    Family {
        name: "dora_change_failure_ratio",
        kind: MetricKind::Gauge,
        unit: Some("ratio"),
        help: "Change failure rate: failed deployments over deployments in the window.",
        samples: |f| one(f.change_failure_rate.rate),
    },
    Family {
        name: "dora_time_to_restore_seconds",
        kind: MetricKind::Summary,
        unit: Some("seconds"),
        help: "Time to restore service of the incidents resolved in the window.",
        samples: |f| quantiles(f.time_to_restore.median, f.time_to_restore.p90),
    },
    Family {
        name: "dora_incidents_resolved",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Incidents resolved in the window (the time to restore's sample size).",
        samples: |f| one(count(f.time_to_restore.count)),
    },
    Family {
        name: "dora_incidents_unresolved",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Incidents of the window not resolved (not in the time to restore).",
        samples: |f| one(count(f.time_to_restore.unresolved)),
    },
    Family {
        name: "dora_failed_deployment_recovery_seconds",
        kind: MetricKind::Summary,
        unit: Some("seconds"),
        help: "Failed deployment recovery time of the failures recovered in the window.",
        samples: |f| quantiles(f.recovery_time.median, f.recovery_time.p90),
    },
    Family {
        name: "dora_failed_deployments_recovered",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Failed deployments recovered in the window (the recovery time's sample size).",
        samples: |f| one(count(f.recovery_time.count)),
    },
    Family {
        name: "dora_failed_deployments_unrecovered",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Failed deployments of the window not recovered (not in the recovery time).",
        samples: |f| one(count(f.recovery_time.unrecovered)),
    },
    Family {
        name: "dora_rework_deployments",
        kind: MetricKind::Gauge,
        unit: None,
        help: "Rollback and hotfix deployments in the window.",
        samples: |f| one(count(f.rework_rate.rework)),
    },
    Family {
        name: "dora_rework_ratio",
        kind: MetricKind::Gauge,
        unit: Some("ratio"),
        help: "Deployment rework rate: rollback and hotfix deployments over deployments in the window.",
        samples: |f| one(f.rework_rate.rate),
    },
];

/// The names of the metric families written, in order.
pub fn prometheus_metric_names() -> impl Iterator<Item = &'static str> {
    FAMILIES
        .iter()
        .map(|f| f.name)
        .chain(["dora_window_start_timestamp_seconds", "dora_window_end_timestamp_seconds"])
}

/// Appends a label value, escaped as both formats require: backslash,
/// double quote and line feed.
fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends a finite value as Rust prints it (no exponent; integers without
/// a fraction), which both formats accept.
fn push_value(out: &mut String, value: f64) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

/// Appends the `# HELP` and `# TYPE` lines of a family (and, in
/// OpenMetrics, `# UNIT` when `unit` is given: a suffix of the name), and
/// returns the name its samples take. A counter is given its name with the
/// `_total` suffix: its samples keep it in both formats, while the
/// OpenMetrics family name drops it. `help` is a constant text without
/// backslashes, quotes or line feeds.
///
/// With [`push_sample`], what other expositions that stand beside dora's
/// (such as `dora serve`'s own counters) are written with.
///
/// ```
/// use dora_core::render::{ExpositionFormat, MetricKind, push_family, push_sample};
///
/// let mut out = String::new();
/// let name = push_family(&mut out, ExpositionFormat::OpenMetrics, "jobs_total", MetricKind::Counter, None, "Jobs run.");
/// push_sample(&mut out, name, &[("result", "ok")], 3.0);
/// assert_eq!(out, "# HELP jobs Jobs run.\n# TYPE jobs counter\njobs_total{result=\"ok\"} 3\n");
/// ```
pub fn push_family<'a>(
    out: &mut String,
    format: ExpositionFormat,
    name: &'a str,
    kind: MetricKind,
    unit: Option<&str>,
    help: &str,
) -> &'a str {
    debug_assert!(!help.contains(['\\', '\n', '"']));
    let family = match (kind, format) {
        (MetricKind::Counter, ExpositionFormat::OpenMetrics) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = writeln!(out, "# HELP {family} {help}");
    let _ = writeln!(out, "# TYPE {family} {}", kind.as_str());
    if format == ExpositionFormat::OpenMetrics
        && let Some(unit) = unit
    {
        let _ = writeln!(out, "# UNIT {family} {unit}");
    }
    name
}

/// Appends one sample line: the name, the labels (values escaped as both
/// formats require; none: no braces) and the value, which must be finite.
pub fn push_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    debug_assert!(value.is_finite());
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, label_value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            push_label_value(out, label_value);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    push_value(out, value);
    out.push('\n');
}

/// Writes every metric of every group of `report`, over its window, in
/// `format` (docs/serve.md lists the families and conventions).
///
/// The output is deterministic: families in a fixed order, groups in the
/// report's order. A group's name is a label value, escaped as the formats
/// require. Two window families without labels close the exposition:
/// `dora_window_start_timestamp_seconds` and
/// `dora_window_end_timestamp_seconds` (Unix seconds; the end is the first
/// instant after the window).
pub fn write_prometheus<W: Write>(
    report: &MetricsReport,
    format: ExpositionFormat,
    mut out: W,
) -> io::Result<()> {
    let mut text = String::with_capacity(256 + report.groups.len() * FAMILIES.len() * 96);
    for family in FAMILIES {
        push_family(&mut text, format, family.name, family.kind, family.unit, family.help);
        for group in &report.groups {
            for (extra, value) in (family.samples)(&group.summary.figures) {
                let Some(value) = value.filter(|v| v.is_finite()) else {
                    continue;
                };
                let labels = [("group_by", group.group_by.as_str()), ("name", group.name.as_str())];
                match extra {
                    Some(extra) => push_sample(&mut text, family.name, &[labels[0], labels[1], extra], value),
                    None => push_sample(&mut text, family.name, &labels, value),
                }
            }
        }
    }
    let bounds = [
        (
            "dora_window_start_timestamp_seconds",
            "Start of the window the figures are over, in Unix seconds.",
            report.window.since,
        ),
        (
            "dora_window_end_timestamp_seconds",
            "First instant after the window the figures are over, in Unix seconds.",
            report.window.until,
        ),
    ];
    for (name, help, instant) in bounds {
        push_family(&mut text, format, name, MetricKind::Gauge, Some("seconds"), help);
        push_sample(&mut text, name, &[], instant.timestamp_micros() as f64 / 1e6);
    }
    if format == ExpositionFormat::OpenMetrics {
        text.push_str("# EOF\n");
    }
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::options::{GroupKind, Period};
    use crate::result::{
        ChangeFailureFigures, GroupMetrics, LeadTimeFigures, Levels, RecoveryFigures, ReportWindow,
        RestoreFigures, ReworkFigures, Stages, Summary,
    };

    fn figures(deployments: u64) -> Figures {
        let rate = |n: u64| if deployments == 0 { None } else { Some(n as f64 / deployments as f64) };
        let stat = |x: f64| if deployments == 0 { None } else { Some(x) };
        Figures {
            deployments,
            deploy_days: deployments.min(3),
            deployments_per_day: deployments as f64 / 7.0,
            failed_attempts: 1,
            lead_time: LeadTimeFigures {
                count: deployments,
                median: stat(3600.0),
                p90: stat(7200.5),
                stages: Stages { coding: stat(60.0), review: None, deploy: stat(0.25) },
            },
            change_failure_rate: ChangeFailureFigures {
                failed: 1.min(deployments),
                deployments,
                rate: rate(1),
            },
            time_to_restore: RestoreFigures { count: 0, unresolved: 2, median: None, p90: None },
            recovery_time: RecoveryFigures { count: 1, unrecovered: 0, median: Some(90.0), p90: Some(120.0) },
            rework_rate: ReworkFigures { rework: 0, deployments, rate: rate(0) },
        }
    }

    fn group(group_by: GroupKind, name: &str, deployments: u64) -> GroupMetrics {
        GroupMetrics {
            group_by,
            name: name.into(),
            periods: Vec::new(),
            summary: Summary {
                figures: figures(deployments),
                levels: Levels {
                    deployment_frequency: None,
                    lead_time: None,
                    change_failure_rate: None,
                    recovery_time: None,
                    overall: None,
                },
                cost: None,
            },
        }
    }

    fn report() -> MetricsReport {
        let at = |s| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        MetricsReport {
            schema: crate::result::METRICS_SCHEMA.into(),
            window: ReportWindow { since: at("2026-08-31T00:00:00Z"), until: at("2026-11-23T00:00:00Z") },
            period: Period::Week,
            timezone: "UTC".into(),
            groups: vec![
                group(GroupKind::All, "all", 4),
                group(GroupKind::Service, "we\"ird\\svc\nx", 0),
                group(GroupKind::Team, "payments", 4),
            ],
            warnings: Vec::new(),
        }
    }

    fn render(format: ExpositionFormat) -> String {
        let mut out = Vec::new();
        write_prometheus(&report(), format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_family_has_help_and_type_and_its_samples_follow_it() {
        let text = render(ExpositionFormat::Prometheus);
        let names: Vec<_> = prometheus_metric_names().collect();
        for name in &names {
            assert!(name.starts_with("dora_"), "{name}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        // Samples of a family come right after its metadata, never elsewhere.
        let mut current = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap();
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(name, current, "{line}");
            }
        }
        assert!(!text.contains("# UNIT") && !text.contains("# EOF"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn labels_are_group_by_and_escaped_name() {
        let text = render(ExpositionFormat::Prometheus);
        assert!(text.contains("dora_deployments{group_by=\"all\",name=\"all\"} 4\n"));
        assert!(text.contains("dora_deployments{group_by=\"service\",name=\"we\\\"ird\\\\svc\\nx\"} 0\n"));
        assert!(text.contains("dora_deployments{group_by=\"team\",name=\"payments\"} 4\n"));
        assert!(
            text.contains("dora_lead_time_seconds{group_by=\"all\",name=\"all\",quantile=\"0.5\"} 3600\n")
        );
        assert!(
            text.contains("dora_lead_time_seconds{group_by=\"all\",name=\"all\",quantile=\"0.9\"} 7200.5\n")
        );
        assert!(text.contains(
            "dora_lead_time_stage_median_seconds{group_by=\"team\",name=\"payments\",stage=\"deploy\"} 0.25\n"
        ));
        assert!(text.contains("dora_change_failure_ratio{group_by=\"all\",name=\"all\"} 0.25\n"));
        assert!(text.contains("dora_window_start_timestamp_seconds 1788134400\n"));
        assert!(text.contains("dora_window_end_timestamp_seconds 1795392000\n"));
        // No raw line feed inside a sample: every line is metadata or a sample.
        for line in text.lines() {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line.starts_with("dora_"),
                "{line}"
            );
        }
    }

    #[test]
    fn null_statistics_and_rates_have_no_sample_and_nan_is_never_written() {
        let text = render(ExpositionFormat::Prometheus);
        assert!(!text.to_lowercase().contains("nan") && !text.contains("inf"));
        let svc = "group_by=\"service\"";
        for name in ["dora_change_failure_ratio", "dora_rework_ratio", "dora_lead_time_seconds"] {
            assert!(!text.lines().any(|l| l.starts_with(&format!("{name}{{{svc}"))), "{name}");
        }
        // The null review stage has no sample; the others do.
        assert!(!text.contains("stage=\"review\""));
        // Time to restore is null everywhere: metadata, no samples.
        assert!(
            text.contains("# TYPE dora_time_to_restore_seconds summary\n# HELP dora_incidents_resolved ")
        );
        // Counts of zero are samples.
        assert!(text.contains("dora_incidents_resolved{group_by=\"all\",name=\"all\"} 0\n"));
        // A non-finite value (which the engine never gives) is left out too.
        let mut r = report();
        r.groups[0].summary.figures.deployments_per_day = f64::NAN;
        r.groups[2].summary.figures.deployments_per_day = f64::INFINITY;
        let mut out = Vec::new();
        write_prometheus(&r, ExpositionFormat::Prometheus, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().filter(|l| l.starts_with("dora_deployments_per_day{")).count(), 1);
    }

    #[test]
    fn openmetrics_adds_units_and_eof_and_is_otherwise_the_same() {
        let prom = render(ExpositionFormat::Prometheus);
        let om = render(ExpositionFormat::OpenMetrics);
        assert!(om.ends_with("\n# EOF\n"));
        assert_eq!(om.matches("# EOF").count(), 1);
        assert!(
            om.contains("# TYPE dora_lead_time_seconds summary\n# UNIT dora_lead_time_seconds seconds\n")
        );
        assert!(om.contains("# UNIT dora_change_failure_ratio ratio\n"));
        assert!(!om.contains("# UNIT dora_deployments "));
        for line in om.lines().filter(|l| l.starts_with("# UNIT ")) {
            let mut parts = line.split(' ').skip(2);
            let (name, unit) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(name.ends_with(&format!("_{unit}")), "{line}");
        }
        let stripped: String = om
            .lines()
            .filter(|l| !l.starts_with("# UNIT ") && *l != "# EOF")
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(stripped, prom);
    }

    #[test]
    fn the_output_is_deterministic_and_follows_the_report_order() {
        assert_eq!(render(ExpositionFormat::Prometheus), render(ExpositionFormat::Prometheus));
        let text = render(ExpositionFormat::Prometheus);
        let deployments: Vec<_> = text.lines().filter(|l| l.starts_with("dora_deployments{")).collect();
        assert_eq!(deployments.len(), 3);
        assert!(deployments[0].contains("\"all\"") && deployments[1].contains("\"service\""));
        assert!(deployments[2].contains("\"team\""));
    }

    #[test]
    fn the_accept_header_chooses_the_format() {
        use ExpositionFormat::*;
        assert_eq!(ExpositionFormat::from_accept(""), Prometheus);
        assert_eq!(ExpositionFormat::from_accept("*/*"), Prometheus);
        assert_eq!(ExpositionFormat::from_accept("text/plain;version=0.0.4"), Prometheus);
        let scrape = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
                      text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(ExpositionFormat::from_accept(scrape), OpenMetrics);
        assert_eq!(ExpositionFormat::from_accept("Application/OpenMetrics-Text; q=0"), Prometheus);
        assert_eq!(OpenMetrics.content_type(), OPENMETRICS_CONTENT_TYPE);
        assert_eq!(Prometheus.content_type(), PROMETHEUS_CONTENT_TYPE);
    }
}
