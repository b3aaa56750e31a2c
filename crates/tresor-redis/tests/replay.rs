//! `RedisReplayCache` against a real redis-server.

#![cfg(feature = "credentials")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;

use support::{RedisServer, now, sleep_until};
use tresor_credentials::assertion::ReplayCache;
use tresor_credentials::client::ClientId;
use tresor_redis::{RedisConnection, RedisReplayCache};

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
