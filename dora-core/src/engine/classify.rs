//! Classification: which deployments are production, which shipped each
//! change, which failed, what remediated them and when they recovered.
//!
//! It uses every event of the set, inside the window or not (METRICS.md
//! section 2). The rules themselves live in the metric modules; this module
//! runs them in order and keeps their results for the figures and the audit
//! trail.

use std::cmp::Ordering;

use crate::engine::metrics::{change_failure, lead_time, recovery};
use crate::engine::options::Options;
use crate::engine::warnings::Warnings;
use crate::event::time::Micros;
use crate::event::{DeploymentRec, DeploymentStatus, EventSet};

/// The order of deployments: by `finished_at`, ties by input position.
pub(crate) fn deployment_order(a: &DeploymentRec, b: &DeploymentRec) -> Ordering {
    (a.finished_at, a.seq).cmp(&(b.finished_at, b.seq))
}

/// Sorts deployment slots by `group(deployment)`, then in deployment order.
/// The keys are copied out first, so the sort runs over a compact array.
pub(crate) fn sort_by_deployment_order<K: Ord + Copy>(
    set: &EventSet,
    slots: &mut [u32],
    group: impl Fn(&DeploymentRec) -> K,
) {
    let mut keyed: Vec<(K, Micros, u64, u32)> = slots
        .iter()
        .map(|&s| {
            let d = set.deployments[s as usize].as_ref().expect("sorted deployments exist");
            (group(d), d.finished_at, d.seq, s)
        })
        .collect();
    keyed.sort_unstable();
    for (slot, k) in slots.iter_mut().zip(keyed) {
        *slot = k.3;
    }
}

/// The result of classifying an event set.
#[derive(Debug)]
pub(crate) struct Classified {
    /// Per deployment slot: a production deployment (of any status).
    pub production: Vec<bool>,
    /// Per deployment slot: a successful production deployment.
    pub ok_production: Vec<bool>,
    /// Lead times of every shipped change that has a change event, by when
    /// the shipping deployment finished.
    pub lead_times: Vec<lead_time::LeadTime>,
    /// Per deployment slot: its first remediation.
    pub remediated_by: Vec<Option<change_failure::Remediation>>,
    /// Per incident slot: the deployment it is attributed to.
    pub attribution: Vec<Option<(u32, change_failure::Attribution)>>,
    /// Per deployment slot: the incidents attributed to it.
    pub incidents_of: Vec<Vec<u32>>,
    /// Per deployment slot: failed in production.
    pub failed: Vec<bool>,
    /// Per deployment slot: when and how it recovered (failed ones only).
    pub recovery: Vec<Option<recovery::Recovery>>,
}

impl Classified {
    pub fn new(set: &EventSet, opts: &Options, warnings: &mut Warnings) -> Self {
        let n = set.deployments.len();
        let mut env_is_prod: Vec<Option<bool>> = vec![None; set.names.len()];
        let mut production = vec![false; n];
        let mut ok_production = vec![false; n];
        let mut ok_sorted = Vec::new();
        for (slot, d) in set.deployments.iter().enumerate() {
            let Some(d) = d else { continue };
            let is_prod = *env_is_prod[d.environment as usize]
                .get_or_insert_with(|| opts.production.is_production(set.name(d.environment)));
            production[slot] = is_prod;
            if is_prod && d.status == DeploymentStatus::Success {
                ok_production[slot] = true;
                ok_sorted.push(slot as u32);
            }
        }
        sort_by_deployment_order(set, &mut ok_sorted, |_| ());

        let shipped_by = lead_time::shipping(set, &ok_sorted, warnings);
        // Lead times (one per change) and the failure rules (deployments
        // and incidents) are independent: one runs on a second core. Each
        // keeps its own warnings, merged in the order they ran in before.
        let (mut lead_warnings, mut failure_warnings) = (Warnings::default(), Warnings::default());
        let (lead_times, (remediated_by, attribution)) = std::thread::scope(|scope| {
            let lead = scope.spawn(|| {
                lead_time::lead_times(set, &ok_sorted, &shipped_by, opts.lead_time_start, &mut lead_warnings)
            });
            let remediated_by =
                change_failure::remediations(set, &ok_production, &ok_sorted, &mut failure_warnings);
            let attribution = change_failure::attribute_incidents(
                set,
                &ok_production,
                &ok_sorted,
                &shipped_by,
                opts,
                &mut failure_warnings,
            );
            let lead_times = lead.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (lead_times, (remediated_by, attribution))
        });
        warnings.merge(lead_warnings);
        warnings.merge(failure_warnings);
        let mut incidents_of: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (incident, a) in attribution.iter().enumerate() {
            if let Some((d, _)) = a {
                incidents_of[*d as usize].push(incident as u32);
            }
        }
        let failed: Vec<bool> =
            (0..n).map(|d| !incidents_of[d].is_empty() || remediated_by[d].is_some()).collect();
        let recovery = recovery::recoveries(set, &failed, &remediated_by, &incidents_of, warnings);
        Self {
            production,
            ok_production,
            lead_times,
            remediated_by,
            attribution,
            incidents_of,
            failed,
            recovery,
        }
    }
}
