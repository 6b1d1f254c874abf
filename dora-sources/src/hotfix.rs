//! Hotfixes: a deployment marked as one by its branch, its description, or
//! the pull or merge requests it shipped (shared by the repository sources).

use regex::Regex;

/// A pull or merge request a deployment shipped, as the hotfix rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct ShippedRequest<'a> {
    /// Its source branch.
    pub branch: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its labels.
    pub labels: &'a [&'a str],
}

/// How a branch, title or labels mark a hotfix.
#[derive(Debug, Clone)]
pub struct HotfixRule {
    /// Matched against the branch deployed (or the pull request's branch).
    pub branch: Option<Regex>,
    /// Matched against a pull request's or deployment's title/description.
    pub title: Option<Regex>,
    /// A pull request label that marks a hotfix.
    pub label: Option<String>,
}

impl Default for HotfixRule {
    fn default() -> Self {
        Self {
            branch: Regex::new(r"(?i)^(hotfix|hot-fix)[/_-]").ok(),
            title: Regex::new(r"(?i)\bhotfix\b").ok(),
            label: Some("hotfix".into()),
        }
    }
}

impl HotfixRule {
    /// Whether a deployment is a hotfix, from its ref, description and the
    /// requests it shipped.
    pub fn matches(&self, git_ref: &str, description: Option<&str>, shipped: &[ShippedRequest<'_>]) -> bool {
        let branch = |b: &str| self.branch.as_ref().is_some_and(|r| r.is_match(b));
        let title = |t: &str| self.title.as_ref().is_some_and(|r| r.is_match(t));
        branch(git_ref)
            || description.is_some_and(title)
            || shipped.iter().any(|p| {
                branch(p.branch)
                    || title(p.title)
                    || self.label.as_ref().is_some_and(|l| p.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
            })
    }
}
