//! `PostgresLog` against a real PostgreSQL (`TRESOR_POSTGRES_URL`, a
//! loopback server; `.ci/lib/postgres.sh` starts one): round trips, proofs
//! and verification against `tresor_audit`'s own in-memory log, several
//! processes appending at once, a writer killed (SIGKILL) mid-batch, the
//! group-commit writer, bad input, tampering, schema versions.
//!
//! Each test creates its own database and drops it at the end. The
//! multi-process tests re-run this test binary with `TRESOR_AUDIT_CHILD`
//! set, which turns the `child_writer` test into a writer process.
//! Without `TRESOR_POSTGRES_URL` each test prints why it skipped, unless
//! `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tresor_audit::verify::LogVerifier;
use tresor_audit::{
    Actor, AuditLog, AuditRecord, AuditSink, Checkpoint, Error, LogStore, MemoryStore, NoteSigner,
    Outcome, Timestamp, merkle, verify_log,
};
use tresor_postgres::audit::{MAX_BATCH_ENTRIES, MAX_ENTRY_LEN};
use tresor_postgres::{
    AUDIT_SCHEMA_VERSION, PoolOptions, PostgresLog, PostgresLogView, WriterOptions,
};

mod support;

use support::{Db, admin};

fn record(writer: u32, seq: u64) -> AuditRecord {
    AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_764_000_000 + i64::try_from(seq).unwrap(), 0).unwrap())
        .actor(Actor::new("service", format!("writer-{writer}")).unwrap())
        .action("payment.create")
        .resource(format!("payment/{writer}/{seq}"))
        .outcome(Outcome::Allowed)
        .request_id(format!("w{writer}-{seq}"))
        .source("10.0.0.7")
        .detail("amount", "120.00")
        .build()
        .unwrap()
}

/// `(writer, seq)` from a stored entry's request id.
fn writer_seq(entry: &[u8]) -> (u32, u64) {
    let record = AuditRecord::from_canonical(entry).unwrap();
    let (w, s) = record
        .request_id()
        .strip_prefix('w')
        .unwrap()
        .split_once('-')
        .unwrap();
    (w.parse().unwrap(), s.parse().unwrap())
}

/// The same entries in `tresor_audit`'s in-memory log.
fn memory_log(view: &PostgresLogView) -> AuditLog<MemoryStore> {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    for i in 0..view.size() {
        log.append_unchecked(&view.entry(i).unwrap()).unwrap();
    }
    log
}

