//! The raw command line (clap derive). Values are resolved and checked in
//! [`crate::settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// dora: the four DORA metrics (and rework rate) from your delivery events.
#[derive(Debug, Parser)]
#[command(name = "dora", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the metrics of a window, from the store (default) or from event files.
    #[command(
        after_help = "Examples:\n  dora metrics --since 2026-06-01 --until 2026-11-23 --period month\n  dora metrics --events examples/demo/events.jsonl --since 2026-06-01 --until 2026-11-23\n  dora metrics --events events.jsonl.gz --format json > metrics.json\n  DORA_TIMEZONE=Europe/Berlin dora metrics --group-by team"
    )]
    Metrics(MetricsArgs),
    /// The weekly report: each team and service this week, what changed, what to look at.
    #[command(
        after_help = "Examples:\n  dora report                                   (the last complete week, from the store)\n  dora report --events examples/demo/events.jsonl --week 2026-W47\n  dora report --format markdown > weekly.md\n  dora report --format html --output report.html"
    )]
    Report(ReportArgs),
    /// List the events behind a figure, and why each was counted.
    #[command(
        after_help = "Examples:\n  dora explain lead-time --service checkout --since 2026-11-16 --until 2026-11-23\n  dora explain change-failure-rate --team commerce --since 2026-11-01 --until 2026-12-01 --format json\n  dora explain deployment-frequency --since 2026-06-01 --until 2026-09-01 --period month --period-index 2"
    )]
    Explain(ExplainArgs),
    /// Run the sources of dora.toml and store what is new.
    #[command(
        after_help = "Examples:\n  dora collect\n  dora collect --source pagerduty --source deploys\n  dora collect --config /etc/dora/dora.toml --jobs 2"
    )]
    Collect(CollectArgs),
    /// Watch a source and store each event as it happens, until SIGINT or SIGTERM.
    #[command(subcommand)]
    Watch(WatchCommand),
    /// Store the events of JSON Lines or CSV files (all of them, or none on an error).
    #[command(
        after_help = "Examples:\n  dora import examples/demo/events.jsonl\n  dora import deployments.csv changes.csv incidents.csv\n  dora import --skip-bad-lines export.jsonl.gz"
    )]
    Import(ImportArgs),
    /// Cloud cost beside delivery: import FOCUS billing exports, check their allocation to services.
    #[command(subcommand)]
    Costs(CostsCommand),
    /// Write the stored events out.
    #[command(
        after_help = "Examples:\n  dora export events --format jsonl --output events.jsonl\n  dora export events --format csv > events.csv\n  dora export events --format parquet --output events.parquet"
    )]
    Export(ExportArgs),
    /// Run dora as an HTTP service: events pushed in (POST /events), metrics scraped (GET /metrics), until SIGINT or SIGTERM.
    #[command(
        after_help = "Examples:\n  dora serve\n  dora serve --listen 127.0.0.1:9000 --store /var/lib/dora/dora.db\n  DORA_INGEST_TOKEN=... dora serve --listen 0.0.0.0:8080 --ingest-token-env DORA_INGEST_TOKEN\n\nNeeds dora built with the serve feature: cargo build --release -p dora-cli --features serve"
    )]
    Serve(ServeArgs),
    /// Check dora.toml and print the effective configuration (secrets redacted).
    #[command(after_help = "Examples:\n  dora config check\n  dora config check --config ops/dora.toml")]
    Config(ConfigArgs),
    /// Write realistic generated events (the bundled demo, or the benchmark input).
    #[command(
        after_help = "Examples:\n  dora demo --output examples/demo/events.jsonl\n  dora demo --preset benchmark --output /tmp/bench.jsonl"
    )]
    Demo(DemoArgs),
}

/// Output formats of `dora metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text tables for a terminal (80 columns).
    Table,
    /// The dora.metrics/v1 object.
    Json,
    /// One row per group and period.
    Csv,
}

