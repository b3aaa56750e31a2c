//! Two API servers (two verifying tower layers, two store objects) share
//! one Redis: a signed request accepted by one is a replay (401) at the
//! other, and an outage of Redis is a 503 at both, never an acceptance.

#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::RedisServer;
use tower::{Layer, ServiceExt, service_fn};
use tresor_httpsig::tower::{SignLayer, VerifyLayer};
use tresor_httpsig::{HmacKey, KeyMap, Policy, Signer, Verifier};
use tresor_redis::RedisNonceStore;

const SECRET: &[u8] = b"a shared secret of 32 bytes, ok!";

async fn signed(key: Arc<HmacKey>) -> Request<Full<Bytes>> {
    let capture = service_fn(|r: Request<Full<Bytes>>| async move { Ok::<_, Infallible>(r) });
    let request = Request::get("https://api.example/balance")
        .body(Full::new(Bytes::new()))
        .unwrap();
    SignLayer::new(Signer::new(key, "client-1").random_nonce())
        .layer(capture)
        .oneshot(request)
        .await
        .unwrap()
}

fn clone_request(request: &Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let mut copy = Request::new(Full::new(Bytes::new()));
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

#[test]
fn a_request_accepted_by_one_server_is_a_replay_at_the_other() {
    let Some(mut server) =
        RedisServer::start("a_request_accepted_by_one_server_is_a_replay_at_the_other")
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = Arc::new(HmacKey::new(SECRET).unwrap());
    let mut keys = KeyMap::new();
    keys.insert("client-1", key.clone());
    let keys = Arc::new(keys);
    let api = |store: RedisNonceStore| {
        let verifier = Verifier::new(keys.clone(), Policy::new().require_nonce(true))
            .nonce_store(Arc::new(store));
        let ok = service_fn(|_r: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        });
        VerifyLayer::new(verifier).layer(ok)
    };
    let first = api(RedisNonceStore::connect(&server.url()).unwrap());
    let second = api(RedisNonceStore::connect(&server.url()).unwrap());

    let request = runtime.block_on(signed(key.clone()));
    let replay = clone_request(&request);
    let answer = runtime.block_on(first.clone().oneshot(request)).unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = runtime.block_on(second.clone().oneshot(replay)).unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);

    // Redis down: a fresh request is refused as an outage at both.
    server.kill();
    for api in [&first, &second] {
        let request = runtime.block_on(signed(key.clone()));
        let answer = runtime.block_on(api.clone().oneshot(request)).unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
