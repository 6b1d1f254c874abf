//! The OpenCost source's I/O: `GET {api_url}/allocation` for whole UTC
//! days, through the shared HTTP policy ([`crate::http`]): a server error
//! (`5xx`), a time-out, a failed connection or a truncated body is tried
//! again with backoff, a rate limit (`429`, `Retry-After`) is waited out,
//! and `max_requests` bounds the run.
//!
//! Incremental runs: the sync state keeps the end of the last whole day
//! collected. A run asks from `revise_days` before it (OpenCost revises
//! recent days as its data comes in; the first run from `lookback_days`
//! before today) to the start of today, UTC, so a day is never half
//! collected; at most `days_per_request` days a request. Its rows replace
//! the source's stored rows from the first day asked for on.

use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use dora_core::event::EventSet;
use dora_core::source::secret::redact_url;
use dora_core::source::{Collected, CollectedCosts, Progress, Source};
use dora_core::store::SyncState;
use dora_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::model::AllocationAnswer;
use super::normalize;
use crate::http::{Attempts, Budget, Outcome, RateGate, RateLimit, RetryPolicy, Secret};
use crate::http::{short, source_error as err};

/// The OpenCost source's settings.
#[derive(Debug, Clone)]
pub struct OpencostConfig {
    /// The API: OpenCost's (`http://opencost.opencost:9003` in the
    /// cluster), or Kubecost's (`https://kubecost.example.com/model`);
    /// requests go to `{api_url}/allocation`.
    pub api_url: String,
    /// Allow an `http://` `api_url` (OpenCost in the cluster usually
    /// serves plain HTTP) [default: false].
    pub allow_http: bool,
    /// The environment variable holding a bearer token (a Kubecost behind
    /// authentication) [default: none: no `Authorization` header].
    pub token_env: Option<String>,
    /// The currency of every amount (three letters; OpenCost reports none).
    pub currency: String,
    /// How allocations are grouped, as OpenCost spells the properties
    /// (`label:app`, `namespace`, `controllerKind`, ...): their values
    /// become the rows' tags ([`normalize::tag_key`]).
    pub aggregate: Vec<String>,
    /// How far back the first run goes, in days [default: 30].
    pub lookback_days: u32,
    /// The days asked again each run, before the end of the last one
    /// collected: OpenCost revises recent days [default: 2].
    pub revise_days: u32,
    /// The most days one request asks for [default: 7].
    pub days_per_request: u32,
    /// Stop (with an error, storing nothing) past this many requests.
    pub max_requests: Option<u64>,
    /// The longest a request may take before it is retried as timed out
    /// (an allocation query over days can be slow) [default: 120 s].
    pub request_timeout: Duration,
    /// Base of the backoff between retries (tests make it small).
    pub retry_base: Duration,
    /// Retries of one request before giving up [default: 4].
    pub max_retries: u32,
    /// The longest wait for a rate limit before giving up [default: 1 h].
    pub max_rate_limit_wait: Duration,
}

impl OpencostConfig {
    /// Settings with the defaults for the API at `api_url`, amounts in
    /// `currency`, grouped by `aggregate`.
    pub fn new(api_url: impl Into<String>, currency: impl Into<String>, aggregate: Vec<String>) -> Self {
        Self {
            api_url: api_url.into(),
            allow_http: false,
            token_env: None,
            currency: currency.into(),
            aggregate,
            lookback_days: 30,
            revise_days: 2,
            days_per_request: 7,
            max_requests: None,
            request_timeout: Duration::from_secs(120),
            retry_base: Duration::from_millis(500),
            max_retries: 4,
            max_rate_limit_wait: Duration::from_secs(3600),
        }
    }
}

/// What the source remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// The end of the last whole day collected (a UTC midnight).
    #[serde(default)]
    collected_until: Option<DateTime<Utc>>,
}

/// The OpenCost source.
#[derive(Debug)]
pub struct OpencostSource {
    name: String,
    config: OpencostConfig,
    token: Option<Secret>,
}

impl OpencostSource {
    /// A source named `name`; a token, when `config.token_env` names one,
    /// is read from the environment when it runs.
    pub fn new(name: impl Into<String>, config: OpencostConfig) -> Self {
        Self { name: name.into(), config, token: None }
    }

    /// Sends this bearer token instead of the environment variable's.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }
}

/// The start (a UTC midnight) of the day of `t`.
fn midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_hms_opt(0, 0, 0).map_or(t, |d| d.and_utc())
}

/// The days `[from, until)` in requests of at most `per_request` days.
pub(crate) fn chunks(
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    per_request: u32,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut start = from;
    while start < until {
        let end = (start + Days::new(u64::from(per_request.max(1)))).min(until);
        out.push((start, end));
        start = end;
    }
    out
}

