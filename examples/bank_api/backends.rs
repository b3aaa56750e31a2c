//! Where the server's state lives: in the process and the data directory
//! (the embedded default), or, with `--postgres` and `--redis`, in servers
//! that several instances share.
//!
//! | state | embedded | shared |
//! | --- | --- | --- |
//! | client registrations | SQLite file | PostgreSQL (`tresor_postgres::PostgresStore`) |
//! | audit log | segment files | PostgreSQL (`tresor_postgres::PostgresLog`) |
//! | signature nonces | memory | Redis (`tresor_redis::RedisNonceStore`) |
//! | client-assertion `jti`s | memory | Redis (`tresor_redis::RedisReplayCache`) |
//! | rate limits | memory | Redis (`tresor_redis::RedisRateLimitStore`) |
//!
//! Everything here is built on a blocking thread: the PostgreSQL and Redis
//! clients block until their server answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tresor::audit::file::{FileStoreOptions, SyncPolicy};
use tresor::audit::{AuditLog, AuditSink, FileStore, Hash, LogStore};
use tresor::credentials::assertion::ReplayCache;
use tresor::credentials::{CredentialStore, RateLimitStore, SqliteStore};
use tresor::httpsig::{MemoryNonceStore, NonceStore};

use tresor_postgres::{PostgresLog, PostgresLogView, PostgresLogWriter, WriterOptions};

use crate::Options;
use crate::client::BoxError;
use crate::data::DataDir;

/// The name of the shared audit log within its database.
const AUDIT_LOG_NAME: &str = "bank-api";

/// The stores the server uses, embedded or shared.
pub(crate) struct Backends {
    pub(crate) store: Box<dyn CredentialStore>,
    pub(crate) nonces: Arc<dyn NonceStore>,
    /// `None`: the assertion verifier's own in-memory cache.
    pub(crate) replay: Option<Arc<dyn ReplayCache>>,
    /// `None`: rate limits counted in this process.
    pub(crate) rate: Option<Arc<dyn RateLimitStore>>,
    pub(crate) audit: AuditTrail,
    /// Names for the report: `embedded`, or what is shared.
    pub(crate) label: String,
}

/// Opens the backends `postgres` and `redis` name, the embedded ones for
/// what they do not. Blocks.
pub(crate) fn open(
    data: &DataDir,
    options: &Options,
    created: &mut Vec<&'static str>,
) -> Result<Backends, BoxError> {
    let (postgres, redis) = (options.postgres.as_deref(), options.redis.as_deref());
    let (store, audit): (Box<dyn CredentialStore>, AuditTrail) = match postgres {
        Some(url) => {
            let tls = match &options.postgres_ca {
                Some(ca) => Some(tresor_postgres::PostgresTls::from_ca_file(ca)?),
                None => None,
            };
            let store = match &tls {
                Some(tls) => tresor_postgres::PostgresStore::connect_tls(url, tls)?,
                None => tresor_postgres::PostgresStore::connect(url)?,
            };
            (Box::new(store), AuditTrail::postgres(url, tls.as_ref())?)
        }
        None => {
            let audit_dir = data.path("audit");
            if !audit_dir.exists() {
                created.push("audit log");
            }
            (
                Box::new(SqliteStore::open(data.path("credentials.sqlite"))?),
                AuditTrail::file(&audit_dir)?,
            )
        }
    };
    type Shared = (
        Arc<dyn NonceStore>,
        Option<Arc<dyn ReplayCache>>,
        Option<Arc<dyn RateLimitStore>>,
    );
    let (nonces, replay, rate): Shared = match redis {
        Some(url) => {
            let connection = match &options.redis_ca {
                Some(ca) => tresor_redis::RedisConnection::connect_tls(
                    url,
                    &tresor_redis::RedisTls::from_ca_file(ca)?,
                )?,
                None => tresor_redis::RedisConnection::connect(url)?,
            };
            (
                Arc::new(tresor_redis::RedisNonceStore::new(connection.clone())),
                Some(Arc::new(tresor_redis::RedisReplayCache::new(
                    connection.clone(),
                ))),
                Some(Arc::new(tresor_redis::RedisRateLimitStore::new(connection))),
            )
        }
        None => (
            Arc::new(MemoryNonceStore::new(2_000_000).per_key_limit(1_000_000)),
            None,
            None,
        ),
    };
    let label = match (postgres, redis) {
        (None, None) => "embedded".to_owned(),
        (Some(_), None) => "postgres".to_owned(),
        (None, Some(_)) => "redis".to_owned(),
        (Some(_), Some(_)) => "postgres+redis".to_owned(),
    };
    Ok(Backends {
        store,
        nonces,
        replay,
        rate,
        audit,
        label,
    })
}

