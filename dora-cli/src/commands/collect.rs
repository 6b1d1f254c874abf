//! `dora collect`: run the configured sources, several at once, and store
//! what each produced together with its new sync state, one transaction per
//! source: a failing source loses nothing of the others, and leaves its own
//! part of the store as it was.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Result;
use dora_core::source::{Collected, FileSource, Progress, Source};
use dora_core::store::{Store, SyncState, WriteSummary};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::CollectArgs;
use crate::config::{LoadedConfig, SourceConfig};
use crate::settings::usage;

/// Some sources failed (exit code 5); the others' results were stored.
#[derive(Debug)]
pub struct SourcesFailed {
    /// How many failed.
    pub failed: usize,
    /// How many ran.
    pub total: usize,
}

impl std::fmt::Display for SourcesFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} sources failed (the others' events were stored)", self.failed, self.total)
    }
}

impl std::error::Error for SourcesFailed {}

/// Builds the source a `[[source]]` table describes.
fn build(config: &SourceConfig, loaded: &LoadedConfig, max_requests: Option<u64>) -> Result<Box<dyn Source>> {
    match config {
        SourceConfig::File(f) => {
            let mut source = FileSource::new(&f.name, f.paths.clone(), &loaded.base_dir());
            source.read_options.skip_bad_lines = f.skip_bad_lines;
            Ok(Box::new(source))
        }
        SourceConfig::Github(g) => github(g.as_ref(), loaded, max_requests),
        SourceConfig::Gitlab(g) => gitlab(g.as_ref(), loaded, max_requests),
        SourceConfig::Kubernetes(k) => kubernetes(k.as_ref(), loaded, max_requests),
    }
}

#[cfg(feature = "github")]
fn github(
    g: &crate::config::GithubSourceConfig,
    loaded: &LoadedConfig,
    max_requests: Option<u64>,
) -> Result<Box<dyn Source>> {
    let cfg = github_config(g, loaded, max_requests)?;
    Ok(Box::new(dora_sources::github::GithubSource::new(&g.name, cfg)))
}

/// The settings of a `kind = "github"` source.
#[cfg(feature = "github")]
fn github_config(
    g: &crate::config::GithubSourceConfig,
    loaded: &LoadedConfig,
    max_requests: Option<u64>,
) -> Result<dora_sources::github::GithubConfig> {
    use std::collections::BTreeMap;

    use dora_sources::github::{GithubConfig, RepoConfig, Strategy};
    let repos = g
        .repos
        .iter()
        .map(|r| RepoConfig {
            full_name: r.clone(),
            service: g.services.get(r).cloned(),
            team: g.teams.get(r).cloned(),
        })
        .collect();
    let mut cfg = GithubConfig::new(repos);
    if let Some(org) = &g.org {
        let globs = |v: &[String]| -> Result<Vec<glob::Pattern>> {
            v.iter()
                .map(|p| glob::Pattern::new(p).map_err(|e| usage(format!("source `{}`: {p:?}: {e}", g.name))))
                .collect()
        };
        // Keys of services/teams may be `owner/name` or the bare name.
        let by_name = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter().map(|(k, v)| (k.rsplit('/').next().unwrap_or(k).to_string(), v.clone())).collect()
        };
        cfg.org = Some(dora_sources::github::OrgConfig {
            name: org.clone(),
            include: globs(&g.include)?,
            exclude: globs(&g.exclude)?,
            services: by_name(&g.services),
            teams: by_name(&g.teams),
        });
    }
    cfg.monorepo = g
        .monorepo
        .iter()
        .map(|(repo, prefixes)| (repo.clone(), dora_sources::github::PathServices::new(prefixes.clone())))
        .collect();
    if let Some(u) = &g.api_url {
        cfg.api_url = u.clone();
    }
    if let Some(t) = &g.token_env {
        cfg.token_env = t.clone();
    }
    if let Some(l) = &g.incident_labels {
        cfg.incident_labels = l.clone();
    }
    if let Some(p) = &g.root_cause_pattern {
        cfg.root_cause = regex::Regex::new(p)
            .map_err(|e| usage(format!("source `{}`: root_cause_pattern: {e}", g.name)))?;
    }
    if let Some(d) = g.lookback_days {
        cfg.lookback_days = d;
    }
    cfg.max_requests = max_requests.or(g.max_requests);
    let environment = g.environment.clone().unwrap_or_else(|| "production".into());
    let tag_pattern = g
        .tag_pattern
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| usage(format!("source `{}`: tag_pattern: {e}", g.name)))?;
    cfg.strategy = match g.strategy.as_deref() {
        Some("workflow_runs") => {
            Strategy::WorkflowRuns { workflows: g.workflows.clone(), branch: g.branch.clone(), environment }
        }
        Some("releases") => Strategy::Releases { tag_pattern, prereleases: g.prereleases, environment },
        Some("tags") => Strategy::Tags { tag_pattern, environment },
        _ => Strategy::Deployments,
    };
    cfg.allow_http = g.allow_http;
    if let Some(p) = &loaded.config.metrics.production_patterns {
        cfg.production =
            dora_core::ProductionPatterns::new(p).map_err(|e| usage(format!("production_patterns: {e}")))?;
    }
    Ok(cfg)
}

