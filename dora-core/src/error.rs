//! Errors of the library: one enum, with a [`Result`] alias.

use std::path::PathBuf;

/// Where a problem in an input was found: the file (if any), the 1-based line
/// and, where known, the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, or `None` for an in-memory reader.
    pub path: Option<PathBuf>,
    /// The 1-based line number.
    pub line: u64,
    /// The field the problem is in, when it is in one.
    pub field: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}:{}", p.display(), self.line)?,
            None => write!(f, "line {}", self.line)?,
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

/// Every error `dora-core` returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line of an event file is not a valid `dora.events/v1` event.
    #[error("{location}: {message}")]
    InvalidEvent {
        /// Where the bad line is.
        location: Location,
        /// What is wrong with it.
        message: String,
    },
    /// A row of a cost export (a FOCUS CSV) is not a valid cost row, or
    /// the export's header lacks a required column.
    #[error("{}: line {line} (the header is line 1){}: {message}", display_path(.path), display_column(.column))]
    InvalidCostRow {
        /// The file, or `None` for an in-memory reader.
        path: Option<PathBuf>,
        /// The line the row starts on, counted from 1 (the header's).
        line: u64,
        /// The column the problem is in, when it is in one.
        column: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// An event file holds no event at all.
    #[error("{}: no events (the input is empty)", display_path(.path))]
    EmptyInput {
        /// The file, or `None` for an in-memory reader.
        path: Option<PathBuf>,
    },
    /// Reading an input failed.
    #[error("{}: {error}", display_path(.path))]
    Io {
        /// The file, or `None` for an in-memory reader.
        path: Option<PathBuf>,
        /// The underlying error (part of this error's message).
        error: std::io::Error,
    },
    /// An option given to the engine is not usable (bad window, pattern, zone...).
    #[error("invalid option `{option}`: {message}")]
    InvalidOption {
        /// The option's name, as the CLI flag without dashes.
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The event store cannot be opened, read or written.
    #[error("{}: {message}", .path.display())]
    Store {
        /// The store's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A source (an adapter: GitHub, GitLab, Kubernetes) failed.
    #[error("{message}")]
    Source {
        /// What went wrong (never a token).
        message: String,
    },
    /// The cost rows in a window are in more than one currency
    /// (METRICS.md section 7: currencies are never converted).
    #[error(
        "the cost rows in the window are in {} currencies ({}): dora never converts currencies; \
         import the costs of one billing currency, or choose a window whose rows share one",
        .currencies.len(),
        .currencies.join(", ")
    )]
    Currencies {
        /// The currencies found, sorted.
        currencies: Vec<String>,
    },
    /// The grouping or statistics step failed inside polars.
    #[error("computing statistics failed: {0}")]
    Compute(String),
}

fn display_path(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "<input>".to_string(),
    }
}

fn display_column(column: &Option<String>) -> String {
    match column {
        Some(c) => format!(", column `{c}`"),
        None => String::new(),
    }
}

impl Error {
    /// The error for a failed SQLite call on the store at `path`.
    #[cfg(feature = "store")]
    pub(crate) fn store(path: &std::path::Path, e: rusqlite::Error) -> Self {
        Error::Store { path: path.to_path_buf(), message: e.to_string() }
    }

    /// The error for an option value that cannot be used.
    pub(crate) fn option(option: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidOption { option, message: message.into() }
    }
}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        Error::Compute(e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// The result type of `dora-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
