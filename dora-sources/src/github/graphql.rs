//! GitHub's GraphQL API as the GitHub source reads it, without I/O: the
//! queries, the parsing of their answers into the REST model's types, and
//! the change sets that one walk of a branch's history decides.
//!
//! - [`OVERVIEW_QUERY`]: a repository's deployments, newest first with
//!   their statuses, and its incident issues updated since the last run,
//!   100 of each a page: a run with nothing new is this one query.
//! - [`WALK_QUERY`]: a branch's history, 100 commits a page, each with its
//!   parents and its pull requests: [`History`] decides from it what the
//!   REST comparison `base...head` would list, or says it cannot.
//!
//! Every query asks for `rateLimit { cost remaining resetAt }`
//! ([`RateInfo`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::{GhBranch, GhDeploymentStatus, GhIssue, GhLabel, GhPullRequest, GhStatusState};

/// A repository's deployments (newest first, with their statuses) and its
/// issues carrying one of `$labels` updated since `$since`; each part is
/// asked for only when its `$with…` flag is set, so either can be paged
/// on its own.
pub const OVERVIEW_QUERY: &str = "query Overview($owner: String!, $name: String!, \
    $withDeployments: Boolean!, $deploymentsAfter: String, $withIssues: Boolean!, $issuesAfter: String, \
    $labels: [String!], $since: DateTime) { rateLimit { cost remaining resetAt } \
    repository(owner: $owner, name: $name) { \
    deployments(first: 100, after: $deploymentsAfter, orderBy: {field: CREATED_AT, direction: DESC}) \
    @include(if: $withDeployments) { pageInfo { hasNextPage endCursor } \
    nodes { databaseId createdAt environment commitOid statuses(first: 100) { nodes { state createdAt } } } } \
    issues(first: 100, after: $issuesAfter, labels: $labels, filterBy: {since: $since}, \
    orderBy: {field: UPDATED_AT, direction: DESC}) @include(if: $withIssues) { pageInfo { hasNextPage endCursor } \
    nodes { number title body createdAt closedAt updatedAt labels(first: 20) { nodes { name } } } } } }";

/// What an overview query costs at most, in GraphQL points (100
/// deployments with 100 statuses each, 100 issues with 20 labels each).
pub const OVERVIEW_COST: u64 = 3;

/// A commit's history (`$oid`, or the default branch's head when `$oid` is
/// null), 100 commits a page, each with its parents and merged pull
/// requests.
pub const WALK_QUERY: &str = "query Walk($owner: String!, $name: String!, $after: String) { \
    rateLimit { cost remaining resetAt } \
    repository(owner: $owner, name: $name) { defaultBranchRef { target { ... on Commit { \
    history(first: 100, after: $after) { pageInfo { hasNextPage endCursor } \
    nodes { oid committedDate authoredDate parents(first: 10) { nodes { oid } } \
    associatedPullRequests(first: 5) { nodes { number title createdAt mergedAt mergeCommit { oid } headRefName \
    labels(first: 20) { nodes { name } } commits(first: 1) { nodes { commit { authoredDate } } } } } } } } } } } }";

/// What a walk page costs at most, in GraphQL points.
pub const WALK_COST: u64 = 13;

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok())
}

/// `rateLimit { cost remaining resetAt }` of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// The query's cost, in points.
    pub cost: u64,
    /// Points left in the window.
    pub remaining: u64,
    /// When the window starts again.
    pub reset_at: DateTime<Utc>,
}

impl RateInfo {
    /// The `rateLimit` of an answer, when it has one.
    pub fn from_answer(answer: &Value) -> Option<Self> {
        let r = &answer["data"]["rateLimit"];
        Some(Self {
            cost: r["cost"].as_u64()?,
            remaining: r["remaining"].as_u64()?,
            reset_at: time(&r["resetAt"])?,
        })
    }
}

/// Whether an answer's `errors` say the rate limit is spent.
pub fn is_rate_limited(answer: &Value) -> bool {
    answer["errors"]
        .as_array()
        .is_some_and(|errors| errors.iter().any(|e| e["type"].as_str() == Some("RATE_LIMITED")))
}

/// The first error's message of an answer with `errors`.
pub fn first_error(answer: &Value) -> Option<String> {
    let errors = answer.get("errors").filter(|e| !e.is_null())?;
    Some(errors.get(0).and_then(|e| e["message"].as_str()).unwrap_or("error").chars().take(160).collect())
}

/// A page of a connection: whether there is another, and its cursor.
pub fn next_page(connection: &Value) -> Option<String> {
    (connection["pageInfo"]["hasNextPage"] == Value::Bool(true))
        .then(|| connection["pageInfo"]["endCursor"].as_str().map(str::to_string))
        .flatten()
}

