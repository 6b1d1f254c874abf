//! The GitLab source's real client (the `gitlab` crate's endpoints through
//! dora's client) against a local HTTP server serving GitLab-shaped
//! responses: offset pagination (`page`, `per_page`), `updated_after`
//! filters, deployments of every status, a merge request with non-UTC
//! times, a rollback, an incident with a root cause and a timeline, the
//! faults (500, 429 with `Retry-After`, a truncated body, a timeout), an
//! incremental run, and the recorded bodies of `../shared/fixtures/peer`
//! (read from there, not copied; the tests say so when it is absent).

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{MockApi, peer_text};
use dora_core::source::{NoProgress, Source};
use dora_core::{DeploymentStatus, DeploymentType, EventKind, Options, Window, compute};
use dora_sources::gitlab::{GitlabConfig, GitlabSource, ProjectConfig};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

const P: &str = "/api/v4/projects/acme%2Fshop";
const S1: &str = "1111111111111111111111111111111111111111";
const S2: &str = "2222222222222222222222222222222222222222";
const S3: &str = "3333333333333333333333333333333333333333";
const C2: &str = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";
/// The squash commit of merge request !35.
const SQUASH: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
const TOKEN: &str = "glpat-not-a-real-token-0123";

/// The API bodies DevLake recorded (the `data` column of its raw tables).
fn devlake_raw(rel: &str) -> Option<Vec<Value>> {
    let text = peer_text(rel)?;
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let data = rows.headers().unwrap().iter().position(|h| h == "data").unwrap();
    Some(rows.records().map(|r| serde_json::from_str(&r.unwrap()[data]).unwrap()).collect())
}

fn ago(hours: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(hours)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The same instant written with a -04:00 offset, as self-managed servers do.
fn ts_minus4(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::FixedOffset::west_opt(4 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// A list endpoint as GitLab serves it: only items updated at or after
/// `updated_after`, in pages of `per_page` chosen by `page`, with the
/// `X-*` paging headers.
fn listing(items: Vec<Value>) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |req: &Request| {
        let q = |k: &str| req.url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
        let after =
            q("updated_after").map(|s| s.parse::<DateTime<Utc>>().expect("updated_after is RFC 3339"));
        let kept: Vec<&Value> = items
            .iter()
            .filter(|i| {
                let updated = i["updated_at"].as_str().map(|u| u.parse::<DateTime<Utc>>().unwrap());
                after.is_none_or(|a| updated.is_none_or(|u| u >= a))
            })
            .collect();
        let per_page: usize = q("per_page").and_then(|s| s.parse().ok()).unwrap_or(20);
        let page: usize = q("page").and_then(|s| s.parse().ok()).unwrap_or(1);
        let slice: Vec<&Value> = kept.iter().skip((page - 1) * per_page).take(per_page).copied().collect();
        let pages = kept.len().div_ceil(per_page).max(1);
        let mut r = ResponseTemplate::new(200)
            .set_body_json(slice)
            .insert_header("x-page", page.to_string())
            .insert_header("x-per-page", per_page.to_string())
            .insert_header("x-total", kept.len().to_string())
            .insert_header("x-total-pages", pages.to_string());
        if page < pages {
            r = r.insert_header("x-next-page", (page + 1).to_string());
        }
        r
    }
}

fn deployment(id: u64, sha: &str, env: &str, status: &str, finished: DateTime<Utc>) -> Value {
    json!({"id": id, "iid": id - 100, "ref": "main", "sha": sha, "status": status,
           "created_at": ts(finished - chrono::Duration::minutes(10)),
           "updated_at": ts(finished + chrono::Duration::milliseconds(20)),
           "environment": {"id": 1, "name": env},
           "deployable": {"id": id * 10, "status": if status == "created" { "running" } else { status },
                          "started_at": ts(finished - chrono::Duration::minutes(5)), "finished_at": ts(finished)}})
}

/// The comparison of the shop's commits `from` and `to`.
fn compare(from: &str, to: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("{P}/repository/compare")))
        .and(query_param("from", from))
        .and(query_param("to", to))
}

fn commit(sha: &str, at: DateTime<Utc>) -> Value {
    json!({"id": sha, "title": "t", "authored_date": ts_minus4(at), "committed_date": ts_minus4(at),
           "created_at": ts_minus4(at)})
}

fn config(uri: &str, path: &str) -> GitlabConfig {
    let mut cfg = GitlabConfig::new(vec![ProjectConfig {
        path: path.into(),
        service: None,
        team: Some("shop-team".into()),
    }]);
    cfg.api_url = uri.to_string();
    cfg.allow_http = true;
    cfg.retry_base = Duration::from_millis(10);
    cfg.request_timeout = Duration::from_millis(400);
    cfg.per_page = 2;
    cfg
}

/// The shop: d101 (the first, shipping S1), d102 (S2: C2 pushed directly
/// and !35 squash-merged), d103 (failed at S3), d104 (a rollback to S1),
/// d105 (still `created`), d106 (staging). Environment `live` is
/// production by its tier only: d107 there. One incident naming C2.
/// Each fault happens once on the way.
/// What the shop's server serves, to compute GitLab's own figures from.
struct Served {
    deployments: Vec<Value>,
    merge_request: Value,
    incident: Value,
}

fn shop() -> (MockApi, [DateTime<Utc>; 4]) {
    let (s, t, _) = shop_served();
    (s, t)
}

