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

/// 16 threads on a token capped at 2 sessions: the pool never has more
/// than 2 open (its own count, and the token's where SoftHSM2 reports
/// one), callers queue, and all the work completes.
#[test]
fn sixteen_threads_share_two_sessions() {
    with_token("sixteen_threads_share_two_sessions", |hsm| {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;

        let options = TokenOptions::new()
            .max_sessions(2)
            .session_wait(Duration::from_secs(30));
        let token = Token::open_with(&hsm.uri(""), options).unwrap();
        let kek = Arc::new(Pkcs11Kek::generate(&token, "kek-capped", None).unwrap());

        // The token's own count of this process's sessions
        // (`CK_TOKEN_INFO.ulSessionCount`), sampled while the threads run;
        // a token that does not report it leaves the pool's count.
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let done = Arc::clone(&done);
            let module = hsm.module().to_owned();
            std::thread::spawn(move || {
                use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
                let pkcs11 = Pkcs11::new(module).unwrap();
                let _ = pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
                let slot = pkcs11.get_slots_with_token().unwrap()[0];
                let mut peak = None::<u64>;
                while !done.load(Ordering::Relaxed) {
                    if let Some(count) = pkcs11.get_token_info(slot).unwrap().session_count() {
                        peak = Some(peak.unwrap_or(0).max(count));
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                peak
            })
        };

        let threads: Vec<_> = (0..16u8)
            .map(|t| {
                let kek = Arc::clone(&kek);
                std::thread::spawn(move || {
                    let dek = DataKey::generate().unwrap();
                    for i in 0..25u8 {
                        let aad = [t, i];
                        let wrapped = kek.wrap(&dek, &aad).unwrap();
                        let back = kek.unwrap(&wrapped, &aad).unwrap();
                        assert_eq!(back.expose_secret(), dek.expose_secret());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let token_peak = sampler.join().unwrap();

        let stats = token.session_stats();
        println!("{stats:?}; the token's own session count peaked at {token_peak:?}");
        assert!(stats.peak <= 2, "{stats:?}");
        assert!(stats.open <= 2, "{stats:?}");
        if let Some(peak) = token_peak {
            assert!(peak <= 2, "the token saw {peak} sessions");
        }
        assert_eq!(stats.timed_out, 0, "{stats:?}");
        assert_eq!(stats.discarded, 0, "{stats:?}");
        assert!(
            stats.waited > 0,
            "16 threads on 2 sessions never waited: {stats:?}"
        );
    });
}

/// A cap of one session and no wait: callers that find the session busy
/// fail at once with `SessionsExhausted`, an outage (never `Decrypt`), and
/// the pool still never opens a second session.
#[test]
fn callers_beyond_the_cap_fail_as_an_outage() {
    with_token("callers_beyond_the_cap_fail_as_an_outage", |hsm| {
        use std::time::Duration;

        let options = TokenOptions::new()
            .max_sessions(1)
            .session_wait(Duration::ZERO);
        let token = Token::open_with(&hsm.uri(""), options).unwrap();
        let kek = Arc::new(Pkcs11Kek::generate(&token, "kek-cap-1", None).unwrap());
        let dek = DataKey::generate().unwrap();
        let wrapped = Arc::new(kek.wrap(&dek, b"aad").unwrap());

        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (kek, wrapped) = (Arc::clone(&kek), Arc::clone(&wrapped));
                std::thread::spawn(move || {
                    let mut refused = 0u32;
                    for _ in 0..200 {
                        if let Err(err) = kek.unwrap(&wrapped, b"aad") {
                            let ours = outage(&err);
                            assert!(
                                matches!(ours, Error::SessionsExhausted { max: 1, .. }),
                                "{ours}"
                            );
                            refused += 1;
                        }
                    }
                    refused
                })
            })
            .collect();
        let refused: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let stats = token.session_stats();
        println!("{refused} calls refused; {stats:?}");
        assert_eq!(stats.peak, 1, "{stats:?}");
        assert_eq!(u64::from(refused), stats.timed_out, "{stats:?}");
        // And the token works once the crowd is gone.
        let back = kek.unwrap(&wrapped, b"aad").unwrap();
        assert_eq!(back.expose_secret(), dek.expose_secret());
    });
}
