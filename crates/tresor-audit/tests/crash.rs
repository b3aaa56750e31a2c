//! Crash recovery with a real writer process killed by SIGKILL.
//!
//! The parent test re-executes this test binary, filtered to the
//! `crash_child` test, with `TRESOR_CRASH_DIR` set. The child appends the
//! deterministic entries to the log under a sync policy chosen per round
//! and prints `durable N` (flushed) each time `durable_len` moves: each
//! line acknowledges entries `0..N`. The parent kills the child
//! (`Child::kill`: SIGKILL on Unix) at a random moment, reopens the log and
//! checks that every acknowledged entry is there and intact, that every
//! entry present is exactly what was appended, and every stored node
//! matches recomputation; then it appends a few entries itself, and the
//! next round goes on with the same directory.
//!
//! SIGKILL tests process crashes: the page cache survives, so a power loss
//! (which also relies on `fsync` doing its job) is not simulated here.
//! Reproduce a run with `TRESOR_CRASH_SEED=<seed printed>`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod file_support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use file_support::{Writer, check_store, entry_bytes};
use tresor_audit::{FileStoreOptions, LogStore, SyncPolicy};

const DIR_VAR: &str = "TRESOR_CRASH_DIR";
const POLICY_VAR: &str = "TRESOR_CRASH_POLICY";
const SEGMENT_SIZE: u64 = 8 * 1024;

fn options(policy: &str) -> FileStoreOptions {
    let sync = match policy {
        "every" => SyncPolicy::Every,
        "group" => SyncPolicy::Group {
            entries: 8,
            interval: Duration::from_millis(2),
        },
        _ => SyncPolicy::Manual,
    };
    FileStoreOptions::default()
        .with_segment_size(SEGMENT_SIZE)
        .with_sync(sync)
}

/// The child: appends until killed. Does nothing in a normal test run.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let policy = std::env::var(POLICY_VAR).unwrap_or_default();
    let mut w = Writer::open(Path::new(&dir), options(&policy)).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", w.store.len()).unwrap();
    out.flush().unwrap();
    let mut acked = w.store.durable_len();
    for n in 0..1_000_000u64 {
        let i = w.store.len();
        w.append(&entry_bytes(i)).unwrap();
        if policy == "manual" && n % 13 == 12 {
            w.store.sync().unwrap();
        }
        if w.store.durable_len() != acked {
            acked = w.store.durable_len();
            writeln!(out, "durable {acked}").unwrap();
            out.flush().unwrap();
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let seed = std::env::var("TRESOR_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("TRESOR_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let rounds = 40;
    let (mut killed, mut total_acked) = (0, 0u64);
    for round in 0..rounds {
        let policy = ["every", "group", "manual"][round % 3];
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .env(POLICY_VAR, policy)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acked = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    // The harness may print `test crash_child ... ` first.
                    if let Some((_, n)) = line.split_once("ready ") {
                        let _ = ready_tx.send(n.parse::<u64>().unwrap());
                    } else if let Some((_, n)) = line.split_once("durable ") {
                        acked.fetch_max(n.parse().unwrap(), Ordering::SeqCst);
                    }
                }
            })
        };
        let start_len = ready_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % 60_000));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let acked = acked.load(Ordering::SeqCst);

        let mut w = Writer::open(dir.path(), options("every"))
            .unwrap_or_else(|e| panic!("round {round} ({policy}, seed {seed}): reopen: {e}"));
        let len = w.store.len();
        assert!(
            len >= acked,
            "round {round} ({policy}, seed {seed}): {len} entries but {acked} acknowledged"
        );
        assert!(len >= start_len);
        check_store(&w.store, len);
        total_acked += acked.saturating_sub(start_len);
        // The log goes on: the parent appends a few entries itself.
        w.fill_to(len + 1 + rng.next() % 3);
        let len = w.store.len();
        drop(w);
        let reader = tresor_audit::FileStore::open_read_only(dir.path()).unwrap();
        assert_eq!(reader.len(), len);
    }
    println!(
        "{rounds} rounds, {killed} children killed mid-run, {total_acked} entries acknowledged \
         by children, in {:?}",
        started.elapsed()
    );
    assert!(killed >= rounds / 2, "too few children were killed mid-run");
}
