//! The GitLab source's I/O: the `gitlab` crate's endpoints and paging, sent
//! through dora's own client (`Api`), which adds the token and follows
//! the HTTP policy of every source ([`crate::http`]): it waits on rate
//! limits (`429` with `Retry-After`, `RateLimit-*`), retries 5xx answers,
//! timeouts and truncated bodies with backoff and a bound, and keeps to a
//! request budget. The token is never printed, logged,
//! stored or put in an error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use gitlab::api::endpoint_prelude::*;
use gitlab::api::{self, ApiError, AsyncQuery, Pagination};
use http::header::{HeaderName, HeaderValue};
use regex::Regex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::model::{GlCommit, GlCompare, GlDeployment, GlEnvironment, GlIssue, GlMergeRequest, GlProject};
use super::normalize::{self, Attempt, ForgeContext, ShippedMergeRequests};
use crate::changesets::{CommitHistory, HistoryCache, HistoryCommit, HistoryFuture, HistoryRange};
use crate::hotfix::HotfixRule;
use crate::http::{Attempts, Budget, Outcome, RateGate, RateLimit, RetryPolicy, Secret};
use crate::http::{short, source_error as err};
use crate::monorepo::{self, DeployedServices, PathServices};
use dora_core::engine::options::ProductionPatterns;
use dora_core::error::{Error, Result};
use dora_core::event::{DeploymentStatus, DeploymentType, EventSet};
use dora_core::source::secret::redact_url;
use dora_core::source::{Collected, Progress, Source};
use dora_core::store::SyncState;

/// One project to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectConfig {
    /// `group/subgroup/project` (or its numeric id).
    pub path: String,
    /// The service its events belong to [default: the project's name].
    pub service: Option<String>,
    /// The team.
    pub team: Option<String>,
}

/// A group whose projects (subgroups included) are read, filtered by path.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// The group's path, like `acme` or `acme/platform`.
    pub path: String,
    /// Only projects whose path below the group matches one of these globs
    /// [default: all].
    pub include: Vec<glob::Pattern>,
    /// Never projects whose path below the group matches one of these.
    pub exclude: Vec<glob::Pattern>,
    /// Project path (full, or below the group) -> service.
    pub services: BTreeMap<String, String>,
    /// Project path (full, or below the group) -> team.
    pub teams: BTreeMap<String, String>,
}

impl GroupConfig {
    /// The path of a project below the group (`acme/a/b` -> `a/b`).
    fn relative<'p>(&self, full: &'p str) -> &'p str {
        full.strip_prefix(self.path.trim_end_matches('/')).map_or(full, |r| r.trim_start_matches('/'))
    }

    /// Whether a project of the group is read.
    pub fn wants(&self, full_path: &str) -> bool {
        crate::forge::wanted(&self.include, &self.exclude, self.relative(full_path))
    }

    fn lookup(&self, map: &BTreeMap<String, String>, full_path: &str) -> Option<String> {
        map.get(full_path).or_else(|| map.get(self.relative(full_path))).cloned()
    }
}

/// The GitLab source's settings.
#[derive(Debug, Clone)]
pub struct GitlabConfig {
    /// The projects.
    pub projects: Vec<ProjectConfig>,
    /// A whole group's projects too (archived ones left out).
    pub group: Option<GroupConfig>,
    /// The server [default: `https://gitlab.com`; self-managed:
    /// `https://gitlab.example.com` or `https://example.com/gitlab`].
    pub api_url: String,
    /// The environment variable that holds the token [default: `GITLAB_TOKEN`].
    pub token_env: String,
    /// Which environments are production by name (the spec's patterns).
    pub production: ProductionPatterns,
    /// Environments whose GitLab deployment tier is `production` are
    /// production too [default: true].
    pub production_tier: bool,
    /// Issues with one of these labels are incidents too (issues of type
    /// incident always are).
    pub incident_labels: Vec<String>,
    /// The pattern of a root-cause commit in an incident's description.
    pub root_cause: Regex,
    /// Read incident timelines (GraphQL) for start and end times [default: true].
    pub timeline_events: bool,
    /// How far back the first run goes, in days [default: 90].
    pub lookback_days: u32,
    /// Allow `http://` servers (tests against a local server only).
    pub allow_http: bool,
    /// Stop (with an error, storing nothing) past this many requests.
    pub max_requests: Option<u64>,
    /// How hotfixes are recognised.
    pub hotfix: HotfixRule,
    /// The longest a request may take before it is retried as timed out.
    pub request_timeout: Duration,
    /// Base of the backoff between retries (tests make it small).
    pub retry_base: Duration,
    /// Retries of one request before giving up.
    pub max_retries: u32,
    /// The longest wait for a rate limit before giving up.
    pub max_rate_limit_wait: Duration,
    /// Items per page (at most 100; tests make it small to page).
    pub per_page: usize,
    /// Monorepos: project path -> its path prefixes' services.
    pub monorepo: BTreeMap<String, PathServices>,
    /// Read merge requests in bulk (one list of the project's merged ones,
    /// their commits by GraphQL, 50 a query) instead of per deployment
    /// [default: true]. A server that refuses the GraphQL query gets the
    /// per-deployment requests, with a note.
    pub use_graphql: bool,
    /// Projects read at once (a group's, or several listed) [default: 8].
    pub concurrency: usize,
}

impl GitlabConfig {
    /// Settings with the defaults for these projects.
    pub fn new(projects: Vec<ProjectConfig>) -> Self {
        Self {
            projects,
            group: None,
            api_url: "https://gitlab.com".into(),
            token_env: "GITLAB_TOKEN".into(),
            production: ProductionPatterns::default(),
            production_tier: true,
            incident_labels: Vec::new(),
            root_cause: Regex::new(normalize::ROOT_CAUSE_PATTERN).expect("a valid pattern"),
            timeline_events: true,
            lookback_days: 90,
            allow_http: false,
            max_requests: None,
            hotfix: HotfixRule::default(),
            request_timeout: Duration::from_secs(30),
            retry_base: Duration::from_millis(500),
            max_retries: 4,
            max_rate_limit_wait: Duration::from_secs(3600),
            per_page: 100,
            monorepo: BTreeMap::new(),
            use_graphql: true,
            concurrency: 8,
        }
    }
}

