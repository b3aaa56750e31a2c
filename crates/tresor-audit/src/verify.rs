//! Full audit of a stored log: every entry rehashed, every stored tree node
//! recomputed, the tree head rebuilt, and optionally a signed checkpoint
//! checked against it.
//!
//! # Guarantee
//!
//! [`verify_log`] succeeds only if, for the store's current size `n`:
//!
//! - every entry's leaf hash `SHA-256(0x00 || entry)` equals the stored
//!   leaf hash (level 0);
//! - every stored perfect-subtree hash equals the one recomputed from the
//!   entries (so proofs served from the store are proofs about the entries);
//! - when a checkpoint is given: its signature by the required key verifies,
//!   its size is at most `n`, and its root equals the tree head of the first
//!   `size` entries (an older checkpoint of a grown log verifies).
//!
//! On failure the error names the **first** bad position in entry order:
//! [`Error::Corrupt`] with position `entry 17` (an entry that does not match
//! its stored leaf hash, or is not a canonical record) or `node 3/2` (the
//! stored subtree at level 3, index 2, completed by the entry the reason
//! names), or [`Error::CheckpointMismatch`]. The walk reads every entry once:
//! O(n) time, O(log n) memory.
//!
//! ```
//! use tresor_audit::record::{Actor, AuditRecord, Outcome};
//! use tresor_audit::verify::{LogVerifier, verify_log};
//! use tresor_audit::{AuditLog, Checkpoint, MemoryStore, NoteSigner};
//!
//! let mut log = AuditLog::open(MemoryStore::new())?;
//! for i in 0..3 {
//!     let record = AuditRecord::builder()
//!         .timestamp("2026-01-31T12:00:00Z".parse()?)
//!         .actor(Actor::new("user", "u-1842")?)
//!         .action("payment.approve")
//!         .resource(format!("payment/{i}"))
//!         .outcome(Outcome::Allowed)
//!         .request_id("req-77f1")
//!         .source("10.0.0.7")
//!         .build()?;
//!     log.append(&record)?;
//! }
//! // A checkpoint signed when the log had two entries.
//! let key = NoteSigner::generate("example.com/log")?;
//! let signed = Checkpoint::new("example.com/log", 2, log.root_at(2)?)?.sign(&[&key])?;
//!
//! let report = verify_log(log.store(), Some((&signed, &[key.verifier()], "example.com/log")))?;
//! assert_eq!((report.size, report.root), (3, log.root()));
//!
//! // Also require canonical records.
//! let report = LogVerifier::new().canonical_records(true).verify(log.store())?;
//! assert_eq!(report.size, 3);
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::merkle::{self, CompactRange};
use crate::note::NoteVerifier;
use crate::record::AuditRecord;
use crate::store::{Hash, LogStore};

/// What a successful [`verify_log`] established.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogReport {
    /// The number of entries verified: the store's size when the walk began.
    pub size: u64,
    /// The tree head recomputed from all `size` entries.
    pub root: Hash,
    /// The checkpoint that was verified against the log, if one was given.
    pub checkpoint: Option<Checkpoint>,
}

/// A signed checkpoint to check a log against: the signed note, the trusted
/// verifier keys, and the name of the key that must have signed it.
pub type CheckpointToVerify<'a> = (&'a str, &'a [NoteVerifier], &'a str);

/// A check run on each entry's bytes, given its index.
type EntryCheck<'a> = Box<dyn Fn(u64, &[u8]) -> Result<()> + 'a>;

/// Configures a full log verification; [`verify_log`] is the common case.
#[derive(Default)]
pub struct LogVerifier<'a> {
    checkpoint: Option<CheckpointToVerify<'a>>,
    canonical_records: bool,
    entry_check: Option<EntryCheck<'a>>,
}

impl std::fmt::Debug for LogVerifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogVerifier")
            .field("checkpoint", &self.checkpoint)
            .field("canonical_records", &self.canonical_records)
            .field("entry_check", &self.entry_check.is_some())
            .finish()
    }
}

