//! What envelope encryption costs over the raw AEADs it is built on.
//!
//! One group per message size (64 B, 1 KiB, 16 KiB, 1 MiB), each with, side
//! by side:
//!
//! - `ring/aes-256-gcm/seal|open`: `ring`'s `LessSafeKey` with a fixed nonce,
//!   into a fresh `Vec` (the least a caller does to get a ciphertext `Vec`);
//! - `aes-gcm-siv/seal|open`: `aes-gcm-siv`'s `Aes256GcmSiv` into a new `Vec`;
//! - `tresor/<suite>/seal|open`: `Envelope::seal_to_vec_with` and
//!   `open_to_vec` with both data-key caches on, as in a steady-state service
//!   (no KEK call per message: HKDF, the key commitment, the header and the
//!   frames);
//! - `tresor/aes-256-gcm/seal+wrap`: no cache, so a fresh data key and a
//!   `LocalKek` wrap per message (with a KMS this is a network round trip).
//!
//! The `record-256B` group compares a 256-byte record, raw `ring` against a
//! cached `tresor` seal and open: the difference is tresor's fixed cost per
//! record.
//!
//! ```text
//! cargo bench --bench envelope                 # everything, about 3 minutes
//! cargo bench --bench envelope -- record-256B  # one group
//! ```

// `criterion_group!` and `criterion_main!` generate undocumented items.
#![allow(missing_docs)]
// A benchmark that cannot set itself up should stop at once.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use aes_gcm_siv::aead::{Aead, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce as SivNonce};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use tresor::envelope::{
    Context, Envelope, Keyring, LocalKek, OpenCacheLimits, SealCacheLimits, SealOptions, Suite,
    TAG_LEN,
};

/// Message sizes of the per-size groups, with their group names.
const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1 << 10, "1KiB"),
    (16 << 10, "16KiB"),
    (1 << 20, "1MiB"),
];

/// The raw AEADs' key and nonce. Benchmark-only values: a real caller never
/// fixes a nonce (tresor derives a fresh key per message instead).
const KEY: [u8; 32] = [0x42; 32];
const NONCE: [u8; 12] = [0x24; 12];

/// Everything the benchmarks share, built once.
struct Rig {
    ring_key: LessSafeKey,
    siv: Aes256GcmSiv,
    /// Both caches on, as a long-running service would configure them.
    cached: Envelope,
    /// No cache: a data key and a KEK wrap per message.
    uncached: Envelope,
    context: Context,
    gcm: SealOptions,
    siv_options: SealOptions,
}

impl Rig {
    fn new() -> Self {
        let kek = || LocalKek::generate("bench-kek").unwrap();
        let cached = Envelope::builder(Keyring::with_primary(kek()).unwrap())
            .seal_cache(SealCacheLimits::new(
                Duration::from_secs(3600),
                u64::MAX,
                u64::MAX,
            ))
            .open_cache(OpenCacheLimits::new(Duration::from_secs(3600), 1024))
            .build()
            .unwrap();
        Rig {
            ring_key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap()),
            siv: Aes256GcmSiv::new(&KEY.into()),
            cached,
            uncached: Envelope::new(Keyring::with_primary(kek()).unwrap()),
            context: Context::from_pairs([("tenant", "acme"), ("field", "iban")]).unwrap(),
            gcm: SealOptions::new().suite(Suite::Aes256Gcm),
            siv_options: SealOptions::new().suite(Suite::Aes256GcmSiv),
        }
    }

    /// `ring` AES-256-GCM: copy into a fresh `Vec`, seal in place, append the tag.
    fn ring_seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        out.extend_from_slice(plaintext);
        self.ring_key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(NONCE), Aad::empty(), &mut out)
            .unwrap();
        out
    }

    /// `ring` AES-256-GCM: copy into a fresh `Vec`, open in place, drop the tag.
    fn ring_open(&self, ciphertext: &[u8]) -> Vec<u8> {
        let mut out = ciphertext.to_vec();
        let len = self
            .ring_key
            .open_in_place(Nonce::assume_unique_for_key(NONCE), Aad::empty(), &mut out)
            .unwrap()
            .len();
        out.truncate(len);
        out
    }

    fn siv_seal(&self, plaintext: &[u8]) -> Vec<u8> {
        self.siv.encrypt(&SivNonce::from(NONCE), plaintext).unwrap()
    }

    fn siv_open(&self, ciphertext: &[u8]) -> Vec<u8> {
        self.siv
            .decrypt(&SivNonce::from(NONCE), ciphertext)
            .unwrap()
    }
}

