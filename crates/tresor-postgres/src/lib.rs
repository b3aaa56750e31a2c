//! PostgreSQL backends for tresor, for several API servers sharing one
//! state: [`PostgresStore`], a
//! [`CredentialStore`](tresor_credentials::CredentialStore) (feature
//! `credentials`, on by default).
//!
//! # Client and pool
//!
//! The store traits are synchronous, so this crate uses the synchronous
//! [`postgres`] client with an [`r2d2`] pool: a bounded number of
//! connections, a checkout timeout, and broken connections replaced on the
//! next checkout, so the store works again by itself when the server
//! returns. The `postgres` client runs its own small tokio runtime per
//! call: **do not call the store from inside an async task**; call it from
//! a plain thread or from `tokio::task::spawn_blocking`.
//!
//! # Failures
//!
//! Any failure of the server or of the connection (down, refused, timed
//! out, pool exhausted) is [`Error::Storage`](tresor_credentials::Error),
//! an outage ([`Error::is_unavailable`](tresor_credentials::Error::is_unavailable)):
//! the registry answers it as unavailable (503), never as an invalid
//! client. Errors never carry the connection string or its password.
//!
//! # Migrations
//!
//! [`PostgresStore::connect`] applies the versioned migrations in one
//! transaction under a transaction-level advisory lock, so several servers
//! starting at once migrate once. The version is kept in the
//! `tresor_schema` table; a database whose version is newer than
//! [`SCHEMA_VERSION`] is refused with
//! [`Error::SchemaTooNew`](tresor_credentials::Error::SchemaTooNew) and left
//! untouched, never downgraded.
//!
//! TLS (rustls) is not implemented yet: connect over loopback or a trusted
//! network only.

#[cfg(feature = "credentials")]
mod credentials;
mod pool;
mod tls;

#[cfg(feature = "credentials")]
pub use credentials::{PostgresStore, SCHEMA_VERSION};
pub use pool::PoolOptions;
pub use tls::{PostgresTls, TlsError};

pub use postgres::Config;
