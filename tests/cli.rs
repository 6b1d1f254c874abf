//! `dora metrics` formats, configuration precedence and group selection.

use serde_json::Value;

use crate::util::{dora, root, write};

const EVENTS: &str = r#"{"kind":"change","id":"c1","service":"api","team":"core","committed_at":"2026-03-02T09:00:00Z"}
{"kind":"deployment","id":"d1","service":"api","team":"core","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success","changes":["c1"]}
{"kind":"deployment","id":"d2","service":"web","environment":"prod-eu","finished_at":"2026-03-10T12:00:00Z","status":"success"}
{"kind":"incident","id":"i1","service":"web","opened_at":"2026-03-10T13:00:00Z","resolved_at":"2026-03-10T14:00:00Z"}
"#;

fn json(args: &[&str], dir: &std::path::Path) -> Value {
    let out = dora(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the output is one JSON object")
}

/// `dora metrics` on `e.jsonl` over two weeks, as JSON, with `extra` flags.
fn metrics_json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["metrics", "--events", "e.jsonl", "--since", "2026-03-02", "--until", "2026-03-16"];
    args.extend(["--format", "json"]);
    args.extend(extra);
    json(&args, dir)
}

#[test]
fn json_output_is_the_spec_object_only() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.jsonl", EVENTS);
    let v = metrics_json(dir.path(), &[]);
    assert_eq!(v["schema"], "dora.metrics/v1");
    let names: Vec<String> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| format!("{}:{}", g["group_by"].as_str().unwrap(), g["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, ["all:all", "service:api", "service:web", "team:core"]);
    assert_eq!(v["groups"][0]["periods"].as_array().unwrap().len(), 2);
    assert_eq!(v["groups"][0]["summary"]["change_failure_rate"]["failed"], 1);
}

#[test]
fn table_fits_80_columns_without_color_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.jsonl", EVENTS);
    let long = EVENTS.replace(
        "\"web\"",
        "\"a-service-with-a-very-long-name-that-would-never-fit-in-a-terminal-column-at-all\"",
    );
    write(dir.path(), "long.jsonl", &long);
    for file in ["e.jsonl", "long.jsonl"] {
        let out = dora(dir.path())
            .env_remove("NO_COLOR")
            .args(["metrics", "--events", file, "--since", "2026-03-02", "--until", "2026-03-16"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\u{1b}'), "no escape codes when not a terminal");
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "too wide: {line:?}");
        }
        assert!(text.contains("service api"), "{text}");
    }
}

