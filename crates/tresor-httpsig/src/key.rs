//! The key traits: a key that signs, a key that verifies, and a resolver
//! from `keyid` to verifying key.

use std::sync::Arc;

use crate::alg::Algorithm;
use crate::error::Result;

/// A key that signs signature bases.
///
/// Object-safe so that a key held in an HSM or KMS can stand behind
/// `Arc<dyn SigningKey>`. Implementations must not log or expose the key.
pub trait SigningKey: Send + Sync {
    /// The one algorithm this key signs with.
    fn algorithm(&self) -> Algorithm;

    /// Signs `base` (the exact bytes of an RFC 9421 signature base) and
    /// returns the raw signature (for ECDSA, `r || s`).
    fn sign(&self, base: &[u8]) -> Result<Vec<u8>>;
}

/// A key that verifies signatures over signature bases.
pub trait VerifyingKey: Send + Sync {
    /// The one algorithm this key may be used with. The verifier rejects a
    /// signature whose `alg` parameter names any other.
    fn algorithm(&self) -> Algorithm;

    /// Verifies `signature` over `base`; [`Error::BadSignature`] if it does
    /// not verify (whatever the reason).
    ///
    /// [`Error::BadSignature`]: crate::Error::BadSignature
    fn verify(&self, base: &[u8], signature: &[u8]) -> Result<()>;
}

/// Finds the verifying key (and with it the only algorithm allowed) for a
/// `keyid`. A client registry implements this.
pub trait KeyResolver: Send + Sync {
    /// The key registered under `key_id`, or [`Error::UnknownKey`].
    ///
    /// [`Error::UnknownKey`]: crate::Error::UnknownKey
    fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>>;
}

macro_rules! forward_key_traits {
    ($($ptr:ty),*) => {$(
        impl<K: SigningKey + ?Sized> SigningKey for $ptr {
            fn algorithm(&self) -> Algorithm {
                (**self).algorithm()
            }
            fn sign(&self, base: &[u8]) -> Result<Vec<u8>> {
                (**self).sign(base)
            }
        }

        impl<K: VerifyingKey + ?Sized> VerifyingKey for $ptr {
            fn algorithm(&self) -> Algorithm {
                (**self).algorithm()
            }
            fn verify(&self, base: &[u8], signature: &[u8]) -> Result<()> {
                (**self).verify(base, signature)
            }
        }

        impl<K: KeyResolver + ?Sized> KeyResolver for $ptr {
            fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>> {
                (**self).resolve(key_id)
            }
        }
    )*};
}

forward_key_traits!(Arc<K>, Box<K>, &K);
