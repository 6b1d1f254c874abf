//! The sources of `dora.toml` as `dora serve` collects them: a
//! [`dora_serve::Collector`] that runs one source with the code of `dora
//! collect` ([`crate::commands::collect::run_source`]): its sync state read
//! from the store, its incremental run, its events and new sync state stored
//! in one transaction. A webhook-fed store thus holds what `dora collect`
//! would store.

use std::path::PathBuf;

use dora_core::source::NoProgress;
use dora_core::store::Store;
use dora_serve::{Collector, Forge, RunSummary, Scope, SourceInfo};

use crate::commands::collect::run_source;
use crate::config::LoadedConfig;
use crate::settings::sources::{Build, Parsed, SourceSettings};

/// Whether this dora can run sources of `kind` (its cargo feature is built in).
fn built_in(kind: &str) -> bool {
    match kind {
        "file" => true,
        "github" => cfg!(feature = "github"),
        "gitlab" => cfg!(feature = "gitlab"),
        "kubernetes" => cfg!(feature = "kubernetes"),
        _ => false,
    }
}

/// The configured sources, run against one store.
#[derive(Debug)]
pub struct SourcesCollector {
    loaded: LoadedConfig,
    store: PathBuf,
}

impl SourcesCollector {
    /// The sources of `loaded`, stored into `store`.
    pub fn new(loaded: LoadedConfig, store: PathBuf) -> Self {
        SourcesCollector { loaded, store }
    }

    /// One line per source this dora cannot run (its kind's feature is not
    /// built in): neither webhooks nor the schedule run it.
    pub fn skipped(&self) -> Vec<String> {
        self.loaded
            .sources
            .iter()
            .filter(|s| !built_in(s.kind()))
            .map(|s| {
                format!(
                    "source `{}` is not collected: kind \"{kind}\" needs dora built with the {kind} feature",
                    s.name(),
                    kind = s.kind()
                )
            })
            .collect()
    }

    fn runnable(&self) -> impl Iterator<Item = &SourceSettings> {
        self.loaded.sources.iter().filter(|s| built_in(s.kind()))
    }
}

/// Whether `name` passes `include` (empty: everything) and no `exclude`,
/// as the sources decide it.
fn wanted(include: &[Parsed<glob::Pattern>], exclude: &[Parsed<glob::Pattern>], name: &str) -> bool {
    let globs = |given: &[Parsed<glob::Pattern>]| given.iter().map(|g| g.value.clone()).collect::<Vec<_>>();
    dora_sources::forge::wanted(&globs(include), &globs(exclude), name)
}

/// Whether the settings' source reads the repository (project) `path` of
/// `forge`: listed, or in its organisation (group) and not filtered out.
/// Listed names and the organisation (group) compare without regard to
/// case, as the forges' do; `include` and `exclude` match as the source
/// matches them, on the names the API gives (which deliveries give too).
pub(crate) fn covers(settings: &SourceSettings, forge: Forge, path: &str) -> bool {
    let path = path.trim_matches('/');
    match (settings, forge) {
        (SourceSettings::Github(g), Forge::Github) => {
            if g.repos.iter().any(|r| r.eq_ignore_ascii_case(path)) {
                return true;
            }
            let Some((owner, name)) = path.split_once('/') else { return false };
            g.org.as_deref().is_some_and(|org| {
                org.eq_ignore_ascii_case(owner)
                    && !name.contains('/')
                    && wanted(&g.forge.include, &g.forge.exclude, name)
            })
        }
        (SourceSettings::Gitlab(g), Forge::Gitlab) => {
            if g.projects.iter().any(|p| p.trim_matches('/').eq_ignore_ascii_case(path)) {
                return true;
            }
            g.group.as_deref().is_some_and(|group| {
                let group = group.trim_matches('/');
                path.len() > group.len() + 1
                    && path.is_char_boundary(group.len())
                    && path[..group.len()].eq_ignore_ascii_case(group)
                    && path.as_bytes()[group.len()] == b'/'
                    && wanted(&g.forge.include, &g.forge.exclude, &path[group.len() + 1..])
            })
        }
        _ => false,
    }
}

