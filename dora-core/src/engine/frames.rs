//! The polars stage: fact tables built from the classification, bucketed
//! into periods and days, grouped by all / service / team and aggregated.
//! The largest, the lead times, is bucketed by polars and then aggregated
//! by selection over sorted slices, beside the polars plans ([`lead`]).

use std::sync::OnceLock;

use polars::prelude::search_sorted::SearchSortedSide;
use polars::prelude::*;
use rustc_hash::FxHashMap;

use crate::engine::calendar::Calendar;
use crate::engine::classify::Classified;
use crate::engine::metrics::{restore, rework};
use crate::engine::options::{GroupKind, Options};
use crate::engine::parallel;
use crate::engine::warnings::Warnings;
use crate::error::Result;
use crate::event::EventSet;
use crate::event::time::{MICROS_PER_SECOND, Micros};
use stat::Stat;

mod lead;
mod stat;

/// A group: its kind and (for services and teams) the interned name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct GroupKey(u64);

impl GroupKey {
    pub const ALL: GroupKey = GroupKey(0);
    pub(crate) const SERVICE: u64 = 1 << 32;
    pub(crate) const TEAM: u64 = 2 << 32;

    pub fn kind(self) -> GroupKind {
        match self.0 >> 32 {
            0 => GroupKind::All,
            1 => GroupKind::Service,
            _ => GroupKind::Team,
        }
    }

    /// The interned service or team name.
    pub fn name_id(self) -> u32 {
        self.0 as u32
    }
}

/// Aggregated values of one group over one period or the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cell {
    pub deployments: u64,
    pub failed_attempts: u64,
    pub deploy_days: u64,
    pub failed: u64,
    pub rework: u64,
    pub recovered: u64,
    pub unrecovered: u64,
    pub recovery_median: Option<f64>,
    pub recovery_p90: Option<f64>,
    pub lead_count: u64,
    pub lead_median: Option<f64>,
    pub lead_p90: Option<f64>,
    pub coding: Option<f64>,
    pub review: Option<f64>,
    pub deploy: Option<f64>,
    pub restored: u64,
    pub unresolved: u64,
    pub restore_median: Option<f64>,
    pub restore_p90: Option<f64>,
}

/// Everything the polars stage computed.
#[derive(Debug, Default)]
pub(crate) struct Aggregates {
    pub periods: FxHashMap<(GroupKey, u32), Cell>,
    pub summary: FxHashMap<GroupKey, Cell>,
    /// Distinct (group, day) pairs with a deployment.
    pub deploy_days: Vec<(GroupKey, u32)>,
}

fn seconds(m: Micros) -> f64 {
    m as f64 / MICROS_PER_SECOND as f64
}

fn frame(columns: Vec<Column>) -> Result<DataFrame> {
    let height = columns.first().map_or(0, |c| c.len());
    Ok(DataFrame::new(height, columns)?)
}

/// A column that takes `values` over (`Column::new` would copy a `Vec`).
pub(super) fn owned<T: PolarsNumericType>(name: &str, values: Vec<T::Native>) -> Column {
    ChunkedArray::<T>::from_vec(name.into(), values).into_column()
}

/// The columns every fact table starts with: the group names and the time
/// that places the fact in a period.
#[derive(Debug, Default)]
struct Keys {
    service: Vec<u32>,
    team: Vec<Option<u32>>,
    t: Vec<Micros>,
}

impl Keys {
    fn push(&mut self, service: u32, team: Option<u32>, t: Micros) {
        self.service.push(service);
        self.team.push(team);
        self.t.push(t);
    }

    fn into_columns(self) -> Vec<Column> {
        vec![
            owned::<UInt32Type>("service", self.service),
            Column::new("team".into(), self.team),
            owned::<Int64Type>("t", self.t),
        ]
    }
}

/// The values of one statistic (a recovery or a restore time), one row
/// per value, no nulls (lead times have tables of their own, see [`lead`]).
/// Null-free matters: polars' median and quantile select in linear time
/// over a group's slice, but sort the whole group when it holds a null.
#[derive(Debug, Default)]
struct Values {
    keys: Keys,
    v: Vec<f64>,
}

