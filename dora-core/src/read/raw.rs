//! One line of `dora.events/v1`, parsed and validated without owning its strings.
//!
//! The visitor reads the JSON object in a single pass, borrowing strings from
//! the input where they have no escapes. Each value is checked against the
//! type the spec gives its field; the field being read is kept in a side cell
//! so that an error from `serde_json` can still name it.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::event::raw::{RawBody, RawDeployment, RawEvent, RawPullRequest};
use crate::event::time::{Micros, parse_rfc3339};
use crate::event::{DeploymentStatus, DeploymentType, EventKind};

/// A string that borrows from the input when it can.
struct Str<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `null` or a string.
fn opt_str<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<Option<Str<'de>>>()?.map(|s| s.0))
}

/// A string, or nothing for any other value: for fields outside the spec
/// (`note`), which must stay as ignorable as an unknown field.
fn lenient_str<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    map.next_value_seed(LenientStr)
}

/// Reads any value: a string is kept, anything else (maps and arrays
/// drained) is `None`. Works on any deserializer, borrowing or not.
struct LenientStr;

impl<'de> DeserializeSeed<'de> for LenientStr {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Cow<'de, str>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Some(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Some(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        d.deserialize_any(V)
    }
}

/// `null` or an RFC 3339 time.
struct OptTime;

impl<'de> DeserializeSeed<'de> for OptTime {
    type Value = Option<Micros>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match Option::<Str<'de>>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_rfc3339(&s.0).map(Some).map_err(|e| de::Error::custom(e.describe(&s.0))),
        }
    }
}

/// `null` or an array of strings.
struct OptStrList;

impl<'de> DeserializeSeed<'de> for OptStrList {
    type Value = Vec<Cow<'de, str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<Cow<'de, str>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_seq(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(s) = seq.next_element::<Str<'de>>()? {
                    out.push(s.0);
                }
                Ok(out)
            }
        }
        d.deserialize_option(V)
    }
}

/// `null` or an enum given by its lower-case name.
fn opt_enum<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    names: &[(&'static str, T)],
) -> Result<Option<T>, A::Error>
where
    T: Copy,
{
    match opt_str(map)? {
        None => Ok(None),
        Some(s) => names.iter().find(|(n, _)| *n == s).map(|(_, v)| Some(*v)).ok_or_else(|| {
            let list: Vec<String> = names.iter().map(|(n, _)| format!("{n:?}")).collect();
            de::Error::custom(format!("expected one of {}, got {:?}", list.join(", "), s))
        }),
    }
}

const STATUSES: &[(&str, DeploymentStatus)] =
    &[("success", DeploymentStatus::Success), ("failure", DeploymentStatus::Failure)];
const TYPES: &[(&str, DeploymentType)] = &[
    ("regular", DeploymentType::Regular),
    ("rollback", DeploymentType::Rollback),
    ("hotfix", DeploymentType::Hotfix),
];
const KINDS: &[(&str, EventKind)] = &[
    ("deployment", EventKind::Deployment),
    ("change", EventKind::Change),
    ("incident", EventKind::Incident),
];

/// The pull request object of a change.
struct OptPullRequest<'c> {
    field: &'c Cell<&'static str>,
}

impl<'de> DeserializeSeed<'de> for OptPullRequest<'_> {
    type Value = Option<RawPullRequest>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptPullRequest<'_> {
    type Value = Option<RawPullRequest>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with number, opened_at, merged_at, first_commit_at")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pr = RawPullRequest::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key.0 {
                "number" => {
                    self.field.set("pull_request.number");
                    pr.number = map.next_value()?;
                }
                "opened_at" => {
                    self.field.set("pull_request.opened_at");
                    pr.opened_at = map.next_value_seed(OptTime)?;
                }
                "merged_at" => {
                    self.field.set("pull_request.merged_at");
                    pr.merged_at = map.next_value_seed(OptTime)?;
                }
                "first_commit_at" => {
                    self.field.set("pull_request.first_commit_at");
                    pr.first_commit_at = map.next_value_seed(OptTime)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.field.set("pull_request");
        Ok(Some(pr))
    }
}

