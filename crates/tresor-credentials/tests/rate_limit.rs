//! Rate limits on failed authentications: per (client id, source), per
//! source (IPv6 /64), applied before any work, with bounded memory.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
#[cfg(feature = "httpsig")]
mod keys_support;

use std::num::NonZeroU32;
use std::sync::Arc;

use common::{fixture_with, ip, s};
use tresor_credentials::{AuthError, FailureQuota, MemoryStore, RateLimits, audit::FailureReason};

const WRONG: &str = "tresor_cs_00000000000000000000000000000000000000000002TosSX";

fn limits(client: u32, source: u32, max_tracked: usize) -> RateLimits {
    RateLimits::default()
        .with_per_client(FailureQuota::per_hour(NonZeroU32::new(client).unwrap()))
        .with_per_source(FailureQuota::per_hour(NonZeroU32::new(source).unwrap()))
        .with_max_tracked(max_tracked)
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
    // Three failures from one source.
    for _ in 0..3 {
        assert_eq!(
            f.registry
                .authenticate(id.as_str(), &s(WRONG), ip("10.0.1.1"))
                .unwrap_err(),
            AuthError::InvalidClient
        );
        assert_eq!(f.audit.last_reason(), Some(FailureReason::WrongSecret));
    }
    // The fourth failure spends the burst: the client id is now blocked
    // from that source.
    f.registry
        .authenticate(id.as_str(), &s(WRONG), ip("10.0.1.1"))
        .unwrap_err();
    let before = f.pepper.calls();
    let err = f
        .registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("10.0.1.1"))
        .unwrap_err();
    assert_eq!(err, AuthError::InvalidClient);
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedClient)
    );
    assert_eq!(f.pepper.calls(), before, "rejected before any MAC");

    // From another source the client is not affected, nor is another
    // client from the same source.
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("10.0.3.1"))
        .unwrap();
    f.registry
        .authenticate(
            other.as_str(),
            &s(other_secret.expose_secret()),
            ip("10.0.1.1"),
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
    let quota = FailureQuota::new(NonZeroU32::MIN, std::time::Duration::from_millis(300)).unwrap();
    let limits = RateLimits::default()
        .with_per_client(quota)
        .with_per_source(FailureQuota::per_hour(NonZeroU32::new(1000).unwrap()))
        .with_max_tracked(100);
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

// regression: finding 2 of the security review, issue 8 (lock-out of any
// client: failures from many sources against one client id blocked it for
// everyone).
#[test]
fn failures_from_many_sources_do_not_lock_a_client_out() {
    let f = fixture_with(Arc::new(MemoryStore::new()), RateLimits::default());
    let (id, secret) = f.registry.register("victim", &["a"]).unwrap();
    // Far beyond the default per-client burst (10), each from its own
    // address, IPv4 and IPv6 (each in its own /64).
    for n in 0..40u16 {
        let src = if n % 2 == 0 {
            ip(&format!("198.51.100.{n}"))
        } else {
            ip(&format!("2001:db8:{n:x}::1"))
        };
        f.registry
            .authenticate(id.as_str(), &s(WRONG), src)
            .unwrap_err();
        assert_eq!(f.audit.last_reason(), Some(FailureReason::WrongSecret));
    }
    // The client still authenticates, from a fresh source and from any of
    // the attackers' (each spent one failure only).
    for src in ["203.0.113.9", "198.51.100.2", "2001:db8:3::1"] {
        f.registry
            .authenticate(id.as_str(), &s(secret.expose_secret()), ip(src))
            .unwrap();
    }
}

// regression: finding 2 of the security review, issue 8 (the per-source
// limit aggregates an IPv6 /64, one customer's network, and treats
// IPv4-mapped IPv6 as IPv4).
#[test]
fn the_source_limit_aggregates_ipv6_slash_64() {
    let f = fixture_with(Arc::new(MemoryStore::new()), limits(1000, 5, 100));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    // Six failures from one /64, each from another host part.
    for n in 1..=6u32 {
        let claimed = format!("EEEEEEEEEEEEEEEEEEEE{n:02}");
        f.registry
            .authenticate(&claimed, &s(WRONG), ip(&format!("2001:db8:1:2::{n:x}")))
            .unwrap_err();
    }
    // Any host of that /64 is blocked, before any work.
    let before = f.pepper.calls();
    f.registry
        .authenticate(
            id.as_str(),
            &s(secret.expose_secret()),
            ip("2001:db8:1:2:ffff:ffff:ffff:ffff"),
        )
        .unwrap_err();
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedSource)
    );
    assert_eq!(f.pepper.calls(), before);
    // The next /64 is not.
    f.registry
        .authenticate(
            id.as_str(),
            &s(secret.expose_secret()),
            ip("2001:db8:1:3::1"),
        )
        .unwrap();

    // IPv4: one address is one source, written plain or IPv4-mapped.
    for n in 1..=6u32 {
        let claimed = format!("FFFFFFFFFFFFFFFFFFFF{n:02}");
        f.registry
            .authenticate(&claimed, &s(WRONG), ip("::ffff:192.0.2.7"))
            .unwrap_err();
    }
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("192.0.2.7"))
        .unwrap_err();
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedSource)
    );
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("192.0.2.8"))
        .unwrap();
}

