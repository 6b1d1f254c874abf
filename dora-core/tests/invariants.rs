//! Property tests of the engine's invariants (proptest).

use chrono::{DateTime, Duration, TimeZone, Utc};
use dora_core::{
    Change, Deployment, DeploymentStatus, DeploymentType, Event, EventSet, GroupKind, Incident, Metric,
    MetricsReport, Options, Period, PullRequest, Window, compute,
};
use proptest::prelude::*;

const SERVICES: &[&str] = &["api", "web", "pay"];
const TEAMS: &[Option<&str>] = &[Some("core"), Some("edge"), None];
const ENVS: &[&str] = &["production", "prod-eu", "staging"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 23, 0, 0, 0).unwrap()
}

/// An instant from a distinct slot number (10-minute slots over ~8 weeks), so
/// no two events share an instant and input order never breaks a tie.
fn at(slot: u32) -> DateTime<Utc> {
    base() + Duration::minutes(10 * slot as i64)
}

/// service, team, environment, success, type, changes, remediates
type DeploymentSpec = (usize, usize, usize, bool, u8, Vec<usize>, Option<usize>);
/// service, pull request minutes (first commit, open, merge)
type ChangeSpec = (usize, Option<(u32, u32, u32)>);

#[derive(Debug, Clone)]
struct Spec {
    deployments: Vec<DeploymentSpec>,
    changes: Vec<ChangeSpec>,
    incidents: Vec<(usize, Option<u32>, u8, usize)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let dep = (
        0..3usize,
        0..3usize,
        0..3usize,
        prop::bool::weighted(0.85),
        0..10u8,
        prop::collection::vec(0..40usize, 0..4),
        prop::option::weighted(0.1, 0..30usize),
    );
    let change = (0..3usize, prop::option::weighted(0.6, (0..3000u32, 0..300u32, 0..300u32)));
    let incident = (0..3usize, prop::option::weighted(0.8, 1..400u32), 0..10u8, 0..30usize);
    (
        prop::collection::vec(dep, 1..30),
        prop::collection::vec(change, 0..40),
        prop::collection::vec(incident, 0..12),
    )
        .prop_map(|(deployments, changes, incidents)| Spec { deployments, changes, incidents })
}

/// Builds the events; times come from a shuffled list of distinct slots.
fn events(spec: &Spec, slots: &[u32]) -> Vec<Event> {
    let mut slot = slots.iter().copied();
    let mut out: Vec<Event> = Vec::new();
    for (i, (svc, pr)) in spec.changes.iter().enumerate() {
        let committed = at(slot.next().unwrap());
        out.push(
            Change {
                id: format!("c{i}"),
                service: SERVICES[*svc].into(),
                team: TEAMS[*svc].map(Into::into),
                source: None,
                committed_at: committed,
                authored_at: None,
                pull_request: pr.map(|(a, b, c)| PullRequest {
                    number: Some(i as u64),
                    first_commit_at: Some(committed - Duration::minutes(a as i64)),
                    opened_at: Some(committed - Duration::minutes(b as i64 + c as i64)),
                    merged_at: Some(committed - Duration::minutes(c as i64)),
                }),
            }
            .into(),
        );
    }
    for (i, (svc, team, env, ok, ty, changes, remediates)) in spec.deployments.iter().enumerate() {
        out.push(
            Deployment {
                id: format!("d{i}"),
                service: SERVICES[*svc].into(),
                team: TEAMS[*team].map(Into::into),
                source: None,
                environment: ENVS[*env].into(),
                finished_at: at(slot.next().unwrap()),
                started_at: None,
                status: if *ok { DeploymentStatus::Success } else { DeploymentStatus::Failure },
                commit: None,
                changes: changes
                    .iter()
                    .filter(|&&c| c < spec.changes.len())
                    .map(|c| format!("c{c}"))
                    .collect(),
                deployment_type: match ty {
                    0 => DeploymentType::Rollback,
                    1 => DeploymentType::Hotfix,
                    _ => DeploymentType::Regular,
                },
                remediates: remediates.iter().map(|r| format!("d{r}")).collect(),
                note: None,
            }
            .into(),
        );
    }
    for (i, (svc, resolved, link, target)) in spec.incidents.iter().enumerate() {
        let opened = at(slot.next().unwrap());
        out.push(
            Incident {
                id: format!("i{i}"),
                service: SERVICES[*svc].into(),
                team: TEAMS[*svc].map(Into::into),
                source: None,
                opened_at: opened,
                resolved_at: resolved.map(|m| opened + Duration::minutes(m as i64)),
                caused_by: (*link == 0).then(|| format!("d{target}")),
                caused_by_change: (*link == 1).then(|| format!("c{target}")),
                severity: None,
            }
            .into(),
        );
    }
    out
}

