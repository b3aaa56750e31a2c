//! `LocalKek`: key files (round trip, mode, no overwrite, strict parsing),
//! secrecy of key bytes in `Debug` and errors, and the wrap format.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use base64ct::{Base64, Encoding};
use common::{assert_no_secret, ctx, envelope_with, fixed_key_bytes};
use tresor_envelope::{
    Context, DEK_LEN, DataKey, Envelope, Error, KeyEncryptionKey, Keyring, LOCAL_WRAPPED_LEN,
    LocalKek,
};
use zeroize::Zeroizing;

const KEY_FILL: u8 = 0x5a;

fn key_bytes() -> [u8; 32] {
    fixed_key_bytes(KEY_FILL)
}

fn fixed(id: &str) -> LocalKek {
    LocalKek::from_bytes(id, Zeroizing::new(key_bytes())).unwrap()
}

/// The check value computed independently of the library: the first three
/// bytes of HMAC-SHA-256(key, label), in lower-case hex.
fn expected_check_value(key: &[u8]) -> String {
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        b"tresor-envelope/v1 key check value",
    );
    hex::encode(&tag.as_ref()[..3])
}

/// A well-formed key file, built by hand (not by the library).
fn key_file_lines(id: &str, key: &[u8]) -> Vec<String> {
    vec![
        "# tresor key-encryption key: keep secret".to_owned(),
        "tresor-kek: 1".to_owned(),
        format!("id: {id}"),
        "algorithm: aes-256-gcm-siv".to_owned(),
        format!("key: {}", Base64::encode_string(key)),
        format!("check: {}", expected_check_value(key)),
    ]
}

fn join(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Parses `text` both from a string and from a file.
fn load_both(text: &[u8]) -> [Result<LocalKek, Error>; 2] {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek.key");
    std::fs::write(&path, text).unwrap();
    let from_str = match std::str::from_utf8(text) {
        Ok(text) => LocalKek::from_key_file(text),
        Err(_) => Err(Error::InvalidKeyFile("not UTF-8 text")),
    };
    [from_str, LocalKek::load(&path)]
}

/// Asserts that `text` is rejected as an invalid key file whose message
/// contains `reason`, by both entry points, without the key in the error.
fn assert_rejected(text: &[u8], reason: &str) {
    for result in load_both(text) {
        let err = result.unwrap_err();
        match &err {
            Error::InvalidKeyFile(message) => {
                assert!(message.contains(reason), "{err}: expected {reason:?}");
            }
            other => panic!("expected InvalidKeyFile({reason:?}), got {other:?}"),
        }
        assert_no_secret(&err.to_string(), &key_bytes());
        assert_no_secret(&format!("{err:?}"), &key_bytes());
    }
}

fn assert_invalid_id(text: &[u8]) {
    for result in load_both(text) {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::InvalidKeyId(_)), "{err:?}");
        assert_no_secret(&err.to_string(), &key_bytes());
    }
}

#[test]
fn generate_save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek-2026.key");
    let original = LocalKek::generate("kek-2026").unwrap();
    original.save(&path).unwrap();

    let loaded = LocalKek::load(&path).unwrap();
    let check_value = original.check_value();
    assert_eq!(loaded.key_id(), "kek-2026");
    assert_eq!(loaded.check_value(), check_value);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        *original.to_key_file()
    );
    assert_eq!(
        *LocalKek::from_key_file(&original.to_key_file())
            .unwrap()
            .to_key_file(),
        *original.to_key_file()
    );

    // Data sealed with the original opens with the loaded key, and back.
    let context = ctx(&[("tenant", "acme")]);
    let by_original = Envelope::new(Keyring::with_primary(original).unwrap());
    let by_loaded = Envelope::new(Keyring::with_primary(loaded).unwrap());
    let sealed = by_original.seal_to_vec(b"round trip", &context).unwrap();
    assert_eq!(
        by_loaded.open_to_vec(&sealed, &context).unwrap(),
        b"round trip"
    );
    let sealed = by_loaded.seal_to_vec(b"and back", &context).unwrap();
    assert_eq!(
        by_original.open_to_vec(&sealed, &context).unwrap(),
        b"and back"
    );

    // A different generated key has another check value and does not open.
    let stranger = LocalKek::generate("kek-2026").unwrap();
    assert_ne!(stranger.check_value(), check_value);
    let stranger = envelope_with(vec![stranger]);
    assert!(matches!(
        stranger.open_to_vec(&sealed, &context),
        Err(Error::Decrypt)
    ));
}

