//! Where the log lives: the [`LogStore`] trait.
//!
//! A store keeps two things, append-only: the entries (each record's
//! canonical bytes) and the hashes of the *perfect subtrees* of the RFC 9162
//! Merkle tree over them. A perfect subtree at `level` L and `index` i
//! covers leaves `[i·2^L, (i+1)·2^L)`; level 0 holds the leaf hashes. Each
//! append adds one leaf and completes at most one subtree per level, so the
//! log hands the store the leaf hash and every subtree hash the new entry
//! completes, and the store keeps them with the entry. Any tree head,
//! inclusion proof or consistency proof is then a combination of
//! O(log n) stored hashes: nothing is rehashed from the entries.

use crate::error::Result;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree head.
pub type Hash = [u8; 32];

/// The hash of the perfect subtree at `level` and `index`: it covers leaves
/// `index << level .. (index + 1) << level`. Level 0 is a leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    /// Height of the subtree: 0 for a leaf.
    pub level: u8,
    /// Position of the subtree among those of its level, from the left.
    pub index: u64,
    /// Its hash.
    pub hash: Hash,
}

/// Append-only storage of entries and perfect-subtree hashes.
///
/// Implementations: the in-memory store (tests, benchmarks), the file
/// store (segment files, the embedded default), and outside this crate
/// `tresor-postgres`'s read-only `PostgresLogView` (a PostgreSQL log that
/// several processes append to through their own transactions). Stores
/// outside the crate report their outages as [`Error::Unavailable`] and
/// other failures as [`Error::Backend`].
///
/// [`Error::Unavailable`]: crate::Error::Unavailable
/// [`Error::Backend`]: crate::Error::Backend
pub trait LogStore: Send {
    /// The number of entries appended (durable or not).
    fn len(&self) -> u64;

    /// Whether the log has no entry.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of entries known to be durable (synced to stable storage).
    /// An entry below this count survives any crash.
    fn durable_len(&self) -> u64;

    /// Appends `entry` as index [`LogStore::len`], with `nodes`: its leaf
    /// hash (level 0) and the hashes of every perfect subtree it completes,
    /// in increasing level. Returns the entry's index. Durable once
    /// [`LogStore::durable_len`] exceeds the index (the store's sync policy,
    /// or [`LogStore::sync`]).
    fn append(&mut self, entry: &[u8], nodes: &[Node]) -> Result<u64>;

    /// Makes every appended entry durable.
    fn sync(&mut self) -> Result<()>;

    /// The entry at `index`.
    fn entry(&self, index: u64) -> Result<Vec<u8>>;

    /// The stored hash of the perfect subtree at `level`, `index`.
    fn node(&self, level: u8, index: u64) -> Result<Hash>;
}

impl<S: LogStore + ?Sized> LogStore for Box<S> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn durable_len(&self) -> u64 {
        (**self).durable_len()
    }
    fn append(&mut self, entry: &[u8], nodes: &[Node]) -> Result<u64> {
        (**self).append(entry, nodes)
    }
    fn sync(&mut self) -> Result<()> {
        (**self).sync()
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>> {
        (**self).entry(index)
    }
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        (**self).node(level, index)
    }
}