impl Values {
    fn push(&mut self, service: u32, team: Option<u32>, t: Micros, v: Option<Micros>) {
        if let Some(v) = v {
            self.keys.push(service, team, t);
            self.v.push(seconds(v));
        }
    }

    fn frame(self) -> Result<DataFrame> {
        let mut columns = self.keys.into_columns();
        columns.push(owned::<Float64Type>("v", self.v));
        frame(columns)
    }
}

/// Dense ids of the (service, team) pairs of deployments: the deployment
/// table is first aggregated by (pair, period) and by (pair, day), whose
/// few rows then roll up into every group kind.
struct Pairs {
    /// Per service name: the pair of the first team seen with it.
    first: Vec<Option<(Option<u32>, u32)>>,
    /// Any other (service, team) pair.
    others: FxHashMap<(u32, Option<u32>), u32>,
    count: u32,
}

impl Pairs {
    fn new(names: usize) -> Self {
        Self { first: vec![None; names], others: FxHashMap::default(), count: 0 }
    }

    fn id(&mut self, service: u32, team: Option<u32>) -> u32 {
        let next = self.count;
        let id = match self.first[service as usize] {
            Some((t, id)) if t == team => return id,
            None => {
                self.first[service as usize] = Some((team, next));
                next
            }
            Some(_) => *self.others.entry((service, team)).or_insert(next),
        };
        if id == next {
            self.count += 1;
        }
        id
    }
}

fn deployment_facts(set: &EventSet, cls: &Classified, opts: &Options) -> Result<(DataFrame, DataFrame)> {
    let mut keys = Keys::default();
    let mut pairs = Pairs::new(set.names.len());
    let mut pair = Vec::new();
    let (mut ok, mut failed, mut rework_, mut recovered, mut unrecovered) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut recovery = Values::default();
    for (slot, d) in set.deployments.iter().enumerate() {
        let Some(d) = d else { continue };
        if !cls.production[slot] || !opts.window.contains(d.finished_at) {
            continue;
        }
        let good = cls.ok_production[slot];
        let is_failed = good && cls.failed[slot];
        keys.push(d.service, d.team, d.finished_at);
        pair.push(pairs.id(d.service, d.team));
        ok.push(good);
        failed.push(is_failed);
        rework_.push(good && rework::is_rework(d));
        let r = cls.recovery[slot].filter(|_| is_failed).map(|r| r.duration);
        recovered.push(r.is_some());
        unrecovered.push(is_failed && r.is_none());
        recovery.push(d.service, d.team, d.finished_at, r);
    }
    let mut columns = keys.into_columns();
    columns.extend([
        owned::<UInt32Type>("pair", pair),
        Column::new("ok".into(), ok),
        Column::new("failed".into(), failed),
        Column::new("rework".into(), rework_),
        Column::new("recovered".into(), recovered),
        Column::new("unrecovered".into(), unrecovered),
    ]);
    Ok((frame(columns)?, recovery.frame()?))
}

/// The lead-time rows: one per change shipped by a deployment finishing
/// in the window (total, and each stage where known), bucketed and ordered
/// by period.
fn lead_facts<'a>(
    set: &EventSet,
    cls: &'a Classified,
    cal: &Calendar,
    opts: &Options,
) -> Result<lead::ByPeriod<'a>> {
    let n = cls.lead_times.len();
    let mut lead = lead::LeadRows { rows: Vec::with_capacity(n), t: Vec::with_capacity(n) };
    for (i, lt) in cls.lead_times.iter().enumerate() {
        let Some(d) = &set.deployments[lt.deployment as usize] else { continue };
        if !opts.window.contains(d.finished_at) {
            continue;
        }
        lead.t.push(d.finished_at);
        let team = d.team.unwrap_or(lead::NO_TEAM);
        lead.rows.push(lead::LeadRow { service: d.service, team, period: 0, lead: i as u32 });
    }
    lead::ByPeriod::new(lead, &cls.lead_times, cal)
}

