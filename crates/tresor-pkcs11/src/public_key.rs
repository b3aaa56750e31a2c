//! The public half of a signing key in the token: `CKA_EC_POINT` decoded
//! and validated, and written as SPKI and JWK.

use std::fmt;

use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::pkcs8::EncodePublicKey as _;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use tresor_types::jwk::{EcCurve, JwkKey};

use crate::signing::SignatureAlgorithm;

/// `CKA_EC_PARAMS` of P-256: the DER OID 1.2.840.10045.3.1.7
/// (`prime256v1`, `secp256r1`).
pub(crate) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// `CKA_EC_PARAMS` of Ed25519 as the DER OID 1.3.101.112 (`id-Ed25519`,
/// RFC 8410), which PKCS#11 3.0 allows and most HSMs take.
pub(crate) const ED25519_OID_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// `CKA_EC_PARAMS` of Ed25519 as the DER PrintableString `edwards25519`
/// (PKCS#11 3.0's curve name): the only form SoftHSM2 2.6 accepts.
pub(crate) const ED25519_NAME_PARAMS: &[u8] = b"\x13\x0cedwards25519";

/// The DER SPKI of an Ed25519 key up to the key itself (RFC 8410):
/// `SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (0 unused bits) }`.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Length of an Ed25519 public key.
const ED25519_LEN: usize = 32;

/// Why a `CKA_EC_POINT` was refused (never the point's bytes).
#[derive(Debug)]
pub(crate) struct InvalidPoint(pub(crate) &'static str);

/// The public key of a [`Pkcs11SigningKey`](crate::Pkcs11SigningKey),
/// read from the token's public key object and validated.
///
/// - **ECDSA P-256**: the point is checked with the `p256` crate (on the
///   curve, not the identity) and kept as an uncompressed SEC1 point
///   (`04 || x || y`, 65 bytes); a token that returns a compressed point
///   is accepted and the point decompressed.
/// - **Ed25519**: 32 bytes; the key pair is also checked when it is
///   opened, by a signature of the token's private key that this public
///   key must verify (which also rejects bytes that are not a point).
///
/// `CKA_EC_POINT` is, per PKCS#11, the DER `OCTET STRING` holding the
/// point (`04 41 04 x y` for P-256, `04 20 k` for Ed25519); some tokens
/// return the bare point. Both are accepted: the DER reading is tried
/// first, then the bare one, and the first that is a valid key of the
/// algorithm is taken.
///
/// It is public: `Debug` shows the algorithm and the RFC 7638 thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningPublicKey {
    alg: SignatureAlgorithm,
    /// Uncompressed SEC1 point (P-256) or the 32 bytes (Ed25519).
    raw: Vec<u8>,
    /// The DER SubjectPublicKeyInfo.
    spki: Vec<u8>,
}

impl SigningPublicKey {
    /// A public key for `alg` from the value of a `CKA_EC_POINT`
    /// attribute: the DER `OCTET STRING` of the point, or the bare point.
    ///
    /// # Errors
    ///
    /// [`Error::WrongKeyType`](crate::Error::WrongKeyType) if neither
    /// reading is a valid key of `alg`.
    pub fn from_ec_point(alg: SignatureAlgorithm, ec_point: &[u8]) -> crate::Result<Self> {
        Self::decode(alg, ec_point).map_err(|InvalidPoint(reason)| crate::Error::WrongKeyType {
            object: "CKA_EC_POINT".into(),
            expected: alg.expected_public(),
            found: reason.into(),
        })
    }

    pub(crate) fn decode(alg: SignatureAlgorithm, ec_point: &[u8]) -> Result<Self, InvalidPoint> {
        let mut first_error = None;
        for candidate in [der_octet_string(ec_point), Some(ec_point)]
            .into_iter()
            .flatten()
        {
            match Self::from_raw(alg, candidate) {
                Ok(key) => return Ok(key),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(first_error.unwrap_or(InvalidPoint("an empty CKA_EC_POINT")))
    }

    /// A key from the bare point (SEC1, compressed or not) or the 32
    /// Ed25519 bytes.
    fn from_raw(alg: SignatureAlgorithm, raw: &[u8]) -> Result<Self, InvalidPoint> {
        match alg {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let key = p256::PublicKey::from_sec1_bytes(raw)
                    .map_err(|_| InvalidPoint("a CKA_EC_POINT that is not a P-256 point"))?;
                let point = key.to_sec1_point(false).as_bytes().to_vec();
                let spki = key
                    .to_public_key_der()
                    .map_err(|_| InvalidPoint("a P-256 point that does not encode as SPKI"))?
                    .into_vec();
                Ok(SigningPublicKey {
                    alg,
                    raw: point,
                    spki,
                })
            }
            SignatureAlgorithm::Ed25519 => {
                if raw.len() != ED25519_LEN {
                    return Err(InvalidPoint("a CKA_EC_POINT that is not 32 bytes"));
                }
                let mut spki = Vec::with_capacity(ED25519_SPKI_PREFIX.len() + ED25519_LEN);
                spki.extend_from_slice(&ED25519_SPKI_PREFIX);
                spki.extend_from_slice(raw);
                Ok(SigningPublicKey {
                    alg,
                    raw: raw.to_vec(),
                    spki,
                })
            }
        }
    }

    /// The algorithm the key verifies.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.alg
    }

