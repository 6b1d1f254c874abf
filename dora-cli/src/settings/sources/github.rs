//! `kind = "github"`: deployments, changes and incidents of GitHub
//! repositories (run with the `github` cargo feature).

use anyhow::Result;
use serde::Serialize;

use super::forge::{ForgeSettings, Scope};
use super::{Parsed, SourceTable};

/// A `github` source, checked.
#[derive(Debug, Clone, Serialize)]
pub struct GithubSettings {
    /// The source's name.
    pub name: String,
    /// Repositories, as `owner/name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// A whole organisation's repositories (archived ones left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// How deployments are found, with the keys of that strategy.
    #[serde(flatten)]
    pub strategy: GithubStrategy,
    /// Issue labels that make an incident [default: `["incident"]`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_labels: Option<Vec<String>>,
    /// The keys it shares with a gitlab source.
    #[serde(flatten)]
    pub forge: ForgeSettings,
}

/// How a GitHub source finds deployments (`strategy`), and the keys that go
/// with each.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum GithubStrategy {
    /// The Deployments API (the default).
    Deployments,
    /// Completed runs of workflow files.
    WorkflowRuns {
        /// The workflow files, like `deploy.yml` (at least one).
        workflows: Vec<String>,
        /// Only runs on this branch [default: any].
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        /// The environment deployed to [default: production].
        environment: String,
    },
    /// Published releases.
    Releases {
        /// Only tags matching this regular expression [default: all].
        #[serde(skip_serializing_if = "Option::is_none")]
        tag_pattern: Option<Parsed<regex::Regex>>,
        /// Count pre-releases too.
        prereleases: bool,
        /// The environment deployed to [default: production].
        environment: String,
    },
    /// Tags.
    Tags {
        /// Only tags matching this regular expression [default: all].
        #[serde(skip_serializing_if = "Option::is_none")]
        tag_pattern: Option<Parsed<regex::Regex>>,
        /// The environment deployed to [default: production].
        environment: String,
    },
}

/// The values of `strategy`.
const STRATEGIES: &str = "deployments, workflow_runs, releases, tags";

/// The keys of some strategies only, and those strategies.
const STRATEGY_KEYS: [(&str, &[&str]); 5] = [
    ("workflows", &["workflow_runs"]),
    ("branch", &["workflow_runs"]),
    ("environment", &["workflow_runs", "releases", "tags"]),
    ("tag_pattern", &["releases", "tags"]),
    ("prereleases", &["releases"]),
];

impl TryFrom<&mut SourceTable<'_>> for GithubStrategy {
    type Error = anyhow::Error;

    /// Reads `strategy` and the keys of the strategies; a key of another
    /// strategy than the one chosen is an error (it would do nothing).
    fn try_from(table: &mut SourceTable<'_>) -> Result<Self> {
        let strategy = table.string("strategy")?;
        let workflows = table.strings("workflows")?.unwrap_or_default();
        let branch = table.string("branch")?;
        let environment = table.string("environment")?.unwrap_or_else(|| "production".into());
        let tag_pattern = table.regex("tag_pattern")?;
        let prereleases = table.flag("prereleases")?.unwrap_or(false);
        let chosen = strategy.as_deref().unwrap_or("deployments");
        if !STRATEGIES.split(", ").any(|s| s == chosen) {
            return Err(table.error("strategy", format!("{chosen:?} is not one of {STRATEGIES}")));
        }
        if let Some((key, with)) =
            STRATEGY_KEYS.iter().find(|(k, with)| table.has(k) && !with.contains(&chosen))
        {
            return Err(table.error(key, format!("goes with strategy {}, not {chosen}", with.join(" or "))));
        }
        Ok(match chosen {
            "workflow_runs" if workflows.is_empty() => {
                return Err(table.error(
                    "workflows",
                    "list the workflow files (like \"deploy.yml\") of strategy workflow_runs",
                ));
            }
            "workflow_runs" => GithubStrategy::WorkflowRuns { workflows, branch, environment },
            "releases" => GithubStrategy::Releases { tag_pattern, prereleases, environment },
            "tags" => GithubStrategy::Tags { tag_pattern, environment },
            _ => GithubStrategy::Deployments,
        })
    }
}

/// Whether `s` is `owner/name`.
pub fn is_owner_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() == 2 && parts.iter().all(|p| !p.trim().is_empty())
}

