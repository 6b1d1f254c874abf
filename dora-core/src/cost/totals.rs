//! The cost of each group and period (METRICS.md section 7, "Groups"):
//! rows taken one at a time by a [`CostAccumulator`], which keeps only
//! per-group, per-period sums and the currencies seen, then checked and
//! frozen into [`CostTotals`].
//!
//! The engine's input is [`Costs`] (the field [`Options::costs`]): the
//! allocation, the `[teams]` overrides and a [`CostSource`] that feeds the
//! rows of any window the engine computes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;

use super::allocate::service_teams;
use super::prorate::{in_window, prorate};
use super::{Allocation, CostRow};
use crate::engine::calendar::Calendar;
use crate::engine::options::{GroupKind, Options};
use crate::error::{Error, Result};
use crate::event::EventSet;
use crate::event::time::{Micros, from_micros, to_micros};

/// Where the engine gets cost rows: a source feeds the rows of a window to
/// an accumulator, one at a time, so that however many rows there are, only
/// per-group, per-period sums are held.
///
/// A source must feed at least every row that is in the window `[since,
/// until)` (every row with `start < until` and `end > since`, and every
/// row with `end == start` and `since <= start < until`); rows outside it
/// may be fed too, they count nowhere. `Vec<CostRow>` and `[CostRow]` are
/// sources; a store-backed source can stream its rows (its connection
/// behind a `Mutex` to be `Sync`).
pub trait CostSource: Send + Sync {
    /// Feeds the rows of `[since, until)` to `into` ([`CostAccumulator::add`]).
    fn feed(&self, since: DateTime<Utc>, until: DateTime<Utc>, into: &mut CostAccumulator<'_>) -> Result<()>;
}

impl CostSource for [CostRow] {
    fn feed(
        &self,
        _since: DateTime<Utc>,
        _until: DateTime<Utc>,
        into: &mut CostAccumulator<'_>,
    ) -> Result<()> {
        self.iter().try_for_each(|row| into.add(row))
    }
}

impl CostSource for Vec<CostRow> {
    fn feed(&self, since: DateTime<Utc>, until: DateTime<Utc>, into: &mut CostAccumulator<'_>) -> Result<()> {
        self.as_slice().feed(since, until, into)
    }
}

/// Cost data for the engine (METRICS.md section 7): the rows' source, how
/// they are allocated to services and teams, and the `[teams]` overrides.
/// Set [`Options::costs`] to it; the metrics then carry a `cost` per period
/// and summary ([`crate::result::CostFigures`]) whenever a row lies in the
/// window.
///
/// ```
/// use dora_core::cost::{Allocation, CostRow, Costs};
/// use dora_core::{compute, EventSet, GroupKind, Options, Window};
///
/// let row = CostRow {
///     start: "2026-03-02T00:00:00Z".parse()?,
///     end: "2026-03-04T00:00:00Z".parse()?,
///     amount: 48.0,
///     currency: "EUR".into(),
///     tags: serde_json::json!({"app": "api"}).as_object().cloned(),
///     resource_id: None, resource_name: None, service_name: None, sub_account_name: None,
/// };
/// let allocation = Allocation { service_tag: Some("app".into()), ..Allocation::default() };
/// let window = Window::new("2026-03-03T00:00:00Z".parse()?, "2026-03-10T00:00:00Z".parse()?)?;
/// let mut options = Options::new(window);
/// options.costs = Some(Costs::from_rows(allocation, vec![row]));
/// let report = compute(&EventSet::new(), &options)?.report;
/// // Half the row's two days lie in the window; `api` is listed for its cost alone.
/// let api = report.group(GroupKind::Service, "api").unwrap();
/// let cost = api.summary.cost.as_ref().unwrap();
/// assert_eq!((cost.amount, cost.currency.as_str()), (24.0, "EUR"));
/// assert_eq!(cost.per_deployment, None); // no deployment
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Costs {
    /// How rows are allocated (`[finance.allocation]`).
    pub allocation: Allocation,
    /// `[teams]`: service -> team, over the team the service's events name
    /// most often (also for services with cost rows but no event).
    pub teams: BTreeMap<String, String>,
    source: Arc<dyn CostSource>,
}

impl fmt::Debug for Costs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Costs").field("allocation", &self.allocation).field("teams", &self.teams).finish()
    }
}

