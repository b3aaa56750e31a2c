//! Failure limits in a shared `RateLimitStore`
//! (`RegistryBuilder::shared_rate_limits`): the conformance suite against
//! `MemoryRateLimitStore`, the registry's keys and limits through a store,
//! two registries sharing one, and an outage of the store failing closed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Capture, CountingPepper, T0, ip, s};
use tresor_credentials::ratelimit::conformance;
use tresor_credentials::{
    AuthError, CredentialStore, Error, FailureQuota, FixedClock, JwsAlgorithm, LocalPepper,
    MemoryRateLimitStore, MemoryStore, RateLimitStore, RateLimits, Registry, TokenEndpoint,
    TokenIssuer, TokenSigningKey, audit::FailureReason, endpoint::TokenRequest,
};

const WRONG: &str = "tresor_cs_00000000000000000000000000000000000000000002TosSX";

#[test]
fn memory_rate_limit_store_passes_the_conformance_suite() {
    conformance::run_all(&MemoryRateLimitStore::default());
}

#[test]
fn the_suite_runs_through_arc_box_and_references() {
    let store: Arc<dyn RateLimitStore> = Arc::new(MemoryRateLimitStore::new(1000));
    conformance::burst_then_refused(&store);
    conformance::peek_takes_nothing(&Box::new(store.clone()));
    conformance::keys_are_independent(&&*store);
}

/// A store that records every call and can be made to fail (peeks,
/// takes, or both).
#[derive(Debug, Default)]
struct Recording {
    inner: MemoryRateLimitStore,
    calls: Mutex<Vec<String>>,
    peek_fails: AtomicBool,
    take_fails: AtomicBool,
}

impl Recording {
    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl RateLimitStore for Recording {
    fn peek(&self, key: &str, quota: FailureQuota) -> tresor_credentials::Result<Option<Duration>> {
        self.calls.lock().unwrap().push(format!("peek {key}"));
        if self.peek_fails.load(Ordering::SeqCst) {
            return Err(Error::storage("rate-limit store down"));
        }
        self.inner.peek(key, quota)
    }
    fn take(&self, key: &str, quota: FailureQuota) -> tresor_credentials::Result<Option<Duration>> {
        self.calls.lock().unwrap().push(format!("take {key}"));
        if self.take_fails.load(Ordering::SeqCst) {
            return Err(Error::storage("rate-limit store down"));
        }
        self.inner.take(key, quota)
    }
}

struct Server {
    registry: Arc<Registry>,
    audit: Arc<Capture>,
    pepper: Arc<CountingPepper<LocalPepper>>,
}

fn limits(client: u32, source: u32) -> RateLimits {
    RateLimits::default()
        .with_per_client(FailureQuota::per_hour(NonZeroU32::new(client).unwrap()))
        .with_per_source(FailureQuota::per_hour(NonZeroU32::new(source).unwrap()))
}

/// A registry (one API server) over `store` and `pepper`, failures counted
/// in `shared`.
fn server(
    store: Arc<dyn CredentialStore>,
    pepper: &Arc<CountingPepper<LocalPepper>>,
    shared: Arc<dyn RateLimitStore>,
    limits: RateLimits,
) -> Server {
    let audit = Arc::new(Capture::default());
    let registry = Registry::builder(store, pepper.clone())
        .clock(Arc::new(FixedClock::new(T0)))
        .audit(audit.clone())
        .rate_limits(limits)
        .shared_rate_limits(shared)
        .build()
        .unwrap();
    Server {
        registry: Arc::new(registry),
        audit,
        pepper: pepper.clone(),
    }
}

fn one_server(shared: Arc<dyn RateLimitStore>, limits: RateLimits) -> Server {
    let pepper = Arc::new(CountingPepper::new(LocalPepper::generate().unwrap()));
    server(Arc::new(MemoryStore::new()), &pepper, shared, limits)
}

#[test]
fn the_registry_peeks_before_any_work_and_takes_only_after_failures() {
    let shared = Arc::new(Recording::default());
    let f = one_server(shared.clone(), limits(100, 100));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();

    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), ip("192.0.2.7"))
        .unwrap();
    assert_eq!(
        shared.calls(),
        [
            "peek auth:source:192.0.2.7".to_owned(),
            format!("peek auth:client:{id}:192.0.2.7"),
        ],
        "a success takes no cell"
    );

    f.registry
        .authenticate(id.as_str(), &s(WRONG), ip("2001:db8:1:2::99"))
        .unwrap_err();
    assert_eq!(
        shared.calls(),
        [
            "peek auth:source:2001:db8:1:2::/64".to_owned(),
            format!("peek auth:client:{id}:2001:db8:1:2::/64"),
            "take auth:source:2001:db8:1:2::/64".to_owned(),
            format!("take auth:client:{id}:2001:db8:1:2::/64"),
        ]
    );

    // No source: the (client, no source) pair only.
    f.registry
        .authenticate(id.as_str(), &s(WRONG), None)
        .unwrap_err();
    assert_eq!(
        shared.calls(),
        [
            format!("peek auth:client:{id}:-"),
            format!("take auth:client:{id}:-"),
        ]
    );

    // A malformed client id is charged to the source only.
    f.registry
        .authenticate("not a client id", &s(WRONG), ip("::ffff:192.0.2.7"))
        .unwrap_err();
    assert_eq!(
        shared.calls(),
        [
            "peek auth:source:192.0.2.7".to_owned(),
            "take auth:source:192.0.2.7".to_owned(),
        ]
    );
}

