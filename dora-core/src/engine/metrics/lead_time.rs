//! Lead time for changes (METRICS.md section 3).
//!
//! A change is *shipped* by the earliest successful production deployment
//! that lists it. Its lead time is that deployment's `finished_at` minus the
//! change's start (`committed_at`, or the pull request's `first_commit_at`
//! with `lead_time_start = first_commit`). A negative lead time counts as 0
//! and is warned about. Stages (coding, review, deploy) come from the pull
//! request's times, leaving out negative spans.

use std::sync::{Mutex, PoisonError};

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

/// Deployments claimed at a time by one side of a [`LeadTimeJob`].
const CLAIM: usize = 4096;
/// Deployments whose change records are touched together.
const TOUCH_AHEAD: usize = 8;

/// The lead times of the changes shipped by successful production
/// deployments, computed from both ends of the deployments (in
/// deployment order) by two threads: each claims runs of deployments until
/// they meet. A change is computed by its shipping deployment only, so the
/// runs are independent, and put together in order they give exactly
/// what one pass would.
pub(crate) struct LeadTimeJob<'a> {
    set: &'a EventSet,
    ok_sorted: &'a [u32],
    shipped_by: &'a [Option<u32>],
    start: LeadTimeStart,
    /// The deployments not claimed yet: `ok_sorted[front..back]`.
    unclaimed: Mutex<(usize, usize)>,
}

/// What one side of a [`LeadTimeJob`] computed.
pub(crate) struct LeadTimePart {
    /// Runs of lead times, in deployment order.
    runs: Vec<Vec<LeadTime>>,
    /// Negative lead times: (change slot, deployment slot).
    negative: Vec<(u32, u32)>,
}

impl<'a> LeadTimeJob<'a> {
    pub fn new(
        set: &'a EventSet,
        ok_sorted: &'a [u32],
        shipped_by: &'a [Option<u32>],
        start: LeadTimeStart,
    ) -> Self {
        Self { set, ok_sorted, shipped_by, start, unclaimed: Mutex::new((0, ok_sorted.len())) }
    }

    /// The next run of deployments for the front or the back side.
    fn claim(&self, front: bool) -> Option<std::ops::Range<usize>> {
        let mut unclaimed = self.unclaimed.lock().unwrap_or_else(PoisonError::into_inner);
        let (a, b) = *unclaimed;
        if a >= b {
            return None;
        }
        if front {
            unclaimed.0 = (a + CLAIM).min(b);
            Some(a..unclaimed.0)
        } else {
            unclaimed.1 = b.saturating_sub(CLAIM).max(a);
            Some(unclaimed.1..b)
        }
    }

    /// Works from the first deployments on until all are claimed.
    pub fn run_front(&self) -> LeadTimePart {
        let mut out = Vec::with_capacity(self.set.changes.len());
        let mut part = LeadTimePart { runs: Vec::new(), negative: Vec::new() };
        let mut done = vec![false; self.shipped_by.len()];
        while let Some(run) = self.claim(true) {
            self.compute(&self.ok_sorted[run], &mut done, &mut out, &mut part.negative);
        }
        part.runs.push(out);
        part
    }

    /// Works from the last deployments back until all are claimed.
    pub fn run_back(&self) -> LeadTimePart {
        let mut part = LeadTimePart { runs: Vec::new(), negative: Vec::new() };
        let mut done = vec![false; self.shipped_by.len()];
        while let Some(run) = self.claim(false) {
            let mut out = Vec::new();
            self.compute(&self.ok_sorted[run], &mut done, &mut out, &mut part.negative);
            part.runs.push(out);
        }
        part.runs.reverse();
        part
    }

