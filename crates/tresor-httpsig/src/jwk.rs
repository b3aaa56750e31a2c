//! JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037) for the key types
//! of this crate, and RFC 7638 thumbprints.
//!
//! Parsing is strict where it matters for security and lenient elsewhere:
//! duplicate known members, private members in a public key, `use` other
//! than `sig`, `key_ops` without the needed operation, unsupported curves
//! and wrong coordinate lengths are refused; unknown members (`kid`, `x5c`,
//! …) are ignored.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::keys::rsa::RsaPublic;
use crate::keys::{KeyKind, Material, invalid};

/// The largest JWK text accepted.
const MAX_JWK_LEN: usize = 64 * 1024;

/// The JOSE `alg` for each algorithm (RFC 7518; `EdDSA` per RFC 8037).
pub(crate) fn jose_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::EcdsaP256Sha256 => "ES256",
        Algorithm::EcdsaP384Sha384 => "ES384",
        Algorithm::Ed25519 => "EdDSA",
        Algorithm::HmacSha256 => "HS256",
        Algorithm::RsaPssSha512 => "PS512",
        Algorithm::RsaV15Sha256 => "RS256",
    }
}

/// The algorithm named by a JOSE `alg` (`Ed25519` is the fully-specified
/// name of RFC 9864).
pub(crate) fn jose_alg(name: &str) -> Result<Algorithm> {
    match name {
        "ES256" => Ok(Algorithm::EcdsaP256Sha256),
        "ES384" => Ok(Algorithm::EcdsaP384Sha384),
        "EdDSA" | "Ed25519" => Ok(Algorithm::Ed25519),
        "HS256" => Ok(Algorithm::HmacSha256),
        "PS512" => Ok(Algorithm::RsaPssSha512),
        "RS256" => Ok(Algorithm::RsaV15Sha256),
        other => Err(Error::UnsupportedAlgorithm {
            alg: format!("JWK alg {}", other.chars().take(32).collect::<String>()),
        }),
    }
}

/// Combines the JWK's `alg` with the caller's choice: they must agree.
pub(crate) fn merge_alg(
    jwk: Option<Algorithm>,
    requested: Option<Algorithm>,
) -> Result<Option<Algorithm>> {
    match (jwk, requested) {
        (Some(j), Some(r)) if j != r => Err(Error::AlgorithmNotAllowed {
            alg: r.name().into(),
            key_alg: j.name().into(),
        }),
        (j, r) => Ok(r.or(j)),
    }
}

/// Whether a public or a private key is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Public,
    Private,
}

/// The private half of a JWK, wiped on drop.
pub(crate) enum PrivateParts {
    /// EC scalar `d` or Ed25519 seed `d`.
    Scalar(Zeroizing<Vec<u8>>),
    /// RSA CRT components.
    Rsa(RsaPrivateParts),
}

/// RSA private components, big-endian.
pub(crate) struct RsaPrivateParts {
    pub(crate) d: Zeroizing<Vec<u8>>,
    pub(crate) p: Zeroizing<Vec<u8>>,
    pub(crate) q: Zeroizing<Vec<u8>>,
    pub(crate) dp: Zeroizing<Vec<u8>>,
    pub(crate) dq: Zeroizing<Vec<u8>>,
    pub(crate) qi: Zeroizing<Vec<u8>>,
}

/// A parsed and validated JWK.
pub(crate) struct ParsedJwk {
    pub(crate) public: Material,
    pub(crate) kind: KeyKind,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) private: Option<PrivateParts>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
    dp: Option<String>,
    dq: Option<String>,
    qi: Option<String>,
    k: Option<String>,
    oth: Option<serde::de::IgnoredAny>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl Drop for RawJwk {
    fn drop(&mut self) {
        for secret in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qi,
            &mut self.k,
        ] {
            secret.zeroize();
        }
    }
}

