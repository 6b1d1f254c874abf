//! The GitHub source's real client against a local HTTP server serving
//! GitHub-shaped responses: pagination, statuses, compare, pull requests,
//! a rollback, an incident with a root cause, the faults (500, rate limits,
//! a truncated body) and an incremental run that costs only 304s.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::MockApi;
use dora_core::source::{NoProgress, Source};
use dora_core::{DeploymentStatus, DeploymentType, Options, Window, compute};
use dora_sources::github::{GithubConfig, GithubSource, RepoConfig, Strategy};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const C2: &str = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";
const C3: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

fn ago(days: i64, hours: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(days) - chrono::Duration::hours(hours)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn deployment(id: u64, sha: &str, created: DateTime<Utc>, git_ref: &str) -> Value {
    json!({"id": id, "sha": sha, "ref": git_ref, "environment": "production", "created_at": ts(created),
           "updated_at": ts(created), "production_environment": true, "description": null})
}

fn status(id: u64, state: &str, at: DateTime<Utc>) -> Value {
    json!({"id": id, "state": state, "created_at": ts(at)})
}

fn commit(sha: &str, at: DateTime<Utc>) -> Value {
    json!({"sha": sha, "commit": {"author": {"date": ts(at)}, "committer": {"date": ts(at)}, "message": "m"}, "parents": []})
}

/// The server standing in for GitHub.
type Repo = MockApi;

/// A repository with three production deployments: d1 (the first seen, one
/// commit), d2 (ships c2 and c3 through pull request #5, squash-merged),
/// d3 (a rollback to d1's commit); and an incident naming c2 as root cause.
/// Each fault happens once on the way.
fn repo() -> Repo {
    let r = Repo::new();
    let uri = r.uri();
    let (t1, t2, t3) = (ago(3, 0), ago(2, 0), ago(1, 0));
    // Deployments, newest first, over two pages (the Link header points at the mock).
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/deployments"))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([deployment(1, SHA1, t1, "main")]))),
    );
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/deployments"))
            .and(header("if-none-match", "\"deps-v1\""))
            .respond_with(ResponseTemplate::new(304)),
    );
    r.mount(
        Mock::given(method("GET")).and(path("/repos/acme/api/deployments")).respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"deps-v1\"")
                .insert_header(
                    "link",
                    format!("<{uri}/repos/acme/api/deployments?per_page=100&page=2>; rel=\"next\"").as_str(),
                )
                .set_body_json(json!([
                    deployment(3, SHA1, t3, "main"),
                    deployment(2, SHA2, t2, "hotfix/checkout")
                ])),
        ),
    );
    // Statuses: d2's first answer is a 500.
    let statuses = |id: u64, body: Value| {
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/deployments/{id}/statuses")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    r.mount(statuses(1, json!([status(11, "success", t1 + chrono::Duration::minutes(5))])));
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/deployments/2/statuses"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .with_priority(1),
    );
    r.mount(statuses(
        2,
        json!([
            status(22, "success", t2 + chrono::Duration::minutes(9)),
            status(21, "in_progress", t2 + chrono::Duration::minutes(1))
        ]),
    ));
    r.mount(statuses(3, json!([status(31, "success", t3 + chrono::Duration::minutes(4))])));
    // The first deployment's changes: commits before its SHA within the look-back.
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/commits"))
            .and(query_param("sha", SHA1))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([commit(SHA1, t1 - chrono::Duration::hours(5))])),
            ),
    );
    // d1...d2 adds c2 and c3; the first answer is a rate limit with a reset time.
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/compare/{SHA1}...{SHA2}")))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", (Utc::now().timestamp() + 1).to_string().as_str()),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/compare/{SHA1}...{SHA2}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "ahead", "ahead_by": 2, "behind_by": 0, "total_commits": 2,
                "commits": [commit(C2, t2 - chrono::Duration::hours(6)), commit(C3, t2 - chrono::Duration::hours(3))]}))),
    );
    // d2...d3: d3 deploys d1's commit again, an ancestor: a rollback.
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/compare/{SHA2}...{SHA1}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "behind", "ahead_by": 0, "behind_by": 2, "total_commits": 0, "commits": []}))),
    );
    // Pull requests by commit: c2 and c3 came through #5 (c2's first answer is truncated).
    let pr5 = json!([{"number": 5, "title": "Faster checkout", "created_at": ts(t2 - chrono::Duration::hours(20)),
        "merged_at": ts(t2 - chrono::Duration::hours(3)), "merge_commit_sha": C3, "head": {"ref": "feature/fast"}, "labels": []}]);
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/commits/{C2}/pulls")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw("[{\"number\": 5, \"tit", "application/json"),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    for sha in [C2, C3] {
        r.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/acme/api/commits/{sha}/pulls")))
                .respond_with(ResponseTemplate::new(200).set_body_json(pr5.clone())),
        );
    }
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/commits/{SHA1}/pulls")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    r.mount(Mock::given(method("GET")).and(path("/repos/acme/api/pulls/5/commits")).respond_with(
        ResponseTemplate::new(200).set_body_json(json!([
            commit("aaaa", t2 - chrono::Duration::hours(30)),
            commit(C2, t2 - chrono::Duration::hours(6))
        ])),
    ));
    // Issues: a 429 first, then the incident; then 304 for the same request.
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/issues"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/issues"))
            .and(header("if-none-match", "\"issues-v1\""))
            .respond_with(ResponseTemplate::new(304))
            .with_priority(2),
    );
    r.mount(
        Mock::given(method("GET")).and(path("/repos/acme/api/issues")).respond_with(
            ResponseTemplate::new(200).insert_header("etag", "\"issues-v1\"").set_body_json(json!([{
                "number": 9, "title": "Checkout errors", "body": format!("Rolled back.\nroot cause: {C2}\n"),
                "created_at": ts(t2 + chrono::Duration::hours(1)), "closed_at": ts(t3 + chrono::Duration::minutes(10)),
                "updated_at": ts(t3 + chrono::Duration::minutes(10)), "labels": [{"name": "incident"}, {"name": "sev2"}]}])),
        ),
    );
    r
}

fn config(uri: &str) -> GithubConfig {
    let mut cfg = GithubConfig::new(vec![RepoConfig {
        full_name: "acme/api".into(),
        service: None,
        team: Some("core".into()),
    }]);
    cfg.api_url = uri.to_string();
    cfg.allow_http = true;
    cfg.retry_base = Duration::from_millis(10);
    // These tests count REST requests; GraphQL has its own test.
    cfg.use_graphql = false;
    cfg
}

