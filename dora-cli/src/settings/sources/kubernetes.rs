//! `kind = "kubernetes"`: rollouts of Deployments and Argo Rollouts (run
//! with the `kubernetes` cargo feature; also `dora watch kubernetes`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use dora_core::source::secret::{has_credentials, redact_url};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use toml::Value;

use super::github::is_owner_name;
use super::table::unknown;
use super::{Parsed, SourceTable};

/// A `kubernetes` source, checked.
#[derive(Debug, Clone, Serialize)]
pub struct KubernetesSettings {
    /// The source's name.
    pub name: String,
    /// Kubeconfig contexts, one cluster each [default: the current
    /// context, or in-cluster].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<String>,
    /// An API server URL instead of a kubeconfig (`kubectl proxy`), without
    /// credentials; not with `contexts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespaces [default: all].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Only workloads with these labels (`app=web,tier`), not blank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// The environment the workloads deploy to [default: the context's name].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Context (one of `contexts`) -> environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, String>,
    /// Namespace (one of `namespaces`, when listed) -> environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub namespace_environments: BTreeMap<String, String>,
    /// The label that names the service [default: app.kubernetes.io/name].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_label: Option<String>,
    /// The label that names the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_label: Option<String>,
    /// Annotation or label keys that hold the deployed commit
    /// [default: `["app.kubernetes.io/version"]`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_keys: Option<Vec<String>>,
    /// A regular expression (with a group) whose first group takes the
    /// commit out of the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_commit_pattern: Option<Parsed<regex::Regex>>,
    /// Read Argo Rollouts too [default: true].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argo_rollouts: Option<bool>,
    /// Merge one commit's rollouts to several clusters finishing within
    /// this window, in seconds (`30m`) [default: off].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_window: Option<Parsed<i64>>,
    /// Service -> where its commit history is read, for change sets.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub repositories: BTreeMap<String, Repository>,
}

/// Where a service's commit history is read (a value of `repositories`).
#[derive(Debug, Clone)]
pub enum Repository {
    /// A local clone (a working tree or a bare repository), as written:
    /// relative to `dora.toml`.
    Clone(PathBuf),
    /// A repository read through a forge's API.
    Forge(ForgeRepository),
}

/// A repository on GitHub or GitLab.
#[derive(Debug, Clone)]
pub struct ForgeRepository {
    /// Which forge.
    pub forge: Forge,
    /// `owner/name` on GitHub, `group/project` on GitLab.
    pub path: String,
    /// The source of that kind whose API URL and token are used: the one
    /// named, else the only one of that kind; `None`: there is none, and
    /// the public service is read with the default token variable.
    pub source: Option<String>,
}

/// GitHub or GitLab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// GitHub.
    Github,
    /// GitLab.
    Gitlab,
}

impl Forge {
    /// Its key in a `repositories` table, which is also its source kind.
    pub fn key(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
        }
    }
}

impl Serialize for Repository {
    /// As written: a path, or `{ github = "owner/name", source = "gh" }`.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Repository::Clone(path) => path.serialize(s),
            Repository::Forge(f) => {
                let mut map = s.serialize_map(None)?;
                map.serialize_entry(f.forge.key(), &f.path)?;
                if let Some(source) = &f.source {
                    map.serialize_entry("source", source)?;
                }
                map.end()
            }
        }
    }
}

/// What a value of `repositories` may be.
const REPOSITORY: &str = "the path of a local clone, or a table like { github = \"owner/name\" } or { gitlab = \"group/project\" }";