/// A deployment of the overview: what decides its outcome, and what finds
/// it in the REST list.
#[derive(Debug, Clone, PartialEq)]
pub struct GqlDeployment {
    /// Its REST id.
    pub id: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its statuses, in the order given (their `id` is that position, so
    /// statuses of the same second keep GitHub's order).
    pub statuses: Vec<GhDeploymentStatus>,
}

impl GqlDeployment {
    /// A node of `deployments { nodes { ... } }`; `None` without an id.
    pub fn from_node(node: &Value) -> Option<Self> {
        let statuses = node["statuses"]["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        let state = serde_json::from_value::<GhStatusState>(Value::String(
                            s["state"].as_str()?.to_ascii_lowercase(),
                        ))
                        .unwrap_or(GhStatusState::Unknown);
                        Some(GhDeploymentStatus { id: i as u64, state, created_at: time(&s["createdAt"])? })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self { id: node["databaseId"].as_u64()?, created_at: time(&node["createdAt"])?, statuses })
    }
}

/// An issue of the overview, as the REST list gives it.
pub fn issue_from_node(node: &Value) -> Option<GhIssue> {
    Some(GhIssue {
        number: node["number"].as_u64()?,
        title: node["title"].as_str().unwrap_or_default().to_string(),
        body: node["body"].as_str().map(str::to_string),
        created_at: time(&node["createdAt"])?,
        closed_at: time(&node["closedAt"]),
        updated_at: time(&node["updatedAt"]),
        labels: label_names(&node["labels"]),
        pull_request: None,
    })
}

fn label_names(labels: &Value) -> Vec<GhLabel> {
    labels["nodes"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["name"].as_str()).map(|x| GhLabel::Name(x.into())).collect())
        .unwrap_or_default()
}

/// The merged pull request among a commit's `associatedPullRequests`
/// nodes (the first merged one, as the REST lookup picks), with its first
/// commit's authored time.
pub fn merged_pull(nodes: &Value) -> Option<(GhPullRequest, Option<DateTime<Utc>>)> {
    let n = nodes.as_array()?.iter().find(|n| n["mergedAt"].is_string())?;
    let pull = GhPullRequest {
        number: n["number"].as_u64()?,
        title: n["title"].as_str().unwrap_or_default().to_string(),
        created_at: time(&n["createdAt"])?,
        merged_at: time(&n["mergedAt"]),
        merge_commit_sha: n["mergeCommit"]["oid"].as_str().map(str::to_string),
        head: GhBranch { name: n["headRefName"].as_str().unwrap_or_default().to_string() },
        labels: label_names(&n["labels"]),
    };
    Some((pull, time(&n["commits"]["nodes"][0]["commit"]["authoredDate"])))
}

/// A commit of a walked history.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkCommit {
    /// Its SHA.
    pub sha: String,
    /// Its committed time.
    pub committed_at: DateTime<Utc>,
    /// Its authored time.
    pub authored_at: Option<DateTime<Utc>>,
    /// Its parents' SHAs.
    pub parents: Vec<String>,
    /// Its merged pull request and that pull request's first commit time.
    pub pull: Option<(GhPullRequest, Option<DateTime<Utc>>)>,
}

impl WalkCommit {
    /// A node of `history { nodes { ... } }`.
    pub fn from_node(node: &Value) -> Option<Self> {
        Some(Self {
            sha: node["oid"].as_str()?.to_string(),
            committed_at: time(&node["committedDate"])?,
            authored_at: time(&node["authoredDate"]),
            parents: node["parents"]["nodes"]
                .as_array()
                .map(|p| p.iter().filter_map(|x| x["oid"].as_str()).map(str::to_string).collect())
                .unwrap_or_default(),
            pull: merged_pull(&node["associatedPullRequests"]["nodes"]),
        })
    }
}

/// What the walked history says of a comparison `base...head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    /// The commits in `head` and not in `base`, oldest first (as the REST
    /// comparison lists them).
    Commits(Vec<String>),
    /// `head` is a strict ancestor of `base` (an older version deployed
    /// again).
    Rollback,
    /// The walked history cannot decide: ask the REST comparison.
    Unknown,
}

