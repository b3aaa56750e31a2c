//! JSON Web Keys (RFC 7517; RFC 7518 section 6; RFC 8037) for signature
//! keys, and RFC 7638 thumbprints.
//!
//! # What is accepted
//!
//! | `kty` | `crv` | members | key |
//! | --- | --- | --- | --- |
//! | `EC` | `P-256`, `P-384` | `x`, `y` (32 or 48 bytes each) | uncompressed point |
//! | `OKP` | `Ed25519` | `x` (32 bytes) | Ed25519 public key |
//! | `RSA` | | `n`, `e` | modulus and exponent, big-endian |
//!
//! plus the optional `alg`, `kid`, `use` and `key_ops`. Binary members are
//! base64url without padding.
//!
//! # What is refused
//!
//! - Text longer than [`MAX_JWK_LEN`], anything but a JSON object, and a
//!   member name that occurs twice (no parser-differential games with two
//!   `x` or two `alg` members).
//! - In a public key ([`PublicJwk`]), any of the [`PRIVATE_MEMBERS`]; a
//!   symmetric `oct` key in either context.
//! - A `use` other than `sig`; a `key_ops` without `verify` (public) or
//!   `sign` (private).
//! - A known member of the wrong JSON type, a binary member that is not
//!   canonical base64url or has the wrong length, an unknown `kty` or
//!   `crv`.
//!
//! Unknown members (`x5c`, `iat`, …) are ignored. The parser checks form,
//! not mathematics: whether a point is on its curve or a modulus is large
//! enough is up to the code that builds a verifying key from it.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Result, invalid};

/// The private JWK members (RFC 7518 sections 6.2.2, 6.3.2 and 6.4.1; RFC
/// 8037 section 2): a public key must have none of them.
pub const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The longest JWK text accepted, in bytes.
pub const MAX_JWK_LEN: usize = 64 * 1024;

/// An elliptic curve of an `EC` JWK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EcCurve {
    /// NIST P-256 (`crv` = `P-256`).
    P256,
    /// NIST P-384 (`crv` = `P-384`).
    P384,
}

impl EcCurve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
        }
    }

    /// The length of one coordinate (and of a private scalar), in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(EcCurve::P256),
            "P-384" => Some(EcCurve::P384),
            _ => None,
        }
    }
}

