//! A fake GitHub made from one model of each repository (its commits with
//! their parents, pull requests, deployments with statuses, issues) that
//! answers the REST endpoints and the GraphQL queries the GitHub source
//! asks, from the same data: so a GraphQL run and a REST run can be
//! compared event for event, and their requests counted.
//!
//! Histories are walked as git and GitHub do: newest commit date first, a
//! commit after the child that reached it.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

/// A commit.
#[derive(Debug, Clone)]
pub struct FakeCommit {
    pub sha: String,
    pub committed: DateTime<Utc>,
    pub authored: DateTime<Utc>,
    pub parents: Vec<String>,
}

/// A merged pull request and its commits (oldest first).
#[derive(Debug, Clone)]
pub struct FakePull {
    pub number: u64,
    pub title: String,
    pub head_ref: String,
    pub created: DateTime<Utc>,
    pub merged: DateTime<Utc>,
    pub merge_commit: String,
    pub labels: Vec<String>,
    pub commits: Vec<String>,
}

/// A deployment with its statuses (oldest first).
#[derive(Debug, Clone)]
pub struct FakeDeployment {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    pub environment: String,
    pub created: DateTime<Utc>,
    pub production: bool,
    pub statuses: Vec<(&'static str, DateTime<Utc>)>,
}

/// An issue (or, with `pull`, a pull request as the REST issue list shows it).
#[derive(Debug, Clone)]
pub struct FakeIssue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub created: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    pub updated: DateTime<Utc>,
    pub labels: Vec<String>,
    pub pull: bool,
}

/// One repository.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// `owner/name`.
    pub repo: String,
    pub commits: BTreeMap<String, FakeCommit>,
    /// The default branch's head.
    pub head: String,
    pub pulls: Vec<FakePull>,
    pub deployments: Vec<FakeDeployment>,
    pub issues: Vec<FakeIssue>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Model {
    /// The commits reachable from `sha`, newest commit date first.
    pub fn walk(&self, sha: &str) -> Vec<&FakeCommit> {
        let mut heap = BinaryHeap::new();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        if let Some(c) = self.commits.get(sha) {
            heap.push((c.committed, c.sha.clone()));
            seen.insert(c.sha.clone());
        }
        while let Some((_, s)) = heap.pop() {
            let c = &self.commits[&s];
            out.push(c);
            for p in &c.parents {
                if let Some(pc) = self.commits.get(p)
                    && seen.insert(p.clone())
                {
                    heap.push((pc.committed, p.clone()));
                }
            }
        }
        out
    }

    fn ancestors(&self, sha: &str) -> BTreeSet<String> {
        self.walk(sha).into_iter().map(|c| c.sha.clone()).collect()
    }

    fn pull_of(&self, sha: &str) -> Option<&FakePull> {
        self.pulls.iter().find(|p| p.commits.iter().any(|c| c == sha) || p.merge_commit == sha)
    }

    fn rest_commit(&self, c: &FakeCommit) -> Value {
        json!({"sha": c.sha, "commit": {"author": {"date": ts(c.authored)}, "committer": {"date": ts(c.committed)},
               "message": "m"}, "parents": c.parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>()})
    }

    fn rest_pull(&self, p: &FakePull) -> Value {
        json!({"number": p.number, "title": p.title, "created_at": ts(p.created), "merged_at": ts(p.merged),
               "merge_commit_sha": p.merge_commit, "head": {"ref": p.head_ref},
               "labels": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()})
    }

    fn graphql_pulls(&self, sha: &str) -> Value {
        let Some(p) = self.pull_of(sha) else { return json!([]) };
        let first = &self.commits[&p.commits[0]];
        json!([{"number": p.number, "title": p.title, "createdAt": ts(p.created), "mergedAt": ts(p.merged),
                "mergeCommit": {"oid": p.merge_commit}, "headRefName": p.head_ref,
                "labels": {"nodes": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()},
                "commits": {"nodes": [{"commit": {"authoredDate": ts(first.authored)}}]}}])
    }

    /// Deployments newest first.
    fn deployments_desc(&self) -> Vec<&FakeDeployment> {
        let mut d: Vec<&FakeDeployment> = self.deployments.iter().collect();
        d.sort_by_key(|d| std::cmp::Reverse((d.created, d.id)));
        d
    }

    /// Issues most recently updated first.
    fn issues_desc(&self) -> Vec<&FakeIssue> {
        let mut i: Vec<&FakeIssue> = self.issues.iter().collect();
        i.sort_by_key(|i| std::cmp::Reverse((i.updated, i.number)));
        i
    }
}

