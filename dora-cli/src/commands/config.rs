//! `dora config check`: validate `dora.toml` and print the effective
//! configuration (the file's values over the built-in defaults), secrets
//! redacted: the file never holds secrets, only the names of environment
//! variables that do, and their values are never printed. The sources are
//! printed as their checked settings, the very ones `dora collect` and
//! `dora watch` run.

use std::collections::BTreeMap;

use anyhow::Result;
use dora_core::DEFAULT_PRODUCTION_PATTERN;
use serde::Serialize;

use crate::args::StoreArgs;
use crate::config::{ByteSize, LoadedConfig, MetricsConfig, ServeConfig, StoreConfig};
use crate::settings::allocation::AllocationSettings;
use crate::settings::sources::SourceSettings;

/// What `dora config check` prints.
#[derive(Serialize)]
struct Effective<'a> {
    store: StoreConfig,
    metrics: MetricsConfig,
    serve: ServeConfig,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    teams: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Finance::is_empty")]
    finance: Finance<'a>,
    #[serde(rename = "source", skip_serializing_if = "<[_]>::is_empty")]
    sources: &'a [SourceSettings],
}

/// `[finance]`: the cost centers, then the allocation (a table, printed
/// after the plain keys as TOML requires).
#[derive(Serialize)]
struct Finance<'a> {
    #[serde(flatten)]
    centers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allocation: Option<&'a AllocationSettings>,
}

impl Finance<'_> {
    fn is_empty(&self) -> bool {
        self.centers.is_empty() && self.allocation.is_none()
    }
}

/// Runs `dora config check`.
pub fn run(args: &StoreArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.config.as_deref())?;
    let mut m = loaded.config.metrics.clone();
    if let Some(events) = &mut m.events {
        *events = events.iter().map(|p| loaded.resolve(p)).collect();
    }
    m.period.get_or_insert_with(|| "week".into());
    m.timezone.get_or_insert_with(|| "UTC".into());
    m.attribution_window.get_or_insert_with(|| "7d".into());
    m.lead_time_start.get_or_insert_with(|| "commit".into());
    m.production_patterns.get_or_insert_with(|| vec![DEFAULT_PRODUCTION_PATTERN.into()]);
    m.group_by.get_or_insert_with(|| vec!["all".into(), "service".into(), "team".into()]);
    // `dora serve`'s settings from the file over their defaults; the
    // `*_env` keys are names of variables, never their values.
    let mut serve = loaded.config.serve.clone();
    serve.listen.get_or_insert_with(|| "127.0.0.1:8080".into());
    serve.max_body.get_or_insert_with(|| ByteSize::Text("10MiB".into()));
    serve.metrics_window.get_or_insert_with(|| "30d".into());
    let effective = Effective {
        store: StoreConfig { path: Some(loaded.store_path(args.store.as_deref())) },
        metrics: m,
        serve,
        teams: &loaded.config.teams,
        finance: Finance { centers: &loaded.config.finance, allocation: loaded.allocation.as_ref() },
        sources: &loaded.sources,
    };
    match &loaded.path {
        Some(p) => println!("# {}: valid", p.display()),
        None => println!("# no dora.toml here: built-in defaults"),
    }
    println!("# effective configuration (secrets are never in it: only names of environment variables)");
    print!("{}", toml::to_string_pretty(&effective)?);
    Ok(())
}
