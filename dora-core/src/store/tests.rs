use super::*;
use crate::event::{Change, Incident};
use crate::test_events;

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn change(id: &str, committed: &str) -> Event {
    Change { team: Some("core".into()), ..test_events::change(id, at(committed)) }.into()
}

fn deployment(id: &str, finished: &str, changes: &[&str]) -> Event {
    test_events::deployment(id, at(finished), changes).into()
}

fn load(store: &Store) -> EventSet {
    let mut set = EventSet::new();
    store.load(&mut set, &ReadOptions::default()).unwrap();
    set
}

fn ids(set: &EventSet) -> Vec<String> {
    set.iter().map(|e| e.id().to_string()).collect()
}

#[test]
fn writes_and_reads_back_with_the_replacement_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dora.db");
    let mut store = Store::open(&path).unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.put(&change("c1", "2026-03-02T09:00:00Z")).unwrap(), PutOutcome::Added);
    assert_eq!(w.put(&change("c2", "2026-03-02T10:00:00Z")).unwrap(), PutOutcome::Added);
    assert_eq!(w.put(&deployment("d1", "2026-03-02T12:00:00Z", &["c1", "c2"])).unwrap(), PutOutcome::Added);
    assert_eq!(w.commit().unwrap(), WriteSummary { added: 3, replaced: 0, unchanged: 0 });

    // A second run: one unchanged, one new version (which moves last), one new event.
    let mut w = store.writer().unwrap();
    assert_eq!(w.put(&change("c2", "2026-03-02T10:00:00Z")).unwrap(), PutOutcome::Unchanged);
    assert_eq!(w.put(&change("c1", "2026-03-02T08:00:00Z")).unwrap(), PutOutcome::Replaced);
    assert_eq!(
        w.put(
            &Incident {
                id: "c1".into(), // same id, other kind: a different event
                service: "api".into(),
                team: None,
                source: None,
                opened_at: at("2026-03-02T13:00:00Z"),
                resolved_at: None,
                caused_by: None,
                caused_by_change: None,
                severity: None,
            }
            .into()
        )
        .unwrap(),
        PutOutcome::Added
    );
    assert_eq!(w.commit().unwrap(), WriteSummary { added: 1, replaced: 1, unchanged: 1 });
    drop(store);

    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.len().unwrap(), 4);
    assert_eq!(store.count(EventKind::Change).unwrap(), 2);
    let set = load(&store);
    assert_eq!(ids(&set), ["c2", "d1", "c1", "c1"]);
    assert_eq!(set.change("c1").unwrap().committed_at, at("2026-03-02T08:00:00Z"));
}

#[test]
fn an_uncommitted_writer_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    let mut store = Store::open(&path).unwrap();
    let mut w = store.writer().unwrap();
    w.put(&change("c1", "2026-03-02T09:00:00Z")).unwrap();
    w.set_sync_state("s", &SyncState(serde_json::json!({"cursor": 1})), "2026-03-02T00:00:00Z").unwrap();
    w.commit().unwrap();
    let mut w = store.writer().unwrap();
    w.put(&change("c2", "2026-03-02T09:00:00Z")).unwrap();
    w.put(&change("c1", "2026-03-01T09:00:00Z")).unwrap();
    w.set_sync_state("s", &SyncState(serde_json::json!({"cursor": 2})), "2026-03-03T00:00:00Z").unwrap();
    drop(w); // a failed run
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.sync_state("s").unwrap(), Some(SyncState(serde_json::json!({"cursor": 1}))));
    assert_eq!(load(&store).change("c1").unwrap().committed_at, at("2026-03-02T09:00:00Z"));
    assert_eq!(store.sync_state("other").unwrap(), None);
    let sources = store.sources().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].updated_at, "2026-03-02T00:00:00Z");
}

