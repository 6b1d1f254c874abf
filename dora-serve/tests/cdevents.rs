//! `POST /cdevents` on the real server (ephemeral loopback port, temporary
//! store), driven by an HTTP client: the CDEvents spec's conformance
//! examples in `../shared/fixtures/peer/cdevents/` (read from there; the
//! tests that need them say they are skipped when the folder is absent)
//! in structured mode, binary mode and batches, and hand-made events for
//! resolutions and every refusal. What was stored is read back from the
//! store.

mod support;

use std::path::Path;

use dora_core::EventSet;
use dora_core::event::{DeploymentStatus, DeploymentType};
use dora_core::store::Store;
use dora_serve::ServeConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "cd-events-test-token";
const VERSIONS: [&str; 2] = ["v0.4.1", "v0.5.1"];
const TYPES: [&str; 10] = [
    "service_deployed",
    "service_upgraded",
    "service_rolledback",
    "change_merged",
    "incident_detected",
    "incident_reported",
    "incident_resolved",
    "pipelinerun_finished",
    "taskrun_finished",
    "artifact_published",
];

/// A running server with a store of its own, and its requests.
struct Running {
    server: support::Running,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Running {
        Running::with(|_| {}).await
    }

    async fn with(edit: impl FnOnce(&mut ServeConfig)) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("dora.db"));
        config.ingest_token = Some(TOKEN.to_string());
        edit(&mut config);
        Running { server: support::Running::start(config).await, _dir: dir }
    }

    /// Posts `body` to `/cdevents` with the token and these headers.
    async fn post(&self, ctype: &str, headers: &[(&str, &str)], body: String) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new()
            .post(self.server.url("/cdevents"))
            .header("content-type", ctype)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn structured(&self, event: &Value) -> (StatusCode, Value) {
        self.post("application/cloudevents+json", &[], structured(event).to_string()).await
    }

    async fn batch(&self, events: &[Value]) -> (StatusCode, Value) {
        let batch: Vec<Value> = events.iter().map(structured).collect();
        self.post("application/cloudevents-batch+json", &[], Value::Array(batch).to_string()).await
    }

    async fn binary(&self, event: &Value) -> (StatusCode, Value) {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let headers = [
            ("ce-specversion", "1.0".to_string()),
            ("ce-id", s(&event["context"]["id"])),
            ("ce-source", s(&event["context"]["source"])),
            ("ce-type", s(&event["context"]["type"])),
            ("ce-subject", s(&event["subject"]["id"])),
            ("ce-time", s(&event["context"]["timestamp"])),
        ];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.post("application/json", &headers, event.to_string()).await
    }

    fn stored(&self) -> EventSet {
        self.server.stored()
    }

    fn resolution(&self, incident: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        Store::open_read_only(&self.server.store).unwrap().resolution(incident).unwrap()
    }

    /// Stops the server gracefully; it must end without an error. The
    /// store's folder, kept until the result is dropped.
    async fn shutdown(self) -> tempfile::TempDir {
        self.server.shutdown().await;
        self._dir
    }
}

async fn answer(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A structured-mode CloudEvent carrying `cdevent`, its attributes as the
/// CloudEvents binding of CDEvents sets them.
fn structured(cdevent: &Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": cdevent["context"]["id"],
        "source": cdevent["context"]["source"],
        "type": cdevent["context"]["type"],
        "subject": cdevent["subject"]["id"],
        "time": cdevent["context"]["timestamp"],
        "datacontenttype": "application/json",
        "data": cdevent,
    })
}

/// The conformance example `cdevents/<version>/<name>.json`, or `None`
/// (saying the check is skipped) when the fixtures are absent.
fn example(version: &str, name: &str) -> Option<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/peer/cdevents");
    let path = dir.join(version).join(format!("{name}.json"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))),
        Err(_) => {
            eprintln!("note: {} is absent; this check is skipped", path.display());
            None
        }
    }
}

/// Every example of `version`, in [`TYPES`] order, or `None` when absent.
fn examples(version: &str) -> Option<Vec<Value>> {
    TYPES.iter().map(|t| example(version, t)).collect()
}

