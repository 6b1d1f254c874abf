//! The engine's options (METRICS.md sections 2, 3 and 6), checked on construction.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use regex::RegexSet;
use serde::{Deserialize, Serialize};

use crate::engine::calendar;
use crate::error::{Error, Result};
use crate::event::time::{MICROS_PER_SECOND, Micros, parse_rfc3339, to_micros};

/// The default production pattern of the spec.
pub const DEFAULT_PRODUCTION_PATTERN: &str = r"(?i)^(prod|production)([-_./].*)?$";

/// How periods are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Calendar days.
    Day,
    /// ISO weeks, starting Monday 00:00.
    #[default]
    Week,
    /// Calendar months.
    Month,
}

impl Period {
    /// The name used in flags and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            _ => Err(Error::option("period", format!("{s:?} is not one of day, week, month"))),
        }
    }
}

/// Where a change's lead time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadTimeStart {
    /// The change's `committed_at` (Four Keys, DevLake's commit-based view).
    #[default]
    Commit,
    /// The pull request's `first_commit_at` where present, else `committed_at`
    /// (true lead times for squash merges).
    FirstCommit,
}

impl FromStr for LeadTimeStart {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "commit" => Ok(LeadTimeStart::Commit),
            "first_commit" | "first-commit" => Ok(LeadTimeStart::FirstCommit),
            _ => Err(Error::option("lead-time-start", format!("{s:?} is not one of commit, first_commit"))),
        }
    }
}

impl LeadTimeStart {
    /// The name used in flags and output.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadTimeStart::Commit => "commit",
            LeadTimeStart::FirstCommit => "first_commit",
        }
    }
}

/// The kinds of group figures are computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    /// Every event.
    All,
    /// One service.
    Service,
    /// One team.
    Team,
}

impl GroupKind {
    /// The name used in flags and output.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::All => "all",
            GroupKind::Service => "service",
            GroupKind::Team => "team",
        }
    }
}

impl FromStr for GroupKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "all" => Ok(GroupKind::All),
            "service" => Ok(GroupKind::Service),
            "team" => Ok(GroupKind::Team),
            _ => Err(Error::option("group-by", format!("{s:?} is not one of service, team, all"))),
        }
    }
}

/// The longest window accepted (about 100 years): it bounds the days and
/// periods listed.
pub const MAX_WINDOW_DAYS: i64 = 36_525;

/// The half-open window `[since, until)` in which figures are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    since: Micros,
    until: Micros,
}

impl Window {
    /// A window; `since` must be before `until`.
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Self> {
        Self::from_micros(to_micros(&since), to_micros(&until))
    }

    pub(crate) fn from_micros(since: Micros, until: Micros) -> Result<Self> {
        if since >= until {
            return Err(Error::option("since", "the window's start must be before its end (`--until`)"));
        }
        if until - since > MAX_WINDOW_DAYS * 86_400 * MICROS_PER_SECOND {
            return Err(Error::option("since", format!("the window is longer than {MAX_WINDOW_DAYS} days")));
        }
        Ok(Self { since, until })
    }

    /// The spec's default window: `until` is the start of the period that
    /// contains `now`, `since` is `periods` periods before it.
    pub fn default_for(now: DateTime<Utc>, period: Period, tz: Tz, periods: u32) -> Result<Self> {
        let until = calendar::period_start_containing(to_micros(&now), period, tz);
        let since = calendar::periods_before(until, period, tz, periods);
        Self::from_micros(since, until)
    }

    /// The window's first instant.
    pub fn since(&self) -> DateTime<Utc> {
        crate::event::time::from_micros(self.since)
    }

    /// The first instant after the window.
    pub fn until(&self) -> DateTime<Utc> {
        crate::event::time::from_micros(self.until)
    }

    pub(crate) fn since_micros(&self) -> Micros {
        self.since
    }

    pub(crate) fn until_micros(&self) -> Micros {
        self.until
    }

    pub(crate) fn contains(&self, t: Micros) -> bool {
        self.since <= t && t < self.until
    }
}

