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
use std::process::ExitCode;

use criterion::Criterion;
use tresor_httpsig::{Algorithm, PrivateKey, SigningKey};
use tresor_pkcs11::{Pkcs11SigningKey, SignatureAlgorithm, Token};

#[path = "support/softhsm.rs"]
mod softhsm;

/// A typical RFC 9421 signature base (about 300 bytes).
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
    softhsm::main("PKCS#11 signing", run)
}

/// The benchmarks, in the child.
fn run(token: &Token) {
    let mut c = Criterion::default().configure_from_args();
    for (alg, httpsig_alg) in [
        (
            SignatureAlgorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP256Sha256,
        ),
        (SignatureAlgorithm::Ed25519, Algorithm::Ed25519),
    ] {
        let hsm = Pkcs11SigningKey::generate(token, alg, &format!("bench-{alg}"), None).unwrap();
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
