//! `dora serve`: dora as an HTTP service. Events are pushed in with
//! `POST /events` and stored through one writer thread (a `2xx` only after
//! the commit); Prometheus scrapes `GET /metrics`; `GET /healthz` and
//! `GET /readyz` answer the probes. `docs/serve.md` describes the endpoints.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = dora_serve::ServeConfig::new("127.0.0.1:8080".parse()?, ".dora/dora.db".into());
//! let server = dora_serve::Server::bind(config).await?;
//! // Serves until the future given completes (here: never).
//! server.run(std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod api;
mod cdevents;
pub mod collect;
mod handlers;
mod metrics;
pub mod stats;
pub mod webhooks;
mod writer;

pub use api::{Params, Queries, QueryError};
pub use collect::{Collector, Forge, RunSummary, Scope, SourceInfo};

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// The default of `max_body`: 10 MiB.
pub const DEFAULT_MAX_BODY: usize = 10 << 20;
/// The default of `metrics_window`: 30 days, in seconds.
pub const DEFAULT_METRICS_WINDOW_SECONDS: i64 = 30 * 86_400;
/// The default of `listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default of `header_read_timeout`: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of `body_read_timeout`: 30 seconds.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub use stats::Stats;

/// What the server needs, resolved and checked by its caller.
#[derive(Clone)]
pub struct ServeConfig {
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The store's file (created when missing).
    pub store: PathBuf,
    /// The largest request body accepted, in bytes; larger ones get `413`.
    pub max_body: usize,
    /// The length of the window `GET /metrics` covers, ending now, in seconds.
    pub metrics_window_seconds: i64,
    /// The token `POST /events` requires as `Authorization: Bearer`; `None`:
    /// no token is asked for (only allowed on a loopback address).
    pub ingest_token: Option<String>,
    /// Service -> team overrides (`[teams]` of `dora.toml`) for `GET /metrics`.
    pub teams: BTreeMap<String, String>,
    /// How long a connection may take to send a request's headers (from
    /// its start, or from the end of the previous answer on a kept-alive
    /// connection) before it is closed without an answer.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive, from the start of the
    /// request, before it is answered `408` and the connection closed.
    pub body_read_timeout: Duration,
    /// What `GET /api/v1/metrics`, `GET /api/v1/explain` and `GET /` answer;
    /// `None`: those three answer `501` with a JSON error.
    pub queries: Option<Arc<dyn Queries>>,
    /// The secret `POST /webhooks/github` deliveries are signed with
    /// (`X-Hub-Signature-256`); `None`: that endpoint answers `404`.
    pub github_webhook_secret: Option<String>,
    /// The token `POST /webhooks/gitlab` deliveries carry (`X-Gitlab-Token`);
    /// `None`: that endpoint answers `404`.
    pub gitlab_webhook_token: Option<String>,
    /// The sources webhooks and the schedule run; `None`: none (deliveries
    /// are answered as covered by no source).
    pub collector: Option<Arc<dyn Collector>>,
    /// Run every source's incremental collection this often (the first
    /// run at start); `None`: only when a webhook asks.
    pub collect_every: Option<Duration>,
    /// Triggers of one source within this long of the first are one run
    /// [default: [`collect::DEFAULT_DEBOUNCE`]].
    pub collect_debounce: Duration,
}

impl std::fmt::Debug for ServeConfig {
    // The token is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("store", &self.store)
            .field("max_body", &self.max_body)
            .field("metrics_window_seconds", &self.metrics_window_seconds)
            .field("ingest_token", &self.ingest_token.as_ref().map(|_| "<redacted>"))
            .field("teams", &self.teams)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("queries", &self.queries.as_ref().map(|_| "<set>"))
            .field("github_webhook_secret", &self.github_webhook_secret.as_ref().map(|_| "<redacted>"))
            .field("gitlab_webhook_token", &self.gitlab_webhook_token.as_ref().map(|_| "<redacted>"))
            .field("collector", &self.collector.as_ref().map(|c| c.sources()))
            .field("collect_every", &self.collect_every)
            .field("collect_debounce", &self.collect_debounce)
            .finish()
    }
}

