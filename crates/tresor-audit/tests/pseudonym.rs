//! Pseudonyms: determinism, key and purpose separation, the documented
//! construction, key files.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use base64ct::{Base64UrlUnpadded, Encoding};
use proptest::prelude::*;
use tresor_audit::pseudonym::{DEFAULT_PREFIX, PseudonymLength};
use tresor_audit::{Error, PseudonymKey, Pseudonymizer};

fn key(b: u8) -> PseudonymKey {
    PseudonymKey::from_bytes([b; 32])
}

#[test]
fn same_identifier_same_pseudonym() {
    let p = Pseudonymizer::new(key(1));
    let a = p.pseudonymize("alice@example.com");
    assert_eq!(a, p.pseudonymize("alice@example.com"));
    assert_eq!(
        a,
        Pseudonymizer::new(key(1)).pseudonymize(b"alice@example.com")
    );
    assert_ne!(a, p.pseudonymize("Alice@example.com"));
    assert!(a.starts_with(DEFAULT_PREFIX));
    assert_eq!(a.len(), DEFAULT_PREFIX.len() + 22);
    assert!(p.matches("alice@example.com", &a));
    assert!(!p.matches("bob@example.com", &a));
    assert!(!p.matches("alice@example.com", &a[..a.len() - 1]));
}

#[test]
fn different_key_different_pseudonym() {
    let a = Pseudonymizer::new(key(1)).pseudonymize("alice");
    let b = Pseudonymizer::new(key(2)).pseudonymize("alice");
    assert_ne!(a, b);
}

#[test]
fn purposes_do_not_correlate() {
    let none = Pseudonymizer::new(key(1)).pseudonymize("alice");
    let fraud = Pseudonymizer::new(key(1))
        .with_purpose("fraud")
        .pseudonymize("alice");
    let marketing = Pseudonymizer::new(key(1))
        .with_purpose("marketing")
        .pseudonymize("alice");
    assert_ne!(none, fraud);
    assert_ne!(fraud, marketing);
    // No purpose is the empty purpose (documented).
    assert_eq!(
        none,
        Pseudonymizer::new(key(1))
            .with_purpose("")
            .pseudonymize("alice")
    );
    // The length prefix keeps (purpose, identifier) pairs apart.
    let ab_c = Pseudonymizer::new(key(1))
        .with_purpose("ab")
        .pseudonymize("c");
    let a_bc = Pseudonymizer::new(key(1))
        .with_purpose("a")
        .pseudonymize("bc");
    assert_ne!(ab_c, a_bc);
}

#[test]
fn construction_matches_the_documentation() {
    // pseudonym = prefix || b64url(HMAC-SHA-256(key, "tresor-audit pseudonym v1"
    //   || 0x00 || u64-be(len(purpose)) || purpose || identifier)[..n])
    let k = [7u8; 32];
    let mut msg = b"tresor-audit pseudonym v1\x00".to_vec();
    msg.extend_from_slice(&5u64.to_be_bytes());
    msg.extend_from_slice(b"audit");
    msg.extend_from_slice(b"DE89370400440532013000");
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k), &msg);
    let full = Pseudonymizer::new(PseudonymKey::from_bytes(k))
        .with_purpose("audit")
        .with_length(PseudonymLength::Full)
        .pseudonymize("DE89370400440532013000");
    assert_eq!(
        full,
        format!("pn1_{}", Base64UrlUnpadded::encode_string(tag.as_ref()))
    );
    let short = Pseudonymizer::new(PseudonymKey::from_bytes(k))
        .with_purpose("audit")
        .pseudonymize("DE89370400440532013000");
    assert_eq!(
        short,
        format!(
            "pn1_{}",
            Base64UrlUnpadded::encode_string(&tag.as_ref()[..16])
        )
    );
}

#[test]
fn known_answers() {
    // Computed independently with Python's hmac/hashlib/base64 from the
    // documented construction.
    let p = Pseudonymizer::new(PseudonymKey::from_bytes([0u8; 32]));
    assert_eq!(p.pseudonymize("x"), "pn1_ZLLnIssfOX4_MKFeX0IoUQ");
    let p = Pseudonymizer::new(PseudonymKey::from_bytes([7u8; 32]))
        .with_purpose("audit")
        .with_length(PseudonymLength::Full);
    assert_eq!(
        p.pseudonymize("DE89370400440532013000"),
        "pn1_GJLuJkY9uz-B00BvSvu25XofffO_H8lBpVrrq8kFFrU"
    );
}