/// The commits of a branch's history walked so far, newest first (GitHub's
/// history order: by commit date, a commit after its children), with their
/// parents: enough to decide which commits a deployment shipped without a
/// comparison per deployment.
///
/// Commits not walked are older than the oldest walked one (the floor),
/// when commit dates do not go backwards from child to parent. So a
/// comparison is decided when everything it reaches from `head` is walked
/// and newer than the floor; anything else is [`Range::Unknown`].
#[derive(Debug, Clone, Default)]
pub struct History {
    commits: BTreeMap<String, (usize, WalkCommit)>,
    /// The oldest committed time walked.
    floor: Option<DateTime<Utc>>,
    /// Whether the whole history was walked (no next page).
    complete: bool,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a page of the walk; `last` when it has no next page.
    pub fn add_page(&mut self, page: Vec<WalkCommit>, last: bool) {
        for c in page {
            self.floor = Some(self.floor.map_or(c.committed_at, |f| f.min(c.committed_at)));
            let order = self.commits.len();
            self.commits.entry(c.sha.clone()).or_insert((order, c));
        }
        self.complete |= last;
    }

    /// Whether the whole history was walked.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The oldest committed time walked.
    pub fn floor(&self) -> Option<DateTime<Utc>> {
        self.floor
    }

    /// A walked commit.
    pub fn commit(&self, sha: &str) -> Option<&WalkCommit> {
        self.commits.get(sha).map(|(_, c)| c)
    }

    /// The walked commits.
    pub fn commits(&self) -> impl Iterator<Item = &WalkCommit> {
        self.commits.values().map(|(_, c)| c)
    }

    /// Whether a walked commit is newer than every commit not walked.
    fn above_floor(&self, c: &WalkCommit) -> bool {
        self.complete || self.floor.is_some_and(|f| c.committed_at > f)
    }

    /// The walked ancestors of `sha` (itself included), and whether some
    /// ancestor was not walked.
    fn closure(&self, sha: &str, stop: &BTreeSet<&str>) -> (BTreeSet<String>, bool) {
        let mut seen = BTreeSet::new();
        let mut todo = vec![sha.to_string()];
        let mut unknown = false;
        while let Some(s) = todo.pop() {
            if stop.contains(s.as_str()) || seen.contains(&s) {
                continue;
            }
            match self.commit(&s) {
                Some(c) => {
                    todo.extend(c.parents.iter().cloned());
                    seen.insert(s);
                }
                None => unknown = true,
            }
        }
        (seen, unknown)
    }

    /// SHAs newest first in the walk's order, turned oldest first.
    fn oldest_first(&self, shas: BTreeSet<String>) -> Vec<String> {
        let mut ordered: Vec<(usize, String)> =
            shas.into_iter().map(|s| (self.commits.get(&s).map_or(usize::MAX, |(o, _)| *o), s)).collect();
        ordered.sort();
        ordered.into_iter().rev().map(|(_, s)| s).collect()
    }

    /// The comparison `base...head` as far as the walk decides it.
    pub fn range(&self, base: &str, head: &str) -> Range {
        if self.commit(base).is_none() || self.commit(head).is_none() {
            return Range::Unknown;
        }
        let (in_base, _) = self.closure(base, &BTreeSet::new());
        if head != base && in_base.contains(head) {
            return Range::Rollback;
        }
        let stop: BTreeSet<&str> = in_base.iter().map(String::as_str).collect();
        let (ahead, unknown) = self.closure(head, &stop);
        // Something reached is not walked, or could be an ancestor of a
        // commit of `base` that is not walked.
        if unknown || ahead.iter().any(|s| self.commit(s).is_none_or(|c| !self.above_floor(c))) {
            return Range::Unknown;
        }
        Range::Commits(self.oldest_first(ahead))
    }

