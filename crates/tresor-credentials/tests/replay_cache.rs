//! `MemoryReplayCache`, the embedded default: the `ReplayCache`
//! conformance suite (`assertion::conformance`), which every other cache
//! (Redis's in tresor-redis) passes as well, and the per-client quota.
#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use tresor_credentials::assertion::{MemoryReplayCache, ReplayCache, conformance};

#[test]
fn memory_cache_passes_the_conformance_suite() {
    let cache = MemoryReplayCache::default();
    conformance::run_all(&cache);
    // Again, on the same cache: the suite's client ids are fresh every time.
    conformance::run_all(&cache);
}

#[test]
fn through_the_containers() {
    let cache = Arc::new(MemoryReplayCache::default());
    conformance::replay_is_refused(&cache);
    conformance::clients_are_independent(&&*cache);
    conformance::past_expiry_is_not_a_replay(&Box::new(MemoryReplayCache::new(100)));
    let shared: Arc<dyn ReplayCache> = cache;
    conformance::concurrent_first_use(&shared, 8);
}

#[test]
fn memory_cache_client_quota() {
    for quota in [1, 3] {
        conformance::client_quota(
            &MemoryReplayCache::new(1_000).with_per_client_quota(quota),
            quota,
        );
    }
    // The default quota: a hundredth of the capacity.
    conformance::client_quota(&MemoryReplayCache::new(500), 5);
}
