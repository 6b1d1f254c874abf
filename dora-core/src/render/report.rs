//! Renderers of the weekly [`Report`]: terminal text (80 columns) and
//! GitHub-flavoured Markdown. Both write to any `io::Write`.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::duration::human_duration;
use super::table::{DASH, level_style, truncate};
use super::text::{markdown_code, markdown_text, visible};
use crate::engine::Metric;
use crate::engine::notable::Notable;
use crate::engine::options::GroupKind;
use crate::report::{Change, CostLine, GroupReport, MetricRow, Report};

/// How many items of each notable list are shown before "and N more".
pub const NOTABLE_SHOWN: usize = 5;

/// The metric's label in the report.
pub fn metric_label(metric: Metric) -> &'static str {
    match metric {
        Metric::DeploymentFrequency => "deployments",
        Metric::LeadTime => "lead time",
        Metric::ChangeFailureRate => "change failure rate",
        Metric::TimeToRestore => "time to restore",
        Metric::RecoveryTime => "recovery time",
        Metric::ReworkRate => "rework rate",
    }
}

fn is_rate(metric: Metric) -> bool {
    matches!(metric, Metric::ChangeFailureRate | Metric::ReworkRate)
}

fn is_duration(metric: Metric) -> bool {
    matches!(metric, Metric::LeadTime | Metric::TimeToRestore | Metric::RecoveryTime)
}

/// A metric's value for display: `12`, `3h 05m`, `6.3%`, or `—`.
pub fn format_value(metric: Metric, v: Option<f64>) -> String {
    match v {
        None => DASH.to_string(),
        Some(v) if is_rate(metric) => format!("{:.1}%", v * 100.0),
        Some(v) if is_duration(metric) => human_duration(v),
        Some(v) => format!("{v:.0}"),
    }
}

/// The arrow of a change of value (up, down, level), whatever its meaning.
fn arrow(now: Option<f64>, then: Option<f64>) -> &'static str {
    match (now, then) {
        (Some(a), Some(b)) if a > b => "↑",
        (Some(a), Some(b)) if a < b => "↓",
        (Some(_), Some(_)) => "→",
        _ => "",
    }
}

/// The difference against a reference, with its arrow: `↑ +5`, `↓ 2h 10m`,
/// `↑ +1.5pp`, `→`, or `—`.
pub fn format_delta(metric: Metric, now: Option<f64>, then: Option<f64>) -> String {
    let (Some(a), Some(b)) = (now, then) else { return DASH.to_string() };
    let d = a - b;
    let a_ = arrow(now, then);
    if d.abs() < 1e-9 {
        return "→".to_string();
    }
    let sign = if d > 0.0 { "+" } else { "−" };
    match metric {
        m if is_rate(m) => format!("{a_} {sign}{:.1}pp", d.abs() * 100.0),
        m if is_duration(m) => format!("{a_} {sign}{}", human_duration(d.abs())),
        _ => format!("{a_} {sign}{:.0}", d.abs()),
    }
}

/// An amount of money for display, 2 decimals (`1234.50`, `-3.20`), never
/// `-0.00`.
pub fn format_money(v: f64) -> String {
    let text = format!("{v:.2}");
    if text == "-0.00" { "0.00".to_string() } else { text }
}

/// The difference of two amounts, with its arrow: `↑ +12.50`, `↓ −3.00`
/// or `→` (same to the cent).
pub fn format_money_delta(now: f64, then: f64) -> String {
    let d = now - then;
    if d.abs() < 0.005 {
        return "→".to_string();
    }
    let (arrow, sign) = if d > 0.0 { ("↑", "+") } else { ("↓", "−") };
    format!("{arrow} {sign}{:.2}", d.abs())
}

/// The sparkline of a cost trend.
pub fn cost_sparkline(cost: &CostLine) -> String {
    sparkline(&cost.trend.iter().copied().map(Some).collect::<Vec<_>>())
}

