//! The authentication audit hook: where the precise reason for a failed
//! authentication goes, since the caller only ever gets
//! [`AuthError::InvalidClient`](crate::AuthError::InvalidClient).

use std::net::IpAddr;
use std::sync::Arc;

use crate::client::{ClientId, SecretId};

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
    /// Too many failed attempts for this client id: rejected before any
    /// work.
    RateLimitedClient,
    /// Too many failed attempts from this source address: rejected before
    /// any work.
    RateLimitedSource,
    /// The pepper (KMS, HSM, key file) failed; the caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable).
    PepperUnavailable,
    /// The store failed; the caller got
    /// [`AuthError::Unavailable`](crate::AuthError::Unavailable).
    StoreUnavailable,
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
/// use tresor_credentials::{AuditFn, AuthEvent};
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
