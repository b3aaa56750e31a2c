//! Verifying requests and responses against a [`Policy`] (RFC 9421
//! section 3.2).

use std::sync::Arc;

use http::{Request, Response};

use crate::alg::Algorithm;
use crate::base::signature_base;
use crate::component::ComponentId;
use crate::digest::verify_content_digest_accepting;
use crate::error::{Error, Result};
use crate::fields::{Limits, Selector, parse_signature_inputs, select_signature};
use crate::key::KeyResolver;
use crate::message::Message;
use crate::nonce::{MemoryNonceStore, NonceStore};
use crate::policy::Policy;
use tresor_types::{Clock, SystemClock};

/// What a successful verification established. Only a [`Verifier`] can
/// build one.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    key_id: String,
    label: String,
    algorithm: Algorithm,
    components: Vec<ComponentId>,
    created: Option<i64>,
    expires: Option<i64>,
    nonce: Option<String>,
    tag: Option<String>,
    body_checked: bool,
}

impl Verified {
    /// The `keyid` of the key that verified the signature.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The label of the verified signature.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The covered components, in order.
    pub fn components(&self) -> &[ComponentId] {
        &self.components
    }

    /// `created`, if present.
    pub fn created(&self) -> Option<i64> {
        self.created
    }

    /// `expires`, if present.
    pub fn expires(&self) -> Option<i64> {
        self.expires
    }

    /// `nonce`, if present.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// `tag`, if present.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Whether the body was checked against a covered `Content-Digest`.
    /// `false` when `content-digest` is not covered, or when the caller
    /// gave no body (it must then check the digest itself, e.g. with
    /// [`ContentDigestVerifier`](crate::digest::ContentDigestVerifier) while
    /// streaming).
    pub fn body_checked(&self) -> bool {
        self.body_checked
    }
}

/// Why [`Verifier::check_message`] failed: the request was refused (or a
/// backend failed, [`Error::Unavailable`]), or it was authentic but a full
/// nonce store could not take its nonce.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// A verdict on the request, or [`Error::Unavailable`].
    Refused(Error),
    /// The nonce store is full (for this key or in all): this server is
    /// overloaded.
    Overloaded(Error),
}

impl Rejected {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Self::Refused(e) | Self::Overloaded(e) => e,
        }
    }
}

impl From<Error> for Rejected {
    fn from(error: Error) -> Self {
        Self::Refused(error)
    }
}

/// Verifies signed messages: resolves the key by `keyid`, applies the
/// [`Policy`], checks the signature, the body's `Content-Digest` and the
/// nonce.
///
/// Checks run in this order, the first failure ending verification:
/// a request's `Host` agrees with its URI's authority and occurs at most
/// once ([`Message::check_host`], [`Error::Malformed`] with field `Host`) →
/// its query parameters decode to UTF-8 if the policy requires it
/// ([`Policy::require_utf8_query`], [`Error::Malformed`] with field
/// `query`) →
/// parse `Signature-Input`/`Signature` (within [`Limits`]) → select the
/// signature (policy label, else policy tag, else the first) → `keyid`
/// present and known ([`Error::UnknownKey`]) → the key's algorithm allowed
/// and equal to `alg` when present ([`Error::AlgorithmNotAllowed`]) →
/// required components covered ([`Error::MissingComponent`]) → `created`,
/// `expires`, `nonce`, `tag` rules → signature ([`Error::BadSignature`]) →
/// body against `Content-Digest` ([`Error::DigestMismatch`]) → nonce
/// remembered ([`Error::ReplayedNonce`]), last, so a forged message cannot
/// burn a nonce.
#[derive(Clone)]
pub struct Verifier {
    resolver: Arc<dyn KeyResolver>,
    policy: Policy,
    clock: Arc<dyn Clock>,
    nonces: Option<Arc<dyn NonceStore>>,
    /// Whether `nonces` is the in-memory store `new` made (rebuilt on the
    /// verifier's clock when that changes).
    default_nonces: bool,
    limits: Limits,
    scheme: Option<String>,
}

