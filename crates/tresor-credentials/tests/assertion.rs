//! `private_key_jwt` (RFC 7523 section 3): each claim rule, algorithm
//! pinning, key selection and states, replay, and the uniform answer.
#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
mod keys_support;

use std::sync::Arc;

use common::{Fixture, T0, fixture};
use keys_support::{TestKey, b64, jws, register, register_with};
use serde_json::{Value, json};
use tresor_credentials::{
    AssertionVerifier, AuthError, ClientId, assertion::MemoryReplayCache, assertion::ReplayCache,
    audit::AuthOutcome, audit::FailureReason, client::KeyState, keys::KeyOptions,
};
use tresor_httpsig::Algorithm;

const ISSUER: &str = "https://as.bank.example";

struct Setup {
    f: Fixture,
    id: ClientId,
    key: TestKey,
    kid: String,
    verifier: AssertionVerifier,
}

fn setup_with(key: TestKey) -> Setup {
    let f = fixture();
    let id = f
        .registry
        .register_without_secret("jwt client", &["payments:read"])
        .unwrap();
    let kid = register(&f.registry, &id, &key).kid;
    Setup {
        f,
        id,
        key,
        kid,
        verifier: AssertionVerifier::new(ISSUER),
    }
}

fn setup() -> Setup {
    setup_with(TestKey::generate(Algorithm::EcdsaP256Sha256))
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn claims(id: &ClientId) -> Value {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    json!({
        "iss": id.as_str(),
        "sub": id.as_str(),
        "aud": ISSUER,
        "exp": T0 + 60,
        "iat": T0,
        "jti": format!("jti-{n}"),
    })
}

fn header(s: &Setup) -> Value {
    json!({"alg": s.key.jose(), "kid": s.kid, "typ": "JWT"})
}

impl Setup {
    fn run(&self, assertion: &str, client_id: Option<&str>) -> Result<(), AuthError> {
        self.verifier
            .authenticate(&self.f.registry, assertion, client_id, None)
            .map(|_| ())
    }
    fn expect(&self, assertion: &str, reason: FailureReason) {
        assert_eq!(self.run(assertion, None), Err(AuthError::InvalidClient));
        assert_eq!(self.f.audit.last_reason(), Some(reason));
    }
    fn with_claims(&self, change: impl FnOnce(&mut Value)) -> String {
        let mut c = claims(&self.id);
        change(&mut c);
        jws(&self.key, &header(self), &c)
    }
}

#[test]
fn a_valid_assertion_authenticates_for_every_algorithm() {
    for key in [
        TestKey::generate(Algorithm::EcdsaP256Sha256),
        TestKey::generate(Algorithm::EcdsaP384Sha384),
        TestKey::generate(Algorithm::Ed25519),
        TestKey::rsa_ps256(),
        TestKey::rsa_ps512(),
    ] {
        let s = setup_with(key);
        let assertion = s.with_claims(|_| {});
        let client = s
            .verifier
            .authenticate(&s.f.registry, &assertion, Some(s.id.as_str()), None)
            .unwrap();
        assert_eq!(client.id(), &s.id);
        assert_eq!(client.key_id(), Some(s.kid.as_str()));
        assert_eq!(client.scopes(), ["payments:read"]);
        assert_eq!(s.f.audit.last(), AuthOutcome::Success);
        // The audit line names the key.
        assert!(s.f.audit.lines().last().unwrap().contains(&s.kid));
    }
}

#[test]
fn iss_sub_aud_rules() {
    let s = setup();
    let other =
        s.f.registry
            .register_without_secret("other", &["a"])
            .unwrap();
    s.expect(
        &s.with_claims(|c| c["iss"] = other.as_str().into()),
        FailureReason::WrongIssuer,
    );
    s.expect(
        &s.with_claims(|c| c["iss"] = "someone".into()),
        FailureReason::WrongIssuer,
    );
    // A sub naming another client: that client's keys do not verify it.
    s.expect(
        &s.with_claims(|c| c["sub"] = other.as_str().into()),
        FailureReason::UnknownKey,
    );
    // With the client_id parameter naming the client, a wrong sub is precise.
    let assertion = s.with_claims(|c| c["sub"] = other.as_str().into());
    assert_eq!(
        s.run(&assertion, Some(s.id.as_str())),
        Err(AuthError::InvalidClient)
    );
    assert_eq!(s.f.audit.last_reason(), Some(FailureReason::WrongSubject));
    // A client_id parameter naming another client.
    let assertion = s.with_claims(|_| {});
    assert_eq!(
        s.run(&assertion, Some(other.as_str())),
        Err(AuthError::InvalidClient)
    );
    assert_eq!(s.f.audit.last_reason(), Some(FailureReason::WrongSubject));
    s.expect(
        &s.with_claims(|c| c["sub"] = "not-an-id".into()),
        FailureReason::MalformedClientId,
    );
    // aud: the issuer, as a string or a one-element array; nothing else
    // (the sole-audience rule: `aud_must_be_the_issuer_alone`).
    s.expect(
        &s.with_claims(|c| c["aud"] = "https://as.bank.example/token".into()),
        FailureReason::WrongAudience,
    );
    s.expect(
        &s.with_claims(|c| c["aud"] = json!(["https://other.example"])),
        FailureReason::WrongAudience,
    );
    s.expect(
        &s.with_claims(|c| c["aud"] = json!([])),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| c["aud"] = json!([ISSUER, 7])),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| {
            c.as_object_mut().unwrap().remove("aud");
        }),
        FailureReason::MalformedAssertion,
    );
}

