//! One module per command.

pub mod demo;
pub mod metrics;
