//! `dora collect` with a GitHub source, end to end against a local server
//! (built with `--features github`).

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{dora, write};

const SHA: &str = "1111111111111111111111111111111111111111";

/// A fake GitHub serving one repository (`owner/name`): one successful
/// production deployment of one commit, 30 hours ago, without a pull
/// request; with `incident`, one closed incident issue whose body names
/// that commit, else no issue. Conditional lists (ETags `"d1"`, `"i1"`)
/// answer `304`. It answers the GraphQL queries of the source from the
/// same data (a full run is 3 requests, a run with nothing new 1) and the
/// REST endpoints of its fallback.
pub(crate) fn fake_github_repo(rt: &tokio::runtime::Runtime, repo: &str, incident: bool) -> MockServer {
    let server = rt.block_on(MockServer::start());
    let now = chrono::Utc::now();
    let t = |h: i64| (now - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mount = |m: Mock| rt.block_on(m.mount(&server));
    let p = format!("/repos/{repo}");
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/deployments")))
            .and(header("if-none-match", "\"d1\""))
            .respond_with(ResponseTemplate::new(304)),
    );
    mount(Mock::given(method("GET")).and(path(format!("{p}/deployments"))).respond_with(
        ResponseTemplate::new(200).insert_header("etag", "\"d1\"").set_body_json(json!([{
            "id": 7, "sha": SHA, "ref": "main", "environment": "production", "created_at": t(30),
            "updated_at": t(30), "production_environment": true}])),
    ));
    mount(Mock::given(method("GET")).and(path(format!("{p}/deployments/7/statuses"))).respond_with(
        ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "state": "success", "created_at": t(29)}])),
    ));
    mount(Mock::given(method("GET")).and(path(format!("{p}/commits"))).respond_with(
        ResponseTemplate::new(200).set_body_json(
            json!([{"sha": SHA, "commit": {"author": {"date": t(40)}, "committer": {"date": t(40)}}}]),
        ),
    ));
    // GraphQL: the overview (the deployment with its status, the incident),
    // the default branch's history (the one commit), pull requests (none).
    let (deployed, done, committed) = (t(30), t(29), t(40));
    let (opened, closed) = (t(28), t(27));
    mount(Mock::given(method("POST")).and(path("/graphql")).respond_with(move |req: &wiremock::Request| {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let query = body["query"].as_str().unwrap_or_default();
        let page = |nodes: serde_json::Value| json!({"pageInfo": {"hasNextPage": false}, "nodes": nodes});
        let data = if query.starts_with("query Overview") {
            let issues = if incident {
                json!([{"number": 3, "title": "checkout down", "labels": {"nodes": [{"name": "incident"}]},
                        "createdAt": opened, "closedAt": closed, "body": format!("root cause: {SHA}")}])
            } else {
                json!([])
            };
            json!({"repository": {
                "deployments": page(json!([{"databaseId": 7, "createdAt": deployed, "environment": "production",
                    "commitOid": SHA, "statuses": {"nodes": [{"state": "SUCCESS", "createdAt": done}]}}])),
                "issues": page(issues)}})
        } else if query.starts_with("query Walk") {
            json!({"repository": {"defaultBranchRef": {"target": {"history": page(json!([{"oid": SHA,
                "committedDate": committed, "authoredDate": committed, "parents": {"nodes": []},
                "associatedPullRequests": {"nodes": []}}]))}}}})
        } else {
            json!({"repository": {"c0": {"associatedPullRequests": {"nodes": []}}}})
        };
        ResponseTemplate::new(200).set_body_json(json!({"data": data}))
    }));
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/issues")))
            .and(header("if-none-match", "\"i1\""))
            .respond_with(ResponseTemplate::new(304)),
    );
    let issues = if incident {
        json!([{
            "number": 3, "title": "checkout down", "state": "closed", "labels": [{"name": "incident"}],
            "created_at": t(28), "closed_at": t(27), "body": format!("root cause: {SHA}")}])
    } else {
        json!([])
    };
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/issues")))
            .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"i1\"").set_body_json(issues)),
    );
    server
}

#[test]
fn collect_from_github_then_report() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = fake_github_repo(&rt, "acme/api", false);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"acme/api\"]\napi_url = \"{}\"\nallow_http = true\ntoken_env = \"DORA_TEST_GH_TOKEN\"\n",
            server.uri()
        ),
    );
    let run = || {
        dora(dir.path()).arg("collect").env("DORA_TEST_GH_TOKEN", "ghp_test_token_value").output().unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The overview query, the deployment list (REST), the walk of the branch.
    assert!(stdout.contains("gh      github         2         0          0         3"), "{stdout}");
    assert!(stderr.contains("collect: gh: acme/api: deployments"), "{stderr}");
    assert!(!stdout.contains("ghp_test") && !stderr.contains("ghp_test"));
    // Nothing new: one overview query, nothing added.
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("gh      github         0         0          0         1"), "{stdout}");
    let out = dora(dir.path()).args(["metrics", "--format", "json", "--period", "day"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Without the token: the source fails, by name, with exit code 5.
    let out = dora(dir.path()).arg("collect").env_remove("DORA_TEST_GH_TOKEN").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the environment variable DORA_TEST_GH_TOKEN (the GitHub token) is not set")
    );
}