const TOKEN: &str = "ghp_not_a_real_token_0123456789";

fn source(uri: &str) -> GithubSource {
    GithubSource::new("gh", config(uri)).with_token(TOKEN)
}

#[test]
fn a_full_run_then_an_incremental_one() {
    let r = repo();
    let mut gh = source(&r.uri());
    let first = gh.collect(None, &NoProgress).unwrap();
    let set = &first.events;
    let d2 = set.deployment("github:acme/api:deployment:2").unwrap();
    assert_eq!(d2.status, DeploymentStatus::Success);
    assert_eq!(d2.changes, [C2, C3]);
    assert_eq!(d2.deployment_type, DeploymentType::Hotfix, "deployed from a hotfix/ branch");
    let d3 = set.deployment("github:acme/api:deployment:3").unwrap();
    assert_eq!(d3.deployment_type, DeploymentType::Rollback);
    assert_eq!(d3.remediates, ["github:acme/api:deployment:2"]);
    assert!(d3.changes.is_empty());
    assert_eq!(set.deployment("github:acme/api:deployment:1").unwrap().changes, [SHA1]);
    let c2 = set.change(C2).unwrap();
    let pr = c2.pull_request.unwrap();
    assert_eq!(pr.number, Some(5));
    assert!(
        pr.first_commit_at.unwrap() < c2.committed_at,
        "squash merge: lead time from the PR's first commit"
    );
    let incident = set.incident("github:acme/api:issue:9").unwrap();
    assert_eq!(incident.caused_by_change.as_deref(), Some(C2));
    assert_eq!(incident.team.as_deref(), Some("core"));
    // 17 requests: 2 deployment pages, 3 statuses (+1 after a 500), 1
    // commit list (the first deployment), 2 compares (+1 after a rate
    // limit), 3 pull request lookups by commit (+1 after a truncated body),
    // 1 pull request's commits (cached for c3), 1 issue list (+1 after a 429).
    assert_eq!(first.requests, 17);
    assert_eq!(first.requests as usize, r.requests());
    let full = first.requests;

    // The events go through the engine: d1 failed (the hotfix d2 remediates
    // it, by the spec's rule), d2 failed (the incident names its change) and
    // was recovered by the rollback d3.
    let window = Window::new(ago(7, 0), Utc::now()).unwrap();
    let c = compute(set, &Options::new(window)).unwrap();
    let all = &c.report.groups[0].summary.figures;
    assert_eq!(all.deployments, 3);
    assert_eq!(all.change_failure_rate.failed, 2);
    assert_eq!(all.recovery_time.count, 2);
    assert_eq!(all.rework_rate.rework, 2);
    assert_eq!(all.lead_time.count, 3);

    // Nothing new: only conditional requests, answered 304.
    let before = r.requests();
    let second = gh.collect(Some(&first.state), &NoProgress).unwrap();
    assert_eq!(second.events.len(), 0);
    assert_eq!(second.requests, 2, "one 304 for the deployments, one for the issues");
    assert_eq!(r.requests() - before, 2);
    eprintln!("requests: full run {full}, incremental run {}", second.requests);
}

#[test]
fn a_spent_budget_a_missing_token_and_http_fail_cleanly() {
    let r = repo();
    let mut cfg = config(&r.uri());
    cfg.max_requests = Some(3);
    let mut limited = GithubSource::new("gh", cfg).with_token(TOKEN);
    let e = limited.collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("request budget of 3 is spent"), "{e}");
    let mut cfg = config(&r.uri());
    cfg.token_env = "DORA_TEST_NO_SUCH_TOKEN_VARIABLE".into();
    let e = GithubSource::new("gh", cfg).collect(None, &NoProgress).unwrap_err().to_string();
    assert_eq!(e, "the environment variable DORA_TEST_NO_SUCH_TOKEN_VARIABLE (the GitHub token) is not set");
    let mut cfg = config("http://github.example");
    cfg.allow_http = false;
    let mut http = GithubSource::new("gh", cfg).with_token(TOKEN);
    let e = http.collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("plain http:// is refused"), "{e}");
    // The token shows in no message, nor in the source's Debug output.
    assert!(!format!("{http:?}").contains("ghp_"));
    // An unreachable server: retried with a bound, then a clear error.
    let mut cfg = config("http://127.0.0.1:9");
    cfg.max_retries = 1;
    let e =
        GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.starts_with("GET /repos/acme/api/deployments: request failed"), "{e}");
    assert!(!e.contains(TOKEN));
}

/// A server with two successful production deployments, d1 (at SHA1, the
/// first seen, with no commits in the look-back) and d2 (at SHA2); returns
/// it and d2's time.
fn two_deployments() -> (Repo, DateTime<Utc>) {
    let r = Repo::new();
    let (t1, t2) = (ago(3, 0), ago(1, 0));
    r.mount(
        Mock::given(method("GET")).and(path("/repos/acme/api/deployments")).respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([deployment(2, SHA2, t2, "main"), deployment(1, SHA1, t1, "main")])),
        ),
    );
    for (id, t) in [(1, t1), (2, t2)] {
        r.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/acme/api/deployments/{id}/statuses")))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([status(
                    id * 10,
                    "success",
                    t
                )]))),
        );
    }
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/commits"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    (r, t2)
}

#[test]
fn a_release_of_more_than_250_commits_is_complete() {
    let (r, t2) = two_deployments();
    // 260 commits: pages of 100, 100 and 60.
    let shas: Vec<String> = (0..260).map(|i| format!("{i:040x}")).collect();
    for (page, chunk) in shas.chunks(100).enumerate() {
        let commits: Vec<Value> = chunk.iter().map(|s| commit(s, t2 - chrono::Duration::hours(2))).collect();
        r.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/acme/api/compare/{SHA1}...{SHA2}")))
                .and(query_param("page", (page + 1).to_string().as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "status": "ahead", "ahead_by": 260, "behind_by": 0, "total_commits": 260, "commits": commits}))),
        );
    }
    no_pulls(&r, "acme/api");
    empty_issues(&r, "acme/api");
    let out = source(&r.uri()).collect(None, &NoProgress).unwrap();
    let d2 = out.events.deployment("github:acme/api:deployment:2").unwrap();
    assert_eq!(d2.changes, shas);
    assert_eq!(out.events.count(dora_core::EventKind::Change), 260);
}

