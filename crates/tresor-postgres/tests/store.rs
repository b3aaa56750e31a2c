//! `PostgresStore` against a real PostgreSQL (`TRESOR_POSTGRES_URL`, a
//! loopback server; `.ci/lib/postgres.sh` starts one): the conformance
//! suite of `tresor_credentials::store::conformance`, migrations.
//! Without `TRESOR_POSTGRES_URL` each test prints why it skipped, unless
//! `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use tresor_credentials::{CredentialStore, Error, store::conformance};
use tresor_postgres::{Config, PoolOptions, PostgresStore, SCHEMA_VERSION};

mod support;

use support::{Db, admin};

fn store(config: &Config) -> PostgresStore {
    PostgresStore::from_config(config.clone(), PoolOptions::default()).unwrap()
}

#[test]
fn conformance_suite() {
    let Some(admin) = admin() else { return };
    let dbs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| {
        let db = Db::new(&admin);
        let store = store(&db.config);
        dbs.lock().unwrap().push(db);
        store
    });
}

#[test]
fn eight_threads_race_one_update() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    conformance::concurrent_updates(std::sync::Arc::new(store(&db.config)), 8, 10);
}

#[test]
fn migrations_fresh_idempotent_concurrent_and_newer_refused() {
    let Some(admin) = admin() else { return };
    let fresh = Db::new(&admin);
    let db = fresh.config.clone();
    // Four stores starting at once on an empty database: one migrates.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || store(&db))
        })
        .collect();
    let stores: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for s in &stores {
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    }
    stores[0]
        .insert(&conformance::record("AAAAAAAAAAAAAAAAAAAAAA"))
        .unwrap();
    // Re-running applies nothing and keeps the data.
    let again = store(&db);
    assert_eq!(again.list().unwrap().len(), 1);

    // A newer schema is refused and left as it is.
    let mut client = db.connect(postgres::NoTls).unwrap();
    client
        .execute(
            "UPDATE tresor_schema SET version = $1 WHERE component = 'credentials'",
            &[&(SCHEMA_VERSION + 1)],
        )
        .unwrap();
    match PostgresStore::from_config(db.clone(), PoolOptions::default()) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let version: i64 = client
        .query_one(
            "SELECT version FROM tresor_schema WHERE component = 'credentials'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn a_server_that_is_not_there_is_an_outage() {
    let Some(admin) = admin() else { return };
    let mut config = admin.clone();
    config
        .port(1)
        .connect_timeout(std::time::Duration::from_secs(2));
    let options = PoolOptions {
        max_size: 1,
        checkout_timeout: std::time::Duration::from_secs(2),
    };
    let err = PostgresStore::from_config(config, options).unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

#[test]
fn a_store_may_be_dropped_inside_an_async_task() {
    let Some(admin) = admin() else { return };
    let fresh = Db::new(&admin);
    let db = fresh.config.clone();
    // Used (so the pool holds an open connection), then dropped where an
    // async server drops its state: on a thread driving async tasks. The
    // synchronous client's close would panic there; the store closes its
    // connections on a thread of its own.
    let store = PostgresStore::from_config(db, PoolOptions::default()).unwrap();
    assert!(store.list().unwrap().is_empty());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop(store) });
}
