//! The query API of `dora serve` (`GET /api/v1/metrics`, `GET
//! /api/v1/explain`, `GET /`): each request runs the code of `dora metrics
//! --format json`, `dora explain --format json` or `dora report --format
//! html` on the served store. The query parameters become the command's
//! flags (`since=X` is `--since=X`, underscores become dashes, `metric` is
//! the positional METRIC, a boolean flag is `name=true` or `name=false`),
//! parsed by clap into the same arguments, resolved by the same settings
//! code (the served `dora.toml`, the clock `Utc::now()`), and rendered into
//! a `Vec<u8>` instead of standard output.
//!
//! The server only ever reads its own store: the parameters that would
//! choose input files, another store or configuration, an output file or a
//! format are refused, as are unknown ones (`400`, naming the parameter),
//! and the events are read from the served store whatever the
//! configuration's `[metrics] events` says.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use dora_core::render::{ReportLinks, ReportTextOptions};
use dora_serve::{Params, Queries, QueryError};

use crate::args::{Cli, Command, ReportFormat};
use crate::commands::{explain, metrics, report};
use crate::settings::{EventInput, MetricsSettings, UsageError};

/// The engine's parameters, which every endpoint takes.
const ENGINE: [&str; 6] =
    ["timezone", "attribution_window", "lead_time_start", "production_pattern", "group_by", "skip_bad_lines"];
/// The parameters of `GET /api/v1/metrics`, besides [`ENGINE`].
const METRICS: [&str; 3] = ["since", "until", "period"];
/// The parameters of `GET /api/v1/explain`, besides [`ENGINE`].
const EXPLAIN: [&str; 7] = ["metric", "service", "team", "period_index", "since", "until", "period"];
/// The parameters of `GET /`, besides [`ENGINE`].
const REPORT: [&str; 6] = ["week", "weeks", "since", "until", "team", "service"];
/// Flags without a value: `name=true` gives the flag, `name=false` not.
const BOOLEAN: [&str; 1] = ["skip_bad_lines"];
/// The flags that choose what is read or written, or how: never from a request.
const FORBIDDEN: [&str; 5] = ["events", "store", "config", "format", "output"];

/// The queries of `dora serve`, on its store and configuration.
#[derive(Debug, Clone)]
pub(super) struct StoreQueries {
    /// The served store.
    pub(super) store: PathBuf,
    /// The `--config` `dora serve` was given (`None`: `./dora.toml` when present).
    pub(super) config: Option<PathBuf>,
}

fn bad(message: impl Into<String>) -> QueryError {
    QueryError::BadRequest(message.into())
}

