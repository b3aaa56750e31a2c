//! Recovery on open: find the segments, check them and the derived files
//! against each other, find a torn tail, and rebuild what derived data is
//! missing. Pure reading: the caller applies the outcome (truncation,
//! rebuilt derived data) only once the whole log has been judged sound.
//!
//! The rules, in `FORMAT.md` § Recovery:
//!
//! * every segment header must be valid, except the newest segment's when
//!   it is a strict prefix of the expected header or all zeros (a torn
//!   creation: the file is dropped);
//! * segments must start at entry 0 and follow one another without gap;
//! * sealed segments (all but the newest) are spot-checked against the
//!   derived files (first and last record) unless they lie in the region
//!   being rebuilt, which is scanned in full;
//! * the newest segment is scanned in full: every record's CRC32C and
//!   entry number is checked; a failing record is a torn write only if it
//!   is the last thing in the file (it reaches or passes the end, or only
//!   zeros follow it); anything else is `Corrupt`;
//! * derived data that disagrees with a sealed segment is `Corrupt`; in
//!   the newest segment it is a stale cache (never synced) and is rebuilt;
//! * derived files recording more entries than the segments hold mean that
//!   entries once synced are gone: `Corrupt` for a writer.
//!
//! [`recover`] runs them in that order: the header check
//! ([`check_headers`], [`check_oldest`]), the spot checks of sealed
//! segments ([`spot_check_sealed`]), the segment scan ([`scan`]: records,
//! derived-file reconciliation and tail repair), and
//! [`check_derived_not_ahead`].

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::format::{
    self, DERIVED_HEADER_LEN, INDEX_FILE, INDEX_MAGIC, INDEX_SLOT, MAX_ENTRY_LEN, NODE_SLOT,
    NODES_FILE, NODES_MAGIC, RECORD_OVERHEAD, RECORD_PREFIX_LEN, SEGMENT_HEADER_LEN,
};
use super::fsio::read_at;
use crate::error::{Error, Result};
use crate::merkle::leaf_hash;
use crate::store::Hash;

mod scan;
use self::scan::Scan;

/// A segment file: the index of its first entry and its path.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) first: u64,
    pub(crate) path: PathBuf,
}

/// What recovery found, for the store to apply.
#[derive(Debug)]
pub(crate) struct Recovery {
    /// Segments, oldest first (a torn-created newest segment excluded).
    pub(crate) segments: Vec<Segment>,
    /// Whether the directory held any segment file at all.
    pub(crate) any_segment: bool,
    /// Number of intact entries.
    pub(crate) len: u64,
    /// Bytes of the newest segment holding intact records (header included).
    pub(crate) last_end: u64,
    /// Actual size of the newest segment file (more than `last_end` when a
    /// torn tail must be truncated).
    pub(crate) last_file_len: u64,
    /// A torn-created newest segment to delete.
    pub(crate) drop_segment: Option<PathBuf>,
    /// Entries whose derived data (index slot and nodes) on disk is valid.
    pub(crate) derived_keep: u64,
    /// Whether the index and nodes files have a valid header.
    pub(crate) index_header_ok: bool,
    /// See `index_header_ok`.
    pub(crate) nodes_header_ok: bool,
    /// Rebuilt index slots for entries `derived_keep..len`.
    pub(crate) index_tail: Vec<u8>,
    /// Rebuilt node slots for entries `derived_keep..len`.
    pub(crate) nodes_tail: Vec<u8>,
}

fn corrupt(position: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        position: position.into(),
        reason: reason.into(),
    }
}

fn to_usize(n: u64, position: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| corrupt(position, "size exceeds the address space"))
}

// ---------------------------------------------------------------------------
// Recovery

