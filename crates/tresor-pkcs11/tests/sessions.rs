//! The session pool under load and through failures: reuse, 16 threads at
//! once, a token logged out behind the pool's back, and the token's
//! directory taken away mid-run.

#![cfg(feature = "envelope")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::with_token;
use tresor_envelope::{Context, DataKey, Envelope, KeyEncryptionKey, Keyring};
use tresor_pkcs11::{Error, Pkcs11Kek, Token, TokenOptions};

/// The crate's error inside an envelope error, which must be an outage:
/// never `Decrypt`, never a panic.
fn outage(err: &tresor_envelope::Error) -> &Error {
    let tresor_envelope::Error::Kek { source, .. } = err else {
        panic!("an outage reported as {err:?}");
    };
    let ours = source
        .downcast_ref::<Error>()
        .unwrap_or_else(|| panic!("not a tresor-pkcs11 error: {source}"));
    assert!(ours.is_unavailable(), "not an outage: {ours}");
    ours
}

#[test]
fn sessions_are_reused() {
    with_token("sessions_are_reused", |hsm| {
        let token =
            Token::open_with(&hsm.uri(""), TokenOptions::new().max_idle_sessions(1)).unwrap();
        let kek = Pkcs11Kek::generate(&token, "kek-reuse", None).unwrap();
        let dek = DataKey::generate().unwrap();
        for _ in 0..50 {
            let wrapped = kek.wrap(&dek, b"aad").unwrap();
            kek.unwrap(&wrapped, b"aad").unwrap();
        }
        let stats = token.session_stats();
        // One pooled session for everything, plus the read-write session
        // that generated the key.
        assert_eq!(stats.opened, 2, "{stats:?}");
        assert_eq!(stats.idle, 1, "{stats:?}");
        assert_eq!(stats.discarded, 0, "{stats:?}");
    });
}

