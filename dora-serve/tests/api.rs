//! The query endpoints carry requests to a `Queries` and its answers back:
//! parameters in order, the body with its `Content-Type`, `400` and `500`
//! as JSON errors, the report's links; `501` without a `Queries`.

mod support;

use std::sync::Arc;

use dora_core::GroupKind;
use dora_core::render::ReportLinks;
use dora_serve::{Params, Queries, QueryError, ServeConfig};
use reqwest::StatusCode;
use serde_json::Value;
use support::Running;

/// Echoes the parameters; `fail=bad` and `fail=internal` give the errors.
struct Echo;

fn echo(endpoint: &str, params: &Params) -> Result<Vec<u8>, QueryError> {
    match params.iter().find(|(k, _)| k == "fail").map(|(_, v)| v.as_str()) {
        Some("bad") => Err(QueryError::BadRequest("fail: bad, as asked".into())),
        Some(_) => Err(QueryError::Internal("the store is gone".into())),
        None => {
            Ok(serde_json::to_vec(&serde_json::json!({ "endpoint": endpoint, "params": params })).unwrap())
        }
    }
}

impl Queries for Echo {
    fn metrics(&self, params: &Params) -> Result<Vec<u8>, QueryError> {
        echo("metrics", params)
    }

    fn explain(&self, params: &Params) -> Result<Vec<u8>, QueryError> {
        echo("explain", params)
    }

    fn report_html(&self, params: &Params, links: &dyn ReportLinks) -> Result<Vec<u8>, QueryError> {
        echo("report", params)?;
        let page = format!(
            "<p>{} {} {} {}</p>",
            links.week("2026-W46").unwrap_or_default(),
            links.latest().unwrap_or_default(),
            links.group(GroupKind::Team, "pay ments").unwrap_or_default(),
            links.group(GroupKind::All, "all").unwrap_or_default()
        );
        Ok(page.into_bytes())
    }
}

/// A server with `queries`, and the folder of its store.
async fn start(queries: Option<Arc<dyn Queries>>) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("dora.db"));
    config.queries = queries;
    (Running::start(config).await, dir)
}

async fn get(url: String) -> (StatusCode, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, response.text().await.unwrap())
}

#[tokio::test]
async fn queries_are_carried_over() {
    let (server, _dir) = start(Some(Arc::new(Echo))).await;
    let (status, ct, body) =
        get(server.url("/api/v1/metrics?since=2026-01-01&tz=Europe%2FBerlin&since=x")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["endpoint"], "metrics");
    assert_eq!(
        v["params"],
        serde_json::json!([["since", "2026-01-01"], ["tz", "Europe/Berlin"], ["since", "x"]])
    );
    let (status, _, body) = get(server.url("/api/v1/explain?metric=lead-time")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["endpoint"], "explain");

    let (status, ct, body) = get(server.url("/api/v1/metrics?fail=bad")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::BAD_REQUEST, "application/json"));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "fail: bad, as asked");
    let (status, _, body) = get(server.url("/api/v1/explain?fail=internal")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "the store is gone");

    let (status, ct, body) = get(server.url("/?week=2026-W47&timezone=Europe%2FBerlin")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "text/html; charset=utf-8"));
    assert_eq!(
        body,
        "<p>/?timezone=Europe%2FBerlin&week=2026-W46 /?timezone=Europe%2FBerlin /?week=2026-W47&timezone=Europe%2FBerlin&team=pay%20ments /?week=2026-W47&timezone=Europe%2FBerlin</p>"
    );
    let (status, _, _) = get(server.url("/?fail=bad")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.shutdown().await;
}

#[tokio::test]
async fn without_queries_the_endpoints_answer_501() {
    let (server, _dir) = start(None).await;
    for path in ["/", "/api/v1/metrics", "/api/v1/explain?metric=lead-time"] {
        let (status, ct, body) = get(server.url(path)).await;
        assert_eq!((status, ct.as_str()), (StatusCode::NOT_IMPLEMENTED, "application/json"), "{path}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("answers no queries"), "{path}: {body}");
    }
    let (status, _, _) = get(server.url("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await;
}
