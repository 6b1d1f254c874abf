//! `GET /metrics`: the figures of the window ending now, rendered by
//! `dora_core::render::write_prometheus`, cached by the store's change
//! counter so that scrapes of an unchanged store are not recomputed. The
//! events in the store by kind are counted with them; the service's
//! counters (`stats.rs`) are appended per scrape by the handler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use dora_core::render::{ExpositionFormat, write_prometheus};
use dora_core::store::Store;
use dora_core::{EventKind, EventSet, Options, ReadOptions, Window, compute};

use crate::ServeConfig;
use crate::stats::{EventCounts, write_store_events};

/// How long a rendering is served while the writer has not changed the
/// store: the window slides with time, and other processes (`dora import`,
/// `dora collect`) may write the store without the writer knowing.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);

/// One rendering, in both formats: the DORA families and the events in the
/// store by kind, without OpenMetrics' final `# EOF` (the caller appends
/// the service's counters, then `# EOF`).
pub(crate) struct Rendered {
    generation: u64,
    at: Instant,
    prometheus: Arc<str>,
    openmetrics: Arc<str>,
}

impl Rendered {
    /// The text in `format` (without `# EOF`).
    pub(crate) fn text(&self, format: ExpositionFormat) -> &str {
        match format {
            ExpositionFormat::Prometheus => &self.prometheus,
            ExpositionFormat::OpenMetrics => &self.openmetrics,
        }
    }
}

/// The last rendering; the lock is held while computing, so concurrent
/// scrapes of a changed store compute once.
#[derive(Default)]
pub(crate) struct MetricsCache(tokio::sync::Mutex<Option<Arc<Rendered>>>);

impl MetricsCache {
    /// The rendering at store generation `generation`, computed only when
    /// the cached one is of another generation or too old.
    pub(crate) async fn get(&self, config: &ServeConfig, generation: u64) -> Result<Arc<Rendered>, String> {
        let mut cached = self.0.lock().await;
        if let Some(r) = cached.as_ref().filter(|r| r.generation == generation && r.at.elapsed() < MAX_AGE) {
            return Ok(Arc::clone(r));
        }
        let config = config.clone();
        let rendered = tokio::task::spawn_blocking(move || render(&config, generation))
            .await
            .map_err(|e| format!("computing the metrics failed: {e}"))??;
        let rendered = Arc::new(rendered);
        *cached = Some(Arc::clone(&rendered));
        Ok(rendered)
    }
}

/// Reads the store and renders the window of `metrics_window_seconds` ending now.
fn render(config: &ServeConfig, generation: u64) -> Result<Rendered, String> {
    let at = Instant::now();
    let store = Store::open_read_only(&config.store).map_err(|e| e.to_string())?;
    let mut set = EventSet::new();
    if store.len().map_err(|e| e.to_string())? > 0 {
        store.load(&mut set, &ReadOptions::default()).map_err(|e| e.to_string())?;
    }
    let mut events: EventCounts = Vec::with_capacity(3);
    for kind in [EventKind::Deployment, EventKind::Change, EventKind::Incident] {
        events.push((kind.as_str(), store.count(kind).map_err(|e| e.to_string())?));
    }
    drop(store);
    set.assign_teams(config.teams.iter().map(|(s, t)| (s.as_str(), t.as_str())));
    let until = Utc::now();
    let since = until - chrono::Duration::seconds(config.metrics_window_seconds);
    let window = Window::new(since, until).map_err(|e| e.to_string())?;
    let report = compute(&set, &Options::new(window)).map_err(|e| e.to_string())?.report;
    let text = |format| -> Result<Arc<str>, String> {
        let mut out = Vec::new();
        write_prometheus(&report, format, &mut out).map_err(|e| e.to_string())?;
        let mut text = String::from_utf8(out).map_err(|e| e.to_string())?;
        if let Some(len) = text.strip_suffix("# EOF\n").map(str::len) {
            text.truncate(len);
        }
        write_store_events(&mut text, format, &events);
        Ok(Arc::from(text))
    };
    let rendered = Rendered {
        generation,
        at,
        prometheus: text(ExpositionFormat::Prometheus)?,
        openmetrics: text(ExpositionFormat::OpenMetrics)?,
    };
    tracing::debug!(
        generation,
        events = set.len(),
        took_ms = at.elapsed().as_millis() as u64,
        "metrics computed"
    );
    Ok(rendered)
}
