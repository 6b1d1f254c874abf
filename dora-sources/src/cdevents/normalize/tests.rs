//! The mapping against the CDEvents spec's conformance examples in
//! `../shared/fixtures/peer/cdevents/v0.4.1` and `v0.5.1` (read from there,
//! never copied; the tests say so and pass when the folder is absent), plus
//! hand-made edge cases.

use super::*;
use crate::test_support::peer_text;

const VERSIONS: [&str; 2] = ["v0.4.1", "v0.5.1"];
const TYPES: [&str; 10] = [
    "service_deployed",
    "service_upgraded",
    "service_rolledback",
    "change_merged",
    "incident_detected",
    "incident_reported",
    "incident_resolved",
    "pipelinerun_finished",
    "taskrun_finished",
    "artifact_published",
];

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The text of `cdevents/<version>/<name>.json`, or `None` (with a note)
/// when the fixtures are absent.
fn example(version: &str, name: &str) -> Option<String> {
    peer_text(&format!("cdevents/{version}/{name}.json"))
}

fn map(version: &str, name: &str) -> Option<Mapped> {
    example(version, name).map(|t| from_cdevent_str(&t).unwrap_or_else(|e| panic!("{version}/{name}: {e}")))
}

/// The example as a JSON value, to edit.
fn value(version: &str, name: &str) -> Option<Value> {
    example(version, name).map(|t| serde_json::from_str(&t).unwrap())
}

fn map_value(v: &Value) -> Result<Mapped, Error> {
    from_cdevent_str(&v.to_string())
}

fn deployment(m: Mapped) -> Deployment {
    match m {
        Mapped::Event(Event::Deployment(d)) => d,
        other => panic!("not a deployment: {other:?}"),
    }
}

/// A structured-mode CloudEvent carrying `cdevent`, its attributes as the
/// CloudEvents binding of CDEvents sets them.
fn structured(cdevent: &Value) -> Value {
    serde_json::json!({
        "specversion": "1.0",
        "id": cdevent["context"]["id"],
        "source": cdevent["context"]["source"],
        "type": cdevent["context"]["type"],
        "subject": cdevent["subject"]["id"],
        "time": cdevent["context"]["timestamp"],
        "datacontenttype": "application/json",
        "data": cdevent,
    })
}

fn headers(cdevent: &Value) -> Vec<(String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    vec![
        ("ce-specversion".into(), "1.0".into()),
        ("CE-ID".into(), s(&cdevent["context"]["id"])),
        ("ce-source".into(), s(&cdevent["context"]["source"])),
        ("ce-type".into(), s(&cdevent["context"]["type"])),
        ("ce-subject".into(), s(&cdevent["subject"]["id"])),
        ("ce-time".into(), s(&cdevent["context"]["timestamp"])),
        ("Content-Type".into(), "application/json".into()),
    ]
}

fn binary(headers: &[(String, String)], body: &str) -> Result<Mapped, Error> {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    from_binary(&pairs, body.as_bytes())
}

#[test]
fn service_events_are_deployments() {
    for version in VERSIONS {
        for (name, kind) in [
            ("service_deployed", DeploymentType::Regular),
            ("service_upgraded", DeploymentType::Regular),
            ("service_rolledback", DeploymentType::Rollback),
        ] {
            let Some(m) = map(version, name) else { return };
            let d = deployment(m);
            assert_eq!(
                d.id, "cdevents:/event/source/123:271069a8-fc18-44f1-b38f-9d70a1695819",
                "{version}/{name}"
            );
            assert_eq!(d.service, "mySubject123");
            assert_eq!(d.environment, "test123");
            assert_eq!(d.finished_at, at("2023-03-20T14:27:05.315384Z"));
            assert_eq!(d.status, DeploymentStatus::Success);
            assert_eq!(d.deployment_type, kind, "{version}/{name}");
            assert_eq!(d.source.as_deref(), Some("cdevents"));
            assert_eq!(
                d.note.as_deref(),
                Some(
                    "artifact pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"
                )
            );
            assert_eq!((d.commit, d.changes.len(), d.started_at), (None, 0, None));
        }
    }
}

