//! The GitHub source's I/O: HTTP through octocrab (auth, TLS), with
//! dora's own handling of pagination (`Link` headers), conditional requests
//! (ETags kept in the sync state), and the HTTP policy of every source
//! ([`crate::http`]: rate-limit waits with a progress message, retries of
//! 5xx, timeouts and truncated bodies with backoff and a bound, a request
//! budget). The token is never printed, logged, stored or put in an error.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use regex::Regex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::graphql::{self, GqlDeployment, History, Range, WalkCommit};
use super::model::{
    GhCommit, GhCompare, GhDeployment, GhDeploymentStatus, GhFile, GhIssue, GhPullRequest, GhRelease, GhRepo,
    GhTag, GhWorkflowRun,
};
use super::normalize::{self, Attempt, ForgeContext, HotfixRule};
use crate::changesets::{CommitHistory, HistoryCache, HistoryCommit, HistoryFuture, HistoryRange};
use crate::http::{
    Attempts, Budget, Outcome, RateGate, RateLimit, RetryPolicy, Secret, short, source_error as err,
};
use crate::monorepo::{self, DeployedServices, PathServices};
use dora_core::engine::options::ProductionPatterns;
use dora_core::error::{Error, Result};
use dora_core::event::{DeploymentStatus, DeploymentType, EventSet};
use dora_core::source::secret::redact_url;
use dora_core::source::{Collected, Progress, Source};
use dora_core::store::SyncState;
use futures::StreamExt;

/// One repository to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    /// `owner/name`.
    pub full_name: String,
    /// The service its events belong to [default: the repository's name].
    pub service: Option<String>,
    /// The team.
    pub team: Option<String>,
}

/// An organisation whose repositories are read, filtered by name.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// The organisation's login.
    pub name: String,
    /// Only repositories whose name matches one of these globs [default: all].
    pub include: Vec<glob::Pattern>,
    /// Never repositories whose name matches one of these globs.
    pub exclude: Vec<glob::Pattern>,
    /// Repository name -> service (default: the name).
    pub services: BTreeMap<String, String>,
    /// Repository name -> team.
    pub teams: BTreeMap<String, String>,
}

impl OrgConfig {
    /// Whether a repository of the organisation is read.
    pub fn wants(&self, name: &str) -> bool {
        crate::forge::wanted(&self.include, &self.exclude, name)
    }
}

/// How a repository's deployments are found.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// The Deployments API and each deployment's statuses.
    Deployments,
    /// Completed runs of workflow files (for teams that deploy from Actions
    /// without the Deployments API).
    WorkflowRuns {
        /// Workflow file names, like `deploy.yml`.
        workflows: Vec<String>,
        /// Only runs on this branch [default: any].
        branch: Option<String>,
        /// The environment the runs deploy to.
        environment: String,
    },
    /// Tags (for teams that tag what they deploy without making releases),
    /// at the annotated tag's date, else the tagged commit's.
    Tags {
        /// Only tags matching this pattern [default: every tag].
        tag_pattern: Option<Regex>,
        /// The environment tags go to.
        environment: String,
    },
    /// Published releases.
    Releases {
        /// Only tags matching this pattern [default: every tag].
        tag_pattern: Option<Regex>,
        /// Count pre-releases too.
        prereleases: bool,
        /// The environment releases go to.
        environment: String,
    },
}

/// The GitHub source's settings.
#[derive(Debug, Clone)]
pub struct GithubConfig {
    /// The repositories.
    pub repos: Vec<RepoConfig>,
    /// A whole organisation's repositories too (archived ones left out).
    pub org: Option<OrgConfig>,
    /// The REST API's base URL [default: `https://api.github.com`; GitHub
    /// Enterprise Server: `https://HOST/api/v3`].
    pub api_url: String,
    /// The environment variable that holds the token [default: `GITHUB_TOKEN`].
    pub token_env: String,
    /// How deployments are found.
    pub strategy: Strategy,
    /// Which environments get change sets (the spec's production patterns).
    pub production: ProductionPatterns,
    /// Issue labels that make an issue an incident [default: `incident`].
    pub incident_labels: Vec<String>,
    /// The pattern of a root-cause commit in an incident's body.
    pub root_cause: Regex,
    /// How far back the first deployment's changes (and the first run's
    /// deployments) go, in days [default: 90].
    pub lookback_days: u32,
    /// Allow `http://` API URLs (for tests against a local server only).
    pub allow_http: bool,
    /// Stop (with an error, storing nothing) past this many requests.
    pub max_requests: Option<u64>,
    /// How hotfixes are recognised.
    pub hotfix: HotfixRule,
    /// How long a response may keep the client waiting before the request
    /// is retried as timed out [default: 30 s].
    pub read_timeout: Duration,
    /// Base of the backoff between retries (tests make it small).
    pub retry_base: Duration,
    /// Retries of one request before giving up.
    pub max_retries: u32,
    /// The longest wait for a rate limit before giving up.
    pub max_rate_limit_wait: Duration,
    /// Use GraphQL where it saves requests: deployments with their
    /// statuses and incidents in one query per 100, change sets from one
    /// walk of the default branch, pull requests of many commits at once.
    /// REST takes over when GraphQL is refused (a GitHub Enterprise Server
    /// without it) and when this is off.
    pub use_graphql: bool,
    /// Monorepos: `owner/repo` -> its path prefixes' services. Each
    /// deployment of such a repository becomes one deployment per service
    /// its commits touched.
    pub monorepo: BTreeMap<String, PathServices>,
    /// Repositories read at once (an organisation's), under one request
    /// budget and one rate-limit pause [default: 8].
    pub concurrency: usize,
}

impl GithubConfig {
    /// Settings with the defaults for these repositories.
    pub fn new(repos: Vec<RepoConfig>) -> Self {
        Self {
            repos,
            org: None,
            api_url: "https://api.github.com".into(),
            token_env: "GITHUB_TOKEN".into(),
            strategy: Strategy::Deployments,
            production: ProductionPatterns::default(),
            incident_labels: vec!["incident".into()],
            root_cause: Regex::new(normalize::ROOT_CAUSE_PATTERN).expect("a valid pattern"),
            lookback_days: 90,
            allow_http: false,
            max_requests: None,
            hotfix: HotfixRule::default(),
            read_timeout: Duration::from_secs(30),
            retry_base: Duration::from_millis(500),
            max_retries: 4,
            max_rate_limit_wait: Duration::from_secs(3600),
            use_graphql: true,
            monorepo: BTreeMap::new(),
            concurrency: 8,
        }
    }
}

/// What the source remembers of a repository between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RepoState {
    /// ETags of list URLs.
    #[serde(default)]
    etags: BTreeMap<String, String>,
    /// Attempts already turned into events (`deployment:<id>`, `run:<id>`, `release:<id>`).
    #[serde(default)]
    done: Vec<String>,
    /// The latest successful deployment per environment: (event id, sha).
    #[serde(default)]
    last_success: BTreeMap<String, (String, String)>,
    /// Issues are read from this time on.
    #[serde(default)]
    issues_since: Option<DateTime<Utc>>,
    /// Monorepos: the services of the latest successful deployment per environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    last_services: BTreeMap<String, BTreeSet<String>>,
    /// The issues updated at exactly `issues_since` already read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    issues_at_since: Vec<u64>,
    /// GraphQL's deployment list is read down to this creation time: the
    /// oldest unfinished deployment seen, else the newest one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listed_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    repos: BTreeMap<String, RepoState>,
    /// The organisation's listing: its ETag and the repositories it gave.
    #[serde(default)]
    org: Option<(String, Vec<String>)>,
}

