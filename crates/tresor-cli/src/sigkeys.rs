//! Key files for HTTP message signatures: generating a key pair, loading a
//! signing or a verifying key.
//!
//! A key file holds one of:
//!
//! - a PEM key: a private key (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
//!   PKCS#1 `RSA PRIVATE KEY`) or a public key (SPKI `PUBLIC KEY`, PKCS#1
//!   `RSA PUBLIC KEY`);
//! - a JWK (a JSON object);
//! - anything else is taken as an `hmac-sha256` shared secret in standard
//!   Base64 (at least 32 bytes once decoded).
//!
//! The key decides the algorithm (Ed25519, P-256, P-384, HMAC) unless
//! `--alg` is given, which must then fit the key; RSA keys need `--alg`.
//! The file's text is wiped from memory once parsed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tresor_httpsig::{Algorithm, HmacKey, PrivateKey, PublicKey, SigningKey, VerifyingKey};

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
    /// A JSON Web Key.
    Jwk,
    /// Anything else: a Base64 HMAC secret.
    Secret,
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
            KeyText::Jwk
        } else {
            KeyText::Secret
        }
    }

    fn describe(self) -> &'static str {
        match self {
            KeyText::PemPrivate => "a PEM private key",
            KeyText::PemPublic => "a PEM public key",
            KeyText::Jwk => "a JWK",
            KeyText::Secret => "an hmac-sha256 secret",
        }
    }
}

/// Parses `--alg`: an RFC 9421 algorithm name.
pub(crate) fn algorithm(name: Option<&str>) -> Result<Option<Algorithm>> {
    name.map(|name| {
        name.parse::<Algorithm>().map_err(|_| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.name()).collect();
            CliError::Usage(format!(
                "invalid --alg {name:?}: expected one of {}",
                names.join(", ")
            ))
        })
    })
    .transpose()
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

/// The error for an RSA key loaded without `--alg`.
fn rsa_needs_alg(path: &Path) -> CliError {
    CliError::Usage(format!(
        "key file {path:?} holds an RSA key: give --alg rsa-pss-sha512 or --alg rsa-v1_5-sha256"
    ))
}

/// The error for `--alg` naming an algorithm the key cannot serve.
fn alg_mismatch(path: &Path, alg: Algorithm, kind: KeyText) -> CliError {
    CliError::Usage(format!(
        "--alg {alg} does not fit key file {path:?}, which holds {}",
        kind.describe()
    ))
}

/// Loads an HMAC secret, with a clear error for a file that holds nothing
/// recognisable.
fn hmac(path: &Path, text: &str, alg: Option<Algorithm>) -> Result<HmacKey> {
    match alg {
        None | Some(Algorithm::HmacSha256) => {}
        Some(alg) => return Err(alg_mismatch(path, alg, KeyText::Secret)),
    }
    HmacKey::from_base64(text).map_err(|err| {
        if alg.is_none() && !text.trim().is_empty() && err.to_string().contains("Base64") {
            CliError::Usage(format!(
                "key file {path:?} holds neither a PEM key, a JWK nor a Base64 hmac-sha256 secret"
            ))
        } else {
            key_error(path, err)
        }
    })
}

/// Loads the signing key in `path` for `alg` (or the key's own algorithm).
pub(crate) fn signing_key(path: &Path, alg: Option<Algorithm>) -> Result<Arc<dyn SigningKey>> {
    let text = read_small_text(path, MAX_KEY_FILE, "key file")?;
    let kind = KeyText::of(&text);
    if alg == Some(Algorithm::HmacSha256) && kind != KeyText::Secret {
        return Err(alg_mismatch(path, Algorithm::HmacSha256, kind));
    }
    let load = |alg: Option<Algorithm>| match (kind, alg) {
        (KeyText::Jwk, None) => PrivateKey::from_jwk(&text),
        (KeyText::Jwk, Some(alg)) => PrivateKey::from_jwk_with_alg(&text, alg),
        (_, None) => PrivateKey::from_pem(&text),
        (_, Some(alg)) => PrivateKey::from_pem_with_alg(&text, alg),
    };
    match kind {
        KeyText::Secret => Ok(Arc::new(hmac(path, &text, alg)?)),
        KeyText::PemPublic => Err(CliError::Usage(format!(
            "key file {path:?} holds a public key: signing needs the private key"
        ))),
        KeyText::PemPrivate | KeyText::Jwk => match load(alg) {
            Ok(key) => Ok(Arc::new(key)),
            Err(_) if alg.is_none() && is_rsa(load) => Err(rsa_needs_alg(path)),
            Err(err) => Err(key_error(path, err)),
        },
    }
}

/// Loads the verifying key in `path` for `alg` (or the key's own
/// algorithm). A private key is accepted too: its public key verifies.
pub(crate) fn verifying_key(path: &Path, alg: Option<Algorithm>) -> Result<Arc<dyn VerifyingKey>> {
    let text = read_small_text(path, MAX_KEY_FILE, "key file")?;
    let kind = KeyText::of(&text);
    if alg == Some(Algorithm::HmacSha256) && kind != KeyText::Secret {
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
        KeyText::Secret => Ok(Arc::new(hmac(path, &text, alg)?)),
        KeyText::PemPrivate | KeyText::PemPublic | KeyText::Jwk => match load(alg) {
            Ok(key) => Ok(Arc::new(key)),
            Err(_) if alg.is_none() && is_rsa(load) => Err(rsa_needs_alg(path)),
            Err(err) => Err(key_error(path, err)),
        },
    }
}

/// Parses `key generate --alg`: `ed25519`, `ecdsa-p256` or `ecdsa-p384`
/// (the RFC 9421 names `ecdsa-p256-sha256` and `ecdsa-p384-sha384` too).
pub(crate) fn generate_algorithm(name: &str) -> Result<Algorithm> {
    match name {
        "ed25519" => Ok(Algorithm::Ed25519),
        "ecdsa-p256" | "ecdsa-p256-sha256" => Ok(Algorithm::EcdsaP256Sha256),
        "ecdsa-p384" | "ecdsa-p384-sha384" => Ok(Algorithm::EcdsaP384Sha384),
        _ => Err(CliError::Usage(format!(
            "invalid --alg {name:?}: expected ed25519, ecdsa-p256 or ecdsa-p384 \
             (RSA keys come from an HSM or `openssl genpkey`; an hmac-sha256 secret is 32 \
             random bytes in Base64)"
        ))),
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
        assert_eq!(KeyText::of("c2VjcmV0"), KeyText::Secret);
    }

    #[test]
    fn algorithms() {
        assert_eq!(algorithm(None).unwrap(), None);
        assert_eq!(
            algorithm(Some("rsa-pss-sha512")).unwrap(),
            Some(Algorithm::RsaPssSha512)
        );
        assert!(algorithm(Some("rsa")).is_err());
        assert_eq!(
            generate_algorithm("ecdsa-p256").unwrap(),
            Algorithm::EcdsaP256Sha256
        );
        assert!(generate_algorithm("hmac-sha256").is_err());
        assert_eq!(
            public_path(Path::new("dir/a.key")),
            PathBuf::from("dir/a.key.pub")
        );
    }
}
