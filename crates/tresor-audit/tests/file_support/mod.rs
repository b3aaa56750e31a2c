//! Shared helpers of the file-store tests (`file_store`, `crash`,
//! `segment_tamper`): deterministic entries, a writer that computes the
//! nodes to store, and a full check of a store against recomputation.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::{Path, PathBuf};

use tresor_audit::merkle::{CompactRange, leaf_hash, node_hash};
use tresor_audit::{FileStore, FileStoreOptions, LogStore, Node};

/// The deterministic entry `i`: 40 to ~330 bytes of JSON-like text.
pub(crate) fn entry_bytes(i: u64) -> Vec<u8> {
    let pad = (i.wrapping_mul(2_654_435_761) % 290) as usize;
    let mut s = format!(r#"{{"i":{i},"actor":"user-{}","pad":""#, i % 97);
    s.extend(std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), pad));
    s.push_str("\"}");
    s.into_bytes()
}

/// A store with the compact range needed to compute each append's nodes.
pub(crate) struct Writer {
    pub(crate) store: FileStore,
    pub(crate) range: CompactRange,
}

impl Writer {
    /// Opens `dir` and rebuilds the compact range from the stored nodes.
    pub(crate) fn open(dir: &Path, options: FileStoreOptions) -> tresor_audit::Result<Self> {
        let store = FileStore::open(dir, options)?;
        let range = CompactRange::from_nodes(store.len(), |l, i| store.node(l, i))?;
        Ok(Writer { store, range })
    }

    /// Appends `entry`, returning its index.
    pub(crate) fn append(&mut self, entry: &[u8]) -> tresor_audit::Result<u64> {
        let mut range = self.range.clone();
        let nodes: Vec<Node> = range.append(leaf_hash(entry));
        let index = self.store.append(entry, &nodes)?;
        self.range = range;
        Ok(index)
    }

    /// Appends the deterministic entries up to `n` (exclusive).
    pub(crate) fn fill_to(&mut self, n: u64) {
        while self.store.len() < n {
            let i = self.store.len();
            self.append(&entry_bytes(i)).unwrap();
        }
    }
}

/// Checks that `store` holds exactly the deterministic entries `0..n`, and
/// every perfect-subtree hash of the tree over them.
pub(crate) fn check_store(store: &FileStore, n: u64) {
    assert_eq!(store.len(), n);
    let mut level_hashes: Vec<Vec<[u8; 32]>> = vec![Vec::new()];
    for i in 0..n {
        assert_eq!(store.entry(i).unwrap(), entry_bytes(i), "entry {i}");
        level_hashes[0].push(leaf_hash(&entry_bytes(i)));
    }
    let mut level = 0;
    while level_hashes[level].len() >= 2 {
        let next: Vec<_> = level_hashes[level]
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
        level_hashes.push(next);
        level += 1;
    }
    for (l, hashes) in level_hashes.iter().enumerate() {
        for (i, h) in hashes.iter().enumerate() {
            assert_eq!(
                &store.node(l as u8, i as u64).unwrap(),
                h,
                "node level {l} index {i}"
            );
        }
        assert!(store.node(l as u8, hashes.len() as u64).is_err());
    }
}

/// The segment files of `dir`, oldest first.
pub(crate) fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("seg-") && name.ends_with(".log")
        })
        .collect();
    v.sort();
    v
}

/// Byte offsets of each record in a segment file (parsing the format
/// independently of the library: 24-byte header, then
/// `len u32 | index u64 | entry | crc u32`).
pub(crate) fn record_offsets(segment: &Path) -> Vec<(u64, u64, u64)> {
    let bytes = std::fs::read(segment).unwrap();
    let mut out = Vec::new();
    let mut at = 24usize;
    while at + 16 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let index = u64::from_be_bytes(bytes[at + 4..at + 12].try_into().unwrap());
        let end = at + 16 + len;
        if end > bytes.len() {
            break;
        }
        out.push((index, at as u64, end as u64));
        at = end;
    }
    out
}
