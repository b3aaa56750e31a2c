//! [`AuditSink`]: somewhere records go, whoever else writes there.
//!
//! A server's request handlers, its authentication hook and its monitors
//! all append records; they should not care whether the log is this
//! process's own [`AuditLog`] behind a mutex or a log that several servers
//! share in a database. They hold an `Arc<dyn AuditSink>`:
//!
//! - `Mutex<AuditLog<S>>` is one, for any [`LogStore`] (the file store,
//!   the memory store);
//! - `tresor_postgres`'s log writer is one, for a log shared by several
//!   processes.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tresor_audit::{Actor, AuditLog, AuditRecord, AuditSink, MemoryStore, Outcome, Timestamp};
//!
//! let log = Arc::new(Mutex::new(AuditLog::open(MemoryStore::new())?));
//! let sink: Arc<dyn AuditSink> = log.clone();
//! let record = AuditRecord::builder()
//!     .timestamp(Timestamp::from_unix(1_764_000_000, 0)?)
//!     .actor(Actor::new("client", "client-7")?)
//!     .action("customer.read")
//!     .resource("customers/4711")
//!     .outcome(Outcome::Allowed)
//!     .request_id("req-1")
//!     .source("10.0.0.7")
//!     .build()?;
//! assert_eq!(sink.append_record(&record)?, 0);
//! assert_eq!(log.lock().map_err(|_| "poisoned")?.size(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::log::AuditLog;
use crate::record::AuditRecord;
use crate::store::LogStore;

/// Somewhere audit records are appended, shared by the threads (and, for
/// some implementations, the processes) that write them.
pub trait AuditSink: Send + Sync {
    /// Appends `record` (its canonical bytes). Returns its index in the
    /// log. When this returns, the record is as durable as the sink
    /// promises: in the store's sync policy for an [`AuditLog`], committed
    /// for a database.
    ///
    /// # Errors
    ///
    /// [`Error::Canonicalization`] if the record cannot be canonicalised;
    /// the store's error if it cannot append.
    fn append_record(&self, record: &AuditRecord) -> Result<u64>;
}

impl<S: LogStore> AuditSink for Mutex<AuditLog<S>> {
    fn append_record(&self, record: &AuditRecord) -> Result<u64> {
        let mut log = self.lock().map_err(|_| Error::Io {
            path: None,
            source: std::io::Error::other("the audit log's lock is poisoned"),
        })?;
        log.append(record).map(|(index, _)| index)
    }
}

impl<A: AuditSink + ?Sized> AuditSink for std::sync::Arc<A> {
    fn append_record(&self, record: &AuditRecord) -> Result<u64> {
        (**self).append_record(record)
    }
}
