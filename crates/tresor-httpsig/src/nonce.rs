//! Replay protection: remembering nonces until their signature expires.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use tresor_types::{Clock, SystemClock};

#[cfg(feature = "conformance")]
pub mod conformance;

/// Remembers `(key id, nonce)` pairs so a signature cannot be replayed.
///
/// The verifier calls it last, only after the signature verified, so a
/// forged request cannot burn a legitimate client's nonce.
///
/// Every store is bounded and fails closed when full, and must bound each
/// key id as well as the whole: a store shared by several tenants (an
/// in-process map, Redis, a database) must give each `key_id` at most a
/// fixed share of its room and refuse that key's new nonces with
/// [`Error::LimitExceeded`] once its share is used, so that one tenant
/// flooding the store with valid signed requests exhausts only its own
/// share and every other tenant keeps working ([`MemoryNonceStore`] does
/// this with [`MemoryNonceStore::per_key_limit`]).
pub trait NonceStore: Send + Sync {
    /// Atomically checks that `nonce` has not been seen for `key_id` and
    /// remembers it until `expires_at` (UNIX seconds):
    /// [`Error::ReplayedNonce`] if it was seen and has not expired.
    ///
    /// "Until" is **inclusive**: an entry is live while
    /// `now <= expires_at` and may be forgotten only once
    /// `now > expires_at` (a store with exclusive expiry, such as Redis
    /// `EXAT`, must be given one second more). A replay is refused
    /// whatever `expires_at` it presents; a nonce whose `expires_at` has
    /// already passed is accepted and need not be remembered (the
    /// verifier refuses its signature anyway). Key ids and nonces are
    /// arbitrary strings compared exactly: `(key_id, nonce)` pairs are
    /// distinct whenever either part differs.
    ///
    /// `conformance` (feature `conformance`) is the suite every store
    /// must pass.
    /// A store that cannot remember the nonce must fail (not accept it):
    /// a store that is down (a lost connection, a timeout, a poisoned lock)
    /// fails with [`Error::Unavailable`] (never `ReplayedNonce`, which
    /// would blame the request); a store that is full, or a key that holds
    /// its share of the store already, with [`Error::LimitExceeded`]
    /// without affecting other keys. The tower layer answers both 503.
    fn check_and_remember(&self, key_id: &str, nonce: &str, expires_at: i64) -> Result<()>;
}

impl<S: NonceStore + ?Sized> NonceStore for Arc<S> {
    fn check_and_remember(&self, key_id: &str, nonce: &str, expires_at: i64) -> Result<()> {
        (**self).check_and_remember(key_id, nonce, expires_at)
    }
}

impl<S: NonceStore + ?Sized> NonceStore for &S {
    fn check_and_remember(&self, key_id: &str, nonce: &str, expires_at: i64) -> Result<()> {
        (**self).check_and_remember(key_id, nonce, expires_at)
    }
}

type Entry = (String, String);

#[derive(Default)]
struct Inner {
    seen: HashMap<Entry, i64>,
    by_expiry: BTreeSet<(i64, Entry)>,
    /// Live entries per key id (keys with none are removed).
    per_key: HashMap<String, usize>,
}

/// By default each key id may hold at most `capacity /
/// DEFAULT_KEY_SHARE_DIVISOR` live nonces of a [`MemoryNonceStore`] (at
/// least one): a tenth of the store.
pub const DEFAULT_KEY_SHARE_DIVISOR: usize = 10;

/// An in-memory [`NonceStore`] for one process, bounded in memory, with a
/// bounded share per key.
///
/// Entries are forgotten once expired. The store **rejects** new nonces
/// with [`Error::LimitExceeded`] rather than forget a live one (which would
/// reopen a replay window): it fails closed, in two ways.
///
/// - **Per key**: a key id holding [`MemoryNonceStore::key_limit`] live
///   nonces gets `LimitExceeded` for its new nonces, and only it: the
///   other keys keep working. One tenant flooding the verifier with valid
///   signed requests exhausts its own share, not the store. The default
///   share is `capacity / `[`DEFAULT_KEY_SHARE_DIVISOR`] (at least 1); set
///   another with [`MemoryNonceStore::per_key_limit`].
/// - **Globally**: `capacity` live nonces in all is the memory bound
///   (about 200 to 300 bytes an entry, plus the nonce and key id).
///
/// Sizing: with a per-key share `s` and a validity window `w` seconds
/// (max age + skew, or up to `expires` + skew), one key can sustain `s / w`
/// requests a second; the global capacity `c` is only reached when `c / s`
/// keys are at their share at once (10 with the default share), so `c`
/// should be at least `s` times the number of tenants that may legitimately
/// be busy at once. A key whose share is too small for its peak rate, or a
/// store too small for its tenants, fails closed rather than open. Several
/// servers behind a load balancer need a shared store instead (with the
/// same per-key bound, see [`NonceStore`]).
pub struct MemoryNonceStore {
    capacity: usize,
    key_limit: usize,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("capacity", &self.capacity)
            .field("key_limit", &self.key_limit)
            .field("len", &self.len())
            .finish()
    }
}

impl MemoryNonceStore {
    /// A store for at most `capacity` live nonces, on the system clock,
    /// with the default per-key share (see the type's documentation).
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A store on the given clock, with the default per-key share.
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            capacity,
            key_limit: (capacity / DEFAULT_KEY_SHARE_DIVISOR).max(1),
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// At most `limit` live nonces per key id (instead of the default
    /// share). A limit above the capacity is the capacity: one key may then
    /// fill the store, and starve the others, as before per-key limits; `0`
    /// refuses every nonce.
    #[must_use]
    pub fn per_key_limit(mut self, limit: usize) -> Self {
        self.key_limit = limit.min(self.capacity);
        self
    }

