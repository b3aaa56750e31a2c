//! `AuditLog` over `MemoryStore`: tree heads and proofs from stored subtrees
//! equal the pure `merkle` functions over the leaves and verify; proofs read
//! O(log n) nodes; a reopened log carries on where it stopped.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::cell::Cell;

use tresor_audit::record::{Actor, AuditRecord, Outcome, Timestamp};
use tresor_audit::{AuditLog, Error, Hash, LogStore, MemoryStore, Node, merkle};

fn record(i: u64) -> AuditRecord {
    AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_767_225_600 + i as i64, (i % 7) as u32 * 1000).unwrap())
        .actor(Actor::new("service", format!("svc-{}", i % 5)).unwrap())
        .action("ledger.post")
        .resource(format!("account/{}", i % 13))
        .outcome(if i.is_multiple_of(3) {
            Outcome::Denied
        } else {
            Outcome::Allowed
        })
        .request_id(format!("req-{i}"))
        .source("batch")
        .detail("i", i)
        .build()
        .unwrap()
}

fn build(n: u64) -> (AuditLog<MemoryStore>, Vec<Hash>) {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    let mut leaves = Vec::new();
    for i in 0..n {
        let r = record(i);
        let (index, leaf) = log.append(&r).unwrap();
        assert_eq!(index, i);
        assert_eq!(leaf, r.leaf_hash().unwrap());
        leaves.push(leaf);
    }
    (log, leaves)
}

/// Indexes to check in a tree of `size`: all of them in small trees.
fn sample(size: u64) -> Vec<u64> {
    if size <= 40 {
        (0..size).collect()
    } else {
        let mut v: Vec<u64> = (0..size).step_by(7).collect();
        v.extend([1, size / 2, size - 2, size - 1]);
        v
    }
}

#[test]
fn proofs_equal_the_pure_functions_and_verify() {
    const N: u64 = 200;
    let (log, leaves) = build(N);
    assert_eq!(log.size(), N);
    assert_eq!(log.root(), merkle::root(&leaves));
    assert_eq!(log.root_at(0).unwrap(), merkle::empty_root());
    for size in 1..=N {
        let prefix = &leaves[..size as usize];
        let root = log.root_at(size).unwrap();
        assert_eq!(root, merkle::root(prefix), "root at {size}");
        for i in sample(size) {
            let proof = log.inclusion_proof(i, size).unwrap();
            assert_eq!(
                proof,
                merkle::inclusion_proof(prefix, i).unwrap(),
                "PATH({i}, {size})"
            );
            merkle::verify_inclusion(&leaves[i as usize], i, size, &proof, &root).unwrap();
        }
        for old in sample(size + 1).into_iter().filter(|&m| m >= 1) {
            let proof = log.consistency_proof(old, size).unwrap();
            assert_eq!(
                proof,
                merkle::consistency_proof(prefix, old).unwrap(),
                "PROOF({old}, {size})"
            );
            let old_root = log.root_at(old).unwrap();
            merkle::verify_consistency(old, size, &proof, &old_root, &root).unwrap();
        }
    }
}

#[test]
fn entries_and_records_read_back() {
    let (log, leaves) = build(20);
    for i in 0..20 {
        let bytes = log.entry(i).unwrap();
        assert_eq!(merkle::leaf_hash(&bytes), leaves[i as usize]);
        assert_eq!(log.record(i).unwrap(), record(i));
    }
}

#[test]
fn out_of_range_requests_are_errors() {
    let (log, _) = build(10);
    assert!(matches!(
        log.entry(10),
        Err(Error::OutOfRange {
            index: 10,
            size: 10
        })
    ));
    assert!(matches!(log.root_at(11), Err(Error::OutOfRange { .. })));
    assert!(matches!(
        log.inclusion_proof(10, 10),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(0, 11),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(u64::MAX, u64::MAX),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        log.consistency_proof(5, 11),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        log.consistency_proof(6, 5),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        log.consistency_proof(0, 5),
        Err(Error::InvalidProof { .. })
    ));
    assert_eq!(log.consistency_proof(7, 7).unwrap(), Vec::<Hash>::new());
    let empty = AuditLog::open(MemoryStore::new()).unwrap();
    assert_eq!(empty.root(), merkle::empty_root());
    assert!(empty.inclusion_proof(0, 0).is_err());
}

#[test]
fn reopening_gives_the_same_log() {
    let (log, _) = build(37);
    let root = log.root();
    let mut reopened = AuditLog::open(log.into_store()).unwrap();
    assert_eq!((reopened.size(), reopened.root()), (37, root));
    for i in 37..50 {
        reopened.append(&record(i)).unwrap();
    }
    let (fresh, _) = build(50);
    assert_eq!(reopened.root(), fresh.root());
    assert_eq!(
        reopened.consistency_proof(37, 50).unwrap(),
        fresh.consistency_proof(37, 50).unwrap()
    );
}

#[test]
fn append_canonical_checks_its_input() {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    let bytes = record(0).canonical_bytes().unwrap();
    let (i, leaf) = log.append_canonical(&bytes).unwrap();
    assert_eq!((i, leaf), (0, merkle::leaf_hash(&bytes)));
    let pretty = serde_json::to_string_pretty(&record(1)).unwrap();
    assert!(matches!(
        log.append_canonical(pretty.as_bytes()),
        Err(Error::InvalidRecord { .. })
    ));
    assert!(log.append_canonical(b"not json").is_err());
    assert_eq!(log.size(), 1);
}

