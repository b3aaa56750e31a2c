//! The tower layers against a real server: an axum router behind
//! `VerifyLayer`, served by hyper on 127.0.0.1, and a hyper client behind
//! `SignLayer`, sending signed, tampered, unsigned, replayed and oversized
//! requests.

#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt, service_fn};
use tresor_httpsig::tower::{
    DEFAULT_MAX_BODY_BYTES, PAYLOAD_TOO_LARGE_BODY, SignError, SignLayer, UNAUTHORIZED_BODY,
    VerifyLayer,
};
use tresor_httpsig::{
    Algorithm, Error, HmacKey, KeyResolver, MemoryNonceStore, Policy, PrivateKey, Signer, Verified,
    Verifier, VerifyingKey,
};

const MAX_BODY: usize = 1024;
const HMAC_SECRET: &[u8] = b"a shared secret of 32 bytes, ok!";

/// keyid -> verifying key, as a client registry would.
#[derive(Default)]
struct Registry(HashMap<String, Arc<dyn VerifyingKey>>);

impl Registry {
    fn with(mut self, key_id: &str, key: Arc<dyn VerifyingKey>) -> Self {
        self.0.insert(key_id.to_owned(), key);
        self
    }
}

impl KeyResolver for Registry {
    fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>, Error> {
        self.0
            .get(key_id)
            .cloned()
            .ok_or_else(|| Error::UnknownKey {
                key_id: key_id.to_owned(),
            })
    }
}

type Log = Arc<Mutex<Vec<(Error, String)>>>;

struct Fixture {
    addr: SocketAddr,
    log: Log,
    alice: Arc<PrivateKey>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client stack that signs with `signer`.
    fn signing_client(
        &self,
        signer: Signer,
    ) -> impl Service<
        Request<Full<Bytes>>,
        Response = Response<hyper::body::Incoming>,
        Error = SignError<hyper_util::client::legacy::Error>,
    > + Clone {
        SignLayer::new(signer).layer(self.client.clone())
    }

    fn alice_signer(&self) -> Signer {
        Signer::new(self.alice.clone(), "alice").random_nonce()
    }

    /// Signs `request` with `signer` without sending it (to tamper with it
    /// before sending it with the raw client).
    async fn sign_only(signer: Signer, request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
        let capture = service_fn(|r: Request<Full<Bytes>>| async move { Ok::<_, Infallible>(r) });
        SignLayer::new(signer)
            .layer(capture)
            .oneshot(request)
            .await
            .unwrap()
    }

    fn take_log(&self) -> Vec<(Error, String)> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

async fn transfer(Extension(verified): Extension<Verified>, body: Bytes) -> String {
    format!(
        "{} {} {}",
        verified.key_id(),
        body.len(),
        verified.body_checked()
    )
}

async fn balance(Extension(verified): Extension<Verified>) -> String {
    verified.key_id().to_owned()
}

async fn start() -> Fixture {
    let alice = Arc::new(PrivateKey::generate(Algorithm::Ed25519).unwrap());
    let registry = Registry::default()
        .with("alice", Arc::new(alice.public_key()))
        .with("bank", Arc::new(HmacKey::new(HMAC_SECRET).unwrap()));
    let verifier = Verifier::new(Arc::new(registry), Policy::new())
        .nonce_store(Arc::new(MemoryNonceStore::new(1000)))
        .scheme("http");
    let log: Log = Arc::default();
    let hook_log = log.clone();
    let layer = VerifyLayer::new(verifier)
        .max_body_bytes(MAX_BODY)
        .on_reject(move |error, parts| {
            hook_log
                .lock()
                .unwrap()
                .push((error.clone(), parts.uri.path().to_owned()));
        })
        .forward_body::<Body>();
    let app = Router::new()
        .route("/transfers", post(transfer))
        .route("/balance", get(balance))
        .layer(layer);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                // Connection errors (a client that hangs up) are not the
                // test's concern; the responses are.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    Fixture {
        addr,
        log,
        alice,
        client,
    }
}

fn json_post(url: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
    Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

async fn read(response: Response<hyper::body::Incoming>) -> (StatusCode, HeaderMap, Bytes) {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes)
}

async fn send_raw(f: &Fixture, request: Request<Full<Bytes>>) -> (StatusCode, HeaderMap, Bytes) {
    read(f.client.request(request).await.unwrap()).await
}