/// A store at `path` holding one change: a store of this build with its
/// schema version then set to `version` when that is this one or newer,
/// else a store as the build of `version` made it (one row per event).
fn store_with_one_change(path: &std::path::Path, version: i64) {
    if version >= SCHEMA_VERSION {
        let mut store = Store::open(path).unwrap();
        let mut w = store.writer().unwrap();
        w.put(&change("c1", "2026-03-02T09:00:00Z")).unwrap();
        w.commit().unwrap();
        store.conn.pragma_update(None, "user_version", version).unwrap();
        return;
    }
    old_store(path, version, &[change("c1", "2026-03-02T09:00:00Z")]);
}

/// A store of schema version `version` (1 to 4) as that build made it,
/// holding `events` in this order, one row each.
fn old_store(path: &std::path::Path, version: i64, events: &[Event]) {
    assert!((1..5).contains(&version));
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "page_size", 16384).unwrap();
    for sql in &schema::MIGRATIONS[..version as usize] {
        conn.execute_batch(sql).unwrap();
    }
    for (i, event) in events.iter().enumerate() {
        let mut rec = Vec::new();
        record::encode(event, &mut rec);
        // Sequence numbers with gaps, as replacements left them.
        conn.execute(
            "INSERT INTO events (seq, kind, id, record) VALUES (?1, ?2, ?3, ?4)",
            params![3 * i as i64 + 2, kind_code(event.kind()), event.id(), rec],
        )
        .unwrap();
    }
    conn.pragma_update(None, "application_id", schema::APPLICATION_ID).unwrap();
    conn.pragma_update(None, "user_version", version).unwrap();
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    store_with_one_change(&path, SCHEMA_VERSION + 1);
    let before = std::fs::read(&path).unwrap();
    for result in [Store::open(&path), Store::open_read_only(&path)] {
        let err = result.unwrap_err().to_string();
        let expected = format!(
            "schema version {}, newer than this dora knows (up to {SCHEMA_VERSION})",
            SCHEMA_VERSION + 1
        );
        assert!(err.contains(&expected), "{err}");
        assert!(err.starts_with(&path.display().to_string()), "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_version_1_store_is_read_as_it_is_and_migrated_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    store_with_one_change(&path, 1);
    let version = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.len().unwrap(), 1);
    drop(store);
    assert_eq!(version(&path), 1, "reading does not migrate");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.len().unwrap(), 1);
    drop(store);
    assert_eq!(version(&path), SCHEMA_VERSION);
}

#[test]
fn other_sqlite_files_and_missing_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.ends_with("this SQLite file is not a dora store"), "{err}");
    let missing = dir.path().join("missing.db");
    let err = Store::open_read_only(&missing).unwrap_err().to_string();
    assert!(err.contains("no store here yet"), "{err}");
    assert!(!missing.exists());
    let text = dir.path().join("text.db");
    std::fs::write(&text, "not a database at all, just some text that is long enough to have a header")
        .unwrap();
    assert!(Store::open(&text).is_err());
}

#[test]
fn an_empty_store_says_how_to_fill_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("dora.db")).unwrap();
    let err = store.load(&mut EventSet::new(), &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("holds no events yet"), "{err}");
}

#[test]
fn the_demo_data_round_trips_exactly() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
    let mut original = EventSet::new();
    crate::read::read_jsonl_path(&demo, &mut original, &ReadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let mut w = store.writer().unwrap();
    let summary = w.put_set(&original).unwrap();
    assert_eq!(summary.added as usize, original.len());
    w.commit().unwrap();
    // Writing the same events again changes nothing.
    let mut w = store.writer().unwrap();
    assert_eq!(w.put_set(&original).unwrap().unchanged as usize, original.len());
    w.commit().unwrap();
    let back = load(&store);
    assert_eq!(back.events(), original.events());
    let mut exported = Vec::new();
    store
        .for_each_event(|e| {
            exported.push(e);
            Ok(())
        })
        .unwrap();
    assert_eq!(exported, original.events());
}

