//! What every network source shares: the HTTP policy ([`policy`]: retries,
//! backoff, rate-limit waits, the request budget, decided without I/O), the
//! rate limit shared by a run's concurrent requests ([`gate`]), and the
//! plumbing the clients use (the TLS provider, the runtime requests run
//! on, tokens that are never shown, and the I/O half of the policy).

pub mod gate;
pub mod policy;

pub use gate::RateGate;
pub use policy::{Backoff, Budget, BudgetSpent, Decision, Outcome, RateLimit, RetryPolicy};

#[allow(unused_imports)]
use dora_core::{Error, Result};

/// Makes ring the process's TLS provider. The GitLab client's reqwest
/// brings aws-lc-rs and octocrab brings ring: with both compiled in, rustls
/// refuses to pick one by itself; the OpenCost client's reqwest brings no
/// provider and uses this one. Called before any client is built.
#[cfg(any(feature = "gitlab", feature = "kubernetes", feature = "opencost"))]
pub(crate) fn install_tls_provider() {
    // An error only says a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The single-threaded runtime a network source's requests run on, with
/// the TLS provider chosen.
#[cfg(any(feature = "github", feature = "gitlab", feature = "kubernetes", feature = "opencost"))]
pub(crate) fn http_runtime() -> Result<tokio::runtime::Runtime> {
    install_tls_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Source { message: format!("cannot start the HTTP runtime: {e}") })
}

/// Nothing to choose between with one TLS provider compiled in.
#[cfg(not(any(feature = "gitlab", feature = "kubernetes", feature = "opencost")))]
#[allow(dead_code)]
pub(crate) fn install_tls_provider() {}

/// A source's error with this message.
#[cfg(any(feature = "github", feature = "gitlab", feature = "kubernetes", feature = "opencost"))]
pub(crate) fn source_error(message: impl Into<String>) -> Error {
    Error::Source { message: message.into() }
}

/// The start of an error's text (a client's errors name the URL at most,
/// never a token), short enough for a one-line message.
#[cfg(any(feature = "github", feature = "gitlab", feature = "kubernetes", feature = "opencost"))]
pub(crate) fn short(e: &dyn std::fmt::Display) -> String {
    e.to_string().chars().take(160).collect()
}

/// A token, never shown (its `Debug` prints `***`).
#[derive(Clone)]
#[cfg(any(feature = "github", feature = "gitlab", feature = "opencost"))]
pub(crate) struct Secret(String);

#[cfg(any(feature = "github", feature = "gitlab", feature = "opencost"))]
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

#[cfg(any(feature = "github", feature = "gitlab", feature = "opencost"))]
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The I/O half of the policy for one request: it keeps the attempt
/// number, asks [`RetryPolicy::decide`] about each attempt's outcome, and
/// carries out a wait (a progress line, then a sleep). With a
/// [`RateGate`] ([`Attempts::with_gate`]), the request also waits before
/// each attempt while the run's requests are paused or its cost exceeds
/// what is left, and a rate-limit wait pauses every request of the run.
#[cfg(any(feature = "github", feature = "gitlab", feature = "opencost"))]
pub(crate) struct Attempts<'a> {
    policy: RetryPolicy,
    request: String,
    attempt: u32,
    progress: &'a dyn dora_core::source::Progress,
    gate: Option<&'a RateGate>,
    cost: u64,
}

#[cfg(any(feature = "github", feature = "gitlab", feature = "opencost"))]
impl<'a> Attempts<'a> {
    /// The attempts at `request` (`GET /path`, as messages name it).
    pub(crate) fn new(
        policy: RetryPolicy,
        request: String,
        progress: &'a dyn dora_core::source::Progress,
    ) -> Self {
        Self { policy, request, attempt: 0, progress, gate: None, cost: 1 }
    }

    /// Shares `gate` with the run's other requests; this request costs
    /// `cost` units of the limit (1 for a REST request; a GraphQL query's
    /// expected points).
    pub(crate) fn with_gate(mut self, gate: &'a RateGate, cost: u64) -> Self {
        self.gate = Some(gate);
        self.cost = cost;
        self
    }

    /// Waits, before an attempt, while the gate holds the run's requests
    /// (a pause, or a cost above what is left until the reset). `Err` with
    /// the message of a request given up when that wait is longer than the
    /// policy's longest rate-limit wait. Without a gate it returns at once.
    pub(crate) async fn ready(&self) -> std::result::Result<(), String> {
        let Some(gate) = self.gate else { return Ok(()) };
        while let Some(wait) = gate.wait_before(self.cost, chrono::Utc::now()) {
            if wait > self.policy.max_rate_limit_wait {
                return Err(format!(
                    "{}: rate limited for {} s, longer than the {} s this run waits",
                    self.request,
                    wait.as_secs(),
                    self.policy.max_rate_limit_wait.as_secs()
                ));
            }
            self.progress.message(&format!("rate limit: waiting {} s", wait.as_secs().max(1)));
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Judges an attempt: its answer (`outcome` says how the policy sees
    /// it) or what went wrong. `Ok(Some(answer))` to use the answer,
    /// `Ok(None)` once the wait before the next attempt is over, `Err` with
    /// the message of a request given up.
    pub(crate) async fn judge<A>(
        &mut self,
        attempt: std::result::Result<A, Outcome>,
        outcome: impl FnOnce(&A) -> Outcome,
    ) -> std::result::Result<Option<A>, String> {
        let judged = match &attempt {
            Ok(answer) => outcome(answer),
            Err(failed) => failed.clone(),
        };
        let now = chrono::Utc::now();
        if let (Some(gate), Outcome::Answer { rate_limit, .. }) = (self.gate, &judged) {
            gate.observe(rate_limit, now);
        }
        let decision = self.policy.decide(&self.request, self.attempt, &judged, now);
        match decision {
            // Only an answer is ever done with.
            Decision::Done => return Ok(attempt.ok()),
            Decision::GiveUp(message) => return Err(message),
            Decision::Retry { .. } => self.attempt += 1,
            Decision::WaitRateLimit { after } => {
                if let Some(gate) = self.gate {
                    gate.pause(after, now);
                }
            }
        }
        if let Some(note) = decision.note() {
            self.progress.message(&note);
        }
        tokio::time::sleep(decision.wait().unwrap_or_default()).await;
        Ok(None)
    }
}
