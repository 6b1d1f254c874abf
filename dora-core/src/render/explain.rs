//! `dora explain`'s output: an [`Explanation`] as text for a terminal, or
//! as pretty JSON.

use std::io::{self, Write};

use super::duration::human_duration;
use super::text::visible;
use crate::engine::Explanation;
use crate::engine::options::GroupKind;

/// Writes `explanation` as text: a heading with the span and the counts,
/// then each event (`+` counted, `-` not) with its value and reason, and
/// its note when it has one. `metric_name` names the metric in the heading:
/// the CLI echoes its argument as given (`lead-time`); `explanation.metric.as_str()`
/// is the JSON name. Names from the events are shown [`visible`].
pub fn write_explanation_text<W: Write>(
    explanation: &Explanation,
    metric_name: &str,
    mut out: W,
) -> io::Result<()> {
    let who = match explanation.group_by {
        GroupKind::All => "all services".to_string(),
        k => format!("{} {}", k.as_str(), visible(&explanation.name)),
    };
    writeln!(
        out,
        "{metric_name} of {who}, {} to {}: {} events ({} counted)",
        explanation.start.format("%Y-%m-%d %H:%M"),
        explanation.end.format("%Y-%m-%d %H:%M"),
        explanation.events.len(),
        explanation.counted()
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
    Ok(())
}

/// Writes `explanation` as pretty JSON (see
/// [`write_pretty_json`](super::write_pretty_json)), with a final newline.
pub fn write_explanation_json<W: Write>(explanation: &Explanation, mut out: W) -> io::Result<()> {
    super::write_pretty_json(explanation, &mut out)?;
    out.write_all(b"\n")
}
