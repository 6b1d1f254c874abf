//! Health of rollouts, as the tools platform teams already trust decide it,
//! on the objects' JSON (typed objects are serialized first; Argo Rollouts
//! are read as dynamic objects, so the CRD is optional):
//!
//! - [`deployment_health`]: apps/v1 Deployments, as gitops-engine (Argo CD)
//!   decides (`pkg/health/health_deployment.go`).
//! - [`rollout_health`]: Argo Rollouts, as Argo CD's health check decides
//!   (`resource_customizations/argoproj.io/Rollout/health.lua`).
//! - [`rollout_phase`], [`replicaset_status`], [`replicaset_role`]: Argo
//!   Rollouts as its own `kubectl argo rollouts get` shows them.
//!
//! Each is checked against the upstream projects' expectations on their
//! recorded objects (`../shared/fixtures/peer/k8s_*`).

use serde_json::Value;

/// A health status (Argo CD's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Running the desired revision, fully available.
    Healthy,
    /// Still rolling out.
    Progressing,
    /// Paused (by a user or a step).
    Suspended,
    /// Failed: aborted, invalid, or past its progress deadline.
    Degraded,
}

impl Health {
    /// Its name, as Argo CD writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Progressing => "Progressing",
            Health::Suspended => "Suspended",
            Health::Degraded => "Degraded",
        }
    }
}

/// A health status and its message (empty when there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthStatus {
    /// The status.
    pub status: Health,
    /// Why.
    pub message: String,
}

fn status(status: Health, message: impl Into<String>) -> HealthStatus {
    HealthStatus { status, message: message.into() }
}

/// A number as Go reads an absent one: 0.
fn int(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).unwrap_or(0)
}

/// Lua's `tonumber` as Argo CD's gopher-lua applies it: numbers stay
/// numbers; strings are trimmed, then read as a float when they hold a dot,
/// as hexadecimal after `0x`, else as a decimal integer; anything else is nil.
fn lua_tonumber(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?.trim_matches([' ', '\t', '\n', '\r']);
    if s.contains('.') {
        return s.parse::<f64>().ok();
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let value = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i64>().ok()?
        }
        None => return None,
    };
    Some(if negative { -(value as f64) } else { value as f64 })
}

