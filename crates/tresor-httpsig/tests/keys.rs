//! Keys: PEM, DER and JWK loading and round trips, RFC 7638 thumbprints,
//! refusals (private members, algorithm mismatch, small RSA, unsupported
//! curves, garbage), redacted `Debug`, generation.
//!
//! Data: RFC 9421 B.1 keys in `tests/vectors/`, generated keys in
//! `tests/vectors/generated/` (see its README), RFC 7638 section 3.1 and
//! RFC 8037 appendix A inline.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use base64ct::{Base64UrlUnpadded, Encoding};
use pkcs8::der::Decode;
use proptest::prelude::*;
use tresor_httpsig::{
    Algorithm, Error, HmacKey, PrivateKey, PublicKey, SigningKey, VerifyingKey,
    keys::HMAC_MIN_SECRET_LEN,
};

fn vector(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn is_invalid_key(r: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(r, Err(Error::InvalidKey { .. }))
}

/// RFC 7638 section 3.1 (the RSA key of RFC 7517 appendix A.1).
const RFC7638_JWK: &str = r#"{
  "kty": "RSA",
  "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  "e": "AQAB",
  "alg": "RS256",
  "kid": "2011-04-29"
}"#;

#[test]
fn rfc7638_thumbprint() {
    let key = PublicKey::from_jwk(RFC7638_JWK).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RsaV15Sha256);
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // The thumbprint depends on the key only: not on alg, kid or format.
    let pss = PublicKey::from_jwk(&RFC7638_JWK.replace("RS256", "PS512")).unwrap();
    assert_eq!(pss.algorithm(), Algorithm::RsaPssSha512);
    assert_eq!(pss.thumbprint(), key.thumbprint());
    let via_pem =
        PublicKey::from_pem_with_alg(&key.to_spki_pem(), Algorithm::RsaV15Sha256).unwrap();
    assert_eq!(via_pem.thumbprint(), key.thumbprint());
    assert_eq!(via_pem, key);
}

/// RFC 8037 appendix A.1, A.3, A.4: an Ed25519 private JWK, its thumbprint
/// and a JWS signature over a known input.
#[test]
fn rfc8037_ed25519_jwk() {
    let private = PrivateKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519",
            "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    assert_eq!(private.algorithm(), Algorithm::Ed25519);
    assert_eq!(
        private.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let sig = private.sign(input).unwrap();
    assert_eq!(
        b64url(&sig),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    let public = PublicKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    public.verify(input, &sig).unwrap();
    assert_eq!(private.public_key(), public);
}

/// The RFC 9421 test keys as private JWKs (built from their PEM) load to
/// the same keys.
#[test]
fn private_jwk_matches_pem() {
    // P-256 from SEC1.
    let pem = vector("test-key-ecc-p256.key");
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    let ec = sec1::EcPrivateKey::from_der(&der).unwrap();
    let point = ec.public_key.unwrap();
    let jwk = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","d":"{}","alg":"ES256"}}"#,
        b64url(&point[1..33]),
        b64url(&point[33..]),
        b64url(ec.private_key)
    );
    let from_jwk = PrivateKey::from_jwk(&jwk).unwrap();
    let from_pem = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(from_jwk.public_key(), from_pem.public_key());
    let sig = from_jwk.sign(b"m").unwrap();
    assert_eq!(sig.len(), 64);
    from_pem.public_key().verify(b"m", &sig).unwrap();
    // Its PKCS#8 export loads again.
    let again = PrivateKey::from_pem(&from_jwk.to_pkcs8_pem()).unwrap();
    assert_eq!(again.public_key(), from_pem.public_key());
    // A wrong public half is refused.
    let mut other = point.to_vec();
    other[40] ^= 1;
    let bad = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","d":"{}"}}"#,
        b64url(&other[1..33]),
        b64url(&other[33..]),
        b64url(ec.private_key)
    );
    assert!(is_invalid_key(PrivateKey::from_jwk(&bad)));

    // Ed25519 from PKCS#8 v1 (seed inside an OCTET STRING).
    let pem = vector("test-key-ed25519.key");
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    let info = pkcs8::PrivateKeyInfoRef::from_der(&der).unwrap();
    let seed = &info.private_key.as_bytes()[2..];
    let from_pem = PrivateKey::from_pem(&pem).unwrap();
    let public_jwk: serde_json::Value =
        serde_json::from_str(&from_pem.public_key().to_jwk()).unwrap();
    let jwk = format!(
        r#"{{"kty":"OKP","crv":"Ed25519","x":{},"d":"{}"}}"#,
        public_jwk["x"],
        b64url(seed)
    );
    let from_jwk = PrivateKey::from_jwk(&jwk).unwrap();
    assert_eq!(from_jwk.sign(b"m").unwrap(), from_pem.sign(b"m").unwrap());
    let again = PrivateKey::from_pem(&from_jwk.to_pkcs8_pem()).unwrap();
    assert_eq!(again.sign(b"m").unwrap(), from_pem.sign(b"m").unwrap());
}

