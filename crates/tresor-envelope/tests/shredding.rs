//! Crypto-shredding with a key-encryption key per data subject: a guide, and
//! the tests that hold the library to it.
//!
//! # The pattern
//!
//! GDPR erasure ("right to be forgotten") must reach every copy of a
//! person's data, backups included. Rewriting backups is rarely possible;
//! destroying a key is. So:
//!
//! 1. **One service KEK** is the keyring's primary and seals everything that
//!    is not personal data. Create it first: the first key added to a
//!    keyring becomes its primary.
//! 2. **One KEK per data subject** is added next to it (`Keyring::add`,
//!    never made primary). Give it an id that is never issued again, for
//!    instance `subject-<subject id>` or `LocalKek::random_id()` kept in the
//!    subject's row; in production it is a KMS or HSM key.
//! 3. **Seal each subject's records under the subject's KEK**, naming it
//!    explicitly: `SealOptions::new().kek("subject-b")`. Put the subject in
//!    the `Context` as well (`("subject", "b")`) so a record cannot be
//!    passed off as another subject's.
//! 4. **To erase a subject**, call `Envelope::destroy_kek("subject-b")` on
//!    every live `Envelope` (it drops the key and every data key cached for
//!    it), then destroy the key at its source: delete the key file, schedule
//!    the KMS key's deletion, destroy the HSM object. A keyring built later
//!    (from the remaining key files) can call `Keyring::destroy` first, so
//!    that opening the subject's data says `KekDestroyed` instead of
//!    `UnknownKek`.
//!
//! After that, every record of the subject, in the database and in every
//! backup, fails to open with `Error::KekDestroyed` (or `UnknownKek` where the
//! keyring never knew the key); other subjects and service data are
//! untouched; the destroyed id cannot be added again (`DuplicateKek`).
//!
//! # Pitfalls
//!
//! - `Keyring::destroy` acts on one keyring. A snapshot taken earlier with
//!   `Envelope::keyring()`, a clone, or another process's keyring still
//!   holds the key until it is dropped or destroyed there too (see
//!   `a_keyring_snapshot_taken_before_destroy_still_holds_the_key`).
//! - Never back up subject key files with the data, and never rewrap a
//!   subject's records to the service key: either escapes the shredding.
//! - A fresh keyring does not remember destroyed ids: if a new key is issued
//!   under an old subject id, the old records still do not open (another
//!   key), but reusing ids hides the erasure, so do not.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{ctx, header, kek, open_stream, with_key_section};
use tresor_envelope::{
    Context, Envelope, Error, KekState, Keyring, LocalKek, OpenCacheLimits, SealCacheLimits,
    SealOptions,
};

const SUBJECTS: [&str; 3] = ["a", "b", "c"];

fn subject_kek_id(subject: &str) -> String {
    format!("subject-{subject}")
}

fn subject_context(subject: &str) -> Context {
    ctx(&[("subject", subject), ("table", "customers")])
}

fn service_context() -> Context {
    ctx(&[("table", "settings")])
}

/// One subject's sealed records: some by record, one by stream.
struct Records {
    subject: &'static str,
    sealed: Sealed,
}

/// A keyring with the service primary and one key per subject.
fn keyring() -> Keyring {
    let mut keyring = Keyring::with_primary(kek("service")).unwrap();
    for subject in SUBJECTS {
        keyring.add(kek(&subject_kek_id(subject))).unwrap();
    }
    assert_eq!(keyring.primary_id(), Some("service"));
    keyring
}

/// Plaintexts and their sealed messages.
type Sealed = Vec<(Vec<u8>, Vec<u8>)>;

