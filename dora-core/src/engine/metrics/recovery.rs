//! Failed deployment recovery time (METRICS.md section 3).
//!
//! For a deployment that failed in production, recovery is the earlier of
//! (a) the `finished_at` of the first successful deployment that remediates
//! it and (b) when at least one incident is attributed to it and all of them
//! are resolved, the latest `resolved_at`. Failures with neither are
//! unrecovered. A recovery before the failure counts as 0 (warned).

use crate::engine::classify::IncidentsOf;
use crate::engine::metrics::change_failure::Remediation;
use crate::engine::warnings::{WarningKind, Warnings};
use crate::event::EventSet;
use crate::event::time::Micros;

/// What ended a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecoveredBy {
    /// A remediating deployment (slot).
    Remediation(u32),
    /// The resolution of every attributed incident.
    IncidentsResolved,
}

/// When and how a failed deployment recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    pub at: Micros,
    /// Microseconds from the deployment's `finished_at`, never negative.
    pub duration: Micros,
    pub by: RecoveredBy,
}

pub(crate) fn recoveries(
    set: &EventSet,
    failed: &[bool],
    remediated_by: &[Option<Remediation>],
    incidents_of: &IncidentsOf,
    warnings: &mut Warnings,
) -> Vec<Option<Recovery>> {
    let mut out = vec![None; failed.len()];
    for (slot, &is_failed) in failed.iter().enumerate() {
        if !is_failed {
            continue;
        }
        let Some(dep) = &set.deployments[slot] else { continue };
        let by_remediation = remediated_by[slot].and_then(|r| {
            set.deployments[r.by as usize].as_ref().map(|d| (d.finished_at, RecoveredBy::Remediation(r.by)))
        });
        let incidents = incidents_of.of(slot);
        let by_incidents = if incidents.is_empty() {
            None
        } else {
            incidents
                .iter()
                .map(|&i| set.incidents[i as usize].as_ref().and_then(|i| i.resolved_at))
                .try_fold(Micros::MIN, |latest, r| r.map(|r| latest.max(r)))
                .map(|at| (at, RecoveredBy::IncidentsResolved))
        };
        let best = match (by_remediation, by_incidents) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        out[slot] = best.map(|(at, by)| {
            let mut duration = at - dep.finished_at;
            if duration < 0 {
                warnings.add(WarningKind::NegativeRecovery, || {
                    format!(
                        "deployment {}: recovered before it finished; recovery time counted as 0",
                        set.deployment_ids.resolve(slot as u32)
                    )
                });
                duration = 0;
            }
            Recovery { at, duration, by }
        });
    }
    out
}
