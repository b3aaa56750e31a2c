//! The segment scan: every record of the segments from the first one not
//! covered by derived data (every segment for a full scan) is read in
//! order, with its CRC32C and entry number checked; the tree's right edge
//! is extended, the derived data on disk compared with it
//! (reconciliation), and what is missing or stale rebuilt. A record that
//! does not read ends the scan when it is the newest segment's torn tail
//! (tail repair) and is `Corrupt` anywhere else.

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};

use super::{Derived, Failure, Read1, Segment, corrupt, read_record, slice_at, zeros_from};
use crate::error::{Error, Result};
use crate::file::format::{
    self, INDEX_SLOT, NODE_SLOT, NODES_FILE, RECORD_OVERHEAD, SEGMENT_HEADER_LEN,
};
use crate::merkle::{CompactRange, leaf_hash};
use crate::store::Node;

/// A segment being scanned.
struct ScanSegment<'a> {
    seg: &'a Segment,
    file: File,
    /// The file's size.
    len: u64,
    /// Whether this is the newest segment, whose tail may be torn.
    is_last: bool,
}

impl ScanSegment<'_> {
    fn io(&self, e: io::Error) -> Error {
        Error::io(&self.seg.path, e)
    }
}

/// The derived data on disk for entries `first..to` of one segment.
struct KnownSlots {
    first: u64,
    to: u64,
    index: Vec<u8>,
    nodes: Vec<u8>,
}

/// Where the scan of a segment stopped.
pub(super) struct ScanEnd {
    /// Bytes holding intact records (header included).
    pub(super) records_end: u64,
    /// The file's size.
    pub(super) file_len: u64,
}

/// The state of the full scan of segments `s0..`: every record is read in
/// order, the tree's right edge extended, the derived data compared, and
/// the derived data that is missing or stale rebuilt.
pub(super) struct Scan<'a> {
    index: &'a Derived,
    nodes: &'a Derived,
    /// Entries with derived data on disk (both files).
    derived: u64,
    range: CompactRange,
    /// The index the next record must hold.
    pub(super) expected: u64,
    /// The first entry of the newest segment whose derived data is a crash
    /// artefact (zeros where data was never synced): rebuilt from there.
    pub(super) mismatch: Option<u64>,
    /// Rebuilt index slots.
    pub(super) index_tail: Vec<u8>,
    /// Rebuilt node slots.
    pub(super) nodes_tail: Vec<u8>,
}

impl<'a> Scan<'a> {
    /// A scan from entry `base`, the first of a segment, with the tree's
    /// right edge read from the nodes file.
    pub(super) fn new(
        index: &'a Derived,
        nodes: &'a Derived,
        derived: u64,
        base: u64,
    ) -> Result<Self> {
        let range = CompactRange::from_nodes(base, |level, i| {
            let (slot, _) = format::node_slot(level, i)
                .ok_or_else(|| corrupt(NODES_FILE, "node position out of range"))?;
            nodes.read_hash(slot)
        })?;
        Ok(Scan {
            index,
            nodes,
            derived,
            range,
            expected: base,
            mismatch: None,
            index_tail: Vec::new(),
            nodes_tail: Vec::new(),
        })
    }

    /// Scans `segments`, the newest last, and says where the newest one's
    /// records end.
    pub(super) fn segments(&mut self, segments: &[Segment]) -> Result<ScanEnd> {
        let mut newest_end = ScanEnd {
            records_end: SEGMENT_HEADER_LEN,
            file_len: SEGMENT_HEADER_LEN,
        };
        let mut prev_end = None;
        for (k, seg) in segments.iter().enumerate() {
            self.check_contiguous(seg, prev_end)?;
            newest_end = self.segment(seg, segments.get(k.saturating_add(1)))?;
            prev_end = Some((seg.first, newest_end.records_end));
        }
        Ok(newest_end)
    }

    /// Segment `seg` must start at the entry expected next; `prev_end` is
    /// where the previous segment scanned ended (its first index and size).
    fn check_contiguous(&self, seg: &Segment, prev_end: Option<(u64, u64)>) -> Result<()> {
        let expected = self.expected;
        if seg.first == expected {
            return Ok(());
        }
        let position = match prev_end {
            Some((first, end)) => format::position(first, end, expected),
            None => format::position(seg.first, 0, seg.first),
        };
        Err(corrupt(
            position,
            format!(
                "the next segment starts at entry {} but this one ends before entry \
                 {expected}: a segment is missing or was truncated",
                seg.first
            ),
        ))
    }

    /// Reads every record of `seg` (followed by `next`, unless it is the
    /// newest), up to its end or its torn tail.
    fn segment(&mut self, seg: &Segment, next: Option<&Segment>) -> Result<ScanEnd> {
        let file = File::open(&seg.path).map_err(|e| Error::io(&seg.path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&seg.path, e))?.len();
        let seg = ScanSegment {
            seg,
            file,
            len,
            is_last: next.is_none(),
        };
        let known = self.known_slots(seg.seg, next, seg.len)?;
        let mut reader = BufReader::with_capacity(1 << 20, &seg.file);
        reader
            .seek(SeekFrom::Start(SEGMENT_HEADER_LEN))
            .map_err(|e| seg.io(e))?;
        let mut offset = SEGMENT_HEADER_LEN;
        loop {
            match read_record(&mut reader, offset, seg.len).map_err(|e| seg.io(e))? {
                Read1::End => break,
                Read1::Record { index, entry, end } => {
                    self.record(&seg, offset, index, &entry, &known)?;
                    offset = end;
                }
                Read1::Failed(failure) => {
                    let pos = format::position(seg.seg.first, offset, self.expected);
                    tail_repair(&seg, offset, failure, pos)?;
                    break;
                }
            }
        }
        Ok(ScanEnd {
            records_end: offset,
            file_len: seg.len,
        })
    }

