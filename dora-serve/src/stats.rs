//! The service's own figures, written after the DORA metrics in
//! `GET /metrics`: requests by endpoint and status, collection runs by
//! source and result, the last successful collection of each source, and
//! the events in the store by kind.
//!
//! The counters live in memory (they start at zero with the process, as
//! Prometheus counters do) and are cheap to write on every scrape; the
//! events by kind are counted in the store with the cached DORA figures
//! (`metrics.rs`), not per scrape. `docs/serve.md` lists the families.
//!
//! They are written with dora-core's exposition writer
//! ([`push_family`], [`push_sample`]), so they follow the same rules as the
//! DORA families: counters named `..._total` (the OpenMetrics family name
//! without it), label values escaped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use dora_core::render::{ExpositionFormat, MetricKind, push_family, push_sample};

/// The `endpoint` label of a request that matched no route: raw paths are
/// never labels (a client could make the series without bound).
pub const OTHER_ENDPOINT: &str = "other";

/// The counters of one source's collection runs.
#[derive(Debug, Default, Clone, Copy)]
struct Runs {
    success: u64,
    failure: u64,
    last_success: Option<SystemTime>,
}

/// The service's own counters, shared by the handlers and the collection
/// scheduler. Every method takes `&self` and a short lock.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests answered: endpoint (a route, or [`OTHER_ENDPOINT`]) ->
    /// status code -> count.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    /// Collection runs by source name.
    collections: Mutex<BTreeMap<String, Runs>>,
}

