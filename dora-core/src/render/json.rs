//! The `dora.metrics/v1` JSON object, pretty-printed as `serde_json` does
//! it, with the groups rendered on two threads.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

use crate::result::{GroupMetrics, MetricsReport};

/// Two spaces a level, as `serde_json`'s pretty printer indents.
const INDENT: usize = 2;
/// Spaces for indentation, written a slice at a time.
const SPACES: &[u8; 64] = &[b' '; 64];

/// Groups below this many are rendered on the calling thread only.
const PARALLEL_FROM: usize = 16;

/// `serde_json`'s pretty format (two-space indentation, `": "` after a
/// key) from any nesting level: a value rendered apart at the level it
/// has inside a larger document comes out as it would in place.
#[derive(Debug, Clone, Copy)]
struct NestedPretty {
    level: usize,
    has_value: bool,
}

impl NestedPretty {
    fn at(level: usize) -> Self {
        Self { level, has_value: false }
    }

    /// Opens an array or an object with `bracket`.
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    /// Closes an array or an object with `bracket`, on a line of its own
    /// unless it is empty.
    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            newline_and_indent(w, b"\n", self.level)?;
        }
        w.write_all(bracket)
    }
}

fn newline_and_indent<W: ?Sized + Write>(w: &mut W, prefix: &[u8], level: usize) -> io::Result<()> {
    w.write_all(prefix)?;
    let mut spaces = level * INDENT;
    while spaces > 0 {
        let n = spaces.min(SPACES.len());
        w.write_all(&SPACES[..n])?;
        spaces -= n;
    }
    Ok(())
}

impl Formatter for NestedPretty {
    /// As `serde_json` writes a string's text, except that the characters
    /// it leaves raw but a terminal would act on (DEL, C1 controls,
    /// bidirectional and invisible formatting characters: see
    /// [`is_unsafe_char`](super::is_unsafe_char)) are written as `\uXXXX`
    /// escapes: the same string to a JSON reader, harmless on a screen.
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| super::is_unsafe_char(c)) {
            w.write_all(&rest.as_bytes()[..i])?;
            // Every such character is in the Basic Multilingual Plane.
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        newline_and_indent(w, if first { b"\n" } else { b",\n" }, self.level)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        newline_and_indent(w, if first { b"\n" } else { b",\n" }, self.level)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Renders `value` as it appears `level` levels deep.
fn render_at<T: Serialize + ?Sized>(value: &T, level: usize, out: &mut Vec<u8>) -> io::Result<()> {
    value.serialize(&mut Serializer::with_formatter(&mut *out, NestedPretty::at(level)))?;
    Ok(())
}

/// The groups array's elements, each after its separator, as they appear
/// inside the report (two levels deep).
fn render_groups(groups: &[GroupMetrics], first: bool) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(groups.len() * 64 * 1024);
    for (i, group) in groups.iter().enumerate() {
        newline_and_indent(&mut out, if first && i == 0 { b"\n" } else { b",\n" }, 2)?;
        render_at(group, 2, &mut out)?;
    }
    Ok(out)
}

/// Writes any value as pretty JSON, as `serde_json::to_writer_pretty`
/// does, with the characters a terminal would act on escaped (see
/// [`write_json`]); no final newline.
pub fn write_pretty_json<T: Serialize + ?Sized, W: Write>(value: &T, out: W) -> io::Result<()> {
    value.serialize(&mut Serializer::with_formatter(out, NestedPretty::at(0)))?;
    Ok(())
}

