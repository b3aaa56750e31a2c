//! Key files for HTTP message signatures: generating a key pair, loading a
//! signing or a verifying key.
//!
//! A key file holds one of:
//!
//! - a PEM key: a private key (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
//!   PKCS#1 `RSA PRIVATE KEY`) or a public key (SPKI `PUBLIC KEY`, PKCS#1
//!   `RSA PUBLIC KEY`);
//! - a JWK (a JSON object): an asymmetric key (`kty` `OKP`, `EC`, `RSA`), or
//!   an `hmac-sha256` secret as a symmetric JWK (`"kty":"oct"`, RFC 7518
//!   section 6.4, `alg` `HS256` when present);
//! - with `--alg hmac-sha256` only: an `hmac-sha256` shared secret in
//!   standard Base64 (at least 32 bytes once decoded).
//!
//! **A secret is never inferred.** A file that is neither PEM nor JSON is
//! refused unless `--alg hmac-sha256` says it is a secret, because a public
//! key stored as bare Base64 (DER SPKI, as many KMS and HSM APIs export it,
//! or a raw EC point) would otherwise become an HMAC key, and anyone who
//! knows the public key could forge signatures under it. Even with
//! `--alg hmac-sha256`, decoded bytes shaped like a key (a DER `SEQUENCE`
//! spanning the whole input, or a SEC1 EC point) are refused. (A raw
//! 32-byte Ed25519 public key cannot be told apart from a random secret:
//! that is why the flag is required.)
//!
//! The key decides the algorithm (Ed25519, P-256, P-384; HMAC for a
//! symmetric JWK) unless `--alg` is given, which must then fit the key; RSA
//! keys need `--alg`. The file's text is wiped from memory once parsed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use tresor_httpsig::{Algorithm, HmacKey, PrivateKey, PublicKey, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::error::{CliError, Result};
use crate::input::read_small_text;
use crate::output::Output;

/// The largest key file read, in bytes (an 8192-bit RSA private key in PEM
/// is about 6.5 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// What a key file holds, judged from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyText {
    /// A PEM private key.
    PemPrivate,
    /// A PEM public key (or any other PEM block).
    PemPublic,
    /// A JSON Web Key of an asymmetric key type.
    Jwk,
    /// A symmetric JSON Web Key (`"kty":"oct"`): an HMAC secret that says
    /// so itself.
    OctJwk,
    /// Anything else: a Base64 HMAC secret if, and only if, `--alg
    /// hmac-sha256` says so.
    Base64,
}

impl KeyText {
    fn of(text: &str) -> Self {
        let text = text.trim_start();
        if let Some(rest) = text.strip_prefix("-----BEGIN ") {
            let label = rest.split("-----").next().unwrap_or_default();
            if label.ends_with("PRIVATE KEY") {
                KeyText::PemPrivate
            } else {
                KeyText::PemPublic
            }
        } else if text.starts_with('{') {
            // Only `kty` is read: the other members (a secret among them)
            // are skipped, not copied.
            let kty = serde_json::from_str::<JwkType>(text)
                .ok()
                .and_then(|j| j.kty);
            if kty.as_deref() == Some("oct") {
                KeyText::OctJwk
            } else {
                KeyText::Jwk
            }
        } else {
            KeyText::Base64
        }
    }

    fn describe(self) -> &'static str {
        match self {
            KeyText::PemPrivate => "a PEM private key",
            KeyText::PemPublic => "a PEM public key",
            KeyText::Jwk => "an asymmetric JWK",
            KeyText::OctJwk => "a symmetric (oct) JWK, an hmac-sha256 secret",
            KeyText::Base64 => "neither a PEM key nor a JWK",
        }
    }

    /// Whether the file holds an HMAC secret (given `--alg`).
    fn is_secret(self, alg: Option<Algorithm>) -> bool {
        match self {
            KeyText::OctJwk => true,
            KeyText::Base64 => alg == Some(Algorithm::HmacSha256),
            KeyText::PemPrivate | KeyText::PemPublic | KeyText::Jwk => false,
        }
    }
}

fn key_error(path: &Path, source: tresor_httpsig::Error) -> CliError {
    CliError::SigKeyFile {
        path: path.to_owned(),
        source,
    }
}

/// Whether a key that failed to load without `--alg` is an RSA key: asked
/// for Ed25519, the library names the key's kind.
fn is_rsa<T>(load: impl Fn(Option<Algorithm>) -> tresor_httpsig::Result<T>) -> bool {
    match load(Some(Algorithm::Ed25519)) {
        Err(tresor_httpsig::Error::AlgorithmNotAllowed { key_alg, .. }) => {
            key_alg.starts_with("rsa")
        }
        _ => false,
    }
}

