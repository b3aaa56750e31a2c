//! Authentication events as tamper-evident audit records (feature
//! `audit`): an [`AuthAudit`] hook that appends one `tresor-audit`
//! [`AuditRecord`] per authentication attempt.
//!
//! Every server that uses both crates writes this glue, so it lives here:
//! [`auth_event_record`] turns an [`AuthEvent`] into a record, and
//! [`AuditLogHook`] appends it to an [`AuditSink`]: a shared [`AuditLog`]
//! (`Arc<Mutex<AuditLog<S>>>`), or a log several servers share in a
//! database (`tresor_postgres`).
//!
//! # What a record holds
//!
//! | member | value |
//! | --- | --- |
//! | `actor` | `client` / the claimed client id when well formed, else `client` / `unknown` |
//! | `action` | [`AUTH_ACTION`] (`client.authenticate`) |
//! | `resource` | [`AUTH_RESOURCE`] (`oauth/token`) |
//! | `outcome` | `allowed` on success, `failed` for an outage (store, pepper, replay cache), `denied` otherwise |
//! | `request_id` | `auth-` and the event time, unless the hook is given one ([`AuditLogHook::request_ids`]) |
//! | `source` | the source address, pseudonymised when the hook has a [`Pseudonymizer`], or `unknown` |
//! | `details` | `reason` (the [`FailureReason`] name, or `ok`); `method` when known; `key_id`, `secret_id` when known; `error` (the backend error's message) for an outage |
//!
//! Nothing secret is in it: an [`AuthEvent`] holds no secret, no assertion
//! and no token, and the client id it carries is only one that is well
//! formed (a secret pasted into the id field is never logged).
//!
//! # Failures
//!
//! [`AuthAudit::record`] cannot fail the authentication it reports. A
//! record that cannot be appended (a full disk, a poisoned lock) is
//! counted ([`AuditLogHook::failures`]); a server should alert on that
//! count, or refuse service, as its policy says.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(doc)]
use tresor_audit::AuditLog;
use tresor_audit::{Actor, AuditRecord, AuditSink, Outcome, Pseudonymizer, Timestamp};

use crate::audit::{AuthAudit, AuthEvent, AuthOutcome, FailureReason};

/// The `action` of an authentication record.
pub const AUTH_ACTION: &str = "client.authenticate";

/// The `resource` of an authentication record.
pub const AUTH_RESOURCE: &str = "oauth/token";

/// Whether a failure reason is an outage (the caller got `Unavailable`).
fn is_outage(reason: FailureReason) -> bool {
    matches!(
        reason,
        FailureReason::StoreUnavailable
            | FailureReason::PepperUnavailable
            | FailureReason::ReplayCacheUnavailable
    )
}

/// The audit record of one authentication attempt (see the [module
/// documentation](self) for its members). `source` is what goes in the
/// record's `source` (the caller pseudonymises the address if it must);
/// `request_id` ties it to the HTTP request.
///
/// # Errors
///
/// [`tresor_audit::Error::InvalidRecord`] if `request_id` or `source` is
/// empty, or the event time is out of range.
pub fn auth_event_record(
    event: &AuthEvent<'_>,
    request_id: &str,
    source: &str,
) -> tresor_audit::Result<AuditRecord> {
    let actor = match event.client_id {
        Some(id) => Actor::new("client", id.as_str())?,
        None => Actor::new("client", "unknown")?,
    };
    let (outcome, reason) = match event.outcome {
        AuthOutcome::Success => (Outcome::Allowed, "ok"),
        AuthOutcome::Failure(r) if is_outage(r) => (Outcome::Failed, r.as_str()),
        AuthOutcome::Failure(r) => (Outcome::Denied, r.as_str()),
    };
    let mut builder = AuditRecord::builder()
        .timestamp(Timestamp::from_unix(event.time, 0)?)
        .actor(actor)
        .action(AUTH_ACTION)
        .resource(AUTH_RESOURCE)
        .outcome(outcome)
        .request_id(request_id)
        .source(source)
        .detail("reason", reason);
    if let Some(kid) = event.key_id {
        builder = builder
            .detail("key_id", kid)
            .detail("method", "private_key_jwt");
    } else if event.secret_id.is_some() || event.client_id.is_some() {
        builder = builder.detail("method", "client_secret");
    }
    if let Some(secret_id) = event.secret_id {
        builder = builder.detail("secret_id", secret_id.as_str());
    }
    if let Some(error) = event.error {
        builder = builder.detail("error", error.to_string());
    }
    builder.build()
}