/// Seals each subject's records under its own key, and some service records
/// under the primary.
fn seal_everything(envelope: &Envelope) -> (Vec<Records>, Sealed) {
    let records = SUBJECTS
        .iter()
        .map(|&subject| {
            let options = SealOptions::new().kek(subject_kek_id(subject));
            let context = subject_context(subject);
            let mut sealed = Vec::new();
            for field in ["email", "iban", "address"] {
                let plain = format!("{field} of {subject}").into_bytes();
                let message = envelope
                    .seal_to_vec_with(&plain, &context, &options)
                    .unwrap();
                assert_eq!(header(&message).kek_id(), subject_kek_id(subject));
                sealed.push((plain, message));
            }
            let plain = vec![subject.as_bytes()[0]; 100_000];
            let mut message = Vec::new();
            envelope
                .seal_with(&plain[..], &mut message, &context, &options)
                .unwrap();
            sealed.push((plain, message));
            Records { subject, sealed }
        })
        .collect();
    let service = (0..3)
        .map(|i| {
            let plain = format!("setting {i}").into_bytes();
            let message = envelope.seal_to_vec(&plain, &service_context()).unwrap();
            assert_eq!(header(&message).kek_id(), "service");
            (plain, message)
        })
        .collect();
    (records, service)
}

/// Asserts that subject `b` is shredded and everything else still opens.
fn assert_only_b_shredded(envelope: &Envelope, records: &[Records], service: &Sealed) {
    for Records { subject, sealed } in records {
        let context = subject_context(subject);
        for (plain, message) in sealed {
            if *subject == "b" {
                let is_destroyed = |err: &Error| matches!(err, Error::KekDestroyed { key_id } if key_id == "subject-b");
                let err = envelope.open_to_vec(message, &context).unwrap_err();
                assert!(is_destroyed(&err), "{err:?}");
                let err = open_stream(envelope, message, &context).unwrap_err();
                assert!(is_destroyed(&err), "{err:?}");
                // Nor can it be moved to a surviving key.
                let err = envelope
                    .rewrap_to_vec(message, Some("service"))
                    .unwrap_err();
                assert!(is_destroyed(&err), "{err:?}");
            } else {
                assert_eq!(&envelope.open_to_vec(message, &context).unwrap(), plain);
                assert_eq!(&open_stream(envelope, message, &context).unwrap(), plain);
            }
        }
    }
    for (plain, message) in service {
        assert_eq!(
            &envelope.open_to_vec(message, &service_context()).unwrap(),
            plain
        );
    }
    // The subject's key cannot seal again, and its id cannot come back.
    let err = envelope
        .seal_to_vec_with(
            b"new data",
            &subject_context("b"),
            &SealOptions::new().kek("subject-b"),
        )
        .unwrap_err();
    assert!(matches!(err, Error::KekDestroyed { .. }), "{err:?}");
    let err = envelope
        .update_keyring(|k| k.add(kek("subject-b")))
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateKek { key_id } if key_id == "subject-b"),
        "{err:?}"
    );
    let keyring = envelope.keyring();
    assert_eq!(keyring.state("subject-b"), Some(KekState::Destroyed));
    assert!(keyring.ids().all(|id| id != "subject-b"));
    assert_eq!(keyring.primary_id(), Some("service"));
    // New data for the other subjects still goes under their own keys.
    let sealed = envelope
        .seal_to_vec_with(
            b"new",
            &subject_context("c"),
            &SealOptions::new().kek("subject-c"),
        )
        .unwrap();
    assert_eq!(header(&sealed).kek_id(), "subject-c");
}

#[test]
fn destroying_a_subject_key_shreds_only_that_subject() {
    let envelope = Envelope::new(keyring());
    let (records, service) = seal_everything(&envelope);
    envelope.destroy_kek("subject-b").unwrap();
    assert_only_b_shredded(&envelope, &records, &service);

    // Destroying twice says it is gone.
    let err = envelope.destroy_kek("subject-b").unwrap_err();
    assert!(matches!(err, Error::KekDestroyed { .. }), "{err:?}");
}

#[test]
fn a_keyring_destroyed_before_building_the_envelope_shreds_too() {
    let sealer = Envelope::new(keyring());
    let (records, service) = seal_everything(&sealer);

    // The same keys in a new keyring, with subject b destroyed in it.
    let mut keyring = sealer.keyring();
    keyring.destroy("subject-b").unwrap();
    assert_eq!(keyring.state("subject-b"), Some(KekState::Destroyed));
    let err = keyring.add(kek("subject-b")).unwrap_err();
    assert!(matches!(err, Error::DuplicateKek { .. }), "{err:?}");
    drop(sealer);

    let envelope = Envelope::new(keyring);
    assert_only_b_shredded(&envelope, &records, &service);
}