/// The input and engine flags that `metrics`, `report`, `explain` and
/// `export csv` share.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// The events (JSON Lines, optionally gzip-compressed, or CSV; `-` for standard input) instead of the store; repeat for several files.
    #[arg(long, env = "DORA_EVENTS", value_name = "FILE", value_delimiter = ',')]
    pub events: Vec<PathBuf>,
    /// IANA time zone periods and days are cut in [default: UTC].
    #[arg(long, env = "DORA_TIMEZONE", value_name = "IANA_NAME")]
    pub timezone: Option<String>,
    /// How far before an incident a deployment is inferred as its cause (7d, 36h, 90m, 0 = off) [default: 7d].
    #[arg(long, env = "DORA_ATTRIBUTION_WINDOW", value_name = "DURATION", allow_hyphen_values = true)]
    pub attribution_window: Option<String>,
    /// Where lead time starts [default: commit].
    #[arg(long, env = "DORA_LEAD_TIME_START", value_name = "commit|first_commit")]
    pub lead_time_start: Option<String>,
    /// Regular expression of production environment names; repeat for several [default: the spec's].
    #[arg(
        long = "production-pattern",
        env = "DORA_PRODUCTION_PATTERNS",
        value_name = "REGEX",
        allow_hyphen_values = true
    )]
    pub production_patterns: Vec<String>,
    /// Group kinds to report, comma-separated [default: all,service,team].
    #[arg(long, env = "DORA_GROUP_BY", value_name = "KINDS", value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Skip lines that are not valid events (each is reported on stderr) instead of failing.
    #[arg(long, env = "DORA_SKIP_BAD_LINES")]
    pub skip_bad_lines: bool,
    /// The configuration file [default: ./dora.toml when present].
    #[arg(long, env = "DORA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The store to read when no --events is given [default: [store] path, else .dora/dora.db beside dora.toml].
    #[arg(long, env = "DORA_STORE", value_name = "PATH")]
    pub store: Option<PathBuf>,
}

/// `dora metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Start of the window: YYYY-MM-DD (midnight in the time zone) or RFC 3339 [default: 12 periods before --until].
    #[arg(long, env = "DORA_SINCE", value_name = "DATE", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// End of the window (excluded) [default: the start of the current period].
    #[arg(long, env = "DORA_UNTIL", value_name = "DATE", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Period length [default: week].
    #[arg(long, env = "DORA_PERIOD", value_name = "day|week|month")]
    pub period: Option<String>,
    /// Output format.
    #[arg(long, env = "DORA_FORMAT", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `dora explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The metric: deployment-frequency, lead-time, change-failure-rate, time-to-restore, recovery-time or rework-rate.
    #[arg(value_name = "METRIC")]
    pub metric: String,
    /// Explain a service's figure.
    #[arg(long, value_name = "NAME", conflicts_with = "team", allow_hyphen_values = true)]
    pub service: Option<String>,
    /// Explain a team's figure [default: all services].
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    pub team: Option<String>,
    /// Explain one period of the window (0 = the first) instead of the whole window.
    #[arg(long, value_name = "N")]
    pub period_index: Option<usize>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Output formats of `dora report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for a terminal (80 columns).
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML page with charts.
    Html,
    /// The dora.report/v1 object.
    Json,
}

/// `dora report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The ISO week to report on, like 2026-W10 [default: the last complete week].
    #[arg(long, env = "DORA_WEEK", value_name = "YYYY-Www")]
    pub week: Option<String>,
    /// Weeks in the trend, the reported one included (6 to 104).
    #[arg(long, env = "DORA_WEEKS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(6..=104))]
    pub weeks: u32,
    /// Start the trend at the week containing this date (instead of --weeks).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Report on the last complete week before this date (instead of --week).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Report on one team only: its figures, regressions and notable items.
    #[arg(long, value_name = "NAME", conflicts_with = "service", allow_hyphen_values = true)]
    pub team: Option<String>,
    /// Report on one service only: its figures, regressions and notable items.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    pub service: Option<String>,
    /// Output format.
    #[arg(long, env = "DORA_REPORT_FORMAT", value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write to this file (written whole, then moved into place) [default: standard output].
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl ReportArgs {
    /// The engine flags, as `dora metrics` would take them (weekly periods).
    pub fn as_metrics_args(&self) -> MetricsArgs {
        MetricsArgs {
            since: None,
            until: None,
            period: Some("week".into()),
            format: Format::Json,
            engine: self.engine.clone(),
        }
    }
}

