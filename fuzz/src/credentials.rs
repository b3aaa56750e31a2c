//! Fixtures of the `cred_*` targets (tresor-credentials) and of their
//! seeds: a fixed registry (two clients, a fixed pepper, a fixed clock, no
//! rate limit in practice), a fixed token issuer, the input layout of
//! `cred_token_request`, and the independent checks the oracles use: form
//! encoding, `client_secret_basic`, the secret format (base62 and CRC-32)
//! and compact JWS signatures, each written here from the specs, not with
//! tresor-credentials.
//!
//! Everything is fixed (ids, secrets, Ed25519 seeds, the pepper key), so
//! the seeds `make_seeds` writes hold credentials the targets accept.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde_json::Value;
use tresor_credentials::store::{Mac, SecretVerifier, verifier_input};
use tresor_credentials::{
    AssertionVerifier, ClientId, CredentialStore, FailureQuota, FixedClock, JwsAlgorithm,
    LocalPepper, MemoryStore, Pepper, RateLimits, Registry, TokenEndpoint, TokenIssuer,
    TokenSigningKey, TokenVerifier, client::ClientRecord, client::SecretId,
};

/// The fixed clock's time (2026-01-01T00:00:00Z).
pub const NOW: i64 = 1_767_225_600;

/// The authorization server's issuer identifier (the `aud` of assertions).
pub const ISSUER: &str = "https://as.fuzz.example";
/// The audience of issued access tokens.
pub const AUDIENCE: &str = "https://api.fuzz.example";

/// The client with a shared secret.
pub const SECRET_CLIENT_ID: &str = "FuzzSecretClient000001";
/// Its scopes (sorted).
pub const SECRET_CLIENT_SCOPES: [&str; 2] = ["payments:read", "payments:write"];
/// The id of its valid secret.
pub const SECRET_ID: &str = "FuzzSecret000001";
/// The id of its revoked secret.
pub const REVOKED_SECRET_ID: &str = "FuzzSecret000002";

/// The client with registered public keys.
pub const KEY_CLIENT_ID: &str = "FuzzKeyClient000000001";
/// Its scopes.
pub const KEY_CLIENT_SCOPES: [&str; 1] = ["custody:read"];

/// The pepper key (version 1, the only one). Not a secret: fixtures only.
pub const PEPPER_KEY: [u8; 32] = [0x42; 32];
/// The body of the known secret.
pub const SECRET_BODY: [u8; 32] = [0x5a; 32];
/// The body of the revoked secret.
pub const REVOKED_SECRET_BODY: [u8; 32] = [0x6b; 32];
/// Ed25519 seed of the key client's active key.
pub const CLIENT_KEY_SEED: [u8; 32] = [0x44; 32];
/// Ed25519 seed of the key client's revoked key.
pub const REVOKED_KEY_SEED: [u8; 32] = [0x66; 32];
/// Ed25519 seed of a key registered nowhere.
pub const STRANGER_KEY_SEED: [u8; 32] = [0x77; 32];
/// Ed25519 seed of the token-signing key.
pub const TOKEN_KEY_SEED: [u8; 32] = [0x33; 32];

/// The `client_assertion_type` of `private_key_jwt` (RFC 7523).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The secret prefix the fixtures use.
pub const PREFIX: &str = "tresor_cs";

// ---------------------------------------------------------------------------
// The secret format, from the `secret` module's specification

/// Base62 digits in value order.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The value of a base62 digit.
pub fn base62_value(c: u8) -> Option<u32> {
    BASE62
        .iter()
        .position(|&d| d == c)
        .and_then(|v| u32::try_from(v).ok())
}

/// The big-endian number `bytes` in exactly `width` base62 digits (more
/// significant digits dropped if it does not fit: callers size `width`).
pub fn base62_encode(bytes: &[u8], width: usize) -> String {
    // Little-endian base-62 digits, built by multiply-and-add per byte.
    let mut digits: Vec<u32> = Vec::new();
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in &mut digits {
            let acc = *d * 256 + carry;
            *d = acc % 62;
            carry = acc / 62;
        }
        while carry > 0 {
            digits.push(carry % 62);
            carry /= 62;
        }
    }
    digits.resize(width.max(digits.len()), 0);
    digits
        .iter()
        .take(width)
        .rev()
        .map(|&d| {
            let digit = usize::try_from(d).ok().and_then(|d| BASE62.get(d));
            char::from(digit.copied().unwrap_or(b'?'))
        })
        .collect()
}