/// Reads the log in `dir` and judges it. `writer`: whether derived files
/// recording more entries than the segments hold are an error (for a
/// reader they may just be a writer's appends racing the open).
/// `full_scan`: scan every segment instead of spot-checking sealed ones.
pub(crate) fn recover(dir: &Path, writer: bool, full_scan: bool) -> Result<Recovery> {
    let Headers {
        segments,
        any_segment,
        drop_segment,
    } = check_headers(dir)?;
    let index = Derived::open(dir, INDEX_FILE, INDEX_MAGIC, INDEX_SLOT)?;
    let nodes = Derived::open(dir, NODES_FILE, NODES_MAGIC, NODE_SLOT)?;
    let derived = index
        .slots
        .min(format::entries_covered_by_nodes(nodes.slots));
    let mut recovery = Recovery {
        segments: Vec::new(),
        any_segment,
        len: 0,
        last_end: SEGMENT_HEADER_LEN,
        last_file_len: SEGMENT_HEADER_LEN,
        drop_segment,
        derived_keep: 0,
        index_header_ok: index.header_ok,
        nodes_header_ok: nodes.header_ok,
        index_tail: Vec::new(),
        nodes_tail: Vec::new(),
    };

    let (Some(oldest), Some(newest)) = (segments.first(), segments.last()) else {
        check_derived_not_ahead(writer, derived, 0, None)?;
        return Ok(recovery);
    };
    check_oldest(oldest)?;
    let newest_first = newest.first;

    let s0 = scan_start(&segments, derived, full_scan);
    spot_check_sealed(segments.get(..=s0).unwrap_or_default(), &index, &nodes)?;
    let base = segments.get(s0).map(|s| s.first).unwrap_or_default();
    let mut scan = Scan::new(&index, &nodes, derived, base)?;
    let newest_end = scan.segments(segments.get(s0..).unwrap_or_default())?;
    recovery.last_end = newest_end.records_end;
    recovery.last_file_len = newest_end.file_len;

    let len = scan.expected;
    check_derived_not_ahead(
        writer,
        derived,
        len,
        Some((newest_first, recovery.last_end)),
    )?;
    recovery.derived_keep = scan.mismatch.unwrap_or(derived).min(len);
    recovery.len = len;
    recovery.index_tail = scan.index_tail;
    recovery.nodes_tail = scan.nodes_tail;
    recovery.segments = segments;
    Ok(recovery)
}

// ---------------------------------------------------------------------------
// Header check

/// The segment files of a log directory whose headers passed the check.
struct Headers {
    /// Segments, oldest first, the torn-created newest one excluded.
    segments: Vec<Segment>,
    /// Whether the directory held any segment file at all.
    any_segment: bool,
    /// A torn-created newest segment (header a strict prefix of the
    /// expected one, or all zeros) to delete.
    drop_segment: Option<PathBuf>,
}

/// Lists the segments of `dir` and checks every header: each must be
/// valid, except the newest segment's when its creation was torn.
fn check_headers(dir: &Path) -> Result<Headers> {
    let mut segments = list_segments(dir)?;
    let any_segment = !segments.is_empty();
    let count = segments.len();
    let mut drop_segment = None;
    for (k, seg) in segments.iter().enumerate() {
        match check_header(seg)? {
            HeaderState::Ok => {}
            HeaderState::Torn if k + 1 == count => drop_segment = Some(seg.path.clone()),
            HeaderState::Torn => {
                return Err(corrupt(
                    format::position(seg.first, 0, seg.first),
                    "segment header truncated",
                ));
            }
            HeaderState::Bad(reason) => {
                return Err(corrupt(format::position(seg.first, 0, seg.first), reason));
            }
        }
    }
    if drop_segment.is_some() {
        segments.pop();
    }
    Ok(Headers {
        segments,
        any_segment,
        drop_segment,
    })
}

/// The oldest segment must start at entry 0.
fn check_oldest(oldest: &Segment) -> Result<()> {
    if oldest.first != 0 {
        return Err(corrupt(
            format::position(oldest.first, 0, oldest.first),
            format!(
                "the oldest segment starts at entry {}, not 0: segments are missing",
                oldest.first
            ),
        ));
    }
    Ok(())
}

