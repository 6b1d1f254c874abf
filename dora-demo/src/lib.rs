//! # dora-demo
//!
//! A deterministic generator of realistic delivery events, for `dora demo`,
//! the bundled demo data and the benchmarks (kept out of `dora-core`: no
//! embedder needs it in the engine's API).
//!
//! [`generate`] writes `dora.events/v1` JSON Lines (METRICS.md section 1) for a
//! synthetic organisation described by a [`DemoConfig`]. The same
//! configuration always gives byte-identical output: all randomness comes from
//! a small SplitMix64 generator seeded with [`DemoConfig::seed`].
//!
//! The history is simulated day by day and service by service:
//!
//! - commits are merged during each team's working hours (weekdays dominate,
//!   a holiday lull at the turn of the year), mostly through pull requests
//!   (squash merges: `committed_at` is the merge time, `first_commit_at` is
//!   earlier), some pushed directly;
//! - deployment pipelines run at random times of the working day (or once a
//!   week for weekly services): an optional `staging` deployment, then the
//!   `production` one, sometimes failing first and retried, sometimes followed
//!   by `prod-eu`; each successful production deployment lists the changes
//!   merged since the previous one, and its `commit` is the last of them;
//! - some deployments go wrong: an incident is opened within hours (linked by
//!   `caused_by`, by `caused_by_change`, or not at all), or a canary notices;
//!   a rollback or a hotfix may follow;
//! - incidents also happen without any deployment, including on services that
//!   never deploy.
//!
//! Lines come out in chronological order of their main instant (a change's
//! `committed_at`, a deployment's `finished_at`, an incident's `opened_at`),
//! so changes always precede the deployments that list them.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};

use dora_core::{Change, Deployment, DeploymentStatus, DeploymentType, Event, Incident, PullRequest};

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// What to generate: the organisation, the period and the rates.
///
/// [`DemoConfig::demo`] and [`DemoConfig::benchmark`] are the two presets;
/// any field may be changed afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Seed of the pseudo-random generator; the same configuration always
    /// produces the same bytes.
    pub seed: u64,
    /// Number of services that deploy.
    pub services: usize,
    /// Number of teams. Services are assigned by [`team_of_service`](Self::team_of_service)
    /// where it has an entry, else round-robin.
    pub teams: usize,
    /// The first instant of the generated history (normally a midnight UTC).
    pub start: DateTime<Utc>,
    /// Length of the history in days; nothing at or after `start + days` is written.
    pub days: u32,
    /// Mean successful production deployments per service per working day,
    /// over the services that deploy continuously (weekly services deploy
    /// once a week whatever this is). Per-service rates vary around it. This
    /// is the rate of pipeline runs: a run that finds nothing to ship waits
    /// for the next merge of the day, and runs do not overlap, so the realised
    /// rate is somewhat lower (about 0.9 of it in the benchmark preset).
    pub deploys_per_service_per_day: f64,
    /// Mean number of changes merged per production deployment.
    pub changes_per_deployment: f64,
    /// Probability that a production deployment attempt fails (and is retried).
    pub failure_rate: f64,
    /// Probability that a successful production deployment causes an incident.
    pub incident_rate: f64,
    /// Probability that a successful production deployment is rolled back or
    /// hotfixed without any incident (a canary or a health check noticed).
    pub rework_rate: f64,
    /// Incidents per service per day that no deployment caused (for the
    /// services that deploy and for the incident-only ones alike).
    pub background_incidents_per_service_per_day: f64,
    /// Share of changes that go through a pull request (varies per service).
    pub pull_request_share: f64,
    /// Share of changes that carry an `authored_at` earlier than `committed_at`.
    pub authored_share: f64,
    /// Share of services whose production deployments are preceded by a
    /// `staging` deployment of the same changes.
    pub staging_share: f64,
    /// Share of services that also deploy to `prod-eu` after `production`.
    pub prod_eu_share: f64,
    /// Share of services whose events come from GitLab rather than GitHub.
    pub gitlab_share: f64,
    /// Share of services that deploy once a week.
    pub weekly_share: f64,
    /// Probability that a pipeline run with nothing new to ship still
    /// redeploys (a deployment that lists no changes).
    pub redeploy_share: f64,
    /// Share of incidents opened in the last three weeks that stay unresolved
    /// (incidents whose resolution would fall after the end are unresolved too).
    pub unresolved_share: f64,
    /// Number of extra services that have incidents but never deploy.
    pub incident_only_services: usize,
    /// Names of the services (deploying ones first, then incident-only ones);
    /// missing names are generated.
    pub service_names: Vec<String>,
    /// Names of the teams; missing names are generated.
    pub team_names: Vec<String>,
    /// Relative deployment rates of the deploying services; missing weights
    /// are drawn from a log-normal distribution. Weights are normalised so
    /// that their mean over the continuously deploying services is 1.
    pub service_weights: Vec<f64>,
    /// The team (an index into the teams) of each service, deploying ones
    /// first, then incident-only ones; services past its end are assigned
    /// round-robin.
    pub team_of_service: Vec<usize>,
    /// The organisation in repository names (`github:<org>/<service>:deployment:<n>`).
    pub organization: String,
    /// How the lines are written: dora's own compact form, or as other
    /// programs write the same events ([`DemoStyle`]).
    pub style: DemoStyle,
}

/// How [`generate`] writes its lines. Both styles hold the same events: a
/// reader gets identical event sets from either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoStyle {
    /// dora's own output: compact, keys in the schema's order, times in UTC
    /// with `Z`, absent fields left out.
    #[default]
    Dora,
    /// As other programs write the same events (Python's `json.dumps`, a
    /// JavaScript exporter): a space after `:` and `,`, `kind` first and
    /// the other keys in another order, `null` for absent fields, fields
    /// dora does not know (a nested `pipeline` object, `labels`, `author`,
    /// ...), and times with offsets (`+05:30`, `-05:00`, `+00:00`) or
    /// fractional seconds (`.000Z`), by service.
    Foreign,
}

impl Default for DemoConfig {
    /// The [`demo`](DemoConfig::demo) preset.
    fn default() -> Self {
        Self::demo()
    }
}

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("valid preset date")
}

impl DemoConfig {
    /// A small, readable organisation: six services, three teams, 26 weeks
    /// from 2026-05-25 to 2026-11-23 (a Monday); a few thousand lines.
    ///
    /// `commerce` owns `checkout`, `payments` and `catalog`; `platform` owns
    /// `search`, `identity` (which deploys weekly) and `edge-proxy` (which
    /// never deploys but has incidents); `growth` owns only `notifications`.
    pub fn demo() -> Self {
        let names = ["checkout", "payments", "search", "catalog", "identity", "notifications", "edge-proxy"];
        DemoConfig {
            seed: 20_260_525,
            services: 6,
            teams: 3,
            start: utc(2026, 5, 25),
            days: 26 * 7,
            deploys_per_service_per_day: 1.6,
            changes_per_deployment: 1.8,
            failure_rate: 0.04,
            incident_rate: 0.08,
            rework_rate: 0.02,
            background_incidents_per_service_per_day: 0.02,
            pull_request_share: 0.85,
            authored_share: 0.35,
            staging_share: 0.7,
            prod_eu_share: 0.34,
            gitlab_share: 0.34,
            weekly_share: 0.2,
            redeploy_share: 0.04,
            unresolved_share: 0.35,
            incident_only_services: 1,
            service_names: names.iter().map(|s| s.to_string()).collect(),
            team_names: ["commerce", "platform", "growth"].iter().map(|s| s.to_string()).collect(),
            // checkout many times a day, identity weekly (its weight is unused).
            service_weights: vec![4.0, 1.2, 1.6, 0.7, 0.2, 0.5],
            team_of_service: vec![0, 0, 1, 0, 1, 2, 1],
            organization: "acme".to_string(),
            style: DemoStyle::Dora,
        }
    }