/// Every field the spec names, as read so far.
#[derive(Default)]
struct Fields<'de> {
    kind: Option<EventKind>,
    id: Option<Cow<'de, str>>,
    service: Option<Cow<'de, str>>,
    team: Option<Cow<'de, str>>,
    source: Option<Cow<'de, str>>,
    environment: Option<Cow<'de, str>>,
    finished_at: Option<Micros>,
    started_at: Option<Micros>,
    status: Option<DeploymentStatus>,
    commit: Option<Cow<'de, str>>,
    changes: Vec<Cow<'de, str>>,
    deployment_type: Option<DeploymentType>,
    remediates: Vec<Cow<'de, str>>,
    note: Option<Cow<'de, str>>,
    committed_at: Option<Micros>,
    authored_at: Option<Micros>,
    pull_request: Option<RawPullRequest>,
    opened_at: Option<Micros>,
    resolved_at: Option<Micros>,
    caused_by: Option<Cow<'de, str>>,
    caused_by_change: Option<Cow<'de, str>>,
    severity: Option<Cow<'de, str>>,
}

/// The field names, each with the kinds it belongs to (`None`: every kind).
const FIELD_KINDS: &[(&str, Option<EventKind>)] = &[
    ("id", None),
    ("service", None),
    ("team", None),
    ("source", None),
    ("environment", Some(EventKind::Deployment)),
    ("finished_at", Some(EventKind::Deployment)),
    ("started_at", Some(EventKind::Deployment)),
    ("status", Some(EventKind::Deployment)),
    ("commit", Some(EventKind::Deployment)),
    ("changes", Some(EventKind::Deployment)),
    ("type", Some(EventKind::Deployment)),
    ("remediates", Some(EventKind::Deployment)),
    ("note", Some(EventKind::Deployment)),
    ("committed_at", Some(EventKind::Change)),
    ("authored_at", Some(EventKind::Change)),
    ("pull_request", Some(EventKind::Change)),
    ("opened_at", Some(EventKind::Incident)),
    ("resolved_at", Some(EventKind::Incident)),
    ("caused_by", Some(EventKind::Incident)),
    ("caused_by_change", Some(EventKind::Incident)),
    ("severity", Some(EventKind::Incident)),
];

/// Reads one field's value into `fields`. `name` is one of [`FIELD_KINDS`].
fn read_field<'de, A: MapAccess<'de>>(
    name: &'static str,
    map: &mut A,
    f: &mut Fields<'de>,
    cell: &Cell<&'static str>,
) -> Result<(), A::Error> {
    cell.set(name);
    match name {
        "id" => f.id = opt_str(map)?,
        "service" => f.service = opt_str(map)?,
        "team" => f.team = opt_str(map)?,
        "source" => f.source = opt_str(map)?,
        "environment" => f.environment = opt_str(map)?,
        "finished_at" => f.finished_at = map.next_value_seed(OptTime)?,
        "started_at" => f.started_at = map.next_value_seed(OptTime)?,
        "status" => f.status = opt_enum(map, STATUSES)?,
        "commit" => f.commit = opt_str(map)?,
        "changes" => f.changes = map.next_value_seed(OptStrList)?,
        "type" => f.deployment_type = opt_enum(map, TYPES)?,
        "remediates" => f.remediates = map.next_value_seed(OptStrList)?,
        "note" => f.note = lenient_str(map)?,
        "committed_at" => f.committed_at = map.next_value_seed(OptTime)?,
        "authored_at" => f.authored_at = map.next_value_seed(OptTime)?,
        "pull_request" => f.pull_request = map.next_value_seed(OptPullRequest { field: cell })?,
        "opened_at" => f.opened_at = map.next_value_seed(OptTime)?,
        "resolved_at" => f.resolved_at = map.next_value_seed(OptTime)?,
        "caused_by" => f.caused_by = opt_str(map)?,
        "caused_by_change" => f.caused_by_change = opt_str(map)?,
        "severity" => f.severity = opt_str(map)?,
        _ => unreachable!("read_field is only called with names from FIELD_KINDS"),
    }
    Ok(())
}