fn shop_served() -> (MockApi, [DateTime<Utc>; 4], Served) {
    let s = MockApi::new();
    let t = [ago(72), ago(48), ago(30), ago(24)];
    let deployments = vec![
        deployment(101, S1, "production", "success", t[0]),
        deployment(102, S2, "production", "success", t[1]),
        deployment(103, S3, "production", "failed", t[2]),
        deployment(104, S1, "production", "success", t[3]),
        deployment(105, S3, "production", "created", ago(1)),
        deployment(106, S2, "staging", "success", t[1]),
        deployment(107, S2, "live", "canceled", t[2]),
    ];
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/deployments")))
            .respond_with(listing(deployments.clone())),
    );
    // Tiers, after a 429 that asks to wait a second.
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/environments")))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(Mock::given(method("GET")).and(path(format!("{P}/environments"))).respond_with(listing(vec![
        json!({"id": 1, "name": "production", "tier": "production"}),
        json!({"id": 2, "name": "staging", "tier": "staging"}),
        json!({"id": 3, "name": "live", "tier": "production"}),
    ])));
    // The first deployment's commits within the look-back.
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/repository/commits")))
            .and(query_param("ref_name", S1))
            .respond_with(listing(vec![])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/repository/commits")))
            .and(query_param("ref_name", S1))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([commit(S1, t[0] - chrono::Duration::hours(3))])),
            )
            .with_priority(1),
    );
    // S1 -> S2, after a 500.
    s.mount(compare(S1, S2).respond_with(ResponseTemplate::new(500)).up_to_n_times(1).with_priority(1));
    s.mount(
        compare(S1, S2)
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "commits": [commit(C2, t[1] - chrono::Duration::hours(6)), commit(SQUASH, t[1] - chrono::Duration::hours(2))],
                "diffs": [], "compare_timeout": false, "compare_same_ref": false}))),
    );
    // S2 -> S1: nothing new, an older version (the rollback).
    s.mount(compare(S2, S1).respond_with(ResponseTemplate::new(200).set_body_json(
        json!({"commits": [], "diffs": [], "compare_timeout": false, "compare_same_ref": false}),
    )));
    // Deployments without merge requests.
    s.mount(
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(r"/deployments/\d+/merge_requests$"))
            .respond_with(listing(vec![]))
            .with_priority(10),
    );
    // d102's merge requests, the first answer too late (a timeout).
    let mr = json!({"iid": 35, "title": "Add the basket", "state": "merged",
        "created_at": ts_minus4(t[1] - chrono::Duration::hours(30)), "merged_at": ts_minus4(t[1] - chrono::Duration::hours(2)),
        "merge_commit_sha": null, "squash_commit_sha": SQUASH, "sha": "abababababababababababababababababababab",
        "source_branch": "basket", "labels": ["feature"]});
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/deployments/102/merge_requests")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([mr.clone()]))
                    .set_delay(Duration::from_secs(3)),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/deployments/102/merge_requests")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([mr.clone()]))),
    );
    // !35's commits (newest first, as GitLab lists them), after a truncated body.
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/merge_requests/35/commits")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(b"[{\"id\": \"abab".to_vec(), "application/json"),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(Mock::given(method("GET")).and(path(format!("{P}/merge_requests/35/commits"))).respond_with(
        listing(vec![
            commit("abababababababababababababababababababab", t[1] - chrono::Duration::hours(28)),
            commit("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", t[1] - chrono::Duration::hours(40)),
        ]),
    ));
    // One incident, caused by C2, resolved; its timeline starts earlier.
    let incident = json!({"id": 9001, "iid": 7, "title": "Basket down", "state": "closed",
        "description": format!("The basket failed.\n\nroot cause: {C2}\n"),
        "created_at": ts(t[1] + chrono::Duration::hours(2)), "updated_at": ts(t[1] + chrono::Duration::hours(5)),
        "closed_at": ts(t[1] + chrono::Duration::hours(5)), "labels": [], "issue_type": "incident",
        "type": "INCIDENT", "severity": "CRITICAL"});
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/issues")))
            .and(query_param("issue_type", "incident"))
            .respond_with(listing(vec![incident.clone()])),
    );
    // The batched path: the merged merge requests, and their commits by
    // GraphQL (after a 502).
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{P}/merge_requests")))
            .and(query_param("state", "merged"))
            .respond_with(listing(vec![mr.clone()])),
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path("/api/graphql"))
            .and(wiremock::matchers::body_string_contains("mergeRequests(iids"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .with_priority(1),
    );
    let graphql_commit = |sha: &str, at: DateTime<Utc>| json!({"sha": sha, "authoredDate": ts_minus4(at), "committedDate": ts_minus4(at)});
    let mr_commits = json!({"data": {"project": {"mergeRequests": {"nodes": [{"iid": "35", "commits": {
        "pageInfo": {"hasNextPage": false},
        "nodes": [graphql_commit("abababababababababababababababababababab", t[1] - chrono::Duration::hours(28)),
                  graphql_commit("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", t[1] - chrono::Duration::hours(40))]}}]}}}});
    s.mount(
        Mock::given(method("POST"))
            .and(path("/api/graphql"))
            .and(wiremock::matchers::body_string_contains("mergeRequests(iids"))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap();
                assert_eq!(body["variables"]["iids"], json!(["35"]));
                ResponseTemplate::new(200).set_body_json(mr_commits.clone())
            })
            .with_priority(2),
    );
    let started = ts(t[1] + chrono::Duration::hours(1));
    s.mount(Mock::given(method("POST")).and(path("/api/graphql")).respond_with(move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["variables"]["path"], "acme/shop");
        assert!(body["query"].as_str().unwrap().contains("incidentId: \"gid://gitlab/Issue/9001\""));
        ResponseTemplate::new(200).set_body_json(json!({"data": {"project": {"i0": {"nodes": [
            {"occurredAt": started, "timelineEventTags": {"nodes": [{"name": "Start time"}]}}]}}}}))
    }));
    (s, t, Served { deployments, merge_request: mr, incident })
}

/// The per-deployment path (`use_graphql = false`, the fallback): each
/// deployment's merge requests, and each merge request's commits.
#[test]
fn a_full_run_then_an_incremental_one() {
    let (s, t) = shop();
    let mut cfg = config(&s.uri(), "acme/shop");
    cfg.use_graphql = false;
    let mut gl = GitlabSource::new("gl", cfg).with_token(TOKEN);
    let first = gl.collect(None, &NoProgress).unwrap();
    let set = &first.events;
    let id = |n: u64| format!("gitlab:acme/shop:deployment:{n}");

    let d1 = set.deployment(&id(101)).unwrap();
    assert_eq!(d1.changes, [S1]);
    assert_eq!(d1.service, "shop");
    assert_eq!(d1.team.as_deref(), Some("shop-team"));
    assert_eq!(ts(d1.finished_at), ts(t[0]), "the job's finish");
    let d2 = set.deployment(&id(102)).unwrap();
    assert_eq!(d2.changes, [C2, SQUASH]);
    assert_eq!(d2.deployment_type, DeploymentType::Regular);
    let squash = set.change(SQUASH).unwrap();
    let pr = squash.pull_request.unwrap();
    assert_eq!(pr.number, Some(35));
    assert_eq!(ts(pr.merged_at.unwrap()), ts(t[1] - chrono::Duration::hours(2)), "-04:00 read as an instant");
    assert_eq!(
        ts(pr.first_commit_at.unwrap()),
        ts(t[1] - chrono::Duration::hours(40)),
        "the earliest commit"
    );
    assert!(set.change(C2).unwrap().pull_request.is_none(), "pushed without a merge request");
    let d3 = set.deployment(&id(103)).unwrap();
    assert_eq!(d3.status, DeploymentStatus::Failure);
    assert!(d3.changes.is_empty());
    let d4 = set.deployment(&id(104)).unwrap();
    assert_eq!(d4.deployment_type, DeploymentType::Rollback);
    assert_eq!(d4.remediates, [id(102)]);
    assert!(set.deployment(&id(105)).is_none(), "not finished yet");
    assert_eq!(set.deployment(&id(106)).unwrap().environment, "staging");
    assert_eq!(set.deployment(&id(107)).unwrap().status, DeploymentStatus::Failure, "canceled");
    let incident = set.incident("gitlab:acme/shop:issue:7").unwrap();
    assert_eq!(incident.caused_by_change.as_deref(), Some(C2));
    assert_eq!(incident.severity.as_deref(), Some("critical"));
    assert_eq!(ts(incident.opened_at), ts(t[1] + chrono::Duration::hours(1)), "the timeline's start time");
    assert_eq!(set.count(EventKind::Deployment), 6);
    assert_eq!(set.count(EventKind::Change), 3);

    // 19 requests (2 items a page): 4 deployment pages (7 items), 3
    // environment pages (3 items, after a 429), 1 commit list and 1 merge
    // request list (d101), 3 compares (d102 after a 500, d104), 2 merge
    // request lists of d102 (after a timeout), 3 commit pages of !35 (2
    // items, after a truncated body), 1 incident list, 1 GraphQL timeline
    // query.
    assert_eq!(first.requests, 19);
    assert_eq!(first.requests as usize, s.requests());

    // `live` is production by its tier only: the source says so.
    assert!(first.notes.iter().any(|n| n.contains("environment \"live\" is GitLab's production tier")));

    // Through the engine: d102 failed (its change caused the incident, and
    // the rollback remediates it). The engine knows production by name, so
    // `live` counts once the patterns list it.
    let window = Window::new(ago(24 * 7), Utc::now()).unwrap();
    let mut options = Options::new(window);
    let c = compute(set, &options).unwrap();
    assert_eq!(c.report.groups[0].summary.figures.failed_attempts, 1);
    options.production = dora_core::ProductionPatterns::new(&[
        dora_core::DEFAULT_PRODUCTION_PATTERN.to_string(),
        "^live$".to_string(),
    ])
    .unwrap();
    let c = compute(set, &options).unwrap();
    let all = &c.report.groups[0].summary.figures;
    assert_eq!(all.deployments, 3);
    assert_eq!(all.failed_attempts, 2);
    assert_eq!(all.change_failure_rate.failed, 1);
    assert_eq!(all.lead_time.count, 3);
    assert_eq!(all.time_to_restore.count, 1);

    // Nothing new: the two lists, answered with nothing new, add nothing.
    let before = s.requests();
    let second = gl.collect(Some(&first.state), &NoProgress).unwrap();
    assert_eq!(second.events.len(), 0);
    assert_eq!(second.requests, 2, "one deployment list, one incident list");
    assert_eq!(s.requests() - before, 2);
    eprintln!("requests: full run {}, incremental run {}", first.requests, second.requests);
}

