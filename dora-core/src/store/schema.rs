//! The store's schema and its migrations.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 5;

/// The oldest schema version this build reads without migrating it:
/// versions 2 to 4 only added what version 1 stores never hold (a reader
/// never needs the resolutions of version 3: they are already applied to
/// the stored incidents; a store below version 4 has no cost rows, which
/// [`crate::store::Store::for_each_cost_row`] reads as none), and a reader
/// reads the events of a store below version 5 from its one row per event.
const OLDEST_READABLE: i64 = 1;

/// Marks a SQLite file as a dora store (`PRAGMA application_id`, "dora").
pub(crate) const APPLICATION_ID: i64 = 0x646f_7261;

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 0 -> 1: events by (kind, id), in the store's order (`seq`), each as a
    // binary record (`read::record`); sync state per source.
    "CREATE TABLE events (
        seq    INTEGER PRIMARY KEY,
        kind   INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
        id     TEXT    NOT NULL,
        record BLOB    NOT NULL
    );
    CREATE UNIQUE INDEX events_identity ON events (kind, id);
    CREATE TABLE sync_state (
        source     TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );",
    // 1 -> 2: a deployment record may end with a note (record version 2).
    // No table changes; the version keeps an older dora, which cannot decode
    // such records, from reading the store.
    "",
    // 2 -> 3: resolutions of incidents by id (`StoreWriter::resolve`), kept
    // so that an incident written later under that id is stored resolved.
    // The version keeps an older dora, which would write such an incident
    // open, from writing the store.
    "CREATE TABLE incident_resolutions (
        incident_id TEXT    PRIMARY KEY,
        resolved_at INTEGER NOT NULL
    );",
    // 3 -> 4: cost rows (METRICS.md section 7), by origin: an imported
    // FOCUS file (its canonical path) or a cost source (its name). An
    // origin's rows are numbered from 1 in the order they came (`n`), so
    // replacing an origin's rows deletes one range of the primary key.
    // Times are microseconds since the epoch (UTC); `tags` is the JSON
    // object's text, NULL when the row has none.
    "CREATE TABLE cost_origins (
        id          INTEGER PRIMARY KEY,
        kind        TEXT    NOT NULL CHECK (kind IN ('file', 'source')),
        name        TEXT    NOT NULL,
        updated_at  TEXT    NOT NULL,
        UNIQUE (kind, name)
    );
    CREATE TABLE cost_rows (
        origin           INTEGER NOT NULL REFERENCES cost_origins (id),
        n                INTEGER NOT NULL,
        start            INTEGER NOT NULL,
        end              INTEGER NOT NULL,
        amount           REAL    NOT NULL,
        currency         TEXT    NOT NULL,
        tags             TEXT,
        resource_id      TEXT,
        resource_name    TEXT,
        service_name     TEXT,
        sub_account_name TEXT,
        PRIMARY KEY (origin, n)
    ) WITHOUT ROWID;",
    // 4 -> 5: events in blocks of records, found by a hash of their
    // identity (`store::layout`), instead of one row per event and an index
    // of their ids' text; live events counted per kind. The rows of the old
    // `events` table are moved over and the table dropped by
    // `events::convert_rows`, in the same transaction.
    "CREATE TABLE event_blocks (
        first_seq INTEGER PRIMARY KEY,
        count     INTEGER NOT NULL CHECK (count > 0),
        records   BLOB    NOT NULL
    );
    CREATE TABLE event_keys (
        key INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    CREATE TABLE event_counts (
        kind INTEGER PRIMARY KEY CHECK (kind IN (0, 1, 2)),
        live INTEGER NOT NULL
    );",
];

fn versions(conn: &Connection, path: &Path) -> Result<(i64, i64)> {
    let e = |e| Error::store(path, e);
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(e)?;
    let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(e)?;
    Ok((version, app))
}

