//! [`PrivateKey`]: a key that signs with `ecdsa-p256-sha256`,
//! `ecdsa-p384-sha384`, `ed25519`, `rsa-pss-sha512` or `rsa-v1_5-sha256`.

use std::fmt;

use pkcs8::PrivateKeyInfoRef;
use pkcs8::der::asn1::{BitStringRef, OctetStringRef, UintRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::AlgorithmIdentifierRef;
use ring::rand::SystemRandom;
use ring::rsa::{KeyPairComponents, PublicKeyComponents};
use ring::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RsaEncoding, RsaKeyPair,
};
use zeroize::Zeroizing;

use super::public::Material;
use super::rsa::RsaPublic;
use super::{
    KeyKind, OID_EC_PUBLIC_KEY, OID_ED25519, OID_RSA_ENCRYPTION, OID_RSASSA_PSS, curve_from_oid,
    decode_pem, der_error, der_sequence, ec_curve, encode_pem, invalid, rejected, rsa_kind,
    spki_algorithm,
};
use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::jwk::{self, Expect, PrivateParts};
use crate::key::SigningKey;
use crate::keys::PublicKey;

enum Signer {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key bound to one signature algorithm.
///
/// The key's PKCS#8 encoding is held in a buffer wiped on drop; *ring*'s
/// own key schedule is not wiped (a *ring* limitation). `Debug` shows the
/// algorithm and the public key's RFC 7638 thumbprint, never key bytes.
/// There is no `Clone`: share a key with `Arc<PrivateKey>`.
///
/// ECDSA signatures are `r || s` (RFC 9421 section 3.3.4/3.3.5); RSA-PSS
/// uses SHA-512, MGF1-SHA-512 and a 64-byte salt (section 3.3.1).
///
/// Limits, all *ring*'s: RSA keys of 2048 to 4096 bits whose primes `p` and
/// `q` are each half the modulus size (so RFC 9421's `test-key-rsa`, with
/// unbalanced primes, is refused; its public key loads); EC private keys
/// must carry their public key (OpenSSL always writes it); RSA keys cannot
/// be generated here.
///
/// ```
/// use tresor_httpsig::{Algorithm, PrivateKey, SigningKey, VerifyingKey};
///
/// let key = PrivateKey::generate(Algorithm::EcdsaP256Sha256)?;
/// let pem = key.to_pkcs8_pem();
/// let loaded = PrivateKey::from_pem(&pem)?;
/// assert_eq!(loaded.algorithm(), Algorithm::EcdsaP256Sha256);
/// let signature = loaded.sign(b"signature base")?;
/// key.public_key().verify(b"signature base", &signature)?;
/// # Ok::<(), tresor_httpsig::Error>(())
/// ```
pub struct PrivateKey {
    alg: Algorithm,
    signer: Signer,
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

impl PrivateKey {
    /// Loads a PEM private key: PKCS#8 `PRIVATE KEY` (Ed25519, P-256,
    /// P-384, RSA), SEC1 `EC PRIVATE KEY` (P-256, P-384) or PKCS#1
    /// `RSA PRIVATE KEY`. The algorithm follows from the key, except for RSA
    /// keys: use [`from_pem_with_alg`](Self::from_pem_with_alg) with
    /// `rsa-pss-sha512` or `rsa-v1_5-sha256` (a PKCS#8 `id-RSASSA-PSS` key is
    /// `rsa-pss-sha512`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for bad PEM/DER, an encrypted or unsupported
    /// key, inconsistent components, an RSA key outside 2048 to 4096 bits,
    /// or an RSA key without a chosen algorithm.
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_inner(pem, None)
    }

