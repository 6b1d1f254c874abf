//! The audit trail names the events behind a figure and the rule that
//! counted each one; a request selects the figure, the renderers write it.

use dora_core::render::{write_explanation_json, write_explanation_text};
use dora_core::{
    EventSet, ExplainRequest, GroupKind, Metric, Options, ReadOptions, Window, compute, read_jsonl,
};

const EVENTS: &str = r#"
{"kind":"change","id":"x1","service":"pay","committed_at":"2026-03-01T00:00:00Z","pull_request":{"number":42}}
{"kind":"deployment","id":"p1","service":"pay","environment":"production","finished_at":"2026-03-02T10:00:00Z","status":"success","changes":["x1"],"note":{"not":"a string"}}
{"kind":"deployment","id":"p2","service":"pay","environment":"production","finished_at":"2026-03-03T10:00:00Z","status":"success"}
{"kind":"deployment","id":"p2b","service":"pay","environment":"production","finished_at":"2026-03-03T10:30:00Z","status":"success","type":"rollback","note":"kubectl rollout undo deployment/pay"}
{"kind":"deployment","id":"f1","service":"pay","environment":"production","finished_at":"2026-03-04T10:00:00Z","status":"failure"}
{"kind":"incident","id":"i1","service":"pay","opened_at":"2026-03-02T11:00:00Z","resolved_at":"2026-03-02T12:00:00Z"}
{"kind":"incident","id":"i2","service":"pay","opened_at":"2026-03-05T00:00:00Z","caused_by_change":"x1"}
"#;

fn computation(set: &EventSet) -> dora_core::Computation<'_> {
    let window =
        Window::new("2026-03-02T00:00:00Z".parse().unwrap(), "2026-03-09T00:00:00Z".parse().unwrap())
            .unwrap();
    compute(set, &Options::new(window)).unwrap()
}

fn load() -> EventSet {
    let mut set = EventSet::new();
    read_jsonl(EVENTS.as_bytes(), None, &mut set, &ReadOptions::default()).unwrap();
    set
}

#[test]
fn change_failure_rate_names_attribution_and_remediation_rules() {
    let set = load();
    let c = computation(&set);
    let e = c.explain(GroupKind::Service, "pay", None, Metric::ChangeFailureRate).unwrap();
    let reason = |id: &str| e.events.iter().find(|x| x.id == id).map(|x| x.reason.clone()).unwrap();
    assert_eq!(e.events.len(), 3, "successful production deployments only");
    assert!(reason("p1").contains("incident i1 attributed (inferred"), "{}", reason("p1"));
    assert!(
        reason("p1")
            .contains("incident i2 attributed (its caused_by_change names a change this deployment shipped)")
    );
    assert!(reason("p2").contains("remediated by deployment p2b"), "{}", reason("p2"));
    assert!(reason("p2b").starts_with("did not fail"));
    assert_eq!(
        c.report.group(GroupKind::Service, "pay").unwrap().summary.figures.change_failure_rate.failed,
        2
    );
}

#[test]
fn a_deployment_note_is_shown_and_a_note_that_is_no_string_is_ignored() {
    let set = load();
    let c = computation(&set);
    let e = c.explain(GroupKind::Service, "pay", None, Metric::ReworkRate).unwrap();
    let note = |id: &str| e.events.iter().find(|x| x.id == id).unwrap().note.clone();
    assert_eq!(note("p2b").as_deref(), Some("kubectl rollout undo deployment/pay"));
    assert_eq!(note("p1"), None, "a note that is not a string is ignored, like an unknown field");
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["events"].as_array().unwrap().iter().filter(|e| e.get("note").is_some()).count(), 1);
    assert_eq!(set.deployment("p2b").unwrap().note.as_deref(), Some("kubectl rollout undo deployment/pay"));
}

#[test]
fn frequency_lists_failed_attempts_as_not_counted() {
    let set = load();
    let c = computation(&set);
    let e = c.explain(GroupKind::All, "all", Some(0), Metric::DeploymentFrequency).unwrap();
    let f1 = e.events.iter().find(|x| x.id == "f1").unwrap();
    assert!(!f1.counted);
    assert_eq!(e.events.iter().filter(|x| x.counted).count(), 3);
}

