//! Rotation windows at their edges, immediate revocation, suspension and
//! pepper rotation.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{T0, fixture, generous_limits, s};
use tresor_credentials::{
    AuthError, Clock, Error, FixedClock, LocalPepper, MemoryStore, Pepper, Registry,
    audit::AuthOutcome, audit::FailureReason, registry::MAX_ROTATION_GRACE,
};

#[test]
fn old_secret_valid_until_its_expiry_exactly() {
    let f = fixture();
    let r = &f.registry;
    let (id, old) = r.register("c", &["a"]).unwrap();
    let (new_id, new) = r.rotate_secret(&id, Duration::from_secs(100)).unwrap();
    let record = r.get(&id).unwrap().unwrap();
    assert_eq!(record.secrets.len(), 2);
    assert_eq!(record.secrets[0].expires, Some(T0 + 100));
    assert_eq!(record.secrets[1].id, new_id);
    assert_eq!(record.secrets[1].expires, None);

    // Expiry at now + 1 s: still valid.
    f.clock.set(T0 + 99);
    r.authenticate(id.as_str(), &s(old.expose_secret()), None)
        .unwrap();
    // Expiry exactly now: expired.
    f.clock.set(T0 + 100);
    r.authenticate(id.as_str(), &s(old.expose_secret()), None)
        .unwrap_err();
    assert_eq!(f.audit.last_reason(), Some(FailureReason::SecretExpired));
    // Expiry at now - 1 s: expired.
    f.clock.set(T0 + 101);
    r.authenticate(id.as_str(), &s(old.expose_secret()), None)
        .unwrap_err();
    assert_eq!(f.audit.last_reason(), Some(FailureReason::SecretExpired));
    // The new one works throughout.
    r.authenticate(id.as_str(), &s(new.expose_secret()), None)
        .unwrap();
}

#[test]
fn at_most_two_active_secrets() {
    let f = fixture();
    let r = &f.registry;
    let (id, _) = r.register("c", &["a"]).unwrap();
    r.rotate_secret(&id, Duration::from_secs(100)).unwrap();
    assert!(matches!(
        r.rotate_secret(&id, Duration::from_secs(100)),
        Err(Error::TooManyActiveSecrets { .. })
    ));
    // Once the old one expired, rotation works again and forgets it.
    f.clock.advance(100);
    let (third_id, third) = r.rotate_secret(&id, Duration::from_secs(50)).unwrap();
    let record = r.get(&id).unwrap().unwrap();
    assert_eq!(record.secrets.len(), 2);
    assert_eq!(
        record.secrets[0].expires,
        Some(f.clock.now().unwrap().as_secs() + 50)
    );
    assert_eq!(record.secrets[1].id, third_id);
    r.authenticate(id.as_str(), &s(third.expose_secret()), None)
        .unwrap();
}

#[test]
fn zero_grace_ends_the_old_secret_now_and_too_long_a_grace_is_refused() {
    let f = fixture();
    let r = &f.registry;
    let (id, old) = r.register("c", &["a"]).unwrap();
    assert!(matches!(
        r.rotate_secret(&id, MAX_ROTATION_GRACE + Duration::from_secs(1)),
        Err(Error::InvalidGrace { .. })
    ));
    let (_, new) = r.rotate_secret(&id, Duration::ZERO).unwrap();
    r.authenticate(id.as_str(), &s(old.expose_secret()), None)
        .unwrap_err();
    assert_eq!(f.audit.last_reason(), Some(FailureReason::SecretExpired));
    r.authenticate(id.as_str(), &s(new.expose_secret()), None)
        .unwrap();
    r.rotate_secret(&id, MAX_ROTATION_GRACE).unwrap();
}

#[test]
fn revocation_is_immediate() {
    let f = fixture();
    let r = &f.registry;
    let (id, old) = r.register("c", &["a"]).unwrap();
    let old_id = r.get(&id).unwrap().unwrap().secrets[0].id.clone();
    let (new_id, new) = r.rotate_secret(&id, Duration::from_secs(3600)).unwrap();
    r.authenticate(id.as_str(), &s(old.expose_secret()), None)
        .unwrap();
    r.revoke_secret(&id, &old_id).unwrap();
    r.authenticate(id.as_str(), &s(old.expose_secret()), None)
        .unwrap_err();
    assert_eq!(f.audit.last_reason(), Some(FailureReason::SecretRevoked));
    r.authenticate(id.as_str(), &s(new.expose_secret()), None)
        .unwrap();
    // Revoking twice, or an unknown secret, is an error.
    assert!(matches!(
        r.revoke_secret(&id, &old_id),
        Err(Error::UnknownSecret { .. })
    ));
    r.revoke_secret(&id, &new_id).unwrap();
    r.authenticate(id.as_str(), &s(new.expose_secret()), None)
        .unwrap_err();
    // With both revoked a rotation issues a fresh one and forgets them.
    let (_, fresh) = r.rotate_secret(&id, Duration::from_secs(10)).unwrap();
    assert_eq!(r.get(&id).unwrap().unwrap().secrets.len(), 1);
    r.authenticate(id.as_str(), &s(fresh.expose_secret()), None)
        .unwrap();
}

#[test]
fn suspension_and_reactivation() {
    let f = fixture();
    let r = &f.registry;
    let (id, secret) = r.register("c", &["b", "a", "a"]).unwrap();
    r.suspend(&id).unwrap();
    r.authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap_err();
    assert_eq!(f.audit.last_reason(), Some(FailureReason::ClientSuspended));
    r.reactivate(&id).unwrap();
    let client = r
        .authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
    assert_eq!(client.scopes(), ["a", "b"]);
    assert_eq!(client.name(), "c");
    assert_eq!(client.id(), &id);
}

