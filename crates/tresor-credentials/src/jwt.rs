//! JSON Web Signatures in compact serialisation (RFC 7515 section 7.1), as
//! far as client assertions (RFC 7523) and access tokens (RFC 9068) need
//! them: strict parsing, the algorithms this crate accepts, and signature
//! verification with *ring*.
//!
//! # Parsing rules
//!
//! - Exactly three parts separated by `.`; each part unpadded base64url
//!   (RFC 7515 section 2), canonical (no padding, no whitespace, no
//!   non-zero trailing bits); the whole at most [`MAX_JWS_LEN`] bytes.
//! - Header and payload are UTF-8 JSON objects; a member name that occurs
//!   twice at the top level is refused (no parser-differential games with
//!   two `alg` or two `aud` members).
//! - A `crit` header member is refused (this crate understands no
//!   extension), so is an `alg` outside [`JwsAlgorithm`] (`none`, `HS256`
//!   and every other symmetric or unknown algorithm).
//!
//! # Algorithms
//!
//! | JOSE `alg` | signature | key |
//! | --- | --- | --- |
//! | `ES256` | ECDSA P-256 SHA-256, `r ‖ s` (64 bytes) | EC P-256 |
//! | `ES384` | ECDSA P-384 SHA-384, `r ‖ s` (96 bytes) | EC P-384 |
//! | `EdDSA` | Ed25519 (RFC 8037) | OKP Ed25519 |
//! | `PS256` | RSASSA-PSS SHA-256, MGF1-SHA-256, 32-byte salt | RSA 2048–8192 bits |
//! | `PS512` | RSASSA-PSS SHA-512, MGF1-SHA-512, 64-byte salt | RSA 2048–8192 bits |
//!
//! `RS256` (PKCS#1 v1.5) is deliberately absent, as in FAPI 2.0; `none` and
//! the `HS*` family can never be accepted.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use tresor_types::jwk::{EcCurve, JwkKey, KeyParams, PublicJwk};

/// The longest compact JWS accepted (client assertions and access tokens
/// are a few hundred bytes; RSA signatures add ~700).
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// A JWS algorithm this crate accepts (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum JwsAlgorithm {
    /// `ES256`: ECDSA with P-256 and SHA-256.
    Es256,
    /// `ES384`: ECDSA with P-384 and SHA-384.
    Es384,
    /// `EdDSA`: Ed25519.
    EdDsa,
    /// `PS256`: RSASSA-PSS with SHA-256.
    Ps256,
    /// `PS512`: RSASSA-PSS with SHA-512.
    Ps512,
}

impl JwsAlgorithm {
    /// Every accepted algorithm.
    pub const ALL: [JwsAlgorithm; 5] = [
        JwsAlgorithm::Es256,
        JwsAlgorithm::Es384,
        JwsAlgorithm::EdDsa,
        JwsAlgorithm::Ps256,
        JwsAlgorithm::Ps512,
    ];

