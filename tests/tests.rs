//! End-to-end tests of the `dora` binary: one test binary, shared helpers.

mod util;

mod bad_input;
mod cli;
mod costs;
mod docs;
#[cfg(feature = "github")]
mod github;
#[cfg(feature = "gitlab")]
mod gitlab;
#[cfg(feature = "kubernetes")]
mod kubernetes;
#[cfg(feature = "opencost")]
mod opencost;
mod report;
#[cfg(all(feature = "serve", unix))]
mod serve_api;
#[cfg(all(feature = "serve", unix))]
mod serve_durability;
#[cfg(all(feature = "serve", unix))]
mod serve_webhooks;
mod store;
mod vectors;
