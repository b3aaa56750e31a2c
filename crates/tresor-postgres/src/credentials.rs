//! [`PostgresStore`]: client records in PostgreSQL.

use postgres::{Config, Transaction};
use tresor_credentials::client::{ClientId, ClientRecord};
use tresor_credentials::store::{CredentialStore, StoredClient};
use tresor_credentials::{Error, Result};

use crate::handle::PoolHandle;
use crate::pool::{self, Conn, MigrateError, Pool, PoolOptions};
use crate::tls::PostgresTls;

/// The newest schema version of the credential tables this build knows.
pub const SCHEMA_VERSION: i64 = 1;

const _: () = assert!(SCHEMA_VERSION == MIGRATIONS.len() as i64);

/// The `component` of this store's row in `tresor_schema`.
const COMPONENT: &str = "credentials";

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["CREATE TABLE tresor_clients (
        id text PRIMARY KEY,
        version bigint NOT NULL,
        created bigint NOT NULL,
        updated bigint NOT NULL,
        record text NOT NULL
     );
     CREATE TABLE tresor_client_keys (
        kid text PRIMARY KEY,
        client_id text NOT NULL REFERENCES tresor_clients (id),
        tombstone boolean NOT NULL
     );
     CREATE INDEX tresor_client_keys_client ON tresor_client_keys (client_id);"];

/// A [`CredentialStore`] in PostgreSQL, with the behaviour of
/// [`SqliteStore`](tresor_credentials::SqliteStore) (it passes
/// `tresor_credentials::store::conformance`), shared by any number of
/// processes.
pub struct PostgresStore {
    pool: PoolHandle,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the configuration: it may hold a password.
        f.debug_struct("PostgresStore")
            .field("max_size", &self.pool.pool().map(Pool::max_size))
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or the
    /// `key=value` form) with the default [`PoolOptions`] and applies the
    /// migrations.
    pub fn connect(url: &str) -> Result<Self> {
        let config = pool::parse(url)
            .ok_or_else(|| Error::storage("invalid PostgreSQL connection string"))?;
        Self::from_config(config, PoolOptions::default())
    }

    /// Connects with `config` and `options` and applies the migrations.
    /// No TLS: `sslmode=require` in `config` fails rather than connecting
    /// in plaintext; use [`from_config_tls`](Self::from_config_tls).
    pub fn from_config(config: Config, options: PoolOptions) -> Result<Self> {
        Self::with_pool(pool::build(config, options))
    }

    /// [`connect`](Self::connect) over TLS: every connection is encrypted
    /// and the server authenticated by `tls` (its certificate chains to
    /// the trusted CA and names the host of `url`), or it is not made.
    /// `sslmode` may be absent, `prefer`, `require`, `verify-ca` or
    /// `verify-full` (all mean TLS, fully verified); `disable` is refused.
    pub fn connect_tls(url: &str, tls: &PostgresTls) -> Result<Self> {
        let config = pool::parse(url)
            .ok_or_else(|| Error::storage("invalid PostgreSQL connection string"))?;
        Self::from_config_tls(config, PoolOptions::default(), tls)
    }

    /// [`from_config`](Self::from_config) over TLS (see
    /// [`connect_tls`](Self::connect_tls)).
    pub fn from_config_tls(
        config: Config,
        options: PoolOptions,
        tls: &PostgresTls,
    ) -> Result<Self> {
        Self::with_pool(pool::build_tls(config, options, tls).map_err(Error::storage)?)
    }

