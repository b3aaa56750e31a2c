//! [`AuditLog`]: an append-only log of [`AuditRecord`]s over a
//! [`LogStore`], with tree heads and proofs computed from stored subtree
//! hashes.
//!
//! Appending hashes one leaf and at most one new subtree per level. Any tree
//! head, inclusion proof or consistency proof, for any past size, reads
//! O(log n) stored hashes and rehashes no entry: a range of leaves that the
//! RFC 9162 recursion asks for decomposes into at most ⌈log₂ n⌉ perfect
//! subtrees, and a proof needs at most one range that is not itself perfect.
//!
//! ```
//! use tresor_audit::{merkle, AuditLog, MemoryStore};
//! use tresor_audit::record::{Actor, AuditRecord, Outcome, Timestamp};
//!
//! let mut log = AuditLog::open(MemoryStore::new())?;
//! for i in 0..5 {
//!     let record = AuditRecord::builder()
//!         .timestamp(Timestamp::from_unix(1_700_000_000 + i, 0)?)
//!         .actor(Actor::new("user", "u-7")?)
//!         .action("login")
//!         .resource("session")
//!         .outcome(Outcome::Allowed)
//!         .request_id(format!("r{i}"))
//!         .source("web")
//!         .build()?;
//!     log.append(&record)?;
//! }
//! let root = log.root();
//! let leaf = merkle::leaf_hash(&log.entry(3)?);
//! merkle::verify_inclusion(&leaf, 3, 5, &log.inclusion_proof(3, 5)?, &root)?;
//! let old = log.root_at(2)?;
//! merkle::verify_consistency(2, 5, &log.consistency_proof(2, 5)?, &old, &root)?;
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::merkle::{self, CompactRange};
use crate::record::AuditRecord;
use crate::store::{Hash, LogStore};

/// An append-only audit log over a store `S`.
#[derive(Debug)]
pub struct AuditLog<S: LogStore> {
    store: S,
    range: CompactRange,
}

impl<S: LogStore> AuditLog<S> {
    /// Opens the log held by `store`, reading the O(log n) subtree hashes of
    /// its right edge.
    ///
    /// # Errors
    ///
    /// Whatever the store returns when a node is missing or unreadable.
    pub fn open(store: S) -> Result<Self> {
        let range = CompactRange::from_nodes(store.len(), |level, index| store.node(level, index))?;
        Ok(Self { store, range })
    }

    /// Appends a record as its canonical bytes. Returns its index and leaf
    /// hash. Durable when the store says so (see [`AuditLog::sync`]).
    ///
    /// # Errors
    ///
    /// [`Error::Canonicalization`] if the record cannot be canonicalised;
    /// the store's error if it cannot append (the log is then unchanged).
    pub fn append(&mut self, record: &AuditRecord) -> Result<(u64, Hash)> {
        let bytes = record.canonical_bytes()?;
        self.append_entry(&bytes)
    }

    /// Appends an entry given as its canonical bytes, which must be a valid
    /// record in RFC 8785 canonical form (checked). Returns its index and
    /// leaf hash.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] if `bytes` are not a canonical record; the
    /// store's error if it cannot append.
    pub fn append_canonical(&mut self, bytes: &[u8]) -> Result<(u64, Hash)> {
        AuditRecord::from_canonical(bytes)?;
        self.append_entry(bytes)
    }

    /// Appends `bytes` as an entry without checking that they are a
    /// canonical [`AuditRecord`]: for producers that canonicalise records
    /// themselves (another process, a queue consumer) and cannot afford the
    /// check's parse and re-serialisation (several microseconds per record,
    /// against well under one for the append itself). Returns the index and
    /// leaf hash.
    ///
    /// The log stays tamper-evident whatever the bytes; but a non-canonical
    /// entry hashes differently from its record's canonical form, so
    /// auditors who recompute leaves from parsed records will disagree.
    /// [`LogVerifier::canonical_records`](crate::verify::LogVerifier::canonical_records)
    /// finds such entries.
    ///
    /// # Errors
    ///
    /// The store's error if it cannot append (the log is then unchanged).
    pub fn append_unchecked(&mut self, bytes: &[u8]) -> Result<(u64, Hash)> {
        self.append_entry(bytes)
    }

