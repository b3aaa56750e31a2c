//! What the tamper-evident audit log costs over the SHA-256 it is built on.
//!
//! `audit/append` (per record, records of about 300 canonical bytes):
//!
//! - `sha256/leaf-300B`: `ring`'s SHA-256 of `0x00 || record`, the leaf hash
//!   every append computes (the primitive);
//! - `record/canonicalize`: `AuditRecord::canonical_bytes`, the RFC 8785
//!   form a caller's record is turned into before it is appended;
//! - `memory/store-append`: the Merkle bookkeeping alone: leaf hash,
//!   `CompactRange::append` and `MemoryStore`'s append, no record check;
//! - `memory/append_unchecked`: `AuditLog<MemoryStore>::append_unchecked`,
//!   the log's append of bytes already canonical (the producer
//!   canonicalised them);
//! - `memory/append_canonical`: `AuditLog<MemoryStore>::append_canonical`,
//!   which also checks that the bytes are a canonical record;
//! - `file/group-commit-durable`: `AuditLog<FileStore>::append_canonical`
//!   with `SyncPolicy::Group { entries: 1000, interval: 5 ms }` in a
//!   temporary directory, in batches of 1000 followed by `sync`: every
//!   measured append is on stable storage (`fdatasync`) when the batch
//!   ends; `file/group-commit-durable-unchecked` the same with
//!   `append_unchecked`.
//!
//! `audit/proofs-1M` (per proof, in a log of 2^20 = 1 048 576 entries held
//! by a `MemoryStore`, built once before measuring):
//!
//! - `sha256/64B-x20`: twenty SHA-256 of `0x01 || 64 bytes`, about what a
//!   verification at this size hashes (the primitive);
//! - `inclusion/generate`, `consistency/generate`: `AuditLog::
//!   inclusion_proof` (entry 777 777) and `consistency_proof` (500 000 to
//!   1 048 576), from stored subtree hashes;
//! - `inclusion/verify`, `consistency/verify`: `merkle::verify_inclusion`
//!   and `verify_consistency` of those proofs.
//!
//! ```text
//! cargo bench --bench audit                                  # about 1.5 minutes
//! cargo bench --bench audit -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench audit -- audit/proofs-1M               # one group
//! ```

// `criterion_group!` and `criterion_main!` generate undocumented items.
#![allow(missing_docs)]
// A benchmark that cannot set itself up should stop at once.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ring::digest::{Context, SHA256};
use tresor::audit::merkle::{self, CompactRange};
use tresor::audit::record::{Actor, AuditRecord, Outcome, Timestamp};
use tresor::audit::{AuditLog, FileStore, FileStoreOptions, LogStore, MemoryStore, SyncPolicy};

/// Appends measured against one in-memory log before it is replaced by a
/// fresh one (outside the measurement), so memory stays bounded.
const MEMORY_CHUNK: u64 = 1 << 16;

/// Appends per durable batch on the file store: the group-commit size.
const FILE_BATCH: u64 = 1000;

/// Entries of the proof benchmarks' log.
const PROOF_LOG_SIZE: u64 = 1 << 20;
const INCLUSION_INDEX: u64 = 777_777;
const CONSISTENCY_OLD: u64 = 500_000;

/// A payment approval with enough details to take about 300 canonical bytes.
fn record() -> AuditRecord {
    AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_767_225_600, 123_456_000).unwrap())
        .actor(Actor::new("user", "u-1842").unwrap())
        .action("payment.approve")
        .resource("payment/9921")
        .outcome(Outcome::Allowed)
        .request_id("req-77f1c0de")
        .source("10.0.0.7")
        .detail("amount", "12500.00")
        .detail("currency", "EUR")
        .detail("creditor_iban", "pn1_6f1c2b9e0d4a7f3e")
        .detail("risk_score", 0.12)
        .build()
        .unwrap()
}

