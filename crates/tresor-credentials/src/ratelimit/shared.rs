//! The shared rate-limit store: the [`RateLimitStore`] trait, the GCRA
//! arithmetic every implementation shares, and the in-process
//! [`MemoryRateLimitStore`] that defines it by code.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ring::digest;

use super::FailureQuota;
use crate::error::Result;

/// The longest time a rate-limit store reasons about: a quota's period,
/// and its burst times its period, count as at most this (50 years of
/// 365 days). It keeps every instant a store computes, in microseconds
/// from the UNIX epoch, below 2^53 for centuries, so a store that counts
/// in IEEE doubles (Redis's Lua) computes exactly what an integer one
/// does.
pub const MAX_RATE_HORIZON: Duration = Duration::from_secs(50 * 365 * 24 * 60 * 60);

/// [`MAX_RATE_HORIZON`] in microseconds.
const MAX_HORIZON_MICROS: u64 = 50 * 365 * 24 * 60 * 60 * 1_000_000;
const _: () = assert!(MAX_RATE_HORIZON.as_micros() == MAX_HORIZON_MICROS as u128);

impl FailureQuota {
    /// The period as a [`RateLimitStore`] counts it: in whole
    /// microseconds, rounded up, at least 1, at most
    /// [`MAX_RATE_HORIZON`].
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    /// use tresor_credentials::FailureQuota;
    ///
    /// let q = FailureQuota::new(NonZeroU32::MIN, Duration::from_nanos(1500)).unwrap();
    /// assert_eq!(q.period_micros(), 2);
    /// ```
    pub fn period_micros(&self) -> u64 {
        let micros = self.period().as_nanos().div_ceil(1000);
        u64::try_from(micros)
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_HORIZON_MICROS)
    }

    /// The burst times the period, as a [`RateLimitStore`] counts it: in
    /// microseconds, at most [`MAX_RATE_HORIZON`] (so a burst so large that
    /// this is clamped allows fewer cells at once than it says: a key never
    /// owes more than 50 years).
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    /// use tresor_credentials::FailureQuota;
    ///
    /// let q = FailureQuota::new(NonZeroU32::new(3).unwrap(), Duration::from_millis(10)).unwrap();
    /// assert_eq!(q.horizon_micros(), 30_000);
    /// ```
    pub fn horizon_micros(&self) -> u64 {
        self.period_micros()
            .saturating_mul(u64::from(self.burst().get()))
            .min(MAX_HORIZON_MICROS)
    }
}

/// A store of rate-limit state shared by every server that uses it: a
/// generic cell rate algorithm (GCRA) per key, the same algorithm as the
/// in-process `governor` limiters.
///
/// # Semantics
///
/// A key has a bucket of [`FailureQuota::burst`] cells, full at first.
/// [`take`](Self::take) takes one cell; one cell comes back every
/// [`FailureQuota::period`], and a key never holds more than its burst.
/// When no cell is left, `take` takes nothing and answers
/// `Some(retry_after)`: the time until a cell is back, at most the period.
/// [`peek`](Self::peek) answers what `take` would, and takes nothing.
///
/// The state of a key is one instant, its *theoretical arrival time*
/// (TAT): when its bucket is full again. With `now` the store's clock,
/// `T` = [`FailureQuota::period_micros`] and `L` =
/// [`FailureQuota::horizon_micros`] (burst × `T`), all in microseconds:
///
/// ```text
/// tat  = the key's TAT, or now if it has none (or it has passed)
/// next = tat + T
/// if next - now > L: refused, retry_after = next - now - L   (nothing stored)
/// else:              allowed; take stores TAT = next
/// ```
///
/// A key whose TAT has passed is the same as a key never seen, so a store
/// may forget it then (and must not forget it before: that would give
/// cells back early). The state is per key, whatever the quota: call a key
/// with one quota only.
///
/// Keys are any strings (empty, long, any characters); a store that
/// cannot keep them as they are hashes them. The [`Registry`] uses the
/// keys `auth:source:{source}` and `auth:client:{client id}:{source}`
/// ([`RegistryBuilder::shared_rate_limits`]): give other limits (per-client
/// request limits, say) other names.
///
/// # Errors and outages
///
/// A store that cannot answer (its server is down, slow or refuses the
/// write) returns an error, [`Error::Storage`](crate::Error::Storage) by
/// convention ([`Error::storage`](crate::Error::storage)): the caller must
/// treat it as an outage (answer 503), never as "allowed". The
/// [`Registry`] does.
///
/// # Implementations
///
/// [`MemoryRateLimitStore`] (one process), and `RedisRateLimitStore` in
/// the `tresor-redis` crate (several servers, one Redis). Every
/// implementation must pass the conformance suite,
/// `ratelimit::conformance` (feature `conformance`).
///
/// # Example
///
/// A per-client request limit, 5 requests at once then 5 per second:
///
/// ```
/// use std::num::NonZeroU32;
/// use tresor_credentials::{FailureQuota, MemoryRateLimitStore, RateLimitStore};
///
/// # fn main() -> tresor_credentials::Result<()> {
/// let store = MemoryRateLimitStore::default();
/// let quota = FailureQuota::per_second(NonZeroU32::new(5).unwrap());
/// for _ in 0..5 {
///     assert_eq!(store.take("requests:client-1", quota)?, None);
/// }
/// let retry_after = store.take("requests:client-1", quota)?.expect("the burst is spent");
/// assert!(retry_after <= quota.period()); // answer 429 with Retry-After
/// assert!(store.peek("requests:client-1", quota)?.is_some());
/// assert_eq!(store.peek("requests:client-2", quota)?, None); // keys are independent
/// # Ok(())
/// # }
/// ```
///
/// [`Registry`]: crate::Registry
/// [`RegistryBuilder::shared_rate_limits`]: crate::registry::RegistryBuilder::shared_rate_limits
pub trait RateLimitStore: Send + Sync + fmt::Debug {
    /// Whether a [`take`](Self::take) of `key` would be refused now,
    /// without taking anything: `Some(retry_after)` if so, `None` if a
    /// cell is available.
    fn peek(&self, key: &str, quota: FailureQuota) -> Result<Option<Duration>>;

