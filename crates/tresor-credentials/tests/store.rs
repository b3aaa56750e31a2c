//! The stores: the conformance suite (`store::conformance`) against both
//! implementations, SQLite schema migrations.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use tresor_credentials::{
    ClientId, CredentialStore, Error, MemoryStore, SqliteStore,
    store::{SCHEMA_VERSION, conformance, conformance::record},
};

#[test]
fn memory_store() {
    conformance::run_all(MemoryStore::new);
}

#[test]
fn sqlite_store_in_memory() {
    conformance::run_all(|| SqliteStore::open_in_memory().unwrap());
}

#[test]
fn sqlite_store_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    conformance::run_all(|| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SqliteStore::open(dir.path().join(format!("c{i}.db"))).unwrap()
    });
    // Two threads on one file, as the old test did.
    conformance::concurrent_updates(
        Arc::new(SqliteStore::open(dir.path().join("two.db")).unwrap()),
        2,
        20,
    );
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
