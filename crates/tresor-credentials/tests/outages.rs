//! Outages are not authentication failures: a failing store, pepper or
//! replay cache is answered 503 `temporarily_unavailable` (never 401 or
//! `invalid_client`, never a token), and the audit hook gets the precise
//! reason with the backend's error. Through real HTTP: the token endpoint
//! and the registry as a key resolver behind `tresor_httpsig`'s tower
//! `VerifyLayer`, served by axum and hyper on 127.0.0.1. The failing
//! backends are wrappers around the real ones that fail on demand.

#![cfg(all(feature = "httpsig", feature = "http"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
mod keys_support;

use std::error::Error as _;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use base64ct::{Base64, Encoding};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};
use tresor_credentials::assertion::{AssertionVerifier, ReplayCache};
use tresor_credentials::endpoint::RETRY_AFTER_SECONDS;
use tresor_credentials::{
    AuthAudit, AuthEvent, ClientId, Clock, CredentialStore, Error, FixedClock, JwsAlgorithm,
    LocalPepper, MemoryStore, Pepper, Registry, TokenEndpoint, TokenIssuer, TokenSigningKey,
    audit::AuthOutcome, audit::FailureReason, client::ClientRecord, store::StoredClient,
};
use tresor_httpsig::tower::{UNAVAILABLE_BODY, VerifyLayer};
use tresor_httpsig::{Algorithm, Policy, PrivateKey, Signer, SigningKey, Verifier};

const ISS: &str = "https://as.bank.example";

/// What a database driver or KMS client reports when its server is down.
#[derive(Debug)]
struct ConnectionRefused;

impl fmt::Display for ConnectionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection refused")
    }
}

impl std::error::Error for ConnectionRefused {}

fn down() -> Error {
    Error::storage(ConnectionRefused)
}

/// A memory store that fails every call while `down` is set.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    down: AtomicBool,
}

impl FlakyStore {
    fn up(&self) -> tresor_credentials::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(down())
        } else {
            Ok(())
        }
    }
}

impl CredentialStore for FlakyStore {
    fn insert(&self, record: &ClientRecord) -> tresor_credentials::Result<()> {
        self.up()?;
        self.inner.insert(record)
    }
    fn get(&self, id: &ClientId) -> tresor_credentials::Result<Option<StoredClient>> {
        self.up()?;
        self.inner.get(id)
    }
    fn update(&self, record: &ClientRecord, expected: u64) -> tresor_credentials::Result<u64> {
        self.up()?;
        self.inner.update(record, expected)
    }
    fn list(&self) -> tresor_credentials::Result<Vec<StoredClient>> {
        self.up()?;
        self.inner.list()
    }
    fn find_by_key(&self, kid: &str) -> tresor_credentials::Result<Option<StoredClient>> {
        self.up()?;
        self.inner.find_by_key(kid)
    }
}

/// A local pepper that fails every MAC while `down` is set (a KMS outage).
struct FlakyPepper {
    inner: LocalPepper,
    down: AtomicBool,
}

impl Pepper for FlakyPepper {
    fn current_version(&self) -> u32 {
        self.inner.current_version()
    }
    fn mac(&self, version: u32, data: &[u8]) -> tresor_credentials::Result<[u8; 32]> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::pepper(ConnectionRefused));
        }
        self.inner.mac(version, data)
    }
}

/// A replay cache whose shared store is down.
struct DownReplayCache;

impl ReplayCache for DownReplayCache {
    fn check_and_record(
        &self,
        _client_id: &ClientId,
        _jti: &str,
        _expires: i64,
        _now: i64,
    ) -> tresor_credentials::Result<bool> {
        Err(down())
    }
}

/// Keeps each event's outcome and its error's full chain.
#[derive(Default)]
struct Audit(Mutex<Vec<(AuthOutcome, Option<String>)>>);

impl AuthAudit for Audit {
    fn record(&self, event: &AuthEvent<'_>) {
        let chain = event.error.map(|e| {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        });
        self.0.lock().unwrap().push((event.outcome, chain));
    }
}

