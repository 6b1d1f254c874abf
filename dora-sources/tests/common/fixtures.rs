//! Test helpers that the integration tests (through `common`) and the unit
//! tests (through `src/test_support.rs`, which includes this file) share:
//! the recorded fixtures, and git repositories made on the spot.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// The text of `../shared/fixtures/peer/<rel>` (read from there, never
/// copied), or `None` with a note when it is absent.
pub fn peer_text(rel: &str) -> Option<String> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/peer").join(rel);
    match std::fs::read_to_string(&full) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("note: {} is absent; this check is skipped", full.display());
            None
        }
    }
}

/// The JSON of `../shared/fixtures/peer/<rel>` (see [`peer_text`]); a file
/// that is there but does not parse fails the test.
pub fn peer_json<T: DeserializeOwned>(rel: &str) -> Option<T> {
    peer_text(rel).map(|text| serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

/// A git repository made in `dir` with the git command line: commits
/// `c1`..`c<commits>`, one a day from 2026-11-01, authored at 09:00 and
/// committed at 10:00 UTC. Their SHAs, oldest first.
pub fn git_repository(dir: &Path, commits: u32) -> Vec<String> {
    let git = |args: &[&str], date: &str| {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "a")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "a")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .env("GIT_AUTHOR_DATE", format!("{date}T09:00:00Z"))
            .env("GIT_COMMITTER_DATE", format!("{date}T10:00:00Z"))
            .output()
            .expect("git runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"], "2026-11-01");
    (1..=commits)
        .map(|i| {
            let date = format!("2026-11-{i:02}");
            git(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")], &date);
            git(&["rev-parse", "HEAD"], &date)
        })
        .collect()
}