#[test]
fn key_file_matches_the_documented_format() {
    let kek = fixed("kek-fixed");
    let key = key_bytes();
    assert_eq!(kek.check_value(), expected_check_value(&key));
    assert_eq!(kek.check_value().len(), 6);
    assert_eq!(*kek.to_key_file(), join(&key_file_lines("kek-fixed", &key)));

    // A hand-written file in another order, with comments, blank lines,
    // spaces and an upper-case check value, loads to the same key.
    let lines = key_file_lines("kek-fixed", &key);
    let text = format!(
        "\n# reordered\n  {}  \n\n{}\n{}\n# comment: with a colon\n{}\n{}\n",
        lines[5].to_uppercase().replace("CHECK", "check"),
        lines[4],
        lines[3],
        lines[2],
        lines[1],
    );
    for result in load_both(text.as_bytes()) {
        let loaded = result.unwrap();
        assert_eq!(loaded.key_id(), "kek-fixed");
        assert_eq!(loaded.check_value(), kek.check_value());
    }
}

#[cfg(unix)]
#[test]
fn saved_key_file_has_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek.key");
    LocalKek::generate("kek-mode").unwrap().save(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn save_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek.key");
    let first = LocalKek::generate("kek-first").unwrap();
    first.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();

    let second = LocalKek::generate("kek-second").unwrap();
    let err = second.save(&path).unwrap_err();
    assert!(
        matches!(&err, Error::KeyFileExists { path: p } if p == &path),
        "{err:?}"
    );
    assert!(err.to_string().contains("kek.key"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "content unchanged");
    assert_eq!(
        LocalKek::load(&path).unwrap().check_value(),
        first.check_value()
    );
    // Saving the same key again is refused too.
    assert!(matches!(
        first.save(&path),
        Err(Error::KeyFileExists { .. })
    ));

    // Any existing file, even an empty one or one that is not a key file.
    for existing in [&b""[..], b"not a key"] {
        let path = dir.path().join(format!("other-{}", existing.len()));
        std::fs::write(&path, existing).unwrap();
        assert!(matches!(
            second.save(&path),
            Err(Error::KeyFileExists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), existing);
    }
    // A directory.
    assert!(matches!(
        second.save(dir.path()),
        Err(Error::KeyFileExists { .. })
    ));
}

#[cfg(unix)]
#[test]
fn save_does_not_follow_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.key");
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = LocalKek::generate("kek-link")
        .unwrap()
        .save(&link)
        .unwrap_err();
    assert!(matches!(err, Error::KeyFileExists { .. }), "{err:?}");
    assert!(!target.exists(), "nothing written through the link");
}

#[test]
fn load_of_a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalKek::load(dir.path().join("absent.key")).err().unwrap();
    assert!(
        matches!(&err, Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
}

#[test]
fn load_rejects_missing_repeated_and_unknown_fields() {
    let lines = key_file_lines("kek-fixed", &key_bytes());
    // The file itself is fine.
    for result in load_both(join(&lines).as_bytes()) {
        result.unwrap();
    }

    assert_rejected(b"", "missing field");
    assert_rejected(b"# only a comment\n\n", "missing field");
    for i in 1..lines.len() {
        let mut missing = lines.clone();
        missing.remove(i);
        assert_rejected(join(&missing).as_bytes(), "missing field");

        let mut repeated = lines.clone();
        repeated.push(lines[i].clone());
        assert_rejected(join(&repeated).as_bytes(), "repeated field");

        // Repeated, even with another value.
        let mut changed = lines.clone();
        let name = lines[i].split_once(':').unwrap().0;
        changed.insert(1, format!("{name}: other"));
        assert_rejected(join(&changed).as_bytes(), "repeated field");
    }

    for unknown in [
        "comment: hello",
        "Key: AAAA",
        "ID: kek-fixed",
        "tresor-kek-extra: 1",
        ": empty name",
    ] {
        let mut extra = lines.clone();
        extra.push(unknown.to_owned());
        assert_rejected(join(&extra).as_bytes(), "unknown field");
    }

    let mut no_colon = lines.clone();
    no_colon.push("key AAAA".to_owned());
    assert_rejected(join(&no_colon).as_bytes(), "name: value");
}

#[test]
fn load_rejects_wrong_version_and_algorithm() {
    let lines = key_file_lines("kek-fixed", &key_bytes());
    for version in ["0", "2", "1.0", "", "01"] {
        let mut wrong = lines.clone();
        wrong[1] = format!("tresor-kek: {version}");
        assert_rejected(join(&wrong).as_bytes(), "version");
    }
    for algorithm in ["aes-256-gcm", "AES-256-GCM-SIV", "aes-128-gcm-siv", ""] {
        let mut wrong = lines.clone();
        wrong[3] = format!("algorithm: {algorithm}");
        assert_rejected(join(&wrong).as_bytes(), "algorithm");
    }
}

#[test]
fn load_rejects_bad_base64_and_wrong_key_lengths() {
    let lines = key_file_lines("kek-fixed", &key_bytes());
    let good = Base64::encode_string(&key_bytes());
    let bad = [
        "!!!!".to_owned(),
        String::new(),
        good.replace('=', ""),                           // no padding
        format!("{good}="),                              // extra padding
        good.replacen(&good[..1], "*", 1),               // not in the alphabet
        format!("{} {}", &good[..20], &good[20..]),      // a space inside
        base64ct::Base64Url::encode_string(&[0xfb; 32]), // URL alphabet
        Base64::encode_string(&[1u8; 31]),
        Base64::encode_string(&[1u8; 33]),
        Base64::encode_string(&[1u8; 64]),
        Base64::encode_string(&[]),
    ];
    for key in bad {
        let mut wrong = lines.clone();
        wrong[4] = format!("key: {key}");
        assert_rejected(join(&wrong).as_bytes(), "Base64 of 32 bytes");
    }
}

#[test]
fn load_rejects_a_wrong_check_value() {
    let lines = key_file_lines("kek-fixed", &key_bytes());
    // A one-character change in the key line: still valid Base64 of 32 bytes,
    // but another key.
    let good = Base64::encode_string(&key_bytes());
    for position in [0, 10, 20, 30, 41] {
        let mut key = good.clone().into_bytes();
        key[position] = if key[position] == b'A' { b'B' } else { b'A' };
        let key = String::from_utf8(key).unwrap();
        let mut decoded = [0u8; 32];
        assert_eq!(Base64::decode(&key, &mut decoded).unwrap().len(), 32);
        let mut wrong = lines.clone();
        wrong[4] = format!("key: {key}");
        assert_rejected(join(&wrong).as_bytes(), "check value");
    }
    // The check line itself changed.
    for check in [
        "000000",
        "",
        "abc",
        &expected_check_value(&key_bytes())[..5],
    ] {
        let mut wrong = lines.clone();
        wrong[5] = format!("check: {check}");
        assert_rejected(join(&wrong).as_bytes(), "check value");
    }
}

#[test]
fn load_rejects_non_utf8() {
    let mut text = join(&key_file_lines("kek-fixed", &key_bytes())).into_bytes();
    text.extend_from_slice(b"# \xff\xfe\n");
    let err = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        std::fs::write(&path, &text).unwrap();
        LocalKek::load(&path).err().unwrap()
    };
    assert!(
        matches!(err, Error::InvalidKeyFile(m) if m.contains("UTF-8")),
        "{err:?}"
    );
    // Latin-1 in a value, a lone continuation byte at the start.
    for bad in [&b"id: k\xe9k\n"[..], b"\x80tresor-kek: 1\n"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        std::fs::write(&path, bad).unwrap();
        let err = LocalKek::load(&path).err().unwrap();
        assert!(matches!(err, Error::InvalidKeyFile(_)), "{err:?}");
    }
}

#[test]
fn load_rejects_invalid_ids() {
    let key = key_bytes();
    for id in ["my key", "", "kek\u{7f}", "clé", &"k".repeat(256)] {
        let mut lines = key_file_lines("placeholder", &key);
        lines[2] = format!("id: {id}");
        assert_invalid_id(join(&lines).as_bytes());
    }
    // 255 characters is the longest valid id.
    let mut lines = key_file_lines("placeholder", &key);
    lines[2] = format!("id: {}", "k".repeat(255));
    for result in load_both(join(&lines).as_bytes()) {
        assert_eq!(result.unwrap().key_id().len(), 255);
    }
    // The same rules in the constructors.
    for id in ["my key", "", "tab\there", &"k".repeat(256)] {
        assert!(matches!(
            LocalKek::generate(id),
            Err(Error::InvalidKeyId(_))
        ));
        assert!(matches!(
            LocalKek::from_bytes(id, Zeroizing::new(key)),
            Err(Error::InvalidKeyId(_))
        ));
    }
}

#[test]
fn random_ids_are_valid_and_distinct() {
    let a = LocalKek::random_id().unwrap();
    let b = LocalKek::random_id().unwrap();
    assert_ne!(a, b);
    for id in [&a, &b] {
        let hex = id.strip_prefix("kek-").unwrap();
        assert_eq!(hex.len(), 16);
        assert!(
            hex.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        tresor_envelope::validate_key_id(id).unwrap();
        LocalKek::generate(id.as_str()).unwrap();
    }
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let kek = fixed("kek-debug");
    let key = key_bytes();
    for text in [format!("{kek:?}"), format!("{kek:#?}")] {
        assert!(text.contains("kek-debug"), "{text}");
        assert_no_secret(&text, &key);
    }

    let dek_bytes: [u8; DEK_LEN] =
        std::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(37) ^ 0xa5);
    let dek = DataKey::from_slice(&dek_bytes).unwrap();
    assert_eq!(dek.expose_secret(), &dek_bytes);
    for text in [format!("{dek:?}"), format!("{dek:#?}")] {
        assert!(text.contains("DataKey"), "{text}");
        assert_no_secret(&text, &dek_bytes);
    }

    // Nor do the keyring and envelope that hold the key.
    let envelope = Envelope::new(Keyring::with_primary(fixed("kek-debug")).unwrap());
    for text in [
        format!("{envelope:?}"),
        format!("{:?}", envelope.keyring()),
        format!("{envelope:#?}"),
    ] {
        assert!(text.contains("kek-debug"), "{text}");
        assert_no_secret(&text, &key);
    }
}

#[test]
fn errors_never_show_key_bytes() {
    let key = key_bytes();
    let good = join(&key_file_lines("kek-fixed", &key));
    let mut errors: Vec<Error> = Vec::new();
    // Every way to break a key file (the comment line also says "key: ").
    for (from, to) in [
        ("\ncheck: ", "\ncheck: 00"),
        ("\nkey: ", "\nkey: !"),
        ("\nkey: ", "\nkey: AAAA"),
        ("\nkey: ", "\nkey: AAAA\nkey: "),
        ("\ntresor-kek: 1", "\ntresor-kek: 9"),
        ("\nalgorithm: aes-256-gcm-siv", "\nalgorithm: x"),
        ("\nid: kek-fixed", "\nid: bad id"),
        ("\n", "\nextra: 1\n"),
    ] {
        errors.push(
            LocalKek::from_key_file(&good.replacen(from, to, 1))
                .err()
                .unwrap(),
        );
    }
    // Decryption failures with the key in play.
    let kek = fixed("kek-fixed");
    errors.push(kek.unwrap(&[0u8; LOCAL_WRAPPED_LEN], b"aad").err().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek.key");
    kek.save(&path).unwrap();
    errors.push(kek.save(&path).unwrap_err());

    assert!(errors.len() >= 9);
    for err in &errors {
        assert_no_secret(&err.to_string(), &key);
        assert_no_secret(&format!("{err:?}"), &key);
        assert_no_secret(&format!("{err:#}"), &key);
    }
}

#[test]
fn wrap_has_the_documented_length_and_a_random_nonce() {
    let kek = fixed("kek-wrap");
    let dek_bytes = [0x42u8; DEK_LEN];
    let dek = DataKey::from_slice(&dek_bytes).unwrap();
    let a = kek.wrap(&dek, b"aad").unwrap();
    let b = kek.wrap(&dek, b"aad").unwrap();
    assert_eq!(LOCAL_WRAPPED_LEN, 60);
    assert_eq!((a.len(), b.len()), (LOCAL_WRAPPED_LEN, LOCAL_WRAPPED_LEN));
    assert_ne!(a, b, "two wraps of one key differ");
    assert_ne!(a[..12], b[..12], "in their nonce");
    assert!(
        !a.windows(DEK_LEN).any(|w| w == dek_bytes),
        "the key is not in clear"
    );
    for wrapped in [&a, &b] {
        assert_eq!(
            kek.unwrap(wrapped, b"aad").unwrap().expose_secret(),
            &dek_bytes
        );
    }
    // The empty AAD is an AAD like any other.
    let c = kek.wrap(&dek, b"").unwrap();
    assert_eq!(kek.unwrap(&c, b"").unwrap().expose_secret(), &dek_bytes);
}

#[test]
fn wrap_format_is_nonce_ciphertext_tag_under_aes_256_gcm_siv() {
    use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
    use aes_gcm_siv::{Aes256GcmSiv, Nonce};

    let kek = fixed("kek-format");
    let dek_bytes: [u8; DEK_LEN] = std::array::from_fn(|i| u8::try_from(i).unwrap());
    let wrapped = kek
        .wrap(&DataKey::from_slice(&dek_bytes).unwrap(), b"the aad")
        .unwrap();
    let cipher = Aes256GcmSiv::new(&key_bytes().into());
    let nonce: [u8; 12] = wrapped[..12].try_into().unwrap();
    let plain = cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &wrapped[12..],
                aad: b"the aad",
            },
        )
        .unwrap();
    assert_eq!(plain, dek_bytes);
}

