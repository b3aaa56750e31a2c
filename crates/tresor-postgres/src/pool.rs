//! The connection pool and the versioned migrations every store of this
//! crate shares.

// Without a store feature nothing uses the pool.
#![cfg_attr(not(any(feature = "credentials", feature = "audit")), allow(dead_code))]

use std::time::Duration;

use postgres::{Config, NoTls};
use r2d2_postgres::PostgresConnectionManager;

/// The advisory lock key migrations hold (any fixed number; "tresor").
const MIGRATION_LOCK: i64 = 0x7472_6573_6f72;

/// Pool settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// The most connections open at once (default 8).
    pub max_size: u32,
    /// How long a call waits for a connection before it fails as an
    /// outage (default 5 s).
    pub checkout_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            checkout_timeout: Duration::from_secs(5),
        }
    }
}

pub(crate) type Manager = PostgresConnectionManager<NoTls>;
pub(crate) type Pool = r2d2::Pool<Manager>;
pub(crate) type Conn = r2d2::PooledConnection<Manager>;

/// Parses a connection string (`postgres://…` or `key=value …`); `None`
/// if it is not one. The string is never echoed: it may hold a password.
pub(crate) fn parse(url: &str) -> Option<Config> {
    url.parse().ok()
}

/// A pool over `config`. Connections are made on demand (none at build
/// time), checked on checkout, and replaced when broken, so the pool works
/// again by itself once the server returns.
pub(crate) fn build(config: Config, options: PoolOptions) -> Pool {
    let manager = PostgresConnectionManager::new(config, NoTls);
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(0))
        .connection_timeout(options.checkout_timeout)
        .test_on_check_out(true)
        .build_unchecked(manager)
}

/// Why [`migrate`] refused or failed.
#[derive(Debug)]
pub(crate) enum MigrateError {
    /// The server or the connection failed.
    Db(postgres::Error),
    /// The database's version of the component is newer than this build.
    TooNew { found: i64, supported: i64 },
    /// The recorded version is negative.
    Negative(i64),
}

impl From<postgres::Error> for MigrateError {
    fn from(e: postgres::Error) -> Self {
        Self::Db(e)
    }
}

/// The schema version of `component` recorded in `tresor_schema` (0 when
/// the table or the row does not exist yet).
pub(crate) fn schema_version(
    conn: &mut postgres::Client,
    component: &str,
) -> Result<i64, postgres::Error> {
    let exists: bool = conn
        .query_one("SELECT to_regclass('tresor_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    conn.query_opt(
        "SELECT version FROM tresor_schema WHERE component = $1",
        &[&component],
    )?
    .map_or(Ok(0), |r| r.try_get(0))
}

/// Brings `component` to version `migrations.len()`: migration `i` takes
/// the schema from version `i` to `i + 1`. One transaction under a
/// transaction-level advisory lock, so several servers starting at once
/// migrate once; a newer version is refused and left untouched.
pub(crate) fn migrate(
    conn: &mut postgres::Client,
    component: &str,
    migrations: &[&str],
) -> Result<(), MigrateError> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tresor_schema (
            component text PRIMARY KEY,
            version bigint NOT NULL
         )",
    )?;
    let current: i64 = tx
        .query_opt(
            "SELECT version FROM tresor_schema WHERE component = $1",
            &[&component],
        )?
        .map_or(Ok(0), |r| r.try_get(0))?;
    if current > supported {
        return Err(MigrateError::TooNew {
            found: current,
            supported,
        });
    }
    if current < 0 {
        return Err(MigrateError::Negative(current));
    }
    let from = usize::try_from(current).unwrap_or(0);
    for sql in migrations.iter().skip(from) {
        tx.batch_execute(sql)?;
    }
    tx.execute(
        "INSERT INTO tresor_schema (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
        &[&component, &supported],
    )?;
    tx.commit()?;
    Ok(())
}
