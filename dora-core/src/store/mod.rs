//! The local event store: one SQLite file (WAL mode) that holds every event
//! collected so far and each source's sync state.
//!
//! - Events are stored by `(kind, id)` with the spec's replacement rule: a
//!   newer version of an event replaces the stored one and takes the newest
//!   position in the store's order (the order [`Store::load`] reads them
//!   in), as a later line of a file would; a version equal to the stored one
//!   changes nothing.
//! - Each source's sync state is written in the same transaction as the
//!   events it produced ([`StoreWriter::set_sync_state`]): a run that fails
//!   or is killed leaves the store exactly as it was.
//! - Incidents can be resolved by id ([`StoreWriter::resolve`]), whether or
//!   not they are stored yet: the resolution is kept, and every incident
//!   written under that id, then or later, is stored resolved (at the
//!   earlier of its own `resolved_at` and the resolution's). This is how a
//!   resolution that arrives before its incident (CDEvents'
//!   `incident.resolved` in `dora serve`) is not lost.
//! - The schema is versioned (`PRAGMA user_version`); migrations run when the
//!   store is opened for writing. A store written by a newer dora (a schema
//!   version this build does not know) is refused, never changed.
//! - Cost rows (METRICS.md section 7) are kept by where they came from, an
//!   imported file or a cost source, and replaced per origin
//!   ([`StoreWriter::replace_cost_rows`], [`Store::for_each_cost_row`]).
//! - WAL mode lets a report read while a collection writes: a reader sees the
//!   store as of the last commit before it started.
//!
//! ```
//! use dora_core::store::Store;
//! use dora_core::{Change, EventSet};
//!
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::open(&dir.path().join("dora.db"))?;
//! let change = Change { id: "c1".into(), service: "api".into(), team: None, source: None,
//!     committed_at: "2026-03-02T09:00:00Z".parse()?, authored_at: None, pull_request: None };
//! let mut writer = store.writer()?;
//! writer.put(&change.clone().into())?;
//! let summary = writer.commit()?;
//! assert_eq!(summary.added, 1);
//!
//! let mut set = EventSet::new();
//! store.load(&mut set, &Default::default())?;
//! assert_eq!(set.change("c1"), Some(change));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod blocks;
mod cost;
mod events;
mod layout;
mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::time::{Micros, from_micros, to_micros};
use crate::event::{Event, EventKind, EventSet, Incident, raw_to_owned};
use crate::read::{Pipeline, ReadOptions, ReadSummary, record};
use events::EventTables;

pub use cost::{CostOrigin, CostOriginEntry, CostRowWriter, CostWriteSummary, StoreCostSource};
pub use schema::SCHEMA_VERSION;

/// The default store path, relative to the directory of `dora.toml`.
pub const DEFAULT_STORE_PATH: &str = ".dora/dora.db";

/// A source's sync state: whatever the source needs to fetch only what is
/// new next time (cursors, ETags, last-seen times), as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SyncState(pub serde_json::Value);

/// What a write did, event by event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriteSummary {
    /// Events the store did not hold.
    pub added: u64,
    /// Events that replaced a different stored version.
    pub replaced: u64,
    /// Events equal to the stored version.
    pub unchanged: u64,
}

impl WriteSummary {
    /// Adds another summary's counts to this one.
    pub fn merge(&mut self, other: WriteSummary) {
        self.added += other.added;
        self.replaced += other.replaced;
        self.unchanged += other.unchanged;
    }
}

/// What happened to one event written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The store did not hold it.
    Added,
    /// It replaced a different stored version.
    Replaced,
    /// The store already held exactly this version.
    Unchanged,
}

/// What resolving an incident did ([`StoreWriter::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveOutcome {
    /// The stored incident was open, or resolved later than this: it is
    /// now resolved at this time.
    Resolved,
    /// The stored incident was already resolved at this time or earlier.
    Unchanged,
    /// No incident with this id is stored yet: the resolution is kept and
    /// applied when one is written.
    Pending,
}

/// Resolves `incident` at `at` (microseconds): its `resolved_at` becomes
/// the earlier of its own and `at`.
fn apply_resolution(incident: &mut Incident, at: Micros) {
    match incident.resolved_at {
        Some(own) if to_micros(&own) <= at => {}
        _ => incident.resolved_at = Some(from_micros(at)),
    }
}

/// Applies the resolution in `resolutions` to `event` when it is an
/// incident with a resolution.
fn apply_resolutions(event: &mut Event, resolutions: &HashMap<String, Micros>) {
    if let Event::Incident(incident) = event
        && let Some(&at) = resolutions.get(&incident.id)
    {
        apply_resolution(incident, at);
    }
}