/// What the source remembers of a project between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ProjectState {
    /// Deployments updated after this time are listed next run.
    #[serde(default)]
    deployments_after: Option<DateTime<Utc>>,
    /// Deployments already turned into events.
    #[serde(default)]
    done: Vec<u64>,
    /// The latest successful deployment per environment: (event id, sha).
    #[serde(default)]
    last_success: BTreeMap<String, (String, String)>,
    /// Monorepos: the services of the latest successful deployment per environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    last_services: BTreeMap<String, BTreeSet<String>>,
    /// Issues updated after this time are listed next run.
    #[serde(default)]
    issues_after: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    projects: BTreeMap<String, ProjectState>,
}

/// The GitLab source.
#[derive(Debug)]
pub struct GitlabSource {
    name: String,
    config: GitlabConfig,
    token: Option<Secret>,
}

impl GitlabSource {
    /// A source named `name`; the token is read from `config.token_env`
    /// when it runs.
    pub fn new(name: impl Into<String>, config: GitlabConfig) -> Self {
        Self { name: name.into(), config, token: None }
    }

    /// Uses this token instead of the environment variable's.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }
}

/// Why a request failed for good (after retries, or before sending).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CallError(String);

/// The client the `gitlab` crate's endpoints are sent through.
struct Api<'a> {
    inner: gitlab::AsyncGitlab,
    token: HeaderValue,
    config: &'a GitlabConfig,
    progress: &'a dyn Progress,
    budget: &'a Budget,
    /// The server's rate limit as the run's concurrent requests share it:
    /// one pause for all, and what is left.
    gate: &'a RateGate,
    /// The path of the request being made, for error messages.
    current: Mutex<String>,
    /// Whether a request failed with 404 (a commit or project GitLab does not know).
    missing: std::sync::atomic::AtomicBool,
    /// Whether a request was refused (403 or 404): a server without
    /// GraphQL, or one that keeps it from the token.
    refused: std::sync::atomic::AtomicBool,
}

/// The token (given, else from `cfg.token_env`) as a sensitive header
/// value, after checking the API URL.
fn token_header(given: Option<&Secret>, cfg: &GitlabConfig) -> Result<HeaderValue> {
    server(&cfg.api_url)?;
    crate::forge::check_plain_http(&cfg.api_url, cfg.allow_http)?;
    let token = Secret::resolve(given, &cfg.token_env, "the GitLab token")?;
    let mut token = HeaderValue::from_str(token.trim()).map_err(|_| {
        err(format!("{}: the token holds characters no HTTP header can carry", cfg.token_env))
    })?;
    token.set_sensitive(true);
    Ok(token)
}

impl<'a> Api<'a> {
    /// The client for `config`'s server (its URL checked by
    /// [`token_header`]), whose requests count against `budget`.
    async fn connect(
        config: &'a GitlabConfig,
        token: HeaderValue,
        progress: &'a dyn Progress,
        budget: &'a Budget,
        gate: &'a RateGate,
    ) -> Result<Self> {
        let (host, http) = server(&config.api_url)?;
        let mut builder = gitlab::GitlabBuilder::new_unauthenticated(host);
        if http {
            builder.insecure();
        }
        builder.user_agent(concat!("dora/", env!("CARGO_PKG_VERSION")));
        let inner = builder
            .build_async()
            .await
            .map_err(|e| err(format!("cannot build the HTTP client: {}", short(&e))))?;
        Ok(Api {
            inner,
            token,
            config,
            progress,
            budget,
            gate,
            current: Mutex::new(String::new()),
            missing: Default::default(),
            refused: Default::default(),
        })
    }

    /// A client for one project read at once with others: the same
    /// connection, budget and rate limit, its own progress (waits are
    /// reported there) and its own request path for error messages.
    fn for_project<'b>(&'b self, progress: &'b dyn Progress) -> Api<'b> {
        Api {
            inner: self.inner.clone(),
            token: self.token.clone(),
            config: self.config,
            progress,
            budget: self.budget,
            gate: self.gate,
            current: Mutex::new(String::new()),
            missing: Default::default(),
            refused: Default::default(),
        }
    }
}

impl Api<'_> {
    /// `what`, with the run's requests so far, what is left of GitLab's
    /// rate limit (its `RateLimit-Remaining`, when it sends one) and of the
    /// request budget: a progress message.
    fn status(&self, what: &str) -> String {
        format!("{what} ({})", self.gate.note(self.budget))
    }

    fn wrap(&self, what: &str, e: ApiError<CallError>) -> Error {
        let path = self.current.lock().map(|p| p.clone()).unwrap_or_default();
        match e {
            ApiError::Client { source } => err(source.0),
            other => err(format!("{what} ({path}): {}", short(&other))),
        }
    }

    /// Every item of a paged endpoint.
    async fn all<E, T>(&self, what: &str, endpoint: E) -> Result<Vec<T>>
    where
        E: Endpoint + Pageable + Sync,
        T: DeserializeOwned + Send + 'static,
    {
        api::paged(endpoint, Pagination::AllPerPageLimit(self.config.per_page.clamp(1, 100)))
            .query_async(self)
            .await
            .map_err(|e| self.wrap(what, e))
    }

    /// The first `limit` items of a paged endpoint.
    async fn first<E, T>(&self, what: &str, endpoint: E, limit: usize) -> Result<Vec<T>>
    where
        E: Endpoint + Pageable + Sync,
        T: DeserializeOwned + Send + 'static,
    {
        api::paged(endpoint, Pagination::Limit(limit.max(1)))
            .query_async(self)
            .await
            .map_err(|e| self.wrap(what, e))
    }

    /// One object.
    async fn one<E, T>(&self, what: &str, endpoint: E) -> Result<T>
    where
        E: Endpoint + Sync,
        T: DeserializeOwned + Send + 'static,
    {
        endpoint.query_async(self).await.map_err(|e| self.wrap(what, e))
    }
}

