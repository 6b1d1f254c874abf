//! `dora.toml`: the file model and its checks. Unknown keys and bad values
//! are errors that name the file, the line and the key path; secrets are
//! never read from the file, only the names of environment variables that
//! hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use dora_core::source::secret::{check_env_name, has_credentials, redact_url};

use crate::settings::usage;

/// The `[metrics]` table: the options of `dora metrics` (and `dora report`).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Event files to read instead of the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<PathBuf>>,
    /// Window start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Window end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// day, week or month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Like `7d`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution_window: Option<String>,
    /// commit or first_commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_time_start: Option<String>,
    /// Production environment patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_patterns: Option<Vec<String>>,
    /// Group kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
}

/// The `[store]` table.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file, relative to `dora.toml` [default: `.dora/dora.db`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

/// A `[[source]]` of kind `file`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The source's name (unique).
    pub name: String,
    /// Paths or glob patterns, relative to `dora.toml`.
    pub paths: Vec<String>,
    /// Skip invalid lines and rows (each is reported) instead of failing.
    #[serde(default)]
    pub skip_bad_lines: bool,
}

/// A `[[source]]` of kind `github` (needs the `github` cargo feature to run).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSourceConfig {
    /// The source's name (unique).
    pub name: String,
    /// Repositories, as `owner/name`.
    #[serde(default)]
    pub repos: Vec<String>,
    /// A whole organisation's repositories (archived ones left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// With `org`: only repositories whose name matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// With `org`: never repositories whose name matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The REST API [default: https://api.github.com; GitHub Enterprise: https://HOST/api/v3].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The environment variable that holds the token [default: GITHUB_TOKEN].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// How deployments are found: `deployments` (the Deployments API, the
    /// default), `workflow_runs`, `releases` or `tags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// `workflow_runs`: the workflow files, like `deploy.yml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflows: Vec<String>,
    /// `workflow_runs`: only runs on this branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `workflow_runs`, `releases` and `tags`: the environment deployed to [default: production].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `releases` and `tags`: only tags matching this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_pattern: Option<String>,
    /// `releases`: count pre-releases too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prereleases: bool,
    /// Repository -> service [default: the repository's name].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Repository -> team.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, String>,
    /// Monorepos: `owner/name` -> (path prefix -> service).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub monorepo: BTreeMap<String, BTreeMap<String, String>>,
    /// Issue labels that make an incident [default: ["incident"]].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_labels: Option<Vec<String>>,
    /// The pattern of a root-cause commit in an incident's body (its first group is the SHA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause_pattern: Option<String>,
    /// How far back the first run goes, in days [default: 90].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
    /// Stop a run past this many requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    /// Allow an http:// api_url (tests against a local server only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
}

/// A `[[source]]` of kind `gitlab` (needs the `gitlab` cargo feature to run).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabSourceConfig {
    /// The source's name (unique).
    pub name: String,
    /// Projects, as `group/subgroup/project` paths.
    #[serde(default)]
    pub projects: Vec<String>,
    /// A whole group's projects, subgroups included (archived ones left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// With `group`: only projects whose path below the group matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// With `group`: never projects whose path below the group matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The server [default: https://gitlab.com; self-managed: https://gitlab.example.com].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The environment variable that holds the token [default: GITLAB_TOKEN].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Environments of GitLab's production tier are production too [default: true].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_tier: Option<bool>,
    /// Project -> service [default: the project's name].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Project -> team.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, String>,
    /// Monorepos: project path -> (path prefix -> service).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub monorepo: BTreeMap<String, BTreeMap<String, String>>,
    /// Issues with one of these labels are incidents too (issues of type incident always are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incident_labels: Vec<String>,
    /// The pattern of a root-cause commit in an incident's description (its first group is the SHA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause_pattern: Option<String>,
    /// Read incident timelines (start and end times) [default: true].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_events: Option<bool>,
    /// How far back the first run goes, in days [default: 90].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
    /// Stop a run past this many requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    /// Allow an http:// api_url (tests against a local server only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
}

