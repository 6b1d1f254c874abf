//! The one table of event fields: every field of `dora.events/v1`
//! (METRICS.md section 1) and dora's `note`, with its key, the kind it
//! belongs to, its type and whether it is required.
//!
//! What knows the list of fields reads it from here: the JSON Lines fast
//! path's keys ([`Key`]), the CSV reader (which cells are lists or numbers),
//! the event CSV and Parquet exports (their columns, in [`FIELDS`] order),
//! and the tests that check `docs/events.md`. Adding an optional field is a
//! row here, a member of the model (`event/model.rs`) and of the raw form
//! (`event/raw.rs`), and its place in the readers and the store's record.
//!
//! ```
//! use dora_core::event::fields::{FIELDS, FieldType};
//!
//! let times = FIELDS.iter().filter(|f| f.ty == FieldType::Time).count();
//! assert_eq!(times, 9);
//! assert_eq!(FIELDS[0].column, "kind");
//! ```

use super::EventKind;

/// A key of an event line: a top-level field, or a field of a change's
/// `pull_request` object (`number`, `opened_at`, `merged_at`,
/// `first_commit_at`; `opened_at` is also an incident's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each is the key its name says (see `Key::name`)
pub enum Key {
    Kind,
    Id,
    Service,
    Team,
    Source,
    Environment,
    FinishedAt,
    StartedAt,
    Status,
    Type,
    Commit,
    Changes,
    Remediates,
    CommittedAt,
    AuthoredAt,
    PullRequest,
    Number,
    OpenedAt,
    MergedAt,
    FirstCommitAt,
    ResolvedAt,
    CausedBy,
    CausedByChange,
    Severity,
    Note,
}

impl Key {
    /// Every key, once.
    pub const ALL: [Key; 25] = [
        Key::Kind,
        Key::Id,
        Key::Service,
        Key::Team,
        Key::Source,
        Key::Environment,
        Key::FinishedAt,
        Key::StartedAt,
        Key::Status,
        Key::Type,
        Key::Commit,
        Key::Changes,
        Key::Remediates,
        Key::CommittedAt,
        Key::AuthoredAt,
        Key::PullRequest,
        Key::Number,
        Key::OpenedAt,
        Key::MergedAt,
        Key::FirstCommitAt,
        Key::ResolvedAt,
        Key::CausedBy,
        Key::CausedByChange,
        Key::Severity,
        Key::Note,
    ];

    /// The key as it is written in a line.
    pub const fn name(self) -> &'static str {
        match self {
            Key::Kind => "kind",
            Key::Id => "id",
            Key::Service => "service",
            Key::Team => "team",
            Key::Source => "source",
            Key::Environment => "environment",
            Key::FinishedAt => "finished_at",
            Key::StartedAt => "started_at",
            Key::Status => "status",
            Key::Type => "type",
            Key::Commit => "commit",
            Key::Changes => "changes",
            Key::Remediates => "remediates",
            Key::CommittedAt => "committed_at",
            Key::AuthoredAt => "authored_at",
            Key::PullRequest => "pull_request",
            Key::Number => "number",
            Key::OpenedAt => "opened_at",
            Key::MergedAt => "merged_at",
            Key::FirstCommitAt => "first_commit_at",
            Key::ResolvedAt => "resolved_at",
            Key::CausedBy => "caused_by",
            Key::CausedByChange => "caused_by_change",
            Key::Severity => "severity",
            Key::Note => "note",
        }
    }

    /// The kind whose top-level field this key is, or `None` for the
    /// fields every kind has (and for `number`, `merged_at` and
    /// `first_commit_at`, which are only a pull request's).
    pub const fn top_level_kind(self) -> Option<EventKind> {
        let mut i = 0;
        while i < FIELDS.len() {
            let f = &FIELDS[i];
            if !f.in_pull_request && f.key as u8 == self as u8 {
                return f.kind;
            }
            i += 1;
        }
        // `pull_request` itself is a change's.
        if matches!(self, Key::PullRequest) { Some(EventKind::Change) } else { None }
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `deployment`, `change` or `incident`.
    Kind,
    /// A string.
    Text,
    /// An RFC 3339 time.
    Time,
    /// A non-negative integer (a pull request's number).
    Number,
    /// A list of event ids.
    IdList,
    /// A deployment's status: `success` or `failure`.
    Status,
    /// A deployment's type: `regular`, `rollback` or `hotfix`.
    DeploymentType,
}

/// One field of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its key in a line.
    pub key: Key,
    /// Whether it sits inside a change's `pull_request` object.
    pub in_pull_request: bool,
    /// Its name as a column of an event CSV or Parquet file (a pull
    /// request's field as `pull_request.<key>`).
    pub column: &'static str,
    /// The kind it belongs to, or `None` when every kind has it.
    pub kind: Option<EventKind>,
    /// What it holds.
    pub ty: FieldType,
    /// Whether an event of its kind must have it.
    pub required: bool,
}

const fn field(
    key: Key,
    column: &'static str,
    kind: Option<EventKind>,
    ty: FieldType,
    required: bool,
) -> Field {
    Field { key, in_pull_request: false, column, kind, ty, required }
}