/// Lists the segment files of `dir`, sorted by first index.
fn list_segments(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        match format::parse_segment_name(name) {
            None => {}
            Some(Err(())) => return Err(corrupt(name, "malformed segment file name")),
            Some(Ok(first)) => {
                let path = entry.path();
                let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
                if !meta.is_file() {
                    return Err(corrupt(name, "segment is not a regular file"));
                }
                segments.push(Segment { first, path });
            }
        }
    }
    segments.sort_by_key(|s| s.first);
    Ok(segments)
}

enum HeaderState {
    Ok,
    Torn,
    Bad(String),
}

fn check_header(seg: &Segment) -> Result<HeaderState> {
    let file = File::open(&seg.path).map_err(|e| Error::io(&seg.path, e))?;
    let len = file.metadata().map_err(|e| Error::io(&seg.path, e))?.len();
    let expected = format::segment_header(seg.first);
    let have = len.min(SEGMENT_HEADER_LEN);
    let mut buf = vec![0u8; to_usize(have, "segment header")?];
    read_at(&file, &mut buf, 0).map_err(|e| Error::io(&seg.path, e))?;
    if buf.as_slice() == expected.as_slice() {
        return Ok(HeaderState::Ok);
    }
    if len <= SEGMENT_HEADER_LEN && (expected.starts_with(&buf) || format::all_zero(&buf)) {
        return Ok(HeaderState::Torn);
    }
    let reason = if buf.len() < expected.len() {
        "segment header truncated".to_owned()
    } else if buf.get(..8) != expected.get(..8) {
        "not a segment file (bad magic)".to_owned()
    } else if buf.get(8..12) != expected.get(8..12) {
        let v = buf
            .get(8..12)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .unwrap_or_default();
        format!("unsupported segment format version {v}")
    } else if buf.get(12..20) != expected.get(12..20) {
        let f = buf.get(12..20).and_then(format::be_u64).unwrap_or_default();
        format!(
            "header names first entry {f} but the file name says {}",
            seg.first
        )
    } else {
        "segment header fails its CRC32C".to_owned()
    };
    Ok(HeaderState::Bad(reason))
}

// ---------------------------------------------------------------------------
// Derived files and records

/// An index or nodes file as found on disk.
struct Derived {
    path: PathBuf,
    file: Option<File>,
    header_ok: bool,
    slots: u64,
    slot: u64,
}

