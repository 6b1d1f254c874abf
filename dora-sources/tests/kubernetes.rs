//! The Kubernetes source's real client (kube) against a local HTTP server
//! that answers like the API server: lists paged with `limit` and
//! `continue` (every page of one snapshot), items without `kind` (as list
//! responses of built-in types carry none), a 404 for a CRD that is not
//! installed, and a 403 `Status` when RBAC forbids a list. The objects are
//! the recorded ones of `../shared/fixtures/peer/k8s_*` (read from there,
//! not copied; skipped with a note when absent) and objects built here.

mod common;

use common::{MockApi, git_repository, peer_json};
use dora_core::source::{NoProgress, Source};
use dora_core::{DeploymentStatus, DeploymentType, EventKind};
use dora_sources::kubernetes::{ClusterConfig, KubernetesConfig, KubernetesSource, ServiceRepository};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, Request, ResponseTemplate};

fn peer(rel: &str) -> Option<Value> {
    peer_json(rel)
}

/// A list as the API server answers it: `limit` items a page, a `continue`
/// token while more remain, the snapshot's resourceVersion on every page.
fn list(kind: &str, items: Vec<Value>) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    let kind = kind.to_string();
    move |req: &Request| {
        let q = |k: &str| req.url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
        let limit: usize = q("limit").and_then(|l| l.parse().ok()).unwrap_or(usize::MAX);
        let start: usize = q("continue").map_or(0, |c| c.strip_prefix("offset-").unwrap().parse().unwrap());
        let page: Vec<Value> = items
            .iter()
            .skip(start)
            .take(limit)
            .map(|i| {
                let mut i = i.clone();
                let o = i.as_object_mut().unwrap();
                o.remove("apiVersion");
                o.remove("kind");
                i
            })
            .collect();
        let mut metadata = json!({"resourceVersion": "1000"});
        if start + page.len() < items.len() {
            metadata["continue"] = format!("offset-{}", start + page.len()).into();
        }
        ResponseTemplate::new(200).set_body_json(json!({"kind": format!("{kind}List"), "apiVersion": "v1",
            "metadata": metadata, "items": page}))
    }
}

fn replicaset(owner: &Value, name: &str, n: u64, created: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": owner["metadata"]["namespace"], "creationTimestamp": created,
        "annotations": {"deployment.kubernetes.io/revision": n.to_string()},
        "labels": {"app.kubernetes.io/version": format!("v{n}")},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner["metadata"]["name"],
                             "uid": owner["metadata"]["uid"], "controller": true}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

/// Watches that stay open and say nothing (for 30 s, past any test).
fn quiet_watches(s: &MockApi) {
    s.mount(
        Mock::given(method("GET")).and(query_param("watch", "true")).respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(Vec::new(), "application/json")
                .set_delay(std::time::Duration::from_secs(30)),
        ),
    );
}

fn config(uri: &str, namespaces: &[&str]) -> KubernetesConfig {
    let mut cluster = ClusterConfig::current();
    cluster.server = Some(uri.to_string());
    cluster.name = Some("prod-eu".into());
    cluster.environment = Some("production".into());
    cluster.namespaces = namespaces.iter().map(|n| n.to_string()).collect();
    let mut cfg = KubernetesConfig::new(vec![cluster]);
    cfg.page_size = 2;
    cfg
}

/// The settings of the cluster `s` serves (namespace `shop`, no Argo
/// Rollouts), the service `web`'s commits read from `repository`.
fn config_with(s: &MockApi, repository: ServiceRepository) -> KubernetesConfig {
    let mut cfg = config(&s.server.uri(), &["shop"]);
    cfg.argo_rollouts = false;
    cfg.repositories.insert("web".into(), repository);
    cfg
}

/// GitHub's settings for the API `s` serves.
#[cfg(feature = "github")]
fn github_at(s: &MockApi) -> dora_sources::github::GithubConfig {
    let mut github = dora_sources::github::GithubConfig::new(Vec::new());
    github.api_url = s.server.uri();
    github.allow_http = true;
    github
}

#[test]
fn deployments_and_their_revisions_over_paged_lists() {
    let (Some(nginx), Some(guestbook)) = (
        peer("k8s_gitops_engine_health/json/nginx.json"),
        peer("k8s_gitops_engine_health/json/deployment-degraded.json"),
    ) else {
        return;
    };
    let mut guestbook = guestbook;
    guestbook["metadata"]["namespace"] = "default".into();
    let s = MockApi::new();
    let replicasets = vec![
        replicaset(&nginx, "nginx-deployment-648fdd98d4", 1, "2018-07-05T09:29:50Z"),
        replicaset(&guestbook, "guestbook-ui-1", 3, "2018-07-10T10:00:00Z"),
        replicaset(&guestbook, "guestbook-ui-75dd4d49d5", 4, "2018-07-18T06:19:00Z"),
    ];
    let apps = "/apis/apps/v1/namespaces/default";
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{apps}/deployments")))
            .and(query_param_is_missing("watch"))
            .respond_with(list("Deployment", vec![nginx.clone(), guestbook.clone()])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{apps}/replicasets")))
            .respond_with(list("ReplicaSet", replicasets)),
    );
    // Argo Rollouts is not installed.
    s.mount(
        Mock::given(method("GET"))
            .and(path("/apis/argoproj.io/v1alpha1/namespaces/default/rollouts"))
            .respond_with(ResponseTemplate::new(404).set_body_json(
                json!({"kind": "Status", "apiVersion": "v1",
                "status": "Failure", "message": "the server could not find the requested resource",
                "reason": "NotFound", "code": 404}),
            )),
    );
    let mut source = KubernetesSource::new("k8s", config(&s.server.uri(), &["default"]));
    let out = source.collect(None, &NoProgress).unwrap();
    let set = &out.events;
    let nginx_1 = set.deployment("k8s:prod-eu/default/Deployment/nginx-deployment:rev:1").unwrap();
    assert_eq!(nginx_1.status, DeploymentStatus::Success);
    assert_eq!(nginx_1.environment, "production");
    assert_eq!(nginx_1.commit.as_deref(), Some("v1"));
    let failed = set.deployment("k8s:prod-eu/default/Deployment/guestbook-ui:rev:4").unwrap();
    assert_eq!(failed.status, DeploymentStatus::Failure);
    assert_eq!(
        set.deployment("k8s:prod-eu/default/Deployment/guestbook-ui:rev:3").unwrap().deployment_type,
        DeploymentType::Regular
    );
    assert_eq!(set.count(EventKind::Deployment), 3);
    assert!(out.notes.iter().any(|n| n.contains("Argo Rollouts is not installed")), "{:?}", out.notes);
    // Pages of 2: 1 deployment page (2 items, then none: the list says so),
    // 2 ReplicaSet pages, 1 rollout list (404: the CRD is absent).
    let received = s.received();
    let replicaset_pages: Vec<Vec<(String, String)>> = received
        .iter()
        .filter(|r| r.url.path().ends_with("/replicasets"))
        .map(|r| r.url.query_pairs().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .collect();
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        replicaset_pages,
        [vec![pair("limit", "2")], vec![pair("limit", "2"), pair("continue", "offset-2")]]
    );
    assert_eq!(out.requests, 4);
    assert_eq!(out.requests as usize, received.len());

    // Again: every revision is recorded already; nothing is added.
    let again = source.collect(Some(&out.state), &NoProgress).unwrap();
    assert_eq!(again.events.len(), 0);
}