#[cfg(feature = "httpsig")]
#[test]
fn unverified_assertions_are_charged_to_the_source_only() {
    let shared = Arc::new(Recording::default());
    let f = one_server(shared.clone(), limits(100, 100));
    let id = f.registry.register_without_secret("c", &["a"]).unwrap();
    let verifier = tresor_credentials::AssertionVerifier::new("https://as.bank.example");
    assert_eq!(
        verifier
            .authenticate(&f.registry, "garbage", Some(id.as_str()), ip("192.0.2.9"))
            .unwrap_err(),
        AuthError::InvalidClient
    );
    assert_eq!(
        shared.calls(),
        [
            "peek auth:source:192.0.2.9".to_owned(),
            format!("peek auth:client:{id}:192.0.2.9"),
            "take auth:source:192.0.2.9".to_owned(),
        ]
    );
}

#[test]
fn per_client_limit_through_the_store_blocks_before_any_work() {
    let f = one_server(Arc::new(MemoryRateLimitStore::default()), limits(3, 1000));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    let (other, other_secret) = f.registry.register("d", &["a"]).unwrap();
    for _ in 0..10 {
        f.registry
            .authenticate(id.as_str(), &s(secret.expose_secret()), ip("10.0.0.1"))
            .unwrap();
    }
    for _ in 0..3 {
        assert_eq!(
            f.registry
                .authenticate(id.as_str(), &s(WRONG), ip("10.0.1.1"))
                .unwrap_err(),
            AuthError::InvalidClient
        );
        assert_eq!(f.audit.last_reason(), Some(FailureReason::WrongSecret));
    }
    // The burst (3) is spent: the next attempt is refused before any MAC,
    // even with the right secret.
    let before = f.pepper.calls();
    assert_eq!(
        f.registry
            .authenticate(id.as_str(), &s(secret.expose_secret()), ip("10.0.1.1"))
            .unwrap_err(),
        AuthError::InvalidClient
    );
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedClient)
    );
    assert_eq!(f.pepper.calls(), before, "rejected before any MAC");
    // The client from elsewhere, and another client from there, are fine.
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
fn per_source_limit_through_the_store_counts_the_slash_64() {
    let f = one_server(Arc::new(MemoryRateLimitStore::default()), limits(1000, 5));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    for n in 0..5 {
        let claimed = format!("CCCCCCCCCCCCCCCCCCCC{n:02}");
        f.registry
            .authenticate(&claimed, &s(WRONG), ip(&format!("2001:db8:7:7::{n}")))
            .unwrap_err();
    }
    let before = f.pepper.calls();
    f.registry
        .authenticate(
            id.as_str(),
            &s(secret.expose_secret()),
            ip("2001:db8:7:7:ffff::1"),
        )
        .unwrap_err();
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitedSource)
    );
    assert_eq!(f.pepper.calls(), before);
    f.registry
        .authenticate(
            id.as_str(),
            &s(secret.expose_secret()),
            ip("2001:db8:7:8::1"),
        )
        .unwrap();
}

