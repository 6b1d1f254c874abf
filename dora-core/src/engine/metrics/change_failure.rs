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

use crate::engine::classify::{deployment_order, group_by_name};
use crate::engine::options::Options;
use crate::engine::warnings::{WarningKind, Warnings};
use crate::event::EventSet;
use crate::event::time::Micros;

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
    // The previous successful deployment of the same service and environment
    // (by slot; `NONE` for the first), from the deployments grouped by
    // environment, then by service, each group in deployment order.
    const NONE: u32 = u32::MAX;
    let keyed: Vec<(u32, u32, u32)> = ok_sorted
        .iter()
        .map(|&d| {
            let rec = dep(d);
            (d, rec.service, rec.environment)
        })
        .collect();
    let names = set.names.len();
    let by_env = group_by_name(&group_by_name(&keyed, names, |k| k.2), names, |k| k.1);
    let mut previous = vec![NONE; set.deployments.len()];
    for w in by_env.windows(2) {
        if (w[0].1, w[0].2) == (w[1].1, w[1].2) {
            previous[w[1].0 as usize] = w[0].0;
        }
    }
    // In deployment order, so the first remediation of a target is the earliest.
    for &d in ok_sorted {
        let rec = dep(d);
        let listed = rec.remediates.of(&set.deployment_refs);
        if listed.is_empty() {
            if rec.deployment_type.is_rework()
                && let target = previous[d as usize]
                && target != NONE
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
    // Successful production deployments per service, in deployment order,
    // with the service and finish time (no record lookups in the searches).
    let keyed: Vec<(u32, u32, Micros)> = ok_sorted
        .iter()
        .map(|&d| {
            let rec = dep(d);
            (d, rec.service, rec.finished_at)
        })
        .collect();
    let by_service = group_by_name(&keyed, set.names.len(), |k| k.1);
    let mut ranges: FxHashMap<u32, (usize, usize)> = FxHashMap::default();
    let mut start = 0;
    for i in 1..=by_service.len() {
        if i == by_service.len() || by_service[i].1 != by_service[start].1 {
            ranges.insert(by_service[start].1, (start, i));
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
                let i = run.partition_point(|&(_, _, finished_at)| finished_at <= inc.opened_at);
                let (d, _, finished_at) = *run.get(i.checked_sub(1)?)?;
                (inc.opened_at - finished_at <= window).then_some((d, Attribution::Inferred))
            })
        } else {
            None
        };
    }
    out
}