#[test]
fn argo_rollouts_as_dynamic_objects() {
    let Some(rollout) = peer("k8s_argo_rollouts/json/rollout-aborted/rollout.json") else { return };
    let rs: Vec<Value> = ["rs1.json", "rs2.json"]
        .iter()
        .map(|f| {
            let mut r = peer(&format!("k8s_argo_rollouts/json/rollout-aborted/{f}")).unwrap();
            // Recorded from an old cluster: the API server serves apps/v1.
            r["apiVersion"] = "apps/v1".into();
            r
        })
        .collect();
    let s = MockApi::new();
    let ns = rollout["metadata"]["namespace"].as_str().unwrap().to_string();
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("/apis/apps/v1/namespaces/{ns}/deployments")))
            .respond_with(list("Deployment", vec![])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("/apis/apps/v1/namespaces/{ns}/replicasets")))
            .respond_with(list("ReplicaSet", rs)),
    );
    let mut r = rollout.clone();
    r["apiVersion"] = "argoproj.io/v1alpha1".into();
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts")))
            .and(query_param("limit", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"kind": "RolloutList",
                "apiVersion": "argoproj.io/v1alpha1", "metadata": {"resourceVersion": "5"}, "items": [r]}))),
    );
    let out =
        KubernetesSource::new("k8s", config(&s.server.uri(), &[&ns])).collect(None, &NoProgress).unwrap();
    let id = format!("k8s:prod-eu/{ns}/Rollout/rollout-background-analysis:rev:2");
    let aborted = out.events.deployment(&id).unwrap();
    assert_eq!(aborted.status, DeploymentStatus::Failure, "an aborted rollout never went live");
    assert_eq!(out.events.count(EventKind::Deployment), 2);
}

#[test]
fn a_missing_permission_is_named() {
    let s = MockApi::new();
    s.mount(
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/namespaces/prod/deployments"))
            .respond_with(list("Deployment", vec![])),
    );
    s.mount(Mock::given(method("GET")).and(path("/apis/apps/v1/namespaces/prod/replicasets")).respond_with(
        ResponseTemplate::new(403).set_body_json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "reason": "Forbidden", "code": 403, "details": {"group": "apps", "kind": "replicasets"},
            "message": "replicasets.apps is forbidden: User \"system:serviceaccount:dora:dora\" cannot list resource \"replicasets\" in API group \"apps\" in the namespace \"prod\""})),
    ));
    let e = KubernetesSource::new("k8s", config(&s.server.uri(), &["prod"]))
        .collect(None, &NoProgress)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "prod-eu: missing RBAC permission: list replicasets.apps in namespace prod (grant get, list, watch on it; see deploy/rbac.yaml)"
    );
}

fn web(progressing: bool) -> Value {
    let status = if progressing {
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1,
               "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                               "message": "ReplicaSet \"web-2\" is progressing.", "lastUpdateTime": "2026-11-24T10:00:00Z"}]})
    } else {
        json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
               "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                               "message": "ReplicaSet \"web-2\" has successfully progressed.",
                               "lastUpdateTime": "2026-11-24T10:05:00Z", "lastTransitionTime": "2026-11-24T09:00:00Z"}]})
    };
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-web", "generation": 2, "resourceVersion": "20",
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web"}]}}},
        "status": status})
}

