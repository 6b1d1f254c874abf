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

/// The lead time of every shipped change that has a change event.
pub(crate) fn lead_times(
    set: &EventSet,
    shipped_by: &[Option<u32>],
    start: LeadTimeStart,
    warnings: &mut Warnings,
) -> Vec<LeadTime> {
    let mut out = Vec::with_capacity(set.changes.len());
    for (slot, ship) in shipped_by.iter().enumerate() {
        let (Some(d), Some(Some(change))) = (ship, set.changes.get(slot)) else { continue };
        let Some(dep) = &set.deployments[*d as usize] else { continue };
        let pr = change.pull_request().unwrap_or_default();
        let from = match start {
            LeadTimeStart::Commit => change.committed_at,
            LeadTimeStart::FirstCommit => pr.first_commit_at.unwrap_or(change.committed_at),
        };
        let mut total = dep.finished_at - from;
        if total < 0 {
            warnings.add(WarningKind::NegativeLeadTime, || {
                format!(
                    "change {}: committed after its shipping deployment {}; lead time counted as 0",
                    set.change_ids.resolve(slot as u32),
                    set.deployment_ids.resolve(*d)
                )
            });
            total = 0;
        }
        out.push(LeadTime {
            change: slot as u32,
            deployment: *d,
            total,
            stages: [
                span(pr.first_commit_at, pr.opened_at),
                span(pr.opened_at, pr.merged_at),
                span(pr.merged_at, Some(dep.finished_at)),
            ]
            .map(|s| s.unwrap_or(NO_SPAN)),
        });
    }
    out
}
