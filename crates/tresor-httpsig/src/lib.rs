//! HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530): sign
//! every request, verify every request.
//!
//! A client signs each request with its own private key ([`Signer`]); the
//! server finds the client's public key by the signature's `keyid`
//! ([`KeyResolver`], e.g. a client registry or a [`KeyMap`]) and verifies
//! the request under a [`Policy`] ([`Verifier`]). Responses and webhooks are
//! signed and verified the same way, and the `tower` feature wraps both
//! sides as middleware (module `tower`).
//!
//! # Guarantees
//!
//! - **Integrity and origin** of every covered component: a verified
//!   request was signed by the holder of the key registered under its key
//!   id, and no covered component (method, authority, path, query, the
//!   fields named, and through `content-digest` the body) changed since.
//!   What the signature must cover is the verifier's [`Policy`], never the
//!   sender's choice alone.
//! - **Body integrity**: when `content-digest` is covered, the verifier
//!   recomputes the digest over the body it received and rejects any
//!   mismatch ([`Error::DigestMismatch`]).
//! - **No algorithm confusion**: every key is bound to one [`Algorithm`]
//!   when it is loaded or registered; a signature's `alg` parameter must
//!   name that algorithm, and the policy must allow it.
//! - **Freshness and replay**: `created` is required by default and checked
//!   against a maximum age and clock skew; `expires` is always honoured; a
//!   [`NonceStore`] rejects a replayed nonce (and is only consulted after
//!   the signature verified, so forgeries cannot burn nonces). A nonce is
//!   remembered for as long as its signature can be accepted, and a policy
//!   that requires nonces refuses a signature that nothing bounds in time
//!   (no `expires`, no `created` under a maximum age).
//! - **Tenant isolation in the replay store**: [`MemoryNonceStore`] gives
//!   each key id a bounded share ([`MemoryNonceStore::per_key_limit`],
//!   default a tenth of the capacity), so one key flooding it with valid
//!   requests is refused alone, the other keys keep working; shared stores
//!   must do the same ([`NonceStore`]).
//! - **One authority**: a request whose `Host` field contradicts the
//!   authority of its URI (absolute form, HTTP/2 `:authority`), or that
//!   has several `Host` lines, is neither signed nor verified
//!   ([`Message::check_host`]), so what `@authority` covers is what an
//!   application routing by `Host` sees.
//! - **Unambiguous query parameters**: `@query-param` is computed exactly
//!   as RFC 9421 section 2.2.8 says, which maps every invalid UTF-8
//!   sequence to U+FFFD (`%FF` and `%C3` give the same value); the default
//!   policy therefore refuses query parameters that do not percent-decode
//!   to valid UTF-8 ([`Policy::require_utf8_query`]).
//! - **Precise errors, uniform answers**: each [`Error`] names the rule that
//!   failed (missing component, expired, unknown key, algorithm not allowed,
//!   bad signature, digest mismatch, replayed nonce, malformed header) for
//!   the server's log; a signature that does not verify is
//!   [`Error::BadSignature`] whatever the reason. The tower layer answers
//!   every such failure with the same 401.
//! - **Outages are not authentication failures**: a backend that fails (a
//!   [`KeyResolver`]'s database, a shared [`NonceStore`], a remote key) is
//!   [`Error::Unavailable`], which carries the backend's error as its
//!   source ([`BackendError`]); the tower layer answers it, and a full
//!   nonce store, with 503 and `Retry-After`, never 401, so a legitimate
//!   client is not told its credentials are wrong during an outage.
//! - **Bounded, panic-free parsing**: limits on field sizes, signatures per
//!   message and components per signature ([`fields::Limits`]); no input makes the
//!   crate panic (fuzzed).
//! - **Secrets stay secret**: private and HMAC keys never appear in `Debug`
//!   output or errors; the key bytes this crate holds are wiped on drop
//!   (`ring`'s internal key schedules cannot be).
//!
//! # Example: a client signs, a server verifies
//!
//! ```
//! use std::sync::Arc;
//! use tresor_httpsig::{Algorithm, Error, KeyMap, Policy, PrivateKey, Signer, Verifier};
//!
//! let client_key = PrivateKey::generate(Algorithm::EcdsaP256Sha256)?;
//! let mut registry = KeyMap::new();
//! registry.insert("client-7", client_key.public_key());
//!
//! // Client side: covers @method, @authority, @path, and the body through
//! // Content-Digest, Content-Type and Content-Length.
//! let mut request = http::Request::post("https://api.bank.example/v1/payments")
//!     .header("content-type", "application/json")
//!     .body(br#"{"amount":"120.00","currency":"EUR"}"#.to_vec())
//!     .expect("a valid request");
//! Signer::new(Arc::new(client_key), "client-7")
//!     .random_nonce()
//!     .sign_request(&mut request)?;
//!
//! // Server side.
//! let verifier = Verifier::new(Arc::new(registry), Policy::new().require_nonce(true));
//! let verified = verifier.verify_request(&request)?;
//! assert_eq!(verified.key_id(), "client-7");
//! assert_eq!(verified.algorithm(), Algorithm::EcdsaP256Sha256);
//! assert!(verified.body_checked());
//!
//! // The same request again is a replay (the policy requires nonces, so
//! // the verifier remembers them).
//! assert!(matches!(verifier.verify_request(&request), Err(Error::ReplayedNonce)));
//!
//! // An altered body fails, and the error names the rule.
//! let mut altered = request.clone();
//! *altered.body_mut() = br#"{"amount":"9120.00","currency":"EUR"}"#.to_vec();
//! assert!(matches!(verifier.verify_request(&altered), Err(Error::DigestMismatch { .. })));
//! # Ok::<(), tresor_httpsig::Error>(())
//! ```
//!
//! # What the crate root exports
//!
//! The root holds what an embedder names on the common path, signing and
//! verifying whole messages:
//!
//! - signing and verifying: [`Signer`], [`Verifier`], [`Verified`],
//!   [`Policy`];
//! - keys: the traits [`SigningKey`], [`VerifyingKey`], [`KeyResolver`],
//!   the resolver [`KeyMap`], the key types [`PrivateKey`], [`PublicKey`],
//!   [`HmacKey`], and [`Algorithm`];
//! - replay protection: [`NonceStore`], [`MemoryNonceStore`];
//! - the message view and the covered components: [`Message`],
//!   [`ComponentId`];
//! - `Content-Digest`: [`content_digest`], [`verify_content_digest`],
//!   [`DigestAlgorithm`];
//! - errors: [`Error`], [`Result`], [`BackendError`];
//! - time: [`Clock`], [`SystemClock`], [`FixedClock`], [`UnixTime`] (from
//!   `tresor-types`, re-exported with the [`tresor_types`] crate itself).
//!
//! Everything else is in the module named for its concept:
//!
//! - [`sign`], [`verify`]: the signer and the verifier
//!   ([`verify::DEFAULT_NONCE_CAPACITY`]);
//! - [`policy`]: the policy's defaults ([`policy::DEFAULT_MAX_AGE`],
//!   [`policy::DEFAULT_CLOCK_SKEW`], [`policy::default_components`]);
//! - [`keys`]: the key types and traits, [`keys::HMAC_MIN_SECRET_LEN`];
//! - [`nonce`] holds [`nonce::DEFAULT_KEY_SHARE_DIVISOR`];
//! - [`message`] holds [`message::StructuredType`],
//!   [`message::KNOWN_STRUCTURED_FIELDS`];
//! - [`component`] holds [`component::DerivedComponent`],
//!   [`component::ComponentParam`];
//! - [`fields`]: the `Signature-Input` and `Signature` fields, their
//!   parsers and [`fields::Limits`];
//! - [`params`] holds [`params::SignatureParams`];
//! - [`base`]: the signature base itself, [`base::SignatureBase`], for
//!   tools and tests that show what is signed;
//! - [`digest`]: the streaming [`digest::ContentDigestHasher`] and
//!   [`digest::ContentDigestVerifier`], the field limits;
//! - `tower` (feature `tower`): the middleware.
//!
//! # Features
//!
//! - `tower`: `tower::VerifyLayer` and `tower::SignLayer` (module
//!   `tower`, with an axum example).
//! - `conformance`: `nonce::conformance`, the suite every [`NonceStore`]
//!   must pass ([`MemoryNonceStore`] and `tresor_redis::RedisNonceStore`
//!   do), as public test functions to run against a store of your own.
//!
//! # Standards
//!
//! RFC 9421 (HTTP Message Signatures), RFC 9530 (Digest Fields), RFC 8941 /
//! RFC 9651 (Structured Field Values, through the `sfv` crate), RFC 7517 and
//! RFC 7638 (JWK and its thumbprint). The RFC 9421 Appendix B examples, the
//! section 2 component examples and the RFC 9530 examples are the crate's
//! known-answer tests; Wycheproof vectors cover the signature algorithms.
#![forbid(unsafe_code)]

mod alg;
pub mod digest;
mod error;
mod jwk;
mod key;
pub mod keys;

// RFC 9421 core (components, message view, base, fields, sign/verify).
pub mod base;
pub mod component;
pub mod fields;
pub mod message;
pub mod nonce;
pub mod params;
pub mod policy;
pub mod sign;
pub mod verify;

// Optional tower middleware.
#[cfg(feature = "tower")]
pub mod response_layer;
#[cfg(feature = "tower")]
pub mod tower;

pub use alg::Algorithm;
pub use component::ComponentId;
pub use digest::{DigestAlgorithm, content_digest, verify_content_digest};
pub use error::{BackendError, Error, Result};
pub use key::{KeyMap, KeyResolver, SigningKey, VerifyingKey};
pub use keys::{HmacKey, PrivateKey, PublicKey};
pub use message::Message;
pub use nonce::{MemoryNonceStore, NonceStore};
pub use policy::Policy;
pub use sign::Signer;
pub use verify::{Verified, Verifier};

/// Re-exported so a custom [`Clock`] names the same error type
/// (`tresor_types::Error`) as the crate.
pub use tresor_types;
pub use tresor_types::{Clock, FixedClock, SystemClock, UnixTime};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
