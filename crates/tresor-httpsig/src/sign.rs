//! Signing requests and responses (RFC 9421 section 3.1).
//!
//! ```
//! use std::sync::Arc;
//! use tresor_httpsig::{HmacKey, KeyResolver, Policy, Signer, Verifier, VerifyingKey};
//!
//! # fn main() -> tresor_httpsig::Result<()> {
//! let secret = [7u8; 32];
//! let mut request = http::Request::builder()
//!     .method("POST")
//!     .uri("https://api.bank.example/payments")
//!     .header("content-type", "application/json")
//!     .body(br#"{"amount":"10.00"}"#.to_vec())
//!     .expect("valid request");
//!
//! // The client: covers @method, @authority, @path and the body (a
//! // Content-Digest and Content-Length are added).
//! Signer::new(Arc::new(HmacKey::new(&secret)?), "client-1").sign_request(&mut request)?;
//!
//! // The server: resolves the key id, applies the default policy.
//! struct OneKey(Arc<HmacKey>);
//! impl KeyResolver for OneKey {
//!     fn resolve(&self, key_id: &str) -> tresor_httpsig::Result<Arc<dyn VerifyingKey>> {
//!         match key_id {
//!             "client-1" => Ok(self.0.clone()),
//!             _ => Err(tresor_httpsig::Error::UnknownKey { key_id: key_id.into() }),
//!         }
//!     }
//! }
//! let verifier = Verifier::new(Arc::new(OneKey(Arc::new(HmacKey::new(&secret)?))), Policy::new());
//! let verified = verifier.verify_request(&request)?;
//! assert_eq!(verified.key_id(), "client-1");
//! assert!(verified.body_checked());
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use http::{HeaderMap, HeaderValue, Request, Response};
use ring::rand::{SecureRandom, SystemRandom};

use crate::base::{SignatureBase, build_signature_base};
use crate::component::ComponentId;
use crate::digest::{DigestAlgorithm, content_digest};
use crate::error::{Error, Result};
use crate::fields::{Limits, append_signature};
use crate::key::SigningKey;
use crate::message::Message;
use crate::params::SignatureParams;
use crate::policy::default_components;
use tresor_types::{Clock, SystemClock};

#[derive(Clone, Debug)]
enum NonceMode {
    Random,
    Fixed(String),
}

