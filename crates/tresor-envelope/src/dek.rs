//! Data-encryption keys.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::rng::fill_from_os;
use crate::{Error, Result};

/// Length of a data-encryption key in bytes (AES-256).
pub const DEK_LEN: usize = 32;

/// A 256-bit data-encryption key (DEK).
///
/// A `DataKey` is what a [`KeyEncryptionKey`](crate::KeyEncryptionKey) wraps
/// and unwraps. It lives on the heap, is wiped when dropped, cannot be cloned,
/// printed or serialised; its `Debug` output shows only the type name.
///
/// Beside its bytes it keeps the HMAC-SHA-256 key schedule keyed with them
/// (format version 2 derives every message's keys with one HKDF-Expand
/// under the data key): a data key reused for many messages computes it
/// once. It is as secret as the key and is wiped with it.
pub struct DataKey {
    bytes: Box<[u8; DEK_LEN]>,
    expander: Box<Hkdf<Sha256>>,
}

impl DataKey {
    /// Generates a fresh key straight from the operating system's random
    /// generator (one call per key, never buffered); fails with
    /// [`Error::Rng`] if the generator does.
    pub fn generate() -> Result<Self> {
        let mut key = Box::new([0u8; DEK_LEN]);
        fill_from_os(key.as_mut_slice())?;
        Ok(DataKey::from_box(key))
    }

    /// Takes a key from a slice, which must be exactly [`DEK_LEN`] bytes long.
    ///
    /// Key-encryption key backends call this with the bytes they unwrapped;
    /// they should wipe their own copy afterwards. A slice of the wrong length
    /// gives [`Error::Decrypt`], as a wrong-length unwrap result means the
    /// wrapped key was not what the caller claimed.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let mut key = Box::new([0u8; DEK_LEN]);
        if bytes.len() != DEK_LEN {
            return Err(Error::Decrypt);
        }
        key.copy_from_slice(bytes);
        Ok(DataKey::from_box(key))
    }

    fn from_box(bytes: Box<[u8; DEK_LEN]>) -> Self {
        let expander = Box::new(expander(&bytes));
        DataKey { bytes, expander }
    }

    /// The key's bytes, for a key-encryption key to wrap.
    ///
    /// Do not copy them anywhere that outlives the call.
    pub fn expose_secret(&self) -> &[u8; DEK_LEN] {
        &self.bytes
    }

    /// HKDF-SHA-256 with the data key as its pseudorandom key (RFC 5869,
    /// section 3.3: a uniformly random key needs no extract step).
    pub(crate) fn expander(&self) -> &Hkdf<Sha256> {
        &self.expander
    }
}

fn expander(prk: &[u8; DEK_LEN]) -> Hkdf<Sha256> {
    Hkdf::<Sha256>::from_prk(prk).expect("a 32-byte key is a valid HKDF-SHA-256 PRK")
}

impl Zeroize for DataKey {
    /// Wipes the key's bytes and drops its key schedule (whose SHA-256
    /// states wipe themselves), leaving an all-zero key.
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        *self.expander = expander(&self.bytes);
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for DataKey {}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(key: &DataKey) -> [u8; 32] {
        let mut out = [0u8; 32];
        key.expander().expand(b"info", &mut out).unwrap();
        out
    }

    #[test]
    fn the_key_schedule_is_the_keys() {
        let key = DataKey::from_slice(&[7; DEK_LEN]).unwrap();
        let fresh = Hkdf::<Sha256>::from_prk(&[7; DEK_LEN]).unwrap();
        let mut want = [0u8; 32];
        fresh.expand(b"info", &mut want).unwrap();
        assert_eq!(expand(&key), want);
    }

    #[test]
    fn zeroize_wipes_the_key_and_its_schedule() {
        let mut key = DataKey::from_slice(&[7; DEK_LEN]).unwrap();
        let before = expand(&key);
        key.zeroize();
        assert_eq!(key.expose_secret(), &[0; DEK_LEN]);
        let zero = DataKey::from_slice(&[0; DEK_LEN]).unwrap();
        assert_eq!(expand(&key), expand(&zero));
        assert_ne!(expand(&key), before);
    }
}