const BODY: &[u8] = br#"{"from":"DE02100100109307118603","amount":"10.00"}"#;

/// The 401 answer, the same for every failure.
fn assert_unauthorized(answer: &(StatusCode, HeaderMap, Bytes)) {
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.2.as_ref(), UNAUTHORIZED_BODY);
    assert_eq!(answer.1["content-type"], "application/json");
    assert_eq!(answer.1["www-authenticate"], "Signature");
    assert_eq!(answer.1["cache-control"], "no-store");
}

#[tokio::test]
async fn signed_requests_pass_and_carry_verified() {
    let f = start().await;

    // Ed25519, POST with a JSON body.
    let client = f.signing_client(f.alice_signer());
    let answer = read(
        client
            .clone()
            .oneshot(json_post(&f.url("/transfers"), BODY))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{:?}", f.take_log());
    assert_eq!(answer.2, format!("alice {} true", BODY.len()));

    // The same client again: a fresh nonce each time.
    let answer = read(
        client
            .oneshot(json_post(&f.url("/transfers"), BODY))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK);

    // HMAC, GET without a body.
    let bank = f.signing_client(Signer::new(
        Arc::new(HmacKey::new(HMAC_SECRET).unwrap()),
        "bank",
    ));
    let get = Request::get(f.url("/balance"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer = read(bank.oneshot(get).await.unwrap()).await;
    assert_eq!(answer.0, StatusCode::OK);
    assert_eq!(answer.2, "bank");

    assert!(f.take_log().is_empty());
}

#[tokio::test]
async fn every_failure_gets_the_same_401_and_the_hook_sees_why() {
    let f = start().await;
    let mut answers = Vec::new();

    // Tampered body: signed, then other bytes of the same length sent.
    let signed = Fixture::sign_only(f.alice_signer(), json_post(&f.url("/transfers"), BODY)).await;
    let (parts, _) = signed.into_parts();
    let tampered = BODY.to_vec();
    let tampered = String::from_utf8(tampered)
        .unwrap()
        .replace("10.00", "99.00");
    let request = Request::from_parts(parts, Full::new(Bytes::from(tampered)));
    answers.push(send_raw(&f, request).await);
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::DigestMismatch { .. }, p)] if p == "/transfers"),
        "{log:?}"
    );

    // Tampered covered header: content-type changed after signing.
    let mut signed =
        Fixture::sign_only(f.alice_signer(), json_post(&f.url("/transfers"), BODY)).await;
    signed
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    answers.push(send_raw(&f, signed).await);
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::BadSignature, _)]),
        "{log:?}"
    );

    // Unsigned.
    answers.push(send_raw(&f, json_post(&f.url("/transfers"), BODY)).await);
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::SignatureNotFound { .. }, _)]),
        "{log:?}"
    );

    // Unknown key.
    let mallory = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let client = f.signing_client(Signer::new(Arc::new(mallory), "mallory"));
    answers.push(
        read(
            client
                .oneshot(json_post(&f.url("/transfers"), BODY))
                .await
                .unwrap(),
        )
        .await,
    );
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::UnknownKey { key_id }, _)] if key_id == "mallory"),
        "{log:?}"
    );

    // A registered key id, but signed with another key.
    let impostor = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let client = f.signing_client(Signer::new(Arc::new(impostor), "alice"));
    answers.push(
        read(
            client
                .oneshot(json_post(&f.url("/transfers"), BODY))
                .await
                .unwrap(),
        )
        .await,
    );
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::BadSignature, _)]),
        "{log:?}"
    );

    // Replayed: the same signed request twice; the first passes.
    let signed = Fixture::sign_only(f.alice_signer(), json_post(&f.url("/transfers"), BODY)).await;
    let (parts, body) = signed.into_parts();
    let first = send_raw(&f, Request::from_parts(parts.clone(), body.clone())).await;
    assert_eq!(first.0, StatusCode::OK);
    answers.push(send_raw(&f, Request::from_parts(parts, body)).await);
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::ReplayedNonce, _)]),
        "{log:?}"
    );

    // Too old: created an hour ago.
    let old = f.alice_signer().created(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
            - 3600,
    );
    let client = f.signing_client(old);
    answers.push(
        read(
            client
                .oneshot(json_post(&f.url("/transfers"), BODY))
                .await
                .unwrap(),
        )
        .await,
    );
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::TooOld { .. }, _)]),
        "{log:?}"
    );

    // Every answer byte for byte the same (status, headers that matter, body).
    assert_eq!(answers.len(), 7);
    for answer in &answers {
        assert_unauthorized(answer);
    }
    let first = &answers[0];
    for answer in &answers[1..] {
        assert_eq!(answer.2, first.2);
        for name in [
            "content-type",
            "content-length",
            "www-authenticate",
            "cache-control",
        ] {
            assert_eq!(answer.1.get(name), first.1.get(name), "{name}");
        }
    }
}

