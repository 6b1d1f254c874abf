//! The engine alone, and the reader alone, on generated events (divan).
//!
//! `cargo bench -p dora-core --bench engine`

use chrono::{Duration, TimeZone, Utc};
use dora_core::{EventSet, Options, ReadOptions, Window, compute, read_jsonl};
use dora_demo::{DemoConfig, generate};

fn main() {
    divan::main();
}

/// A scaled-down benchmark preset: 40 services for 12 weeks (~70k lines).
fn events_text() -> Vec<u8> {
    let mut config = DemoConfig::benchmark();
    config.services = 40;
    config.teams = 8;
    config.days = 84;
    let mut out = Vec::new();
    generate(&config, &mut out).expect("generate in memory");
    out
}

fn options() -> Options {
    let start = Utc.with_ymd_and_hms(2025, 11, 24, 0, 0, 0).unwrap();
    Options::new(Window::new(start, start + Duration::days(84)).unwrap())
}

#[divan::bench(sample_count = 20)]
fn compute_metrics(bencher: divan::Bencher) {
    let text = events_text();
    let mut set = EventSet::new();
    read_jsonl(&text[..], None, &mut set, &ReadOptions::default()).unwrap();
    let opts = options();
    bencher.bench(|| compute(&set, &opts).unwrap().report.groups.len());
}

#[divan::bench(sample_count = 20)]
fn read_events(bencher: divan::Bencher) {
    let text = events_text();
    bencher.counter(divan::counter::BytesCount::new(text.len())).bench(|| {
        let mut set = EventSet::new();
        read_jsonl(&text[..], None, &mut set, &ReadOptions::default()).unwrap();
        set.len()
    });
}
