//! Redis goes away and comes back: calls fail closed, as outages, within
//! about the timeout, and the same store object works again afterwards.

#![allow(clippy::unwrap_used, missing_docs)]
#![cfg_attr(
    not(any(feature = "httpsig", feature = "credentials")),
    allow(unused_imports, dead_code)
)]

mod support;

use std::time::{Duration, Instant};

use support::{RedisServer, now};
use tresor_redis::RedisConnection;

/// Retries `call` until it succeeds, for up to ten seconds: the
/// connection manager reconnects in the background with a back-off.
fn eventually<T, E: std::fmt::Debug>(mut call: impl FnMut() -> Result<T, E>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match call() {
            Ok(value) => return value,
            Err(e) => {
                assert!(Instant::now() < deadline, "still failing: {e:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(feature = "httpsig")]
#[test]
fn nonce_store_outage_is_unavailable_and_recovers() {
    use tresor_httpsig::{Error, NonceStore};
    let Some(mut server) = RedisServer::start("nonce_store_outage_is_unavailable_and_recovers")
    else {
        return;
    };
    let timeout = Duration::from_millis(250);
    let connection = RedisConnection::connect_with_timeout(&server.url(), timeout).unwrap();
    assert_eq!(connection.timeout(), timeout);
    let store = tresor_redis::RedisNonceStore::new(connection);
    let exp = now() + 300;
    store.check_and_remember("k", "before", exp).unwrap();

    server.kill();
    for i in 0..5 {
        let started = Instant::now();
        let result = store.check_and_remember("k", &format!("during-{i}"), exp);
        let took = started.elapsed();
        match result {
            Err(Error::Unavailable { what, .. }) => assert_eq!(what, "nonce store"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(took < timeout + Duration::from_secs(2), "took {took:?}");
    }
    // Even a nonce seen before is an outage now, not a replay.
    assert!(matches!(
        store.check_and_remember("k", "before", exp),
        Err(Error::Unavailable { .. })
    ));

    server.restart();
    eventually(|| store.check_and_remember("k", "after", exp));
    assert_eq!(
        store.check_and_remember("k", "after", exp),
        Err(Error::ReplayedNonce)
    );
}

#[cfg(feature = "credentials")]
#[test]
fn replay_cache_outage_fails_closed_and_recovers() {
    use tresor_credentials::assertion::ReplayCache;
    use tresor_credentials::client::ClientId;
    let Some(mut server) = RedisServer::start("replay_cache_outage_fails_closed_and_recovers")
    else {
        return;
    };
    let cache = tresor_redis::RedisReplayCache::connect(&server.url()).unwrap();
    let client = ClientId::parse("clientAAAAAAAAAAAAAAAA").unwrap();
    let exp = now() + 300;
    assert!(
        cache
            .check_and_record(&client, "before", exp, now())
            .unwrap()
    );

    server.kill();
    for i in 0..5 {
        let started = Instant::now();
        let error = cache
            .check_and_record(&client, &format!("during-{i}"), exp, now())
            .unwrap_err();
        let took = started.elapsed();
        assert!(error.is_unavailable(), "{error:?}");
        assert!(
            took < tresor_redis::DEFAULT_TIMEOUT + Duration::from_secs(2),
            "took {took:?}"
        );
    }

    server.restart();
    assert!(eventually(|| cache.check_and_record(
        &client,
        "after",
        exp,
        now()
    )));
    assert!(
        !cache
            .check_and_record(&client, "after", exp, now())
            .unwrap()
    );
}

#[cfg(feature = "credentials")]
#[test]
fn rate_limit_store_outage_is_unavailable_and_recovers() {
    use tresor_credentials::RateLimitStore;
    use tresor_credentials::ratelimit::conformance::quota;
    let Some(mut server) =
        RedisServer::start("rate_limit_store_outage_is_unavailable_and_recovers")
    else {
        return;
    };
    let store = tresor_redis::RedisRateLimitStore::connect(&server.url()).unwrap();
    let q = quota(1, Duration::from_secs(60));
    assert_eq!(store.take("k", q).unwrap(), None);
    assert!(store.take("k", q).unwrap().is_some());

    server.kill();
    for _ in 0..3 {
        for take in [true, false] {
            let started = Instant::now();
            let result = if take {
                store.take("fresh", q)
            } else {
                store.peek("fresh", q)
            };
            let took = started.elapsed();
            let error = result.unwrap_err();
            assert!(error.is_unavailable(), "{error:?}");
            assert!(
                took < tresor_redis::DEFAULT_TIMEOUT + Duration::from_secs(2),
                "took {took:?}"
            );
        }
    }

    // A new, empty server: the same store object works again.
    server.restart();
    assert_eq!(eventually(|| store.take("k", q)), None);
    assert!(store.peek("k", q).unwrap().is_some());
}

#[cfg(feature = "credentials")]
#[test]
fn a_hung_server_times_out_as_unavailable_for_rate_limits() {
    use tresor_credentials::RateLimitStore;
    use tresor_credentials::ratelimit::conformance::quota;
    let Some(server) = RedisServer::start("a_hung_server_times_out_as_unavailable_for_rate_limits")
    else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let connection = RedisConnection::connect_with_timeout(&server.url(), timeout).unwrap();
    let store = tresor_redis::RedisRateLimitStore::new(connection);
    let q = quota(5, Duration::from_secs(60));
    assert_eq!(store.take("k", q).unwrap(), None);
    server.signal("STOP");
    let started = Instant::now();
    let result = store.take("k", q);
    let took = started.elapsed();
    server.signal("CONT");
    assert!(
        result.as_ref().is_err_and(|e| e.is_unavailable()),
        "{result:?}"
    );
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(2),
        "took {took:?}"
    );
    eventually(|| store.take("k", q));
}

#[test]
fn a_server_that_does_not_answer_times_out() {
    // A listener that accepts and never answers: the connection's first
    // handshake times out instead of hanging.
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let url = format!(
        "redis://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let started = Instant::now();
    let result = RedisConnection::connect_with_timeout(&url, Duration::from_millis(200));
    assert!(
        matches!(result, Err(tresor_redis::Error::Unreachable { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[cfg(feature = "httpsig")]
#[test]
fn a_hung_server_times_out_as_unavailable() {
    use tresor_httpsig::{Error, NonceStore};
    let Some(server) = RedisServer::start("a_hung_server_times_out_as_unavailable") else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let connection = RedisConnection::connect_with_timeout(&server.url(), timeout).unwrap();
    let store = tresor_redis::RedisNonceStore::new(connection);
    let exp = now() + 300;
    store.check_and_remember("k", "before", exp).unwrap();
    server.signal("STOP");
    let started = Instant::now();
    let result = store.check_and_remember("k", "during", exp);
    let took = started.elapsed();
    server.signal("CONT");
    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "{result:?}"
    );
    // Bounded by the timeout (with room for a loaded CI machine).
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(2),
        "took {took:?}"
    );
    eventually(|| store.check_and_remember("k", "after", exp));
}
