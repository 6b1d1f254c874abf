//! The one thread that writes the store. Requests send their events over a
//! channel and wait for the reply, which comes only after the transaction
//! that holds them committed. Requests waiting at the same time are written
//! in one transaction (group commit); when that transaction fails, each is
//! retried in its own, so one request's failure is not another's.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use dora_core::EventSet;
use dora_core::store::{Store, WriteSummary};
use tokio::sync::oneshot;

/// The most requests written in one transaction.
const MAX_GROUP: usize = 256;

/// What the writer thread is asked to do.
pub(crate) enum Job {
    /// Store these events; reply with what the write did once committed.
    Put(Box<EventSet>, oneshot::Sender<Result<WriteSummary, String>>),
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
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Put(set, tx)).map_err(|_| "the store's writer has stopped".to_string())?;
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
    let thread = std::thread::Builder::new()
        .name("dora-store-writer".into())
        .spawn(move || run(store, &rx, &counter))?;
    Ok((WriterHandle { jobs, generation }, thread))
}

fn run(mut store: Store, rx: &mpsc::Receiver<Job>, generation: &AtomicU64) {
    let mut stopping = false;
    while !stopping && let Ok(first) = rx.recv() {
        let mut puts = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Put(set, reply) => puts.push((set, reply)),
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

type Reply = oneshot::Sender<Result<WriteSummary, String>>;

/// Writes the sets in one transaction; on failure, each in its own.
fn write_group(store: &mut Store, puts: Vec<(Box<EventSet>, Reply)>, generation: &AtomicU64) {
    let path: PathBuf = store.path().to_path_buf();
    let grouped = (|| -> dora_core::Result<Vec<WriteSummary>> {
        let mut writer = store.writer()?;
        let mut summaries = Vec::with_capacity(puts.len());
        for (set, _) in &puts {
            summaries.push(writer.put_set(set)?);
        }
        writer.commit()?;
        Ok(summaries)
    })();
    match grouped {
        Ok(summaries) => {
            if summaries.iter().any(changed) {
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
            for (set, reply) in puts {
                write_group(store, vec![(set, reply)], generation);
            }
        }
    }
}

fn changed(s: &WriteSummary) -> bool {
    s.added > 0 || s.replaced > 0
}
