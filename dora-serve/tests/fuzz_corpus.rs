//! The fuzz corpus (`fuzz/corpus/`), replayed on stable Rust: every seed
//! through its fuzz target's body (`fuzz/src/lib.rs`, the same code
//! `cargo fuzz` runs), then random mutations of the seeds (bit flips, JSON
//! tokens inserted, bytes deleted, truncation, two seeds spliced). A
//! target must never panic and its errors must be one line.

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use proptest::prelude::*;

/// The seeds of `target`, by file name.
fn named_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{}: the corpus should have seeds", dir.display());
    files
        .iter()
        .map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(f).unwrap()))
        .collect()
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    named_corpus(target).into_iter().map(|(_, bytes)| bytes).collect()
}

/// Seeds named `bad-*` or `*unknown*` are refused; every other is accepted.
fn expected_accepted(name: &str) -> bool {
    !(name.starts_with("bad-") || name.contains("unknown"))
}

/// Pieces of JSON and of times that make a mutation likely to reach deep
/// into a parser rather than fail at the first byte.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "\\u0000",
    "\\ud800",
    "\n",
    "\r\n",
    " ",
    "\"kind\":",
    "\"deployment\"",
    "\"id\":",
    "T",
    "Z",
    "+05:30",
    "2026-02-29T24:00:00Z",
    ".999999999",
    "\u{1b}[2J",
    "\"specversion\":\"0.5.1\"",
    "dev.cdevents.service.deployed.0.3.0",
    "ce-type: ",
    "\n\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, token: usize },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
    Splice { other: usize, at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), any::<usize>()).prop_map(|(other, at)| Mutation::Splice { other, at }),
    ]
}

fn mutate(seeds: &[Vec<u8>], seed: usize, mutations: &[Mutation]) -> Vec<u8> {
    let mut data = seeds[seed % seeds.len()].clone();
    for m in mutations {
        let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match *m {
            Mutation::Flip { at, bit } if !data.is_empty() => {
                let i = at % data.len();
                data[i] ^= 1 << bit;
            }
            Mutation::Flip { .. } => {}
            Mutation::Insert { at, token } => {
                let i = pos(at, data.len());
                data.splice(i..i, TOKENS[token].bytes());
            }
            Mutation::Delete { at, len } => {
                let i = pos(at, data.len());
                let end = (i + len).min(data.len());
                data.drain(i..end);
            }
            Mutation::Truncate { at } => data.truncate(pos(at, data.len())),
            Mutation::Splice { other, at } => {
                let other = &seeds[other % seeds.len()];
                let i = pos(at, data.len());
                let j = pos(at / 3, other.len());
                data.truncate(i);
                data.extend_from_slice(&other[j..]);
            }
        }
    }
    data
}

static EVENT_SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| corpus("events_jsonl"));
static CDEVENT_SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| corpus("cdevents"));
static WEBHOOK_SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| corpus("webhook"));
static FOCUS_SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| corpus("focus_csv"));

#[test]
fn every_seed_passes_its_target() {
    for (name, seed) in named_corpus("events_jsonl") {
        assert_eq!(targets::events_jsonl(&seed), expected_accepted(&name), "events_jsonl seed {name}");
    }
    for (name, seed) in named_corpus("cdevents") {
        assert_eq!(targets::cdevents(&seed), expected_accepted(&name), "cdevents seed {name}");
    }
    for (name, seed) in named_corpus("webhook") {
        assert_eq!(targets::webhook(&seed), expected_accepted(&name), "webhook seed {name}");
    }
    for (name, seed) in named_corpus("focus_csv") {
        assert_eq!(targets::focus_csv(&seed), expected_accepted(&name), "focus_csv seed {name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_event_lines_never_panic(seed in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..8)) {
        targets::events_jsonl(&mutate(&EVENT_SEEDS, seed, &mutations));
    }

    #[test]
    fn mutated_cdevents_never_panic(seed in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..8)) {
        targets::cdevents(&mutate(&CDEVENT_SEEDS, seed, &mutations));
    }

    #[test]
    fn mutated_webhooks_never_panic(seed in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..8)) {
        targets::webhook(&mutate(&WEBHOOK_SEEDS, seed, &mutations));
    }

    #[test]
    fn mutated_focus_exports_never_panic(seed in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..8)) {
        targets::focus_csv(&mutate(&FOCUS_SEEDS, seed, &mutations));
    }
}