type RequestIdFn = Arc<dyn Fn(&AuthEvent<'_>) -> Option<String> + Send + Sync>;

/// An [`AuthAudit`] hook appending one record per attempt to an
/// [`AuditSink`] (see the [module documentation](self)).
pub struct AuditLogHook {
    log: Arc<dyn AuditSink>,
    pseudonymizer: Option<Arc<Pseudonymizer>>,
    request_ids: Option<RequestIdFn>,
    appended: AtomicU64,
    failures: AtomicU64,
}

impl fmt::Debug for AuditLogHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLogHook")
            .field("pseudonymized_source", &self.pseudonymizer.is_some())
            .field("appended", &self.appended())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

impl AuditLogHook {
    /// A hook appending to `log`, which the server shares with its other
    /// writers: an `Arc<Mutex<AuditLog<S>>>`, or any other [`AuditSink`].
    pub fn new<A: AuditSink + 'static>(log: Arc<A>) -> Self {
        Self::with_sink(log)
    }

    /// A hook appending to `sink`, an [`AuditSink`] already shared as a
    /// trait object.
    pub fn with_sink(sink: Arc<dyn AuditSink>) -> Self {
        Self {
            log: sink,
            pseudonymizer: None,
            request_ids: None,
            appended: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Writes the source address as its pseudonym under `pseudonymizer`
    /// (an IP address is personal data in many jurisdictions).
    #[must_use]
    pub fn pseudonymize_source(mut self, pseudonymizer: Arc<Pseudonymizer>) -> Self {
        self.pseudonymizer = Some(pseudonymizer);
        self
    }

    /// Takes each record's `request_id` from `f` (e.g. the id of the HTTP
    /// request being served, from a task-local); when `f` gives `None`,
    /// `auth-` and the event time.
    #[must_use]
    pub fn request_ids<F>(mut self, f: F) -> Self
    where
        F: Fn(&AuthEvent<'_>) -> Option<String> + Send + Sync + 'static,
    {
        self.request_ids = Some(Arc::new(f));
        self
    }

    /// Records appended so far.
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }

    /// Records that could not be built or appended so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn source(&self, source: Option<IpAddr>) -> String {
        match (source, &self.pseudonymizer) {
            (None, _) => "unknown".to_owned(),
            (Some(ip), Some(p)) => p.pseudonymize(ip.to_string()),
            (Some(ip), None) => ip.to_string(),
        }
    }
}

impl AuthAudit for AuditLogHook {
    fn record(&self, event: &AuthEvent<'_>) {
        let request_id = self
            .request_ids
            .as_ref()
            .and_then(|f| f(event))
            .unwrap_or_else(|| format!("auth-{}", event.time));
        let source = self.source(event.source);
        let appended = auth_event_record(event, &request_id, &source)
            .is_ok_and(|record| self.log.append_record(&record).is_ok());
        let counter = if appended {
            &self.appended
        } else {
            &self.failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientId, Registry, SqliteStore};
    use secrecy::SecretString;
    use std::sync::Mutex;
    use tresor_audit::{AuditLog, MemoryStore};

    #[test]
    fn each_attempt_is_one_record_without_the_secret() -> Result<(), Box<dyn std::error::Error>> {
        let log = Arc::new(Mutex::new(AuditLog::open(MemoryStore::new())?));
        let hook = Arc::new(AuditLogHook::new(Arc::clone(&log)));
        let registry = Registry::builder(
            Arc::new(SqliteStore::open_in_memory()?),
            Arc::new(crate::LocalPepper::generate()?),
        )
        .audit(hook.clone())
        .build()?;
        let (id, secret): (ClientId, _) = registry.register("desk", &["orders:write"])?;
        let good = SecretString::from(secret.expose_secret());
        registry.authenticate(id.as_str(), &good, None)?;
        let bad = SecretString::from("tresor_cs_wrong");
        assert!(registry.authenticate(id.as_str(), &bad, None).is_err());

        let log = log.lock().map_err(|_| "poisoned")?;
        assert_eq!(log.size(), 2);
        assert_eq!(hook.appended(), 2);
        let ok = log.record(0)?;
        assert_eq!(ok.outcome(), Outcome::Allowed);
        assert_eq!(ok.actor().id(), id.as_str());
        let denied = log.record(1)?;
        assert_eq!(denied.outcome(), Outcome::Denied);
        assert_eq!(denied.details()["reason"], "malformed_secret");
        for i in 0..2 {
            let bytes = String::from_utf8(log.entry(i)?)?;
            assert!(!bytes.contains(secret.expose_secret()));
        }
        Ok(())
    }
}
