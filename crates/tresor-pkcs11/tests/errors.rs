//! Clear errors for what operators get wrong: the PIN, the token, the
//! key's name and type, the module. No error, and no `Debug` output, ever
//! shows the PIN.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{USER_PIN, with_token};
use tresor_pkcs11::{Error, Pkcs11Uri, Token};

/// The error and its whole source chain, as a log line would show them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = format!("{err} / {err:?}");
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(" / {cause}"));
        source = cause.source();
    }
    text
}

fn assert_no_pin(text: &str) {
    assert!(!text.contains(USER_PIN), "the PIN shows in: {text}");
    assert!(
        !text.contains("wrong-pin-1234"),
        "the wrong PIN shows in: {text}"
    );
}

fn open(text: &str) -> Result<Token, Error> {
    Token::open(&Pkcs11Uri::parse(text).unwrap())
}

#[test]
fn a_wrong_pin_is_pin_incorrect_and_never_shown() {
    with_token("a_wrong_pin_is_pin_incorrect_and_never_shown", |hsm| {
        let wrong = hsm.dir().join("wrong.pin");
        std::fs::write(&wrong, "wrong-pin-1234\n").unwrap();
        let text = hsm
            .uri_text("")
            .replace(&*hsm.pin_file().to_string_lossy(), &wrong.to_string_lossy());
        let err = open(&text).unwrap_err();
        assert!(matches!(err, Error::PinIncorrect { .. }), "{err}");
        assert!(err.to_string().contains("token=tresor"), "{err}");
        assert!(!err.is_unavailable());
        assert_no_pin(&chain(&err));

        // The right PIN still works (one failed login did not lock it).
        let token = hsm.token();
        assert_no_pin(&format!("{token:?}"));
    });
}