/// `dora watch`'s core against a fake API server: the list (a revision in
/// progress, an older one recorded at once), a watch stream that brings the
/// rollout's completion and a bookmark, then breaks in the middle of an
/// event (watched again from the bookmark), a `410 Gone` (listed again),
/// and an absent Argo Rollouts CRD; it stops when asked, after the revision
/// is handed over with its sync state.
#[test]
fn the_watcher_records_a_rollout_when_it_finishes() {
    use std::sync::{Arc, Mutex};
    let s = MockApi::new();
    let ns = "/apis/apps/v1/namespaces/shop";
    let rs = |n: u64| {
        let mut r = replicaset(&web(true), &format!("web-{n}"), n, &format!("2026-11-2{n}T08:00:00Z"));
        r["metadata"]["resourceVersion"] = "10".into();
        r
    };
    // The first list sees revision 2 in progress; after the 410, the relist sees it done.
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param_is_missing("watch"))
            .respond_with(list("Deployment", vec![web(true)]))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param_is_missing("watch"))
            .respond_with(list("Deployment", vec![web(false)])),
    );
    // The first watch: the rollout completes, a bookmark, then the stream ends.
    let mut done = web(false);
    done["metadata"]["resourceVersion"] = "21".into();
    // ... and the connection breaks in the middle of the next event.
    let events = format!(
        "{}\n{}\n{{\"type\": \"MODIFIED\", \"object\": {{\"apiVe",
        json!({"type": "MODIFIED", "object": done}),
        json!({"type": "BOOKMARK", "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"resourceVersion": "30"}}})
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param("watch", "true"))
            .and(query_param("resourceVersion", "1000"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(events.into_bytes(), "application/json"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    // Watched again from the bookmark: too old by now.
    let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "too old resource version: 30 (40)", "reason": "Expired", "code": 410}});
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param("watch", "true"))
            .and(query_param("resourceVersion", "30"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(format!("{gone}\n").into_bytes(), "application/json"),
            )
            .with_priority(1),
    );
    // Any other watch stays open with nothing new.
    s.mount(
        Mock::given(method("GET"))
            .and(query_param("watch", "true"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(Vec::new(), "application/json")
                    .set_delay(std::time::Duration::from_secs(30)),
            )
            .with_priority(10),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/replicasets")))
            .and(query_param_is_missing("watch"))
            .respond_with(list("ReplicaSet", vec![rs(1), rs(2)])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path("/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"kind": "Status", "apiVersion": "v1",
                "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})),
            ),
    );
    let mut cfg = config(&s.server.uri(), &["shop"]);
    cfg.retry_base = std::time::Duration::from_millis(20);
    type Batches = Vec<(Vec<String>, dora_core::store::SyncState)>;
    let batches: Arc<Mutex<Batches>> = Arc::default();
    let sunk = batches.clone();
    let sink = move |events: dora_core::EventSet, state: dora_core::store::SyncState| {
        let ids = events.iter().filter_map(|e| match e {
            dora_core::Event::Deployment(d) => Some(d.id),
            _ => None,
        });
        sunk.lock().unwrap().push((ids.collect(), state));
        Ok(())
    };
    let seen = batches.clone();
    let started = std::time::Instant::now();
    let stop = async move {
        loop {
            let n: usize = seen.lock().unwrap().iter().map(|(ids, _)| ids.len()).sum();
            let relisted = n >= 2 && started.elapsed() > std::time::Duration::from_millis(500);
            if relisted || started.elapsed() > std::time::Duration::from_secs(20) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    dora_sources::kubernetes::watch::watch(&cfg, None, &NoProgress, sink, stop).unwrap();
    let batches = batches.lock().unwrap();
    let ids: Vec<&String> = batches.iter().flat_map(|(ids, _)| ids).collect();
    assert_eq!(
        ids,
        ["k8s:prod-eu/shop/Deployment/web:rev:1", "k8s:prod-eu/shop/Deployment/web:rev:2"],
        "each revision once, the second when its rollout completed; the relist added nothing"
    );
    // Each batch comes with the state that lists it as recorded.
    let last_state = &batches.last().unwrap().1;
    assert!(last_state.0["done"].as_array().unwrap().len() == 2, "{:?}", last_state.0);
    let received = s.received();
    let lists = received
        .iter()
        .filter(|r| r.url.path().ends_with("/deployments") && !r.url.query().unwrap_or("").contains("watch"))
        .count();
    assert_eq!(lists, 2, "listed again after the 410");
}

#[test]
fn the_watcher_stops_on_a_missing_permission() {
    let s = MockApi::new();
    s.mount(
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/namespaces/prod/replicasets"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({"kind": "Status", "apiVersion": "v1",
                "status": "Failure", "reason": "Forbidden", "code": 403, "message": "replicasets.apps is forbidden"}))),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(query_param_is_missing("watch"))
            .respond_with(list("Deployment", vec![]))
            .with_priority(10),
    );
    quiet_watches(&s);
    let mut cfg = config(&s.server.uri(), &["prod"]);
    cfg.argo_rollouts = false;
    let e = dora_sources::kubernetes::watch::watch(
        &cfg,
        None,
        &NoProgress,
        |_, _| Ok(()),
        std::future::pending(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("prod-eu: missing RBAC permission: list and watch replicasets.apps"),
        "{e}"
    );
}

/// With the service's repository cloned locally, each rollout ships the
/// commits since the previous one's commit, and the change events carry
/// the commits' times, so lead time is known.
#[test]
fn change_sets_from_a_local_clone() {
    let repo = tempfile::tempdir().unwrap();
    let shas = git_repository(repo.path(), 3);
    let s = MockApi::new();
    // Abbreviated SHAs in the labels: the clone resolves them.
    two_rollouts(&s, &shas[0][..7], &shas[2][..7]);
    let cfg = config_with(&s, ServiceRepository::Clone(repo.path().to_path_buf()));
    let out = KubernetesSource::new("k8s", cfg).collect(None, &NoProgress).unwrap();
    let first = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:1").unwrap();
    assert_eq!(first.changes, [shas[0].clone()], "the first rollout seen: its own commit");
    let second = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:2").unwrap();
    assert_eq!(second.changes, [shas[1].clone(), shas[2].clone()]);
    let c2 = out.events.change(&shas[1]).unwrap();
    assert_eq!(c2.committed_at.to_rfc3339(), "2026-11-02T10:00:00+00:00");
    assert_eq!(out.events.count(EventKind::Change), 3);
}

/// A Deployment `web` in namespace `shop` whose two ReplicaSets deployed
/// `first` and `second` (commits, in the version label), served by `s`.
fn two_rollouts(s: &MockApi, first: &str, second: &str) {
    let mut deployment = web(false);
    deployment["metadata"]["labels"] = json!({"app.kubernetes.io/name": "web"});
    let rs = |n: usize, sha: &str| {
        let mut r =
            replicaset(&deployment, &format!("web-{n}"), n as u64, &format!("2026-11-0{}T12:00:00Z", n + 3));
        r["metadata"]["labels"]["app.kubernetes.io/version"] = sha.into();
        r
    };
    let ns = "/apis/apps/v1/namespaces/shop";
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .respond_with(list("Deployment", vec![deployment.clone()])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/replicasets")))
            .respond_with(list("ReplicaSet", vec![rs(1, first), rs(2, second)])),
    );
}

/// Change sets through GitHub's API (a configured `github` source's
/// settings): the first rollout lists its commit's history (one commit),
/// the second is GitHub's comparison of the two commits. The comparison is
/// GitHub's recorded example (`github_openapi_examples`), so the rollouts
/// deploy its base and head commits.
#[cfg(feature = "github")]
#[test]
fn change_sets_through_the_github_api() {
    use std::sync::Arc;

    use dora_sources::github::GithubHistory;
    let Some(compare) = peer("github_openapi_examples/repos__compare-commits.200.default.json") else {
        return;
    };
    let base = compare["base_commit"]["sha"].as_str().unwrap().to_string();
    let head = "0328041d1152db8ae77652d1618a02e57f745f17";
    assert!(compare["permalink_url"].as_str().unwrap().ends_with(head), "the recorded comparison's head");
    let s = MockApi::new();
    two_rollouts(&s, &base, head);
    s.mount(
        Mock::given(method("GET"))
            .and(path("/repos/octocat/Hello-World/commits"))
            .and(query_param("sha", base.as_str()))
            .and(query_param("per_page", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"sha": base,
                "commit": {"author": {"date": "2011-04-10T20:09:31Z"}, "committer": {"date": "2011-04-10T20:09:31Z"}},
                "parents": []}]))),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/octocat/Hello-World/compare/{base}...{head}")))
            .and(query_param("page", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(compare.clone())),
    );
    let github = github_at(&s);
    let history = Arc::new(GithubHistory::new("octocat/Hello-World", github, Some("t0ken".into())).unwrap());
    let cfg = config_with(&s, ServiceRepository::History(history.clone()));
    let out = KubernetesSource::new("k8s", cfg).collect(None, &NoProgress).unwrap();
    let first = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:1").unwrap();
    assert_eq!(first.changes, std::slice::from_ref(&base), "the first rollout seen: its own commit");
    let second = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:2").unwrap();
    let shipped: Vec<&str> =
        compare["commits"].as_array().unwrap().iter().map(|c| c["sha"].as_str().unwrap()).collect();
    assert_eq!(second.changes, shipped, "the comparison's commits");
    let c = out.events.change(shipped[0]).unwrap();
    assert_eq!(c.committed_at.to_rfc3339(), "2011-04-14T16:00:49+00:00");
    assert_eq!(c.service, "web");
    assert_eq!(history.requests(), 2, "one request per rollout");
    let sent = s.received();
    let to_github: Vec<_> = sent.iter().filter(|r| r.url.path().starts_with("/repos/")).collect();
    assert!(to_github.iter().all(|r| r.headers.get("authorization").is_some_and(|v| v == "Bearer t0ken")));
}

