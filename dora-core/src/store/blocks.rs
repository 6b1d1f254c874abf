//! The stored records, cut into blocks for the parallel reader.

use std::path::Path;

use crate::read::BlockSink;

fn io_error(path: &Path, e: rusqlite::Error) -> std::io::Error {
    std::io::Error::other(format!("{}: reading the store: {e}", path.display()))
}

/// Appends each row's record (after its `u32` length) to blocks of about
/// [`BlockSink::BLOCK_BYTES`], handing each full block to `sink`: one copy,
/// from SQLite's value to the block.
pub(crate) fn produce_blocks(
    rows: &mut rusqlite::Rows<'_>,
    path: &Path,
    sink: &mut BlockSink,
) -> std::io::Result<()> {
    let mut block = sink.buffer();
    while let Some(row) = rows.next().map_err(|e| io_error(path, e))? {
        let record =
            row.get_ref(0).and_then(|v| v.as_blob().map_err(Into::into)).map_err(|e| io_error(path, e))?;
        let len =
            u32::try_from(record.len()).map_err(|_| std::io::Error::other("a stored record over 4 GiB"))?;
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(record);
        if block.len() >= BlockSink::BLOCK_BYTES {
            let next = sink.buffer();
            if !sink.send_records(std::mem::replace(&mut block, next)) {
                return Ok(());
            }
        }
    }
    if !block.is_empty() {
        sink.send_records(block);
    }
    Ok(())
}
