//! Proration (METRICS.md section 7, "Proration"): a row's amount spread
//! over its charge period `[start, end)` in proportion to time, into the
//! periods of a window.
//!
//! Periods are given by their bounds, instants (cut in the time zone by
//! the calendar, so a 23- or 25-hour local day is 23 or 25 hours long
//! here): period `i` is `[bounds[i], bounds[i + 1])`, the first bound is
//! the window's start and the last its end. Durations are measured between
//! instants, so a part's share is exact to the microsecond.

use crate::event::time::Micros;

/// The parts of `amount`, charged over `[start, end)`, that fall in the
/// periods of `bounds`, as `(period index, part)`, in period order.
///
/// A period `[ps, pe)` gets `amount * |[start, end) ∩ [ps, pe)| / (end -
/// start)`; a row with `end == start` puts its whole amount in the period
/// that holds `start`. Parts outside `[bounds[0], bounds[last])` count
/// nowhere: a row wholly outside gives no part at all. `end` must not be
/// before `start` (a row that is gives no part). `bounds` must be sorted
/// and hold at least two instants.
pub fn prorate(start: Micros, end: Micros, amount: f64, bounds: &[Micros]) -> Vec<(usize, f64)> {
    let (Some(&since), Some(&until)) = (bounds.first(), bounds.last()) else { return Vec::new() };
    let periods = bounds.len().saturating_sub(1);
    // The period holding an instant of the window: the last bound at or before it.
    let period_of = |t: Micros| bounds.partition_point(|&b| b <= t).saturating_sub(1).min(periods - 1);
    if end == start {
        return if since <= start && start < until { vec![(period_of(start), amount)] } else { Vec::new() };
    }
    let (from, to) = (start.max(since), end.min(until));
    if end < start || from >= to {
        return Vec::new();
    }
    let length = (end - start) as f64;
    let mut parts = Vec::new();
    let mut p = period_of(from);
    while p < periods && bounds[p] < to {
        let overlap = to.min(bounds[p + 1]) - from.max(bounds[p]);
        if overlap > 0 {
            parts.push((p, amount * (overlap as f64 / length)));
        }
        p += 1;
    }
    parts
}