#[test]
fn round_trip_proofs_and_verification() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    let log = db.log("payments");
    assert_eq!(log.schema_version().unwrap(), AUDIT_SCHEMA_VERSION);
    let empty = log.head().unwrap();
    assert_eq!((empty.size, empty.root), (0, merkle::empty_root()));

    // One entry, a batch of records, then enough batches to span pages.
    let r = log.append_record(&record(0, 0)).unwrap();
    assert_eq!((r.first, r.size), (0, 1));
    let records: Vec<_> = (1..5).map(|s| record(0, s)).collect();
    let r = log.append_records(&records).unwrap();
    assert_eq!(r.indexes(), 1..5);
    let mut seq = 5;
    while seq < 2500 {
        let batch: Vec<_> = (seq..seq + 333)
            .map(|s| record(0, s).canonical_bytes().unwrap())
            .collect();
        let r = log.append_batch(&batch).unwrap();
        assert_eq!(r.first, seq);
        seq += 333;
    }
    let head = log.head().unwrap();
    assert_eq!(head.size, seq);

    let view = log.snapshot().unwrap();
    assert_eq!((view.size(), view.root()), (head.size, head.root));
    // A writer appending after the snapshot does not change it.
    log.append_record(&record(1, 0)).unwrap();
    let snapshot = AuditLog::open(view).unwrap();
    assert_eq!(snapshot.size(), head.size);
    assert_eq!(snapshot.root(), head.root);

    // Roots, proofs and entries agree with tresor-audit's in-memory log.
    let memory = memory_log(snapshot.store());
    assert_eq!(memory.root(), snapshot.root());
    for (index, size) in [
        (0, 1),
        (3, 5),
        (1023, 1024),
        (1024, 2000),
        (2497, head.size),
    ] {
        let proof = snapshot.inclusion_proof(index, size).unwrap();
        assert_eq!(proof, memory.inclusion_proof(index, size).unwrap());
        let leaf = merkle::leaf_hash(&snapshot.entry(index).unwrap());
        merkle::verify_inclusion(&leaf, index, size, &proof, &snapshot.root_at(size).unwrap())
            .unwrap();
        assert_eq!(
            snapshot.record(index).unwrap().request_id(),
            format!("w0-{index}")
        );
    }
    for (old, new) in [(1, 2), (5, 1024), (1000, 2001), (1024, head.size)] {
        let proof = snapshot.consistency_proof(old, new).unwrap();
        assert_eq!(proof, memory.consistency_proof(old, new).unwrap());
        merkle::verify_consistency(
            old,
            new,
            &proof,
            &snapshot.root_at(old).unwrap(),
            &snapshot.root_at(new).unwrap(),
        )
        .unwrap();
    }

    // The whole log verifies, against a checkpoint taken at a smaller size.
    let key = NoteSigner::generate("audit.bank.example").unwrap();
    let note = Checkpoint::new(
        "audit.bank.example/log",
        1000,
        snapshot.root_at(1000).unwrap(),
    )
    .unwrap()
    .sign(&[&key])
    .unwrap();
    let report = verify_log(
        snapshot.store(),
        Some((&note, &[key.verifier()], "audit.bank.example")),
    )
    .unwrap();
    assert_eq!((report.size, report.root), (head.size, head.root));
    let report = LogVerifier::new()
        .canonical_records(true)
        .verify(&log.snapshot().unwrap())
        .unwrap();
    assert_eq!(report.size, head.size + 1);

    // A snapshot is read-only; beyond its size is out of range.
    let mut view = log.snapshot().unwrap();
    assert!(matches!(
        view.append(b"x", &[]),
        Err(Error::InvalidAppend { .. })
    ));
    assert!(matches!(
        view.entry(view.size()),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        view.node(0, view.size()),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(view.node(64, 0), Err(Error::OutOfRange { .. })));

    // Two logs in one database are independent.
    let other = db.log("other");
    other.append(b"not a record").unwrap();
    assert_eq!(other.head().unwrap().size, 1);
    assert_eq!(log.head().unwrap().size, head.size + 1);
    // Debug never shows the configuration.
    let debug = format!("{log:?} {:?}", log.snapshot().unwrap());
    assert!(
        !debug.contains("127.0.0.1") && !debug.contains("password"),
        "{debug}"
    );
}

