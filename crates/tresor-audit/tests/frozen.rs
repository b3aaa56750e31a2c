//! Frozen known-answer files of the file store format version 1, the
//! record encoding and the signed checkpoint (`tests/vectors/frozen/`, see
//! its README), written once by tresor 0.1.0 and never regenerated: today's
//! code must open the log (read-only, on a copy, changing no byte), find
//! exactly today's canonical bytes of the same records, the recorded tree
//! head and proofs, verify the checkpoint and re-sign it byte for byte, and
//! append to a copy without rewriting what was there. A change of on-disk
//! format, record encoding or checkpoint format breaks this file.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, json};
use tresor_audit::merkle;
use tresor_audit::{
    Actor, AuditLog, AuditRecord, Checkpoint, FileStore, FileStoreOptions, Hash, LogStore,
    NoteSigner, NoteVerifier, Outcome, SyncPolicy, Timestamp, verify_log,
};

/// The number of records in the frozen log.
const SIZE: u64 = 40;
/// The segment size the log was written with.
const SEGMENT_SIZE: u64 = 4096;
/// The checkpoint's origin, which is also the signer key's name.
const ORIGIN: &str = "tresor.example/frozen-audit-log";

/// The files of the frozen log directory.
const LOG_FILES: &[&str] = &[
    "LOCK",
    "index.bin",
    "nodes.bin",
    "seg-00000000000000000000.log",
    "seg-00000000000000000012.log",
    "seg-00000000000000000025.log",
    "seg-00000000000000000037.log",
];

/// The tree head of the 40 records, hex.
const ROOT: &str = "5ac7b0556ade8505cb9f77d6ff10972e389473c68fabcce2efe8eec5bf022964";
/// The tree head of the first 17 records, hex.
const ROOT_17: &str = "f36d300f3802ef17851c51733863365dd4d2eb5aec71edb3cb643426de664ae8";
/// The inclusion proof of entry 13 in the tree of 40, hex.
const INCLUSION_13_40: &[&str] = &[
    "a6533675ad9595fefac528715b8dd8c2b33e9ce96cd4d136c93556bdad7d9ef3",
    "7ddd7ea834ad356bab7b9c140a0e0176f96c2f6314a169c4c092347b32209937",
    "33fa79ca8236d1c1aa1c7ba90337e208bd5dd11285c0d358dc70bed3ad98127d",
    "442945a4811cfb423a573825145fa64bc867b18a3266bc43cca427fc16b1b123",
    "dc99af4a26ada0b5fa45e572f412d39c333b1ae3a253139d51c4981941e6c0c4",
    "66afa86ab22749976797c4802bf1563e542eaf6cbe69030c8ccf883e4d234af9",
];
/// The consistency proof from 17 to 40 entries, hex.
const CONSISTENCY_17_40: &[&str] = &[
    "faa81e77d600f170581ef8217c3a1c4ecdfaf26aa68341dc2b6fbc27b87ad74a",
    "34e76b8403727e9b7412ba4378309620963e5c60f14a8828f9a5a0d4a96c649a",
    "7738a29af178099ff9150b31a61729b37d3d46e7c1240a075a945368a64244bd",
    "67918d47b680c5f6ab161e5c4af39e42054a61db28bed4f3fedb76444eec5770",
    "4a32ec546cdb5787e35580f6ab5b3650adad6d8e600d675aec7a8abd1e88bc65",
    "f7332a8e482cbcaec61989dd60616f7a6c0ae93e17b7b5344a347a2585fc5be7",
    "66afa86ab22749976797c4802bf1563e542eaf6cbe69030c8ccf883e4d234af9",
];

/// 2026-01-31T12:00:00Z.
const BASE_TIME: i64 = 1_769_860_800;