/// The health of an apps/v1 Deployment, by gitops-engine's rules.
pub fn deployment_health(d: &Value) -> HealthStatus {
    if !d["metadata"]["deletionTimestamp"].is_null() {
        return status(Health::Progressing, "Pending deletion");
    }
    let (spec, st) = (&d["spec"], &d["status"]);
    if spec["paused"].as_bool() == Some(true) {
        return status(Health::Suspended, "Deployment is paused");
    }
    if int(&d["metadata"]["generation"]) > int(&st["observedGeneration"]) {
        return status(
            Health::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    let progressing = st["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Progressing"));
    if progressing.is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        return status(Health::Degraded, format!("Deployment {name:?} exceeded its progress deadline"));
    }
    let (replicas, updated, available) =
        (int(&st["replicas"]), int(&st["updatedReplicas"]), int(&st["availableReplicas"]));
    if let Some(desired) = spec["replicas"].as_i64()
        && updated < desired
    {
        return status(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated..."
            ),
        );
    }
    if replicas > updated {
        return status(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        );
    }
    if available < updated {
        return status(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    status(Health::Healthy, "")
}

/// The health of an Argo Rollout, by Argo CD's rules. Where Argo CD's
/// script would fail (and report `Unknown`) on malformed objects, this
/// reads the missing parts as absent.
pub fn rollout_health(r: &Value) -> HealthStatus {
    if !r["metadata"]["deletionTimestamp"].is_null() {
        return status(Health::Progressing, "Pending deletion");
    }
    let (spec, st) = (&r["spec"], &r["status"]);
    let generation_observed = !st.is_null() && {
        match lua_tonumber(&st["observedGeneration"]) {
            None => true,
            Some(og) => match lua_tonumber(&r["metadata"]["generation"]) {
                Some(g) => og >= g,
                None => false,
            },
        }
    };
    let annotations = &r["metadata"]["annotations"];
    let workload_observed = spec["workloadRef"].is_null()
        || annotations.is_null()
        || lua_tonumber(&annotations["rollout.argoproj.io/workload-generation"])
            == lua_tonumber(&st["workloadObservedGeneration"]);
    if !generation_observed || !workload_observed {
        return status(Health::Progressing, "Waiting for rollout spec update to be observed");
    }
    if let Some(phase) = st["phase"].as_str() {
        let message = st["message"].as_str().unwrap_or_default();
        let health = match phase {
            "Paused" => Health::Suspended,
            "Healthy" => Health::Healthy,
            "Degraded" => Health::Degraded,
            _ => Health::Progressing,
        };
        return status(health, message);
    }
    for c in st["conditions"].as_array().into_iter().flatten() {
        let degraded = c["type"] == "InvalidSpec"
            || (c["type"] == "Progressing"
                && (c["reason"] == "RolloutAborted" || c["reason"] == "ProgressDeadlineExceeded"));
        if degraded {
            return status(Health::Degraded, c["message"].as_str().unwrap_or_default());
        }
    }
    if st["pauseConditions"].as_array().is_some_and(|p| !p.is_empty())
        || spec["paused"].as_bool() == Some(true)
    {
        return status(Health::Suspended, "Rollout is paused");
    }
    let Some(current) = st["currentPodHash"].as_str() else {
        return status(Health::Progressing, "Waiting for rollout to finish: status has not been reconciled.");
    };
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    let (replicas, updated, available) =
        (int(&st["replicas"]), int(&st["updatedReplicas"]), int(&st["availableReplicas"]));
    if updated < desired {
        return status(
            Health::Progressing,
            "Waiting for roll out to finish: More replicas need to be updated",
        );
    }
    if available < updated {
        return status(
            Health::Progressing,
            "Waiting for roll out to finish: updated replicas are still becoming available",
        );
    }
    // nil, "" or a hash (Lua tells nil from "").
    let stable: Option<&str> = if !st["stableRS"].is_null() {
        st["stableRS"].as_str()
    } else if !st["canary"].is_null() {
        st["canary"]["stableRS"].as_str()
    } else {
        Some("")
    };
    let strategy = &spec["strategy"];
    if !strategy["blueGreen"].is_null() {
        if st["blueGreen"]["activeSelector"].as_str() != Some(current) {
            return status(Health::Progressing, "active service cutover pending");
        }
        if stable != Some("") && stable != Some(current) {
            return status(Health::Progressing, "waiting for analysis to complete");
        }
    } else if !strategy["canary"].is_null() {
        if replicas > updated {
            return status(
                Health::Progressing,
                "Waiting for roll out to finish: old replicas are pending termination",
            );
        }
        if stable != Some(current) {
            return status(Health::Progressing, "Waiting for rollout to finish steps");
        }
    }
    status(Health::Healthy, "")
}

/// A rollout's phase as `kubectl argo rollouts` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Fully promoted.
    Healthy,
    /// Rolling out.
    Progressing,
    /// Paused.
    Paused,
    /// Failed.
    Degraded,
}

impl Phase {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Healthy => "Healthy",
            Phase::Progressing => "Progressing",
            Phase::Paused => "Paused",
            Phase::Degraded => "Degraded",
        }
    }
}

