//! The registry: registration, rotation, revocation, suspension and
//! authentication of clients, over a store, a pepper and a clock.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use subtle::{Choice, ConstantTimeEq};

use crate::audit::{AuthAudit, AuthEvent, AuthOutcome, FailureReason, NoAudit};
use crate::client::{ClientId, ClientRecord, ClientStatus, SecretId, check_name, normalize_scopes};
use crate::error::{AuthError, Error, Result};
use crate::pepper::Pepper;
use crate::ratelimit::{FailureLimiter, Limited, RateLimitStore, RateLimits};
use crate::secret::{ClientSecret, SecretPrefix, validate_secret_format};
use crate::store::derive;
use crate::store::{CredentialStore, Mac, SecretVerifier, StoredClient};
use tresor_types::{Clock, SystemClock};

/// The most secrets a client may have active at once (the current one and,
/// during a rotation's grace period, the previous one).
pub const MAX_ACTIVE_SECRETS: usize = 2;

/// The longest grace period a rotation may give the old secret (90 days).
pub const MAX_ROTATION_GRACE: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// The longest presented secret that is MACed as is; a longer one is
/// replaced by an empty string (it cannot be valid), so an attacker cannot
/// make the server hash megabytes.
const MAX_PRESENTED_SECRET_LEN: usize = 256;

/// How often a management operation retries after a [`Error::Conflict`].
const UPDATE_ATTEMPTS: usize = 8;

/// The client id MACed for a malformed claimed id (same length as a real
/// one, so the work is the same).
const DUMMY_CLIENT_ID: &str = "0000000000000000000000";

/// How a client authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// With a shared secret (`client_secret_basic` or
    /// `client_secret_post`): [`Registry::authenticate`].
    Secret {
        /// The id of the secret that matched.
        secret_id: SecretId,
    },
    /// With a JWT signed by a registered key (`private_key_jwt`):
    /// `AssertionVerifier::authenticate` (feature `httpsig`).
    PrivateKeyJwt {
        /// The key the assertion was signed with (its RFC 7638
        /// thumbprint).
        key_id: String,
        /// The assertion's `jti`.
        jti: String,
    },
}

/// A client that has just authenticated, by a shared secret or a signed
/// assertion ([`AuthenticatedClient::method`]). Only
/// [`Registry::authenticate`] and `AssertionVerifier::authenticate` build
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatedClient {
    id: ClientId,
    name: String,
    scopes: Vec<String>,
    method: AuthMethod,
}

impl AuthenticatedClient {
    pub(crate) fn new(record: &ClientRecord, method: AuthMethod) -> Self {
        Self {
            id: record.id.clone(),
            name: record.name.clone(),
            scopes: record.scopes.clone(),
            method,
        }
    }

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

    /// How it authenticated, with the credential it used.
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    /// The id of the secret it authenticated with, if it used one.
    pub fn secret_id(&self) -> Option<&SecretId> {
        match &self.method {
            AuthMethod::Secret { secret_id } => Some(secret_id),
            AuthMethod::PrivateKeyJwt { .. } => None,
        }
    }

    /// The key its assertion was signed with (RFC 7638 thumbprint), if it
    /// used `private_key_jwt`.
    pub fn key_id(&self) -> Option<&str> {
        match &self.method {
            AuthMethod::PrivateKeyJwt { key_id, .. } => Some(key_id),
            AuthMethod::Secret { .. } => None,
        }
    }
}

/// Configures a [`Registry`].
pub struct RegistryBuilder {
    store: Arc<dyn CredentialStore>,
    pepper: Arc<dyn Pepper>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuthAudit>,
    limits: RateLimits,
    shared_limits: Option<Arc<dyn RateLimitStore>>,
    prefix: SecretPrefix,
}

impl RegistryBuilder {
    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The audit hook for authentication attempts (default: [`NoAudit`]).
    pub fn audit(mut self, audit: Arc<dyn AuthAudit>) -> Self {
        self.audit = audit;
        self
    }

