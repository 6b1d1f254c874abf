//! The metrics engine: pure, synchronous and deterministic.
//!
//! [`compute`] takes an [`EventSet`] and [`Options`] (the window is an input:
//! there is no clock) and returns a [`Computation`]: the typed
//! `dora.metrics/v1` [`MetricsReport`] plus the classification behind it,
//! which [`Computation::explain`] turns into an audit trail.
//!
//! Classification rules live in one module per metric; polars does the
//! bucketing into periods and days, the grouping and the statistics.

pub(crate) mod calendar;
pub(crate) mod classify;
mod explain;
mod frames;
pub mod levels;
pub(crate) mod metrics;
pub(crate) mod notable;
pub mod options;
pub(crate) mod parallel;
pub(crate) mod stats;
mod warnings;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;

pub use explain::{ExplainRequest, ExplainedEvent, Explanation, Metric};
pub use metrics::change_failure::Attribution;
pub use notable::{Notable, NotableDeployment, NotableIncident, SlowChange};

use crate::error::Result;
use crate::event::EventSet;
use crate::event::time::{Micros, from_micros};
use crate::result::{
    ChangeFailureFigures, CostFigures, Figures, GroupMetrics, LeadTimeFigures, Levels, METRICS_SCHEMA,
    MetricsReport, PeriodMetrics, RecoveryFigures, ReportWindow, RestoreFigures, ReworkFigures, Stages,
    Summary,
};
use calendar::Calendar;
use classify::Classified;
use frames::{Cell, GroupKey};
use options::{GroupKind, Options};

/// The result of [`compute`]: the report and what it was computed from.
#[derive(Debug)]
pub struct Computation<'a> {
    /// The `dora.metrics/v1` report.
    pub report: MetricsReport,
    set: &'a EventSet,
    options: Options,
    calendar: Calendar,
    classified: Classified,
}