#[test]
fn a_bulk_load_into_an_empty_store_keeps_the_identity_index() {
    let mut set = EventSet::new();
    for i in 0..(BULK_MIN + 10) {
        set.push(match change(&format!("c{i}"), "2026-03-02T09:00:00Z") {
            Event::Change(c) => c,
            _ => unreachable!(),
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.put_set(&set).unwrap().added as usize, set.len());
    w.commit().unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.put(&change("c7", "2026-03-02T10:00:00Z")).unwrap(), PutOutcome::Replaced);
    assert_eq!(w.put_set(&set).unwrap().replaced, 1, "c7 goes back to the set's version");
    w.commit().unwrap();
    assert_eq!(store.len().unwrap() as usize, set.len());
    let keys: i64 = store.conn.query_row("SELECT count(*) FROM event_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(keys as usize, set.len());
    let mut expected = ids(&set);
    let c7 = expected.remove(7);
    expected.push(c7);
    assert_eq!(ids(&load(&store)), expected, "the replaced c7 is last, its old slot skipped");
}

fn incident(id: &str, opened: &str, resolved: Option<&str>) -> Event {
    Incident {
        id: id.into(),
        service: "api".into(),
        team: None,
        source: Some("cdevents".into()),
        opened_at: at(opened),
        resolved_at: resolved.map(at),
        caused_by: None,
        caused_by_change: None,
        severity: None,
    }
    .into()
}

fn resolved_at(store: &Store, id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    load(store).incident(id).expect("the incident is stored").resolved_at
}

#[test]
fn a_resolution_of_a_stored_incident_rewrites_it_in_place_of_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let mut w = store.writer().unwrap();
    w.put(&incident("i1", "2026-03-02T13:00:00Z", None)).unwrap();
    w.put(&change("c1", "2026-03-02T09:00:00Z")).unwrap();
    w.commit().unwrap();

    let mut w = store.writer().unwrap();
    assert_eq!(w.resolve("i1", at("2026-03-02T14:00:00Z")).unwrap(), ResolveOutcome::Resolved);
    // The same time again, or a later one: nothing changes (the earliest holds).
    assert_eq!(w.resolve("i1", at("2026-03-02T14:00:00Z")).unwrap(), ResolveOutcome::Unchanged);
    assert_eq!(w.resolve("i1", at("2026-03-02T15:00:00Z")).unwrap(), ResolveOutcome::Unchanged);
    // Resolutions are not events: the summary does not count them.
    assert_eq!(w.commit().unwrap(), WriteSummary::default());
    assert_eq!(resolved_at(&store, "i1"), Some(at("2026-03-02T14:00:00Z")));
    assert_eq!(ids(&load(&store)), ["c1", "i1"], "a rewritten incident moves last");
    assert_eq!(store.resolution("i1").unwrap(), Some(at("2026-03-02T14:00:00Z")));

    // An earlier resolution wins, also over the incident's own time.
    let mut w = store.writer().unwrap();
    assert_eq!(w.resolve("i1", at("2026-03-02T13:30:00Z")).unwrap(), ResolveOutcome::Resolved);
    w.commit().unwrap();
    assert_eq!(resolved_at(&store, "i1"), Some(at("2026-03-02T13:30:00Z")));
    let mut w = store.writer().unwrap();
    w.put(&incident("i2", "2026-03-02T13:00:00Z", Some("2026-03-02T13:10:00Z"))).unwrap();
    assert_eq!(w.resolve("i2", at("2026-03-02T13:20:00Z")).unwrap(), ResolveOutcome::Unchanged);
    w.commit().unwrap();
    assert_eq!(resolved_at(&store, "i2"), Some(at("2026-03-02T13:10:00Z")));
    // A change with the incident's id is another event: not touched.
    assert_eq!(store.resolution("c1").unwrap(), None);
}

#[test]
fn a_resolution_before_its_incident_is_kept_and_applied_to_every_later_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    let mut store = Store::open(&path).unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.resolve("i1", at("2026-03-02T14:00:00Z")).unwrap(), ResolveOutcome::Pending);
    assert_eq!(w.resolve("i2", at("2026-03-02T15:00:00Z")).unwrap(), ResolveOutcome::Pending);
    w.commit().unwrap();
    assert!(store.is_empty().unwrap());
    drop(store);

    // Reopened (the resolution is durable), then the incidents arrive:
    // one through `put`, one through `put_set`.
    let mut store = Store::open(&path).unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.put(&incident("i1", "2026-03-02T13:00:00Z", None)).unwrap(), PutOutcome::Added);
    let mut set = EventSet::new();
    set.push(match incident("i2", "2026-03-02T13:00:00Z", None) {
        Event::Incident(i) => i,
        _ => unreachable!(),
    });
    set.push(match change("c1", "2026-03-02T09:00:00Z") {
        Event::Change(c) => c,
        _ => unreachable!(),
    });
    assert_eq!(w.put_set(&set).unwrap().added, 2);
    w.commit().unwrap();
    assert_eq!(resolved_at(&store, "i1"), Some(at("2026-03-02T14:00:00Z")));
    assert_eq!(resolved_at(&store, "i2"), Some(at("2026-03-02T15:00:00Z")));

    // The open version sent again (a retried detection) stays resolved,
    // and is unchanged; a resolved version keeps the earlier time.
    let mut w = store.writer().unwrap();
    assert_eq!(w.put(&incident("i1", "2026-03-02T13:00:00Z", None)).unwrap(), PutOutcome::Unchanged);
    assert_eq!(w.put_set(&set).unwrap().unchanged, 2);
    assert_eq!(
        w.put(&incident("i2", "2026-03-02T13:00:00Z", Some("2026-03-02T14:30:00Z"))).unwrap(),
        PutOutcome::Replaced
    );
    w.commit().unwrap();
    assert_eq!(resolved_at(&store, "i1"), Some(at("2026-03-02T14:00:00Z")));
    assert_eq!(resolved_at(&store, "i2"), Some(at("2026-03-02T14:30:00Z")));
}