/// Whether the base62 number `text` is below 2^256.
pub fn base62_below_2_256(text: &str) -> bool {
    // 256 bits as eight u32 limbs, least significant first.
    let mut limbs = [0u64; 8];
    for c in text.bytes() {
        let Some(v) = base62_value(c) else {
            return false;
        };
        let mut carry = u64::from(v);
        for limb in &mut limbs {
            let acc = *limb * 62 + carry;
            *limb = acc & 0xffff_ffff;
            carry = acc >> 32;
        }
        if carry != 0 {
            return false;
        }
    }
    true
}

/// The 6-digit base62 CRC-32 (zlib's) of `signed`.
pub fn check_digits(signed: &str) -> String {
    base62_encode(&crc32fast::hash(signed.as_bytes()).to_be_bytes(), 6)
}

/// The secret `PREFIX "_" BODY CHECK` with a 32-byte body.
pub fn secret_text(prefix: &str, body: &[u8; 32]) -> String {
    let signed = format!("{prefix}_{}", base62_encode(body, 43));
    let check = check_digits(&signed);
    signed + &check
}

/// Whether `prefix` is 1 to 32 characters of `a-z0-9_` starting with a
/// letter.
pub fn valid_prefix(prefix: &str) -> bool {
    (1..=32).contains(&prefix.len())
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The reference secret-format check: the prefix of a well-formed secret,
/// read from the right (6 check digits, 43 body digits, `_`, prefix).
pub fn reference_prefix(text: &str) -> Option<&str> {
    let n = text.len();
    let signed = text.get(..n.checked_sub(6)?)?;
    let check = text.get(n - 6..)?;
    let body = signed.get(signed.len().checked_sub(43)?..)?;
    let head = signed.get(..signed.len() - 43)?;
    let prefix = head.strip_suffix('_')?;
    (text.is_ascii()
        && valid_prefix(prefix)
        && body
            .bytes()
            .chain(check.bytes())
            .all(|c| base62_value(c).is_some())
        && base62_below_2_256(body)
        && check_digits(signed) == check)
        .then_some(prefix)
}

/// The known secret of [`SECRET_CLIENT_ID`].
pub fn known_secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| secret_text(PREFIX, &SECRET_BODY))
}

/// The revoked secret of [`SECRET_CLIENT_ID`].
pub fn revoked_secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| secret_text(PREFIX, &REVOKED_SECRET_BODY))
}

// ---------------------------------------------------------------------------
// Form encoding (application/x-www-form-urlencoded) and client_secret_basic

/// Form-encodes `text`: every byte but `A-Za-z0-9-._~` as `%XX`, a space as
/// `+` when `plus` is set.
pub fn form_encode(text: &str, plus: bool) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' if plus => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The reference form decoding: `+` is a space, `%XX` a byte (hex either
/// case), anything else itself; `None` for a broken escape or a result
/// that is not UTF-8.
pub fn reference_form_decode(bytes: &[u8]) -> Option<String> {
    let hex = |c: Option<&u8>| char::from(*c?).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let v = hex(bytes.get(i + 1))? * 16 + hex(bytes.get(i + 2))?;
                out.push(u8::try_from(v).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The reference form: `&`-separated pairs, empty pairs skipped, names and
/// values decoded; `None` if one does not decode or a name repeats; pairs
/// with an empty value then dropped (they count as absent).
pub fn reference_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (pair.get(..i)?, pair.get(i + 1..)?),
            None => (pair, &[][..]),
        };
        let (name, value) = (reference_form_decode(name)?, reference_form_decode(value)?);
        if params.iter().any(|(n, _)| *n == name) {
            return None;
        }
        params.push((name, value));
    }
    params.retain(|(_, v)| !v.is_empty());
    Some(params)
}

/// The value of `name` in a reference form.
pub fn form_get<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// An `Authorization: Basic` value for `id` and `secret` (RFC 6749 section
/// 2.3.1: each form-encoded, then `id:secret` in Base64).
pub fn basic_header(id: &str, secret: &str, plus: bool) -> String {
    let pair = format!("{}:{}", form_encode(id, plus), form_encode(secret, plus));
    format!("Basic {}", Base64::encode_string(pair.as_bytes()))
}

