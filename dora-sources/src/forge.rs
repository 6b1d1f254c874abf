//! What the GitHub and GitLab sources share: the repository or project
//! being read and how its events are named, the root-cause rule of
//! incidents, and the include/exclude globs of an organisation or group.
//!
//! ```
//! use dora_sources::forge::{self, ForgeContext};
//!
//! let repo = ForgeContext::new("github", "acme/api", None, Some("core".into()));
//! assert_eq!(repo.service, "api");
//! assert_eq!(repo.id("deployment", 7), "github:acme/api:deployment:7");
//! let pattern = regex::Regex::new(forge::ROOT_CAUSE_PATTERN).unwrap();
//! assert_eq!(forge::root_cause(&pattern, Some("Root cause: 0a1b2c3d")).as_deref(), Some("0a1b2c3d"));
//! ```

use regex::Regex;

/// The repository (GitHub) or project (GitLab) being read, and how its
/// events are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeContext {
    /// The forge, the first part of every id: `github` or `gitlab`.
    pub forge: &'static str,
    /// `owner/name` on GitHub, `group/subgroup/project` on GitLab.
    pub path: String,
    /// The service its events belong to.
    pub service: String,
    /// The team, when configured.
    pub team: Option<String>,
    /// The source name written into events (the forge's).
    pub source: String,
}

impl ForgeContext {
    /// The repository or project at `path` of `forge`, whose events belong
    /// to `service` [default: the last part of the path] and `team`.
    pub fn new(forge: &'static str, path: &str, service: Option<String>, team: Option<String>) -> Self {
        let service = service.unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_string());
        Self { forge, path: path.to_string(), service, team, source: forge.to_string() }
    }

    /// An id of its objects: `<forge>:<path>:<what>:<id>`.
    pub fn id(&self, what: &str, id: impl std::fmt::Display) -> String {
        format!("{}:{}:{what}:{id}", self.forge, self.path)
    }
}

/// The default pattern of a root-cause line in an incident's text (the
/// Four Keys convention): `root cause: <sha>`.
pub const ROOT_CAUSE_PATTERN: &str = r"(?im)^\s*root[ -]cause:\s*([0-9a-f]{7,40})\b";

/// The root-cause commit an incident's text names: the first capture
/// group of `pattern`.
pub fn root_cause(pattern: &Regex, text: Option<&str>) -> Option<String> {
    let captures = pattern.captures(text?)?;
    captures.get(1).map(|m| m.as_str().to_string())
}

/// Refuses a plain `http://` API URL unless the settings allow it (for
/// tests against a local server): the token would travel in clear.
#[cfg(any(feature = "github", feature = "gitlab", feature = "opencost"))]
pub(crate) fn check_plain_http(api_url: &str, allow_http: bool) -> dora_core::Result<()> {
    if api_url.starts_with("http://") && !allow_http {
        return Err(dora_core::Error::Source {
            message: format!(
                "api_url {}: plain http:// is refused (the token would travel in clear)",
                dora_core::source::secret::redact_url(api_url)
            ),
        });
    }
    Ok(())
}

/// Whether a repository or project named `name` passes an organisation's
/// or group's globs: it matches one of `include` (or there are none) and
/// none of `exclude`.
pub fn wanted(include: &[glob::Pattern], exclude: &[glob::Pattern], name: &str) -> bool {
    (include.is_empty() || include.iter().any(|p| p.matches(name)))
        && !exclude.iter().any(|p| p.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_name_services_and_ids() {
        let project = ForgeContext::new("gitlab", "acme/platform/api", Some("api-svc".into()), None);
        assert_eq!((project.service.as_str(), project.source.as_str()), ("api-svc", "gitlab"));
        assert_eq!(project.id("issue", 3), "gitlab:acme/platform/api:issue:3");
        assert_eq!(ForgeContext::new("github", "solo", None, None).service, "solo");
    }

    #[test]
    fn globs_include_then_exclude() {
        let globs = |v: &[&str]| v.iter().map(|p| glob::Pattern::new(p).unwrap()).collect::<Vec<_>>();
        assert!(wanted(&[], &[], "anything"));
        assert!(wanted(&globs(&["svc-*"]), &globs(&["*-legacy"]), "svc-web"));
        assert!(!wanted(&globs(&["svc-*"]), &globs(&["*-legacy"]), "svc-legacy"));
        assert!(!wanted(&globs(&["svc-*"]), &[], "docs"));
    }

    #[test]
    fn the_root_cause_is_the_first_group() {
        let pattern = Regex::new(ROOT_CAUSE_PATTERN).unwrap();
        assert_eq!(root_cause(&pattern, Some("x\n  root-cause: abcdef1 more")).as_deref(), Some("abcdef1"));
        assert_eq!(root_cause(&pattern, Some("no cause")), None);
        assert_eq!(root_cause(&pattern, None), None);
    }
}
