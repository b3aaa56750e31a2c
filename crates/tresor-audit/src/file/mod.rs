//! The file store: the embedded default [`LogStore`].
//!
//! A log is a directory of append-only *segment files* holding the entries
//! (each record length-prefixed, numbered and protected by a CRC32C), plus
//! two *derived* files, an index of entry offsets and the perfect-subtree
//! hashes, that make [`LogStore::entry`] and [`LogStore::node`] one or two
//! positioned reads. The byte layout is specified in the crate's
//! `FORMAT.md`.
//!
//! # Guarantees
//!
//! * **An acknowledged append is never lost.** An entry below
//!   [`LogStore::durable_len`] was written and `fsync`ed (`sync_data`) before
//!   `durable_len` moved past it; after a crash, [`FileStore::open`] finds it
//!   intact. Entries not yet durable may be lost, whole: a torn final record
//!   is truncated on open.
//! * **Damage is refused, not repaired.** A record that fails its CRC32C or
//!   holds the wrong entry number anywhere but at the very end of the
//!   newest segment, a missing or truncated segment, or derived files
//!   recording entries the segments no longer hold make `open` fail with
//!   [`Error::Corrupt`] naming the file, byte offset and entry.
//! * **One writer.** [`FileStore::open`] takes an exclusive advisory lock on
//!   the directory's `LOCK` file (released when the store is dropped or the
//!   process dies); a second writer gets [`Error::Locked`]. Readers
//!   ([`FileStore::open_read_only`]) take no lock.
//!
//! CRC32C is not a MAC: whoever can write the files can rewrite an entry
//! and its CRC. The store detects accidents and clumsy edits; deliberate
//! tampering is caught by the Merkle tree and signed checkpoints, which
//! the verifier checks against the entries.
//!
//! ```
//! use tresor_audit::file::{FileStore, FileStoreOptions, SyncPolicy};
//! use tresor_audit::merkle::{CompactRange, leaf_hash};
//! use tresor_audit::LogStore;
//!
//! # fn main() -> tresor_audit::Result<()> {
//! let dir = std::env::temp_dir().join(format!("tresor-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let mut store = FileStore::open(&dir, FileStoreOptions::default().with_sync(SyncPolicy::Every))?;
//! let mut range = CompactRange::new();
//! let entry = br#"{"action":"login"}"#;
//! let nodes = range.append(leaf_hash(entry));
//! let index = store.append(entry, &nodes)?;
//! assert_eq!(store.durable_len(), index + 1);
//! drop(store);
//!
//! let store = FileStore::open_read_only(&dir)?;
//! assert_eq!(store.entry(0)?, entry);
//! assert_eq!(store.node(0, 0)?, leaf_hash(entry));
//! # drop(store);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

mod format;
mod fsio;
mod recover;

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use self::format::{
    DERIVED_HEADER_LEN, INDEX_FILE, INDEX_MAGIC, INDEX_SLOT, LOCK_FILE, MAX_ENTRY_LEN, NODE_SLOT,
    NODES_FILE, NODES_MAGIC, RECORD_OVERHEAD, RECORD_PREFIX_LEN, SEGMENT_HEADER_LEN,
};
use self::fsio::{read_at, sync_dir, write_at};
use crate::error::{Error, Result};
use crate::store::{Hash, LogStore, Node};

/// Segment bytes buffered before they are written out (without a sync)
/// when the sync policy has not yet called for a commit.
const SPILL_BYTES: usize = 1 << 20;