/// A body of `frames` frames of `size` bytes, with no length known in
/// advance (sent chunked).
struct Chunks {
    frames: usize,
    size: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.frames == 0 {
            return Poll::Ready(None);
        }
        self.frames -= 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; self.size])))))
    }
}

#[tokio::test]
async fn bodies_over_the_maximum_are_rejected() {
    let f = start().await;
    let big: &'static [u8] = Box::leak(vec![b'1'; MAX_BODY + 1].into_boxed_slice());

    // Signed, with a Content-Length over the maximum: 413 before reading.
    let client = f.signing_client(f.alice_signer());
    let answer = read(
        client
            .oneshot(json_post(&f.url("/transfers"), big))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.2.as_ref(), PAYLOAD_TOO_LARGE_BODY);
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::LimitExceeded { limit, .. }, _)] if *limit == MAX_BODY),
        "{log:?}"
    );

    // Chunked, no Content-Length: cut off by the limit while reading.
    let client = Client::builder(TokioExecutor::new()).build_http::<Chunks>();
    let request = Request::post(f.url("/transfers"))
        .header("content-type", "application/json")
        .body(Chunks {
            frames: 8,
            size: 512,
        })
        .unwrap();
    let answer = read(client.request(request).await.unwrap()).await;
    assert_eq!(answer.0, StatusCode::PAYLOAD_TOO_LARGE);
    let log = f.take_log();
    assert!(
        matches!(log.as_slice(), [(Error::LimitExceeded { .. }, _)]),
        "{log:?}"
    );

    // Exactly the maximum is fine.
    let client = f.signing_client(f.alice_signer());
    let at_max = &big[..MAX_BODY];
    let answer = read(
        client
            .oneshot(json_post(&f.url("/transfers"), at_max))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{:?}", f.take_log());
    assert_eq!(answer.2, format!("alice {MAX_BODY} true"));

    // The signing side has its own limit and sends nothing over it.
    let client = SignLayer::new(f.alice_signer())
        .max_body_bytes(16)
        .layer(f.client.clone());
    let result = client.oneshot(json_post(&f.url("/transfers"), BODY)).await;
    assert!(
        matches!(
            result,
            Err(SignError::Sign(Error::LimitExceeded { limit: 16, .. }))
        ),
        "{:?}",
        result.map(|r| r.status())
    );
    assert!(f.take_log().is_empty());
}

#[tokio::test]
async fn inner_errors_pass_through_and_rejections_skip_the_inner_service() {
    let key = Arc::new(HmacKey::new(HMAC_SECRET).unwrap());
    let registry = Registry::default().with("bank", key.clone());
    let verifier = Verifier::new(Arc::new(registry), Policy::new());
    let called = Arc::new(Mutex::new(0usize));
    let counter = called.clone();
    let failing = service_fn(move |_r: Request<Full<Bytes>>| {
        *counter.lock().unwrap() += 1;
        async move { Err::<Response<Full<Bytes>>, _>(std::io::Error::other("backend down")) }
    });
    let server = VerifyLayer::new(verifier).layer(failing);
    assert_eq!(DEFAULT_MAX_BODY_BYTES, 1 << 20);

    // Signed: the inner service's error comes back as is.
    let signed = SignLayer::new(Signer::new(key, "bank")).layer(server.clone());
    let error = signed
        .oneshot(json_post("https://api.example/transfers", BODY))
        .await
        .unwrap_err();
    match error {
        SignError::Service(e) => assert_eq!(e.to_string(), "backend down"),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(*called.lock().unwrap(), 1);

    // Unsigned: 401, and the inner service is not called.
    let response = server
        .oneshot(json_post("https://api.example/transfers", BODY))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.as_ref(), UNAUTHORIZED_BODY);
    assert_eq!(*called.lock().unwrap(), 1);
}

