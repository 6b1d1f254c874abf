//! `POST /cdevents`: CDEvents (spec 0.4.x and 0.5.x) as CloudEvents over
//! HTTP, mapped by [`dora_sources::cdevents`] and stored all or nothing.
//!
//! Three framings, by `Content-Type`:
//! - `application/json`: binary mode, one CloudEvent: its attributes in
//!   `ce-*` headers, the CDEvent as the body;
//! - `application/cloudevents+json`: structured mode, one CloudEvent with
//!   the CDEvent under `data`;
//! - `application/cloudevents-batch+json`: a JSON array of structured
//!   CloudEvents.
//!
//! Deployments, changes and opened incidents are written as events, in the
//! request's order; resolutions (`incident.resolved`) after them, in the
//! same transaction, so that an incident of the same request is resolved
//! too, and one not stored yet will be when it arrives
//! (`dora_core::store::StoreWriter::resolve`). Other event types are only
//! counted.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dora_sources::cdevents::{self, Mapped};
use serde_json::{Value, json};

use crate::AppState;
use crate::handlers::{error, unauthorized};
use crate::writer::{Write, Written};

/// How the body of `POST /cdevents` is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `application/json` with `ce-*` headers.
    Binary,
    /// `application/cloudevents+json`.
    Structured,
    /// `application/cloudevents-batch+json`.
    Batch,
}

/// The mode of a `Content-Type` value (parameters such as `charset`
/// ignored), or `None` for any other media type.
fn mode(content_type: Option<&str>) -> Option<Mode> {
    let media = content_type?.split(';').next().unwrap_or("").trim();
    [
        ("application/json", Mode::Binary),
        ("application/cloudevents+json", Mode::Structured),
        ("application/cloudevents-batch+json", Mode::Batch),
    ]
    .into_iter()
    .find(|(name, _)| media.eq_ignore_ascii_case(name))
    .map(|(_, mode)| mode)
}

/// A rejected request: the `400` answer's message, and the position of the
/// failing event in a batch (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rejected {
    message: String,
    index: Option<usize>,
}

impl From<cdevents::Error> for Rejected {
    fn from(e: cdevents::Error) -> Self {
        let index = match &e {
            cdevents::Error::InBatch { index, .. } => Some(*index),
            _ => None,
        };
        Rejected { message: e.to_string(), index }
    }
}

/// Maps the whole body: every CloudEvent of it, or the reason why not.
fn map(mode: Mode, headers: &[(&str, &str)], body: &[u8]) -> Result<Vec<Mapped>, Rejected> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejected { message: "the body is empty".into(), index: None });
    }
    let text = || {
        std::str::from_utf8(body)
            .map_err(|e| Rejected { message: format!("the body is not UTF-8: {e}"), index: None })
    };
    Ok(match mode {
        Mode::Binary => vec![cdevents::from_binary(headers, body)?],
        Mode::Structured => vec![cdevents::from_structured_str(text()?)?],
        Mode::Batch => cdevents::from_batch(text()?)?,
    })
}

/// What the request writes, and how many events of it were ignored.
fn split(mapped: Vec<Mapped>) -> (Write, u64) {
    let mut write = Write::default();
    let mut ignored = 0;
    for m in mapped {
        match m {
            Mapped::Event(event) => write.events.push(event),
            Mapped::Resolve(r) => write.resolutions.push((r.incident_id, r.resolved_at)),
            Mapped::Ignored { .. } => ignored += 1,
        }
    }
    (write, ignored)
}

/// The `200` answer's counts (documented in docs/serve.md).
fn counts(written: &Written, ignored: u64) -> Value {
    json!({
        "added": written.events.added,
        "replaced": written.events.replaced,
        "unchanged": written.events.unchanged + written.resolutions_unchanged,
        "resolved": written.resolved,
        "pending": written.pending,
        "ignored": ignored,
    })
}

/// `POST /cdevents`: every CloudEvent of the body stored, or none.
pub(crate) async fn post_cdevents(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(answer) = unauthorized(&state, req.headers()) {
        return answer;
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let Some(mode) = mode(content_type) else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json (a binary-mode CloudEvent, with ce-* headers), \
             application/cloudevents+json (structured mode) or application/cloudevents-batch+json (a batch)",
        );
    };
    let headers = ce_headers(req.headers());
    // The body limit (`DefaultBodyLimit`) applies here, as for `POST /events`.
    let body = match Bytes::from_request(req, &()).await {
        Ok(body) => body,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    let mapped = tokio::task::spawn_blocking(move || {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        map(mode, &pairs, &body)
    })
    .await;
    let mapped = match mapped {
        Ok(Ok(mapped)) => mapped,
        Ok(Err(rejected)) => {
            let mut answer = json!({ "error": rejected.message });
            if let Some(index) = rejected.index {
                answer["index"] = json!(index);
            }
            return (StatusCode::BAD_REQUEST, Json(answer)).into_response();
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("reading the events failed: {e}")),
    };
    let (write, ignored) = split(mapped);
    if write.events.is_empty() && write.resolutions.is_empty() {
        return Json(counts(&Written::default(), ignored)).into_response();
    }
    match state.writer.write(Box::new(write)).await {
        Ok(written) => Json(counts(&written, ignored)).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("storing the events failed: {e}")),
    }
}

