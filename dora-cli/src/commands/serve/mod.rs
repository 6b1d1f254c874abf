//! `dora serve`: dora as an HTTP service (the `dora-serve` crate), until
//! SIGINT or SIGTERM. The settings are checked whatever features dora is
//! built with; serving needs the `serve` feature. Webhooks and the
//! `collect_every` schedule run the configured sources through
//! [`collector`], with the code of `dora collect`.

#[cfg(feature = "serve")]
mod collector;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

#[cfg(feature = "serve")]
mod queries;

use crate::args::ServeArgs;
use crate::config::{ByteSize, LoadedConfig};
use crate::settings::usage;

/// The default of `listen`.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default of `max_body`: 10 MiB.
const DEFAULT_MAX_BODY: u64 = 10 << 20;
/// The default of `metrics_window`.
const DEFAULT_METRICS_WINDOW: &str = "30d";

/// What `dora serve` runs with, checked.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
#[derive(Debug)]
struct ServeSettings {
    listen: SocketAddr,
    store: PathBuf,
    max_body: u64,
    metrics_window_seconds: i64,
    /// The token itself (read from the environment; never printed).
    ingest_token: Option<String>,
    teams: std::collections::BTreeMap<String, String>,
    /// The `--config` given (the query API reads the same file).
    config: Option<PathBuf>,
    /// The GitHub webhook secret (from the environment; never printed).
    github_webhook_secret: Option<String>,
    /// The GitLab webhook token (from the environment; never printed).
    gitlab_webhook_token: Option<String>,
    /// How often every source is collected; `None`: only on webhooks.
    collect_every: Option<Duration>,
    /// The file, for the sources the collections run.
    loaded: LoadedConfig,
}

/// The secret in the environment variable named by `key` (a flag's value,
/// else `[serve]`'s): `None` when no variable is named; an error when the
/// name is not a variable's or the variable is unset or empty. The value is
/// never part of a message.
fn secret_from_env(key: &str, name: Option<String>, holds: &str) -> Result<Option<String>> {
    let Some(name) = name else { return Ok(None) };
    dora_core::source::secret::check_env_name(&name).map_err(|e| usage(format!("serve.{key}: {e}")))?;
    match std::env::var(&name) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(value.trim().to_string())),
        _ => Err(usage(format!(
            "serve.{key}: the environment variable {name} (which should hold {holds}) is not set or empty"
        ))),
    }
}

/// A size: bytes, or a number with a unit (`B`, `KB`, `KiB`, `MB`, `MiB`,
/// `GB`, `GiB`; case-insensitive).
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size (like 10MiB or 1048576)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit (B, KB, KiB, MB, MiB, GB, GiB)")),
    };
    let bytes = n.checked_mul(factor).ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes == 0 {
        return Err(format!("{text:?}: must be more than 0"));
    }
    Ok(bytes)
}