#[test]
fn unwrap_with_another_aad_or_key_fails_as_decrypt() {
    let kek = fixed("kek-aad");
    let dek = DataKey::from_slice(&[7u8; DEK_LEN]).unwrap();
    let wrapped = kek.wrap(&dek, b"tenant=acme").unwrap();
    for aad in [&b"tenant=acmf"[..], b"", b"tenant=acme\0", b"TENANT=ACME"] {
        assert!(matches!(kek.unwrap(&wrapped, aad), Err(Error::Decrypt)));
    }
    // Another key with the same id.
    let other = LocalKek::generate("kek-aad").unwrap();
    assert!(matches!(
        other.unwrap(&wrapped, b"tenant=acme"),
        Err(Error::Decrypt)
    ));
    // Every flipped bit.
    for i in 0..wrapped.len() {
        for bit in 0..8 {
            let mut tampered = wrapped.clone();
            tampered[i] ^= 1 << bit;
            assert!(
                matches!(kek.unwrap(&tampered, b"tenant=acme"), Err(Error::Decrypt)),
                "byte {i} bit {bit}"
            );
        }
    }
    assert_eq!(
        kek.unwrap(&wrapped, b"tenant=acme")
            .unwrap()
            .expose_secret(),
        &[7u8; DEK_LEN]
    );
}

