//! The OpenCost source's real client against a local fake of OpenCost's
//! documented `/allocation` API: a fake that answers any window of whole
//! days with one allocation per aggregate value and day (`step=1d`,
//! `accumulate=false`), amounts computed from the day so the test can
//! compute them too. A full run, an incremental run (asks again only from
//! two days before the last one collected, and its rows replace the
//! revised days in a store), the faults (a 500, a truncated body), the
//! request budget, a bearer token, and `http://` refused without
//! `allow_http`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use common::MockApi;
use dora_core::cost::CostRow;
use dora_core::source::{Collected, NoProgress, Source};
use dora_core::store::{CostOrigin, Store};
use dora_sources::opencost::{OpencostConfig, OpencostSource};
use serde_json::{Map, Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

/// The aggregate values the fake cluster has, with a base daily cost each.
const APPS: [(&str, f64); 3] = [("app=checkout/shop", 2.0), ("app=search/shop", 0.75), ("__idle__", 4.5)];

fn today() -> DateTime<Utc> {
    Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc()
}

/// The fake's cost of `name` on the day starting at `start`, at data
/// `version` (OpenCost revising recent days): quarters, exact in `f64`.
fn cost(name: &str, start: DateTime<Utc>, version: u32) -> f64 {
    let base = APPS.iter().find(|(n, _)| *n == name).unwrap().1;
    let day = start.timestamp() / 86_400;
    base + (day % 7) as f64 * 0.5 + f64::from(version) * 0.25
}

/// OpenCost's `/allocation` over the `window` asked for, one set of
/// allocations a day.
fn allocation(version: Arc<AtomicU32>) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |req: &Request| {
        let q = |k: &str| req.url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
        assert_eq!(q("step").as_deref(), Some("1d"));
        assert_eq!(q("accumulate").as_deref(), Some("false"));
        assert_eq!(q("aggregate").as_deref(), Some("label:app,namespace"));
        let window = q("window").unwrap();
        let (from, until) = window.split_once(',').unwrap();
        let (mut day, until): (DateTime<Utc>, DateTime<Utc>) =
            (from.parse().unwrap(), until.parse().unwrap());
        let version = version.load(Ordering::SeqCst);
        let mut data = Vec::new();
        while day < until {
            let end = day + Days::new(1);
            let mut set = Map::new();
            for (name, _) in APPS {
                let w = json!({"start": day.to_rfc3339(), "end": end.to_rfc3339()});
                set.insert(
                    name.to_string(),
                    json!({"name": name, "properties": {"cluster": "one"}, "window": w,
                           "start": w["start"], "end": w["end"], "minutes": 1440.0,
                           "cpuCost": 0.0, "ramCost": 0.0, "totalCost": cost(name, day, version)}),
                );
            }
            data.push(Value::Object(set));
            day = end;
        }
        ResponseTemplate::new(200).set_body_json(json!({"code": 200, "status": "success", "data": data}))
    }
}

fn config(s: &MockApi) -> OpencostConfig {
    let mut cfg = OpencostConfig::new(s.uri(), "EUR", vec!["label:app".into(), "namespace".into()]);
    cfg.allow_http = true;
    cfg.lookback_days = 10;
    cfg.days_per_request = 4;
    cfg.retry_base = Duration::from_millis(5);
    cfg
}

fn fake(version: &Arc<AtomicU32>) -> MockApi {
    let s = MockApi::new();
    s.mount(Mock::given(method("GET")).and(path("/allocation")).respond_with(allocation(version.clone())));
    s
}

/// What `dora collect` does with a run's cost rows.
fn store(store: &mut Store, name: &str, collected: &Collected) {
    let costs = collected.costs.as_ref().unwrap();
    let mut writer = store.writer().unwrap();
    let mut rows =
        writer.replace_cost_rows(CostOrigin::Source(name), costs.from, "2026-12-07T00:00:00Z").unwrap();
    for row in &costs.rows {
        rows.push(row).unwrap();
    }
    rows.finish();
    writer.commit().unwrap();
}