/// The GitHub source.
#[derive(Debug, Clone)]
pub struct GithubSource {
    name: String,
    config: GithubConfig,
    token: Option<Secret>,
}

impl GithubSource {
    /// A source named `name` with these settings; the token is read from
    /// the environment variable `config.token_env` when it runs.
    pub fn new(name: &str, config: GithubConfig) -> Self {
        Self { name: name.to_string(), config, token: None }
    }

    /// Uses this token instead of the environment variable (for embedders
    /// that hold tokens elsewhere). It is never printed or stored.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }
}

/// A fetched page: its JSON, or "not modified".
enum Fetched {
    NotModified,
    Json { value: serde_json::Value, next: Option<String>, etag: Option<String>, rate: RateLimit },
}

/// An answer to one attempt: its status and headers, and its JSON when it
/// is a success.
struct Answer {
    status: http::StatusCode,
    headers: HeaderMap,
    json: Option<serde_json::Value>,
}

impl Answer {
    /// The answer as the policy sees it.
    fn outcome(&self) -> Outcome {
        Outcome::Answer { status: self.status.as_u16(), rate_limit: RateLimit::from_headers(&self.headers) }
    }
}

/// A value the concurrent requests of a run share: a `Cell` that is `Sync`
/// (the history of a Kubernetes source is read from other threads).
#[derive(Debug, Default)]
struct Shared<T>(std::sync::Mutex<T>);

impl<T: Copy> Shared<T> {
    fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    fn get(&self) -> T {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, value: T) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = value;
    }
}

/// HTTP with ETags, following the policy (retries, rate limits) and the
/// budget.
struct Api<'a> {
    octo: octocrab::Octocrab,
    base: String,
    config: &'a GithubConfig,
    progress: &'a dyn Progress,
    budget: &'a Budget,
    /// Whether the last request failed with 404 or 422 (a commit or
    /// repository GitHub does not know).
    missing: Shared<bool>,
    /// Whether GraphQL may still be asked (a refusal turns it off for the
    /// rest of the run: the REST path takes over).
    graphql_ok: Shared<bool>,
    /// The REST rate limit that the run's concurrent requests share: one
    /// pause for all when it is hit, and what is left.
    rest_gate: RateGate,
    /// The GraphQL rate limit (points, counted apart from REST requests).
    graphql_gate: RateGate,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = header(headers, "link")?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// The path of a URL, for messages (never the query: no secrets in them
/// anyway, but keep messages short).
fn path_of(url: &str) -> &str {
    let no_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = no_scheme.find('/').map_or("/", |i| &no_scheme[i..]);
    path.split('?').next().unwrap_or(path)
}

impl<'a> Api<'a> {
    /// The client for `config`'s API, authenticated with `token`, whose
    /// requests count against `budget`.
    fn new(
        config: &'a GithubConfig,
        token: String,
        progress: &'a dyn Progress,
        budget: &'a Budget,
    ) -> Result<Self> {
        let base = config.api_url.trim_end_matches('/').to_string();
        // octocrab sends the token only to its base URI's host: without it,
        // a GitHub Enterprise server would get no token at all.
        let octo = octocrab::Octocrab::builder()
            .personal_token(token)
            .base_uri(base.as_str())
            .map_err(|e| err(format!("api_url {}: {}", redact_url(&base), short(&e))))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(config.read_timeout))
            .build()
            .map_err(|e| err(format!("cannot build the HTTP client: {}", short(&e))))?;
        Ok(Api {
            octo,
            base,
            config,
            progress,
            budget,
            missing: Shared::new(false),
            graphql_ok: Shared::new(true),
            rest_gate: RateGate::new(),
            graphql_gate: RateGate::new(),
        })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// One GET, retried and rate-limit aware; `etag` makes it conditional.
    async fn get(&self, path: &str, etag: Option<&str>) -> Result<Fetched> {
        let url = self.url(path);
        self.request(url, None, etag).await
    }

    /// One request (a POST when `body` is given), retried and rate-limit
    /// aware as the policy decides.
    async fn request(
        &self,
        url: String,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
    ) -> Result<Fetched> {
        match self.try_request(&url, body, etag, 1).await? {
            Ok(fetched) => Ok(fetched),
            Err(status) => {
                self.missing.set(matches!(status, 404 | 422));
                let verb = if body.is_some() { "POST" } else { "GET" };
                Err(err(format!("{verb} {}: HTTP {status}", path_of(&url))))
            }
        }
    }

    /// [`Api::request`], with an answer that is not a success (nor a
    /// `304`) given as its status. A GraphQL query (a `body`) of about
    /// `cost` points goes through the GraphQL gate, a REST request through
    /// the REST one: it waits while the run is paused or when it would cost
    /// more than is left until the reset.
    async fn try_request(
        &self,
        url: &str,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
        cost: u64,
    ) -> Result<std::result::Result<Fetched, u16>> {
        let verb = if body.is_some() { "POST" } else { "GET" };
        let gate = if body.is_some() { &self.graphql_gate } else { &self.rest_gate };
        let mut attempts = Attempts::new(self.policy(), format!("{verb} {}", path_of(url)), self.progress)
            .with_gate(gate, cost);
        loop {
            attempts.ready().await.map_err(err)?;
            self.budget.spend().map_err(|e| err(e.to_string()))?;
            let attempt = self.send(url, body, etag).await;
            let Some(answer) = attempts.judge(attempt, Answer::outcome).await.map_err(err)? else { continue };
            let status = answer.status;
            if status == http::StatusCode::NOT_MODIFIED {
                return Ok(Ok(Fetched::NotModified));
            }
            let rate = RateLimit::from_headers(&answer.headers);
            let Some(value) = answer.json.filter(|_| status.is_success()) else {
                return Ok(Err(status.as_u16()));
            };
            let etag = header(&answer.headers, "etag").map(str::to_string);
            return Ok(Ok(Fetched::Json { value, next: next_link(&answer.headers), etag, rate }));
        }
    }

    /// The retry policy of every request.
    fn policy(&self) -> RetryPolicy {
        let config = self.config;
        RetryPolicy::new(config.max_retries, config.retry_base, config.max_rate_limit_wait)
    }

    /// Whether GraphQL is to be used where it saves requests: configured,
    /// and not refused so far.
    fn graphql_wanted(&self) -> bool {
        self.config.use_graphql && self.graphql_ok.get()
    }

    /// The requests made and what is left, for progress lines.
    fn spent_note(&self) -> String {
        let mut note = self.rest_gate.note(self.budget);
        if let Some(points) = self.graphql_gate.remaining() {
            note.push_str(&format!(", GraphQL: {points} points left"));
        }
        note
    }

