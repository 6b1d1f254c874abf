//! Revisions to deployment events, on the recorded objects of
//! `../shared/fixtures/peer/k8s_*` (read from there, never copied; skipped
//! with a note when absent).

use std::path::PathBuf;

use super::*;

fn peer(rel: &str) -> Option<Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/peer").join(rel);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(serde_json::from_str(&t).unwrap()),
        Err(_) => {
            eprintln!("note: {} is absent; this check is skipped", p.display());
            None
        }
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A ReplicaSet of `owner` at revision `n`, as the controller makes them.
fn replicaset(owner: &Value, name: &str, n: u64, created: &str, history: Option<&str>) -> Value {
    let mut annotations = serde_json::json!({"deployment.kubernetes.io/revision": n.to_string()});
    if let Some(h) = history {
        annotations["deployment.kubernetes.io/revision-history"] = h.into();
    }
    serde_json::json!({"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations,
        "labels": {"app.kubernetes.io/version": format!("v{n}")},
        "ownerReferences": [{"kind": "Deployment", "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": format!("nginx:1.{n}")}]}}}})
}

#[test]
fn a_healthy_deployment_and_its_history() {
    let Some(nginx) = peer("k8s_gitops_engine_health/json/nginx.json") else { return };
    let naming = Naming::new("prod-eu", "production");
    let rs = [replicaset(&nginx, "nginx-deployment-648fdd98d4", 1, "2018-07-05T09:29:50Z", None)];
    let events = revision_events(&naming, WorkloadKind::Deployment, &nginx, &rs);
    let d = events[0].deployment.as_ref().unwrap();
    assert_eq!(d.id, "k8s:prod-eu/default/Deployment/nginx-deployment:rev:1");
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.finished_at, at("2018-07-05T09:30:09Z"), "when the new ReplicaSet became available");
    assert_eq!(d.started_at, Some(at("2018-07-05T09:29:50Z")));
    assert_eq!(d.service, "nginx-deployment", "no app.kubernetes.io/name label: the workload's name");
    assert_eq!(d.commit.as_deref(), Some("v1"));
    assert_eq!(d.changes, ["v1"]);
    assert_eq!(d.source.as_deref(), Some("kubernetes"));
    assert_eq!(d.environment, "production");
    // A namespace that deploys elsewhere.
    let mut staging = naming.clone();
    staging.namespace_environments.insert("default".into(), "staging".into());
    let events = revision_events(&staging, WorkloadKind::Deployment, &nginx, &rs);
    assert_eq!(events[0].deployment.as_ref().unwrap().environment, "staging");
}

