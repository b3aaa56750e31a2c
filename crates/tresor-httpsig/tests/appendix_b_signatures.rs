//! RFC 9421 Appendix B.2: the example signatures verify with the B.1 test
//! keys over the example signature bases; any flipped bit fails; the
//! deterministic ones (B.2.5 HMAC, B.2.6 Ed25519) re-sign byte for byte.
//! Also: every B.1 test key loads, and private keys sign what their public
//! keys verify.
//!
//! Source of the data: RFC 9421 Appendix B, see `tests/vectors/README.md`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use base64ct::{Base64, Encoding};
use pkcs8::der::Decode;
use tresor_httpsig::{Algorithm, Error, HmacKey, PrivateKey, PublicKey, SigningKey, VerifyingKey};

fn vector(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bytes of the byte sequence in the message's `Signature:` line.
fn signature_value(signed: &str) -> Vec<u8> {
    let line = signed
        .lines()
        .find(|l| l.starts_with("Signature:"))
        .expect("a Signature field");
    // `Signature: label=:BASE64:`
    let start = line.find("=:").expect("a byte sequence") + 2;
    let rest = &line[start..];
    let end = rest.find(':').expect("the closing colon");
    Base64::decode_vec(&rest[..end]).expect("base64")
}

struct Example {
    name: &'static str,
    base: &'static str,
    signed: &'static str,
    alg: Algorithm,
}

const EXAMPLES: [Example; 6] = [
    Example {
        name: "B.2.1",
        base: "b21_request_sigbase.txt",
        signed: "b21_request_signed.txt",
        alg: Algorithm::RsaPssSha512,
    },
    Example {
        name: "B.2.2",
        base: "b22_request_sigbase.txt",
        signed: "b22_request_signed.txt",
        alg: Algorithm::RsaPssSha512,
    },
    Example {
        name: "B.2.3",
        base: "b23_request_sigbase.txt",
        signed: "b23_request_signed.txt",
        alg: Algorithm::RsaPssSha512,
    },
    Example {
        name: "B.2.4",
        base: "b24_response_sigbase.txt",
        signed: "b24_response_signed.txt",
        alg: Algorithm::EcdsaP256Sha256,
    },
    Example {
        name: "B.2.5",
        base: "b25_request_sigbase.txt",
        signed: "b25_request_signed.txt",
        alg: Algorithm::HmacSha256,
    },
    Example {
        name: "B.2.6",
        base: "b26_request_sigbase.txt",
        signed: "b26_request_signed.txt",
        alg: Algorithm::Ed25519,
    },
];

fn verifying_key(alg: Algorithm) -> Box<dyn VerifyingKey> {
    match alg {
        Algorithm::RsaPssSha512 => {
            Box::new(PublicKey::from_pem_with_alg(&vector("test-key-rsa-pss.pub"), alg).unwrap())
        }
        Algorithm::EcdsaP256Sha256 => {
            Box::new(PublicKey::from_pem(&vector("test-key-ecc-p256.pub")).unwrap())
        }
        Algorithm::HmacSha256 => {
            Box::new(HmacKey::from_base64(&vector("test-shared-secret")).unwrap())
        }
        Algorithm::Ed25519 => {
            Box::new(PublicKey::from_pem(&vector("test-key-ed25519.pub")).unwrap())
        }
        other => panic!("no example key for {other}"),
    }
}

fn signing_key(alg: Algorithm) -> Box<dyn SigningKey> {
    match alg {
        Algorithm::HmacSha256 => {
            Box::new(HmacKey::from_base64(&vector("test-shared-secret")).unwrap())
        }
        Algorithm::Ed25519 => {
            Box::new(PrivateKey::from_pem(&vector("test-key-ed25519.key")).unwrap())
        }
        other => panic!("{other} is not deterministic"),
    }
}

#[test]
fn example_signatures_verify() {
    for ex in &EXAMPLES {
        let base = vector(ex.base);
        assert!(
            !base.ends_with('\n'),
            "{}: base has a trailing newline",
            ex.name
        );
        let sig = signature_value(&vector(ex.signed));
        let key = verifying_key(ex.alg);
        assert_eq!(key.algorithm(), ex.alg);
        key.verify(base.as_bytes(), &sig)
            .unwrap_or_else(|e| panic!("{}: {e}", ex.name));
        println!("{} ({}) verifies", ex.name, ex.alg);
    }
}

#[test]
fn every_flipped_bit_fails() {
    let mut flips = 0usize;
    for ex in &EXAMPLES {
        let base = vector(ex.base).into_bytes();
        let sig = signature_value(&vector(ex.signed));
        let key = verifying_key(ex.alg);
        // Every bit of the signature.
        for i in 0..sig.len() * 8 {
            let mut bad = sig.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                key.verify(&base, &bad),
                Err(Error::BadSignature),
                "{}: signature bit {i}",
                ex.name
            );
            flips += 1;
        }
        // Every bit of the base (RSA verification is slow in debug builds,
        // so RSA examples take every 7th bit; the others every bit).
        let step = if ex.alg == Algorithm::RsaPssSha512 {
            7
        } else {
            1
        };
        for i in (0..base.len() * 8).step_by(step) {
            let mut bad = base.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                key.verify(&bad, &sig),
                Err(Error::BadSignature),
                "{}: base bit {i}",
                ex.name
            );
            flips += 1;
        }
        // Truncated and extended signatures.
        assert!(key.verify(&base, &sig[..sig.len() - 1]).is_err());
        let mut longer = sig.clone();
        longer.push(0);
        assert!(key.verify(&base, &longer).is_err());
        assert!(key.verify(&base, &[]).is_err());
    }
    println!("{flips} single-bit alterations rejected");
}

