//! `signature_base` and `signature_base_for_label` over arbitrary messages
//! and component lists.
//!
//! Input: a raw HTTP/1.1 head as `tresor_cli::rawhttp::RawMessage::parse_head`
//! reads it (start line, field lines, which may include `Signature-Input`),
//! the empty line, then one component identifier per line (lines that do not parse
//! are skipped). A response gets the RFC 9421 B.2 test request as its
//! related request (for `;req`); every message gets its own fields as
//! trailers too (for `;tr`). The parameters are those of the first
//! `Signature-Input` member, or none.
//!
//! Properties: nothing panics; a computed base is ASCII, has one line per
//! covered component, each starting with the identifier, its `: ` and no
//! CR, and ends with the `"@signature-params"` line serialising exactly
//! those components and parameters; `signature_base_for_label` of each
//! `Signature-Input` member equals `signature_base` of its components and
//! parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_fuzz::httpsig::{HttpMessage, RawMessage, rfc_request};
use tresor_httpsig::{
    ComponentId, Message, base::SignatureBase, base::signature_base,
    base::signature_base_for_label, fields::Limits, fields::parse_signature_inputs,
    params::SignatureParams, params::serialize_signature_params,
};

fuzz_target!(|data: &[u8]| {
    let Ok((raw, rest)) = RawMessage::parse_head(data) else {
        return;
    };
    let components: Vec<ComponentId> = rest
        .split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter_map(|line| ComponentId::parse(line.trim_end_matches('\r')).ok())
        .take(64)
        .collect();

    let raw = raw.to_http();
    let message = match &raw {
        HttpMessage::Request(r) => Message::from_request(r),
        HttpMessage::Response(r) => {
            Message::from_response(r).with_request(Message::from_request(rfc_request()))
        }
    }
    .with_trailers(raw.headers());

    let inputs = parse_signature_inputs(raw.headers(), &Limits::default()).unwrap_or_default();
    let params = inputs
        .first()
        .map_or_else(SignatureParams::new, |i| i.params().clone());

    if let Ok(base) = signature_base(&message, &components, &params) {
        check_base(&base, &components, &params);
    }
    // Prefixes too: shorter lists succeed more often than the whole.
    for n in [1, 2] {
        if let Some(prefix) = components.get(..n)
            && let Ok(base) = signature_base(&message, prefix, &params)
        {
            check_base(&base, prefix, &params);
        }
    }

    for input in &inputs {
        let by_label = signature_base_for_label(&message, input.label());
        let direct = signature_base(&message, input.components(), input.params());
        match (&by_label, &direct) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b);
                check_base(a, input.components(), input.params());
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("for label {:?}: {by_label:?} but {direct:?}", input.label()),
        }
    }
});

fn check_base(base: &SignatureBase, components: &[ComponentId], params: &SignatureParams) {
    let text = base.as_str();
    assert_eq!(text.as_bytes(), base.as_bytes());
    assert!(text.is_ascii(), "non-ASCII base {text:?}");
    assert!(!text.contains('\r'), "CR in base {text:?}");
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(
        lines.len(),
        components.len() + 1,
        "a component value spans lines: {text:?}"
    );
    for (line, id) in lines.iter().zip(components) {
        assert!(line.starts_with('"'), "{line:?}");
        let prefix = format!("{id}: ");
        assert!(line.starts_with(&prefix), "line {line:?} for {prefix:?}");
    }
    let expected = format!(
        "\"@signature-params\": {}",
        serialize_signature_params(components, params).expect("these parameters serialise")
    );
    assert_eq!(lines.last(), Some(&expected.as_str()));
}
