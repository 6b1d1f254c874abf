//! The OpenCost source (`kind = "opencost"`): the daily cost of a
//! Kubernetes cluster's workloads from an OpenCost (or Kubecost)
//! `/allocation` API, as cost rows (METRICS.md section 7).
//!
//! One request asks for whole UTC days (`window=<start>,<end>`, `step=1d`,
//! `accumulate=false`) grouped by the source's `aggregate` (such as
//! `label:app,namespace`). Each allocation of the answer is one row: its
//! `window` is the charge period, its `totalCost` the amount, the values
//! of the aggregate in its name the tags, and the currency the source's
//! own (OpenCost reports none).
//!
//! - [`model`]: serde types of the `/allocation` answer.
//! - [`normalize`]: the answer to cost rows, without I/O.
//! - [`client`]: the only I/O: the requests, through the shared HTTP policy
//!   (retries, rate-limit waits, the request budget), and the incremental
//!   runs (the sync state keeps the end of the last whole day collected).

pub mod client;
pub mod model;
pub mod normalize;

pub use client::{OpencostConfig, OpencostSource};