fn incident_facts(set: &EventSet, opts: &Options, warnings: &mut Warnings) -> Result<(DataFrame, DataFrame)> {
    let mut keys = Keys::default();
    let mut resolved = Vec::new();
    let mut restore = Values::default();
    for (slot, i) in set.incidents.iter().enumerate() {
        let Some(i) = i else { continue };
        if !opts.window.contains(i.opened_at) {
            continue;
        }
        let id = || set.incident_ids.resolve(slot as u32).to_string();
        let ttr = restore::restore_time(id, i, warnings);
        keys.push(i.service, i.team, i.opened_at);
        resolved.push(ttr.is_some());
        restore.push(i.service, i.team, i.opened_at, ttr);
    }
    let mut columns = keys.into_columns();
    columns.push(Column::new("resolved".into(), resolved));
    Ok((frame(columns)?, restore.frame()?))
}

/// An aggregation and the name of its output column.
type Agg = (Stat, Expr);

fn u64_(e: Expr, stat: Stat) -> Agg {
    (stat, e.cast(DataType::UInt64).alias(stat.name()))
}

fn f64_(e: Expr, stat: Stat) -> Agg {
    (stat, e.cast(DataType::Float64).alias(stat.name()))
}

fn median(stat: Stat) -> Agg {
    f64_(col("v").median(), stat)
}

fn p90(stat: Stat) -> Agg {
    f64_(col("v").quantile(lit(0.9), QuantileMethod::Linear), stat)
}

/// The deployment counts of one (pair, period): the first aggregation of
/// the deployment table, which every group kind then sums up.
fn deployment_counts() -> Vec<Expr> {
    let count = |e: Expr, stat: Stat| e.sum().cast(DataType::UInt64).alias(stat.name());
    vec![
        col("service").first(),
        col("team").first(),
        col("period").first(),
        count(col("ok"), Stat::Deployments),
        count(col("ok").not(), Stat::FailedAttempts),
        count(col("failed"), Stat::Failed),
        count(col("rework"), Stat::Rework),
        count(col("recovered"), Stat::Recovered),
        count(col("unrecovered"), Stat::Unrecovered),
    ]
}

/// The columns of [`deployment_counts`] summed up by group (and period).
const DEPLOYMENT_COUNTS: [Stat; 6] =
    [Stat::Deployments, Stat::FailedAttempts, Stat::Failed, Stat::Rework, Stat::Recovered, Stat::Unrecovered];

fn deployment_aggs() -> Vec<Agg> {
    DEPLOYMENT_COUNTS.iter().map(|&stat| u64_(col(stat.name()).sum(), stat)).collect()
}

fn incident_aggs() -> Vec<Agg> {
    vec![u64_(col("resolved").sum(), Stat::Restored), u64_(col("resolved").not().sum(), Stat::Unresolved)]
}

/// Adds the `period` and `day` bucket indexes (by binary search over the
/// calendar's bounds, which are instants in the configured time zone).
fn bucket(df: DataFrame, cal: &Calendar, with_day: bool) -> LazyFrame {
    // Every fact lies in the window, so at or after the first bound: the
    // search lands past it and the index is at least 0.
    let index = |s: Series| {
        (lit(s).search_sorted(col("t"), SearchSortedSide::Right, false) - lit(1).cast(IDX_DTYPE))
            .cast(DataType::UInt32)
    };
    let mut columns =
        vec![index(Series::new("bounds".into(), &cal.period_bounds[..cal.periods()])).alias("period")];
    if with_day {
        columns.push(index(Series::new("days".into(), &cal.day_starts[..])).alias("day"));
    }
    df.lazy().with_columns(columns)
}

/// The key column of a group kind, and the offset that makes it a [`GroupKey`].
fn key_of(kind: GroupKind) -> Option<(&'static str, u64)> {
    match kind {
        GroupKind::All => None,
        GroupKind::Service => Some(("service", GroupKey::SERVICE)),
        GroupKind::Team => Some(("team", GroupKey::TEAM)),
    }
}