    /// One attempt: the answer (with its JSON when it is a success), or
    /// what went wrong, for the policy to judge.
    async fn send(
        &self,
        url: &str,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
    ) -> std::result::Result<Answer, Outcome> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers
            .insert(HeaderName::from_static("x-github-api-version"), HeaderValue::from_static("2022-11-28"));
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            headers.insert(http::header::IF_NONE_MATCH, tag);
        }
        let sent = match body {
            Some(b) => self.octo._post(url, Some(b)).await,
            None => self.octo._get_with_headers(url, Some(headers)).await,
        };
        // A transport error or a timeout: its text names the URL at most,
        // never the token.
        let response = sent.map_err(|e| Outcome::Transport(short(&e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            return Ok(Answer { status, headers, json: None });
        }
        let bytes = match response.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Err(Outcome::Unreadable(short(&e))),
        };
        // A truncated or garbled body is asked for again.
        let json = serde_json::from_slice(&bytes).map_err(|e| Outcome::NotJson(e.to_string()))?;
        Ok(Answer { status, headers, json: Some(json) })
    }

    /// Every page of a list, following `Link` headers; `None` when the
    /// first page is not modified since `etag`.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        etag: Option<&str>,
        field: Option<&str>,
        mut keep_going: impl FnMut(&[T]) -> bool,
    ) -> Result<Option<(Vec<T>, Option<String>)>> {
        let mut out = Vec::new();
        let mut url = path.to_string();
        let mut first_etag = None;
        let mut first = true;
        loop {
            let fetched = self.get(&url, if first { etag } else { None }).await?;
            let (value, next, tag) = match fetched {
                Fetched::NotModified if first => return Ok(None),
                Fetched::NotModified => break,
                Fetched::Json { value, next, etag, .. } => (value, next, etag),
            };
            if first {
                first_etag = tag;
            }
            first = false;
            let items = match field {
                Some(f) => value.get(f).cloned().unwrap_or(serde_json::Value::Array(vec![])),
                None => value,
            };
            let page: Vec<T> = serde_json::from_value(items)
                .map_err(|e| err(format!("GET {}: unexpected response: {e}", path_of(&url))))?;
            let more = keep_going(&page);
            out.extend(page);
            match next {
                Some(n) if more => url = n,
                _ => break,
            }
        }
        Ok(Some((out, first_etag)))
    }

    /// [`Api::list`], conditional on the ETag `etags` keeps for `path`
    /// (updated from the answer); `None` when not modified since.
    async fn list_cached<T: DeserializeOwned>(
        &self,
        etags: &mut BTreeMap<String, String>,
        path: String,
        field: Option<&str>,
        keep_going: impl FnMut(&[T]) -> bool,
    ) -> Result<Option<Vec<T>>> {
        let etag = etags.get(&path).cloned();
        let listed = self.list(&path, etag.as_deref(), field, keep_going).await?;
        Ok(listed.map(|(items, tag)| {
            if let Some(tag) = tag {
                etags.insert(path, tag);
            }
            items
        }))
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        match self.get(path, None).await? {
            Fetched::Json { value, .. } => serde_json::from_value(value)
                .map_err(|e| err(format!("GET {}: unexpected response: {e}", path_of(path)))),
            Fetched::NotModified => Err(err(format!("GET {}: unexpected 304", path_of(path)))),
        }
    }
}

/// The commits `head` adds over `base` (all pages of the comparison).
async fn compare_commits(
    api: &Api<'_>,
    repo: &str,
    base: &str,
    head: &str,
) -> Result<(GhCompare, Vec<GhCommit>)> {
    let path = format!("/repos/{repo}/compare/{base}...{head}?per_page=100");
    let first: GhCompare = api.get_json(&format!("{path}&page=1")).await?;
    let mut commits = first.commits.clone();
    let mut page = 2;
    while (commits.len() as u64) < first.total_commits {
        let more: GhCompare = api.get_json(&format!("{path}&page={page}")).await?;
        if more.commits.is_empty() {
            break;
        }
        commits.extend(more.commits);
        page += 1;
    }
    Ok((first, commits))
}

/// Pull requests looked up by commit, and their first commit times.
#[derive(Default)]
struct PullCache {
    by_commit: BTreeMap<String, Option<GhPullRequest>>,
    first_commit: BTreeMap<u64, Option<DateTime<Utc>>>,
}

async fn pull_of(
    api: &Api<'_>,
    cache: &mut PullCache,
    repo: &str,
    sha: &str,
) -> Result<Option<GhPullRequest>> {
    if let Some(p) = cache.by_commit.get(sha) {
        return Ok(p.clone());
    }
    let pulls: Vec<GhPullRequest> = api.get_json(&format!("/repos/{repo}/commits/{sha}/pulls")).await?;
    // The merged pull request that brought the commit in.
    let pull = pulls.into_iter().find(|p| p.merged_at.is_some());
    cache.by_commit.insert(sha.to_string(), pull.clone());
    Ok(pull)
}

async fn first_commit_at(
    api: &Api<'_>,
    cache: &mut PullCache,
    repo: &str,
    number: u64,
) -> Result<Option<DateTime<Utc>>> {
    if let Some(t) = cache.first_commit.get(&number) {
        return Ok(*t);
    }
    let commits: Vec<GhCommit> =
        api.get_json(&format!("/repos/{repo}/pulls/{number}/commits?per_page=100")).await?;
    let t = commits.iter().filter_map(|c| c.commit.author.as_ref().and_then(|a| a.date)).min();
    cache.first_commit.insert(number, t);
    Ok(t)
}

/// The GraphQL endpoint of a REST base URL: `https://api.github.com` ->
/// `.../graphql`; GitHub Enterprise `https://HOST/api/v3` -> `https://HOST/api/graphql`.
fn graphql_url(api_url: &str) -> String {
    let base = api_url.trim_end_matches('/');
    match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    }
}

/// Commits a GraphQL query asks about.
const GRAPHQL_BATCH: usize = 50;

/// A GraphQL answer, or why GraphQL is not used (a GitHub Enterprise
/// Server that refuses the query: a `4xx`, or `errors` in the answer).
enum Gql {
    Data(serde_json::Value),
    Refused(String),
}

/// One GraphQL query of about `cost` points. A query that would cost more
/// points than are left waits for the reset; an answer saying
/// `RATE_LIMITED` waits like a REST rate limit and is asked again. A
/// refusal turns GraphQL off for the rest of the run.
async fn graphql(api: &Api<'_>, query: &str, variables: serde_json::Value, cost: u64) -> Result<Gql> {
    if !api.graphql_ok.get() {
        return Ok(Gql::Refused("GraphQL is off for this run".into()));
    }
    let body = serde_json::json!({"query": query, "variables": variables});
    let url = graphql_url(&api.base);
    let mut waits =
        Attempts::new(api.policy(), "POST /graphql".into(), api.progress).with_gate(&api.graphql_gate, cost);
    loop {
        let (value, rate) = match api.try_request(&url, Some(&body), None, cost).await? {
            Ok(Fetched::Json { value, rate, .. }) => (value, rate),
            Ok(Fetched::NotModified) => return Err(err("POST /graphql: unexpected 304")),
            Err(status) if (400..500).contains(&status) => {
                api.graphql_ok.set(false);
                return Ok(Gql::Refused(format!("POST /graphql: HTTP {status}")));
            }
            Err(status) => return Err(err(format!("POST /graphql: HTTP {status}"))),
        };
        // `rateLimit` in the answer: the points left, for the next query's check.
        let info = graphql::RateInfo::from_answer(&value);
        if let Some(info) = info {
            let left = RateLimit {
                retry_after: None,
                remaining: Some(info.remaining),
                reset: Some(info.reset_at.timestamp()),
            };
            api.graphql_gate.observe(&left, Utc::now());
        }
        if graphql::is_rate_limited(&value) {
            // As a spent REST limit: every query waits for the reset.
            let reset = rate.reset.or(info.map(|i| i.reset_at.timestamp()));
            let spent = RateLimit { retry_after: None, remaining: Some(0), reset };
            waits.judge(Ok(()), |_| Outcome::Answer { status: 403, rate_limit: spent }).await.map_err(err)?;
            continue;
        }
        if let Some(message) = graphql::first_error(&value) {
            api.graphql_ok.set(false);
            return Ok(Gql::Refused(format!("POST /graphql: {message}")));
        }
        return Ok(Gql::Data(value));
    }
}