    /// A large organisation for benchmarks: 200 services, 40 teams, one year
    /// from 2025-11-24 (364 days). About 590 thousand deployments, 1.2 million
    /// changes and 70 thousand incidents.
    pub fn benchmark() -> Self {
        DemoConfig {
            seed: 20_251_124,
            services: 200,
            teams: 40,
            start: utc(2025, 11, 24),
            days: 364,
            deploys_per_service_per_day: 8.7,
            changes_per_deployment: 2.8,
            failure_rate: 0.04,
            incident_rate: 0.13,
            rework_rate: 0.02,
            background_incidents_per_service_per_day: 0.35,
            pull_request_share: 0.85,
            authored_share: 0.35,
            staging_share: 0.5,
            prod_eu_share: 0.08,
            gitlab_share: 0.08,
            weekly_share: 0.06,
            redeploy_share: 0.02,
            unresolved_share: 0.1,
            incident_only_services: 4,
            service_names: Vec::new(),
            team_names: Vec::new(),
            service_weights: Vec::new(),
            team_of_service: Vec::new(),
            organization: "acme".to_string(),
            style: DemoStyle::Dora,
        }
    }
}

/// How many events [`generate`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoStats {
    /// Deployment lines (all environments and statuses).
    pub deployments: u64,
    /// Change lines.
    pub changes: u64,
    /// Incident lines.
    pub incidents: u64,
    /// All lines written.
    pub lines: u64,
}

/// Writes the events of `config` to `out` as JSON Lines, one event per line,
/// in chronological order, and returns how many of each kind it wrote.
///
/// The output is buffered internally; the same configuration always gives the
/// same bytes.
pub fn generate<W: Write>(config: &DemoConfig, out: W) -> io::Result<DemoStats> {
    let mut sim = Sim::new(config);
    let mut out = Out::new(config, &sim.services, &sim.team_names, out);
    let start = config.start.timestamp();
    let end = start + i64::from(config.days) * DAY;
    for day in 0..i64::from(config.days) {
        let day_start = start + day * DAY;
        sim.simulate_day(day_start, end);
        out.flush_before(&mut sim.queue, day_start + DAY, end)?;
    }
    out.flush_before(&mut sim.queue, end, end)?;
    out.finish()
}

// ---------------------------------------------------------------------------
// Pseudo-random numbers

/// The SplitMix64 finaliser: a bijection on `u64` with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 with the few distributions the simulation needs.
#[derive(Debug, Clone)]
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng { state: mix64(seed ^ 0x6A09_E667_F3BC_C909) }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// Uniform in `[0, 1)`.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[lo, hi)` (`lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { lo + (self.next_u64() % (hi - lo) as u64) as i64 }
    }

    fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Box-Muller, one value per call).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and shape.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// A log-normal duration in whole seconds, clamped to `[min, max]`.
    fn duration(&mut self, median: f64, sigma: f64, min: i64, max: i64) -> i64 {
        (self.lognormal(median, sigma).round() as i64).clamp(min, max)
    }

    /// Poisson-distributed count.
    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            0
        } else if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.uniform();
            while p > limit {
                k += 1;
                p *= self.uniform();
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u32
        }
    }

    /// An index drawn with the given cumulative weights.
    fn weighted(&mut self, cumulative: &[f64]) -> usize {
        let x = self.uniform() * cumulative.last().copied().unwrap_or(0.0);
        cumulative.partition_point(|&c| c <= x).min(cumulative.len().saturating_sub(1))
    }

    fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64) as usize]
    }
}

// ---------------------------------------------------------------------------
// Simulation

/// A commit SHA.
type Sha = [u8; 20];

/// Local working hours from 08:00 to 21:00, relative weights per hour.
const MERGE_HOURS: [f64; 13] = [0.3, 0.8, 1.0, 1.0, 0.6, 0.8, 1.0, 1.0, 0.8, 0.5, 0.25, 0.12, 0.06];
const DEPLOY_HOURS: [f64; 13] = [0.1, 0.5, 1.0, 1.0, 0.7, 0.8, 1.0, 1.0, 0.8, 0.5, 0.2, 0.08, 0.03];

/// UTC offsets (hours) of the teams' working days, cycled: central Europe, US
/// east, UK, eastern Europe, US west.
const TEAM_OFFSETS: [i64; 6] = [1, -5, 0, 2, -8, 1];

const DOMAINS: [&str; 25] = [
    "accounts",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "content",
    "coupons",
    "delivery",
    "email",
    "fraud",
    "gateway",
    "identity",
    "inventory",
    "invoices",
    "ledger",
    "loyalty",
    "media",
    "orders",
    "payments",
    "pricing",
    "profile",
    "ratings",
    "returns",
    "search",
    "shipping",
];
const KINDS: [&str; 8] = ["api", "worker", "web", "events", "sync", "admin", "jobs", "store"];
const TEAMS: [&str; 40] = [
    "atlas", "beacon", "comet", "delta", "ember", "falcon", "glacier", "harbor", "indigo", "jade", "kestrel",
    "lumen", "meridian", "nova", "orbit", "pioneer", "quartz", "raven", "sierra", "tundra", "umbra",
    "vertex", "willow", "xenon", "yonder", "zephyr", "aurora", "basalt", "cobalt", "dune", "echo", "fjord",
    "granite", "helix", "iris", "juniper", "krypton", "lotus", "mosaic", "nimbus",
];

fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

/// Whether item `i` is among an evenly spread `share` of the items (`offset`,
/// in `[0, 1)`, shifts which ones).
fn spread(i: usize, share: f64, offset: f64) -> bool {
    let f = |k: usize| (k as f64 * share + offset).floor();
    f(i + 1) > f(i)
}

/// Activity factors of a UTC date: (deployments, merges).
fn day_factors(date: NaiveDate) -> (f64, f64) {
    let (mut d, mut c) = match date.weekday() {
        Weekday::Sat | Weekday::Sun => (0.03, 0.08),
        Weekday::Fri => (0.7, 0.9),
        _ => (1.0, 1.0),
    };
    let holiday = (date.month() == 12 && date.day() >= 24) || (date.month() == 1 && date.day() == 1);
    if holiday {
        d *= 0.15;
        c *= 0.2;
    }
    (d, c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    Production,
    ProdEu,
    Staging,
}

impl Env {
    fn as_str(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::ProdEu => "prod-eu",
            Env::Staging => "staging",
        }
    }
}

#[derive(Debug)]
struct PrRec {
    first_commit: i64,
    opened: i64,
}

#[derive(Debug)]
struct ChangeRec {
    svc: u32,
    sha: Sha,
    authored: Option<i64>,
    /// The pull request; it was merged at the change's time, and its number
    /// is assigned when the line is written (so that numbers increase).
    pr: Option<PrRec>,
}

#[derive(Debug)]
struct DeployRec {
    svc: u32,
    number: u64,
    env: Env,
    started: i64,
    failed: bool,
    kind: DeploymentType,
    commit: Option<Sha>,
    changes: Vec<Sha>,
    remediates: Option<u64>,
}

#[derive(Debug)]
struct IncidentRec {
    svc: u32,
    resolved: Option<i64>,
    /// The number of a production deployment of the same service.
    caused_by: Option<u64>,
    caused_by_change: Option<Sha>,
    severity: u8,
}

#[derive(Debug)]
enum Rec {
    Change(ChangeRec),
    Deploy(DeployRec),
    Incident(IncidentRec),
}

/// An event waiting to be written at `time` (ties broken by `seq`).
#[derive(Debug)]
struct Pending {
    time: i64,
    seq: u64,
    rec: Rec,
}

#[derive(Debug)]
struct Svc {
    name: String,
    team: usize,
    source: &'static str,
    deploys: bool,
    weekly: bool,
    /// Successful production deployments per working day.
    rate: f64,
    /// Merges per working day.
    change_rate: f64,
    staging: bool,
    prod_eu: bool,
    pr_share: f64,
    /// Seconds after UTC midnight of the team's local 08:00.
    window_start: i64,
    // State.
    next_deploy: u64,
    /// Merged, not yet shipped by a successful production deployment.
    pending: Vec<Sha>,
    /// Today's merges, in time order; those before `today_pos` are pending.
    today: Vec<(i64, Sha)>,
    today_pos: usize,
    /// The revision in production, and the one before it.
    commit: Option<Sha>,
    prev_commit: Option<Sha>,
    /// No pipeline starts before this instant.
    busy_until: i64,
}

