//! Keys: [`PrivateKey`] and [`PublicKey`] for the asymmetric algorithms,
//! [`HmacKey`] for `hmac-sha256` (at least [`HMAC_MIN_SECRET_LEN`] bytes),
//! and the traits they implement: [`SigningKey`], [`VerifyingKey`], and
//! [`KeyResolver`] (from `keyid` to verifying key, e.g. a [`KeyMap`]).
//! The key types and traits are also at the crate root.
//!
//! # Formats
//!
//! | | PEM | JWK |
//! |---|---|---|
//! | private | PKCS#8 `PRIVATE KEY` (Ed25519, P-256, P-384, RSA), SEC1 `EC PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` | with `d` (and `p`, `q`, `dp`, `dq`, `qi` for RSA) |
//! | public | SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY` | public members only |
//!
//! A key is bound to one [`Algorithm`] when it is loaded. For Ed25519 and
//! ECDSA keys the key type decides it. An RSA key can serve `rsa-pss-sha512`
//! or `rsa-v1_5-sha256`, so the caller chooses (`*_with_alg`, or the JWK's
//! `alg` member); an RSA key whose PKCS#8/SPKI algorithm is `id-RSASSA-PSS`
//! can only be `rsa-pss-sha512`. A choice that does not fit the key is
//! [`Error::AlgorithmNotAllowed`].
//!
//! All cryptography is *ring*'s; the DER and PEM structures are parsed with
//! the RustCrypto `der`/`pkcs8`/`sec1`/`spki`/`pem-rfc7468` crates.
//!
//! # Limitations
//!
//! *ring* signs only with RSA keys of 2048 to 4096 bits and verifies 2048
//! to 8192 bits; smaller keys are refused. ECDSA private keys must carry
//! their public key (OpenSSL always writes it). Public points are
//! uncompressed; a point that is not on the curve makes every verification
//! fail rather than failing at load time.

use pkcs8::der::asn1::{AnyRef, ObjectIdentifier};
use pkcs8::der::{Encode, Header, Length, Tag};
use zeroize::Zeroizing;

use crate::alg::Algorithm;
use crate::error::{Error, Result};

mod hmac;
mod private;
mod public;
pub(crate) mod rsa;

pub use crate::key::{KeyMap, KeyResolver, SigningKey, VerifyingKey};
pub use hmac::{HMAC_MIN_SECRET_LEN, HmacKey};
pub use private::PrivateKey;
pub(crate) use public::Material;
pub use public::PublicKey;

/// The largest PEM text accepted (an 8192-bit RSA private key is ~6.5 KiB).
const MAX_PEM_LEN: usize = 64 * 1024;

pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
pub(crate) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const OID_RSASSA_PSS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// The kind of an asymmetric key, before an algorithm is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Ed25519,
    P256,
    P384,
    /// RSA; `pss_only` when the key's algorithm identifier is `id-RSASSA-PSS`.
    Rsa {
        pss_only: bool,
    },
}

impl KeyKind {
    fn describe(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::P256 => "ecdsa-p256-sha256",
            KeyKind::P384 => "ecdsa-p384-sha384",
            KeyKind::Rsa { pss_only: true } => "rsa-pss-sha512",
            KeyKind::Rsa { pss_only: false } => "rsa",
        }
    }

    /// Binds the key to an algorithm: `requested` if given (it must fit),
    /// else the key's only algorithm.
    pub(crate) fn resolve(self, requested: Option<Algorithm>) -> Result<Algorithm> {
        let fits = |alg: Algorithm| match self {
            KeyKind::Ed25519 => alg == Algorithm::Ed25519,
            KeyKind::P256 => alg == Algorithm::EcdsaP256Sha256,
            KeyKind::P384 => alg == Algorithm::EcdsaP384Sha384,
            KeyKind::Rsa { pss_only: true } => alg == Algorithm::RsaPssSha512,
            KeyKind::Rsa { pss_only: false } => {
                matches!(alg, Algorithm::RsaPssSha512 | Algorithm::RsaV15Sha256)
            }
        };
        match requested {
            Some(alg) if fits(alg) => Ok(alg),
            Some(alg) => Err(Error::AlgorithmNotAllowed {
                alg: alg.name().into(),
                key_alg: self.describe().into(),
            }),
            None => match self {
                KeyKind::Ed25519 => Ok(Algorithm::Ed25519),
                KeyKind::P256 => Ok(Algorithm::EcdsaP256Sha256),
                KeyKind::P384 => Ok(Algorithm::EcdsaP384Sha384),
                KeyKind::Rsa { pss_only: true } => Ok(Algorithm::RsaPssSha512),
                KeyKind::Rsa { pss_only: false } => Err(invalid(
                    "an RSA key serves rsa-pss-sha512 or rsa-v1_5-sha256: \
                     choose one with from_pem_with_alg (or the JWK alg member)",
                )),
            },
        }
    }
}