/// A `[[source]]` of kind `kubernetes` (needs the `kubernetes` cargo feature to run).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSourceConfig {
    /// The source's name (unique).
    pub name: String,
    /// Kubeconfig contexts, one cluster each [default: the current context, or in-cluster].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<String>,
    /// An API server URL instead of a kubeconfig (`kubectl proxy`); no credentials are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespaces [default: all].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Only workloads with these labels (`app=web,tier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// The environment the workloads deploy to [default: the context's name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Context -> environment, when clusters differ.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, String>,
    /// Namespace -> environment, for namespaces that deploy elsewhere (`shop-staging` = `staging`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespace_environments: BTreeMap<String, String>,
    /// The label that names the service [default: app.kubernetes.io/name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_label: Option<String>,
    /// The label that names the team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_label: Option<String>,
    /// Annotation or label keys that hold the deployed commit [default: ["app.kubernetes.io/version"]].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_keys: Option<Vec<String>>,
    /// A regular expression whose first group takes the commit out of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_commit_pattern: Option<String>,
    /// Read Argo Rollouts too [default: true].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argo_rollouts: Option<bool>,
    /// Merge one commit's rollouts to several clusters finishing within this window (`30m`) [default: off].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_window: Option<String>,
    /// Service -> its repository, for change sets: a local clone (a path,
    /// relative to dora.toml), or `{ github = "owner/name" }` /
    /// `{ gitlab = "group/project" }` read through a github/gitlab source's API.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repositories: BTreeMap<String, RepositoryConfig>,
}

/// Where a service's commit history is read (a value of `repositories`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RepositoryConfig {
    /// A local clone: a working tree or a bare repository.
    Clone(PathBuf),
    /// A repository on GitHub or GitLab, read through their API.
    Forge(ForgeRepository),
}

/// A repository on GitHub or GitLab: exactly one of `github`, `gitlab`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ForgeRepository {
    /// `owner/name` on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<String>,
    /// `group/project` on GitLab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<String>,
    /// The github or gitlab source whose API URL and token are used
    /// [default: the only source of that kind, else the public service
    /// with the default token variable].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl<'de> Deserialize<'de> for RepositoryConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RepositoryConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "the path of a local clone, or a table like { github = \"owner/name\" } or { gitlab = \"group/project\" }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(RepositoryConfig::Clone(PathBuf::from(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                ForgeRepository::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RepositoryConfig::Forge)
            }
        }
        d.deserialize_any(V)
    }
}

/// A `[[source]]` table, by its `kind`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    /// JSON Lines and CSV files.
    File(FileSourceConfig),
    /// GitHub repositories.
    Github(Box<GithubSourceConfig>),
    /// GitLab projects.
    Gitlab(Box<GitlabSourceConfig>),
    /// Kubernetes clusters.
    Kubernetes(Box<KubernetesSourceConfig>),
}

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::File(f) => &f.name,
            SourceConfig::Github(g) => &g.name,
            SourceConfig::Gitlab(g) => &g.name,
            SourceConfig::Kubernetes(k) => &k.name,
        }
    }

    /// Its `kind`, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::File(_) => "file",
            SourceConfig::Github(_) => "github",
            SourceConfig::Gitlab(_) => "gitlab",
            SourceConfig::Kubernetes(_) => "kubernetes",
        }
    }
}

/// `dora.toml`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[store]`.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// `[teams]`: service -> team, overriding the events' own `team`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, String>,
    /// `[finance]`: team or service -> cost center.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub finance: BTreeMap<String, String>,
    /// `[[source]]` tables.
    #[serde(default, rename = "source", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceConfig>,
}

/// Keys that would hold a secret inline.
const SECRET_KEYS: [&str; 7] =
    ["token", "password", "secret", "api_key", "apikey", "private_key", "client_secret"];

