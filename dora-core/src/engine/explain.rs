//! The audit trail: for a group, a period and a metric, the events behind the
//! figure and why each was counted.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::metrics::change_failure::Attribution;
use super::metrics::recovery::RecoveredBy;
use super::options::{GroupKind, Options};
use super::{Computation, compute, local_time};
use crate::error::{Error, Result};
use crate::event::time::{MICROS_PER_SECOND, Micros};
use crate::event::{DeploymentStatus, DeploymentType, EventKind, EventSet};

/// A metric of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Deployments and deploy days.
    DeploymentFrequency,
    /// Lead time for changes.
    LeadTime,
    /// Change failure rate.
    ChangeFailureRate,
    /// Time to restore service.
    TimeToRestore,
    /// Failed deployment recovery time.
    RecoveryTime,
    /// Deployment rework rate.
    ReworkRate,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 6] = [
        Metric::DeploymentFrequency,
        Metric::LeadTime,
        Metric::ChangeFailureRate,
        Metric::TimeToRestore,
        Metric::RecoveryTime,
        Metric::ReworkRate,
    ];

    /// The metric's name as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::DeploymentFrequency => "deployment_frequency",
            Metric::LeadTime => "lead_time",
            Metric::ChangeFailureRate => "change_failure_rate",
            Metric::TimeToRestore => "time_to_restore",
            Metric::RecoveryTime => "recovery_time",
            Metric::ReworkRate => "rework_rate",
        }
    }
}

impl FromStr for Metric {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.replace('-', "_");
        Metric::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
            Error::option("metric", format!("{s:?} is not one of {}", names.join(", ")))
        })
    }
}

/// One event behind a figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedEvent {
    /// The event's kind.
    pub kind: EventKind,
    /// The event's id.
    pub id: String,
    /// Its service.
    pub service: String,
    /// The time that places it in the period.
    pub time: DateTime<FixedOffset>,
    /// Whether it enters the figure (a failed attempt, say, is listed but not counted).
    pub counted: bool,
    /// The duration it contributes, in seconds, for duration metrics.
    pub seconds: Option<f64>,
    /// Why it was counted (or not).
    pub reason: String,
    /// A deployment's note (e.g. Kubernetes' change-cause), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The events behind one figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The metric.
    pub metric: Metric,
    /// The group's kind.
    pub group_by: GroupKind,
    /// The group's name.
    pub name: String,
    /// The first instant of the span explained.
    pub start: DateTime<FixedOffset>,
    /// The first instant after it.
    pub end: DateTime<FixedOffset>,
    /// The events, in time order.
    pub events: Vec<ExplainedEvent>,
}

impl Explanation {
    /// How many of the events enter the figure.
    pub fn counted(&self) -> usize {
        self.events.iter().filter(|e| e.counted).count()
    }
}

/// What to explain: a metric's figure of a group, over the whole window or
/// one of its periods.
///
/// ```
/// use dora_core::{read_jsonl, EventSet, ExplainRequest, GroupKind, Metric, Options, ReadOptions, Window};
///
/// let events = r#"
/// {"kind":"deployment","id":"d1","service":"api","team":"core","environment":"production","finished_at":"2026-03-02T12:00:00Z","status":"success"}
/// {"kind":"deployment","id":"d2","service":"web","team":"core","environment":"production","finished_at":"2026-03-03T12:00:00Z","status":"failure"}
/// "#;
/// let mut set = EventSet::new();
/// read_jsonl(events.as_bytes(), None, &mut set, &ReadOptions::default())?;
/// let window = Window::new("2026-03-02T00:00:00Z".parse()?, "2026-03-09T00:00:00Z".parse()?)?;
/// let request = ExplainRequest::new(Metric::DeploymentFrequency, None, Some("core"), None);
/// assert_eq!((request.group_by, request.name.as_str()), (GroupKind::Team, "core"));
/// let mut options = Options::new(window);
/// options.group_by = vec![GroupKind::All]; // the request adds its group kind
/// let explanation = request.explain(&set, &options)?;
/// assert_eq!((explanation.events.len(), explanation.counted()), (2, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainRequest {
    /// The metric.
    pub metric: Metric,
    /// The group's kind.
    pub group_by: GroupKind,
    /// The group's name (`all` for all services).
    pub name: String,
    /// An index into the window's periods, or `None` for the whole window.
    pub period: Option<usize>,
}