/// The batched path on the same shop: the merged merge requests in one
/// list and their commits in one GraphQL query (after a 502) instead of
/// per deployment; the same events as the per-deployment path.
#[test]
fn the_shop_batched_gives_the_per_deployment_events() {
    let (s, _) = shop();
    let batched = GitlabSource::new("gl", config(&s.uri(), "acme/shop"))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    // 4 deployment pages, 3 environment requests (after a 429), 1 commit
    // list, 3 compares (after a 500), 1 merged merge request list, 2
    // GraphQL queries for their commits (after a 502), 1 incident list, 1
    // timeline query.
    assert_eq!(batched.requests, 16);
    assert_eq!(batched.requests as usize, s.requests());
    // The per-deployment path on the same server (its faults on the way).
    let mut cfg = config(&s.uri(), "acme/shop");
    cfg.use_graphql = false;
    let rest = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    assert_eq!(batched.events.events(), rest.events.events());
    assert_eq!(batched.notes, rest.notes);
}

/// DevLake's eight recorded gitlab.com deployments (every status, a job
/// that disagrees with its deployment, a skipped job without a finish)
/// served as the deployments of one project: the events agree with
/// DevLake's expected rows on status and time.
#[test]
fn devlakes_recorded_deployments() {
    let Some(raw) = devlake_raw("devlake/adapters/gitlab_deployment/_raw_gitlab_api_deployments.csv") else {
        return;
    };
    let expected = peer_text("devlake/adapters/gitlab_deployment/cicd_deployments.csv").unwrap();
    let s = MockApi::new();
    let p = "/api/v4/projects/gitlab-data%2Fsnowflake_spend";
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/deployments"))).respond_with(listing(raw)));
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/environments"))).respond_with(listing(vec![])));
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/issues"))).respond_with(listing(vec![])));
    let mut cfg = config(&s.uri(), "gitlab-data/snowflake_spend");
    // They are from 2019.
    cfg.lookback_days =
        (Utc::now() - "2019-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()).num_days() as u32;
    cfg.per_page = 100;
    let out = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    let mut rows = csv::Reader::from_reader(expected.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let mut finished = 0;
    for row in rows.records() {
        let row = row.unwrap();
        let dep = row[col("id")].rsplit(':').next().unwrap().to_string();
        let event = out.events.deployment(&format!("gitlab:gitlab-data/snowflake_spend:deployment:{dep}"));
        match &row[col("result")] {
            "" => assert!(event.is_none(), "{dep} is not finished"),
            result => {
                let e = event.unwrap_or_else(|| panic!("{dep}"));
                let want =
                    if result == "SUCCESS" { DeploymentStatus::Success } else { DeploymentStatus::Failure };
                assert_eq!(e.status, want, "{dep}");
                let finish = &row[col("finished_date")];
                if !finish.is_empty() {
                    assert_eq!(ts(e.finished_at), ts(finish.parse().unwrap()), "{dep}: the job's finish");
                }
                finished += 1;
            }
        }
    }
    assert_eq!(finished, 4);
    assert_eq!(out.events.count(EventKind::Deployment), 4);
    // Only the production one is a failed production attempt; nothing ships.
    assert_eq!(out.events.count(EventKind::Change), 0);
}

/// GitLab's documented deployment 42: listed as `created` first (its job
/// finished, the deployment not yet), then `success` with a later update:
/// the first run makes nothing of it, the next picks it up.
#[test]
fn a_created_deployment_is_picked_up_when_it_finishes() {
    let (Some(list), Some(one)) =
        (peer_text("gitlab_docs/deployments_list.json"), peer_text("gitlab_docs/deployment_get.json"))
    else {
        return;
    };
    let list: Vec<Value> = serde_json::from_str(&list).unwrap();
    let one: Value = serde_json::from_str(&one).unwrap();
    let s = MockApi::new();
    let p = "/api/v4/projects/acme%2Fshop";
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/deployments")))
            .respond_with(listing(list))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(
        Mock::given(method("GET")).and(path(format!("{p}/deployments"))).respond_with(listing(vec![one])),
    );
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/environments"))).respond_with(listing(vec![])));
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/issues"))).respond_with(listing(vec![])));
    s.mount(
        Mock::given(method("GET")).and(path(format!("{p}/repository/commits"))).respond_with(listing(vec![])),
    );
    let mut cfg = config(&s.uri(), "acme/shop");
    cfg.lookback_days =
        (Utc::now() - "2016-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()).num_days() as u32;
    cfg.per_page = 100;
    let mut gl = GitlabSource::new("gl", cfg).with_token(TOKEN);
    let first = gl.collect(None, &NoProgress).unwrap();
    assert_eq!(first.events.len(), 0, "both deployments are `created`");
    let second = gl.collect(Some(&first.state), &NoProgress).unwrap();
    let d = second.events.deployment("gitlab:acme/shop:deployment:42").unwrap();
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(ts(d.finished_at), "2016-08-11T11:32:35.145Z", "its job's finish, not its later update");
}

/// A group's projects (subgroups included) are listed with keyset paging
/// (`Link` headers), filtered by include and exclude patterns; a refused
/// token fails the run by name, never showing it.
#[test]
fn a_group_with_keyset_paging_and_a_refused_token() {
    let s = MockApi::new();
    let uri = s.uri();
    let projects = [
        json!({"id": 1, "path_with_namespace": "acme/backend/api", "archived": false}),
        json!({"id": 2, "path_with_namespace": "acme/backend/api-legacy", "archived": false}),
        json!({"id": 3, "path_with_namespace": "acme/frontend/web", "archived": false}),
    ];
    s.mount(Mock::given(method("GET")).and(path("/api/v4/groups/acme/projects")).respond_with(
        move |req: &Request| {
            let q = |k: &str| req.url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
            assert_eq!(q("pagination").as_deref(), Some("keyset"));
            assert_eq!(q("include_subgroups").as_deref(), Some("true"));
            let after: u64 = q("id_after").and_then(|s| s.parse().ok()).unwrap_or(0);
            let page: Vec<&Value> = projects.iter().filter(|p| p["id"].as_u64().unwrap() > after).take(2).collect();
            let mut r = ResponseTemplate::new(200).set_body_json(&page);
            if page.len() == 2 {
                let last = page[1]["id"].as_u64().unwrap();
                r = r.insert_header(
                    "link",
                    format!(
                        "<{uri}/api/v4/groups/acme/projects?id_after={last}&include_subgroups=true&order_by=id&pagination=keyset&per_page=2>; rel=\"next\""
                    ),
                );
            }
            r
        },
    ));
    for project in ["acme%2Fbackend%2Fapi", "acme%2Ffrontend%2Fweb"] {
        for list in ["deployments", "issues"] {
            s.mount(
                Mock::given(method("GET"))
                    .and(path(format!("/api/v4/projects/{project}/{list}")))
                    .respond_with(listing(vec![])),
            );
        }
    }
    let mut cfg = config(&s.uri(), "acme/frontend/web");
    cfg.group = Some(dora_sources::gitlab::GroupConfig {
        path: "acme".into(),
        include: vec![glob::Pattern::new("backend/*").unwrap()],
        exclude: vec![glob::Pattern::new("*-legacy").unwrap()],
        services: Default::default(),
        teams: Default::default(),
    });
    let out = GitlabSource::new("gl", cfg.clone()).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    // 2 group pages, then 2 lists for each of the configured project and
    // the one the filters keep.
    assert_eq!(out.requests, 6);
    // Both projects are read at once: the server sees them in any order.
    let mut listed: Vec<String> =
        s.rt.block_on(s.server.received_requests())
            .unwrap()
            .iter()
            .map(|r| r.url.path().to_string())
            .filter(|p| p.ends_with("/deployments"))
            .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "/api/v4/projects/acme%2Fbackend%2Fapi/deployments",
            "/api/v4/projects/acme%2Ffrontend%2Fweb/deployments"
        ]
    );
    assert!(
        s.rt.block_on(s.server.received_requests()).unwrap().iter().all(|r| r
            .headers
            .get("private-token")
            .map(|v| v.as_bytes())
            == Some(TOKEN.as_bytes())),
        "every request carries the token header"
    );

    // A refused token: the error says which variable to check, not the token.
    let refusing = MockApi::new();
    refusing.mount(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"}))),
    );
    let cfg = config(&refusing.uri(), "acme/shop");
    let e =
        GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("HTTP 401: the token was refused (check GITLAB_TOKEN)"), "{e}");
    assert!(!e.contains(TOKEN));
    // No token at all, and plain http without the test switch.
    let mut cfg = config(&refusing.uri(), "acme/shop");
    cfg.token_env = "DORA_TEST_NO_SUCH_TOKEN".into();
    let e = GitlabSource::new("gl", cfg.clone()).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("DORA_TEST_NO_SUCH_TOKEN (the GitLab token) is not set"), "{e}");
    cfg.allow_http = false;
    let e =
        GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("plain http:// is refused"), "{e}");
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// The interpolated median (PostgreSQL's `PERCENTILE_CONT(0.5)`, which
/// GitLab uses).
fn percentile_cont_median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (n > 0).then(|| if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// GitLab's DORA figures (`GET /projects/:id/dora/metrics`, as its
/// documentation and `Dora::*Metric` define them), computed straight from
/// the API objects the server serves, next to dora's from the events it
/// collected from the same server. Where they differ, and why, is
/// `docs/sources/gitlab.md`.
#[test]
fn gitlab_dora_figures_from_the_same_data() {
    let (s, _, served) = shop_served();
    let out = GitlabSource::new("gl", config(&s.uri(), "acme/shop"))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    let window = Window::new(ago(24 * 7), Utc::now()).unwrap();
    let dora = compute(&out.events, &Options::new(window)).unwrap();
    let figures = &dora.report.groups[0].summary.figures;

    // GitLab: production-tier environments (production, live).
    let production_tier =
        |d: &Value| matches!(d["environment"]["name"].as_str(), Some("production" | "live"));
    let gitlab_successes: Vec<&Value> =
        served.deployments.iter().filter(|d| production_tier(d) && d["status"] == "success").collect();

    // Deployment frequency: successful production deployments, counted by
    // their finish. The same three for both.
    assert_eq!(gitlab_successes.len(), 3);
    assert_eq!(figures.deployments, 3);

    // Lead time for changes: GitLab takes, per (deployment, merge request)
    // pair, the deployment's finish (its `finished_at` column, which the
    // REST API shows as the status transition, `updated_at`) minus the
    // merge: one pair here, !35 shipped by d102.
    let d102 = served.deployments.iter().find(|d| d["id"] == 102).unwrap();
    let gitlab_lead = percentile_cont_median(vec![
        (time(&d102["updated_at"]) - time(&served.merge_request["merged_at"])).num_milliseconds() as f64
            / 1000.0,
    ])
    .unwrap();
    assert_eq!(gitlab_lead, 7200.02);
    // dora's nearest figure is the deploy stage (merge -> shipped) of the
    // changes that came through a merge request, timed by the deploy
    // job's finish, which the deployment's update trails by 20 ms here.
    assert_eq!(figures.lead_time.stages.deploy, Some(7200.0));
    // dora's lead time itself is per commit, from the commit (the direct
    // push C2 too, and d101's first commit), so it is longer.
    assert_eq!(figures.lead_time.count, 3);
    assert!(figures.lead_time.median.unwrap() > gitlab_lead);

    // Change failure rate: GitLab divides the incidents created by the
    // deployments (no link between them); dora counts the deployments that
    // failed (an incident attributed to them, or a remediation). Both are
    // 1/3 here, for different reasons: d102 caused the incident *and* was
    // rolled back.
    let incidents_created = 1.0;
    assert_eq!(incidents_created / (gitlab_successes.len().max(1) as f64), 1.0 / 3.0);
    assert_eq!(figures.change_failure_rate.failed, 1);
    assert_eq!(figures.change_failure_rate.rate, Some(1.0 / 3.0));

    // Time to restore: GitLab takes closed - created of the incident (3 h);
    // dora starts at the timeline's `Start time` event, an hour before the
    // incident was opened (4 h).
    let gitlab_restore =
        (time(&served.incident["closed_at"]) - time(&served.incident["created_at"])).num_seconds();
    assert_eq!(gitlab_restore, 3 * 3600);
    assert_eq!(figures.time_to_restore.median, Some(4.0 * 3600.0));
}

/// Through the store, as `dora collect` writes: a run cut short by its
/// request budget stores nothing; the next stores everything; then a run
/// with nothing new adds nothing and duplicates nothing, even with its
/// sync state lost.
#[test]
fn the_store_holds_exactly_the_successful_runs_events() {
    use dora_core::store::Store;
    let (s, _) = shop();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let run = |gl: &mut GitlabSource, store: &mut Store| -> Result<(u64, u64), String> {
        let state = store.sync_state("gl").unwrap();
        let out = gl.collect(state.as_ref(), &NoProgress).map_err(|e| e.to_string())?;
        let mut w = store.writer().unwrap();
        let summary = w.put_set(&out.events).unwrap();
        w.set_sync_state("gl", &out.state, "2026-11-25T00:00:00Z").unwrap();
        w.commit().unwrap();
        Ok((summary.added, summary.unchanged))
    };
    let mut cfg = config(&s.uri(), "acme/shop");
    cfg.max_requests = Some(8);
    let e = run(&mut GitlabSource::new("gl", cfg).with_token(TOKEN), &mut store).unwrap_err();
    assert!(e.contains("request budget of 8"), "{e}");
    assert_eq!(store.len().unwrap(), 0);
    assert_eq!(store.sync_state("gl").unwrap(), None);
    let mut gl = GitlabSource::new("gl", config(&s.uri(), "acme/shop")).with_token(TOKEN);
    let (added, _) = run(&mut gl, &mut store).unwrap();
    assert_eq!(added, 6 + 3 + 1, "6 deployments, 3 changes, 1 incident");
    assert_eq!(store.len().unwrap(), added);
    assert_eq!(run(&mut gl, &mut store).unwrap(), (0, 0));
    let mut w = store.writer().unwrap();
    w.set_sync_state("gl", &dora_core::store::SyncState::default(), "2026-11-25T00:00:00Z").unwrap();
    w.commit().unwrap();
    let fresh = GitlabSource::new("gl", config(&s.uri(), "acme/shop")).with_token(TOKEN);
    let (added_again, unchanged) = run(&mut { fresh }, &mut store).unwrap();
    assert_eq!((added_again, unchanged), (0, added));
}

/// A monorepo: the comparison touches two services, so each commit's diff
/// is read; the deployment becomes one per service touched.
#[test]
fn a_monorepo_deployment_is_split_by_service() {
    let s = MockApi::new();
    let p = "/api/v4/projects/acme%2Fmono";
    let (t1, t2) = (ago(50), ago(20));
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/deployments"))).respond_with(listing(vec![
        deployment(201, S1, "production", "success", t1),
        deployment(202, S2, "production", "success", t2),
    ])));
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/environments"))).respond_with(listing(vec![])));
    s.mount(
        Mock::given(method("GET")).and(path(format!("{p}/repository/commits"))).respond_with(listing(vec![])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(r"/deployments/\d+/merge_requests$"))
            .respond_with(listing(vec![])),
    );
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/issues"))).respond_with(listing(vec![])));
    s.mount(
        Mock::given(method("GET")).and(path(format!("{p}/merge_requests"))).respond_with(listing(vec![])),
    );
    let (ca, cw) = ("a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
    s.mount(Mock::given(method("GET")).and(path(format!("{p}/repository/compare"))).respond_with(
        ResponseTemplate::new(200).set_body_json(json!({
            "commits": [commit(ca, t2 - chrono::Duration::hours(3)), commit(cw, t2 - chrono::Duration::hours(2))],
            "diffs": [{"old_path": "services/api/a.rs", "new_path": "services/api/a.rs"},
                      {"old_path": "web/old.ts", "new_path": "services/web/new.ts"}],
            "compare_timeout": false, "compare_same_ref": false})),
    ));
    for (sha, file) in [(ca, "services/api/a.rs"), (cw, "services/web/new.ts")] {
        s.mount(
            Mock::given(method("GET"))
                .and(path(format!("{p}/repository/commits/{sha}/diff")))
                .respond_with(listing(vec![json!({"old_path": file, "new_path": file})])),
        );
    }
    let mut cfg = config(&s.uri(), "acme/mono");
    cfg.monorepo.insert(
        "acme/mono".into(),
        dora_sources::PathServices::new([("services/api", "api"), ("services/web", "web")]),
    );
    let out = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    let id = |n: u32, svc: &str| format!("gitlab:acme/mono:deployment:{n}:{svc}");
    assert!(out.events.deployment(&id(201, "mono")).is_some(), "nothing shipped: the project's own service");
    assert_eq!(out.events.deployment(&id(202, "api")).unwrap().changes, [ca]);
    assert_eq!(out.events.deployment(&id(202, "web")).unwrap().changes, [cw]);
    assert_eq!(out.events.change(cw).unwrap().service, "web");
}