/// A map access over one stashed value, so a field seen before `kind` can be
/// read with the same code once the kind is known. The value is owned, so
/// this works with any deserializer (`serde_json::from_value`, readers),
/// not only with ones that lend out their input.
struct OneValue(Option<serde_json::Value>);

impl<'de> MapAccess<'de> for OneValue {
    type Error = serde_json::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, Self::Error> {
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        seed.deserialize(self.0.take().unwrap_or(serde_json::Value::Null))
    }
}

/// Parses one JSON object into a validated [`RawEvent`]. The cell names the
/// field being read when an error is returned (empty when the error is not in
/// a field).
pub(crate) struct EventVisitor<'c> {
    pub field: &'c Cell<&'static str>,
}

impl<'de> Visitor<'de> for EventVisitor<'_> {
    type Value = RawEvent<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (one event)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut f = Fields::default();
        // Known fields seen before `kind`: kept raw until the kind is known.
        let mut early: Vec<(&'static str, serde_json::Value)> = Vec::new();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if key.0 == "kind" {
                self.field.set("kind");
                let kind = opt_enum(&mut map, KINDS)?;
                let Some(kind) = kind else {
                    return Err(de::Error::custom("missing required field"));
                };
                f.kind = Some(kind);
                for (name, raw) in std::mem::take(&mut early) {
                    if applies(name, kind) {
                        read_field(name, &mut OneValue(Some(raw)), &mut f, self.field)
                            .map_err(|e| de::Error::custom(crate::read::strip_position(&e.to_string())))?;
                    }
                }
                self.field.set("");
                continue;
            }
            let Some(&(name, for_kind)) = FIELD_KINDS.iter().find(|(n, _)| *n == key.0) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            match f.kind {
                Some(kind) if for_kind.is_none_or(|k| k == kind) => {
                    read_field(name, &mut map, &mut f, self.field)?;
                    self.field.set("");
                }
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => {
                    self.field.set(name);
                    early.push((name, map.next_value::<serde_json::Value>()?));
                    self.field.set("");
                }
            }
        }
        self.field.set("");
        let Some(kind) = f.kind else {
            self.field.set("kind");
            return Err(de::Error::custom("missing required field"));
        };
        let need = |v: Option<Cow<'de, str>>, name: &'static str| {
            v.ok_or_else(|| {
                self.field.set(name);
                de::Error::custom("missing required field")
            })
        };
        let need_time = |v: Option<Micros>, name: &'static str| {
            v.ok_or_else(|| {
                self.field.set(name);
                de::Error::custom("missing required field")
            })
        };
        let not_empty = |v: Cow<'de, str>, name: &'static str| {
            if v.is_empty() {
                self.field.set(name);
                return Err(de::Error::custom("must not be empty"));
            }
            Ok(v)
        };
        let id = not_empty(need(f.id, "id")?, "id")?;
        let service = not_empty(need(f.service, "service")?, "service")?;
        let body = match kind {
            EventKind::Deployment => RawBody::Deployment(RawDeployment {
                environment: need(f.environment, "environment")?,
                finished_at: need_time(f.finished_at, "finished_at")?,
                started_at: f.started_at,
                status: f.status.ok_or_else(|| {
                    self.field.set("status");
                    de::Error::custom("missing required field")
                })?,
                commit: f.commit,
                changes: f.changes.into(),
                deployment_type: f.deployment_type.unwrap_or_default(),
                remediates: f.remediates,
                note: f.note,
            }),
            EventKind::Change => RawBody::Change {
                committed_at: need_time(f.committed_at, "committed_at")?,
                authored_at: f.authored_at,
                pull_request: f.pull_request,
            },
            EventKind::Incident => RawBody::Incident {
                opened_at: need_time(f.opened_at, "opened_at")?,
                resolved_at: f.resolved_at,
                caused_by: f.caused_by,
                caused_by_change: f.caused_by_change,
                severity: f.severity,
            },
        };
        Ok(RawEvent { id, service, team: f.team, source: f.source, body })
    }
}

