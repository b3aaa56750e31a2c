//! The registry on a `PostgresStore`: authentication works, and while the
//! server is stopped (`TRESOR_POSTGRES_CTL stop`) every call is an outage,
//! never `invalid_client`; once it is started again the same store and
//! registry work without being rebuilt. One test in its own binary: it stops
//! the shared server. Skips without `TRESOR_POSTGRES_URL` and
//! `TRESOR_POSTGRES_CTL`, unless `TRESOR_REQUIRE_SERVICES=1`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tresor_credentials::{AuthError, CredentialStore, LocalPepper, Registry};
use tresor_postgres::{Config, PoolOptions, PostgresStore};

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

#[test]
fn authentication_survives_a_server_restart() {
    let Some((admin, script)) = env() else { return };
    let name = format!("tresor_outage_{}", std::process::id());
    let mut client = admin.connect(postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    drop(client);
    let mut config = admin.clone();
    config.dbname(&name).connect_timeout(Duration::from_secs(2));
    let options = PoolOptions {
        max_size: 4,
        checkout_timeout: Duration::from_secs(2),
    };
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
}