/// The capacity of the in-memory nonce store a [`Verifier`] makes for a
/// policy that requires nonces (a few tens of MB when full). Each key id
/// gets the default share of it, `DEFAULT_NONCE_CAPACITY /`
/// [`DEFAULT_KEY_SHARE_DIVISOR`](crate::nonce::DEFAULT_KEY_SHARE_DIVISOR) = 10 000
/// live nonces (about 33 requests a second per key over the default 305 s
/// window); a key past its share is refused without affecting the others.
pub const DEFAULT_NONCE_CAPACITY: usize = 100_000;

fn default_nonce_store(clock: &Arc<dyn Clock>) -> Arc<dyn NonceStore> {
    Arc::new(MemoryNonceStore::with_clock(
        DEFAULT_NONCE_CAPACITY,
        clock.clone(),
    ))
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier on the system clock. If the policy requires a nonce
    /// ([`Policy::require_nonce`]), replays are rejected from the start: the
    /// verifier remembers nonces in a [`MemoryNonceStore`] of
    /// [`DEFAULT_NONCE_CAPACITY`] entries with the default per-key share,
    /// for this process only (several servers need a shared
    /// [`NonceStore`]: see [`Verifier::nonce_store`]; another capacity or
    /// share: give a [`MemoryNonceStore`] built with
    /// [`MemoryNonceStore::per_key_limit`]).
    /// Otherwise nonces are not remembered unless a store is given.
    pub fn new(resolver: Arc<dyn KeyResolver>, policy: Policy) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let default_nonces = policy.nonce_required();
        let nonces = default_nonces.then(|| default_nonce_store(&clock));
        Self {
            resolver,
            policy,
            clock,
            nonces,
            default_nonces,
            limits: Limits::default(),
            scheme: None,
        }
    }

    /// The clock (tests pin the time).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        if self.default_nonces {
            // Nonces expire on the verifier's time, not the system's.
            self.nonces = Some(default_nonce_store(&clock));
        }
        self.clock = clock;
        self
    }

    /// Remembers nonces in `store` and rejects replays.
    #[must_use]
    pub fn nonce_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.nonces = Some(store);
        self.default_nonces = false;
        self
    }

    /// Limits on the signature fields.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The scheme of origin-form request URIs (default `https`).
    #[must_use]
    pub fn scheme(mut self, scheme: &str) -> Self {
        self.scheme = Some(scheme.to_owned());
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn view<'a>(&self, msg: Message<'a>) -> Message<'a> {
        match &self.scheme {
            Some(s) => msg.with_scheme(s),
            None => msg,
        }
    }

    /// Verifies a request, checking its body against `Content-Digest` when
    /// that is covered.
    pub fn verify_request<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Result<Verified> {
        self.verify_message(
            &self.view(Message::from_request(request)),
            Some(request.body().as_ref()),
        )
    }

    /// Verifies a request head; `body` as in [`Verifier::verify_message`].
    pub fn verify_request_parts(
        &self,
        parts: &http::request::Parts,
        body: Option<&[u8]>,
    ) -> Result<Verified> {
        self.verify_message(&self.view(Message::from_request_parts(parts)), body)
    }

    /// Verifies a response; `request` is the request it answers (for
    /// components with `req`).
    pub fn verify_response<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        request: Option<Message<'_>>,
    ) -> Result<Verified> {
        let mut msg = Message::from_response(response);
        if let Some(req) = request {
            msg = msg.with_request(req);
        }
        self.verify_message(&msg, Some(response.body().as_ref()))
    }

    /// Verifies any message view. `body`: `Some(bytes)` to check a covered
    /// `Content-Digest` against them; `None` when the body is checked
    /// separately (see [`Verified::body_checked`]).
    pub fn verify_message(&self, message: &Message<'_>, body: Option<&[u8]>) -> Result<Verified> {
        self.check_message(message, body)
            .map_err(Rejected::into_error)
    }

    /// [`Verifier::verify_request_parts`], telling an overload of this
    /// server from a refusal of the request (for the tower layer).
    #[cfg(feature = "tower")]
    pub(crate) fn check_request_parts(
        &self,
        parts: &http::request::Parts,
        body: Option<&[u8]>,
    ) -> Result<Verified, Rejected> {
        self.check_message(&self.view(Message::from_request_parts(parts)), body)
    }

    fn check_message(
        &self,
        message: &Message<'_>,
        body: Option<&[u8]>,
    ) -> Result<Verified, Rejected> {
        message.check_host()?;
        self.policy.check_query(message)?;
        let headers = message.headers();
        let selector = match (self.policy.required_label(), self.policy.required_tag()) {
            (Some(label), _) => Selector::Label(label.to_owned()),
            (None, Some(tag)) => Selector::Tag(tag.to_owned()),
            (None, None) => Selector::First,
        };
        let selected = match select_signature(headers, &selector, &self.limits) {
            Err(Error::SignatureNotFound { selector: s }) => {
                if let Selector::Tag(expected) = &selector
                    && let Some(first) = parse_signature_inputs(headers, &self.limits)?.first()
                {
                    return Err(Rejected::Refused(Error::TagMismatch {
                        expected: expected.clone(),
                        found: first
                            .params()
                            .tag()
                            .unwrap_or_default()
                            .chars()
                            .take(64)
                            .collect(),
                    }));
                }
                return Err(Error::SignatureNotFound { selector: s }.into());
            }
            other => other?,
        };
        let (input, signature) = selected.into_parts();
        let params = input.params();
        let key_id = params
            .keyid()
            .ok_or(Rejected::Refused(Error::MissingParameter {
                parameter: "keyid",
            }))?;
        let key = self.resolver.resolve(key_id)?;
        let algorithm = key.algorithm();
        self.policy.check_algorithm(algorithm, params)?;
        self.policy
            .check_components(message, body.map(<[u8]>::len), input.components())?;
        let now = self.clock.now().map_err(|e| Error::clock(&e))?.as_secs();
        self.policy.check_params(params, now)?;
        let base = signature_base(message, input.components(), params)?;
        // Whatever else went wrong is a bad signature (the error must not
        // help forge one); only a key whose backend failed says so.
        key.verify(base.as_bytes(), &signature)
            .map_err(|e| match e {
                Error::Unavailable { .. } => e,
                _ => Error::BadSignature,
            })?;

        let mut body_checked = false;
        if let Some(body) = body
            && let Some(covered) = input
                .components()
                .iter()
                .find(|c| c.is_field() && c.name() == "content-digest" && !c.is_req())
        {
            let mut plain = ComponentId::field("content-digest")?;
            if covered.is_tr() {
                plain = plain.with_tr()?;
            }
            let value = message.value(&plain)?;
            verify_content_digest_accepting(
                &value,
                body,
                self.policy.accepted_digest_algorithms(),
            )?;
            body_checked = true;
        }

        if let (Some(store), Some(nonce)) = (&self.nonces, params.nonce()) {
            store
                .check_and_remember(key_id, nonce, self.policy.nonce_horizon(params))
                .map_err(|error| match error {
                    // The request is authentic (the store is consulted
                    // last): a full store is an overload of this server.
                    Error::LimitExceeded { .. } => Rejected::Overloaded(error),
                    error => Rejected::from(error),
                })?;
        }

        let key_id = key_id.to_owned();
        let created = params.created();
        let expires = params.expires();
        let nonce = params.nonce().map(str::to_owned);
        let tag = params.tag().map(str::to_owned);
        let (label, components) = input.into_label_and_components();
        Ok(Verified {
            key_id,
            label,
            algorithm,
            components,
            created,
            expires,
            nonce,
            tag,
            body_checked,
        })
    }
}
