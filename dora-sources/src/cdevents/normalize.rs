//! The pure mapping from CDEvents to dora events (see the table in
//! [`cdevents`](super)).
//!
//! Four input forms, all ending in [`from_cdevent`]:
//! - [`from_cdevent_str`]: the bare CDEvent JSON (`{"context": ..., "subject": ...}`);
//! - [`from_structured_str`]: a CloudEvent in structured mode
//!   (`application/cloudevents+json`) whose `data` is the CDEvent;
//! - [`from_binary`]: a CloudEvent in binary mode, its `ce-*` headers and
//!   the CDEvent as the body;
//! - [`from_batch`]: a JSON array of structured CloudEvents
//!   (`application/cloudevents-batch+json`).
//!
//! Accepted versions: CDEvents spec `0.4.x` (in `context.version`) and
//! `0.5.x` (in `context.specversion`); event type versions `0.1.x` to
//! `0.3.x` (`0.2.0` in 0.4.1, `0.3.0` in 0.5.1); CloudEvents `1.0`. The
//! CDEvent is authoritative: the CloudEvent's own attributes must be there
//! (binary mode) and its type must equal `context.type`, but the mapping
//! reads the CDEvent only.

use chrono::{DateTime, Utc};
use dora_core::event::{
    Change, Deployment, DeploymentStatus, DeploymentType, Event, EventKind, Incident, PullRequest,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

use super::model::{CdEvent, ChangeContent, CloudEvent, IncidentContent, ServiceContent};

/// The `source` dora gives every event it maps from CDEvents.
pub const SOURCE: &str = "cdevents";

/// What one CDEvent becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// A deployment, a change or an opened incident.
    Event(Event),
    /// `incident.resolved`: the resolution of an incident that is (or will
    /// be) stored under the same id.
    Resolve(Resolution),
    /// A type dora does not map (`pipelinerun.finished`, ...).
    Ignored {
        /// The event type without its version, e.g. `dev.cdevents.pipelinerun.finished`.
        event_type: String,
    },
}

/// The resolution of the incident `incident_id` (`incident.resolved`).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The incident's id (the CDEvent's `subject.id`).
    pub incident_id: String,
    /// The affected service (`subject.content.service.id`), if named.
    pub service: Option<String>,
    /// When it was resolved (`context.timestamp`).
    pub resolved_at: DateTime<Utc>,
}

impl Resolution {
    /// Applies the resolution to `incident` when the ids match: sets its
    /// `resolved_at` (kept when already resolved earlier). Whether it did.
    pub fn apply(&self, incident: &mut Incident) -> bool {
        if incident.id != self.incident_id {
            return false;
        }
        incident.resolved_at =
            Some(incident.resolved_at.map_or(self.resolved_at, |r| r.min(self.resolved_at)));
        true
    }
}

/// How many CDEvents became what, ignored ones by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Deployments (including rollbacks).
    pub deployments: usize,
    /// Changes.
    pub changes: usize,
    /// Opened incidents.
    pub incidents: usize,
    /// Resolutions.
    pub resolutions: usize,
    /// Ignored events by type (without version).
    pub ignored: BTreeMap<String, usize>,
}

impl Counts {
    /// Counts `mapped`.
    pub fn of(mapped: &[Mapped]) -> Counts {
        let mut c = Counts::default();
        for m in mapped {
            match m {
                Mapped::Event(e) => match e.kind() {
                    EventKind::Deployment => c.deployments += 1,
                    EventKind::Change => c.changes += 1,
                    EventKind::Incident => c.incidents += 1,
                },
                Mapped::Resolve(_) => c.resolutions += 1,
                Mapped::Ignored { event_type } => *c.ignored.entry(event_type.clone()).or_default() += 1,
            }
        }
        c
    }

    /// The number of ignored events, all types together.
    pub fn ignored_total(&self) -> usize {
        self.ignored.values().sum()
    }
}

/// `text` with its control characters escaped (`\r`, `\u{1b}`, ...), so
/// that a value from the input keeps an error message on one line and
/// cannot drive a terminal.
fn shown(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect()
}

/// Why a CDEvent could not be mapped; one line naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not the JSON expected.
    #[error("invalid JSON: {}", shown(.0))]
    Json(String),
    /// A required attribute is absent or empty.
    #[error("missing attribute {}", shown(.0))]
    Missing(String),
    /// An attribute is there but unusable.
    #[error("invalid attribute {field} {value:?}: {reason}")]
    Invalid {
        /// The attribute, e.g. `context.timestamp`.
        field: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A CDEvents spec version other than 0.4.x and 0.5.x.
    #[error("unknown CDEvents spec version {}", shown(.0))]
    SpecVersion(String),
    /// A CloudEvents spec version other than 1.0.
    #[error("unknown CloudEvents spec version {}", shown(.0))]
    CloudEventsVersion(String),
    /// A type that is not `dev.cdevents.<subject>.<predicate>.<major>.<minor>.<patch>`.
    #[error("unknown event type {}", shown(.0))]
    EventType(String),
    /// An event type version other than 0.1.x to 0.3.x.
    #[error("unknown event version {}", shown(.0))]
    EventVersion(String),
    /// The CloudEvent's type differs from the CDEvent's `context.type`.
    #[error("CloudEvent type {} differs from context.type {}", shown(cloudevent), shown(context))]
    TypeMismatch {
        /// The CloudEvent's `type` (or `ce-type`).
        cloudevent: String,
        /// The CDEvent's `context.type`.
        context: String,
    },
    /// An event of a batch, counted from 1.
    #[error("event {index}: {error}")]
    InBatch {
        /// Its position in the batch, from 1.
        index: usize,
        /// What is wrong with it.
        error: Box<Error>,
    },
}

