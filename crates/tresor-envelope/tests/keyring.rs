//! Keyrings: rotation, retirement, duplicate and unknown ids, explicit
//! sealing keys, rewrap (records and streams), and a keyring rotated while
//! other threads seal and open.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    ctx, envelope_with, fixed_kek, flip, frames, header, kek, key_section_range, open_stream,
    rewrap_stream, with_key_section, wrapped_dek_range,
};
use tresor_envelope::{
    Context, Envelope, Error, KekState, Keyring, OpenCacheLimits, SealCacheLimits, SealOptions,
};

const RECORD: &[u8] = b"IBAN DE89 3704 0044 0532 0130 00";

/// A plaintext that spans several 64-byte frames.
fn long_plaintext() -> Vec<u8> {
    (0..1000u32)
        .map(|i| u8::try_from(i * 31 % 251).unwrap())
        .collect()
}

fn multi_frame_options() -> SealOptions {
    SealOptions::new().frame_size(64)
}

#[test]
fn rotation_keeps_old_data_readable_and_seals_new_data_under_the_new_primary() {
    let envelope = envelope_with(vec![kek("kek-2025")]);
    let context = ctx(&[("tenant", "acme")]);
    let old = envelope.seal_to_vec(b"sealed in 2025", &context).unwrap();
    assert_eq!(header(&old).kek_id(), "kek-2025");

    envelope
        .update_keyring(|k| {
            k.add(kek("kek-2026"))?;
            k.set_primary("kek-2026")
        })
        .unwrap();
    assert_eq!(envelope.keyring().primary_id(), Some("kek-2026"));

    let new = envelope.seal_to_vec(b"sealed in 2026", &context).unwrap();
    assert_eq!(header(&new).kek_id(), "kek-2026");
    let mut streamed = Vec::new();
    envelope
        .seal(&b"streamed in 2026"[..], &mut streamed, &context)
        .unwrap();
    assert_eq!(header(&streamed).kek_id(), "kek-2026");

    assert_eq!(
        envelope.open_to_vec(&old, &context).unwrap(),
        b"sealed in 2025"
    );
    assert_eq!(
        envelope.open_to_vec(&new, &context).unwrap(),
        b"sealed in 2026"
    );
    assert_eq!(
        open_stream(&envelope, &streamed, &context).unwrap(),
        b"streamed in 2026"
    );

    // Rotating again, and back: every generation stays readable.
    envelope
        .update_keyring(|k| {
            k.add(kek("kek-2027"))?;
            k.set_primary("kek-2027")
        })
        .unwrap();
    let newest = envelope.seal_to_vec(b"sealed in 2027", &context).unwrap();
    assert_eq!(header(&newest).kek_id(), "kek-2027");
    envelope
        .update_keyring(|k| k.set_primary("kek-2025"))
        .unwrap();
    assert_eq!(
        header(&envelope.seal_to_vec(RECORD, &context).unwrap()).kek_id(),
        "kek-2025"
    );
    for (sealed, plain) in [
        (&old, &b"sealed in 2025"[..]),
        (&new, b"sealed in 2026"),
        (&newest, b"sealed in 2027"),
    ] {
        assert_eq!(envelope.open_to_vec(sealed, &context).unwrap(), plain);
    }
}

