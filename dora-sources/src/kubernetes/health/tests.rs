//! Every recorded object of the three upstream projects' health tests, read
//! from `../shared/fixtures/peer` (never copied; the tests say so and pass
//! when the folder is absent), against their expected verdicts.

use std::path::{Path, PathBuf};

use super::*;

fn peer(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/peer").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} is absent; this check is skipped", p.display());
        None
    }
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn deployments_agree_with_gitops_engine() {
    let Some(dir) = peer("k8s_gitops_engine_health") else { return };
    let expected = json(&dir.join("EXPECTED.json"));
    let mut checked = 0;
    for (file, want) in expected.as_object().unwrap().iter().filter(|(k, _)| !k.starts_with('_')) {
        let got = deployment_health(&json(&dir.join("json").join(file)));
        assert_eq!(got.status.as_str(), want.as_str().unwrap(), "{file}: {}", got.message);
        checked += 1;
    }
    assert_eq!(checked, 4);
    // The messages, as gitops-engine words them.
    let degraded = deployment_health(&json(&dir.join("json/deployment-degraded.json")));
    assert_eq!(degraded.message, "Deployment \"guestbook-ui\" exceeded its progress deadline");
    let progressing = deployment_health(&json(&dir.join("json/deployment-progressing.json")));
    assert_eq!(
        progressing.message,
        "Waiting for rollout to finish: 1 old replicas are pending termination..."
    );
}

#[test]
fn rollouts_agree_with_argo_cd() {
    let Some(dir) = peer("k8s_argocd_rollout_health") else { return };
    let expected = json(&dir.join("EXPECTED.json"));
    let cases = expected.as_array().unwrap();
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let got = rollout_health(&json(&dir.join(input)));
        assert_eq!(got.status.as_str(), case["status"].as_str().unwrap(), "{input}: {}", got.message);
        // Argo CD compares the whole status: an absent message is "".
        assert_eq!(got.message, case["message"].as_str().unwrap_or(""), "{input}");
    }
    assert_eq!(cases.len(), 24);
}

/// The Rollout object of each `kubectl argo rollouts get` scenario.
const SCENARIOS: [(&str, &str); 6] = [
    ("canary", "canary-rollout.json"),
    ("blue-green", "bluegreen-rollout.json"),
    ("experiment-analysis", "rollout-experiment-analysis.json"),
    ("experiment-step", "canary-demo.json"),
    ("rollout-aborted", "rollout.json"),
    ("rollout-invalid", "rollout-invalid.json"),
];

#[test]
fn rollouts_agree_with_argo_rollouts() {
    let Some(dir) = peer("k8s_argo_rollouts") else { return };
    let expected = json(&dir.join("EXPECTED.json"));
    for (scenario, file) in SCENARIOS {
        let want = &expected[scenario];
        let folder = dir.join("json").join(scenario);
        let rollout = json(&folder.join(file));
        assert_eq!(rollout["metadata"]["name"], want["rollout"], "{scenario}");
        let (phase, message) = rollout_phase(&rollout);
        assert_eq!(phase.as_str(), want["status"].as_str().unwrap(), "{scenario}: {message}");
        assert_eq!(message, want["message"].as_str().unwrap(), "{scenario}");
        // Argo CD's verdict on the same object agrees, reading Paused as Suspended.
        let argocd = rollout_health(&rollout).status;
        let same = match phase {
            Phase::Paused => Health::Suspended,
            Phase::Healthy => Health::Healthy,
            Phase::Progressing => Health::Progressing,
            Phase::Degraded => Health::Degraded,
        };
        assert_eq!(argocd, same, "{scenario}");
        // Its ReplicaSets (the Rollout's own, not an Experiment's): revision,
        // status and role.
        let uid = rollout["metadata"]["uid"].as_str().unwrap();
        let mut seen = serde_json::Map::new();
        for entry in std::fs::read_dir(&folder).unwrap() {
            let rs = json(&entry.unwrap().path());
            let owned = rs["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["uid"] == uid));
            if rs["kind"] != "ReplicaSet" || !owned {
                continue;
            }
            let revision =
                rs["metadata"]["annotations"]["rollout.argoproj.io/revision"].as_str().unwrap().to_string();
            seen.insert(
                revision,
                serde_json::json!({"rs": rs["metadata"]["name"], "status": replicaset_status(&rs),
                                   "role": replicaset_role(&rollout, &rs)}),
            );
        }
        let mut want_revisions = want["revisions"].clone();
        for v in want_revisions.as_object_mut().unwrap().values_mut() {
            v.as_object_mut().unwrap().remove("analysisrun");
        }
        assert_eq!(Value::Object(seen), want_revisions, "{scenario}");
    }
}

#[test]
fn lua_numbers() {
    assert_eq!(lua_tonumber(&Value::from("3")), Some(3.0));
    assert_eq!(lua_tonumber(&Value::from(" 8575574967\n")), Some(8575574967.0));
    assert_eq!(lua_tonumber(&Value::from("abc123")), None);
    assert_eq!(lua_tonumber(&Value::from("1e5")), None);
    assert_eq!(lua_tonumber(&Value::from("0x1F")), Some(31.0));
    assert_eq!(lua_tonumber(&Value::from("1.5")), Some(1.5));
    assert_eq!(lua_tonumber(&Value::from(7)), Some(7.0));
    assert_eq!(lua_tonumber(&Value::Null), None);
}
