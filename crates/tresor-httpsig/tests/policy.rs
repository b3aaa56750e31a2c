//! Every verification policy rule, with its edges.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod sig_support;

use std::sync::Arc;

use http::Request;
use sig_support::{Claiming, MapResolver, TestHmac};
use tresor_httpsig::{
    Algorithm, ComponentId, Error, FixedClock, MemoryNonceStore, Policy, Signer, Verifier,
};

const T: i64 = 1_700_000_000;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn key() -> Arc<TestHmac> {
    Arc::new(TestHmac::new(SECRET))
}

fn resolver() -> Arc<MapResolver> {
    Arc::new(MapResolver::default().with("client-1", key()))
}

fn payment() -> Request<Vec<u8>> {
    Request::builder()
        .method("POST")
        .uri("/payments?dry_run=1")
        .header("host", "api.bank.example")
        .header("content-type", "application/json")
        .body(br#"{"amount":"10.00","currency":"EUR"}"#.to_vec())
        .unwrap()
}

fn signer() -> Signer {
    Signer::new(key(), "client-1").created(T)
}

fn signed(s: Signer) -> Request<Vec<u8>> {
    let mut req = payment();
    s.sign_request(&mut req).unwrap();
    req
}

fn verifier_at(policy: Policy, now: i64) -> Verifier {
    Verifier::new(resolver(), policy).clock(Arc::new(FixedClock::new(now)))
}

fn verify(
    req: &Request<Vec<u8>>,
    policy: Policy,
    now: i64,
) -> Result<tresor_httpsig::Verified, Error> {
    verifier_at(policy, now).verify_request(req)
}

#[test]
fn default_signer_satisfies_default_policy() {
    let req = signed(signer());
    let v = verify(&req, Policy::new(), T).unwrap();
    assert_eq!(v.key_id(), "client-1");
    assert_eq!(v.label(), "sig");
    assert_eq!(v.algorithm(), Algorithm::HmacSha256);
    assert!(v.body_checked());
    let names: Vec<String> = v.components().iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "\"@method\"",
            "\"@authority\"",
            "\"@path\"",
            "\"@query\"",
            "\"content-digest\"",
            "\"content-type\"",
            "\"content-length\""
        ]
    );
}

#[test]
fn missing_component() {
    for dropped in 0..7 {
        let mut components = tresor_httpsig::policy::default_components(
            &tresor_httpsig::Message::from_request(&signed(signer())),
            None,
        );
        let removed = components.remove(dropped);
        let req = signed(signer().components(components));
        assert_eq!(
            verify(&req, Policy::new(), T).unwrap_err(),
            Error::MissingComponent {
                component: removed.to_string()
            }
        );
    }
    // An explicitly required extra component.
    let req = signed(signer());
    let policy = Policy::new().require_component(ComponentId::field("date").unwrap());
    assert!(matches!(
        verify(&req, policy, T),
        Err(Error::MissingComponent { .. })
    ));
    // Without a body and a query, neither body fields nor @query are needed.
    let mut get = Request::builder()
        .uri("/accounts")
        .header("host", "api.bank.example")
        .body(Vec::new())
        .unwrap();
    signer()
        .components(vec![
            ComponentId::method(),
            ComponentId::authority(),
            ComponentId::path(),
        ])
        .sign_request(&mut get)
        .unwrap();
    verifier_at(Policy::new(), T).verify_request(&get).unwrap();
}

