//! Data-key caches: one for sealing, one for opening. Both are off unless
//! configured, thread-safe, and bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use foldhash::quality::RandomState;

use crate::{DataKey, KeyEncryptionKey};

/// The key-encryption key a cached data key belongs to. Compared by
/// identity, so a different key object under the same id never matches.
struct Owner(Weak<dyn KeyEncryptionKey>);

impl Owner {
    fn new(kek: &Arc<dyn KeyEncryptionKey>) -> Self {
        Owner(Arc::downgrade(kek))
    }

    fn is(&self, kek: &Arc<dyn KeyEncryptionKey>) -> bool {
        Weak::ptr_eq(&self.0, &Arc::downgrade(kek))
    }

    /// Whether `keep` accepts the owner; a dropped key is never kept.
    fn keep(&self, keep: &impl Fn(&Arc<dyn KeyEncryptionKey>) -> bool) -> bool {
        self.0.upgrade().is_some_and(|kek| keep(&kek))
    }
}

/// When a cached data key stops sealing new messages.
///
/// A cached data key seals a new message only while it is younger than
/// `max_age`, has sealed fewer than `max_messages` messages, and sealing this
/// message keeps its total at or under `max_bytes`; otherwise a new data key
/// is generated and wrapped. A message larger than `max_bytes` gets a data
/// key of its own that is never cached.
///
/// Per-message keys make reuse cryptographically safe for any number of
/// messages, so these limits are policy: they bound how much data a single
/// wrapped key (one KMS decrypt) exposes and how long a key stays in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealCacheLimits {
    /// Longest time a data key is used for sealing.
    pub max_age: Duration,
    /// Most messages one data key seals.
    pub max_messages: u64,
    /// Most plaintext bytes one data key seals.
    pub max_bytes: u64,
    /// Most cached data keys (one per key-encryption key, suite and context).
    pub capacity: usize,
}

impl SealCacheLimits {
    /// Limits with the given age, message and byte bounds, and a capacity of
    /// 1024 cached keys.
    pub fn new(max_age: Duration, max_messages: u64, max_bytes: u64) -> Self {
        SealCacheLimits {
            max_age,
            max_messages,
            max_bytes,
            capacity: 1024,
        }
    }

    /// Sets how many data keys the cache holds at most.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

impl Default for SealCacheLimits {
    /// Five minutes, 2^20 messages, 2^36 bytes (64 GiB), 1024 keys.
    fn default() -> Self {
        SealCacheLimits::new(Duration::from_secs(300), 1 << 20, 1 << 36)
    }
}

/// How long an unwrapped data key is kept for opening, and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenCacheLimits {
    /// How long an unwrapped key stays cached after its unwrap.
    pub ttl: Duration,
    /// Most cached keys; when full, expired keys go first, then the oldest.
    pub capacity: usize,
}

impl OpenCacheLimits {
    /// Limits with the given time to live and capacity.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        OpenCacheLimits { ttl, capacity }
    }
}

impl Default for OpenCacheLimits {
    /// Five minutes, 1024 keys.
    fn default() -> Self {
        OpenCacheLimits::new(Duration::from_secs(300), 1024)
    }
}

/// A data key with its wrapped form, as handed out by the sealing cache.
/// (One allocation and one reference count for both: a cache hit costs one
/// atomic increment.)
pub(crate) type CachedDek = Arc<(DataKey, Box<[u8]>)>;

struct SealEntry {
    owner: Owner,
    dek: CachedDek,
    created: Instant,
    messages: u64,
    bytes: u64,
}

/// Sealing-side cache, keyed by the key section's AAD (which names the
/// key-encryption key, the suite and the context).
pub(crate) struct SealCache {
    limits: SealCacheLimits,
    entries: Mutex<HashMap<Vec<u8>, SealEntry, RandomState>>,
}

impl SealCache {
    pub(crate) fn new(limits: SealCacheLimits) -> Self {
        SealCache {
            limits,
            entries: Mutex::new(HashMap::default()),
        }
    }

    /// Takes the cached key for `aad` to seal a message of `len` bytes, and
    /// counts the message against its limits; `None` if there is no key or
    /// sealing this message would cross a limit (the key is then dropped).
    pub(crate) fn checkout(
        &self,
        kek: &Arc<dyn KeyEncryptionKey>,
        aad: &[u8],
        len: u64,
        now: Instant,
    ) -> Option<CachedDek> {
        if len > self.limits.max_bytes {
            // This message gets a key of its own; the cached one stays.
            return None;
        }
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(aad)?;
        let within = entry.owner.is(kek)
            && now.saturating_duration_since(entry.created) < self.limits.max_age
            && entry.messages < self.limits.max_messages
            && entry
                .bytes
                .checked_add(len)
                .is_some_and(|total| total <= self.limits.max_bytes);
        if within {
            entry.messages += 1;
            entry.bytes += len;
            Some(entry.dek.clone())
        } else {
            entries.remove(aad);
            None
        }
    }

