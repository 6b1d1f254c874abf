//! `POST /webhooks/github` and `POST /webhooks/gitlab`: a delivery about a
//! repository (project) that a configured source covers triggers that
//! source's incremental collection ([`crate::collect`]). The delivery is
//! checked first (GitHub: `X-Hub-Signature-256`, the HMAC-SHA256 of the raw
//! body; GitLab: `X-Gitlab-Token`; both compared in constant time), and a
//! delivery id seen before is not queued again. Only the repository's name
//! is read from the payload.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::collect::{Forge, Scope};
use crate::handlers::error;

/// How many delivery ids are remembered (the oldest are forgotten first).
pub(crate) const REMEMBERED_DELIVERIES: usize = 10_000;

/// GitHub events that can change what a github source collects; others
/// are answered without a run.
const GITHUB_EVENTS: [&str; 9] = [
    "deployment",
    "deployment_status",
    "workflow_run",
    "release",
    "push",
    "create",
    "delete",
    "issues",
    "pull_request",
];

/// GitLab events (`X-Gitlab-Event`) that can change what a gitlab source collects.
const GITLAB_EVENTS: [&str; 7] = [
    "Deployment Hook",
    "Push Hook",
    "Tag Push Hook",
    "Merge Request Hook",
    "Issue Hook",
    "Confidential Issue Hook",
    "Release Hook",
];

/// The delivery ids seen lately, at most [`REMEMBERED_DELIVERIES`].
pub(crate) struct Deliveries {
    capacity: usize,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl Default for Deliveries {
    fn default() -> Self {
        Deliveries::with_capacity(REMEMBERED_DELIVERIES)
    }
}

impl Deliveries {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Deliveries { capacity: capacity.max(1), seen: Mutex::new((HashSet::new(), VecDeque::new())) }
    }

    /// Remembers `id`; whether it is new (not among the ids remembered).
    pub(crate) fn first_time(&self, id: &str) -> bool {
        let mut guard = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (set, order) = &mut *guard;
        if set.contains(id) {
            return false;
        }
        if order.len() >= self.capacity
            && let Some(oldest) = order.pop_front()
        {
            set.remove(&oldest);
        }
        set.insert(id.to_string());
        order.push_back(id.to_string());
        true
    }
}

/// Whether `signature` (`sha256=<hex>`, the `X-Hub-Signature-256` header)
/// is the HMAC-SHA256 of `body` keyed with `secret`. The comparison takes
/// the same time wherever the bytes differ.
pub fn github_signature_ok(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?)).collect()
}

/// Whether the `X-Gitlab-Token` given equals the configured one (constant time).
pub(crate) fn gitlab_token_ok(expected: &str, given: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The body, or the answer when it is too large or cannot be read.
async fn body(req: Request) -> Result<Bytes, Response> {
    Bytes::from_request(req, &()).await.map_err(|r| error(r.status(), r.body_text()))
}

/// A form-encoded delivery: GitHub's other content type, which dora does not read.
fn form_encoded(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// The repository (GitHub's `repository.full_name`) or project (GitLab's
/// `project.path_with_namespace`) a delivery's JSON body names: `None` when
/// it names none; an error (one line) when the body is not such a payload.
/// Only these members are read; everything else is ignored.
pub fn repository_of(forge: Forge, body: &[u8]) -> Result<Option<String>, String> {
    match forge {
        Forge::Github => serde_json::from_slice::<GithubPayload>(body)
            .map(|p| p.repository.map(|r| r.full_name))
            .map_err(|e| format!("not a GitHub webhook payload: {e}")),
        Forge::Gitlab => serde_json::from_slice::<GitlabPayload>(body)
            .map(|p| p.project.map(|p| p.path_with_namespace))
            .map_err(|e| format!("not a GitLab webhook payload: {e}")),
    }
}

#[derive(Deserialize)]
struct GithubPayload {
    repository: Option<GithubRepository>,
}

#[derive(Deserialize)]
struct GithubRepository {
    full_name: String,
}

#[derive(Deserialize)]
struct GitlabPayload {
    project: Option<GitlabProject>,
}

#[derive(Deserialize)]
struct GitlabProject {
    path_with_namespace: String,
}

/// `POST /webhooks/github`.
pub(crate) async fn github(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(secret) = state.config.github_webhook_secret.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "GitHub webhooks are off: no secret is configured (github_webhook_secret_env in [serve])",
        );
    };
    let headers = req.headers().clone();
    let body = match body(req).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let signed = header_str(&headers, "x-hub-signature-256")
        .is_some_and(|s| github_signature_ok(secret.as_bytes(), &body, s));
    if !signed {
        return error(StatusCode::UNAUTHORIZED, "a valid X-Hub-Signature-256 is required");
    }
    let event = header_str(&headers, "x-github-event").unwrap_or("").to_string();
    if event == "ping" {
        return answer(StatusCode::OK, json!({ "queued": [], "event": "ping" }));
    }
    if form_encoded(&headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "set the webhook's content type to application/json",
        );
    }
    let repository = match repository_of(Forge::Github, &body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let delivery = header_str(&headers, "x-github-delivery").map(|id| format!("github:{id}"));
    deliver(&state, Forge::Github, &event, GITHUB_EVENTS.contains(&event.as_str()), repository, delivery)
}

