//! Tower middleware (feature `tower`): a layer that verifies incoming
//! requests and a layer that signs outgoing requests.
//!
//! # Verifying: [`VerifyLayer`]
//!
//! For each request, [`VerifyService`]:
//!
//! 1. rejects it with **413** at once if its `Content-Length` is above the
//!    maximum body size ([`VerifyLayer::max_body_bytes`], default
//!    [`DEFAULT_MAX_BODY_BYTES`]);
//! 2. reads the body through [`http_body_util::Limited`], so it never holds
//!    more than the maximum in memory, whatever the body's framing
//!    (`Content-Length`, chunked, HTTP/2 frames); a body that turns out to
//!    be larger is rejected with **413**, one that fails to read with
//!    **400**;
//! 3. verifies the request with its [`Verifier`]: the signature under the
//!    [`Policy`](crate::Policy), and the `Content-Digest` against the body
//!    it received;
//! 4. on success, inserts the [`Verified`](crate::Verified) value into the request's
//!    extensions (an axum handler takes it with `Extension<Verified>`) and
//!    calls the inner service with the same head and the buffered body
//!    (trailers, which no signature covers here, are not passed on);
//! 5. on failure, answers **401** with the same body and headers whatever
//!    rule failed ([`UNAUTHORIZED_BODY`], `Content-Type: application/json`,
//!    `WWW-Authenticate: Signature`, `Cache-Control: no-store`), so the
//!    answer tells an attacker nothing, and gives the precise [`Error`] to
//!    the [`on_reject`](VerifyLayer::on_reject) hook for logging;
//! 6. except when this server, not the request, is at fault: a backend
//!    failed ([`Error::Unavailable`]: the [`KeyResolver`](crate::KeyResolver)'s
//!    database, the [`NonceStore`](crate::NonceStore), a remote key), or
//!    the nonce store is full ([`Error::LimitExceeded`] from the store,
//!    which is consulted only once the signature verified, so the request
//!    is authentic). Then it answers **503** ([`UNAVAILABLE_BODY`],
//!    `Retry-After: `[`RETRY_AFTER_SECONDS`], `Cache-Control: no-store`),
//!    never 401: a 401 would tell a legitimate client its credentials are
//!    wrong, and make it discard a good key or alert for nothing, during
//!    an outage. The hook gets the precise error here too.
//!
//! Why a full nonce store is 503 and not 401: the request's signature
//! verified, so nothing is wrong with its credentials; either this server
//! holds as many live nonces as it may (an overload, which passes once
//! nonces expire: `Retry-After`), or the key sent more requests in one
//! validity window than its share allows (its own flood, which the other
//! keys do not feel; the key's holder sees 503s, not a verdict that its key
//! is bad). The limits on the request itself (field sizes, signature
//! counts: [`Error::LimitExceeded`] while parsing) stay 401.
//!
//! The hook also sees the 413 ([`Error::LimitExceeded`]) and 400
//! ([`Error::Malformed`] with field `body`) rejections. The inner service
//! is never called for a rejected request, and its errors pass through
//! unchanged.
//!
//! Verification is synchronous: the [`KeyResolver`](crate::KeyResolver) and
//! the [`NonceStore`](crate::NonceStore) are called as plain functions, and
//! a network-backed one (a database, Redis, a key in an HSM) blocks while
//! it waits. So inside a tokio runtime the layer verifies on tokio's
//! blocking pool ([`tokio::task::spawn_blocking`]): a slow store holds one
//! blocking thread, never a worker thread, and the other requests on the
//! runtime go on. (Outside a tokio runtime, or with
//! [`VerifyLayer::verify_inline`], it verifies on the task that polls the
//! response future.) Why not async traits: every store tresor ships
//! (in-memory, SQLite, PKCS#11, PostgreSQL, Redis) is reached through a
//! blocking client or library, and one hop to the blocking pool per request
//! (a few microseconds) covers them all, the CPU-bound signature check (tens
//! of microseconds) included, without a second, async, set of traits. A
//! verification that panics is answered 503, as an outage.
//!
//! # Signing: [`SignLayer`]
//!
//! [`SignService`] reads the outgoing request's body (at most
//! [`SignLayer::max_body_bytes`]), signs the request with its [`Signer`]
//! (which adds `Content-Digest` and `Content-Length` for a non-empty body
//! unless told otherwise) and passes it on with the buffered body.
//! Failures are a [`SignError`]; the inner service's own errors come back
//! as [`SignError::Service`].
//!
//! # Example
//!
//! Both layers in one process: a client stack that signs, in front of a
//! server stack that verifies.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{Layer, ServiceExt, service_fn};
//! use tresor_httpsig::tower::{SignLayer, VerifyLayer};
//! use tresor_httpsig::{
//!     Error, KeyResolver, Policy, PrivateKey, PublicKey, Signer, Verified, Verifier,
//!     VerifyingKey, Algorithm,
//! };
//!
//! // The server's key registry: one client, "client-1".
//! struct Registry(PublicKey);
//! impl KeyResolver for Registry {
//!     fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>, Error> {
//!         match key_id {
//!             "client-1" => Ok(Arc::new(self.0.clone())),
//!             _ => Err(Error::UnknownKey { key_id: key_id.chars().take(64).collect() }),
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let key = PrivateKey::generate(Algorithm::Ed25519)?;
//! let verifier = Verifier::new(Arc::new(Registry(key.public_key())), Policy::new());
//!
//! // The server: a handler behind the verifying layer.
//! let handler = service_fn(|req: Request<Full<Bytes>>| async move {
//!     let who = req.extensions().get::<Verified>().map(|v| v.key_id().to_owned());
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(who.unwrap_or_default()))))
//! });
//! let server = VerifyLayer::new(verifier)
//!     .on_reject(|error, parts| eprintln!("rejected {} {}: {error}", parts.method, parts.uri))
//!     .layer(handler);
//!
//! // The client: the signing layer in front of (here) the server itself.
//! let client = SignLayer::new(Signer::new(Arc::new(key), "client-1")).layer(server.clone());
//!
//! let request = Request::post("https://api.example/transfers")
//!     .header("content-type", "application/json")
//!     .body(Full::new(Bytes::from_static(br#"{"amount":"10.00"}"#)))?;
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! rt.block_on(async {
//!     let response = client.oneshot(request).await?;
//!     assert_eq!(response.status(), StatusCode::OK);
//!     assert_eq!(response.into_body().collect().await?.to_bytes(), "client-1");
//!
//!     // The same request, unsigned: 401.
//!     let unsigned = Request::post("https://api.example/transfers")
//!         .header("content-type", "application/json")
//!         .body(Full::new(Bytes::from_static(br#"{"amount":"10.00"}"#)))?;
//!     let response = server.oneshot(unsigned).await?;
//!     assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! With axum, use [`VerifyLayer::forward_body`] so the inner service gets
//! axum's own body type, and add the layer to the router:
//!
//! ```no_run
//! # use std::sync::Arc;
//! use axum::{Extension, Router, body::Body, routing::post};
//! use tresor_httpsig::tower::VerifyLayer;
//! use tresor_httpsig::{Verified, Verifier};
//!
//! async fn transfer(Extension(verified): Extension<Verified>, body: String) -> String {
//!     format!("{} sent {} bytes", verified.key_id(), body.len())
//! }
//!
//! # fn app(verifier: Verifier) -> Router {
//! let app: Router = Router::new()
//!     .route("/transfers", post(transfer))
//!     .layer(VerifyLayer::new(verifier).forward_body::<Body>());
//! # app }
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tower::{Layer, Service};
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};

use crate::error::Error;
use crate::sign::Signer;
use crate::verify::{Rejected, Verifier};

/// The default maximum body size, for both layers: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// The body of every 401 answer of [`VerifyService`], whatever rule failed.
pub const UNAUTHORIZED_BODY: &[u8] = br#"{"error":"invalid_signature"}"#;

/// The body of the 503 answer of [`VerifyService`] when a backend failed
/// ([`Error::Unavailable`]) or the nonce store is full.
pub const UNAVAILABLE_BODY: &[u8] = br#"{"error":"temporarily_unavailable"}"#;

/// The `Retry-After` of the 503 answer of [`VerifyService`], in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// The body of the 413 answer of [`VerifyService`] to a body over the
/// maximum size.
pub const PAYLOAD_TOO_LARGE_BODY: &[u8] = br#"{"error":"payload_too_large"}"#;

/// The body of the 400 answer of [`VerifyService`] to a body that could not
/// be read.
pub const BAD_REQUEST_BODY: &[u8] = br#"{"error":"invalid_body"}"#;

/// A type-erased error, as tower and hyper use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body of a [`VerifyService`]: the inner service's body, or
/// the fixed body of a rejection.
pub type VerifyResponseBody<B> = Either<B, Full<Bytes>>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type RejectHook = Arc<dyn Fn(&Error, &http::request::Parts) + Send + Sync>;

// ---------------------------------------------------------------------------
// Verifying

/// A [`Layer`] that verifies the signature of each incoming request (see
/// the [module documentation](self)).
///
/// `B` is the body type the inner service receives: [`Full<Bytes>`] by
/// default, or any type built from [`Bytes`] (see
/// [`VerifyLayer::forward_body`]).
pub struct VerifyLayer<B = Full<Bytes>> {
    verifier: Arc<Verifier>,
    max_body_bytes: usize,
    on_reject: Option<RejectHook>,
    inline: bool,
    _body: PhantomData<fn() -> B>,
}

impl<B> Clone for VerifyLayer<B> {
    fn clone(&self) -> Self {
        Self {
            verifier: Arc::clone(&self.verifier),
            max_body_bytes: self.max_body_bytes,
            on_reject: self.on_reject.clone(),
            inline: self.inline,
            _body: PhantomData,
        }
    }
}

impl<B> fmt::Debug for VerifyLayer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("verifier", &self.verifier)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("on_reject", &self.on_reject.is_some())
            .finish()
    }
}