impl api::RestClient for Api<'_> {
    type Error = CallError;

    fn rest_endpoint(&self, endpoint: &str) -> std::result::Result<url::Url, ApiError<CallError>> {
        self.inner.rest_endpoint(endpoint).map_err(|e| ApiError::client(CallError(short(&e))))
    }

    fn instance_endpoint(&self, endpoint: &str) -> std::result::Result<url::Url, ApiError<CallError>> {
        self.inner.instance_endpoint(endpoint).map_err(|e| ApiError::client(CallError(short(&e))))
    }
}

#[async_trait]
impl api::AsyncClient for Api<'_> {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> std::result::Result<http::Response<Bytes>, ApiError<CallError>> {
        let method = request.method_ref().cloned().unwrap_or(Method::GET);
        let uri = request.uri_ref().cloned().unwrap_or_default();
        let headers = request.headers_ref().cloned().unwrap_or_default();
        // The path and query only: never the host's credentials or the token.
        let path = uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.to_string());
        if let Ok(mut current) = self.current.lock() {
            current.clone_from(&path);
        }
        let policy = RetryPolicy::new(
            self.config.max_retries,
            self.config.retry_base,
            self.config.max_rate_limit_wait,
        );
        // GitLab counts requests, GraphQL queries too: each costs 1.
        let attempts = Attempts::new(policy, format!("{method} {path}"), self.progress);
        let mut attempts = attempts.with_gate(self.gate, 1);
        let give_up = |message: String| ApiError::client(CallError(message));
        loop {
            // While the run is paused for a rate limit, every request waits.
            attempts.ready().await.map_err(give_up)?;
            self.budget.spend().map_err(|e| give_up(e.to_string()))?;
            let mut b = http::Request::builder().method(method.clone()).uri(uri.clone());
            for (k, v) in &headers {
                b = b.header(k, v);
            }
            b = b.header(HeaderName::from_static("private-token"), self.token.clone());
            let sent =
                tokio::time::timeout(self.config.request_timeout, self.inner.rest_async(b, body.clone()))
                    .await;
            let attempt = match sent {
                Err(_) => Err(Outcome::TimedOut),
                // A failed connection or a cut-off answer: the error names
                // the URL at most, never the token.
                Ok(Err(e)) => Err(Outcome::Transport(short(&e))),
                // A truncated or garbled body: ask again.
                Ok(Ok(r)) if r.status().is_success() => {
                    match serde_json::from_slice::<serde::de::IgnoredAny>(r.body()) {
                        Ok(_) => Ok(r),
                        Err(e) => Err(Outcome::NotJson(e.to_string())),
                    }
                }
                Ok(Ok(r)) => Ok(r),
            };
            let answered = |r: &http::Response<Bytes>| Outcome::Answer {
                status: r.status().as_u16(),
                rate_limit: RateLimit::from_headers(r.headers()),
            };
            let Some(response) = attempts.judge(attempt, answered).await.map_err(give_up)? else { continue };
            let status = response.status();
            if status == http::StatusCode::UNAUTHORIZED {
                return Err(give_up(format!(
                    "{method} {path}: HTTP 401: the token was refused (check {})",
                    self.config.token_env
                )));
            }
            if status == http::StatusCode::FORBIDDEN || status == http::StatusCode::NOT_FOUND {
                self.missing.store(status == http::StatusCode::NOT_FOUND, Ordering::Relaxed);
                self.refused.store(true, Ordering::Relaxed);
                return Err(give_up(format!(
                    "{method} {path}: HTTP {}: not found, or the token cannot read it (it needs the read_api scope)",
                    status.as_u16()
                )));
            }
            return Ok(response);
        }
    }
}

/// `api::projects::deployments::Deployments`, which the crate does not
/// mark as paged, though GitLab pages it.
struct PagedDeployments<'a>(api::projects::deployments::Deployments<'a>);

impl Endpoint for PagedDeployments<'_> {
    fn method(&self) -> Method {
        self.0.method()
    }
    fn endpoint(&self) -> Cow<'static, str> {
        self.0.endpoint()
    }
    fn parameters(&self) -> QueryParams<'_> {
        self.0.parameters()
    }
}

impl Pageable for PagedDeployments<'_> {}

/// `GET projects/:id/deployments/:deployment_id/merge_requests` (not in the crate).
struct DeploymentMergeRequests<'a> {
    project: &'a str,
    deployment: u64,
}

fn escaped(path: &str) -> String {
    // A project path goes into the URL as one segment.
    path.replace('%', "%25").replace('/', "%2F")
}

impl Endpoint for DeploymentMergeRequests<'_> {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/deployments/{}/merge_requests", escaped(self.project), self.deployment).into()
    }
}

impl Pageable for DeploymentMergeRequests<'_> {}

/// `GET projects/:id/repository/commits/:sha/diff` (monorepos).
struct CommitDiff<'a> {
    project: &'a str,
    sha: &'a str,
}

impl Endpoint for CommitDiff<'_> {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/repository/commits/{}/diff", escaped(self.project), self.sha).into()
    }
}

impl Pageable for CommitDiff<'_> {}

/// A GraphQL query (`POST /api/graphql`).
struct Graphql {
    body: Vec<u8>,
}

impl Endpoint for Graphql {
    fn method(&self) -> Method {
        Method::POST
    }
    fn endpoint(&self) -> Cow<'static, str> {
        "api/graphql".into()
    }
    fn url_base(&self) -> UrlBase {
        UrlBase::Instance
    }
    fn body(&self) -> std::result::Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        Ok(Some(("application/json", self.body.clone())))
    }
}

/// Incidents per GraphQL query for their timelines.
const TIMELINE_BATCH: usize = 50;

