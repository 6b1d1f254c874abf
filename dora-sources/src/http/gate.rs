//! The rate limit shared by the concurrent requests of one source's run,
//! without any I/O.
//!
//! A source that collects several repositories at once sends their
//! requests on one token, so on one rate limit. The [`RateGate`] is what
//! those requests share: what the server last said is left of the limit
//! and when it starts again, and a pause that holds every request once one
//! of them is told to wait (instead of each request running into the limit
//! on its own). Before a request the client asks [`RateGate::wait_before`]
//! how long to wait; after an answer it tells the gate what the answer
//! said ([`RateGate::observe`]) and, when the policy decided to wait on a
//! rate limit, pauses everyone ([`RateGate::pause`]).
//!
//! A request may cost more than one unit of the limit (a GitHub GraphQL
//! query costs its `rateLimit.cost` points): one that would cost more than
//! is left waits for the reset instead of failing.
//!
//! ```
//! use std::time::Duration;
//!
//! use dora_sources::http::{RateGate, RateLimit};
//!
//! let gate = RateGate::new();
//! let now: chrono::DateTime<chrono::Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
//! // Nothing known yet: go.
//! assert_eq!(gate.wait_before(1, now), None);
//! // An answer says 3 requests are left until 10:05.
//! let reset = now.timestamp() + 300;
//! gate.observe(&RateLimit { retry_after: None, remaining: Some(3), reset: Some(reset) }, now);
//! assert_eq!(gate.remaining(), Some(3));
//! assert_eq!(gate.wait_before(3, now), None);
//! // A query costing 5 points waits for the reset.
//! assert_eq!(gate.wait_before(5, now), Some(Duration::from_secs(300)));
//! // One request told to wait a minute holds every request.
//! gate.pause(Duration::from_secs(60), now);
//! assert_eq!(gate.wait_before(1, now), Some(Duration::from_secs(60)));
//! ```

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::policy::{Budget, RateLimit};

/// What the concurrent requests of one run share of the server's rate
/// limit. Shared by reference; every method takes `&self`.
#[derive(Debug, Default)]
pub struct RateGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct GateState {
    /// No request is sent before this instant.
    paused_until: Option<DateTime<Utc>>,
    /// Units of the limit left, as the latest answer said.
    remaining: Option<u64>,
    /// When the limit starts again, as the latest answer said.
    reset: Option<DateTime<Utc>>,
}

impl RateGate {
    /// A gate that knows nothing of the limit yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> GateState {
        // A panic while holding the lock leaves plain values behind: still usable.
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut GateState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// How long a request costing `cost` units must wait at `now` before
    /// it is sent (`None`: send it now): until a pause ends, or, when the
    /// latest answer left fewer than `cost` units and named a reset still
    /// to come, until that reset. The longer of the two.
    pub fn wait_before(&self, cost: u64, now: DateTime<Utc>) -> Option<Duration> {
        let state = self.state();
        let until_pause = state.paused_until.filter(|t| *t > now);
        let until_reset = match (state.remaining, state.reset) {
            (Some(left), Some(reset)) if left < cost && reset > now => Some(reset),
            _ => None,
        };
        let until = until_pause.max(until_reset)?;
        (until - now).to_std().ok()
    }

    /// Takes note of what an answer at `now` said of the limit: the units
    /// left and the reset time. Values the answer does not give are kept
    /// unless the reset they belong to has passed.
    pub fn observe(&self, rate_limit: &RateLimit, now: DateTime<Utc>) {
        let reset = rate_limit.reset.and_then(|s| DateTime::from_timestamp(s, 0));
        self.update(|state| {
            if state.reset.is_some_and(|r| r <= now) {
                // A new window: what was known of the old one is stale.
                state.remaining = None;
                state.reset = None;
            }
            if let Some(left) = rate_limit.remaining {
                state.remaining = Some(left);
            }
            if reset.is_some() {
                state.reset = reset;
            }
        });
    }

    /// Holds every request until `now + wait` (a pause already longer is
    /// kept).
    pub fn pause(&self, wait: Duration, now: DateTime<Utc>) {
        let until = chrono::Duration::from_std(wait).ok().and_then(|d| now.checked_add_signed(d));
        self.update(|state| {
            if let Some(until) = until {
                state.paused_until = state.paused_until.max(Some(until));
            }
        });
    }

