//! The terminal table: one block per group, fitting 80 columns.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::duration::human_duration;
use super::report::format_money;
use crate::engine::levels::Level;
use crate::engine::options::Period;
use crate::result::{CostFigures, Figures, GroupMetrics, MetricsReport};

/// How to draw the table.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// Use ANSI colors (the CLI sets it only on a terminal without `NO_COLOR`).
    pub color: bool,
}

pub(crate) const DASH: &str = "—";

pub(crate) fn level_style(level: Option<Level>) -> Style {
    let color = match level {
        Some(Level::Elite) => AnsiColor::Green,
        Some(Level::High) => AnsiColor::Cyan,
        Some(Level::Medium) => AnsiColor::Yellow,
        Some(Level::Low) => AnsiColor::Red,
        None => return Style::new().dimmed(),
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn opt_duration(v: Option<f64>) -> String {
    v.map(human_duration).unwrap_or_else(|| DASH.to_string())
}

fn opt_pct(v: Option<f64>) -> String {
    v.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| DASH.to_string())
}

pub(crate) fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn row(label: &str, f: &Figures) -> String {
    format!(
        "{:<12}{:>7}{:>7}{:>10}{:>10}{:>6}{:>10}{:>10}{:>7}",
        truncate(label, 12),
        f.deployments,
        format!("{:.2}", f.deployments_per_day),
        opt_duration(f.lead_time.median),
        opt_duration(f.lead_time.p90),
        opt_pct(f.change_failure_rate.rate),
        opt_duration(f.time_to_restore.median),
        opt_duration(f.recovery_time.median),
        opt_pct(f.rework_rate.rate),
    )
}

fn write_group<W: Write>(
    out: &mut W,
    report: &MetricsReport,
    g: &GroupMetrics,
    opts: TableOptions,
) -> io::Result<()> {
    let paint = |level: Option<Level>| {
        let name = level.map_or(DASH, Level::as_str);
        if opts.color {
            let s = level_style(level);
            format!("{s}{name}{s:#}")
        } else {
            name.to_string()
        }
    };
    let title = match g.group_by {
        crate::engine::options::GroupKind::All => "all".to_string(),
        kind => format!("{} {}", kind.as_str(), truncate(&super::visible(&g.name), 54)),
    };
    let bold = if opts.color { Style::new().bold() } else { Style::new() };
    writeln!(out, "{bold}{title}{bold:#}  overall {}", paint(g.summary.levels.overall))?;
    let l = &g.summary.levels;
    writeln!(
        out,
        "  frequency {}  lead time {}  failure rate {}  recovery {}",
        paint(l.deployment_frequency),
        paint(l.lead_time),
        paint(l.change_failure_rate),
        paint(l.recovery_time)
    )?;
    let dim = if opts.color { Style::new().dimmed() } else { Style::new() };
    writeln!(
        out,
        "{dim}{:<12}{:>7}{:>7}{:>10}{:>10}{:>6}{:>10}{:>10}{:>7}{dim:#}",
        "period", "deploys", "/day", "lead med", "lead p90", "CFR", "restore", "recovery", "rework"
    )?;
    for p in &g.periods {
        let label = match report.period {
            Period::Month => p.start.format("%Y-%m").to_string(),
            _ => p.start.format("%Y-%m-%d").to_string(),
        };
        writeln!(out, "{}", row(&label, &p.figures))?;
    }
    writeln!(out, "{bold}{}{bold:#}", row("window", &g.summary.figures))?;
    if let Some(cost) = &g.summary.cost {
        writeln!(out, "{}", cost_line(cost))?;
    }
    writeln!(out)
}

/// The group's cost over the window (with cost data only, METRICS.md
/// section 7): the amount, then per deployment and per change (`—`
/// without any).
fn cost_line(cost: &CostFigures) -> String {
    let per = |v: Option<f64>| v.map_or_else(|| DASH.to_string(), format_money);
    format!(
        "cost {} {}: {} per deployment, {} per change",
        format_money(cost.amount),
        truncate(&super::visible(&cost.currency), 8),
        per(cost.per_deployment),
        per(cost.per_change)
    )
}

/// Writes the report as text tables (at most 80 columns wide).
pub fn write_table<W: Write>(report: &MetricsReport, mut out: W, opts: TableOptions) -> io::Result<()> {
    writeln!(
        out,
        "DORA metrics {} to {} ({}, {})",
        report.window.since.format("%Y-%m-%d %H:%M"),
        report.window.until.format("%Y-%m-%d %H:%M"),
        report.period,
        report.timezone
    )?;
    writeln!(out, "medians; restore: time to restore, recovery: failed deployment recovery")?;
    writeln!(out)?;
    for g in &report.groups {
        write_group(&mut out, report, g, opts)?;
    }
    for w in &report.warnings {
        writeln!(out, "warning: {}", super::visible(&w.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_line_shows_the_amount_and_dashes_without_a_denominator() {
        let cost =
            CostFigures { amount: 1.5, currency: "USD".into(), per_deployment: Some(0.75), per_change: None };
        assert_eq!(cost_line(&cost), "cost 1.50 USD: 0.75 per deployment, — per change");
        let hostile = CostFigures { currency: "\u{1b}[2J".into(), ..cost };
        assert!(!cost_line(&hostile).contains('\u{1b}'));
    }
}
