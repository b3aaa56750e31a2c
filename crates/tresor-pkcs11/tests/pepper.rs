//! `Pkcs11Pepper` on a real SoftHSM2 token: client authentication through
//! `tresor_credentials::Registry`, pepper rotation, equality with a
//! software HMAC-SHA-256 and with `LocalPepper`, key custody, clear errors
//! for missing and wrong objects, a token that disappears, and 8 threads at
//! once.

#![cfg(feature = "credentials")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::{SoftHsm, with_token};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectHandle};
use secrecy::SecretString;
use tresor_credentials::{
    AuthError, CredentialStore, LocalPepper, MemoryStore, Pepper, Registry, SqliteStore,
};
use tresor_pkcs11::{Error, PEPPER_KEY_LEN, Pkcs11Pepper, Token};

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

fn registry(store: Arc<dyn CredentialStore>, pepper: Arc<dyn Pepper>) -> Registry {
    Registry::new(store, pepper).unwrap()
}

/// A pepper key made around `tresor-pkcs11` (test only): a 32-byte
/// generic secret with the given custody, label and id.
fn raw_hmac_key(
    hsm: &SoftHsm,
    label: &str,
    id: &[u8],
    extractable: bool,
) -> (cryptoki::session::Session, ObjectHandle) {
    let session = hsm.raw_session();
    let handle = session
        .generate_key(
            &Mechanism::GenericSecretKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Sensitive(!extractable),
                Attribute::Extractable(extractable),
                Attribute::Sign(true),
                Attribute::ValueLen(32.into()),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ],
        )
        .unwrap();
    (session, handle)
}

/// The crate's error inside a credentials error, which must be an
/// outage: never an unknown version, never a panic.
fn outage(err: &tresor_credentials::Error) -> &Error {
    let tresor_credentials::Error::Pepper { source } = err else {
        panic!("an outage reported as {err:?}");
    };
    assert!(err.is_unavailable());
    let ours = source
        .downcast_ref::<Error>()
        .unwrap_or_else(|| panic!("not a tresor-pkcs11 error: {source}"));
    assert!(ours.is_unavailable(), "not an outage: {ours}");
    ours
}

#[test]
fn clients_authenticate_with_a_pepper_in_the_token() {
    with_token("clients_authenticate_with_a_pepper_in_the_token", |hsm| {
        let token = hsm.token();
        let pepper = Arc::new(Pkcs11Pepper::generate(&token, "pepper").unwrap());
        assert_eq!(pepper.current_version(), 1);
        assert_eq!(pepper.versions().unwrap(), [1]);
        let registry = registry(Arc::new(MemoryStore::new()), pepper.clone());

        let (id, client_secret) = registry.register("acme", &["payments"]).unwrap();
        assert_eq!(
            registry.get(&id).unwrap().unwrap().secrets[0].pepper_version,
            1
        );
        let client = registry
            .authenticate(id.as_str(), &secret(client_secret.expose_secret()), None)
            .unwrap();
        assert_eq!(client.id(), &id);

        // A wrong secret, well-formed or not, is refused as invalid_client.
        let (_, other) = registry.register("globex", &["payments"]).unwrap();
        for wrong in [other.expose_secret(), "tresor_cs_nope"] {
            assert_eq!(
                registry
                    .authenticate(id.as_str(), &secret(wrong), None)
                    .unwrap_err(),
                AuthError::InvalidClient
            );
        }

        // The same pepper opened again by its URI (as after a restart).
        let again = Arc::new(Pkcs11Pepper::open(&hsm.uri("object=pepper")).unwrap());
        assert_eq!(again.current_version(), 1);
        let store = registry.store().clone();
        let restarted = Registry::new(store, again).unwrap();
        restarted
            .authenticate(id.as_str(), &secret(client_secret.expose_secret()), None)
            .unwrap();
    });
}

