//! The plumbing every network source shares: the TLS provider, the
//! runtime requests run on, and tokens that are never shown.

#[allow(unused_imports)]
use dora_core::{Error, Result};

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
pub(crate) fn http_runtime() -> Result<tokio::runtime::Runtime> {
    install_tls_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Source { message: format!("cannot start the HTTP runtime: {e}") })
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
                dora_core::source::secret::check_env_name(env)
                    .map_err(|e| Error::Source { message: format!("the token's variable ({what}) {e}") })?;
                std::env::var(env).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| Error::Source {
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