    /// The rate limits on failed authentications (default:
    /// [`RateLimits::default`]).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Counts failed authentications in `store`, shared with every other
    /// registry (every other API server) that uses it, instead of in this
    /// process (the default): one truth for several servers.
    ///
    /// The limits are the same: the quotas of
    /// [`rate_limits`](Self::rate_limits) per (client id, source) and per
    /// source (an IPv4 address or an IPv6 /64), failures charged to the
    /// client only when attributable to it, the check (a
    /// [`peek`](RateLimitStore::peek) of each key) before any store lookup
    /// or MAC, one [`take`](RateLimitStore::take) per key after a failure,
    /// none after a success ([`ratelimit`](crate::ratelimit) module docs).
    /// [`RateLimits::max_tracked`] does not apply: the store bounds its
    /// own memory. The store's keys are `auth:source:{source}` and
    /// `auth:client:{client id}:{source}` (`-` for no source); a source is
    /// written `192.0.2.7` or `2001:db8:1:2::/64`.
    ///
    /// One difference in counting: an attempt is refused as soon as a
    /// key's burst is spent (`burst` failures, then one per period), where
    /// the in-process limiter blocks a key only when a failure finds no
    /// cell (it lets `burst + 1` failures through, and one more at the end
    /// of each block).
    ///
    /// **Fail closed.** If the store fails (an outage: Redis down or too
    /// slow), the attempt fails with [`AuthError::Unavailable`] (the
    /// [`TokenEndpoint`](crate::TokenEndpoint) answers 503), never
    /// [`AuthError::InvalidClient`] and never an acceptance; the audit hook
    /// gets [`FailureReason::RateLimitUnavailable`] with the store's error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tresor_credentials::{LocalPepper, MemoryRateLimitStore, MemoryStore, Registry};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Several servers would share a `tresor_redis::RedisRateLimitStore`.
    /// let limits = Arc::new(MemoryRateLimitStore::default());
    /// let registry = Registry::builder(Arc::new(MemoryStore::new()), Arc::new(LocalPepper::generate()?))
    ///     .shared_rate_limits(limits)
    ///     .build()?;
    /// # let _ = registry;
    /// # Ok(())
    /// # }
    /// ```
    pub fn shared_rate_limits(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.shared_limits = Some(store);
        self
    }

    /// The prefix of newly generated secrets (default `tresor_cs`).
    /// Secrets issued under another prefix keep working.
    pub fn secret_prefix(mut self, prefix: SecretPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// Builds the registry.
    pub fn build(self) -> Result<Registry> {
        let rng = SystemRandom::new();
        let mut dummy = [Mac([0; 32]); MAX_ACTIVE_SECRETS];
        for mac in &mut dummy {
            rng.fill(&mut mac.0).map_err(|_| Error::Rng)?;
        }
        Ok(Registry {
            limiter: FailureLimiter::new(&self.limits, self.shared_limits),
            store: self.store,
            pepper: self.pepper,
            clock: self.clock,
            audit: self.audit,
            prefix: self.prefix,
            rng,
            dummy,
        })
    }
}

/// The client registry: the service object an authorization server holds.
///
/// It generates every secret (256 random bits, shown once), stores only a
/// peppered MAC of it, authenticates with the same work whatever the
/// outcome, and answers every failed authentication with the same
/// [`AuthError::InvalidClient`], the precise reason going only to the
/// [`AuthAudit`] hook.
pub struct Registry {
    pub(crate) store: Arc<dyn CredentialStore>,
    pub(crate) pepper: Arc<dyn Pepper>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audit: Arc<dyn AuthAudit>,
    pub(crate) limiter: FailureLimiter,
    pub(crate) prefix: SecretPrefix,
    pub(crate) rng: SystemRandom,
    /// Verifiers compared against when a client has fewer than
    /// [`MAX_ACTIVE_SECRETS`] secrets (or does not exist): random, so no
    /// secret matches them.
    pub(crate) dummy: [Mac; MAX_ACTIVE_SECRETS],
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("prefix", &self.prefix)
            .field("pepper_version", &self.pepper.current_version())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry with the system clock, no audit hook and the default
    /// rate limits.
    pub fn new(store: Arc<dyn CredentialStore>, pepper: Arc<dyn Pepper>) -> Result<Self> {
        Self::builder(store, pepper).build()
    }

    /// A builder, to set the clock, audit hook, rate limits or prefix.
    pub fn builder(store: Arc<dyn CredentialStore>, pepper: Arc<dyn Pepper>) -> RegistryBuilder {
        RegistryBuilder {
            store,
            pepper,
            clock: Arc::new(SystemClock),
            audit: Arc::new(NoAudit),
            limits: RateLimits::default(),
            shared_limits: None,
            prefix: SecretPrefix::default(),
        }
    }

