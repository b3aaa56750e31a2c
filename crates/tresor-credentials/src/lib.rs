//! A client registry in which nothing stored can authenticate as a client.
//!
//! An authorization server registers its API clients here. Where a client
//! cannot sign (and so needs an OAuth 2.0 `client_credentials` shared
//! secret, RFC 6749 section 4.4), the [`Registry`] generates the secret,
//! shows it once, and keeps only a peppered MAC of it; it authenticates a
//! presented secret with the same work and the same answer whatever is
//! wrong with it, and rate-limits failed attempts before doing any work.
//!
//! # Guarantees
//!
//! - **Nothing stored is a secret.** A stolen database (or backup, or log)
//!   neither authenticates as any client nor lets anyone test guesses
//!   offline: see [below](#what-is-stored-and-why-none-of-it-is-a-secret).
//! - **Secrets are strong and recognisable.** 256 bits from the system
//!   CSPRNG, never chosen by a person, in a prefixed, checksummed format
//!   ([`secret`] module docs) that secret scanners can validate offline
//!   with [`secret::validate_secret_format`].
//! - **Secrets stay in memory.** [`ClientSecret`] and the presented
//!   [`SecretString`](secrecy::SecretString) have no `Serialize`, no
//!   `Display`, no `Clone`, a `Debug` that hides them, and are wiped on
//!   drop.
//! - **One answer, the same work.** Every failed authentication is
//!   [`AuthError::InvalidClient`]: unknown client, wrong, expired, revoked
//!   or malformed secret, suspended client, rate limit. Outside the rate
//!   limit, each attempt makes exactly [`registry::MAX_ACTIVE_SECRETS`]
//!   pepper MACs and constant-time comparisons, against dummy verifiers where needed, and
//!   one store lookup that costs the same for an unknown id (the stores
//!   decode a dummy record of a typical client's size on a miss). The
//!   precise reason goes to the [`AuthAudit`] hook only.
//! - **Rotation without downtime, revocation at once.** At most two active
//!   secrets; a rotation gives the old one a mandatory expiry (at most
//!   [`registry::MAX_ROTATION_GRACE`]); a revoked secret fails from the
//!   next attempt. A pepper rotation re-derives each verifier at its client's next
//!   successful authentication.
//! - **No lost updates.** Every record has a version; the
//!   [`CredentialStore`] writes only over the version that was read.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use secrecy::SecretString;
//! use tresor_credentials::{AuthError, LocalPepper, Registry, SqliteStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(SqliteStore::open_in_memory()?);
//! let pepper = Arc::new(LocalPepper::generate()?); // a KMS/HSM in production
//! let registry = Registry::new(store, pepper)?;
//!
//! // Registration: the secret is shown this once.
//! let (client_id, secret) = registry.register("Payments batch", &["payments:write"])?;
//! assert!(secret.expose_secret().starts_with("tresor_cs_"));
//!
//! // The token endpoint authenticates the client.
//! let presented = SecretString::from(secret.expose_secret());
//! let client = registry.authenticate(client_id.as_str(), &presented, None)?;
//! assert_eq!(client.scopes(), ["payments:write"]);
//!
//! // Rotation: the old secret stays valid for a day, the new one works now.
//! let (_new_id, new_secret) = registry.rotate_secret(&client_id, Duration::from_secs(86_400))?;
//! let new = SecretString::from(new_secret.expose_secret());
//! assert!(registry.authenticate(client_id.as_str(), &new, None).is_ok());
//! assert!(registry.authenticate(client_id.as_str(), &presented, None).is_ok());
//!
//! // Every failure looks the same to the caller.
//! let wrong = SecretString::from("tresor_cs_guess");
//! assert_eq!(
//!     registry.authenticate(client_id.as_str(), &wrong, None).unwrap_err(),
//!     AuthError::InvalidClient,
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # What is stored, and why none of it is a secret
//!
//! A [`client::ClientRecord`] holds:
//!
//! | field | what it is | why it cannot authenticate |
//! | --- | --- | --- |
//! | `id`, `name`, `scopes`, `status`, `created`, `updated` | public metadata | a client id is sent in the clear with every request |
//! | `secrets[].mac` | `HMAC-SHA-256(pepper, len‖context‖len‖client_id‖len‖secret)` ([`store::verifier_input`]) | a MAC is one-way; the pepper key is not in the store (KMS, HSM, key file), so the MAC cannot even be used to test guesses offline |
//! | `secrets[].id`, `pepper_version`, `created`, `expires`, `revoked` | bookkeeping | they name, version and date a secret, they are not it |
//! | `public_keys[]` | public JWKs with their thumbprint, algorithm, state and validity | public keys verify, they cannot sign |
//! | `revoked_kids[]` | the thumbprints of revoked keys whose JWK was pruned, with the time, kept for ever so the key is never registered again | a thumbprint is a hash of a public key |
//!
//! And why the MAC is enough: the secret is 256 uniformly random bits, so
//! there is nothing to brute-force even with the pepper (a slow password
//! hash would buy nothing); the pepper only adds that a database leak alone
//! gives no oracle at all. The MAC binds the client id (a verifier copied
//! to another client fails) and a versioned context string (no confusion
//! with other MACs under the same pepper), each part length-prefixed so no
//! two inputs collide.
//!
//! Nothing else is stored: the registry never writes the secret, its body
//! or any part of it, and the audit events it emits carry the client id
//! (only if well formed, so a secret pasted into the id field is not
//! logged), the source address, the outcome and the secret's id.
//!
//! # Public keys: signed requests and `private_key_jwt` (feature `httpsig`)
//!
//! A client that can sign needs no shared secret at all. It registers a
//! public key (SPKI PEM or public JWK; private keys and private JWK
//! members are refused) with proof of possession: the registry issues a
//! stateless `Challenge` bound to the client id with a five-minute
//! expiry, the client signs it, and `Registry::add_key` verifies the
//! signature under the presented key before storing it under its RFC 7638
//! thumbprint (`keys` module docs). Keys are pinned to one algorithm,
//! have states (active, verify-only, revoked; at most `MAX_ACTIVE_KEYS`
//! active) and an optional validity window.
//!
//! The registry then serves two purposes. It is a
//! `tresor_httpsig::KeyResolver`: an RFC 9421 signature whose `keyid` is
//! the thumbprint verifies through it (only for an active client and a usable key inside its
//! validity window). And it
//! authenticates OAuth clients by `private_key_jwt` (RFC 7523,
//! `assertion` module docs): strict JWS parsing, the key's algorithm
//! pinned, `iss` = `sub` = client id, `aud` = the issuer alone (a one-element
//! array at most, never a list containing it), short `exp`, `jti`
//! replay-checked (in a cache bounded per client, so one client cannot
//! starve the others).
//!
//! ```
//! # #[cfg(feature = "httpsig")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tresor_credentials::{AssertionVerifier, LocalPepper, MemoryStore, Registry};
//! use tresor_httpsig::{Algorithm, Policy, PrivateKey, SigningKey, Signer, Verifier};
//!
//! let registry = Arc::new(Registry::new(
//!     Arc::new(MemoryStore::new()),
//!     Arc::new(LocalPepper::generate()?),
//! )?);
//! let client_id = registry.register_without_secret("Custody robot", &["custody:read"])?;
//!
//! // Registration with proof of possession (the private key stays with the client).
//! let client_key = PrivateKey::generate(Algorithm::EcdsaP256Sha256)?;
//! let challenge = registry.key_challenge(&client_id)?;
//! let proof = client_key.sign(challenge.as_bytes())?;
//! let key = registry.add_key(&client_id, &client_key.public_key().to_jwk(), challenge.as_str(), &proof)?;
//! assert_eq!(key.kid, client_key.thumbprint());
//!
//! // Signed requests verify through the registry, by thumbprint.
//! let mut request = http::Request::post("https://api.bank.example/v1/holdings")
//!     .header("content-type", "application/json")
//!     .body(b"{}".to_vec())?;
//! Signer::new(Arc::new(client_key), key.kid.as_str()).sign_request(&mut request)?;
//! let verified = Verifier::new(registry.clone(), Policy::new()).verify_request(&request)?;
//! let (client, _) = registry.client_for_key(verified.key_id())?.expect("registered");
//! assert_eq!(client.id, client_id);
//!
//! // The same key authenticates at the token endpoint (private_key_jwt);
//! // see the `assertion` module and `TokenEndpoint`.
//! let _verifier = AssertionVerifier::new("https://as.bank.example");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "httpsig"))]
//! # fn main() {}
//! ```
//!
//! # Outages are not authentication failures
//!
//! When the store, the pepper (a KMS, an HSM), the `private_key_jwt`
//! replay cache or a shared [`RateLimitStore`] fails, nothing is known
//! about the credential (or about the attempts before it): the caller
//! gets [`AuthError::Unavailable`] (the [`TokenEndpoint`] answers HTTP 503
//! `temporarily_unavailable` with `Retry-After`), never
//! [`AuthError::InvalidClient`], and the audit hook gets the failure
//! ([`audit::FailureReason::StoreUnavailable`], [`audit::FailureReason::PepperUnavailable`],
//! [`audit::FailureReason::ReplayCacheUnavailable`],
//! [`audit::FailureReason::RateLimitUnavailable`]) with the backend's error in
//! [`AuthEvent::error`]. Backend errors ([`Error::Storage`],
//! [`Error::Pepper`], [`Error::Io`], [`Error::Signing`]) carry their cause
//! as a [`BackendError`] source (driver types such as `rusqlite::Error`
//! stay inside it). As a `tresor_httpsig::KeyResolver` (feature `httpsig`)
//! the registry reports a store failure as
//! `tresor_httpsig::Error::Unavailable`, which the tower `VerifyLayer`
//! answers 503, not 401.
//!
//! # Token endpoint and access tokens
//!
//! [`TokenEndpoint`] is the `client_credentials` token endpoint, framework
//! agnostic ([`endpoint`] module docs): `client_secret_basic` parsed
//! exactly as RFC 6749 section 2.3.1 (Base64, split at the first colon,
//! form-decode both halves), `client_secret_post`, `private_key_jwt`
//! (feature `httpsig`); one method per request; RFC 6749 section 5.2 error
//! objects, `invalid_client` as 401 with `WWW-Authenticate: Basic` when
//! the header was used; a store, pepper or replay-cache outage as HTTP 503
//! `temporarily_unavailable` with `Retry-After`, never `invalid_client`
//! (see [Outages](#outages-are-not-authentication-failures));
//! `Cache-Control: no-store` on every answer; scopes
//! narrowed to what the client holds (a scope it lacks is
//! `invalid_scope`). It issues RFC 9068 JWT access tokens signed with
//! ES256 or EdDSA ([`token`] module docs; *ring* directly, no feature),
//! which a resource server checks with [`TokenVerifier`] (`typ` must be
//! `at+jwt`: no confusion with other JWTs; issuer, audience, expiry,
//! pinned algorithm).
//!
//! ```
//! use std::sync::Arc;
//! use tresor_credentials::{
//!     JwsAlgorithm, LocalPepper, MemoryStore, Registry, TokenEndpoint, TokenIssuer,
//!     endpoint::TokenRequest, TokenSigningKey,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Arc::new(Registry::new(Arc::new(MemoryStore::new()), Arc::new(LocalPepper::generate()?))?);
//! let (client_id, secret) = registry.register("Payments batch", &["payments:read", "payments:write"])?;
//!
//! let signing_key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::Es256)?);
//! let issuer = TokenIssuer::new("https://as.bank.example", "https://api.bank.example", signing_key);
//! let verifier = issuer.verifier(); // for the resource server
//! let endpoint = TokenEndpoint::new(registry, issuer);
//!
//! let body = format!(
//!     "grant_type=client_credentials&scope=payments%3Aread&client_id={client_id}&client_secret={}",
//!     secret.expose_secret()
//! );
//! let request = TokenRequest::new("POST", body.as_bytes())
//!     .content_type(Some("application/x-www-form-urlencoded"));
//! let response = endpoint.handle(&request);
//! assert_eq!(response.status, 200);
//! assert_eq!(response.header("cache-control"), Some("no-store"));
//! let json: serde_json::Value = serde_json::from_slice(&response.body)?;
//! let claims = verifier.verify(json["access_token"].as_str().unwrap_or_default())?;
//! assert_eq!(claims.scope, ["payments:read"]); // least privilege
//! assert_eq!(claims.client_id, client_id.as_str());
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `httpsig` (default): public-key registration (`keys`),
//!   `private_key_jwt` (`assertion`) and the `tresor_httpsig::KeyResolver`
//!   impl; depends on `tresor-httpsig` for SPKI parsing and key
//!   validation (JWK parsing and thumbprints are `tresor-types`'). Without it
//!   the crate is secrets-only (plus tokens and the endpoint with
//!   `client_secret_basic`/`client_secret_post`).
//! - `http` (default): `TokenEndpoint::handle_http` for `http::Request`.
//! - `conformance`: the suites every [`CredentialStore`]
//!   (`store::conformance`), every [`RateLimitStore`]
//!   (`ratelimit::conformance`) and, with `httpsig`, every `ReplayCache`
//!   (`assertion::conformance`) must pass, as public test functions.
//!
//! # What the crate root exports
//!
//! The root holds what a server wiring the crate up names on the common
//! path:
//!
//! - the registry: [`Registry`], [`AuthenticatedClient`] with its
//!   [`AuthMethod`], [`ClientId`], [`ClientSecret`], and the failure rate
//!   limits [`RateLimits`], [`FailureQuota`], with the store several
//!   servers share them in, [`RateLimitStore`], and its in-process
//!   [`MemoryRateLimitStore`];
//! - the backends: [`CredentialStore`], [`MemoryStore`], [`SqliteStore`],
//!   [`Pepper`], [`LocalPepper`];
//! - the audit hook: [`AuthAudit`], [`AuthEvent`];
//! - the token endpoint and tokens: [`TokenEndpoint`], [`TokenIssuer`],
//!   [`TokenVerifier`] and their keys [`TokenSigningKey`],
//!   [`TokenPublicKey`], [`JwsAlgorithm`];
//! - with feature `httpsig`: `AssertionVerifier` (`private_key_jwt`);
//! - the errors: [`Error`], [`AuthError`], [`BackendError`], [`Result`];
//! - time: [`Clock`], [`SystemClock`], [`FixedClock`], [`UnixTime`] (from
//!   `tresor-types`, re-exported with the [`tresor_types`] crate itself),
//!   and the [`secrecy`] crate (the presented `SecretString`).
//!
//! Everything else is in the module named for its concept:
//!
//! - [`registry`] holds [`registry::RegistryBuilder`],
//!   [`registry::MAX_ACTIVE_SECRETS`], [`registry::MAX_ROTATION_GRACE`];
//! - [`client`]: the stored data of a client, [`client::ClientRecord`]
//!   and what it holds ([`client::ClientStatus`], [`client::SecretId`],
//!   [`client::RegisteredKey`], [`client::KeyState`],
//!   [`client::RevokedKid`]), and the limits on names and scopes;
//! - [`secret`]: the secret format, [`secret::SecretPrefix`] and the
//!   offline validators ([`secret::validate_secret_format`]);
//! - [`store`] holds [`store::StoredClient`] and what a record keeps in place
//!   of a secret ([`store::SecretVerifier`], [`store::Mac`],
//!   [`store::verifier_input`]), for store implementations and tools;
//! - [`audit`] holds [`audit::AuthOutcome`], [`audit::FailureReason`],
//!   [`audit::AuditFn`], [`audit::NoAudit`];
//! - [`endpoint`] holds [`endpoint::TokenRequest`], [`endpoint::TokenResponse`],
//!   [`endpoint::DefaultScopes`];
//! - [`token`] holds [`token::AccessToken`], [`token::AccessTokenClaims`],
//!   [`token::TokenError`], [`token::BearerError`];
//! - `keys` (feature `httpsig`): `Challenge`, `ClientPublicKey`,
//!   `KeyOptions`, the key limits;
//! - `assertion` (feature `httpsig`): `ReplayCache`, `MemoryReplayCache`,
//!   `CLIENT_ASSERTION_TYPE`.
//!
//! # Modules
//!
//! - [`registry`]: the registry and its builder.
//! - [`client`]: the client record and the plain data it holds.
//! - [`audit`]: the authentication audit hook.
//! - [`secret`]: the secret format, generation and offline validation.
//! - [`pepper`]: the [`Pepper`] trait and the [`LocalPepper`] key file.
//! - [`store`] holds [`CredentialStore`], [`MemoryStore`], [`SqliteStore`]
//!   (schema and migrations, the key index).
//! - [`ratelimit`]: the failure rate limits, in process or in a shared
//!   [`RateLimitStore`] (GCRA; `ratelimit::conformance`, feature
//!   `conformance`, is the suite every store must pass).
//! - `keys` (feature `httpsig`): public keys, proof of possession, states.
//! - `assertion` (feature `httpsig`): `private_key_jwt`, the replay cache
//!   (`assertion::conformance`, feature `conformance`, is the suite every
//!   cache must pass), and the client's side, `AssertionSigner`.
//! - [`jwt`]: strict compact JWS parsing and the accepted algorithms.
//! - [`token`]: RFC 9068 access tokens.
//! - [`endpoint`]: the token endpoint.
#![forbid(unsafe_code)]

