//! The store through the CLI: `dora import`, `collect`, `export`,
//! `config check`, and `metrics` reading the store.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::{dora, root, write};

const CHANGE: &str = r#"{"kind":"change","id":"c1","service":"api","committed_at":"2026-03-02T09:00:00Z"}"#;
const CHANGE_V2: &str =
    r#"{"kind":"change","id":"c1","service":"api","committed_at":"2026-03-02T08:00:00Z"}"#;
const DEPLOY: &str = r#"{"kind":"deployment","id":"d1","service":"api","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success","changes":["c1"]}"#;

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = dora(dir).args(args).output().unwrap();
    assert!(out.status.success(), "dora {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn export(dir: &Path) -> String {
    run_ok(dir, &["export", "events", "--format", "jsonl"])
}

/// A large events file: `n` changes of 50 services.
fn big_file(dir: &Path, n: usize) -> PathBuf {
    use std::io::Write;
    let path = dir.join("big.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..n {
        writeln!(
            f,
            r#"{{"kind":"change","id":"big{i}","service":"svc{}","committed_at":"2026-03-02T09:{:02}:00Z"}}"#,
            i % 50,
            i % 60
        )
        .unwrap();
    }
    f.flush().unwrap();
    path
}

/// Starts `dora import FILE` in `dir` without waiting for it.
fn spawn_import(dir: &Path, file: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("dora"))
        .current_dir(dir)
        .arg("import")
        .arg(file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

#[test]
fn import_then_metrics_from_the_store_equal_metrics_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let demo = root().join("examples/demo/events.jsonl");
    let demo = demo.to_str().unwrap();
    let out = run_ok(dir.path(), &["import", demo]);
    assert!(out.starts_with("imported 3641 events from 1 file into ./.dora/dora.db: 3641 added"), "{out}");
    let window = ["--since", "2026-05-25", "--until", "2026-11-23", "--format", "json"];
    let from_store = run_ok(dir.path(), &[&["metrics"][..], &window].concat());
    let from_file = run_ok(dir.path(), &[&["metrics", "--events", demo][..], &window].concat());
    assert_eq!(from_store, from_file);
    // Importing again changes nothing.
    let out = run_ok(dir.path(), &["import", demo]);
    assert!(out.ends_with("0 added, 0 replaced, 3641 unchanged\n"), "{out}");
}

#[test]
fn the_replacement_rule_holds_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    write(dir.path(), "b.jsonl", &format!("{CHANGE_V2}\n{DEPLOY}\n"));
    run_ok(dir.path(), &["import", "a.jsonl"]);
    let out = run_ok(dir.path(), &["import", "b.jsonl"]);
    assert!(out.ends_with("0 added, 1 replaced, 1 unchanged\n"), "{out}");
    // The new version of c1 takes the newest position, as a later line would.
    // (Stored in canonical form: the deployment's default `type` is spelled out.)
    let deploy = DEPLOY.replace("]}", "],\"type\":\"regular\"}");
    assert_eq!(export(dir.path()), format!("{deploy}\n{CHANGE_V2}\n"));
}

#[test]
fn a_bad_file_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.jsonl", &format!("{CHANGE}\n"));
    write(dir.path(), "bad.jsonl", &format!("{DEPLOY}\n{{\"kind\":\"change\"}}\n"));
    let out = dora(dir.path()).args(["import", "good.jsonl", "bad.jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl:2: field `id`"), "{stderr}");
    assert!(!dir.path().join(".dora/dora.db").exists() || export(dir.path()).is_empty());
}

#[test]
fn csv_files_import_and_events_export_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "changes.csv",
        "id,service,committed_at,pull_request.number\nc1,api,2026-03-02T09:00:00Z,7\n",
    );
    write(
        dir.path(),
        "deployments.csv",
        "id,service,environment,finished_at,status,changes\nd1,api,production,2026-03-02T12:00:00Z,success,c1\n",
    );
    run_ok(dir.path(), &["import", "changes.csv", "deployments.csv"]);
    // The output's directory is made when missing.
    let out = run_ok(dir.path(), &["export", "events", "--format", "csv", "--output", "out/events.csv"]);
    assert!(out.is_empty());
    let text = std::fs::read_to_string(dir.path().join("out/events.csv")).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("kind,id,service,team,"));
    assert!(lines.next().unwrap().starts_with("change,c1,api,,,"));
    // The export reads back into an equal store.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("out/events.csv"), other.path().join("events.csv")).unwrap();
    run_ok(other.path(), &["import", "events.csv"]);
    assert_eq!(export(other.path()), export(dir.path()));
}