    fn append_entry(&mut self, bytes: &[u8]) -> Result<(u64, Hash)> {
        let leaf = merkle::leaf_hash(bytes);
        let mut next = self.range.clone();
        let nodes = next.append(leaf);
        if next.size() == self.range.size() {
            return Err(Error::OutOfRange {
                index: u64::MAX,
                size: u64::MAX,
            });
        }
        let index = self.store.append(bytes, &nodes)?;
        if index != self.range.size() {
            return Err(Error::Corrupt {
                position: format!("entry {index}"),
                reason: format!(
                    "store appended at {index}, the log expected {}",
                    self.range.size()
                ),
            });
        }
        self.range = next;
        Ok((index, leaf))
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The current tree head (no store read).
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The tree head the log had at `size` entries.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if `size` exceeds the log's size; the store's
    /// error if a node cannot be read.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        self.subtree_hash(0, size)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries
    /// (RFC 9162 `PATH`), for [`merkle::verify_inclusion`].
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if `size` exceeds the log or `index` is not
    /// below `size`; the store's error if a node cannot be read.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        merkle::inclusion_path(index, size, |a, b| self.subtree_hash(a, b))
    }

    /// The consistency proof between the trees of `old` and `new` entries
    /// (RFC 9162 `PROOF`), for [`merkle::verify_consistency`]. Empty when
    /// `old == new`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if `new` exceeds the log or `old` exceeds
    /// `new`; [`Error::InvalidProof`] if `old` is 0; the store's error if a
    /// node cannot be read.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        merkle::consistency_path(old, new, |a, b| self.subtree_hash(a, b))
    }

    /// The stored bytes of entry `index`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if there is no such entry; the store's error.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        self.check_index(index)?;
        self.store.entry(index)
    }

    /// Entry `index` parsed as a record.
    ///
    /// # Errors
    ///
    /// As [`AuditLog::entry`]; [`Error::InvalidRecord`] if the stored bytes
    /// are not a canonical record.
    pub fn record(&self, index: u64) -> Result<AuditRecord> {
        AuditRecord::from_canonical(&self.entry(index)?)
    }

    /// Makes every appended entry durable.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub fn sync(&mut self) -> Result<()> {
        self.store.sync()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Closes the log, returning its store.
    pub fn into_store(self) -> S {
        self.store
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(Error::OutOfRange {
                index: size,
                size: self.size(),
            });
        }
        Ok(())
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if index >= self.size() {
            return Err(Error::OutOfRange {
                index,
                size: self.size(),
            });
        }
        Ok(())
    }

    /// `MTH(D[start:end])` from stored perfect subtrees, for the ranges of
    /// the RFC 9162 recursion: `start` is a multiple of the smallest power
    /// of two at least `end - start`. Such a range is the perfect subtrees
    /// of `end - start`'s set bits, largest first, read in one node each and
    /// folded from the right (at most 64 reads, ⌈log₂ n⌉ in a tree of n).
    fn subtree_hash(&self, start: u64, end: u64) -> Result<Hash> {
        if start >= end || end > self.size() {
            return Err(Error::OutOfRange {
                index: end,
                size: self.size(),
            });
        }
        let len = end - start;
        let span = len.checked_next_power_of_two().unwrap_or(0);
        if span != 0 && !start.is_multiple_of(span) {
            return Err(Error::InvalidProof {
                reason: format!("leaves [{start}, {end}) are not a subtree of the log"),
            });
        }
        let mut hashes = Vec::with_capacity(len.count_ones() as usize);
        let mut at = start;
        for level in (0u8..64).rev() {
            if len >> level & 1 == 1 {
                hashes.push(self.store.node(level, at >> level)?);
                at += 1u64 << level;
            }
        }
        let mut iter = hashes.iter().rev();
        let last = iter.next().copied().unwrap_or_else(merkle::empty_root);
        Ok(iter.fold(last, |acc, left| merkle::node_hash(left, &acc)))
    }
}