/// The request's `ce-*` headers, as owned `(name, value)` pairs (values
/// that are not visible ASCII are left out, and then reported missing).
fn ce_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("ce-"))
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdevent(type_: &str, subject: Value) -> Value {
        json!({
            "context": {"specversion": "0.5.1", "id": "e1", "source": "/ci", "type": type_,
                        "timestamp": "2026-03-02T10:00:00Z"},
            "subject": subject,
        })
    }

    fn structured(cdevent: &Value) -> Value {
        json!({"specversion": "1.0", "id": cdevent["context"]["id"], "source": "/ci",
               "type": cdevent["context"]["type"], "data": cdevent})
    }

    fn deployed() -> Value {
        cdevent(
            "dev.cdevents.service.deployed.0.3.0",
            json!({"id": "web", "content": {"environment": {"id": "production"}}}),
        )
    }

    #[test]
    fn content_types_choose_the_mode() {
        assert_eq!(mode(Some("application/json")), Some(Mode::Binary));
        assert_eq!(mode(Some("Application/JSON; charset=utf-8")), Some(Mode::Binary));
        assert_eq!(mode(Some("application/cloudevents+json")), Some(Mode::Structured));
        assert_eq!(mode(Some("application/cloudevents-batch+json ; charset=UTF-8")), Some(Mode::Batch));
        assert_eq!(mode(Some("application/x-ndjson")), None);
        assert_eq!(mode(Some("text/plain")), None);
        assert_eq!(mode(None), None);
    }

    #[test]
    fn each_mode_maps_its_body() {
        let d = deployed();
        let body = d.to_string();
        let headers = [
            ("ce-specversion", "1.0"),
            ("ce-id", "e1"),
            ("ce-source", "/ci"),
            ("ce-type", "dev.cdevents.service.deployed.0.3.0"),
        ];
        let binary = map(Mode::Binary, &headers, body.as_bytes()).unwrap();
        let structured_body = structured(&d).to_string();
        let one = map(Mode::Structured, &[], structured_body.as_bytes()).unwrap();
        assert_eq!(binary, one);
        let batch_body = json!([structured(&d), structured(&d)]).to_string();
        let batch = map(Mode::Batch, &[], batch_body.as_bytes()).unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0], one[0]);
    }

    #[test]
    fn rejections_name_the_attribute_and_the_batch_position() {
        let d = deployed();
        // Binary mode without ce-id.
        let headers = [("ce-specversion", "1.0"), ("ce-source", "/ci"), ("ce-type", "t")];
        let err = map(Mode::Binary, &headers, d.to_string().as_bytes()).unwrap_err();
        assert_eq!(err, Rejected { message: "missing attribute ce-id".into(), index: None });
        // The third event of a batch has no subject id.
        let mut bad = structured(&d);
        bad["data"]["subject"]["id"] = Value::Null;
        let body = json!([structured(&d), structured(&d), bad]).to_string();
        let err = map(Mode::Batch, &[], body.as_bytes()).unwrap_err();
        assert_eq!(err.index, Some(3));
        assert_eq!(err.message, "event 3: missing attribute subject.id");
        // Not JSON, empty, not UTF-8.
        let err = map(Mode::Structured, &[], b"{not json").unwrap_err();
        assert!(err.message.starts_with("invalid JSON"), "{err:?}");
        assert_eq!(map(Mode::Batch, &[], b"  \n").unwrap_err().message, "the body is empty");
        assert!(map(Mode::Structured, &[], b"{\"a\": \"\xff\"}").unwrap_err().message.contains("UTF-8"));
    }

    #[test]
    fn events_resolutions_and_ignored_types_are_split_apart() {
        let resolved = cdevent(
            "dev.cdevents.incident.resolved.0.3.0",
            json!({"id": "INC-1", "content": {"service": {"id": "web"}}}),
        );
        let finished = cdevent("dev.cdevents.pipelinerun.finished.0.3.0", json!({"id": "run-1"}));
        let body = json!([structured(&resolved), structured(&deployed()), structured(&finished)]).to_string();
        let (write, ignored) = split(map(Mode::Batch, &[], body.as_bytes()).unwrap());
        assert_eq!(ignored, 1);
        assert_eq!(write.events.len(), 1);
        assert_eq!(write.resolutions, [("INC-1".to_string(), "2026-03-02T10:00:00Z".parse().unwrap())]);
        let written = Written {
            events: dora_core::store::WriteSummary { added: 1, replaced: 0, unchanged: 2 },
            resolved: 1,
            resolutions_unchanged: 1,
            pending: 0,
        };
        assert_eq!(
            counts(&written, ignored),
            json!({"added": 1, "replaced": 0, "unchanged": 3, "resolved": 1, "pending": 0, "ignored": 1})
        );
    }
}