#[test]
fn a_progress_deadline_is_a_failure_and_a_reused_template_a_rollback() {
    let Some(mut guestbook) = peer("k8s_gitops_engine_health/json/deployment-degraded.json") else { return };
    guestbook["metadata"]["labels"] =
        serde_json::json!({"app.kubernetes.io/name": "guestbook", "team": "web"});
    let mut naming = Naming::new("prod-eu", "production");
    naming.team_label = Some("team".into());
    let rs = [
        replicaset(&guestbook, "guestbook-ui-1", 1, "2018-07-01T10:00:00Z", None),
        replicaset(&guestbook, "guestbook-ui-2", 2, "2018-07-02T10:00:00Z", None),
        // Revision 1's template again (`kubectl rollout undo`).
        replicaset(&guestbook, "guestbook-ui-1", 3, "2018-07-01T10:00:00Z", Some("1")),
        replicaset(&guestbook, "guestbook-ui-75dd4d49d5", 4, "2018-07-18T06:19:00Z", None),
        // Not the Deployment's.
        serde_json::json!({"metadata": {"name": "other", "annotations": {"deployment.kubernetes.io/revision": "9"},
            "ownerReferences": [{"uid": "someone-else"}]}}),
    ];
    let mut rs = rs;
    rs[2]["metadata"]["annotations"][CHANGE_CAUSE] = "kubectl rollout undo deployment/guestbook-ui".into();
    guestbook["metadata"]["annotations"][CHANGE_CAUSE] =
        "kubectl set image deployment/guestbook-ui ui=ui:4".into();
    let events = revision_events(&naming, WorkloadKind::Deployment, &guestbook, &rs);
    assert_eq!(events.iter().map(|e| e.revision).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let d = |i: usize| events[i].deployment.as_ref().unwrap();
    assert_eq!(d(0).service, "guestbook");
    assert_eq!(d(0).team.as_deref(), Some("web"));
    let rollback = d(2);
    assert_eq!(rollback.deployment_type, DeploymentType::Rollback);
    assert_eq!(rollback.remediates, ["k8s:prod-eu/default/Deployment/guestbook-ui:rev:2"]);
    assert_eq!(rollback.started_at, None, "a reused ReplicaSet's creation is the earlier rollout's");
    // change-cause: each ReplicaSet's own, else (current revision only) the workload's.
    assert_eq!(rollback.note.as_deref(), Some("kubectl rollout undo deployment/guestbook-ui"));
    assert_eq!(d(0).note, None);
    assert_eq!(d(3).note.as_deref(), Some("kubectl set image deployment/guestbook-ui ui=ui:4"));
    let failed = d(3);
    assert_eq!(failed.status, DeploymentStatus::Failure);
    assert_eq!(failed.finished_at, at("2018-07-18T06:29:23Z"), "when the deadline passed");
    assert!(failed.changes.is_empty(), "a failure ships nothing");
    // The same Deployment still progressing: its current revision has no event yet.
    let progressing = peer("k8s_gitops_engine_health/json/deployment-progressing.json").unwrap();
    let events = revision_events(&naming, WorkloadKind::Deployment, &progressing, &rs[3..4]);
    assert_eq!(events[0].deployment, None);
}

#[test]
fn argo_rollouts_revisions() {
    let Some(rollout) = peer("k8s_argo_rollouts/json/canary/canary-rollout.json") else { return };
    let rs: Vec<Value> = ["canary-rs.json", "stable-rs.json", "old-rs.json"]
        .iter()
        .map(|f| peer(&format!("k8s_argo_rollouts/json/canary/{f}")).unwrap())
        .collect();
    let mut naming = Naming::new("gke", "production");
    naming.image_commit = Some(Regex::new(r":([^:@]+)$").unwrap());
    let events = revision_events(&naming, WorkloadKind::Rollout, &rollout, &rs);
    assert_eq!(events.iter().map(|e| e.revision).collect::<Vec<_>>(), [29, 30, 31]);
    let d = |i: usize| events[i].deployment.as_ref().unwrap();
    assert_eq!(d(0).id, "k8s:gke/jesse-test/Rollout/canary-demo:rev:29");
    assert_eq!(d(0).finished_at, at("2019-10-26T09:16:20Z"), "history only: the ReplicaSet's creation");
    // Revision 30 deployed the template of 26 and 28 again.
    assert_eq!(d(1).deployment_type, DeploymentType::Rollback);
    assert_eq!(d(1).remediates, ["k8s:gke/jesse-test/Rollout/canary-demo:rev:29"]);
    assert_eq!(d(1).commit.as_deref(), Some("green"));
    // 31 is past its progress deadline: a failure.
    assert_eq!(d(2).status, DeploymentStatus::Failure);
    assert_eq!(d(2).finished_at, at("2019-10-28T04:52:55Z"));
    assert_eq!(d(2).commit.as_deref(), Some("does-not-exist"));

    // An aborted rollout fails at its abort.
    let aborted = peer("k8s_argo_rollouts/json/rollout-aborted/rollout.json").unwrap();
    let rs: Vec<Value> = ["rs1.json", "rs2.json"]
        .iter()
        .map(|f| peer(&format!("k8s_argo_rollouts/json/rollout-aborted/{f}")).unwrap())
        .collect();
    let events = revision_events(&naming, WorkloadKind::Rollout, &aborted, &rs);
    let last = events.last().unwrap().deployment.as_ref().unwrap();
    assert_eq!(last.status, DeploymentStatus::Failure);
    assert_eq!(last.finished_at, at("2020-09-22T09:10:05Z"));
    assert_eq!(events[0].deployment.as_ref().unwrap().status, DeploymentStatus::Success);
}

#[test]
fn credentials_in_a_change_cause_are_blanked() {
    for (cause, kept) in [
        (
            "kubectl set image deployment/web web=web:2 --token=eyJhbGciOi --record=true",
            "kubectl set image deployment/web web=web:2 --token=*** --record=true",
        ),
        (
            "kubectl apply -f web.yaml --password s3cret --server https://k8s",
            "kubectl apply -f web.yaml --password *** --server https://k8s",
        ),
        ("curl -H Authorization: Bearer abc.def.ghi", "curl -H Authorization: Bearer ***"),
        ("deploy 3f2c1ab by pipeline 48211", "deploy 3f2c1ab by pipeline 48211"),
        (
            "kubectl --client-key=/tmp/k --client-certificate /tmp/c apply",
            "kubectl --client-key=*** --client-certificate *** apply",
        ),
    ] {
        assert_eq!(redact_credentials(cause), kept);
    }
    let rs = serde_json::json!({"metadata": {"annotations": {CHANGE_CAUSE: "kubectl rollout undo deployment/web --token abc"}}});
    assert_eq!(change_cause(&rs).as_deref(), Some("kubectl rollout undo deployment/web --token ***"));
}
