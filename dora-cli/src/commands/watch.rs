//! `dora watch kubernetes`: record each rollout of the configured clusters
//! as it finishes, each in its own transaction together with the source's
//! sync state, until SIGINT or SIGTERM (the rollout being written is
//! finished first: nothing is half-written).

use anyhow::Result;

use crate::args::WatchKubernetesArgs;
use crate::config::LoadedConfig;
use crate::settings::sources::{KubernetesSettings, SourceSettings};
use crate::settings::usage;

/// The kubernetes source `--source` names, or the only one.
fn chosen<'a>(loaded: &'a LoadedConfig, wanted: Option<&str>) -> Result<&'a KubernetesSettings> {
    let sources: Vec<&KubernetesSettings> = loaded
        .sources
        .iter()
        .filter_map(|s| match s {
            SourceSettings::Kubernetes(k) => Some(k.as_ref()),
            _ => None,
        })
        .collect();
    let names = || sources.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(", ");
    match wanted {
        Some(name) => sources.iter().copied().find(|k| k.name == name).ok_or_else(|| {
            usage(format!("--source {name}: no kubernetes source of that name (configured: {})", names()))
        }),
        None => match sources.as_slice() {
            [one] => Ok(*one),
            [] => Err(usage(
                "no [[source]] of kind \"kubernetes\" in dora.toml (see docs/sources/kubernetes.md)"
                    .to_string(),
            )),
            _ => Err(usage(format!("several kubernetes sources ({}): choose one with --source", names()))),
        },
    }
}

/// Runs `dora watch kubernetes`.
pub fn kubernetes(args: &WatchKubernetesArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let source = chosen(&loaded, args.source.as_deref())?;
    run(source, &loaded, args)
}

#[cfg(feature = "kubernetes")]
fn run(source: &KubernetesSettings, loaded: &LoadedConfig, args: &WatchKubernetesArgs) -> Result<()> {
    use dora_core::source::Progress;
    use dora_core::store::Store;

    /// Progress as log lines on stderr.
    struct Log(String);
    impl Progress for Log {
        fn message(&self, message: &str) {
            eprintln!("watch: {}: {message}", self.0);
        }
    }

    let config = source.config(&crate::settings::sources::Build::new(loaded, None)?)?;
    let store_path = loaded.store_path(args.store.store.as_deref());
    let mut store = Store::open(&store_path)?;
    let state = store.sync_state(&source.name)?;
    let name = source.name.clone();
    let sink = |events: dora_core::EventSet, state: dora_core::store::SyncState| -> dora_core::Result<()> {
        let mut writer = store.writer()?;
        writer.put_set(&events)?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        writer.set_sync_state(&name, &state, &now)?;
        writer.commit()?;
        Ok(())
    };
    let stop = super::stop_signal();
    eprintln!(
        "watch: {}: watching (SIGINT or SIGTERM stops); storing in {}",
        source.name,
        store_path.display()
    );
    dora_sources::kubernetes::watch::watch(&config, state.as_ref(), &Log(source.name.clone()), sink, stop)?;
    eprintln!("watch: {}: stopped", source.name);
    Ok(())
}

#[cfg(not(feature = "kubernetes"))]
fn run(source: &KubernetesSettings, _: &LoadedConfig, _: &WatchKubernetesArgs) -> Result<()> {
    Err(usage(format!(
        "source `{}`: dora watch kubernetes needs dora built with the kubernetes feature: cargo build --release -p dora-cli --features kubernetes",
        source.name
    )))
}
