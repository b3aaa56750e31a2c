//! [`PostgresLog`]: a `tresor_audit` log in PostgreSQL that any number of
//! writer processes append to at once, without a fork, a gap or a duplicate
//! index.
//!
//! # Tables
//!
//! Component `audit` in `tresor_schema`, version [`AUDIT_SCHEMA_VERSION`]:
//!
//! - `tresor_audit_logs (log, size, root, edge)`: one **head row** per log
//!   name: the number of entries, the RFC 9162 tree head, and the right
//!   edge of the tree (the hashes of the perfect subtrees covering
//!   `[0, size)`, largest first, 32 bytes each, as
//!   [`CompactRange::hashes`] lists them). The tree head lives in the
//!   database, not in any writer's memory.
//! - `tresor_audit_entries (log, idx, bytes)`, primary key `(log, idx)`:
//!   the entries, as `tresor_audit::LogStore` stores them.
//! - `tresor_audit_nodes (log, level, idx, hash)`, primary key
//!   `(log, level, idx)`: the perfect-subtree hashes (level 0: leaf hashes),
//!   from which proofs are read in O(log n).
//!
//! Rows of the entry and node tables are inserted once and never updated
//! or deleted by this crate; only the head row changes.
//!
//! # Appending: one transaction per batch, serialised on the head row
//!
//! [`PostgresLog::append_batch`] hashes the leaves, then in one transaction:
//!
//! 1. `SELECT size, root, edge … FOR UPDATE` on the log's head row. The row
//!    lock is what serialises writers: a second writer's `SELECT … FOR
//!    UPDATE` waits until the first commits or rolls back, then reads the
//!    head as the first left it. Every writer therefore extends the tree
//!    the previous one committed: no two batches can claim the same
//!    indexes (a fork) or leave indexes out (a gap). The primary keys make
//!    a duplicate index impossible even if that reasoning were wrong.
//!
//!    Why this lock rather than another: it belongs to the transaction, so
//!    `COMMIT`, `ROLLBACK` and a dead connection all release it, and no
//!    writer can hold it outside the transaction that uses it (a session
//!    advisory lock can outlive an error path); it is per log, so logs in
//!    one database do not wait for each other; under the default `READ
//!    COMMITTED` isolation the waiting writer then reads the head as just
//!    committed, with no retry loop (`SERIALIZABLE` would instead abort
//!    all but one of the concurrent writers with serialization failures to
//!    retry); and readers, which take no lock, never wait for it. One
//!    operational caveat: a writer whose machine vanishes without closing
//!    its connection holds the lock until the server notices, so set
//!    `idle_in_transaction_session_timeout` (a few seconds is plenty: a
//!    batch holds the lock for two statements) or TCP keepalives on the
//!    server. A writer process that dies is noticed at once.
//! 2. Rebuilds the right edge ([`CompactRange`]) from the head row, checks
//!    it against the stored root, and appends the leaves with
//!    `tresor_audit::merkle`: the new node hashes, size and root. No hash is
//!    computed here but through `tresor_audit`.
//! 3. One statement inserts every entry and node (arrays through `UNNEST`)
//!    and updates the head row; then `COMMIT`.
//!
//! Five round trips per batch whatever its size (the pool's connection
//! check, `BEGIN`, the locked read, the write, `COMMIT`; the two statements
//! go with typed parameters, so the server parses and runs each in one
//! round trip, with no separate prepare), so writers batch: a batch of 100
//! entries costs little more than one entry.
//! [`PostgresLogWriter`] does the batching for servers whose request
//! handlers append one record at a time (group commit).
//!
//! # What "acknowledged" means
//!
//! An append returns `Ok` only after `COMMIT` succeeded: the entries are
//! then as durable as the server makes a commit (with the default
//! `synchronous_commit = on`, flushed to the server's write-ahead log; with
//! synchronous replication, also on the standbys it names). A writer killed
//! before its `COMMIT`, or a connection lost, leaves nothing: the server
//! rolls the transaction back, and the row lock passes to the next writer.
//!
//! An error does **not** always prove the entries absent: when the
//! connection breaks while the `COMMIT` is under way, the server may have
//! committed without the answer reaching the writer. Such a batch is
//! whole (never partial), at consecutive indexes; appending it again
//! stores it a second time, at new indexes. A producer that must not
//! duplicate records carries a unique id in them (the record's request id)
//! and checks for it after an outage.
//!
//! # Reading: a snapshot pinned at a size
//!
//! [`PostgresLog::snapshot`] reads the head row (no lock: readers never
//! wait for writers, nor make them wait) and returns a [`PostgresLogView`]
//! of that many entries. Since entry and node rows below a committed size
//! never change, the view reads a consistent log however long it is used
//! and whatever writers do meanwhile; rows written later are outside its
//! size and never read. The view is a `tresor_audit::LogStore`:
//! [`AuditLog::open`](tresor_audit::AuditLog::open) on it gives tree heads,
//! inclusion and consistency proofs and entries, and
//! [`verify_log`](tresor_audit::verify_log) checks the whole log. Entries
//! and the nodes they complete are fetched in pages (hundreds of entries a
//! query), so a full verification makes a few queries per thousand
//! entries.
//!
//! # Failures
//!
//! A server that is down or restarting, a broken connection, or no pooled
//! connection within the checkout timeout is
//! [`Error::Unavailable`]
//! ([`Error::is_unavailable`]); other
//! database errors are [`Error::Backend`]; a
//! head row that disagrees with itself, or a missing row below the head, is
//! [`Error::Corrupt`]. The pool replaces
//! broken connections, so appends work again by themselves once the server
//! returns. Errors and `Debug` never show the connection string.
//!
//! ```no_run
//! use tresor_audit::{AuditLog, verify_log};
//! use tresor_postgres::PostgresLog;
//!
//! let log = PostgresLog::connect("postgres://tresor@127.0.0.1:5432/tresor", "payments")?;
//! let receipt = log.append_batch(&[b"first entry".as_slice(), b"second entry"])?;
//! assert_eq!(receipt.size - receipt.first, 2);
//!
//! let snapshot = AuditLog::open(log.snapshot()?)?;
//! let proof = snapshot.inclusion_proof(receipt.first, snapshot.size())?;
//! let report = verify_log(snapshot.store(), None)?;
//! assert_eq!(report.root, snapshot.root());
//! # let _ = proof;
//! # Ok::<(), tresor_audit::Error>(())
//! ```