    /// The ancestors of `head` (itself included) committed at `since` or
    /// later, oldest first (the REST list `commits?sha=head&since=since`,
    /// reversed), or `None` when the walk cannot decide.
    pub fn since(&self, head: &str, since: DateTime<Utc>) -> Option<Vec<String>> {
        self.commit(head)?;
        let mut seen = BTreeSet::new();
        let mut todo = vec![head.to_string()];
        while let Some(s) = todo.pop() {
            if seen.contains(&s) {
                continue;
            }
            match self.commit(&s) {
                // Older commits are left out, and so are their ancestors
                // (the listing stops at them).
                Some(c) if c.committed_at < since => {}
                Some(c) => {
                    todo.extend(c.parents.iter().cloned());
                    seen.insert(s);
                }
                // Not walked: older than the floor; fine when the floor is
                // older than `since`.
                None if self.floor.is_some_and(|f| f < since) => {}
                None => return None,
            }
        }
        Some(self.oldest_first(seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::hours(h)
    }

    fn c(sha: &str, h: i64, parents: &[&str]) -> WalkCommit {
        WalkCommit {
            sha: sha.into(),
            committed_at: at(h),
            authored_at: Some(at(h)),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            pull: None,
        }
    }

    /// main: a - b - m(merge of b and f2) - d; a feature branch f1 - f2
    /// forked from a; newest first as GitHub walks it.
    fn merged() -> Vec<WalkCommit> {
        vec![
            c("d", 10, &["m"]),
            c("m", 9, &["b", "f2"]),
            c("f2", 8, &["f1"]),
            c("b", 7, &["a"]),
            c("f1", 6, &["a"]),
            c("a", 5, &["z"]),
        ]
    }

    #[test]
    fn a_merge_ships_the_branch_and_the_merge() {
        let mut h = History::new();
        h.add_page(merged(), false);
        assert_eq!(h.range("b", "d"), Range::Commits(vec!["f1".into(), "f2".into(), "m".into(), "d".into()]));
        assert_eq!(h.range("b", "b"), Range::Commits(vec![]));
        // An older version deployed again.
        assert_eq!(h.range("d", "b"), Range::Rollback);
        // f2 is not an ancestor of b: diverged, what f2 has and b has not.
        assert_eq!(h.range("b", "f2"), Range::Commits(vec!["f1".into(), "f2".into()]));
        // Reaching `a`'s parent, never walked: undecided.
        assert_eq!(h.range("z", "d"), Range::Unknown);
        assert_eq!(h.range("x", "d"), Range::Unknown, "a base not walked");
    }

    #[test]
    fn commits_at_the_floor_are_undecided_until_the_walk_is_complete() {
        let mut h = History::new();
        // f1 is the oldest walked: an unwalked ancestor of b could have it.
        h.add_page(merged()[..5].to_vec(), false);
        assert_eq!(h.range("b", "f2"), Range::Unknown);
        assert_eq!(h.range("b", "d"), Range::Unknown);
        let mut whole = merged();
        whole.push(c("z", 1, &[]));
        let mut h = History::new();
        h.add_page(whole, true);
        assert_eq!(h.range("b", "f2"), Range::Commits(vec!["f1".into(), "f2".into()]));
        assert_eq!(h.range("z", "a"), Range::Commits(vec!["a".into()]));
    }

    #[test]
    fn since_lists_what_the_look_back_holds() {
        let mut h = History::new();
        h.add_page(merged(), false);
        assert_eq!(h.since("d", at(7)), Some(vec!["b".into(), "f2".into(), "m".into(), "d".into()]));
        // The floor (a, at 5) is not older than 5: z could be newer.
        assert_eq!(h.since("d", at(4)), None);
        assert_eq!(h.since("d", at(6)).unwrap().len(), 5);
    }

    #[test]
    fn answers_parse() {
        let node = serde_json::json!({"databaseId": 7, "createdAt": "2026-11-01T00:00:00Z",
            "statuses": {"nodes": [{"state": "IN_PROGRESS", "createdAt": "2026-11-01T00:01:00Z"},
                                   {"state": "SUCCESS", "createdAt": "2026-11-01T00:02:00Z"},
                                   {"state": "WAITING", "createdAt": "2026-11-01T00:03:00Z"}]}});
        let d = GqlDeployment::from_node(&node).unwrap();
        assert_eq!(d.id, 7);
        let states: Vec<_> = d.statuses.iter().map(|s| s.state).collect();
        assert_eq!(states, [GhStatusState::InProgress, GhStatusState::Success, GhStatusState::Unknown]);
        let answer = serde_json::json!({"data": {"rateLimit": {"cost": 1, "remaining": 4990, "resetAt": "2026-11-01T01:00:00Z"}},
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]});
        assert_eq!(RateInfo::from_answer(&answer).unwrap().remaining, 4990);
        assert!(is_rate_limited(&answer));
        assert_eq!(first_error(&answer).as_deref(), Some("API rate limit exceeded"));
        let pulls = serde_json::json!([{"number": 3, "mergedAt": null, "createdAt": "2026-11-01T00:00:00Z"},
            {"number": 4, "title": "t", "createdAt": "2026-11-01T00:00:00Z", "mergedAt": "2026-11-02T00:00:00Z",
             "headRefName": "hotfix/x", "labels": {"nodes": [{"name": "hotfix"}]},
             "commits": {"nodes": [{"commit": {"authoredDate": "2026-10-30T00:00:00Z"}}]}}]);
        let (pull, first) = merged_pull(&pulls).unwrap();
        assert_eq!((pull.number, pull.head.name.as_str(), pull.labels[0].name()), (4, "hotfix/x", "hotfix"));
        assert_eq!(first, Some("2026-10-30T00:00:00Z".parse().unwrap()));
    }
}