#[test]
fn created_required_or_optional() {
    // A signature without `created`: build one by hand through the params.
    let mut req = payment();
    let base_components = tresor_httpsig::policy::default_components(
        &tresor_httpsig::Message::from_request(&signed(signer())),
        None,
    );
    signer()
        .components(base_components)
        .sign_request(&mut req)
        .unwrap();
    // Strip created from Signature-Input: the signature then no longer
    // matches, but the created rule is checked first.
    let si = req.headers()["signature-input"]
        .to_str()
        .unwrap()
        .to_owned();
    let stripped = si.replace(&format!(";created={T}"), "");
    req.headers_mut()
        .insert("signature-input", stripped.parse().unwrap());
    assert_eq!(
        verify(&req, Policy::new(), T).unwrap_err(),
        Error::MissingParameter {
            parameter: "created"
        }
    );
    assert_eq!(
        verify(&req, Policy::new().require_created(false), T).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn created_in_the_future_beyond_skew() {
    let req = signed(signer());
    // now = T - 5: created is exactly `skew` ahead: accepted.
    verify(&req, Policy::new(), T - 5).unwrap();
    assert_eq!(
        verify(&req, Policy::new(), T - 6).unwrap_err(),
        Error::NotYetValid {
            created: T,
            now: T - 6
        }
    );
    verify(&req, Policy::new().clock_skew(0), T).unwrap();
    assert!(matches!(
        verify(&req, Policy::new().clock_skew(0), T - 1),
        Err(Error::NotYetValid { .. })
    ));
}

#[test]
fn too_old() {
    let req = signed(signer());
    // Accepted while now - created <= max_age + skew.
    verify(&req, Policy::new(), T + 305).unwrap();
    assert_eq!(
        verify(&req, Policy::new(), T + 306).unwrap_err(),
        Error::TooOld {
            created: T,
            max_age: 300,
            now: T + 306
        }
    );
    let strict = || Policy::new().max_age(Some(60)).clock_skew(0);
    verify(&req, strict(), T + 60).unwrap();
    assert!(matches!(
        verify(&req, strict(), T + 61),
        Err(Error::TooOld { .. })
    ));
    verify(&req, Policy::new().max_age(None), T + 1_000_000).unwrap();
}

#[test]
fn expired() {
    let req = signed(signer().expires_in(30));
    let lax = || Policy::new().max_age(None);
    verify(&req, lax(), T + 35).unwrap();
    assert_eq!(
        verify(&req, lax(), T + 36).unwrap_err(),
        Error::Expired {
            expires: T + 30,
            now: T + 36
        }
    );
    verify(&req, lax().clock_skew(0), T + 30).unwrap();
    assert!(matches!(
        verify(&req, lax().clock_skew(0), T + 31),
        Err(Error::Expired { .. })
    ));
}

#[test]
fn tag_required_and_mismatched() {
    let req = signed(signer().tag("payments-v1"));
    verify(&req, Policy::new().require_tag("payments-v1"), T).unwrap();
    assert_eq!(
        verify(&req, Policy::new().require_tag("other"), T).unwrap_err(),
        Error::TagMismatch {
            expected: "other".into(),
            found: "payments-v1".into()
        }
    );
    let untagged = signed(signer());
    assert_eq!(
        verify(&untagged, Policy::new().require_tag("payments-v1"), T).unwrap_err(),
        Error::TagMismatch {
            expected: "payments-v1".into(),
            found: String::new()
        }
    );
    // With a label, the tag is checked on the labelled signature.
    assert!(matches!(
        verify(&req, Policy::new().label("sig").require_tag("x"), T),
        Err(Error::TagMismatch { .. })
    ));
}

#[test]
fn nonce_required() {
    let req = signed(signer());
    assert_eq!(
        verify(&req, Policy::new().require_nonce(true), T).unwrap_err(),
        Error::MissingParameter { parameter: "nonce" }
    );
    let req = signed(signer().random_nonce());
    let v = verify(&req, Policy::new().require_nonce(true), T).unwrap();
    assert_eq!(v.nonce().unwrap().len(), 22);
}

#[test]
fn replay_is_rejected_and_forgeries_do_not_burn_nonces() {
    let clock = Arc::new(FixedClock::new(T));
    let store = Arc::new(MemoryNonceStore::with_clock(100, clock.clone()));
    let verifier = Verifier::new(resolver(), Policy::new().require_nonce(true))
        .clock(clock.clone())
        .nonce_store(store.clone());
    let req = signed(signer().nonce("n-1"));

    // A forgery carrying the same nonce (bad signature) is rejected first
    // and does not consume the nonce.
    let mut forged = signed(signer().nonce("n-1"));
    *forged.body_mut() = b"{}".to_vec();
    forged
        .headers_mut()
        .insert("content-length", "2".parse().unwrap());
    assert_eq!(
        verifier.verify_request(&forged).unwrap_err(),
        Error::BadSignature
    );
    assert!(store.is_empty());

    verifier.verify_request(&req).unwrap();
    assert_eq!(
        verifier.verify_request(&req).unwrap_err(),
        Error::ReplayedNonce
    );
    // Another nonce is fine.
    verifier
        .verify_request(&signed(signer().nonce("n-2")))
        .unwrap();
}

#[test]
fn a_policy_requiring_nonces_rejects_replays_without_an_explicit_store() {
    // On a pinned clock (the store must expire nonces on the verifier's
    // time, not the system's), and on the system clock.
    let pinned = verifier_at(Policy::new().require_nonce(true), T);
    let req = signed(signer().nonce("n-1"));
    pinned.verify_request(&req).unwrap();
    assert_eq!(
        pinned.verify_request(&req).unwrap_err(),
        Error::ReplayedNonce
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let system = Verifier::new(resolver(), Policy::new().require_nonce(true));
    let req = signed(signer().created(now).nonce("n-2"));
    system.verify_request(&req).unwrap();
    assert_eq!(
        system.verify_request(&req).unwrap_err(),
        Error::ReplayedNonce
    );

    // Without the requirement, nothing is remembered unless asked.
    let lenient = verifier_at(Policy::new(), T);
    let req = signed(signer().nonce("n-3"));
    lenient.verify_request(&req).unwrap();
    lenient.verify_request(&req).unwrap();
}

#[test]
fn alg_parameter_must_match_the_key() {
    let req = signed(signer().include_alg(true));
    verify(&req, Policy::new(), T).unwrap();
    // A signature claiming another algorithm than the key is registered for.
    let liar = Arc::new(Claiming(Algorithm::Ed25519, TestHmac::new(SECRET)));
    let mut req = payment();
    Signer::new(liar, "client-1")
        .created(T)
        .include_alg(true)
        .sign_request(&mut req)
        .unwrap();
    assert_eq!(
        verify(&req, Policy::new(), T).unwrap_err(),
        Error::AlgorithmNotAllowed {
            alg: "ed25519".into(),
            key_alg: "hmac-sha256".into()
        }
    );
}

#[test]
fn key_algorithm_must_be_allowed() {
    let req = signed(signer());
    let policy = Policy::new().allow_algorithms([Algorithm::Ed25519, Algorithm::EcdsaP256Sha256]);
    assert_eq!(
        verify(&req, policy, T).unwrap_err(),
        Error::AlgorithmNotAllowed {
            alg: "hmac-sha256".into(),
            key_alg: String::new()
        }
    );
    // rsa-v1_5-sha256 is off by default.
    let resolver = Arc::new(MapResolver::default().with(
        "legacy",
        Arc::new(Claiming(Algorithm::RsaV15Sha256, TestHmac::new(SECRET))),
    ));
    let mut req = payment();
    Signer::new(
        Arc::new(Claiming(Algorithm::RsaV15Sha256, TestHmac::new(SECRET))),
        "legacy",
    )
    .created(T)
    .sign_request(&mut req)
    .unwrap();
    let v = Verifier::new(resolver.clone(), Policy::new()).clock(Arc::new(FixedClock::new(T)));
    assert!(matches!(
        v.verify_request(&req),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
    let v = Verifier::new(resolver, Policy::new().allow_algorithms(Algorithm::ALL))
        .clock(Arc::new(FixedClock::new(T)));
    v.verify_request(&req).unwrap();
}

#[test]
fn unknown_key() {
    let req = signed(Signer::new(key(), "client-2").created(T));
    assert_eq!(
        verify(&req, Policy::new(), T).unwrap_err(),
        Error::UnknownKey {
            key_id: "client-2".into()
        }
    );
}

#[test]
fn wrong_key_is_bad_signature() {
    let other = Arc::new(TestHmac::new(b"another secret of thirty-two bytes!"));
    let req = signed(Signer::new(other, "client-1").created(T));
    assert_eq!(
        verify(&req, Policy::new(), T).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn duplicate_labels_are_rejected() {
    let mut req = signed(signer());
    // Signing again with the same label is refused.
    assert!(matches!(
        signer().sign_request(&mut req),
        Err(Error::InvalidLabel { .. })
    ));
    // A duplicate label injected into the fields is refused when verifying.
    let si = req.headers()["signature-input"]
        .to_str()
        .unwrap()
        .to_owned();
    req.headers_mut()
        .append("signature-input", si.parse().unwrap());
    assert!(matches!(
        verify(&req, Policy::new(), T),
        Err(Error::InvalidLabel { .. })
    ));
}

#[test]
fn two_signatures_selected_by_label_and_tag() {
    let other = Arc::new(TestHmac::new(b"proxy secret, thirty-two bytes!!"));
    let resolver = Arc::new(
        MapResolver::default()
            .with("client-1", key())
            .with("proxy", other.clone()),
    );
    let mut req = payment();
    signer().tag("client").sign_request(&mut req).unwrap();
    Signer::new(other, "proxy")
        .created(T)
        .label("proxy-sig")
        .tag("proxy")
        .sign_request(&mut req)
        .unwrap();
    assert_eq!(req.headers().get_all("signature").iter().count(), 2);
    let at = |p: Policy| {
        Verifier::new(resolver.clone(), p)
            .clock(Arc::new(FixedClock::new(T)))
            .verify_request(&req)
    };
    assert_eq!(at(Policy::new()).unwrap().key_id(), "client-1");
    assert_eq!(
        at(Policy::new().label("proxy-sig")).unwrap().key_id(),
        "proxy"
    );
    assert_eq!(
        at(Policy::new().require_tag("proxy")).unwrap().label(),
        "proxy-sig"
    );
    assert_eq!(
        at(Policy::new().require_tag("client")).unwrap().label(),
        "sig"
    );
    assert!(matches!(
        at(Policy::new().label("nope")),
        Err(Error::SignatureNotFound { .. })
    ));
    // Signature-Input member without a Signature member.
    let mut lone = payment();
    lone.headers_mut()
        .insert("host", "api.bank.example".parse().unwrap());
    lone.headers_mut().insert(
        "signature-input",
        format!("sig=(\"@method\");created={T};keyid=\"client-1\"")
            .parse()
            .unwrap(),
    );
    assert!(matches!(
        verify(&lone, Policy::new().without_default_components(), T),
        Err(Error::InvalidLabel { .. })
    ));
    // No signature at all.
    assert!(matches!(
        verify(&payment(), Policy::new(), T),
        Err(Error::SignatureNotFound { .. })
    ));
}

#[test]
fn body_digest_mismatch() {
    let mut req = signed(signer());
    *req.body_mut() = br#"{"amount":"99.00","currency":"EUR"}"#.to_vec();
    assert!(matches!(
        verify(&req, Policy::new(), T),
        Err(Error::DigestMismatch { .. })
    ));
    // The same via parts with the body given, and unchecked without it.
    let (parts, body) = req.into_parts();
    let v = verifier_at(Policy::new(), T);
    assert!(matches!(
        v.verify_request_parts(&parts, Some(&body)),
        Err(Error::DigestMismatch { .. })
    ));
    assert!(!v.verify_request_parts(&parts, None).unwrap().body_checked());
}

#[test]
fn missing_keyid() {
    let mut req = signed(signer());
    let si = req.headers()["signature-input"]
        .to_str()
        .unwrap()
        .to_owned();
    req.headers_mut().insert(
        "signature-input",
        si.replace(";keyid=\"client-1\"", "").parse().unwrap(),
    );
    assert_eq!(
        verify(&req, Policy::new(), T).unwrap_err(),
        Error::MissingParameter { parameter: "keyid" }
    );
}

#[test]
fn responses_with_related_request() {
    let req = signed(signer());
    let mut resp = http::Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("content-length", "12")
        .body(br#"{"id":"p-1"}"#.to_vec())
        .unwrap();
    let mut components = tresor_httpsig::policy::default_components(
        &tresor_httpsig::Message::from_response(&resp),
        Some(1),
    );
    components.push(ComponentId::method().with_req().unwrap());
    components.push(
        ComponentId::field("content-digest")
            .unwrap()
            .with_req()
            .unwrap(),
    );
    signer()
        .components(components)
        .sign_response(&mut resp, Some(tresor_httpsig::Message::from_request(&req)))
        .unwrap();
    let v = verifier_at(Policy::new(), T);
    let ok = v
        .verify_response(&resp, Some(tresor_httpsig::Message::from_request(&req)))
        .unwrap();
    assert!(ok.body_checked());
    // Without the request, the req components cannot be computed.
    assert!(matches!(
        v.verify_response(&resp, None),
        Err(Error::ComponentNotFound { .. })
    ));
    // Against another request, the signature fails.
    let mut other = signed(signer());
    *other.method_mut() = http::Method::PUT;
    assert_eq!(
        v.verify_response(&resp, Some(tresor_httpsig::Message::from_request(&other)))
            .unwrap_err(),
        Error::BadSignature
    );
}

/// A clock that reads a time before the UNIX epoch is broken: verification
/// fails closed with `ClockUnavailable`, and so does signing without a
/// pinned `created` (never a signature created at 0).
#[test]
fn a_clock_before_the_epoch_fails_closed() {
    let req = signed(signer());
    assert!(matches!(
        verify(&req, Policy::new(), -1),
        Err(Error::ClockUnavailable {
            source: tresor_httpsig::tresor_types::Error::BeforeEpoch
        })
    ));
    // A nonce store on a broken clock refuses too.
    let store = Arc::new(MemoryNonceStore::with_clock(
        10,
        Arc::new(FixedClock::new(-1)),
    ));
    let req = signed(signer().nonce("n-1"));
    let v = Verifier::new(resolver(), Policy::new().require_nonce(true))
        .nonce_store(store)
        .clock(Arc::new(FixedClock::new(T)));
    assert!(matches!(
        v.verify_request(&req),
        Err(Error::ClockUnavailable { .. })
    ));

    let broken = Signer::new(key(), "client-1").clock(Arc::new(FixedClock::new(-1)));
    let mut req = payment();
    assert!(matches!(
        broken.sign_request(&mut req),
        Err(Error::ClockUnavailable { .. })
    ));
    assert!(req.headers().get("signature").is_none());
}

// ---- a profile that depends on the request ---------------------------------

fn field(name: &str) -> ComponentId {
    ComponentId::field(name).unwrap()
}

/// The payment with an `Authorization` and an `Idempotency-Key`.
fn api_call() -> Request<Vec<u8>> {
    let mut req = payment();
    let h = req.headers_mut();
    h.insert("authorization", "Bearer abc.def.ghi".parse().unwrap());
    h.insert("idempotency-key", "8e03978e-40d5-43e8".parse().unwrap());
    req
}

fn brokerage_policy() -> Policy {
    Policy::new()
        .require_component_if_present(field("authorization"))
        .require_component_if_present(field("idempotency-key"))
        .require_expires(true)
        .accept_digest_algorithms([tresor_httpsig::DigestAlgorithm::Sha512])
}

fn brokerage_signer(extra: &[&str]) -> Signer {
    let mut covered = vec![
        ComponentId::method(),
        ComponentId::authority(),
        ComponentId::path(),
        ComponentId::query(),
        field("content-digest"),
        field("content-type"),
        field("content-length"),
    ];
    covered.extend(extra.iter().map(|n| field(n)));
    signer()
        .components(covered)
        .expires_in(60)
        .content_digest(Some(tresor_httpsig::DigestAlgorithm::Sha512))
}

#[test]
fn fields_required_when_present_must_be_covered_when_sent() {
    // Both sent and covered: accepted.
    let mut req = api_call();
    brokerage_signer(&["authorization", "idempotency-key"])
        .sign_request(&mut req)
        .unwrap();
    verify(&req, brokerage_policy(), T).unwrap();

    // Sent but one not covered: refused, naming it.
    for (covered, missing) in [
        (&["idempotency-key"][..], "\"authorization\""),
        (&["authorization"][..], "\"idempotency-key\""),
    ] {
        let mut req = api_call();
        brokerage_signer(covered).sign_request(&mut req).unwrap();
        assert_eq!(
            verify(&req, brokerage_policy(), T).unwrap_err(),
            Error::MissingComponent {
                component: missing.to_owned()
            }
        );
    }

    // Not sent, not covered: accepted (the rule follows the request).
    let mut req = payment();
    brokerage_signer(&[]).sign_request(&mut req).unwrap();
    verify(&req, brokerage_policy(), T).unwrap();

    // A field added after signing (not covered) is refused.
    let mut req = payment();
    brokerage_signer(&[]).sign_request(&mut req).unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer other".parse().unwrap());
    assert!(matches!(
        verify(&req, brokerage_policy(), T),
        Err(Error::MissingComponent { .. })
    ));
}

#[test]
fn query_required_when_present() {
    let policy = Policy::new()
        .without_default_components()
        .require_component(ComponentId::method())
        .require_component_if_present(ComponentId::query());
    let covered = vec![ComponentId::method()];
    // With a query, not covered: refused.
    let mut req = payment();
    signer()
        .components(covered.clone())
        .content_digest(None)
        .sign_request(&mut req)
        .unwrap();
    assert_eq!(
        verify(&req, policy.clone(), T).unwrap_err(),
        Error::MissingComponent {
            component: "\"@query\"".to_owned()
        }
    );
    // Without a query: accepted.
    let mut req = payment();
    *req.uri_mut() = "/payments".parse().unwrap();
    signer()
        .components(covered)
        .content_digest(None)
        .sign_request(&mut req)
        .unwrap();
    verify(&req, policy, T).unwrap();
}

#[test]
fn required_components_lists_the_present_ones() {
    let policy = brokerage_policy();
    let with = api_call();
    let without = payment();
    let list = |req: &Request<Vec<u8>>| {
        policy.required_components(
            &tresor_httpsig::Message::from_request(req),
            Some(req.body().len()),
        )
    };
    assert!(list(&with).contains(&field("authorization")));
    assert!(list(&with).contains(&field("idempotency-key")));
    assert!(!list(&without).contains(&field("authorization")));
    assert!(!list(&without).contains(&field("idempotency-key")));
    assert_eq!(
        policy.components_required_if_present(),
        &[field("authorization"), field("idempotency-key")]
    );
}

#[test]
fn expires_can_be_required() {
    let mut req = payment();
    signer().sign_request(&mut req).unwrap();
    assert_eq!(
        verify(&req, Policy::new().require_expires(true), T).unwrap_err(),
        Error::MissingParameter {
            parameter: "expires"
        }
    );
    verify(&req, Policy::new(), T).unwrap();
    let mut req = payment();
    signer().expires_in(60).sign_request(&mut req).unwrap();
    let policy = Policy::new().require_expires(true);
    assert!(policy.expires_required());
    verify(&req, policy.clone(), T).unwrap();
    // Expired is still expired.
    assert!(matches!(
        verify(&req, policy, T + 61 + 5),
        Err(Error::Expired { .. })
    ));
}

#[test]
fn digest_algorithms_can_be_restricted() {
    use tresor_httpsig::{DigestAlgorithm, content_digest};
    let sha512_only = || Policy::new().accept_digest_algorithms([DigestAlgorithm::Sha512]);
    assert_eq!(
        sha512_only().accepted_digest_algorithms(),
        &[DigestAlgorithm::Sha512]
    );
    assert_eq!(
        Policy::new().accepted_digest_algorithms(),
        &DigestAlgorithm::ALL
    );

    // A SHA-256 digest, correct and signed: refused under SHA-512 only.
    let mut req = payment();
    signer()
        .content_digest(Some(DigestAlgorithm::Sha256))
        .sign_request(&mut req)
        .unwrap();
    verify(&req, Policy::new(), T).unwrap();
    assert!(matches!(
        verify(&req, sha512_only(), T),
        Err(Error::DigestMismatch { reason }) if reason.contains("sha-512")
    ));

    // SHA-512: accepted.
    let mut req = payment();
    signer()
        .content_digest(Some(DigestAlgorithm::Sha512))
        .sign_request(&mut req)
        .unwrap();
    verify(&req, sha512_only(), T).unwrap();

    // Both members, the SHA-256 one wrong: the ignored member does not
    // count, the SHA-512 one is checked. And the other way round.
    let body = payment().into_body();
    let good512 = content_digest(DigestAlgorithm::Sha512, &body);
    let good256 = content_digest(DigestAlgorithm::Sha256, &body);
    let bad256 = content_digest(DigestAlgorithm::Sha256, b"other");
    let bad512 = content_digest(DigestAlgorithm::Sha512, b"other");
    for (field_value, ok) in [
        (format!("{bad256}, {good512}"), true),
        (format!("{good256}, {bad512}"), false),
        (good256.clone(), false),
    ] {
        let mut req = payment();
        req.headers_mut()
            .insert("content-digest", field_value.parse().unwrap());
        signer()
            .content_digest(None)
            .sign_request(&mut req)
            .unwrap();
        assert_eq!(verify(&req, sha512_only(), T).is_ok(), ok, "{field_value}");
    }
}

#[test]
fn body_components_survive_without_default_components() {
    let policy = Policy::new()
        .without_default_components()
        .require_component(ComponentId::method())
        .require_body_components();
    // A body signed without its digest: refused.
    let mut req = payment();
    signer()
        .components(vec![ComponentId::method()])
        .content_digest(None)
        .sign_request(&mut req)
        .unwrap();
    assert_eq!(
        verify(&req, policy.clone(), T).unwrap_err(),
        Error::MissingComponent {
            component: "\"content-digest\"".to_owned()
        }
    );
    // Without the rule, the same request passes (what the rule prevents).
    verify(
        &req,
        Policy::new()
            .without_default_components()
            .require_component(ComponentId::method()),
        T,
    )
    .unwrap();
    // Covering the body: accepted; `@authority` is not required.
    let mut req = payment();
    signer()
        .components(vec![
            ComponentId::method(),
            field("content-digest"),
            field("content-type"),
            field("content-length"),
        ])
        .sign_request(&mut req)
        .unwrap();
    verify(&req, policy.clone(), T).unwrap();
    // No body: nothing more is required.
    let mut req = Request::builder()
        .method("GET")
        .uri("/accounts")
        .header("host", "api.bank.example")
        .body(Vec::new())
        .unwrap();
    signer()
        .components(vec![ComponentId::method()])
        .sign_request(&mut req)
        .unwrap();
    verify(&req, policy, T).unwrap();
}
