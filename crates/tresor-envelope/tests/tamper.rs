//! Tampering: every single-bit flip, every truncation, and every frame-level
//! rearrangement of small sealed messages is refused, by `open_to_vec` and
//! by the streaming `open`/`open_reader`, with the error `FORMAT.md` names;
//! and the streaming reader never releases plaintext of a frame that fails.
//!
//! The byte layout is taken from `FORMAT.md` and located by hand in the
//! sealed bytes (cross-checked against `Header::parse`), so a parser that
//! skipped a field would not also skip the test of it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::Read;
use std::ops::Range;

use tresor_envelope::{
    Context, Envelope, Error, Header, Keyring, LocalKek, READ_VERSIONS, SealOptions, Suite, TAG_LEN,
};
use zeroize::Zeroizing;

/// The sealing key. Its id differs from [`NEIGHBOUR_ID`] in one bit
/// (`a` = 0x61, `c` = 0x63), so one bit flip in the key id names another key
/// of the keyring.
const KEK_ID: &str = "kek-a";
const NEIGHBOUR_ID: &str = "kek-c";
const FRAME: u32 = 16;
const FRAME_LEN: usize = FRAME as usize + TAG_LEN;

fn local_kek(id: &str, fill: u8) -> LocalKek {
    LocalKek::from_bytes(id, Zeroizing::new([fill; 32])).unwrap()
}

fn envelope() -> Envelope {
    let mut keyring = Keyring::new();
    keyring.add(local_kek(KEK_ID, 0xa1)).unwrap();
    keyring.add(local_kek(NEIGHBOUR_ID, 0xc3)).unwrap();
    keyring.set_primary(KEK_ID).unwrap();
    Envelope::new(keyring)
}

fn context() -> Context {
    Context::from_pairs([("purpose", "tamper-test"), ("tenant", "acme")]).unwrap()
}

fn options(suite: Suite) -> SealOptions {
    SealOptions::new().suite(suite).frame_size(FRAME)
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 37 + 11) % 251).unwrap())
        .collect()
}

/// Where each field of a sealed message lies, found from `FORMAT.md` alone.
#[derive(Debug)]
struct Layout {
    context_len: Range<usize>,
    context: Range<usize>,
    commitment: Range<usize>,
    kek_id_len: usize,
    kek_id: Range<usize>,
    wrapped_len: Range<usize>,
    wrapped: Range<usize>,
    /// Where the frames start (= header and key section length).
    frames: usize,
}

const MAGIC: Range<usize> = 0..4;
const VERSION: usize = 4;
const SUITE: usize = 5;
const FRAME_SIZE: Range<usize> = 6..10;
const MESSAGE_ID: Range<usize> = 10..42;

fn be16(bytes: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
}

fn layout(message: &[u8]) -> Layout {
    assert_eq!(&message[MAGIC], b"TRSE");
    let cl = be16(&message[42..44]);
    let commitment = 44 + cl..76 + cl;
    let kek_id_len = commitment.end;
    let kek_id = kek_id_len + 1..kek_id_len + 1 + usize::from(message[kek_id_len]);
    let wrapped_len = kek_id.end..kek_id.end + 2;
    let wrapped = wrapped_len.end..wrapped_len.end + be16(&message[wrapped_len.clone()]);
    let frames = wrapped.end;
    let (_, parsed_len) = Header::parse(message).unwrap();
    assert_eq!(parsed_len, frames, "Header::parse and FORMAT.md disagree");
    Layout {
        context_len: 42..44,
        context: 44..44 + cl,
        commitment,
        kek_id_len,
        kek_id,
        wrapped_len,
        wrapped,
        frames,
    }
}

/// What opening a damaged message must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Decrypt,
    Malformed,
    Version,
    Suite,
    UnknownKek,
    /// Some error; which one depends on how the damage reads.
    AnyError,
}

