//! Rate limits on failed authentications: per client id, per source,
//! applied before any work, with bounded memory.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;

use common::{fixture_with, ip, s};
use tresor_credentials::{AuthError, FailureReason, MemoryStore, Quota, RateLimits};

const WRONG: &str = "tresor_cs_00000000000000000000000000000000000000000002TosSX";

fn limits(client: u32, source: u32, max_tracked: usize) -> RateLimits {
    RateLimits {
        per_client: Quota::per_hour(NonZeroU32::new(client).unwrap()),
        per_source: Quota::per_hour(NonZeroU32::new(source).unwrap()),
        max_tracked,
    }
}

#[test]
fn per_client_limit_blocks_even_the_right_secret_before_any_work() {
    let f = fixture_with(Arc::new(MemoryStore::new()), limits(3, 1000, 100));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    let (other, other_secret) = f.registry.register("d", &["a"]).unwrap();

    // Successes take no cell.
    for _ in 0..10 {
        f.registry
            .authenticate(id.as_str(), &s(secret.expose_secret()), ip("10.0.0.1"))
            .unwrap();
    }
    // Three failures, from different sources.
    for n in 0..3 {
        let src = ip(&format!("10.0.1.{n}"));
        assert_eq!(
            f.registry
                .authenticate(id.as_str(), &s(WRONG), src)
                .unwrap_err(),
            AuthError::InvalidClient
        );
        assert_eq!(f.audit.last_reason(), Some(FailureReason::WrongSecret));
    }
    // The fourth failure spends the burst: the client id is now blocked.
    f.registry
        .authenticate(id.as_str(), &s(WRONG), ip("10.0.2.1"))
        .unwrap_err();
    let before = f.pepper.calls();
    let err = f
        .registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("10.0.3.1"))
        .unwrap_err();
    assert_eq!(err, AuthError::InvalidClient);
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedClient)
    );
    assert_eq!(f.pepper.calls(), before, "rejected before any MAC");

    // Another client is not affected.
    f.registry
        .authenticate(
            other.as_str(),
            &s(other_secret.expose_secret()),
            ip("10.0.3.1"),
        )
        .unwrap();
}

#[test]
fn unknown_client_ids_are_limited_like_known_ones() {
    let f = fixture_with(Arc::new(MemoryStore::new()), limits(2, 1000, 100));
    let unknown = "BBBBBBBBBBBBBBBBBBBBBB";
    for _ in 0..3 {
        f.registry
            .authenticate(unknown, &s(WRONG), None)
            .unwrap_err();
        assert_eq!(f.audit.last_reason(), Some(FailureReason::UnknownClient));
    }
    f.registry
        .authenticate(unknown, &s(WRONG), None)
        .unwrap_err();
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedClient)
    );
}

#[test]
fn per_source_limit() {
    let f = fixture_with(Arc::new(MemoryStore::new()), limits(1000, 5, 100));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    // Six failures from one address, each against a different client id.
    for n in 0..6 {
        let claimed = format!("CCCCCCCCCCCCCCCCCCCC{n:02}");
        f.registry
            .authenticate(&claimed, &s(WRONG), ip("192.0.2.7"))
            .unwrap_err();
    }
    let before = f.pepper.calls();
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("192.0.2.7"))
        .unwrap_err();
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedSource)
    );
    assert_eq!(f.pepper.calls(), before);
    // Another address, and no address, still work.
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("2001:db8::1"))
        .unwrap();
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
}

#[test]
fn memory_stays_bounded_under_a_flood_of_keys() {
    let max = 64;
    let f = fixture_with(Arc::new(MemoryStore::new()), limits(2, 2, max));
    for n in 0..5000u32 {
        let claimed = format!("{:0>22}", n);
        let src = Some(std::net::IpAddr::from(
            n.wrapping_mul(2654435761).to_be_bytes(),
        ));
        f.registry
            .authenticate(&claimed, &s(WRONG), src)
            .unwrap_err();
        let (clients, sources) = f.registry.rate_limit_tracked_keys();
        assert!(
            clients <= 2 * max && sources <= 2 * max,
            "{clients} {sources} at {n}"
        );
    }
    // A key that keeps failing is still blocked in the end.
    let hammer = "DDDDDDDDDDDDDDDDDDDDDD";
    for _ in 0..4 {
        f.registry
            .authenticate(hammer, &s(WRONG), None)
            .unwrap_err();
    }
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedClient)
    );
}

#[test]
fn a_block_ends_when_the_quota_replenishes() {
    let quota = Quota::with_period(std::time::Duration::from_millis(300)).unwrap();
    let limits = RateLimits {
        per_client: quota,
        per_source: Quota::per_hour(NonZeroU32::new(1000).unwrap()),
        max_tracked: 100,
    };
    let f = fixture_with(Arc::new(MemoryStore::new()), limits);
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    f.registry
        .authenticate(id.as_str(), &s(WRONG), None)
        .unwrap_err();
    f.registry
        .authenticate(id.as_str(), &s(WRONG), None)
        .unwrap_err();
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap_err();
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedClient)
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
}
