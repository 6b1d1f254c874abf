//! The finance CSV: a [`FinanceTable`] written with its fixed, documented
//! columns in their fixed order (`docs/csv-export.md`), safe to open in a
//! spreadsheet.
//!
//! RFC 4180 (CRLF line ends, quotes where needed), UTF-8 (optionally with a
//! byte order mark, for Excel), `.` decimals at fixed precision, ISO 8601
//! dates, an empty cell for a null. Text cells that a spreadsheet would run
//! as a formula are neutralised as OWASP advises (a leading `'`).

use std::io;

use super::csv::safe_cell;
use crate::finance::{FINANCE_COLUMNS, FinanceCell, FinanceTable};

/// Options of the finance CSV writer.
#[derive(Debug, Clone, Copy)]
pub struct FinanceCsvOptions {
    /// The cell separator (default `,`).
    pub delimiter: u8,
    /// Start with a UTF-8 byte order mark (Excel needs it to read UTF-8).
    pub bom: bool,
}

impl Default for FinanceCsvOptions {
    fn default() -> Self {
        Self { delimiter: b',', bom: false }
    }
}

/// A cell as text: hours and money with 2 decimals, rates with 4, a null empty.
fn cell(c: FinanceCell<'_>) -> String {
    match c {
        FinanceCell::Date(d) => d.to_string(),
        FinanceCell::GroupKind(g) => g.as_str().to_string(),
        FinanceCell::Text(s) => s.map(safe_cell).unwrap_or_default(),
        FinanceCell::Count(n) => n.to_string(),
        FinanceCell::Hours(h) => h.map(|h| format!("{h:.2}")).unwrap_or_default(),
        FinanceCell::Ratio(r) => r.map(|r| format!("{r:.4}")).unwrap_or_default(),
        FinanceCell::Level(l) => l.map(|l| l.as_str().to_string()).unwrap_or_default(),
        FinanceCell::Money(m) => m.map(money).unwrap_or_default(),
    }
}

/// An amount with 2 decimals, never `-0.00` (a sum of credits and charges
/// that rounds to zero is `0.00`).
fn money(m: f64) -> String {
    let text = format!("{m:.2}");
    if text == "-0.00" { "0.00".to_string() } else { text }
}

/// Writes the finance CSV of `table`: a header of [`FINANCE_COLUMNS`], then
/// one line per row.
pub fn write_finance_csv<W: io::Write>(
    table: &FinanceTable,
    mut out: W,
    opts: FinanceCsvOptions,
) -> io::Result<()> {
    if opts.bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(opts.delimiter)
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(FINANCE_COLUMNS)?;
    for row in &table.rows {
        w.write_record(row.cells().map(cell))?;
    }
    w.flush()
}
