//! Flags, `DORA_*` environment variables and `dora.toml`, resolved into
//! checked settings. Precedence: flag, then environment, then the file, then
//! the built-in defaults. The settings of the `[[source]]` tables are in
//! [`sources`].

pub mod allocation;
pub mod sources;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use dora_core::cost::Costs;
use dora_core::store::{Store, StoreCostSource};
use dora_core::{
    GroupKind, LeadTimeStart, Options, Period, ProductionPatterns, Window, parse_date, parse_duration,
};

use crate::args::MetricsArgs;
use crate::config::LoadedConfig;

/// An error in what the user asked for (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error (exit code 2) with this message.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow!(UsageError(msg.into()))
}

/// Where the events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventInput {
    /// Event files (`-` is standard input).
    Files(Vec<PathBuf>),
    /// The store.
    Store(PathBuf),
}

/// Everything `dora metrics` needs, checked.
#[derive(Debug)]
pub struct MetricsSettings {
    /// Where to read the events.
    pub input: EventInput,
    /// `[teams]`: service -> team overrides.
    pub teams: std::collections::BTreeMap<String, String>,
    /// Engine options.
    pub options: Options,
    /// Output format.
    pub format: crate::args::Format,
    /// Skip bad lines.
    pub skip_bad_lines: bool,
}

fn pick<T: Clone>(flag: &Option<T>, file: &Option<T>) -> Option<T> {
    flag.clone().or_else(|| file.clone())
}

/// The engine's cost input (METRICS.md section 7): the cost rows of the
/// store at `store`, allocated by `[finance.allocation]`, when the store
/// holds any. Events read from files still take their costs from the store
/// when there is one (an unreadable store then means no costs).
fn cost_input(loaded: &LoadedConfig, store: &Path, input: &EventInput) -> Result<Option<Costs>> {
    if !store.exists() {
        return Ok(None);
    }
    let origins = match (Store::open_read_only(store).and_then(|s| s.cost_origins()), input) {
        (Ok(origins), _) => origins,
        (Err(e), EventInput::Store(_)) => return Err(e.into()),
        (Err(_), EventInput::Files(_)) => return Ok(None),
    };
    if origins.iter().all(|o| o.rows == 0) {
        return Ok(None);
    }
    let allocation = loaded.allocation.as_ref().map(|a| a.allocation()).unwrap_or_default();
    Ok(Some(Costs::new(allocation, StoreCostSource::new(store)).with_teams(loaded.config.teams.clone())))
}

impl MetricsSettings {
    /// Resolves flags (and their environment variables) over the file over defaults.
    pub fn resolve(args: &MetricsArgs, now: DateTime<Utc>) -> Result<Self> {
        let loaded = LoadedConfig::load(args.engine.config.as_deref())?;
        let file = loaded.config.metrics.clone();
        let input = if !args.engine.events.is_empty() {
            EventInput::Files(args.engine.events.clone())
        } else if let Some(files) = file.events.clone().filter(|f| !f.is_empty()) {
            // Paths in the file are relative to the file.
            EventInput::Files(files.iter().map(|p| loaded.resolve(p)).collect())
        } else {
            EventInput::Store(loaded.store_path(args.engine.store.as_deref()))
        };
        let timezone: Tz = match pick(&args.engine.timezone, &file.timezone) {
            Some(name) => name.parse().map_err(|_| {
                usage(format!("--timezone: {name:?} is not an IANA time zone name (like Europe/Berlin)"))
            })?,
            None => Tz::UTC,
        };
        let period: Period = match pick(&args.period, &file.period) {
            Some(p) => p.parse().map_err(|e: dora_core::Error| usage(format!("--period: {e}")))?,
            None => Period::Week,
        };
        let date =
            |flag: &str, s: String| parse_date(&s, timezone).map_err(|e| usage(format!("--{flag}: {e}")));
        let until = pick(&args.until, &file.until).map(|s| date("until", s)).transpose()?;
        let since = pick(&args.since, &file.since).map(|s| date("since", s)).transpose()?;
        // The defaults of spec section 6: `until` is the start of the current
        // period, `since` 12 periods before `until`.
        let default = |end| Window::default_for(end, period, timezone, 12).map_err(|e| usage(e.to_string()));
        let until = match until {
            Some(u) => u,
            None => default(now)?.until(),
        };
        let since = match since {
            Some(s) => s,
            None => default(until)?.since(),
        };
        if since >= until {
            return Err(usage(format!("--since ({since}) must be before --until ({until})")));
        }
        let window = Window::new(since, until).map_err(|e| usage(format!("--since/--until: {e}")))?;
        let mut options = Options::new(window);
        options.period = period;
        options.timezone = timezone;
        if let Some(w) = pick(&args.engine.attribution_window, &file.attribution_window) {
            options.attribution_window_seconds =
                parse_duration(&w).map_err(|e| usage(format!("--attribution-window: {e}")))?;
        }
        if let Some(s) = pick(&args.engine.lead_time_start, &file.lead_time_start) {
            options.lead_time_start =
                s.parse::<LeadTimeStart>().map_err(|e| usage(format!("--lead-time-start: {e}")))?;
        }
        let patterns = if args.engine.production_patterns.is_empty() {
            file.production_patterns.clone().unwrap_or_default()
        } else {
            args.engine.production_patterns.clone()
        };
        if !patterns.is_empty() {
            options.production = ProductionPatterns::new(&patterns)
                .map_err(|e| usage(format!("--production-pattern: {e}")))?;
        }
        let kinds = if args.engine.group_by.is_empty() {
            file.group_by.clone().unwrap_or_default()
        } else {
            args.engine.group_by.clone()
        };
        if !kinds.is_empty() {
            let mut parsed = Vec::new();
            for k in kinds {
                let kind: GroupKind = k.trim().parse().map_err(|e| usage(format!("--group-by: {e}")))?;
                if !parsed.contains(&kind) {
                    parsed.push(kind);
                }
            }
            options.group_by = parsed;
        }
        options.costs = cost_input(&loaded, &loaded.store_path(args.engine.store.as_deref()), &input)?;
        Ok(Self {
            input,
            teams: loaded.config.teams.clone(),
            options,
            format: args.format,
            skip_bad_lines: args.engine.skip_bad_lines,
        })
    }
}
