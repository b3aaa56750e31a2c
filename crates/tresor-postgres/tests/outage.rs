//! Outages: the tests stop the server (`TRESOR_POSTGRES_CTL stop`), check
//! that every call is an outage, start it again, and check that the same
//! objects work without being rebuilt.
//!
//! - The registry on a `PostgresStore` (feature `credentials`): while the
//!   server is down every call is an outage, never `invalid_client`.
//! - A `PostgresLog` and its `PostgresLogWriter` (feature `audit`): while
//!   the server is down appends and reads fail as unavailable and nothing
//!   is appended; afterwards appends succeed by themselves.
//!
//! They are in their own binary, since they stop the shared server, and
//! hold [`SERVER`] so that they never run at once. Skips without
//! `TRESOR_POSTGRES_URL` and `TRESOR_POSTGRES_CTL`, unless
//! `TRESOR_REQUIRE_SERVICES=1`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
// Without a store feature there is no test to run.
#![cfg_attr(not(any(feature = "credentials", feature = "audit")), allow(dead_code))]

#[cfg(feature = "credentials")]
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

#[cfg(feature = "credentials")]
use secrecy::SecretString;
#[cfg(feature = "credentials")]
use tresor_credentials::{AuthError, CredentialStore, LocalPepper, Registry};
#[cfg(feature = "credentials")]
use tresor_postgres::PostgresStore;
use tresor_postgres::{Config, PoolOptions};

/// Held by each test while it may stop the server.
static SERVER: Mutex<()> = Mutex::new(());

fn env() -> Option<(Config, String)> {
    let (Ok(url), Ok(ctl)) = (
        std::env::var("TRESOR_POSTGRES_URL"),
        std::env::var("TRESOR_POSTGRES_CTL"),
    ) else {
        if std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!(
                "TRESOR_POSTGRES_URL or TRESOR_POSTGRES_CTL not set and TRESOR_REQUIRE_SERVICES=1"
            );
        }
        eprintln!(
            "skipped: TRESOR_POSTGRES_URL or TRESOR_POSTGRES_CTL not set (see .ci/lib/postgres.sh)"
        );
        return None;
    };
    let config: Config = url.parse().unwrap();
    for host in config.get_hosts() {
        match host {
            postgres::config::Host::Tcp(h) => {
                assert!(
                    h == "127.0.0.1" || h == "localhost",
                    "tests connect only to loopback"
                )
            }
            #[allow(unreachable_patterns)]
            _ => panic!("tests connect only to 127.0.0.1"),
        }
    }
    Some((config, ctl))
}

fn ctl(script: &str, action: &str) {
    let status = std::process::Command::new(script)
        .arg(action)
        .status()
        .unwrap();
    assert!(status.success(), "{script} {action}: {status}");
}

/// A fresh database `name` (dropped first if left over) and its
/// configuration, with short timeouts.
fn fresh_db(admin: &Config, name: &str) -> (Config, PoolOptions) {
    let mut client = admin.connect(postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    drop(client);
    let mut config = admin.clone();
    config.dbname(name).connect_timeout(Duration::from_secs(2));
    let options = PoolOptions {
        max_size: 4,
        checkout_timeout: Duration::from_secs(2),
    };
    (config, options)
}

fn drop_db(admin: &Config, name: &str) {
    let mut client = admin.connect(postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

#[cfg(feature = "credentials")]
#[test]
fn authentication_survives_a_server_restart() {
    let Some((admin, script)) = env() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("tresor_outage_{}", std::process::id());
    let (config, options) = fresh_db(&admin, &name);
    let store = Arc::new(PostgresStore::from_config(config, options).unwrap());
    let pepper = Arc::new(LocalPepper::generate().unwrap());
    let registry = Registry::new(store.clone(), pepper).unwrap();
    let (id, secret) = registry.register("batch", &["payments:read"]).unwrap();
    let presented = SecretString::from(secret.expose_secret().to_owned());
    let client = registry
        .authenticate(id.as_str(), &presented, None)
        .unwrap();
    assert_eq!(client.id(), &id);
    assert_eq!(
        registry
            .authenticate(id.as_str(), &SecretString::from("wrong"), None)
            .unwrap_err(),
        AuthError::InvalidClient
    );

    ctl(&script, "stop");
    let during = registry.authenticate(id.as_str(), &presented, None);
    let direct = store.get(&id);
    let listed = store.list();
    ctl(&script, "start");

    assert_eq!(during.unwrap_err(), AuthError::Unavailable);
    assert!(direct.unwrap_err().is_unavailable());
    assert!(listed.unwrap_err().is_unavailable());

    // The same store and registry, not rebuilt.
    let again = registry
        .authenticate(id.as_str(), &presented, None)
        .unwrap();
    assert_eq!(again.id(), &id);
    drop((registry, store));
    drop_db(&admin, &name);
}

#[cfg(feature = "audit")]
#[test]
fn audit_appends_fail_as_unavailable_and_resume() {
    use tresor_postgres::{PostgresLog, WriterOptions};

    let Some((admin, script)) = env() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("tresor_audit_outage_{}", std::process::id());
    let (config, options) = fresh_db(&admin, &name);
    let log = PostgresLog::from_config(config, options, "default").unwrap();
    let writer = log.writer(WriterOptions::default()).unwrap();
    log.append(b"before 1").unwrap();
    assert_eq!(writer.append(b"before 2".to_vec()).unwrap(), 1);

    ctl(&script, "stop");
    let direct = log.append(b"during 1");
    let batch = log.append_batch(&[b"during 2".as_slice(), b"during 3"]);
    let queued = writer.append(b"during 4".to_vec());
    let head = log.head();
    let snapshot = log.snapshot();
    ctl(&script, "start");

    for err in [
        direct.unwrap_err(),
        batch.unwrap_err(),
        queued.unwrap_err(),
        head.unwrap_err(),
        snapshot.unwrap_err(),
    ] {
        assert!(err.is_unavailable(), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("password"), "{text}");
    }

    // The same log and writer, not rebuilt; nothing of the outage stored.
    assert_eq!(log.append(b"after 1").unwrap().first, 2);
    assert_eq!(writer.append(b"after 2".to_vec()).unwrap(), 3);
    let view = log.snapshot().unwrap();
    let entries: Vec<_> = (0..4)
        .map(|i| tresor_audit::LogStore::entry(&view, i).unwrap())
        .collect();
    assert_eq!(view.size(), 4);
    assert_eq!(
        entries,
        ["before 1", "before 2", "after 1", "after 2"].map(|e| e.as_bytes().to_vec())
    );
    tresor_audit::verify_log(&view, None).unwrap();
    drop((writer, log, view));
    drop_db(&admin, &name);
}