fn options(period: Period) -> Options {
    let window = Window::new(base() + Duration::days(7), base() + Duration::days(42)).unwrap();
    let mut o = Options::new(window);
    o.period = period;
    o.attribution_window_seconds = 2 * 86_400;
    o
}

fn report(events: &[Event], opts: &Options) -> MetricsReport {
    let set: EventSet = events.iter().cloned().collect();
    let mut r = compute(&set, opts).unwrap().report;
    r.warnings.sort();
    r
}

fn input() -> impl Strategy<Value = (Spec, Vec<u32>, u64)> {
    (spec(), any::<u64>()).prop_map(|(spec, seed)| {
        let n = spec.deployments.len() + spec.changes.len() + spec.incidents.len();
        // Distinct slots, shuffled deterministically by the seed.
        let mut slots: Vec<u32> = (0..8000).collect();
        let mut x = seed | 1;
        for i in (1..slots.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            slots.swap(i, (x % (i as u64 + 1)) as usize);
        }
        slots.truncate(n);
        (spec, slots, seed)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn reordering_lines_changes_nothing((spec, slots, seed) in input()) {
        let evs = events(&spec, &slots);
        let mut shuffled = evs.clone();
        let mut x = seed.rotate_left(17) | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let opts = options(Period::Week);
        prop_assert_eq!(report(&evs, &opts), report(&shuffled, &opts));
    }

    #[test]
    fn all_is_the_sum_of_services_and_rates_are_rates((spec, slots, _) in input()) {
        let r = report(&events(&spec, &slots), &options(Period::Week));
        let all = &r.groups[0];
        prop_assert_eq!(all.group_by, GroupKind::All);
        let services: Vec<_> = r.groups.iter().filter(|g| g.group_by == GroupKind::Service).collect();
        let counts = |f: &dora_core::result::Figures| [
            f.deployments, f.failed_attempts, f.lead_time.count, f.change_failure_rate.failed,
            f.time_to_restore.count, f.time_to_restore.unresolved, f.recovery_time.count,
            f.recovery_time.unrecovered, f.rework_rate.rework,
        ];
        let mut spans: Vec<(dora_core::result::Figures, Vec<dora_core::result::Figures>)> = vec![
            (all.summary.figures.clone(), services.iter().map(|g| g.summary.figures.clone()).collect()),
        ];
        for (p, period) in all.periods.iter().enumerate() {
            spans.push((period.figures.clone(), services.iter().map(|g| g.periods[p].figures.clone()).collect()));
        }
        for (total, parts) in spans {
            let mut sum = [0u64; 9];
            for part in &parts {
                for (s, v) in sum.iter_mut().zip(counts(part)) { *s += v; }
            }
            prop_assert_eq!(counts(&total), sum);
        }
        for g in &r.groups {
            for f in g.periods.iter().map(|p| &p.figures).chain([&g.summary.figures]) {
                for rate in [f.change_failure_rate.rate, f.rework_rate.rate].into_iter().flatten() {
                    prop_assert!((0.0..=1.0).contains(&rate));
                }
                prop_assert!(f.deploy_days <= f.deployments);
                prop_assert!(f.change_failure_rate.failed <= f.deployments);
            }
        }
    }

    #[test]
    fn medians_lie_within_the_values_explained((spec, slots, _) in input()) {
        let evs = events(&spec, &slots);
        let set: EventSet = evs.into_iter().collect();
        let opts = options(Period::Week);
        let c = compute(&set, &opts).unwrap();
        for g in &c.report.groups {
            let spans = (0..g.periods.len()).map(Some).chain([None]);
            for p in spans {
                let f = match p { Some(i) => &g.periods[i].figures, None => &g.summary.figures };
                for (metric, count, median, p90) in [
                    (Metric::LeadTime, f.lead_time.count, f.lead_time.median, f.lead_time.p90),
                    (Metric::TimeToRestore, f.time_to_restore.count, f.time_to_restore.median, f.time_to_restore.p90),
                    (Metric::RecoveryTime, f.recovery_time.count, f.recovery_time.median, f.recovery_time.p90),
                ] {
                    let e = c.explain(g.group_by, &g.name, p, metric).unwrap();
                    let values: Vec<f64> = e.events.iter().filter(|x| x.counted).filter_map(|x| x.seconds).collect();
                    prop_assert_eq!(values.len() as u64, count, "{:?} {} {:?}", metric, g.name, p);
                    if values.is_empty() {
                        prop_assert!(median.is_none() && p90.is_none());
                    } else {
                        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
                        let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        for v in [median.unwrap(), p90.unwrap()] {
                            prop_assert!(lo - 1e-6 <= v && v <= hi + 1e-6, "{} not in [{}, {}]", v, lo, hi);
                        }
                    }
                }
                let e = c.explain(g.group_by, &g.name, p, Metric::DeploymentFrequency).unwrap();
                prop_assert_eq!(e.events.iter().filter(|x| x.counted).count() as u64, f.deployments);
                let e = c.explain(g.group_by, &g.name, p, Metric::ChangeFailureRate).unwrap();
                prop_assert_eq!(e.events.iter().filter(|x| x.reason.starts_with("failed")).count() as u64, f.change_failure_rate.failed);
            }
        }
    }

    /// Deployment counts and deploy days of every group, period and the
    /// window against a count straight from the events (services deploy
    /// under several teams and none).
    #[test]
    fn deployment_counts_and_deploy_days_match_a_direct_count((spec, slots, _) in input(), period in prop_oneof![Just(Period::Day), Just(Period::Week), Just(Period::Month)]) {
        let evs = events(&spec, &slots);
        let opts = options(period);
        let r = report(&evs, &opts);
        let deployments: Vec<&Deployment> = evs.iter().filter_map(|e| match e {
            Event::Deployment(d) if d.environment != "staging" => Some(d),
            _ => None,
        }).collect();
        let (since, until) = (base() + Duration::days(7), base() + Duration::days(42));
        let mut groups_seen = std::collections::BTreeSet::new();
        for g in &r.groups {
            let in_group = |d: &Deployment| match g.group_by {
                GroupKind::All => true,
                GroupKind::Service => d.service == g.name,
                GroupKind::Team => d.team.as_deref() == Some(g.name.as_str()),
            };
            let spans = g.periods.iter().map(|p| (p.start.with_timezone(&Utc), p.end.with_timezone(&Utc), &p.figures));
            for (start, end, f) in spans.chain([(since, until, &g.summary.figures)]) {
                let these: Vec<&&Deployment> = deployments.iter()
                    .filter(|d| in_group(d) && start <= d.finished_at && d.finished_at < end).collect();
                let ok: Vec<_> = these.iter().filter(|d| d.status == DeploymentStatus::Success).collect();
                let days: std::collections::BTreeSet<_> = ok.iter().map(|d| d.finished_at.date_naive()).collect();
                prop_assert_eq!(
                    (f.deployments, f.failed_attempts, f.deploy_days),
                    (ok.len() as u64, (these.len() - ok.len()) as u64, days.len() as u64),
                    "{:?} {} from {}", g.group_by, g.name, start
                );
            }
            groups_seen.insert((g.group_by, g.name.clone()));
        }
        // Every service and team with a production deployment in the window has a group.
        for d in deployments.iter().filter(|d| since <= d.finished_at && d.finished_at < until) {
            prop_assert!(groups_seen.contains(&(GroupKind::Service, d.service.clone())));
            if let Some(team) = &d.team {
                prop_assert!(groups_seen.contains(&(GroupKind::Team, team.clone())));
            }
        }
    }

    #[test]
    fn an_unrelated_event_outside_the_window_changes_nothing((spec, slots, _) in input(), period in prop_oneof![Just(Period::Day), Just(Period::Week), Just(Period::Month)]) {
        let evs = events(&spec, &slots);
        let opts = options(period);
        let before = report(&evs, &opts);
        let mut more = evs.clone();
        more.push(Deployment {
            id: "unrelated".into(), service: "new-svc".into(), team: Some("core".into()), source: None,
            environment: "production".into(), finished_at: base() + Duration::days(60), started_at: None,
            status: DeploymentStatus::Success, commit: None, changes: vec![],
            deployment_type: DeploymentType::Regular, remediates: vec![], note: None,
        }.into());
        more.push(Incident {
            id: "unrelated".into(), service: "new-svc".into(), team: None, source: None,
            opened_at: base() - Duration::days(30), resolved_at: None, caused_by: None, caused_by_change: None, severity: None,
        }.into());
        prop_assert_eq!(before, report(&more, &opts));
    }
}
