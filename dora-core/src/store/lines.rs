//! The stored lines as one byte stream, for the JSON Lines reader.

use std::io::Read;
use std::path::Path;

/// Reads `line\n` for each row of a `SELECT line ...` query.
pub(crate) struct RowLines<'stmt> {
    rows: rusqlite::Rows<'stmt>,
    path: &'stmt Path,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<'stmt> RowLines<'stmt> {
    pub fn new(rows: rusqlite::Rows<'stmt>, path: &'stmt Path) -> Self {
        Self { rows, path, pending: Vec::with_capacity(1 << 16), pos: 0, done: false }
    }

    /// Refills `pending` with whole lines, about 64 KiB at a time.
    fn refill(&mut self) -> std::io::Result<()> {
        self.pending.clear();
        self.pos = 0;
        while !self.done && self.pending.len() < (1 << 16) {
            match self.rows.next() {
                Ok(Some(row)) => {
                    let bytes =
                        row.get_ref(0).and_then(|v| v.as_bytes().map_err(Into::into)).map_err(|e| {
                            std::io::Error::other(format!("{}: reading the store: {e}", self.path.display()))
                        })?;
                    self.pending.extend_from_slice(bytes);
                    self.pending.push(b'\n');
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "{}: reading the store: {e}",
                        self.path.display()
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Read for RowLines<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.pending.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
