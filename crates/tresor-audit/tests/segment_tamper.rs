//! Tampering with the segment and derived files: what the store refuses,
//! what it repairs, and where it leaves the job to the verifier.
//!
//! The log is built with small segments (2 KiB, about ten entries each), so
//! that there are sealed segments and a newest one.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod file_support;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use file_support::{Writer, check_store, entry_bytes, record_offsets, segment_files};
use tresor_audit::merkle::{CompactRange, leaf_hash};
use tresor_audit::{Error, FileStore, FileStoreOptions, LogStore};

const N: u64 = 60;

fn opts() -> FileStoreOptions {
    FileStoreOptions::default().with_segment_size(2048)
}

/// A log of `N` entries; returns the directory and its tree head.
fn build() -> (tempfile::TempDir, [u8; 32]) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(dir.path(), opts()).unwrap();
    w.fill_to(N);
    let root = w.range.root();
    drop(w);
    assert!(segment_files(dir.path()).len() >= 4);
    (dir, root)
}

fn newest(dir: &Path) -> PathBuf {
    segment_files(dir).pop().unwrap()
}

fn sealed_middle(dir: &Path) -> PathBuf {
    let files = segment_files(dir);
    files[files.len() / 2].clone()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_owned()
}

/// Asserts `result` is `Corrupt` and that its position names `file` (and
/// `entry`, when given). Returns the position and reason.
fn assert_corrupt<T: std::fmt::Debug>(
    result: tresor_audit::Result<T>,
    file: &str,
    entry: Option<u64>,
) -> (String, String) {
    match result {
        Err(Error::Corrupt { position, reason }) => {
            assert!(position.contains(file), "{position:?} should name {file}");
            if let Some(e) = entry {
                assert!(
                    position.contains(&format!("(entry {e})")),
                    "{position:?} should name entry {e}"
                );
            }
            (position, reason)
        }
        other => panic!("expected Corrupt at {file}, got {other:?}"),
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn root_of(store: &FileStore) -> [u8; 32] {
    CompactRange::from_nodes(store.len(), |l, i| store.node(l, i))
        .unwrap()
        .root()
}

#[test]
fn every_byte_flip_in_a_middle_record_of_the_newest_segment_is_refused() {
    let (dir, _) = build();
    let seg = newest(dir.path());
    let records = record_offsets(&seg);
    assert!(records.len() >= 3);
    let (index, start, end) = records[records.len() / 2];
    let pristine = std::fs::read(&seg).unwrap();
    for at in start..end {
        let mut bytes = pristine.clone();
        bytes[at as usize] ^= 0x20;
        std::fs::write(&seg, &bytes).unwrap();
        let (_, reason) = assert_corrupt(
            FileStore::open(dir.path(), opts()),
            &name(&seg),
            Some(index),
        );
        assert!(!reason.is_empty());
    }
    std::fs::write(&seg, &pristine).unwrap();
    check_store(&FileStore::open(dir.path(), opts()).unwrap(), N);
}

#[test]
fn flipping_the_last_synced_record_is_refused() {
    // A final record failing its CRC looks like a torn write, but the
    // derived files show it was synced: the loss is reported.
    let (dir, _) = build();
    let seg = newest(dir.path());
    let (index, start, _) = *record_offsets(&seg).last().unwrap();
    edit(&seg, |b| b[start as usize + 14] ^= 1);
    let (_, reason) = assert_corrupt(
        FileStore::open(dir.path(), opts()),
        &name(&seg),
        Some(index),
    );
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn flip_in_a_sealed_segment() {
    // Open spot-checks sealed segments (first and last record); a flip in a
    // middle record is found when the entry is read, by `check_entries`,
    // or on open with `full_scan`.
    let (dir, _) = build();
    let seg = sealed_middle(dir.path());
    let records = record_offsets(&seg);
    let (index, start, _) = records[records.len() / 2];
    edit(&seg, |b| b[start as usize + 20] ^= 0x01);

    assert_corrupt(
        FileStore::open(dir.path(), opts().with_full_scan(true)),
        &name(&seg),
        Some(index),
    );
    let store = FileStore::open(dir.path(), opts()).unwrap();
    assert_corrupt(store.entry(index), &name(&seg), Some(index));
    assert_corrupt(store.check_entries(), &name(&seg), Some(index));
    assert_eq!(store.entry(index - 1).unwrap(), entry_bytes(index - 1));
    drop(store);
    let reader = FileStore::open_read_only(dir.path()).unwrap();
    assert_corrupt(reader.check_entries(), &name(&seg), Some(index));

    // The last record of a sealed segment is checked on open.
    let (last, start, _) = *records.last().unwrap();
    edit(&seg, |b| b[start as usize + 20] ^= 0x01);
    assert_corrupt(FileStore::open(dir.path(), opts()), &name(&seg), Some(last));
}

#[test]
fn truncated_sealed_segment_is_refused() {
    let (dir, _) = build();
    let seg = sealed_middle(dir.path());
    let records = record_offsets(&seg);
    let (last, start, end) = *records.last().unwrap();
    // Mid-record, at a record boundary, and mid-file.
    for len in [end - 3, start, records[1].1 + 5] {
        let pristine = std::fs::read(&seg).unwrap();
        truncate(&seg, len);
        let (position, _) =
            assert_corrupt(FileStore::open(dir.path(), opts()), &name(&seg), Some(last));
        assert!(position.contains(&format!("offset {start}")), "{position}");
        assert_corrupt(
            FileStore::open(dir.path(), opts().with_full_scan(true)),
            &name(&seg),
            None,
        );
        std::fs::write(&seg, pristine).unwrap();
    }
    check_store(&FileStore::open(dir.path(), opts()).unwrap(), N);
}

#[test]
fn torn_final_record_is_truncated() {
    // A real torn write: a record that was never synced, partly on disk.
    let (dir, root) = build();
    let seg = newest(dir.path());
    let size = std::fs::metadata(&seg).unwrap().len();
    let mut record = Vec::new();
    let e = entry_bytes(N);
    record.extend_from_slice(&(e.len() as u32).to_be_bytes());
    record.extend_from_slice(&N.to_be_bytes());
    record.extend_from_slice(&e);
    let crc = crc32c::crc32c(&record);
    record.extend_from_slice(&crc.to_be_bytes());
    for cut in [1, 5, 12, 13, record.len() - 1] {
        edit(&seg, |b| b.extend_from_slice(&record[..cut]));
        let store = FileStore::open(dir.path(), opts()).unwrap();
        check_store(&store, N);
        assert_eq!(root_of(&store), root);
        drop(store);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), size);
    }
    // A complete final record with a bad CRC, and a zero-filled tail.
    let mut bad = record.clone();
    *bad.last_mut().unwrap() ^= 1;
    for tail in [bad, vec![0u8; 100]] {
        edit(&seg, |b| b.extend_from_slice(&tail));
        // A reader ignores the torn tail without touching the file, and
        // says where it is.
        let reader = FileStore::open_read_only(dir.path()).unwrap();
        check_store(&reader, N);
        let torn = reader
            .torn_tail()
            .expect("the reader reports the torn tail");
        assert_eq!(
            (torn.path.as_path(), torn.offset, torn.bytes),
            (seg.as_path(), size, tail.len() as u64)
        );
        drop(reader);
        assert!(std::fs::metadata(&seg).unwrap().len() > size);
        let store = FileStore::open(dir.path(), opts()).unwrap();
        check_store(&store, N);
        assert_eq!(store.torn_tail(), None, "a writer truncates the tail");
        drop(store);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), size);
    }
    assert_eq!(
        FileStore::open_read_only(dir.path()).unwrap().torn_tail(),
        None
    );
    // The log continues where it was.
    let mut w = Writer::open(dir.path(), opts()).unwrap();
    w.fill_to(N + 5);
    check_store(&w.store, N + 5);
}