fn counts(added: u64, replaced: u64, unchanged: u64, resolved: u64, pending: u64, ignored: u64) -> Value {
    json!({"added": added, "replaced": replaced, "unchanged": unchanged,
           "resolved": resolved, "pending": pending, "ignored": ignored})
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// A hand-made CDEvent 0.5.1 of `predicate` (e.g. `incident.detected`).
fn cdevent(predicate: &str, id: &str, timestamp: &str, subject: Value) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/monitoring",
                    "type": format!("dev.cdevents.{predicate}.0.3.0"), "timestamp": timestamp},
        "subject": subject,
    })
}

fn detected(incident: &str, timestamp: &str) -> Value {
    cdevent(
        "incident.detected",
        &format!("{incident}-detected"),
        timestamp,
        json!({"id": incident, "content": {"service": {"id": "shop"}, "environment": {"id": "production"}}}),
    )
}

fn resolved(incident: &str, timestamp: &str) -> Value {
    cdevent(
        "incident.resolved",
        &format!("{incident}-resolved-{timestamp}"),
        timestamp,
        json!({"id": incident, "content": {"service": {"id": "shop"}}}),
    )
}

fn deployed(id: &str, timestamp: &str) -> Value {
    cdevent(
        "service.deployed",
        id,
        timestamp,
        json!({"id": "shop", "content": {"environment": {"id": "production"}}}),
    )
}

/// Each conformance example alone, in structured mode, to a new store:
/// the answer's counts and what was stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_in_structured_mode() {
    for version in VERSIONS {
        for name in TYPES {
            let Some(event) = example(version, name) else { continue };
            let server = Running::start().await;
            let (status, answer) = server.structured(&event).await;
            assert_eq!(status, StatusCode::OK, "{version}/{name}: {answer}");
            let set = server.stored();
            let what = format!("{version}/{name}");
            let time = at(event["context"]["timestamp"].as_str().unwrap());
            match name {
                "service_deployed" | "service_upgraded" | "service_rolledback" => {
                    assert_eq!(answer, counts(1, 0, 0, 0, 0, 0), "{what}");
                    let id =
                        format!("cdevents:/event/source/123:{}", event["context"]["id"].as_str().unwrap());
                    let d = set.deployment(&id).unwrap_or_else(|| panic!("{what}: {id} stored"));
                    assert_eq!((d.service.as_str(), d.environment.as_str()), ("mySubject123", "test123"));
                    assert_eq!(d.finished_at, time, "{what}");
                    assert_eq!(d.status, DeploymentStatus::Success);
                    let rollback = name == "service_rolledback";
                    let expected = if rollback { DeploymentType::Rollback } else { DeploymentType::Regular };
                    assert_eq!(d.deployment_type, expected, "{what}");
                    assert_eq!(d.source.as_deref(), Some("cdevents"));
                }
                "change_merged" => {
                    assert_eq!(answer, counts(1, 0, 0, 0, 0, 0), "{what}");
                    let c = set.change("mySubject123").unwrap_or_else(|| panic!("{what}: stored"));
                    assert_eq!(c.service, "TestRepo/TestOrg", "{what}");
                    assert_eq!(c.committed_at, time);
                    assert_eq!(c.pull_request.and_then(|p| p.merged_at), Some(time));
                }
                "incident_detected" | "incident_reported" => {
                    assert_eq!(answer, counts(1, 0, 0, 0, 0, 0), "{what}");
                    let i = set.incident("incident-123").unwrap_or_else(|| panic!("{what}: stored"));
                    assert_eq!(i.service, "myApp");
                    assert_eq!(i.opened_at, time);
                    assert_eq!(i.resolved_at, None);
                    let severity = (name == "incident_reported").then_some("medium");
                    assert_eq!(i.severity.as_deref(), severity, "{what}");
                }
                "incident_resolved" => {
                    // Its incident is not stored: the resolution waits for it.
                    assert_eq!(answer, counts(0, 0, 0, 0, 1, 0), "{what}");
                    assert_eq!(set.len(), 0);
                    assert_eq!(server.resolution("incident-123"), Some(time), "{what}");
                }
                _ => {
                    assert_eq!(answer, counts(0, 0, 0, 0, 0, 1), "{what}");
                    assert_eq!(set.len(), 0);
                }
            }
            // The same CloudEvent again changes nothing.
            let (status, again) = server.structured(&event).await;
            assert_eq!(status, StatusCode::OK);
            let expected = match name {
                "incident_resolved" => counts(0, 0, 0, 0, 1, 0),
                n if n.ends_with("_finished") || n == "artifact_published" => counts(0, 0, 0, 0, 0, 1),
                _ => counts(0, 0, 1, 0, 0, 0),
            };
            assert_eq!(again, expected, "{what} again");
            server.shutdown().await;
        }
    }
}