// regression: finding 9 of the security review, issue 8 (audience
// injection: the issuer must be the sole `aud` value, as the OAuth working
// group's update of RFC 7523 requires).
#[test]
fn aud_must_be_the_issuer_alone() {
    let s = setup();
    // Accepted: the issuer as a string, or as the only element of an array.
    s.run(&s.with_claims(|c| c["aud"] = ISSUER.into()), None)
        .unwrap();
    s.run(&s.with_claims(|c| c["aud"] = json!([ISSUER])), None)
        .unwrap();
    // Refused: the issuer among other audiences, in any position.
    s.expect(
        &s.with_claims(|c| c["aud"] = json!([ISSUER, "https://other.example"])),
        FailureReason::WrongAudience,
    );
    s.expect(
        &s.with_claims(|c| c["aud"] = json!(["x", ISSUER])),
        FailureReason::WrongAudience,
    );
    s.expect(
        &s.with_claims(|c| c["aud"] = json!([ISSUER, ISSUER])),
        FailureReason::WrongAudience,
    );
    // Refused: an empty array, a non-string element.
    s.expect(
        &s.with_claims(|c| c["aud"] = json!([])),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| c["aud"] = json!([7])),
        FailureReason::MalformedAssertion,
    );
}

#[test]
fn exp_nbf_iat_rules() {
    let s = setup();
    s.expect(
        &s.with_claims(|c| {
            c.as_object_mut().unwrap().remove("exp");
        }),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| c["exp"] = "soon".into()),
        FailureReason::MalformedAssertion,
    );
    // Expired beyond the 30 s skew; within it still accepted.
    s.expect(
        &s.with_claims(|c| c["exp"] = (T0 - 31).into()),
        FailureReason::AssertionExpired,
    );
    assert!(
        s.run(&s.with_claims(|c| c["exp"] = (T0 - 30).into()), None)
            .is_ok()
    );
    // Too long: more than 5 minutes (+ skew) ahead.
    s.expect(
        &s.with_claims(|c| c["exp"] = (T0 + 3600).into()),
        FailureReason::AssertionLifetime,
    );
    s.expect(
        &s.with_claims(|c| c["exp"] = (T0 + 331).into()),
        FailureReason::AssertionLifetime,
    );
    assert!(
        s.run(&s.with_claims(|c| c["exp"] = (T0 + 330).into()), None)
            .is_ok()
    );
    // nbf and iat in the future.
    s.expect(
        &s.with_claims(|c| c["nbf"] = (T0 + 31).into()),
        FailureReason::AssertionNotYetValid,
    );
    s.expect(
        &s.with_claims(|c| c["iat"] = (T0 + 31).into()),
        FailureReason::AssertionNotYetValid,
    );
    assert!(
        s.run(&s.with_claims(|c| c["nbf"] = (T0 + 30).into()), None)
            .is_ok()
    );
    assert!(
        s.run(&s.with_claims(|c| c["nbf"] = T0.into()), None)
            .is_ok()
    );
    // jti required.
    s.expect(
        &s.with_claims(|c| {
            c.as_object_mut().unwrap().remove("jti");
        }),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| c["jti"] = "".into()),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| c["jti"] = 5.into()),
        FailureReason::MalformedAssertion,
    );
    s.expect(
        &s.with_claims(|c| c["jti"] = "x".repeat(257).into()),
        FailureReason::MalformedAssertion,
    );
}

