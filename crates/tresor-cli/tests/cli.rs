//! End-to-end tests of the `tresor` binary: round trips of every size and
//! suite, pipes, keyrings, rewrap, inspect, and every failure path, each
//! checked for exit code 1, a one-line `tresor: error:` message, and no
//! output file (temporary or final) left behind.
// Helpers outside `#[test]` functions panic on failure like the tests do.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Debug;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tresor_envelope::{DEFAULT_FRAME_SIZE, Header, TAG_LEN};

mod common;

use common::{Sandbox, failure};

const SUITES: [&str; 2] = ["aes-256-gcm", "aes-256-gcm-siv"];

// ---- helpers ---------------------------------------------------------------

/// The shared scratch directory, with this file's helpers on top.
struct Dir(Sandbox);

impl std::ops::Deref for Dir {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.0
    }
}

impl Dir {
    fn new() -> Self {
        Dir(Sandbox::new())
    }

    /// Runs `tresor args` with empty standard input.
    fn run<S: AsRef<OsStr> + Debug>(&self, args: &[S]) -> Output {
        self.run_with(args, None)
    }

    /// Runs `tresor args` with `stdin` on standard input.
    fn run_with_stdin<S: AsRef<OsStr> + Debug>(&self, args: &[S], stdin: &[u8]) -> Output {
        self.run_with(args, Some(stdin))
    }

    /// Runs a command that must succeed quietly and returns its stdout.
    fn ok<S: AsRef<OsStr> + Debug>(&self, args: &[S]) -> Vec<u8> {
        ok(self.run(args))
    }

    /// Generates a key file `name` with key id `id`.
    fn kek(&self, name: &str, id: &str) {
        let out = self.ok(&sh(&format!("kek generate --out {name} --id {id}")));
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["kek_id"], id);
    }

    fn inspect(&self, name: &str) -> Value {
        serde_json::from_slice(&self.ok(&sh(&format!("inspect --in {name}")))).unwrap()
    }

    /// Runs a command that must fail cleanly: exit code 1, one line on
    /// stderr starting `tresor: error:` and containing `expected`, nothing
    /// on stdout, and the directory exactly as before (no `out.bin`, no
    /// temporary file, every other file unchanged). Returns the message.
    fn fails<S: AsRef<OsStr> + Debug>(&self, args: &[S], expected: &str) -> String {
        self.fails_with_stdin(args, None, expected)
    }

    fn fails_with_stdin<S: AsRef<OsStr> + Debug>(
        &self,
        args: &[S],
        stdin: Option<&[u8]>,
        expected: &str,
    ) -> String {
        let before = self.snapshot();
        let output = match stdin {
            Some(stdin) => self.run_with_stdin(args, stdin),
            None => self.run(args),
        };
        let message = failure(&output, expected);
        assert!(
            output.stdout.is_empty(),
            "{args:?} wrote to stdout: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(!self.exists("out.bin"), "{args:?} left out.bin behind");
        assert_eq!(self.snapshot(), before, "{args:?} changed the directory");
        message
    }
}