fn group_config(group: &mut BenchmarkGroup<'_, WallTime>, size: usize) {
    group
        .throughput(Throughput::Bytes(size as u64))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    if size >= 1 << 20 {
        group.sample_size(30);
    }
}

fn by_size(c: &mut Criterion) {
    let rig = Rig::new();
    for (size, name) in SIZES {
        let plaintext = vec![0xA5u8; size];
        let ring_sealed = rig.ring_seal(&plaintext);
        let siv_sealed = rig.siv_seal(&plaintext);
        let gcm_sealed = rig
            .cached
            .seal_to_vec_with(&plaintext, &rig.context, &rig.gcm)
            .unwrap();
        let siv_env_sealed = rig
            .cached
            .seal_to_vec_with(&plaintext, &rig.context, &rig.siv_options)
            .unwrap();
        assert_eq!(rig.ring_open(&ring_sealed), plaintext);
        assert_eq!(rig.siv_open(&siv_sealed), plaintext);
        assert_eq!(
            rig.cached.open_to_vec(&gcm_sealed, &rig.context).unwrap(),
            plaintext
        );
        assert_eq!(
            rig.cached
                .open_to_vec(&siv_env_sealed, &rig.context)
                .unwrap(),
            plaintext
        );

        let mut group = c.benchmark_group(name);
        group_config(&mut group, size);
        group.bench_function("ring/aes-256-gcm/seal", |b| {
            b.iter(|| rig.ring_seal(black_box(&plaintext)));
        });
        group.bench_function("ring/aes-256-gcm/open", |b| {
            b.iter(|| rig.ring_open(black_box(&ring_sealed)));
        });
        group.bench_function("aes-gcm-siv/seal", |b| {
            b.iter(|| rig.siv_seal(black_box(&plaintext)));
        });
        group.bench_function("aes-gcm-siv/open", |b| {
            b.iter(|| rig.siv_open(black_box(&siv_sealed)));
        });
        group.bench_function("tresor/aes-256-gcm/seal", |b| {
            b.iter(|| {
                rig.cached
                    .seal_to_vec_with(black_box(&plaintext), &rig.context, &rig.gcm)
                    .unwrap()
            });
        });
        group.bench_function("tresor/aes-256-gcm/open", |b| {
            b.iter(|| {
                rig.cached
                    .open_to_vec(black_box(&gcm_sealed), &rig.context)
                    .unwrap()
            });
        });
        group.bench_function("tresor/aes-256-gcm-siv/seal", |b| {
            b.iter(|| {
                rig.cached
                    .seal_to_vec_with(black_box(&plaintext), &rig.context, &rig.siv_options)
                    .unwrap()
            });
        });
        group.bench_function("tresor/aes-256-gcm-siv/open", |b| {
            b.iter(|| {
                rig.cached
                    .open_to_vec(black_box(&siv_env_sealed), &rig.context)
                    .unwrap()
            });
        });
        group.bench_function("tresor/aes-256-gcm/seal+wrap", |b| {
            b.iter(|| {
                rig.uncached
                    .seal_to_vec_with(black_box(&plaintext), &rig.context, &rig.gcm)
                    .unwrap()
            });
        });
        group.finish();
    }
}

/// A 256-byte record (an account holder's details, say): the per-record cost
/// of envelope encryption with a cached data key.
fn record(c: &mut Criterion) {
    let rig = Rig::new();
    let record = [0x5Au8; 256];
    let ring_sealed = rig.ring_seal(&record);
    let sealed = rig
        .cached
        .seal_to_vec_with(&record, &rig.context, &rig.gcm)
        .unwrap();
    assert_eq!(rig.ring_open(&ring_sealed), record);
    assert_eq!(
        rig.cached.open_to_vec(&sealed, &rig.context).unwrap(),
        record
    );

    let mut group = c.benchmark_group("record-256B");
    group_config(&mut group, record.len());
    group.bench_function("ring/aes-256-gcm/seal", |b| {
        b.iter(|| rig.ring_seal(black_box(&record)));
    });
    group.bench_function("ring/aes-256-gcm/open", |b| {
        b.iter(|| rig.ring_open(black_box(&ring_sealed)));
    });
    group.bench_function("tresor/aes-256-gcm/seal", |b| {
        b.iter(|| {
            rig.cached
                .seal_to_vec_with(black_box(&record), &rig.context, &rig.gcm)
                .unwrap()
        });
    });
    group.bench_function("tresor/aes-256-gcm/open", |b| {
        b.iter(|| {
            rig.cached
                .open_to_vec(black_box(&sealed), &rig.context)
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, by_size, record);
criterion_main!(benches);
