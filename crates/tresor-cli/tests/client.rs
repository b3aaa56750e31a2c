//! End-to-end tests of `tresor client …` and `tresor secret check`:
//! registration and authentication, one byte-identical answer for every
//! invalid credential, rotation with a grace period, revocation, the
//! output shapes of `show` and `list` (no secret, no MAC), a store that
//! never holds a secret, and the pepper key file.
// Helpers outside `#[test]` functions panic on failure like the tests do.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::process::Output;

use serde_json::Value;
use tresor_credentials::{ClientId, CredentialStore, SqliteStore};

mod common;

use common::{Sandbox, failure};

const STORE: &str = "clients.db";

/// The one answer to every invalid credential.
const INVALID: &[u8] = b"tresor: error: invalid client\n";

/// A client as `register` or `rotate-secret` printed it.
#[derive(Clone, Debug)]
struct Issued {
    client_id: String,
    secret: String,
    secret_id: String,
}

fn run(dir: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> Output {
    dir.run_with(args, stdin)
}

/// Runs a command that must succeed; returns its standard output.
fn ok(dir: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run(dir, args, stdin);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Parses the JSON `register` and `rotate-secret` print: exactly these
/// keys, on one line.
fn issued(stdout: &str) -> Issued {
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "{stdout:?}"
    );
    let json: Value = serde_json::from_str(stdout).unwrap();
    assert_keys(&json, &["client_id", "client_secret", "secret_id"]);
    assert_order(stdout, &["client_id", "client_secret", "secret_id"]);
    Issued {
        client_id: json["client_id"].as_str().unwrap().to_owned(),
        secret: json["client_secret"].as_str().unwrap().to_owned(),
        secret_id: json["secret_id"].as_str().unwrap().to_owned(),
    }
}

fn register(dir: &Sandbox, name: &str, scopes: &[&str]) -> Issued {
    let mut args = vec!["client", "register", "--store", STORE, "--name", name];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    issued(&ok(dir, &args, None))
}

fn rotate(dir: &Sandbox, client_id: &str, grace: &str) -> Issued {
    let args = [
        "client",
        "rotate-secret",
        "--store",
        STORE,
        "--client-id",
        client_id,
        "--grace",
        grace,
    ];
    issued(&ok(dir, &args, None))
}

fn authenticate(dir: &Sandbox, client_id: &str, secret: &[u8]) -> Output {
    authenticate_at(dir, client_id, secret, None)
}

fn authenticate_at(dir: &Sandbox, client_id: &str, secret: &[u8], now: Option<i64>) -> Output {
    let now = now.map(|now| now.to_string());
    let mut args = vec![
        "client",
        "authenticate",
        "--store",
        STORE,
        "--client-id",
        client_id,
    ];
    if let Some(now) = &now {
        args.extend(["--now", now]);
    }
    run(dir, &args, Some(secret))
}

/// Checks a successful authentication and returns its JSON.
fn accepted(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_keys(&json, &["client_id", "name", "scopes", "secret_id"]);
    assert_order(
        std::str::from_utf8(&out.stdout).unwrap(),
        &["client_id", "name", "scopes", "secret_id"],
    );
    json
}

/// Checks the one answer to an invalid credential.
fn rejected(out: &Output, case: &str) {
    assert_eq!(out.status.code(), Some(1), "{case}");
    assert!(out.stdout.is_empty(), "{case}: {:?}", out.stdout);
    assert_eq!(
        out.stderr,
        INVALID,
        "{case}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn show(dir: &Sandbox, client_id: &str) -> (String, Value) {
    let out = ok(
        dir,
        &["client", "show", "--store", STORE, "--client-id", client_id],
        None,
    );
    let json = serde_json::from_str(&out).unwrap();
    (out, json)
}

/// The store's files (database, WAL, shared memory) as they are on disk.
fn store_bytes(dir: &Sandbox) -> Vec<(String, Vec<u8>)> {
    dir.snapshot()
        .into_iter()
        .filter(|(name, _)| name.starts_with(STORE) && !name.ends_with(".pepper"))
        .collect()
}

/// Checks that `json` is an object with exactly `expected` as keys (in any
/// order: `serde_json::Map` sorts them; see [`assert_order`]).
fn assert_keys(json: &Value, expected: &[&str]) {
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = expected.to_vec();
    keys.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
}

/// Checks that the keys appear in `text` (one JSON object) in this order.
fn assert_order(text: &str, expected: &[&str]) {
    let positions: Vec<usize> = expected
        .iter()
        .map(|key| text.find(&format!("\"{key}\":")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{expected:?} out of order in {text}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Checks that no store file holds the secret, nor its random body.
fn assert_not_stored(dir: &Sandbox, secret: &str) {
    let body = &secret[secret.len() - 49..secret.len() - 6];
    for (name, bytes) in store_bytes(dir) {
        assert!(!contains(&bytes, secret.as_bytes()), "secret in {name}");
        assert!(!contains(&bytes, body.as_bytes()), "secret body in {name}");
    }
}

/// The verifiers' MACs, as stored (base64url), read through the library.
fn stored_macs(dir: &Sandbox) -> Vec<String> {
    let store = SqliteStore::open(dir.path(STORE)).unwrap();
    store
        .list()
        .unwrap()
        .into_iter()
        .flat_map(|s| s.record.secrets)
        .map(|v| String::from(v.mac))
        .collect()
}

#[cfg(unix)]
fn mode(dir: &Sandbox, name: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir.path(name))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

// ---- registration and authentication ---------------------------------------

#[test]
fn register_then_authenticate() {
    let dir = Sandbox::new();
    let client = register(&dir, "Payments batch", &["payments:write", "accounts:read"]);
    assert!(ClientId::parse(&client.client_id).is_ok());
    assert!(client.secret.starts_with("tresor_cs_"));
    assert_eq!(client.secret_id.len(), 16);

    let with_newline = format!("{}\n", client.secret);
    let with_crlf = format!("{}\r\n", client.secret);
    for stdin in [&client.secret, &with_newline, &with_crlf] {
        let json = accepted(&authenticate(&dir, &client.client_id, stdin.as_bytes()));
        assert_eq!(json["client_id"], client.client_id.as_str());
        assert_eq!(json["name"], "Payments batch");
        assert_eq!(
            json["scopes"],
            serde_json::json!(["accounts:read", "payments:write"])
        );
        assert_eq!(json["secret_id"], client.secret_id.as_str());
    }

    // Two trailing newlines are not one.
    let two = format!("{}\n\n", client.secret);
    rejected(
        &authenticate(&dir, &client.client_id, two.as_bytes()),
        "two newlines",
    );
}

#[test]
fn every_invalid_credential_gets_the_same_bytes() {
    let dir = Sandbox::new();
    let alice = register(&dir, "alice", &[]);
    let bob = register(&dir, "bob", &[]);
    let unknown = "0123456789abcdefABCDEF";
    assert!(ClientId::parse(unknown).is_ok());

    let mut flipped = alice.secret.clone().into_bytes();
    flipped[20] = if flipped[20] == b'a' { b'b' } else { b'a' };

    let mut cases: Vec<(&str, Output)> = vec![
        (
            "another client's secret",
            authenticate(&dir, &alice.client_id, bob.secret.as_bytes()),
        ),
        (
            "one character flipped",
            authenticate(&dir, &alice.client_id, &flipped),
        ),
        ("empty secret", authenticate(&dir, &alice.client_id, b"")),
        (
            "not a secret",
            authenticate(&dir, &alice.client_id, b"hunter2\n"),
        ),
        (
            "not UTF-8",
            authenticate(&dir, &alice.client_id, b"\xff\xfe\n"),
        ),
        (
            "over-long input",
            authenticate(&dir, &alice.client_id, &[b'a'; 10_000]),
        ),
        (
            "unknown client",
            authenticate(&dir, unknown, alice.secret.as_bytes()),
        ),
        (
            "malformed client id",
            authenticate(&dir, "not a client id", alice.secret.as_bytes()),
        ),
        (
            "secret as client id",
            authenticate(&dir, &alice.secret, alice.secret.as_bytes()),
        ),
        (
            "empty client id",
            authenticate(&dir, "", alice.secret.as_bytes()),
        ),
    ];

    // Revoked: bob's only secret.
    ok(
        &dir,
        &[
            "client",
            "revoke-secret",
            "--store",
            STORE,
            "--client-id",
            &bob.client_id,
            "--secret-id",
            &bob.secret_id,
        ],
        None,
    );
    cases.push((
        "revoked secret",
        authenticate(&dir, &bob.client_id, bob.secret.as_bytes()),
    ));

    // Expired: a rotation with no grace ends the old secret at once.
    let carol = register(&dir, "carol", &[]);
    let carol_new = rotate(&dir, &carol.client_id, "0");
    cases.push((
        "expired secret",
        authenticate(&dir, &carol.client_id, carol.secret.as_bytes()),
    ));

    // Expired after a grace period: one second, checked a minute later
    // (no sleeping: --now moves the verifier's clock).
    let dave = register(&dir, "dave", &[]);
    rotate(&dir, &dave.client_id, "1");
    let now = show(&dir, &dave.client_id).1["updated"].as_i64().unwrap();
    accepted(&authenticate_at(
        &dir,
        &dave.client_id,
        dave.secret.as_bytes(),
        Some(now),
    ));
    cases.push((
        "expired grace period",
        authenticate_at(
            &dir,
            &dave.client_id,
            dave.secret.as_bytes(),
            Some(now + 60),
        ),
    ));

    // Suspended client.
    let erin = register(&dir, "erin", &[]);
    ok(
        &dir,
        &[
            "client",
            "suspend",
            "--store",
            STORE,
            "--client-id",
            &erin.client_id,
        ],
        None,
    );
    cases.push((
        "suspended client",
        authenticate(&dir, &erin.client_id, erin.secret.as_bytes()),
    ));

    for (case, out) in &cases {
        rejected(out, case);
    }
    let first = &cases[0].1;
    for (case, out) in &cases {
        assert_eq!(
            (&out.stdout, &out.stderr),
            (&first.stdout, &first.stderr),
            "{case}"
        );
    }

    // The valid ones still are.
    accepted(&authenticate(
        &dir,
        &alice.client_id,
        alice.secret.as_bytes(),
    ));
    accepted(&authenticate(
        &dir,
        &carol.client_id,
        carol_new.secret.as_bytes(),
    ));
    ok(
        &dir,
        &[
            "client",
            "reactivate",
            "--store",
            STORE,
            "--client-id",
            &erin.client_id,
        ],
        None,
    );
    accepted(&authenticate(&dir, &erin.client_id, erin.secret.as_bytes()));
}

#[test]
fn operational_failures_are_not_invalid_client() {
    let dir = Sandbox::new();
    let client = register(&dir, "a", &[]);
    let secret = client.secret.as_bytes();

    // No store: named, and not created.
    let out = run(
        &dir,
        &[
            "client",
            "authenticate",
            "--store",
            "nope.db",
            "--client-id",
            &client.client_id,
        ],
        Some(secret),
    );
    failure(&out, "no credential store at \"nope.db\"");
    assert!(!dir.exists("nope.db"));

    // No pepper: named.
    let out = run(
        &dir,
        &[
            "client",
            "authenticate",
            "--store",
            STORE,
            "--pepper",
            "other.pepper",
            "--client-id",
            &client.client_id,
        ],
        Some(secret),
    );
    failure(&out, "no pepper key file at \"other.pepper\"");

    // The wrong pepper: every secret is invalid (it proves nothing else).
    dir.write(
        "other.pepper",
        b"tresor-pepper-v1\n1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path("other.pepper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(
            &dir,
            &[
                "client",
                "authenticate",
                "--store",
                STORE,
                "--pepper",
                "other.pepper",
                "--client-id",
                &client.client_id,
            ],
            Some(secret),
        );
        failure(&out, "accessible to other users");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(
        &dir,
        &[
            "client",
            "authenticate",
            "--store",
            STORE,
            "--pepper",
            "other.pepper",
            "--client-id",
            &client.client_id,
        ],
        Some(secret),
    );
    rejected(&out, "wrong pepper");
}

// ---- rotation and revocation -----------------------------------------------

#[test]
fn rotation_keeps_the_old_secret_for_the_grace_period() {
    let dir = Sandbox::new();
    let old = register(&dir, "rotating", &["x"]);
    let new = rotate(&dir, &old.client_id, "3600");
    assert_eq!(new.client_id, old.client_id);
    assert_ne!(new.secret, old.secret);
    assert_ne!(new.secret_id, old.secret_id);
    let json = accepted(&authenticate(&dir, &old.client_id, old.secret.as_bytes()));
    assert_eq!(json["secret_id"], old.secret_id.as_str());
    let json = accepted(&authenticate(&dir, &old.client_id, new.secret.as_bytes()));
    assert_eq!(json["secret_id"], new.secret_id.as_str());

    let (_, shown) = show(&dir, &old.client_id);
    let secrets = shown["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0]["secret_id"], old.secret_id.as_str());
    assert_eq!(secrets[0]["state"], "active");
    let created = secrets[1]["created"].as_i64().unwrap();
    let expires = secrets[0]["expires"].as_i64().unwrap();
    assert!((3600..=3610).contains(&(expires - created)), "{shown}");
    assert_eq!(secrets[1]["expires"], Value::Null);

    // Two active secrets: a third rotation is refused, with the way out.
    let out = run(
        &dir,
        &[
            "client",
            "rotate-secret",
            "--store",
            STORE,
            "--client-id",
            &old.client_id,
        ],
        None,
    );
    let message = failure(&out, "already has two active secrets");
    assert!(message.contains("revoke-secret"), "{message}");
    assert!(out.stdout.is_empty());

    // Revoke the old one by id: it fails at once, the new one works.
    let out = ok(
        &dir,
        &[
            "client",
            "revoke-secret",
            "--store",
            STORE,
            "--client-id",
            &old.client_id,
            "--secret-id",
            &old.secret_id,
        ],
        None,
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"client_id": old.client_id, "revoked": [old.secret_id]})
    );
    rejected(
        &authenticate(&dir, &old.client_id, old.secret.as_bytes()),
        "revoked",
    );
    accepted(&authenticate(&dir, &old.client_id, new.secret.as_bytes()));
    assert_eq!(
        show(&dir, &old.client_id).1["secrets"][0]["state"],
        "revoked"
    );

    // Revoking it again: no such active secret.
    let out = run(
        &dir,
        &[
            "client",
            "revoke-secret",
            "--store",
            STORE,
            "--client-id",
            &old.client_id,
            "--secret-id",
            &old.secret_id,
        ],
        None,
    );
    failure(&out, "has no active secret");

    // Rotation now works again (the revoked secret is pruned), and the
    // grace is bounded.
    let newer = rotate(&dir, &old.client_id, "0");
    let out = run(
        &dir,
        &[
            "client",
            "rotate-secret",
            "--store",
            STORE,
            "--client-id",
            &old.client_id,
            "--grace",
            "7776001",
        ],
        None,
    );
    failure(&out, "exceeds the maximum");

    // --all revokes what is still valid, and only that.
    let out = ok(
        &dir,
        &[
            "client",
            "revoke-secret",
            "--store",
            STORE,
            "--client-id",
            &old.client_id,
            "--all",
        ],
        None,
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["revoked"], serde_json::json!([newer.secret_id]));
    rejected(
        &authenticate(&dir, &old.client_id, newer.secret.as_bytes()),
        "all revoked",
    );
}

#[test]
fn default_grace_is_one_day() {
    let dir = Sandbox::new();
    let old = register(&dir, "a", &[]);
    let out = ok(
        &dir,
        &[
            "client",
            "rotate-secret",
            "--store",
            STORE,
            "--client-id",
            &old.client_id,
        ],
        None,
    );
    issued(&out);
    let (_, shown) = show(&dir, &old.client_id);
    let expires = shown["secrets"][0]["expires"].as_i64().unwrap();
    let updated = shown["updated"].as_i64().unwrap();
    assert_eq!(expires - updated, 86_400);
    let now = Some(updated + 86_399);
    accepted(&authenticate_at(
        &dir,
        &old.client_id,
        old.secret.as_bytes(),
        now,
    ));
    let later = Some(updated + 86_400);
    rejected(
        &authenticate_at(&dir, &old.client_id, old.secret.as_bytes(), later),
        "a day later",
    );
}

// ---- show and list ---------------------------------------------------------

#[test]
fn show_and_list_never_print_a_secret_or_a_mac() {
    let dir = Sandbox::new();
    let a = register(&dir, "alpha", &["s:1"]);
    let a2 = rotate(&dir, &a.client_id, "600");
    let b = register(&dir, "beta", &[]);
    let macs = stored_macs(&dir);
    assert_eq!(macs.len(), 3);

    let (text, json) = show(&dir, &a.client_id);
    const SHOW: [&str; 9] = [
        "client_id",
        "name",
        "scopes",
        "status",
        "created",
        "updated",
        "secrets",
        "public_keys",
        "revoked_kids",
    ];
    assert_keys(&json, &SHOW);
    assert_order(&text, &SHOW);
    assert_eq!(json["client_id"], a.client_id.as_str());
    assert_eq!(json["name"], "alpha");
    assert_eq!(json["status"], "active");
    assert_eq!(json["public_keys"], serde_json::json!([]));
    assert_eq!(json["revoked_kids"], serde_json::json!([]));
    for secret in json["secrets"].as_array().unwrap() {
        assert_keys(
            secret,
            &[
                "secret_id",
                "state",
                "created",
                "expires",
                "revoked",
                "pepper_version",
            ],
        );
    }
    let ids: Vec<&str> = json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.secret_id.as_str(), a2.secret_id.as_str()]);

    let list = ok(&dir, &["client", "list", "--store", STORE], None);
    let lines: Vec<Value> = list
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let mut expected_ids = [a.client_id.as_str(), b.client_id.as_str()];
    expected_ids.sort_unstable();
    let listed: Vec<&str> = lines
        .iter()
        .map(|l| l["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, expected_ids);
    const LINE: [&str; 8] = [
        "client_id",
        "name",
        "scopes",
        "status",
        "created",
        "updated",
        "active_secrets",
        "public_keys",
    ];
    for (line, text) in lines.iter().zip(list.lines()) {
        assert_keys(line, &LINE);
        assert_order(text, &LINE);
    }
    let alpha = lines.iter().find(|l| l["name"] == "alpha").unwrap();
    assert_eq!(alpha["active_secrets"], 2);

    let all_output = format!("{text}{list}{}", show(&dir, &b.client_id).0);
    for secret in [&a.secret, &a2.secret, &b.secret] {
        assert!(!all_output.contains(secret.as_str()));
    }
    for mac in &macs {
        assert!(!all_output.contains(mac.as_str()), "a MAC is printed");
    }
    assert!(!all_output.contains("\"mac\""));

    // A deleted store is not created again by `list`.
    let empty = Sandbox::new();
    register(&empty, "x", &[]);
    std::fs::remove_file(empty.path(STORE)).unwrap();
    let _ = std::fs::remove_file(empty.path(&format!("{STORE}-wal")));
    let _ = std::fs::remove_file(empty.path(&format!("{STORE}-shm")));
    let out = run(&empty, &["client", "list", "--store", STORE], None);
    failure(&out, "no credential store");
}

#[test]
fn management_errors_are_one_line() {
    let dir = Sandbox::new();
    let a = register(&dir, "a", &[]);
    let unknown = "0123456789abcdefABCDEF";
    let out = run(
        &dir,
        &["client", "show", "--store", STORE, "--client-id", unknown],
        None,
    );
    failure(&out, &format!("unknown client {unknown}"));

    // A mistyped id is not echoed (it may be a secret pasted in the wrong
    // place).
    let out = run(
        &dir,
        &["client", "show", "--store", STORE, "--client-id", &a.secret],
        None,
    );
    let message = failure(&out, "invalid --client-id");
    assert!(!message.contains(&a.secret));

    let out = run(
        &dir,
        &[
            "client",
            "revoke-secret",
            "--store",
            STORE,
            "--client-id",
            &a.client_id,
            "--secret-id",
            "short",
        ],
        None,
    );
    failure(&out, "invalid --secret-id");

    for (args, expected) in [
        (vec!["--name", ""], "invalid client name"),
        (vec!["--name", "ok", "--scope", "a b"], "invalid scope"),
    ] {
        let mut full = vec!["client", "register", "--store", STORE];
        full.extend(args);
        failure(&run(&dir, &full, None), expected);
    }

    // Nothing but `register` creates a store.
    for command in [
        vec!["client", "list", "--store", "none.db"],
        vec![
            "client",
            "show",
            "--store",
            "none.db",
            "--client-id",
            &a.client_id,
        ],
        vec![
            "client",
            "suspend",
            "--store",
            "none.db",
            "--client-id",
            &a.client_id,
        ],
    ] {
        failure(&run(&dir, &command, None), "no credential store");
    }
    assert!(!dir.exists("none.db"));
}

// ---- what is stored --------------------------------------------------------

#[test]
fn the_store_never_holds_a_secret() {
    let dir = Sandbox::new();
    let a = register(&dir, "a", &["scope"]);
    assert_not_stored(&dir, &a.secret);
    accepted(&authenticate(&dir, &a.client_id, a.secret.as_bytes()));
    assert_not_stored(&dir, &a.secret);
    let a2 = rotate(&dir, &a.client_id, "60");
    let b = register(&dir, "b", &[]);
    rejected(
        &authenticate(&dir, &b.client_id, a.secret.as_bytes()),
        "wrong",
    );
    for secret in [&a.secret, &a2.secret, &b.secret] {
        assert_not_stored(&dir, secret);
    }
    // Nor the pepper (it is another file).
    let pepper = String::from_utf8(dir.read(&format!("{STORE}.pepper"))).unwrap();
    let key = pepper.lines().nth(1).unwrap().split_once(' ').unwrap().1;
    for (name, bytes) in store_bytes(&dir) {
        assert!(!contains(&bytes, key.as_bytes()), "pepper in {name}");
    }
    // Nor do the files this command wrote hold it anywhere else.
    for (name, bytes) in dir.snapshot() {
        for secret in [&a.secret, &a2.secret, &b.secret] {
            assert!(!contains(&bytes, secret.as_bytes()), "secret in {name}");
        }
    }
}

// ---- the pepper ------------------------------------------------------------

#[test]
fn the_pepper_file_is_private_and_never_overwritten() {
    let dir = Sandbox::new();
    let out = run(
        &dir,
        &["client", "register", "--store", STORE, "--name", "first"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let note = String::from_utf8(out.stderr).unwrap();
    assert!(note.contains("created pepper key file"), "{note}");
    assert!(dir.exists("clients.db.pepper"));
    #[cfg(unix)]
    assert_eq!(mode(&dir, "clients.db.pepper"), 0o600);
    let pepper = dir.read("clients.db.pepper");
    assert!(pepper.starts_with(b"tresor-pepper-v1\n"));

    // Later registrations use it, and say nothing.
    let second = run(
        &dir,
        &["client", "register", "--store", STORE, "--name", "second"],
        None,
    );
    assert_eq!(second.status.code(), Some(0));
    assert!(second.stderr.is_empty());
    let second = issued(&String::from_utf8(second.stdout).unwrap());
    assert_eq!(dir.read("clients.db.pepper"), pepper);
    accepted(&authenticate(
        &dir,
        &second.client_id,
        second.secret.as_bytes(),
    ));

    // A store with clients never gets a new pepper.
    std::fs::rename(dir.path("clients.db.pepper"), dir.path("moved.pepper")).unwrap();
    let out = run(
        &dir,
        &["client", "register", "--store", STORE, "--name", "third"],
        None,
    );
    failure(&out, "the store holds 2 client(s)");
    assert!(!dir.exists("clients.db.pepper"));

    // --pepper names it anywhere.
    let third = issued(&ok(
        &dir,
        &[
            "client",
            "register",
            "--store",
            STORE,
            "--pepper",
            "moved.pepper",
            "--name",
            "third",
        ],
        None,
    ));
    let out = run(
        &dir,
        &[
            "client",
            "authenticate",
            "--store",
            STORE,
            "--pepper",
            "moved.pepper",
            "--client-id",
            &third.client_id,
        ],
        Some(third.secret.as_bytes()),
    );
    accepted(&out);
    assert_eq!(dir.read("moved.pepper"), pepper);

    // An explicit new pepper for a new store is created 0600.
    issued(&ok(
        &dir,
        &[
            "client", "register", "--store", "b.db", "--pepper", "b.key", "--name", "x",
        ],
        None,
    ));
    #[cfg(unix)]
    assert_eq!(mode(&dir, "b.key"), 0o600);
    assert!(!dir.exists("b.db.pepper"));
}

// ---- secret check ----------------------------------------------------------

#[test]
fn secret_check_validates_without_echoing() {
    let dir = Sandbox::new();
    let a = register(&dir, "a", &[]);
    // A known answer from the format's specification, too.
    let known = "tresor_cs_00000000000000000000000000000000000000000002TosSX";
    for input in [
        a.secret.clone(),
        format!("{}\n", a.secret),
        known.to_owned(),
    ] {
        let out = run(&dir, &["secret", "check"], Some(input.as_bytes()));
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            out.stdout,
            b"well-formed client secret (prefix tresor_cs)\n"
        );
        assert!(out.stderr.is_empty());
    }
    let out = run(
        &dir,
        &["secret", "check", "--prefix", "tresor_cs"],
        Some(known.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0));

    // Every single-character change is caught, never echoed.
    let bytes = a.secret.as_bytes();
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] = if changed[i] == b'x' { b'y' } else { b'x' };
        let out = run(&dir, &["secret", "check"], Some(&changed));
        assert!(out.stdout.is_empty(), "position {i}");
        let message = failure(&out, "malformed client secret");
        let body = &a.secret[10..53];
        assert!(
            !message.contains(body) && !message.contains(&a.secret),
            "{message}"
        );
    }
    let mut flipped = bytes.to_vec();
    // A letter's case, or another digit: still in the alphabet.
    flipped[30] = match flipped[30] {
        b'0' => b'1',
        c if c.is_ascii_digit() => b'0',
        c => c ^ 0x20,
    };
    failure(
        &run(&dir, &["secret", "check"], Some(&flipped)),
        "checksum mismatch",
    );

    for (input, expected) in [
        (&b""[..], "too short"),
        (b"hunter2\n", "too short"),
        (b"\xff\xfe", "not ASCII"),
        (&[b'a'; 10_000], "too long"),
    ] {
        failure(&run(&dir, &["secret", "check"], Some(input)), expected);
    }
    failure(
        &run(
            &dir,
            &["secret", "check", "--prefix", "acme_live"],
            Some(known.as_bytes()),
        ),
        "unexpected prefix",
    );
    failure(
        &run(
            &dir,
            &["secret", "check", "--prefix", "Bad-Prefix"],
            Some(known.as_bytes()),
        ),
        "invalid secret prefix",
    );
}

// ---- public keys -----------------------------------------------------------

#[test]
fn add_key_with_proof_of_possession() {
    use base64ct::{Base64, Encoding};
    use tresor_httpsig::{PrivateKey, SigningKey};

    let dir = Sandbox::new();
    let client = register(&dir, "signer", &[]);
    ok(
        &dir,
        &["key", "generate", "--alg", "ed25519", "--out", "client.key"],
        None,
    );

    let challenge_json: Value = serde_json::from_str(&ok(
        &dir,
        &[
            "client",
            "key-challenge",
            "--store",
            STORE,
            "--client-id",
            &client.client_id,
        ],
        None,
    ))
    .unwrap();
    assert_keys(&challenge_json, &["client_id", "challenge", "expires"]);
    let challenge = challenge_json["challenge"].as_str().unwrap();
    assert!(challenge.starts_with("tresor-key-challenge.v1."));

    let key = PrivateKey::from_pem(&String::from_utf8(dir.read("client.key")).unwrap()).unwrap();
    let signature = key.sign(challenge.as_bytes()).unwrap();
    dir.write(
        "proof.b64",
        format!("{}\n", Base64::encode_string(&signature)).as_bytes(),
    );
    // A proof over other bytes (here: with a newline) is refused.
    let mut with_newline = challenge.as_bytes().to_vec();
    with_newline.push(b'\n');
    let wrong = key.sign(&with_newline).unwrap();
    dir.write("wrong.b64", Base64::encode_string(&wrong).as_bytes());

    let add = |proof: &str, challenge: &str| {
        run(
            &dir,
            &[
                "client",
                "add-key",
                "--store",
                STORE,
                "--client-id",
                &client.client_id,
                "--public-key",
                "client.key.pub",
                "--challenge",
                challenge,
                "--proof",
                proof,
            ],
            None,
        )
    };
    failure(
        &add("wrong.b64", challenge),
        "proof of possession does not verify",
    );
    dir.write("garbage.b64", b"not base64!");
    failure(&add("garbage.b64", challenge), "does not hold Base64");
    failure(
        &add("proof.b64", "tresor-key-challenge.v1.AAAA.BBBB"),
        "invalid key challenge",
    );

    let out = add("proof.b64", challenge);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_keys(&added, &["client_id", "kid", "alg", "state"]);
    assert_eq!(added["alg"], "EdDSA");
    assert_eq!(added["state"], "active");
    // The kid is the thumbprint `key generate` printed.
    let (_, shown) = show(&dir, &client.client_id);
    let keys = shown["public_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], added["kid"]);
    assert_eq!(keys[0]["jwk"]["kty"], "OKP");
    assert!(keys[0]["jwk"].get("d").is_none());

    // The same key again: refused.
    failure(&add("proof.b64", challenge), "is already registered");

    // The issue's form, `--public-key FILE --proof FILE` and nothing else:
    // the proof file holds the challenge, then the signature.
    ok(
        &dir,
        &[
            "key",
            "generate",
            "--alg",
            "ecdsa-p256",
            "--out",
            "second.key",
        ],
        None,
    );
    let second = PrivateKey::from_pem(&String::from_utf8(dir.read("second.key")).unwrap()).unwrap();
    let add_contract = |proof: &str| {
        run(
            &dir,
            &[
                "client",
                "add-key",
                "--store",
                STORE,
                "--client-id",
                &client.client_id,
                "--public-key",
                "second.key.pub",
                "--proof",
                proof,
            ],
            None,
        )
    };
    dir.write("one-line.proof", b"only a signature\n");
    failure(&add_contract("one-line.proof"), "must hold two lines");
    let challenge_json: Value = serde_json::from_str(&ok(
        &dir,
        &[
            "client",
            "key-challenge",
            "--store",
            STORE,
            "--client-id",
            &client.client_id,
        ],
        None,
    ))
    .unwrap();
    let challenge = challenge_json["challenge"].as_str().unwrap();
    let signature = second.sign(challenge.as_bytes()).unwrap();
    dir.write(
        "second.proof",
        format!("{challenge}\n{}\n", Base64::encode_string(&signature)).as_bytes(),
    );
    let out = add_contract("second.proof");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["alg"], "ES256");
}

// ---- client assertions -----------------------------------------------------

/// A JWS part, decoded as JSON.
fn jws_part(jws: &str, index: usize) -> Value {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let part = jws.trim_end().split('.').nth(index).unwrap();
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

/// Registers `key_file` (from `key generate`) for `client_id`, with proof
/// of possession.
fn add_generated_key(dir: &Sandbox, client_id: &str, key_file: &str) {
    use base64ct::{Base64, Encoding};
    use tresor_httpsig::{PrivateKey, SigningKey};
    let challenge: Value = serde_json::from_str(&ok(
        dir,
        &[
            "client",
            "key-challenge",
            "--store",
            STORE,
            "--client-id",
            client_id,
        ],
        None,
    ))
    .unwrap();
    let challenge = challenge["challenge"].as_str().unwrap();
    let key = PrivateKey::from_pem(&String::from_utf8(dir.read(key_file)).unwrap()).unwrap();
    let proof = Base64::encode_string(&key.sign(challenge.as_bytes()).unwrap());
    dir.write("proof.b64", proof.as_bytes());
    ok(
        dir,
        &[
            "client",
            "add-key",
            "--store",
            STORE,
            "--client-id",
            client_id,
            "--public-key",
            &format!("{key_file}.pub"),
            "--challenge",
            challenge,
            "--proof",
            "proof.b64",
        ],
        None,
    );
}

#[test]
fn client_assertion_authenticates_by_private_key_jwt() {
    use std::sync::Arc;
    use tresor_credentials::{AssertionVerifier, LocalPepper, Registry};

    const ISSUER: &str = "https://as.bank.example";
    let dir = Sandbox::new();
    let client = register(&dir, "jwt client", &["payments:read"]);
    let registry = || {
        Registry::new(
            Arc::new(SqliteStore::open(dir.path(STORE)).unwrap()),
            Arc::new(LocalPepper::load(dir.path("clients.db.pepper")).unwrap()),
        )
        .unwrap()
    };
    for (alg, jose) in [("ed25519", "EdDSA"), ("ecdsa-p256", "ES256")] {
        let key_file = format!("{alg}.key");
        let kid = ok(
            &dir,
            &["key", "generate", "--alg", alg, "--out", &key_file],
            None,
        );
        add_generated_key(&dir, &client.client_id, &key_file);
        let assertion = ok(
            &dir,
            &[
                "client",
                "assertion",
                "--key",
                &key_file,
                "--client-id",
                &client.client_id,
                "--audience",
                ISSUER,
            ],
            None,
        );
        // One line: the compact JWS.
        assert!(assertion.ends_with('\n') && assertion.lines().count() == 1);
        let assertion = assertion.trim_end();
        assert_eq!(assertion.split('.').count(), 3);
        let header = jws_part(assertion, 0);
        assert_eq!(header["alg"], jose);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], kid.trim_end());
        let claims = jws_part(assertion, 1);
        assert_eq!(claims["iss"], client.client_id.as_str());
        assert_eq!(claims["sub"], client.client_id.as_str());
        assert_eq!(claims["aud"], ISSUER);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            60
        );
        // The authorization server accepts it, once.
        let verifier = AssertionVerifier::new(ISSUER);
        let registry = registry();
        let authenticated = verifier
            .authenticate(&registry, assertion, None, None)
            .unwrap();
        assert_eq!(authenticated.id().as_str(), client.client_id);
        assert_eq!(authenticated.key_id(), Some(kid.trim_end()));
        assert!(
            verifier
                .authenticate(&registry, assertion, None, None)
                .is_err()
        );
    }

    // --lifetime and --keyid.
    let assertion = ok(
        &dir,
        &[
            "client",
            "assertion",
            "--key",
            "ed25519.key",
            "--client-id",
            &client.client_id,
            "--audience",
            ISSUER,
            "--lifetime",
            "300",
            "--keyid",
            "desk-7",
        ],
        None,
    );
    let claims = jws_part(&assertion, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(jws_part(&assertion, 0)["kid"], "desk-7");

    // (An RSA key signs PS512, given --alg PS512: see tresor-credentials'
    // tests; the RFC 9421 test key here is one *ring* does not sign with.)
    let rsa = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/test-key-rsa.key")
        .display()
        .to_string();
    let base = [
        "client",
        "assertion",
        "--client-id",
        &client.client_id,
        "--audience",
        ISSUER,
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(&dir, &args, None)
    };

    // Refusals, each one clean line.
    failure(&with(&["--key", &rsa]), "give --alg PS512");
    failure(
        &with(&["--key", &rsa, "--alg", "PS256"]),
        "this tool signs assertions with EdDSA, ES256, ES384 or PS512",
    );
    failure(
        &with(&["--key", "ed25519.key", "--alg", "ES256"]),
        "ed25519.key",
    );
    failure(&with(&["--key", "ed25519.key.pub"]), "holds a public key");
    dir.write(
        "shared.secret",
        b"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n",
    );
    failure(&with(&["--key", "shared.secret"]), "never a shared secret");
    failure(
        &with(&["--key", "ed25519.key", "--lifetime", "301"]),
        "invalid --lifetime \"301\"",
    );
    failure(
        &with(&["--key", "ed25519.key", "--lifetime", "0"]),
        "invalid --lifetime",
    );
    let out = run(
        &dir,
        &[
            "client",
            "assertion",
            "--key",
            "ed25519.key",
            "--client-id",
            "not-a-client-id",
            "--audience",
            ISSUER,
        ],
        None,
    );
    failure(&out, "invalid --client-id");
    let out = run(
        &dir,
        &[
            "client",
            "assertion",
            "--key",
            "ed25519.key",
            "--client-id",
            &client.client_id,
            "--audience",
            "",
        ],
        None,
    );
    failure(&out, "invalid --audience");
}