#[test]
fn collect_runs_sources_and_collecting_twice_gives_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    write(dir.path(), "in/events.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    write(dir.path(), "in/pagerduty-incidents.csv", "id,service,opened_at\nP1,api,2026-03-02T13:00:00Z\n");
    write(
        dir.path(),
        "dora.toml",
        "[store]\npath = \"data/dora.db\"\n\n[[source]]\nkind = \"file\"\nname = \"events\"\npaths = [\"in/*.jsonl\"]\n\n[[source]]\nkind = \"file\"\nname = \"pagerduty\"\npaths = [\"in/*.csv\"]\n",
    );
    let out = run_ok(dir.path(), &["collect"]);
    assert!(out.contains("stored in ./data/dora.db: 3 added, 0 replaced, 0 unchanged"), "{out}");
    let first = export(dir.path());
    let out = run_ok(dir.path(), &["collect"]);
    assert!(out.contains("0 added, 0 replaced, 0 unchanged"), "{out}");
    assert_eq!(export(dir.path()), first);

    // A failing source does not lose the others' results; the exit code says so.
    write(dir.path(), "in/events.jsonl", &format!("{CHANGE_V2}\n{DEPLOY}\n"));
    let toml = std::fs::read_to_string(dir.path().join("dora.toml")).unwrap();
    write(
        dir.path(),
        "dora.toml",
        &format!("{toml}\n[[source]]\nkind = \"file\"\nname = \"typo\"\npaths = [\"in/*.jsnol\"]\n"),
    );
    let out = dora(dir.path()).arg("collect").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("source `typo`: invalid option `paths`: \"in/*.jsnol\" names no file"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 3 sources failed"), "{stderr}");
    assert!(export(dir.path()).contains(CHANGE_V2));

    let out = dora(dir.path()).args(["collect", "--source", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--source nope: no such source (configured: events, pagerduty, typo)")
    );
}

#[test]
fn a_killed_import_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    run_ok(dir.path(), &["import", "a.jsonl"]);
    let before = export(dir.path());
    let big = big_file(dir.path(), 300_000);
    let db = dir.path().join(".dora/dora.db");
    let wal = dir.path().join(".dora/dora.db-wal");
    let wal_before = std::fs::metadata(&wal).map_or(0, |m| m.len());
    let mut child = spawn_import(dir.path(), &big);
    // Kill it (SIGKILL) while it writes: once the write-ahead log grows.
    let started = Instant::now();
    let killed = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if std::fs::metadata(&wal).map_or(0, |m| m.len()) > wal_before + (2 << 20) {
            child.kill().unwrap();
            child.wait().unwrap();
            break true;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the import never started writing");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(killed, "the import finished before it could be killed: make the file larger");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(export(dir.path()), before);
    // And the store still works.
    let out = run_ok(dir.path(), &["import", "a.jsonl"]);
    assert!(out.ends_with("0 added, 0 replaced, 2 unchanged\n"), "{out}");
}

#[test]
fn a_reader_during_a_write_sees_the_old_or_the_new_data() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    run_ok(dir.path(), &["import", "a.jsonl"]);
    let n = 200_000;
    let big = big_file(dir.path(), n);
    let mut child = spawn_import(dir.path(), &big);
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let done = child.try_wait().unwrap().is_some();
        let lines = export(dir.path()).lines().count();
        assert!(lines == 2 || lines == 2 + n, "a reader saw {lines} events: a mix of old and new");
        seen.insert(lines);
        if done {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(seen.contains(&(2 + n)));
}

#[test]
fn several_imports_creating_the_same_store_at_once_all_arrive() {
    // Processes that find no store all create and migrate it together: each
    // must wait for the others' locks, not fail with "database is locked".
    // Repeated, since one round can pass by luck.
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let procs = 6;
        let files: Vec<PathBuf> = (0..procs)
            .map(|p| {
                let lines: String = (0..50)
                    .map(|i| {
                        format!(
                            "{{\"kind\":\"change\",\"id\":\"p{p}-c{i}\",\"service\":\"svc{p}\",\"committed_at\":\"2026-03-02T09:00:00Z\"}}\n"
                        )
                    })
                    .collect();
                write(dir.path(), &format!("p{p}.jsonl"), &lines)
            })
            .collect();
        let children: Vec<_> = files
            .iter()
            .map(|f| {
                std::process::Command::new(assert_cmd::cargo::cargo_bin("dora"))
                    .current_dir(dir.path())
                    .arg("import")
                    .arg(f)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: a concurrent import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let exported = export(dir.path());
        assert_eq!(exported.lines().count(), procs * 50, "round {round}: events were lost");
        for p in 0..procs {
            assert!(exported.contains(&format!("\"p{p}-c49\"")), "round {round}: p{p}'s file is missing");
        }
        assert_eq!(integrity(&dir.path().join(".dora/dora.db")), "ok");
    }
}

#[test]
fn a_store_from_a_newer_dora_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    run_ok(dir.path(), &["import", "a.jsonl"]);
    let db = dir.path().join(".dora/dora.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let bytes = std::fs::read(&db).unwrap();
    for args in [&["metrics"][..], &["import", "a.jsonl"], &["export", "events"]] {
        let out = dora(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("the store has schema version 99, newer than this dora knows (up to 5)"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(std::fs::read(&db).unwrap() == bytes, "the store was changed");
}

#[test]
fn metrics_without_a_store_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dora(dir.path()).args(["metrics"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".dora/dora.db: no store here yet: run `dora import FILE` or `dora collect` first"),
        "{stderr}"
    );
}

#[test]
fn the_documented_configuration_is_accepted() {
    let doc = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dora.toml", &doc[start..end]);
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(out.starts_with("# dora.toml: valid\n"), "{out}");
    assert!(out.contains("[[source]]"), "{out}");
}

#[test]
fn config_check_names_bad_keys_and_never_prints_secrets() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dora.toml", "[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\npathz = 1\n");
    let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "dora.toml:5: source[0]: unknown field `pathz`, expected one of `name`, `kind`, `paths`, `skip_bad_lines`"
        ),
        "{stderr}"
    );
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\ntoken = \"s3cr3t\"\n",
    );
    let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("source[0].token: secrets are never read from dora.toml"), "{all}");
    assert!(!all.contains("s3cr3t"));
}

/// `dora config check`, `dora collect` and `dora watch kubernetes` turn a
/// source table into its settings through the same conversion: a bad table
/// is the same one-line error, exit code 2, before anything runs (and
/// whatever cargo features dora was built with).
#[test]
fn config_check_collect_and_watch_refuse_a_bad_table_alike() {
    let dir = tempfile::tempdir().unwrap();
    for (table, message) in [
        (
            "kind = \"github\"\nrepos = [\"acme/api\"]\nstrategy = \"canary\"\n",
            "dora.toml:5: source[0].strategy: \"canary\" is not one of deployments, workflow_runs, releases, tags",
        ),
        (
            "kind = \"github\"\nrepos = [\"acme/api\"]\nworkflows = [\"deploy.yml\"]\n",
            "dora.toml:5: source[0].workflows: goes with strategy workflow_runs, not deployments",
        ),
        (
            "kind = \"gitlab\"\nprojects = [\"acme/api\"]\nlookback_days = \"x\"\n",
            "dora.toml:5: source[0].lookback_days: expected a whole number, 0 or more, got \"x\"",
        ),
        (
            "kind = \"kubernetes\"\nnamespace = \"shop\"\n",
            "dora.toml:4: source[0]: unknown field `namespace`, expected one of `name`, `kind`, `contexts`",
        ),
        (
            "kind = \"fiel\"\n",
            "dora.toml:3: source[0].kind: \"fiel\" is not one of file, github, gitlab, kubernetes, opencost",
        ),
        (
            "kind = \"gitlab\"\nprojects = [\"a/b\"]\ntoken_env = \"glpat-Qw3rtyFAKEfake99zz\"\n",
            "dora.toml:5: source[0].token_env: looks like a token itself",
        ),
        (
            "kind = \"kubernetes\"\nserver = \"http://u:hunter2@127.0.0.1:8001\"\n",
            "dora.toml:4: source[0].server: credentials in the URL are refused",
        ),
    ] {
        write(dir.path(), "dora.toml", &format!("[[source]]\nname = \"s\"\n{table}"));
        let mut errors = Vec::new();
        for args in [&["config", "check"][..], &["collect"][..], &["watch", "kubernetes"][..]] {
            let out = dora(dir.path()).args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{args:?}");
            errors.push(stderr);
        }
        assert!(errors[0].starts_with(&format!("dora: error: {message}")), "{table}: {}", errors[0]);
        assert_eq!(errors[1], errors[0], "{table}");
        assert_eq!(errors[2], errors[0], "{table}");
        assert!(!errors[0].contains("hunter2") && !errors[0].contains("Qw3rty"), "{}", errors[0]);
        assert!(!dir.path().join(".dora").exists(), "{table}: a store was made");
    }
}

#[test]
fn parquet_export_needs_an_output_path() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    run_ok(dir.path(), &["import", "a.jsonl"]);
    let out = dora(dir.path()).args(["export", "events", "--format", "parquet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_github_source_is_checked_and_needs_its_feature() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"acme/api\"]\ntoken_env = \"ACME_GITHUB_TOKEN\"\n[source.teams]\n\"acme/api\" = \"core\"\n",
    );
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(out.contains("kind = \"github\"") && out.contains("token_env = \"ACME_GITHUB_TOKEN\""), "{out}");
    write(dir.path(), "dora.toml", "[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"acme\"]\n");
    let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("source[0].repos: \"acme\" is not owner/name"));
    // A monorepo's path prefixes, and an org without a repository list.
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"github\"\nname = \"gh\"\norg = \"acme\"\n[source.monorepo.\"acme/mono\"]\n\"services/api\" = \"api\"\n",
    );
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(
        out.contains("[source.monorepo.\"acme/mono\"]") && out.contains("\"services/api\" = \"api\""),
        "{out}"
    );
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"acme/api\"]\n[source.monorepo.\"acme/mono\"]\n\"services/api\" = \"api\"\n",
    );
    let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("source[0].monorepo.\"acme/mono\": not one of this source's repositories"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !cfg!(feature = "github") {
        write(
            dir.path(),
            "dora.toml",
            "[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"acme/api\"]\n",
        );
        let out = dora(dir.path()).arg("collect").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("needs dora built with the github feature"));
    }
}