/// A message of the CLI with its flags spelled as parameters
/// (`--period-index` as `period_index`).
fn as_parameters(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find(|c: char| !(c.is_ascii_lowercase() || c == '-')).unwrap_or(after.len());
        if end == 0 {
            out.push_str("--");
        } else {
            out.push_str(&after[..end].replace('-', "_"));
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The error of a query: what the user asked for is wrong (`400`), or
/// something else failed (`500`); one line either way.
fn query_error(e: anyhow::Error) -> QueryError {
    if let Some(usage) = e.downcast_ref::<UsageError>() {
        return bad(as_parameters(&usage.0));
    }
    if let Some(dora_core::Error::InvalidOption { .. }) = e.downcast_ref::<dora_core::Error>() {
        return bad(e.to_string());
    }
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    QueryError::Internal(chain.join(": ").split_whitespace().collect::<Vec<_>>().join(" "))
}

impl StoreQueries {
    /// The command line of `dora <command>` for these parameters, parsed.
    fn parse(&self, command: &str, params: &Params) -> Result<Command, QueryError> {
        let (own, format): (&[&str], &str) = match command {
            "metrics" => (&METRICS, "json"),
            "explain" => (&EXPLAIN, "json"),
            _ => (&REPORT, "html"),
        };
        let mut argv: Vec<OsString> = vec!["dora".into(), command.into()];
        let mut positional = Vec::new();
        for (name, value) in params {
            let name = name.as_str();
            if FORBIDDEN.contains(&name) {
                return Err(bad(format!(
                    "parameter `{name}` is not allowed: the server reads only its own store and configuration, and answers in one format"
                )));
            }
            if !own.contains(&name) && !ENGINE.contains(&name) {
                let mut known: Vec<&str> = own.iter().chain(&ENGINE).copied().collect();
                known.sort_unstable();
                return Err(bad(format!("unknown parameter `{name}`; known: {}", known.join(", "))));
            }
            if name == "metric" {
                positional.push(OsString::from(value));
                continue;
            }
            let flag = format!("--{}", name.replace('_', "-"));
            if BOOLEAN.contains(&name) {
                match value.as_str() {
                    "true" => argv.push(flag.into()),
                    "false" => {}
                    _ => return Err(bad(format!("{name}: {value:?} is not true or false"))),
                }
                continue;
            }
            argv.push(format!("{flag}={value}").into());
        }
        argv.push(format!("--format={format}").into());
        let mut store = OsString::from("--store=");
        store.push(&self.store);
        argv.push(store);
        if let Some(path) = &self.config {
            let mut config = OsString::from("--config=");
            config.push(path);
            argv.push(config);
        }
        if !positional.is_empty() {
            argv.push("--".into());
            argv.extend(positional);
        }
        Cli::try_parse_from(argv).map(|cli| cli.command).map_err(|e| {
            // clap's message, up to its usage lines, on one line.
            let text = e.render().to_string();
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("tip:"))
                .filter(|l| !l.is_empty())
                .collect();
            let message = lines.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            bad(as_parameters(message).replace("<METRIC>", "`metric`"))
        })
    }

    /// The events are the served store's, whatever the configuration says.
    fn pin(&self, settings: &mut MetricsSettings) {
        settings.input = EventInput::Store(self.store.clone());
    }
}

impl Queries for StoreQueries {
    fn metrics(&self, params: &Params) -> Result<Vec<u8>, QueryError> {
        let Command::Metrics(args) = self.parse("metrics", params)? else {
            return Err(QueryError::Internal("not the metrics command".into()));
        };
        let run = || -> anyhow::Result<Vec<u8>> {
            let mut settings = MetricsSettings::resolve(&args, chrono::Utc::now())?;
            self.pin(&mut settings);
            let mut out = Vec::new();
            metrics::render(&settings, &mut out)?;
            Ok(out)
        };
        run().map_err(query_error)
    }

    fn explain(&self, params: &Params) -> Result<Vec<u8>, QueryError> {
        let Command::Explain(args) = self.parse("explain", params)? else {
            return Err(QueryError::Internal("not the explain command".into()));
        };
        let run = || -> anyhow::Result<Vec<u8>> {
            let (metric, mut settings) = explain::settings(&args)?;
            self.pin(&mut settings);
            let mut out = Vec::new();
            explain::render(&args, metric, &settings, &mut out)?;
            Ok(out)
        };
        run().map_err(query_error)
    }

    fn report_html(&self, params: &Params, links: &dyn ReportLinks) -> Result<Vec<u8>, QueryError> {
        let Command::Report(args) = self.parse("report", params)? else {
            return Err(QueryError::Internal("not the report command".into()));
        };
        let run = || -> anyhow::Result<Vec<u8>> {
            let mut settings = report::settings(&args)?;
            self.pin(&mut settings);
            let built = report::build(&args, &settings)?;
            let mut out = Vec::new();
            report::render(&built, ReportFormat::Html, &mut out, ReportTextOptions::default(), Some(links))?;
            Ok(out)
        };
        run().map_err(query_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queries() -> StoreQueries {
        StoreQueries { store: "s.db".into(), config: None }
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn error(command: &str, pairs: &[(&str, &str)]) -> String {
        match queries().parse(command, &p(pairs)) {
            Err(QueryError::BadRequest(m)) => m,
            other => panic!("{pairs:?}: {other:?}"),
        }
    }

    #[test]
    fn parameters_become_the_same_flags() {
        let Ok(Command::Explain(a)) = queries().parse(
            "explain",
            &p(&[
                ("metric", "lead-time"),
                ("period_index", "2"),
                ("since", "2026-01-01"),
                ("skip_bad_lines", "true"),
            ]),
        ) else {
            panic!("explain parses");
        };
        assert_eq!(a.metric, "lead-time");
        assert_eq!(a.period_index, Some(2));
        assert_eq!(a.metrics.since.as_deref(), Some("2026-01-01"));
        assert_eq!(a.metrics.format, crate::args::Format::Json);
        assert!(a.metrics.engine.skip_bad_lines);
        assert_eq!(a.metrics.engine.store, Some(PathBuf::from("s.db")));
        assert!(a.metrics.engine.events.is_empty());
    }

    #[test]
    fn other_input_output_and_unknown_parameters_are_refused() {
        for name in ["events", "store", "config", "format", "output"] {
            let m = error("metrics", &[(name, "/etc/passwd")]);
            assert!(m.contains(&format!("`{name}` is not allowed")), "{m}");
        }
        assert!(error("metrics", &[("colour", "red")]).starts_with("unknown parameter `colour`"));
        assert!(error("metrics", &[("week", "2026-W01")]).starts_with("unknown parameter `week`"));
        assert!(error("metrics", &[("skip_bad_lines", "yes")]).contains("skip_bad_lines"));
        assert!(error("explain", &[("metric", "lead-time"), ("period_index", "x")]).contains("period_index"));
        assert_eq!(error("explain", &[]), "the following required arguments were not provided: `metric`");
    }

    #[test]
    fn messages_name_parameters() {
        assert_eq!(as_parameters("--period-index: bad"), "period_index: bad");
        assert_eq!(as_parameters("a -- b --since"), "a -- b since");
    }
}
