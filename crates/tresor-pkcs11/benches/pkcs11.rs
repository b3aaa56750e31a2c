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
use std::path::{Path, PathBuf};
use std::process::Command;
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
use tresor_pkcs11::{PinSource, Pkcs11Kek, Pkcs11Pepper, Pkcs11Uri, Token};

/// Set in the child: the token's directory.
const CHILD_ENV: &str = "TRESOR_PKCS11_BENCH_DIR";
/// The benchmark token's throwaway PINs.
const USER_PIN: &str = "tresor-bench-user-pin";
const SO_PIN: &str = "tresor-bench-so-pin";
const MODULE_PATHS: [&str; 5] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];
const RECORD: [u8; 256] = [0x5a; 256];

fn main() {
    match std::env::var_os(CHILD_ENV) {
        Some(dir) => run(Path::new(&dir)),
        None => std::process::exit(spawn()),
    }
}

/// The parent: makes the token and runs the benchmarks in a child.
fn spawn() -> i32 {
    let module = find_module();
    let util = find_util();
    let (Some(_), Some(util)) = (&module, util) else {
        eprintln!(
            "skipped the tresor-pkcs11 benchmarks: SoftHSM2 is not installed \
             (no libsofthsm2.so at $TRESOR_PKCS11_MODULE or the package's usual paths, \
             or no softhsm2-util on $PATH); apt-get install softhsm2"
        );
        return 0;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new(util)
        .args(["--init-token", "--free", "--label", "tresor-bench"])
        .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    write_private(&dir.path().join("user.pin"), USER_PIN.as_bytes());
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_ENV, dir.path())
        .status()
        .unwrap();
    status.code().unwrap_or(1)
}

/// Writes a file only its owner may read (the PIN file).
fn write_private(path: &Path, content: &[u8]) {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).unwrap().write_all(content).unwrap();
}

fn find_module() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRESOR_PKCS11_MODULE") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    MODULE_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn find_util() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("softhsm2-util"))
        .find(|p| p.is_file())
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
fn run(dir: &Path) {
    let module = find_module().expect("the parent found the module");
    let uri: Pkcs11Uri = Pkcs11Uri::new()
        .with_module_path(&module)
        .unwrap()
        .with_pin_source(PinSource::file(dir.join("user.pin")).unwrap())
        .to_string()
        .replacen("pkcs11:", "pkcs11:token=tresor-bench", 1)
        .parse()
        .unwrap();
    let token = Token::open(&uri).unwrap();
    let hsm_kek = Arc::new(Pkcs11Kek::generate(&token, "bench-kek", None).unwrap());
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
        Arc::new(Pkcs11Pepper::generate(&token, "bench-pepper").unwrap());
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
