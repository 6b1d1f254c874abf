//! Performance levels, profile `dora-2023` (METRICS.md section 4).

use serde::{Deserialize, Serialize};

/// A DORA performance level. Ordered from `Low` to `Elite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Slower than monthly, or long lead/recovery times, or a high failure rate.
    Low,
    /// Weekly to monthly.
    Medium,
    /// Daily to weekly.
    High,
    /// On demand.
    Elite,
}

impl Level {
    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Elite => "elite",
        }
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;
const WEEK: f64 = 7.0 * DAY;

/// Lead time band from the median in seconds.
pub(crate) fn lead_time(median_seconds: Option<f64>) -> Option<Level> {
    median_seconds.map(|m| match m {
        m if m < DAY => Level::Elite,
        m if m < WEEK => Level::High,
        m if m < 30.0 * DAY => Level::Medium,
        _ => Level::Low,
    })
}

/// Change failure rate band, computed exactly on the counts.
pub(crate) fn change_failure_rate(failed: u64, deployments: u64) -> Option<Level> {
    if deployments == 0 {
        return None;
    }
    let pct100 = failed as u128 * 100;
    let d = deployments as u128;
    Some(match pct100 {
        p if p <= 5 * d => Level::Elite,
        p if p <= 10 * d => Level::High,
        p if p <= 15 * d => Level::Medium,
        _ => Level::Low,
    })
}

/// Failed deployment recovery band from the median in seconds.
pub(crate) fn recovery_time(median_seconds: Option<f64>) -> Option<Level> {
    median_seconds.map(|m| match m {
        m if m < HOUR => Level::Elite,
        m if m < DAY => Level::High,
        m if m < WEEK => Level::Medium,
        _ => Level::Low,
    })
}

/// The lowest of the levels that are not `None`.
pub(crate) fn overall(levels: &[Option<Level>]) -> Option<Level> {
    levels.iter().flatten().min().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_at_their_edges() {
        assert_eq!(change_failure_rate(1, 20), Some(Level::Elite));
        assert_eq!(change_failure_rate(2, 20), Some(Level::High));
        assert_eq!(change_failure_rate(3, 20), Some(Level::Medium));
        assert_eq!(change_failure_rate(4, 20), Some(Level::Low));
        assert_eq!(change_failure_rate(0, 0), None);
        assert_eq!(lead_time(Some(DAY - 1.0)), Some(Level::Elite));
        assert_eq!(lead_time(Some(DAY)), Some(Level::High));
        assert_eq!(lead_time(Some(30.0 * DAY)), Some(Level::Low));
        assert_eq!(recovery_time(Some(HOUR)), Some(Level::High));
        assert_eq!(recovery_time(None), None);
        assert_eq!(overall(&[None, Some(Level::High), Some(Level::Medium)]), Some(Level::Medium));
        assert_eq!(overall(&[None, None]), None);
    }
}