/// `ring`'s SHA-256 of `0x00 || data`: a leaf hash.
fn sha256_leaf(data: &[u8]) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0x00]);
    ctx.update(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tresor-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn append(c: &mut Criterion) {
    let record = record();
    let bytes = record.canonical_bytes().unwrap();
    assert!(
        (280..=320).contains(&bytes.len()),
        "the record is {} bytes, not about 300",
        bytes.len()
    );

    let mut group = c.benchmark_group("audit/append");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("sha256/leaf-300B", |b| {
        b.iter(|| sha256_leaf(black_box(&bytes)));
    });
    group.bench_function("record/canonicalize", |b| {
        b.iter(|| black_box(&record).canonical_bytes().unwrap());
    });
    group.bench_function("memory/store-append", |b| {
        b.iter_custom(|iters| {
            chunked(iters, |n| {
                let mut store = MemoryStore::new();
                let mut range = CompactRange::new();
                let start = Instant::now();
                for _ in 0..n {
                    let nodes = range.append(merkle::leaf_hash(black_box(&bytes)));
                    store.append(&bytes, &nodes).unwrap();
                }
                (start.elapsed(), store)
            })
        });
    });
    group.bench_function("memory/append_unchecked", |b| {
        b.iter_custom(|iters| {
            chunked(iters, |n| {
                let mut log = AuditLog::open(MemoryStore::new()).unwrap();
                let start = Instant::now();
                for _ in 0..n {
                    log.append_unchecked(black_box(&bytes)).unwrap();
                }
                (start.elapsed(), log)
            })
        });
    });
    group.bench_function("memory/append_canonical", |b| {
        b.iter_custom(|iters| {
            chunked(iters, |n| {
                let mut log = AuditLog::open(MemoryStore::new()).unwrap();
                let start = Instant::now();
                for _ in 0..n {
                    log.append_canonical(black_box(&bytes)).unwrap();
                }
                (start.elapsed(), log)
            })
        });
    });

    let dir = TempDir::new("audit-append");
    let options = FileStoreOptions::default().with_sync(SyncPolicy::Group {
        entries: FILE_BATCH,
        interval: Duration::from_millis(5),
    });
    let mut log = AuditLog::open(FileStore::open(&dir.0, options).unwrap()).unwrap();
    group.throughput(Throughput::Elements(FILE_BATCH));
    group.bench_function("file/group-commit-durable", |b| {
        b.iter(|| {
            for _ in 0..FILE_BATCH {
                log.append_canonical(black_box(&bytes)).unwrap();
            }
            log.sync().unwrap();
            assert_eq!(log.store().durable_len(), log.size());
        });
    });
    group.bench_function("file/group-commit-durable-unchecked", |b| {
        b.iter(|| {
            for _ in 0..FILE_BATCH {
                log.append_unchecked(black_box(&bytes)).unwrap();
            }
            log.sync().unwrap();
            assert_eq!(log.store().durable_len(), log.size());
        });
    });
    group.finish();
    drop(log);
}

/// Runs `iters` appends as chunks of at most [`MEMORY_CHUNK`], each on a
/// fresh log that `run(n)` builds, measures and returns; the log is dropped
/// outside the measurement.
fn chunked<T>(iters: u64, mut run: impl FnMut(u64) -> (Duration, T)) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(MEMORY_CHUNK);
        let (elapsed, log) = run(n);
        total += elapsed;
        drop(log);
        left -= n;
    }
    total
}

fn proofs(c: &mut Criterion) {
    // The fastest correct way to a large log: leaf hashes and subtree nodes
    // straight into the store, then `AuditLog::open` reads the right edge.
    let mut store = MemoryStore::new();
    let mut range = CompactRange::new();
    for i in 0..PROOF_LOG_SIZE {
        let entry = i.to_be_bytes();
        let nodes = range.append(merkle::leaf_hash(&entry));
        store.append(&entry, &nodes).unwrap();
    }
    let log = AuditLog::open(store).unwrap();
    assert_eq!(log.size(), PROOF_LOG_SIZE);
    let root = log.root();
    assert_eq!(root, range.root());
    let leaf = merkle::leaf_hash(&INCLUSION_INDEX.to_be_bytes());
    let inclusion = log
        .inclusion_proof(INCLUSION_INDEX, PROOF_LOG_SIZE)
        .unwrap();
    merkle::verify_inclusion(&leaf, INCLUSION_INDEX, PROOF_LOG_SIZE, &inclusion, &root).unwrap();
    let old_root = log.root_at(CONSISTENCY_OLD).unwrap();
    let consistency = log
        .consistency_proof(CONSISTENCY_OLD, PROOF_LOG_SIZE)
        .unwrap();
    merkle::verify_consistency(
        CONSISTENCY_OLD,
        PROOF_LOG_SIZE,
        &consistency,
        &old_root,
        &root,
    )
    .unwrap();

    let mut group = c.benchmark_group("audit/proofs-1M");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("sha256/64B-x20", |b| {
        b.iter(|| {
            // Chained, as a verifier's path is: each hash covers the last.
            let mut h = black_box([0x5Au8; 32]);
            for _ in 0..20 {
                let mut ctx = Context::new(&SHA256);
                ctx.update(&[0x01]);
                ctx.update(&h);
                ctx.update(&h);
                h.copy_from_slice(ctx.finish().as_ref());
            }
            h
        });
    });
    group.bench_function("inclusion/generate", |b| {
        b.iter(|| {
            log.inclusion_proof(black_box(INCLUSION_INDEX), PROOF_LOG_SIZE)
                .unwrap()
        });
    });
    group.bench_function("inclusion/verify", |b| {
        b.iter(|| {
            merkle::verify_inclusion(
                black_box(&leaf),
                INCLUSION_INDEX,
                PROOF_LOG_SIZE,
                black_box(&inclusion),
                &root,
            )
            .unwrap();
        });
    });
    group.bench_function("consistency/generate", |b| {
        b.iter(|| {
            log.consistency_proof(black_box(CONSISTENCY_OLD), PROOF_LOG_SIZE)
                .unwrap()
        });
    });
    group.bench_function("consistency/verify", |b| {
        b.iter(|| {
            merkle::verify_consistency(
                black_box(CONSISTENCY_OLD),
                PROOF_LOG_SIZE,
                black_box(&consistency),
                &old_root,
                &root,
            )
            .unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, append, proofs);
criterion_main!(benches);
