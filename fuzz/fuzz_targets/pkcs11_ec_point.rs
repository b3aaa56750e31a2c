//! The `CKA_EC_POINT` reader of `tresor_pkcs11` (`SigningPublicKey::from_ec_point`)
//! on arbitrary bytes.
//!
//! Input: one selector byte (even: ECDSA P-256, odd: Ed25519), then the
//! attribute's value as a token would return it.
//!
//! Properties: nothing panics; an accepted P-256 key is an uncompressed
//! point (65 bytes, `04 || x || y`) that `p256` accepts, an accepted
//! Ed25519 key is 32 bytes; the SPKI ends with the key; the key read back
//! from its bare bytes and from their DER `OCTET STRING` is equal; a
//! refused value's error is one line of at most 200 bytes (it never quotes
//! the value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_pkcs11::{SignatureAlgorithm, SigningPublicKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, value)) = data.split_first() else {
        return;
    };
    let alg = if selector % 2 == 0 {
        SignatureAlgorithm::EcdsaP256Sha256
    } else {
        SignatureAlgorithm::Ed25519
    };
    match SigningPublicKey::from_ec_point(alg, value) {
        Ok(key) => {
            let raw = key.as_bytes();
            match alg {
                SignatureAlgorithm::Ed25519 => assert_eq!(raw.len(), 32),
                _ => {
                    assert_eq!(raw.len(), 65);
                    assert_eq!(raw.first(), Some(&0x04));
                    assert!(p256::PublicKey::from_sec1_bytes(raw).is_ok());
                }
            }
            assert!(key.to_spki_der().ends_with(raw));
            assert!(!key.to_jwk().is_empty());
            let bare = SigningPublicKey::from_ec_point(alg, raw).expect("the bare key reads back");
            assert_eq!(bare, key);
            let len = u8::try_from(raw.len()).expect("keys are short");
            let wrapped: Vec<u8> = [0x04, len].iter().chain(raw).copied().collect();
            let again =
                SigningPublicKey::from_ec_point(alg, &wrapped).expect("the wrapped key reads back");
            assert_eq!(again, key);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.len() <= 200, "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
});
