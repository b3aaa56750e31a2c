//! The stores: optimistic concurrency, both implementations, SQLite schema
//! migrations.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::{Arc, Barrier};

use tresor_credentials::{
    ClientId, CredentialStore, Error, MemoryStore, SqliteStore, client::ClientRecord,
    client::ClientStatus, client::KeyState, client::RegisteredKey, client::RevokedKid,
    store::SCHEMA_VERSION,
};

fn record(id: &str) -> ClientRecord {
    let mut record = ClientRecord::new(ClientId::parse(id).unwrap(), "n", &["a"], 1).unwrap();
    assert_eq!(record.status, ClientStatus::Active);
    // Key ids are unique across clients (the stores' key index).
    let mut key = RegisteredKey::new(
        format!("kid-of-{id}"),
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        "EdDSA",
        1,
    );
    key.state = KeyState::VerifyOnly;
    key.not_before = Some(5);
    record.public_keys.push(key);
    record
        .revoked_kids
        .push(RevokedKid::new(format!("revoked-of-{id}"), 1));
    record
}

fn exercise(store: &dyn CredentialStore) {
    let a = record("AAAAAAAAAAAAAAAAAAAAAA");
    store.insert(&a).unwrap();
    assert!(matches!(store.insert(&a), Err(Error::AlreadyExists { .. })));
    let got = store.get(&a.id).unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.record, a);
    assert!(
        store
            .get(&ClientId::parse("ZZZZZZZZZZZZZZZZZZZZZZ").unwrap())
            .unwrap()
            .is_none()
    );

    let mut changed = a.clone();
    changed.status = ClientStatus::Suspended;
    changed.public_keys[0].state = KeyState::Revoked;
    assert_eq!(store.update(&changed, 1).unwrap(), 2);
    assert!(matches!(
        store.update(&changed, 1),
        Err(Error::Conflict { expected: 1, .. })
    ));
    let got = store.get(&a.id).unwrap().unwrap();
    assert_eq!((got.version, got.record), (2, changed));

    let missing = record("MMMMMMMMMMMMMMMMMMMMMM");
    assert!(matches!(
        store.update(&missing, 1),
        Err(Error::UnknownClient { .. })
    ));

    store.insert(&record("0AAAAAAAAAAAAAAAAAAAAA")).unwrap();
    let ids: Vec<String> = store
        .list()
        .unwrap()
        .iter()
        .map(|s| s.record.id.to_string())
        .collect();
    assert_eq!(ids, ["0AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA"]);
}

fn concurrent_update(store: Arc<dyn CredentialStore>) {
    let r = record("CCCCCCCCCCCCCCCCCCCCCC");
    store.insert(&r).unwrap();
    for round in 0..20u64 {
        let version = store.get(&r.id).unwrap().unwrap().version;
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let store = store.clone();
                let barrier = barrier.clone();
                let mut mine = r.clone();
                mine.name = format!("thread {t} round {round}");
                std::thread::spawn(move || {
                    barrier.wait();
                    store.update(&mine, version)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Conflict { .. })))
            .count();
        assert_eq!((ok, conflicts), (1, 1), "round {round}: {results:?}");
        assert_eq!(store.get(&r.id).unwrap().unwrap().version, version + 1);
    }
}

#[test]
fn memory_store() {
    exercise(&MemoryStore::new());
    concurrent_update(Arc::new(MemoryStore::new()));
}

#[test]
fn sqlite_store() {
    exercise(&SqliteStore::open_in_memory().unwrap());
    let dir = tempfile::tempdir().unwrap();
    concurrent_update(Arc::new(
        SqliteStore::open(dir.path().join("c.db")).unwrap(),
    ));
}

#[test]
fn two_connections_to_one_file_conflict_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let one = SqliteStore::open(&path).unwrap();
    let two = SqliteStore::open(&path).unwrap();
    let r = record("CCCCCCCCCCCCCCCCCCCCCC");
    one.insert(&r).unwrap();
    two.update(&r, 1).unwrap();
    assert!(matches!(one.update(&r, 1), Err(Error::Conflict { .. })));
}

#[test]
fn migration_from_an_empty_database_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        store.insert(&record("AAAAAAAAAAAAAAAAAAAAAA")).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(tables, ["client_keys", "clients"]);
    drop(conn);
    // Reopening applies nothing and keeps the data.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn a_future_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x INTEGER);")
            .unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    match SqliteStore::open(&path) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
    let clients: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'clients'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(clients, 0);
}

#[test]
fn a_corrupt_record_is_reported() {
    let store = SqliteStore::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    store.insert(&record("AAAAAAAAAAAAAAAAAAAAAA")).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE clients SET record = '{\"id\":\"x\"}'", [])
        .unwrap();
    assert!(matches!(
        store.get(&ClientId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap()),
        Err(Error::Corrupt { .. })
    ));
}