struct Sim<'a> {
    cfg: &'a DemoConfig,
    rng: Rng,
    services: Vec<Svc>,
    team_names: Vec<String>,
    sha_counter: u64,
    sha_key: u64,
    seq: u64,
    queue: Vec<Pending>,
    merge_cum: Vec<f64>,
    deploy_cum: Vec<f64>,
    scratch: Vec<i64>,
    end: i64,
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a DemoConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let teams = cfg.teams.max(1);
        let team_names: Vec<String> = (0..teams)
            .map(|t| match cfg.team_names.get(t) {
                Some(n) => n.clone(),
                None if t < TEAMS.len() => TEAMS[t].to_string(),
                None => format!("team-{t}"),
            })
            .collect();
        let total = cfg.services + cfg.incident_only_services;
        let mut services = Vec::with_capacity(total);
        for i in 0..total {
            let deploys = i < cfg.services;
            let name = match cfg.service_names.get(i) {
                Some(n) => n.clone(),
                None if deploys => {
                    let base = format!(
                        "{}-{}",
                        DOMAINS[i % DOMAINS.len()],
                        KINDS[(i / DOMAINS.len()) % KINDS.len()]
                    );
                    let round = i / (DOMAINS.len() * KINDS.len());
                    if round == 0 { base } else { format!("{base}-{}", round + 1) }
                }
                None => {
                    let k = i - cfg.services;
                    let base = format!("legacy-{}", DOMAINS[k % DOMAINS.len()]);
                    if k < DOMAINS.len() { base } else { format!("{base}-{}", k / DOMAINS.len() + 1) }
                }
            };
            let team = cfg.team_of_service.get(i).copied().unwrap_or(i % teams) % teams;
            let weekly = deploys && spread(i, cfg.weekly_share, 0.1);
            let weight = cfg
                .service_weights
                .get(i)
                .copied()
                .unwrap_or_else(|| rng.lognormal(1.0, 0.9).clamp(0.05, 4.0));
            let offset = TEAM_OFFSETS[team % TEAM_OFFSETS.len()];
            services.push(Svc {
                name,
                team,
                source: if spread(i, cfg.gitlab_share, 0.0) { "gitlab" } else { "github" },
                deploys,
                weekly,
                rate: weight,
                change_rate: 0.0,
                staging: deploys && spread(i, cfg.staging_share, 0.5),
                prod_eu: deploys && spread(i, cfg.prod_eu_share, 0.65),
                pr_share: (cfg.pull_request_share + (rng.uniform() - 0.5) * 0.2).clamp(0.0, 1.0),
                window_start: (8 - offset) * HOUR,
                next_deploy: rng.range(100, 5000) as u64,
                pending: Vec::new(),
                today: Vec::new(),
                today_pos: 0,
                commit: None,
                prev_commit: None,
                busy_until: i64::MIN,
            });
        }
        // Normalise the weights of the continuously deploying services.
        let continuous: Vec<f64> =
            services.iter().filter(|s| s.deploys && !s.weekly).map(|s| s.rate).collect();
        let mean = if continuous.is_empty() {
            1.0
        } else {
            continuous.iter().sum::<f64>() / continuous.len() as f64
        };
        for s in &mut services {
            if !s.deploys {
                s.rate = 0.0;
            } else if s.weekly {
                s.rate = 0.2;
                s.change_rate = 0.6 * cfg.changes_per_deployment * rng.lognormal(1.0, 0.25);
            } else {
                s.rate *= cfg.deploys_per_service_per_day / mean;
                s.change_rate = s.rate * cfg.changes_per_deployment * rng.lognormal(1.0, 0.25);
            }
        }
        let sha_key = rng.next_u64();
        Sim {
            cfg,
            rng,
            services,
            team_names,
            sha_counter: 0,
            sha_key,
            seq: 0,
            queue: Vec::new(),
            merge_cum: cumulative(&MERGE_HOURS),
            deploy_cum: cumulative(&DEPLOY_HOURS),
            scratch: Vec::new(),
            end: i64::MAX,
        }
    }

    fn push(&mut self, time: i64, rec: Rec) {
        self.seq += 1;
        self.queue.push(Pending { time, seq: self.seq, rec });
    }

    /// A new SHA: the first 8 bytes are a bijection of a counter (so SHAs are
    /// unique), the rest is random.
    fn next_sha(&mut self) -> Sha {
        self.sha_counter += 1;
        let mut sha = [0u8; 20];
        sha[..8].copy_from_slice(&mix64(self.sha_counter ^ self.sha_key).to_be_bytes());
        sha[8..16].copy_from_slice(&self.rng.next_u64().to_be_bytes());
        sha[16..].copy_from_slice(&self.rng.next_u64().to_be_bytes()[..4]);
        sha
    }

    /// A time in the working hours (local 08:00 to 21:00) of a service's day,
    /// weighted by the hour of merges or of deployments.
    fn work_time(&mut self, day_start: i64, window_start: i64, deploy: bool) -> i64 {
        let cum = if deploy { &self.deploy_cum } else { &self.merge_cum };
        let hour = self.rng.weighted(cum) as i64;
        day_start + window_start + hour * HOUR + self.rng.range(0, HOUR)
    }

    fn simulate_day(&mut self, day_start: i64, end: i64) {
        self.end = end;
        let date = DateTime::from_timestamp(day_start, 0).expect("time in range").date_naive();
        let (fd, fc) = day_factors(date);
        let weekday = date.weekday();
        for s in 0..self.services.len() {
            if self.services[s].deploys {
                self.service_day(s, day_start, fd, fc, weekday);
            }
            let n = self.rng.poisson(self.cfg.background_incidents_per_service_per_day);
            for _ in 0..n {
                self.background_incident(s, day_start);
            }
        }
    }

    fn service_day(&mut self, s: usize, day_start: i64, fd: f64, fc: f64, weekday: Weekday) {
        // Yesterday's merges after the last pipeline are still pending.
        let svc = &mut self.services[s];
        let pos = svc.today_pos;
        svc.pending.extend(svc.today.drain(pos..).map(|(_, sha)| sha));
        svc.today.clear();
        svc.today_pos = 0;
        let window_start = svc.window_start;
        let change_rate = svc.change_rate;
        let (weekly, rate) = (svc.weekly, svc.rate);

        // Merges.
        let mut times = std::mem::take(&mut self.scratch);
        times.clear();
        for _ in 0..self.rng.poisson(change_rate * fc) {
            let t = self.work_time(day_start, window_start, false);
            times.push(t);
        }
        times.sort_unstable();
        for &t in &times {
            let sha = self.change(s, t, false);
            self.services[s].today.push((t, sha));
        }

        // Pipeline runs.
        times.clear();
        if weekly {
            if weekday == Weekday::Wed && fd >= 0.5 {
                times.push(day_start + window_start + 6 * HOUR + self.rng.range(0, 2 * HOUR));
            }
        } else {
            for _ in 0..self.rng.poisson(rate * fd) {
                let t = self.work_time(day_start, window_start, true);
                times.push(t);
            }
            times.sort_unstable();
        }
        let last_start = day_start + window_start + 14 * HOUR;
        let day_end = day_start + DAY + window_start;
        for &slot in &times {
            let mut t = slot.max(self.services[s].busy_until);
            self.absorb(s, t);
            let svc = &self.services[s];
            if svc.pending.is_empty() && !self.rng.bernoulli(self.cfg.redeploy_share) {
                // Nothing to ship yet: the run waits for the next merge's build.
                match svc.today.get(svc.today_pos) {
                    Some(&(merged, _)) => t = t.max(merged + self.rng.range(4 * MINUTE, 20 * MINUTE)),
                    None => continue,
                }
            }
            if t > last_start {
                break;
            }
            self.pipeline(s, t, day_end);
        }
        self.scratch = times;
    }

    /// Creates a change merged at `t` and returns its SHA.
    fn change(&mut self, s: usize, t: i64, hotfix: bool) -> Sha {
        let sha = self.next_sha();
        let pr_share = if hotfix { 0.7 } else { self.services[s].pr_share };
        let (authored, pr) = if self.rng.bernoulli(pr_share) {
            let (review, coding) = if hotfix {
                (self.rng.duration(600.0, 0.5, 60, 2 * HOUR), self.rng.duration(900.0, 0.6, 60, 4 * HOUR))
            } else {
                (
                    self.rng.duration(2.5 * HOUR as f64, 1.1, 2 * MINUTE, 14 * DAY),
                    self.rng.duration(5.0 * HOUR as f64, 1.2, MINUTE, 30 * DAY),
                )
            };
            let opened = t - review;
            let first_commit = opened - coding;
            let authored = self
                .rng
                .bernoulli(self.cfg.authored_share)
                .then(|| first_commit + self.rng.range(0, coding + 1));
            (authored, Some(PrRec { first_commit, opened }))
        } else {
            let authored = self
                .rng
                .bernoulli(self.cfg.authored_share)
                .then(|| t - self.rng.duration(1800.0, 1.0, 1, 3 * DAY));
            (authored, None)
        };
        self.push(t, Rec::Change(ChangeRec { svc: s as u32, sha, authored, pr }));
        sha
    }

    /// Moves today's merges before `t` into the pending changes.
    fn absorb(&mut self, s: usize, t: i64) {
        let svc = &mut self.services[s];
        while let Some(&(m, sha)) = svc.today.get(svc.today_pos) {
            if m >= t {
                break;
            }
            svc.pending.push(sha);
            svc.today_pos += 1;
        }
    }

    fn next_number(&mut self, s: usize) -> u64 {
        let svc = &mut self.services[s];
        svc.next_deploy += 1;
        svc.next_deploy
    }

    fn deploy(&mut self, finished: i64, rec: DeployRec) {
        self.push(finished, Rec::Deploy(rec));
    }

    /// One pipeline run starting at `t0`: staging, production (maybe a failed
    /// attempt first), prod-eu, and what may go wrong afterwards.
    fn pipeline(&mut self, s: usize, t0: i64, day_end: i64) {
        self.absorb(s, t0);
        let svc = &self.services[s];
        let (staging, prod_eu) = (svc.staging, svc.prod_eu);
        if svc.pending.is_empty() {
            // A manual redeploy: nothing new, no changes listed.
            let commit = svc.commit;
            let started = t0 + self.rng.range(20, 180);
            let finished = started + self.rng.duration(360.0, 0.35, 60, HOUR);
            let number = self.next_number(s);
            self.deploy(
                finished,
                DeployRec {
                    svc: s as u32,
                    number,
                    env: Env::Production,
                    started,
                    failed: false,
                    kind: DeploymentType::Regular,
                    commit,
                    changes: Vec::new(),
                    remediates: None,
                },
            );
            self.services[s].busy_until = finished + 2 * MINUTE;
            return;
        }
        let batch = std::mem::take(&mut self.services[s].pending);
        let head = batch.last().copied();
        let mut t = t0 + self.rng.range(20, 180);
        let mk = |number, env, started, failed, kind, changes: &[Sha]| DeployRec {
            svc: s as u32,
            number,
            env,
            started,
            failed,
            kind,
            commit: head,
            changes: changes.to_vec(),
            remediates: None,
        };
        if staging {
            let mut finished = t + self.rng.duration(270.0, 0.35, 60, HOUR);
            if self.rng.bernoulli(0.03) {
                let number = self.next_number(s);
                self.deploy(finished, mk(number, Env::Staging, t, true, DeploymentType::Regular, &batch));
                t = finished + self.rng.duration(900.0, 0.5, 60, 3 * HOUR);
                finished = t + self.rng.duration(270.0, 0.35, 60, HOUR);
            }
            let number = self.next_number(s);
            self.deploy(finished, mk(number, Env::Staging, t, false, DeploymentType::Regular, &batch));
            t = finished + self.rng.duration(300.0, 0.8, 30, 4 * HOUR);
        }
        let mut finished = t + self.rng.duration(360.0, 0.35, 60, HOUR);
        if self.rng.bernoulli(self.cfg.failure_rate) {
            let number = self.next_number(s);
            self.deploy(finished, mk(number, Env::Production, t, true, DeploymentType::Regular, &batch));
            t = finished + self.rng.duration(1800.0, 0.7, 5 * MINUTE, 8 * HOUR);
            finished = t + self.rng.duration(360.0, 0.35, 60, HOUR);
        }
        let number = self.next_number(s);
        self.deploy(finished, mk(number, Env::Production, t, false, DeploymentType::Regular, &batch));
        let mut busy = finished;
        if prod_eu {
            let started = finished + self.rng.duration(900.0, 0.5, 60, 2 * HOUR);
            let eu_finished = started + self.rng.duration(360.0, 0.35, 60, HOUR);
            let eu = self.next_number(s);
            self.deploy(eu_finished, mk(eu, Env::ProdEu, started, false, DeploymentType::Regular, &batch));
            busy = eu_finished;
        }
        let svc = &mut self.services[s];
        svc.prev_commit = svc.commit;
        svc.commit = head;
        svc.busy_until = busy + MINUTE;

        let u = self.rng.uniform();
        if u < self.cfg.incident_rate {
            self.deployment_incident(s, number, finished, &batch, day_end);
        } else if u < self.cfg.incident_rate + self.cfg.rework_rate {
            let t = finished + self.rng.duration(1200.0, 0.6, 2 * MINUTE, 4 * HOUR);
            let hotfix = self.rng.bernoulli(0.4);
            self.remediate(s, number, finished, t, hotfix, day_end);
        }
    }

    /// A rollback or a hotfix of production deployment `bad` (finished at
    /// `bad_finished`) starting at `t0`; returns when it finished.
    fn remediate(
        &mut self,
        s: usize,
        bad: u64,
        bad_finished: i64,
        t0: i64,
        hotfix: bool,
        day_end: i64,
    ) -> i64 {
        let number = self.next_number(s);
        let finished;
        if hotfix && t0 < day_end {
            let merged = (t0 - self.rng.range(3 * MINUTE, 15 * MINUTE)).max(bad_finished + MINUTE);
            let t0 = t0.max(merged + MINUTE);
            self.absorb(s, merged);
            let sha = self.change(s, merged, true);
            let mut changes = std::mem::take(&mut self.services[s].pending);
            changes.push(sha);
            finished = t0 + self.rng.duration(300.0, 0.35, 60, HOUR);
            let remediates = self.rng.bernoulli(0.5).then_some(bad);
            self.deploy(
                finished,
                DeployRec {
                    svc: s as u32,
                    number,
                    env: Env::Production,
                    started: t0,
                    failed: false,
                    kind: DeploymentType::Hotfix,
                    commit: Some(sha),
                    changes,
                    remediates,
                },
            );
            let svc = &mut self.services[s];
            svc.prev_commit = svc.commit;
            svc.commit = Some(sha);
        } else {
            finished = t0 + self.rng.duration(200.0, 0.35, 60, HOUR);
            let svc = &mut self.services[s];
            let commit = svc.prev_commit;
            svc.commit = commit;
            self.deploy(
                finished,
                DeployRec {
                    svc: s as u32,
                    number,
                    env: Env::Production,
                    started: t0,
                    failed: false,
                    kind: DeploymentType::Rollback,
                    commit,
                    changes: Vec::new(),
                    remediates: None,
                },
            );
        }
        let svc = &mut self.services[s];
        svc.busy_until = svc.busy_until.max(finished + 2 * MINUTE);
        finished
    }

    fn severity(&mut self, background: bool) -> u8 {
        let u = self.rng.uniform();
        let (p1, p2) = if background { (0.05, 0.25) } else { (0.1, 0.4) };
        if u < p1 {
            1
        } else if u < p2 {
            2
        } else {
            3
        }
    }

    /// How long an incident of `severity` takes to resolve without a deployment.
    fn resolution(&mut self, severity: u8) -> i64 {
        let median = match severity {
            1 => 1.5 * HOUR as f64,
            2 => 3.0 * HOUR as f64,
            _ => 6.0 * HOUR as f64,
        };
        self.rng.duration(median, 1.4, 3 * MINUTE, 14 * DAY)
    }

    fn unresolved(&mut self, opened: i64) -> bool {
        opened >= self.end - 21 * DAY && self.rng.bernoulli(self.cfg.unresolved_share)
    }

    /// An incident caused by production deployment `number`.
    fn deployment_incident(&mut self, s: usize, number: u64, finished: i64, batch: &[Sha], day_end: i64) {
        let opened = finished + self.rng.duration(40.0 * MINUTE as f64, 1.0, MINUTE, 2 * DAY);
        let severity = self.severity(false);
        let u = self.rng.uniform();
        let (caused_by, caused_by_change) = if u < 0.15 {
            (Some(number), None)
        } else if u < 0.27 && !batch.is_empty() {
            (None, Some(*self.rng.choose(batch)))
        } else {
            (None, None)
        };
        let u = self.rng.uniform();
        let resolved = if u < 0.5 {
            let t0 = opened + self.rng.duration(25.0 * MINUTE as f64, 0.6, 3 * MINUTE, 6 * HOUR);
            let fixed = self.remediate(s, number, finished, t0, u >= 0.3, day_end);
            fixed + self.rng.duration(15.0 * MINUTE as f64, 0.8, MINUTE, 12 * HOUR)
        } else {
            opened + self.resolution(severity)
        };
        let resolved = (!self.unresolved(opened)).then_some(resolved);
        self.push(
            opened,
            Rec::Incident(IncidentRec { svc: s as u32, resolved, caused_by, caused_by_change, severity }),
        );
    }

    /// An incident that no deployment caused, at any time of the day.
    fn background_incident(&mut self, s: usize, day_start: i64) {
        let opened = day_start + self.rng.range(0, DAY);
        let severity = self.severity(true);
        let resolved = opened + self.resolution(severity);
        let resolved = (!self.unresolved(opened)).then_some(resolved);
        self.push(
            opened,
            Rec::Incident(IncidentRec {
                svc: s as u32,
                resolved,
                caused_by: None,
                caused_by_change: None,
                severity,
            }),
        );
    }
}