/// A command line split at spaces (for arguments without spaces).
fn sh(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// Asserts success with a quiet stderr (no progress bar off a terminal) and
/// returns stdout.
fn ok(output: Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "failed ({:?}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "unexpected stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Asserts a clean failure (exit code 1, one `tresor: error:` line holding
/// `expected`) and returns the message.
/// Deterministic pseudo-random bytes (xorshift64).
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Length of a sealed message of `len` plaintext bytes.
fn sealed_len(header_len: usize, len: usize, frame_size: usize) -> usize {
    let frames = len.div_ceil(frame_size).max(1);
    header_len + len + frames * TAG_LEN
}

/// A directory with key `a.key` (id `kek-a`), a multi-frame plaintext
/// `plain.bin` and its envelope `sealed.bin` (16-byte frames, context
/// `tenant=acme`).
fn sealed_fixture() -> (Dir, Vec<u8>) {
    let dir = Dir::new();
    dir.kek("a.key", "kek-a");
    let plain = data(16 * 20 + 3, 7);
    dir.write("plain.bin", &plain);
    dir.ok(&sh(
        "seal --kek a.key --context tenant=acme --frame-size 16 --in plain.bin --out sealed.bin",
    ));
    (dir, plain)
}

const OPEN_A: &str = "open --kek a.key --context tenant=acme --in sealed.bin --out out.bin";

// ---- round trips -----------------------------------------------------------

#[test]
fn round_trips_every_size_and_suite() {
    let dir = Dir::new();
    dir.kek("k.key", "kek-k");
    let default = DEFAULT_FRAME_SIZE as usize;
    let cases: [(usize, &[usize]); 2] = [
        // 0 B, 1 B, under one frame, exactly one frame, just over, many frames.
        (16, &[0, 1, 15, 16, 17, 32, 16 * 40 + 5]),
        (default, &[0, 1, default, default + 1, 3 * default + 100]),
    ];
    for suite in SUITES {
        for (frame_size, sizes) in cases {
            for &len in sizes {
                let plain = data(len, len as u64);
                dir.write("plain.bin", &plain);
                // The default frame size is also left implicit once.
                let frame_arg = if frame_size == default && suite == SUITES[0] {
                    String::new()
                } else {
                    format!("--frame-size {frame_size}")
                };
                dir.ok(&sh(&format!(
                    "seal --kek k.key --suite {suite} {frame_arg} --context case=sizes \
                     --in plain.bin --out sealed.bin"
                )));

                let sealed = dir.read("sealed.bin");
                let (header, header_len) = Header::parse(&sealed).unwrap();
                assert_eq!(header.suite().name(), suite);
                assert_eq!(header.frame_size() as usize, frame_size);
                assert_eq!(
                    sealed.len(),
                    sealed_len(header_len, len, frame_size),
                    "{suite} frame {frame_size} len {len}"
                );

                dir.ok(&sh(
                    "open --kek k.key --context case=sizes --in sealed.bin --out opened.bin",
                ));
                assert_eq!(
                    dir.read("opened.bin"),
                    plain,
                    "{suite} frame {frame_size} len {len}"
                );
            }
        }
    }
    let listing = dir.listing();
    assert_eq!(
        listing,
        BTreeSet::from(["k.key", "opened.bin", "plain.bin", "sealed.bin"].map(String::from)),
        "temporary files left behind"
    );
}

#[test]
fn pipes_stdin_to_stdout() {
    let dir = Dir::new();
    dir.kek("k.key", "kek-k");
    for suite in SUITES {
        let plain = data(100_000, 3);
        let sealed = ok(dir.run_with_stdin(
            &[
                "seal",
                "--kek",
                "k.key",
                "--suite",
                suite,
                "--context",
                "a=b",
            ],
            &plain,
        ));
        let (header, _) = Header::parse(&sealed).unwrap();
        assert_eq!(header.suite().name(), suite);
        let opened = ok(dir.run_with_stdin(&sh("open --kek k.key --context a=b"), &sealed));
        assert_eq!(opened, plain);

        // `-` names the standard streams too.
        let sealed = ok(dir.run_with_stdin(
            &[
                "seal", "--kek", "k.key", "--suite", suite, "--in", "-", "--out", "-",
            ],
            &plain,
        ));
        let opened = ok(dir.run_with_stdin(&sh("open --kek k.key --in - --out -"), &sealed));
        assert_eq!(opened, plain);
    }
    // An empty stream.
    let sealed = ok(dir.run_with_stdin(&sh("seal --kek k.key"), b""));
    let opened = ok(dir.run_with_stdin(&sh("open --kek k.key"), &sealed));
    assert!(opened.is_empty());
    assert_eq!(dir.listing(), BTreeSet::from(["k.key".to_owned()]));
}

#[test]
fn file_output_replaces_an_existing_file() {
    let (dir, plain) = sealed_fixture();
    dir.write("out.bin", b"old content");
    dir.ok(&sh(OPEN_A));
    assert_eq!(dir.read("out.bin"), plain);
}

#[cfg(unix)]
#[test]
fn file_outputs_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _) = sealed_fixture();
    dir.ok(&sh(OPEN_A));
    for name in ["a.key", "sealed.bin", "out.bin"] {
        let mode = dir.path(name).metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

// ---- keyrings and rewrap -----------------------------------------------------

#[test]
fn opens_with_any_keyring_holding_the_key() {
    let dir = Dir::new();
    dir.kek("a.key", "kek-a");
    dir.kek("b.key", "kek-b");
    let plain = data(5000, 11);
    dir.write("plain.bin", &plain);
    // A is primary: it seals, B is only in the keyring.
    dir.ok(&sh(
        "seal --kek a.key --kek b.key --in plain.bin --out sealed.bin",
    ));
    assert_eq!(dir.inspect("sealed.bin")["kek_id"], "kek-a");

    // After a rotation to B, the keyring B, A still opens data under A.
    dir.ok(&sh(
        "open --kek b.key --kek a.key --in sealed.bin --out opened.bin",
    ));
    assert_eq!(dir.read("opened.bin"), plain);

    dir.fails(
        &sh("open --kek b.key --in sealed.bin --out out.bin"),
        "unknown key-encryption key \"kek-a\"",
    );
}

#[test]
fn rewrap_changes_only_the_key_section() {
    let (dir, plain) = sealed_fixture();
    dir.kek("b.key", "kek-b");
    dir.ok(&sh(
        "rewrap --from a.key --to b.key --in sealed.bin --out rewrapped.bin",
    ));
    let old = dir.read("sealed.bin");
    let new = dir.read("rewrapped.bin");
    let (old_header, old_len) = Header::parse(&old).unwrap();
    let (new_header, new_len) = Header::parse(&new).unwrap();
    assert_eq!(new_header.kek_id(), "kek-b");
    assert_eq!(new_header.message_id(), old_header.message_id());
    assert_eq!(new_header.context(), old_header.context());
    assert_eq!(new_header.commitment(), old_header.commitment());
    assert_eq!(
        new[new_len..],
        old[old_len..],
        "frames must be copied unchanged"
    );

    // The new key alone opens it; the old key alone no longer does.
    dir.ok(&sh(
        "open --kek b.key --context tenant=acme --in rewrapped.bin --out opened.bin",
    ));
    assert_eq!(dir.read("opened.bin"), plain);
    dir.fails(
        &sh("open --kek a.key --context tenant=acme --in rewrapped.bin --out out.bin"),
        "unknown key-encryption key \"kek-b\"",
    );

    // Through pipes as well.
    let piped = ok(dir.run_with_stdin(&sh("rewrap --from a.key --to b.key"), &old));
    assert_eq!(piped[Header::parse(&piped).unwrap().1..], old[old_len..]);
}

#[test]
fn rewrap_failures() {
    let (dir, _) = sealed_fixture();
    dir.kek("b.key", "kek-b");
    dir.kek("a2.key", "kek-a");
    let rewrap = |from: &str, to: &str| {
        sh(&format!(
            "rewrap --from {from} --to {to} --in sealed.bin --out out.bin"
        ))
    };
    dir.fails(&rewrap("b.key", "a.key"), "not under --from \"kek-b\"");
    // Same id, other key material.
    dir.fails(&rewrap("a2.key", "b.key"), "decryption failed");
    dir.fails(&rewrap("a.key", "a2.key"), "same key id \"kek-a\"");
    dir.fails(&rewrap("a.key", "missing.key"), "key file \"missing.key\"");
}

// ---- inspect -----------------------------------------------------------------

#[test]
fn inspect_prints_the_header_as_json() {
    let dir = Dir::new();
    dir.kek("a.key", "kek-a");
    dir.write("plain.bin", &data(1000, 1));
    dir.ok(&sh("seal --kek a.key --suite aes-256-gcm-siv --frame-size 4096 --context tenant=acme --context field=iban --context note=a=b --in plain.bin --out sealed.bin"));
    let json = dir.inspect("sealed.bin");
    let object = json.as_object().unwrap();
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "version",
            "suite",
            "frame_size",
            "kek_id",
            "context",
            "message_id"
        ])
    );
    assert_eq!(json["version"], tresor_envelope::VERSION);
    assert_eq!(json["suite"], "aes-256-gcm-siv");
    assert_eq!(json["frame_size"], 4096);
    assert_eq!(json["kek_id"], "kek-a");
    assert_eq!(
        json["context"],
        serde_json::json!({"tenant": "acme", "field": "iban", "note": "a=b"})
    );
    let sealed = dir.read("sealed.bin");
    let (header, _) = Header::parse(&sealed).unwrap();
    let message_id = json["message_id"].as_str().unwrap();
    assert_eq!(message_id.len(), 64);
    assert_eq!(message_id, hex::encode(header.message_id()));

    // From standard input, the same.
    let piped: Value =
        serde_json::from_slice(&ok(dir.run_with_stdin(&sh("inspect"), &sealed))).unwrap();
    assert_eq!(piped, json);
}