    /// Puts both sides together, in deployment order, and warns about the
    /// negative lead times (in change order).
    pub fn finish(&self, front: LeadTimePart, back: LeadTimePart, warnings: &mut Warnings) -> Vec<LeadTime> {
        let mut runs = front.runs.into_iter().chain(back.runs);
        let mut out = runs.next().unwrap_or_default();
        for run in runs {
            out.extend(run);
        }
        let mut negative = front.negative;
        negative.extend(back.negative);
        negative.sort_unstable();
        let set = self.set;
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

    /// The lead times of the changes `deployments` shipped, in order.
    fn compute(
        &self,
        deployments: &[u32],
        done: &mut [bool],
        out: &mut Vec<LeadTime>,
        negative: &mut Vec<(u32, u32)>,
    ) {
        let set = self.set;
        for group in deployments.chunks(TOUCH_AHEAD) {
            // The change records are read first, one load after another, so
            // their cache misses overlap (see the reader's touches).
            let mut touched = 0;
            for &d in group {
                let Some(dep) = &set.deployments[d as usize] else { continue };
                for &slot in dep.changes.of(&set.change_refs) {
                    if let Some(Some(change)) = set.changes.get(slot as usize) {
                        touched ^= change.touch();
                    }
                }
            }
            std::hint::black_box(touched);
            for &d in group {
                let Some(dep) = &set.deployments[d as usize] else { continue };
                for &slot in dep.changes.of(&set.change_refs) {
                    let s = slot as usize;
                    // A deployment may list a change twice: each change counts once.
                    if self.shipped_by.get(s) != Some(&Some(d)) || std::mem::replace(&mut done[s], true) {
                        continue;
                    }
                    let Some(Some(change)) = set.changes.get(s) else { continue };
                    let pr = change.pull_request().unwrap_or_default();
                    let from = match self.start {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::{CLAIM, LeadTimeJob, shipping};
    use crate::engine::classify::sort_by_deployment_order;
    use crate::engine::options::LeadTimeStart;
    use crate::engine::warnings::Warnings;
    use crate::{Change, Deployment, EventSet, Options, Window, compute, test_events};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }

    fn change(id: &str, h: u32) -> Change {
        test_events::change(id, at(h))
    }

    fn deployment(id: &str, h: u32, changes: &[&str]) -> Deployment {
        test_events::deployment(id, at(h), changes)
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

    #[test]
    fn both_sides_of_the_job_put_together_give_the_one_pass_order() {
        // More deployments than three claims, each shipping its own change
        // and listing the previous one again (already shipped).
        let n = 3 * CLAIM + 17;
        let mut set = EventSet::new();
        for i in 0..n {
            let mut c = change(&format!("c{i}"), 0);
            // Every seventh change is committed after its deployment.
            if i % 7 == 0 {
                c.committed_at = at(22);
            }
            set.push(c);
            let previous = format!("c{}", i.saturating_sub(1));
            let mut d = deployment(&format!("d{i}"), 0, &[&format!("c{i}"), &previous]);
            d.finished_at = at(1) + chrono::Duration::seconds(i as i64);
            set.push(d);
        }
        let mut ok_sorted: Vec<u32> = (0..n as u32).collect();
        sort_by_deployment_order(&set, &mut ok_sorted, |_| ());
        let shipped_by = shipping(&set, &ok_sorted, &mut Warnings::default());
        let order = |lead: &[super::LeadTime]| {
            lead.iter().map(|l| (l.change, l.deployment, l.total)).collect::<Vec<_>>()
        };
        let run = |front: bool, back: bool| {
            let job = LeadTimeJob::new(&set, &ok_sorted, &shipped_by, LeadTimeStart::Commit);
            let (mut f, mut b) = (None, None);
            if front {
                f = Some(job.run_front());
            }
            if back {
                b = Some(job.run_back());
            }
            let empty = || LeadTimeJob::new(&set, &[], &shipped_by, LeadTimeStart::Commit).run_back();
            let mut warnings = Warnings::default();
            let lead = job.finish(f.unwrap_or_else(empty), b.unwrap_or_else(empty), &mut warnings);
            (order(&lead), warnings.into_messages())
        };
        let (front_only, warned) = run(true, false);
        assert_eq!(front_only.len(), n);
        assert!(front_only.windows(2).all(|w| w[0].1 < w[1].1), "in deployment order");
        // In change order: c0 first; the rest are counted.
        assert!(warned[0].starts_with("change c0:"), "{warned:?}");
        let more = format!("and {} more", n.div_ceil(7) - (warned.len() - 1));
        assert!(warned.last().is_some_and(|w| w.contains(&more)), "{warned:?}");
        assert_eq!(run(false, true), (front_only.clone(), warned.clone()), "the back side alone");
        let job = LeadTimeJob::new(&set, &ok_sorted, &shipped_by, LeadTimeStart::Commit);
        let both = std::thread::scope(|scope| {
            let front = scope.spawn(|| job.run_front());
            let back = job.run_back();
            let mut warnings = Warnings::default();
            let lead = job.finish(front.join().unwrap(), back, &mut warnings);
            (order(&lead), warnings.into_messages())
        });
        assert_eq!(both, (front_only, warned), "both sides at once");
    }
}