impl Audit {
    fn take(&self) -> Vec<(AuthOutcome, Option<String>)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Setup {
    registry: Arc<Registry>,
    store: Arc<FlakyStore>,
    pepper: Arc<FlakyPepper>,
    audit: Arc<Audit>,
    clock: Arc<FixedClock>,
}

fn setup() -> Setup {
    let store = Arc::new(FlakyStore::default());
    let pepper = Arc::new(FlakyPepper {
        inner: LocalPepper::generate().unwrap(),
        down: AtomicBool::new(false),
    });
    let audit = Arc::new(Audit::default());
    let clock = Arc::new(FixedClock::new(common::T0));
    let registry = Registry::builder(store.clone(), pepper.clone())
        .clock(clock.clone())
        .audit(audit.clone())
        .rate_limits(common::generous_limits())
        .build()
        .unwrap();
    Setup {
        registry: Arc::new(registry),
        store,
        pepper,
        audit,
        clock,
    }
}

/// Serves `app` on 127.0.0.1.
async fn serve(app: Router) -> SocketAddr {
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
    addr
}

/// The token endpoint at `/token`, through its `http` adapter.
async fn serve_token_endpoint(endpoint: TokenEndpoint) -> SocketAddr {
    let endpoint = Arc::new(endpoint);
    let app = Router::new().route(
        "/token",
        post(move |request: Request<Body>| {
            let endpoint = endpoint.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = body.collect().await.unwrap().to_bytes();
                let request = Request::from_parts(parts, bytes);
                let source = "192.0.2.7".parse().ok();
                endpoint.handle_http(&request, source).map(Body::from)
            }
        }),
    );
    serve(app).await
}

async fn send(request: Request<Full<Bytes>>) -> (StatusCode, HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let (parts, body) = client.request(request).await.unwrap().into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

async fn token_request(
    addr: SocketAddr,
    authorization: Option<String>,
    body: String,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::post(format!("http://{addr}/token"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    send(request.body(Full::new(Bytes::from(body))).unwrap()).await
}

/// The endpoint's outage answer: 503 `temporarily_unavailable`, never a
/// token and never a `Basic` challenge.
fn assert_token_unavailable(answer: &(StatusCode, HeaderMap, Bytes)) {
    assert_eq!(answer.0, StatusCode::SERVICE_UNAVAILABLE, "{:?}", answer.2);
    let body: Value = serde_json::from_slice(&answer.2).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none());
    assert_eq!(answer.1["retry-after"], RETRY_AFTER_SECONDS.to_string());
    assert_eq!(answer.1["cache-control"], "no-store");
    assert!(answer.1.get("www-authenticate").is_none());
}

/// The audit hook got one event: `reason`, with the backend's error.
fn assert_one_outage(audit: &Audit, reason: FailureReason, error: &str) {
    let events = audit.take();
    assert_eq!(
        events,
        [(AuthOutcome::Failure(reason), Some(error.to_owned()))],
        "{events:?}"
    );
}

fn basic(id: &ClientId, secret: &str) -> Option<String> {
    Some(format!(
        "Basic {}",
        Base64::encode_string(format!("{id}:{secret}").as_bytes())
    ))
}

fn endpoint(s: &Setup) -> TokenEndpoint {
    let key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::Es256).unwrap());
    let issuer = TokenIssuer::new(ISS, "https://api.bank.example", key).clock(s.clock.clone());
    TokenEndpoint::new(s.registry.clone(), issuer)
}

const GRANT: &str = "grant_type=client_credentials";

#[tokio::test]
async fn a_failing_pepper_is_503_at_the_token_endpoint_with_the_reason_audited() {
    let s = setup();
    let (id, secret) = s.registry.register("batch", &["payments:read"]).unwrap();
    let addr = serve_token_endpoint(endpoint(&s)).await;

    let ok = token_request(addr, basic(&id, secret.expose_secret()), GRANT.into()).await;
    assert_eq!(ok.0, StatusCode::OK);
    s.audit.take();

    s.pepper.down.store(true, Ordering::SeqCst);
    let answer = token_request(addr, basic(&id, secret.expose_secret()), GRANT.into()).await;
    assert_token_unavailable(&answer);
    assert_one_outage(
        &s.audit,
        FailureReason::PepperUnavailable,
        "pepper failure: connection refused",
    );
    // A wrong secret during the outage is no different: the check could
    // not be made, so it is not a verdict either way.
    let answer = token_request(addr, basic(&id, "tresor_cs_guess"), GRANT.into()).await;
    assert_token_unavailable(&answer);
    s.audit.take();
}

