//! The weekly report: where each team and service stands this week, what
//! changed, and what to look at.
//!
//! [`build_report`] runs the engine over the report's week and the weeks
//! before it (the trend, 12 weeks in all by default), and again over the
//! same span one week earlier (for level regressions). For each group it
//! gives every metric's value this week, the change against the previous
//! week and against the median of the 4 weeks before, the trend, and the
//! level; then the notable items. Renderers in [`crate::render`] print it
//! for a terminal, in Markdown, HTML and JSON.
//!
//! Levels are computed over the whole trend (12 weeks by default), so one
//! quiet week does not flip a team's level; the figures are the week's.
//!
//! With cost data ([`Options::costs`]), each group also has a
//! [`CostLine`]: the week's cost, against the median of the 4 weeks
//! before, the trend and the cost per deployment.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc, Weekday};
use serde::Serialize;

use crate::Level;
use crate::engine::calendar::{local_date, local_date_start};
use crate::engine::notable::Notable;
use crate::engine::options::{GroupKind, Options, Period, Window};
use crate::engine::{Metric, compute, local_time};
use crate::error::{Error, Result};
use crate::event::EventSet;
use crate::event::time::{Micros, from_micros, to_micros};
use crate::result::{Figures, Levels, MetricsReport};

/// The JSON schema name of [`Report`].
pub const REPORT_SCHEMA: &str = "dora.report/v1";

/// An ISO 8601 week (`2026-W10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    /// The ISO week-numbering year.
    pub year: i32,
    /// The week, 1 to 53.
    pub week: u32,
}

impl IsoWeek {
    /// The week's Monday.
    pub fn monday(self) -> Option<NaiveDate> {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
    }

    /// The week containing a date.
    pub fn of(date: NaiveDate) -> IsoWeek {
        let w = date.iso_week();
        IsoWeek { year: w.year(), week: w.week() }
    }
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

impl std::str::FromStr for IsoWeek {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::option("week", format!("{s:?} is not an ISO week like 2026-W10"));
        let (y, w) = s.trim().split_once(['-', 'W', 'w']).ok_or_else(bad)?;
        let w = w.trim_start_matches(['W', 'w']);
        let week = IsoWeek { year: y.parse().map_err(|_| bad())?, week: w.parse().map_err(|_| bad())? };
        week.monday().ok_or_else(bad)?;
        Ok(week)
    }
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The engine's options; the window and period are set by the report.
    pub engine: Options,
    /// The week reported on.
    pub week: IsoWeek,
    /// Weeks in the trend, the report's week included (at least 6: the
    /// baseline is the median of the 4 weeks before the previous one... and
    /// the previous week).
    pub weeks: u32,
    /// How many of the week's slowest changes to list.
    pub slowest_changes: usize,
}

impl ReportOptions {
    /// The report of the last complete ISO week before `now` in the engine's
    /// time zone, with a 12-week trend.
    pub fn last_complete_week(engine: Options, now: DateTime<Utc>) -> Self {
        let today = local_date(to_micros(&now), engine.timezone);
        let week = IsoWeek::of(today - Days::new(7));
        Self { engine, week, weeks: 12, slowest_changes: 5 }
    }
}

/// Whether a higher value of a metric is better.
pub fn higher_is_better(metric: Metric) -> bool {
    matches!(metric, Metric::DeploymentFrequency)
}

/// How a value moved against a reference, read in the metric's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Moved the good way.
    Better,
    /// Moved the bad way.
    Worse,
    /// Did not move.
    Same,
    /// One side has no value.
    Unknown,
}

/// One metric of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// The metric.
    pub metric: Metric,
    /// This week's value: deployments (count) for deployment frequency,
    /// seconds for lead time and the two recovery metrics, a ratio in
    /// [0, 1] for the two rates. `None` when the week has nothing to measure.
    pub value: Option<f64>,
    /// The previous week's value.
    pub previous: Option<f64>,
    /// The median of the 4 weeks before this one (their non-null values).
    pub baseline: Option<f64>,
    /// This week against the previous.
    pub vs_previous: Change,
    /// This week against the baseline.
    pub vs_baseline: Change,
    /// The value of every week of the trend, oldest first.
    pub trend: Vec<Option<f64>>,
    /// The level over the trend, where the metric has one.
    pub level: Option<Level>,
}

