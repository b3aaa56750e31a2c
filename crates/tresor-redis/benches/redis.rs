//! A nonce check (check and remember a fresh nonce) against a throwaway
//! `redis-server` on the loopback, beside the in-process
//! `MemoryNonceStore`, in one criterion group.
//!
//! `cargo bench -p tresor-redis`. Without `redis-server` (on the `PATH` or
//! in `TRESOR_REDIS_SERVER`) it prints `skipped` and exits 0, unless
//! `TRESOR_REQUIRE_SERVICES=1`.

// `criterion_group!`-style items are undocumented; the support module is
// shared with the tests.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tresor_httpsig::{MemoryNonceStore, NonceStore};
use tresor_redis::RedisNonceStore;

/// Key ids the fresh nonces are spread over, so no key reaches its share.
const KEY_IDS: u64 = 1024;

fn check(store: &dyn NonceStore, counter: &AtomicU64, expires: i64) {
    let n = counter.fetch_add(1, Ordering::Relaxed);
    let key_id = format!("client-{}", n % KEY_IDS);
    let nonce = format!("nonce-{n:016x}");
    let _ = black_box(store.check_and_remember(&key_id, &nonce, expires));
}

fn nonce_check(c: &mut Criterion) {
    let Some(server) = support::RedisServer::start("bench nonce-check") else {
        return;
    };
    let expires = support::now() + 3600;
    let redis = RedisNonceStore::connect(&server.url())
        .unwrap()
        .per_key_limit(1 << 20);
    let memory = MemoryNonceStore::new(1 << 22).per_key_limit(1 << 20);
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("nonce-check");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("MemoryNonceStore", |b| {
        b.iter(|| check(&memory, &counter, expires));
    });
    group.bench_function("RedisNonceStore (loopback)", |b| {
        b.iter(|| check(&redis, &counter, expires));
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, nonce_check);
criterion_main!(benches);