#[test]
fn a_replayed_jti_is_refused_until_it_expires() {
    let s = setup();
    let assertion = s.with_claims(|c| c["jti"] = "once".into());
    s.run(&assertion, None).unwrap();
    s.expect(&assertion, FailureReason::AssertionReplayed);
    // Another assertion reusing the jti is a replay too.
    s.expect(
        &s.with_claims(|c| c["jti"] = "once".into()),
        FailureReason::AssertionReplayed,
    );
    // The same jti from another client is not.
    let key = TestKey::generate(Algorithm::Ed25519);
    let other = s.f.registry.register_without_secret("o", &["a"]).unwrap();
    let kid = register(&s.f.registry, &other, &key).kid;
    let mut c = claims(&other);
    c["jti"] = "once".into();
    let theirs = jws(&key, &json!({"alg": "EdDSA", "kid": kid}), &c);
    s.run(&theirs, None).unwrap();
}

#[test]
fn forged_assertions_do_not_burn_jtis() {
    let s = setup();
    let forger = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let mut c = claims(&s.id);
    c["jti"] = "victim".into();
    let forged = jws(&forger, &header(&s), &c);
    s.expect(&forged, FailureReason::BadSignature);
    let genuine = jws(&s.key, &header(&s), &c);
    s.run(&genuine, None).unwrap();
}

#[test]
fn algorithm_rules() {
    let s = setup();
    let c = claims(&s.id);
    let body = b64(c.to_string().as_bytes());
    // alg none, with and without a signature.
    for alg in ["none", "None", "HS256", "RS256", "ES512", ""] {
        let h = b64(json!({"alg": alg, "kid": s.kid}).to_string().as_bytes());
        s.expect(&format!("{h}.{body}."), FailureReason::MalformedAssertion);
        s.expect(
            &format!("{h}.{body}.{}", b64(b"sig")),
            FailureReason::AssertionAlgorithm,
        );
    }
    // HS256 with the public key as the HMAC secret (the classic confusion).
    let h = b64(json!({"alg": "HS256", "kid": s.kid}).to_string().as_bytes());
    let input = format!("{h}.{body}");
    let jwk = s.f.registry.get(&s.id).unwrap().unwrap().public_keys[0]
        .jwk
        .clone();
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, jwk.as_bytes()),
        input.as_bytes(),
    );
    s.expect(
        &format!("{input}.{}", b64(mac.as_ref())),
        FailureReason::AssertionAlgorithm,
    );
    // A valid algorithm that is not the key's.
    let ed = TestKey::generate(Algorithm::Ed25519);
    let forged = jws(&ed, &json!({"alg": "EdDSA", "kid": s.kid}), &c);
    s.expect(&forged, FailureReason::AssertionAlgorithm);
    // Without kid, no key of that algorithm.
    let forged = jws(&ed, &json!({"alg": "EdDSA"}), &c);
    s.expect(&forged, FailureReason::UnknownKey);
    // No alg, crit.
    let h = b64(json!({"kid": s.kid}).to_string().as_bytes());
    s.expect(
        &format!("{h}.{body}.{}", b64(b"sig")),
        FailureReason::AssertionAlgorithm,
    );
    let crit = jws(
        &s.key,
        &json!({"alg": "ES256", "kid": s.kid, "crit": ["exp"]}),
        &c,
    );
    s.expect(&crit, FailureReason::AssertionAlgorithm);
}