    /// Takes one cell of `key`: `None` if it did, `Some(retry_after)` (the
    /// time until a cell is back) if none was available, in which case
    /// nothing was taken.
    fn take(&self, key: &str, quota: FailureQuota) -> Result<Option<Duration>>;
}

macro_rules! forward_rate_limit_store {
    ($($ptr:ty),*) => {$(
        impl<S: RateLimitStore + ?Sized> RateLimitStore for $ptr {
            fn peek(&self, key: &str, quota: FailureQuota) -> Result<Option<Duration>> {
                (**self).peek(key, quota)
            }
            fn take(&self, key: &str, quota: FailureQuota) -> Result<Option<Duration>> {
                (**self).take(key, quota)
            }
        }
    )*};
}

forward_rate_limit_store!(Arc<S>, Box<S>, &S);

/// One GCRA decision at `now` for a key whose TAT is `tat` (both in
/// microseconds): `Ok(next TAT)` if a cell is available, `Err(µs until one
/// is)` if not.
fn gcra(tat: Option<u64>, now: u64, quota: FailureQuota) -> std::result::Result<u64, u64> {
    let tat = tat.map_or(now, |t| t.max(now));
    let next = tat.saturating_add(quota.period_micros());
    let owed = next - now;
    let horizon = quota.horizon_micros();
    if owed > horizon {
        Err(owed - horizon)
    } else {
        Ok(next)
    }
}

/// The default number of keys a [`MemoryRateLimitStore`] tracks.
pub const DEFAULT_MAX_RATE_KEYS: usize = 100_000;

/// A [`RateLimitStore`] in this process's memory: for one server, for
/// tests, and as the reference the conformance suite is checked against.
///
/// Time is the monotonic clock ([`Instant`]). Keys are kept as their
/// SHA-256 digest (32 bytes whatever their length), with their TAT, under
/// one lock.
///
/// Memory is bounded: at most `max_keys` keys (default
/// [`DEFAULT_MAX_RATE_KEYS`]). When a new key finds the table full, the
/// keys whose TAT has passed (full buckets, the same as absent) are
/// dropped; if that frees nothing, the half of the keys nearest to a full
/// bucket is forgotten (those give the fewest cells back early). So a
/// flood of fresh keys can make the store forget partly spent keys, the
/// most spent last; a service that must never forget should use a store
/// with room for every key (Redis with `noeviction`).
pub struct MemoryRateLimitStore {
    origin: Instant,
    max_keys: usize,
    tats: Mutex<HashMap<[u8; 32], u64>>,
}

impl MemoryRateLimitStore {
    /// An empty store tracking at most `max_keys` keys (at least 1).
    pub fn new(max_keys: usize) -> Self {
        Self {
            origin: Instant::now(),
            max_keys: max_keys.max(1),
            tats: Mutex::new(HashMap::new()),
        }
    }