#[test]
fn a_gitlab_source_is_checked_and_needs_its_feature() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"gitlab\"\nname = \"gl\"\ngroup = \"acme\"\ninclude = [\"backend/*\"]\napi_url = \"https://gitlab.example.com\"\n[source.monorepo.\"acme/mono\"]\n\"services/api\" = \"api\"\n",
    );
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(out.contains("kind = \"gitlab\"") && out.contains("group = \"acme\""), "{out}");
    for (toml, message) in [
        ("projects = []\n", "source[0].projects: list at least one group/project path (or set group)"),
        ("projects = [\"acme//api\"]\n", "source[0].projects: \"acme//api\" is not a project path"),
        (
            "projects = [\"acme/api\"]\napi_url = \"gitlab.com\"\n",
            "source[0].api_url: \"gitlab.com\" is not an https:// URL",
        ),
        (
            "projects = [\"acme/api\"]\n[source.monorepo.\"acme/web\"]\n\"x\" = \"y\"\n",
            "source[0].monorepo.\"acme/web\": not one of this source's projects",
        ),
        ("projects = [\"acme/api\"]\nroot_cause_pattern = \"(\"\n", "source[0].root_cause_pattern:"),
        (
            "projects = [\"acme/api\"]\ntoken = \"glpat-secret\"\n",
            "source[0].token: secrets are never read from dora.toml",
        ),
    ] {
        write(dir.path(), "dora.toml", &format!("[[source]]\nkind = \"gitlab\"\nname = \"gl\"\n{toml}"));
        let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{toml}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{toml}: {stderr}");
        assert!(!stderr.contains("glpat-secret"));
    }
    if !cfg!(feature = "gitlab") {
        write(
            dir.path(),
            "dora.toml",
            "[[source]]\nkind = \"gitlab\"\nname = \"gl\"\nprojects = [\"acme/api\"]\n",
        );
        let out = dora(dir.path()).arg("collect").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("needs dora built with the gitlab feature"));
    }
}

