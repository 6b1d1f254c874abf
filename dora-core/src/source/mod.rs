//! Sources: where events come from. A source takes its configuration and
//! the sync state it left last time, and returns normalized events and a new
//! sync state; the caller writes both into the [`Store`](crate::store::Store)
//! in one transaction, so a failed run changes nothing.
//!
//! The `file` source ([`FileSource`]) reads JSON Lines and CSV files. The
//! GitHub, GitLab and Kubernetes adapters implement the same trait, each
//! behind its cargo feature.
//!
//! ```
//! use dora_core::source::{FileSource, NoProgress, Source};
//!
//! let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/events.jsonl");
//! let mut source = FileSource::new("demo", vec![demo.into()], ".".as_ref());
//! let first = source.collect(None, &NoProgress)?;
//! assert!(first.events.len() > 3000);
//! // Nothing changed since: the next run reads nothing.
//! let again = source.collect(Some(&first.state), &NoProgress)?;
//! assert_eq!(again.events.len(), 0);
//! # Ok::<(), dora_core::Error>(())
//! ```

pub mod changesets;
mod file;
#[cfg(feature = "github")]
pub mod github;
#[cfg(feature = "gitlab")]
pub mod gitlab;
pub mod hotfix;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
pub mod monorepo;
pub mod secret;

pub use file::FileSource;
pub use monorepo::PathServices;

use crate::error::Result;
use crate::event::EventSet;
use crate::store::SyncState;

/// Makes ring the process's TLS provider. The GitLab client's reqwest
/// brings aws-lc-rs and octocrab brings ring: with both compiled in, rustls
/// refuses to pick one by itself. Called before any client is built.
#[cfg(any(feature = "gitlab", feature = "kubernetes"))]
pub(crate) fn install_tls_provider() {
    // An error only says a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The single-threaded runtime a network source's requests run on, with
/// the TLS provider chosen.
#[cfg(any(feature = "github", feature = "gitlab", feature = "kubernetes"))]
pub(crate) fn http_runtime() -> crate::Result<tokio::runtime::Runtime> {
    install_tls_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Source { message: format!("cannot start the HTTP runtime: {e}") })
}

/// Nothing to choose between with one TLS provider compiled in.
#[cfg(not(any(feature = "gitlab", feature = "kubernetes")))]
#[allow(dead_code)]
pub(crate) fn install_tls_provider() {}

/// A token, never shown (its `Debug` prints `***`).
#[derive(Clone)]
#[cfg(any(feature = "github", feature = "gitlab"))]
pub(crate) struct Secret(String);

#[cfg(any(feature = "github", feature = "gitlab"))]
impl Secret {
    /// Holds `token`.
    pub(crate) fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, to hand to an HTTP client.
    #[cfg(feature = "github")]
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The token given in code, else the one in the environment variable
    /// `env` (`what` names it in the error when neither is there).
    pub(crate) fn resolve(given: Option<&Secret>, env: &str, what: &str) -> Result<String> {
        match given {
            Some(t) => Ok(t.0.clone()),
            None => {
                secret::check_env_name(env).map_err(|e| crate::Error::Source {
                    message: format!("the token's variable ({what}) {e}"),
                })?;
                std::env::var(env).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| crate::Error::Source {
                    message: format!("the environment variable {env} ({what}) is not set"),
                })
            }
        }
    }
}

#[cfg(any(feature = "github", feature = "gitlab"))]
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What one run of a source produced.
#[derive(Debug, Default)]
pub struct Collected {
    /// The normalized events (new or changed since the last run; a source
    /// may also return events the store already holds: they count as
    /// unchanged).
    pub events: EventSet,
    /// The state to resume from next time.
    pub state: SyncState,
    /// Requests made to a remote API (0 for files).
    pub requests: u64,
    /// Things worth telling the user (skipped lines, files left unchanged).
    pub notes: Vec<String>,
}

/// Progress reports of a running source (drawn as a bar on a terminal,
/// logged as lines otherwise). Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// The amount of work, when known (files, pages, bytes).
    fn set_total(&self, _total: u64) {}
    /// Work done since the last call.
    fn advance(&self, _done: u64) {}
    /// What the source is doing now.
    fn message(&self, _message: &str) {}
    /// Progress of one part of the work (one repository, say), shown on its
    /// own (a bar of its own on a terminal). The default shows nothing.
    fn part(&self, _name: &str) -> Box<dyn Progress + '_> {
        Box::new(NoProgress)
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A place events come from.
pub trait Source: Send {
    /// The source's name (unique in the configuration).
    fn name(&self) -> &str;
    /// The source's kind (`file`, `github`, ...).
    fn kind(&self) -> &'static str;
    /// Fetches what is new since `state` (everything when `None`).
    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected>;
}