#[test]
fn deterministic_examples_resign_byte_for_byte() {
    for ex in EXAMPLES
        .iter()
        .filter(|ex| matches!(ex.alg, Algorithm::HmacSha256 | Algorithm::Ed25519))
    {
        let base = vector(ex.base);
        let expected = signature_value(&vector(ex.signed));
        let key = signing_key(ex.alg);
        assert_eq!(key.algorithm(), ex.alg);
        assert_eq!(key.sign(base.as_bytes()).unwrap(), expected, "{}", ex.name);
    }
}

#[test]
fn randomised_algorithms_sign_over_the_example_bases() {
    let pss =
        PrivateKey::from_pem_with_alg(&vector("test-key-rsa-pss.key"), Algorithm::RsaPssSha512)
            .unwrap();
    let p256 = PrivateKey::from_pem(&vector("test-key-ecc-p256.key")).unwrap();
    for (key, ex) in [(&pss, &EXAMPLES[0]), (&p256, &EXAMPLES[3])] {
        let base = vector(ex.base);
        let sig = key.sign(base.as_bytes()).unwrap();
        verifying_key(ex.alg).verify(base.as_bytes(), &sig).unwrap();
        key.public_key().verify(base.as_bytes(), &sig).unwrap();
    }
}

/// `test-key-rsa-pss.key` re-encoded as a PKCS#1 `RSA PRIVATE KEY`.
fn rsa_pss_key_as_pkcs1() -> String {
    let (_, der) = pem_rfc7468::decode_vec(vector("test-key-rsa-pss.key").as_bytes()).unwrap();
    let info = pkcs8::PrivateKeyInfoRef::from_der(&der).unwrap();
    pem_rfc7468::encode_string(
        "RSA PRIVATE KEY",
        pem_rfc7468::LineEnding::LF,
        info.private_key.as_bytes(),
    )
    .unwrap()
}