impl Costs {
    /// Costs read from `source`, allocated by `allocation`, no `[teams]`.
    pub fn new(allocation: Allocation, source: impl CostSource + 'static) -> Self {
        Self { allocation, teams: BTreeMap::new(), source: Arc::new(source) }
    }

    /// Costs from rows in memory (a convenience for embedders: the rows
    /// are held; see [`CostSource`] to stream them instead).
    pub fn from_rows(allocation: Allocation, rows: Vec<CostRow>) -> Self {
        Self::new(allocation, rows)
    }

    /// The same costs with `[teams]` overrides (service -> team).
    pub fn with_teams(mut self, teams: BTreeMap<String, String>) -> Self {
        self.teams = teams;
        self
    }

    /// The totals of `options`' window and periods, with teams from `set`:
    /// `None` when no row lies in the window (no cost data), an
    /// [`Error::Currencies`] when its rows are in two currencies or more.
    pub fn totals(&self, set: &EventSet, options: &Options) -> Result<Option<CostTotals>> {
        let teams = service_teams(set, &self.teams);
        let mut acc = CostAccumulator::new(options, &self.allocation, &teams);
        self.source.feed(options.window.since(), options.window.until(), &mut acc)?;
        acc.finish()
    }
}

/// Sums of cost rows per group and period, built one row at a time.
///
/// ```
/// use std::collections::BTreeMap;
/// use dora_core::cost::{Allocation, CostAccumulator, CostRow};
/// use dora_core::{GroupKind, Options, Period, Window};
///
/// let mut options = Options::new(Window::new("2026-03-02T00:00:00Z".parse()?, "2026-03-04T00:00:00Z".parse()?)?);
/// options.period = Period::Day;
/// let allocation = Allocation::default();
/// let teams = BTreeMap::new();
/// let mut acc = CostAccumulator::new(&options, &allocation, &teams);
/// acc.add(&CostRow {
///     start: "2026-03-02T12:00:00Z".parse()?, end: "2026-03-03T06:00:00Z".parse()?,
///     amount: 18.0, currency: "USD".into(), tags: None,
///     resource_id: None, resource_name: None, service_name: None, sub_account_name: None,
/// })?;
/// let totals = acc.finish()?.expect("a row in the window");
/// let unallocated = totals.group(GroupKind::Service, "unallocated").unwrap();
/// assert_eq!(unallocated.periods, vec![12.0, 6.0]); // 12 hours, then 6
/// assert_eq!(totals.group(GroupKind::All, "all").unwrap().total, 18.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CostAccumulator<'a> {
    bounds: Vec<Micros>,
    allocation: &'a Allocation,
    teams: &'a BTreeMap<String, String>,
    kinds: [bool; 3],
    all: Vec<f64>,
    services: FxHashMap<String, Vec<f64>>,
    teams_sums: FxHashMap<String, Vec<f64>>,
    currencies: BTreeSet<String>,
    rows: u64,
}

impl<'a> CostAccumulator<'a> {
    /// An empty accumulator for the window, periods and time zone of
    /// `options` (and its group kinds), allocating rows by `allocation`,
    /// with `teams` the team of each service (see
    /// [`service_teams`]).
    pub fn new(options: &Options, allocation: &'a Allocation, teams: &'a BTreeMap<String, String>) -> Self {
        let calendar = Calendar::new(&options.window, options.period, options.timezone);
        let periods = calendar.periods();
        Self {
            bounds: calendar.period_bounds,
            allocation,
            teams,
            kinds: [GroupKind::All, GroupKind::Service, GroupKind::Team]
                .map(|k| options.group_by.contains(&k)),
            all: vec![0.0; periods],
            services: FxHashMap::default(),
            teams_sums: FxHashMap::default(),
            currencies: BTreeSet::new(),
            rows: 0,
        }
    }

