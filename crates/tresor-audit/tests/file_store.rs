//! The file store: round trips, reopen, sync policies, locking, and opening
//! arbitrary directory content without panicking.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod file_support;

use std::time::Duration;

use file_support::{Writer, check_store, entry_bytes, segment_files};
use proptest::prelude::*;
use tresor_audit::merkle::{CompactRange, leaf_hash};
use tresor_audit::{Error, FileStore, FileStoreOptions, LogStore, Node, SyncPolicy};

fn small() -> FileStoreOptions {
    FileStoreOptions::default().with_segment_size(2048)
}

#[test]
fn round_trip_across_segments_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(dir.path(), small()).unwrap();
    assert!(w.store.is_empty());
    w.fill_to(300);
    check_store(&w.store, 300);
    let root = w.range.root();
    drop(w);
    assert!(segment_files(dir.path()).len() > 10);

    let w = Writer::open(dir.path(), small()).unwrap();
    check_store(&w.store, 300);
    assert_eq!(w.range.root(), root);
    assert_eq!(w.store.durable_len(), 300);
    drop(w);

    let r = FileStore::open_read_only(dir.path()).unwrap();
    assert!(r.is_read_only());
    check_store(&r, 300);
    r.check_entries().unwrap();
}

#[test]
fn reopen_and_continue() {
    let dir = tempfile::tempdir().unwrap();
    for round in 1..=5u64 {
        let mut w = Writer::open(dir.path(), small()).unwrap();
        assert_eq!(w.store.len(), (round - 1) * 37);
        w.fill_to(round * 37);
    }
    let r = FileStore::open_read_only(dir.path()).unwrap();
    check_store(&r, 5 * 37);
}

#[test]
fn reads_see_unsynced_appends() {
    // Entries still in the write buffer are readable, across a spill.
    let dir = tempfile::tempdir().unwrap();
    let opts = FileStoreOptions::default().with_sync(SyncPolicy::Manual);
    let mut w = Writer::open(dir.path(), opts).unwrap();
    w.fill_to(5000); // ~ 1 MiB: at least one unsynced spill
    assert_eq!(w.store.durable_len(), 0);
    check_store(&w.store, 5000);
    w.store.sync().unwrap();
    assert_eq!(w.store.durable_len(), 5000);
    check_store(&w.store, 5000);
}

#[test]
fn durable_len_every() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(dir.path(), small()).unwrap();
    for i in 0..20 {
        w.append(&entry_bytes(i)).unwrap();
        assert_eq!(w.store.durable_len(), i + 1);
    }
}

#[test]
fn durable_len_group_by_count() {
    let dir = tempfile::tempdir().unwrap();
    let opts = FileStoreOptions::default().with_sync(SyncPolicy::Group {
        entries: 10,
        interval: Duration::from_secs(3600),
    });
    let mut w = Writer::open(dir.path(), opts).unwrap();
    for i in 0..35u64 {
        w.append(&entry_bytes(i)).unwrap();
        assert_eq!(w.store.durable_len(), (i + 1) / 10 * 10, "after entry {i}");
    }
    w.store.sync().unwrap();
    assert_eq!(w.store.durable_len(), 35);
}

#[test]
fn durable_len_group_by_interval() {
    let dir = tempfile::tempdir().unwrap();
    let opts = FileStoreOptions::default().with_sync(SyncPolicy::Group {
        entries: 1_000_000,
        interval: Duration::from_millis(30),
    });
    let mut w = Writer::open(dir.path(), opts).unwrap();
    w.append(&entry_bytes(0)).unwrap();
    w.append(&entry_bytes(1)).unwrap();
    assert_eq!(w.store.durable_len(), 0);
    std::thread::sleep(Duration::from_millis(40));
    w.append(&entry_bytes(2)).unwrap();
    assert_eq!(w.store.durable_len(), 3);
    w.append(&entry_bytes(3)).unwrap();
    assert_eq!(w.store.durable_len(), 3);
}

#[test]
fn durable_len_manual_and_sealing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small().with_sync(SyncPolicy::Manual);
    let mut w = Writer::open(dir.path(), opts).unwrap();
    w.fill_to(3);
    assert_eq!(w.store.durable_len(), 0);
    w.store.sync().unwrap();
    assert_eq!(w.store.durable_len(), 3);
    // Filling a segment seals it, which makes everything before durable.
    w.fill_to(40);
    assert!(w.store.durable_len() > 3);
    assert!(w.store.durable_len() < 40);
    // Dropping syncs on a best-effort basis.
    drop(w);
    let r = FileStore::open_read_only(dir.path()).unwrap();
    check_store(&r, 40);
}

