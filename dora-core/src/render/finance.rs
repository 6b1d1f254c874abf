//! The finance CSV: one row per period and group, fixed documented columns
//! in a fixed order (`docs/csv-export.md`), safe to open in a spreadsheet.
//!
//! RFC 4180 (CRLF line ends, quotes where needed), UTF-8 (optionally with a
//! byte order mark, for Excel), `.` decimals at fixed precision, ISO 8601
//! dates, an empty cell for a null. Text cells that a spreadsheet would run
//! as a formula are neutralised as OWASP advises (a leading `'`).

use std::collections::BTreeMap;
use std::io;

use super::csv::safe_cell;
use crate::Level;
use crate::engine::options::{GroupKind, Options, Window};
use crate::engine::{compute, local_time};
use crate::error::Result;
use crate::event::EventSet;
use crate::result::Figures;

/// The columns, in order. Changing them is a breaking change: a snapshot
/// test holds them.
pub const FINANCE_COLUMNS: [&str; 19] = [
    "period_start",
    "period_end",
    "group_by",
    "team",
    "service",
    "cost_center",
    "deployments",
    "deploy_days",
    "changes_shipped",
    "lead_time_median_hours",
    "lead_time_p90_hours",
    "failed_deployments",
    "change_failure_rate",
    "incidents",
    "time_to_restore_median_hours",
    "recovery_time_median_hours",
    "rework_deployments",
    "rework_rate",
    "overall_level",
];

/// One row of the finance CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct FinanceRow {
    /// The period's first day (local date).
    pub period_start: chrono::NaiveDate,
    /// The day after the period's last (local date; the period ends at its start).
    pub period_end: chrono::NaiveDate,
    /// all, service or team.
    pub group_by: GroupKind,
    /// The team (of a team row, or the team of a service row's events).
    pub team: Option<String>,
    /// The service (of a service row).
    pub service: Option<String>,
    /// From `[finance]`: the service's cost center, else its team's.
    pub cost_center: Option<String>,
    /// The period's figures.
    pub figures: Figures,
    /// The overall level of the period, computed as for a window of its own.
    pub overall_level: Option<Level>,
}

/// Options of the finance CSV writer.
#[derive(Debug, Clone, Copy)]
pub struct FinanceCsvOptions {
    /// The cell separator (default `,`).
    pub delimiter: u8,
    /// Start with a UTF-8 byte order mark (Excel needs it to read UTF-8).
    pub bom: bool,
}

impl Default for FinanceCsvOptions {
    fn default() -> Self {
        Self { delimiter: b',', bom: false }
    }
}

/// The team of each service: the team its events name most often (ties by
/// name), after `[teams]` overrides were applied to the set.
fn service_teams(set: &EventSet) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (service, team) in set.service_team_pairs() {
        *counts.entry((service.to_string(), team.to_string())).or_default() += 1;
    }
    let mut best: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for ((service, team), n) in counts {
        let entry = best.entry(service).or_insert((0, String::new()));
        if n > entry.0 {
            *entry = (n, team);
        }
    }
    best.into_iter().map(|(s, (_, t))| (s, t)).collect()
}

/// Computes the finance rows: the metrics of `options` (its window, period
/// and groups), each period's overall level from a computation over that
/// period alone, and cost centers from `finance` (team or service -> cost
/// center).
pub fn finance_rows(
    set: &EventSet,
    options: &Options,
    finance: &BTreeMap<String, String>,
) -> Result<Vec<FinanceRow>> {
    let computation = compute(set, options)?;
    let report = &computation.report;
    let tz = options.timezone;
    let teams = service_teams(set);
    // Levels per period: the engine's summary levels of the period as a window.
    let mut levels: BTreeMap<(usize, GroupKind, String), Option<Level>> = BTreeMap::new();
    let periods = report.groups.first().map_or(0, |g| g.periods.len());
    for p in 0..periods {
        let g0 = &report.groups[0].periods[p];
        let mut one = options.clone();
        one.window = Window::new(g0.start.to_utc(), g0.end.to_utc())?;
        let c = compute(set, &one)?;
        for g in &c.report.groups {
            levels.insert((p, g.group_by, g.name.clone()), g.summary.levels.overall);
        }
    }
    let mut rows = Vec::new();
    for g in &report.groups {
        let (team, service) = match g.group_by {
            GroupKind::All => (None, None),
            GroupKind::Team => (Some(g.name.clone()), None),
            GroupKind::Service => (teams.get(&g.name).cloned(), Some(g.name.clone())),
        };
        let cost_center = service
            .as_ref()
            .and_then(|s| finance.get(s))
            .or_else(|| team.as_ref().and_then(|t| finance.get(t)))
            .cloned();
        for (p, period) in g.periods.iter().enumerate() {
            rows.push(FinanceRow {
                period_start: local_time(to_micros_fixed(&period.start), tz).date_naive(),
                period_end: local_time(to_micros_fixed(&period.end), tz).date_naive(),
                group_by: g.group_by,
                team: team.clone(),
                service: service.clone(),
                cost_center: cost_center.clone(),
                figures: period.figures.clone(),
                overall_level: levels.get(&(p, g.group_by, g.name.clone())).copied().flatten(),
            });
        }
    }
    Ok(rows)
}

fn to_micros_fixed(t: &chrono::DateTime<chrono::FixedOffset>) -> crate::event::time::Micros {
    crate::event::time::to_micros(&t.to_utc())
}

fn hours(seconds: Option<f64>) -> String {
    seconds.map(|s| format!("{:.2}", s / 3600.0)).unwrap_or_default()
}

fn ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.4}")).unwrap_or_default()
}

fn text(s: &Option<String>) -> String {
    s.as_deref().map(safe_cell).unwrap_or_default()
}

/// Writes the finance CSV.
pub fn write_finance_csv<W: io::Write>(
    rows: &[FinanceRow],
    mut out: W,
    opts: FinanceCsvOptions,
) -> io::Result<()> {
    if opts.bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(opts.delimiter)
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(FINANCE_COLUMNS)?;
    for r in rows {
        let f = &r.figures;
        w.write_record([
            r.period_start.to_string(),
            r.period_end.to_string(),
            r.group_by.as_str().to_string(),
            text(&r.team),
            text(&r.service),
            text(&r.cost_center),
            f.deployments.to_string(),
            f.deploy_days.to_string(),
            f.lead_time.count.to_string(),
            hours(f.lead_time.median),
            hours(f.lead_time.p90),
            f.change_failure_rate.failed.to_string(),
            ratio(f.change_failure_rate.rate),
            (f.time_to_restore.count + f.time_to_restore.unresolved).to_string(),
            hours(f.time_to_restore.median),
            hours(f.recovery_time.median),
            f.rework_rate.rework.to_string(),
            ratio(f.rework_rate.rate),
            r.overall_level.map(|l| l.as_str().to_string()).unwrap_or_default(),
        ])?;
    }
    w.flush()
}