#[cfg(not(feature = "github"))]
fn github(
    g: &crate::config::GithubSourceConfig,
    _: &LoadedConfig,
    _: Option<u64>,
) -> Result<Box<dyn Source>> {
    Err(usage(format!(
        "source `{}`: kind \"github\" needs dora built with the github feature: cargo build --release -p dora-cli --features github",
        g.name
    )))
}

#[cfg(feature = "gitlab")]
fn gitlab(
    g: &crate::config::GitlabSourceConfig,
    loaded: &LoadedConfig,
    max_requests: Option<u64>,
) -> Result<Box<dyn Source>> {
    let cfg = gitlab_config(g, loaded, max_requests)?;
    Ok(Box::new(dora_sources::gitlab::GitlabSource::new(&g.name, cfg)))
}

/// The settings of a `kind = "gitlab"` source.
#[cfg(feature = "gitlab")]
fn gitlab_config(
    g: &crate::config::GitlabSourceConfig,
    loaded: &LoadedConfig,
    max_requests: Option<u64>,
) -> Result<dora_sources::gitlab::GitlabConfig> {
    use std::collections::BTreeMap;

    use dora_sources::PathServices;
    use dora_sources::gitlab::{GitlabConfig, GroupConfig, ProjectConfig};
    let projects = g
        .projects
        .iter()
        .map(|p| ProjectConfig {
            path: p.trim_matches('/').to_string(),
            service: g.services.get(p).cloned(),
            team: g.teams.get(p).cloned(),
        })
        .collect();
    let mut cfg = GitlabConfig::new(projects);
    if let Some(group) = &g.group {
        let globs = |v: &[String]| -> Result<Vec<glob::Pattern>> {
            v.iter()
                .map(|p| glob::Pattern::new(p).map_err(|e| usage(format!("source `{}`: {p:?}: {e}", g.name))))
                .collect()
        };
        cfg.group = Some(GroupConfig {
            path: group.trim_matches('/').to_string(),
            include: globs(&g.include)?,
            exclude: globs(&g.exclude)?,
            services: g.services.clone(),
            teams: g.teams.clone(),
        });
    }
    cfg.monorepo = g
        .monorepo
        .iter()
        .map(|(project, prefixes)| (project.clone(), PathServices::new(prefixes.clone())))
        .collect::<BTreeMap<_, _>>();
    if let Some(u) = &g.api_url {
        cfg.api_url = u.clone();
    }
    if let Some(t) = &g.token_env {
        cfg.token_env = t.clone();
    }
    if let Some(t) = g.production_tier {
        cfg.production_tier = t;
    }
    if let Some(t) = g.timeline_events {
        cfg.timeline_events = t;
    }
    cfg.incident_labels = g.incident_labels.clone();
    if let Some(p) = &g.root_cause_pattern {
        cfg.root_cause = regex::Regex::new(p)
            .map_err(|e| usage(format!("source `{}`: root_cause_pattern: {e}", g.name)))?;
    }
    if let Some(d) = g.lookback_days {
        cfg.lookback_days = d;
    }
    cfg.max_requests = max_requests.or(g.max_requests);
    cfg.allow_http = g.allow_http;
    if let Some(p) = &loaded.config.metrics.production_patterns {
        cfg.production =
            dora_core::ProductionPatterns::new(p).map_err(|e| usage(format!("production_patterns: {e}")))?;
    }
    Ok(cfg)
}

#[cfg(not(feature = "gitlab"))]
fn gitlab(
    g: &crate::config::GitlabSourceConfig,
    _: &LoadedConfig,
    _: Option<u64>,
) -> Result<Box<dyn Source>> {
    Err(usage(format!(
        "source `{}`: kind \"gitlab\" needs dora built with the gitlab feature: cargo build --release -p dora-cli --features gitlab",
        g.name
    )))
}