/// Record `i` of the frozen log: fixed inputs, varied so that the canonical
/// encoding of every kind of field is frozen (timestamps with and without a
/// fraction, integers, decimals and exponents, escapes and non-ASCII text,
/// nested objects and arrays sorted by key, and base64 payloads).
fn record(i: u64) -> AuditRecord {
    const KINDS: [&str; 3] = ["user", "client", "service"];
    const ACTIONS: [&str; 6] = [
        "payment.create",
        "payment.approve",
        "customer.read",
        "customer.update",
        "login",
        "key.rotate",
    ];
    const OUTCOMES: [Outcome; 5] = [
        Outcome::Allowed,
        Outcome::Denied,
        Outcome::Allowed,
        Outcome::Failed,
        Outcome::Allowed,
    ];
    const NANOS: [u32; 4] = [0, 500_000_000, 123_000, 1];
    let n = usize::try_from(i).unwrap();
    let mut details = Map::new();
    details.insert(
        "amount".into(),
        json!(format!("{}.{:02}", 100 + i * 13, i * 7 % 100)),
    );
    details.insert("attempt".into(), json!(i % 3));
    #[allow(clippy::cast_precision_loss)]
    details.insert("ratio".into(), json!(i as f64 / 8.0 + 0.1));
    if i.is_multiple_of(5) {
        details.insert(
            "note".into(),
            json!("Müller € \u{1f} \"quoted\" \\ \u{e9}\u{301} \u{1f600}"),
        );
    }
    if i % 7 == 3 {
        details.insert(
            "nested".into(),
            json!({"z": [1, true, null, "x"], "a": {"y": -0.0, "b": 1e21, "c": 1e-7}}),
        );
    }
    let mut builder = AuditRecord::builder()
        .timestamp(
            Timestamp::from_unix(BASE_TIME + 61 * i64::try_from(i).unwrap(), NANOS[n % 4]).unwrap(),
        )
        .actor(Actor::new(KINDS[n % 3], format!("u-{}", 1800 + i % 7)).unwrap())
        .action(ACTIONS[n % 6])
        .resource(format!("accounts/DE89370400440532{:06}", 13_000 + i))
        .outcome(OUTCOMES[n % 5])
        .request_id(format!("req-{:04x}", 0x7700 + i))
        .source(format!("10.0.{}.{}", i % 4, 7 + i))
        .details(details);
    if i % 4 == 2 {
        let len = (i % 9 + 1) * 5;
        builder = builder.payload(
            (0..len)
                .map(|b| u8::try_from((b * 37 + i) % 256).unwrap())
                .collect::<Vec<u8>>(),
        );
    }
    builder.build().unwrap()
}

fn frozen_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/frozen")
}

fn log_dir() -> PathBuf {
    frozen_dir().join("log")
}

fn read_text(name: &str) -> String {
    std::fs::read_to_string(frozen_dir().join(name)).unwrap()
}

fn signer() -> NoteSigner {
    NoteSigner::from_key_string(read_text("test-note-signer.key").trim_end()).unwrap()
}

fn verifier() -> NoteVerifier {
    NoteVerifier::from_key_string(read_text("test-note-verifier.key").trim_end()).unwrap()
}