impl VerifyLayer {
    /// A layer verifying with `verifier`, reading bodies of at most
    /// [`DEFAULT_MAX_BODY_BYTES`], without a rejection hook.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Arc::new(verifier),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            on_reject: None,
            inline: false,
            _body: PhantomData,
        }
    }
}

impl<B> VerifyLayer<B> {
    /// The maximum body size in bytes: a request whose body is larger is
    /// answered 413 without reading (or buffering) more than this.
    #[must_use]
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Calls `hook` with the precise error and the request head of every
    /// rejected request, 401, 503, 413 or 400 (to log which rule failed, or
    /// which backend; the answer itself stays uniform). The hook runs
    /// inline and should be quick.
    #[must_use]
    pub fn on_reject<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Error, &http::request::Parts) + Send + Sync + 'static,
    {
        self.on_reject = Some(Arc::new(hook));
        self
    }

    /// Passes the buffered body to the inner service as a `T` (built with
    /// `T::from(Bytes)`), e.g. `axum::body::Body`, [`Bytes`] itself, or
    /// [`Full<Bytes>`] (the default).
    #[must_use]
    pub fn forward_body<T: From<Bytes>>(self) -> VerifyLayer<T> {
        VerifyLayer {
            verifier: self.verifier,
            max_body_bytes: self.max_body_bytes,
            on_reject: self.on_reject,
            inline: self.inline,
            _body: PhantomData,
        }
    }

    /// Verifies on the task that polls the response future instead of
    /// tokio's blocking pool. Only for a [`KeyResolver`](crate::KeyResolver)
    /// and a [`NonceStore`](crate::NonceStore) that never block (in
    /// memory): it saves the hop to the blocking pool, and a slow store
    /// would then stall a worker thread and every request on it.
    #[must_use]
    pub fn verify_inline(mut self, inline: bool) -> Self {
        self.inline = inline;
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

impl<S, B> Layer<S> for VerifyLayer<B> {
    type Service = VerifyService<S, B>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The [`Service`] of a [`VerifyLayer`]: verifies each request, then calls
/// the inner service with [`Verified`](crate::Verified) in the request's extensions.
pub struct VerifyService<S, B = Full<Bytes>> {
    inner: S,
    layer: VerifyLayer<B>,
}

impl<S: Clone, B> Clone for VerifyService<S, B> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, B> fmt::Debug for VerifyService<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, B> VerifyService<S, B> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Why a request was rejected before its signature could be checked, or
/// after.
enum Rejection {
    Unauthorized,
    Unavailable,
    TooLarge,
    BadBody,
}

impl Rejection {
    fn response<T>(self) -> Response<VerifyResponseBody<T>> {
        let (status, body) = match self {
            Rejection::Unauthorized => (StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY),
            Rejection::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_BODY),
            Rejection::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE_BODY),
            Rejection::BadBody => (StatusCode::BAD_REQUEST, BAD_REQUEST_BODY),
        };
        let mut response = Response::new(Either::Right(Full::new(Bytes::from_static(body))));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            Rejection::Unauthorized => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Signature"));
            }
            Rejection::Unavailable => {
                headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            Rejection::TooLarge | Rejection::BadBody => {}
        }
        response
    }
}

