//! `RedisRateLimitStore`: the `RateLimitStore` conformance suite (the same
//! suite as the in-process store's: the same semantics), the key layout
//! and expiry, two servers (two connections) sharing one limit, racing
//! threads, and registries on two servers sharing their failure limits.

#![cfg(feature = "credentials")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::num::NonZeroU32;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use redis::Commands;
use support::RedisServer;
use tresor_credentials::audit::{AuthOutcome, FailureReason};
use tresor_credentials::ratelimit::conformance::{self, fresh_key, quota};
use tresor_credentials::secrecy::SecretString;
use tresor_credentials::{
    AuthAudit, AuthError, AuthEvent, CredentialStore, FailureQuota, LocalPepper,
    MemoryRateLimitStore, MemoryStore, RateLimitStore, RateLimits, Registry,
};
use tresor_redis::{DEFAULT_RATE_PREFIX, RedisConnection, RedisRateLimitStore};

#[test]
fn redis_store_passes_the_conformance_suite() {
    let Some(server) = RedisServer::start("redis_store_passes_the_conformance_suite") else {
        return;
    };
    let store = RedisRateLimitStore::connect(&server.url()).unwrap();
    conformance::run_all(&store);
    // Again, on the same server: the suite's keys are fresh every time.
    conformance::run_all(&store);
}

#[test]
fn the_in_process_store_passes_the_same_suite() {
    conformance::run_all(&MemoryRateLimitStore::default());
}

#[test]
fn keys_are_hashed_under_the_prefix_and_expire_at_the_tat() {
    let Some(server) = RedisServer::start("keys_are_hashed_under_the_prefix_and_expire_at_the_tat")
    else {
        return;
    };
    let store = RedisRateLimitStore::connect(&server.url()).unwrap();
    assert_eq!(store.prefix(), DEFAULT_RATE_PREFIX);
    let mut client = server.client();
    let q = quota(2, Duration::from_millis(150));
    // SHA-256("abc") (FIPS 180-2).
    let key = "tresor:rate:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    assert_eq!(store.peek("abc", q).unwrap(), None);
    let exists: bool = client.exists(key).unwrap();
    assert!(!exists, "a peek writes nothing");

    assert_eq!(store.take("abc", q).unwrap(), None);
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query(&mut client).unwrap();
    let now = seconds * 1_000_000 + micros;
    let tat: u64 = client.get(key).unwrap();
    assert!(
        tat > now && tat <= now + 150_000,
        "the TAT is one period ahead: {tat} {now}"
    );
    let pttl: i64 = client.pttl(key).unwrap();
    assert!(pttl > 0 && pttl <= 150, "expires at the TAT: {pttl} ms");

    // A refused take writes nothing.
    assert_eq!(store.take("abc", q).unwrap(), None);
    let spent: u64 = client.get(key).unwrap();
    assert!(store.take("abc", q).unwrap().is_some());
    assert_eq!(client.get::<_, u64>(key).unwrap(), spent);

    // Idle keys disappear once their bucket is full again.
    std::thread::sleep(Duration::from_millis(400));
    let exists: bool = client.exists(key).unwrap();
    assert!(!exists, "the key expired at its TAT");
    let keys: Vec<String> = client.keys("*").unwrap();
    assert!(keys.is_empty(), "{keys:?}");

    // Another prefix: other keys, other buckets.
    let other = RedisRateLimitStore::connect(&server.url())
        .unwrap()
        .with_prefix("app2:rl:")
        .unwrap();
    let long = quota(1, Duration::from_secs(60));
    assert_eq!(store.take("k", long).unwrap(), None);
    assert_eq!(other.take("k", long).unwrap(), None);
    assert!(store.take("k", long).unwrap().is_some());
    let mut keys: Vec<String> = client.keys("*").unwrap();
    keys.sort();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].starts_with("app2:rl:") && keys[0].len() == 8 + 64);
    assert!(keys[1].starts_with("tresor:rate:") && keys[1].len() == 12 + 64);
    for bad in ["", "a b", "{x}", "é"] {
        assert!(matches!(
            RedisRateLimitStore::connect(&server.url())
                .unwrap()
                .with_prefix(bad),
            Err(tresor_redis::Error::InvalidPrefix)
        ));
    }
}

#[test]
fn a_value_that_is_not_a_tat_is_an_error_not_an_allowance() {
    let Some(server) = RedisServer::start("a_value_that_is_not_a_tat_is_an_error_not_an_allowance")
    else {
        return;
    };
    let store = RedisRateLimitStore::connect(&server.url()).unwrap();
    let mut client = server.client();
    let key = "tresor:rate:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let () = client.set(key, "garbage").unwrap();
    let q = quota(5, Duration::from_secs(1));
    for error in [
        store.take("abc", q).unwrap_err(),
        store.peek("abc", q).unwrap_err(),
    ] {
        assert!(error.is_unavailable(), "{error:?}");
    }
}