#[test]
fn truncating_synced_entries_is_refused_unless_derived_files_are_dropped() {
    let (dir, _) = build();
    let seg = newest(dir.path());
    let (last, start, end) = *record_offsets(&seg).last().unwrap();
    truncate(&seg, end - 7);
    // The derived files record entry `last` as synced: it was lost.
    let (position, reason) =
        assert_corrupt(FileStore::open(dir.path(), opts()), &name(&seg), Some(last));
    assert!(position.contains(&format!("offset {start}")), "{position}");
    assert!(reason.contains("missing"), "{reason}");
    // Without derived files the store cannot tell a truncation from a torn
    // write (checkpoints can): it drops the torn entry and rebuilds them.
    std::fs::remove_file(dir.path().join("index.bin")).unwrap();
    std::fs::remove_file(dir.path().join("nodes.bin")).unwrap();
    let store = FileStore::open(dir.path(), opts()).unwrap();
    check_store(&store, N - 1);
}

#[test]
fn deleting_a_middle_entry_is_refused() {
    let (dir, _) = build();
    for seg in [newest(dir.path()), sealed_middle(dir.path())] {
        let pristine = std::fs::read(&seg).unwrap();
        let records = record_offsets(&seg);
        let (index, start, end) = records[records.len() / 2];
        edit(&seg, |b| {
            b.drain(start as usize..end as usize);
        });
        let expect_entry = if seg == newest(dir.path()) {
            Some(index)
        } else {
            None
        };
        assert_corrupt(
            FileStore::open(dir.path(), opts()),
            &name(&seg),
            expect_entry,
        );
        std::fs::write(&seg, pristine).unwrap();
    }
    check_store(&FileStore::open(dir.path(), opts()).unwrap(), N);
}