#[test]
fn change_merged_is_a_change_with_a_merged_pull_request() {
    for version in VERSIONS {
        let Some(m) = map(version, "change_merged") else { return };
        let Mapped::Event(Event::Change(c)) = m else { panic!("{version}: not a change: {m:?}") };
        assert_eq!(c.id, "mySubject123");
        assert_eq!(c.service, "TestRepo/TestOrg");
        assert_eq!(c.committed_at, at("2023-03-20T14:27:05.315384Z"));
        assert_eq!(c.pull_request.and_then(|p| p.merged_at), Some(c.committed_at));
        assert_eq!(c.source.as_deref(), Some("cdevents"));
    }
}

#[test]
fn change_service_falls_back_to_the_subject_source_then_the_context_source() {
    let Some(mut v) = value("v0.5.1", "change_merged") else { return };
    v["subject"]["content"] = serde_json::json!({});
    v["subject"]["source"] = "/scm/web".into();
    let Mapped::Event(Event::Change(c)) = map_value(&v).unwrap() else { panic!() };
    assert_eq!(c.service, "/scm/web");
    v["subject"].as_object_mut().unwrap().remove("source");
    let Mapped::Event(Event::Change(c)) = map_value(&v).unwrap() else { panic!() };
    assert_eq!(c.service, "/event/source/123");
}

#[test]
fn incidents_open_and_resolve() {
    for version in VERSIONS {
        let mut opened = vec![];
        for (name, severity) in [("incident_detected", None), ("incident_reported", Some("medium"))] {
            let Some(m) = map(version, name) else { return };
            let Mapped::Event(Event::Incident(i)) = m else { panic!("{version}/{name}: {m:?}") };
            assert_eq!(i.id, "incident-123");
            assert_eq!(i.service, "myApp");
            assert_eq!(i.opened_at, at("2022-11-11T13:52:20.079Z"));
            assert_eq!(i.resolved_at, None);
            assert_eq!(i.severity.as_deref(), severity, "{version}/{name}");
            opened.push(i);
        }
        let Some(Mapped::Resolve(r)) = map(version, "incident_resolved") else {
            panic!("{version}: no resolution")
        };
        assert_eq!(
            r,
            Resolution {
                incident_id: "incident-123".into(),
                service: Some("myApp".into()),
                resolved_at: at("2022-11-11T13:52:20.079Z")
            }
        );
        let mut incident = opened.remove(0);
        assert!(r.apply(&mut incident));
        assert_eq!(incident.resolved_at, Some(r.resolved_at));
        incident.id = "another".into();
        incident.resolved_at = None;
        assert!(!r.apply(&mut incident), "another incident is left alone");
        assert_eq!(incident.resolved_at, None);
    }
}

#[test]
fn an_incident_without_a_service_is_an_error_naming_it() {
    let Some(mut v) = value("v0.4.1", "incident_detected") else { return };
    v["subject"]["content"].as_object_mut().unwrap().remove("service");
    assert_eq!(map_value(&v).unwrap_err().to_string(), "missing attribute subject.content.service.id");
}

#[test]
fn other_types_are_ignored_and_counted() {
    for version in VERSIONS {
        let mut all = vec![];
        for name in TYPES {
            let Some(m) = map(version, name) else { return };
            all.push(m);
        }
        let counts = Counts::of(&all);
        assert_eq!((counts.deployments, counts.changes, counts.incidents, counts.resolutions), (3, 1, 2, 1));
        assert_eq!(counts.ignored_total(), 3, "{version}");
        assert_eq!(
            counts.ignored.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "dev.cdevents.artifact.published",
                "dev.cdevents.pipelinerun.finished",
                "dev.cdevents.taskrun.finished"
            ]
        );
    }
}

#[test]
fn unknown_versions_are_errors_naming_them() {
    let Some(v5) = value("v0.5.1", "service_deployed") else { return };
    let Some(v4) = value("v0.4.1", "service_deployed") else { return };
    let mut v = v5.clone();
    v["context"]["specversion"] = "0.9.0".into();
    assert_eq!(map_value(&v).unwrap_err().to_string(), "unknown CDEvents spec version 0.9.0");
    let mut v = v4.clone();
    v["context"]["version"] = "0.3.0".into();
    assert_eq!(map_value(&v).unwrap_err().to_string(), "unknown CDEvents spec version 0.3.0");
    let mut v = v5.clone();
    v["context"]["specversion"] = "0.4.0".into();
    assert!(map_value(&v).is_ok(), "0.4.0 and 0.5.x are accepted in either field");
    let mut v = v5.clone();
    v["context"]["type"] = "dev.cdevents.service.deployed.9.0.0".into();
    assert_eq!(
        map_value(&v).unwrap_err().to_string(),
        "unknown event version dev.cdevents.service.deployed.9.0.0"
    );
    let mut v = v5.clone();
    v["context"]["type"] = "dev.cdevents.service.deployed".into();
    assert_eq!(map_value(&v).unwrap_err().to_string(), "unknown event type dev.cdevents.service.deployed");
    let mut v = v5.clone();
    v["context"]["type"] = "com.example.deployed.0.1.0".into();
    assert!(matches!(map_value(&v), Err(Error::EventType(_))));
}

