//! One `[[source]]` table as written, read key by key. Every read names
//! the file, the key's line, the source and the key in its error; a key
//! that no read asked for is unknown, and an error too. No error repeats a
//! value that looks like a secret.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

use anyhow::Result;
use dora_core::source::secret::{looks_like_token, redact_url};
use serde::{Serialize, Serializer};
use toml::Value;

use crate::config::{RawSourceTable, line_of};
use crate::settings::usage;

/// Keys that would hold a secret inline.
const SECRET_KEYS: [&str; 7] =
    ["token", "password", "secret", "api_key", "apikey", "private_key", "client_secret"];

/// What the tables of one file share: the file's name and text (for line
/// numbers) and all its source tables (for the sources a table names).
pub struct Context<'a> {
    /// The file, as it is named in errors.
    pub file: &'a Path,
    /// Its text.
    pub text: &'a str,
    /// Its `[[source]]` tables, in order.
    pub tables: &'a [RawSourceTable],
}

/// The string value of `key` in `table`, if it is one.
fn written<'t>(table: &'t RawSourceTable, key: &str) -> Option<&'t str> {
    table.get_ref().get(key).and_then(|v| v.get_ref().as_str())
}

impl Context<'_> {
    /// The `kind` written in the table of the source named `name` (`(no
    /// kind)` when it has none), or `None` when no source has that name.
    pub fn kind_of(&self, name: &str) -> Option<&str> {
        let table = self.tables.iter().find(|t| written(t, "name") == Some(name))?;
        Some(written(table, "kind").unwrap_or("(no kind)"))
    }

    /// The names of the sources of this `kind`, as written.
    pub fn names_of_kind(&self, kind: &str) -> Vec<&str> {
        self.tables
            .iter()
            .filter(|t| written(t, "kind") == Some(kind))
            .filter_map(|t| written(t, "name"))
            .collect()
    }
}

/// A value parsed from a string of the file (a pattern, a duration), kept
/// with the text it was written as, which is what is printed back.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// As written.
    pub text: String,
    /// As parsed.
    pub value: T,
}

impl<T> Serialize for Parsed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// How a value is shown in an error: as written, except a string that
/// looks like a token (not shown) or a URL's credentials (masked).
pub fn shown(value: &Value) -> String {
    match value {
        Value::String(s) if looks_like_token(s) => "a string that looks like a token (not shown)".into(),
        Value::String(s) => format!("{:?}", redact_url(s)),
        Value::Array(_) => "a list".into(),
        Value::Table(_) => "a table".into(),
        other => other.to_string(),
    }
}

/// The message of a key that is none of `expected`.
pub fn unknown(key: &str, expected: &[&str]) -> String {
    let expected: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
    format!("unknown field `{key}`, expected one of {}", expected.join(", "))
}

/// One source table being read: the keys asked for so far, and its name.
pub struct SourceTable<'a> {
    raw: &'a RawSourceTable,
    context: &'a Context<'a>,
    index: usize,
    asked: Vec<&'static str>,
    /// The source's `name` (present, not blank).
    pub name: String,
}

impl<'a> SourceTable<'a> {
    /// Starts reading table `index` of the file: a key that would hold a
    /// secret is refused first (its value never shown), then `name` is read.
    pub fn new(context: &'a Context<'a>, index: usize) -> Result<Self> {
        let raw = &context.tables[index];
        let mut table = SourceTable { raw, context, index, asked: Vec::new(), name: String::new() };
        let secret =
            raw.get_ref().keys().find(|k| SECRET_KEYS.contains(&k.get_ref().to_ascii_lowercase().as_str()));
        if let Some(key) = secret {
            return Err(table.error(
                key.get_ref(),
                format!(
                    "secrets are never read from dora.toml; put it in an environment variable and name \
                     that variable with `{key}_env`"
                ),
            ));
        }
        table.name = match table.string("name")? {
            Some(name) if !name.trim().is_empty() => name,
            Some(_) => return Err(table.error("name", "must not be empty")),
            None => return Err(table.error("name", "missing: every source has a name of its own")),
        };
        Ok(table)
    }

    /// The file and the sources being read.
    pub fn context(&self) -> &'a Context<'a> {
        self.context
    }

    /// An error about `key`, a key path below this source (`repos`,
    /// `monorepo."a/b"`): `FILE:LINE: source[I].KEY: MESSAGE`, the line
    /// being that of the key's first part.
    pub fn error(&self, key: &str, message: impl Display) -> anyhow::Error {
        let first = self.raw.get_ref().get_key_value(key).map(|(k, _)| k).or_else(|| {
            let top = key.split(['.', '[']).next().unwrap_or(key);
            self.raw.get_ref().get_key_value(top).map(|(k, _)| k)
        });
        let at = first.map_or(self.raw.span().start, |k| k.span().start);
        usage(format!(
            "{}:{}: source[{}].{key}: {message}",
            self.context.file.display(),
            line_of(self.context.text, at),
            self.index
        ))
    }