impl<'a> LogVerifier<'a> {
    /// A verifier that checks entries and stored nodes only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also checks the log against the signed checkpoint `note`, which must
    /// carry a valid signature by the key named `key_name` among `known`.
    pub fn checkpoint(
        mut self,
        note: &'a str,
        known: &'a [NoteVerifier],
        key_name: &'a str,
    ) -> Self {
        self.checkpoint = Some((note, known, key_name));
        self
    }

    /// Also requires every entry to be an [`AuditRecord`] in its RFC 8785
    /// canonical form ([`AuditRecord::from_canonical`]), as
    /// [`AuditLog`](crate::AuditLog) writes them. A failing entry is
    /// reported as [`Error::Corrupt`] at that entry.
    pub fn canonical_records(mut self, required: bool) -> Self {
        self.canonical_records = required;
        self
    }

    /// Also runs `check` on every entry (with its index) before hashing it.
    /// An error it returns is reported as [`Error::Corrupt`] at that entry,
    /// with the error's message as the reason.
    pub fn entry_check(mut self, check: impl Fn(u64, &[u8]) -> Result<()> + 'a) -> Self {
        self.entry_check = Some(Box::new(check));
        self
    }

    /// Walks the whole log in `store`; see the [module docs](self).
    pub fn verify<S: LogStore + ?Sized>(&self, store: &S) -> Result<LogReport> {
        // Check the signature first: cheap, and a forged checkpoint must not
        // cost a walk.
        let checkpoint = match self.checkpoint {
            Some((note, known, key_name)) => Some(Checkpoint::open(note, known, key_name)?),
            None => None,
        };
        let size = store.len();
        let mut range = CompactRange::new();
        if let Some(cp) = &checkpoint
            && cp.size() == 0
        {
            check_root(cp, &range)?;
        }
        for index in 0..size {
            let entry = store.entry(index)?;
            if self.canonical_records {
                AuditRecord::from_canonical(&entry).map_err(|e| Error::Corrupt {
                    position: format!("entry {index}"),
                    reason: e.to_string(),
                })?;
            }
            if let Some(check) = &self.entry_check {
                check(index, &entry).map_err(|e| Error::Corrupt {
                    position: format!("entry {index}"),
                    reason: e.to_string(),
                })?;
            }
            for node in range.append(merkle::leaf_hash(&entry)) {
                let stored = store.node(node.level, node.index)?;
                if stored == node.hash {
                    continue;
                }
                return Err(if node.level == 0 {
                    Error::Corrupt {
                        position: format!("entry {index}"),
                        reason: "the entry does not match its stored leaf hash \
                                 (the entry or the stored hash was altered)"
                            .into(),
                    }
                } else {
                    let first = node.index << node.level;
                    Error::Corrupt {
                        position: format!("node {}/{}", node.level, node.index),
                        reason: format!(
                            "the stored hash of the subtree over entries {first}..={index} \
                             differs from the hash recomputed from them"
                        ),
                    }
                });
            }
            if let Some(cp) = &checkpoint
                && cp.size() == range.size()
            {
                check_root(cp, &range)?;
            }
        }
        if let Some(cp) = &checkpoint
            && cp.size() > size
        {
            return Err(Error::CheckpointMismatch {
                reason: format!(
                    "checkpoint size {} is beyond the log's {size} entries",
                    cp.size()
                ),
            });
        }
        Ok(LogReport {
            size,
            root: range.root(),
            checkpoint,
        })
    }
}

fn check_root(cp: &Checkpoint, range: &CompactRange) -> Result<()> {
    if range.root() == *cp.root() {
        Ok(())
    } else {
        Err(Error::CheckpointMismatch {
            reason: format!(
                "the log's root at size {} differs from the checkpoint's",
                cp.size()
            ),
        })
    }
}

/// Verifies the whole log in `store`, and optionally a signed checkpoint
/// against it: `(signed note, trusted keys, required key name)`. See the
/// [module docs](self) for what is checked and how failures are reported.
pub fn verify_log<S: LogStore + ?Sized>(
    store: &S,
    checkpoint: Option<CheckpointToVerify<'_>>,
) -> Result<LogReport> {
    let mut verifier = LogVerifier::new();
    if let Some((note, known, key_name)) = checkpoint {
        verifier = verifier.checkpoint(note, known, key_name);
    }
    verifier.verify(store)
}