#[test]
fn graphql_finds_the_pull_requests_of_many_commits_at_once() {
    let (r, t2) = two_deployments();
    let shas: Vec<String> = (0..120).map(|i| format!("{i:040x}")).collect();
    let commits: Vec<Value> = shas.iter().map(|s| commit(s, t2 - chrono::Duration::hours(2))).collect();
    r.mount(
        Mock::given(method("GET")).and(path(format!("/repos/acme/api/compare/{SHA1}...{SHA2}"))).respond_with(
            ResponseTemplate::new(200).set_body_json(json!({
                "status": "ahead", "ahead_by": 120, "behind_by": 0, "total_commits": 120, "commits": commits})),
        ),
    );
    // Every even commit came through pull request #(index); odd ones were pushed.
    let opened = ts(t2 - chrono::Duration::hours(30));
    let first = ts(t2 - chrono::Duration::hours(40));
    let merged = ts(t2 - chrono::Duration::hours(3));
    let t1 = ago(3, 0);
    r.mount(Mock::given(method("POST")).and(path("/graphql")).respond_with(move |req: &wiremock::Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let query = body["query"].as_str().unwrap();
        if query.starts_with("query Overview") {
            // The deployments with their statuses, no incidents.
            let node = |id: u64, t: DateTime<Utc>| json!({"databaseId": id, "createdAt": ts(t),
                "statuses": {"nodes": [{"state": "SUCCESS", "createdAt": ts(t)}]}});
            let page = |nodes: Value| json!({"pageInfo": {"hasNextPage": false}, "nodes": nodes});
            return ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": {
                "deployments": page(json!([node(2, t2), node(1, t1)])), "issues": page(json!([]))}}}));
        }
        if query.starts_with("query Walk") {
            // Neither deployed commit is on the default branch: REST decides.
            return ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": {"defaultBranchRef":
                {"target": {"history": {"pageInfo": {"hasNextPage": false}, "nodes": []}}}}}}));
        }
        assert_eq!(body["variables"], json!({"owner": "acme", "name": "api"}));
        let query = body["query"].as_str().unwrap();
        let mut repo = serde_json::Map::new();
        for (at, marker) in query.match_indices(": object(oid: \"") {
            let alias = &query[query[..at].rfind(' ').unwrap() + 1..at];
            let sha = &query[at + marker.len()..at + marker.len() + 40];
            let index = usize::from_str_radix(sha, 16).unwrap();
            let nodes = if index.is_multiple_of(2) {
                json!([{"number": index, "title": "t", "createdAt": opened, "mergedAt": merged, "mergeCommit": {"oid": sha},
                        "headRefName": "feature", "labels": {"nodes": []},
                        "commits": {"nodes": [{"commit": {"authoredDate": first}}]}}])
            } else {
                json!([])
            };
            repo.insert(alias.to_string(), json!({"associatedPullRequests": {"nodes": nodes}}));
        }
        ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": repo}}))
    }));
    empty_issues(&r, "acme/api");
    let mut cfg = config(&r.uri());
    cfg.use_graphql = true;
    let out = GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    assert_eq!(out.events.count(dora_core::EventKind::Change), 120);
    let even = out.events.change(&shas[4]).unwrap().pull_request.unwrap();
    assert_eq!(even.number, Some(4));
    assert_eq!(even.first_commit_at.map(ts), Some(ts(t2 - chrono::Duration::hours(40))));
    assert!(out.events.change(&shas[5]).unwrap().pull_request.is_none());
    // 1 overview query (deployments, statuses, incidents), 1 deployment
    // list (REST: the fields GraphQL lacks), 1 walk of the default branch
    // (it has neither commit), 1 commit list, 1 compare, 3 GraphQL queries
    // (50 + 50 + 20 commits) instead of 120 REST lookups.
    assert_eq!(out.requests, 8);
    assert_eq!(r.requests(), 8);
}

/// `repo` has no issues.
fn empty_issues(r: &Repo, repo: &str) {
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/issues")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
}

/// No commit of `repo` came through a pull request.
fn no_pulls(r: &Repo, repo: &str) {
    r.mount(
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(format!(r"^/repos/{repo}/commits/[0-9a-f]{{40}}/pulls$")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
}

/// The history of the first deployment seen: SHA1 alone, committed at `at`.
fn sha1_history(r: &Repo, at: DateTime<Utc>) {
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/commits"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([commit(SHA1, at)]))),
    );
}

/// SHA1...SHA2 adds SHA2 itself, a commit pushed without a pull request;
/// no incidents.
fn sha2_adds_one_commit(r: &Repo, t2: DateTime<Utc>) {
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/compare/{SHA1}...{SHA2}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"status": "ahead", "ahead_by": 1, "behind_by": 0, "total_commits": 1,
                "commits": [commit(SHA2, t2 - chrono::Duration::hours(1))]}),
                ),
            ),
    );
    no_pulls(r, "acme/api");
    empty_issues(r, "acme/api");
}

fn run(id: u64, sha: &str, conclusion: &str, at: DateTime<Utc>) -> Value {
    json!({"id": id, "name": "deploy", "path": ".github/workflows/deploy.yml", "head_sha": sha, "head_branch": "main",
           "status": "completed", "conclusion": conclusion, "created_at": ts(at - chrono::Duration::minutes(10)),
           "updated_at": ts(at), "run_started_at": ts(at - chrono::Duration::minutes(9))})
}

#[test]
fn workflow_runs_as_deployments() {
    let r = Repo::new();
    let (t1, t2, t3) = (ago(3, 0), ago(2, 0), ago(1, 0));
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/actions/workflows/deploy.yml/runs"))
            .and(query_param("branch", "main"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_count": 4, "workflow_runs": [
                run(4, SHA2, "cancelled", t3), run(3, SHA2, "success", t3), run(2, SHA2, "failure", t2), run(1, SHA1, "success", t1)]}))),
    );
    sha1_history(&r, t1 - chrono::Duration::hours(1));
    sha2_adds_one_commit(&r, t2);
    let mut cfg = config(&r.uri());
    cfg.strategy = Strategy::WorkflowRuns {
        workflows: vec!["deploy.yml".into()],
        branch: Some("main".into()),
        environment: "production".into(),
    };
    let out = GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    let set = &out.events;
    assert!(set.deployment("github:acme/api:run:4").is_none(), "a cancelled run is no attempt");
    assert_eq!(set.deployment("github:acme/api:run:2").unwrap().status, DeploymentStatus::Failure);
    assert_eq!(set.deployment("github:acme/api:run:1").unwrap().changes, [SHA1]);
    let d3 = set.deployment("github:acme/api:run:3").unwrap();
    assert_eq!(d3.changes, [SHA2], "the failed run shipped nothing: the next success ships the commit");
    assert_eq!(d3.finished_at.timestamp(), t3.timestamp());
}