/// The reference reading of a `Basic` header: scheme (any case), one space,
/// Base64 (spaces around it ignored), split at the first colon,
/// form-decode both halves.
pub fn reference_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Base64::decode_vec(rest.trim_matches(' ')).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((
        reference_form_decode(decoded.get(..colon)?)?,
        reference_form_decode(decoded.get(colon + 1..)?)?,
    ))
}

// ---------------------------------------------------------------------------
// The input of cred_token_request

/// The methods a `cred_token_request` input chooses from (bits 0-1).
pub const METHODS: [&str; 4] = ["POST", "post", "GET", "PUT"];

/// The content types it chooses from (bits 2-3); `None` sends none.
pub const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/x-www-form-urlencoded"),
    Some("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"),
    None,
    Some("application/json"),
];

/// The byte between the `Authorization` value and the body.
pub const HEADER_END: u8 = 0xff;

/// A decoded `cred_token_request` input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInput {
    /// The method.
    pub method: &'static str,
    /// The `Content-Type` header.
    pub content_type: Option<&'static str>,
    /// Bit 4: write spaces as `+` in the `parse_basic` round trip.
    pub plus: bool,
    /// The `Authorization` header (UTF-8, invalid sequences replaced).
    pub authorization: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl RequestInput {
    /// Decodes `flags | [authorization 0xFF] body`: the header is there
    /// only if a `0xFF` byte is (the first one ends it).
    pub fn parse(data: &[u8]) -> Self {
        let (flags, rest) = data.split_first().map_or((0, data), |(&f, r)| (f, r));
        let (authorization, body) = match rest.iter().position(|&b| b == HEADER_END) {
            Some(i) => (
                Some(String::from_utf8_lossy(rest.get(..i).unwrap_or_default()).into_owned()),
                rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (None, rest),
        };
        Self {
            method: METHODS
                .get(usize::from(flags & 3))
                .copied()
                .unwrap_or("POST"),
            content_type: CONTENT_TYPES
                .get(usize::from((flags >> 2) & 3))
                .copied()
                .flatten(),
            plus: flags & 0x10 != 0,
            authorization,
            body: body.to_vec(),
        }
    }

    /// Encodes the input ([`RequestInput::parse`]'s inverse for a header
    /// without `0xFF`, which UTF-8 text never holds).
    pub fn to_bytes(&self) -> Vec<u8> {
        let method = METHODS.iter().position(|m| *m == self.method).unwrap_or(0);
        let content_type = CONTENT_TYPES
            .iter()
            .position(|c| *c == self.content_type)
            .unwrap_or(0);
        let flags =
            u8::try_from(method | content_type << 2).expect("four bits") | u8::from(self.plus) << 4;
        let mut out = vec![flags];
        if let Some(header) = &self.authorization {
            out.extend_from_slice(header.as_bytes());
            out.push(HEADER_END);
        }
        out.extend_from_slice(&self.body);
        out
    }
}

// ---------------------------------------------------------------------------
// JWS

/// The Ed25519 key pair of a fixed seed.
pub fn ed25519(seed: &[u8; 32]) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(seed).expect("any 32 bytes are a seed")
}

/// The public JWK of an Ed25519 key pair.
pub fn ed25519_jwk(pair: &Ed25519KeyPair) -> String {
    format!(
        r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#,
        Base64UrlUnpadded::encode_string(pair.public_key().as_ref())
    )
}

/// The RFC 7638 thumbprint of an Ed25519 public key.
pub fn ed25519_thumbprint(pair: &Ed25519KeyPair) -> String {
    let input = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        Base64UrlUnpadded::encode_string(pair.public_key().as_ref())
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    Base64UrlUnpadded::encode_string(digest.as_ref())
}

/// A compact JWS of the header and payload texts as they are, signed with
/// Ed25519.
pub fn sign_jws(pair: &Ed25519KeyPair, header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(header.as_bytes()),
        Base64UrlUnpadded::encode_string(payload.as_bytes())
    );
    let signature = pair.sign(input.as_bytes());
    format!(
        "{input}.{}",
        Base64UrlUnpadded::encode_string(signature.as_ref())
    )
}

