//! `GET /metrics`: the figures of the window ending now, rendered by
//! `dora_core::render::write_prometheus`, cached by the store's change
//! version so that scrapes of an unchanged store are not recomputed. The
//! events in the store by kind are counted with them; the service's
//! counters (`stats.rs`) are appended per scrape by the handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use dora_core::render::{ExpositionFormat, write_prometheus};
use dora_core::store::Store;
use dora_core::{EventKind, EventSet, Options, ReadOptions, Window, compute};

use crate::ServeConfig;
use crate::stats::{EventCounts, write_store_events};

/// How long a rendering of an unchanged store is served before it is
/// recomputed: the window slides with time. Past this age the scrape still
/// gets the cached text at once, and one recomputation starts in the
/// background.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);

/// Which state of the store a rendering was computed from: the writer's
/// commit counter, and SQLite's `data_version` as seen by the cache's own
/// connection (it changes when any other connection commits: the writer,
/// or `dora import` and `dora collect` in other processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    generation: u64,
    data_version: Option<i64>,
}

/// One rendering, in both formats: the DORA families and the events in the
/// store by kind, without OpenMetrics' final `# EOF` (the caller appends
/// the service's counters, then `# EOF`).
pub(crate) struct Rendered {
    version: Version,
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

/// The last rendering. A scrape of a changed store computes (holding the
/// lock, so concurrent scrapes compute once); a scrape of an unchanged
/// store gets the cached text, and when that is older than [`MAX_AGE`] it
/// also starts one background recomputation.
#[derive(Default)]
pub(crate) struct MetricsCache {
    cached: tokio::sync::Mutex<Option<Arc<Rendered>>>,
    /// A connection kept open to ask the store's `data_version`.
    probe: std::sync::Mutex<Option<Store>>,
    /// Whether a background recomputation is running.
    refreshing: AtomicBool,
}

impl MetricsCache {
    /// The store's version now (the data version is `None` when the store
    /// cannot be asked: the rendering is then keyed by the writer alone).
    fn version(&self, config: &ServeConfig, generation: u64) -> Version {
        let mut probe = self.probe.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if probe.is_none() {
            *probe = Store::open_read_only(&config.store).ok();
        }
        let data_version = probe.as_ref().and_then(|store| store.data_version().ok());
        if data_version.is_none() {
            // Reopened at the next scrape.
            *probe = None;
        }
        Version { generation, data_version }
    }

    /// The rendering of the store as it is now (writer generation
    /// `generation`).
    pub(crate) async fn get(
        self: &Arc<Self>,
        config: &ServeConfig,
        generation: u64,
    ) -> Result<Arc<Rendered>, String> {
        let version = self.version(config, generation);
        let mut cached = self.cached.lock().await;
        if let Some(r) = cached.as_ref().filter(|r| r.version == version) {
            if r.at.elapsed() >= MAX_AGE && !self.refreshing.swap(true, Ordering::SeqCst) {
                let (cache, config) = (Arc::clone(self), config.clone());
                tokio::spawn(async move {
                    let computed = tokio::task::spawn_blocking(move || render(&config, version)).await;
                    if let Ok(Ok(rendered)) = computed {
                        let mut cached = cache.cached.lock().await;
                        // A scrape of a changed store may have been quicker.
                        if cached.as_ref().is_none_or(|c| c.at < rendered.at) {
                            *cached = Some(Arc::new(rendered));
                        }
                    }
                    cache.refreshing.store(false, Ordering::SeqCst);
                });
            }
            return Ok(Arc::clone(r));
        }
        let config = config.clone();
        let rendered = tokio::task::spawn_blocking(move || render(&config, version))
            .await
            .map_err(|e| format!("computing the metrics failed: {e}"))??;
        let rendered = Arc::new(rendered);
        *cached = Some(Arc::clone(&rendered));
        Ok(rendered)
    }
}

/// Reads the store and renders the window of `metrics_window_seconds` ending now.
fn render(config: &ServeConfig, version: Version) -> Result<Rendered, String> {
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
        version,
        at,
        prometheus: text(ExpositionFormat::Prometheus)?,
        openmetrics: text(ExpositionFormat::OpenMetrics)?,
    };
    tracing::debug!(
        generation = version.generation,
        events = set.len(),
        took_ms = at.elapsed().as_millis() as u64,
        "metrics computed"
    );
    Ok(rendered)
}
