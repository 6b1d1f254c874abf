//! The statistics the polars stage computes, each one output column: the
//! plans name their columns with [`Stat::name`] and the results are read
//! back with [`Stat::of_column`], so a column the reader does not know is
//! an error, never a value silently dropped.

use super::Cell;

/// One statistic of a [`Cell`], computed as one polars column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Stat {
    Deployments,
    FailedAttempts,
    DeployDays,
    Failed,
    Rework,
    Recovered,
    Unrecovered,
    RecoveryMedian,
    RecoveryP90,
    LeadCount,
    LeadMedian,
    LeadP90,
    Coding,
    Review,
    Deploy,
    Restored,
    Unresolved,
    RestoreMedian,
    RestoreP90,
}

impl Stat {
    /// Every statistic, once.
    pub(crate) const ALL: [Stat; 19] = [
        Stat::Deployments,
        Stat::FailedAttempts,
        Stat::DeployDays,
        Stat::Failed,
        Stat::Rework,
        Stat::Recovered,
        Stat::Unrecovered,
        Stat::RecoveryMedian,
        Stat::RecoveryP90,
        Stat::LeadCount,
        Stat::LeadMedian,
        Stat::LeadP90,
        Stat::Coding,
        Stat::Review,
        Stat::Deploy,
        Stat::Restored,
        Stat::Unresolved,
        Stat::RestoreMedian,
        Stat::RestoreP90,
    ];

    /// The name of its column.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Stat::Deployments => "deployments",
            Stat::FailedAttempts => "failed_attempts",
            Stat::DeployDays => "deploy_days",
            Stat::Failed => "failed",
            Stat::Rework => "rework",
            Stat::Recovered => "recovered",
            Stat::Unrecovered => "unrecovered",
            Stat::RecoveryMedian => "recovery_median",
            Stat::RecoveryP90 => "recovery_p90",
            Stat::LeadCount => "lead_count",
            Stat::LeadMedian => "lead_median",
            Stat::LeadP90 => "lead_p90",
            Stat::Coding => "coding",
            Stat::Review => "review",
            Stat::Deploy => "deploy",
            Stat::Restored => "restored",
            Stat::Unresolved => "unresolved",
            Stat::RestoreMedian => "restore_median",
            Stat::RestoreP90 => "restore_p90",
        }
    }

    /// The statistic of a result column: an error for a column no plan
    /// should have made.
    pub(crate) fn of_column(name: &str) -> crate::Result<Stat> {
        Stat::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            crate::Error::Compute(format!("internal: a result column `{name}` that no statistic names"))
        })
    }
}

impl Cell {
    /// Sets one statistic (a count from its value, 0 where null).
    pub(crate) fn set(&mut self, stat: Stat, v: Option<f64>) {
        let n = v.unwrap_or(0.0) as u64;
        match stat {
            Stat::Deployments => self.deployments = n,
            Stat::FailedAttempts => self.failed_attempts = n,
            Stat::DeployDays => self.deploy_days = n,
            Stat::Failed => self.failed = n,
            Stat::Rework => self.rework = n,
            Stat::Recovered => self.recovered = n,
            Stat::Unrecovered => self.unrecovered = n,
            Stat::RecoveryMedian => self.recovery_median = v,
            Stat::RecoveryP90 => self.recovery_p90 = v,
            Stat::LeadCount => self.lead_count = n,
            Stat::LeadMedian => self.lead_median = v,
            Stat::LeadP90 => self.lead_p90 = v,
            Stat::Coding => self.coding = v,
            Stat::Review => self.review = v,
            Stat::Deploy => self.deploy = v,
            Stat::Restored => self.restored = n,
            Stat::Unresolved => self.unresolved = n,
            Stat::RestoreMedian => self.restore_median = v,
            Stat::RestoreP90 => self.restore_p90 = v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_read_back() {
        for s in Stat::ALL {
            assert_eq!(Stat::of_column(s.name()).unwrap(), s);
        }
        assert!(Stat::of_column("deployment").is_err());
    }
}
