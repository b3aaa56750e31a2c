//! `Pkcs11Kek` on a real SoftHSM2 token: sealing and opening through
//! `Envelope`, rewrapping between a local and an HSM key, tampering, key
//! custody, and key names.

#![cfg(feature = "envelope")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{SoftHsm, with_token};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use tresor_envelope::{Context, DataKey, Envelope, Header, KeyEncryptionKey, Keyring, LocalKek};
use tresor_pkcs11::{Error, PKCS11_WRAPPED_LEN, Pkcs11Kek};

fn kek(hsm: &SoftHsm, label: &str) -> Pkcs11Kek {
    Pkcs11Kek::generate(&hsm.token(), label, None).unwrap()
}

fn context() -> Context {
    Context::from_pairs([("tenant", "acme"), ("field", "iban")]).unwrap()
}

#[test]
fn seal_and_open_a_record_and_a_stream() {
    with_token("seal_and_open_a_record_and_a_stream", |hsm| {
        let envelope = Envelope::new(Keyring::with_primary(kek(hsm, "kek-2026")).unwrap());
        let ctx = context();

        let sealed = envelope
            .seal_to_vec(b"DE89 3704 0044 0532 0130 00", &ctx)
            .unwrap();
        assert_eq!(Header::parse(&sealed).unwrap().0.kek_id(), "kek-2026");
        assert_eq!(
            envelope.open_to_vec(&sealed, &ctx).unwrap(),
            b"DE89 3704 0044 0532 0130 00"
        );
        let other = Context::from_pairs([("tenant", "globex")]).unwrap();
        assert!(matches!(
            envelope.open_to_vec(&sealed, &other),
            Err(tresor_envelope::Error::Decrypt)
        ));

        let dump: Vec<u8> = (0..=250u8).cycle().take(300_000).collect();
        let mut stream = Vec::new();
        envelope.seal(&dump[..], &mut stream, &ctx).unwrap();
        let mut restored = Vec::new();
        envelope.open(&stream[..], &mut restored, &ctx).unwrap();
        assert_eq!(restored, dump);

        // A second process-level handle on the same key (as after a
        // restart) opens what the first sealed.
        let again = Pkcs11Kek::open(&hsm.uri("object=kek-2026")).unwrap();
        let envelope = Envelope::new(Keyring::with_primary(again).unwrap());
        assert_eq!(
            envelope.open_to_vec(&sealed, &ctx).unwrap(),
            b"DE89 3704 0044 0532 0130 00"
        );
    });
}

#[test]
fn rewrap_from_a_local_key_to_the_hsm_and_back() {
    with_token("rewrap_from_a_local_key_to_the_hsm_and_back", |hsm| {
        let ctx = context();
        let envelope = Envelope::new(
            Keyring::with_primary(LocalKek::generate("local-2025").unwrap()).unwrap(),
        );
        let sealed = envelope
            .seal_to_vec(b"sealed under a local key", &ctx)
            .unwrap();

        envelope
            .update_keyring(|k| {
                k.add(kek(hsm, "hsm-2026"))?;
                k.set_primary("hsm-2026")
            })
            .unwrap();
        let moved = envelope.rewrap_to_vec(&sealed, None).unwrap();
        let (header, _) = Header::parse(&moved).unwrap();
        assert_eq!(header.kek_id(), "hsm-2026");
        assert_eq!(header.wrapped_dek().len(), PKCS11_WRAPPED_LEN);
        // Only the key section changed: the frame (the record and its
        // 16-byte tag) is byte for byte the same.
        let frame = b"sealed under a local key".len() + 16;
        assert!(moved.ends_with(&sealed[sealed.len() - frame..]));
        assert_eq!(
            envelope.open_to_vec(&moved, &ctx).unwrap(),
            b"sealed under a local key"
        );

        // Without the local key, the moved message still opens.
        envelope.update_keyring(|k| k.retire("local-2025")).unwrap();
        envelope.destroy_kek("local-2025").unwrap();
        assert_eq!(
            envelope.open_to_vec(&moved, &ctx).unwrap(),
            b"sealed under a local key"
        );

        // And back to a (new) local key.
        envelope
            .update_keyring(|k| {
                k.add(LocalKek::generate("local-2027")?)?;
                k.set_primary("local-2027")
            })
            .unwrap();
        let back = envelope.rewrap_to_vec(&moved, None).unwrap();
        assert_eq!(Header::parse(&back).unwrap().0.kek_id(), "local-2027");
        envelope.update_keyring(|k| k.retire("hsm-2026")).unwrap();
        envelope.destroy_kek("hsm-2026").unwrap();
        assert_eq!(
            envelope.open_to_vec(&back, &ctx).unwrap(),
            b"sealed under a local key"
        );
    });
}

