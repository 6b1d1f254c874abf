//! The weekly report as one self-contained HTML page: no scripts, fonts or
//! images from the network; charts are inline SVG (a trend line per metric
//! over its level bands, small multiples per team); readable on a phone and
//! when printed.

use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, FixedOffset};

use super::html_text as esc;
use super::report::{
    NOTABLE_SHOWN, cost_sparkline, format_delta, format_money, format_money_delta, format_value, metric_label,
};
use crate::Level;
use crate::engine::Metric;
use crate::engine::options::GroupKind;
use crate::report::{Change, GroupReport, MetricRow, Report};

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// The level bands of a metric, as (upper bound, level) from the best band
/// up, in the metric's unit (seconds or ratio); `None` for metrics whose
/// weekly value has no band (deployments, time to restore, rework rate).
fn bands(metric: Metric) -> Option<[(f64, Level); 3]> {
    match metric {
        Metric::LeadTime => {
            Some([(DAY, Level::Elite), (7.0 * DAY, Level::High), (30.0 * DAY, Level::Medium)])
        }
        Metric::ChangeFailureRate => Some([(0.05, Level::Elite), (0.10, Level::High), (0.15, Level::Medium)]),
        Metric::RecoveryTime => Some([(HOUR, Level::Elite), (DAY, Level::High), (7.0 * DAY, Level::Medium)]),
        _ => None,
    }
}

fn level_class(level: Option<Level>) -> &'static str {
    level.map_or("none", |l| l.as_str())
}

