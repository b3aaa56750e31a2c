//! `tresor client … --store postgres://…` against a real PostgreSQL
//! (`TRESOR_POSTGRES_URL`, a loopback server; `.ci/lib/postgres.sh` starts
//! one): register, authenticate, list and rotate on a fresh database, two
//! "servers" (two processes) sharing it, and the errors of a missing
//! pepper or an unreachable server, which never echo the URL's password.
//! Without `TRESOR_POSTGRES_URL` each test prints why it skipped, unless
//! `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Sandbox, failure};
use serde_json::Value;

/// The server's URL, or `None` (test skipped) when none is set.
fn server(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("TRESOR_POSTGRES_URL") else {
        assert!(
            std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{test}: TRESOR_POSTGRES_URL not set and TRESOR_REQUIRE_SERVICES=1"
        );
        eprintln!(
            "skipped {test}: TRESOR_POSTGRES_URL not set (a PostgreSQL on 127.0.0.1; see .ci/lib/postgres.sh)"
        );
        return None;
    };
    let config: postgres::Config = url.parse().expect("TRESOR_POSTGRES_URL parses");
    for host in config.get_hosts() {
        match host {
            postgres::config::Host::Tcp(h) => {
                assert!(h == "127.0.0.1" || h == "localhost", "loopback only");
            }
            #[allow(unreachable_patterns)]
            _ => panic!("tests connect only to 127.0.0.1"),
        }
    }
    Some(url)
}

/// A fresh database on the server, dropped when the value is.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "tresor_cli_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        assert!(!admin.contains('?'), "a URL without parameters");
        Self {
            admin: admin.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

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

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn authenticate(dir: &Sandbox, url: &str, pepper: &str, id: &str, secret: &str) -> Output {
    dir.run_with(
        &[
            "client",
            "authenticate",
            "--store",
            url,
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
    let Some(admin) = server("register_authenticate_rotate_and_list_in_postgres") else {
        return;
    };
    let db = Database::create(&admin);
    let dir = Sandbox::new();
    let pepper = dir.path("pepper.key");
    let pepper = pepper.to_str().unwrap();
    let register = |name: &str| {
        json(&ok(
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

    let out = authenticate(&dir, &db.url, pepper, id, secret);
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
        &authenticate(&dir, &db.url, pepper, id, other),
        "invalid client",
    );

    // Rotation without grace: the old secret stops working at once.
    let rotated = json(&ok(
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
        &authenticate(&dir, &db.url, pepper, id, secret),
        "invalid client",
    );
    let new_secret = rotated["client_secret"].as_str().unwrap();
    let out = authenticate(&dir, &db.url, pepper, id, new_secret);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `list` reads the shared database: both clients, no pepper needed.
    let listed = ok(&dir, &["client", "list", "--store", &db.url], None);
    assert!(
        listed.contains(id) && listed.contains(second["client_id"].as_str().unwrap()),
        "{listed}"
    );
}

#[test]
fn a_postgres_store_needs_an_explicit_pepper() {
    let Some(admin) = server("a_postgres_store_needs_an_explicit_pepper") else {
        return;
    };
    let db = Database::create(&admin);
    let dir = Sandbox::new();
    let out = dir.run_with(
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
