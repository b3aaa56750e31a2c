//! End-to-end tests of `tresor audit …`: key files, appending (durable
//! lines, leaf hashes, a bad line), signed checkpoints against a growing
//! log, tampering with the segment files and the checkpoint, inclusion and
//! consistency proofs round-tripped through `verify-proof`, and the RFC 9162
//! vectors of `tests/vectors/rfc9162` (see its README).
// Helpers outside `#[test]` functions panic on failure like the tests do.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tresor_audit::{AuditRecord, merkle};

mod common;

use common::{Sandbox, failure};

const LOG: &str = "log";
const NAME: &str = "audit.bank.example/log";

/// An audit record as one JSON line, distinct per `i`.
fn record(i: u64) -> String {
    format!(
        r#"{{"timestamp":"2026-01-31T12:00:{:02}Z","actor":{{"kind":"user","id":"u-{i}"}},"action":"payment.approve","resource":"payment/{i}","outcome":"allowed","request_id":"req-{i}","source":"10.0.0.7","details":{{"amount":"12{i}.00"}}}}"#,
        i % 60
    )
}

/// The records `from..to` as JSON lines.
fn records(from: u64, to: u64) -> String {
    (from..to).map(|i| record(i) + "\n").collect()
}

/// The leaf hash of record `i`, as the library computes it.
fn leaf_hex(i: u64) -> String {
    let bytes = AuditRecord::from_json(&record(i))
        .unwrap()
        .canonical_bytes()
        .unwrap();
    hex::encode(merkle::leaf_hash(&bytes))
}