    /// Loads a PEM private key for `alg`, which must fit the key.
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
            "PRIVATE KEY" => Self::from_pkcs8(&der, alg),
            "EC PRIVATE KEY" => Self::from_sec1(&der, None, alg, None),
            "RSA PRIVATE KEY" => {
                Self::from_pkcs1(&der, KeyKind::Rsa { pss_only: false }, alg, None)
            }
            "ENCRYPTED PRIVATE KEY" => Err(invalid(
                "encrypted PKCS#8 keys are not supported: decrypt the key first",
            )),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {
                Err(invalid("this is a public key: load it with PublicKey"))
            }
            other => Err(invalid(format!(
                "unsupported PEM label {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    /// Loads a DER PKCS#8 private key; see [`from_pem`](Self::from_pem).
    ///
    /// # Errors
    ///
    /// As [`from_pem_with_alg`](Self::from_pem_with_alg).
    pub fn from_pkcs8_der(der: &[u8], alg: Option<Algorithm>) -> Result<Self> {
        Self::from_pkcs8(der, alg)
    }

    fn from_pkcs8(der: &[u8], alg: Option<Algorithm>) -> Result<Self> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|e| der_error("PKCS#8", e))?;
        let oid = info.algorithm.oid;
        let params = info.algorithm.parameters;
        let inner = info.private_key.as_bytes();
        if oid == OID_ED25519 {
            let alg = KeyKind::Ed25519.resolve(alg)?;
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| rejected("Ed25519 private key", e))?;
            let public = Material::ed25519(pair.public_key().as_ref())?;
            Self::assemble(alg, Signer::Ed25519(pair), der.to_vec(), public)
        } else if oid == OID_EC_PUBLIC_KEY {
            let kind = ec_curve(params)?;
            Self::from_sec1(inner, Some(kind), alg, Some(der))
        } else if oid == OID_RSA_ENCRYPTION || oid == OID_RSASSA_PSS {
            let kind = rsa_kind(&oid, params)?;
            Self::from_pkcs1(inner, kind, alg, Some(der))
        } else {
            Err(invalid(format!("unsupported private key algorithm {oid}")))
        }
    }

    /// A SEC1 `ECPrivateKey`, alone (`outer` = None) or inside PKCS#8.
    fn from_sec1(
        sec1_der: &[u8],
        outer: Option<KeyKind>,
        alg: Option<Algorithm>,
        pkcs8: Option<&[u8]>,
    ) -> Result<Self> {
        let ec = sec1::EcPrivateKey::from_der(sec1_der).map_err(|e| der_error("SEC1", e))?;
        let inner = ec
            .parameters
            .and_then(|p| p.named_curve())
            .map(|oid| curve_from_oid(&oid))
            .transpose()?;
        let kind = match (outer, inner) {
            (Some(o), Some(i)) if o != i => {
                return Err(invalid("the PKCS#8 and SEC1 curves disagree"));
            }
            (Some(kind), _) | (None, Some(kind)) => kind,
            (None, None) => return Err(invalid("EC private key without a named curve")),
        };
        let public = ec
            .public_key
            .ok_or_else(|| invalid("EC private keys without their public key are not supported"))?;
        let alg = kind.resolve(alg)?;
        let (signing_alg, size) = ecdsa_signing(kind)?;
        let scalar = left_pad(ec.private_key, size)?;
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            signing_alg,
            &scalar,
            public,
            &SystemRandom::new(),
        )
        .map_err(|e| rejected("EC private key", e))?;
        let material = Material::ec_point(kind, pair.public_key().as_ref())?;
        let pkcs8 = match pkcs8 {
            Some(der) => der.to_vec(),
            None => wrap_pkcs8(kind, sec1_der, None)?,
        };
        Self::assemble(alg, Signer::Ecdsa(pair), pkcs8, material)
    }

    /// A PKCS#1 `RSAPrivateKey`, alone or inside PKCS#8.
    fn from_pkcs1(
        pkcs1_der: &[u8],
        kind: KeyKind,
        alg: Option<Algorithm>,
        pkcs8: Option<&[u8]>,
    ) -> Result<Self> {
        let alg = kind.resolve(alg)?;
        let pair = RsaKeyPair::from_der(pkcs1_der).map_err(rsa_rejected)?;
        let pkcs8 = match pkcs8 {
            Some(der) => der.to_vec(),
            None => wrap_pkcs8(kind, pkcs1_der, None)?,
        };
        Self::assemble_rsa(alg, pair, pkcs8)
    }

    fn assemble_rsa(alg: Algorithm, pair: RsaKeyPair, pkcs8: Vec<u8>) -> Result<Self> {
        let components: PublicKeyComponents<Vec<u8>> = pair.public().into();
        let rsa = RsaPublic::new(&components.n, &components.e)?;
        Self::assemble(alg, Signer::Rsa(pair), pkcs8, Material::Rsa(rsa))
    }

    fn assemble(alg: Algorithm, signer: Signer, pkcs8: Vec<u8>, public: Material) -> Result<Self> {
        let pkcs8 = Zeroizing::new(pkcs8);
        let kind = public.kind();
        let public = PublicKey::from_material(public, kind, Some(alg))?;
        Ok(Self {
            alg,
            signer,
            pkcs8,
            public,
        })
    }