fn applies(name: &str, kind: EventKind) -> bool {
    FIELD_KINDS.iter().any(|(n, k)| *n == name && k.is_none_or(|k| k == kind))
}

/// Parses one line (without its newline) into a validated event.
///
/// On error returns the field the error is in (empty when none) and the
/// message without `serde_json`'s position suffix.
pub(crate) fn parse_line(line: &[u8]) -> Result<RawEvent<Cow<'_, str>>, (&'static str, String)> {
    parse_with(serde_json::Deserializer::from_slice(line))
}

/// [`parse_line`] for a line already known to be UTF-8 (skips re-validating
/// every string).
pub(crate) fn parse_line_str(line: &str) -> Result<RawEvent<Cow<'_, str>>, (&'static str, String)> {
    parse_with(serde_json::Deserializer::from_str(line))
}

fn parse_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<RawEvent<Cow<'de, str>>, (&'static str, String)> {
    let cell = Cell::new("");
    let result = de::Deserializer::deserialize_map(&mut de, EventVisitor { field: &cell })
        .and_then(|ev| de.end().map(|()| ev));
    result.map_err(|e| (cell.get(), describe_json_error(&e)))
}

fn describe_json_error(e: &serde_json::Error) -> String {
    let msg = crate::read::strip_position(&e.to_string());
    match e.classify() {
        serde_json::error::Category::Eof => format!("truncated JSON: {msg} (column {})", e.column()),
        serde_json::error::Category::Syntax => format!("invalid JSON: {msg} (column {})", e.column()),
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> RawEvent<String> {
        parse_line(line.as_bytes()).unwrap().map_strs(|s| s.into_owned())
    }

    fn err(line: &str) -> (&'static str, String) {
        parse_line(line.as_bytes()).unwrap_err()
    }

    #[test]
    fn reads_a_deployment_and_ignores_unknown_fields() {
        let ev = ok(r#"{"kind":"deployment","id":"d1","service":"api","environment":"prod",
            "finished_at":"2026-03-02T14:05:00Z","status":"success","changes":["a","b"],
            "extra":{"x":[1,2]},"type":null,"team":null}"#);
        assert_eq!(ev.id, "d1");
        assert_eq!(ev.team, None);
        match ev.body {
            RawBody::Deployment(d) => {
                assert_eq!(d.changes.to_vec(), vec!["a", "b"]);
                assert_eq!(d.deployment_type, DeploymentType::Regular);
            }
            _ => panic!("not a deployment"),
        }
    }

    #[test]
    fn a_note_is_read_when_it_is_a_string_and_ignored_otherwise() {
        let note = |line: &str| match ok(line).body {
            RawBody::Deployment(d) => d.note,
            _ => panic!("not a deployment"),
        };
        let base = r#""kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success""#;
        assert_eq!(note(&format!(r#"{{{base},"note":"undo \"v2\""}}"#)).as_deref(), Some(r#"undo "v2""#));
        assert_eq!(note(&format!(r#"{{"note":"before kind",{base}}}"#)).as_deref(), Some("before kind"));
        for other in ["7", "null", "[\"x\"]", "{\"a\":1}", "true"] {
            assert_eq!(note(&format!(r#"{{{base},"note":{other}}}"#)), None, "{other}");
            assert_eq!(note(&format!(r#"{{"note":{other},{base}}}"#)), None, "{other}");
        }
    }

    #[test]
    fn a_note_survives_deserializers_that_cannot_borrow() {
        let value = serde_json::json!({"kind": "deployment", "id": "d", "service": "a", "environment": "p",
            "finished_at": "2026-03-02T14:05:00Z", "status": "success", "note": "undo"});
        let crate::event::Event::Deployment(d) = serde_json::from_value(value.clone()).unwrap() else {
            panic!("not a deployment")
        };
        assert_eq!(d.note.as_deref(), Some("undo"));
        let mut map = value;
        map["note"] = serde_json::json!({"a": [1, {"b": null}]});
        let crate::event::Event::Deployment(d) = serde_json::from_value(map.clone()).unwrap() else {
            panic!("not a deployment")
        };
        assert_eq!(d.note, None);
        let from_reader: crate::event::Event = serde_json::from_reader(map.to_string().as_bytes()).unwrap();
        assert!(matches!(from_reader, crate::event::Event::Deployment(d) if d.note.is_none()));
    }

    #[test]
    fn kind_may_come_last() {
        let ev = ok(r#"{"id":"c1","service":"api","committed_at":"2026-03-02T14:05:00+01:00",
            "opened_at":5,"kind":"change"}"#);
        assert_eq!(ev.kind(), EventKind::Change);
    }

    #[test]
    fn fields_of_other_kinds_are_ignored() {
        ok(r#"{"kind":"change","id":"c1","service":"api","committed_at":"2026-03-02T14:05:00Z","status":7}"#);
    }

    #[test]
    fn escaped_strings_are_owned() {
        let ev = parse_line(
            br#"{"kind":"change","id":"c\u0031","service":"a\"pi","committed_at":"2026-03-02T14:05:00Z"}"#,
        )
        .unwrap();
        assert_eq!(ev.id, "c1");
        assert_eq!(ev.service, "a\"pi");
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err(r#"{"kind":"deploy","id":"x"}"#).0, "kind");
        assert_eq!(err(r#"{"kind":"change","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#).0, "id");
        assert_eq!(err(r#"{"kind":"change","id":5,"service":"a"}"#).0, "id");
        let (field, msg) =
            err(r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00"}"#);
        assert_eq!(field, "committed_at");
        assert!(msg.contains("no UTC offset"), "{msg}");
        let (field, msg) = err(r#"{"id":"c","committed_at":"bad","kind":"change","service":"a"}"#);
        assert_eq!(field, "committed_at");
        assert!(msg.contains("not an RFC 3339 time"), "{msg}");
        assert_eq!(err(r#"{"id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#).0, "kind");
        assert_eq!(
            err(r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","pull_request":{"merged_at":1}}"#).0,
            "pull_request.merged_at"
        );
        assert_eq!(err(r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"ok"}"#).0, "status");
        assert_eq!(err(r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","changes":"abc"}"#).0, "changes");
        assert_eq!(err(r#"{"kind":"incident","id":"i","service":"a","opened_at":null}"#).0, "opened_at");
        let e = err(r#"{"kind":"incident","id":"","service":"a","opened_at":"2026-03-02T14:05:00Z"}"#);
        assert_eq!(e, ("id", "must not be empty".to_string()));
        let e = err(r#"{"service":"","kind":"incident","id":"i","opened_at":"2026-03-02T14:05:00Z"}"#);
        assert_eq!(e, ("service", "must not be empty".to_string()));
    }

    #[test]
    fn broken_json_is_described() {
        let (field, msg) = err(r#"{"kind":"change","id":"c"#);
        assert_eq!(field, "id");
        assert!(msg.starts_with("truncated JSON"), "{msg}");
        let (_, msg) = err("[1,2]");
        assert!(msg.contains("expected a JSON object"), "{msg}");
        let (_, msg) = err("\u{1}\u{2}garbage");
        assert!(msg.starts_with("invalid JSON"), "{msg}");
        let (_, msg) =
            err(r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z"} x"#);
        assert!(msg.contains("trailing characters"), "{msg}");
    }
}