/// Sends `head` (a raw HTTP/1.1 request head without body) to the server
/// and returns the status code and the body.
async fn send_raw_head(f: &Fixture, head: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let (addr, head) = (f.addr, head.to_owned());
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// Regression: finding 6 of the security review, issue 8. A signed request
/// rewritten in transit to absolute form naming the signed host, with
/// `Host` naming another tenant, is refused by the layer (before its nonce
/// is used), while the same request with an agreeing `Host` passes.
#[tokio::test]
async fn a_host_contradicting_the_absolute_uri_is_refused() {
    let f = start().await;
    let signed = Fixture::sign_only(
        f.alice_signer(),
        Request::get(f.url("/balance"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    let head = |host: &str| {
        format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nSignature-Input: {}\r\nSignature: {}\r\nConnection: close\r\n\r\n",
            f.url("/balance"),
            signed.headers()["signature-input"].to_str().unwrap(),
            signed.headers()["signature"].to_str().unwrap(),
        )
    };

    let (status, body) = send_raw_head(&f, &head("tenant-b.example")).await;
    assert_eq!(status, 401);
    assert_eq!(body.as_bytes(), UNAUTHORIZED_BODY);
    let log = f.take_log();
    assert_eq!(log.len(), 1);
    assert!(
        matches!(log[0].0, Error::Malformed { field: "Host", .. }),
        "{:?}",
        log[0].0
    );

    // Two Host lines, one of them the signed host: refused too.
    let two = head(&f.addr.to_string()).replace(
        "Connection: close",
        "Host: tenant-b.example\r\nConnection: close",
    );
    let (status, _) = send_raw_head(&f, &two).await;
    assert!(status == 400 || status == 401, "{status}");
    assert!(
        f.take_log()
            .iter()
            .all(|(e, _)| matches!(e, Error::Malformed { field: "Host", .. }))
    );

    // The same signed request with the Host it names: accepted.
    let (status, body) = send_raw_head(&f, &head(&f.addr.to_string())).await;
    assert_eq!(status, 200, "{:?}", f.take_log());
    assert_eq!(body, "alice");
}

/// Regression: finding 10 of the security review, issue 8. The default
/// policy refuses a query parameter that is not UTF-8 once decoded, so a
/// signature over `%FF` cannot pass for `%C3` (or the reverse).
#[tokio::test]
async fn query_parameters_that_are_not_utf8_are_refused_by_default() {
    let f = start().await;
    let signed = Fixture::sign_only(
        f.alice_signer(),
        Request::get(f.url("/balance?account=%FF"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    let answer = send_raw(&f, signed).await;
    assert_unauthorized(&answer);
    let log = f.take_log();
    assert!(
        matches!(log[..], [(Error::Malformed { field: "query", .. }, _)]),
        "{log:?}"
    );

    // Valid UTF-8 passes.
    let client = f.signing_client(f.alice_signer());
    let get = Request::get(f.url("/balance?account=%C3%A9"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer = read(client.oneshot(get).await.unwrap()).await;
    assert_eq!(answer.0, StatusCode::OK, "{:?}", f.take_log());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Garbage in the signature fields, the digest, the length and the body
    /// never panics and never reaches the inner service.
    #[test]
    fn garbage_is_rejected_without_panicking(
        input in "[ -~]{0,80}",
        signature in "[ -~]{0,80}",
        digest in "[ -~]{0,40}",
        length in proptest::option::of("[0-9a-z ]{0,12}"),
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
    ) {
        let registry = Registry::default().with("bank", Arc::new(HmacKey::new(HMAC_SECRET).unwrap()));
        let verifier = Verifier::new(Arc::new(registry), Policy::new());
        let inner = service_fn(|_r: Request<Full<Bytes>>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"reached"))))
        });
        let server = VerifyLayer::new(verifier).max_body_bytes(32).layer(inner);
        let mut request = Request::post("https://api.example/transfers?x=1");
        for (name, value) in [("signature-input", &input), ("signature", &signature), ("content-digest", &digest)] {
            if let Ok(value) = HeaderValue::from_str(value) {
                request = request.header(name, value);
            }
        }
        if let Some(length) = length.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
            request = request.header("content-length", length);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let status = rt.block_on(server.oneshot(request)).unwrap().status();
        proptest::prop_assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{status}"
        );
    }
}