/// The public key of a JWK: its type and the members RFC 7638 hashes.
///
/// Built only by [`PublicJwk::parse`] or the constructors below, which
/// check the lengths; read it with [`params`](Self::params).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JwkKey(Inner);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Inner {
    Ec { curve: EcCurve, point: Vec<u8> },
    Ed25519(Vec<u8>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A borrowed view of a [`JwkKey`]'s members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyParams<'a> {
    /// `kty` = `EC`.
    Ec {
        /// The curve.
        curve: EcCurve,
        /// The uncompressed point `04 ‖ x ‖ y`.
        point: &'a [u8],
    },
    /// `kty` = `OKP`, `crv` = `Ed25519`.
    Ed25519 {
        /// The 32-byte public key.
        x: &'a [u8],
    },
    /// `kty` = `RSA`.
    Rsa {
        /// The modulus, big-endian.
        n: &'a [u8],
        /// The public exponent, big-endian.
        e: &'a [u8],
    },
}

impl JwkKey {
    /// An EC key from its uncompressed point `04 ‖ x ‖ y`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`](crate::Error::InvalidJwk) if the point is not
    /// uncompressed or not of the curve's length.
    pub fn ec(curve: EcCurve, point: &[u8]) -> Result<Self> {
        let len = 1 + 2 * curve.coordinate_len();
        if point.len() != len || point.first() != Some(&0x04) {
            return Err(invalid(format!(
                "a {} point is 04 followed by {} bytes",
                curve.name(),
                len - 1
            )));
        }
        Ok(Self(Inner::Ec {
            curve,
            point: point.to_vec(),
        }))
    }

    /// An Ed25519 key from its 32 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`](crate::Error::InvalidJwk) if `x` is not 32
    /// bytes.
    pub fn ed25519(x: &[u8]) -> Result<Self> {
        if x.len() != 32 {
            return Err(invalid("an Ed25519 public key is 32 bytes"));
        }
        Ok(Self(Inner::Ed25519(x.to_vec())))
    }

    /// An RSA key from its modulus and exponent, big-endian, as given.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`](crate::Error::InvalidJwk) if either is empty.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self> {
        if n.is_empty() || e.is_empty() {
            return Err(invalid("an RSA key needs a non-empty \"n\" and \"e\""));
        }
        Ok(Self(Inner::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
        }))
    }

    /// The members.
    pub fn params(&self) -> KeyParams<'_> {
        match &self.0 {
            Inner::Ec { curve, point } => KeyParams::Ec {
                curve: *curve,
                point,
            },
            Inner::Ed25519(x) => KeyParams::Ed25519 { x },
            Inner::Rsa { n, e } => KeyParams::Rsa { n, e },
        }
    }

    /// The JWK `kty`: `EC`, `OKP` or `RSA`.
    pub fn kty(&self) -> &'static str {
        match self.0 {
            Inner::Ec { .. } => "EC",
            Inner::Ed25519(_) => "OKP",
            Inner::Rsa { .. } => "RSA",
        }
    }

    /// The RFC 7638 section 3.2 canonical JSON of the required members:
    /// lexicographic order, no whitespace (`{"crv":…,"kty":"EC","x":…,"y":…}`,
    /// `{"crv":"Ed25519","kty":"OKP","x":…}`, `{"e":…,"kty":"RSA","n":…}`).
    /// Every value is base64url or a fixed name, so nothing needs escaping.
    /// It is also a valid public JWK.
    pub fn canonical_json(&self) -> String {
        match &self.0 {
            Inner::Ec { curve, point } => {
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                format!(
                    r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                    curve.name(),
                    b64url(x),
                    b64url(y)
                )
            }
            Inner::Ed25519(x) => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(x))
            }
            Inner::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64url(e), b64url(n))
            }
        }
    }

    /// The RFC 7638 thumbprint: base64url (no padding) of the SHA-256 of
    /// [`canonical_json`](Self::canonical_json). 43 characters.
    pub fn thumbprint(&self) -> String {
        b64url(&Sha256::digest(self.canonical_json().as_bytes()))
    }
}

/// A parsed public JWK: the key and its optional metadata members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicJwk {
    key: JwkKey,
    alg: Option<String>,
    kid: Option<String>,
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl PublicJwk {
    /// Parses a public JWK (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`](crate::Error::InvalidJwk), naming what is
    /// wrong: in particular for any of the [`PRIVATE_MEMBERS`].
    pub fn parse(text: &str) -> Result<Self> {
        let members = Members::read(text)?;
        members.refuse_symmetric()?;
        members.refuse_private()?;
        members.check_usage("verify")?;
        Self::from_members(&members)
    }

    fn from_members(members: &Members) -> Result<Self> {
        Ok(Self {
            key: members.key()?,
            alg: members.string("alg")?.map(str::to_owned),
            kid: members.string("kid")?.map(str::to_owned),
            key_use: members.string("use")?.map(str::to_owned),
            key_ops: members.key_ops()?,
        })
    }

    /// The key.
    pub fn key(&self) -> &JwkKey {
        &self.key
    }

    /// The key, without the metadata.
    pub fn into_key(self) -> JwkKey {
        self.key
    }

    /// The `alg` member, unchecked: each caller maps it to the algorithms
    /// it implements.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// The `kid` member.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `use` member (`sig` if present).
    pub fn key_use(&self) -> Option<&str> {
        self.key_use.as_deref()
    }

    /// The `key_ops` member (includes the operation if present).
    pub fn key_ops(&self) -> Option<&[String]> {
        self.key_ops.as_deref()
    }

    /// The key's RFC 7638 thumbprint.
    pub fn thumbprint(&self) -> String {
        self.key.thumbprint()
    }
}

/// A parsed private JWK: the public part and the private members, wiped
/// on drop. Its `Debug` shows the public part only.
pub struct PrivateJwk {
    public: PublicJwk,
    d: Zeroizing<Vec<u8>>,
    rsa: Option<RsaPrivate>,
}