/// The first day a run asks for (it asks up to today): `revise_days`
/// before the end of the last day collected, or, the first run,
/// `lookback_days` before `today`.
fn range(cfg: &OpencostConfig, state: &State, today: DateTime<Utc>) -> DateTime<Utc> {
    match state.collected_until {
        Some(until) => midnight(until) - Days::new(u64::from(cfg.revise_days)),
        None => today - Days::new(u64::from(cfg.lookback_days)),
    }
}

/// The client of one run.
struct Api<'a> {
    http: reqwest::Client,
    base: url::Url,
    token: Option<reqwest::header::HeaderValue>,
    config: &'a OpencostConfig,
    progress: &'a dyn Progress,
    budget: &'a Budget,
    gate: &'a RateGate,
}

/// The time as OpenCost reads it in a `window`.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Api<'_> {
    /// The allocations of the days `[from, until)`.
    async fn allocation(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<normalize::Normalized> {
        let window = format!("{},{}", rfc3339(from), rfc3339(until));
        let aggregate = self.config.aggregate.join(",");
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .append_pair("window", &window)
            .append_pair("step", "1d")
            .append_pair("accumulate", "false")
            .append_pair("aggregate", &aggregate);
        // How messages name the request: the path below api_url, never
        // the host's credentials or the token.
        let request =
            format!("GET /allocation?window={window}&step=1d&accumulate=false&aggregate={aggregate}");
        let policy = RetryPolicy::new(
            self.config.max_retries,
            self.config.retry_base,
            self.config.max_rate_limit_wait,
        );
        let mut attempts = Attempts::new(policy, request.clone(), self.progress).with_gate(self.gate, 1);
        loop {
            attempts.ready().await.map_err(err)?;
            self.budget.spend().map_err(|e| err(format!("{request}: {e}")))?;
            let mut get = self.http.get(url.clone());
            if let Some(token) = &self.token {
                get = get.header(reqwest::header::AUTHORIZATION, token.clone());
            }
            let sent = tokio::time::timeout(self.config.request_timeout, async {
                let response = get.send().await?;
                let status = response.status().as_u16();
                let rate_limit = RateLimit::from_headers(response.headers());
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, rate_limit, body))
            })
            .await;
            let attempt = match sent {
                Err(_) => Err(Outcome::TimedOut),
                // A failed connection or a body cut off before its length.
                Ok(Err(e)) => Err(Outcome::Transport(short(&e.without_url()))),
                Ok(Ok((status, rate_limit, body))) if (200..300).contains(&status) => {
                    match serde_json::from_slice::<AllocationAnswer>(&body) {
                        Ok(answer) => Ok((status, rate_limit, Some(answer))),
                        // A truncated or garbled body: ask again.
                        Err(e) => Err(Outcome::NotJson(e.to_string())),
                    }
                }
                Ok(Ok((status, rate_limit, _))) => Ok((status, rate_limit, None)),
            };
            let answered = |(status, rate_limit, _): &(u16, RateLimit, Option<AllocationAnswer>)| {
                Outcome::Answer { status: *status, rate_limit: *rate_limit }
            };
            let Some((status, _, answer)) = attempts.judge(attempt, answered).await.map_err(err)? else {
                continue;
            };
            return match (status, answer) {
                (_, Some(answer)) => {
                    normalize::rows(&answer, &self.config.aggregate, &self.config.currency, from, until)
                        .map_err(|e| err(format!("{request}: {e}")))
                }
                (401 | 403, None) => Err(err(match &self.config.token_env {
                    Some(env) => format!("{request}: HTTP {status}: the token was refused (check {env})"),
                    None => format!(
                        "{request}: HTTP {status}: the server wants a token (name its variable with token_env)"
                    ),
                })),
                (404, None) => Err(err(format!(
                    "{request}: HTTP 404: no allocation API there (check api_url: OpenCost's port 9003, Kubecost's /model)"
                ))),
                (status, None) => Err(err(format!("{request}: HTTP {status}"))),
            };
        }
    }
}

/// The `/allocation` URL of `api_url`, checked: `https://` (or `http://`
/// with `allow_http`), without credentials, query or fragment.
fn allocation_url(cfg: &OpencostConfig) -> Result<url::Url> {
    let shown = redact_url(&cfg.api_url);
    if !(cfg.api_url.starts_with("https://") || cfg.api_url.starts_with("http://")) {
        return Err(err(format!("api_url {shown}: give the API's https:// (or http://) URL")));
    }
    crate::forge::check_plain_http(&cfg.api_url, cfg.allow_http)?;
    let url = url::Url::parse(&format!("{}/allocation", cfg.api_url.trim_end_matches('/')))
        .map_err(|e| err(format!("api_url {shown}: {e}")))?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(err(format!("api_url {shown}: not an API URL (no credentials, query or fragment)")));
    }
    Ok(url)
}