#[test]
fn unwrap_of_a_wrong_length_blob_fails_as_decrypt() {
    let kek = fixed("kek-len");
    let wrapped = kek
        .wrap(&DataKey::from_slice(&[1u8; DEK_LEN]).unwrap(), b"")
        .unwrap();
    let mut longer = wrapped.clone();
    longer.push(0);
    for blob in [
        &[][..],
        &wrapped[..1],
        &wrapped[..12],
        &wrapped[..LOCAL_WRAPPED_LEN - 1],
        &longer,
        &[0u8; 4096],
        &[0u8; LOCAL_WRAPPED_LEN],
    ] {
        let err = kek.unwrap(blob, b"").err().unwrap();
        assert!(
            matches!(err, Error::Decrypt),
            "{} bytes: {err:?}",
            blob.len()
        );
    }
}

#[test]
fn data_key_from_slice_requires_32_bytes() {
    for len in [0, 16, 31, 33, 64] {
        assert!(matches!(
            DataKey::from_slice(&vec![0u8; len]),
            Err(Error::Decrypt)
        ));
    }
    DataKey::from_slice(&[0u8; 32]).unwrap();
}

#[test]
fn a_loaded_key_file_opens_data_from_a_key_file_written_by_hand() {
    // A key file written by another tool (here: by hand, from raw bytes)
    // holds the same key as `from_bytes`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hand.key");
    std::fs::write(&path, join(&key_file_lines("kek-hand", &key_bytes()))).unwrap();
    let loaded = LocalKek::load(Path::new(&path)).unwrap();
    let context = Context::new();
    let sealed = envelope_with(vec![fixed("kek-hand")])
        .seal_to_vec(b"interop", &context)
        .unwrap();
    assert_eq!(
        envelope_with(vec![loaded])
            .open_to_vec(&sealed, &context)
            .unwrap(),
        b"interop"
    );
}