const fn pull_request(key: Key, column: &'static str, ty: FieldType) -> Field {
    Field { key, in_pull_request: true, column, kind: Some(EventKind::Change), ty, required: false }
}

const D: Option<EventKind> = Some(EventKind::Deployment);
const C: Option<EventKind> = Some(EventKind::Change);
const I: Option<EventKind> = Some(EventKind::Incident);

/// Every field, in the order of an event CSV's columns: the fields every
/// kind has, then each kind's, the pull request's as `pull_request.*`, and
/// dora's `note` last (so the columns before it keep their places).
pub const FIELDS: [Field; 25] = [
    field(Key::Kind, "kind", None, FieldType::Kind, true),
    field(Key::Id, "id", None, FieldType::Text, true),
    field(Key::Service, "service", None, FieldType::Text, true),
    field(Key::Team, "team", None, FieldType::Text, false),
    field(Key::Source, "source", None, FieldType::Text, false),
    field(Key::Environment, "environment", D, FieldType::Text, true),
    field(Key::FinishedAt, "finished_at", D, FieldType::Time, true),
    field(Key::StartedAt, "started_at", D, FieldType::Time, false),
    field(Key::Status, "status", D, FieldType::Status, true),
    field(Key::Type, "type", D, FieldType::DeploymentType, false),
    field(Key::Commit, "commit", D, FieldType::Text, false),
    field(Key::Changes, "changes", D, FieldType::IdList, false),
    field(Key::Remediates, "remediates", D, FieldType::IdList, false),
    field(Key::CommittedAt, "committed_at", C, FieldType::Time, true),
    field(Key::AuthoredAt, "authored_at", C, FieldType::Time, false),
    pull_request(Key::Number, "pull_request.number", FieldType::Number),
    pull_request(Key::OpenedAt, "pull_request.opened_at", FieldType::Time),
    pull_request(Key::MergedAt, "pull_request.merged_at", FieldType::Time),
    pull_request(Key::FirstCommitAt, "pull_request.first_commit_at", FieldType::Time),
    field(Key::OpenedAt, "opened_at", I, FieldType::Time, true),
    field(Key::ResolvedAt, "resolved_at", I, FieldType::Time, false),
    field(Key::CausedBy, "caused_by", I, FieldType::Text, false),
    field(Key::CausedByChange, "caused_by_change", I, FieldType::Text, false),
    field(Key::Severity, "severity", I, FieldType::Text, false),
    field(Key::Note, "note", D, FieldType::Text, false),
];

/// The column names of [`FIELDS`], in order.
pub const COLUMNS: [&str; FIELDS.len()] = {
    let mut out = [""; FIELDS.len()];
    let mut i = 0;
    while i < FIELDS.len() {
        out[i] = FIELDS[i].column;
        i += 1;
    }
    out
};

/// The field whose column is `column`, if any.
pub fn by_column(column: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.column == column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_keys_and_pull_request_keys() {
        for f in &FIELDS {
            let expected = if f.in_pull_request {
                format!("pull_request.{}", f.key.name())
            } else {
                f.key.name().to_string()
            };
            assert_eq!(f.column, expected);
        }
        let mut columns = COLUMNS.to_vec();
        columns.sort_unstable();
        columns.dedup();
        assert_eq!(columns.len(), FIELDS.len(), "a column twice");
    }

    #[test]
    fn every_key_is_a_field_or_the_pull_request_object() {
        for key in Key::ALL {
            assert!(
                key == Key::PullRequest || FIELDS.iter().any(|f| f.key == key),
                "{} is in no field",
                key.name()
            );
        }
        assert_eq!(Key::OpenedAt.top_level_kind(), Some(EventKind::Incident));
        assert_eq!(Key::Number.top_level_kind(), None);
        assert_eq!(Key::Id.top_level_kind(), None);
        assert_eq!(Key::Note.top_level_kind(), Some(EventKind::Deployment));
        assert_eq!(Key::PullRequest.top_level_kind(), Some(EventKind::Change));
    }

    #[test]
    fn the_serialized_model_has_exactly_these_fields() {
        // A full event of each kind, serialized: its keys are the table's.
        use crate::test_events::{full_change, full_deployment, full_incident};
        for (event, kind) in [
            (full_deployment(), EventKind::Deployment),
            (full_change(), EventKind::Change),
            (full_incident(), EventKind::Incident),
        ] {
            let v = serde_json::to_value(&event).unwrap();
            let mut got: Vec<String> = Vec::new();
            for (k, val) in v.as_object().unwrap() {
                match val.as_object() {
                    Some(pr) if k == "pull_request" => {
                        got.extend(pr.keys().map(|p| format!("pull_request.{p}")))
                    }
                    _ => got.push(k.clone()),
                }
            }
            got.sort();
            let mut want: Vec<String> = FIELDS
                .iter()
                .filter(|f| f.kind.is_none() || f.kind == Some(kind))
                .map(|f| f.column.to_string())
                .collect();
            want.sort();
            assert_eq!(got, want, "{kind:?}");
        }
    }
}