    /// Adds one row: its parts in the window's periods go to `all`, its
    /// service and its team (METRICS.md section 7). A row outside the
    /// window is ignored; a row whose `end` is before its `start` is an
    /// error.
    pub fn add(&mut self, row: &CostRow) -> Result<()> {
        let (start, end) = (to_micros(&row.start), to_micros(&row.end));
        if end < start {
            return Err(Error::option(
                "costs",
                format!(
                    "a cost row ends ({}) before it starts ({}); its resource: {}",
                    row.end.to_rfc3339(),
                    row.start.to_rfc3339(),
                    row.resource_id.as_deref().or(row.resource_name.as_deref()).unwrap_or("(none)")
                ),
            ));
        }
        let (since, until) = (self.bounds[0], self.bounds[self.bounds.len() - 1]);
        if !in_window(start, end, since, until) {
            return Ok(());
        }
        self.rows += 1;
        if !self.currencies.contains(&row.currency) {
            self.currencies.insert(row.currency.clone());
        }
        let parts = prorate(start, end, row.amount, &self.bounds);
        let periods = self.all.len();
        let add = |sums: &mut Vec<f64>| parts.iter().for_each(|&(p, v)| sums[p] += v);
        add(&mut self.all);
        let service = self.allocation.service_of(row);
        if self.kinds[1] {
            add(entry(&mut self.services, service, periods));
        }
        if self.kinds[2]
            && let Some(team) = self.allocation.team_of(row, service, self.teams)
        {
            add(entry(&mut self.teams_sums, team, periods));
        }
        Ok(())
    }

    /// The totals: `None` when no row was in the window (no cost data); an
    /// [`Error::Currencies`] naming them when the rows in the window are in
    /// two currencies or more (currencies are never converted).
    pub fn finish(self) -> Result<Option<CostTotals>> {
        if self.rows == 0 {
            return Ok(None);
        }
        if self.currencies.len() > 1 {
            return Err(Error::Currencies { currencies: self.currencies.into_iter().collect() });
        }
        let currency = self.currencies.into_iter().next().unwrap_or_default();
        let mut groups = BTreeMap::new();
        let mut put = |kind: GroupKind, name: String, periods: Vec<f64>| {
            groups.insert((kind, name), GroupCost { total: periods.iter().sum(), periods });
        };
        if self.kinds[0] {
            put(GroupKind::All, "all".to_string(), self.all);
        }
        self.services.into_iter().for_each(|(name, sums)| put(GroupKind::Service, name, sums));
        self.teams_sums.into_iter().for_each(|(name, sums)| put(GroupKind::Team, name, sums));
        let bounds = self.bounds.into_iter().map(from_micros).collect();
        Ok(Some(CostTotals { currency, bounds, groups }))
    }
}

fn entry<'m>(map: &'m mut FxHashMap<String, Vec<f64>>, name: &str, periods: usize) -> &'m mut Vec<f64> {
    if !map.contains_key(name) {
        map.insert(name.to_string(), vec![0.0; periods]);
    }
    map.get_mut(name).expect("inserted above")
}

/// The cost of one group: per period, and the window's sum.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCost {
    /// The sum of the parts of the group's rows in each period (0 where none falls).
    pub periods: Vec<f64>,
    /// The window's sum.
    pub total: f64,
}

/// The cost of every group with a row in the window, in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct CostTotals {
    /// The currency every row in the window is in.
    pub currency: String,
    /// The periods' bounds: period `i` is `[bounds[i], bounds[i + 1])`.
    pub bounds: Vec<DateTime<Utc>>,
    /// Per (kind, name): `all`, every service with a row in the window
    /// ([`UNALLOCATED`](super::UNALLOCATED) included) and every team with one.
    pub groups: BTreeMap<(GroupKind, String), GroupCost>,
}