#[test]
fn lead_time_and_recovery_give_values_and_reasons() {
    let set = load();
    let c = computation(&set);
    let e = c.explain(GroupKind::All, "all", None, Metric::LeadTime).unwrap();
    assert_eq!(e.events.len(), 1);
    assert_eq!(e.events[0].seconds, Some(122_400.0));
    assert!(e.events[0].reason.contains("shipped by deployment p1") && e.events[0].reason.contains("#42"));
    let e = c.explain(GroupKind::All, "all", None, Metric::RecoveryTime).unwrap();
    let p1 = e.events.iter().find(|x| x.id == "p1").unwrap();
    assert!(!p1.counted && p1.reason.starts_with("unrecovered"), "i2 is unresolved: {}", p1.reason);
    let p2 = e.events.iter().find(|x| x.id == "p2").unwrap();
    assert_eq!(p2.seconds, Some(1800.0));
    let e = c.explain(GroupKind::All, "all", None, Metric::TimeToRestore).unwrap();
    assert_eq!(e.events.iter().filter(|x| x.counted).count(), 1);
}

#[test]
fn unknown_groups_and_periods_are_errors() {
    let set = load();
    let c = computation(&set);
    assert!(c.explain(GroupKind::Service, "nope", None, Metric::LeadTime).is_err());
    assert!(c.explain(GroupKind::All, "all", Some(99), Metric::LeadTime).is_err());
    assert!("lead-time".parse::<Metric>().is_ok());
    assert!("speed".parse::<Metric>().is_err());
}

#[test]
fn a_request_selects_the_group_and_computes_what_it_needs() {
    let set = load();
    let window =
        Window::new("2026-03-02T00:00:00Z".parse().unwrap(), "2026-03-09T00:00:00Z".parse().unwrap())
            .unwrap();
    let mut options = Options::new(window);
    options.group_by = vec![GroupKind::All];
    let all = ExplainRequest::new(Metric::ReworkRate, None, None, None);
    assert_eq!((all.group_by, all.name.as_str()), (GroupKind::All, "all"));
    let pay = ExplainRequest::new(Metric::ReworkRate, Some("pay"), Some("ignored"), Some(0));
    assert_eq!((pay.group_by, pay.name.as_str(), pay.period), (GroupKind::Service, "pay", Some(0)));
    let e = pay.explain(&set, &options).unwrap();
    assert_eq!(e, computation(&set).explain(GroupKind::Service, "pay", Some(0), Metric::ReworkRate).unwrap());
    assert_eq!((e.events.len(), e.counted()), (3, 3));
    let team = ExplainRequest::new(Metric::LeadTime, None, Some("nobody"), None);
    assert!(team.explain(&set, &options).is_err(), "no such team");
}

#[test]
fn the_renderers_write_the_explanation() {
    let set = load();
    let c = computation(&set);
    let e = c.explain(GroupKind::Service, "pay", None, Metric::RecoveryTime).unwrap();
    let mut text = Vec::new();
    write_explanation_text(&e, "recovery-time", &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert_eq!(
        text,
        "recovery-time of service pay, 2026-03-02 00:00 to 2026-03-09 00:00: 2 events (1 counted)\n\
         - deployment p1 2026-03-02 10:00 (pay)\n    \
         unrecovered; failed: incident i1 attributed (inferred: latest deployment of the service within \
         the attribution window before it); incident i2 attributed (its caused_by_change names a change \
         this deployment shipped)\n\
         + deployment p2 2026-03-03 10:00 (pay) 30m\n    \
         recovered when deployment p2b finished; failed: remediated by deployment p2b (which is a \
         rollback/hotfix of the same service and environment after it)\n"
    );
    let e = c.explain(GroupKind::All, "all", None, Metric::ReworkRate).unwrap();
    let mut text = Vec::new();
    write_explanation_text(&e, e.metric.as_str(), &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("rework_rate of all services, "), "{text}");
    assert!(text.contains("\n    note: \"kubectl rollout undo deployment/pay\"\n"), "{text}");
    let mut json = Vec::new();
    write_explanation_json(&e, &mut json).unwrap();
    assert!(json.ends_with(b"}\n"));
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value, serde_json::to_value(&e).unwrap());
}