#[test]
fn a_bulk_load_applies_kept_resolutions() {
    let mut set = EventSet::new();
    for i in 0..(BULK_MIN + 10) {
        set.push(match incident(&format!("i{i}"), "2026-03-02T09:00:00Z", None) {
            Event::Incident(i) => i,
            _ => unreachable!(),
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.resolve("i7", at("2026-03-02T10:00:00Z")).unwrap(), ResolveOutcome::Pending);
    w.commit().unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.put_set(&set).unwrap().added as usize, set.len());
    w.commit().unwrap();
    let back = load(&store);
    assert_eq!(back.incident("i7").unwrap().resolved_at, Some(at("2026-03-02T10:00:00Z")));
    assert_eq!(back.incident("i8").unwrap().resolved_at, None);
}

#[test]
fn an_uncommitted_resolution_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let mut w = store.writer().unwrap();
    w.put(&incident("i1", "2026-03-02T13:00:00Z", None)).unwrap();
    w.commit().unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.resolve("i1", at("2026-03-02T14:00:00Z")).unwrap(), ResolveOutcome::Resolved);
    assert_eq!(w.resolve("i9", at("2026-03-02T14:00:00Z")).unwrap(), ResolveOutcome::Pending);
    drop(w);
    assert_eq!(resolved_at(&store, "i1"), None);
    assert_eq!(store.resolution("i1").unwrap(), None);
    assert_eq!(store.resolution("i9").unwrap(), None);
}

#[test]
fn a_version_2_store_is_migrated_to_keep_resolutions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    store_with_one_change(&path, 2);
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.len().unwrap(), 1, "read as it is");
    assert_eq!(store.resolution("i1").unwrap(), None);
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let mut w = store.writer().unwrap();
    assert_eq!(w.resolve("i1", at("2026-03-02T14:00:00Z")).unwrap(), ResolveOutcome::Pending);
    w.commit().unwrap();
    assert_eq!(store.resolution("i1").unwrap(), Some(at("2026-03-02T14:00:00Z")));
}

#[test]
fn data_version_changes_with_another_connections_commit_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    let mut writer = Store::open(&path).unwrap();
    let reader = Store::open_read_only(&path).unwrap();
    let before = reader.data_version().unwrap();
    assert_eq!(reader.data_version().unwrap(), before, "nothing committed: the same");
    let mut w = writer.writer().unwrap();
    w.put(&change("c1", "2026-03-02T10:00:00Z")).unwrap();
    w.commit().unwrap();
    let after = reader.data_version().unwrap();
    assert_ne!(after, before, "another connection committed");
    assert_eq!(reader.data_version().unwrap(), after);
    // A write transaction rolled back changes nothing.
    drop(writer.writer().unwrap());
    assert_eq!(reader.data_version().unwrap(), after);
}