/// One group's part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// all, service or team.
    pub group_by: GroupKind,
    /// The group's name.
    pub name: String,
    /// The overall level over the trend.
    pub overall: Option<Level>,
    /// Every metric, in report order.
    pub metrics: Vec<MetricRow>,
    /// The figures of the week itself.
    pub week: Figures,
    /// The group's cloud cost; present only with cost data (METRICS.md
    /// section 7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostLine>,
}

/// One group's cost in the weekly report: this week's, against the median
/// of the 4 weeks before, the trend, and per deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    /// The currency of every amount of the line.
    pub currency: String,
    /// This week's cost.
    pub value: f64,
    /// The median cost of the 4 weeks before this one.
    pub baseline: f64,
    /// Every week's cost, oldest first (0 for a week without cost rows).
    pub trend: Vec<f64>,
    /// This week's cost per deployment; `None` without a deployment.
    pub per_deployment: Option<f64>,
}

impl CostLine {
    /// The cost line of a group of the trend's metrics; `None` without
    /// cost data (or with fewer than 5 weeks).
    pub fn of(group: &crate::result::GroupMetrics) -> Option<Self> {
        let n = group.periods.len();
        let last = group.periods.last()?.cost.as_ref()?;
        if n < 5 {
            return None;
        }
        let trend: Vec<f64> =
            group.periods.iter().map(|p| p.cost.as_ref().map_or(0.0, |c| c.amount)).collect();
        let mut before = trend[n - 5..n - 1].to_vec();
        Some(Self {
            currency: last.currency.clone(),
            value: last.amount,
            baseline: median(&mut before).unwrap_or(0.0),
            trend,
            per_deployment: last.per_deployment,
        })
    }
}

/// A level that went down since the same span one week earlier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    /// all, service or team.
    pub group_by: GroupKind,
    /// The group's name.
    pub name: String,
    /// The metric (or `None` for the overall level).
    pub metric: Option<Metric>,
    /// The level one week earlier.
    pub from: Level,
    /// The level now.
    pub to: Level,
}

/// The weekly report (`dora.report/v1`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// The week, as `2026-W10`.
    pub week: String,
    /// Its first instant.
    pub start: DateTime<FixedOffset>,
    /// The first instant after it.
    pub end: DateTime<FixedOffset>,
    /// The trend's weeks' first instants, oldest first.
    pub trend_weeks: Vec<DateTime<FixedOffset>>,
    /// One entry per group: `all`, then services, then teams.
    pub groups: Vec<GroupReport>,
    /// Levels that went down.
    pub regressions: Vec<Regression>,
    /// What to look at, over every service.
    pub notable: Notable,
    /// The `dora.metrics/v1` object of the trend (weekly periods).
    pub metrics: MetricsReport,
    /// Present only when the week holds no event at all: where the events
    /// are, so the reader can ask for a week that has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_week: Option<EmptyWeek>,
}

/// Where the events are, for a report whose week holds none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmptyWeek {
    /// The earliest event's time (a deployment's `finished_at`, a change's
    /// `committed_at`, an incident's `opened_at`), in the report's zone.
    pub first_event: DateTime<FixedOffset>,
    /// The latest event's time.
    pub last_event: DateTime<FixedOffset>,
    /// The week of the latest event (or of the earliest, when every event
    /// comes after the reported week): a week that has events.
    pub suggested_week: String,
}

/// Whether a week's figures show nothing at all (no deployment of any
/// status, change, incident or recovery): only then are the events looked
/// at one by one.
fn looks_empty(f: &Figures) -> bool {
    f.deployments == 0
        && f.failed_attempts == 0
        && f.lead_time.count == 0
        && f.time_to_restore.count == 0
        && f.time_to_restore.unresolved == 0
        && f.recovery_time.count == 0
}