/// The `Content-Length` the request declares, if one parses.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads `body` into memory, never holding more than `max` bytes.
async fn read_limited<B>(body: B, max: usize) -> Result<Bytes, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
        Err(e) => Err(Error::Malformed {
            field: "body",
            reason: format!("the body could not be read: {e}"),
        }),
    }
}

/// Runs the verifier on tokio's blocking pool (inside a tokio runtime,
/// unless the layer verifies inline), else here; gives the head and body
/// back with the result. A verification that panicked or was cancelled is
/// an outage.
async fn verify<B>(
    layer: &VerifyLayer<B>,
    parts: http::request::Parts,
    bytes: Bytes,
) -> (
    http::request::Parts,
    Bytes,
    Result<crate::Verified, Rejected>,
) {
    if layer.inline || tokio::runtime::Handle::try_current().is_err() {
        let result = layer.verifier.check_request_parts(&parts, Some(&bytes));
        return (parts, bytes, result);
    }
    let verifier = Arc::clone(&layer.verifier);
    // What the rejection hook sees if the task is lost with the head.
    let (method, uri) = (parts.method.clone(), parts.uri.clone());
    let task = tokio::task::spawn_blocking(move || {
        let result = verifier.check_request_parts(&parts, Some(&bytes));
        (parts, bytes, result)
    });
    match task.await {
        Ok(done) => done,
        Err(join) => {
            let error = Error::unavailable("verifier", VerificationTaskFailed(join.is_panic()));
            let (mut parts, ()) = Request::new(()).into_parts();
            parts.method = method;
            parts.uri = uri;
            (parts, Bytes::new(), Err(Rejected::Refused(error)))
        }
    }
}

