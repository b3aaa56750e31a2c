//! Rate limits on failed authentications, per (client id, source) and per
//! source, with bounded memory.
//!
//! # What is counted where
//!
//! Client ids are not secret, so a limit per client id alone would let
//! anyone lock any client out (a few failures from anywhere, then one
//! every replenishment period). Failures are therefore counted:
//!
//! - **per (client id, source)** ([`RateLimits::per_client`]): guessing one
//!   client's secret from one network blocks that network for that client
//!   only; the client, from anywhere else, is not affected;
//! - **per source** ([`RateLimits::per_source`]): one network guessing
//!   across many client ids is blocked for every client.
//!
//! A source is an IPv4 address (/32), or the /64 an IPv6 address belongs
//! to (one customer's network: a host that owns a /64 could otherwise use
//! a fresh address per attempt). An IPv4-mapped IPv6 address
//! (`::ffff:192.0.2.7`) is the IPv4 address.
//!
//! A failure is charged to the client only when it is attributable to
//! it: for `private_key_jwt`, only once the assertion's signature verified
//! under one of the client's keys (wrong `aud`, expired, replayed …);
//! before that (malformed, unknown key, bad signature) the claimed `sub`
//! is unverified, so the failure is charged to the source only. For a
//! shared secret every failure counts against (claimed id, source) and the
//! source.
//!
//! # Without a source
//!
//! A caller that passes no source (`None`: a local tool, or a server that
//! does not know its peer) gets one shared (client id, no source) bucket
//! per client and no per-source limit; failures not attributable to a
//! client are then not limited at all. So the (client, `None`) bucket is
//! a lock-out surface among callers that pass no source: **a network
//! facing token endpoint must pass the peer address**
//! ([`TokenRequest::source`](crate::endpoint::TokenRequest::source),
//! [`TokenEndpoint::handle_http`](crate::TokenEndpoint)'s `source`), the
//! TCP peer or the address a trusted reverse proxy reports.
//!
//! # Mechanism (in process, the default)
//!
//! Each failure takes one cell from a `governor` keyed GCRA limiter (one for
//! (client id, source) pairs, one for sources). When a key's burst is
//! spent, the key is blocked until `governor` says the next cell is
//! available; while blocked, every attempt for it is rejected **before**
//! any store lookup or MAC, so a guessing attack costs the server almost
//! nothing. Successful authentications take no cell.
//!
//! Memory: both the limiters' key maps and the block lists are swept
//! (`retain_recent`, `shrink_to_fit`, expired blocks dropped) every 1024
//! failures and whenever they hold more than `max_tracked` keys. If a
//! limiter still holds more keys than that after a sweep (a flood of fresh
//! keys), it is replaced by an empty one: the counts of keys not yet blocked
//! are forgotten, blocked keys stay blocked. A full block list blocks no new
//! key (the per-source limit still applies).
//!
//! # Shared by several servers
//!
//! The limits above are per process: behind a load balancer, each API
//! server would allow its own burst. With
//! [`RegistryBuilder::shared_rate_limits`](crate::registry::RegistryBuilder::shared_rate_limits)
//! the registry counts in a [`RateLimitStore`] instead, one truth for
//! every server that uses it (`tresor_redis::RedisRateLimitStore`: one
//! Redis, Redis's clock). The keys, quotas and rules are the same (the
//! /64, failures charged to the client only when attributable, the check
//! before any work, no cell for a success); each attempt peeks at its keys
//! (`auth:source:{source}`, `auth:client:{client id}:{source}`) before any
//! work and takes one cell of each after a failure. An attempt is refused
//! as soon as a key's burst is spent: `burst` failures, then one per
//! period (the in-process limiter, which blocks a key when a failure finds
//! no cell, lets one failure more through at each block). A store that
//! fails makes the attempt fail closed, as
//! [`AuthError::Unavailable`](crate::AuthError::Unavailable) (503), never
//! `InvalidClient`, never an acceptance.
//!
//! The trait is not about failures only: a server can keep its own limits
//! in the same store (per-client request limits, say, with
//! [`RateLimitStore::take`] on a key such as `requests:{client id}`),
//! under names that do not start with `auth:`.
//!
//! A [`RateLimitStore`] is a GCRA per key, defined by
//! [`MemoryRateLimitStore`] (bounded memory, the reference) and checked by
//! the conformance suite `ratelimit::conformance` (feature
//! `conformance`), which every implementation must pass.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::Quota;
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;

use crate::error::Result;

#[cfg(feature = "conformance")]
pub mod conformance;
mod shared;