#[test]
fn pepper_rotation_keeps_old_verifiers_and_rederives_them() {
    with_token(
        "pepper_rotation_keeps_old_verifiers_and_rederives_them",
        |hsm| {
            let token = hsm.token();
            let pepper = Arc::new(Pkcs11Pepper::generate(&token, "pepper").unwrap());
            // Another process's handle, opened before the rotation.
            let elsewhere = Arc::new(Pkcs11Pepper::open(&hsm.uri("object=pepper")).unwrap());
            let store: Arc<dyn CredentialStore> = Arc::new(MemoryStore::new());
            let registry = registry(store.clone(), pepper.clone());
            let (a, a_secret) = registry.register("a", &["x"]).unwrap();
            let (b, b_secret) = registry.register("b", &["x"]).unwrap();
            let version = |id| registry.get(id).unwrap().unwrap().secrets[0].pepper_version;

            assert_eq!(pepper.rotate().unwrap(), 2);
            assert_eq!(pepper.current_version(), 2);
            assert_eq!(pepper.versions().unwrap(), [1, 2]);
            assert!(pepper.custody(2).unwrap().never_leaves_token());

            // New registrations use version 2.
            let (c, c_secret) = registry.register("c", &["x"]).unwrap();
            assert_eq!(version(&c), 2);
            // An old verifier still authenticates, and moves to version 2.
            assert_eq!(version(&a), 1);
            registry
                .authenticate(a.as_str(), &secret(a_secret.expose_secret()), None)
                .unwrap();
            assert_eq!(version(&a), 2);
            registry
                .authenticate(a.as_str(), &secret(a_secret.expose_secret()), None)
                .unwrap();
            assert_eq!(version(&b), 1);

            // The handle opened before the rotation verifies version 2 and
            // takes it as current at its first MAC under it.
            assert_eq!(elsewhere.current_version(), 1);
            let other = Registry::new(store.clone(), elsewhere.clone()).unwrap();
            other
                .authenticate(c.as_str(), &secret(c_secret.expose_secret()), None)
                .unwrap();
            assert_eq!(elsewhere.current_version(), 2);
            assert_eq!(elsewhere.refresh().unwrap(), 2);

            // Version 1 deleted from the token: the re-derived client still
            // authenticates, the other one no longer does (its verifier's
            // version is unknown: invalid_client, not an outage).
            let raw = hsm.raw_session();
            let v1 = raw
                .find_objects(&[
                    Attribute::Label(b"pepper".to_vec()),
                    Attribute::Id(vec![0, 0, 0, 1]),
                ])
                .unwrap();
            raw.destroy_object(v1[0]).unwrap();
            let fresh = Arc::new(Pkcs11Pepper::open(&hsm.uri("object=pepper")).unwrap());
            assert_eq!(fresh.versions().unwrap(), [2]);
            let only_v2 = Registry::new(store, fresh.clone()).unwrap();
            only_v2
                .authenticate(a.as_str(), &secret(a_secret.expose_secret()), None)
                .unwrap();
            assert_eq!(
                only_v2
                    .authenticate(b.as_str(), &secret(b_secret.expose_secret()), None)
                    .unwrap_err(),
                AuthError::InvalidClient
            );
            assert!(matches!(
                fresh.mac(1, b"x"),
                Err(tresor_credentials::Error::UnknownPepperVersion { version: 1 })
            ));
        },
    );
}

