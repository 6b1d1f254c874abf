//! One module per command.

pub mod collect;
pub mod config;
pub mod demo;
pub mod explain;
pub mod export;
pub mod import;
pub mod metrics;
pub mod report;
pub mod serve;
pub mod watch;