#[test]
fn a_passive_checkpoint_neither_waits_for_readers_nor_loses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    let mut writer = Store::open(&path).unwrap();
    writer.set_auto_checkpoint(0).unwrap();
    let checkpointer = Store::open(&path).unwrap();
    let reader = Store::open_read_only(&path).unwrap();
    for (i, at) in ["2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"].iter().enumerate() {
        let mut w = writer.writer().unwrap();
        w.put(&change(&format!("c{i}"), at)).unwrap();
        w.commit().unwrap();
        // A reader in the middle of a read does not stop it.
        reader.for_each_event(|_| checkpointer.checkpoint()).unwrap();
    }
    drop((writer, checkpointer, reader));
    assert_eq!(ids(&load(&Store::open_read_only(&path).unwrap())), ["c0", "c1"]);
}

fn cost_row(start: &str, end: &str, amount: f64, name: &str) -> crate::cost::CostRow {
    crate::cost::CostRow {
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
        amount,
        currency: "USD".into(),
        tags: serde_json::json!({"application": name}).as_object().cloned(),
        resource_id: None,
        resource_name: Some(name.into()),
        service_name: None,
        sub_account_name: None,
    }
}

fn window(store: &Store, since: &str, until: &str) -> Vec<crate::cost::CostRow> {
    store.cost_rows(since.parse().unwrap(), until.parse().unwrap()).unwrap()
}

#[test]
fn cost_rows_are_replaced_per_origin_and_read_by_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let now = "2026-03-02T00:00:00Z";
    let a = cost_row("2024-09-01T00:00:00Z", "2024-09-02T00:00:00Z", 1.5, "a");
    let b = cost_row("2024-09-03T00:00:00Z", "2024-09-03T00:00:00Z", -0.25, "b");
    let mut w = store.writer().unwrap();
    let mut rows = w.replace_cost_rows(CostOrigin::File("/x/a.csv"), None, now).unwrap();
    rows.push(&a).unwrap();
    rows.push(&b).unwrap();
    assert_eq!(rows.finish(), CostWriteSummary { stored: 2, replaced: 0 });
    let mut rows = w.replace_cost_rows(CostOrigin::Source("kube"), None, now).unwrap();
    rows.push(&cost_row("2024-09-05T00:00:00Z", "2024-09-06T00:00:00Z", 7.0, "k")).unwrap();
    rows.finish();
    w.commit().unwrap();
    assert_eq!(window(&store, "2024-09-01T00:00:00Z", "2024-10-01T00:00:00Z").len(), 3);
    // Overlap, not containment; an instant row counts where it stands.
    assert_eq!(window(&store, "2024-09-01T23:00:00Z", "2024-09-02T00:00:00Z"), vec![a.clone()]);
    assert!(window(&store, "2024-09-02T00:00:00Z", "2024-09-03T00:00:00Z").is_empty());
    assert_eq!(window(&store, "2024-09-03T00:00:00Z", "2024-09-04T00:00:00Z"), vec![b.clone()]);
    assert!(window(&store, "2024-09-02T00:00:00Z", "2024-09-03T00:00:00Z").is_empty());
    // A failed re-import leaves the origin's rows as they were.
    {
        let mut w = store.writer().unwrap();
        let mut rows = w.replace_cost_rows(CostOrigin::File("/x/a.csv"), None, now).unwrap();
        rows.push(&a).unwrap();
        // dropped without commit
    }
    assert_eq!(window(&store, "2024-09-01T00:00:00Z", "2024-10-01T00:00:00Z").len(), 3);
    // A re-import replaces the file's rows only.
    let mut w = store.writer().unwrap();
    let mut rows = w.replace_cost_rows(CostOrigin::File("/x/a.csv"), None, now).unwrap();
    rows.push(&b).unwrap();
    assert_eq!(rows.finish(), CostWriteSummary { stored: 1, replaced: 2 });
    // A source replaces from a time on.
    let mut rows = w
        .replace_cost_rows(CostOrigin::Source("kube"), Some("2024-09-05T00:00:00Z".parse().unwrap()), now)
        .unwrap();
    rows.push(&cost_row("2024-09-05T00:00:00Z", "2024-09-06T00:00:00Z", 8.0, "k")).unwrap();
    assert_eq!(rows.finish(), CostWriteSummary { stored: 1, replaced: 1 });
    w.commit().unwrap();
    let all = window(&store, "2024-09-01T00:00:00Z", "2024-10-01T00:00:00Z");
    assert_eq!(all.iter().map(|r| r.amount).collect::<Vec<_>>(), vec![-0.25, 8.0]);
    let origins = store.cost_origins().unwrap();
    assert_eq!(
        origins.iter().map(|o| (o.kind.as_str(), o.name.as_str(), o.rows)).collect::<Vec<_>>(),
        vec![("file", "/x/a.csv", 1), ("source", "kube", 1)]
    );
}