/// The audit log: this process's segment files, or a log in PostgreSQL
/// that every instance appends to.
#[derive(Clone)]
pub(crate) enum AuditTrail {
    File(Arc<Mutex<AuditLog<FileStore>>>),
    /// The log, and the group-commit writer every handler appends through
    /// (each append returns once its batch is committed).
    Postgres {
        log: PostgresLog,
        writer: Arc<PostgresLogWriter>,
    },
}

impl AuditTrail {
    fn file(dir: &std::path::Path) -> Result<Self, BoxError> {
        // Group commit: durable within 256 records or 50 ms, and on every
        // checkpoint (which syncs first).
        let store = FileStore::open(
            dir,
            FileStoreOptions::default().with_sync(SyncPolicy::Group {
                entries: 256,
                interval: Duration::from_millis(50),
            }),
        )?;
        Ok(Self::File(Arc::new(Mutex::new(AuditLog::open(store)?))))
    }

    fn postgres(url: &str, tls: Option<&tresor_postgres::PostgresTls>) -> Result<Self, BoxError> {
        let log = match tls {
            Some(tls) => PostgresLog::connect_tls(url, tls, AUDIT_LOG_NAME)?,
            None => PostgresLog::connect(url, AUDIT_LOG_NAME)?,
        };
        let writer = Arc::new(log.writer(WriterOptions::default())?);
        Ok(Self::Postgres { log, writer })
    }

    /// A consistent view of the shared log as committed now, opened for
    /// proofs and reads.
    fn snapshot(log: &PostgresLog) -> Result<AuditLog<PostgresLogView>, BoxError> {
        Ok(AuditLog::open(log.snapshot()?)?)
    }

    /// Where handlers and the authentication hook append.
    pub(crate) fn sink(&self) -> Arc<dyn AuditSink> {
        match self {
            Self::File(log) => log.clone(),
            Self::Postgres { writer, .. } => writer.clone(),
        }
    }

    /// Whether calls block on a network round trip (then callers on the
    /// async runtime move them to the blocking pool).
    pub(crate) fn is_remote(&self) -> bool {
        match self {
            Self::File(_) => false,
            Self::Postgres { .. } => true,
        }
    }

    /// The log's size and tree head, after making every entry durable.
    pub(crate) fn head(&self) -> Result<(u64, Hash), BoxError> {
        match self {
            Self::File(log) => {
                let mut log = log.lock().map_err(|_| "audit log lock poisoned")?;
                log.sync()?;
                Ok((log.size(), log.root()))
            }
            // Committed is durable.
            Self::Postgres { log, .. } => {
                let head = log.head()?;
                Ok((head.size, head.root))
            }
        }
    }

    /// The number of entries.
    pub(crate) fn size(&self) -> Result<u64, BoxError> {
        match self {
            Self::File(log) => Ok(log.lock().map_err(|_| "audit log lock poisoned")?.size()),
            Self::Postgres { log, .. } => Ok(log.head()?.size),
        }
    }

    /// Entry `index` and its inclusion proof in the tree of `size`.
    pub(crate) fn proof(&self, index: u64, size: u64) -> Result<(Vec<u8>, Vec<Hash>), BoxError> {
        match self {
            Self::File(log) => proof_in(
                &*log.lock().map_err(|_| "audit log lock poisoned")?,
                index,
                size,
            ),
            Self::Postgres { log, .. } => proof_in(&Self::snapshot(log)?, index, size),
        }
    }

    /// Walks the whole log, recomputing every hash (`verify_log`); its
    /// size.
    pub(crate) fn verify(&self) -> Result<u64, BoxError> {
        match self {
            Self::File(log) => {
                let mut log = log.lock().map_err(|_| "audit log lock poisoned")?;
                log.sync()?;
                Ok(tresor::audit::verify_log(log.store(), None)?.size)
            }
            Self::Postgres { log, .. } => {
                Ok(tresor::audit::verify_log(&log.snapshot()?, None)?.size)
            }
        }
    }

    /// The entries `from..to`.
    pub(crate) fn entries(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        match self {
            Self::File(log) => entries_in(
                &*log.lock().map_err(|_| "audit log lock poisoned")?,
                from,
                to,
            ),
            Self::Postgres { log, .. } => entries_in(&Self::snapshot(log)?, from, to),
        }
    }
}

/// Entry `index` of `log` and its inclusion proof in the tree of `size`.
fn proof_in<S: LogStore>(
    log: &AuditLog<S>,
    index: u64,
    size: u64,
) -> Result<(Vec<u8>, Vec<Hash>), BoxError> {
    Ok((log.entry(index)?, log.inclusion_proof(index, size)?))
}

/// The entries `from..to` of `log`.
fn entries_in<S: LogStore>(
    log: &AuditLog<S>,
    from: u64,
    to: u64,
) -> Result<Vec<Vec<u8>>, BoxError> {
    (from..to)
        .map(|i| log.entry(i).map_err(Into::into))
        .collect()
}
