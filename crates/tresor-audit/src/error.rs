//! The crate's one error type.

use std::io;
use std::path::PathBuf;

pub use tresor_types::BackendError;

/// Everything that can go wrong in `tresor-audit`.
///
/// Tampering is reported precisely, with the position at fault: an audit
/// log's job is to say *where* it was altered, to the auditor who holds it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Records and canonical JSON ----------------------------------------
    /// A value cannot be canonicalised under RFC 8785 (a non-finite number,
    /// a duplicate object key, invalid UTF-16 in a string …).
    #[error("cannot canonicalise JSON: {reason}")]
    Canonicalization {
        /// What made the input impossible to canonicalise.
        reason: String,
    },

    /// An audit record is not valid (missing or extra key, bad timestamp,
    /// unknown outcome, `details` not an object …).
    #[error("invalid audit record: {reason}")]
    InvalidRecord {
        /// What is wrong with the record.
        reason: String,
    },

    // --- Merkle proofs ------------------------------------------------------
    /// A proof does not verify, or is malformed (wrong length, index out of
    /// range, sizes out of order).
    #[error("invalid proof: {reason}")]
    InvalidProof {
        /// Why the proof was rejected.
        reason: String,
    },

    /// An index or tree size beyond the log's current size.
    #[error("index {index} is out of range for a log of {size} entries")]
    OutOfRange {
        /// The index or size asked for.
        index: u64,
        /// The log's size.
        size: u64,
    },

    // --- Storage -------------------------------------------------------------
    /// The log's stored data was altered or is damaged, not at its torn tail
    /// (which recovery truncates) but before it: the log refuses to open.
    #[error("log corrupted at {}: {reason}", position)]
    Corrupt {
        /// Where: a file and byte offset, or an entry index.
        position: String,
        /// What check failed.
        reason: String,
    },

    /// An I/O error, with the path it happened on when known.
    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file or directory involved.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The log is locked by another writer.
    #[error("the log at {} is locked by another writer", path.display())]
    Locked {
        /// The log directory.
        path: PathBuf,
    },

    // --- Notes and checkpoints ----------------------------------------------
    /// A signed note, checkpoint or note key is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed: `note`, `checkpoint`, `signer key`, `verifier key`.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// The note carries no valid signature by the required key (missing,
    /// or present but not verifying).
    #[error("no valid signature by key {key_name:?} on the note")]
    SignatureMissing {
        /// The name of the required key.
        key_name: String,
    },

    /// The checkpoint does not match the log (different root at its size,
    /// or a size beyond the log).
    #[error("checkpoint mismatch: {reason}")]
    CheckpointMismatch {
        /// What differs.
        reason: String,
    },

    /// A cryptographic key could not be created or used.
    #[error("key error: {reason}")]
    Key {
        /// What failed (never key bytes).
        reason: String,
    },

    /// A note signer outside this crate (a key in an HSM or a KMS, behind
    /// [`NoteSign`](crate::note::NoteSign)) could not sign, or returned a
    /// signature that does not verify under its public key. Nothing was
    /// signed; the source says why (for an HSM outage: retry later).
    #[error("signing with note key {key_name:?} failed: {source}")]
    Signing {
        /// The signer's key name.
        key_name: String,
        /// Why (never key material).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An append was refused: the entry is longer than the store accepts,
    /// or the node hashes given are not the leaf and completed subtrees of
    /// the entry's position.
    #[error("invalid append at index {index}: {reason}")]
    InvalidAppend {
        /// The index the entry would have had.
        index: u64,
        /// What is wrong.
        reason: String,
    },

    /// The log was opened read-only and cannot be appended to or synced.
    #[error("the log at {} is open read-only", path.display())]
    ReadOnly {
        /// The log directory.
        path: PathBuf,
    },

    /// The log's store could not be reached: a database server down or
    /// restarting, a connection lost mid-call, no pooled connection free in
    /// time. An outage, not a fault of the log or the request: retry later
    /// ([`Error::is_unavailable`]). For an append, nothing was acknowledged;
    /// see the store's documentation for whether the entries may still have
    /// been written (a commit whose answer was lost).
    #[error("log store unavailable: {source}")]
    Unavailable {
        /// The store's error (never a connection string or a password).
        #[source]
        source: BackendError,
    },

    /// A store outside this crate (a database) failed for a reason other
    /// than an outage: a statement refused, a permission missing, a row of
    /// an unexpected shape. Retrying will not help; an operator must look.
    #[error("log store failed: {source}")]
    Backend {
        /// The store's error (never a connection string or a password).
        #[source]
        source: BackendError,
    },
    // Add new variants above this line, one small edit at a time.
}

impl Error {
    /// An [`Error::Unavailable`] caused by `source` (any error, or a
    /// message), for [`LogStore`](crate::LogStore) implementations whose
    /// server or connection failed.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Unavailable {
            source: BackendError::new(source),
        }
    }

    /// An [`Error::Backend`] caused by `source` (any error, or a message).
    pub fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Backend {
            source: BackendError::new(source),
        }
    }

    /// Whether this is an outage of the log's store ([`Error::Unavailable`]):
    /// the same call may succeed later, unchanged.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: Some(path.into()),
            source,
        }
    }
}

impl From<io::Error> for Error {
    fn from(source: io::Error) -> Self {
        Error::Io { path: None, source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_told_apart_from_other_store_failures() {
        let down = Error::unavailable(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert!(down.is_unavailable());
        assert_eq!(
            down.to_string(),
            "log store unavailable: connection refused"
        );
        let source = std::error::Error::source(&down).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection refused"));

        let refused = Error::backend("permission denied for table tresor_audit_nodes");
        assert!(!refused.is_unavailable());
        assert_eq!(
            refused.to_string(),
            "log store failed: permission denied for table tresor_audit_nodes"
        );
        assert!(!Error::from(io::Error::other("disk")).is_unavailable());
    }
}
