//! The team of a cost row (METRICS.md section 7, "Allocation"): its
//! service's team, as for the metrics, else its team tag.

use std::collections::BTreeMap;

use super::{Allocation, CostRow, UNALLOCATED};
use crate::event::EventSet;

/// The team of each service, as for the metrics: `overrides` (the `[teams]`
/// table of `dora.toml`, service -> team) first, else the team the
/// service's events name most often (ties: the first team by name).
///
/// A set whose events already had `[teams]` applied
/// ([`EventSet::assign_teams`]) gives the same teams with or without
/// `overrides`; the overrides still matter for services that have cost
/// rows but no event.
pub fn service_teams(set: &EventSet, overrides: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for pair in set.service_team_pairs() {
        *counts.entry(pair).or_default() += 1;
    }
    let mut best: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
    for ((service, team), n) in counts {
        let entry = best.entry(service).or_insert((0, ""));
        if n > entry.0 {
            *entry = (n, team);
        }
    }
    let mut teams: BTreeMap<String, String> =
        best.into_iter().map(|(s, (_, t))| (s.to_string(), t.to_string())).collect();
    teams.extend(overrides.iter().map(|(s, t)| (s.clone(), t.clone())));
    teams
}

impl Allocation {
    /// The team `row` belongs to, given its `service` (from
    /// [`Allocation::service_of`]) and the team of each service
    /// (`teams`, see [`service_teams`]): the service's team; when the row is
    /// [`UNALLOCATED`] or its service has no team, the value of its
    /// `team_tag` tag when that is a non-empty string; else `None`.
    pub fn team_of<'a>(
        &'a self,
        row: &'a CostRow,
        service: &str,
        teams: &'a BTreeMap<String, String>,
    ) -> Option<&'a str> {
        let of_service = (service != UNALLOCATED).then(|| teams.get(service)).flatten();
        of_service.map(String::as_str).or_else(|| self.team_tag.as_deref().and_then(|key| row.tag(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{AllocationRule, CostField};
    use crate::event::{Change, Deployment, DeploymentStatus};

    fn deployment(id: &str, service: &str, team: Option<&str>, at: &str) -> Deployment {
        Deployment {
            team: team.map(str::to_string),
            ..Deployment::new(id, service, "production", at.parse().unwrap(), DeploymentStatus::Success)
        }
    }

    fn change(id: &str, service: &str, team: Option<&str>, at: &str) -> Change {
        Change { team: team.map(str::to_string), ..Change::new(id, service, at.parse().unwrap()) }
    }

    fn row(tags: serde_json::Value, resource_name: Option<&str>) -> CostRow {
        CostRow {
            start: "2026-03-02T00:00:00Z".parse().unwrap(),
            end: "2026-03-03T00:00:00Z".parse().unwrap(),
            amount: 10.0,
            currency: "USD".into(),
            tags: tags.as_object().cloned(),
            resource_id: None,
            resource_name: resource_name.map(str::to_string),
            service_name: None,
            sub_account_name: None,
        }
    }

    fn allocation() -> Allocation {
        Allocation {
            service_tag: Some("service".into()),
            team_tag: Some("team".into()),
            rules: vec![AllocationRule {
                field: CostField::ResourceName,
                pattern: regex::Regex::new("^api-").unwrap(),
                service: "api".into(),
            }],
        }
    }

    #[test]
    fn the_team_of_a_service_is_the_one_its_events_name_most_often_unless_overridden() {
        let mut set = EventSet::new();
        set.push(deployment("d1", "api", Some("core"), "2026-03-02T10:00:00Z"));
        set.push(deployment("d2", "api", Some("core"), "2026-03-02T11:00:00Z"));
        set.push(change("c1", "api", Some("edge"), "2026-03-02T09:00:00Z"));
        set.push(change("c2", "web", None, "2026-03-02T09:00:00Z"));
        let teams = service_teams(&set, &BTreeMap::new());
        assert_eq!(teams.get("api").map(String::as_str), Some("core"));
        assert_eq!(teams.get("web"), None);
        let overrides = BTreeMap::from([
            ("api".to_string(), "payments".to_string()),
            ("billing".to_string(), "finance".to_string()),
        ]);
        let teams = service_teams(&set, &overrides);
        assert_eq!(teams.get("api").map(String::as_str), Some("payments"));
        // A service with no event gets its team from `[teams]` alone.
        assert_eq!(teams.get("billing").map(String::as_str), Some("finance"));
    }

    #[test]
    fn the_team_tag_counts_only_for_unallocated_rows_and_services_without_a_team() {
        let a = allocation();
        let teams = BTreeMap::from([("api".to_string(), "core".to_string())]);
        // The service's team wins over the row's team tag.
        let r = row(serde_json::json!({"team": "other"}), Some("api-db"));
        assert_eq!(a.service_of(&r), "api");
        assert_eq!(a.team_of(&r, "api", &teams), Some("core"));
        // A service without a team: the tag.
        let r = row(serde_json::json!({"service": "search", "team": "discovery"}), None);
        assert_eq!(a.team_of(&r, a.service_of(&r), &teams), Some("discovery"));
        // Unallocated: the tag, else no team; an empty tag is no tag.
        let r = row(serde_json::json!({"team": "ops"}), Some("shared-nat"));
        assert_eq!(a.service_of(&r), UNALLOCATED);
        assert_eq!(a.team_of(&r, UNALLOCATED, &teams), Some("ops"));
        let r = row(serde_json::json!({"team": ""}), None);
        assert_eq!(a.team_of(&r, UNALLOCATED, &teams), None);
        // Even a `[teams]` entry named `unallocated` does not give unallocated rows a team.
        let odd = BTreeMap::from([(UNALLOCATED.to_string(), "core".to_string())]);
        assert_eq!(a.team_of(&row(serde_json::Value::Null, None), UNALLOCATED, &odd), None);
    }
}