/// The timeline events of these incidents (by issue id), batched; a server
/// without timelines (or refusing the query) gives a note, not a failure.
async fn timelines(
    api: &Api<'_>,
    project: &str,
    issues: &[&GlIssue],
    notes: &mut Vec<String>,
) -> Result<BTreeMap<u64, Vec<super::model::GlTimelineEvent>>> {
    let mut out = BTreeMap::new();
    for batch in issues.chunks(TIMELINE_BATCH) {
        let mut query = String::from("query($path: ID!) { project(fullPath: $path) {");
        for (i, issue) in batch.iter().enumerate() {
            // Ids are numbers, so they go into the query text safely.
            query.push_str(&format!(
                " i{i}: incidentManagementTimelineEvents(incidentId: \"gid://gitlab/Issue/{}\") \
                 {{ nodes {{ occurredAt timelineEventTags {{ nodes {{ name }} }} }} }}",
                issue.id
            ));
        }
        query.push_str(" } }");
        let body = serde_json::to_vec(&serde_json::json!({"query": query, "variables": {"path": project}}))
            .map_err(|e| err(format!("GraphQL query: {e}")))?;
        let bytes: Vec<u8> = api::raw(Graphql { body })
            .query_async(api)
            .await
            .map_err(|e| api.wrap("incident timelines", e))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if let Some(first) = value.get("errors").and_then(|e| e.get(0)) {
            let message = first.get("message").and_then(|m| m.as_str()).unwrap_or("error");
            notes.push(format!("{project}: incident timelines not read ({message})"));
            return Ok(BTreeMap::new());
        }
        for (i, issue) in batch.iter().enumerate() {
            let nodes = &value["data"]["project"][format!("i{i}")]["nodes"];
            out.insert(issue.id, normalize::timeline_events(nodes));
        }
    }
    Ok(out)
}

/// The projects of a group that the filters keep.
async fn group_projects(api: &Api<'_>, group: &GroupConfig) -> Result<Vec<String>> {
    use api::groups::projects::{GroupProjects, GroupProjectsOrderBy};
    let endpoint = GroupProjects::builder()
        .group(group.path.as_str())
        .include_subgroups(true)
        .archived(false)
        .order_by(GroupProjectsOrderBy::Id)
        .build()
        .map_err(|e| err(format!("group {}: {e}", group.path)))?;
    let projects: Vec<GlProject> =
        api.all(&format!("the projects of group {}", group.path), endpoint).await?;
    Ok(projects
        .into_iter()
        .filter(|p| !p.archived && group.wants(&p.path_with_namespace))
        .map(|p| p.path_with_namespace)
        .collect())
}

/// The commits from `from` (exclusive) to `to`, oldest first, with the
/// files they changed; `None` when `to` is an older version than `from` (a
/// strict ancestor: nothing new).
async fn compare(api: &Api<'_>, project: &str, from: &str, to: &str) -> Result<Option<GlCompare>> {
    use api::projects::repository::commits::{Commits, CompareCommits};
    let endpoint = CompareCommits::builder()
        .project(project)
        .from(from)
        .to(to)
        .build()
        .map_err(|e| err(format!("{project}: {e}")))?;
    let mut cmp: GlCompare = api.one(&format!("{project}: compare {from}...{to}"), endpoint).await?;
    if cmp.compare_timeout {
        // Too large for one comparison: the same range as a paged commit list.
        let endpoint = Commits::builder()
            .project(project)
            .ref_name(format!("{from}..{to}"))
            .build()
            .map_err(|e| err(format!("{project}: {e}")))?;
        let mut commits: Vec<GlCommit> =
            api.all(&format!("{project}: commits {from}..{to}"), endpoint).await?;
        commits.reverse();
        cmp.commits = commits;
        cmp.diffs.clear();
    }
    Ok((!cmp.commits.is_empty() || cmp.compare_same_ref).then_some(cmp))
}

/// Monorepos: the services each commit touched (see the GitHub source's
/// twin: one service for the whole range costs no request per commit).
async fn commit_services(
    api: &Api<'_>,
    map: &PathServices,
    project: &str,
    default: &str,
    commits: &[GlCommit],
    range: Option<&GlCompare>,
) -> Result<Vec<BTreeSet<String>>> {
    if let Some(cmp) = range.filter(|c| !c.diffs.is_empty()) {
        let paths = cmp.diffs.iter().flat_map(|d| [d.new_path.as_str(), d.old_path.as_str()]);
        let touched = map.services_of(paths.filter(|p| !p.is_empty()), default);
        if touched.len() == 1 {
            return Ok(vec![touched; commits.len()]);
        }
    }
    let mut out = Vec::with_capacity(commits.len());
    for commit in commits {
        let diffs: Vec<super::model::GlDiff> = api
            .all(&format!("{project}: files of {}", commit.id), CommitDiff { project, sha: &commit.id })
            .await?;
        let paths = diffs.iter().flat_map(|d| [d.new_path.as_str(), d.old_path.as_str()]);
        let touched = map.services_of(paths.filter(|p| !p.is_empty()), default);
        out.push(if touched.is_empty() { BTreeSet::from([default.to_string()]) } else { touched });
    }
    Ok(out)
}

/// The commits of merge request `iid` (REST, paged).
async fn rest_merge_request_commits(api: &Api<'_>, project: &str, iid: u64) -> Result<Vec<GlCommit>> {
    use api::projects::merge_requests::MergeRequestCommits;
    let endpoint = MergeRequestCommits::builder()
        .project(project)
        .merge_request(iid)
        .build()
        .map_err(|e| err(format!("{project}: {e}")))?;
    api.all(&format!("{project}: commits of merge request !{iid}"), endpoint).await
}

/// The merged merge requests a deployment shipped, with their commits: the
/// per-deployment path (one request for the deployment's merge requests,
/// one per merge request for its commits).
async fn shipped_merge_requests(
    api: &Api<'_>,
    project: &str,
    deployment: u64,
) -> Result<ShippedMergeRequests> {
    let requests: Vec<GlMergeRequest> = api
        .all(
            &format!("{project}: merge requests of deployment {deployment}"),
            DeploymentMergeRequests { project, deployment },
        )
        .await?;
    let mut with_commits = Vec::new();
    for mr in requests.into_iter().filter(|m| m.merged_at.is_some()) {
        let commits = rest_merge_request_commits(api, project, mr.iid).await?;
        with_commits.push((mr, commits));
    }
    Ok(ShippedMergeRequests::new(with_commits))
}

/// Merge requests per GraphQL query for their commits.
const MERGE_REQUEST_BATCH: usize = 50;

