//! Fixtures of the `httpsig_*` targets: the fixed keys and verifier, a
//! tolerant raw HTTP/1.1 parser and its inverse, and the independent checks
//! a verified signature must pass.
//!
//! The keys are the RFC 9421 Appendix B.1 test keys (copied into
//! `rfc9421/`), under their RFC key ids, so the RFC's own signed messages
//! (B.2.4 ECDSA P-256, B.2.5 HMAC, B.2.6 Ed25519) verify, and so do the
//! seeds `make_seeds` signs with the Ed25519 and HMAC keys.

use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use tresor_httpsig::{
    Algorithm, Error, FixedClock, HmacKey, KeyResolver, Limits, Message, Policy, PrivateKey,
    PublicKey, Result, SIGNATURE, Signer, Verified, Verifier, VerifyingKey, parse_signature_inputs,
    parse_signatures, signature_base_for_label, verify_content_digest,
};

/// Key id of the Ed25519 test key (RFC 9421 B.1.4).
pub const ED25519_KEY_ID: &str = "test-key-ed25519";
/// Key id of the HMAC-SHA256 shared secret (RFC 9421 B.1.5).
pub const HMAC_KEY_ID: &str = "test-shared-secret";
/// Key id of the ECDSA P-256 test key (RFC 9421 B.1.3; public half only).
pub const P256_KEY_ID: &str = "test-key-ecc-p256";

/// `created` of every RFC 9421 example signature.
pub const RFC_CREATED: i64 = 1_618_884_473;

/// The verifier's fixed clock: one minute after the RFC's examples.
pub const CLOCK_NOW: i64 = RFC_CREATED + 60;

/// The verifier's clock skew (the default policy's).
pub const CLOCK_SKEW: i64 = 5;

/// The Ed25519 private key (PKCS#8 PEM). Not a secret: it is in the RFC.
pub const ED25519_PEM: &str = include_str!("../rfc9421/test-key-ed25519.key");
/// The P-256 public key (SPKI PEM).
pub const P256_PUB_PEM: &str = include_str!("../rfc9421/test-key-ecc-p256.pub");
/// The HMAC secret, base64. Not a secret: it is in the RFC.
pub const HMAC_SECRET_B64: &str = include_str!("../rfc9421/test-shared-secret");
/// The RFC 9421 B.2 test request (the related request of responses).
pub const RFC_REQUEST: &str = include_str!("../rfc9421/rfc-test-request.txt");

/// The fixed keys, by key id.
pub struct FixedKeys {
    ed25519: Arc<PublicKey>,
    hmac: Arc<HmacKey>,
    p256: Arc<PublicKey>,
}

impl FixedKeys {
    fn new() -> Self {
        Self {
            ed25519: Arc::new(ed25519_private().public_key()),
            hmac: Arc::new(hmac_key()),
            p256: Arc::new(PublicKey::from_pem(P256_PUB_PEM).expect("the RFC P-256 key loads")),
        }
    }
}

impl KeyResolver for FixedKeys {
    fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>> {
        match key_id {
            ED25519_KEY_ID => Ok(self.ed25519.clone()),
            HMAC_KEY_ID => Ok(self.hmac.clone()),
            P256_KEY_ID => Ok(self.p256.clone()),
            _ => Err(Error::UnknownKey {
                key_id: key_id.chars().take(64).collect(),
            }),
        }
    }
}

/// The Ed25519 signing key.
pub fn ed25519_private() -> PrivateKey {
    PrivateKey::from_pem(ED25519_PEM).expect("the RFC Ed25519 key loads")
}

/// The HMAC key (signs and verifies).
pub fn hmac_key() -> HmacKey {
    HmacKey::from_base64(HMAC_SECRET_B64.trim()).expect("the RFC shared secret loads")
}

/// The lenient policy of the targets, so that fuzzed messages reach the
/// signature check: no required components, every algorithm, `created`
/// optional, no maximum age. `expires` is still honoured.
pub fn lenient_policy() -> Policy {
    Policy::new()
        .without_default_components()
        .allow_algorithms(Algorithm::ALL)
        .require_created(false)
        .max_age(None)
        .clock_skew(CLOCK_SKEW.unsigned_abs())
}

/// The verifier every `httpsig_verify` run uses: [`FixedKeys`], the
/// [`lenient_policy`], a clock at [`CLOCK_NOW`], no nonce store (so that
/// verifying twice gives the same answer).
pub fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::new(Arc::new(FixedKeys::new()), lenient_policy())
            .clock(Arc::new(FixedClock::new(CLOCK_NOW)))
    })
}

/// A signer with the Ed25519 key, `created` fixed at [`RFC_CREATED`].
pub fn ed25519_signer() -> Signer {
    Signer::new(Arc::new(ed25519_private()), ED25519_KEY_ID).created(RFC_CREATED)
}