#[test]
fn retired_key_opens_but_never_seals_nor_becomes_primary() {
    let envelope = envelope_with(vec![kek("old"), kek("new")]);
    let context = Context::new();
    let under_old = envelope.seal_to_vec(RECORD, &context).unwrap();
    assert_eq!(header(&under_old).kek_id(), "old");

    // The primary cannot be retired.
    let err = envelope.update_keyring(|k| k.retire("old")).unwrap_err();
    assert!(
        matches!(&err, Error::KekIsPrimary { key_id } if key_id == "old"),
        "{err:?}"
    );
    assert_eq!(envelope.keyring().state("old"), Some(KekState::Active));

    envelope
        .update_keyring(|k| {
            k.set_primary("new")?;
            k.retire("old")
        })
        .unwrap();
    let keyring = envelope.keyring();
    assert_eq!(keyring.state("old"), Some(KekState::Retired));
    assert_eq!(keyring.state("new"), Some(KekState::Active));
    assert_eq!(keyring.state("never-held"), None);
    assert_eq!(keyring.ids().collect::<Vec<_>>(), ["new", "old"]);

    // Still opens, by record and by stream.
    assert_eq!(envelope.open_to_vec(&under_old, &context).unwrap(), RECORD);
    assert_eq!(
        open_stream(&envelope, &under_old, &context).unwrap(),
        RECORD
    );

    // Never seals, whichever API asks.
    let retired = SealOptions::new().kek("old");
    let is_retired = |err: &Error| matches!(err, Error::KekRetired { key_id } if key_id == "old");
    let err = envelope
        .seal_to_vec_with(RECORD, &context, &retired)
        .unwrap_err();
    assert!(is_retired(&err), "{err:?}");
    let err = envelope
        .seal_with(RECORD, Vec::new(), &context, &retired)
        .unwrap_err();
    assert!(is_retired(&err), "{err:?}");
    let err = envelope
        .seal_writer_with(Vec::new(), &context, &retired)
        .err()
        .unwrap();
    assert!(is_retired(&err), "{err:?}");

    // Never becomes primary again.
    let err = envelope
        .update_keyring(|k| k.set_primary("old"))
        .unwrap_err();
    assert!(is_retired(&err), "{err:?}");
    assert_eq!(envelope.keyring().primary_id(), Some("new"));
    assert_eq!(
        header(&envelope.seal_to_vec(RECORD, &context).unwrap()).kek_id(),
        "new"
    );

    // Retiring twice is harmless; retiring an unknown key is not.
    envelope.update_keyring(|k| k.retire("old")).unwrap();
    let err = envelope.update_keyring(|k| k.retire("ghost")).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == "ghost"),
        "{err:?}"
    );
}

#[test]
fn duplicate_ids_are_refused_and_do_not_replace_the_key() {
    let mut keyring = Keyring::new();
    assert_eq!(keyring.add(fixed_kek("kek-a", 1)).unwrap(), "kek-a");
    let err = keyring.add(fixed_kek("kek-a", 2)).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateKek { key_id } if key_id == "kek-a"),
        "{err:?}"
    );
    let err = keyring
        .add_shared(Arc::new(fixed_kek("kek-a", 1)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateKek { key_id } if key_id == "kek-a"),
        "{err:?}"
    );
    // A retired id is still held, so still a duplicate.
    keyring.add(kek("kek-b")).unwrap();
    keyring.retire("kek-b").unwrap();
    let err = keyring.add(kek("kek-b")).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateKek { key_id } if key_id == "kek-b"),
        "{err:?}"
    );
    assert_eq!(keyring.ids().count(), 2);

    // The first key is still the one in use: data under it opens with a copy
    // of it, not with the rejected duplicate.
    let envelope = Envelope::new(keyring);
    let sealed = envelope.seal_to_vec(RECORD, &Context::new()).unwrap();
    let original = envelope_with(vec![fixed_kek("kek-a", 1)]);
    assert_eq!(
        original.open_to_vec(&sealed, &Context::new()).unwrap(),
        RECORD
    );
    let rejected = envelope_with(vec![fixed_kek("kek-a", 2)]);
    assert!(matches!(
        rejected.open_to_vec(&sealed, &Context::new()),
        Err(Error::Decrypt)
    ));

    // Through a live envelope too.
    let err = envelope
        .update_keyring(|k| k.add(fixed_kek("kek-a", 3)))
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateKek { .. }), "{err:?}");
    assert_eq!(
        envelope.open_to_vec(&sealed, &Context::new()).unwrap(),
        RECORD
    );
}