/// The query of a repository's tags, newest commit first, 100 a page.
const TAGS_QUERY: &str = "query Tags($owner: String!, $name: String!, $after: String) { \
    rateLimit { cost remaining resetAt } repository(owner: $owner, name: $name) { refs(refPrefix: \"refs/tags/\", first: 100, after: $after, \
    orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) { pageInfo { hasNextPage endCursor } \
    nodes { name target { __typename oid ... on Commit { committedDate } \
    ... on Tag { tagger { date } target { __typename oid ... on Commit { committedDate } } } } } } } }";

/// A repository's tags whose commits are not older than `since` (GitHub's
/// REST tag list has no dates, so GraphQL lists them by commit date and
/// the listing stops at the first older one).
async fn graphql_tags(api: &Api<'_>, repo: &str, since: DateTime<Utc>) -> Result<Vec<GhTag>> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, repo));
    let mut tags = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let variables = serde_json::json!({"owner": owner, "name": name, "after": after});
        let value = match graphql(api, TAGS_QUERY, variables, 1).await? {
            Gql::Data(value) => value,
            // Tags have dates only in GraphQL.
            Gql::Refused(why) => return Err(err(format!("{repo}: listing tags needs GraphQL: {why}"))),
        };
        let refs = &value["data"]["repository"]["refs"];
        let nodes = refs["nodes"].as_array().cloned().unwrap_or_default();
        let mut older = false;
        for node in &nodes {
            let Some(tag) = GhTag::from_graphql(node) else { continue };
            if tag.committed_at.is_some_and(|t| t < since) {
                older = true;
                continue;
            }
            tags.push(tag);
        }
        let next = refs["pageInfo"]["endCursor"].clone();
        if older || nodes.is_empty() || refs["pageInfo"]["hasNextPage"] != serde_json::Value::Bool(true) {
            return Ok(tags);
        }
        after = next;
    }
}

/// Finds the merged pull request of each commit (and its first commit's
/// time) with GraphQL, 50 commits a query, into `cache`.
async fn graphql_pulls(api: &Api<'_>, cache: &mut PullCache, repo: &str, shas: &[String]) -> Result<()> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, repo));
    let todo: Vec<&String> = shas.iter().filter(|s| !cache.by_commit.contains_key(*s)).collect();
    for batch in todo.chunks(GRAPHQL_BATCH) {
        let mut query = String::from(
            "query Pulls($owner: String!, $name: String!) { rateLimit { cost remaining resetAt } \
                 repository(owner: $owner, name: $name) {",
        );
        for (i, sha) in batch.iter().enumerate() {
            // SHAs are hex (checked), so they go into the query text safely.
            if !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(format!("{repo}: {sha:?} is not a commit SHA")));
            }
            query.push_str(&format!(
                " c{i}: object(oid: \"{sha}\") {{ ... on Commit {{ associatedPullRequests(first: 5) {{ nodes {{ \
                 number title createdAt mergedAt mergeCommit {{ oid }} headRefName labels(first: 20) {{ nodes {{ name }} }} \
                 commits(first: 1) {{ nodes {{ commit {{ authoredDate }} }} }} }} }} }} }}"
            ));
        }
        query.push_str(" } }");
        let variables = serde_json::json!({"owner": owner, "name": name});
        // Refused: each commit's pull request is looked up over REST.
        let Gql::Data(value) = graphql(api, &query, variables, 6).await? else { return Ok(()) };
        let repo_data = &value["data"]["repository"];
        for (i, sha) in batch.iter().enumerate() {
            let nodes = repo_data[format!("c{i}")]["associatedPullRequests"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let pull = graphql::merged_pull(&serde_json::Value::Array(nodes)).map(|(pr, first)| {
                cache.first_commit.insert(pr.number, first);
                pr
            });
            cache.by_commit.insert((*sha).clone(), pull);
        }
    }
    Ok(())
}

/// The repositories of an organisation that the filters keep (the listing
/// is read conditionally: an unchanged organisation costs one 304).
async fn org_repos(
    api: &Api<'_>,
    org: &OrgConfig,
    seen: &mut Option<(String, Vec<String>)>,
) -> Result<Vec<String>> {
    let path = format!("/orgs/{}/repos?type=all&per_page=100", org.name);
    let etag = seen.as_ref().map(|(e, _)| e.clone());
    let names = match api.list::<GhRepo>(&path, etag.as_deref(), None, |_| true).await? {
        None => seen.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
        Some((repos, tag)) => {
            let names: Vec<String> = repos.into_iter().filter(|r| !r.archived).map(|r| r.full_name).collect();
            *seen = tag.map(|t| (t, names.clone()));
            names
        }
    };
    Ok(names.into_iter().filter(|n| org.wants(n.rsplit('/').next().unwrap_or(n))).collect())
}

/// The finished deployment attempts of a repository newer than the
/// look-back, by the configured strategy; lists are read conditionally.
async fn attempts(
    api: &Api<'_>,
    cfg: &GithubConfig,
    repo: &str,
    state: &mut RepoState,
    lookback: DateTime<Utc>,
) -> Result<Vec<Attempt>> {
    let mut out = Vec::new();
    match &cfg.strategy {
        Strategy::Deployments => {
            let path = format!("/repos/{repo}/deployments?per_page=100");
            let listed = api
                .list_cached::<GhDeployment>(&mut state.etags, path, None, |page| {
                    page.iter().all(|d| d.created_at >= lookback)
                })
                .await?;
            let Some(deployments) = listed else { return Ok(out) };
            for dep in deployments.iter().filter(|d| d.created_at >= lookback) {
                if state.done.contains(&format!("deployment:{}", dep.id)) {
                    continue;
                }
                let statuses: Vec<GhDeploymentStatus> = api
                    .get_json(&format!("/repos/{repo}/deployments/{}/statuses?per_page=100", dep.id))
                    .await?;
                // Not finished yet: a later run picks it up.
                if let Some(outcome) = normalize::deployment_outcome(&statuses) {
                    out.push(Attempt::from_deployment(dep, outcome));
                }
            }
        }
        Strategy::WorkflowRuns { workflows, branch, environment } => {
            for file in workflows {
                let mut path =
                    format!("/repos/{repo}/actions/workflows/{file}/runs?status=completed&per_page=100");
                if let Some(b) = branch {
                    path.push_str(&format!("&branch={b}"));
                }
                let listed = api
                    .list_cached::<GhWorkflowRun>(&mut state.etags, path, Some("workflow_runs"), |page| {
                        page.iter().all(|r| r.created_at >= lookback)
                    })
                    .await?;
                let Some(runs) = listed else { continue };
                out.extend(
                    runs.iter()
                        .filter(|r| r.created_at >= lookback)
                        .filter_map(|r| Attempt::from_workflow_run(r, environment)),
                );
            }
        }
        Strategy::Tags { tag_pattern, environment } => {
            for tag in graphql_tags(api, repo, lookback).await? {
                if tag_pattern.as_ref().is_some_and(|p| !p.is_match(&tag.name)) {
                    continue;
                }
                out.extend(Attempt::from_tag(&tag, environment).filter(|a| a.finished_at >= lookback));
            }
        }
        Strategy::Releases { tag_pattern, prereleases, environment } => {
            let path = format!("/repos/{repo}/releases?per_page=100");
            let listed = api
                .list_cached::<GhRelease>(&mut state.etags, path, None, |page| {
                    page.iter().all(|r| r.created_at >= lookback)
                })
                .await?;
            let Some(releases) = listed else { return Ok(out) };
            for release in
                releases.iter().filter(|r| r.published_at.is_some_and(|p| p >= lookback) && !r.draft)
            {
                if (release.prerelease && !prereleases)
                    || tag_pattern.as_ref().is_some_and(|p| !p.is_match(&release.tag_name))
                    || state.done.contains(&format!("release:{}", release.id))
                {
                    continue;
                }
                let target = release.target_commitish.as_deref().unwrap_or_default();
                let sha = if target.len() == 40 && target.bytes().all(|b| b.is_ascii_hexdigit()) {
                    target.to_string()
                } else {
                    let commit: GhCommit =
                        api.get_json(&format!("/repos/{repo}/commits/{}", release.tag_name)).await?;
                    commit.sha
                };
                out.extend(Attempt::from_release(release, &sha, environment));
            }
        }
    }
    Ok(out)
}

