//! `Registry::authenticate` with a client secret against a `PostgresStore`,
//! beside `SqliteStore` (a file) and `MemoryStore`, in one group. Needs
//! `TRESOR_POSTGRES_URL` (a loopback server, see `.ci/lib/postgres.sh`);
//! without it, prints why and measures nothing.
//!
//! ```text
//! TRESOR_POSTGRES_URL=postgres://tresor@127.0.0.1:PORT/postgres \
//!   cargo bench -p tresor-postgres --bench postgres
//! ```

// `criterion_group!`-style items are undocumented; a benchmark that cannot
// set itself up should stop at once.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use secrecy::SecretString;
use tresor_credentials::{CredentialStore, LocalPepper, MemoryStore, Registry, SqliteStore};
use tresor_postgres::{Config, PoolOptions, PostgresStore};

fn bench_store(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    store: Arc<dyn CredentialStore>,
) {
    let pepper = Arc::new(LocalPepper::generate().unwrap());
    let registry = Registry::new(store, pepper).unwrap();
    let (id, secret) = registry.register("bench", &["payments:read"]).unwrap();
    let presented = SecretString::from(secret.expose_secret().to_owned());
    c.bench_function(name, |b| {
        b.iter(|| {
            registry
                .authenticate(black_box(id.as_str()), &presented, None)
                .unwrap()
        });
    });
}

fn main() {
    let Ok(url) = std::env::var("TRESOR_POSTGRES_URL") else {
        eprintln!(
            "skipped: TRESOR_POSTGRES_URL not set (a PostgreSQL on 127.0.0.1; see .ci/lib/postgres.sh)"
        );
        return;
    };
    let admin: Config = url.parse().expect("TRESOR_POSTGRES_URL parses");
    let name = format!("tresor_bench_{}", std::process::id());
    let mut client = admin.connect(postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut config = admin.clone();
    config.dbname(&name);
    let pg = PostgresStore::from_config(config, PoolOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("bench.db")).unwrap();

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("authenticate");
    bench_store(&mut group, "postgres", Arc::new(pg));
    bench_store(&mut group, "sqlite", Arc::new(sqlite));
    bench_store(&mut group, "memory", Arc::new(MemoryStore::new()));
    group.finish();
    c.final_summary();
}