/// When appended entries become durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Every append is written and synced before it returns: `durable_len
    /// == len` after each successful append. One `fsync` per entry.
    Every,
    /// Group commit: appends are buffered and synced together once
    /// `entries` are pending, or at the first append made `interval` or more
    /// after the oldest pending one. No background thread: if appends stop,
    /// the pending entries (fewer than `entries`, younger than `interval` at
    /// the last append) stay non-durable until [`LogStore::sync`] (or the
    /// store is dropped, which syncs on a best-effort basis). Acknowledge an
    /// entry to its producer only once `durable_len` has passed its index.
    Group {
        /// Pending entries that trigger a commit (at least 1).
        entries: u64,
        /// Age of the oldest pending entry that triggers a commit at the next
        /// append.
        interval: Duration,
    },
    /// Entries become durable only on [`LogStore::sync`] (and when a segment
    /// fills up and is sealed). Buffered bytes are written out, unsynced,
    /// every 1 MiB.
    Manual,
}

/// How [`FileStore::open`] opens a log.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FileStoreOptions {
    /// When appends become durable. Default: [`SyncPolicy::Every`].
    pub sync: SyncPolicy,
    /// Size in bytes at which a segment is sealed and a new one started
    /// (a segment holds at least one entry, whatever its size). Default:
    /// 64 MiB. Only affects new segments.
    pub segment_size: u64,
    /// Whether to create the log (and its directory) when absent. Default:
    /// `true`.
    pub create: bool,
    /// Whether [`FileStore::open`] reads and checks every record of every
    /// segment, and every derived slot, rather than only the newest
    /// segment in full and the first and last record of each sealed one.
    /// Costs a read of the whole log. Default: `false` (sealed entries are
    /// still checked whenever read; see [`FileStore::check_entries`]).
    pub full_scan: bool,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Every,
            segment_size: 64 << 20,
            create: true,
            full_scan: false,
        }
    }
}

impl FileStoreOptions {
    /// These options with `sync` as the sync policy.
    #[must_use]
    pub fn with_sync(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }

    /// These options with segments of `bytes` bytes.
    #[must_use]
    pub fn with_segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// These options with `create` set.
    #[must_use]
    pub fn with_create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// These options with `full_scan` set.
    #[must_use]
    pub fn with_full_scan(mut self, full_scan: bool) -> Self {
        self.full_scan = full_scan;
        self
    }
}

/// Bytes after the last complete record of a log, which a read-only open
/// skipped (a writer's open truncates them): a crash in the middle of an
/// append, an append in progress, or an altered final record. Nothing in
/// them was acknowledged as durable, but a verifier should say they are
/// there ([`FileStore::torn_tail`]).
///
/// Built only by [`FileStore::open_read_only`]; `#[non_exhaustive]` so that
/// it can say more about the tail later.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// The file holding them: the newest segment (or a newly created
    /// segment without a complete header).
    pub path: PathBuf,
    /// Where they start in that file.
    pub offset: u64,
    /// How many there are.
    pub bytes: u64,
}

/// The file store: append-only segment files plus derived index and node
/// files, recovered on open. See the [module documentation](self).
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    /// What a read-only open skipped at the end of the log.
    torn_tail: Option<TornTail>,
    options: FileStoreOptions,
    read_only: bool,
    /// Holds the exclusive lock (writers only).
    _lock: Option<File>,
    /// First entry index of each segment, increasing.
    segments: Vec<u64>,
    /// The newest segment (read-write for a writer).
    active: Option<File>,
    /// The most recently read sealed segment.
    sealed: Mutex<Option<(u64, File)>>,
    index: Option<File>,
    nodes: Option<File>,
    len: u64,
    durable: u64,
    /// Bytes of the newest segment written to its file.
    seg_written: u64,
    /// Records not yet written, to go at `seg_written`.
    seg_buf: Vec<u8>,
    /// Entries whose index slot and nodes are in the derived files.
    derived_disk: u64,
    /// Index slots of entries `derived_disk..len`.
    index_buf: Vec<u8>,
    /// Node slots of entries `derived_disk..len`.
    nodes_buf: Vec<u8>,
    /// When the oldest non-durable entry was appended.
    pending_since: Option<Instant>,
    /// Set when a write or sync failed: the files' state is unknown.
    poisoned: bool,
}

fn corrupt(position: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        position: position.into(),
        reason: reason.into(),
    }
}