/// The most files a commit or comparison lists on its first page: a list
/// this long may be cut short.
const FILES_PAGE: usize = 300;

/// Monorepos: the services each commit touched. When the whole range's
/// files (from the comparison) fall in one service, every commit is that
/// service's without a request; otherwise each commit's files are read.
async fn commit_services(
    api: &Api<'_>,
    map: &PathServices,
    repo: &str,
    default: &str,
    commits: &[GhCommit],
    range_files: Option<&[GhFile]>,
) -> Result<Vec<BTreeSet<String>>> {
    let single = |s: &str| BTreeSet::from([s.to_string()]);
    if let Some(files) = range_files.filter(|f| !f.is_empty() && f.len() < FILES_PAGE) {
        let touched = map.services_of(normalize::file_paths(files), default);
        if touched.len() == 1 {
            return Ok(vec![touched; commits.len()]);
        }
    }
    let mut out = Vec::with_capacity(commits.len());
    for commit in commits {
        let files = if commit.files.is_empty() {
            api.get_json::<GhCommit>(&format!("/repos/{repo}/commits/{}", commit.sha)).await?.files
        } else {
            commit.files.clone()
        };
        let touched = map.services_of(normalize::file_paths(&files), default);
        // A commit that changes no file (an empty or merge commit) is the repository's.
        out.push(if touched.is_empty() { single(default) } else { touched });
    }
    Ok(out)
}

/// Monorepos: the services a failed production attempt would have
/// deployed: those touched since the environment's latest success (the
/// latest success's own when nothing changed or an older version was
/// deployed).
async fn attempt_services(
    api: &Api<'_>,
    map: &PathServices,
    repo: &str,
    default: &str,
    state: &RepoState,
    attempt: &Attempt,
) -> Result<BTreeSet<String>> {
    let last = || monorepo::latest_services(&state.last_services, &attempt.environment, default);
    let Some((_, prev_sha)) = state.last_success.get(&attempt.environment) else { return Ok(last()) };
    if *prev_sha == attempt.sha {
        return Ok(last());
    }
    let (cmp, commits) = compare_commits(api, repo, prev_sha, &attempt.sha).await?;
    if normalize::is_strict_ancestor(&cmp) || commits.is_empty() {
        return Ok(last());
    }
    let per_commit = commit_services(api, map, repo, default, &commits, Some(&cmp.files)).await?;
    Ok(per_commit.into_iter().flatten().collect())
}

/// The time as GraphQL and REST queries take it.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the overview query found of a repository: its new finished
/// deployment attempts and its incident issues updated since the last run.
struct Overview {
    attempts: Vec<Attempt>,
    issues: Vec<GhIssue>,
}

/// The deployments and incidents of a repository through GraphQL
/// (`strategy = "deployments"`): deployments newest first with their
/// statuses, down to the last run's (or the look-back), and the labelled
/// issues updated since, 100 of each a query; then, only when a deployment
/// finished since, the REST list (100 a page) for what GraphQL does not
/// carry (the `ref` as it was given, `production_environment`). `None`
/// when GraphQL is refused.
async fn graphql_overview(
    api: &Api<'_>,
    cfg: &GithubConfig,
    repo: &str,
    state: &mut RepoState,
    lookback: DateTime<Utc>,
) -> Result<Option<Overview>> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, repo));
    let since = state.issues_since.unwrap_or(lookback);
    let (mut with_deployments, mut with_issues) = (true, true);
    let (mut deployments_after, mut issues_after) = (serde_json::Value::Null, serde_json::Value::Null);
    let mut listed: Vec<GqlDeployment> = Vec::new();
    let mut issues = Vec::new();
    while with_deployments || with_issues {
        let variables = serde_json::json!({
            "owner": owner, "name": name,
            "withDeployments": with_deployments, "deploymentsAfter": deployments_after,
            "withIssues": with_issues, "issuesAfter": issues_after,
            "labels": cfg.incident_labels, "since": rfc3339(since),
        });
        let value = match graphql(api, graphql::OVERVIEW_QUERY, variables, graphql::OVERVIEW_COST).await? {
            Gql::Data(value) => value,
            Gql::Refused(_) => return Ok(None),
        };
        let data = &value["data"]["repository"];
        if with_deployments {
            let connection = &data["deployments"];
            let page: Vec<GqlDeployment> = connection["nodes"]
                .as_array()
                .map(|n| n.iter().filter_map(GqlDeployment::from_node).collect())
                .unwrap_or_default();
            // Newest first: stop at the look-back, or past the last run's.
            let oldest = page.iter().map(|d| d.created_at).min();
            let done = oldest.is_none_or(|o| o < lookback || state.listed_until.is_some_and(|b| o < b));
            listed.extend(page.into_iter().filter(|d| d.created_at >= lookback));
            match graphql::next_page(connection) {
                Some(next) if !done => deployments_after = next.into(),
                _ => with_deployments = false,
            }
        }
        if with_issues {
            let connection = &data["issues"];
            if let Some(nodes) = connection["nodes"].as_array() {
                issues.extend(nodes.iter().filter_map(graphql::issue_from_node));
            }
            match graphql::next_page(connection) {
                Some(next) => issues_after = next.into(),
                None => with_issues = false,
            }
        }
    }
    // New and finished: attempts; new and not finished: listed again next time.
    let mut finished = Vec::new();
    let mut open = Vec::new();
    for d in listed.iter().filter(|d| !state.done.contains(&format!("deployment:{}", d.id))) {
        match normalize::deployment_outcome(&d.statuses) {
            Some(outcome) => finished.push((d, outcome)),
            None => open.push(d.created_at),
        }
    }
    if let Some(bound) = open.iter().min().copied().or_else(|| listed.iter().map(|d| d.created_at).max()) {
        state.listed_until = Some(bound);
    }
    let mut attempts = Vec::new();
    if let Some(oldest) = finished.iter().map(|(d, _)| d.created_at).min() {
        let wanted: BTreeSet<u64> = finished.iter().map(|(d, _)| d.id).collect();
        let mut found = 0;
        let path = format!("/repos/{repo}/deployments?per_page=100");
        let rest = api
            .list::<GhDeployment>(&path, None, None, |page| {
                found += page.iter().filter(|d| wanted.contains(&d.id)).count();
                found < wanted.len() && page.iter().all(|d| d.created_at >= oldest)
            })
            .await?
            .map(|(deployments, _)| deployments)
            .unwrap_or_default();
        let by_id: BTreeMap<u64, &GhDeployment> = rest.iter().map(|d| (d.id, d)).collect();
        for (d, outcome) in finished {
            match by_id.get(&d.id) {
                Some(dep) => attempts.push(Attempt::from_deployment(dep, outcome)),
                None => {
                    return Err(err(format!(
                        "GET /repos/{repo}/deployments: deployment {} (listed by GraphQL) is missing",
                        d.id
                    )));
                }
            }
        }
    }
    Ok(Some(Overview { attempts, issues }))
}

