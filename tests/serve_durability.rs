//! The real `dora serve` under load: every event it acknowledged survives a
//! `kill -9` mid-stream (the answer comes only after the commit), the store
//! passes SQLite's integrity check afterwards and serves again; and events
//! posted while `dora import` writes the same store are all stored, with no
//! error on either side.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{ServeProcess, dora, http_exchange};

/// `dora serve` on the store `store` of `dir`.
fn serve(dir: &Path, store: &str) -> ServeProcess {
    ServeProcess::start(dir, &["--store", store], &[])
}

/// One HTTP/1.1 request on its own connection: the status and the answer,
/// or `None` when the connection failed (the server is gone).
fn request(addr: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = String::from_utf8(http_exchange(addr, request.as_bytes(), Duration::from_secs(60))?).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    Some((status, answer))
}

fn event(id: &str, n: usize) -> String {
    format!(
        r#"{{"kind":"deployment","id":"{id}","service":"svc-{}","environment":"production","finished_at":"2026-03-{:02}T12:{:02}:{:02}Z","status":"success"}}"#,
        n % 7,
        1 + n % 28,
        n % 60,
        (n / 60) % 60
    )
}

/// Posters: `threads` threads posting batches of `batch` events with ids
/// unique to the thread, until `stop` or until the server is gone. Returns
/// every acknowledged id (200) and every other status seen.
fn post_until(
    addr: &str,
    threads: usize,
    batch: usize,
    stop: &Arc<AtomicBool>,
    acked: &Arc<Mutex<BTreeSet<String>>>,
    count: &Arc<AtomicUsize>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..threads)
        .map(|t| {
            let (addr, stop, acked, count) =
                (addr.to_string(), Arc::clone(stop), Arc::clone(acked), Arc::clone(count));
            std::thread::spawn(move || {
                let mut errors = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let ids: Vec<String> = (0..batch).map(|k| format!("t{t}-{}", n + k)).collect();
                    let body: String =
                        ids.iter().enumerate().map(|(k, id)| event(id, n + k) + "\n").collect();
                    n += batch;
                    match request(&addr, "POST", "/events", &body) {
                        Some((200, _)) => {
                            acked.lock().unwrap().extend(ids);
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Some((_, answer)) => errors.push(answer),
                        None => break,
                    }
                }
                errors
            })
        })
        .collect()
}

/// The ids in the store (`dora export events`), after SQLite's integrity check.
fn stored_ids(dir: &Path, store: &str) -> BTreeSet<String> {
    let conn =
        rusqlite::Connection::open_with_flags(dir.join(store), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let check: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(check, ["ok"], "integrity check");
    drop(conn);
    let out = dora(dir).args(["export", "events", "--store", store, "--format", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn serve_durability_every_acknowledged_event_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path(), "s.db");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let posters = post_until(&server.addr, 4, 3, &stop, &acked, &count);
    // Mid-stream: after a good number of answers, with requests in flight.
    let start = Instant::now();
    while count.load(Ordering::SeqCst) < 150 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill_9();
    let killed_after = count.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for p in posters {
        let errors = p.join().unwrap();
        assert!(errors.is_empty(), "only 200 before the kill: {errors:?}");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(killed_after >= 150 && acked.len() >= 450, "{killed_after} answers, {} events", acked.len());

    // Restarted on the same store: it serves, and writes.
    let mut server = serve(dir.path(), "s.db");
    let (status, answer) = request(&server.addr, "GET", "/readyz", "").unwrap();
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = request(&server.addr, "POST", "/events", &event("after-restart", 1)).unwrap();
    assert_eq!(status, 200, "{answer}");
    server.stop();

    let stored = stored_ids(dir.path(), "s.db");
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(stored.contains("after-restart"));
    eprintln!(
        "kill -9 after {killed_after} answers: {} acknowledged events, {} stored (some written, not yet answered)",
        acked.len(),
        stored.len() - 1
    );
}

#[test]
fn serve_durability_ingest_while_dora_import_writes_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    // Files for `dora import`: ids of their own.
    let files: Vec<String> = (0..4)
        .map(|f| {
            let text: String = (0..10_000).map(|n| event(&format!("import{f}-{n}"), n) + "\n").collect();
            let name = format!("import{f}.jsonl");
            std::fs::write(dir.path().join(&name), text).unwrap();
            name
        })
        .collect();
    let mut server = serve(dir.path(), "s.db");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let posters = post_until(&server.addr, 3, 5, &stop, &acked, &count);
    // The posters are under way before the first import.
    let start = Instant::now();
    while count.load(Ordering::SeqCst) < 20 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut during_imports = 0;
    for file in &files {
        let before = count.load(Ordering::SeqCst);
        let out = dora(dir.path()).args(["import", file, "--store", "s.db"]).output().unwrap();
        assert!(out.status.success(), "dora import {file}: {}", String::from_utf8_lossy(&out.stderr));
        during_imports += count.load(Ordering::SeqCst) - before;
    }
    assert!(during_imports > 0, "requests were answered while dora import wrote the store");
    stop.store(true, Ordering::SeqCst);
    for p in posters {
        let errors = p.join().unwrap();
        assert!(errors.is_empty(), "every request answered 200: {errors:?}");
    }
    let log = server.stop();
    assert!(!log.contains("storing events failed"), "{log}");

    let stored = stored_ids(dir.path(), "s.db");
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "{} posted events lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    for f in 0..4 {
        for n in [0, 5000, 9999] {
            assert!(stored.contains(&format!("import{f}-{n}")), "import{f}-{n}");
        }
    }
    assert_eq!(stored.len(), acked.len() + 4 * 10_000);
    eprintln!(
        "{} events posted and acknowledged, {during_imports} requests answered during the imports",
        acked.len()
    );
}
