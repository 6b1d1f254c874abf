//! End-to-end tests of the `dora` binary: one test binary, shared helpers.

mod util;

mod bad_input;
mod cli;
#[cfg(feature = "github")]
mod github;
#[cfg(feature = "gitlab")]
mod gitlab;
mod report;
mod store;
mod vectors;
