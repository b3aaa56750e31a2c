//! The pepper: the key under which secret verifiers are made, kept outside
//! the credential store.
//!
//! A verifier is `HMAC-SHA-256(pepper, input)`; without the pepper key a
//! stolen store neither authenticates nor lets an attacker test guesses
//! offline. The pepper is versioned so it can rotate: each verifier records
//! the version it was made under, and the registry re-derives a verifier
//! under the current version the next time its client authenticates.
//!
//! # Local key file format
//!
//! [`LocalPepper`] keeps its keys in a UTF-8 text file:
//!
//! ```text
//! tresor-pepper-v1
//! # comment lines and blank lines are ignored
//! 1 3f7c…(64 lowercase or uppercase hex digits: a 32-byte HMAC key)
//! 2 a01b…
//! ```
//!
//! The first line is exactly `tresor-pepper-v1`. Each further line that is
//! not blank and does not start with `#` is `VERSION KEY`: a decimal version
//! from 1 to 4294967295, one space, and 64 hex digits. Versions are unique;
//! the highest is the current one (new verifiers), the others only verify.
//! The file must be mode 0600 or stricter (checked on Unix); it is created
//! with mode 0600 and never overwritten by [`LocalPepper::create`].
//! [`LocalPepper::rotate_file`] appends a new version through a temporary
//! file and an atomic rename. Remove an old version's line only once every
//! verifier has been re-derived (each client has authenticated since).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{BackendError, Error, Result};

/// A versioned HMAC-SHA-256 key held outside the credential store (a KMS,
/// an HSM, a key file).
///
/// Object-safe: the registry holds an `Arc<dyn Pepper>`. Implementations
/// must never log or expose key bytes.
pub trait Pepper: Send + Sync {
    /// The version new verifiers are made under.
    fn current_version(&self) -> u32;

    /// HMAC-SHA-256 of `data` under the key of `version`;
    /// [`Error::UnknownPepperVersion`] if there is no such key.
    fn mac(&self, version: u32, data: &[u8]) -> Result<[u8; 32]>;
}

macro_rules! forward_pepper {
    ($($ptr:ty),*) => {$(
        impl<P: Pepper + ?Sized> Pepper for $ptr {
            fn current_version(&self) -> u32 {
                (**self).current_version()
            }
            fn mac(&self, version: u32, data: &[u8]) -> Result<[u8; 32]> {
                (**self).mac(version, data)
            }
        }
    )*};
}

forward_pepper!(Arc<P>, Box<P>, &P);

/// The first line of a pepper key file.
pub const PEPPER_FILE_HEADER: &str = "tresor-pepper-v1";

struct PepperKey {
    raw: Zeroizing<[u8; 32]>,
    key: hmac::Key,
}

/// A pepper whose keys live in process memory, loaded from (or saved to) a
/// key file in the format described in the [module docs](self).
///
/// For development and single-server deployments; production keeps the
/// pepper in a KMS or HSM behind the same [`Pepper`] trait. Key bytes are
/// wiped on drop; `Debug` shows the versions only.
pub struct LocalPepper {
    keys: BTreeMap<u32, PepperKey>,
}

impl LocalPepper {
    /// A pepper with one random key, version 1, in memory only.
    pub fn generate() -> Result<Self> {
        let mut pepper = Self {
            keys: BTreeMap::new(),
        };
        pepper.add_random(1)?;
        Ok(pepper)
    }

    /// The same keys plus a new random one, one version above the current
    /// one, which becomes current (in memory; see
    /// [`LocalPepper::rotate_file`] for a key file).
    pub fn rotated(&self) -> Result<Self> {
        let mut keys = BTreeMap::new();
        for (&version, k) in &self.keys {
            keys.insert(version, PepperKey::new(*k.raw));
        }
        let mut pepper = Self { keys };
        let next = self
            .current_version()
            .checked_add(1)
            .ok_or_else(|| Error::pepper("pepper versions exhausted"))?;
        pepper.add_random(next)?;
        Ok(pepper)
    }

