//! Hostile input: errors, never panics; oversized input is LimitExceeded.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod sig_support;

use std::sync::Arc;

use http::{HeaderValue, Request};
use proptest::prelude::*;
use sig_support::{MapResolver, TestHmac};
use tresor_httpsig::{
    Algorithm, ComponentId, Error, FixedClock, Message, Policy, Verifier,
    base::signature_base_for_label, fields::Limits, fields::parse_signature_inputs,
    fields::parse_signatures,
};

const T: i64 = 1_700_000_000;

fn verifier() -> Verifier {
    let key = Arc::new(TestHmac::new(b"bad input secret, 32 bytes long!"));
    Verifier::new(
        Arc::new(MapResolver::default().with("k", key)),
        Policy::new()
            .without_default_components()
            .allow_algorithms(Algorithm::ALL),
    )
    .clock(Arc::new(FixedClock::new(T)))
}

fn request_with(fields: &[(&'static str, &[u8])]) -> Option<Request<Vec<u8>>> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/p?a=1")
        .header("host", "example.com")
        .body(b"body".to_vec())
        .ok()?;
    for (name, value) in fields {
        let value = HeaderValue::from_bytes(value).ok()?;
        req.headers_mut().append(*name, value);
    }
    Some(req)
}

/// Structured-field-ish text, to reach deeper into the parsers than
/// uniform random strings do.
fn sfish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "sig",
            "=",
            "(",
            ")",
            "\"",
            "\"@method\"",
            "\"@query-param\"",
            ";",
            "name=",
            "key=",
            "created=",
            "1",
            "-5",
            "99999999999999999",
            ":",
            "YWJj",
            ",",
            " ",
            "keyid=\"k\"",
            "sf",
            "bs",
            "req",
            "tr",
            "\"x\"",
            "?1",
            "@",
            "\\",
            "alg=\"ed25519\"",
            "expires=",
            "*",
        ]),
        0..24,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_signature_fields_never_panic(
        si in prop_oneof![sfish(), any::<String>()],
        sig in prop_oneof![sfish(), any::<String>()],
    ) {
        if let Some(req) = request_with(&[("signature-input", si.as_bytes()), ("signature", sig.as_bytes())]) {
            let _ = parse_signature_inputs(req.headers(), &Limits::default());
            let _ = parse_signatures(req.headers(), &Limits::default());
            let _ = signature_base_for_label(&Message::from_request(&req), "sig");
            prop_assert!(verifier().verify_request(&req).is_err());
        }
    }

    #[test]
    fn arbitrary_component_ids_never_panic(s in prop_oneof![sfish(), any::<String>()]) {
        if let Ok(id) = ComponentId::parse(&s) {
            // What parses re-serialises to something that parses to the same.
            let again = ComponentId::parse(&id.to_string()).unwrap();
            prop_assert_eq!(&again, &id);
            let req = request_with(&[]).unwrap();
            let _ = Message::from_request(&req).component_value(&id);
        }
    }

    #[test]
    fn arbitrary_header_values_never_panic(
        value in prop::collection::vec(any::<u8>(), 0..64),
        id in prop::sample::select(vec![
            "\"x-test\"", "\"x-test\";sf", "\"x-test\";key=\"a\"", "\"x-test\";bs",
            "\"host\"", "\"@authority\"", "\"@target-uri\"", "\"@query-param\";name=\"a\"",
        ]),
    ) {
        let host = if id.contains("authority") || id.contains("target") || id == "\"host\"" {
            "host"
        } else {
            "x-test"
        };
        if let Some(mut req) = request_with(&[("x-test", value.as_slice())]) {
            if host == "host"
                && let Ok(v) = HeaderValue::from_bytes(&value)
            {
                req.headers_mut().insert("host", v);
            }
            let id = ComponentId::parse(id).unwrap();
            let _ = Message::from_request(&req).component_value(&id);
        }
    }

    #[test]
    fn arbitrary_queries_never_panic(q in "[ -~]{0,40}") {
        let uri = format!("/p?{}", q.replace(' ', "%20").replace('#', "%23"));
        if let Ok(req) = Request::builder().uri(uri).header("host", "h").body(()) {
            for name in ["a", "%", "%2", "%ZZ", "+", ""] {
                if let Ok(id) = ComponentId::query_param(name) {
                    let _ = Message::from_request(&req).component_value(&id);
                }
            }
        }
    }
}