/// Binary mode: the same examples with `ce-*` headers store the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_in_binary_mode() {
    let server = Running::start().await;
    let mut any = false;
    for (version, name, expected) in [
        ("v0.4.1", "service_deployed", counts(1, 0, 0, 0, 0, 0)),
        ("v0.5.1", "change_merged", counts(1, 0, 0, 0, 0, 0)),
        ("v0.5.1", "incident_detected", counts(1, 0, 0, 0, 0, 0)),
        ("v0.4.1", "incident_resolved", counts(0, 0, 0, 1, 0, 0)),
        ("v0.5.1", "taskrun_finished", counts(0, 0, 0, 0, 0, 1)),
    ] {
        let Some(event) = example(version, name) else { continue };
        any = true;
        let (status, answer) = server.binary(&event).await;
        assert_eq!(status, StatusCode::OK, "{version}/{name}: {answer}");
        assert_eq!(answer, expected, "{version}/{name}");
    }
    if any {
        let set = server.stored();
        assert_eq!(set.len(), 3);
        let d = set.deployment("cdevents:/event/source/123:271069a8-fc18-44f1-b38f-9d70a1695819").unwrap();
        assert_eq!(d.environment, "test123");
        assert!(set.change("mySubject123").is_some());
        let i = set.incident("incident-123").unwrap();
        assert_eq!(i.resolved_at, Some(at("2022-11-11T13:52:20.079Z")));
    }
    // A binary-mode CloudEvent names its missing header.
    let event = deployed("d1", "2026-03-02T10:00:00Z");
    let (status, answer) = server
        .post(
            "application/json",
            &[("ce-specversion", "1.0"), ("ce-id", "d1"), ("ce-source", "/monitoring")],
            event.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "missing attribute ce-type");
    let (status, answer) = server.post("application/json", &[], event.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "missing attribute ce-specversion");
    server.shutdown().await;
}

/// All ten examples of each version in one batch: one answer counting
/// them all (the examples share ids, so later ones replace earlier ones).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_as_one_batch() {
    for version in VERSIONS {
        let Some(events) = examples(version) else { continue };
        let server = Running::start().await;
        let (status, answer) = server.batch(&events).await;
        assert_eq!(status, StatusCode::OK, "{version}: {answer}");
        // deployed: added; upgraded: the same deployment id and record,
        // unchanged; rolledback: the same id as a rollback, replaced;
        // change: added; detected: added; reported (a severity): replaced;
        // resolved: resolves the incident of the same batch; three ignored.
        assert_eq!(answer, counts(3, 2, 1, 1, 0, 3), "{version}");
        let set = server.stored();
        assert_eq!(set.len(), 3, "{version}");
        let d = set.deployment("cdevents:/event/source/123:271069a8-fc18-44f1-b38f-9d70a1695819").unwrap();
        assert_eq!(d.deployment_type, DeploymentType::Rollback);
        let i = set.incident("incident-123").unwrap();
        assert_eq!(i.severity.as_deref(), Some("medium"));
        assert_eq!(i.resolved_at, Some(at("2022-11-11T13:52:20.079Z")), "{version}");
        // The batch again: every stored event unchanged, the resolution too.
        let (status, answer) = server.batch(&events).await;
        assert_eq!(status, StatusCode::OK);
        // deployed: the regular version replaces the stored rollback, upgraded
        // is then unchanged, rolledback replaces it again; the change is
        // unchanged; detected (no severity, resolved by the kept
        // resolution) replaces, reported replaces back; the resolution is
        // unchanged.
        assert_eq!(answer, counts(0, 4, 3, 0, 0, 3), "{version} again");
        assert_eq!(server.stored().incident("incident-123").unwrap().resolved_at, i.resolved_at);
        server.shutdown().await;
    }
}