/// `GitlabHistory` when GitLab gives up on a large comparison
/// (`compare_timeout`): the same range comes as a paged commit list
/// (`ref_name=from..to`), newest first; an unknown commit (404) is an
/// answer, not a failure.
#[test]
fn a_history_falls_back_to_the_commit_list_when_the_comparison_times_out() {
    use dora_sources::changesets::{CommitHistory, HistoryRange};
    use dora_sources::gitlab::GitlabHistory;
    let api = MockApi::new();
    let mount = |m: Mock| api.mount(m);
    let (from, to) = ("a".repeat(40), "c".repeat(40));
    let repo = "/api/v4/projects/shop%2Fweb/repository";
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{repo}/compare")))
            .and(query_param("from", from.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"commits": [], "diffs": [], "compare_timeout": true, "compare_same_ref": false}),
            )),
    );
    let commit = |sha: String, day: u32| {
        json!({"id": sha, "title": "t", "committed_date": format!("2026-11-0{day}T10:00:00.000+00:00"),
               "authored_date": format!("2026-11-0{day}T09:00:00.000+00:00")})
    };
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{repo}/commits")))
            .and(query_param("ref_name", format!("{from}..{to}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([commit(to.clone(), 3), commit("b".repeat(40), 2)])),
            ),
    );
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{repo}/commits")))
            .and(query_param("ref_name", "f".repeat(40)))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"message": "404 Commit Not Found"})),
            ),
    );
    let mut cfg = GitlabConfig::new(Vec::new());
    cfg.api_url = api.uri();
    cfg.allow_http = true;
    let history = GitlabHistory::new("shop/web", cfg, Some("t0ken".into())).unwrap();
    let range = api.rt.block_on(history.between(Some(&from), &to, usize::MAX)).unwrap();
    let HistoryRange::Commits(commits) = range else { panic!("{range:?}") };
    let shas: Vec<&str> = commits.iter().map(|c| &c.sha[..1]).collect();
    assert_eq!(shas, ["c", "b"], "newest first");
    assert_eq!(commits[1].committed_at.to_rfc3339(), "2026-11-02T10:00:00+00:00");
    assert_eq!(history.requests(), 2, "the comparison, then one page of the list");
    let unknown = api.rt.block_on(history.between(None, &"f".repeat(40), 1)).unwrap();
    assert!(matches!(&unknown, HistoryRange::Unknown(why) if why.contains("404")), "{unknown:?}");
}

