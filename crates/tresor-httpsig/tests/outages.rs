//! Outages are not authentication failures: a key resolver, nonce store or
//! remote key whose backend fails, and a full nonce store, are answered 503
//! by the tower layer (with the precise error for its hook), never 401 and
//! never accepted; the request's own faults stay 401. Through a real axum
//! router served by hyper on 127.0.0.1; the failing backends are mocks (a
//! real one cannot fail on demand).

#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::error::Error as _;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};
use tresor_httpsig::tower::{
    RETRY_AFTER_SECONDS, SignLayer, UNAUTHORIZED_BODY, UNAVAILABLE_BODY, VerifyLayer,
};
use tresor_httpsig::{
    Algorithm, BackendError, Error, KeyMap, KeyResolver, MemoryNonceStore, NonceStore, Policy,
    PrivateKey, PublicKey, Signer, Verifier, VerifyingKey,
};

/// What a database driver reports when the database is down.
#[derive(Debug)]
struct ConnectionRefused;

impl fmt::Display for ConnectionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection refused")
    }
}

impl std::error::Error for ConnectionRefused {}

/// A key resolver whose database is down.
struct DownResolver;

impl KeyResolver for DownResolver {
    fn resolve(&self, _key_id: &str) -> Result<Arc<dyn VerifyingKey>, Error> {
        Err(Error::unavailable("key resolver", ConnectionRefused))
    }
}

/// A shared nonce store that is down.
struct DownNonceStore;

impl NonceStore for DownNonceStore {
    fn check_and_remember(
        &self,
        _key_id: &str,
        _nonce: &str,
        _expires_at: i64,
    ) -> Result<(), Error> {
        Err(Error::unavailable("nonce store", ConnectionRefused))
    }
}

/// A verifying key held by a remote service that is down.
struct DownRemoteKey(Algorithm);

impl VerifyingKey for DownRemoteKey {
    fn algorithm(&self) -> Algorithm {
        self.0
    }
    fn verify(&self, _base: &[u8], _signature: &[u8]) -> Result<(), Error> {
        Err(Error::unavailable("remote key", ConnectionRefused))
    }
}

type Log = Arc<Mutex<Vec<Error>>>;

struct Server {
    addr: SocketAddr,
    log: Log,
    handled: Arc<AtomicUsize>,
}

/// Serves `verifier` behind the layer on 127.0.0.1; the handler counts the
/// requests that reach it.
async fn serve(verifier: Verifier) -> Server {
    let log: Log = Arc::default();
    let handled = Arc::new(AtomicUsize::new(0));
    let hook_log = log.clone();
    let layer = VerifyLayer::new(verifier)
        .on_reject(move |error, _| hook_log.lock().unwrap().push(error.clone()))
        .forward_body::<Body>();
    let counter = handled.clone();
    let app = Router::new()
        .route(
            "/transfers",
            post(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "accepted"
            }),
        )
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, log, handled }
}