mod view;
mod writer;

use std::sync::Arc;

use postgres::Config;
use postgres::types::Type;
use tresor_audit::merkle::{self, CompactRange};
use tresor_audit::{AuditRecord, Error, Hash, Result};

use crate::handle::PoolHandle;
use crate::pool::{self, Conn, MigrateError, Pool, PoolOptions};
use crate::tls::PostgresTls;

pub use view::PostgresLogView;
pub use writer::{PostgresLogWriter, WriterOptions};

/// The newest schema version of the audit tables this build knows.
pub const AUDIT_SCHEMA_VERSION: i64 = 1;

const _: () = assert!(AUDIT_SCHEMA_VERSION == MIGRATIONS.len() as i64);

/// The `component` of the audit tables' row in `tresor_schema`.
const COMPONENT: &str = "audit";

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["CREATE TABLE tresor_audit_logs (
        log text PRIMARY KEY,
        size bigint NOT NULL CHECK (size >= 0),
        root bytea NOT NULL CHECK (octet_length(root) = 32),
        edge bytea NOT NULL CHECK (octet_length(edge) % 32 = 0)
     );
     CREATE TABLE tresor_audit_entries (
        log text NOT NULL,
        idx bigint NOT NULL CHECK (idx >= 0),
        bytes bytea NOT NULL,
        PRIMARY KEY (log, idx)
     );
     CREATE TABLE tresor_audit_nodes (
        log text NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
        idx bigint NOT NULL CHECK (idx >= 0),
        hash bytea NOT NULL CHECK (octet_length(hash) = 32),
        PRIMARY KEY (log, level, idx)
     );"];