impl ExplainRequest {
    /// The figure of `service` if given, else of `team` if given, else of
    /// all services.
    pub fn new(metric: Metric, service: Option<&str>, team: Option<&str>, period: Option<usize>) -> Self {
        let (group_by, name) = match (service, team) {
            (Some(s), _) => (GroupKind::Service, s),
            (_, Some(t)) => (GroupKind::Team, t),
            _ => (GroupKind::All, "all"),
        };
        Self { metric, group_by, name: name.to_string(), period }
    }

    /// Computes the metrics of `options` (with the request's group kind
    /// added to its groups) and explains the requested figure. An unknown
    /// group or a period out of range is an [`Error::InvalidOption`].
    pub fn explain(&self, set: &EventSet, options: &Options) -> Result<Explanation> {
        let mut options = options.clone();
        if !options.group_by.contains(&self.group_by) {
            options.group_by.push(self.group_by);
        }
        compute(set, &options)?.explain(self.group_by, &self.name, self.period, self.metric)
    }
}

fn secs(m: Micros) -> f64 {
    m as f64 / MICROS_PER_SECOND as f64
}

impl Computation<'_> {
    /// Lists the events behind one figure of the report: `period` is an index
    /// into the group's periods, or `None` for the window's summary.
    pub fn explain(
        &self,
        group_by: GroupKind,
        name: &str,
        period: Option<usize>,
        metric: Metric,
    ) -> Result<Explanation> {
        let set = self.set;
        let tz = self.options.timezone;
        let (from, to) = match period {
            Some(p) if p < self.calendar.periods() => {
                (self.calendar.period_bounds[p], self.calendar.period_bounds[p + 1])
            }
            Some(p) => {
                return Err(Error::option(
                    "period",
                    format!("period {p} is out of range (0..{})", self.calendar.periods()),
                ));
            }
            None => (self.options.window.since_micros(), self.options.window.until_micros()),
        };
        let id =
            match group_by {
                GroupKind::All => None,
                _ => Some(set.names.get(name).ok_or_else(|| {
                    Error::option("group", format!("no {} named {name:?}", group_by.as_str()))
                })?),
            };
        let member = |service: u32, team: Option<u32>| match group_by {
            GroupKind::All => true,
            GroupKind::Service => Some(service) == id,
            GroupKind::Team => team.is_some() && team == id,
        };
        let dep_id = |slot: u32| set.deployment_ids.resolve(slot).to_string();
        let mut events = Vec::new();
        let push_dep = |slot: usize,
                        counted: bool,
                        seconds: Option<f64>,
                        reason: String,
                        events: &mut Vec<ExplainedEvent>| {
            if let Some(d) = &set.deployments[slot] {
                events.push(ExplainedEvent {
                    kind: EventKind::Deployment,
                    id: dep_id(slot as u32),
                    service: set.name(d.service).to_string(),
                    time: local_time(d.finished_at, tz),
                    counted,
                    seconds,
                    reason,
                    note: d.note.map(|n| set.texts.get(n).to_string()),
                });
            }
        };
        let cls = &self.classified;
        let in_span = |t: Micros| from <= t && t < to;
        match metric {
            Metric::DeploymentFrequency
            | Metric::ChangeFailureRate
            | Metric::ReworkRate
            | Metric::RecoveryTime => {
                for (slot, d) in set.deployments.iter().enumerate() {
                    let Some(d) = d else { continue };
                    if !cls.production[slot] || !in_span(d.finished_at) || !member(d.service, d.team) {
                        continue;
                    }
                    let env = set.name(d.environment);
                    if d.status == DeploymentStatus::Failure {
                        if metric == Metric::DeploymentFrequency {
                            push_dep(
                                slot,
                                false,
                                None,
                                format!("failed attempt in {env}: counted in failed_attempts only"),
                                &mut events,
                            );
                        }
                        continue;
                    }
                    let failure_reasons = || {
                        let mut why: Vec<String> = cls
                            .incidents_of
                            .of(slot)
                            .iter()
                            .map(|&i| {
                                let rule = match cls.attribution[i as usize].map(|a| a.1) {
                                    Some(Attribution::CausedBy) => "its caused_by names this deployment",
                                    Some(Attribution::CausedByChange) => "its caused_by_change names a change this deployment shipped",
                                    _ => "inferred: latest deployment of the service within the attribution window before it",
                                };
                                format!("incident {} attributed ({rule})", set.incident_ids.resolve(i))
                            })
                            .collect();
                        if let Some(r) = cls.remediated_by[slot] {
                            let how = if r.explicit {
                                "lists it in remediates"
                            } else {
                                "is a rollback/hotfix of the same service and environment after it"
                            };
                            why.push(format!("remediated by deployment {} (which {how})", dep_id(r.by)));
                        }
                        why.join("; ")
                    };
                    match metric {
                        Metric::DeploymentFrequency => push_dep(
                            slot,
                            true,
                            None,
                            format!("successful deployment to production environment {env:?}"),
                            &mut events,
                        ),
                        Metric::ChangeFailureRate => {
                            let reason = if cls.failed[slot] {
                                format!("failed: {}", failure_reasons())
                            } else {
                                "did not fail: no incident attributed, not remediated".to_string()
                            };
                            push_dep(slot, true, None, reason, &mut events)
                        }
                        Metric::ReworkRate => {
                            let reason = match d.deployment_type {
                                DeploymentType::Rollback => "rework: a rollback",
                                DeploymentType::Hotfix => "rework: a hotfix",
                                DeploymentType::Regular => "not rework: a regular deployment",
                            };
                            push_dep(slot, true, None, reason.to_string(), &mut events)
                        }
                        _ => {
                            if !cls.failed[slot] {
                                continue;
                            }
                            match cls.recovery[slot] {
                                Some(r) => {
                                    let how = match r.by {
                                        RecoveredBy::Remediation(by) => {
                                            format!("recovered when deployment {} finished", dep_id(by))
                                        }
                                        RecoveredBy::IncidentsResolved => {
                                            "recovered when the last of its attributed incidents was resolved"
                                                .to_string()
                                        }
                                    };
                                    push_dep(
                                        slot,
                                        true,
                                        Some(secs(r.duration)),
                                        format!("{how}; failed: {}", failure_reasons()),
                                        &mut events,
                                    )
                                }
                                None => push_dep(
                                    slot,
                                    false,
                                    None,
                                    format!("unrecovered; failed: {}", failure_reasons()),
                                    &mut events,
                                ),
                            }
                        }
                    }
                }
            }
            Metric::LeadTime => {
                for lt in &cls.lead_times {
                    let (Some(d), Some(c)) =
                        (&set.deployments[lt.deployment as usize], &set.changes[lt.change as usize])
                    else {
                        continue;
                    };
                    if !in_span(d.finished_at) || !member(d.service, d.team) {
                        continue;
                    }
                    events.push(ExplainedEvent {
                        kind: EventKind::Change,
                        id: set.change_ids.resolve(lt.change).to_string(),
                        service: set.name(c.service).to_string(),
                        time: local_time(d.finished_at, tz),
                        counted: true,
                        seconds: Some(secs(lt.total)),
                        reason: format!(
                            "shipped by deployment {} (the earliest successful production deployment listing it){}",
                            dep_id(lt.deployment),
                            c.pull_request().and_then(|p| p.number).map(|n| format!("; pull request #{n}")).unwrap_or_default()
                        ),
                        note: None,
                    });
                }
            }
            Metric::TimeToRestore => {
                for (slot, i) in set.incidents.iter().enumerate() {
                    let Some(i) = i else { continue };
                    if !in_span(i.opened_at) || !member(i.service, i.team) {
                        continue;
                    }
                    let seconds = i.resolved_at.map(|r| secs((r - i.opened_at).max(0)));
                    events.push(ExplainedEvent {
                        kind: EventKind::Incident,
                        id: set.incident_ids.resolve(slot as u32).to_string(),
                        service: set.name(i.service).to_string(),
                        time: local_time(i.opened_at, tz),
                        counted: seconds.is_some(),
                        seconds,
                        reason: if seconds.is_some() {
                            "resolved: opened to resolved".to_string()
                        } else {
                            "unresolved: counted in unresolved only".to_string()
                        },
                        note: None,
                    });
                }
            }
        }
        events.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(Explanation {
            metric,
            group_by,
            name: name.to_string(),
            start: local_time(from, tz),
            end: local_time(to, tz),
            events,
        })
    }
}
