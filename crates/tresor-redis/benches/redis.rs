//! A nonce check (check and remember a fresh nonce) against a throwaway
//! `redis-server` on the loopback, beside the in-process
//! `MemoryNonceStore`, in one criterion group (`nonce-check`); a
//! rate-limit take, Redis beside `MemoryRateLimitStore`, in another
//! (`rate_limit`).
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
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tresor_credentials::{FailureQuota, MemoryRateLimitStore, RateLimitStore};
use tresor_httpsig::{MemoryNonceStore, NonceStore};
use tresor_redis::{RedisNonceStore, RedisRateLimitStore};

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

/// Rate-limited keys the takes are spread over (each with room for
/// every take of a run, so none is refused: the allowed path is the
/// one that writes).
const RATE_KEYS: u64 = 1024;

fn take(store: &dyn RateLimitStore, counter: &AtomicU64, quota: FailureQuota) {
    let n = counter.fetch_add(1, Ordering::Relaxed);
    let key = format!("requests:client-{}", n % RATE_KEYS);
    let _ = black_box(store.take(&key, quota));
}

fn rate_limit(c: &mut Criterion) {
    let Some(server) = support::RedisServer::start("bench rate_limit") else {
        return;
    };
    let redis = RedisRateLimitStore::connect(&server.url()).unwrap();
    let memory = MemoryRateLimitStore::default();
    // A burst far larger than a run's takes per key, one cell a second.
    let quota =
        FailureQuota::new(NonZeroU32::new(1 << 30).unwrap(), Duration::from_secs(1)).unwrap();
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("rate_limit");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("MemoryRateLimitStore take", |b| {
        b.iter(|| take(&memory, &counter, quota));
    });
    group.bench_function("RedisRateLimitStore take (loopback)", |b| {
        b.iter(|| take(&redis, &counter, quota));
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, nonce_check, rate_limit);
criterion_main!(benches);
