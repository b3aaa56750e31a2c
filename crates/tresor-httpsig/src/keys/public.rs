//! [`PublicKey`]: a key that verifies `ecdsa-p256-sha256`,
//! `ecdsa-p384-sha384`, `ed25519`, `rsa-pss-sha512` or `rsa-v1_5-sha256`
//! signatures.

use std::fmt;

use pkcs8::der::asn1::BitStringRef;
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

use super::rsa::RsaPublic;
use super::{
    KeyKind, OID_EC_PUBLIC_KEY, OID_ED25519, OID_RSA_ENCRYPTION, OID_RSASSA_PSS, decode_pem,
    der_error, ec_curve, invalid, rsa_kind, spki_algorithm,
};
use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::jwk;
use crate::key::VerifyingKey;

/// The public material of a key, validated.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Material {
    Ed25519([u8; 32]),
    /// Uncompressed point `04 || x || y`, 65 bytes.
    P256(Vec<u8>),
    /// Uncompressed point `04 || x || y`, 97 bytes.
    P384(Vec<u8>),
    Rsa(RsaPublic),
}

impl Material {
    /// Validates an uncompressed EC point for `kind` (P-256 or P-384).
    pub(crate) fn ec_point(kind: KeyKind, point: &[u8]) -> Result<Self> {
        let (len, wrap): (usize, fn(Vec<u8>) -> Material) = match kind {
            KeyKind::P256 => (65, Material::P256),
            KeyKind::P384 => (97, Material::P384),
            _ => return Err(invalid("not an EC key kind")),
        };
        match point.first() {
            Some(0x04) if point.len() == len => Ok(wrap(point.to_vec())),
            Some(0x02 | 0x03) => Err(invalid("compressed EC points are not supported")),
            _ => Err(invalid(format!(
                "EC public key must be an uncompressed point of {len} bytes"
            ))),
        }
    }

    pub(crate) fn ed25519(raw: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(raw)
            .map(Material::Ed25519)
            .map_err(|_| invalid("an Ed25519 public key is 32 bytes"))
    }

    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Material::Ed25519(_) => KeyKind::Ed25519,
            Material::P256(_) => KeyKind::P256,
            Material::P384(_) => KeyKind::P384,
            Material::Rsa(_) => KeyKind::Rsa { pss_only: false },
        }
    }
}

/// A public key bound to one signature algorithm.
///
/// Construction validates the encoding, the curve and (for RSA) the size:
/// moduli of 2048 to 8192 bits. Verification uses *ring*; any failure is
/// [`Error::BadSignature`]. ECDSA signatures are the fixed-size `r || s`
/// of RFC 9421 section 3.3.
///
/// ```
/// use tresor_httpsig::{Algorithm, PrivateKey, SigningKey, VerifyingKey};
///
/// let private = PrivateKey::generate(Algorithm::Ed25519)?;
/// let public = private.public_key();
/// let signature = private.sign(b"base")?;
/// public.verify(b"base", &signature)?;
/// assert!(public.verify(b"other", &signature).is_err());
///
/// // Public keys travel as SPKI PEM or JWK.
/// let again = tresor_httpsig::PublicKey::from_jwk(&public.to_jwk())?;
/// assert_eq!(again, public);
/// # Ok::<(), tresor_httpsig::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    alg: Algorithm,
    material: Material,
}

impl PublicKey {
    pub(crate) fn from_material(
        material: Material,
        kind: KeyKind,
        requested: Option<Algorithm>,
    ) -> Result<Self> {
        let alg = kind.resolve(requested)?;
        Ok(Self { alg, material })
    }

