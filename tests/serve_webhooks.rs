//! The real `dora serve` taking GitHub and GitLab webhooks (built with
//! `--features serve,github,gitlab`): a checked delivery about a configured
//! repository runs that source's collection against a local fake forge, and
//! the store then holds exactly what `dora collect` stores from the same
//! forge. The GitHub deliveries are real ones (octokit/webhooks, in
//! `../shared/fixtures/peer/github_webhooks_octokit/`, for
//! `Codertocat/Hello-World`; minimal ones when that folder is absent); the
//! GitLab ones are written here after GitLab's documented payloads (no
//! recorded GitLab webhook is in the shared fixtures).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dora_core::store::Store;

#[cfg(any(feature = "github", feature = "gitlab"))]
use crate::util::dora;
#[cfg(feature = "github")]
use crate::util::shared;
use crate::util::{ServeProcess, write};

/// A running `dora serve` on the store `serve.db` (killed when dropped).
struct Serve(ServeProcess);

impl Serve {
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serve {
        let args: Vec<&str> = ["--store", "serve.db"].iter().chain(args).copied().collect();
        Serve(ServeProcess::start(dir, &args, envs))
    }

    /// One request: the status and the body.
    fn request(&self, head: String, body: &[u8]) -> (u16, String) {
        let request = [head.as_bytes(), body].concat();
        let answer = self.0.exchange(&request, Duration::from_secs(30)).expect("an answer");
        let answer = String::from_utf8(answer).unwrap();
        let status = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }

    /// `POST path` with a JSON body and these headers: the status and the body.
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.request(head, body)
    }

    /// `GET path`: the status and the body.
    fn get(&self, path: &str) -> (u16, String) {
        self.request(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), b"")
    }

    /// SIGTERM: it must exit 0 within 30 seconds. Returns its log.
    fn stop(&mut self) -> String {
        self.0.stop()
    }
}

/// Polls `what` every 50 ms for up to 30 seconds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(any(feature = "github", feature = "gitlab"))]
/// Whether the store holds a sync state of `source` (its first run was stored).
fn collected(store: &Path, source: &str) -> bool {
    store.exists()
        && Store::open_read_only(store).is_ok_and(|s| s.sync_state(source).is_ok_and(|state| state.is_some()))
}

#[cfg(any(feature = "github", feature = "gitlab"))]
/// The store's events as `dora export events` writes them.
fn exported(dir: &Path, store: &str) -> String {
    let out = dora(dir).args(["export", "events", "--store", store, "--format", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(any(feature = "github", feature = "gitlab"))]
/// How many requests the fake forge has received.
fn requests(rt: &tokio::runtime::Runtime, server: &wiremock::MockServer) -> usize {
    rt.block_on(server.received_requests()).map_or(0, |r| r.len())
}

/// What the GitHub fake serves and the hook secret.
#[cfg(feature = "github")]
mod github {
    use wiremock::MockServer;

    use super::*;

    pub const REPO: &str = "Codertocat/Hello-World";
    pub const SECRET: &str = "It's a Secret to Everybody";

    /// The repository of tests/github.rs, under the fixtures' name, with
    /// an incident that names the deployed commit.
    pub fn fake_forge(rt: &tokio::runtime::Runtime) -> MockServer {
        crate::github::fake_github_repo(rt, REPO, true)
    }

    /// A delivery of the fixtures (`event__name.json`), or a minimal
    /// one of the same repository when the shared folder is absent.
    pub fn delivery(name: &str) -> Vec<u8> {
        match shared() {
            Some(s) => {
                std::fs::read(s.join(format!("fixtures/peer/github_webhooks_octokit/{name}.json"))).unwrap()
            }
            None => {
                format!(r#"{{"action":"created","repository":{{"full_name":"{REPO}","id":1}}}}"#).into_bytes()
            }
        }
    }

    /// `sha256=<hex>` of `body` with `secret`, computed here with a
    /// plain HMAC (RFC 2104) over SHA-256 from `sha256sum`-free code: the
    /// test must not share the server's implementation.
    pub fn sign(secret: &str, body: &[u8]) -> String {
        format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), body)))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// HMAC-SHA256 (RFC 2104) over the SHA-256 of FIPS 180-4, small and slow.
    fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&sha256(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).chain(message.iter().copied()).collect();
        let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(sha256(&inner)).collect();
        sha256(&outer)
    }

    fn sha256(data: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ];
        let mut h: [u32; 8] =
            [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        let mut msg = data.to_vec();
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
        for block in msg.chunks(64) {
            let mut w = [0u32; 64];
            for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
                *word = u32::from_be_bytes(bytes.try_into().unwrap());
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
            }
            let mut v = h;
            for (k, w) in K.iter().zip(w) {
                let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
                let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
                let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(*k).wrapping_add(w);
                let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
                let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
                let t2 = s0.wrapping_add(maj);
                v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
            }
            for (a, b) in h.iter_mut().zip(v) {
                *a = a.wrapping_add(b);
            }
        }
        let mut out = [0u8; 32];
        for (i, word) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn the_test_signer_matches_githubs_documented_example() {
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}

