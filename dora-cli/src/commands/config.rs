//! `dora config check`: validate `dora.toml` and print the effective
//! configuration (the file's values over the built-in defaults), secrets
//! redacted: the file never holds secrets, only the names of environment
//! variables that do, and their values are never printed.

use anyhow::Result;
use dora_core::DEFAULT_PRODUCTION_PATTERN;

use crate::args::StoreArgs;
use crate::config::LoadedConfig;

/// Runs `dora config check`.
pub fn run(args: &StoreArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.config.as_deref())?;
    let mut config = loaded.config.clone();
    config.store.path = Some(loaded.store_path(args.store.as_deref()));
    let m = &mut config.metrics;
    if let Some(events) = &mut m.events {
        *events = events.iter().map(|p| loaded.resolve(p)).collect();
    }
    m.period.get_or_insert_with(|| "week".into());
    m.timezone.get_or_insert_with(|| "UTC".into());
    m.attribution_window.get_or_insert_with(|| "7d".into());
    m.lead_time_start.get_or_insert_with(|| "commit".into());
    m.production_patterns.get_or_insert_with(|| vec![DEFAULT_PRODUCTION_PATTERN.into()]);
    m.group_by.get_or_insert_with(|| vec!["all".into(), "service".into(), "team".into()]);
    match &loaded.path {
        Some(p) => println!("# {}: valid", p.display()),
        None => println!("# no dora.toml here: built-in defaults"),
    }
    println!("# effective configuration (secrets are never in it: only names of environment variables)");
    print!("{}", toml::to_string_pretty(&config)?);
    Ok(())
}