fn missing(field: &str) -> Error {
    Error::Missing(field.to_string())
}

fn parse<T: DeserializeOwned>(text: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(text).map_err(|e| Error::Json(e.to_string()))
}

fn from_value<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::Json(format!("{what}: {e}")))
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, Error> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(missing(field)),
    }
}

/// Maps the bare CDEvent JSON text.
pub fn from_cdevent_str(text: &str) -> Result<Mapped, Error> {
    from_cdevent(&parse(text.as_bytes())?)
}

/// Maps a structured-mode CloudEvent's JSON text.
pub fn from_structured_str(text: &str) -> Result<Mapped, Error> {
    from_structured(parse(text.as_bytes())?)
}

/// Maps a structured-mode CloudEvent.
pub fn from_structured(event: CloudEvent) -> Result<Mapped, Error> {
    check_cloudevent(
        &event.specversion,
        [(&event.id, "id"), (&event.source, "source"), (&event.type_, "type")],
    )?;
    let data = event.data.ok_or_else(|| missing("data"))?;
    let mut cdevent: CdEvent = from_value(data, "data")?;
    check_same_type(event.type_.as_deref(), &cdevent)?;
    use_cloudevent_time(&mut cdevent, event.time.as_deref(), "time")?;
    from_cdevent(&cdevent)
}

/// The CloudEvent's `time`, when given, is the event's time (it is the
/// same value as `context.timestamp` in the CDEvents binding); a `time`
/// that is not RFC 3339 is an error naming the attribute.
fn use_cloudevent_time(cdevent: &mut CdEvent, time: Option<&str>, attribute: &str) -> Result<(), Error> {
    let Some(text) = time.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    DateTime::parse_from_rfc3339(text).map_err(|e| Error::Invalid {
        field: attribute.into(),
        value: text.into(),
        reason: e.to_string(),
    })?;
    cdevent.context.timestamp = Some(text.to_string());
    Ok(())
}

/// Maps a binary-mode CloudEvent: its headers as `(name, value)` pairs
/// (names in any case; those not starting with `ce-` are ignored) and its
/// body, the CDEvent JSON.
pub fn from_binary(headers: &[(&str, &str)], body: &[u8]) -> Result<Mapped, Error> {
    let header = |name: &str| {
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
    };
    let (id, source, type_) = (header("ce-id"), header("ce-source"), header("ce-type"));
    check_cloudevent(
        &header("ce-specversion"),
        [(&id, "ce-id"), (&source, "ce-source"), (&type_, "ce-type")],
    )?;
    let mut cdevent: CdEvent = parse(body)?;
    check_same_type(type_.as_deref(), &cdevent)?;
    use_cloudevent_time(&mut cdevent, header("ce-time").as_deref(), "ce-time")?;
    from_cdevent(&cdevent)
}

/// Maps a batch (`application/cloudevents-batch+json`): a JSON array of
/// structured-mode CloudEvents, all or nothing; an error names the event's
/// position, from 1.
pub fn from_batch(text: &str) -> Result<Vec<Mapped>, Error> {
    let events: Vec<Value> = parse(text.as_bytes())?;
    events
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            from_value(v, "CloudEvent")
                .and_then(from_structured)
                .map_err(|e| Error::InBatch { index: i + 1, error: Box::new(e) })
        })
        .collect()
}

fn check_cloudevent<const N: usize>(
    specversion: &Option<String>,
    attributes: [(&Option<String>, &str); N],
) -> Result<(), Error> {
    let name = if attributes.first().is_some_and(|(_, n)| n.starts_with("ce-")) {
        "ce-specversion"
    } else {
        "specversion"
    };
    let version = required(specversion, name)?;
    if version != "1.0" {
        return Err(Error::CloudEventsVersion(version.to_string()));
    }
    for (value, field) in attributes {
        required(value, field)?;
    }
    Ok(())
}

fn check_same_type(cloudevent: Option<&str>, cdevent: &CdEvent) -> Result<(), Error> {
    match (cloudevent, cdevent.context.type_.as_deref()) {
        (Some(ce), Some(cd)) if ce != cd => {
            Err(Error::TypeMismatch { cloudevent: ce.to_string(), context: cd.to_string() })
        }
        _ => Ok(()),
    }
}