/// Writes the `dora.metrics/v1` JSON object (pretty-printed, with a final newline).
///
/// The output is `serde_json::to_writer_pretty`'s, byte for byte, but for
/// the characters a terminal would act on that `serde_json` leaves raw
/// (DEL, C1 controls, bidirectional overrides): those are `\uXXXX`
/// escapes, the same text to any JSON reader. Large reports render their
/// two halves of groups on two threads.
pub fn write_json<W: Write>(report: &MetricsReport, mut out: W) -> io::Result<()> {
    if report.groups.len() < PARALLEL_FROM {
        let mut text = Vec::new();
        render_at(report, 0, &mut text)?;
        text.push(b'\n');
        return out.write_all(&text);
    }
    // Everything but the groups, with an empty array in their place.
    let skeleton = MetricsReport {
        schema: report.schema.clone(),
        window: report.window,
        period: report.period,
        timezone: report.timezone.clone(),
        groups: Vec::new(),
        warnings: report.warnings.clone(),
    };
    let mut text = Vec::new();
    render_at(&skeleton, 0, &mut text)?;
    // A top-level key starts a line; no string holds a raw newline.
    const EMPTY_GROUPS: &[u8] = b"\n  \"groups\": []";
    let at = text
        .windows(EMPTY_GROUPS.len())
        .position(|w| w == EMPTY_GROUPS)
        .ok_or_else(|| io::Error::other("the report's groups are not where they were expected"))?;
    let (front, back) = report.groups.split_at(report.groups.len() / 2);
    let (front, back) = std::thread::scope(|scope| {
        let back = scope.spawn(|| render_groups(back, false));
        let front = render_groups(front, true);
        (front, back.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    let open = at + EMPTY_GROUPS.len() - 1;
    out.write_all(&text[..open])?;
    out.write_all(&front?)?;
    out.write_all(&back?)?;
    out.write_all(b"\n  ")?;
    out.write_all(&text[open..])?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output of `serde_json`'s own pretty printer.
    fn serde_pretty<T: Serialize>(value: &T) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(value).unwrap();
        text.push(b'\n');
        text
    }

    #[test]
    fn the_formatter_matches_serde_json_at_every_level() {
        let value = serde_json::json!({
            "a": [], "b": {}, "c": [[], [1, [2, {}]], {"d": null}], "e": {"f": {"g": [true, "x\ny"]}},
            "h": 1.5, "i": -3
        });
        // Deeper than the spaces written at a time.
        let mut deep = serde_json::json!([1, {}]);
        for _ in 0..40 {
            deep = serde_json::json!([deep, {"k": []}]);
        }
        let value = serde_json::json!({"shallow": value, "deep": deep});
        let mut ours = Vec::new();
        render_at(&value, 0, &mut ours).unwrap();
        ours.push(b'\n');
        assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(serde_pretty(&value)).unwrap());
        // One level down: the same text with every line but the first indented once more.
        let mut nested = Vec::new();
        render_at(&value, 1, &mut nested).unwrap();
        let expected = serde_json::to_string_pretty(&value).unwrap().replace('\n', "\n  ");
        assert_eq!(String::from_utf8(nested).unwrap(), expected);
    }

    #[test]
    fn a_report_renders_as_serde_json_renders_it_on_one_or_two_threads() {
        use crate::{EventSet, Options, Period, Window, compute};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/events.jsonl");
        let mut set = EventSet::new();
        crate::read::read_jsonl_path(std::path::Path::new(path), &mut set, &Default::default()).unwrap();
        let since = chrono::DateTime::parse_from_rfc3339("2026-05-04T00:00:00Z").unwrap().to_utc();
        let until = chrono::DateTime::parse_from_rfc3339("2026-11-16T00:00:00Z").unwrap().to_utc();
        for period in [Period::Day, Period::Week] {
            let mut opts = Options::new(Window::new(since, until).unwrap());
            opts.period = period;
            let mut report = compute(&set, &opts).unwrap().report;
            report.warnings = vec!["a \"quoted\" warning".into(), "\"groups\": []".into()];
            let mut many = report.clone();
            while many.groups.len() < 3 * PARALLEL_FROM {
                many.groups.extend(report.groups.clone());
            }
            for r in [&report, &many] {
                let mut ours = Vec::new();
                write_json(r, &mut ours).unwrap();
                assert_eq!(ours, serde_pretty(r), "{period:?}, {} groups", r.groups.len());
            }
        }
    }
}