/// How the fake misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Every answer comes after this long.
    pub delay: Option<Duration>,
    /// GraphQL answers `400` (a GitHub Enterprise Server without it).
    pub refuse_graphql: bool,
    /// The first GraphQL query is answered `RATE_LIMITED`, with a reset
    /// in two seconds (one to two: resets are whole seconds).
    pub graphql_rate_limited_once: bool,
    /// GraphQL answers say this many points are left, with a reset in two
    /// seconds (a query costing more must wait).
    pub graphql_points_left: Option<u64>,
}

/// The fake server's behaviour.
pub struct FakeGithub {
    pub models: Arc<Mutex<BTreeMap<String, Model>>>,
    pub faults: Faults,
    graphql_calls: Mutex<u64>,
}

impl FakeGithub {
    pub fn new(models: Vec<Model>, faults: Faults) -> (Self, Arc<Mutex<BTreeMap<String, Model>>>) {
        let shared = Arc::new(Mutex::new(models.into_iter().map(|m| (m.repo.clone(), m)).collect()));
        (Self { models: shared.clone(), faults, graphql_calls: Mutex::new(0) }, shared)
    }
}

fn query_map(req: &Request) -> BTreeMap<String, String> {
    req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A REST list page (`page`, `per_page`), with a `Link` to the next one and
/// an ETag of the whole list; `304` when `If-None-Match` names it.
fn rest_page(req: &Request, items: Vec<Value>) -> ResponseTemplate {
    let q = query_map(req);
    let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let etag = format!("\"{:x}\"", fxhash(&serde_json::to_string(&items).unwrap()));
    if req.headers.get("if-none-match").is_some_and(|v| v.to_str().unwrap_or_default() == etag) {
        return ResponseTemplate::new(304);
    }
    let start = (page - 1) * per_page;
    let chunk: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let mut answer = ResponseTemplate::new(200).insert_header("etag", etag.as_str()).set_body_json(chunk);
    if start + per_page < items.len() {
        let mut next = req.url.clone();
        let others: Vec<(String, String)> = q.into_iter().filter(|(k, _)| k != "page").collect();
        next.query_pairs_mut().clear().extend_pairs(others).append_pair("page", &(page + 1).to_string());
        answer = answer.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
    }
    answer
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

/// `first: 100, after: <offset>` of a GraphQL connection.
fn connection(items: Vec<Value>, after: &Value) -> Value {
    let start: usize = after.as_str().and_then(|a| a.parse().ok()).unwrap_or(0);
    let end = (start + 100).min(items.len());
    let nodes: Vec<Value> = items.get(start..end).unwrap_or_default().to_vec();
    json!({"pageInfo": {"hasNextPage": end < items.len(), "endCursor": end.to_string()}, "nodes": nodes})
}

impl FakeGithub {
    fn answer(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path().to_string();
        let models = self.models.lock().unwrap();
        if req.method.as_str() == "POST" && path == "/graphql" {
            return self.graphql(req, &models);
        }
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if let ["orgs", org, "repos"] = parts.as_slice() {
            let repos: Vec<Value> = models
                .keys()
                .filter(|r| r.starts_with(&format!("{org}/")))
                .map(|r| json!({"full_name": r, "archived": false}))
                .collect();
            return rest_page(req, repos);
        }
        let ["repos", owner, name, rest @ ..] = parts.as_slice() else { return ResponseTemplate::new(404) };
        let Some(m) = models.get(&format!("{owner}/{name}")) else { return ResponseTemplate::new(404) };
        let q = query_map(req);
        match rest {
            ["deployments"] => {
                let items = m
                    .deployments_desc()
                    .into_iter()
                    .map(|d| {
                        json!({"id": d.id, "node_id": format!("DE_{}", d.id), "sha": d.sha, "ref": d.git_ref,
                               "environment": d.environment, "created_at": ts(d.created), "updated_at": ts(d.created),
                               "production_environment": d.production, "description": null})
                    })
                    .collect();
                rest_page(req, items)
            }
            ["deployments", id, "statuses"] => {
                let Some(d) = m.deployments.iter().find(|d| d.id.to_string() == *id) else {
                    return ResponseTemplate::new(404);
                };
                let statuses: Vec<Value> = d
                    .statuses
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, (state, at))| json!({"id": d.id * 100 + i as u64, "state": state, "created_at": ts(*at)}))
                    .collect();
                rest_page(req, statuses)
            }
            ["commits"] => {
                let since = q.get("since").map(|s| s.parse::<DateTime<Utc>>().unwrap());
                let from = q.get("sha").cloned().unwrap_or_else(|| m.head.clone());
                let items = m
                    .walk(&from)
                    .into_iter()
                    .filter(|c| since.is_none_or(|s| c.committed >= s))
                    .map(|c| m.rest_commit(c))
                    .collect();
                rest_page(req, items)
            }
            ["commits", sha, "pulls"] => {
                let pulls: Vec<Value> = m.pull_of(sha).map(|p| m.rest_pull(p)).into_iter().collect();
                ResponseTemplate::new(200).set_body_json(pulls)
            }
            ["pulls", number, "commits"] => {
                let Some(p) = m.pulls.iter().find(|p| p.number.to_string() == *number) else {
                    return ResponseTemplate::new(404);
                };
                let commits: Vec<Value> = p.commits.iter().map(|c| m.rest_commit(&m.commits[c])).collect();
                ResponseTemplate::new(200).set_body_json(commits)
            }
            ["compare", range] => {
                let Some((base, head)) = range.split_once("...") else { return ResponseTemplate::new(404) };
                if !m.commits.contains_key(base) || !m.commits.contains_key(head) {
                    return ResponseTemplate::new(404);
                }
                let (a, b) = (m.ancestors(head), m.ancestors(base));
                let ahead: Vec<&FakeCommit> =
                    m.walk(head).into_iter().filter(|c| !b.contains(&c.sha)).rev().collect();
                let behind = b.difference(&a).count();
                let status = match (ahead.len(), behind) {
                    (0, 0) => "identical",
                    (_, 0) => "ahead",
                    (0, _) => "behind",
                    _ => "diverged",
                };
                let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(250);
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let commits: Vec<Value> = ahead
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|c| m.rest_commit(c))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"status": status, "ahead_by": ahead.len(),
                    "behind_by": behind, "total_commits": ahead.len(), "commits": commits, "files": []}))
            }
            ["issues"] => {
                // `labels=a,b`: issues carrying all of them.
                let wanted: Vec<String> =
                    q.get("labels").map(|l| l.split(',').map(str::to_string).collect()).unwrap_or_default();
                let items = m
                    .issues_desc()
                    .into_iter()
                    .filter(|i| wanted.iter().all(|w| i.labels.contains(w)))
                    .map(|i| {
                        let mut v = json!({"number": i.number, "title": i.title, "body": i.body,
                            "created_at": ts(i.created), "closed_at": i.closed.map(ts), "updated_at": ts(i.updated),
                            "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()});
                        if i.pull {
                            v["pull_request"] = json!({"url": "x"});
                        }
                        v
                    })
                    .collect();
                rest_page(req, items)
            }
            _ => ResponseTemplate::new(404),
        }
    }

    fn graphql(&self, req: &Request, models: &BTreeMap<String, Model>) -> ResponseTemplate {
        let calls = {
            let mut n = self.graphql_calls.lock().unwrap();
            *n += 1;
            *n
        };
        if self.faults.refuse_graphql {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "Problems parsing JSON"}));
        }
        let reset = Utc::now() + chrono::Duration::seconds(2);
        if self.faults.graphql_rate_limited_once && calls == 1 {
            return ResponseTemplate::new(200)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.timestamp().to_string().as_str())
                .set_body_json(json!({"data": null, "errors": [{"type": "RATE_LIMITED",
                    "message": "API rate limit exceeded for user ID 1."}]}));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let query = body["query"].as_str().unwrap_or_default();
        let vars = &body["variables"];
        let repo = format!(
            "{}/{}",
            vars["owner"].as_str().unwrap_or_default(),
            vars["name"].as_str().unwrap_or_default()
        );
        let Some(m) = models.get(&repo) else {
            return ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": null},
                "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to a Repository with the name '{repo}'.")}]}));
        };
        let mut data = serde_json::Map::new();
        if query.starts_with("query Overview") {
            let mut repository = serde_json::Map::new();
            if vars["withDeployments"] == json!(true) {
                let items = m
                    .deployments_desc()
                    .into_iter()
                    .map(|d| {
                        json!({"databaseId": d.id, "createdAt": ts(d.created), "environment": d.environment,
                               "commitOid": d.sha, "statuses": {"nodes": d.statuses.iter().map(|(s, at)|
                                   json!({"state": s.to_ascii_uppercase(), "createdAt": ts(*at)})).collect::<Vec<_>>()}})
                    })
                    .collect();
                repository.insert("deployments".into(), connection(items, &vars["deploymentsAfter"]));
            }
            if vars["withIssues"] == json!(true) {
                let labels: Vec<String> = serde_json::from_value(vars["labels"].clone()).unwrap_or_default();
                let since: Option<DateTime<Utc>> = vars["since"].as_str().map(|s| s.parse().unwrap());
                let items = m
                    .issues_desc()
                    .into_iter()
                    .filter(|i| !i.pull && i.labels.iter().any(|l| labels.contains(l)))
                    .filter(|i| since.is_none_or(|s| i.updated >= s))
                    .map(|i| {
                        json!({"number": i.number, "title": i.title, "body": i.body, "createdAt": ts(i.created),
                               "closedAt": i.closed.map(ts), "updatedAt": ts(i.updated),
                               "labels": {"nodes": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()}})
                    })
                    .collect();
                repository.insert("issues".into(), connection(items, &vars["issuesAfter"]));
            }
            data.insert("repository".into(), Value::Object(repository));
        } else if query.starts_with("query Walk") {
            let items = m
                .walk(&m.head)
                .into_iter()
                .map(|c| {
                    json!({"oid": c.sha, "committedDate": ts(c.committed), "authoredDate": ts(c.authored),
                           "parents": {"nodes": c.parents.iter().map(|p| json!({"oid": p})).collect::<Vec<_>>()},
                           "associatedPullRequests": {"nodes": m.graphql_pulls(&c.sha)}})
                })
                .collect();
            data.insert(
                "repository".into(),
                json!({"defaultBranchRef": {"target": {"history": connection(items, &vars["after"])}}}),
            );
        } else if query.starts_with("query Pulls") {
            let mut repository = serde_json::Map::new();
            for (at, marker) in query.match_indices(": object(oid: \"") {
                let alias = &query[query[..at].rfind(' ').unwrap() + 1..at];
                let sha = &query[at + marker.len()..at + marker.len() + 40];
                repository
                    .insert(alias.into(), json!({"associatedPullRequests": {"nodes": m.graphql_pulls(sha)}}));
            }
            data.insert("repository".into(), Value::Object(repository));
        } else {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "unknown query"}));
        }
        let remaining = self.faults.graphql_points_left.unwrap_or(5000 - calls);
        data.insert("rateLimit".into(), json!({"cost": 1, "remaining": remaining, "resetAt": ts(reset)}));
        ResponseTemplate::new(200).set_body_json(json!({"data": data}))
    }
}

