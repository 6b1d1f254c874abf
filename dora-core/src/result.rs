//! The typed `dora.metrics/v1` output (METRICS.md section 5).
//!
//! Durations are seconds. A statistic over no values, and a rate with a zero
//! denominator, is `None` (JSON `null`), never 0.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::engine::levels::Level;
use crate::engine::options::{GroupKind, Period};

/// The schema name of [`MetricsReport`].
pub const METRICS_SCHEMA: &str = "dora.metrics/v1";

/// The metrics of a window, for every group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Always [`METRICS_SCHEMA`].
    pub schema: String,
    /// The window figures are counted in.
    pub window: ReportWindow,
    /// How the window is cut.
    pub period: Period,
    /// The IANA time zone of periods and days.
    pub timezone: String,
    /// `all` first, then services and teams by name.
    pub groups: Vec<GroupMetrics>,
    /// Data-quality warnings (a few examples of each kind, then a count).
    pub warnings: Vec<String>,
}

/// `[since, until)`, in the report's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportWindow {
    /// The first instant.
    pub since: DateTime<FixedOffset>,
    /// The first instant after the window.
    pub until: DateTime<FixedOffset>,
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMetrics {
    /// The group's kind.
    pub group_by: GroupKind,
    /// The service or team name, or `all`.
    pub name: String,
    /// Every period of the window, empty ones too.
    pub periods: Vec<PeriodMetrics>,
    /// The whole window, with performance levels.
    pub summary: Summary,
}

/// The figures of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodMetrics {
    /// The period's first instant (the window's start for a partial first period).
    pub start: DateTime<FixedOffset>,
    /// The first instant after the period.
    pub end: DateTime<FixedOffset>,
    /// The figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// The cost of the group in the period; present only with cost data
    /// (METRICS.md section 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostFigures>,
}

/// The figures of a whole window, with levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// DORA performance levels.
    pub levels: Levels,
    /// The cost of the group over the window; present only with cost data
    /// (METRICS.md section 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostFigures>,
}

/// The cost of a group over a period or the window (METRICS.md section 7):
/// the sum of the prorated parts of its cost rows, never converted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostFigures {
    /// The sum (0 where no part falls in the span; negative with credits).
    pub amount: f64,
    /// The currency of every cost row in the window (`USD`).
    pub currency: String,
    /// `amount / deployments`; `None` without deployments.
    pub per_deployment: Option<f64>,
    /// `amount / ` changes shipped (`lead_time.count`); `None` without any.
    pub per_change: Option<f64>,
}

impl CostFigures {
    /// The cost `amount` in `currency` beside the figures `f` of the same
    /// group and span.
    pub fn new(amount: f64, currency: &str, f: &Figures) -> Self {
        let per = |n: u64| (n > 0).then(|| amount / n as f64);
        Self {
            amount,
            currency: currency.to_string(),
            per_deployment: per(f.deployments),
            per_change: per(f.lead_time.count),
        }
    }
}

/// The metrics of one group over one span of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Successful production deployments.
    pub deployments: u64,
    /// Distinct local days with at least one deployment.
    pub deploy_days: u64,
    /// Deployments per calendar day touched.
    pub deployments_per_day: f64,
    /// Failure-status production deployments (never in a denominator).
    pub failed_attempts: u64,
    /// Lead time for changes.
    pub lead_time: LeadTimeFigures,
    /// Change failure rate.
    pub change_failure_rate: ChangeFailureFigures,
    /// Time to restore service.
    pub time_to_restore: RestoreFigures,
    /// Failed deployment recovery time.
    pub recovery_time: RecoveryFigures,
    /// Deployment rework rate.
    pub rework_rate: ReworkFigures,
}

/// Lead time statistics, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadTimeFigures {
    /// Changes shipped.
    pub count: u64,
    /// Interpolated median.
    pub median: Option<f64>,
    /// 90th percentile (linear interpolation).
    pub p90: Option<f64>,
    /// Medians of the pull request stages.
    pub stages: Stages,
}

/// Medians of the pull-request stages, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    /// `first_commit_at` -> `opened_at`.
    pub coding: Option<f64>,
    /// `opened_at` -> `merged_at`.
    pub review: Option<f64>,
    /// `merged_at` -> shipped.
    pub deploy: Option<f64>,
}

/// Change failure rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeFailureFigures {
    /// Deployments that failed in production.
    pub failed: u64,
    /// Deployments.
    pub deployments: u64,
    /// `failed / deployments`.
    pub rate: Option<f64>,
}

/// Time to restore service, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreFigures {
    /// Resolved incidents.
    pub count: u64,
    /// Unresolved incidents (not in the statistics).
    pub unresolved: u64,
    /// Interpolated median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// Failed deployment recovery time, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryFigures {
    /// Recovered failures.
    pub count: u64,
    /// Failures not recovered (not in the statistics).
    pub unrecovered: u64,
    /// Interpolated median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// Deployment rework rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReworkFigures {
    /// Rollback and hotfix deployments.
    pub rework: u64,
    /// Deployments.
    pub deployments: u64,
    /// `rework / deployments`.
    pub rate: Option<f64>,
}

/// DORA performance levels of one group over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    /// From deploy days per week and per month.
    pub deployment_frequency: Option<Level>,
    /// From the median lead time.
    pub lead_time: Option<Level>,
    /// From the change failure rate.
    pub change_failure_rate: Option<Level>,
    /// From the median recovery time.
    pub recovery_time: Option<Level>,
    /// The lowest of the others.
    pub overall: Option<Level>,
}

impl MetricsReport {
    /// The group of this kind and name.
    pub fn group(&self, kind: GroupKind, name: &str) -> Option<&GroupMetrics> {
        self.groups.iter().find(|g| g.group_by == kind && g.name == name)
    }
}