#[test]
fn two_registries_sharing_a_store_share_the_limit() {
    let shared: Arc<dyn RateLimitStore> = Arc::new(MemoryRateLimitStore::default());
    let store: Arc<dyn CredentialStore> = Arc::new(MemoryStore::new());
    let pepper = Arc::new(CountingPepper::new(LocalPepper::generate().unwrap()));
    let a = server(store.clone(), &pepper, shared.clone(), limits(3, 1000));
    let b = server(store, &pepper, shared, limits(3, 1000));
    let (id, secret) = a.registry.register("c", &["a"]).unwrap();
    let from = ip("198.51.100.4");
    a.registry
        .authenticate(id.as_str(), &s(WRONG), from)
        .unwrap_err();
    b.registry
        .authenticate(id.as_str(), &s(WRONG), from)
        .unwrap_err();
    a.registry
        .authenticate(id.as_str(), &s(WRONG), from)
        .unwrap_err();
    for server in [&a, &b] {
        server
            .registry
            .authenticate(id.as_str(), &s(secret.expose_secret()), from)
            .unwrap_err();
        assert_eq!(
            server.audit.last_reason(),
            Some(FailureReason::RateLimitedClient)
        );
    }
    assert_eq!(a.registry.rate_limit_tracked_keys(), (0, 0));
}

#[test]
fn a_block_through_the_store_ends_after_the_period() {
    let quota = FailureQuota::new(NonZeroU32::MIN, Duration::from_millis(200)).unwrap();
    let limits = limits(1000, 1000).with_per_client(quota);
    let f = one_server(Arc::new(MemoryRateLimitStore::default()), limits);
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
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
    std::thread::sleep(Duration::from_millis(300));
    f.registry
        .authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
}

#[test]
fn an_outage_of_the_store_is_unavailable_never_invalid_client() {
    let shared = Arc::new(Recording::default());
    let f = one_server(shared.clone(), limits(3, 1000));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    let right = s(secret.expose_secret());

    // The check fails: nothing is done, the answer is Unavailable, for the
    // right secret as for a wrong one.
    shared.peek_fails.store(true, Ordering::SeqCst);
    let before = f.pepper.calls();
    for secret in [&right, &s(WRONG)] {
        assert_eq!(
            f.registry
                .authenticate(id.as_str(), secret, ip("192.0.2.1"))
                .unwrap_err(),
            AuthError::Unavailable
        );
        assert_eq!(
            f.audit.last_reason(),
            Some(FailureReason::RateLimitUnavailable)
        );
    }
    assert_eq!(f.pepper.calls(), before, "no work during the outage");
    let line = f.audit.lines().pop().unwrap();
    assert!(line.contains("rate-limit store down"), "{line}");

    // Counting a failure fails: Unavailable, not InvalidClient (the
    // failure could not be counted). A success needs no count.
    shared.peek_fails.store(false, Ordering::SeqCst);
    shared.take_fails.store(true, Ordering::SeqCst);
    assert_eq!(
        f.registry
            .authenticate(id.as_str(), &s(WRONG), ip("192.0.2.1"))
            .unwrap_err(),
        AuthError::Unavailable
    );
    assert_eq!(
        f.audit.last_reason(),
        Some(FailureReason::RateLimitUnavailable)
    );
    f.registry
        .authenticate(id.as_str(), &right, ip("192.0.2.1"))
        .unwrap();

    // Back: the limits work again.
    shared.take_fails.store(false, Ordering::SeqCst);
    f.registry
        .authenticate(id.as_str(), &s(WRONG), ip("192.0.2.1"))
        .unwrap_err();
    assert_eq!(f.audit.last_reason(), Some(FailureReason::WrongSecret));
}

#[test]
fn the_token_endpoint_answers_503_when_the_store_is_down() {
    let shared = Arc::new(Recording::default());
    let f = one_server(shared.clone(), limits(3, 1000));
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    let key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::Es256).unwrap());
    let issuer = TokenIssuer::new("https://as.bank.example", "https://api.bank.example", key);
    let endpoint = TokenEndpoint::new(f.registry.clone(), issuer);
    let body = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={}",
        secret.expose_secret()
    );
    let request = TokenRequest::new("POST", body.as_bytes())
        .content_type(Some("application/x-www-form-urlencoded"))
        .source(ip("192.0.2.1"));
    assert_eq!(endpoint.handle(&request).status, 200);
    shared.peek_fails.store(true, Ordering::SeqCst);
    let response = endpoint.handle(&request);
    assert_eq!(response.status, 503);
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(json["error"], "temporarily_unavailable");
}