#[test]
fn releases_as_deployments() {
    let r = Repo::new();
    let (t1, t2) = (ago(3, 0), ago(1, 0));
    let release = |id: u64, tag: &str, target: &str, at: DateTime<Utc>, draft: bool, pre: bool| {
        json!({"id": id, "tag_name": tag, "target_commitish": target, "draft": draft, "prerelease": pre,
               "created_at": ts(at), "published_at": if draft { Value::Null } else { json!(ts(at)) }})
    };
    r.mount(Mock::given(method("GET")).and(path("/repos/acme/api/releases")).respond_with(
        ResponseTemplate::new(200).set_body_json(json!([
            release(4, "v2.1.0-rc1", "main", t2, false, true),
            release(3, "v2.0.0", "main", t2, false, false),
            release(2, "v1.9.0", "main", t2, true, false),
            release(1, "v1.0.0", SHA1, t1, false, false),
        ])),
    ));
    // A tag's commit, when the release names a branch.
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/commits/v2.0.0"))
            .respond_with(ResponseTemplate::new(200).set_body_json(commit(SHA2, t2))),
    );
    sha1_history(&r, t1);
    sha2_adds_one_commit(&r, t2);
    let mut cfg = config(&r.uri());
    cfg.strategy = Strategy::Releases {
        tag_pattern: Some(regex::Regex::new(r"^v\d+\.\d+\.\d+").unwrap()),
        prereleases: false,
        environment: "production".into(),
    };
    let out = GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    let set = &out.events;
    assert_eq!(set.count(dora_core::EventKind::Deployment), 2, "no draft, no pre-release");
    let v2 = set.deployment("github:acme/api:release:3").unwrap();
    assert_eq!(v2.commit.as_deref(), Some(SHA2));
    assert_eq!(v2.changes, [SHA2]);
}

#[test]
fn a_whole_organisation_with_include_and_exclude() {
    let r = Repo::new();
    r.mount(Mock::given(method("GET")).and(path("/orgs/acme/repos")).respond_with(
        ResponseTemplate::new(200).insert_header("etag", "\"org-v1\"").set_body_json(json!([
            {"name": "api", "full_name": "acme/api", "archived": false},
            {"name": "api-legacy", "full_name": "acme/api-legacy", "archived": false},
            {"name": "api-old", "full_name": "acme/api-old", "archived": true},
            {"name": "docs", "full_name": "acme/docs", "archived": false}
        ])),
    ));
    for repo in ["api", "api-legacy", "docs"] {
        r.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/acme/{repo}/deployments")))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
        );
        empty_issues(&r, &format!("acme/{repo}"));
    }
    let mut cfg = config(&r.uri());
    cfg.repos.clear();
    cfg.org = Some(dora_sources::github::OrgConfig {
        name: "acme".into(),
        include: vec![glob::Pattern::new("api*").unwrap()],
        exclude: vec![glob::Pattern::new("*-legacy").unwrap()],
        services: Default::default(),
        teams: Default::default(),
    });
    let out = GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    // The listing, then acme/api only: its deployments and its issues.
    assert_eq!(out.requests, 3);
    let received = r.rt.block_on(r.server.received_requests()).unwrap();
    assert!(received.iter().all(|q| !q.url.path().contains("legacy") && !q.url.path().contains("docs")));
    // The token goes to the configured server (octocrab sends it only to
    // its base URI's host), including the pages a Link header names.
    let bearer = format!("Bearer {TOKEN}");
    assert!(received.iter().all(|q| q.headers.get("authorization").is_some_and(|v| v == bearer.as_str())));
}

#[test]
fn the_store_holds_exactly_the_successful_runs_events() {
    use dora_core::store::Store;
    let r = repo();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    // What `dora collect` does: write the events and the state together,
    // only when the source succeeded.
    let run = |gh: &mut GithubSource, store: &mut Store| -> Result<(u64, u64), String> {
        let state = store.sync_state("gh").unwrap();
        let out = gh.collect(state.as_ref(), &NoProgress).map_err(|e| e.to_string())?;
        let mut w = store.writer().unwrap();
        let s = w.put_set(&out.events).unwrap();
        w.set_sync_state("gh", &out.state, "2026-11-25T00:00:00Z").unwrap();
        w.commit().unwrap();
        Ok((s.added, s.unchanged))
    };
    // A run cut short (its request budget) stores nothing.
    let mut cfg = config(&r.uri());
    cfg.max_requests = Some(6);
    let e = run(&mut GithubSource::new("gh", cfg).with_token(TOKEN), &mut store).unwrap_err();
    assert!(e.contains("request budget"), "{e}");
    assert_eq!(store.len().unwrap(), 0);
    assert_eq!(store.sync_state("gh").unwrap(), None);
    // The next run reads everything.
    let mut gh = source(&r.uri());
    let (added, _) = run(&mut gh, &mut store).unwrap();
    let stored = store.len().unwrap();
    assert_eq!(added, stored);
    assert_eq!(stored, 3 + 3 + 1, "3 deployments, 3 changes, 1 incident");
    // Then nothing new: nothing added, nothing duplicated.
    assert_eq!(run(&mut gh, &mut store).unwrap(), (0, 0));
    assert_eq!(store.len().unwrap(), stored);
    // Even with its state lost, a run finds every event already stored.
    let mut w = store.writer().unwrap();
    w.set_sync_state("gh", &dora_core::store::SyncState::default(), "2026-11-25T00:00:00Z").unwrap();
    w.commit().unwrap();
    let (added, unchanged) = run(&mut source(&r.uri()), &mut store).unwrap();
    assert_eq!((added, unchanged), (0, stored));
    assert_eq!(store.len().unwrap(), stored);
}

fn commit_with_files(sha: &str, at: DateTime<Utc>, files: &[&str]) -> Value {
    let mut c = commit(sha, at);
    c["files"] = files.iter().map(|f| json!({"filename": f, "status": "modified"})).collect();
    c
}

