//! End-to-end tests of the `dora` binary: one test binary, shared helpers.

mod util;

mod bad_input;
mod cli;
mod report;
mod store;
mod vectors;