/// Change sets through GitLab's API: the first rollout lists its commit
/// (GitLab's recorded commit, `gitlab_rust_gitlab`), the second is the
/// comparison `from...to`.
#[cfg(feature = "gitlab")]
#[test]
fn change_sets_through_the_gitlab_api() {
    use std::sync::Arc;

    use dora_sources::gitlab::{GitlabConfig, GitlabHistory};
    let Some(commit) = peer("gitlab_rust_gitlab/repo_commit_detail.json") else { return };
    let first_sha = commit["id"].as_str().unwrap().to_string();
    let next = |sha: &str, day: u32| {
        json!({"id": sha, "short_id": &sha[..8], "title": "t", "authored_date": format!("2026-11-0{day}T09:00:00.000+01:00"),
               "committed_date": format!("2026-11-0{day}T10:00:00.000+01:00"), "created_at": format!("2026-11-0{day}T10:00:00.000+01:00")})
    };
    let (c2, c3) = ("2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333");
    let s = MockApi::new();
    two_rollouts(&s, &first_sha, c3);
    let project = "/api/v4/projects/utils%2Frust-gitlab/repository";
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{project}/commits")))
            .and(query_param("ref_name", first_sha.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([commit]))),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{project}/compare")))
            .and(query_param("from", first_sha.as_str()))
            .and(query_param("to", c3))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"commit": next(c3, 2),
                "commits": [next(c2, 1), next(c3, 2)], "diffs": [], "compare_timeout": false, "compare_same_ref": false}))),
    );
    let mut gitlab = GitlabConfig::new(Vec::new());
    gitlab.api_url = s.server.uri();
    gitlab.allow_http = true;
    let history = Arc::new(GitlabHistory::new("utils/rust-gitlab", gitlab, Some("t0ken".into())).unwrap());
    let cfg = config_with(&s, ServiceRepository::History(history.clone()));
    let out = KubernetesSource::new("k8s", cfg).collect(None, &NoProgress).unwrap();
    let first = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:1").unwrap();
    assert_eq!(first.changes, std::slice::from_ref(&first_sha));
    let c1 = out.events.change(&first_sha).unwrap();
    assert_eq!(c1.committed_at.to_rfc3339(), "2016-11-08T14:30:13+00:00", "the recorded commit's time");
    let second = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:2").unwrap();
    assert_eq!(second.changes, [c2, c3], "oldest first");
    assert_eq!(out.events.change(c2).unwrap().committed_at.to_rfc3339(), "2026-11-01T09:00:00+00:00");
    assert_eq!(history.requests(), 2);
    let sent = s.received();
    assert!(
        sent.iter()
            .filter(|r| r.url.path().starts_with("/api/v4/"))
            .all(|r| r.headers.get("private-token").is_some_and(|v| v == "t0ken"))
    );
}

/// A history that does not know a commit leaves the rollout with its own
/// commit and says why, once per rollout.
#[cfg(feature = "github")]
#[test]
fn an_unknown_commit_leaves_a_note() {
    use std::sync::Arc;

    use dora_sources::github::GithubHistory;
    let (a, b) = ("a".repeat(40), "b".repeat(40));
    let s = MockApi::new();
    two_rollouts(&s, &a, &b);
    s.mount(Mock::given(method("GET")).and(path("/repos/acme/web/commits")).respond_with(
        ResponseTemplate::new(404).set_body_json(json!({"message": "No commit found for SHA"})),
    ));
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/compare/{a}...{b}")))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))),
    );
    let github = github_at(&s);
    let history = Arc::new(GithubHistory::new("acme/web", github, Some("t0ken".into())).unwrap());
    let cfg = config_with(&s, ServiceRepository::History(history));
    let out = KubernetesSource::new("k8s", cfg).collect(None, &NoProgress).unwrap();
    let second = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:2").unwrap();
    assert_eq!(second.changes, std::slice::from_ref(&b), "keeps its deployed commit");
    assert_eq!(
        out.notes.iter().filter(|n| n.contains("no change set") && n.contains("HTTP 404")).count(),
        2,
        "{:?}",
        out.notes
    );
    assert!(out.notes.iter().all(|n| !n.contains("t0ken")));
}