/// The parts of a compact JWS whose Ed25519 signature verifies under
/// `public_key`: header and payload as JSON values. Checked here with
/// `ring` and `base64ct` alone.
pub fn ed25519_verified(jws: &str, public_key: &[u8]) -> Option<(Value, Value)> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let signature = Base64UrlUnpadded::decode_vec(s).ok()?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(format!("{h}.{p}").as_bytes(), &signature)
        .ok()?;
    let header = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(h).ok()?).ok()?;
    let payload = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(p).ok()?).ok()?;
    Some((header, payload))
}

/// The string member `name` of a JSON object, if it is one.
pub fn member<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

/// The claims of a client assertion by [`KEY_CLIENT_ID`] for [`ISSUER`],
/// issued at [`NOW`], valid for `lifetime` seconds, with this `jti`.
pub fn assertion_claims(lifetime: i64, jti: &str) -> String {
    format!(
        r#"{{"iss":"{KEY_CLIENT_ID}","sub":"{KEY_CLIENT_ID}","aud":"{ISSUER}","iat":{NOW},"exp":{},"jti":"{jti}"}}"#,
        NOW + lifetime
    )
}

/// A valid client assertion (signed by the active client key, with its
/// `kid`), usable once per replay cache.
pub fn valid_assertion(jti: &str) -> String {
    let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, fixture().client_kid);
    sign_jws(
        &ed25519(&CLIENT_KEY_SEED),
        &header,
        &assertion_claims(60, jti),
    )
}

// ---------------------------------------------------------------------------
// The fixed registry and issuer

/// Rate limits no fuzzing run reaches (`u32::MAX` failures in a burst), so
/// every input sees the same registry.
pub fn unlimited() -> RateLimits {
    RateLimits::default()
        .with_per_client(FailureQuota::per_second(NonZeroU32::MAX))
        .with_per_source(FailureQuota::per_second(NonZeroU32::MAX))
        .with_max_tracked(4096)
}

/// The fixed store, pepper, clock and token key, shared by every input
/// (none of them changes after setup: successful authentications under
/// the current pepper version write nothing).
pub struct Fixture {
    store: Arc<MemoryStore>,
    pepper: Arc<LocalPepper>,
    clock: Arc<FixedClock>,
    token_key: Arc<TokenSigningKey>,
    /// The `kid` of the key client's active key.
    pub client_kid: String,
    /// The `kid` of its revoked key.
    pub revoked_kid: String,
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::new)
}

/// PKCS#8 v1 of an Ed25519 seed (RFC 8410).
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

impl Fixture {
    fn new() -> Self {
        let hex: String = PEPPER_KEY.iter().map(|b| format!("{b:02x}")).collect();
        let pepper = Arc::new(
            LocalPepper::parse(&format!("tresor-pepper-v1\n1 {hex}\n"))
                .expect("the fixed pepper file parses"),
        );
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(FixedClock::new(NOW));
        let token_key = Arc::new(
            TokenSigningKey::from_pkcs8(JwsAlgorithm::EdDsa, &ed25519_pkcs8(&TOKEN_KEY_SEED))
                .expect("the fixed token key loads"),
        );

        let verifier = |id: &str, secret: &str, revoked: Option<i64>| {
            let mut verifier = SecretVerifier::new(
                SecretId::parse(id).expect("fixed secret ids are valid"),
                1,
                Mac(pepper
                    .mac(1, &verifier_input(SECRET_CLIENT_ID, secret.as_bytes()))
                    .expect("version 1 exists")),
                NOW - 3600,
            );
            verifier.revoked = revoked;
            verifier
        };
        let record = |id: &str, scopes: &[&str], secrets| {
            let mut record = ClientRecord::new(
                ClientId::parse(id).expect("fixed client ids are valid"),
                &format!("fuzz client {id}"),
                scopes,
                NOW - 3600,
            )
            .expect("fixed names and scopes are valid");
            record.secrets = secrets;
            record
        };
        store
            .insert(&record(
                SECRET_CLIENT_ID,
                &SECRET_CLIENT_SCOPES,
                vec![
                    verifier(REVOKED_SECRET_ID, revoked_secret(), Some(NOW - 60)),
                    verifier(SECRET_ID, known_secret(), None),
                ],
            ))
            .expect("a fresh store takes the client");
        store
            .insert(&record(KEY_CLIENT_ID, &KEY_CLIENT_SCOPES, Vec::new()))
            .expect("a fresh store takes the client");

        let mut fixture = Self {
            store,
            pepper,
            clock,
            token_key,
            client_kid: String::new(),
            revoked_kid: String::new(),
        };
        // Registration with proof of possession, as a client would do it.
        let registry = fixture.registry();
        let key_client = ClientId::parse(KEY_CLIENT_ID).expect("fixed client ids are valid");
        let add = |seed: &[u8; 32]| {
            let pair = ed25519(seed);
            let challenge = registry
                .key_challenge(&key_client)
                .expect("the key client exists");
            let proof = pair.sign(challenge.as_bytes());
            let key = registry
                .add_key(
                    &key_client,
                    &ed25519_jwk(&pair),
                    challenge.as_str(),
                    proof.as_ref(),
                )
                .expect("a fixed key registers");
            assert_eq!(key.kid, ed25519_thumbprint(&pair), "RFC 7638 thumbprint");
            key.kid
        };
        fixture.client_kid = add(&CLIENT_KEY_SEED);
        fixture.revoked_kid = add(&REVOKED_KEY_SEED);
        registry
            .revoke_key(&key_client, &fixture.revoked_kid)
            .expect("the key was just added");
        fixture
    }

