//! Pure mapping from a workload (an apps/v1 Deployment or an Argo
//! Rollout) and its ReplicaSets to `dora.events/v1` deployment events: one
//! per revision, no I/O. Objects are read as JSON (typed objects are
//! serialized first), so Argo Rollouts need no CRD types.
//!
//! - The id is `k8s:<context>/<namespace>/<Kind>/<name>:rev:<n>`.
//! - The current revision is finished when the workload is `Healthy` (a
//!   `success`, at the time the rollout completed) or `Degraded` (a
//!   `failure`: past its progress deadline, aborted, invalid); while it is
//!   `Progressing` or `Suspended` it is not finished, and a later run (or
//!   `dora watch`) records it.
//! - A revision newer than the workload's own (the controller labels the
//!   ReplicaSet first, the workload after) is still rolling out: no event.
//! - Older revisions still in the history (`revisionHistoryLimit`) went
//!   live; the cluster no longer tells when they finished, so their time is
//!   their ReplicaSet's creation, but never before the revision before them
//!   (documented; `dora watch` records the real times as rollouts happen).
//! - An undo (`kubectl rollout undo`, `kubectl argo rollouts undo`, or a
//!   revert to the same pod template) relabels the existing ReplicaSet with
//!   a new revision and appends its former number to its revision history
//!   (`2`, then `2,4`, ...). Each number there is a deployment that
//!   happened and gets its own event: the first is the ReplicaSet's own
//!   rollout (`regular`, at its creation), each later one (and the current
//!   label) reused that template: `type: rollback`, remediating the
//!   revision before it, shipping no change.

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::Value;

use super::health::{Health, deployment_health, rollout_health};
use dora_core::event::{Deployment, DeploymentStatus, DeploymentType};

/// How a cluster's workloads are named in events.
#[derive(Debug, Clone)]
pub struct Naming {
    /// The kubeconfig context (or a name for the cluster), part of the ids.
    pub context: String,
    /// The environment the workloads deploy to.
    pub environment: String,
    /// Namespaces whose workloads deploy to another environment (`staging`).
    pub namespace_environments: std::collections::BTreeMap<String, String>,
    /// The label that names the service [default: `app.kubernetes.io/name`;
    /// the workload's name when absent].
    pub service_label: String,
    /// The label that names the team, if any.
    pub team_label: Option<String>,
    /// Annotation or label keys that hold the deployed commit, looked up on
    /// the ReplicaSet, then its pod template [default:
    /// `app.kubernetes.io/version`].
    pub commit_keys: Vec<String>,
    /// A pattern whose first group takes the commit out of the first
    /// container's image (a tag or a digest), when no key holds it.
    pub image_commit: Option<Regex>,
}

impl Naming {
    /// The defaults for a context and an environment.
    pub fn new(context: impl Into<String>, environment: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            environment: environment.into(),
            namespace_environments: std::collections::BTreeMap::new(),
            service_label: "app.kubernetes.io/name".into(),
            team_label: None,
            commit_keys: vec!["app.kubernetes.io/version".into()],
            image_commit: None,
        }
    }
}

/// The kind of workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// argoproj.io/v1alpha1 Rollout.
    Rollout,
}

impl WorkloadKind {
    /// Its Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::Rollout => "Rollout",
        }
    }

    fn revision_key(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment.kubernetes.io/revision",
            WorkloadKind::Rollout => "rollout.argoproj.io/revision",
        }
    }

    fn history_key(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment.kubernetes.io/revision-history",
            WorkloadKind::Rollout => "rollout.argoproj.io/revision-history",
        }
    }
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| s.parse().ok())
}

fn revision_of(object: &Value, kind: WorkloadKind) -> Option<u64> {
    object["metadata"]["annotations"][kind.revision_key()].as_str().and_then(|s| s.trim().parse().ok())
}

