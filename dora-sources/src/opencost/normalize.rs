//! The `/allocation` answer to cost rows, without I/O.
//!
//! Each allocation of each step is one [`CostRow`]:
//!
//! - `window.start`, `window.end`: the charge period `[start, end)`;
//! - `totalCost`: the amount;
//! - the currency: the source's `currency` (OpenCost reports none);
//! - the allocation's name: `resource_name` (so an allocation rule on
//!   `ResourceName` can match `__idle__`);
//! - tags: the values of the aggregate. OpenCost names an allocation by
//!   its aggregate's values joined by `/`, in the aggregate's order, a
//!   label's (an annotation's) written `key=value`; dora splits the name
//!   back and names each value by [`tag_key`] of its aggregate property:
//!   `label:app` gives the tag `app`, `annotation:team` the tag `team`, and
//!   any other property (`namespace`, `controllerKind`, `cluster`, ...)
//!   its own name. With `aggregate = ["label:app", "namespace"]` the
//!   allocation `app=checkout/shop` has the tags
//!   `{"app": "checkout", "namespace": "shop"}`.
//!
//! A value OpenCost could not find (`__unallocated__`, such as a pod
//! without the label) is no tag; `__idle__` and `__unallocated__`
//! allocations (and a name whose parts do not match the aggregate) are
//! kept as rows without tags, so they fall to `unallocated` unless an
//! allocation rule matches their name.

use chrono::{DateTime, Utc};
use dora_core::cost::CostRow;
use serde_json::{Map, Value};

use super::model::AllocationAnswer;

/// The name OpenCost gives the cost of the cluster's idle capacity.
pub const IDLE: &str = "__idle__";
/// The name (or the part of a name) OpenCost gives what has no value for
/// an aggregate property.
pub const UNALLOCATED: &str = "__unallocated__";

/// The tag key of an aggregate property: `label:app` -> `app`,
/// `annotation:team` -> `team`, any other (`namespace`) -> itself.
pub fn tag_key(property: &str) -> &str {
    property.strip_prefix("label:").or_else(|| property.strip_prefix("annotation:")).unwrap_or(property)
}

/// The rows of an answer, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// One row per allocation, in the answer's order (steps, then names).
    pub rows: Vec<CostRow>,
    /// Allocations left out: without a window or a finite `totalCost`.
    pub skipped: u64,
}

