//! The GitLab source (cargo feature `gitlab`): deployments of the
//! Deployments API, the changes each shipped with their merge requests, and
//! incidents (issues of type incident), from gitlab.com or a self-managed
//! server.
//!
//! - [`model`]: the serde types of the REST API that dora reads.
//! - [`normalize`]: pure mapping from those to `dora.events/v1` events,
//!   tested against recorded responses.
//! - [`client`]: the only I/O: the `gitlab` crate's endpoints and paging
//!   through dora's client (token, retries, rate limits shared by the run's
//!   concurrent requests, request budget), and the GraphQL queries that
//!   batch merge request commits and incident timelines.

pub mod client;

pub mod model;
pub mod normalize;

pub use client::{GitlabConfig, GitlabHistory, GitlabSource, GroupConfig, ProjectConfig};
