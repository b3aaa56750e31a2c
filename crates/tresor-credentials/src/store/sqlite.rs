//! The embedded SQLite store, the default.
//!
//! # Schema (version 3)
//!
//! ```sql
//! CREATE TABLE clients (
//!     id      TEXT    PRIMARY KEY NOT NULL,  -- the client id
//!     version INTEGER NOT NULL CHECK (version >= 1),
//!     created INTEGER NOT NULL,              -- UNIX seconds
//!     updated INTEGER NOT NULL,              -- UNIX seconds
//!     record  TEXT    NOT NULL               -- the ClientRecord as JSON
//! ) STRICT;
//!
//! -- Version 2: which client holds each public key (RFC 7638 thumbprint),
//! -- so a signature's keyid finds its client without a scan, and a key
//! -- belongs to one client only. Rewritten with the record, in the same
//! -- transaction.
//! CREATE TABLE client_keys (
//!     kid       TEXT PRIMARY KEY NOT NULL,
//!     client_id TEXT NOT NULL REFERENCES clients (id)
//! ) STRICT;
//! CREATE INDEX client_keys_by_client ON client_keys (client_id);
//!
//! -- Version 3: the ids of revoked keys whose material was pruned from the
//! -- record (ClientRecord::revoked_kids) are indexed too, for ever, so a
//! -- revoked key id keeps its owner and cannot be registered again; 1
//! -- marks such a tombstone row. (The version also stops an older build,
//! -- which would drop the tombstones when it rewrites a record, from
//! -- opening the database.)
//! ALTER TABLE client_keys
//!     ADD COLUMN tombstone INTEGER NOT NULL DEFAULT 0 CHECK (tombstone IN (0, 1));
//! ```
//!
//! The record column is the JSON serialisation of
//! [`ClientRecord`](crate::client::ClientRecord): name, scopes, status, times,
//! secret verifiers (id, pepper version, base64url MAC, created, expires,
//! revoked), registered public keys (kid, public JWK, alg, state,
//! validity) and the ids of pruned revoked keys (kid, time pruned). No
//! column can hold a secret.
//!
//! # Migrations
//!
//! The schema version is `PRAGMA user_version` (0 for an empty database).
//! At open, the migrations after the database's version are applied in
//! order, each in its own `BEGIN IMMEDIATE` transaction that also sets the
//! new version, so a crash leaves the database at a whole version and two
//! processes opening it at once do not both migrate. A database whose
//! version is newer than [`SCHEMA_VERSION`] is refused
//! ([`Error::SchemaTooNew`](crate::Error::SchemaTooNew)), never modified.
//!
//! The database runs in WAL mode with `synchronous = FULL` (an update is
//! durable when `update` returns) and `secure_delete = ON`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::client::{ClientId, ClientRecord};
use crate::error::{Error, Result};
use crate::store::{CredentialStore, StoredClient};

/// The migrations, in order; migration `i` takes the schema from version
/// `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE clients (
        id      TEXT    PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        record  TEXT    NOT NULL
    ) STRICT;",
    // Version 2: the key index, filled from the records already stored.
    "CREATE TABLE client_keys (
        kid       TEXT PRIMARY KEY NOT NULL,
        client_id TEXT NOT NULL REFERENCES clients (id)
    ) STRICT;
    CREATE INDEX client_keys_by_client ON client_keys (client_id);
    INSERT INTO client_keys (kid, client_id)
        SELECT json_extract(k.value, '$.kid'), c.id
        FROM clients AS c, json_each(c.record, '$.public_keys') AS k;",
    // Version 3: revoked key tombstones in the key index (no record of an
    // older version holds one).
    "ALTER TABLE client_keys
        ADD COLUMN tombstone INTEGER NOT NULL DEFAULT 0 CHECK (tombstone IN (0, 1));",
];

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A [`CredentialStore`] in an SQLite database file (SQLite compiled in).
///
/// One connection behind a mutex; SQLite's own locking (with a 5 s busy
/// timeout) serialises writers across processes.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The JSON of a typical record, decoded on a miss as a found record
    /// is ([`CredentialStore::get`]).
    dummy_json: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it
    /// to [`SCHEMA_VERSION`]; refuses a newer schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::setup(conn)
    }

    /// A database in memory (for tests).
    pub fn open_in_memory() -> Result<Self> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        let dummy = ClientRecord::timing_dummy();
        Ok(Self {
            conn: Mutex::new(conn),
            dummy_json: encode(&dummy)?,
        })
    }

    /// The database's schema version.
    pub fn schema_version(&self) -> Result<i64> {
        user_version(&*self.lock()?)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::storage("the sqlite store's lock is poisoned"))
    }
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = user_version(&tx)?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(sql) = usize::try_from(current)
            .ok()
            .and_then(|i| MIGRATIONS.get(i))
        else {
            if current < 0 {
                return Err(Error::Corrupt {
                    reason: format!("negative schema version {current}"),
                });
            }
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
    }
}

