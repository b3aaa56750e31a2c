//! `Pkcs11SigningKey` and `Pkcs11NoteSigner` on a real SoftHSM2 token:
//! key pairs generated and reopened, public keys checked with `p256`,
//! HTTP requests signed in the token and verified by `tresor-httpsig`,
//! checkpoints signed in the token and opened as `tresor audit verify`
//! opens them, wrong keys, and concurrent signing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{SoftHsm, with_token};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use tresor_pkcs11::{Error, Pkcs11SigningKey, SignatureAlgorithm, SigningPublicKey};

const P256: SignatureAlgorithm = SignatureAlgorithm::EcdsaP256Sha256;
const ED25519: SignatureAlgorithm = SignatureAlgorithm::Ed25519;

fn generate(hsm: &SoftHsm, alg: SignatureAlgorithm, label: &str) -> Pkcs11SigningKey {
    Pkcs11SigningKey::generate(&hsm.token(), alg, label, None).unwrap()
}

/// The private key's attributes, read around `tresor-pkcs11`.
fn private_key_attributes(hsm: &SoftHsm, label: &str) -> (Vec<Attribute>, Vec<AttributeInfo>) {
    let session = hsm.raw_session();
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1);
    let attributes = session
        .get_attributes(
            found[0],
            &[
                AttributeType::EcParams,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Sign,
                AttributeType::Token,
                AttributeType::Id,
            ],
        )
        .unwrap();
    let value = session
        .get_attribute_info(found[0], &[AttributeType::Value])
        .unwrap();
    (attributes, value)
}

fn check_custody(hsm: &SoftHsm, key: &Pkcs11SigningKey, label: &str) {
    let custody = key.custody().unwrap();
    assert!(custody.never_leaves_token(), "{custody:?}");
    assert_eq!(custody.local, Some(true));
    let (attributes, value) = private_key_attributes(hsm, label);
    assert!(
        !matches!(value.first(), Some(AttributeInfo::Available(_))),
        "CKA_VALUE of the private key is readable: {value:?}"
    );
    for expected in [
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Token(true),
    ] {
        assert!(
            attributes.contains(&expected),
            "{expected:?} in {attributes:?}"
        );
    }
    assert!(
        attributes
            .iter()
            .any(|a| matches!(a, Attribute::Id(id) if id.len() == 16)),
        "a random 16-byte CKA_ID: {attributes:?}"
    );
}

#[test]
fn p256_key_pair_generated_reopened_and_validated() {
    with_token("p256_key_pair_generated_reopened_and_validated", |hsm| {
        let key = generate(hsm, P256, "api-client-2026");
        assert_eq!(key.algorithm(), P256);
        check_custody(hsm, &key, "api-client-2026");
        let (attributes, _) = private_key_attributes(hsm, "api-client-2026");
        assert!(attributes.contains(&Attribute::EcParams(vec![
            0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
        ])));

        // The public key: an uncompressed point on P-256, and an SPKI.
        let public = key.public_key();
        let raw = public.as_bytes();
        assert_eq!((raw.len(), raw[0]), (65, 0x04));
        let point = p256::PublicKey::from_sec1_bytes(raw).unwrap();
        use p256::pkcs8::DecodePublicKey as _;
        assert_eq!(
            p256::PublicKey::from_public_key_der(&public.to_spki_der()).unwrap(),
            point
        );
        let pem = public.to_spki_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        #[cfg(feature = "httpsig")]
        {
            let from_pem = tresor_httpsig::PublicKey::from_pem(&pem).unwrap();
            assert_eq!(from_pem, key.verifying_key().unwrap());
            assert_eq!(from_pem.thumbprint(), public.thumbprint());
            assert_eq!(
                tresor_httpsig::PublicKey::from_jwk(&public.to_jwk()).unwrap(),
                from_pem
            );
        }
        // The token's CKA_EC_POINT as a DER OCTET STRING and bare.
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend_from_slice(raw);
        assert_eq!(
            &SigningPublicKey::from_ec_point(P256, &wrapped).unwrap(),
            public
        );

        // Reopened by URI (as a service would): the same key.
        let again = Pkcs11SigningKey::open(&hsm.uri("object=api-client-2026")).unwrap();
        assert_eq!(again.algorithm(), P256);
        assert_eq!(again.public_key(), public);
        // And by type=private, and by the public key's type=public.
        for path in [
            "object=api-client-2026;type=private",
            "object=api-client-2026;type=public",
        ] {
            let by_type = Pkcs11SigningKey::open(&hsm.uri(path)).unwrap();
            assert_eq!(by_type.public_key(), public);
        }
        let debug = format!("{again:?}");
        assert!(debug.contains(&public.thumbprint()), "{debug}");

        // A label in use is never given to a second key.
        assert!(matches!(
            Pkcs11SigningKey::generate(&hsm.token(), ED25519, "api-client-2026", None),
            Err(Error::KeyExists { .. })
        ));
    });
}