/// A signer with the HMAC key, `created` fixed at [`RFC_CREATED`].
pub fn hmac_signer() -> Signer {
    Signer::new(Arc::new(hmac_key()), HMAC_KEY_ID).created(RFC_CREATED)
}

/// The RFC 9421 B.2 test request, parsed.
pub fn rfc_request() -> &'static Request<Vec<u8>> {
    static REQUEST: OnceLock<Request<Vec<u8>>> = OnceLock::new();
    REQUEST.get_or_init(
        || match parse_raw(RFC_REQUEST.as_bytes(), BodyLength::ContentLength) {
            Some(RawMessage::Request(r)) => r,
            _ => panic!("the RFC test request parses as a request"),
        },
    )
}

/// A message parsed by [`parse_raw`].
#[derive(Debug)]
pub enum RawMessage {
    /// A start line `METHOD TARGET [VERSION]`.
    Request(Request<Vec<u8>>),
    /// A start line `HTTP/x STATUS [REASON]`.
    Response(Response<Vec<u8>>),
}

impl RawMessage {
    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        match self {
            RawMessage::Request(r) => r.headers(),
            RawMessage::Response(r) => r.headers(),
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            RawMessage::Request(r) => r.body(),
            RawMessage::Response(r) => r.body(),
        }
    }
}

/// Where the body of a raw message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// At `Content-Length` bytes when that field is a number, else at the
    /// end of the input.
    ContentLength,
    /// At the end of the input.
    All,
}

/// Parses a raw HTTP/1.1 message, tolerantly: lines end in LF or CRLF; the
/// head ends at the first empty line (or the end of the input); field lines
/// that `http` rejects (bad name, bad value, no colon) are skipped;
/// obs-fold continuation lines are joined to the previous field with one
/// space; field values lose their leading and trailing spaces and tabs.
/// `None` when the start line is not a request or status line `http`
/// accepts.
pub fn parse_raw(data: &[u8], body_length: BodyLength) -> Option<RawMessage> {
    let (head, body) = split_head(data);
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next()?;
    let mut tokens = start.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let first = tokens.next()?;
    let second = tokens.next()?;

    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for line in lines {
        if let [b' ' | b'\t', ..] = line {
            if let Some((_, value)) = fields.last_mut() {
                value.push(b' ');
                value.extend_from_slice(trim(line));
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        fields.push((
            name.to_vec(),
            trim(value.get(1..).unwrap_or_default()).to_vec(),
        ));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&name),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }

    let mut body = body.to_vec();
    if body_length == BodyLength::ContentLength
        && let Some(len) = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<usize>().ok())
    {
        body.truncate(len);
    }

    if first.starts_with(b"HTTP/") {
        let status = std::str::from_utf8(second).ok()?.parse::<u16>().ok()?;
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::from_u16(status).ok()?;
        *response.headers_mut() = headers;
        Some(RawMessage::Response(response))
    } else {
        let mut request = Request::new(body);
        *request.method_mut() = Method::from_bytes(first).ok()?;
        *request.uri_mut() = Uri::try_from(second).ok()?;
        *request.headers_mut() = headers;
        Some(RawMessage::Request(request))
    }
}

/// Head and body: split at the first empty line.
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    while let Some(nl) = data
        .get(at..)
        .and_then(|d| d.iter().position(|&b| b == b'\n'))
    {
        let line_start = at + nl + 1;
        let rest = data.get(line_start..).unwrap_or_default();
        let skip = match rest {
            [b'\n', ..] => Some(1),
            [b'\r', b'\n', ..] => Some(2),
            _ => None,
        };
        if let Some(skip) = skip {
            let head = data.get(..at + nl).unwrap_or_default();
            let head = head.strip_suffix(b"\r").unwrap_or(head);
            return (head, rest.get(skip..).unwrap_or_default());
        }
        at = line_start;
    }
    (data, &[])
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// A request as raw HTTP/1.1 (CRLF line ends), which [`parse_raw`] parses
/// back to the same request.
pub fn request_to_raw(request: &Request<Vec<u8>>) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method(), request.uri()).into_bytes();
    head_and_body(&mut out, request.headers(), request.body());
    out
}

/// A response as raw HTTP/1.1 (CRLF line ends).
pub fn response_to_raw(response: &Response<Vec<u8>>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {}\r\n", response.status().as_u16()).into_bytes();
    head_and_body(&mut out, response.headers(), response.body());
    out
}

fn head_and_body(out: &mut Vec<u8>, headers: &HeaderMap, body: &[u8]) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Verifies `message` with [`verifier`] twice and checks that both answers
/// agree and that a success is genuine (see [`check_verified`]). Returns
/// the answer.
pub fn verify_and_check(message: &RawMessage) -> Result<Verified> {
    let verifier = verifier();
    let verify = || match message {
        RawMessage::Request(r) => verifier.verify_request(r),
        RawMessage::Response(r) => verifier.verify_response(r, None),
    };
    let first = verify();
    let second = verify();
    assert_eq!(first, second, "verifying the same message twice disagrees");
    if let Ok(verified) = &first {
        let view = match message {
            RawMessage::Request(r) => Message::from_request(r),
            RawMessage::Response(r) => Message::from_response(r),
        };
        check_verified(&view, message.body(), verified);
    }
    first
}

