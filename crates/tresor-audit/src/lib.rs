//! A tamper-evident audit log with Merkle proofs and signed checkpoints.
//!
//! (Crate documentation with runnable examples: to be written.)
#![forbid(unsafe_code)]

pub mod checkpoint;
mod error;
pub mod file;
pub mod jcs;
pub mod log;
pub mod memory;
pub mod merkle;
pub mod note;
pub mod pseudonym;
pub mod record;
mod store;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use file::{FileStore, FileStoreOptions, SyncPolicy};
pub use log::AuditLog;
pub use memory::MemoryStore;
pub use note::{NoteSigner, NoteVerifier};
pub use pseudonym::{PseudonymKey, Pseudonymizer};
pub use record::{Actor, AuditRecord, Outcome, Timestamp};
pub use store::{Hash, LogStore, Node};
pub use verify::{LogReport, verify_log};