#[test]
fn unknown_kek_on_open_and_rewrap_names_the_header_id() {
    let sealer = envelope_with(vec![kek("kek-prod-7")]);
    let context = ctx(&[("record", "42")]);
    let sealed = sealer.seal_to_vec(RECORD, &context).unwrap();
    let mut streamed = Vec::new();
    sealer.seal(RECORD, &mut streamed, &context).unwrap();

    let other = envelope_with(vec![kek("kek-staging")]);
    let is_unknown =
        |err: &Error| matches!(err, Error::UnknownKek { key_id } if key_id == "kek-prod-7");
    for message in [&sealed, &streamed] {
        let err = other.open_to_vec(message, &context).unwrap_err();
        assert!(is_unknown(&err), "{err:?}");
        let err = open_stream(&other, message, &context).unwrap_err();
        assert!(is_unknown(&err), "{err:?}");
        let err = other.open_reader(&message[..], &context).err().unwrap();
        assert!(is_unknown(&err), "{err:?}");
        let err = other.rewrap_to_vec(message, None).unwrap_err();
        assert!(is_unknown(&err), "{err:?}");
        let err = rewrap_stream(&other, message, None).unwrap_err();
        assert!(is_unknown(&err), "{err:?}");
    }
    // The error names the id, and its message says so.
    let err = other.open_to_vec(&sealed, &context).unwrap_err();
    assert!(err.to_string().contains("kek-prod-7"), "{err}");

    // Unknown ids are also precise in keyring operations.
    let mut keyring = Keyring::with_primary(kek("a")).unwrap();
    let err = keyring.set_primary("b").unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == "b"),
        "{err:?}"
    );
    let err = keyring.destroy("b").unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == "b"),
        "{err:?}"
    );
    let err = envelope_with(vec![kek("a")])
        .seal_to_vec_with(RECORD, &context, &SealOptions::new().kek("b"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == "b"),
        "{err:?}"
    );
}

/// Checks that `rewrapped` is `original` with only its key section changed,
/// now naming `to`, and that it opens under `to` alone and not under `from`
/// alone.
fn assert_rewrapped(
    original: &[u8],
    rewrapped: &[u8],
    (from, from_fill): (&str, u8),
    (to, to_fill): (&str, u8),
    context: &Context,
    plaintext: &[u8],
) {
    let (before, after) = (header(original), header(rewrapped));
    assert_eq!(before.kek_id(), from);
    assert_eq!(after.kek_id(), to);
    // Frames byte for byte the same.
    assert_eq!(frames(original), frames(rewrapped));
    // Header up to the key section (prefix and commitment) the same.
    let (old_ks, new_ks) = (key_section_range(original), key_section_range(rewrapped));
    assert_eq!(original[..old_ks.start], rewrapped[..new_ks.start]);
    assert_eq!(before.message_id(), after.message_id());
    assert_eq!(before.commitment(), after.commitment());
    assert_eq!(before.context(), after.context());
    assert_eq!(before.suite(), after.suite());
    assert_eq!(before.frame_size(), after.frame_size());
    // Only the key section changed.
    assert_ne!(original[old_ks], rewrapped[new_ks]);
    assert_ne!(before.wrapped_dek(), after.wrapped_dek());

    let only_new = envelope_with(vec![fixed_kek(to, to_fill)]);
    assert_eq!(only_new.open_to_vec(rewrapped, context).unwrap(), plaintext);
    assert_eq!(
        open_stream(&only_new, rewrapped, context).unwrap(),
        plaintext
    );
    let only_old = envelope_with(vec![fixed_kek(from, from_fill)]);
    let err = only_old.open_to_vec(rewrapped, context).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == to),
        "{err:?}"
    );
    // The original still opens under the old key alone, not the new one.
    assert_eq!(only_old.open_to_vec(original, context).unwrap(), plaintext);
    let err = only_new.open_to_vec(original, context).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == from),
        "{err:?}"
    );
}