#[test]
fn single_writer_lock() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(dir.path(), small()).unwrap();
    w.fill_to(3);
    match FileStore::open(dir.path(), small()) {
        Err(Error::Locked { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Readers are allowed alongside the writer.
    let r = FileStore::open_read_only(dir.path()).unwrap();
    check_store(&r, 3);
    drop(w);
    let w = FileStore::open(dir.path(), small()).unwrap();
    assert_eq!(w.len(), 3);
}

#[test]
fn read_only_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    Writer::open(dir.path(), small()).unwrap().fill_to(2);
    let mut r = FileStore::open_read_only(dir.path()).unwrap();
    let mut range = CompactRange::from_nodes(2, |l, i| r.node(l, i)).unwrap();
    let nodes = range.append(leaf_hash(b"x"));
    assert!(matches!(
        r.append(b"x", &nodes),
        Err(Error::ReadOnly { .. })
    ));
    assert!(matches!(r.sync(), Err(Error::ReadOnly { .. })));
}

#[test]
fn invalid_appends_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(dir.path(), small()).unwrap();
    w.fill_to(3);
    // Entry 3 completes levels 0, 1 and 2: three nodes are expected.
    let leaf = leaf_hash(b"x");
    let wrong: [&[Node]; 3] = [
        &[],
        &[Node {
            level: 0,
            index: 3,
            hash: leaf,
        }],
        &[
            Node {
                level: 0,
                index: 3,
                hash: leaf,
            },
            Node {
                level: 1,
                index: 1,
                hash: leaf,
            },
            Node {
                level: 2,
                index: 1,
                hash: leaf,
            },
        ],
    ];
    for nodes in wrong {
        assert!(matches!(
            w.store.append(b"x", nodes),
            Err(Error::InvalidAppend { index: 3, .. })
        ));
    }
    let huge = vec![0u8; (1 << 24) + 1];
    let nodes = w.range.clone().append(leaf_hash(&huge));
    assert!(matches!(
        w.store.append(&huge, &nodes),
        Err(Error::InvalidAppend { .. })
    ));
    assert_eq!(w.store.len(), 3);
    w.fill_to(5);
    check_store(&w.store, 5);
}

#[test]
fn out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(dir.path(), small()).unwrap();
    w.fill_to(5);
    assert!(matches!(
        w.store.entry(5),
        Err(Error::OutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(w.store.node(0, 5), Err(Error::OutOfRange { .. })));
    assert!(matches!(w.store.node(1, 2), Err(Error::OutOfRange { .. })));
    assert!(w.store.node(2, 0).is_ok());
    assert!(matches!(w.store.node(3, 0), Err(Error::OutOfRange { .. })));
    assert!(matches!(
        w.store.node(63, u64::MAX),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        w.store.node(255, 0),
        Err(Error::OutOfRange { .. })
    ));
}

#[test]
fn no_log_without_create() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let opts = small().with_create(false);
    assert!(matches!(
        FileStore::open(&missing, opts.clone()),
        Err(Error::Io { .. })
    ));
    assert!(!missing.exists());
    assert!(matches!(
        FileStore::open(dir.path(), opts),
        Err(Error::Io { .. })
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(matches!(
        FileStore::open_read_only(dir.path()),
        Err(Error::Io { .. })
    ));
    // An empty log, once created, opens without `create`.
    drop(FileStore::open(dir.path(), small()).unwrap());
    let s = FileStore::open(dir.path(), small().with_create(false)).unwrap();
    assert_eq!(s.len(), 0);
}

#[test]
fn random_access_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small().with_sync(SyncPolicy::Group {
        entries: 64,
        interval: Duration::from_millis(5),
    });
    Writer::open(dir.path(), opts).unwrap().fill_to(2000);
    let r = FileStore::open_read_only(dir.path()).unwrap();
    let mut x = 12345u64;
    for _ in 0..500 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let i = (x >> 33) % 2000;
        assert_eq!(r.entry(i).unwrap(), entry_bytes(i));
        assert_eq!(r.node(0, i).unwrap(), leaf_hash(&entry_bytes(i)));
    }
}

