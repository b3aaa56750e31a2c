//! `AuditRecord`: construction, strict parsing, canonical bytes, timestamps.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use serde_json::json;
use tresor_audit::record::{Actor, AuditRecord, Outcome, Timestamp};
use tresor_audit::{Error, merkle};

fn sample() -> AuditRecord {
    AuditRecord::builder()
        .timestamp("2026-03-01T09:30:00.123456789Z".parse().unwrap())
        .actor(Actor::new("user", "u-1842").unwrap())
        .action("payment.approve")
        .resource("payment/9921")
        .outcome(Outcome::Denied)
        .request_id("req-77f1")
        .source("10.0.0.7")
        .detail("amount", "1250.00")
        .detail("limits", json!({"daily": 5000, "z": [1.50, null]}))
        .build()
        .unwrap()
}

const SAMPLE_CANONICAL: &str = concat!(
    r#"{"action":"payment.approve","actor":{"id":"u-1842","kind":"user"},"#,
    r#""details":{"amount":"1250.00","limits":{"daily":5000,"z":[1.5,null]}},"#,
    r#""outcome":"denied","request_id":"req-77f1","resource":"payment/9921","#,
    r#""source":"10.0.0.7","timestamp":"2026-03-01T09:30:00.123456789Z"}"#
);

#[test]
fn canonical_bytes_are_jcs() {
    let r = sample();
    let bytes = r.canonical_bytes().unwrap();
    assert_eq!(std::str::from_utf8(&bytes).unwrap(), SAMPLE_CANONICAL);
    assert_eq!(r.leaf_hash().unwrap(), merkle::leaf_hash(&bytes));
    assert_eq!(AuditRecord::from_canonical(&bytes).unwrap(), r);
    assert_eq!(AuditRecord::from_json(SAMPLE_CANONICAL).unwrap(), r);
}

#[test]
fn from_json_accepts_any_layout_but_from_canonical_does_not() {
    let pretty = r#"{
        "timestamp": "2026-03-01T09:30:00.123456789Z",
        "source": "10.0.0.7", "request_id": "req-77f1",
        "outcome": "denied", "resource": "payment/9921",
        "details": {"limits": {"z": [1.5, null], "daily": 5000.0}, "amount": "1250.00"},
        "action": "payment.approve", "actor": {"kind": "user", "id": "u-1842"}
    }"#;
    let r = AuditRecord::from_json(pretty).unwrap();
    assert_eq!(r, AuditRecord::from_json(SAMPLE_CANONICAL).unwrap());
    assert_eq!(r.canonical_bytes().unwrap(), SAMPLE_CANONICAL.as_bytes());
    assert!(matches!(
        AuditRecord::from_canonical(pretty.as_bytes()),
        Err(Error::InvalidRecord { .. })
    ));
}

fn with(key: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(SAMPLE_CANONICAL).unwrap();
    if value.is_null() && key != "payload" {
        v.as_object_mut().unwrap().remove(key);
    } else {
        v[key] = value;
    }
    v.to_string()
}

#[test]
fn strict_parsing() {
    let dup = SAMPLE_CANONICAL.replacen(
        r#"{"action":"payment.approve","#,
        r#"{"action":"payment.approve","action":"payment.refund","#,
        1,
    );
    let mut bad = vec![
        dup,
        with("extra", json!(1)),
        with("payload", json!(null)),
        with("payload", json!("not base64!")),
        with("payload", json!("")),
        with("outcome", json!("maybe")),
        with("outcome", json!("Allowed")),
        with("action", json!("")),
        with("resource", json!(7)),
        with("details", json!([])),
        with("details", json!("x")),
        with("actor", json!({"kind": "user"})),
        with("actor", json!({"kind": "user", "id": "", })),
        with("actor", json!({"kind": "user", "id": "u", "role": "admin"})),
        "[]".into(),
        "{".into(),
    ];
    for key in [
        "timestamp",
        "actor",
        "action",
        "resource",
        "outcome",
        "request_id",
        "source",
        "details",
    ] {
        bad.push(with(key, json!(null)));
    }
    for ts in [
        "2026-03-01T09:30:00",
        "2026-03-01T09:30:00+00:00",
        "2026-03-01t09:30:00z",
        "2026-03-01 09:30:00Z",
        "2026-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-03-01T24:00:00Z",
        "2026-03-01T23:60:00Z",
        "2016-12-31T23:59:60Z",
        "2026-03-01T09:30:00.Z",
        "2026-03-01T09:30:00.1234567890Z",
        "2026-03-01T09:30:00,5Z",
        "+2026-03-01T09:30:00Z",
        "26-03-01T09:30:00Z",
        "2026-3-01T09:30:00Z",
        "2026-03-01T09:30:0xZ",
        "２026-03-01T09:30:00Z",
        "",
    ] {
        bad.push(with("timestamp", json!(ts)));
        assert!(ts.parse::<Timestamp>().is_err(), "{ts}");
    }
    for text in &bad {
        assert!(
            matches!(
                AuditRecord::from_json(text),
                Err(Error::InvalidRecord { .. })
            ),
            "accepted {text}"
        );
    }
}

#[test]
fn builder_validates() {
    let base = || {
        AuditRecord::builder()
            .timestamp(Timestamp::from_unix(0, 0).unwrap())
            .actor(Actor::new("service", "billing").unwrap())
            .action("a")
            .resource("r")
            .outcome(Outcome::Failed)
            .request_id("q")
            .source("s")
    };
    base().build().unwrap();
    assert!(base().action("").build().is_err());
    assert!(base().source("").build().is_err());
    assert!(base().payload(Vec::new()).build().is_err());
    assert!(AuditRecord::builder().action("a").build().is_err());
    assert!(Actor::new("", "x").is_err());
    assert!(Actor::new("user", "").is_err());
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    assert!(base().detail("deep", deep).build().is_err());
}

