//! The connection pool and the versioned migrations every store of this
//! crate shares.

// Without a store feature nothing uses the pool.
#![cfg_attr(not(any(feature = "credentials", feature = "audit")), allow(dead_code))]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::{Config, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::tls::{PostgresTls, TlsError};

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

/// The pool's one connector type, with or without TLS, so that `Pool`
/// and `Conn` stay single concrete types: rustls when the pool was built
/// with a [`PostgresTls`] ([`build_tls`]), none otherwise ([`build`]).
#[derive(Clone)]
pub(crate) struct Connector(Option<MakeRustlsConnect>);

type RustlsConnect = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;
type RustlsStream = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;

impl MakeTlsConnect<Socket> for Connector {
    type Stream = RustlsStream;
    type TlsConnect = Connect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, Self::Error> {
        Ok(Connect(match &mut self.0 {
            Some(rustls) => Some(MakeTlsConnect::<Socket>::make_tls_connect(rustls, domain)?),
            None => None,
        }))
    }
}

/// One handshake of a [`Connector`].
pub(crate) struct Connect(Option<RustlsConnect>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl TlsConnect<Socket> for Connect {
    type Stream = RustlsStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream, BoxError>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        match self.0 {
            Some(rustls) => {
                let handshake = rustls.connect(stream);
                Box::pin(async move { handshake.await.map_err(BoxError::from) })
            }
            // Reached only with `sslmode=require` and no `PostgresTls`
            // (without TLS, `prefer` is turned into `disable` by `build`).
            None => Box::pin(std::future::ready(Err(BoxError::from(
                "sslmode=require but no TLS configuration (connect with a PostgresTls)",
            )))),
        }
    }
}

/// The pool's connection manager: connects with [`Connector`], tests a
/// connection on checkout with an empty query.
pub(crate) struct Manager {
    config: Config,
    connector: Connector,
}

/// A failed connection or check, as the pool reports it: the `postgres`
/// error with its causes in the message (the pool keeps only the
/// message), so that a refused certificate says why. Never the
/// connection string: the `postgres` crate's errors do not carry it.
#[derive(Debug)]
pub(crate) struct ConnectError(postgres::Error);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(&self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

// No `source`: the message already holds the causes.
impl std::error::Error for ConnectError {}

impl r2d2::ManageConnection for Manager {
    type Connection = postgres::Client;
    type Error = ConnectError;

    fn connect(&self) -> Result<postgres::Client, ConnectError> {
        self.config
            .connect(self.connector.clone())
            .map_err(ConnectError)
    }

    fn is_valid(&self, conn: &mut postgres::Client) -> Result<(), ConnectError> {
        conn.simple_query("").map(|_| ()).map_err(ConnectError)
    }

    fn has_broken(&self, conn: &mut postgres::Client) -> bool {
        conn.is_closed()
    }
}

pub(crate) type Pool = r2d2::Pool<Manager>;
pub(crate) type Conn = r2d2::PooledConnection<Manager>;

/// Parses a connection string (`postgres://…` or `key=value …`); `None`
/// if it is not one. The string is never echoed: it may hold a password.
///
/// libpq's `sslmode=verify-full` and `sslmode=verify-ca`, which the
/// `postgres` crate does not parse, are read as `require`: with a
/// [`PostgresTls`] every TLS connection verifies the chain and the host
/// name (stricter than `verify-ca`), and without one `require` fails
/// rather than connecting in plaintext.
pub(crate) fn parse(url: &str) -> Option<Config> {
    if let Ok(config) = url.parse() {
        return Some(config);
    }
    let rewritten = url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    if rewritten == url {
        return None;
    }
    rewritten.parse().ok()
}

/// A pool over `config` without TLS. Connections are made on demand (none
/// at build time), checked on checkout, and replaced when broken, so the
/// pool works again by itself once the server returns.
///
/// `sslmode=prefer` (the default) connects in plaintext, as the `postgres`
/// crate's `NoTls` does; `sslmode=require` fails to connect (there is no
/// TLS configuration to connect with), never falls back to plaintext.
pub(crate) fn build(mut config: Config, options: PoolOptions) -> Pool {
    if config.get_ssl_mode() == SslMode::Prefer {
        config.ssl_mode(SslMode::Disable);
    }
    build_with(config, options, Connector(None))
}

/// A pool over `config` whose every connection is TLS through `tls`, as
/// [`build`] otherwise. `sslmode=prefer` and `require` both mean TLS or no
/// connection; `sslmode=disable` is refused.
pub(crate) fn build_tls(
    mut config: Config,
    options: PoolOptions,
    tls: &PostgresTls,
) -> Result<Pool, TlsError> {
    if config.get_ssl_mode() == SslMode::Disable {
        return Err(TlsError::SslModeDisable);
    }
    config.ssl_mode(SslMode::Require);
    let connector = MakeRustlsConnect::new(tls.config().as_ref().clone());
    Ok(build_with(config, options, Connector(Some(connector))))
}

fn build_with(config: Config, options: PoolOptions, connector: Connector) -> Pool {
    let manager = Manager { config, connector };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_verify_modes_read_as_require() {
        for url in [
            "postgres://api@db.example:5432/tresor?sslmode=verify-full",
            "postgres://api@db.example:5432/tresor?sslmode=verify-ca",
            "host=db.example user=api sslmode=verify-full",
            "host=db.example user=api sslmode=require",
        ] {
            let config = parse(url).expect(url);
            assert_eq!(config.get_ssl_mode(), SslMode::Require, "{url}");
        }
        let config = parse("host=db.example user=api sslmode=disable").expect("parses");
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        let config = parse("host=db.example user=api").expect("parses");
        assert_eq!(config.get_ssl_mode(), SslMode::Prefer);
        assert!(parse("host=db.example sslmode=verify-everything").is_none());
        assert!(parse("postgres://api@db.example/tresor?sslmode=allow").is_none());
    }
}