/// The RSA CRT members of a private JWK, big-endian, wiped on drop.
pub struct RsaPrivate {
    p: Zeroizing<Vec<u8>>,
    q: Zeroizing<Vec<u8>>,
    dp: Zeroizing<Vec<u8>>,
    dq: Zeroizing<Vec<u8>>,
    qi: Zeroizing<Vec<u8>>,
}

impl RsaPrivate {
    /// The first prime factor `p`.
    pub fn p(&self) -> &[u8] {
        &self.p
    }

    /// The second prime factor `q`.
    pub fn q(&self) -> &[u8] {
        &self.q
    }

    /// The first factor CRT exponent `dp`.
    pub fn dp(&self) -> &[u8] {
        &self.dp
    }

    /// The second factor CRT exponent `dq`.
    pub fn dq(&self) -> &[u8] {
        &self.dq
    }

    /// The first CRT coefficient `qi`.
    pub fn qi(&self) -> &[u8] {
        &self.qi
    }
}

impl fmt::Debug for RsaPrivate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivate").finish_non_exhaustive()
    }
}

impl PrivateJwk {
    /// Parses a private JWK: the public members as [`PublicJwk::parse`]
    /// reads them, `d` (of the curve's length for `EC` and `OKP`), and for
    /// `RSA` the CRT members `p`, `q`, `dp`, `dq`, `qi`. Multi-prime RSA
    /// (`oth`) and symmetric keys (`k`) are refused; `key_ops`, if present,
    /// must include `sign`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`](crate::Error::InvalidJwk).
    pub fn parse(text: &str) -> Result<Self> {
        let members = Members::read(text)?;
        members.refuse_symmetric()?;
        if !members.has("d") {
            return Err(invalid("a private JWK needs the member \"d\""));
        }
        if members.has("k") || members.has("oth") {
            return Err(invalid(
                "unexpected JWK member \"k\" or \"oth\" (multi-prime RSA is not supported)",
            ));
        }
        members.check_usage("sign")?;
        let public = PublicJwk::from_members(&members)?;
        let d = members.secret("d")?;
        let rsa = match public.key.params() {
            KeyParams::Ec { curve, .. } => {
                check_scalar_len(&d, curve.coordinate_len())?;
                None
            }
            KeyParams::Ed25519 { .. } => {
                check_scalar_len(&d, 32)?;
                None
            }
            KeyParams::Rsa { .. } => Some(RsaPrivate {
                p: members.secret("p")?,
                q: members.secret("q")?,
                dp: members.secret("dp")?,
                dq: members.secret("dq")?,
                qi: members.secret("qi")?,
            }),
        };
        Ok(Self { public, d, rsa })
    }

    /// The public part.
    pub fn public(&self) -> &PublicJwk {
        &self.public
    }

    /// The private member `d`: the EC scalar, the Ed25519 seed or the RSA
    /// private exponent.
    pub fn d(&self) -> &[u8] {
        &self.d
    }

