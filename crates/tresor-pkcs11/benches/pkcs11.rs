//! What keeping keys in a PKCS#11 token costs, each figure beside the
//! in-process key it replaces, on a throwaway SoftHSM2 token.
//!
//! Groups:
//!
//! - `seal-256B`: `Envelope::seal_to_vec` of a 256-byte record under a
//!   `Pkcs11Kek` without the data-key cache (a KEK wrap per record), with
//!   the seal cache (one wrap per cached data key), and under a `LocalKek`
//!   in both modes;
//! - `open-256B`: the same records opened, without and with the open cache;
//! - `kek-wrap`, `kek-unwrap`: one data-key wrap or unwrap, `Pkcs11Kek`
//!   (`CKM_AES_GCM` in the token) against `LocalKek`;
//! - `pepper-mac`: one `Pepper::mac` of a verifier input, `Pkcs11Pepper`
//!   (`CKM_SHA256_HMAC` in the token) against `LocalPepper`;
//! - `authenticate`: `Registry::authenticate` of a client secret (two
//!   pepper MACs) with either pepper.
//!
//! Before the groups it prints how many KEK calls 1 000 records cost in
//! each mode (a counting KEK around the real one).
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialised, and
//! the workspace forbids the `unsafe` that setting a variable in-process
//! needs; so, like `tests/common`, the bench makes a token in a temporary
//! directory and runs itself again as a child process with the variable
//! set. Without SoftHSM2 it prints `skipped` and exits 0.
//!
//! ```text
//! cargo bench -p tresor-pkcs11                    # everything, about 2 minutes
//! cargo bench -p tresor-pkcs11 -- pepper-mac      # one group
//! ```

// `criterion_group!`-style items are undocumented.
#![allow(missing_docs)]
// A benchmark that cannot set itself up should stop at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::Criterion;
use secrecy::SecretString;
use tresor_credentials::{LocalPepper, MemoryStore, Pepper, Registry};
use tresor_envelope::{
    Context, DataKey, Envelope, KeyEncryptionKey, Keyring, LocalKek, OpenCacheLimits,
    SealCacheLimits,
};
use tresor_pkcs11::{Pkcs11Kek, Pkcs11Pepper, Token};

#[path = "support/softhsm.rs"]
mod softhsm;

/// The record every seal and open benchmark seals.
const RECORD: [u8; 256] = [0x5a; 256];

fn main() -> ExitCode {
    softhsm::main("tresor-pkcs11", run)
}

/// A KEK that counts its calls.
struct Counting<K> {
    inner: K,
    wraps: AtomicU64,
    unwraps: AtomicU64,
}

impl<K: KeyEncryptionKey> Counting<K> {
    fn new(inner: K) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            wraps: AtomicU64::new(0),
            unwraps: AtomicU64::new(0),
        })
    }
}

impl<K: KeyEncryptionKey> KeyEncryptionKey for Counting<K> {
    fn key_id(&self) -> &str {
        self.inner.key_id()
    }
    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> tresor_envelope::Result<Vec<u8>> {
        self.wraps.fetch_add(1, Ordering::Relaxed);
        self.inner.wrap(dek, aad)
    }
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> tresor_envelope::Result<DataKey> {
        self.unwraps.fetch_add(1, Ordering::Relaxed);
        self.inner.unwrap(wrapped, aad)
    }
}

fn envelope(kek: impl KeyEncryptionKey + 'static, cached: bool) -> Envelope {
    let builder = Envelope::builder(Keyring::with_primary(kek).unwrap());
    let builder = if cached {
        builder
            .seal_cache(SealCacheLimits::default())
            .open_cache(OpenCacheLimits::default())
    } else {
        builder
    };
    builder.build().unwrap()
}