    fn with_pool(pool: Pool) -> Result<Self> {
        let store = Self {
            pool: PoolHandle::new(pool),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64> {
        let mut conn = self.conn()?;
        pool::schema_version(&mut conn, COMPONENT).map_err(Error::storage)
    }

    fn conn(&self) -> Result<Conn> {
        self.pool
            .pool()
            .ok_or_else(|| Error::storage("the store is closed"))?
            .get()
            .map_err(Error::storage)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn()?;
        pool::migrate(&mut conn, COMPONENT, MIGRATIONS).map_err(|e| match e {
            MigrateError::Db(e) => Error::storage(e),
            MigrateError::TooNew { found, supported } => Error::SchemaTooNew { found, supported },
            MigrateError::Negative(v) => Error::Corrupt {
                reason: format!("negative schema version {v}"),
            },
        })
    }
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

/// A row of `(id, version, record)`, or of `(version, record)` when the id
/// is known; a column of an unexpected type is a storage failure (never a
/// panic).
fn decode_row(row: &postgres::Row, id: Option<&str>) -> Result<StoredClient> {
    let (id, first): (String, usize) = match id {
        Some(id) => (id.to_owned(), 0),
        None => (row.try_get(0).map_err(Error::storage)?, 1),
    };
    let version: i64 = row.try_get(first).map_err(Error::storage)?;
    let json: &str = row.try_get(first + 1).map_err(Error::storage)?;
    decode(&id, version, json)
}

fn encode(record: &ClientRecord) -> Result<String> {
    serde_json::to_string(record).map_err(Error::storage)
}

/// Rewrites the client's key index rows; [`Error::KeyExists`] if another
/// client holds one of its key ids (the transaction is then rolled back).
fn index_keys(tx: &mut Transaction<'_>, record: &ClientRecord) -> Result<()> {
    let id = record.id.as_str();
    tx.execute(
        "DELETE FROM tresor_client_keys WHERE client_id = $1",
        &[&id],
    )
    .map_err(Error::storage)?;
    let keys = record.public_keys.iter().map(|k| (k.kid.as_str(), false));
    let tombstones = record.revoked_kids.iter().map(|t| (t.kid.as_str(), true));
    for (kid, tombstone) in keys.chain(tombstones) {
        let inserted = tx
            .execute(
                "INSERT INTO tresor_client_keys (kid, client_id, tombstone)
                 VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING",
                &[&kid, &id, &tombstone],
            )
            .map_err(Error::storage)?;
        if inserted == 0 {
            return Err(Error::KeyExists {
                kid: kid.to_owned(),
            });
        }
    }
    Ok(())
}

impl CredentialStore for PostgresStore {
    fn insert(&self, record: &ClientRecord) -> Result<()> {
        let json = encode(record)?;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(Error::storage)?;
        let inserted = tx
            .execute(
                "INSERT INTO tresor_clients (id, version, created, updated, record)
                 VALUES ($1, 1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                &[&record.id.as_str(), &record.created, &record.updated, &json],
            )
            .map_err(Error::storage)?;
        if inserted == 0 {
            return Err(Error::AlreadyExists {
                client_id: record.id.to_string(),
            });
        }
        index_keys(&mut tx, record)?;
        tx.commit().map_err(Error::storage)
    }

    fn get(&self, id: &ClientId) -> Result<Option<StoredClient>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT version, record FROM tresor_clients WHERE id = $1",
                &[&id.as_str()],
            )
            .map_err(Error::storage)?;
        row.map(|r| decode_row(&r, Some(id.as_str()))).transpose()
    }

    fn update(&self, record: &ClientRecord, expected_version: u64) -> Result<u64> {
        let json = encode(record)?;
        let expected = i64::try_from(expected_version)
            .map_err(|_| Error::storage("record version out of range"))?;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(Error::storage)?;
        let changed = tx
            .execute(
                "UPDATE tresor_clients SET record = $1, updated = $2, version = version + 1
                 WHERE id = $3 AND version = $4",
                &[&json, &record.updated, &record.id.as_str(), &expected],
            )
            .map_err(Error::storage)?;
        if changed == 0 {
            let exists = tx
                .query_opt(
                    "SELECT version FROM tresor_clients WHERE id = $1",
                    &[&record.id.as_str()],
                )
                .map_err(Error::storage)?;
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
        index_keys(&mut tx, record)?;
        tx.commit().map_err(Error::storage)?;
        Ok(expected_version + 1)
    }

    fn list(&self) -> Result<Vec<StoredClient>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT id, version, record FROM tresor_clients ORDER BY id COLLATE \"C\"",
                &[],
            )
            .map_err(Error::storage)?;
        rows.iter().map(|r| decode_row(r, None)).collect()
    }

    fn find_by_key(&self, kid: &str) -> Result<Option<StoredClient>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT c.id, c.version, c.record
                 FROM tresor_client_keys AS k JOIN tresor_clients AS c ON c.id = k.client_id
                 WHERE k.kid = $1",
                &[&kid],
            )
            .map_err(Error::storage)?;
        row.map(|r| decode_row(&r, None)).transpose()
    }
}
