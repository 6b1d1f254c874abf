//! `dora collect` with a GitLab source, end to end against a local server
//! (built with `--features gitlab`), then `dora metrics` from the store.

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{dora, write};

const SHA: &str = "1111111111111111111111111111111111111111";

/// A fake GitLab serving one project (`group/name`, any depth): one
/// successful production deployment of one commit, 30 hours ago, no merge
/// request, no incident; an incremental list after it is empty.
pub(crate) fn fake_gitlab_project(rt: &tokio::runtime::Runtime, project: &str) -> MockServer {
    let server = rt.block_on(MockServer::start());
    let now = chrono::Utc::now();
    let t = |h: i64| (now - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mount = |m: Mock| rt.block_on(m.mount(&server));
    let p = format!("/api/v4/projects/{}", project.replace('/', "%2F"));
    // Nothing updated after the latest deployment's update: an empty page.
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/deployments")))
            .and(query_param("updated_after", t(29).replace("+00:00", "Z")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .with_priority(1),
    );
    mount(Mock::given(method("GET")).and(path(format!("{p}/deployments"))).respond_with(
        ResponseTemplate::new(200).set_body_json(json!([{
            "id": 7, "sha": SHA, "ref": "main", "status": "success", "created_at": t(30), "updated_at": t(29),
            "environment": {"name": "production"},
            "deployable": {"id": 70, "status": "success", "started_at": t(30), "finished_at": t(29)}}])),
    ));
    mount(Mock::given(method("GET")).and(path(format!("{p}/environments"))).respond_with(
        ResponseTemplate::new(200).set_body_json(json!([{"name": "production", "tier": "production"}])),
    ));
    mount(
        Mock::given(method("GET")).and(path(format!("{p}/repository/commits"))).respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": SHA, "committed_date": t(40), "authored_date": t(41)}])),
        ),
    );
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/deployments/7/merge_requests")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    // The merged merge requests (the batched path): none.
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/merge_requests")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    mount(
        Mock::given(method("GET"))
            .and(path(format!("{p}/issues")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    server
}

#[test]
fn collect_from_gitlab_then_metrics() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = fake_gitlab_project(&rt, "acme/api");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[[source]]\nkind = \"gitlab\"\nname = \"gl\"\nprojects = [\"acme/api\"]\napi_url = \"{}\"\nallow_http = true\ntoken_env = \"DORA_TEST_GL_TOKEN\"\nconcurrency = 2\nuse_graphql = true\n[source.teams]\n\"acme/api\" = \"core\"\n",
            server.uri()
        ),
    );
    let run = || {
        dora(dir.path()).arg("collect").env("DORA_TEST_GL_TOKEN", "glpat-test-token-value").output().unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // 1 deployment list, 1 environment list, 1 commit list, 1 merge request list, 1 incident list.
    assert!(stdout.contains("gl      gitlab         2         0          0         5"), "{stdout}");
    assert!(stderr.contains("collect: gl: acme/api: deployments"), "{stderr}");
    assert!(!stdout.contains("glpat-test") && !stderr.contains("glpat-test"));
    // Nothing new: two requests, nothing added.
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("gl      gitlab         0         0          0         2"), "{stdout}");
    let out = dora(dir.path())
        .args(["metrics", "--format", "json", "--period", "day", "--group-by", "team"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let core =
        v["groups"].as_array().unwrap().iter().find(|g| g["name"] == "core").expect("the team's group");
    assert_eq!(core["summary"]["deployments"], 1);
    // Without the token: the source fails, by name, with exit code 5.
    let out = dora(dir.path()).arg("collect").env_remove("DORA_TEST_GL_TOKEN").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the environment variable DORA_TEST_GL_TOKEN (the GitLab token) is not set")
    );
}