fn check(expect: Expect, err: &Error) -> bool {
    match expect {
        Expect::Decrypt => matches!(err, Error::Decrypt),
        Expect::Malformed => matches!(err, Error::MalformedHeader(_)),
        Expect::Version => matches!(err, Error::UnsupportedVersion(_)),
        Expect::Suite => matches!(err, Error::UnsupportedSuite(_)),
        Expect::UnknownKek => matches!(err, Error::UnknownKek { .. }),
        Expect::AnyError => true,
    }
}

/// Opens `message` both ways; both must fail as `expect` says, and the
/// stream must have released exactly `released` bytes of authentic
/// plaintext (the frames before the first bad one) and nothing else.
fn assert_refused(
    envelope: &Envelope,
    message: &[u8],
    context: &Context,
    expect: Expect,
    released: &[u8],
    what: &str,
) {
    match envelope.open_to_vec(message, context) {
        Ok(_) => panic!("{what}: open_to_vec accepted it"),
        Err(err) => assert!(
            check(expect, &err),
            "{what}: open_to_vec: {err:?}, want {expect:?}"
        ),
    }
    let mut out = Vec::new();
    match envelope.open(message, &mut out, context) {
        Ok(_) => panic!("{what}: streaming open accepted it"),
        Err(err) => assert!(
            check(expect, &err),
            "{what}: open: {err:?}, want {expect:?}"
        ),
    }
    assert!(
        out == released,
        "{what}: streaming open released {} bytes, want exactly {} (authentic frames only)",
        out.len(),
        released.len()
    );
}

/// The expected result of flipping a bit at `index` (giving `flipped`).
fn expectation(layout: &Layout, flipped: &[u8], index: usize) -> Expect {
    let parsed = Header::parse(flipped);
    let in_range = |r: &Range<usize>| r.contains(&index);
    if in_range(&MAGIC) {
        Expect::Malformed
    } else if index == VERSION {
        if READ_VERSIONS.contains(&flipped[VERSION]) {
            // An older format this library still reads (3 -> 2, 3 -> 1): the
            // key section's AAD names the version, so the unwrap fails.
            Expect::Decrypt
        } else {
            Expect::Version
        }
    } else if index == SUITE {
        Expect::Suite
    } else if in_range(&FRAME_SIZE) {
        let fs = u32::from_be_bytes(flipped[FRAME_SIZE].try_into().unwrap());
        if (16..=4 << 20).contains(&fs) {
            Expect::Decrypt // a valid header whose prefix no longer matches the commitment
        } else {
            Expect::Malformed
        }
    } else if in_range(&MESSAGE_ID)
        || in_range(&layout.commitment)
        || in_range(&layout.wrapped)
        || index >= layout.frames
    {
        Expect::Decrypt
    } else if in_range(&layout.context) {
        // Still a well-formed context (then a different one: Decrypt), or
        // no longer one (bad UTF-8, unsorted keys, bad lengths).
        if parsed.is_ok() {
            Expect::Decrypt
        } else {
            Expect::Malformed
        }
    } else if in_range(&layout.kek_id) {
        match parsed {
            Ok((h, _)) if h.kek_id() == NEIGHBOUR_ID => Expect::Decrypt,
            Ok(_) => Expect::UnknownKek,
            Err(_) => Expect::Malformed,
        }
    } else {
        assert!(
            in_range(&layout.context_len)
                || index == layout.kek_id_len
                || in_range(&layout.wrapped_len),
            "byte {index} is in no field of {layout:?}"
        );
        Expect::AnyError
    }
}

