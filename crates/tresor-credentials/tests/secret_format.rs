//! The secret format: generation, round trip, offline validation.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::{fixture, make_secret, s};
use proptest::prelude::*;
use tresor_credentials::{
    ClientSecret, Error, MemoryStore, secret::DEFAULT_SECRET_PREFIX, secret::SecretPrefix,
    secret::validate_secret_format, secret::validate_secret_with_prefix,
};

const KAT_ZERO: &str = "tresor_cs_00000000000000000000000000000000000000000002TosSX";

#[test]
fn known_answer() {
    assert_eq!(make_secret("tresor_cs", &[0; 32]), KAT_ZERO);
    assert_eq!(validate_secret_format(KAT_ZERO).unwrap(), "tresor_cs");
    // The largest body.
    let max = make_secret("tresor_cs", &[0xff; 32]);
    assert!(max.contains("_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"));
    validate_secret_format(&max).unwrap();
}

fn generated(n: usize) -> Vec<String> {
    let f = fixture();
    (0..n)
        .map(|_| {
            f.registry
                .register("c", &["a"])
                .unwrap()
                .1
                .expose_secret()
                .to_owned()
        })
        .collect()
}

#[test]
fn generated_secrets_have_the_format() {
    for secret in generated(50) {
        assert_eq!(secret.len(), "tresor_cs_".len() + 43 + 6);
        assert!(secret.starts_with("tresor_cs_"));
        assert_eq!(
            validate_secret_format(&secret).unwrap(),
            DEFAULT_SECRET_PREFIX
        );
        // The reference implementation recomputes the same checksum.
        let body = &secret[10..53];
        let raw: [u8; 32] = common::unbase62(body).try_into().unwrap();
        assert_eq!(make_secret("tresor_cs", &raw), secret);
        // Round trip through parse.
        let parsed = ClientSecret::parse(s(&secret)).unwrap();
        assert_eq!(parsed.expose_secret(), secret);
        assert_eq!(parsed.prefix(), "tresor_cs");
    }
}

#[test]
fn configured_prefix() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let pepper = std::sync::Arc::new(tresor_credentials::LocalPepper::generate().unwrap());
    let registry = tresor_credentials::Registry::builder(store, pepper)
        .secret_prefix(SecretPrefix::new("acme_live_cs").unwrap())
        .build()
        .unwrap();
    let (_, secret) = registry.register("c", &["a"]).unwrap();
    let secret = secret.expose_secret();
    assert!(secret.starts_with("acme_live_cs_"));
    assert_eq!(validate_secret_format(secret).unwrap(), "acme_live_cs");
    validate_secret_with_prefix(secret, &SecretPrefix::new("acme_live_cs").unwrap()).unwrap();
    assert!(validate_secret_with_prefix(secret, &SecretPrefix::default()).is_err());
}

#[test]
fn every_single_character_substitution_is_detected() {
    let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-+/="
        .chars()
        .collect();
    let mut secrets = generated(4);
    secrets.push(KAT_ZERO.to_owned());
    let mut checked = 0;
    for secret in &secrets {
        let chars: Vec<char> = secret.chars().collect();
        for i in 0..chars.len() {
            for &c in &alphabet {
                if c == chars[i] {
                    continue;
                }
                let mut mutated = chars.clone();
                mutated[i] = c;
                let mutated: String = mutated.into_iter().collect();
                assert!(
                    validate_secret_format(&mutated).is_err(),
                    "substitution at {i} by {c:?} not detected"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 5 * 59 * 60);
}

#[test]
fn wrong_prefix_length_and_alphabet_are_rejected() {
    let good = KAT_ZERO;
    let cases: Vec<String> = vec![
        String::new(),
        "tresor_cs_".into(),
        good[..good.len() - 1].into(),               // too short by one
        format!("{good}0"),                          // too long by one
        good.replacen("tresor_cs_", "tresor_cs", 1), // no separator
        good.replacen("tresor_cs", "Tresor_cs", 1),  // uppercase prefix
        good.replacen("tresor_cs", "9tresor", 1),    // prefix starts with a digit
        good.replacen("tresor_cs_", "_", 1),         // empty prefix
        good.replacen("tresor_cs", &"a".repeat(33), 1), // prefix too long
        good.replacen('0', "é", 1),                  // not ASCII
        good.replacen("tresor_cs_0", "tresor_cs_-", 1), // outside the alphabet
        make_secret("tresor_cs", &[0; 32]).replace("tresor_cs", "tresor-cs"),
    ];
    for case in &cases {
        assert!(
            matches!(
                validate_secret_format(case),
                Err(Error::MalformedSecret { .. })
            ),
            "{case:?} accepted"
        );
    }
    // A body above 2^256 (all 'z') with a correct checksum is still refused.
    let signed = format!("tresor_cs_{}", "z".repeat(43));
    let crc = common::crc32(signed.as_bytes());
    let over = format!("{signed}{}", common::base62(&crc.to_be_bytes(), 6));
    assert!(validate_secret_format(&over).is_err());
    // A valid secret under another valid prefix is accepted by the generic check.
    assert_eq!(
        validate_secret_format(&make_secret("a", &[7; 32])).unwrap(),
        "a"
    );
    assert_eq!(
        validate_secret_format(&make_secret(&"p".repeat(32), &[7; 32])).unwrap(),
        "p".repeat(32)
    );
    assert!(ClientSecret::parse(s("nope")).is_err());
}

proptest! {
    #[test]
    fn reference_secrets_validate(body in any::<[u8; 32]>(), prefix in "[a-z][a-z0-9_]{0,31}") {
        let secret = make_secret(&prefix, &body);
        prop_assert_eq!(validate_secret_format(&secret).unwrap(), prefix.as_str());
        let parsed = ClientSecret::parse(s(&secret)).unwrap();
        prop_assert_eq!(parsed.expose_secret(), secret.as_str());
    }

    #[test]
    fn random_strings_do_not_panic(text in ".{0,120}") {
        let _ = validate_secret_format(&text);
    }

    #[test]
    fn random_tails_are_rejected(tail in "[0-9A-Za-z]{49}") {
        // A uniformly random body and check: the checksum is right with
        // probability about 2^-32.
        let candidate = format!("tresor_cs_{tail}");
        let crc = common::crc32(&candidate.as_bytes()[..candidate.len() - 6]);
        let expected = common::base62(&crc.to_be_bytes(), 6);
        let valid = candidate.ends_with(&expected)
            && common::unbase62_checked(&tail[..43]);
        prop_assert_eq!(validate_secret_format(&candidate).is_ok(), valid);
    }
}