/// The HTTP policy end to end, as for GitHub: a server error on every
/// attempt gives up after the retries, and a rate limit longer than the run
/// waits gives up at once; both name the request.
#[test]
fn retries_and_rate_limits_give_up_naming_the_request() {
    let fail_with = |response: ResponseTemplate, tweak: &dyn Fn(&mut GitlabConfig)| {
        let s = MockApi::new();
        s.mount(Mock::given(method("GET")).and(path(format!("{P}/deployments"))).respond_with(response));
        let mut cfg = config(&s.uri(), "acme/shop");
        tweak(&mut cfg);
        let e = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap_err();
        (e.to_string(), s.requests())
    };
    let (e, sent) = fail_with(ResponseTemplate::new(503), &|c| c.max_retries = 2);
    assert!(e.starts_with(&format!("GET {P}/deployments?")), "{e}");
    assert!(e.ends_with(": HTTP 503; gave up after 3 attempts"), "{e}");
    assert_eq!(sent, 3);
    let (e, sent) = fail_with(ResponseTemplate::new(429).insert_header("retry-after", "7200"), &|_| {});
    assert!(e.starts_with(&format!("GET {P}/deployments?")), "{e}");
    assert!(e.ends_with(": rate limited for 7200 s, longer than the 3600 s this run waits"), "{e}");
    assert_eq!(sent, 1, "no wait, no second request");
}