#[cfg(feature = "httpsig")]
mod key_clients {
    use super::*;
    use common::T0;
    use serde_json::json;
    use tresor_credentials::{AssertionVerifier, ClientId};
    use tresor_httpsig::Algorithm;

    use crate::keys_support::{TestKey, b64, jws, register};

    const ISSUER: &str = "https://as.bank.example";

    fn claims(id: &ClientId, jti: &str) -> serde_json::Value {
        json!({
            "iss": id.as_str(), "sub": id.as_str(), "aud": ISSUER,
            "exp": T0 + 60, "iat": T0, "jti": jti,
        })
    }

    // regression: finding 2 of the security review, issue 8 (for
    // private_key_jwt the limiter key was the unverified `sub`: unsigned
    // garbage naming a victim locked the victim out).
    #[test]
    fn unsigned_assertions_naming_a_victim_never_block_it() {
        let f = fixture_with(Arc::new(MemoryStore::new()), RateLimits::default());
        let victim = f
            .registry
            .register_without_secret("victim", &["a"])
            .unwrap();
        let key = TestKey::generate(Algorithm::Ed25519);
        let kid = register(&f.registry, &victim, &key).kid;
        let verifier = AssertionVerifier::new(ISSUER);
        let forger = TestKey::generate(Algorithm::Ed25519);
        let body = b64(claims(&victim, "x").to_string().as_bytes());
        for n in 0..60u32 {
            let src = ip(&format!("198.51.100.{}", n % 4));
            let garbage = match n % 4 {
                // Forged signature under the victim's kid.
                0 => jws(
                    &forger,
                    &json!({"alg": "EdDSA", "kid": kid}),
                    &claims(&victim, "x"),
                ),
                // Forged, without kid.
                1 => jws(&forger, &json!({"alg": "EdDSA"}), &claims(&victim, "x")),
                // alg none, unsigned.
                2 => format!("{}.{body}.", b64(br#"{"alg":"none"}"#)),
                // Not a JWS at all.
                _ => "garbage".to_owned(),
            };
            assert!(
                verifier
                    .authenticate(&f.registry, &garbage, Some(victim.as_str()), src)
                    .is_err()
            );
        }
        // The victim, from its own address, is not blocked.
        let genuine = jws(
            &key,
            &json!({"alg": "EdDSA", "kid": kid}),
            &claims(&victim, "real"),
        );
        verifier
            .authenticate(
                &f.registry,
                &genuine,
                Some(victim.as_str()),
                ip("203.0.113.1"),
            )
            .unwrap();
    }

    // regression: finding 2 of the security review, issue 8 (failures after
    // the signature verified count against the client, but per source).
    #[test]
    fn signed_failures_count_per_client_and_source() {
        let f = fixture_with(Arc::new(MemoryStore::new()), limits(3, 1000, 100));
        let id = f.registry.register_without_secret("c", &["a"]).unwrap();
        let key = TestKey::generate(Algorithm::Ed25519);
        let kid = register(&f.registry, &id, &key).kid;
        let verifier = AssertionVerifier::new(ISSUER);
        let header = json!({"alg": "EdDSA", "kid": kid});
        // Signed by the client, but expired: four failures from one source.
        for n in 0..4 {
            let mut c = claims(&id, &format!("old-{n}"));
            c["exp"] = (T0 - 100).into();
            verifier
                .authenticate(&f.registry, &jws(&key, &header, &c), None, ip("192.0.2.1"))
                .unwrap_err();
        }
        let fresh = |jti: &str| jws(&key, &header, &claims(&id, jti));
        verifier
            .authenticate(&f.registry, &fresh("a"), None, ip("192.0.2.1"))
            .unwrap_err();
        assert_eq!(
            f.audit.last_reason(),
            Some(FailureReason::RateLimitedClient)
        );
        // From another source the client is not blocked.
        verifier
            .authenticate(&f.registry, &fresh("b"), None, ip("192.0.2.2"))
            .unwrap();
    }
}
