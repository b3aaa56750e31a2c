//! `private_key_jwt` client authentication: a client proves its identity
//! with a JWT it signed with a registered key (RFC 7523 section 3, RFC 7521
//! section 4.2, OpenID Connect Core section 9).
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
//!   tried (at most [`MAX_STORED_KEYS`](crate::MAX_STORED_KEYS));
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

use crate::audit::{AuthEvent, AuthOutcome, FailureReason};
use crate::client::{ClientId, KeyState};
use crate::error::{AuthError, Error, Result};
use crate::jwt::{self, JwsError};
use crate::keys::{ClientPublicKey, Unusable, check_usable};
use crate::ratelimit::Limited;
use crate::registry::Registry;

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
        let mut state = self.state.lock().map_err(|_| Error::Storage {
            reason: "replay cache lock poisoned".into(),
        })?;
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
                    return Err(Error::Storage {
                        reason: "replay cache quota of this client reached".into(),
                    });
                }
            }
            if state.total >= self.capacity {
                state.sweep(now);
                if state.total >= self.capacity {
                    return Err(Error::Storage {
                        reason: "replay cache full".into(),
                    });
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

/// A client authenticated by `private_key_jwt`. Only
/// [`AssertionVerifier::authenticate`] builds one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAuthenticatedClient {
    id: ClientId,
    name: String,
    scopes: Vec<String>,
    key_id: String,
    jti: String,
}

impl KeyAuthenticatedClient {
    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The client's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scopes the client may request.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The key the assertion was signed with (its RFC 7638 thumbprint).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The assertion's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
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
    ) -> Result<KeyAuthenticatedClient, AuthError> {
        // A broken clock is an outage, never an acceptance.
        let now = registry.now().map_err(|_| AuthError::Unavailable)?;
        let parsed = jwt::parse(assertion);
        let sub = parsed
            .as_ref()
            .ok()
            .and_then(|j| j.claims.get("sub"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let sub = sub.as_deref();
        let claimed = client_id.or(sub).and_then(|id| ClientId::parse(id).ok());
        let limiter_key = claimed.as_ref().map(ClientId::as_str);
        let report = |outcome, key_id: Option<&str>| {
            registry.audit.record(&AuthEvent {
                time: now,
                client_id: claimed.as_ref(),
                source,
                outcome,
                secret_id: None,
                rederived: false,
                key_id,
            });
        };
        // Before the signature verified, the claimed client is not
        // established: a failure is charged to the source only, so
        // unsigned garbage naming a client cannot lock it out.
        let reject = |reason, key_id: Option<&str>| {
            registry.limiter.record_failure(None, source);
            report(AuthOutcome::Failure(reason), key_id);
            Err(AuthError::InvalidClient)
        };
        // After it verified, to the (client, source) pair and the source.
        let fail = |reason, key_id: Option<&str>| {
            registry.limiter.record_failure(limiter_key, source);
            report(AuthOutcome::Failure(reason), key_id);
            Err(AuthError::InvalidClient)
        };

        if let Some(limited) = registry.limiter.check(limiter_key, source) {
            let reason = match limited {
                Limited::Client => FailureReason::RateLimitedClient,
                Limited::Source => FailureReason::RateLimitedSource,
            };
            report(AuthOutcome::Failure(reason), None);
            return Err(AuthError::InvalidClient);
        }

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
        let Some(id) = claimed.clone() else {
            return reject(FailureReason::MalformedClientId, kid);
        };
        if sub != id.as_str() {
            return reject(FailureReason::WrongSubject, kid);
        }
        let stored = match registry.store.get(&id) {
            Ok(Some(stored)) => stored,
            Ok(None) => return reject(FailureReason::UnknownClient, kid),
            Err(_) => {
                report(AuthOutcome::Failure(FailureReason::StoreUnavailable), kid);
                return Err(AuthError::Unavailable);
            }
        };
        let record = &stored.record;
        let alg = jws.alg;

        // The candidate keys.
        let candidates: Vec<_> = match kid {
            Some(kid) => {
                let Some(key) = record.public_keys.iter().find(|k| k.kid == kid) else {
                    return reject(FailureReason::UnknownKey, Some(kid));
                };
                if key.alg != alg.name() {
                    return reject(FailureReason::AssertionAlgorithm, Some(kid));
                }
                match check_usable(record, key, now) {
                    Ok(()) | Err(Unusable::ClientSuspended) => {}
                    Err(Unusable::Revoked) => return reject(FailureReason::KeyRevoked, Some(kid)),
                    Err(Unusable::OutsideWindow) => {
                        return reject(FailureReason::KeyExpired, Some(kid));
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
            return reject(FailureReason::UnknownKey, None);
        }
        let signer = candidates.into_iter().find(|key| {
            ClientPublicKey::from_registered(key).is_some_and(|public| {
                public.alg() == alg && public.verify(jws.signing_input.as_bytes(), &jws.signature)
            })
        });
        let Some(signer) = signer else {
            return reject(FailureReason::BadSignature, kid);
        };
        let kid = Some(signer.kid.as_str());

        // The claims, now that they are authentic.
        let claims = &jws.claims;
        if claims.get("iss").and_then(Value::as_str) != Some(id.as_str()) {
            return fail(FailureReason::WrongIssuer, kid);
        }
        match jwt::audience_is_sole(claims, &self.audience) {
            Ok(true) => {}
            Ok(false) => return fail(FailureReason::WrongAudience, kid),
            Err(()) => return fail(FailureReason::MalformedAssertion, kid),
        }
        let (Ok(Some(exp)), Ok(nbf), Ok(iat)) = (
            jwt::numeric_date(claims, "exp"),
            jwt::numeric_date(claims, "nbf"),
            jwt::numeric_date(claims, "iat"),
        ) else {
            return fail(FailureReason::MalformedAssertion, kid);
        };
        if now > exp.saturating_add(self.skew) {
            return fail(FailureReason::AssertionExpired, kid);
        }
        if exp.saturating_sub(now) > self.max_lifetime.saturating_add(self.skew) {
            return fail(FailureReason::AssertionLifetime, kid);
        }
        let future = now.saturating_add(self.skew);
        if nbf.is_some_and(|t| t > future) || iat.is_some_and(|t| t > future) {
            return fail(FailureReason::AssertionNotYetValid, kid);
        }
        let jti = match claims.get("jti") {
            Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => jti,
            _ => return fail(FailureReason::MalformedAssertion, kid),
        };
        if record.status != crate::ClientStatus::Active {
            return fail(FailureReason::ClientSuspended, kid);
        }
        // Remembered until the last second it is accepted (inclusive; the
        // acceptance test above is `now <= exp + skew`).
        match self
            .replay
            .check_and_record(&id, jti, exp.saturating_add(self.skew), now)
        {
            Ok(true) => {}
            Ok(false) => return fail(FailureReason::AssertionReplayed, kid),
            Err(_) => {
                report(
                    AuthOutcome::Failure(FailureReason::ReplayCacheUnavailable),
                    kid,
                );
                return Err(AuthError::Unavailable);
            }
        }
        report(AuthOutcome::Success, kid);
        Ok(KeyAuthenticatedClient {
            id,
            name: record.name.clone(),
            scopes: record.scopes.clone(),
            key_id: signer.kid.clone(),
            jti: jti.clone(),
        })
    }
}
