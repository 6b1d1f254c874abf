//! Lead-time statistics through sorted group keys.
//!
//! The lead-time rows (one per shipped change) are the engine's largest
//! table, and every group kind needs five statistics of them (count,
//! median and p90 of the total, the median of each stage) for each period
//! and for the window. Grouped by hashing, polars gathers each group's
//! values once per statistic, and a stage column holding nulls sends its
//! median down a path that sorts every group.
//!
//! So the rows are laid out once per group kind, ordered by (group,
//! period) with a counting sort, as one null-free table per value (the
//! total, and each stage where it is known). The key columns carry polars'
//! sorted flag: polars then groups by slicing, without hashing, and takes
//! each median by selection over a contiguous slice.

use polars::prelude::*;
use polars::series::IsSorted;

use super::stat::Stat;
use super::{GroupKey, bucket, f64_, frame, median, owned, p90, seconds, u64_};
use crate::engine::calendar::Calendar;
use crate::engine::classify::counting_sort;
use crate::engine::metrics::lead_time::LeadTime;
use crate::engine::options::GroupKind;
use crate::error::Result;
use crate::event::time::Micros;

/// The stage columns, in [`LeadTime::stages`] order.
const STAGES: [Stat; 3] = [Stat::Coding, Stat::Review, Stat::Deploy];

/// Marks a row without a team.
pub(super) const NO_TEAM: u32 = u32::MAX;

/// One lead time of a change shipped by a deployment finishing in the
/// window: what places it in a group and a period, and which lead time it
/// is. Rows are moved whole by the counting sort, so they are small and
/// flat (a missing team is [`NO_TEAM`]); the values are read from the lead
/// time itself when the tables are laid out.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeadRow {
    pub service: u32,
    pub team: u32,
    /// Set by [`ByPeriod::new`] from the bucketed time.
    pub period: u32,
    /// Into the lead times.
    pub lead: u32,
}

/// The lead-time rows and, beside them, when each row's deployment
/// finished (which places the row in a period).
#[derive(Debug, Default)]
pub(super) struct LeadRows {
    pub rows: Vec<LeadRow>,
    pub t: Vec<Micros>,
}

/// A lead time's values in seconds: the total, then each stage (NaN where
/// unknown; a duration never is).
fn values(lt: &LeadTime) -> [f64; 4] {
    let [coding, review, deploy] = lt.stages().map(|s| s.map_or(f64::NAN, seconds));
    [seconds(lt.total), coding, review, deploy]
}

/// How to read a lead-time plan's result back into cells.
#[derive(Debug, Clone)]
pub(super) struct LeadResult {
    kind: GroupKind,
    /// The interned name of each dense group index.
    names: std::sync::Arc<Vec<u32>>,
    /// The number of periods (keys are `group * periods + period`).
    periods: u64,
    by_period: bool,
}

impl LeadResult {
    /// Whether the result is by period (else for the window).
    pub fn by_period(&self) -> bool {
        self.by_period
    }

    fn group_key(&self, dense: u64) -> GroupKey {
        let name = || u64::from(self.names.get(dense as usize).copied().unwrap_or_default());
        match self.kind {
            GroupKind::All => GroupKey::ALL,
            GroupKind::Service => GroupKey(GroupKey::SERVICE + name()),
            GroupKind::Team => GroupKey(GroupKey::TEAM + name()),
        }
    }

    /// Calls `put(group, period, statistic, value)` for every cell of `df`
    /// (the period is 0 for the window).
    pub fn read(&self, df: &DataFrame, mut put: impl FnMut(GroupKey, u32, Stat, Option<f64>)) -> Result<()> {
        let key_column = match (self.by_period, self.kind) {
            (true, _) => Some("kp"),
            (false, GroupKind::All) => None,
            (false, _) => Some("g"),
        };
        let keys: Option<Vec<u64>> = match key_column {
            Some(name) => {
                let keys = df.column(name)?.cast(&DataType::UInt64)?;
                Some(keys.u64()?.iter().map(Option::unwrap_or_default).collect())
            }
            None => None,
        };
        for column in df.columns() {
            let name = column.name().as_str();
            if Some(name) == key_column {
                continue;
            }
            let stat = Stat::of_column(name)?;
            let values = column.cast(&DataType::Float64)?;
            for (row, v) in values.f64()?.iter().enumerate() {
                let key = keys.as_ref().map_or(0, |k| k[row]);
                let (group, period) = match (self.by_period, key_column) {
                    (true, _) => (key / self.periods, (key % self.periods) as u32),
                    (false, Some(_)) => (key, 0),
                    (false, None) => (0, 0),
                };
                put(self.group_key(group), period, stat, v);
            }
        }
        Ok(())
    }
}