/// A change set the walk of the history may decide: the commits `head`
/// adds over `base` (`None`: the first deployment seen, its commits since
/// the look-back), deployed at `at`.
struct Need {
    base: Option<String>,
    head: String,
    at: DateTime<Utc>,
}

impl Need {
    /// Whether `history` decides this change set.
    fn decided(&self, history: &History, lookback: DateTime<Utc>) -> bool {
        match &self.base {
            Some(base) => history.range(base, &self.head) != Range::Unknown,
            None => history.since(&self.head, lookback).is_some(),
        }
    }

    /// Whether walking further may still decide it: a deployed commit not
    /// walked a day past its deployment is not on the branch.
    fn may_be_decided(&self, history: &History) -> bool {
        let off_branch = |sha: &str, at: DateTime<Utc>| {
            history.commit(sha).is_none()
                && history.floor().is_some_and(|f| f < at - chrono::Duration::days(1))
        };
        !off_branch(&self.head, self.at)
    }
}

/// The change sets of successful production attempts, as the loop of
/// [`collect_repo`] will ask for them (each one's base is the previous
/// success of its environment; a redeploy of the same commit needs none).
fn change_set_needs(cfg: &GithubConfig, state: &RepoState, attempts: &[Attempt]) -> Vec<Need> {
    let mut last: BTreeMap<&str, &str> =
        state.last_success.iter().map(|(env, (_, sha))| (env.as_str(), sha.as_str())).collect();
    let mut needs = Vec::new();
    for a in attempts {
        let production = a.production_flag || cfg.production.is_production(&a.environment);
        if a.status != DeploymentStatus::Success || !production {
            continue;
        }
        match last.get(a.environment.as_str()) {
            Some(prev) if *prev == a.sha => {}
            prev => {
                needs.push(Need { base: prev.map(|p| p.to_string()), head: a.sha.clone(), at: a.finished_at })
            }
        }
        last.insert(&a.environment, &a.sha);
    }
    needs
}

/// Extra pages walked past the look-back for change sets that reach older
/// commits (a long-lived branch merged); past them, the REST comparison.
const EXTRA_WALK_PAGES: usize = 3;

/// Walks the default branch's history with GraphQL, 100 commits (with
/// their parents and pull requests) a query, until it decides every
/// change set in `needs` it can: down to the look-back when a first
/// deployment needs it, else as far as the oldest base. Never more pages
/// than change sets (a REST comparison each would cost as much). `None`
/// when GraphQL is refused before the first page.
async fn walk_history(
    api: &Api<'_>,
    repo: &str,
    needs: &[Need],
    lookback: DateTime<Utc>,
) -> Result<Option<History>> {
    if needs.is_empty() {
        return Ok(None);
    }
    let (owner, name) = repo.split_once('/').unwrap_or((repo, repo));
    let mut history = History::new();
    let mut after = serde_json::Value::Null;
    let (mut pages, mut extra) = (0, 0);
    loop {
        let variables = serde_json::json!({"owner": owner, "name": name, "after": after});
        let value = match graphql(api, graphql::WALK_QUERY, variables, graphql::WALK_COST).await? {
            Gql::Data(value) => value,
            Gql::Refused(_) if pages == 0 => return Ok(None),
            Gql::Refused(_) => break,
        };
        pages += 1;
        let connection = &value["data"]["repository"]["defaultBranchRef"]["target"]["history"];
        let page: Vec<WalkCommit> = connection["nodes"]
            .as_array()
            .map(|n| n.iter().filter_map(WalkCommit::from_node).collect())
            .unwrap_or_default();
        let next = graphql::next_page(connection);
        history.add_page(page, next.is_none());
        let Some(next) = next else { break };
        let open: Vec<&Need> =
            needs.iter().filter(|n| !n.decided(&history, lookback) && n.may_be_decided(&history)).collect();
        if open.is_empty() || pages >= needs.len() {
            break;
        }
        if history.floor().is_some_and(|f| f < lookback) {
            // Past the look-back: only change sets whose commits were walked.
            let walked = |n: &&Need| {
                history.commit(&n.head).is_some()
                    && n.base.as_ref().is_none_or(|b| history.commit(b).is_some())
            };
            if extra >= EXTRA_WALK_PAGES || !open.iter().any(walked) {
                break;
            }
            extra += 1;
        }
        after = next.into();
    }
    Ok(Some(history))
}

/// A walked commit as the REST model has it (no message, no files).
fn walked_commit(c: &WalkCommit) -> GhCommit {
    use super::model::{GhCommitDetail, GhGitActor, GhParent};
    GhCommit {
        sha: c.sha.clone(),
        commit: GhCommitDetail {
            author: Some(GhGitActor { date: c.authored_at }),
            committer: Some(GhGitActor { date: Some(c.committed_at) }),
            message: String::new(),
        },
        parents: c.parents.iter().map(|p| GhParent { sha: p.clone() }).collect(),
        files: Vec::new(),
    }
}

/// The walked commits of `shas`, in that order.
fn walked_commits(history: &History, shas: &[String]) -> Vec<GhCommit> {
    shas.iter().filter_map(|s| history.commit(s)).map(walked_commit).collect()
}