impl Respond for FakeGithub {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let answer = self.answer(req);
        match self.faults.delay {
            Some(d) => answer.set_delay(d),
            None => answer,
        }
    }
}

/// Builds a repository's model step by step.
pub struct Builder {
    pub model: Model,
    next_sha: u64,
    next_deployment: u64,
    next_pull: u64,
}

impl Builder {
    pub fn new(repo: &str) -> Self {
        Self {
            model: Model { repo: repo.into(), ..Model::default() },
            next_sha: 1,
            next_deployment: 1,
            next_pull: 1,
        }
    }

    /// Goes on building `model`.
    pub fn from_model(model: Model) -> Self {
        Self {
            next_sha: model.commits.len() as u64 + 1,
            next_deployment: model.deployments.iter().map(|d| d.id).max().unwrap_or(0) + 1,
            next_pull: model.pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1,
            model,
        }
    }

    /// A new commit at `at` on top of `parents`; its SHA.
    pub fn commit(&mut self, at: DateTime<Utc>, parents: &[&str]) -> String {
        let sha = format!("{:08x}{:032x}", fxhash(&self.model.repo) as u32, self.next_sha);
        self.next_sha += 1;
        let c = FakeCommit {
            sha: sha.clone(),
            committed: at,
            authored: at - chrono::Duration::minutes(30),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        };
        self.model.commits.insert(sha.clone(), c);
        sha
    }

