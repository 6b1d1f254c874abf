//! Cost rows in the store (schema version 4; METRICS.md section 7).
//!
//! Rows are kept by *origin*: an imported file ([`CostOrigin::File`]) or
//! a cost source such as OpenCost ([`CostOrigin::Source`]). Importing a
//! file again replaces every row it gave before
//! ([`StoreWriter::replace_cost_rows`]); a source replaces its rows from
//! the start of what it fetched again on. Like events, rows become
//! visible when the writer commits, all of them or none.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreWriter};
use crate::cost::CostRow;
use crate::cost::focus::RawCostRow;
use crate::error::{Error, Result};
use crate::event::time::{Micros, from_micros, to_micros};

/// Where cost rows came from: what [`StoreWriter::replace_cost_rows`]
/// replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostOrigin<'a> {
    /// An imported export, by its path (the CLI stores the canonical,
    /// absolute path, so `./a.csv` and `a.csv` are one file).
    File(&'a str),
    /// A cost source of `dora.toml` (`kind = "opencost"`), by its name.
    Source(&'a str),
}

impl CostOrigin<'_> {
    fn kind(&self) -> &'static str {
        match self {
            CostOrigin::File(_) => "file",
            CostOrigin::Source(_) => "source",
        }
    }

    fn name(&self) -> &str {
        match self {
            CostOrigin::File(name) | CostOrigin::Source(name) => name,
        }
    }
}

/// What replacing an origin's cost rows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostWriteSummary {
    /// Rows written.
    pub stored: u64,
    /// Rows of the origin that were there before and were deleted.
    pub replaced: u64,
}

/// An origin whose rows are stored, as [`Store::cost_origins`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct CostOriginEntry {
    /// `file` or `source`.
    pub kind: String,
    /// The file's path or the source's name.
    pub name: String,
    /// When its rows were last written (RFC 3339, UTC).
    pub updated_at: String,
    /// How many rows it has.
    pub rows: u64,
}

/// Writes the rows of one origin inside a [`StoreWriter`]'s transaction
/// ([`StoreWriter::replace_cost_rows`]).
pub struct CostRowWriter<'w, 'a> {
    writer: &'w mut StoreWriter<'a>,
    origin: i64,
    next: i64,
    summary: CostWriteSummary,
    tags: String,
}

impl std::fmt::Debug for CostRowWriter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CostRowWriter").field("origin", &self.origin).field("summary", &self.summary).finish()
    }
}

/// The statement that writes one cost row.
const INSERT_COST_ROW: &str =
    "INSERT INTO cost_rows (origin, n, start, end, amount, currency, tags, resource_id,
     resource_name, service_name, sub_account_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// The SQLite page cache while cost rows are written, in KiB: a large
/// import spills to the log instead of holding its pages in memory.
const COST_WRITE_CACHE_KIB: i64 = 32 * 1024;

impl<'a> StoreWriter<'a> {
    /// Starts replacing the cost rows of `origin`: deletes those starting
    /// at `from` or later (every row of it when `from` is `None`), then
    /// takes new rows through [`CostRowWriter::push`]. Nothing is visible
    /// before [`StoreWriter::commit`]; dropping the writer keeps the rows
    /// the origin had.
    pub fn replace_cost_rows(
        &mut self,
        origin: CostOrigin<'_>,
        from: Option<DateTime<Utc>>,
        now: &str,
    ) -> Result<CostRowWriter<'_, 'a>> {
        let e = |err| Error::store(&self.path, err);
        // A large import must not keep every page it writes: this
        // connection's cache is 256 MiB for reading events.
        self.tx.pragma_update(None, "cache_size", -COST_WRITE_CACHE_KIB).map_err(e)?;
        self.tx
            .execute(
                "INSERT INTO cost_origins (kind, name, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, name) DO UPDATE SET updated_at = excluded.updated_at",
                params![origin.kind(), origin.name(), now],
            )
            .map_err(e)?;
        let id: i64 = self
            .tx
            .query_row(
                "SELECT id FROM cost_origins WHERE kind = ?1 AND name = ?2",
                params![origin.kind(), origin.name()],
                |r| r.get(0),
            )
            .map_err(e)?;
        let replaced = match from {
            None => self.tx.execute("DELETE FROM cost_rows WHERE origin = ?1", params![id]),
            Some(from) => self.tx.execute(
                "DELETE FROM cost_rows WHERE origin = ?1 AND start >= ?2",
                params![id, to_micros(&from)],
            ),
        }
        .map_err(e)? as u64;
        let next: i64 = self
            .tx
            .query_row("SELECT coalesce(max(n), 0) + 1 FROM cost_rows WHERE origin = ?1", params![id], |r| {
                r.get(0)
            })
            .map_err(e)?;
        Ok(CostRowWriter {
            writer: self,
            origin: id,
            next,
            summary: CostWriteSummary { stored: 0, replaced },
            tags: String::new(),
        })
    }
}