/// The blocking task that verified a request panicked or was cancelled.
#[derive(Debug)]
struct VerificationTaskFailed(bool);

impl fmt::Display for VerificationTaskFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            f.write_str("the verification task panicked")
        } else {
            f.write_str("the verification task was cancelled")
        }
    }
}

impl std::error::Error for VerificationTaskFailed {}

fn too_large(max: usize) -> Error {
    Error::LimitExceeded {
        what: "body size",
        limit: max,
    }
}

impl<S, B, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyService<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: From<Bytes> + Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<VerifyResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Call the instance that was polled ready; leave a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let reject = |error: Error, parts: &http::request::Parts, kind: Rejection| {
                if let Some(hook) = &layer.on_reject {
                    hook(&error, parts);
                }
                Ok::<_, S::Error>(kind.response())
            };
            let max = layer.max_body_bytes;
            if declared_length(&parts.headers)
                .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
            {
                return reject(too_large(max), &parts, Rejection::TooLarge);
            }
            let bytes = match read_limited(body, max).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    let kind = match error {
                        Error::LimitExceeded { .. } => Rejection::TooLarge,
                        _ => Rejection::BadBody,
                    };
                    return reject(error, &parts, kind);
                }
            };
            let (parts, bytes, result) = verify(&layer, parts, bytes).await;
            let verified = match result {
                Ok(verified) => verified,
                Err(Rejected::Overloaded(error)) => {
                    return reject(error, &parts, Rejection::Unavailable);
                }
                Err(Rejected::Refused(error)) if error.is_unavailable() => {
                    return reject(error, &parts, Rejection::Unavailable);
                }
                Err(Rejected::Refused(error)) => {
                    return reject(error, &parts, Rejection::Unauthorized);
                }
            };
            let mut request = Request::from_parts(parts, B::from(bytes));
            request.extensions_mut().insert(verified);
            let response = inner.call(request).await?;
            Ok(response.map(Either::Left))
        })
    }
}

