//! Pseudonyms for personal identifiers, so audit records can be correlated
//! ("the same customer did A then B") without the log holding personal data.
//!
//! # Guarantee
//!
//! A pseudonym is `HMAC-SHA-256(key, message)` truncated and encoded, so
//! without the [`PseudonymKey`] nobody can compute a pseudonym or test a
//! guessed identifier against one (a plain hash of an e-mail address or an
//! IBAN is reversed by enumeration; a keyed one is not). The same key,
//! purpose and identifier always give the same pseudonym; a different key or
//! a different purpose gives unrelated pseudonyms. Keep the key apart from
//! the log: whoever holds both can re-identify by enumeration. Destroying the
//! key makes the pseudonyms unlinkable to people for good.
//!
//! # Format
//!
//! ```text
//! message   = "tresor-audit pseudonym v1" || 0x00
//!             || u64-be(len(purpose)) || purpose || identifier
//! pseudonym = prefix || base64url-no-pad(HMAC-SHA-256(key, message)[..n])
//! ```
//!
//! `purpose` is the UTF-8 purpose string (empty when none is set, so no
//! purpose and the empty purpose are the same); `identifier` is the caller's
//! bytes as given: normalise first (case, white space, formatting) if
//! variants must map to the same pseudonym. `n` is 16 bytes (22 characters,
//! [`PseudonymLength::Short`], the default) or 32 (43 characters,
//! [`PseudonymLength::Full`]). The default prefix is [`DEFAULT_PREFIX`],
//! `pn1_`: it marks the value as a version-1 pseudonym, not raw data.
//!
//! # Key file
//!
//! One line of ASCII: `tresor-pseudonym-key-v1:` then the 32 key bytes in
//! base64url without padding (43 characters), then a newline (optional on
//! reading). [`PseudonymKey::write_file`] creates it with mode `0600` and
//! refuses to overwrite an existing file.
//!
//! # Example
//!
//! ```
//! use tresor_audit::pseudonym::{PseudonymKey, Pseudonymizer};
//!
//! let key = PseudonymKey::generate()?;
//! let p = Pseudonymizer::new(key).with_purpose("fraud-review");
//! let a = p.pseudonymize("alice@example.com");
//! assert!(a.starts_with("pn1_"));
//! assert_eq!(a, p.pseudonymize("alice@example.com"));
//! assert_ne!(a, p.pseudonymize("bob@example.com"));
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The default pseudonym prefix: version 1 of this scheme.
pub const DEFAULT_PREFIX: &str = "pn1_";

/// The first characters of a key file.
const KEY_FILE_HEADER: &str = "tresor-pseudonym-key-v1:";

/// Domain separation of the HMAC input.
const DOMAIN: &[u8] = b"tresor-audit pseudonym v1\x00";

/// The largest key file read, in bytes.
const MAX_KEY_FILE_LEN: u64 = 256;

/// The longest prefix accepted.
const MAX_PREFIX_LEN: usize = 32;

/// A 32-byte pseudonymisation key: a secret.
///
/// Wiped on drop; its [`Debug`](fmt::Debug) shows only a key id (a hash of
/// the key, see [`PseudonymKey::key_id`]); no `Display`, `Serialize` or
/// `Clone`.
pub struct PseudonymKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl PseudonymKey {
    /// A new key from the system's random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut bytes[..])
            .map_err(|_| Error::Key {
                reason: "the system random source failed".into(),
            })?;
        Ok(PseudonymKey { bytes })
    }

    /// A key from 32 secret random bytes (e.g. from a KMS or vault). The
    /// argument is wiped; the caller wipes its own copies.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let mut key = PseudonymKey {
            bytes: Zeroizing::new([0u8; 32]),
        };
        key.bytes.copy_from_slice(&bytes);
        bytes.zeroize();
        key
    }

    /// Reads a key file (see the [module docs](self) for its format).
    pub fn read_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut contents = Zeroizing::new(Vec::with_capacity(128));
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_end(&mut contents)
            .map_err(|e| Error::io(path, e))?;
        Self::parse_key_file(&contents)
    }

    fn parse_key_file(contents: &[u8]) -> Result<Self> {
        let bad = |reason: &str| Error::Key {
            reason: format!("malformed pseudonym key file: {reason}"),
        };
        if contents.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(bad("too long"));
        }
        let line = contents.strip_suffix(b"\n").unwrap_or(contents);
        let b64 = line
            .strip_prefix(KEY_FILE_HEADER.as_bytes())
            .ok_or_else(|| bad("missing header"))?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        let decoded = Base64UrlUnpadded::decode(b64, &mut bytes[..])
            .map_err(|_| bad("key is not base64url of 32 bytes"))?;
        if decoded.len() != 32 {
            return Err(bad("key is not 32 bytes long"));
        }
        Ok(PseudonymKey { bytes })
    }

    /// Writes the key to a new file at `path`, mode `0600` on Unix, and
    /// syncs it. Fails if `path` exists.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
        // base64url of 32 bytes is 43 characters.
        let mut b64 = Zeroizing::new([0u8; 43]);
        let mut line = Zeroizing::new(Vec::with_capacity(KEY_FILE_HEADER.len() + 43 + 1));
        line.extend_from_slice(KEY_FILE_HEADER.as_bytes());
        let encoded =
            Base64UrlUnpadded::encode(&self.bytes[..], &mut b64[..]).map_err(|_| Error::Key {
                reason: "cannot encode the key".into(),
            })?;
        line.extend_from_slice(encoded.as_bytes());
        line.push(b'\n');
        file.write_all(&line).map_err(|e| Error::io(path, e))?;
        file.sync_all().map_err(|e| Error::io(path, e))?;
        Ok(())
    }

    /// A public identifier of the key: the first four bytes of
    /// `SHA-256("tresor-audit pseudonym key id" || 0x00 || key)`, in hex.
    /// Tells keys apart in logs and errors without revealing them.
    pub fn key_id(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"tresor-audit pseudonym key id\x00");
        ctx.update(&self.bytes[..]);
        let digest = ctx.finish();
        digest
            .as_ref()
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// How much of the HMAC a pseudonym keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PseudonymLength {
    /// 16 bytes (128 bits, 22 characters): collisions are negligible below
    /// about 2^50 distinct identifiers. The default.
    #[default]
    Short,
    /// All 32 bytes (43 characters).
    Full,
}