#[test]
fn readers_alongside_a_live_writer() {
    // A reader opened while the writer appends, rolls segments and writes
    // derived data sees a consistent prefix, never a false `Corrupt`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let opts = FileStoreOptions::default()
        .with_segment_size(4096)
        .with_sync(SyncPolicy::Group {
            entries: 7,
            interval: Duration::from_millis(1),
        });
    let mut w = Writer::open(&path, opts).unwrap();
    w.fill_to(1);
    let writer = std::thread::spawn(move || {
        w.fill_to(3000);
        w.store.sync().unwrap();
    });
    let mut opened = 0;
    let mut last_len = 0;
    while !writer.is_finished() || opened == 0 {
        let r = FileStore::open_read_only(&path).unwrap();
        assert!(r.len() >= last_len);
        last_len = r.len();
        for i in (0..r.len()).rev().take(50) {
            assert_eq!(r.entry(i).unwrap(), entry_bytes(i));
            assert_eq!(r.node(0, i).unwrap(), leaf_hash(&entry_bytes(i)));
        }
        let range = CompactRange::from_nodes(r.len(), |l, i| r.node(l, i)).unwrap();
        assert_eq!(range.size(), r.len());
        opened += 1;
    }
    writer.join().unwrap();
    check_store(&FileStore::open_read_only(&path).unwrap(), 3000);
    assert!(opened > 1);
}

/// Opens `dir` every way the store offers; none may panic. When an open
/// succeeds, reading everything must not panic either.
fn open_every_way(dir: &std::path::Path) {
    if let Ok(s) = FileStore::open_read_only(dir) {
        let _ = s.check_entries();
        for l in 0..4 {
            for i in 0..s.len().min(64) {
                let _ = s.node(l, i);
            }
        }
    }
    if let Ok(mut s) = FileStore::open(dir, small()) {
        let _ = s.check_entries();
        let n = s.len();
        if let Ok(mut range) = CompactRange::from_nodes(n, |l, i| s.node(l, i)) {
            let nodes = range.append(leaf_hash(b"more"));
            let _ = s.append(b"more", &nodes);
            let _ = s.sync();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Arbitrary bytes as segment, index and nodes files.
    #[test]
    fn garbage_directory_never_panics(
        seg0 in proptest::collection::vec(any::<u8>(), 0..200),
        seg1 in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
        index in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
        nodes in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        valid_header in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut seg0 = seg0;
        if valid_header {
            let mut h = b"TRSAUSEG\0\0\0\x01\0\0\0\0\0\0\0\0".to_vec();
            let crc = crc32c::crc32c(&h);
            h.extend_from_slice(&crc.to_be_bytes());
            h.extend_from_slice(&seg0);
            seg0 = h;
        }
        std::fs::write(dir.path().join("seg-00000000000000000000.log"), &seg0).unwrap();
        if let Some(seg1) = seg1 {
            std::fs::write(dir.path().join("seg-00000000000000000003.log"), seg1).unwrap();
        }
        if let Some(index) = index {
            std::fs::write(dir.path().join("index.bin"), index).unwrap();
        }
        if let Some(nodes) = nodes {
            std::fs::write(dir.path().join("nodes.bin"), nodes).unwrap();
        }
        open_every_way(dir.path());
    }

    /// A valid log with a few bytes overwritten or a file truncated.
    #[test]
    fn damaged_log_never_panics(
        edits in proptest::collection::vec((0usize..4, any::<u64>(), any::<u8>()), 1..4),
        truncate in proptest::option::of((0usize..4, any::<u64>())),
    ) {
        let dir = tempfile::tempdir().unwrap();
        Writer::open(dir.path(), FileStoreOptions::default().with_segment_size(600))
            .unwrap()
            .fill_to(12);
        let mut files = segment_files(dir.path());
        files.truncate(2);
        files.push(dir.path().join("index.bin"));
        files.push(dir.path().join("nodes.bin"));
        for (f, at, byte) in edits {
            let path = &files[f % files.len()];
            let mut bytes = std::fs::read(path).unwrap();
            if !bytes.is_empty() {
                let at = (at % bytes.len() as u64) as usize;
                bytes[at] ^= byte | 1;
                std::fs::write(path, bytes).unwrap();
            }
        }
        if let Some((f, at)) = truncate {
            let path = &files[f % files.len()];
            let len = std::fs::metadata(path).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            file.set_len(at % (len + 1)).unwrap();
        }
        open_every_way(dir.path());
    }
}
