//! Sources: where events come from. A source takes its configuration and
//! the sync state it left last time, and returns normalized events and a new
//! sync state; the caller writes both into the [`Store`](crate::store::Store)
//! in one transaction, so a failed run changes nothing.
//!
//! The `file` source ([`FileSource`]) reads JSON Lines and CSV files. The
//! GitHub, GitLab and Kubernetes sources implement the same trait in the
//! `dora-sources` crate, which holds every network client: this crate has
//! no async runtime, HTTP client or TLS under any feature.
//!
//! ```
//! use dora_core::source::{FileSource, NoProgress, Source};
//!
//! let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/events.jsonl");
//! let mut source = FileSource::new("demo", vec![demo.into()], ".".as_ref());
//! let first = source.collect(None, &NoProgress)?;
//! assert!(first.events.len() > 3000);
//! // Nothing changed since: the next run reads nothing.
//! let again = source.collect(Some(&first.state), &NoProgress)?;
//! assert_eq!(again.events.len(), 0);
//! # Ok::<(), dora_core::Error>(())
//! ```

mod file;
pub mod secret;

pub use file::FileSource;

use crate::error::Result;
use crate::event::EventSet;
use crate::store::SyncState;

/// What one run of a source produced.
#[derive(Debug, Default)]
pub struct Collected {
    /// The normalized events (new or changed since the last run; a source
    /// may also return events the store already holds: they count as
    /// unchanged).
    pub events: EventSet,
    /// The state to resume from next time.
    pub state: SyncState,
    /// Requests made to a remote API (0 for files).
    pub requests: u64,
    /// Things worth telling the user (skipped lines, files left unchanged).
    pub notes: Vec<String>,
    /// Cost rows of a cost source (OpenCost), stored with the events in
    /// the same transaction; `None` for a source of events only.
    pub costs: Option<CollectedCosts>,
}

/// The cost rows one run of a cost source fetched: they replace the
/// source's stored rows starting at `from` or later
/// ([`StoreWriter::replace_cost_rows`](crate::store::StoreWriter::replace_cost_rows)
/// with [`CostOrigin::Source`](crate::store::CostOrigin::Source)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectedCosts {
    /// The start of what was fetched (again): the source's rows starting
    /// then or later are replaced; `None` replaces all of them.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// The rows fetched.
    pub rows: Vec<crate::cost::CostRow>,
}

/// Progress reports of a running source (drawn as a bar on a terminal,
/// logged as lines otherwise). Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// The amount of work, when known (files, pages, bytes).
    fn set_total(&self, _total: u64) {}
    /// Work done since the last call.
    fn advance(&self, _done: u64) {}
    /// What the source is doing now.
    fn message(&self, _message: &str) {}
    /// Progress of one part of the work (one repository, say), shown on its
    /// own (a bar of its own on a terminal). The default shows nothing.
    fn part(&self, _name: &str) -> Box<dyn Progress + '_> {
        Box::new(NoProgress)
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A place events come from.
pub trait Source: Send {
    /// The source's name (unique in the configuration).
    fn name(&self) -> &str;
    /// The source's kind (`file`, `github`, ...).
    fn kind(&self) -> &'static str;
    /// Fetches what is new since `state` (everything when `None`).
    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected>;
}