/// The tags of the allocation named `name` under `aggregate` (`None` when
/// it has none: `__idle__`, `__unallocated__`, or a name whose parts do not
/// match the aggregate's properties).
pub fn tags(name: &str, aggregate: &[String]) -> Option<Map<String, Value>> {
    if aggregate.is_empty() || name == IDLE || name == UNALLOCATED {
        return None;
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() != aggregate.len() {
        return None;
    }
    let mut tags = Map::new();
    for (property, part) in aggregate.iter().zip(parts) {
        if part == UNALLOCATED || part.is_empty() {
            continue;
        }
        let value = if property.starts_with("label:") || property.starts_with("annotation:") {
            // `key=value`, the key sanitized as Prometheus writes it.
            part.split_once('=').map_or(part, |(_, v)| v)
        } else {
            part
        };
        if !value.is_empty() {
            tags.insert(tag_key(property).to_string(), Value::String(value.to_string()));
        }
    }
    (!tags.is_empty()).then_some(tags)
}

/// The rows of `answer` for a source whose aggregate is `aggregate` and
/// whose currency is `currency`; only allocations starting in
/// `[from, until)` are kept (an answer's steps may reach past the days
/// asked for). `Err` with OpenCost's message when its body says it failed.
pub fn rows(
    answer: &AllocationAnswer,
    aggregate: &[String],
    currency: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Normalized, String> {
    if answer.code != 200 {
        let message = answer.message.as_deref().unwrap_or("no message");
        return Err(format!("OpenCost answered code {}: {message}", answer.code));
    }
    let mut out = Normalized::default();
    for step in answer.data.iter().flatten().flatten() {
        for allocation in step.values() {
            let window = allocation.window.as_ref();
            let (Some(start), Some(end)) = (window.and_then(|w| w.start), window.and_then(|w| w.end)) else {
                out.skipped += 1;
                continue;
            };
            let Some(amount) = allocation.total_cost.filter(|c| c.is_finite()) else {
                out.skipped += 1;
                continue;
            };
            if start < from || start >= until || end < start {
                continue;
            }
            out.rows.push(CostRow {
                start,
                end,
                amount,
                currency: currency.to_string(),
                tags: tags(&allocation.name, aggregate),
                resource_id: None,
                resource_name: Some(allocation.name.clone()),
                service_name: None,
                sub_account_name: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn answer() -> AllocationAnswer {
        let text = include_str!("../../tests/fixtures/opencost/allocation.json");
        serde_json::from_str(text).unwrap()
    }

    fn aggregate() -> Vec<String> {
        vec!["label:app".into(), "namespace".into()]
    }

    #[test]
    fn the_documented_answer_gives_one_row_per_allocation_and_day() {
        let n = rows(&answer(), &aggregate(), "EUR", at("2026-11-01T00:00:00Z"), at("2026-11-03T00:00:00Z"))
            .unwrap();
        assert_eq!(n.skipped, 0);
        assert_eq!(n.rows.len(), 8);
        let day1: Vec<&CostRow> = n.rows.iter().filter(|r| r.start == at("2026-11-01T00:00:00Z")).collect();
        assert_eq!(day1.len(), 4);
        assert!(day1.iter().all(|r| r.end == at("2026-11-02T00:00:00Z") && r.currency == "EUR"));
        let checkout = day1.iter().find(|r| r.resource_name.as_deref() == Some("app=checkout/shop")).unwrap();
        // cpuCost + ramCost + pvCost + networkCost of the fixture.
        assert!((checkout.amount - (1.25 + 0.5 + 0.125 + 0.0)).abs() < 1e-12);
        assert_eq!(checkout.tag("app"), Some("checkout"));
        assert_eq!(checkout.tag("namespace"), Some("shop"));
        // A namespace's pods without the label: only the namespace tag.
        let unlabelled =
            day1.iter().find(|r| r.resource_name.as_deref() == Some("__unallocated__/kube-system")).unwrap();
        assert_eq!(unlabelled.tag("app"), None);
        assert_eq!(unlabelled.tag("namespace"), Some("kube-system"));
        // Idle capacity: a row of its own, no tags.
        let idle = day1.iter().find(|r| r.resource_name.as_deref() == Some(IDLE)).unwrap();
        assert_eq!(idle.tags, None);
        assert!((idle.amount - 3.75).abs() < 1e-12);
        let total: f64 = n.rows.iter().map(|r| r.amount).sum();
        assert!((total - (1.875 + 0.75 + 0.3 + 3.75 + 2.0 + 0.8 + 0.25 + 4.0)).abs() < 1e-9);
    }

    #[test]
    fn days_outside_the_range_asked_for_are_left_out() {
        let n = rows(&answer(), &aggregate(), "USD", at("2026-11-02T00:00:00Z"), at("2026-11-03T00:00:00Z"))
            .unwrap();
        assert_eq!(n.rows.len(), 4);
        assert!(n.rows.iter().all(|r| r.start == at("2026-11-02T00:00:00Z")));
    }

    #[test]
    fn tag_keys_and_values() {
        assert_eq!(tag_key("label:app"), "app");
        assert_eq!(tag_key("annotation:owner"), "owner");
        assert_eq!(tag_key("namespace"), "namespace");
        let t = tags("app_kubernetes_io_name=web", &["label:app.kubernetes.io/name".into()]).unwrap();
        assert_eq!(t.get("app.kubernetes.io/name"), Some(&Value::String("web".into())));
        assert_eq!(tags("shop", &["namespace".into()]).unwrap().get("namespace"), Some(&"shop".into()));
        assert_eq!(tags(UNALLOCATED, &["label:app".into()]), None);
        assert_eq!(tags(IDLE, &aggregate()), None);
        // Parts that do not match the aggregate: no tags rather than wrong ones.
        assert_eq!(tags("a/b/c", &aggregate()), None);
    }

    #[test]
    fn a_failed_answer_and_missing_fields() {
        let failed: AllocationAnswer =
            serde_json::from_str(r#"{"code": 500, "message": "Error: prometheus unreachable"}"#).unwrap();
        let e = rows(&failed, &aggregate(), "USD", at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"))
            .unwrap_err();
        assert!(e.contains("code 500") && e.contains("prometheus unreachable"), "{e}");
        let partial: AllocationAnswer = serde_json::from_str(
            r#"{"code": 200, "data": [null, {"x": {"name": "x", "totalCost": 1.0}},
                {"y": {"name": "y", "window": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}}}]}"#,
        )
        .unwrap();
        let n = rows(
            &partial,
            &["namespace".into()],
            "USD",
            at("2026-11-01T00:00:00Z"),
            at("2026-11-02T00:00:00Z"),
        )
        .unwrap();
        assert_eq!((n.rows.len(), n.skipped), (0, 2));
    }
}
