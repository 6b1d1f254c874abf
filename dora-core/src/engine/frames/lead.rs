//! Lead-time statistics by selection over sorted groups.
//!
//! The lead-time rows (one per shipped change) are the engine's largest
//! table, and every group kind needs five statistics of them (count,
//! median and p90 of the total, the median of each stage) for each period
//! and for the window.
//!
//! So the rows are laid out once per group kind, ordered by (group,
//! period) with a counting sort, as one column per value (the total, and
//! each stage where it is known) of whole microseconds: a group's values
//! are then one contiguous slice, each of its periods a slice of that, and
//! each statistic a selection (`select_nth_unstable`) over its slice, in
//! place, with polars' linear interpolation between closest ranks. A
//! [`Layout`]'s buffers can go from one group kind to the next (the engine
//! lays teams out in the services' memory; `all`, laid out in row order
//! without a sort, has its own on the other core). The tests hold every
//! cell to what polars' `group_by` computes from the same rows, bit for
//! bit. The periods themselves are bucketed by polars, as every other
//! table's.

use polars::prelude::*;

use super::stat::Stat;
use super::{GroupKey, bucket, frame, owned, seconds};
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
/// time itself when a group kind's values are laid out.
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

/// A lead time's values in microseconds: the total, then each stage
/// where known.
fn values(lt: &LeadTime) -> [Option<Micros>; 4] {
    let [coding, review, deploy] = lt.stages();
    [Some(lt.total), coding, review, deploy]
}

/// One lead-time statistic: its group, its period (`None`: the window),
/// which statistic and its value.
pub(super) type LeadCell = (GroupKey, Option<u32>, Stat, Option<f64>);

/// The value in seconds at rank `rank` (fractional: between the closest
/// ranks, as polars interpolates, `QuantileMethod::Linear`) of the values
/// of which `values` (microseconds) are those from rank `offset` on, every
/// lower one left out. `values` is reordered: the values above the lower
/// closest rank come after it.
///
/// Polars takes the quantile of the values in seconds; selecting among the
/// microseconds (plain integer compares) finds the same values, as
/// [`seconds`] keeps their order, and only those are turned into seconds
/// and interpolated, as polars does.
fn at_rank(values: &mut [Micros], rank: f64, offset: usize) -> f64 {
    let below = (rank as usize).min(offset + values.len() - 1);
    let (_, &mut lower, above) = values.select_nth_unstable(below - offset);
    let lower = seconds(lower);
    if rank.ceil() as usize == below {
        return lower;
    }
    // The next value up: the least of those above (there are some, as the
    // rank is below the last).
    let upper = above.iter().copied().min().map_or(lower, seconds);
    if lower == upper { lower } else { (rank - below as f64) * (upper - lower) + lower }
}

/// The quantile `q`, in seconds, of `values` (microseconds; `None` if
/// there are none), as polars computes it from the values in seconds: the
/// values at the closest ranks below and above `(n - 1) * q`,
/// interpolated. `values` is reordered.
pub(super) fn quantile(values: &mut [Micros], q: f64) -> Option<f64> {
    let n = values.len();
    (n > 0).then(|| at_rank(values, (n - 1) as f64 * q, 0))
}

/// The median and the p90 of `values`, each as [`quantile`] gives it;
/// the p90 is looked for among the values above the median's lower rank
/// only (the selection of the median put them there).
fn median_and_p90(values: &mut [Micros]) -> (Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let (half, tenth) = ((n - 1) as f64 * 0.5, (n - 1) as f64 * 0.9);
    let median = at_rank(values, half, 0);
    let below = half as usize;
    let p90 = if tenth as usize > below {
        at_rank(&mut values[below + 1..], tenth, below + 1)
    } else {
        at_rank(values, tenth, 0)
    };
    (Some(median), Some(p90))
}

/// The statistics of table `table` (0: the total, then each stage) over
/// `values`, one cell's worth, each handed to `put`.
fn table_stats(table: usize, values: &mut [Micros], mut put: impl FnMut(Stat, Option<f64>)) {
    if table == 0 {
        put(Stat::LeadCount, Some(values.len() as f64));
        let (median, p90) = median_and_p90(values);
        put(Stat::LeadMedian, median);
        put(Stat::LeadP90, p90);
    } else {
        put(STAGES[table - 1], quantile(values, 0.5));
    }
}

/// One group kind's values, each table (the total, then each stage where
/// known) ordered by (group, period); kept from one kind to the next so
/// that its memory is reused.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// Per table: the values (microseconds).
    values: [Vec<Micros>; 4],
    /// Per table: each value's period.
    periods: [Vec<u32>; 4],
    /// Per table: where each group's values start, then where the last ends.
    starts: [Vec<usize>; 4],
}

