//! `MemoryNonceStore`, the embedded default: the `NonceStore` conformance
//! suite (`nonce::conformance`), which every other store (Redis's in
//! tresor-redis) passes as well, and the per-key share.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use tresor_httpsig::nonce::conformance;
use tresor_httpsig::{MemoryNonceStore, NonceStore};

#[test]
fn memory_store_passes_the_conformance_suite() {
    let store = MemoryNonceStore::new(10_000);
    conformance::run_all(&store);
    // Again, on the same store: the suite's key ids are fresh every time.
    conformance::run_all(&store);
}

#[test]
fn through_the_containers() {
    let store = Arc::new(MemoryNonceStore::new(10_000));
    conformance::replay_is_refused(&store);
    conformance::key_ids_are_independent(&&*store);
    let shared: Arc<dyn NonceStore> = store;
    conformance::concurrent_first_use(&shared, 8);
}

#[test]
fn memory_store_key_share() {
    for share in [0, 1, 3] {
        conformance::key_share(&MemoryNonceStore::new(1_000).per_key_limit(share), share);
    }
    // The default share: a tenth of the capacity.
    conformance::key_share(&MemoryNonceStore::new(50), 5);
}
