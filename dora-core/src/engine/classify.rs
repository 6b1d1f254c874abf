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
use crate::engine::parallel;
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

/// `items` ordered by `bucket(item)` (below `buckets`), keeping their order
/// within a bucket; items without a bucket are left out. A stable counting
/// sort, in linear time: with few buckets, its writes go to few places at
/// a time.
pub(crate) fn counting_sort<T: Copy>(
    items: &[T],
    buckets: usize,
    bucket: impl Fn(&T) -> Option<u32>,
) -> Vec<T> {
    let mut next = vec![0usize; buckets + 1];
    for b in items.iter().filter_map(&bucket) {
        next[b as usize + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let Some(&first) = items.first() else { return Vec::new() };
    // Every place is written once below: the fill only sizes the vector.
    let mut out = vec![first; next[buckets]];
    for item in items {
        if let Some(b) = bucket(item) {
            let at = &mut next[b as usize];
            out[*at] = *item;
            *at += 1;
        }
    }
    out
}

/// `items` (in deployment order) stably ordered by `key`, an interned name
/// (below `names`): the order of sorting by (key, `finished_at`, `seq`),
/// found by a counting sort in linear time.
pub(crate) fn group_by_name<T: Copy>(items: &[T], names: usize, key: impl Fn(&T) -> u32) -> Vec<T> {
    counting_sort(items, names, |item| Some(key(item)))
}

/// The incidents attributed to each deployment, in incident order: one
/// list of incident slots, cut by deployment (a few bytes per deployment,
/// where a list each would take 24).
#[derive(Debug)]
pub(crate) struct IncidentsOf {
    /// Per deployment slot, where its incidents start in `incidents`; one more at the end.
    starts: Vec<u32>,
    incidents: Vec<u32>,
}

impl IncidentsOf {
    fn new(deployments: usize, attribution: &[Option<(u32, change_failure::Attribution)>]) -> Self {
        let mut starts = vec![0u32; deployments + 1];
        for (d, _) in attribution.iter().flatten() {
            starts[*d as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut incidents = vec![0u32; starts[deployments] as usize];
        for (incident, a) in attribution.iter().enumerate() {
            if let Some((d, _)) = a {
                let at = &mut next[*d as usize];
                incidents[*at as usize] = incident as u32;
                *at += 1;
            }
        }
        Self { starts, incidents }
    }

    /// The incidents attributed to the deployment at `slot`.
    pub fn of(&self, slot: usize) -> &[u32] {
        &self.incidents[self.starts[slot] as usize..self.starts[slot + 1] as usize]
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
    pub incidents_of: IncidentsOf,
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

        // Which deployment shipped each change, and which remediated each
        // deployment, are independent: a second core finds the first while
        // this one finds the second. Lead times (one per change) and the
        // rest of the failure rules (incidents, then recoveries) are
        // independent too: a second core starts on the lead times while
        // this one runs the failure rules, then joins in from the other
        // end. Each keeps its own warnings, merged in the order they ran
        // in before.
        let (mut lead_warnings, mut failure_warnings) = (Warnings::default(), Warnings::default());
        let ((shipped_by, shipping_warnings), remediated_by) = parallel::join(
            || {
                let mut shipping_warnings = Warnings::default();
                (lead_time::shipping(set, &ok_sorted, &mut shipping_warnings), shipping_warnings)
            },
            || change_failure::remediations(set, &ok_production, &ok_sorted, &mut failure_warnings),
        );
        warnings.merge(shipping_warnings);
        let lead = lead_time::LeadTimeJob::new(set, &ok_sorted, &shipped_by, opts.lead_time_start);
        let mut recovery_warnings = Warnings::default();
        let (front, (back, (remediated_by, attribution, incidents_of, failed, recovery))) = parallel::join(
            || lead.run_front(),
            || {
                let attribution = change_failure::attribute_incidents(
                    set,
                    &ok_production,
                    &ok_sorted,
                    &shipped_by,
                    opts,
                    &mut failure_warnings,
                );
                let incidents_of = IncidentsOf::new(n, &attribution);
                let failed: Vec<bool> =
                    (0..n).map(|d| !incidents_of.of(d).is_empty() || remediated_by[d].is_some()).collect();
                let recovery =
                    recovery::recoveries(set, &failed, &remediated_by, &incidents_of, &mut recovery_warnings);
                // Then this core helps with the lead times, from the last
                // deployments back.
                (lead.run_back(), (remediated_by, attribution, incidents_of, failed, recovery))
            },
        );
        let lead_times = lead.finish(front, back, &mut lead_warnings);
        warnings.merge(lead_warnings);
        warnings.merge(failure_warnings);
        warnings.merge(recovery_warnings);
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

#[cfg(test)]
mod tests {
    use super::group_by_name;

    #[test]
    fn grouping_by_name_keeps_the_order_within_each_name() {
        // (name, position in deployment order)
        let items = [(2, 0), (0, 1), (2, 2), (1, 3), (0, 4), (2, 5)];
        let grouped = group_by_name(&items, 3, |&(name, _)| name);
        assert_eq!(grouped, [(0, 1), (0, 4), (1, 3), (2, 0), (2, 2), (2, 5)]);
        // Twice, by the second key and then the first: ordered by both.
        let pairs = [(1, 1, 0), (0, 1, 1), (1, 0, 2), (0, 0, 3), (1, 1, 4)];
        let by_both = group_by_name(&group_by_name(&pairs, 2, |p| p.1), 2, |p| p.0);
        assert_eq!(by_both, [(0, 0, 3), (0, 1, 1), (1, 0, 2), (1, 1, 0), (1, 1, 4)]);
        assert!(group_by_name::<(u32, u32)>(&[], 0, |p| p.0).is_empty());
    }
}
