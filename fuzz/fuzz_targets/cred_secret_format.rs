//! The client secret format of arbitrary text: `validate_secret_format`,
//! `validate_secret_with_prefix` (the default prefix and the text's own
//! prefix) and `ClientSecret::parse`, against a reference check written in
//! `tresor_fuzz::credentials` from the format's specification (base62,
//! `crc32fast`).
//!
//! Input: bytes, read as UTF-8 (invalid sequences replaced). The first 35
//! bytes, when there are that many, also make a secret: byte 0 picks a
//! prefix, byte 1 a position, byte 2 a replacement character, bytes 3..35
//! the body.
//!
//! Properties: nothing panics; the text is accepted exactly when the
//! reference accepts it (so an accepted secret's CRC-32 of `PREFIX "_"
//! BODY`, in base62, is its check, and its body is below 2^256), with the
//! same prefix; the prefixed checks and `ClientSecret::parse` agree. A
//! secret built from the input is accepted, and the same secret with any
//! one character replaced by another is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_credentials::secrecy::SecretString;
use tresor_credentials::{
    ClientSecret, secret::SecretPrefix, secret::validate_secret_format,
    secret::validate_secret_with_prefix,
};
use tresor_fuzz::credentials::{BASE62, reference_prefix, secret_text};

/// The prefixes a generated secret chooses from.
const PREFIXES: [&str; 4] = [
    "tresor_cs",
    "a",
    "acme_live_2",
    "abcdefghijklmnopqrstuvwxyz_01234",
];

/// Replacement characters beside the base62 alphabet.
const OTHERS: [char; 6] = ['_', '-', ' ', '\0', 'é', '+'];

fuzz_target!(|data: &[u8]| {
    check_text(&String::from_utf8_lossy(data));
    if let Some((head, body)) = data.split_first_chunk::<3>()
        && let Some((body, _)) = body.split_first_chunk::<32>()
    {
        check_generated(*head, body);
    }
});

fn check_text(text: &str) {
    let got = validate_secret_format(text).ok();
    assert_eq!(
        got,
        reference_prefix(text),
        "validate_secret_format vs reference"
    );

    let default = SecretPrefix::default();
    assert_eq!(
        validate_secret_with_prefix(text, &default).is_ok(),
        got == Some(default.as_str())
    );
    if let Some(prefix) = got {
        let own = SecretPrefix::new(prefix).expect("an accepted prefix is valid");
        assert!(validate_secret_with_prefix(text, &own).is_ok());
    }
    let parsed = ClientSecret::parse(SecretString::from(text));
    assert_eq!(parsed.as_ref().ok().map(ClientSecret::prefix), got);
    if let Ok(secret) = parsed {
        assert_eq!(secret.expose_secret(), text);
    }
}

fn check_generated([choice, position, replacement]: [u8; 3], body: &[u8; 32]) {
    let prefix = PREFIXES
        .get(usize::from(choice & 3))
        .copied()
        .unwrap_or("tresor_cs");
    let secret = secret_text(prefix, body);
    assert_eq!(
        validate_secret_format(&secret).ok(),
        Some(prefix),
        "{secret}"
    );

    let chars: Vec<char> = secret.chars().collect();
    let at = usize::from(position) % chars.len();
    let alphabet = BASE62.len() + OTHERS.len();
    let pick = |k: usize| {
        BASE62
            .get(k)
            .map(|&b| char::from(b))
            .or_else(|| OTHERS.get(k - BASE62.len()).copied())
            .unwrap_or('_')
    };
    let mut k = usize::from(replacement) % alphabet;
    if chars.get(at) == Some(&pick(k)) {
        k = (k + 1) % alphabet;
    }
    let mut mutated = chars;
    if let Some(c) = mutated.get_mut(at) {
        *c = pick(k);
    }
    let mutated: String = mutated.into_iter().collect();
    assert_ne!(mutated, secret);
    assert!(
        validate_secret_format(&mutated).is_err(),
        "one character changed and still valid: {secret} -> {mutated}"
    );
}
