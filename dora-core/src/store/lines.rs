//! The stored lines, cut into blocks for the parallel JSON Lines reader.

use std::path::Path;

use crate::read::BlockSink;

fn io_error(path: &Path, e: rusqlite::Error) -> std::io::Error {
    std::io::Error::other(format!("{}: reading the store: {e}", path.display()))
}

/// Appends each row's line (and a newline) to blocks of about
/// [`BlockSink::BLOCK_BYTES`], handing each full block to `sink`: one copy,
/// from SQLite's page to the block.
pub(crate) fn produce_blocks(
    rows: &mut rusqlite::Rows<'_>,
    path: &Path,
    sink: &mut BlockSink<'_>,
) -> std::io::Result<()> {
    let mut block = sink.buffer();
    while let Some(row) = rows.next().map_err(|e| io_error(path, e))? {
        let line =
            row.get_ref(0).and_then(|v| v.as_bytes().map_err(Into::into)).map_err(|e| io_error(path, e))?;
        block.extend_from_slice(line);
        block.push(b'\n');
        if block.len() >= BlockSink::BLOCK_BYTES {
            let next = sink.buffer();
            if !sink.send(std::mem::replace(&mut block, next)) {
                return Ok(());
            }
        }
    }
    if !block.is_empty() {
        sink.send(block);
    }
    Ok(())
}
