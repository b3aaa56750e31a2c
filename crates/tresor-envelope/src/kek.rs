//! The key-encryption key trait.

use std::sync::Arc;

use crate::{DataKey, Error, Result};

/// Longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 255;

/// A key-encryption key (KEK): it wraps and unwraps data keys and never
/// reveals itself.
///
/// Implement this for a KMS (the key id is then the KMS key's id or ARN), an
/// HSM (PKCS#11), or use the in-process [`LocalKek`](crate::LocalKek).
///
/// # Contract
///
/// - `wrap` must be an authenticated encryption of the data key bound to
///   `aad`: `unwrap` with a different `aad`, or of modified bytes, must fail.
/// - `unwrap` returns [`Error::Decrypt`] when the wrapped key does not
///   authenticate, and [`Error::Kek`] (see [`Error::kek`]) when the backend
///   fails for another reason, so callers can tell "tampered" from "KMS down".
/// - Neither method may log, print or keep the data key.
///
/// The trait is object-safe: keyrings hold `Arc<dyn KeyEncryptionKey>`.
pub trait KeyEncryptionKey: Send + Sync {
    /// The key's id, written in clear in every envelope it wraps a key for.
    ///
    /// 1 to 255 bytes of printable ASCII (no spaces), stable for the key's
    /// whole life.
    fn key_id(&self) -> &str;

    /// Wraps (encrypts and authenticates) `dek`, binding it to `aad`.
    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>>;

    /// Unwraps a key produced by [`wrap`](Self::wrap) with the same `aad`.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey>;
}

impl<T: KeyEncryptionKey + ?Sized> KeyEncryptionKey for Arc<T> {
    fn key_id(&self) -> &str {
        (**self).key_id()
    }
    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        (**self).wrap(dek, aad)
    }
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        (**self).unwrap(wrapped, aad)
    }
}

impl<T: KeyEncryptionKey + ?Sized> KeyEncryptionKey for Box<T> {
    fn key_id(&self) -> &str {
        (**self).key_id()
    }
    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        (**self).wrap(dek, aad)
    }
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        (**self).unwrap(wrapped, aad)
    }
}

impl<T: KeyEncryptionKey + ?Sized> KeyEncryptionKey for &T {
    fn key_id(&self) -> &str {
        (**self).key_id()
    }
    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        (**self).wrap(dek, aad)
    }
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        (**self).unwrap(wrapped, aad)
    }
}

/// Checks that `id` is a valid key id: 1 to 255 bytes of printable ASCII
/// without spaces (`!` to `~`), so ids survive logs, file names and headers.
pub fn validate_key_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::InvalidKeyId("empty"));
    }
    if id.len() > MAX_KEY_ID_LEN {
        return Err(Error::InvalidKeyId("longer than 255 bytes"));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::InvalidKeyId(
            "only printable ASCII without spaces is allowed",
        ));
    }
    Ok(())
}