/// Reads one repository into `events`, updating its state.
async fn collect_repo(
    api: &Api<'_>,
    part: &dyn Progress,
    cfg: &GithubConfig,
    repo_cfg: &RepoConfig,
    state: &mut RepoState,
    events: &mut EventSet,
    started: DateTime<Utc>,
) -> Result<()> {
    let repo = &repo_cfg.full_name;
    let ctx = ForgeContext::new("github", repo, repo_cfg.service.clone(), repo_cfg.team.clone());
    let lookback = started - chrono::Duration::days(i64::from(cfg.lookback_days));
    part.message("deployments");
    // GraphQL first (deployments with their statuses, and incidents, in one
    // query); REST when it is refused or another strategy is configured.
    let overview = match cfg.strategy {
        Strategy::Deployments if api.graphql_wanted() => {
            graphql_overview(api, cfg, repo, state, lookback).await?
        }
        _ => None,
    };
    let (mut finished, graphql_issues) = match overview {
        Some(o) => (o.attempts, Some(o.issues)),
        None => (attempts(api, cfg, repo, state, lookback).await?, None),
    };
    finished.retain(|a| !state.done.contains(&a.key()));
    // In the order they finished, so each one's predecessor is known.
    // Numeric ids sort as numbers (shorter first), tag names by name.
    finished.sort_by(|a, b| {
        (a.finished_at, a.kind, a.id.len(), &a.id).cmp(&(b.finished_at, b.kind, b.id.len(), &b.id))
    });

    let monorepo = cfg.monorepo.get(repo).filter(|m| !m.is_empty());
    let mut pulls = PullCache::default();
    // One walk of the default branch decides most change sets (monorepos
    // need the files of each range: the REST comparison lists them).
    let history = match monorepo {
        None if api.graphql_wanted() => {
            part.message(&format!("history ({})", api.spent_note()));
            walk_history(api, repo, &change_set_needs(cfg, state, &finished), lookback).await?
        }
        _ => None,
    };
    if let Some(h) = &history {
        for c in h.commits() {
            let pull = c.pull.clone().map(|(pr, first)| {
                pulls.first_commit.insert(pr.number, first);
                pr
            });
            pulls.by_commit.insert(c.sha.clone(), pull);
        }
    }
    part.message(&format!("changes ({})", api.spent_note()));
    for attempt in finished {
        let production = attempt.production_flag || cfg.production.is_production(&attempt.environment);
        let mut changes = Vec::new();
        let mut kind = DeploymentType::Regular;
        let mut remediates = Vec::new();
        let mut shipped_pulls = Vec::new();
        // Monorepos: the services deployed, and each change's services.
        let mut deployed = DeployedServices::default();
        if attempt.status == DeploymentStatus::Success && production {
            let mut range_files = None;
            let commits = match state.last_success.get(&attempt.environment).cloned() {
                // A redeploy of the same commit ships nothing.
                Some((_, prev_sha)) if prev_sha == attempt.sha => Vec::new(),
                Some((prev_id, prev_sha)) => {
                    let walked =
                        history.as_ref().map_or(Range::Unknown, |h| h.range(&prev_sha, &attempt.sha));
                    match walked {
                        Range::Rollback => {
                            kind = DeploymentType::Rollback;
                            remediates.push(prev_id);
                            Vec::new()
                        }
                        Range::Commits(shas) => {
                            walked_commits(history.as_ref().expect("a walked history"), &shas)
                        }
                        Range::Unknown => {
                            let (cmp, commits) = compare_commits(api, repo, &prev_sha, &attempt.sha).await?;
                            if normalize::is_strict_ancestor(&cmp) {
                                kind = DeploymentType::Rollback;
                                remediates.push(prev_id);
                                Vec::new()
                            } else {
                                range_files = Some(cmp.files);
                                commits
                            }
                        }
                    }
                }
                None => match history.as_ref().and_then(|h| Some((h, h.since(&attempt.sha, lookback)?))) {
                    Some((h, shas)) => walked_commits(h, &shas),
                    None => {
                        // The first deployment seen: its changes within the look-back.
                        let path = format!(
                            "/repos/{repo}/commits?sha={}&since={}&per_page=100",
                            attempt.sha,
                            rfc3339(lookback)
                        );
                        let mut commits: Vec<GhCommit> =
                            api.list(&path, None, None, |_| true).await?.map(|(c, _)| c).unwrap_or_default();
                        commits.reverse();
                        commits
                    }
                },
            };
            if api.graphql_wanted() {
                let shas: Vec<String> = commits.iter().map(|c| c.sha.clone()).collect();
                graphql_pulls(api, &mut pulls, repo, &shas).await?;
            }
            let per_commit = match monorepo {
                Some(map) => {
                    commit_services(api, map, repo, &ctx.service, &commits, range_files.as_deref()).await?
                }
                None => Vec::new(),
            };
            for (i, commit) in commits.iter().enumerate() {
                let pull = pull_of(api, &mut pulls, repo, &commit.sha).await?;
                let first = match &pull {
                    Some(p) => first_commit_at(api, &mut pulls, repo, p.number).await?,
                    None => None,
                };
                if let Some(mut change) = normalize::change(&ctx, commit, pull.as_ref(), first) {
                    deployed.add_change(&mut change, per_commit.get(i), &ctx.service);
                    changes.push(change.id.clone());
                    events.push(change);
                }
                if let Some(p) = pull {
                    shipped_pulls.push(p);
                }
            }
            let refs: Vec<&GhPullRequest> = shipped_pulls.iter().collect();
            if kind == DeploymentType::Regular
                && normalize::is_hotfix(&cfg.hotfix, &attempt.git_ref, attempt.description.as_deref(), &refs)
            {
                kind = DeploymentType::Hotfix;
            }
            if monorepo.is_some() {
                deployed.remember(&mut state.last_services, &attempt.environment, &ctx.service);
            }
            state.last_success.insert(
                attempt.environment.clone(),
                (ctx.id(attempt.kind, &attempt.id), attempt.sha.clone()),
            );
        } else if let Some(map) = monorepo.filter(|_| production) {
            deployed.services = attempt_services(api, map, repo, &ctx.service, state, &attempt).await?;
        }
        let deployment = normalize::deployment(&ctx, &attempt, changes, kind, remediates);
        for part in deployed.parts(deployment) {
            events.push(part);
        }
        state.done.push(attempt.key());
    }

    // Incidents: labelled issues, most recently updated first, read until
    // the last one seen (the overview query brought them already). The
    // REST URL never changes, so its ETag makes a run with nothing new a
    // single 304.
    part.message(&format!("incidents ({})", api.spent_note()));
    let since = state.issues_since.unwrap_or(lookback);
    let newer = |i: &GhIssue| {
        let updated = i.updated_at.unwrap_or(i.created_at);
        // Issues seen at exactly `since` by the last run are not new.
        updated > since || (updated == since && !state.issues_at_since.contains(&i.number))
    };
    let issues = match graphql_issues {
        Some(issues) => Some(issues),
        None => {
            // An issue with any of the labels is an incident, but the REST
            // filter `labels=a,b` wants all of them: one list per label,
            // merged (each with its ETag: a label with nothing new is a 304).
            let not_older = |i: &GhIssue| i.updated_at.unwrap_or(i.created_at) >= since;
            let mut merged: Option<Vec<GhIssue>> = None;
            for label in &cfg.incident_labels {
                let label = url::form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>();
                let path = format!(
                    "/repos/{repo}/issues?state=all&labels={label}&sort=updated&direction=desc&per_page=100"
                );
                let listed = api
                    .list_cached::<GhIssue>(&mut state.etags, path, None, |page| page.iter().all(not_older))
                    .await?;
                if let Some(issues) = listed {
                    let all = merged.get_or_insert_with(Vec::new);
                    for issue in issues {
                        if !all.iter().any(|i| i.number == issue.number) {
                            all.push(issue);
                        }
                    }
                }
            }
            merged
        }
    };
    if let Some(issues) = issues {
        let mut fresh: Vec<&GhIssue> = issues.iter().filter(|i| newer(i)).collect();
        // One order whichever lists or queries gave them: most recently
        // updated first, then the higher number.
        fresh.sort_by_key(|i| std::cmp::Reverse((i.updated_at.unwrap_or(i.created_at), i.number)));
        for issue in &fresh {
            if let Some(incident) = normalize::incident(&ctx, issue, &cfg.incident_labels, &cfg.root_cause) {
                events.push(incident);
            }
        }
        if let Some(latest) = fresh.iter().map(|i| i.updated_at.unwrap_or(i.created_at)).max() {
            let latest = latest.max(since);
            let at_latest = fresh.iter().filter(|i| i.updated_at.unwrap_or(i.created_at) == latest);
            let mut seen: Vec<u64> = at_latest.map(|i| i.number).collect();
            if latest == since {
                seen.extend(state.issues_at_since.iter().copied());
            }
            seen.sort_unstable();
            seen.dedup();
            state.issues_at_since = seen;
            state.issues_since = Some(latest);
        }
    }
    state.done.sort_unstable();
    state.done.dedup();
    Ok(())
}