#[test]
fn every_bit_flip_is_refused() {
    let envelope = envelope();
    let context = context();
    let mut neighbour_hits = 0;
    let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
    for suite in Suite::ALL {
        for len in [0, 1, 33] {
            let pt = plaintext(len);
            let sealed = envelope
                .seal_to_vec_with(&pt, &context, &options(suite))
                .unwrap();
            assert_eq!(envelope.open_to_vec(&sealed, &context).unwrap(), pt);
            let layout = layout(&sealed);
            for index in 0..sealed.len() {
                for bit in 0..8 {
                    let mut flipped = sealed.clone();
                    flipped[index] ^= 1 << bit;
                    let expect = expectation(&layout, &flipped, index);
                    if layout.kek_id.contains(&index) && expect == Expect::Decrypt {
                        neighbour_hits += 1;
                    }
                    *by_kind.entry(format!("{expect:?}")).or_default() += 1;
                    // Only a flip inside frame j lets frames 0..j through.
                    let released = match index.checked_sub(layout.frames) {
                        Some(offset) => &pt[..offset / FRAME_LEN * FRAME as usize],
                        None => &[][..],
                    };
                    assert_refused(
                        &envelope,
                        &flipped,
                        &context,
                        expect,
                        released,
                        &format!("{suite}, {len} bytes, bit {bit} of byte {index}"),
                    );
                }
            }
        }
    }
    eprintln!("bit flips by expected error: {by_kind:?}");
    // The id flip that names the neighbouring key was exercised (2 suites x 3 sizes).
    assert_eq!(neighbour_hits, 6);
}

#[test]
fn every_truncation_is_refused() {
    let envelope = envelope();
    let context = context();
    for suite in Suite::ALL {
        for len in [0, 1, 33, 64] {
            let pt = plaintext(len);
            let sealed = envelope
                .seal_to_vec_with(&pt, &context, &options(suite))
                .unwrap();
            let frames = layout(&sealed).frames;
            let mut boundaries = 0;
            for cut in 0..sealed.len() {
                let truncated = &sealed[..cut];
                let what = format!("{suite}, {len} bytes, cut to {cut} of {}", sealed.len());
                if cut < frames {
                    assert_refused(
                        &envelope,
                        truncated,
                        &context,
                        Expect::Malformed,
                        &[],
                        &what,
                    );
                } else {
                    // Frames wholly present and followed by more data
                    // authenticate; the chunk that ends the input is taken
                    // as the last frame and fails.
                    let body = cut - frames;
                    let good = (body.max(1) - 1) / FRAME_LEN;
                    if body.is_multiple_of(FRAME_LEN) {
                        boundaries += 1;
                    }
                    assert_refused(
                        &envelope,
                        truncated,
                        &context,
                        Expect::Decrypt,
                        &pt[..good * FRAME as usize],
                        &what,
                    );
                }
            }
            // Cut right after the key section and after every full frame.
            assert_eq!(boundaries, len.div_ceil(FRAME as usize).max(1));
        }
    }
}

/// The frames of a sealed message, each ciphertext || tag.
fn split_frames(message: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let start = layout(message).frames;
    let head = message[..start].to_vec();
    let frames = message[start..]
        .chunks(FRAME_LEN)
        .map(<[u8]>::to_vec)
        .collect();
    (head, frames)
}

fn join(head: &[u8], frames: &[&[u8]]) -> Vec<u8> {
    let mut out = head.to_vec();
    for f in frames {
        out.extend_from_slice(f);
    }
    out
}