/// A monorepo: `services/api` and `services/web` are services, anything
/// else is the repository's own (`platform`). d1 (SHA1, the first seen),
/// d2 (SHA2: three commits, one per service plus one touching api and the
/// docs), d3 (a rollback to SHA1), d4 (a failure at SHA3, touching web only).
#[test]
fn a_monorepo_deployment_becomes_one_deployment_per_service_touched() {
    let r = Repo::new();
    const SHA3: &str = "3333333333333333333333333333333333333333";
    let (ca, cw, cb) = (
        "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0",
        "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
        "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0",
    );
    let (t1, t2, t3, t4) = (ago(4, 0), ago(3, 0), ago(2, 0), ago(1, 0));
    let deployments = json!([
        deployment(4, SHA3, t4, "main"),
        deployment(3, SHA1, t3, "main"),
        deployment(2, SHA2, t2, "main"),
        deployment(1, SHA1, t1, "main"),
    ]);
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/mono/deployments"))
            .respond_with(ResponseTemplate::new(200).set_body_json(deployments)),
    );
    for (id, state, t) in [(1, "success", t1), (2, "success", t2), (3, "success", t3), (4, "error", t4)] {
        r.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/acme/mono/deployments/{id}/statuses")))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([status(id * 10, state, t)]))),
        );
    }
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/mono/commits"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    let at = t2 - chrono::Duration::hours(5);
    // The comparison lists every file of the range: several services, so
    // each commit's own files are read.
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/mono/compare/{SHA1}...{SHA2}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "ahead", "ahead_by": 3, "behind_by": 0, "total_commits": 3,
                "commits": [commit(ca, at), commit(cw, at), commit(cb, at)],
                "files": [{"filename": "services/api/src/lib.rs"}, {"filename": "services/web/app.ts"},
                          {"filename": "docs/README.md"}]}))),
    );
    for (sha, files) in [
        (ca, vec!["services/api/src/lib.rs"]),
        (cw, vec!["services/web/app.ts"]),
        (cb, vec!["services/api/Cargo.toml", "docs/README.md"]),
    ] {
        r.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/acme/mono/commits/{sha}")))
                .respond_with(ResponseTemplate::new(200).set_body_json(commit_with_files(sha, at, &files))),
        );
    }
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/mono/compare/{SHA2}...{SHA1}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"status": "behind", "ahead_by": 0, "behind_by": 3, "total_commits": 0, "commits": []}),
            )),
    );
    // The failed attempt's range touches web only: no per-commit request.
    r.mount(
        Mock::given(method("GET")).and(path(format!("/repos/acme/mono/compare/{SHA1}...{SHA3}"))).respond_with(
            ResponseTemplate::new(200).set_body_json(json!({
                "status": "ahead", "ahead_by": 1, "behind_by": 0, "total_commits": 1,
                "commits": [commit(SHA3, t4 - chrono::Duration::hours(1))],
                "files": [{"filename": "services/web/index.html", "previous_filename": "services/web/old.html"}]})),
        ),
    );
    no_pulls(&r, "acme/mono");
    empty_issues(&r, "acme/mono");

    let mut cfg = config(&r.uri());
    cfg.repos =
        vec![RepoConfig { full_name: "acme/mono".into(), service: Some("platform".into()), team: None }];
    cfg.monorepo.insert(
        "acme/mono".into(),
        dora_sources::github::PathServices::new([("services/api", "api"), ("services/web/", "web")]),
    );
    let out = GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    let set = &out.events;
    let id = |n: u32, s: &str| format!("github:acme/mono:deployment:{n}:{s}");
    // d1 shipped nothing in the look-back: one deployment, the repository's.
    assert!(set.deployment(&id(1, "platform")).is_some());
    assert_eq!(set.deployment(&id(2, "api")).unwrap().changes, [ca, cb]);
    assert_eq!(set.deployment(&id(2, "web")).unwrap().changes, [cw]);
    let platform = set.deployment(&id(2, "platform")).unwrap();
    assert_eq!(platform.changes, [cb]);
    assert_eq!(platform.service, "platform");
    assert!(set.deployment("github:acme/mono:deployment:2").is_none(), "only the parts");
    assert_eq!(set.change(cb).unwrap().service, "api", "a commit is one change, of its first service");
    assert_eq!(set.change(cw).unwrap().service, "web");
    // The rollback undoes each part of d2.
    for s in ["api", "platform", "web"] {
        let d3 = set.deployment(&id(3, s)).unwrap();
        assert_eq!(d3.deployment_type, DeploymentType::Rollback);
        assert_eq!(d3.remediates, [id(2, s)]);
    }
    let d4 = set.deployment(&id(4, "web")).unwrap();
    assert_eq!(d4.status, DeploymentStatus::Failure);
    assert!(set.deployment(&id(4, "api")).is_none());
    // 1 deployment list, 4 statuses, 1 commit list, 3 compares, 3 commits'
    // files (d2 only), 3 pull request lookups, 1 issue list.
    assert_eq!(out.requests, 16);
    assert_eq!(r.requests(), 16);

    // Per service through the engine.
    let window = Window::new(ago(7, 0), Utc::now()).unwrap();
    let mut options = Options::new(window);
    options.group_by = vec![dora_core::GroupKind::Service];
    let c = compute(set, &options).unwrap();
    let web = c.report.groups.iter().find(|g| g.name == "web").unwrap();
    assert_eq!(web.summary.figures.deployments, 2);
    assert_eq!(web.summary.figures.failed_attempts, 1);
    assert_eq!(web.summary.figures.change_failure_rate.failed, 1);
    assert_eq!(web.summary.figures.lead_time.count, 1);
    let api = c.report.groups.iter().find(|g| g.name == "api").unwrap();
    assert_eq!(api.summary.figures.lead_time.count, 2);
}