    /// The store (for extensions that add data to client records through
    /// [`CredentialStore::update`]).
    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Now, in UNIX seconds, from the registry's clock.
    ///
    /// # Errors
    ///
    /// [`Error::ClockUnavailable`] if the clock reads a time before the
    /// UNIX epoch.
    pub fn now(&self) -> Result<i64> {
        Ok(self.clock.now().map_err(Error::clock)?.as_secs())
    }

    /// Registers a client with a fresh secret; returns its id and the
    /// secret, which is shown this once and never again.
    pub fn register<S: AsRef<str>>(
        &self,
        name: &str,
        scopes: &[S],
    ) -> Result<(ClientId, ClientSecret)> {
        let (mut record, now) = self.new_record(name, scopes)?;
        let (verifier, secret) = self.issue(&record.id, now)?;
        record.secrets.push(verifier);
        self.store.insert(&record)?;
        Ok((record.id, secret))
    }

    /// Registers a client without a shared secret (one that will
    /// authenticate with a registered public key).
    pub fn register_without_secret<S: AsRef<str>>(
        &self,
        name: &str,
        scopes: &[S],
    ) -> Result<ClientId> {
        let (record, _) = self.new_record(name, scopes)?;
        self.store.insert(&record)?;
        Ok(record.id)
    }

    /// Issues a new secret for the client and returns its id and the
    /// secret (shown once). The client's current secret stays valid for
    /// `grace` (at most [`MAX_ROTATION_GRACE`]; zero ends it now), then
    /// expires. Refused with [`Error::TooManyActiveSecrets`] while two
    /// secrets are active: revoke one first.
    pub fn rotate_secret(
        &self,
        client_id: &ClientId,
        grace: Duration,
    ) -> Result<(SecretId, ClientSecret)> {
        if grace > MAX_ROTATION_GRACE {
            return Err(Error::InvalidGrace {
                seconds: grace.as_secs(),
                max: MAX_ROTATION_GRACE.as_secs(),
            });
        }
        // At most 90 days: fits an i64.
        let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        self.modify(client_id, |record, now| {
            // Expired and revoked secrets are forgotten now.
            record.secrets.retain(|v| v.is_active(now));
            if record.secrets.len() >= MAX_ACTIVE_SECRETS {
                return Err(Error::TooManyActiveSecrets {
                    client_id: client_id.to_string(),
                });
            }
            let end = now.saturating_add(grace);
            for old in &mut record.secrets {
                old.expires = Some(old.expires.map_or(end, |e| e.min(end)));
            }
            let (verifier, secret) = self.issue(client_id, now)?;
            let id = verifier.id.clone();
            record.secrets.push(verifier);
            Ok((id, secret))
        })
    }

    /// Revokes one of the client's secrets, immediately.
    pub fn revoke_secret(&self, client_id: &ClientId, secret_id: &SecretId) -> Result<()> {
        self.modify(client_id, |record, now| {
            let verifier = record
                .secrets
                .iter_mut()
                .find(|v| &v.id == secret_id && v.revoked.is_none())
                .ok_or_else(|| Error::UnknownSecret {
                    client_id: client_id.to_string(),
                    secret_id: secret_id.to_string(),
                })?;
            verifier.revoked = Some(now);
            Ok(())
        })
    }

    /// Suspends the client: it cannot authenticate until reactivated.
    pub fn suspend(&self, client_id: &ClientId) -> Result<()> {
        self.set_status(client_id, ClientStatus::Suspended)
    }

    /// Reactivates a suspended client.
    pub fn reactivate(&self, client_id: &ClientId) -> Result<()> {
        self.set_status(client_id, ClientStatus::Active)
    }

    /// The client's record, if registered.
    pub fn get(&self, client_id: &ClientId) -> Result<Option<ClientRecord>> {
        Ok(self.store.get(client_id)?.map(|s| s.record))
    }

    /// Every client's record, ordered by id.
    pub fn list(&self) -> Result<Vec<ClientRecord>> {
        Ok(self.store.list()?.into_iter().map(|s| s.record).collect())
    }