impl TryFrom<&mut SourceTable<'_>> for GithubSettings {
    type Error = anyhow::Error;

    fn try_from(table: &mut SourceTable<'_>) -> Result<Self> {
        let repos = table.strings("repos")?.unwrap_or_default();
        let org = table.string("org")?;
        if repos.is_empty() && org.is_none() {
            return Err(table.error("repos", "list at least one owner/name (or set org)"));
        }
        if let Some(r) = repos.iter().find(|r| !is_owner_name(r)) {
            return Err(table.error("repos", format!("{r:?} is not owner/name")));
        }
        let strategy = GithubStrategy::try_from(&mut *table)?;
        let incident_labels = table.strings("incident_labels")?;
        let scope = Scope { listed: &repos, group: org.as_deref(), group_key: "org", noun: "repositories" };
        let forge = ForgeSettings::read(table, &scope)?;
        Ok(GithubSettings { name: table.name.clone(), repos, org, strategy, incident_labels, forge })
    }
}

#[cfg(feature = "github")]
impl GithubSettings {
    /// The GitHub source's settings: these over its defaults.
    pub fn config(&self, build: &super::Build<'_>) -> dora_sources::github::GithubConfig {
        use std::collections::BTreeMap;

        use dora_sources::github::{GithubConfig, OrgConfig, RepoConfig, Strategy};
        let forge = &self.forge;
        let mut config = GithubConfig::new(forge.each_listed(&self.repos, |r, service, team| RepoConfig {
            full_name: r.to_string(),
            service,
            team,
        }));
        // Keys of services and teams may be `owner/name` or the bare name.
        let by_name = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter().map(|(k, v)| (k.rsplit('/').next().unwrap_or(k).to_string(), v.clone())).collect()
        };
        config.org = self.org.as_ref().map(|org| OrgConfig {
            name: org.clone(),
            include: ForgeSettings::patterns(&forge.include),
            exclude: ForgeSettings::patterns(&forge.exclude),
            services: by_name(&forge.services),
            teams: by_name(&forge.teams),
        });
        super::forge::set_forge_fields!(config, forge, build);
        if let Some(l) = &self.incident_labels {
            config.incident_labels = l.clone();
        }
        if let Some(n) = forge.concurrency {
            config.concurrency = n;
        }
        let pattern = |p: &Option<Parsed<regex::Regex>>| p.as_ref().map(|p| p.value.clone());
        config.strategy = match &self.strategy {
            GithubStrategy::Deployments => Strategy::Deployments,
            GithubStrategy::WorkflowRuns { workflows, branch, environment } => Strategy::WorkflowRuns {
                workflows: workflows.clone(),
                branch: branch.clone(),
                environment: environment.clone(),
            },
            GithubStrategy::Releases { tag_pattern, prereleases, environment } => Strategy::Releases {
                tag_pattern: pattern(tag_pattern),
                prereleases: *prereleases,
                environment: environment.clone(),
            },
            GithubStrategy::Tags { tag_pattern, environment } => {
                Strategy::Tags { tag_pattern: pattern(tag_pattern), environment: environment.clone() }
            }
        };
        config
    }
}

#[cfg(all(test, feature = "github"))]
mod tests {
    use std::path::Path;

    use super::super::{Build, SourceSettings};

    #[test]
    fn concurrency_is_read_and_checked() {
        let text =
            |keys: &str| format!("[[source]]\nkind = \"github\"\nname = \"gh\"\norg = \"acme\"\n{keys}");
        let loaded = crate::config::parse(&text("concurrency = 3\n"), Path::new("dora.toml")).unwrap();
        let [SourceSettings::Github(g)] = &loaded.sources[..] else { panic!("one github source") };
        assert_eq!(g.config(&Build::new(&loaded, None).unwrap()).concurrency, 3);
        let loaded = crate::config::parse(&text(""), Path::new("dora.toml")).unwrap();
        let [SourceSettings::Github(g)] = &loaded.sources[..] else { panic!("one github source") };
        assert_eq!(g.config(&Build::new(&loaded, None).unwrap()).concurrency, 8, "the default");
        let e =
            crate::config::parse(&text("concurrency = 0\n"), Path::new("dora.toml")).unwrap_err().to_string();
        assert!(e.ends_with("source[0].concurrency: expected a whole number, 1 or more, got 0"), "{e}");
    }
}