fn hash(hex_text: &str) -> Hash {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

fn hashes(hex_texts: &[&str]) -> Vec<Hash> {
    hex_texts.iter().map(|h| hash(h)).collect()
}

/// Every file of a (flat) directory, by name.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            assert!(e.file_type().unwrap().is_file(), "{:?}", e.path());
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A copy of the frozen log in a fresh temporary directory.
fn copy_of_log() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in snapshot(&log_dir()) {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    tmp
}

#[test]
fn the_log_holds_todays_canonical_records() {
    let names: Vec<String> = snapshot(&log_dir()).into_keys().collect();
    assert_eq!(names, LOG_FILES, "the frozen log's files");
    assert!(
        names.iter().filter(|n| n.starts_with("seg-")).count() >= 2,
        "the log spans several segments"
    );

    let copy = copy_of_log();
    let store = FileStore::open_read_only(copy.path()).unwrap();
    assert_eq!(store.len(), SIZE);
    assert_eq!(store.durable_len(), SIZE);
    assert_eq!(store.torn_tail(), None);
    store.check_entries().unwrap();
    for i in 0..SIZE {
        let entry = store.entry(i).unwrap();
        assert_eq!(entry, record(i).canonical_bytes().unwrap(), "entry {i}");
        assert_eq!(
            AuditRecord::from_canonical(&entry).unwrap(),
            record(i),
            "entry {i}"
        );
    }
    assert!(store.entry(SIZE).is_err());
}

#[test]
fn tree_head_and_proofs_equal_the_recorded_hashes() {
    // From the records alone, without the store.
    let leaves: Vec<Hash> = (0..SIZE).map(|i| record(i).leaf_hash().unwrap()).collect();
    assert_eq!(hex::encode(merkle::root(&leaves)), ROOT);
    assert_eq!(hex::encode(merkle::root(&leaves[..17])), ROOT_17);

    // From the store's stored subtree hashes.
    let copy = copy_of_log();
    let log = AuditLog::open(FileStore::open_read_only(copy.path()).unwrap()).unwrap();
    assert_eq!(log.size(), SIZE);
    assert_eq!(hex::encode(log.root()), ROOT);
    assert_eq!(hex::encode(log.root_at(17).unwrap()), ROOT_17);

    let inclusion = log.inclusion_proof(13, SIZE).unwrap();
    assert_eq!(inclusion, hashes(INCLUSION_13_40));
    assert_eq!(
        merkle::inclusion_proof(&leaves, 13).unwrap(),
        hashes(INCLUSION_13_40)
    );
    merkle::verify_inclusion(&leaves[13], 13, SIZE, &inclusion, &hash(ROOT)).unwrap();

    let consistency = log.consistency_proof(17, SIZE).unwrap();
    assert_eq!(consistency, hashes(CONSISTENCY_17_40));
    assert_eq!(
        merkle::consistency_proof(&leaves, 17).unwrap(),
        hashes(CONSISTENCY_17_40)
    );
    merkle::verify_consistency(17, SIZE, &consistency, &hash(ROOT_17), &hash(ROOT)).unwrap();
}

#[test]
fn the_checkpoint_verifies_and_re_signs_byte_for_byte() {
    let signer = signer();
    let verifier = verifier();
    // The key files re-encode to themselves.
    assert_eq!(
        format!("{}\n", *signer.to_key_string()),
        read_text("test-note-signer.key")
    );
    assert_eq!(
        format!("{}\n", verifier.to_key_string()),
        read_text("test-note-verifier.key")
    );
    assert_eq!(signer.verifier(), verifier);
    assert_eq!(signer.name(), ORIGIN);

    let note = read_text("checkpoint.txt");
    let checkpoint = Checkpoint::open(&note, std::slice::from_ref(&verifier), ORIGIN).unwrap();
    assert_eq!(checkpoint.origin(), ORIGIN);
    assert_eq!(checkpoint.size(), SIZE);
    assert_eq!(hex::encode(checkpoint.root()), ROOT);
    assert!(checkpoint.extensions().is_empty());

    // Ed25519 signatures are deterministic: signing today gives the file.
    let today = Checkpoint::new(ORIGIN, SIZE, hash(ROOT))
        .unwrap()
        .sign(&[&signer])
        .unwrap();
    assert_eq!(today, note);

    let copy = copy_of_log();
    let store = FileStore::open_read_only(copy.path()).unwrap();
    let report = verify_log(
        &store,
        Some((&note, std::slice::from_ref(&verifier), ORIGIN)),
    )
    .unwrap();
    assert_eq!(report.size, SIZE);
    assert_eq!(hex::encode(report.root), ROOT);
    assert_eq!(report.checkpoint, Some(checkpoint));
}

#[test]
fn a_read_only_open_changes_no_file() {
    let frozen = snapshot(&log_dir());
    let copy = copy_of_log();
    assert_eq!(snapshot(copy.path()), frozen);
    {
        let store = FileStore::open_read_only(copy.path()).unwrap();
        assert!(store.is_read_only());
        store.check_entries().unwrap();
        let note = read_text("checkpoint.txt");
        verify_log(&store, Some((&note, &[verifier()], ORIGIN))).unwrap();
        let log = AuditLog::open(store).unwrap();
        log.inclusion_proof(13, SIZE).unwrap();
        log.consistency_proof(17, SIZE).unwrap();
    }
    assert_eq!(snapshot(copy.path()), frozen, "a read-only open wrote");
}

#[test]
fn appending_to_a_copy_keeps_it_verifiable() {
    let frozen = snapshot(&log_dir());
    let copy = copy_of_log();
    let options = FileStoreOptions::default()
        .with_segment_size(SEGMENT_SIZE)
        .with_create(false)
        .with_sync(SyncPolicy::Every);
    {
        let mut log = AuditLog::open(FileStore::open(copy.path(), options).unwrap()).unwrap();
        assert_eq!(hex::encode(log.root()), ROOT);
        assert_eq!(log.append(&record(SIZE)).unwrap().0, SIZE);
        log.sync().unwrap();
        let proof = log.consistency_proof(SIZE, SIZE + 1).unwrap();
        merkle::verify_consistency(SIZE, SIZE + 1, &proof, &hash(ROOT), &log.root()).unwrap();
    }

    // Append-only: every frozen file is a prefix of its successor.
    let after = snapshot(copy.path());
    for (name, bytes) in &frozen {
        assert!(
            after[name].starts_with(bytes),
            "{name} was rewritten, not appended to"
        );
    }

    let store = FileStore::open_read_only(copy.path()).unwrap();
    assert_eq!(store.len(), SIZE + 1);
    assert_eq!(
        store.entry(SIZE).unwrap(),
        record(SIZE).canonical_bytes().unwrap()
    );
    // The frozen checkpoint still verifies against the grown log.
    let note = read_text("checkpoint.txt");
    let report = verify_log(&store, Some((&note, &[verifier()], ORIGIN))).unwrap();
    assert_eq!(report.size, SIZE + 1);
}

/// Writes the frozen files. For a new format version only, after pointing
/// [`frozen_dir`] at a new folder: it refuses to overwrite anything, and the
/// files of a released format are never regenerated. Run with
/// `TRESOR_REGENERATE_FROZEN=1 cargo test -p tresor-audit --test frozen -- --ignored --nocapture`,
/// then copy the printed values into this file and the README.
#[test]
#[ignore = "writes the frozen files; for a new format version only"]
fn regenerate_frozen_files() {
    if std::env::var_os("TRESOR_REGENERATE_FROZEN").is_none_or(|v| v != "1") {
        eprintln!("set TRESOR_REGENERATE_FROZEN=1 to write the frozen files");
        return;
    }
    let dir = frozen_dir();
    for name in [
        "log",
        "test-note-signer.key",
        "test-note-verifier.key",
        "checkpoint.txt",
    ] {
        assert!(
            !dir.join(name).exists(),
            "{name} exists: frozen files are never overwritten"
        );
    }
    std::fs::create_dir_all(&dir).unwrap();
    let options = FileStoreOptions::default()
        .with_segment_size(SEGMENT_SIZE)
        .with_sync(SyncPolicy::Every);
    let mut log = AuditLog::open(FileStore::open(log_dir(), options).unwrap()).unwrap();
    for i in 0..SIZE {
        log.append(&record(i)).unwrap();
    }
    log.sync().unwrap();

    let signer = NoteSigner::generate(ORIGIN).unwrap();
    let note = Checkpoint::new(ORIGIN, SIZE, log.root())
        .unwrap()
        .sign(&[&signer])
        .unwrap();
    write_new(
        &dir.join("test-note-signer.key"),
        &format!("{}\n", *signer.to_key_string()),
    );
    write_new(
        &dir.join("test-note-verifier.key"),
        &format!("{}\n", signer.verifier().to_key_string()),
    );
    write_new(&dir.join("checkpoint.txt"), &note);

    let hex_list = |v: Vec<Hash>| -> Vec<String> { v.iter().map(hex::encode).collect::<Vec<_>>() };
    println!("ROOT = {}", hex::encode(log.root()));
    println!("ROOT_17 = {}", hex::encode(log.root_at(17).unwrap()));
    println!(
        "INCLUSION_13_40 = {:?}",
        hex_list(log.inclusion_proof(13, SIZE).unwrap())
    );
    println!(
        "CONSISTENCY_17_40 = {:?}",
        hex_list(log.consistency_proof(17, SIZE).unwrap())
    );
    drop(log);
    println!("LOG_FILES = {:?}", snapshot(&log_dir()).keys());
}

/// Writes a new file, failing if it exists.
fn write_new(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.sync_all().unwrap();
}
