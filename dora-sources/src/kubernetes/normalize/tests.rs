//! Revisions to deployment events, on the recorded objects of
//! `../shared/fixtures/peer/k8s_*` (read from there, never copied; skipped
//! with a note when absent).

use super::*;

fn peer(rel: &str) -> Option<Value> {
    crate::test_support::peer_json(rel)
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
        // Revision 1's template again (`kubectl rollout undo`); listed
        // twice, as before and after the undo: revision 1 is the first's
        // current revision, which wins over the second's history entry.
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

/// The recorded canary Rollout, its three ReplicaSets, and naming that
/// takes the commit from the image tag (`None` without `../shared`).
fn canary_rollout() -> Option<(Value, Vec<Value>, Naming)> {
    let rollout = peer("k8s_argo_rollouts/json/canary/canary-rollout.json")?;
    let rs: Vec<Value> = ["canary-rs.json", "stable-rs.json", "old-rs.json"]
        .iter()
        .map(|f| peer(&format!("k8s_argo_rollouts/json/canary/{f}")).unwrap())
        .collect();
    let mut naming = Naming::new("gke", "production");
    naming.image_commit = Some(Regex::new(r":([^:@]+)$").unwrap());
    Some((rollout, rs, naming))
}

#[test]
fn argo_rollouts_revisions() {
    let Some((rollout, rs, naming)) = canary_rollout() else { return };
    let events = revision_events(&naming, WorkloadKind::Rollout, &rollout, &rs);
    // 26 and 28 from the stable ReplicaSet's revision history (see
    // `argo_rollouts_revision_histories`).
    assert_eq!(events.iter().map(|e| e.revision).collect::<Vec<_>>(), [26, 28, 29, 30, 31]);
    let d = |i: usize| events[i].deployment.as_ref().unwrap();
    assert_eq!(d(2).id, "k8s:gke/jesse-test/Rollout/canary-demo:rev:29");
    assert_eq!(d(2).finished_at, at("2019-10-26T09:16:20Z"), "history only: the ReplicaSet's creation");
    // Revision 30 deployed the template of 26 and 28 again.
    assert_eq!(d(3).deployment_type, DeploymentType::Rollback);
    assert_eq!(d(3).remediates, ["k8s:gke/jesse-test/Rollout/canary-demo:rev:29"]);
    assert_eq!(d(3).commit.as_deref(), Some("green"));
    // 31 is past its progress deadline: a failure.
    assert_eq!(d(4).status, DeploymentStatus::Failure);
    assert_eq!(d(4).finished_at, at("2019-10-28T04:52:55Z"));
    assert_eq!(d(4).commit.as_deref(), Some("does-not-exist"));

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

/// A healthy apps/v1 Deployment at revision `n`, whose ReplicaSet `rs`
/// finished rolling out at `done` (the `Progressing` condition the
/// controller writes, as in the recorded `nginx.json`).
fn deployment_at(base: &Value, n: u64, rs: &str, done: &str) -> Value {
    let mut d = base.clone();
    d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = n.to_string().into();
    d["metadata"]["generation"] = n.into();
    d["status"] = serde_json::json!({"observedGeneration": n, "replicas": 1, "updatedReplicas": 1,
        "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "lastUpdateTime": "2026-11-01T12:01:00Z", "lastTransitionTime": "2026-11-01T12:01:00Z"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": format!("ReplicaSet \"{rs}\" has successfully progressed."),
             "lastUpdateTime": done, "lastTransitionTime": "2026-11-01T12:00:00Z"}]});
    d
}

/// What the controller does to the ReplicaSet an undo brings back: its
/// revision becomes `n` and its former one is appended to its revision
/// history; its creation (and template) stay.
fn undo(rs: &Value, kind: WorkloadKind, n: u64) -> Value {
    let mut rs = rs.clone();
    let annotations = &mut rs["metadata"]["annotations"];
    let former = annotations[kind.revision_key()].as_str().unwrap().to_string();
    let history = match annotations[kind.history_key()].as_str() {
        Some(h) if !h.is_empty() => format!("{h},{former}"),
        _ => former,
    };
    annotations[kind.history_key()] = history.into();
    annotations[kind.revision_key()] = n.to_string().into();
    rs
}