#[test]
fn key_selection_and_states() {
    let s = setup();
    // Unknown kid.
    let unknown = jws(
        &s.key,
        &json!({"alg": "ES256", "kid": "nope"}),
        &claims(&s.id),
    );
    s.expect(&unknown, FailureReason::UnknownKey);
    // No kid: the client's keys are tried.
    let second = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let second_kid = register(&s.f.registry, &s.id, &second).kid;
    let plain = jws(&second, &json!({"alg": "ES256"}), &claims(&s.id));
    let client = s
        .verifier
        .authenticate(&s.f.registry, &plain, None, None)
        .unwrap();
    assert_eq!(client.key_id(), Some(second_kid.as_str()));
    // Signed by another key under a registered kid.
    let other = TestKey::generate(Algorithm::EcdsaP256Sha256);
    s.expect(
        &jws(&other, &header(&s), &claims(&s.id)),
        FailureReason::BadSignature,
    );
    s.expect(
        &jws(&other, &json!({"alg": "ES256"}), &claims(&s.id)),
        FailureReason::BadSignature,
    );
    // Verify-only still authenticates; revoked does not.
    s.f.registry
        .set_key_state(&s.id, &s.kid, KeyState::VerifyOnly)
        .unwrap();
    s.run(&s.with_claims(|_| {}), None).unwrap();
    s.f.registry.revoke_key(&s.id, &s.kid).unwrap();
    s.expect(&s.with_claims(|_| {}), FailureReason::KeyRevoked);
    s.expect(
        &jws(&s.key, &json!({"alg": "ES256"}), &claims(&s.id)),
        FailureReason::BadSignature,
    );
    // A suspended client.
    let assertion = jws(
        &second,
        &json!({"alg": "ES256", "kid": second_kid}),
        &claims(&s.id),
    );
    s.f.registry.suspend(&s.id).unwrap();
    s.expect(&assertion, FailureReason::ClientSuspended);
}

#[test]
fn key_validity_window() {
    let f = fixture();
    let id = f.registry.register_without_secret("c", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::Ed25519);
    let kid = register_with(
        &f.registry,
        &id,
        &key,
        KeyOptions::new().validity(None, Some(T0 + 100)),
    )
    .kid;
    let verifier = AssertionVerifier::new(ISSUER);
    let make = |now: i64| {
        let mut c = claims(&id);
        c["exp"] = (now + 60).into();
        jws(&key, &json!({"alg": "EdDSA", "kid": kid}), &c)
    };
    verifier
        .authenticate(&f.registry, &make(T0), None, None)
        .unwrap();
    f.clock.set(T0 + 100);
    assert_eq!(
        verifier.authenticate(&f.registry, &make(T0 + 100), None, None),
        Err(AuthError::InvalidClient)
    );
    assert_eq!(f.audit.last_reason(), Some(FailureReason::KeyExpired));
}

