//! An in-process key-encryption key.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};
use base64ct::{Base64, Encoding};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::kek::validate_key_id;
use crate::{DEK_LEN, DataKey, Error, KeyEncryptionKey, Result};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Length of a key wrapped by a [`LocalKek`]: nonce, wrapped key, tag.
pub const LOCAL_WRAPPED_LEN: usize = NONCE_LEN + DEK_LEN + TAG_LEN;

const FILE_TAG: &str = "tresor-kek";
const FILE_VERSION: &str = "1";
const ALGORITHM: &str = "aes-256-gcm-siv";
const KCV_LABEL: &[u8] = b"tresor-envelope/v1 key check value";

/// A key-encryption key held in this process: AES-256-GCM-SIV key wrap.
///
/// Wrapping draws a random 96-bit nonce for every data key; GCM-SIV keeps
/// that safe even if nonces ever collide (it then reveals only whether the
/// same key was wrapped twice under the same AAD). Wrapped keys are
/// `nonce (12) || encrypted key (32) || tag (16)`.
///
/// Use it for development, tests, and deployments whose key store is a
/// mounted secret file; prefer a KMS or HSM key in production. The key is
/// wiped from memory on drop and never printed.
///
/// # Key file
///
/// [`LocalKek::save`] writes a small text file (mode 0600 on Unix; an existing
/// file is never overwritten):
///
/// ```text
/// # tresor key-encryption key: keep secret
/// tresor-kek: 1
/// id: kek-2f4c0a9d1e7b3c55
/// algorithm: aes-256-gcm-siv
/// key: <the 32-byte key in standard Base64 with padding>
/// check: <key check value: first 3 bytes, hex, of HMAC-SHA-256(key, "tresor-envelope/v1 key check value")>
/// ```
///
/// Lines starting with `#` and blank lines are ignored; every field must
/// appear exactly once, in any order; any other field is an error. The check
/// value catches a damaged or mistyped key before it is used.
pub struct LocalKek {
    id: String,
    key: Zeroizing<[u8; 32]>,
    cipher: Aes256GcmSiv,
    rng: SystemRandom,
}