impl Layout {
    /// Lays `rows` (ordered by period) out as one group: each table's
    /// values in the rows' order, so by period already.
    fn lay_out_in_order(&mut self, rows: &[LeadRow], lead_times: &[LeadTime]) {
        for ((values, periods), starts) in self.values.iter_mut().zip(&mut self.periods).zip(&mut self.starts)
        {
            values.clear();
            periods.clear();
            starts.clear();
        }
        for row in rows {
            for (t, v) in values(&lead_times[row.lead as usize]).into_iter().enumerate() {
                if let Some(v) = v {
                    self.values[t].push(v);
                    self.periods[t].push(row.period);
                }
            }
        }
        for (starts, values) in self.starts.iter_mut().zip(&self.values) {
            starts.extend([0, values.len()]);
        }
    }

    /// Lays `rows` (ordered by period) out by `group` (below `groups`;
    /// `None` leaves the row out) with a stable counting sort per table,
    /// so each group's values are ordered by period.
    fn lay_out(
        &mut self,
        rows: &[LeadRow],
        lead_times: &[LeadTime],
        group: impl Fn(&LeadRow) -> Option<u32>,
        groups: usize,
    ) {
        for starts in &mut self.starts {
            starts.clear();
            starts.resize(groups + 1, 0);
        }
        for row in rows {
            if let Some(g) = group(row) {
                for (starts, v) in self.starts.iter_mut().zip(values(&lead_times[row.lead as usize])) {
                    starts[g as usize + 1] += usize::from(v.is_some());
                }
            }
        }
        for starts in &mut self.starts {
            for i in 1..starts.len() {
                starts[i] += starts[i - 1];
            }
        }
        for ((values, periods), starts) in self.values.iter_mut().zip(&mut self.periods).zip(&self.starts) {
            let len = starts[groups];
            values.clear();
            values.resize(len, 0);
            periods.clear();
            periods.resize(len, 0);
        }
        let mut next = self.starts.clone();
        for row in rows {
            let Some(g) = group(row) else { continue };
            for (t, v) in values(&lead_times[row.lead as usize]).into_iter().enumerate() {
                if let Some(v) = v {
                    let at = &mut next[t][g as usize];
                    self.values[t][*at] = v;
                    self.periods[t][*at] = row.period;
                    *at += 1;
                }
            }
        }
    }
}

/// The period of each row's time, bucketed by polars like every other table.
fn periods(t: Vec<Micros>, cal: &Calendar) -> Result<DataFrame> {
    let df = frame(vec![owned::<Int64Type>("t", t)])?;
    Ok(bucket(df, cal, false).select([col("period")]).collect()?)
}