/// A GraphQL query's answer, or the first error's message when the server
/// refused it (an answer with `errors`, or without `data`).
async fn graphql(
    api: &Api<'_>,
    what: &str,
    query: &str,
    variables: serde_json::Value,
) -> Result<std::result::Result<serde_json::Value, String>> {
    let body = serde_json::to_vec(&serde_json::json!({"query": query, "variables": variables}))
        .map_err(|e| err(format!("GraphQL query: {e}")))?;
    api.refused.store(false, Ordering::Relaxed);
    let bytes: Vec<u8> = match api::raw(Graphql { body }).query_async(api).await {
        Ok(bytes) => bytes,
        // Refused outright (403, 404): the caller falls back to REST.
        Err(ApiError::Client { source }) if api.refused.load(Ordering::Relaxed) => {
            return Ok(Err(source.0));
        }
        Err(e) => return Err(api.wrap(what, e)),
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(first) = value.get("errors").and_then(|e| e.get(0)) {
        let message = first.get("message").and_then(|m| m.as_str()).unwrap_or("error");
        return Ok(Err(message.chars().take(160).collect()));
    }
    if value.get("data").is_none_or(serde_json::Value::is_null) {
        return Ok(Err("no data in the answer".into()));
    }
    Ok(Ok(value))
}

/// The batched path: every merged merge request of the project updated
/// since `since` (one list, 100 a page), with its commits read by GraphQL,
/// [`MERGE_REQUEST_BATCH`] merge requests a query (a merge request with
/// more than 100 commits, or one the answer leaves out, has its commits
/// read from the REST API). In the order of their numbers. `Err` with the
/// server's message when it refuses the GraphQL query.
async fn merged_merge_requests(
    api: &Api<'_>,
    project: &str,
    since: DateTime<Utc>,
) -> Result<std::result::Result<Vec<(GlMergeRequest, Vec<GlCommit>)>, String>> {
    use api::common::SortOrder;
    use api::projects::merge_requests::{MergeRequestOrderBy, MergeRequestState, MergeRequests};
    let endpoint = MergeRequests::builder()
        .project(project)
        .state(MergeRequestState::Merged)
        .updated_after(since)
        .order_by(MergeRequestOrderBy::UpdatedAt)
        .sort(SortOrder::Ascending)
        .build()
        .map_err(|e| err(format!("{project}: {e}")))?;
    let listed: Vec<GlMergeRequest> = api.all(&format!("{project}: merged merge requests"), endpoint).await?;
    let mut merged: BTreeMap<u64, GlMergeRequest> =
        listed.into_iter().filter(|m| m.merged_at.is_some()).map(|m| (m.iid, m)).collect();
    let mut commits: BTreeMap<u64, Vec<GlCommit>> = BTreeMap::new();
    let iids: Vec<u64> = merged.keys().copied().collect();
    for batch in iids.chunks(MERGE_REQUEST_BATCH) {
        let query = format!(
            "query($path: ID!, $iids: [String!]) {{ project(fullPath: $path) {{ \
             mergeRequests(iids: $iids, first: {}) {{ nodes {{ iid \
             commits(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ sha authoredDate committedDate }} }} \
             }} }} }} }}",
            batch.len()
        );
        let iids: Vec<String> = batch.iter().map(u64::to_string).collect();
        let answer = match graphql(
            api,
            &format!("{project}: commits of merge requests"),
            &query,
            serde_json::json!({"path": project, "iids": iids}),
        )
        .await?
        {
            Ok(answer) => answer,
            Err(message) => return Ok(Err(message)),
        };
        let Some(nodes) = answer["data"]["project"]["mergeRequests"]["nodes"].as_array() else {
            return Ok(Err("no merge requests in the answer".into()));
        };
        let mut whole = BTreeSet::new();
        for node in nodes {
            if let Some((iid, listed, more)) = normalize::merge_request_commits(node)
                && !more
                && batch.contains(&iid)
            {
                commits.insert(iid, listed);
                whole.insert(iid);
            }
        }
        for &iid in batch.iter().filter(|i| !whole.contains(i)) {
            commits.insert(iid, rest_merge_request_commits(api, project, iid).await?);
        }
    }
    Ok(Ok(iids
        .into_iter()
        .filter_map(|iid| Some((merged.remove(&iid)?, commits.remove(&iid).unwrap_or_default())))
        .collect()))
}

/// A finished deployment on its way to becoming events: what the walk in
/// finish order found (its change set, whether it is a rollback, the
/// services it deployed), before its merge requests are known.
struct Planned {
    attempt: Attempt,
    /// A successful production deployment: it has a change set, and may be
    /// a hotfix.
    shipping: bool,
    /// The commits it shipped, oldest first.
    commits: Vec<GlCommit>,
    /// Their change events (those with a time), without merge requests yet.
    changes: Vec<dora_core::event::Change>,
    kind: DeploymentType,
    remediates: Vec<String>,
    deployed: DeployedServices,
}

/// The merge requests each planned deployment shipped: in bulk when
/// `use_graphql` (and the server answers GraphQL), else per deployment.
async fn shipped_by_each(
    api: &Api<'_>,
    cfg: &GitlabConfig,
    project: &str,
    planned: &[Planned],
    lookback: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Result<Vec<ShippedMergeRequests>> {
    let shipped_commits = planned.iter().flat_map(|p| &p.commits);
    if !planned.iter().any(|p| !p.commits.is_empty()) {
        return Ok(planned.iter().map(|_| ShippedMergeRequests::default()).collect());
    }
    if cfg.use_graphql {
        // A merge request is merged (and so updated) after its commits were
        // made: a day's margin for the clocks of the machines that made them.
        let earliest = shipped_commits.filter_map(GlCommit::committed).min().unwrap_or(lookback);
        let since = earliest - chrono::Duration::days(1);
        match merged_merge_requests(api, project, since).await? {
            Ok(all) => {
                return Ok(planned.iter().map(|p| ShippedMergeRequests::owning(&all, &p.commits)).collect());
            }
            Err(message) => notes.push(format!(
                "{project}: GraphQL refused the merge requests' commits ({message}); \
                 they are read per deployment"
            )),
        }
    }
    let mut out = Vec::with_capacity(planned.len());
    for p in planned {
        out.push(if p.commits.is_empty() {
            ShippedMergeRequests::default()
        } else {
            shipped_merge_requests(api, project, p.attempt.id).await?
        });
    }
    Ok(out)
}

/// Reads one project into `events`, updating its state.
#[allow(clippy::too_many_arguments)]
async fn collect_project(
    api: &Api<'_>,
    part: &dyn Progress,
    cfg: &GitlabConfig,
    project_cfg: &ProjectConfig,
    state: &mut ProjectState,
    events: &mut EventSet,
    notes: &mut Vec<String>,
    started: DateTime<Utc>,
) -> Result<()> {
    use api::common::SortOrder;
    use api::projects::deployments::{DeploymentOrderBy, Deployments};
    use api::projects::repository::commits::Commits;
    let project = project_cfg.path.as_str();
    let ctx = ForgeContext::new("gitlab", project, project_cfg.service.clone(), project_cfg.team.clone());
    let lookback = started - chrono::Duration::days(i64::from(cfg.lookback_days));
    // Lists resume at the latest update seen (GitLab's `updated_after`
    // includes it); what was read at that instant already is skipped.
    let since = |t: Option<DateTime<Utc>>| t.unwrap_or(lookback);

    part.message(&api.status("deployments"));
    let endpoint = Deployments::builder()
        .project(project)
        .order_by(DeploymentOrderBy::UpdatedAt)
        .sort(SortOrder::Ascending)
        .updated_after(since(state.deployments_after))
        .build()
        .map_err(|e| err(format!("{project}: {e}")))?;
    let listed: Vec<GlDeployment> =
        api.all(&format!("{project}: deployments"), PagedDeployments(endpoint)).await?;
    let mut finished: Vec<Attempt> = listed
        .iter()
        // Those updated at the cursor's instant come again: the finished
        // ones are known by id, an unfinished one is looked at again.
        .filter(|d| !state.done.contains(&d.id))
        .filter_map(Attempt::from_deployment)
        .filter(|a| a.finished_at >= lookback)
        .collect();
    // In the order they finished, so each one's predecessor is known.
    finished.sort_by_key(|a| (a.finished_at, a.id));
    if let Some(latest) = listed.iter().filter_map(|d| d.updated_at).max() {
        state.deployments_after = Some(state.deployments_after.map_or(latest, |t| t.max(latest)));
    }

    // Environment tiers, only when there is something to classify.
    let mut tiers = BTreeMap::new();
    if cfg.production_tier && !finished.is_empty() {
        use api::projects::environments::Environments;
        let endpoint =
            Environments::builder().project(project).build().map_err(|e| err(format!("{project}: {e}")))?;
        let environments: Vec<GlEnvironment> = api.all(&format!("{project}: environments"), endpoint).await?;
        tiers = environments.into_iter().filter_map(|e| Some((e.name, e.tier?))).collect();
    }
    let monorepo = cfg.monorepo.get(project).filter(|m| !m.is_empty());
    // The engine knows production by name only: say which tier-production
    // environments its patterns miss.
    let mut unmatched: BTreeSet<&str> = BTreeSet::new();
    for a in &finished {
        let tier = tiers.get(&a.environment).is_some_and(|t| t.eq_ignore_ascii_case("production"));
        if tier && !cfg.production.is_production(&a.environment) {
            unmatched.insert(&a.environment);
        }
    }
    for env in unmatched {
        notes.push(format!(
            "{project}: environment {env:?} is GitLab's production tier but matches no production pattern: \
             its deployments get change sets, and the metrics count them once [metrics] production_patterns \
             lists it"
        ));
    }

    // First the change sets, walking the deployments in the order they
    // finished; then the merge requests of all of them at once.
    let mut planned = Vec::with_capacity(finished.len());
    for attempt in finished {
        let production = cfg.production.is_production(&attempt.environment)
            || tiers.get(&attempt.environment).is_some_and(|t| t.eq_ignore_ascii_case("production"));
        let mut p = Planned {
            shipping: attempt.status == DeploymentStatus::Success && production,
            commits: Vec::new(),
            changes: Vec::new(),
            kind: DeploymentType::Regular,
            remediates: Vec::new(),
            deployed: DeployedServices::default(),
            attempt,
        };
        let attempt = &p.attempt;
        if p.shipping {
            let mut range = None;
            let commits = match state.last_success.get(&attempt.environment).cloned() {
                // A redeploy of the same commit ships nothing.
                Some((_, prev_sha)) if prev_sha == attempt.sha => Vec::new(),
                Some((prev_id, prev_sha)) => match compare(api, project, &prev_sha, &attempt.sha).await? {
                    // An older version deployed again (GitLab's rollback
                    // button re-runs an old deployment's job).
                    None => {
                        p.kind = DeploymentType::Rollback;
                        p.remediates.push(prev_id);
                        Vec::new()
                    }
                    Some(cmp) => {
                        let commits = cmp.commits.clone();
                        range = Some(cmp);
                        commits
                    }
                },
                None => {
                    // The first deployment seen: its changes within the look-back.
                    let endpoint = Commits::builder()
                        .project(project)
                        .ref_name(attempt.sha.as_str())
                        .since(lookback)
                        .build()
                        .map_err(|e| err(format!("{project}: {e}")))?;
                    let mut commits: Vec<GlCommit> =
                        api.all(&format!("{project}: commits of {}", attempt.sha), endpoint).await?;
                    commits.reverse();
                    commits
                }
            };
            let per_commit = match monorepo {
                Some(map) => {
                    commit_services(api, map, project, &ctx.service, &commits, range.as_ref()).await?
                }
                None => Vec::new(),
            };
            for (i, commit) in commits.iter().enumerate() {
                match normalize::change(&ctx, commit, None) {
                    Some(mut change) => {
                        p.deployed.add_change(&mut change, per_commit.get(i), &ctx.service);
                        p.changes.push(change);
                    }
                    None => notes.push(format!("{project}: commit {} has no time; left out", commit.id)),
                }
            }
            if monorepo.is_some() {
                p.deployed.remember(&mut state.last_services, &attempt.environment, &ctx.service);
            }
            state
                .last_success
                .insert(attempt.environment.clone(), (ctx.id("deployment", attempt.id), attempt.sha.clone()));
            p.commits = commits;
        } else if let Some(map) = monorepo.filter(|_| production) {
            // A failed attempt fails the services it would have deployed.
            let last = monorepo::latest_services(&state.last_services, &attempt.environment, &ctx.service);
            p.deployed.services = match state.last_success.get(&attempt.environment) {
                Some((_, prev)) if *prev != attempt.sha => match compare(api, project, prev, &attempt.sha)
                    .await?
                {
                    Some(cmp) if !cmp.commits.is_empty() => {
                        let per = commit_services(api, map, project, &ctx.service, &cmp.commits, Some(&cmp))
                            .await?;
                        per.into_iter().flatten().collect()
                    }
                    _ => last,
                },
                _ => last,
            };
        }
        state.done.push(attempt.id);
        planned.push(p);
    }

    if !planned.is_empty() {
        part.message(&api.status("merge requests"));
    }
    let shipped = shipped_by_each(api, cfg, project, &planned, lookback, notes).await?;
    for (p, shipped) in planned.into_iter().zip(shipped) {
        let Planned { attempt, shipping, changes, mut kind, remediates, deployed, .. } = p;
        let mut ids = Vec::with_capacity(changes.len());
        for mut change in changes {
            if let Some((mr, first)) = shipped.of(&change.id) {
                change.pull_request = Some(normalize::pull_request(mr, first));
            }
            ids.push(change.id.clone());
            events.push(change);
        }
        let labels = shipped.labels();
        if shipping
            && kind == DeploymentType::Regular
            && cfg.hotfix.matches(&attempt.git_ref, None, &shipped.shipped(&labels))
        {
            kind = DeploymentType::Hotfix;
        }
        let deployment = normalize::deployment(&ctx, &attempt, ids, kind, remediates);
        for part in deployed.parts(deployment) {
            events.push(part);
        }
    }
    state.done.sort_unstable();
    state.done.dedup();

    // Incidents: issues of type incident (and labelled ones), updated since
    // the last run.
    part.message(&api.status("incidents"));
    let mut issues: BTreeMap<u64, GlIssue> = BTreeMap::new();
    let issues_since = since(state.issues_after);
    let mut queries: Vec<Option<&str>> = vec![None];
    queries.extend(cfg.incident_labels.iter().map(|l| Some(l.as_str())));
    for label in queries {
        use api::issues::{IssueOrderBy, IssueType, ProjectIssues};
        let mut builder = ProjectIssues::builder();
        builder
            .project(project)
            .updated_after(issues_since)
            .order_by(IssueOrderBy::UpdatedAt)
            .sort(SortOrder::Ascending);
        match label {
            None => builder.issue_type(IssueType::Incident),
            Some(l) => builder.label(l),
        };
        let endpoint = builder.build().map_err(|e| err(format!("{project}: {e}")))?;
        let found: Vec<GlIssue> = api.all(&format!("{project}: incidents"), endpoint).await?;
        let seen = state.issues_after;
        for issue in found.into_iter().filter(|i| seen.is_none_or(|s| i.updated_at.is_none_or(|u| u > s))) {
            issues.insert(issue.id, issue);
        }
    }
    if let Some(latest) = issues.values().filter_map(|i| i.updated_at).max() {
        state.issues_after = Some(state.issues_after.map_or(latest, |t| t.max(latest)));
    }
    let incidents: Vec<&GlIssue> =
        issues.values().filter(|i| normalize::is_incident(i, &cfg.incident_labels)).collect();
    let timeline = if cfg.timeline_events && !incidents.is_empty() {
        timelines(api, project, &incidents, notes).await?
    } else {
        BTreeMap::new()
    };
    for issue in incidents {
        let events_of = timeline.get(&issue.id).map_or(&[][..], Vec::as_slice);
        if let Some(incident) =
            normalize::incident(&ctx, issue, &cfg.incident_labels, &cfg.root_cause, events_of)
        {
            events.push(incident);
        }
    }
    Ok(())
}

/// `host[:port][/prefix]` of the server, and whether it is plain http.
fn server(api_url: &str) -> Result<(String, bool)> {
    let (rest, http) = if let Some(r) = api_url.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = api_url.strip_prefix("http://") {
        (r, true)
    } else {
        return Err(err(format!("api_url {}: give the server's https:// URL", redact_url(api_url))));
    };
    let host = rest.trim_end_matches('/');
    let host = host.strip_suffix("/api/v4").unwrap_or(host).to_string();
    if host.is_empty() || host.contains(['@', '?', '#', ' ']) {
        return Err(err(format!("api_url {}: not a server URL", redact_url(api_url))));
    }
    Ok((host, http))
}

impl Source for GitlabSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "gitlab"
    }

    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected> {
        let cfg = &self.config;
        let token = token_header(self.token.as_ref(), cfg)?;
        let mut state: State =
            state.and_then(|s| serde_json::from_value(s.0.clone()).ok()).unwrap_or_default();
        let runtime = crate::http::http_runtime()?;
        let started = Utc::now();
        let mut notes = Vec::new();
        let budget = Budget::new(cfg.max_requests);
        let gate = RateGate::new();
        let events = runtime.block_on(async {
            let api = Api::connect(cfg, token, progress, &budget, &gate).await?;
            let mut events = EventSet::new();
            let mut projects = cfg.projects.clone();
            if let Some(group) = &cfg.group {
                for path in group_projects(&api, group).await? {
                    if !projects.iter().any(|p| p.path == path) {
                        projects.push(ProjectConfig {
                            service: group.lookup(&group.services, &path),
                            team: group.lookup(&group.teams, &path),
                            path,
                        });
                    }
                }
            }
            progress.set_total(projects.len() as u64);
            // `concurrency` projects at once; each gathers its own events,
            // notes and state, put together in the projects' order after.
            let api = &api;
            let reads: Vec<_> = projects
                .iter()
                .map(|project| {
                    let mut project_state = state.projects.get(&project.path).cloned().unwrap_or_default();
                    async move {
                        let part = progress.part(&project.path);
                        let own = api.for_project(part.as_ref());
                        let (mut events, mut notes) = (EventSet::new(), Vec::new());
                        collect_project(
                            &own,
                            part.as_ref(),
                            cfg,
                            project,
                            &mut project_state,
                            &mut events,
                            &mut notes,
                            started,
                        )
                        .await?;
                        part.message(&own.status("done"));
                        progress.advance(1);
                        progress.message(&api.status(&format!("{} read", project.path)));
                        Ok::<_, Error>((project_state, events, notes))
                    }
                })
                .collect();
            // At most `concurrency` at once, outputs in the projects' order;
            // the first error drops the others (no request of theirs is sent
            // after it).
            let read: Vec<_> =
                futures::stream::iter(reads).buffered(cfg.concurrency.max(1)).try_collect().await?;
            for (project, (project_state, project_events, project_notes)) in projects.iter().zip(read) {
                state.projects.insert(project.path.clone(), project_state);
                events.extend(project_events.iter());
                notes.extend(project_notes);
            }
            Ok::<_, Error>(events)
        })?;
        let state = serde_json::to_value(&state).map(SyncState).unwrap_or_default();
        Ok(Collected { events, state, requests: budget.spent(), notes, costs: None })
    }
}

