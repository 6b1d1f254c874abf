//! What a `github` and a `gitlab` source share: the API and its token,
//! the filters of an organisation's (group's) repositories, the mapping to
//! services and teams, monorepos, root causes and the run's bounds.

use std::collections::BTreeMap;

use anyhow::Result;
use dora_core::source::secret::{check_env_name, has_credentials, redact_url};
use serde::Serialize;

use super::{Parsed, SourceTable};

/// The keys a `github` and a `gitlab` source share, checked.
#[derive(Debug, Clone, Serialize)]
pub struct ForgeSettings {
    /// With `org` (`group`): only the repositories (projects) whose name
    /// (path below the group) matches one of these globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<Parsed<glob::Pattern>>,
    /// With `org` (`group`): never those matching one of these globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Parsed<glob::Pattern>>,
    /// The API: an `https://` URL without credentials (`http://` only with
    /// `allow_http`) [default: the public service].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The name of the environment variable that holds the token [default:
    /// `GITHUB_TOKEN`, `GITLAB_TOKEN`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Allow an `http://` `api_url` (tests against a local server only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
    /// Repository (project) -> service [default: its name].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Repository (project) -> team.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, String>,
    /// Monorepos: repository (project) -> (path prefix -> service).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub monorepo: BTreeMap<String, BTreeMap<String, String>>,
    /// The pattern of a root-cause commit in an incident's text (its first
    /// group is the SHA) [default: the source's].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause_pattern: Option<Parsed<regex::Regex>>,
    /// How far back the first run goes, in days [default: 90].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
    /// Stop a run past this many requests (1 or more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    /// Repositories (projects) read at once, under one request budget and
    /// one rate-limit pause (1 or more) [default: the source's, 8].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
}

/// What a forge source's keys may name: the repositories (projects) it
/// lists, and the organisation (group) whose ones it reads.
pub struct Scope<'s> {
    /// The repositories (projects) listed.
    pub listed: &'s [String],
    /// The organisation (group).
    pub group: Option<&'s str>,
    /// The key of `group`: `org` or `group`.
    pub group_key: &'static str,
    /// `repositories` or `projects`.
    pub noun: &'static str,
}

impl Scope<'_> {
    /// Whether `full` (`owner/name`, `group/project`) is one of the
    /// source's: listed, or below its organisation (group).
    fn holds(&self, full: &str) -> bool {
        self.listed.iter().any(|l| l == full)
            || self.group.is_some_and(|g| full.starts_with(&format!("{}/", g.trim_end_matches('/'))))
    }
}

impl ForgeSettings {
    /// Reads and checks the shared keys of a source whose repositories
    /// (projects) are `scope`.
    pub fn read(table: &mut SourceTable<'_>, scope: &Scope<'_>) -> Result<Self> {
        let include = table.globs("include")?;
        let exclude = table.globs("exclude")?;
        for (key, globs) in [("include", &include), ("exclude", &exclude)] {
            if !globs.is_empty() && scope.group.is_none() {
                return Err(table.error(
                    key,
                    format!("only with {0}: it filters the {1} of the {0}", scope.group_key, scope.noun),
                ));
            }
        }
        let api_url = table.string("api_url")?;
        let token_env = table.string("token_env")?;
        let allow_http = table.flag("allow_http")?.unwrap_or(false);
        check_api(table, api_url.as_deref(), allow_http, token_env.as_deref())?;
        let services = table.string_table("services")?;
        let teams = table.string_table("teams")?;
        for (key, map) in [("services", &services), ("teams", &teams)] {
            // With an organisation (group), names below it are read too.
            if let Some(k) = map.keys().find(|k| scope.group.is_none() && !scope.holds(k)) {
                return Err(
                    table.error(&format!("{key}.{k:?}"), format!("not one of this source's {}", scope.noun))
                );
            }
        }
        let monorepo = table.string_tables("monorepo")?;
        for (repo, prefixes) in &monorepo {
            if !scope.holds(repo) {
                return Err(table.error(
                    &format!("monorepo.{repo:?}"),
                    format!("not one of this source's {}", scope.noun),
                ));
            }
            if let Some((prefix, _)) = prefixes.iter().find(|(_, service)| service.trim().is_empty()) {
                return Err(
                    table.error(&format!("monorepo.{repo:?}.{prefix:?}"), "the service must not be empty")
                );
            }
        }
        Ok(ForgeSettings {
            include,
            exclude,
            api_url,
            token_env,
            allow_http,
            services,
            teams,
            monorepo,
            root_cause_pattern: table.regex("root_cause_pattern")?,
            lookback_days: table.integer("lookback_days", 0)?,
            max_requests: table.integer("max_requests", 1)?,
            concurrency: table.integer("concurrency", 1)?,
        })
    }

