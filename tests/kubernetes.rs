//! `dora collect` with a Kubernetes source, end to end against a local
//! server answering like the API server (built with `--features kubernetes`).

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{dora, write};

/// `h` hours ago, as the API server writes times.
fn t(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A list answer of the API server (one page).
fn list(items: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": items}),
    )
}

/// Serves the Deployments and ReplicaSets of namespace `shop`, one list page each.
fn serve_shop(
    rt: &tokio::runtime::Runtime,
    server: &MockServer,
    deployments: serde_json::Value,
    replicasets: serde_json::Value,
) {
    for (kind, items) in [("deployments", deployments), ("replicasets", replicasets)] {
        let mock = Mock::given(method("GET"))
            .and(path(format!("/apis/apps/v1/namespaces/shop/{kind}")))
            .respond_with(list(items));
        rt.block_on(mock.mount(server));
    }
}

/// A `dora.toml` with a Kubernetes source `k8s` reading namespace `shop`
/// (environment production) through `server`, and `extra` lines.
fn k8s_toml(server: &MockServer, extra: &str) -> String {
    format!(
        "[[source]]\nkind = \"kubernetes\"\nname = \"k8s\"\nserver = \"{}\"\nnamespaces = [\"shop\"]\nenvironment = \"production\"\n{extra}",
        server.uri()
    )
}

/// Deployment `web` in namespace `shop` at revision 2 running `image`,
/// its rollout complete 5 hours ago.
fn web(labels: serde_json::Value, image: &str) -> serde_json::Value {
    json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-web", "generation": 2, "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}},
        "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                "message": "ReplicaSet \"web-2\" has successfully progressed.", "lastUpdateTime": t(5), "lastTransitionTime": t(50)}]}})
}

/// ReplicaSet `web-<n>` of [`web`] (revision `n`), made at `created`,
/// running `image`, with `annotations` besides its revision.
fn web_replicaset(n: u64, created: &str, image: &str, annotations: serde_json::Value) -> serde_json::Value {
    let mut all = json!({"deployment.kubernetes.io/revision": n.to_string()});
    for (k, v) in annotations.as_object().into_iter().flatten() {
        all[k] = v.clone();
    }
    json!({"metadata": {"name": format!("web-{n}"), "namespace": "shop", "creationTimestamp": created, "annotations": all,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-web"}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[test]
fn collect_from_a_cluster_then_metrics() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let mount = |m: Mock| rt.block_on(m.mount(&server));
    let web = web(json!({"app.kubernetes.io/name": "web", "team": "storefront"}), "web:abc1234");
    let rs = |n: u64, created: String| web_replicaset(n, &created, &format!("web:c{n}"), json!({}));
    serve_shop(&rt, &server, json!([web]), json!([rs(1, t(50)), rs(2, t(6))]));
    mount(
        Mock::given(method("GET"))
            .and(path("/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"))
            .respond_with(list(json!([]))),
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &k8s_toml(&server, "team_label = \"team\"\nimage_commit_pattern = ':([0-9a-z]+)$'\n"),
    );
    let out = dora(dir.path()).arg("collect").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("k8s     kubernetes         2         0          0         3"), "{stdout}");
    let out = dora(dir.path()).args(["export", "events", "--format", "jsonl"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"id\":\"k8s:k8s/shop/Deployment/web:rev:2\""), "{text}");
    assert!(text.contains("\"commit\":\"c2\""), "{text}");
    assert!(text.contains("\"team\":\"storefront\""), "{text}");
    // Again: the revisions are recorded; nothing is added.
    let out = dora(dir.path()).arg("collect").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("k8s     kubernetes         0         0          0         3")
    );
}

/// `dora watch kubernetes` records what the cluster shows, then stops on
/// SIGTERM with exit status 0, leaving a sound store.
#[test]
fn watch_records_then_stops_on_sigterm() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let mount = |m: Mock| rt.block_on(m.mount(&server));
    let rs = json!({"metadata": {"name": "api-1", "namespace": "shop", "resourceVersion": "5", "creationTimestamp": "2026-11-20T10:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "u-api"}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api", "image": "api"}]}}}});
    let api = json!({"metadata": {"name": "api", "namespace": "shop", "uid": "u-api", "generation": 1, "resourceVersion": "6",
            "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api", "image": "api"}]}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 0, "availableReplicas": 1}});
    let watch = || wiremock::matchers::query_param("watch", "true");
    let quiet = || {
        ResponseTemplate::new(200)
            .set_body_raw(Vec::new(), "application/json")
            .set_delay(std::time::Duration::from_secs(60))
    };
    mount(Mock::given(method("GET")).and(watch()).respond_with(quiet()).with_priority(1));
    serve_shop(&rt, &server, json!([api]), json!([rs]));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dora.toml", &k8s_toml(&server, "argo_rollouts = false\n"));
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dora"));
    cmd.current_dir(dir.path()).args(["watch", "kubernetes"]).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait until revision 1 (the one before the rollout in progress) is stored.
    let store = dir.path().join(".dora/dora.db");
    let started = std::time::Instant::now();
    loop {
        let stored = store.exists()
            && dora_core::store::Store::open_read_only(&store).and_then(|s| s.len()).unwrap_or(0) > 0;
        if stored {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "nothing stored");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("recorded k8s:k8s/shop/Deployment/api:rev:1"), "{stderr}");
    assert!(stderr.contains("watch: k8s: stopped"), "{stderr}");
    let c = rusqlite::Connection::open(&store).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let out = dora(dir.path()).args(["export", "events", "--format", "jsonl"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"id\":\"k8s:k8s/shop/Deployment/api:rev:1\""));
}