#[test]
fn malformed_assertions() {
    let s = setup();
    let good = s.with_claims(|_| {});
    let parts: Vec<&str> = good.split('.').collect();
    for bad in [
        String::new(),
        "a.b".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.x"),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!(" {good}"),
        format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
        "x".repeat(20_000),
    ] {
        assert_eq!(
            s.run(&bad, None),
            Err(AuthError::InvalidClient),
            "{bad:.40}"
        );
        assert_eq!(
            s.f.audit.last_reason(),
            Some(FailureReason::MalformedAssertion),
            "{bad:.40}"
        );
    }
    // Duplicate claims (two subs) are refused before anything else.
    let h = b64(header(&s).to_string().as_bytes());
    let dup = format!(
        r#"{{"iss":"{0}","sub":"{0}","sub":"{0}","aud":"{ISSUER}","exp":{1},"jti":"d"}}"#,
        s.id,
        T0 + 60
    );
    let input = format!("{h}.{}", b64(dup.as_bytes()));
    let sig = s.key.sign(input.as_bytes());
    s.expect(
        &format!("{input}.{}", b64(&sig)),
        FailureReason::MalformedAssertion,
    );
}

#[test]
fn the_replay_cache_is_bounded_and_fails_closed() {
    // One client, allowed the whole capacity.
    let cache = MemoryReplayCache::new(2).with_per_client_quota(2);
    let id = ClientId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    assert!(cache.check_and_record(&id, "a", T0 + 10, T0).unwrap());
    assert!(!cache.check_and_record(&id, "a", T0 + 10, T0).unwrap());
    assert!(cache.check_and_record(&id, "b", T0 + 20, T0).unwrap());
    assert!(cache.check_and_record(&id, "c", T0 + 20, T0).is_err());
    // Once "a" expired it makes room (live through T0 + 10 inclusive).
    assert!(cache.check_and_record(&id, "c", T0 + 20, T0 + 10).is_err());
    assert!(cache.check_and_record(&id, "c", T0 + 20, T0 + 11).unwrap());
    assert_eq!(cache.len(), 2);

    // Through the verifier: full cache → Unavailable, never a pass.
    let s = setup();
    let verifier = AssertionVerifier::new(ISSUER).replay_cache(Arc::new(MemoryReplayCache::new(1)));
    verifier
        .authenticate(&s.f.registry, &s.with_claims(|_| {}), None, None)
        .unwrap();
    assert_eq!(
        verifier.authenticate(&s.f.registry, &s.with_claims(|_| {}), None, None),
        Err(AuthError::Unavailable)
    );
    assert_eq!(
        s.f.audit.last_reason(),
        Some(FailureReason::ReplayCacheUnavailable)
    );
}

// regression: finding 5 of the security review, issue 8 (off-by-one replay
// window: an assertion accepted at now == exp + skew must be remembered at
// that second too).
#[test]
fn an_assertion_accepted_at_the_last_second_cannot_be_replayed_in_it() {
    let s = setup();
    // The clock stands at T0; exp + 30 s skew == T0: the last second.
    let assertion = s.with_claims(|c| c["exp"] = (T0 - 30).into());
    s.run(&assertion, None).unwrap();
    for _ in 0..3 {
        s.expect(&assertion, FailureReason::AssertionReplayed);
    }
    // One second later it is expired, not replayable either.
    s.f.clock.set(T0 + 1);
    s.expect(&assertion, FailureReason::AssertionExpired);

    // The cache contract: an entry recorded until `expires` is live at
    // `expires` (inclusive) and gone one second later.
    let cache = MemoryReplayCache::new(10);
    let id = ClientId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    assert!(cache.check_and_record(&id, "j", T0 + 10, T0).unwrap());
    assert!(!cache.check_and_record(&id, "j", T0 + 10, T0 + 10).unwrap());
    assert!(cache.check_and_record(&id, "j", T0 + 20, T0 + 11).unwrap());
}