impl Derived {
    fn open(dir: &Path, name: &str, magic: [u8; 8], slot: u64) -> Result<Self> {
        let path = dir.join(name);
        let mut derived = Derived {
            path,
            file: None,
            header_ok: false,
            slots: 0,
            slot,
        };
        let file = match File::open(&derived.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(derived),
            Err(e) => return Err(Error::io(&derived.path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io(&derived.path, e))?
            .len();
        if len >= DERIVED_HEADER_LEN {
            let mut header = [0u8; 16];
            read_at(&file, &mut header, 0).map_err(|e| Error::io(&derived.path, e))?;
            if header == format::derived_header(magic) {
                derived.header_ok = true;
                derived.slots = (len - DERIVED_HEADER_LEN) / slot;
            }
        }
        derived.file = Some(file);
        Ok(derived)
    }

    /// Slots `from..to` (all below `self.slots`).
    fn read(&self, from: u64, to: u64) -> Result<Vec<u8>> {
        let name = format::file_position(&self.path);
        let count = to.saturating_sub(from);
        let bytes = count
            .checked_mul(self.slot)
            .ok_or_else(|| corrupt(&name, "derived file too large"))?;
        let mut buf = vec![0u8; to_usize(bytes, &name)?];
        if let Some(file) = &self.file
            && !buf.is_empty()
        {
            let at = from
                .checked_mul(self.slot)
                .and_then(|o| o.checked_add(DERIVED_HEADER_LEN))
                .ok_or_else(|| corrupt(&name, "derived file too large"))?;
            read_at(file, &mut buf, at).map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(buf)
    }

    fn read_u64(&self, slot: u64) -> Result<u64> {
        let bytes = self.read(slot, slot.saturating_add(1))?;
        Ok(format::be_u64(&bytes).unwrap_or_default())
    }

    fn read_hash(&self, slot: u64) -> Result<Hash> {
        let bytes = self.read(slot, slot.saturating_add(1))?;
        Ok(format::hash_from(&bytes).unwrap_or_default())
    }
}

/// One record read from a segment.
enum Read1 {
    /// A valid record.
    Record {
        index: u64,
        entry: Vec<u8>,
        end: u64,
    },
    /// End of file exactly at a record boundary.
    End,
    /// A record that does not read.
    Failed(Failure),
}

/// Why a record does not read.
enum Failure {
    /// The record is incomplete (reaches past the end of the file).
    Incomplete(String),
    /// A complete record that fails a check; `end` is where it ends.
    Bad { reason: String, end: u64 },
}

fn read_record(reader: &mut impl Read, offset: u64, file_len: u64) -> io::Result<Read1> {
    let remaining = file_len.saturating_sub(offset);
    if remaining == 0 {
        return Ok(Read1::End);
    }
    if remaining < RECORD_OVERHEAD {
        return Ok(Read1::Failed(Failure::Incomplete(format!(
            "incomplete record: {remaining} bytes left"
        ))));
    }
    let mut prefix = [0u8; RECORD_PREFIX_LEN];
    reader.read_exact(&mut prefix)?;
    let (len, index) = format::parse_prefix(&prefix);
    let end = offset
        .saturating_add(RECORD_OVERHEAD)
        .saturating_add(u64::from(len));
    if end > file_len {
        return Ok(Read1::Failed(Failure::Incomplete(format!(
            "record of {len} entry bytes extends past the end of the file"
        ))));
    }
    if len > MAX_ENTRY_LEN {
        return Ok(Read1::Failed(Failure::Bad {
            reason: format!("entry length {len} exceeds the maximum {MAX_ENTRY_LEN}"),
            end,
        }));
    }
    let mut entry = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    reader.read_exact(&mut entry)?;
    let mut crc = [0u8; 4];
    reader.read_exact(&mut crc)?;
    if !format::check_crc(&prefix, &entry, crc) {
        return Ok(Read1::Failed(Failure::Bad {
            reason: "record fails its CRC32C".to_owned(),
            end,
        }));
    }
    Ok(Read1::Record { index, entry, end })
}

/// `len` bytes of `bytes` at `at`, or nothing when out of range.
fn slice_at(bytes: &[u8], at: u64, len: usize) -> &[u8] {
    usize::try_from(at)
        .ok()
        .and_then(|a| bytes.get(a..a.checked_add(len)?))
        .unwrap_or_default()
}

/// Whether every byte of `file` from `offset` to `len` is zero.
fn zeros_from(file: &File, offset: u64, len: u64) -> io::Result<bool> {
    let mut at = offset;
    let mut buf = vec![0u8; 64 * 1024];
    while at < len {
        let n = (len - at).min(64 * 1024);
        let chunk = buf
            .get_mut(..usize::try_from(n).map_err(io::Error::other)?)
            .ok_or_else(|| io::Error::other("chunk"))?;
        read_at(file, chunk, at)?;
        if !format::all_zero(chunk) {
            return Ok(false);
        }
        at += n;
    }
    Ok(true)
}

// ---------------------------------------------------------------------------
// Sealed segments before the scan: spot checks

/// The segment from which every record is read: the one holding the first
/// entry without derived data (at the latest, the newest segment), or the
/// oldest for a full scan. Sealed segments before it are spot-checked.
fn scan_start(segments: &[Segment], derived: u64, full_scan: bool) -> usize {
    let last_first = segments.last().map(|s| s.first).unwrap_or_default();
    let scan_from = if full_scan {
        0
    } else {
        derived.min(last_first)
    };
    segments
        .partition_point(|s| s.first <= scan_from)
        .saturating_sub(1)
}

/// Spot-checks each segment of `segments` but the last (which ends where
/// the last one begins) against the derived files.
fn spot_check_sealed(segments: &[Segment], index: &Derived, nodes: &Derived) -> Result<()> {
    for pair in segments.windows(2) {
        if let [seg, next] = pair {
            spot_check(seg, next.first, index, nodes)?;
        }
    }
    Ok(())
}

/// Spot-checks sealed segment `seg` (entries `seg.first..next_first`)
/// against the derived files: its first entry sits right after the header,
/// its last entry is intact, ends the file, and has the leaf hash stored.
fn spot_check(seg: &Segment, next_first: u64, index: &Derived, nodes: &Derived) -> Result<()> {
    let last = next_first.saturating_sub(1);
    let first_offset = index.read_u64(seg.first)?;
    if first_offset != SEGMENT_HEADER_LEN {
        return Err(corrupt(
            format::position(seg.first, first_offset, seg.first),
            format!("index.bin places the segment's first entry at offset {first_offset}"),
        ));
    }
    let offset = index.read_u64(last)?;
    let pos = format::position(seg.first, offset, last);
    let file = File::open(&seg.path).map_err(|e| Error::io(&seg.path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(&seg.path, e))?.len();
    if offset < SEGMENT_HEADER_LEN || offset >= file_len {
        return Err(corrupt(
            pos,
            format!(
                "index.bin places the segment's last entry outside the file ({file_len} bytes)"
            ),
        ));
    }
    let mut reader = BufReader::new(&file);
    reader
        .seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io(&seg.path, e))?;
    match read_record(&mut reader, offset, file_len).map_err(|e| Error::io(&seg.path, e))? {
        Read1::Record {
            index: found,
            entry,
            end,
        } => {
            if found != last {
                return Err(corrupt(
                    pos,
                    format!(
                        "record holds entry {found} where entry {last} belongs: the segment \
                         does not end where the next one begins (a segment missing or altered)"
                    ),
                ));
            }
            if end != file_len {
                return Err(corrupt(
                    pos,
                    format!(
                        "sealed segment has {} bytes after its last entry",
                        file_len - end
                    ),
                ));
            }
            let (slot, _) = format::node_slot(0, last)
                .ok_or_else(|| corrupt(pos.clone(), "entry index out of range"))?;
            if nodes.read_hash(slot)? != leaf_hash(&entry) {
                return Err(corrupt(pos, "nodes.bin leaf hash disagrees with the entry"));
            }
            Ok(())
        }
        Read1::End | Read1::Failed(Failure::Incomplete(_)) => Err(corrupt(
            pos,
            "sealed segment is truncated, or does not end where the next one begins \
             (a segment missing?)",
        )),
        Read1::Failed(Failure::Bad { reason, .. }) => Err(corrupt(pos, reason)),
    }
}

// ---------------------------------------------------------------------------
// Derived files ahead of the segments

/// Derived-file reconciliation of the whole log: derived files recording
/// more entries (`derived`) than the segments hold (`len`, ending in the
/// segment starting at `newest.0` at byte `newest.1`) mean that entries
/// once synced are gone. `Corrupt` for a `writer`; for a reader they may be
/// a writer's appends racing the open.
fn check_derived_not_ahead(
    writer: bool,
    derived: u64,
    len: u64,
    newest: Option<(u64, u64)>,
) -> Result<()> {
    if !writer || derived <= len {
        return Ok(());
    }
    Err(match newest {
        None => corrupt(
            INDEX_FILE,
            format!("derived files record {derived} entries but no segment file exists"),
        ),
        Some((first, end)) => corrupt(
            format::position(first, end, len),
            format!(
                "index.bin and nodes.bin record {derived} entries but the segments end at entry \
                 {len}: entries once synced are missing (truncated or deleted)"
            ),
        ),
    })
}