fn not_found(dir: &Path) -> Error {
    Error::io(
        dir,
        io::Error::new(io::ErrorKind::NotFound, "no audit log in this directory"),
    )
}

fn slot_offset(slot: u64, size: u64) -> Option<u64> {
    slot.checked_mul(size)?.checked_add(DERIVED_HEADER_LEN)
}

fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Opens (creating if needed) a derived file for writing, with a valid
/// header, truncated to `keep_slots` slots.
fn prepare_derived(path: &Path, magic: [u8; 8], header_ok: bool, keep_bytes: u64) -> Result<File> {
    let file = open_rw(path)?;
    let io = |e| Error::io(path, e);
    if !header_ok {
        file.set_len(0).map_err(io)?;
        write_at(&file, &format::derived_header(magic), 0).map_err(io)?;
    }
    file.set_len(DERIVED_HEADER_LEN.saturating_add(keep_bytes))
        .map_err(io)?;
    Ok(file)
}

impl FileStore {
    /// Opens the log in `dir` for appending, recovering it: a torn final
    /// record is truncated, missing derived data is rebuilt from the
    /// entries, and any other damage is refused.
    ///
    /// Never panics, whatever the directory holds.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] if another writer holds the log, [`Error::Corrupt`]
    /// (naming the file, offset and entry) if the log is damaged,
    /// [`Error::Io`] on I/O failure, or with kind `NotFound` when the
    /// directory holds no log and `options.create` is false.
    pub fn open(dir: impl AsRef<Path>, options: FileStoreOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            if !options.create {
                return Err(not_found(&dir));
            }
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        if !options.create && !has_segment(&dir)? {
            return Err(not_found(&dir));
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = open_rw(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked { path: dir }),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }

        let rec = recover::recover(&dir, true, options.full_scan)?;
        if !rec.any_segment && !options.create {
            return Err(not_found(&dir));
        }
        if let Some(path) = &rec.drop_segment {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
            sync_dir(&dir)?;
        }

        let mut segments: Vec<u64> = rec.segments.iter().map(|s| s.first).collect();
        let (active, seg_written) = match rec.segments.last() {
            Some(last) => {
                let file = open_rw(&last.path)?;
                let io = |e| Error::io(&last.path, e);
                if rec.last_file_len > rec.last_end {
                    file.set_len(rec.last_end).map_err(io)?;
                }
                // What recovery read may sit in the page cache only (the
                // previous writer died before syncing): make it durable
                // before derived data recording it is written.
                file.sync_data().map_err(io)?;
                (file, rec.last_end)
            }
            None => {
                segments.push(0);
                (create_segment(&dir, 0)?, SEGMENT_HEADER_LEN)
            }
        };

        let index = prepare_derived(
            &dir.join(INDEX_FILE),
            INDEX_MAGIC,
            rec.index_header_ok,
            rec.derived_keep.saturating_mul(INDEX_SLOT),
        )?;
        let nodes = prepare_derived(
            &dir.join(NODES_FILE),
            NODES_MAGIC,
            rec.nodes_header_ok,
            format::total_nodes(rec.derived_keep).saturating_mul(NODE_SLOT),
        )?;
        let mut store = FileStore {
            torn_tail: None,
            dir,
            options,
            read_only: false,
            _lock: Some(lock),
            segments,
            active: Some(active),
            sealed: Mutex::new(None),
            index: Some(index),
            nodes: Some(nodes),
            len: rec.len,
            durable: rec.len,
            seg_written,
            seg_buf: Vec::new(),
            derived_disk: rec.derived_keep,
            index_buf: rec.index_tail,
            nodes_buf: rec.nodes_tail,
            pending_since: None,
            poisoned: false,
        };
        store.write_derived(true)?;
        sync_dir(&store.dir)?;
        Ok(store)
    }

