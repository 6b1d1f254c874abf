//! The real server on an ephemeral loopback port, with a temporary store,
//! driven by an HTTP client.

mod support;

use std::path::Path;

use dora_core::store::Store;
use dora_core::{EventSet, ReadOptions};
use dora_serve::{ServeConfig, ServeError, Server};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Running, stored};

const TOKEN: &str = "s3cret-test-token";

fn config(dir: &Path) -> ServeConfig {
    let mut c = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("dora.db"));
    c.ingest_token = Some(TOKEN.to_string());
    c
}

fn deployment(id: &str, service: &str, finished_at: &str) -> String {
    format!(
        r#"{{"kind":"deployment","id":"{id}","service":"{service}","environment":"production","finished_at":"{finished_at}","status":"success"}}"#
    )
}

fn recent(hours_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    ctype: &str,
    body: String,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = client.post(url).header("content-type", ctype).body(body);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path())).await;
    let client = reqwest::Client::new();
    let r = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_stored_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let store_path = cfg.store.clone();
    let server = Running::start(cfg).await;
    let client = reqwest::Client::new();
    let url = server.url("/events");

    // JSON Lines: two events.
    let body = format!(
        "{}\n{}\n",
        deployment("d1", "api", "2026-11-02T10:00:00Z"),
        deployment("d2", "web", "2026-11-02T11:00:00Z")
    );
    let (status, answer) = post(&client, &url, "application/x-ndjson", body.clone(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, serde_json::json!({"added": 2, "replaced": 0, "unchanged": 0}));
    // The same again: unchanged (the answer came after the commit).
    let (status, answer) = post(&client, &url, "application/x-ndjson", body, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, serde_json::json!({"added": 0, "replaced": 0, "unchanged": 2}));

    // One JSON object, over several lines; then a new version of it.
    let object = "{\n  \"kind\": \"deployment\", \"id\": \"d3\", \"service\": \"api\",\n  \"environment\": \"production\", \"finished_at\": \"2026-11-03T10:00:00Z\", \"status\": \"success\"\n}";
    let (status, answer) = post(&client, &url, "application/json", object.to_string(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, serde_json::json!({"added": 1, "replaced": 0, "unchanged": 0}));
    let (status, answer) = post(
        &client,
        &url,
        "application/json; charset=utf-8",
        deployment("d3", "api", "2026-11-03T10:05:00Z"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, serde_json::json!({"added": 0, "replaced": 1, "unchanged": 0}));

    // A bad third line: 400 naming line and field, and nothing stored.
    let bad = format!(
        "{}\n{}\n{}\n",
        deployment("d4", "api", "2026-11-04T10:00:00Z"),
        deployment("d5", "api", "2026-11-04T11:00:00Z"),
        deployment("d6", "api", "yesterday-ish"),
    );
    let (status, answer) = post(&client, &url, "application/x-ndjson", bad, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["line"], 3, "{answer}");
    assert_eq!(answer["field"], "finished_at", "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    // Not JSON at all, an empty body, a JSON array, an unknown media type.
    let (status, answer) = post(&client, &url, "application/json", "{not json".into(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, _) = post(&client, &url, "application/x-ndjson", String::new(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(&client, &url, "application/json", "[]".into(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        post(&client, &url, "text/plain", deployment("d7", "api", "2026-11-04T10:00:00Z"), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Missing and wrong tokens: 401, nothing stored.
    let ok = deployment("d8", "api", "2026-11-05T10:00:00Z");
    let (status, _) = post(&client, &url, "application/x-ndjson", ok.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        post(&client, &url, "application/x-ndjson", ok.clone(), Some("s3cret-test-tokem")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&client, &url, "application/x-ndjson", ok, Some("short")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    server.shutdown().await;
    // Reopened: exactly d1, d2 and d3 (its second version).
    let set = stored(&store_path);
    assert_eq!(set.len(), 3);
    for id in ["d1", "d2", "d3"] {
        assert!(set.deployment(id).is_some(), "{id}");
    }
    assert_eq!(set.deployment("d3").unwrap().finished_at.to_rfc3339(), "2026-11-03T10:05:00+00:00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_body = 1024;
    let store_path = cfg.store.clone();
    let server = Running::start(cfg).await;
    let client = reqwest::Client::new();
    let line = deployment("d1", "api", "2026-11-02T10:00:00Z");
    let body: String = (0..40).map(|_| format!("{line}\n")).collect();
    assert!(body.len() > 1024);
    let (status, answer) =
        post(&client, &server.url("/events"), "application/x-ndjson", body, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    // A small one still passes.
    let (status, _) = post(&client, &server.url("/events"), "application/x-ndjson", line, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await;
    assert_eq!(stored(&store_path).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reflect_what_was_just_posted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path())).await;
    let client = reqwest::Client::new();
    let scrape = |accept: Option<&'static str>| {
        let mut req = client.get(server.url("/metrics"));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
            (ctype, r.text().await.unwrap())
        }
    };
    // An empty store: the families are there, no deployment.
    let (ctype, text) = scrape(None).await;
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert!(text.contains("# TYPE dora_deployments gauge"), "{text}");
    assert!(text.contains("dora_deployments{group_by=\"all\",name=\"all\"} 0"), "{text}");

    let body = format!("{}\n{}\n", deployment("d1", "api", &recent(5)), deployment("d2", "api", &recent(3)));
    let (status, _) = post(&client, &server.url("/events"), "application/x-ndjson", body, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, text) = scrape(None).await;
    assert!(text.contains("dora_deployments{group_by=\"all\",name=\"all\"} 2\n"), "{text}");
    assert!(text.contains("dora_deployments{group_by=\"service\",name=\"api\"} 2\n"), "{text}");

    let (status, _) = post(
        &client,
        &server.url("/events"),
        "application/json",
        deployment("d3", "web", &recent(1)),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (ctype, text) = scrape(Some("application/openmetrics-text; version=1.0.0")).await;
    assert_eq!(ctype, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert!(text.contains("dora_deployments{group_by=\"all\",name=\"all\"} 3\n"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");

    // Another process writes the store (as `dora import` would): the next
    // scrape sees it, without waiting for the cache to age.
    {
        let mut other = Store::open(&dir.path().join("dora.db")).unwrap();
        let mut set = EventSet::new();
        dora_core::read_jsonl(
            deployment("d4", "web", &recent(2)).as_bytes(),
            None,
            &mut set,
            &ReadOptions::default(),
        )
        .unwrap();
        let mut writer = other.writer().unwrap();
        writer.put_set(&set).unwrap();
        writer.commit().unwrap();
    }
    let (_, text) = scrape(None).await;
    assert!(text.contains("dora_deployments{group_by=\"all\",name=\"all\"} 4\n"), "{text}");
    // Unchanged since: the same figures from the cache.
    let (_, again) = scrape(None).await;
    assert!(again.contains("dora_deployments{group_by=\"all\",name=\"all\"} 4\n"), "{again}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_off_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServeConfig::new("0.0.0.0:0".parse().unwrap(), dir.path().join("dora.db"));
    let err = Server::bind(cfg.clone()).await.unwrap_err();
    assert!(matches!(err, ServeError::NoTokenOffLoopback(_)), "{err}");
    assert!(err.to_string().contains("without an ingest token"), "{err}");
    assert!(!err.to_string().contains('\n'));
    // Loopback without a token is fine; so is a token anywhere (not bound here).
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let server = Running::start(cfg).await;
    let client = reqwest::Client::new();
    let (status, _) = post(
        &client,
        &server.url("/events"),
        "application/x-ndjson",
        deployment("d1", "api", "2026-11-02T10:00:00Z"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await;
}
