//! The conformance vectors of `../shared/spec/vectors`, run through the CLI
//! and compared as the spec's README says.

use serde_json::Value;

use crate::util::{dora, shared};

fn inst(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time string")).expect("RFC 3339").timestamp()
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * 1f64.max(x.abs()).max(y.abs()),
        _ => a.is_null() && b.is_null(),
    }
}

const FIELDS: &[&str] = &["deployments", "deploy_days", "deployments_per_day", "failed_attempts"];
const NESTED: &[(&str, &[&str])] = &[
    ("lead_time", &["count", "median", "p90"]),
    ("change_failure_rate", &["failed", "deployments", "rate"]),
    ("time_to_restore", &["count", "unresolved", "median", "p90"]),
    ("recovery_time", &["count", "unrecovered", "median", "p90"]),
    ("rework_rate", &["rework", "deployments", "rate"]),
];

fn compare_figures(path: &str, e: &Value, a: &Value, out: &mut Vec<String>) {
    for f in FIELDS {
        if !num_eq(&e[f], &a[f]) {
            out.push(format!("{path}.{f}: expected {} got {}", e[f], a[f]));
        }
    }
    for (name, subs) in NESTED {
        for s in *subs {
            if !num_eq(&e[name][s], &a[name][s]) {
                out.push(format!("{path}.{name}.{s}: expected {} got {}", e[name][s], a[name][s]));
            }
        }
    }
}

fn compare(exp: &Value, act: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if act["schema"] != "dora.metrics/v1" {
        out.push(format!("schema {}", act["schema"]));
    }
    for k in ["since", "until"] {
        if inst(&exp["window"][k]) != inst(&act["window"][k]) {
            out.push(format!("window.{k}"));
        }
    }
    let key = |g: &Value| {
        (g["group_by"].as_str().unwrap_or("").to_string(), g["name"].as_str().unwrap_or("").to_string())
    };
    let eg: Vec<&Value> = exp["groups"].as_array().expect("groups").iter().collect();
    let ag: Vec<&Value> = act["groups"].as_array().expect("groups").iter().collect();
    if eg.len() != ag.len() {
        out.push(format!("{} groups expected, got {}", eg.len(), ag.len()));
    }
    for e in eg {
        let Some(a) = ag.iter().find(|a| key(a) == key(e)) else {
            out.push(format!("group {:?} missing", key(e)));
            continue;
        };
        let (ep, ap) = (e["periods"].as_array().expect("periods"), a["periods"].as_array().expect("periods"));
        if ep.len() != ap.len() {
            out.push(format!("{:?}: {} periods expected, got {}", key(e), ep.len(), ap.len()));
            continue;
        }
        for (i, (pe, pa)) in ep.iter().zip(ap).enumerate() {
            if inst(&pe["start"]) != inst(&pa["start"]) || inst(&pe["end"]) != inst(&pa["end"]) {
                out.push(format!("{:?}.periods[{i}] bounds", key(e)));
            }
            compare_figures(&format!("{:?}.periods[{i}]", key(e)), pe, pa, &mut out);
        }
        compare_figures(&format!("{:?}.summary", key(e)), &e["summary"], &a["summary"], &mut out);
        if e["summary"]["levels"] != a["summary"]["levels"] {
            out.push(format!(
                "{:?}.levels: expected {} got {}",
                key(e),
                e["summary"]["levels"],
                a["summary"]["levels"]
            ));
        }
    }
    let has = |v: &Value| v["warnings"].as_array().is_some_and(|w| !w.is_empty());
    if has(exp) && !has(act) {
        out.push("warnings expected".into());
    }
    out
}

/// Runs every vector, reading its events from the file, or (with
/// `via_store`) importing them into a fresh store and reading that.
fn run_vectors(via_store: bool) {
    let Some(shared) = shared() else { return };
    let dir = shared.join("spec/vectors");
    let tmp = tempfile::tempdir().unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no vectors in {}", dir.display());
    let mut failures = Vec::new();
    for case in &names {
        let args: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("args.json")).unwrap()).unwrap();
        let arg = |k: &str| args[k].as_str().unwrap().to_string();
        let mut cmd = dora(tmp.path());
        cmd.arg("metrics");
        if via_store {
            let store = tmp.path().join(format!("{}.db", case.file_name().unwrap().to_string_lossy()));
            let out = dora(tmp.path())
                .arg("import")
                .arg(case.join("events.jsonl"))
                .arg("--store")
                .arg(&store)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: {}", case.display(), String::from_utf8_lossy(&out.stderr));
            cmd.arg("--store").arg(&store);
        } else {
            cmd.arg("--events").arg(case.join("events.jsonl"));
        }
        let out = cmd
            .args(["--since", &arg("since"), "--until", &arg("until"), "--period", &arg("period")])
            .args(["--timezone", &arg("timezone"), "--attribution-window", &arg("attribution_window")])
            .args(["--lead-time-start", &arg("lead_time_start"), "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", case.display(), String::from_utf8_lossy(&out.stderr));
        let act: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap()).unwrap();
        let diffs = compare(&exp, &act);
        if !diffs.is_empty() {
            failures.push(format!("{}: {}", case.display(), diffs.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_shared_vector_matches() {
    run_vectors(false);
}

#[test]
fn every_shared_vector_matches_when_read_from_the_store() {
    run_vectors(true);
}