/// A resolution after its incident, before it (in an earlier request), and
/// in the same batch before it: the incident always ends resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolutions_after_before_and_with_the_detection() {
    let server = Running::start().await;

    // After.
    let (status, answer) = server.structured(&detected("INC-1", "2026-03-02T10:00:00Z")).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(1, 0, 0, 0, 0, 0)));
    assert_eq!(server.stored().incident("INC-1").unwrap().resolved_at, None);
    let (status, answer) = server.structured(&resolved("INC-1", "2026-03-02T11:00:00Z")).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(0, 0, 0, 1, 0, 0)));
    assert_eq!(server.stored().incident("INC-1").unwrap().resolved_at, Some(at("2026-03-02T11:00:00Z")));
    // The same resolution again: unchanged.
    let (status, answer) = server.structured(&resolved("INC-1", "2026-03-02T11:00:00Z")).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(0, 0, 1, 0, 0, 0)));
    // The detection sent again keeps it resolved.
    let (status, answer) = server.structured(&detected("INC-1", "2026-03-02T10:00:00Z")).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(0, 0, 1, 0, 0, 0)));
    assert_eq!(server.stored().incident("INC-1").unwrap().resolved_at, Some(at("2026-03-02T11:00:00Z")));

    // Before: kept, and applied when the incident arrives (binary mode).
    let (status, answer) = server.structured(&resolved("INC-2", "2026-03-03T11:00:00Z")).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(0, 0, 0, 0, 1, 0)));
    assert!(server.stored().incident("INC-2").is_none());
    assert_eq!(server.resolution("INC-2"), Some(at("2026-03-03T11:00:00Z")));
    let (status, answer) = server.binary(&detected("INC-2", "2026-03-03T10:00:00Z")).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(1, 0, 0, 0, 0, 0)));
    assert_eq!(server.stored().incident("INC-2").unwrap().resolved_at, Some(at("2026-03-03T11:00:00Z")));

    // In the same batch, the resolution first.
    let batch = [
        resolved("INC-3", "2026-03-04T11:00:00Z"),
        deployed("d1", "2026-03-04T09:00:00Z"),
        detected("INC-3", "2026-03-04T10:00:00Z"),
    ];
    let (status, answer) = server.batch(&batch).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(2, 0, 0, 1, 0, 0)));
    let set = server.stored();
    assert_eq!(set.incident("INC-3").unwrap().resolved_at, Some(at("2026-03-04T11:00:00Z")));
    assert_eq!(set.incident("INC-3").unwrap().opened_at, at("2026-03-04T10:00:00Z"));
    assert_eq!(set.len(), 4);
    let path = server.server.store.clone();
    let _dir = server.shutdown().await;

    // Reopened after the server stopped: all there.
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.len().unwrap(), 4);
    assert_eq!(store.resolution("INC-2").unwrap(), Some(at("2026-03-03T11:00:00Z")));
}

/// One bad event fails the whole batch: a 400 naming its position and
/// reason, and nothing stored (not even the resolution).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_one_bad_event_stores_nothing() {
    let server = Running::start().await;
    let mut bad = deployed("d2", "2026-03-02T10:00:00Z");
    bad["subject"]["content"]["environment"] = Value::Null;
    let batch = [
        deployed("d1", "2026-03-02T09:00:00Z"),
        resolved("INC-9", "2026-03-02T09:30:00Z"),
        detected("INC-9", "2026-03-02T09:10:00Z"),
        bad,
    ];
    let (status, answer) = server.batch(&batch).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["index"], 4, "{answer}");
    assert_eq!(answer["error"], "event 4: missing attribute subject.content.environment.id");
    assert_eq!(server.stored().len(), 0);
    assert_eq!(server.resolution("INC-9"), None);
    // Without it, the rest is stored.
    let (status, answer) = server.batch(&batch[..3]).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(2, 0, 0, 1, 0, 0)));
    server.shutdown().await;
}

