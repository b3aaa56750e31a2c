//! Rate limits on failed authentications, per client id and per source
//! address, with bounded memory.
//!
//! Each failure takes one cell from a `governor` keyed GCRA limiter (one for
//! client ids, one for source addresses). When a key's burst is spent, the
//! key is blocked until `governor` says the next cell is available; while
//! blocked, every attempt for it is rejected **before** any store lookup or
//! MAC, so a guessing attack costs the server almost nothing. Successful
//! authentications take no cell.
//!
//! Memory: both the limiters' key maps and the block lists are swept
//! (`retain_recent`, `shrink_to_fit`, expired blocks dropped) every 1024
//! failures and whenever they hold more than `max_tracked` keys. If a
//! limiter still holds more keys than that after a sweep (a flood of fresh
//! keys), it is replaced by an empty one: the counts of keys not yet blocked
//! are forgotten, blocked keys stay blocked. A full block list blocks no new
//! key (the per-source limit still applies).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use governor::Quota;
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;

/// The failures between two routine sweeps.
const SWEEP_EVERY: u32 = 1024;

/// The rate limits on failed authentications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Failures allowed per client id (burst, and replenishment).
    pub per_client: Quota,
    /// Failures allowed per source address (burst, and replenishment).
    pub per_source: Quota,
    /// The most keys each limiter tracks (memory bound).
    pub max_tracked: usize,
}

impl Default for RateLimits {
    /// 10 failures per client id, then one per 30 s; 50 failures per source
    /// address, then one per 6 s; at most 100 000 keys tracked per limiter.
    fn default() -> Self {
        Self {
            per_client: Quota::with_period(Duration::from_secs(30))
                .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN)),
            per_source: Quota::with_period(Duration::from_secs(6))
                .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN)),
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

/// Which limit rejected an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limited {
    Client,
    Source,
}

/// The failure limiter of a registry.
pub(crate) struct FailureLimiter {
    max_tracked: usize,
    clients: Mutex<Tracker<String>>,
    sources: Mutex<Tracker<IpAddr>>,
}

impl FailureLimiter {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Self {
            max_tracked: limits.max_tracked.max(1),
            clients: Mutex::new(Tracker::new(limits.per_client)),
            sources: Mutex::new(Tracker::new(limits.per_source)),
        }
    }

    /// Whether an attempt must be rejected before any work.
    pub(crate) fn check(&self, client: Option<&str>, source: Option<IpAddr>) -> Option<Limited> {
        let now = Instant::now();
        if let Some(ip) = source {
            let t = self.sources.lock().unwrap_or_else(|p| p.into_inner());
            if t.is_blocked(&ip, now) {
                return Some(Limited::Source);
            }
        }
        if let Some(id) = client {
            let t = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            if t.is_blocked(id, now) {
                return Some(Limited::Client);
            }
        }
        None
    }

    /// Counts one failed attempt.
    pub(crate) fn record_failure(&self, client: Option<&str>, source: Option<IpAddr>) {
        if let Some(ip) = source {
            let mut t = self.sources.lock().unwrap_or_else(|p| p.into_inner());
            t.record_failure(&ip, self.max_tracked);
        }
        if let Some(id) = client {
            let mut t = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            t.record_failure(&id.to_owned(), self.max_tracked);
        }
    }

    /// The keys tracked (limiter entries plus blocks), client ids and
    /// sources.
    pub(crate) fn tracked(&self) -> (usize, usize) {
        let c = self
            .clients
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
