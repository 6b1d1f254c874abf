//! One CSV row per group and period, `all` first, periods in time order.
//! (The window's summary is in the JSON output; a summary row here would be
//! counted twice by anyone summing a column.)

use std::io;

use crate::result::{Figures, MetricsReport};

/// The columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "group_by",
    "name",
    "period",
    "start",
    "end",
    "deployments",
    "deploy_days",
    "deployments_per_day",
    "failed_attempts",
    "lead_time_count",
    "lead_time_median_s",
    "lead_time_p90_s",
    "coding_median_s",
    "review_median_s",
    "deploy_median_s",
    "failed_deployments",
    "change_failure_rate",
    "incidents_resolved",
    "incidents_unresolved",
    "time_to_restore_median_s",
    "time_to_restore_p90_s",
    "recovered",
    "unrecovered",
    "recovery_time_median_s",
    "recovery_time_p90_s",
    "rework_deployments",
    "rework_rate",
];

/// Neutralises a cell a spreadsheet would run as a formula (OWASP's advice).
pub(crate) fn safe_cell(s: &str) -> String {
    // Control characters first (shown as `\u{1b}`: nothing raw reaches a
    // terminal that shows the file), then the formula guard.
    let s = super::visible(s);
    match s.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{s}"),
        _ => s.into_owned(),
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}").trim_end_matches('0').trim_end_matches('.').to_string()).unwrap_or_default()
}

fn figure_cells(f: &Figures) -> Vec<String> {
    vec![
        f.deployments.to_string(),
        f.deploy_days.to_string(),
        num(Some(f.deployments_per_day)),
        f.failed_attempts.to_string(),
        f.lead_time.count.to_string(),
        num(f.lead_time.median),
        num(f.lead_time.p90),
        num(f.lead_time.stages.coding),
        num(f.lead_time.stages.review),
        num(f.lead_time.stages.deploy),
        f.change_failure_rate.failed.to_string(),
        num(f.change_failure_rate.rate),
        f.time_to_restore.count.to_string(),
        f.time_to_restore.unresolved.to_string(),
        num(f.time_to_restore.median),
        num(f.time_to_restore.p90),
        f.recovery_time.count.to_string(),
        f.recovery_time.unrecovered.to_string(),
        num(f.recovery_time.median),
        num(f.recovery_time.p90),
        f.rework_rate.rework.to_string(),
        num(f.rework_rate.rate),
    ]
}

/// Writes a header, then one row per group and period.
pub fn write_csv<W: io::Write>(report: &MetricsReport, out: W) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for g in &report.groups {
        let head = [g.group_by.as_str().to_string(), safe_cell(&g.name)];
        for (i, p) in g.periods.iter().enumerate() {
            let mut row = head.to_vec();
            row.extend([i.to_string(), p.start.to_rfc3339(), p.end.to_rfc3339()]);
            row.extend(figure_cells(&p.figures));
            w.write_record(&row)?;
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"http://x\",\"y\")"), "'=HYPERLINK(\"http://x\",\"y\")");
        for s in ["+1", "-1", "@SUM(A1)"] {
            assert!(safe_cell(s).starts_with('\''), "{s:?}");
        }
        // Control characters are shown, never written raw.
        assert_eq!(safe_cell("\tx"), "\\u{9}x");
        assert_eq!(safe_cell("\u{1b}[2J=1"), "\\u{1b}[2J=1");
        assert_eq!(safe_cell("api"), "api");
        assert_eq!(num(Some(0.25)), "0.25");
        assert_eq!(num(Some(10800.0)), "10800");
        assert_eq!(num(None), "");
    }
}
