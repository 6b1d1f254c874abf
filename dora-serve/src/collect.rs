//! Collections run by the server: the [`Collector`] its caller gives it
//! (what `dora collect` runs for one source), triggered by webhook
//! deliveries and by the `collect_every` schedule.
//!
//! Each source has one task: one run at a time. Triggers that arrive while
//! a run is going, or within the debounce after the first trigger, are
//! coalesced into one (follow-up) run. Runs go to tokio's blocking pool.
//! Every run is reported to the service's counters ([`crate::Stats`]:
//! runs by source and result, the last success), which `GET /metrics`
//! writes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::stats::Stats;

/// The default debounce: triggers within this long of the first are one run.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);

/// How long [`crate::Server::run`] waits, at shutdown, for collections in
/// flight (a forge's rate limit can make a run wait much longer; what it
/// would have stored is then not stored, and the next run starts over).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// A forge whose webhooks the server takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forge {
    /// GitHub (`POST /webhooks/github`): repositories as `owner/name`.
    Github,
    /// GitLab (`POST /webhooks/gitlab`): projects as `group/subgroup/project`.
    Gitlab,
}

/// A configured source as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Its name (unique).
    pub name: String,
    /// Its kind, as written in `dora.toml` (`github`, `gitlab`, `file`, ...).
    pub kind: String,
}

/// What a run is asked to cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole source (a scheduled run, or triggers of several kinds coalesced).
    All,
    /// The repositories (GitHub `owner/name`) or projects (GitLab paths)
    /// that deliveries were about. A collector may narrow its run to them,
    /// or run the whole source.
    Repositories(BTreeSet<String>),
}

impl Scope {
    /// One repository or project.
    pub fn one(path: &str) -> Scope {
        Scope::Repositories(BTreeSet::from([path.to_string()]))
    }

    /// Both scopes together.
    pub fn merge(self, other: Scope) -> Scope {
        match (self, other) {
            (Scope::Repositories(mut a), Scope::Repositories(b)) => {
                a.extend(b);
                Scope::Repositories(a)
            }
            _ => Scope::All,
        }
    }
}

/// What a successful run stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Events added.
    pub added: u64,
    /// Events that replaced a stored version.
    pub replaced: u64,
    /// Events equal to the stored version.
    pub unchanged: u64,
    /// Requests made to a remote API.
    pub requests: u64,
    /// Notes worth logging (skipped lines, environments the patterns miss).
    pub notes: Vec<String>,
}

/// The sources the server collects from, and how: `dora-cli` implements it
/// with the code `dora collect` runs, so a store fed by webhooks holds what
/// `dora collect` would store. `dora-serve` knows no forge client.
pub trait Collector: Send + Sync {
    /// The configured sources this collector can run.
    fn sources(&self) -> Vec<SourceInfo>;

    /// The names of the sources that cover the repository (GitHub
    /// `owner/name`) or project (GitLab path) `path` of `forge`: those a
    /// delivery about it triggers. Empty when none does.
    fn covering(&self, forge: Forge, path: &str) -> Vec<String>;

    /// Runs the incremental collection of the source named `source` and
    /// stores its events and its new sync state in one transaction (all or
    /// nothing). `scope` says what the triggers were about; the run may be
    /// narrowed to it or cover the whole source. Blocking: the server calls
    /// it on a thread of tokio's blocking pool, one run per source at a time
    /// (different sources may run at once). An error is one line, without
    /// secrets.
    fn collect(&self, source: &str, scope: &Scope) -> Result<RunSummary, String>;
}

/// A source's runs so far (since the server started). The service's
/// counters in `GET /metrics` come from [`Stats`], which every run reports
/// to; this record is the scheduler's own, read by its tests.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RunRecord {
    runs_ok: u64,
    runs_failed: u64,
    triggers: u64,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<String>,
    running: bool,
}

#[cfg_attr(not(test), allow(dead_code))]
impl RunRecord {
    /// Runs that succeeded (their events were stored).
    pub(crate) fn runs_ok(&self) -> u64 {
        self.runs_ok
    }
    /// Runs that failed (nothing of them was stored).
    pub(crate) fn runs_failed(&self) -> u64 {
        self.runs_failed
    }
    /// Triggers received (deliveries and schedule ticks), before coalescing.
    pub(crate) fn triggers(&self) -> u64 {
        self.triggers
    }
    /// When the last successful run ended.
    pub(crate) fn last_success(&self) -> Option<DateTime<Utc>> {
        self.last_success
    }
    /// The last failed run's error, until a run succeeds.
    pub(crate) fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
    /// Whether a run is going now.
    pub(crate) fn running(&self) -> bool {
        self.running
    }
}

/// One source's trigger inbox and record.
struct Slot {
    pending: Mutex<Option<Scope>>,
    wake: Notify,
    record: Mutex<RunRecord>,
}