/// Groups `lf` by every wanted kind (and by period when `by_period`), adds
/// the `g` key, and stacks the (small) aggregated results. `inputs` are the
/// columns the aggregations read.
fn grouped(
    lf: &LazyFrame,
    opts: &Options,
    by_period: bool,
    inputs: &[&str],
    aggs: &[Agg],
) -> Result<LazyFrame> {
    let exprs: Vec<Expr> = aggs.iter().map(|(_, e)| e.clone()).collect();
    let keep = |k: Expr| -> Vec<Expr> {
        std::iter::once(k.alias("k")).chain(inputs.iter().map(|c| col(*c))).collect()
    };
    let mut parts = Vec::new();
    for kind in [GroupKind::All, GroupKind::Service, GroupKind::Team] {
        if !opts.wants(kind) {
            continue;
        }
        // One u64 key per group (and period). Sorting by it first does not
        // pay: polars drops a sort that feeds an unordered group-by, and a
        // kept one (`group_by_stable`, sorted flag) costs more than hashing.
        let period = || col("period").cast(DataType::UInt64);
        let (input, k) = match key_of(kind) {
            None => (lf.clone(), if by_period { Some(period()) } else { None }),
            Some((column, _)) => {
                let key = col(column).cast(DataType::UInt64);
                // Every row has a service; only the team can be missing.
                let input = match kind {
                    GroupKind::Team => lf.clone().filter(col(column).is_not_null()),
                    _ => lf.clone(),
                };
                (input, Some(if by_period { key * lit(1u64 << 20) + period() } else { key }))
            }
        };
        let aggregated = match k {
            None => input.select(exprs.clone()).with_column(lit(0u64).cast(DataType::UInt64).alias("k")),
            Some(k) => input.select(keep(k)).group_by([col("k")]).agg(exprs.clone()),
        };
        let (g, p) = match (key_of(kind), by_period) {
            (None, true) => (lit(GroupKey::ALL.0).cast(DataType::UInt64), col("k").cast(DataType::UInt32)),
            (None, false) => (lit(GroupKey::ALL.0).cast(DataType::UInt64), lit(0u32)),
            (Some((_, offset)), true) => (
                (col("k") / lit(1u64 << 20) + lit(offset)).cast(DataType::UInt64),
                (col("k") % lit(1u64 << 20)).cast(DataType::UInt32),
            ),
            (Some((_, offset)), false) => ((col("k") + lit(offset)).cast(DataType::UInt64), lit(0u32)),
        };
        let mut columns = vec![g.alias("g")];
        if by_period {
            columns.push(p.alias("period"));
        }
        columns.extend(aggs.iter().map(|(stat, _)| col(stat.name())));
        parts.push(aggregated.select(columns));
    }
    if parts.is_empty() {
        return Err(crate::Error::option("group-by", "no group kind chosen"));
    }
    Ok(concat(parts, UnionArgs::default())?)
}

/// The distinct (group, day) pairs with a successful deployment, of every
/// wanted group kind, with each day's period (a day lies in one period):
/// columns `g`, `day` and `period`. `days` is the number of days.
///
/// Deployments are first made distinct by (pair, day), a few rows per
/// service and day, which every kind then makes distinct by (group, day).
fn deploy_days(lf: &LazyFrame, opts: &Options, days: u64) -> Result<LazyFrame> {
    let day = || col("day").cast(DataType::UInt64);
    let pair_days = lf
        .clone()
        .filter(col("ok"))
        .group_by([(col("pair").cast(DataType::UInt64) * lit(days) + day()).alias("k")])
        .agg([col("service").first(), col("team").first(), col("day").first(), col("period").first()])
        .cache();
    let mut parts = Vec::new();
    for kind in [GroupKind::All, GroupKind::Service, GroupKind::Team] {
        if !opts.wants(kind) {
            continue;
        }
        let part = match key_of(kind) {
            None => pair_days
                .clone()
                .group_by([col("day")])
                .agg([col("period").first()])
                .with_column(lit(GroupKey::ALL.0).cast(DataType::UInt64).alias("g")),
            Some((column, offset)) => pair_days
                .clone()
                .filter(col(column).is_not_null())
                .group_by([(col(column).cast(DataType::UInt64) * lit(days) + day()).alias("k")])
                .agg([col(column).first(), col("day").first(), col("period").first()])
                .with_column((col(column).cast(DataType::UInt64) + lit(offset)).alias("g")),
        };
        parts.push(part.select([col("g"), col("day"), col("period")]));
    }
    if parts.is_empty() {
        return Err(crate::Error::option("group-by", "no group kind chosen"));
    }
    Ok(concat(parts, UnionArgs::default())?)
}

