//! `tresor_cli::rawhttp`, the raw HTTP/1.1 parser and writer of the
//! `tresor http` commands, over arbitrary bytes.
//!
//! Input: any bytes, read as one raw HTTP/1.1 message.
//!
//! Properties: nothing panics; `parse`, `read_from` and `parse_head` agree;
//! a parsed message writes back (`to_bytes`) to exactly the input; its
//! `http` form writes (`HttpMessage::to_bytes`) to HTTP/1.1 text that parses
//! back to the same method, target, status, version, fields and body, and
//! that is a fixed point of parse → write; a field appended with
//! `write_with` parses back as one more field, the others and the body
//! unchanged. The round trips hold below the limits (a rewritten head may
//! grow: CRLF for LF, a canonical reason phrase).
#![no_main]

use http::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tresor_cli::rawhttp::{HttpMessage, MAX_FIELDS, MAX_HEAD, RawMessage};

fuzz_target!(|data: &[u8]| {
    let parsed = RawMessage::parse(data);
    let read = RawMessage::read_from(&mut &data[..]);
    assert_eq!(
        parsed
            .as_ref()
            .map(RawMessage::to_bytes)
            .map_err(ToString::to_string),
        read.as_ref()
            .map(RawMessage::to_bytes)
            .map_err(ToString::to_string),
        "read_from and parse disagree"
    );
    let head = RawMessage::parse_head(data);
    let Ok(raw) = parsed else {
        return;
    };
    let (head, rest) = head.expect("a message that parses has a head that parses");
    assert_eq!(head.headers(), raw.headers());
    assert_eq!(head.is_request(), raw.is_request());
    assert!(head.body().is_empty());
    assert!(rest.starts_with(raw.body()));

    // Exactly the input back.
    assert_eq!(raw.to_bytes(), data);
    assert_eq!(raw.write_with(&[]), data);

    // Through the `http` types and back.
    let message = raw.to_http();
    assert_eq!(message.headers(), raw.headers());
    assert_eq!(message.body(), raw.body());
    let small = data.len() < MAX_HEAD / 2;
    match message.to_bytes() {
        Ok(bytes) => {
            let again = RawMessage::parse(&bytes)
                .unwrap_or_else(|err| panic!("written message does not parse back: {err}"));
            let again_message = again.to_http();
            same(&message, &again_message);
            assert_eq!(again.to_bytes(), bytes);
            assert_eq!(
                again_message.to_bytes().ok().as_deref(),
                Some(&bytes[..]),
                "parse and write are not a fixed point"
            );
        }
        Err(err) => assert!(!small, "a small parsed message is unwritable: {err}"),
    }

    // One appended field.
    let added = [(
        HeaderName::from_static("signature"),
        HeaderValue::from_static("sig=:AA==:"),
    )];
    let signed = raw.write_with(&added);
    if small && raw.headers().len() < MAX_FIELDS {
        let signed = RawMessage::parse(&signed)
            .unwrap_or_else(|err| panic!("a message with one more field does not parse: {err}"));
        assert_eq!(signed.headers().len(), raw.headers().len() + 1);
        assert_eq!(signed.body(), raw.body());
        assert_eq!(signed.is_request(), raw.is_request());
        for (name, value) in raw.headers() {
            assert!(signed.headers().get_all(name).iter().any(|v| v == value));
        }
        assert_eq!(
            signed.headers().get_all("signature").iter().next_back(),
            Some(&added[0].1)
        );
    }
});

/// The two messages have the same start line, fields and body.
fn same(a: &HttpMessage, b: &HttpMessage) {
    match (a, b) {
        (HttpMessage::Request(a), HttpMessage::Request(b)) => {
            assert_eq!(a.method(), b.method());
            assert_eq!(a.uri(), b.uri());
            assert_eq!(a.uri().to_string(), b.uri().to_string());
            assert_eq!(a.version(), b.version());
        }
        (HttpMessage::Response(a), HttpMessage::Response(b)) => {
            assert_eq!(a.status(), b.status());
            assert_eq!(a.version(), b.version());
        }
        _ => panic!("a request became a response or the other way round"),
    }
    assert_eq!(a.headers(), b.headers());
    assert_eq!(a.body(), b.body());
}