#[test]
fn every_bit_flip_of_a_wrapped_key_is_rejected() {
    with_token("every_bit_flip_of_a_wrapped_key_is_rejected", |hsm| {
        let kek = kek(hsm, "kek-flip");
        let dek = DataKey::generate().unwrap();
        let aad = b"tresor-envelope/v1 key section example aad";
        let wrapped = kek.wrap(&dek, aad).unwrap();
        assert_eq!(wrapped.len(), PKCS11_WRAPPED_LEN);
        assert_eq!(
            kek.unwrap(&wrapped, aad).unwrap().expose_secret(),
            dek.expose_secret()
        );

        for bit in 0..wrapped.len() * 8 {
            let mut flipped = wrapped.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(
                    kek.unwrap(&flipped, aad),
                    Err(tresor_envelope::Error::Decrypt)
                ),
                "bit {bit}"
            );
        }
        // Wrong AAD, truncated, extended, empty: all "does not authenticate".
        for (bad, aad) in [
            (wrapped.clone(), &b"another aad"[..]),
            (wrapped.clone(), b""),
            (wrapped[..wrapped.len() - 1].to_vec(), aad),
            ([&wrapped[..], &[0]].concat(), aad),
            (Vec::new(), aad),
        ] {
            assert!(matches!(
                kek.unwrap(&bad, aad),
                Err(tresor_envelope::Error::Decrypt)
            ));
        }
        // The key still works, and no session was thrown away over
        // tampered input.
        assert_eq!(
            kek.unwrap(&wrapped, aad).unwrap().expose_secret(),
            dek.expose_secret()
        );
        assert_eq!(kek.token().session_stats().discarded, 0);

        // Two wraps of one key differ (fresh IVs).
        assert_ne!(kek.wrap(&dek, aad).unwrap(), kek.wrap(&dek, aad).unwrap());
    });
}

#[test]
fn a_generated_key_never_leaves_the_token() {
    with_token("a_generated_key_never_leaves_the_token", |hsm| {
        let kek = Pkcs11Kek::generate(&hsm.token(), "kek-custody", Some(&[0x20, 0x26])).unwrap();
        let custody = kek.custody().unwrap();
        assert_eq!(custody.sensitive, Some(true));
        assert_eq!(custody.extractable, Some(false));
        assert_eq!(custody.always_sensitive, Some(true));
        assert_eq!(custody.never_extractable, Some(true));
        assert_eq!(custody.local, Some(true));
        assert!(!custody.value_readable);
        assert!(custody.never_leaves_token());

        // Around tresor-pkcs11, with cryptoki directly.
        let session = hsm.raw_session();
        let handles = session
            .find_objects(&[Attribute::Label(b"kek-custody".to_vec())])
            .unwrap();
        assert_eq!(handles.len(), 1);
        let key = handles[0];
        let attributes = session
            .get_attributes(
                key,
                &[
                    AttributeType::Token,
                    AttributeType::Private,
                    AttributeType::Encrypt,
                    AttributeType::Decrypt,
                    AttributeType::Wrap,
                    AttributeType::Unwrap,
                    AttributeType::Sign,
                    AttributeType::Derive,
                    AttributeType::Id,
                ],
            )
            .unwrap();
        for expected in [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Derive(false),
            Attribute::Id(vec![0x20, 0x26]),
        ] {
            assert!(
                attributes.contains(&expected),
                "{expected:?} in {attributes:?}"
            );
        }
        // CKA_VALUE: sensitive, and a read returns nothing.
        assert!(matches!(
            session
                .get_attribute_info(key, &[AttributeType::Value])
                .unwrap()[..],
            [AttributeInfo::Sensitive]
        ));
        assert!(
            session
                .get_attributes(key, &[AttributeType::Value])
                .unwrap()
                .is_empty()
        );
        // Nor can it be wrapped out under another key.
        let wrapping = session
            .generate_key(
                &Mechanism::AesKeyGen,
                &[
                    Attribute::Token(false),
                    Attribute::ValueLen(32.into()),
                    Attribute::Wrap(true),
                ],
            )
            .unwrap();
        assert!(
            session
                .wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key)
                .is_err()
        );
    });
}

