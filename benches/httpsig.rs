//! What signing and verifying an HTTP request costs, beside the raw
//! signature it is built on and beside the crates.io `httpsig` crate.
//!
//! The request is a typical API call: `POST https://api.bank.example/v1/payments`
//! with six header fields (Host, Date, Content-Type, Accept, User-Agent,
//! X-Request-Id) and a 1 KiB JSON body. Signing adds `Content-Digest`
//! (SHA-256) and `Content-Length` and covers the default components of
//! `tresor::httpsig`: `@method @authority @path content-digest content-type
//! content-length`.
//!
//! One group per algorithm (`httpsig/ed25519`, `httpsig/ecdsa-p256-sha256`),
//! each with, side by side:
//!
//! - `raw-ring/sign|verify`: `ring` signing and verifying a byte string as
//!   long as tresor's signature base for this request (the floor);
//! - `tresor/sign`: `Signer::sign_request` on a fresh copy of the request
//!   (Content-Digest over the body, the base, the signature, the fields);
//! - `tresor/verify`: `Verifier::verify_request` under the default policy
//!   (required components, `created` and age checks against a fixed clock,
//!   the key looked up by `keyid`), including the body against its
//!   `Content-Digest`, as a server does;
//! - `httpsig-crate/sign|verify`: `httpsig` 0.0.26 through its `http`
//!   extension `httpsig-hyper` 0.0.26 (`set_content_digest` then
//!   `set_message_signature`; `verify_message_signature` then
//!   `verify_content_digest`), same components, same keys. Its
//!   `verify_content_digest` consumes the request, so each verify clones it
//!   first (a `HeaderMap` clone and a `Bytes` reference count, small beside a
//!   signature check). Its futures never wait: they are polled to completion
//!   here without a runtime.
//!
//! ```text
//! cargo bench --bench httpsig
//! cargo bench --bench httpsig -- ed25519     # one group
//! ```

// `criterion_group!` and `criterion_main!` generate undocumented items.
#![allow(missing_docs)]
// A benchmark that cannot set itself up should stop at once.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http_body_util::Full;
use httpsig_hyper::prelude::message_component::HttpMessageComponentId;
use httpsig_hyper::prelude::{
    AlgorithmName, HttpSignatureParams, PublicKey as CratePublicKey, SecretKey as CrateSecretKey,
};
use httpsig_hyper::{ContentDigestType, MessageSignatureReq, RequestContentDigest as _};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, UnparsedPublicKey,
};
use tresor::httpsig::{
    Algorithm, Error, FixedClock, KeyResolver, Policy, PrivateKey, Signer, Verifier, VerifyingKey,
};

/// `created` of every signature, and the verifier's clock.
const NOW: i64 = 1_750_000_000;
const KEY_ID: &str = "bench-key";
const BODY_LEN: usize = 1024;

/// The covered components, in the order tresor's default puts them.
const COMPONENTS: [&str; 6] = [
    "\"@method\"",
    "\"@authority\"",
    "\"@path\"",
    "\"content-digest\"",
    "\"content-type\"",
    "\"content-length\"",
];

/// A 1 KiB JSON body.
fn body() -> Vec<u8> {
    let mut body = String::from(
        r#"{"debtor":{"iban":"DE89370400440532013000","name":"Erika Mustermann"},"creditor":{"iban":"FR1420041010050500013M02606","name":"Jean Dupont"},"amount":{"value":"1234.56","currency":"EUR"},"remittance":""#,
    );
    while body.len() < BODY_LEN - 2 {
        body.push('x');
    }
    body.push_str("\"}");
    assert_eq!(body.len(), BODY_LEN);
    body.into_bytes()
}

/// The unsigned request, with body type `B`.
fn request<B>(body: B) -> Request<B> {
    Request::builder()
        .method("POST")
        .uri("https://api.bank.example/v1/payments")
        .header("host", "api.bank.example")
        .header("date", "Sun, 15 Jun 2025 15:06:40 GMT")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("user-agent", "tresor-bench/0.1")
        .header("x-request-id", "0b6e3c1a-5f2d-4c8e-9a7b-2d4f6e8a1c3b")
        .body(body)
        .unwrap()
}

/// Polls a future that never waits (httpsig-hyper's, over a `Full` body).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// One key for the resolver.
struct OneKey(Arc<dyn VerifyingKey>);

impl KeyResolver for OneKey {
    fn resolve(&self, key_id: &str) -> tresor::httpsig::Result<Arc<dyn VerifyingKey>> {
        if key_id == KEY_ID {
            Ok(self.0.clone())
        } else {
            Err(Error::UnknownKey {
                key_id: key_id.to_owned(),
            })
        }
    }
}

/// The raw `ring` signer and verifier of one algorithm.
enum RawKey {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair, SystemRandom),
}