pub use shared::{DEFAULT_MAX_RATE_KEYS, MAX_RATE_HORIZON, MemoryRateLimitStore, RateLimitStore};

/// The failures between two routine sweeps.
const SWEEP_EVERY: u32 = 1024;

/// How many failures a key may have: `burst` at once, then one more per
/// `period` (a generic cell rate: each failure takes a cell, a cell comes
/// back every `period`, at most `burst` are held). Also the quota of any
/// key of a [`RateLimitStore`], a per-client request limit for one.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use tresor_credentials::FailureQuota;
///
/// let ten_then_one_per_30s = FailureQuota::new(NonZeroU32::new(10).unwrap(), Duration::from_secs(30));
/// assert_eq!(ten_then_one_per_30s.map(|q| q.burst().get()), Some(10));
/// assert!(FailureQuota::new(NonZeroU32::MIN, Duration::ZERO).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FailureQuota {
    burst: NonZeroU32,
    period: Duration,
}

impl FailureQuota {
    /// `burst` failures, then one per `period`; `None` if `period` is zero.
    pub fn new(burst: NonZeroU32, period: Duration) -> Option<Self> {
        (!period.is_zero()).then_some(Self { burst, period })
    }

    /// `n` failures, then `n` more per `window`, spread evenly (one per
    /// `window / n`, at least a nanosecond).
    pub fn per_window(n: NonZeroU32, window: Duration) -> Self {
        Self {
            burst: n,
            period: (window / n.get()).max(Duration::from_nanos(1)),
        }
    }

    /// `n` failures, then `n` more per second.
    pub fn per_second(n: NonZeroU32) -> Self {
        Self::per_window(n, Duration::from_secs(1))
    }

    /// `n` failures, then `n` more per minute.
    pub fn per_minute(n: NonZeroU32) -> Self {
        Self::per_window(n, Duration::from_secs(60))
    }

    /// `n` failures, then `n` more per hour.
    pub fn per_hour(n: NonZeroU32) -> Self {
        Self::per_window(n, Duration::from_secs(3600))
    }

    /// The failures allowed at once.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// The time after which one more failure is allowed.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The `governor` quota it stands for (the period is never zero).
    fn to_governor(self) -> Quota {
        Quota::with_period(self.period)
            .unwrap_or_else(|| Quota::per_second(self.burst))
            .allow_burst(self.burst)
    }
}

/// The rate limits on failed authentications (see the [module
/// docs](self)).
///
/// ```
/// use std::num::NonZeroU32;
/// use tresor_credentials::{FailureQuota, RateLimits};
///
/// let limits = RateLimits::default()
///     .with_per_client(FailureQuota::per_hour(NonZeroU32::new(20).unwrap()))
///     .with_max_tracked(10_000);
/// assert_eq!(limits.max_tracked, 10_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Failures allowed per (client id, source) pair (burst, and
    /// replenishment): one network guessing one client's secret. Not per
    /// client id alone, which would let anyone lock any client out.
    pub per_client: FailureQuota,
    /// Failures allowed per source (burst, and replenishment), a source
    /// being an IPv4 address or an IPv6 /64, whatever the client id.
    pub per_source: FailureQuota,
    /// The most keys each limiter tracks (memory bound).
    pub max_tracked: usize,
}

impl RateLimits {
    /// These limits with `quota` per (client id, source) pair.
    #[must_use]
    pub fn with_per_client(mut self, quota: FailureQuota) -> Self {
        self.per_client = quota;
        self
    }

    /// These limits with `quota` per source.
    #[must_use]
    pub fn with_per_source(mut self, quota: FailureQuota) -> Self {
        self.per_source = quota;
        self
    }

    /// These limits tracking at most `max` keys per limiter.
    #[must_use]
    pub fn with_max_tracked(mut self, max: usize) -> Self {
        self.max_tracked = max;
        self
    }
}

impl Default for RateLimits {
    /// 10 failures per (client id, source), then one per 30 s; 50 failures
    /// per source (IPv4 address or IPv6 /64), then one per 6 s; at most
    /// 100 000 keys tracked per limiter.
    fn default() -> Self {
        let quota = |burst: u32, secs| FailureQuota {
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            period: Duration::from_secs(secs),
        };
        Self {
            per_client: quota(10, 30),
            per_source: quota(50, 6),
            max_tracked: 100_000,
        }
    }
}

type Keyed<K> = governor::RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

struct Tracker<K: Hash + Eq + Clone> {
    quota: Quota,
    limiter: Keyed<K>,
    blocked: HashMap<K, Instant>,
    failures: u32,
}

