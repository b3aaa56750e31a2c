//! What a signature per request costs when the key is in a PKCS#11 token
//! (SoftHSM2), beside the same signature with a key in memory.
//!
//! One group per algorithm (`pkcs11-sign/ecdsa-p256-sha256`,
//! `pkcs11-sign/ed25519`), each with, side by side:
//!
//! - `softhsm2`: `tresor_httpsig::SigningKey::sign` of a
//!   `Pkcs11SigningKey` over a typical 300-byte RFC 9421 signature base
//!   (a session from the pool, `C_Sign` in the token, for ECDSA the
//!   SHA-256 digest in software and the `r || s` check);
//! - `local`: the same call on `tresor_httpsig::PrivateKey` (*ring*, the
//!   key in memory).
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialised, and the
//! workspace forbids the `unsafe` that setting it in-process would need:
//! the benchmark creates a token in a temporary directory and runs itself
//! again as a child process with `SOFTHSM2_CONF` set. Without SoftHSM2
//! (no `libsofthsm2.so`, no `softhsm2-util`) it says it skipped and exits
//! successfully.
//!
//! ```text
//! cargo bench -p tresor-pkcs11 --bench signing
//! ```

// `criterion_group!`-style items are undocumented; a benchmark that cannot
// set itself up should stop at once.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use criterion::Criterion;
use tresor_httpsig::{Algorithm, PrivateKey, SigningKey};
use tresor_pkcs11::{PinSource, Pkcs11SigningKey, Pkcs11Uri, SignatureAlgorithm, Token};

/// Set in the child: the token's directory.
const CHILD_ENV: &str = "TRESOR_PKCS11_BENCH_DIR";
const TOKEN_LABEL: &str = "tresor-bench";
/// A throwaway PIN for a throwaway token.
const USER_PIN: &str = "tresor-bench-user-pin";
const SO_PIN: &str = "tresor-bench-so-pin";

const MODULE_PATHS: [&str; 5] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// A typical signature base: a JSON POST covered by the default
/// components, 300 bytes or so.
const BASE: &str = concat!(
    "\"@method\": POST\n",
    "\"@authority\": api.bank.example\n",
    "\"@path\": /v1/payments\n",
    "\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n",
    "\"content-type\": application/json\n",
    "\"content-length\": 1024\n",
    "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" ",
    "\"content-type\" \"content-length\");created=1750000000;keyid=\"bench-key\""
);

fn main() -> ExitCode {
    match std::env::var_os(CHILD_ENV) {
        Some(dir) => {
            run(Path::new(&dir));
            ExitCode::SUCCESS
        }
        None => parent(),
    }
}

/// Creates the token and runs this benchmark again with `SOFTHSM2_CONF`.
fn parent() -> ExitCode {
    let module = module();
    let util = util();
    let (Some(_), Some(util)) = (&module, util) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped the PKCS#11 signing benchmarks: SoftHSM2 is not installed \
             (no libsofthsm2.so or no softhsm2-util; apt-get install softhsm2)"
        );
        return ExitCode::SUCCESS;
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::create_dir(dir.path().join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new(util)
        .args(["--init-token", "--free", "--label", TOKEN_LABEL])
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
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The benchmarks, in the child.
fn run(dir: &Path) {
    let module = module().expect("the parent found the module");
    let base = Pkcs11Uri::new()
        .with_module_path(&module)
        .unwrap()
        .with_pin_source(PinSource::file(dir.join("user.pin")).unwrap())
        .to_string();
    let query = base.split_once('?').unwrap().1;
    let uri = Pkcs11Uri::parse(&format!("pkcs11:token={TOKEN_LABEL}?{query}")).unwrap();
    let token = Token::open(&uri).unwrap();

    let mut c = Criterion::default().configure_from_args();
    for (alg, httpsig_alg) in [
        (
            SignatureAlgorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP256Sha256,
        ),
        (SignatureAlgorithm::Ed25519, Algorithm::Ed25519),
    ] {
        let hsm = Pkcs11SigningKey::generate(&token, alg, &format!("bench-{alg}"), None).unwrap();
        let local = PrivateKey::generate(httpsig_alg).unwrap();
        let mut group = c.benchmark_group(format!("pkcs11-sign/{alg}"));
        group.bench_function("softhsm2", |b| {
            b.iter(|| SigningKey::sign(&hsm, black_box(BASE.as_bytes())).unwrap());
        });
        group.bench_function("local", |b| {
            b.iter(|| SigningKey::sign(&local, black_box(BASE.as_bytes())).unwrap());
        });
        group.finish();
    }
    c.final_summary();
}

fn module() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRESOR_PKCS11_MODULE") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    MODULE_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn util() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("softhsm2-util"))
        .find(|p| p.is_file())
}

/// Writes a file only its owner may read (the PIN file).
fn write_private(path: &Path, content: &[u8]) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).unwrap().write_all(content).unwrap();
}