/// Swaps records `a` and `b` (a < b) of a segment file.
fn swap_records(seg: &Path, a: usize, b: usize) {
    let records = record_offsets(seg);
    let (_, sa, ea) = records[a];
    let (_, sb, eb) = records[b];
    edit(seg, |bytes| {
        let (sa, ea, sb, eb) = (sa as usize, ea as usize, sb as usize, eb as usize);
        let mut out = bytes[..sa].to_vec();
        out.extend_from_slice(&bytes[sb..eb]);
        out.extend_from_slice(&bytes[ea..sb]);
        out.extend_from_slice(&bytes[sa..ea]);
        out.extend_from_slice(&bytes[eb..]);
        *bytes = out;
    });
}

/// Rewrites a record's entry number and CRC (what an attacker who knows the
/// format does).
fn renumber(seg: &Path, record: usize, index: u64) {
    let (_, start, end) = record_offsets(seg)[record];
    edit(seg, |bytes| {
        let (start, end) = (start as usize, end as usize);
        bytes[start + 4..start + 12].copy_from_slice(&index.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[start..end - 4]);
        bytes[end - 4..end].copy_from_slice(&crc.to_be_bytes());
    });
}

#[test]
fn reordering_entries_is_refused() {
    let (dir, _) = build();
    // In the newest segment, two swapped records keep valid CRCs but hold
    // the wrong entry numbers.
    let seg = newest(dir.path());
    let records = record_offsets(&seg);
    let (first_index, _, _) = records[0];
    let pristine = std::fs::read(&seg).unwrap();
    swap_records(&seg, 0, 1);
    let (_, reason) = assert_corrupt(
        FileStore::open(dir.path(), opts()),
        &name(&seg),
        Some(first_index),
    );
    assert!(reason.contains("reordered"), "{reason}");

    // An attacker who also rewrites the numbers and CRCs defeats the
    // record checks, not the derived nodes: the leaf hashes disagree.
    renumber(&seg, 0, first_index);
    renumber(&seg, 1, first_index + 1);
    let (_, reason) = assert_corrupt(
        FileStore::open(dir.path(), opts()),
        &name(&seg),
        Some(first_index),
    );
    assert!(reason.contains("disagrees"), "{reason}");
    std::fs::write(&seg, &pristine).unwrap();

    // In a sealed segment: caught on read, or on open with `full_scan`.
    let seg = sealed_middle(dir.path());
    let (i, _, _) = record_offsets(&seg)[1];
    swap_records(&seg, 1, 2);
    assert_corrupt(
        FileStore::open(dir.path(), opts().with_full_scan(true)),
        &name(&seg),
        Some(i),
    );
    let store = FileStore::open(dir.path(), opts()).unwrap();
    assert_corrupt(store.check_entries(), &name(&seg), None);
}

