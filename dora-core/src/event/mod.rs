//! The normalized event model of `dora.events/v1` and the [`EventSet`] that
//! applies its identity and replacement rule.

pub mod fields;
pub(crate) mod intern;
mod model;
pub(crate) mod raw;
#[cfg(test)]
mod roundtrip;
mod set;
pub mod time;

pub use model::{
    Change, Deployment, DeploymentStatus, DeploymentType, Event, EventKind, Incident, PullRequest,
};
pub use set::EventSet;
pub(crate) use set::{DeploymentRec, IncidentRec, raw_to_owned};