impl<K: Hash + Eq + Clone> Tracker<K> {
    fn new(quota: Quota) -> Self {
        Self {
            quota,
            limiter: governor::RateLimiter::hashmap(quota),
            blocked: HashMap::new(),
            failures: 0,
        }
    }

    fn is_blocked<Q: Hash + Eq + ?Sized>(&self, key: &Q, now: Instant) -> bool
    where
        K: Borrow<Q>,
    {
        self.blocked.get(key).is_some_and(|&until| now < until)
    }

    fn record_failure(&mut self, key: &K, max: usize) {
        let now = Instant::now();
        if let Err(not_until) = self.limiter.check_key(key) {
            let until = now + not_until.wait_time_from(DefaultClock::default().now());
            if self.blocked.len() < max || self.blocked.contains_key(key) {
                self.blocked.insert(key.clone(), until);
            }
        }
        self.failures = self.failures.wrapping_add(1);
        if self.failures.is_multiple_of(SWEEP_EVERY)
            || self.limiter.len() > max
            || self.blocked.len() >= max
        {
            self.sweep(now, max);
        }
    }

    fn sweep(&mut self, now: Instant, max: usize) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        if self.limiter.len() > max {
            self.limiter = governor::RateLimiter::hashmap(self.quota);
        }
        self.blocked.retain(|_, until| now < *until);
        self.blocked.shrink_to_fit();
    }

    fn tracked(&self) -> usize {
        self.limiter.len() + self.blocked.len()
    }
}

/// A source as the per-source limit counts it: an IPv4 address, or the
/// /64 of an IPv6 address (IPv4-mapped IPv6 is IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl Source {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Source::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.octets()),
                None => Source::V6Prefix(prefix64(v6)),
            },
        }
    }
}

impl fmt::Display for Source {
    /// `192.0.2.7`, or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::V4(octets) => write!(f, "{}", Ipv4Addr::from(*octets)),
            Source::V6Prefix(prefix) => {
                let bits = u128::from(u64::from_be_bytes(*prefix)) << 64;
                write!(f, "{}/64", Ipv6Addr::from_bits(bits))
            }
        }
    }
}

/// The first 64 bits of an IPv6 address.
fn prefix64(v6: Ipv6Addr) -> [u8; 8] {
    let bits = v6.to_bits() >> 64;
    // The upper half of a u128 fits a u64.
    u64::try_from(bits).unwrap_or(u64::MAX).to_be_bytes()
}

/// A (client id, source) pair; `None`: the caller passed no source.
type Pair = (String, Option<Source>);

/// Which limit rejected an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limited {
    Client,
    Source,
}

/// The in-process failure limiter: `governor` limiters and block lists.
struct LocalLimiter {
    max_tracked: usize,
    pairs: Mutex<Tracker<Pair>>,
    sources: Mutex<Tracker<Source>>,
}

impl LocalLimiter {
    fn new(limits: &RateLimits) -> Self {
        Self {
            max_tracked: limits.max_tracked.max(1),
            pairs: Mutex::new(Tracker::new(limits.per_client.to_governor())),
            sources: Mutex::new(Tracker::new(limits.per_source.to_governor())),
        }
    }

    fn check(&self, client: Option<&str>, source: Option<Source>) -> Option<Limited> {
        let now = Instant::now();
        if let Some(src) = source {
            let t = self.sources.lock().unwrap_or_else(|p| p.into_inner());
            if t.is_blocked(&src, now) {
                return Some(Limited::Source);
            }
        }
        if let Some(id) = client {
            let t = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
            if t.is_blocked(&(id.to_owned(), source), now) {
                return Some(Limited::Client);
            }
        }
        None
    }

    fn record_failure(&self, client: Option<&str>, source: Option<Source>) {
        if let Some(src) = source {
            let mut t = self.sources.lock().unwrap_or_else(|p| p.into_inner());
            t.record_failure(&src, self.max_tracked);
        }
        if let Some(id) = client {
            let mut t = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
            t.record_failure(&(id.to_owned(), source), self.max_tracked);
        }
    }

    fn tracked(&self) -> (usize, usize) {
        let c = self
            .pairs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tracked();
        let s = self
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tracked();
        (c, s)
    }
}

/// The failure limiter over a [`RateLimitStore`] shared by several
/// servers.
struct SharedLimiter {
    store: Arc<dyn RateLimitStore>,
    per_client: FailureQuota,
    per_source: FailureQuota,
}

