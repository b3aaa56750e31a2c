//! `Token::objects` on a real SoftHSM2 token: every kind of key with its
//! names, kind and custody flags, filters, and never a value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{SoftHsm, with_token};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType};
use tresor_pkcs11::{KeyClass, KeyKind, ObjectFilter, ObjectInfo};

const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// Key pairs and an extractable secret made around `tresor-pkcs11`;
/// returns the extractable key's value.
fn populate(hsm: &SoftHsm) -> Vec<u8> {
    let raw = hsm.raw_session();
    for (mechanism, params, label, id) in [
        (Mechanism::EccKeyPairGen, P256_OID, "signer-p256", 0x10u8),
        (
            Mechanism::EccEdwardsKeyPairGen,
            ED25519_OID,
            "note-ed25519",
            0x11,
        ),
    ] {
        raw.generate_key_pair(
            &mechanism,
            &[
                Attribute::Token(true),
                Attribute::EcParams(params.to_vec()),
                Attribute::Verify(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(vec![id]),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(vec![id]),
            ],
        )
        .unwrap();
    }
    let soft = raw
        .generate_key(
            &Mechanism::GenericSecretKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Sign(true),
                Attribute::ValueLen(32.into()),
                Attribute::Label(b"soft".to_vec()),
            ],
        )
        .unwrap();
    match &raw.get_attributes(soft, &[AttributeType::Value]).unwrap()[..] {
        [Attribute::Value(value)] => value.clone(),
        other => panic!("{other:?}"),
    }
}

fn find<'a>(list: &'a [ObjectInfo], label: &str, class: KeyClass) -> &'a ObjectInfo {
    list.iter()
        .find(|o| o.label.as_deref() == Some(label) && o.class == class)
        .unwrap_or_else(|| panic!("{label} {class} not in {list:#?}"))
}

#[test]
fn every_key_is_listed_with_its_kind_and_custody() {
    with_token("every_key_is_listed_with_its_kind_and_custody", |hsm| {
        let token = hsm.token();
        assert!(token.objects(&ObjectFilter::all()).unwrap().is_empty());
        let soft_value = populate(hsm);
        #[cfg(feature = "envelope")]
        tresor_pkcs11::Pkcs11Kek::generate(&token, "kek-2026", Some(&[0x20, 0x26])).unwrap();
        #[cfg(feature = "credentials")]
        tresor_pkcs11::Pkcs11Pepper::generate(&token, "pepper")
            .unwrap()
            .rotate()
            .unwrap();

        let list = token.objects(&ObjectFilter::all()).unwrap();
        for info in &list {
            println!(
                "{:<14} {:<10} {:<10} {:<20} {:?}",
                info.label.as_deref().unwrap_or("-"),
                info.id_hex(),
                info.class,
                info.kind,
                info.custody
            );
        }
        let mut expected = 5; // two key pairs and the soft key
        if cfg!(feature = "envelope") {
            expected += 1;
        }
        if cfg!(feature = "credentials") {
            expected += 2;
        }
        assert_eq!(list.len(), expected, "{list:#?}");

        let p256 = find(&list, "signer-p256", KeyClass::PrivateKey);
        assert_eq!(p256.kind, KeyKind::EcdsaP256);
        assert_eq!(p256.id_hex(), "10");
        assert!(p256.custody.never_leaves_token(), "{:?}", p256.custody);
        assert_eq!(p256.custody.local, Some(true));
        let p256_public = find(&list, "signer-p256", KeyClass::PublicKey);
        assert_eq!(p256_public.kind, KeyKind::EcdsaP256);
        assert_eq!(
            p256_public.uri_path(),
            "object=signer-p256;id=%10;type=public"
        );
        let ed = find(&list, "note-ed25519", KeyClass::PrivateKey);
        assert_eq!(ed.kind, KeyKind::Ed25519);
        assert_eq!(
            find(&list, "note-ed25519", KeyClass::PublicKey).kind,
            KeyKind::Ed25519
        );

        let soft = find(&list, "soft", KeyClass::SecretKey);
        assert_eq!(soft.kind, KeyKind::GenericSecret { bits: Some(256) });
        assert_eq!(soft.custody.extractable, Some(true));
        assert_eq!(soft.custody.sensitive, Some(false));
        assert!(soft.custody.value_readable);
        assert!(!soft.custody.never_leaves_token());
        assert_eq!(soft.id_hex(), "");

        #[cfg(feature = "envelope")]
        {
            let kek = find(&list, "kek-2026", KeyClass::SecretKey);
            assert_eq!(kek.kind, KeyKind::Aes { bits: Some(256) });
            assert_eq!(kek.kind.to_string(), "aes-256");
            assert_eq!(kek.id_hex(), "2026");
            assert!(kek.custody.never_leaves_token());
            assert_eq!(kek.custody.never_extractable, Some(true));
        }
        #[cfg(feature = "credentials")]
        {
            let versions: Vec<_> = list
                .iter()
                .filter(|o| o.label.as_deref() == Some("pepper"))
                .collect();
            assert_eq!(versions.len(), 2);
            assert_eq!(versions[0].id_hex(), "00000001");
            assert_eq!(versions[1].id_hex(), "00000002");
            for v in versions {
                assert_eq!(v.kind, KeyKind::GenericSecret { bits: Some(256) });
                assert!(v.custody.never_leaves_token());
            }
        }

        // Never a value: not even the readable one appears anywhere.
        let hex: String = soft_value.iter().map(|b| format!("{b:02x}")).collect();
        let text = format!("{list:?}");
        assert!(!text.contains(&hex), "a key value in the listing");
        assert!(
            !text.contains(&format!("{soft_value:?}")[1..20]),
            "a key value in the listing"
        );
    });
}

#[test]
fn filters_by_label_id_class_and_uri() {
    with_token("filters_by_label_id_class_and_uri", |hsm| {
        let token = hsm.token();
        populate(hsm);

        let signer = token
            .objects(&ObjectFilter::all().label("signer-p256"))
            .unwrap();
        assert_eq!(signer.len(), 2);
        assert_eq!(signer[0].class, KeyClass::PrivateKey);
        assert_eq!(signer[1].class, KeyClass::PublicKey);

        let private = token
            .objects(&ObjectFilter::all().class(KeyClass::PrivateKey))
            .unwrap();
        assert_eq!(private.len(), 2);
        assert!(private.iter().all(|o| o.class == KeyClass::PrivateKey));

        let by_id = token.objects(&ObjectFilter::all().id([0x11])).unwrap();
        assert_eq!(by_id.len(), 2);
        assert!(by_id.iter().all(|o| o.kind == KeyKind::Ed25519));

        let none = token.objects(&ObjectFilter::all().label("nope")).unwrap();
        assert!(none.is_empty());

        let from_uri = ObjectFilter::from_uri(&hsm.uri("object=signer-p256;type=public")).unwrap();
        let public = token.objects(&from_uri).unwrap();
        assert_eq!(public.len(), 1);
        assert_eq!(public[0].class, KeyClass::PublicKey);
        let all = ObjectFilter::from_uri(&hsm.uri("")).unwrap();
        assert_eq!(all, ObjectFilter::all());
        let err = ObjectFilter::from_uri(&hsm.uri("type=cert")).unwrap_err();
        assert!(
            matches!(err, tresor_pkcs11::Error::InvalidKeyName { .. }),
            "{err}"
        );
    });
}