/// Missing attributes, unknown versions, malformed JSON: 400 naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_what_is_wrong() {
    let server = Running::start().await;
    let good = deployed("d1", "2026-03-02T10:00:00Z");

    // A CloudEvent attribute.
    let mut envelope = structured(&good);
    envelope.as_object_mut().unwrap().remove("id");
    let (status, answer) = server.post("application/cloudevents+json", &[], envelope.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "missing attribute id");
    // A CDEvent attribute.
    let mut no_time = good.clone();
    no_time["context"].as_object_mut().unwrap().remove("timestamp");
    let (status, answer) = server.structured(&no_time).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "missing attribute context.timestamp");
    // Spec versions.
    let mut spec = good.clone();
    spec["context"]["specversion"] = json!("0.9.0");
    let (status, answer) = server.structured(&spec).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "unknown CDEvents spec version 0.9.0");
    let mut envelope = structured(&good);
    envelope["specversion"] = json!("0.3");
    let (status, answer) = server.post("application/cloudevents+json", &[], envelope.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "unknown CloudEvents spec version 0.3");
    // An event version, in each mode.
    let mut version = good.clone();
    version["context"]["type"] = json!("dev.cdevents.service.deployed.9.0.0");
    let expected = "unknown event version dev.cdevents.service.deployed.9.0.0";
    let (status, answer) = server.structured(&version).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some(expected)));
    let (status, answer) = server.binary(&version).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some(expected)));
    let (status, answer) = server.batch(&[good.clone(), version]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], format!("event 2: {expected}"));
    assert_eq!(answer["index"], 2);
    // Not JSON, empty, not an array for a batch.
    for (ctype, body) in [
        ("application/cloudevents+json", "{not json"),
        ("application/cloudevents+json", ""),
        ("application/cloudevents-batch+json", "{}"),
        ("application/json", "[1, 2"),
    ] {
        let headers = [("ce-specversion", "1.0"), ("ce-id", "x"), ("ce-source", "/s"), ("ce-type", "t")];
        let (status, answer) = server.post(ctype, &headers, body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ctype} {body:?}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty() && !e.contains('\n')), "{answer}");
    }
    assert_eq!(server.stored().len(), 0);
    server.shutdown().await;
}

/// The token, the media type and the body limit, as for `POST /events`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_media_types_and_sizes() {
    let server = Running::with(|c| c.max_body = 2048).await;
    let event = structured(&deployed("d1", "2026-03-02T10:00:00Z")).to_string();
    let client = reqwest::Client::new();
    let url = server.server.url("/cdevents");
    for token in [None, Some("cd-events-test-tokem"), Some("short")] {
        let mut req =
            client.post(&url).header("content-type", "application/cloudevents+json").body(event.clone());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap()), Some("Bearer"));
        let (status, answer) = answer(resp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    for ctype in ["text/plain", "application/x-ndjson", "application/cloudevents+xml"] {
        let (status, answer) = server.post(ctype, &[], event.clone()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ctype}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let big: Vec<Value> =
        (0..20).map(|i| structured(&deployed(&format!("d{i}"), "2026-03-02T10:00:00Z"))).collect();
    let big = Value::Array(big).to_string();
    assert!(big.len() > 2048);
    let (status, answer) = server.post("application/cloudevents-batch+json", &[], big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(server.stored().len(), 0);
    // A small one passes.
    let (status, answer) = server.post("application/cloudevents+json", &[], event).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(1, 0, 0, 0, 0, 0)));
    // An empty batch is nothing to store.
    let (status, answer) = server.post("application/cloudevents-batch+json", &[], "[]".into()).await;
    assert_eq!((status, answer), (StatusCode::OK, counts(0, 0, 0, 0, 0, 0)));
    server.shutdown().await;
}
