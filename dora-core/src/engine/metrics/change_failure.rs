//! Change failure rate (METRICS.md section 3): which deployments failed in
//! production.
//!
//! A successful production deployment *failed* when an incident is
//! attributed to it or a later deployment remediates it.
//!
//! Incident attribution, in order: `caused_by` names the deployment; else
//! `caused_by_change` names a change, attributed to the deployment that
//! shipped it; else (inference) the latest successful production deployment
//! of the incident's service finishing at or before `opened_at` and no more
//! than the attribution window before it. A broken explicit link is warned
//! about and the incident stays unattributed (the explicit link wins).
//!
//! Remediation: any successful production deployment may list `remediates`;
//! an entry naming no successful production deployment finishing before it
//! is ignored with a warning. A rollback or hotfix without `remediates`
//! remediates the latest successful deployment of the same service and
//! environment name before it.

use rustc_hash::FxHashMap;

use crate::engine::classify::{deployment_order, sort_by_deployment_order};
use crate::engine::options::Options;
use crate::engine::warnings::{WarningKind, Warnings};
use crate::event::EventSet;

/// Why an incident is attributed to a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// The incident's `caused_by` names the deployment.
    CausedBy,
    /// The incident's `caused_by_change` names a change the deployment shipped.
    CausedByChange,
    /// The deployment is the latest of the service within the attribution window before the incident.
    Inferred,
}

/// How a deployment was remediated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Remediation {
    /// The remediating deployment.
    pub by: u32,
    /// Named in `remediates` (else implied by a rollback or hotfix).
    pub explicit: bool,
}

/// Per deployment slot, the first successful deployment that remediates it.
pub(crate) fn remediations(
    set: &EventSet,
    ok_production: &[bool],
    ok_sorted: &[u32],
    warnings: &mut Warnings,
) -> Vec<Option<Remediation>> {
    let dep = |slot: u32| set.deployments[slot as usize].as_ref().expect("successful deployments exist");
    let mut remediated_by: Vec<Option<Remediation>> = vec![None; set.deployments.len()];
    // The previous successful deployment of the same service and environment.
    let mut by_env = ok_sorted.to_vec();
    sort_by_deployment_order(set, &mut by_env, |d| (d.service, d.environment));
    let mut previous: FxHashMap<u32, u32> = FxHashMap::default();
    for w in by_env.windows(2) {
        let (a, b) = (dep(w[0]), dep(w[1]));
        if (a.service, a.environment) == (b.service, b.environment) {
            previous.insert(w[1], w[0]);
        }
    }
    // In deployment order, so the first remediation of a target is the earliest.
    for &d in ok_sorted {
        let rec = dep(d);
        let listed = rec.remediates.of(&set.deployment_refs);
        if listed.is_empty() {
            if rec.deployment_type.is_rework()
                && let Some(&target) = previous.get(&d)
            {
                remediated_by[target as usize].get_or_insert(Remediation { by: d, explicit: false });
            }
            continue;
        }
        for &target in listed {
            let valid = ok_production.get(target as usize).copied().unwrap_or(false)
                && deployment_order(dep(target), rec).is_lt();
            if valid {
                remediated_by[target as usize].get_or_insert(Remediation { by: d, explicit: true });
            } else {
                warnings.add(WarningKind::BrokenRemediates, || {
                    format!(
                        "deployment {}: remediates {}, which is no successful production deployment finishing before it; ignored",
                        set.deployment_ids.resolve(d),
                        set.deployment_ids.resolve(target)
                    )
                });
            }
        }
    }
    remediated_by
}

/// Per incident slot, the deployment it is attributed to and why.
pub(crate) fn attribute_incidents(
    set: &EventSet,
    ok_production: &[bool],
    ok_sorted: &[u32],
    shipped_by: &[Option<u32>],
    opts: &Options,
    warnings: &mut Warnings,
) -> Vec<Option<(u32, Attribution)>> {
    let dep = |slot: u32| set.deployments[slot as usize].as_ref().expect("successful deployments exist");
    // Successful production deployments per service, in deployment order.
    let mut by_service = ok_sorted.to_vec();
    sort_by_deployment_order(set, &mut by_service, |d| d.service);
    let mut ranges: FxHashMap<u32, (usize, usize)> = FxHashMap::default();
    let mut start = 0;
    for i in 1..=by_service.len() {
        if i == by_service.len() || dep(by_service[i]).service != dep(by_service[start]).service {
            ranges.insert(dep(by_service[start]).service, (start, i));
            start = i;
        }
    }
    let window = opts.attribution_window_micros();
    let mut out = vec![None; set.incidents.len()];
    for (slot, inc) in set.incidents.iter().enumerate() {
        let Some(inc) = inc else { continue };
        let id = || set.incident_ids.resolve(slot as u32);
        out[slot] = if let Some(d) = inc.caused_by {
            if ok_production.get(d as usize).copied().unwrap_or(false) {
                Some((d, Attribution::CausedBy))
            } else {
                warnings.add(WarningKind::BrokenCausedBy, || {
                    format!(
                        "incident {}: caused_by {} names no successful production deployment; not attributed",
                        id(),
                        set.deployment_ids.resolve(d)
                    )
                });
                None
            }
        } else if let Some(c) = inc.caused_by_change {
            match shipped_by.get(c as usize).copied().flatten() {
                Some(d) => Some((d, Attribution::CausedByChange)),
                None => {
                    warnings.add(WarningKind::BrokenCausedByChange, || {
                        format!(
                            "incident {}: caused_by_change {} names no change shipped to production; not attributed",
                            id(),
                            set.change_ids.resolve(c)
                        )
                    });
                    None
                }
            }
        } else if window > 0 {
            ranges.get(&inc.service).and_then(|&(a, b)| {
                let run = &by_service[a..b];
                let i = run.partition_point(|&d| dep(d).finished_at <= inc.opened_at);
                let d = *run.get(i.checked_sub(1)?)?;
                (inc.opened_at - dep(d).finished_at <= window).then_some((d, Attribution::Inferred))
            })
        } else {
            None
        };
    }
    out
}