/// The longest entry accepted, in bytes: 16 MiB, as `tresor_audit::FileStore`.
pub const MAX_ENTRY_LEN: usize = 16 << 20;

/// The most entries in one [`PostgresLog::append_batch`].
pub const MAX_BATCH_ENTRIES: usize = 10_000;

/// The most bytes of entries in one [`PostgresLog::append_batch`]: 64 MiB.
pub const MAX_BATCH_BYTES: usize = 64 << 20;

/// The longest log name, in bytes.
pub const MAX_LOG_NAME_LEN: usize = 128;

/// What a committed batch got: its entries are at indexes
/// `first..size`, and `root` is the tree head of the log's first `size`
/// entries (the batch's last entry included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendReceipt {
    /// The index of the batch's first entry.
    pub first: u64,
    /// The log's size right after the batch: its last entry is `size - 1`.
    pub size: u64,
    /// The tree head at `size`.
    pub root: Hash,
}

impl AppendReceipt {
    /// The indexes of the batch's entries, in order.
    pub fn indexes(&self) -> std::ops::Range<u64> {
        self.first..self.size
    }
}

/// A log's committed tree head: its size and root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeHead {
    /// The number of entries.
    pub size: u64,
    /// The RFC 9162 tree head of those entries.
    pub root: Hash,
}

/// An audit log in PostgreSQL, named within its database, that any number
/// of threads and processes append to at once; see the [module
/// docs](self) for the design and its guarantees.
///
/// Cheap to clone: clones share the connection pool. It may be dropped
/// anywhere, an async task included: the last clone closes the pool's
/// connections on a thread of its own.
#[derive(Clone)]
pub struct PostgresLog {
    pool: Arc<PoolHandle>,
    name: Arc<str>,
}

impl std::fmt::Debug for PostgresLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the configuration: it may hold a password.
        f.debug_struct("PostgresLog")
            .field("name", &self.name)
            .field("max_size", &self.pool.pool().map(Pool::max_size))
            .finish_non_exhaustive()
    }
}