    /// The number of keys the rate limiters track ((client id, source)
    /// pairs, sources): bounded by [`RateLimits::max_tracked`] each, plus
    /// the blocked keys. `(0, 0)` with
    /// [`shared_rate_limits`](RegistryBuilder::shared_rate_limits) (the
    /// shared store holds them).
    pub fn rate_limit_tracked_keys(&self) -> (usize, usize) {
        self.limiter.tracked()
    }

    /// Authenticates a client by id and shared secret (OAuth 2.0
    /// `client_secret_basic` / `client_secret_post` after parsing).
    ///
    /// Every failure is [`AuthError::InvalidClient`]; the reason goes to the
    /// audit hook. Unless rate-limited (rejected before any work), an
    /// attempt costs the same whatever the outcome: one store lookup (which
    /// costs the same for a missing id, see [`CredentialStore::get`]),
    /// exactly [`MAX_ACTIVE_SECRETS`] pepper MACs and as many constant-time
    /// comparisons, against dummy verifiers where the client has fewer
    /// secrets or does not exist. On success under an older pepper version,
    /// the verifier is re-derived under the current one (one more MAC and a
    /// store update; a concurrent change makes it wait for the next
    /// success). [`AuthError::Unavailable`] only if the store or the
    /// pepper failed.
    ///
    /// `source` is the caller's address: failures count per (client id,
    /// source) and per source (an IPv4 address or an IPv6 /64), so failures
    /// from elsewhere never block this client; a server must pass it
    /// ([`ratelimit`](crate::ratelimit) module docs; `None` shares one
    /// bucket per client among all callers without a source).
    pub fn authenticate(
        &self,
        client_id: &str,
        secret: &SecretString,
        source: Option<IpAddr>,
    ) -> Result<AuthenticatedClient, AuthError> {
        let attempt = Attempt::begin(self, ClientId::parse(client_id).ok(), source)?;
        let stored = match &attempt.claimed {
            Some(id) => attempt.lookup(id, None)?,
            None => None,
        };

        let presented = secret.expose_secret();
        let well_formed = validate_secret_format(presented).is_ok();
        let input: &[u8] = if presented.len() <= MAX_PRESENTED_SECRET_LEN {
            presented.as_bytes()
        } else {
            b""
        };
        let verifiers: &[SecretVerifier] = stored.as_ref().map_or(&[], |s| &s.record.secrets);
        let current = self.pepper.current_version();
        let matched = self
            .match_secret(attempt.claimed.as_ref(), verifiers, input, current)
            .map_err(|error| {
                attempt.report(
                    AuthOutcome::Failure(FailureReason::PepperUnavailable),
                    Details {
                        error: Some(&error),
                        ..Details::default()
                    },
                );
                AuthError::Unavailable
            })?;

        let matched_verifier = matched.and_then(|i| verifiers.get(i));
        let failure = match (&stored, matched_verifier) {
            _ if attempt.claimed.is_none() => Some(FailureReason::MalformedClientId),
            (None, _) => Some(FailureReason::UnknownClient),
            (Some(_), None) if !well_formed => Some(FailureReason::MalformedSecret),
            (Some(_), None) => Some(FailureReason::WrongSecret),
            (Some(_), Some(v)) if v.revoked.is_some() => Some(FailureReason::SecretRevoked),
            (Some(_), Some(v)) if !v.is_active(attempt.now) => Some(FailureReason::SecretExpired),
            (Some(s), Some(_)) if s.record.status != ClientStatus::Active => {
                Some(FailureReason::ClientSuspended)
            }
            (Some(_), Some(_)) => None,
        };

        let (Some(stored), Some(verifier), None) = (&stored, matched_verifier, failure) else {
            attempt.charge(true, None)?;
            attempt.report(
                AuthOutcome::Failure(failure.unwrap_or(FailureReason::WrongSecret)),
                Details {
                    secret_id: matched_verifier.map(|v| &v.id),
                    ..Details::default()
                },
            );
            return Err(AuthError::InvalidClient);
        };

        let rederived = verifier.pepper_version != current
            && self.rederive(stored, &verifier.id, current, input, attempt.now);
        attempt.report(
            AuthOutcome::Success,
            Details {
                secret_id: Some(&verifier.id),
                rederived,
                ..Details::default()
            },
        );
        Ok(AuthenticatedClient::new(
            &stored.record,
            AuthMethod::Secret {
                secret_id: verifier.id.clone(),
            },
        ))
    }