/// Tags as deployments, listed by GraphQL newest first over two pages: an
/// annotated tag (its own date), a lightweight one (its commit's date), a
/// tag the pattern leaves out, and one older than the look-back that ends
/// the listing.
#[test]
fn tags_as_deployments() {
    let r = Repo::new();
    let (t1, t2) = (ago(3, 0), ago(1, 0));
    let tagged = t2 + chrono::Duration::minutes(30);
    let old = ago(400, 0);
    let (ts1, ts2, tsold) = (ts(t1), ts(t2), ts(old));
    let tagged_s = ts(tagged);
    r.mount(Mock::given(method("POST")).and(path("/graphql")).respond_with(move |req: &wiremock::Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert!(body["query"].as_str().unwrap().contains("refs(refPrefix: \"refs/tags/\""));
        assert_eq!(body["variables"]["owner"], "acme");
        let page = if body["variables"]["after"].is_null() {
            json!({"pageInfo": {"hasNextPage": true, "endCursor": "c1"}, "nodes": [
                {"name": "v2.0.0", "target": {"__typename": "Tag", "oid": "ffff", "tagger": {"date": tagged_s},
                  "target": {"__typename": "Commit", "oid": SHA2, "committedDate": ts2}}},
                {"name": "nightly", "target": {"__typename": "Commit", "oid": SHA2, "committedDate": ts2}},
            ]})
        } else {
            assert_eq!(body["variables"]["after"], "c1");
            json!({"pageInfo": {"hasNextPage": true, "endCursor": "c2"}, "nodes": [
                {"name": "v1.0.0", "target": {"__typename": "Commit", "oid": SHA1, "committedDate": ts1}},
                {"name": "v0.1.0", "target": {"__typename": "Commit", "oid": "0000000000000000000000000000000000000000",
                  "committedDate": tsold}},
            ]})
        };
        ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": {"refs": page}}}))
    }));
    sha1_history(&r, t1);
    sha2_adds_one_commit(&r, t2);
    let mut cfg = config(&r.uri());
    cfg.strategy = Strategy::Tags {
        tag_pattern: Some(regex::Regex::new(r"^v\d+\.\d+\.\d+$").unwrap()),
        environment: "production".into(),
    };
    let mut gh = GithubSource::new("gh", cfg).with_token(TOKEN);
    let out = gh.collect(None, &NoProgress).unwrap();
    let set = &out.events;
    assert_eq!(set.count(dora_core::EventKind::Deployment), 2, "not nightly, not the old tag");
    let v2 = set.deployment("github:acme/api:tag:v2.0.0").unwrap();
    assert_eq!(ts(v2.finished_at), ts(tagged), "an annotated tag's own date");
    assert_eq!(v2.commit.as_deref(), Some(SHA2));
    assert_eq!(v2.changes, [SHA2]);
    let v1 = set.deployment("github:acme/api:tag:v1.0.0").unwrap();
    assert_eq!(ts(v1.finished_at), ts(t1), "a lightweight tag: its commit's date");
    // 2 GraphQL pages, 1 commit list (v1.0.0's), 1 compare (v1.0.0...v2.0.0),
    // 2 pull request lookups (SHA1, SHA2), 1 issue list.
    assert_eq!(out.requests, 7);
    // Again: the tags are known, nothing is added.
    let again = gh.collect(Some(&out.state), &NoProgress).unwrap();
    assert_eq!(again.events.count(dora_core::EventKind::Deployment), 0);
}

/// After a full run, one new deployment: the next run reads the changed
/// deployment list, that deployment's statuses (the first answer comes too
/// late and is retried as a timeout), its comparison and its commit's pull
/// request, and nothing of the deployments it already has.
#[test]
fn one_new_deployment_costs_only_what_it_needs_even_after_a_timeout() {
    const SHA3: &str = "3333333333333333333333333333333333333333";
    let (r, t2) = two_deployments();
    sha2_adds_one_commit(&r, t2);
    let mut cfg = config(&r.uri());
    cfg.read_timeout = Duration::from_millis(300);
    let mut gh = GithubSource::new("gh", cfg).with_token(TOKEN);
    let first = gh.collect(None, &NoProgress).unwrap();
    assert_eq!(first.events.count(dora_core::EventKind::Deployment), 2);

    let t3 = ago(0, 1);
    let listed = json!([
        deployment(3, SHA3, t3, "main"),
        deployment(2, SHA2, t2, "main"),
        deployment(1, SHA1, ago(3, 0), "main")
    ]);
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/deployments"))
            .respond_with(ResponseTemplate::new(200).set_body_json(listed))
            .with_priority(1),
    );
    let statuses = json!([status(30, "success", t3)]);
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/deployments/3/statuses"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(statuses.clone()).set_delay(Duration::from_secs(3)),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    r.mount(
        Mock::given(method("GET"))
            .and(path("/repos/acme/api/deployments/3/statuses"))
            .respond_with(ResponseTemplate::new(200).set_body_json(statuses)),
    );
    r.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/api/compare/{SHA2}...{SHA3}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status": "ahead", "ahead_by": 1, "behind_by": 0,
                "total_commits": 1, "commits": [commit(SHA3, t3 - chrono::Duration::hours(1))]})),
            ),
    );
    let before = r.requests();
    let second = gh.collect(Some(&first.state), &NoProgress).unwrap();
    let d3 = second.events.deployment("github:acme/api:deployment:3").unwrap();
    assert_eq!(d3.changes, [SHA3]);
    assert_eq!(second.events.len(), 2, "the new deployment and its change, nothing else");
    // 1 deployment list, 2 statuses (one timed out), 1 compare, 1 pull
    // request lookup, 1 issue list.
    assert_eq!(second.requests, 6);
    assert_eq!(r.requests() - before, 6);
    eprintln!("requests: one new deployment {}", second.requests);
}

