//! `dora explain`: the events behind a figure, and why each was counted.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;
use dora_core::render::{write_explanation_json, write_explanation_text};
use dora_core::{ExplainRequest, Metric};

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
    let request =
        ExplainRequest::new(metric, args.service.as_deref(), args.team.as_deref(), args.period_index);
    let set = load_events(&settings)?;
    let explanation = request.explain(&set, &settings.options)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if settings.format == Format::Json {
        write_explanation_json(&explanation, &mut out)?;
    } else {
        // The heading names the metric as it was asked for.
        write_explanation_text(&explanation, &args.metric, &mut out)?;
    }
    out.flush()?;
    Ok(())
}
