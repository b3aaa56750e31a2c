//! `RedisNonceStore` against a real redis-server: the `NonceStore`
//! conformance suite (the same suite as the in-process
//! `MemoryNonceStore`'s: the same semantics), then what is Redis's own.

#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use redis::Commands;
use support::{RedisServer, now, sleep_until};
use tresor_httpsig::nonce::conformance;
use tresor_httpsig::{
    Error, HmacKey, KeyMap, MemoryNonceStore, NonceStore, Policy, Signer, Verifier,
};
use tresor_redis::RedisNonceStore;

#[test]
fn redis_store_passes_the_conformance_suite() {
    let Some(server) = RedisServer::start("redis_store_passes_the_conformance_suite") else {
        return;
    };
    let store = RedisNonceStore::connect(&server.url()).unwrap();
    conformance::run_all(&store);
    // Again, on the same server: the suite's key ids are fresh every time.
    conformance::run_all(&store);
    // Two API servers (two connections, the calls alternating between
    // them) are one store.
    let other = RedisNonceStore::connect(&server.url()).unwrap();
    conformance::run_all(&Alternating([store, other], AtomicUsize::new(0)));
}

/// Each call on the next of two stores.
struct Alternating([RedisNonceStore; 2], AtomicUsize);

impl NonceStore for Alternating {
    fn check_and_remember(
        &self,
        key_id: &str,
        nonce: &str,
        expires_at: i64,
    ) -> tresor_httpsig::Result<()> {
        let [a, b] = &self.0;
        let store = if self.1.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            a
        } else {
            b
        };
        store.check_and_remember(key_id, nonce, expires_at)
    }
}

#[test]
fn redis_store_key_share() {
    let Some(server) = RedisServer::start("redis_store_key_share") else {
        return;
    };
    let store = RedisNonceStore::connect(&server.url()).unwrap();
    for share in [0, 1, 3] {
        conformance::key_share(&store.clone().per_key_limit(share), share);
    }
}

#[test]
fn a_nonce_nothing_bounds_in_time_is_remembered_not_unavailable() {
    let Some(server) =
        RedisServer::start("a_nonce_nothing_bounds_in_time_is_remembered_not_unavailable")
    else {
        return;
    };
    // The verifier passes i64::MAX for a signature without `expires` or
    // `created` (a nonce the policy does not require); Redis used to
    // answer every such call with an error (Lua rounds the expiry to a
    // float `SET ... EXAT` refuses): 503 where the in-process store
    // accepts. Now it is remembered until 2^53 - 1, as any expiry past it.
    let store = RedisNonceStore::connect(&server.url()).unwrap();
    for (nonce, exp) in [("max", i64::MAX), ("2^62", 1 << 62), ("2^53", 1 << 53)] {
        store.check_and_remember("k", nonce, exp).unwrap();
        assert_eq!(
            store.check_and_remember("k", nonce, exp),
            Err(Error::ReplayedNonce)
        );
    }
    let mut client = server.client();
    let keys: Vec<String> = client.keys("tresor:nonce:*").unwrap();
    for key in keys {
        let at: i64 = redis::cmd("EXPIRETIME")
            .arg(&key)
            .query(&mut client)
            .unwrap();
        assert_eq!(at, (1 << 53) - 1, "{key}");
    }
}