/// A project's history read through GitLab's API: the change sets of a
/// source that knows only which commit it deployed (Kubernetes rollouts).
///
/// `between(Some(from), to)` is the comparison `from...to` (a paged commit
/// list when the comparison times out); `between(None, to)` lists `to`'s
/// history. Answers are kept, so asking twice costs one request. The token
/// is resolved when the history is made.
pub struct GitlabHistory {
    project: String,
    config: GitlabConfig,
    token: HeaderValue,
    known: HistoryCache,
    /// One budget (`max_requests`) for all of this history's queries.
    budget: Budget,
    /// The server's rate limit, shared by this history's queries.
    gate: RateGate,
}

impl std::fmt::Debug for GitlabHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabHistory")
            .field("project", &self.project)
            .field("api_url", &self.config.api_url)
            .finish()
    }
}

impl GitlabHistory {
    /// The history of `project` (`group/name`) through the server of
    /// `config`, with the token given, else the one in `config.token_env`.
    pub fn new(project: &str, config: GitlabConfig, token: Option<String>) -> Result<Self> {
        let given = token.map(Secret::new);
        let token = token_header(given.as_ref(), &config)?;
        Ok(Self {
            project: project.to_string(),
            token,
            known: Default::default(),
            budget: Budget::new(config.max_requests),
            gate: RateGate::new(),
            config,
        })
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.budget.spent()
    }