/// The revisions a ReplicaSet stood for before its current one, oldest
/// first, from its revision history (`deployment.kubernetes.io/revision-history`
/// or `rollout.argoproj.io/revision-history`: comma-separated numbers the
/// controller appends to at each undo). Entries that are not a number, are
/// 0, or are not below the ReplicaSet's own revision are ignored.
pub fn revision_history(rs: &Value, kind: WorkloadKind) -> Vec<u64> {
    let Some(label) = revision_of(rs, kind) else { return Vec::new() };
    let text = rs["metadata"]["annotations"][kind.history_key()].as_str().unwrap_or_default();
    let mut history: Vec<u64> = text
        .split(',')
        .filter_map(|entry| entry.trim().parse().ok())
        .filter(|&n| n > 0 && n < label)
        .collect();
    history.sort_unstable();
    history.dedup();
    history
}

/// One revision a ReplicaSet stands for.
#[derive(Debug, Clone, Copy)]
struct Claim<'a> {
    revision: u64,
    rs: &'a Value,
    /// Its current revision (not one of its history).
    label: bool,
    /// A later revision of a template that an earlier one deployed first
    /// (an undo): not the ReplicaSet's own first rollout.
    reused: bool,
}

/// The revisions the ReplicaSets stand for, oldest first, one per number:
/// each ReplicaSet's current revision and those of its revision history.
/// Should two ReplicaSets claim a number, a current revision wins over a
/// history entry, then the earlier-made ReplicaSet, then the name.
fn claims<'a>(kind: WorkloadKind, replicasets: &[&'a Value]) -> Vec<Claim<'a>> {
    let mut all = Vec::new();
    for &rs in replicasets {
        let Some(label) = revision_of(rs, kind) else { continue };
        let history = revision_history(rs, kind);
        // A history that is there, even unreadable, says the template was
        // deployed before: the current revision is a reuse.
        let relabelled =
            rs["metadata"]["annotations"][kind.history_key()].as_str().is_some_and(|h| !h.trim().is_empty());
        let first = history.first().copied();
        all.extend(history.iter().map(|&n| Claim {
            revision: n,
            rs,
            label: false,
            reused: Some(n) != first,
        }));
        all.push(Claim { revision: label, rs, label: true, reused: relabelled });
    }
    fn made<'a>(c: &Claim<'a>) -> (Option<DateTime<Utc>>, Option<&'a str>) {
        let rs: &'a Value = c.rs;
        (time(&rs["metadata"]["creationTimestamp"]), rs["metadata"]["name"].as_str())
    }
    all.sort_by(|a, b| {
        a.revision.cmp(&b.revision).then(b.label.cmp(&a.label)).then_with(|| made(a).cmp(&made(b)))
    });
    all.dedup_by_key(|c| c.revision);
    all
}

/// Whether `rs` is owned by `owner` (by uid; by name when a recorded
/// object has no uid).
pub fn owned_by(rs: &Value, owner: &Value) -> bool {
    let refs = rs["metadata"]["ownerReferences"].as_array();
    match owner["metadata"]["uid"].as_str() {
        Some(uid) => refs.is_some_and(|r| r.iter().any(|o| o["uid"] == uid)),
        None => refs.is_some_and(|r| r.iter().any(|o| o["name"] == owner["metadata"]["name"])),
    }
}

