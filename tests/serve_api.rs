//! The query API of the real `dora serve`: `GET /api/v1/metrics`, `GET
//! /api/v1/explain` and `GET /` answer byte for byte what `dora metrics
//! --format json`, `dora explain --format json` and `dora report --format
//! html` print on the same store and `dora.toml` (the report page adds one
//! `<nav class="links">`), and refuse unknown parameters and those that
//! would read or write anything else.

use std::path::Path;
use std::time::Duration;

use crate::util::{ServeProcess, dora, root, write};

/// A running `dora serve` (killed when dropped).
struct Server(ServeProcess);

impl Server {
    fn start(dir: &Path) -> Server {
        Server(ServeProcess::start(dir, &["--store", "s.db"], &[]))
    }

    /// `GET target`: the status, the `Content-Type` and the body.
    fn get(&self, target: &str) -> (u16, String, Vec<u8>) {
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = self.0.exchange(request.as_bytes(), Duration::from_secs(120)).expect("an answer");
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head and a body");
        let head = String::from_utf8(answer[..split].to_vec()).unwrap();
        let body = answer[split + 4..].to_vec();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v.trim().to_string())
        };
        assert!(header("transfer-encoding").is_none(), "{head}");
        if let Some(length) = header("content-length") {
            assert_eq!(length.parse::<usize>().unwrap(), body.len(), "{head}");
        }
        (status, header("content-type").unwrap_or_default(), body)
    }

    /// `GET target`, which must answer 200 with `content_type`.
    fn ok(&self, target: &str, content_type: &str) -> Vec<u8> {
        let (status, ct, body) = self.get(target);
        assert_eq!(status, 200, "GET {target}: {}", String::from_utf8_lossy(&body));
        assert_eq!(ct, content_type, "GET {target}");
        body
    }

    /// `GET target`, which must answer 400 with a JSON error containing `needle`.
    fn bad(&self, target: &str, needle: &str) {
        let (status, ct, body) = self.get(target);
        assert_eq!(status, 400, "GET {target}: {}", String::from_utf8_lossy(&body));
        assert_eq!(ct, "application/json", "GET {target}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let message = v["error"].as_str().unwrap();
        assert!(message.contains(needle), "GET {target}: {message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }
}

/// What `dora args...` prints (it must succeed).
fn cli(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = dora(dir).args(args).output().unwrap();
    assert!(out.status.success(), "dora {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The page without its `<nav class="links">`.
fn without_links(page: &[u8]) -> String {
    let page = String::from_utf8(page.to_vec()).unwrap();
    let start = page.find(r#"<nav class="links">"#).expect("the page has links");
    let end = start + page[start..].find("</nav>").unwrap() + "</nav>".len();
    format!("{}{}", &page[..start], &page[end..])
}

/// The `href` of the link with this text in the page's `<nav>`, unescaped.
fn link(page: &[u8], text: &str) -> String {
    let page = String::from_utf8_lossy(page);
    let nav = &page[page.find("<nav").unwrap()..page.find("</nav>").unwrap()];
    let anchor = format!("\">{text}</a>");
    let end = nav.find(&anchor).unwrap_or_else(|| panic!("no link {text:?} in {nav}"));
    let start = nav[..end].rfind("href=\"").unwrap() + "href=\"".len();
    nav[start..end].replace("&amp;", "&")
}

fn seeded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let demo = root().join("examples/demo/events.jsonl");
    cli(dir.path(), &["import", "--store", "s.db", demo.to_str().unwrap()]);
    // The served dora.toml applies to the API as to the CLI.
    write(dir.path(), "dora.toml", "[teams]\nnotifications = \"messaging\"\n");
    dir
}

#[test]
fn the_api_answers_what_the_cli_prints() {
    let dir = seeded();
    let d = dir.path();
    let server = Server::start(d);

    // GET /api/v1/metrics: dora metrics --format json with the same flags.
    for (query, flags) in [
        ("since=2026-06-01&until=2026-11-23", vec!["--since", "2026-06-01", "--until", "2026-11-23"]),
        (
            "since=2026-06-01&until=2026-12-01&period=month&timezone=Europe%2FBerlin&group_by=team,service",
            vec![
                "--since",
                "2026-06-01",
                "--until",
                "2026-12-01",
                "--period",
                "month",
                "--timezone",
                "Europe/Berlin",
                "--group-by",
                "team,service",
            ],
        ),
        (
            "since=2026-11-01&until=2026-11-23&period=day&attribution_window=36h&lead_time_start=first_commit&production_pattern=%5Eprod&skip_bad_lines=true",
            vec![
                "--since",
                "2026-11-01",
                "--until",
                "2026-11-23",
                "--period",
                "day",
                "--attribution-window",
                "36h",
                "--lead-time-start",
                "first_commit",
                "--production-pattern",
                "^prod",
                "--skip-bad-lines",
            ],
        ),
    ] {
        let body = server.ok(&format!("/api/v1/metrics?{query}"), "application/json");
        let mut args = vec!["metrics", "--store", "s.db", "--format", "json"];
        args.extend(flags);
        let printed = cli(d, &args);
        assert!(body == printed, "GET /api/v1/metrics?{query} differs from dora {args:?}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["schema"], "dora.metrics/v1");
    }
    let teams =
        server.ok("/api/v1/metrics?since=2026-06-01&until=2026-11-23&group_by=team", "application/json");
    assert!(String::from_utf8_lossy(&teams).contains("\"messaging\""), "[teams] applies");

    // GET /api/v1/explain: dora explain --format json.
    for (query, flags) in [
        (
            "metric=lead-time&service=checkout&since=2026-11-16&until=2026-11-23",
            vec!["lead-time", "--service", "checkout", "--since", "2026-11-16", "--until", "2026-11-23"],
        ),
        (
            "metric=change-failure-rate&team=commerce&since=2026-11-01&until=2026-12-01&period_index=1",
            vec![
                "change-failure-rate",
                "--team",
                "commerce",
                "--since",
                "2026-11-01",
                "--until",
                "2026-12-01",
                "--period-index",
                "1",
            ],
        ),
        (
            "since=2026-06-01&until=2026-09-01&period=month&metric=deployment-frequency",
            vec![
                "deployment-frequency",
                "--since",
                "2026-06-01",
                "--until",
                "2026-09-01",
                "--period",
                "month",
            ],
        ),
    ] {
        let body = server.ok(&format!("/api/v1/explain?{query}"), "application/json");
        let mut args = vec!["explain", "--store", "s.db", "--format", "json"];
        args.extend(flags);
        let printed = cli(d, &args);
        assert!(body == printed, "GET /api/v1/explain?{query} differs from dora {args:?}");
    }

    // GET /: dora report --format html, plus the links.
    let html = "text/html; charset=utf-8";
    let page = server.ok("/?week=2026-W47", html);
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--store", "s.db", "--format", "html"];
        args.extend(extra);
        String::from_utf8(cli(d, &args)).unwrap()
    };
    assert_eq!(without_links(&page), report(&["--week", "2026-W47"]));
    let earlier = link(&page, "2026-W46");
    assert_eq!(earlier, "/?week=2026-W46");
    assert_eq!(without_links(&server.ok(&earlier, html)), report(&["--week", "2026-W46"]));
    assert_eq!(link(&page, "2026-W36"), "/?week=2026-W36", "every earlier week of the trend");
    let team = link(&page, "messaging");
    assert_eq!(team, "/?week=2026-W47&team=messaging");
    let team_page = server.ok(&team, html);
    assert_eq!(without_links(&team_page), report(&["--week", "2026-W47", "--team", "messaging"]));
    assert_eq!(link(&team_page, "2026-W45"), "/?team=messaging&week=2026-W45", "week links keep the team");
    assert_eq!(link(&team_page, "all teams and services"), "/?week=2026-W47");
    let service = link(&page, "checkout");
    assert_eq!(service, "/?week=2026-W47&service=checkout");
    assert_eq!(
        without_links(&server.ok(&service, html)),
        report(&["--week", "2026-W47", "--service", "checkout"])
    );
    for text in ["commerce", "platform", "notifications", "search", "payments", "edge-proxy"] {
        link(&page, text);
    }
    // The default: the last complete week, as dora report chooses it (the
    // same clock rule; a week may end between the two).
    let before = report(&[]);
    let page = server.ok("/", html);
    let after = report(&[]);
    let page = without_links(&page);
    assert!(page == before || page == after, "GET / differs from dora report --format html");
}

#[test]
fn the_api_refuses_other_input_output_and_unknown_parameters() {
    let dir = seeded();
    let server = Server::start(dir.path());
    for target in [
        "/api/v1/metrics?events=%2Fetc%2Fpasswd",
        "/api/v1/explain?metric=lead-time&events=%2Fetc%2Fpasswd",
        "/?events=%2Fetc%2Fpasswd",
    ] {
        server.bad(target, "`events` is not allowed");
    }
    server.bad("/api/v1/metrics?store=other.db", "`store` is not allowed");
    server.bad("/?config=%2Fetc%2Fdora.toml", "`config` is not allowed");
    server.bad("/api/v1/metrics?format=table", "`format` is not allowed");
    server.bad("/?output=r.html", "`output` is not allowed");
    server.bad("/api/v1/metrics?since=2026-06-01&colour=red", "unknown parameter `colour`");
    server.bad("/api/v1/explain?metric=lead-time&week=2026-W47", "unknown parameter `week`");
    server.bad("/api/v1/metrics?period=year", "period");
    server.bad("/api/v1/metrics?since=2026-06-01&since=2026-07-01", "since");
    server.bad("/api/v1/metrics?skip_bad_lines=yes", "skip_bad_lines");
    server.bad("/api/v1/explain?since=2026-06-01", "`metric`");
    server.bad("/api/v1/explain?metric=speed", "speed");
    server.bad("/api/v1/explain?metric=lead-time&service=a&team=b", "team");
    server.bad("/api/v1/explain?metric=lead-time&period_index=x", "period_index");
    server.bad("/?week=2026-W60", "week");
    server.bad("/?week=2026-W47&team=nobody", "team");
    // Still serving after all of that.
    let (status, _, _) = server.get("/healthz");
    assert_eq!(status, 200);
}