#[test]
fn cached_data_keys_do_not_survive_destroy() {
    let envelope = Envelope::builder(keyring())
        .seal_cache(SealCacheLimits::new(
            Duration::from_secs(600),
            1000,
            1 << 30,
        ))
        .open_cache(OpenCacheLimits::new(Duration::from_secs(600), 64))
        .build()
        .unwrap();
    let (records, service) = seal_everything(&envelope);
    // Open everything once, so every data key is cached, b's included.
    for Records { subject, sealed } in &records {
        for (plain, message) in sealed {
            let opened = envelope
                .open_to_vec(message, &subject_context(subject))
                .unwrap();
            assert_eq!(&opened, plain);
        }
    }
    let (sealing, opening) = envelope.cached_keys();
    // Records of one subject share a cached sealing key; streams have their own.
    assert_eq!(sealing, SUBJECTS.len() + 1);
    assert_eq!(opening, 2 * SUBJECTS.len());

    envelope.destroy_kek("subject-b").unwrap();
    assert_eq!(envelope.cached_keys(), (sealing - 1, opening - 2));
    assert_only_b_shredded(&envelope, &records, &service);
}

/// Saves every key of `keyring`'s subjects and service to `dir`, one file
/// per key, as a deployment would keep them (a KMS, in production).
fn save_keys(dir: &Path) -> Keyring {
    let mut keyring = Keyring::new();
    for id in ["service", "subject-a", "subject-b", "subject-c"] {
        let kek = LocalKek::generate(id).unwrap();
        kek.save(dir.join(format!("{id}.key"))).unwrap();
        keyring.add(kek).unwrap();
    }
    assert_eq!(keyring.primary_id(), Some("service"));
    keyring
}

/// A keyring from every key file left in `dir`, service first.
fn load_keys(dir: &Path) -> Keyring {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort_by_key(|p| !p.ends_with("service.key"));
    let mut keyring = Keyring::new();
    for path in paths {
        keyring.add(LocalKek::load(&path).unwrap()).unwrap();
    }
    assert_eq!(keyring.primary_id(), Some("service"));
    keyring
}