impl PseudonymLength {
    fn bytes(self) -> usize {
        match self {
            PseudonymLength::Short => 16,
            PseudonymLength::Full => 32,
        }
    }
}

/// Maps personal identifiers to pseudonyms under a [`PseudonymKey`], for
/// one purpose. See the [module docs](self) for the construction.
///
/// Its [`Debug`](fmt::Debug) shows the key id, never the key.
#[derive(Debug)]
pub struct Pseudonymizer {
    key: PseudonymKey,
    purpose: String,
    prefix: String,
    length: PseudonymLength,
}

impl Pseudonymizer {
    /// A pseudonymizer with no purpose, the [`DEFAULT_PREFIX`] and
    /// [`PseudonymLength::Short`].
    pub fn new(key: PseudonymKey) -> Self {
        Pseudonymizer {
            key,
            purpose: String::new(),
            prefix: DEFAULT_PREFIX.to_owned(),
            length: PseudonymLength::default(),
        }
    }

    /// Sets the purpose (context) string: pseudonyms of the same identifier
    /// under different purposes do not correlate.
    pub fn with_purpose(mut self, purpose: &str) -> Self {
        purpose.clone_into(&mut self.purpose);
        self
    }

    /// Sets the prefix: at most 32 printable ASCII characters, no space.
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self> {
        if prefix.len() > MAX_PREFIX_LEN || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Key {
                reason: format!(
                    "pseudonym prefix must be at most {MAX_PREFIX_LEN} printable ASCII characters without space"
                ),
            });
        }
        prefix.clone_into(&mut self.prefix);
        Ok(self)
    }

    /// Sets how much of the HMAC the pseudonym keeps.
    pub fn with_length(mut self, length: PseudonymLength) -> Self {
        self.length = length;
        self
    }

    /// The purpose string (empty if none).
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The pseudonym of `identifier`.
    pub fn pseudonymize(&self, identifier: impl AsRef<[u8]>) -> String {
        let tag = self.tag(identifier.as_ref());
        let n = self.length.bytes();
        let kept = tag.as_ref().get(..n).unwrap_or(tag.as_ref());
        let mut out = String::with_capacity(self.prefix.len() + 43);
        out.push_str(&self.prefix);
        out.push_str(&Base64UrlUnpadded::encode_string(kept));
        out
    }

    /// Whether `pseudonym` is the pseudonym of `identifier`, compared in
    /// constant time.
    pub fn matches(&self, identifier: impl AsRef<[u8]>, pseudonym: &str) -> bool {
        let expected = self.pseudonymize(identifier);
        expected.as_bytes().ct_eq(pseudonym.as_bytes()).into()
    }

    fn tag(&self, identifier: &[u8]) -> hmac::Tag {
        // The key schedule is rebuilt per call so that only the zeroized raw
        // key is held between calls.
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key.bytes[..]);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(DOMAIN);
        ctx.update(&(self.purpose.len() as u64).to_be_bytes());
        ctx.update(self.purpose.as_bytes());
        ctx.update(identifier);
        ctx.sign()
    }
}