#[test]
fn rewrap_to_vec_changes_only_the_key_section() {
    let envelope = envelope_with(vec![fixed_kek("kek-old", 1), fixed_kek("kek-new", 2)]);
    let context = ctx(&[("table", "accounts"), ("tenant", "acme")]);
    let plaintext = long_plaintext();
    let sealed = envelope
        .seal_to_vec_with(&plaintext, &context, &multi_frame_options())
        .unwrap();
    assert!(frames(&sealed).len() > 10 * (64 + 16), "several frames");

    // To an explicit key.
    let moved = envelope.rewrap_to_vec(&sealed, Some("kek-new")).unwrap();
    assert_rewrapped(
        &sealed,
        &moved,
        ("kek-old", 1),
        ("kek-new", 2),
        &context,
        &plaintext,
    );

    // To the primary (None), after rotation.
    envelope
        .update_keyring(|k| k.set_primary("kek-new"))
        .unwrap();
    let moved = envelope.rewrap_to_vec(&sealed, None).unwrap();
    assert_rewrapped(
        &sealed,
        &moved,
        ("kek-old", 1),
        ("kek-new", 2),
        &context,
        &plaintext,
    );

    // From a retired key (it still opens, so it can be moved off).
    envelope.update_keyring(|k| k.retire("kek-old")).unwrap();
    let moved = envelope.rewrap_to_vec(&sealed, None).unwrap();
    assert_rewrapped(
        &sealed,
        &moved,
        ("kek-old", 1),
        ("kek-new", 2),
        &context,
        &plaintext,
    );

    // Both suites, and the empty record.
    envelope
        .update_keyring(|k| k.add(fixed_kek("kek-third", 3)))
        .unwrap();
    for suite in tresor_envelope::Suite::ALL {
        for plain in [&b""[..], RECORD] {
            let sealed = envelope
                .seal_to_vec_with(plain, &context, &SealOptions::new().suite(suite))
                .unwrap();
            let moved = envelope.rewrap_to_vec(&sealed, Some("kek-third")).unwrap();
            assert_rewrapped(
                &sealed,
                &moved,
                ("kek-new", 2),
                ("kek-third", 3),
                &context,
                plain,
            );
        }
    }
}

#[test]
fn streaming_rewrap_changes_only_the_key_section() {
    let envelope = envelope_with(vec![fixed_kek("kek-old", 1), fixed_kek("kek-new", 2)]);
    let context = ctx(&[("backup", "2026-11-24")]);
    let plaintext = long_plaintext();
    let mut sealed = Vec::new();
    envelope
        .seal_with(
            &plaintext[..],
            &mut sealed,
            &context,
            &multi_frame_options(),
        )
        .unwrap();

    let moved = rewrap_stream(&envelope, &sealed, Some("kek-new")).unwrap();
    assert_rewrapped(
        &sealed,
        &moved,
        ("kek-old", 1),
        ("kek-new", 2),
        &context,
        &plaintext,
    );

    // The record and stream rewraps agree on everything but the wrapped key
    // (which has a fresh random nonce each time).
    let by_record = envelope.rewrap_to_vec(&sealed, Some("kek-new")).unwrap();
    assert_eq!(by_record.len(), moved.len());
    assert_eq!(frames(&by_record), frames(&moved));
    let wrapped = wrapped_dek_range(&moved);
    assert_eq!(by_record[..wrapped.start], moved[..wrapped.start]);

    // Rewrapping back gives a message that opens under the old key alone.
    let back = rewrap_stream(&envelope, &moved, Some("kek-old")).unwrap();
    assert_rewrapped(
        &moved,
        &back,
        ("kek-new", 2),
        ("kek-old", 1),
        &context,
        &plaintext,
    );
}

#[test]
fn rewrap_to_a_retired_or_unknown_key_fails() {
    let envelope = envelope_with(vec![kek("primary"), kek("retired")]);
    envelope.update_keyring(|k| k.retire("retired")).unwrap();
    let sealed = envelope.seal_to_vec(RECORD, &Context::new()).unwrap();

    let err = envelope
        .rewrap_to_vec(&sealed, Some("retired"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::KekRetired { key_id } if key_id == "retired"),
        "{err:?}"
    );
    let err = rewrap_stream(&envelope, &sealed, Some("retired")).unwrap_err();
    assert!(
        matches!(&err, Error::KekRetired { key_id } if key_id == "retired"),
        "{err:?}"
    );

    let err = envelope.rewrap_to_vec(&sealed, Some("ghost")).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKek { key_id } if key_id == "ghost"),
        "{err:?}"
    );

    // Nothing is written by a failed streaming rewrap.
    let mut out = Vec::new();
    assert!(
        envelope
            .rewrap(&sealed[..], &mut out, Some("retired"))
            .is_err()
    );
    assert!(out.is_empty());
}

