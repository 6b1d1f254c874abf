//! Operating `dora serve`: the service's own counters in `GET /metrics`
//! (checked by the real `promtool` when it is found), the timeouts that cut
//! slow clients off, and the deployment files of the repository (the
//! Kubernetes manifest, the Dockerfile, and the Grafana dashboard, whose
//! every metric name must be one the real server exposes).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use dora_serve::ServeConfig;
use reqwest::StatusCode;
use serde_json::Value;
use support::Running;
use support::promtool::{promtool, promtool_check};

const TOKEN: &str = "ops-test-token";
const PROMETHEUS: &str = "text/plain;version=0.0.4";
const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

fn config(dir: &Path) -> ServeConfig {
    let mut c = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("dora.db"));
    c.ingest_token = Some(TOKEN.to_string());
    c
}

fn recent(hours_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn deployment(id: &str, finished_at: &str) -> String {
    format!(
        r#"{{"kind":"deployment","id":"{id}","service":"api","environment":"production","finished_at":"{finished_at}","status":"success"}}"#
    )
}

async fn post_events(
    client: &reqwest::Client,
    server: &Running,
    body: String,
    token: Option<&str>,
) -> StatusCode {
    let mut req =
        client.post(server.url("/events")).header("content-type", "application/x-ndjson").body(body);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.send().await.unwrap().status()
}

async fn scrape(client: &reqwest::Client, server: &Running, accept: &str) -> (String, String) {
    let r = client.get(server.url("/metrics")).header("accept", accept).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
    (ctype, r.text().await.unwrap())
}

/// The value of the sample line that starts with `series ` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_end_with_the_service_counters_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path())).await;
    let client = reqwest::Client::new();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    server.stats.register_source("github");
    server.stats.register_source("cluster");
    server.stats.collection_run("github", true, at);
    server.stats.collection_run("github", false, at + Duration::from_secs(60));
    server.stats.collection_run("cluster", false, at);

    for _ in 0..2 {
        assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    }
    let r = client.get(server.url("/no/such/path-12345")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = format!("{}\n{}\n", deployment("d1", &recent(3)), deployment("d2", &recent(2)));
    assert_eq!(post_events(&client, &server, body.clone(), Some(TOKEN)).await, StatusCode::OK);
    assert_eq!(post_events(&client, &server, body, None).await, StatusCode::UNAUTHORIZED);
    // A method the route does not allow: counted under its route.
    let r = client.get(server.url("/events")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    let (ctype, prom) = scrape(&client, &server, PROMETHEUS).await;
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    // The DORA figures first, then the service's families.
    let dora_at = prom.find("# TYPE dora_deployments ").unwrap();
    let serve_at = prom.find("# TYPE dora_serve_").unwrap();
    assert!(dora_at < serve_at && prom.find("# TYPE dora_window_end_timestamp_seconds ").unwrap() < serve_at);
    let requests = |text: &str, endpoint: &str, status: u16| {
        value(text, &format!("dora_serve_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}}"))
    };
    assert_eq!(requests(&prom, "/healthz", 200), Some(2.0), "{prom}");
    assert_eq!(requests(&prom, "other", 404), Some(1.0), "{prom}");
    assert_eq!(requests(&prom, "/events", 200), Some(1.0));
    assert_eq!(requests(&prom, "/events", 401), Some(1.0));
    assert_eq!(requests(&prom, "/events", 405), Some(1.0));
    assert!(!prom.contains("path-12345"), "raw paths are never labels");
    assert!(prom.contains("# TYPE dora_serve_http_requests_total counter\n"));
    let runs = |text: &str, source: &str, result: &str| {
        value(text, &format!("dora_serve_collection_runs_total{{source=\"{source}\",result=\"{result}\"}}"))
    };
    assert_eq!(runs(&prom, "github", "success"), Some(1.0));
    assert_eq!(runs(&prom, "github", "failure"), Some(1.0));
    assert_eq!(runs(&prom, "cluster", "success"), Some(0.0));
    assert_eq!(runs(&prom, "cluster", "failure"), Some(1.0));
    let last = "dora_serve_last_successful_collection_timestamp_seconds";
    assert_eq!(value(&prom, &format!("{last}{{source=\"github\"}}")), Some(1_800_000_000.0));
    assert_eq!(value(&prom, &format!("{last}{{source=\"cluster\"}}")), None);
    assert_eq!(value(&prom, "dora_serve_store_events{kind=\"deployment\"}"), Some(2.0));
    assert_eq!(value(&prom, "dora_serve_store_events{kind=\"change\"}"), Some(0.0));
    assert_eq!(value(&prom, "dora_serve_store_events{kind=\"incident\"}"), Some(0.0));
    assert_eq!(value(&prom, "dora_deployments{group_by=\"all\",name=\"all\"}"), Some(2.0));

    let (ctype, om) = scrape(&client, &server, OPENMETRICS).await;
    assert!(ctype.starts_with("application/openmetrics-text; version=1.0.0"), "{ctype}");
    assert!(om.ends_with("\n# EOF\n") && om.matches("# EOF").count() == 1, "{om}");
    // Counter families are named without `_total`, their samples with it.
    assert!(om.contains("# TYPE dora_serve_http_requests counter\n"));
    assert!(om.contains("# TYPE dora_serve_collection_runs counter\n"));
    assert!(om.contains(&format!("# UNIT {last} seconds\n")));
    assert!(!om.contains("# TYPE dora_serve_http_requests_total"));
    // The first scrape is counted now.
    assert_eq!(requests(&om, "/metrics", 200), Some(1.0));
    assert_eq!(runs(&om, "github", "success"), Some(1.0));
    let mut family = String::new();
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            family = rest.split(' ').next().unwrap().to_string();
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(name == family || name == format!("{family}_total"), "{line} after {family}");
        }
    }

    // The DORA part is cached while the store does not change (the
    // window's end, computed from the clock, stays), the counters are not.
    let (_, again) = scrape(&client, &server, PROMETHEUS).await;
    let end = |t: &str| value(t, "dora_window_end_timestamp_seconds").unwrap();
    assert_eq!(end(&again), end(&prom));
    assert_eq!(requests(&again, "/metrics", 200), Some(2.0));
    let body = format!("{}\n", deployment("d3", &recent(1)));
    assert_eq!(post_events(&client, &server, body, Some(TOKEN)).await, StatusCode::OK);
    let (_, changed) = scrape(&client, &server, PROMETHEUS).await;
    assert!(end(&changed) > end(&prom));
    assert_eq!(value(&changed, "dora_serve_store_events{kind=\"deployment\"}"), Some(3.0));

    match promtool() {
        // promtool reads the Prometheus text format only: OpenMetrics'
        // counter families (named without `_total`) are not its grammar, so
        // the OpenMetrics text is held to the structure checked above.
        Some(promtool) => promtool_check(&promtool, "served Prometheus text", &changed),
        None => eprintln!(
            "note: promtool not found (PROMTOOL, $CARGO_TARGET_DIR/promtool/promtool or the PATH): the promtool check is skipped"
        ),
    }
    server.shutdown_within(Duration::from_secs(30)).await;
}