#[test]
fn an_extractable_key_is_refused_unless_allowed() {
    with_token("an_extractable_key_is_refused_unless_allowed", |hsm| {
        let session = hsm.raw_session();
        for (label, sensitive, extractable) in [
            ("kek-extractable", true, true),
            ("kek-not-sensitive", false, false),
        ] {
            session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::ValueLen(32.into()),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::Sensitive(sensitive),
                        Attribute::Extractable(extractable),
                        Attribute::Label(label.as_bytes().to_vec()),
                    ],
                )
                .unwrap();
            let err = Pkcs11Kek::open(&hsm.uri(&format!("object={label}"))).unwrap_err();
            assert!(matches!(err, Error::KeyExtractable { .. }), "{err}");
            assert!(
                err.to_string().contains(&format!("object={label}")),
                "{err}"
            );
            assert!(err.to_string().contains("allow_extractable"), "{err}");

            let kek = Pkcs11Kek::builder(&hsm.token())
                .label(label)
                .allow_extractable(true)
                .open()
                .unwrap();
            assert!(!kek.custody().unwrap().never_leaves_token());
            let envelope = Envelope::new(Keyring::with_primary(kek).unwrap());
            let sealed = envelope.seal_to_vec(b"migration", &context()).unwrap();
            assert_eq!(
                envelope.open_to_vec(&sealed, &context()).unwrap(),
                b"migration"
            );
        }
    });
}

#[test]
fn key_names_and_key_ids() {
    with_token("key_names_and_key_ids", |hsm| {
        let token = hsm.token();
        // The key id is the label, percent-encoded where it is not
        // printable ASCII.
        let spaced = Pkcs11Kek::generate(&token, "KEK 2026 é", Some(&[7])).unwrap();
        assert_eq!(spaced.key_id(), "KEK%202026%20%C3%A9");
        // Found by id alone, it takes the key's own label.
        let by_id = Pkcs11Kek::open(&hsm.uri("id=%07")).unwrap();
        assert_eq!(by_id.key_id(), "KEK%202026%20%C3%A9");
        // By label and id; type=secret-key is accepted.
        let both =
            Pkcs11Kek::open(&hsm.uri("object=KEK%202026%20%C3%A9;id=%07;type=secret-key")).unwrap();
        let dek = DataKey::generate().unwrap();
        let wrapped = spaced.wrap(&dek, b"aad").unwrap();
        assert_eq!(
            both.unwrap(&wrapped, b"aad").unwrap().expose_secret(),
            dek.expose_secret()
        );
        // An explicit key id (to keep the id of a relabelled key).
        let named = Pkcs11Kek::builder(&token)
            .id([7])
            .key_id("kek-2026-01")
            .open()
            .unwrap();
        assert_eq!(named.key_id(), "kek-2026-01");
        assert!(
            Pkcs11Kek::builder(&token)
                .id([7])
                .key_id("not a key id")
                .open()
                .is_err()
        );
        // A name in use is never given to a second key.
        for (label, id) in [("KEK 2026 é", None), ("other", Some(&[7][..]))] {
            let err = Pkcs11Kek::generate(&token, label, id).unwrap_err();
            assert!(matches!(err, Error::KeyExists { .. }), "{err}");
        }
        // A URI that names no key, or a non-secret type.
        let err = Pkcs11Kek::open(&hsm.uri("")).unwrap_err();
        assert!(matches!(err, Error::InvalidKeyName { .. }), "{err}");
        let err = Pkcs11Kek::open(&hsm.uri("object=x;type=private")).unwrap_err();
        assert!(err.to_string().contains("secret-key"), "{err}");
        // Debug shows names, not secrets.
        let shown = format!("{spaced:?} {token:?}");
        assert!(shown.contains("KEK%202026%20%C3%A9"), "{shown}");
        assert!(!shown.contains(common::USER_PIN), "{shown}");
    });
}