/// The checks shared by the forge sources: `api_url` is an `https://` URL
/// without credentials (or `http://` with `allow_http`), and `token_env`
/// names an environment variable. No message repeats a credential or a
/// value that may be a token.
fn check_api(at: &str, api_url: Option<&str>, allow_http: bool, token_env: Option<&str>) -> Result<()> {
    if let Some(u) = api_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(usage(format!("{at}.api_url: {:?} is not an https:// URL", redact_url(u))));
        }
        if has_credentials(u) {
            return Err(usage(format!(
                "{at}.api_url: credentials in the URL are refused: put the token in an environment variable \
                 named by token_env (the URL is not shown)"
            )));
        }
        if u.starts_with("http://") && !allow_http {
            return Err(usage(format!(
                "{at}.api_url: {:?}: plain http:// is refused (the token would travel in clear); \
                 set allow_http = true only for a local test server",
                redact_url(u)
            )));
        }
    }
    if let Some(name) = token_env
        && let Err(e) = check_env_name(name)
    {
        return Err(usage(format!("{at}.token_env: {e}")));
    }
    Ok(())
}

/// The checks of a `gitlab` source; `at` names it (`dora.toml: source[2]`).
fn check_gitlab(g: &GitlabSourceConfig, at: &str) -> Result<()> {
    if g.projects.is_empty() && g.group.is_none() {
        return Err(usage(format!("{at}.projects: list at least one group/project path (or set group)")));
    }
    if let Some(p) = g.projects.iter().find(|p| p.trim_matches('/').is_empty() || p.contains("//")) {
        return Err(usage(format!("{at}.projects: {p:?} is not a project path like group/project")));
    }
    for (key, patterns) in [("include", &g.include), ("exclude", &g.exclude)] {
        for p in patterns {
            if let Err(e) = glob::Pattern::new(p) {
                return Err(usage(format!("{at}.{key}: {p:?}: {e}")));
            }
        }
    }
    check_api(at, g.api_url.as_deref(), g.allow_http, g.token_env.as_deref())?;
    for (project, prefixes) in &g.monorepo {
        let known = g.projects.contains(project)
            || g.group
                .as_ref()
                .is_some_and(|grp| project.starts_with(&format!("{}/", grp.trim_end_matches('/'))));
        if !known {
            return Err(usage(format!("{at}.monorepo.{project:?}: not one of this source's projects")));
        }
        if let Some((prefix, _)) = prefixes.iter().find(|(_, service)| service.trim().is_empty()) {
            return Err(usage(format!(
                "{at}.monorepo.{project:?}.{prefix:?}: the service must not be empty"
            )));
        }
    }
    if let Some(p) = &g.root_cause_pattern
        && let Err(e) = regex::Regex::new(p)
    {
        return Err(usage(format!("{at}.root_cause_pattern: {e}")));
    }
    Ok(())
}

