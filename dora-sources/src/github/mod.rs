//! The GitHub source (cargo feature `github`): deployments (Deployments API,
//! workflow runs or releases), the changes each shipped with their pull
//! requests, and incidents from labelled issues.
//!
//! - [`model`]: the serde types of the REST API that dora reads.
//! - [`normalize`]: pure mapping from those to `dora.events/v1` events,
//!   tested against recorded responses.
//! - [`graphql`]: the GraphQL queries and the pure reading of their
//!   answers, with the change sets one walk of a branch's history decides.
//! - [`client`]: the only I/O: HTTP with pagination, ETags, rate limits,
//!   retries and a request budget; repositories read concurrently.

pub mod client;
pub mod graphql;
pub mod model;
pub mod normalize;

pub use crate::monorepo::PathServices;
pub use client::{GithubConfig, GithubHistory, GithubSource, OrgConfig, RepoConfig, Strategy};