#[test]
fn an_opencost_source_is_checked_and_needs_its_feature() {
    let dir = tempfile::tempdir().unwrap();
    // The worked dora.toml of docs/costs.md is valid.
    let text = std::fs::read_to_string(root().join("docs/costs.md")).unwrap();
    let section = &text[text.find("## OpenCost").expect("an OpenCost section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + section[start..].find("```").unwrap();
    write(dir.path(), "dora.toml", &section[start..end]);
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(out.starts_with("# dora.toml: valid\n"), "{out}");
    assert!(out.contains("kind = \"opencost\"") && out.contains("currency = \"USD\""), "{out}");
    let base = "api_url = \"https://oc.example\"\ncurrency = \"USD\"\naggregate = [\"label:app\"]\n";
    for (toml, message) in [
        ("currency = \"USD\"\naggregate = [\"namespace\"]\n", "source[0].api_url: missing"),
        ("api_url = \"https://oc.example\"\naggregate = [\"namespace\"]\n", "source[0].currency: missing"),
        ("api_url = \"https://oc.example\"\ncurrency = \"USD\"\n", "source[0].aggregate: list at least one"),
        (
            "api_url = \"https://oc.example\"\ncurrency = \"USD\"\naggregate = [\"namespace\", \"app\"]\n",
            "source[0].aggregate[1]: \"app\" is not label:NAME",
        ),
        (
            "api_url = \"http://opencost:9003\"\ncurrency = \"USD\"\naggregate = [\"namespace\"]\n",
            "source[0].api_url: \"http://opencost:9003\": plain http:// is refused",
        ),
        (&format!("{base}days_per_request = 0\n"), "source[0].days_per_request:"),
        (&format!("{base}pathz = 1\n"), "unknown field `pathz`"),
    ] {
        write(dir.path(), "dora.toml", &format!("[[source]]\nkind = \"opencost\"\nname = \"oc\"\n{toml}"));
        let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{toml}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{toml}: {stderr}");
    }
    if !cfg!(feature = "opencost") {
        write(dir.path(), "dora.toml", &format!("[[source]]\nkind = \"opencost\"\nname = \"oc\"\n{base}"));
        let out = dora(dir.path()).arg("collect").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("needs dora built with the opencost feature"));
    }
}

#[test]
fn the_sources_worked_configurations_are_accepted() {
    for doc in ["docs/sources/github.md", "docs/sources/gitlab.md", "docs/sources/kubernetes.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let start = text.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let end = start + text[start..].find("```").unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "dora.toml", &text[start..end]);
        let out = run_ok(dir.path(), &["config", "check"]);
        assert!(out.starts_with("# dora.toml: valid\n"), "{doc}: {out}");
    }
}

#[test]
fn a_kubernetes_source_is_checked_and_needs_its_feature() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"kubernetes\"\nname = \"k8s\"\ncontexts = [\"prod-eu\", \"prod-us\"]\nnamespaces = [\"shop\"]\n[source.environments]\n\"prod-eu\" = \"production\"\n",
    );
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(out.contains("kind = \"kubernetes\""), "{out}");
    for (toml, message) in [
        ("image_commit_pattern = ':abc'\n", "source[0].image_commit_pattern: needs a group"),
        ("server = \"localhost:8001\"\n", "source[0].server: \"localhost:8001\" is not an http(s):// URL"),
        ("merge_window = \"soon\"\n", "source[0].merge_window: \"soon\" is not a duration"),
        (
            "contexts = [\"a\"]\n[source.environments]\n\"b\" = \"production\"\n",
            "source[0].environments.\"b\": not one of this source's contexts",
        ),
        (
            "[source.repositories]\nweb = { github = \"acme/web\", gitlab = \"acme/web\" }\n",
            "source[0].repositories.\"web\": give exactly one of github = \"owner/name\", gitlab = \"group/project\"",
        ),
        (
            "[source.repositories]\nweb = { github = \"acme\" }\n",
            "source[0].repositories.\"web\".github: \"acme\" is not owner/name",
        ),
        (
            "[source.repositories]\nweb = { github = \"acme/web/x\" }\n",
            "source[0].repositories.\"web\".github: \"acme/web/x\" is not owner/name",
        ),
        (
            "[source.repositories]\nweb = { gitlab = \"shop//web\" }\n",
            "source[0].repositories.\"web\".gitlab: \"shop//web\" is not group/project",
        ),
        (
            "[source.repositories]\nweb = { gitlab = \"shop/web\", source = \"gl\" }\n",
            "source[0].repositories.\"web\".source: no source is named `gl`",
        ),
        (
            "[source.repositories]\nweb = { github = \"acme/web\", source = \"k8s\" }\n",
            "source[0].repositories.\"web\".source: `k8s` is a kubernetes source, not a github one",
        ),
        (
            "[source.repositories]\nweb = { githb = \"acme/web\" }\n",
            "unknown field `githb`, expected one of `github`, `gitlab`, `source`",
        ),
        (
            "[source.repositories]\nweb = 5\n",
            "expected the path of a local clone, or a table like { github = \"owner/name\" }",
        ),
    ] {
        write(dir.path(), "dora.toml", &format!("[[source]]\nkind = \"kubernetes\"\nname = \"k8s\"\n{toml}"));
        let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{toml}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{toml}: {stderr}");
    }
    if !cfg!(feature = "kubernetes") {
        write(dir.path(), "dora.toml", "[[source]]\nkind = \"kubernetes\"\nname = \"k8s\"\n");
        let out = dora(dir.path()).arg("collect").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("needs dora built with the kubernetes feature")
        );
    }
}