/// The lead-time rows placed in their periods (bucketed by polars) and
/// ordered by period: each group kind's stable sort by group alone then
/// orders them by (group, period).
#[derive(Debug)]
pub(super) struct ByPeriod<'a> {
    rows: Vec<LeadRow>,
    lead_times: &'a [LeadTime],
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
        Ok(Self { rows, lead_times })
    }

    /// One group kind's lead-time statistics (the total's count, median
    /// and p90, each stage's median; by period and for the window), added
    /// to `cells`. `names` is the number of interned names; `layout` holds
    /// the values while they are selected from.
    pub fn stats(&self, kind: GroupKind, names: usize, layout: &mut Layout, cells: &mut Vec<LeadCell>) {
        let (groups, key): (usize, fn(usize) -> GroupKey) = match kind {
            GroupKind::All => {
                layout.lay_out_in_order(&self.rows, self.lead_times);
                (1, |_| GroupKey::ALL)
            }
            GroupKind::Service => {
                layout.lay_out(&self.rows, self.lead_times, |r| Some(r.service), names);
                (names, |name| GroupKey(GroupKey::SERVICE + name as u64))
            }
            GroupKind::Team => {
                let team = |r: &LeadRow| (r.team != NO_TEAM).then_some(r.team);
                layout.lay_out(&self.rows, self.lead_times, team, names);
                (names, |name| GroupKey(GroupKey::TEAM + name as u64))
            }
        };
        let Layout { values, periods, starts } = layout;
        for (table, ((values, periods), starts)) in values.iter_mut().zip(&*periods).zip(&*starts).enumerate()
        {
            for group in 0..groups {
                let (start, end) = (starts[group], starts[group + 1]);
                // `all` has its window figures even without a value (a
                // count of 0), as a plain selection over no rows gives.
                if start == end && kind != GroupKind::All {
                    continue;
                }
                let g = key(group);
                let mut at = start;
                while at < end {
                    let period = periods[at];
                    let run = periods[at..end].iter().position(|&p| p != period).unwrap_or(end - at);
                    table_stats(table, &mut values[at..at + run], |stat, v| {
                        cells.push((g, Some(period), stat, v));
                    });
                    at += run;
                }
                table_stats(table, &mut values[start..end], |stat, v| cells.push((g, None, stat, v)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::event::time::MICROS_PER_SECOND;

    /// A row for the lead time at `lead`, whose total is `lead + 1` seconds.
    fn row(service: u32, period: u32, lead: u32) -> LeadRow {
        LeadRow { service, team: NO_TEAM, period, lead }
    }

    fn lead_times(n: u32, stages: impl Fn(u32) -> [Option<Micros>; 3]) -> Vec<LeadTime> {
        (0..n).map(|i| LeadTime::new((i64::from(i) + 1) * MICROS_PER_SECOND, stages(i))).collect()
    }

    /// Cells by (group, period, statistic), values as bits (exact compares).
    type Cells = BTreeMap<(u64, Option<u32>, &'static str), Option<u64>>;

    fn cells_of(cells: &[LeadCell]) -> Cells {
        let mut out = Cells::new();
        for &(g, p, stat, v) in cells {
            let old = out.insert((g.0, p, stat.name()), v.map(f64::to_bits));
            assert!(old.is_none(), "cell twice: {g:?} {p:?} {stat:?}");
        }
        out
    }

    fn stats_of(by_period: &ByPeriod<'_>, kind: GroupKind, names: usize) -> Cells {
        let mut cells = Vec::new();
        by_period.stats(kind, names, &mut Layout::default(), &mut cells);
        cells_of(&cells)
    }

    /// The oracle: polars' `group_by` (hashing, no sorted keys) over the
    /// rows of each value, by (group, period) and by group, with its own
    /// count, median and linear p90.
    fn polars_cells(rows: &[LeadRow], lts: &[LeadTime], kind: GroupKind) -> Cells {
        let group = |r: &LeadRow| match kind {
            GroupKind::All => Some(GroupKey::ALL.0),
            GroupKind::Service => Some(GroupKey::SERVICE + u64::from(r.service)),
            GroupKind::Team => (r.team != NO_TEAM).then(|| GroupKey::TEAM + u64::from(r.team)),
        };
        let mut out = Cells::new();
        for table in 0..4 {
            let (mut g, mut p, mut v) = (Vec::new(), Vec::new(), Vec::new());
            for r in rows {
                // Polars is given the values in seconds, as the engine gave it.
                if let (Some(key), Some(value)) = (group(r), values(&lts[r.lead as usize])[table]) {
                    g.push(key);
                    p.push(r.period);
                    v.push(seconds(value));
                }
            }
            let df = DataFrame::new_infer_height(vec![
                Column::new("g".into(), g),
                Column::new("p".into(), p),
                Column::new("v".into(), v),
            ])
            .unwrap();
            let aggs = if table == 0 {
                vec![
                    col("v").count().cast(DataType::Float64).alias("lead_count"),
                    col("v").median().alias("lead_median"),
                    col("v").quantile(lit(0.9), QuantileMethod::Linear).alias("lead_p90"),
                ]
            } else {
                vec![col("v").median().alias(STAGES[table - 1].name())]
            };
            for by_period in [true, false] {
                let lf = df.clone().lazy();
                let result = match (by_period, kind) {
                    (true, _) => lf.group_by([col("g"), col("p")]).agg(aggs.clone()),
                    (false, GroupKind::All) => lf
                        .select(aggs.clone())
                        .with_column(lit(GroupKey::ALL.0).cast(DataType::UInt64).alias("g")),
                    (false, _) => lf.group_by([col("g")]).agg(aggs.clone()),
                }
                .collect()
                .unwrap();
                let keys: Vec<u64> = result.column("g").unwrap().u64().unwrap().iter().flatten().collect();
                let periods: Option<Vec<u32>> =
                    by_period.then(|| result.column("p").unwrap().u32().unwrap().iter().flatten().collect());
                for column in result.columns() {
                    let Ok(stat) = Stat::of_column(column.name().as_str()) else { continue };
                    let column = column.cast(&DataType::Float64).unwrap();
                    for (i, v) in column.f64().unwrap().iter().enumerate() {
                        let p = periods.as_ref().map(|p| p[i]);
                        out.insert((keys[i], p, stat.name()), v.map(f64::to_bits));
                    }
                }
            }
        }
        out
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
    fn the_layout_skips_unknown_stages_and_orders_by_group_then_period() {
        let s = MICROS_PER_SECOND;
        let lts = lead_times(2, |i| if i == 0 { [Some(s), None, Some(3 * s)] } else { [None; 3] });
        let mut layout = Layout::default();
        layout.lay_out(&[row(0, 1, 0), row(0, 2, 1)], &lts, |r| Some(r.service + 1), 2);
        assert_eq!(layout.values.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 0, 1]);
        assert_eq!(layout.starts[0], [0, 0, 2]);
        assert_eq!(layout.periods[0], [1, 2]);
        assert_eq!(layout.values[1], [s]);
        // Rows by period, groups interleaved: the values come out by
        // (group, period), the input order kept within a group; the same
        // layout reused for another grouping forgets the first.
        let lts = lead_times(5, |_| [None; 3]);
        let rows = [row(1, 0, 0), row(0, 1, 1), row(1, 1, 2), row(2, 1, 3), row(0, 2, 4)];
        layout.lay_out(&rows, &lts, |r| (r.service < 2).then_some(r.service), 2);
        assert_eq!(layout.starts[0], [0, 2, 4]);
        assert_eq!(layout.periods[0], [1, 2, 0, 1]);
        assert_eq!(layout.values[0], [2 * s, 5 * s, s, 3 * s]);
        assert!(layout.values[1..].iter().all(Vec::is_empty));
    }

    #[test]
    fn quantiles_interpolate_between_the_closest_ranks() {
        let s = MICROS_PER_SECOND;
        assert_eq!(quantile(&mut [], 0.5), None);
        assert_eq!(quantile(&mut [7 * s], 0.9), Some(7.0));
        assert_eq!(quantile(&mut [4 * s, s, 3 * s, 2 * s], 0.5), Some(2.5));
        assert_eq!(quantile(&mut [3 * s, s, 2 * s], 0.5), Some(2.0));
        assert_eq!(quantile(&mut [-s / 2, s / 2], 0.5), Some(0.0));
        // 10 values: rank 9 * 0.9 = 8.1, between the ninth and the tenth.
        let mut ten: Vec<Micros> = (1..=10).rev().map(|i| i * s).collect();
        let rank = 9.0 * 0.9;
        assert_eq!(quantile(&mut ten, 0.9), Some((rank - 8.0) * (10.0 - 9.0) + 9.0));
        // Both at once, the p90 among the values above the median: the same.
        for n in 0..40 {
            let mut values: Vec<Micros> = (0..n).map(|i| ((i * 37 + 11) % 23 - 5) * 300_001).collect();
            let expected = (quantile(&mut values.clone(), 0.5), quantile(&mut values.clone(), 0.9));
            assert_eq!(median_and_p90(&mut values), expected, "{n}");
        }
    }

    #[test]
    fn stats_order_rows_from_any_order_into_their_cells() {
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
        let cells = stats_of(&by_period, GroupKind::Service, 2);
        let cell = |service: u64, period: Option<u32>, name: &str| {
            cells.get(&(GroupKey::SERVICE + service, period, name)).copied().flatten().map(f64::from_bits)
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
        assert_eq!(cells, polars_cells(&by_period.rows, &lts, GroupKind::Service));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Every cell of every group kind, from rows of a few services,
        /// teams and periods with repeated and missing values, is what
        /// polars' own grouping computes, to the bit.
        #[test]
        fn stats_agree_with_polars_group_by(
            raw in prop::collection::vec(
                (0u32..4, prop::option::of(0u32..3), 0u32..5, 0i64..40, prop::array::uniform3(prop::option::of(-5i64..30))),
                0..120,
            ),
            micros in 1i64..1_000_000,
        ) {
            let lts: Vec<LeadTime> = raw
                .iter()
                .map(|&(_, _, _, total, stages)| {
                    LeadTime::new(total * micros, stages.map(|s| s.map(|s| s * micros)))
                })
                .collect();
            let mut rows: Vec<LeadRow> = raw
                .iter()
                .enumerate()
                .map(|(i, &(service, team, period, _, _))| LeadRow {
                    service,
                    team: team.map_or(NO_TEAM, |t| t + 4),
                    period,
                    lead: i as u32,
                })
                .collect();
            rows.sort_by_key(|r| r.period);
            let by_period = ByPeriod { rows, lead_times: &lts };
            // One layout for every kind in turn: whatever a layout held
            // before, a kind's cells are the same.
            let mut layout = Layout::default();
            for kind in [GroupKind::Service, GroupKind::All, GroupKind::Team] {
                let mut cells = Vec::new();
                by_period.stats(kind, 7, &mut layout, &mut cells);
                prop_assert_eq!(cells_of(&cells), polars_cells(&by_period.rows, &lts, kind), "{:?}", kind);
            }
        }
    }
}