    async fn fetch(&self, from: Option<&str>, to: &str, limit: usize) -> Result<HistoryRange> {
        use api::projects::repository::commits::Commits;
        crate::http::install_tls_provider();
        let api = Api::connect(
            &self.config,
            self.token.clone(),
            &dora_core::source::NoProgress,
            &self.budget,
            &self.gate,
        )
        .await?;
        let project = self.project.as_str();
        let result = match from {
            Some(from) => compare(&api, project, from, to).await.map(|cmp| {
                let mut commits = cmp.map(|c| c.commits).unwrap_or_default();
                commits.reverse();
                commits
            }),
            None => match Commits::builder().project(project).ref_name(to).build() {
                Ok(endpoint) => {
                    api.first::<_, GlCommit>(&format!("{project}: commits of {to}"), endpoint, limit).await
                }
                Err(e) => Err(err(format!("{project}: {e}"))),
            },
        };
        let commits = match result {
            Ok(commits) => commits,
            Err(e) if api.missing.load(Ordering::Relaxed) => return Ok(HistoryRange::Unknown(e.to_string())),
            Err(e) => return Err(e),
        };
        Ok(HistoryRange::Commits(
            commits
                .into_iter()
                .filter_map(|c| {
                    let committed_at = c.committed_date.or(c.created_at).or(c.authored_date)?;
                    Some(HistoryCommit { sha: c.id, committed_at, authored_at: c.authored_date })
                })
                .take(limit)
                .collect(),
        ))
    }
}