/// One chart: the trend as a line (a dot per week with a value, gaps
/// where a week has none) over the metric's level bands, with a value axis
/// (0, the middle and the top, in the metric's unit) and a week axis (the
/// first and the last week's Monday).
fn chart(row: &MetricRow, title: &str, weeks: &[DateTime<FixedOffset>]) -> String {
    // The plot area sits right of the value labels and above the dates.
    let (w, h) = (280.0_f64, 118.0_f64);
    let (left, right, top, bottom) = (44.0_f64, 6.0_f64, 6.0_f64, 100.0_f64);
    let values: Vec<f64> = row.trend.iter().flatten().copied().collect();
    let mut hi = values.iter().copied().fold(0.0_f64, f64::max);
    if let Some(b) = bands(row.metric) {
        // Show at least the best band's edge, so the bands mean something.
        hi = hi.max(b[0].0 * 1.2);
    }
    if hi <= 0.0 {
        hi = 1.0;
    }
    let n = row.trend.len().max(2);
    let x = |i: usize| left + (w - left - right) * i as f64 / (n - 1) as f64;
    let y = |v: f64| bottom - (bottom - top) * (v / hi).clamp(0.0, 1.0);
    let mut svg = String::new();
    let label = format!("{title}: {}, {} weeks", metric_label(row.metric), row.trend.len());
    let _ = write!(
        svg,
        r#"<svg class="chart" data-metric="{}" viewBox="0 0 {w} {h}" role="img" aria-label="{}"><title>{}</title>"#,
        row.metric.as_str(),
        esc(&label),
        esc(&label)
    );
    if let Some(b) = bands(row.metric) {
        let mut lo = 0.0;
        for (edge, level) in b {
            let (band_top, band_bottom) = (y(edge.min(hi)), y(lo));
            if band_bottom > band_top {
                let _ = write!(
                    svg,
                    r#"<rect class="band {}" x="{left}" y="{band_top:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
                    level.as_str(),
                    w - left - right,
                    band_bottom - band_top,
                    level.as_str()
                );
            }
            lo = edge;
        }
        if hi > lo {
            let _ = write!(
                svg,
                r#"<rect class="band low" x="{left}" y="{:.1}" width="{:.1}" height="{:.1}"><title>low</title></rect>"#,
                y(hi),
                w - left - right,
                y(lo) - y(hi)
            );
        }
    }
    // The axes: a value scale on the left, the weeks below.
    let _ = write!(svg, r#"<path class="axis" d="M{left},{top}V{bottom}H{:.1}"/>"#, w - right);
    for v in [0.0, hi / 2.0, hi] {
        let _ = write!(
            svg,
            r#"<path class="tick" d="M{:.1},{:.1}H{left}"/><text class="tick-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 3.0,
            y(v),
            left - 5.0,
            y(v) + 3.0,
            esc(&axis_value(row.metric, v))
        );
    }
    if let (Some(first), Some(last)) = (weeks.first(), weeks.last()) {
        let _ = write!(
            svg,
            r#"<text class="tick-label" x="{left}" y="{:.1}" text-anchor="start">{}</text><text class="tick-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            bottom + 13.0,
            first.format("%b %-d"),
            w - right,
            bottom + 13.0,
            last.format("%b %-d")
        );
    }
    // The line, broken where a week has no value.
    let mut segment = Vec::new();
    let flush = |segment: &mut Vec<String>, svg: &mut String| {
        if segment.len() > 1 {
            let _ = write!(svg, r#"<polyline class="line" points="{}"/>"#, segment.join(" "));
        }
        segment.clear();
    };
    for (i, v) in row.trend.iter().enumerate() {
        match v {
            Some(v) => segment.push(format!("{:.1},{:.1}", x(i), y(*v))),
            None => flush(&mut segment, &mut svg),
        }
    }
    flush(&mut segment, &mut svg);
    for (i, v) in row.trend.iter().enumerate() {
        if let Some(v) = v {
            let last = if i + 1 == row.trend.len() { " last" } else { "" };
            let week =
                weeks.get(i).map(|d| format!("week of {}: ", d.format("%Y-%m-%d"))).unwrap_or_default();
            let _ = write!(
                svg,
                r#"<circle class="dot{last}" cx="{:.1}" cy="{:.1}" r="{}"><title>{}{}</title></circle>"#,
                x(i),
                y(*v),
                if last.is_empty() { 2.0 } else { 3.5 },
                week,
                esc(&format_value(row.metric, Some(*v)))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A value on a chart's axis, short: whole numbers of deployments, whole
/// percents, durations in their largest unit.
fn axis_value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::DeploymentFrequency => format!("{v:.0}"),
        Metric::ChangeFailureRate | Metric::ReworkRate => format!("{:.0}%", v * 100.0),
        _ if v == 0.0 => "0".to_string(),
        _ if v >= DAY => format!("{:.0}d", v / DAY),
        _ if v >= HOUR => format!("{:.0}h", v / HOUR),
        _ => format!("{:.0}m", v / 60.0),
    }
}

/// The key to the level bands' colours, shown once above the charts.
const LEGEND: &str = r#"<p class="legend muted">Charts: the weekly value over the DORA level bands (dora-2023) <span class="swatch elite"></span>elite <span class="swatch high"></span>high <span class="swatch medium"></span>medium <span class="swatch low"></span>low; the last week's dot is blue.</p>"#;

fn change_class(c: Change) -> &'static str {
    match c {
        Change::Better => "better",
        Change::Worse => "worse",
        Change::Same => "same",
        Change::Unknown => "unknown",
    }
}

fn group_name(g: &GroupReport) -> String {
    match g.group_by {
        GroupKind::All => "all services".to_string(),
        k => format!("{} {}", k.as_str(), g.name),
    }
}

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#5b6470;--line:#d0d7de;--elite:#d1f0d8;--high:#d6ecf7;--medium:#fbefc9;--low:#f8d7d3;--better:#116b2f;--worse:#b3261e}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;padding:16px;max-width:1100px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td .delta{display:block;font-size:.8em}
.better{color:var(--better)}.worse{color:var(--worse);font-weight:600}.same,.unknown{color:var(--muted)}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:.85em}
.badge.elite{background:var(--elite)}.badge.high{background:var(--high)}.badge.medium{background:var(--medium)}.badge.low{background:var(--low)}.badge.none{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px}
figcaption{font-size:.85em;display:flex;justify-content:space-between;gap:8px}
svg.chart{width:100%;height:auto;display:block}
.band.elite{fill:var(--elite)}.band.high{fill:var(--high)}.band.medium{fill:var(--medium)}.band.low{fill:var(--low)}
.line{fill:none;stroke:#24292f;stroke-width:1.5}
.axis,.tick{fill:none;stroke:var(--muted);stroke-width:.8}.tick-label{font-size:9px;fill:var(--muted)}
.swatch{display:inline-block;width:.9em;height:.9em;margin:0 .25em 0 .5em;vertical-align:-.1em;border:1px solid var(--line)}
.swatch.elite{background:var(--elite)}.swatch.high{background:var(--high)}.swatch.medium{background:var(--medium)}.swatch.low{background:var(--low)}
.note{padding:6px 10px;border-left:4px solid var(--medium);background:#fffbea}
.dot{fill:#24292f}.dot.last{fill:#0969da}
ul{padding-left:1.2em}li{margin:.15em 0}code{font-size:.9em}
@media (max-width:600px){body{padding:8px;font-size:14px}th,td{padding:3px 4px}}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}figure,table{break-inside:avoid}.grid{grid-template-columns:repeat(3,1fr)}}
"#;

fn summary_table(out: &mut String, report: &Report) {
    out.push_str(r#"<div class="table-wrap"><table><thead><tr><th>group</th>"#);
    for m in Metric::ALL {
        let _ = write!(out, "<th>{}</th>", metric_label(m));
    }
    out.push_str("<th>level</th></tr></thead><tbody>");
    for g in &report.groups {
        let _ = write!(out, "<tr><td>{}</td>", esc(&group_name(g)));
        for row in &g.metrics {
            let _ = write!(
                out,
                r#"<td>{}<span class="delta {}" title="vs previous week">{}</span></td>"#,
                esc(&format_value(row.metric, row.value)),
                change_class(row.vs_previous),
                esc(&format_delta(row.metric, row.value, row.previous))
            );
        }
        let _ = write!(
            out,
            r#"<td><span class="badge {}">{}</span></td></tr>"#,
            level_class(g.overall),
            g.overall.map_or("—", |l| l.as_str())
        );
    }
    out.push_str("</tbody></table></div>");
}

/// The cost of each group (with cost data): this week, against the median
/// of the 4 weeks before, the trend as a sparkline, per deployment.
fn cost_table(out: &mut String, report: &Report) {
    let Some(currency) = report.groups.iter().find_map(|g| g.cost.as_ref()).map(|c| &c.currency) else {
        return;
    };
    let _ = write!(
        out,
        r#"<h2>Cost ({})</h2><div class="table-wrap"><table class="cost"><thead><tr><th>group</th><th>this week</th><th>vs 4 wk</th><th>trend</th><th>per deployment</th></tr></thead><tbody>"#,
        esc(currency)
    );
    for g in &report.groups {
        let Some(cost) = &g.cost else { continue };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td><code class="spark" title="{} weeks, oldest first">{}</code></td><td>{}</td></tr>"#,
            esc(&group_name(g)),
            format_money(cost.value),
            esc(&format_money_delta(cost.value, cost.baseline)),
            cost.trend.len(),
            cost_sparkline(cost),
            cost.per_deployment.map_or_else(|| "—".to_string(), format_money)
        );
    }
    out.push_str("</tbody></table></div>");
}

fn figure(out: &mut String, g: &GroupReport, row: &MetricRow, weeks: &[DateTime<FixedOffset>]) {
    let _ = write!(
        out,
        r#"<figure><figcaption><strong>{}</strong><span>{} <span class="badge {}">{}</span></span></figcaption>{}</figure>"#,
        metric_label(row.metric),
        esc(&format_value(row.metric, row.value)),
        level_class(row.level),
        row.level.map_or("—", |l| l.as_str()),
        chart(row, &group_name(g), weeks)
    );
}

fn list<T>(out: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    if items.is_empty() {
        return;
    }
    let _ = write!(out, "<h3>{} ({})</h3><ul>", esc(title), items.len());
    for item in items.iter().take(NOTABLE_SHOWN * 2) {
        let _ = write!(out, "<li>{}</li>", line(item));
    }
    if items.len() > NOTABLE_SHOWN * 2 {
        let _ = write!(out, "<li class=\"muted\">and {} more</li>", items.len() - NOTABLE_SHOWN * 2);
    }
    out.push_str("</ul>");
}

/// Links a page of the weekly report can carry, to other weeks and to each
/// team's and service's page: `dora serve` gives one for `GET /`; `dora
/// report` gives none ([`write_report_html`]). Each method returns the
/// address (`href`) to link to, or `None` for no link; the renderer escapes
/// it.
pub trait ReportLinks {
    /// The page of an earlier week of the trend (`2026-W46`), for the same
    /// selection.
    fn week(&self, week: &str) -> Option<String>;
    /// The page of the last complete week, for the same selection.
    fn latest(&self) -> Option<String>;
    /// The page of one group (`GroupKind::All`: every team and service) in
    /// the same week.
    fn group(&self, kind: GroupKind, name: &str) -> Option<String>;
}

/// The `<nav class="links">` of a page with links: earlier weeks, the last
/// complete week, every group of the report. One element, right after the
/// header.
fn links_nav(h: &mut String, report: &Report, links: &dyn ReportLinks) {
    let a = |href: Option<String>, text: &str| match href {
        Some(href) => format!(r#"<a href="{}">{}</a>"#, esc(&href), esc(text)),
        None => esc(text),
    };
    h.push_str(r#"<nav class="links"><p>Weeks:"#);
    for monday in report.trend_weeks.iter().rev().skip(1) {
        let week = crate::report::IsoWeek::of(monday.date_naive()).to_string();
        let _ = write!(h, " {}", a(links.week(&week), &week));
    }
    let _ = write!(h, " · {}", a(links.latest(), "last complete week"));
    h.push_str("</p>");
    let _ = write!(h, "<p>{}</p>", a(links.group(GroupKind::All, "all"), "all teams and services"));
    for (kind, title) in [(GroupKind::Team, "Teams"), (GroupKind::Service, "Services")] {
        let groups: Vec<&GroupReport> = report.groups.iter().filter(|g| g.group_by == kind).collect();
        if groups.is_empty() {
            continue;
        }
        let _ = write!(h, "<p>{title}:");
        for g in groups {
            let _ = write!(h, " {}", a(links.group(kind, &g.name), &g.name));
        }
        h.push_str("</p>");
    }
    h.push_str("</nav>");
}

/// Writes the report as one self-contained HTML page.
pub fn write_report_html<W: Write>(report: &Report, out: W) -> io::Result<()> {
    write_report_html_with_links(report, out, None)
}

/// Writes the report as [`write_report_html`] does, plus, when `links` is
/// given, one `<nav class="links">` element after the header with links to
/// the earlier weeks of the trend, the last complete week and every team's
/// and service's page. With `None` the page is byte for byte
/// [`write_report_html`]'s.
pub fn write_report_html_with_links<W: Write>(
    report: &Report,
    mut out: W,
    links: Option<&dyn ReportLinks>,
) -> io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    let last = report.end - chrono::Duration::days(1);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>DORA weekly report {week}</title><style>{STYLE}</style></head><body><header><h1>DORA weekly report {week}</h1><p class="muted">{} to {} ({}). Changes compare with the previous week; levels (dora-2023) are over the {}-week trend.</p></header>"#,
        report.start.format("%a %Y-%m-%d"),
        last.format("%a %Y-%m-%d"),
        esc(&report.metrics.timezone),
        report.trend_weeks.len(),
        week = esc(&report.week),
    );
    if let Some(links) = links {
        links_nav(&mut h, report, links);
    }
    if let Some(line) = super::report::empty_week_line(report) {
        let _ = write!(h, "<p class=\"note\"><strong>{}</strong></p>", esc(&line));
    }
    h.push_str("<h2>This week</h2>");
    summary_table(&mut h, report);
    cost_table(&mut h, report);
    for g in report.groups.iter().filter(|g| g.group_by == GroupKind::All) {
        let _ = write!(h, "<h2>Trend: {}</h2>{LEGEND}<div class=\"grid\">", esc(&group_name(g)));
        for row in &g.metrics {
            figure(&mut h, g, row, &report.trend_weeks);
        }
        h.push_str("</div>");
    }
    for (kind, title) in [(GroupKind::Team, "Teams"), (GroupKind::Service, "Services")] {
        let groups: Vec<&GroupReport> = report.groups.iter().filter(|g| g.group_by == kind).collect();
        if groups.is_empty() {
            continue;
        }
        let _ = write!(h, "<h2>{title}</h2>");
        for g in groups {
            let _ = write!(
                h,
                r#"<h3>{} <span class="badge {}">{}</span></h3><div class="grid">"#,
                esc(&g.name),
                level_class(g.overall),
                g.overall.map_or("—", |l| l.as_str())
            );
            for row in g.metrics.iter().filter(|r| {
                matches!(
                    r.metric,
                    Metric::DeploymentFrequency
                        | Metric::LeadTime
                        | Metric::ChangeFailureRate
                        | Metric::RecoveryTime
                )
            }) {
                figure(&mut h, g, row, &report.trend_weeks);
            }
            h.push_str("</div>");
        }
    }
    h.push_str("<h2>Notable</h2>");
    let n = &report.notable;
    let minute = |t: &chrono::DateTime<chrono::FixedOffset>| t.format("%Y-%m-%d %H:%M").to_string();
    list(&mut h, "Level regressions", &report.regressions, |r| {
        esc(&format!(
            "{}: {} {} → {}",
            match r.group_by {
                GroupKind::All => "all services".to_string(),
                k => format!("{} {}", k.as_str(), r.name),
            },
            r.metric.map_or("overall", metric_label),
            r.from.as_str(),
            r.to.as_str()
        ))
    });
    list(&mut h, "Failed deployments not yet recovered", &n.unrecovered_failures, |d| {
        format!("<code>{}</code> {} {}", esc(&d.id), esc(&d.service), minute(&d.finished_at))
    });
    list(&mut h, "Open incidents", &n.open_incidents, |i| {
        let sev = i.severity.as_deref().map(|s| format!(" [{}]", esc(s))).unwrap_or_default();
        format!("<code>{}</code> {}{sev} opened {}", esc(&i.id), esc(&i.service), minute(&i.opened_at))
    });
    list(&mut h, "Slowest changes this week", &n.slowest_changes, |c| {
        let pr = c.pull_request.map(|p| format!("#{p} ")).unwrap_or_default();
        format!(
            "{} {pr}<code>{}</code> {}",
            super::human_duration(c.lead_time_seconds),
            esc(&c.id.chars().take(12).collect::<String>()),
            esc(&c.service)
        )
    });
    list(&mut h, "Data quality: deployments listing no changes", &n.deployments_without_changes, |d| {
        format!("<code>{}</code> {} {}", esc(&d.id), esc(&d.service), minute(&d.finished_at))
    });
    list(&mut h, "Data quality: incidents with no deployment found", &n.incidents_without_deployment, |i| {
        format!("<code>{}</code> {} opened {}", esc(&i.id), esc(&i.service), minute(&i.opened_at))
    });
    let _ = writeln!(
        h,
        "<footer class=\"muted\"><p>Made by dora {}.</p></footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out.write_all(h.as_bytes())
}