    /// A pull request of a branch `head_ref` with `n` commits forked from
    /// `fork`, the first at `opened` (authored half an hour before), merged into `into` at `merged` by a
    /// merge commit (the new head of the branch it was merged into).
    #[allow(clippy::too_many_arguments)]
    pub fn merge_pull(
        &mut self,
        into: &str,
        fork: &str,
        head_ref: &str,
        labels: &[&str],
        n: usize,
        opened: DateTime<Utc>,
        merged: DateTime<Utc>,
    ) -> String {
        let mut tip = fork.to_string();
        let mut commits = Vec::new();
        for i in 0..n {
            let at = opened + (merged - opened) * (i as i32) / (n as i32 + 1);
            tip = self.commit(at, &[&tip]);
            commits.push(tip.clone());
        }
        let merge = self.commit(merged, &[into, &tip]);
        let number = self.next_pull;
        self.next_pull += 1;
        self.model.pulls.push(FakePull {
            number,
            title: format!("Change {number}"),
            head_ref: head_ref.into(),
            created: opened,
            merged,
            merge_commit: merge.clone(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            commits,
        });
        merge
    }

    /// A deployment of `sha` from `git_ref` to `environment` created at
    /// `at`, with statuses `(state, minutes after at)`; its id.
    pub fn deploy(
        &mut self,
        sha: &str,
        git_ref: &str,
        environment: &str,
        production: bool,
        at: DateTime<Utc>,
        statuses: &[(&'static str, i64)],
    ) -> u64 {
        let id = self.next_deployment;
        self.next_deployment += 1;
        self.model.deployments.push(FakeDeployment {
            id,
            sha: sha.into(),
            git_ref: git_ref.into(),
            environment: environment.into(),
            created: at,
            production,
            statuses: statuses.iter().map(|(s, m)| (*s, at + chrono::Duration::minutes(*m))).collect(),
        });
        id
    }

    pub fn issue(
        &mut self,
        number: u64,
        labels: &[&str],
        body: &str,
        created: DateTime<Utc>,
        closed: Option<DateTime<Utc>>,
    ) {
        self.model.issues.push(FakeIssue {
            number,
            title: format!("Issue {number}"),
            body: body.into(),
            created,
            closed,
            updated: closed.unwrap_or(created),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            pull: false,
        });
    }
}

/// A realistic repository, `cycles` deploy cycles of 12 hours ending a day
/// ago: 150 older commits before the look-back (30 days, as the tests set
/// it); each cycle merges a pull request of two commits (every fourth one
/// also a direct push), deploys to staging, then to production (every
/// seventh production deployment fails, and is followed by a fixed
/// deployment). On the way: a rollback, a hotfix deployed from an unmerged
/// `hotfix/` branch (merged later), a pull request whose branch started
/// before the look-back, a production deployment to an environment not
/// named production but flagged so, an experiment deployed from a branch
/// never merged, one deployment still in progress, and incidents.
pub fn realistic(repo: &str, cycles: usize, now: DateTime<Utc>) -> Model {
    let mut b = Builder::new(repo);
    let day = chrono::Duration::days(1);
    let hour = chrono::Duration::hours(1);
    let start = now - day - hour * (12 * cycles as i32);
    // History before the look-back: a straight line.
    let mut head = b.commit(now - day * 60, &[]);
    for i in 0..150 {
        head = b.commit(now - day * 60 + hour * (4 * i + 1), &[&head]);
    }
    let old_branch_fork = head.clone();
    let mut last_prod = String::new();
    let mut prod_count = 0;
    for i in 0..cycles {
        let t = start + hour * (12 * i as i32);
        if i == cycles / 2 {
            // A long-lived branch, started before the look-back, merged now.
            head = b.merge_pull(&head, &old_branch_fork, "feature/big", &[], 2, now - day * 35, t - hour * 2);
        } else {
            head = b.merge_pull(
                &head,
                &head.clone(),
                &format!("feature/{i}"),
                &[],
                2,
                t - hour * 5,
                t - hour * 2,
            );
        }
        if i % 4 == 3 {
            head = b.commit(t - hour, &[&head]);
        }
        b.deploy(&head, "main", "staging", false, t, &[("in_progress", 1), ("success", 5)]);
        let env = if i % 5 == 2 { "live-eu" } else { "production" };
        let failed = i % 7 == 6;
        let statuses: &[(&'static str, i64)] = if failed {
            &[("in_progress", 1), ("failure", 9)]
        } else {
            &[("in_progress", 1), ("success", 9)]
        };
        b.deploy(&head, "main", env, true, t + hour, statuses);
        if env == "production" && !failed {
            prod_count += 1;
            if prod_count == 5 {
                // A rollback to the previous production deployment's commit.
                b.deploy(
                    &last_prod,
                    "main",
                    "production",
                    true,
                    t + hour * 2,
                    &[("success", 3), ("inactive", 200)],
                );
                // The next cycle ships the same commits again.
            }
            if prod_count == 8 {
                // A hotfix from its own branch, merged into main later.
                let fix = b.commit(t + hour * 3, &[&head]);
                b.deploy(&fix, "hotfix/checkout", "production", true, t + hour * 4, &[("success", 5)]);
                head = b.merge_pull(
                    &head,
                    &head.clone(),
                    "hotfix/checkout",
                    &["hotfix"],
                    1,
                    t + hour * 3,
                    t + hour * 5,
                );
                // The fix commit itself joins main through a merge.
                head = b.commit(t + hour * 6, &[&head, &fix]);
            }
            if prod_count == 10 {
                // An experiment deployed from a branch never merged: the
                // next production deployment replaces it.
                let experiment = b.commit(t + hour * 3, &[&head]);
                b.deploy(&experiment, "experiment", "production", true, t + hour * 4, &[("success", 5)]);
            }
            last_prod = head.clone();
        }
    }
    // Still in progress: a later run picks it up.
    b.deploy(&head, "main", "production", true, now - hour, &[("in_progress", 1)]);
    b.model.head = head;
    let cause = last_prod.clone();
    b.issue(
        1,
        &["incident", "sev2"],
        &format!("Checkout down.\nroot cause: {cause}\n"),
        now - day * 3,
        Some(now - day * 2),
    );
    b.issue(2, &["incident"], "Slow search", now - day * 5, None);
    b.issue(3, &["bug"], "Not an incident", now - day * 4, Some(now - day * 3));
    b.issue(4, &["incident"], "Before the look-back", now - day * 50, Some(now - day * 49));
    let mut pr_issue = b.model.issues[1].clone();
    pr_issue.number = 5;
    pr_issue.pull = true;
    b.model.issues.push(pr_issue);
    b.model
}
