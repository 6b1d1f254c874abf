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

/// The field reference of docs/events.md lists exactly the fields of the
/// event table (`dora_core::event::fields::FIELDS`), each under its kind,
/// required exactly where the table says so.
#[test]
fn the_event_reference_lists_every_field_of_the_table() {
    use dora_core::EventKind;
    use dora_core::event::fields::FIELDS;

    let text = std::fs::read_to_string(root().join("docs/events.md")).unwrap();
    // (section, column as the CSV names it, required) of each table row.
    let mut rows: Vec<(String, String, Option<bool>)> = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            section = h.trim().to_string();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| `name` | type | ... |`: cells[0] is empty (before the first bar).
        let Some(name) = cells.get(1).and_then(|c| c.strip_prefix('`')).and_then(|c| c.strip_suffix('`'))
        else {
            continue;
        };
        if section == "Deployment"
            || section == "Change"
            || section == "Incident"
            || section == "Fields of every kind"
        {
            // The members table of `pull_request` has three columns.
            let (column, required) = if cells.len() == 5 {
                (format!("pull_request.{name}"), None)
            } else {
                (name.to_string(), Some(cells[3] == "required"))
            };
            rows.push((section.clone(), column, required));
        }
    }
    let section_of = |kind: Option<EventKind>| match kind {
        None => "Fields of every kind",
        Some(EventKind::Deployment) => "Deployment",
        Some(EventKind::Change) => "Change",
        Some(EventKind::Incident) => "Incident",
    };
    for f in &FIELDS {
        let row = rows.iter().find(|(s, c, _)| s == section_of(f.kind) && c == f.column);
        let Some((_, _, required)) = row else {
            panic!("docs/events.md has no row for `{}` under {}", f.column, section_of(f.kind));
        };
        assert!(
            required.is_none_or(|r| r == f.required),
            "`{}`: required should be {}",
            f.column,
            f.required
        );
    }
    // And nothing the table does not hold (`pull_request` is the object).
    for (section, column, _) in &rows {
        assert!(
            column == "pull_request" || FIELDS.iter().any(|f| f.column == column),
            "docs/events.md lists `{column}` under {section}, which is no field"
        );
    }
}