/// The type without its version, and whether its version is known, for
/// `dev.cdevents.<subject>.<predicate>.<major>.<minor>.<patch>`.
fn split_type(type_: &str) -> Result<(&str, bool), Error> {
    let unknown = || Error::EventType(type_.to_string());
    let parts: Vec<&str> = type_.split('.').collect();
    if parts.len() != 7
        || parts[0] != "dev"
        || parts[1] != "cdevents"
        || parts[2].is_empty()
        || parts[3].is_empty()
    {
        return Err(unknown());
    }
    let numbers: Vec<u64> =
        parts[4..].iter().map(|p| p.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| unknown())?;
    let base_len = type_.len() - parts[4..].iter().map(|p| p.len() + 1).sum::<usize>();
    Ok((&type_[..base_len], numbers[0] == 0 && (1..=3).contains(&numbers[1])))
}

fn check_spec_version(event: &CdEvent) -> Result<(), Error> {
    let version = match (&event.context.specversion, &event.context.version) {
        (Some(v), _) | (None, Some(v)) => v.trim(),
        (None, None) => return Err(missing("context.specversion")),
    };
    let known = ["0.4.", "0.5."].iter().any(|p| {
        version
            .strip_prefix(p)
            .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()))
    });
    if known { Ok(()) } else { Err(Error::SpecVersion(version.to_string())) }
}

fn timestamp(event: &CdEvent) -> Result<DateTime<Utc>, Error> {
    let text = required(&event.context.timestamp, "context.timestamp")?;
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| Error::Invalid {
        field: "context.timestamp".into(),
        value: text.into(),
        reason: e.to_string(),
    })
}

fn content<T: DeserializeOwned + Default>(event: &CdEvent) -> Result<T, Error> {
    match &event.subject.content {
        Value::Null => Ok(T::default()),
        v => from_value(v.clone(), "subject.content"),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Maps one CDEvent (the four input forms all end here).
///
/// Checks, in order: the spec version and the form of `context.type`
/// (every event); then, for the mapped types only, the event version,
/// `context.id`, `context.source`, `context.timestamp`, `subject.id` and
/// the type's own attributes. An unmapped type is [`Mapped::Ignored`]
/// whatever its event version, so a newer `pipelinerun.finished` does not
/// fail a batch.
pub fn from_cdevent(event: &CdEvent) -> Result<Mapped, Error> {
    check_spec_version(event)?;
    let type_ = required(&event.context.type_, "context.type")?;
    let (base, known_version) = split_type(type_)?;
    let predicate = base.strip_prefix("dev.cdevents.").unwrap_or(base);
    let mapped = [
        "service.deployed",
        "service.upgraded",
        "service.rolledback",
        "change.merged",
        "incident.detected",
        "incident.reported",
        "incident.resolved",
    ];
    if !mapped.contains(&predicate) {
        return Ok(Mapped::Ignored { event_type: base.to_string() });
    }
    if !known_version {
        return Err(Error::EventVersion(type_.to_string()));
    }
    let id = required(&event.context.id, "context.id")?;
    let source = required(&event.context.source, "context.source")?;
    let at = timestamp(event)?;
    let subject = required(&event.subject.id, "subject.id")?.to_string();
    Ok(match predicate {
        "service.deployed" | "service.upgraded" | "service.rolledback" => {
            let c: ServiceContent = content(event)?;
            let environment = c.environment.as_ref().and_then(|e| non_empty(e.id.as_deref()));
            let environment = environment.ok_or_else(|| missing("subject.content.environment.id"))?;
            Mapped::Event(Event::Deployment(Deployment {
                source: Some(SOURCE.into()),
                deployment_type: if predicate == "service.rolledback" {
                    DeploymentType::Rollback
                } else {
                    DeploymentType::Regular
                },
                note: non_empty(c.artifact_id.as_deref()).map(|a| format!("artifact {a}")),
                ..Deployment::new(
                    format!("cdevents:{source}:{id}"),
                    subject,
                    environment,
                    at,
                    DeploymentStatus::Success,
                )
            }))
        }
        "change.merged" => {
            let c: ChangeContent = content(event)?;
            let service = c
                .repository
                .as_ref()
                .and_then(|r| non_empty(r.id.as_deref()))
                .or_else(|| non_empty(event.subject.source.as_deref()))
                .unwrap_or(source);
            Mapped::Event(Event::Change(Change {
                source: Some(SOURCE.into()),
                pull_request: Some(PullRequest { merged_at: Some(at), ..PullRequest::default() }),
                ..Change::new(subject, service, at)
            }))
        }
        _ => {
            let c: IncidentContent = content(event)?;
            let service = c.service.as_ref().and_then(|s| non_empty(s.id.as_deref())).map(str::to_string);
            if predicate == "incident.resolved" {
                return Ok(Mapped::Resolve(Resolution { incident_id: subject, service, resolved_at: at }));
            }
            let severity = event
                .custom_data
                .as_ref()
                .and_then(|d| d.get("severity"))
                .and_then(Value::as_str)
                .and_then(|s| non_empty(Some(s)))
                .map(str::to_string);
            let service = service.ok_or_else(|| missing("subject.content.service.id"))?;
            Mapped::Event(Event::Incident(Incident {
                source: Some(SOURCE.into()),
                severity,
                ..Incident::new(subject, service, at)
            }))
        }
    })
}

#[cfg(test)]
mod tests;
