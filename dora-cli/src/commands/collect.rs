//! `dora collect`: run the configured sources, several at once, and store
//! what each produced together with its new sync state, one transaction per
//! source: a failing source loses nothing of the others, and leaves its own
//! part of the store as it was. `dora serve` runs one source the same way
//! ([`run_source`]).

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Result;
use dora_core::source::{Collected, Progress, Source};
use dora_core::store::{Store, SyncState, WriteSummary};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::CollectArgs;
use crate::config::LoadedConfig;
use crate::settings::sources::{Build, SourceSettings};
use crate::settings::usage;

/// Some sources failed (exit code 5); the others' results were stored.
#[derive(Debug)]
pub struct SourcesFailed {
    /// How many failed.
    pub failed: usize,
    /// How many ran.
    pub total: usize,
}

impl std::fmt::Display for SourcesFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} sources failed (the others' events were stored)", self.failed, self.total)
    }
}

impl std::error::Error for SourcesFailed {}

/// Progress as a bar (on a terminal) or as log lines on stderr.
enum Reporter<'a> {
    Bar(ProgressBar, &'a MultiProgress),
    Log(String),
}

impl Progress for Reporter<'_> {
    fn part(&self, name: &str) -> Box<dyn Progress + '_> {
        match self {
            Reporter::Bar(parent, multi) => {
                let bar = multi.insert_after(parent, ProgressBar::new_spinner());
                bar.set_prefix(format!("  {name}"));
                Box::new(Reporter::Bar(bar, multi))
            }
            Reporter::Log(source) => Box::new(Reporter::Log(format!("{source}: {name}"))),
        }
    }
    fn set_total(&self, total: u64) {
        if let Reporter::Bar(b, _) = self {
            b.set_length(total);
            b.set_style(bar_style());
        }
    }
    fn advance(&self, done: u64) {
        if let Reporter::Bar(b, _) = self {
            b.inc(done);
        }
    }
    fn message(&self, message: &str) {
        match self {
            Reporter::Bar(b, _) => b.set_message(message.to_string()),
            Reporter::Log(name) => eprintln!("collect: {name}: {message}"),
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>16} [{bar:24}] {pos}/{len} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One source's outcome.
struct Outcome {
    name: String,
    kind: &'static str,
    result: std::result::Result<(WriteSummary, u64), String>,
    seconds: f64,
}

/// Runs `dora collect`.
pub fn run(args: &CollectArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let all = &loaded.sources;
    if all.is_empty() {
        return Err(usage(format!(
            "{}: no [[source]] to collect from (see docs/configuration.md); `dora import FILE` stores files without one",
            loaded.path.as_ref().map_or("dora.toml (none found)".into(), |p| p.display().to_string())
        )));
    }
    for name in &args.sources {
        if !all.iter().any(|s| s.name() == name) {
            let names: Vec<&str> = all.iter().map(|s| s.name()).collect();
            return Err(usage(format!("--source {name}: no such source (configured: {})", names.join(", "))));
        }
    }
    let chosen: Vec<&SourceSettings> = all
        .iter()
        .filter(|s| args.sources.is_empty() || args.sources.iter().any(|n| n == s.name()))
        .collect();
    let store_path = loaded.store_path(args.store.store.as_deref());
    let mut store = Store::open(&store_path)?;
    let build = Build::new(&loaded, args.max_requests)?;
    let mut work = Vec::new();
    for settings in &chosen {
        work.push((settings.build(&build)?, store.sync_state(settings.name())?));
    }

    let terminal = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if terminal {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let total = work.len();
    let (work_tx, work_rx) = crossbeam_channel::unbounded::<(Box<dyn Source>, Option<SyncState>)>();
    for item in work {
        work_tx.send(item).ok();
    }
    drop(work_tx);
    let (done_tx, done_rx) =
        crossbeam_channel::unbounded::<(String, &'static str, Result<Collected, String>, f64)>();
    let mut outcomes = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..(args.jobs as usize).min(total) {
            let (work_rx, done_tx, multi) = (work_rx.clone(), done_tx.clone(), &multi);
            scope.spawn(move || {
                for (mut source, state) in work_rx.iter() {
                    let name = source.name().to_string();
                    let reporter = if terminal {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_prefix(name.clone());
                        Reporter::Bar(bar, multi)
                    } else {
                        Reporter::Log(name.clone())
                    };
                    reporter.message("collecting");
                    let started = Instant::now();
                    let result = source.collect(state.as_ref(), &reporter).map_err(|e| e.to_string());
                    if let Reporter::Bar(b, _) = &reporter {
                        b.finish_with_message(if result.is_ok() { "done" } else { "failed" });
                    }
                    let secs = started.elapsed().as_secs_f64();
                    if done_tx.send((name, source.kind(), result, secs)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // Store each source's result as it arrives: one transaction each.
        for (name, kind, result, seconds) in done_rx.iter() {
            let result = result.and_then(|collected| {
                for note in &collected.notes {
                    multi.suspend(|| eprintln!("collect: {name}: {note}"));
                }
                Ok((store_run(&mut store, &name, &collected)?, collected.requests))
            });
            if let Err(e) = &result {
                multi.suspend(|| eprintln!("dora: error: source `{name}`: {e}"));
            }
            outcomes.push(Outcome { name, kind, result, seconds });
        }
    });
    multi.clear().ok();

    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    print_summary(&outcomes, &store_path);
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if failed > 0 {
        return Err(anyhow::Error::new(SourcesFailed { failed, total }));
    }
    Ok(())
}

/// Stores one run of the source named `name`: its events, its cost rows
/// (a cost source's, replacing its rows from where it fetched again) and
/// its new sync state, in one transaction (a failure stores nothing of it). What `dora
/// collect` and `dora serve`'s collections ([`run_source`]) both do.
pub(crate) fn store_run(
    store: &mut Store,
    name: &str,
    collected: &Collected,
) -> Result<WriteSummary, String> {
    let mut writer = store.writer().map_err(|e| e.to_string())?;
    writer.put_set(&collected.events).map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    writer.set_sync_state(name, &collected.state, &now).map_err(|e| e.to_string())?;
    if let Some(costs) = &collected.costs {
        let mut rows = writer
            .replace_cost_rows(dora_core::store::CostOrigin::Source(name), costs.from, &now)
            .map_err(|e| e.to_string())?;
        for row in &costs.rows {
            rows.push(row).map_err(|e| e.to_string())?;
        }
        rows.finish();
    }
    writer.commit().map_err(|e| e.to_string())
}

/// What one source's run stored.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct SourceRun {
    /// Added, replaced and unchanged events.
    pub summary: WriteSummary,
    /// Requests made to a remote API.
    pub requests: u64,
    /// The source's notes (skipped lines, environments the patterns miss).
    pub notes: Vec<String>,
}

/// One source's incremental run as `dora collect` makes it, from the sync
/// state in `store` to its events and new sync state stored in one
/// transaction ([`store_run`]): what `dora serve` runs for a webhook or its
/// schedule.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) fn run_source(
    store: &mut Store,
    source: &mut dyn Source,
    progress: &dyn Progress,
) -> Result<SourceRun, String> {
    let state = store.sync_state(source.name()).map_err(|e| e.to_string())?;
    let collected = source.collect(state.as_ref(), progress).map_err(|e| e.to_string())?;
    let summary = store_run(store, source.name(), &collected)?;
    Ok(SourceRun { summary, requests: collected.requests, notes: collected.notes })
}

fn print_summary(outcomes: &[Outcome], store: &std::path::Path) {
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(6).max(6);
    let kinds = outcomes.iter().map(|o| o.kind.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<kinds$}  {:>8}  {:>8}  {:>9}  {:>8}  {:>7}  result",
        "source", "kind", "added", "replaced", "unchanged", "requests", "seconds"
    );
    let mut total = WriteSummary::default();
    for o in outcomes {
        match &o.result {
            Ok((s, requests)) => {
                total.merge(*s);
                println!(
                    "{:<width$}  {:<kinds$}  {:>8}  {:>8}  {:>9}  {:>8}  {:>7.1}  ok",
                    o.name, o.kind, s.added, s.replaced, s.unchanged, requests, o.seconds
                );
            }
            Err(_) => println!(
                "{:<width$}  {:<kinds$}  {:>8}  {:>8}  {:>9}  {:>8}  {:>7.1}  failed",
                o.name, o.kind, "-", "-", "-", "-", o.seconds
            ),
        }
    }
    println!(
        "stored in {}: {} added, {} replaced, {} unchanged",
        store.display(),
        total.added,
        total.replaced,
        total.unchanged
    );
}