impl CommitHistory for GitlabHistory {
    fn between<'a>(&'a self, from: Option<&'a str>, to: &'a str, limit: usize) -> HistoryFuture<'a> {
        Box::pin(self.known.get_or_fetch(from, to, limit, move || self.fetch(from, to, limit)))
    }

    fn requests(&self) -> u64 {
        GitlabHistory::requests(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(server("https://gitlab.com").unwrap(), ("gitlab.com".into(), false));
        assert_eq!(
            server("https://example.com/gitlab/api/v4/").unwrap(),
            ("example.com/gitlab".into(), false)
        );
        assert_eq!(server("http://127.0.0.1:8080").unwrap(), ("127.0.0.1:8080".into(), true));
        assert!(server("gitlab.com").is_err());
        assert!(server("https://user:pw@gitlab.com").is_err());
        assert_eq!(escaped("acme/platform/api"), "acme%2Fplatform%2Fapi");
    }

    #[test]
    fn group_filters_and_lookups() {
        let group = GroupConfig {
            path: "acme".into(),
            include: vec![glob::Pattern::new("backend/*").unwrap()],
            exclude: vec![
                glob::Pattern::new("*-legacy").unwrap(),
                glob::Pattern::new("backend/*-legacy").unwrap(),
            ],
            services: BTreeMap::from([("backend/api".into(), "api-svc".into())]),
            teams: BTreeMap::from([("acme/backend/api".into(), "core".into())]),
        };
        assert!(group.wants("acme/backend/api"));
        assert!(!group.wants("acme/frontend/web"));
        assert!(!group.wants("acme/backend/api-legacy"));
        assert_eq!(group.lookup(&group.services, "acme/backend/api").as_deref(), Some("api-svc"));
        assert_eq!(group.lookup(&group.teams, "acme/backend/api").as_deref(), Some("core"));
    }
}