/// Reads until the server closes the connection (or `limit` passes, which
/// fails the test); returns what was read and how long it took.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection was not closed within {limit:?}: {e}"),
        }
        assert!(start.elapsed() < limit, "the connection was not closed within {limit:?}");
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.header_read_timeout = Duration::from_millis(500);
    cfg.body_read_timeout = Duration::from_millis(800);
    let store = cfg.store.clone();
    let server = Running::start(cfg).await;
    let addr = server.addr;

    let checks = tokio::task::spawn_blocking(move || {
        // Half a request line, then nothing: closed without an answer.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /heal").unwrap();
        let (answer, took) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(answer.is_empty(), "closed without an answer: {answer}");
        assert!(took >= Duration::from_millis(400), "closed after {took:?}");

        // Headers that never end.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n").unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(answer.is_empty(), "closed without an answer: {answer}");

        // A connection that sends nothing at all is not kept either.
        let mut s = TcpStream::connect(addr).unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(answer.is_empty(), "closed without an answer: {answer}");

        // A body that stalls half-way: 408, the connection closed, nothing stored.
        let event = deployment("slow-1", &recent(1));
        let mut s = TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            event.len() + 1
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&event.as_bytes()[..event.len() / 2]).unwrap();
        let (answer, took) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
        assert!(answer.contains("did not arrive within 0.8 s"), "{answer}");
        assert!(took >= Duration::from_millis(600), "answered after {took:?}");

        // A body that trickles in, byte by byte, past the deadline: the
        // deadline is for the whole body, not for each read.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let start = Instant::now();
        let mut answer = String::new();
        for b in format!("{event}\n").bytes() {
            if s.write_all(&[b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(30));
            let mut buf = [0u8; 1024];
            if let Ok(n) = s.read(&mut buf)
                && n > 0
            {
                answer.push_str(&String::from_utf8_lossy(&buf[..n]));
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10));
        }
        let (rest, _) = read_until_closed(&mut s, Duration::from_secs(10));
        answer.push_str(&rest);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

        // A prompt client is served as before on the same server.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    });
    checks.await.unwrap();

    let client = reqwest::Client::new();
    let (_, prom) = scrape(&client, &server, PROMETHEUS).await;
    assert_eq!(
        value(&prom, "dora_serve_http_requests_total{endpoint=\"/events\",status=\"408\"}"),
        Some(2.0)
    );
    assert_eq!(value(&prom, "dora_serve_store_events{kind=\"deployment\"}"), Some(0.0));
    let stored = dora_core::store::Store::open_read_only(&store).unwrap();
    assert_eq!(stored.len().unwrap(), 0, "nothing of a timed-out body is stored");
    drop(stored);

    // A client holding an idle connection does not hold the shutdown up
    // (it is closed at once), nor does one that is half-way through its
    // headers (its header timeout ends it).
    let idle = TcpStream::connect(addr).unwrap();
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /hea").unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    server.shutdown_within(Duration::from_secs(5)).await;
    assert!(start.elapsed() < Duration::from_secs(5));
    drop((idle, half));
}