fn read_cells(
    df: &DataFrame,
    by_period: bool,
    mut put: impl FnMut(GroupKey, u32, Stat, Option<f64>),
) -> Result<()> {
    let g = df.column("g")?.u64()?.clone();
    let period = if by_period { Some(df.column("period")?.u32()?.clone()) } else { None };
    for column in df.columns() {
        let name = column.name().as_str();
        if name == "g" || name == "period" {
            continue;
        }
        let stat = Stat::of_column(name)?;
        let values = column.cast(&DataType::Float64)?;
        let values = values.f64()?;
        for (row, v) in values.iter().enumerate() {
            let key = GroupKey(g.get(row).unwrap_or_default());
            let p = period.as_ref().and_then(|p| p.get(row)).unwrap_or(0);
            put(key, p, stat, v);
        }
    }
    Ok(())
}

/// Runs `plans` with polars' in-memory engine (several at once).
fn run(plans: Vec<LazyFrame>) -> Result<Vec<DataFrame>> {
    let plans = plans.into_iter().map(|lf| lf.logical_plan).collect();
    Ok(LazyFrame::collect_all_with_engine(plans, Engine::InMemory, OptFlags::default())?)
}

/// The plans of every table but the lead times: deployments, incidents,
/// recovery and restore times, by period and for the window, then the
/// deploy days. Plans alternate, by period then for the window; the
/// (group, day) list of deploy days comes last.
fn first_plans(
    set: &EventSet,
    cls: &Classified,
    cal: &Calendar,
    opts: &Options,
    warnings: &mut Warnings,
) -> Result<Vec<LazyFrame>> {
    let (deployments, recovery) = deployment_facts(set, cls, opts)?;
    let (incidents, restore) = incident_facts(set, opts, warnings)?;
    let deployments = bucket(deployments, cal, true).cache();
    // The deployment counts by (pair, period): each group kind sums up
    // these few rows instead of grouping every deployment again.
    let periods = cal.periods().max(1) as u64;
    let counts = deployments
        .clone()
        .group_by([(col("pair").cast(DataType::UInt64) * lit(periods)
            + col("period").cast(DataType::UInt64))
        .alias("k")])
        .agg(deployment_counts())
        .cache();
    let incidents = bucket(incidents, cal, false).cache();
    let mut tables: Vec<(LazyFrame, Vec<&str>, Vec<Agg>)> = vec![
        (counts, DEPLOYMENT_COUNTS.map(Stat::name).to_vec(), deployment_aggs()),
        (incidents, vec!["resolved"], incident_aggs()),
    ];
    let values = [
        (recovery, vec![median(Stat::RecoveryMedian), p90(Stat::RecoveryP90)]),
        (restore, vec![median(Stat::RestoreMedian), p90(Stat::RestoreP90)]),
    ];
    tables.extend(values.into_iter().map(|(df, aggs)| (bucket(df, cal, false).cache(), vec!["v"], aggs)));
    let mut plans = Vec::new();
    for (lf, inputs, aggs) in &tables {
        for by_period in [true, false] {
            plans.push(grouped(lf, opts, by_period, inputs, aggs)?);
        }
    }
    // Deploy days: the distinct (group, day) pairs, counted by period and
    // for the window, then listed for the frequency band.
    let days = deploy_days(&deployments, opts, cal.day_starts.len() as u64)?.cache();
    let count = || [len().cast(DataType::UInt64).alias(Stat::DeployDays.name())];
    plans.push(days.clone().group_by([col("g"), col("period")]).agg(count()));
    plans.push(days.clone().group_by([col("g")]).agg(count()));
    plans.push(days.select([col("g"), col("day")]));
    Ok(plans)
}