impl Source for OpencostSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "opencost"
    }

    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected> {
        let cfg = &self.config;
        let base = allocation_url(cfg)?;
        let token = match (&self.token, &cfg.token_env) {
            (None, None) => None,
            (given, env) => {
                let env = env.as_deref().unwrap_or("");
                let token = Secret::resolve(given.as_ref(), env, "the OpenCost token")?;
                let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                    .map_err(|_| {
                    err(format!("{env}: the token holds characters no HTTP header can carry"))
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let mut state: State =
            state.and_then(|s| serde_json::from_value(s.0.clone()).ok()).unwrap_or_default();
        let today = midnight(Utc::now());
        let from = range(cfg, &state, today);
        let days = chunks(from, today, cfg.days_per_request);
        let runtime = crate::http::http_runtime()?;
        let budget = Budget::new(cfg.max_requests);
        let gate = RateGate::new();
        let http = reqwest::Client::builder()
            .user_agent(concat!("dora/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| err(format!("cannot build the HTTP client: {}", short(&e))))?;
        let api = Api { http, base, token, config: cfg, progress, budget: &budget, gate: &gate };
        progress.set_total(days.len() as u64);
        let (rows, skipped) = runtime.block_on(async {
            let (mut rows, mut skipped) = (Vec::new(), 0);
            for (start, end) in &days {
                progress.message(&format!("{} to {}", start.date_naive(), end.date_naive()));
                let n = api.allocation(*start, *end).await?;
                rows.extend(n.rows);
                skipped += n.skipped;
                progress.advance(1);
            }
            Ok::<_, Error>((rows, skipped))
        })?;
        let mut notes = Vec::new();
        if skipped > 0 {
            notes.push(format!("{skipped} allocations without a window or a totalCost were left out"));
        }
        if days.is_empty() {
            return Ok(Collected {
                events: EventSet::new(),
                state: serde_json::to_value(&state).map(SyncState).unwrap_or_default(),
                requests: 0,
                notes,
                costs: None,
            });
        }
        notes.push(format!(
            "{} cost rows of the days {} to {} (the source's stored rows from {} on replaced)",
            rows.len(),
            from.date_naive(),
            (today - Days::new(1)).date_naive(),
            from.date_naive()
        ));
        state.collected_until = Some(today);
        Ok(Collected {
            events: EventSet::new(),
            state: serde_json::to_value(&state).map(SyncState).unwrap_or_default(),
            requests: budget.spent(),
            notes,
            costs: Some(CollectedCosts { from: Some(from), rows }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn whole_days_in_chunks() {
        let c = chunks(at("2026-11-01T00:00:00Z"), at("2026-11-17T00:00:00Z"), 7);
        assert_eq!(
            c,
            vec![
                (at("2026-11-01T00:00:00Z"), at("2026-11-08T00:00:00Z")),
                (at("2026-11-08T00:00:00Z"), at("2026-11-15T00:00:00Z")),
                (at("2026-11-15T00:00:00Z"), at("2026-11-17T00:00:00Z")),
            ]
        );
        assert!(chunks(at("2026-11-01T00:00:00Z"), at("2026-11-01T00:00:00Z"), 7).is_empty());
    }

    #[test]
    fn first_and_later_runs() {
        let cfg = OpencostConfig::new("https://oc.example", "USD", vec!["namespace".into()]);
        let today = at("2026-12-07T00:00:00Z");
        assert_eq!(range(&cfg, &State::default(), today), at("2026-11-07T00:00:00Z"));
        let state = State { collected_until: Some(today) };
        assert_eq!(range(&cfg, &state, today), at("2026-12-05T00:00:00Z"));
        // A run after a week away asks again from two days before the
        // last one collected.
        let state = State { collected_until: Some(at("2026-11-30T00:00:00Z")) };
        assert_eq!(range(&cfg, &state, today), at("2026-11-28T00:00:00Z"));
    }

    #[test]
    fn urls() {
        let mut cfg = OpencostConfig::new("http://opencost.opencost:9003/", "USD", vec!["namespace".into()]);
        let e = allocation_url(&cfg).unwrap_err().to_string();
        assert!(e.contains("plain http:// is refused"), "{e}");
        cfg.allow_http = true;
        assert_eq!(allocation_url(&cfg).unwrap().as_str(), "http://opencost.opencost:9003/allocation");
        cfg.api_url = "https://user:secret@kubecost.example/model".into();
        let e = allocation_url(&cfg).unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
        cfg.api_url = "https://kubecost.example/model".into();
        assert_eq!(allocation_url(&cfg).unwrap().as_str(), "https://kubecost.example/model/allocation");
    }
}