#[test]
fn payload_is_base64_and_hashed() {
    let ciphertext: Vec<u8> = (0u8..=255).collect();
    let r = AuditRecord::builder()
        .timestamp("1999-12-31T23:59:59Z".parse().unwrap())
        .actor(Actor::new("user", "p-9f2c").unwrap())
        .action("profile.update")
        .resource("customer/p-9f2c")
        .outcome(Outcome::Allowed)
        .request_id("r1")
        .source("web")
        .payload(ciphertext.clone())
        .build()
        .unwrap();
    let text = String::from_utf8(r.canonical_bytes().unwrap()).unwrap();
    assert!(text.contains(r#""payload":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==""#));
    let back = AuditRecord::from_canonical(text.as_bytes()).unwrap();
    assert_eq!(back.payload(), Some(&ciphertext[..]));
    // A different ciphertext is a different leaf.
    let other = AuditRecord::from_json(&text.replace("AAEC", "AAED")).unwrap();
    assert_ne!(other.leaf_hash().unwrap(), r.leaf_hash().unwrap());
    // Without a payload the member is absent, not null.
    assert!(
        !String::from_utf8(sample().canonical_bytes().unwrap())
            .unwrap()
            .contains("payload")
    );
}

#[test]
fn timestamps() {
    for (text, secs, nanos, canonical) in [
        ("1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z"),
        ("1970-01-01T00:00:00.000Z", 0, 0, "1970-01-01T00:00:00Z"),
        (
            "1969-12-31T23:59:59.5Z",
            -1,
            500_000_000,
            "1969-12-31T23:59:59.5Z",
        ),
        (
            "2000-02-29T12:34:56.000123Z",
            951_827_696,
            123_000,
            "2000-02-29T12:34:56.000123Z",
        ),
        (
            "0000-01-01T00:00:00Z",
            -62_167_219_200,
            0,
            "0000-01-01T00:00:00Z",
        ),
        (
            "9999-12-31T23:59:59.999999999Z",
            253_402_300_799,
            999_999_999,
            "9999-12-31T23:59:59.999999999Z",
        ),
        (
            "2038-01-19T03:14:08Z",
            2_147_483_648,
            0,
            "2038-01-19T03:14:08Z",
        ),
    ] {
        let t: Timestamp = text.parse().unwrap();
        assert_eq!((t.unix_seconds(), t.nanos()), (secs, nanos), "{text}");
        assert_eq!(t.to_string(), canonical);
        assert_eq!(Timestamp::from_system_time(t.to_system_time()).unwrap(), t);
    }
    assert!(Timestamp::from_unix(0, 1_000_000_000).is_err());
    assert!(Timestamp::from_unix(253_402_300_800, 0).is_err());
    assert!(Timestamp::from_unix(-62_167_219_201, 0).is_err());
}

proptest! {
    #[test]
    fn timestamp_round_trip(secs in -62_167_219_200i64..=253_402_300_799, nanos in 0u32..1_000_000_000) {
        let t = Timestamp::from_unix(secs, nanos).unwrap();
        let text = t.to_string();
        prop_assert_eq!(text.parse::<Timestamp>().unwrap(), t);
        prop_assert_eq!(text.len() >= 20, true);
    }

    #[test]
    fn record_round_trip(
        action in "\\PC{1,20}",
        id in "[a-z0-9-]{1,12}",
        payload in proptest::option::of(prop::collection::vec(any::<u8>(), 1..64)),
        secs in 0i64..4_000_000_000,
        n in any::<i32>(),
    ) {
        let mut b = AuditRecord::builder()
            .timestamp(Timestamp::from_unix(secs, 0).unwrap())
            .actor(Actor::new("user", id).unwrap())
            .action(action)
            .resource("r")
            .outcome(Outcome::Allowed)
            .request_id("q")
            .source("s")
            .detail("n", n);
        if let Some(p) = payload {
            b = b.payload(p);
        }
        let r = b.build().unwrap();
        let bytes = r.canonical_bytes().unwrap();
        prop_assert_eq!(AuditRecord::from_canonical(&bytes).unwrap(), r);
    }
}

#[test]
fn details_keep_numbers_as_hashed() {
    let r = AuditRecord::builder()
        .timestamp(Timestamp::from_unix(0, 0).unwrap())
        .actor(Actor::new("user", "u").unwrap())
        .action("a")
        .resource("r")
        .outcome(Outcome::Allowed)
        .request_id("q")
        .source("s")
        .detail("big", 12_345_678_901_234_567_891u64)
        .detail("whole", 5000.0)
        .build()
        .unwrap();
    // The record holds what its canonical form says: 2^53-exceeding integers
    // rounded to a double, integral doubles as integers.
    assert_eq!(
        r.details()["big"],
        json!(12_345_678_901_234_567_891u64 as f64)
    );
    assert_eq!(r.details()["whole"], json!(5000));
    let bytes = r.canonical_bytes().unwrap();
    assert!(
        std::str::from_utf8(&bytes)
            .unwrap()
            .contains(r#""big":12345678901234567000"#)
    );
    assert_eq!(AuditRecord::from_canonical(&bytes).unwrap(), r);
}