#[test]
fn rsa_private_jwk() {
    let jwk = vector("generated/rsa2048.jwk");
    let key = PrivateKey::from_jwk(&jwk).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RsaPssSha512);
    let pem =
        PrivateKey::from_pem_with_alg(&vector("generated/rsa2048.pem"), Algorithm::RsaPssSha512)
            .unwrap();
    assert_eq!(key.public_key(), pem.public_key());
    assert_eq!(key.public_key().rsa_bits(), Some(2048));
    let sig = key.sign(b"m").unwrap();
    assert_eq!(sig.len(), 256);
    pem.public_key().verify(b"m", &sig).unwrap();
    // The PKCS#8 export of a JWK key loads again.
    let again =
        PrivateKey::from_pem_with_alg(&key.to_pkcs8_pem(), Algorithm::RsaPssSha512).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    pem.public_key()
        .verify(b"x", &again.sign(b"x").unwrap())
        .unwrap();
    // The JWK says PS512; asking for RS256 is a mismatch.
    assert!(matches!(
        PrivateKey::from_jwk_with_alg(&jwk, Algorithm::RsaV15Sha256),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
    // Without alg the caller must choose.
    let mut value: serde_json::Value = serde_json::from_str(&jwk).unwrap();
    value.as_object_mut().unwrap().remove("alg");
    let no_alg = value.to_string();
    assert!(is_invalid_key(PrivateKey::from_jwk(&no_alg)));
    let v15 = PrivateKey::from_jwk_with_alg(&no_alg, Algorithm::RsaV15Sha256).unwrap();
    assert_eq!(v15.algorithm(), Algorithm::RsaV15Sha256);
    // PKCS#1 v1.5 is deterministic.
    assert_eq!(v15.sign(b"m").unwrap(), v15.sign(b"m").unwrap());
    // A missing CRT member is refused.
    value.as_object_mut().unwrap().remove("qi");
    assert!(is_invalid_key(PrivateKey::from_jwk_with_alg(
        &value.to_string(),
        Algorithm::RsaPssSha512
    )));
    // The public JWK of a private key has no private member.
    let public: serde_json::Value = serde_json::from_str(&key.public_key().to_jwk()).unwrap();
    for member in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(public.get(member).is_none(), "{member}");
    }
    assert_eq!(public["alg"], "PS512");
}

#[test]
fn public_round_trips_for_every_generated_key() {
    for alg in [
        Algorithm::Ed25519,
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
    ] {
        let private = PrivateKey::generate(alg).unwrap();
        let public = private.public_key();
        assert_eq!(public.algorithm(), alg);

        let from_pem = PublicKey::from_pem(&public.to_spki_pem()).unwrap();
        assert_eq!(from_pem, public);
        let from_der = PublicKey::from_der_spki(&public.to_der_spki()).unwrap();
        assert_eq!(from_der, public);
        let jwk = public.to_jwk();
        let from_jwk = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(from_jwk, public);
        assert_eq!(from_jwk.thumbprint(), public.thumbprint());
        assert_eq!(private.thumbprint(), public.thumbprint());
        assert_eq!(public.thumbprint().len(), 43);

        let reloaded = PrivateKey::from_pem(&private.to_pkcs8_pem()).unwrap();
        assert_eq!(reloaded.public_key(), public);
        let der_loaded = PrivateKey::from_pkcs8_der(&private.to_pkcs8_der(), None).unwrap();
        assert_eq!(der_loaded.public_key(), public);

        let sig = private.sign(b"base").unwrap();
        let expected_len = match alg {
            Algorithm::EcdsaP384Sha384 => 96,
            _ => 64,
        };
        assert_eq!(sig.len(), expected_len, "{alg}");
        public.verify(b"base", &sig).unwrap();
        reloaded.public_key().verify(b"base", &sig).unwrap();
        assert_eq!(public.verify(b"bass", &sig), Err(Error::BadSignature));

        // Another key of the same algorithm does not verify it.
        let other = PrivateKey::generate(alg).unwrap().public_key();
        assert_ne!(other, public);
        assert_eq!(other.verify(b"base", &sig), Err(Error::BadSignature));
    }
}

