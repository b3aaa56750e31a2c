//! Two `bank_api` instances on one PostgreSQL and one Redis, as behind a
//! load balancer (`bank_api --postgres URL --redis URL`):
//!
//! - a signed request accepted by one instance is refused as a replay by
//!   the other (one nonce store), and so is a client assertion (one `jti`
//!   cache);
//! - a client's request rate limit holds across both (one GCRA state), and
//!   so do the limits on failed authentications: failures spread over both
//!   instances lock the client out of both;
//! - both append to one audit log, which verifies;
//! - Redis stopped: signed requests are answered 503 (not 401), the audit
//!   log says why (`nonce_store_unavailable`), and service resumes by
//!   itself once Redis is back; PostgreSQL stopped: token requests are
//!   answered 503, and resume by themselves too.
//!
//! Needs a PostgreSQL on loopback (`TRESOR_POSTGRES_URL`; the PostgreSQL
//! outage part also `TRESOR_POSTGRES_CTL`, see `.ci/lib/postgres.sh`) and
//! `redis-server` on the `PATH`. Without them the test prints that it was
//! skipped, unless `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.

// The example's modules, included whole: the test uses part of them.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../examples/bank_api/backends.rs"]
mod backends;
#[path = "../examples/bank_api/client.rs"]
mod client;
#[path = "../examples/bank_api/data.rs"]
mod data;
#[path = "../examples/bank_api/options.rs"]
mod options;
#[path = "../examples/bank_api/profile.rs"]
mod profile;
#[path = "../crates/tresor-redis/tests/support/mod.rs"]
mod redis_support;
#[path = "../examples/bank_api/scenario.rs"]
mod scenario;
#[path = "../examples/bank_api/server.rs"]
mod server;
#[path = "../examples/bank_api/setup.rs"]
mod setup;
#[path = "../examples/bank_api/tls.rs"]
mod tls;

pub(crate) use options::Options;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tresor::audit::AuditRecord;

use client::{Call, Conn, Identity, basic_credentials};
use setup::{Demo, ISSUER};

/// The PostgreSQL server's URL, or `None` after saying why it is missing.
fn postgres_url() -> Option<String> {
    let Ok(url) = std::env::var("TRESOR_POSTGRES_URL") else {
        assert!(
            std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "TRESOR_POSTGRES_URL not set and TRESOR_REQUIRE_SERVICES=1"
        );
        eprintln!(
            "skipped two_instances_share_one_truth: TRESOR_POSTGRES_URL not set (a PostgreSQL on \
             127.0.0.1; see .ci/lib/postgres.sh)"
        );
        return None;
    };
    let config: postgres::Config = url.parse().unwrap();
    for host in config.get_hosts() {
        match host {
            postgres::config::Host::Tcp(h) => {
                assert!(h == "127.0.0.1" || h == "localhost", "loopback only");
            }
            #[allow(unreachable_patterns)]
            _ => panic!("tests connect only to 127.0.0.1"),
        }
    }
    assert!(!url.contains('?'), "a URL without parameters");
    Some(url)
}

/// A fresh database, dropped at the end.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin: &str) -> Self {
        let name = format!("tresor_bank_{}", std::process::id());
        let mut client = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
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

/// A signed `GET /v1/accounts/acc-1001` by `who` with `token`.
fn read_account(who: &Identity, token: &str) -> axum::http::Request<Vec<u8>> {
    who.build(&Call::get("/v1/accounts/acc-1001", token), |s| s)
        .unwrap()
}

/// An access token for `who` from `demo`, by `private_key_jwt`.
async fn token(conn: &mut Conn, who: &Identity) -> String {
    let reply = scenario::private_key_jwt_token(conn, who).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text("error"));
    reply.text("access_token")
}

/// The audit records of `demo`'s shared log whose request id is `id`.
async fn records_of(demo: &Demo, id: &str) -> Vec<AuditRecord> {
    let entries = demo
        .app
        .with_audit(|app| {
            let size = app.audit.size()?;
            app.audit.entries(0, size)
        })
        .await
        .unwrap()
        .unwrap();
    entries
        .iter()
        .filter_map(|e| AuditRecord::from_canonical(e).ok())
        .filter(|r| r.request_id() == id)
        .collect()
}