/// The checks of a `kubernetes` source (`sources`: all of them, for the
/// sources its repositories name).
fn check_kubernetes(k: &KubernetesSourceConfig, at: &str, sources: &[SourceConfig]) -> Result<()> {
    for (service, repository) in &k.repositories {
        let RepositoryConfig::Forge(f) = repository else { continue };
        let at = format!("{at}.repositories.{service:?}");
        let (kind, name) = match (&f.github, &f.gitlab) {
            (Some(r), None) => ("github", r),
            (None, Some(r)) => ("gitlab", r),
            _ => {
                return Err(usage(format!(
                    "{at}: give exactly one of github = \"owner/name\", gitlab = \"group/project\""
                )));
            }
        };
        let parts: Vec<&str> = name.split('/').collect();
        let well_formed = parts.iter().all(|p| !p.trim().is_empty())
            && if kind == "github" { parts.len() == 2 } else { parts.len() >= 2 };
        if !well_formed {
            let shape = if kind == "github" { "owner/name" } else { "group/project" };
            return Err(usage(format!("{at}.{kind}: {name:?} is not {shape}")));
        }
        if let Some(wanted) = &f.source {
            match sources.iter().find(|s| s.name() == wanted) {
                None => return Err(usage(format!("{at}.source: no source is named `{wanted}`"))),
                Some(s) if s.kind() != kind => {
                    return Err(usage(format!(
                        "{at}.source: `{wanted}` is a {} source, not a {kind} one",
                        s.kind()
                    )));
                }
                Some(_) => {}
            }
        } else if sources.iter().filter(|s| s.kind() == kind).count() > 1 {
            return Err(usage(format!(
                "{at}.source: several {kind} sources are configured: name the one to use"
            )));
        }
    }
    if let Some(p) = &k.image_commit_pattern {
        match regex::Regex::new(p) {
            Err(e) => return Err(usage(format!("{at}.image_commit_pattern: {e}"))),
            Ok(r) if r.captures_len() < 2 => {
                return Err(usage(format!(
                    "{at}.image_commit_pattern: needs a group, like ':([0-9a-f]{{7,40}})$'"
                )));
            }
            Ok(_) => {}
        }
    }
    if let Some(s) = &k.server {
        if !(s.starts_with("https://") || s.starts_with("http://")) {
            return Err(usage(format!("{at}.server: {:?} is not an http(s):// URL", redact_url(s))));
        }
        if has_credentials(s) {
            return Err(usage(format!(
                "{at}.server: credentials in the URL are refused (a server URL such as `kubectl proxy`'s gets none; \
                 the URL is not shown)"
            )));
        }
    }
    if k.server.is_some() && !k.contexts.is_empty() {
        return Err(usage(format!("{at}.server: give either server or contexts, not both")));
    }
    if let Some(c) = k.environments.keys().find(|c| !k.contexts.contains(c)) {
        return Err(usage(format!("{at}.environments.{c:?}: not one of this source's contexts")));
    }
    if let Some(w) = &k.merge_window
        && let Err(e) = dora_core::parse_duration(w)
    {
        return Err(usage(format!("{at}.merge_window: {e}")));
    }
    if k.label_selector.as_deref().is_some_and(|l| l.trim().is_empty()) {
        return Err(usage(format!("{at}.label_selector: must not be empty")));
    }
    Ok(())
}

/// A loaded configuration and where it came from.
#[derive(Debug, Default)]
pub struct LoadedConfig {
    /// The file's contents.
    pub config: Config,
    /// The file, when there is one.
    pub path: Option<PathBuf>,
}

impl LoadedConfig {
    /// The directory relative paths of the file are resolved against: the
    /// file's own, else the current one.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.as_deref().and_then(Path::parent) {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Resolves a path of the file against [`LoadedConfig::base_dir`].
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_relative() { self.base_dir().join(p) } else { p.to_path_buf() }
    }

    /// The store's path: `--store`, else `[store] path`, else
    /// `.dora/dora.db` beside `dora.toml` (or in the current directory).
    pub fn store_path(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return p.to_path_buf();
        }
        let p = self
            .config
            .store
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(dora_core::store::DEFAULT_STORE_PATH));
        self.resolve(&p)
    }

    /// Reads the file named by `--config`, else `./dora.toml` when present.
    pub fn load(explicit: Option<&Path>) -> Result<LoadedConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("dora.toml");
                if !default.exists() {
                    return Ok(LoadedConfig::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| usage(format!("{}: cannot read the configuration: {e}", path.display())))?;
        let config = parse(&text, &path)?;
        Ok(LoadedConfig { config, path: Some(path) })
    }
}