/// The HTTP policy end to end: a server error on every attempt gives up
/// after the retries, and a rate limit longer than the run waits gives up
/// at once; both name the request. A 429 that says nothing is a rate limit
/// of a minute (as GitHub asks), not a failure.
#[test]
fn retries_and_rate_limits_give_up_naming_the_request() {
    let fail_with = |response: ResponseTemplate, tweak: &dyn Fn(&mut GithubConfig)| {
        let r = Repo::new();
        r.mount(Mock::given(method("GET")).and(path("/repos/acme/api/deployments")).respond_with(response));
        let mut cfg = config(&r.uri());
        tweak(&mut cfg);
        let e = GithubSource::new("gh", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap_err();
        (e.to_string(), r.requests())
    };
    let (e, sent) = fail_with(ResponseTemplate::new(502), &|c| c.max_retries = 2);
    assert_eq!(e, "GET /repos/acme/api/deployments: HTTP 502; gave up after 3 attempts");
    assert_eq!(sent, 3);
    let reset = (Utc::now().timestamp() + 7200).to_string();
    let limited = ResponseTemplate::new(403)
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", reset);
    let (e, sent) = fail_with(limited, &|_| {});
    assert!(e.starts_with("GET /repos/acme/api/deployments: rate limited for 7"), "{e}");
    assert!(e.ends_with("longer than the 3600 s this run waits"), "{e}");
    assert_eq!(sent, 1, "no wait, no second request");
    let (e, _) = fail_with(ResponseTemplate::new(429), &|c| c.max_rate_limit_wait = Duration::from_secs(30));
    assert_eq!(
        e,
        "GET /repos/acme/api/deployments: rate limited for 60 s, longer than the 30 s this run waits"
    );
}

#[path = "github_fake/mod.rs"]
mod fake;

/// Serves `models` through the fake GitHub with `faults`; the server and
/// the models (to change between runs).
fn serve(
    models: Vec<fake::Model>,
    faults: fake::Faults,
) -> (Repo, std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, fake::Model>>>) {
    let r = Repo::new();
    let (github, shared) = fake::FakeGithub::new(models, faults);
    r.mount(Mock::given(wiremock::matchers::any()).respond_with(github));
    (r, shared)
}

/// The settings of the fake's repositories: a look-back of 30 days, GraphQL on or off.
fn fake_config(uri: &str, repos: &[&str], graphql: bool) -> GithubConfig {
    let mut cfg = config(uri);
    cfg.repos =
        repos.iter().map(|r| RepoConfig { full_name: r.to_string(), service: None, team: None }).collect();
    cfg.lookback_days = 30;
    cfg.use_graphql = graphql;
    cfg
}

/// Every event of a run, as JSON, in the order the source gave them.
fn events_json(set: &dora_core::EventSet) -> Vec<Value> {
    set.events().iter().map(|e| serde_json::to_value(e).unwrap()).collect()
}

/// The same realistic repository read through GraphQL and through REST
/// alone gives the same events (ids, change sets, pull requests and
/// first-commit times, rollbacks, hotfixes, incidents), GraphQL at under
/// 0.5 requests per deployment; then a run with nothing new costs one
/// query, and a run after new deployments gives the same events again.
#[test]
fn graphql_gives_the_rest_events_at_a_fraction_of_the_requests() {
    let now = Utc::now();
    let model = fake::realistic("acme/shop", 24, now);
    let deployments = model.deployments.len();
    let (rest_server, rest_models) = serve(vec![model.clone()], fake::Faults::default());
    let (gql_server, gql_models) = serve(vec![model], fake::Faults::default());
    let mut rest =
        GithubSource::new("gh", fake_config(&rest_server.uri(), &["acme/shop"], false)).with_token(TOKEN);
    let mut gql =
        GithubSource::new("gh", fake_config(&gql_server.uri(), &["acme/shop"], true)).with_token(TOKEN);
    let by_rest = rest.collect(None, &NoProgress).unwrap();
    let by_gql = gql.collect(None, &NoProgress).unwrap();
    assert_eq!(events_json(&by_gql.events), events_json(&by_rest.events));

    // The data has what the comparison must get right.
    let set = &by_gql.events;
    let all = set.events();
    let deployments_of = |t: DeploymentType| {
        all.iter().filter(|e| matches!(e, dora_core::Event::Deployment(d) if d.deployment_type == t)).count()
    };
    assert_eq!(deployments_of(DeploymentType::Rollback), 1);
    assert!(deployments_of(DeploymentType::Hotfix) >= 1, "the hotfix branch's deployment");
    assert!(set.count(dora_core::EventKind::Change) > 60);
    assert_eq!(set.count(dora_core::EventKind::Incident), 2);
    let changes: Vec<dora_core::Change> = all
        .iter()
        .filter_map(|e| if let dora_core::Event::Change(c) = e { Some(c.clone()) } else { None })
        .collect();
    assert!(
        changes.iter().any(|c| c
            .pull_request
            .as_ref()
            .is_some_and(|p| p.first_commit_at.is_some_and(|f| f < now - chrono::Duration::days(29)))),
        "the long-lived branch's first commit, before the look-back"
    );
    let live: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            dora_core::Event::Deployment(d) if d.environment == "live-eu" => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert!(
        live.iter().all(|d| d.status == DeploymentStatus::Failure || !d.changes.is_empty()),
        "flagged production: change sets"
    );
    assert!(
        set.deployment(&format!("github:acme/shop:deployment:{deployments}")).is_none(),
        "still in progress"
    );

    let per_deployment = by_gql.requests as f64 / deployments as f64;
    eprintln!(
        "requests: {deployments} deployments, full run: GraphQL {} ({per_deployment:.3} per deployment), REST {} ({:.3} per deployment)",
        by_gql.requests,
        by_rest.requests,
        by_rest.requests as f64 / deployments as f64
    );
    for q in gql_server.received() {
        let kind = serde_json::from_slice::<Value>(&q.body)
            .ok()
            .and_then(|b| b["query"].as_str().and_then(|t| t.split(['(', ' ']).nth(1)).map(str::to_string));
        eprintln!("  {} {} {}", q.method, q.url.path(), kind.unwrap_or_default());
    }
    assert!(per_deployment <= 0.5, "{} requests for {deployments} deployments", by_gql.requests);
    assert_eq!(by_gql.requests as usize, gql_server.requests());

    // Nothing new: one query.
    let before = gql_server.requests();
    let again = gql.collect(Some(&by_gql.state), &NoProgress).unwrap();
    assert_eq!(again.events.len(), 0);
    assert_eq!(again.requests, 1, "one overview query per repository");
    assert_eq!(gql_server.requests() - before, 1);
    let rest_again = rest.collect(Some(&by_rest.state), &NoProgress).unwrap();
    assert_eq!(rest_again.events.len(), 0);
    eprintln!(
        "requests: incremental run with nothing new: GraphQL {}, REST {}",
        again.requests, rest_again.requests
    );

    // The deployment in progress succeeds, and a new commit is deployed:
    // both paths read the same two deployments.
    for models in [&rest_models, &gql_models] {
        let mut models = models.lock().unwrap();
        let m = models.get_mut("acme/shop").unwrap();
        let pending = m.deployments.iter_mut().find(|d| d.id as usize == deployments).unwrap();
        pending.statuses.push(("success", now - chrono::Duration::minutes(20)));
        let mut b = fake::Builder::from_model(std::mem::take(m));
        let head = b.model.head.clone();
        let new = b.merge_pull(
            &head,
            &head,
            "feature/new",
            &[],
            1,
            now - chrono::Duration::hours(5),
            now - chrono::Duration::minutes(15),
        );
        b.model.head = new.clone();
        b.deploy(&new, "main", "production", true, now - chrono::Duration::minutes(10), &[("success", 1)]);
        *m = b.model;
    }
    let rest_third = rest.collect(Some(&rest_again.state), &NoProgress).unwrap();
    let gql_third = gql.collect(Some(&again.state), &NoProgress).unwrap();
    assert_eq!(gql_third.events.count(dora_core::EventKind::Deployment), 2);
    assert_eq!(events_json(&gql_third.events), events_json(&rest_third.events));
    eprintln!(
        "requests: incremental run with two new deployments: GraphQL {}, REST {}",
        gql_third.requests, rest_third.requests
    );
    assert!(gql_third.requests <= 4, "{}", gql_third.requests);
}

/// A GitHub Enterprise Server that refuses GraphQL: the run falls back to
/// REST (one refused query) and gives the same events.
#[test]
fn a_server_refusing_graphql_gets_the_rest_path() {
    let now = Utc::now();
    let model = fake::realistic("acme/shop", 8, now);
    let (rest_server, _) = serve(vec![model.clone()], fake::Faults::default());
    let (refusing, _) = serve(vec![model], fake::Faults { refuse_graphql: true, ..Default::default() });
    let by_rest = GithubSource::new("gh", fake_config(&rest_server.uri(), &["acme/shop"], false))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    let fallback = GithubSource::new("gh", fake_config(&refusing.uri(), &["acme/shop"], true))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    assert!(by_rest.events.count(dora_core::EventKind::Deployment) > 10);
    assert_eq!(events_json(&fallback.events), events_json(&by_rest.events));
    assert_eq!(fallback.requests, by_rest.requests + 1, "one refused query, then REST");
}

/// GraphQL's rate limit: an answer `RATE_LIMITED` waits for the reset and
/// asks again; a query costing more points than are left waits for the
/// reset before it is sent.
#[test]
fn graphql_rate_limits_wait_for_the_reset() {
    let now = Utc::now();
    let model = fake::realistic("acme/shop", 4, now);
    let (limited, _) =
        serve(vec![model.clone()], fake::Faults { graphql_rate_limited_once: true, ..Default::default() });
    let started = std::time::Instant::now();
    let out = GithubSource::new("gh", fake_config(&limited.uri(), &["acme/shop"], true))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    assert!(out.events.count(dora_core::EventKind::Deployment) > 4);
    let (r, _) = serve(vec![model], fake::Faults::default());
    let plain = GithubSource::new("gh", fake_config(&r.uri(), &["acme/shop"], true))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    assert_eq!(out.requests, plain.requests + 1, "the rate-limited query, asked again");
    assert_eq!(events_json(&out.events), events_json(&plain.events));

    // 2 points left: the walk (13 points) waits for the reset.
    let (short, _) = serve(
        vec![fake::realistic("acme/shop", 4, now)],
        fake::Faults { graphql_points_left: Some(2), ..Default::default() },
    );
    let started = std::time::Instant::now();
    let out = GithubSource::new("gh", fake_config(&short.uri(), &["acme/shop"], true))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    assert_eq!(out.requests, plain.requests, "a wait, not a failed query");
}

/// Repositories are read concurrently: against a server answering every
/// request after 100 ms, 20 repositories take less than 4 times as long
/// as one (one after the other, they would take about 20 times).
#[test]
fn repositories_are_read_concurrently() {
    let now = Utc::now();
    let names: Vec<String> = (0..20).map(|i| format!("acme/svc{i:02}")).collect();
    let models: Vec<fake::Model> = names.iter().map(|n| fake::realistic(n, 4, now)).collect();
    let faults = fake::Faults { delay: Some(Duration::from_millis(100)), ..Default::default() };
    let (r, _) = serve(models, faults);
    let time = |repos: &[&str]| {
        let started = std::time::Instant::now();
        let out = GithubSource::new("gh", fake_config(&r.uri(), repos, true))
            .with_token(TOKEN)
            .collect(None, &NoProgress)
            .unwrap();
        (started.elapsed(), out)
    };
    let (one, single) = time(&["acme/svc00"]);
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let (twenty, many) = time(&all);
    eprintln!(
        "wall time: 1 repository {one:?} ({} requests), 20 repositories {twenty:?} ({} requests)",
        single.requests, many.requests
    );
    assert!(twenty < one * 4, "1 repository: {one:?}, 20: {twenty:?}");
    // The events come in the repositories' order, as one at a time would give them.
    let mut serial_cfg = fake_config(&r.uri(), &all, true);
    serial_cfg.concurrency = 1;
    let serial = GithubSource::new("gh", serial_cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    assert_eq!(events_json(&many.events), events_json(&serial.events));
    assert_eq!(many.requests, serial.requests);
}

/// With several `incident_labels`, an issue with any one of them is an
/// incident on both paths: REST lists each label (its filter `labels=a,b`
/// wants all of them at once), GraphQL asks for any.
#[test]
fn an_issue_with_any_of_the_incident_labels_is_an_incident_on_both_paths() {
    let now = Utc::now();
    let mut model = fake::realistic("acme/shop", 8, now);
    let next = model.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1;
    for (number, labels) in
        [(next, vec!["outage"]), (next + 1, vec!["outage", "incident"]), (next + 2, vec!["bug"])]
    {
        model.issues.push(fake::FakeIssue {
            number,
            title: format!("issue {number}"),
            body: String::new(),
            created: now - chrono::Duration::hours(30),
            closed: Some(now - chrono::Duration::hours(29)),
            updated: now - chrono::Duration::hours(29),
            labels: labels.into_iter().map(str::to_string).collect(),
            pull: false,
        });
    }
    let labels = vec!["incident".to_string(), "outage".to_string()];
    let (one_label_server, _) = serve(vec![model.clone()], fake::Faults::default());
    let one_label = GithubSource::new("gh", fake_config(&one_label_server.uri(), &["acme/shop"], false))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap()
        .events
        .count(dora_core::EventKind::Incident);
    let (rest_server, _) = serve(vec![model.clone()], fake::Faults::default());
    let (gql_server, _) = serve(vec![model], fake::Faults::default());
    let mut rest_cfg = fake_config(&rest_server.uri(), &["acme/shop"], false);
    rest_cfg.incident_labels = labels.clone();
    let mut gql_cfg = fake_config(&gql_server.uri(), &["acme/shop"], true);
    gql_cfg.incident_labels = labels;
    let by_rest = GithubSource::new("gh", rest_cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    let by_gql = GithubSource::new("gh", gql_cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    assert_eq!(
        by_rest.events.count(dora_core::EventKind::Incident),
        one_label + 1,
        "the outage alone is one more incident; the bug is none"
    );
    assert_eq!(events_json(&by_gql.events), events_json(&by_rest.events));
}
