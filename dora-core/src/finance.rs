//! The finance table: one typed row per period and group (team or service),
//! with the figures finance asks for and the cost center of the group.
//!
//! [`FinanceTable::compute`] derives it from the engine's results; the
//! finance CSV ([`write_finance_csv`](crate::render::write_finance_csv)) only
//! writes it, and an embedder can read the rows or serialize them (the
//! serde field names are the CSV's column names).
//!
//! A column is a field of [`FinanceRow`], its name in [`FINANCE_COLUMNS`]
//! and its typed cell in [`FinanceRow::cells`], all in column order (a test
//! checks the names against the fields), plus its value in
//! [`FinanceTable::compute`] and a line in `docs/csv-export.md`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use dora_core::finance::FinanceTable;
//! use dora_core::{read_jsonl, EventSet, GroupKind, Options, ReadOptions, Window};
//!
//! let events = r#"
//! {"kind":"change","id":"c1","service":"api","team":"core","committed_at":"2026-03-02T09:00:00Z"}
//! {"kind":"deployment","id":"d1","service":"api","team":"core","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success","changes":["c1"]}
//! "#;
//! let mut set = EventSet::new();
//! read_jsonl(events.as_bytes(), None, &mut set, &ReadOptions::default())?;
//! let window = Window::new("2026-03-02T00:00:00Z".parse()?, "2026-03-09T00:00:00Z".parse()?)?;
//! let mut options = Options::new(window);
//! options.group_by = vec![GroupKind::Service];
//! let cost_centers = BTreeMap::from([("core".to_string(), "CC-7".to_string())]);
//! let table = FinanceTable::compute(&set, &options, &cost_centers)?;
//! let api = &table.rows[0];
//! assert_eq!((api.service.as_deref(), api.team.as_deref()), (Some("api"), Some("core")));
//! assert_eq!(api.cost_center.as_deref(), Some("CC-7")); // the service's team's
//! assert_eq!(api.deployments, 1);
//! assert_eq!(api.lead_time_median_hours, Some(3.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use crate::Level;
use crate::cost::service_teams;
use crate::engine::options::{GroupKind, Options, Window};
use crate::engine::{compute, local_time};
use crate::error::Result;
use crate::event::EventSet;
use crate::event::time::to_micros;

/// The columns, in order: the names of [`FinanceRow`]'s fields and of the
/// finance CSV's header. Changing them is a breaking change: a snapshot
/// test holds them.
pub const FINANCE_COLUMNS: [&str; 23] = [
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
    "cost",
    "currency",
    "cost_per_deployment",
    "cost_per_change",
];

/// One row of the finance table: a period of a group. The fields are the
/// columns of [`FINANCE_COLUMNS`], in that order (`docs/csv-export.md`
/// defines each); `None` is a null (nothing to measure), never 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FinanceRow {
    /// The period's first day (local date).
    pub period_start: NaiveDate,
    /// The day after the period's last (local date; the period ends at its start).
    pub period_end: NaiveDate,
    /// all, service or team.
    pub group_by: GroupKind,
    /// The team (of a team row, or the team of a service row's events).
    pub team: Option<String>,
    /// The service (of a service row).
    pub service: Option<String>,
    /// From `[finance]`: the service's cost center, else its team's.
    pub cost_center: Option<String>,
    /// Successful production deployments that finished in the period.
    pub deployments: u64,
    /// Distinct days with at least one.
    pub deploy_days: u64,
    /// Changes those deployments shipped first.
    pub changes_shipped: u64,
    /// Median lead time for changes, hours.
    pub lead_time_median_hours: Option<f64>,
    /// 90th percentile lead time, hours.
    pub lead_time_p90_hours: Option<f64>,
    /// Of `deployments`, those that failed in production.
    pub failed_deployments: u64,
    /// `failed_deployments / deployments`, 0 to 1.
    pub change_failure_rate: Option<f64>,
    /// Incidents opened in the period (resolved or not).
    pub incidents: u64,
    /// Median time to restore of the resolved incidents, hours.
    pub time_to_restore_median_hours: Option<f64>,
    /// Median failed deployment recovery time, hours.
    pub recovery_time_median_hours: Option<f64>,
    /// Rollbacks and hotfixes among `deployments`.
    pub rework_deployments: u64,
    /// `rework_deployments / deployments`, 0 to 1.
    pub rework_rate: Option<f64>,
    /// The overall level of the period, computed as for a window of its own.
    pub overall_level: Option<Level>,
    /// The group's cloud cost in the period (METRICS.md section 7); `None`
    /// without cost data.
    pub cost: Option<f64>,
    /// The cost's currency; `None` without cost data.
    pub currency: Option<String>,
    /// `cost / deployments`; `None` without cost data or deployments.
    pub cost_per_deployment: Option<f64>,
    /// `cost / changes_shipped`; `None` without cost data or shipped changes.
    pub cost_per_change: Option<f64>,
}

/// One typed cell of a [`FinanceRow`]: what a writer needs to format it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FinanceCell<'a> {
    /// A local date.
    Date(NaiveDate),
    /// A group kind (`all`, `service`, `team`).
    GroupKind(GroupKind),
    /// Free text from the events or the configuration, or a null.
    Text(Option<&'a str>),
    /// A count.
    Count(u64),
    /// A duration in hours, or a null.
    Hours(Option<f64>),
    /// A rate from 0 to 1, or a null.
    Ratio(Option<f64>),
    /// A performance level, or a null.
    Level(Option<Level>),
    /// An amount of money (in the row's currency), or a null.
    Money(Option<f64>),
}

