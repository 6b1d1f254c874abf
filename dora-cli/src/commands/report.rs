//! `dora report`: the weekly report.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use chrono::{Days, Utc};
use dora_core::GroupKind;
use dora_core::parse_date;
use dora_core::render::{
    ReportLinks, ReportTextOptions, write_report_html_with_links, write_report_json, write_report_markdown,
    write_report_text,
};
use dora_core::report::{IsoWeek, Report, ReportOptions, build_report_for};

use crate::args::{ReportArgs, ReportFormat};
use crate::commands::export::atomically;
use crate::commands::metrics::{load_events, use_color};
use crate::settings::{MetricsSettings, usage};

fn local_date(t: chrono::DateTime<Utc>, tz: chrono_tz::Tz) -> chrono::NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// Resolves the week and trend length from the flags.
pub fn report_options(args: &ReportArgs, settings: &MetricsSettings) -> Result<ReportOptions> {
    let tz = settings.options.timezone;
    let mut opts = ReportOptions::last_complete_week(settings.options.clone(), Utc::now());
    opts.weeks = args.weeks;
    if let Some(until) = &args.until {
        let t = parse_date(until, tz).map_err(|e| usage(format!("--until: {e}")))?;
        opts.week = IsoWeek::of(local_date(t, tz) - Days::new(7));
    }
    if let Some(week) = &args.week {
        opts.week = week.parse().map_err(|e: dora_core::Error| {
            let message = match e {
                dora_core::Error::InvalidOption { message, .. } => message,
                other => other.to_string(),
            };
            usage(format!("--week: {message}"))
        })?;
    }
    if let Some(since) = &args.since {
        let t = parse_date(since, tz).map_err(|e| usage(format!("--since: {e}")))?;
        let first = IsoWeek::of(local_date(t, tz));
        let (a, b) = (first.monday(), opts.week.monday());
        let weeks = match (a, b) {
            (Some(a), Some(b)) if a <= b => (b - a).num_days() / 7 + 1,
            _ => return Err(usage(format!("--since: {since} is after the reported week {}", opts.week))),
        };
        if !(6..=104).contains(&weeks) {
            return Err(usage(format!("--since: the trend would be {weeks} weeks; it must be 6 to 104")));
        }
        opts.weeks = weeks as u32;
    }
    Ok(opts)
}

/// The width of the terminal on standard output (at least 80 columns), or
/// `None` when the output is a file or a pipe.
fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let width = terminal_size::terminal_size().map_or(80, |(w, _)| usize::from(w.0));
    Some(width.max(80))
}

/// Writes the report in `format`; `links` only changes HTML (`dora serve`'s
/// `GET /` gives them, `dora report` never does).
pub fn render(
    report: &Report,
    format: ReportFormat,
    out: &mut dyn Write,
    text: ReportTextOptions,
    links: Option<&dyn ReportLinks>,
) -> Result<()> {
    match format {
        ReportFormat::Table => write_report_text(report, out, text)?,
        ReportFormat::Markdown => write_report_markdown(report, out)?,
        ReportFormat::Json => write_report_json(report, out)?,
        ReportFormat::Html => write_report_html_with_links(report, out, links)?,
    }
    Ok(())
}

/// The settings of `dora report`, as `dora metrics` resolves them with
/// weekly periods (the clock: `Utc::now()`).
pub fn settings(args: &ReportArgs) -> Result<MetricsSettings> {
    MetricsSettings::resolve(&args.as_metrics_args(), Utc::now())
}

/// Reads the events of `settings` and builds the report the flags ask for:
/// the week of `report_options`, of one team or service with `--team` or
/// `--service`.
pub fn build(args: &ReportArgs, settings: &MetricsSettings) -> Result<Report> {
    let opts = report_options(args, settings)?;
    let focus = match (&args.team, &args.service) {
        (Some(team), _) => Some((GroupKind::Team, team.as_str())),
        (None, Some(service)) => Some((GroupKind::Service, service.as_str())),
        (None, None) => None,
    };
    let set = load_events(settings)?;
    build_report_for(&set, &opts, focus).map_err(|e| match e {
        dora_core::Error::InvalidOption { option: option @ ("team" | "service"), message } => {
            usage(format!("--{option}: {message}"))
        }
        e => e.into(),
    })
}

/// Runs `dora report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let settings = settings(args)?;
    let report = build(args, &settings)?;
    match &args.output {
        Some(path) => {
            atomically(path, |out| render(&report, args.format, out, ReportTextOptions::default(), None))?
        }
        None => {
            let stdout = std::io::stdout().lock();
            let width = terminal_width();
            let color = args.format == ReportFormat::Table && use_color() && width.is_some();
            let mut out = std::io::BufWriter::new(stdout);
            render(&report, args.format, &mut out, ReportTextOptions { color, width }, None)?;
            out.flush()?;
        }
    }
    Ok(())
}