// ---------------------------------------------------------------------------
// Output

struct SvcOut {
    name: String,
    team: String,
    source: &'static str,
    deploy_prefix: String,
    next_pr: u64,
}

/// Serialises pending records through reused model values.
struct Out<W: Write> {
    w: BufWriter<W>,
    style: DemoStyle,
    /// The foreign style's line, built before it is written.
    line: Vec<u8>,
    svcs: Vec<SvcOut>,
    dep: Event,
    chg: Event,
    inc: Event,
    /// Spare strings for `changes` and `remediates`.
    pool: Vec<String>,
    next_incident: u64,
    stats: DemoStats,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(s: &mut String, sha: &Sha) {
    for &b in sha {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
}

fn set_str(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

fn set_opt(dst: &mut Option<String>, src: &str) {
    set_str(dst.get_or_insert_with(String::new), src);
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("time in range")
}

impl<W: Write> Out<W> {
    fn new(cfg: &DemoConfig, services: &[Svc], team_names: &[String], w: W) -> Self {
        let epoch = ts(0);
        let svcs = services
            .iter()
            .enumerate()
            .map(|(i, s)| SvcOut {
                name: s.name.clone(),
                team: team_names[s.team].clone(),
                source: s.source,
                deploy_prefix: format!("{}:{}/{}:deployment:", s.source, cfg.organization, s.name),
                next_pr: 1 + mix64(cfg.seed ^ (i as u64 + 1)) % 900,
            })
            .collect();
        Out {
            w: BufWriter::with_capacity(1 << 16, w),
            style: cfg.style,
            line: Vec::with_capacity(1024),
            svcs,
            dep: Event::Deployment(Deployment {
                id: String::new(),
                service: String::new(),
                team: None,
                source: None,
                environment: String::new(),
                finished_at: epoch,
                started_at: None,
                status: DeploymentStatus::Success,
                commit: None,
                changes: Vec::new(),
                deployment_type: DeploymentType::Regular,
                remediates: Vec::new(),
                note: None,
            }),
            chg: Event::Change(Change {
                id: String::new(),
                service: String::new(),
                team: None,
                source: None,
                committed_at: epoch,
                authored_at: None,
                pull_request: None,
            }),
            inc: Event::Incident(Incident {
                id: String::new(),
                service: String::new(),
                team: None,
                source: None,
                opened_at: epoch,
                resolved_at: None,
                caused_by: None,
                caused_by_change: None,
                severity: None,
            }),
            pool: Vec::new(),
            next_incident: 1000 + mix64(cfg.seed) % 1000,
            stats: DemoStats::default(),
        }
    }

    /// Writes, in order, the queued events before `limit` (dropping those at
    /// or after `end`).
    fn flush_before(&mut self, queue: &mut Vec<Pending>, limit: i64, end: i64) -> io::Result<()> {
        queue.sort_unstable_by_key(|p| (p.time, p.seq));
        let n = queue.partition_point(|p| p.time < limit);
        for p in queue.drain(..n) {
            if p.time < end {
                self.write(p, end)?;
            }
        }
        Ok(())
    }

    fn take_string(pool: &mut Vec<String>) -> String {
        let mut s = pool.pop().unwrap_or_default();
        s.clear();
        s
    }

    fn write(&mut self, p: Pending, end: i64) -> io::Result<()> {
        match p.rec {
            Rec::Change(c) => {
                let sv = &mut self.svcs[c.svc as usize];
                let Event::Change(e) = &mut self.chg else { unreachable!() };
                e.id.clear();
                push_hex(&mut e.id, &c.sha);
                set_str(&mut e.service, &sv.name);
                set_opt(&mut e.team, &sv.team);
                set_opt(&mut e.source, sv.source);
                e.committed_at = ts(p.time);
                e.authored_at = c.authored.map(ts);
                e.pull_request = c.pr.map(|pr| {
                    let number = sv.next_pr;
                    sv.next_pr += 1 + u64::from(c.sha[19] < 48) + u64::from(c.sha[18] < 16);
                    PullRequest {
                        number: Some(number),
                        opened_at: Some(ts(pr.opened)),
                        merged_at: Some(ts(p.time)),
                        first_commit_at: Some(ts(pr.first_commit)),
                    }
                });
                write_event(&mut self.w, &mut self.line, self.style, &self.chg)?;
                self.stats.changes += 1;
            }
            Rec::Deploy(d) => {
                let sv = &self.svcs[d.svc as usize];
                let Event::Deployment(e) = &mut self.dep else { unreachable!() };
                e.id.clear();
                let _ = write!(e.id, "{}{}", sv.deploy_prefix, d.number);
                set_str(&mut e.service, &sv.name);
                set_opt(&mut e.team, &sv.team);
                set_opt(&mut e.source, sv.source);
                set_str(&mut e.environment, d.env.as_str());
                e.finished_at = ts(p.time);
                e.started_at = Some(ts(d.started));
                e.status = if d.failed { DeploymentStatus::Failure } else { DeploymentStatus::Success };
                match &d.commit {
                    Some(sha) => {
                        let s = e.commit.get_or_insert_with(String::new);
                        s.clear();
                        push_hex(s, sha);
                    }
                    None => e.commit = None,
                }
                self.pool.append(&mut e.changes);
                for sha in &d.changes {
                    let mut s = Self::take_string(&mut self.pool);
                    push_hex(&mut s, sha);
                    e.changes.push(s);
                }
                e.deployment_type = d.kind;
                self.pool.append(&mut e.remediates);
                if let Some(n) = d.remediates {
                    let mut s = Self::take_string(&mut self.pool);
                    let _ = write!(s, "{}{}", sv.deploy_prefix, n);
                    e.remediates.push(s);
                }
                write_event(&mut self.w, &mut self.line, self.style, &self.dep)?;
                self.stats.deployments += 1;
            }
            Rec::Incident(i) => {
                let sv = &self.svcs[i.svc as usize];
                let Event::Incident(e) = &mut self.inc else { unreachable!() };
                e.id.clear();
                let _ = write!(e.id, "pagerduty:P{}", self.next_incident);
                self.next_incident += 1 + (mix64(self.next_incident) % 3);
                set_str(&mut e.service, &sv.name);
                set_opt(&mut e.team, &sv.team);
                set_opt(&mut e.source, "pagerduty");
                e.opened_at = ts(p.time);
                e.resolved_at = i.resolved.filter(|&r| r < end).map(ts);
                match i.caused_by {
                    Some(n) => {
                        let s = e.caused_by.get_or_insert_with(String::new);
                        s.clear();
                        let _ = write!(s, "{}{}", sv.deploy_prefix, n);
                    }
                    None => e.caused_by = None,
                }
                match &i.caused_by_change {
                    Some(sha) => {
                        let s = e.caused_by_change.get_or_insert_with(String::new);
                        s.clear();
                        push_hex(s, sha);
                    }
                    None => e.caused_by_change = None,
                }
                let s = e.severity.get_or_insert_with(String::new);
                s.clear();
                let _ = write!(s, "sev{}", i.severity);
                write_event(&mut self.w, &mut self.line, self.style, &self.inc)?;
                self.stats.incidents += 1;
            }
        }
        self.w.write_all(b"\n")?;
        self.stats.lines += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<DemoStats> {
        self.w.flush()?;
        Ok(self.stats)
    }
}

/// Writes `event` in `style`; `line` is the foreign style's buffer.
fn write_event<W: Write>(w: &mut W, line: &mut Vec<u8>, style: DemoStyle, event: &Event) -> io::Result<()> {
    match style {
        DemoStyle::Dora => serde_json::to_writer(w, event).map_err(io::Error::from),
        DemoStyle::Foreign => {
            line.clear();
            foreign::write(line, event);
            w.write_all(line)
        }
    }
}

mod foreign {
    //! The [`DemoStyle::Foreign`] writer: the same events as another
    //! program would write them.

    use chrono::{DateTime, FixedOffset, Utc};

    use super::mix64;
    use dora_core::{DeploymentStatus, DeploymentType, Event, PullRequest};

    /// A JSON object written as Python's `json.dumps` writes it.
    struct Object<'a> {
        out: &'a mut Vec<u8>,
        first: bool,
        /// How this event's times are written.
        clock: Clock,
    }

    /// How a service's exporter writes times.
    #[derive(Clone, Copy)]
    enum Clock {
        /// With this offset from UTC, in seconds (`+05:30`, `+00:00`, ...).
        Offset(i32),
        /// In UTC with milliseconds, as JavaScript's `toISOString` does.
        Millis,
    }

    impl<'a> Object<'a> {
        fn open(out: &'a mut Vec<u8>, clock: Clock) -> Self {
            out.push(b'{');
            Object { out, first: true, clock }
        }

        fn key(&mut self, key: &str) {
            if !self.first {
                self.out.extend_from_slice(b", ");
            }
            self.first = false;
            self.out.push(b'"');
            self.out.extend_from_slice(key.as_bytes());
            self.out.extend_from_slice(b"\": ");
        }

        fn raw(&mut self, key: &str, raw: &str) {
            self.key(key);
            self.out.extend_from_slice(raw.as_bytes());
        }

        fn str(&mut self, key: &str, value: &str) {
            self.key(key);
            string(self.out, value);
        }

        fn opt_str(&mut self, key: &str, value: Option<&str>) {
            match value {
                Some(v) => self.str(key, v),
                None => self.raw(key, "null"),
            }
        }

        fn time(&mut self, key: &str, t: Option<&DateTime<Utc>>) {
            let Some(t) = t else { return self.raw(key, "null") };
            let text = match self.clock {
                Clock::Millis => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                Clock::Offset(secs) => {
                    let zone = FixedOffset::east_opt(secs).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
                    t.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
                }
            };
            self.str(key, &text);
        }

        fn list(&mut self, key: &str, items: &[String]) {
            self.key(key);
            self.out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    self.out.extend_from_slice(b", ");
                }
                string(self.out, item);
            }
            self.out.push(b']');
        }

        fn close(self) {
            self.out.push(b'}');
        }
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        // Serializing a string into a vector cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }

    /// A small number from `text`, the same every time.
    fn pick(text: &str, modulo: u64) -> u64 {
        let h = text.bytes().fold(0u64, |h, b| mix64(h ^ u64::from(b)));
        h % modulo
    }

    /// The clock of a service's exporter.
    fn clock(service: &str) -> Clock {
        match pick(service, 5) {
            0 => Clock::Offset(5 * 3600 + 1800),
            1 => Clock::Offset(-5 * 3600),
            2 => Clock::Millis,
            3 => Clock::Offset(0),
            _ => Clock::Offset(3600),
        }
    }

    fn pull_request(o: &mut Object<'_>, pr: Option<&PullRequest>) {
        let Some(pr) = pr else { return o.raw("pull_request", "null") };
        o.key("pull_request");
        let clock = o.clock;
        let mut inner = Object::open(o.out, clock);
        match pr.number {
            Some(n) => inner.raw("number", &n.to_string()),
            None => inner.raw("number", "null"),
        }
        inner.time("first_commit_at", pr.first_commit_at.as_ref());
        inner.time("opened_at", pr.opened_at.as_ref());
        inner.time("merged_at", pr.merged_at.as_ref());
        inner.str("state", "merged");
        inner.close();
    }

    /// Writes `event` as one line, without the line end.
    pub(super) fn write(out: &mut Vec<u8>, event: &Event) {
        match event {
            Event::Deployment(d) => {
                let mut o = Object::open(out, clock(&d.service));
                o.str("kind", "deployment");
                o.str("id", &d.id);
                o.str("service", &d.service);
                o.str("environment", &d.environment);
                o.time("finished_at", Some(&d.finished_at));
                o.str("status", if d.status == DeploymentStatus::Success { "success" } else { "failure" });
                o.opt_str("source", d.source.as_deref());
                o.opt_str("team", d.team.as_deref());
                o.time("started_at", d.started_at.as_ref());
                o.opt_str("commit", d.commit.as_deref());
                o.str(
                    "type",
                    match d.deployment_type {
                        DeploymentType::Regular => "regular",
                        DeploymentType::Rollback => "rollback",
                        DeploymentType::Hotfix => "hotfix",
                    },
                );
                o.list("changes", &d.changes);
                o.list("remediates", &d.remediates);
                let run = 100_000 + pick(&d.id, 900_000);
                o.raw(
                    "pipeline",
                    &format!(
                        "{{\"id\": {run}, \"attempt\": {}, \"url\": \"https://ci.example.com/{}/-/pipelines/{run}\"}}",
                        1 + pick(&d.id, 2),
                        d.service
                    ),
                );
                o.key("labels");
                o.out.extend_from_slice(b"[\"auto\", ");
                string(o.out, &d.environment);
                o.out.push(b']');
                o.raw("duration_s", &format!("{}.{}", 30 + pick(&d.id, 900), pick(&d.service, 10)));
                o.close();
            }
            Event::Change(c) => {
                let mut o = Object::open(out, clock(&c.service));
                o.str("kind", "change");
                o.str("id", &c.id);
                o.str("service", &c.service);
                o.time("committed_at", Some(&c.committed_at));
                o.opt_str("source", c.source.as_deref());
                o.opt_str("team", c.team.as_deref());
                o.time("authored_at", c.authored_at.as_ref());
                pull_request(&mut o, c.pull_request.as_ref());
                o.raw(
                    "author",
                    &format!("{{\"login\": \"dev{}\", \"bot\": {}}}", pick(&c.id, 400), pick(&c.id, 20) == 0),
                );
                o.raw("files_changed", &(1 + pick(&c.id, 40)).to_string());
                o.close();
            }
            Event::Incident(i) => {
                let mut o = Object::open(out, clock(&i.service));
                o.str("kind", "incident");
                o.str("id", &i.id);
                o.str("service", &i.service);
                o.time("opened_at", Some(&i.opened_at));
                o.time("resolved_at", i.resolved_at.as_ref());
                o.opt_str("severity", i.severity.as_deref());
                o.opt_str("source", i.source.as_deref());
                o.opt_str("team", i.team.as_deref());
                o.opt_str("caused_by", i.caused_by.as_deref());
                o.opt_str("caused_by_change", i.caused_by_change.as_deref());
                o.str("title", &format!("Elevated error rate on {}", i.service));
                o.str("urgency", if pick(&i.id, 3) == 0 { "low" } else { "high" });
                o.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::OnceLock;

    use super::*;

    /// The demo preset's output, generated once.
    fn demo() -> &'static (String, DemoStats, Vec<Event>) {
        static DEMO: OnceLock<(String, DemoStats, Vec<Event>)> = OnceLock::new();
        DEMO.get_or_init(|| {
            let mut buf = Vec::new();
            let stats = generate(&DemoConfig::demo(), &mut buf).unwrap();
            let text = String::from_utf8(buf).unwrap();
            let events = text
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    serde_json::from_str::<Event>(l).unwrap_or_else(|e| panic!("line {}: {e}: {l}", i + 1))
                })
                .collect();
            (text, stats, events)
        })
    }

    fn key_time(e: &Event) -> DateTime<Utc> {
        match e {
            Event::Deployment(d) => d.finished_at,
            Event::Change(c) => c.committed_at,
            Event::Incident(i) => i.opened_at,
        }
    }

    fn is_prod(d: &Deployment) -> bool {
        d.environment == "production" || d.environment.starts_with("prod-")
    }

    fn ok_prod(d: &Deployment) -> bool {
        is_prod(d) && d.status == DeploymentStatus::Success
    }

    fn demo_end() -> DateTime<Utc> {
        let c = DemoConfig::demo();
        c.start + chrono::Duration::days(i64::from(c.days))
    }

    #[test]
    fn same_seed_gives_the_same_bytes() {
        let config = DemoConfig::demo();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let sa = generate(&config, &mut a).unwrap();
        let sb = generate(&config, &mut b).unwrap();
        assert_eq!(sa, sb);
        assert!(a == b, "two runs with the same seed differ");
        assert_eq!(a, demo().0.as_bytes());
        let mut other = Vec::new();
        generate(&DemoConfig { seed: config.seed + 1, ..config }, &mut other).unwrap();
        assert!(other != a, "another seed gives the same output");
    }

    #[test]
    fn every_line_parses_back_to_the_same_json() {
        let (text, stats, events) = demo();
        let mut counts = [0u64; 3];
        for (line, event) in text.lines().zip(events) {
            assert_eq!(serde_json::to_string(event).unwrap(), line);
            counts[event.kind() as usize] += 1;
        }
        assert_eq!(stats.lines, text.lines().count() as u64);
        assert_eq!(stats.lines, events.len() as u64);
        assert_eq!([stats.deployments, stats.changes, stats.incidents], counts);
        assert!(text.ends_with('\n'));
        assert!((2000..=5000).contains(&stats.lines), "demo has {} lines", stats.lines);
    }

    #[test]
    fn times_are_whole_seconds_in_utc_and_inside_the_history() {
        let config = DemoConfig::demo();
        let (text, _, events) = demo();
        assert!(!text.contains("+00:00") && !text.contains('.'), "times must be whole seconds with Z");
        let end = demo_end();
        for e in events {
            assert!(key_time(e) >= config.start && key_time(e) < end);
            if let Event::Incident(i) = e {
                assert!(i.resolved_at.is_none_or(|r| r > i.opened_at && r < end));
            }
            if let Event::Deployment(d) = e {
                assert!(d.started_at.is_some_and(|s| s < d.finished_at));
            }
        }
    }

    #[test]
    fn lines_are_chronological() {
        let events = &demo().2;
        for w in events.windows(2) {
            assert!(key_time(&w[0]) <= key_time(&w[1]), "{:?} then {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn change_ids_are_unique_lowercase_shas() {
        let mut seen = HashSet::new();
        for e in &demo().2 {
            if let Event::Change(c) = e {
                assert_eq!(c.id.len(), 40);
                assert!(c.id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", c.id);
                assert!(seen.insert(c.id.clone()), "duplicate change {}", c.id);
            }
        }
        // The benchmark preset's SHAs are unique by construction too.
        let mut config = DemoConfig::benchmark();
        config.services = 10;
        config.days = 14;
        let mut buf = Vec::new();
        generate(&config, &mut buf).unwrap();
        let mut seen = HashSet::new();
        for line in String::from_utf8(buf).unwrap().lines() {
            if let Event::Change(c) = serde_json::from_str::<Event>(line).unwrap() {
                assert!(seen.insert(c.id));
            }
        }
        assert!(seen.len() > 1000);
    }

    #[test]
    fn deployments_list_changes_written_before_them() {
        let mut changes: HashMap<&str, &Change> = HashMap::new();
        let mut ids = HashSet::new();
        for e in &demo().2 {
            match e {
                Event::Change(c) => {
                    changes.insert(&c.id, c);
                }
                Event::Deployment(d) => {
                    assert!(ids.insert(&d.id), "duplicate deployment id {}", d.id);
                    let prefix = format!("{}:acme/{}:deployment:", d.source.as_deref().unwrap(), d.service);
                    assert!(
                        d.id.starts_with(&prefix) && d.id[prefix.len()..].parse::<u64>().is_ok(),
                        "{}",
                        d.id
                    );
                    for id in &d.changes {
                        let c =
                            changes.get(id.as_str()).unwrap_or_else(|| panic!("{} lists unknown {id}", d.id));
                        assert_eq!(c.service, d.service);
                        assert!(c.committed_at < d.started_at.unwrap());
                    }
                    if let Some(last) = d.changes.last() {
                        assert_eq!(d.commit.as_ref(), Some(last), "{}", d.id);
                    }
                }
                Event::Incident(_) => {}
            }
        }
    }

    #[test]
    fn pull_requests_are_ordered_and_numbered() {
        let mut last_number: HashMap<&str, u64> = HashMap::new();
        let (mut with_pr, mut without) = (0, 0);
        for e in &demo().2 {
            let Event::Change(c) = e else { continue };
            if let Some(a) = c.authored_at {
                assert!(a <= c.committed_at);
            }
            let Some(pr) = &c.pull_request else {
                without += 1;
                continue;
            };
            with_pr += 1;
            let (first, opened, merged) =
                (pr.first_commit_at.unwrap(), pr.opened_at.unwrap(), pr.merged_at.unwrap());
            assert!(first <= opened && opened <= merged, "{c:?}");
            assert_eq!(merged, c.committed_at, "squash merge: committed at the merge");
            let n = pr.number.unwrap();
            if let Some(&prev) = last_number.get(c.service.as_str()) {
                assert!(n > prev, "{}: PR {n} after {prev}", c.service);
            }
            last_number.insert(&c.service, n);
        }
        assert!(with_pr > 4 * without && without > 0, "{with_pr} PRs, {without} direct pushes");
    }

    #[test]
    fn production_deployments_ship_each_change_once() {
        let events = &demo().2;
        let end = demo_end();
        let mut shipped: HashMap<&str, DateTime<Utc>> = HashMap::new();
        let mut failed: Vec<(&str, DateTime<Utc>)> = Vec::new();
        for e in events {
            let Event::Deployment(d) = e else { continue };
            if d.environment != "production" {
                continue;
            }
            for id in &d.changes {
                if d.status == DeploymentStatus::Success {
                    assert!(shipped.insert(id, d.finished_at).is_none(), "{id} shipped twice");
                } else {
                    failed.push((id, d.finished_at));
                }
            }
        }
        for (id, at) in failed {
            let ok = shipped.get(id).is_some_and(|&s| s > at);
            assert!(ok || at > end - chrono::Duration::days(1), "{id} failed at {at} and never shipped");
        }
        // Everything merged before the last week is shipped.
        let cutoff = end - chrono::Duration::days(8);
        for e in events {
            if let Event::Change(c) = e {
                assert!(
                    c.committed_at > cutoff || shipped.contains_key(c.id.as_str()),
                    "{} never shipped",
                    c.id
                );
            }
        }
    }

    #[test]
    fn demo_has_every_realism_case() {
        let config = DemoConfig::demo();
        let events = &demo().2;
        let end = demo_end();
        let mut ok_prod_ids: HashMap<&str, (&str, DateTime<Utc>)> = HashMap::new();
        let mut shipped: HashSet<&str> = HashSet::new();
        let mut last_ok: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
        let mut deploying: HashSet<&str> = HashSet::new();
        let mut per_service: HashMap<&str, u32> = HashMap::new();
        let mut c: HashMap<&str, u32> = HashMap::new();
        let mut count = |k: &'static str| *c.entry(k).or_default() += 1;
        let mut resolution = Vec::new();
        for e in events {
            match e {
                Event::Deployment(d) => {
                    deploying.insert(&d.service);
                    assert!(d.team.is_some());
                    match d.environment.as_str() {
                        "production" => count("production"),
                        "prod-eu" => count("prod-eu"),
                        "staging" => count("staging"),
                        other => panic!("environment {other}"),
                    }
                    if d.source.as_deref() == Some("gitlab") {
                        count("gitlab");
                    }
                    if d.status == DeploymentStatus::Failure && is_prod(d) {
                        count("failure");
                    }
                    if d.changes.is_empty() && d.deployment_type == DeploymentType::Regular {
                        count("no changes");
                    }
                    if ok_prod(d) && d.environment == "production" {
                        *per_service.entry(&d.service).or_default() += 1;
                        if matches!(d.finished_at.weekday(), Weekday::Sat | Weekday::Sun) {
                            count("weekend");
                        }
                    }
                    match d.deployment_type {
                        DeploymentType::Rollback => {
                            count("rollback");
                            assert!(ok_prod(d) && d.changes.is_empty() && d.remediates.is_empty());
                            let prev = last_ok[&(d.service.as_str(), d.environment.as_str())];
                            assert!(prev < d.finished_at);
                        }
                        DeploymentType::Hotfix if d.remediates.is_empty() => count("hotfix"),
                        DeploymentType::Hotfix => count("hotfix remediates"),
                        DeploymentType::Regular => {}
                    }
                    for r in &d.remediates {
                        let (service, at) = ok_prod_ids[r.as_str()];
                        assert!(service == d.service && at < d.finished_at);
                    }
                    if ok_prod(d) {
                        ok_prod_ids.insert(&d.id, (&d.service, d.finished_at));
                        last_ok.insert((&d.service, &d.environment), d.finished_at);
                        shipped.extend(d.changes.iter().map(String::as_str));
                    }
                }
                Event::Change(ch) => {
                    assert!(ch.team.is_some());
                    if ch.pull_request.is_none() {
                        count("direct push");
                    }
                    if ch.authored_at.is_some_and(|a| a < ch.committed_at) {
                        count("authored earlier");
                    }
                }
                Event::Incident(i) => {
                    assert!(i.team.is_some() && i.id.starts_with("pagerduty:P"));
                    assert!(matches!(i.severity.as_deref(), Some("sev1" | "sev2" | "sev3")));
                    if let Some(id) = &i.caused_by {
                        let (service, at) = ok_prod_ids[id.as_str()];
                        assert!(service == i.service && at <= i.opened_at);
                        count("caused_by");
                    }
                    if let Some(id) = &i.caused_by_change {
                        assert!(shipped.contains(id.as_str()));
                        count("caused_by_change");
                    }
                    if i.caused_by.is_none() && i.caused_by_change.is_none() {
                        let near = last_ok
                            .get(&(i.service.as_str(), "production"))
                            .is_some_and(|&at| i.opened_at - at <= chrono::Duration::days(7));
                        count(if near { "inferable" } else { "no nearby deployment" });
                    }
                    match i.resolved_at {
                        None => {
                            assert!(i.opened_at > end - chrono::Duration::days(21));
                            count("unresolved");
                        }
                        Some(r) => resolution.push((r - i.opened_at).num_seconds()),
                    }
                }
            }
        }
        for case in [
            "production",
            "prod-eu",
            "staging",
            "gitlab",
            "failure",
            "no changes",
            "rollback",
            "hotfix",
            "hotfix remediates",
            "direct push",
            "authored earlier",
            "caused_by",
            "caused_by_change",
            "inferable",
            "no nearby deployment",
            "unresolved",
        ] {
            assert!(c.get(case).copied().unwrap_or(0) >= 2, "{case}: {:?}", c.get(case));
        }
        // Most incidents are left to inference.
        assert!(c["inferable"] > c["caused_by"] + c["caused_by_change"]);
        // Weekdays dominate.
        assert!(c.get("weekend").copied().unwrap_or(0) * 20 < c["production"]);
        // Rework and failures are a few percent of production deployments.
        let rework = c["rollback"] + c["hotfix"] + c["hotfix remediates"];
        assert!(rework * 100 > c["production"] && rework * 100 < 10 * c["production"]);
        assert!(c["failure"] * 100 > c["production"] && c["failure"] * 100 < 10 * c["production"]);
        // Resolution times from minutes to days.
        assert!(resolution.iter().min().unwrap() < &(30 * MINUTE));
        assert!(resolution.iter().max().unwrap() > &(2 * DAY));
        // Rates differ a lot: several deployments a day down to one a week.
        let weeks = config.days / 7;
        let max = per_service.values().max().copied().unwrap();
        let min = per_service.values().min().copied().unwrap();
        assert!(max > 3 * 5 * weeks, "busiest service: {max}");
        assert!((weeks - 2..=weeks + 2).contains(&min), "weekly service: {min}");
        // An incident-only service, and the team that owns a single service.
        let names = &config.service_names;
        assert!(!deploying.contains(names[6].as_str()));
        assert!(events.iter().any(|e| matches!(e, Event::Incident(i) if i.service == names[6])));
        let growth: HashSet<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Deployment(d) if d.team.as_deref() == Some("growth") => Some(d.service.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(growth.len(), 1);
    }

    const TARGET_DEPLOYMENTS: f64 = 590_000.0;
    const TARGET_CHANGES: f64 = 1_200_000.0;
    const TARGET_INCIDENTS: f64 = 70_000.0;

    #[test]
    fn benchmark_rates_extrapolate_to_the_targets() {
        let full = DemoConfig::benchmark();
        let full_service_days = (full.services * full.days as usize) as f64;
        let mut config = full.clone();
        config.services = 20;
        config.teams = 4;
        config.days = 28;
        config.incident_only_services = 0;
        let stats = generate(&config, io::sink()).unwrap();
        let service_days = (config.services * config.days as usize) as f64;
        let check = |what: &str, n: u64, target: f64| {
            let ratio = n as f64 / service_days / (target / full_service_days);
            assert!(
                (0.85..1.15).contains(&ratio),
                "{what}: {n} in {service_days} service-days, ratio {ratio}"
            );
        };
        check("deployments", stats.deployments, TARGET_DEPLOYMENTS);
        check("changes", stats.changes, TARGET_CHANGES);
        check("incidents", stats.incidents, TARGET_INCIDENTS);
    }

    /// Writes the demo preset to /tmp/demo-events.jsonl, for a look.
    #[test]
    fn the_foreign_style_holds_the_same_events_written_differently() {
        let mut config = DemoConfig::demo();
        config.days = 56;
        let mut dora = Vec::new();
        generate(&config, &mut dora).unwrap();
        config.style = DemoStyle::Foreign;
        let mut foreign = Vec::new();
        let stats = generate(&config, &mut foreign).unwrap();
        let text = String::from_utf8(foreign.clone()).unwrap();
        assert_eq!(text.lines().count() as u64, stats.lines);
        // Written as another program writes: spaces, offsets, fractions,
        // nulls and unknown fields, `kind` first and then not dora's order.
        for needle in [
            "\"kind\": \"deployment\", \"id\": ",
            "+05:30\"",
            "-05:00\"",
            ".000Z\"",
            "\"pipeline\": {",
            ": null",
        ] {
            assert!(text.contains(needle), "no {needle} in the foreign style");
        }
        let read = |bytes: &[u8]| {
            let mut set = dora_core::EventSet::new();
            dora_core::read_jsonl(bytes, None, &mut set, &dora_core::ReadOptions::default()).unwrap();
            set.events()
        };
        let (a, b) = (read(&dora), read(&foreign));
        assert_eq!(a.len(), b.len());
        assert!(a == b, "the two styles read back to different events");
    }

    #[test]
    #[ignore]
    fn demo_preset_file() {
        let stats = generate(&DemoConfig::demo(), std::fs::File::create("/tmp/demo-events.jsonl").unwrap());
        println!("demo: {:?}", stats.unwrap());
    }

    /// Generates the benchmark preset to /tmp/bench-events.jsonl (run with
    /// `--release -- --ignored`) and prints its counts, size and time.
    #[test]
    #[ignore]
    fn benchmark_preset_file() {
        let path = "/tmp/bench-events.jsonl";
        let started = std::time::Instant::now();
        let stats = generate(&DemoConfig::benchmark(), std::fs::File::create(path).unwrap()).unwrap();
        let elapsed = started.elapsed();
        let bytes = std::fs::metadata(path).unwrap().len();
        println!(
            "benchmark: {stats:?}, {bytes} bytes ({:.1} MB, {:.0} bytes/line) in {:.2?}",
            bytes as f64 / 1e6,
            bytes as f64 / stats.lines as f64,
            elapsed
        );
        for (what, n, target) in [
            ("deployments", stats.deployments, TARGET_DEPLOYMENTS),
            ("changes", stats.changes, TARGET_CHANGES),
            ("incidents", stats.incidents, TARGET_INCIDENTS),
        ] {
            let ratio = n as f64 / target;
            assert!((0.9..1.1).contains(&ratio), "{what}: {n}, ratio {ratio}");
        }
    }
}
