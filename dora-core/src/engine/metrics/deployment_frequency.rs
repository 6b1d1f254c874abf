//! Deployment frequency (METRICS.md sections 3 and 4).
//!
//! `deployments` counts successful production deployments finishing in the
//! period; `deploy_days` the distinct local days with one;
//! `deployments_per_day` divides by the calendar days the period touches.
//! The level uses the median of deploy days per whole week of the window,
//! then per whole month (DevLake's convention).

use crate::engine::levels::Level;
use crate::engine::stats::median;

/// The deployment frequency band, from deploy days per whole week and per
/// whole month (each slice holds every whole unit, zeros included).
pub(crate) fn level(days_per_week: &[f64], days_per_month: &[f64]) -> Option<Level> {
    let weekly = median(days_per_week)?;
    if weekly >= 5.0 {
        return Some(Level::Elite);
    }
    if weekly >= 1.0 {
        return Some(Level::High);
    }
    let monthly = median(days_per_month)?;
    Some(if monthly >= 1.0 { Level::Medium } else { Level::Low })
}

/// Deployments per calendar day touched.
pub(crate) fn per_day(deployments: u64, days: u32) -> f64 {
    if days == 0 { 0.0 } else { deployments as f64 / days as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands() {
        assert_eq!(level(&[5.0, 5.0, 0.0], &[]), Some(Level::Elite));
        assert_eq!(level(&[1.0, 0.0, 2.0], &[]), Some(Level::High));
        assert_eq!(level(&[0.0, 0.0, 1.0], &[1.0]), Some(Level::Medium));
        assert_eq!(level(&[0.0, 0.0, 1.0], &[0.0, 1.0, 0.0]), Some(Level::Low));
        assert_eq!(level(&[0.0], &[]), None);
        assert_eq!(level(&[], &[3.0]), None);
    }
}