    /// Loads a private JWK: `EC` (P-256, P-384) or `OKP` (Ed25519) with `d`,
    /// or `RSA` with `d`, `p`, `q`, `dp`, `dq`, `qi` (single-prime only). The
    /// private and public members must be consistent. `alg`, `use` and
    /// `key_ops` are checked as for [`PublicKey::from_jwk`] (`key_ops` must
    /// include `sign`); an RSA JWK needs `alg` or
    /// [`from_jwk_with_alg`](Self::from_jwk_with_alg).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`], [`Error::UnsupportedAlgorithm`] or
    /// [`Error::AlgorithmNotAllowed`].
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        Self::from_jwk_inner(jwk, None)
    }

    /// Loads a private JWK for `alg`, which must fit the key and agree with
    /// the JWK's own `alg` if it has one.
    ///
    /// # Errors
    ///
    /// As [`from_jwk`](Self::from_jwk).
    pub fn from_jwk_with_alg(jwk: &str, alg: Algorithm) -> Result<Self> {
        Self::from_jwk_inner(jwk, Some(alg))
    }

    fn from_jwk_inner(text: &str, requested: Option<Algorithm>) -> Result<Self> {
        let parsed = jwk::parse(text, Expect::Private)?;
        let alg = parsed
            .kind
            .resolve(jwk::merge_alg(parsed.alg, requested)?)?;
        let Some(private) = parsed.private else {
            return Err(invalid("a private JWK needs the member \"d\""));
        };
        match (&parsed.public, private) {
            (Material::Ed25519(x), PrivateParts::Scalar(seed)) => {
                let pair = Ed25519KeyPair::from_seed_and_public_key(&seed, x)
                    .map_err(|e| rejected("Ed25519 JWK", e))?;
                let inner = Zeroizing::new(
                    OctetStringRef::new(&seed)
                        .and_then(|o| o.to_der())
                        .map_err(|e| der_error("PKCS#8", e))?,
                );
                let pkcs8 = wrap_pkcs8(KeyKind::Ed25519, &inner, Some(x))?;
                Self::assemble(alg, Signer::Ed25519(pair), pkcs8, parsed.public.clone())
            }
            (Material::P256(point) | Material::P384(point), PrivateParts::Scalar(d)) => {
                let kind = parsed.kind;
                let (signing_alg, _) = ecdsa_signing(kind)?;
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    signing_alg,
                    &d,
                    point,
                    &SystemRandom::new(),
                )
                .map_err(|e| rejected("EC JWK", e))?;
                let sec1 = Zeroizing::new(
                    sec1::EcPrivateKey {
                        private_key: &d,
                        parameters: None,
                        public_key: Some(point),
                    }
                    .to_der()
                    .map_err(|e| der_error("SEC1", e))?,
                );
                let pkcs8 = wrap_pkcs8(kind, &sec1, None)?;
                Self::assemble(alg, Signer::Ecdsa(pair), pkcs8, parsed.public.clone())
            }
            (Material::Rsa(rsa), PrivateParts::Rsa(parts)) => {
                let pair = RsaKeyPair::from_components(&KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: rsa.n.as_slice(),
                        e: rsa.e.as_slice(),
                    },
                    d: parts.d.as_slice(),
                    p: parts.p.as_slice(),
                    q: parts.q.as_slice(),
                    dP: parts.dp.as_slice(),
                    dQ: parts.dq.as_slice(),
                    qInv: parts.qi.as_slice(),
                })
                .map_err(rsa_rejected)?;
                let mut encoded: Vec<Zeroizing<Vec<u8>>> = Vec::with_capacity(9);
                encoded.push(Zeroizing::new(
                    0u8.to_der().map_err(|e| der_error("RSAPrivateKey", e))?,
                ));
                for int in [
                    rsa.n.as_slice(),
                    rsa.e.as_slice(),
                    &parts.d,
                    &parts.p,
                    &parts.q,
                    &parts.dp,
                    &parts.dq,
                    &parts.qi,
                ] {
                    let der = UintRef::new(int)
                        .and_then(|u| u.to_der())
                        .map_err(|e| der_error("RSAPrivateKey", e))?;
                    encoded.push(Zeroizing::new(der));
                }
                let refs: Vec<&[u8]> = encoded.iter().map(|v| v.as_slice()).collect();
                let pkcs1 = Zeroizing::new(der_sequence(&refs)?);
                let pkcs8 = wrap_pkcs8(KeyKind::Rsa { pss_only: false }, &pkcs1, None)?;
                Self::assemble_rsa(alg, pair, pkcs8)
            }
            _ => Err(invalid("JWK private members do not fit its key type")),
        }
    }

    /// Generates a new key from the system's secure random generator:
    /// `ed25519`, `ecdsa-p256-sha256` or `ecdsa-p384-sha384`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedAlgorithm`] for RSA (generate RSA keys with an
    /// HSM or `openssl genpkey`) and HMAC (see [`HmacKey`](crate::HmacKey));
    /// [`Error::Signing`] if the random generator fails.
    pub fn generate(alg: Algorithm) -> Result<Self> {
        let rng = SystemRandom::new();
        let rng_failed =
            |_| Error::signing("key generation failed: the system random generator failed");
        let doc = match alg {
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng).map_err(rng_failed)?,
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(rng_failed)?
            }
            Algorithm::EcdsaP384Sha384 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
                    .map_err(rng_failed)?
            }
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    alg: format!("{other} key generation"),
                });
            }
        };
        Self::from_pkcs8(doc.as_ref(), Some(alg))
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line
    /// endings), in a buffer wiped on drop. An RSA key is written with its
    /// original algorithm identifier; its signature algorithm is not
    /// recorded, so load it back with
    /// [`from_pem_with_alg`](Self::from_pem_with_alg).
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        encode_pem("PRIVATE KEY", &self.pkcs8)
            .expect("PEM encoding of a DER key of at most a few KiB cannot fail")
    }

    /// The key as DER PKCS#8, in a buffer wiped on drop.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }

    /// The matching public key (same algorithm).
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// The RFC 7638 thumbprint of the public key.
    pub fn thumbprint(&self) -> String {
        self.public.thumbprint()
    }
}