impl Repository {
    /// Reads the `value` at key path `at` of `table`.
    fn read(table: &SourceTable<'_>, at: &str, value: &Value) -> Result<Self> {
        let fields = match value {
            Value::String(path) => return Ok(Repository::Clone(PathBuf::from(path))),
            Value::Table(fields) => fields,
            other => return Err(table.expected(at, REPOSITORY, other)),
        };
        const KEYS: [&str; 3] = ["github", "gitlab", "source"];
        let mut values: [Option<&str>; 3] = [None; 3];
        for (key, value) in fields {
            let Some(i) = KEYS.iter().position(|k| k == key) else {
                return Err(table.error(at, unknown(key, &KEYS)));
            };
            values[i] = Some(
                value.as_str().ok_or_else(|| table.expected(&format!("{at}.{key}"), "a string", value))?,
            );
        }
        let [github, gitlab, source] = values;
        let (forge, path) = match (github, gitlab) {
            (Some(r), None) => (Forge::Github, r),
            (None, Some(p)) => (Forge::Gitlab, p),
            _ => {
                return Err(table
                    .error(at, "give exactly one of github = \"owner/name\", gitlab = \"group/project\""));
            }
        };
        let kind = forge.key();
        let well_formed = match forge {
            Forge::Github => is_owner_name(path),
            Forge::Gitlab => path.split('/').count() >= 2 && path.split('/').all(|p| !p.trim().is_empty()),
        };
        if !well_formed {
            let shape = if forge == Forge::Github { "owner/name" } else { "group/project" };
            return Err(table.error(&format!("{at}.{kind}"), format!("{path:?} is not {shape}")));
        }
        let context = table.context();
        let source = match source {
            Some(wanted) => match context.kind_of(wanted) {
                None => {
                    return Err(
                        table.error(&format!("{at}.source"), format!("no source is named `{wanted}`"))
                    );
                }
                Some(k) if k != kind => {
                    return Err(table.error(
                        &format!("{at}.source"),
                        format!("`{wanted}` is a {k} source, not a {kind} one"),
                    ));
                }
                Some(_) => Some(wanted.to_string()),
            },
            None => match context.names_of_kind(kind).as_slice() {
                [] => None,
                [only] => Some(only.to_string()),
                _ => {
                    return Err(table.error(
                        &format!("{at}.source"),
                        format!("several {kind} sources are configured: name the one to use"),
                    ));
                }
            },
        };
        Ok(Repository::Forge(ForgeRepository { forge, path: path.to_string(), source }))
    }
}

impl TryFrom<&mut SourceTable<'_>> for KubernetesSettings {
    type Error = anyhow::Error;

    fn try_from(table: &mut SourceTable<'_>) -> Result<Self> {
        let contexts = table.strings("contexts")?.unwrap_or_default();
        let server = table.string("server")?;
        if let Some(s) = &server {
            if !(s.starts_with("https://") || s.starts_with("http://")) {
                return Err(table.error("server", format!("{:?} is not an http(s):// URL", redact_url(s))));
            }
            if has_credentials(s) {
                return Err(table.error(
                    "server",
                    "credentials in the URL are refused (a server URL such as `kubectl proxy`'s gets none; \
                     the URL is not shown)",
                ));
            }
            if !contexts.is_empty() {
                return Err(table.error("server", "give either server or contexts, not both"));
            }
        }
        let namespaces = table.strings("namespaces")?.unwrap_or_default();
        let label_selector = table.string("label_selector")?;
        if label_selector.as_deref().is_some_and(|l| l.trim().is_empty()) {
            return Err(table.error("label_selector", "must not be empty"));
        }
        let environment = table.string("environment")?;
        let environments = table.string_table("environments")?;
        if let Some(c) = environments.keys().find(|c| !contexts.contains(c)) {
            return Err(table.error(&format!("environments.{c:?}"), "not one of this source's contexts"));
        }
        let namespace_environments = table.string_table("namespace_environments")?;
        if let Some(n) =
            namespace_environments.keys().find(|n| !namespaces.is_empty() && !namespaces.contains(n))
        {
            return Err(
                table.error(&format!("namespace_environments.{n:?}"), "not one of this source's namespaces")
            );
        }
        let service_label = table.string("service_label")?;
        let team_label = table.string("team_label")?;
        let commit_keys = table.strings("commit_keys")?;
        let image_commit_pattern = table.regex("image_commit_pattern")?;
        if image_commit_pattern.as_ref().is_some_and(|p| p.value.captures_len() < 2) {
            return Err(table.error("image_commit_pattern", "needs a group, like ':([0-9a-f]{7,40})$'"));
        }
        let argo_rollouts = table.flag("argo_rollouts")?;
        let merge_window = match table.string("merge_window")? {
            None => None,
            Some(text) => match dora_core::parse_duration(&text) {
                Ok(value) => Some(Parsed { text, value }),
                Err(e) => return Err(table.error("merge_window", e)),
            },
        };
        let repositories = match table.table("repositories")? {
            None => BTreeMap::new(),
            Some(t) => t
                .iter()
                .map(|(service, v)| {
                    Ok((service.clone(), Repository::read(table, &format!("repositories.{service:?}"), v)?))
                })
                .collect::<Result<_>>()?,
        };
        Ok(KubernetesSettings {
            name: table.name.clone(),
            contexts,
            server,
            namespaces,
            label_selector,
            environment,
            environments,
            namespace_environments,
            service_label,
            team_label,
            commit_keys,
            image_commit_pattern,
            argo_rollouts,
            merge_window,
            repositories,
        })
    }
}