#[test]
fn prefix() {
    let p = Pseudonymizer::new(key(1)).with_prefix("cust_").unwrap();
    assert!(p.pseudonymize("a").starts_with("cust_"));
    let bare = Pseudonymizer::new(key(1)).with_prefix("").unwrap();
    assert_eq!(bare.pseudonymize("a").len(), 22);
    assert!(Pseudonymizer::new(key(1)).with_prefix("a b").is_err());
    assert!(Pseudonymizer::new(key(1)).with_prefix("é").is_err());
    assert!(
        Pseudonymizer::new(key(1))
            .with_prefix(&"a".repeat(33))
            .is_err()
    );
}

#[test]
fn debug_does_not_show_the_key() {
    let k = key(0xab);
    let id = k.key_id();
    assert_eq!(id.len(), 8);
    let debug = format!("{k:?}");
    assert!(debug.contains(&id));
    assert!(!debug.to_lowercase().contains("abab"));
    assert!(!debug.contains(&format!("{:?}", [0xabu8; 4])[1..8]));
    let p = Pseudonymizer::new(k).with_purpose("x");
    let debug = format!("{p:?}");
    assert!(debug.contains(&id));
    assert!(!debug.contains("171")); // 0xab in decimal
    assert_ne!(key(1).key_id(), key(2).key_id());
}

#[test]
fn generated_keys_differ() {
    let a = PseudonymKey::generate().unwrap();
    let b = PseudonymKey::generate().unwrap();
    assert_ne!(a.key_id(), b.key_id());
    assert_ne!(
        Pseudonymizer::new(a).pseudonymize("x"),
        Pseudonymizer::new(b).pseudonymize("x")
    );
}

#[test]
fn key_file_round_trip_mode_and_no_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pseudonym.key");
    let k = PseudonymKey::generate().unwrap();
    k.write_file(&path).unwrap();

    let contents = std::fs::read_to_string(&path).unwrap();
    assert!(contents.starts_with("tresor-pseudonym-key-v1:"));
    assert!(contents.ends_with('\n'));
    assert_eq!(contents.len(), "tresor-pseudonym-key-v1:".len() + 43 + 1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = PseudonymKey::read_file(&path).unwrap();
    assert_eq!(again.key_id(), k.key_id());
    assert_eq!(
        Pseudonymizer::new(again).pseudonymize("x"),
        Pseudonymizer::new(k).pseudonymize("x")
    );

    // Refuses to overwrite, leaving the file as it was.
    let other = PseudonymKey::generate().unwrap();
    assert!(matches!(other.write_file(&path), Err(Error::Io { .. })));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), contents);
}

#[test]
fn key_file_format() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, contents: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    };
    let b64 = Base64UrlUnpadded::encode_string(&[5u8; 32]);
    // Without the final newline is fine.
    let p = write("ok", format!("tresor-pseudonym-key-v1:{b64}").as_bytes());
    assert_eq!(
        PseudonymKey::read_file(&p).unwrap().key_id(),
        key(5).key_id()
    );
    for (i, bad) in [
        format!("tresor-pseudonym-key-v2:{b64}\n"),
        format!("{b64}\n"),
        format!("tresor-pseudonym-key-v1:{b64}\n\n"),
        format!("tresor-pseudonym-key-v1:{b64}\r\n"),
        format!("tresor-pseudonym-key-v1:{}\n", &b64[..42]),
        format!("tresor-pseudonym-key-v1:{b64}A\n"),
        format!("tresor-pseudonym-key-v1:{b64}=\n"),
        "x".repeat(10_000),
        String::new(),
    ]
    .iter()
    .enumerate()
    {
        let p = write(&format!("bad{i}"), bad.as_bytes());
        let err = PseudonymKey::read_file(&p).unwrap_err();
        assert!(matches!(err, Error::Key { .. }), "{bad:?}");
        assert!(!err.to_string().contains(&b64[..10]));
    }
    assert!(matches!(
        PseudonymKey::read_file(dir.path().join("missing")),
        Err(Error::Io { .. })
    ));
}

proptest! {
    #[test]
    fn deterministic_and_well_formed(id in proptest::collection::vec(any::<u8>(), 0..64), purpose in "\\PC{0,16}") {
        let p = Pseudonymizer::new(key(3)).with_purpose(&purpose);
        let a = p.pseudonymize(&id);
        prop_assert_eq!(&a, &p.pseudonymize(&id));
        let body = a.strip_prefix("pn1_").unwrap();
        prop_assert_eq!(body.len(), 22);
        prop_assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