/// Signs HTTP messages with one key, adding `Signature-Input` and
/// `Signature` fields.
///
/// Defaults: label `sig`, the [default components](crate::policy::default_components)
/// of the message (the ones the default [`Policy`](crate::Policy) requires),
/// `created` from the clock, `keyid`, no `expires`, no `nonce`, no `alg`.
/// When the body is non-empty and the message has no `Content-Digest`,
/// one is added (SHA-256 unless [`Signer::content_digest`] says otherwise),
/// and `Content-Length` is added when neither it nor `Transfer-Encoding`
/// is present, so the default policy can verify what was signed.
///
/// Parameters are written in the order `created`, `expires`, `keyid`,
/// `alg`, `nonce`, `tag`.
///
/// A request whose `Host` field contradicts the authority of its URI, or
/// that has several `Host` lines, is not signed ([`Error::Malformed`] with
/// field `Host`, see [`Message::check_host`]).
#[derive(Clone)]
pub struct Signer {
    key: Arc<dyn SigningKey>,
    key_id: String,
    label: String,
    components: Option<Vec<ComponentId>>,
    created: Option<i64>,
    expires_in: Option<u64>,
    nonce: Option<NonceMode>,
    tag: Option<String>,
    include_alg: bool,
    clock: Arc<dyn Clock>,
    digest: Option<DigestAlgorithm>,
    scheme: Option<String>,
    limits: Limits,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.key.algorithm())
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with `key`, announcing `key_id` in the `keyid` parameter.
    pub fn new(key: Arc<dyn SigningKey>, key_id: impl Into<String>) -> Self {
        Self {
            key,
            key_id: key_id.into(),
            label: "sig".to_owned(),
            components: None,
            created: None,
            expires_in: None,
            nonce: None,
            tag: None,
            include_alg: false,
            clock: Arc::new(SystemClock),
            digest: Some(DigestAlgorithm::Sha256),
            scheme: None,
            limits: Limits::default(),
        }
    }

    /// The signature label (default `sig`); it must not be used on the
    /// message already.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// The covered components, in order (replacing the defaults).
    #[must_use]
    pub fn components(mut self, components: Vec<ComponentId>) -> Self {
        self.components = Some(components);
        self
    }

    /// A fixed `created` time instead of the clock's.
    #[must_use]
    pub fn created(mut self, created: i64) -> Self {
        self.created = Some(created);
        self
    }

    /// Adds `expires` = `created` + `seconds`.
    #[must_use]
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    /// Adds a fresh random `nonce` (128 bits from the system CSPRNG) to
    /// each signature.
    #[must_use]
    pub fn random_nonce(mut self) -> Self {
        self.nonce = Some(NonceMode::Random);
        self
    }

    /// Adds this exact `nonce` (for reproducing known signatures; prefer
    /// [`Signer::random_nonce`]).
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(NonceMode::Fixed(nonce.into()));
        self
    }

    /// Adds a `tag`.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Whether to add the `alg` parameter (default no; the verifier takes
    /// the algorithm from the key).
    #[must_use]
    pub fn include_alg(mut self, include: bool) -> Self {
        self.include_alg = include;
        self
    }

    /// The clock for `created`.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The algorithm of the `Content-Digest` added for a non-empty body,
    /// or `None` to never add one.
    #[must_use]
    pub fn content_digest(mut self, alg: Option<DigestAlgorithm>) -> Self {
        self.digest = alg;
        self
    }

    /// The scheme of origin-form request URIs (default `https`).
    #[must_use]
    pub fn scheme(mut self, scheme: &str) -> Self {
        self.scheme = Some(scheme.to_owned());
        self
    }

    /// Limits checked on the message's existing signature fields.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Signs a request in place and returns the signature base it signed.
    pub fn sign_request<B: AsRef<[u8]>>(&self, request: &mut Request<B>) -> Result<SignatureBase> {
        let body_len = request.body().as_ref().len();
        let extra = self.body_fields(request.headers(), request.body().as_ref())?;
        add_fields(request.headers_mut(), extra);
        let (base, params_start, signature) = {
            let msg = self.view(Message::from_request(request));
            self.compute(&msg, body_len)?
        };
        append_signature(
            request.headers_mut(),
            &self.label,
            base.as_str().get(params_start..).unwrap_or_default(),
            &signature,
            &self.limits,
        )?;
        Ok(base)
    }

    /// Signs a request head whose body is `body` (empty for none).
    pub fn sign_request_parts(
        &self,
        parts: &mut http::request::Parts,
        body: &[u8],
    ) -> Result<SignatureBase> {
        let extra = self.body_fields(&parts.headers, body)?;
        add_fields(&mut parts.headers, extra);
        let (base, params_start, signature) = {
            let msg = self.view(Message::from_request_parts(parts));
            self.compute(&msg, body.len())?
        };
        append_signature(
            &mut parts.headers,
            &self.label,
            base.as_str().get(params_start..).unwrap_or_default(),
            &signature,
            &self.limits,
        )?;
        Ok(base)
    }

    /// Signs a response in place; `request` is the request it answers,
    /// needed when a component has the `req` parameter.
    pub fn sign_response<B: AsRef<[u8]>>(
        &self,
        response: &mut Response<B>,
        request: Option<Message<'_>>,
    ) -> Result<SignatureBase> {
        let body_len = response.body().as_ref().len();
        let extra = self.body_fields(response.headers(), response.body().as_ref())?;
        add_fields(response.headers_mut(), extra);
        let (base, params_start, signature) = {
            let mut msg = Message::from_response(response);
            if let Some(req) = request {
                msg = msg.with_request(req);
            }
            self.compute(&msg, body_len)?
        };
        append_signature(
            response.headers_mut(),
            &self.label,
            base.as_str().get(params_start..).unwrap_or_default(),
            &signature,
            &self.limits,
        )?;
        Ok(base)
    }

    fn view<'a>(&self, msg: Message<'a>) -> Message<'a> {
        match &self.scheme {
            Some(s) => msg.with_scheme(s),
            None => msg,
        }
    }

    /// The `Content-Digest` and `Content-Length` fields to add for `body`.
    fn body_fields(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<(http::HeaderName, HeaderValue)>> {
        let mut out = Vec::new();
        if body.is_empty() {
            return Ok(out);
        }
        if let Some(alg) = self.digest
            && !headers.contains_key("content-digest")
        {
            let value = HeaderValue::try_from(content_digest(alg, body))
                .map_err(|_| Error::signing("content digest is not a header value"))?;
            out.push((http::HeaderName::from_static("content-digest"), value));
        }
        if !headers.contains_key(http::header::CONTENT_LENGTH)
            && !headers.contains_key(http::header::TRANSFER_ENCODING)
        {
            out.push((http::header::CONTENT_LENGTH, HeaderValue::from(body.len())));
        }
        Ok(out)
    }

    fn params(&self) -> Result<SignatureParams> {
        let created = match self.created {
            Some(created) => created,
            None => self.clock.now().map_err(|e| Error::clock(&e))?.as_secs(),
        };
        let mut params = SignatureParams::new().with_created(created)?;
        if let Some(secs) = self.expires_in {
            let secs =
                i64::try_from(secs).map_err(|_| Error::signing("expires_in is too large"))?;
            params = params.with_expires(created.saturating_add(secs))?;
        }
        params = params.with_keyid(&self.key_id)?;
        if self.include_alg {
            params = params.with_alg(self.key.algorithm())?;
        }
        match &self.nonce {
            Some(NonceMode::Fixed(n)) => params = params.with_nonce(n)?,
            Some(NonceMode::Random) => {
                let mut bytes = [0u8; 16];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| Error::signing("the system random generator failed"))?;
                params = params.with_nonce(&Base64UrlUnpadded::encode_string(&bytes))?;
            }
            None => {}
        }
        if let Some(tag) = &self.tag {
            params = params.with_tag(tag)?;
        }
        Ok(params)
    }

    /// The signature base, where its `@signature-params` value starts, and
    /// the signature.
    fn compute(
        &self,
        msg: &Message<'_>,
        body_len: usize,
    ) -> Result<(SignatureBase, usize, Vec<u8>)> {
        // An ambiguous request (a Host that contradicts the URI) is not
        // signed, whatever the covered components.
        msg.check_host()?;
        let defaults;
        let components = match &self.components {
            Some(c) => c.as_slice(),
            None => {
                let mut d = default_components(msg, Some(body_len));
                d.retain(|c| !c.is_field() || msg.headers().contains_key(c.name()));
                defaults = d;
                defaults.as_slice()
            }
        };
        if components.len() > self.limits.max_components {
            return Err(Error::LimitExceeded {
                what: "number of covered components",
                limit: self.limits.max_components,
            });
        }
        let params = self.params()?;
        let (base, params_start) = build_signature_base(msg, components, &params)?;
        let signature = self.key.sign(base.as_bytes())?;
        Ok((base, params_start, signature))
    }
}

fn add_fields(headers: &mut HeaderMap, fields: Vec<(http::HeaderName, HeaderValue)>) {
    for (name, value) in fields {
        headers.insert(name, value);
    }
}
