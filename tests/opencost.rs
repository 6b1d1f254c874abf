//! `dora collect` with an OpenCost source, end to end against a local fake
//! of its `/allocation` API (built with `--features opencost`), then `dora
//! metrics` showing the cost allocated by the `app` label.

use serde_json::{Map, Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::util::{dora, write};

/// The fake's daily cost of each allocation: `api`'s pods, pods without
/// the label, the idle capacity.
const DAILY: [(&str, f64); 3] =
    [("app=api/shop", 1.5), ("__unallocated__/kube-system", 0.25), ("__idle__", 2.0)];

fn today() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc()
}

/// OpenCost answering any window of whole days, one set a day.
fn fake_opencost(rt: &tokio::runtime::Runtime) -> MockServer {
    let server = rt.block_on(MockServer::start());
    let answer = |req: &Request| {
        let window = req.url.query_pairs().find(|(k, _)| k == "window").unwrap().1.to_string();
        let (from, until) = window.split_once(',').unwrap();
        let mut day: chrono::DateTime<chrono::Utc> = from.parse().unwrap();
        let until: chrono::DateTime<chrono::Utc> = until.parse().unwrap();
        let mut data = Vec::new();
        while day < until {
            let end = day + chrono::Days::new(1);
            let mut set = Map::new();
            for (name, cost) in DAILY {
                set.insert(
                    name.into(),
                    json!({"name": name, "window": {"start": day.to_rfc3339(), "end": end.to_rfc3339()},
                           "totalCost": cost}),
                );
            }
            data.push(Value::Object(set));
            day = end;
        }
        ResponseTemplate::new(200).set_body_json(json!({"code": 200, "data": data}))
    };
    rt.block_on(
        Mock::given(method("GET"))
            .and(path("/allocation"))
            .and(query_param("step", "1d"))
            .and(query_param("accumulate", "false"))
            .and(query_param("aggregate", "label:app,namespace"))
            .respond_with(answer)
            .mount(&server),
    );
    server
}

#[test]
fn collect_from_opencost_then_metrics_show_the_cost() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = fake_opencost(&rt);
    let dir = tempfile::tempdir().unwrap();
    let yesterday = today() - chrono::Days::new(1);
    let at = |h: u32| (yesterday + chrono::Duration::hours(i64::from(h))).to_rfc3339();
    write(
        dir.path(),
        "events.jsonl",
        &format!(
            "{}\n{}\n",
            json!({"kind": "change", "id": "c1", "service": "api", "committed_at": at(8)}),
            json!({"kind": "deployment", "id": "d1", "service": "api", "environment": "production",
                   "finished_at": at(12), "status": "success", "changes": ["c1"]})
        ),
    );
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[[source]]\nkind = \"file\"\nname = \"events\"\npaths = [\"events.jsonl\"]\n\n\
             [[source]]\nkind = \"opencost\"\nname = \"cluster\"\napi_url = \"{}\"\nallow_http = true\n\
             currency = \"EUR\"\naggregate = [\"label:app\", \"namespace\"]\nlookback_days = 3\n\n\
             [finance.allocation]\nservice_tag = \"app\"\n",
            server.uri()
        ),
    );
    let out = dora(dir.path()).arg("config").arg("check").output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("opencost") && shown.contains("EUR") && shown.contains("label:app"), "{shown}");

    let out = dora(dir.path()).arg("collect").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Three days in one request.
    assert!(
        stdout.lines().any(|l| l.starts_with("cluster") && l.contains("opencost") && l.contains(" 1 ")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("collect: cluster: 9 cost rows of the days"), "{stderr}");
    // Again: the last two days asked again and replaced, not added twice.
    let out = dora(dir.path()).arg("collect").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("collect: cluster: 6 cost rows of the days"));

    let since = (today() - chrono::Days::new(3)).date_naive().to_string();
    let until = today().date_naive().to_string();
    let out = dora(dir.path())
        .args(["metrics", "--since", &since, "--until", &until, "--period", "month", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut costs = Vec::new();
    cost_objects(&v, &mut costs);
    assert!(!costs.is_empty(), "{v}");
    assert!(costs.iter().all(|c| c["currency"] == "EUR"), "{costs:?}");
    let amounts: Vec<f64> = costs.iter().filter_map(|c| c["amount"].as_f64()).collect();
    // api's three days, by its `app` label; everything: three days of all.
    let api = 3.0 * 1.5;
    let all = 3.0 * (1.5 + 0.25 + 2.0);
    assert!(amounts.iter().any(|a| (a - api).abs() < 1e-9), "{costs:?}");
    assert!(amounts.iter().any(|a| (a - all).abs() < 1e-9), "{costs:?}");
    assert!(amounts.iter().all(|a| *a <= all + 1e-9), "{costs:?}");
}

#[test]
fn a_bad_currency_names_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        "[[source]]\nkind = \"opencost\"\nname = \"cluster\"\napi_url = \"https://oc.example\"\ncurrency = \"euro\"\naggregate = [\"namespace\"]\n",
    );
    let out = dora(dir.path()).arg("config").arg("check").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dora.toml:5: source[0].currency:") && stderr.contains("three capital letters"),
        "{stderr}"
    );
}

/// Every `"cost"` object anywhere in `v`.
fn cost_objects(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "cost" && x.is_object() {
                    out.push(x.clone());
                }
                cost_objects(x, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| cost_objects(x, out)),
        _ => {}
    }
}