    /// Opens the log in `dir` for reading only: no lock is taken and nothing
    /// is written. A torn tail is ignored rather than truncated, and derived
    /// data that needs rebuilding is rebuilt in memory. The store sees the
    /// log as it was when opened; a writer may append meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if the log is damaged, [`Error::Io`] on I/O
    /// failure (kind `NotFound` when `dir` holds no log).
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(not_found(&dir));
        }
        let rec = recover::recover(&dir, false, false)?;
        if !rec.any_segment {
            return Err(not_found(&dir));
        }
        let open = |path: &Path| File::open(path).map_err(|e| Error::io(path, e));
        let active = match rec.segments.last() {
            Some(last) => Some(open(&last.path)?),
            None => None,
        };
        let derived = |name: &str, ok: bool| -> Result<Option<File>> {
            if ok && rec.derived_keep > 0 {
                open(&dir.join(name)).map(Some)
            } else {
                Ok(None)
            }
        };
        let index = derived(INDEX_FILE, rec.index_header_ok)?;
        let nodes = derived(NODES_FILE, rec.nodes_header_ok)?;
        let torn_tail = match (&rec.drop_segment, rec.segments.last()) {
            (Some(path), _) => Some(TornTail {
                path: path.clone(),
                offset: 0,
                bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            }),
            (None, Some(last)) if rec.last_file_len > rec.last_end => Some(TornTail {
                path: last.path.clone(),
                offset: rec.last_end,
                bytes: rec.last_file_len - rec.last_end,
            }),
            _ => None,
        };
        Ok(FileStore {
            torn_tail,
            options: FileStoreOptions::default().with_create(false),
            read_only: true,
            _lock: None,
            segments: rec.segments.iter().map(|s| s.first).collect(),
            active,
            sealed: Mutex::new(None),
            index,
            nodes,
            len: rec.len,
            durable: rec.len,
            seg_written: rec.last_end,
            seg_buf: Vec::new(),
            derived_disk: rec.derived_keep,
            index_buf: rec.index_tail,
            nodes_buf: rec.nodes_tail,
            pending_since: None,
            poisoned: false,
            dir,
        })
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the store was opened with [`FileStore::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The bytes a read-only open found after the last complete record and
    /// skipped (always `None` for a writer, whose open truncates them).
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// Reads every entry, checking each record's CRC32C and entry number:
    /// the full scan that [`FileStore::open`] does only for the newest
    /// segment (sealed segments are spot-checked on open, and each entry is
    /// checked whenever it is read).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] naming the first damaged entry, or [`Error::Io`].
    pub fn check_entries(&self) -> Result<()> {
        for i in 0..self.len {
            self.entry(i)?;
        }
        Ok(())
    }

    fn poisoned_error(&self) -> Error {
        Error::io(
            &self.dir,
            io::Error::other("an earlier write or sync failed; reopen the log to recover it"),
        )
    }

    fn active_file(&self) -> Result<&File> {
        self.active
            .as_ref()
            .ok_or_else(|| Error::io(&self.dir, io::Error::other("the log has no segment")))
    }

    fn segment_path(&self, first: u64) -> PathBuf {
        self.dir.join(format::segment_name(first))
    }

    /// Writes out buffered segment bytes (no sync).
    fn write_segment_buf(&mut self) -> Result<()> {
        if self.seg_buf.is_empty() {
            return Ok(());
        }
        let file = self.active_file()?;
        let first = self.segments.last().copied().unwrap_or_default();
        write_at(file, &self.seg_buf, self.seg_written)
            .map_err(|e| Error::io(self.segment_path(first), e))?;
        self.seg_written = self.seg_written.saturating_add(self.seg_buf.len() as u64);
        self.seg_buf.clear();
        Ok(())
    }

    /// Writes buffered derived data to the derived files, syncing them if
    /// `sync`. Only called once the entries it records are durable.
    fn write_derived(&mut self, sync: bool) -> Result<()> {
        let (Some(index), Some(nodes)) = (&self.index, &self.nodes) else {
            return Ok(());
        };
        let index_path = || self.dir.join(INDEX_FILE);
        let nodes_path = || self.dir.join(NODES_FILE);
        if !self.index_buf.is_empty() {
            let at = slot_offset(self.derived_disk, INDEX_SLOT)
                .ok_or_else(|| corrupt(INDEX_FILE, "index too large"))?;
            write_at(index, &self.index_buf, at).map_err(|e| Error::io(index_path(), e))?;
        }
        if !self.nodes_buf.is_empty() {
            let at = slot_offset(format::total_nodes(self.derived_disk), NODE_SLOT)
                .ok_or_else(|| corrupt(NODES_FILE, "nodes file too large"))?;
            write_at(nodes, &self.nodes_buf, at).map_err(|e| Error::io(nodes_path(), e))?;
        }
        if sync {
            index.sync_data().map_err(|e| Error::io(index_path(), e))?;
            nodes.sync_data().map_err(|e| Error::io(nodes_path(), e))?;
        }
        self.index_buf.clear();
        self.nodes_buf.clear();
        self.derived_disk = self.len;
        Ok(())
    }

    /// Makes every appended entry durable, then records them in the derived
    /// files (synced too if `seal`).
    fn commit(&mut self, seal: bool) -> Result<()> {
        if self.poisoned {
            return Err(self.poisoned_error());
        }
        let result = self.commit_inner(seal);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn commit_inner(&mut self, seal: bool) -> Result<()> {
        if self.durable == self.len && !seal {
            return Ok(());
        }
        self.write_segment_buf()?;
        let first = self.segments.last().copied().unwrap_or_default();
        self.active_file()?
            .sync_data()
            .map_err(|e| Error::io(self.segment_path(first), e))?;
        self.durable = self.len;
        self.pending_since = None;
        self.write_derived(seal)
    }

    /// Seals the newest segment and starts one whose first entry is `len`.
    fn roll(&mut self) -> Result<()> {
        self.commit(true)?;
        let result = create_segment(&self.dir, self.len);
        match result {
            Ok(file) => {
                self.segments.push(self.len);
                self.active = Some(file);
                self.seg_written = SEGMENT_HEADER_LEN;
                Ok(())
            }
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// Reads `buf.len()` bytes of the segment starting at entry `first`
    /// (segment number `k`), at `offset`, from the file or the buffer.
    fn read_segment(&self, k: usize, first: u64, offset: u64, buf: &mut [u8]) -> Result<()> {
        let path = || self.segment_path(first);
        let eof = |e: io::Error, entry: u64| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                corrupt(
                    format::position(first, offset, entry),
                    "record extends past the end of the segment",
                )
            } else {
                Error::io(path(), e)
            }
        };
        if k + 1 == self.segments.len() {
            let file = self.active_file()?;
            let end = offset.saturating_add(buf.len() as u64);
            if end <= self.seg_written {
                return read_at(file, buf, offset).map_err(|e| eof(e, first));
            }
            // Split between the file and the write buffer.
            let in_file = usize::try_from(self.seg_written.saturating_sub(offset))
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let (head, tail) = buf.split_at_mut(in_file);
            if !head.is_empty() {
                read_at(file, head, offset).map_err(|e| eof(e, first))?;
            }
            let from = usize::try_from(offset.saturating_sub(self.seg_written))
                .map_err(|_| corrupt(format::position(first, offset, first), "offset too large"))?;
            let src = from
                .checked_add(tail.len())
                .and_then(|to| self.seg_buf.get(from..to))
                .ok_or_else(|| {
                    corrupt(
                        format::position(first, offset, first),
                        "record extends past the end of the segment",
                    )
                })?;
            tail.copy_from_slice(src);
            return Ok(());
        }
        let mut cache = self
            .sealed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.as_ref().map(|(f, _)| *f) != Some(first) {
            let file = File::open(path()).map_err(|e| Error::io(path(), e))?;
            *cache = Some((first, file));
        }
        match cache.as_ref() {
            Some((_, file)) => read_at(file, buf, offset).map_err(|e| eof(e, first)),
            None => Err(Error::io(path(), io::Error::other("segment not open"))),
        }
    }

    /// The byte offset, in its segment, of entry `index` (< len).
    fn entry_offset(&self, index: u64) -> Result<u64> {
        if index < self.derived_disk {
            let file = self
                .index
                .as_ref()
                .ok_or_else(|| corrupt(INDEX_FILE, "index file missing"))?;
            let at = slot_offset(index, INDEX_SLOT)
                .ok_or_else(|| corrupt(INDEX_FILE, "index too large"))?;
            let mut buf = [0u8; 8];
            read_at(file, &mut buf, at).map_err(|e| Error::io(self.dir.join(INDEX_FILE), e))?;
            return Ok(u64::from_be_bytes(buf));
        }
        let rel = (index - self.derived_disk).saturating_mul(INDEX_SLOT);
        usize::try_from(rel)
            .ok()
            .and_then(|r| self.index_buf.get(r..r.saturating_add(8)))
            .and_then(format::be_u64)
            .ok_or_else(|| corrupt(INDEX_FILE, format!("no index slot for entry {index}")))
    }
}

/// Whether `dir` holds a segment file (before taking the lock, so that a
/// failed open without `create` leaves nothing behind).
fn has_segment(dir: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| format::parse_segment_name(n).is_some())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates the segment whose first entry is `first`: header written and
/// synced, directory synced.
fn create_segment(dir: &Path, first: u64) -> Result<File> {
    let path = dir.join(format::segment_name(first));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let io = |e| Error::io(&path, e);
    write_at(&file, &format::segment_header(first), 0).map_err(io)?;
    file.sync_data().map_err(io)?;
    sync_dir(dir)?;
    Ok(file)
}

fn invalid_append(index: u64, reason: impl Into<String>) -> Error {
    Error::InvalidAppend {
        index,
        reason: reason.into(),
    }
}

impl LogStore for FileStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn durable_len(&self) -> u64 {
        self.durable
    }

    fn append(&mut self, entry: &[u8], nodes: &[Node]) -> Result<u64> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.dir.clone(),
            });
        }
        if self.poisoned {
            return Err(self.poisoned_error());
        }
        let n = self.len;
        let entry_len = u32::try_from(entry.len())
            .ok()
            .filter(|&l| l <= MAX_ENTRY_LEN)
            .ok_or_else(|| {
                invalid_append(
                    n,
                    format!("entry of {} bytes exceeds {MAX_ENTRY_LEN}", entry.len()),
                )
            })?;
        let want = 1 + n.trailing_ones() as usize;
        if nodes.len() != want {
            return Err(invalid_append(
                n,
                format!("{} node hashes given, {want} expected", nodes.len()),
            ));
        }
        for (level, node) in nodes.iter().enumerate() {
            let ok = u32::try_from(level)
                .is_ok_and(|l| u32::from(node.level) == l && n.checked_shr(l) == Some(node.index));
            if !ok {
                return Err(invalid_append(
                    n,
                    format!(
                        "node {level} is at level {} index {}, not the subtree the entry completes",
                        node.level, node.index
                    ),
                ));
            }
        }

        let record_len = RECORD_OVERHEAD.saturating_add(u64::from(entry_len));
        let active_first = self.segments.last().copied().unwrap_or_default();
        let size = self.seg_written.saturating_add(self.seg_buf.len() as u64);
        if n > active_first && size.saturating_add(record_len) > self.options.segment_size {
            self.roll()?;
        }
        let offset = self.seg_written.saturating_add(self.seg_buf.len() as u64);
        format::encode_record(&mut self.seg_buf, n, entry, entry_len);
        self.index_buf.extend_from_slice(&offset.to_be_bytes());
        for node in nodes {
            self.nodes_buf.extend_from_slice(&node.hash);
        }
        self.len = n + 1;
        let now = || Instant::now();
        let commit = match self.options.sync {
            SyncPolicy::Every => true,
            SyncPolicy::Group { entries, interval } => {
                let since = *self.pending_since.get_or_insert_with(now);
                self.len - self.durable >= entries.max(1) || since.elapsed() >= interval
            }
            SyncPolicy::Manual => false,
        };
        if commit {
            self.commit(false)?;
        } else if self.seg_buf.len() >= SPILL_BYTES
            && let Err(e) = self.write_segment_buf()
        {
            self.poisoned = true;
            return Err(e);
        }
        Ok(n)
    }

    fn sync(&mut self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.dir.clone(),
            });
        }
        self.commit(false)
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>> {
        if index >= self.len {
            return Err(Error::OutOfRange {
                index,
                size: self.len,
            });
        }
        let offset = self.entry_offset(index)?;
        let k = self
            .segments
            .partition_point(|&f| f <= index)
            .checked_sub(1)
            .ok_or_else(|| corrupt(INDEX_FILE, format!("no segment holds entry {index}")))?;
        let first = self.segments.get(k).copied().unwrap_or_default();
        let pos = || format::position(first, offset, index);
        let mut prefix = [0u8; RECORD_PREFIX_LEN];
        self.read_segment(k, first, offset, &mut prefix)?;
        let (len, found) = format::parse_prefix(&prefix);
        if found != index {
            return Err(corrupt(
                pos(),
                format!("record holds entry {found} where entry {index} belongs"),
            ));
        }
        if len > MAX_ENTRY_LEN {
            return Err(corrupt(
                pos(),
                format!("entry length {len} exceeds the maximum"),
            ));
        }
        let body_len = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(4))
            .ok_or_else(|| corrupt(pos(), "entry too long"))?;
        let mut body = vec![0u8; body_len];
        self.read_segment(k, first, offset.saturating_add(12), &mut body)?;
        let crc_at = body_len - 4;
        let crc: [u8; 4] = body
            .get(crc_at..)
            .and_then(|c| c.try_into().ok())
            .unwrap_or_default();
        body.truncate(crc_at);
        if !format::check_crc(&prefix, &body, crc) {
            return Err(corrupt(pos(), "record fails its CRC32C"));
        }
        Ok(body)
    }

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        let size = self.len.checked_shr(u32::from(level)).unwrap_or(0);
        let out_of_range = Error::OutOfRange { index, size };
        let Some((slot, entry)) = format::node_slot(level, index) else {
            return Err(out_of_range);
        };
        if entry >= self.len {
            return Err(out_of_range);
        }
        if entry < self.derived_disk {
            let file = self
                .nodes
                .as_ref()
                .ok_or_else(|| corrupt(NODES_FILE, "nodes file missing"))?;
            let at = slot_offset(slot, NODE_SLOT)
                .ok_or_else(|| corrupt(NODES_FILE, "nodes file too large"))?;
            let mut hash = [0u8; 32];
            read_at(file, &mut hash, at).map_err(|e| Error::io(self.dir.join(NODES_FILE), e))?;
            return Ok(hash);
        }
        let rel = slot
            .saturating_sub(format::total_nodes(self.derived_disk))
            .saturating_mul(NODE_SLOT);
        usize::try_from(rel)
            .ok()
            .and_then(|r| self.nodes_buf.get(r..r.saturating_add(32)))
            .and_then(format::hash_from)
            .ok_or_else(|| {
                corrupt(
                    NODES_FILE,
                    format!("no node at level {level} index {index}"),
                )
            })
    }
}

impl Drop for FileStore {
    /// Syncs pending appends on a best-effort basis (errors are ignored:
    /// call [`LogStore::sync`] to know).
    fn drop(&mut self) {
        if !self.read_only && !self.poisoned {
            let _ = self.commit(false);
        }
    }
}