fn check(path: &Path, version: i64, app: i64, empty: bool) -> Result<()> {
    if app != APPLICATION_ID && !(app == 0 && empty) {
        return Err(Error::Store {
            path: path.to_path_buf(),
            message: "this SQLite file is not a dora store".into(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::Store {
            path: path.to_path_buf(),
            message: format!(
                "the store has schema version {version}, newer than this dora knows (up to {SCHEMA_VERSION}): \
                 it was written by a newer dora; upgrade dora to use it (the store was not changed)"
            ),
        });
    }
    Ok(())
}

/// Whether the store has the table `name` (a read-only store may be of an
/// older schema without it).
pub(crate) fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

fn is_empty(conn: &Connection, path: &Path) -> Result<bool> {
    conn.query_row("SELECT count(*) = 0 FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| Error::store(path, e))
}

/// The schema version, the application id and whether the file is empty,
/// read in one transaction: another process creating the store commits
/// its tables and its id together, so these reads must see one state.
fn snapshot(conn: &Connection, path: &Path) -> Result<(i64, i64, bool)> {
    let tx = conn.unchecked_transaction().map_err(|e| Error::store(path, e))?;
    let state = state(&tx, path)?;
    tx.finish().map_err(|e| Error::store(path, e))?;
    Ok(state)
}

/// The schema version, the application id and whether the file is empty,
/// inside the caller's transaction.
fn state(conn: &Connection, path: &Path) -> Result<(i64, i64, bool)> {
    let (version, app) = versions(conn, path)?;
    Ok((version, app, is_empty(conn, path)?))
}

/// Refuses, without writing anything, a SQLite file that is not a store or
/// has a schema newer than this build knows.
pub(crate) fn refuse_unknown(conn: &Connection, path: &Path) -> Result<()> {
    let (version, app, empty) = snapshot(conn, path)?;
    check(path, version, app, empty)
}

/// Brings the schema to [`SCHEMA_VERSION`], in one transaction; refuses a
/// newer schema or a SQLite file that is not a store, without changing it.
pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let e = |e| Error::store(path, e);
    let (version, app, empty) = snapshot(conn, path)?;
    check(path, version, app, empty)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    // Take the write lock before reading (`BEGIN IMMEDIATE`): a deferred
    // transaction that reads, then writes, cannot wait for a concurrent
    // writer (SQLite answers "database is locked" at once, whatever the
    // busy timeout), which is what two processes creating a store do.
    let tx =
        rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate).map_err(e)?;
    // Read again inside the transaction: another process may have migrated.
    let (version, app, empty) = state(&tx, path)?;
    check(path, version, app, empty)?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(|err| Error::Store {
            path: path.to_path_buf(),
            message: format!("migrating the schema from version {from}: {err}"),
        })?;
    }
    if version < 5 {
        super::events::convert_rows(&tx, path)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(e)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(e)?;
    tx.commit().map_err(e)?;
    if (1..5).contains(&version) {
        // The old `events` table and its index are free pages now, more
        // than half the file: give them back once. Best effort: the store
        // is complete without it (later writes reuse free pages), and a
        // VACUUM that fails (a full disk, a busy reader) changes nothing.
        // Its copy of the store goes to a temporary file, not to memory as
        // the store's other temporary tables do, with a small page cache (the
        // copy takes the store's): a service migrating on start-up must not
        // need the store's size in memory.
        let cache: i64 = conn.pragma_query_value(None, "cache_size", |r| r.get(0)).map_err(e)?;
        let temp: i64 = conn.pragma_query_value(None, "temp_store", |r| r.get(0)).map_err(e)?;
        conn.execute_batch("PRAGMA temp_store = FILE; PRAGMA cache_size = -16384;").map_err(e)?;
        let _ = conn.execute_batch("VACUUM");
        conn.pragma_update(None, "cache_size", cache).map_err(e)?;
        conn.pragma_update(None, "temp_store", temp).map_err(e)?;
    }
    Ok(())
}

/// Checks that a store opened read-only has a schema this build reads.
pub(crate) fn check_readable(conn: &Connection, path: &Path) -> Result<()> {
    let (version, app, empty) = snapshot(conn, path)?;
    check(path, version, app, empty)?;
    if version < OLDEST_READABLE {
        return Err(Error::Store {
            path: path.to_path_buf(),
            message: format!(
                "the store has schema version {version}; run `dora import` or `dora collect` once to migrate it"
            ),
        });
    }
    Ok(())
}
