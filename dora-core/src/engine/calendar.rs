//! Cutting a window into periods and days in an IANA time zone.
//!
//! A period or day starts at the first instant of its local date (so a date
//! whose midnight falls in a daylight-saving gap starts when the gap ends).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::engine::options::{Period, Window};
use crate::event::time::{MICROS_PER_SECOND, Micros};

/// The first instant of a local date.
pub(crate) fn local_date_start(date: NaiveDate, tz: Tz) -> Micros {
    // Scan forward minute by minute past a gap (real gaps are at most a few hours).
    for minutes in 0..(26 * 60) {
        let naive = date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(minutes);
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.timestamp() * MICROS_PER_SECOND;
        }
    }
    // Unreachable for real zones; fall back to UTC midnight.
    date.and_time(NaiveTime::MIN).and_utc().timestamp() * MICROS_PER_SECOND
}

/// The local date of an instant.
pub(crate) fn local_date(t: Micros, tz: Tz) -> NaiveDate {
    let utc = crate::event::time::from_micros(t);
    utc.with_timezone(&tz).date_naive()
}

fn period_first_date(d: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => d,
        Period::Week => d - Days::new(d.weekday().num_days_from_monday() as u64),
        Period::Month => d.with_day(1).unwrap_or(d),
    }
}

fn next_period_date(d: NaiveDate, period: Period) -> NaiveDate {
    let first = period_first_date(d, period);
    match period {
        Period::Day => first + Days::new(1),
        Period::Week => first + Days::new(7),
        Period::Month => first + Months::new(1),
    }
}

/// The start of the period that contains `t`.
pub(crate) fn period_start_containing(t: Micros, period: Period, tz: Tz) -> Micros {
    local_date_start(period_first_date(local_date(t, tz), period), tz)
}

/// The instant `n` periods before `t` (same local date, moved back).
pub(crate) fn periods_before(t: Micros, period: Period, tz: Tz, n: u32) -> Micros {
    let d = local_date(t, tz);
    let back = match period {
        Period::Day => d - Days::new(n as u64),
        Period::Week => d - Days::new(7 * n as u64),
        Period::Month => d - Months::new(n),
    };
    local_date_start(back, tz)
}

/// The periods and days of a window.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// Period `i` is `[bounds[i], bounds[i + 1])`; the first is the window's
    /// start and the last the window's end.
    pub period_bounds: Vec<Micros>,
    /// The starts of the days the window touches (the first is the window's start).
    pub day_starts: Vec<Micros>,
    /// For each period, the number of calendar days it touches.
    pub period_days: Vec<u32>,
    /// For each day, the whole ISO week of the window it is in, if any.
    pub day_week: Vec<Option<u32>>,
    /// The number of whole weeks in the window.
    pub whole_weeks: u32,
    /// For each day, the whole calendar month of the window it is in, if any.
    pub day_month: Vec<Option<u32>>,
    /// The number of whole months in the window.
    pub whole_months: u32,
}

/// Lists the starts of the windows's successive units after `since`.
fn bounds(window: &Window, tz: Tz, period: Period) -> Vec<Micros> {
    let (since, until) = (window.since_micros(), window.until_micros());
    let mut out = vec![since];
    let mut d = local_date(since, tz);
    loop {
        d = next_period_date(d, period);
        let t = local_date_start(d, tz);
        if t >= until {
            break;
        }
        if t > *out.last().unwrap_or(&since) {
            out.push(t);
        }
    }
    out
}

