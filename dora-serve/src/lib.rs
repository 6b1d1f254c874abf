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

mod handlers;
mod metrics;
mod writer;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// The default of `max_body`: 10 MiB.
pub const DEFAULT_MAX_BODY: usize = 10 << 20;
/// The default of `metrics_window`: 30 days, in seconds.
pub const DEFAULT_METRICS_WINDOW_SECONDS: i64 = 30 * 86_400;
/// The default of `listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

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
            .finish()
    }
}

impl ServeConfig {
    /// A configuration with the defaults: no token, 10 MiB bodies, a 30-day
    /// metrics window, no team overrides.
    pub fn new(listen: SocketAddr, store: PathBuf) -> Self {
        Self {
            listen,
            store,
            max_body: DEFAULT_MAX_BODY,
            metrics_window_seconds: DEFAULT_METRICS_WINDOW_SECONDS,
            ingest_token: None,
            teams: BTreeMap::new(),
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
    pub(crate) metrics: metrics::MetricsCache,
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
        let state = Arc::new(AppState { config, writer, metrics: metrics::MetricsCache::default() });
        let app = router(Arc::clone(&state));
        Ok(Server { listener, app, state, writer_thread })
    }

    /// The address the server listens on (the port chosen when it was 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes
    /// the requests in flight and the store writes they wait for, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let Server { listener, app, state, writer_thread } = self;
        tracing::info!(listen = %listener.local_addr()?, store = %state.config.store.display(), "serving");
        let writer = state.writer.clone();
        drop(state);
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
        // No request is in flight any more: the writer finishes what it was
        // sent before and ends.
        writer.stop();
        tokio::task::spawn_blocking(move || writer_thread.join())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|_| std::io::Error::other("the store's writer thread panicked"))?;
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

fn router(state: Arc<AppState>) -> Router {
    let max_body = state.config.max_body;
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/events", post(handlers::post_events))
        .route("/metrics", get(handlers::get_metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(handlers::log_request))
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