// regression: finding 4 of the security review, issue 8 (jti part: one
// tenant filling the shared replay cache made every other tenant's valid
// assertions fail).
#[test]
fn one_client_filling_the_replay_cache_starves_only_itself() {
    let s = setup();
    let verifier =
        AssertionVerifier::new(ISSUER).replay_cache(Arc::new(MemoryReplayCache::new(200)));
    // The greedy client sends valid assertions until the cache refuses.
    let mut accepted = 0;
    loop {
        match verifier.authenticate(&s.f.registry, &s.with_claims(|_| {}), None, None) {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e, AuthError::Unavailable);
                break;
            }
        }
        assert!(accepted <= 200, "the cache never refused");
    }
    assert!(accepted < 200, "one client took the whole cache");
    // Another client's fresh assertion is still accepted.
    let key = TestKey::generate(Algorithm::Ed25519);
    let other = s.f.registry.register_without_secret("o", &["a"]).unwrap();
    let kid = register(&s.f.registry, &other, &key).kid;
    let theirs = jws(&key, &json!({"alg": "EdDSA", "kid": kid}), &claims(&other));
    verifier
        .authenticate(&s.f.registry, &theirs, None, None)
        .unwrap();
}

// regression: finding 4 of the security review, issue 8 (jti part): the
// per-client quota of the memory cache, its default, and the total bound.
#[test]
fn the_replay_cache_quota_is_per_client() {
    assert_eq!(MemoryReplayCache::default().per_client_quota(), 1000);
    assert_eq!(MemoryReplayCache::new(10).per_client_quota(), 1);
    let cache = MemoryReplayCache::new(10).with_per_client_quota(3);
    assert_eq!(cache.per_client_quota(), 3);
    let ids: Vec<ClientId> = ["A", "B", "C", "D"]
        .iter()
        .map(|c| ClientId::parse(&c.repeat(22)).unwrap())
        .collect();
    for n in 0..3 {
        assert!(
            cache
                .check_and_record(&ids[0], &format!("j{n}"), T0 + 10 + n, T0)
                .unwrap()
        );
    }
    // A is at its quota: refused, for A only; a replay is still a replay.
    assert!(cache.check_and_record(&ids[0], "j3", T0 + 10, T0).is_err());
    assert!(!cache.check_and_record(&ids[0], "j0", T0 + 10, T0).unwrap());
    assert!(cache.check_and_record(&ids[1], "j0", T0 + 10, T0).unwrap());
    // A's own expired ids make room for it.
    assert!(
        cache
            .check_and_record(&ids[0], "j3", T0 + 20, T0 + 11)
            .unwrap()
    );
    // The total bound still holds: 3 + 1 + 3 + 3 = 10 > capacity at the last.
    for n in 0..3 {
        assert!(
            cache
                .check_and_record(&ids[2], &format!("j{n}"), T0 + 30, T0 + 11)
                .unwrap()
        );
    }
    assert!(
        cache
            .check_and_record(&ids[3], "j0", T0 + 30, T0 + 11)
            .unwrap()
    );
    assert!(
        cache
            .check_and_record(&ids[3], "j1", T0 + 30, T0 + 11)
            .unwrap()
    );
    assert!(
        cache
            .check_and_record(&ids[3], "j2", T0 + 30, T0 + 11)
            .unwrap()
    );
    assert_eq!(cache.len(), 10);
    // Full: a sweep frees B's expired j0 (live through T0 + 10) only.
    assert!(
        cache
            .check_and_record(&ids[1], "j1", T0 + 30, T0 + 11)
            .unwrap()
    );
    assert!(
        cache
            .check_and_record(&ids[1], "j2", T0 + 30, T0 + 11)
            .is_err()
    );
    assert_eq!(cache.len(), 10);
    // Two seconds later A's j1 and j2 have expired: room again.
    assert!(
        cache
            .check_and_record(&ids[1], "j2", T0 + 30, T0 + 13)
            .unwrap()
    );
    assert_eq!(cache.len(), 9);
}

// ---- the client's side ------------------------------------------------------

