//! Data-encryption keys.

use std::fmt;

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
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey(Box<[u8; DEK_LEN]>);

impl DataKey {
    /// Generates a fresh key straight from the operating system's random
    /// generator (one call per key, never buffered); fails with
    /// [`Error::Rng`] if the generator does.
    pub fn generate() -> Result<Self> {
        let mut key = Box::new([0u8; DEK_LEN]);
        fill_from_os(key.as_mut_slice())?;
        Ok(DataKey(key))
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
        Ok(DataKey(key))
    }

    /// The key's bytes, for a key-encryption key to wrap.
    ///
    /// Do not copy them anywhere that outlives the call.
    pub fn expose_secret(&self) -> &[u8; DEK_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}