impl RawKey {
    fn new(alg: Algorithm, pkcs8: &[u8]) -> Self {
        match alg {
            Algorithm::Ed25519 => {
                RawKey::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).unwrap())
            }
            Algorithm::EcdsaP256Sha256 => {
                let rng = SystemRandom::new();
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .unwrap();
                RawKey::P256(pair, rng)
            }
            _ => unreachable!("only Ed25519 and P-256 are benchmarked"),
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            RawKey::Ed25519(pair) => pair.sign(msg).as_ref().to_vec(),
            RawKey::P256(pair, rng) => pair.sign(rng, msg).unwrap().as_ref().to_vec(),
        }
    }

    fn public(&self) -> UnparsedPublicKey<Vec<u8>> {
        match self {
            RawKey::Ed25519(pair) => {
                UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref().to_vec())
            }
            RawKey::P256(pair, _) => UnparsedPublicKey::new(
                &ECDSA_P256_SHA256_FIXED,
                pair.public_key().as_ref().to_vec(),
            ),
        }
    }
}

fn bench_algorithm(c: &mut Criterion, alg: Algorithm, crate_alg: AlgorithmName) {
    let body = body();
    let private = PrivateKey::generate(alg).unwrap();
    let pkcs8 = private.to_pkcs8_der();
    let pem = private.to_pkcs8_pem();
    let public = private.public_key();

    // tresor
    let clock = Arc::new(FixedClock::new(NOW));
    let signer = Signer::new(Arc::new(private), KEY_ID).clock(clock.clone());
    let verifier = Verifier::new(Arc::new(OneKey(Arc::new(public))), Policy::new()).clock(clock);
    let unsigned = request(body.clone());
    let mut signed = unsigned.clone();
    let base = signer.sign_request(&mut signed).unwrap();
    let verified = verifier.verify_request(&signed).unwrap();
    assert!(verified.body_checked());
    let covered: Vec<String> = verified
        .components()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(covered, COMPONENTS, "tresor's default components changed");

    // raw ring, over a byte string as long as tresor's base
    let raw = RawKey::new(alg, &pkcs8);
    let raw_public = raw.public();
    let message = vec![b'x'; base.as_bytes().len()];
    let raw_signature = raw.sign(&message);

    // the httpsig crate, same key, same components
    let crate_key = CrateSecretKey::from_pem(&crate_alg, &pem).unwrap();
    let crate_public: CratePublicKey = crate_key.public_key();
    let ids: Vec<HttpMessageComponentId> = COMPONENTS
        .iter()
        .map(|s| HttpMessageComponentId::try_from(*s).unwrap())
        .collect();
    let mut params = HttpSignatureParams::try_new(&ids).unwrap();
    params.set_created(NOW.unsigned_abs()).set_keyid(KEY_ID);
    let crate_unsigned = {
        // httpsig-hyper does not add Content-Length; tresor's signer does.
        let mut r = request(Full::new(Bytes::from(body.clone())));
        r.headers_mut()
            .insert(http::header::CONTENT_LENGTH, BODY_LEN.into());
        r
    };
    let crate_sign = |request: Request<Full<Bytes>>| {
        ready(async {
            let mut request = request
                .set_content_digest(&ContentDigestType::Sha256)
                .await
                .unwrap();
            request
                .set_message_signature(&params, &crate_key, Some("sig"))
                .await
                .unwrap();
            request
        })
    };
    let crate_signed = {
        let (parts, _) = crate_sign(crate_unsigned.clone()).into_parts();
        Request::from_parts(parts, Full::new(Bytes::from(body.clone())))
    };
    let crate_verify = |request: &Request<Full<Bytes>>| {
        ready(async {
            request
                .verify_message_signature(&crate_public, Some(KEY_ID))
                .await
                .unwrap();
            request.clone().verify_content_digest().await.unwrap();
        })
    };
    crate_verify(&crate_signed);
    assert_eq!(
        crate_signed.headers()["signature-input"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        signed.headers()["signature-input"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        "both sign the same component list"
    );

    let mut group = c.benchmark_group(format!("httpsig/{}", alg.name()));
    group.bench_function("raw-ring/sign", |b| {
        b.iter(|| raw.sign(black_box(&message)));
    });
    group.bench_function("raw-ring/verify", |b| {
        b.iter(|| {
            raw_public
                .verify(black_box(&message), black_box(&raw_signature))
                .unwrap();
        });
    });
    group.bench_function("tresor/sign", |b| {
        b.iter(|| {
            let mut request = unsigned.clone();
            signer.sign_request(&mut request).unwrap();
            request
        });
    });
    group.bench_function("tresor/verify", |b| {
        b.iter(|| verifier.verify_request(black_box(&signed)).unwrap());
    });
    group.bench_function("httpsig-crate/sign", |b| {
        b.iter(|| crate_sign(crate_unsigned.clone()));
    });
    group.bench_function("httpsig-crate/verify", |b| {
        b.iter(|| crate_verify(black_box(&crate_signed)));
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_algorithm(c, Algorithm::Ed25519, AlgorithmName::Ed25519);
    bench_algorithm(
        c,
        Algorithm::EcdsaP256Sha256,
        AlgorithmName::EcdsaP256Sha256,
    );
}

criterion_group!(httpsig_benches, benches);
criterion_main!(httpsig_benches);