/// Options every store command shares.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The configuration file [default: ./dora.toml when present].
    #[arg(long, env = "DORA_CONFIG", value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// The store [default: [store] path, else .dora/dora.db beside dora.toml].
    #[arg(long, env = "DORA_STORE", value_name = "PATH", global = true)]
    pub store: Option<PathBuf>,
}

/// `dora collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Run only this source (by name); repeat for several [default: every source].
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Sources run at once.
    #[arg(long, env = "DORA_JOBS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Stop a source (storing nothing of it) past this many API requests [default: the source's max_requests].
    #[arg(long, env = "DORA_MAX_REQUESTS", value_name = "N")]
    pub max_requests: Option<u64>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `dora watch`.
#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Record each rollout of the configured Kubernetes clusters as it finishes.
    #[command(
        after_help = "Examples:\n  dora watch kubernetes\n  dora watch kubernetes --source prod-clusters --config /etc/dora/dora.toml"
    )]
    Kubernetes(WatchKubernetesArgs),
}

/// `dora watch kubernetes`.
#[derive(Debug, Args)]
pub struct WatchKubernetesArgs {
    /// The kubernetes source of dora.toml to watch [default: the only one].
    #[arg(long = "source", value_name = "NAME")]
    pub source: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `dora serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on [default: [serve] listen, else 127.0.0.1:8080].
    #[arg(long, env = "DORA_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// The largest request body, like 10MiB [default: [serve] max_body, else 10MiB].
    #[arg(long, env = "DORA_MAX_BODY", value_name = "SIZE")]
    pub max_body: Option<String>,
    /// The window GET /metrics covers, ending now, like 30d [default: [serve] metrics_window, else 30d].
    #[arg(long, env = "DORA_METRICS_WINDOW", value_name = "DURATION")]
    pub metrics_window: Option<String>,
    /// The NAME of the environment variable holding the ingest token (never the token itself).
    #[arg(long, env = "DORA_INGEST_TOKEN_ENV", value_name = "NAME")]
    pub ingest_token_env: Option<String>,
    /// Run the configured sources' incremental collection this often, like 15m [default: [serve] collect_every, else only when a webhook asks].
    #[arg(long, env = "DORA_COLLECT_EVERY", value_name = "DURATION")]
    pub collect_every: Option<String>,
    /// The NAME of the environment variable holding the GitHub webhook secret (never the secret itself); without it, POST /webhooks/github answers 404.
    #[arg(long, env = "DORA_GITHUB_WEBHOOK_SECRET_ENV", value_name = "NAME")]
    pub github_webhook_secret_env: Option<String>,
    /// The NAME of the environment variable holding the GitLab webhook token (never the token itself); without it, POST /webhooks/gitlab answers 404.
    #[arg(long, env = "DORA_GITLAB_WEBHOOK_TOKEN_ENV", value_name = "NAME")]
    pub gitlab_webhook_token_env: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `dora import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON Lines or CSV files (either may be gzip-compressed); `-` reads JSON Lines from standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Skip lines and rows that are not valid events (each is reported on stderr) instead of failing.
    #[arg(long, env = "DORA_SKIP_BAD_LINES")]
    pub skip_bad_lines: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `dora export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    #[command(subcommand)]
    pub what: ExportWhat,
}

/// What `dora export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// Every stored event, in the store's order.
    #[command(
        after_help = "Examples:\n  dora export events --format jsonl --output events.jsonl\n  dora export events --format csv > events.csv\n  dora export events --format parquet --output events.parquet   (needs --features parquet)"
    )]
    Events(ExportEventsArgs),
    /// The finance CSV: one row per period and group, fixed columns (docs/csv-export.md).
    #[command(
        after_help = "Examples:\n  dora export csv --since 2026-01-01 --until 2026-07-01 --output dora-h1.csv\n  dora export csv --bom --delimiter ';' > for-excel.csv\n  dora export csv --period week --group-by team"
    )]
    Csv(Box<ExportCsvArgs>),
}