#[cfg(feature = "github")]
#[test]
fn github_webhooks_collect_what_dora_collect_stores() {
    use github::{REPO, SECRET, delivery, fake_forge, sign};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let forge = fake_forge(&rt);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[serve]\ngithub_webhook_secret_env = \"DORA_TEST_GH_HOOK_SECRET\"\n\n[[source]]\nkind = \"github\"\nname = \"gh\"\nrepos = [\"{REPO}\"]\napi_url = \"{}\"\nallow_http = true\ntoken_env = \"DORA_TEST_GH_TOKEN\"\nincident_labels = [\"incident\"]\n",
            forge.uri()
        ),
    );
    let store = dir.path().join("serve.db");
    let mut serve = Serve::start(
        dir.path(),
        &[],
        &[("DORA_TEST_GH_TOKEN", "ghp_test_token_value"), ("DORA_TEST_GH_HOOK_SECRET", SECRET)],
    );
    let push = delivery("push__payload");
    let hook = |body: &[u8], event: &str, id: &str, signature: Option<&str>| {
        let mut headers = vec![("X-GitHub-Event", event), ("X-GitHub-Delivery", id)];
        if let Some(s) = signature {
            headers.push(("X-Hub-Signature-256", s));
        }
        serve.post("/webhooks/github", &headers, body)
    };

    // Wrong or missing signatures: 401, and nothing is queued.
    let wrong = sign("not the secret", &push);
    let (status, body) = hook(&push, "push", "bad-1", Some(&wrong));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("X-Hub-Signature-256"), "{body}");
    let (status, _) = hook(&push, "push", "bad-2", None);
    assert_eq!(status, 401);
    // Signed for another body (one byte more).
    let (status, _) = hook(&push, "push", "bad-3", Some(&sign(SECRET, &[&push[..], b" "].concat())));
    assert_eq!(status, 401);
    // A ping answers 200.
    let ping = br#"{"zen":"Design for failure.","hook_id":1}"#;
    let (status, body) = hook(ping, "ping", "ping-1", Some(&sign(SECRET, ping)));
    assert_eq!(status, 200, "{body}");
    // Signed, but not JSON: 400.
    let (status, _) = hook(b"{not json", "push", "bad-4", Some(&sign(SECRET, b"{not json")));
    assert_eq!(status, 400);
    // Longer than the debounce (2 s): no run happened.
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(requests(&rt, &forge), 0, "a refused delivery made the source run");
    assert!(!collected(&store, "gh"));

    // A real push delivery: 202, queued for the source; the run is stored.
    let (status, body) = hook(&push, "push", "delivery-1", Some(&sign(SECRET, &push)));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, r#"{"queued":["gh"]}"#);
    eventually("the first collection", || collected(&store, "gh"));
    let after_first = requests(&rt, &forge);
    assert_eq!(after_first, 3, "one full run of the GraphQL path (docs/sources/github.md)");

    // The same delivery again: nothing queued.
    let (status, body) = hook(&push, "push", "delivery-1", Some(&sign(SECRET, &push)));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("received before"), "{body}");
    // A repository no source covers: 200, nothing queued.
    let other = String::from_utf8(push.clone()).unwrap().replace(REPO, "someone/else").into_bytes();
    let (status, body) = hook(&other, "push", "delivery-2", Some(&sign(SECRET, &other)));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("no configured source covers someone/else"), "{body}");
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(requests(&rt, &forge), after_first, "a repeated or uncovered delivery made the source run");

    // A deployment_status delivery (a new id): an incremental run, one GraphQL query.
    let status_delivery = delivery("deployment_status__payload");
    let (status, _) =
        hook(&status_delivery, "deployment_status", "delivery-3", Some(&sign(SECRET, &status_delivery)));
    assert_eq!(status, 202);
    eventually("the incremental collection", || requests(&rt, &forge) == after_first + 1);
    let log = serve.stop();
    assert!(log.contains("collected") && log.contains("source=gh"), "{log}");
    assert!(!log.contains("ghp_test") && !log.contains(SECRET), "{log}");

    // `dora collect` on a fresh store from the same forge stores the same events.
    let out = dora(dir.path())
        .args(["collect", "--store", "collect.db"])
        .env("DORA_TEST_GH_TOKEN", "ghp_test_token_value")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let served = exported(dir.path(), "serve.db");
    assert_eq!(served.lines().count(), 3, "a deployment, its change and an incident: {served}");
    assert!(served.contains("caused_by_change"), "the incident's link: {served}");
    assert_eq!(served, exported(dir.path(), "collect.db"));
}