/// The token computes exactly HMAC-SHA-256: an extractable test key's
/// value, read out, gives the same tags in `ring` and in `LocalPepper`, and
/// verifiers made under a `LocalPepper` with that key authenticate under
/// the token.
#[test]
fn the_mac_is_hmac_sha256_of_the_key() {
    with_token("the_mac_is_hmac_sha256_of_the_key", |hsm| {
        let (raw, handle) = raw_hmac_key(hsm, "soft-pepper", &[0, 0, 0, 1], true);
        let token = hsm.token();

        // Refused unless explicitly allowed.
        let err = Pkcs11Pepper::builder(&token)
            .label("soft-pepper")
            .open()
            .unwrap_err();
        assert!(matches!(err, Error::KeyExtractable { .. }), "{err}");
        let pepper = Pkcs11Pepper::builder(&token)
            .label("soft-pepper")
            .allow_extractable(true)
            .open()
            .unwrap();
        assert!(!pepper.custody(1).unwrap().never_leaves_token());

        let value = match &raw.get_attributes(handle, &[AttributeType::Value]).unwrap()[..] {
            [Attribute::Value(value)] => value.clone(),
            other => panic!("CKA_VALUE of the extractable test key: {other:?}"),
        };
        assert_eq!(value.len(), PEPPER_KEY_LEN);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &value);
        let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
        let local = LocalPepper::parse(&format!("tresor-pepper-v1\n1 {hex}\n")).unwrap();

        for len in [0usize, 1, 31, 32, 55, 56, 64, 65, 1000, 70_000] {
            let data: Vec<u8> = (0..=250u8).cycle().take(len).collect();
            let in_token = pepper.mac(1, &data).unwrap();
            assert_eq!(
                &in_token[..],
                ring::hmac::sign(&key, &data).as_ref(),
                "{len}"
            );
            assert_eq!(in_token, local.mac(1, &data).unwrap(), "{len}");
        }
        // RFC 4231 test case 2 needs a 4-byte key; the 32-byte key above
        // is checked against ring, itself tested against RFC 4231.

        // Verifiers made under the key file authenticate under the token:
        // moving a pepper into an HSM keeps every client.
        let store: Arc<dyn CredentialStore> = Arc::new(MemoryStore::new());
        let before = registry(store.clone(), Arc::new(local));
        let (id, client_secret) = before.register("acme", &["x"]).unwrap();
        let after = registry(store, Arc::new(pepper));
        after
            .authenticate(id.as_str(), &secret(client_secret.expose_secret()), None)
            .unwrap();
        assert_eq!(
            after
                .authenticate(id.as_str(), &secret("tresor_cs_wrong"), None)
                .unwrap_err(),
            AuthError::InvalidClient
        );
    });
}

#[test]
fn generated_keys_never_leave_the_token() {
    with_token("generated_keys_never_leave_the_token", |hsm| {
        let pepper = Pkcs11Pepper::generate(&hsm.token(), "pepper").unwrap();
        pepper.rotate().unwrap();
        let custody = pepper.custody(1).unwrap();
        assert!(custody.never_leaves_token(), "{custody:?}");
        assert_eq!(custody.never_extractable, Some(true));
        assert_eq!(custody.always_sensitive, Some(true));
        assert_eq!(custody.local, Some(true));

        let raw = hsm.raw_session();
        for version in [1u32, 2] {
            let found = raw
                .find_objects(&[
                    Attribute::Label(b"pepper".to_vec()),
                    Attribute::Id(version.to_be_bytes().to_vec()),
                ])
                .unwrap();
            let [key] = found[..] else {
                panic!("{found:?}")
            };
            // CKA_VALUE cannot be read.
            assert!(
                matches!(
                    raw.get_attribute_info(key, &[AttributeType::Value])
                        .unwrap()[..],
                    [AttributeInfo::Sensitive | AttributeInfo::Unavailable]
                ),
                "CKA_VALUE is readable"
            );
            assert!(
                raw.get_attributes(key, &[AttributeType::Value])
                    .unwrap()
                    .is_empty()
            );
            // Sign, and nothing else.
            let attributes = raw
                .get_attributes(
                    key,
                    &[
                        AttributeType::KeyType,
                        AttributeType::ValueLen,
                        AttributeType::Sign,
                        AttributeType::Verify,
                        AttributeType::Encrypt,
                        AttributeType::Decrypt,
                        AttributeType::Wrap,
                        AttributeType::Unwrap,
                        AttributeType::Derive,
                        AttributeType::Extractable,
                        AttributeType::Sensitive,
                        AttributeType::Token,
                        AttributeType::Private,
                    ],
                )
                .unwrap();
            let text = format!("{attributes:?}");
            for expected in [
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::ValueLen(32.into()),
                Attribute::Sign(true),
                Attribute::Verify(false),
                Attribute::Encrypt(false),
                Attribute::Decrypt(false),
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Derive(false),
                Attribute::Extractable(false),
                Attribute::Sensitive(true),
                Attribute::Token(true),
                Attribute::Private(true),
            ] {
                assert!(attributes.contains(&expected), "{expected:?} in {text}");
            }
        }
        // Debug shows names and the version, nothing else.
        let debug = format!("{pepper:?}");
        assert!(debug.contains("object=pepper"), "{debug}");
        assert!(!debug.contains(common::USER_PIN), "{debug}");
    });
}