#[test]
fn inspect_reads_only_the_header() {
    let dir = Dir::new();
    dir.kek("a.key", "kek-a");
    dir.write("plain.bin", &data(200_000, 5));
    dir.ok(&sh("seal --kek a.key --in plain.bin --out sealed.bin"));
    let sealed = dir.read("sealed.bin");
    let mut child = dir
        .command(&sh("inspect"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Send the header and a little more, and keep the pipe open: inspect
    // must answer without waiting for the end of the stream.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&sealed[..1024]).unwrap();
    stdin.flush().unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    drop(stdin);
    assert!(status.success());
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let json: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(json["kek_id"], "kek-a");
}

#[test]
fn inspect_failures() {
    let (dir, _) = sealed_fixture();
    let sealed = dir.read("sealed.bin");
    dir.write("garbage.bin", &data(500, 9));
    dir.write("empty.bin", b"");
    dir.write("short.bin", &sealed[..50]);
    for (name, expected) in [
        ("garbage.bin", "not a tresor envelope"),
        ("empty.bin", "truncated header"),
        ("short.bin", "truncated header"),
        ("missing.bin", "cannot open input \"missing.bin\""),
    ] {
        dir.fails(&sh(&format!("inspect --in {name}")), expected);
    }
}

// ---- kek generate ------------------------------------------------------------

#[test]
fn kek_generate_writes_a_key_file_and_prints_its_id() {
    let dir = Dir::new();
    let out = dir.ok(&sh("kek generate --out named.key --id kek-2026"));
    assert!(out.ends_with(b"\n") && out.iter().filter(|&&b| b == b'\n').count() == 1);
    let json: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["check", "kek_id"]
    );
    assert_eq!(json["kek_id"], "kek-2026");
    let check = json["check"].as_str().unwrap();
    assert_eq!(check.len(), 6);

    let file = String::from_utf8(dir.read("named.key")).unwrap();
    assert!(file.contains("id: kek-2026\n"));
    assert!(file.contains(&format!("check: {check}\n")));
    let key = file
        .lines()
        .find_map(|line| line.strip_prefix("key: "))
        .unwrap();
    assert!(!String::from_utf8_lossy(&out).contains(key), "key printed");

    // Without --id: a random id.
    let json: Value =
        serde_json::from_slice(&dir.ok(&sh("kek generate --out random.key"))).unwrap();
    let id = json["kek_id"].as_str().unwrap();
    let digits = id.strip_prefix("kek-").unwrap();
    assert_eq!(digits.len(), 16);
    assert!(digits.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn kek_generate_failures() {
    let dir = Dir::new();
    dir.kek("a.key", "kek-a");
    let before = dir.read("a.key");
    let message = dir.fails(
        &sh("kek generate --out a.key"),
        "refusing to overwrite existing key file",
    );
    assert!(message.contains("a.key"));
    assert_eq!(dir.read("a.key"), before);
    dir.fails(
        &["kek", "generate", "--out", "out.bin", "--id", "has space"],
        "invalid key id",
    );
    dir.fails(
        &sh("kek generate --out no/such/dir.key"),
        "cannot create key file",
    );
    dir.fails(&sh("kek generate --out -"), "--out FILE");
}

// ---- failures of seal and open -----------------------------------------------

#[test]
fn open_refuses_wrong_keys() {
    let (dir, _) = sealed_fixture();
    // Same id, other key material: the unwrap fails.
    dir.kek("evil.key", "kek-a");
    dir.kek("other.key", "kek-other");
    let with_key = |key: &str| {
        sh(&format!(
            "open --kek {key} --context tenant=acme --in sealed.bin --out out.bin"
        ))
    };
    dir.fails(&with_key("evil.key"), "decryption failed");
    dir.fails(
        &with_key("other.key"),
        "unknown key-encryption key \"kek-a\"",
    );
    dir.fails(&with_key("missing.key"), "key file \"missing.key\"");

    dir.write("bad.key", b"tresor-kek: 1\nid: x\n");
    dir.fails(&with_key("bad.key"), "invalid key file");
    // A damaged key: one character of the key changed.
    let file = String::from_utf8(dir.read("a.key")).unwrap();
    let damaged: String = file
        .lines()
        .map(|line| match line.strip_prefix("key: ") {
            Some(key) => {
                let flipped = if key.starts_with('A') { 'B' } else { 'A' };
                format!("key: {flipped}{}\n", &key[1..])
            }
            None => format!("{line}\n"),
        })
        .collect();
    dir.write("damaged.key", damaged.as_bytes());
    dir.fails(&with_key("damaged.key"), "check value does not match");
}

#[test]
fn open_refuses_wrong_context() {
    let (dir, _) = sealed_fixture();
    let open = |context: &str| {
        sh(&format!(
            "open --kek a.key {context} --in sealed.bin --out out.bin"
        ))
    };
    dir.fails(&open("--context tenant=globex"), "decryption failed");
    dir.fails(&open(""), "decryption failed");
    dir.fails(
        &open("--context tenant=acme --context extra=1"),
        "decryption failed",
    );
    dir.fails(&open("--context Tenant=acme"), "decryption failed");
}

#[test]
fn open_refuses_tampered_data() {
    let (dir, _) = sealed_fixture();
    let sealed = dir.read("sealed.bin");
    let (_, header_len) = Header::parse(&sealed).unwrap();
    let positions = [
        10,                         // message id
        header_len - 1,             // wrapped key
        header_len,                 // first frame
        header_len + 16 + TAG_LEN,  // second frame
        sealed.len() / 2,           // a middle frame
        sealed.len() - TAG_LEN - 1, // last frame's data
        sealed.len() - 1,           // last frame's tag
    ];
    for position in positions {
        let mut tampered = sealed.clone();
        tampered[position] ^= 0x01;
        dir.write("sealed.bin", &tampered);
        dir.fails(&sh(OPEN_A), "decryption failed");
    }
    // Tampering with the context in the header: still no output.
    let mut tampered = sealed.clone();
    let at = sealed.windows(4).position(|w| w == b"acme").unwrap();
    tampered[at] = b'A';
    dir.write("sealed.bin", &tampered);
    dir.fails(&sh(OPEN_A), "decryption failed");
}

#[test]
fn open_refuses_truncated_and_extended_data() {
    let (dir, _) = sealed_fixture();
    let sealed = dir.read("sealed.bin");
    let (_, header_len) = Header::parse(&sealed).unwrap();
    let frame = 16 + TAG_LEN;
    let last_frame = 3 + TAG_LEN;
    let cases: [(&[u8], &str); 6] = [
        (&sealed[..sealed.len() - 1], "decryption failed"),
        // Cut at a frame boundary: the frames left all authenticate, only the
        // missing last-frame flag tells.
        (&sealed[..sealed.len() - last_frame], "decryption failed"),
        (
            &sealed[..sealed.len() - last_frame - frame],
            "decryption failed",
        ),
        (&sealed[..header_len], "decryption failed"),
        (&sealed[..header_len - 5], "truncated header"),
        (&[], "truncated header"),
    ];
    for (input, expected) in cases {
        dir.write("sealed.bin", input);
        dir.fails(&sh(OPEN_A), expected);
    }
    let mut extended = sealed.clone();
    extended.push(0);
    dir.write("sealed.bin", &extended);
    dir.fails(&sh(OPEN_A), "decryption failed");
}

#[test]
fn open_refuses_garbage_and_missing_input() {
    let (dir, _) = sealed_fixture();
    dir.write("garbage.bin", &data(10_000, 2));
    let open = |input: &str| {
        sh(&format!(
            "open --kek a.key --context tenant=acme --in {input} --out out.bin"
        ))
    };
    dir.fails(&open("garbage.bin"), "not a tresor envelope");
    dir.fails(&open("missing.bin"), "cannot open input \"missing.bin\"");
    dir.fails(&open("."), "is a directory");
    // A plaintext sealed twice is not opened once.
    dir.fails(&open("plain.bin"), "not a tresor envelope");
    let garbage = dir.read("garbage.bin");
    dir.fails_with_stdin(
        &sh("open --kek a.key --out out.bin"),
        Some(&garbage),
        "not a tresor envelope",
    );
}

#[test]
fn open_to_stdout_fails_on_a_late_bad_frame() {
    let (dir, plain) = sealed_fixture();
    let mut sealed = dir.read("sealed.bin");
    let last = sealed.len() - 1;
    sealed[last] ^= 0x80;
    let output = dir.run_with_stdin(&sh("open --kek a.key --context tenant=acme"), &sealed);
    failure(&output, "decryption failed");
    // What was streamed came from authentic frames only, and is incomplete.
    assert!(output.stdout.len() < plain.len());
    assert!(plain.starts_with(&output.stdout));
}

#[test]
fn seal_refuses_bad_arguments() {
    let (dir, _) = sealed_fixture();
    let seal = |extra: &str| {
        sh(&format!(
            "seal --kek a.key {extra} --in plain.bin --out out.bin"
        ))
    };
    dir.fails(&seal("--context novalue"), "expected KEY=VALUE");
    dir.fails(&seal("--context =value"), "the key is empty");
    dir.fails(
        &seal("--context a=1 --context a=2"),
        "duplicate --context key \"a\"",
    );
    dir.fails(
        &seal("--context a=1 --context a=1"),
        "duplicate --context key \"a\"",
    );
    dir.fails(
        &seal("--suite aes-128-cbc"),
        "unknown suite \"aes-128-cbc\"",
    );
    dir.fails(&seal("--frame-size 15"), "invalid --frame-size \"15\"");
    dir.fails(&seal("--frame-size 4194305"), "invalid --frame-size");
    dir.fails(&seal("--frame-size 64k"), "invalid --frame-size");
    dir.fails(&seal("--kek a.key"), "already given by another key file");
    dir.fails(&seal("--kek missing.key"), "key file \"missing.key\"");
    let big = format!("big={}", "x".repeat(9000));
    dir.fails(
        &seal(&format!("--context {big}")),
        "invalid encryption context: too large",
    );
    dir.fails(
        &sh("seal --kek a.key --in missing.bin --out out.bin"),
        "cannot open input \"missing.bin\"",
    );
    // The same mistakes on open.
    dir.fails(
        &sh("open --kek a.key --context tenant --in sealed.bin --out out.bin"),
        "expected KEY=VALUE",
    );
    dir.fails(
        &sh("open --kek a.key --context tenant=acme --context tenant=acme --in sealed.bin --out out.bin"),
        "duplicate --context key \"tenant\"",
    );
}

#[test]
fn output_may_not_be_the_input() {
    let (dir, _) = sealed_fixture();
    for (input, output) in [("plain.bin", "plain.bin"), ("plain.bin", "./plain.bin")] {
        dir.fails(
            &sh(&format!("seal --kek a.key --in {input} --out {output}")),
            "is the input file",
        );
    }
    dir.fails(
        &sh("open --kek a.key --context tenant=acme --in sealed.bin --out sealed.bin"),
        "is the input file",
    );
    dir.kek("b.key", "kek-b");
    dir.fails(
        &sh("rewrap --from a.key --to b.key --in sealed.bin --out sealed.bin"),
        "is the input file",
    );
    // Standard input redirected from the output file.
    let file = std::fs::File::open(dir.path("plain.bin")).unwrap();
    let output = dir
        .command(&sh("seal --kek a.key --out plain.bin"))
        .stdin(file)
        .output()
        .unwrap();
    if cfg!(unix) {
        failure(&output, "is the input file");
    }
}

#[test]
fn failures_leave_an_existing_output_untouched() {
    let (dir, _) = sealed_fixture();
    dir.write("keep.bin", b"precious");
    let mut tampered = dir.read("sealed.bin");
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    dir.write("tampered.bin", &tampered);
    // Fails only at the last frame, after writing all the others.
    dir.fails(
        &sh("open --kek a.key --context tenant=acme --in tampered.bin --out keep.bin"),
        "decryption failed",
    );
    assert_eq!(dir.read("keep.bin"), b"precious");
}

#[cfg(unix)]
#[test]
fn output_through_a_symbolic_link_keeps_the_link() {
    let (dir, plain) = sealed_fixture();
    dir.write("real.bin", b"old");
    std::os::unix::fs::symlink("real.bin", dir.path("link.bin")).unwrap();
    dir.ok(&sh(
        "open --kek a.key --context tenant=acme --in sealed.bin --out link.bin",
    ));
    let link = dir.path("link.bin").symlink_metadata().unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(dir.read("real.bin"), plain);
}

#[cfg(unix)]
#[test]
fn special_files_are_written_directly() {
    use std::os::unix::fs::FileTypeExt;
    let (dir, plain) = sealed_fixture();
    let made = Command::new("mkfifo")
        .arg(dir.path("fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = dir.path("fifo");
    let reader = std::thread::spawn(move || std::fs::read(fifo).unwrap());
    dir.ok(&sh(
        "open --kek a.key --context tenant=acme --in sealed.bin --out fifo",
    ));
    assert_eq!(reader.join().unwrap(), plain);
    let fifo = dir.path("fifo").symlink_metadata().unwrap();
    assert!(fifo.file_type().is_fifo(), "the FIFO was replaced");
    assert!(!dir.listing().iter().any(|name| name.ends_with(".tmp")));
}

#[test]
fn output_may_not_be_a_directory() {
    let (dir, _) = sealed_fixture();
    dir.fails(
        &sh("seal --kek a.key --in plain.bin --out ."),
        "is a directory",
    );
}

#[test]
fn output_directory_must_exist() {
    let (dir, _) = sealed_fixture();
    dir.fails(
        &sh("seal --kek a.key --in plain.bin --out no/such/out.bin"),
        "cannot create output in \"no/such\"",
    );
}

#[test]
fn usage_errors_and_help() {
    let dir = Dir::new();
    let output = dir.run(&sh("seal"));
    assert_eq!(output.status.code(), Some(2));
    let output = dir.run(&sh("frobnicate"));
    assert_eq!(output.status.code(), Some(2));
    let help = String::from_utf8(dir.ok(&sh("--help"))).unwrap();
    for command in ["kek", "seal", "open", "rewrap", "inspect"] {
        assert!(help.contains(command), "{command} missing from --help");
    }
    let help = String::from_utf8(dir.ok(&sh("seal --help"))).unwrap();
    for flag in [
        "--kek",
        "--context",
        "--suite",
        "--frame-size",
        "--in",
        "--out",
    ] {
        assert!(help.contains(flag), "{flag} missing from seal --help");
    }
}

// ---- interruption --------------------------------------------------------------

#[cfg(unix)]
#[test]
fn interrupted_commands_leave_no_temporary_file() {
    for signal in ["INT", "TERM", "HUP"] {
        let dir = Dir::new();
        dir.kek("a.key", "kek-a");
        let before = dir.listing();
        let mut child = dir
            .command(&sh("seal --kek a.key --out out.bin"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&data(300_000, 1)).unwrap();
        // Wait for the temporary file, then interrupt.
        let start = Instant::now();
        while !dir.listing().iter().any(|name| name.ends_with(".tmp")) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no temporary file"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = wait_timeout(&mut child, Duration::from_secs(20));
        drop(stdin);
        assert_eq!(status.code(), Some(130), "SIG{signal}");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(stderr, "tresor: error: interrupted\n");
        assert_eq!(dir.listing(), before, "SIG{signal} left files behind");
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("the command did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---- large streams ---------------------------------------------------------------

/// Peak resident memory of a running process, in bytes (Linux only).
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
#[cfg_attr(debug_assertions, ignore = "100 MiB round trip: run with --release")]
fn round_trips_100_mib_in_constant_memory() {
    const LEN: usize = 100 << 20;
    const CHUNK: usize = 1 << 20;
    const MEMORY_LIMIT: u64 = 48 << 20;
    let dir = Dir::new();
    dir.kek("k.key", "kek-k");

    // Seal from a pipe: the input size is unknown to the tool.
    let mut seal = dir
        .command(&sh("seal --kek k.key --out sealed.bin"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = seal.stdin.take().unwrap();
    for i in 0..LEN / CHUNK {
        stdin.write_all(&data(CHUNK, i as u64)).unwrap();
    }
    stdin.flush().unwrap();
    // Everything is written but the stream is still open: measure now.
    let sealing_peak = peak_memory(seal.id());
    drop(stdin);
    let status = seal.wait().unwrap();
    assert!(status.success());
    if let Some(peak) = sealing_peak {
        assert!(peak < MEMORY_LIMIT, "seal used {peak} bytes");
    }
    let sealed_size = dir.path("sealed.bin").metadata().unwrap().len();
    let header_len = {
        let mut file = std::fs::File::open(dir.path("sealed.bin")).unwrap();
        Header::read_from(&mut file).unwrap().to_bytes().len()
    };
    assert_eq!(
        usize::try_from(sealed_size).unwrap(),
        sealed_len(header_len, LEN, DEFAULT_FRAME_SIZE as usize)
    );

    // Open to a pipe, comparing as it streams.
    let mut open = dir
        .command(&sh("open --kek k.key --in sealed.bin"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = open.stdout.take().unwrap();
    let mut chunk = vec![0u8; CHUNK];
    let mut opening_peak = None;
    for i in 0..LEN / CHUNK {
        stdout.read_exact(&mut chunk).unwrap();
        assert!(chunk == data(CHUNK, i as u64), "chunk {i} differs");
        if i == LEN / CHUNK - 2 {
            opening_peak = peak_memory(open.id());
        }
    }
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{} bytes too many", rest.len());
    let output = open.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    if let Some(peak) = opening_peak {
        assert!(peak < MEMORY_LIMIT, "open used {peak} bytes");
    }
}
