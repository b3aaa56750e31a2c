//! The JWK parser and RFC 7638 thumbprints: known answers and refusals.

use tresor_types::Error;
use tresor_types::jwk::{EcCurve, JwkKey, KeyParams, PRIVATE_MEMBERS, PrivateJwk, PublicJwk};

/// RFC 7638 section 3.1: the example RSA key (from RFC 7517 appendix A.1).
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/// RFC 8037 appendix A.2: the example Ed25519 public key.
const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 appendix A.1: its private key.
const ED25519_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// A P-256 point (RFC 7515 appendix A.3).
const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const P256_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

fn reason(e: Error) -> String {
    match e {
        Error::InvalidJwk { reason } => reason,
        other => panic!("not a JWK error: {other:?}"),
    }
}

#[test]
fn rfc7638_section_3_1_thumbprint() {
    let text =
        format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#);
    let jwk = PublicJwk::parse(&text).unwrap();
    assert_eq!(
        jwk.key().canonical_json(),
        format!(r#"{{"e":"AQAB","kty":"RSA","n":"{RFC7638_N}"}}"#)
    );
    assert_eq!(
        jwk.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(jwk.alg(), Some("RS256"));
    assert_eq!(jwk.kid(), Some("2011-04-29"));
    assert_eq!(jwk.key().kty(), "RSA");
}

#[test]
fn rfc8037_appendix_a3_thumbprint() {
    let text = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}"}}"#);
    let jwk = PublicJwk::parse(&text).unwrap();
    assert_eq!(
        jwk.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert!(matches!(jwk.key().params(), KeyParams::Ed25519 { x } if x.len() == 32));
}

#[test]
fn member_order_and_metadata_do_not_change_the_thumbprint() {
    let a = PublicJwk::parse(&format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{P256_X}","y":"{P256_Y}"}}"#
    ))
    .unwrap();
    let b = PublicJwk::parse(&format!(
        r#"{{ "y":"{P256_Y}", "use":"sig", "key_ops":["verify"], "x":"{P256_X}", "crv":"P-256", "kid":"k1", "kty":"EC", "x5t":"ignored" }}"#
    ))
    .unwrap();
    assert_eq!(a.thumbprint(), b.thumbprint());
    assert_eq!(a.key(), b.key());
    assert_eq!(b.key_use(), Some("sig"));
    assert_eq!(b.key_ops(), Some(&["verify".to_owned()][..]));
    match a.key().params() {
        KeyParams::Ec { curve, point } => {
            assert_eq!(curve, EcCurve::P256);
            assert_eq!(point.len(), 65);
            assert_eq!(point.first(), Some(&4));
        }
        other => panic!("{other:?}"),
    }
    // The canonical form is itself a public JWK of the same key.
    let again = PublicJwk::parse(&a.key().canonical_json()).unwrap();
    assert_eq!(again.key(), a.key());
}

#[test]
fn every_private_member_is_refused_in_a_public_key() {
    for name in PRIVATE_MEMBERS {
        let text = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{P256_X}","y":"{P256_Y}","{name}":"AAAA"}}"#
        );
        let why = reason(PublicJwk::parse(&text).unwrap_err());
        assert!(why.contains("private member"), "{name}: {why}");
        assert!(!why.contains("AAAA"), "{name}: the value leaked");
    }
}

#[test]
fn refusals() {
    let ec = |extra: &str| {
        format!(r#"{{"kty":"EC","crv":"P-256","x":"{P256_X}","y":"{P256_Y}"{extra}}}"#)
    };
    for (text, expected) in [
        (ec(r#","use":"enc""#), "use"),
        (ec(r#","key_ops":["sign"]"#), "key_ops"),
        (ec(r#","key_ops":"verify""#), "key_ops"),
        (ec(r#","alg":5"#), "not a string"),
        (ec(r#","kid":[]"#), "not a string"),
        (ec(r#","x":"AAAA""#), "unique"),
        (r#"{"kty":"oct","k":"AAAA"}"#.to_owned(), "symmetric"),
        (r#"{"crv":"P-256"}"#.to_owned(), "\"kty\" is missing"),
        (
            r#"{"kty":"EC","crv":"P-521","x":"AA","y":"AA"}"#.to_owned(),
            "curve",
        ),
        (
            r#"{"kty":"OKP","crv":"X25519","x":"AA"}"#.to_owned(),
            "curve",
        ),
        (
            r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#.to_owned(),
            "32 bytes",
        ),
        (
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}"#
                .to_owned(),
            "base64url",
        ),
        (r#"{"kty":"RSA","n":"","e":"AQAB"}"#.to_owned(), "non-empty"),
        (r#"{"kty":"RSA","e":"AQAB"}"#.to_owned(), "\"n\" is missing"),
        (r#"{"kty":"foo"}"#.to_owned(), "kty"),
        ("[1]".to_owned(), "JSON object"),
        ("not json".to_owned(), "JSON object"),
    ] {
        let why = reason(PublicJwk::parse(&text).unwrap_err());
        assert!(why.contains(expected), "{text}: {why}");
    }
    let long = format!("{{\"kty\":\"EC\",\"pad\":\"{}\"}}", "a".repeat(70_000));
    assert!(reason(PublicJwk::parse(&long).unwrap_err()).contains("longer"));
}

#[test]
fn private_jwks() {
    let ed = format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{ED25519_D}","x":"{ED25519_X}"}}"#);
    let key = PrivateJwk::parse(&ed).unwrap();
    assert_eq!(key.d().len(), 32);
    assert!(key.rsa().is_none());
    assert_eq!(
        key.public().thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    let shown = format!("{key:?}");
    assert!(!shown.contains(ED25519_D), "{shown}");

    let ec = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{P256_X}","y":"{P256_Y}","d":"{P256_D}","key_ops":["sign"]}}"#
    );
    assert_eq!(PrivateJwk::parse(&ec).unwrap().d().len(), 32);

    for (text, expected) in [
        (
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}"}}"#),
            "needs the member \"d\"",
        ),
        (
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}","d":"AAAA"}}"#),
            "32 bytes",
        ),
        (
            format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}","d":"{ED25519_D}","key_ops":["verify"]}}"#
            ),
            "sign",
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","d":"AQAB"}}"#),
            "\"p\" is missing",
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","d":"AQAB","oth":[]}}"#),
            "multi-prime",
        ),
    ] {
        let why = reason(PrivateJwk::parse(&text).unwrap_err());
        assert!(why.contains(expected), "{text}: {why}");
    }
}

#[test]
fn constructors_check_lengths() {
    assert!(JwkKey::ec(EcCurve::P384, &[4; 97]).is_ok());
    assert!(JwkKey::ec(EcCurve::P384, &[4; 65]).is_err());
    assert!(JwkKey::ec(EcCurve::P256, &[2; 65]).is_err());
    assert!(JwkKey::ed25519(&[0; 31]).is_err());
    assert!(JwkKey::rsa(&[1], &[]).is_err());
    let key = JwkKey::rsa(&[0xc5; 256], &[1, 0, 1]).unwrap();
    assert_eq!(key.thumbprint().len(), 43);
}