/// Whether a row charged over `[start, end)` is *in the window* whose
/// bounds are `since` and `until`: a part of it falls in the window (for
/// `end == start`: `start` lies in it).
pub fn in_window(start: Micros, end: Micros, since: Micros, until: Micros) -> bool {
    if end == start { since <= start && start < until } else { start < until && end > since && start < end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::calendar::Calendar;
    use crate::engine::options::{Period, Window};
    use crate::event::time::parse_rfc3339;
    use chrono_tz::Tz;

    fn t(s: &str) -> Micros {
        parse_rfc3339(s).unwrap()
    }

    fn bounds(since: &str, until: &str, period: Period, tz: &str) -> Vec<Micros> {
        let tz: Tz = tz.parse().unwrap();
        Calendar::new(&Window::from_micros(t(since), t(until)).unwrap(), period, tz).period_bounds
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn a_row_spanning_two_weeks_is_split_by_the_hours_in_each() {
        // Weeks of 2026-03-02 and 2026-03-09 (UTC); the row runs from
        // Sunday 2026-03-08 18:00 to Monday 2026-03-09 09:00: 6 hours in
        // the first week, 9 in the second.
        let b = bounds("2026-03-02T00:00:00Z", "2026-03-16T00:00:00Z", Period::Week, "UTC");
        let parts = prorate(t("2026-03-08T18:00:00Z"), t("2026-03-09T09:00:00Z"), 150.0, &b);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, 0);
        assert_eq!(parts[1].0, 1);
        assert!(close(parts[0].1, 150.0 * 6.0 / 15.0), "{parts:?}");
        assert!(close(parts[1].1, 150.0 * 9.0 / 15.0), "{parts:?}");
    }

    #[test]
    fn a_month_long_row_over_month_periods() {
        // A row for the whole of September charged over 2026-09-16 to
        // 2026-10-16: 15 days in September, 15 in October (30 days).
        let b = bounds("2026-09-01T00:00:00Z", "2026-11-01T00:00:00Z", Period::Month, "UTC");
        let parts = prorate(t("2026-09-16T00:00:00Z"), t("2026-10-16T00:00:00Z"), 300.0, &b);
        assert_eq!(parts.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 1]);
        assert!(close(parts[0].1, 150.0) && close(parts[1].1, 150.0), "{parts:?}");
    }

    #[test]
    fn a_23_hour_local_day_gets_23_hours_worth() {
        // Berlin went to summer time on Sunday 2026-03-29: that local day is
        // 23 hours long. A row over the local days 28, 29 and 30 March
        // (71 hours) gives the 29th 23/71 of it, the others 24/71.
        let b = bounds("2026-03-27T23:00:00Z", "2026-03-30T22:00:00Z", Period::Day, "Europe/Berlin");
        assert_eq!(b.len(), 4);
        let parts = prorate(b[0], b[3], 71.0, &b);
        let amounts: Vec<f64> = parts.iter().map(|p| p.1).collect();
        assert!(close(amounts[0], 24.0) && close(amounts[1], 23.0) && close(amounts[2], 24.0), "{amounts:?}");
    }

    #[test]
    fn a_25_hour_local_day_gets_25_hours_worth() {
        // New York went back to standard time on Sunday 2026-11-01 (25 h).
        let b = bounds("2026-10-31T04:00:00Z", "2026-11-02T05:00:00Z", Period::Day, "America/New_York");
        assert_eq!(b, vec![t("2026-10-31T04:00:00Z"), t("2026-11-01T04:00:00Z"), t("2026-11-02T05:00:00Z")]);
        let parts = prorate(b[0], b[2], 49.0, &b);
        assert!(close(parts[0].1, 24.0) && close(parts[1].1, 25.0), "{parts:?}");
    }

    #[test]
    fn an_instant_row_goes_wholly_to_the_period_holding_its_start() {
        let b = bounds("2026-03-02T00:00:00Z", "2026-03-16T00:00:00Z", Period::Week, "UTC");
        let at = t("2026-03-09T00:00:00Z");
        assert_eq!(prorate(at, at, 12.5, &b), vec![(1, 12.5)]);
        let first = t("2026-03-02T00:00:00Z");
        assert_eq!(prorate(first, first, -3.0, &b), vec![(0, -3.0)]);
        // At the window's end (exclusive) or before its start: nowhere.
        let until = t("2026-03-16T00:00:00Z");
        assert!(prorate(until, until, 1.0, &b).is_empty());
        assert!(!in_window(until, until, b[0], until));
        assert!(in_window(first, first, b[0], until));
    }

    #[test]
    fn parts_outside_the_window_count_nowhere() {
        // 10 days from 2026-02-26: 4 days before the window, 6 inside the first week.
        let b = bounds("2026-03-02T00:00:00Z", "2026-03-16T00:00:00Z", Period::Week, "UTC");
        let parts = prorate(t("2026-02-26T00:00:00Z"), t("2026-03-08T00:00:00Z"), 100.0, &b);
        assert_eq!(parts.len(), 1);
        assert!(close(parts[0].1, 60.0), "{parts:?}");
        // Crossing the end: 2026-03-15 to 2026-03-17, half inside.
        let parts = prorate(t("2026-03-15T00:00:00Z"), t("2026-03-17T00:00:00Z"), 8.0, &b);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, 1);
        assert!(close(parts[0].1, 4.0), "{parts:?}");
        // Wholly outside, and ending where the window starts.
        assert!(prorate(t("2026-02-01T00:00:00Z"), t("2026-03-02T00:00:00Z"), 5.0, &b).is_empty());
        assert!(!in_window(t("2026-02-01T00:00:00Z"), t("2026-03-02T00:00:00Z"), b[0], b[2]));
        assert!(in_window(t("2026-02-01T00:00:00Z"), t("2026-03-02T00:00:01Z"), b[0], b[2]));
    }

    #[test]
    fn credits_are_prorated_like_charges() {
        let b = bounds("2026-03-02T00:00:00Z", "2026-03-16T00:00:00Z", Period::Week, "UTC");
        let parts = prorate(t("2026-03-06T00:00:00Z"), t("2026-03-10T00:00:00Z"), -40.0, &b);
        assert!(close(parts[0].1, -30.0) && close(parts[1].1, -10.0), "{parts:?}");
    }
}
