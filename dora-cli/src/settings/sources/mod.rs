//! The `[[source]]` tables of `dora.toml`, checked: one settings type per
//! kind, each made from its raw table by one `TryFrom`, once, when the file
//! is loaded. `dora config check` prints these settings; `dora collect` and
//! `dora watch` build their sources from them. A missing key takes its
//! default; an unknown key, an unknown value or a value of the wrong type
//! is an error that names the file, the line, the source and the key.
//!
//! Everything here is checked whatever cargo features dora is built with;
//! only turning settings into a running source needs the kind's feature.

mod file;
mod forge;
mod github;
mod gitlab;
mod kubernetes;
mod opencost;
mod table;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Result;
use dora_core::ProductionPatterns;
use dora_core::source::Source;
use serde::Serialize;

use crate::config::LoadedConfig;
use crate::settings::usage;

pub use file::FileSettings;
pub use github::GithubSettings;
pub use gitlab::GitlabSettings;
pub use kubernetes::KubernetesSettings;
pub use opencost::OpencostSettings;
pub use table::{Context, Parsed, SourceTable};

/// A `[[source]]` table, checked, by its `kind`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSettings {
    /// JSON Lines and CSV files.
    File(FileSettings),
    /// GitHub repositories.
    Github(Box<GithubSettings>),
    /// GitLab projects.
    Gitlab(Box<GitlabSettings>),
    /// Kubernetes clusters.
    Kubernetes(Box<KubernetesSettings>),
    /// The cost of a cluster's workloads (OpenCost, Kubecost).
    Opencost(Box<OpencostSettings>),
}

/// The values of `kind`.
const KINDS: &str = "file, github, gitlab, kubernetes, opencost";

impl TryFrom<SourceTable<'_>> for SourceSettings {
    type Error = anyhow::Error;

    /// Reads the table's `kind`, then the keys of that kind; any other key
    /// is an error.
    fn try_from(mut table: SourceTable<'_>) -> Result<Self> {
        let Some(kind) = table.string("kind")? else {
            return Err(table.error("kind", format!("missing: one of {KINDS}")));
        };
        let settings = match kind.as_str() {
            "file" => SourceSettings::File(FileSettings::try_from(&mut table)?),
            "github" => SourceSettings::Github(Box::new(GithubSettings::try_from(&mut table)?)),
            "gitlab" => SourceSettings::Gitlab(Box::new(GitlabSettings::try_from(&mut table)?)),
            "kubernetes" => SourceSettings::Kubernetes(Box::new(KubernetesSettings::try_from(&mut table)?)),
            "opencost" => SourceSettings::Opencost(Box::new(OpencostSettings::try_from(&mut table)?)),
            other => return Err(table.error("kind", format!("{other:?} is not one of {KINDS}"))),
        };
        table.finish()?;
        Ok(settings)
    }
}

impl SourceSettings {
    /// The settings of every table of the file, in order; names are unique.
    pub fn all(context: &Context<'_>) -> Result<Vec<SourceSettings>> {
        let mut names = BTreeSet::new();
        let mut all = Vec::new();
        for index in 0..context.tables.len() {
            let table = SourceTable::new(context, index)?;
            if !names.insert(table.name.clone()) {
                let message = format!("`{}` names two sources; names must be unique", table.name);
                return Err(table.error("name", message));
            }
            all.push(SourceSettings::try_from(table)?);
        }
        Ok(all)
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            SourceSettings::File(f) => &f.name,
            SourceSettings::Github(g) => &g.name,
            SourceSettings::Gitlab(g) => &g.name,
            SourceSettings::Kubernetes(k) => &k.name,
            SourceSettings::Opencost(o) => &o.name,
        }
    }

    /// Its `kind`, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSettings::File(_) => "file",
            SourceSettings::Github(_) => "github",
            SourceSettings::Gitlab(_) => "gitlab",
            SourceSettings::Kubernetes(_) => "kubernetes",
            SourceSettings::Opencost(_) => "opencost",
        }
    }

    /// The source these settings describe, ready to collect. A kind whose
    /// cargo feature dora was built without is an error that says so.
    pub fn build(&self, build: &Build<'_>) -> Result<Box<dyn Source>> {
        match self {
            SourceSettings::File(f) => Ok(Box::new(f.source(&build.base_dir))),
            #[cfg(feature = "github")]
            SourceSettings::Github(g) => {
                Ok(Box::new(dora_sources::github::GithubSource::new(&g.name, g.config(build))))
            }
            #[cfg(feature = "gitlab")]
            SourceSettings::Gitlab(g) => {
                Ok(Box::new(dora_sources::gitlab::GitlabSource::new(&g.name, g.config(build))))
            }
            #[cfg(feature = "kubernetes")]
            SourceSettings::Kubernetes(k) => {
                Ok(Box::new(dora_sources::kubernetes::KubernetesSource::new(&k.name, k.config(build)?)))
            }
            #[cfg(feature = "opencost")]
            SourceSettings::Opencost(o) => {
                Ok(Box::new(dora_sources::opencost::OpencostSource::new(&o.name, o.config(build))))
            }
            #[allow(unreachable_patterns)]
            other => Err(usage(format!(
                "source `{}`: kind \"{kind}\" needs dora built with the {kind} feature: cargo build --release -p dora-cli --features {kind}",
                other.name(),
                kind = other.kind()
            ))),
        }
    }
}

/// What building a source takes besides its settings. (Each field is read
/// by the kinds that need it: a dora built without them leaves it unread.)
#[cfg_attr(not(all(feature = "github", feature = "gitlab", feature = "kubernetes")), allow(dead_code))]
pub struct Build<'a> {
    /// The directory relative paths of the file are read from.
    pub base_dir: PathBuf,
    /// `[metrics] production_patterns`: which environments get change sets.
    pub production: ProductionPatterns,
    /// `--max-requests`, over each source's `max_requests`.
    pub max_requests: Option<u64>,
    /// All the sources of the file: a Kubernetes source reads histories
    /// through a github or gitlab source's settings.
    pub sources: &'a [SourceSettings],
}

impl<'a> Build<'a> {
    /// What the loaded file gives, with `--max-requests`.
    pub fn new(loaded: &'a LoadedConfig, max_requests: Option<u64>) -> Result<Self> {
        let production = match &loaded.config.metrics.production_patterns {
            Some(p) => ProductionPatterns::new(p).map_err(|e| usage(format!("production_patterns: {e}")))?,
            None => ProductionPatterns::default(),
        };
        Ok(Build { base_dir: loaded.base_dir(), production, max_requests, sources: &loaded.sources })
    }

    /// The github source named `name`.
    #[cfg(all(feature = "kubernetes", feature = "github"))]
    fn github(&self, name: &str) -> Option<&GithubSettings> {
        self.sources.iter().find_map(|s| match s {
            SourceSettings::Github(g) if g.name == name => Some(g.as_ref()),
            _ => None,
        })
    }

    /// The gitlab source named `name`.
    #[cfg(all(feature = "kubernetes", feature = "gitlab"))]
    fn gitlab(&self, name: &str) -> Option<&GitlabSettings> {
        self.sources.iter().find_map(|s| match s {
            SourceSettings::Gitlab(g) if g.name == name => Some(g.as_ref()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests;