#[test]
fn ed25519_key_pair_generated_reopened_and_validated() {
    with_token("ed25519_key_pair_generated_reopened_and_validated", |hsm| {
        let key = generate(hsm, ED25519, "audit-log-2026");
        assert_eq!(key.algorithm(), ED25519);
        check_custody(hsm, &key, "audit-log-2026");
        let (attributes, _) = private_key_attributes(hsm, "audit-log-2026");
        // SoftHSM2 2.6 refuses the RFC 8410 OID and takes the curve's
        // name, the PrintableString "edwards25519"; other tokens the OID.
        assert!(
            attributes.contains(&Attribute::EcParams(b"\x13\x0cedwards25519".to_vec()))
                || attributes.contains(&Attribute::EcParams(vec![0x06, 0x03, 0x2b, 0x65, 0x70])),
            "{attributes:?}"
        );
        let public = key.public_key();
        assert_eq!(public.as_bytes().len(), 32);
        let spki = public.to_spki_der();
        assert_eq!(spki.len(), 44);
        assert!(spki.ends_with(public.as_bytes()));

        // The signature verifies under the public key with ring, and is
        // deterministic (pure Ed25519).
        let signature = key.sign_message(b"hello").unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public.as_bytes())
            .verify(b"hello", &signature)
            .unwrap();
        assert_eq!(key.sign_message(b"hello").unwrap(), signature);

        let again = Pkcs11SigningKey::open(&hsm.uri("object=audit-log-2026")).unwrap();
        assert_eq!(again.public_key(), public);
    });
}

#[test]
fn ecdsa_signatures_verify_with_p256_and_fail_on_tampering() {
    with_token(
        "ecdsa_signatures_verify_with_p256_and_fail_on_tampering",
        |hsm| {
            use p256::ecdsa::signature::Verifier as _;

            let key = generate(hsm, P256, "p256");
            let verifying =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key.public_key().as_bytes()).unwrap();
            let base = signature_base();
            let signature = key.sign_message(&base).unwrap();
            assert_eq!(signature.len(), 64);
            let parsed = p256::ecdsa::Signature::from_slice(&signature).unwrap();
            verifying.verify(&base, &parsed).unwrap();
            // Randomised: two signatures differ, both verify.
            let second = key.sign_message(&base).unwrap();
            assert_ne!(second, signature);
            verifying
                .verify(&base, &p256::ecdsa::Signature::from_slice(&second).unwrap())
                .unwrap();

            let mut tampered = base.clone();
            tampered[10] ^= 1;
            assert!(verifying.verify(&tampered, &parsed).is_err());
            let mut bad = signature.clone();
            bad[40] ^= 1;
            if let Ok(bad) = p256::ecdsa::Signature::from_slice(&bad) {
                assert!(verifying.verify(&base, &bad).is_err());
            }
        },
    );
}

/// A typical RFC 9421 signature base (about 300 bytes).
fn signature_base() -> Vec<u8> {
    concat!(
        "\"@method\": POST\n",
        "\"@authority\": api.bank.example\n",
        "\"@path\": /v1/payments\n",
        "\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n",
        "\"content-type\": application/json\n",
        "\"content-length\": 18\n",
        "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" ",
        "\"content-type\" \"content-length\");created=1764000000;keyid=\"client-7\";alg=\"ecdsa-p256-sha256\""
    )
    .as_bytes()
    .to_vec()
}

