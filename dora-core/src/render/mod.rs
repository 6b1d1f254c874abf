//! Renderers of a [`MetricsReport`] and of the weekly
//! [`Report`](crate::report::Report): each writes to any [`io::Write`], so
//! embedders reuse them and tests render into a `Vec<u8>`.

pub mod csv;
mod duration;
mod finance;
mod report;
mod report_html;
mod table;

use std::io;

pub use self::csv::write_csv;
pub use duration::human_duration;
pub use finance::{FINANCE_COLUMNS, FinanceCsvOptions, FinanceRow, finance_rows, write_finance_csv};
pub use report::{
    ReportTextOptions, format_delta, format_value, metric_label, sparkline, write_report_json,
    write_report_markdown, write_report_text,
};
pub use report_html::write_report_html;
pub use table::{TableOptions, write_table};

use crate::result::MetricsReport;

/// Writes the `dora.metrics/v1` JSON object (pretty-printed, with a final newline).
pub fn write_json<W: io::Write>(report: &MetricsReport, mut out: W) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, report)?;
    out.write_all(b"\n")
}
