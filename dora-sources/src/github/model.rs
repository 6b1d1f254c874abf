//! The GitHub REST API's types, as far as dora reads them. Unknown fields
//! are ignored; optional ones default, so older GitHub Enterprise Server
//! versions parse too.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `GET /repos/{owner}/{repo}/deployments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhDeployment {
    /// The deployment's id.
    pub id: u64,
    /// The commit deployed.
    pub sha: String,
    /// The branch, tag or SHA asked for.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The environment.
    pub environment: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Whether GitHub marks the environment as production.
    #[serde(default)]
    pub production_environment: Option<bool>,
    /// The description given.
    #[serde(default)]
    pub description: Option<String>,
}

/// The state of a deployment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GhStatusState {
    /// Deployed.
    Success,
    /// Failed.
    Failure,
    /// Errored (counts as a failure).
    Error,
    /// Replaced by a later deployment (after a success, it stays a success).
    Inactive,
    /// Not finished.
    Pending,
    /// Not finished.
    Queued,
    /// Not finished.
    InProgress,
    /// A state this version does not know (treated as not finished).
    #[serde(other)]
    Unknown,
}

/// `GET /repos/{owner}/{repo}/deployments/{id}/statuses`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhDeploymentStatus {
    /// The status's id.
    pub id: u64,
    /// Its state.
    pub state: GhStatusState,
    /// When it was set.
    pub created_at: DateTime<Utc>,
}

/// A git identity and time in a commit.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct GhGitActor {
    /// The time.
    #[serde(default)]
    pub date: Option<DateTime<Utc>>,
}

/// A commit's git data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhCommitDetail {
    /// Who wrote it, when.
    #[serde(default)]
    pub author: Option<GhGitActor>,
    /// Who committed it, when.
    #[serde(default)]
    pub committer: Option<GhGitActor>,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// A commit's parent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhParent {
    /// Its SHA.
    pub sha: String,
}

/// A commit (in a compare, a list, or a pull request's commits).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhCommit {
    /// Its SHA.
    pub sha: String,
    /// Its git data.
    pub commit: GhCommitDetail,
    /// Its parents.
    #[serde(default)]
    pub parents: Vec<GhParent>,
    /// The files it changed (only `GET /repos/{owner}/{repo}/commits/{sha}`
    /// lists them; at most 300 on its first page).
    #[serde(default)]
    pub files: Vec<GhFile>,
}

/// A file changed by a commit or a comparison.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhFile {
    /// Its path.
    pub filename: String,
    /// Its path before a rename.
    #[serde(default)]
    pub previous_filename: Option<String>,
}

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhCompare {
    /// `ahead`, `behind`, `identical` or `diverged` (head against base).
    pub status: String,
    /// Commits in head and not in base.
    pub ahead_by: u64,
    /// Commits in base and not in head.
    pub behind_by: u64,
    /// All commits of the comparison (a page holds at most 250, or `per_page`).
    pub total_commits: u64,
    /// This page's commits, oldest first.
    #[serde(default)]
    pub commits: Vec<GhCommit>,
    /// The files the whole comparison changed (at most 300, on the first page).
    #[serde(default)]
    pub files: Vec<GhFile>,
}

/// A branch reference of a pull request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhBranch {
    /// The branch name.
    #[serde(rename = "ref")]
    pub name: String,
}

/// A label: an object in most responses, a bare name in a few.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum GhLabel {
    /// `{"name": ...}`.
    Object {
        /// The label's name.
        name: String,
    },
    /// A name.
    Name(String),
}

impl GhLabel {
    /// The label's name.
    pub fn name(&self) -> &str {
        match self {
            GhLabel::Object { name } | GhLabel::Name(name) => name,
        }
    }
}

/// A pull request (`GET .../pulls`, `.../commits/{sha}/pulls`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhPullRequest {
    /// Its number.
    pub number: u64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was merged.
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    /// The commit its merge made (squash and rebase merges too).
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// The branch merged.
    pub head: GhBranch,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<GhLabel>,
}

/// An issue (`GET .../issues`; pull requests show up there too).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhIssue {
    /// Its number.
    pub number: u64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its text.
    #[serde(default)]
    pub body: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<GhLabel>,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// A workflow run (`GET .../actions/runs`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhWorkflowRun {
    /// Its id.
    pub id: u64,
    /// The workflow's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The workflow file, like `.github/workflows/deploy.yml`.
    #[serde(default)]
    pub path: Option<String>,
    /// The commit it ran on.
    pub head_sha: String,
    /// The branch it ran on.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// `queued`, `in_progress`, `completed`...
    #[serde(default)]
    pub status: Option<String>,
    /// `success`, `failure`, `cancelled`... when completed.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed (its end, once completed).
    pub updated_at: DateTime<Utc>,
    /// When this attempt started.
    #[serde(default)]
    pub run_started_at: Option<DateTime<Utc>>,
}

/// A release (`GET .../releases`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhRelease {
    /// Its id.
    pub id: u64,
    /// Its tag.
    pub tag_name: String,
    /// The branch or commit the tag was made from.
    #[serde(default)]
    pub target_commitish: Option<String>,
    /// A draft is not published.
    #[serde(default)]
    pub draft: bool,
    /// A pre-release.
    #[serde(default)]
    pub prerelease: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was published.
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
}

/// A repository of an organisation's listing (`GET /orgs/{org}/repos`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GhRepo {
    /// `owner/name`.
    pub full_name: String,
    /// An archived repository is left out.
    #[serde(default)]
    pub archived: bool,
}

/// A tag, from GraphQL's `refs(refPrefix: "refs/tags/")` (the REST tag list
/// carries no dates).
#[derive(Debug, Clone, PartialEq)]
pub struct GhTag {
    /// The tag's name, without `refs/tags/`.
    pub name: String,
    /// The commit it points at (through an annotated tag object too).
    pub sha: String,
    /// An annotated tag's date.
    pub tagged_at: Option<DateTime<Utc>>,
    /// The commit's committed date.
    pub committed_at: Option<DateTime<Utc>>,
}

impl GhTag {
    /// A tag from one node of `refs { nodes { name target { ... } } }`
    /// (see the query in the client); `None` when it points at no commit.
    pub fn from_graphql(node: &serde_json::Value) -> Option<Self> {
        let time = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
        let name = node["name"].as_str()?.to_string();
        let target = &node["target"];
        let (commit, tagged_at) = match target["__typename"].as_str()? {
            "Commit" => (target, None),
            "Tag" => (&target["target"], time(&target["tagger"]["date"])),
            _ => return None,
        };
        let sha = commit["oid"].as_str()?.to_string();
        // An annotated tag of a tree, a blob or another tag has no commit date.
        let committed_at = time(commit.get("committedDate")?);
        Some(GhTag { name, sha, tagged_at, committed_at })
    }
}