#[test]
fn frame_rearrangements_are_refused() {
    let envelope = envelope();
    let context = context();
    for suite in Suite::ALL {
        let opts = options(suite);
        // Four full frames, so any two are interchangeable in length.
        let pt = plaintext(64);
        let p = |frames: usize| &pt[..frames * FRAME as usize];
        let sealed = envelope.seal_to_vec_with(&pt, &context, &opts).unwrap();
        let (head, f) = split_frames(&sealed);
        assert_eq!(f.len(), 4);
        assert_eq!(
            envelope
                .open_to_vec(&join(&head, &[&f[0], &f[1], &f[2], &f[3]]), &context)
                .unwrap(),
            pt
        );

        // Another message under the same key and context, five frames.
        let other_pt = plaintext(80);
        let other = envelope
            .seal_to_vec_with(&other_pt, &context, &opts)
            .unwrap();
        let (_, g) = split_frames(&other);
        assert_eq!(g.len(), 5);

        let cases: Vec<(&str, Vec<u8>, &[u8])> = vec![
            (
                "swap frames 0 and 1",
                join(&head, &[&f[1], &f[0], &f[2], &f[3]]),
                p(0),
            ),
            (
                "swap frames 1 and 2",
                join(&head, &[&f[0], &f[2], &f[1], &f[3]]),
                p(1),
            ),
            (
                "swap frames 2 and 3 (last)",
                join(&head, &[&f[0], &f[1], &f[3], &f[2]]),
                p(2),
            ),
            ("reverse", join(&head, &[&f[3], &f[2], &f[1], &f[0]]), p(0)),
            (
                "duplicate frame 0",
                join(&head, &[&f[0], &f[0], &f[1], &f[2], &f[3]]),
                p(1),
            ),
            (
                "duplicate frame 2",
                join(&head, &[&f[0], &f[1], &f[2], &f[2], &f[3]]),
                p(3),
            ),
            ("drop frame 1", join(&head, &[&f[0], &f[2], &f[3]]), p(1)),
            ("drop frame 2", join(&head, &[&f[0], &f[1], &f[3]]), p(2)),
            (
                "drop the first frame",
                join(&head, &[&f[1], &f[2], &f[3]]),
                p(0),
            ),
            (
                "drop the last frame",
                join(&head, &[&f[0], &f[1], &f[2]]),
                p(2),
            ),
            ("append a byte", [sealed.as_slice(), &[0]].concat(), p(3)),
            (
                "append a copy of the last frame",
                join(&head, &[&f[0], &f[1], &f[2], &f[3], &f[3]]),
                p(3),
            ),
            (
                "append the other message's last frame",
                join(&head, &[&f[0], &f[1], &f[2], &f[3], &g[4]]),
                p(3),
            ),
            (
                "the other message's tail (frames 3 and 4) after our frame 2",
                join(&head, &[&f[0], &f[1], &f[2], &g[3], &g[4]]),
                p(3),
            ),
            (
                "the other message's frame 3 as our last",
                join(&head, &[&f[0], &f[1], &f[2], &g[3]]),
                p(3),
            ),
            (
                "the other message's frame 1 in place of ours",
                join(&head, &[&f[0], &g[1], &f[2], &f[3]]),
                p(1),
            ),
            (
                "our frames after the other message's header",
                join(&split_frames(&other).0, &[&f[0], &f[1], &f[2], &f[3]]),
                p(0),
            ),
        ];
        for (what, message, released) in cases {
            assert_refused(
                &envelope,
                &message,
                &context,
                Expect::Decrypt,
                released,
                &format!("{suite}: {what}"),
            );
        }

        // Messages with a short last frame, and the empty message.
        for len in [0, 1, 33] {
            let pt = plaintext(len);
            let sealed = envelope.seal_to_vec_with(&pt, &context, &opts).unwrap();
            let (head, f) = split_frames(&sealed);
            let last = f.last().unwrap();
            let full = (f.len() - 1) * FRAME as usize;
            let what = |s: &str| format!("{suite}, {len} bytes: {s}");
            assert_refused(
                &envelope,
                &[sealed.as_slice(), &[0]].concat(),
                &context,
                Expect::Decrypt,
                &pt[..full],
                &what("append a byte"),
            );
            assert_refused(
                &envelope,
                &[sealed.as_slice(), last].concat(),
                &context,
                Expect::Decrypt,
                &pt[..full],
                &what("append a copy of the last frame"),
            );
            assert_refused(
                &envelope,
                &[sealed.as_slice(), &g[4]].concat(),
                &context,
                Expect::Decrypt,
                &pt[..full],
                &what("append another message's last frame"),
            );
            // An empty last frame is valid only as frame 0.
            let empty_last = envelope.seal_to_vec_with(b"", &context, &opts).unwrap();
            let (_, e) = split_frames(&empty_last);
            if f.len() > 1 {
                let mut frames: Vec<&[u8]> = f.iter().map(Vec::as_slice).collect();
                frames.push(&e[0]);
                assert_refused(
                    &envelope,
                    &join(&head, &frames),
                    &context,
                    Expect::Decrypt,
                    &pt[..full],
                    &what("append an empty frame"),
                );
            }
        }
    }
}

