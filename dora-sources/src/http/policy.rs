//! The HTTP policy of every network source, without any I/O: which failed
//! attempts are tried again and after how long, when a rate limit is
//! waited out, when a request is given up, and how many requests a run may
//! make.
//!
//! A client does the I/O only (it sends, reads, sleeps) and, after each
//! attempt at a request, describes what happened as an [`Outcome`] and asks
//! [`RetryPolicy::decide`] what to do next. The time is a parameter, so
//! every decision can be checked without a network or a clock:
//!
//! ```
//! use std::time::Duration;
//!
//! use dora_sources::http::{Decision, Outcome, RateLimit, RetryPolicy};
//!
//! let policy = RetryPolicy::new(4, Duration::from_millis(500), Duration::from_secs(3600));
//! let now = chrono::Utc::now();
//! let bad_gateway = Outcome::Answer { status: 502, rate_limit: RateLimit::default() };
//! // The first failure waits the base, each next one twice as long.
//! assert_eq!(
//!     policy.decide("GET /repos", 1, &bad_gateway, now),
//!     Decision::Retry { after: Duration::from_secs(1), why: "HTTP 502".into() }
//! );
//! // Past the retries, the request is given up with a message naming it.
//! assert_eq!(
//!     policy.decide("GET /repos", 4, &bad_gateway, now),
//!     Decision::GiveUp("GET /repos: HTTP 502; gave up after 5 attempts".into())
//! );
//! // An answer to use (a success, or a failure the client reports itself).
//! let found = Outcome::Answer { status: 200, rate_limit: RateLimit::default() };
//! assert_eq!(policy.decide("GET /repos", 0, &found, now), Decision::Done);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The waits between failed attempts: `base`, then twice as long each
/// time, never longer than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub base: Duration,
    /// The longest wait, however many attempts failed before.
    pub max: Duration,
}

impl Backoff {
    /// How many times the base doubles at most by default: `max` is
    /// `base` × 2^6 (32 s for a base of 0.5 s).
    pub const DEFAULT_DOUBLINGS: u32 = 6;

    /// Waits from `base`, doubling up to `base` × 2^[`Backoff::DEFAULT_DOUBLINGS`].
    pub fn new(base: Duration) -> Self {
        Self { base, max: base.saturating_mul(1 << Self::DEFAULT_DOUBLINGS) }
    }

    /// The wait before retry number `retry` (0 for the first retry):
    /// `base` × 2^`retry`, at most `max`.
    pub fn delay(&self, retry: u32) -> Duration {
        self.base.saturating_mul(1u32 << retry.min(31)).min(self.max)
    }
}

/// What an answer's headers say of the server's rate limit, as plain
/// values (the client reads them; the policy judges them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// `Retry-After`: seconds to wait before asking again.
    pub retry_after: Option<u64>,
    /// Requests left in the current window (`X-RateLimit-Remaining` on
    /// GitHub, `RateLimit-Remaining` on GitLab).
    pub remaining: Option<u64>,
    /// When the window starts again, in seconds since the Unix epoch
    /// (`X-RateLimit-Reset` on GitHub, `RateLimit-Reset` on GitLab).
    pub reset: Option<i64>,
}

impl RateLimit {
    /// The wait when an answer names no time to wait until: one minute,
    /// as GitHub asks of clients hitting a secondary rate limit.
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

    /// The values of the rate-limit headers among `headers` (names in any
    /// case; values that are not plain numbers are left out). An
    /// `http::HeaderMap` can be given by reference as it is.
    ///
    /// ```
    /// use dora_sources::http::RateLimit;
    ///
    /// let limit = RateLimit::from_headers([("X-RateLimit-Remaining", "0"), ("x-ratelimit-reset", "1700000000")]);
    /// assert_eq!(limit, RateLimit { retry_after: None, remaining: Some(0), reset: Some(1_700_000_000) });
    /// ```
    pub fn from_headers<K, V>(headers: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        fn number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
            std::str::from_utf8(value).ok()?.trim().parse().ok()
        }
        let mut out = Self::default();
        for (name, value) in headers {
            let name = name.as_ref().to_ascii_lowercase();
            let value = value.as_ref();
            match name.strip_prefix("x-").unwrap_or(&name) {
                "retry-after" => out.retry_after = number(value),
                "ratelimit-remaining" => out.remaining = number(value),
                "ratelimit-reset" => out.reset = number(value),
                _ => {}
            }
        }
        out
    }

    /// How long an answer with `status` asks to wait, or `None` when it is
    /// not a rate limit. A `429` always is; a `403` is when no request is
    /// left or it says when to come back (otherwise it is a refusal). The
    /// wait is `Retry-After`, else until the reset (at least a second),
    /// else [`RateLimit::DEFAULT_WAIT`].
    pub fn wait(&self, status: u16, now: DateTime<Utc>) -> Option<Duration> {
        let limited =
            status == 429 || (status == 403 && (self.remaining == Some(0) || self.retry_after.is_some()));
        if !limited {
            return None;
        }
        Some(match (self.retry_after, self.reset) {
            (Some(seconds), _) => Duration::from_secs(seconds),
            (None, Some(reset)) => Duration::from_secs((reset - now.timestamp()).max(1).unsigned_abs()),
            (None, None) => Self::DEFAULT_WAIT,
        })
    }
}

/// What one attempt at a request came to, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An answer came, with this status (its body, when the client needs
    /// one, was read and is usable).
    Answer {
        /// The HTTP status code.
        status: u16,
        /// What its headers say of the rate limit.
        rate_limit: RateLimit,
    },
    /// No answer within the client's time limit.
    TimedOut,
    /// The request failed without an answer: the connection, TLS, an
    /// answer cut off. A short description (never a token).
    Transport(String),
    /// The answer's body could not be read: why.
    Unreadable(String),
    /// The body is not the JSON expected (truncated or garbled): the
    /// parser's message.
    NotJson(String),
}

