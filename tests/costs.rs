//! Cloud cost beside delivery through the CLI (issue 21, METRICS.md
//! section 7): `dora costs import` of FOCUS exports (the real sample rows
//! of `../shared/fixtures/peer/focus/`), re-import, bad rows, `.gz`, and
//! `dora costs check` against sums computed here from a plain CSV parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::{dora, shared, write};

/// The FOCUS 1.0 sample slice (562 rows; see its SOURCE.txt), when
/// `../shared` is present.
fn sample() -> Option<PathBuf> {
    let path = shared()?.join("fixtures/peer/focus/focus_1.0_sample_dev.csv");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("note: {} is absent; the FOCUS sample tests are skipped", path.display());
        None
    }
}

/// The sample's rows as plain records (header -> cell), parsed here
/// without dora.
fn plain_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    reader
        .records()
        .map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect())
        .collect()
}

fn number(cell: &str) -> f64 {
    if cell == "NULL" || cell.is_empty() { 0.0 } else { cell.parse().unwrap() }
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = dora(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dora {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_err(dir: &Path, args: &[&str]) -> String {
    let out = dora(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "dora {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

/// The stored cost rows: their count and sum per currency.
fn stored(dir: &Path) -> (u64, BTreeMap<String, f64>) {
    let conn = rusqlite::Connection::open(dir.join(".dora/dora.db")).unwrap();
    let count: i64 = conn.query_row("SELECT count(*) FROM cost_rows", [], |r| r.get(0)).unwrap();
    let mut stmt = conn.prepare("SELECT currency, sum(amount) FROM cost_rows GROUP BY currency").unwrap();
    let sums = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (count as u64, sums)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn the_focus_sample_is_imported_whole_and_again_replaces_it() {
    let Some(sample) = sample() else { return };
    let rows = plain_rows(&sample);
    assert_eq!(rows.len(), 562);
    let billed: f64 = rows.iter().map(|r| number(&r["BilledCost"])).sum();
    let effective: f64 = rows.iter().map(|r| number(&r["EffectiveCost"])).sum();
    assert!(rows.iter().all(|r| r["BillingCurrency"] == "USD"));
    // SOURCE.txt: BilledCost 3.03, EffectiveCost 0.22 (rounded).
    assert_eq!(format!("{billed:.2}"), "3.03");
    assert_eq!(format!("{effective:.2}"), "0.22");

    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(dir.path(), &["costs", "import", sample.to_str().unwrap()]);
    assert!(out.contains(": 562 rows stored (EffectiveCost), 0 rows replaced"), "{out}");
    let (count, sums) = stored(dir.path());
    assert_eq!(count, 562);
    assert!(close(sums["USD"], effective), "{} != {effective}", sums["USD"]);

    // The same file again, through another spelling of its path, with
    // another cost column: its rows are replaced, not added.
    write(dir.path(), "dora.toml", "[finance.allocation]\ncost_column = \"BilledCost\"\n");
    let copy_dir = dir.path().join("sub");
    std::fs::create_dir(&copy_dir).unwrap();
    let indirect =
        copy_dir.join("..").join(".").join(pathdiff(dir.path(), &sample).unwrap_or_else(|| sample.clone()));
    let out = run_ok(dir.path(), &["costs", "import", indirect.to_str().unwrap()]);
    assert!(out.contains(": 562 rows stored (BilledCost), 562 rows replaced"), "{out}");
    let (count, sums) = stored(dir.path());
    assert_eq!(count, 562);
    assert!(close(sums["USD"], billed), "{} != {billed}", sums["USD"]);
}

/// `to` relative to `from` when both are absolute, else `None`.
fn pathdiff(from: &Path, to: &Path) -> Option<PathBuf> {
    let (from, to) = (std::fs::canonicalize(from).ok()?, std::fs::canonicalize(to).ok()?);
    let common = from.components().zip(to.components()).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for c in to.components().skip(common) {
        out.push(c);
    }
    Some(out)
}

/// `dora costs check`'s amount format: 2 decimals, more below a cent.
fn money(x: f64) -> String {
    if x == 0.0 || x.abs() >= 0.01 {
        format!("{x:.2}")
    } else if x.abs() >= 1e-8 {
        format!("{x:.8}").trim_end_matches('0').to_string()
    } else {
        format!("{x:.1e}")
    }
}

#[test]
fn costs_check_allocates_by_the_tag_then_the_rules() {
    let Some(sample) = sample() else { return };
    // Expected, from a plain parse: the `application` tag's value when a
    // non-empty string, else "messaging" for ServiceName matching Queue,
    // else unallocated.
    let mut expected: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut total = 0.0;
    let iso = |s: &str| format!("{}Z", s.replace(' ', "T"));
    let plain = plain_rows(&sample);
    let first = plain.iter().map(|r| iso(&r["ChargePeriodStart"])).min().unwrap();
    let last = plain.iter().map(|r| iso(&r["ChargePeriodEnd"])).max().unwrap();
    for row in plain {
        let amount = number(&row["BilledCost"]);
        total += amount;
        let tags: Option<serde_json::Value> =
            if row["Tags"] == "NULL" { None } else { Some(serde_json::from_str(&row["Tags"]).unwrap()) };
        let tag = tags
            .as_ref()
            .and_then(|t| t.get("application"))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let service = tag.unwrap_or_else(|| {
            if row["ServiceName"].contains("Queue") { "messaging".into() } else { "unallocated".into() }
        });
        let e = expected.entry(service).or_default();
        e.0 += amount;
        e.1 += 1;
    }
    assert!(expected.len() > 3, "the sample has several applications: {expected:?}");
    assert!(expected.contains_key("messaging") && expected.contains_key("unallocated"));

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        "[finance]\npayments = \"CC-1\"\n\n[finance.allocation]\nservice_tag = \"application\"\ncost_column = \"BilledCost\"\n\n[[finance.allocation.rule]]\nfield = \"ServiceName\"\npattern = \"Queue\"\nservice = \"messaging\"\n",
    );
    run_ok(dir.path(), &["costs", "import", sample.to_str().unwrap()]);
    let out = run_ok(dir.path(), &["costs", "check", "--top", "3"]);
    assert!(
        out.starts_with(&format!(
            "562 cost rows charged {first} .. {last}, allocated by the tag `application`, then 1 rule"
        )),
        "{out}"
    );
    for (service, (amount, n)) in &expected {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(service.as_str()))
            .unwrap_or_else(|| panic!("no line for {service}:\n{out}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        let share = format!("{:.1}%", 100.0 * amount / total);
        assert_eq!(cells[1..], [money(*amount).as_str(), share.as_str(), n.to_string().as_str()], "{line}");
    }
    let total_line = out.lines().find(|l| l.starts_with("total ")).unwrap();
    assert_eq!(total_line.split_whitespace().nth(1), Some(money(total).as_str()));
    // The 3 largest unallocated rows follow, with their fields.
    let listed = out.split("largest unallocated rows (USD)").nth(1).expect(&out);
    assert_eq!(listed.lines().filter(|l| l.contains(" | ")).count(), 3 + 1, "{listed}");

    // The same check as JSON: unrounded amounts, shares as ratios.
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(dir.path(), &["costs", "check", "--top", "3", "--format", "json"]))
            .unwrap();
    assert_eq!(json["schema"], "dora.costs-check/v1");
    assert_eq!(json["rows"], 562);
    assert_eq!(json["charged"]["first"], first.as_str());
    assert_eq!(json["cost_column"], "BilledCost");
    assert_eq!(json["allocation"]["service_tag"], "application");
    assert_eq!(json["allocation"]["rules"], 1);
    let usd = &json["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    assert!(close(usd["total"].as_f64().unwrap(), total));
    let mut seen = BTreeMap::new();
    for s in usd["services"].as_array().unwrap() {
        seen.insert(
            s["service"].as_str().unwrap().to_string(),
            (s["amount"].as_f64().unwrap(), s["rows"].as_u64().unwrap()),
        );
        assert!(close(s["share"].as_f64().unwrap(), s["amount"].as_f64().unwrap() / total));
    }
    let un = &usd["unallocated"];
    seen.insert("unallocated".into(), (un["amount"].as_f64().unwrap(), un["rows"].as_u64().unwrap()));
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    for (service, (amount, n)) in &expected {
        let (a, m) = seen[service];
        assert!(close(a, *amount) && m == *n, "{service}: {a} {m} vs {amount} {n}");
    }
    let largest = usd["largest_unallocated"].as_array().unwrap();
    assert_eq!(largest.len(), 3);
    let amounts: Vec<f64> = largest.iter().map(|r| r["amount"].as_f64().unwrap().abs()).collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");

    // `dora config check` shows the allocation beside the cost centers.
    let config = run_ok(dir.path(), &["config", "check"]);
    assert!(config.contains("[finance]\npayments = \"CC-1\""), "{config}");
    assert!(
        config.contains("[finance.allocation]\nservice_tag = \"application\"\ncost_column = \"BilledCost\""),
        "{config}"
    );
    assert!(config.contains("[[finance.allocation.rule]]\nfield = \"ServiceName\"\npattern = \"Queue\"\nservice = \"messaging\""), "{config}");
}

const HEADER: &str = "ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,Tags,ResourceName,ServiceName\n";
const GOOD: &str = "2024-09-01 00:00:00,2024-09-01 01:00:00,USD,1.5,1.25,\"{\"\"application\"\": \"\"api\"\"}\",db-1,Amazon RDS\n\
                    2024-09-01T01:00:00Z,2024-09-01T02:00:00Z,USD,6.1E-7,2E-1,NULL,NULL,NULL\n";

#[test]
fn a_bad_row_stores_nothing_of_its_file_and_keeps_its_earlier_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "focus.csv", &format!("{HEADER}{GOOD}"));
    let out = run_ok(dir.path(), &["costs", "import", "focus.csv"]);
    assert!(out.contains("focus.csv: 2 rows stored (EffectiveCost), 0 rows replaced"), "{out}");
    let before = stored(dir.path());
    assert_eq!(before.0, 2);
    assert!(close(before.1["USD"], 1.45));
    let cases = [
        (
            "2024-09-01 02:00:00,2024-09-01 03:00:00,USD,1,1.2.3,NULL,x,y\n",
            "column `EffectiveCost`: \"1.2.3\" is not a number",
        ),
        (
            "2024-09-01 02:00,2024-09-01 25:00:00,USD,1,1,NULL,x,y\n",
            "column `ChargePeriodEnd`: \"2024-09-01 25:00:00\" is not a time",
        ),
        (
            "2024-09-01 02:00:00,2024-09-01 03:00:00,USD,1,1,\"\"\"x\"\"\",x,y\n",
            "column `Tags`: \"\"x\"\" is not a JSON object",
        ),
        (
            "2024-09-01 03:00:00,2024-09-01 02:00:00,USD,1,1,NULL,x,y\n",
            "column `ChargePeriodEnd`: the charge period ends",
        ),
        (
            "2024-09-01 02:00:00,2024-09-01 03:00:00,NULL,1,1,NULL,x,y\n",
            "column `BillingCurrency`: a required cell is null",
        ),
    ];
    for (bad, message) in cases {
        // Two good rows, then the bad one on line 4 of the file.
        std::fs::write(&file, format!("{HEADER}{GOOD}{bad}")).unwrap();
        let err = run_err(dir.path(), &["costs", "import", "focus.csv"]);
        let expected = format!("focus.csv: line 4 (the header is line 1), {message}");
        assert!(err.contains(&expected), "{err}\nshould contain: {expected}");
        assert_eq!(stored(dir.path()), before, "after {bad}");
    }
    // A required column missing from the header.
    std::fs::write(&file, "ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost\n").unwrap();
    let err = run_err(dir.path(), &["costs", "import", "focus.csv"]);
    assert!(
        err.contains("focus.csv: line 1 (the header is line 1), column `EffectiveCost`: a required column is missing from the header"),
        "{err}"
    );
    assert_eq!(stored(dir.path()), before);
}

#[test]
fn a_gzip_export_is_read_and_a_second_file_is_kept_apart() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{HEADER}{GOOD}").as_bytes()).unwrap();
    std::fs::write(dir.path().join("a.csv.gz"), gz.finish().unwrap()).unwrap();
    write(dir.path(), "b.csv", &format!("{HEADER}{}", GOOD.lines().next().unwrap()));
    let out = run_ok(dir.path(), &["costs", "import", "a.csv.gz", "b.csv"]);
    assert!(out.contains("a.csv.gz: 2 rows stored (EffectiveCost), 0 rows replaced"), "{out}");
    assert!(out.contains("b.csv: 1 rows stored (EffectiveCost), 0 rows replaced"), "{out}");
    let (count, sums) = stored(dir.path());
    assert_eq!(count, 3);
    assert!(close(sums["USD"], 1.25 + 0.2 + 1.25));
    // Re-importing one file leaves the other's rows.
    let out = run_ok(dir.path(), &["costs", "import", "b.csv"]);
    assert!(out.contains("b.csv: 1 rows stored (EffectiveCost), 1 rows replaced"), "{out}");
    assert_eq!(stored(dir.path()).0, 3);
    // A missing file is refused before the store is touched.
    let err = run_err(dir.path(), &["costs", "import", "b.csv", "missing.csv"]);
    assert!(err.contains("missing.csv"), "{err}");
}

#[test]
fn control_characters_of_cells_are_shown_not_sent_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "focus.csv",
        &format!(
            "{HEADER}2024-09-01 00:00:00,2024-09-01 01:00:00,USD,1,1,NULL,\"evil\u{1b}]0;title\u{7}\",x\n"
        ),
    );
    run_ok(dir.path(), &["costs", "import", "focus.csv"]);
    let out = run_ok(dir.path(), &["costs", "check"]);
    assert!(out.contains("evil\\u{1b}]0;title\\u{7}"), "{out}");
    assert!(!out.contains('\u{1b}'));
}

/// Every `"cost"` object anywhere in `v`.
fn cost_objects(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                if k == "cost" && x.is_object() {
                    out.push(x.clone());
                }
                cost_objects(x, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|x| cost_objects(x, out)),
        _ => {}
    }
}

