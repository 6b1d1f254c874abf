//! `dora explain`: the events behind a figure, and why each was counted.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;
use dora_core::render::{human_duration, visible, write_pretty_json};
use dora_core::{GroupKind, Metric, compute};

use crate::args::{ExplainArgs, Format};
use crate::commands::metrics::load_events;
use crate::settings::{MetricsSettings, usage};

/// Runs `dora explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    let metric: Metric = args.metric.parse().map_err(|e: dora_core::Error| usage(format!("METRIC: {e}")))?;
    if args.metrics.format == Format::Csv {
        return Err(usage("--format: dora explain prints `table` or `json`"));
    }
    let settings = MetricsSettings::resolve(&args.metrics, Utc::now())?;
    let (kind, name) = match (&args.service, &args.team) {
        (Some(s), _) => (GroupKind::Service, s.as_str()),
        (_, Some(t)) => (GroupKind::Team, t.as_str()),
        _ => (GroupKind::All, "all"),
    };
    let mut options = settings.options.clone();
    if !options.group_by.contains(&kind) {
        options.group_by.push(kind);
    }
    let set = load_events(&settings)?;
    let computation = compute(&set, &options)?;
    let explanation = computation.explain(kind, name, args.period_index, metric)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if settings.format == Format::Json {
        write_pretty_json(&explanation, &mut out)?;
        writeln!(out)?;
    } else {
        let who = match kind {
            GroupKind::All => "all services".to_string(),
            k => format!("{} {}", k.as_str(), visible(name)),
        };
        writeln!(
            out,
            "{} of {who}, {} to {}: {} events ({} counted)",
            args.metric,
            explanation.start.format("%Y-%m-%d %H:%M"),
            explanation.end.format("%Y-%m-%d %H:%M"),
            explanation.events.len(),
            explanation.events.iter().filter(|e| e.counted).count()
        )?;
        for e in &explanation.events {
            let value = e.seconds.map(human_duration).map(|d| format!(" {d}")).unwrap_or_default();
            writeln!(
                out,
                "{} {:<10} {} {} ({}){value}\n    {}",
                if e.counted { "+" } else { "-" },
                e.kind.as_str(),
                visible(&e.id),
                e.time.format("%Y-%m-%d %H:%M"),
                visible(&e.service),
                visible(&e.reason)
            )?;
            if let Some(note) = &e.note {
                // Quoted and escaped: a note is free text from the source.
                writeln!(out, "    note: {note:?}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