#[test]
fn a_verifier_without_a_time_bound_accepts_once_then_refuses_a_replay() {
    let Some(server) =
        RedisServer::start("a_verifier_without_a_time_bound_accepts_once_then_refuses_a_replay")
    else {
        return;
    };
    // No maximum age and no `expires`: nothing bounds the signature, so
    // the verifier remembers its nonce until i64::MAX. It used to be 503
    // (Unavailable) with Redis, where the in-process store accepts.
    let key = Arc::new(HmacKey::new(b"a shared secret of 32 bytes, ok!").unwrap());
    let mut keys = KeyMap::new();
    keys.insert("client-1", key.clone());
    let policy = Policy::new().max_age(None);
    let stores: [Arc<dyn NonceStore>; 2] = [
        Arc::new(RedisNonceStore::connect(&server.url()).unwrap()),
        Arc::new(MemoryNonceStore::new(100)),
    ];
    for store in stores {
        let verifier = Verifier::new(Arc::new(keys.clone()), policy.clone()).nonce_store(store);
        let mut request = http::Request::get("https://api.example/balance")
            .body(Vec::<u8>::new())
            .unwrap();
        Signer::new(key.clone(), "client-1")
            .random_nonce()
            .sign_request(&mut request)
            .unwrap();
        verifier.verify_request(&request).unwrap();
        assert_eq!(
            verifier.verify_request(&request).map(|_| ()),
            Err(Error::ReplayedNonce)
        );
    }
}

#[test]
fn the_in_process_store_passes_the_same_suite() {
    conformance::run_all(&MemoryNonceStore::new(10_000));
    conformance::key_share(&MemoryNonceStore::new(1_000).per_key_limit(3), 3);
}

#[test]
fn replay_is_refused_and_key_ids_are_independent() {
    let Some(server) = RedisServer::start("replay_is_refused_and_key_ids_are_independent") else {
        return;
    };
    let store = RedisNonceStore::connect(&server.url()).unwrap();
    let exp = now() + 300;
    store.check_and_remember("k1", "n1", exp).unwrap();
    assert_eq!(
        store.check_and_remember("k1", "n1", exp),
        Err(Error::ReplayedNonce)
    );
    // The same nonce under another key id is another entry.
    store.check_and_remember("k2", "n1", exp).unwrap();
    // Another store object on the same server sees the first one's nonces
    // (two API servers, one truth).
    let other = RedisNonceStore::connect(&server.url()).unwrap();
    assert_eq!(
        other.check_and_remember("k2", "n1", exp),
        Err(Error::ReplayedNonce)
    );
    // ...unless it uses another prefix.
    let apart = other.with_prefix("app2:nonce:").unwrap();
    apart.check_and_remember("k2", "n1", exp).unwrap();
}

#[test]
fn an_expired_nonce_is_accepted_again_but_not_before() {
    let Some(server) = RedisServer::start("an_expired_nonce_is_accepted_again_but_not_before")
    else {
        return;
    };
    let store = RedisNonceStore::connect(&server.url()).unwrap();
    let exp = now() + 1;
    store.check_and_remember("k", "n", exp).unwrap();
    // Still live through its expiry second, inclusive.
    sleep_until(exp);
    assert_eq!(
        store.check_and_remember("k", "n", exp),
        Err(Error::ReplayedNonce)
    );
    sleep_until(exp + 1);
    store.check_and_remember("k", "n", exp + 60).unwrap();
    assert_eq!(
        store.check_and_remember("k", "n", exp + 60),
        Err(Error::ReplayedNonce)
    );
    // A nonce already outside its window is not remembered (the verifier
    // rejects its signature anyway).
    store.check_and_remember("k", "old", now() - 10).unwrap();
    store.check_and_remember("k", "old", now() - 10).unwrap();
}