#[tokio::test]
async fn a_failing_store_is_503_at_the_token_endpoint_for_every_method() {
    let s = setup();
    let (id, secret) = s.registry.register("batch", &["payments:read"]).unwrap();
    let key = keys_support::TestKey::generate(Algorithm::Ed25519);
    let signer_id = s
        .registry
        .register_without_secret("signer", &["payments:read"])
        .unwrap();
    let kid = keys_support::register(&s.registry, &signer_id, &key).kid;
    let addr = serve_token_endpoint(endpoint(&s)).await;
    s.store.down.store(true, Ordering::SeqCst);
    let chain = "credential store failure: connection refused";

    // client_secret_basic
    let answer = token_request(addr, basic(&id, secret.expose_secret()), GRANT.into()).await;
    assert_token_unavailable(&answer);
    assert_one_outage(&s.audit, FailureReason::StoreUnavailable, chain);

    // client_secret_post
    let body = format!(
        "{GRANT}&client_id={id}&client_secret={}",
        secret.expose_secret()
    );
    assert_token_unavailable(&token_request(addr, None, body).await);
    assert_one_outage(&s.audit, FailureReason::StoreUnavailable, chain);

    // private_key_jwt
    let now = s.clock.now().unwrap().as_secs();
    let assertion = keys_support::jws(
        &key,
        &json!({"alg": "EdDSA", "kid": kid}),
        &json!({"iss": signer_id.as_str(), "sub": signer_id.as_str(), "aud": ISS, "exp": now + 60, "jti": "j1"}),
    );
    let body = format!(
        "{GRANT}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    assert_token_unavailable(&token_request(addr, None, body).await);
    assert_one_outage(&s.audit, FailureReason::StoreUnavailable, chain);
}

#[tokio::test]
async fn a_failing_replay_cache_is_503_never_a_token() {
    let s = setup();
    let key = keys_support::TestKey::generate(Algorithm::Ed25519);
    let id = s
        .registry
        .register_without_secret("signer", &["payments:read"])
        .unwrap();
    let kid = keys_support::register(&s.registry, &id, &key).kid;
    let endpoint = endpoint(&s)
        .assertions(AssertionVerifier::new(ISS).replay_cache(Arc::new(DownReplayCache)));
    let addr = serve_token_endpoint(endpoint).await;
    let now = s.clock.now().unwrap().as_secs();
    let assertion = keys_support::jws(
        &key,
        &json!({"alg": "EdDSA", "kid": kid}),
        &json!({"iss": id.as_str(), "sub": id.as_str(), "aud": ISS, "exp": now + 60, "jti": "j1"}),
    );
    let body = format!(
        "{GRANT}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    assert_token_unavailable(&token_request(addr, None, body).await);
    assert_one_outage(
        &s.audit,
        FailureReason::ReplayCacheUnavailable,
        "credential store failure: connection refused",
    );
}

#[tokio::test]
async fn a_failing_store_is_503_through_the_verify_layer_with_the_registry_resolver() {
    let s = setup();
    // A client with a registered key, proof of possession and all.
    let id = s
        .registry
        .register_without_secret("robot", &["custody:read"])
        .unwrap();
    let key = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let challenge = s.registry.key_challenge(&id).unwrap();
    let proof = key.sign(challenge.as_bytes()).unwrap();
    let kid = s
        .registry
        .add_key(&id, &key.public_key().to_jwk(), challenge.as_str(), &proof)
        .unwrap()
        .kid;
    let key = Arc::new(key);

    let log: Arc<Mutex<Vec<tresor_httpsig::Error>>> = Arc::default();
    let hook_log = log.clone();
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let verifier = Verifier::new(s.registry.clone(), Policy::new()).scheme("http");
    let layer = VerifyLayer::new(verifier)
        .on_reject(move |error, _| hook_log.lock().unwrap().push(error.clone()))
        .forward_body::<Body>();
    let app = Router::new()
        .route(
            "/holdings",
            post(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "ok"
            }),
        )
        .layer(layer);
    let addr = serve(app).await;

    let signed = |key: Arc<PrivateKey>, kid: String| async move {
        let capture =
            service_fn(
                |r: Request<Full<Bytes>>| async move { Ok::<_, std::convert::Infallible>(r) },
            );
        let request = Request::post(format!("http://{addr}/holdings"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        tresor_httpsig::tower::SignLayer::new(Signer::new(key, kid))
            .layer(capture)
            .oneshot(request)
            .await
            .unwrap()
    };

    assert_eq!(
        send(signed(key.clone(), kid.clone()).await).await.0,
        StatusCode::OK
    );

    s.store.down.store(true, Ordering::SeqCst);
    let answer = send(signed(key.clone(), kid.clone()).await).await;
    assert_eq!(answer.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.2.as_ref(), UNAVAILABLE_BODY);
    assert!(answer.1.get("retry-after").is_some());
    assert!(answer.1.get("www-authenticate").is_none());
    let events = std::mem::take(&mut *log.lock().unwrap());
    match events.as_slice() {
        [tresor_httpsig::Error::Unavailable { what, source }] => {
            assert_eq!(*what, "client registry");
            let store_error = source.downcast_ref::<Error>().unwrap();
            assert!(
                matches!(store_error, Error::Storage { .. }),
                "{store_error:?}"
            );
            assert_eq!(
                store_error.source().unwrap().to_string(),
                "connection refused"
            );
        }
        other => panic!("expected one Unavailable, got {other:?}"),
    }
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    // Back up: the same client works again, and an unknown key is 401.
    s.store.down.store(false, Ordering::SeqCst);
    assert_eq!(send(signed(key.clone(), kid).await).await.0, StatusCode::OK);
    let answer = send(signed(key, "unknown-kid".into()).await).await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
}