#[test]
fn csv_has_one_row_per_group_and_period() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.jsonl", EVENTS);
    let out = dora(dir.path())
        .args([
            "metrics",
            "--events",
            "e.jsonl",
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-16",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("group_by,name,period,start,end,deployments,"));
    assert_eq!(lines.len(), 1 + 4 * 2, "{text}");
    assert!(
        lines[1].starts_with(
            "all,all,0,2026-03-02T00:00:00+00:00,2026-03-09T00:00:00+00:00,1,1,0.142857,0,1,10800,"
        ),
        "{}",
        lines[1]
    );
}

#[test]
fn group_by_selects_group_kinds() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.jsonl", EVENTS);
    let v = metrics_json(dir.path(), &["--group-by", "team"]);
    let kinds: Vec<&str> =
        v["groups"].as_array().unwrap().iter().map(|g| g["group_by"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["team"]);
}

#[test]
fn flags_override_environment_which_overrides_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.jsonl", EVENTS);
    write(
        dir.path(),
        "dora.toml",
        "[metrics]\nevents = [\"e.jsonl\"]\nsince = \"2026-03-02\"\nuntil = \"2026-03-16\"\nperiod = \"day\"\ntimezone = \"Europe/Berlin\"\n",
    );
    let v = json(&["metrics", "--format", "json"], dir.path());
    assert_eq!(v["period"], "day");
    assert_eq!(v["timezone"], "Europe/Berlin");
    assert_eq!(v["groups"][0]["periods"].as_array().unwrap().len(), 14);
    let out =
        dora(dir.path()).env("DORA_PERIOD", "month").args(["metrics", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["period"], "month");
    let out = dora(dir.path())
        .env("DORA_PERIOD", "month")
        .args(["metrics", "--format", "json", "--period", "week"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["period"], "week");
}

#[test]
fn config_errors_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.jsonl", EVENTS);
    write(dir.path(), "dora.toml", "[metrics]\nevents = [\"e.jsonl\"]\nperiods = \"day\"\n");
    let out = dora(dir.path()).args(["metrics"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dora.toml:3: unknown field `periods`"), "{stderr}");
}

#[test]
fn the_bundled_demo_runs() {
    let demo = root().join("examples/demo/events.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let v = json(
        &[
            "metrics",
            "--events",
            demo.to_str().unwrap(),
            "--since",
            "2026-05-25",
            "--until",
            "2026-11-23",
            "--format",
            "json",
        ],
        dir.path(),
    );
    let groups = v["groups"].as_array().unwrap();
    assert!(groups.len() >= 1 + 6 + 3, "all, six services, three teams");
    assert!(v["groups"][0]["summary"]["deployments"].as_u64().unwrap() > 100);
}

#[test]
fn events_can_come_from_standard_input_even_gzipped() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(EVENTS.as_bytes()).unwrap();
    for input in [EVENTS.as_bytes().to_vec(), gz.finish().unwrap()] {
        let out = dora(dir.path())
            .args([
                "metrics",
                "--events",
                "-",
                "--since",
                "2026-03-02",
                "--until",
                "2026-03-16",
                "--format",
                "json",
            ])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["groups"][0]["summary"]["deployments"], 2);
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["metrics", "--help"][..],
        &["collect", "--help"],
        &["import", "--help"],
        &["export", "--help"],
        &["export", "events", "--help"],
        &["config", "check", "--help"],
        &["demo", "--help"],
        &["report", "--help"],
        &["explain", "--help"],
        &["export", "csv", "--help"],
    ] {
        let out = dora(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Examples:\n  dora "), "{args:?}: {text}");
    }
}

#[test]
fn serve_checks_its_settings_and_refuses_no_token_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    // Off loopback without a token: one line, exit 2, nothing listening.
    dora(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("refusing to listen on 0.0.0.0:0 without an ingest token"));
    // The token's variable must be a variable name, and be set; its value is never printed.
    dora(dir.path())
        .args(["serve", "--ingest-token-env", "DORA_TEST_UNSET_TOKEN_VAR"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("DORA_TEST_UNSET_TOKEN_VAR"));
    dora(dir.path())
        .args(["serve", "--max-body", "10 parsecs"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--max-body"));
    write(dir.path(), "dora.toml", "[serve]\nlisten = \"127.0.0.1:0\"\nmax_body = 1024\nfoo = 1\n");
    dora(dir.path())
        .args(["serve"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown field `foo`"));
}

#[cfg(not(feature = "serve"))]
#[test]
fn serve_without_the_feature_says_so() {
    let dir = tempfile::tempdir().unwrap();
    dora(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs dora built with the serve feature"));
}

/// The real `dora serve`: it answers, stores a posted event, and exits 0 on SIGTERM.
#[cfg(all(feature = "serve", unix))]
#[test]
fn serve_answers_and_stops_on_sigterm() {
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let mut server = crate::util::ServeProcess::start(dir.path(), &["--store", "s.db"], &[]);
    let request = |text: String| {
        let answer = server.exchange(text.as_bytes(), Duration::from_secs(30)).expect("an answer");
        String::from_utf8(answer).unwrap()
    };
    let answer = request("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let event = r#"{"kind":"deployment","id":"d1","service":"api","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success"}"#;
    let answer = request(format!(
        "POST /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{event}",
        event.len()
    ));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"added":1,"replaced":0,"unchanged":0}"#), "{answer}");
    // Exit 0 within 30 s.
    let log = server.stop();
    assert!(log.contains("status=200"), "one log line per request: {log}");
    dora(dir.path())
        .args(["export", "events", "--store", "s.db", "--format", "jsonl"])
        .assert()
        .success()
        .stdout(predicates::str::contains("\"d1\""));
}

/// The `dora.toml` of the Kubernetes manifest (`deploy/serve.yaml`'s
/// ConfigMap) passes `dora config check`, which names the secrets'
/// variables and never prints their values.
#[test]
fn the_kubernetes_manifests_dora_toml_is_valid() {
    let manifest = std::fs::read_to_string(root().join("deploy/serve.yaml")).unwrap();
    let toml: String = manifest
        .lines()
        .skip_while(|l| l.trim() != "dora.toml: |")
        .skip(1)
        .take_while(|l| l.trim() != "---")
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert!(toml.contains("[serve]"), "no dora.toml in the ConfigMap: {toml}");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dora.toml", &toml);
    let out = dora(dir.path())
        .args(["config", "check", "--config", "dora.toml"])
        .env("DORA_INGEST_TOKEN", "tok-value-never-shown")
        .env("DORA_GITHUB_WEBHOOK_SECRET", "gh-value-never-shown")
        .env("DORA_GITLAB_WEBHOOK_TOKEN", "gl-value-never-shown")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    for name in ["DORA_INGEST_TOKEN", "DORA_GITHUB_WEBHOOK_SECRET", "DORA_GITLAB_WEBHOOK_TOKEN"] {
        assert!(stdout.contains(name), "{name} not named: {stdout}");
    }
    assert!(!format!("{stdout}{stderr}").contains("never-shown"), "a secret was printed: {stdout}{stderr}");
}
