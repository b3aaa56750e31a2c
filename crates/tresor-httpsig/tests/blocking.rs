//! A slow backend does not stall the runtime: on a tokio runtime with one
//! worker thread, `VerifyLayer` verifies on the blocking pool, so a request
//! whose key lookup takes a second does not delay a request whose lookup is
//! instant. The same two requests with `verify_inline(true)` show what the
//! blocking pool prevents: the fast one waits for the slow one.

#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};
use tresor_httpsig::tower::{SignLayer, VerifyLayer};
use tresor_httpsig::{Error, HmacKey, KeyResolver, Policy, Signer, Verifier, VerifyingKey};

const SECRET: &[u8] = b"a shared secret of 32 bytes, ok!";
const SLOW: Duration = Duration::from_millis(1000);

/// Resolves every key id to the same HMAC key; `slow` takes [`SLOW`] first,
/// like a database or Redis lookup that hangs.
struct Resolver(Arc<HmacKey>);

impl KeyResolver for Resolver {
    fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>, Error> {
        if key_id == "slow" {
            std::thread::sleep(SLOW);
        }
        Ok(self.0.clone())
    }
}

async fn signed(key_id: &str, key: Arc<HmacKey>) -> Request<Full<Bytes>> {
    let capture = service_fn(|r: Request<Full<Bytes>>| async move { Ok::<_, Infallible>(r) });
    let request = Request::get("https://api.example/balance")
        .body(Full::new(Bytes::new()))
        .unwrap();
    SignLayer::new(Signer::new(key, key_id))
        .layer(capture)
        .oneshot(request)
        .await
        .unwrap()
}

/// Sends a slow and then a fast request through one layer on a runtime with
/// one worker thread (a current-thread runtime: every task runs on the
/// thread that drives it; the blocking pool is apart); returns how long
/// each took.
fn race(inline: bool) -> (Duration, Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = Arc::new(HmacKey::new(SECRET).unwrap());
        let verifier = Verifier::new(Arc::new(Resolver(key.clone())), Policy::new());
        let ok = service_fn(|_r: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        });
        let server = VerifyLayer::new(verifier).verify_inline(inline).layer(ok);
        let slow_request = signed("slow", key.clone()).await;
        let fast_request = signed("fast", key).await;

        let start = Instant::now();
        let slow = tokio::spawn(server.clone().oneshot(slow_request));
        // Let the slow request start first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fast = tokio::spawn(server.oneshot(fast_request));
        let fast_answer = fast.await.unwrap().unwrap();
        let fast_time = start.elapsed();
        let slow_answer = slow.await.unwrap().unwrap();
        let slow_time = start.elapsed();
        assert_eq!(fast_answer.status(), StatusCode::OK);
        assert_eq!(slow_answer.status(), StatusCode::OK);
        (slow_time, fast_time)
    })
}

#[test]
fn a_slow_key_lookup_does_not_stall_other_requests() {
    let (slow, fast) = race(false);
    assert!(slow >= SLOW, "the slow request took {slow:?}");
    assert!(
        fast < SLOW / 2,
        "the fast request waited for the slow one: {fast:?}"
    );
}

#[test]
fn verifying_inline_on_one_worker_stalls_the_next_request() {
    // The control: the same requests, verified on the worker thread.
    let (slow, fast) = race(true);
    assert!(slow >= SLOW, "the slow request took {slow:?}");
    assert!(
        fast >= SLOW,
        "the fast request did not wait ({fast:?}): the race shows nothing"
    );
}

/// A resolver that panics (a bug in a backend) fails closed: 503, and the
/// hook is told, never a 401 and never the inner service.
#[test]
fn a_panicking_verification_is_an_outage() {
    struct Panics;
    impl KeyResolver for Panics {
        fn resolve(&self, _key_id: &str) -> Result<Arc<dyn VerifyingKey>, Error> {
            panic!("a bug in the key store");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = Arc::new(HmacKey::new(SECRET).unwrap());
        let verifier = Verifier::new(Arc::new(Panics), Policy::new());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let inner = service_fn(|_r: Request<Full<Bytes>>| async {
            panic!("the inner service must not be called");
            #[allow(unreachable_code)]
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        });
        let server = VerifyLayer::new(verifier)
            .on_reject(move |error, parts| {
                log.lock()
                    .unwrap()
                    .push((error.is_unavailable(), parts.uri.path().to_owned()));
            })
            .layer(inner);
        let answer = server.oneshot(signed("any", key).await).await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(*seen.lock().unwrap(), vec![(true, "/balance".to_owned())]);
    });
}
