//! The one thread that writes the store. Requests send their events over a
//! channel and wait for the reply, which comes only after the transaction
//! that holds them committed. Requests waiting at the same time are written
//! in one transaction (group commit); when that transaction fails, each is
//! retried in its own, so one request's failure is not another's. A
//! request's events and its resolutions of incidents are written in the same
//! transaction: all of it, or none.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use dora_core::store::{ResolveOutcome, Store, StoreWriter, WriteSummary};
use dora_core::{Event, EventSet};
use tokio::sync::oneshot;

/// The most requests written in one transaction.
const MAX_GROUP: usize = 256;

/// What one request writes, in this order: `set`, then `events`, then
/// `resolutions`.
#[derive(Default)]
pub(crate) struct Write {
    /// Events written as a set (`POST /events`).
    pub(crate) set: EventSet,
    /// Events written one by one, in order (`POST /cdevents`): each is
    /// counted, one repeated in the request as replaced or unchanged.
    pub(crate) events: Vec<Event>,
    /// Incidents resolved by id, after the events
    /// ([`StoreWriter::resolve`]): an incident of the same request is
    /// resolved, one not stored yet will be when it arrives.
    pub(crate) resolutions: Vec<(String, DateTime<Utc>)>,
}

/// What a [`Write`] did, once committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// Its events.
    pub(crate) events: WriteSummary,
    /// Resolutions that resolved a stored incident (or moved its time earlier).
    pub(crate) resolved: u64,
    /// Resolutions of an incident already resolved at that time or earlier.
    pub(crate) resolutions_unchanged: u64,
    /// Resolutions of an incident not stored yet: kept for it.
    pub(crate) pending: u64,
}

impl Written {
    /// Whether the store's events changed.
    fn changed(&self) -> bool {
        self.events.added > 0 || self.events.replaced > 0 || self.resolved > 0
    }
}

/// What the writer thread is asked to do.
pub(crate) enum Job {
    /// Write this; reply with what the write did once committed.
    Put(Box<Write>, Reply),
    /// Check that the store can be written (a write transaction begun and
    /// rolled back).
    Check(oneshot::Sender<Result<(), String>>),
    /// Finish the jobs sent before and end.
    Stop,
}

/// The sending side of the writer thread and the store's change counter.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    jobs: mpsc::Sender<Job>,
    /// Bumped after each commit that changed the store.
    pub(crate) generation: Arc<AtomicU64>,
}

impl WriterHandle {
    /// Stores `set`: the summary once committed, or why not.
    pub(crate) async fn put(&self, set: Box<EventSet>) -> Result<WriteSummary, String> {
        let write = Write { set: *set, ..Write::default() };
        self.write(Box::new(write)).await.map(|w| w.events)
    }

    /// Writes `write` in one transaction: what it did once committed, or why not.
    pub(crate) async fn write(&self, write: Box<Write>) -> Result<Written, String> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Put(write, tx)).map_err(|_| "the store's writer has stopped".to_string())?;
        rx.await.map_err(|_| "the store's writer has stopped".to_string())?
    }

    /// Asks the thread to end after the jobs sent before.
    pub(crate) fn stop(&self) {
        let _ = self.jobs.send(Job::Stop);
    }

    /// Whether the store can be written now.
    pub(crate) async fn check(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Check(tx)).map_err(|_| "the store's writer has stopped".to_string())?;
        rx.await.map_err(|_| "the store's writer has stopped".to_string())?
    }
}

/// Starts the writer thread over an opened store. It ends when every
/// [`WriterHandle`] is dropped, after the jobs already sent.
pub(crate) fn start(store: Store) -> std::io::Result<(WriterHandle, std::thread::JoinHandle<()>)> {
    let (jobs, rx) = mpsc::channel();
    let generation = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&generation);
    // Checkpoints run on a thread of their own, so that no answer waits
    // for one (a checkpoint syncs the file; on the writer it would stall
    // every request queued behind that commit). Without a second
    // connection the writer checkpoints as SQLite does by default.
    let alive = match Store::open(store.path()) {
        Ok(checkpointer) if store.set_auto_checkpoint(0).is_ok() => {
            let (alive, gone) = mpsc::channel::<()>();
            let commits = Arc::clone(&generation);
            std::thread::Builder::new()
                .name("dora-store-checkpoint".into())
                .spawn(move || checkpoints(&checkpointer, &gone, &commits))?;
            Some(alive)
        }
        _ => None,
    };
    let thread = std::thread::Builder::new().name("dora-store-writer".into()).spawn(move || {
        run(store, &rx, &counter);
        // The checkpoint thread ends with the writer.
        drop(alive);
    })?;
    Ok((WriterHandle { jobs, generation }, thread))
}

/// How often the checkpoint thread copies the write-ahead log into the
/// store's file, when something was committed.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Checkpoints every [`CHECKPOINT_EVERY`] while the store changes, until
/// the writer is gone; then once more.
fn checkpoints(store: &Store, writer_gone: &mpsc::Receiver<()>, generation: &AtomicU64) {
    let mut done = generation.load(Ordering::SeqCst);
    while !matches!(writer_gone.recv_timeout(CHECKPOINT_EVERY), Err(mpsc::RecvTimeoutError::Disconnected)) {
        let now = generation.load(Ordering::SeqCst);
        if now == done {
            continue;
        }
        match store.checkpoint() {
            Ok(()) => done = now,
            Err(e) => tracing::warn!(error = %e, "checkpoint failed (retried in a second)"),
        }
    }
    if let Err(e) = store.checkpoint() {
        tracing::warn!(error = %e, "the last checkpoint failed (the log is kept; the next open replays it)");
    }
}