    /// One `T` per repository (project) of `listed`, made of its name and
    /// the service and team that `services` and `teams` give it.
    #[cfg(any(feature = "github", feature = "gitlab"))]
    pub fn each_listed<T>(
        &self,
        listed: &[String],
        make: impl Fn(&str, Option<String>, Option<String>) -> T,
    ) -> Vec<T> {
        listed.iter().map(|l| make(l, self.services.get(l).cloned(), self.teams.get(l).cloned())).collect()
    }

    /// The patterns of `include` or `exclude`.
    #[cfg(any(feature = "github", feature = "gitlab"))]
    pub fn patterns(globs: &[Parsed<glob::Pattern>]) -> Vec<glob::Pattern> {
        globs.iter().map(|g| g.value.clone()).collect()
    }
}

/// `api_url` is an `https://` URL without credentials (or `http://` with
/// `allow_http`), and `token_env` names an environment variable. No message
/// repeats a credential or a value that may be a token.
pub(super) fn check_api(
    table: &SourceTable<'_>,
    api_url: Option<&str>,
    allow_http: bool,
    token_env: Option<&str>,
) -> Result<()> {
    if let Some(u) = api_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(table.error("api_url", format!("{:?} is not an https:// URL", redact_url(u))));
        }
        if has_credentials(u) {
            return Err(table.error(
                "api_url",
                "credentials in the URL are refused: put the token in an environment variable named by \
                 token_env (the URL is not shown)",
            ));
        }
        if u.starts_with("http://") && !allow_http {
            return Err(table.error(
                "api_url",
                format!(
                    "{:?}: plain http:// is refused (the token would travel in clear); set allow_http = true \
                     only for a local test server",
                    redact_url(u)
                ),
            ));
        }
    }
    if let Some(name) = token_env
        && let Err(e) = check_env_name(name)
    {
        return Err(table.error("token_env", e));
    }
    Ok(())
}

/// Sets what `GithubConfig` and `GitlabConfig` share (fields of the same
/// names and meanings) from a source's [`ForgeSettings`] and the
/// [`super::Build`]: one list for two types that have no trait in common.
#[cfg(any(feature = "github", feature = "gitlab"))]
macro_rules! set_forge_fields {
    ($config:ident, $forge:expr, $build:expr) => {{
        let (forge, build): (
            &$crate::settings::sources::forge::ForgeSettings,
            &$crate::settings::sources::Build<'_>,
        ) = ($forge, $build);
        $config.monorepo = forge
            .monorepo
            .iter()
            .map(|(repo, prefixes)| (repo.clone(), dora_sources::PathServices::new(prefixes.clone())))
            .collect();
        if let Some(u) = &forge.api_url {
            $config.api_url = u.clone();
        }
        if let Some(t) = &forge.token_env {
            $config.token_env = t.clone();
        }
        if let Some(p) = &forge.root_cause_pattern {
            $config.root_cause = p.value.clone();
        }
        if let Some(d) = forge.lookback_days {
            $config.lookback_days = d;
        }
        $config.max_requests = build.max_requests.or(forge.max_requests);
        $config.allow_http = forge.allow_http;
        $config.production = build.production.clone();
    }};
}
#[cfg(any(feature = "github", feature = "gitlab"))]
pub(super) use set_forge_fields;
