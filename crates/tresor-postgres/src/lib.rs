//! PostgreSQL backends for tresor, for several API servers sharing one
//! state:
//!
//! - [`PostgresStore`], a
//!   [`CredentialStore`](tresor_credentials::CredentialStore) (feature
//!   `credentials`, on by default);
//! - [`PostgresLog`], a `tresor_audit` log that several processes append
//!   to at once, serialised on a row lock of its tree head, with
//!   [`PostgresLogWriter`] (group commit for request handlers, a
//!   [`tresor_audit::AuditSink`]) and
//!   [`PostgresLogView`] (a `tresor_audit::LogStore` snapshot for proofs
//!   and [`verify_log`](tresor_audit::verify_log)); feature `audit`, on by
//!   default. The [`audit`] module documents the design.
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
//! For the credential store, any failure of the server or of the
//! connection (down, refused, timed out, pool exhausted) is
//! [`Error::Storage`](tresor_credentials::Error),
//! an outage ([`Error::is_unavailable`](tresor_credentials::Error::is_unavailable)):
//! the registry answers it as unavailable (503), never as an invalid
//! client. For the audit log, an outage is
//! [`tresor_audit::Error::Unavailable`] and other database failures
//! [`tresor_audit::Error::Backend`]. Errors never carry the connection
//! string or its password.
//!
//! # Migrations
//!
//! [`PostgresStore::connect`] and [`PostgresLog::connect`] apply their
//! component's versioned migrations (`credentials`, `audit`) in one
//! transaction under a transaction-level advisory lock, so several servers
//! starting at once migrate once. The version is kept in the
//! `tresor_schema` table; a database whose version is newer than
//! [`SCHEMA_VERSION`] (credentials) or [`AUDIT_SCHEMA_VERSION`] is refused
//! (credentials: [`Error::SchemaTooNew`](tresor_credentials::Error::SchemaTooNew))
//! and left untouched, never downgraded.
//!
//!
//! # TLS
//!
//! [`PostgresStore::connect_tls`] connects through rustls on the ring
//! provider (no OpenSSL) with a [`PostgresTls`]: the private CA that alone
//! is trusted, and optionally a client certificate (mutual TLS). Every
//! connection is encrypted and the server authenticated, or it is not
//! made:
//!
//! - the server's certificate must chain to the CA and name the `host` of
//!   the connection string (a DNS name, or an IP address among the
//!   certificate's IP addresses; with `hostaddr`, `host` is still the name
//!   verified); there is no mode that accepts any certificate;
//! - `sslmode` absent, `prefer`, `require`, `verify-ca` or `verify-full`
//!   all mean TLS, fully verified (stricter than libpq's `prefer`,
//!   `require` and `verify-ca`); a server without TLS is refused, never
//!   used in plaintext; `sslmode=disable` is refused
//!   ([`TlsError::SslModeDisable`]).
//!
//! Without a `PostgresTls` ([`PostgresStore::connect`]), `sslmode=prefer`
//! (the default) and `disable` connect in plaintext, and `sslmode=require`
//! (or `verify-ca`, `verify-full`) fails to connect rather than fall back.
//! A refused certificate is an outage like any failed connection; its
//! error says why.
//!
//! ```no_run
//! # #[cfg(feature = "credentials")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tresor_postgres::{PostgresStore, PostgresTls};
//!
//! let tls = PostgresTls::from_ca_file("/etc/bank/postgres-ca.pem")?
//!     // Optional: mutual TLS (`clientcert=verify-full` or `cert` in pg_hba.conf).
//!     .client_auth_files("/etc/bank/api-client.pem", "/etc/bank/api-client-key.pem")?;
//! let store = PostgresStore::connect_tls(
//!     "postgres://api@db.bank.internal:5432/tresor?sslmode=verify-full",
//!     &tls,
//! )?;
//! # let _ = store;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "credentials"))]
//! # fn main() {}
//! ```

// The crate docs link to the items of every store feature.
#![cfg_attr(
    not(all(feature = "credentials", feature = "audit")),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(feature = "audit")]
pub mod audit;
#[cfg(feature = "credentials")]
mod credentials;
mod handle;
mod pool;
mod tls;

#[cfg(feature = "audit")]
pub use audit::{
    AUDIT_SCHEMA_VERSION, AppendReceipt, PostgresLog, PostgresLogView, PostgresLogWriter, TreeHead,
    WriterOptions,
};

#[cfg(feature = "credentials")]
pub use credentials::{PostgresStore, SCHEMA_VERSION};
pub use pool::PoolOptions;
pub use tls::{PostgresTls, TlsError};

pub use postgres::Config;

/// The README's examples, compiled as doctests.
#[cfg(all(doctest, feature = "credentials", feature = "audit"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
