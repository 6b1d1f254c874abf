//! Reading FOCUS billing exports (FinOps Open Cost and Usage Specification,
//! versions 1.0 to 1.3) as [`CostRow`]s (METRICS.md section 7).
//!
//! The reader is pure of files: it reads CSV from any [`io::Read`] (the
//! caller opens the file and, for `.gz`, decompresses it) and streams the
//! rows one by one, so a multi-gigabyte export is never held in memory.
//! Columns are found by the header's names; columns other than those below
//! are ignored, wherever they stand.
//!
//! | column | use | |
//! |---|---|---|
//! | `ChargePeriodStart`, `ChargePeriodEnd` | the charge period | required |
//! | `BillingCurrency` | the currency | required |
//! | the cost column ([`CostColumn`], `EffectiveCost` by default) | the amount | required |
//! | `Tags` | a JSON object, or null | optional |
//! | `ResourceId`, `ResourceName`, `ServiceName`, `SubAccountName` | what allocation rules match | optional |
//!
//! Cells as real exports write them: an empty cell or `NULL` is a null;
//! times are ISO 8601 with a `T` or a space, optional fractional seconds,
//! `Z`, an offset or no zone (= UTC); numbers may have an exponent
//! (`6.1E-7`). A bad row is an [`Error::InvalidCostRow`] naming the file,
//! the line (the header is line 1) and the column. Parquet exports are
//! read by `focus::parquet` (the `parquet` feature).
//!
//! ```
//! use dora_core::cost::{CostColumn, focus::FocusReader};
//!
//! let csv = "ChargePeriodStart,ChargePeriodEnd,BillingCurrency,EffectiveCost,Tags\n\
//!            2024-09-18 22:00:00,2024-09-18 23:00:00,USD,6.1E-7,NULL\n";
//! let rows: Vec<_> = FocusReader::new(csv.as_bytes(), None, CostColumn::EffectiveCost)?
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(rows.len(), 1);
//! assert_eq!(rows[0].amount, 6.1e-7);
//! assert_eq!(rows[0].start.to_rfc3339(), "2024-09-18T22:00:00+00:00");
//! # Ok::<(), dora_core::Error>(())
//! ```

#[cfg(feature = "parquet")]
#[path = "focus_parquet.rs"]
pub mod parquet;

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::{CostColumn, CostRow};
use crate::error::{Error, Result};
use crate::render::visible;

/// The FOCUS column of the charge period's start.
pub const CHARGE_PERIOD_START: &str = "ChargePeriodStart";
/// The FOCUS column of the charge period's end (exclusive).
pub const CHARGE_PERIOD_END: &str = "ChargePeriodEnd";
/// The FOCUS column of the currency.
pub const BILLING_CURRENCY: &str = "BillingCurrency";
/// The FOCUS column of the tags.
pub const TAGS: &str = "Tags";

/// Where each column the reader uses stands in the header.
#[derive(Debug, Clone, Copy)]
struct Columns {
    start: usize,
    end: usize,
    currency: usize,
    amount: usize,
    tags: Option<usize>,
    resource_id: Option<usize>,
    resource_name: Option<usize>,
    service_name: Option<usize>,
    sub_account_name: Option<usize>,
}

/// A streaming reader of the rows of one FOCUS CSV export.
///
/// Iterating yields each row or the first error, then stops.
pub struct FocusReader<R: io::Read> {
    csv: csv::Reader<R>,
    record: csv::ByteRecord,
    columns: Columns,
    column: CostColumn,
    path: Option<PathBuf>,
    failed: bool,
}

impl<R: io::Read> std::fmt::Debug for FocusReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusReader")
            .field("path", &self.path)
            .field("column", &self.column)
            .field("columns", &self.columns)
            .finish()
    }
}