/// Every B.1 key loads (but one, see below), and what the private key
/// signs its public key verifies.
#[test]
fn test_keys_round_trip() {
    let pkcs1_pss = rsa_pss_key_as_pkcs1();
    let pairs: [(String, &str, Algorithm); 6] = [
        (
            pkcs1_pss.clone(),
            "test-key-rsa-pss.pub",
            Algorithm::RsaV15Sha256,
        ),
        (pkcs1_pss, "test-key-rsa-pss.pub", Algorithm::RsaPssSha512),
        (
            vector("test-key-rsa-pss.key"),
            "test-key-rsa-pss.pub",
            Algorithm::RsaPssSha512,
        ),
        (
            vector("test-key-ecc-p256.key"),
            "test-key-ecc-p256.pub",
            Algorithm::EcdsaP256Sha256,
        ),
        (
            vector("test-key-ecc-p384.key"),
            "test-key-ecc-p384.pub",
            Algorithm::EcdsaP384Sha384,
        ),
        (
            vector("test-key-ed25519.key"),
            "test-key-ed25519.pub",
            Algorithm::Ed25519,
        ),
    ];
    for (private_pem, public_file, alg) in pairs {
        let private = PrivateKey::from_pem_with_alg(&private_pem, alg)
            .unwrap_or_else(|e| panic!("{alg} private key for {public_file}: {e}"));
        let public = PublicKey::from_pem_with_alg(&vector(public_file), alg)
            .unwrap_or_else(|e| panic!("{public_file}: {e}"));
        assert_eq!(private.public_key(), public, "{public_file}");
        assert_eq!(private.algorithm(), alg);
        let msg = b"\"@method\": POST\n\"@signature-params\": ()";
        let sig = private.sign(msg).unwrap();
        public.verify(msg, &sig).unwrap();
        assert_eq!(public.verify(b"other", &sig), Err(Error::BadSignature));
        // The PKCS#8 export loads back to the same key.
        let again = PrivateKey::from_pem_with_alg(&private.to_pkcs8_pem(), alg).unwrap();
        assert_eq!(again.public_key(), public);
        public.verify(msg, &again.sign(msg).unwrap()).unwrap();
    }

    // test-key-rsa.key (PKCS#1) has unbalanced primes (1088 and 968 bits); *ring*
    // signs only with p and q of half the modulus size, so it is refused
    // with a clear error. Its public key (PKCS#1) loads and verifies.
    match PrivateKey::from_pem_with_alg(&vector("test-key-rsa.key"), Algorithm::RsaV15Sha256) {
        Err(Error::InvalidKey { reason }) => assert!(reason.contains("half"), "{reason}"),
        other => panic!("test-key-rsa.key: {other:?}"),
    }
    for alg in [Algorithm::RsaV15Sha256, Algorithm::RsaPssSha512] {
        let public = PublicKey::from_pem_with_alg(&vector("test-key-rsa.pub"), alg).unwrap();
        assert_eq!(public.algorithm(), alg);
        assert_eq!(public.verify(b"msg", &[0u8; 256]), Err(Error::BadSignature));
        // PKCS#1 in, SPKI out, same key.
        assert_eq!(
            PublicKey::from_pem_with_alg(&public.to_spki_pem(), alg).unwrap(),
            public
        );
    }

    // Keys whose type fixes the algorithm load without one.
    for file in [
        "test-key-rsa-pss.key",
        "test-key-ecc-p256.key",
        "test-key-ecc-p384.key",
        "test-key-ed25519.key",
    ] {
        PrivateKey::from_pem(&vector(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    assert_eq!(
        PrivateKey::from_pem(&vector("test-key-rsa-pss.key"))
            .unwrap()
            .algorithm(),
        Algorithm::RsaPssSha512,
        "an id-RSASSA-PSS key is rsa-pss-sha512"
    );
    // A PSS-only key refuses PKCS#1 v1.5.
    assert!(matches!(
        PrivateKey::from_pem_with_alg(&vector("test-key-rsa-pss.key"), Algorithm::RsaV15Sha256),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
    // An rsaEncryption key needs a choice.
    let pkcs1 = rsa_pss_key_as_pkcs1();
    let errors = [
        PrivateKey::from_pem(&vector("test-key-rsa.key")).unwrap_err(),
        PrivateKey::from_pem(&pkcs1).unwrap_err(),
        PublicKey::from_pem(&vector("test-key-rsa.pub")).unwrap_err(),
        PublicKey::from_pem(&vector("test-key-rsa-pss.pub")).unwrap_err(),
    ];
    for err in errors {
        match err {
            Error::InvalidKey { reason } => {
                assert!(reason.contains("rsa-pss-sha512"), "{reason}");
                assert!(reason.contains("rsa-v1_5-sha256"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn rfc_keys_have_expected_shapes() {
    let rsa =
        PublicKey::from_pem_with_alg(&vector("test-key-rsa.pub"), Algorithm::RsaV15Sha256).unwrap();
    assert_eq!(rsa.rsa_bits(), Some(2048));
    let pss =
        PublicKey::from_pem_with_alg(&vector("test-key-rsa-pss.pub"), Algorithm::RsaPssSha512)
            .unwrap();
    assert_eq!(pss.rsa_bits(), Some(2048));
    assert_eq!(
        PublicKey::from_pem(&vector("test-key-ecc-p384.pub"))
            .unwrap()
            .algorithm(),
        Algorithm::EcdsaP384Sha384
    );
}