/// `message` with the key section of `donor` in place of its own.
fn with_key_section_of(message: &[u8], donor: &[u8]) -> Vec<u8> {
    let (m, d) = (layout(message), layout(donor));
    [
        &message[..m.kek_id_len],
        &donor[d.kek_id_len..d.frames],
        &message[m.frames..],
    ]
    .concat()
}

#[test]
fn swapped_key_sections_are_refused() {
    let envelope = envelope();
    for suite in Suite::ALL {
        let opts = options(suite);
        let ctx_a = context();
        let ctx_b =
            Context::from_pairs([("purpose", "tamper-test"), ("tenant", "globex")]).unwrap();
        let a = envelope
            .seal_to_vec_with(b"message a", &ctx_a, &opts)
            .unwrap();
        let a2 = envelope
            .seal_to_vec_with(b"message a2", &ctx_a, &opts)
            .unwrap();
        let b = envelope
            .seal_to_vec_with(b"message b", &ctx_b, &opts)
            .unwrap();

        // Sanity: the splice itself is faithful (a message with its own key
        // section is unchanged and opens).
        assert_eq!(with_key_section_of(&a, &a), a);
        assert_eq!(
            envelope
                .open_to_vec(&with_key_section_of(&a, &a), &ctx_a)
                .unwrap(),
            b"message a"
        );

        // Same KEK, same context: the key section unwraps (its AAD matches)
        // to the other message's data key, which fails this commitment.
        assert_refused(
            &envelope,
            &with_key_section_of(&a, &a2),
            &ctx_a,
            Expect::Decrypt,
            &[],
            &format!("{suite}: a2's key section in a"),
        );
        assert_refused(
            &envelope,
            &with_key_section_of(&a2, &a),
            &ctx_a,
            Expect::Decrypt,
            &[],
            &format!("{suite}: a's key section in a2"),
        );
        // Different contexts: the key section's AAD does not match.
        assert_refused(
            &envelope,
            &with_key_section_of(&a, &b),
            &ctx_a,
            Expect::Decrypt,
            &[],
            &format!("{suite}: b's key section in a"),
        );
        assert_refused(
            &envelope,
            &with_key_section_of(&b, &a),
            &ctx_b,
            Expect::Decrypt,
            &[],
            &format!("{suite}: a's key section in b"),
        );
    }
    // Different suites, same context: the suite is in the key section's AAD.
    let ctx = context();
    let gcm = envelope
        .seal_to_vec_with(b"gcm", &ctx, &options(Suite::Aes256Gcm))
        .unwrap();
    let siv = envelope
        .seal_to_vec_with(b"siv", &ctx, &options(Suite::Aes256GcmSiv))
        .unwrap();
    assert_refused(
        &envelope,
        &with_key_section_of(&gcm, &siv),
        &ctx,
        Expect::Decrypt,
        &[],
        "siv key section in gcm",
    );
    assert_refused(
        &envelope,
        &with_key_section_of(&siv, &gcm),
        &ctx,
        Expect::Decrypt,
        &[],
        "gcm key section in siv",
    );
}