/// A source's entry in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    /// The source's name.
    pub name: String,
    /// When its state was last written (RFC 3339, UTC).
    pub updated_at: String,
    /// Its sync state.
    pub state: SyncState,
}

/// Encoded events: their ids and records, each kind in one buffer.
#[derive(Default)]
struct Encoded {
    ids: String,
    records: Vec<u8>,
    items: Vec<(EventKind, std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// Events encoded per batch.
const BATCH: usize = 4096;

/// Encodes the events of `set` in order, in batches, reusing the buffers
/// handed back.
fn encode_batches(
    set: &EventSet,
    resolutions: &HashMap<String, Micros>,
    out: crossbeam_channel::Sender<Encoded>,
    spare: crossbeam_channel::Receiver<Encoded>,
) {
    let mut batch = Encoded::default();
    for mut event in set.iter() {
        if !resolutions.is_empty() {
            apply_resolutions(&mut event, resolutions);
        }
        let id_start = batch.ids.len();
        batch.ids.push_str(event.id());
        let rec_start = batch.records.len();
        record::encode(&event, &mut batch.records);
        batch.items.push((event.kind(), id_start..batch.ids.len(), rec_start..batch.records.len()));
        if batch.items.len() == BATCH {
            let mut next = spare.try_recv().unwrap_or_default();
            next.ids.clear();
            next.records.clear();
            next.items.clear();
            if out.send(std::mem::replace(&mut batch, next)).is_err() {
                return;
            }
        }
    }
    if !batch.items.is_empty() {
        out.send(batch).ok();
    }
}

/// Below this many events, a load into an empty store goes row by row.
const BULK_MIN: usize = 10_000;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// How its events are kept: blocks (schema version 5) or, in an older
    /// store opened read-only, one row per event.
    layout: Layout,
    key_of: events::KeyFn,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).field("layout", &self.layout).finish()
    }
}

/// How a store keeps its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Blocks of records and identity keys (schema version 5, [`layout`]).
    Blocks,
    /// One row per event in `events` (schema versions 1 to 4), read-only.
    Rows,
}

impl Layout {
    /// The query of every stored record in the store's order.
    fn all_records(self) -> &'static str {
        match self {
            Layout::Blocks => "SELECT first_seq, records FROM event_blocks ORDER BY first_seq",
            Layout::Rows => "SELECT seq, record FROM events ORDER BY seq",
        }
    }
}

/// How long an operation waits for another process's lock on the store
/// before it fails with "database is locked".
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn kind_code(kind: EventKind) -> i64 {
    kind as i64
}

