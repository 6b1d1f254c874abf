//! `kind = "file"`: JSON Lines and CSV event files.

use std::path::Path;

use anyhow::Result;
use dora_core::source::FileSource;
use serde::Serialize;

use super::SourceTable;

/// A `file` source, checked.
#[derive(Debug, Clone, Serialize)]
pub struct FileSettings {
    /// The source's name.
    pub name: String,
    /// Paths or glob patterns (each a valid pattern), relative to `dora.toml`.
    pub paths: Vec<String>,
    /// Skip invalid lines and rows (each is reported) instead of failing.
    pub skip_bad_lines: bool,
}

impl TryFrom<&mut SourceTable<'_>> for FileSettings {
    type Error = anyhow::Error;

    fn try_from(table: &mut SourceTable<'_>) -> Result<Self> {
        let paths = table.strings("paths")?.unwrap_or_default();
        if paths.is_empty() {
            return Err(table.error("paths", "list at least one path or glob"));
        }
        if let Some((p, e)) = paths.iter().find_map(|p| glob::Pattern::new(p).err().map(|e| (p, e))) {
            return Err(table.error("paths", format!("{p:?}: {e}")));
        }
        let skip_bad_lines = table.flag("skip_bad_lines")?.unwrap_or(false);
        Ok(FileSettings { name: table.name.clone(), paths, skip_bad_lines })
    }
}

impl FileSettings {
    /// The source, reading relative paths from `base`.
    pub fn source(&self, base: &Path) -> FileSource {
        let mut source = FileSource::new(&self.name, self.paths.clone(), base);
        source.read_options.skip_bad_lines = self.skip_bad_lines;
        source
    }
}