/// `POST /webhooks/gitlab`.
pub(crate) async fn gitlab(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(token) = state.config.gitlab_webhook_token.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "GitLab webhooks are off: no token is configured (gitlab_webhook_token_env in [serve])",
        );
    };
    let headers = req.headers().clone();
    if !header_str(&headers, "x-gitlab-token").is_some_and(|given| gitlab_token_ok(&token, given)) {
        return error(StatusCode::UNAUTHORIZED, "a valid X-Gitlab-Token is required");
    }
    let body = match body(req).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let project = match repository_of(Forge::Gitlab, &body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let event = header_str(&headers, "x-gitlab-event").unwrap_or("").to_string();
    let delivery = header_str(&headers, "x-gitlab-event-uuid")
        .or_else(|| header_str(&headers, "idempotency-key"))
        .map(|id| format!("gitlab:{id}"));
    deliver(&state, Forge::Gitlab, &event, GITLAB_EVENTS.contains(&event.as_str()), project, delivery)
}

/// The common part of a checked delivery: which sources it triggers.
fn deliver(
    state: &AppState,
    forge: Forge,
    event: &str,
    relevant: bool,
    repository: Option<String>,
    delivery: Option<String>,
) -> Response {
    let not_queued = |reason: String| answer(StatusCode::OK, json!({ "queued": [], "reason": reason }));
    if !relevant {
        return not_queued(format!("event {event:?} does not change what dora collects"));
    }
    let Some(repository) = repository else {
        return not_queued("the delivery names no repository or project".into());
    };
    if let Some(id) = &delivery
        && !state.deliveries.first_time(id)
    {
        return not_queued("this delivery was received before".into());
    }
    let sources = match &state.collections {
        Some(c) => c.collector().covering(forge, &repository),
        None => Vec::new(),
    };
    let queued: Vec<&String> = sources
        .iter()
        .filter(|name| state.collections.as_ref().is_some_and(|c| c.trigger(name, Scope::one(&repository))))
        .collect();
    if queued.is_empty() {
        return not_queued(format!("no configured source covers {repository}"));
    }
    answer(StatusCode::ACCEPTED, json!({ "queued": queued }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_signature_example() {
        // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
        let secret = b"It's a Secret to Everybody";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_ok(secret, b"Hello, World!", good));
        assert!(github_signature_ok(
            secret,
            b"Hello, World!",
            &good.to_uppercase().replace("SHA256", "sha256")
        ));
        assert!(!github_signature_ok(secret, b"Hello, World?", good));
        assert!(!github_signature_ok(b"another secret", b"Hello, World!", good));
        assert!(!github_signature_ok(secret, b"Hello, World!", &good[..good.len() - 2]));
        assert!(!github_signature_ok(secret, b"Hello, World!", &good.replace("sha256=", "sha1=")));
        assert!(!github_signature_ok(secret, b"Hello, World!", "sha256=zz"));
        assert!(!github_signature_ok(secret, b"Hello, World!", ""));
    }

    #[test]
    fn gitlab_tokens_compare_whole() {
        assert!(gitlab_token_ok("s3cret", "s3cret"));
        assert!(!gitlab_token_ok("s3cret", "s3cre"));
        assert!(!gitlab_token_ok("s3cret", "s3cret!"));
        assert!(!gitlab_token_ok("s3cret", ""));
    }

    #[test]
    fn delivery_ids_are_remembered_up_to_the_capacity() {
        let d = Deliveries::with_capacity(3);
        assert!(d.first_time("a"));
        assert!(!d.first_time("a"));
        assert!(d.first_time("b"));
        assert!(d.first_time("c"));
        assert!(!d.first_time("b"));
        // A fourth id makes room by forgetting the oldest.
        assert!(d.first_time("d"));
        assert!(d.first_time("a"));
        assert!(!d.first_time("c") && !d.first_time("d"));
        let full = Deliveries::default();
        for i in 0..REMEMBERED_DELIVERIES + 5 {
            assert!(full.first_time(&i.to_string()));
        }
        assert!(!full.first_time(&(REMEMBERED_DELIVERIES + 4).to_string()));
        assert!(full.first_time("0"));
    }
}