#[test]
fn consistent_rewrite_of_all_files_is_the_verifiers_job() {
    // Swap two entries, fix numbers and CRCs, and drop the derived files:
    // every file is now self-consistent, so the store opens. The tree head
    // changed, which is what a signed checkpoint (the verifier) catches.
    let (dir, root) = build();
    let seg = newest(dir.path());
    let (first_index, _, _) = record_offsets(&seg)[0];
    swap_records(&seg, 0, 1);
    renumber(&seg, 0, first_index);
    renumber(&seg, 1, first_index + 1);
    std::fs::remove_file(dir.path().join("index.bin")).unwrap();
    std::fs::remove_file(dir.path().join("nodes.bin")).unwrap();
    let store = FileStore::open(dir.path(), opts()).unwrap();
    assert_eq!(store.len(), N);
    assert_eq!(
        store.entry(first_index).unwrap(),
        entry_bytes(first_index + 1)
    );
    assert_ne!(root_of(&store), root);
}

#[test]
fn removing_a_segment_is_refused() {
    let (dir, _) = build();
    let files = segment_files(dir.path());
    for victim in [
        files[files.len() / 2].clone(),
        files[0].clone(),
        newest(dir.path()),
    ] {
        let saved = std::fs::read(&victim).unwrap();
        std::fs::remove_file(&victim).unwrap();
        let err = FileStore::open(dir.path(), opts());
        assert!(
            matches!(err, Err(Error::Corrupt { .. })),
            "{victim:?}: {err:?}"
        );
        let err = FileStore::open(dir.path(), opts().with_full_scan(true));
        assert!(
            matches!(err, Err(Error::Corrupt { .. })),
            "{victim:?}: {err:?}"
        );
        std::fs::write(&victim, saved).unwrap();
    }
    // The positions name the segment that does not fit.
    let middle = &files[files.len() / 2];
    std::fs::remove_file(middle).unwrap();
    let before = &files[files.len() / 2 - 1];
    assert_corrupt(FileStore::open(dir.path(), opts()), &name(before), None);
    assert_corrupt(
        FileStore::open(dir.path(), opts().with_full_scan(true)),
        &name(before),
        None,
    );
}

#[test]
fn derived_files_are_rebuilt() {
    let (dir, root) = build();
    let index = dir.path().join("index.bin");
    let nodes = dir.path().join("nodes.bin");
    let cases: [&dyn Fn(); 5] = [
        &|| std::fs::remove_file(&index).unwrap(),
        &|| std::fs::remove_file(&nodes).unwrap(),
        &|| {
            std::fs::remove_file(&index).unwrap();
            std::fs::remove_file(&nodes).unwrap();
        },
        &|| truncate(&index, 16 + 8 * 7 + 3),
        &|| truncate(&nodes, 5),
    ];
    for damage in cases {
        damage();
        let store = FileStore::open(dir.path(), opts()).unwrap();
        check_store(&store, N);
        assert_eq!(root_of(&store), root);
        drop(store);
        let reader = FileStore::open_read_only(dir.path()).unwrap();
        check_store(&reader, N);
    }
    // A reader rebuilds in memory, without writing.
    std::fs::remove_file(&index).unwrap();
    let reader = FileStore::open_read_only(dir.path()).unwrap();
    check_store(&reader, N);
    assert!(!index.exists());
}