fn run(mut store: Store, rx: &mpsc::Receiver<Job>, generation: &AtomicU64) {
    let mut stopping = false;
    while !stopping && let Ok(first) = rx.recv() {
        let mut puts = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Put(write, reply) => puts.push((write, reply)),
                Job::Check(reply) => {
                    let _ = reply.send(store.writer().map(drop).map_err(|e| e.to_string()));
                }
                Job::Stop => {
                    stopping = true;
                    break;
                }
            }
            if puts.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        if !puts.is_empty() {
            write_group(&mut store, puts, generation);
        }
    }
}

type Reply = oneshot::Sender<Result<Written, String>>;

/// Writes one request's [`Write`] inside the open transaction.
fn write_one(writer: &mut StoreWriter<'_>, write: &Write) -> dora_core::Result<Written> {
    let mut written = Written::default();
    if !write.set.is_empty() {
        written.events = writer.put_set(&write.set)?;
    }
    let before = writer.summary();
    for event in &write.events {
        writer.put(event)?;
    }
    let after = writer.summary();
    written.events.added += after.added - before.added;
    written.events.replaced += after.replaced - before.replaced;
    written.events.unchanged += after.unchanged - before.unchanged;
    for (id, at) in &write.resolutions {
        match writer.resolve(id, *at)? {
            ResolveOutcome::Resolved => written.resolved += 1,
            ResolveOutcome::Unchanged => written.resolutions_unchanged += 1,
            ResolveOutcome::Pending => written.pending += 1,
        }
    }
    Ok(written)
}

/// Writes the requests in one transaction; on failure, each in its own.
fn write_group(store: &mut Store, puts: Vec<(Box<Write>, Reply)>, generation: &AtomicU64) {
    let path: PathBuf = store.path().to_path_buf();
    let grouped = (|| -> dora_core::Result<Vec<Written>> {
        let mut writer = store.writer()?;
        let mut summaries = Vec::with_capacity(puts.len());
        for (write, _) in &puts {
            summaries.push(write_one(&mut writer, write)?);
        }
        writer.commit()?;
        Ok(summaries)
    })();
    match grouped {
        Ok(summaries) => {
            if summaries.iter().any(Written::changed) {
                generation.fetch_add(1, Ordering::SeqCst);
            }
            for ((_, reply), summary) in puts.into_iter().zip(summaries) {
                let _ = reply.send(Ok(summary));
            }
        }
        Err(e) if puts.len() == 1 => {
            tracing::error!(store = %path.display(), error = %e, "storing events failed");
            let (_, reply) = puts.into_iter().next().expect("one job");
            let _ = reply.send(Err(e.to_string()));
        }
        Err(_) => {
            for (write, reply) in puts {
                write_group(store, vec![(write, reply)], generation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_core::{Incident, ReadOptions};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn incident(id: &str) -> Event {
        Incident::new(id, "api", at("2026-03-02T13:00:00Z")).into()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_and_resolutions_are_written_together_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dora.db");
        let (writer, thread) = start(Store::open(&path).unwrap()).unwrap();

        // A resolution before its incident, one of an incident in the same
        // request, and a repeated event.
        let write = Write {
            events: vec![incident("i1"), incident("i1")],
            resolutions: vec![
                ("i1".into(), at("2026-03-02T14:00:00Z")),
                ("i2".into(), at("2026-03-02T15:00:00Z")),
            ],
            ..Write::default()
        };
        let written = writer.write(Box::new(write)).await.unwrap();
        assert_eq!(written.events, WriteSummary { added: 1, replaced: 0, unchanged: 1 });
        assert_eq!((written.resolved, written.resolutions_unchanged, written.pending), (1, 0, 1));
        let generation = writer.generation.load(Ordering::SeqCst);
        assert_eq!(generation, 1);

        let write = Write {
            events: vec![incident("i2")],
            resolutions: vec![("i1".into(), at("2026-03-02T14:00:00Z"))],
            ..Write::default()
        };
        let written = writer.write(Box::new(write)).await.unwrap();
        assert_eq!(written.events, WriteSummary { added: 1, replaced: 0, unchanged: 0 });
        assert_eq!((written.resolved, written.resolutions_unchanged, written.pending), (0, 1, 0));

        // Nothing new: the change counter stays.
        let write =
            Write { resolutions: vec![("i1".into(), at("2026-03-02T14:00:00Z"))], ..Write::default() };
        writer.write(Box::new(write)).await.unwrap();
        assert_eq!(writer.generation.load(Ordering::SeqCst), 2);

        writer.stop();
        drop(writer);
        thread.join().unwrap();
        let store = Store::open_read_only(&path).unwrap();
        let mut set = EventSet::new();
        store.load(&mut set, &ReadOptions::default()).unwrap();
        assert_eq!(set.incident("i1").unwrap().resolved_at, Some(at("2026-03-02T14:00:00Z")));
        assert_eq!(set.incident("i2").unwrap().resolved_at, Some(at("2026-03-02T15:00:00Z")));
    }
}