impl ServeConfig {
    /// A configuration with the defaults: no token, 10 MiB bodies, a 30-day
    /// metrics window, no team overrides, 10 s to send the headers and 30 s
    /// to send the body, no queries, no webhooks, no collections.
    pub fn new(listen: SocketAddr, store: PathBuf) -> Self {
        Self {
            listen,
            store,
            max_body: DEFAULT_MAX_BODY,
            metrics_window_seconds: DEFAULT_METRICS_WINDOW_SECONDS,
            ingest_token: None,
            teams: BTreeMap::new(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            queries: None,
            github_webhook_secret: None,
            gitlab_webhook_token: None,
            collector: None,
            collect_every: None,
            collect_debounce: collect::DEFAULT_DEBOUNCE,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A non-loopback address without an ingest token.
    #[error(
        "refusing to listen on {0} without an ingest token: set `ingest_token_env` in [serve] (the name of an environment variable holding the token), or listen on a loopback address such as 127.0.0.1"
    )]
    NoTokenOffLoopback(SocketAddr),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] dora_core::Error),
    /// Listening or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// State shared by the handlers.
pub(crate) struct AppState {
    pub(crate) config: ServeConfig,
    pub(crate) writer: writer::WriterHandle,
    pub(crate) metrics: Arc<metrics::MetricsCache>,
    /// The service's own counters, written after the DORA metrics.
    pub(crate) stats: Arc<Stats>,
    /// The collections webhooks and the schedule trigger, with each
    /// source's [`collect::RunRecord`] (`None` without a collector).
    pub(crate) collections: Option<Arc<collect::Collections>>,
    /// The webhook delivery ids seen lately.
    pub(crate) deliveries: webhooks::Deliveries,
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
    state: Arc<AppState>,
    writer_thread: std::thread::JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("listener", &self.listener).finish_non_exhaustive()
    }
}

impl Server {
    /// Checks the configuration, opens (or creates) the store, starts its
    /// writer thread and binds the address. Refuses a non-loopback address
    /// when no ingest token is configured.
    pub async fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        if config.ingest_token.is_none() && !config.listen.ip().is_loopback() {
            return Err(ServeError::NoTokenOffLoopback(config.listen));
        }
        let store = dora_core::store::Store::open(&config.store)?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let (writer, writer_thread) = writer::start(store)?;
        let stats = Arc::new(Stats::new());
        let collections = config.collector.clone().map(|collector| {
            Arc::new(collect::Collections::new(
                collector,
                config.collect_debounce,
                config.collect_every,
                Arc::clone(&writer.generation),
                Arc::clone(&stats),
            ))
        });
        let state = Arc::new(AppState {
            config,
            writer,
            metrics: Arc::default(),
            stats,
            collections,
            deliveries: webhooks::Deliveries::default(),
        });
        let app = router(Arc::clone(&state));
        Ok(Server { listener, app, state, writer_thread })
    }

    /// The address the server listens on (the port chosen when it was 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The service's counters: the collection scheduler reports its runs
    /// here ([`Stats::collection_run`]); `GET /metrics` writes them.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.state.stats)
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes
    /// the requests in flight and the store writes they wait for, lets the
    /// collections in flight finish (for up to [`collect::SHUTDOWN_GRACE`];
    /// runs triggered but not started are dropped), and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let Server { listener, app, state, writer_thread } = self;
        tracing::info!(listen = %listener.local_addr()?, store = %state.config.store.display(), "serving");
        let writer = state.writer.clone();
        let header_read_timeout = state.config.header_read_timeout;
        let collections = state.collections.clone();
        drop(state);
        if let Some(c) = &collections {
            c.start();
        }
        serve_connections(listener, app, header_read_timeout, shutdown).await;
        if let Some(c) = collections {
            c.shutdown(collect::SHUTDOWN_GRACE).await;
        }
        // No request is in flight any more: the writer finishes what it was
        // sent before and ends.
        writer.stop();
        tokio::task::spawn_blocking(move || writer_thread.join())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|_| std::io::Error::other("the store's writer thread panicked"))?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Accepts HTTP/1 connections until `shutdown` completes, then stops
/// accepting and waits for the connections to finish their requests in
/// flight (idle kept-alive connections are closed at once). A connection
/// that takes longer than `header_read_timeout` to send a request's headers
/// is closed (hyper's timer; the body's deadline is the middleware's).
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn router(state: Arc<AppState>) -> Router {
    let max_body = state.config.max_body;
    let around = axum::middleware::from_fn_with_state(Arc::clone(&state), handlers::log_request);
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/events", post(handlers::post_events))
        .route("/cdevents", post(cdevents::post_cdevents))
        .route("/metrics", get(handlers::get_metrics))
        .route("/", get(api::report))
        .route("/api/v1/metrics", get(api::metrics))
        .route("/api/v1/explain", get(api::explain))
        .route("/webhooks/github", post(webhooks::github))
        .route("/webhooks/gitlab", post(webhooks::gitlab))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(around)
        .with_state(state)
}

/// Logs to standard error, one line per event (`info` and above), without
/// colours: what `dora serve` sets up before serving. Does nothing when a
/// subscriber is already set.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
}