#[test]
fn a_version_3_store_reads_events_and_no_cost_rows_then_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    store_with_one_change(&path, 3);
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.len().unwrap(), 1);
    assert!(window(&store, "2024-09-01T00:00:00Z", "2024-10-01T00:00:00Z").is_empty());
    assert!(store.cost_origins().unwrap().is_empty());
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let mut w = store.writer().unwrap();
    let mut rows = w.replace_cost_rows(CostOrigin::File("a.csv"), None, "2026-03-02T00:00:00Z").unwrap();
    rows.push(&cost_row("2024-09-01T00:00:00Z", "2024-09-02T00:00:00Z", 1.0, "a")).unwrap();
    rows.finish();
    w.commit().unwrap();
    assert_eq!(window(&store, "2024-09-01T00:00:00Z", "2024-10-01T00:00:00Z").len(), 1);
    assert_eq!(store.len().unwrap(), 1);
}

#[test]
fn a_version_4_store_is_read_row_by_row_and_migrated_into_blocks_in_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    let events: Vec<Event> = (0..600)
        .map(|i| match i % 3 {
            0 => change(&format!("c{i}"), "2026-03-02T09:00:00Z"),
            1 => deployment(&format!("d{i}"), "2026-03-02T10:00:00Z", &[]),
            _ => incident(&format!("i{i}"), "2026-03-02T11:00:00Z", None),
        })
        .collect();
    old_store(&path, 4, &events);
    let expected: Vec<String> = events.iter().map(|e| e.id().to_string()).collect();
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!((store.len().unwrap(), store.count(EventKind::Change).unwrap()), (600, 200));
    assert_eq!(ids(&load(&store)), expected, "read as it is");
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.layout, Layout::Blocks);
    assert_eq!((store.len().unwrap(), store.count(EventKind::Incident).unwrap()), (600, 200));
    assert_eq!(ids(&load(&store)), expected);
    let old: bool = store
        .conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'events')", [], |r| r.get(0))
        .unwrap();
    assert!(!old, "the old table is dropped");
    let free: i64 = store.conn.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap();
    assert_eq!(free, 0, "its pages are given back");
    // Every identity is found again: the same events change nothing.
    let mut w = store.writer().unwrap();
    for e in &events {
        assert_eq!(w.put(e).unwrap(), PutOutcome::Unchanged, "{}", e.id());
    }
    assert_eq!(w.put(&change("c3", "2026-03-03T09:00:00Z")).unwrap(), PutOutcome::Replaced);
    w.commit().unwrap();
    let mut expected = expected;
    expected.retain(|id| id != "c3");
    expected.push("c3".into());
    assert_eq!(ids(&load(&store)), expected);
}