#[test]
fn zeroed_derived_tail_is_a_crash_artefact_but_other_bytes_are_not() {
    let (dir, _) = build();
    let nodes = dir.path().join("nodes.bin");
    let len = std::fs::metadata(&nodes).unwrap().len() as usize;
    // Zeros where the last few node slots were not synced: repaired.
    let pristine = std::fs::read(&nodes).unwrap();
    edit(&nodes, |b| b[len - 100..].fill(0));
    check_store(&FileStore::open(dir.path(), opts()).unwrap(), N);
    assert_eq!(std::fs::read(&nodes).unwrap(), pristine);
    // Other bytes: refused.
    edit(&nodes, |b| b[len - 100] ^= 0x80);
    assert_corrupt(FileStore::open(dir.path(), opts()), "seg-", None);
    // In a sealed segment even zeros are refused: those slots were synced
    // when the segment was sealed. Slot of the leaf of the last entry of
    // the first segment:
    std::fs::write(&nodes, &pristine).unwrap();
    let first = &segment_files(dir.path())[0];
    let (last, _, _) = *record_offsets(first).last().unwrap();
    let slot = 2 * last - u64::from(last.count_ones());
    edit(&nodes, |b| {
        let at = 16 + 32 * slot as usize;
        b[at..at + 32].fill(0);
    });
    assert_corrupt(
        FileStore::open(dir.path(), opts()),
        &name(first),
        Some(last),
    );
    std::fs::write(&nodes, &pristine).unwrap();
    let index = dir.path().join("index.bin");
    edit(&index, |b| b[16 + 8 * last as usize + 7] ^= 4);
    assert_corrupt(
        FileStore::open(dir.path(), opts()),
        &name(first),
        Some(last),
    );
}

#[test]
fn torn_segment_creation_is_dropped_and_bad_headers_refused() {
    let (dir, _) = build();
    let next = dir.path().join(format!("seg-{N:020}.log"));
    // A new segment whose header was cut short, or zero-filled.
    for content in [vec![], b"TRSAU".to_vec(), vec![0u8; 24]] {
        std::fs::write(&next, &content).unwrap();
        let reader = FileStore::open_read_only(dir.path()).unwrap();
        let torn = reader
            .torn_tail()
            .expect("the reader reports the torn segment");
        assert_eq!(
            (torn.path.as_path(), torn.offset, torn.bytes),
            (next.as_path(), 0, content.len() as u64)
        );
        drop(reader);
        let store = FileStore::open(dir.path(), opts()).unwrap();
        check_store(&store, N);
        drop(store);
        assert!(!next.exists());
    }
    // Garbage in a header is not a torn write.
    std::fs::write(&next, b"NOTASEGMENTFILEATALL1234").unwrap();
    assert_corrupt(FileStore::open(dir.path(), opts()), &name(&next), None);
    std::fs::remove_file(&next).unwrap();
    let seg = sealed_middle(dir.path());
    for at in [0usize, 9, 15, 22] {
        let pristine = std::fs::read(&seg).unwrap();
        edit(&seg, |b| b[at] ^= 1);
        assert_corrupt(FileStore::open(dir.path(), opts()), &name(&seg), None);
        std::fs::write(&seg, pristine).unwrap();
    }
    // A malformed segment name.
    std::fs::write(dir.path().join("seg-12.log"), b"").unwrap();
    assert_corrupt(FileStore::open(dir.path(), opts()), "seg-12.log", None);
    std::fs::remove_file(dir.path().join("seg-12.log")).unwrap();
    check_store(&FileStore::open(dir.path(), opts()).unwrap(), N);
    // Leaf hashes were checked against the entries all along.
    assert_eq!(
        FileStore::open_read_only(dir.path())
            .unwrap()
            .node(0, 0)
            .unwrap(),
        leaf_hash(&entry_bytes(0))
    );
}