    /// The JOSE name (`ES256`, `ES384`, `EdDSA`, `PS256`, `PS512`).
    pub fn name(self) -> &'static str {
        match self {
            JwsAlgorithm::Es256 => "ES256",
            JwsAlgorithm::Es384 => "ES384",
            JwsAlgorithm::EdDsa => "EdDSA",
            JwsAlgorithm::Ps256 => "PS256",
            JwsAlgorithm::Ps512 => "PS512",
        }
    }

    /// The algorithm with this JOSE name (exact, case-sensitive), or
    /// `None` (for `none`, `HS256`, `RS256` and anything else).
    pub fn from_name(name: &str) -> Option<Self> {
        JwsAlgorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether a key of `kind` can be used with this algorithm.
    #[cfg_attr(not(feature = "httpsig"), allow(dead_code))]
    pub(crate) fn fits(self, kind: KeyKind) -> bool {
        matches!(
            (self, kind),
            (JwsAlgorithm::Es256, KeyKind::P256)
                | (JwsAlgorithm::Es384, KeyKind::P384)
                | (JwsAlgorithm::EdDsa, KeyKind::Ed25519)
                | (JwsAlgorithm::Ps256 | JwsAlgorithm::Ps512, KeyKind::Rsa)
        )
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    P256,
    P384,
    Ed25519,
    Rsa,
}

/// A public key as *ring* takes it, held as the `tresor-types` JWK key
/// (EC points uncompressed, `04 ‖ x ‖ y`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RawPublicKey(JwkKey);

impl RawPublicKey {
    /// An EC key from its uncompressed point.
    pub(crate) fn ec(curve: EcCurve, point: &[u8]) -> Result<Self, tresor_types::Error> {
        JwkKey::ec(curve, point).map(Self)
    }

    /// An Ed25519 key from its 32 bytes.
    pub(crate) fn ed25519(x: &[u8]) -> Result<Self, tresor_types::Error> {
        JwkKey::ed25519(x).map(Self)
    }

    pub(crate) fn kind(&self) -> KeyKind {
        match self.0.params() {
            KeyParams::Ec {
                curve: EcCurve::P256,
                ..
            } => KeyKind::P256,
            KeyParams::Ec { .. } => KeyKind::P384,
            KeyParams::Ed25519 { .. } => KeyKind::Ed25519,
            _ => KeyKind::Rsa,
        }
    }

    /// A key of a parsed public JWK; `Err` for a curve this crate does not
    /// know.
    pub(crate) fn from_jwk(jwk: &PublicJwk) -> Result<Self, &'static str> {
        match jwk.key().params() {
            KeyParams::Ec {
                curve: EcCurve::P256 | EcCurve::P384,
                ..
            }
            | KeyParams::Ed25519 { .. }
            | KeyParams::Rsa { .. } => Ok(Self(jwk.key().clone())),
            _ => Err("unsupported key type"),
        }
    }

    /// The RFC 7638 canonical JSON of the required public members.
    #[cfg_attr(not(feature = "httpsig"), allow(dead_code))]
    pub(crate) fn thumbprint_input(&self) -> String {
        self.0.canonical_json()
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url).
    pub(crate) fn thumbprint(&self) -> String {
        self.0.thumbprint()
    }

    /// The public JWK with `alg` (and `kid` if given).
    pub(crate) fn to_jwk(&self, alg: JwsAlgorithm, kid: Option<&str>) -> String {
        let mut map: Map<String, Value> =
            serde_json::from_str(&self.0.canonical_json()).unwrap_or_default();
        map.insert("alg".into(), Value::String(alg.name().into()));
        if let Some(kid) = kid {
            map.insert("kid".into(), Value::String(kid.into()));
        }
        map.insert("use".into(), Value::String("sig".into()));
        Value::Object(map).to_string()
    }

    /// Verifies `signature` over `message` under `alg`; `false` for any
    /// failure, including an algorithm that does not fit the key.
    pub(crate) fn verify(&self, alg: JwsAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        let result = match (alg, self.0.params()) {
            (
                JwsAlgorithm::Es256,
                KeyParams::Ec {
                    curve: EcCurve::P256,
                    point,
                },
            ) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature),
            (
                JwsAlgorithm::Es384,
                KeyParams::Ec {
                    curve: EcCurve::P384,
                    point,
                },
            ) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                .verify(message, signature),
            (JwsAlgorithm::EdDsa, KeyParams::Ed25519 { x }) => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
            (JwsAlgorithm::Ps256, KeyParams::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, signature),
            (JwsAlgorithm::Ps512, KeyParams::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA512, message, signature),
            _ => return false,
        };
        result.is_ok()
    }
}

/// Why a compact JWS could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JwsError {
    /// Not three canonical base64url parts of JSON objects, too long, or a
    /// duplicate member.
    Malformed,
    /// `alg` missing, `none`, symmetric, unknown, or a `crit` header.
    Algorithm,
}

/// A parsed compact JWS, not yet verified.
pub(crate) struct Jws<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) alg: JwsAlgorithm,
    /// `base64url(header) . base64url(payload)`, the bytes signed.
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Vec<u8>,
}

impl Jws<'_> {
    /// The `kid` header, if present (not a string: `Err`).
    pub(crate) fn kid(&self) -> Result<Option<&str>, JwsError> {
        match self.header.get("kid") {
            None => Ok(None),
            Some(Value::String(kid)) => Ok(Some(kid)),
            Some(_) => Err(JwsError::Malformed),
        }
    }

    /// The `typ` header, if present (not a string: `Err`).
    pub(crate) fn typ(&self) -> Result<Option<&str>, JwsError> {
        match self.header.get("typ") {
            None => Ok(None),
            Some(Value::String(typ)) => Ok(Some(typ)),
            Some(_) => Err(JwsError::Malformed),
        }
    }
}

/// Parses a compact JWS (see the [module docs](self)).
pub(crate) fn parse(text: &str) -> Result<Jws<'_>, JwsError> {
    if text.len() > MAX_JWS_LEN {
        return Err(JwsError::Malformed);
    }
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header = object(&decode(h)?)?;
    let claims = object(&decode(p)?)?;
    let signature = decode(s)?;
    if header.contains_key("crit") {
        return Err(JwsError::Algorithm);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwsAlgorithm::from_name)
        .ok_or(JwsError::Algorithm)?;
    let signing_input = text
        .get(..h.len() + 1 + p.len())
        .ok_or(JwsError::Malformed)?;
    Ok(Jws {
        header,
        claims,
        alg,
        signing_input,
        signature,
    })
}

