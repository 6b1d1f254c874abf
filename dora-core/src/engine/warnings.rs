//! Data-quality warnings: a few examples of each kind, then a count.

use std::collections::BTreeMap;

/// How many messages of one kind are kept before only counting.
const EXAMPLES_PER_KIND: usize = 20;

/// The kinds of warning the engine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum WarningKind {
    NegativeLeadTime,
    BrokenCausedBy,
    BrokenCausedByChange,
    BrokenRemediates,
    UnknownChange,
    NegativeRestore,
    NegativeRecovery,
}

impl WarningKind {
    fn more(self, n: usize) -> String {
        let what = match self {
            WarningKind::NegativeLeadTime => "changes committed after their shipping deployment",
            WarningKind::BrokenCausedBy => {
                "incidents whose caused_by names no successful production deployment"
            }
            WarningKind::BrokenCausedByChange => "incidents whose caused_by_change names no shipped change",
            WarningKind::BrokenRemediates => "ignored remediates entries",
            WarningKind::UnknownChange => "deployments listing changes with no change event",
            WarningKind::NegativeRestore => "incidents resolved before they were opened",
            WarningKind::NegativeRecovery => "failed deployments recovered before they finished",
        };
        format!("... and {n} more {what}")
    }
}

#[derive(Debug, Default)]
pub(crate) struct Warnings {
    by_kind: BTreeMap<WarningKind, (Vec<String>, usize)>,
}

impl Warnings {
    pub fn add(&mut self, kind: WarningKind, message: impl FnOnce() -> String) {
        let (examples, count) = self.by_kind.entry(kind).or_default();
        if examples.len() < EXAMPLES_PER_KIND {
            examples.push(message());
        }
        *count += 1;
    }

    /// Adds `later`'s warnings after these (as if they were added later).
    pub fn merge(&mut self, later: Warnings) {
        for (kind, (examples, count)) in later.by_kind {
            let (mine, total) = self.by_kind.entry(kind).or_default();
            let room = EXAMPLES_PER_KIND.saturating_sub(mine.len());
            mine.extend(examples.into_iter().take(room));
            *total += count;
        }
    }

    pub fn into_messages(self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, (examples, count)) in self.by_kind {
            let shown = examples.len();
            out.extend(examples);
            if count > shown {
                out.push(kind.more(count - shown));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_warnings_read_as_if_added_in_order() {
        let add = |w: &mut Warnings, kind, range: std::ops::Range<usize>| {
            for i in range {
                w.add(kind, || format!("{kind:?} {i}"));
            }
        };
        let mut one_by_one = Warnings::default();
        add(&mut one_by_one, WarningKind::UnknownChange, 0..15);
        add(&mut one_by_one, WarningKind::UnknownChange, 15..30);
        add(&mut one_by_one, WarningKind::BrokenRemediates, 0..2);
        let (mut first, mut later) = (Warnings::default(), Warnings::default());
        add(&mut first, WarningKind::UnknownChange, 0..15);
        add(&mut later, WarningKind::UnknownChange, 15..30);
        add(&mut later, WarningKind::BrokenRemediates, 0..2);
        first.merge(later);
        let merged = first.into_messages();
        assert_eq!(merged, one_by_one.into_messages());
        assert!(merged.iter().any(|m| m.starts_with("... and 10 more")), "{merged:?}");
    }
}