#[test]
fn missing_attributes_are_errors_naming_them() {
    let Some(base) = value("v0.5.1", "service_deployed") else { return };
    for (path, field) in [
        (&["context", "specversion"][..], "context.specversion"),
        (&["context", "id"], "context.id"),
        (&["context", "source"], "context.source"),
        (&["context", "type"], "context.type"),
        (&["context", "timestamp"], "context.timestamp"),
        (&["subject", "id"], "subject.id"),
        (&["subject", "content", "environment"], "subject.content.environment.id"),
    ] {
        let mut v = base.clone();
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut v;
        for p in parents {
            at = &mut at[*p];
        }
        at.as_object_mut().unwrap().remove(*last);
        assert_eq!(map_value(&v).unwrap_err(), Error::Missing(field.into()), "{field}");
        assert_eq!(map_value(&v).unwrap_err().to_string(), format!("missing attribute {field}"));
    }
    let mut v = base.clone();
    v["context"]["timestamp"] = "yesterday".into();
    let e = map_value(&v).unwrap_err().to_string();
    assert!(e.starts_with("invalid attribute context.timestamp \"yesterday\""), "{e}");
    assert!(matches!(from_cdevent_str("{"), Err(Error::Json(_))));
}

#[test]
fn bare_structured_binary_and_batch_forms_agree() {
    for version in VERSIONS {
        let mut bare = vec![];
        let mut envelopes = vec![];
        for name in TYPES {
            let Some(text) = example(version, name) else { return };
            let v: Value = serde_json::from_str(&text).unwrap();
            let m = from_cdevent_str(&text).unwrap();
            assert_eq!(from_structured_str(&structured(&v).to_string()).unwrap(), m, "{version}/{name}");
            assert_eq!(binary(&headers(&v), &text).unwrap(), m, "{version}/{name}");
            bare.push(m);
            envelopes.push(structured(&v));
        }
        assert_eq!(from_batch(&Value::Array(envelopes).to_string()).unwrap(), bare);
    }
}

#[test]
fn envelope_errors_name_the_attribute_and_the_batch_position() {
    let Some(text) = example("v0.5.1", "service_deployed") else { return };
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut h = headers(&v);
    h.retain(|(n, _)| n != "CE-ID");
    assert_eq!(binary(&h, &text).unwrap_err().to_string(), "missing attribute ce-id");
    let mut h = headers(&v);
    h[0].1 = "0.3".into();
    assert_eq!(binary(&h, &text).unwrap_err().to_string(), "unknown CloudEvents spec version 0.3");
    let mut h = headers(&v);
    h[3].1 = "dev.cdevents.service.upgraded.0.3.0".into();
    assert!(matches!(binary(&h, &text), Err(Error::TypeMismatch { .. })));

    let mut s = structured(&v);
    s.as_object_mut().unwrap().remove("data");
    assert_eq!(from_structured_str(&s.to_string()).unwrap_err().to_string(), "missing attribute data");

    let mut broken = v.clone();
    broken["subject"].as_object_mut().unwrap().remove("id");
    let batch = Value::Array(vec![structured(&v), structured(&v), structured(&broken)]);
    let e = from_batch(&batch.to_string()).unwrap_err();
    assert_eq!(e.to_string(), "event 3: missing attribute subject.id");
    assert!(matches!(e, Error::InBatch { index: 3, .. }));
    assert!(matches!(from_batch("{}"), Err(Error::Json(_))));
}

/// Hostile input: random bytes and single-byte mutations of every example,
/// in every form, never panic, and every error is one line (what the
/// server will answer with a `400`).
mod hostile {
    use proptest::prelude::*;

    use super::*;

    fn one_line<T>(r: Result<T, Error>) -> Result<(), TestCaseError> {
        if let Err(e) = r {
            let text = e.to_string();
            prop_assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        }
        Ok(())
    }