/// An Argo Rollout's phase and message, as Argo Rollouts computes them.
pub fn rollout_phase(r: &Value) -> (Phase, String) {
    let (spec, st) = (&r["spec"], &r["status"]);
    let observed = match st["observedGeneration"].as_str().and_then(|s| s.parse::<i64>().ok()) {
        None => true,
        Some(og) => og >= int(&r["metadata"]["generation"]),
    };
    if !observed {
        return (Phase::Progressing, "waiting for rollout spec update to be observed".into());
    }
    let pauses = st["pauseConditions"].as_array().map_or(&[][..], Vec::as_slice);
    if st["controllerPause"].as_bool() == Some(true) && pauses.is_empty() {
        return (Phase::Progressing, "waiting for rollout to unpause".into());
    }
    if let Some(phase) = st["phase"].as_str().filter(|p| !p.is_empty()) {
        let phase = match phase {
            "Healthy" => Phase::Healthy,
            "Paused" => Phase::Paused,
            "Degraded" => Phase::Degraded,
            _ => Phase::Progressing,
        };
        return (phase, st["message"].as_str().unwrap_or_default().to_string());
    }
    for c in st["conditions"].as_array().into_iter().flatten() {
        let message = c["message"].as_str().unwrap_or_default();
        if c["type"] == "InvalidSpec" {
            return (Phase::Degraded, format!("InvalidSpec: {message}"));
        }
        if let Some(reason @ ("RolloutAborted" | "ProgressDeadlineExceeded")) = c["reason"].as_str() {
            return (Phase::Degraded, format!("{reason}: {message}"));
        }
    }
    if spec["paused"].as_bool() == Some(true) {
        return (Phase::Paused, "manually paused".into());
    }
    if let Some(p) = pauses.first() {
        return (Phase::Paused, p["reason"].as_str().unwrap_or_default().to_string());
    }
    if !spec["restartAt"].is_null() && spec["restartAt"] != st["restartedAt"] {
        return (Phase::Progressing, "rollout is restarting".into());
    }
    let (replicas, updated, available) =
        (int(&st["replicas"]), int(&st["updatedReplicas"]), int(&st["availableReplicas"]));
    if updated < spec["replicas"].as_i64().unwrap_or(1) {
        return (Phase::Progressing, "more replicas need to be updated".into());
    }
    if available < updated {
        return (Phase::Progressing, "updated replicas are still becoming available".into());
    }
    let current = st["currentPodHash"].as_str().unwrap_or_default();
    let stable = st["stableRS"].as_str().unwrap_or_default();
    if !spec["strategy"]["blueGreen"].is_null() {
        let active = st["blueGreen"]["activeSelector"].as_str().unwrap_or_default();
        if active.is_empty() || active != current {
            return (Phase::Progressing, "active service cutover pending".into());
        }
        if stable.is_empty() || stable != current {
            let analysis = !spec["strategy"]["blueGreen"]["postPromotionAnalysis"].is_null();
            let done = st["blueGreen"]["postPromotionAnalysisRunStatus"]["status"]
                .as_str()
                .is_some_and(|s| matches!(s, "Successful" | "Failed" | "Error" | "Inconclusive"));
            return if analysis && !done {
                (Phase::Progressing, "waiting for analysis to complete".into())
            } else {
                (Phase::Progressing, "waiting for post-promotion verification to complete".into())
            };
        }
    } else if !spec["strategy"]["canary"].is_null() {
        if spec["strategy"]["canary"]["trafficRouting"].is_null() && replicas > updated {
            return (Phase::Progressing, "old replicas are pending termination".into());
        }
        if stable.is_empty() || stable != current {
            return (Phase::Progressing, "waiting for all steps to complete".into());
        }
    }
    (Phase::Healthy, String::new())
}

/// A ReplicaSet's status as `kubectl argo rollouts get` shows it:
/// `ReplicaFailure`, `Progressing`, `ScaledDown` or `Healthy`.
pub fn replicaset_status(rs: &Value) -> &'static str {
    let (spec, st) = (&rs["spec"], &rs["status"]);
    if int(&rs["metadata"]["generation"]) <= int(&st["observedGeneration"]) {
        let failed = st["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "ReplicaFailure" && c["status"] == "True"));
        if failed {
            return "ReplicaFailure";
        }
        if let Some(desired) = spec["replicas"].as_i64()
            && int(&st["availableReplicas"]) < desired
        {
            return "Progressing";
        }
    } else {
        return "Progressing";
    }
    if spec["replicas"].as_i64() == Some(0) { "ScaledDown" } else { "Healthy" }
}

/// A ReplicaSet's role in its Rollout (`stable`, `canary`, `active`,
/// `preview`, joined by commas), or `None`.
pub fn replicaset_role(rollout: &Value, rs: &Value) -> Option<String> {
    let st = &rollout["status"];
    let hash = rs["metadata"]["labels"]["rollouts-pod-template-hash"].as_str()?;
    let is = |v: &Value| v.as_str().is_some_and(|s| s == hash);
    let mut roles = Vec::new();
    if is(&st["stableRS"]) {
        roles.push("stable");
    }
    let strategy = &rollout["spec"]["strategy"];
    if !strategy["canary"].is_null() {
        if roles.is_empty() && is(&st["currentPodHash"]) {
            roles.push("canary");
        }
    } else if !strategy["blueGreen"].is_null() {
        if is(&st["blueGreen"]["activeSelector"]) {
            roles.push("active");
        } else if is(&st["blueGreen"]["previewSelector"]) {
            roles.push("preview");
        }
    }
    (!roles.is_empty()).then(|| roles.join(","))
}

#[cfg(test)]
#[path = "health/tests.rs"]
mod tests;
