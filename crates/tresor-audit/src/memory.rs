//! [`MemoryStore`]: a [`LogStore`] in memory, for tests, benchmarks and
//! short-lived logs. Everything appended is "durable" at once (and lost
//! with the process).

use crate::error::{Error, Result};
use crate::store::{Hash, LogStore, Node};

/// Entries and perfect-subtree hashes in vectors.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: Vec<Vec<u8>>,
    /// `levels[l][i]`: the hash of the perfect subtree at level `l`, index `i`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl LogStore for MemoryStore {
    fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    fn durable_len(&self) -> u64 {
        self.len()
    }

    /// Appends the entry, checking that `nodes` are exactly the ones entry
    /// `len()` completes: levels `0..=k` (k the trailing one bits of the
    /// index), each at index `index >> level`.
    fn append(&mut self, entry: &[u8], nodes: &[Node]) -> Result<u64> {
        let index = self.len();
        let expected = 1 + index.trailing_ones() as usize;
        let well_formed = nodes.len() == expected
            && nodes.iter().enumerate().all(|(level, node)| {
                usize::from(node.level) == level
                    && node.index == index >> level
                    && self.levels.get(level).map_or(0, Vec::len) as u64 == node.index
            });
        if !well_formed {
            return Err(Error::Corrupt {
                position: format!("entry {index}"),
                reason: "appended nodes are not the subtrees this entry completes".into(),
            });
        }
        for node in nodes {
            let level = usize::from(node.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            if let Some(hashes) = self.levels.get_mut(level) {
                hashes.push(node.hash);
            }
        }
        self.entries.push(entry.to_vec());
        Ok(index)
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .cloned()
            .ok_or(Error::OutOfRange {
                index,
                size: self.len(),
            })
    }

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(Error::OutOfRange {
                index,
                size: self.len(),
            })
    }
}
