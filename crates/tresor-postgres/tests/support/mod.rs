//! What the tests against a real PostgreSQL share: the server from
//! `TRESOR_POSTGRES_URL` (loopback only; skipped with a message without it,
//! unless `TRESOR_REQUIRE_SERVICES=1`) and fresh databases dropped when
//! the test is done with them.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use tresor_postgres::{Config, PoolOptions};

/// The admin configuration, or `None` (test skipped) when no server is set.
pub fn admin() -> Option<Config> {
    let Ok(url) = std::env::var("TRESOR_POSTGRES_URL") else {
        if std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("TRESOR_POSTGRES_URL not set and TRESOR_REQUIRE_SERVICES=1");
        }
        eprintln!(
            "skipped: TRESOR_POSTGRES_URL not set (a PostgreSQL on 127.0.0.1; see .ci/lib/postgres.sh)"
        );
        return None;
    };
    let config: Config = url.parse().expect("TRESOR_POSTGRES_URL parses");
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
    Some(config)
}

/// A fresh database, dropped (its connections closed) when this is.
pub struct Db {
    admin: Config,
    pub name: String,
    pub config: Config,
}

impl Db {
    pub fn new(admin: &Config) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "tresor_t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut client = admin.connect(postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut config = admin.clone();
        config.dbname(&name);
        Self {
            admin: admin.clone(),
            name,
            config,
        }
    }

    #[cfg(feature = "audit")]
    pub fn log(&self, name: &str) -> tresor_postgres::PostgresLog {
        tresor_postgres::PostgresLog::from_config(self.config.clone(), PoolOptions::default(), name)
            .unwrap()
    }

    pub fn client(&self) -> postgres::Client {
        self.config.connect(postgres::NoTls).unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut client) = self.admin.connect(postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
