//! The endpoints, and the log line of each request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dora_core::render::ExpositionFormat;
use dora_core::{EventSet, ReadOptions};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::AppState;

type Shared = State<Arc<AppState>>;

/// A JSON error answer: `{"error": "..."}` plus any other fields.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// One log line per request: method, path, status and duration (never a
/// header or a body, so never a token).
pub(crate) async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        ms = format_args!("{:.3}", start.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    response
}

/// `GET /healthz`: the process is alive.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store is open and writable (a write transaction can
/// be begun, and is rolled back).
pub(crate) async fn readyz(State(state): Shared) -> Response {
    match state.writer.check().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("the store is not writable: {e}")),
    }
}

/// Whether the request carries the configured token (always, when none is
/// configured). The comparison takes the same time wherever the bytes differ.
fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = state.config.ingest_token.as_deref() else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match given {
        Some(given) => bool::from(given.as_bytes().ct_eq(token.as_bytes())),
        None => false,
    }
}

/// How the body of `POST /events` is framed.
#[derive(Clone, Copy)]
enum Framing {
    /// `application/x-ndjson`: `dora.events/v1` JSON Lines.
    Lines,
    /// `application/json`: one event object.
    Object,
}

fn framing(headers: &HeaderMap) -> Option<Framing> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/x-ndjson") {
        Some(Framing::Lines)
    } else if media.eq_ignore_ascii_case("application/json") {
        Some(Framing::Object)
    } else {
        None
    }
}

/// `POST /events`: all the events of the body, or none.
pub(crate) async fn post_events(State(state): Shared, req: Request) -> Response {
    if !authorized(&state, req.headers()) {
        let mut response =
            error(StatusCode::UNAUTHORIZED, "a valid `Authorization: Bearer <token>` is required");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    }
    let Some(framing) = framing(req.headers()) else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/x-ndjson (JSON Lines) or application/json (one event)",
        );
    };
    // The body limit (`DefaultBodyLimit`) applies here: a declared length
    // over it is refused before reading, a longer stream when it gets there.
    let body = match Bytes::from_request(req, &()).await {
        Ok(body) => body,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    let parsed = tokio::task::spawn_blocking(move || parse(&body, framing)).await;
    let set = match parsed {
        Ok(Ok(set)) => set,
        Ok(Err(response)) => return *response,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("reading the events failed: {e}")),
    };
    match state.writer.put(Box::new(set)).await {
        Ok(summary) => Json(summary).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("storing the events failed: {e}")),
    }
}

/// Parses the whole body into an event set, or the `400` answer.
fn parse(body: &[u8], framing: Framing) -> Result<EventSet, Box<Response>> {
    let single;
    let lines: &[u8] = match framing {
        Framing::Lines => body,
        Framing::Object => {
            // One object, perhaps over several lines: made one line.
            let value: Value = serde_json::from_slice(body).map_err(|e| {
                Box::new(
                    (
                        StatusCode::BAD_REQUEST,
                        Json(json!({ "error": format!("not a JSON object: {e}"), "line": e.line() })),
                    )
                        .into_response(),
                )
            })?;
            if !value.is_object() {
                return Err(bad("the body must be one JSON object (one event)"));
            }
            single = serde_json::to_vec(&value).map_err(|e| bad(e.to_string()))?;
            &single
        }
    };
    let mut set = EventSet::new();
    match dora_core::read_jsonl(lines, None, &mut set, &ReadOptions::default()) {
        Ok(_) => Ok(set),
        Err(dora_core::Error::InvalidEvent { location, message }) => {
            let mut answer = json!({ "error": message, "line": location.line });
            if let Some(field) = location.field {
                answer["field"] = Value::String(field);
            }
            Err(Box::new((StatusCode::BAD_REQUEST, Json(answer)).into_response()))
        }
        Err(dora_core::Error::EmptyInput { .. }) => Err(bad("no events: the body is empty")),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// A boxed `400` answer.
fn bad(message: impl Into<String>) -> Box<Response> {
    Box::new(error(StatusCode::BAD_REQUEST, message))
}

/// `GET /metrics`: the Prometheus (or OpenMetrics) exposition of the
/// window ending now.
pub(crate) async fn get_metrics(State(state): Shared, headers: HeaderMap) -> Response {
    let format = ExpositionFormat::from_accept(
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or(""),
    );
    let generation = state.writer.generation.load(Ordering::SeqCst);
    match state.metrics.get(&state.config, generation, format).await {
        Ok(text) => ([(header::CONTENT_TYPE, format.content_type())], text.to_string()).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("computing the metrics failed: {e}")),
    }
}
