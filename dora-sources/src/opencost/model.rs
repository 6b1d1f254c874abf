//! The `/allocation` answer of OpenCost (and Kubecost), as far as dora
//! reads it: `{"code": 200, "data": [{"<name>": {allocation}, ...}, ...]}`,
//! one map of allocations per step (a day with `step=1d`). Fields dora
//! does not read (`cpuCost`, `ramCost`, `minutes`, ...) are ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The whole answer.
#[derive(Debug, Clone, Deserialize)]
pub struct AllocationAnswer {
    /// The status OpenCost writes into the body (200 when it answered).
    pub code: u16,
    /// What went wrong, when `code` is not 200.
    #[serde(default)]
    pub message: Option<String>,
    /// One set of allocations per step, by allocation name; a step without
    /// data may be `null`.
    #[serde(default)]
    pub data: Option<Vec<Option<BTreeMap<String, Allocation>>>>,
}

/// One allocation: the cost of one aggregate (one `app` label value, one
/// namespace, ...) over one step.
#[derive(Debug, Clone, Deserialize)]
pub struct Allocation {
    /// The aggregate's values joined by `/` (`shop/checkout` for
    /// `namespace,label:app`), or `__idle__`, `__unallocated__`.
    pub name: String,
    /// The step it covers.
    #[serde(default)]
    pub window: Option<AllocationWindow>,
    /// The cost over the window, in the cluster's pricing currency.
    #[serde(rename = "totalCost", default)]
    pub total_cost: Option<f64>,
}

/// The period `[start, end)` of an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AllocationWindow {
    /// Its start.
    pub start: Option<DateTime<Utc>>,
    /// Its end (exclusive).
    pub end: Option<DateTime<Utc>>,
}