/// A sparkline of the trend: one block per week, `·` where a week has no value.
pub fn sparkline(trend: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<f64> = trend.iter().flatten().copied().collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    trend
        .iter()
        .map(|v| match v {
            None => '·',
            // A series that never changes: at the bottom when it is zero
            // throughout, at mid-height otherwise (0 and 1 a week differ).
            Some(v) if hi <= lo => {
                if *v == 0.0 {
                    BARS[0]
                } else {
                    BARS[3]
                }
            }
            Some(v) => BARS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

fn group_title(g: &GroupReport) -> String {
    match g.group_by {
        GroupKind::All => "all services".to_string(),
        GroupKind::Service => format!("service {}", visible(&g.name)),
        GroupKind::Team => format!("team {}", visible(&g.name)),
    }
}

/// Options of the terminal renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportTextOptions {
    /// Use ANSI colors (on a terminal without `NO_COLOR` only).
    pub color: bool,
    /// The terminal's width: the Notable lines are cut to fit it. `None`
    /// (output to a file or a pipe) writes them whole.
    pub width: Option<usize>,
}

/// How the Notable lists write text from events: as plain terminal text,
/// or as Markdown (a list under each heading, ids as code spans).
#[derive(Debug, Clone, Copy)]
enum Flavor {
    /// Terminal text, each line cut to the width when one is given.
    Text(Option<usize>),
    /// Markdown: nothing cut, everything escaped.
    Markdown,
}

impl Flavor {
    /// Text from an event (a service, a group's name, a severity).
    fn text(self, s: &str) -> String {
        match self {
            Flavor::Text(_) => visible(s).into_owned(),
            Flavor::Markdown => markdown_text(s),
        }
    }

    /// An id, shown as code.
    fn code(self, s: &str) -> String {
        match self {
            Flavor::Text(_) => visible(s).into_owned(),
            Flavor::Markdown => markdown_code(s),
        }
    }

    fn bullet(self) -> &'static str {
        match self {
            Flavor::Text(_) => "  ",
            Flavor::Markdown => "- ",
        }
    }
}

fn change_style(change: Change, color: bool) -> Style {
    if !color {
        return Style::new();
    }
    match change {
        Change::Better => Style::new().fg_color(Some(AnsiColor::Green.into())),
        Change::Worse => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Change::Same | Change::Unknown => Style::new().dimmed(),
    }
}

fn level_text(level: Option<crate::Level>) -> &'static str {
    level.map_or(DASH, |l| l.as_str())
}

fn write_metric_row<W: Write>(out: &mut W, row: &MetricRow, color: bool) -> io::Result<()> {
    let prev = format_delta(row.metric, row.value, row.previous);
    let base = format_delta(row.metric, row.value, row.baseline);
    let (ps, bs) = (change_style(row.vs_previous, color), change_style(row.vs_baseline, color));
    let ls = if color { level_style(row.level) } else { Style::new() };
    // 2 + 19 + 9 + 1 + 12 + 12 + 2 + 12 + 2 + 6 = 77 columns at most.
    writeln!(
        out,
        "  {:<19}{:>9} {ps}{:>12}{ps:#}{bs}{:>12}{bs:#}  {:<12}  {ls}{}{ls:#}",
        metric_label(row.metric),
        format_value(row.metric, row.value),
        prev,
        base,
        sparkline(&row.trend),
        level_text(row.level),
    )
}

/// The cost lines of a group in the terminal table: the week's cost under
/// "this week", the change against the median of the 4 weeks before under
/// "vs 4 wk" and the trend, then the week's cost per deployment.
fn write_cost_rows<W: Write>(out: &mut W, cost: &CostLine, dim: Style) -> io::Result<()> {
    writeln!(
        out,
        "  {:<19}{:>9} {:>12}{dim}{:>12}{dim:#}  {}",
        truncate(&format!("cost ({})", visible(&cost.currency)), 19),
        format_money(cost.value),
        "",
        format_money_delta(cost.value, cost.baseline),
        cost_sparkline(cost),
    )?;
    let per = cost.per_deployment.map_or_else(|| DASH.to_string(), format_money);
    writeln!(out, "  {:<19}{:>9}", "cost per deployment", per)
}

