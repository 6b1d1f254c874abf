//! Pure mapping from GitHub's API objects to `dora.events/v1` events: no
//! I/O, tested against recorded responses.
//!
//! - Ids are unique across sources: `github:owner/repo:deployment:<id>`,
//!   `github:owner/repo:run:<id>`, `github:owner/repo:release:<id>`,
//!   `github:owner/repo:issue:<number>`; changes are commit SHAs.
//! - A deployment's outcome is its latest terminal status: `success`, or
//!   `failure`/`error` (failures); `inactive` (set when a later deployment
//!   replaces it) leaves a success a success; `pending`, `queued` and
//!   `in_progress` are not finished, and such a deployment is left for a
//!   later run.
//! - A monorepo maps path prefixes to services
//!   ([`PathServices`](crate::monorepo::PathServices)): a deployment
//!   becomes one deployment per service its commits touched,
//!   `github:owner/repo:deployment:<id>:<service>`.

use chrono::{DateTime, Utc};
use regex::Regex;

use super::model::{
    GhCommit, GhCompare, GhDeployment, GhDeploymentStatus, GhFile, GhIssue, GhPullRequest, GhRelease,
    GhStatusState, GhTag, GhWorkflowRun,
};
pub use crate::forge::{ForgeContext, ROOT_CAUSE_PATTERN};
pub use crate::hotfix::{HotfixRule, ShippedRequest};
use dora_core::event::{Change, Deployment, DeploymentStatus, DeploymentType, Incident, PullRequest};

/// The paths a file change touches (both sides of a rename).
pub fn file_paths(files: &[GhFile]) -> impl Iterator<Item = &str> {
    files.iter().flat_map(|f| std::iter::once(f.filename.as_str()).chain(f.previous_filename.as_deref()))
}

/// The outcome of a deployment: its latest terminal status and that
/// status's time, or `None` while it is not finished.
pub fn deployment_outcome(statuses: &[GhDeploymentStatus]) -> Option<(DeploymentStatus, DateTime<Utc>)> {
    let mut sorted: Vec<&GhDeploymentStatus> = statuses.iter().collect();
    sorted.sort_by_key(|s| (s.created_at, s.id));
    let mut outcome = None;
    for s in sorted {
        match s.state {
            GhStatusState::Success => outcome = Some((DeploymentStatus::Success, s.created_at)),
            GhStatusState::Failure | GhStatusState::Error => {
                outcome = Some((DeploymentStatus::Failure, s.created_at))
            }
            // A replaced deployment keeps its outcome; the rest is not terminal.
            GhStatusState::Inactive
            | GhStatusState::Pending
            | GhStatusState::Queued
            | GhStatusState::InProgress
            | GhStatusState::Unknown => {}
        }
    }
    outcome
}

/// Whether `head` is a strict ancestor of `base`, from the comparison
/// `base...head`: an older version deployed again.
pub fn is_strict_ancestor(compare: &GhCompare) -> bool {
    compare.status == "behind" && compare.ahead_by == 0 && compare.behind_by > 0
}

/// Whether a deployment is a hotfix by `rule`, from its ref, description
/// and the pull requests it shipped.
pub fn is_hotfix(
    rule: &HotfixRule,
    git_ref: &str,
    description: Option<&str>,
    pulls: &[&GhPullRequest],
) -> bool {
    let labels: Vec<Vec<&str>> = pulls.iter().map(|p| p.labels.iter().map(|l| l.name()).collect()).collect();
    let shipped: Vec<ShippedRequest<'_>> = pulls
        .iter()
        .zip(&labels)
        .map(|(p, labels)| ShippedRequest { branch: &p.head.name, title: &p.title, labels })
        .collect();
    rule.matches(git_ref, description, &shipped)
}

/// A finished deployment attempt, whatever the strategy found it through:
/// what the change-set logic and the event need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// `deployment`, `run` or `release`: the middle of the event's id.
    pub kind: &'static str,
    /// The API object's id (a tag's name for tags).
    pub id: String,
    /// The environment.
    pub environment: String,
    /// The commit deployed.
    pub sha: String,
    /// The branch or tag deployed (for the hotfix rule).
    pub git_ref: String,
    /// A description or title (for the hotfix rule).
    pub description: Option<String>,
    /// When the attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// Its outcome and when it was decided.
    pub status: DeploymentStatus,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Whether GitHub marks the environment as production.
    pub production_flag: bool,
}

impl Attempt {
    /// The attempt of a Deployments API deployment with its outcome.
    pub fn from_deployment(dep: &GhDeployment, outcome: (DeploymentStatus, DateTime<Utc>)) -> Self {
        Attempt {
            kind: "deployment",
            id: dep.id.to_string(),
            environment: dep.environment.clone(),
            sha: dep.sha.clone(),
            git_ref: dep.git_ref.clone(),
            description: dep.description.clone(),
            started_at: Some(dep.created_at),
            status: outcome.0,
            finished_at: outcome.1,
            production_flag: dep.production_environment == Some(true),
        }
    }