/// One project of the fake GitLab of the request-cost tests, made up in
/// finish order: each successful production deployment ships a merge
/// request (merged with a merge commit, or squashed every third time), a
/// direct push every fifth time, and one is labelled `hotfix`; a rollback,
/// a failed and a staging deployment come in between; one incident.
struct Forge {
    path: String,
    deployments: Vec<Value>,
    /// Commits of the production line, oldest first.
    line: Vec<Value>,
    /// Deployed SHA -> its index in `line`.
    at: std::collections::HashMap<String, usize>,
    /// Deployment id -> the merge requests GitLab links to it.
    linked: std::collections::HashMap<u64, Vec<Value>>,
    merge_requests: Vec<Value>,
    /// Merge request iid -> its commits, newest first (as REST lists them).
    mr_commits: std::collections::HashMap<u64, Vec<Value>>,
    incident: Value,
}

fn sha(n: u64) -> String {
    format!("{n:040x}")
}

impl Forge {
    /// `shipping` successful production deployments (and, past the third,
    /// a rollback, a failed and a staging deployment); ids and SHAs start
    /// at `base` so that projects differ.
    fn new(path: &str, shipping: usize, base: u64) -> Self {
        let mut f = Forge {
            path: path.into(),
            deployments: vec![],
            line: vec![],
            at: Default::default(),
            linked: Default::default(),
            merge_requests: vec![],
            mr_commits: Default::default(),
            incident: Value::Null,
        };
        let start = ago(24 * 80);
        let hours = |h: i64| start + chrono::Duration::hours(h);
        let mut next_sha = base * 1000;
        let mut new_sha = || {
            next_sha += 1;
            sha(next_sha)
        };
        let mut id = base * 1000;
        for i in 0..shipping {
            let h = i as i64 * 24;
            let iid = 100 + i as u64;
            if i % 5 == 4 {
                f.line.push(commit(&new_sha(), hours(h + 1)));
            }
            let branch: Vec<Value> =
                (0..1 + i as i64 % 2).map(|k| commit(&new_sha(), hours(h + 2 + k))).collect();
            let squash = i % 3 == 2;
            let (merge, squashed) = if squash {
                let q = new_sha();
                f.line.push(commit(&q, hours(h + 5)));
                (None, Some(q))
            } else {
                f.line.extend(branch.iter().cloned());
                let m = new_sha();
                f.line.push(commit(&m, hours(h + 5)));
                (Some(m), None)
            };
            let mr = json!({"iid": iid, "title": format!("Change {i}"), "state": "merged",
                "created_at": ts(hours(h)), "merged_at": ts(hours(h + 5)), "updated_at": ts(hours(h + 6)),
                "merge_commit_sha": merge, "squash_commit_sha": squashed,
                "sha": branch.last().unwrap()["id"], "source_branch": format!("change-{i}"),
                "labels": if i == 7 { json!(["hotfix"]) } else { json!(["feature"]) }});
            let mut listed = branch.clone();
            listed.reverse();
            f.mr_commits.insert(iid, listed);
            f.merge_requests.push(mr.clone());
            let head = f.line.len() - 1;
            let deployed = f.line[head]["id"].as_str().unwrap().to_string();
            f.at.insert(deployed.clone(), head);
            id += 1;
            f.deployments.push(deployment(id, &deployed, "production", "success", hours(h + 8)));
            if i == 3 {
                // A rollback to the previous version, then the next ships again.
                let prev = f.deployments[f.deployments.len() - 2]["sha"].as_str().unwrap().to_string();
                id += 1;
                f.deployments.push(deployment(id, &prev, "production", "success", hours(h + 10)));
                id += 1;
                f.deployments.push(deployment(
                    id,
                    &sha(base * 1000 + 999),
                    "production",
                    "failed",
                    hours(h + 11),
                ));
                id += 1;
                f.deployments.push(deployment(id, &deployed, "staging", "success", hours(h + 12)));
            }
        }
        // GitLab links to a deployment the merge requests of what it
        // shipped since the previous success (the look-back's for the first).
        let mut previous: Option<String> = None;
        for d in &f.deployments {
            if d["environment"]["name"] != "production" || d["status"] != "success" {
                continue;
            }
            let to = d["sha"].as_str().unwrap().to_string();
            let shipped = match &previous {
                Some(from) => f.compare(from, &to),
                None => f.line[..=f.at[&to]].to_vec(),
            };
            f.linked.insert(d["id"].as_u64().unwrap(), f.owning(&shipped));
            previous = Some(to);
        }
        f.incident = json!({"id": base * 1000 + 1, "iid": 1, "title": "Down", "state": "closed",
            "description": format!("root cause: {}\n", f.line[1]["id"].as_str().unwrap()),
            "created_at": ts(hours(30)), "updated_at": ts(hours(33)), "closed_at": ts(hours(33)),
            "labels": [], "issue_type": "incident", "severity": "HIGH"});
        f
    }

    fn escaped(&self) -> String {
        format!("/api/v4/projects/{}", self.path.replace('/', "%2F"))
    }

    /// The comparison `from...to` of the production line: the commits
    /// after `from` up to `to` (nothing when `to` is older).
    fn compare(&self, from: &str, to: &str) -> Vec<Value> {
        let (from, to) = (self.at[from], self.at[to]);
        if to > from { self.line[from + 1..=to].to_vec() } else { vec![] }
    }

    /// The merge requests that brought in one of `commits`.
    fn owning(&self, commits: &[Value]) -> Vec<Value> {
        let shas: Vec<&Value> = commits.iter().map(|c| &c["id"]).collect();
        self.merge_requests
            .iter()
            .filter(|mr| {
                let iid = mr["iid"].as_u64().unwrap();
                [&mr["merge_commit_sha"], &mr["squash_commit_sha"]].into_iter().any(|s| shas.contains(&s))
                    || self.mr_commits[&iid].iter().any(|c| shas.contains(&&c["id"]))
            })
            .cloned()
            .collect()
    }
}

