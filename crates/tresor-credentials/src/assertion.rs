//! `private_key_jwt` client authentication: a client proves its identity
//! with a JWT it signed with a registered key (RFC 7523 section 3, RFC 7521
//! section 4.2, OpenID Connect Core section 9). [`AssertionVerifier`] is
//! the authorization server's side; [`AssertionSigner`] makes assertions
//! on the client's.
//!
//! # Rules
//!
//! An assertion is accepted only if all of these hold (each failure has
//! its own [`FailureReason`] for the audit hook; the caller always gets
//! [`AuthError::InvalidClient`]):
//!
//! - it is a compact JWS parsed strictly ([`jwt`](mod@crate::jwt) module
//!   docs); its `alg` is one of [`JwsAlgorithm`](crate::JwsAlgorithm) (never `none` or `HS*`)
//!   and equals the algorithm the key was registered with;
//! - the client is the `client_id` parameter if the request has one (the
//!   assertion's `sub` must then equal it), else the assertion's `sub`;
//!   the client is registered and active;
//! - `kid`, if present, names one of the client's keys, which must be
//!   active or verify-only and inside its validity window; without `kid`,
//!   each of the client's usable keys with the assertion's algorithm is
//!   tried (at most [`MAX_STORED_KEYS`](crate::keys::MAX_STORED_KEYS));
//! - the signature verifies; then the claims are checked:
//!   `iss` = `sub` = the client id; `aud` is the issuer alone: a string
//!   equal to it, or an array of exactly one such string (an array that
//!   merely contains the issuer among other values is refused, against
//!   audience injection, as the OAuth working group's update of RFC 7523
//!   requires); `exp` is present, not passed (with the clock skew) and
//!   at most [`max_lifetime`](AssertionVerifier::max_lifetime) ahead;
//!   `nbf` and `iat`, when present, are not in the future (with the skew);
//!   `jti` is present (1 to 256 characters);
//! - last, `(client id, jti)` was not seen before: the [`ReplayCache`]
//!   remembers it until `exp` plus the skew, inclusive, the same bound as
//!   acceptance (accepted iff now <= `exp` + skew, remembered while
//!   now <= `exp` + skew). Only assertions whose
//!   signature verified reach the cache, so forgeries cannot fill it or
//!   burn another client's `jti`.
//!
//! Failed attempts count against the registry's rate limits
//! ([`ratelimit`](crate::ratelimit) module docs): a failure before the
//! signature verified (malformed, unknown client or key, bad signature)
//! against the source only, since the claimed `sub` is not established and
//! client ids are not secret; a failure after it (wrong `iss` or `aud`,
//! expired, replayed …) against the (client, source) pair and the source. A failing replay cache (or a full one) is
//! [`AuthError::Unavailable`], never a silent pass.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::audit::{AuthOutcome, FailureReason};
use crate::client::{ClientId, ClientRecord, KeyState, RegisteredKey};
use crate::error::{AuthError, Error, Result};
use crate::jwt::{self, JwsError};
use crate::keys::{ClientPublicKey, Unusable, check_usable};
use crate::registry::{Attempt, AuthMethod, AuthenticatedClient, Details, Registry};

#[cfg(feature = "conformance")]
pub mod conformance;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523
/// section 2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The default longest lifetime of an assertion (`exp` − now): 5 minutes.
pub const DEFAULT_MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// The default tolerance for clocks that differ: 30 seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(30);

/// The longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;

/// The default capacity of a [`MemoryReplayCache`].
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The default per-client quota of a [`MemoryReplayCache`] is its capacity
/// divided by this (at least 1): 1 000 of the default 100 000, so it takes
/// a hundred clients at their quota to fill the cache.
pub const DEFAULT_REPLAY_CLIENT_SHARE: usize = 100;

