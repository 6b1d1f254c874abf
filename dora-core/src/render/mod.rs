//! Renderers of a [`MetricsReport`](crate::result::MetricsReport) and of the weekly
//! [`Report`](crate::report::Report): each writes to any [`io::Write`](std::io::Write), so
//! embedders reuse them and tests render into a `Vec<u8>`.

pub mod csv;
mod duration;
mod explain;
mod finance;
mod json;
mod prometheus;
mod report;
mod report_html;
mod table;
mod text;

pub use self::csv::write_csv;
pub use duration::human_duration;
pub use explain::{write_explanation_json, write_explanation_text};
pub use finance::{FinanceCsvOptions, write_finance_csv};
pub use json::{write_json, write_pretty_json};
pub use prometheus::{
    ExpositionFormat, MetricKind, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, prometheus_metric_names,
    push_family, push_sample, write_prometheus,
};
pub use report::{
    ReportTextOptions, cost_sparkline, format_delta, format_money, format_money_delta, format_value,
    metric_label, sparkline, write_report_json, write_report_markdown, write_report_text,
};
pub use report_html::{ReportLinks, write_report_html, write_report_html_with_links};
pub use table::{TableOptions, write_table};
pub use text::{html_text, is_unsafe_char, markdown_code, markdown_text, visible};