/// Serves `forges` (each answer after `delay`, with `RateLimit-Remaining`
/// counting down): the REST lists, the per-deployment merge requests and
/// merge request commits, and the GraphQL queries (merge requests'
/// commits, incident timelines) of every project.
fn serve_forges(s: &MockApi, forges: Vec<Forge>, delay: Duration) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let left = Arc::new(AtomicU64::new(2000));
    let slow = move |r: ResponseTemplate| {
        r.set_delay(delay)
            .insert_header("ratelimit-remaining", left.fetch_sub(1, Ordering::Relaxed).to_string())
    };
    let forges: Arc<Vec<Forge>> = Arc::new(forges);
    for (k, f) in forges.iter().enumerate() {
        let p = f.escaped();
        let get = |tail: &str| Mock::given(method("GET")).and(path(format!("{p}{tail}")));
        let list = |items: Vec<Value>| {
            let slow = slow.clone();
            let l = listing(items);
            move |req: &Request| slow(l(req))
        };
        s.mount(get("/deployments").respond_with(list(f.deployments.clone())));
        s.mount(get("/environments").respond_with(list(vec![
            json!({"id": 1, "name": "production", "tier": "production"}),
            json!({"id": 2, "name": "staging", "tier": "staging"}),
        ])));
        s.mount(get("/issues").respond_with(list(vec![f.incident.clone()])));
        s.mount(
            get("/merge_requests")
                .and(query_param("state", "merged"))
                .respond_with(list(f.merge_requests.clone())),
        );
        let all = forges.clone();
        let sl = slow.clone();
        s.mount(get("/repository/compare").respond_with(move |req: &Request| {
            let q = |n: &str| req.url.query_pairs().find(|(k, _)| k == n).unwrap().1.to_string();
            let commits = all[k].compare(&q("from"), &q("to"));
            sl(ResponseTemplate::new(200).set_body_json(
                json!({"commits": commits, "diffs": [], "compare_timeout": false, "compare_same_ref": false}),
            ))
        }));
        let all = forges.clone();
        let sl = slow.clone();
        s.mount(get("/repository/commits").respond_with(move |req: &Request| {
            let q = |n: &str| req.url.query_pairs().find(|(k, _)| k == n).unwrap().1.to_string();
            let f = &all[k];
            let mut history = f.line[..=f.at[&q("ref_name")]].to_vec();
            history.reverse();
            sl(listing(history)(req))
        }));
        let all = forges.clone();
        let sl = slow.clone();
        s.mount(
            Mock::given(method("GET"))
                .and(wiremock::matchers::path_regex(format!(
                    r"^{}/deployments/\d+/merge_requests$",
                    regex::escape(&p)
                )))
                .respond_with(move |req: &Request| {
                    let id: u64 = req.url.path().split('/').nth_back(1).unwrap().parse().unwrap();
                    sl(listing(all[k].linked.get(&id).cloned().unwrap_or_default())(req))
                }),
        );
        let all = forges.clone();
        let sl = slow.clone();
        s.mount(
            Mock::given(method("GET"))
                .and(wiremock::matchers::path_regex(format!(
                    r"^{}/merge_requests/\d+/commits$",
                    regex::escape(&p)
                )))
                .respond_with(move |req: &Request| {
                    let iid: u64 = req.url.path().split('/').nth_back(1).unwrap().parse().unwrap();
                    sl(listing(all[k].mr_commits[&iid].clone())(req))
                }),
        );
    }
    let all = forges.clone();
    s.mount(Mock::given(method("POST")).and(path("/api/graphql")).respond_with(move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let query = body["query"].as_str().unwrap();
        let f = all.iter().find(|f| body["variables"]["path"] == f.path.as_str()).expect("a known project");
        let project = if query.contains("mergeRequests(iids: $iids") {
            let nodes: Vec<Value> = body["variables"]["iids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|iid| {
                    let n: u64 = iid.as_str().unwrap().parse().unwrap();
                    let commits: Vec<Value> = f.mr_commits[&n]
                        .iter()
                        .map(|c| json!({"sha": c["id"], "authoredDate": c["authored_date"], "committedDate": c["committed_date"]}))
                        .collect();
                    json!({"iid": iid, "commits": {"pageInfo": {"hasNextPage": false}, "nodes": commits}})
                })
                .collect();
            json!({"mergeRequests": {"nodes": nodes}})
        } else {
            assert!(query.contains("incidentManagementTimelineEvents"), "{query}");
            json!({"i0": {"nodes": []}})
        };
        slow(ResponseTemplate::new(200).set_body_json(json!({"data": {"project": project}})))
    }));
}