/// Remembers which assertion ids were used, so each is used once.
///
/// Object-safe. Plug in a shared store (Redis `SET NX PX`, a database
/// table with a unique key) when several servers accept assertions: each
/// must see the others' `jti`s.
///
/// A cache is bounded and fails closed when full, so an implementation
/// **must also bound each client's share** (as [`MemoryReplayCache`] does
/// with its per-client quota): otherwise one authenticated client sending
/// many valid assertions fills it and every other client's
/// authentications fail until entries expire. At its quota a client gets
/// the error for itself only.
pub trait ReplayCache: Send + Sync {
    /// Records `(client_id, jti)` as used until `expires` (UNIX seconds)
    /// and returns `true`, or returns `false` if it was recorded before and
    /// has not expired. An error (store down, cache full, the client at
    /// its quota) makes the authentication fail closed
    /// ([`AuthError::Unavailable`]).
    ///
    /// "Until" is **inclusive**: an entry recorded until `expires` is live
    /// while `now <= expires` and may be forgotten only once
    /// `now > expires`. The verifier passes `exp` plus the clock skew, the
    /// last second at which it still accepts the assertion, so acceptance
    /// and remembering share one bound and no second is left in which a
    /// captured assertion could be replayed. (A store with exclusive
    /// expiry, such as Redis `PX`, must be given one second more.)
    ///
    /// A replay is `false` whatever `expires` it presents; a `jti` whose
    /// `expires` has already passed is recorded (`true`) and need not be
    /// remembered. `conformance` (feature `conformance`) is the suite
    /// every cache must pass.
    fn check_and_record(
        &self,
        client_id: &ClientId,
        jti: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool>;
}

macro_rules! forward_cache {
    ($($ptr:ty),*) => {$(
        impl<C: ReplayCache + ?Sized> ReplayCache for $ptr {
            fn check_and_record(
                &self,
                client_id: &ClientId,
                jti: &str,
                expires: i64,
                now: i64,
            ) -> Result<bool> {
                (**self).check_and_record(client_id, jti, expires, now)
            }
        }
    )*};
}

forward_cache!(Arc<C>, Box<C>, &C);

/// A [`ReplayCache`] in process memory, bounded in total and per client.
///
/// At most `capacity` ids are held, and at most the per-client quota for
/// any one client (default: `capacity /`
/// [`DEFAULT_REPLAY_CLIENT_SHARE`], at least 1). When a client reaches its
/// quota, its expired ids are dropped; if it is still at its quota, its new
/// assertions are refused (fail closed) until some expire, and only its
/// own: other clients keep their room. When the whole cache is full,
/// every client's expired ids are dropped; if it is still full, new
/// assertions are refused. Entries live at most the assertion lifetime
/// plus the skew, so the capacity bounds the accepted assertion rate (the
/// default, 100 000 per ~5.5 minutes, is ~300 per second), and the quota
/// one client's rate (1 000 per ~5.5 minutes, ~3 per second, by default;
/// raise both for busier deployments). Memory is bounded by the capacity:
/// expired ids are swept when a bound is hit.
#[derive(Debug)]
pub struct MemoryReplayCache {
    capacity: usize,
    per_client: usize,
    state: Mutex<ReplayState>,
}

#[derive(Debug, Default)]
struct ReplayState {
    /// Client → its `jti`s, each with the last second it is live.
    clients: HashMap<ClientId, HashMap<String, i64>>,
    /// The ids held, all clients together.
    total: usize,
}

impl ReplayState {
    /// Drops every expired id (and clients left with none).
    fn sweep(&mut self, now: i64) {
        let mut total = 0;
        self.clients.retain(|_, jtis| {
            jtis.retain(|_, until| now <= *until);
            total += jtis.len();
            !jtis.is_empty()
        });
        self.clients.shrink_to_fit();
        self.total = total;
    }
}

impl Default for MemoryReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` unexpired assertion ids, and at
    /// most `capacity /` [`DEFAULT_REPLAY_CLIENT_SHARE`] (at least 1) per
    /// client.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            per_client: (capacity / DEFAULT_REPLAY_CLIENT_SHARE).max(1),
            state: Mutex::new(ReplayState::default()),
        }
    }

    /// Sets the most unexpired ids one client may hold (at least 1, at
    /// most the capacity).
    pub fn with_per_client_quota(mut self, quota: usize) -> Self {
        self.per_client = quota.clamp(1, self.capacity.max(1));
        self
    }

    /// The most unexpired ids one client may hold.
    pub fn per_client_quota(&self) -> usize {
        self.per_client
    }

    /// The number of ids held (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.total).unwrap_or(0)
    }

    /// Whether it holds no id.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayCache for MemoryReplayCache {
    fn check_and_record(
        &self,
        client_id: &ClientId,
        jti: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::storage("the replay cache's lock is poisoned"))?;
        let state = &mut *state;
        let held = state.clients.get_mut(client_id);
        // Inclusive: live while now <= until (see the trait docs).
        let previous = held.as_ref().and_then(|jtis| jtis.get(jti)).copied();
        if previous.is_some_and(|until| now <= until) {
            return Ok(false);
        }
        if previous.is_none() {
            // A new id: the client's quota first (its own expired ids make
            // room), then the whole cache.
            if let Some(jtis) = held
                && jtis.len() >= self.per_client
            {
                let before = jtis.len();
                jtis.retain(|_, until| now <= *until);
                state.total = state.total.saturating_sub(before - jtis.len());
                if jtis.len() >= self.per_client {
                    return Err(Error::storage("replay cache quota of this client reached"));
                }
            }
            if state.total >= self.capacity {
                state.sweep(now);
                if state.total >= self.capacity {
                    return Err(Error::storage("replay cache full"));
                }
            }
            state.total += 1;
        }
        state
            .clients
            .entry(client_id.clone())
            .or_default()
            .insert(jti.to_owned(), expires);
        Ok(true)
    }
}

/// Verifies `private_key_jwt` client assertions for one authorization
/// server (see the [module docs](self)).
pub struct AssertionVerifier {
    audience: String,
    max_lifetime: i64,
    skew: i64,
    replay: Arc<dyn ReplayCache>,
}

impl fmt::Debug for AssertionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionVerifier")
            .field("audience", &self.audience)
            .field("max_lifetime", &self.max_lifetime)
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl AssertionVerifier {
    /// A verifier for assertions whose `aud` is `issuer` (the
    /// authorization server's issuer identifier), with a
    /// [`MemoryReplayCache`], [`DEFAULT_MAX_ASSERTION_LIFETIME`] and
    /// [`DEFAULT_CLOCK_SKEW`].
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            audience: issuer.into(),
            max_lifetime: seconds(DEFAULT_MAX_ASSERTION_LIFETIME),
            skew: seconds(DEFAULT_CLOCK_SKEW),
            replay: Arc::new(MemoryReplayCache::default()),
        }
    }

    /// The replay cache (shared across servers in a deployment of several).
    pub fn replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay = cache;
        self
    }

    /// The longest allowed `exp` − now.
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = seconds(lifetime);
        self
    }

    /// The clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = seconds(skew);
        self
    }

    /// The audience assertions must name (the issuer).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Authenticates a client by its `client_assertion` (and the request's
    /// `client_id` parameter, if it had one).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidClient`] for every rejected assertion (the
    /// reason goes to the registry's audit hook);
    /// [`AuthError::Unavailable`] if the store or the replay cache failed.
    pub fn authenticate(
        &self,
        registry: &Registry,
        assertion: &str,
        client_id: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<AuthenticatedClient, AuthError> {
        let parsed = jwt::parse(assertion);
        let sub = parsed
            .as_ref()
            .ok()
            .and_then(|j| j.claims.get("sub"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let sub = sub.as_deref();
        let claimed = client_id.or(sub).and_then(|id| ClientId::parse(id).ok());
        let attempt = Attempt::begin(registry, claimed, source)?;
        let now = attempt.now;
        let report = |outcome, key_id: Option<&str>, error: Option<&Error>| {
            attempt.report(
                outcome,
                Details {
                    key_id,
                    error,
                    ..Details::default()
                },
            );
        };
        // Before the signature verified, the claimed client is not
        // established: a failure is charged to the source only, so
        // unsigned garbage naming a client cannot lock it out.
        let reject = |reason, key_id: Option<&str>| {
            attempt.charge(false, key_id)?;
            report(AuthOutcome::Failure(reason), key_id, None);
            Err(AuthError::InvalidClient)
        };
        // After it verified, to the (client, source) pair and the source.
        let fail = |reason, key_id: Option<&str>| {
            attempt.charge(true, key_id)?;
            report(AuthOutcome::Failure(reason), key_id, None);
            Err(AuthError::InvalidClient)
        };

        let jws = match &parsed {
            Ok(jws) => jws,
            Err(JwsError::Malformed) => return reject(FailureReason::MalformedAssertion, None),
            Err(JwsError::Algorithm) => return reject(FailureReason::AssertionAlgorithm, None),
        };
        let Ok(kid) = jws.kid() else {
            return reject(FailureReason::MalformedAssertion, None);
        };
        let Some(sub) = sub else {
            return reject(FailureReason::MalformedAssertion, kid);
        };
        let Some(id) = attempt.claimed.clone() else {
            return reject(FailureReason::MalformedClientId, kid);
        };
        if sub != id.as_str() {
            return reject(FailureReason::WrongSubject, kid);
        }
        let Some(stored) = attempt.lookup(&id, kid)? else {
            return reject(FailureReason::UnknownClient, kid);
        };
        let record = &stored.record;
        let signer = match find_signer(record, jws, kid, now) {
            Ok(signer) => signer,
            Err((reason, key_id)) => return reject(reason, key_id),
        };
        let kid = Some(signer.kid.as_str());

        // The claims, now that they are authentic.
        let (exp, jti) = match self.check_claims(&jws.claims, &id, now) {
            Ok(checked) => checked,
            Err(reason) => return fail(reason, kid),
        };
        if record.status != crate::client::ClientStatus::Active {
            return fail(FailureReason::ClientSuspended, kid);
        }
        // Remembered until the last second it is accepted (inclusive; the
        // acceptance test in `check_claims` is `now <= exp + skew`).
        match self
            .replay
            .check_and_record(&id, jti, exp.saturating_add(self.skew), now)
        {
            Ok(true) => {}
            Ok(false) => return fail(FailureReason::AssertionReplayed, kid),
            Err(error) => {
                report(
                    AuthOutcome::Failure(FailureReason::ReplayCacheUnavailable),
                    kid,
                    Some(&error),
                );
                return Err(AuthError::Unavailable);
            }
        }
        report(AuthOutcome::Success, kid, None);
        Ok(AuthenticatedClient::new(
            record,
            AuthMethod::PrivateKeyJwt {
                key_id: signer.kid.clone(),
                jti: jti.clone(),
            },
        ))
    }

    /// The claims of an authentic assertion: `iss` is the client, `aud`
    /// the issuer alone, `exp` present, not passed and not too far ahead,
    /// `nbf` and `iat` not in the future, `jti` present. Returns `exp` and
    /// `jti`, or why the assertion is refused.
    fn check_claims<'c>(
        &self,
        claims: &'c serde_json::Map<String, Value>,
        id: &ClientId,
        now: i64,
    ) -> Result<(i64, &'c String), FailureReason> {
        if claims.get("iss").and_then(Value::as_str) != Some(id.as_str()) {
            return Err(FailureReason::WrongIssuer);
        }
        match jwt::audience_is_sole(claims, &self.audience) {
            Ok(true) => {}
            Ok(false) => return Err(FailureReason::WrongAudience),
            Err(()) => return Err(FailureReason::MalformedAssertion),
        }
        let (Ok(Some(exp)), Ok(nbf), Ok(iat)) = (
            jwt::numeric_date(claims, "exp"),
            jwt::numeric_date(claims, "nbf"),
            jwt::numeric_date(claims, "iat"),
        ) else {
            return Err(FailureReason::MalformedAssertion);
        };
        if now > exp.saturating_add(self.skew) {
            return Err(FailureReason::AssertionExpired);
        }
        if exp.saturating_sub(now) > self.max_lifetime.saturating_add(self.skew) {
            return Err(FailureReason::AssertionLifetime);
        }
        let future = now.saturating_add(self.skew);
        if nbf.is_some_and(|t| t > future) || iat.is_some_and(|t| t > future) {
            return Err(FailureReason::AssertionNotYetValid);
        }
        match claims.get("jti") {
            Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => {
                Ok((exp, jti))
            }
            _ => Err(FailureReason::MalformedAssertion),
        }
    }
}

/// The client's key that signed the assertion: the one `kid` names (which
/// must have the assertion's algorithm, not be revoked and be inside its
/// validity window), or without `kid` any usable key with the assertion's
/// algorithm whose signature verifies. Otherwise the reason, with the key
/// id to audit.
fn find_signer<'r, 'k>(
    record: &'r ClientRecord,
    jws: &jwt::Jws<'_>,
    kid: Option<&'k str>,
    now: i64,
) -> Result<&'r RegisteredKey, (FailureReason, Option<&'k str>)> {
    let alg = jws.alg;
    let candidates: Vec<_> = match kid {
        Some(kid) => {
            let Some(key) = record.public_keys.iter().find(|k| k.kid == kid) else {
                return Err((FailureReason::UnknownKey, Some(kid)));
            };
            if key.alg != alg.name() {
                return Err((FailureReason::AssertionAlgorithm, Some(kid)));
            }
            match check_usable(record, key, now) {
                Ok(()) | Err(Unusable::ClientSuspended) => {}
                Err(Unusable::Revoked) => return Err((FailureReason::KeyRevoked, Some(kid))),
                Err(Unusable::OutsideWindow) => {
                    return Err((FailureReason::KeyExpired, Some(kid)));
                }
            }
            vec![key]
        }
        None => record
            .public_keys
            .iter()
            .filter(|k| {
                k.alg == alg.name()
                    && k.state != KeyState::Revoked
                    && !matches!(check_usable(record, k, now), Err(Unusable::OutsideWindow))
            })
            .collect(),
    };
    if candidates.is_empty() {
        return Err((FailureReason::UnknownKey, None));
    }
    candidates
        .into_iter()
        .find(|key| {
            ClientPublicKey::from_registered(key).is_some_and(|public| {
                public.alg() == alg && public.verify(jws.signing_input.as_bytes(), &jws.signature)
            })
        })
        .ok_or((FailureReason::BadSignature, kid))
}

// ---------------------------------------------------------------------------
// The client's side.

/// The default lifetime of an assertion made by an [`AssertionSigner`]:
/// one minute.
pub const DEFAULT_ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// Makes `private_key_jwt` client assertions (RFC 7523 section 3) with a
/// client's registered key: the client's side of this module.
///
/// Each assertion is a compact JWS with the header `alg`, `typ` (`JWT`)
/// and `kid`, and the claims `iss` and `sub` (the client id), `aud` (the
/// authorization server's issuer identifier, one string), `iat` (now),
/// `exp` (now plus the lifetime) and `jti` (128 random bits, base64url):
/// an [`AssertionVerifier`] for that issuer accepts it, once, while the
/// key is registered and usable. The JWS algorithm is the key's: Ed25519
/// signs `EdDSA`, ECDSA P-256 `ES256`, P-384 `ES384`, RSA-PSS SHA-512
/// `PS512`; any other key is refused ([`Error::AssertionKey`]).
///
/// An assertion is a bearer credential until it expires: send it only to
/// the authorization server it names, over TLS. `Debug` shows the
/// algorithm, the key id and the client id, never key material.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use tresor_credentials::assertion::AssertionSigner;
/// use tresor_credentials::{AssertionVerifier, LocalPepper, MemoryStore, Registry};
/// use tresor_httpsig::{Algorithm, PrivateKey, SigningKey};
///
/// let registry = Registry::new(Arc::new(MemoryStore::new()), Arc::new(LocalPepper::generate()?))?;
/// let client_id = registry.register_without_secret("Custody robot", &["custody:read"])?;
/// let key = PrivateKey::generate(Algorithm::Ed25519)?;
/// let challenge = registry.key_challenge(&client_id)?;
/// let proof = key.sign(challenge.as_bytes())?;
/// registry.add_key(&client_id, &key.public_key().to_jwk(), challenge.as_str(), &proof)?;
///
/// // The client: an assertion for the authorization server.
/// let kid = key.thumbprint();
/// let signer = AssertionSigner::new(Arc::new(key), kid, client_id.clone())?;
/// let assertion = signer.sign("https://as.bank.example")?;
///
/// // The authorization server: accepted once.
/// let verifier = AssertionVerifier::new("https://as.bank.example");
/// let client = verifier.authenticate(&registry, &assertion, None, None)?;
/// assert_eq!(client.id(), &client_id);
/// assert!(verifier.authenticate(&registry, &assertion, None, None).is_err());
/// # Ok(())
/// # }
/// ```
pub struct AssertionSigner {
    key: Arc<dyn tresor_httpsig::SigningKey>,
    alg: crate::JwsAlgorithm,
    kid: String,
    client_id: ClientId,
    lifetime: i64,
    clock: Arc<dyn crate::Clock>,
}

impl fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("alg", &self.alg.name())
            .field("kid", &self.kid)
            .field("client_id", &self.client_id)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// A signer for `client_id` with `key`, registered under `kid` (with
    /// this crate's registry: the key's RFC 7638 thumbprint, as
    /// `tresor_httpsig::PrivateKey::thumbprint` gives it), the system
    /// clock and [`DEFAULT_ASSERTION_LIFETIME`].
    ///
    /// # Errors
    ///
    /// [`Error::AssertionKey`] if the key's algorithm has no accepted JWS
    /// counterpart (HMAC, RSA PKCS#1 v1.5).
    pub fn new(
        key: Arc<dyn tresor_httpsig::SigningKey>,
        kid: impl Into<String>,
        client_id: ClientId,
    ) -> Result<Self> {
        use tresor_httpsig::Algorithm;
        let alg = match key.algorithm() {
            Algorithm::Ed25519 => crate::JwsAlgorithm::EdDsa,
            Algorithm::EcdsaP256Sha256 => crate::JwsAlgorithm::Es256,
            Algorithm::EcdsaP384Sha384 => crate::JwsAlgorithm::Es384,
            Algorithm::RsaPssSha512 => crate::JwsAlgorithm::Ps512,
            other => return Err(Error::AssertionKey { alg: other.name() }),
        };
        Ok(Self {
            key,
            alg,
            kid: kid.into(),
            client_id,
            lifetime: seconds(DEFAULT_ASSERTION_LIFETIME),
            clock: Arc::new(crate::SystemClock),
        })
    }

    /// How long each assertion is valid (`exp` − `iat`), at least one
    /// second. An [`AssertionVerifier`] refuses more than its
    /// [`max_lifetime`](AssertionVerifier::max_lifetime) (by default
    /// [`DEFAULT_MAX_ASSERTION_LIFETIME`]).
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = seconds(lifetime).max(1);
        self
    }

    /// The clock `iat` and `exp` are read from (tests, replays).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn crate::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The JWS algorithm of the assertions.
    pub fn alg(&self) -> crate::JwsAlgorithm {
        self.alg
    }

    /// A new assertion for the authorization server whose issuer
    /// identifier is `audience`, with a fresh `jti`.
    ///
    /// # Errors
    ///
    /// [`Error::ClockUnavailable`], [`Error::Rng`], [`Error::Signing`] (the
    /// key failed).
    pub fn sign(&self, audience: &str) -> Result<String> {
        use ring::rand::{SecureRandom, SystemRandom};
        let now = self.clock.now().map_err(Error::clock)?.as_secs();
        let mut jti = [0u8; 16];
        SystemRandom::new().fill(&mut jti).map_err(|_| Error::Rng)?;
        let header = serde_json::json!({ "alg": self.alg.name(), "typ": "JWT", "kid": self.kid });
        let claims = serde_json::json!({
            "iss": self.client_id.as_str(),
            "sub": self.client_id.as_str(),
            "aud": audience,
            "iat": now,
            "exp": now.saturating_add(self.lifetime),
            "jti": jwt::encode(&jti),
        });
        let input = format!(
            "{}.{}",
            jwt::encode(header.to_string().as_bytes()),
            jwt::encode(claims.to_string().as_bytes())
        );
        let signature = self
            .key
            .sign(input.as_bytes())
            .map_err(|e| Error::Signing {
                source: crate::BackendError::new(e),
            })?;
        Ok(format!("{input}.{}", jwt::encode(&signature)))
    }
}
