//! `client_secret_basic` exactly as RFC 6749 section 2.3.1: Base64 of
//! `form-urlencode(id) ":" form-urlencode(secret)`; decode Base64, split at
//! the first colon, form-decode both halves.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use base64ct::{Base64, Encoding};
use tresor_credentials::endpoint::{form_decode, parse_basic};

/// The client side of RFC 6749 2.3.1, written independently: the
/// `application/x-www-form-urlencoded` serializer of the WHATWG URL
/// standard (unreserved `*-._` and alphanumerics kept, space as `+`,
/// everything else `%XX` of its UTF-8 bytes).
fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn header(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", form_encode(id), form_encode(secret));
    format!("Basic {}", Base64::encode_string(raw.as_bytes()))
}

fn parse(h: &str) -> Option<(String, String)> {
    parse_basic(h).map(|(i, s)| (i.to_string(), s.to_string()))
}

#[test]
fn encoding_cases_round_trip() {
    let cases = [
        ("s6BhdRkqt3", "gX1fBat3bV"),
        ("client+id", "se+cret"),
        ("client/id", "a/b/c=="),
        ("id:with:colons", "secret:with:colons"),
        ("per%cent", "100%"),
        ("with space", "two  spaces "),
        ("ünïcödé", "пароль🔑"),
        ("x", ":leading colon"),
        ("x", "trailing colon:"),
        ("x", ""),
        ("&=?#", "&=?#"),
    ];
    for (id, secret) in cases {
        assert_eq!(
            parse(&header(id, secret)),
            Some((id.to_owned(), secret.to_owned())),
            "{id:?} {secret:?}"
        );
    }
}

#[test]
fn split_at_the_first_colon_then_decode() {
    // A raw colon in the secret (a client that did not encode) still
    // belongs to the secret: the split is at the first colon.
    let raw = Base64::encode_string(b"client:sec:ret");
    assert_eq!(
        parse(&format!("Basic {raw}")),
        Some(("client".into(), "sec:ret".into()))
    );
    // An encoded colon in the id is part of the id.
    let raw = Base64::encode_string(b"a%3Ab:c");
    assert_eq!(
        parse(&format!("Basic {raw}")),
        Some(("a:b".into(), "c".into()))
    );
    // '+' is a space, "%2B" a plus.
    let raw = Base64::encode_string(b"a+b:c%2Bd");
    assert_eq!(
        parse(&format!("Basic {raw}")),
        Some(("a b".into(), "c+d".into()))
    );
    // Lower-case hex and a case-insensitive scheme.
    let raw = Base64::encode_string(b"%c3%a9:x");
    assert_eq!(
        parse(&format!("bAsIc {raw}")),
        Some(("é".into(), "x".into()))
    );
}

#[test]
fn malformed_headers() {
    for bad in [
        "Basic".to_owned(),
        "Basic ".to_owned(),
        "Bearer abc".to_owned(),
        format!("Basic {}", Base64::encode_string(b"no-colon")),
        "Basic !!!!".to_owned(),
        // Unpadded Base64 is refused (strict).
        format!(
            "Basic {}",
            Base64::encode_string(b"ab:c").trim_end_matches('=')
        ),
        format!("Basic {}", Base64::encode_string(b"bad%zz:x")),
        format!("Basic {}", Base64::encode_string(b"x:trunc%4")),
        format!("Basic {}", Base64::encode_string(b"x:%FF")),
        format!("Basic {}", Base64::encode_string(b"\xff:x")),
    ] {
        assert_eq!(parse(&bad), None, "{bad}");
    }
}

#[test]
fn form_decoding() {
    assert_eq!(form_decode(b"a+b%20c%2b").unwrap().as_str(), "a b c+");
    assert_eq!(form_decode(b"").unwrap().as_str(), "");
    assert!(form_decode(b"%").is_none());
    assert!(form_decode(b"%G0").is_none());
    assert!(form_decode(b"%C3").is_none());
}