/// Parses and checks the text of `dora.toml`.
pub fn parse(text: &str, path: &Path) -> Result<Config> {
    let at = |span: Option<std::ops::Range<usize>>, msg: String| match span {
        Some(s) => usage(format!(
            "{}:{}: {msg}",
            path.display(),
            text[..s.start.min(text.len())].matches('\n').count() + 1
        )),
        None => usage(format!("{}: {msg}", path.display())),
    };
    // Secrets first, with their own message (the typed parse would only say
    // "unknown field").
    let table: toml::Table = toml::from_str(text).map_err(|e| at(e.span(), e.message().to_string()))?;
    if let Some(toml::Value::Array(sources)) = table.get("source") {
        for (i, source) in sources.iter().enumerate() {
            let Some(source) = source.as_table() else { continue };
            for key in source.keys() {
                if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
                    return Err(usage(format!(
                        "{}: source[{i}].{key}: secrets are never read from dora.toml; put it in an \
                         environment variable and name that variable with `{key}_env`",
                        path.display()
                    )));
                }
            }
        }
    }
    let config: Config = toml::from_str(text).map_err(|e| {
        let mut msg = e.message().to_string();
        if msg.starts_with("unknown variant") {
            msg = format!("source kind: {msg}");
        }
        at(e.span(), msg)
    })?;
    let mut names = std::collections::BTreeSet::new();
    for (i, s) in config.sources.iter().enumerate() {
        if s.name().trim().is_empty() {
            return Err(usage(format!("{}: source[{i}].name: must not be empty", path.display())));
        }
        if !names.insert(s.name().to_string()) {
            return Err(usage(format!(
                "{}: source[{i}].name: `{}` names two sources; names must be unique",
                path.display(),
                s.name()
            )));
        }
        match s {
            SourceConfig::File(f) if f.paths.is_empty() => {
                return Err(usage(format!(
                    "{}: source[{i}].paths: list at least one path or glob",
                    path.display()
                )));
            }
            SourceConfig::File(_) => {}
            SourceConfig::Gitlab(_) | SourceConfig::Kubernetes(_) => {}
            SourceConfig::Github(g) => {
                if g.repos.is_empty() && g.org.is_none() {
                    return Err(usage(format!(
                        "{}: source[{i}].repos: list at least one owner/name (or set org)",
                        path.display()
                    )));
                }
                if let Some(r) = g.repos.iter().find(|r| r.split('/').filter(|p| !p.is_empty()).count() != 2)
                {
                    return Err(usage(format!(
                        "{}: source[{i}].repos: {r:?} is not owner/name",
                        path.display()
                    )));
                }
                match g.strategy.as_deref() {
                    None | Some("deployments") | Some("releases") | Some("tags") => {}
                    Some("workflow_runs") if g.workflows.is_empty() => {
                        return Err(usage(format!(
                            "{}: source[{i}].workflows: list the workflow files (like \"deploy.yml\") of strategy workflow_runs",
                            path.display()
                        )));
                    }
                    Some("workflow_runs") => {}
                    Some(other) => {
                        return Err(usage(format!(
                            "{}: source[{i}].strategy: {other:?} is not one of deployments, workflow_runs, releases, tags",
                            path.display()
                        )));
                    }
                }
                for (repo, prefixes) in &g.monorepo {
                    let known = g.repos.contains(repo)
                        || g.org
                            .as_ref()
                            .is_some_and(|o| repo.split_once('/').is_some_and(|(owner, _)| owner == o));
                    if !known {
                        return Err(usage(format!(
                            "{}: source[{i}].monorepo.{repo:?}: not one of this source's repositories",
                            path.display()
                        )));
                    }
                    if let Some((prefix, _)) = prefixes.iter().find(|(_, service)| service.trim().is_empty())
                    {
                        return Err(usage(format!(
                            "{}: source[{i}].monorepo.{repo:?}.{prefix:?}: the service must not be empty",
                            path.display()
                        )));
                    }
                }
                check_api(
                    &format!("{}: source[{i}]", path.display()),
                    g.api_url.as_deref(),
                    g.allow_http,
                    g.token_env.as_deref(),
                )?;
                if let Some(p) = &g.tag_pattern
                    && let Err(e) = regex::Regex::new(p)
                {
                    return Err(usage(format!("{}: source[{i}].tag_pattern: {e}", path.display())));
                }
                if let Some(p) = &g.root_cause_pattern
                    && let Err(e) = regex::Regex::new(p)
                {
                    return Err(usage(format!("{}: source[{i}].root_cause_pattern: {e}", path.display())));
                }
            }
        }
    }
    for (i, s) in config.sources.iter().enumerate() {
        let at = format!("{}: source[{i}]", path.display());
        match s {
            SourceConfig::Gitlab(g) => check_gitlab(g, &at)?,
            SourceConfig::Kubernetes(k) => check_kubernetes(k, &at, &config.sources)?,
            _ => {}
        }
    }
    for (table, map) in [("teams", &config.teams), ("finance", &config.finance)] {
        for (k, v) in map {
            if v.trim().is_empty() {
                return Err(usage(format!("{}: {table}.{k}: must not be empty", path.display())));
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("dora.toml")).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key_path_and_line() {
        assert_eq!(
            err("[store]\npath = \"a\"\nfoo = 1\n"),
            "dora.toml:3: unknown field `foo`, expected `path`"
        );
        let e = err(
            "[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\n\n[[source]]\nkind = \"fiel\"\nname = \"b\"\n",
        );
        assert!(e.starts_with("dora.toml:7: source kind: unknown variant `fiel`"), "{e}");
        let e = err("[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\ntoken = \"ghp_123\"\n");
        assert!(e.starts_with("dora.toml: source[0].token: secrets are never read"), "{e}");
        assert!(!e.contains("ghp_123"));
        let e = err(
            "[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\n[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"y\"]\n",
        );
        assert_eq!(e, "dora.toml: source[1].name: `a` names two sources; names must be unique");
        assert_eq!(err("[teams]\napi = \"\"\n"), "dora.toml: teams.api: must not be empty");
        assert!(
            err("[teams]\napi = 3\n").starts_with("dora.toml:2: invalid type: integer `3`"),
            "{}",
            err("[teams]\napi = 3\n")
        );
    }

    #[test]
    fn secrets_in_env_names_and_urls_are_refused_and_never_echoed() {
        let gh =
            |extra: &str| format!("[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"a/b\"]\n{extra}");
        let gl = |extra: &str| {
            format!("[[source]]\nkind = \"gitlab\"\nname = \"gl\"\nprojects = [\"a/b\"]\n{extra}")
        };
        let token = "glpat-Zx9fakeFAKEfake0000";
        for text in [gh(&format!("token_env = \"{token}\"\n")), gl(&format!("token_env = \"{token}\"\n"))] {
            let e = err(&text);
            assert!(e.contains("source[0].token_env: looks like a token itself"), "{e}");
            assert!(!e.contains("Zx9"), "{e}");
        }
        let e = err(&gh("token_env = \"my token\"\n"));
        assert!(e.contains("token_env: is not an environment variable name"), "{e}");
        assert!(!e.contains("my token"), "{e}");
        for text in [
            gh("api_url = \"https://bot:hunter2@ghe.example.com/api/v3\"\n"),
            gl("api_url = \"https://bot:hunter2@gitlab.example.com\"\n"),
            "[[source]]\nkind = \"kubernetes\"\nname = \"k\"\nserver = \"http://u:hunter2@127.0.0.1:8001\"\n"
                .into(),
        ] {
            let e = err(&text);
            assert!(e.contains("credentials in the URL are refused"), "{e}");
            assert!(!e.contains("hunter2") && !e.contains("bot"), "{e}");
        }
        // What `collect` refuses, the check refuses too.
        for text in [gh("api_url = \"http://ghe.local/api/v3\"\n"), gl("api_url = \"http://gitlab.local\"\n")]
        {
            let e = err(&text);
            assert!(e.contains("plain http:// is refused"), "{e}");
        }
        assert!(
            parse(&gh("api_url = \"http://127.0.0.1:1/api/v3\"\nallow_http = true\n"), Path::new("d"))
                .is_ok()
        );
        assert!(parse(&gl("token_env = \"CI_JOB_TOKEN\"\n"), Path::new("d")).is_ok());
    }

    #[test]
    fn a_full_file_parses() {
        let c = parse(
            "[store]\npath = \"x.db\"\n[metrics]\nperiod = \"month\"\n[teams]\napi = \"payments\"\n[finance]\npayments = \"CC-1\"\n[[source]]\nkind = \"file\"\nname = \"inc\"\npaths = [\"*.csv\"]\nskip_bad_lines = true\n",
            Path::new("dora.toml"),
        )
        .unwrap();
        assert_eq!(c.teams["api"], "payments");
        assert_eq!(c.sources[0].name(), "inc");
    }
}
