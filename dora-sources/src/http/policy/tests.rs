use super::*;

const REQUEST: &str = "GET /repos/acme/api/deployments";

fn policy() -> RetryPolicy {
    RetryPolicy::new(4, Duration::from_millis(500), Duration::from_secs(3600))
}

fn now() -> DateTime<Utc> {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

fn answer(status: u16, rate_limit: RateLimit) -> Outcome {
    Outcome::Answer { status, rate_limit }
}

fn retry(millis: u64, why: &str) -> Decision {
    Decision::Retry { after: Duration::from_millis(millis), why: why.into() }
}

fn wait(seconds: u64) -> Decision {
    Decision::WaitRateLimit { after: Duration::from_secs(seconds) }
}

#[test]
fn server_errors_are_retried_with_a_doubling_capped_backoff_then_given_up() {
    let p = policy();
    let table = [
        (0, retry(500, "HTTP 500")),
        (1, retry(1000, "HTTP 500")),
        (2, retry(2000, "HTTP 500")),
        (3, retry(4000, "HTTP 500")),
        (4, Decision::GiveUp(format!("{REQUEST}: HTTP 500; gave up after 5 attempts"))),
    ];
    for (attempt, expected) in table {
        assert_eq!(
            p.decide(REQUEST, attempt, &answer(500, RateLimit::default()), now()),
            expected,
            "{attempt}"
        );
    }
    // With many retries, the wait stops doubling at base × 64.
    let many = RetryPolicy { max_retries: 100, ..p };
    let waits: Vec<u64> = [5, 6, 7, 40, 99]
        .into_iter()
        .map(|a| {
            many.decide(REQUEST, a, &answer(503, RateLimit::default()), now()).wait().unwrap().as_millis()
                as u64
        })
        .collect();
    assert_eq!(waits, [16_000, 32_000, 32_000, 32_000, 32_000]);
    // No retries at all: the first failure gives up.
    let none = RetryPolicy { max_retries: 0, ..p };
    assert_eq!(
        none.decide(REQUEST, 0, &answer(502, RateLimit::default()), now()),
        Decision::GiveUp(format!("{REQUEST}: HTTP 502; gave up after 1 attempts"))
    );
}

#[test]
fn failures_without_an_answer_are_retried_like_server_errors() {
    let p = policy();
    let table = [
        (Outcome::TimedOut, "timed out"),
        (Outcome::Transport("connection refused".into()), "request failed (connection refused)"),
        (Outcome::Unreadable("connection reset".into()), "reading the body failed (connection reset)"),
        (
            Outcome::NotJson("EOF while parsing a string at line 1 column 20".into()),
            "the body is not valid JSON (EOF while parsing a string at line 1 column 20)",
        ),
    ];
    for (outcome, why) in table {
        assert_eq!(p.decide(REQUEST, 0, &outcome, now()), retry(500, why), "{outcome:?}");
        assert_eq!(p.decide(REQUEST, 2, &outcome, now()), retry(2000, why), "{outcome:?}");
        assert_eq!(
            p.decide(REQUEST, 4, &outcome, now()),
            Decision::GiveUp(format!("{REQUEST}: {why}; gave up after 5 attempts")),
            "{outcome:?}"
        );
    }
}

#[test]
fn answers_that_retrying_would_not_mend_are_done() {
    let p = policy();
    for status in [200, 201, 204, 304, 400, 401, 403, 404, 409, 422] {
        assert_eq!(
            p.decide(REQUEST, 0, &answer(status, RateLimit::default()), now()),
            Decision::Done,
            "{status}"
        );
    }
    // A 403 with requests left is a refusal, not a rate limit.
    let left = RateLimit { remaining: Some(12), reset: Some(now().timestamp() + 60), retry_after: None };
    assert_eq!(p.decide(REQUEST, 0, &answer(403, left), now()), Decision::Done);
    // Rate-limit headers on a success say nothing to wait for.
    let spent = RateLimit { remaining: Some(0), reset: Some(now().timestamp() + 60), retry_after: Some(5) };
    assert_eq!(p.decide(REQUEST, 0, &answer(200, spent), now()), Decision::Done);
}

#[test]
fn rate_limits_are_waited_out() {
    let p = policy();
    let at = now().timestamp();
    let table = [
        // 429 or 403 with Retry-After: that many seconds.
        (429, RateLimit { retry_after: Some(1), ..Default::default() }, wait(1)),
        (403, RateLimit { retry_after: Some(30), ..Default::default() }, wait(30)),
        // Retry-After wins over the reset time.
        (429, RateLimit { retry_after: Some(2), remaining: Some(0), reset: Some(at + 900) }, wait(2)),
        // No request left: until the reset time.
        (403, RateLimit { remaining: Some(0), reset: Some(at + 120), ..Default::default() }, wait(120)),
        (429, RateLimit { remaining: Some(0), reset: Some(at + 7), ..Default::default() }, wait(7)),
        // A reset time already past: a second.
        (403, RateLimit { remaining: Some(0), reset: Some(at - 30), ..Default::default() }, wait(1)),
        // Nothing said: a minute.
        (429, RateLimit::default(), wait(60)),
        (403, RateLimit { remaining: Some(0), ..Default::default() }, wait(60)),
    ];
    for (status, limit, expected) in table {
        // Waits do not count as retries: the same at any attempt.
        for attempt in [0, 4, 10] {
            assert_eq!(
                p.decide(REQUEST, attempt, &answer(status, limit), now()),
                expected,
                "{status} {limit:?}"
            );
        }
    }
}

#[test]
fn a_rate_limit_longer_than_the_longest_wait_gives_up_naming_the_request() {
    let p = RetryPolicy { max_rate_limit_wait: Duration::from_secs(600), ..policy() };
    let limit = RateLimit { remaining: Some(0), reset: Some(now().timestamp() + 3000), retry_after: None };
    assert_eq!(
        p.decide(REQUEST, 0, &answer(403, limit), now()),
        Decision::GiveUp(format!("{REQUEST}: rate limited for 3000 s, longer than the 600 s this run waits"))
    );
    // Exactly the longest wait is still waited.
    let limit = RateLimit { retry_after: Some(600), ..Default::default() };
    assert_eq!(p.decide(REQUEST, 0, &answer(429, limit), now()), wait(600));
}

#[test]
fn decisions_say_how_long_to_wait_and_what_progress_shows() {
    assert_eq!(retry(1500, "HTTP 502").wait(), Some(Duration::from_millis(1500)));
    assert_eq!(retry(1500, "HTTP 502").note().as_deref(), Some("HTTP 502: retrying"));
    assert_eq!(wait(42).wait(), Some(Duration::from_secs(42)));
    assert_eq!(wait(42).note().as_deref(), Some("rate limited: waiting 42 s"));
    for last in [Decision::Done, Decision::GiveUp("no".into())] {
        assert_eq!((last.wait(), last.note()), (None, None));
    }
}

#[test]
fn rate_limit_headers_are_read_from_either_forge() {
    let github = [("x-ratelimit-remaining", "0"), ("X-RateLimit-Reset", "1764000000"), ("etag", "\"v1\"")];
    assert_eq!(
        RateLimit::from_headers(github),
        RateLimit { retry_after: None, remaining: Some(0), reset: Some(1_764_000_000) }
    );
    let gitlab = [("RateLimit-Remaining", " 3 "), ("ratelimit-reset", "1764000000"), ("Retry-After", "12")];
    assert_eq!(
        RateLimit::from_headers(gitlab),
        RateLimit { retry_after: Some(12), remaining: Some(3), reset: Some(1_764_000_000) }
    );
    // An HTTP date in Retry-After, or garbage, is not a number of seconds.
    let odd = [("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT"), ("x-ratelimit-remaining", "many")];
    assert_eq!(RateLimit::from_headers(odd), RateLimit::default());
    let bytes: [(&str, &[u8]); 1] = [("retry-after", b"\xff")];
    assert_eq!(RateLimit::from_headers(bytes), RateLimit::default());
}

#[test]
fn the_budget_counts_requests_and_refuses_past_its_limit() {
    let budget = Budget::new(Some(3));
    assert_eq!(budget.limit(), Some(3));
    for _ in 0..3 {
        budget.spend().unwrap();
    }
    assert_eq!(budget.spent(), 3);
    let refused = budget.spend().unwrap_err();
    assert_eq!(refused, BudgetSpent { limit: 3 });
    assert_eq!(refused.to_string(), "the request budget of 3 is spent (--max-requests); nothing was stored");
    assert_eq!(budget.spent(), 3, "a refused request is not counted");
    // Without a limit, requests are only counted.
    let open = Budget::new(None);
    for _ in 0..1000 {
        open.spend().unwrap();
    }
    assert_eq!(open.spent(), 1000);
    // A budget of nothing refuses the first request.
    assert!(Budget::new(Some(0)).spend().is_err());
}

#[test]
fn the_backoff_doubles_up_to_its_longest_wait() {
    let backoff = Backoff { base: Duration::from_millis(800), max: Duration::from_secs(30) };
    let waits: Vec<Duration> = (0..8).map(|r| backoff.delay(r)).collect();
    let ms = |m| Duration::from_millis(m);
    assert_eq!(
        waits,
        [ms(800), ms(1600), ms(3200), ms(6400), ms(12_800), ms(25_600), ms(30_000), ms(30_000)]
    );
    assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(30), "no overflow");
    assert_eq!(Backoff::new(Duration::from_millis(500)).max, Duration::from_secs(32));
}