impl PostgresLog {
    /// Connects to `url` (`postgres://user@host:port/db`, or the
    /// `key=value` form) with the default [`PoolOptions`], applies the
    /// migrations, and creates the log `name` if it does not exist.
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::from_config`]; [`Error::Malformed`] if `url` is
    /// not a connection string (the message never repeats it).
    pub fn connect(url: &str, name: &str) -> Result<Self> {
        Self::from_config(parse_url(url)?, PoolOptions::default(), name)
    }

    /// Connects with `config` and `options`, applies the migrations, and
    /// creates the log `name` (empty) if it does not exist. No TLS:
    /// `sslmode=require` in `config` fails rather than connecting in
    /// plaintext; use [`PostgresLog::from_config_tls`].
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a name that is empty, longer than
    /// [`MAX_LOG_NAME_LEN`] or holds control characters;
    /// [`Error::Unavailable`] if the server cannot be reached;
    /// [`Error::Backend`] if the database's audit schema is newer than
    /// [`AUDIT_SCHEMA_VERSION`] (left untouched) or a statement fails.
    pub fn from_config(config: Config, options: PoolOptions, name: &str) -> Result<Self> {
        check_name(name)?;
        Self::create(pool::build(config, options), name)
    }

    /// [`PostgresLog::connect`] over TLS: every connection is encrypted and
    /// the server authenticated by `tls` (its certificate chains to the
    /// trusted CA and names the host of `url`), or it is not made (see
    /// [`PostgresTls`]).
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::from_config_tls`]; [`Error::Malformed`] if `url`
    /// is not a connection string.
    pub fn connect_tls(url: &str, tls: &PostgresTls, name: &str) -> Result<Self> {
        Self::from_config_tls(parse_url(url)?, PoolOptions::default(), tls, name)
    }

    /// [`PostgresLog::from_config`] over TLS (see
    /// [`PostgresLog::connect_tls`]).
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::from_config`]; [`Error::Backend`] if `config`
    /// says `sslmode=disable`. A certificate refused is an outage
    /// ([`Error::Unavailable`]) like any failed connection, its message
    /// saying why.
    pub fn from_config_tls(
        config: Config,
        options: PoolOptions,
        tls: &PostgresTls,
        name: &str,
    ) -> Result<Self> {
        check_name(name)?;
        Self::create(
            pool::build_tls(config, options, tls).map_err(Error::backend)?,
            name,
        )
    }

    /// Migrates and creates the log `name` on `pool`.
    fn create(pool: Pool, name: &str) -> Result<Self> {
        let log = Self {
            pool: Arc::new(PoolHandle::new(pool)),
            name: name.into(),
        };
        let mut conn = log.conn()?;
        pool::migrate(&mut conn, COMPONENT, MIGRATIONS).map_err(|e| match e {
            MigrateError::Db(e) => db_error(e),
            MigrateError::TooNew { found, supported } => Error::backend(format!(
                "the database's audit schema is version {found}, newer than the \
                 {supported} this build knows: upgrade tresor"
            )),
            MigrateError::Negative(v) => Error::Corrupt {
                position: "tresor_schema".into(),
                reason: format!("negative audit schema version {v}"),
            },
        })?;
        conn.execute(
            "INSERT INTO tresor_audit_logs (log, size, root, edge) VALUES ($1, 0, $2, '')
             ON CONFLICT (log) DO NOTHING",
            &[&&*log.name, &merkle::empty_root().as_slice()],
        )
        .map_err(db_error)?;
        drop(conn);
        Ok(log)
    }

    /// Opens the existing log `name` without changing the database: no
    /// migration, no log created. For readers and auditors, who should not
    /// need the right to create tables.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] of kind [`NotFound`](std::io::ErrorKind::NotFound)
    /// (as `FileStore` reports a missing log) if the database holds no
    /// audit tables or no log `name`; [`Error::Backend`] if its audit
    /// schema is not [`AUDIT_SCHEMA_VERSION`] (run a writer of this build,
    /// or upgrade); as [`PostgresLog::from_config`].
    pub fn open_existing(config: Config, options: PoolOptions, name: &str) -> Result<Self> {
        check_name(name)?;
        Self::open_pool(pool::build(config, options), name)
    }

    /// [`PostgresLog::open_existing`] over TLS (see
    /// [`PostgresLog::connect_tls`]).
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::open_existing`] and
    /// [`PostgresLog::from_config_tls`].
    pub fn open_existing_tls(
        config: Config,
        options: PoolOptions,
        tls: &PostgresTls,
        name: &str,
    ) -> Result<Self> {
        check_name(name)?;
        Self::open_pool(
            pool::build_tls(config, options, tls).map_err(Error::backend)?,
            name,
        )
    }

    /// Checks that the log `name` exists on `pool`, changing nothing.
    fn open_pool(pool: Pool, name: &str) -> Result<Self> {
        let log = Self {
            pool: Arc::new(PoolHandle::new(pool)),
            name: name.into(),
        };
        let mut conn = log.conn()?;
        let missing = || {
            Error::from(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no audit log named {name:?} in the database"),
            ))
        };
        match pool::schema_version(&mut conn, COMPONENT).map_err(db_error)? {
            0 => return Err(missing()),
            AUDIT_SCHEMA_VERSION => {}
            found => {
                return Err(Error::backend(format!(
                    "the database's audit schema is version {found}, this build knows \
                     {AUDIT_SCHEMA_VERSION}"
                )));
            }
        }
        let exists = conn
            .query_opt("SELECT 1 FROM tresor_audit_logs WHERE log = $1", &[&name])
            .map_err(db_error)?
            .is_some();
        if !exists {
            return Err(missing());
        }
        drop(conn);
        Ok(log)
    }

    /// The log's name within its database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The audit schema version of the database.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] or [`Error::Backend`].
    pub fn schema_version(&self) -> Result<i64> {
        let mut conn = self.conn()?;
        pool::schema_version(&mut conn, COMPONENT).map_err(db_error)
    }

    /// The last committed tree head (no lock taken).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`], [`Error::Backend`]; [`Error::Corrupt`] if
    /// the head row is missing or inconsistent.
    pub fn head(&self) -> Result<TreeHead> {
        let mut conn = self.conn()?;
        let range = read_head(&mut *conn, &self.name, false)?;
        Ok(TreeHead {
            size: range.size(),
            root: range.root(),
        })
    }

    /// Appends one entry; see [`PostgresLog::append_batch`].
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::append_batch`].
    pub fn append(&self, entry: &[u8]) -> Result<AppendReceipt> {
        self.append_batch(&[entry])
    }

    /// Appends a record as its RFC 8785 canonical bytes, as
    /// [`AuditLog::append`](tresor_audit::AuditLog::append) stores it.
    ///
    /// # Errors
    ///
    /// [`Error::Canonicalization`] if the record cannot be canonicalised;
    /// as [`PostgresLog::append_batch`].
    pub fn append_record(&self, record: &AuditRecord) -> Result<AppendReceipt> {
        self.append(&record.canonical_bytes()?)
    }

    /// Appends records as their canonical bytes, in one transaction.
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::append_record`].
    pub fn append_records(&self, records: &[AuditRecord]) -> Result<AppendReceipt> {
        let entries = records
            .iter()
            .map(AuditRecord::canonical_bytes)
            .collect::<Result<Vec<_>>>()?;
        self.append_batch(&entries)
    }

    /// Appends `entries`, in order, at consecutive indexes, in one
    /// transaction: all of them or none. Returns once committed (see the
    /// [module docs](self) on what that guarantees, and on the one case
    /// where an error leaves the batch committed).
    ///
    /// The bytes are stored as given, as
    /// [`AuditLog::append_unchecked`](tresor_audit::AuditLog::append_unchecked)
    /// does: give records' canonical bytes
    /// ([`AuditRecord::canonical_bytes`], or
    /// [`PostgresLog::append_records`]) so that
    /// [`LogVerifier::canonical_records`](tresor_audit::verify::LogVerifier::canonical_records)
    /// accepts them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAppend`] (nothing written) for an empty batch, more
    /// than [`MAX_BATCH_ENTRIES`] entries or [`MAX_BATCH_BYTES`] bytes, or
    /// an entry longer than [`MAX_ENTRY_LEN`]; [`Error::Unavailable`] for an
    /// outage; [`Error::Backend`] for another database error;
    /// [`Error::Corrupt`] if the head row is inconsistent.
    pub fn append_batch<E: AsRef<[u8]>>(&self, entries: &[E]) -> Result<AppendReceipt> {
        let entries: Vec<&[u8]> = entries.iter().map(AsRef::as_ref).collect();
        let invalid = check_batch(&entries);
        // Leaves do not depend on their position: hash them before taking
        // the lock.
        let leaves: Vec<Hash> = match invalid {
            Some(_) => Vec::new(),
            None => entries.iter().map(|e| merkle::leaf_hash(e)).collect(),
        };
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db_error)?;
        let mut range = read_head(&mut tx, &self.name, true)?;
        let first = range.size();
        if let Some((offset, reason)) = invalid {
            // The transaction rolls back when dropped.
            return Err(Error::InvalidAppend {
                index: first.saturating_add(offset),
                reason,
            });
        }
        let mut entry_idx = Vec::with_capacity(entries.len());
        let mut node_level = Vec::with_capacity(entries.len() * 2);
        let mut node_idx = Vec::with_capacity(entries.len() * 2);
        let mut node_hash = Vec::with_capacity(entries.len() * 2);
        for leaf in leaves {
            let index = range.size();
            let nodes = range.append(leaf);
            if range.size() == index {
                return Err(Error::InvalidAppend {
                    index,
                    reason: "the log is full".into(),
                });
            }
            entry_idx.push(to_i64(index)?);
            for node in nodes {
                node_level.push(i16::from(node.level));
                node_idx.push(to_i64(node.index)?);
                node_hash.push(node.hash);
            }
        }
        let node_hash: Vec<&[u8]> = node_hash.iter().map(|h| h.as_slice()).collect();
        let size = range.size();
        let root = range.root();
        let edge = range.hashes().concat();
        let (size_i64, first_i64) = (to_i64(size)?, to_i64(first)?);
        let name: &str = &self.name;
        // Typed parameters: parsed and run in one round trip, no prepare.
        let updated = tx
            .execute_typed(
                "WITH e AS (
                    INSERT INTO tresor_audit_entries (log, idx, bytes)
                    SELECT $1, i, b FROM unnest($2::bigint[], $3::bytea[]) AS t (i, b)
                 ), n AS (
                    INSERT INTO tresor_audit_nodes (log, level, idx, hash)
                    SELECT $1, l, i, h FROM unnest($4::smallint[], $5::bigint[], $6::bytea[])
                        AS t (l, i, h)
                 )
                 UPDATE tresor_audit_logs SET size = $7, root = $8, edge = $9
                 WHERE log = $1 AND size = $10",
                &[
                    (&name, Type::TEXT),
                    (&entry_idx, Type::INT8_ARRAY),
                    (&entries, Type::BYTEA_ARRAY),
                    (&node_level, Type::INT2_ARRAY),
                    (&node_idx, Type::INT8_ARRAY),
                    (&node_hash, Type::BYTEA_ARRAY),
                    (&size_i64, Type::INT8),
                    (&root.as_slice(), Type::BYTEA),
                    (&edge, Type::BYTEA),
                    (&first_i64, Type::INT8),
                ],
            )
            .map_err(db_error)?;
        if updated != 1 {
            return Err(Error::Corrupt {
                position: format!("head of log {:?}", self.name),
                reason: "the head row changed while locked".into(),
            });
        }
        tx.commit().map_err(db_error)?;
        Ok(AppendReceipt { first, size, root })
    }

    /// A read-only view of the log as committed now: see
    /// [`PostgresLogView`].
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`], [`Error::Backend`]; [`Error::Corrupt`] if
    /// the head row or the nodes of its right edge are missing or disagree.
    pub fn snapshot(&self) -> Result<PostgresLogView> {
        PostgresLogView::open(self.clone())
    }

    /// A group-commit writer on this log (a clone of it): see
    /// [`PostgresLogWriter`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if its thread cannot be started.
    pub fn writer(&self, options: WriterOptions) -> Result<PostgresLogWriter> {
        PostgresLogWriter::new(self.clone(), options)
    }

    pub(crate) fn conn(&self) -> Result<Conn> {
        self.pool
            .pool()
            .ok_or_else(|| Error::unavailable("the log's connection pool is closed"))?
            .get()
            .map_err(Error::unavailable)
    }
}

/// `url` as a configuration; never echoed (it may hold a password).
fn parse_url(url: &str) -> Result<Config> {
    pool::parse(url).ok_or_else(|| Error::Malformed {
        what: "PostgreSQL connection string",
        reason: "neither a postgres:// URL nor key=value pairs".into(),
    })
}

/// A valid log name, or why not.
fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "an empty log name"
    } else if name.len() > MAX_LOG_NAME_LEN {
        "a log name longer than 128 bytes"
    } else if name.chars().any(char::is_control) {
        "a log name with control characters"
    } else {
        return Ok(());
    };
    Err(Error::Malformed {
        what: "log name",
        reason: reason.into(),
    })
}

/// The first problem of a batch, as (offset in the batch, reason).
fn check_batch(entries: &[&[u8]]) -> Option<(u64, String)> {
    if entries.is_empty() {
        return Some((0, "an empty batch: nothing to append".into()));
    }
    if entries.len() > MAX_BATCH_ENTRIES {
        return Some((
            0,
            format!(
                "a batch of {} entries exceeds the {MAX_BATCH_ENTRIES} allowed",
                entries.len()
            ),
        ));
    }
    if let Some((i, e)) = entries
        .iter()
        .enumerate()
        .find(|(_, e)| e.len() > MAX_ENTRY_LEN)
    {
        return Some((
            i as u64,
            format!("entry of {} bytes exceeds {MAX_ENTRY_LEN}", e.len()),
        ));
    }
    let total: usize = entries.iter().map(|e| e.len()).sum();
    if total > MAX_BATCH_BYTES {
        return Some((
            0,
            format!("a batch of {total} bytes exceeds the {MAX_BATCH_BYTES} allowed"),
        ));
    }
    None
}

/// Reads the head row of `name` (`FOR UPDATE` when `lock`) as the right
/// edge it records, checked against its root.
fn read_head(
    conn: &mut impl postgres::GenericClient,
    name: &str,
    lock: bool,
) -> Result<CompactRange> {
    let sql = if lock {
        "SELECT size, root, edge FROM tresor_audit_logs WHERE log = $1 FOR UPDATE"
    } else {
        "SELECT size, root, edge FROM tresor_audit_logs WHERE log = $1"
    };
    let row = conn
        .query_typed_opt(sql, &[(&name, Type::TEXT)])
        .map_err(db_error)?;
    let corrupt = |reason: String| Error::Corrupt {
        position: format!("head of log {name:?}"),
        reason,
    };
    let Some(row) = row else {
        return Err(corrupt("no head row: the log does not exist".into()));
    };
    let size: i64 = row.try_get(0).map_err(db_error)?;
    let root: &[u8] = row.try_get(1).map_err(db_error)?;
    let edge: &[u8] = row.try_get(2).map_err(db_error)?;
    let size = u64::try_from(size).map_err(|_| corrupt(format!("negative size {size}")))?;
    if edge.len() != 32 * size.count_ones() as usize {
        return Err(corrupt(format!(
            "a right edge of {} bytes for size {size}",
            edge.len()
        )));
    }
    let mut hashes = edge.chunks_exact(32);
    let range = CompactRange::from_nodes(size, |_, _| {
        hashes
            .next()
            .and_then(|h| Hash::try_from(h).ok())
            .ok_or_else(|| corrupt("a short right edge".into()))
    })?;
    if range.root().as_slice() != root {
        return Err(corrupt(
            "the stored root is not the root of the stored right edge".into(),
        ));
    }
    Ok(range)
}

/// `value` as a `bigint`.
pub(crate) fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange {
        index: value,
        size: i64::MAX as u64,
    })
}

/// A database error as an outage or a backend failure.
pub(crate) fn db_error(e: postgres::Error) -> Error {
    if is_outage(&e) {
        Error::unavailable(e)
    } else {
        Error::backend(e)
    }
}

/// Whether `e` is the server or the connection failing rather than the
/// statement: the connection closed or its socket failed (no SQLSTATE),
/// or a SQLSTATE of class 08 (connection exception), 53 (insufficient
/// resources: too many connections, disk full), 57 (operator intervention:
/// shutdown, restart, cancelled statement) or 58 (system error).
fn is_outage(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let class = code.code().get(..2).unwrap_or_default();
        return matches!(class, "08" | "53" | "57" | "58");
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}
