//! Regression tests for the findings of the security review (issue 8) on
//! this crate: nonce replay horizon (finding 3), per-key share of the nonce
//! store (finding 4), `Host` against the URI's authority (finding 6) and
//! `@query-param` with invalid UTF-8 (finding 10).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod sig_support;

use std::sync::Arc;

use base64ct::{Base64, Encoding};
use http::Request;
use sig_support::{MapResolver, TestHmac};
use tresor_httpsig::{
    ComponentId, Error, FixedClock, MemoryNonceStore, Message, NonceStore, Policy, Signer,
    SigningKey, Verifier, base::signature_base, nonce::DEFAULT_KEY_SHARE_DIVISOR,
    params::SignatureParams, params::serialize_signature_params, verify::DEFAULT_NONCE_CAPACITY,
};

const T: i64 = 1_700_000_000;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn key() -> Arc<TestHmac> {
    Arc::new(TestHmac::new(SECRET))
}

fn resolver() -> Arc<MapResolver> {
    Arc::new(MapResolver::default().with("client-1", key()))
}

fn get(uri: &str, host: Option<&str>) -> Request<Vec<u8>> {
    let mut builder = Request::builder().method("GET").uri(uri);
    if let Some(host) = host {
        builder = builder.header("host", host);
    }
    builder.body(Vec::new()).unwrap()
}

fn components(names: &[&str]) -> Vec<ComponentId> {
    names
        .iter()
        .map(|n| ComponentId::parse(&format!("\"{n}\"")).unwrap())
        .collect()
}

/// Signs `req` with exactly these parameters (the `Signer` always adds
/// `created`; these tests need signatures without it).
fn sign_with_params(req: &mut Request<Vec<u8>>, covered: &[ComponentId], params: &SignatureParams) {
    let base = signature_base(&Message::from_request(req), covered, params).unwrap();
    let signature = SigningKey::sign(&*key(), base.as_bytes()).unwrap();
    let input = format!(
        "sig={}",
        serialize_signature_params(covered, params).unwrap()
    );
    let sig = format!("sig=:{}:", Base64::encode_string(&signature));
    req.headers_mut()
        .insert("signature-input", input.parse().unwrap());
    req.headers_mut().insert("signature", sig.parse().unwrap());
}

fn nonce_params(created: Option<i64>, expires: Option<i64>, nonce: &str) -> SignatureParams {
    let mut params = SignatureParams::new();
    if let Some(c) = created {
        params = params.with_created(c).unwrap();
    }
    if let Some(e) = expires {
        params = params.with_expires(e).unwrap();
    }
    params
        .with_keyid("client-1")
        .unwrap()
        .with_nonce(nonce)
        .unwrap()
}

fn signed_get(created: Option<i64>, expires: Option<i64>, nonce: &str) -> Request<Vec<u8>> {
    let mut req = get("/accounts", Some("api.bank.example"));
    let covered = components(&["@method", "@authority", "@path"]);
    sign_with_params(&mut req, &covered, &nonce_params(created, expires, nonce));
    req
}

// --- Finding 3: nonce replay horizon ---------------------------------------

/// Regression: finding 3 of the security review, issue 8. A signature
/// without `created` but with `expires` stays acceptable until `expires`;
/// its nonce was remembered only for max age + skew (305 s) and could be
/// replayed after that.
#[test]
fn finding3_nonce_without_created_is_remembered_until_expires() {
    let clock = Arc::new(FixedClock::new(T));
    let policy = Policy::new().require_created(false).require_nonce(true);
    let verifier = Verifier::new(resolver(), policy).clock(clock.clone());
    let req = signed_get(None, Some(T + 3600), "n-1");
    verifier.verify_request(&req).unwrap();
    // Well past max age + skew, still before `expires`: a replay.
    for later in [T + 306, T + 400, T + 3600 + 5] {
        clock.set(later);
        assert_eq!(
            verifier.verify_request(&req).unwrap_err(),
            Error::ReplayedNonce,
            "replayed at {later}"
        );
    }
    // After `expires` + skew the signature itself is refused.
    clock.set(T + 3600 + 6);
    assert!(matches!(
        verifier.verify_request(&req).unwrap_err(),
        Error::Expired { .. }
    ));
}