#[test]
fn small_writes_fill_blocks_instead_of_one_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
    let mut expected = Vec::new();
    for i in 0..300 {
        let mut w = store.writer().unwrap();
        w.put(&change(&format!("c{i}"), "2026-03-02T09:00:00Z")).unwrap();
        w.commit().unwrap();
        expected.push(format!("c{i}"));
    }
    let blocks: i64 = store.conn.query_row("SELECT count(*) FROM event_blocks", [], |r| r.get(0)).unwrap();
    assert!(blocks <= 6, "{blocks} blocks for 300 single-event writes");
    // A replacement inside a stored block, and one inside the open tail.
    let mut w = store.writer().unwrap();
    assert_eq!(w.put(&change("c5", "2026-03-03T09:00:00Z")).unwrap(), PutOutcome::Replaced);
    assert_eq!(w.put(&change("c299", "2026-03-03T09:00:00Z")).unwrap(), PutOutcome::Replaced);
    assert_eq!(w.put(&change("c5", "2026-03-04T09:00:00Z")).unwrap(), PutOutcome::Replaced);
    w.commit().unwrap();
    expected.retain(|id| id != "c5" && id != "c299");
    expected.extend(["c299".to_string(), "c5".to_string()]);
    assert_eq!(ids(&load(&store)), expected);
    assert_eq!(store.len().unwrap(), 300);
    assert_eq!(load(&store).change("c5").unwrap().committed_at, at("2026-03-04T09:00:00Z"));
}

/// Every identity on one of three keys: the probing path for each write.
fn colliding(_: EventKind, id: &str) -> i64 {
    id.len() as i64 % 3 - 1
}

/// One step of a write sequence for the oracle test: the event `n` of a
/// small pool (its kind and id), in version `v`, or a commit.
#[derive(Debug, Clone)]
enum Step {
    Put(u8, u8),
    Commit,
}

fn step_event(n: u8, v: u8) -> Event {
    let time = format!("2026-03-{:02}T09:00:00Z", 1 + v % 3);
    match n % 3 {
        0 => change(&format!("e{n}"), &time),
        1 => deployment(&format!("e{n}"), &time, &[]),
        _ => incident(&format!("e{}", "x".repeat(n as usize)), &time, None),
    }
}

mod replacement_oracle {
    use proptest::prelude::*;

    use super::*;

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            prop_oneof![
                8 => (0u8..40, 0u8..3).prop_map(|(n, v)| Step::Put(n, v)),
                1 => Just(Step::Commit),
            ],
            1..400,
        )
    }

    /// The plain model of the replacement rule: a list where a new version
    /// of an event leaves its place and goes last, and an equal one changes
    /// nothing.
    fn model(steps: &[Step]) -> (Vec<Event>, WriteSummary) {
        let mut events: Vec<Event> = Vec::new();
        let mut summary = WriteSummary::default();
        for step in steps {
            let Step::Put(n, v) = *step else { continue };
            let e = step_event(n, v);
            match events.iter().position(|m| m.kind() == e.kind() && m.id() == e.id()) {
                Some(i) if events[i] == e => summary.unchanged += 1,
                Some(i) => {
                    events.remove(i);
                    events.push(e);
                    summary.replaced += 1;
                }
                None => {
                    events.push(e);
                    summary.added += 1;
                }
            }
        }
        (events, summary)
    }

    fn store_run(key_of: events::KeyFn, steps: &[Step]) -> (Vec<Event>, WriteSummary) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("dora.db")).unwrap();
        store.key_of = key_of;
        let mut summary = WriteSummary::default();
        let mut w = store.writer().unwrap();
        for step in steps {
            match *step {
                Step::Put(n, v) => {
                    w.put(&step_event(n, v)).unwrap();
                }
                Step::Commit => {
                    summary.merge(w.commit().unwrap());
                    w = store.writer().unwrap();
                }
            }
        }
        summary.merge(w.commit().unwrap());
        let events = if store.is_empty().unwrap() { Vec::new() } else { load(&store).events() };
        (events, summary)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// The store, with real keys and with keys that all collide, does
        /// what the plain list does.
        #[test]
        fn the_store_follows_the_replacement_rule_like_a_plain_list(steps in steps()) {
            let expected = model(&steps);
            prop_assert_eq!(&store_run(layout::identity_key, &steps), &expected);
            prop_assert_eq!(&store_run(colliding, &steps), &expected);
        }
    }
}
