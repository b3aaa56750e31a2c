//! `RedisReplayCache` against a real redis-server: the `ReplayCache`
//! conformance suite (the same suite as the in-process
//! `MemoryReplayCache`'s: the same semantics), then what is Redis's own.

#![cfg(feature = "credentials")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;

use std::sync::atomic::{AtomicUsize, Ordering};
use support::{RedisServer, now, sleep_until};

use tresor_credentials::assertion::{MemoryReplayCache, ReplayCache, conformance};
use tresor_credentials::client::ClientId;
use tresor_redis::{RedisConnection, RedisReplayCache};

#[test]
fn redis_cache_passes_the_conformance_suite() {
    let Some(server) = RedisServer::start("redis_cache_passes_the_conformance_suite") else {
        return;
    };
    let cache = RedisReplayCache::connect(&server.url()).unwrap();
    conformance::run_all(&cache);
    // Again, on the same server: the suite's client ids are fresh every time.
    conformance::run_all(&cache);
    // Two API servers (two connections, the calls alternating between
    // them) are one cache.
    let other = RedisReplayCache::connect(&server.url()).unwrap();
    conformance::run_all(&Alternating([cache, other], AtomicUsize::new(0)));
}

/// Each call on the next of two caches.
struct Alternating([RedisReplayCache; 2], AtomicUsize);

impl ReplayCache for Alternating {
    fn check_and_record(
        &self,
        client_id: &ClientId,
        jti: &str,
        expires: i64,
        now: i64,
    ) -> tresor_credentials::Result<bool> {
        let [a, b] = &self.0;
        let cache = if self.1.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            a
        } else {
            b
        };
        cache.check_and_record(client_id, jti, expires, now)
    }
}

#[test]
fn redis_cache_client_quota() {
    let Some(server) = RedisServer::start("redis_cache_client_quota") else {
        return;
    };
    let cache = RedisReplayCache::connect(&server.url()).unwrap();
    for quota in [1, 3] {
        conformance::client_quota(&cache.clone().with_per_client_quota(quota), quota);
    }
}

#[test]
fn a_far_expiry_is_remembered_not_an_error() {
    let Some(server) = RedisServer::start("a_far_expiry_is_remembered_not_an_error") else {
        return;
    };
    // Lua used to round such expiries to a float `SET ... EXAT` refuses:
    // an error where the in-process cache records the jti.
    let cache = RedisReplayCache::connect(&server.url()).unwrap();
    let client = id("clientA");
    for (jti, exp) in [("max", i64::MAX), ("2^62", 1 << 62)] {
        assert!(cache.check_and_record(&client, jti, exp, now()).unwrap());
        assert!(!cache.check_and_record(&client, jti, exp, now()).unwrap());
    }
}

#[test]
fn the_in_process_cache_passes_the_same_suite() {
    conformance::run_all(&MemoryReplayCache::default());
    conformance::client_quota(&MemoryReplayCache::new(1_000).with_per_client_quota(3), 3);
}

/// A client id (22 base62 characters) from a short name.
fn id(name: &str) -> ClientId {
    ClientId::parse(&format!("{name:0<22}")).unwrap()
}

#[test]
fn each_jti_is_used_once_per_client() {
    let Some(server) = RedisServer::start("each_jti_is_used_once_per_client") else {
        return;
    };
    let cache: Arc<dyn ReplayCache> = Arc::new(RedisReplayCache::connect(&server.url()).unwrap());
    let (a, b) = (id("clientA"), id("clientB"));
    let exp = now() + 300;
    assert!(cache.check_and_record(&a, "jti-1", exp, now()).unwrap());
    assert!(!cache.check_and_record(&a, "jti-1", exp, now()).unwrap());
    // Another client's jti space is its own.
    assert!(cache.check_and_record(&b, "jti-1", exp, now()).unwrap());
    // A second server (another connection) sees the first one's jtis.
    let other = RedisReplayCache::connect(&server.url()).unwrap();
    assert!(!other.check_and_record(&b, "jti-1", exp, now()).unwrap());
}

#[test]
fn expiry_is_inclusive() {
    let Some(server) = RedisServer::start("expiry_is_inclusive") else {
        return;
    };
    let cache = RedisReplayCache::connect(&server.url()).unwrap();
    let client = id("clientA");
    let exp = now() + 1;
    assert!(cache.check_and_record(&client, "j", exp, now()).unwrap());
    // Live while now <= expires.
    sleep_until(exp);
    assert!(!cache.check_and_record(&client, "j", exp, now()).unwrap());
    // Forgotten once now > expires.
    sleep_until(exp + 1);
    assert!(
        cache
            .check_and_record(&client, "j", now() + 60, now())
            .unwrap()
    );
}

#[test]
fn a_client_at_its_quota_fails_closed_alone() {
    let Some(server) = RedisServer::start("a_client_at_its_quota_fails_closed_alone") else {
        return;
    };
    let connection = RedisConnection::connect(&server.url()).unwrap();
    let cache = RedisReplayCache::new(connection)
        .with_per_client_quota(2)
        .with_prefix("bank:jti:")
        .unwrap();
    assert_eq!((cache.per_client_quota(), cache.prefix()), (2, "bank:jti:"));
    let (a, b) = (id("clientA"), id("clientB"));
    let exp = now() + 300;
    assert!(cache.check_and_record(&a, "1", exp, now()).unwrap());
    assert!(cache.check_and_record(&a, "2", exp, now()).unwrap());
    let error = cache.check_and_record(&a, "3", exp, now()).unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    // A replay is still a replay.
    assert!(!cache.check_and_record(&a, "1", exp, now()).unwrap());
    assert!(cache.check_and_record(&b, "1", exp, now()).unwrap());
}

#[test]
fn nonce_store_and_replay_cache_share_one_connection_apart() {
    let Some(server) =
        RedisServer::start("nonce_store_and_replay_cache_share_one_connection_apart")
    else {
        return;
    };
    let connection = RedisConnection::connect(&server.url()).unwrap();
    let cache = RedisReplayCache::new(connection.clone());
    let exp = now() + 300;
    assert!(cache.check_and_record(&id("k"), "n", exp, now()).unwrap());
    #[cfg(feature = "httpsig")]
    {
        use tresor_httpsig::NonceStore;
        let store = tresor_redis::RedisNonceStore::new(connection);
        // Same owner and value, other prefix: another entry.
        store.check_and_remember("k", "n", exp).unwrap();
    }
}