/// Regression: finding 3 of the security review, issue 8. A nonce-protected
/// signature with neither `created` nor `expires` would be acceptable
/// forever: a policy that requires nonces refuses it.
#[test]
fn finding3_nonce_required_refuses_signatures_without_a_time_bound() {
    let clock = Arc::new(FixedClock::new(T));
    let policy = Policy::new().require_created(false).require_nonce(true);
    let verifier = Verifier::new(resolver(), policy).clock(clock.clone());
    assert_eq!(
        verifier
            .verify_request(&signed_get(None, None, "n-1"))
            .unwrap_err(),
        Error::MissingParameter {
            parameter: "created or expires"
        }
    );

    // Without a maximum age, `created` bounds nothing: `expires` is needed.
    let policy = Policy::new().max_age(None).require_nonce(true);
    let verifier = Verifier::new(resolver(), policy).clock(clock.clone());
    assert_eq!(
        verifier
            .verify_request(&signed_get(Some(T), None, "n-2"))
            .unwrap_err(),
        Error::MissingParameter {
            parameter: "expires"
        }
    );
    // With `expires` it is accepted, and remembered until then.
    let req = signed_get(Some(T), Some(T + 10_000), "n-3");
    verifier.verify_request(&req).unwrap();
    clock.set(T + 9_000);
    assert_eq!(
        verifier.verify_request(&req).unwrap_err(),
        Error::ReplayedNonce
    );
}

// --- Finding 4: one tenant starves all --------------------------------------

