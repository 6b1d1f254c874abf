//! The query endpoints: `GET /api/v1/metrics`, `GET /api/v1/explain` and
//! `GET /` (the weekly report as HTML). The server only carries the
//! requests over: what each answers is computed by a [`Queries`] given in
//! [`ServeConfig::queries`](crate::ServeConfig::queries) (the `dora` binary
//! gives one that runs `dora metrics`, `dora explain` and `dora report`),
//! on a blocking thread. Without one, the three answer `501` with a JSON
//! error.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dora_core::GroupKind;
use dora_core::render::ReportLinks;

use crate::AppState;
use crate::handlers::error;

/// The query parameters of a request, in their order, decoded; a name may
/// come more than once.
pub type Params = [(String, String)];

/// Why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The request is at fault (`400`): an unknown or forbidden parameter,
    /// a value that does not parse, a group that does not exist. One line
    /// naming the parameter.
    #[error("{0}")]
    BadRequest(String),
    /// The server is at fault (`500`): the store cannot be read, the
    /// computation failed.
    #[error("{0}")]
    Internal(String),
}

/// What the query endpoints answer, given their query parameters. Each
/// method blocks (it reads the store and computes); the server calls it on
/// a blocking thread (`tokio::task::spawn_blocking`), so it may be called
/// from several threads at once.
///
/// An implementation must only ever read the served store: a parameter
/// that would select other input (files, another store or configuration),
/// an output path or a format is a [`QueryError::BadRequest`], as is an
/// unknown one.
pub trait Queries: Send + Sync {
    /// `GET /api/v1/metrics`: the `dora.metrics/v1` JSON document.
    fn metrics(&self, params: &Params) -> Result<Vec<u8>, QueryError>;
    /// `GET /api/v1/explain`: the audit trail of one figure, as JSON.
    fn explain(&self, params: &Params) -> Result<Vec<u8>, QueryError>;
    /// `GET /`: the weekly report as one HTML page (UTF-8), with the links
    /// `links` gives to other weeks and to each team's and service's page.
    fn report_html(&self, params: &Params, links: &dyn ReportLinks) -> Result<Vec<u8>, QueryError>;
}

/// The pairs of the query string, or why they do not parse.
fn params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Vec<(String, String)>, String> {
    query.map(|Query(pairs)| pairs).map_err(|e| format!("the query string does not parse: {}", e.body_text()))
}

/// Runs one query on a blocking thread and answers with its body as
/// `content_type`, or with the error as JSON.
async fn answer<F>(state: &AppState, content_type: &'static str, query: F) -> Response
where
    F: FnOnce(&dyn Queries) -> Result<Vec<u8>, QueryError> + Send + 'static,
{
    let Some(queries) = state.config.queries.clone() else {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "this server answers no queries: it was started without a query engine (ServeConfig::queries)",
        );
    };
    match tokio::task::spawn_blocking(move || query(queries.as_ref())).await {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Ok(Err(QueryError::BadRequest(message))) => error(StatusCode::BAD_REQUEST, message),
        Ok(Err(QueryError::Internal(message))) => error(StatusCode::INTERNAL_SERVER_ERROR, message),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("the query failed: {e}")),
    }
}

const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

/// `GET /api/v1/metrics`.
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match params(query) {
        Ok(p) => answer(&state, JSON, move |q| q.metrics(&p)).await,
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// `GET /api/v1/explain`.
pub(crate) async fn explain(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match params(query) {
        Ok(p) => answer(&state, JSON, move |q| q.explain(&p)).await,
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// `GET /`: the weekly report, with links that keep the other parameters.
pub(crate) async fn report(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match params(query) {
        Ok(p) => {
            answer(&state, HTML, move |q| {
                let links = PageLinks { params: p.clone() };
                q.report_html(&p, &links)
            })
            .await
        }
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// The links of a page of `GET /`: the same parameters, with the week or
/// the group changed.
struct PageLinks {
    params: Vec<(String, String)>,
}

/// The parameters that choose the week of the report.
const WEEK_PARAMS: [&str; 3] = ["week", "until", "since"];
/// The parameters that choose the group of the report.
const GROUP_PARAMS: [&str; 2] = ["team", "service"];

impl PageLinks {
    /// `/?...`: the parameters without those named in `drop`, then `add`.
    fn href(&self, drop: &[&str], add: Option<(&str, &str)>) -> String {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(add)
            .collect();
        if pairs.is_empty() {
            return "/".to_string();
        }
        let query: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
        format!("/?{}", query.join("&"))
    }
}

impl ReportLinks for PageLinks {
    fn week(&self, week: &str) -> Option<String> {
        Some(self.href(&WEEK_PARAMS, Some(("week", week))))
    }

    fn latest(&self) -> Option<String> {
        Some(self.href(&WEEK_PARAMS, None))
    }

    fn group(&self, kind: GroupKind, name: &str) -> Option<String> {
        let add = match kind {
            GroupKind::All => None,
            GroupKind::Team => Some(("team", name)),
            GroupKind::Service => Some(("service", name)),
        };
        Some(self.href(&GROUP_PARAMS, add))
    }
}

/// `text` with every byte but the unreserved characters of RFC 3986
/// (`A-Z a-z 0-9 - . _ ~`) percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(params: &[(&str, &str)]) -> PageLinks {
        PageLinks { params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn links_keep_the_other_parameters() {
        let l = links(&[("timezone", "Europe/Berlin"), ("week", "2026-W47"), ("team", "pay ments")]);
        assert_eq!(l.week("2026-W40").unwrap(), "/?timezone=Europe%2FBerlin&team=pay%20ments&week=2026-W40");
        assert_eq!(l.latest().unwrap(), "/?timezone=Europe%2FBerlin&team=pay%20ments");
        assert_eq!(
            l.group(GroupKind::Service, "web&x").unwrap(),
            "/?timezone=Europe%2FBerlin&week=2026-W47&service=web%26x"
        );
        assert_eq!(l.group(GroupKind::All, "all").unwrap(), "/?timezone=Europe%2FBerlin&week=2026-W47");
        assert_eq!(links(&[]).latest().unwrap(), "/");
    }
}
