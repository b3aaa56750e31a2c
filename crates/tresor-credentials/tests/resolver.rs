//! The registry as a `tresor_httpsig::KeyResolver`: a request signed with
//! a client's registered key verifies through the registry, and only
//! while the client and the key are usable.
#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
mod keys_support;

use std::sync::Arc;

use common::{Fixture, T0, fixture};
use keys_support::{TestKey, register, register_with};
use tresor_credentials::{Registry, client::KeyState, keys::KeyOptions};
use tresor_httpsig::{Algorithm, Error, KeyResolver, Policy, PrivateKey, Signer, Verifier};

fn signed_request(key: &PrivateKey, kid: &str) -> http::Request<Vec<u8>> {
    let mut request = http::Request::post("https://api.bank.example/v1/payments")
        .header("content-type", "application/json")
        .body(br#"{"amount":"120.00","currency":"EUR"}"#.to_vec())
        .unwrap();
    use tresor_httpsig::SigningKey;
    let key = PrivateKey::from_pem_with_alg(&key.to_pkcs8_pem(), key.algorithm()).unwrap();
    Signer::new(Arc::new(key), kid)
        .sign_request(&mut request)
        .unwrap();
    request
}

fn setup() -> (
    Arc<Registry>,
    Arc<tresor_credentials::FixedClock>,
    tresor_credentials::ClientId,
) {
    let Fixture {
        registry, clock, ..
    } = fixture();
    let id = registry
        .register_without_secret("signer", &["payments:write"])
        .unwrap();
    (Arc::new(registry), clock, id)
}

#[test]
fn a_signed_request_verifies_through_the_registry() {
    let (registry, _clock, id) = setup();
    for alg in [
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::Ed25519,
    ] {
        let key = TestKey::generate(alg);
        let kid = register(&registry, &id, &key).kid;
        let verifier = Verifier::new(registry.clone(), Policy::new());
        let request = signed_request(key.httpsig(), &kid);
        let verified = verifier.verify_request(&request).unwrap();
        assert_eq!(verified.key_id(), kid);
        assert_eq!(verified.algorithm(), alg);
        let (client, _) = registry.client_for_key(verified.key_id()).unwrap().unwrap();
        assert_eq!(client.id, id);
        assert_eq!(client.scopes, ["payments:write"]);
        // Tampering still fails, through the registry's key.
        let mut altered = request.clone();
        *altered.body_mut() = b"{}".to_vec();
        assert!(verifier.verify_request(&altered).is_err());
    }
}

#[test]
fn rsa_pss_keys_resolve_for_ps512_only() {
    let (registry, _clock, id) = setup();
    let key = TestKey::rsa_ps512();
    let kid = register(&registry, &id, &key).kid;
    let verifier = Verifier::new(registry.clone(), Policy::new());
    verifier
        .verify_request(&signed_request(key.httpsig(), &kid))
        .unwrap();

    let (registry, _clock, id) = setup();
    let key = TestKey::rsa_ps256();
    let kid = register(&registry, &id, &key).kid;
    assert!(matches!(
        registry.resolve(&kid),
        Err(Error::UnknownKey { .. })
    ));
}

#[test]
fn only_usable_keys_resolve() {
    let (registry, clock, id) = setup();
    let key = TestKey::generate(Algorithm::Ed25519);
    let kid = register_with(
        &registry,
        &id,
        &key,
        KeyOptions::new().validity(Some(T0 + 10), Some(T0 + 100)),
    )
    .kid;
    let unknown = |r: Result<_, Error>| matches!(r, Err(Error::UnknownKey { .. }));
    // Before its window, inside, at its end.
    assert!(unknown(registry.resolve(&kid)));
    clock.set(T0 + 10);
    assert_eq!(
        registry.resolve(&kid).unwrap().algorithm(),
        Algorithm::Ed25519
    );
    clock.set(T0 + 100);
    assert!(unknown(registry.resolve(&kid)));
    clock.set(T0 + 50);
    // Verify-only still verifies.
    registry
        .set_key_state(&id, &kid, KeyState::VerifyOnly)
        .unwrap();
    assert!(registry.resolve(&kid).is_ok());
    // A suspended client's keys do not.
    registry.suspend(&id).unwrap();
    assert!(unknown(registry.resolve(&kid)));
    registry.reactivate(&id).unwrap();
    assert!(registry.resolve(&kid).is_ok());
    // Revoked: never again.
    registry.revoke_key(&id, &kid).unwrap();
    assert!(unknown(registry.resolve(&kid)));
    let verifier = Verifier::new(registry.clone(), Policy::new());
    assert!(matches!(
        verifier.verify_request(&signed_request(key.httpsig(), &kid)),
        Err(Error::UnknownKey { .. })
    ));
    assert!(unknown(registry.resolve("no-such-key")));
}