impl Store {
    /// Opens the store at `path` for reading and writing, creating it (and
    /// its directory) when missing and migrating an older schema.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Io { path: Some(dir.to_path_buf()), error: e })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::store(path, e))?;
        // Wait for other processes' locks from the first read on: another
        // `dora` may be creating or migrating this very file right now.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| Error::store(path, e))?;
        // Refuse a newer schema before anything (even the journal mode) is written.
        schema::refuse_unknown(&conn, path)?;
        // A new file gets larger pages (fewer b-tree levels and page
        // headers): set before the first write fixes the page size.
        conn.pragma_update(None, "page_size", 16384).map_err(|e| Error::store(path, e))?;
        let store =
            Store { conn, path: path.to_path_buf(), layout: Layout::Blocks, key_of: layout::identity_key };
        store.configure()?;
        schema::migrate(&store.conn, path)?;
        Ok(store)
    }

    /// Opens an existing store for reading only. It is an error if there is
    /// no store at `path`, or if its schema is not one this build reads.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(Error::Store {
                path: path.to_path_buf(),
                message: "no store here yet: run `dora import FILE` or `dora collect` first".into(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::store(path, e))?;
        let mut store =
            Store { conn, path: path.to_path_buf(), layout: Layout::Blocks, key_of: layout::identity_key };
        store.configure()?;
        schema::check_readable(&store.conn, path)?;
        if !schema::has_table(&store.conn, "event_blocks").map_err(|e| Error::store(path, e))? {
            store.layout = Layout::Rows;
        }
        Ok(store)
    }

    fn configure(&self) -> Result<()> {
        let e = |e| Error::store(&self.path, e);
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(e)?;
        // WAL: readers see the last commit while a writer works; NORMAL
        // synchronous is durable at each checkpoint and never corrupts.
        if !self.conn.is_readonly(rusqlite::MAIN_DB).map_err(e)? {
            self.wal_mode()?;
        }
        self.conn
            .execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -262144;
                 PRAGMA mmap_size = 4294967296; PRAGMA foreign_keys = ON;",
            )
            .map_err(e)
    }

    /// Switches the file to write-ahead logging. The switch takes an
    /// exclusive lock without waiting (SQLite does not call the busy
    /// handler for it), so while another process creates or opens the
    /// same new store it is tried again, for up to [`BUSY_TIMEOUT`].
    fn wal_mode(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(2);
        loop {
            match self.conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => return Ok(()),
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(Error::store(&self.path, e)),
            }
        }
    }

    /// Prepares a bulk load of `events` events into this store: when the
    /// store is empty and the load large, the file leaves write-ahead
    /// logging for a rollback journal until [`Store::end_bulk_load`]. New
    /// pages then go to the file once (a rollback journal keeps only pages
    /// that existed before, and an empty store has none), instead of to the
    /// log and again to the file at the checkpoint. The journal is synced in
    /// full meanwhile, so a crash leaves the store as it was. Returns
    /// whether it switched: not for a small load or a store with events,
    /// nor while another process has the store open (switching needs it
    /// alone); the load is then an ordinary one.
    pub fn begin_bulk_load(&mut self, events: usize) -> Result<bool> {
        if events < BULK_MIN || !self.is_empty()? {
            return Ok(false);
        }
        let e = |e| Error::store(&self.path, e);
        match self.conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("delete") => {}
            Ok(_) => return Ok(false),
            Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
                return Ok(false);
            }
            Err(err) => return Err(e(err)),
        }
        self.conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        Ok(true)
    }

    /// Returns the store to write-ahead logging after
    /// [`Store::begin_bulk_load`] switched it away (call it whether the load
    /// succeeded or not).
    pub fn end_bulk_load(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| Error::store(&self.path, e))?;
        self.wal_mode()
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of stored events.
    pub fn len(&self) -> Result<u64> {
        let sql = match self.layout {
            Layout::Blocks => "SELECT coalesce(sum(live), 0) FROM event_counts",
            Layout::Rows => "SELECT count(*) FROM events",
        };
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| Error::store(&self.path, e))
    }

    /// Whether the store holds no event.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A number that changes when another connection (another process, or
    /// another `Store` of this one) has committed a change to the store
    /// since this `Store` last asked (SQLite's `PRAGMA data_version`): a
    /// cheap way for a long-lived reader to know whether what it computed
    /// from the store is still current. Its own writes do not change it.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| Error::store(&self.path, e))
    }

    /// Sets how many pages the write-ahead log may grow by before a commit
    /// of this connection checkpoints it (SQLite's `wal_autocheckpoint`;
    /// 0: never, some other connection calls [`Store::checkpoint`]). A
    /// server that must answer quickly after each commit turns it off and
    /// checkpoints from another thread.
    pub fn set_auto_checkpoint(&self, pages: u32) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", pages).map_err(|e| Error::store(&self.path, e))
    }

    /// Copies what the write-ahead log holds into the store's file, as far
    /// as readers allow, without waiting for them or blocking writers
    /// (SQLite's `wal_checkpoint(PASSIVE)`).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(|e| Error::store(&self.path, e))
    }

    /// The number of stored events of one kind.
    pub fn count(&self, kind: EventKind) -> Result<u64> {
        let sql = match self.layout {
            Layout::Blocks => "SELECT coalesce((SELECT live FROM event_counts WHERE kind = ?1), 0)",
            Layout::Rows => "SELECT count(*) FROM events WHERE kind = ?1",
        };
        self.conn
            .query_row(sql, [kind_code(kind)], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| Error::store(&self.path, e))
    }

    /// The sync state a source left, if it ran before.
    pub fn sync_state(&self, source: &str) -> Result<Option<SyncState>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT state FROM sync_state WHERE source = ?1", [source], |r| r.get(0))
            .optional()
            .map_err(|e| Error::store(&self.path, e))?;
        text.map(|t| {
            serde_json::from_str(&t).map(SyncState).map_err(|e| Error::Store {
                path: self.path.clone(),
                message: format!("the sync state of source `{source}` is not valid JSON: {e}"),
            })
        })
        .transpose()
    }

    /// The resolution kept for the incident `incident_id`
    /// ([`StoreWriter::resolve`]), if any: the earliest time it was
    /// resolved at. `None` as well from a store of schema version 1 or 2
    /// opened read-only (it has no resolutions).
    pub fn resolution(&self, incident_id: &str) -> Result<Option<DateTime<Utc>>> {
        if !schema::has_table(&self.conn, "incident_resolutions").map_err(|e| Error::store(&self.path, e))? {
            return Ok(None);
        }
        let at: Option<i64> = self
            .conn
            .query_row(
                "SELECT resolved_at FROM incident_resolutions WHERE incident_id = ?1",
                [incident_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| Error::store(&self.path, e))?;
        Ok(at.map(from_micros))
    }

    /// Every source that wrote a sync state, by name.
    pub fn sources(&self) -> Result<Vec<SourceEntry>> {
        let e = |e| Error::store(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT source, updated_at, state FROM sync_state ORDER BY source")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(e)?;
        let mut out = Vec::new();
        for row in rows {
            let (name, updated_at, state) = row.map_err(e)?;
            let state = SyncState(serde_json::from_str(&state).unwrap_or(serde_json::Value::Null));
            out.push(SourceEntry { name, updated_at, state });
        }
        Ok(out)
    }

    /// Reads every stored event into `set`, in the store's order, through
    /// the same parallel reader as a JSON Lines file. The read sees one
    /// snapshot: a collection committing meanwhile is not half-seen.
    pub fn load(&self, set: &mut EventSet, opts: &ReadOptions) -> Result<ReadSummary> {
        let e = |e| Error::store(&self.path, e);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let n = self.len()?;
        if n == 0 {
            return Err(Error::Store {
                path: self.path.clone(),
                message: "the store holds no events yet: run `dora import FILE` or `dora collect` first"
                    .into(),
            });
        }
        set.reserve(n as usize);
        let layout = self.layout;
        let mut stmt = tx.prepare(layout.all_records()).map_err(e)?;
        let mut rows = stmt.query([]).map_err(e)?;
        let path = self.path.clone();
        let summary =
            Pipeline { set, path: Some(&self.path), opts, input_bytes: 0 }.run(|sink| match layout {
                Layout::Blocks => blocks::produce_from_blocks(&mut rows, &path, sink),
                Layout::Rows => blocks::produce_blocks(&mut rows, &path, sink),
            });
        drop(rows);
        drop(stmt);
        tx.finish().map_err(e)?;
        summary
    }

    /// Calls `f` with every stored event, in the store's order, from one
    /// snapshot.
    pub fn for_each_event(&self, mut f: impl FnMut(Event) -> Result<()>) -> Result<()> {
        let e = |e| Error::store(&self.path, e);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        {
            let mut stmt = tx.prepare(self.layout.all_records()).map_err(e)?;
            let mut rows = stmt.query([]).map_err(e)?;
            let mut each = |bytes: &[u8]| {
                let raw = record::decode(bytes)
                    .map_err(|message| Error::Store { path: self.path.clone(), message })?;
                f(raw_to_owned(raw))
            };
            match self.layout {
                Layout::Blocks => events::for_each_live_record(&mut rows, &self.path, each)?,
                Layout::Rows => {
                    while let Some(row) = rows.next().map_err(e)? {
                        each(row.get_ref(1).map_err(e)?.as_blob().map_err(|x| e(x.into()))?)?;
                    }
                }
            }
        }
        tx.finish().map_err(e)
    }

    /// Starts a write: everything put through the writer becomes visible
    /// at once when it commits, or not at all.
    pub fn writer(&mut self) -> Result<StoreWriter<'_>> {
        let path = self.path.clone();
        let e = |e| Error::store(&path, e);
        if self.layout != Layout::Blocks {
            return Err(Error::Store { path, message: "the store was opened for reading only".into() });
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(e)?;
        let events = EventTables::start(&tx, &path, self.key_of)?;
        Ok(StoreWriter { tx, path, events, summary: WriteSummary::default() })
    }
}

/// An open write transaction. Dropping it without [`StoreWriter::commit`]
/// rolls everything back.
pub struct StoreWriter<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    events: EventTables,
    summary: WriteSummary,
}