#[test]
fn rewrap_of_a_tampered_key_section_or_header_fails_as_decrypt() {
    let envelope = envelope_with(vec![fixed_kek("kek-a", 1), fixed_kek("kek-b", 2)]);
    let context = ctx(&[("k", "v")]);
    let sealed = envelope.seal_to_vec(RECORD, &context).unwrap();
    let h = header(&sealed);

    let mut tampered = Vec::new();
    // Every bit of the wrapped key.
    for i in wrapped_dek_range(&sealed) {
        for bit in 0..8 {
            let mut m = sealed.clone();
            m[i] ^= 1 << bit;
            tampered.push(m);
        }
    }
    // The wrapped key cut short or extended.
    tampered.push(with_key_section(&sealed, b"kek-a", &h.wrapped_dek()[..59]));
    let mut longer = h.wrapped_dek().to_vec();
    longer.push(0);
    tampered.push(with_key_section(&sealed, b"kek-a", &longer));
    // The key section relabelled as another key's.
    tampered.push(with_key_section(&sealed, b"kek-b", h.wrapped_dek()));
    // The commitment (just before the key section).
    let ks = key_section_range(&sealed);
    for i in ks.start - 32..ks.start {
        tampered.push(flip(&sealed, i));
    }

    for (n, message) in tampered.iter().enumerate() {
        let err = envelope.rewrap_to_vec(message, Some("kek-b")).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "case {n}: {err:?}");
        let err = rewrap_stream(&envelope, message, Some("kek-b")).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "case {n}: {err:?}");
    }
    // And the untampered one rewraps.
    envelope.rewrap_to_vec(&sealed, Some("kek-b")).unwrap();

    // The message id is a header field neither the key section's AAD nor
    // (from format 3 on) the data key's commitment covers: a rewrap, which
    // decrypts no frame, carries a changed id over, and the frames (whose
    // key it derives) refuse the result.
    let moved_id = envelope
        .rewrap_to_vec(&flip(&sealed, 10), Some("kek-b"))
        .unwrap();
    assert!(matches!(
        envelope.open_to_vec(&moved_id, &context),
        Err(Error::Decrypt)
    ));
}

#[test]
fn rewrap_with_a_wrong_key_under_the_right_id_fails_as_decrypt() {
    let sealer = envelope_with(vec![fixed_kek("kek-a", 1)]);
    let context = Context::new();
    let sealed = sealer.seal_to_vec(RECORD, &context).unwrap();

    // Same id, other key material (a restored wrong backup, an impostor).
    let wrong = envelope_with(vec![fixed_kek("kek-a", 9), fixed_kek("kek-b", 2)]);
    let err = wrong.rewrap_to_vec(&sealed, Some("kek-b")).unwrap_err();
    assert!(matches!(err, Error::Decrypt), "{err:?}");
    let err = rewrap_stream(&wrong, &sealed, Some("kek-b")).unwrap_err();
    assert!(matches!(err, Error::Decrypt), "{err:?}");
    let err = wrong.open_to_vec(&sealed, &context).unwrap_err();
    assert!(matches!(err, Error::Decrypt), "{err:?}");
}

