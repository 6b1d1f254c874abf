//! `dora.toml`: the file as written (serde's structures, the low level)
//! and its loading. The `[[source]]` tables stay raw here; each is checked
//! and turned into its settings once, by [`crate::settings::sources`], for every
//! command alike. Unknown keys and bad values are errors that name the
//! file, the line and the key path; secrets are never read from the file,
//! only the names of environment variables that hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::settings::allocation::AllocationSettings;
use crate::settings::sources::{Context, SourceSettings};
use crate::settings::usage;

/// The `[metrics]` table: the options of `dora metrics` (and `dora report`).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Event files to read instead of the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<PathBuf>>,
    /// Window start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Window end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// day, week or month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Like `7d`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution_window: Option<String>,
    /// commit or first_commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_time_start: Option<String>,
    /// Production environment patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_patterns: Option<Vec<String>>,
    /// Group kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
}

/// The `[store]` table.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file, relative to `dora.toml` [default: `.dora/dora.db`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

/// A size in bytes as written: a number, or a string like `10MiB`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ByteSize {
    /// Bytes.
    Bytes(u64),
    /// With a unit: `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.
    Text(String),
}

/// The `[serve]` table: the settings of `dora serve`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on [default: `127.0.0.1:8080`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The largest request body [default: `10MiB`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body: Option<ByteSize>,
    /// The window `GET /metrics` covers, ending now, like `30d` [default: `30d`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_window: Option<String>,
    /// The name of the environment variable holding the ingest token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest_token_env: Option<String>,
    /// Run every source's incremental collection this often, like `15m`
    /// [default: only when a webhook asks].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collect_every: Option<String>,
    /// The name of the environment variable holding the secret GitHub
    /// webhook deliveries are signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_webhook_secret_env: Option<String>,
    /// The name of the environment variable holding the token GitLab
    /// webhook deliveries carry (`X-Gitlab-Token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gitlab_webhook_token_env: Option<String>,
}

/// A `[[source]]` table as written: its keys and values, each with where
/// it stands in the file. [`crate::settings::sources::SourceSettings`] is what it
/// means, checked.
pub type RawSourceTable = Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

/// `dora.toml` as written (the `[[source]]` tables still raw).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[store]`.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// `[serve]`.
    #[serde(default)]
    pub serve: ServeConfig,
    /// `[teams]`: service -> team, overriding the events' own `team`.
    #[serde(default)]
    pub teams: BTreeMap<String, String>,
    /// `[finance]`: team or service -> cost center (every key but the
    /// reserved `allocation`, read into [`LoadedConfig::allocation`]).
    #[serde(skip)]
    pub finance: BTreeMap<String, String>,
    /// `[finance]` as written: cost centers and the `allocation` table.
    #[serde(default, rename = "finance")]
    finance_raw: BTreeMap<String, Spanned<toml::Value>>,
    /// `[[source]]` tables, as written.
    #[serde(default, rename = "source")]
    pub source_tables: Vec<RawSourceTable>,
}

/// A loaded configuration and where it came from.
#[derive(Debug, Default)]
pub struct LoadedConfig {
    /// The file's contents, as written.
    pub config: Config,
    /// Its `[[source]]` tables, checked: what `dora config check` prints
    /// and `dora collect` and `dora watch` run.
    pub sources: Vec<SourceSettings>,
    /// `[finance.allocation]`, checked, when the file has one.
    pub allocation: Option<AllocationSettings>,
    /// The file, when there is one.
    pub path: Option<PathBuf>,
}

impl LoadedConfig {
    /// The directory relative paths of the file are resolved against: the
    /// file's own, else the current one.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.as_deref().and_then(Path::parent) {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Resolves a path of the file against [`LoadedConfig::base_dir`].
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_relative() { self.base_dir().join(p) } else { p.to_path_buf() }
    }

    /// The store's path: `--store`, else `[store] path`, else
    /// `.dora/dora.db` beside `dora.toml` (or in the current directory).
    pub fn store_path(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return p.to_path_buf();
        }
        let p = self
            .config
            .store
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(dora_core::store::DEFAULT_STORE_PATH));
        self.resolve(&p)
    }

    /// Reads the file named by `--config`, else `./dora.toml` when present.
    pub fn load(explicit: Option<&Path>) -> Result<LoadedConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("dora.toml");
                if !default.exists() {
                    return Ok(LoadedConfig::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| usage(format!("{}: cannot read the configuration: {e}", path.display())))?;
        parse(&text, &path)
    }
}

/// Parses and checks the text of `dora.toml` (read from `path`): the
/// tables as written, then each `[[source]]` table into its settings.
pub fn parse(text: &str, path: &Path) -> Result<LoadedConfig> {
    let mut config: Config = toml::from_str(text).map_err(|e| {
        let msg = e.message();
        match e.span() {
            Some(s) => usage(format!("{}:{}: {msg}", path.display(), line_of(text, s.start))),
            None => usage(format!("{}: {msg}", path.display())),
        }
    })?;
    for (k, v) in &config.teams {
        if v.trim().is_empty() {
            return Err(usage(format!("{}: teams.{k}: must not be empty", path.display())));
        }
    }
    let (centers, allocation) = crate::settings::allocation::finance(&config.finance_raw, text, path)?;
    config.finance = centers;
    let sources = SourceSettings::all(&Context { file: path, text, tables: &config.source_tables })?;
    Ok(LoadedConfig { config, sources, allocation, path: Some(path.to_path_buf()) })
}

/// The line (from 1) of the byte at `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("dora.toml")).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key_path_and_line() {
        assert_eq!(
            err("[store]\npath = \"a\"\nfoo = 1\n"),
            "dora.toml:3: unknown field `foo`, expected `path`"
        );
        assert_eq!(err("[teams]\napi = \"\"\n"), "dora.toml: teams.api: must not be empty");
        assert!(
            err("[teams]\napi = 3\n").starts_with("dora.toml:2: invalid type: integer `3`"),
            "{}",
            err("[teams]\napi = 3\n")
        );
        // A source table's errors too (more in crate::settings::sources).
        let e = err(
            "[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\n\n[[source]]\nkind = \"fiel\"\nname = \"b\"\n",
        );
        assert_eq!(
            e,
            "dora.toml:7: source[1].kind: \"fiel\" is not one of file, github, gitlab, kubernetes, opencost"
        );
    }

    #[test]
    fn a_full_file_parses() {
        let c = parse(
            "[store]\npath = \"x.db\"\n[metrics]\nperiod = \"month\"\n[teams]\napi = \"payments\"\n[finance]\npayments = \"CC-1\"\n[[source]]\nkind = \"file\"\nname = \"inc\"\npaths = [\"*.csv\"]\nskip_bad_lines = true\n",
            Path::new("dora.toml"),
        )
        .unwrap();
        assert_eq!(c.config.teams["api"], "payments");
        assert_eq!(c.sources[0].name(), "inc");
        assert_eq!(c.base_dir(), PathBuf::from("."));
    }
}