/// The collections of the server: one slot per source, their tasks, the
/// schedule.
pub(crate) struct Collections {
    collector: Arc<dyn Collector>,
    slots: BTreeMap<String, Arc<Slot>>,
    debounce: Duration,
    every: Option<Duration>,
    /// Bumped after a run that changed the store (the metrics cache's key).
    generation: Arc<AtomicU64>,
    /// The service's counters: every run is reported there for `GET /metrics`.
    stats: Arc<Stats>,
    stop_tx: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Collections {
    pub(crate) fn new(
        collector: Arc<dyn Collector>,
        debounce: Duration,
        every: Option<Duration>,
        generation: Arc<AtomicU64>,
        stats: Arc<Stats>,
    ) -> Collections {
        let slots: BTreeMap<String, Arc<Slot>> = collector
            .sources()
            .into_iter()
            .map(|s| {
                let slot = Slot {
                    pending: Mutex::new(None),
                    wake: Notify::new(),
                    record: Mutex::new(RunRecord::default()),
                };
                (s.name, Arc::new(slot))
            })
            .collect();
        let (stop_tx, _) = watch::channel(false);
        for name in slots.keys() {
            stats.register_source(name);
        }
        Collections {
            collector,
            slots,
            debounce,
            every,
            generation,
            stats,
            stop_tx,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// The collector.
    pub(crate) fn collector(&self) -> &dyn Collector {
        self.collector.as_ref()
    }

    /// The record of the source named `name`.
    #[cfg(test)]
    pub(crate) fn record(&self, name: &str) -> Option<RunRecord> {
        self.slots.get(name).map(|slot| lock(&slot.record).clone())
    }

    /// Asks for a run of `source` covering `scope`; returns whether the
    /// source is known. Coalesces with a run already asked for.
    pub(crate) fn trigger(&self, source: &str, scope: Scope) -> bool {
        let Some(slot) = self.slots.get(source) else {
            return false;
        };
        lock(&slot.record).triggers += 1;
        {
            let mut pending = lock(&slot.pending);
            *pending = Some(match pending.take() {
                Some(p) => p.merge(scope),
                None => scope,
            });
        }
        slot.wake.notify_one();
        true
    }

    /// Starts one task per source, and the schedule's when `every` is set.
    /// Must be called in a tokio runtime.
    pub(crate) fn start(self: &Arc<Self>) {
        let mut tasks = lock(&self.tasks);
        for (name, slot) in &self.slots {
            let this = Arc::clone(self);
            let (name, slot) = (name.clone(), Arc::clone(slot));
            let stop = self.stop_tx.subscribe();
            tasks.push(tokio::spawn(async move { this.worker(name, slot, stop).await }));
        }
        if let Some(every) = self.every {
            let this = Arc::clone(self);
            let mut stop = self.stop_tx.subscribe();
            tasks.push(tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {
                            for name in this.slots.keys() {
                                this.trigger(name, Scope::All);
                            }
                        }
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
            }));
        }
    }

    /// Stops taking triggers, lets the runs in flight finish (for up to
    /// `grace`), and drops the runs not started yet.
    pub(crate) async fn shutdown(&self, grace: Duration) {
        let _ = self.stop_tx.send(true);
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                seconds = grace.as_secs(),
                "a collection was still running at shutdown; what it collected is not stored"
            );
        }
    }

    /// One source's loop: wait for a trigger, let the debounce pass, run
    /// what was asked for meanwhile, once; again.
    async fn worker(&self, name: String, slot: Arc<Slot>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = slot.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(self.debounce) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            // A wake-up left by triggers already served by the run before.
            let Some(scope) = lock(&slot.pending).take() else { continue };
            lock(&slot.record).running = true;
            let collector = Arc::clone(&self.collector);
            let source = name.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || collector.collect(&source, &scope))
                .await
                .unwrap_or_else(|e| Err(format!("the collection panicked: {e}")));
            let ms = started.elapsed().as_millis();
            self.stats.collection_run(&name, result.is_ok(), std::time::SystemTime::now());
            let mut record = lock(&slot.record);
            record.running = false;
            match result {
                Ok(summary) => {
                    record.runs_ok += 1;
                    record.last_success = Some(Utc::now());
                    record.last_error = None;
                    drop(record);
                    for note in &summary.notes {
                        tracing::info!(source = %name, note = %note, "collect");
                    }
                    tracing::info!(
                        source = %name,
                        added = summary.added,
                        replaced = summary.replaced,
                        unchanged = summary.unchanged,
                        requests = summary.requests,
                        ms,
                        "collected"
                    );
                    if summary.added > 0 || summary.replaced > 0 {
                        self.generation.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Err(e) => {
                    record.runs_failed += 1;
                    record.last_error = Some(e.clone());
                    drop(record);
                    tracing::error!(source = %name, error = %e, ms, "collection failed");
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its runs; each takes `run_for`.
    struct Fake {
        runs: Mutex<Vec<(String, Scope)>>,
        run_for: Duration,
        fail: bool,
    }

    impl Collector for Fake {
        fn sources(&self) -> Vec<SourceInfo> {
            ["a", "b"].iter().map(|n| SourceInfo { name: n.to_string(), kind: "github".into() }).collect()
        }
        fn covering(&self, _: Forge, _: &str) -> Vec<String> {
            vec!["a".into()]
        }
        fn collect(&self, source: &str, scope: &Scope) -> Result<RunSummary, String> {
            std::thread::sleep(self.run_for);
            lock(&self.runs).push((source.to_string(), scope.clone()));
            if self.fail { Err("boom".into()) } else { Ok(RunSummary { added: 1, ..RunSummary::default() }) }
        }
    }

    fn setup(
        run_for: Duration,
        debounce: Duration,
        every: Option<Duration>,
        fail: bool,
    ) -> (Arc<Fake>, Arc<Collections>) {
        let fake = Arc::new(Fake { runs: Mutex::new(Vec::new()), run_for, fail });
        let c = Arc::new(Collections::new(
            fake.clone(),
            debounce,
            every,
            Arc::new(AtomicU64::new(0)),
            Arc::new(Stats::new()),
        ));
        c.start();
        (fake, c)
    }

    async fn wait_for(what: impl Fn() -> bool) {
        let start = Instant::now();
        while !what() {
            assert!(start.elapsed() < Duration::from_secs(10), "timed out");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn triggers_within_the_debounce_are_one_run() {
        let (fake, c) = setup(Duration::ZERO, Duration::from_millis(200), None, false);
        for repo in ["acme/x", "acme/y", "acme/x"] {
            assert!(c.trigger("a", Scope::one(repo)));
        }
        assert!(!c.trigger("nope", Scope::All));
        wait_for(|| c.record("a").unwrap().runs_ok() == 1).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let runs = lock(&fake.runs).clone();
        assert_eq!(
            runs,
            vec![("a".to_string(), Scope::Repositories(["acme/x".into(), "acme/y".into()].into()))]
        );
        let record = c.record("a").unwrap();
        assert_eq!((record.triggers(), record.runs_ok(), record.runs_failed()), (3, 1, 0));
        assert!(record.last_success().is_some());
        assert_eq!(c.generation.load(Ordering::SeqCst), 1);
        // The run is in the service's counters.
        let mut text = String::new();
        c.stats.write(&mut text, dora_core::render::ExpositionFormat::Prometheus);
        assert!(
            text.contains("dora_serve_collection_runs_total{source=\"a\",result=\"success\"} 1\n"),
            "{text}"
        );
        assert_eq!(c.record("b").unwrap(), RunRecord::default());
        c.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn triggers_during_a_run_are_one_follow_up_run() {
        let (fake, c) = setup(Duration::from_millis(300), Duration::from_millis(20), None, false);
        c.trigger("a", Scope::one("acme/x"));
        wait_for(|| c.record("a").unwrap().running()).await;
        for _ in 0..5 {
            c.trigger("a", Scope::one("acme/y"));
        }
        // A trigger for another source runs beside it.
        c.trigger("b", Scope::All);
        wait_for(|| c.record("a").unwrap().runs_ok() == 2).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let runs: Vec<_> = lock(&fake.runs).iter().filter(|(s, _)| s == "a").cloned().collect();
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!(runs[1].1, Scope::one("acme/y"));
        assert_eq!(c.record("b").unwrap().runs_ok(), 1);
        c.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failures_are_recorded_and_the_schedule_runs_every_source() {
        let (fake, c) =
            setup(Duration::ZERO, Duration::from_millis(10), Some(Duration::from_millis(100)), true);
        wait_for(|| c.record("a").unwrap().runs_failed() >= 2 && c.record("b").unwrap().runs_failed() >= 2)
            .await;
        let record = c.record("a").unwrap();
        assert_eq!(record.last_error(), Some("boom"));
        assert_eq!((record.runs_ok(), record.last_success()), (0, None));
        assert!(lock(&fake.runs).iter().all(|(_, scope)| *scope == Scope::All));
        assert_eq!(c.generation.load(Ordering::SeqCst), 0);
        c.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_waits_for_the_run_in_flight() {
        let (fake, c) = setup(Duration::from_millis(300), Duration::ZERO, None, false);
        c.trigger("a", Scope::All);
        wait_for(|| c.record("a").unwrap().running()).await;
        c.shutdown(Duration::from_secs(5)).await;
        assert_eq!(lock(&fake.runs).len(), 1);
        assert_eq!(c.record("a").unwrap().runs_ok(), 1);
    }
}