#[cfg(feature = "kubernetes")]
fn kubernetes(
    k: &crate::config::KubernetesSourceConfig,
    loaded: &LoadedConfig,
    max_requests: Option<u64>,
) -> Result<Box<dyn Source>> {
    let cfg = kubernetes_config(k, loaded, max_requests)?;
    Ok(Box::new(dora_sources::kubernetes::KubernetesSource::new(&k.name, cfg)))
}

/// The settings of a `kind = "kubernetes"` source.
#[cfg(feature = "kubernetes")]
pub fn kubernetes_config(
    k: &crate::config::KubernetesSourceConfig,
    loaded: &LoadedConfig,
    max_requests: Option<u64>,
) -> Result<dora_sources::kubernetes::KubernetesConfig> {
    use dora_sources::kubernetes::{ClusterConfig, KubernetesConfig};
    let cluster = |context: Option<&String>| ClusterConfig {
        context: context.cloned(),
        server: k.server.clone(),
        namespaces: k.namespaces.clone(),
        label_selector: k.label_selector.clone(),
        environment: context.and_then(|c| k.environments.get(c)).or(k.environment.as_ref()).cloned(),
        // Through a proxy URL the cluster is named after the source.
        name: k.server.as_ref().map(|_| k.name.clone()),
        namespace_environments: k.namespace_environments.clone(),
    };
    let clusters = if k.contexts.is_empty() {
        vec![cluster(None)]
    } else {
        k.contexts.iter().map(|c| cluster(Some(c))).collect()
    };
    let mut cfg = KubernetesConfig::new(clusters);
    if let Some(l) = &k.service_label {
        cfg.service_label = l.clone();
    }
    cfg.team_label = k.team_label.clone();
    if let Some(keys) = &k.commit_keys {
        cfg.commit_keys = keys.clone();
    }
    if let Some(p) = &k.image_commit_pattern {
        cfg.image_commit = Some(
            regex::Regex::new(p)
                .map_err(|e| usage(format!("source `{}`: image_commit_pattern: {e}", k.name)))?,
        );
    }
    if let Some(a) = k.argo_rollouts {
        cfg.argo_rollouts = a;
    }
    for (service, repository) in &k.repositories {
        let at = format!("source `{}`: repositories.{service:?}", k.name);
        cfg.repositories.insert(service.clone(), service_repository(repository, loaded, &at, max_requests)?);
    }
    if let Some(w) = &k.merge_window {
        let seconds = dora_core::parse_duration(w)
            .map_err(|e| usage(format!("source `{}`: merge_window: {e}", k.name)))?;
        cfg.merge_window = (seconds > 0).then(|| chrono::Duration::seconds(seconds));
    }
    Ok(cfg)
}

/// Where a service's history is read: a local clone, or a forge's API
/// through the settings (API URL, token variable) of the source named, or
/// of the only source of that kind, or the defaults.
#[cfg(feature = "kubernetes")]
fn service_repository(
    repository: &crate::config::RepositoryConfig,
    loaded: &LoadedConfig,
    at: &str,
    max_requests: Option<u64>,
) -> Result<dora_sources::kubernetes::ServiceRepository> {
    use dora_sources::kubernetes::ServiceRepository;
    let forge = match repository {
        crate::config::RepositoryConfig::Clone(path) => {
            return Ok(ServiceRepository::Clone(loaded.resolve(path)));
        }
        crate::config::RepositoryConfig::Forge(f) => f,
    };
    let kind = if forge.github.is_some() { "github" } else { "gitlab" };
    let chosen = loaded
        .config
        .sources
        .iter()
        .filter(|s| s.kind() == kind)
        .find(|s| forge.source.as_deref().is_none_or(|wanted| s.name() == wanted));
    let history = match (&forge.github, &forge.gitlab) {
        (Some(repo), _) => forge_history::github(repo, chosen, loaded, at, max_requests)?,
        (None, Some(project)) => forge_history::gitlab(project, chosen, loaded, at, max_requests)?,
        (None, None) => {
            return Err(usage(format!("{at}: give github = \"owner/name\" or gitlab = \"group/project\"")));
        }
    };
    Ok(ServiceRepository::History(history))
}

/// A forge's history, when dora is built with that forge's feature.
#[cfg(feature = "kubernetes")]
mod forge_history {
    use std::sync::Arc;

    use anyhow::Result;
    use dora_sources::changesets::CommitHistory;