/// Checks, without the crate's verifier, that a signature the verifier
/// accepted really verifies: its `Signature-Input` member is the one
/// reported, its base recomputes, `ring` (or HMAC recomputed) accepts the
/// signature over that base under the key named by `keyid`, `expires` has
/// not passed, and a checked body matches `Content-Digest`.
///
/// # Panics
///
/// When any of that fails: a forged or wrongly accepted signature.
pub fn check_verified(message: &Message<'_>, body: &[u8], verified: &Verified) {
    let limits = Limits::default();
    let headers = message.headers();
    let inputs = parse_signature_inputs(headers, &limits).expect("Signature-Input parsed before");
    let input = inputs
        .iter()
        .find(|i| i.label() == verified.label())
        .expect("the verified label is in Signature-Input");
    assert_eq!(input.params().keyid(), Some(verified.key_id()));
    assert_eq!(input.components(), verified.components());
    let signatures = parse_signatures(headers, &limits).expect("Signature parsed before");
    let (_, signature) = signatures
        .iter()
        .find(|(l, _)| l == verified.label())
        .expect("the verified label is in Signature");
    assert!(headers.contains_key(SIGNATURE));

    let base = signature_base_for_label(message, verified.label())
        .expect("the base of a verified signature recomputes");
    let base = base.as_bytes();
    match verified.key_id() {
        ED25519_KEY_ID => {
            let spki = ed25519_private().public_key().to_der_spki();
            let raw = spki
                .get(spki.len().saturating_sub(32)..)
                .unwrap_or_default();
            UnparsedPublicKey::new(&ED25519, raw)
                .verify(base, signature)
                .expect("ring accepts the Ed25519 signature the verifier accepted");
        }
        HMAC_KEY_ID => {
            let secret = hmac_secret();
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            ring::hmac::verify(&key, base, signature)
                .expect("ring accepts the HMAC the verifier accepted");
        }
        P256_KEY_ID => {
            let spki = PublicKey::from_pem(P256_PUB_PEM)
                .expect("the RFC P-256 key loads")
                .to_der_spki();
            let raw = spki
                .get(spki.len().saturating_sub(65)..)
                .unwrap_or_default();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, raw)
                .verify(base, signature)
                .expect("ring accepts the ECDSA signature the verifier accepted");
        }
        other => panic!("verified under key id {other:?}, which the resolver does not know"),
    }
    if let Some(expires) = verified.expires() {
        assert!(
            CLOCK_NOW <= expires.saturating_add(CLOCK_SKEW),
            "accepted after expires"
        );
    }
    if verified.body_checked() {
        let digest = headers
            .get("content-digest")
            .and_then(|v| v.to_str().ok())
            .expect("a checked body has a Content-Digest");
        // One field line: with several, the check is on the combined value,
        // which the verifier computed; only recheck the simple case.
        if headers.get_all("content-digest").iter().count() == 1 {
            verify_content_digest(digest.trim(), body)
                .expect("the body matches the Content-Digest the verifier checked");
        }
    }
}

/// The HMAC secret's bytes.
fn hmac_secret() -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    Base64::decode_vec(HMAC_SECRET_B64.trim()).expect("the RFC shared secret is base64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        let Some(RawMessage::Request(request)) =
            parse_raw(RFC_REQUEST.as_bytes(), BodyLength::ContentLength)
        else {
            panic!("parses");
        };
        assert_eq!(request.body(), br#"{"hello": "world"}"#);
        assert_eq!(request.headers().len(), 5);
        let raw = request_to_raw(&request);
        let Some(RawMessage::Request(again)) = parse_raw(&raw, BodyLength::ContentLength) else {
            panic!("reparses");
        };
        assert_eq!(again.uri(), request.uri());
        assert_eq!(again.headers(), request.headers());
        assert_eq!(again.body(), request.body());
    }

    #[test]
    fn tolerant() {
        let raw = b"GET / HTTP/1.1\nbad header: x\nA: 1\n  folded\nnocolon\n\nbody";
        let Some(RawMessage::Request(r)) = parse_raw(raw, BodyLength::All) else {
            panic!("parses");
        };
        assert_eq!(r.headers().len(), 1);
        assert_eq!(r.headers()["a"], "1 folded");
        assert_eq!(r.body(), b"body");
        assert!(parse_raw(b"", BodyLength::All).is_none());
        assert!(parse_raw(b"HTTP/1.1 99999", BodyLength::All).is_none());
    }
}