impl SigningKey for PrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn sign(&self, base: &[u8]) -> Result<Vec<u8>> {
        let failed = |what: &str| Error::signing(format!("{what} signing failed"));
        match &self.signer {
            Signer::Ed25519(pair) => Ok(pair.sign(base).as_ref().to_vec()),
            Signer::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), base)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| failed("ECDSA")),
            Signer::Rsa(pair) => {
                let padding: &'static dyn RsaEncoding = match self.alg {
                    Algorithm::RsaV15Sha256 => &signature::RSA_PKCS1_SHA256,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(padding, &SystemRandom::new(), base, &mut sig)
                    .map_err(|_| failed("RSA"))?;
                Ok(sig)
            }
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

fn ecdsa_signing(kind: KeyKind) -> Result<(&'static EcdsaSigningAlgorithm, usize)> {
    match kind {
        KeyKind::P256 => Ok((&signature::ECDSA_P256_SHA256_FIXED_SIGNING, 32)),
        KeyKind::P384 => Ok((&signature::ECDSA_P384_SHA384_FIXED_SIGNING, 48)),
        _ => Err(invalid("not an EC key")),
    }
}

/// Left-pads a big-endian scalar to the field size (some encoders drop
/// leading zero bytes, which SEC1 forbids but which is harmless).
fn left_pad(scalar: &[u8], size: usize) -> Result<Zeroizing<Vec<u8>>> {
    let pad = size
        .checked_sub(scalar.len())
        .ok_or_else(|| invalid("EC private scalar is longer than the curve's field"))?;
    let mut out = Zeroizing::new(vec![0u8; pad]);
    out.extend_from_slice(scalar);
    Ok(out)
}

fn rsa_rejected(e: ring::error::KeyRejected) -> Error {
    match e.to_string().as_str() {
        "TooSmall" => invalid("RSA key is too small (at least 2048 bits)"),
        "TooLarge" => invalid("RSA private key is too large (at most 4096 bits for signing)"),
        "InconsistentComponents" => invalid(
            "RSA private key rejected: inconsistent components (ring also requires \
             p and q of exactly half the modulus size each)",
        ),
        _ => rejected("RSA private key", e),
    }
}

/// Wraps a key-type-specific private key in a PKCS#8 `PrivateKeyInfo`.
fn wrap_pkcs8(kind: KeyKind, inner: &[u8], public: Option<&[u8]>) -> Result<Vec<u8>> {
    let (oid, parameters) = spki_algorithm(kind);
    let public_key = public
        .map(BitStringRef::from_bytes)
        .transpose()
        .map_err(|e| der_error("PKCS#8", e))?;
    let info = PrivateKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        private_key: OctetStringRef::new(inner).map_err(|e| der_error("PKCS#8", e))?,
        public_key,
    };
    info.to_der().map_err(|e| der_error("PKCS#8", e))
}