#[test]
fn a_missing_or_empty_pin_is_a_clear_error() {
    with_token("a_missing_or_empty_pin_is_a_clear_error", |hsm| {
        let module = hsm.module().display().to_string();
        let err = open(&format!("pkcs11:token=tresor?module-path={module}")).unwrap_err();
        assert!(matches!(err, Error::PinRequired { .. }), "{err}");
        assert!(err.to_string().contains("pin-source"), "{err}");

        let missing = hsm.dir().join("missing.pin");
        let err = open(&format!(
            "pkcs11:token=tresor?module-path={module}&pin-source=file:{}",
            missing.display()
        ))
        .unwrap_err();
        assert!(matches!(err, Error::PinSource { .. }), "{err}");
        assert!(err.to_string().contains("missing.pin"), "{err}");

        let empty = hsm.dir().join("empty.pin");
        std::fs::write(&empty, "\n").unwrap();
        let err = open(&format!(
            "pkcs11:token=tresor?module-path={module}&pin-source=file:{}",
            empty.display()
        ))
        .unwrap_err();
        assert!(err.to_string().contains("the PIN is empty"), "{err}");

        let err = open(&format!(
            "pkcs11:token=tresor?module-path={module}&pin-source=env:TRESOR_TEST_UNSET_PIN"
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("env:TRESOR_TEST_UNSET_PIN"),
            "{err}"
        );
        assert!(err.to_string().contains("not set"), "{err}");
    });
}

#[test]
fn a_missing_token_is_token_not_present() {
    with_token("a_missing_token_is_token_not_present", |hsm| {
        let text = hsm
            .uri_text("")
            .replace("token=tresor", "token=no-such-token");
        let err = open(&text).unwrap_err();
        assert!(matches!(err, Error::TokenNotPresent { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "token not present: no initialised token matches token=no-such-token"
        );
        assert!(err.is_unavailable());

        // Other token attributes narrow the search the same way.
        for extra in [
            "serial=0000",
            "model=nope",
            "manufacturer=nope",
            "slot-id=424242",
        ] {
            let text = hsm
                .uri_text("")
                .replace("token=tresor", &format!("token=tresor;{extra}"));
            let err = open(&text).unwrap_err();
            assert!(
                matches!(err, Error::TokenNotPresent { .. }),
                "{extra}: {err}"
            );
            assert!(err.to_string().contains(extra), "{err}");
        }
        // And the right ones find it.
        let text = hsm.uri_text("").replace(
            "token=tresor",
            "token=tresor;manufacturer=SoftHSM%20project;model=SoftHSM%20v2",
        );
        open(&text).unwrap();
        let text = hsm.uri_text("").replace('?', "?x-vendor=ignored&");
        open(&text).unwrap();
    });
}

#[test]
fn the_module_must_exist_and_match() {
    with_token("the_module_must_exist_and_match", |hsm| {
        let err = open("pkcs11:token=tresor").unwrap_err();
        assert!(matches!(err, Error::NoModule), "{err}");

        let err = open("pkcs11:token=tresor?module-path=/nonexistent/libnothing.so").unwrap_err();
        assert!(matches!(err, Error::Module { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent/libnothing.so"),
            "{err}"
        );

        // A file that is not a PKCS#11 module.
        let err = open(&format!(
            "pkcs11:token=tresor?module-path={}",
            hsm.pin_file().display()
        ))
        .unwrap_err();
        assert!(matches!(err, Error::Module { .. }), "{err}");
        assert_no_pin(&chain(&err));

        // module-path as a directory, with module-name.
        let dir = hsm.module().parent().unwrap().display().to_string();
        let text = hsm.uri_text("").replace(
            &format!("module-path={}", hsm.module().display()),
            &format!("module-path={dir}&module-name=softhsm2"),
        );
        open(&text).unwrap();

        // library-* attributes are checked against C_GetInfo.
        let text = hsm.uri_text("library-manufacturer=SoftHSM");
        open(&text).unwrap();
        for attribute in [
            "library-manufacturer=Other",
            "library-description=Other",
            "library-version=0.1",
        ] {
            let err = open(&hsm.uri_text(attribute)).unwrap_err();
            assert!(matches!(err, Error::ModuleMismatch { .. }), "{err}");
            assert!(
                err.to_string()
                    .contains(attribute.split('=').next().unwrap()),
                "{err}"
            );
        }
    });
}

#[cfg(feature = "envelope")]
mod keys {
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::Attribute;
    use tresor_pkcs11::{Error, Pkcs11Kek};

    use super::common::with_token;

    #[test]
    fn a_missing_key_is_key_not_found() {
        with_token("keys::a_missing_key_is_key_not_found", |hsm| {
            let err = Pkcs11Kek::open(&hsm.uri("object=kek-missing")).unwrap_err();
            assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");
            assert_eq!(
                err.to_string(),
                "key not found: object=kek-missing on token=tresor"
            );
            assert!(!err.is_unavailable());
            let err = Pkcs11Kek::open(&hsm.uri("id=%01%02")).unwrap_err();
            assert_eq!(err.to_string(), "key not found: id=%01%02 on token=tresor");
        });
    }

    #[test]
    fn a_key_of_the_wrong_type_is_refused() {
        with_token("keys::a_key_of_the_wrong_type_is_refused", |hsm| {
            let session = hsm.raw_session();
            let common = |label: &str| {
                vec![
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Label(label.as_bytes().to_vec()),
                ]
            };
            // An HMAC key named as a KEK.
            let mut hmac = common("hmac-key");
            hmac.extend([Attribute::ValueLen(32.into()), Attribute::Sign(true)]);
            session
                .generate_key(&Mechanism::GenericSecretKeyGen, &hmac)
                .unwrap();
            // AES, but 128 bits.
            let mut aes128 = common("aes-128");
            aes128.extend([
                Attribute::ValueLen(16.into()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
            ]);
            session
                .generate_key(&Mechanism::AesKeyGen, &aes128)
                .unwrap();
            // AES-256, but not allowed to decrypt.
            let mut no_decrypt = common("aes-no-decrypt");
            no_decrypt.extend([
                Attribute::ValueLen(32.into()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(false),
            ]);
            session
                .generate_key(&Mechanism::AesKeyGen, &no_decrypt)
                .unwrap();

            for (label, found) in [
                ("hmac-key", "found a CKK_GENERIC_SECRET secret key"),
                ("aes-128", "found an AES key of 16 bytes"),
                ("aes-no-decrypt", "found an AES-256 key without CKA_DECRYPT"),
            ] {
                let err = Pkcs11Kek::open(&hsm.uri(&format!("object={label}"))).unwrap_err();
                assert!(matches!(err, Error::WrongKeyType { .. }), "{err}");
                let text = err.to_string();
                assert!(
                    text.starts_with(&format!(
                        "wrong key type for object={label}: expected an AES-256"
                    )),
                    "{text}"
                );
                assert!(text.ends_with(found), "{text}");
            }
        });
    }

    #[test]
    fn two_keys_under_one_name_are_ambiguous() {
        with_token("keys::two_keys_under_one_name_are_ambiguous", |hsm| {
            let session = hsm.raw_session();
            for _ in 0..2 {
                session
                    .generate_key(
                        &Mechanism::AesKeyGen,
                        &[
                            Attribute::Token(true),
                            Attribute::ValueLen(32.into()),
                            Attribute::Encrypt(true),
                            Attribute::Decrypt(true),
                            Attribute::Sensitive(true),
                            Attribute::Extractable(false),
                            Attribute::Label(b"twice".to_vec()),
                        ],
                    )
                    .unwrap();
            }
            let err = Pkcs11Kek::open(&hsm.uri("object=twice")).unwrap_err();
            assert!(matches!(err, Error::AmbiguousKey { .. }), "{err}");
            assert!(err.to_string().contains("add id="), "{err}");
        });
    }
}