impl Source for GithubSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "github"
    }

    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected> {
        let cfg = &self.config;
        crate::forge::check_plain_http(&cfg.api_url, cfg.allow_http)?;
        let token = Secret::resolve(self.token.as_ref(), &cfg.token_env, "the GitHub token")?;
        let mut state: State =
            state.and_then(|s| serde_json::from_value(s.0.clone()).ok()).unwrap_or_default();
        let runtime = crate::http::http_runtime()?;
        let started = Utc::now();
        let budget = Budget::new(cfg.max_requests);
        let events = runtime.block_on(async {
            let api = Api::new(cfg, token, progress, &budget)?;
            let mut events = EventSet::new();
            let mut repos = cfg.repos.clone();
            if let Some(org) = &cfg.org {
                for full_name in org_repos(&api, org, &mut state.org).await? {
                    let name = full_name.rsplit('/').next().unwrap_or(&full_name).to_string();
                    if !repos.iter().any(|r| r.full_name == full_name) {
                        repos.push(RepoConfig {
                            service: org.services.get(&name).cloned(),
                            team: org.teams.get(&name).cloned(),
                            full_name,
                        });
                    }
                }
            }
            progress.set_total(repos.len() as u64);
            // `concurrency` repositories at once, under one budget and one
            // rate-limit pause; events merge in the repositories' order.
            let api = &api;
            let states: Vec<RepoState> =
                repos.iter().map(|r| state.repos.remove(&r.full_name).unwrap_or_default()).collect();
            let runs = repos.iter().zip(states).map(|(repo, mut repo_state)| async move {
                let part = progress.part(&repo.full_name);
                let mut repo_events = EventSet::new();
                let result =
                    collect_repo(api, part.as_ref(), cfg, repo, &mut repo_state, &mut repo_events, started)
                        .await;
                part.message(&format!("done ({})", api.spent_note()));
                progress.message(&api.spent_note());
                progress.advance(1);
                result.map(|()| (repo, repo_state, repo_events))
            });
            let mut runs = futures::stream::iter(runs).buffered(cfg.concurrency.max(1));
            while let Some(run) = runs.next().await {
                let (repo, repo_state, repo_events) = run?;
                state.repos.insert(repo.full_name.clone(), repo_state);
                for event in repo_events.iter() {
                    events.push(event);
                }
            }
            Ok::<_, Error>(events)
        })?;
        let state = serde_json::to_value(&state).map(SyncState).unwrap_or_default();
        Ok(Collected { events, state, requests: budget.spent(), notes: Vec::new(), costs: None })
    }
}

/// A repository's history read through GitHub's API: the change sets of a
/// source that knows only which commit it deployed (Kubernetes rollouts).
///
/// `between(Some(from), to)` is the comparison `from...to` (all its pages);
/// `between(None, to)` lists `to`'s history. Answers are kept, so asking
/// twice costs one request. The token is resolved when the history is made.
pub struct GithubHistory {
    repo: String,
    config: GithubConfig,
    token: Secret,
    known: HistoryCache,
    /// One budget (`max_requests`) for all of this history's queries.
    budget: Budget,
}

impl std::fmt::Debug for GithubHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubHistory")
            .field("repo", &self.repo)
            .field("api_url", &self.config.api_url)
            .finish()
    }
}

impl GithubHistory {
    /// The history of `repo` (`owner/name`) through the API of `config`,
    /// with the token given, else the one in `config.token_env`.
    pub fn new(repo: &str, config: GithubConfig, token: Option<String>) -> Result<Self> {
        crate::forge::check_plain_http(&config.api_url, config.allow_http)?;
        let given = token.map(Secret::new);
        let token = Secret::new(Secret::resolve(given.as_ref(), &config.token_env, "the GitHub token")?);
        Ok(Self {
            repo: repo.to_string(),
            token,
            known: Default::default(),
            budget: Budget::new(config.max_requests),
            config,
        })
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.budget.spent()
    }

    async fn fetch(&self, from: Option<&str>, to: &str, limit: usize) -> Result<HistoryRange> {
        let repo = &self.repo;
        // Commits come from annotations: refuse what would change the URL.
        if let Some(bad) = [Some(to), from].into_iter().flatten().find(|r| !is_revision_name(r)) {
            return Ok(HistoryRange::Unknown(format!("{bad:?} is not a commit name")));
        }
        crate::http::install_tls_provider();
        let api = Api::new(
            &self.config,
            self.token.expose().to_string(),
            &dora_core::source::NoProgress,
            &self.budget,
        )?;
        let result = match from {
            Some(from) => compare_commits(&api, repo, from, to).await.map(|(_, mut commits)| {
                commits.reverse();
                commits
            }),
            None => {
                let mut seen = 0;
                let path = format!("/repos/{repo}/commits?sha={to}&per_page={}", limit.clamp(1, 100));
                api.list::<GhCommit>(&path, None, None, |page| {
                    seen += page.len();
                    seen < limit
                })
                .await
                .map(Option::unwrap_or_default)
                .map(|(commits, _)| commits)
            }
        };
        let commits = match result {
            Ok(commits) => commits,
            Err(e) if api.missing.get() => return Ok(HistoryRange::Unknown(format!("{repo}: {e}"))),
            Err(e) => return Err(err(format!("{repo}: {e}"))),
        };
        Ok(HistoryRange::Commits(
            commits
                .into_iter()
                .filter_map(|c| {
                    let authored_at = c.commit.author.as_ref().and_then(|a| a.date);
                    let committed_at = c.commit.committer.as_ref().and_then(|a| a.date).or(authored_at)?;
                    Some(HistoryCommit { sha: c.sha, committed_at, authored_at })
                })
                .take(limit)
                .collect(),
        ))
    }
}

/// Whether `r` can go into a URL path or query as it is: a SHA, a tag or a
/// branch name made of `[0-9A-Za-z._/-]`.
fn is_revision_name(r: &str) -> bool {
    !r.is_empty()
        && !r.contains("..")
        && r.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
}

impl CommitHistory for GithubHistory {
    fn between<'a>(&'a self, from: Option<&'a str>, to: &'a str, limit: usize) -> HistoryFuture<'a> {
        Box::pin(self.known.get_or_fetch(from, to, limit, move || self.fetch(from, to, limit)))
    }

    fn requests(&self) -> u64 {
        GithubHistory::requests(self)
    }
}