fn by_revision(events: &[RevisionEvent]) -> std::collections::BTreeMap<u64, Option<Deployment>> {
    events.iter().map(|e| (e.revision, e.deployment.clone())).collect()
}

/// The recorded `nginx-deployment` rolled to revisions 1, 2 and 3 (a day
/// apart), then `kubectl rollout undo` twice and once more: revision 2's
/// ReplicaSet comes back as 4, revision 3's as 5, revision 2's again as 6
/// (its history now `2,4`). Every revision is a deployment; the undos are
/// rollbacks of the revision before; an event seen once as an older
/// revision comes out identical in every later collection.
#[test]
fn undos_keep_every_revision_they_relabel() {
    let Some(nginx) = peer("k8s_gitops_engine_health/json/nginx.json") else { return };
    let kind = WorkloadKind::Deployment;
    let naming = Naming::new("prod-eu", "production");
    let rs1 = replicaset(&nginx, "nginx-deployment-1", 1, "2026-11-01T12:00:00Z", None);
    let rs2 = replicaset(&nginx, "nginx-deployment-2", 2, "2026-11-02T12:00:00Z", None);
    let rs3 = replicaset(&nginx, "nginx-deployment-3", 3, "2026-11-03T12:00:00Z", None);
    let rs2_4 = undo(&rs2, kind, 4);
    let rs3_5 = undo(&rs3, kind, 5);
    let rs2_6 = undo(&rs2_4, kind, 6);
    assert_eq!(rs2_6["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"], "2,4");
    let steps = [
        (deployment_at(&nginx, 3, "nginx-deployment-3", "2026-11-03T12:05:00Z"), vec![&rs1, &rs2, &rs3]),
        (deployment_at(&nginx, 4, "nginx-deployment-2", "2026-11-03T15:00:00Z"), vec![&rs1, &rs3, &rs2_4]),
        (deployment_at(&nginx, 5, "nginx-deployment-3", "2026-11-04T10:00:00Z"), vec![&rs1, &rs3_5, &rs2_4]),
        (deployment_at(&nginx, 6, "nginx-deployment-2", "2026-11-05T10:00:00Z"), vec![&rs1, &rs3_5, &rs2_6]),
    ];
    let seen: Vec<_> = steps
        .iter()
        .map(|(workload, rs)| {
            let rs: Vec<Value> = rs.iter().map(|r| (*r).clone()).collect();
            by_revision(&revision_events(&naming, kind, workload, &rs))
        })
        .collect();
    let revisions = |s: &std::collections::BTreeMap<u64, _>| s.keys().copied().collect::<Vec<_>>();
    assert_eq!(revisions(&seen[0]), [1, 2, 3]);
    assert_eq!(revisions(&seen[1]), [1, 2, 3, 4], "revision 2 is not lost to the undo");
    assert_eq!(revisions(&seen[2]), [1, 2, 3, 4, 5]);
    assert_eq!(revisions(&seen[3]), [1, 2, 3, 4, 5, 6]);

    let last = &seen[3];
    let d = |n: u64| last[&n].as_ref().unwrap();
    let rev = |n: u64| format!("k8s:prod-eu/default/Deployment/nginx-deployment:rev:{n}");
    // Revision 2: the ReplicaSet's own rollout, at its creation.
    assert_eq!(d(2).deployment_type, DeploymentType::Regular);
    assert_eq!(d(2).finished_at, at("2026-11-02T12:00:00Z"));
    assert_eq!(d(2).started_at, Some(at("2026-11-02T12:00:00Z")));
    assert_eq!(d(2).commit.as_deref(), Some("v2"));
    assert_eq!(d(2).changes, ["v2"]);
    // The undos: rollbacks of the revision before, shipping nothing.
    for n in [4, 5, 6] {
        assert_eq!(d(n).deployment_type, DeploymentType::Rollback, "revision {n}");
        assert_eq!(d(n).remediates, [rev(n - 1)], "revision {n}");
        assert!(d(n).changes.is_empty(), "revision {n} ships nothing");
        assert_eq!(d(n).started_at, None, "revision {n}");
    }
    assert_eq!(d(4).commit.as_deref(), Some("v2"));
    assert_eq!(d(5).commit.as_deref(), Some("v3"));
    assert_eq!(d(6).commit.as_deref(), Some("v2"));
    // Revision 4 went live after revision 3 (when, the cluster no longer
    // says): not at its ReplicaSet's creation (revision 2's), which would
    // put the rollback before the revision it remediates.
    assert_eq!(d(4).finished_at, at("2026-11-03T12:00:00Z"), "no earlier than revision 3");
    assert_eq!(d(5).finished_at, at("2026-11-03T12:00:00Z"));
    assert_eq!(d(6).finished_at, at("2026-11-05T10:00:00Z"), "the current one: its rollout's end");
    let times: Vec<_> = last.values().map(|d| d.as_ref().unwrap().finished_at).collect();
    assert!(times.is_sorted(), "in the order they went live: {times:?}");
    // The current rollback, when it was current: timed by its rollout.
    let undo_4 = seen[1][&4].as_ref().unwrap();
    assert_eq!(undo_4.finished_at, at("2026-11-03T15:00:00Z"));
    assert_eq!(undo_4.remediates, [rev(3)]);

    // Stable: a revision that was an older one in a collection comes out
    // the same in every later one (same id, time, type, change set).
    for (k, step) in seen.iter().enumerate() {
        let current = revision_of(&steps[k].0, kind).unwrap();
        for (n, event) in step.iter().filter(|(n, _)| **n < current) {
            for later in &seen[k + 1..] {
                assert_eq!(&later[n], event, "revision {n}, first seen in step {k}");
            }
        }
    }
}

