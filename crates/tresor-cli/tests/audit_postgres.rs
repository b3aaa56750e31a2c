//! `tresor audit … --log postgres://…` against a real PostgreSQL
//! (`TRESOR_POSTGRES_URL`, a loopback server): the same records appended
//! to a PostgreSQL log and to a log directory give the same lines, the same
//! `verify` output, the same proofs; checkpoints verify; a missing log, a
//! `--log-name` without a database and a server that is not there are
//! clean errors that never show the password.
//!
//! Each test creates its own database and drops it at the end. Without
//! `TRESOR_POSTGRES_URL` each test prints why it skipped, unless
//! `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use serde_json::Value;

mod common;

use common::postgres::Db;
use common::{Sandbox, failure};

const NAME: &str = "audit.bank.example/log";

/// An audit record as one JSON line, distinct per `i`.
fn record(i: u64) -> String {
    format!(
        r#"{{"timestamp":"2026-01-31T12:00:{:02}Z","actor":{{"kind":"user","id":"u-{i}"}},"action":"payment.approve","resource":"payment/{i}","outcome":"allowed","request_id":"req-{i}","source":"10.0.0.7","details":{{"amount":"12{i}.00"}}}}"#,
        i % 60
    )
}

fn records(from: u64, to: u64) -> String {
    (from..to).map(|i| record(i) + "\n").collect()
}

#[test]
fn a_postgres_log_behaves_as_a_log_directory() {
    let Some(db) = Db::new() else { return };
    let dir = Sandbox::new();
    let pg = ["--log", db.url.as_str(), "--log-name", "payments"];
    let file = ["--log", "log"];
    let with = |cmd: &[&str], log: &[&str]| -> Vec<String> {
        cmd.iter().chain(log).map(|s| (*s).to_owned()).collect()
    };
    let run = |args: Vec<String>, stdin: Option<&[u8]>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        db.ok(&dir, &args, stdin)
    };

    // Appends in two runs: identical lines (index and leaf hash).
    for (from, to) in [(0, 5), (5, 1200)] {
        let input = records(from, to);
        let a = run(with(&["audit", "append"], &pg), Some(input.as_bytes()));
        let b = run(with(&["audit", "append"], &file), Some(input.as_bytes()));
        assert_eq!(a, b);
        assert_eq!(a.lines().count() as u64, to - from);
        assert!(a.starts_with(&format!("{from} ")), "{a}");
    }

    // verify, prove and consistency print the same.
    for cmd in [
        &["audit", "verify"][..],
        &["audit", "prove", "--index", "3"],
        &["audit", "prove", "--index", "1100", "--size", "1150"],
        &["audit", "consistency", "--old", "5"],
        &["audit", "consistency", "--old", "700", "--new", "1025"],
    ] {
        assert_eq!(
            run(with(cmd, &pg), None),
            run(with(cmd, &file), None),
            "{cmd:?}"
        );
    }
    let summary: Value = serde_json::from_str(&run(with(&["audit", "verify"], &pg), None)).unwrap();
    assert_eq!(summary["size"], 1200);

    // A checkpoint of the PostgreSQL log verifies against it, and against
    // the directory holding the same records.
    db.ok(
        &dir,
        &["audit", "keygen", "--name", NAME, "--out", "key"],
        None,
    );
    let note = run(with(&["audit", "checkpoint", "--key", "key"], &pg), None);
    dir.write("note", note.as_bytes());
    let check = [
        "audit",
        "verify",
        "--checkpoint",
        "note",
        "--vkey",
        "key.pub",
    ];
    let a: Value = serde_json::from_str(&run(with(&check, &pg), None)).unwrap();
    let b: Value = serde_json::from_str(&run(with(&check, &file), None)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a["checkpoint_size"], 1200);

    // Another log in the same database is separate; the default name is
    // `default`.
    let out = db.ok(
        &dir,
        &["audit", "append", "--log", &db.url],
        Some(records(0, 2).as_bytes()),
    );
    assert!(out.starts_with("0 "), "{out}");
    let summary: Value =
        serde_json::from_str(&db.ok(&dir, &["audit", "verify", "--log", &db.url], None)).unwrap();
    assert_eq!(summary["size"], 2);
}

#[test]
fn postgres_errors_are_one_clean_line() {
    let Some(db) = Db::new() else { return };
    let dir = Sandbox::new();
    // A reader never creates a log.
    let out = db.run(
        &dir,
        &["audit", "verify", "--log", &db.url, "--log-name", "nope"],
        None,
    );
    failure(&out, "no audit log named \"nope\"");
    db.ok(
        &dir,
        &["audit", "append", "--log", &db.url],
        Some(records(0, 3).as_bytes()),
    );
    let out = db.run(
        &dir,
        &[
            "audit",
            "prove",
            "--log",
            &db.url,
            "--log-name",
            "nope",
            "--index",
            "0",
        ],
        None,
    );
    failure(&out, "no audit log named \"nope\"");
    // The bad line is refused; the records before it are appended.
    let input = format!("{}not json\n", records(3, 5));
    let out = db.run(
        &dir,
        &["audit", "append", "--log", &db.url],
        Some(input.as_bytes()),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    failure(&out, "line 3");
    let out = db.run(
        &dir,
        &["audit", "prove", "--log", &db.url, "--index", "5"],
        None,
    );
    failure(&out, "--index 5 is not below the tree size 5");
    // --log-name is for databases only.
    let out = db.run(
        &dir,
        &["audit", "verify", "--log", "log", "--log-name", "x"],
        None,
    );
    failure(&out, "--log-name names a log in a PostgreSQL database");
    // Nobody listening: an outage, without the URL.
    let out = db.run(
        &dir,
        &[
            "audit",
            "verify",
            "--log",
            "postgresql://tresor:hunter2@127.0.0.1:1/db",
        ],
        None,
    );
    let line = failure(&out, "unavailable");
    assert!(!line.contains("hunter2"), "{line}");
    let out = db.run(
        &dir,
        &["audit", "verify", "--log", "postgres://a b:c"],
        None,
    );
    failure(&out, "not a valid PostgreSQL URL");
}