// --- The deployment files -------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// PromQL's aggregation operators, which may be followed by `by`/`without`
/// before their parenthesis, and its keywords.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
    "Inf",
    "NaN",
];
/// Keywords followed by a parenthesized list of label names.
const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names of a PromQL expression: identifiers that are not a
/// function (followed by `(`), an operator or keyword, a label name (in
/// `{...}` or in the list after `by`, `without`, `on`, `ignoring`,
/// `group_left`, `group_right`), a duration, a number, a string or a
/// Grafana variable (`$__rate_interval`, `${group_by}`).
fn metric_names(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let skip_string = |i: &mut usize| {
        let quote = chars[*i];
        *i += 1;
        while *i < chars.len() && chars[*i] != quote {
            if chars[*i] == '\\' && quote != '`' {
                *i += 1;
            }
            *i += 1;
        }
        *i += 1;
    };
    let skip_group = |i: &mut usize, open: char, close: char| {
        let mut depth = 0;
        while *i < chars.len() {
            let c = chars[*i];
            if c == '"' || c == '\'' || c == '`' {
                let quote = c;
                *i += 1;
                while *i < chars.len() && chars[*i] != quote {
                    if chars[*i] == '\\' {
                        *i += 1;
                    }
                    *i += 1;
                }
            } else if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    *i += 1;
                    return;
                }
            }
            *i += 1;
        }
    };
    let next_non_space = |mut j: usize| {
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            skip_string(&mut i);
        } else if c == '{' {
            skip_group(&mut i, '{', '}');
        } else if c == '[' {
            skip_group(&mut i, '[', ']');
        } else if c == '$' {
            i += 1;
            if i < chars.len() && chars[i] == '{' {
                skip_group(&mut i, '{', '}');
            } else {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            // Numbers, and durations such as 5m or 1h30m.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = next_non_space(i);
            if LABEL_LISTS.contains(&word.as_str()) {
                if chars.get(next) == Some(&'(') {
                    i = next;
                    skip_group(&mut i, '(', ')');
                }
            } else if chars.get(next) == Some(&'(') || PROMQL_WORDS.contains(&word.as_str()) {
                // A function or an operator.
            } else {
                names.push(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn promql_metric_names_are_told_from_functions_labels_and_variables() {
    let expr = r#"histogram_quantile(0.9, sum by (le, name) (rate(x_bucket{name=~"$service", group_by="service"}[$__rate_interval]))) / on (name) group_left ignoring(a) y_total offset 5m + sum without(code)(z) > bool 1e3 and time() - w_seconds{a="}{["} unless max(${var}) or quantile(0.5, q)"#;
    assert_eq!(metric_names(expr), ["x_bucket", "y_total", "z", "w_seconds", "q"]);
    assert_eq!(metric_names("dora_deployments"), ["dora_deployments"]);
}

/// Every `expr` (and `label_values(...)` query) of the dashboard.
fn dashboard_queries(value: &Value, exprs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", Value::String(s)) => exprs.push(s.clone()),
                    ("query" | "definition", Value::String(s)) if s.starts_with("label_values(") => {
                        // Only the first argument is a series selector.
                        let inner = s.trim_start_matches("label_values(").trim_end_matches(')');
                        let selector = match inner.rfind(',') {
                            Some(comma) if !inner[comma..].contains('}') => &inner[..comma],
                            _ => inner,
                        };
                        exprs.push(selector.to_string());
                    }
                    _ => dashboard_queries(v, exprs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dashboard_queries(v, exprs)),
        _ => {}
    }
}

/// The sample names of an OpenMetrics exposition, each checked to belong
/// to the family declared before it (`_total` for counters; `_sum`,
/// `_count` for summaries and histograms, `_bucket` for histograms).
fn sample_names(openmetrics: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut family = (String::new(), String::new());
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            family = (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let suffix = name.strip_prefix(family.0.as_str()).unwrap_or_else(|| panic!("{line}"));
            let allowed: &[&str] = match family.1.as_str() {
                "counter" => &["_total", "_created"],
                "summary" => &["", "_sum", "_count", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                _ => &[""],
            };
            assert!(allowed.contains(&suffix), "{line} in the {} family {}", family.1, family.0);
            names.insert(name.to_string());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_queries_only_metrics_the_server_exposes() {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("deploy/grafana/dora.json")).unwrap())
            .unwrap();
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    assert!(queries.len() >= 10, "{queries:?}");

    // A server with the demo data (its window reaches back to the demo's
    // weeks) and a collection run: every family has samples.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.metrics_window_seconds = 3 * 365 * 86_400;
    let server = Running::start(cfg).await;
    server.stats.collection_run("github", true, std::time::SystemTime::now());
    let client = reqwest::Client::new();
    let demo = std::fs::read_to_string(repo().join("examples/demo/events.jsonl")).unwrap();
    assert_eq!(post_events(&client, &server, demo, Some(TOKEN)).await, StatusCode::OK);
    let (_, om) = scrape(&client, &server, OPENMETRICS).await;
    let exposed = sample_names(&om);
    for name in dora_core::render::prometheus_metric_names() {
        assert!(exposed.contains(name), "the demo gives {name} a sample");
    }

    let mut used = BTreeMap::<String, Vec<String>>::new();
    for query in &queries {
        let names = metric_names(query);
        assert!(!names.is_empty(), "no metric in {query}");
        for name in names {
            used.entry(name).or_default().push(query.clone());
        }
    }
    let unknown: Vec<_> = used.iter().filter(|(name, _)| !exposed.contains(*name)).collect();
    assert!(unknown.is_empty(), "not in the exposition: {unknown:#?}\nexposed: {exposed:#?}");
    // The panels the dashboard promises.
    for name in [
        "dora_deployments_per_day",
        "dora_lead_time_seconds",
        "dora_change_failure_ratio",
        "dora_time_to_restore_seconds",
        "dora_rework_ratio",
        "dora_serve_http_requests_total",
        "dora_serve_collection_runs_total",
        "dora_serve_last_successful_collection_timestamp_seconds",
    ] {
        assert!(used.contains_key(name), "the dashboard shows {name}");
    }
    // The data source is a variable, never a fixed instance.
    let text = serde_json::to_string(&dashboard).unwrap();
    assert!(text.contains("\"type\":\"datasource\""), "a data source variable");
    server.shutdown_within(Duration::from_secs(30)).await;
}

/// A YAML mapping's entry.
fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, key| v.get(key).unwrap_or_else(|| panic!("no {key} in {path:?}: {v}")))
}

#[test]
fn the_kubernetes_manifest_probes_and_ports_agree_with_the_server() {
    let text = std::fs::read_to_string(repo().join("deploy/serve.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let of_kind = |kind: &str| -> Vec<&Value> { docs.iter().filter(|d| d["kind"] == kind).collect() };
    for kind in ["Deployment", "Service", "PersistentVolumeClaim", "ConfigMap"] {
        assert_eq!(of_kind(kind).len(), 1, "one {kind}");
    }
    let deployment = of_kind("Deployment")[0];
    assert_eq!(get(deployment, &["spec", "replicas"]), 1);
    assert_eq!(
        get(deployment, &["spec", "strategy", "type"]),
        "Recreate",
        "one writer of the store at a time"
    );
    let pod = get(deployment, &["spec", "template", "spec"]);
    assert_eq!(get(pod, &["securityContext", "runAsNonRoot"]), true);
    let containers = get(pod, &["containers"]).as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert!(
        c["resources"]["requests"]["cpu"].is_string() && c["resources"]["requests"]["memory"].is_string()
    );

    // The listen address: a flag in args, or DORA_LISTEN.
    let args: Vec<&str> =
        c["args"].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap()).collect()).unwrap_or_default();
    let env = get(c, &["env"]).as_array().unwrap();
    let env_value = |name: &str| env.iter().find(|e| e["name"] == name);
    let listen = args
        .iter()
        .position(|a| *a == "--listen")
        .map(|i| args[i + 1].to_string())
        .or_else(|| env_value("DORA_LISTEN").map(|e| e["value"].as_str().unwrap().to_string()))
        .expect("the listen address is set");
    let listen: SocketAddr = listen.parse().unwrap();
    assert!(listen.ip().is_unspecified(), "listens on every address of the pod: {listen}");
    let ports = get(c, &["ports"]).as_array().unwrap();
    let port =
        ports.iter().find(|p| p["containerPort"] == u64::from(listen.port())).expect("the container port");
    let port_name = port["name"].as_str().unwrap();

    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get_probe = get(c, &[probe, "httpGet"]);
        assert_eq!(get_probe["path"], path, "{probe}");
        let p = &get_probe["port"];
        assert!(*p == port_name || *p == u64::from(listen.port()), "{probe} port {p}");
    }
    let service = of_kind("Service")[0];
    let target = &get(service, &["spec", "ports"])[0]["targetPort"];
    assert!(*target == port_name || *target == u64::from(listen.port()), "Service targetPort {target}");

    // Secrets come from a Secret, by name; dora.toml names the variable.
    let token = env_value("DORA_INGEST_TOKEN").expect("the ingest token's variable");
    assert!(token["valueFrom"]["secretKeyRef"]["name"].is_string(), "{token}");
    assert!(token.get("value").is_none(), "never the token itself");
    for e in env {
        let name = e["name"].as_str().unwrap();
        if name.contains("TOKEN") || name.contains("SECRET") {
            assert!(e["valueFrom"]["secretKeyRef"].is_object(), "{name} comes from a Secret");
        }
    }
    let toml = get(of_kind("ConfigMap")[0], &["data", "dora.toml"]).as_str().unwrap();
    assert!(toml.contains("ingest_token_env = \"DORA_INGEST_TOKEN\""), "{toml}");
    // Every `*_env` setting of [serve] names a variable the container gets from a Secret.
    let mut secrets = 0;
    for line in toml.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if let Some((key, value)) = line.split_once('=')
            && key.trim().ends_with("_env")
        {
            let name = value.trim().trim_matches('"');
            let var =
                env_value(name).unwrap_or_else(|| panic!("{key} names {name}, which the container lacks"));
            assert!(var["valueFrom"]["secretKeyRef"]["key"].is_string(), "{name} comes from a Secret");
            secrets += 1;
        }
    }
    assert!(secrets >= 3, "the ingest token and the two webhook secrets");
    // The store is on the volume.
    let store = args
        .iter()
        .position(|a| *a == "--store")
        .map(|i| args[i + 1].to_string())
        .or_else(|| env_value("DORA_STORE").map(|e| e["value"].as_str().unwrap().to_string()))
        .unwrap_or_else(|| "/data/dora.db".into());
    let mounts = get(c, &["volumeMounts"]).as_array().unwrap();
    assert!(
        mounts.iter().any(|m| store.starts_with(m["mountPath"].as_str().unwrap())),
        "{store} on a volume"
    );

    // The image: the same port, the same probe path, the store on /data.
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("EXPOSE {}", listen.port())), "Dockerfile EXPOSE");
    assert!(dockerfile.contains("VOLUME [\"/data\"]"));
    assert!(dockerfile.contains(&format!("0.0.0.0:{}", listen.port())));
    assert!(dockerfile.contains("/healthz"));
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim_matches('/') == "target") && ignore.lines().any(|l| l == ".git"));
}
