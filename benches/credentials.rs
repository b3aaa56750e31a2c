//! What client authentication costs with a peppered MAC, beside the slow
//! password hashes a registry could have used instead, and what access
//! tokens cost.
//!
//! `credentials/authenticate` (per attempt; registries of 100 clients, rate
//! limits set out of reach so every failure does the full work):
//!
//! - `memory/valid`, `memory/invalid`: `Registry::authenticate` over a
//!   `MemoryStore`, with the right secret and with a well-formed wrong one
//!   (the same work by design: one lookup, two MACs, two constant-time
//!   comparisons);
//! - `sqlite-warm/valid`: the same over a `SqliteStore` in a file of a
//!   temporary directory, warm (the client was read before measuring, so
//!   its pages are in SQLite's cache);
//! - `hmac-sha256`: `ring`'s HMAC-SHA-256 of the verifier input, the
//!   primitive (`authenticate` makes `MAX_ACTIVE_SECRETS` = 2 of them);
//! - `argon2id-owasp`: Argon2id (RustCrypto `argon2`) with the OWASP
//!   minimum parameters, m = 19 MiB, t = 2, p = 1, 32-byte output: one
//!   verification of a stored hash;
//! - `pbkdf2-sha256-25k`: `ring`'s PBKDF2-HMAC-SHA256 verification at
//!   25 000 iterations.
//!
//! `credentials/token` (per token, RFC 9068 JWT access tokens of two
//! scopes): `issue/ES256`, `issue/EdDSA` (`TokenIssuer::issue`) and
//! `verify/ES256`, `verify/EdDSA` (`TokenVerifier::verify`).
//!
//! ```text
//! cargo bench --bench credentials                                  # about 1.5 minutes
//! cargo bench --bench credentials -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench credentials -- credentials/token             # one group
//! ```

// `criterion_group!` and `criterion_main!` generate undocumented items.
#![allow(missing_docs)]
// A benchmark that cannot set itself up should stop at once.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ring::{hmac, pbkdf2};
use tresor::credentials::secrecy::{ExposeSecret, SecretString};
use tresor::credentials::store::verifier_input;
use tresor::credentials::{
    AuthError, ClientId, CredentialStore, FailureQuota, JwsAlgorithm, LocalPepper, MemoryStore,
    RateLimits, Registry, SqliteStore, TokenIssuer, TokenSigningKey,
};

/// Clients registered before measuring (the one measured among them).
const CLIENTS: usize = 100;

/// OWASP's minimum Argon2id parameters: 19 MiB, 2 passes, 1 lane.
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

/// OWASP's PBKDF2-HMAC-SHA256 iteration count of the comparison.
const PBKDF2_ITERATIONS: u32 = 25_000;

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

/// Limits no benchmark reaches: a failed attempt does the full work instead
/// of being turned away by the rate limiter before it.
fn unlimited() -> RateLimits {
    RateLimits::default()
        .with_per_client(FailureQuota::per_second(NonZeroU32::MAX))
        .with_per_source(FailureQuota::per_second(NonZeroU32::MAX))
        .with_max_tracked(100_000)
}

/// A registry over `store` holding [`CLIENTS`] clients; returns the last
/// one's id and secret.
fn registry(store: Arc<dyn CredentialStore>) -> (Registry, ClientId, SecretString) {
    let registry = Registry::builder(store, Arc::new(LocalPepper::generate().unwrap()))
        .rate_limits(unlimited())
        .build()
        .unwrap();
    let mut last = None;
    for i in 0..CLIENTS {
        last = Some(
            registry
                .register(&format!("client {i}"), &["payments:read", "payments:write"])
                .unwrap(),
        );
    }
    let (id, secret) = last.unwrap();
    let secret = secret.into_secret_string();
    registry.authenticate(id.as_str(), &secret, None).unwrap();
    (registry, id, secret)
}

/// A secret that is well formed and wrong for the measured client: another
/// client's.
fn wrong_secret(registry: &Registry) -> SecretString {
    let (_, other) = registry.register("other", &["payments:read"]).unwrap();
    other.into_secret_string()
}