impl LocalKek {
    /// Generates a new key from the operating system's random source.
    pub fn generate(id: impl Into<String>) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(key.as_mut_slice())
            .map_err(|_| Error::Rng)?;
        Self::from_bytes(id, key)
    }

    /// A key from raw bytes (for instance unsealed from a secret store).
    pub fn from_bytes(id: impl Into<String>, key: Zeroizing<[u8; 32]>) -> Result<Self> {
        let id = id.into();
        validate_key_id(&id)?;
        let cipher = Aes256GcmSiv::new(&(*key).into());
        Ok(LocalKek {
            id,
            key,
            cipher,
            rng: SystemRandom::new(),
        })
    }

    /// Generates a fresh id of the form `kek-` followed by 16 hex digits.
    pub fn random_id() -> Result<String> {
        let mut bytes = [0u8; 8];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Rng)?;
        Ok(format!("kek-{}", hex_lower(&bytes)))
    }

    /// Loads a key from a key file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let text = Zeroizing::new(std::fs::read(path.as_ref())?);
        let text =
            std::str::from_utf8(&text).map_err(|_| Error::InvalidKeyFile("not UTF-8 text"))?;
        Self::from_key_file(text)
    }

    /// Parses the key file format (see the type's docs).
    pub fn from_key_file(text: &str) -> Result<Self> {
        let mut fields: [Option<&str>; 5] = [None; 5];
        const NAMES: [&str; 5] = [FILE_TAG, "id", "algorithm", "key", "check"];
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or(Error::InvalidKeyFile("a line is not `name: value`"))?;
            let slot = NAMES
                .iter()
                .position(|n| *n == name.trim())
                .and_then(|i| fields.get_mut(i))
                .ok_or(Error::InvalidKeyFile("unknown field"))?;
            if slot.replace(value.trim()).is_some() {
                return Err(Error::InvalidKeyFile("repeated field"));
            }
        }
        let [
            Some(version),
            Some(id),
            Some(algorithm),
            Some(key_b64),
            Some(check),
        ] = fields
        else {
            return Err(Error::InvalidKeyFile(
                "missing field (tresor-kek, id, algorithm, key and check are required)",
            ));
        };
        if version != FILE_VERSION {
            return Err(Error::InvalidKeyFile("unsupported key file version"));
        }
        if algorithm != ALGORITHM {
            return Err(Error::InvalidKeyFile("unsupported algorithm"));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        let decoded = Base64::decode(key_b64, key.as_mut_slice())
            .map_err(|_| Error::InvalidKeyFile("key is not Base64 of 32 bytes"))?;
        if decoded.len() != 32 {
            return Err(Error::InvalidKeyFile("key is not Base64 of 32 bytes"));
        }
        let kek = Self::from_bytes(id, key)?;
        if !kek.check_value().eq_ignore_ascii_case(check) {
            return Err(Error::InvalidKeyFile(
                "check value does not match the key (damaged or mistyped key)",
            ));
        }
        Ok(kek)
    }

    /// Writes the key file to `path`, creating it with mode 0600; fails with
    /// [`Error::KeyFileExists`] if anything exists at `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|err| match err.kind() {
            io::ErrorKind::AlreadyExists => Error::KeyFileExists {
                path: path.to_owned(),
            },
            _ => Error::Io(err),
        })?;
        let text = self.to_key_file();
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(err) = written {
            drop(file);
            // Best effort: do not leave a half-written key file behind.
            let _ = std::fs::remove_file(path);
            return Err(Error::Io(err));
        }
        Ok(())
    }

    /// The key file's text. It contains the key: handle it as a secret.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let mut encoded = Zeroizing::new([0u8; 44]);
        let key_b64 = Base64::encode(self.key.as_slice(), encoded.as_mut_slice())
            .expect("44 bytes hold the Base64 of 32 bytes");
        Zeroizing::new(format!(
            "# tresor key-encryption key: keep secret\n\
             {FILE_TAG}: {FILE_VERSION}\n\
             id: {}\n\
             algorithm: {ALGORITHM}\n\
             key: {key_b64}\n\
             check: {}\n",
            self.id,
            self.check_value()
        ))
    }

    /// The key check value: the first 3 bytes of
    /// HMAC-SHA-256(key, "tresor-envelope/v1 key check value"), in hex.
    /// Safe to show; it identifies the key material without revealing it.
    pub fn check_value(&self) -> String {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, self.key.as_slice()),
            KCV_LABEL,
        );
        hex_lower(tag.as_ref().get(..3).unwrap_or_default())
    }
}

impl KeyEncryptionKey for LocalKek {
    fn key_id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| Error::Rng)?;
        let mut out = Vec::with_capacity(LOCAL_WRAPPED_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(dek.expose_secret());
        let body = out
            .get_mut(NONCE_LEN..)
            .expect("the nonce was just written");
        let tag = self
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), aad, body.into())
            .map_err(|_| Error::kek(&self.id, "AES-256-GCM-SIV wrap failed"))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        if wrapped.len() != LOCAL_WRAPPED_LEN {
            return Err(Error::Decrypt);
        }
        let (nonce, rest) = wrapped.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(DEK_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| Error::Decrypt)?;
        let tag = Tag::try_from(tag).map_err(|_| Error::Decrypt)?;
        let mut key = Zeroizing::new([0u8; DEK_LEN]);
        key.copy_from_slice(body);
        self.cipher
            .decrypt_inout_detached(&nonce, aad, key.as_mut_slice().into(), &tag)
            .map_err(|_| Error::Decrypt)?;
        DataKey::from_slice(key.as_slice())
    }
}

impl fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