/// Sets a hand-over to `None` when dropped unset (on an early return or a
/// panic), so that whoever waits for it goes on.
struct Handover<'a, T>(&'a OnceLock<Option<T>>);

impl<T> Drop for Handover<'_, T> {
    fn drop(&mut self) {
        let _ = self.0.set(None);
    }
}

/// Runs the polars stage.
pub(crate) fn aggregate(
    set: &EventSet,
    cls: &Classified,
    cal: &Calendar,
    opts: &Options,
    warnings: &mut Warnings,
) -> Result<Aggregates> {
    let names = set.names.len();
    let wants = |kind: GroupKind| opts.wants(kind).then_some(kind);
    // The lead-time statistics by selection on a second core (services,
    // then teams) while this one builds and runs the polars plans, then
    // takes `all` (laid out in row order, it is the quickest): the rows
    // are handed over once the second core has them (`None`: it failed,
    // and says why).
    let rows: OnceLock<Option<lead::ByPeriod<'_>>> = OnceLock::new();
    let lead_kinds = [wants(GroupKind::Service), wants(GroupKind::Team)];
    let (lead, (frames, all)) = parallel::join(
        || -> Result<Vec<lead::LeadCell>> {
            // Whatever happens here, even a panic, the other core stops waiting.
            let _handover = Handover(&rows);
            let lead = lead_facts(set, cls, cal, opts)?;
            // (Only this core sets the hand-over: it holds these rows.)
            let Some(lead) = rows.get_or_init(|| Some(lead)) else { return Ok(Vec::new()) };
            let (mut layout, mut cells) = (lead::Layout::default(), Vec::new());
            for kind in lead_kinds.into_iter().flatten() {
                lead.stats(kind, names, &mut layout, &mut cells);
            }
            Ok(cells)
        },
        || {
            let frames = first_plans(set, cls, cal, opts, warnings).and_then(run);
            let mut cells = Vec::new();
            if let (Some(kind), Some(lead)) = (wants(GroupKind::All), rows.wait()) {
                lead.stats(kind, names, &mut lead::Layout::default(), &mut cells);
            }
            (frames, cells)
        },
    );
    let mut frames = frames?;
    let mut out = Aggregates::default();
    for (g, period, stat, v) in lead?.into_iter().chain(all) {
        match period {
            Some(p) => out.periods.entry((g, p)).or_default().set(stat, v),
            None => out.summary.entry(g).or_default().set(stat, v),
        }
    }
    let days = frames.pop().unwrap_or_default();
    for (i, df) in frames.iter().enumerate() {
        if i % 2 == 0 {
            read_cells(df, true, |g, p, stat, v| out.periods.entry((g, p)).or_default().set(stat, v))?;
        } else {
            read_cells(df, false, |g, _, stat, v| out.summary.entry(g).or_default().set(stat, v))?;
        }
    }
    let g = days.column("g")?.u64()?;
    let d = days.column("day")?.u32()?;
    out.deploy_days = g.iter().zip(d.iter()).filter_map(|(g, d)| Some((GroupKey(g?), d?))).collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-over dropped unset (a failure or a panic on the core that
    /// should set it) releases whoever waits for it; one that was set keeps
    /// its value.
    #[test]
    fn a_handover_dropped_unset_releases_the_waiter() {
        let lock: OnceLock<Option<u32>> = OnceLock::new();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| lock.wait().is_none());
            let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _handover = Handover(&lock);
                panic!("the lead-time rows failed");
            }));
            assert!(failed.is_err());
            assert!(waiter.join().unwrap());
        });
        let lock: OnceLock<Option<u32>> = OnceLock::new();
        {
            let _handover = Handover(&lock);
            lock.get_or_init(|| Some(3));
        }
        assert_eq!(lock.wait(), &Some(3));
    }
}