    /// The same work for every attempt: [`MAX_ACTIVE_SECRETS`] MACs and
    /// constant-time comparisons, against the client's verifiers or dummy
    /// ones, no early exit. Returns the slot of the verifier that matched,
    /// if any, or the pepper's failure (after doing all the work).
    fn match_secret(
        &self,
        claimed: Option<&ClientId>,
        verifiers: &[SecretVerifier],
        input: &[u8],
        current: u32,
    ) -> Result<Option<usize>> {
        let mac_id = claimed.map_or(DUMMY_CLIENT_ID, ClientId::as_str);
        let mut matched = None;
        let mut pepper_failed = None;
        for slot in 0..MAX_ACTIVE_SECRETS {
            let real = verifiers.get(slot);
            let (version, expected) = match (real, self.dummy.get(slot)) {
                (Some(v), _) => (v.pepper_version, v.mac),
                (None, Some(d)) => (current, *d),
                (None, None) => (current, Mac([0; 32])),
            };
            let equal = match derive(self.pepper.as_ref(), version, mac_id, input) {
                Ok(mac) => mac.0.ct_eq(&expected.0),
                Err(Error::UnknownPepperVersion { .. }) => Choice::from(0),
                Err(error) => {
                    pepper_failed.get_or_insert(error);
                    Choice::from(0)
                }
            };
            if bool::from(equal & Choice::from(u8::from(real.is_some()))) {
                matched = Some(slot);
            }
        }
        match pepper_failed {
            Some(error) => Err(error),
            None => Ok(matched),
        }
    }

    /// Replaces a verifier made under an old pepper version by one under
    /// `current`. Returns whether the store took it (a concurrent change
    /// leaves it for the next successful authentication).
    fn rederive(
        &self,
        stored: &StoredClient,
        secret_id: &SecretId,
        current: u32,
        secret: &[u8],
        now: i64,
    ) -> bool {
        let Ok(mac) = derive(
            self.pepper.as_ref(),
            current,
            stored.record.id.as_str(),
            secret,
        ) else {
            return false;
        };
        let mut record = stored.record.clone();
        let Some(v) = record.secrets.iter_mut().find(|v| &v.id == secret_id) else {
            return false;
        };
        v.pepper_version = current;
        v.mac = mac;
        record.updated = now;
        self.store.update(&record, stored.version).is_ok()
    }

    fn new_record<S: AsRef<str>>(&self, name: &str, scopes: &[S]) -> Result<(ClientRecord, i64)> {
        check_name(name)?;
        let scopes = normalize_scopes(scopes)?;
        let now = self.now()?;
        let record = ClientRecord::new(ClientId::generate(&self.rng)?, name, &scopes, now)?;
        Ok((record, now))
    }

    /// Generates a secret for `client_id` and its verifier under the
    /// current pepper version.
    fn issue(&self, client_id: &ClientId, now: i64) -> Result<(SecretVerifier, ClientSecret)> {
        let secret = ClientSecret::generate(&self.prefix, &self.rng)?;
        let version = self.pepper.current_version();
        let mac = derive(
            self.pepper.as_ref(),
            version,
            client_id.as_str(),
            secret.expose_secret().as_bytes(),
        )?;
        let verifier = SecretVerifier::new(SecretId::generate(&self.rng)?, version, mac, now);
        Ok((verifier, secret))
    }

    fn set_status(&self, client_id: &ClientId, status: ClientStatus) -> Result<()> {
        self.modify(client_id, |record, _| {
            record.status = status;
            Ok(())
        })
    }