/// Panics if `deadline` has passed; else waits a little before a retry.
async fn retry(what: &str, deadline: Instant) {
    assert!(Instant::now() < deadline, "{what}: not within 20 s");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[test]
fn two_instances_share_one_truth() {
    let Some(admin) = postgres_url() else { return };
    let Some(mut redis) = redis_support::RedisServer::start("two_instances_share_one_truth") else {
        return;
    };
    // The database is made and dropped off the runtime: the synchronous
    // PostgreSQL client blocks.
    let db = Database::create(&admin);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(two_instances(&db, &mut redis));
    drop(runtime);
}

async fn two_instances(db: &Database, redis: &mut redis_support::RedisServer) {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: dir.path().join("data"),
        postgres: Some(db.url.clone()),
        redis: Some(redis.url()),
        ..Options::default()
    };
    // Two instances on one data directory (the keys and certificates; a
    // deployment ships them to every instance) and the shared servers.
    let a = setup::start(&options).await.unwrap();
    let b = setup::start(&options).await.unwrap();
    assert_eq!(a.app.backends, "postgres+redis");
    assert_ne!(a.addr, b.addr);
    let mut conn_a = a.connect().await.unwrap();
    let mut conn_b = b.connect().await.unwrap();

    // 1. A signed request accepted by A is a replay at B.
    let load_token = token(&mut conn_a, &a.load).await;
    let first = read_account(&a.load, &load_token);
    let replay = client::duplicate(&first);
    let reply = conn_a.send(first).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    let reply = conn_b.send(replay).await.unwrap();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    let refused = records_of(&b, &id).await;
    assert_eq!(refused.len(), 1, "one record of the replay");
    assert_eq!(refused[0].details()["reason"], "signature_replayed");

    // 2. A client assertion used at A is a replay at B.
    let assertion = a.load.client_assertion(ISSUER).unwrap();
    let body = scenario::form_token_request("accounts:read", Some(&assertion));
    let reply = conn_a
        .call(&a.load, &scenario::token_call(body.clone(), None))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    let reply = conn_b
        .call(&b.load, &scenario::token_call(body, None))
        .await
        .unwrap();
    // invalid_client, 400 for credentials in the body (RFC 6749 5.2).
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "assertion replayed");
    assert_eq!(reply.text("error"), "invalid_client");

    // 3. The demo client's request rate limit (DEMO_RATE per second, the
    //    same burst) counts across both instances: alternating between
    //    them, the client gets about one burst, not one per instance.
    let demo_token = token(&mut conn_a, &a.demo).await;
    let started = Instant::now();
    let (mut ok, mut limited) = (0u32, 0u32);
    for i in 0..(3 * setup::DEMO_RATE) {
        let conn = if i % 2 == 0 { &mut conn_a } else { &mut conn_b };
        let reply = conn.send(read_account(&a.demo, &demo_token)).await.unwrap();
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = f64::from(setup::DEMO_RATE) * (1.0 + elapsed) + 2.0;
    assert!(
        f64::from(ok) <= allowed && limited > 0,
        "{ok} accepted, {limited} limited in {elapsed:.2} s: the limit is per instance"
    );

    // 4. Failed authentications spread over both instances lock the
    //    client out of both: after the per-client burst (10) of wrong
    //    secrets, half at each, even the right secret is refused.
    // (First the request allowance the burst above spent comes back.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let secret = b.secret.as_str().to_owned();
    let basic = |s: &str| Some(basic_credentials(&a.demo.client_id, s).to_string());
    let body = scenario::form_token_request("accounts:read", None);
    for i in 0..12 {
        let conn = if i % 2 == 0 { &mut conn_a } else { &mut conn_b };
        let reply = conn
            .call(
                &a.demo,
                &scenario::token_call(body.clone(), basic("tresor_cs_wrong")),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = conn_a
        .call(&a.demo, &scenario::token_call(body.clone(), basic(&secret)))
        .await
        .unwrap();
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "the right secret after 12 failures across both instances is still rate-limited"
    );

    let failures = || {
        a.app
            .audit_failures
            .load(std::sync::atomic::Ordering::Relaxed)
            + b.app
                .audit_failures
                .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(failures(), 0, "every request so far is in the audit log");

    // 5. Redis down: signed requests are an outage (503), never accepted
    //    nor blamed on the client, and the audit log says why.
    redis.kill();
    let reply = conn_a
        .send(read_account(&a.load, &load_token))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    let records = records_of(&a, &id).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].details()["reason"], "nonce_store_unavailable");
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = conn_a.send(read_account(&a.load, &load_token)).await;
        if reply.is_ok_and(|r| r.status == StatusCode::OK) {
            break;
        }
        retry("service after Redis returns", deadline).await;
    }

    // 6. PostgreSQL down (when the test may stop it): token requests are
    //    an outage, and service resumes by itself.
    if let Ok(ctl) = std::env::var("TRESOR_POSTGRES_CTL") {
        let run = |action: &str| {
            let status = std::process::Command::new(&ctl)
                .arg(action)
                .status()
                .unwrap();
            assert!(status.success(), "{ctl} {action}");
        };
        run("stop");
        let assertion = b.load.client_assertion(ISSUER).unwrap();
        let body = scenario::form_token_request("accounts:read", Some(&assertion));
        let reply = conn_b
            .call(&b.load, &scenario::token_call(body, None))
            .await
            .unwrap();
        run("start");
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        // Its audit record could not be written (the log is in the same
        // database): counted, for an operator's alert.
        assert!(failures() > 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let assertion = b.load.client_assertion(ISSUER).unwrap();
            let body = scenario::form_token_request("accounts:read", Some(&assertion));
            let reply = conn_b
                .call(&b.load, &scenario::token_call(body, None))
                .await;
            if reply.is_ok_and(|r| r.status == StatusCode::OK) {
                break;
            }
            retry("tokens after PostgreSQL returns", deadline).await;
        }
    } else {
        eprintln!(
            "two_instances_share_one_truth: TRESOR_POSTGRES_CTL not set, PostgreSQL outage not tested"
        );
    }

    // 7. One audit log, written by both, verifies; every request of both
    //    instances is in it.
    let size = b
        .app
        .with_audit(|app| app.audit.verify())
        .await
        .unwrap()
        .unwrap();
    let entries = a
        .app
        .with_audit(move |app| app.audit.entries(0, size))
        .await
        .unwrap()
        .unwrap();
    let ids: std::collections::BTreeSet<String> = entries
        .iter()
        .filter_map(|e| AuditRecord::from_canonical(e).ok())
        .map(|r| r.request_id().to_owned())
        .collect();
    for demo in [&a, &b] {
        let prefix = format!("req-{}-", demo.app.instance);
        assert!(
            ids.iter().any(|id| id.starts_with(&prefix)),
            "no record of instance {}",
            demo.app.instance
        );
    }
    a.server.abort();
    b.server.abort();
}
