//! Lead time for changes (METRICS.md section 3).
//!
//! A change is *shipped* by the earliest successful production deployment
//! that lists it. Its lead time is that deployment's `finished_at` minus the
//! change's start (`committed_at`, or the pull request's `first_commit_at`
//! with `lead_time_start = first_commit`). A negative lead time counts as 0
//! and is warned about. Stages (coding, review, deploy) come from the pull
//! request's times, leaving out negative spans.

use crate::engine::options::LeadTimeStart;
use crate::engine::warnings::{WarningKind, Warnings};
use crate::event::EventSet;
use crate::event::time::Micros;

/// Marks an unknown stage in [`LeadTime::stages`] (a span is never negative).
const NO_SPAN: Micros = -1;

/// One shipped change's lead time. There is one per change, so it is kept
/// flat: 40 bytes instead of 64 with `Option`s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeadTime {
    pub change: u32,
    pub deployment: u32,
    /// Microseconds, never negative.
    pub total: Micros,
    /// Coding (`first_commit_at` -> `opened_at`), review (`opened_at` ->
    /// `merged_at`) and deploy (`merged_at` -> shipped), [`NO_SPAN`]
    /// where unknown: read them with [`LeadTime::stages`].
    stages: [Micros; 3],
}

impl LeadTime {
    /// A lead time with these values (for tests elsewhere in the engine).
    #[cfg(test)]
    pub fn new(total: Micros, stages: [Option<Micros>; 3]) -> Self {
        Self { change: 0, deployment: 0, total, stages: stages.map(|s| s.unwrap_or(NO_SPAN)) }
    }

    /// The coding, review and deploy stages, where known.
    pub fn stages(&self) -> [Option<Micros>; 3] {
        self.stages.map(|s| (s != NO_SPAN).then_some(s))
    }
}

/// Per change slot, the deployment that shipped it. `ok_sorted` holds the
/// successful production deployments in deployment order, so the first to
/// list a change is the earliest.
pub(crate) fn shipping(set: &EventSet, ok_sorted: &[u32], warnings: &mut Warnings) -> Vec<Option<u32>> {
    let mut shipped_by: Vec<Option<u32>> = vec![None; set.change_ids.len()];
    for &d in ok_sorted {
        let Some(dep) = &set.deployments[d as usize] else { continue };
        let mut unknown = 0usize;
        for &c in dep.changes.of(&set.change_refs) {
            let slot = &mut shipped_by[c as usize];
            if slot.is_none() {
                *slot = Some(d);
            }
            if set.changes.get(c as usize).is_none_or(Option::is_none) {
                unknown += 1;
            }
        }
        if unknown > 0 {
            warnings.add(WarningKind::UnknownChange, || {
                format!(
                    "deployment {}: {unknown} listed change(s) have no change event; they have no lead time",
                    set.deployment_ids.resolve(d)
                )
            });
        }
    }
    shipped_by
}

fn span(from: Option<Micros>, to: Option<Micros>) -> Option<Micros> {
    match (from, to) {
        (Some(a), Some(b)) if b >= a => Some(b - a),
        _ => None,
    }
}

/// The lead time of every shipped change that has a change event, in the
/// order of `ok_sorted` (the successful production deployments in
/// deployment order), so by when the shipping deployment finished.
pub(crate) fn lead_times(
    set: &EventSet,
    ok_sorted: &[u32],
    shipped_by: &[Option<u32>],
    start: LeadTimeStart,
    warnings: &mut Warnings,
) -> Vec<LeadTime> {
    let mut out = Vec::with_capacity(set.changes.len());
    // A deployment may list a change twice: each change counts once.
    let mut done = vec![false; shipped_by.len()];
    // Negative lead times, warned about in change order afterwards.
    let mut negative: Vec<(u32, u32)> = Vec::new();
    for &d in ok_sorted {
        let Some(dep) = &set.deployments[d as usize] else { continue };
        for &slot in dep.changes.of(&set.change_refs) {
            let s = slot as usize;
            if shipped_by.get(s) != Some(&Some(d)) || std::mem::replace(&mut done[s], true) {
                continue;
            }
            let Some(Some(change)) = set.changes.get(s) else { continue };
            let pr = change.pull_request().unwrap_or_default();
            let from = match start {
                LeadTimeStart::Commit => change.committed_at,
                LeadTimeStart::FirstCommit => pr.first_commit_at.unwrap_or(change.committed_at),
            };
            let mut total = dep.finished_at - from;
            if total < 0 {
                negative.push((slot, d));
                total = 0;
            }
            out.push(LeadTime {
                change: slot,
                deployment: d,
                total,
                stages: [
                    span(pr.first_commit_at, pr.opened_at),
                    span(pr.opened_at, pr.merged_at),
                    span(pr.merged_at, Some(dep.finished_at)),
                ]
                .map(|s| s.unwrap_or(NO_SPAN)),
            });
        }
    }
    negative.sort_unstable();
    for (slot, d) in negative {
        warnings.add(WarningKind::NegativeLeadTime, || {
            format!(
                "change {}: committed after its shipping deployment {}; lead time counted as 0",
                set.change_ids.resolve(slot),
                set.deployment_ids.resolve(d)
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use crate::{Change, Deployment, DeploymentStatus, DeploymentType, EventSet, Options, Window, compute};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }

    fn change(id: &str, h: u32) -> Change {
        Change {
            id: id.into(),
            service: "api".into(),
            team: None,
            source: None,
            committed_at: at(h),
            authored_at: None,
            pull_request: None,
        }
    }

    fn deployment(id: &str, h: u32, changes: &[&str]) -> Deployment {
        Deployment {
            id: id.into(),
            service: "api".into(),
            team: None,
            source: None,
            environment: "production".into(),
            finished_at: at(h),
            started_at: None,
            status: DeploymentStatus::Success,
            commit: None,
            changes: changes.iter().map(|c| c.to_string()).collect(),
            deployment_type: DeploymentType::Regular,
            remediates: vec![],
            note: None,
        }
    }

    #[test]
    fn a_change_listed_twice_counts_once_and_negative_ones_are_warned_in_change_order() {
        let mut set = EventSet::new();
        // Change slots in this order: z (late), a (late), b.
        set.push(change("z", 20));
        set.push(change("a", 21));
        set.push(change("b", 1));
        // The later deployment comes first in the input.
        set.push(deployment("d2", 12, &["z"]));
        set.push(deployment("d1", 10, &["b", "b", "a"]));
        let window = Window::new(at(0), at(23)).unwrap();
        let report = compute(&set, &Options::new(window)).unwrap().report;
        let all = &report.groups[0].summary.figures;
        assert_eq!(all.lead_time.count, 3);
        let negative: Vec<&String> =
            report.warnings.iter().filter(|w| w.contains("committed after")).collect();
        assert_eq!(negative.len(), 2, "{:?}", report.warnings);
        assert!(negative[0].starts_with("change z:") && negative[1].starts_with("change a:"), "{negative:?}");
    }
}
