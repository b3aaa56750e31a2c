//! The on-disk format of the file store, byte by byte (see `FORMAT.md`).
//!
//! Everything here is pure: encoding and parsing of segment headers,
//! entry records and the derived files' headers, and the arithmetic that
//! places an entry's offset or a node's hash in the derived files. Parsing
//! never panics on any input.

use std::path::Path;

use crate::store::Hash;

/// Magic of a segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"TRSAUSEG";
/// Magic of the index file.
pub(crate) const INDEX_MAGIC: [u8; 8] = *b"TRSAUIDX";
/// Magic of the nodes file.
pub(crate) const NODES_MAGIC: [u8; 8] = *b"TRSAUNOD";
/// Format version of every file.
pub(crate) const VERSION: u32 = 1;

/// Length of a segment header: magic, version, first index, CRC32C.
pub(crate) const SEGMENT_HEADER_LEN: u64 = 24;
/// Length of the index and nodes files' header: magic, version, reserved.
pub(crate) const DERIVED_HEADER_LEN: u64 = 16;
/// Bytes of an entry record around the entry: length, index, CRC32C.
pub(crate) const RECORD_OVERHEAD: u64 = 16;
/// Bytes of a record before the entry: length and index.
pub(crate) const RECORD_PREFIX_LEN: usize = 12;
/// Bytes per index-file slot.
pub(crate) const INDEX_SLOT: u64 = 8;
/// Bytes per nodes-file slot.
pub(crate) const NODE_SLOT: u64 = 32;
/// The longest entry the store accepts: 16 MiB.
pub(crate) const MAX_ENTRY_LEN: u32 = 1 << 24;

/// Name of the index file.
pub(crate) const INDEX_FILE: &str = "index.bin";
/// Name of the nodes file.
pub(crate) const NODES_FILE: &str = "nodes.bin";
/// Name of the lock file.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// `seg-<first index, 20 digits>.log`.
pub(crate) fn segment_name(first: u64) -> String {
    format!("seg-{first:020}.log")
}

/// The first index encoded in a segment file name, `None` when the name is
/// not a segment name at all, `Some(Err(()))` when it looks like one but is
/// malformed.
pub(crate) fn parse_segment_name(name: &str) -> Option<Result<u64, ()>> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Err(()));
    }
    Some(digits.parse::<u64>().map_err(|_| ()))
}

/// A human-readable position: `seg-….log offset N (entry I)`.
pub(crate) fn position(segment_first: u64, offset: u64, entry: u64) -> String {
    format!(
        "{} offset {offset} (entry {entry})",
        segment_name(segment_first)
    )
}