#[test]
fn sixteen_threads_seal_and_open_at_once() {
    with_token("sixteen_threads_seal_and_open_at_once", |hsm| {
        let token = hsm.token();
        let kek = Pkcs11Kek::generate(&token, "kek-threads", None).unwrap();
        let envelope = Arc::new(Envelope::new(Keyring::with_primary(kek).unwrap()));
        let threads: Vec<_> = (0..16u8)
            .map(|t| {
                let envelope = Arc::clone(&envelope);
                std::thread::spawn(move || {
                    let ctx = Context::from_pairs([("thread", t.to_string())]).unwrap();
                    for i in 0..20 {
                        let record = format!("thread {t} record {i}");
                        let sealed = envelope.seal_to_vec(record.as_bytes(), &ctx).unwrap();
                        assert_eq!(
                            envelope.open_to_vec(&sealed, &ctx).unwrap(),
                            record.as_bytes()
                        );
                    }
                    let data = vec![t; 100_000];
                    let mut sealed = Vec::new();
                    envelope.seal(&data[..], &mut sealed, &ctx).unwrap();
                    let mut opened = Vec::new();
                    envelope.open(&sealed[..], &mut opened, &ctx).unwrap();
                    assert_eq!(opened, data);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let stats = token.session_stats();
        // At most one session per thread at a time, plus the one `open`
        // logged in and the one that generated the key.
        assert!(stats.opened <= 18, "{stats:?}");
        assert_eq!(stats.discarded, 0, "{stats:?}");
        assert!(stats.idle <= 16, "{stats:?}");
    });
}

#[test]
fn a_token_logged_out_behind_the_pool_recovers() {
    with_token("a_token_logged_out_behind_the_pool_recovers", |hsm| {
        let token = hsm.token();
        let kek = Pkcs11Kek::generate(&token, "kek-logout", None).unwrap();
        let dek = DataKey::generate().unwrap();
        let wrapped = kek.wrap(&dek, b"aad").unwrap();

        // Login state belongs to the whole application: logging out one
        // session logs out the pooled ones too.
        let raw = hsm.raw_session();
        raw.logout().unwrap();

        // The next call may fail (its session is no longer logged in); it
        // fails as an outage, and the one after it succeeds.
        match kek.unwrap(&wrapped, b"aad") {
            Ok(key) => assert_eq!(key.expose_secret(), dek.expose_secret()),
            Err(err) => {
                println!("first call after logout: {err}");
                let _ = outage(&err);
            }
        }
        let key = kek.unwrap(&wrapped, b"aad").unwrap();
        assert_eq!(key.expose_secret(), dek.expose_secret());
        kek.wrap(&dek, b"aad").unwrap();
        drop(raw);
    });
}

/// The token's directory disappears while the service runs, and comes
/// back.
///
/// SoftHSM2 2.6 fixes its slot list at `C_Initialize` and never takes
/// back a token it has once seen vanish: after the directory is restored,
/// the token stays invisible to that process (`C_GetTokenInfo` keeps
/// failing with `CKR_GENERAL_ERROR`) until the module is initialised again
/// in a new process. So the test checks what can be checked faithfully:
///
/// 1. while the directory is gone, every seal, open and token lookup fails
///    cleanly, as an outage (never `Decrypt`, never a panic, never a
///    hang), and the pool throws its sessions away;
/// 2. after the directory is restored, this process either works again
///    (a SoftHSM2 that rescans would) or keeps failing cleanly;
/// 3. a new process on the restored directory opens what was sealed before
///    the outage, and seals and opens again.
///
/// The pool's own recovery (drop the sessions, find the slot again, log in
/// a new session) is tested in-process by
/// `a_token_logged_out_behind_the_pool_recovers`.
#[test]
fn the_token_directory_removed_mid_run() {
    with_token("the_token_directory_removed_mid_run", |hsm| {
        let ctx = Context::from_pairs([("tenant", "acme")]).unwrap();
        let saved = hsm.dir().join("sealed-before-outage.bin");
        if hsm.phase() == 2 {
            let kek = Pkcs11Kek::open(&hsm.uri("object=kek-outage")).unwrap();
            let envelope = Envelope::new(Keyring::with_primary(kek).unwrap());
            let sealed = std::fs::read(&saved).unwrap();
            assert_eq!(
                envelope.open_to_vec(&sealed, &ctx).unwrap(),
                b"before the outage"
            );
            let after = envelope.seal_to_vec(b"after the outage", &ctx).unwrap();
            assert_eq!(
                envelope.open_to_vec(&after, &ctx).unwrap(),
                b"after the outage"
            );
            return;
        }

        let token = hsm.token();
        let kek = Pkcs11Kek::generate(&token, "kek-outage", None).unwrap();
        let envelope = Envelope::new(Keyring::with_primary(kek).unwrap());
        let sealed = envelope.seal_to_vec(b"before the outage", &ctx).unwrap();
        std::fs::write(&saved, &sealed).unwrap();

        let away = hsm.dir().join("tokens.away");
        std::fs::rename(hsm.token_dir(), &away).unwrap();
        for attempt in 0..3 {
            let err = envelope
                .seal_to_vec(b"during the outage", &ctx)
                .unwrap_err();
            println!("seal {attempt} during the outage: {}", outage(&err));
            let err = envelope.open_to_vec(&sealed, &ctx).unwrap_err();
            println!("open {attempt} during the outage: {}", outage(&err));
        }
        assert!(
            token.session_stats().discarded >= 1,
            "{:?}",
            token.session_stats()
        );
        let err = Token::open(&hsm.uri("")).unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        println!("opening the token during the outage: {err}");

        std::fs::rename(&away, hsm.token_dir()).unwrap();
        match envelope.open_to_vec(&sealed, &ctx) {
            Ok(opened) => assert_eq!(opened, b"before the outage"),
            Err(err) => println!("after the restore, in this process: {}", outage(&err)),
        }

        hsm.run_phase(2);
    });
}
