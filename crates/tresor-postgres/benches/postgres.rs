//! Two groups:
//!
//! - `authenticate`: `Registry::authenticate` with a client secret against a
//!   `PostgresStore`, beside `SqliteStore` (a file) and `MemoryStore`;
//! - `audit_append`: durable audit appends, in entries per second
//!   (`Throughput::Elements`): `PostgresLog::append_batch` with 100 entries a
//!   transaction from one writer and from four writer threads at once,
//!   `PostgresLogWriter` with 16 threads appending one entry at a time
//!   (group commit), beside `tresor_audit::FileStore` synced on every
//!   append (`SyncPolicy::Every`) and synced once per 100 appends.
//!
//! Needs
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
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use secrecy::SecretString;
use tresor_audit::{
    Actor, AuditLog, AuditRecord, FileStore, FileStoreOptions, Outcome, SyncPolicy, Timestamp,
};
use tresor_credentials::{CredentialStore, LocalPepper, MemoryStore, Registry, SqliteStore};
use tresor_postgres::{Config, PoolOptions, PostgresLog, PostgresStore, WriterOptions};

/// Entries per transaction (PostgreSQL) or per sync (file, batched).
const BATCH: usize = 100;

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

/// A typical record's canonical bytes (about 300 bytes).
fn entry(i: u64) -> Vec<u8> {
    AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_764_000_000, 0).unwrap())
        .actor(Actor::new("client", "client-7").unwrap())
        .action("payment.create")
        .resource("accounts/DE89370400440532013000")
        .outcome(Outcome::Allowed)
        .request_id(format!("req-{i}"))
        .source("10.0.0.7")
        .detail("amount", "120.00")
        .build()
        .unwrap()
        .canonical_bytes()
        .unwrap()
}

fn bench_audit(c: &mut Criterion, config: &Config) {
    let options = PoolOptions {
        max_size: 8,
        checkout_timeout: Duration::from_secs(5),
    };
    let log = PostgresLog::from_config(config.clone(), options, "bench").unwrap();
    let batch: Vec<Vec<u8>> = (0..BATCH as u64).map(entry).collect();
    let one = entry(0);

    let mut group = c.benchmark_group("audit_append");
    group.sample_size(20);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("postgres/1 writer/100 per tx", |b| {
        b.iter(|| log.append_batch(black_box(&batch)).unwrap());
    });
    group.throughput(Throughput::Elements(4 * BATCH as u64));
    group.bench_function("postgres/4 writers/100 per tx", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for _ in 0..iters {
                            log.append_batch(&batch).unwrap();
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    let writer = log.writer(WriterOptions::default()).unwrap();
    group.throughput(Throughput::Elements(16));
    group.bench_function("postgres/group commit writer/16 threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..16 {
                    s.spawn(|| {
                        for _ in 0..iters {
                            writer.append(one.clone()).unwrap();
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    drop(writer);

    let dir = tempfile::tempdir().unwrap();
    let every = FileStore::open(dir.path().join("every"), FileStoreOptions::default()).unwrap();
    let mut every = AuditLog::open(every).unwrap();
    group.throughput(Throughput::Elements(1));
    group.bench_function("file/sync every append", |b| {
        b.iter(|| every.append_unchecked(black_box(&one)).unwrap());
    });
    let manual = FileStore::open(
        dir.path().join("batched"),
        FileStoreOptions::default().with_sync(SyncPolicy::Manual),
    )
    .unwrap();
    let mut manual = AuditLog::open(manual).unwrap();
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("file/sync per 100", |b| {
        b.iter(|| {
            for e in &batch {
                manual.append_unchecked(black_box(e)).unwrap();
            }
            manual.sync().unwrap();
        });
    });
    group.finish();
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
    let pg_config = config.clone();
    let pg = PostgresStore::from_config(config, PoolOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("bench.db")).unwrap();

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("authenticate");
    bench_store(&mut group, "postgres", Arc::new(pg));
    bench_store(&mut group, "sqlite", Arc::new(sqlite));
    bench_store(&mut group, "memory", Arc::new(MemoryStore::new()));
    group.finish();
    bench_audit(&mut c, &pg_config);
    c.final_summary();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}
