//! Every kind of malformed input gets a one-line error naming the line and
//! field, exit code 3 (4 for a file that cannot be read), and no panic.

use crate::util::{dora, write};

const GOOD: &str = r#"{"kind":"deployment","id":"d1","service":"api","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success"}"#;

/// Runs `dora metrics` on `text` and returns (exit code, stderr).
fn run(text: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, text).unwrap();
    let out = dora(dir.path())
        .args(["metrics", "--events", "events.jsonl", "--since", "2026-03-02", "--until", "2026-03-09"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing is computed from a bad file");
    (out.status.code().unwrap_or(-1), stderr)
}

fn assert_error(text: &[u8], expected: &str) {
    let (code, stderr) = run(text);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("dora: error: events.jsonl:"), "{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
}

#[test]
fn truncated_json() {
    assert_error(
        format!("{GOOD}\n{{\"kind\":\"deployment\",\"id\":\"d2\",\"serv").as_bytes(),
        "events.jsonl:2: truncated JSON",
    );
}

#[test]
fn missing_field() {
    assert_error(
        format!("{GOOD}\n{{\"kind\":\"change\",\"id\":\"c1\",\"service\":\"api\"}}\n").as_bytes(),
        "events.jsonl:2: field `committed_at`: missing required field",
    );
}

#[test]
fn mistyped_field() {
    assert_error(
        format!("{}\n", GOOD.replace("\"status\":\"success\"", "\"status\":true")).as_bytes(),
        "events.jsonl:1: field `status`: invalid type: boolean `true`, expected a string",
    );
    assert_error(
        format!("{}\n", GOOD.replace("\"id\":\"d1\"", "\"id\":17")).as_bytes(),
        "events.jsonl:1: field `id`: invalid type: integer `17`",
    );
}

#[test]
fn time_without_offset() {
    assert_error(
        format!("{GOOD}\n{}\n", GOOD.replace("12:00:00Z", "12:00:00")).as_bytes(),
        "events.jsonl:2: field `finished_at`: time \"2026-03-02T12:00:00\" has no UTC offset",
    );
}

#[test]
fn unknown_kind() {
    assert_error(
        format!("{}\n", GOOD.replace("\"deployment\"", "\"deploy\"")).as_bytes(),
        "events.jsonl:1: field `kind`: expected one of \"deployment\", \"change\", \"incident\", got \"deploy\"",
    );
}

#[test]
fn empty_file() {
    assert_error(b"", "no events (the input is empty)");
    assert_error(b"\n\n  \n", "no events (the input is empty)");
}

#[test]
fn binary_garbage() {
    assert_error(b"\x00\x01\xff\xfe\x89PNG\r\n\x1a\n", "events.jsonl:1: invalid JSON");
}

#[test]
fn a_huge_line() {
    let mut text = GOOD.as_bytes().to_vec();
    text.push(b'\n');
    text.extend(std::iter::repeat_n(b'x', 65 << 20));
    text.push(b'\n');
    assert_error(&text, "events.jsonl:2: line is");
}

#[test]
fn a_later_line_that_replaces_is_still_checked() {
    assert_error(
        format!("{GOOD}\n{}\n", GOOD.replace("\"production\"", "5")).as_bytes(),
        "events.jsonl:2: field `environment`",
    );
}

#[test]
fn skip_bad_lines_reports_each_and_computes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "events.jsonl",
        &format!("{GOOD}\nnot json\n{}\n", GOOD.replace("d1", "d2").replace("Z\"", "\"")),
    );
    let out = dora(dir.path())
        .args(["metrics", "--events", "events.jsonl", "--since", "2026-03-02", "--until", "2026-03-09"])
        .args(["--skip-bad-lines", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("warning: skipped events.jsonl:2: invalid JSON"), "{stderr}");
    assert!(stderr.contains("warning: skipped events.jsonl:3: field `finished_at`"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["groups"][0]["summary"]["deployments"], 1);
}

#[test]
fn a_missing_file_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let out = dora(dir.path()).args(["metrics", "--events", "nope.jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("dora: error: nope.jsonl: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "events.jsonl", GOOD);
    for (flag, value, expected) in [
        ("--since", "yesterday", "--since: \"yesterday\" is neither a date"),
        ("--timezone", "Mars/Olympus", "--timezone: \"Mars/Olympus\" is not an IANA time zone"),
        ("--attribution-window", "7 days", "--attribution-window: \"7 days\" is not a duration"),
        ("--period", "year", "--period: invalid option `period`: \"year\" is not one of day, week, month"),
        ("--lead-time-start", "merge", "--lead-time-start"),
        ("--group-by", "org", "--group-by"),
        ("--production-pattern", "(", "--production-pattern"),
    ] {
        let out =
            dora(dir.path()).args(["metrics", "--events", "events.jsonl", flag, value]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{flag}: {stderr}");
    }
    let out = dora(dir.path())
        .args(["metrics", "--events", "events.jsonl", "--since", "2026-03-09", "--until", "2026-03-02"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be before --until"));
    let out = dora(dir.path())
        .args(["metrics", "--events", "events.jsonl", "--since", "1800-01-01", "--until", "2026-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the window is longer than 36525 days"));
}

#[test]
fn values_that_start_with_a_dash_are_values_and_usage_errors_are_one_line_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "events.jsonl", GOOD);
    for (flag, value, expected) in [
        ("--attribution-window", "-5h", "--attribution-window: \"-5h\": a duration cannot be negative"),
        ("--production-pattern", "", "an empty pattern matches every environment"),
        ("--production-pattern", "-x", ""),
    ] {
        let out =
            dora(dir.path()).args(["metrics", "--events", "events.jsonl", flag, value]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if expected.is_empty() {
            assert!(out.status.success(), "{flag} {value:?}: {stderr}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{flag}: {stderr}");
    }
    // clap's own errors: one line, then a hint.
    for (args, expected, hint) in [
        (&["metrics", "--no-such-flag"][..], "unexpected argument '--no-such-flag'", "hint: "),
        (&["metrics", "--since"][..], "a value is required for '--since", "hint: `dora metrics --help`"),
        (&["nonsense"][..], "unrecognized subcommand 'nonsense'", "hint: "),
    ] {
        let out = dora(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("dora: error: ") && lines[0].contains(expected), "{args:?}: {stderr}");
        assert!(lines[1].starts_with(hint), "{args:?}: {stderr}");
    }
    // Help still works and exits 0.
    assert!(dora(dir.path()).args(["metrics", "--help"]).output().unwrap().status.success());
}

#[test]
fn an_empty_id_or_service_is_refused() {
    assert_error(
        format!("{}\n", GOOD.replace("\"id\":\"d1\"", "\"id\":\"\"")).as_bytes(),
        "events.jsonl:1: field `id`: must not be empty",
    );
    assert_error(
        format!("{}\n", GOOD.replace("\"service\":\"api\"", "\"service\":\"\"")).as_bytes(),
        "events.jsonl:1: field `service`: must not be empty",
    );
}

#[test]
fn csv_errors_name_the_same_line_with_windows_line_ends() {
    let rows = [
        "id,service,committed_at",
        "c1,api,2026-03-02T09:00:00Z",
        "c2,api,2026-03-02T09:00:00Z",
        "c3,api,bad",
        "",
    ];
    for (name, end) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "changes.csv", &rows.join(end));
        let out = dora(dir.path()).args(["metrics", "--events", "changes.csv"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(stderr.contains("changes.csv:4: field `committed_at`"), "{name}: {stderr}");
    }
}