/// The id of revision `n` of a workload.
pub fn revision_id(naming: &Naming, kind: WorkloadKind, workload: &Value, n: u64) -> String {
    format!(
        "k8s:{}/{}/{}/{}:rev:{n}",
        naming.context,
        workload["metadata"]["namespace"].as_str().unwrap_or("default"),
        kind.as_str(),
        workload["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// The deployed commit of a revision: the first of `commit_keys` found
/// among the ReplicaSet's annotations and labels, then its pod template's;
/// else the image pattern's first group.
pub fn commit_of(naming: &Naming, rs: &Value) -> Option<String> {
    let places = [
        &rs["metadata"]["annotations"],
        &rs["metadata"]["labels"],
        &rs["spec"]["template"]["metadata"]["annotations"],
        &rs["spec"]["template"]["metadata"]["labels"],
    ];
    for key in &naming.commit_keys {
        if let Some(v) = places.iter().find_map(|p| p[key.as_str()].as_str()).filter(|v| !v.is_empty()) {
            return Some(v.to_string());
        }
    }
    let image = rs["spec"]["template"]["spec"]["containers"][0]["image"].as_str()?;
    let pattern = naming.image_commit.as_ref()?;
    pattern.captures(image).and_then(|c| c.get(1)).map(|m| m.as_str().to_string())
}

/// When the current revision finished, by the workload's conditions: a
/// completed rollout's completion, a failed one's failure; else `None`.
fn finish_time(kind: WorkloadKind, workload: &Value, health: Health, rs_name: &str) -> Option<DateTime<Utc>> {
    let conditions = workload["status"]["conditions"].as_array().map_or(&[][..], Vec::as_slice);
    let find = |ty: &str, reason: Option<&str>| {
        conditions.iter().find(|c| c["type"] == ty && reason.is_none_or(|r| c["reason"] == r))
    };
    match health {
        Health::Healthy => {
            if kind == WorkloadKind::Rollout
                && let Some(c) = find("Completed", None).filter(|c| c["status"] == "True")
            {
                return time(&c["lastTransitionTime"]);
            }
            let done = find("Progressing", Some("NewReplicaSetAvailable")).filter(|c| {
                kind == WorkloadKind::Rollout || c["message"].as_str().is_some_and(|m| m.contains(rs_name))
            });
            done.and_then(|c| time(&c["lastUpdateTime"]).or_else(|| time(&c["lastTransitionTime"])))
                .or_else(|| find("Available", None).and_then(|c| time(&c["lastTransitionTime"])))
        }
        Health::Degraded => time(&workload["status"]["abortedAt"]).or_else(|| {
            conditions
                .iter()
                .find(|c| {
                    c["type"] == "InvalidSpec"
                        || (c["type"] == "Progressing"
                            && (c["reason"] == "ProgressDeadlineExceeded" || c["reason"] == "RolloutAborted"))
                })
                .and_then(|c| time(&c["lastTransitionTime"]).or_else(|| time(&c["lastUpdateTime"])))
        }),
        Health::Progressing | Health::Suspended => None,
    }
}

/// One revision's deployment event, and whether it is finished.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionEvent {
    /// The revision number.
    pub revision: u64,
    /// The event (`None` while the revision is still rolling out).
    pub deployment: Option<Deployment>,
}

/// The deployment events of a workload's revisions, oldest first, from the
/// workload and the ReplicaSets it owns (others are ignored): one for each
/// ReplicaSet's current revision and one for each revision of its revision
/// history (see the module's documentation for times, types and change
/// sets). A revision still rolling out, or newer than the workload's own
/// revision, gives no event. `kubernetes.io/change-cause` becomes the
/// event's `note`.
pub fn revision_events(
    naming: &Naming,
    kind: WorkloadKind,
    workload: &Value,
    replicasets: &[Value],
) -> Vec<RevisionEvent> {
    let health = match kind {
        WorkloadKind::Deployment => deployment_health(workload),
        WorkloadKind::Rollout => rollout_health(workload),
    };
    let current = revision_of(workload, kind);
    let meta = &workload["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    let service = meta["labels"][naming.service_label.as_str()].as_str().unwrap_or(name).to_string();
    let namespace = meta["namespace"].as_str().unwrap_or("default");
    let environment = naming.namespace_environments.get(namespace).unwrap_or(&naming.environment);
    let team =
        naming.team_label.as_ref().and_then(|l| meta["labels"][l.as_str()].as_str()).map(str::to_string);
    let owned: Vec<&Value> = replicasets.iter().filter(|rs| owned_by(rs, workload)).collect();
    // When the revision before went live: no revision went live before it.
    let mut previous: Option<DateTime<Utc>> = None;
    let mut events = Vec::new();
    for claim in claims(kind, &owned) {
        let (n, rs) = (claim.revision, claim.rs);
        let pending = RevisionEvent { revision: n, deployment: None };
        let rs_name = rs["metadata"]["name"].as_str().unwrap_or_default();
        let created = time(&rs["metadata"]["creationTimestamp"]);
        let (status, finished) = if Some(n) == current {
            match health.status {
                Health::Healthy => {
                    (DeploymentStatus::Success, finish_time(kind, workload, Health::Healthy, rs_name))
                }
                Health::Degraded => {
                    (DeploymentStatus::Failure, finish_time(kind, workload, Health::Degraded, rs_name))
                }
                _ => {
                    events.push(pending);
                    continue;
                }
            }
        } else if current.is_some_and(|c| n > c) {
            // The controller labels the ReplicaSet before the workload:
            // this rollout has just begun.
            events.push(pending);
            continue;
        } else {
            (DeploymentStatus::Success, None)
        };
        // An older revision is timed by its ReplicaSet's creation, which for
        // a reused ReplicaSet is its first rollout's: never before the
        // revision before it went live.
        let Some(finished_at) = finished.or_else(|| created.map(|c| previous.map_or(c, |p| c.max(p)))) else {
            events.push(pending);
            continue;
        };
        previous = Some(finished_at);
        let deployment_type = if claim.reused && status == DeploymentStatus::Success {
            DeploymentType::Rollback
        } else {
            DeploymentType::Regular
        };
        let remediates = if deployment_type == DeploymentType::Rollback && n > 1 {
            vec![revision_id(naming, kind, workload, n - 1)]
        } else {
            Vec::new()
        };
        let commit = commit_of(naming, rs);
        // The controllers copy the workload's annotations onto each new
        // ReplicaSet, so the ReplicaSet holds its own revision's cause
        // (`kubectl rollout undo` copies the ReplicaSet's back onto the
        // workload, so an undone template keeps its first cause).
        let note =
            change_cause(rs).or_else(|| (Some(n) == current).then(|| change_cause(workload)).flatten());
        // A rollback deploys commits an earlier revision shipped: it ships none.
        let ships = status == DeploymentStatus::Success && deployment_type != DeploymentType::Rollback;
        let deployment = Deployment {
            id: revision_id(naming, kind, workload, n),
            service: service.clone(),
            team: team.clone(),
            source: Some("kubernetes".into()),
            environment: environment.clone(),
            finished_at,
            // A reused ReplicaSet's creation is the earlier rollout's.
            started_at: created.filter(|c| !claim.reused && *c <= finished_at),
            status,
            changes: commit.iter().filter(|_| ships).cloned().collect(),
            commit,
            deployment_type,
            remediates,
            note,
        };
        events.push(RevisionEvent { revision: n, deployment: Some(deployment) });
    }
    events
}

/// The annotation `kubectl` and CI tools set to say why a rollout happened.
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// An object's non-blank `kubernetes.io/change-cause`, with credentials
/// blanked: `kubectl --record` writes its whole command line there, flags
/// like `--token=...` included.
fn change_cause(object: &Value) -> Option<String> {
    let cause = object["metadata"]["annotations"][CHANGE_CAUSE].as_str()?.trim();
    (!cause.is_empty()).then(|| redact_credentials(cause))
}

/// Command-line flags whose value is a secret.
const SECRET_FLAGS: [&str; 5] =
    ["--token", "--password", "--client-key", "--client-certificate", "--auth-provider-arg"];

/// `text` with the values of [`SECRET_FLAGS`] and of `Bearer`/`Basic`
/// credentials replaced by `***` (words are then joined by one space).
pub(crate) fn redact_credentials(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hide_next = false;
    for word in text.split_whitespace() {
        if std::mem::take(&mut hide_next) {
            out.push("***".into());
            continue;
        }
        match word.split_once('=') {
            Some((flag, _)) if SECRET_FLAGS.contains(&flag) => out.push(format!("{flag}=***")),
            _ => {
                hide_next = SECRET_FLAGS.contains(&word)
                    || word.eq_ignore_ascii_case("bearer")
                    || word.eq_ignore_ascii_case("basic");
                out.push(word.to_string());
            }
        }
    }
    out.join(" ")
}

#[cfg(test)]
#[path = "normalize/tests.rs"]
mod tests;