    /// Reads, changes and writes back a record, retrying on a concurrent
    /// change.
    pub(crate) fn modify<T>(
        &self,
        client_id: &ClientId,
        mut change: impl FnMut(&mut ClientRecord, i64) -> Result<T>,
    ) -> Result<T> {
        let mut last = None;
        for _ in 0..UPDATE_ATTEMPTS {
            let stored = self
                .store
                .get(client_id)?
                .ok_or_else(|| Error::UnknownClient {
                    client_id: client_id.to_string(),
                })?;
            let now = self.now()?;
            let mut record = stored.record;
            let out = change(&mut record, now)?;
            record.updated = now;
            match self.store.update(&record, stored.version) {
                Ok(_) => return Ok(out),
                Err(e @ Error::Conflict { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::Conflict {
            client_id: client_id.to_string(),
            expected: 0,
        }))
    }
}

/// What an audit event says beyond the outcome (all empty by default).
#[derive(Default)]
pub(crate) struct Details<'a> {
    pub(crate) secret_id: Option<&'a SecretId>,
    pub(crate) rederived: bool,
    pub(crate) key_id: Option<&'a str>,
    pub(crate) error: Option<&'a Error>,
}

/// The part every authentication shares, whatever the method: the time,
/// the claimed client, the rate-limit check before any work, the store
/// lookup (an outage is [`AuthError::Unavailable`]) and the audit event.
pub(crate) struct Attempt<'r> {
    registry: &'r Registry,
    /// The registry's time when the attempt began.
    pub(crate) now: i64,
    /// The claimed client id, if well formed.
    pub(crate) claimed: Option<ClientId>,
    /// The caller's address.
    pub(crate) source: Option<IpAddr>,
}

impl<'r> Attempt<'r> {
    /// Starts an attempt by `claimed` from `source`; rejected (and
    /// audited) before any work if the source, or the pair, is blocked,
    /// or [`AuthError::Unavailable`] if a shared rate-limit store failed.
    pub(crate) fn begin(
        registry: &'r Registry,
        claimed: Option<ClientId>,
        source: Option<IpAddr>,
    ) -> Result<Self, AuthError> {
        // A broken clock (a time before the epoch) is an outage, never an
        // acceptance.
        let now = registry.now().map_err(|_| AuthError::Unavailable)?;
        let attempt = Self {
            registry,
            now,
            claimed,
            source,
        };
        let limited = registry
            .limiter
            .check(attempt.limiter_key(), source)
            .map_err(|error| attempt.rate_limit_outage(&error, None))?;
        if let Some(limited) = limited {
            let reason = match limited {
                Limited::Client => FailureReason::RateLimitedClient,
                Limited::Source => FailureReason::RateLimitedSource,
            };
            attempt.report(AuthOutcome::Failure(reason), Details::default());
            return Err(AuthError::InvalidClient);
        }
        Ok(attempt)
    }

    /// Counts the attempt's failure against its source and, if
    /// `attributable` (to the claimed client), against the pair (claimed
    /// client, source). A shared store's failure is audited (with
    /// `key_id`, if the attempt named a key) and is
    /// [`AuthError::Unavailable`]: the caller then answers that, not
    /// `InvalidClient`.
    pub(crate) fn charge(&self, attributable: bool, key_id: Option<&str>) -> Result<(), AuthError> {
        let client = if attributable {
            self.limiter_key()
        } else {
            None
        };
        self.registry
            .limiter
            .record_failure(client, self.source)
            .map_err(|error| self.rate_limit_outage(&error, key_id))
    }

    /// Audits a shared rate-limit store's failure; the attempt's answer.
    fn rate_limit_outage(&self, error: &Error, key_id: Option<&str>) -> AuthError {
        self.report(
            AuthOutcome::Failure(FailureReason::RateLimitUnavailable),
            Details {
                key_id,
                error: Some(error),
                ..Details::default()
            },
        );
        AuthError::Unavailable
    }

    /// The rate limiter's key for the claimed client.
    pub(crate) fn limiter_key(&self) -> Option<&str> {
        self.claimed.as_ref().map(ClientId::as_str)
    }

    /// The client's stored record, if any; a store failure is audited
    /// (with `key_id`, if the attempt named a key) and is
    /// [`AuthError::Unavailable`].
    pub(crate) fn lookup(
        &self,
        id: &ClientId,
        key_id: Option<&str>,
    ) -> Result<Option<StoredClient>, AuthError> {
        self.registry.store.get(id).map_err(|error| {
            self.report(
                AuthOutcome::Failure(FailureReason::StoreUnavailable),
                Details {
                    key_id,
                    error: Some(&error),
                    ..Details::default()
                },
            );
            AuthError::Unavailable
        })
    }

    /// Sends the attempt's audit event.
    pub(crate) fn report(&self, outcome: AuthOutcome, details: Details<'_>) {
        self.registry.audit.record(&AuthEvent {
            time: self.now,
            client_id: self.claimed.as_ref(),
            source: self.source,
            outcome,
            secret_id: details.secret_id,
            rederived: details.rederived,
            key_id: details.key_id,
            error: details.error,
        });
    }
}