pub(crate) fn local_time(t: Micros, tz: Tz) -> DateTime<FixedOffset> {
    from_micros(t).with_timezone(&tz).fixed_offset()
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn figures(cell: &Cell, days: u32) -> Figures {
    Figures {
        deployments: cell.deployments,
        deploy_days: cell.deploy_days,
        deployments_per_day: metrics::deployment_frequency::per_day(cell.deployments, days),
        failed_attempts: cell.failed_attempts,
        lead_time: LeadTimeFigures {
            count: cell.lead_count,
            median: cell.lead_median,
            p90: cell.lead_p90,
            stages: Stages { coding: cell.coding, review: cell.review, deploy: cell.deploy },
        },
        change_failure_rate: ChangeFailureFigures {
            failed: cell.failed,
            deployments: cell.deployments,
            rate: ratio(cell.failed, cell.deployments),
        },
        time_to_restore: RestoreFigures {
            count: cell.restored,
            unresolved: cell.unresolved,
            median: cell.restore_median,
            p90: cell.restore_p90,
        },
        recovery_time: RecoveryFigures {
            count: cell.recovered,
            unrecovered: cell.unrecovered,
            median: cell.recovery_median,
            p90: cell.recovery_p90,
        },
        rework_rate: ReworkFigures {
            rework: cell.rework,
            deployments: cell.deployments,
            rate: ratio(cell.rework, cell.deployments),
        },
    }
}

/// Per group, the number of deploy days in each whole unit (week or month)
/// of the window, zeros included; `unit_of_day` maps a day to its unit.
fn days_per_unit(
    deploy_days: &[(GroupKey, u32)],
    unit_of_day: &[Option<u32>],
    units: u32,
) -> rustc_hash::FxHashMap<GroupKey, Vec<f64>> {
    let mut out: rustc_hash::FxHashMap<GroupKey, Vec<f64>> = Default::default();
    for &(g, day) in deploy_days {
        if let Some(u) = unit_of_day[day as usize] {
            out.entry(g).or_insert_with(|| vec![0.0; units as usize])[u as usize] += 1.0;
        }
    }
    out
}

/// Computes the metrics of `set` under `options`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use dora_core::{compute, Change, Deployment, DeploymentStatus, DeploymentType, EventSet, Options, Window};
///
/// let at = |d, h| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
/// let mut set = EventSet::new();
/// set.push(Change { id: "c1".into(), service: "api".into(), team: None, source: None,
///                   committed_at: at(2, 9), authored_at: None, pull_request: None });
/// set.push(Deployment { id: "d1".into(), service: "api".into(), team: None, source: None,
///     environment: "production".into(), finished_at: at(2, 12), started_at: None,
///     status: DeploymentStatus::Success, commit: None, changes: vec!["c1".into()],
///     deployment_type: DeploymentType::Regular, remediates: vec![], note: None });
/// let window = Window::new(at(2, 0), at(9, 0)).unwrap();
/// let result = compute(&set, &Options::new(window)).unwrap();
/// let all = &result.report.groups[0].summary.figures;
/// assert_eq!(all.deployments, 1);
/// assert_eq!(all.lead_time.median, Some(3.0 * 3600.0));
/// ```
pub fn compute<'a>(set: &'a EventSet, options: &Options) -> Result<Computation<'a>> {
    let mut warn = warnings::Warnings::default();
    let calendar = Calendar::new(&options.window, options.period, options.timezone);
    let classified = Classified::new(set, options, &mut warn);
    let agg = frames::aggregate(set, &classified, &calendar, options, &mut warn)?;

    // Cost data (METRICS.md section 7): per group and period, when a row
    // lies in the window.
    let costs = match &options.costs {
        Some(costs) => costs.totals(set, options)?,
        None => None,
    };

    // Groups: `all`, then every service and team with a production deployment
    // or an incident in the window, or with a cost row in it, by name.
    let mut keys: Vec<(GroupKind, String, Option<GroupKey>)> = agg
        .summary
        .keys()
        .filter(|k| **k != GroupKey::ALL)
        .map(|&k| (k.kind(), set.name(k.name_id()).to_string(), Some(k)))
        .collect();
    if let Some(costs) = &costs {
        let listed: std::collections::BTreeSet<(GroupKind, &str)> =
            keys.iter().map(|(kind, name, _)| (*kind, name.as_str())).collect();
        let missing: Vec<(GroupKind, String, Option<GroupKey>)> = costs
            .groups
            .keys()
            .filter(|(kind, name)| *kind != GroupKind::All && !listed.contains(&(*kind, name.as_str())))
            .map(|(kind, name)| (*kind, name.clone(), None))
            .collect();
        keys.extend(missing);
    }
    keys.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    if options.wants(GroupKind::All) {
        keys.insert(0, (GroupKind::All, "all".to_string(), Some(GroupKey::ALL)));
    }

    // Deploy days per whole week and month, for the frequency band.
    let week_days = days_per_unit(&agg.deploy_days, &calendar.day_week, calendar.whole_weeks);
    let month_days = days_per_unit(&agg.deploy_days, &calendar.day_month, calendar.whole_months);
    let zeros_w = vec![0.0; calendar.whole_weeks as usize];
    let zeros_m = vec![0.0; calendar.whole_months as usize];

    let tz = options.timezone;
    let empty = Cell::default();
    let groups = keys
        .into_iter()
        .map(|(kind, name, key)| {
            let cell = |p: Option<usize>| {
                key.and_then(|key| match p {
                    Some(p) => agg.periods.get(&(key, p as u32)),
                    None => agg.summary.get(&key),
                })
                .unwrap_or(&empty)
            };
            let group_cost = costs.as_ref().map(|c| (c.currency.as_str(), c.group(kind, &name)));
            let cost_of = |f: &Figures, p: Option<usize>| {
                group_cost.map(|(currency, g)| {
                    let amount = g.map_or(0.0, |g| p.map_or(g.total, |p| g.periods[p]));
                    CostFigures::new(amount, currency, f)
                })
            };
            let periods = (0..calendar.periods())
                .map(|p| {
                    let figures = figures(cell(Some(p)), calendar.period_days[p]);
                    PeriodMetrics {
                        start: local_time(calendar.period_bounds[p], tz),
                        end: local_time(calendar.period_bounds[p + 1], tz),
                        cost: cost_of(&figures, Some(p)),
                        figures,
                    }
                })
                .collect();
            let summary = figures(cell(None), calendar.window_days());
            let (week, month) = match key {
                Some(key) => (week_days.get(&key), month_days.get(&key)),
                None => (None, None),
            };
            let df =
                metrics::deployment_frequency::level(week.unwrap_or(&zeros_w), month.unwrap_or(&zeros_m));
            let lt = levels::lead_time(summary.lead_time.median);
            let cfr = levels::change_failure_rate(
                summary.change_failure_rate.failed,
                summary.change_failure_rate.deployments,
            );
            let rt = levels::recovery_time(summary.recovery_time.median);
            let levels = Levels {
                deployment_frequency: df,
                lead_time: lt,
                change_failure_rate: cfr,
                recovery_time: rt,
                overall: levels::overall(&[df, lt, cfr, rt]),
            };
            GroupMetrics {
                group_by: kind,
                name,
                periods,
                summary: Summary { cost: cost_of(&summary, None), figures: summary, levels },
            }
        })
        .collect();

    let report = MetricsReport {
        schema: METRICS_SCHEMA.to_string(),
        window: ReportWindow {
            since: local_time(options.window.since_micros(), tz),
            until: local_time(options.window.until_micros(), tz),
        },
        period: options.period,
        timezone: tz.name().to_string(),
        groups,
        warnings: warn.into_messages(),
    };
    Ok(Computation { report, set, options: options.clone(), calendar, classified })
}