/// [`EmptyWeek`] when no event of `set` lies in `[from, to)`; `None` when
/// one does, or when there are no events.
fn empty_week(set: &EventSet, from: Micros, to: Micros, tz: chrono_tz::Tz) -> Option<EmptyWeek> {
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for event in set.iter() {
        let t = to_micros(match &event {
            crate::event::Event::Deployment(d) => &d.finished_at,
            crate::event::Event::Change(c) => &c.committed_at,
            crate::event::Event::Incident(i) => &i.opened_at,
        });
        if (from..to).contains(&t) {
            return None;
        }
        first = first.min(t);
        last = last.max(t);
    }
    if first > last {
        return None;
    }
    let (first, last) = (local_time(first, tz), local_time(last, tz));
    let target = if first.timestamp_micros() >= to { first } else { last };
    Some(EmptyWeek {
        first_event: first,
        last_event: last,
        suggested_week: IsoWeek::of(target.date_naive()).to_string(),
    })
}

/// A metric's weekly value, from a period's figures.
pub fn metric_value(metric: Metric, f: &Figures) -> Option<f64> {
    match metric {
        Metric::DeploymentFrequency => Some(f.deployments as f64),
        Metric::LeadTime => f.lead_time.median,
        Metric::ChangeFailureRate => f.change_failure_rate.rate,
        Metric::TimeToRestore => f.time_to_restore.median,
        Metric::RecoveryTime => f.recovery_time.median,
        Metric::ReworkRate => f.rework_rate.rate,
    }
}

/// A metric's level in a set of levels (time to restore has none of its own).
pub fn metric_level(metric: Metric, l: &Levels) -> Option<Level> {
    match metric {
        Metric::DeploymentFrequency => l.deployment_frequency,
        Metric::LeadTime => l.lead_time,
        Metric::ChangeFailureRate => l.change_failure_rate,
        Metric::RecoveryTime => l.recovery_time,
        Metric::TimeToRestore | Metric::ReworkRate => None,
    }
}

