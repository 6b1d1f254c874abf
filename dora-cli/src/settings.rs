//! Flags, `DORA_*` environment variables and `dora.toml`, resolved into
//! checked settings. Precedence: flag, then environment, then the file, then
//! the built-in defaults.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use dora_core::{
    GroupKind, LeadTimeStart, Options, Period, ProductionPatterns, Window, parse_date, parse_duration,
};
use serde::Deserialize;

use crate::args::MetricsArgs;

/// An error in what the user asked for (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow!(UsageError(msg.into()))
}

/// The `[metrics]` table of `dora.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Event files.
    pub events: Option<Vec<PathBuf>>,
    /// Window start.
    pub since: Option<String>,
    /// Window end.
    pub until: Option<String>,
    /// day, week or month.
    pub period: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Like `7d`.
    pub attribution_window: Option<String>,
    /// commit or first_commit.
    pub lead_time_start: Option<String>,
    /// Production environment patterns.
    pub production_patterns: Option<Vec<String>>,
    /// Group kinds.
    pub group_by: Option<Vec<String>>,
}

/// `dora.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

impl Config {
    /// Reads the file named by `--config`, else `./dora.toml` when present.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>)> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("dora.toml");
                if !default.exists() {
                    return Ok((Config::default(), None));
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| usage(format!("{}: cannot read the configuration: {e}", path.display())))?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            let msg = e.message().to_string();
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            match line {
                Some(l) => usage(format!("{}:{l}: {msg}", path.display())),
                None => usage(format!("{}: {msg}", path.display())),
            }
        })?;
        let dir = path.parent().map(Path::to_path_buf);
        Ok((config, dir))
    }
}

/// Everything `dora metrics` needs, checked.
#[derive(Debug)]
pub struct MetricsSettings {
    /// Files to read.
    pub events: Vec<PathBuf>,
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

impl MetricsSettings {
    /// Resolves flags (and their environment variables) over the file over defaults.
    pub fn resolve(args: &MetricsArgs, now: DateTime<Utc>) -> Result<Self> {
        let (config, config_dir) = Config::load(args.config.as_deref())?;
        let file = config.metrics;
        let events: Vec<PathBuf> = if !args.events.is_empty() {
            args.events.clone()
        } else {
            // Paths in the file are relative to the file.
            file.events
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|p| match &config_dir {
                    Some(dir) if p.is_relative() => dir.join(p),
                    _ => p,
                })
                .collect()
        };
        if events.is_empty() {
            return Err(usage(
                "no events to read: pass --events FILE (or set [metrics] events in dora.toml)",
            ));
        }
        let timezone: Tz = match pick(&args.timezone, &file.timezone) {
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
        if let Some(w) = pick(&args.attribution_window, &file.attribution_window) {
            options.attribution_window_seconds =
                parse_duration(&w).map_err(|e| usage(format!("--attribution-window: {e}")))?;
        }
        if let Some(s) = pick(&args.lead_time_start, &file.lead_time_start) {
            options.lead_time_start =
                s.parse::<LeadTimeStart>().map_err(|e| usage(format!("--lead-time-start: {e}")))?;
        }
        let patterns = if args.production_patterns.is_empty() {
            file.production_patterns.clone().unwrap_or_default()
        } else {
            args.production_patterns.clone()
        };
        if !patterns.is_empty() {
            options.production = ProductionPatterns::new(&patterns)
                .map_err(|e| usage(format!("--production-pattern: {e}")))?;
        }
        let kinds = if args.group_by.is_empty() {
            file.group_by.clone().unwrap_or_default()
        } else {
            args.group_by.clone()
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
        Ok(Self { events, options, format: args.format, skip_bad_lines: args.skip_bad_lines })
    }
}
