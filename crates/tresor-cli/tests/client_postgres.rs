//! `tresor client … --store postgres://…` against a real PostgreSQL
//! (`TRESOR_POSTGRES_URL`, a loopback server; `.ci/lib/postgres.sh` starts
//! one): register, authenticate, list and rotate on a fresh database, two
//! "servers" (two processes) sharing it, and the errors of a missing
//! pepper or an unreachable server, which never echo the URL's password;
//! `--store-ca` / `--log-ca` never fall back to plaintext.
//! Without `TRESOR_POSTGRES_URL` each test prints why it skipped, unless
//! `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::process::Output;

use common::postgres::Db;
use common::{Sandbox, failure};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn authenticate(dir: &Sandbox, db: &Db, pepper: &str, id: &str, secret: &str) -> Output {
    db.run(
        dir,
        &[
            "client",
            "authenticate",
            "--store",
            &db.url,
            "--pepper",
            pepper,
            "--client-id",
            id,
        ],
        Some(secret.as_bytes()),
    )
}

#[test]
fn register_authenticate_rotate_and_list_in_postgres() {
    let Some(db) = Db::new() else { return };
    let dir = Sandbox::new();
    let pepper = dir.path("pepper.key");
    let pepper = pepper.to_str().unwrap();
    let register = |name: &str| {
        json(&db.ok(
            &dir,
            &[
                "client",
                "register",
                "--store",
                &db.url,
                "--pepper",
                pepper,
                "--name",
                name,
                "--scope",
                "orders:write",
            ],
            None,
        ))
    };
    let first = register("desk one");
    let second = register("desk two");
    let id = first["client_id"].as_str().unwrap();
    let secret = first["client_secret"].as_str().unwrap();

    let out = authenticate(&dir, &db, pepper, id, secret);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(std::str::from_utf8(&out.stdout).unwrap())["client_id"],
        id
    );
    // Another client's secret, and a wrong one: the one answer.
    let other = second["client_secret"].as_str().unwrap();
    failure(
        &authenticate(&dir, &db, pepper, id, other),
        "invalid client",
    );

    // Rotation without grace: the old secret stops working at once.
    let rotated = json(&db.ok(
        &dir,
        &[
            "client",
            "rotate-secret",
            "--store",
            &db.url,
            "--pepper",
            pepper,
            "--client-id",
            id,
            "--grace",
            "0",
        ],
        None,
    ));
    failure(
        &authenticate(&dir, &db, pepper, id, secret),
        "invalid client",
    );
    let new_secret = rotated["client_secret"].as_str().unwrap();
    let out = authenticate(&dir, &db, pepper, id, new_secret);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `list` reads the shared database: both clients, no pepper needed.
    let listed = db.ok(&dir, &["client", "list", "--store", &db.url], None);
    assert!(
        listed.contains(id) && listed.contains(second["client_id"].as_str().unwrap()),
        "{listed}"
    );
}

#[test]
fn a_postgres_store_needs_an_explicit_pepper() {
    let Some(db) = Db::new() else { return };
    let dir = Sandbox::new();
    let out = db.run(
        &dir,
        &["client", "register", "--store", &db.url, "--name", "desk"],
        None,
    );
    failure(&out, "needs --pepper");
    assert!(dir.listing().is_empty(), "no file was created");
}

#[test]
fn an_unreachable_server_is_one_error_line_without_the_password() {
    let dir = Sandbox::new();
    // A port on loopback where nothing listens (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://tresor:hunter2-secret@127.0.0.1:{port}/tresor?connect_timeout=2");
    let out = dir.run_with(&["client", "list", "--store", &url], None);
    let line = failure(&out, "credential store failure");
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn tls_asked_for_never_falls_back_to_plaintext() {
    let Some(db) = Db::new() else { return };
    let dir = Sandbox::new();
    let ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/public_root_ca.pem"
    );
    // The test server speaks no TLS: with a CA given, the store is not
    // opened, whatever the URL's sslmode says.
    let disabled = format!("{}?sslmode=disable", db.url);
    for (url, why) in [
        (db.url.as_str(), "server does not support TLS"),
        (
            disabled.as_str(),
            "sslmode=disable contradicts the TLS configuration",
        ),
    ] {
        let out = db.run(
            &dir,
            &["client", "list", "--store", url, "--store-ca", ca],
            None,
        );
        failure(&out, why);
    }
    let out = db.run(
        &dir,
        &["audit", "verify", "--log", &db.url, "--log-ca", ca],
        None,
    );
    failure(&out, "server does not support TLS");
    // Without a CA the same database opens (no client yet).
    let listed = db.ok(&dir, &["client", "list", "--store", &db.url], None);
    assert!(listed.is_empty(), "{listed}");
}

#[test]
fn a_ca_file_that_is_not_one_is_a_clean_error() {
    let dir = Sandbox::new();
    dir.write("ca.pem", b"not a certificate");
    let out = dir.run_with(
        &[
            "client",
            "list",
            "--store",
            "postgres://tresor@127.0.0.1:1/none",
            "--store-ca",
            "ca.pem",
        ],
        None,
    );
    let line = failure(&out, "--store-ca");
    assert!(!line.contains("not a certificate"), "{line}");
    // A CA without a PostgreSQL store is a usage error.
    let out = dir.run_with(
        &[
            "client",
            "list",
            "--store",
            "clients.db",
            "--store-ca",
            "ca.pem",
        ],
        None,
    );
    failure(&out, "--store-ca is the CA of a PostgreSQL server");
    let out = dir.run_with(
        &["audit", "verify", "--log", "log", "--log-ca", "ca.pem"],
        None,
    );
    failure(&out, "--log-ca is the CA of a PostgreSQL server");
}
