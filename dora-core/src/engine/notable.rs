//! Notable items of a span, for the weekly report: what a manager should
//! look at beyond the figures.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::{Computation, local_time};
use crate::event::DeploymentStatus;
use crate::event::time::{MICROS_PER_SECOND, Micros};

/// A deployment, as listed in the notable items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotableDeployment {
    /// Its id.
    pub id: String,
    /// Its service.
    pub service: String,
    /// When it finished.
    pub finished_at: DateTime<FixedOffset>,
}

/// An incident, as listed in the notable items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotableIncident {
    /// Its id.
    pub id: String,
    /// Its service.
    pub service: String,
    /// When it was opened.
    pub opened_at: DateTime<FixedOffset>,
    /// Its severity, if given.
    pub severity: Option<String>,
}

/// A shipped change and its lead time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowChange {
    /// The change's id (a commit SHA, usually).
    pub id: String,
    /// Its service.
    pub service: String,
    /// Its pull request's number, when known.
    pub pull_request: Option<u64>,
    /// The deployment that shipped it.
    pub deployment: String,
    /// Its lead time, in seconds.
    pub lead_time_seconds: f64,
}

/// Lists of things worth a look, over a span.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Notable {
    /// Failed production deployments (up to the span's end) with no
    /// recovery before the span's end.
    pub unrecovered_failures: Vec<NotableDeployment>,
    /// Incidents opened before the span's end and not resolved by then.
    pub open_incidents: Vec<NotableIncident>,
    /// The changes shipped in the span with the longest lead times, longest
    /// first.
    pub slowest_changes: Vec<SlowChange>,
    /// Successful production deployments in the span that list no change
    /// (their changes have no lead time).
    pub deployments_without_changes: Vec<NotableDeployment>,
    /// Incidents opened in the span that no deployment was found to cause.
    pub incidents_without_deployment: Vec<NotableIncident>,
}

impl Computation<'_> {
    /// The notable items of the span `[from, to)` (instants as microseconds
    /// are internal; pass the bounds of one of the report's periods) for the
    /// services `member` accepts; `slowest` caps the slow changes listed.
    pub(crate) fn notable(
        &self,
        from: Micros,
        to: Micros,
        member: impl Fn(u32, Option<u32>) -> bool,
        slowest: usize,
    ) -> Notable {
        let set = self.set;
        let cls = &self.classified;
        let tz = self.options.timezone;
        let mut out = Notable::default();
        let deployment = |slot: usize| {
            set.deployments[slot].as_ref().map(|d| NotableDeployment {
                id: set.deployment_ids.resolve(slot as u32).to_string(),
                service: set.name(d.service).to_string(),
                finished_at: local_time(d.finished_at, tz),
            })
        };
        for (slot, d) in set.deployments.iter().enumerate() {
            let Some(d) = d else { continue };
            if !cls.production[slot] || !member(d.service, d.team) || d.finished_at >= to {
                continue;
            }
            if cls.failed[slot] && cls.recovery[slot].is_none_or(|r| r.at >= to) {
                out.unrecovered_failures.extend(deployment(slot));
            }
            if d.finished_at >= from
                && d.status == DeploymentStatus::Success
                && d.changes.of(&set.change_refs).is_empty()
            {
                out.deployments_without_changes.extend(deployment(slot));
            }
        }
        for (slot, i) in set.incidents.iter().enumerate() {
            let Some(i) = i else { continue };
            if !member(i.service, i.team) || i.opened_at >= to {
                continue;
            }
            let listed = || NotableIncident {
                id: set.incident_ids.resolve(slot as u32).to_string(),
                service: set.name(i.service).to_string(),
                opened_at: local_time(i.opened_at, tz),
                severity: set.opt_name(i.severity),
            };
            if i.resolved_at.is_none_or(|r| r >= to) {
                out.open_incidents.push(listed());
            }
            if i.opened_at >= from && cls.attribution[slot].is_none() {
                out.incidents_without_deployment.push(listed());
            }
        }
        let mut slow: Vec<&super::metrics::lead_time::LeadTime> = cls
            .lead_times
            .iter()
            .filter(|lt| {
                set.deployments[lt.deployment as usize]
                    .as_ref()
                    .is_some_and(|d| from <= d.finished_at && d.finished_at < to && member(d.service, d.team))
            })
            .collect();
        slow.sort_by_key(|lt| (std::cmp::Reverse(lt.total), lt.change));
        out.slowest_changes = slow
            .into_iter()
            .take(slowest)
            .filter_map(|lt| {
                let d = set.deployments[lt.deployment as usize].as_ref()?;
                let change = set.changes.get(lt.change as usize)?.as_ref()?;
                Some(SlowChange {
                    id: set.change_ids.resolve(lt.change).to_string(),
                    service: set.name(d.service).to_string(),
                    pull_request: change.pull_request().and_then(|p| p.number),
                    deployment: set.deployment_ids.resolve(lt.deployment).to_string(),
                    lead_time_seconds: lt.total as f64 / MICROS_PER_SECOND as f64,
                })
            })
            .collect();
        out.unrecovered_failures.sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        out.deployments_without_changes.sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        out.open_incidents.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
        out.incidents_without_deployment.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
        out
    }

    /// The bounds of period `p` of the report, as internal instants.
    pub(crate) fn period_span(&self, p: usize) -> Option<(Micros, Micros)> {
        (p < self.calendar.periods())
            .then(|| (self.calendar.period_bounds[p], self.calendar.period_bounds[p + 1]))
    }

    /// A membership test for a group of the report, by kind and name.
    pub(crate) fn member_of(
        &self,
        kind: super::options::GroupKind,
        name: &str,
    ) -> impl Fn(u32, Option<u32>) -> bool + use<> {
        use super::options::GroupKind;
        let id = self.set.names.get(name);
        move |service: u32, team: Option<u32>| match kind {
            GroupKind::All => true,
            GroupKind::Service => Some(service) == id,
            GroupKind::Team => team.is_some() && team == id,
        }
    }
}