impl Outcome {
    /// Why the attempt failed, as messages say it (`None` for an answer
    /// that is not a server error).
    pub fn failure(&self) -> Option<String> {
        match self {
            Outcome::Answer { status, .. } if (500..600).contains(status) => Some(format!("HTTP {status}")),
            Outcome::Answer { .. } => None,
            Outcome::TimedOut => Some("timed out".into()),
            Outcome::Transport(e) => Some(format!("request failed ({e})")),
            Outcome::Unreadable(e) => Some(format!("reading the body failed ({e})")),
            Outcome::NotJson(e) => Some(format!("the body is not valid JSON ({e})")),
        }
    }
}

/// What the client does after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Use the answer: a success, or a failure that trying again would not
    /// mend (`404`, `401`, …), which the client reports in its own words.
    Done,
    /// Try again after `after` (this counts as a retry).
    Retry {
        /// The wait before the next attempt.
        after: Duration,
        /// Why the attempt failed (`HTTP 502`, `timed out`, …).
        why: String,
    },
    /// The server's rate limit: wait `after`, then try again (not counted
    /// as a retry: the server said when to come back).
    WaitRateLimit {
        /// The wait before the next attempt.
        after: Duration,
    },
    /// Stop: the message names the request and says why.
    GiveUp(String),
}

impl Decision {
    /// How long to wait before the next attempt (`None`: there is none).
    pub fn wait(&self) -> Option<Duration> {
        match self {
            Decision::Retry { after, .. } | Decision::WaitRateLimit { after } => Some(*after),
            Decision::Done | Decision::GiveUp(_) => None,
        }
    }

    /// The progress line for a wait: `rate limited: waiting 60 s`, or
    /// `HTTP 502: retrying`.
    pub fn note(&self) -> Option<String> {
        match self {
            Decision::Retry { why, .. } => Some(format!("{why}: retrying")),
            Decision::WaitRateLimit { after } => Some(format!("rate limited: waiting {} s", after.as_secs())),
            Decision::Done | Decision::GiveUp(_) => None,
        }
    }
}

/// How a network source retries failed requests and waits on rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one request before giving up (it is tried at most this
    /// many times plus one). Rate-limit waits are not retries.
    pub max_retries: u32,
    /// The waits between failed attempts.
    pub backoff: Backoff,
    /// The longest rate-limit wait; an answer asking for more gives the
    /// request up.
    pub max_rate_limit_wait: Duration,
}

impl RetryPolicy {
    /// A policy of `max_retries` retries, waits from `retry_base` (see
    /// [`Backoff::new`]) and rate-limit waits up to `max_rate_limit_wait`.
    pub fn new(max_retries: u32, retry_base: Duration, max_rate_limit_wait: Duration) -> Self {
        Self { max_retries, backoff: Backoff::new(retry_base), max_rate_limit_wait }
    }

    /// What to do after attempt number `attempt` (0 for the first; waits
    /// on a rate limit do not count) of `request` (how messages name it, like
    /// `GET /repos/acme/api/deployments`) came to `outcome`, at `now`:
    ///
    /// - a rate limit ([`RateLimit::wait`]) is waited out, unless the wait
    ///   is longer than `max_rate_limit_wait`: then the request is given up;
    /// - a server error (`5xx`), a time-out, a transport error, a body that
    ///   cannot be read or is not JSON is tried again after the backoff,
    ///   until `max_retries` retries failed: then it is given up;
    /// - any other answer is [`Decision::Done`].
    pub fn decide(&self, request: &str, attempt: u32, outcome: &Outcome, now: DateTime<Utc>) -> Decision {
        if let Outcome::Answer { status, rate_limit } = outcome
            && let Some(after) = rate_limit.wait(*status, now)
        {
            if after > self.max_rate_limit_wait {
                return Decision::GiveUp(format!(
                    "{request}: rate limited for {} s, longer than the {} s this run waits",
                    after.as_secs(),
                    self.max_rate_limit_wait.as_secs()
                ));
            }
            return Decision::WaitRateLimit { after };
        }
        let Some(why) = outcome.failure() else { return Decision::Done };
        if attempt >= self.max_retries {
            return Decision::GiveUp(format!("{request}: {why}; gave up after {} attempts", attempt + 1));
        }
        Decision::Retry { after: self.backoff.delay(attempt), why }
    }
}

/// A run's request budget: it counts the requests made and refuses one
/// past the limit. It is shared by reference (the count is atomic), so one
/// budget can serve every request of a run, or every query of a history.
#[derive(Debug, Default)]
pub struct Budget {
    limit: Option<u64>,
    spent: AtomicU64,
}

/// A request refused because the budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request budget of {limit} is spent (--max-requests); nothing was stored")]
pub struct BudgetSpent {
    /// The budget's limit.
    pub limit: u64,
}

impl Budget {
    /// A budget of `limit` requests (`None`: no limit, requests are only
    /// counted).
    pub fn new(limit: Option<u64>) -> Self {
        Self { limit, spent: AtomicU64::new(0) }
    }

    /// The limit.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// The requests counted so far.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// Counts one request about to be sent, or refuses it when the limit
    /// is reached (then nothing is counted).
    pub fn spend(&self) -> Result<(), BudgetSpent> {
        self.spent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| match self.limit {
                Some(limit) if n >= limit => None,
                _ => Some(n + 1),
            })
            .map(drop)
            .map_err(|_| BudgetSpent { limit: self.limit.unwrap_or_default() })
    }
}

#[cfg(test)]
mod tests;