/// The `--alg` values an RSA key takes in `http sign` and `http verify`.
const RSA_ALGS: &str = "--alg rsa-pss-sha512 or --alg rsa-v1_5-sha256";

/// The error for an RSA key loaded without `--alg` (`algs`: what to give).
fn rsa_needs_alg(path: &Path, algs: &str) -> CliError {
    CliError::Usage(format!("key file {path:?} holds an RSA key: give {algs}"))
}

/// The error for `--alg` naming an algorithm the key cannot serve.
fn alg_mismatch(path: &Path, alg: Algorithm, kind: KeyText) -> CliError {
    CliError::Usage(format!(
        "--alg {alg} does not fit key file {path:?}, which holds {}",
        kind.describe()
    ))
}

/// The error for a file that is neither PEM nor JSON, read without
/// `--alg hmac-sha256`.
fn secret_not_inferred(path: &Path, alg: Option<Algorithm>) -> CliError {
    match alg {
        Some(alg) => CliError::Usage(format!(
            "--alg {alg} does not fit key file {path:?}, which holds neither a PEM key nor a \
             JWK (only an hmac-sha256 secret may be bare Base64)"
        )),
        None => CliError::Usage(format!(
            "key file {path:?} holds neither a PEM key nor a JWK; if it holds an hmac-sha256 \
             secret in Base64, say so with --alg hmac-sha256 (a secret is never inferred, so \
             a public key cannot be taken for one)"
        )),
    }
}

/// What decoded secret bytes look like when they are in fact a key, if
/// they do: a DER `SEQUENCE` spanning the whole input (SPKI, PKCS#1,
/// PKCS#8, SEC1 private keys all are one), or a SEC1 EC point of a NIST
/// curve (P-256, P-384, P-521; compressed or not).
fn key_shape(bytes: &[u8]) -> Option<&'static str> {
    if let [0x30, len, rest @ ..] = bytes {
        let spans = match *len {
            n @ 0..=0x7f => usize::from(n) == rest.len(),
            n @ 0x81..=0x84 => {
                let count = usize::from(n & 0x7f);
                rest.get(..count).is_some_and(|octets| {
                    let value = octets.iter().fold(0usize, |acc, &o| {
                        acc.saturating_mul(256).saturating_add(usize::from(o))
                    });
                    rest.len().checked_sub(count) == Some(value)
                })
            }
            _ => false,
        };
        if spans {
            return Some("a DER-encoded key (an ASN.1 SEQUENCE, such as an SPKI public key)");
        }
    }
    match (bytes.first(), bytes.len()) {
        (Some(0x04), 65 | 97 | 133) | (Some(0x02 | 0x03), 33 | 49 | 67) => {
            Some("an EC public key (a SEC1 point)")
        }
        _ => None,
    }
}

/// Loads the HMAC secret of a file that holds one (see
/// [`KeyText::is_secret`]).
fn hmac(path: &Path, text: &str, kind: KeyText, alg: Option<Algorithm>) -> Result<HmacKey> {
    match alg {
        None | Some(Algorithm::HmacSha256) => {}
        Some(alg) => return Err(alg_mismatch(path, alg, kind)),
    }
    let secret = match kind {
        KeyText::OctJwk => oct_jwk_secret(path, text)?,
        _ => Zeroizing::new(Base64::decode_vec(text.trim()).map_err(|_| {
            CliError::Usage(format!(
                "key file {path:?} is not an hmac-sha256 secret in standard Base64"
            ))
        })?),
    };
    if let Some(shape) = key_shape(&secret) {
        return Err(CliError::Usage(format!(
            "key file {path:?} holds {shape}, not an hmac-sha256 secret: refusing to use a key \
             as a shared secret"
        )));
    }
    HmacKey::new(&secret).map_err(|err| key_error(path, err))
}

/// The `kty` member of a JWK (the others are skipped).
#[derive(serde::Deserialize)]
struct JwkType {
    kty: Option<String>,
}

/// The members of a symmetric JWK that matter here.
#[derive(serde::Deserialize)]
struct OctJwk {
    k: Option<String>,
    alg: Option<String>,
}

/// The secret of a symmetric JWK: `kty` `oct`, `k` in base64url, `alg`
/// `HS256` when present.
fn oct_jwk_secret(path: &Path, text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bad = |what: &str| CliError::Usage(format!("key file {path:?}: {what}"));
    let jwk: OctJwk = serde_json::from_str(text).map_err(|_| bad("the JWK is not valid"))?;
    let k = Zeroizing::new(jwk.k.unwrap_or_default());
    match jwk.alg.as_deref() {
        None | Some("HS256") => {}
        Some(_) => return Err(bad("a symmetric JWK must have alg HS256 (hmac-sha256)")),
    }
    if k.is_empty() {
        return Err(bad("a symmetric JWK needs its secret in member \"k\""));
    }
    let secret = Base64UrlUnpadded::decode_vec(&k)
        .map_err(|_| bad("member \"k\" of the JWK is not base64url without padding"))?;
    Ok(Zeroizing::new(secret))
}