impl ServeSettings {
    /// Flags (and their `DORA_*` variables) over `[serve]` over the defaults.
    fn resolve(args: &ServeArgs) -> Result<Self> {
        let loaded = LoadedConfig::load(args.store.config.as_deref())?;
        let file = &loaded.config.serve;
        let listen_text = args.listen.clone().or_else(|| file.listen.clone());
        let listen_text = listen_text.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            usage(format!("--listen: {listen_text:?} is not an address and port (like 127.0.0.1:8080)"))
        })?;
        let max_body = match (&args.max_body, &file.max_body) {
            (Some(flag), _) => parse_size(flag).map_err(|e| usage(format!("--max-body: {e}")))?,
            (None, Some(ByteSize::Text(t))) => {
                parse_size(t).map_err(|e| usage(format!("serve.max_body: {e}")))?
            }
            (None, Some(ByteSize::Bytes(0))) => return Err(usage("serve.max_body: must be more than 0")),
            (None, Some(ByteSize::Bytes(n))) => *n,
            (None, None) => DEFAULT_MAX_BODY,
        };
        let window = args.metrics_window.clone().or_else(|| file.metrics_window.clone());
        let window = window.as_deref().unwrap_or(DEFAULT_METRICS_WINDOW);
        let metrics_window_seconds =
            dora_core::parse_duration(window).map_err(|e| usage(format!("--metrics-window: {e}")))?;
        if metrics_window_seconds <= 0 {
            return Err(usage(format!("--metrics-window: {window:?} must be longer than 0")));
        }
        let token_env = args.ingest_token_env.clone().or_else(|| file.ingest_token_env.clone());
        let ingest_token = secret_from_env("ingest_token_env", token_env, "the ingest token")?;
        let github_webhook_secret = secret_from_env(
            "github_webhook_secret_env",
            args.github_webhook_secret_env.clone().or_else(|| file.github_webhook_secret_env.clone()),
            "the GitHub webhook secret",
        )?;
        let gitlab_webhook_token = secret_from_env(
            "gitlab_webhook_token_env",
            args.gitlab_webhook_token_env.clone().or_else(|| file.gitlab_webhook_token_env.clone()),
            "the GitLab webhook token",
        )?;
        let collect_every = match args.collect_every.clone().or_else(|| file.collect_every.clone()) {
            None => None,
            Some(text) => {
                let seconds =
                    dora_core::parse_duration(&text).map_err(|e| usage(format!("--collect-every: {e}")))?;
                if seconds <= 0 {
                    return Err(usage(format!("--collect-every: {text:?} must be longer than 0")));
                }
                Some(Duration::from_secs(seconds.unsigned_abs()))
            }
        };
        // The production patterns the collections build their sources with.
        crate::settings::sources::Build::new(&loaded, None)?;
        if ingest_token.is_none() && !listen.ip().is_loopback() {
            return Err(usage(format!(
                "refusing to listen on {listen} without an ingest token: set ingest_token_env in [serve] (or --ingest-token-env) to the name of an environment variable holding the token, or listen on a loopback address such as 127.0.0.1"
            )));
        }
        Ok(Self {
            listen,
            store: loaded.store_path(args.store.store.as_deref()),
            max_body,
            metrics_window_seconds,
            ingest_token,
            teams: loaded.config.teams.clone(),
            config: args.store.config.clone(),
            github_webhook_secret,
            gitlab_webhook_token,
            collect_every,
            loaded,
        })
    }
}

/// Runs `dora serve`.
pub fn run(args: &ServeArgs) -> Result<()> {
    let settings = ServeSettings::resolve(args)?;
    serve(settings)
}

#[cfg(feature = "serve")]
fn serve(settings: ServeSettings) -> Result<()> {
    let mut config = dora_serve::ServeConfig::new(settings.listen, settings.store);
    config.max_body = usize::try_from(settings.max_body).unwrap_or(usize::MAX);
    config.metrics_window_seconds = settings.metrics_window_seconds;
    config.ingest_token = settings.ingest_token;
    config.teams = settings.teams;
    config.queries = Some(std::sync::Arc::new(queries::StoreQueries {
        store: config.store.clone(),
        config: settings.config,
    }));
    config.github_webhook_secret = settings.github_webhook_secret;
    config.gitlab_webhook_token = settings.gitlab_webhook_token;
    config.collect_every = settings.collect_every;
    let collector = collector::SourcesCollector::new(settings.loaded, config.store.clone());
    for skipped in collector.skipped() {
        eprintln!("serve: {skipped}");
    }
    config.collector = Some(std::sync::Arc::new(collector));
    dora_serve::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(async {
        let server = dora_serve::Server::bind(config).await.map_err(serve_error)?;
        eprintln!("serve: listening on http://{} (SIGINT or SIGTERM stops)", server.local_addr()?);
        server.run(super::stop_signal()).await.map_err(serve_error)
    });
    // A collection still running after the server's grace (a forge's rate
    // limit) stored nothing; it is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served?;
    eprintln!("serve: stopped");
    Ok(())
}

#[cfg(feature = "serve")]
fn serve_error(e: dora_serve::ServeError) -> anyhow::Error {
    match e {
        dora_serve::ServeError::Store(e) => anyhow::Error::new(e),
        dora_serve::ServeError::Io(e) => anyhow::Error::new(e),
        e @ dora_serve::ServeError::NoTokenOffLoopback(_) => usage(e.to_string()),
    }
}

#[cfg(not(feature = "serve"))]
fn serve(_: ServeSettings) -> Result<()> {
    Err(usage(
        "dora serve needs dora built with the serve feature: cargo build --release -p dora-cli --features serve",
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1mb"), Ok(1_000_000));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }
}