#[test]
fn pepper_rotation_rederives_on_next_successful_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pepper");
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(T0));
    let registry = |pepper: LocalPepper, audit: Arc<common::Capture>| {
        Registry::builder(store.clone(), Arc::new(pepper))
            .clock(clock.clone())
            .audit(audit)
            .rate_limits(generous_limits())
            .build()
            .unwrap()
    };

    let audit = Arc::new(common::Capture::default());
    let v1 = registry(LocalPepper::create(&path).unwrap(), audit.clone());
    let (id, secret) = v1.register("c", &["a"]).unwrap();
    let (other, other_secret) = v1.register("d", &["a"]).unwrap();
    assert_eq!(v1.get(&id).unwrap().unwrap().secrets[0].pepper_version, 1);

    // Rotate the pepper: version 2 current, version 1 still verifies.
    let rotated = LocalPepper::rotate_file(&path).unwrap();
    assert_eq!(rotated.current_version(), 2);
    let v2 = registry(LocalPepper::load(&path).unwrap(), audit.clone());
    // A failed attempt re-derives nothing.
    v2.authenticate(id.as_str(), &s(other_secret.expose_secret()), None)
        .unwrap_err();
    assert_eq!(v2.get(&id).unwrap().unwrap().secrets[0].pepper_version, 1);
    // The next success does.
    v2.authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
    assert_eq!(audit.last(), AuthOutcome::Success);
    assert!(audit.last_rederived());
    let record = v2.get(&id).unwrap().unwrap();
    assert_eq!(record.secrets[0].pepper_version, 2);
    v2.authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
    assert!(!audit.last_rederived());

    // Drop version 1 from the file: the re-derived client still works, the
    // other (never re-derived) one no longer does.
    let text = std::fs::read_to_string(&path).unwrap();
    let without_v1: String = text
        .lines()
        .filter(|l| !l.starts_with("1 "))
        .map(|l| format!("{l}\n"))
        .collect();
    let only_v2 = registry(LocalPepper::parse(&without_v1).unwrap(), audit.clone());
    only_v2
        .authenticate(id.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
    only_v2
        .authenticate(other.as_str(), &s(other_secret.expose_secret()), None)
        .unwrap_err();
    assert_eq!(audit.last_reason(), Some(FailureReason::WrongSecret));
}

#[test]
fn management_errors() {
    let f = fixture();
    let r = &f.registry;
    let ghost = tresor_credentials::ClientId::parse("EEEEEEEEEEEEEEEEEEEEEE").unwrap();
    assert!(matches!(
        r.suspend(&ghost),
        Err(Error::UnknownClient { .. })
    ));
    assert!(matches!(
        r.rotate_secret(&ghost, Duration::from_secs(1)),
        Err(Error::UnknownClient { .. })
    ));
    assert!(matches!(
        r.register("", &["a"]),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        r.register("x\n", &["a"]),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        r.register("x", &["a b"]),
        Err(Error::InvalidScope { .. })
    ));
    assert!(matches!(
        r.register("x", &["\"q\""]),
        Err(Error::InvalidScope { .. })
    ));
    let many: Vec<String> = (0..65).map(|n| format!("s{n}")).collect();
    assert!(matches!(
        r.register("x", &many),
        Err(Error::InvalidScope { .. })
    ));
    // A client without a secret cannot authenticate with one, and can get one.
    let keyless = r.register_without_secret("k", &["a"]).unwrap();
    assert!(r.get(&keyless).unwrap().unwrap().secrets.is_empty());
    let (_, secret) = r.rotate_secret(&keyless, Duration::from_secs(1)).unwrap();
    r.authenticate(keyless.as_str(), &s(secret.expose_secret()), None)
        .unwrap();
    assert_eq!(r.list().unwrap().len(), 1);
}

/// A clock that reads a time before the UNIX epoch is an outage: the
/// right secret is `Unavailable` (never accepted, never `InvalidClient`),
/// and management operations fail with `ClockUnavailable`.
#[test]
fn a_clock_before_the_epoch_fails_closed() {
    let f = fixture();
    let (id, secret) = f.registry.register("c", &["a"]).unwrap();
    let presented = s(secret.expose_secret());
    f.clock.set(-1);
    assert_eq!(
        f.registry
            .authenticate(id.as_str(), &presented, None)
            .unwrap_err(),
        AuthError::Unavailable
    );
    assert!(matches!(
        f.registry.register("d", &["a"]),
        Err(Error::ClockUnavailable { .. })
    ));
    assert!(matches!(
        f.registry.rotate_secret(&id, Duration::from_secs(10)),
        Err(Error::ClockUnavailable { .. })
    ));
    let clock_error = f.registry.now().unwrap_err();
    assert_eq!(
        clock_error,
        Error::ClockUnavailable {
            source: tresor_credentials::tresor_types::Error::BeforeEpoch
        }
    );
    // The clock's error is the source, not a copy of its text.
    assert_eq!(clock_error.to_string(), "clock unavailable");
    assert!(std::error::Error::source(&clock_error).is_some());
    f.clock.set(T0);
    assert!(
        f.registry
            .authenticate(id.as_str(), &presented, None)
            .is_ok()
    );
}
