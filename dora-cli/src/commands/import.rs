//! `dora import`: store the events of files, all of them or none.

use std::io::Write;

use anyhow::Result;
use dora_core::store::Store;
use dora_core::{EventSet, ReadOptions, read_csv, read_jsonl, read_jsonl_path};

use crate::args::ImportArgs;
use crate::commands::metrics::is_csv;
use crate::config::LoadedConfig;

/// Runs `dora import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let store_path = loaded.store_path(args.store.store.as_deref());
    // Read and check everything before the store is touched.
    let opts = ReadOptions { skip_bad_lines: args.skip_bad_lines, ..ReadOptions::default() };
    let mut set = EventSet::new();
    let mut err = std::io::stderr().lock();
    let mut lines = 0;
    for path in &args.files {
        let summary = if path.as_os_str() == "-" {
            read_jsonl(std::io::stdin().lock(), Some(std::path::Path::new("<stdin>")), &mut set, &opts)?
        } else if is_csv(path) {
            let file = std::fs::File::open(path)
                .map_err(|e| dora_core::Error::Io { path: Some(path.clone()), error: e })?;
            read_csv(std::io::BufReader::new(file), path, &mut set, &opts)?
        } else {
            read_jsonl_path(path, &mut set, &opts)?
        };
        for skipped in &summary.skipped {
            writeln!(err, "warning: skipped {skipped}")?;
        }
        lines += summary.events;
    }
    let mut store = Store::open(&store_path)?;
    let mut writer = store.writer()?;
    writer.put_set(&set)?;
    let s = writer.commit()?;
    let files = args.files.len();
    println!(
        "imported {lines} events from {files} file{} into {}: {} added, {} replaced, {} unchanged",
        if files == 1 { "" } else { "s" },
        store_path.display(),
        s.added,
        s.replaced,
        s.unchanged
    );
    // The process ends right after this.
    std::mem::forget(set);
    Ok(())
}