    /// Creates a key file at `path` with one random key (version 1), mode
    /// 0600; [`Error::FileExists`] if the file exists.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pepper = Self::generate()?;
        write_new(path, &pepper.to_file_text())?;
        Ok(pepper)
    }

    /// Loads a key file; refuses one that other users can access.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        check_permissions(path)?;
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| io_error(path, e))?);
        Self::parse(&text)
    }

    /// Adds a new random key (one version above the current one) to the key
    /// file at `path` and returns the pepper with it current. The file is
    /// replaced through a temporary file (mode 0600) and an atomic rename.
    pub fn rotate_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pepper = Self::load(path)?.rotated()?;
        let mut tmp = PathBuf::from(path);
        tmp.as_mut_os_string().push(".tmp");
        write_new(&tmp, &pepper.to_file_text())?;
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error(path, e)
        })?;
        Ok(pepper)
    }

    /// Parses the text of a key file.
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, header)) if header.trim_end() == PEPPER_FILE_HEADER => {}
            _ => {
                return Err(Error::PepperFile {
                    line: 1,
                    reason: "the first line must be tresor-pepper-v1",
                });
            }
        }
        let mut keys = BTreeMap::new();
        for (index, line) in lines {
            let line = line.trim_end();
            let bad = |reason| Error::PepperFile {
                line: index + 1,
                reason,
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (version, hex) = line
                .split_once(' ')
                .ok_or_else(|| bad("expected VERSION KEY"))?;
            if version.is_empty() || !version.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad("the version is not a decimal number"));
            }
            let version: u32 = version
                .parse()
                .map_err(|_| bad("the version is out of range"))?;
            if version == 0 {
                return Err(bad("versions start at 1"));
            }
            let raw = decode_hex_key(hex).ok_or_else(|| bad("the key is not 64 hex digits"))?;
            if keys.insert(version, PepperKey::new(*raw)).is_some() {
                return Err(bad("duplicate version"));
            }
        }
        if keys.is_empty() {
            return Err(Error::PepperFile {
                line: 0,
                reason: "no key",
            });
        }
        Ok(Self { keys })
    }

    /// The versions held, ascending.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    fn add_random(&mut self, version: u32) -> Result<()> {
        let mut raw = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut raw[..])
            .map_err(|_| Error::Rng)?;
        self.keys.insert(version, PepperKey::new(*raw));
        Ok(())
    }

    fn to_file_text(&self) -> Zeroizing<String> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = Zeroizing::new(String::new());
        text.push_str(PEPPER_FILE_HEADER);
        text.push('\n');
        for (version, k) in &self.keys {
            text.push_str(&version.to_string());
            text.push(' ');
            for b in k.raw.iter() {
                for nibble in [b >> 4, b & 0x0f] {
                    text.push(char::from(
                        HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                    ));
                }
            }
            text.push('\n');
        }
        text
    }
}

impl PepperKey {
    fn new(raw: [u8; 32]) -> Self {
        let raw = Zeroizing::new(raw);
        let key = hmac::Key::new(hmac::HMAC_SHA256, &raw[..]);
        Self { raw, key }
    }
}

impl Pepper for LocalPepper {
    fn current_version(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    fn mac(&self, version: u32, data: &[u8]) -> Result<[u8; 32]> {
        let k = self
            .keys
            .get(&version)
            .ok_or(Error::UnknownPepperVersion { version })?;
        let tag = hmac::sign(&k.key, data);
        let mut out = [0u8; 32];
        if tag.as_ref().len() != out.len() {
            return Err(Error::pepper("unexpected HMAC output length"));
        }
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

impl fmt::Debug for LocalPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalPepper")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn decode_hex_key(hex: &str) -> Option<Zeroizing<[u8; 32]>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = Zeroizing::new([0u8; 32]);
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *slot = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: BackendError::new(e),
    }
}

/// Creates `path` (never overwriting it) with mode 0600 and writes `text`,
/// synced to disk.
fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::FileExists {
                path: path.display().to_string(),
            }
        } else {
            io_error(path, e)
        }
    })?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(io_error(path, e));
    }
    Ok(())
}

fn check_permissions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(|e| io_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::InsecurePermissions {
                path: path.display().to_string(),
                mode: mode & 0o7777,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