/// The child: the benchmarks proper.
fn run(token: &Token) {
    let hsm_kek = Arc::new(Pkcs11Kek::generate(token, "bench-kek", None).unwrap());
    let local_kek = Arc::new(LocalKek::generate("bench-local-kek").unwrap());
    let context = Context::from_pairs([("tenant", "acme"), ("field", "iban")]).unwrap();

    count_kek_calls(&hsm_kek, &local_kek, &context);

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();

    let modes = [
        ("pkcs11/no-cache", envelope(Arc::clone(&hsm_kek), false)),
        ("pkcs11/cache", envelope(Arc::clone(&hsm_kek), true)),
        ("local/no-cache", envelope(Arc::clone(&local_kek), false)),
        ("local/cache", envelope(Arc::clone(&local_kek), true)),
    ];
    let mut group = c.benchmark_group("seal-256B");
    for (name, envelope) in &modes {
        group.bench_function(*name, |b| {
            b.iter(|| envelope.seal_to_vec(black_box(&RECORD), &context).unwrap());
        });
    }
    group.finish();
    let mut group = c.benchmark_group("open-256B");
    for (name, envelope) in &modes {
        let sealed = envelope.seal_to_vec(&RECORD, &context).unwrap();
        group.bench_function(*name, |b| {
            b.iter(|| envelope.open_to_vec(black_box(&sealed), &context).unwrap());
        });
    }
    group.finish();

    let dek = DataKey::generate().unwrap();
    let aad = [0x42u8; 64];
    let keks: [(&str, &dyn KeyEncryptionKey); 2] =
        [("pkcs11", hsm_kek.as_ref()), ("local", local_kek.as_ref())];
    let mut group = c.benchmark_group("kek-wrap");
    for (name, kek) in keks {
        group.bench_function(name, |b| {
            b.iter(|| kek.wrap(black_box(&dek), &aad).unwrap())
        });
    }
    group.finish();
    let mut group = c.benchmark_group("kek-unwrap");
    for (name, kek) in keks {
        let wrapped = kek.wrap(&dek, &aad).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| kek.unwrap(black_box(&wrapped), &aad).unwrap());
        });
    }
    group.finish();

    let hsm_pepper: Arc<dyn Pepper> =
        Arc::new(Pkcs11Pepper::generate(token, "bench-pepper").unwrap());
    let local_pepper: Arc<dyn Pepper> = Arc::new(LocalPepper::generate().unwrap());
    let peppers = [("pkcs11", hsm_pepper), ("local", local_pepper)];
    // A verifier input's size: length-prefixed context, client id and a
    // 68-character secret.
    let input = [0x61u8; 120];
    let mut group = c.benchmark_group("pepper-mac");
    for (name, pepper) in &peppers {
        group.bench_function(*name, |b| {
            b.iter(|| pepper.mac(1, black_box(&input)).unwrap());
        });
    }
    group.finish();
    let mut group = c.benchmark_group("authenticate");
    for (name, pepper) in &peppers {
        let registry = Registry::new(Arc::new(MemoryStore::new()), Arc::clone(pepper)).unwrap();
        let (id, secret) = registry.register("bench", &["x"]).unwrap();
        let secret = SecretString::from(secret.expose_secret().to_owned());
        group.bench_function(*name, |b| {
            b.iter(|| registry.authenticate(id.as_str(), &secret, None).unwrap());
        });
    }
    group.finish();

    c.final_summary();
}

/// Seals and opens 1 000 records in each mode and prints the KEK calls.
fn count_kek_calls(hsm: &Arc<Pkcs11Kek>, local: &Arc<LocalKek>, context: &Context) {
    eprintln!("KEK calls per 1 000 records of 256 B (one context):");
    eprintln!("  {:<26} {:>6} {:>8}", "mode", "wraps", "unwraps");
    let mut modes: Vec<(&str, bool, Arc<dyn KeyEncryptionKey>)> = Vec::new();
    modes.push(("Pkcs11Kek, no cache", false, hsm.clone()));
    modes.push(("Pkcs11Kek, caches", true, hsm.clone()));
    modes.push(("LocalKek, no cache", false, local.clone()));
    modes.push(("LocalKek, caches", true, local.clone()));
    for (name, cached, kek) in modes {
        let counting = Counting::new(kek);
        let envelope = envelope(Arc::clone(&counting), cached);
        let sealed: Vec<_> = (0..1000)
            .map(|_| envelope.seal_to_vec(&RECORD, context).unwrap())
            .collect();
        for record in &sealed {
            envelope.open_to_vec(record, context).unwrap();
        }
        eprintln!(
            "  {name:<26} {:>6} {:>8}",
            counting.wraps.load(Ordering::Relaxed),
            counting.unwraps.load(Ordering::Relaxed)
        );
    }
}