/// Runs a command that must succeed; returns its standard output.
fn ok(dir: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = dir.run_with(args, stdin);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Checks `append`'s output: `INDEX LEAF_HASH_HEX` for records `from..to`.
fn assert_appended(stdout: &str, from: u64, to: u64) {
    let expected: String = (from..to)
        .map(|i| format!("{i} {}\n", leaf_hex(i)))
        .collect();
    assert_eq!(stdout, expected);
}

/// Appends records `from..to` (through standard input).
fn append(dir: &Sandbox, from: u64, to: u64) {
    let out = ok(
        dir,
        &["audit", "append", "--log", LOG],
        Some(records(from, to).as_bytes()),
    );
    assert_appended(&out, from, to);
}

/// A sandbox with a key pair `key`/`key.pub`.
fn with_key() -> Sandbox {
    let dir = Sandbox::new();
    ok(
        &dir,
        &["audit", "keygen", "--name", NAME, "--out", "key"],
        None,
    );
    dir
}

/// Writes a signed checkpoint of the log's current size to `file`.
fn checkpoint(dir: &Sandbox, file: &str) -> String {
    let note = ok(
        dir,
        &["audit", "checkpoint", "--log", LOG, "--key", "key"],
        None,
    );
    dir.write(file, note.as_bytes());
    note
}

fn verify_with(dir: &Sandbox, checkpoint: &str, vkey: &str) -> Output {
    dir.run_with(
        &[
            "audit",
            "verify",
            "--log",
            LOG,
            "--checkpoint",
            checkpoint,
            "--vkey",
            vkey,
        ],
        None,
    )
}

fn verify_proof(dir: &Sandbox, json: &[u8]) -> Output {
    dir.run_with(&["audit", "verify-proof"], Some(json))
}

/// Checks an unreadable-proof failure: exit code 2, one error line.
fn unreadable(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("tresor: error: unreadable proof: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

// ---- keygen --------------------------------------------------------------------

#[test]
fn keygen_writes_both_key_files_and_never_overwrites() {
    let dir = Sandbox::new();
    let printed = ok(
        &dir,
        &["audit", "keygen", "--name", NAME, "--out", "key"],
        None,
    );
    let signer = String::from_utf8(dir.read("key")).unwrap();
    let verifier = String::from_utf8(dir.read("key.pub")).unwrap();
    assert_eq!(printed, verifier);
    let signer = tresor_audit::NoteSigner::from_key_string(signer.trim_end()).unwrap();
    let parsed = tresor_audit::NoteVerifier::from_key_string(verifier.trim_end()).unwrap();
    assert_eq!(signer.verifier().to_key_string(), parsed.to_key_string());
    assert_eq!(parsed.name(), NAME);
    assert!(
        String::from_utf8(dir.read("key"))
            .unwrap()
            .starts_with(&format!("PRIVATE+KEY+{NAME}+"))
    );
    assert!(verifier.starts_with(&format!("{NAME}+")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(dir.path(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("key"), 0o600);
        assert_eq!(mode("key.pub"), 0o644);
    }

    // Neither file is replaced; no temporary file is left behind.
    let before = dir.snapshot();
    let out = dir.run_with(&["audit", "keygen", "--name", NAME, "--out", "key"], None);
    failure(&out, "exists already");
    assert_eq!(dir.snapshot(), before);
    dir.write("other.pub", b"keep me");
    let out = dir.run_with(&["audit", "keygen", "--name", NAME, "--out", "other"], None);
    failure(&out, "other.pub");
    assert!(!dir.exists("other"));
    assert_eq!(dir.read("other.pub"), b"keep me");

    let out = dir.run_with(
        &["audit", "keygen", "--name", "bad name", "--out", "k2"],
        None,
    );
    failure(&out, "");
    assert!(!dir.exists("k2") && !dir.exists("k2.pub"));
}

// ---- append ----------------------------------------------------------------------

#[test]
fn append_creates_the_log_and_prints_indices_and_leaf_hashes() {
    let dir = Sandbox::new();
    assert!(!dir.exists(LOG));
    // Blank lines (also with CR or spaces) are skipped; CRLF endings work.
    let input = format!("{}\n\n \r\n{}\r\n", record(0), record(1));
    let out = ok(
        &dir,
        &["audit", "append", "--log", LOG],
        Some(input.as_bytes()),
    );
    assert_appended(&out, 0, 2);
    assert!(dir.path(LOG).join("seg-00000000000000000000.log").is_file());

    // From a file with --in, continuing the indices; no final newline.
    let mut input = records(2, 5);
    input.pop();
    dir.write("records.jsonl", input.as_bytes());
    let out = ok(
        &dir,
        &["audit", "append", "--log", LOG, "--in", "records.jsonl"],
        None,
    );
    assert_appended(&out, 2, 5);

    // Empty input appends nothing.
    assert_eq!(ok(&dir, &["audit", "append", "--log", LOG], Some(b"")), "");
    let summary: Value =
        serde_json::from_str(&ok(&dir, &["audit", "verify", "--log", LOG], None)).unwrap();
    assert_eq!(summary["size"], 5);
    assert_eq!(summary["checkpoint_size"], Value::Null);
}

#[test]
fn a_bad_line_is_named_and_the_records_before_it_stay_appended() {
    let dir = Sandbox::new();
    append(&dir, 0, 2);
    for (bad, what) in [
        ("not json", "line 3: "),
        (
            r#"{"timestamp":"2026-01-31T12:00:00Z"}"#,
            "line 3: invalid audit record",
        ),
        ("\u{ff}", "line 3: "),
    ] {
        let input = format!("{}\n\n{bad}\n{}\n", record(2), record(3));
        let out = dir.run_with(&["audit", "append", "--log", LOG], Some(input.as_bytes()));
        failure(&out, what);
        // Record 2 was appended, synced and printed; record 3 was not read.
        assert_appended(&String::from_utf8(out.stdout).unwrap(), 2, 3);
        let summary: Value =
            serde_json::from_str(&ok(&dir, &["audit", "verify", "--log", LOG], None)).unwrap();
        assert_eq!(summary["size"], 3);
        // Take record 2 out again for the next round: start over.
        std::fs::remove_dir_all(dir.path(LOG)).unwrap();
        append(&dir, 0, 2);
    }
    // Invalid UTF-8 as raw bytes.
    let mut input = records(2, 3).into_bytes();
    input.extend_from_slice(b"\xff\xfe\n");
    let out = dir.run_with(&["audit", "append", "--log", LOG], Some(&input));
    failure(&out, "line 2: not UTF-8");
    assert_appended(&String::from_utf8(out.stdout).unwrap(), 2, 3);
}

// ---- checkpoints and verify --------------------------------------------------------

#[test]
fn checkpoints_verify_also_after_the_log_grows() {
    let dir = with_key();
    append(&dir, 0, 3);
    let note = checkpoint(&dir, "cp3");
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!(lines[0], NAME);
    assert_eq!(lines[1], "3");
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with(&format!("\u{2014} {NAME} ")));

    let out = verify_with(&dir, "cp3", "key.pub");
    assert_eq!(out.status.code(), Some(0));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["size"], 3);
    assert_eq!(summary["checkpoint_size"], 3);
    assert_eq!(summary["checkpoint_origin"], NAME);
    assert_eq!(summary["root"], lines[2]);

    // The log grows: the old checkpoint still verifies, so does a new one.
    append(&dir, 3, 10);
    let out = verify_with(&dir, "cp3", "key.pub");
    assert_eq!(out.status.code(), Some(0));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            summary["size"].as_u64(),
            summary["checkpoint_size"].as_u64()
        ),
        (Some(10), Some(3))
    );
    checkpoint(&dir, "cp10");
    assert_eq!(verify_with(&dir, "cp10", "key.pub").status.code(), Some(0));

    // --origin.
    let note = ok(
        &dir,
        &[
            "audit",
            "checkpoint",
            "--log",
            LOG,
            "--key",
            "key",
            "--origin",
            "example.com/other",
        ],
        None,
    );
    assert!(note.starts_with("example.com/other\n10\n"));
    dir.write("cp-origin", note.as_bytes());
    assert_eq!(
        verify_with(&dir, "cp-origin", "key.pub").status.code(),
        Some(0)
    );
}

#[test]
fn wrong_keys_and_tampered_checkpoints_fail() {
    let dir = with_key();
    append(&dir, 0, 4);
    let note = checkpoint(&dir, "cp");

    // Another key of the same name; a key of another name.
    ok(
        &dir,
        &["audit", "keygen", "--name", NAME, "--out", "same-name"],
        None,
    );
    failure(&verify_with(&dir, "cp", "same-name.pub"), "signature");
    ok(
        &dir,
        &[
            "audit",
            "keygen",
            "--name",
            "other.example",
            "--out",
            "other",
        ],
        None,
    );
    failure(&verify_with(&dir, "cp", "other.pub"), "signature");
    // The signer key is no verifier key (and is not echoed).
    let out = verify_with(&dir, "cp", "key");
    let line = failure(&out, "key file");
    let secret = String::from_utf8(dir.read("key")).unwrap();
    // PRIVATE+KEY+name+hash+key: the key's Base64 may itself hold '+'.
    let key_b64 = secret.trim_end().splitn(5, '+').nth(4).unwrap();
    assert!(!line.contains(key_b64));

    // A changed size, root or origin breaks the signature.
    let root = note.lines().nth(2).unwrap();
    let mut flipped = root.as_bytes().to_vec();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for tampered in [
        note.replacen("\n4\n", "\n3\n", 1),
        note.replacen(root, &flipped, 1),
        note.replacen(NAME, "audit.bank.example/lag", 1),
    ] {
        assert_ne!(tampered, note);
        dir.write("bad-cp", tampered.as_bytes());
        let out = verify_with(&dir, "bad-cp", "key.pub");
        assert_eq!(out.status.code(), Some(1), "{tampered}");
        failure(&out, "");
    }
    dir.write("bad-cp", b"garbage\n");
    failure(&verify_with(&dir, "bad-cp", "key.pub"), "malformed");

    // A genuine checkpoint of another log of the same key does not match.
    let other = Sandbox::new();
    std::fs::copy(dir.path("key"), other.path("key")).unwrap();
    std::fs::copy(dir.path("key.pub"), other.path("key.pub")).unwrap();
    ok(
        &other,
        &["audit", "append", "--log", LOG],
        Some(records(1, 5).as_bytes()),
    );
    std::fs::copy(dir.path("cp"), other.path("cp")).unwrap();
    failure(&verify_with(&other, "cp", "key.pub"), "checkpoint mismatch");
    // Nor does one beyond the log.
    ok(
        &other,
        &["audit", "append", "--log", LOG],
        Some(records(5, 6).as_bytes()),
    );
    checkpoint(&other, "cp5");
    std::fs::copy(other.path("cp5"), dir.path("cp5")).unwrap();
    failure(&verify_with(&dir, "cp5", "key.pub"), "checkpoint mismatch");
}

/// The newest segment file of the log.
fn segment(dir: &Sandbox) -> PathBuf {
    dir.path(LOG).join("seg-00000000000000000000.log")
}

/// Flips one byte of record `i`'s resource in the segment file.
fn flip_in_record(path: &Path, i: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    let needle = format!("\"payment/{i}\"");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap();
    bytes[at + 3] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_byte_in_a_segment_is_named() {
    let dir = with_key();
    append(&dir, 0, 6);
    checkpoint(&dir, "cp");
    let pristine = std::fs::read(segment(&dir)).unwrap();

    // A record in the middle: the store refuses it, naming entry 2.
    flip_in_record(&segment(&dir), 2);
    let out = dir.run_with(&["audit", "verify", "--log", LOG], None);
    failure(&out, "entry 2");
    failure(&verify_with(&dir, "cp", "key.pub"), "entry 2");
    // Read-only: nothing was repaired, no lock file was needed.
    assert_ne!(std::fs::read(segment(&dir)).unwrap(), pristine);

    // The final record: not taken for a torn write silently.
    std::fs::write(segment(&dir), &pristine).unwrap();
    flip_in_record(&segment(&dir), 5);
    failure(
        &dir.run_with(&["audit", "verify", "--log", LOG], None),
        "entry 5",
    );
    failure(&verify_with(&dir, "cp", "key.pub"), "");

    // Restored: intact again.
    std::fs::write(segment(&dir), &pristine).unwrap();
    assert_eq!(verify_with(&dir, "cp", "key.pub").status.code(), Some(0));
}

#[test]
fn verify_reads_a_log_it_cannot_write() {
    let dir = Sandbox::new();
    failure(
        &dir.run_with(&["audit", "verify", "--log", LOG], None),
        "no audit log",
    );
    failure(
        &dir.run_with(&["audit", "prove", "--log", LOG, "--index", "0"], None),
        "no audit log",
    );
    assert!(!dir.exists(LOG));
    append(&dir, 0, 3);
    let before = dir.snapshot();
    let lock = dir.path(LOG).join("LOCK");
    // A writer holds the lock: readers still run.
    let file = std::fs::File::open(&lock).unwrap();
    file.lock().unwrap();
    ok(&dir, &["audit", "verify", "--log", LOG], None);
    ok(
        &dir,
        &["audit", "prove", "--log", LOG, "--index", "1"],
        None,
    );
    failure(
        &dir.run_with(
            &["audit", "append", "--log", LOG],
            Some(records(3, 4).as_bytes()),
        ),
        "locked",
    );
    drop(file);
    assert_eq!(dir.snapshot(), before);
}

// ---- proofs ------------------------------------------------------------------------

#[test]
fn inclusion_proofs_round_trip_and_mutations_fail() {
    let dir = Sandbox::new();
    append(&dir, 0, 7);
    for (index, size) in [(0, 7), (6, 7), (3, 4), (0, 1), (2, 5)] {
        let json = ok(
            &dir,
            &[
                "audit",
                "prove",
                "--log",
                LOG,
                "--index",
                &index.to_string(),
                "--size",
                &size.to_string(),
            ],
            None,
        );
        let value: Value = serde_json::from_str(&json).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(value["leafIdx"], index);
        assert_eq!(value["treeSize"], size);
        let leaf = base64_hex(value["leafHash"].as_str().unwrap());
        assert_eq!(leaf, leaf_hex(index));
        let out = verify_proof(&dir, json.as_bytes());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(verified["verified"], "inclusion");
        assert_eq!(verified["root"], value["root"]);
    }
    // Default size: the log's.
    let json = ok(
        &dir,
        &["audit", "prove", "--log", LOG, "--index", "4"],
        None,
    );
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["treeSize"], 7);

    // Mutations: a flipped character in each hash, another index.
    let mut mutants = Vec::new();
    for path in ["/root", "/leafHash", "/proof/0", "/proof/2"] {
        let mut m = value.clone();
        let text = m.pointer(path).unwrap().as_str().unwrap().to_owned();
        let mut chars: Vec<char> = text.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        *m.pointer_mut(path).unwrap() = Value::from(chars.into_iter().collect::<String>());
        mutants.push(m);
    }
    for other in [3, 5, 6, 7] {
        let mut m = value.clone();
        m["leafIdx"] = Value::from(other);
        mutants.push(m);
    }
    let mut m = value.clone();
    m["proof"].as_array_mut().unwrap().pop();
    mutants.push(m);
    for m in mutants {
        let out = verify_proof(&dir, m.to_string().as_bytes());
        failure(&out, "invalid proof");
    }

    // Out of range.
    failure(
        &dir.run_with(&["audit", "prove", "--log", LOG, "--index", "7"], None),
        "--index 7",
    );
    failure(
        &dir.run_with(
            &[
                "audit", "prove", "--log", LOG, "--index", "0", "--size", "8",
            ],
            None,
        ),
        "--size 8",
    );
}

/// A Base64 hash as hex.
fn base64_hex(b64: &str) -> String {
    use base64ct::{Base64, Encoding};
    hex::encode(Base64::decode_vec(b64).unwrap())
}

#[test]
fn consistency_proofs_round_trip() {
    let dir = Sandbox::new();
    append(&dir, 0, 9);
    for (old, new) in [(1, 9), (3, 9), (4, 8), (8, 9), (9, 9), (5, 7)] {
        let json = ok(
            &dir,
            &[
                "audit",
                "consistency",
                "--log",
                LOG,
                "--old",
                &old.to_string(),
                "--new",
                &new.to_string(),
            ],
            None,
        );
        let value: Value = serde_json::from_str(&json).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(
            (value["size1"].as_u64(), value["size2"].as_u64()),
            (Some(old), Some(new))
        );
        let out = verify_proof(&dir, json.as_bytes());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Swapped roots fail (unless equal).
        if old != new {
            let mut m = value.clone();
            m["root1"] = value["root2"].clone();
            m["root2"] = value["root1"].clone();
            failure(
                &verify_proof(&dir, m.to_string().as_bytes()),
                "invalid proof",
            );
        }
    }
    // The checkpoint root and a consistency proof agree.
    let json = ok(
        &dir,
        &["audit", "consistency", "--log", LOG, "--old", "2"],
        None,
    );
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["size2"], 9);
    failure(
        &dir.run_with(&["audit", "consistency", "--log", LOG, "--old", "0"], None),
        "--old must be at least 1",
    );
    failure(
        &dir.run_with(
            &[
                "audit",
                "consistency",
                "--log",
                LOG,
                "--old",
                "5",
                "--new",
                "4",
            ],
            None,
        ),
        "--old 5",
    );
}