#[test]
fn generate_refuses_rsa_and_hmac() {
    for alg in [
        Algorithm::RsaPssSha512,
        Algorithm::RsaV15Sha256,
        Algorithm::HmacSha256,
    ] {
        assert!(matches!(
            PrivateKey::generate(alg),
            Err(Error::UnsupportedAlgorithm { .. })
        ));
    }
}

#[test]
fn raw_public_keys() {
    let private = PrivateKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&private.public_key().to_jwk()).unwrap();
    let mut point = vec![4u8];
    point.extend(Base64UrlUnpadded::decode_vec(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(Base64UrlUnpadded::decode_vec(jwk["y"].as_str().unwrap()).unwrap());
    let raw = PublicKey::from_raw(Algorithm::EcdsaP256Sha256, &point).unwrap();
    assert_eq!(raw, private.public_key());
    // Compressed and truncated points are refused.
    let mut compressed = vec![2u8];
    compressed.extend_from_slice(&point[1..33]);
    assert!(is_invalid_key(PublicKey::from_raw(
        Algorithm::EcdsaP256Sha256,
        &compressed
    )));
    assert!(is_invalid_key(PublicKey::from_raw(
        Algorithm::EcdsaP256Sha256,
        &point[..64]
    )));
    assert!(is_invalid_key(PublicKey::from_raw(
        Algorithm::EcdsaP384Sha384,
        &point
    )));
    assert!(is_invalid_key(PublicKey::from_raw(
        Algorithm::Ed25519,
        &[0u8; 31]
    )));
    assert!(matches!(
        PublicKey::from_raw(Algorithm::RsaPssSha512, &point),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn public_jwk_refuses_private_members() {
    let base = PrivateKey::generate(Algorithm::EcdsaP256Sha256)
        .unwrap()
        .public_key()
        .to_jwk();
    let mut value: serde_json::Value = serde_json::from_str(&base).unwrap();
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        let mut with = value.clone();
        with[member] = if member == "oth" {
            serde_json::json!([{"r": "AQAB", "d": "AQAB", "t": "AQAB"}])
        } else {
            serde_json::json!("AQAB")
        };
        match PublicKey::from_jwk(&with.to_string()) {
            Err(Error::InvalidKey { reason }) => assert!(reason.contains(member), "{reason}"),
            other => panic!("{member}: {other:?}"),
        }
    }
    // RSA too.
    let rsa = vector("generated/rsa2048.jwk");
    assert!(is_invalid_key(PublicKey::from_jwk(&rsa)));
    // A symmetric JWK is not a public key.
    assert!(is_invalid_key(PublicKey::from_jwk(
        r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#
    )));
    // The private key's own JWK is fine once public.
    value.as_object_mut().unwrap().remove("alg");
    PublicKey::from_jwk(&value.to_string()).unwrap();
}

#[test]
fn algorithm_mismatch_refused() {
    let p256 = PrivateKey::generate(Algorithm::EcdsaP256Sha256)
        .unwrap()
        .public_key();
    let jwk = p256.to_jwk();
    // The JWK's alg must fit the key.
    for wrong in ["ES384", "EdDSA", "PS512", "RS256", "HS256"] {
        let text = jwk.replace("ES256", wrong);
        assert!(
            matches!(
                PublicKey::from_jwk(&text),
                Err(Error::AlgorithmNotAllowed { .. })
            ),
            "{wrong}"
        );
    }
    // Unknown JOSE algorithms are unsupported, not guessed.
    for unknown in ["ES512", "PS256", "RS512", "none", "ES256K"] {
        assert!(
            matches!(
                PublicKey::from_jwk(&jwk.replace("ES256", unknown)),
                Err(Error::UnsupportedAlgorithm { .. })
            ),
            "{unknown}"
        );
    }
    // The caller's choice must agree with the JWK and the key.
    assert!(matches!(
        PublicKey::from_jwk_with_alg(&jwk, Algorithm::EcdsaP384Sha384),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
    PublicKey::from_jwk_with_alg(&jwk, Algorithm::EcdsaP256Sha256).unwrap();
    let pem = p256.to_spki_pem();
    for wrong in [
        Algorithm::Ed25519,
        Algorithm::EcdsaP384Sha384,
        Algorithm::RsaPssSha512,
        Algorithm::HmacSha256,
    ] {
        match PublicKey::from_pem_with_alg(&pem, wrong) {
            Err(Error::AlgorithmNotAllowed { alg, key_alg }) => {
                assert_eq!(alg, wrong.name());
                assert_eq!(key_alg, "ecdsa-p256-sha256");
            }
            other => panic!("{wrong}: {other:?}"),
        }
    }
    // An RSA key refuses non-RSA algorithms.
    assert!(matches!(
        PublicKey::from_pem_with_alg(&vector("test-key-rsa.pub"), Algorithm::EcdsaP256Sha256),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
    assert!(matches!(
        PrivateKey::from_pem_with_alg(&vector("test-key-ed25519.key"), Algorithm::HmacSha256),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
}

#[test]
fn jwk_use_and_key_ops() {
    let public = PrivateKey::generate(Algorithm::Ed25519)
        .unwrap()
        .public_key();
    let mut value: serde_json::Value = serde_json::from_str(&public.to_jwk()).unwrap();
    value["use"] = "sig".into();
    value["key_ops"] = serde_json::json!(["verify"]);
    value["kid"] = "k1".into();
    value["x5t"] = "ignored".into();
    PublicKey::from_jwk(&value.to_string()).unwrap();
    let mut enc = value.clone();
    enc["use"] = "enc".into();
    assert!(is_invalid_key(PublicKey::from_jwk(&enc.to_string())));
    let mut ops = value.clone();
    ops["key_ops"] = serde_json::json!(["encrypt"]);
    assert!(is_invalid_key(PublicKey::from_jwk(&ops.to_string())));
}

#[test]
fn malformed_jwks() {
    let good = PrivateKey::generate(Algorithm::EcdsaP256Sha256)
        .unwrap()
        .public_key()
        .to_jwk();
    let value: serde_json::Value = serde_json::from_str(&good).unwrap();
    let x = value["x"].as_str().unwrap();
    let y = value["y"].as_str().unwrap();
    let cases = [
        String::new(),
        "null".into(),
        "[]".into(),
        "{}".into(),
        r#"{"kty":"EC"}"#.into(),
        format!(r#"{{"kty":"EC","crv":"P-521","x":"{x}","y":"{y}"}}"#),
        format!(r#"{{"kty":"EC","crv":"P-384","x":"{x}","y":"{y}"}}"#),
        format!(r#"{{"kty":"EC","crv":"P-256","x":"{x}=","y":"{y}"}}"#),
        format!(r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}","x":"{x}"}}"#),
        format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{y}"}}"#,
            &x[1..]
        ),
        format!(r#"{{"kty":"EC","crv":"P-256","x":"{x}"}}"#),
        format!(r#"{{"kty":"EC","crv":"P-256","x":1,"y":"{y}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"X25519","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed448","x":"{x}"}}"#),
        format!(r#"{{"kty":"DSA","x":"{x}"}}"#),
        r#"{"kty":"RSA","n":"AQAB","e":"AQAB","alg":"PS512"}"#.into(),
    ];
    for case in &cases {
        assert!(
            matches!(
                PublicKey::from_jwk(case),
                Err(Error::InvalidKey { .. } | Error::UnsupportedAlgorithm { .. })
            ),
            "{case}"
        );
        assert!(PrivateKey::from_jwk(case).is_err(), "{case}");
    }
    // A public JWK is not a private key.
    assert!(is_invalid_key(PrivateKey::from_jwk(&good)));
}

#[test]
fn small_rsa_refused() {
    for alg in [Algorithm::RsaPssSha512, Algorithm::RsaV15Sha256] {
        match PublicKey::from_pem_with_alg(&vector("generated/rsa1024.pub"), alg) {
            Err(Error::InvalidKey { reason }) => assert!(reason.contains("too small"), "{reason}"),
            other => panic!("{other:?}"),
        }
        match PrivateKey::from_pem_with_alg(&vector("generated/rsa1024.key"), alg) {
            Err(Error::InvalidKey { reason }) => assert!(reason.contains("small"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    // As a JWK too (n of 2040 bits).
    let n = b64url(&[0xffu8; 255]);
    let jwk = format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"PS512"}}"#);
    assert!(is_invalid_key(PublicKey::from_jwk(&jwk)));
    // 2048 bits is the floor.
    let n = b64url(&[0xffu8; 256]);
    let jwk = format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"PS512"}}"#);
    PublicKey::from_jwk(&jwk).unwrap();
    // Even moduli and bad exponents are refused.
    let mut even = [0xffu8; 256];
    even[255] = 0xfe;
    let jwk = format!(
        r#"{{"kty":"RSA","n":"{}","e":"AQAB","alg":"PS512"}}"#,
        b64url(&even)
    );
    assert!(is_invalid_key(PublicKey::from_jwk(&jwk)));
    for e in ["AQ", "Ag", "AAE", "AQAA"] {
        let jwk = format!(r#"{{"kty":"RSA","n":"{n}","e":"{e}","alg":"PS512"}}"#);
        assert!(is_invalid_key(PublicKey::from_jwk(&jwk)), "e={e}");
    }
}

#[test]
fn unsupported_curves_refused() {
    for file in ["generated/secp256k1.pub", "generated/p521.pub"] {
        match PublicKey::from_pem(&vector(file)) {
            Err(Error::InvalidKey { reason }) => assert!(reason.contains("curve"), "{reason}"),
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn pem_labels() {
    assert!(is_invalid_key(PublicKey::from_pem(&vector(
        "test-key-ed25519.key"
    ))));
    assert!(is_invalid_key(PrivateKey::from_pem(&vector(
        "test-key-ed25519.pub"
    ))));
    let encrypted = vector("test-key-ed25519.key").replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
    match PrivateKey::from_pem(&encrypted) {
        Err(Error::InvalidKey { reason }) => assert!(reason.contains("encrypted"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let cert = vector("test-key-ed25519.pub").replace("PUBLIC KEY", "CERTIFICATE");
    assert!(is_invalid_key(PublicKey::from_pem(&cert)));
    // Surrounding whitespace is fine; a second block or junk is not.
    let padded = format!("\n\n  {}  \n", vector("test-key-ed25519.pub").trim());
    PublicKey::from_pem(&padded).unwrap();
    let twice = format!(
        "{}{}",
        vector("test-key-ed25519.pub"),
        vector("test-key-ed25519.pub")
    );
    assert!(is_invalid_key(PublicKey::from_pem(&twice)));
    // Oversized input is refused before parsing.
    let huge = "A".repeat(100_000);
    assert!(matches!(
        PublicKey::from_pem(&huge),
        Err(Error::LimitExceeded { .. })
    ));
}

#[test]
fn debug_never_shows_key_material() {
    let pem = vector("test-key-ed25519.key");
    let key = PrivateKey::from_pem(&pem).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("Ed25519"), "{debug}");
    assert!(debug.contains(&key.thumbprint()), "{debug}");
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    let seed = &der[der.len() - 32..];
    for needle in [
        hex::encode(seed),
        hex::encode_upper(seed),
        b64url(seed),
        base64ct::Base64::encode_string(seed),
        format!("{:?}", &seed[..4]),
    ] {
        assert!(!debug.contains(&needle), "{debug}");
    }
    assert!(!format!("{key:#?}").contains(&hex::encode(seed)));

    let secret = vector("test-shared-secret");
    let hmac = HmacKey::from_base64(&secret).unwrap();
    let debug = format!("{hmac:?} {hmac:#?}");
    assert!(!debug.contains(secret.trim()), "{debug}");
    assert!(!debug.contains(&secret.trim()[..8]), "{debug}");
    let raw = base64ct::Base64::decode_vec(secret.trim()).unwrap();
    assert!(!debug.contains(&hex::encode(&raw)), "{debug}");
    assert!(!debug.contains(&format!("{:?}", &raw[..4])), "{debug}");
    assert!(debug.contains("HmacSha256"), "{debug}");
}

#[test]
fn hmac_keys() {
    let secret = vector("test-shared-secret");
    let key = HmacKey::from_base64(&format!("  {}\n\n", secret.trim())).unwrap();
    assert_eq!(SigningKey::algorithm(&key), Algorithm::HmacSha256);
    assert_eq!(VerifyingKey::algorithm(&key), Algorithm::HmacSha256);
    let mac = key.sign(b"base").unwrap();
    assert_eq!(mac.len(), 32);
    key.verify(b"base", &mac).unwrap();
    assert_eq!(key.verify(b"base", &mac[..31]), Err(Error::BadSignature));
    assert_eq!(key.verify(b"Base", &mac), Err(Error::BadSignature));
    let other = HmacKey::new(&[1u8; 32]).unwrap();
    assert_eq!(other.verify(b"base", &mac), Err(Error::BadSignature));

    assert_eq!(HMAC_MIN_SECRET_LEN, 32);
    assert!(is_invalid_key(HmacKey::new(&[0u8; 31])));
    assert!(is_invalid_key(HmacKey::new(b"")));
    HmacKey::new(&[0u8; 32]).unwrap();
    assert!(is_invalid_key(HmacKey::from_base64("c2hvcnQ=")));
    assert!(is_invalid_key(HmacKey::from_base64("not base64!")));
    assert!(is_invalid_key(HmacKey::from_base64(
        &secret.replace('=', "")
    )));
}

proptest! {
    #[test]
    fn garbage_text_is_an_error_not_a_panic(text in "\\PC{0,400}") {
        prop_assert!(PublicKey::from_pem(&text).is_err());
        prop_assert!(PrivateKey::from_pem(&text).is_err());
        prop_assert!(PublicKey::from_jwk(&text).is_err());
        prop_assert!(PrivateKey::from_jwk(&text).is_err());
        let _ = HmacKey::from_base64(&text);
    }

    #[test]
    fn garbage_pem_bodies_are_errors(
        label in prop::sample::select(vec![
            "PUBLIC KEY", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "RSA PUBLIC KEY",
        ]),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let pem = pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &body).unwrap();
        prop_assert!(PublicKey::from_pem(&pem).is_err());
        prop_assert!(PrivateKey::from_pem(&pem).is_err());
        prop_assert!(PublicKey::from_der_spki(&body).is_err());
    }

    #[test]
    fn mutated_keys_never_panic(
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        which in 0usize..4,
    ) {
        let file = ["test-key-ecc-p256.key", "test-key-ed25519.key", "test-key-rsa-pss.key", "test-key-ecc-p384.pub"][which];
        let (label, mut der) = {
            let text = vector(file);
            let (label, der) = pem_rfc7468::decode_vec(text.as_bytes()).unwrap();
            (label.to_owned(), der)
        };
        let i = index.index(der.len());
        der[i] = byte;
        let pem = pem_rfc7468::encode_string(&label, pem_rfc7468::LineEnding::LF, &der).unwrap();
        let _ = PrivateKey::from_pem_with_alg(&pem, Algorithm::RsaPssSha512);
        let _ = PrivateKey::from_pem(&pem);
        let _ = PublicKey::from_pem(&pem);
        let _ = PublicKey::from_der_spki(&der);
    }

    #[test]
    fn jwk_shaped_garbage_never_panics(
        kty in prop::sample::select(vec!["EC", "OKP", "RSA", "oct", "x"]),
        crv in prop::sample::select(vec!["P-256", "P-384", "Ed25519", "P-521", ""]),
        x in "[A-Za-z0-9_-]{0,70}",
        y in "[A-Za-z0-9_-]{0,70}",
        d in proptest::option::of("[A-Za-z0-9_-]{0,70}"),
    ) {
        let mut jwk = format!(r#"{{"kty":"{kty}","crv":"{crv}","x":"{x}","y":"{y}","n":"{x}","e":"{y}""#);
        if let Some(d) = d {
            jwk.push_str(&format!(r#","d":"{d}""#));
        }
        jwk.push('}');
        let _ = PublicKey::from_jwk(&jwk);
        let _ = PrivateKey::from_jwk(&jwk);
    }
}