/// Regression: finding 4 of the security review, issue 8. One key filling
/// the shared store made every other key's fresh nonces fail.
#[test]
fn finding4_one_key_flooding_the_nonce_store_does_not_starve_others() {
    let clock = Arc::new(FixedClock::new(T));
    let store = MemoryNonceStore::with_clock(100, clock.clone());
    let share = store.key_limit();
    assert!(share > 0 && share < store.capacity());
    let mut accepted = 0;
    let mut refused = 0;
    for i in 0..store.capacity() {
        match store.check_and_remember("flooder", &format!("n-{i}"), T + 300) {
            Ok(()) => accepted += 1,
            Err(Error::LimitExceeded { .. }) => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(accepted, share);
    assert_eq!(refused, store.capacity() - share);
    // Another tenant's fresh nonce is still accepted.
    store
        .check_and_remember("other-tenant", "n-0", T + 300)
        .unwrap();
    // The flooder's share frees up as its nonces expire.
    clock.set(T + 301);
    store
        .check_and_remember("flooder", "late", T + 600)
        .unwrap();
}

/// Regression: finding 4 of the security review, issue 8, with an explicit
/// per-key limit and through the verifier.
#[test]
fn finding4_per_key_limit_through_the_verifier() {
    let clock = Arc::new(FixedClock::new(T));
    let store = Arc::new(MemoryNonceStore::with_clock(10, clock.clone()).per_key_limit(3));
    assert_eq!(store.key_limit(), 3);
    let resolver = Arc::new(
        MapResolver::default()
            .with("client-1", key())
            .with("client-2", key()),
    );
    let verifier = Verifier::new(resolver, Policy::new().require_nonce(true))
        .clock(clock.clone())
        .nonce_store(store.clone());
    let request = |key_id: &str, nonce: &str| {
        let mut req = get("/accounts", Some("api.bank.example"));
        Signer::new(key(), key_id)
            .created(T)
            .nonce(nonce)
            .sign_request(&mut req)
            .unwrap();
        req
    };
    for i in 0..3 {
        verifier
            .verify_request(&request("client-1", &format!("n-{i}")))
            .unwrap();
    }
    assert!(matches!(
        verifier.verify_request(&request("client-1", "n-3")),
        Err(Error::LimitExceeded { .. })
    ));
    verifier
        .verify_request(&request("client-2", "n-0"))
        .unwrap();
}

/// Regression: finding 4 of the security review, issue 8, for the store a
/// verifier makes by itself when its policy requires nonces: one key gets
/// a tenth of [`DEFAULT_NONCE_CAPACITY`], and another key still works.
#[test]
fn finding4_default_verifier_store_gives_each_key_a_share() {
    let share = DEFAULT_NONCE_CAPACITY / DEFAULT_KEY_SHARE_DIVISOR;
    let resolver = Arc::new(
        MapResolver::default()
            .with("client-1", key())
            .with("client-2", key()),
    );
    let verifier = Verifier::new(resolver, Policy::new().require_nonce(true))
        .clock(Arc::new(FixedClock::new(T)));
    let signer = |key_id: &str| Signer::new(key(), key_id).created(T);
    let mut req = get("/accounts", Some("api.bank.example"));
    for i in 0..=share {
        req.headers_mut().remove("signature-input");
        req.headers_mut().remove("signature");
        signer("client-1")
            .nonce(format!("n-{i}"))
            .sign_request(&mut req)
            .unwrap();
        let result = verifier.verify_request(&req);
        if i < share {
            result.unwrap();
        } else {
            assert!(matches!(result, Err(Error::LimitExceeded { .. })));
        }
    }
    let mut other = get("/accounts", Some("api.bank.example"));
    signer("client-2")
        .nonce("n-0")
        .sign_request(&mut other)
        .unwrap();
    verifier.verify_request(&other).unwrap();
}

// --- Finding 6: Host swap under a valid signature ---------------------------

fn signed_for_tenant_a() -> Request<Vec<u8>> {
    let mut req = get("/accounts", Some("tenant-a.example"));
    Signer::new(key(), "client-1")
        .created(T)
        .sign_request(&mut req)
        .unwrap();
    req
}

fn verifier() -> Verifier {
    Verifier::new(resolver(), Policy::new()).clock(Arc::new(FixedClock::new(T)))
}

/// Regression: finding 6 of the security review, issue 8. A signed
/// origin-form request rewritten to absolute form naming the signed host,
/// with `Host` set to another tenant, verified.
#[test]
fn finding6_host_differing_from_the_uri_authority_is_refused() {
    let mut req = signed_for_tenant_a();
    verifier().verify_request(&req).unwrap();
    *req.uri_mut() = "https://tenant-a.example/accounts".parse().unwrap();
    req.headers_mut()
        .insert("host", "tenant-b.example".parse().unwrap());
    assert!(matches!(
        verifier().verify_request(&req).unwrap_err(),
        Error::Malformed { field: "Host", .. }
    ));
    // The same through the request head.
    let (parts, _) = req.into_parts();
    assert!(matches!(
        verifier().verify_request_parts(&parts, None).unwrap_err(),
        Error::Malformed { field: "Host", .. }
    ));
}

/// Regression: finding 6 of the security review, issue 8. Several `Host`
/// lines are refused even when the URI has an authority.
#[test]
fn finding6_several_host_lines_are_refused() {
    let mut req = signed_for_tenant_a();
    *req.uri_mut() = "https://tenant-a.example/accounts".parse().unwrap();
    req.headers_mut()
        .append("host", "tenant-b.example".parse().unwrap());
    assert!(matches!(
        verifier().verify_request(&req).unwrap_err(),
        Error::Malformed { field: "Host", .. }
    ));
}

/// Finding 6: the comparison ignores case and the scheme's default port, so
/// equivalent forms still verify.
#[test]
fn finding6_equivalent_host_and_authority_verify() {
    for (uri, host) in [
        ("https://tenant-a.example/accounts", "tenant-a.example"),
        ("https://TENANT-A.example:443/accounts", "tenant-a.example"),
        ("https://tenant-a.example/accounts", "Tenant-A.Example:443"),
    ] {
        let mut req = signed_for_tenant_a();
        *req.uri_mut() = uri.parse().unwrap();
        req.headers_mut().insert("host", host.parse().unwrap());
        verifier()
            .verify_request(&req)
            .unwrap_or_else(|e| panic!("{uri} with Host {host}: {e}"));
    }
    // A non-default port is part of the authority.
    let mut req = signed_for_tenant_a();
    *req.uri_mut() = "https://tenant-a.example/accounts".parse().unwrap();
    req.headers_mut()
        .insert("host", "tenant-a.example:8443".parse().unwrap());
    assert!(matches!(
        verifier().verify_request(&req).unwrap_err(),
        Error::Malformed { field: "Host", .. }
    ));
}

/// Finding 6: the signer does not sign an ambiguous request either.
#[test]
fn finding6_signer_refuses_an_ambiguous_request() {
    let mut req = get(
        "https://tenant-a.example/accounts",
        Some("tenant-b.example"),
    );
    assert!(matches!(
        Signer::new(key(), "client-1").sign_request(&mut req),
        Err(Error::Malformed { field: "Host", .. })
    ));
    assert!(!req.headers().contains_key("signature"));
}

// --- Finding 10: @query-param and invalid UTF-8 -----------------------------

fn query_param_policy() -> Policy {
    Policy::new()
        .without_default_components()
        .require_component(ComponentId::method())
        .require_component(ComponentId::path())
        .require_component(ComponentId::query_param("x").unwrap())
}

fn signed_with_query(query: &str) -> Request<Vec<u8>> {
    let mut req = get(&format!("/pay?x={query}"), Some("api.bank.example"));
    Signer::new(key(), "client-1")
        .created(T)
        .components(vec![
            ComponentId::method(),
            ComponentId::path(),
            ComponentId::query_param("x").unwrap(),
        ])
        .sign_request(&mut req)
        .unwrap();
    req
}

fn with_query(mut req: Request<Vec<u8>>, query: &str) -> Request<Vec<u8>> {
    *req.uri_mut() = format!("/pay?x={query}").parse().unwrap();
    req
}

/// Regression: finding 10 of the security review, issue 8. `%FF` and `%C3`
/// decode to the same replacement character, so under RFC 9421 section
/// 2.2.8 one signature covers both; the policy (on by default) refuses such
/// query parameters, so a signature over one never verifies the other.
#[test]
fn finding10_invalid_utf8_query_parameters_are_refused_by_default() {
    assert!(Policy::new().utf8_query_required());
    let at_t =
        |policy: Policy| Verifier::new(resolver(), policy).clock(Arc::new(FixedClock::new(T)));
    let strict = at_t(query_param_policy());
    let over_ff = signed_with_query("%FF");
    let over_c3 = signed_with_query("%C3");
    for req in [&over_ff, &over_c3, &with_query(over_ff.clone(), "%C3")] {
        assert!(matches!(
            strict.verify_request(req).unwrap_err(),
            Error::Malformed { field: "query", .. }
        ));
    }
    // Names are checked too, and `+` and valid UTF-8 are fine.
    let req = with_query(signed_with_query("a"), "a&%FE=1");
    assert!(matches!(
        strict.verify_request(&req).unwrap_err(),
        Error::Malformed { field: "query", .. }
    ));
    strict
        .verify_request(&signed_with_query("%C3%A9+x"))
        .unwrap();

    // With the option off, the component value follows RFC 9421 section
    // 2.2.8 exactly: both decode to U+FFFD, so the values are equal.
    let lenient = at_t(query_param_policy().require_utf8_query(false));
    lenient.verify_request(&over_ff).unwrap();
    lenient
        .verify_request(&with_query(over_ff.clone(), "%C3"))
        .unwrap();
    let id = ComponentId::query_param("x").unwrap();
    for raw in ["%FF", "%C3", "%EF%BF%BD"] {
        let req = get(&format!("/pay?x={raw}"), Some("api.bank.example"));
        assert_eq!(
            Message::from_request(&req).component_value(&id).unwrap(),
            "%EF%BF%BD"
        );
    }
}
