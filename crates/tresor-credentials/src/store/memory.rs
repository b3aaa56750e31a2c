//! An in-memory store, for tests and single-process tools.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::client::{ClientId, ClientRecord};
use crate::error::{Error, Result};
use crate::store::{CredentialStore, StoredClient};

/// A [`CredentialStore`] in process memory; everything is lost on drop.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<ClientId, StoredClient>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<ClientId, StoredClient>>> {
        self.records.lock().map_err(|_| Error::Storage {
            reason: "memory store lock poisoned".into(),
        })
    }
}

impl CredentialStore for MemoryStore {
    fn insert(&self, record: &ClientRecord) -> Result<()> {
        let mut records = self.lock()?;
        if records.contains_key(&record.id) {
            return Err(Error::AlreadyExists {
                client_id: record.id.to_string(),
            });
        }
        records.insert(
            record.id.clone(),
            StoredClient {
                record: record.clone(),
                version: 1,
            },
        );
        Ok(())
    }

    fn get(&self, id: &ClientId) -> Result<Option<StoredClient>> {
        Ok(self.lock()?.get(id).cloned())
    }

    fn update(&self, record: &ClientRecord, expected_version: u64) -> Result<u64> {
        let mut records = self.lock()?;
        let stored = records
            .get_mut(&record.id)
            .ok_or_else(|| Error::UnknownClient {
                client_id: record.id.to_string(),
            })?;
        if stored.version != expected_version {
            return Err(Error::Conflict {
                client_id: record.id.to_string(),
                expected: expected_version,
            });
        }
        stored.record = record.clone();
        stored.version += 1;
        Ok(stored.version)
    }

    fn list(&self) -> Result<Vec<StoredClient>> {
        Ok(self.lock()?.values().cloned().collect())
    }
}