#[test]
fn sixteen_threads_one_nonce_exactly_one_wins() {
    let Some(server) = RedisServer::start("sixteen_threads_one_nonce_exactly_one_wins") else {
        return;
    };
    let store = Arc::new(RedisNonceStore::connect(&server.url()).unwrap());
    let exp = now() + 300;
    for round in 0..5 {
        let nonce = format!("race-{round}");
        let barrier = Arc::new(std::sync::Barrier::new(16));
        let results: Vec<_> = (0..16)
            .map(|_| {
                let (store, barrier, nonce) = (store.clone(), barrier.clone(), nonce.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.check_and_remember("k", &nonce, exp)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || *r == Err(Error::ReplayedNonce)),
            "{results:?}"
        );
    }
}

#[test]
fn each_key_id_has_a_bounded_share() {
    let Some(server) = RedisServer::start("each_key_id_has_a_bounded_share") else {
        return;
    };
    let store = RedisNonceStore::connect(&server.url())
        .unwrap()
        .per_key_limit(2);
    assert_eq!(store.key_limit(), 2);
    let exp = now() + 300;
    store.check_and_remember("a", "1", exp).unwrap();
    store.check_and_remember("a", "2", exp).unwrap();
    assert_eq!(
        store.check_and_remember("a", "3", exp),
        Err(Error::LimitExceeded {
            what: "nonce store share of this key",
            limit: 2
        })
    );
    // A replay is still a replay, not a limit.
    assert_eq!(
        store.check_and_remember("a", "1", exp),
        Err(Error::ReplayedNonce)
    );
    // Other keys keep working.
    store.check_and_remember("b", "1", exp).unwrap();
    // Once a's nonces expire, a has room again.
    let short = now() + 1;
    let store = store.per_key_limit(1);
    store.check_and_remember("c", "1", short).unwrap();
    assert!(matches!(
        store.check_and_remember("c", "2", short),
        Err(Error::LimitExceeded { .. })
    ));
    sleep_until(short + 1);
    store.check_and_remember("c", "2", now() + 300).unwrap();
    // A limit of 0 refuses everything.
    let none = store.per_key_limit(0);
    assert!(matches!(
        none.check_and_remember("d", "1", exp),
        Err(Error::LimitExceeded { limit: 0, .. })
    ));
}

#[test]
fn hostile_values_make_fixed_size_keys_under_the_prefix() {
    let Some(server) = RedisServer::start("hostile_values_make_fixed_size_keys_under_the_prefix")
    else {
        return;
    };
    let store = RedisNonceStore::connect(&server.url()).unwrap();
    assert_eq!(store.prefix(), "tresor:nonce:");
    let huge = "x".repeat(1 << 20);
    let exp = now() + 300;
    store.check_and_remember(&huge, "}{*?\r\n", exp).unwrap();
    store.check_and_remember("k", &huge, exp).unwrap();
    assert_eq!(
        store.check_and_remember(&huge, "}{*?\r\n", exp),
        Err(Error::ReplayedNonce)
    );
    let mut client = server.client();
    let keys: Vec<String> = client.keys("*").unwrap();
    assert_eq!(keys.len(), 4, "{keys:?}");
    for key in &keys {
        assert!(key.starts_with("tresor:nonce:{"), "{key}");
        assert!(key.len() <= 13 + 66 + 1 + 64, "{key}");
        let ttl: i64 = client.ttl(key).unwrap();
        assert!((290..=302).contains(&ttl), "{key}: ttl {ttl}");
    }
    assert!(store.clone().with_prefix("").is_err());
    assert!(store.clone().with_prefix("a b").is_err());
    assert!(store.with_prefix("ok:prefix-1.x_").is_ok());
}

#[test]
fn connect_fails_when_the_server_is_unreachable() {
    let Some(mut server) = RedisServer::start("connect_fails_when_the_server_is_unreachable")
    else {
        return;
    };
    let url = server.url();
    server.kill();
    assert!(matches!(
        RedisNonceStore::connect(&url),
        Err(tresor_redis::Error::Unreachable { .. })
    ));
    assert!(matches!(
        RedisNonceStore::connect("http://127.0.0.1/"),
        Err(tresor_redis::Error::InvalidUrl { .. })
    ));
}

#[test]
fn used_from_spawn_blocking_and_dropped_in_async_code() {
    let Some(server) = RedisServer::start("used_from_spawn_blocking_and_dropped_in_async_code")
    else {
        return;
    };
    let store = Arc::new(RedisNonceStore::connect(&server.url()).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let exp = now() + 300;
        let first = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.check_and_remember("k", "n", exp))
        };
        assert_eq!(first.await.unwrap(), Ok(()));
        let second = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.check_and_remember("k", "n", exp))
        };
        assert_eq!(second.await.unwrap(), Err(Error::ReplayedNonce));
        // The last reference dropped inside an async task: no panic.
        drop(store);
    });
}