    /// The global capacity: at most this many live nonces in all.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The per-key share: at most this many live nonces per key id.
    pub fn key_limit(&self) -> usize {
        self.key_limit
    }

    /// The number of remembered nonces (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.seen.len()).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_remember(&self, key_id: &str, nonce: &str, expires_at: i64) -> Result<()> {
        let now = self.clock.now().map_err(|e| Error::clock(&e))?.as_secs();
        // A poisoned lock means a panic while holding it: fail closed, as
        // an outage of the store (not a verdict on the request).
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| Error::unavailable("nonce store", "the nonce store's lock is poisoned"))?;
        // Purge expired entries, oldest first.
        while let Some(first) = inner.by_expiry.first().cloned() {
            if first.0 >= now {
                break;
            }
            inner.by_expiry.remove(&first);
            inner.seen.remove(&first.1);
            let key_id = &(first.1).0;
            if let Some(count) = inner.per_key.get_mut(key_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    inner.per_key.remove(key_id);
                }
            }
        }
        let entry = (key_id.to_owned(), nonce.to_owned());
        if inner.seen.contains_key(&entry) {
            return Err(Error::ReplayedNonce);
        }
        if expires_at < now {
            // Already outside its window: nothing to remember (the
            // verifier's time checks reject such signatures anyway).
            return Ok(());
        }
        // The key's share first: a key at its share is refused whatever
        // room is left, so it cannot take the other keys' room.
        let held = inner.per_key.get(key_id).copied().unwrap_or(0);
        if held >= self.key_limit {
            return Err(Error::LimitExceeded {
                what: "nonce store share of this key",
                limit: self.key_limit,
            });
        }
        if inner.seen.len() >= self.capacity {
            return Err(Error::LimitExceeded {
                what: "nonce store capacity",
                limit: self.capacity,
            });
        }
        inner.seen.insert(entry.clone(), expires_at);
        inner.by_expiry.insert((expires_at, entry));
        *inner.per_key.entry(key_id.to_owned()).or_insert(0) += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_types::FixedClock;

    #[test]
    fn replay_expiry_and_capacity() {
        let clock = Arc::new(FixedClock::new(1000));
        let store = MemoryNonceStore::with_clock(2, clock.clone()).per_key_limit(2);
        store.check_and_remember("k", "n1", 1010).unwrap();
        assert_eq!(
            store.check_and_remember("k", "n1", 1010),
            Err(Error::ReplayedNonce)
        );
        // Same nonce, other key: independent.
        store.check_and_remember("k2", "n1", 1005).unwrap();
        // Full of live entries: fail closed.
        assert!(matches!(
            store.check_and_remember("k", "n2", 1010),
            Err(Error::LimitExceeded { .. })
        ));
        // Once one expires, there is room again.
        clock.set(1006);
        store.check_and_remember("k", "n2", 1010).unwrap();
        assert_eq!(
            store.check_and_remember("k", "n1", 1010),
            Err(Error::ReplayedNonce)
        );
        clock.set(1011);
        store.check_and_remember("k", "n1", 1020).unwrap();
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn per_key_share_and_its_accounting() {
        let clock = Arc::new(FixedClock::new(1000));
        let store = MemoryNonceStore::with_clock(25, clock.clone());
        assert_eq!((store.capacity(), store.key_limit()), (25, 2));
        assert_eq!(MemoryNonceStore::new(5).key_limit(), 1);
        assert_eq!(
            MemoryNonceStore::new(100).per_key_limit(500).key_limit(),
            100
        );
        store.check_and_remember("a", "1", 1010).unwrap();
        store.check_and_remember("a", "2", 1020).unwrap();
        assert_eq!(
            store.check_and_remember("a", "3", 1020),
            Err(Error::LimitExceeded {
                what: "nonce store share of this key",
                limit: 2
            })
        );
        // A replay is still a replay, not a limit.
        assert_eq!(
            store.check_and_remember("a", "1", 1010),
            Err(Error::ReplayedNonce)
        );
        store.check_and_remember("b", "1", 1010).unwrap();
        // One of a's nonces expires: a has room for one more, not two.
        clock.set(1011);
        store.check_and_remember("a", "3", 1020).unwrap();
        assert!(store.check_and_remember("a", "4", 1020).is_err());
        // Everything expires: the counts are gone with the entries.
        clock.set(1021);
        store.check_and_remember("c", "1", 1030).unwrap();
        assert_eq!(store.len(), 1);
        let inner = store.inner.lock().unwrap();
        assert_eq!(inner.per_key.len(), 1);
    }

    #[test]
    fn a_poisoned_store_is_unavailable_not_full() {
        let store = MemoryNonceStore::new(10);
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = store.inner.lock();
                panic!("poison the lock");
            })
            .join()
        });
        match store.check_and_remember("k", "n", i64::MAX) {
            Err(Error::Unavailable { what, source }) => {
                assert_eq!(what, "nonce store");
                assert!(source.to_string().contains("poisoned"), "{source}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn global_capacity_still_bounds_many_keys() {
        let clock = Arc::new(FixedClock::new(1000));
        let store = MemoryNonceStore::with_clock(4, clock).per_key_limit(2);
        for key in ["a", "b"] {
            for n in ["1", "2"] {
                store.check_and_remember(key, n, 1010).unwrap();
            }
        }
        assert_eq!(
            store.check_and_remember("c", "1", 1010),
            Err(Error::LimitExceeded {
                what: "nonce store capacity",
                limit: 4
            })
        );
    }
}
