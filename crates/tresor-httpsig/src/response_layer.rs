//! A tower layer that signs every response of a server (feature `tower`),
//! binding it to the request it answers.
//!
//! [`SignResponseService`] keeps a copy of each request's head, calls the
//! inner service, reads the response body (at most
//! [`SignResponseLayer::max_body_bytes`]) and signs the response with its
//! [`Signer`], covering:
//!
//! - `@status`;
//! - when the body is not empty: `content-type` (when present),
//!   `content-digest` and `content-length` (both added by the signer when
//!   absent; [`Signer::content_digest`] chooses the digest algorithm);
//! - the request it answers: `@method;req`, `@path;req`, and `@query;req`
//!   when the request has a query (RFC 9421 section 2.4), so a response
//!   cannot be replayed as the answer to another request.
//!
//! A client checks it with [`Verifier::verify_response`](crate::Verifier::verify_response),
//! giving the request, under a policy that requires `@method;req` and
//! `@path;req` ([`response_policy`]).
//!
//! A response that cannot be signed (its body is over the maximum, or does
//! not read, or the key fails) is replaced by an unsigned **500** with an
//! empty body: an unsigned answer to a client that verifies is a failure
//! either way, and a 500 says it is the server's.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{Layer, ServiceExt, service_fn};
//! use tresor_httpsig::response_layer::{SignResponseLayer, response_policy};
//! use tresor_httpsig::{Algorithm, KeyMap, Message, PrivateKey, Signer, Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let server_key = PrivateKey::generate(Algorithm::Ed25519)?;
//! let mut keys = KeyMap::new();
//! keys.insert("server", server_key.public_key());
//! let handler = service_fn(|_req: Request<Full<Bytes>>| async {
//!     let mut response = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
//!     response.headers_mut().insert("content-type", "application/json".parse()?);
//!     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(response)
//! });
//! let server = SignResponseLayer::new(Signer::new(Arc::new(server_key), "server")).layer(handler);
//!
//! let request = Request::get("https://api.example/v1/accounts/7").body(Full::new(Bytes::new()))?;
//! let head = Request::get("https://api.example/v1/accounts/7").body(())?;
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! let response = rt.block_on(server.oneshot(request))?;
//! let (parts, body) = response.into_parts();
//! let body = rt.block_on(body.collect())?.to_bytes();
//! let response = Response::from_parts(parts, body.to_vec());
//!
//! let verifier = Verifier::new(Arc::new(keys), response_policy()?);
//! verifier.verify_response(&response, Some(Message::from_request(&head)))?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use tower::{Layer, Service};

use crate::component::ComponentId;
use crate::error::Result;
use crate::message::Message;
use crate::policy::{Policy, default_components};
use crate::sign::Signer;
use crate::tower::{BoxError, DEFAULT_MAX_BODY_BYTES};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The components binding a response to its request: `@method;req`,
/// `@path;req`, and `@query;req` when `with_query`.
pub fn request_binding(with_query: bool) -> Result<Vec<ComponentId>> {
    let mut out = vec![
        ComponentId::method().with_req()?,
        ComponentId::path().with_req()?,
    ];
    if with_query {
        out.push(ComponentId::query().with_req()?);
    }
    Ok(out)
}

/// The default policy plus the request binding of [`request_binding`]
/// (without `@query;req`): what a client verifying responses of a
/// [`SignResponseService`] should require.
pub fn response_policy() -> Result<Policy> {
    let mut policy = Policy::new();
    for c in request_binding(false)? {
        policy = policy.require_component(c);
    }
    Ok(policy)
}

/// A [`Layer`] that signs each response (see the [module
/// documentation](self)).
#[derive(Clone)]
pub struct SignResponseLayer {
    signer: Arc<Signer>,
    max_body_bytes: usize,
}

impl fmt::Debug for SignResponseLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignResponseLayer")
            .field("signer", &self.signer)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl SignResponseLayer {
    /// A layer signing with `signer` (its component list is replaced, per
    /// response, by the one of the module documentation), for bodies of at
    /// most [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(signer: Signer) -> Self {
        Self {
            signer: Arc::new(signer),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The largest response body signed; a larger one becomes a 500.
    #[must_use]
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }
}

impl<S> Layer<S> for SignResponseLayer {
    type Service = SignResponseService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SignResponseService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The [`Service`] of a [`SignResponseLayer`].
#[derive(Clone, Debug)]
pub struct SignResponseService<S> {
    inner: S,
    layer: SignResponseLayer,
}

fn server_error() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// The head of `request`, kept to sign the response against.
fn request_head<B>(request: &Request<B>) -> http::request::Parts {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    head.into_parts().0
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SignResponseService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        let head = request_head(&request);
        Box::pin(async move {
            let response = inner.call(request).await?;
            let (parts, body) = response.into_parts();
            let Ok(collected) = Limited::new(body, layer.max_body_bytes).collect().await else {
                return Ok(server_error());
            };
            let mut response = Response::from_parts(parts, collected.to_bytes());
            let request = Message::from_request_parts(&head);
            let Ok(binding) = request_binding(head.uri.query().is_some()) else {
                return Ok(server_error());
            };
            let mut components = {
                let view = Message::from_response(&response);
                default_components(&view, Some(response.body().len()))
            };
            // The signer adds Content-Digest and Content-Length for a body;
            // Content-Type is covered only when the response has one.
            components.retain(|c| {
                c.name() != "content-type" || response.headers().contains_key("content-type")
            });
            if !response.body().is_empty()
                && !components.iter().any(|c| c.name() == "content-length")
                && let Ok(length) = ComponentId::field("content-length")
            {
                components.push(length);
            }
            components.extend(binding);
            let signer = (*layer.signer).clone().components(components);
            if signer.sign_response(&mut response, Some(request)).is_err() {
                return Ok(server_error());
            }
            Ok(response.map(Full::new))
        })
    }
}