/// The race the watcher sees: the controller relabels the ReplicaSet an
/// undo brings back before it updates the Deployment's revision. Until the
/// Deployment catches up, the new revision is not finished; the one its
/// history names is.
#[test]
fn a_revision_newer_than_the_workload_is_still_rolling_out() {
    let Some(nginx) = peer("k8s_gitops_engine_health/json/nginx.json") else { return };
    let kind = WorkloadKind::Deployment;
    let naming = Naming::new("prod-eu", "production");
    let rs2 = replicaset(&nginx, "nginx-deployment-2", 2, "2026-11-02T12:00:00Z", None);
    let rs = [
        replicaset(&nginx, "nginx-deployment-1", 1, "2026-11-01T12:00:00Z", None),
        undo(&rs2, kind, 4),
        replicaset(&nginx, "nginx-deployment-3", 3, "2026-11-03T12:00:00Z", None),
    ];
    let at_3 = deployment_at(&nginx, 3, "nginx-deployment-3", "2026-11-03T12:05:00Z");
    let events = by_revision(&revision_events(&naming, kind, &at_3, &rs));
    assert_eq!(events.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(events[&4], None, "rolling out");
    assert_eq!(events[&3].as_ref().unwrap().finished_at, at("2026-11-03T12:05:00Z"), "still the current one");
    assert_eq!(events[&2].as_ref().unwrap().deployment_type, DeploymentType::Regular);
}

#[test]
fn malformed_revision_histories_are_read_leniently() {
    let kind = WorkloadKind::Deployment;
    let owner = serde_json::json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-web"}});
    let history = |h: &str| {
        let rs = replicaset(&owner, "web-x", 5, "2026-11-01T00:00:00Z", Some(h));
        revision_history(&rs, kind)
    };
    assert_eq!(history("2,x"), [2], "what is not a number is ignored");
    assert_eq!(history(""), Vec::<u64>::new());
    assert_eq!(history(" 3 , 1,1,"), [1, 3], "spaces, repeats, a trailing comma");
    assert_eq!(history("0,5,7,-1,2.5"), Vec::<u64>::new(), "not a revision before 5");
    assert_eq!(history("99999999999999999999999"), Vec::<u64>::new(), "out of range");
    let mut no_label = replicaset(&owner, "web-y", 1, "2026-11-01T00:00:00Z", Some("1"));
    no_label["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "x".into();
    assert_eq!(revision_history(&no_label, kind), Vec::<u64>::new());
    // Nothing panics, and an unreadable but present history still makes the
    // current revision a reuse.
    let workload = serde_json::json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-web",
        "annotations": {"deployment.kubernetes.io/revision": "9"}}});
    let naming = Naming::new("prod-eu", "production");
    for h in ["x", ",", " ", "2,x", "5", "9,9"] {
        let rs = [replicaset(&owner, "web-x", 5, "2026-11-01T00:00:00Z", Some(h)), no_label.clone()];
        let events = revision_events(&naming, kind, &workload, &rs);
        let five = events.iter().find(|e| e.revision == 5).unwrap().deployment.as_ref().unwrap();
        let reused = !h.trim().is_empty();
        assert_eq!(five.deployment_type == DeploymentType::Rollback, reused, "history {h:?}");
        let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
        assert_eq!(revisions, if h == "2,x" { vec![2, 5] } else { vec![5] }, "history {h:?}");
    }
}