#[test]
fn missing_and_wrong_objects_are_clear_errors() {
    with_token("missing_and_wrong_objects_are_clear_errors", |hsm| {
        let token = hsm.token();
        let open = |path: &str| {
            Pkcs11Pepper::builder(&token)
                .uri(&hsm.uri(path))
                .open()
                .unwrap_err()
        };

        let err = open("object=nope");
        assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");
        assert!(err.to_string().contains("object=nope"), "{err}");
        assert!(!err.is_unavailable());

        // An AES key where a pepper version should be.
        hsm.raw_session()
            .generate_key(
                &Mechanism::AesKeyGen,
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Encrypt(true),
                    Attribute::ValueLen(32.into()),
                    Attribute::Label(b"aes-pepper".to_vec()),
                    Attribute::Id(vec![0, 0, 0, 1]),
                ],
            )
            .unwrap();
        let err = open("object=aes-pepper");
        assert!(matches!(err, Error::WrongKeyType { .. }), "{err}");
        println!("{err}");
        assert!(err.to_string().contains("CKK_AES"), "{err}");

        // An HMAC key whose id is not a version.
        drop(raw_hmac_key(hsm, "bad-id", &[7], false));
        let err = open("object=bad-id");
        assert!(matches!(err, Error::WrongKeyType { .. }), "{err}");
        println!("{err}");

        // A configured version that is not there; a malformed id=; a type
        // that is not secret-key; no label at all.
        Pkcs11Pepper::generate(&token, "pepper").unwrap();
        let err = open("object=pepper;id=%00%00%00%09");
        assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");
        assert!(err.to_string().contains("id=%00%00%00%09"), "{err}");
        for path in [
            "object=pepper;id=%09",
            "object=pepper;id=%00%00%00%00",
            "object=pepper;type=private",
            "",
        ] {
            let err = open(path);
            assert!(matches!(err, Error::InvalidKeyName { .. }), "{path}: {err}");
        }
        let pinned = Pkcs11Pepper::builder(&token)
            .uri(&hsm.uri("object=pepper;id=%00%00%00%01"))
            .open()
            .unwrap();
        assert_eq!(pinned.current_version(), 1);

        // A label in use is never generated over.
        let err = Pkcs11Pepper::generate(&token, "pepper").unwrap_err();
        assert!(matches!(err, Error::KeyExists { .. }), "{err}");
        let err = Pkcs11Pepper::generate(&token, "aes-pepper").unwrap_err();
        assert!(matches!(err, Error::KeyExists { .. }), "{err}");

        // An unknown version through the Pepper trait.
        assert!(matches!(
            pinned.mac(5, b"x"),
            Err(tresor_credentials::Error::UnknownPepperVersion { version: 5 })
        ));
        // Version 0 does not exist, as in `LocalPepper`.
        assert!(matches!(
            pinned.mac(0, b"x"),
            Err(tresor_credentials::Error::UnknownPepperVersion { version: 0 })
        ));
        let local = LocalPepper::generate().unwrap();
        assert!(matches!(
            local.mac(0, b"x"),
            Err(tresor_credentials::Error::UnknownPepperVersion { version: 0 })
        ));
    });
}