pub(crate) fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidKey {
        reason: reason.into(),
    }
}

pub(crate) fn rejected(what: &str, e: ring::error::KeyRejected) -> Error {
    invalid(format!("{what} rejected: {e}"))
}

pub(crate) fn der_error(what: &str, e: pkcs8::der::Error) -> Error {
    invalid(format!("bad {what} DER: {e}"))
}

/// Decodes one PEM block; the DER is wiped when dropped.
pub(crate) fn decode_pem(pem: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
    if pem.len() > MAX_PEM_LEN {
        return Err(Error::LimitExceeded {
            what: "PEM key length",
            limit: MAX_PEM_LEN,
        });
    }
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|e| invalid(format!("bad PEM: {e}")))?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

/// Encodes DER as PEM with LF line endings, into a buffer wiped on drop.
pub(crate) fn encode_pem(label: &str, der: &[u8]) -> Result<Zeroizing<String>> {
    let le = pem_rfc7468::LineEnding::LF;
    let len = pem_rfc7468::encoded_len(label, le, der)
        .map_err(|e| invalid(format!("PEM encoding failed: {e}")))?;
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let written = pem_rfc7468::encode(label, le, der, &mut buf)
        .map_err(|e| invalid(format!("PEM encoding failed: {e}")))?
        .len();
    buf.truncate(written);
    let text = String::from_utf8(std::mem::take(&mut *buf))
        .map_err(|_| invalid("PEM encoding produced non-UTF-8"))?;
    Ok(Zeroizing::new(text))
}

/// DER `SEQUENCE` of already-encoded elements.
pub(crate) fn der_sequence(parts: &[&[u8]]) -> Result<Vec<u8>> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let length = Length::try_from(total).map_err(|e| der_error("sequence", e))?;
    let mut out = Header::new(Tag::Sequence, length)
        .to_der()
        .map_err(|e| der_error("sequence", e))?;
    out.reserve_exact(total);
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(out)
}

/// The algorithm identifier parameters for a key kind (`NULL` for RSA, the
/// named curve for EC, absent for Ed25519).
pub(crate) fn spki_algorithm(kind: KeyKind) -> (ObjectIdentifier, Option<AnyRef<'static>>) {
    match kind {
        KeyKind::Ed25519 => (OID_ED25519, None),
        KeyKind::P256 => (OID_EC_PUBLIC_KEY, Some(AnyRef::from(&OID_P256))),
        KeyKind::P384 => (OID_EC_PUBLIC_KEY, Some(AnyRef::from(&OID_P384))),
        KeyKind::Rsa { .. } => (OID_RSA_ENCRYPTION, Some(AnyRef::NULL)),
    }
}

/// The curve named by EC algorithm parameters.
pub(crate) fn ec_curve(params: Option<AnyRef<'_>>) -> Result<KeyKind> {
    let oid: ObjectIdentifier = params
        .ok_or_else(|| invalid("EC key without curve parameters"))?
        .decode_as()
        .map_err(|_| invalid("EC key parameters are not a named curve"))?;
    curve_from_oid(&oid)
}

pub(crate) fn curve_from_oid(oid: &ObjectIdentifier) -> Result<KeyKind> {
    if *oid == OID_P256 {
        Ok(KeyKind::P256)
    } else if *oid == OID_P384 {
        Ok(KeyKind::P384)
    } else {
        Err(invalid(format!(
            "unsupported EC curve {oid} (P-256 and P-384 only)"
        )))
    }
}

/// RSA algorithm identifier parameters: `NULL` or absent for
/// `rsaEncryption`; for `id-RSASSA-PSS` they are not interpreted (the key is
/// used with `rsa-pss-sha512` only).
pub(crate) fn rsa_kind(oid: &ObjectIdentifier, params: Option<AnyRef<'_>>) -> Result<KeyKind> {
    if *oid == OID_RSASSA_PSS {
        return Ok(KeyKind::Rsa { pss_only: true });
    }
    if params.is_some_and(|p| !p.is_null()) {
        return Err(invalid("rsaEncryption parameters must be NULL"));
    }
    Ok(KeyKind::Rsa { pss_only: false })
}
