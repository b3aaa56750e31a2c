//! The authentication audit hook: where the precise reason for a failed
//! authentication goes, since the caller only ever gets
//! [`AuthError::InvalidClient`](crate::AuthError::InvalidClient).

use std::net::IpAddr;
use std::sync::Arc;

use crate::client::{ClientId, SecretId};
use crate::error::Error;

/// Why an authentication failed (for the audit hook only, never for the
/// caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// The client id is not of the form this crate generates.
    MalformedClientId,
    /// No client is registered under the id.
    UnknownClient,
    /// The presented secret is not of the secret format (prefix, length,
    /// alphabet, checksum).
    MalformedSecret,
    /// The secret matches none of the client's secrets.
    WrongSecret,
    /// The secret matches one whose rotation grace period has ended.
    SecretExpired,
    /// The secret matches one that was revoked.
    SecretRevoked,
    /// The secret is right but the client is suspended.
    ClientSuspended,
    /// Too many failed attempts for this client id from this source
    /// (IPv4 address or IPv6 /64; or from callers passing no source):
    /// rejected before any work. The client from other sources is not
    /// affected.
    RateLimitedClient,
    /// Too many failed attempts from this source (IPv4 address or IPv6
    /// /64), whatever the client: rejected before any work.
    RateLimitedSource,
    /// The pepper (KMS, HSM, key file) failed; the caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable).
    PepperUnavailable,
    /// The store failed; the caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable).
    StoreUnavailable,
    /// A client assertion is not a well-formed compact JWS of JSON
    /// objects, or lacks a required claim (`iss`, `sub`, `aud`, `exp`,
    /// `jti`) or has one of the wrong type.
    MalformedAssertion,
    /// The assertion's `alg` is `none`, symmetric, unknown, not the
    /// algorithm of the client's key, or the header has `crit`.
    AssertionAlgorithm,
    /// The assertion names a key (`kid`) the client does not have, or the
    /// client has no usable key for its algorithm.
    UnknownKey,
    /// The assertion's key is revoked.
    KeyRevoked,
    /// The assertion's key is outside its validity window (not yet valid,
    /// or past its end).
    KeyExpired,
    /// The assertion's signature does not verify.
    BadSignature,
    /// The assertion's `iss` is not the client id.
    WrongIssuer,
    /// The assertion's `sub` is not the client id (or the `client_id`
    /// parameter names another client).
    WrongSubject,
    /// The assertion's `aud` does not contain the issuer.
    WrongAudience,
    /// The assertion's `exp` has passed.
    AssertionExpired,
    /// The assertion's `exp` is further ahead than the allowed lifetime.
    AssertionLifetime,
    /// The assertion's `nbf` or `iat` is in the future.
    AssertionNotYetValid,
    /// The assertion's `jti` was seen before (replay).
    AssertionReplayed,
    /// The replay cache failed or is full; the caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable).
    ReplayCacheUnavailable,
    /// The shared rate-limit store
    /// ([`RegistryBuilder::shared_rate_limits`](crate::registry::RegistryBuilder::shared_rate_limits))
    /// failed, when checking the attempt before any work or when counting
    /// its failure; the caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable). When
    /// counting a failure failed, this is the event's reason in place of
    /// the failure's own (a wrong secret, say), whose attempt could not be
    /// counted.
    RateLimitUnavailable,
}

impl FailureReason {
    /// A stable snake_case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedClientId => "malformed_client_id",
            Self::UnknownClient => "unknown_client",
            Self::MalformedSecret => "malformed_secret",
            Self::WrongSecret => "wrong_secret",
            Self::SecretExpired => "secret_expired",
            Self::SecretRevoked => "secret_revoked",
            Self::ClientSuspended => "client_suspended",
            Self::RateLimitedClient => "rate_limited_client",
            Self::RateLimitedSource => "rate_limited_source",
            Self::PepperUnavailable => "pepper_unavailable",
            Self::StoreUnavailable => "store_unavailable",
            Self::MalformedAssertion => "malformed_assertion",
            Self::AssertionAlgorithm => "assertion_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::KeyRevoked => "key_revoked",
            Self::KeyExpired => "key_expired",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongSubject => "wrong_subject",
            Self::WrongAudience => "wrong_audience",
            Self::AssertionExpired => "assertion_expired",
            Self::AssertionLifetime => "assertion_lifetime",
            Self::AssertionNotYetValid => "assertion_not_yet_valid",
            Self::AssertionReplayed => "assertion_replayed",
            Self::ReplayCacheUnavailable => "replay_cache_unavailable",
            Self::RateLimitUnavailable => "rate_limit_unavailable",
        }
    }
}

/// The result of one authentication attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthOutcome {
    /// The client authenticated.
    Success,
    /// The client did not authenticate, for this reason.
    Failure(FailureReason),
}

/// One authentication attempt, as reported to [`AuthAudit`].
///
/// Holds nothing secret. The client id is the one claimed, and only if it
/// is well formed (a client that pastes its secret into the id field must
/// not get it logged).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthEvent<'a> {
    /// When (UNIX seconds, from the registry's clock).
    pub time: i64,
    /// The claimed client id, if well formed.
    pub client_id: Option<&'a ClientId>,
    /// The source address, if the caller gave one.
    pub source: Option<IpAddr>,
    /// Success, or the precise reason for the failure.
    pub outcome: AuthOutcome,
    /// The secret that matched (on success, and on an expired or revoked
    /// match).
    pub secret_id: Option<&'a SecretId>,
    /// Whether the matched secret's verifier was re-derived under the
    /// current pepper version.
    pub rederived: bool,
    /// The key id (RFC 7638 thumbprint) of the key a client assertion was
    /// signed with or named (`private_key_jwt` attempts only).
    pub key_id: Option<&'a str>,
    /// The backend failure behind an outcome whose caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable)
    /// ([`FailureReason::StoreUnavailable`],
    /// [`FailureReason::PepperUnavailable`],
    /// [`FailureReason::ReplayCacheUnavailable`]): an [`Error::Storage`]
    /// or [`Error::Pepper`] whose source chain says what failed. `None`
    /// for every other outcome.
    ///
    /// [`Error::Storage`]: crate::Error::Storage
    /// [`Error::Pepper`]: crate::Error::Pepper
    pub error: Option<&'a Error>,
}

/// Receives every authentication attempt with its precise outcome: the
/// place for security logging and alerting.
///
/// Called synchronously after the attempt; keep it fast (queue the event
/// if it must go far).
pub trait AuthAudit: Send + Sync {
    /// Records one attempt.
    fn record(&self, event: &AuthEvent<'_>);
}

macro_rules! forward_audit {
    ($($ptr:ty),*) => {$(
        impl<A: AuthAudit + ?Sized> AuthAudit for $ptr {
            fn record(&self, event: &AuthEvent<'_>) {
                (**self).record(event)
            }
        }
    )*};
}

forward_audit!(Arc<A>, Box<A>, &A);

/// An audit hook that drops every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAudit;

impl AuthAudit for NoAudit {
    fn record(&self, _event: &AuthEvent<'_>) {}
}

/// An audit hook from a closure.
///
/// ```
/// use tresor_credentials::{audit::AuditFn, AuthEvent};
/// let hook = AuditFn(|event: &AuthEvent<'_>| eprintln!("{:?}", event.outcome));
/// # let _ = hook;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AuditFn<F>(pub F);

impl<F: Fn(&AuthEvent<'_>) + Send + Sync> AuthAudit for AuditFn<F> {
    fn record(&self, event: &AuthEvent<'_>) {
        (self.0)(event)
    }
}
