//! `parse_signature_inputs`, `parse_signatures`, `select_signature` and
//! `ComponentId::parse` of arbitrary field values.
//!
//! Input: the `Signature-Input` value, a `0xFF` byte, the `Signature` value
//! (no `0xFF`: all `Signature-Input`). Each value is split at LF into field
//! lines (lines `http` rejects are dropped). Every line of both halves is
//! also parsed as a component identifier.
//!
//! Properties: nothing panics; whatever parses re-serialises to text that
//! parses back to an equal value and serialises to the same text again
//! (component identifiers, `Signature-Input` members in order, `Signature`
//! members); `select_signature` of the first member agrees with the two
//! parsers; the two parsers (a fast path with the `sfv` crate behind it)
//! give exactly what the `sfv` path alone gives, result or error, under
//! the default limits and under small ones, and with the two halves
//! swapped (so either half reaches either parser).
#![no_main]

use base64ct::{Base64, Encoding};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tresor_httpsig::{
    ComponentId, fields::Limits, fields::SIGNATURE, fields::SIGNATURE_INPUT, fields::Selector,
    fields::SignatureInput, fields::parse_signature_inputs, fields::parse_signatures,
    fields::select_signature, params::serialize_signature_params,
};

fuzz_target!(|data: &[u8]| {
    let (input, signature) = match data.iter().position(|&b| b == 0xFF) {
        Some(at) => (
            data.get(..at).unwrap_or_default(),
            data.get(at + 1..).unwrap_or_default(),
        ),
        None => (data, &[][..]),
    };
    for half in [input, signature] {
        if let Ok(text) = std::str::from_utf8(half) {
            check_component_id(text);
            for line in text.lines() {
                check_component_id(line);
            }
        }
    }

    let mut headers = HeaderMap::new();
    add_lines(&mut headers, SIGNATURE_INPUT, input);
    add_lines(&mut headers, SIGNATURE, signature);
    let limits = Limits::default();
    let mut small = limits;
    small.max_signatures = 1 + data.len() % 3;
    small.max_components = 1 + data.len() % 5;
    let mut swapped = HeaderMap::new();
    add_lines(&mut swapped, SIGNATURE_INPUT, signature);
    add_lines(&mut swapped, SIGNATURE, input);
    for h in [&headers, &swapped] {
        for l in [&limits, &small] {
            check_against_sfv(h, l);
        }
    }
    // The re-serialisation may be a little longer than the input (", "
    // between members), so it is reparsed with a larger field limit.
    let mut roomy = limits;
    roomy.max_field_bytes = limits.max_field_bytes * 2;

    let inputs = parse_signature_inputs(&headers, &limits);
    if let Ok(inputs) = &inputs {
        check_inputs_round_trip(inputs, &roomy);
    }
    let signatures = parse_signatures(&headers, &limits);
    if let Ok(signatures) = &signatures {
        check_signatures_round_trip(signatures, &roomy);
    }

    let selected = select_signature(&headers, &Selector::First, &limits);
    match (&inputs, &signatures, &selected) {
        (Ok(inputs), Ok(signatures), Ok(selected)) => {
            let first = inputs.first().expect("a selected signature has an input");
            assert_eq!(selected.input(), first);
            let (_, bytes) = signatures
                .iter()
                .find(|(l, _)| l == first.label())
                .expect("a selected signature is in Signature");
            assert_eq!(selected.signature(), bytes.as_slice());
        }
        (Err(_), _, Ok(_)) | (_, Err(_), Ok(_)) => {
            panic!("select_signature succeeded where a field does not parse")
        }
        _ => {}
    }
    if let Ok(inputs) = &inputs {
        for i in inputs {
            let by_label =
                select_signature(&headers, &Selector::Label(i.label().to_owned()), &limits);
            if let Ok(found) = by_label {
                assert_eq!(found.input(), i);
            }
        }
    }
});

/// The public parsers agree exactly with the `sfv`-only reference.
fn check_against_sfv(headers: &HeaderMap, limits: &Limits) {
    assert_eq!(
        parse_signature_inputs(headers, limits),
        SignatureInput::parse_all_with_sfv(headers, limits),
        "Signature-Input {:?}",
        headers.get_all(SIGNATURE_INPUT).iter().collect::<Vec<_>>()
    );
    assert_eq!(
        parse_signatures(headers, limits),
        SignatureInput::parse_signatures_with_sfv(headers, limits),
        "Signature {:?}",
        headers.get_all(SIGNATURE).iter().collect::<Vec<_>>()
    );
}

fn add_lines(headers: &mut HeaderMap, name: HeaderName, value: &[u8]) {
    if value.is_empty() {
        return;
    }
    for line in value.split(|&b| b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(name.clone(), v);
        }
    }
}

fn check_component_id(text: &str) {
    let Ok(id) = ComponentId::parse(text) else {
        return;
    };
    let shown = id.to_string();
    let again = ComponentId::parse(&shown)
        .unwrap_or_else(|e| panic!("{text:?} parsed, but its display {shown:?} does not: {e}"));
    assert_eq!(again, id, "{text:?} -> {shown:?}");
    assert_eq!(again.params(), id.params(), "parameter order lost");
    assert_eq!(again.to_string(), shown);
}

fn serialize_inputs(inputs: &[SignatureInput]) -> String {
    inputs
        .iter()
        .map(|i| {
            let list = serialize_signature_params(i.components(), i.params())
                .expect("parsed components and parameters serialise");
            format!("{}={list}", i.label())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_inputs_round_trip(inputs: &[SignatureInput], limits: &Limits) {
    for i in inputs {
        for c in i.components() {
            check_component_id(&c.to_string());
        }
    }
    if inputs.is_empty() {
        return;
    }
    let text = serialize_inputs(inputs);
    let mut headers = HeaderMap::new();
    headers.insert(
        SIGNATURE_INPUT,
        HeaderValue::try_from(text.as_str())
            .expect("a serialised Signature-Input is a header value"),
    );
    let again = parse_signature_inputs(&headers, limits)
        .unwrap_or_else(|e| panic!("serialised Signature-Input {text:?} does not parse: {e}"));
    assert_eq!(again, inputs, "{text:?}");
    assert_eq!(serialize_inputs(&again), text);
}

fn check_signatures_round_trip(signatures: &[(String, Vec<u8>)], limits: &Limits) {
    if signatures.is_empty() {
        return;
    }
    let text = signatures
        .iter()
        .map(|(label, bytes)| format!("{label}=:{}:", Base64::encode_string(bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut headers = HeaderMap::new();
    headers.insert(
        SIGNATURE,
        HeaderValue::try_from(text.as_str()).expect("a serialised Signature is a header value"),
    );
    let again = parse_signatures(&headers, limits)
        .unwrap_or_else(|e| panic!("serialised Signature {text:?} does not parse: {e}"));
    assert_eq!(again, signatures, "{text:?}");
}