/// Argo Rollouts, on the recorded objects: the canary's stable ReplicaSet
/// is revision 30 with history `26,28`, the blue-green's old one revision 8
/// with history `6` (revisions 27 and 7 are gone with their ReplicaSets).
#[test]
fn argo_rollouts_revision_histories() {
    let Some((canary, rs, naming)) = canary_rollout() else { return };
    let kind = WorkloadKind::Rollout;
    assert_eq!(revision_history(&rs[1], kind), [26, 28]);
    let events = by_revision(&revision_events(&naming, kind, &canary, &rs));
    assert_eq!(events.keys().copied().collect::<Vec<_>>(), [26, 28, 29, 30, 31]);
    let d = |n: u64| events[&n].as_ref().unwrap();
    let rev = |n: u64| format!("k8s:gke/jesse-test/Rollout/canary-demo:rev:{n}");
    // 26: the stable ReplicaSet's own rollout of `green`, at its creation.
    assert_eq!(d(26).deployment_type, DeploymentType::Regular);
    assert_eq!(d(26).finished_at, at("2019-10-26T08:48:13Z"));
    assert_eq!(d(26).started_at, Some(at("2019-10-26T08:48:13Z")));
    assert_eq!(d(26).changes, ["green"]);
    // 28: `green` again after 27 (gone): a rollback of 27.
    assert_eq!(d(28).deployment_type, DeploymentType::Rollback);
    assert_eq!(d(28).remediates, [rev(27)]);
    assert_eq!(d(28).finished_at, at("2019-10-26T08:48:13Z"), "no earlier than 26");
    assert_eq!(d(28).commit.as_deref(), Some("green"));
    assert!(d(28).changes.is_empty());
    // 29 `asdf`, then 30 `green` again, after 29 (its ReplicaSet was made
    // before 29's: the rollback is not put before what it remediates).
    assert_eq!(d(29).finished_at, at("2019-10-26T09:16:20Z"));
    assert_eq!(d(30).deployment_type, DeploymentType::Rollback);
    assert_eq!(d(30).remediates, [rev(29)]);
    assert_eq!(d(30).finished_at, at("2019-10-26T09:16:20Z"));
    assert_eq!(d(31).status, DeploymentStatus::Failure);

    let Some(bluegreen) = peer("k8s_argo_rollouts/json/blue-green/bluegreen-rollout.json") else { return };
    let rs: Vec<Value> = ["active-rs.json", "old-rs.json", "preview-rs.json"]
        .iter()
        .map(|f| peer(&format!("k8s_argo_rollouts/json/blue-green/{f}")).unwrap())
        .collect();
    let events = by_revision(&revision_events(&naming, kind, &bluegreen, &rs));
    assert_eq!(events.keys().copied().collect::<Vec<_>>(), [6, 8, 10, 11]);
    let d = |n: u64| events[&n].as_ref().unwrap();
    assert_eq!(
        (d(6).deployment_type, d(6).finished_at),
        (DeploymentType::Regular, at("2019-10-26T08:53:17Z"))
    );
    assert_eq!(d(6).commit.as_deref(), Some("red"));
    assert_eq!(d(8).deployment_type, DeploymentType::Rollback);
    assert_eq!(d(8).remediates, ["k8s:gke/jesse-test/Rollout/bluegreen-demo:rev:7"]);
    assert_eq!(d(10).finished_at, at("2019-10-27T09:50:52Z"));
    assert_eq!(events[&11], None, "paused before promotion: not finished");
}
