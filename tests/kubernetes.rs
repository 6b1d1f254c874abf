//! `dora collect` with a Kubernetes source, end to end against a local
//! server answering like the API server (built with `--features kubernetes`).

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{dora, write};

#[test]
fn collect_from_a_cluster_then_metrics() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let mount = |m: Mock| rt.block_on(m.mount(&server));
    let now = chrono::Utc::now();
    let t = |h: i64| (now - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let list = |items: serde_json::Value| {
        ResponseTemplate::new(200).set_body_json(
            json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": items}),
        )
    };
    let web = json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-web", "generation": 2,
            "labels": {"app.kubernetes.io/name": "web", "team": "storefront"},
            "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:abc1234"}]}}},
        "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                "message": "ReplicaSet \"web-2\" has successfully progressed.", "lastUpdateTime": t(5), "lastTransitionTime": t(50)}]}});
    let rs = |n: u64, created: String| {
        json!({"metadata": {"name": format!("web-{n}"), "namespace": "shop", "creationTimestamp": created,
            "annotations": {"deployment.kubernetes.io/revision": n.to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-web"}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": format!("web:c{n}")}]}}}})
    };
    mount(
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/namespaces/shop/deployments"))
            .respond_with(list(json!([web]))),
    );
    mount(
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/namespaces/shop/replicasets"))
            .respond_with(list(json!([rs(1, t(50)), rs(2, t(6))]))),
    );
    mount(
        Mock::given(method("GET"))
            .and(path("/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"))
            .respond_with(list(json!([]))),
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[[source]]\nkind = \"kubernetes\"\nname = \"k8s\"\nserver = \"{}\"\nnamespaces = [\"shop\"]\nenvironment = \"production\"\nteam_label = \"team\"\nimage_commit_pattern = ':([0-9a-z]+)$'\n",
            server.uri()
        ),
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