#[test]
fn huge_signature_input_is_limit_exceeded() {
    let big = format!("sig=(\"@method\");keyid=\"{}\"", "a".repeat(10_000));
    let req = request_with(&[("signature-input", big.as_bytes())]).unwrap();
    assert!(matches!(
        verifier().verify_request(&req),
        Err(Error::LimitExceeded { .. })
    ));
    // Many field lines add up.
    let line = format!("s=(\"@method\");keyid=\"{}\"", "a".repeat(500));
    let lines: Vec<(&str, &[u8])> = (0..40)
        .map(|_| ("signature-input", line.as_bytes()))
        .collect();
    let req = request_with(&lines).unwrap();
    assert!(matches!(
        parse_signature_inputs(req.headers(), &Limits::default()),
        Err(Error::LimitExceeded { .. })
    ));
}

#[test]
fn too_many_signatures_is_limit_exceeded() {
    let si: Vec<String> = (0..9).map(|i| format!("s{i}=(\"@method\")")).collect();
    let req = request_with(&[("signature-input", si.join(", ").as_bytes())]).unwrap();
    assert!(matches!(
        parse_signature_inputs(req.headers(), &Limits::default()),
        Err(Error::LimitExceeded {
            what: "number of signatures",
            ..
        })
    ));
    let sig: Vec<String> = (0..9).map(|i| format!("s{i}=:YWJj:")).collect();
    let req = request_with(&[("signature", sig.join(", ").as_bytes())]).unwrap();
    assert!(matches!(
        parse_signatures(req.headers(), &Limits::default()),
        Err(Error::LimitExceeded { .. })
    ));
}

#[test]
fn too_many_components_is_limit_exceeded() {
    let ids: Vec<String> = (0..33).map(|i| format!("\"x-{i}\"")).collect();
    let si = format!("sig=({});keyid=\"k\"", ids.join(" "));
    let req = request_with(&[("signature-input", si.as_bytes())]).unwrap();
    assert!(matches!(
        parse_signature_inputs(req.headers(), &Limits::default()),
        Err(Error::LimitExceeded {
            what: "number of covered components",
            ..
        })
    ));
    assert!(matches!(
        ComponentId::parse(&"x".repeat(5000)),
        Err(Error::LimitExceeded { .. })
    ));
}

#[test]
fn malformed_fields_are_errors() {
    for (si, sig) in [
        ("sig=\"@method\"", "sig=:YWJj:"),
        ("sig=(\"@method\");created=\"x\";keyid=\"k\"", "sig=:YWJj:"),
        ("sig=(\"@method\");keyid=1", "sig=:YWJj:"),
        ("sig=(@method);keyid=\"k\"", "sig=:YWJj:"),
        ("sig=(\"@method\");keyid=\"k\"", "sig=\"notbytes\""),
        ("sig=(\"@method\");keyid=\"k\"", "sig=(:YWJj:)"),
        ("sig=(\"@method\" \"@method\");keyid=\"k\"", "sig=:YWJj:"),
        ("sig=(\"@bogus\");keyid=\"k\"", "sig=:YWJj:"),
        ("sig=(\"@method\");keyid=\"k\",", "sig=:YWJj:"),
        ("sig=(\"@method\");keyid=\"k\"", "sig=:!!!:"),
    ] {
        let req = request_with(&[
            ("signature-input", si.as_bytes()),
            ("signature", sig.as_bytes()),
        ])
        .unwrap();
        let err = verifier().verify_request(&req).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed { .. } | Error::InvalidComponent { .. }
            ),
            "{si} / {sig}: {err:?}"
        );
    }
    // Non-ASCII bytes in the field.
    let req = request_with(&[("signature-input", b"sig=(\"\xff\")")]).unwrap();
    assert!(matches!(
        verifier().verify_request(&req),
        Err(Error::Malformed { .. })
    ));
}