#[cfg(feature = "kubernetes")]
impl KubernetesSettings {
    /// The Kubernetes source's settings: these over its defaults, with the
    /// histories of `repositories` (a forge's needs its token now).
    pub fn config(&self, build: &super::Build<'_>) -> Result<dora_sources::kubernetes::KubernetesConfig> {
        use dora_sources::kubernetes::{ClusterConfig, KubernetesConfig, ServiceRepository};
        let cluster = |context: Option<&String>| ClusterConfig {
            context: context.cloned(),
            server: self.server.clone(),
            namespaces: self.namespaces.clone(),
            label_selector: self.label_selector.clone(),
            environment: context
                .and_then(|c| self.environments.get(c))
                .or(self.environment.as_ref())
                .cloned(),
            // Through a proxy URL the cluster is named after the source.
            name: self.server.as_ref().map(|_| self.name.clone()),
            namespace_environments: self.namespace_environments.clone(),
        };
        let clusters = if self.contexts.is_empty() {
            vec![cluster(None)]
        } else {
            self.contexts.iter().map(|c| cluster(Some(c))).collect()
        };
        let mut config = KubernetesConfig::new(clusters);
        if let Some(l) = &self.service_label {
            config.service_label = l.clone();
        }
        config.team_label = self.team_label.clone();
        if let Some(keys) = &self.commit_keys {
            config.commit_keys = keys.clone();
        }
        config.image_commit = self.image_commit_pattern.as_ref().map(|p| p.value.clone());
        if let Some(a) = self.argo_rollouts {
            config.argo_rollouts = a;
        }
        for (service, repository) in &self.repositories {
            let history = match repository {
                Repository::Clone(path) => ServiceRepository::Clone(build.base_dir.join(path)),
                Repository::Forge(f) => {
                    let at = format!("source `{}`: repositories.{service:?}", self.name);
                    ServiceRepository::History(
                        history(f, build).map_err(|e| crate::settings::usage(format!("{at}: {e}")))?,
                    )
                }
            };
            config.repositories.insert(service.clone(), history);
        }
        if let Some(w) = &self.merge_window {
            config.merge_window = (w.value > 0).then(|| chrono::Duration::seconds(w.value));
        }
        Ok(config)
    }
}

/// The history of a forge's repository, read through the API URL and
/// token variable of the source it names (else the defaults).
#[cfg(feature = "kubernetes")]
#[cfg_attr(not(all(feature = "github", feature = "gitlab")), allow(unused_variables))]
fn history(
    f: &ForgeRepository,
    build: &super::Build<'_>,
) -> Result<std::sync::Arc<dyn dora_sources::changesets::CommitHistory>> {
    #[cfg(any(feature = "github", feature = "gitlab"))]
    use std::sync::Arc;
    let path = f.path.trim_matches('/');
    match f.forge {
        #[cfg(feature = "github")]
        Forge::Github => {
            use dora_sources::github::{GithubConfig as Config, GithubHistory};
            let default = || Config { max_requests: build.max_requests, ..Config::new(Vec::new()) };
            let config =
                f.source.as_deref().and_then(|s| build.github(s)).map_or_else(default, |g| g.config(build));
            Ok(Arc::new(GithubHistory::new(path, config, None)?))
        }
        #[cfg(feature = "gitlab")]
        Forge::Gitlab => {
            use dora_sources::gitlab::{GitlabConfig as Config, GitlabHistory};
            let default = || Config { max_requests: build.max_requests, ..Config::new(Vec::new()) };
            let config =
                f.source.as_deref().and_then(|s| build.gitlab(s)).map_or_else(default, |g| g.config(build));
            Ok(Arc::new(GitlabHistory::new(path, config, None)?))
        }
        #[allow(unreachable_patterns)]
        other => {
            let (what, kind) = match other {
                Forge::Github => ("a GitHub repository", "github"),
                Forge::Gitlab => ("a GitLab project", "gitlab"),
            };
            Err(anyhow::anyhow!(
                "{what} needs dora built with the {kind} feature: cargo build --release -p dora-cli --features kubernetes,{kind}"
            ))
        }
    }
}