    /// The number of keys it holds now (some may have full buckets, not
    /// yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The most keys it tracks.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], u64>> {
        // The map is valid after any panic (single inserts and retains).
        self.tats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn digest(key: &str) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, key.as_bytes()).as_ref());
        out
    }

    /// Makes room for one more key: drops full buckets, then, if none
    /// was, the half nearest to a full bucket.
    fn make_room(map: &mut HashMap<[u8; 32], u64>, now: u64, max: usize) {
        map.retain(|_, tat| *tat > now);
        if map.len() >= max {
            let mut tats: Vec<u64> = map.values().copied().collect();
            let middle = tats.len() / 2;
            let (_, cut, _) = tats.select_nth_unstable(middle);
            let cut = *cut;
            map.retain(|_, tat| *tat > cut);
            if map.len() >= max {
                // Every TAT equal: forget them all rather than refuse.
                map.clear();
            }
        }
        map.shrink_to(max);
    }
}

impl Default for MemoryRateLimitStore {
    /// At most [`DEFAULT_MAX_RATE_KEYS`] keys.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RATE_KEYS)
    }
}

impl fmt::Debug for MemoryRateLimitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateLimitStore")
            .field("keys", &self.len())
            .field("max_keys", &self.max_keys)
            .finish()
    }
}

impl RateLimitStore for MemoryRateLimitStore {
    fn peek(&self, key: &str, quota: FailureQuota) -> Result<Option<Duration>> {
        let digest = Self::digest(key);
        let now = self.now();
        let tat = self.lock().get(&digest).copied();
        Ok(gcra(tat, now, quota).err().map(Duration::from_micros))
    }

    fn take(&self, key: &str, quota: FailureQuota) -> Result<Option<Duration>> {
        let digest = Self::digest(key);
        let mut map = self.lock();
        let now = self.now();
        match gcra(map.get(&digest).copied(), now, quota) {
            Ok(next) => {
                if map.len() >= self.max_keys && !map.contains_key(&digest) {
                    Self::make_room(&mut map, now, self.max_keys);
                }
                map.insert(digest, next);
                Ok(None)
            }
            Err(wait) => Ok(Some(Duration::from_micros(wait))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn quota(burst: u32, period: Duration) -> FailureQuota {
        FailureQuota::new(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN), period)
            .unwrap_or_else(|| FailureQuota::per_second(NonZeroU32::MIN))
    }

    #[test]
    fn gcra_arithmetic() {
        let q = quota(3, Duration::from_micros(10));
        assert_eq!(gcra(None, 100, q), Ok(110));
        assert_eq!(gcra(Some(110), 100, q), Ok(120));
        assert_eq!(gcra(Some(120), 100, q), Ok(130));
        assert_eq!(gcra(Some(130), 100, q), Err(10));
        assert_eq!(gcra(Some(130), 104, q), Err(6));
        assert_eq!(gcra(Some(130), 110, q), Ok(140));
        // A TAT in the past is a full bucket.
        assert_eq!(gcra(Some(5), 100, q), Ok(110));
        // Huge values saturate instead of overflowing.
        let huge = quota(u32::MAX, Duration::MAX);
        assert_eq!(huge.period_micros(), MAX_HORIZON_MICROS);
        assert_eq!(huge.horizon_micros(), MAX_HORIZON_MICROS);
        assert_eq!(gcra(None, u64::MAX - 1, huge), Ok(u64::MAX));
        assert_eq!(gcra(Some(u64::MAX), u64::MAX, huge), Ok(u64::MAX));
    }

    #[test]
    fn memory_stays_bounded_and_keeps_the_most_spent_keys() {
        let store = MemoryRateLimitStore::new(64);
        let long = quota(2, Duration::from_secs(3600));
        // One key spent entirely, long ago in the table's life.
        store.take("hammer", long).ok();
        store.take("hammer", long).ok();
        assert!(store.take("hammer", long).ok().flatten().is_some());
        for n in 0..5000 {
            store.take(&format!("fresh-{n}"), long).ok();
            assert!(store.len() <= 64, "{} keys at {n}", store.len());
        }
        // The spent key owes the most: it was never forgotten.
        assert!(store.peek("hammer", long).ok().flatten().is_some());
        assert_eq!(store.max_keys(), 64);
        assert!(format!("{store:?}").contains("max_keys: 64"));
    }
}
