//! Fixtures of the `httpsig_*` targets: the fixed keys and verifier, and
//! the independent checks a verified signature must pass. Raw messages are
//! read and written by `tresor_cli::rawhttp` (re-exported here), the parser
//! the `tresor http` commands use.
//!
//! The keys are the RFC 9421 Appendix B.1 test keys (copied into
//! `rfc9421/`), under their RFC key ids, so the RFC's own signed messages
//! (B.2.4 ECDSA P-256, B.2.5 HMAC, B.2.6 Ed25519) verify, and so do the
//! seeds `make_seeds` signs with the Ed25519 and HMAC keys.

use std::sync::{Arc, OnceLock};

use http::Request;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
pub use tresor_cli::rawhttp::{HttpMessage, RawMessage};
use tresor_httpsig::{
    Algorithm, Error, FixedClock, HmacKey, KeyResolver, Message, Policy, PrivateKey, PublicKey,
    Result, Signer, Verified, Verifier, VerifyingKey, base::signature_base_for_label,
    fields::Limits, fields::SIGNATURE, fields::parse_signature_inputs, fields::parse_signatures,
    verify_content_digest,
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
    REQUEST.get_or_init(|| {
        match RawMessage::parse(RFC_REQUEST.as_bytes()).map(|raw| raw.to_http()) {
            Ok(HttpMessage::Request(r)) => r,
            _ => panic!("the RFC test request parses as a request"),
        }
    })
}

/// Verifies `message` with [`verifier`] twice and checks that both answers
/// agree and that a success is genuine (see [`check_verified`]). Returns
/// the answer.
pub fn verify_and_check(message: &HttpMessage) -> Result<Verified> {
    let verifier = verifier();
    let verify = || match message {
        HttpMessage::Request(r) => verifier.verify_request(r),
        HttpMessage::Response(r) => verifier.verify_response(r, None),
    };
    let first = verify();
    let second = verify();
    assert_eq!(first, second, "verifying the same message twice disagrees");
    if let Ok(verified) = &first {
        let view = match message {
            HttpMessage::Request(r) => Message::from_request(r),
            HttpMessage::Response(r) => Message::from_response(r),
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
    fn rfc_request_parses() {
        let request = rfc_request();
        assert_eq!(request.body(), br#"{"hello": "world"}"#);
        assert_eq!(request.headers().len(), 5);
    }
}