/// The period of each row's time, bucketed by polars like every other table.
fn periods(t: Vec<Micros>, cal: &Calendar) -> Result<DataFrame> {
    let df = frame(vec![owned::<Int64Type>("t", t)])?;
    Ok(bucket(df, cal, false).select([col("period")]).collect()?)
}

/// Group keys: `u32` when every `group * periods + period` fits.
enum KeyColumn {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl KeyColumn {
    /// `len` zero keys, wide enough for keys up to `max`.
    fn zeroed(len: usize, max: u64) -> Self {
        if max > u64::from(u32::MAX) {
            KeyColumn::Wide(vec![0; len])
        } else {
            KeyColumn::Narrow(vec![0; len])
        }
    }

    fn set(&mut self, at: usize, k: u64) {
        match self {
            // `zeroed` chose the width that holds every key.
            KeyColumn::Narrow(v) => v[at] = k as u32,
            KeyColumn::Wide(v) => v[at] = k,
        }
    }

    fn is_sorted(&self) -> bool {
        match self {
            KeyColumn::Narrow(k) => k.is_sorted(),
            KeyColumn::Wide(k) => k.is_sorted(),
        }
    }

    /// The key column, flagged as sorted (the caller pushes keys in order).
    fn sorted_column(self, name: &str) -> Column {
        let mut s = match self {
            KeyColumn::Narrow(v) => UInt32Chunked::from_vec(name.into(), v).into_series(),
            KeyColumn::Wide(v) => UInt64Chunked::from_vec(name.into(), v).into_series(),
        };
        s.set_sorted_flag(IsSorted::Ascending);
        s.into()
    }
}

/// One table of `(kp, g, v)`: the key of (group, period), the group, a value.
struct Table {
    kp: KeyColumn,
    g: Vec<u32>,
    v: Vec<f64>,
}

impl Table {
    fn into_frame(self) -> Result<DataFrame> {
        // The sorted flags below make polars group by slices: wrong flags
        // would split groups silently.
        debug_assert!(self.g.is_sorted(), "lead-time groups out of order");
        debug_assert!(self.kp.is_sorted(), "lead-time keys out of order");
        let mut g = UInt32Chunked::from_vec("g".into(), self.g).into_series();
        g.set_sorted_flag(IsSorted::Ascending);
        frame(vec![self.kp.sorted_column("kp"), g.into(), owned::<Float64Type>("v", self.v)])
    }
}

/// The four tables of one group kind (the total, then each stage where
/// known), ordered by (group, period). `rows` are ordered by period and
/// `group` gives a row's dense group index (below `groups`; `None` leaves
/// the row out): each table is filled by a stable counting sort on the
/// group, straight from `rows`.
fn tables(
    rows: &[LeadRow],
    lead_times: &[LeadTime],
    group: impl Fn(&LeadRow) -> Option<u32>,
    groups: usize,
    periods: u64,
) -> Result<Vec<DataFrame>> {
    let values = |r: &LeadRow| values(&lead_times[r.lead as usize]);
    // Per table, where each group's rows start.
    let mut starts = [(); 4].map(|_| vec![0usize; groups + 1]);
    for row in rows {
        if let Some(g) = group(row) {
            for (starts, v) in starts.iter_mut().zip(values(row)) {
                starts[g as usize + 1] += usize::from(!v.is_nan());
            }
        }
    }
    for starts in &mut starts {
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
    }
    let max_key = (groups as u64).saturating_mul(periods);
    let mut out: Vec<Table> = starts
        .iter()
        .map(|s| {
            let len = s[groups];
            Table { kp: KeyColumn::zeroed(len, max_key), g: vec![0; len], v: vec![0.0; len] }
        })
        .collect();
    for row in rows {
        let Some(g) = group(row) else { continue };
        let kp = u64::from(g) * periods + u64::from(row.period);
        for ((table, starts), v) in out.iter_mut().zip(&mut starts).zip(values(row)) {
            if !v.is_nan() {
                let at = &mut starts[g as usize];
                table.kp.set(*at, kp);
                table.g[*at] = g;
                table.v[*at] = v;
                *at += 1;
            }
        }
    }
    out.into_iter().map(Table::into_frame).collect()
}

/// The lead-time rows placed in their periods (bucketed by polars) and
/// ordered by period: each group kind's stable sort by group alone then
/// orders them by (group, period).
#[derive(Debug)]
pub(super) struct ByPeriod<'a> {
    rows: Vec<LeadRow>,
    lead_times: &'a [LeadTime],
    periods: usize,
}