    /// A registry over the fixed store, pepper and clock, effectively
    /// without rate limits. Cheap: build one per input.
    pub fn registry(&self) -> Registry {
        Registry::builder(self.store.clone(), self.pepper.clone())
            .clock(self.clock.clone())
            .rate_limits(unlimited())
            .build()
            .expect("a registry builds")
    }

    /// The token issuer (EdDSA, fixed key and clock).
    pub fn issuer(&self) -> TokenIssuer {
        TokenIssuer::new(ISSUER, AUDIENCE, self.token_key.clone()).clock(self.clock.clone())
    }

    /// A verifier of the issuer's tokens.
    pub fn token_verifier(&self) -> TokenVerifier {
        self.issuer().verifier()
    }

    /// The `kid` of the token-signing key.
    pub fn token_kid(&self) -> &str {
        self.token_key.kid()
    }

    /// A fresh token endpoint: its own registry and an empty replay cache,
    /// so no input depends on an earlier one.
    pub fn endpoint(&self) -> TokenEndpoint {
        TokenEndpoint::new(Arc::new(self.registry()), self.issuer())
    }

    /// A fresh assertion verifier (empty replay cache) for [`ISSUER`].
    pub fn assertion_verifier(&self) -> AssertionVerifier {
        AssertionVerifier::new(ISSUER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_format_known_answer() {
        // The `secret` module's known answer (all-zero body).
        assert_eq!(
            secret_text(PREFIX, &[0; 32]),
            "tresor_cs_00000000000000000000000000000000000000000002TosSX"
        );
        assert_eq!(
            base62_encode(&[0xff; 32], 43),
            "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"
        );
        assert!(base62_below_2_256(
            "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"
        ));
        assert!(!base62_below_2_256(
            "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp2"
        ));
        assert_eq!(reference_prefix(known_secret()), Some(PREFIX));
    }

    #[test]
    fn form_and_basic_round_trip() {
        let id = "a:b +%&é";
        assert_eq!(
            reference_form_decode(form_encode(id, true).as_bytes()).as_deref(),
            Some(id)
        );
        assert_eq!(
            reference_basic(&basic_header(id, "s:e:c", false)),
            Some((id.to_owned(), "s:e:c".to_owned()))
        );
    }

    #[test]
    fn request_input_round_trips() {
        let input = RequestInput {
            method: "PUT",
            content_type: None,
            plus: true,
            authorization: Some("Basic x".into()),
            body: b"a=b\xff".to_vec(),
        };
        assert_eq!(RequestInput::parse(&input.to_bytes()), input);
    }

    #[test]
    fn fixture_builds() {
        let f = fixture();
        assert_ne!(f.client_kid, f.revoked_kid);
        let assertion = valid_assertion("t-1");
        let public = ed25519(&CLIENT_KEY_SEED);
        assert!(ed25519_verified(&assertion, public.public_key().as_ref()).is_some());
        let client = f
            .assertion_verifier()
            .authenticate(&f.registry(), &assertion, None, None)
            .expect("a valid assertion authenticates");
        assert_eq!(client.id().as_str(), KEY_CLIENT_ID);
    }
}
