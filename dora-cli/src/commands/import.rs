//! `dora import`: store the events of files, all of them or none.

use std::io::Write;

use anyhow::Result;
use dora_core::store::Store;
use dora_core::{EventSet, ReadOptions};

use crate::args::ImportArgs;
use crate::commands::metrics::read_event_files;
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
    for summary in read_event_files(&args.files, &mut set, &opts)? {
        for skipped in &summary.skipped {
            writeln!(err, "warning: skipped {skipped}")?;
        }
        lines += summary.events;
    }
    let mut store = Store::open(&store_path)?;
    // A large first import writes the file once, not through the log.
    let bulk = store.begin_bulk_load(set.len())?;
    let written = store.writer().and_then(|mut writer| {
        writer.put_set(&set)?;
        writer.commit()
    });
    if bulk {
        store.end_bulk_load()?;
    }
    let s = written?;
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