#[test]
fn unreadable_proofs_exit_2() {
    let dir = Sandbox::new();
    let h = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    for input in [
        "garbage".to_owned(),
        String::new(),
        "[]".to_owned(),
        "{}".to_owned(),
        r#"{"desc":"neither shape"}"#.to_owned(),
        format!(r#"{{"leafIdx":0,"treeSize":1,"root":"{h}","proof":[]}}"#),
        format!(r#"{{"leafIdx":-1,"treeSize":1,"root":"{h}","leafHash":"{h}","proof":[]}}"#),
        format!(r#"{{"leafIdx":0,"treeSize":1,"root":"not base64!","leafHash":"{h}"}}"#),
        format!(r#"{{"leafIdx":0,"treeSize":1,"root":"AAAA","leafHash":"{h}"}}"#),
        format!(r#"{{"size1":1,"size2":2,"root1":"{h}","root2":"{h}","proof":["{h}", 7]}}"#),
        format!(r#"{{"size1":1,"size1":2,"root1":"{h}","root2":"{h}","proof":[]}}"#),
    ] {
        unreadable(&verify_proof(&dir, input.as_bytes()));
    }
    unreadable(&dir.run_with(&["audit", "verify-proof", "--in", "missing.json"], None));
    unreadable(&verify_proof(&dir, b"\xff\xfe"));
}

// ---- RFC 9162 vectors ------------------------------------------------------------------

/// Every `.json` file under `dir`, recursively, sorted.
fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Feeds every inclusion and consistency vector under `root` to
/// `verify-proof`; returns how many were accepted and rejected.
fn check_vectors(root: &Path) -> (usize, usize) {
    let dir = Sandbox::new();
    let mut files = Vec::new();
    for kind in ["inclusion", "consistency"] {
        json_files(&root.join(kind), &mut files);
    }
    assert!(!files.is_empty(), "no vectors under {root:?}");
    let (mut accepted, mut rejected) = (0, 0);
    for file in files {
        let text = std::fs::read(&file).unwrap();
        let want_err = serde_json::from_slice::<Value>(&text).unwrap()["wantErr"]
            .as_bool()
            .unwrap();
        let out = dir.run_with(
            &["audit", "verify-proof", "--in", file.to_str().unwrap()],
            None,
        );
        let code = out.status.code();
        if want_err {
            assert!(matches!(code, Some(1 | 2)), "{file:?} accepted: {code:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.starts_with("tresor: error: "), "{file:?}: {stderr}");
            rejected += 1;
        } else {
            assert_eq!(
                code,
                Some(0),
                "{file:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            accepted += 1;
        }
    }
    (accepted, rejected)
}

#[test]
fn rfc9162_vectors_copied_here() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc9162");
    let (accepted, rejected) = check_vectors(&root);
    assert_eq!(accepted, 12);
    assert!(rejected >= 20, "{rejected}");
}

/// The full set, when the workspace's `tresor-audit` is beside this crate.
#[test]
fn rfc9162_vectors_of_tresor_audit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tresor-audit/tests/vectors/rfc9162");
    if !root.is_dir() {
        eprintln!("skipped: no {root:?}");
        return;
    }
    let (accepted, rejected) = check_vectors(&root);
    assert_eq!(accepted, 12);
    assert!(rejected > 150, "{rejected}");
}
