//! The GitHub source (cargo feature `github`): deployments (Deployments API,
//! workflow runs or releases), the changes each shipped with their pull
//! requests, and incidents from labelled issues.
//!
//! - [`model`]: the serde types of the REST API that dora reads.
//! - [`normalize`]: pure mapping from those to `dora.events/v1` events,
//!   tested against recorded responses.

pub mod model;
pub mod normalize;
