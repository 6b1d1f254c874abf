//! One module per metric: the rules that classify events for it.

pub(crate) mod change_failure;
pub(crate) mod deployment_frequency;
pub(crate) mod lead_time;
pub(crate) mod recovery;
pub(crate) mod restore;
pub(crate) mod rework;