/// `[source.repositories]` naming a GitHub repository: the rollouts' change
/// sets come through the API of the configured `github` source (its
/// `api_url` and token variable), and only the Kubernetes source runs.
#[cfg(feature = "github")]
#[test]
fn change_sets_through_a_configured_github_source() {
    let Some(shared) = crate::util::shared() else { return };
    let compare: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            shared.join("fixtures/peer/github_openapi_examples/repos__compare-commits.200.default.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let base = compare["base_commit"]["sha"].as_str().unwrap().to_string();
    let head = "0328041d1152db8ae77652d1618a02e57f745f17";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let mount = |m: Mock| rt.block_on(m.mount(&server));
    let web = web(json!({}), &format!("web:{head}"));
    let rs = |n: u64, created: String, sha: &str| {
        web_replicaset(
            n,
            &created,
            &format!("web:{sha}"),
            json!({"kubernetes.io/change-cause": format!("deploy {}", &sha[..7])}),
        )
    };
    serve_shop(&rt, &server, json!([web]), json!([rs(1, t(50), &base), rs(2, t(6), head)]));
    mount(
        Mock::given(method("GET"))
            .and(path("/repos/octocat/Hello-World/commits"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"sha": base,
                "commit": {"author": {"date": "2011-04-10T20:09:31Z"}, "committer": {"date": "2011-04-10T20:09:31Z"}}}]))),
    );
    mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/octocat/Hello-World/compare/{base}...{head}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(compare.clone())),
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &k8s_toml(
            &server,
            &format!(
                "argo_rollouts = false\nimage_commit_pattern = ':([0-9a-f]{{40}})$'\n[source.repositories]\nweb = {{ github = \"octocat/Hello-World\" }}\n\n\
                 [[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"octocat/Hello-World\"]\napi_url = \"{}\"\nallow_http = true\ntoken_env = \"DORA_TEST_GH_TOKEN\"\n",
                server.uri()
            ),
        ),
    );
    // Without the token: a clear error before anything is read.
    let out = dora(dir.path()).args(["collect", "--source", "k8s"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "repositories.\"web\": the environment variable DORA_TEST_GH_TOKEN (the GitHub token) is not set"
        ),
        "{stderr}"
    );
    let out = dora(dir.path())
        .args(["collect", "--source", "k8s"])
        .env("DORA_TEST_GH_TOKEN", "s3cret-t0ken")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("s3cret") && !String::from_utf8_lossy(&out.stderr).contains("s3cret"));
    let out = dora(dir.path()).args(["export", "events", "--format", "jsonl"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let shipped = compare["commits"][0]["sha"].as_str().unwrap();
    assert!(text.contains(&format!("\"changes\":[\"{shipped}\"]")), "{text}");
    assert!(
        text.contains(&format!("{{\"kind\":\"change\",\"id\":\"{shipped}\",\"service\":\"web\"")),
        "{text}"
    );
    assert!(text.contains("\"note\":\"deploy 0328041\""), "{text}");
    assert!(!text.contains("s3cret"));
}