    /// The attempt of a completed workflow run (`success`, or `failure` and
    /// `timed_out`; a cancelled or skipped run is not an attempt).
    pub fn from_workflow_run(run: &GhWorkflowRun, environment: &str) -> Option<Self> {
        if run.status.as_deref() != Some("completed") {
            return None;
        }
        let status = match run.conclusion.as_deref()? {
            "success" => DeploymentStatus::Success,
            "failure" | "timed_out" => DeploymentStatus::Failure,
            _ => return None,
        };
        Some(Attempt {
            kind: "run",
            id: run.id.to_string(),
            environment: environment.to_string(),
            sha: run.head_sha.clone(),
            git_ref: run.head_branch.clone().unwrap_or_default(),
            description: run.name.clone(),
            started_at: Some(run.run_started_at.unwrap_or(run.created_at)),
            status,
            finished_at: run.updated_at,
            production_flag: false,
        })
    }

    /// The attempt of a published release (drafts are not), at `sha`.
    pub fn from_release(release: &GhRelease, sha: &str, environment: &str) -> Option<Self> {
        let published = release.published_at.filter(|_| !release.draft)?;
        Some(Attempt {
            kind: "release",
            id: release.id.to_string(),
            environment: environment.to_string(),
            sha: sha.to_string(),
            git_ref: release.tag_name.clone(),
            description: None,
            started_at: None,
            status: DeploymentStatus::Success,
            finished_at: published,
            production_flag: false,
        })
    }

    /// The attempt of a tag (`strategy = tags`): a success at the tagged
    /// commit, at the annotated tag's date, else the commit's committed
    /// date (a lightweight tag has no date of its own).
    pub fn from_tag(tag: &GhTag, environment: &str) -> Option<Self> {
        Some(Attempt {
            kind: "tag",
            id: tag.name.clone(),
            environment: environment.to_string(),
            sha: tag.sha.clone(),
            git_ref: tag.name.clone(),
            description: None,
            started_at: None,
            status: DeploymentStatus::Success,
            finished_at: tag.tagged_at.or(tag.committed_at)?,
            production_flag: false,
        })
    }

    /// The key of the attempt in a source's state.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

/// The deployment event of an attempt.
pub fn deployment(
    repo: &ForgeContext,
    attempt: &Attempt,
    changes: Vec<String>,
    deployment_type: DeploymentType,
    remediates: Vec<String>,
) -> Deployment {
    Deployment {
        id: repo.id(attempt.kind, &attempt.id),
        service: repo.service.clone(),
        team: repo.team.clone(),
        source: Some(repo.source.clone()),
        environment: attempt.environment.clone(),
        finished_at: attempt.finished_at,
        started_at: attempt.started_at,
        status: attempt.status,
        commit: Some(attempt.sha.clone()),
        changes,
        deployment_type,
        remediates,
        note: None,
    }
}

/// A change event for a commit, with its pull request's times when it came
/// through one (squash and rebase merges included: the pull request is
/// found by the commit, so the lead time starts at the first commit of the
/// pull request, not at the squash).
pub fn change(
    repo: &ForgeContext,
    commit: &GhCommit,
    pull: Option<&GhPullRequest>,
    first_commit_at: Option<DateTime<Utc>>,
) -> Option<Change> {
    let committed_at = commit.commit.committer.as_ref().and_then(|c| c.date)?;
    Some(Change {
        id: commit.sha.clone(),
        service: repo.service.clone(),
        team: repo.team.clone(),
        source: Some(repo.source.clone()),
        committed_at,
        authored_at: commit.commit.author.as_ref().and_then(|a| a.date),
        pull_request: pull.map(|p| PullRequest {
            number: Some(p.number),
            opened_at: Some(p.created_at),
            merged_at: p.merged_at,
            first_commit_at,
        }),
    })
}

/// An incident from an issue carrying one of `labels` (pull requests and
/// issues without the labels give `None`). `caused_by_change` is the first
/// capture group of `root_cause` in the body.
pub fn incident(
    repo: &ForgeContext,
    issue: &GhIssue,
    labels: &[String],
    root_cause: &Regex,
) -> Option<Incident> {
    if issue.pull_request.is_some() {
        return None;
    }
    let labelled = issue.labels.iter().any(|l| labels.iter().any(|w| w.eq_ignore_ascii_case(l.name())));
    if !labelled {
        return None;
    }
    let caused_by_change = crate::forge::root_cause(root_cause, issue.body.as_deref());
    let severity = issue
        .labels
        .iter()
        .map(|l| l.name())
        .find(|n| n.to_ascii_lowercase().starts_with("sev"))
        .map(str::to_string);
    Some(Incident {
        id: repo.id("issue", issue.number),
        service: repo.service.clone(),
        team: repo.team.clone(),
        source: Some(repo.source.clone()),
        opened_at: issue.created_at,
        resolved_at: issue.closed_at,
        caused_by: None,
        caused_by_change,
        severity,
    })
}

#[cfg(test)]
mod tests;