    /// The units left, as the latest answer said (`None`: no answer said).
    pub fn remaining(&self) -> Option<u64> {
        self.state().remaining
    }

    /// When the limit starts again, as the latest answer said.
    pub fn reset(&self) -> Option<DateTime<Utc>> {
        self.state().reset
    }

    /// The progress line for a run whose requests `budget` counts:
    /// `12 requests, 4,988 left` (just the count when no answer said what
    /// is left), then `, 38 of --max-requests 50 left` when the budget has
    /// a limit.
    pub fn note(&self, budget: &Budget) -> String {
        let spent = budget.spent();
        let requests = if spent == 1 { "request" } else { "requests" };
        let mut note = match self.remaining() {
            Some(left) => format!("{} {requests}, {} left", thousands(spent), thousands(left)),
            None => format!("{} {requests}", thousands(spent)),
        };
        if let Some(limit) = budget.limit() {
            note.push_str(&format!(", {} of --max-requests {limit} left", limit.saturating_sub(spent)));
        }
        note
    }
}

/// `4988` as `4,988`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn limit(remaining: Option<u64>, reset: Option<&str>) -> RateLimit {
        RateLimit { retry_after: None, remaining, reset: reset.map(|r| at(r).timestamp()) }
    }

    #[test]
    fn a_pause_holds_every_request_until_it_ends_and_the_longest_pause_wins() {
        let gate = RateGate::new();
        let now = at("2026-12-07T10:00:00Z");
        gate.pause(Duration::from_secs(60), now);
        gate.pause(Duration::from_secs(10), now);
        assert_eq!(gate.wait_before(1, now), Some(Duration::from_secs(60)));
        assert_eq!(gate.wait_before(1, at("2026-12-07T10:00:45Z")), Some(Duration::from_secs(15)));
        assert_eq!(gate.wait_before(1, at("2026-12-07T10:01:00Z")), None);
    }

    #[test]
    fn a_cost_above_what_is_left_waits_for_the_reset_and_a_passed_reset_forgets_the_old_window() {
        let gate = RateGate::new();
        let now = at("2026-12-07T10:00:00Z");
        gate.observe(&limit(Some(10), Some("2026-12-07T10:30:00Z")), now);
        assert_eq!(gate.wait_before(10, now), None);
        assert_eq!(gate.wait_before(11, now), Some(Duration::from_secs(1800)));
        // An answer without rate-limit headers keeps what is known.
        gate.observe(&RateLimit::default(), now);
        assert_eq!(gate.remaining(), Some(10));
        // After the reset, an answer without headers leaves nothing known: go.
        let later = at("2026-12-07T10:31:00Z");
        gate.observe(&RateLimit::default(), later);
        assert_eq!((gate.remaining(), gate.reset()), (None, None));
        assert_eq!(gate.wait_before(1_000, later), None);
        // A reset already past never makes a request wait.
        gate.observe(&limit(Some(0), Some("2026-12-07T10:00:00Z")), later);
        assert_eq!(gate.wait_before(1, later), None);
    }

    #[test]
    fn a_pause_and_a_reset_wait_for_the_later_of_the_two() {
        let gate = RateGate::new();
        let now = at("2026-12-07T10:00:00Z");
        gate.observe(&limit(Some(0), Some("2026-12-07T10:02:00Z")), now);
        gate.pause(Duration::from_secs(60), now);
        assert_eq!(gate.wait_before(1, now), Some(Duration::from_secs(120)));
        gate.pause(Duration::from_secs(600), now);
        assert_eq!(gate.wait_before(1, now), Some(Duration::from_secs(600)));
    }

    #[test]
    fn the_progress_note_counts_requests_and_what_is_left() {
        let spent = |n: u64, limit: Option<u64>| {
            let budget = Budget::new(limit);
            (0..n).for_each(|_| budget.spend().unwrap());
            budget
        };
        let gate = RateGate::new();
        assert_eq!(gate.note(&spent(1, None)), "1 request");
        assert_eq!(gate.note(&spent(1234, None)), "1,234 requests");
        gate.observe(&limit(Some(4988), None), at("2026-12-07T10:00:00Z"));
        assert_eq!(gate.note(&spent(12, None)), "12 requests, 4,988 left");
        assert_eq!(gate.note(&spent(12, Some(50))), "12 requests, 4,988 left, 38 of --max-requests 50 left");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
