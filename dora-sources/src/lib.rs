//! # dora-sources
//!
//! dora's network sources: each turns a forge's or a cluster's API into
//! normalized `dora.events/v1` events through the
//! [`Source`](dora_core::source::Source) trait of `dora-core`, with the sync
//! state to resume from. Every network client, async runtime and TLS stack of
//! dora lives here, each source behind its cargo feature, so `dora-core`
//! stays free of them.
//!
//! - `github` (feature `github`): deployments, statuses, pull requests
//!   and incidents of GitHub repositories and organisations.
//! - `gitlab` (feature `gitlab`): deployments, merge requests and
//!   incidents of GitLab projects and groups.
//! - `kubernetes` (feature `kubernetes`): rollouts of Deployments and Argo
//!   Rollouts, listed or watched.
//! - `opencost` (feature `opencost`): the daily cost of a cluster's
//!   workloads from an OpenCost or Kubecost `/allocation` API, as cost rows.
//! - [`cdevents`]: the mapping of CDEvents 0.4.x and 0.5.x, bare or as
//!   CloudEvents, to deployments, changes and incidents, without I/O: what
//!   `dora serve`'s `POST /cdevents` runs.
//! - [`changesets`]: the commits a deployment shipped, from a history
//!   (a local clone with the `git` feature, or a forge's API).
//! - [`hotfix`] and [`monorepo`]: rules the repository sources share;
//!   [`forge`]: what the GitHub and GitLab sources share besides.
//! - [`http`]: the HTTP policy every source follows (retries, backoff,
//!   rate-limit waits, the request budget), decided without I/O.
//!
//! Each source folder has `model` (serde types of the API), `normalize`
//! (a pure mapping to events, tested against recorded JSON) and `client`
//! (the only I/O).
//!
//! ```
//! use dora_sources::hotfix::HotfixRule;
//!
//! let rule = HotfixRule::default();
//! assert!(rule.branch.as_ref().is_some_and(|b| b.is_match("hotfix/login")));
//! ```

pub mod cdevents;
pub mod changesets;
pub mod forge;
#[cfg(feature = "github")]
pub mod github;
#[cfg(feature = "gitlab")]
pub mod gitlab;
pub mod hotfix;
pub mod http;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
pub mod monorepo;
#[cfg(feature = "opencost")]
pub mod opencost;
#[cfg(test)]
mod test_support;

pub use monorepo::PathServices;