/// A GitLab delivery (after GitLab's documented payloads) about `project`.
#[cfg(feature = "gitlab")]
fn gitlab_delivery(kind: &str, project: &str) -> Vec<u8> {
    serde_json::json!({
        "object_kind": kind,
        "status": "success",
        "deployment_id": 7,
        "environment": "production",
        "project": {"id": 1, "name": "api", "path_with_namespace": project, "web_url": "https://gitlab.example.com/x"},
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "commit_url": "https://gitlab.example.com/x/-/commit/1111111111111111111111111111111111111111",
    })
    .to_string()
    .into_bytes()
}

#[cfg(feature = "gitlab")]
#[test]
fn gitlab_webhooks_collect_what_dora_collect_stores() {
    const TOKEN: &str = "gitlab-hook-token-for-tests";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let forge = crate::gitlab::fake_gitlab_project(&rt, "acme/shop/api");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dora.toml",
        &format!(
            "[[source]]\nkind = \"gitlab\"\nname = \"gl\"\ngroup = \"acme\"\ninclude = [\"shop/*\"]\napi_url = \"{}\"\nallow_http = true\ntoken_env = \"DORA_TEST_GL_TOKEN\"\n",
            forge.uri()
        ),
    );
    // The group's project list (keyset paged), then the project's objects.
    {
        use serde_json::json;
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, ResponseTemplate};
        rt.block_on(
            Mock::given(method("GET"))
                .and(path("/api/v4/groups/acme/projects"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                    {"id": 1, "path_with_namespace": "acme/shop/api", "archived": false},
                    {"id": 2, "path_with_namespace": "acme/old/thing", "archived": false}
                ])))
                .mount(&forge),
        );
    }
    let store = dir.path().join("serve.db");
    let mut serve = Serve::start(
        dir.path(),
        &["--gitlab-webhook-token-env", "DORA_TEST_GL_HOOK_TOKEN"],
        &[("DORA_TEST_GL_TOKEN", "glpat-test-token-value"), ("DORA_TEST_GL_HOOK_TOKEN", TOKEN)],
    );
    let deployment = gitlab_delivery("deployment", "acme/shop/api");
    let hook = |body: &[u8], id: &str, token: Option<&str>| {
        let mut headers = vec![("X-Gitlab-Event", "Deployment Hook"), ("X-Gitlab-Event-UUID", id)];
        if let Some(t) = token {
            headers.push(("X-Gitlab-Token", t));
        }
        serve.post("/webhooks/gitlab", &headers, body)
    };
    let (status, body) = hook(&deployment, "bad-1", Some("wrong-token"));
    assert_eq!(status, 401, "{body}");
    let (status, _) = hook(&deployment, "bad-2", None);
    assert_eq!(status, 401);
    let (status, _) = hook(b"[1,", "bad-3", Some(TOKEN));
    assert_eq!(status, 400);
    // GitHub's endpoint has no secret here: 404, saying so.
    let (status, body) = serve.post("/webhooks/github", &[("X-GitHub-Event", "push")], b"{}");
    assert_eq!(status, 404);
    assert!(body.contains("github_webhook_secret_env"), "{body}");
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(requests(&rt, &forge), 0);

    // A project of the group the include filter leaves out: nothing queued.
    let left_out = gitlab_delivery("deployment", "acme/old/thing");
    let (status, body) = hook(&left_out, "d-0", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("no configured source covers acme/old/thing"), "{body}");
    let (status, body) = hook(&deployment, "d-1", Some(TOKEN));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, r#"{"queued":["gl"]}"#);
    eventually("the first collection", || collected(&store, "gl"));
    let after_first = requests(&rt, &forge);
    let (status, body) = hook(&deployment, "d-1", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("received before"), "{body}");
    // An issue delivery (a new id) runs the source again, incrementally.
    let issue = gitlab_delivery("issue", "acme/shop/api");
    let (status, _) = serve.post(
        "/webhooks/gitlab",
        &[("X-Gitlab-Event", "Issue Hook"), ("Idempotency-Key", "i-1"), ("X-Gitlab-Token", TOKEN)],
        &issue,
    );
    assert_eq!(status, 202);
    eventually("the incremental collection", || requests(&rt, &forge) > after_first);
    let log = serve.stop();
    assert!(!log.contains("glpat-test") && !log.contains(TOKEN), "{log}");

    let out = dora(dir.path())
        .args(["collect", "--store", "collect.db"])
        .env("DORA_TEST_GL_TOKEN", "glpat-test-token-value")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let served = exported(dir.path(), "serve.db");
    assert_eq!(served.lines().count(), 2, "a deployment and its change: {served}");
    assert_eq!(served, exported(dir.path(), "collect.db"));
}