#[test]
fn only_secret_keys_count_when_a_label_names_several_objects() {
    with_token(
        "only_secret_keys_count_when_a_label_names_several_objects",
        |hsm| {
            let session = hsm.raw_session();
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::DATA),
                    Attribute::Token(true),
                    Attribute::Label(b"shared".to_vec()),
                    Attribute::Value(b"not a key".to_vec()),
                ])
                .unwrap();
            let err = Pkcs11Kek::open(&hsm.uri("object=shared")).unwrap_err();
            assert!(matches!(err, Error::WrongKeyType { .. }), "{err}");
            // A secret key under the same label is the one taken.
            let err = Pkcs11Kek::generate(&hsm.token(), "shared", None).unwrap_err();
            assert!(matches!(err, Error::KeyExists { .. }), "{err}");
            session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::ValueLen(32.into()),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Label(b"shared".to_vec()),
                    ],
                )
                .unwrap();
            Pkcs11Kek::open(&hsm.uri("object=shared")).unwrap();
        },
    );
}

/// KEK calls per 1 000 records of 256 bytes under one context: one wrap
/// and one unwrap per record without the envelope's data-key caches, one
/// of each for all 1 000 with them (the figures in the README; the bench
/// prints them too).
#[test]
fn kek_calls_per_thousand_records() {
    with_token("kek_calls_per_thousand_records", |hsm| {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        use tresor_envelope::{OpenCacheLimits, SealCacheLimits};

        struct Counting {
            inner: Pkcs11Kek,
            wraps: AtomicU64,
            unwraps: AtomicU64,
        }
        impl KeyEncryptionKey for Counting {
            fn key_id(&self) -> &str {
                self.inner.key_id()
            }
            fn wrap(&self, dek: &DataKey, aad: &[u8]) -> tresor_envelope::Result<Vec<u8>> {
                self.wraps.fetch_add(1, Ordering::Relaxed);
                self.inner.wrap(dek, aad)
            }
            fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> tresor_envelope::Result<DataKey> {
                self.unwraps.fetch_add(1, Ordering::Relaxed);
                self.inner.unwrap(wrapped, aad)
            }
        }

        let token = hsm.token();
        Pkcs11Kek::generate(&token, "kek-count", None).unwrap();
        let ctx = context();
        for (cached, expected) in [(false, 1000), (true, 1)] {
            let kek = Arc::new(Counting {
                inner: Pkcs11Kek::builder(&token)
                    .label("kek-count")
                    .open()
                    .unwrap(),
                wraps: AtomicU64::new(0),
                unwraps: AtomicU64::new(0),
            });
            let mut builder = Envelope::builder(Keyring::with_primary(Arc::clone(&kek)).unwrap());
            if cached {
                builder = builder
                    .seal_cache(SealCacheLimits::default())
                    .open_cache(OpenCacheLimits::default());
            }
            let envelope = builder.build().unwrap();
            let record = [0x5a; 256];
            let sealed: Vec<_> = (0..1000)
                .map(|_| envelope.seal_to_vec(&record, &ctx).unwrap())
                .collect();
            for s in &sealed {
                assert_eq!(envelope.open_to_vec(s, &ctx).unwrap(), record);
            }
            let (wraps, unwraps) = (
                kek.wraps.load(Ordering::Relaxed),
                kek.unwraps.load(Ordering::Relaxed),
            );
            println!("caches {cached}: {wraps} wraps, {unwraps} unwraps per 1 000 records");
            assert_eq!((wraps, unwraps), (expected, expected), "caches {cached}");
        }
    });
}
