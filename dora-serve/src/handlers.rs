//! The endpoints, and the log line, request count and body deadline of
//! each request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, MatchedPath, Request, State};
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
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Around every request: its body must arrive within `body_read_timeout`
/// of the request's start (else `408`, the connection closed, and the
/// handler, which saw its body fail, stored nothing); it is counted by
/// endpoint and status in [`crate::stats::Stats`]; and it gets one log
/// line: method, path, status and duration (never a header or a body, so
/// never a token).
pub(crate) async fn log_request(State(state): Shared, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The route's template (`/api/v1/services/{service}`), never the raw
    // path: the label's values stay as few as the routes.
    let endpoint = req.extensions().get::<MatchedPath>().cloned();
    let expired = Arc::new(AtomicBool::new(false));
    let req = if http_body::Body::size_hint(req.body()).exact() == Some(0) {
        req
    } else {
        let timeout = state.config.body_read_timeout;
        req.map(|body| {
            Body::new(Deadline {
                inner: body,
                sleep: Box::pin(tokio::time::sleep(timeout)),
                expired: Arc::clone(&expired),
            })
        })
    };
    let mut response = next.run(req).await;
    if expired.load(Ordering::SeqCst) {
        response = error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                state.config.body_read_timeout.as_secs_f64()
            ),
        );
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    state.stats.request(
        endpoint.as_ref().map_or(crate::stats::OTHER_ENDPOINT, MatchedPath::as_str),
        response.status().as_u16(),
    );
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        ms = format_args!("{:.3}", start.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    response
}

/// A request body that fails once its deadline passes while it is still
/// being waited for (a client sending it too slowly, or not at all).
struct Deadline {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// Set when the deadline failed the body.
    expired: Arc<AtomicBool>,
}

/// The error of a body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame),
            Poll::Pending if this.sleep.as_mut().poll(cx).is_ready() => {
                this.expired.store(true, Ordering::SeqCst);
                Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
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

/// The `401` answer (with `WWW-Authenticate: Bearer`) when the request
/// lacks the configured ingest token; `None` when it carries it or none is
/// configured.
pub(crate) fn unauthorized(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    if authorized(state, headers) {
        return None;
    }
    let mut response = error(StatusCode::UNAUTHORIZED, "a valid `Authorization: Bearer <token>` is required");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    Some(response)
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

/// The largest body `POST /events` parses on the async worker itself.
const INLINE_PARSE_MAX: usize = 64 << 10;

/// `POST /events`: all the events of the body, or none.
pub(crate) async fn post_events(State(state): Shared, req: Request) -> Response {
    if let Some(answer) = unauthorized(&state, req.headers()) {
        return answer;
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
    // A small body (a few events) is parsed right here, in microseconds; a
    // large one on the blocking pool, so that it does not hold up the
    // other requests of this worker.
    let parsed = if body.len() <= INLINE_PARSE_MAX {
        Ok(parse(&body, framing))
    } else {
        tokio::task::spawn_blocking(move || parse(&body, framing)).await
    };
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
    match dora_core::read_jsonl_bytes(lines, None, &mut set, &ReadOptions::default()) {
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
/// window ending now (cached per store change), then the service's own
/// counters (per scrape).
pub(crate) async fn get_metrics(State(state): Shared, headers: HeaderMap) -> Response {
    let format = ExpositionFormat::from_accept(
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or(""),
    );
    let generation = state.writer.generation.load(Ordering::SeqCst);
    match state.metrics.get(&state.config, generation).await {
        Ok(rendered) => {
            let cached = rendered.text(format);
            let mut text = String::with_capacity(cached.len() + 4096);
            text.push_str(cached);
            state.stats.write(&mut text, format);
            if format == ExpositionFormat::OpenMetrics {
                text.push_str("# EOF\n");
            }
            ([(header::CONTENT_TYPE, format.content_type())], text).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("computing the metrics failed: {e}")),
    }
}