/// One change shipped by one deployment of `api` on 2024-09-02, and
/// costs allocated by the tag `application`.
fn one_deployment_of_api(dir: &Path) {
    write(
        dir,
        "events.jsonl",
        concat!(
            r#"{"kind":"change","id":"c1","service":"api","committed_at":"2024-09-02T09:00:00Z"}"#,
            "\n",
            r#"{"kind":"deployment","id":"d1","service":"api","environment":"production","finished_at":"2024-09-02T12:00:00Z","status":"success","changes":["c1"]}"#,
            "\n"
        ),
    );
    write(dir, "dora.toml", "[finance.allocation]\nservice_tag = \"application\"\n");
}

#[test]
fn metrics_take_the_stored_costs_and_refuse_two_currencies() {
    let dir = tempfile::tempdir().unwrap();
    one_deployment_of_api(dir.path());
    run_ok(dir.path(), &["import", "events.jsonl"]);
    let window = ["--since", "2024-09-01", "--until", "2024-10-01", "--period", "month", "--format", "json"];
    // No cost rows yet: no `cost` key at all.
    let plain: serde_json::Value =
        serde_json::from_str(&run_ok(dir.path(), &[&["metrics"][..], &window[..]].concat())).unwrap();
    let mut found = Vec::new();
    cost_objects(&plain, &mut found);
    assert!(found.is_empty(), "{found:?}");
    // Two rows of api, one unallocated: 1.25 + 0.2 (EffectiveCost).
    write(dir.path(), "focus.csv", &format!("{HEADER}{GOOD}"));
    run_ok(dir.path(), &["costs", "import", "focus.csv"]);
    let with: serde_json::Value =
        serde_json::from_str(&run_ok(dir.path(), &[&["metrics"][..], &window[..]].concat())).unwrap();
    let mut found = Vec::new();
    cost_objects(&with, &mut found);
    assert!(!found.is_empty(), "{with}");
    assert!(found.iter().all(|c| c["currency"] == "USD"), "{found:?}");
    let largest = found.iter().filter_map(|c| c["amount"].as_f64()).fold(f64::MIN, f64::max);
    assert!(close(largest, 1.25 + 0.2), "{found:?}");
    // The table shows each group's cost over the window.
    let table = run_ok(
        dir.path(),
        &["metrics", "--since", "2024-09-01", "--until", "2024-10-01", "--period", "month"],
    );
    assert!(table.contains("\ncost 1.45 USD: 1.45 per deployment, 1.45 per change\n"), "{table}");
    assert!(table.contains("\ncost 1.25 USD: 1.25 per deployment, 1.25 per change\n"), "{table}");
    // A second currency in the window: an error naming both.
    write(
        dir.path(),
        "eur.csv",
        &format!("{HEADER}2024-09-03 00:00:00,2024-09-03 01:00:00,EUR,1,1,NULL,x,y\n"),
    );
    run_ok(dir.path(), &["costs", "import", "eur.csv"]);
    let err = run_err(dir.path(), &[&["metrics"][..], &window[..]].concat());
    assert!(err.contains("EUR") && err.contains("USD"), "{err}");
    // Outside that window the EUR row does not count.
    let before = ["--since", "2024-09-01", "--until", "2024-09-03", "--period", "day", "--format", "json"];
    run_ok(dir.path(), &[&["metrics"][..], &before[..]].concat());
}

#[test]
fn the_finance_csv_carries_the_stored_cost() {
    let dir = tempfile::tempdir().unwrap();
    one_deployment_of_api(dir.path());
    write(dir.path(), "focus.csv", &format!("{HEADER}{GOOD}"));
    run_ok(dir.path(), &["import", "events.jsonl"]);
    run_ok(dir.path(), &["costs", "import", "focus.csv"]);
    let csv = run_ok(
        dir.path(),
        &["export", "csv", "--since", "2024-09-01", "--until", "2024-10-01", "--period", "month"],
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches('\u{feff}').split(',').collect();
    let at =
        |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name}: {header:?}"));
    let (cost, currency) = (at("cost"), at("currency"));
    let costs: Vec<(String, String)> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[cost].to_string(), cells[currency].to_string())
        })
        .collect();
    // The `all` group holds both rows: 1.25 + 0.2, 2 decimals.
    assert!(costs.contains(&("1.45".to_string(), "USD".to_string())), "{csv}");
    // The api service holds the tagged row.
    assert!(costs.contains(&("1.25".to_string(), "USD".to_string())), "{csv}");
}
