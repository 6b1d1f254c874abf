//! # dora-core
//!
//! The DORA metrics engine: normalized delivery events in, exact typed
//! metrics out, following the `dora.metrics/v1` contract.
//!
//! - [`event`]: the `dora.events/v1` model ([`Deployment`], [`Change`],
//!   [`Incident`]) and the [`EventSet`] that applies the identity and
//!   replacement rule.
//! - [`read`]: a streaming, parallel JSON Lines reader (also `.jsonl.gz`)
//!   whose errors name the file, line and field.
//! - [`engine`]: the pure, synchronous, deterministic engine ([`compute`]):
//!   no I/O and no clock, the window is an input.
//! - [`result`]: the typed, serde `dora.metrics/v1` output.
//! - [`cost`]: cloud cost rows (FOCUS), their allocation to services and
//!   teams, and [`Costs`](cost::Costs), the engine's optional cost input
//!   ([`Options::costs`]).
//! - [`finance`]: the typed finance table, one row per period and group.
//! - [`render`]: table, JSON and CSV renderers writing to any `io::Write`.
//! - `store` (feature `store`, on by default): the SQLite event store, and
//!   `source`: the [`Source`](source::Source) trait and the `file` source.
//!
//! ```
//! use dora_core::{compute, read_jsonl, EventSet, Options, ReadOptions, Window};
//!
//! let events = r#"
//! {"kind":"change","id":"c1","service":"api","committed_at":"2026-03-02T09:00:00Z"}
//! {"kind":"deployment","id":"d1","service":"api","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success","changes":["c1"]}
//! {"kind":"incident","id":"i1","service":"api","opened_at":"2026-03-02T13:00:00Z","resolved_at":"2026-03-02T13:30:00Z"}
//! "#;
//! let mut set = EventSet::new();
//! read_jsonl(events.as_bytes(), None, &mut set, &ReadOptions::default())?;
//! let since = "2026-03-02T00:00:00Z".parse()?;
//! let until = "2026-03-09T00:00:00Z".parse()?;
//! let result = compute(&set, &Options::new(Window::new(since, until)?))?;
//! let all = &result.report.groups[0].summary.figures;
//! assert_eq!(all.deployments, 1);
//! assert_eq!(all.change_failure_rate.rate, Some(1.0)); // the incident is inferred to d1
//! assert_eq!(all.time_to_restore.median, Some(1800.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cost;
pub mod engine;
pub mod error;
pub mod event;
pub mod export;
pub mod finance;
pub mod read;
pub mod render;
pub mod report;
pub mod result;
#[cfg(feature = "store")]
pub mod source;
#[cfg(feature = "store")]
pub mod store;
#[cfg(test)]
mod test_events;

pub use engine::levels::Level;
pub use engine::options::{
    DEFAULT_PRODUCTION_PATTERN, GroupKind, LeadTimeStart, Options, Period, ProductionPatterns, Window,
    parse_date, parse_duration,
};
pub use engine::{Attribution, Computation, ExplainRequest, ExplainedEvent, Explanation, Metric, compute};
pub use error::{Error, Location, Result};
pub use event::{
    Change, Deployment, DeploymentStatus, DeploymentType, Event, EventKind, EventSet, Incident, PullRequest,
};
pub use read::{
    ReadOptions, ReadSummary, SkippedLine, read_csv, read_events_path, read_jsonl, read_jsonl_bytes,
    read_jsonl_path,
};
pub use result::MetricsReport;