/// The position of a whole file, for errors that are not about one entry.
pub(crate) fn file_position(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The 24-byte header of the segment whose first entry is `first`.
pub(crate) fn segment_header(first: u64) -> [u8; 24] {
    let mut h = [0u8; 24];
    let mut body = Vec::with_capacity(20);
    body.extend_from_slice(&SEGMENT_MAGIC);
    body.extend_from_slice(&VERSION.to_be_bytes());
    body.extend_from_slice(&first.to_be_bytes());
    let crc = crc32c::crc32c(&body);
    body.extend_from_slice(&crc.to_be_bytes());
    h.copy_from_slice(&body);
    h
}

/// The 16-byte header of the index or nodes file.
pub(crate) fn derived_header(magic: [u8; 8]) -> [u8; 16] {
    let mut h = [0u8; 16];
    let mut body = Vec::with_capacity(16);
    body.extend_from_slice(&magic);
    body.extend_from_slice(&VERSION.to_be_bytes());
    body.extend_from_slice(&0u32.to_be_bytes());
    h.copy_from_slice(&body);
    h
}

/// Appends the record of entry `index` to `out`:
/// `len u32 | index u64 | entry | CRC32C(len | index | entry) u32`, all
/// big-endian. The caller has checked `entry.len() <= MAX_ENTRY_LEN`.
pub(crate) fn encode_record(out: &mut Vec<u8>, index: u64, entry: &[u8], len: u32) {
    let start = out.len();
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(entry);
    let crc = crc32c::crc32c(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The record prefix: declared entry length and entry index.
pub(crate) fn parse_prefix(prefix: &[u8; RECORD_PREFIX_LEN]) -> (u32, u64) {
    let (len, index) = prefix.split_at(4);
    let len = u32::from_be_bytes(len.try_into().unwrap_or([0; 4]));
    let index = u64::from_be_bytes(index.try_into().unwrap_or([0; 8]));
    (len, index)
}

/// Whether `crc` is the CRC32C of `prefix | entry`.
pub(crate) fn check_crc(prefix: &[u8; RECORD_PREFIX_LEN], entry: &[u8], crc: [u8; 4]) -> bool {
    let computed = crc32c::crc32c_append(crc32c::crc32c(prefix), entry);
    computed == u32::from_be_bytes(crc)
}

/// Big-endian `u64` from 8 bytes.
pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The number of nodes stored for a log of `n` entries: every perfect
/// subtree of the tree over `n` leaves, `2n − popcount(n)`.
pub(crate) fn total_nodes(n: u64) -> u64 {
    // 2n - popcount(n) <= 2n; saturate for absurd n (never reached: the
    // nodes file would be larger than any file system allows).
    n.saturating_mul(2)
        .saturating_sub(u64::from(n.count_ones()))
}

/// The largest entry count whose nodes fit in `nodes` stored hashes.
pub(crate) fn entries_covered_by_nodes(nodes: u64) -> u64 {
    // total_nodes is monotonic and total_nodes(n) >= n: binary search.
    let (mut lo, mut hi) = (0u64, nodes);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if total_nodes(mid) <= nodes {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The slot, in the nodes file, of the perfect subtree at `level`, `index`,
/// with the entry that completes it: `None` when the position overflows.
///
/// The subtree is completed by entry `e = ((index + 1) << level) − 1`, which
/// stores its nodes (levels `0..=level` among them) after the
/// `total_nodes(e)` nodes of the entries before it.
pub(crate) fn node_slot(level: u8, index: u64) -> Option<(u64, u64)> {
    let level32 = u32::from(level);
    if level32 >= 64 {
        return None;
    }
    let count = index.checked_add(1)?;
    if count > u64::MAX >> level32 {
        return None;
    }
    let entry = (count << level32) - 1;
    let slot = total_nodes(entry).checked_add(u64::from(level))?;
    Some((slot, entry))
}

/// Whether `bytes` is all zeros (a zero-filled torn tail).
pub(crate) fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// A 32-byte hash from a slice, `None` when the length is wrong.
pub(crate) fn hash_from(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn node_slots_follow_append_order() {
        // Enumerate nodes in append order and check their slots.
        let mut slot = 0u64;
        for e in 0u64..1000 {
            for level in 0..=e.trailing_ones() {
                let level = u8::try_from(level).unwrap();
                let index = e >> level;
                assert_eq!(node_slot(level, index), Some((slot, e)));
                slot += 1;
            }
            assert_eq!(total_nodes(e + 1), slot);
            assert_eq!(entries_covered_by_nodes(slot), e + 1);
            if slot > 0 {
                assert_eq!(entries_covered_by_nodes(slot - 1), e);
            }
        }
        assert_eq!(node_slot(64, 0), None);
        assert_eq!(node_slot(1, u64::MAX), None);
        assert!(entries_covered_by_nodes(u64::MAX) > 0);
    }

    #[test]
    fn names() {
        assert_eq!(segment_name(7), "seg-00000000000000000007.log");
        assert_eq!(parse_segment_name(&segment_name(7)), Some(Ok(7)));
        assert_eq!(parse_segment_name("seg-7.log"), Some(Err(())));
        assert_eq!(
            parse_segment_name("seg-99999999999999999999.log"),
            Some(Err(()))
        );
        assert_eq!(parse_segment_name("index.bin"), None);
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // The check value FORMAT.md quotes.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn record_layout() {
        let mut out = Vec::new();
        encode_record(&mut out, 5, b"abc", 3);
        assert_eq!(&out[..12], &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&out[12..15], b"abc");
        let crc = crc32c::crc32c(&out[..15]);
        assert_eq!(&out[15..], &crc.to_be_bytes());
    }
}