fn total(rows: &[CostRow]) -> f64 {
    rows.iter().map(|r| r.amount).sum()
}

/// The fake's total over the days `[from, until)`, at `version`.
fn expected(from: DateTime<Utc>, until: DateTime<Utc>, version: u32) -> f64 {
    let mut sum = 0.0;
    let mut day = from;
    while day < until {
        sum += APPS.iter().map(|(n, _)| cost(n, day, version)).sum::<f64>();
        day = day + Days::new(1);
    }
    sum
}

#[test]
fn a_full_run_then_an_incremental_one_that_replaces_the_revised_days() {
    let version = Arc::new(AtomicU32::new(0));
    let s = fake(&version);
    let today = today();
    let first_day = today - Days::new(10);
    let mut source = OpencostSource::new("cluster", config(&s));

    let first = source.collect(None, &NoProgress).unwrap();
    // 10 days, 4 a request: 3 requests of whole days up to today.
    assert_eq!(first.requests, 3);
    let windows: Vec<String> = s
        .received()
        .iter()
        .map(|r| r.url.query_pairs().find(|(k, _)| k == "window").unwrap().1.to_string())
        .collect();
    let day = |n: u64| (first_day + Days::new(n)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        windows,
        vec![
            format!("{},{}", day(0), day(4)),
            format!("{},{}", day(4), day(8)),
            format!("{},{}", day(8), day(10))
        ]
    );
    let costs = first.costs.as_ref().unwrap();
    assert_eq!(costs.from, Some(first_day));
    assert_eq!(costs.rows.len(), 30);
    assert!((total(&costs.rows) - expected(first_day, today, 0)).abs() < 1e-9);
    assert!(costs.rows.iter().all(|r| r.currency == "EUR" && r.end == r.start + Days::new(1)));
    let checkout: Vec<&CostRow> =
        costs.rows.iter().filter(|r| r.resource_name.as_deref() == Some("app=checkout/shop")).collect();
    assert_eq!(checkout.len(), 10);
    for r in &checkout {
        assert_eq!((r.tag("app"), r.tag("namespace")), (Some("checkout"), Some("shop")));
        assert_eq!(r.amount, cost("app=checkout/shop", r.start, 0));
    }
    assert!(
        costs
            .rows
            .iter()
            .filter(|r| r.resource_name.as_deref() == Some("__idle__"))
            .all(|r| r.tags.is_none())
    );
    assert!(first.events.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let mut db = Store::open(&dir.path().join("dora.db")).unwrap();
    store(&mut db, "cluster", &first);

    // OpenCost revises its recent days; the next run asks again from two
    // days before the last one collected, in one request.
    version.store(1, Ordering::SeqCst);
    let before = s.requests();
    let second = source.collect(Some(&first.state), &NoProgress).unwrap();
    assert_eq!(second.requests, 1);
    let asked = &s.received()[before];
    let window = asked.url.query_pairs().find(|(k, _)| k == "window").unwrap().1.to_string();
    assert_eq!(window, format!("{},{}", day(8), day(10)));
    let costs = second.costs.as_ref().unwrap();
    assert_eq!(costs.from, Some(today - Days::new(2)));
    assert_eq!(costs.rows.len(), 6);
    store(&mut db, "cluster", &second);

    // The store holds each day once: the first 8 as first read, the last
    // two revised.
    let rows = db.cost_rows(first_day, today).unwrap();
    assert_eq!(rows.len(), 30);
    let revised = today - Days::new(2);
    let want = expected(first_day, revised, 0) + expected(revised, today, 1);
    assert!((total(&rows) - want).abs() < 1e-9, "{} != {want}", total(&rows));
}

#[test]
fn a_server_error_and_a_truncated_body_are_asked_again() {
    let version = Arc::new(AtomicU32::new(0));
    let s = MockApi::new();
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .respond_with(ResponseTemplate::new(500).set_body_string("prometheus query failed"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(b"{\"code\": 200, \"data\": [{\"x\": {\"na".to_vec(), "application/json"),
            )
            .up_to_n_times(1)
            .with_priority(2),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .respond_with(allocation(version))
            .with_priority(3),
    );
    let mut cfg = config(&s);
    cfg.lookback_days = 3;
    let today = today();
    let got = OpencostSource::new("cluster", cfg).collect(None, &NoProgress).unwrap();
    // One request, tried three times: a 500, a truncated body, the answer.
    assert_eq!(got.requests, 3);
    assert_eq!(s.requests(), 3);
    let rows = &got.costs.as_ref().unwrap().rows;
    assert_eq!(rows.len(), 9);
    assert!((total(rows) - expected(today - Days::new(3), today, 0)).abs() < 1e-9);
}

#[test]
fn a_rate_limit_is_waited_out_and_a_slow_answer_asked_again() {
    let version = Arc::new(AtomicU32::new(0));
    let s = MockApi::new();
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .respond_with({
                let answer = allocation(version.clone());
                move |req: &Request| answer(req).set_delay(Duration::from_secs(2))
            })
            .up_to_n_times(1)
            .with_priority(2),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .respond_with(allocation(version))
            .with_priority(3),
    );
    let mut cfg = config(&s);
    cfg.lookback_days = 2;
    cfg.request_timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let got = OpencostSource::new("cluster", cfg).collect(None, &NoProgress).unwrap();
    // A 429 (waited out, about 1 s), an answer too slow, the answer.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(got.requests, 3);
    assert_eq!(got.costs.unwrap().rows.len(), 6);
}

