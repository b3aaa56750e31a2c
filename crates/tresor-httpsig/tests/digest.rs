//! Content-Digest (RFC 9530): known answers from RFC 9530 and RFC 9421,
//! streaming equals one-shot, mismatches and malformed fields.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use tresor_httpsig::digest::{MAX_FIELD_LEN, MAX_MEMBERS};
use tresor_httpsig::{
    DigestAlgorithm, Error, content_digest, digest::ContentDigestHasher,
    digest::ContentDigestVerifier, verify_content_digest,
};

const HELLO: &[u8] = br#"{"hello": "world"}"#;
const HELLO_SHA256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
const HELLO_SHA512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

/// RFC 9530 Appendix B (and RFC 9421 B.2 test request): `{"hello": "world"}`.
#[test]
fn rfc9530_hello_world() {
    assert_eq!(content_digest(DigestAlgorithm::Sha256, HELLO), HELLO_SHA256);
    assert_eq!(content_digest(DigestAlgorithm::Sha512, HELLO), HELLO_SHA512);
    verify_content_digest(HELLO_SHA256, HELLO).unwrap();
    verify_content_digest(HELLO_SHA512, HELLO).unwrap();
    verify_content_digest(&format!("{HELLO_SHA256}, {HELLO_SHA512}"), HELLO).unwrap();
}

/// RFC 9530 section 2, first example: the content is `{"hello": "world"}`
/// followed by a newline.
#[test]
fn rfc9530_section2_example() {
    let field = "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:";
    let body = b"{\"hello\": \"world\"}\n";
    assert_eq!(content_digest(DigestAlgorithm::Sha512, body), field);
    verify_content_digest(field, body).unwrap();
}