/// `dora export csv`.
#[derive(Debug, Args)]
pub struct ExportCsvArgs {
    /// Start of the window [default: 12 periods before --until].
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// End of the window (excluded) [default: the start of the current period].
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Period of each row.
    #[arg(long, value_name = "day|week|month", default_value = "month")]
    pub period: String,
    /// The cell separator, one ASCII character (`;` for spreadsheets in many locales).
    #[arg(long, default_value = ",", value_name = "CHAR")]
    pub delimiter: String,
    /// Start the file with a UTF-8 byte order mark (for Excel).
    #[arg(long)]
    pub bom: bool,
    /// Where to write (written whole, then moved into place) [default: standard output].
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl ExportCsvArgs {
    /// The engine flags, as `dora metrics` would take them.
    pub fn as_metrics_args(&self) -> MetricsArgs {
        MetricsArgs {
            since: self.since.clone(),
            until: self.until.clone(),
            period: Some(self.period.clone()),
            format: Format::Csv,
            engine: self.engine.clone(),
        }
    }
}

/// Formats of `dora export events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// dora.events/v1 JSON Lines (what `dora import` reads).
    Jsonl,
    /// One row per event, columns named as the spec's fields (what `dora import` reads).
    Csv,
    /// Apache Parquet, one row per event (for DuckDB, Spark, Trino, BigQuery...).
    Parquet,
}

/// `dora export events`.
#[derive(Debug, Args)]
pub struct ExportEventsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = EventFormat::Jsonl)]
    pub format: EventFormat,
    /// Where to write (written whole, then moved into place) [default: standard output; required for parquet].
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `dora costs`.
#[derive(Debug, Subcommand)]
pub enum CostsCommand {
    /// Store the rows of FOCUS 1.0-1.3 exports (CSV, optionally gzip-compressed); importing a file again replaces its rows.
    #[command(
        after_help = "Examples:\n  dora costs import focus-2024-09.csv\n  dora costs import exports/*.csv.gz\n  dora costs import billing.parquet        (needs the parquet feature)\n\nA bad row stops the import of its file, naming the line and column; nothing of that file is stored."
    )]
    Import(CostsImportArgs),
    /// Print the cost per service under the configured allocation, the unallocated share, and the largest rows no tag or rule allocates.
    #[command(
        after_help = "Examples:\n  dora costs check\n  dora costs check --since 2024-09-01 --until 2024-10-01 --top 20\n  dora costs check --format json | jq '.currencies[].unallocated.share'"
    )]
    Check(CostsCheckArgs),
}

/// `dora costs import`.
#[derive(Debug, Args)]
pub struct CostsImportArgs {
    /// FOCUS exports: CSV (`.gz` decompressed) or Parquet (`.parquet`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `dora costs check`.
#[derive(Debug, Args)]
pub struct CostsCheckArgs {
    /// Start of the window: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: every stored row].
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// End of the window (exclusive) [default: every stored row].
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// How many of the largest unallocated rows to list.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Output formats of `dora costs check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Tables for a terminal.
    Text,
    /// The dora.costs-check/v1 object (docs/costs.md).
    Json,
}

/// `dora config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// `dora config` actions.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate dora.toml and print the effective configuration, secrets redacted.
    #[command(after_help = "Examples:\n  dora config check\n  dora config check --config ops/dora.toml")]
    Check(StoreArgs),
}

/// Presets of `dora demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// About six services, three teams, six months.
    Demo,
    /// 200 services for a year (~1.85M lines, ~640 MB).
    Benchmark,
}

/// `dora demo --style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoStyleArg {
    /// dora's own compact lines.
    Dora,
    /// As other programs write the same events.
    Foreign,
}

/// `dora demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which data set.
    #[arg(long, value_enum, default_value_t = Preset::Demo)]
    pub preset: Preset,
    /// The random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// How lines are written: `dora` (compact, dora's key order, UTC times)
    /// or `foreign` (the same events as other programs write them: spaces,
    /// another key order, unknown fields, nulls, times with offsets).
    #[arg(long, value_enum, default_value_t = DemoStyleArg::Dora)]
    pub style: DemoStyleArg,
    /// Where to write (default: standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}
