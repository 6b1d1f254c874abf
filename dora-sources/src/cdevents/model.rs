//! The serde types of a CloudEvent envelope (CloudEvents 1.0, structured
//! mode) and of a CDEvent (spec 0.4.x and 0.5.x), as the spec's
//! conformance examples show them.
//!
//! Every attribute is optional here: [`normalize`](super::normalize) checks
//! the ones it needs and names a missing one in its error. Subject contents
//! differ by event type, so [`Subject::content`] stays JSON and is read
//! into [`ServiceContent`], [`ChangeContent`] or [`IncidentContent`] only
//! for the types dora maps.

use serde::Deserialize;
use serde_json::Value;

/// A CloudEvent in structured mode (`application/cloudevents+json`): the
/// context attributes and, under `data`, the CDEvent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CloudEvent {
    /// The CloudEvents spec version (`1.0`).
    pub specversion: Option<String>,
    /// The event id (the CDEvent's `context.id`).
    pub id: Option<String>,
    /// The producer (the CDEvent's `context.source`).
    pub source: Option<String>,
    /// The event type (the CDEvent's `context.type`).
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// The subject (the CDEvent's `subject.id`).
    pub subject: Option<String>,
    /// When it happened (the CDEvent's `context.timestamp`).
    pub time: Option<String>,
    /// The media type of `data`.
    pub datacontenttype: Option<String>,
    /// The payload: the CDEvent.
    pub data: Option<Value>,
}

/// A CDEvent: context, subject and custom data.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CdEvent {
    /// The context: version, id, source, type, time.
    pub context: Context,
    /// What the event is about.
    pub subject: Subject,
    /// Producer-defined data (JSON when `customDataContentType` says so).
    pub custom_data: Option<Value>,
}

/// The context of a CDEvent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Context {
    /// The spec version in CDEvents 0.5 (`0.5.1`).
    pub specversion: Option<String>,
    /// The spec version in CDEvents 0.4 (`0.4.1`).
    pub version: Option<String>,
    /// The event id, unique for its source.
    pub id: Option<String>,
    /// The producer, a URI reference.
    pub source: Option<String>,
    /// `dev.cdevents.<subject>.<predicate>.<major>.<minor>.<patch>`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// When it happened, RFC 3339.
    pub timestamp: Option<String>,
    /// The id of the chain of events it belongs to.
    pub chain_id: Option<String>,
}

/// The subject of a CDEvent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Subject {
    /// The subject's id: a service's name, a change's id, an incident's id.
    pub id: Option<String>,
    /// Where the subject lives; defaults to `context.source` in the spec.
    pub source: Option<String>,
    /// The subject type (CDEvents 0.4 only: `service`, `change`, ...).
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// The type-specific content.
    pub content: Value,
}

/// A reference to another subject (`{"id": ..., "source": ...}`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Reference {
    /// Its id.
    pub id: Option<String>,
    /// Where it lives.
    pub source: Option<String>,
}

/// The content of `service.deployed`, `service.upgraded` and
/// `service.rolledback`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceContent {
    /// The environment deployed to.
    pub environment: Option<Reference>,
    /// The artifact deployed (a purl).
    pub artifact_id: Option<String>,
}

/// The content of `change.merged`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChangeContent {
    /// The repository the change was merged into.
    pub repository: Option<Reference>,
}

/// The content of `incident.detected`, `incident.reported` and
/// `incident.resolved`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IncidentContent {
    /// What happened.
    pub description: Option<String>,
    /// The environment affected.
    pub environment: Option<Reference>,
    /// The service affected.
    pub service: Option<Reference>,
    /// The artifact running when it happened.
    pub artifact_id: Option<String>,
    /// The ticket (`incident.reported`).
    #[serde(rename = "ticketURI")]
    pub ticket_uri: Option<String>,
}
