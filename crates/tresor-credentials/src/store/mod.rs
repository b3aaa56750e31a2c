//! Where client records live: the [`CredentialStore`] trait, an in-memory
//! store and the embedded SQLite store (the default), and what a record
//! holds in place of a secret: a [`SecretVerifier`] with its [`Mac`], made
//! over [`verifier_input`] (the storage format, for stores and tools that
//! read or write records).
//!
//! Every record carries a version number. [`CredentialStore::update`]
//! writes only if the stored version is still the one the caller read
//! (optimistic concurrency), so two administrators (or an administrator and
//! a pepper re-derivation) never silently overwrite each other.

use std::sync::Arc;

use crate::client::{ClientId, ClientRecord};
use crate::error::Result;

#[cfg(feature = "conformance")]
pub mod conformance;
mod memory;
mod sqlite;
mod verifier;

pub use memory::MemoryStore;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub(crate) use verifier::derive;
#[cfg(feature = "httpsig")]
pub(crate) use verifier::framed;
pub use verifier::{Mac, SecretVerifier, VERIFIER_CONTEXT, verifier_input};

/// A client record as read from a store, with its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClient {
    /// The record.
    pub record: ClientRecord,
    /// Its version: 1 when inserted, one more at each update.
    pub version: u64,
}

/// Storage of client records with optimistic concurrency.
///
/// Object-safe: the registry holds an `Arc<dyn CredentialStore>`.
pub trait CredentialStore: Send + Sync {
    /// Inserts a new record at version 1;
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if its id is
    /// taken.
    fn insert(&self, record: &ClientRecord) -> Result<()>;

    /// The record with this id, if any.
    ///
    /// A missing id should cost what a present one does: the registry
    /// promises the same work whether a client exists or not, and its
    /// timing depends on this lookup. [`MemoryStore`] clones and
    /// [`SqliteStore`] decodes a dummy record of a typical client's size
    /// on a miss, as they would a found one (a record much larger than
    /// typical, with many keys or scopes, still takes longer to decode).
    fn get(&self, id: &ClientId) -> Result<Option<StoredClient>>;

    /// Replaces the record with the same id if its stored version is
    /// `expected_version`, and returns the new version;
    /// [`Error::Conflict`](crate::Error::Conflict) if the version changed,
    /// [`Error::UnknownClient`](crate::Error::UnknownClient) if there is no
    /// such record.
    fn update(&self, record: &ClientRecord, expected_version: u64) -> Result<u64>;

    /// Every record, ordered by client id.
    fn list(&self) -> Result<Vec<StoredClient>>;

    /// The record of the client holding the public key with this key id
    /// (its RFC 7638 thumbprint), in any state, if any; also the record of
    /// the client that held it if it is a revoked key whose material was
    /// pruned ([`ClientRecord::revoked_kids`]): revoked key ids keep their
    /// owner for ever.
    ///
    /// A key id belongs to at most one client. [`MemoryStore`] and
    /// [`SqliteStore`] keep an index (the SQLite `client_keys` table) of
    /// every id of [`ClientRecord::key_ids`] (registered keys and revoked
    /// tombstones) and refuse, in [`insert`](Self::insert) and
    /// [`update`](Self::update), a record holding a key id another client
    /// holds or held ([`Error::KeyExists`](crate::Error::KeyExists)). A
    /// store of another kind must index the tombstones too, or a revoked
    /// key could be registered again. The default
    /// implementation scans [`list`](Self::list) (fine for small
    /// registries; a store for many clients should index) and fails closed
    /// with [`Error::Corrupt`](crate::Error::Corrupt) if two clients hold
    /// the key.
    fn find_by_key(&self, kid: &str) -> Result<Option<StoredClient>> {
        let mut found = None;
        for stored in self.list()? {
            if stored.record.key_ids().any(|k| k == kid) {
                if found.is_some() {
                    return Err(crate::Error::Corrupt {
                        reason: format!("key {kid} is registered to two clients"),
                    });
                }
                found = Some(stored);
            }
        }
        Ok(found)
    }
}

macro_rules! forward_store {
    ($($ptr:ty),*) => {$(
        impl<S: CredentialStore + ?Sized> CredentialStore for $ptr {
            fn insert(&self, record: &ClientRecord) -> Result<()> {
                (**self).insert(record)
            }
            fn get(&self, id: &ClientId) -> Result<Option<StoredClient>> {
                (**self).get(id)
            }
            fn update(&self, record: &ClientRecord, expected_version: u64) -> Result<u64> {
                (**self).update(record, expected_version)
            }
            fn list(&self) -> Result<Vec<StoredClient>> {
                (**self).list()
            }
            fn find_by_key(&self, kid: &str) -> Result<Option<StoredClient>> {
                (**self).find_by_key(kid)
            }
        }
    )*};
}

forward_store!(Arc<S>, Box<S>, &S);