    fn every_form(text: &str) -> Result<(), TestCaseError> {
        one_line(from_cdevent_str(text))?;
        one_line(from_structured_str(text))?;
        one_line(from_batch(text))?;
        let headers = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/x"), ("ce-type", "t")];
        one_line(from_binary(&headers, text.as_bytes()))?;
        one_line(from_binary(&[], text.as_bytes()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn random_text_gives_a_one_line_error_or_a_mapping(text in ".{0,200}") {
            every_form(&text)?;
        }

        #[test]
        fn mutated_examples_give_a_one_line_error_or_a_mapping(
            which in 0..TYPES.len(),
            version in 0..VERSIONS.len(),
            cut in 0usize..4000,
            at in 0usize..4000,
            byte in any::<u8>(),
        ) {
            let Some(text) = example(VERSIONS[version], TYPES[which]) else { return Ok(()) };
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = byte;
                bytes.truncate(bytes.len() - cut % bytes.len().max(1) / 8);
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            every_form(&text)?;
            // And as one structured event of a batch.
            every_form(&format!("[{{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/x\",\"type\":\"t\",\"data\":{text}}}]"))?;
        }
    }
}

/// A hand-made deployment CDEvent at `timestamp`.
fn deployed_at(timestamp: &str) -> Value {
    serde_json::json!({
        "context": {"specversion": "0.5.1", "id": "7", "source": "/ci",
                    "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": timestamp},
        "subject": {"id": "web", "content": {"environment": {"id": "production"}}}
    })
}

fn finished_at(mapped: Mapped) -> DateTime<Utc> {
    match mapped {
        Mapped::Event(dora_core::Event::Deployment(d)) => d.finished_at,
        other => panic!("a deployment, not {other:?}"),
    }
}

#[test]
fn the_cloudevent_time_is_the_event_time() {
    let structured = |time: Option<&str>| {
        let mut ce = serde_json::json!({"specversion": "1.0", "id": "7", "source": "/ci",
            "type": "dev.cdevents.service.deployed.0.3.0", "data": deployed_at("2026-03-02T10:00:00Z")});
        if let Some(t) = time {
            ce["time"] = Value::String(t.into());
        }
        from_structured_str(&ce.to_string())
    };
    // Given: `time` wins (the binding makes them equal; a producer that
    // differs is taken at its CloudEvent word).
    assert_eq!(
        finished_at(structured(Some("2026-03-02T11:30:00+01:00")).unwrap()),
        at("2026-03-02T10:30:00Z")
    );
    // Absent: `context.timestamp`.
    assert_eq!(finished_at(structured(None).unwrap()), at("2026-03-02T10:00:00Z"));
    // Not a time: an error naming `time`.
    let e = structured(Some("yesterday")).unwrap_err().to_string();
    assert!(e.contains("time") && e.contains("yesterday"), "{e}");

    let body = deployed_at("2026-03-02T10:00:00Z").to_string();
    let headers = |time: &'static str| {
        vec![
            ("ce-specversion", "1.0"),
            ("ce-id", "7"),
            ("ce-source", "/ci"),
            ("ce-type", "dev.cdevents.service.deployed.0.3.0"),
            ("CE-Time", time),
        ]
    };
    assert_eq!(
        finished_at(from_binary(&headers("2026-03-02T12:00:00Z"), body.as_bytes()).unwrap()),
        at("2026-03-02T12:00:00Z")
    );
    let e = from_binary(&headers("12:00"), body.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("ce-time"), "{e}");
}

/// Found by `cargo fuzz` (target `cdevents`): a value with control
/// characters made a message of several lines.
#[test]
fn errors_escape_control_characters_of_the_input() {
    let ce = serde_json::json!({"specversion": "1\r\n\u{1b}[2J", "id": "1", "source": "/s", "type": "t"});
    let message = from_structured_str(&ce.to_string()).unwrap_err().to_string();
    assert_eq!(message, "unknown CloudEvents spec version 1\\r\\n\\u{1b}[2J");
    let mut cd = deployed_at("2026-03-02T10:00:00Z");
    cd["context"]["type"] = Value::String("dev.cdevents.x\ny".into());
    let message = from_cdevent_str(&cd.to_string()).unwrap_err().to_string();
    assert!(!message.contains('\n') && message.contains("x\\ny"), "{message}");
}