impl Collector for SourcesCollector {
    fn sources(&self) -> Vec<SourceInfo> {
        self.runnable()
            .map(|s| SourceInfo { name: s.name().to_string(), kind: s.kind().to_string() })
            .collect()
    }

    fn covering(&self, forge: Forge, path: &str) -> Vec<String> {
        self.runnable().filter(|s| covers(s, forge, path)).map(|s| s.name().to_string()).collect()
    }

    /// Runs the whole source, whatever `scope` says: its sync state is one
    /// per source, and an incremental run of a forge source with nothing
    /// new costs two requests per repository.
    fn collect(&self, source: &str, _scope: &Scope) -> Result<RunSummary, String> {
        let settings = self
            .runnable()
            .find(|s| s.name() == source)
            .ok_or_else(|| format!("no source named `{source}`"))?;
        let build = Build::new(&self.loaded, None).map_err(|e| format!("{e:#}"))?;
        let mut built = settings.build(&build).map_err(|e| format!("{e:#}"))?;
        let mut store = Store::open(&self.store).map_err(|e| e.to_string())?;
        let run = run_source(&mut store, built.as_mut(), &NoProgress)?;
        Ok(RunSummary {
            added: run.summary.added,
            replaced: run.summary.replaced,
            unchanged: run.summary.unchanged,
            requests: run.requests,
            notes: run.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn collector(toml: &str) -> SourcesCollector {
        let loaded = crate::config::parse(toml, Path::new("dora.toml")).unwrap();
        SourcesCollector::new(loaded, "unused.db".into())
    }

    #[test]
    fn sources_cover_their_repositories_and_projects() {
        let c = collector(
            r#"
[[source]]
kind = "github"
name = "listed"
repos = ["acme/api", "acme/web"]

[[source]]
kind = "github"
name = "org"
org = "Acme"
include = ["api*", "web"]
exclude = ["api-legacy"]

[[source]]
kind = "gitlab"
name = "gl"
projects = ["acme/shop/checkout"]

[[source]]
kind = "gitlab"
name = "group"
group = "acme/platform"
exclude = ["old/*"]

[[source]]
kind = "file"
name = "files"
paths = ["x.jsonl"]
"#,
        );
        let github = |p: &str| c.covering(Forge::Github, p);
        let gitlab = |p: &str| c.covering(Forge::Gitlab, p);
        if cfg!(feature = "github") {
            assert_eq!(github("acme/api"), ["listed", "org"]);
            assert_eq!(github("ACME/web"), ["listed", "org"]);
            // The globs compare as the source does (with the API's names, as the deliveries give them).
            assert_eq!(github("acme/Web"), ["listed"]);
            assert_eq!(github("acme/api-v2"), ["org"]);
            assert!(github("acme/api-legacy").is_empty());
            assert!(github("acme/docs").is_empty());
            assert!(github("other/api").is_empty());
        } else {
            assert!(github("acme/api").is_empty(), "no github source without the feature");
        }
        if cfg!(feature = "gitlab") {
            assert_eq!(gitlab("acme/shop/checkout"), ["gl"]);
            assert_eq!(gitlab("acme/platform/a/b"), ["group"]);
            assert!(gitlab("acme/platform/old/x").is_empty());
            assert!(gitlab("acme/platformx/a").is_empty());
            assert!(gitlab("acme/platform").is_empty());
            assert!(gitlab("acme/api").is_empty(), "a GitHub name is not a GitLab project");
        } else {
            assert!(gitlab("acme/shop/checkout").is_empty());
        }
        // The file source is always collected (the schedule runs it).
        assert!(c.sources().iter().any(|s| s.name == "files" && s.kind == "file"));
        assert_eq!(c.skipped().is_empty(), cfg!(all(feature = "github", feature = "gitlab")));
    }
}