#[cfg(feature = "httpsig")]
pub mod assertion;
pub mod audit;
#[cfg(feature = "audit")]
pub mod audit_log;
mod base62;
pub mod client;
pub mod endpoint;
mod error;
pub mod jwt;
#[cfg(feature = "httpsig")]
pub mod keys;
pub mod pepper;
pub mod ratelimit;
pub mod registry;
#[cfg(feature = "httpsig")]
mod resolver;
pub mod secret;
pub mod store;
pub mod token;

#[cfg(feature = "httpsig")]
pub use assertion::{AssertionSigner, AssertionVerifier};
pub use audit::{AuthAudit, AuthEvent};
pub use client::ClientId;
pub use endpoint::TokenEndpoint;
pub use error::{AuthError, BackendError, Error, Result};
pub use jwt::JwsAlgorithm;
pub use pepper::{LocalPepper, Pepper};
pub use ratelimit::{FailureQuota, MemoryRateLimitStore, RateLimitStore, RateLimits};
pub use registry::{AuthMethod, AuthenticatedClient, Registry};
pub use secret::ClientSecret;
pub use store::{CredentialStore, MemoryStore, SqliteStore};
pub use token::{TokenIssuer, TokenPublicKey, TokenSigningKey, TokenVerifier};
pub use tresor_types::{Clock, FixedClock, SystemClock, UnixTime};

/// Re-exported so callers name the same `SecretString` as the crate.
pub use secrecy;

/// Re-exported so a custom [`Clock`] names the same error type
/// (`tresor_types::Error`) as the crate.
pub use tresor_types;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
