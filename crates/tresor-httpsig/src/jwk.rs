//! JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037) for the key types
//! of this crate, and RFC 7638 thumbprints, over the one parser in
//! `tresor-types` (`tresor_types::jwk`).
//!
//! Parsing is strict where it matters for security and lenient elsewhere:
//! duplicate members, private members in a public key, `use` other than
//! `sig`, `key_ops` without the needed operation, unsupported curves and
//! wrong coordinate lengths are refused; unknown members (`x5c`, …) are
//! ignored. The `alg` member must name one of this crate's algorithms.

use tresor_types::jwk::{EcCurve, JwkKey, KeyParams, PrivateJwk, PublicJwk};
use zeroize::Zeroizing;

use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::keys::rsa::RsaPublic;
use crate::keys::{KeyKind, Material, invalid};

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

/// A JWK refused by `tresor-types`, as this crate's error.
fn jwk_error(e: tresor_types::Error) -> Error {
    match e {
        tresor_types::Error::InvalidJwk { reason } => invalid(reason),
        other => invalid(other.to_string()),
    }
}

/// Parses a JWK holding a public key (`Expect::Public`) or a private key
/// (`Expect::Private`) with the `tresor-types` parser (which refuses
/// private members in a public key, duplicate members, `oct` keys, `use`
/// other than `sig`, `key_ops` without the needed operation, wrong
/// lengths), then validates the key for this crate: the point on its
/// curve, the RSA modulus and exponent, the `alg` one of ours.
pub(crate) fn parse(text: &str, expect: Expect) -> Result<ParsedJwk> {
    let (public, private) = match expect {
        Expect::Public => (PublicJwk::parse(text).map_err(jwk_error)?, None),
        Expect::Private => {
            let jwk = PrivateJwk::parse(text).map_err(jwk_error)?;
            let parts = private_parts(&jwk);
            (jwk.public().clone(), Some(parts))
        }
    };
    let alg = public.alg().map(jose_alg).transpose()?;
    let (material, kind) = material(public.key())?;
    Ok(ParsedJwk {
        public: material,
        kind,
        alg,
        private,
    })
}

/// The key material of a JWK, validated.
fn material(key: &JwkKey) -> Result<(Material, KeyKind)> {
    match key.params() {
        KeyParams::Ec { curve, point } => {
            let kind = match curve {
                EcCurve::P256 => KeyKind::P256,
                EcCurve::P384 => KeyKind::P384,
                _ => return Err(invalid("unsupported EC curve (P-256 and P-384 only)")),
            };
            Ok((Material::ec_point(kind, point)?, kind))
        }
        KeyParams::Ed25519 { x } => Ok((Material::ed25519(x)?, KeyKind::Ed25519)),
        KeyParams::Rsa { n, e } => Ok((
            Material::Rsa(RsaPublic::new(n, e)?),
            KeyKind::Rsa { pss_only: false },
        )),
        _ => Err(invalid(format!("unsupported JWK kty {:?}", key.kty()))),
    }
}

/// Copies the private members into this crate's wiped buffers.
fn private_parts(jwk: &PrivateJwk) -> PrivateParts {
    let secret = |bytes: &[u8]| Zeroizing::new(bytes.to_vec());
    match jwk.rsa() {
        None => PrivateParts::Scalar(secret(jwk.d())),
        Some(rsa) => PrivateParts::Rsa(RsaPrivateParts {
            d: secret(jwk.d()),
            p: secret(rsa.p()),
            q: secret(rsa.q()),
            dp: secret(rsa.dp()),
            dq: secret(rsa.dq()),
            qi: secret(rsa.qi()),
        }),
    }
}

/// The key as `tresor-types` sees it, for the RFC 7638 members.
fn jwk_key(material: &Material) -> JwkKey {
    match material {
        Material::Ed25519(x) => JwkKey::ed25519(x),
        Material::P256(point) => JwkKey::ec(EcCurve::P256, point),
        Material::P384(point) => JwkKey::ec(EcCurve::P384, point),
        Material::Rsa(rsa) => JwkKey::rsa(&rsa.n, &rsa.e),
    }
    .expect("validated key material always has valid JWK members")
}

/// RFC 7638 thumbprint: base64url(SHA-256(canonical JSON)).
pub(crate) fn thumbprint(material: &Material) -> String {
    jwk_key(material).thumbprint()
}

/// The public JWK: the thumbprint members plus `alg`.
pub(crate) fn public_json(material: &Material, alg: Algorithm) -> String {
    let canonical = jwk_key(material).canonical_json();
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