#[test]
fn backups_taken_before_destroy_are_unreadable_after_it() {
    let keys = tempfile::tempdir().unwrap();
    let envelope = Envelope::new(save_keys(keys.path()));
    let (records, service) = seal_everything(&envelope);

    // The nightly backup: a byte copy of everything, taken before erasure.
    let backup: Vec<(&str, Vec<u8>, Vec<u8>)> = records
        .iter()
        .flat_map(|r| {
            r.sealed
                .iter()
                .map(|(plain, message)| (r.subject, plain.clone(), message.clone()))
        })
        .collect();

    // Erasure: the live envelope and the key's source.
    envelope.destroy_kek("subject-b").unwrap();
    std::fs::remove_file(keys.path().join("subject-b.key")).unwrap();
    drop(envelope);

    // A restore: a new envelope given every remaining key file.
    let restored = Envelope::new(load_keys(keys.path()));
    let survivors: Vec<String> = restored.keyring().ids().map(str::to_owned).collect();
    assert_eq!(survivors, ["service", "subject-a", "subject-c"]);
    for (subject, plain, message) in &backup {
        let context = subject_context(subject);
        if *subject != "b" {
            assert_eq!(&restored.open_to_vec(message, &context).unwrap(), plain);
            continue;
        }
        let err = restored.open_to_vec(message, &context).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownKek { key_id } if key_id == "subject-b"),
            "{err:?}"
        );
        assert!(restored.rewrap_to_vec(message, None).is_err());
        // Relabelling the key section for any surviving key does not help.
        let wrapped = header(message).wrapped_dek().to_vec();
        for id in &survivors {
            let relabelled = with_key_section(message, id.as_bytes(), &wrapped);
            let err = restored.open_to_vec(&relabelled, &context).unwrap_err();
            assert!(matches!(err, Error::Decrypt), "as {id}: {err:?}");
            let err = restored.rewrap_to_vec(&relabelled, None).unwrap_err();
            assert!(matches!(err, Error::Decrypt), "as {id}: {err:?}");
        }
    }
    for (plain, message) in &service {
        assert_eq!(
            &restored.open_to_vec(message, &service_context()).unwrap(),
            plain
        );
    }

    // Marking the id destroyed in the restored keyring gives the precise error.
    let mut keyring = load_keys(keys.path());
    keyring.add(kek("subject-b")).unwrap();
    keyring.destroy("subject-b").unwrap();
    let marked = Envelope::new(keyring);
    let (_, _, message) = backup.iter().find(|(s, _, _)| *s == "b").unwrap();
    let err = marked
        .open_to_vec(message, &subject_context("b"))
        .unwrap_err();
    assert!(matches!(err, Error::KekDestroyed { .. }), "{err:?}");

    // Even a new key issued under the old id (which a fresh keyring cannot
    // refuse) does not open the backup.
    let mut reissued = load_keys(keys.path());
    reissued.add(kek("subject-b")).unwrap();
    let reissued = Envelope::new(reissued);
    for (subject, _, message) in backup.iter().filter(|(s, _, _)| *s == "b") {
        let err = reissued
            .open_to_vec(message, &subject_context(subject))
            .unwrap_err();
        assert!(matches!(err, Error::Decrypt), "{err:?}");
    }
}

#[test]
fn destroying_one_subject_never_touches_keys_it_did_not_name() {
    let envelope = Envelope::new(keyring());
    let (records, _) = seal_everything(&envelope);
    let before: Vec<String> = envelope.keyring().ids().map(str::to_owned).collect();
    envelope.destroy_kek("subject-b").unwrap();
    let after: Vec<String> = envelope.keyring().ids().map(str::to_owned).collect();
    assert_eq!(before, ["service", "subject-a", "subject-b", "subject-c"]);
    assert_eq!(after, ["service", "subject-a", "subject-c"]);
    for id in ["service", "subject-a", "subject-c"] {
        assert_eq!(envelope.keyring().state(id), Some(KekState::Active));
    }
    // The other subjects' data can still be moved between keys.
    let a = &records[0];
    assert_eq!(a.subject, "a");
    let moved = envelope
        .rewrap_to_vec(&a.sealed[0].1, Some("subject-c"))
        .unwrap();
    assert_eq!(
        envelope.open_to_vec(&moved, &subject_context("a")).unwrap(),
        a.sealed[0].0
    );
}

/// Documents the first pitfall in the guide: `destroy` acts on one keyring;
/// a snapshot taken before still holds the key. Shredding is complete only
/// when every handle is gone.
#[test]
fn a_keyring_snapshot_taken_before_destroy_still_holds_the_key() {
    let envelope = Envelope::new(keyring());
    let (records, _) = seal_everything(&envelope);
    let snapshot = envelope.keyring();
    envelope.destroy_kek("subject-b").unwrap();

    let b = &records[1];
    assert_eq!(b.subject, "b");
    let (plain, message) = &b.sealed[0];
    let context = subject_context("b");
    assert!(envelope.open_to_vec(message, &context).is_err());
    assert_eq!(snapshot.state("subject-b"), Some(KekState::Active));
    let stale = Envelope::new(snapshot);
    assert_eq!(&stale.open_to_vec(message, &context).unwrap(), plain);

    // Destroying it there too completes the erasure for that handle.
    stale.destroy_kek("subject-b").unwrap();
    assert!(matches!(
        stale.open_to_vec(message, &context),
        Err(Error::KekDestroyed { .. })
    ));
    assert!(matches!(
        stale.keyring().get("subject-b"),
        Err(Error::KekDestroyed { .. })
    ));
}
