//! CDEvents (<https://cdevents.dev>, spec versions 0.4.x and 0.5.x) as dora
//! events: the pure mapping behind the `dora serve` endpoint
//! `POST /cdevents`. No I/O and no cargo feature: serde and chrono only.
//!
//! - [`model`]: the serde types of a CloudEvent envelope and of a CDEvent
//!   (context, subject, custom data) as the spec's conformance examples
//!   show them.
//! - [`normalize`]: the mapping, from any of the four input forms (a bare
//!   CDEvent, a structured CloudEvent, a binary-mode CloudEvent given as its
//!   `ce-*` headers and body, or a batch of structured CloudEvents), to
//!   [`Mapped`]: a `dora.events/v1` event, the resolution of an incident,
//!   or an ignored event type.
//!
//! | CDEvent type | dora | fields |
//! |---|---|---|
//! | `service.deployed`, `service.upgraded` | successful regular deployment | id `cdevents:<context.source>:<context.id>`, service = `subject.id`, environment = `subject.content.environment.id`, finished_at = `context.timestamp`, note = the artifact id |
//! | `service.rolledback` | successful rollback deployment | as above |
//! | `change.merged` | change with a merged pull request | id = `subject.id`, service = `subject.content.repository.id` (else `subject.source`, else `context.source`), committed_at = merged_at = `context.timestamp` |
//! | `incident.detected`, `incident.reported` | open incident | id = `subject.id`, service = `subject.content.service.id` (required), opened_at = `context.timestamp`, severity = `customData.severity` |
//! | `incident.resolved` | [`Resolution`] of the incident `subject.id` | resolved_at = `context.timestamp` |
//! | anything else | [`Mapped::Ignored`], counted by [`Counts`] | |
//!
//! ```
//! use dora_sources::cdevents::{Mapped, from_cdevent_str};
//!
//! let body = r#"{"context": {"specversion": "0.5.1", "id": "1", "source": "/ci",
//!   "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-03-02T10:00:00Z"},
//!   "subject": {"id": "web", "content": {"environment": {"id": "production"}}}}"#;
//! let Mapped::Event(dora_core::Event::Deployment(d)) = from_cdevent_str(body).unwrap() else {
//!     panic!("a deployment")
//! };
//! assert_eq!((d.service.as_str(), d.environment.as_str()), ("web", "production"));
//! assert_eq!(d.id, "cdevents:/ci:1");
//! ```

pub mod model;
pub mod normalize;

pub use normalize::{
    Counts, Error, Mapped, Resolution, from_batch, from_binary, from_cdevent, from_cdevent_str,
    from_structured, from_structured_str,
};