/// Events in the store by kind, counted with the cached DORA figures.
pub(crate) type EventCounts = Vec<(&'static str, u64)>;

impl Stats {
    /// No request and no collection run yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one answered request: `endpoint` is the matched route
    /// (`/events`, `/api/v1/services/{service}`) or [`OTHER_ENDPOINT`].
    pub(crate) fn request(&self, endpoint: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        match requests.get_mut(endpoint) {
            Some(by_status) => *by_status.entry(status).or_insert(0) += 1,
            None => {
                requests.insert(endpoint.to_string(), BTreeMap::from([(status, 1)]));
            }
        }
    }

    /// Makes a source's collection counters visible at zero before its
    /// first run (so that a rate over them starts from the process start).
    /// Calling it again, or after runs, changes nothing.
    pub fn register_source(&self, source: &str) {
        let mut collections = self.collections.lock().unwrap_or_else(|e| e.into_inner());
        collections.entry(source.to_string()).or_default();
    }

    /// Counts one collection run of `source` that ended at `finished_at`:
    /// `ok` when it succeeded (its events stored), else a failure. A
    /// success also sets the source's last successful collection time.
    pub fn collection_run(&self, source: &str, ok: bool, finished_at: SystemTime) {
        let mut collections = self.collections.lock().unwrap_or_else(|e| e.into_inner());
        let runs = match collections.get_mut(source) {
            Some(runs) => runs,
            None => collections.entry(source.to_string()).or_default(),
        };
        if ok {
            runs.success += 1;
            runs.last_success = Some(runs.last_success.map_or(finished_at, |t| t.max(finished_at)));
        } else {
            runs.failure += 1;
        }
    }

    /// Appends the request and collection families in `format` (without
    /// OpenMetrics' `# EOF`, which the caller writes last).
    pub(crate) fn write(&self, out: &mut String, format: ExpositionFormat) {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let collections = self.collections.lock().unwrap_or_else(|e| e.into_inner()).clone();

        let counter = MetricKind::Counter;
        let name = push_family(out, format, "dora_serve_http_requests_total", counter, None, REQUESTS_HELP);
        for (endpoint, by_status) in &requests {
            for (status, n) in by_status {
                push_sample(out, name, &[("endpoint", endpoint), ("status", &status.to_string())], *n as f64);
            }
        }

        let name = push_family(out, format, "dora_serve_collection_runs_total", counter, None, RUNS_HELP);
        for (source, runs) in &collections {
            push_sample(out, name, &[("source", source), ("result", "success")], runs.success as f64);
            push_sample(out, name, &[("source", source), ("result", "failure")], runs.failure as f64);
        }

        let name = "dora_serve_last_successful_collection_timestamp_seconds";
        push_family(out, format, name, MetricKind::Gauge, Some("seconds"), LAST_HELP);
        for (source, runs) in &collections {
            if let Some(at) = runs.last_success {
                push_sample(out, name, &[("source", source)], unix_seconds(at));
            }
        }
    }
}

const REQUESTS_HELP: &str =
    "HTTP requests answered since the process started, by endpoint (the route, or other) and status code.";
const RUNS_HELP: &str = "Collection runs since the process started, by source and result (success, failure).";
const LAST_HELP: &str = "End of the last successful collection run of a source, in Unix seconds.";
const EVENTS_HELP: &str =
    "Events in the store by kind, counted when the DORA figures of this exposition were computed.";

/// Appends the gauge of the events in the store by kind.
pub(crate) fn write_store_events(out: &mut String, format: ExpositionFormat, counts: &EventCounts) {
    let name = "dora_serve_store_events";
    push_family(out, format, name, MetricKind::Gauge, None, EVENTS_HELP);
    for (kind, n) in counts {
        push_sample(out, name, &[("kind", kind)], *n as f64);
    }
}

/// Seconds since the Unix epoch (negative before it).
fn unix_seconds(at: SystemTime) -> f64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn stats() -> Stats {
        let s = Stats::new();
        s.request("/events", 200);
        s.request("/events", 200);
        s.request("/events", 401);
        s.request(OTHER_ENDPOINT, 404);
        s.register_source("github");
        s.register_source("we\"ird");
        let at = UNIX_EPOCH + Duration::from_millis(1_780_000_000_500);
        s.collection_run("github", true, at);
        s.collection_run("github", true, at - Duration::from_secs(10));
        s.collection_run("github", false, at + Duration::from_secs(10));
        s.collection_run("gitlab", false, at);
        s
    }

    fn render(format: ExpositionFormat) -> String {
        let mut out = String::new();
        stats().write(&mut out, format);
        write_store_events(&mut out, format, &vec![("deployment", 3), ("change", 0)]);
        out
    }

    #[test]
    fn prometheus_counters_are_named_total_everywhere() {
        let text = render(ExpositionFormat::Prometheus);
        assert!(text.contains("# TYPE dora_serve_http_requests_total counter\n"), "{text}");
        assert!(text.contains("dora_serve_http_requests_total{endpoint=\"/events\",status=\"200\"} 2\n"));
        assert!(text.contains("dora_serve_http_requests_total{endpoint=\"/events\",status=\"401\"} 1\n"));
        assert!(text.contains("dora_serve_http_requests_total{endpoint=\"other\",status=\"404\"} 1\n"));
        assert!(text.contains("# TYPE dora_serve_collection_runs_total counter\n"));
        assert!(text.contains("dora_serve_collection_runs_total{source=\"github\",result=\"success\"} 2\n"));
        assert!(text.contains("dora_serve_collection_runs_total{source=\"github\",result=\"failure\"} 1\n"));
        assert!(text.contains("dora_serve_collection_runs_total{source=\"gitlab\",result=\"success\"} 0\n"));
        assert!(
            text.contains("dora_serve_collection_runs_total{source=\"we\\\"ird\",result=\"failure\"} 0\n")
        );
        // The latest success, not the latest run; none for a source without one.
        assert!(text.contains(
            "dora_serve_last_successful_collection_timestamp_seconds{source=\"github\"} 1780000000.5\n"
        ));
        assert!(!text.contains("timestamp_seconds{source=\"gitlab\"}"));
        assert!(text.contains("dora_serve_store_events{kind=\"deployment\"} 3\n"));
        assert!(!text.contains("# UNIT") && !text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_counter_families_drop_total_but_samples_keep_it() {
        let text = render(ExpositionFormat::OpenMetrics);
        assert!(text.contains("# TYPE dora_serve_http_requests counter\n"), "{text}");
        assert!(text.contains("# HELP dora_serve_http_requests HTTP"));
        assert!(text.contains("dora_serve_http_requests_total{endpoint=\"/events\",status=\"200\"} 2\n"));
        assert!(text.contains("# TYPE dora_serve_collection_runs counter\n"));
        assert!(text.contains("# UNIT dora_serve_last_successful_collection_timestamp_seconds seconds\n"));
        // Every sample belongs to the family declared before it.
        let mut family = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap().to_string();
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(name == family || name == format!("{family}_total"), "{line}");
            }
        }
    }
}