    /// The derived slots of `seg`'s entries, read at once. Every record
    /// takes at least 16 bytes, which bounds the read.
    fn known_slots(
        &self,
        seg: &Segment,
        next: Option<&Segment>,
        file_len: u64,
    ) -> Result<KnownSlots> {
        let first = seg.first;
        let mut to = self
            .derived
            .min(first.saturating_add(file_len / RECORD_OVERHEAD));
        if let Some(next) = next {
            to = to.min(next.first);
        }
        Ok(KnownSlots {
            first,
            to,
            index: self.index.read(first, to)?,
            nodes: self
                .nodes
                .read(format::total_nodes(first), format::total_nodes(to))?,
        })
    }

    /// An intact record at `offset` of `seg` holding entry `found`: it must
    /// be the entry expected next. Extends the tree, reconciles the entry's
    /// derived data and rebuilds it where needed.
    fn record(
        &mut self,
        seg: &ScanSegment<'_>,
        offset: u64,
        found: u64,
        entry: &[u8],
        known: &KnownSlots,
    ) -> Result<()> {
        let expected = self.expected;
        let pos = || format::position(seg.seg.first, offset, expected);
        if found != expected {
            return Err(corrupt(
                pos(),
                format!(
                    "record holds entry {found} where entry {expected} belongs: \
                     entries were deleted, duplicated or reordered"
                ),
            ));
        }
        let new_nodes = self.range.append(leaf_hash(entry));
        if expected < known.to && self.mismatch.is_none() {
            self.reconcile(seg.is_last, offset, &new_nodes, known)
                .map_err(|reason| corrupt(pos(), reason))?;
        }
        if expected >= self.derived || self.mismatch.is_some() {
            self.index_tail.extend_from_slice(&offset.to_be_bytes());
            for n in &new_nodes {
                self.nodes_tail.extend_from_slice(&n.hash);
            }
        }
        self.expected = expected.saturating_add(1);
        Ok(())
    }

    /// Derived-file reconciliation of the expected entry, at `offset`,
    /// which completed `new_nodes`: its index slot and nodes on disk must
    /// be these. In the newest segment, a difference that is only zeros
    /// where bytes belong is a crash artefact: the derived data is rebuilt
    /// from this entry on. Any other difference is the error's reason.
    fn reconcile(
        &mut self,
        is_last: bool,
        offset: u64,
        new_nodes: &[Node],
        known: &KnownSlots,
    ) -> std::result::Result<(), &'static str> {
        let expected = self.expected;
        let mut want = Vec::with_capacity(8 + 32 * new_nodes.len());
        let mut have = Vec::with_capacity(want.capacity());
        want.extend_from_slice(&offset.to_be_bytes());
        let slot = (expected - known.first).saturating_mul(INDEX_SLOT);
        have.extend_from_slice(slice_at(&known.index, slot, 8));
        let node_from = format::total_nodes(expected) - format::total_nodes(known.first);
        for (j, n) in new_nodes.iter().enumerate() {
            want.extend_from_slice(&n.hash);
            let at = node_from.saturating_add(j as u64).saturating_mul(NODE_SLOT);
            have.extend_from_slice(slice_at(&known.nodes, at, 32));
        }
        if have == want {
            return Ok(());
        }
        // Derived slots are append-only and written after the entries are
        // synced: a crash can leave zeros where they were not synced, never
        // other bytes.
        let artefact =
            have.len() == want.len() && have.iter().zip(&want).all(|(h, w)| h == w || *h == 0);
        if is_last && artefact {
            self.mismatch = Some(expected);
            Ok(())
        } else {
            Err("index.bin or nodes.bin disagrees with the entry")
        }
    }
}

/// A record of `seg` at `offset` (position `pos`) does not read. In the
/// newest segment, when it is the last thing in the file (it is
/// incomplete, or ends at or past the end, or only zeros follow it), it is
/// a torn write: `Ok`, the records end at `offset` and the store truncates
/// the rest. Anything else is `Corrupt`.
fn tail_repair(seg: &ScanSegment<'_>, offset: u64, failure: Failure, pos: String) -> Result<()> {
    match failure {
        Failure::Incomplete(_) if seg.is_last => Ok(()),
        Failure::Incomplete(reason) => Err(corrupt(
            pos,
            format!("sealed segment is truncated: {reason}"),
        )),
        Failure::Bad { reason, end } => {
            let torn = seg.is_last
                && (end >= seg.len
                    || zeros_from(&seg.file, offset, seg.len).map_err(|e| seg.io(e))?);
            if torn {
                Ok(())
            } else {
                Err(corrupt(pos, reason))
            }
        }
    }
}
