//! An in-memory store, for tests and single-process tools.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::client::{ClientId, ClientRecord};
use crate::error::{Error, Result};
use crate::store::{CredentialStore, StoredClient};

/// A [`CredentialStore`] in process memory; everything is lost on drop.
///
/// Keeps an index of public key ids (revoked tombstones included), so
/// [`find_by_key`](CredentialStore::find_by_key) is a lookup and a key id
/// belongs to one client only.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Cloned on a miss, as a found record is
    /// ([`CredentialStore::get`]).
    dummy: StoredClient,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            dummy: StoredClient {
                record: ClientRecord::timing_dummy(),
                version: 1,
            },
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    records: BTreeMap<ClientId, StoredClient>,
    /// Key id → the client holding it.
    keys: BTreeMap<String, ClientId>,
}

impl Inner {
    /// Refuses a record holding a key id another client holds.
    fn check_keys(&self, record: &ClientRecord) -> Result<()> {
        for kid in record.key_ids() {
            if self.keys.get(kid).is_some_and(|owner| owner != &record.id) {
                return Err(Error::KeyExists {
                    kid: kid.to_owned(),
                });
            }
        }
        Ok(())
    }

    fn index(&mut self, old: Option<&ClientRecord>, new: &ClientRecord) {
        if let Some(old) = old {
            for kid in old.key_ids() {
                self.keys.remove(kid);
            }
        }
        for kid in new.key_ids() {
            self.keys.insert(kid.to_owned(), new.id.clone());
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| Error::storage("the memory store's lock is poisoned"))
    }
}

impl CredentialStore for MemoryStore {
    fn insert(&self, record: &ClientRecord) -> Result<()> {
        let mut inner = self.lock()?;
        if inner.records.contains_key(&record.id) {
            return Err(Error::AlreadyExists {
                client_id: record.id.to_string(),
            });
        }
        inner.check_keys(record)?;
        inner.index(None, record);
        inner.records.insert(
            record.id.clone(),
            StoredClient {
                record: record.clone(),
                version: 1,
            },
        );
        Ok(())
    }

    fn get(&self, id: &ClientId) -> Result<Option<StoredClient>> {
        let inner = self.lock()?;
        match inner.records.get(id) {
            Some(found) => Ok(Some(found.clone())),
            None => {
                // The same work as a hit: clone (and drop) a record.
                drop(std::hint::black_box(self.dummy.clone()));
                Ok(None)
            }
        }
    }

    fn update(&self, record: &ClientRecord, expected_version: u64) -> Result<u64> {
        let mut inner = self.lock()?;
        let stored = inner
            .records
            .get(&record.id)
            .ok_or_else(|| Error::UnknownClient {
                client_id: record.id.to_string(),
            })?;
        if stored.version != expected_version {
            return Err(Error::Conflict {
                client_id: record.id.to_string(),
                expected: expected_version,
            });
        }
        inner.check_keys(record)?;
        let old = inner.records.insert(
            record.id.clone(),
            StoredClient {
                record: record.clone(),
                version: expected_version + 1,
            },
        );
        inner.index(old.as_ref().map(|s| &s.record), record);
        Ok(expected_version + 1)
    }

    fn list(&self) -> Result<Vec<StoredClient>> {
        Ok(self.lock()?.records.values().cloned().collect())
    }

    fn find_by_key(&self, kid: &str) -> Result<Option<StoredClient>> {
        let inner = self.lock()?;
        Ok(inner
            .keys
            .get(kid)
            .and_then(|id| inner.records.get(id))
            .cloned())
    }
}