impl SharedLimiter {
    fn check(&self, client: Option<&str>, source: Option<Source>) -> Result<Option<Limited>> {
        if let Some(src) = source
            && self
                .store
                .peek(&source_key(src), self.per_source)?
                .is_some()
        {
            return Ok(Some(Limited::Source));
        }
        if let Some(id) = client
            && self
                .store
                .peek(&client_key(id, source), self.per_client)?
                .is_some()
        {
            return Ok(Some(Limited::Client));
        }
        Ok(None)
    }

    fn record_failure(&self, client: Option<&str>, source: Option<Source>) -> Result<()> {
        // Both are charged even if the first fails; the first error is
        // returned.
        let by_source = source.map(|src| self.store.take(&source_key(src), self.per_source));
        let by_client = client.map(|id| self.store.take(&client_key(id, source), self.per_client));
        by_source.transpose()?;
        by_client.transpose()?;
        Ok(())
    }
}

/// The shared store's key of a source: `auth:source:{source}`.
fn source_key(source: Source) -> String {
    format!("auth:source:{source}")
}

/// The shared store's key of a (client id, source) pair:
/// `auth:client:{client id}:{source}`, the source `-` when there is none.
fn client_key(client: &str, source: Option<Source>) -> String {
    match source {
        Some(src) => format!("auth:client:{client}:{src}"),
        None => format!("auth:client:{client}:-"),
    }
}

/// The failure limiter of a registry: in process (the default), or over
/// a shared store.
pub(crate) struct FailureLimiter(Backend);

enum Backend {
    Local(Box<LocalLimiter>),
    Shared(SharedLimiter),
}

impl FailureLimiter {
    pub(crate) fn new(limits: &RateLimits, shared: Option<Arc<dyn RateLimitStore>>) -> Self {
        Self(match shared {
            None => Backend::Local(Box::new(LocalLimiter::new(limits))),
            Some(store) => Backend::Shared(SharedLimiter {
                store,
                per_client: limits.per_client,
                per_source: limits.per_source,
            }),
        })
    }

    /// Whether an attempt must be rejected before any work: its source is
    /// blocked, or the pair (claimed client, source) is. An error only
    /// from a shared store (an outage: the attempt must fail as
    /// unavailable).
    pub(crate) fn check(
        &self,
        client: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<Option<Limited>> {
        let source = source.map(Source::of);
        match &self.0 {
            Backend::Local(local) => Ok(local.check(client, source)),
            Backend::Shared(shared) => shared.check(client, source),
        }
    }

    /// Counts one failed attempt against the source and, if `client` is
    /// given (a failure attributable to that client), against the pair
    /// (client, source). Pass `None` for failures whose client is not
    /// established (an unverified `private_key_jwt` assertion). An error
    /// only from a shared store (an outage).
    pub(crate) fn record_failure(
        &self,
        client: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<()> {
        let source = source.map(Source::of);
        match &self.0 {
            Backend::Local(local) => {
                local.record_failure(client, source);
                Ok(())
            }
            Backend::Shared(shared) => shared.record_failure(client, source),
        }
    }

    /// The keys tracked in process (limiter entries plus blocks), (client,
    /// source) pairs and sources; none with a shared store.
    pub(crate) fn tracked(&self) -> (usize, usize) {
        match &self.0 {
            Backend::Local(local) => local.tracked(),
            Backend::Shared(_) => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_aggregate_ipv6_to_the_slash_64() {
        let of = |text: &str| text.parse::<IpAddr>().map(Source::of).ok();
        assert_eq!(of("2001:db8:1:2::1"), of("2001:db8:1:2:ffff::9"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("::ffff:192.0.2.7"), of("192.0.2.7"));
        assert_ne!(of("192.0.2.7"), of("192.0.2.8"));
        assert_eq!(
            of("2001:db8:1:2::1"),
            Some(Source::V6Prefix([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2]))
        );
    }

    #[test]
    fn shared_store_keys() {
        let of = |text: &str| text.parse::<IpAddr>().map(Source::of).ok();
        let v6 = of("2001:db8:1:2:ffff::9");
        let v4 = of("::ffff:192.0.2.7");
        assert_eq!(
            v6.map(source_key).as_deref(),
            Some("auth:source:2001:db8:1:2::/64")
        );
        assert_eq!(v4.map(source_key).as_deref(), Some("auth:source:192.0.2.7"));
        assert_eq!(client_key("abc", v4), "auth:client:abc:192.0.2.7");
        assert_eq!(client_key("abc", None), "auth:client:abc:-");
    }
}