/// RFC 9421 Appendix B.2: the test response's Content-Digest.
#[test]
fn rfc9421_test_response() {
    let field = "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:";
    verify_content_digest(field, br#"{"message": "good dog"}"#).unwrap();
}

#[test]
fn empty_body() {
    let sha256 = content_digest(DigestAlgorithm::Sha256, b"");
    assert_eq!(
        sha256,
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    );
    verify_content_digest(&sha256, b"").unwrap();
    let sha512 = content_digest(DigestAlgorithm::Sha512, b"");
    assert_eq!(
        sha512,
        "sha-512=:z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==:"
    );
    verify_content_digest(&sha512, b"").unwrap();
    assert!(matches!(
        verify_content_digest(&sha512, b"x"),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn algorithm_names() {
    assert_eq!(DigestAlgorithm::Sha256.name(), "sha-256");
    assert_eq!(DigestAlgorithm::Sha512.name(), "sha-512");
    assert_eq!(
        "sha-512".parse::<DigestAlgorithm>().unwrap(),
        DigestAlgorithm::Sha512
    );
    assert!(matches!(
        "md5".parse::<DigestAlgorithm>(),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn mismatch() {
    let err = verify_content_digest(HELLO_SHA256, br#"{"hello": "World"}"#).unwrap_err();
    match err {
        Error::DigestMismatch { reason } => assert!(reason.contains("sha-256"), "{reason}"),
        other => panic!("unexpected {other:?}"),
    }
}

/// Every supported digest present must match, not just one of them.
#[test]
fn every_supported_digest_must_match() {
    let wrong256 = content_digest(DigestAlgorithm::Sha256, b"other");
    let field = format!("{wrong256}, {HELLO_SHA512}");
    let err = verify_content_digest(&field, HELLO).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }));
    let wrong512 = content_digest(DigestAlgorithm::Sha512, b"other");
    let field = format!("{HELLO_SHA256}, {wrong512}");
    assert!(matches!(
        verify_content_digest(&field, HELLO),
        Err(Error::DigestMismatch { .. })
    ));
}

/// Unknown and insecure algorithms are ignored: never trusted, never an error
/// next to a supported one.
#[test]
fn unknown_algorithms_ignored() {
    let field = format!("md5=:AAAAAAAAAAAAAAAAAAAAAA==:, sha=:AAAA:, unixsum=3, {HELLO_SHA256}");
    verify_content_digest(&field, HELLO).unwrap();
    let v = ContentDigestVerifier::new(&field).unwrap();
    assert_eq!(v.algorithms(), vec![DigestAlgorithm::Sha256]);
}

#[test]
fn no_supported_algorithm() {
    for field in ["md5=:AAAAAAAAAAAAAAAAAAAAAA==:", "sha=:AAAA:", ""] {
        match verify_content_digest(field, HELLO) {
            Err(Error::DigestMismatch { reason }) => {
                assert!(reason.contains("no supported"), "{reason}")
            }
            other => panic!("{field:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn malformed_fields() {
    let cases = [
        "sha-256",                                                  // boolean true, not bytes
        "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",     // token-ish, invalid
        "sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"", // string
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",    // unterminated
        "sha-256=:AAAA:",                                           // wrong length
        "sha-256=(:AAAA:)",                                         // inner list
        "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",   // keys are lower case
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",  // trailing comma
        "sha-256=:!!!:",
        ",",
        "=",
    ];
    for field in cases {
        match verify_content_digest(field, HELLO) {
            Err(Error::Malformed { field: f, .. }) => assert_eq!(f, "Content-Digest"),
            other => panic!("{field:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn duplicate_algorithm_rejected() {
    let wrong = content_digest(DigestAlgorithm::Sha256, b"other");
    for field in [
        format!("{HELLO_SHA256}, {wrong}"),
        format!("{wrong}, {HELLO_SHA256}"),
    ] {
        assert!(matches!(
            verify_content_digest(&field, HELLO),
            Err(Error::Malformed { .. })
        ));
    }
}

#[test]
fn parameters_are_ignored() {
    verify_content_digest(&format!("{HELLO_SHA256};a=1"), HELLO).unwrap();
}

#[test]
fn limits() {
    let long = format!("{HELLO_SHA256}, x=\"{}\"", "a".repeat(MAX_FIELD_LEN));
    assert!(matches!(
        verify_content_digest(&long, HELLO),
        Err(Error::LimitExceeded { .. })
    ));
    let mut many = HELLO_SHA256.to_owned();
    for i in 0..MAX_MEMBERS {
        many.push_str(&format!(", k{i}=1"));
    }
    assert!(matches!(
        verify_content_digest(&many, HELLO),
        Err(Error::LimitExceeded { .. })
    ));
    // One member fewer is fine.
    let mut ok = HELLO_SHA256.to_owned();
    for i in 0..MAX_MEMBERS - 1 {
        ok.push_str(&format!(", k{i}=1"));
    }
    verify_content_digest(&ok, HELLO).unwrap();
}

#[test]
fn streaming_verifier_checks_pieces() {
    let mut v = ContentDigestVerifier::new(HELLO_SHA512).unwrap();
    for chunk in HELLO.chunks(5) {
        v.update(chunk);
    }
    v.finish().unwrap();

    let mut v = ContentDigestVerifier::new(HELLO_SHA512).unwrap();
    v.update(&HELLO[..10]);
    assert!(v.finish().is_err(), "a truncated body must not verify");
}

fn split_points(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    points.push(0);
    points.push(len);
    points.sort_unstable();
    points
}

proptest! {
    #[test]
    fn streaming_equals_one_shot(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        sha512 in any::<bool>(),
    ) {
        let alg = if sha512 { DigestAlgorithm::Sha512 } else { DigestAlgorithm::Sha256 };
        let one_shot = content_digest(alg, &body);
        let points = split_points(body.len(), &cuts);

        let mut hasher = ContentDigestHasher::new(alg);
        let mut verifier = ContentDigestVerifier::new(&one_shot).unwrap();
        for w in points.windows(2) {
            hasher.update(&body[w[0]..w[1]]);
            verifier.update(&body[w[0]..w[1]]);
        }
        prop_assert_eq!(hasher.finish(), one_shot.clone());
        prop_assert!(verifier.finish().is_ok());
        prop_assert!(verify_content_digest(&one_shot, &body).is_ok());
    }

    #[test]
    fn altered_body_fails(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        index in any::<usize>(),
        bit in 0u8..8,
    ) {
        let field = content_digest(DigestAlgorithm::Sha256, &body);
        let mut altered = body.clone();
        let i = index % altered.len();
        altered[i] ^= 1 << bit;
        let is_mismatch = matches!(
            verify_content_digest(&field, &altered),
            Err(Error::DigestMismatch { .. })
        );
        prop_assert!(is_mismatch);
    }

    #[test]
    fn arbitrary_field_never_panics(field in ".{0,300}") {
        let _ = verify_content_digest(&field, b"body");
    }

    #[test]
    fn structured_looking_field_never_panics(
        field in r#"(sha-256|sha-512|md5|[a-z*][a-z0-9_.*-]{0,8})(=(:[A-Za-z0-9+/=]{0,90}:|[0-9]{1,4}|"[a-z]*"|\?[01]|\([^)]{0,10}\)))?(;[a-z]=[0-9])?(, ?(sha-256|sha-512)=:[A-Za-z0-9+/=]{0,90}:)?"#
    ) {
        let _ = verify_content_digest(&field, b"body");
    }
}
