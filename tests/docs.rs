//! The examples of the docs are valid input: every `jsonl` and `csv` block
//! of docs/events.md is a complete file that dora reads without an error,
//! and the JSON Lines and CSV examples hold the same events.

use crate::util::{dora, root, write};

/// The fenced blocks of `text` whose info string is `lang`.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == format!("```{lang}") => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

fn export(dir: &std::path::Path, files: &[std::path::PathBuf]) -> String {
    let store = dir.join("store.db");
    let mut import = dora(dir);
    import.arg("import").arg("--store").arg(&store).args(files);
    let out = import.output().unwrap();
    assert!(out.status.success(), "dora import: {}", String::from_utf8_lossy(&out.stderr));
    let out =
        dora(dir).args(["export", "events", "--format", "jsonl", "--store"]).arg(&store).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn every_example_in_the_event_reference_is_read() {
    let text = std::fs::read_to_string(root().join("docs/events.md")).unwrap();
    let (jsonl, csv) = (blocks(&text, "jsonl"), blocks(&text, "csv"));
    assert!(
        jsonl.len() >= 4 && csv.len() >= 3,
        "the examples are gone: {} jsonl, {} csv",
        jsonl.len(),
        csv.len()
    );
    let dir = tempfile::tempdir().unwrap();
    // Each block on its own, as a file of its format.
    let files = |blocks: &[String], ext: &str| -> Vec<std::path::PathBuf> {
        blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let path = write(dir.path(), &format!("example{i}.{ext}"), block);
                let out = dora(dir.path())
                    .args(["metrics", "--format", "json", "--events"])
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{ext} block {i}: {}\n{block}",
                    String::from_utf8_lossy(&out.stderr)
                );
                path
            })
            .collect()
    };
    let (jsonl_files, csv_files) = (files(&jsonl, "jsonl"), files(&csv, "csv"));
    // The first JSON Lines block shows replacement; the others hold the
    // same events as the CSV blocks.
    assert_eq!(export(dir.path(), &jsonl_files[1..]), export(dir.path(), &csv_files));
}