impl std::fmt::Debug for StoreWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreWriter").field("path", &self.path).field("summary", &self.summary).finish()
    }
}

impl StoreWriter<'_> {
    fn err(&self, e: rusqlite::Error) -> Error {
        Error::store(&self.path, e)
    }

    /// Writes one event under the replacement rule. An incident with a
    /// kept resolution ([`StoreWriter::resolve`]) is written resolved.
    pub fn put(&mut self, event: &Event) -> Result<PutOutcome> {
        let mut bytes = Vec::with_capacity(256);
        let resolution = match event {
            Event::Incident(incident) => self.resolution_micros(&incident.id)?,
            _ => None,
        };
        match (event, resolution) {
            (Event::Incident(incident), Some(at)) => {
                let mut resolved = incident.clone();
                apply_resolution(&mut resolved, at);
                record::encode(&Event::Incident(resolved), &mut bytes);
            }
            _ => record::encode(event, &mut bytes),
        }
        self.put_record(event.kind(), event.id(), &bytes)
    }

    /// The kept resolution of an incident, in microseconds.
    fn resolution_micros(&self, incident_id: &str) -> Result<Option<Micros>> {
        let mut get = self
            .tx
            .prepare_cached("SELECT resolved_at FROM incident_resolutions WHERE incident_id = ?1")
            .map_err(|e| self.err(e))?;
        get.query_row([incident_id], |r| r.get(0)).optional().map_err(|e| self.err(e))
    }

    /// The kept resolutions of the incidents of `set` (none, without a
    /// query per incident, when the store keeps none).
    fn resolutions_of(&self, set: &EventSet) -> Result<HashMap<String, Micros>> {
        let mut found = HashMap::new();
        if set.count(EventKind::Incident) == 0 {
            return Ok(found);
        }
        let any: bool = self
            .tx
            .query_row("SELECT EXISTS (SELECT 1 FROM incident_resolutions)", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !any {
            return Ok(found);
        }
        for (slot, incident) in set.incidents.iter().enumerate() {
            if incident.is_some() {
                let id = set.incident_ids.resolve(slot as u32);
                if let Some(at) = self.resolution_micros(id)? {
                    found.insert(id.to_string(), at);
                }
            }
        }
        Ok(found)
    }

    /// Resolves the incident `incident_id` at `resolved_at`, stored or not:
    /// the resolution is kept (the earliest, when there are several), the
    /// stored incident with that id, if any, is rewritten resolved (at the
    /// earlier of its own `resolved_at` and this one), and any incident
    /// written under that id later is stored resolved as well. Like events,
    /// the resolution is visible only once the writer commits. Not counted
    /// in the [`WriteSummary`]: the outcome says what it did.
    ///
    /// ```
    /// use dora_core::store::{ResolveOutcome, Store};
    /// use dora_core::Incident;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut store = Store::open(&dir.path().join("dora.db"))?;
    /// let resolved_at = "2026-03-02T14:00:00Z".parse()?;
    /// let mut writer = store.writer()?;
    /// // The resolution comes first: kept until its incident is written.
    /// assert_eq!(writer.resolve("INC-1", resolved_at)?, ResolveOutcome::Pending);
    /// let incident = Incident { id: "INC-1".into(), service: "api".into(), team: None,
    ///     source: None, opened_at: "2026-03-02T13:00:00Z".parse()?, resolved_at: None,
    ///     caused_by: None, caused_by_change: None, severity: None };
    /// writer.put(&incident.into())?;
    /// assert_eq!(writer.resolve("INC-1", resolved_at)?, ResolveOutcome::Unchanged);
    /// writer.commit()?;
    ///
    /// let mut set = dora_core::EventSet::new();
    /// store.load(&mut set, &Default::default())?;
    /// assert_eq!(set.incident("INC-1").unwrap().resolved_at, Some(resolved_at));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(&mut self, incident_id: &str, resolved_at: DateTime<Utc>) -> Result<ResolveOutcome> {
        let at = to_micros(&resolved_at);
        self.tx
            .prepare_cached(
                "INSERT INTO incident_resolutions (incident_id, resolved_at) VALUES (?1, ?2)
                 ON CONFLICT (incident_id) DO UPDATE SET resolved_at = min(resolved_at, excluded.resolved_at)",
            )
            .and_then(|mut s| s.execute(params![incident_id, at]))
            .map_err(|e| self.err(e))?;
        let Some(seq) = self.events.find(&self.tx, EventKind::Incident, incident_id)? else {
            return Ok(ResolveOutcome::Pending);
        };
        let stored = self.events.record(&self.tx, seq)?;
        let raw =
            record::decode(stored).map_err(|message| Error::Store { path: self.path.clone(), message })?;
        let mut event = raw_to_owned(raw);
        if let Event::Incident(incident) = &mut event {
            apply_resolution(incident, at);
        }
        let mut bytes = Vec::with_capacity(256);
        record::encode(&event, &mut bytes);
        Ok(match self.write_record(EventKind::Incident, incident_id, &bytes)? {
            PutOutcome::Unchanged => ResolveOutcome::Unchanged,
            PutOutcome::Added | PutOutcome::Replaced => ResolveOutcome::Resolved,
        })
    }

    /// Writes one event given as its record, counted in the summary.
    fn put_record(&mut self, kind: EventKind, id: &str, record: &[u8]) -> Result<PutOutcome> {
        let outcome = self.write_record(kind, id, record)?;
        match outcome {
            PutOutcome::Added => self.summary.added += 1,
            PutOutcome::Replaced => self.summary.replaced += 1,
            PutOutcome::Unchanged => self.summary.unchanged += 1,
        }
        Ok(outcome)
    }

    /// Writes one event given as its record under the replacement rule.
    fn write_record(&mut self, kind: EventKind, id: &str, record: &[u8]) -> Result<PutOutcome> {
        self.events.put(&self.tx, kind, id, record)
    }

    /// Writes every event of `set`, in its order. For a large set a second
    /// thread encodes the events while this one writes them. Incidents with a kept
    /// resolution ([`StoreWriter::resolve`]) are written resolved.
    pub fn put_set(&mut self, set: &EventSet) -> Result<WriteSummary> {
        let before = self.summary;
        let resolutions = self.resolutions_of(set)?;
        // Filling an empty store: plain appends, then the identity keys
        // inserted once, in sorted order (much cheaper than looking each
        // up). The set's ids are unique per kind, so nothing can conflict;
        // all of it is inside the writer's transaction.
        let bulk = self.events.is_empty() && set.len() >= BULK_MIN;
        let (batches_tx, batches_rx) = crossbeam_channel::bounded::<Encoded>(4);
        let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Encoded>(4);
        let written = if set.len() <= BATCH {
            // One batch (a request of `dora serve`, say): encoded here,
            // without starting a thread for it.
            encode_batches(set, &resolutions, batches_tx, spare_rx);
            self.write_batches(&batches_rx, &spare_tx, bulk)
        } else {
            std::thread::scope(|scope| {
                let resolutions = &resolutions;
                scope.spawn(move || encode_batches(set, resolutions, batches_tx, spare_rx));
                let outcome = self.write_batches(&batches_rx, &spare_tx, bulk);
                // Dropping the receiver stops the encoder if this stopped early.
                drop(batches_rx);
                outcome
            })
        };
        let keys = written?;
        if bulk {
            self.events.insert_keys(&self.tx, keys)?;
        }
        Ok(WriteSummary {
            added: self.summary.added - before.added,
            replaced: self.summary.replaced - before.replaced,
            unchanged: self.summary.unchanged - before.unchanged,
        })
    }

    /// Writes the encoded batches received, handing each back for reuse,
    /// until the sender is done or a write fails. A bulk load appends
    /// without looking identities up and returns their keys, `(key, seq)`
    /// per event, for [`EventTables::insert_keys`].
    fn write_batches(
        &mut self,
        batches: &crossbeam_channel::Receiver<Encoded>,
        spare: &crossbeam_channel::Sender<Encoded>,
        bulk: bool,
    ) -> Result<Vec<(i64, i64)>> {
        let mut keys = Vec::new();
        for b in batches.iter() {
            let step = b.items.iter().try_for_each(|(kind, id, rec)| {
                let (id, rec) = (&b.ids[id.clone()], &b.records[rec.clone()]);
                if bulk {
                    let seq = self.events.append(&self.tx, *kind, rec)?;
                    keys.push((self.events.key(*kind, id), seq));
                    self.summary.added += 1;
                    Ok(())
                } else {
                    self.put_record(*kind, id, rec).map(|_| ())
                }
            });
            spare.try_send(b).ok();
            step?;
        }
        Ok(keys)
    }

    /// Records a source's new sync state, committed with the events.
    pub fn set_sync_state(&mut self, source: &str, state: &SyncState, now: &str) -> Result<()> {
        let text = serde_json::to_string(&state.0).unwrap_or_else(|_| "null".into());
        self.tx
            .execute(
                "INSERT INTO sync_state (source, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![source, text, now],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// What was written so far.
    pub fn summary(&self) -> WriteSummary {
        self.summary
    }

    /// Makes everything written visible at once.
    pub fn commit(mut self) -> Result<WriteSummary> {
        self.events.finish(&self.tx)?;
        let (summary, path) = (self.summary, self.path);
        self.tx.commit().map_err(|e| Error::store(&path, e))?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests;