/// Loads the signing key in `path` for `alg` (or the key's own algorithm):
/// a key file, or an ECDSA P-256 or Ed25519 key in a token named by a
/// `pkcs11:` URI.
pub(crate) fn signing_key(path: &Path, alg: Option<Algorithm>) -> Result<Arc<dyn SigningKey>> {
    if let Some(uri) = crate::hsm::uri(path)? {
        let key = tresor_pkcs11::Pkcs11SigningKey::open(&uri)?;
        let own = Algorithm::from(key.algorithm());
        if let Some(alg) = alg.filter(|alg| *alg != own) {
            return Err(CliError::Usage(format!(
                "--alg {alg}: the token key object={} signs with {own}",
                uri.object().unwrap_or("(any)")
            )));
        }
        return Ok(Arc::new(key));
    }
    let text = read_small_text(path, MAX_KEY_FILE, "key file")?;
    let kind = KeyText::of(&text);
    if kind.is_secret(alg) {
        return Ok(Arc::new(hmac(path, &text, kind, alg)?));
    }
    if alg == Some(Algorithm::HmacSha256) {
        return Err(alg_mismatch(path, Algorithm::HmacSha256, kind));
    }
    Ok(Arc::new(asymmetric(path, &text, kind, alg, RSA_ALGS)?))
}

/// Loads the private key in `path` (PEM or asymmetric JWK) for `alg` (or
/// the key's own algorithm): never a shared secret. For what only a key
/// pair can do, such as a client assertion; `rsa_algs` says which `--alg`
/// an RSA key needs.
pub(crate) fn private_key(
    path: &Path,
    alg: Option<Algorithm>,
    rsa_algs: &str,
) -> Result<PrivateKey> {
    let text = read_small_text(path, MAX_KEY_FILE, "key file")?;
    let kind = KeyText::of(&text);
    if matches!(kind, KeyText::Base64 | KeyText::OctJwk) || alg == Some(Algorithm::HmacSha256) {
        return Err(CliError::Usage(format!(
            "key file {path:?} holds {}: this needs a private key (PEM or JWK), never a \
             shared secret",
            kind.describe()
        )));
    }
    asymmetric(path, &text, kind, alg, rsa_algs)
}

/// The private key in `text`, from a file of `kind` that is not a secret.
fn asymmetric(
    path: &Path,
    text: &str,
    kind: KeyText,
    alg: Option<Algorithm>,
    rsa_algs: &str,
) -> Result<PrivateKey> {
    let load = |alg: Option<Algorithm>| match (kind, alg) {
        (KeyText::Jwk, None) => PrivateKey::from_jwk(text),
        (KeyText::Jwk, Some(alg)) => PrivateKey::from_jwk_with_alg(text, alg),
        (_, None) => PrivateKey::from_pem(text),
        (_, Some(alg)) => PrivateKey::from_pem_with_alg(text, alg),
    };
    match kind {
        KeyText::Base64 | KeyText::OctJwk => Err(secret_not_inferred(path, alg)),
        KeyText::PemPublic => Err(CliError::Usage(format!(
            "key file {path:?} holds a public key: signing needs the private key"
        ))),
        KeyText::PemPrivate | KeyText::Jwk => match load(alg) {
            Ok(key) => Ok(key),
            Err(_) if alg.is_none() && is_rsa(load) => Err(rsa_needs_alg(path, rsa_algs)),
            Err(err) => Err(key_error(path, err)),
        },
    }
}