/// Parses a CLI `DATE`: `YYYY-MM-DD` (the first instant of that date in `tz`)
/// or an RFC 3339 time.
pub fn parse_date(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(crate::event::time::from_micros(calendar::local_date_start(d, tz)));
    }
    parse_rfc3339(s)
        .map(crate::event::time::from_micros)
        .map_err(|_| format!("{s:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))
}

/// Parses a `DURATION` like `7d`, `36h`, `90m`, `45s`, `2w`, `1d12h` or `0`
/// into seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a duration (like 7d, 36h, 90m or 0)");
    let t = s.trim();
    if t == "0" {
        return Ok(0);
    }
    if t.starts_with('-') {
        return Err(format!("{s:?}: a duration cannot be negative (like 7d, 36h, 90m or 0)"));
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = num.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(total)
}

/// Which environments are production: regular expressions, any of which may match.
#[derive(Debug, Clone)]
pub struct ProductionPatterns {
    set: RegexSet,
}

impl ProductionPatterns {
    /// Patterns (Rust `regex` syntax); an environment is production when any matches.
    pub fn new<I, S>(patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns: Vec<String> = patterns.into_iter().map(|p| p.as_ref().to_string()).collect();
        if patterns.is_empty() {
            return Err(Error::option("production-pattern", "at least one pattern is needed"));
        }
        if patterns.iter().any(|p| p.trim().is_empty()) {
            return Err(Error::option(
                "production-pattern",
                "an empty pattern matches every environment, so every deployment would count as \
                 production; give a pattern such as '^prod' (or '.*' to mean every environment)",
            ));
        }
        let set = RegexSet::new(&patterns).map_err(|e| {
            let lines: Vec<String> =
                e.to_string().lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
            Error::option("production-pattern", lines.join(" "))
        })?;
        Ok(Self { set })
    }

    /// Whether `environment` is a production environment.
    pub fn is_production(&self, environment: &str) -> bool {
        self.set.is_match(environment)
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        self.set.patterns()
    }
}

impl Default for ProductionPatterns {
    fn default() -> Self {
        Self::new([DEFAULT_PRODUCTION_PATTERN]).expect("the default pattern compiles")
    }
}

/// Everything the engine needs besides the events.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where figures are counted.
    pub window: Window,
    /// How the window is cut into periods.
    pub period: Period,
    /// The IANA time zone periods and days are cut in.
    pub timezone: Tz,
    /// Which environments are production.
    pub production: ProductionPatterns,
    /// How far before an incident a deployment may be and still be inferred
    /// as its cause, in seconds; 0 turns inference off.
    pub attribution_window_seconds: i64,
    /// Where lead time starts.
    pub lead_time_start: LeadTimeStart,
    /// The group kinds to report (default: all, service and team).
    pub group_by: Vec<GroupKind>,
    /// Cloud cost rows and their allocation (METRICS.md section 7); `None`
    /// (the default) for no cost data. With rows in the window, every
    /// period and summary carries a `cost`, and services and teams with a
    /// row are listed even without events.
    pub costs: Option<crate::cost::Costs>,
}

impl Options {
    /// The spec's defaults for a window: weekly periods in UTC, the default
    /// production pattern, a 7-day attribution window, lead time from commit.
    pub fn new(window: Window) -> Self {
        Self {
            window,
            period: Period::Week,
            timezone: Tz::UTC,
            production: ProductionPatterns::default(),
            attribution_window_seconds: 7 * 86_400,
            lead_time_start: LeadTimeStart::Commit,
            group_by: vec![GroupKind::All, GroupKind::Service, GroupKind::Team],
            costs: None,
        }
    }

    pub(crate) fn attribution_window_micros(&self) -> Micros {
        self.attribution_window_seconds.saturating_mul(MICROS_PER_SECOND)
    }

    pub(crate) fn wants(&self, kind: GroupKind) -> bool {
        self.group_by.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_ordered_and_bounded() {
        let t = |s: &str| crate::event::time::from_micros(parse_rfc3339(s).unwrap());
        assert!(Window::new(t("2026-03-02T00:00:00Z"), t("2026-03-02T00:00:00Z")).is_err());
        assert!(Window::new(t("1900-01-01T00:00:00Z"), t("2026-01-01T00:00:00Z")).is_err());
        assert!(Window::new(t("1950-01-01T00:00:00Z"), t("2026-01-01T00:00:00Z")).is_ok());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("36h"), Ok(129_600));
        assert_eq!(parse_duration("90m"), Ok(5_400));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1d12h"), Ok(129_600));
        assert!(parse_duration("7").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn production_pattern_matches_the_spec_examples() {
        let p = ProductionPatterns::default();
        for e in ["prod", "Production", "prod-eu", "production/us", "PROD_east", "prod.1"] {
            assert!(p.is_production(e), "{e}");
        }
        for e in ["preprod", "productions", "staging", "prod eu", ""] {
            assert!(!p.is_production(e), "{e}");
        }
        for empty in ["", "  "] {
            let e = ProductionPatterns::new(["^prod", empty]).unwrap_err().to_string();
            assert!(e.contains("an empty pattern matches every environment"), "{e}");
        }
        assert!(ProductionPatterns::new([".*"]).is_ok());
        assert!(parse_duration("-5h").unwrap_err().contains("cannot be negative"));
    }

    #[test]
    fn dates() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(parse_date("2026-01-15", tz).unwrap().to_rfc3339(), "2026-01-15T05:00:00+00:00");
        assert_eq!(
            parse_date("2026-01-15T01:00:00+01:00", tz).unwrap().to_rfc3339(),
            "2026-01-15T00:00:00+00:00"
        );
        assert!(parse_date("15/01/2026", tz).is_err());
    }
}