fn write_list<W: Write, T>(
    out: &mut W,
    title: &str,
    items: &[T],
    line: impl Fn(&T) -> String,
    flavor: Flavor,
) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}{title} ({})", flavor.bullet(), items.len())?;
    for item in items.iter().take(NOTABLE_SHOWN) {
        match flavor {
            Flavor::Text(Some(width)) => {
                writeln!(out, "    {}", truncate(&line(item), width.saturating_sub(6)))?
            }
            _ => writeln!(out, "    {}", line(item))?,
        }
    }
    if items.len() > NOTABLE_SHOWN {
        writeln!(out, "    and {} more", items.len() - NOTABLE_SHOWN)?;
    }
    Ok(())
}

fn minute(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// Notable items as plain lines (shared by the text and Markdown renderers).
fn notable_lists<W: Write>(out: &mut W, report: &Report, f: Flavor) -> io::Result<()> {
    let n: &Notable = &report.notable;
    write_list(
        out,
        "Level regressions",
        &report.regressions,
        |r| {
            let what = r.metric.map_or("overall", metric_label);
            let who = match r.group_by {
                GroupKind::All => "all services".to_string(),
                k => format!("{} {}", k.as_str(), f.text(&r.name)),
            };
            format!("{who}: {what} {} → {}", r.from.as_str(), r.to.as_str())
        },
        f,
    )?;
    write_list(
        out,
        "Failed deployments not yet recovered",
        &n.unrecovered_failures,
        |d| format!("{} {} {}", f.code(&d.id), f.text(&d.service), minute(&d.finished_at)),
        f,
    )?;
    write_list(
        out,
        "Open incidents",
        &n.open_incidents,
        |i| {
            let sev = i.severity.as_deref().map(|s| format!(" [{}]", f.text(s))).unwrap_or_default();
            format!("{} {}{sev} opened {}", f.code(&i.id), f.text(&i.service), minute(&i.opened_at))
        },
        f,
    )?;
    write_list(
        out,
        "Slowest changes this week",
        &n.slowest_changes,
        |c| {
            let pr = c.pull_request.map(|p| format!("#{p} ")).unwrap_or_default();
            let short: String = c.id.chars().take(12).collect();
            format!("{} {pr}{} {}", human_duration(c.lead_time_seconds), f.code(&short), f.text(&c.service))
        },
        f,
    )?;
    write_list(
        out,
        "Data quality: deployments listing no changes",
        &n.deployments_without_changes,
        |d| format!("{} {} {}", f.code(&d.id), f.text(&d.service), minute(&d.finished_at)),
        f,
    )?;
    write_list(
        out,
        "Data quality: incidents with no deployment found",
        &n.incidents_without_deployment,
        |i| format!("{} {} opened {}", f.code(&i.id), f.text(&i.service), minute(&i.opened_at)),
        f,
    )?;
    let nothing = report.regressions.is_empty()
        && n.unrecovered_failures.is_empty()
        && n.open_incidents.is_empty()
        && n.slowest_changes.is_empty()
        && n.deployments_without_changes.is_empty()
        && n.incidents_without_deployment.is_empty();
    if nothing {
        writeln!(out, "{}Nothing notable this week.", f.bullet())?;
    }
    Ok(())
}

/// The line that says why the week is empty and which week has events.
pub(super) fn empty_week_line(report: &Report) -> Option<String> {
    report.empty_week.as_ref().map(|e| {
        format!(
            "No events in this week: the events run from {} to {}; try --week {}.",
            e.first_event.format("%Y-%m-%d"),
            e.last_event.format("%Y-%m-%d"),
            e.suggested_week
        )
    })
}

fn heading_dates(report: &Report) -> String {
    let last = report.end - chrono::Duration::days(1);
    format!(
        "{} to {} ({})",
        report.start.format("%a %Y-%m-%d"),
        last.format("%a %Y-%m-%d"),
        report.metrics.timezone
    )
}

/// Writes the report for a terminal: fits 80 columns; colors only when asked.
pub fn write_report_text<W: Write>(report: &Report, mut out: W, opts: ReportTextOptions) -> io::Result<()> {
    let bold = if opts.color { Style::new().bold() } else { Style::new() };
    let dim = if opts.color { Style::new().dimmed() } else { Style::new() };
    writeln!(out, "{bold}DORA weekly report {}{bold:#}: {}", report.week, heading_dates(report))?;
    writeln!(
        out,
        "{dim}vs prev: against the week before; vs 4 wk: against the median of the 4 weeks\nbefore; trend: {} weeks; levels over the trend (dora-2023).{dim:#}",
        report.trend_weeks.len()
    )?;
    if let Some(line) = empty_week_line(report) {
        writeln!(out)?;
        writeln!(out, "{bold}{line}{bold:#}")?;
    }
    for g in &report.groups {
        writeln!(out)?;
        let ls = if opts.color { level_style(g.overall) } else { Style::new() };
        let title = truncate(&group_title(g), 56);
        writeln!(
            out,
            "{bold}{title}{bold:#}{:>w$}{ls}{}{ls:#}",
            "overall: ",
            level_text(g.overall),
            w = 65 - title.chars().count()
        )?;
        writeln!(
            out,
            "{dim}  {:<19}{:>9} {:>12}{:>12}  {:<12}  level{dim:#}",
            "metric", "this week", "vs prev", "vs 4 wk", "trend"
        )?;
        for row in &g.metrics {
            write_metric_row(&mut out, row, opts.color)?;
        }
        if let Some(cost) = &g.cost {
            write_cost_rows(&mut out, cost, dim)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{bold}Notable{bold:#}")?;
    notable_lists(&mut out, report, Flavor::Text(opts.width))?;
    if !report.metrics.warnings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{dim}{} data warnings (see `dora metrics --format json`).{dim:#}",
            report.metrics.warnings.len()
        )?;
    }
    Ok(())
}

fn md_cell(row: &MetricRow) -> String {
    let value = format_value(row.metric, row.value);
    let mark = match row.vs_previous {
        Change::Better => format!(" {}", arrow(row.value, row.previous)),
        Change::Worse => format!(" **{}**", arrow(row.value, row.previous)),
        _ => String::new(),
    };
    format!("{value}{mark}")
}

/// Writes the report as GitHub-flavoured Markdown (for chat, wikis and
/// pull-request comments). Arrows compare with the previous week; a bold
/// arrow is a change for the worse.
pub fn write_report_markdown<W: Write>(report: &Report, mut out: W) -> io::Result<()> {
    writeln!(out, "## DORA weekly report {}", report.week)?;
    writeln!(out)?;
    writeln!(
        out,
        "{}. Arrows compare with the previous week (**bold** = worse); levels over the {}-week trend.",
        heading_dates(report),
        report.trend_weeks.len()
    )?;
    writeln!(out)?;
    if let Some(line) = empty_week_line(report) {
        writeln!(out, "> **{line}**")?;
        writeln!(out)?;
    }
    write!(out, "| group |")?;
    for m in Metric::ALL {
        write!(out, " {} |", metric_label(m))?;
    }
    writeln!(out, " level |")?;
    write!(out, "|---|")?;
    for _ in Metric::ALL {
        write!(out, "---:|")?;
    }
    writeln!(out, "---|")?;
    for g in &report.groups {
        let name = match g.group_by {
            GroupKind::All => "**all**".to_string(),
            k => format!("{} {}", k.as_str(), markdown_text(&g.name)),
        };
        write!(out, "| {name} |")?;
        for row in &g.metrics {
            write!(out, " {} |", md_cell(row))?;
        }
        writeln!(out, " {} |", level_text(g.overall))?;
    }
    writeln!(out)?;
    writeln!(out, "### Trend ({} weeks, oldest first)", report.trend_weeks.len())?;
    writeln!(out)?;
    writeln!(out, "| group | deployments | lead time | change failure rate | recovery time |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for g in &report.groups {
        let name = match g.group_by {
            GroupKind::All => "**all**".to_string(),
            k => format!("{} {}", k.as_str(), markdown_text(&g.name)),
        };
        let spark = |m: Metric| {
            g.metrics.iter().find(|r| r.metric == m).map(|r| sparkline(&r.trend)).unwrap_or_default()
        };
        writeln!(
            out,
            "| {name} | `{}` | `{}` | `{}` | `{}` |",
            spark(Metric::DeploymentFrequency),
            spark(Metric::LeadTime),
            spark(Metric::ChangeFailureRate),
            spark(Metric::RecoveryTime)
        )?;
    }
    if let Some(currency) = report.groups.iter().find_map(|g| g.cost.as_ref()).map(|c| &c.currency) {
        writeln!(out)?;
        writeln!(out, "### Cost ({})", markdown_text(currency))?;
        writeln!(out)?;
        writeln!(out, "| group | this week | vs 4 wk | trend | per deployment |")?;
        writeln!(out, "|---|---:|---:|---|---:|")?;
        for g in &report.groups {
            let Some(cost) = &g.cost else { continue };
            let name = match g.group_by {
                GroupKind::All => "**all**".to_string(),
                k => format!("{} {}", k.as_str(), markdown_text(&g.name)),
            };
            writeln!(
                out,
                "| {name} | {} | {} | `{}` | {} |",
                format_money(cost.value),
                format_money_delta(cost.value, cost.baseline),
                cost_sparkline(cost),
                cost.per_deployment.map_or_else(|| DASH.to_string(), format_money)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "### Notable")?;
    writeln!(out)?;
    let mut text = Vec::new();
    notable_lists(&mut text, report, Flavor::Markdown)?;
    // Items under a bullet are indented list items in Markdown.
    let text = String::from_utf8_lossy(&text).replace("\n    ", "\n  - ");
    let text = text.strip_prefix("    ").map(|t| format!("  - {t}")).unwrap_or(text);
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// Writes the report as JSON (`dora.report/v1`: the report's fields, with
/// the trend's `dora.metrics/v1` object under `metrics`).
pub fn write_report_json<W: Write>(report: &Report, mut out: W) -> io::Result<()> {
    super::write_pretty_json(report, &mut out)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_deltas_and_sparklines() {
        assert_eq!(format_value(Metric::ChangeFailureRate, Some(0.0625)), "6.2%");
        assert_eq!(format_value(Metric::LeadTime, None), "—");
        assert_eq!(format_delta(Metric::DeploymentFrequency, Some(7.0), Some(5.0)), "↑ +2");
        assert_eq!(format_delta(Metric::LeadTime, Some(3600.0), Some(7200.0)), "↓ −1h 00m");
        assert_eq!(format_delta(Metric::ReworkRate, Some(0.1), Some(0.1)), "→");
        assert_eq!(format_delta(Metric::ReworkRate, None, Some(0.1)), "—");
        assert_eq!(sparkline(&[Some(0.0), None, Some(7.0), Some(3.5)]), "▁·█▅");
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
        assert_eq!(sparkline(&[Some(1.0), None, Some(1.0)]), "▄·▄");
        assert_eq!(sparkline(&[Some(0.0), Some(0.0)]), "▁▁");
        assert_eq!(format_money(1234.5), "1234.50");
        assert_eq!(format_money(-0.001), "0.00");
        assert_eq!(format_money_delta(12.0, 10.0), "↑ +2.00");
        assert_eq!(format_money_delta(7.5, 10.0), "↓ −2.50");
        assert_eq!(format_money_delta(10.001, 10.0), "→");
    }
}
