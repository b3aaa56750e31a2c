//! `FileStore` recovery of an arbitrary log directory: the input is written
//! as segment and derived files (layout: `tresor_fuzz::audit::split_files`)
//! into a fresh scratch directory, then opened with
//! `FileStore::open_read_only` and `FileStore::open`.
//!
//! Properties: nothing panics, whatever the files hold; whatever opens
//! reads every entry and every stored node without panicking, and an
//! `AuditLog` opens over it; a reader and a writer that both open agree on
//! the entries and the tree head; after a `full_scan` open every stored
//! node is the hash of the entries or nodes below it; a writer that opens
//! can append an entry, and reopening finds the entries it had plus that
//! one, with the tree head the log computed.
#![no_main]

use std::fs;

use libfuzzer_sys::fuzz_target;
use tresor_audit::merkle::{self, CompactRange};
use tresor_audit::{AuditLog, FileStore, FileStoreOptions, Hash, LogStore, SyncPolicy};
use tresor_fuzz::audit::{APPENDED_RECORD, ScratchDir, split_files};

/// A store with more entries than this is only read up to it (inputs are
/// at most a few KiB, so it is never reached in practice).
const MAX_READ: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let (options, files) = split_files(data);
    let scratch = ScratchDir::new("tresor-fuzz-audit").expect("a scratch directory");
    let dir = scratch.path();
    for (name, content) in &files {
        fs::write(dir.join(name), content).expect("a scratch file");
    }

    let reader = FileStore::open_read_only(dir).ok().map(|store| {
        let seen = read_all(&store);
        let _ = store.check_entries();
        let root = AuditLog::open(store)
            .expect("an opened store has its right edge")
            .root();
        (seen, root)
    });

    let open_options = FileStoreOptions::default()
        .with_sync(SyncPolicy::Manual)
        .with_segment_size(options.segment_size)
        .with_full_scan(options.full_scan);
    let Ok(writer) = FileStore::open(dir, open_options.clone()) else {
        return;
    };
    let seen = read_all(&writer);
    if options.full_scan {
        check_nodes(&writer, &seen);
    }
    let log = AuditLog::open(writer).expect("an opened store has its right edge");
    if let Some((reader_seen, reader_root)) = &reader {
        assert_eq!(
            reader_seen.entries, seen.entries,
            "reader and writer disagree"
        );
        assert_eq!(*reader_root, log.root(), "reader and writer disagree");
    }
    if seen.entries.len() as u64 != log.size() {
        return; // over MAX_READ
    }
    let len = log.size();
    let mut log = log;
    log.append_canonical(APPENDED_RECORD.as_bytes())
        .expect("an opened log appends");
    log.sync().expect("an opened log syncs");
    let root = log.root();
    drop(log);

    let reopened = FileStore::open(dir, open_options).expect("a log just written reopens");
    assert_eq!(reopened.len(), len + 1, "reopening lost or gained entries");
    let again = read_all(&reopened);
    assert_eq!(
        again.entries.get(..seen.entries.len()),
        Some(seen.entries.as_slice()),
        "reopening changed old entries"
    );
    assert_eq!(
        again.entries.last().and_then(|e| e.as_deref()),
        Some(APPENDED_RECORD.as_bytes())
    );
    let log = AuditLog::open(reopened).expect("a reopened log has its right edge");
    assert_eq!(log.root(), root, "reopening changed the tree head");
});

/// What a store gives for each entry (an entry may fail its CRC when read)
/// and for each node.
struct Seen {
    entries: Vec<Option<Vec<u8>>>,
    /// `nodes[level][index]`.
    nodes: Vec<Vec<Option<Hash>>>,
}

fn read_all(store: &FileStore) -> Seen {
    let len = store.len().min(MAX_READ);
    assert!(store.durable_len() <= store.len());
    let entries = (0..len).map(|i| store.entry(i).ok()).collect();
    let _ = store.entry(len);
    let _ = store.entry(u64::MAX);
    let mut nodes = Vec::new();
    for level in 0u8..64 {
        let count = len >> level;
        if count == 0 {
            break;
        }
        nodes.push((0..count).map(|j| store.node(level, j).ok()).collect());
        let _ = store.node(level, count);
    }
    let _ = store.node(63, u64::MAX);
    let _ = store.node(u8::MAX, 0);
    Seen { entries, nodes }
}

/// After a full scan, every entry reads, and every node is the hash of its
/// entry (level 0) or of its two children.
fn check_nodes(store: &FileStore, seen: &Seen) {
    let mut range = CompactRange::new();
    for (i, entry) in seen.entries.iter().enumerate() {
        let entry = entry
            .as_ref()
            .unwrap_or_else(|| panic!("entry {i} does not read after a full scan"));
        for node in range.append(merkle::leaf_hash(entry)) {
            let stored = seen
                .nodes
                .get(usize::from(node.level))
                .and_then(|level| level.get(usize::try_from(node.index).ok()?))
                .copied()
                .flatten();
            assert_eq!(
                stored,
                Some(node.hash),
                "node ({}, {}) after a full scan of {:?}",
                node.level,
                node.index,
                store.dir()
            );
        }
    }
}