/// A Deployment rolled through three revisions, an undo of the third
/// (`kubectl rollout undo`: revision 2's ReplicaSet comes back as revision
/// 4) and a rollout that misses its progress deadline, seen by a collection
/// after each step (as a scheduled `dora collect` sees them). The engine
/// then reports: 4 deployments, revision 3 failed (remediated by the undo),
/// recovered when the undo finished, 1 rework (the undo) and 1 failed
/// attempt.
/// The figures of service `web` over `[from, until)`, and the engine's
/// warnings.
fn web_figures(
    store: &dora_core::EventSet,
    from: &str,
    until: &str,
) -> (dora_core::result::Figures, Vec<String>) {
    use dora_core::{GroupKind, Options, Window, compute};
    let window = Window::new(from.parse().unwrap(), until.parse().unwrap()).unwrap();
    let computation = compute(store, &Options::new(window)).unwrap();
    let web = computation.report.group(GroupKind::Service, "web").unwrap().summary.figures.clone();
    (web, computation.report.warnings)
}

#[test]
fn three_revisions_an_undo_and_a_failed_rollout_through_the_engine() {
    use dora_core::EventSet;
    let at = |h: u32| format!("2026-11-20T{h:02}:00:00Z");
    // The Deployment at revision `n`, its rollout done at `at(done)`, or
    // past its progress deadline at `at(deadline)`.
    let deployment = |n: u64, rs: &str, finished: u32, failed: bool| {
        let condition = if failed {
            json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                   "message": format!("ReplicaSet \"{rs}\" has timed out progressing."),
                   "lastUpdateTime": at(finished), "lastTransitionTime": at(finished)})
        } else {
            json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                   "message": format!("ReplicaSet \"{rs}\" has successfully progressed."),
                   "lastUpdateTime": at(finished), "lastTransitionTime": at(1)})
        };
        let (updated, available) = if failed { (1, 1) } else { (2, 2) };
        json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-web", "generation": n,
                "labels": {"app.kubernetes.io/name": "web"},
                "annotations": {"deployment.kubernetes.io/revision": n.to_string()}},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 600, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web"}]}}},
            "status": {"observedGeneration": n, "replicas": 2, "updatedReplicas": updated, "availableReplicas": available,
                       "conditions": [condition]}})
    };
    let owner = deployment(1, "web-1", 2, false);
    // ReplicaSet `name` at revision `n`, made at `at(created)`; `history`:
    // the revisions its template had before (an undo brings one back).
    let rs = |name: &str, n: u64, created: u32, version: &str, history: Option<&str>| {
        let mut r = replicaset(&owner, name, n, &at(created));
        r["metadata"]["labels"]["app.kubernetes.io/version"] = version.into();
        if let Some(h) = history {
            r["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = h.into();
        }
        r
    };
    let steps = [
        (deployment(1, "web-1", 2, false), vec![rs("web-1", 1, 1, "v1", None)]),
        (
            deployment(2, "web-2", 4, false),
            vec![rs("web-1", 1, 1, "v1", None), rs("web-2", 2, 3, "v2", None)],
        ),
        (
            deployment(3, "web-3", 6, false),
            vec![rs("web-1", 1, 1, "v1", None), rs("web-2", 2, 3, "v2", None), rs("web-3", 3, 5, "v3", None)],
        ),
        // v3 misbehaves: `kubectl rollout undo` brings web-2 back as revision 4.
        (
            deployment(4, "web-2", 8, false),
            vec![
                rs("web-1", 1, 1, "v1", None),
                rs("web-3", 3, 5, "v3", None),
                rs("web-2", 4, 3, "v2", Some("2")),
            ],
        ),
        // v5 never becomes available: the deadline passes.
        (
            deployment(5, "web-5", 11, true),
            vec![
                rs("web-1", 1, 1, "v1", None),
                rs("web-3", 3, 5, "v3", None),
                rs("web-2", 4, 3, "v2", Some("2")),
                rs("web-5", 5, 10, "v5", None),
            ],
        ),
    ];
    let s = MockApi::new();
    let mut source = KubernetesSource::new("k8s", {
        let mut cfg = config(&s.server.uri(), &["shop"]);
        cfg.argo_rollouts = false;
        cfg
    });
    let mut store = EventSet::new();
    let mut state = None;
    let mut recorded = Vec::new();
    for (workload, replicasets) in steps {
        s.rt.block_on(s.server.reset());
        let ns = "/apis/apps/v1/namespaces/shop";
        s.mount(
            Mock::given(method("GET"))
                .and(path(format!("{ns}/deployments")))
                .respond_with(list("Deployment", vec![workload])),
        );
        s.mount(
            Mock::given(method("GET"))
                .and(path(format!("{ns}/replicasets")))
                .respond_with(list("ReplicaSet", replicasets)),
        );
        let out = source.collect(state.as_ref(), &NoProgress).unwrap();
        let mut ids: Vec<String> = out
            .events
            .iter()
            .filter_map(|e| match e {
                dora_core::Event::Deployment(d) => Some(d.id),
                _ => None,
            })
            .collect();
        ids.sort();
        recorded.push(ids);
        store.extend(out.events.iter());
        state = Some(out.state);
    }
    let rev = |n: u32| format!("k8s:prod-eu/shop/Deployment/web:rev:{n}");
    assert_eq!(
        recorded,
        [vec![rev(1)], vec![rev(2)], vec![rev(3)], vec![rev(4)], vec![rev(5)]],
        "each revision once, when it finished"
    );
    let undo = store.deployment(&rev(4)).unwrap();
    assert_eq!(undo.deployment_type, DeploymentType::Rollback);
    assert_eq!(undo.remediates, [rev(3)]);
    assert_eq!(undo.finished_at.to_rfc3339(), "2026-11-20T08:00:00+00:00");
    let failed = store.deployment(&rev(5)).unwrap();
    assert_eq!(failed.status, DeploymentStatus::Failure);
    assert_eq!(failed.finished_at.to_rfc3339(), "2026-11-20T11:00:00+00:00", "when the deadline passed");

    let (web, _) = web_figures(&store, "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z");
    assert_eq!(web.deployments, 4, "revisions 1 to 4 went live");
    assert_eq!(web.failed_attempts, 1, "revision 5 never did");
    assert_eq!((web.change_failure_rate.failed, web.change_failure_rate.deployments), (1, 4));
    assert_eq!(web.change_failure_rate.rate, Some(0.25));
    assert_eq!(web.recovery_time.count, 1);
    assert_eq!(web.recovery_time.median, Some(2.0 * 3600.0), "revision 3 at 06:00, undone at 08:00");
    assert_eq!((web.rework_rate.rework, web.rework_rate.deployments), (1, 4));
    assert_eq!(web.rework_rate.rate, Some(0.25));
}