#[test]
fn seal_under_an_explicit_non_primary_key() {
    let envelope = envelope_with(vec![kek("service"), fixed_kek("subject-42", 4)]);
    assert_eq!(envelope.keyring().primary_id(), Some("service"));
    let context = ctx(&[("subject", "42")]);
    let options = SealOptions::new().kek("subject-42");

    let record = envelope
        .seal_to_vec_with(RECORD, &context, &options)
        .unwrap();
    assert_eq!(header(&record).kek_id(), "subject-42");
    let mut stream = Vec::new();
    envelope
        .seal_with(RECORD, &mut stream, &context, &options)
        .unwrap();
    assert_eq!(header(&stream).kek_id(), "subject-42");
    let mut writer = envelope
        .seal_writer_with(Vec::new(), &context, &options)
        .unwrap();
    std::io::Write::write_all(&mut writer, RECORD).unwrap();
    let written = writer.finish().unwrap();
    assert_eq!(header(&written).kek_id(), "subject-42");

    // The default options still use the primary.
    assert_eq!(
        header(&envelope.seal_to_vec(RECORD, &context).unwrap()).kek_id(),
        "service"
    );
    // Default options of the builder can name the key too.
    let subject_default = Envelope::builder(
        Keyring::with_primary(kek("service"))
            .and_then(|mut k| {
                k.add(fixed_kek("subject-42", 4))?;
                Ok(k)
            })
            .unwrap(),
    )
    .options(options.clone())
    .build()
    .unwrap();
    let sealed = subject_default.seal_to_vec(RECORD, &context).unwrap();
    assert_eq!(header(&sealed).kek_id(), "subject-42");

    // Each opens with the subject key alone.
    let subject_only = envelope_with(vec![fixed_kek("subject-42", 4)]);
    for message in [&record, &stream, &written, &sealed] {
        assert_eq!(subject_only.open_to_vec(message, &context).unwrap(), RECORD);
    }
}

#[test]
fn a_keyring_without_a_primary_cannot_seal() {
    let empty = Envelope::new(Keyring::new());
    let context = Context::new();
    assert!(matches!(
        empty.seal_to_vec(RECORD, &context),
        Err(Error::NoPrimaryKek)
    ));
    assert!(matches!(
        empty.seal(RECORD, Vec::new(), &context),
        Err(Error::NoPrimaryKek)
    ));
    assert!(matches!(Keyring::new().primary(), Err(Error::NoPrimaryKek)));

    // The primary destroyed: no primary until one is set, yet other keys
    // still open and can be named explicitly.
    let envelope = envelope_with(vec![kek("primary"), kek("other")]);
    let under_other = envelope
        .seal_to_vec_with(RECORD, &context, &SealOptions::new().kek("other"))
        .unwrap();
    let under_primary = envelope.seal_to_vec(RECORD, &context).unwrap();
    envelope.destroy_kek("primary").unwrap();
    assert_eq!(envelope.keyring().primary_id(), None);
    assert!(matches!(
        envelope.seal_to_vec(RECORD, &context),
        Err(Error::NoPrimaryKek)
    ));
    assert!(matches!(
        envelope.seal_writer(Vec::new(), &context),
        Err(Error::NoPrimaryKek)
    ));
    assert!(matches!(
        envelope.rewrap_to_vec(&under_other, None),
        Err(Error::NoPrimaryKek)
    ));
    assert!(matches!(
        envelope.open_to_vec(&under_primary, &context),
        Err(Error::KekDestroyed { .. })
    ));
    assert_eq!(
        envelope.open_to_vec(&under_other, &context).unwrap(),
        RECORD
    );
    envelope
        .seal_to_vec_with(RECORD, &context, &SealOptions::new().kek("other"))
        .unwrap();

    envelope.update_keyring(|k| k.set_primary("other")).unwrap();
    let sealed = envelope.seal_to_vec(RECORD, &context).unwrap();
    assert_eq!(header(&sealed).kek_id(), "other");
}

/// `Keyring::destroy` documents: "If it was the primary, the keyring has no
/// primary until `set_primary` is called." But `add` makes any key added
/// while there is no primary the primary, so a per-subject key added after
/// the primary was destroyed silently becomes the key for all new data (and
/// destroying that subject later shreds unrelated records).
#[test]
fn adding_a_key_after_destroying_the_primary_does_not_make_it_primary() {
    let mut keyring = Keyring::with_primary(kek("service")).unwrap();
    keyring.destroy("service").unwrap();
    assert_eq!(keyring.primary_id(), None);
    keyring.add(kek("subject-1")).unwrap();
    assert_eq!(
        keyring.primary_id(),
        None,
        "no primary until set_primary is called"
    );
}

/// Messages sealed by the workers: context, plaintext, message.
type Sealed = Vec<(Context, Vec<u8>, Vec<u8>)>;