/// The error for line `line` (1 = the header), column `column`, of `path`.
fn bad(path: &Option<PathBuf>, line: u64, column: Option<&str>, message: impl Into<String>) -> Error {
    Error::InvalidCostRow {
        path: path.clone(),
        line,
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// Whether a cell is a null: empty, or the bare word `NULL`.
fn is_null(cell: &[u8]) -> bool {
    cell.is_empty() || cell == b"NULL"
}

/// A cell shown in an error message: at most 80 characters, control
/// characters made visible (one error, one line).
fn shown(cell: &[u8]) -> String {
    let text = String::from_utf8_lossy(cell);
    let cut: String = text.chars().take(80).collect();
    let more = if cut.len() < text.len() { "..." } else { "" };
    format!("\"{}{more}\"", visible(&cut))
}

impl<R: io::Read> FocusReader<R> {
    /// Reads the header of the FOCUS CSV `input` (from `path`, named in
    /// errors; `None` for an in-memory reader) and prepares to read its
    /// rows' amounts from `column`. It is an error if a required column is
    /// missing.
    pub fn new(input: R, path: Option<&Path>, column: CostColumn) -> Result<Self> {
        let path = path.map(Path::to_path_buf);
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut header = csv::ByteRecord::new();
        let io_err = |path: &Option<PathBuf>, e: csv::Error| -> Error {
            let line = e.position().map_or(1, |p| p.line());
            match e.into_kind() {
                csv::ErrorKind::Io(error) => Error::Io { path: path.clone(), error },
                other => bad(path, line, None, format!("not CSV: {other:?}")),
            }
        };
        if !csv.read_byte_record(&mut header).map_err(|e| io_err(&path, e))? {
            return Err(bad(&path, 1, None, "no header: the file is empty"));
        }
        let find = |name: &str| {
            header.iter().position(|h| {
                // A byte order mark before the first name (spreadsheet
                // exports) and spaces around names do not count.
                let h = h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h);
                h.trim_ascii() == name.as_bytes()
            })
        };
        let required = |name: &str| {
            find(name).ok_or_else(|| {
                bad(&path, 1, Some(name), "a required column is missing from the header (line 1)")
            })
        };
        let columns = Columns {
            start: required(CHARGE_PERIOD_START)?,
            end: required(CHARGE_PERIOD_END)?,
            currency: required(BILLING_CURRENCY)?,
            amount: required(column.as_str())?,
            tags: find(TAGS),
            resource_id: find("ResourceId"),
            resource_name: find("ResourceName"),
            service_name: find("ServiceName"),
            sub_account_name: find("SubAccountName"),
        };
        Ok(FocusReader { csv, record: csv::ByteRecord::new(), columns, column, path, failed: false })
    }

    /// The file named in errors.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Reads the next row into `row` (reusing its strings), returning
    /// `false` at the end of the input.
    pub fn read_into(&mut self, row: &mut CostRow) -> Result<bool> {
        if self.failed {
            return Ok(false);
        }
        let result = self.read_inner(row);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_inner(&mut self, row: &mut CostRow) -> Result<bool> {
        let line = match self.read_raw()? {
            None => return Ok(false),
            Some(raw) => {
                row.start = raw.start;
                row.end = raw.end;
                row.amount = raw.amount;
                row.currency.clear();
                row.currency.push_str(raw.currency);
                set_text(&mut row.resource_id, raw.resource_id);
                set_text(&mut row.resource_name, raw.resource_name);
                set_text(&mut row.service_name, raw.service_name);
                set_text(&mut row.sub_account_name, raw.sub_account_name);
                match raw.tags {
                    None => {
                        row.tags = None;
                        return Ok(true);
                    }
                    Some(tags) => match serde_json::from_str::<serde_json::Value>(tags) {
                        Ok(serde_json::Value::Object(map)) => {
                            row.tags = Some(map);
                            return Ok(true);
                        }
                        // `read_raw` checked that it is an object.
                        _ => self.line(),
                    },
                }
            }
        };
        Err(bad(&self.path, line, Some(TAGS), "not a JSON object"))
    }

    /// The line the last row read starts on.
    fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    /// Reads the next row without copying its text: the cells borrow the
    /// reader's buffer until the next read; `Tags` is the cell's JSON
    /// object text, checked. `None` at the end of the input. The fast path
    /// of an import: no allocation per row.
    pub fn read_raw(&mut self) -> Result<Option<RawCostRow<'_>>> {
        if self.failed {
            return Ok(None);
        }
        let FocusReader { csv, record, columns, column, path, failed } = self;
        let result = Self::read_raw_from(csv, record, *columns, *column, path);
        if result.is_err() {
            *failed = true;
        }
        result
    }

    fn read_raw_from<'a>(
        csv: &mut csv::Reader<R>,
        record: &'a mut csv::ByteRecord,
        c: Columns,
        column: CostColumn,
        path: &Option<PathBuf>,
    ) -> Result<Option<RawCostRow<'a>>> {
        let read = csv.read_byte_record(record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            match e.into_kind() {
                csv::ErrorKind::Io(error) => Error::Io { path: path.clone(), error },
                csv::ErrorKind::Utf8 { .. } => bad(path, line, None, "not UTF-8"),
                other => bad(path, line, None, format!("not CSV: {other:?}")),
            }
        })?;
        if !read {
            return Ok(None);
        }
        let record: &'a csv::ByteRecord = record;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or(b"");
        let text = |i: Option<usize>, name: &str| -> Result<Option<&str>> {
            let Some(i) = i else { return Ok(None) };
            let v = cell(i);
            if is_null(v) {
                return Ok(None);
            }
            std::str::from_utf8(v).map(Some).map_err(|_| bad(path, line, Some(name), "not UTF-8"))
        };
        let time = |i: usize, name: &str| -> Result<DateTime<Utc>> {
            let v = cell(i);
            if is_null(v) {
                return Err(bad(path, line, Some(name), "a required cell is null"));
            }
            parse_time(v).ok_or_else(|| {
                bad(
                    path,
                    line,
                    Some(name),
                    format!("{} is not a time (ISO 8601, like 2024-09-01T00:00:00Z)", shown(v)),
                )
            })
        };
        let start = time(c.start, CHARGE_PERIOD_START)?;
        let end = time(c.end, CHARGE_PERIOD_END)?;
        if end < start {
            return Err(bad(
                path,
                line,
                Some(CHARGE_PERIOD_END),
                format!("the charge period ends ({end}) before it starts ({start})"),
            ));
        }
        let amount_name = column.as_str();
        let v = cell(c.amount);
        if is_null(v) {
            return Err(bad(path, line, Some(amount_name), "a required cell is null"));
        }
        let amount = parse_number(v)
            .ok_or_else(|| bad(path, line, Some(amount_name), format!("{} is not a number", shown(v))))?;
        let Some(currency) = text(Some(c.currency), BILLING_CURRENCY)? else {
            return Err(bad(path, line, Some(BILLING_CURRENCY), "a required cell is null"));
        };
        let tags = match text(c.tags, TAGS)? {
            None => None,
            Some(v) => {
                let not_object =
                    || bad(path, line, Some(TAGS), format!("{} is not a JSON object", shown(v.as_bytes())));
                // Checked without building it: valid JSON whose first
                // token opens an object (or `null`, a null).
                if serde_json::from_str::<serde::de::IgnoredAny>(v).is_err() {
                    return Err(not_object());
                }
                match v.trim_start().as_bytes().first() {
                    Some(b'{') => Some(v),
                    Some(b'n') => None,
                    _ => return Err(not_object()),
                }
            }
        };
        Ok(Some(RawCostRow {
            start,
            end,
            amount,
            currency,
            tags,
            resource_id: text(c.resource_id, "ResourceId")?,
            resource_name: text(c.resource_name, "ResourceName")?,
            service_name: text(c.service_name, "ServiceName")?,
            sub_account_name: text(c.sub_account_name, "SubAccountName")?,
        }))
    }

    /// Reads up to `max` rows into `batch` (after its rows), returning
    /// whether the input may have more.
    pub fn read_batch(&mut self, batch: &mut CostBatch, max: usize) -> Result<bool> {
        for _ in 0..max {
            match self.read_raw()? {
                Some(row) => batch.push(&row),
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// A cost row borrowing its text ([`FocusReader::read_raw`]): `tags` is
/// the JSON text of an object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawCostRow<'a> {
    /// The charge period's start.
    pub start: DateTime<Utc>,
    /// The charge period's end (exclusive).
    pub end: DateTime<Utc>,
    /// The amount.
    pub amount: f64,
    /// The currency.
    pub currency: &'a str,
    /// The tags, as the text of a JSON object; `None` for a null.
    pub tags: Option<&'a str>,
    /// `ResourceId`.
    pub resource_id: Option<&'a str>,
    /// `ResourceName`.
    pub resource_name: Option<&'a str>,
    /// `ServiceName`.
    pub service_name: Option<&'a str>,
    /// `SubAccountName`.
    pub sub_account_name: Option<&'a str>,
}

/// Where the text of one field of a packed row stands (`u32::MAX`: null).
type Span = (u32, u32);

const NULL_SPAN: Span = (u32::MAX, 0);

/// One row of a [`CostBatch`].
#[derive(Debug, Clone, Copy)]
struct Packed {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    amount: f64,
    text: [Span; 6],
}

/// Rows read ahead, owned, in one text buffer: what a reading thread
/// hands to a writing one ([`FocusReader::read_batch`]). Reused, it
/// allocates nothing once grown.
#[derive(Debug, Default)]
pub struct CostBatch {
    text: String,
    rows: Vec<Packed>,
}

impl CostBatch {
    /// Forgets the rows, keeping the buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a copy of `row`.
    pub fn push(&mut self, row: &RawCostRow<'_>) {
        let mut span = |s: Option<&str>| match s {
            None => NULL_SPAN,
            Some(s) => {
                let from = self.text.len() as u32;
                self.text.push_str(s);
                (from, s.len() as u32)
            }
        };
        let text = [
            span(Some(row.currency)),
            span(row.tags),
            span(row.resource_id),
            span(row.resource_name),
            span(row.service_name),
            span(row.sub_account_name),
        ];
        self.rows.push(Packed { start: row.start, end: row.end, amount: row.amount, text });
    }

    /// The rows, in order.
    pub fn iter(&self) -> impl Iterator<Item = RawCostRow<'_>> + '_ {
        self.rows.iter().map(|p| {
            let get = |(from, len): Span| {
                (from != u32::MAX).then(|| &self.text[from as usize..from as usize + len as usize])
            };
            RawCostRow {
                start: p.start,
                end: p.end,
                amount: p.amount,
                currency: get(p.text[0]).unwrap_or_default(),
                tags: get(p.text[1]),
                resource_id: get(p.text[2]),
                resource_name: get(p.text[3]),
                service_name: get(p.text[4]),
                sub_account_name: get(p.text[5]),
            }
        })
    }
}

/// Sets `slot` to `value`, reusing its buffer.
fn set_text(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (None, Some(v)) => *slot = Some(v.to_string()),
        (_, None) => *slot = None,
    }
}

/// An empty row to read into.
fn empty_row() -> CostRow {
    CostRow {
        start: DateTime::<Utc>::UNIX_EPOCH,
        end: DateTime::<Utc>::UNIX_EPOCH,
        amount: 0.0,
        currency: String::new(),
        tags: None,
        resource_id: None,
        resource_name: None,
        service_name: None,
        sub_account_name: None,
    }
}

impl<R: io::Read> Iterator for FocusReader<R> {
    type Item = Result<CostRow>;

    fn next(&mut self) -> Option<Result<CostRow>> {
        let mut row = empty_row();
        match self.read_into(&mut row) {
            Ok(true) => Some(Ok(row)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Reads every row of the FOCUS CSV `input` (see [`FocusReader::new`]),
/// handing each to `f` by reference (one row's buffers are reused
/// throughout); returns the number of rows. Stops at the first error, of
/// the input or of `f`.
pub fn for_each_row(
    input: impl io::Read,
    path: Option<&Path>,
    column: CostColumn,
    mut f: impl FnMut(&CostRow) -> Result<()>,
) -> Result<u64> {
    let mut reader = FocusReader::new(input, path, column)?;
    let mut row = empty_row();
    let mut n = 0;
    while reader.read_into(&mut row)? {
        f(&row)?;
        n += 1;
    }
    Ok(n)
}

/// A decimal number, possibly with an exponent (`6.1E-7`); `None` when the
/// cell is not one or is not finite.
fn parse_number(cell: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(cell).ok()?.trim();
    // `f64::from_str` also takes `inf` and `NaN`: not amounts.
    if !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The digits `s[at..at + n]` as a number.
fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

/// An ISO 8601 time as FOCUS exports write it: `YYYY-MM-DD`, `T` or a
/// space, `HH:MM` or `HH:MM:SS`, optional fractional seconds, then `Z`, an
/// offset (`+02:00`, `+0200`, `+02`) or nothing (= UTC).
pub fn parse_time(cell: &[u8]) -> Option<DateTime<Utc>> {
    let s = cell.trim_ascii();
    let (year, month, day) = (digits(s, 0, 4)?, digits(s, 5, 2)?, digits(s, 8, 2)?);
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute) = (digits(s, 11, 2)?, digits(s, 14, 2)?);
    if s.get(13) != Some(&b':') {
        return None;
    }
    let mut at = 16;
    let mut second = 0;
    let mut nanos = 0u32;
    if s.get(at) == Some(&b':') {
        second = digits(s, at + 1, 2)?;
        at += 3;
        if matches!(s.get(at), Some(b'.' | b',')) {
            at += 1;
            let from = at;
            let mut scale = 100_000_000u32;
            while let Some(b) = s.get(at).filter(|b| b.is_ascii_digit()) {
                nanos += u32::from(b - b'0') * scale;
                scale /= 10;
                at += 1;
            }
            if at == from {
                return None;
            }
        }
    }
    let offset_seconds: i32 = match &s[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (digits(rest, 0, 2)?, 0),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let v = (h * 3600 + m * 60) as i32;
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let naive =
        NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)?;
    if second > 59 {
        return None;
    }
    let utc = Utc.from_utc_datetime(&naive);
    Some(utc - chrono::Duration::seconds(i64::from(offset_seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<String> {
        parse_time(s.as_bytes()).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }

    #[test]
    fn times_as_exports_write_them() {
        assert_eq!(t("2024-09-18 22:00:00").as_deref(), Some("2024-09-18T22:00:00Z"));
        assert_eq!(t("2024-09-18T22:00:00Z").as_deref(), Some("2024-09-18T22:00:00Z"));
        assert_eq!(t("2024-09-18T22:00:00.250Z").as_deref(), Some("2024-09-18T22:00:00.250Z"));
        assert_eq!(t("2024-09-18T22:00:00.123456789").as_deref(), Some("2024-09-18T22:00:00.123456789Z"));
        assert_eq!(t("2024-09-19T00:30:00+02:00").as_deref(), Some("2024-09-18T22:30:00Z"));
        assert_eq!(t("2024-09-18T20:00:00-0200").as_deref(), Some("2024-09-18T22:00:00Z"));
        assert_eq!(t("2024-09-18T23:00:00+01").as_deref(), Some("2024-09-18T22:00:00Z"));
        assert_eq!(t("2024-09-18T22:00").as_deref(), Some("2024-09-18T22:00:00Z"));
        for bad in [
            "",
            "2024-09-18",
            "2024-13-01T00:00:00Z",
            "2024-09-31 00:00:00",
            "2024-09-18T24:00:00Z",
            "2024-09-18T22:00:60Z",
            "2024-09-18T22:00:00.Z",
            "2024-09-18T22:00:00+2",
            "2024-09-18T22:00:00 UTC",
            "18/09/2024 22:00",
            "2024-09-18X22:00:00",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_with_exponents_and_no_words() {
        assert_eq!(parse_number(b"6.1E-7"), Some(6.1e-7));
        assert_eq!(parse_number(b"0.00000080000"), Some(8e-7));
        assert_eq!(parse_number(b"-12"), Some(-12.0));
        assert_eq!(parse_number(b"1e3"), Some(1000.0));
        for bad in ["inf", "NaN", "1,5", "$3", "1e999", "abc", "."] {
            assert_eq!(parse_number(bad.as_bytes()), None, "{bad}");
        }
    }

    const HEADER: &str = "BilledCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,EffectiveCost,Tags,ResourceName,Extra\n";

    fn read(body: &str) -> Result<Vec<CostRow>> {
        let text = format!("{HEADER}{body}");
        FocusReader::new(text.as_bytes(), Some(Path::new("f.csv")), CostColumn::BilledCost)?.collect()
    }

    #[test]
    fn cells_nulls_and_columns_by_name() {
        let rows = read(
            "1.5,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,NULL,\"{\"\"app\"\": \"\"api\"\"}\",db-1,x\n\
             6.1E-7,2024-09-01T00:00:00Z,2024-09-01T00:00:00Z,EUR,,NULL,NULL,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].amount, 1.5);
        assert_eq!(rows[0].tag("app"), Some("api"));
        assert_eq!(rows[0].resource_name.as_deref(), Some("db-1"));
        assert_eq!(rows[0].service_name, None);
        assert_eq!(rows[1].amount, 6.1e-7);
        assert_eq!(rows[1].currency, "EUR");
        assert_eq!(rows[1].tags, None);
        assert_eq!(rows[1].resource_name, None);
        assert_eq!(rows[1].start, rows[1].end);
    }

    fn error(body: &str) -> String {
        read(body).unwrap_err().to_string()
    }

    #[test]
    fn a_bad_row_names_the_file_line_and_column() {
        let ok = "1,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n";
        assert_eq!(
            error(&format!("{ok}1x,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n")),
            "f.csv: line 3 (the header is line 1), column `BilledCost`: \"1x\" is not a number"
        );
        assert_eq!(
            error("1,2024-09-01 25:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n"),
            "f.csv: line 2 (the header is line 1), column `ChargePeriodStart`: \"2024-09-01 25:00:00\" is not a time (ISO 8601, like 2024-09-01T00:00:00Z)"
        );
        assert_eq!(
            error("1,2024-09-02 00:00:00,2024-09-01 00:00:00,USD,1,NULL,a,x\n"),
            "f.csv: line 2 (the header is line 1), column `ChargePeriodEnd`: the charge period ends (2024-09-01 00:00:00 UTC) before it starts (2024-09-02 00:00:00 UTC)"
        );
        assert_eq!(
            error("1,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,\"[1]\",a,x\n"),
            "f.csv: line 2 (the header is line 1), column `Tags`: \"[1]\" is not a JSON object"
        );
        assert_eq!(
            error("1,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,\",NULL,NULL,\",a,x\n"),
            "f.csv: line 2 (the header is line 1), column `Tags`: \",NULL,NULL,\" is not a JSON object"
        );
        assert_eq!(
            error("NULL,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n"),
            "f.csv: line 2 (the header is line 1), column `BilledCost`: a required cell is null"
        );
        assert_eq!(
            error("1,2024-09-01 00:00:00,2024-09-02 00:00:00,,1,NULL,a,x\n"),
            "f.csv: line 2 (the header is line 1), column `BillingCurrency`: a required cell is null"
        );
        // A quoted cell over two lines: the next row's line counts both.
        assert_eq!(
            error(&format!(
                "{ok}1,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,\"a\nb\",x\nz,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n"
            )),
            "f.csv: line 5 (the header is line 1), column `BilledCost`: \"z\" is not a number"
        );
        // Control characters of a cell are shown, never echoed.
        assert!(
            error("\u{1b}[2J,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n")
                .contains("\\u{1b}[2J")
        );
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let e = FocusReader::new(
            "ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost\n".as_bytes(),
            Some(Path::new("f.csv")),
            CostColumn::EffectiveCost,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 1 (the header is line 1), column `EffectiveCost`: a required column is missing from the header (line 1)"
        );
        let e = FocusReader::new("".as_bytes(), None, CostColumn::EffectiveCost).unwrap_err();
        assert_eq!(e.to_string(), "<input>: line 1 (the header is line 1): no header: the file is empty");
    }

    #[test]
    fn batches_and_raw_rows_give_the_same_rows() {
        let text = format!(
            "{HEADER}1.5,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,NULL, {{\"a\": \"b\"}} ,db-1,x\n\
             2,2024-09-01 00:00:00,2024-09-02 00:00:00,EUR,NULL,null,,x\n\
             3,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,NULL,NULL,db-3,x\n"
        );
        let rows = read(&text[HEADER.len()..]).unwrap();
        let mut reader = FocusReader::new(text.as_bytes(), None, CostColumn::BilledCost).unwrap();
        let mut batch = CostBatch::default();
        assert!(reader.read_batch(&mut batch, 2).unwrap());
        assert!(!reader.read_batch(&mut batch, 2).unwrap());
        assert_eq!(batch.len(), 3);
        let raw: Vec<RawCostRow<'_>> = batch.iter().collect();
        assert_eq!(raw[0].tags, Some(" {\"a\": \"b\"} "));
        assert_eq!(raw[1].tags, None);
        assert_eq!(raw[1].currency, "EUR");
        assert_eq!(raw[1].resource_name, None);
        for (row, raw) in rows.iter().zip(&raw) {
            assert_eq!(
                (row.start, row.end, row.amount, row.currency.as_str()),
                (raw.start, raw.end, raw.amount, raw.currency)
            );
            assert_eq!(row.resource_name.as_deref(), raw.resource_name);
            assert_eq!(row.tags.is_some(), raw.tags.is_some());
        }
        batch.clear();
        assert!(batch.is_empty());
    }

    #[test]
    fn reading_stops_after_the_first_error() {
        let text = format!("{HEADER}x,,,,,,,\n1,2024-09-01 00:00:00,2024-09-02 00:00:00,USD,1,NULL,a,x\n");
        let mut reader = FocusReader::new(text.as_bytes(), None, CostColumn::BilledCost).unwrap();
        assert!(reader.next().unwrap().is_err());
        assert!(reader.next().is_none());
    }
}
