//! Full-log verification: an intact log verifies; an altered entry or stored
//! node is named; checkpoints old and new, wrong and beyond the log.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use tresor_audit::merkle::{self, CompactRange};
use tresor_audit::record::{Actor, AuditRecord, Outcome, Timestamp};
use tresor_audit::verify::LogVerifier;
use tresor_audit::{
    AuditLog, Checkpoint, Error, Hash, LogStore, MemoryStore, Node, NoteSigner, Result, verify_log,
};

const ORIGIN: &str = "example.com/audit";

/// Wraps a store and returns altered bytes for one entry or one node.
struct Tamper<S> {
    inner: S,
    entry: Option<u64>,
    node: Option<(u8, u64)>,
    missing_node: Option<(u8, u64)>,
}

impl<S: LogStore> LogStore for Tamper<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn durable_len(&self) -> u64 {
        self.inner.durable_len()
    }
    fn append(&mut self, entry: &[u8], nodes: &[Node]) -> Result<u64> {
        self.inner.append(entry, nodes)
    }
    fn sync(&mut self) -> Result<()> {
        self.inner.sync()
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>> {
        let mut e = self.inner.entry(index)?;
        if self.entry == Some(index) {
            match e.first_mut() {
                Some(b) => *b ^= 1,
                None => e.push(0),
            }
        }
        Ok(e)
    }
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        if self.missing_node == Some((level, index)) {
            return Err(Error::OutOfRange { index, size: 0 });
        }
        let mut h = self.inner.node(level, index)?;
        if self.node == Some((level, index)) {
            h[0] ^= 0x80;
        }
        Ok(h)
    }
}

fn record(i: u64) -> AuditRecord {
    AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_770_000_000 + i64::try_from(i).unwrap(), 0).unwrap())
        .actor(Actor::new("user", format!("u-{i}")).unwrap())
        .action("payment.approve")
        .resource(format!("payment/{i}"))
        .outcome(Outcome::Allowed)
        .request_id(format!("req-{i}"))
        .source("10.0.0.7")
        .detail("amount", format!("{i}.00"))
        .build()
        .unwrap()
}

fn entry_bytes(i: u64) -> Vec<u8> {
    record(i).canonical_bytes().unwrap()
}

/// A log of `n` records in a `MemoryStore`, and its tree head at each size
/// (from `AuditLog::root_at`).
fn build(n: u64) -> (MemoryStore, Vec<Hash>) {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    for i in 0..n {
        log.append(&record(i)).unwrap();
    }
    let roots: Vec<Hash> = (0..=n).map(|size| log.root_at(size).unwrap()).collect();
    assert_eq!(roots.last(), Some(&log.root()));
    (log.into_store(), roots)
}

fn tamper<S>(inner: S) -> Tamper<S> {
    Tamper {
        inner,
        entry: None,
        node: None,
        missing_node: None,
    }
}

fn corrupt_position(r: Result<tresor_audit::LogReport>) -> String {
    match r {
        Err(Error::Corrupt { position, .. }) => position,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn intact_logs_verify() {
    for n in [0u64, 1, 2, 3, 7, 8, 9, 33] {
        let (store, roots) = build(n);
        let report = verify_log(&store, None).unwrap();
        assert_eq!(report.size, n);
        assert_eq!(report.root, roots[usize::try_from(n).unwrap()]);
        assert_eq!(report.checkpoint, None);
        let leaves: Vec<Hash> = (0..n).map(|i| merkle::leaf_hash(&entry_bytes(i))).collect();
        assert_eq!(report.root, merkle::root(&leaves));
    }
}

#[test]
fn altered_entry_is_named() {
    let n = 20;
    for i in 0..n {
        let (store, _) = build(n);
        let mut t = tamper(store);
        t.entry = Some(i);
        assert_eq!(corrupt_position(verify_log(&t, None)), format!("entry {i}"));
    }
}

#[test]
fn altered_stored_node_is_named() {
    let n = 20u64;
    let (store, _) = build(n);
    let mut t = tamper(store);
    // Every stored node of a 20-entry log: level l, index j < n >> l.
    for level in 0u8..5 {
        for index in 0..(n >> level) {
            t.node = Some((level, index));
            let want = if level == 0 {
                format!("entry {index}")
            } else {
                format!("node {level}/{index}")
            };
            assert_eq!(corrupt_position(verify_log(&t, None)), want);
        }
    }
}

#[test]
fn first_bad_index_is_reported() {
    let (store, _) = build(16);
    let mut t = tamper(store);
    t.entry = Some(11);
    t.node = Some((2, 0)); // covers entries 0..=3: found first
    assert_eq!(corrupt_position(verify_log(&t, None)), "node 2/0");
    t.node = Some((3, 1)); // covers entries 8..=15, complete at entry 15
    assert_eq!(corrupt_position(verify_log(&t, None)), "entry 11");
}

#[test]
fn checkpoint_at_current_size_verifies() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (store, roots) = build(13);
    let signed = Checkpoint::new(ORIGIN, 13, roots[13])
        .unwrap()
        .sign(&[&key])
        .unwrap();
    let report = verify_log(&store, Some((&signed, &[key.verifier()], ORIGIN))).unwrap();
    assert_eq!(report.size, 13);
    assert_eq!(report.checkpoint.unwrap().size(), 13);
}

#[test]
fn older_checkpoint_of_grown_log_verifies() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (store, roots) = build(13);
    for size in 0..=13u64 {
        let signed = Checkpoint::new(ORIGIN, size, roots[usize::try_from(size).unwrap()])
            .unwrap()
            .sign(&[&key])
            .unwrap();
        let report = verify_log(&store, Some((&signed, &[key.verifier()], ORIGIN))).unwrap();
        assert_eq!(report.size, 13);
        assert_eq!(report.root, roots[13]);
        assert_eq!(report.checkpoint.unwrap().size(), size);
    }
}