fn rotate_while_sealing_and_opening(envelope: Envelope) {
    const WORKERS: usize = 4;
    const ROTATIONS: usize = 20;
    let envelope = Arc::new(envelope);
    let done = Arc::new(AtomicBool::new(false));
    let sealed_count = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(WORKERS + 1));
    let sealed: Arc<Mutex<Sealed>> = Arc::default();

    let rotator = {
        let (envelope, done, count, start) = (
            envelope.clone(),
            done.clone(),
            sealed_count.clone(),
            start.clone(),
        );
        thread::spawn(move || {
            start.wait();
            // Waits until `n` more messages are sealed. A worker has at most
            // one seal in flight, so 2 * WORKERS completions after a rotation
            // include at least WORKERS seals that began after it.
            let wait_for = |n: usize| {
                let target = count.load(Ordering::SeqCst) + n;
                let deadline = Instant::now() + Duration::from_secs(60);
                while count.load(Ordering::SeqCst) < target {
                    assert!(Instant::now() < deadline, "workers stalled");
                    thread::sleep(Duration::from_micros(200));
                }
            };
            wait_for(WORKERS);
            for i in 1..=ROTATIONS {
                envelope
                    .update_keyring(|k| {
                        k.add(kek(&format!("rot-{i}")))?;
                        k.set_primary(&format!("rot-{i}"))?;
                        k.retire(&format!("rot-{}", i - 1))
                    })
                    .unwrap();
                wait_for(2 * WORKERS);
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (envelope, done, count, start, sealed) = (
                envelope.clone(),
                done.clone(),
                sealed_count.clone(),
                start.clone(),
                sealed.clone(),
            );
            thread::spawn(move || {
                start.wait();
                let mut i = 0u32;
                loop {
                    // Read the flag first: the seal after it is seen is under
                    // the final primary.
                    let finished = done.load(Ordering::SeqCst);
                    let context = ctx(&[("worker", &w.to_string()), ("n", &(i % 3).to_string())]);
                    let plain = format!("worker {w} message {i}").into_bytes();
                    let message = if i % 4 == 3 {
                        let mut out = Vec::new();
                        envelope.seal(&plain[..], &mut out, &context).unwrap();
                        out
                    } else {
                        envelope.seal_to_vec(&plain, &context).unwrap()
                    };
                    assert_eq!(envelope.open_to_vec(&message, &context).unwrap(), plain);
                    assert_eq!(open_stream(&envelope, &message, &context).unwrap(), plain);
                    sealed.lock().unwrap().push((context, plain, message));
                    count.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                    if finished {
                        break;
                    }
                }
            })
        })
        .collect();

    rotator.join().unwrap();
    for worker in workers {
        worker.join().unwrap();
    }

    let sealed = sealed.lock().unwrap();
    let mut ids = BTreeSet::new();
    for (context, plain, message) in sealed.iter() {
        ids.insert(header(message).kek_id().to_owned());
        assert_eq!(&envelope.open_to_vec(message, context).unwrap(), plain);
    }
    assert!(sealed.len() >= WORKERS * (2 * ROTATIONS + 1));
    // Every generation of the primary sealed something.
    assert_eq!(ids.len(), ROTATIONS + 1, "{ids:?}");
    assert!(ids.contains("rot-0"), "{ids:?}");
    assert!(ids.contains(&format!("rot-{ROTATIONS}")), "{ids:?}");
    assert_eq!(
        envelope.keyring().primary_id(),
        Some(format!("rot-{ROTATIONS}").as_str())
    );
}

#[test]
fn envelope_is_shared_across_threads_while_the_primary_rotates() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Envelope>();
    assert_send_sync::<Keyring>();

    rotate_while_sealing_and_opening(envelope_with(vec![kek("rot-0")]));
}

#[test]
fn envelope_with_caches_is_shared_across_threads_while_the_primary_rotates() {
    let envelope = Envelope::builder(Keyring::with_primary(kek("rot-0")).unwrap())
        .seal_cache(SealCacheLimits::new(Duration::from_secs(60), 5, 1 << 20))
        .open_cache(OpenCacheLimits::new(Duration::from_secs(60), 16))
        .build()
        .unwrap();
    rotate_while_sealing_and_opening(envelope);
}