/// Signs a transfer with `key` under `key_id` (with a fresh nonce) and
/// sends it to `server`.
async fn send_signed(
    server: &Server,
    key: &Arc<PrivateKey>,
    key_id: &str,
) -> (StatusCode, HeaderMap, Bytes) {
    let capture =
        service_fn(|r: Request<Full<Bytes>>| async move { Ok::<_, std::convert::Infallible>(r) });
    let request = Request::post(format!("http://{}/transfers", server.addr))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(br#"{"amount":"10.00"}"#)))
        .unwrap();
    let signed = SignLayer::new(Signer::new(key.clone(), key_id).random_nonce())
        .layer(capture)
        .oneshot(request)
        .await
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let (parts, body) = client.request(signed).await.unwrap().into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

fn assert_unavailable(answer: &(StatusCode, HeaderMap, Bytes)) {
    assert_eq!(answer.0, StatusCode::SERVICE_UNAVAILABLE, "{:?}", answer.2);
    assert_eq!(answer.2.as_ref(), UNAVAILABLE_BODY);
    assert_eq!(answer.1["content-type"], "application/json");
    assert_eq!(answer.1["cache-control"], "no-store");
    assert_eq!(answer.1["retry-after"], RETRY_AFTER_SECONDS.to_string());
    assert!(answer.1.get("www-authenticate").is_none());
}

fn take(log: &Log) -> Vec<Error> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// The hook got exactly one `Unavailable` for `what`, with the backend's
/// error as its source.
fn assert_one_outage(log: &Log, what: &str) {
    let events = take(log);
    let [error] = events.as_slice() else {
        panic!("expected one hook event, got {events:?}");
    };
    match error {
        Error::Unavailable { what: w, source } => {
            assert_eq!(*w, what);
            assert!(
                source.downcast_ref::<ConnectionRefused>().is_some(),
                "{source:?}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(error.to_string(), format!("{what} unavailable"));
    assert_eq!(error.source().unwrap().to_string(), "connection refused");
}

fn alice() -> Arc<PrivateKey> {
    Arc::new(PrivateKey::generate(Algorithm::Ed25519).unwrap())
}

fn keys(key_id: &str, key: PublicKey) -> Arc<KeyMap> {
    let mut map = KeyMap::new();
    map.insert(key_id, key);
    Arc::new(map)
}

#[tokio::test]
async fn a_failing_resolver_is_503_with_a_hook_event_never_401() {
    let server = serve(Verifier::new(Arc::new(DownResolver), Policy::new()).scheme("http")).await;
    let answer = send_signed(&server, &alice(), "alice").await;
    assert_unavailable(&answer);
    assert_one_outage(&server.log, "key resolver");
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_nonce_store_is_503_with_a_hook_event_never_acceptance() {
    let key = alice();
    let verifier = Verifier::new(keys("alice", key.public_key()), Policy::new())
        .nonce_store(Arc::new(DownNonceStore))
        .scheme("http");
    let server = serve(verifier).await;
    let answer = send_signed(&server, &key, "alice").await;
    assert_unavailable(&answer);
    assert_one_outage(&server.log, "nonce store");
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_remote_key_is_503_not_a_bad_signature() {
    let mut map = KeyMap::new();
    map.insert("alice", DownRemoteKey(Algorithm::Ed25519));
    let server = serve(Verifier::new(Arc::new(map), Policy::new()).scheme("http")).await;
    let answer = send_signed(&server, &alice(), "alice").await;
    assert_unavailable(&answer);
    assert_one_outage(&server.log, "remote key");
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_full_nonce_store_is_503_and_other_keys_keep_working() {
    let (alice, bob) = (alice(), alice());
    let mut map = KeyMap::new();
    map.insert("alice", alice.public_key());
    map.insert("bob", bob.public_key());
    let store = MemoryNonceStore::new(100).per_key_limit(1);
    let verifier = Verifier::new(Arc::new(map), Policy::new())
        .nonce_store(Arc::new(store))
        .scheme("http");
    let server = serve(verifier).await;

    assert_eq!(
        send_signed(&server, &alice, "alice").await.0,
        StatusCode::OK
    );
    // Alice's share is used: her next authentic request is an overload,
    // not an authentication failure.
    let answer = send_signed(&server, &alice, "alice").await;
    assert_unavailable(&answer);
    let events = take(&server.log);
    assert!(
        matches!(events.as_slice(), [Error::LimitExceeded { what, .. }] if what.contains("share")),
        "{events:?}"
    );
    // Bob is not affected.
    assert_eq!(send_signed(&server, &bob, "bob").await.0, StatusCode::OK);
    assert_eq!(server.handled.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_request_own_faults_stay_401() {
    let key = alice();
    let server =
        serve(Verifier::new(keys("alice", key.public_key()), Policy::new()).scheme("http")).await;
    // Unknown key id: the resolver answered, the answer is no.
    let answer = send_signed(&server, &key, "mallory").await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.2.as_ref(), UNAUTHORIZED_BODY);
    assert!(answer.1.get("retry-after").is_none());
    assert!(matches!(
        take(&server.log).as_slice(),
        [Error::UnknownKey { .. }]
    ));
    // A signature by another key: still a bad signature, 401.
    let answer = send_signed(&server, &alice(), "alice").await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        take(&server.log).as_slice(),
        [Error::BadSignature]
    ));
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}

#[test]
fn backend_errors_compare_by_identity_and_clone_cheaply() {
    let a = Error::unavailable("nonce store", ConnectionRefused);
    let b = Error::unavailable("nonce store", ConnectionRefused);
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
    let shared = BackendError::new("down");
    assert_eq!(shared.to_string(), "down");
    assert_eq!(
        Error::Unavailable {
            what: "x",
            source: shared.clone()
        },
        Error::Unavailable {
            what: "x",
            source: shared
        },
    );
    assert!(a.is_unavailable() && !Error::BadSignature.is_unavailable());
}