    /// Caches a new key that has just sealed a message of `len` bytes.
    pub(crate) fn insert(
        &self,
        kek: &Arc<dyn KeyEncryptionKey>,
        aad: Vec<u8>,
        dek: CachedDek,
        len: u64,
        now: Instant,
    ) {
        if len > self.limits.max_bytes || self.limits.max_messages == 0 || self.limits.capacity == 0
        {
            return;
        }
        let mut entries = lock(&self.entries);
        make_room(
            &mut entries,
            &aad,
            self.limits.capacity,
            self.limits.max_age,
            now,
            |e| e.created,
        );
        entries.insert(
            aad,
            SealEntry {
                owner: Owner::new(kek),
                dek,
                created: now,
                messages: 1,
                bytes: len,
            },
        );
    }

    /// Drops every key whose key-encryption key fails `keep`.
    pub(crate) fn retain_keks(&self, keep: impl Fn(&Arc<dyn KeyEncryptionKey>) -> bool) {
        lock(&self.entries).retain(|_, e| e.owner.keep(&keep));
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

struct OpenEntry {
    owner: Owner,
    dek: Arc<DataKey>,
    inserted: Instant,
}

/// Opening-side cache of unwrapped data keys, keyed by the key section's AAD
/// and the wrapped key, so a hit is exactly as authentic as an unwrap.
pub(crate) struct OpenCache {
    limits: OpenCacheLimits,
    entries: Mutex<HashMap<Vec<u8>, OpenEntry, RandomState>>,
}

impl OpenCache {
    pub(crate) fn new(limits: OpenCacheLimits) -> Self {
        OpenCache {
            limits,
            entries: Mutex::new(HashMap::default()),
        }
    }

    pub(crate) fn key(aad: &[u8], wrapped: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(4 + aad.len() + wrapped.len());
        key.extend_from_slice(&u32::try_from(aad.len()).unwrap_or(u32::MAX).to_be_bytes());
        key.extend_from_slice(aad);
        key.extend_from_slice(wrapped);
        key
    }

    pub(crate) fn get(
        &self,
        kek: &Arc<dyn KeyEncryptionKey>,
        key: &[u8],
        now: Instant,
    ) -> Option<Arc<DataKey>> {
        let mut entries = lock(&self.entries);
        let entry = entries.get(key)?;
        if entry.owner.is(kek) && now.saturating_duration_since(entry.inserted) < self.limits.ttl {
            Some(entry.dek.clone())
        } else {
            entries.remove(key);
            None
        }
    }

    pub(crate) fn insert(
        &self,
        kek: &Arc<dyn KeyEncryptionKey>,
        key: Vec<u8>,
        dek: Arc<DataKey>,
        now: Instant,
    ) {
        if self.limits.capacity == 0 {
            return;
        }
        let mut entries = lock(&self.entries);
        make_room(
            &mut entries,
            &key,
            self.limits.capacity,
            self.limits.ttl,
            now,
            |e| e.inserted,
        );
        entries.insert(
            key,
            OpenEntry {
                owner: Owner::new(kek),
                dek,
                inserted: now,
            },
        );
    }

    pub(crate) fn retain_keks(&self, keep: impl Fn(&Arc<dyn KeyEncryptionKey>) -> bool) {
        lock(&self.entries).retain(|_, e| e.owner.keep(&keep));
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

/// Before inserting `key` into a full map: drop expired entries, then, if
/// still full, the oldest one.
fn make_room<V>(
    entries: &mut HashMap<Vec<u8>, V, RandomState>,
    key: &[u8],
    capacity: usize,
    lifetime: Duration,
    now: Instant,
    born: impl Fn(&V) -> Instant,
) {
    if entries.len() < capacity || entries.contains_key(key) {
        return;
    }
    entries.retain(|_, e| now.saturating_duration_since(born(e)) < lifetime);
    if entries.len() >= capacity {
        let oldest = entries
            .iter()
            .min_by_key(|(_, e)| born(e))
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
    }
}

/// A poisoned cache lock means a panic elsewhere while holding it; every
/// update above leaves the map consistent, so carry on with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
