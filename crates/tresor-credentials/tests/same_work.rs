//! Every authentication attempt outside the rate limit costs the same
//! number of pepper MACs, whatever the outcome.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{fixture, s};
use tresor_credentials::{AuthError, audit::FailureReason, registry::MAX_ACTIVE_SECRETS};

#[test]
fn same_number_of_macs_for_every_outcome() {
    let f = fixture();
    let r = &f.registry;

    // One active secret.
    let (one, one_secret) = r.register("one", &["a"]).unwrap();
    // Two active secrets.
    let (two, two_old) = r.register("two", &["a"]).unwrap();
    let (_, two_new) = r.rotate_secret(&two, Duration::from_secs(3600)).unwrap();
    // An expired secret (and one active).
    let (exp, exp_old) = r.register("exp", &["a"]).unwrap();
    r.rotate_secret(&exp, Duration::from_secs(10)).unwrap();
    // A revoked secret (and one active).
    let (rev, rev_old) = r.register("rev", &["a"]).unwrap();
    let (rev_new_id, rev_new) = r.rotate_secret(&rev, Duration::from_secs(3600)).unwrap();
    r.revoke_secret(&rev, &rev_new_id).unwrap();
    // A suspended client.
    let (sus, sus_secret) = r.register("sus", &["a"]).unwrap();
    r.suspend(&sus).unwrap();
    f.clock.advance(11);

    let unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    let wrong = "tresor_cs_00000000000000000000000000000000000000000002TosSX";
    let cases: Vec<(&str, &str, &str, Option<FailureReason>)> = vec![
        (
            "unknown client",
            unknown,
            one_secret.expose_secret(),
            Some(FailureReason::UnknownClient),
        ),
        (
            "malformed client id",
            "not an id",
            one_secret.expose_secret(),
            Some(FailureReason::MalformedClientId),
        ),
        (
            "wrong secret, one active",
            one.as_str(),
            wrong,
            Some(FailureReason::WrongSecret),
        ),
        (
            "malformed secret",
            one.as_str(),
            "hunter2",
            Some(FailureReason::MalformedSecret),
        ),
        (
            "right secret, one active",
            one.as_str(),
            one_secret.expose_secret(),
            None,
        ),
        (
            "wrong secret, two active",
            two.as_str(),
            wrong,
            Some(FailureReason::WrongSecret),
        ),
        (
            "old secret, two active",
            two.as_str(),
            two_old.expose_secret(),
            None,
        ),
        (
            "new secret, two active",
            two.as_str(),
            two_new.expose_secret(),
            None,
        ),
        (
            "expired secret",
            exp.as_str(),
            exp_old.expose_secret(),
            Some(FailureReason::SecretExpired),
        ),
        (
            "revoked secret",
            rev.as_str(),
            rev_new.expose_secret(),
            Some(FailureReason::SecretRevoked),
        ),
        (
            "active beside revoked",
            rev.as_str(),
            rev_old.expose_secret(),
            None,
        ),
        (
            "suspended client",
            sus.as_str(),
            sus_secret.expose_secret(),
            Some(FailureReason::ClientSuspended),
        ),
        (
            "secret of another client",
            two.as_str(),
            one_secret.expose_secret(),
            Some(FailureReason::WrongSecret),
        ),
    ];

    for (name, id, secret, expected) in cases {
        let before = f.pepper.calls();
        let result = r.authenticate(id, &s(secret), None);
        let macs = f.pepper.calls() - before;
        assert_eq!(macs, MAX_ACTIVE_SECRETS, "{name}: {macs} MACs");
        assert_eq!(f.audit.last_reason(), expected, "{name}");
        match expected {
            None => assert!(result.is_ok(), "{name}"),
            Some(_) => assert_eq!(result.unwrap_err(), AuthError::InvalidClient, "{name}"),
        }
    }
}