#[test]
fn memory_store_refuses_wrong_nodes() {
    let mut store = MemoryStore::new();
    let h = merkle::leaf_hash(b"x");
    let leaf = |index| Node {
        level: 0,
        index,
        hash: h,
    };
    assert!(store.append(b"a", &[]).is_err());
    assert!(store.append(b"a", &[leaf(1)]).is_err());
    assert_eq!(store.append(b"a", &[leaf(0)]).unwrap(), 0);
    // Entry 1 completes the level-1 subtree 0: it must come with it.
    assert!(store.append(b"b", &[leaf(1)]).is_err());
    let parent = Node {
        level: 1,
        index: 0,
        hash: h,
    };
    assert_eq!(store.append(b"b", &[leaf(1), parent]).unwrap(), 1);
    assert_eq!((store.len(), store.durable_len()), (2, 2));
    assert!(store.node(1, 1).is_err());
    assert!(store.node(9, 0).is_err());
    assert!(store.entry(2).is_err());
}

/// A store that counts node reads.
struct Counting {
    inner: MemoryStore,
    reads: Cell<u64>,
}

impl LogStore for Counting {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn durable_len(&self) -> u64 {
        self.inner.durable_len()
    }
    fn append(&mut self, entry: &[u8], nodes: &[Node]) -> tresor_audit::Result<u64> {
        self.inner.append(entry, nodes)
    }
    fn sync(&mut self) -> tresor_audit::Result<()> {
        self.inner.sync()
    }
    fn entry(&self, _index: u64) -> tresor_audit::Result<Vec<u8>> {
        panic!("proofs must not read entries")
    }
    fn node(&self, level: u8, index: u64) -> tresor_audit::Result<Hash> {
        self.reads.set(self.reads.get() + 1);
        self.inner.node(level, index)
    }
}

#[test]
fn proofs_read_logarithmically_many_nodes() {
    const N: u64 = 4096;
    let mut log = AuditLog::open(Counting {
        inner: MemoryStore::new(),
        reads: Cell::new(0),
    })
    .unwrap();
    // Appending reads nothing.
    let bytes = record(0).canonical_bytes().unwrap();
    for _ in 0..N {
        log.append_canonical(&bytes).unwrap();
    }
    assert_eq!(log.store().reads.get(), 0);
    let reads = |f: &dyn Fn(&AuditLog<Counting>)| {
        let before = log.store().reads.get();
        f(&log);
        log.store().reads.get() - before
    };
    let mut worst = (0, 0, 0);
    for size in [N, N - 1, 3000, 2049, 1025, 7] {
        let bound = 4 * (64 - u64::from(size.leading_zeros()));
        let root = log.root_at(size).unwrap();
        for i in (0..size).step_by(3).chain([size - 1]) {
            let n = reads(&|l| {
                let p = l.inclusion_proof(i, size).unwrap();
                merkle::verify_inclusion(&merkle::leaf_hash(&bytes), i, size, &p, &root).unwrap();
            });
            assert!(n <= bound, "PATH({i}, {size}) read {n} nodes");
            worst.0 = worst.0.max(n);
        }
        for old in (1..=size).step_by(5).chain([size - 1, size]) {
            let old_root = log.root_at(old).unwrap();
            let n = reads(&|l| {
                let p = l.consistency_proof(old, size).unwrap();
                merkle::verify_consistency(old, size, &p, &old_root, &root).unwrap();
            });
            assert!(n <= bound, "PROOF({old}, {size}) read {n} nodes");
            worst.1 = worst.1.max(n);
        }
        let n = reads(&|l| {
            l.root_at(size).unwrap();
        });
        assert!(n <= 64 - u64::from(size.leading_zeros()));
        worst.2 = worst.2.max(n);
    }
    eprintln!(
        "most node reads at n <= {N}: inclusion {}, consistency {}, root {}",
        worst.0, worst.1, worst.2
    );
    // Reopening reads one node per set bit of the size.
    let store = log.into_store();
    store.reads.set(0);
    let reopened = AuditLog::open(store).unwrap();
    assert_eq!(reopened.store().reads.get(), u64::from(N.count_ones()));
}

#[test]
fn append_unchecked_hashes_the_same_and_the_verifier_flags_non_records() {
    let (mut checked, _) = build(0);
    let mut unchecked = AuditLog::open(MemoryStore::new()).unwrap();
    for i in 0..5 {
        let bytes = record(i).canonical_bytes().unwrap();
        assert_eq!(
            checked.append_canonical(&bytes).unwrap(),
            unchecked.append_unchecked(&bytes).unwrap()
        );
    }
    assert_eq!(checked.root(), unchecked.root());

    // Any bytes go in, and the log stays consistent...
    let (index, leaf) = unchecked
        .append_unchecked(b"{ \"not\": \"canonical\" }")
        .unwrap();
    assert_eq!(leaf, merkle::leaf_hash(b"{ \"not\": \"canonical\" }"));
    let plain = tresor_audit::verify::LogVerifier::new()
        .verify(unchecked.store())
        .unwrap();
    assert_eq!((plain.size, plain.root), (6, unchecked.root()));
    // ...but a verifier that requires records names the entry.
    let err = tresor_audit::verify::LogVerifier::new()
        .canonical_records(true)
        .verify(unchecked.store())
        .unwrap_err();
    assert!(err.to_string().contains(&format!("entry {index}")), "{err}");
}
