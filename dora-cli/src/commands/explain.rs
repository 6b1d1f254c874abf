//! `dora explain`: the events behind a figure, and why each was counted.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;
use dora_core::render::{write_explanation_json, write_explanation_text};
use dora_core::{ExplainRequest, Metric};

use crate::args::{ExplainArgs, Format};
use crate::commands::metrics::load_events;
use crate::settings::{MetricsSettings, usage};

/// Checks the flags of `dora explain`: the metric, the format, then the
/// settings as `dora metrics` resolves them (the clock: `Utc::now()`).
pub fn settings(args: &ExplainArgs) -> Result<(Metric, MetricsSettings)> {
    let metric: Metric = args.metric.parse().map_err(|e: dora_core::Error| usage(format!("METRIC: {e}")))?;
    if args.metrics.format == Format::Csv {
        return Err(usage("--format: dora explain prints `table` or `json`"));
    }
    let settings = MetricsSettings::resolve(&args.metrics, Utc::now())?;
    Ok((metric, settings))
}

/// Reads the events of `settings` and writes the explanation in its format:
/// what `dora explain` prints, and what `GET /api/v1/explain` answers.
pub fn render(
    args: &ExplainArgs,
    metric: Metric,
    settings: &MetricsSettings,
    out: &mut dyn Write,
) -> Result<()> {
    let request =
        ExplainRequest::new(metric, args.service.as_deref(), args.team.as_deref(), args.period_index);
    let set = load_events(settings)?;
    let explanation = request.explain(&set, &settings.options)?;
    if settings.format == Format::Json {
        write_explanation_json(&explanation, out)?;
    } else {
        // The heading names the metric as it was asked for.
        write_explanation_text(&explanation, &args.metric, out)?;
    }
    Ok(())
}

/// Runs `dora explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    let (metric, settings) = settings(args)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    render(args, metric, &settings, &mut out)?;
    out.flush()?;
    Ok(())
}