impl CostRowWriter<'_, '_> {
    /// Writes one row.
    pub fn push(&mut self, row: &CostRow) -> Result<()> {
        // The tags' text goes through one buffer kept between rows.
        let mut text = std::mem::take(&mut self.tags);
        text.clear();
        if let Some(map) = &row.tags {
            // Writing a map of JSON values into a string cannot fail.
            text.push_str(&serde_json::to_string(map).unwrap_or_else(|_| "{}".into()));
        }
        let raw = RawCostRow {
            start: row.start,
            end: row.end,
            amount: row.amount,
            currency: &row.currency,
            tags: row.tags.as_ref().map(|_| text.as_str()),
            resource_id: row.resource_id.as_deref(),
            resource_name: row.resource_name.as_deref(),
            service_name: row.service_name.as_deref(),
            sub_account_name: row.sub_account_name.as_deref(),
        };
        let pushed = self.push_raw(&raw);
        self.tags = text;
        pushed
    }

    /// Writes one row read by [`crate::cost::focus::FocusReader::read_raw`]
    /// (its tags stored as the text it has).
    pub fn push_raw(&mut self, row: &RawCostRow<'_>) -> Result<()> {
        let path = &self.writer.path;
        let mut insert = self.writer.tx.prepare_cached(INSERT_COST_ROW).map_err(|e| Error::store(path, e))?;
        insert
            .execute(params![
                self.origin,
                self.next,
                to_micros(&row.start),
                to_micros(&row.end),
                row.amount,
                row.currency,
                row.tags,
                row.resource_id,
                row.resource_name,
                row.service_name,
                row.sub_account_name,
            ])
            .map_err(|e| Error::store(path, e))?;
        self.next += 1;
        self.summary.stored += 1;
        Ok(())
    }

    /// What was written so far.
    pub fn summary(&self) -> CostWriteSummary {
        self.summary
    }

    /// Ends this origin's rows (the transaction goes on until
    /// [`StoreWriter::commit`]).
    pub fn finish(self) -> CostWriteSummary {
        self.summary
    }
}

/// Whether the store's schema has the cost tables (version 4 and later; a
/// read-only store may be older).
fn has_cost_tables(store: &Store) -> Result<bool> {
    super::schema::has_table(&store.conn, "cost_rows").map_err(|e| Error::store(&store.path, e))
}

/// A stored cost row's columns: start, end, amount, currency, tags, and
/// the four fields allocation rules match.
type StoredCostRow = (Micros, Micros, f64, String, Option<String>, [Option<String>; 4]);

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCostRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?]))
}

impl Store {
    /// Calls `f` with each stored cost row in the window `[since, until)`:
    /// a row whose charge period overlaps it, or whose period is one
    /// instant inside it (METRICS.md section 7: "in the window"). Rows come
    /// by origin, in the order they were written. A store older than
    /// schema version 4 has none.
    pub fn for_each_cost_row(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut f: impl FnMut(CostRow) -> Result<()>,
    ) -> Result<()> {
        if !has_cost_tables(self)? {
            return Ok(());
        }
        let e = |err| Error::store(&self.path, err);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT start, end, amount, currency, tags, resource_id, resource_name, service_name,
                 sub_account_name FROM cost_rows
                 WHERE start < ?2 AND (end > ?1 OR (end = start AND start >= ?1))
                 ORDER BY origin, n",
            )
            .map_err(e)?;
        let mut rows = stmt.query(params![to_micros(&since), to_micros(&until)]).map_err(e)?;
        while let Some(r) = rows.next().map_err(e)? {
            let (
                start,
                end,
                amount,
                currency,
                tags,
                [resource_id, resource_name, service_name, sub_account_name],
            ) = row_of(r).map_err(e)?;
            let tags = match tags {
                None => None,
                Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(map)) => Some(map),
                    _ => {
                        return Err(Error::Store {
                            path: self.path.clone(),
                            message: format!("a stored cost row's tags are not a JSON object: {text:?}"),
                        });
                    }
                },
            };
            f(CostRow {
                start: from_micros(start),
                end: from_micros(end),
                amount,
                currency,
                tags,
                resource_id,
                resource_name,
                service_name,
                sub_account_name,
            })?;
        }
        Ok(())
    }

    /// The stored cost rows in the window `[since, until)`
    /// ([`Store::for_each_cost_row`]).
    pub fn cost_rows(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<CostRow>> {
        let mut out = Vec::new();
        self.for_each_cost_row(since, until, |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// The origins with stored cost rows (files and sources), by kind and
    /// name.
    pub fn cost_origins(&self) -> Result<Vec<CostOriginEntry>> {
        if !has_cost_tables(self)? {
            return Ok(Vec::new());
        }
        let e = |err| Error::store(&self.path, err);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT o.kind, o.name, o.updated_at, (SELECT count(*) FROM cost_rows r WHERE r.origin = o.id)
                 FROM cost_origins o ORDER BY o.kind, o.name",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CostOriginEntry {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    updated_at: r.get(2)?,
                    rows: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(e)?;
        rows.collect::<rusqlite::Result<_>>().map_err(e)
    }
}

/// The cost rows of a store as the engine's cost input
/// ([`crate::cost::CostSource`]): each window the engine computes is read
/// from the store as it is then, streamed row by row (the store is opened
/// read-only for each read, so the source is `Sync` and holds no
/// connection between reads).
#[derive(Debug, Clone)]
pub struct StoreCostSource {
    path: std::path::PathBuf,
}

impl StoreCostSource {
    /// The cost rows of the store at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl crate::cost::CostSource for StoreCostSource {
    fn feed(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        into: &mut crate::cost::CostAccumulator<'_>,
    ) -> Result<()> {
        Store::open_read_only(&self.path)?.for_each_cost_row(since, until, |row| into.add(&row))
    }
}