impl CostTotals {
    /// The cost of one group, `None` when it has no row in the window.
    pub fn group(&self, kind: GroupKind, name: &str) -> Option<&GroupCost> {
        self.groups.get(&(kind, name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{AllocationRule, CostField, UNALLOCATED};
    use crate::engine::options::{Period, Window};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn row(start: &str, end: &str, amount: f64, currency: &str, tags: serde_json::Value) -> CostRow {
        CostRow {
            start: t(start),
            end: t(end),
            amount,
            currency: currency.into(),
            tags: tags.as_object().cloned(),
            resource_id: None,
            resource_name: None,
            service_name: None,
            sub_account_name: None,
        }
    }

    fn options() -> Options {
        Options::new(Window::new(t("2026-03-02T00:00:00Z"), t("2026-03-16T00:00:00Z")).unwrap())
    }

    fn allocation() -> Allocation {
        Allocation {
            service_tag: Some("service".into()),
            team_tag: Some("team".into()),
            rules: vec![
                AllocationRule {
                    field: CostField::ResourceName,
                    pattern: regex::Regex::new("^web-").unwrap(),
                    service: "web".into(),
                },
                AllocationRule {
                    field: CostField::ResourceName,
                    pattern: regex::Regex::new("-db$").unwrap(),
                    service: "db".into(),
                },
            ],
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn groups_sum_their_rows_and_teams_add_rows_tagged_with_them_alone() {
        let alloc = allocation();
        let teams = BTreeMap::from([
            ("api".to_string(), "core".to_string()),
            ("web".to_string(), "core".to_string()),
        ]);
        let opts = options();
        let mut acc = CostAccumulator::new(&opts, &alloc, &teams);
        let day = |d: u32| format!("2026-03-{d:02}T00:00:00Z");
        // api (tag) 10 in week 1; web (rule) 7 in week 2; web-db: the first
        // matching rule wins (web), 3 in week 2; an unallocated row tagged
        // team ops, 5 in week 1; an unallocated row with no team, 2 in week
        // 2; a row of service search (no team) tagged team core, 4 in week 1.
        acc.add(&row(&day(3), &day(4), 10.0, "USD", serde_json::json!({"service": "api", "team": "x"})))
            .unwrap();
        let mut web = row(&day(10), &day(11), 7.0, "USD", serde_json::Value::Null);
        web.resource_name = Some("web-frontend".into());
        acc.add(&web).unwrap();
        let mut web_db = row(&day(12), &day(13), 3.0, "USD", serde_json::Value::Null);
        web_db.resource_name = Some("web-db".into());
        acc.add(&web_db).unwrap();
        acc.add(&row(&day(4), &day(5), 5.0, "USD", serde_json::json!({"team": "ops"}))).unwrap();
        acc.add(&row(&day(11), &day(12), 2.0, "USD", serde_json::json!({"service": ""}))).unwrap();
        acc.add(&row(&day(5), &day(6), 4.0, "USD", serde_json::json!({"service": "search", "team": "core"})))
            .unwrap();
        // Outside the window: ignored, its currency too.
        acc.add(&row("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", 99.0, "EUR", serde_json::Value::Null))
            .unwrap();
        let totals = acc.finish().unwrap().unwrap();
        assert_eq!(totals.currency, "USD");
        let g = |k, n: &str| totals.group(k, n).map(|g| g.periods.clone());
        assert_eq!(g(GroupKind::All, "all"), Some(vec![19.0, 12.0]));
        assert_eq!(g(GroupKind::Service, "api"), Some(vec![10.0, 0.0]));
        assert_eq!(g(GroupKind::Service, "web"), Some(vec![0.0, 10.0]));
        assert_eq!(g(GroupKind::Service, "db"), None);
        assert_eq!(g(GroupKind::Service, "search"), Some(vec![4.0, 0.0]));
        assert_eq!(g(GroupKind::Service, UNALLOCATED), Some(vec![5.0, 2.0]));
        // core: api and web (its services) plus the search row tagged core.
        assert_eq!(g(GroupKind::Team, "core"), Some(vec![14.0, 10.0]));
        assert_eq!(g(GroupKind::Team, "ops"), Some(vec![5.0, 0.0]));
        assert_eq!(g(GroupKind::Team, "x"), None);
        assert_eq!(totals.group(GroupKind::Team, "core").unwrap().total, 24.0);
        assert_eq!(totals.groups.len(), 7);
    }

    #[test]
    fn rows_of_the_focus_sample_are_allocated_by_tag_and_rule() {
        // Two rows of ../shared/fixtures/peer/focus/focus_1.0_sample_dev.csv,
        // hand-copied (BilledCost): an SQS row with null tags, and a load
        // balancer row tagged application BrightLensMatrix.
        let sqs = CostRow {
            start: t("2024-09-18T22:00:00Z"),
            end: t("2024-09-18T23:00:00Z"),
            amount: 0.0000008,
            currency: "USD".into(),
            tags: None,
            resource_id: Some("arn:ats:sqs:us-test-2:347410479675:mibelllmel-i-032l64f2065481b12".into()),
            resource_name: None,
            service_name: Some("Amazon Simple Queue Service".into()),
            sub_account_name: Some("Atlas Nimbus".into()),
        };
        let elb = CostRow {
            start: t("2024-09-30T22:00:00Z"),
            end: t("2024-09-30T23:00:00Z"),
            amount: 0.0000160599,
            tags: serde_json::json!({"application": "BrightLensMatrix", "environment": "dev", "business_unit": "ViennaAI"})
                .as_object()
                .cloned(),
            service_name: Some("Elastic Load Balancing".into()),
            sub_account_name: Some("Zenith Eclipse".into()),
            ..sqs.clone()
        };
        let alloc = Allocation {
            service_tag: Some("application".into()),
            team_tag: Some("business_unit".into()),
            rules: vec![AllocationRule {
                field: CostField::ServiceName,
                pattern: regex::Regex::new("Queue").unwrap(),
                service: "queues".into(),
            }],
        };
        let teams = BTreeMap::new();
        let opts = Options::new(Window::new(t("2024-09-16T00:00:00Z"), t("2024-10-01T00:00:00Z")).unwrap());
        let mut acc = CostAccumulator::new(&opts, &alloc, &teams);
        acc.add(&sqs).unwrap();
        acc.add(&elb).unwrap();
        let totals = acc.finish().unwrap().unwrap();
        let g = |k, n: &str| totals.group(k, n).map(|g| g.periods.clone());
        assert_eq!(g(GroupKind::Service, "queues"), Some(vec![0.0000008, 0.0, 0.0]));
        assert_eq!(g(GroupKind::Service, "BrightLensMatrix"), Some(vec![0.0, 0.0, 0.0000160599]));
        // BrightLensMatrix has no team: the row's business_unit tag is its team.
        assert_eq!(g(GroupKind::Team, "ViennaAI"), Some(vec![0.0, 0.0, 0.0000160599]));
        assert!((totals.group(GroupKind::All, "all").unwrap().total - 0.0000168599).abs() < 1e-15);
    }

    #[test]
    fn two_currencies_in_the_window_are_an_error_naming_both() {
        let alloc = Allocation::default();
        let teams = BTreeMap::new();
        let opts = options();
        let mut acc = CostAccumulator::new(&opts, &alloc, &teams);
        acc.add(&row("2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z", 1.0, "USD", serde_json::Value::Null))
            .unwrap();
        // Partly inside: counts.
        acc.add(&row("2026-03-15T00:00:00Z", "2026-03-18T00:00:00Z", 1.0, "EUR", serde_json::Value::Null))
            .unwrap();
        let e = acc.finish().unwrap_err();
        assert!(matches!(&e, Error::Currencies { currencies } if currencies == &["EUR", "USD"]), "{e:?}");
        let message = e.to_string();
        assert!(
            message.contains("EUR") && message.contains("USD") && message.contains("never converts"),
            "{message}"
        );
    }

    #[test]
    fn no_row_in_the_window_is_no_cost_data() {
        let alloc = Allocation::default();
        let teams = BTreeMap::new();
        let opts = options();
        let mut acc = CostAccumulator::new(&opts, &alloc, &teams);
        acc.add(&row("2026-03-16T00:00:00Z", "2026-03-17T00:00:00Z", 1.0, "USD", serde_json::Value::Null))
            .unwrap();
        assert_eq!(acc.finish().unwrap(), None);
        let mut acc = CostAccumulator::new(&opts, &alloc, &teams);
        let backwards =
            row("2026-03-05T00:00:00Z", "2026-03-04T00:00:00Z", 1.0, "USD", serde_json::Value::Null);
        assert!(
            acc.add(&backwards).unwrap_err().to_string().contains("ends (2026-03-04T00:00:00+00:00) before")
        );
    }

    #[test]
    fn only_the_wanted_group_kinds_are_summed_and_months_are_cut_in_the_zone() {
        let alloc = Allocation::default();
        let teams = BTreeMap::new();
        let mut opts =
            Options::new(Window::new(t("2026-01-01T05:00:00Z"), t("2026-03-01T05:00:00Z")).unwrap());
        opts.period = Period::Month;
        opts.timezone = "America/New_York".parse().unwrap();
        opts.group_by = vec![GroupKind::Service];
        let mut acc = CostAccumulator::new(&opts, &alloc, &teams);
        // 2026-01-31 05:00Z to 2026-02-02 05:00Z: one New York day in each month.
        acc.add(&row(
            "2026-01-31T05:00:00Z",
            "2026-02-02T05:00:00Z",
            2.0,
            "USD",
            serde_json::json!({"team": "a"}),
        ))
        .unwrap();
        let totals = acc.finish().unwrap().unwrap();
        assert_eq!(totals.groups.len(), 1);
        let p = &totals.group(GroupKind::Service, UNALLOCATED).unwrap().periods;
        assert!(close(p[0], 1.0) && close(p[1], 1.0), "{p:?}");
    }
}