// ---------------------------------------------------------------------------
// Signing

/// A [`Layer`] that signs each outgoing request (see the
/// [module documentation](self)).
#[derive(Clone)]
pub struct SignLayer {
    signer: Arc<Signer>,
    max_body_bytes: usize,
}

impl fmt::Debug for SignLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignLayer")
            .field("signer", &self.signer)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl SignLayer {
    /// A layer signing with `signer`, for bodies of at most
    /// [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(signer: Signer) -> Self {
        Self {
            signer: Arc::new(signer),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The maximum body size in bytes: a larger body fails with
    /// [`SignError::Sign`] ([`Error::LimitExceeded`]) and is not sent.
    #[must_use]
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// The signer.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
}

impl<S> Layer<S> for SignLayer {
    type Service = SignService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SignService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The [`Service`] of a [`SignLayer`]: buffers the body, signs the request
/// and calls the inner service with it.
#[derive(Clone, Debug)]
pub struct SignService<S> {
    inner: S,
    layer: SignLayer,
}

impl<S> SignService<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The error of a [`SignService`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SignError<E> {
    /// The request could not be signed, or its body is over the maximum
    /// size ([`Error::LimitExceeded`]); nothing was sent.
    Sign(Error),
    /// The request body could not be read; nothing was sent.
    Body(BoxError),
    /// The inner service failed.
    Service(E),
}

impl<E: fmt::Display> fmt::Display for SignError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Sign(e) => write!(f, "could not sign the request: {e}"),
            SignError::Body(e) => write!(f, "could not read the request body: {e}"),
            SignError::Service(e) => write!(f, "{e}"),
        }
    }
}

impl<E> std::error::Error for SignError<E>
where
    E: std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignError::Sign(e) => Some(e),
            SignError::Body(e) => Some(&**e),
            SignError::Service(e) => e.source(),
        }
    }
}

impl<S, ReqBody> Service<Request<ReqBody>> for SignService<S>
where
    S: Service<Request<Full<Bytes>>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = SignError<S::Error>;
    type Future = BoxFuture<Result<S::Response, SignError<S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(SignError::Service)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let max = layer.max_body_bytes;
            let bytes = match Limited::new(body, max).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(SignError::Sign(too_large(max)));
                }
                Err(e) => return Err(SignError::Body(e)),
            };
            layer
                .signer
                .sign_request_parts(&mut parts, &bytes)
                .map_err(SignError::Sign)?;
            inner
                .call(Request::from_parts(parts, Full::new(bytes)))
                .await
                .map_err(SignError::Service)
        })
    }
}
