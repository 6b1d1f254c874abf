//! Time to restore service (METRICS.md section 3): for each incident opened
//! in the period, `resolved_at - opened_at`; unresolved incidents are counted
//! apart. An incident resolved before it opened counts as 0 (warned).

use crate::engine::warnings::{WarningKind, Warnings};
use crate::event::IncidentRec;
use crate::event::time::Micros;

/// The restore duration of a resolved incident, in microseconds.
pub(crate) fn restore_time(
    id: impl FnOnce() -> String,
    inc: &IncidentRec,
    warnings: &mut Warnings,
) -> Option<Micros> {
    let resolved = inc.resolved_at?;
    let d = resolved - inc.opened_at;
    if d < 0 {
        warnings.add(WarningKind::NegativeRestore, || {
            format!("incident {}: resolved before it was opened; time to restore counted as 0", id())
        });
        return Some(0);
    }
    Some(d)
}