/// Strict unpadded base64url.
pub(crate) fn decode(part: &str) -> Result<Vec<u8>, JwsError> {
    if part.is_empty() {
        return Err(JwsError::Malformed);
    }
    Base64UrlUnpadded::decode_vec(part).map_err(|_| JwsError::Malformed)
}

/// Unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// A JSON object whose top-level member names are unique.
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, JwsError> {
    serde_json::from_slice::<UniqueObject>(bytes)
        .map(|o| o.0)
        .map_err(|_| JwsError::Malformed)
}

/// A JSON object that refuses duplicate top-level member names.
pub(crate) struct UniqueObject(pub(crate) Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
                let mut map = Map::new();
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&key) {
                        return Err(de::Error::custom("duplicate member"));
                    }
                    map.insert(key, value);
                }
                Ok(UniqueObject(map))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A NumericDate claim (RFC 7519 section 2): an integer, or a finite
/// number truncated to whole seconds. `Err` if present but not a number.
pub(crate) fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, ()> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => {
                #[allow(clippy::cast_possible_truncation)]
                let whole = f.trunc() as i64;
                Ok(Some(whole))
            }
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

/// Whether `aud` (a string, or an array of strings) contains `audience`.
/// `Err` if `aud` is missing or of another shape. For access tokens (RFC
/// 9068 allows several audiences); client assertions use
/// [`audience_is_sole`].
pub(crate) fn audience_contains(claims: &Map<String, Value>, audience: &str) -> Result<bool, ()> {
    match claims.get("aud") {
        Some(Value::String(aud)) => Ok(aud == audience),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut found = false;
            for item in items {
                match item {
                    Value::String(aud) => found |= aud == audience,
                    _ => return Err(()),
                }
            }
            Ok(found)
        }
        _ => Err(()),
    }
}

/// Whether the issuer `audience` is the sole `aud` value: `aud` is a string
/// equal to it, or an array of exactly one string equal to it (the
/// audience rule for client assertions in the OAuth working group's update
/// of RFC 7523, against audience injection). An array with more than one
/// value is `Ok(false)` even if it contains `audience`. `Err` if `aud` is
/// missing, an empty array, has a non-string element, or is of another
/// shape.
#[cfg_attr(not(feature = "httpsig"), allow(dead_code))]
pub(crate) fn audience_is_sole(claims: &Map<String, Value>, audience: &str) -> Result<bool, ()> {
    match claims.get("aud") {
        Some(Value::String(aud)) => Ok(aud == audience),
        Some(Value::Array(items)) if !items.is_empty() => {
            if !items.iter().all(Value::is_string) {
                return Err(());
            }
            match items.as_slice() {
                [Value::String(aud)] => Ok(aud == audience),
                _ => Ok(false),
            }
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn algorithm_names() {
        for alg in JwsAlgorithm::ALL {
            assert_eq!(JwsAlgorithm::from_name(alg.name()), Some(alg));
        }
        for bad in ["none", "None", "HS256", "RS256", "es256", ""] {
            assert_eq!(JwsAlgorithm::from_name(bad), None);
        }
    }

    #[test]
    fn strict_parsing() {
        let h = encode(br#"{"alg":"ES256"}"#);
        let p = encode(br#"{"a":1}"#);
        let s = encode(&[1, 2, 3]);
        assert!(parse(&format!("{h}.{p}.{s}")).is_ok());
        assert!(parse(&format!("{h}.{p}")).is_err());
        assert!(parse(&format!("{h}.{p}.{s}.")).is_err());
        assert!(parse(&format!("{h}.{p}.")).is_err());
        assert!(parse(&format!("{h}=.{p}.{s}")).is_err());
        assert!(parse(&format!("{h}.{p}.{s} ")).is_err());
        let dup = encode(br#"{"alg":"ES256","alg":"none"}"#);
        assert_eq!(
            parse(&format!("{dup}.{p}.{s}")).err(),
            Some(JwsError::Malformed)
        );
        let none = encode(br#"{"alg":"none"}"#);
        assert_eq!(
            parse(&format!("{none}.{p}.{s}")).err(),
            Some(JwsError::Algorithm)
        );
        let crit = encode(br#"{"alg":"ES256","crit":["b64"],"b64":false}"#);
        assert_eq!(
            parse(&format!("{crit}.{p}.{s}")).err(),
            Some(JwsError::Algorithm)
        );
        let array = encode(b"[1]");
        assert!(parse(&format!("{h}.{array}.{s}")).is_err());
    }
}