#[test]
fn the_in_cluster_manifests_dora_toml_is_accepted() {
    let manifest = std::fs::read_to_string(root().join("deploy/watch.yaml")).unwrap();
    let start = manifest.find("dora.toml: |\n").unwrap() + "dora.toml: |\n".len();
    let end = start + manifest[start..].find("---").unwrap();
    let toml: String = manifest[start..end]
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dora.toml", &toml);
    let out = run_ok(dir.path(), &["config", "check"]);
    assert!(out.contains("kind = \"kubernetes\""), "{out}");
}

#[test]
fn a_token_pasted_into_token_env_is_refused_everywhere_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let token = "glpat-Qw3rtyFAKEfake99zz";
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[[source]]\nkind = \"gitlab\"\nname = \"gl\"\nprojects = [\"a/b\"]\ntoken_env = \"{token}\"\n"
        ),
    );
    for args in [&["config", "check"][..], &["collect"][..]] {
        let out = dora(dir.path()).args(args).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("source[0].token_env: looks like a token itself"), "{args:?}: {stderr}");
        assert!(!stdout.contains("Qw3rty") && !stderr.contains("Qw3rty"), "{args:?} printed the token");
    }
    // Credentials in a URL are refused and not shown; plain http is refused
    // by the check as by collect.
    for (line, expected) in [
        ("api_url = \"https://bot:hunter2@gitlab.example.com\"", "credentials in the URL are refused"),
        ("api_url = \"http://gitlab.example.com\"", "plain http:// is refused"),
    ] {
        write(
            dir.path(),
            "dora.toml",
            &format!("[[source]]\nkind = \"gitlab\"\nname = \"gl\"\nprojects = [\"a/b\"]\n{line}\n"),
        );
        let out = dora(dir.path()).args(["config", "check"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("hunter2") && out.stdout.is_empty(), "{stderr}");
    }
}