/// A forge that fails (a 502, after the retries) fails the run: nothing is
/// recorded, so the next run, once the forge answers, fills the change set
/// instead of leaving the rollout with its deployed commit for good.
#[cfg(feature = "github")]
#[test]
fn a_failing_forge_fails_the_run_and_the_next_run_fills_it() {
    use std::sync::Arc;

    use dora_sources::github::GithubHistory;
    let (a, b) = ("a".repeat(40), "b".repeat(40));
    let s = MockApi::new();
    let mount_cluster_and_commits = |s: &MockApi| {
        two_rollouts(s, &a, &b);
        s.mount(
            Mock::given(method("GET"))
                .and(path("/repos/acme/web/commits"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"sha": a,
                    "commit": {"committer": {"date": "2026-11-01T10:00:00Z"}}}]))),
        );
    };
    mount_cluster_and_commits(&s);
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/compare/{a}...{b}")))
            .respond_with(ResponseTemplate::new(502)),
    );
    let mut github = github_at(&s);
    github.retry_base = std::time::Duration::from_millis(1);
    let history = Arc::new(GithubHistory::new("acme/web", github, Some("t0ken".into())).unwrap());
    let cfg = config_with(&s, ServiceRepository::History(history.clone()));
    let mut source = KubernetesSource::new("k8s", cfg);
    let err = source.collect(None, &NoProgress).unwrap_err().to_string();
    assert!(
        err.contains("k8s:prod-eu/shop/Deployment/web:rev:2: its change set") && err.contains("HTTP 502"),
        "{err}"
    );
    // The forge is back.
    s.rt.block_on(s.server.reset());
    mount_cluster_and_commits(&s);
    s.mount(
        Mock::given(method("GET")).and(path(format!("/repos/acme/web/compare/{a}...{b}"))).respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": "ahead", "ahead_by": 1, "behind_by": 0,
                "total_commits": 1, "commits": [{"sha": b, "commit": {"committer": {"date": "2026-11-02T10:00:00Z"}}}]})),
        ),
    );
    let out = source.collect(None, &NoProgress).unwrap();
    let second = out.events.deployment("k8s:prod-eu/shop/Deployment/web:rev:2").unwrap();
    assert_eq!(second.changes, std::slice::from_ref(&b));
    assert!(out.events.change(&b).is_some());
    // 2 Kubernetes lists and the comparison; the first rollout's commit
    // was kept from the first run.
    assert_eq!(out.requests, 3);
}

/// `dora watch` with a history that fails at first: the finished revision
/// waits (it is not recorded without its change set) and is recorded, with
/// its change set, once the history answers.
#[test]
fn the_watcher_waits_for_a_change_set_that_failed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use dora_sources::changesets::{CommitHistory, HistoryCommit, HistoryFuture, HistoryRange};

    /// Fails its first two answers, then knows every commit.
    #[derive(Debug, Default)]
    struct Flaky(AtomicUsize);
    impl CommitHistory for Flaky {
        fn between<'a>(&'a self, _: Option<&'a str>, to: &'a str, _: usize) -> HistoryFuture<'a> {
            let answer = if self.0.fetch_add(1, Ordering::Relaxed) < 2 {
                Err(dora_core::Error::Source { message: "HTTP 503".into() })
            } else {
                Ok(HistoryRange::Commits(vec![HistoryCommit {
                    sha: format!("{to}-full"),
                    committed_at: "2026-11-20T00:00:00Z".parse().unwrap(),
                    authored_at: None,
                }]))
            };
            Box::pin(std::future::ready(answer))
        }
    }

    let s = MockApi::new();
    let mut deployment = web(false);
    deployment["metadata"]["labels"] = json!({"app.kubernetes.io/name": "web"});
    let ns = "/apis/apps/v1/namespaces/shop";
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param_is_missing("watch"))
            .respond_with(list("Deployment", vec![deployment.clone()])),
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/replicasets")))
            .and(query_param_is_missing("watch"))
            .respond_with(list(
                "ReplicaSet",
                vec![replicaset(&deployment, "web-2", 2, "2026-11-24T08:00:00Z")],
            )),
    );
    quiet_watches(&s);
    let flaky = Arc::new(Flaky::default());
    let mut cfg = config_with(&s, ServiceRepository::History(flaky.clone()));
    cfg.retry_base = std::time::Duration::from_millis(10);
    let batches: Arc<Mutex<Vec<dora_core::EventSet>>> = Arc::default();
    let sunk = batches.clone();
    let sink = move |events: dora_core::EventSet, _: dora_core::store::SyncState| {
        sunk.lock().unwrap().push(events);
        Ok(())
    };
    let seen = batches.clone();
    let started = std::time::Instant::now();
    let stop = async move {
        while seen.lock().unwrap().is_empty() && started.elapsed() < std::time::Duration::from_secs(20) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    dora_sources::kubernetes::watch::watch(&cfg, None, &NoProgress, sink, stop).unwrap();
    let batches = batches.lock().unwrap();
    assert_eq!(batches.len(), 1, "recorded once, after the history answered");
    let d = batches[0].deployment("k8s:prod-eu/shop/Deployment/web:rev:2").unwrap();
    assert_eq!(d.changes, ["v2-full"], "with its change set");
    assert!(flaky.0.load(Ordering::Relaxed) >= 3, "asked again after failing");
}