impl Calendar {
    pub fn new(window: &Window, period: Period, tz: Tz) -> Self {
        let (since, until) = (window.since_micros(), window.until_micros());
        let mut period_bounds = bounds(window, tz, period);
        let day_starts = bounds(window, tz, Period::Day);
        period_bounds.push(until);
        let period_days = period_bounds
            .windows(2)
            .map(|w| {
                (day_starts.partition_point(|&d| d < w[1]) - day_starts.partition_point(|&d| d < w[0])) as u32
            })
            .collect();

        // Whole weeks and months: units whose local bounds lie inside the window.
        let whole = |unit: Period| {
            let mut ids = Vec::with_capacity(day_starts.len());
            let mut count = 0u32;
            let mut current: Option<(NaiveDate, Option<u32>)> = None;
            for &day in &day_starts {
                let first = period_first_date(local_date(day, tz), unit);
                let id = match current {
                    Some((f, id)) if f == first => id,
                    _ => {
                        let start = local_date_start(first, tz);
                        let end = local_date_start(next_period_date(first, unit), tz);
                        let id = (start >= since && end <= until).then(|| {
                            count += 1;
                            count - 1
                        });
                        current = Some((first, id));
                        id
                    }
                };
                ids.push(id);
            }
            (ids, count)
        };
        let (day_week, whole_weeks) = whole(Period::Week);
        let (day_month, whole_months) = whole(Period::Month);
        Self { period_bounds, day_starts, period_days, day_week, whole_weeks, day_month, whole_months }
    }

    pub fn periods(&self) -> usize {
        self.period_bounds.len() - 1
    }

    /// The days the whole window touches.
    pub fn window_days(&self) -> u32 {
        self.day_starts.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::time::parse_rfc3339;

    fn t(s: &str) -> Micros {
        parse_rfc3339(s).unwrap()
    }

    fn window(a: &str, b: &str) -> Window {
        Window::from_micros(t(a), t(b)).unwrap()
    }

    #[test]
    fn months_in_new_york() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let c = Calendar::new(&window("2026-01-15T05:00:00Z", "2026-03-10T04:00:00Z"), Period::Month, tz);
        assert_eq!(
            c.period_bounds,
            vec![
                t("2026-01-15T05:00:00Z"),
                t("2026-02-01T05:00:00Z"),
                t("2026-03-01T05:00:00Z"),
                t("2026-03-10T04:00:00Z")
            ]
        );
        assert_eq!(c.period_days, vec![17, 28, 9]);
        assert_eq!(c.whole_months, 1);
        assert_eq!(c.window_days(), 54);
    }

    #[test]
    fn weeks_across_a_dst_change() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let c = Calendar::new(&window("2026-03-22T23:00:00Z", "2026-04-05T22:00:00Z"), Period::Week, tz);
        assert_eq!(
            c.period_bounds,
            vec![t("2026-03-22T23:00:00Z"), t("2026-03-29T22:00:00Z"), t("2026-04-05T22:00:00Z")]
        );
        assert_eq!(c.period_days, vec![7, 7]);
        assert_eq!(c.whole_weeks, 2);
        assert_eq!(c.whole_months, 0);
    }

    #[test]
    fn a_midnight_in_a_gap_starts_when_the_gap_ends() {
        // Santiago skipped 2026-09-06 00:00 local (clocks went from 00:00 to 01:00).
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(local_date_start(d, tz), t("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn partial_first_period_and_defaults() {
        let c = Calendar::new(&window("2026-03-04T12:00:00Z", "2026-03-16T00:00:00Z"), Period::Week, Tz::UTC);
        assert_eq!(
            c.period_bounds,
            vec![t("2026-03-04T12:00:00Z"), t("2026-03-09T00:00:00Z"), t("2026-03-16T00:00:00Z")]
        );
        assert_eq!(c.period_days, vec![5, 7]);
        assert_eq!(c.whole_weeks, 1);
        let now = crate::event::time::from_micros(t("2026-03-18T10:00:00Z"));
        let w = Window::default_for(now, Period::Week, Tz::UTC, 12).unwrap();
        assert_eq!(w.until().to_rfc3339(), "2026-03-16T00:00:00+00:00");
        assert_eq!(w.since().to_rfc3339(), "2025-12-22T00:00:00+00:00");
    }
}