#[test]
fn two_servers_share_one_limit() {
    let Some(server) = RedisServer::start("two_servers_share_one_limit") else {
        return;
    };
    let a = RedisRateLimitStore::new(RedisConnection::connect(&server.url()).unwrap());
    let b = RedisRateLimitStore::new(RedisConnection::connect(&server.url()).unwrap());
    let key = fresh_key("two-servers");
    let q = quota(3, Duration::from_secs(60));
    assert_eq!(a.take(&key, q).unwrap(), None);
    assert_eq!(b.take(&key, q).unwrap(), None);
    assert_eq!(b.peek(&key, q).unwrap(), None);
    assert_eq!(a.take(&key, q).unwrap(), None);
    for store in [&a, &b] {
        assert!(store.peek(&key, q).unwrap().is_some());
        let wait = store.take(&key, q).unwrap().unwrap();
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60));
    }
}

#[test]
fn eight_threads_on_two_servers_never_exceed_the_burst() {
    let Some(server) = RedisServer::start("eight_threads_on_two_servers_never_exceed_the_burst")
    else {
        return;
    };
    let a = RedisRateLimitStore::connect(&server.url()).unwrap();
    let b = RedisRateLimitStore::connect(&server.url()).unwrap();
    // The suite's race on one connection.
    conformance::concurrent_takes(&a, 8);
    // Eight threads, four per server, 30 takes each, burst 25.
    for round in 0..5 {
        let key = fresh_key("race");
        let q = quota(25, Duration::from_secs(600));
        let barrier = Barrier::new(8);
        let allowed: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let store = if t % 2 == 0 { &a } else { &b };
                    let (barrier, key) = (&barrier, key.as_str());
                    scope.spawn(move || {
                        barrier.wait();
                        (0..30)
                            .filter(|_| store.take(key, q).unwrap().is_none())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(allowed, 25, "round {round}");
    }
}

// --- Registries on two servers ----------------------------------------------

const WRONG: &str = "tresor_cs_00000000000000000000000000000000000000000002TosSX";

/// Keeps the last failure reason.
#[derive(Default)]
struct LastReason(std::sync::Mutex<Option<FailureReason>>);

impl AuthAudit for LastReason {
    fn record(&self, event: &AuthEvent<'_>) {
        *self.0.lock().unwrap() = match event.outcome {
            AuthOutcome::Success => None,
            AuthOutcome::Failure(reason) => Some(reason),
        };
    }
}

impl LastReason {
    fn get(&self) -> Option<FailureReason> {
        *self.0.lock().unwrap()
    }
}

fn ip(text: &str) -> Option<std::net::IpAddr> {
    text.parse().ok()
}

#[test]
fn registries_on_two_servers_share_their_failure_limits_and_fail_closed() {
    let Some(mut server) =
        RedisServer::start("registries_on_two_servers_share_their_failure_limits_and_fail_closed")
    else {
        return;
    };
    let credentials: Arc<dyn CredentialStore> = Arc::new(MemoryStore::new());
    let pepper = Arc::new(LocalPepper::generate().unwrap());
    let limits = RateLimits::default()
        .with_per_client(FailureQuota::per_hour(NonZeroU32::new(4).unwrap()))
        .with_per_source(FailureQuota::per_hour(NonZeroU32::new(1000).unwrap()));
    let api = |audit: Arc<LastReason>| {
        let connection = RedisConnection::connect(&server.url()).unwrap();
        Registry::builder(credentials.clone(), pepper.clone())
            .audit(audit)
            .rate_limits(limits.clone())
            .shared_rate_limits(Arc::new(RedisRateLimitStore::new(connection)))
            .build()
            .unwrap()
    };
    let (audit_a, audit_b) = (
        Arc::new(LastReason::default()),
        Arc::new(LastReason::default()),
    );
    let (a, b) = (api(audit_a.clone()), api(audit_b.clone()));
    let (id, secret) = a.register("payments", &["p"]).unwrap();
    let right = SecretString::from(secret.expose_secret());
    let wrong = SecretString::from(WRONG);
    let from = ip("203.0.113.9");

    // Successes on both take nothing.
    for registry in [&a, &b, &a, &b, &a] {
        registry.authenticate(id.as_str(), &right, from).unwrap();
    }
    // Four failures, two on each server: the burst is spent on both.
    for registry in [&a, &b, &a, &b] {
        assert_eq!(
            registry
                .authenticate(id.as_str(), &wrong, from)
                .unwrap_err(),
            AuthError::InvalidClient
        );
    }
    for (registry, audit) in [(&a, &audit_a), (&b, &audit_b)] {
        assert_eq!(
            registry
                .authenticate(id.as_str(), &right, from)
                .unwrap_err(),
            AuthError::InvalidClient
        );
        assert_eq!(audit.get(), Some(FailureReason::RateLimitedClient));
    }
    // Not from another address.
    b.authenticate(id.as_str(), &right, ip("203.0.113.10"))
        .unwrap();

    // Redis down: unavailable on both, quickly, never InvalidClient.
    server.kill();
    for (registry, audit) in [(&a, &audit_a), (&b, &audit_b)] {
        for secret in [&right, &wrong] {
            let started = Instant::now();
            assert_eq!(
                registry
                    .authenticate(id.as_str(), secret, ip("198.51.100.1"))
                    .unwrap_err(),
                AuthError::Unavailable
            );
            assert!(started.elapsed() < Duration::from_secs(3));
            assert_eq!(audit.get(), Some(FailureReason::RateLimitUnavailable));
        }
    }

    // Back (empty): both recover by themselves.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    for registry in [&a, &b] {
        while registry.authenticate(id.as_str(), &right, from).is_err() {
            assert!(Instant::now() < deadline, "still unavailable");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
