//! Replay protection: remembering nonces until their signature expires.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};

/// Remembers `(key id, nonce)` pairs so a signature cannot be replayed.
///
/// The verifier calls it last, only after the signature verified, so a
/// forged request cannot burn a legitimate client's nonce.
pub trait NonceStore: Send + Sync {
    /// Atomically checks that `nonce` has not been seen for `key_id` and
    /// remembers it until `expires_at` (UNIX seconds):
    /// [`Error::ReplayedNonce`] if it was seen and has not expired.
    /// A store that cannot remember the nonce must fail (not accept it).
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
}

/// An in-memory [`NonceStore`] for one process, bounded in memory.
///
/// Entries are forgotten once expired. When the store holds `capacity`
/// unexpired entries it **rejects** new nonces with
/// [`Error::LimitExceeded`] rather than forget a live one (which would
/// reopen a replay window): it fails closed. Size the capacity for the
/// peak request rate times the validity window. Several servers behind a
/// load balancer need a shared store instead.
pub struct MemoryNonceStore {
    capacity: usize,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl MemoryNonceStore {
    /// A store for at most `capacity` live nonces, on the system clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A store on the given clock.
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            capacity,
            clock,
            inner: Mutex::new(Inner::default()),
        }
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
        let now = self.clock.now();
        // A poisoned lock means a panic while holding it: fail closed.
        let mut inner = self.inner.lock().map_err(|_| Error::LimitExceeded {
            what: "nonce store unavailable",
            limit: 0,
        })?;
        // Purge expired entries, oldest first.
        while let Some(first) = inner.by_expiry.first().cloned() {
            if first.0 >= now {
                break;
            }
            inner.by_expiry.remove(&first);
            inner.seen.remove(&first.1);
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
        if inner.seen.len() >= self.capacity {
            return Err(Error::LimitExceeded {
                what: "nonce store capacity",
                limit: self.capacity,
            });
        }
        inner.seen.insert(entry.clone(), expires_at);
        inner.by_expiry.insert((expires_at, entry));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn replay_expiry_and_capacity() {
        let clock = Arc::new(FixedClock::new(1000));
        let store = MemoryNonceStore::with_clock(2, clock.clone());
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
}