    /// Loads a PEM public key: SPKI `PUBLIC KEY` (Ed25519, P-256, P-384,
    /// RSA) or PKCS#1 `RSA PUBLIC KEY`. The algorithm follows from the key;
    /// for an RSA key (other than an `id-RSASSA-PSS` one) use
    /// [`from_pem_with_alg`](Self::from_pem_with_alg).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for bad PEM/DER, an unsupported key type or
    /// curve, an RSA key below 2048 bits, or an RSA key without a chosen
    /// algorithm.
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_inner(pem, None)
    }

    /// Loads a PEM public key for `alg`, which must fit the key.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem), and [`Error::AlgorithmNotAllowed`]
    /// if `alg` does not fit the key.
    pub fn from_pem_with_alg(pem: &str, alg: Algorithm) -> Result<Self> {
        Self::from_pem_inner(pem, Some(alg))
    }

    fn from_pem_inner(pem: &str, alg: Option<Algorithm>) -> Result<Self> {
        let (label, der) = decode_pem(pem)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki(&der, alg),
            "RSA PUBLIC KEY" => {
                let rsa = RsaPublic::from_pkcs1_der(&der)?;
                Self::from_material(Material::Rsa(rsa), KeyKind::Rsa { pss_only: false }, alg)
            }
            "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" => Err(invalid(
                "this is a private key: load it with PrivateKey and call public_key()",
            )),
            other => Err(invalid(format!(
                "unsupported PEM label {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    /// Loads a DER `SubjectPublicKeyInfo` (Ed25519, P-256, P-384, or
    /// `id-RSASSA-PSS` RSA, whose algorithm follows from the key).
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_der_spki(der: &[u8]) -> Result<Self> {
        Self::from_spki(der, None)
    }

    /// Loads a DER `SubjectPublicKeyInfo` for `alg`, which must fit the key.
    ///
    /// # Errors
    ///
    /// As [`from_pem_with_alg`](Self::from_pem_with_alg).
    pub fn from_der_spki_with_alg(der: &[u8], alg: Algorithm) -> Result<Self> {
        Self::from_spki(der, Some(alg))
    }

    fn from_spki(der: &[u8], alg: Option<Algorithm>) -> Result<Self> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| der_error("SPKI", e))?;
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| invalid("SPKI key bit string has unused bits"))?;
        let oid = spki.algorithm.oid;
        let params = spki.algorithm.parameters;
        let (material, kind) = if oid == OID_ED25519 {
            if params.is_some() {
                return Err(invalid("Ed25519 SPKI must not have parameters"));
            }
            (Material::ed25519(key)?, KeyKind::Ed25519)
        } else if oid == OID_EC_PUBLIC_KEY {
            let kind = ec_curve(params)?;
            (Material::ec_point(kind, key)?, kind)
        } else if oid == OID_RSA_ENCRYPTION || oid == OID_RSASSA_PSS {
            let kind = rsa_kind(&oid, params)?;
            (Material::Rsa(RsaPublic::from_pkcs1_der(key)?), kind)
        } else {
            return Err(invalid(format!("unsupported public key algorithm {oid}")));
        };
        Self::from_material(material, kind, alg)
    }

    /// A raw public key: 32 bytes for `ed25519`, the uncompressed point
    /// (`04 || x || y`) for `ecdsa-p256-sha256` and `ecdsa-p384-sha384`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] if the bytes do not fit `alg`;
    /// [`Error::UnsupportedAlgorithm`] for RSA and HMAC (use SPKI or JWK).
    pub fn from_raw(alg: Algorithm, raw: &[u8]) -> Result<Self> {
        let (material, kind) = match alg {
            Algorithm::Ed25519 => (Material::ed25519(raw)?, KeyKind::Ed25519),
            Algorithm::EcdsaP256Sha256 => (Material::ec_point(KeyKind::P256, raw)?, KeyKind::P256),
            Algorithm::EcdsaP384Sha384 => (Material::ec_point(KeyKind::P384, raw)?, KeyKind::P384),
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    alg: format!("raw {other} public key"),
                });
            }
        };
        Self::from_material(material, kind, Some(alg))
    }

    /// Loads a public JWK (RFC 7517/7518): `EC` (P-256, P-384), `OKP`
    /// (Ed25519) or `RSA`. A JWK holding any private member (`d`, `p`, `q`,
    /// `dp`, `dq`, `qi`, `oth`, `k`) is refused. If the JWK has an `alg`
    /// (`ES256`, `ES384`, `EdDSA`/`Ed25519`, `PS512`, `RS256`) it must fit
    /// the key; an RSA JWK needs one (or use
    /// [`from_jwk_with_alg`](Self::from_jwk_with_alg)). `use`, if present,
    /// must be `sig`; `key_ops`, if present, must include `verify`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`], [`Error::UnsupportedAlgorithm`] or
    /// [`Error::AlgorithmNotAllowed`].
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        Self::from_jwk_inner(jwk, None)
    }

    /// Loads a public JWK for `alg`, which must fit the key and agree with
    /// the JWK's own `alg` if it has one.
    ///
    /// # Errors
    ///
    /// As [`from_jwk`](Self::from_jwk).
    pub fn from_jwk_with_alg(jwk: &str, alg: Algorithm) -> Result<Self> {
        Self::from_jwk_inner(jwk, Some(alg))
    }

    fn from_jwk_inner(text: &str, alg: Option<Algorithm>) -> Result<Self> {
        let parsed = jwk::parse(text, jwk::Expect::Public)?;
        let alg = jwk::merge_alg(parsed.alg, alg)?;
        Self::from_material(parsed.public, parsed.kind, alg)
    }

    /// The public JWK: `kty`, `crv`/`x`/`y` or `n`/`e`, and `alg` (the JOSE
    /// name of this key's algorithm). No private member, ever.
    pub fn to_jwk(&self) -> String {
        jwk::public_json(&self.material, self.alg)
    }

    /// The RFC 7638 JWK thumbprint: SHA-256 over the required public
    /// members in canonical JSON, base64url without padding. Suitable as
    /// `keyid`.
    pub fn thumbprint(&self) -> String {
        jwk::thumbprint(&self.material)
    }

    /// The DER `SubjectPublicKeyInfo` (RSA keys as `rsaEncryption`).
    pub fn to_der_spki(&self) -> Vec<u8> {
        self.try_der_spki()
            .expect("a validated public key always encodes as DER")
    }

    fn try_der_spki(&self) -> Result<Vec<u8>> {
        let (oid, parameters) = spki_algorithm(self.material.kind());
        let rsa_der;
        let key: &[u8] = match &self.material {
            Material::Ed25519(raw) => raw,
            Material::P256(point) | Material::P384(point) => point,
            Material::Rsa(rsa) => {
                rsa_der = rsa.to_pkcs1_der()?;
                &rsa_der
            }
        };
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef { oid, parameters },
            subject_public_key: BitStringRef::from_bytes(key).map_err(|e| der_error("SPKI", e))?,
        };
        spki.to_der().map_err(|e| der_error("SPKI", e))
    }

    /// The SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line endings).
    pub fn to_spki_pem(&self) -> String {
        pem_rfc7468::encode_string(
            "PUBLIC KEY",
            pem_rfc7468::LineEnding::LF,
            &self.to_der_spki(),
        )
        .expect("PEM encoding of a DER key of at most a few KiB cannot fail")
    }

    /// The RSA modulus size in bits, or `None` for other keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.material {
            Material::Rsa(rsa) => Some(rsa.bits()),
            _ => None,
        }
    }
}

impl VerifyingKey for PublicKey {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn verify(&self, base: &[u8], sig: &[u8]) -> Result<()> {
        let result = match (&self.material, self.alg) {
            (Material::Ed25519(raw), Algorithm::Ed25519) => {
                UnparsedPublicKey::new(&signature::ED25519, raw).verify(base, sig)
            }
            (Material::P256(point), Algorithm::EcdsaP256Sha256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(base, sig)
            }
            (Material::P384(point), Algorithm::EcdsaP384Sha384) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point).verify(base, sig)
            }
            (Material::Rsa(rsa), Algorithm::RsaPssSha512) => RsaPublicKeyComponents {
                n: &rsa.n,
                e: &rsa.e,
            }
            .verify(&signature::RSA_PSS_2048_8192_SHA512, base, sig),
            (Material::Rsa(rsa), Algorithm::RsaV15Sha256) => RsaPublicKeyComponents {
                n: &rsa.n,
                e: &rsa.e,
            }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, base, sig),
            // Unreachable by construction: the algorithm was resolved from
            // the material. Fail closed all the same.
            _ => return Err(Error::BadSignature),
        };
        result.map_err(|_| Error::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}