impl FinanceRow {
    /// The row's cells, in the order of [`FINANCE_COLUMNS`].
    pub fn cells(&self) -> [FinanceCell<'_>; FINANCE_COLUMNS.len()] {
        use FinanceCell as C;
        [
            C::Date(self.period_start),
            C::Date(self.period_end),
            C::GroupKind(self.group_by),
            C::Text(self.team.as_deref()),
            C::Text(self.service.as_deref()),
            C::Text(self.cost_center.as_deref()),
            C::Count(self.deployments),
            C::Count(self.deploy_days),
            C::Count(self.changes_shipped),
            C::Hours(self.lead_time_median_hours),
            C::Hours(self.lead_time_p90_hours),
            C::Count(self.failed_deployments),
            C::Ratio(self.change_failure_rate),
            C::Count(self.incidents),
            C::Hours(self.time_to_restore_median_hours),
            C::Hours(self.recovery_time_median_hours),
            C::Count(self.rework_deployments),
            C::Ratio(self.rework_rate),
            C::Level(self.overall_level),
            C::Money(self.cost),
            C::Text(self.currency.as_deref()),
            C::Money(self.cost_per_deployment),
            C::Money(self.cost_per_change),
        ]
    }
}

fn hours(seconds: Option<f64>) -> Option<f64> {
    seconds.map(|s| s / 3600.0)
}

/// The finance table: one [`FinanceRow`] per group and period, groups in
/// the report's order, each group's periods in time order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FinanceTable {
    /// The rows.
    pub rows: Vec<FinanceRow>,
}

impl FinanceTable {
    /// Computes the table: the metrics of `options` (its window, period and
    /// groups), each period's overall level from a computation over that
    /// period alone, and cost centers from `cost_centers` (team or service
    /// -> cost center, `[finance]` in `dora.toml`). Pure: no I/O, no clock.
    ///
    /// With [`Options::costs`] and a cost row in the window, each row also
    /// has its group's `cost`, `currency`, `cost_per_deployment` and
    /// `cost_per_change` (METRICS.md section 7), and services and teams
    /// with cost rows but no events get rows too; without, those four are
    /// null.
    pub fn compute(
        set: &EventSet,
        options: &Options,
        cost_centers: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let computation = compute(set, options)?;
        let report = &computation.report;
        let tz = options.timezone;
        let local_date = |t: &DateTime<FixedOffset>| local_time(to_micros(&t.to_utc()), tz).date_naive();
        let overrides = options.costs.as_ref().map(|c| c.teams.clone()).unwrap_or_default();
        let teams = service_teams(set, &overrides);
        // Levels per period: the engine's summary levels of the period as a window.
        let mut levels: BTreeMap<(usize, GroupKind, String), Option<Level>> = BTreeMap::new();
        let periods = report.groups.first().map_or(0, |g| g.periods.len());
        for p in 0..periods {
            let g0 = &report.groups[0].periods[p];
            let mut one = options.clone();
            // Only the levels are read: the costs are the report's.
            one.costs = None;
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
                .and_then(|s| cost_centers.get(s))
                .or_else(|| team.as_ref().and_then(|t| cost_centers.get(t)))
                .cloned();
            for (p, period) in g.periods.iter().enumerate() {
                let f = &period.figures;
                rows.push(FinanceRow {
                    period_start: local_date(&period.start),
                    period_end: local_date(&period.end),
                    group_by: g.group_by,
                    team: team.clone(),
                    service: service.clone(),
                    cost_center: cost_center.clone(),
                    deployments: f.deployments,
                    deploy_days: f.deploy_days,
                    changes_shipped: f.lead_time.count,
                    lead_time_median_hours: hours(f.lead_time.median),
                    lead_time_p90_hours: hours(f.lead_time.p90),
                    failed_deployments: f.change_failure_rate.failed,
                    change_failure_rate: f.change_failure_rate.rate,
                    incidents: f.time_to_restore.count + f.time_to_restore.unresolved,
                    time_to_restore_median_hours: hours(f.time_to_restore.median),
                    recovery_time_median_hours: hours(f.recovery_time.median),
                    rework_deployments: f.rework_rate.rework,
                    rework_rate: f.rework_rate.rate,
                    overall_level: levels.get(&(p, g.group_by, g.name.clone())).copied().flatten(),
                    cost: period.cost.as_ref().map(|c| c.amount),
                    currency: period.cost.as_ref().map(|c| c.currency.clone()),
                    cost_per_deployment: period.cost.as_ref().and_then(|c| c.per_deployment),
                    cost_per_change: period.cost.as_ref().and_then(|c| c.per_change),
                });
            }
        }
        Ok(Self { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_the_fields_in_order() {
        let window =
            Window::new("2026-03-02T00:00:00Z".parse().unwrap(), "2026-03-09T00:00:00Z".parse().unwrap())
                .unwrap();
        let table = FinanceTable::compute(&EventSet::new(), &Options::new(window), &BTreeMap::new()).unwrap();
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.serialize(&table.rows[0]).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap(), FINANCE_COLUMNS.join(","));
    }
}
