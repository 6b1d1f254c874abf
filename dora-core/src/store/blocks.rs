//! The stored records, cut into blocks for the parallel reader.

use std::path::Path;

use super::layout::for_each_live_run;
use crate::read::BlockSink;

fn io_error(path: &Path, e: rusqlite::Error) -> std::io::Error {
    std::io::Error::other(format!("{}: reading the store: {e}", path.display()))
}

/// Hands `block` to `sink` once it is full, taking a fresh buffer; false
/// when the reader stopped.
fn send_if_full(block: &mut Vec<u8>, sink: &mut BlockSink) -> bool {
    if block.len() < BlockSink::BLOCK_BYTES {
        return true;
    }
    let next = sink.buffer();
    sink.send_records(std::mem::replace(block, next))
}

/// The blob in column 1 of `row`.
fn blob<'r>(row: &'r rusqlite::Row<'_>, path: &Path) -> std::io::Result<&'r [u8]> {
    row.get_ref(1).and_then(|v| v.as_blob().map_err(Into::into)).map_err(|e| io_error(path, e))
}

/// Appends what `append` takes from each row to blocks of about
/// [`BlockSink::BLOCK_BYTES`], handing each full block (and the last) to
/// `sink`, until the rows end or the reader stops.
fn produce(
    rows: &mut rusqlite::Rows<'_>,
    path: &Path,
    sink: &mut BlockSink,
    mut append: impl FnMut(&rusqlite::Row<'_>, &mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut block = sink.buffer();
    while let Some(row) = rows.next().map_err(|e| io_error(path, e))? {
        append(row, &mut block)?;
        if !send_if_full(&mut block, sink) {
            return Ok(());
        }
    }
    if !block.is_empty() {
        sink.send_records(block);
    }
    Ok(())
}

/// Appends the live records of each stored block (rows of `first_seq,
/// records`: lengths and records, as the reader takes them) to blocks of
/// about [`BlockSink::BLOCK_BYTES`], handing each full block to `sink`: one
/// copy per run of live records, from SQLite's value to the block.
pub(crate) fn produce_from_blocks(
    rows: &mut rusqlite::Rows<'_>,
    path: &Path,
    sink: &mut BlockSink,
) -> std::io::Result<()> {
    produce(rows, path, sink, |row, block| {
        let first: i64 = row.get(0).map_err(|e| io_error(path, e))?;
        for_each_live_run(blob(row, path)?, |run| block.extend_from_slice(run)).map_err(|m| {
            std::io::Error::other(format!("{}: the block of events from {first}: {m}", path.display()))
        })
    })
}

/// Appends each row's record (rows of `seq, record`, a store of schema
/// version 4 or older, after its `u32` length) to blocks of about
/// [`BlockSink::BLOCK_BYTES`], handing each full block to `sink`.
pub(crate) fn produce_blocks(
    rows: &mut rusqlite::Rows<'_>,
    path: &Path,
    sink: &mut BlockSink,
) -> std::io::Result<()> {
    produce(rows, path, sink, |row, block| {
        let record = blob(row, path)?;
        let len =
            u32::try_from(record.len()).map_err(|_| std::io::Error::other("a stored record over 4 GiB"))?;
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(record);
        Ok(())
    })
}