/// Loads the verifying key in `path` for `alg` (or the key's own
/// algorithm). A private key is accepted too: its public key verifies.
pub(crate) fn verifying_key(path: &Path, alg: Option<Algorithm>) -> Result<Arc<dyn VerifyingKey>> {
    let text = read_small_text(path, MAX_KEY_FILE, "key file")?;
    let kind = KeyText::of(&text);
    if kind.is_secret(alg) {
        return Ok(Arc::new(hmac(path, &text, kind, alg)?));
    }
    if alg == Some(Algorithm::HmacSha256) {
        return Err(alg_mismatch(path, Algorithm::HmacSha256, kind));
    }
    let load = |alg: Option<Algorithm>| match (kind, alg) {
        (KeyText::PemPrivate, None) => PrivateKey::from_pem(&text).map(|key| key.public_key()),
        (KeyText::PemPrivate, Some(alg)) => {
            PrivateKey::from_pem_with_alg(&text, alg).map(|key| key.public_key())
        }
        (KeyText::Jwk, None) => PublicKey::from_jwk(&text),
        (KeyText::Jwk, Some(alg)) => PublicKey::from_jwk_with_alg(&text, alg),
        (_, None) => PublicKey::from_pem(&text),
        (_, Some(alg)) => PublicKey::from_pem_with_alg(&text, alg),
    };
    match kind {
        KeyText::Base64 | KeyText::OctJwk => Err(secret_not_inferred(path, alg)),
        KeyText::PemPrivate | KeyText::PemPublic | KeyText::Jwk => match load(alg) {
            Ok(key) => Ok(Arc::new(key)),
            Err(_) if alg.is_none() && is_rsa(load) => Err(rsa_needs_alg(path, RSA_ALGS)),
            Err(err) => Err(key_error(path, err)),
        },
    }
}

/// The public key file for private key file `out`: `out` with `.pub`
/// appended.
pub(crate) fn public_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Generates a key pair for `alg`: writes the PKCS#8 private key PEM to
/// `out` (mode 0600) and the SPKI public key PEM to `out.pub` (mode 0644),
/// never overwriting either, and returns the public key.
///
/// Both files are written to temporary files and renamed into place; the
/// private key is placed first, and removed again if the public key cannot
/// be placed, so a failure leaves neither.
pub(crate) fn generate(out: &Path, alg: Algorithm) -> Result<PublicKey> {
    let public_out = public_path(out);
    for path in [out, public_out.as_path()] {
        if path.symlink_metadata().is_ok() {
            return Err(CliError::Usage(format!(
                "{path:?} exists already: refusing to overwrite it"
            )));
        }
    }
    let key = PrivateKey::generate(alg)?;
    let public = key.public_key();

    let mut output = Output::create_new(out, 0o600)?;
    output
        .write_all(key.to_pkcs8_pem().as_bytes())
        .map_err(|err| CliError::file("cannot write key file", out, err))?;
    output.finish()?;

    let placed = Output::create_new(&public_out, 0o644).and_then(|mut output| {
        output
            .write_all(public.to_spki_pem().as_bytes())
            .map_err(|err| CliError::file("cannot write key file", &public_out, err))?;
        output.finish()
    });
    if let Err(err) = placed {
        // The private key file is ours (just created): take it back.
        let _ = std::fs::remove_file(out);
        return Err(err);
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_kinds() {
        assert_eq!(
            KeyText::of("-----BEGIN PRIVATE KEY-----\n"),
            KeyText::PemPrivate
        );
        assert_eq!(
            KeyText::of("\n-----BEGIN EC PRIVATE KEY-----\n"),
            KeyText::PemPrivate
        );
        assert_eq!(
            KeyText::of("-----BEGIN PUBLIC KEY-----\n"),
            KeyText::PemPublic
        );
        assert_eq!(KeyText::of(" {\"kty\":\"OKP\"}"), KeyText::Jwk);
        assert_eq!(KeyText::of("{\"kty\":\"oct\",\"k\":\"\"}"), KeyText::OctJwk);
        assert_eq!(KeyText::of("c2VjcmV0"), KeyText::Base64);
        assert!(!KeyText::Base64.is_secret(None));
        assert!(KeyText::Base64.is_secret(Some(Algorithm::HmacSha256)));
        assert!(KeyText::OctJwk.is_secret(None));
    }

    #[test]
    fn key_shapes() {
        // A P-256 SPKI (91 bytes: SEQUENCE, short length 0x59).
        let mut spki = vec![0x30, 0x59];
        spki.extend_from_slice(&[0; 0x59]);
        assert!(key_shape(&spki).is_some());
        // A long-form length (an RSA SPKI).
        let mut rsa = vec![0x30, 0x82, 0x01, 0x22];
        rsa.extend_from_slice(&[0; 0x122]);
        assert!(key_shape(&rsa).is_some());
        // SEC1 points.
        let mut point = vec![0x04];
        point.extend_from_slice(&[1; 64]);
        assert!(key_shape(&point).is_some());
        assert!(key_shape(&[0x02; 33]).is_some());
        // Random-looking secrets.
        assert!(key_shape(&[0x5a; 32]).is_none());
        // 0x30 but a length that does not span the input.
        let mut not_der = vec![0x30, 0x10];
        not_der.extend_from_slice(&[0; 30]);
        assert!(key_shape(&not_der).is_none());
        assert!(key_shape(&[]).is_none());
    }

    #[test]
    fn public_paths() {
        assert_eq!(
            public_path(Path::new("dir/a.key")),
            PathBuf::from("dir/a.key.pub")
        );
    }
}