fn compare(metric: Metric, now: Option<f64>, then: Option<f64>) -> Change {
    match (now, then) {
        (Some(a), Some(b)) if (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0) => Change::Same,
        (Some(a), Some(b)) => {
            if (a > b) == higher_is_better(metric) {
                Change::Better
            } else {
                Change::Worse
            }
        }
        _ => Change::Unknown,
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn window_ending(week: IsoWeek, weeks: u32, options: &Options) -> Result<Window> {
    let monday = week.monday().ok_or_else(|| Error::option("week", format!("{week} does not exist")))?;
    let tz = options.timezone;
    let end = local_date_start(monday + Days::new(7), tz);
    let start = local_date_start(monday - Days::new(7 * (weeks as u64 - 1)), tz);
    Window::new(from_micros(start), from_micros(end))
}

/// Builds the weekly report of `set`.
pub fn build_report(set: &EventSet, opts: &ReportOptions) -> Result<Report> {
    build_report_for(set, opts, None)
}

/// Builds the weekly report of `set`, of one group only when `focus` names
/// one (`(GroupKind::Team, "payments")`, `(GroupKind::Service, "web")`):
/// its groups, level regressions, figures (`metrics`) and notable items are
/// then that group's alone; the empty-week note is still the whole
/// report's. A group with no events in the trend is an
/// [`Error::InvalidOption`] naming `team` or `service`. `None` (and
/// `GroupKind::All`) is [`build_report`].
pub fn build_report_for(
    set: &EventSet,
    opts: &ReportOptions,
    focus: Option<(GroupKind, &str)>,
) -> Result<Report> {
    if opts.weeks < 6 {
        return Err(Error::option(
            "weeks",
            "the trend needs at least 6 weeks (the week, the previous one and 4 before)",
        ));
    }
    let mut engine = opts.engine.clone();
    engine.period = Period::Week;
    engine.window = window_ending(opts.week, opts.weeks, &engine)?;
    let now = compute(set, &engine)?;
    let mut earlier_opts = engine.clone();
    // Only the earlier levels are read: the costs are this report's.
    earlier_opts.costs = None;
    let previous_week = IsoWeek::of(opts.week.monday().unwrap_or_default() - Days::new(7));
    earlier_opts.window = window_ending(previous_week, opts.weeks, &engine)?;
    let earlier = compute(set, &earlier_opts)?;

    let n = opts.weeks as usize;
    let (week_from, week_to) =
        now.period_span(n - 1).ok_or_else(|| Error::option("week", "the week is outside the window"))?;
    let mut groups = Vec::new();
    let mut regressions = Vec::new();
    for g in &now.report.groups {
        let values = |metric: Metric| -> Vec<Option<f64>> {
            g.periods.iter().map(|p| metric_value(metric, &p.figures)).collect()
        };
        let metrics = Metric::ALL
            .iter()
            .map(|&metric| {
                let trend = values(metric);
                let value = trend[n - 1];
                let previous = trend[n - 2];
                let mut before: Vec<f64> = trend[n - 5..n - 1].iter().flatten().copied().collect();
                let baseline = median(&mut before);
                MetricRow {
                    metric,
                    value,
                    previous,
                    baseline,
                    vs_previous: compare(metric, value, previous),
                    vs_baseline: compare(metric, value, baseline),
                    trend,
                    level: metric_level(metric, &g.summary.levels),
                }
            })
            .collect();
        let prior = earlier.report.groups.iter().find(|e| e.group_by == g.group_by && e.name == g.name);
        if let Some(prior) = prior {
            for metric in Metric::ALL {
                if let (Some(from), Some(to)) =
                    (metric_level(metric, &prior.summary.levels), metric_level(metric, &g.summary.levels))
                    && to < from
                {
                    regressions.push(Regression {
                        group_by: g.group_by,
                        name: g.name.clone(),
                        metric: Some(metric),
                        from,
                        to,
                    });
                }
            }
            if let (Some(from), Some(to)) = (prior.summary.levels.overall, g.summary.levels.overall)
                && to < from
            {
                regressions.push(Regression {
                    group_by: g.group_by,
                    name: g.name.clone(),
                    metric: None,
                    from,
                    to,
                });
            }
        }
        groups.push(GroupReport {
            group_by: g.group_by,
            name: g.name.clone(),
            overall: g.summary.levels.overall,
            metrics,
            week: g.periods[n - 1].figures.clone(),
            cost: CostLine::of(g),
        });
    }
    let (kind, name) = focus.unwrap_or((GroupKind::All, "all"));
    let notable = now.notable(week_from, week_to, now.member_of(kind, name), opts.slowest_changes);
    let tz = engine.timezone;
    let empty_week = groups
        .iter()
        .find(|g| g.group_by == GroupKind::All)
        .is_none_or(|g| looks_empty(&g.week))
        .then(|| empty_week(set, week_from, week_to, tz))
        .flatten();
    let mut metrics = now.report;
    if kind != GroupKind::All {
        let chosen = |k: GroupKind, n: &str| k == kind && n == name;
        if !groups.iter().any(|g| chosen(g.group_by, &g.name)) {
            return Err(Error::option(
                kind.as_str(),
                format!("no {} named {name:?} in the report's weeks", kind.as_str()),
            ));
        }
        groups.retain(|g| chosen(g.group_by, &g.name));
        regressions.retain(|r| chosen(r.group_by, &r.name));
        metrics.groups.retain(|g| chosen(g.group_by, &g.name));
    }
    Ok(Report {
        schema: REPORT_SCHEMA.to_string(),
        week: opts.week.to_string(),
        start: local_time(week_from, tz),
        end: local_time(week_to, tz),
        trend_weeks: metrics
            .groups
            .first()
            .map_or_else(Vec::new, |g| g.periods.iter().map(|p| p.start).collect()),
        groups,
        regressions,
        notable,
        metrics,
        empty_week,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_parse_and_print() {
        let w: IsoWeek = "2026-W10".parse().unwrap();
        assert_eq!(w, IsoWeek { year: 2026, week: 10 });
        assert_eq!(w.to_string(), "2026-W10");
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2026, 3, 2));
        assert!("2026-W54".parse::<IsoWeek>().is_err());
        assert!("March".parse::<IsoWeek>().is_err());
        assert_eq!(IsoWeek::of(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).to_string(), "2026-W53");
    }

    #[test]
    fn changes_read_in_the_metric_direction() {
        assert_eq!(compare(Metric::DeploymentFrequency, Some(5.0), Some(3.0)), Change::Better);
        assert_eq!(compare(Metric::LeadTime, Some(5.0), Some(3.0)), Change::Worse);
        assert_eq!(compare(Metric::LeadTime, Some(3.0), Some(3.0)), Change::Same);
        assert_eq!(compare(Metric::ChangeFailureRate, None, Some(0.1)), Change::Unknown);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