impl RawJwk {
    /// The names of private members present.
    fn private_members(&self) -> Vec<&'static str> {
        let mut found = Vec::new();
        for (name, present) in [
            ("d", self.d.is_some()),
            ("p", self.p.is_some()),
            ("q", self.q.is_some()),
            ("dp", self.dp.is_some()),
            ("dq", self.dq.is_some()),
            ("qi", self.qi.is_some()),
            ("oth", self.oth.is_some()),
            ("k", self.k.is_some()),
        ] {
            if present {
                found.push(name);
            }
        }
        found
    }
}

fn member<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str> {
    value
        .as_deref()
        .ok_or_else(|| invalid(format!("JWK member {name:?} is missing")))
}

fn b64(value: &Option<String>, name: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(member(value, name)?).map_err(|_| {
        invalid(format!(
            "JWK member {name:?} is not base64url without padding"
        ))
    })
}

fn b64_secret(value: &Option<String>, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    b64(value, name).map(Zeroizing::new)
}

fn b64_exact(value: &Option<String>, name: &str, len: usize) -> Result<Vec<u8>> {
    let bytes = b64(value, name)?;
    if bytes.len() != len {
        return Err(invalid(format!(
            "JWK member {name:?} must be {len} bytes, not {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Parses a JWK holding a public key (`Expect::Public`) or a private key
/// (`Expect::Private`).
pub(crate) fn parse(text: &str, expect: Expect) -> Result<ParsedJwk> {
    if text.len() > MAX_JWK_LEN {
        return Err(Error::LimitExceeded {
            what: "JWK length",
            limit: MAX_JWK_LEN,
        });
    }
    let raw: RawJwk =
        serde_json::from_str(text).map_err(|e| invalid(format!("bad JWK JSON: {e}")))?;

    let kty = member(&raw.kty, "kty")?;
    if kty == "oct" {
        return Err(invalid(
            "a symmetric (oct) JWK is not a signature key pair: use HmacKey",
        ));
    }
    let private = raw.private_members();
    match expect {
        Expect::Public => {
            if let Some(name) = private.first() {
                return Err(invalid(format!(
                    "a public JWK must not contain the private member {name:?}"
                )));
            }
        }
        Expect::Private => {
            if raw.d.is_none() {
                return Err(invalid("a private JWK needs the member \"d\""));
            }
            if raw.k.is_some() || raw.oth.is_some() {
                return Err(invalid(
                    "unexpected JWK member \"k\" or \"oth\" (multi-prime RSA is not supported)",
                ));
            }
        }
    }
    if let Some(key_use) = raw.key_use.as_deref()
        && key_use != "sig"
    {
        return Err(invalid(format!(
            "JWK use {:?} is not \"sig\"",
            key_use.chars().take(16).collect::<String>()
        )));
    }
    if let Some(ops) = &raw.key_ops {
        let needed = match expect {
            Expect::Public => "verify",
            Expect::Private => "sign",
        };
        if !ops.iter().any(|op| op == needed) {
            return Err(invalid(format!("JWK key_ops does not include {needed:?}")));
        }
    }
    let alg = raw.alg.as_deref().map(jose_alg).transpose()?;

    let (public, kind, private) = match kty {
        "EC" => {
            let (kind, len) = match member(&raw.crv, "crv")? {
                "P-256" => (KeyKind::P256, 32),
                "P-384" => (KeyKind::P384, 48),
                other => {
                    return Err(invalid(format!(
                        "unsupported EC curve {:?} (P-256 and P-384 only)",
                        other.chars().take(16).collect::<String>()
                    )));
                }
            };
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&b64_exact(&raw.x, "x", len)?);
            point.extend_from_slice(&b64_exact(&raw.y, "y", len)?);
            let private = match expect {
                Expect::Public => None,
                Expect::Private => {
                    let d = b64_secret(&raw.d, "d")?;
                    if d.len() != len {
                        return Err(invalid(format!("JWK member \"d\" must be {len} bytes")));
                    }
                    Some(PrivateParts::Scalar(d))
                }
            };
            (Material::ec_point(kind, &point)?, kind, private)
        }
        "OKP" => {
            match member(&raw.crv, "crv")? {
                "Ed25519" => {}
                other => {
                    return Err(invalid(format!(
                        "unsupported OKP curve {:?} (Ed25519 only)",
                        other.chars().take(16).collect::<String>()
                    )));
                }
            }
            let x = b64_exact(&raw.x, "x", 32)?;
            let private = match expect {
                Expect::Public => None,
                Expect::Private => {
                    let d = b64_secret(&raw.d, "d")?;
                    if d.len() != 32 {
                        return Err(invalid("JWK member \"d\" must be 32 bytes"));
                    }
                    Some(PrivateParts::Scalar(d))
                }
            };
            (Material::ed25519(&x)?, KeyKind::Ed25519, private)
        }
        "RSA" => {
            let rsa = RsaPublic::new(&b64(&raw.n, "n")?, &b64(&raw.e, "e")?)?;
            let private = match expect {
                Expect::Public => None,
                Expect::Private => Some(PrivateParts::Rsa(RsaPrivateParts {
                    d: b64_secret(&raw.d, "d")?,
                    p: b64_secret(&raw.p, "p")?,
                    q: b64_secret(&raw.q, "q")?,
                    dp: b64_secret(&raw.dp, "dp")?,
                    dq: b64_secret(&raw.dq, "dq")?,
                    qi: b64_secret(&raw.qi, "qi")?,
                })),
            };
            (
                Material::Rsa(rsa),
                KeyKind::Rsa { pss_only: false },
                private,
            )
        }
        other => {
            return Err(invalid(format!(
                "unsupported JWK kty {:?}",
                other.chars().take(16).collect::<String>()
            )));
        }
    };
    Ok(ParsedJwk {
        public,
        kind,
        alg,
        private,
    })
}

fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// The EC coordinates of an uncompressed point.
fn coordinates(point: &[u8]) -> (&[u8], &[u8]) {
    let coords = point.get(1..).unwrap_or_default();
    coords.split_at(coords.len() / 2)
}

/// The RFC 7638 canonical JSON of the required public members: members in
/// lexicographic order, no whitespace. All values are base64url or fixed
/// names, so no escaping is needed.
fn canonical_members(material: &Material) -> String {
    match material {
        Material::Ed25519(x) => {
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(x))
        }
        Material::P256(point) | Material::P384(point) => {
            let crv = if matches!(material, Material::P256(_)) {
                "P-256"
            } else {
                "P-384"
            };
            let (x, y) = coordinates(point);
            format!(
                r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
                b64url(x),
                b64url(y)
            )
        }
        Material::Rsa(rsa) => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64url(&rsa.e),
            b64url(&rsa.n)
        ),
    }
}

/// RFC 7638 thumbprint: base64url(SHA-256(canonical JSON)).
pub(crate) fn thumbprint(material: &Material) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        canonical_members(material).as_bytes(),
    );
    b64url(digest.as_ref())
}

/// The public JWK: the thumbprint members plus `alg`.
pub(crate) fn public_json(material: &Material, alg: Algorithm) -> String {
    let canonical = canonical_members(material);
    // Insert `alg` first; the canonical form starts with `{`.
    let rest = canonical.strip_prefix('{').unwrap_or(&canonical);
    format!(r#"{{"alg":"{}",{rest}"#, jose_name(alg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jose_names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(jose_alg(jose_name(alg)).unwrap(), alg);
        }
        assert_eq!(jose_alg("Ed25519").unwrap(), Algorithm::Ed25519);
        assert!(jose_alg("PS256").is_err());
        assert!(jose_alg("none").is_err());
    }

    #[test]
    fn merge() {
        let p = Some(Algorithm::RsaPssSha512);
        let v = Some(Algorithm::RsaV15Sha256);
        assert_eq!(merge_alg(p, None).unwrap(), p);
        assert_eq!(merge_alg(None, v).unwrap(), v);
        assert_eq!(merge_alg(p, p).unwrap(), p);
        assert!(merge_alg(p, v).is_err());
    }
}