fn changes_of(set: &dora_core::EventSet) -> Vec<dora_core::event::Change> {
    set.iter()
        .filter_map(|e| match e {
            dora_core::event::Event::Change(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn forge_config(uri: &str, path: &str) -> GitlabConfig {
    let mut cfg = config(uri, path);
    cfg.per_page = 100;
    cfg
}

/// Issue 20: the requests of a full run per deployment, batched (the
/// project's merged merge requests in one list, their commits by GraphQL)
/// and per deployment (the REST path, kept as the fallback), on a project
/// with 33 deployments: the same events, at most 1.5 requests a deployment
/// batched. Then a run with nothing new, and one with eight new
/// deployments.
#[test]
fn requests_per_deployment_batched_and_per_deployment_give_the_same_events() {
    let forge = Forge::new("acme/big", 30, 1);
    let deployments = forge.deployments.len();
    assert_eq!(deployments, 33);
    let s = MockApi::new();
    serve_forges(&s, vec![forge], Duration::ZERO);
    let run = |graphql: bool| {
        let mut cfg = forge_config(&s.uri(), "acme/big");
        cfg.use_graphql = graphql;
        let mut gl = GitlabSource::new("gl", cfg).with_token(TOKEN);
        let before = s.requests();
        let full = gl.collect(None, &NoProgress).unwrap();
        assert_eq!(full.requests as usize, s.requests() - before);
        let again = gl.collect(Some(&full.state), &NoProgress).unwrap();
        (full, again)
    };
    let (batched, batched_again) = run(true);
    let (rest, rest_again) = run(false);
    assert_eq!(batched.events.events(), rest.events.events(), "the same events, in the same order");
    assert_eq!(batched.notes, rest.notes);

    let set = &batched.events;
    assert_eq!(set.count(EventKind::Deployment), 33);
    let id = |n: u64| format!("gitlab:acme/big:deployment:{n}");
    assert_eq!(set.deployment(&id(1005)).unwrap().deployment_type, DeploymentType::Rollback);
    assert_eq!(set.deployment(&id(1005)).unwrap().remediates, [id(1004)]);
    assert_eq!(
        set.deployment(&id(1011)).unwrap().deployment_type,
        DeploymentType::Hotfix,
        "!107 is labelled hotfix"
    );
    let changes = changes_of(set);
    let with_requests = changes.iter().filter(|c| c.pull_request.is_some()).count();
    assert_eq!(changes.len() - with_requests, 6, "the six direct pushes have no merge request");
    // !102 was squashed: its squash commit carries its first commit's time.
    let squashed =
        changes.iter().find(|c| c.pull_request.as_ref().and_then(|p| p.number) == Some(102)).unwrap();
    assert!(squashed.pull_request.as_ref().unwrap().first_commit_at.unwrap() < squashed.committed_at);

    // Batched: 1 deployment list, 1 environment list, 1 commit list (the
    // first deployment), 30 compares, 1 merged merge request list, 1
    // GraphQL query for their commits, 1 incident list, 1 timeline query.
    assert_eq!(batched.requests, 37);
    // Per deployment: the same, less the merge request list and query,
    // plus the merge requests of each of the 30 deployments that shipped
    // something and the commits of each of their 31 merge requests.
    assert_eq!(rest.requests, 96);
    let per = |n: u64| n as f64 / deployments as f64;
    assert!(per(batched.requests) <= 1.5, "{}", per(batched.requests));
    assert_eq!((batched_again.requests, rest_again.requests), (2, 2), "the two lists, nothing new");
    assert!(batched_again.events.is_empty() && rest_again.events.is_empty());

    // An incremental run with new deployments: the first run lists 25 of
    // them, the next the eight after (all shipping).
    let forge = Forge::new("acme/big", 30, 1);
    let first: Vec<Value> = forge.deployments[..25].to_vec();
    let s = MockApi::new();
    s.mount(
        Mock::given(method("GET"))
            .and(path("/api/v4/projects/acme%2Fbig/deployments"))
            .respond_with(listing(first))
            .up_to_n_times(1)
            .with_priority(1),
    );
    serve_forges(&s, vec![forge], Duration::ZERO);
    let mut gl = GitlabSource::new("gl", forge_config(&s.uri(), "acme/big")).with_token(TOKEN);
    let full = gl.collect(None, &NoProgress).unwrap();
    let next = gl.collect(Some(&full.state), &NoProgress).unwrap();
    assert_eq!(next.events.count(EventKind::Deployment), 8);
    // 1 deployment list, 1 environment list, 8 compares, 1 merge request
    // list, 1 GraphQL query, 1 incident list.
    assert_eq!(next.requests, 13);
    eprintln!(
        "requests per deployment: full run batched {} ({:.2}), per deployment {} ({:.2}); \
         nothing new {}; eight new deployments {} ({:.2})",
        batched.requests,
        per(batched.requests),
        rest.requests,
        per(rest.requests),
        batched_again.requests,
        next.requests,
        next.requests as f64 / 8.0
    );
}

/// A server that refuses the GraphQL query (here: the query is not
/// allowed) gets the per-deployment requests, with a note, and the same
/// events.
#[test]
fn a_refused_graphql_query_falls_back_to_the_per_deployment_requests() {
    let s = MockApi::new();
    s.mount(
        Mock::given(method("POST"))
            .and(path("/api/graphql"))
            .and(wiremock::matchers::body_string_contains("mergeRequests(iids"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"errors": [{"message": "Query has complexity of 301, which exceeds max complexity of 250"}]}),
            ))
            .with_priority(1),
    );
    serve_forges(&s, vec![Forge::new("acme/big", 6, 1)], Duration::ZERO);
    let out = GitlabSource::new("gl", forge_config(&s.uri(), "acme/big"))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("GraphQL refused the merge requests' commits (Query has complexity")),
        "{:?}",
        out.notes
    );
    let mut cfg = forge_config(&s.uri(), "acme/big");
    cfg.use_graphql = false;
    let rest = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    assert_eq!(out.events.events(), rest.events.events());

    // A server without GraphQL for this token (403): the same.
    let s = MockApi::new();
    s.mount(
        Mock::given(method("POST"))
            .and(path("/api/graphql"))
            .and(wiremock::matchers::body_string_contains("mergeRequests(iids"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})))
            .with_priority(1),
    );
    serve_forges(&s, vec![Forge::new("acme/big", 6, 1)], Duration::ZERO);
    let out = GitlabSource::new("gl", forge_config(&s.uri(), "acme/big"))
        .with_token(TOKEN)
        .collect(None, &NoProgress)
        .unwrap();
    assert!(
        out.notes.iter().any(|n| n.contains("GraphQL refused") && n.contains("HTTP 403")),
        "{:?}",
        out.notes
    );
    let mut cfg = forge_config(&s.uri(), "acme/big");
    cfg.use_graphql = false;
    let rest = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, &NoProgress).unwrap();
    assert_eq!(out.events.events(), rest.events.events());
}

/// Issue 20: a group's projects are read `concurrency` at once under one
/// request budget. Against a server answering every request after 100 ms,
/// twenty projects take less than four times as long as one, and their
/// events come out in the group's order, as they would one by one.
#[test]
fn a_groups_projects_are_read_at_once() {
    use std::sync::{Arc, Mutex};
    #[derive(Default)]
    struct Said(Mutex<Vec<String>>);
    impl dora_core::source::Progress for Said {
        fn message(&self, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
    }
    let delay = Duration::from_millis(100);
    let read = |projects: u64| {
        let s = MockApi::new();
        let forges: Vec<Forge> = (1..=projects).map(|k| Forge::new(&format!("acme/p{k:02}"), 2, k)).collect();
        let listed: Vec<Value> = forges
            .iter()
            .enumerate()
            .map(|(i, f)| json!({"id": i + 1, "path_with_namespace": f.path, "archived": false}))
            .collect();
        s.mount(
            Mock::given(method("GET"))
                .and(path("/api/v4/groups/acme/projects"))
                .respond_with(ResponseTemplate::new(200).set_body_json(listed).set_delay(delay)),
        );
        serve_forges(&s, forges, delay);
        let mut cfg = forge_config(&s.uri(), "unused");
        cfg.projects.clear();
        cfg.group = Some(dora_sources::gitlab::GroupConfig {
            path: "acme".into(),
            include: vec![],
            exclude: vec![],
            services: Default::default(),
            teams: Default::default(),
        });
        let said = Arc::new(Said::default());
        let started = std::time::Instant::now();
        let out = GitlabSource::new("gl", cfg).with_token(TOKEN).collect(None, said.as_ref()).unwrap();
        let took = started.elapsed();
        assert_eq!(out.requests as usize, s.requests());
        let said = said.0.lock().unwrap().clone();
        (took, out, said)
    };
    let (one, alone, _) = read(1);
    let (twenty, out, said) = read(20);
    eprintln!(
        "one project: {one:?} ({} requests); twenty: {twenty:?} ({} requests)",
        alone.requests, out.requests
    );
    assert_eq!(out.requests, 1 + 20 * (alone.requests - 1), "the group list, then each project's");
    assert!(twenty < one * 4, "twenty projects took {twenty:?}, one {one:?}");
    // The group's order: each project's deployment ids are above the last's.
    let ids: Vec<u64> = out
        .events
        .iter()
        .filter_map(|e| match e {
            dora_core::event::Event::Deployment(d) => d.id.rsplit(':').next().unwrap().parse().ok(),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 40);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Progress tells the requests spent and the rate limit left.
    assert!(said.iter().any(|m| m.contains(" requests, 1,") && m.ends_with(" left)")), "{said:?}");
}
