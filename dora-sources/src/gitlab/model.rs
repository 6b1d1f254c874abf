//! The serde types of GitLab's REST API (v4) that dora reads: only the
//! fields it uses. Times are RFC 3339 with any offset (self-managed servers
//! answer in their own zone) and are kept as UTC instants.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `GET /projects/:id/deployments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlDeployment {
    /// Its id (unique on the server).
    pub id: u64,
    /// The commit deployed.
    pub sha: String,
    /// The branch or tag deployed.
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// `created`, `running`, `success`, `failed`, `canceled`, `blocked`
    /// (and `skipped`; DevLake also meets `completed`).
    pub status: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed (its status transition, for a finished one).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When it finished: GitLab keeps this column, and newer servers may
    /// serve it; the REST API of the versions seen so far does not.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Its environment.
    pub environment: GlEnvironmentRef,
    /// The CI job that deployed it (`null` for deployments made through the
    /// API by an outside tool).
    #[serde(default)]
    pub deployable: Option<GlJob>,
}

/// The environment of a deployment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlEnvironmentRef {
    /// Its name, like `production` or `review/fix-foo`.
    pub name: String,
}

/// A CI job (the `deployable` of a deployment).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlJob {
    /// Its id.
    pub id: u64,
    /// Its status (`success`, `failed`, `canceled`, `skipped`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// When it started running.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// `GET /projects/:id/environments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlEnvironment {
    /// Its name.
    pub name: String,
    /// Its deployment tier: `production`, `staging`, `testing`,
    /// `development` or `other` (GitLab 13.10+).
    #[serde(default)]
    pub tier: Option<String>,
}

/// A commit (compare, commit lists, merge request commits).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlCommit {
    /// Its SHA.
    pub id: String,
    /// Its title (the message's first line).
    #[serde(default)]
    pub title: String,
    /// When it was authored.
    #[serde(default)]
    pub authored_date: Option<DateTime<Utc>>,
    /// When it was committed.
    #[serde(default)]
    pub committed_date: Option<DateTime<Utc>>,
    /// GitLab's `created_at` (the committed date on current servers).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

impl GlCommit {
    /// Its committed time: `committed_date`, else `created_at`, else the
    /// authored date (some answers leave the committed date out).
    pub fn committed(&self) -> Option<DateTime<Utc>> {
        self.committed_date.or(self.created_at).or(self.authored_date)
    }
}

/// A changed file of a comparison or a commit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlDiff {
    /// The path after the change.
    #[serde(default)]
    pub new_path: String,
    /// The path before it.
    #[serde(default)]
    pub old_path: String,
}

/// `GET /projects/:id/repository/compare?from=..&to=..` (not paged).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlCompare {
    /// The commits in `to` and not in `from`, oldest first.
    #[serde(default)]
    pub commits: Vec<GlCommit>,
    /// The files the comparison changed.
    #[serde(default)]
    pub diffs: Vec<GlDiff>,
    /// Whether GitLab gave up computing it (too large).
    #[serde(default)]
    pub compare_timeout: bool,
    /// Whether `from` and `to` are the same commit.
    #[serde(default)]
    pub compare_same_ref: bool,
}

/// A merge request (`GET /projects/:id/deployments/:id/merge_requests`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlMergeRequest {
    /// Its number in the project.
    pub iid: u64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// `opened`, `merged`, `closed`, `locked`.
    #[serde(default)]
    pub state: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was merged.
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    /// The merge commit (absent for fast-forward merges).
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// The squash commit, when squashed.
    #[serde(default)]
    pub squash_commit_sha: Option<String>,
    /// The head commit of its branch.
    #[serde(default)]
    pub sha: Option<String>,
    /// Its source branch.
    #[serde(default)]
    pub source_branch: String,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// An issue (`GET /projects/:id/issues`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlIssue {
    /// Its global id (the GraphQL `gid://gitlab/Issue/<id>`).
    pub id: u64,
    /// Its number in the project.
    pub iid: u64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// `opened` or `closed`.
    #[serde(default)]
    pub state: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was last updated.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// `issue`, `incident`, `test_case`, `task`.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// The same in capitals (`INCIDENT`), on newer servers.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// An incident's severity: `UNKNOWN`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    #[serde(default)]
    pub severity: Option<String>,
}

/// A project of a group listing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlProject {
    /// Its id.
    pub id: u64,
    /// `group/subgroup/name`.
    pub path_with_namespace: String,
    /// Whether it is archived.
    #[serde(default)]
    pub archived: bool,
}

/// One incident timeline event (GraphQL `incidentManagementTimelineEvents`).
#[derive(Debug, Clone, PartialEq)]
pub struct GlTimelineEvent {
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Its tags, like `Start time` or `End time`.
    pub tags: Vec<String>,
}