#[test]
fn wrong_context_is_decrypt() {
    let envelope = envelope();
    for suite in Suite::ALL {
        for len in [0, 1, 33] {
            let pt = plaintext(len);
            let sealed = envelope
                .seal_to_vec_with(&pt, &context(), &options(suite))
                .unwrap();
            let wrong = [
                (
                    "extra pair",
                    vec![
                        ("purpose", "tamper-test"),
                        ("tenant", "acme"),
                        ("user", "42"),
                    ],
                ),
                ("missing pair", vec![("tenant", "acme")]),
                ("other missing pair", vec![("purpose", "tamper-test")]),
                (
                    "changed value",
                    vec![("purpose", "tamper-test"), ("tenant", "acmf")],
                ),
                (
                    "value moved to another key",
                    vec![("purpose", "tamper-test"), ("tenanT", "acme")],
                ),
                (
                    "empty value",
                    vec![("purpose", "tamper-test"), ("tenant", "")],
                ),
                ("empty context", vec![]),
            ];
            for (what, pairs) in wrong {
                let ctx = Context::from_pairs(pairs).unwrap();
                assert_refused(
                    &envelope,
                    &sealed,
                    &ctx,
                    Expect::Decrypt,
                    &[],
                    &format!("{suite}, {len} bytes: {what}"),
                );
            }
            assert_eq!(envelope.open_to_vec(&sealed, &context()).unwrap(), pt);
        }
    }
}

#[test]
fn wrong_kek_with_the_same_id_is_decrypt() {
    let envelope = envelope();
    let impostor = Envelope::new(Keyring::with_primary(local_kek(KEK_ID, 0x5a)).unwrap());
    let other_id = Envelope::new(Keyring::with_primary(local_kek("kek-b", 0xa1)).unwrap());
    for suite in Suite::ALL {
        for len in [0, 1, 33] {
            let pt = plaintext(len);
            let sealed = envelope
                .seal_to_vec_with(&pt, &context(), &options(suite))
                .unwrap();
            assert_refused(
                &impostor,
                &sealed,
                &context(),
                Expect::Decrypt,
                &[],
                &format!("{suite}, {len} bytes"),
            );
            // Control: same key bytes but another id is not found at all.
            assert_refused(
                &other_id,
                &sealed,
                &context(),
                Expect::UnknownKek,
                &[],
                &format!("{suite}, {len} bytes, other id"),
            );
        }
    }
}

/// Reads an `OpenReader` with a 7-byte buffer until it errs or ends.
fn drain(mut reader: impl Read) -> (Vec<u8>, std::io::Result<()>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) => {
                // The reader stays failed: asking again never yields data or EOF.
                for _ in 0..3 {
                    assert!(reader.read(&mut buf).is_err(), "a failed reader recovered");
                }
                return (out, Err(err));
            }
        }
    }
}

#[test]
fn open_reader_stops_before_a_bad_frame() {
    let envelope = envelope();
    let context = context();
    for suite in Suite::ALL {
        let pt = plaintext(64);
        let sealed = envelope
            .seal_to_vec_with(&pt, &context, &options(suite))
            .unwrap();
        let frames = layout(&sealed).frames;

        // Control: the intact stream reads to its end.
        let (out, end) = drain(envelope.open_reader(sealed.as_slice(), &context).unwrap());
        end.unwrap();
        assert_eq!(out, pt);

        // Tamper with the 3rd frame (index 2), in its ciphertext or its tag.
        for offset in [0, FRAME as usize - 1, FRAME as usize, FRAME_LEN - 1] {
            let mut bad = sealed.clone();
            bad[frames + 2 * FRAME_LEN + offset] ^= 0x80;
            let (out, end) = drain(envelope.open_reader(bad.as_slice(), &context).unwrap());
            let err = end.expect_err("a tampered frame must be an error");
            assert!(matches!(Error::from_io(err), Error::Decrypt));
            assert_eq!(
                out,
                &pt[..2 * FRAME as usize],
                "{suite}: exactly the two good frames"
            );
        }

        // Cut at every frame boundary: an error, never a clean end of file.
        for kept in 0..4 {
            let cut = &sealed[..frames + kept * FRAME_LEN];
            let (out, end) = drain(envelope.open_reader(cut, &context).unwrap());
            let err = end.expect_err("a stream cut at a frame boundary must not end cleanly");
            assert!(matches!(Error::from_io(err), Error::Decrypt));
            // The last frame kept is read as the final one and fails.
            assert_eq!(
                out,
                &pt[..kept.saturating_sub(1) * FRAME as usize],
                "{suite}: kept {kept}"
            );
        }
    }
}