impl<'a> ByPeriod<'a> {
    /// Buckets and orders `lead` (rows of `lead_times`) by period.
    pub fn new(lead: LeadRows, lead_times: &'a [LeadTime], cal: &Calendar) -> Result<Self> {
        let LeadRows { mut rows, t } = lead;
        let periods_of = periods(t, cal)?;
        // Every row lies in the window, so every row has a period.
        let periods_of = periods_of.column("period")?.u32()?;
        debug_assert_eq!(periods_of.null_count(), 0);
        let mut at = rows.iter_mut();
        for chunk in periods_of.downcast_iter() {
            for (row, &p) in (&mut at).zip(chunk.values().iter()) {
                row.period = p;
            }
        }
        let periods = cal.periods().max(1);
        // Lead times come in deployment order, so the rows usually are in
        // period order already.
        if !rows.is_sorted_by_key(|r| r.period) {
            rows = counting_sort(&rows, periods, |r| Some(r.period));
        }
        Ok(Self { rows, lead_times, periods })
    }

    /// The polars plans of one group kind's lead-time statistics (the
    /// total's count, median and p90, each stage's median; by period and
    /// for the window), each with how to read its result. `names` is the
    /// number of interned names.
    pub fn plans(&self, kind: GroupKind, names: usize) -> Result<Vec<(LazyFrame, LeadResult)>> {
        let periods = self.periods as u64;
        let mut dense_names: Vec<u32> = Vec::new();
        let frames = match kind {
            GroupKind::All => tables(&self.rows, self.lead_times, |_| Some(0), 1, periods)?,
            _ => {
                let name_of = |r: &LeadRow| match kind {
                    GroupKind::Service => Some(r.service),
                    _ => (r.team != NO_TEAM).then_some(r.team),
                };
                // Dense group indexes, and the interned name of each.
                let mut dense = vec![u32::MAX; names];
                for name in self.rows.iter().filter_map(name_of) {
                    let d = &mut dense[name as usize];
                    if *d == u32::MAX {
                        *d = dense_names.len() as u32;
                        dense_names.push(name);
                    }
                }
                let group = |r: &LeadRow| name_of(r).map(|n| dense[n as usize]);
                tables(&self.rows, self.lead_times, group, dense_names.len(), periods)?
            }
        };
        let names = std::sync::Arc::new(dense_names);
        let total =
            vec![u64_(col("v").count(), Stat::LeadCount), median(Stat::LeadMedian), p90(Stat::LeadP90)];
        let aggs = std::iter::once(total).chain(STAGES.map(|name| vec![f64_(col("v").median(), name)]));
        let mut out = Vec::new();
        for (table, aggs) in frames.into_iter().zip(aggs) {
            let exprs: Vec<Expr> = aggs.into_iter().map(|(_, e)| e).collect();
            for by_period in [true, false] {
                let lf = table.clone().lazy();
                let plan = match (by_period, kind) {
                    (true, _) => lf.group_by([col("kp")]).agg(exprs.clone()),
                    (false, GroupKind::All) => lf.select(exprs.clone()),
                    (false, _) => lf.group_by([col("g")]).agg(exprs.clone()),
                };
                out.push((plan, LeadResult { kind, names: names.clone(), periods, by_period }));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::time::MICROS_PER_SECOND;

    /// A row for the lead time at `lead`, whose total is `lead + 1` seconds.
    fn row(service: u32, period: u32, lead: u32) -> LeadRow {
        LeadRow { service, team: NO_TEAM, period, lead }
    }

    fn lead_times(n: u32, stages: impl Fn(u32) -> [Option<Micros>; 3]) -> Vec<LeadTime> {
        (0..n).map(|i| LeadTime::new((i64::from(i) + 1) * MICROS_PER_SECOND, stages(i))).collect()
    }

    #[test]
    fn counting_sort_is_stable_and_leaves_out_rows_without_a_bucket() {
        let rows = [row(2, 0, 0), row(9, 0, 1), row(0, 0, 2), row(2, 0, 3), row(1, 0, 4)];
        let out = counting_sort(&rows, 3, |r| (r.service < 3).then_some(r.service));
        let leads: Vec<u32> = out.iter().map(|r| r.lead).collect();
        assert_eq!(leads, [2, 4, 0, 3]);
        assert!(counting_sort(&[], 3, |r: &LeadRow| Some(r.service)).is_empty());
    }

    #[test]
    fn tables_skip_unknown_stages_and_key_by_group_then_period() {
        let s = MICROS_PER_SECOND;
        let lts = lead_times(2, |i| if i == 0 { [Some(s), None, Some(3 * s)] } else { [None; 3] });
        let frames = tables(&[row(0, 1, 0), row(0, 2, 1)], &lts, |r| Some(r.service + 1), 2, 3).unwrap();
        assert_eq!(frames.iter().map(DataFrame::height).collect::<Vec<_>>(), [2, 1, 0, 1]);
        let kp: Vec<Option<u32>> = frames[0].column("kp").unwrap().u32().unwrap().iter().collect();
        assert_eq!(kp, [Some(4), Some(5)]);
        assert!(
            frames[0].column("kp").unwrap().as_materialized_series().is_sorted_flag() == IsSorted::Ascending
        );
        let coding: Vec<Option<f64>> = frames[1].column("v").unwrap().f64().unwrap().iter().collect();
        assert_eq!(coding, [Some(1.0)]);
        // Rows by period, groups interleaved: the tables come out by
        // (group, period), the input order kept within a group.
        let lts = lead_times(5, |_| [None; 3]);
        let rows = [row(1, 0, 0), row(0, 1, 1), row(1, 1, 2), row(2, 1, 3), row(0, 2, 4)];
        let frames = tables(&rows, &lts, |r| (r.service < 2).then_some(r.service), 2, 3).unwrap();
        let kp: Vec<Option<u32>> = frames[0].column("kp").unwrap().u32().unwrap().iter().collect();
        assert_eq!(kp, [Some(1), Some(2), Some(3), Some(4)]);
        let v: Vec<Option<f64>> = frames[0].column("v").unwrap().f64().unwrap().iter().collect();
        assert_eq!(v, [Some(2.0), Some(5.0), Some(1.0), Some(3.0)]);
        let g: Vec<Option<u32>> = frames[0].column("g").unwrap().u32().unwrap().iter().collect();
        assert_eq!(g, [Some(0), Some(0), Some(1), Some(1)]);
    }

    #[test]
    fn plans_order_rows_from_any_order_and_read_back_into_their_cells() {
        use chrono::{TimeZone, Utc};

        use crate::engine::options::{Period, Window};

        let s = MICROS_PER_SECOND;
        let window = Window::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 16, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let cal = Calendar::new(&window, Period::Week, chrono_tz::UTC);
        let week = |w: i64| window.since_micros() + w * 7 * 86_400 * s + s;
        // Totals 1, 2, 3, 4 s; the rows out of period order.
        let lts = lead_times(4, |i| if i == 3 { [Some(5 * s), None, None] } else { [None; 3] });
        let rows = vec![row(0, 0, 0), row(1, 0, 1), row(0, 0, 2), row(0, 0, 3)];
        let t = vec![week(1), week(0), week(0), week(1)];
        let by_period = ByPeriod::new(LeadRows { rows, t }, &lts, &cal).unwrap();
        assert!(by_period.rows.is_sorted_by_key(|r| r.period));
        let mut cells = std::collections::BTreeMap::new();
        for (plan, result) in by_period.plans(GroupKind::Service, 2).unwrap() {
            let df = plan.collect().unwrap();
            result
                .read(&df, |g, p, name, v| {
                    let p = result.by_period().then_some(p);
                    cells.insert((g.name_id(), p, name.name().to_string()), v);
                })
                .unwrap();
        }
        let cell = |service: u32, period: Option<u32>, name: &str| {
            cells.get(&(service, period, name.to_string())).copied().flatten()
        };
        assert_eq!(cell(0, Some(0), "lead_count"), Some(1.0));
        assert_eq!(cell(0, Some(0), "lead_median"), Some(3.0));
        assert_eq!(cell(0, Some(1), "lead_count"), Some(2.0));
        assert_eq!(cell(0, Some(1), "lead_median"), Some(2.5));
        assert_eq!(cell(0, Some(1), "coding"), Some(5.0));
        assert_eq!(cell(0, Some(0), "coding"), None);
        assert_eq!(cell(0, None, "lead_median"), Some(3.0));
        assert_eq!(cell(1, Some(0), "lead_median"), Some(2.0));
        assert_eq!(cell(1, None, "lead_count"), Some(1.0));
        assert_eq!(cell(1, Some(1), "lead_count"), None);
    }

    #[test]
    fn wide_keys_when_groups_times_periods_overflow_u32() {
        let lts = lead_times(2, |_| [None; 3]);
        let rows = [row(0, 0, 0), row(1, 0, 1)];
        let frames = tables(&rows, &lts, |r| Some(r.service), 2, 1 << 32).unwrap();
        let kp: Vec<Option<u64>> = frames[0].column("kp").unwrap().u64().unwrap().iter().collect();
        assert_eq!(kp, [Some(0), Some(1 << 32)]);
    }
}