#[cfg(feature = "httpsig")]
fn sign_and_verify_request(hsm: &SoftHsm, alg: SignatureAlgorithm) {
    use std::sync::Arc;
    use tresor_httpsig::{Algorithm, KeyMap, Policy, Signer, Verifier};

    let key = generate(hsm, alg, "http-client");
    let verifying = key.verifying_key().unwrap();
    let key_id = verifying.thumbprint();
    let mut registry = KeyMap::new();
    registry.insert(key_id.clone(), verifying);
    let verifier = Verifier::new(Arc::new(registry), Policy::new().require_nonce(true));

    let mut request = http::Request::post("https://api.bank.example/v1/payments")
        .header("content-type", "application/json")
        .body(br#"{"amount":"120.00","currency":"EUR"}"#.to_vec())
        .unwrap();
    Signer::new(Arc::new(key), key_id.clone())
        .random_nonce()
        .sign_request(&mut request)
        .unwrap();
    let verified = verifier.verify_request(&request).unwrap();
    assert_eq!(verified.key_id(), key_id);
    assert_eq!(verified.algorithm(), Algorithm::from(alg));
    assert!(verified.body_checked());

    // A changed body fails its digest; a changed path fails the signature.
    let mut altered = request.clone();
    *altered.body_mut() = br#"{"amount":"9120.00","currency":"EUR"}"#.to_vec();
    assert!(matches!(
        verifier.verify_request(&altered),
        Err(tresor_httpsig::Error::DigestMismatch { .. })
    ));
    let mut moved = request.clone();
    *moved.uri_mut() = "https://api.bank.example/v1/refunds".parse().unwrap();
    assert!(matches!(
        verifier.verify_request(&moved),
        Err(tresor_httpsig::Error::BadSignature)
    ));
}

#[cfg(feature = "httpsig")]
#[test]
fn hsm_signed_request_verifies_ecdsa_p256() {
    with_token("hsm_signed_request_verifies_ecdsa_p256", |hsm| {
        sign_and_verify_request(hsm, P256);
    });
}

#[cfg(feature = "httpsig")]
#[test]
fn hsm_signed_request_verifies_ed25519() {
    with_token("hsm_signed_request_verifies_ed25519", |hsm| {
        sign_and_verify_request(hsm, ED25519);
    });
}

#[test]
fn wrong_key_types_are_clear_errors() {
    with_token("wrong_key_types_are_clear_errors", |hsm| {
        let token = hsm.token();
        generate(hsm, P256, "ec-key");

        // An EC key asked for as Ed25519.
        let err = Pkcs11SigningKey::builder(&token)
            .label("ec-key")
            .algorithm(ED25519)
            .open()
            .unwrap_err();
        assert!(matches!(err, Error::WrongKeyType { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("Ed25519") && message.contains("ecdsa-p256-sha256 private key"),
            "{message}"
        );
        #[cfg(feature = "audit")]
        {
            let key = Pkcs11SigningKey::open(&hsm.uri("object=ec-key")).unwrap();
            let err = tresor_pkcs11::Pkcs11NoteSigner::new(key, "log").unwrap_err();
            assert!(matches!(err, Error::WrongKeyType { .. }), "{err:?}");
        }

        // An AES key is no signing key.
        let session = hsm.raw_session();
        session
            .generate_key(
                &cryptoki::mechanism::Mechanism::AesKeyGen,
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::ValueLen(32.into()),
                    Attribute::Label(b"aes-key".to_vec()),
                ],
            )
            .unwrap();
        let err = Pkcs11SigningKey::open(&hsm.uri("object=aes-key")).unwrap_err();
        assert!(matches!(err, Error::WrongKeyType { .. }), "{err:?}");
        assert!(err.to_string().contains("CKK_AES secret key"), "{err}");

        // No such key; a secret-key URI type.
        assert!(matches!(
            Pkcs11SigningKey::open(&hsm.uri("object=nothing")),
            Err(Error::KeyNotFound { .. })
        ));
        assert!(matches!(
            Pkcs11SigningKey::open(&hsm.uri("object=ec-key;type=secret-key")),
            Err(Error::InvalidKeyName { .. })
        ));
    });
}

#[test]
fn extractable_private_keys_are_refused_unless_allowed() {
    with_token(
        "extractable_private_keys_are_refused_unless_allowed",
        |hsm| {
            let session = hsm.raw_session();
            let name = || Attribute::Label(b"soft-key".to_vec());
            session
                .generate_key_pair(
                    &cryptoki::mechanism::Mechanism::EccKeyPairGen,
                    &[
                        Attribute::Token(true),
                        Attribute::Verify(true),
                        Attribute::EcParams(vec![
                            0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                        ]),
                        name(),
                    ],
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(false),
                        Attribute::Extractable(true),
                        Attribute::Sign(true),
                        name(),
                    ],
                )
                .unwrap();
            let token = hsm.token();
            assert!(matches!(
                Pkcs11SigningKey::open(&hsm.uri("object=soft-key")),
                Err(Error::KeyExtractable { .. })
            ));
            let key = Pkcs11SigningKey::builder(&token)
                .label("soft-key")
                .allow_extractable(true)
                .open()
                .unwrap();
            assert!(!key.custody().unwrap().never_leaves_token());
            assert_eq!(key.sign_message(b"m").unwrap().len(), 64);
        },
    );
}

#[cfg(feature = "audit")]
#[test]
fn hsm_signed_checkpoint_opens_as_tresor_audit_verify_opens_it() {
    with_token(
        "hsm_signed_checkpoint_opens_as_tresor_audit_verify_opens_it",
        |hsm| {
            use tresor_audit::{
                Actor, AuditLog, AuditRecord, Checkpoint, MemoryStore, NoteSign, NoteSigner,
                NoteVerifier, Outcome, Timestamp, verify_log,
            };
            use tresor_pkcs11::Pkcs11NoteSigner;

            const ORIGIN: &str = "audit.bank.example/log";
            generate(hsm, ED25519, "audit-log-2026");
            let signer = Pkcs11NoteSigner::open(&hsm.uri("object=audit-log-2026"), ORIGIN).unwrap();
            assert_eq!(signer.name(), ORIGIN);
            assert_eq!(signer.public_key(), signer.key().public_key().as_bytes());

            let mut log = AuditLog::open(MemoryStore::new()).unwrap();
            for i in 0..5 {
                let record = AuditRecord::builder()
                    .timestamp(Timestamp::from_unix(1_764_000_000 + i, 0).unwrap())
                    .actor(Actor::new("client", "client-7").unwrap())
                    .action("payment.create")
                    .resource("accounts/DE89370400440532013000")
                    .outcome(Outcome::Allowed)
                    .request_id(format!("req-{i}"))
                    .source("10.0.0.7")
                    .build()
                    .unwrap();
                log.append(&record).unwrap();
            }
            let checkpoint = Checkpoint::new(ORIGIN, log.size(), log.root()).unwrap();
            let witness = NoteSigner::generate("witness.example").unwrap();
            let note = checkpoint.sign_with(&[&signer, &witness]).unwrap();

            // The auditor has only the verifier key string (as given to
            // `tresor audit verify --key`).
            let vkey = signer.verifier().to_key_string();
            let verifier = NoteVerifier::from_key_string(&vkey).unwrap();
            assert_eq!(verifier.key_hash(), NoteSign::key_hash(&signer));
            let opened = Checkpoint::open(&note, std::slice::from_ref(&verifier), ORIGIN).unwrap();
            assert_eq!(opened, checkpoint);
            let report = verify_log(
                log.store(),
                Some((&note, std::slice::from_ref(&verifier), ORIGIN)),
            )
            .unwrap();
            assert_eq!(report.size, 5);

            // The same key as an in-memory signer would write the same
            // line: Ed25519 is deterministic.
            let line = note
                .lines()
                .find(|l| l.contains(ORIGIN) && l.starts_with('\u{2014}'));
            assert!(line.is_some(), "{note}");

            // Tampering with the signed text fails.
            let tampered = note.replacen("\n5\n", "\n4\n", 1);
            assert!(Checkpoint::open(&tampered, &[verifier], ORIGIN).is_err());
        },
    );
}

#[cfg(feature = "httpsig")]
#[test]
fn eight_threads_sign_at_once() {
    with_token("eight_threads_sign_at_once", |hsm| {
        use tresor_httpsig::{SigningKey, VerifyingKey};

        for alg in [P256, ED25519] {
            let key = generate(hsm, alg, &format!("concurrent-{alg}"));
            let verifying = key.verifying_key().unwrap();
            std::thread::scope(|scope| {
                for t in 0..8u8 {
                    let (key, verifying) = (&key, &verifying);
                    scope.spawn(move || {
                        for i in 0..25u8 {
                            let base = [b"base ".as_slice(), &[t, i]].concat();
                            let signature = SigningKey::sign(key, &base).unwrap();
                            verifying.verify(&base, &signature).unwrap();
                        }
                    });
                }
            });
            assert!(key.token().session_stats().opened <= 8 + 2);
        }
    });
}

#[cfg(feature = "httpsig")]
#[test]
fn a_key_deleted_under_a_running_signer_is_an_error_not_a_panic() {
    with_token(
        "a_key_deleted_under_a_running_signer_is_an_error_not_a_panic",
        |hsm| {
            use tresor_httpsig::SigningKey;

            let key = generate(hsm, P256, "short-lived");
            SigningKey::sign(&key, b"before").unwrap();
            let session = hsm.raw_session();
            for handle in session
                .find_objects(&[Attribute::Label(b"short-lived".to_vec())])
                .unwrap()
            {
                session.destroy_object(handle).unwrap();
            }
            // The remembered handle is stale, then the key is not found:
            // errors both, never a signature.
            let first = SigningKey::sign(&key, b"after");
            assert!(first.is_err(), "{first:?}");
            let second = SigningKey::sign(&key, b"after").unwrap_err();
            assert!(
                matches!(second, tresor_httpsig::Error::Signing { .. }),
                "{second:?}"
            );
            assert!(
                std::error::Error::source(&second)
                    .is_some_and(|s| s.to_string().contains("key not found")),
                "{second:?}"
            );
        },
    );
}

#[cfg(all(feature = "httpsig", feature = "audit"))]
#[test]
fn a_token_gone_mid_run_is_an_outage_for_httpsig_and_audit() {
    with_token(
        "a_token_gone_mid_run_is_an_outage_for_httpsig_and_audit",
        |hsm| {
            use std::sync::Arc;
            use tresor_audit::{Checkpoint, NoteSign};
            use tresor_httpsig::{Signer, SigningKey};
            use tresor_pkcs11::Pkcs11NoteSigner;

            let key = Arc::new(generate(hsm, P256, "client-outage"));
            let note_key = generate(hsm, ED25519, "log-outage");
            let note_signer = Pkcs11NoteSigner::new(note_key, "log.example").unwrap();
            SigningKey::sign(&*key, b"before").unwrap();
            NoteSign::sign(&note_signer, b"before\n").unwrap();

            // SoftHSM2 keeps its tokens as files: without them, every call
            // fails (see sessions.rs, the_token_directory_removed_mid_run).
            let away = hsm.dir().join("tokens.away");
            std::fs::rename(hsm.token_dir(), &away).unwrap();
            for attempt in 0..3 {
                let err = SigningKey::sign(&*key, b"during").unwrap_err();
                assert!(err.is_unavailable(), "attempt {attempt}: {err:?}");
                let tresor_httpsig::Error::Unavailable { what, source } = &err else {
                    panic!("not Unavailable: {err:?}");
                };
                assert_eq!(*what, "PKCS#11 signing key");
                let ours = source
                    .downcast_ref::<Error>()
                    .expect("the source is tresor-pkcs11's error");
                assert!(ours.is_unavailable(), "{ours}");

                let mut request = http::Request::get("https://api.bank.example/v1/accounts")
                    .body(Vec::<u8>::new())
                    .unwrap();
                let err = Signer::new(key.clone(), "client-7")
                    .sign_request(&mut request)
                    .unwrap_err();
                assert!(err.is_unavailable(), "{err:?}");
                assert!(request.headers().get("signature").is_none());

                let checkpoint = Checkpoint::new("log.example", 1, [1; 32]).unwrap();
                let err = checkpoint.sign_with(&[&note_signer]).unwrap_err();
                assert!(
                    matches!(&err, tresor_audit::Error::Signing { key_name, .. } if key_name == "log.example"),
                    "{err:?}"
                );
            }
            std::fs::rename(&away, hsm.token_dir()).unwrap();
        },
    );
}

#[test]
fn a_missing_mechanism_says_so() {
    let err = Error::MechanismNotSupported {
        mechanism: "CKM_EDDSA",
        token: "token=tresor".into(),
    };
    assert_eq!(
        err.to_string(),
        "mechanism not supported by token token=tresor: CKM_EDDSA"
    );
    assert!(!err.is_unavailable());
}