    /// The error of a `value` at `key` that is not `what` was expected.
    pub fn expected(&self, key: &str, what: &str, value: &Value) -> anyhow::Error {
        self.error(key, format!("expected {what}, got {}", shown(value)))
    }

    /// Whether the table has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.raw.get_ref().contains_key(key)
    }

    /// The value of `key`, if the table has it; `key` is known from now on.
    pub fn value(&mut self, key: &'static str) -> Option<&'a Value> {
        self.asked.push(key);
        self.raw.get_ref().get(key).map(|v| v.get_ref())
    }

    /// A string.
    pub fn string(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.expected(key, "a string", v)),
        }
    }

    /// A list of strings.
    pub fn strings(&mut self, key: &'static str) -> Result<Option<Vec<String>>> {
        let items = match self.value(key) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(v) => return Err(self.expected(key, "a list of strings", v)),
        };
        let strings = items.iter().enumerate().map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            v => Err(self.expected(&format!("{key}[{i}]"), "a string", v)),
        });
        strings.collect::<Result<_>>().map(Some)
    }

    /// `true` or `false`.
    pub fn flag(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(self.expected(key, "true or false", v)),
        }
    }

    /// A whole number, `min` or more, that fits a `T`.
    pub fn integer<T: TryFrom<i64>>(&mut self, key: &'static str, min: i64) -> Result<Option<T>> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Integer(i)) if *i >= min => {
                T::try_from(*i).map(Some).map_err(|_| self.error(key, format!("{i} is too large")))
            }
            Some(v) => Err(self.expected(key, &format!("a whole number, {min} or more"), v)),
        }
    }

    /// A table of strings (`name = "value"` pairs).
    pub fn string_table(&mut self, key: &'static str) -> Result<BTreeMap<String, String>> {
        match self.value(key) {
            None => Ok(BTreeMap::new()),
            Some(v) => self.strings_in(key, v),
        }
    }

    /// A table of tables of strings (`[source.KEY."name"]` tables of
    /// `name = "value"` pairs).
    pub fn string_tables(&mut self, key: &'static str) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        match self.value(key) {
            None => Ok(BTreeMap::new()),
            Some(Value::Table(t)) => {
                t.iter().map(|(k, v)| Ok((k.clone(), self.strings_in(&format!("{key}.{k:?}"), v)?))).collect()
            }
            Some(v) => Err(self.expected(key, "a table of tables", v)),
        }
    }

    /// The `name = "value"` pairs of `value`, at key path `at`.
    fn strings_in(&self, at: &str, value: &Value) -> Result<BTreeMap<String, String>> {
        let Value::Table(t) = value else {
            return Err(self.expected(at, "a table of name = \"value\" pairs", value));
        };
        t.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                v => Err(self.expected(&format!("{at}.{k:?}"), "a string", v)),
            })
            .collect()
    }

    /// A table, as written.
    pub fn table(&mut self, key: &'static str) -> Result<Option<&'a toml::Table>> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(self.expected(key, "a table", v)),
        }
    }

    /// A regular expression.
    pub fn regex(&mut self, key: &'static str) -> Result<Option<Parsed<regex::Regex>>> {
        let Some(text) = self.string(key)? else { return Ok(None) };
        match regex::Regex::new(&text) {
            Ok(value) => Ok(Some(Parsed { text, value })),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// A list of glob patterns.
    pub fn globs(&mut self, key: &'static str) -> Result<Vec<Parsed<glob::Pattern>>> {
        let texts = self.strings(key)?.unwrap_or_default();
        texts
            .into_iter()
            .map(|text| match glob::Pattern::new(&text) {
                Ok(value) => Ok(Parsed { text, value }),
                Err(e) => Err(self.error(key, format!("{text:?}: {e}"))),
            })
            .collect()
    }

    /// Ends the reading: a key that was never asked for is unknown (the
    /// first one in the file is named, with the known keys).
    pub fn finish(self) -> Result<()> {
        let mut unknown_keys: Vec<_> =
            self.raw.get_ref().keys().filter(|k| !self.asked.iter().any(|a| a == k.get_ref())).collect();
        unknown_keys.sort_by_key(|k| k.span().start);
        let Some(key) = unknown_keys.first() else { return Ok(()) };
        let at = line_of(self.context.text, key.span().start);
        Err(usage(format!(
            "{}:{at}: source[{}]: {}",
            self.context.file.display(),
            self.index,
            unknown(key.get_ref(), &self.asked)
        )))
    }
}