    /// The raw public key: the uncompressed SEC1 point `04 || x || y`
    /// (65 bytes) for ECDSA P-256, the 32 bytes for Ed25519.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The DER `SubjectPublicKeyInfo` (RFC 5480 `id-ecPublicKey` with
    /// `prime256v1`; RFC 8410 `id-Ed25519`).
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// The SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line endings).
    pub fn to_spki_pem(&self) -> String {
        // PEM encoding of a DER key of less than 100 bytes cannot fail;
        // an empty string would still not be mistaken for a key.
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.spki)
            .unwrap_or_default()
    }

    /// The public JWK: `alg` (`ES256` or `EdDSA`) and the RFC 7638
    /// members (`crv`, `kty`, `x`, `y`). No private member.
    pub fn to_jwk(&self) -> String {
        let Some(key) = self.jwk_key() else {
            return String::new();
        };
        let canonical = key.canonical_json();
        let rest = canonical.strip_prefix('{').unwrap_or(&canonical);
        format!(r#"{{"alg":"{}",{rest}"#, self.alg.jose_name())
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url without padding):
    /// suitable as an RFC 9421 `keyid`.
    pub fn thumbprint(&self) -> String {
        self.jwk_key()
            .map(|key| key.thumbprint())
            .unwrap_or_default()
    }

    fn jwk_key(&self) -> Option<JwkKey> {
        match self.alg {
            SignatureAlgorithm::EcdsaP256Sha256 => JwkKey::ec(EcCurve::P256, &self.raw).ok(),
            SignatureAlgorithm::Ed25519 => JwkKey::ed25519(&self.raw).ok(),
        }
    }

    /// Whether `signature` (ECDSA: `r || s`) over `message` verifies under
    /// this key (in software, with *ring*).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let alg: &'static dyn ring::signature::VerificationAlgorithm = match self.alg {
            SignatureAlgorithm::EcdsaP256Sha256 => &ECDSA_P256_SHA256_FIXED,
            SignatureAlgorithm::Ed25519 => &ED25519,
        };
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Debug for SigningPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningPublicKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

/// The content of a DER `OCTET STRING` that is exactly `value`, if it is
/// one (definite length, short or long form).
fn der_octet_string(value: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = value.split_first()?;
    if tag != 0x04 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, content) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&len, content) = rest.split_first()?;
            // DER writes lengths below 128 in the short form.
            if len < 0x80 {
                return None;
            }
            (usize::from(len), content)
        }
        _ => return None,
    };
    (content.len() == len).then_some(content)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// The P-256 generator: a valid point.
    const G: [u8; 65] = [
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4,
        0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8,
        0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
        0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40,
        0x68, 0x37, 0xbf, 0x51, 0xf5,
    ];

    #[test]
    fn p256_points_der_wrapped_bare_and_compressed() {
        let alg = SignatureAlgorithm::EcdsaP256Sha256;
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend_from_slice(&G);
        let a = SigningPublicKey::decode(alg, &wrapped).unwrap();
        let b = SigningPublicKey::decode(alg, &G).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_bytes(), G);
        let mut compressed = vec![0x02 | (G[64] & 1)];
        compressed.extend_from_slice(&G[1..33]);
        assert_eq!(SigningPublicKey::decode(alg, &compressed).unwrap(), a);
        // SPKI: id-ecPublicKey, prime256v1, the point.
        let spki = a.to_spki_der();
        assert_eq!(spki.len(), 91);
        assert!(spki.ends_with(&G));
        assert!(a.to_spki_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(
            a.to_jwk()
                .starts_with(r#"{"alg":"ES256","crv":"P-256","kty":"EC","#)
        );
        assert_eq!(a.thumbprint().len(), 43);
    }

    #[test]
    fn invalid_points_are_refused() {
        let alg = SignatureAlgorithm::EcdsaP256Sha256;
        let mut off_curve = G;
        off_curve[64] ^= 1;
        for bad in [
            &off_curve[..],
            &G[..64],
            &[0x00][..],
            &[][..],
            &[0x04, 0x41][..],
        ] {
            assert!(SigningPublicKey::decode(alg, bad).is_err());
        }
        let ed = SignatureAlgorithm::Ed25519;
        assert!(SigningPublicKey::decode(ed, &[7; 31]).is_err());
        assert!(SigningPublicKey::decode(ed, &G).is_err());
    }

    #[test]
    fn ed25519_keys_der_wrapped_and_bare() {
        let ed = SignatureAlgorithm::Ed25519;
        let key = [0x42; 32];
        let mut wrapped = vec![0x04, 0x20];
        wrapped.extend_from_slice(&key);
        let a = SigningPublicKey::decode(ed, &wrapped).unwrap();
        assert_eq!(a, SigningPublicKey::decode(ed, &key).unwrap());
        assert_eq!(a.as_bytes(), key);
        let spki = a.to_spki_der();
        assert_eq!(&spki[..12], ED25519_SPKI_PREFIX);
        assert_eq!(spki.len(), 44);
        // A bare key that happens to start like an OCTET STRING header.
        let mut tricky = [0x11; 32];
        tricky[0] = 0x04;
        tricky[1] = 30;
        assert_eq!(
            SigningPublicKey::decode(ed, &tricky).unwrap().as_bytes(),
            tricky
        );
    }

    #[test]
    fn der_octet_strings() {
        assert_eq!(der_octet_string(&[0x04, 0x01, 0xaa]), Some(&[0xaa][..]));
        assert_eq!(der_octet_string(&[0x04, 0x02, 0xaa]), None);
        assert_eq!(der_octet_string(&[0x03, 0x01, 0xaa]), None);
        assert_eq!(der_octet_string(&[0x04, 0x81, 0x01, 0xaa]), None);
        let long: Vec<u8> = [0x04, 0x81, 0x80].into_iter().chain([0; 128]).collect();
        assert_eq!(der_octet_string(&long).map(<[u8]>::len), Some(128));
        assert_eq!(der_octet_string(&[]), None);
    }
}