/// The claims of a compact JWS (not verified).
fn payload(assertion: &str) -> Value {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let part = assertion.split('.').nth(1).unwrap();
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

/// A copy of the test key's private key, for an [`AssertionSigner`].
fn private_copy(key: &TestKey) -> Arc<tresor_httpsig::PrivateKey> {
    use tresor_httpsig::SigningKey;
    let k = key.httpsig();
    Arc::new(
        tresor_httpsig::PrivateKey::from_pkcs8_der(&k.to_pkcs8_der(), Some(k.algorithm())).unwrap(),
    )
}

#[test]
fn signer_assertions_authenticate_once_for_every_algorithm() {
    use tresor_credentials::assertion::AssertionSigner;
    for (key, jose) in [
        (TestKey::generate(Algorithm::EcdsaP256Sha256), "ES256"),
        (TestKey::generate(Algorithm::EcdsaP384Sha384), "ES384"),
        (TestKey::generate(Algorithm::Ed25519), "EdDSA"),
        (TestKey::rsa_ps512(), "PS512"),
    ] {
        let s = setup_with(key);
        let private = private_copy(&s.key);
        let signer = AssertionSigner::new(private, s.kid.clone(), s.id.clone())
            .unwrap()
            .clock(s.f.clock.clone());
        assert_eq!(signer.alg().name(), jose);
        let debug = format!("{signer:?}");
        assert!(debug.contains(&s.kid) && debug.contains(jose), "{debug}");

        let assertion = signer.sign(ISSUER).unwrap();
        let claims = payload(&assertion);
        assert_eq!(claims["iss"], s.id.as_str());
        assert_eq!(claims["sub"], s.id.as_str());
        assert_eq!(claims["aud"], ISSUER);
        assert_eq!(claims["iat"], T0);
        assert_eq!(claims["exp"], T0 + 60);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
        let client = s.run(&assertion, Some(s.id.as_str()));
        assert_eq!(client, Ok(()), "{jose}");
        assert_eq!(s.f.audit.last(), AuthOutcome::Success);
        // Once: the jti is remembered; a second assertion has its own.
        s.expect(&assertion, FailureReason::AssertionReplayed);
        let again = signer.sign(ISSUER).unwrap();
        assert_ne!(payload(&again)["jti"], claims["jti"]);
        s.run(&again, None).unwrap();
        // For another authorization server: refused here.
        let elsewhere = signer.sign("https://other.example").unwrap();
        s.expect(&elsewhere, FailureReason::WrongAudience);
    }
}

#[test]
fn signer_lifetime_and_keys() {
    use tresor_credentials::Error;
    use tresor_credentials::assertion::AssertionSigner;
    use tresor_httpsig::HmacKey;
    let s = setup();
    let private = private_copy(&s.key);
    let signer = AssertionSigner::new(private, s.kid.clone(), s.id.clone())
        .unwrap()
        .clock(s.f.clock.clone());
    // Longer than the verifier's five minutes (and the skew): refused.
    let long = signer
        .lifetime(std::time::Duration::from_secs(3600))
        .sign(ISSUER)
        .unwrap();
    assert_eq!(payload(&long)["exp"], T0 + 3600);
    s.expect(&long, FailureReason::AssertionLifetime);
    // A shared secret cannot sign one.
    let hmac = Arc::new(HmacKey::new(&[7u8; 32]).unwrap());
    assert!(matches!(
        AssertionSigner::new(hmac, "k", s.id.clone()),
        Err(Error::AssertionKey { alg: "hmac-sha256" })
    ));
    // A registered kid that is not the signing key's: bad signature.
    let other = Arc::new(tresor_httpsig::PrivateKey::generate(Algorithm::EcdsaP256Sha256).unwrap());
    let forged = AssertionSigner::new(other, s.kid.clone(), s.id.clone())
        .unwrap()
        .clock(s.f.clock.clone())
        .sign(ISSUER)
        .unwrap();
    s.expect(&forged, FailureReason::BadSignature);
}