/// The token's directory disappears mid-run: authentication answers
/// `Unavailable` (503), never `InvalidClient`, and the pepper's error is an
/// outage carrying this crate's error. A new process on the restored token
/// authenticates the same client (SoftHSM2 2.6 does not show a vanished
/// token again to the process that saw it go: see `tests/sessions.rs`).
#[test]
fn a_token_removed_mid_run_is_an_outage_not_a_bad_secret() {
    with_token(
        "a_token_removed_mid_run_is_an_outage_not_a_bad_secret",
        |hsm| {
            let db = hsm.dir().join("clients.sqlite");
            let saved = hsm.dir().join("client.txt");
            if hsm.phase() == 2 {
                let pepper = Arc::new(Pkcs11Pepper::open(&hsm.uri("object=pepper")).unwrap());
                let registry = registry(Arc::new(SqliteStore::open(&db).unwrap()), pepper);
                let text = std::fs::read_to_string(&saved).unwrap();
                let (id, client_secret) = text.split_once(' ').unwrap();
                registry
                    .authenticate(id, &secret(client_secret), None)
                    .unwrap();
                return;
            }

            let token = hsm.token();
            let pepper = Arc::new(Pkcs11Pepper::generate(&token, "pepper").unwrap());
            let registry = registry(Arc::new(SqliteStore::open(&db).unwrap()), pepper.clone());
            let (id, client_secret) = registry.register("acme", &["x"]).unwrap();
            registry
                .authenticate(id.as_str(), &secret(client_secret.expose_secret()), None)
                .unwrap();
            std::fs::write(
                &saved,
                format!("{} {}", id.as_str(), client_secret.expose_secret()),
            )
            .unwrap();

            let away = hsm.dir().join("tokens.away");
            std::fs::rename(hsm.token_dir(), &away).unwrap();
            for attempt in 0..3 {
                assert_eq!(
                    registry
                        .authenticate(id.as_str(), &secret(client_secret.expose_secret()), None)
                        .unwrap_err(),
                    AuthError::Unavailable,
                    "attempt {attempt}"
                );
                let err = pepper.mac(1, b"data").unwrap_err();
                println!("MAC {attempt} during the outage: {}", outage(&err));
                // Even a version never seen: an outage, not "unknown".
                let err = pepper.mac(7, b"data").unwrap_err();
                let _ = outage(&err);
            }
            let err = registry.register("globex", &["x"]).unwrap_err();
            assert!(err.is_unavailable(), "{err:?}");

            std::fs::rename(&away, hsm.token_dir()).unwrap();
            hsm.run_phase(2);
        },
    );
}

#[test]
fn eight_threads_authenticate_at_once() {
    with_token("eight_threads_authenticate_at_once", |hsm| {
        let token = Token::open(&hsm.uri("")).unwrap();
        let pepper = Arc::new(Pkcs11Pepper::generate(&token, "pepper").unwrap());
        let registry = Arc::new(registry(Arc::new(MemoryStore::new()), pepper));
        let clients: Vec<_> = (0..8)
            .map(|i| registry.register(&format!("client {i}"), &["x"]).unwrap())
            .collect();
        let threads: Vec<_> = clients
            .into_iter()
            .map(|(id, client_secret)| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || {
                    let good = secret(client_secret.expose_secret());
                    for _ in 0..50 {
                        let client = registry.authenticate(id.as_str(), &good, None).unwrap();
                        assert_eq!(client.id(), &id);
                    }
                    assert_eq!(
                        registry
                            .authenticate(id.as_str(), &secret("tresor_cs_wrong"), None)
                            .unwrap_err(),
                        AuthError::InvalidClient
                    );
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let stats = token.session_stats();
        assert!(stats.peak <= 9, "{stats:?}");
        assert_eq!(stats.discarded, 0, "{stats:?}");
    });
}

/// A token that allows one session (a smart card): generation, rotation,
/// MACs and authentication never need two at once.
#[test]
fn one_session_is_enough() {
    with_token("one_session_is_enough", |hsm| {
        use std::time::Duration;
        use tresor_pkcs11::TokenOptions;

        let options = TokenOptions::new()
            .max_sessions(1)
            .session_wait(Duration::from_millis(100));
        let token = Token::open_with(&hsm.uri(""), options).unwrap();
        let pepper = Arc::new(Pkcs11Pepper::generate(&token, "pepper").unwrap());
        let registry = registry(Arc::new(MemoryStore::new()), pepper.clone());
        let (id, client_secret) = registry.register("acme", &["x"]).unwrap();
        assert_eq!(pepper.rotate().unwrap(), 2);
        assert_eq!(pepper.refresh().unwrap(), 2);
        registry
            .authenticate(id.as_str(), &secret(client_secret.expose_secret()), None)
            .unwrap();
        assert!(pepper.custody(2).unwrap().never_leaves_token());
        let listed = token
            .objects(&tresor_pkcs11::ObjectFilter::all().label("pepper"))
            .unwrap();
        assert_eq!(listed.len(), 2);
        let stats = token.session_stats();
        assert_eq!(stats.peak, 1, "{stats:?}");
        assert_eq!(stats.timed_out, 0, "{stats:?}");
    });
}
