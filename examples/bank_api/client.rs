//! The API client: signs every request under the profile, sends it over
//! TLS (trusting the demo CA only), and verifies every response's
//! signature and its binding to the request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use base64ct::{Base64UrlUnpadded, Encoding};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use ring::rand::SecureRandom;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use tresor::credentials::ClientId;
use tresor::credentials::assertion::AssertionSigner;
use tresor::httpsig::{DigestAlgorithm, Message, Signer, SigningKey, Verifier};

use crate::profile;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A registered client: its key, the key's thumbprint, its client id.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) key: Arc<dyn SigningKey>,
    pub(crate) kid: String,
    pub(crate) client_id: String,
}

/// One API call, before signing.
#[derive(Clone, Default)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<(Vec<u8>, &'static str)>,
    pub(crate) token: Option<String>,
    pub(crate) basic: Option<String>,
    pub(crate) idempotency_key: Option<String>,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>, token: &str) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            token: Some(token.to_owned()),
            ..Self::default()
        }
    }

    pub(crate) fn post_json(
        path: impl Into<String>,
        token: &str,
        body: &serde_json::Value,
    ) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            body: Some((body.to_string().into_bytes(), "application/json")),
            token: Some(token.to_owned()),
            idempotency_key: Some(random_token(12)),
            ..Self::default()
        }
    }
}

/// 8 × `n` random bits, base64url.
pub(crate) fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    Base64UrlUnpadded::encode_string(&b)
}

impl Identity {
    /// The profile's signer: random nonce, one-minute expiry, sha-512 digest.
    pub(crate) fn signer(&self) -> Signer {
        Signer::new(Arc::clone(&self.key), self.kid.clone())
            .random_nonce()
            .expires_in(60)
            .content_digest(Some(DigestAlgorithm::Sha512))
    }

    /// Builds and signs `call`; `tweak` may change the signer (tests of
    /// refusals: an old `created`, another key).
    pub(crate) fn build(
        &self,
        call: &Call,
        tweak: impl FnOnce(Signer) -> Signer,
    ) -> Result<Request<Vec<u8>>, BoxError> {
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(call.path.as_str())
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "application/json");
        if let Some(t) = &call.token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        } else if let Some(b) = &call.basic {
            builder = builder.header(header::AUTHORIZATION, format!("Basic {b}"));
        }
        if let Some(k) = &call.idempotency_key {
            builder = builder.header("idempotency-key", k.as_str());
        }
        let body = match &call.body {
            Some((bytes, content_type)) => {
                builder = builder.header(header::CONTENT_TYPE, *content_type);
                bytes.clone()
            }
            None => Vec::new(),
        };
        let mut request = builder.body(body)?;
        let has_query = request.uri().query().is_some();
        let api = call.path.starts_with("/v1/");
        let components = profile::components(
            &call.method,
            has_query,
            !request.body().is_empty(),
            call.path != "/oauth/token",
            api,
        );
        tweak(self.signer().components(components)).sign_request(&mut request)?;
        Ok(request)
    }

    /// A `private_key_jwt` client assertion (RFC 7523) for `audience`.
    pub(crate) fn client_assertion(&self, audience: &str) -> Result<String, BoxError> {
        let client_id = ClientId::parse(&self.client_id)?;
        let signer = AssertionSigner::new(Arc::clone(&self.key), self.kid.clone(), client_id)?;
        Ok(signer.sign(audience)?)
    }
}

/// A copy of a signed request, to send it twice.
pub(crate) fn duplicate(request: &Request<Vec<u8>>) -> Request<Vec<u8>> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// An answer, with whether its signature verified against the request.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) signed: bool,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub(crate) fn field(&self, name: &str) -> serde_json::Value {
        self.json()
            .get(name)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
    /// A string field of the JSON answer, or "".
    pub(crate) fn text(&self, name: &str) -> String {
        self.field(name).as_str().unwrap_or_default().to_owned()
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One HTTP/1.1 connection over TLS.
pub(crate) struct Conn {
    send: SendRequest<Full<Bytes>>,
    verifier: Arc<Verifier>,
}

impl Conn {
    pub(crate) async fn open(
        addr: SocketAddr,
        tls: Arc<rustls::ClientConfig>,
        verifier: Arc<Verifier>,
    ) -> Result<Self, BoxError> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let stream = TlsConnector::from(tls)
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let (send, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { send, verifier })
    }

    /// Signs `call` as `who` and sends it.
    pub(crate) async fn call(&mut self, who: &Identity, call: &Call) -> Result<Reply, BoxError> {
        self.send(who.build(call, |s| s)?).await
    }

    /// Sends a signed request and verifies the signed answer.
    pub(crate) async fn send(&mut self, request: Request<Vec<u8>>) -> Result<Reply, BoxError> {
        let mut head = Request::new(());
        *head.method_mut() = request.method().clone();
        *head.uri_mut() = request.uri().clone();
        *head.headers_mut() = request.headers().clone();
        self.send.ready().await?;
        let response = self
            .send
            .send_request(request.map(|b| Full::new(Bytes::from(b))))
            .await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes().to_vec();
        let response = axum::http::Response::from_parts(parts, body);
        let signed = self
            .verifier
            .verify_response(&response, Some(Message::from_request(&head)))
            .is_ok();
        let (parts, body) = response.into_parts();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
            signed,
        })
    }
}

/// `Basic` credentials as RFC 6749 section 2.3.1 says: each half
/// form-urlencoded, then Base64.
pub(crate) fn basic_credentials(client_id: &str, secret: &str) -> zeroize::Zeroizing<String> {
    fn form(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let pair = zeroize::Zeroizing::new(format!("{}:{}", form(client_id), form(secret)));
    zeroize::Zeroizing::new(base64ct::Base64::encode_string(pair.as_bytes()))
}

#[allow(dead_code)]
pub(crate) fn header_value(s: &str) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or(HeaderValue::from_static("invalid"))
}