#[test]
fn threads_racing_on_one_log_make_one_tree() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    // Eight logs opened at once on a fresh database: one migration, one head.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let config = db.config.clone();
            std::thread::spawn(move || {
                PostgresLog::from_config(config, PoolOptions::default(), "default").unwrap()
            })
        })
        .collect();
    let logs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let handles: Vec<_> = logs
        .into_iter()
        .enumerate()
        .map(|(w, log)| {
            std::thread::spawn(move || {
                let w = u32::try_from(w).unwrap();
                for b in 0..10 {
                    let batch: Vec<_> = (b * 25..(b + 1) * 25)
                        .map(|s| record(w, s).canonical_bytes().unwrap())
                        .collect();
                    log.append_batch(&batch).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let log = db.log("default");
    check_writers(&log.snapshot().unwrap(), 8, 250);
}

#[test]
fn group_commit_writer_batches_single_appends() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    let log = db.log("default");
    let writer = Arc::new(
        log.writer(WriterOptions::default().with_max_batch(64))
            .unwrap(),
    );
    let handles: Vec<_> = (0..16u32)
        .map(|w| {
            let writer = writer.clone();
            std::thread::spawn(move || {
                (0..100)
                    .map(|s| (s, writer.append_record(&record(w, s)).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acked = Vec::new();
    for (w, h) in handles.into_iter().enumerate() {
        for (s, index) in h.join().unwrap() {
            acked.push((index, u32::try_from(w).unwrap(), s));
        }
    }
    let view = log.snapshot().unwrap();
    assert_eq!(view.size(), 1600);
    for (index, w, s) in acked {
        assert_eq!(writer_seq(&view.entry(index).unwrap()), (w, s));
    }
    check_writers(&view, 16, 100);
    // An oversized entry fails alone; the writer carries on.
    let err = writer.append(vec![b'x'; MAX_ENTRY_LEN + 1]).unwrap_err();
    assert!(
        matches!(err, Error::InvalidAppend { index: 1600, .. }),
        "{err}"
    );
    assert_eq!(writer.append(b"after".to_vec()).unwrap(), 1600);
    // It is an AuditSink, what request handlers and hooks append to.
    let sink: Arc<dyn AuditSink> = writer.clone();
    assert_eq!(sink.append_record(&record(16, 0)).unwrap(), 1601);
    drop(sink);
    // Dropping the last handle commits what is queued and joins the thread.
    drop(writer);
    assert_eq!(log.head().unwrap().size, 1602);
}

#[test]
fn a_log_and_its_writer_may_be_dropped_inside_an_async_task() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    // Used (so the pools hold open connections), then dropped where an
    // async server drops its state: on a thread driving async tasks, where
    // the synchronous client's close would panic.
    let log = db.log("default");
    let writer = log.writer(WriterOptions::default()).unwrap();
    assert_eq!(writer.append(b"one".to_vec()).unwrap(), 0);
    let view = log.snapshot().unwrap();
    assert_eq!(view.size(), 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop((writer, view, log)) });
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    let log = db.log("default");
    log.append(b"one").unwrap();
    let before = log.head().unwrap();

    let none: [&[u8]; 0] = [];
    let err = log.append_batch(&none).unwrap_err();
    assert!(
        matches!(err, Error::InvalidAppend { index: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("empty batch"), "{err}");

    let huge = vec![0u8; MAX_ENTRY_LEN + 1];
    let err = log.append_batch(&[b"fine".as_slice(), &huge]).unwrap_err();
    assert!(
        matches!(err, Error::InvalidAppend { index: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("exceeds"), "{err}");

    let many = vec![b"x".as_slice(); MAX_BATCH_ENTRIES + 1];
    let err = log.append_batch(&many).unwrap_err();
    assert!(matches!(err, Error::InvalidAppend { .. }), "{err}");

    // The largest entry accepted is stored and read back whole.
    let big = vec![7u8; MAX_ENTRY_LEN];
    let r = log.append(&big).unwrap();
    assert_eq!(r.first, 1);
    assert_eq!(log.snapshot().unwrap().entry(1).unwrap(), big);
    assert_eq!(log.head().unwrap().size, before.size + 1);

    for name in ["", "a\nb", &"n".repeat(129)] {
        let err =
            PostgresLog::from_config(db.config.clone(), PoolOptions::default(), name).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    what: "log name",
                    ..
                }
            ),
            "{err}"
        );
    }
    let err =
        PostgresLog::connect("postgres://u:s3cret@127.0.0.1:99999/db", "default").unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
}

#[test]
fn tampering_is_found_by_verification() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    let log = db.log("default");
    let records: Vec<_> = (0..40).map(|s| record(0, s)).collect();
    log.append_records(&records).unwrap();
    verify_log(&log.snapshot().unwrap(), None).unwrap();
    let mut client = db.client();
    client
        .execute(
            "UPDATE tresor_audit_entries SET bytes = $1 WHERE log = 'default' AND idx = 17",
            &[&record(0, 99).canonical_bytes().unwrap()],
        )
        .unwrap();
    match verify_log(&log.snapshot().unwrap(), None) {
        Err(Error::Corrupt { position, .. }) => assert_eq!(position, "entry 17"),
        other => panic!("expected Corrupt at entry 17, got {other:?}"),
    }
    // A deleted row below the head is named too.
    client
        .execute(
            "DELETE FROM tresor_audit_entries WHERE log = 'default' AND idx = 3",
            &[],
        )
        .unwrap();
    match verify_log(&log.snapshot().unwrap(), None) {
        Err(Error::Corrupt { position, .. }) => assert_eq!(position, "entry 3"),
        other => panic!("expected Corrupt at entry 3, got {other:?}"),
    }
    // A head row whose root does not match its edge is refused by writers.
    client
        .execute(
            "UPDATE tresor_audit_logs SET root = $1 WHERE log = 'default'",
            &[&merkle::empty_root().as_slice()],
        )
        .unwrap();
    assert!(matches!(
        log.append(b"x").unwrap_err(),
        Error::Corrupt { .. }
    ));
}

#[test]
fn newer_schema_is_refused_and_left_alone() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    drop(db.log("default"));
    let mut client = db.client();
    client
        .execute(
            "UPDATE tresor_schema SET version = $1 WHERE component = 'audit'",
            &[&(AUDIT_SCHEMA_VERSION + 1)],
        )
        .unwrap();
    let err =
        PostgresLog::from_config(db.config.clone(), PoolOptions::default(), "default").unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert!(err.to_string().contains("newer"), "{err}");
    let version: i64 = client
        .query_one(
            "SELECT version FROM tresor_schema WHERE component = 'audit'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, AUDIT_SCHEMA_VERSION + 1);
}

#[test]
fn a_server_that_is_not_there_is_an_outage() {
    let Some(admin) = admin() else { return };
    let mut config = admin.clone();
    config.port(1).connect_timeout(Duration::from_secs(2));
    let options = PoolOptions {
        max_size: 1,
        checkout_timeout: Duration::from_secs(2),
    };
    let err = PostgresLog::from_config(config, options, "default").unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

// ---- several processes ---------------------------------------------------------

/// Checks that the log holds exactly `count` records of each of `writers`,
/// each once, each writer's in order, at indexes `0..writers·count`, and
/// that it verifies.
fn check_writers(view: &PostgresLogView, writers: u32, count: u64) {
    assert_eq!(view.size(), u64::from(writers) * count);
    let mut next = vec![0u64; writers as usize];
    for index in 0..view.size() {
        let (w, s) = writer_seq(&view.entry(index).unwrap());
        assert_eq!(s, next[w as usize], "writer {w} out of order at {index}");
        next[w as usize] += 1;
    }
    assert!(next.iter().all(|&n| n == count), "{next:?}");
    let report = LogVerifier::new()
        .canonical_records(true)
        .verify(view)
        .unwrap();
    assert_eq!((report.size, report.root), (view.size(), view.root()));
}

/// Starts this test binary as a writer process: `count` records as
/// `writer`, `batch` per transaction, into `db`'s log `default`. It prints
/// `ack FIRST SIZE SEQ` for each committed batch.
fn spawn_writer(db: &Db, writer: u32, count: u64, batch: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(
            "TRESOR_AUDIT_CHILD",
            format!("{} {writer} {count} {batch}", db.name),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The writer process (a no-op test unless `TRESOR_AUDIT_CHILD` is set).
#[test]
fn child_writer() {
    let Ok(spec) = std::env::var("TRESOR_AUDIT_CHILD") else {
        return;
    };
    let parts: Vec<_> = spec.split(' ').collect();
    let (db, writer, count, batch): (&str, u32, u64, u64) = (
        parts[0],
        parts[1].parse().unwrap(),
        parts[2].parse().unwrap(),
        parts[3].parse().unwrap(),
    );
    let mut config = admin().unwrap();
    config.dbname(db);
    let log = PostgresLog::from_config(config, PoolOptions::default(), "default").unwrap();
    let mut seq = 0;
    while seq < count {
        let end = (seq + batch).min(count);
        let entries: Vec<_> = (seq..end)
            .map(|s| record(writer, s).canonical_bytes().unwrap())
            .collect();
        let r = log.append_batch(&entries).unwrap();
        println!("ack {} {} {seq}", r.first, r.size);
        seq = end;
    }
}

/// Reads `ack` lines of a writer's output into `acks` as `(first, size,
/// seq)`: until `stop_after` of them are there, or to the end.
fn read_acks(out: &mut impl BufRead, acks: &mut Vec<(u64, u64, u64)>, stop_after: Option<usize>) {
    let mut line = String::new();
    while stop_after.is_none_or(|n| acks.len() < n) {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        // The harness may have written `test child_writer ... ` before it.
        let Some((_, rest)) = line.trim_end().split_once("ack ") else {
            continue;
        };
        let v: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
        acks.push((v[0], v[1], v[2]));
    }
}

fn acks(child: &mut std::process::Child) -> Vec<(u64, u64, u64)> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut acks = Vec::new();
    read_acks(&mut out, &mut acks, None);
    acks
}

#[test]
fn four_processes_append_ten_thousand_records_each() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    let log = db.log("default");
    let start = Instant::now();
    let mut children: Vec<_> = (0..4).map(|w| spawn_writer(&db, w, 10_000, 250)).collect();
    let mut all_acks = Vec::new();
    for (w, child) in children.iter_mut().enumerate() {
        all_acks.push((w, acks(child)));
        assert!(child.wait().unwrap().success());
    }
    let elapsed = start.elapsed();
    eprintln!("4 processes x 10000 records, 250 per transaction: {elapsed:?}");
    let view = log.snapshot().unwrap();
    check_writers(&view, 4, 10_000);
    // Every acknowledged batch is where its receipt says.
    let mut covered = HashSet::new();
    for (w, acks) in all_acks {
        assert_eq!(acks.len(), 40);
        for (first, size, seq) in acks {
            for (k, index) in (first..size).enumerate() {
                assert!(covered.insert(index), "index {index} acknowledged twice");
                let expected = (u32::try_from(w).unwrap(), seq + k as u64);
                assert_eq!(writer_seq(&view.entry(index).unwrap()), expected);
            }
        }
    }
    assert_eq!(covered.len(), 40_000);
    assert_eq!(memory_log(&view).root(), view.root());
    let start = Instant::now();
    let report = verify_log(&log.snapshot().unwrap(), None).unwrap();
    assert_eq!(report.root, view.root());
    eprintln!("verify_log over 40000 entries: {:?}", start.elapsed());
}

#[test]
fn a_writer_killed_mid_batch_loses_nothing_acknowledged() {
    let Some(admin) = admin() else { return };
    let db = Db::new(&admin);
    let log = db.log("default");
    // A steady writer, and three that are killed after a few batches, each
    // most likely inside a transaction (they append back to back).
    let mut steady = spawn_writer(&db, 0, 3000, 100);
    let mut killed = Vec::new();
    for (w, after) in [(1u32, 3usize), (2, 7), (3, 12)] {
        let mut child = spawn_writer(&db, w, 1_000_000, 200);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut acked = Vec::new();
        read_acks(&mut out, &mut acked, Some(after));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Receipts it printed before it died are acknowledged too.
        read_acks(&mut out, &mut acked, None);
        killed.push((w, acked));
    }
    let steady_acks = acks(&mut steady);
    assert!(steady.wait().unwrap().success());

    let view = log.snapshot().unwrap();
    for (w, acked) in killed.iter().chain([&(0, steady_acks)]) {
        for &(first, size, seq) in acked {
            for (k, index) in (first..size).enumerate() {
                assert_eq!(
                    writer_seq(&view.entry(index).unwrap()),
                    (*w, seq + k as u64),
                    "acknowledged entry {index} of writer {w}"
                );
            }
        }
    }
    // No gap, no duplicate: each writer's records are a prefix of its
    // sequence, each once, and the log verifies.
    let mut next = [0u64; 4];
    for index in 0..view.size() {
        let (w, s) = writer_seq(&view.entry(index).unwrap());
        assert_eq!(s, next[w as usize]);
        next[w as usize] += 1;
    }
    assert_eq!(next[0], 3000);
    // A killed writer's records are its acknowledged batches, plus at most
    // the one batch it committed but had no time to print: never part of a
    // batch.
    for (w, acked) in &killed {
        let acked: u64 = acked.iter().map(|(first, size, _)| size - first).sum();
        let stored = next[*w as usize];
        assert!(
            stored == acked || stored == acked + 200,
            "writer {w}: {stored} stored, {acked} acknowledged"
        );
    }
    verify_log(&view, None).unwrap();
    // The row lock was released: appends go on.
    let r = log.append_record(&record(9, 0)).unwrap();
    assert_eq!(r.first, view.size());
    verify_log(&log.snapshot().unwrap(), None).unwrap();
}