    use crate::config::{LoadedConfig, SourceConfig};
    use crate::settings::usage;

    #[cfg(feature = "github")]
    pub(super) fn github(
        repo: &str,
        source: Option<&SourceConfig>,
        loaded: &LoadedConfig,
        at: &str,
        max_requests: Option<u64>,
    ) -> Result<Arc<dyn CommitHistory>> {
        use dora_sources::github::{GithubConfig, GithubHistory};
        let cfg = match source {
            Some(SourceConfig::Github(g)) => super::github_config(g, loaded, max_requests)?,
            _ => GithubConfig { max_requests, ..GithubConfig::new(Vec::new()) },
        };
        let history =
            GithubHistory::new(repo.trim_matches('/'), cfg, None).map_err(|e| usage(format!("{at}: {e}")))?;
        Ok(Arc::new(history))
    }

    #[cfg(not(feature = "github"))]
    pub(super) fn github(
        _: &str,
        _: Option<&SourceConfig>,
        _: &LoadedConfig,
        at: &str,
        _: Option<u64>,
    ) -> Result<Arc<dyn CommitHistory>> {
        Err(usage(format!(
            "{at}: a GitHub repository needs dora built with the github feature: cargo build --release -p dora-cli --features kubernetes,github"
        )))
    }

    #[cfg(feature = "gitlab")]
    pub(super) fn gitlab(
        project: &str,
        source: Option<&SourceConfig>,
        loaded: &LoadedConfig,
        at: &str,
        max_requests: Option<u64>,
    ) -> Result<Arc<dyn CommitHistory>> {
        use dora_sources::gitlab::{GitlabConfig, GitlabHistory};
        let cfg = match source {
            Some(SourceConfig::Gitlab(g)) => super::gitlab_config(g, loaded, max_requests)?,
            _ => GitlabConfig { max_requests, ..GitlabConfig::new(Vec::new()) },
        };
        let history = GitlabHistory::new(project.trim_matches('/'), cfg, None)
            .map_err(|e| usage(format!("{at}: {e}")))?;
        Ok(Arc::new(history))
    }

    #[cfg(not(feature = "gitlab"))]
    pub(super) fn gitlab(
        _: &str,
        _: Option<&SourceConfig>,
        _: &LoadedConfig,
        at: &str,
        _: Option<u64>,
    ) -> Result<Arc<dyn CommitHistory>> {
        Err(usage(format!(
            "{at}: a GitLab project needs dora built with the gitlab feature: cargo build --release -p dora-cli --features kubernetes,gitlab"
        )))
    }
}

#[cfg(not(feature = "kubernetes"))]
fn kubernetes(
    k: &crate::config::KubernetesSourceConfig,
    _: &LoadedConfig,
    _: Option<u64>,
) -> Result<Box<dyn Source>> {
    Err(usage(format!(
        "source `{}`: kind \"kubernetes\" needs dora built with the kubernetes feature: cargo build --release -p dora-cli --features kubernetes",
        k.name
    )))
}

/// Progress as a bar (on a terminal) or as log lines on stderr.
enum Reporter<'a> {
    Bar(ProgressBar, &'a MultiProgress),
    Log(String),
}