/// `collect_every`: every source runs on the schedule (a file source here,
/// so that this needs only the `serve` feature); the webhook endpoints
/// without a secret answer 404; SIGTERM still exits 0.
#[test]
fn collect_every_runs_the_sources_on_a_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let events = |ids: &[&str]| -> String {
        ids.iter()
            .map(|id| {
                format!(
                    "{{\"kind\":\"deployment\",\"id\":\"{id}\",\"service\":\"api\",\"environment\":\"production\",\"finished_at\":\"2026-03-02T12:00:00Z\",\"status\":\"success\"}}\n"
                )
            })
            .collect()
    };
    write(dir.path(), "events.jsonl", &events(&["d1"]));
    write(
        dir.path(),
        "dora.toml",
        "[serve]\ncollect_every = \"1s\"\n\n[[source]]\nkind = \"file\"\nname = \"files\"\npaths = [\"events.jsonl\"]\n",
    );
    let store: PathBuf = dir.path().join("serve.db");
    let mut serve = Serve::start(dir.path(), &[], &[]);
    let count = || Store::open_read_only(&store).ok().and_then(|s| s.len().ok()).unwrap_or(0);
    eventually("the first scheduled run", || count() == 1);
    // A change of the file is picked up by a later run.
    std::thread::sleep(Duration::from_millis(1100));
    write(dir.path(), "events.jsonl", &events(&["d1", "d2"]));
    eventually("a later scheduled run", || count() == 2);
    // The runs are in the service's counters.
    let (status, metrics) = serve.get("/metrics");
    assert_eq!(status, 200, "{metrics}");
    let runs = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("dora_serve_collection_runs_total{source=\"files\",result=\"success\"} ")
        })
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no successful runs of files in {metrics}"));
    assert!(runs >= 2, "{metrics}");
    assert!(
        metrics.contains("dora_serve_collection_runs_total{source=\"files\",result=\"failure\"} 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dora_serve_last_successful_collection_timestamp_seconds{source=\"files\"} "),
        "{metrics}"
    );
    for forge in ["github", "gitlab"] {
        let (status, body) = serve.post(&format!("/webhooks/{forge}"), &[], b"{}");
        assert_eq!(status, 404, "{body}");
    }
    let log = serve.stop();
    assert!(log.contains("source=files"), "{log}");
}