fn to_i64(version: u64) -> Result<i64> {
    i64::try_from(version).map_err(|_| Error::storage("record version out of range"))
}

fn decode(id: &str, version: i64, json: &str) -> Result<StoredClient> {
    let record: ClientRecord = serde_json::from_str(json).map_err(|e| Error::Corrupt {
        reason: format!("client {id}: {e}"),
    })?;
    if record.id.as_str() != id {
        return Err(Error::Corrupt {
            reason: format!("row {id} holds the record of {}", record.id),
        });
    }
    let version = u64::try_from(version).map_err(|_| Error::Corrupt {
        reason: format!("client {id}: negative version"),
    })?;
    Ok(StoredClient { record, version })
}

fn encode(record: &ClientRecord) -> Result<String> {
    serde_json::to_string(record).map_err(Error::storage)
}

/// Rewrites the client's rows of the key index (registered keys and
/// revoked tombstones); [`Error::KeyExists`] if another client holds one of
/// its key ids (the transaction is then dropped, so nothing is written).
fn index_keys(tx: &rusqlite::Transaction<'_>, record: &ClientRecord) -> Result<()> {
    tx.execute(
        "DELETE FROM client_keys WHERE client_id = ?1",
        params![record.id.as_str()],
    )?;
    let keys = record.public_keys.iter().map(|k| (k.kid.as_str(), 0));
    let tombstones = record.revoked_kids.iter().map(|t| (t.kid.as_str(), 1));
    for (kid, tombstone) in keys.chain(tombstones) {
        let inserted = tx.execute(
            "INSERT INTO client_keys (kid, client_id, tombstone) VALUES (?1, ?2, ?3)
             ON CONFLICT (kid) DO NOTHING",
            params![kid, record.id.as_str(), tombstone],
        )?;
        if inserted == 0 {
            return Err(Error::KeyExists {
                kid: kid.to_owned(),
            });
        }
    }
    Ok(())
}

impl CredentialStore for SqliteStore {
    fn insert(&self, record: &ClientRecord) -> Result<()> {
        let json = encode(record)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT INTO clients (id, version, created, updated, record)
             VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
            params![record.id.as_str(), record.created, record.updated, json],
        )?;
        if inserted == 0 {
            return Err(Error::AlreadyExists {
                client_id: record.id.to_string(),
            });
        }
        index_keys(&tx, record)?;
        tx.commit()?;
        Ok(())
    }

    fn get(&self, id: &ClientId) -> Result<Option<StoredClient>> {
        let conn = self.lock()?;
        let row: Option<(i64, String)> = conn
            .query_row(
                "SELECT version, record FROM clients WHERE id = ?1",
                params![id.as_str()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        match row {
            Some((version, json)) => decode(id.as_str(), version, &json).map(Some),
            None => {
                // The same work as a hit: copy and decode a record of a
                // typical size, then drop it.
                let json = std::hint::black_box(self.dummy_json.clone());
                let dummy = decode(ClientRecord::timing_dummy_id(), 1, &json);
                drop(std::hint::black_box(dummy));
                Ok(None)
            }
        }
    }

    fn update(&self, record: &ClientRecord, expected_version: u64) -> Result<u64> {
        let json = encode(record)?;
        let expected = to_i64(expected_version)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE clients SET record = ?1, updated = ?2, version = version + 1
             WHERE id = ?3 AND version = ?4",
            params![json, record.updated, record.id.as_str(), expected],
        )?;
        if changed == 0 {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT version FROM clients WHERE id = ?1",
                    params![record.id.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            return Err(match exists {
                None => Error::UnknownClient {
                    client_id: record.id.to_string(),
                },
                Some(_) => Error::Conflict {
                    client_id: record.id.to_string(),
                    expected: expected_version,
                },
            });
        }
        index_keys(&tx, record)?;
        tx.commit()?;
        Ok(expected_version + 1)
    }

    fn list(&self) -> Result<Vec<StoredClient>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("SELECT id, version, record FROM clients ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, version, json) = row?;
            out.push(decode(&id, version, &json)?);
        }
        Ok(out)
    }

    fn find_by_key(&self, kid: &str) -> Result<Option<StoredClient>> {
        let conn = self.lock()?;
        let row: Option<(String, i64, String)> = conn
            .query_row(
                "SELECT c.id, c.version, c.record
                 FROM client_keys AS k JOIN clients AS c ON c.id = k.client_id
                 WHERE k.kid = ?1",
                params![kid],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        row.map(|(id, version, json)| decode(&id, version, &json))
            .transpose()
    }
}