impl Progress for Reporter<'_> {
    fn part(&self, name: &str) -> Box<dyn Progress + '_> {
        match self {
            Reporter::Bar(parent, multi) => {
                let bar = multi.insert_after(parent, ProgressBar::new_spinner());
                bar.set_prefix(format!("  {name}"));
                Box::new(Reporter::Bar(bar, multi))
            }
            Reporter::Log(source) => Box::new(Reporter::Log(format!("{source}: {name}"))),
        }
    }
    fn set_total(&self, total: u64) {
        if let Reporter::Bar(b, _) = self {
            b.set_length(total);
            b.set_style(bar_style());
        }
    }
    fn advance(&self, done: u64) {
        if let Reporter::Bar(b, _) = self {
            b.inc(done);
        }
    }
    fn message(&self, message: &str) {
        match self {
            Reporter::Bar(b, _) => b.set_message(message.to_string()),
            Reporter::Log(name) => eprintln!("collect: {name}: {message}"),
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>16} [{bar:24}] {pos}/{len} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One source's outcome.
struct Outcome {
    name: String,
    kind: &'static str,
    result: std::result::Result<(WriteSummary, u64), String>,
    seconds: f64,
}

/// Runs `dora collect`.
pub fn run(args: &CollectArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let all = &loaded.config.sources;
    if all.is_empty() {
        return Err(usage(format!(
            "{}: no [[source]] to collect from (see docs/configuration.md); `dora import FILE` stores files without one",
            loaded.path.as_ref().map_or("dora.toml (none found)".into(), |p| p.display().to_string())
        )));
    }
    for name in &args.sources {
        if !all.iter().any(|s| s.name() == name) {
            let names: Vec<&str> = all.iter().map(|s| s.name()).collect();
            return Err(usage(format!("--source {name}: no such source (configured: {})", names.join(", "))));
        }
    }
    let chosen: Vec<&SourceConfig> = all
        .iter()
        .filter(|s| args.sources.is_empty() || args.sources.iter().any(|n| n == s.name()))
        .collect();
    let store_path = loaded.store_path(args.store.store.as_deref());
    let mut store = Store::open(&store_path)?;
    let mut work = Vec::new();
    for config in &chosen {
        work.push((build(config, &loaded, args.max_requests)?, store.sync_state(config.name())?));
    }

    let terminal = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if terminal {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let total = work.len();
    let (work_tx, work_rx) = crossbeam_channel::unbounded::<(Box<dyn Source>, Option<SyncState>)>();
    for item in work {
        work_tx.send(item).ok();
    }
    drop(work_tx);
    let (done_tx, done_rx) =
        crossbeam_channel::unbounded::<(String, &'static str, Result<Collected, String>, f64)>();
    let mut outcomes = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..(args.jobs as usize).min(total) {
            let (work_rx, done_tx, multi) = (work_rx.clone(), done_tx.clone(), &multi);
            scope.spawn(move || {
                for (mut source, state) in work_rx.iter() {
                    let name = source.name().to_string();
                    let reporter = if terminal {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_prefix(name.clone());
                        Reporter::Bar(bar, multi)
                    } else {
                        Reporter::Log(name.clone())
                    };
                    reporter.message("collecting");
                    let started = Instant::now();
                    let result = source.collect(state.as_ref(), &reporter).map_err(|e| e.to_string());
                    if let Reporter::Bar(b, _) = &reporter {
                        b.finish_with_message(if result.is_ok() { "done" } else { "failed" });
                    }
                    let secs = started.elapsed().as_secs_f64();
                    if done_tx.send((name, source.kind(), result, secs)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // Store each source's result as it arrives: one transaction each.
        for (name, kind, result, seconds) in done_rx.iter() {
            let result = result.and_then(|collected| {
                for note in &collected.notes {
                    multi.suspend(|| eprintln!("collect: {name}: {note}"));
                }
                let mut writer = store.writer().map_err(|e| e.to_string())?;
                writer.put_set(&collected.events).map_err(|e| e.to_string())?;
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                writer.set_sync_state(&name, &collected.state, &now).map_err(|e| e.to_string())?;
                let summary = writer.commit().map_err(|e| e.to_string())?;
                Ok((summary, collected.requests))
            });
            if let Err(e) = &result {
                multi.suspend(|| eprintln!("dora: error: source `{name}`: {e}"));
            }
            outcomes.push(Outcome { name, kind, result, seconds });
        }
    });
    multi.clear().ok();

    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    print_summary(&outcomes, &store_path);
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if failed > 0 {
        return Err(anyhow::Error::new(SourcesFailed { failed, total }));
    }
    Ok(())
}

fn print_summary(outcomes: &[Outcome], store: &std::path::Path) {
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(6).max(6);
    let kinds = outcomes.iter().map(|o| o.kind.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<kinds$}  {:>8}  {:>8}  {:>9}  {:>8}  {:>7}  result",
        "source", "kind", "added", "replaced", "unchanged", "requests", "seconds"
    );
    let mut total = WriteSummary::default();
    for o in outcomes {
        match &o.result {
            Ok((s, requests)) => {
                total.merge(*s);
                println!(
                    "{:<width$}  {:<kinds$}  {:>8}  {:>8}  {:>9}  {:>8}  {:>7.1}  ok",
                    o.name, o.kind, s.added, s.replaced, s.unchanged, requests, o.seconds
                );
            }
            Err(_) => println!(
                "{:<width$}  {:<kinds$}  {:>8}  {:>8}  {:>9}  {:>8}  {:>7.1}  failed",
                o.name, o.kind, "-", "-", "-", "-", o.seconds
            ),
        }
    }
    println!(
        "stored in {}: {} added, {} replaced, {} unchanged",
        store.display(),
        total.added,
        total.replaced,
        total.unchanged
    );
}