#[test]
fn a_server_that_keeps_failing_is_given_up_naming_the_request() {
    let s = MockApi::new();
    s.mount(Mock::given(method("GET")).and(path("/allocation")).respond_with(ResponseTemplate::new(502)));
    let mut cfg = config(&s);
    cfg.max_retries = 2;
    let e = OpencostSource::new("cluster", cfg).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(
        e.contains("GET /allocation?window=") && e.contains("HTTP 502") && e.contains("3 attempts"),
        "{e}"
    );
    assert_eq!(s.requests(), 3);
}

#[test]
fn the_request_budget_stops_the_run() {
    let version = Arc::new(AtomicU32::new(0));
    let s = fake(&version);
    let mut cfg = config(&s);
    cfg.days_per_request = 1;
    cfg.max_requests = Some(4);
    let e = OpencostSource::new("cluster", cfg).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("GET /allocation") && e.contains('4'), "{e}");
    assert_eq!(s.requests(), 4);
}

#[test]
fn a_bearer_token_is_sent_and_never_shown() {
    const TOKEN: &str = "kc-not-a-real-token-4242";
    let version = Arc::new(AtomicU32::new(0));
    let s = MockApi::new();
    s.mount(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(allocation(version)),
    );
    s.mount(Mock::given(method("GET")).and(path("/allocation")).respond_with(ResponseTemplate::new(401)));
    let mut cfg = config(&s);
    cfg.lookback_days = 2;
    cfg.token_env = Some("DORA_TEST_OPENCOST_TOKEN_UNSET".into());
    let mut source = OpencostSource::new("cluster", cfg.clone()).with_token(TOKEN);
    assert!(!format!("{source:?}").contains(TOKEN));
    let got = source.collect(None, &NoProgress).unwrap();
    assert_eq!(got.costs.unwrap().rows.len(), 6);
    // A wrong token: refused, and the message names the variable, not the token.
    let e = OpencostSource::new("cluster", cfg).with_token("wrong").collect(None, &NoProgress).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("HTTP 401") && e.contains("DORA_TEST_OPENCOST_TOKEN_UNSET") && !e.contains("wrong"),
        "{e}"
    );
}

#[test]
fn plain_http_needs_allow_http() {
    let version = Arc::new(AtomicU32::new(0));
    let s = fake(&version);
    let mut cfg = config(&s);
    cfg.allow_http = false;
    let e = OpencostSource::new("cluster", cfg).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("plain http:// is refused"), "{e}");
    assert_eq!(s.requests(), 0);
}
