//! The key traits: a key that signs, a key that verifies, and a resolver
//! from `keyid` to verifying key.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::alg::Algorithm;
use crate::error::{Error, Result};

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

/// The longest key id quoted back in an [`Error::UnknownKey`] (the rest is cut,
/// so an attacker cannot flood the logs through the error).
const MAX_QUOTED_KEY_ID: usize = 128;

/// A fixed set of verifying keys by key id: the simplest [`KeyResolver`],
/// for servers with a handful of clients or for tests. A client registry
/// (a database) implements [`KeyResolver`] itself.
///
/// ```
/// use tresor_httpsig::{Algorithm, KeyMap, KeyResolver, PrivateKey};
///
/// let client_key = PrivateKey::generate(Algorithm::Ed25519)?;
/// let mut keys = KeyMap::new();
/// keys.insert("client-1", client_key.public_key());
/// assert_eq!(keys.resolve("client-1")?.algorithm(), Algorithm::Ed25519);
/// assert!(keys.resolve("client-2").is_err());
/// # Ok::<(), tresor_httpsig::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct KeyMap {
    keys: HashMap<String, Arc<dyn VerifyingKey>>,
}

impl KeyMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `key` under `key_id`, returning the key it replaces.
    pub fn insert(
        &mut self,
        key_id: impl Into<String>,
        key: impl VerifyingKey + 'static,
    ) -> Option<Arc<dyn VerifyingKey>> {
        self.insert_shared(key_id, Arc::new(key))
    }

    /// Registers a shared key under `key_id`, returning the key it replaces.
    pub fn insert_shared(
        &mut self,
        key_id: impl Into<String>,
        key: Arc<dyn VerifyingKey>,
    ) -> Option<Arc<dyn VerifyingKey>> {
        self.keys.insert(key_id.into(), key)
    }

    /// Removes the key registered under `key_id`.
    pub fn remove(&mut self, key_id: &str) -> Option<Arc<dyn VerifyingKey>> {
        self.keys.remove(key_id)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The registered key ids, in no particular order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

impl KeyResolver for KeyMap {
    fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>> {
        self.keys
            .get(key_id)
            .cloned()
            .ok_or_else(|| Error::UnknownKey {
                key_id: key_id.chars().take(MAX_QUOTED_KEY_ID).collect(),
            })
    }
}

impl fmt::Debug for KeyMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids and algorithms only: an HMAC key is a secret.
        f.debug_map()
            .entries(self.keys.iter().map(|(id, key)| (id, key.algorithm())))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HmacKey;

    #[test]
    fn key_map_resolves_registered_ids_only_and_hides_secrets() {
        let mut keys = KeyMap::new();
        assert!(keys.is_empty());
        keys.insert("hmac", HmacKey::new(&[0x5a; 32]).unwrap());
        assert_eq!(keys.len(), 1);
        assert_eq!(
            keys.resolve("hmac").unwrap().algorithm(),
            Algorithm::HmacSha256
        );
        let long = "x".repeat(10_000);
        match keys.resolve(&long) {
            Err(Error::UnknownKey { key_id }) => assert_eq!(key_id.len(), MAX_QUOTED_KEY_ID),
            other => panic!("expected UnknownKey, got {:?}", other.map(|_| ())),
        }
        let debug = format!("{keys:?}");
        assert!(
            debug.contains("hmac") && debug.contains("HmacSha256"),
            "{debug}"
        );
        assert!(!debug.contains("5a") && !debug.contains("90"), "{debug}");
        assert!(keys.remove("hmac").is_some());
        assert!(keys.resolve("hmac").is_err());
    }
}
