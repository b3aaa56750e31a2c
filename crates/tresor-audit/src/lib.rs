//! A tamper-evident audit log: every action, including each access to
//! sensitive data, is recorded so that nobody, not even an administrator with
//! write access to the files, can alter or drop a record without detection,
//! and an auditor can check any record and the log's growth offline.
//!
//! # How it works
//!
//! - **Records** ([`AuditRecord`]): timestamp, actor, action, resource,
//!   outcome, request id, source, free-form details, and optionally an
//!   encrypted payload. Their bytes are canonical JSON (RFC 8785, [`jcs`]),
//!   so the same record always hashes the same.
//! - **A Merkle tree** exactly as RFC 9162 section 2.1 ([`merkle`]): leaf
//!   hash `SHA-256(0x00 || record)`, node hash `SHA-256(0x01 || left ||
//!   right)`. Transparency tooling can check our tree heads and proofs.
//!   Appending is O(log n); inclusion and consistency proofs are read from
//!   stored subtree hashes in O(log n) ([`AuditLog`]).
//! - **Storage** ([`LogStore`]): [`MemoryStore`] for tests and
//!   [`FileStore`], the embedded default: append-only segment files with a
//!   CRC32C per entry, O(1) lookups, fsync on every append or group commit,
//!   and recovery that truncates a torn final entry but refuses to open a log
//!   altered before it. The layout is specified in `FORMAT.md`.
//!   For several writer processes, `tresor-postgres` keeps a log in
//!   PostgreSQL (`PostgresLog`) and reads it back as a `LogStore` snapshot;
//!   its outages are [`Error::Unavailable`].
//! - **Signed checkpoints** ([`Checkpoint`]) in the C2SP `tlog-checkpoint`
//!   format inside a C2SP `signed-note` ([`note`]) with Ed25519 keys in the
//!   note key formats, so existing witnesses and note tooling read them;
//!   several signatures per checkpoint (cosigning).
//! - **A verifier** ([`verify_log`]) that walks a whole log, recomputes every
//!   leaf and subtree hash and the tree head, checks it against a signed
//!   checkpoint (also one taken when the log was smaller), and names the
//!   first bad index.
//! - **Pseudonyms** ([`Pseudonymizer`]): HMAC-SHA-256 of personal
//!   identifiers under a separately held key, so records correlate without
//!   holding raw personal data. A record's encrypted payload (for example a
//!   `tresor-envelope` ciphertext) is hashed as ciphertext, so destroying the
//!   subject's key (crypto-shredding) leaves the log verifiable.
//!
//! # What it guarantees, and what it does not
//!
//! Given a checkpoint signed at size *n* and kept outside the operator's
//! reach (by an auditor, a witness, a client), any change to the first *n*
//! records, their order or their number is detected: the recomputed tree
//! head no longer matches the signature. A consistency proof shows that a
//! later checkpoint extends an earlier one without rewriting it. What the
//! log cannot do alone is prove that a record was *never written*: that is
//! what signing checkpoints often, and handing them out, is for. CRC32C in
//! the segment files catches accidents (torn writes, bit rot), not attackers;
//! the Merkle tree and the signed checkpoints catch attackers.
//!
//! # What the crate root re-exports
//!
//! The root re-exports what an embedder that writes, stores and checks a
//! log names in everyday code; everything else is reached through its
//! module ([`merkle`] for proofs, [`note`] for signed notes in general,
//! [`jcs`], [`verify::LogVerifier`], [`file::TornTail`] …):
//!
//! - writing records: [`AuditLog`], [`AuditRecord`] with [`Actor`],
//!   [`Outcome`] and [`Timestamp`], and [`Pseudonymizer`] with its
//!   [`PseudonymKey`] for personal identifiers;
//! - storing them: [`FileStore`] with [`FileStoreOptions`] and
//!   [`SyncPolicy`], [`MemoryStore`] for tests, and the [`LogStore`] trait
//!   with its [`Node`] and [`Hash`](type@Hash) for other stores;
//! - sharing them: [`AuditSink`], what handlers and hooks append to,
//!   whether the log is this process's or one several servers share;
//! - checking them: [`Checkpoint`], [`NoteSigner`] and [`NoteVerifier`] for
//!   signed checkpoints ([`NoteSign`] for a log key held in an HSM),
//!   [`verify_log`] and the [`LogReport`] it returns;
//! - [`Error`] and [`Result`], and [`BackendError`], the cause a store
//!   outside this crate (a database) gives its failures.
//!
//! # Example
//!
//! ```
//! use tresor_audit::{
//!     Actor, AuditLog, AuditRecord, Checkpoint, MemoryStore, NoteSigner, Outcome, Timestamp,
//!     merkle, verify_log,
//! };
//!
//! let mut log = AuditLog::open(MemoryStore::new())?;
//! for (i, action) in ["payment.create", "customer.read", "payment.approve"].iter().enumerate() {
//!     let record = AuditRecord::builder()
//!         .timestamp(Timestamp::from_unix(1_764_000_000 + i as i64, 0)?)
//!         .actor(Actor::new("client", "client-7")?)
//!         .action(*action)
//!         .resource("accounts/DE89370400440532013000")
//!         .outcome(Outcome::Allowed)
//!         .request_id(format!("req-{i}"))
//!         .source("10.0.0.7")
//!         .detail("amount", "120.00")
//!         .build()?;
//!     log.append(&record)?;
//! }
//!
//! // The operator signs a checkpoint of the current tree head.
//! let signer = NoteSigner::generate("audit.bank.example")?;
//! let note = Checkpoint::new("audit.bank.example/log", log.size(), log.root())?.sign(&[&signer])?;
//!
//! // An auditor checks one record with an inclusion proof, offline.
//! let checkpoint = Checkpoint::open(&note, &[signer.verifier()], "audit.bank.example")?;
//! let leaf = merkle::leaf_hash(&log.entry(1)?);
//! let proof = log.inclusion_proof(1, checkpoint.size())?;
//! merkle::verify_inclusion(&leaf, 1, checkpoint.size(), &proof, checkpoint.root())?;
//!
//! // Or walks the whole log against the checkpoint.
//! let report = verify_log(log.store(), Some((&note, &[signer.verifier()], "audit.bank.example")))?;
//! assert_eq!(report.size, 3);
//! # Ok::<(), tresor_audit::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod checkpoint;
mod error;
pub mod file;
pub mod jcs;
pub mod log;
pub mod memory;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod pseudonym;
pub mod record;
pub mod sink;
mod store;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use error::{BackendError, Error, Result};
pub use file::{FileStore, FileStoreOptions, SyncPolicy};
pub use log::AuditLog;
pub use memory::MemoryStore;
pub use note::{NoteSign, NoteSigner, NoteVerifier};
pub use pseudonym::{PseudonymKey, Pseudonymizer};
pub use record::{Actor, AuditRecord, Outcome, Timestamp};
pub use sink::AuditSink;
pub use store::{Hash, LogStore, Node};
pub use verify::{LogReport, verify_log};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