fn authenticate(c: &mut Criterion) {
    let (memory, id, secret) = registry(Arc::new(MemoryStore::new()));
    let wrong = wrong_secret(&memory);
    assert_eq!(
        memory.authenticate(id.as_str(), &wrong, None).unwrap_err(),
        AuthError::InvalidClient
    );
    let dir = TempDir::new("credentials");
    let sqlite_store = SqliteStore::open(dir.0.join("clients.db")).unwrap();
    let (sqlite, sqlite_id, sqlite_secret) = registry(Arc::new(sqlite_store));

    // The primitive: one HMAC-SHA-256 of the verifier input under a key.
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, &[0x42; 32]);
    let secret_bytes = secret.expose_secret().as_bytes().to_vec();
    let input = verifier_input(id.as_str(), &secret_bytes);

    // The slow hashes, each verifying the same 59-byte secret.
    let salt = [0x5Au8; 16];
    let argon2 = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(32)).unwrap(),
    );
    let mut argon2_stored = [0u8; 32];
    argon2
        .hash_password_into(&secret_bytes, &salt, &mut argon2_stored)
        .unwrap();
    let iterations = NonZeroU32::new(PBKDF2_ITERATIONS).unwrap();
    let mut pbkdf2_stored = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        &secret_bytes,
        &mut pbkdf2_stored,
    );

    let mut group = c.benchmark_group("credentials/authenticate");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("memory/valid", |b| {
        b.iter(|| {
            memory
                .authenticate(black_box(id.as_str()), black_box(&secret), None)
                .unwrap()
        });
    });
    group.bench_function("memory/invalid", |b| {
        b.iter(|| {
            memory
                .authenticate(black_box(id.as_str()), black_box(&wrong), None)
                .unwrap_err()
        });
    });
    group.bench_function("sqlite-warm/valid", |b| {
        b.iter(|| {
            sqlite
                .authenticate(
                    black_box(sqlite_id.as_str()),
                    black_box(&sqlite_secret),
                    None,
                )
                .unwrap()
        });
    });
    group.bench_function("hmac-sha256", |b| {
        b.iter(|| hmac::sign(&mac_key, black_box(&input)));
    });
    group.sample_size(10);
    group.bench_function("argon2id-owasp", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            argon2
                .hash_password_into(black_box(&secret_bytes), &salt, &mut out)
                .unwrap();
            assert_eq!(out, argon2_stored);
        });
    });
    group.bench_function("pbkdf2-sha256-25k", |b| {
        b.iter(|| {
            pbkdf2::verify(
                pbkdf2::PBKDF2_HMAC_SHA256,
                iterations,
                &salt,
                black_box(&secret_bytes),
                &pbkdf2_stored,
            )
            .unwrap();
        });
    });
    group.finish();
    drop(sqlite);
}

fn token(c: &mut Criterion) {
    let client = ClientId::parse("0123456789ABCDEFGHIJKL").unwrap();
    let scopes = ["payments:read".to_owned(), "payments:write".to_owned()];
    let mut group = c.benchmark_group("credentials/token");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for alg in [JwsAlgorithm::Es256, JwsAlgorithm::EdDsa] {
        let key = Arc::new(TokenSigningKey::generate(alg).unwrap());
        let issuer = TokenIssuer::new("https://as.bank.example", "https://api.bank.example", key);
        let verifier = issuer.verifier();
        let token = issuer.issue(&client, &scopes).unwrap();
        assert_eq!(
            verifier.verify(token.token()).unwrap().client_id,
            client.as_str()
        );
        group.bench_function(format!("issue/{alg}"), |b| {
            b.iter(|| {
                issuer
                    .issue(black_box(&client), black_box(&scopes))
                    .unwrap()
            });
        });
        group.bench_function(format!("verify/{alg}"), |b| {
            b.iter(|| verifier.verify(black_box(token.token())).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, authenticate, token);
criterion_main!(benches);