#[test]
fn checkpoint_with_wrong_root_is_a_mismatch() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (store, roots) = build(13);
    for (size, root) in [
        (5u64, roots[4]),
        (13, roots[12]),
        (0, roots[1]),
        (7, [0; 32]),
    ] {
        let signed = Checkpoint::new(ORIGIN, size, root)
            .unwrap()
            .sign(&[&key])
            .unwrap();
        assert!(matches!(
            verify_log(&store, Some((&signed, &[key.verifier()], ORIGIN))),
            Err(Error::CheckpointMismatch { .. })
        ));
    }
}

#[test]
fn checkpoint_beyond_the_log_is_a_mismatch() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (store, _) = build(5);
    let (_, longer) = build(6);
    let signed = Checkpoint::new(ORIGIN, 6, longer[6])
        .unwrap()
        .sign(&[&key])
        .unwrap();
    match verify_log(&store, Some((&signed, &[key.verifier()], ORIGIN))) {
        Err(Error::CheckpointMismatch { reason }) => assert!(reason.contains("beyond")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn checkpoint_signature_is_checked() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let impostor = NoteSigner::generate(ORIGIN).unwrap();
    let (store, roots) = build(5);
    let signed = Checkpoint::new(ORIGIN, 5, roots[5])
        .unwrap()
        .sign(&[&impostor])
        .unwrap();
    assert!(matches!(
        verify_log(&store, Some((&signed, &[key.verifier()], ORIGIN))),
        Err(Error::SignatureMissing { .. })
    ));
}

#[test]
fn corruption_before_checkpoint_size_wins_over_mismatch() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (store, roots) = build(10);
    let signed = Checkpoint::new(ORIGIN, 8, roots[8])
        .unwrap()
        .sign(&[&key])
        .unwrap();
    let mut t = tamper(store);
    t.entry = Some(3);
    assert_eq!(
        corrupt_position(verify_log(&t, Some((&signed, &[key.verifier()], ORIGIN)))),
        "entry 3"
    );
    // Past the checkpoint's size, the checkpoint still verifies first and
    // the corruption is then reported.
    t.entry = Some(9);
    assert_eq!(
        corrupt_position(verify_log(&t, Some((&signed, &[key.verifier()], ORIGIN)))),
        "entry 9"
    );
}

#[test]
fn entry_check_failures_are_named() {
    let (store, _) = build(6);
    let verifier = LogVerifier::new().entry_check(|i, bytes| {
        if i == 4 {
            Err(Error::InvalidRecord {
                reason: format!("{} bytes rejected", bytes.len()),
            })
        } else {
            Ok(())
        }
    });
    match verifier.verify(&store) {
        Err(Error::Corrupt { position, reason }) => {
            assert_eq!(position, "entry 4");
            assert!(reason.contains("bytes rejected"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_node_is_an_error_not_a_panic() {
    let (store, _) = build(4);
    let mut t = tamper(store);
    t.missing_node = Some((1, 1));
    assert!(verify_log(&t, None).is_err());
}

#[test]
fn canonical_records_are_required_when_asked() {
    // Entry 2 is a valid record, but not in canonical form (a space), with
    // consistent hashes: the Merkle walk passes, the record check names it.
    let mut store = MemoryStore::new();
    let mut range = CompactRange::new();
    for i in 0..5u64 {
        let mut e = entry_bytes(i);
        if i == 2 {
            e.insert(1, b' ');
            assert!(AuditRecord::from_json(std::str::from_utf8(&e).unwrap()).is_ok());
        }
        let nodes = range.append(merkle::leaf_hash(&e));
        store.append(&e, &nodes).unwrap();
    }
    assert_eq!(verify_log(&store, None).unwrap().root, range.root());
    assert_eq!(
        corrupt_position(LogVerifier::new().canonical_records(true).verify(&store)),
        "entry 2"
    );
    // An intact log of records passes the record check.
    let (good, roots) = build(9);
    let report = LogVerifier::new()
        .canonical_records(true)
        .verify(&good)
        .unwrap();
    assert_eq!(report.root, roots[9]);
}

#[test]
fn builder_with_checkpoint_and_records() {
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let witness = NoteSigner::generate("witness.example").unwrap();
    let (store, roots) = build(11);
    let signed = Checkpoint::new(ORIGIN, 6, roots[6])
        .unwrap()
        .sign(&[&key, &witness])
        .unwrap();
    let known = [witness.verifier()];
    let report = LogVerifier::new()
        .checkpoint(&signed, &known, "witness.example")
        .canonical_records(true)
        .verify(&store)
        .unwrap();
    assert_eq!(report.checkpoint.unwrap().size(), 6);
    assert_eq!(report.root, roots[11]);
}

#[test]
fn file_store_log_verifies_read_only_against_checkpoint() {
    use tresor_audit::{FileStore, FileStoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let signed = {
        let store = FileStore::open(dir.path(), FileStoreOptions::default()).unwrap();
        let mut log = AuditLog::open(store).unwrap();
        for i in 0..10 {
            log.append(&record(i)).unwrap();
        }
        let signed = Checkpoint::new(ORIGIN, 7, log.root_at(7).unwrap())
            .unwrap()
            .sign(&[&key])
            .unwrap();
        log.sync().unwrap();
        signed
    };
    let store = FileStore::open_read_only(dir.path()).unwrap();
    let report = LogVerifier::new()
        .checkpoint(&signed, &[key.verifier()], ORIGIN)
        .canonical_records(true)
        .verify(&store)
        .unwrap();
    assert_eq!(report.size, 10);
    let (_, roots) = build(10);
    assert_eq!(report.root, roots[10]);
}