    /// The RSA CRT members, for an `RSA` key.
    pub fn rsa(&self) -> Option<&RsaPrivate> {
        self.rsa.as_ref()
    }
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("kty", &self.public.key.kty())
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

fn check_scalar_len(d: &[u8], len: usize) -> Result<()> {
    if d.len() != len {
        return Err(invalid(format!("JWK member \"d\" must be {len} bytes")));
    }
    Ok(())
}

fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// At most `max` characters of untrusted text, for an error message.
fn excerpt(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The members of a JWK object, unique by name; private string members are
/// wiped on drop.
struct Members(Map<String, Value>);

impl Drop for Members {
    fn drop(&mut self) {
        for name in PRIVATE_MEMBERS {
            if let Some(Value::String(secret)) = self.0.get_mut(name) {
                secret.zeroize();
            }
        }
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members, A::Error> {
                let mut members = Members(Map::new());
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if members.0.contains_key(&name) {
                        return Err(de::Error::custom("duplicate member"));
                    }
                    members.0.insert(name, value);
                }
                Ok(members)
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl Members {
    /// Reads a JSON object with unique member names.
    fn read(text: &str) -> Result<Self> {
        if text.len() > MAX_JWK_LEN {
            return Err(invalid(format!(
                "longer than {MAX_JWK_LEN} bytes ({} bytes)",
                text.len()
            )));
        }
        // The error names the position only, never the text (it may hold
        // private members).
        serde_json::from_str(text).map_err(|e| {
            invalid(format!(
                "not a JSON object with unique member names (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// A string member, if present.
    fn string(&self, name: &str) -> Result<Option<&str>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(invalid(format!("JWK member {name:?} is not a string"))),
        }
    }

    /// A string member that must be present.
    fn required(&self, name: &str) -> Result<&str> {
        self.string(name)?
            .ok_or_else(|| invalid(format!("JWK member {name:?} is missing")))
    }

    /// A base64url member that must be present.
    fn bytes(&self, name: &str) -> Result<Vec<u8>> {
        Base64UrlUnpadded::decode_vec(self.required(name)?).map_err(|_| {
            invalid(format!(
                "JWK member {name:?} is not base64url without padding"
            ))
        })
    }

    /// A base64url member of exactly `len` bytes.
    fn bytes_exact(&self, name: &str, len: usize) -> Result<Vec<u8>> {
        let bytes = self.bytes(name)?;
        if bytes.len() != len {
            return Err(invalid(format!(
                "JWK member {name:?} must be {len} bytes, not {}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// A private base64url member, wiped on drop.
    fn secret(&self, name: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.bytes(name).map(Zeroizing::new)
    }

    /// The `key_ops` member: an array of strings.
    fn key_ops(&self) -> Result<Option<Vec<String>>> {
        let Some(value) = self.0.get("key_ops") else {
            return Ok(None);
        };
        let not_strings = || invalid("JWK member \"key_ops\" is not an array of strings");
        let items = value.as_array().ok_or_else(not_strings)?;
        items
            .iter()
            .map(|op| op.as_str().map(str::to_owned).ok_or_else(not_strings))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Refuses a symmetric key (`kty` = `oct`): never a key pair.
    fn refuse_symmetric(&self) -> Result<()> {
        if self.required("kty")? == "oct" {
            return Err(invalid("a symmetric (oct) JWK is not a signature key pair"));
        }
        Ok(())
    }

    /// Refuses any private member.
    fn refuse_private(&self) -> Result<()> {
        match PRIVATE_MEMBERS.iter().find(|name| self.has(name)) {
            Some(name) => Err(invalid(format!(
                "a public JWK must not contain the private member {name:?}"
            ))),
            None => Ok(()),
        }
    }

    /// `use`, if present, is `sig`; `key_ops`, if present, includes `op`.
    fn check_usage(&self, op: &str) -> Result<()> {
        if let Some(key_use) = self.string("use")?
            && key_use != "sig"
        {
            return Err(invalid(format!(
                "JWK use {:?} is not \"sig\"",
                excerpt(key_use, 16)
            )));
        }
        if let Some(ops) = self.key_ops()?
            && !ops.iter().any(|o| o == op)
        {
            return Err(invalid(format!("JWK key_ops does not include {op:?}")));
        }
        Ok(())
    }

    /// The public key, by `kty`.
    fn key(&self) -> Result<JwkKey> {
        match self.required("kty")? {
            "EC" => self.ec_key(),
            "OKP" => self.okp_key(),
            "RSA" => JwkKey::rsa(&self.bytes("n")?, &self.bytes("e")?),
            other => Err(invalid(format!(
                "unsupported JWK kty {:?} (EC, OKP or RSA)",
                excerpt(other, 16)
            ))),
        }
    }

    fn ec_key(&self) -> Result<JwkKey> {
        let crv = self.required("crv")?;
        let curve = EcCurve::from_name(crv).ok_or_else(|| {
            invalid(format!(
                "unsupported EC curve {:?} (P-256 and P-384 only)",
                excerpt(crv, 16)
            ))
        })?;
        let len = curve.coordinate_len();
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(0x04);
        point.extend_from_slice(&self.bytes_exact("x", len)?);
        point.extend_from_slice(&self.bytes_exact("y", len)?);
        JwkKey::ec(curve, &point)
    }

    fn okp_key(&self) -> Result<JwkKey> {
        match self.required("crv")? {
            "Ed25519" => JwkKey::ed25519(&self.bytes_exact("x", 32)?),
            other => Err(invalid(format!(
                "unsupported OKP curve {:?} (Ed25519 only)",
                excerpt(other, 16)
            ))),
        }
    }
}