/// The Deployment `web` in namespace `shop` at revision `n`: done rolling
/// out ReplicaSet `rs` at `done`, or still rolling it out (`None`).
fn web_at(n: u64, rs: &str, done: Option<&str>, resource_version: &str) -> Value {
    let status = match done {
        Some(done) => {
            json!({"observedGeneration": n, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                            "message": format!("ReplicaSet \"{rs}\" has successfully progressed."),
                            "lastUpdateTime": done, "lastTransitionTime": "2026-11-01T12:00:00Z"}]})
        }
        None => json!({"observedGeneration": n, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                            "message": format!("ReplicaSet \"{rs}\" is progressing.")}]}),
    };
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-web", "generation": n,
                     "resourceVersion": resource_version, "labels": {"app.kubernetes.io/name": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": n.to_string()}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web"}]}}},
        "status": status})
}

/// `web`'s ReplicaSet `web-<i>`, made on day `i` of November 2026 at noon,
/// at revision `i`, deploying commit `version`.
fn web_rs(i: u64, version: &str) -> Value {
    let mut r =
        replicaset(&web_at(1, "", None, "1"), &format!("web-{i}"), i, &format!("2026-11-0{i}T12:00:00Z"));
    r["apiVersion"] = "apps/v1".into();
    r["kind"] = "ReplicaSet".into();
    r["metadata"]["resourceVersion"] = "10".into();
    r["metadata"]["labels"]["app.kubernetes.io/version"] = version.into();
    r
}

/// What `kubectl rollout undo` makes the controller do to the ReplicaSet
/// it brings back (as the recorded `rollout.argoproj.io/revision-history`
/// shows for Argo Rollouts): revision `n`, the former one appended to its
/// revision history; its creation stays.
fn undo(rs: &Value, n: u64) -> Value {
    let mut rs = rs.clone();
    let a = &mut rs["metadata"]["annotations"];
    let former = a["deployment.kubernetes.io/revision"].as_str().unwrap().to_string();
    a["deployment.kubernetes.io/revision-history"] =
        match a["deployment.kubernetes.io/revision-history"].as_str() {
            Some(h) => format!("{h},{former}"),
            None => former,
        }
        .into();
    a["deployment.kubernetes.io/revision"] = n.to_string().into();
    rs
}

/// Serves one Deployment and its ReplicaSets in namespace `shop` (lists
/// only; the ReplicaSets a little late, as a slow page would be).
fn serve(s: &MockApi, deployment: &Value, replicasets: &[Value]) {
    let ns = "/apis/apps/v1/namespaces/shop";
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param_is_missing("watch"))
            .respond_with(list("Deployment", vec![deployment.clone()])),
    );
    let page = list("ReplicaSet", replicasets.to_vec());
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/replicasets")))
            .and(query_param_is_missing("watch"))
            .respond_with(move |r: &Request| page(r).set_delay(std::time::Duration::from_millis(300))),
    );
}