#[test]
fn a_large_first_import_writes_the_file_once_and_stays_safe() {
    // Into an empty store a large import runs with a rollback journal
    // (no write-ahead log), then the store is back in WAL mode.
    let dir = tempfile::tempdir().unwrap();
    let big = big_file(dir.path(), 50_000);
    run_ok(dir.path(), &["import", big.to_str().unwrap()]);
    let db = dir.path().join(".dora/dora.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    assert_eq!(export(dir.path()).lines().count(), 50_000);

    // Killed while it writes: the store is as it was (empty), and works.
    let dir = tempfile::tempdir().unwrap();
    let big = big_file(dir.path(), 300_000);
    std::fs::create_dir_all(dir.path().join(".dora")).unwrap();
    let db = dir.path().join(".dora/dora.db");
    let mut child = spawn_import(dir.path(), &big);
    let started = Instant::now();
    let killed = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if std::fs::metadata(&db).map_or(0, |m| m.len()) > 8 << 20 {
            child.kill().unwrap();
            child.wait().unwrap();
            break true;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the import never started writing");
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(killed, "the import finished before it could be killed: make the file larger");
    write(dir.path(), "a.jsonl", &format!("{CHANGE}\n{DEPLOY}\n"));
    let out = run_ok(dir.path(), &["import", "a.jsonl"]);
    assert!(out.ends_with("2 added, 0 replaced, 0 unchanged\n"), "{out}");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(export(dir.path()).lines().count(), 2);
}