fn deployments(set: &dora_core::EventSet) -> Vec<dora_core::Deployment> {
    set.iter()
        .filter_map(|e| match e {
            dora_core::Event::Deployment(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// Revisions 1, 2 and 3 of `web` (commits c1..c3, a day apart), then
/// `kubectl rollout undo` (revision 2's ReplicaSet back as 4), an undo of
/// the undo (3's as 5) and one more (2's as 6, its history `2,4`), with a
/// local clone for change sets. The first collection runs after the first
/// undo: revision 2 is there, with its own change set, and revision 3 ships
/// c3 alone. Then each undo is one more rollback. A collection without the
/// sync state gives the recorded older revisions back unchanged.
#[test]
fn undos_through_collections_and_the_engine() {
    use dora_core::EventSet;
    let repo = tempfile::tempdir().unwrap();
    let shas = git_repository(repo.path(), 3);
    let rev = |n: u64| format!("k8s:prod-eu/shop/Deployment/web:rev:{n}");
    let [rs1, rs2, rs3] = [1, 2, 3].map(|i| web_rs(i, &shas[i as usize - 1]));
    let steps = [
        (
            web_at(4, "web-2", Some("2026-11-03T15:00:00Z"), "4"),
            vec![rs1.clone(), rs3.clone(), undo(&rs2, 4)],
        ),
        (
            web_at(5, "web-3", Some("2026-11-04T10:00:00Z"), "5"),
            vec![rs1.clone(), undo(&rs3, 5), undo(&rs2, 4)],
        ),
        (
            web_at(6, "web-2", Some("2026-11-05T10:00:00Z"), "6"),
            vec![rs1.clone(), undo(&rs3, 5), undo(&undo(&rs2, 4), 6)],
        ),
    ];
    let s = MockApi::new();
    let cfg = config_with(&s, ServiceRepository::Clone(repo.path().to_path_buf()));
    let mut source = KubernetesSource::new("k8s", cfg);
    let mut store = EventSet::new();
    let mut state = None;
    let mut recorded = Vec::new();
    for (workload, replicasets) in &steps {
        s.rt.block_on(s.server.reset());
        serve(&s, workload, replicasets);
        let out = source.collect(state.as_ref(), &NoProgress).unwrap();
        recorded.push(deployments(&out.events).into_iter().map(|d| d.id).collect::<Vec<_>>());
        store.extend(out.events.iter());
        state = Some(out.state);
    }
    assert_eq!(recorded, [vec![rev(1), rev(2), rev(3), rev(4)], vec![rev(5)], vec![rev(6)]]);
    let d = |n: u64| store.deployment(&rev(n)).unwrap();
    assert_eq!(d(2).finished_at.to_rfc3339(), "2026-11-02T12:00:00+00:00", "its ReplicaSet's creation");
    assert_eq!(d(2).deployment_type, DeploymentType::Regular);
    assert_eq!(d(1).changes, [shas[0].clone()], "the first rollout seen: its own commit");
    assert_eq!(d(2).changes, [shas[1].clone()], "c1..c2");
    assert_eq!(d(3).changes, [shas[2].clone()], "c2..c3, not c1..c3");
    for (n, finished) in [(4, "2026-11-03T15:00:00"), (5, "2026-11-04T10:00:00"), (6, "2026-11-05T10:00:00")]
    {
        assert_eq!(d(n).deployment_type, DeploymentType::Rollback, "revision {n}");
        assert_eq!(d(n).remediates, [rev(n - 1)], "revision {n}");
        assert!(d(n).changes.is_empty(), "revision {n}: a rollback ships nothing");
        assert_eq!(
            d(n).finished_at.to_rfc3339(),
            format!("{finished}+00:00"),
            "revision {n}: its rollout's end"
        );
    }

    // Collected again from scratch after the last undo: the revisions that
    // were older ones when recorded come out the same; 4 and 5 (recorded
    // when current, at their rollout's end) are now older ones, timed no
    // earlier than revision 3 (their ReplicaSets' creations are 2's and 3's).
    let fresh = source.collect(None, &NoProgress).unwrap();
    let again: Vec<dora_core::Deployment> = deployments(&fresh.events);
    assert_eq!(again.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), (1..=6).map(rev).collect::<Vec<_>>());
    for n in [1, 2, 3, 6] {
        assert_eq!(again[n as usize - 1], d(n), "revision {n}");
    }
    for n in [4, 5] {
        assert_eq!(again[n as usize - 1].finished_at.to_rfc3339(), "2026-11-03T12:00:00+00:00");
        assert_eq!(again[n as usize - 1].remediates, [rev(n - 1)]);
    }

    let (web, warnings) = web_figures(&store, "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z");
    assert_eq!(web.deployments, 6, "every revision went live");
    assert_eq!(web.deploy_days, 5, "revision 2 went live on a day of its own");
    assert_eq!(web.lead_time.count, 3);
    assert_eq!(web.lead_time.median, Some(2.0 * 3600.0), "each commit shipped 2 h after it was made");
    assert_eq!((web.change_failure_rate.failed, web.change_failure_rate.deployments), (3, 6));
    assert_eq!((web.rework_rate.rework, web.rework_rate.deployments), (3, 6));
    assert_eq!(web.recovery_time.count, 3);
    assert_eq!(web.recovery_time.median, Some(19.0 * 3600.0), "3 h, 19 h and 24 h");
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// `dora watch` and `dora collect` give the same events for undos. The
/// watcher lists `web` after an undo of an undo (its ReplicaSets over two
/// pages, the Deployment listed first: no revision is judged on the first
/// page alone), then sees the controller relabel revision 2's ReplicaSet as
/// 6 (history `2,4`) before the Deployment says so (not finished yet), then
/// the Deployment roll out revision 6.
#[test]
fn the_watcher_records_undos_as_collect_does() {
    use std::sync::{Arc, Mutex};
    let s = MockApi::new();
    let [rs1, rs2, rs3] = [1, 2, 3].map(|i| web_rs(i, &format!("v{i}")));
    let listed = vec![rs1.clone(), undo(&rs2, 4), undo(&rs3, 5)];
    let at_5 = web_at(5, "web-3", Some("2026-11-04T10:00:00Z"), "5");
    serve(&s, &at_5, &listed);
    let mut cfg = config(&s.server.uri(), &["shop"]);
    cfg.argo_rollouts = false;
    cfg.retry_base = std::time::Duration::from_millis(20);
    // What `dora collect` records of the same cluster.
    let mut collector = KubernetesSource::new("k8s", cfg.clone());
    let before = collector.collect(None, &NoProgress).unwrap();
    assert_eq!(before.events.count(EventKind::Deployment), 5);

    let ns = "/apis/apps/v1/namespaces/shop";
    let mut relabelled = undo(&undo(&rs2, 4), 6);
    relabelled["metadata"]["resourceVersion"] = "1001".into();
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/replicasets")))
            .and(query_param("watch", "true"))
            .and(query_param("resourceVersion", "1000"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                format!("{}\n", json!({"type": "MODIFIED", "object": relabelled})).into_bytes(),
                "application/json",
            ))
            .up_to_n_times(1)
            .with_priority(1),
    );
    let done = "2026-11-05T10:00:00Z";
    let rollout = format!(
        "{}\n{}\n",
        json!({"type": "MODIFIED", "object": web_at(6, "web-2", None, "1002")}),
        json!({"type": "MODIFIED", "object": web_at(6, "web-2", Some(done), "1003")})
    );
    s.mount(
        Mock::given(method("GET"))
            .and(path(format!("{ns}/deployments")))
            .and(query_param("watch", "true"))
            .and(query_param("resourceVersion", "1000"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(rollout.into_bytes(), "application/json")
                    .set_delay(std::time::Duration::from_millis(1500)),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    quiet_watches(&s);
    let batches: Arc<Mutex<Vec<Vec<dora_core::Deployment>>>> = Arc::default();
    let sunk = batches.clone();
    let sink = move |events: dora_core::EventSet, _: dora_core::store::SyncState| {
        sunk.lock().unwrap().push(deployments(&events));
        Ok(())
    };
    let seen = batches.clone();
    let started = std::time::Instant::now();
    let stop = async move {
        let rev_6 = |b: &Vec<dora_core::Deployment>| b.iter().any(|d| d.id.ends_with(":rev:6"));
        while !seen.lock().unwrap().iter().any(rev_6)
            && started.elapsed() < std::time::Duration::from_secs(20)
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    dora_sources::kubernetes::watch::watch(&cfg, None, &NoProgress, sink, stop).unwrap();
    let batches = batches.lock().unwrap().clone();
    let (listed, rolled_out): (Vec<_>, Vec<_>) =
        batches.concat().into_iter().partition(|d| !d.id.ends_with(":rev:6"));
    assert_eq!(listed, deployments(&before.events), "the list: as collect records it");
    assert_eq!(batches.last().unwrap(), &rolled_out, "then revision 6 alone: {batches:?}");

    // Collect after the rollout, with the first collection's state.
    s.rt.block_on(s.server.reset());
    serve(&s, &web_at(6, "web-2", Some(done), "7"), &[rs1, relabelled, undo(&rs3, 5)]);
    let after = collector.collect(Some(&before.state), &NoProgress).unwrap();
    assert_eq!(rolled_out, deployments(&after.events), "revision 6: as collect records it");
    assert_eq!(rolled_out[0].finished_at.to_rfc3339(), "2026-11-05T10:00:00+00:00", "when it rolled out");
    assert_eq!(rolled_out[0].deployment_type, DeploymentType::Rollback);
}
