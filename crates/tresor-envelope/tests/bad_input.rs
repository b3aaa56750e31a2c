//! Bad input never panics and is reported precisely (FORMAT.md, "Errors a
//! reader reports"): hand-built headers with each field out of range, every
//! truncation, garbage, and property tests over arbitrary bytes. Also the
//! validation of `SealOptions` and `Context`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read};

use common::{fixed_kek, frames, header, open_stream, rewrap_stream};
use proptest::prelude::*;
use tresor_envelope::{
    Context, Envelope, EnvelopeBuilder, Error, Header, Keyring, MAX_CONTEXT_ENTRIES,
    MAX_CONTEXT_LEN, MAX_FRAME_SIZE, MAX_WRAPPED_DEK_LEN, MIN_FRAME_SIZE, SealOptions, Suite,
};

fn envelope() -> Envelope {
    Envelope::new(Keyring::with_primary(fixed_kek("kek-a", 1)).unwrap())
}

fn context() -> Context {
    Context::from_pairs([("a", "1"), ("bb", "22")]).unwrap()
}

/// A valid record, sealed for real, and the envelope that opens it.
fn sealed(plaintext: &[u8]) -> (Envelope, Vec<u8>) {
    let envelope = envelope();
    let message = envelope.seal_to_vec(plaintext, &context()).unwrap();
    (envelope, message)
}

/// A header and key section spelled out field by field, so any field can be
/// set to any value.
#[derive(Clone, Debug)]
struct Raw {
    magic: [u8; 4],
    version: u8,
    suite: u8,
    frame_size: u32,
    message_id: [u8; 32],
    /// `None`: the length of `context`.
    context_len: Option<u16>,
    context: Vec<u8>,
    commitment: [u8; 32],
    /// `None`: the length of `kek_id`.
    kek_id_len: Option<u8>,
    kek_id: Vec<u8>,
    /// `None`: the length of `wrapped`.
    wrapped_len: Option<u16>,
    wrapped: Vec<u8>,
    frames: Vec<u8>,
}

impl Raw {
    /// The fields of a real message.
    fn of(message: &[u8]) -> Self {
        let h = header(message);
        let context_len = usize::from(u16::from_be_bytes([message[42], message[43]]));
        Raw {
            magic: *b"TRSE",
            version: h.version(),
            suite: h.suite().id(),
            frame_size: h.frame_size(),
            message_id: *h.message_id(),
            context_len: None,
            context: message[44..44 + context_len].to_vec(),
            commitment: *h.commitment(),
            kek_id_len: None,
            kek_id: h.kek_id().as_bytes().to_vec(),
            wrapped_len: None,
            wrapped: h.wrapped_dek().to_vec(),
            frames: frames(message).to_vec(),
        }
    }

    fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.magic);
        out.push(self.version);
        out.push(self.suite);
        out.extend_from_slice(&self.frame_size.to_be_bytes());
        out.extend_from_slice(&self.message_id);
        let context_len = self
            .context_len
            .unwrap_or_else(|| u16::try_from(self.context.len()).unwrap());
        out.extend_from_slice(&context_len.to_be_bytes());
        out.extend_from_slice(&self.context);
        out.extend_from_slice(&self.commitment);
        out.push(
            self.kek_id_len
                .unwrap_or_else(|| u8::try_from(self.kek_id.len()).unwrap()),
        );
        out.extend_from_slice(&self.kek_id);
        let wrapped_len = self
            .wrapped_len
            .unwrap_or_else(|| u16::try_from(self.wrapped.len()).unwrap());
        out.extend_from_slice(&wrapped_len.to_be_bytes());
        out.extend_from_slice(&self.wrapped);
        out
    }

    fn message(&self) -> Vec<u8> {
        let mut out = self.header();
        out.extend_from_slice(&self.frames);
        out
    }
}

/// One context entry: `klen || key || vlen || value`.
fn entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u16::try_from(key.len()).unwrap().to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A reader that hands out at most `chunk` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Feeds `input` to every entry point that reads a header and returns each
/// one's error (all must fail).
fn errors_of(envelope: &Envelope, input: &[u8], context: &Context) -> Vec<(&'static str, Error)> {
    let mut errors = vec![
        ("Header::parse", Header::parse(input).err().unwrap()),
        (
            "Header::read_from",
            Header::read_from(&mut Cursor::new(input)).err().unwrap(),
        ),
    ];
    errors.extend(keyed_errors_of(envelope, input, context));
    errors
}

/// Like [`errors_of`], for the entry points that need a key (for input whose
/// header parses).
fn keyed_errors_of(
    envelope: &Envelope,
    input: &[u8],
    context: &Context,
) -> Vec<(&'static str, Error)> {
    let mut errors = vec![
        (
            "open_to_vec",
            envelope.open_to_vec(input, context).unwrap_err(),
        ),
        ("open", open_stream(envelope, input, context).unwrap_err()),
        (
            "open (trickled)",
            envelope
                .open(
                    Trickle {
                        data: input,
                        chunk: 1,
                    },
                    Vec::new(),
                    context,
                )
                .unwrap_err(),
        ),
        (
            "open_reader",
            envelope.open_reader(input, context).err().unwrap(),
        ),
        (
            "rewrap_to_vec",
            envelope.rewrap_to_vec(input, None).unwrap_err(),
        ),
        ("rewrap", rewrap_stream(envelope, input, None).unwrap_err()),
    ];
    // Nothing is written by a failed streaming open or rewrap.
    let mut out = Vec::new();
    errors.push((
        "rewrap (output)",
        envelope.rewrap(input, &mut out, None).unwrap_err(),
    ));
    assert!(out.is_empty(), "rewrap wrote {} bytes", out.len());
    errors
}

/// Asserts that every entry point rejects `input` with a malformed-header
/// error whose message contains `reason`.
#[track_caller]
fn assert_malformed(input: &[u8], reason: &str) {
    let envelope = envelope();
    for (api, err) in errors_of(&envelope, input, &context()) {
        match &err {
            Error::MalformedHeader(message) if message.contains(reason) => {}
            other => panic!("{api}: expected MalformedHeader({reason:?}), got {other:?}"),
        }
    }
}

#[track_caller]
fn assert_all(input: &[u8], context: &Context, expected: impl Fn(&Error) -> bool, what: &str) {
    let envelope = envelope();
    let errors = if Header::parse(input).is_ok() {
        keyed_errors_of(&envelope, input, context)
    } else {
        errors_of(&envelope, input, context)
    };
    for (api, err) in errors {
        assert!(expected(&err), "{api}: expected {what}, got {err:?}");
    }
}

// ---- the builder and real messages agree -----------------------------------

#[test]
fn the_raw_builder_reproduces_real_messages() {
    for plaintext in [&b""[..], b"x", &[9u8; 1000]] {
        let (envelope, message) = sealed(plaintext);
        let raw = Raw::of(&message);
        assert_eq!(raw.message(), message);
        assert_eq!(
            Header::parse(&message).unwrap().1,
            raw.header().len(),
            "parse consumes exactly the header"
        );
        assert_eq!(
            envelope.open_to_vec(&raw.message(), &context()).unwrap(),
            plaintext
        );
    }
}

// ---- garbage and truncation ------------------------------------------------

#[test]
fn empty_input_is_a_truncated_header() {
    assert_malformed(b"", "truncated");
}

#[test]
fn short_garbage_is_malformed() {
    // A deterministic pseudo-random stream that never starts with the magic.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let garbage: Vec<u8> = (0..80)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_be_bytes()[0]
        })
        .collect();
    assert_ne!(garbage[..4], *b"TRSE");
    for len in 1..=80 {
        let input = &garbage[..len];
        // The magic is read and checked first: under 4 bytes is a truncation.
        let reason = if len < 4 { "truncated" } else { "magic" };
        assert_malformed(input, reason);
    }
    for fill in [0x00, 0xff, b'T'] {
        for len in [1, 3, 4, 41, 42, 80] {
            let reason = if len < 4 { "truncated" } else { "magic" };
            assert_malformed(&vec![fill; len], reason);
        }
    }
}

#[test]
fn a_header_truncated_at_every_length_is_malformed() {
    // A long context and key id so that every field is cut somewhere.
    let envelope = Envelope::new(
        Keyring::with_primary(fixed_kek("kek-with-a-rather-long-identifier", 2)).unwrap(),
    );
    let context = Context::from_pairs([("alpha", "one"), ("beta", "two"), ("gamma", "")]).unwrap();
    let message = envelope.seal_to_vec(b"payload", &context).unwrap();
    let header_len = Header::parse(&message).unwrap().1;
    assert_eq!(header_len, Raw::of(&message).header().len());
    for len in 0..header_len {
        for (api, err) in errors_of(&envelope, &message[..len], &context) {
            assert!(
                matches!(err, Error::MalformedHeader(m) if m.contains("truncated")),
                "cut at {len}, {api}: {err:?}"
            );
        }
    }
    // The header alone parses; without frames it does not open.
    let (parsed, used) = Header::parse(&message[..header_len]).unwrap();
    assert_eq!((parsed, used), Header::parse(&message).unwrap());
    for err in [
        envelope
            .open_to_vec(&message[..header_len], &context)
            .unwrap_err(),
        open_stream(&envelope, &message[..header_len], &context).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Decrypt), "{err:?}");
    }
    // Cut inside the frames: a decryption failure.
    for len in header_len..message.len() {
        let err = envelope.open_to_vec(&message[..len], &context).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "cut at {len}: {err:?}");
        let err = open_stream(&envelope, &message[..len], &context).unwrap_err();
        assert!(matches!(err, Error::Decrypt), "cut at {len}: {err:?}");
    }
}

// ---- fixed fields --------------------------------------------------------

#[test]
fn wrong_magic_is_malformed() {
    let (_, message) = sealed(b"x");
    for magic in [*b"TRSF", *b"trse", *b"ESRT", [0; 4], [0xff; 4], *b"age-"] {
        let mut raw = Raw::of(&message);
        raw.magic = magic;
        assert_malformed(&raw.message(), "magic");
    }
}

#[test]
fn unknown_versions_are_unsupported() {
    let (_, message) = sealed(b"x");
    for version in [0, 4, 5, 0x7f, 0xff] {
        let mut raw = Raw::of(&message);
        raw.version = version;
        assert_all(
            &raw.message(),
            &context(),
            |e| matches!(e, Error::UnsupportedVersion(v) if *v == version),
            &format!("UnsupportedVersion({version})"),
        );
        // Whatever follows the version (a future format's fields).
        let mut future = raw.header()[..6].to_vec();
        future.extend_from_slice(&[0xee; 100]);
        assert_all(
            &future,
            &context(),
            |e| matches!(e, Error::UnsupportedVersion(v) if *v == version),
            &format!("UnsupportedVersion({version})"),
        );
    }
}

#[test]
fn unknown_suites_are_unsupported() {
    let (_, message) = sealed(b"x");
    for suite in [0, 3, 4, 0x80, 0xff] {
        let mut raw = Raw::of(&message);
        raw.suite = suite;
        assert_all(
            &raw.message(),
            &context(),
            |e| matches!(e, Error::UnsupportedSuite(s) if *s == suite),
            &format!("UnsupportedSuite({suite})"),
        );
    }
    // The version is checked before the suite.
    let mut raw = Raw::of(&message);
    raw.version = 4;
    raw.suite = 0xff;
    assert_all(
        &raw.message(),
        &context(),
        |e| matches!(e, Error::UnsupportedVersion(4)),
        "UnsupportedVersion(4)",
    );
}

#[test]
fn frame_sizes_out_of_range_are_malformed() {
    let (envelope, message) = sealed(b"x");
    for frame_size in [
        0,
        1,
        MIN_FRAME_SIZE - 1,
        MAX_FRAME_SIZE + 1,
        1 << 31,
        u32::MAX,
    ] {
        let mut raw = Raw::of(&message);
        raw.frame_size = frame_size;
        assert_malformed(&raw.message(), "frame size");
    }
    // In range, the header parses; the changed prefix fails the commitment.
    for frame_size in [MIN_FRAME_SIZE, MAX_FRAME_SIZE] {
        let mut raw = Raw::of(&message);
        raw.frame_size = frame_size;
        let (parsed, _) = Header::parse(&raw.message()).unwrap();
        assert_eq!(parsed.frame_size(), frame_size);
        let err = envelope
            .open_to_vec(&raw.message(), &context())
            .unwrap_err();
        assert!(matches!(err, Error::Decrypt), "{err:?}");
    }
}

// ---- context -------------------------------------------------------------

#[test]
fn a_context_longer_than_the_maximum_is_malformed() {
    let (_, message) = sealed(b"x");
    for len in [MAX_CONTEXT_LEN + 1, 0xffff] {
        let mut raw = Raw::of(&message);
        raw.context_len = Some(u16::try_from(len).unwrap());
        // Even when that many bytes follow.
        raw.context = [entry(b"k", &vec![b'v'; len - 5])].concat();
        assert_eq!(raw.context.len(), len);
        assert_malformed(&raw.message(), "context too large");
    }
}

#[test]
fn badly_encoded_contexts_are_malformed() {
    let (_, message) = sealed(b"x");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not sorted",
            [entry(b"b", b"1"), entry(b"a", b"2")].concat(),
            "sorted",
        ),
        (
            "duplicate key",
            [entry(b"a", b"1"), entry(b"a", b"2")].concat(),
            "sorted",
        ),
        (
            "duplicate key, same value",
            [entry(b"a", b"1"), entry(b"a", b"1")].concat(),
            "sorted",
        ),
        (
            "sorted by length, not bytes",
            [entry(b"b", b""), entry(b"aa", b"")].concat(),
            "sorted",
        ),
        ("non-UTF-8 key", entry(b"\xff", b"1"), "UTF-8"),
        ("non-UTF-8 value", entry(b"a", b"\xc3\x28"), "UTF-8"),
        ("overlong UTF-8", entry(b"a", b"\xc0\xaf"), "UTF-8"),
        ("empty key", entry(b"", b"1"), "context"),
        (
            "entry cut short",
            entry(b"abc", b"1")[..4].to_vec(),
            "truncated",
        ),
        (
            "value length past the end",
            {
                let mut e = entry(b"a", b"1");
                e[4] = 9;
                e
            },
            "truncated",
        ),
        (
            "one stray byte",
            [entry(b"a", b"1"), vec![0]].concat(),
            "truncated",
        ),
        (
            "too many entries",
            (0..=MAX_CONTEXT_ENTRIES)
                .flat_map(|i| entry(format!("k{i:03}").as_bytes(), b""))
                .collect(),
            "context",
        ),
    ];
    for (what, context_bytes, reason) in cases {
        let mut raw = Raw::of(&message);
        raw.context = context_bytes;
        let input = raw.message();
        let envelope = envelope();
        for (api, err) in errors_of(&envelope, &input, &context()) {
            assert!(
                matches!(&err, Error::MalformedHeader(m) if m.contains(reason)),
                "{what}, {api}: expected MalformedHeader({reason:?}), got {err:?}"
            );
        }
    }
    // The largest valid context is accepted (and then fails the commitment).
    let mut raw = Raw::of(&message);
    raw.context = entry(b"k", &vec![b'v'; MAX_CONTEXT_LEN - 5]);
    let (parsed, _) = Header::parse(&raw.message()).unwrap();
    assert_eq!(
        parsed.context().get("k").unwrap().len(),
        MAX_CONTEXT_LEN - 5
    );
    // Exactly 64 entries too.
    let mut raw = Raw::of(&message);
    raw.context = (0..MAX_CONTEXT_ENTRIES)
        .flat_map(|i| entry(format!("k{i:03}").as_bytes(), b""))
        .collect();
    assert_eq!(
        Header::parse(&raw.message()).unwrap().0.context().len(),
        MAX_CONTEXT_ENTRIES
    );
}

// ---- key section ---------------------------------------------------------

#[test]
fn invalid_key_ids_are_malformed() {
    let (_, message) = sealed(b"x");
    let ids: [&[u8]; 9] = [
        b"",
        b" ",
        b"kek a",
        b"kek\ta",
        b"kek\x00",
        b"kek\x7f",
        b"\x01",
        "clé".as_bytes(),
        b"\xff\xfe",
    ];
    for id in ids {
        let mut raw = Raw::of(&message);
        raw.kek_id = id.to_vec();
        let input = raw.message();
        let envelope = envelope();
        for (api, err) in errors_of(&envelope, &input, &context()) {
            assert!(
                matches!(&err, Error::MalformedHeader(m) if m.contains("key id")),
                "id {id:?}, {api}: {err:?}"
            );
        }
    }
}

#[test]
fn wrapped_key_lengths_out_of_range_are_malformed() {
    let (envelope, message) = sealed(b"x");
    for len in [0, MAX_WRAPPED_DEK_LEN + 1, 0xffff] {
        let mut raw = Raw::of(&message);
        raw.wrapped = vec![0x5a; len];
        assert_malformed(&raw.message(), "wrapped key length");
    }
    // A length field larger than the bytes that follow: truncated.
    let mut raw = Raw::of(&message);
    raw.wrapped_len = Some(61);
    raw.frames.clear();
    assert_malformed(&raw.message(), "truncated");
    // At the maximum, the header parses and the key does not unwrap.
    let mut raw = Raw::of(&message);
    raw.wrapped = vec![0x5a; MAX_WRAPPED_DEK_LEN];
    assert_eq!(
        Header::parse(&raw.message()).unwrap().0.wrapped_dek().len(),
        MAX_WRAPPED_DEK_LEN
    );
    let err = envelope
        .open_to_vec(&raw.message(), &context())
        .unwrap_err();
    assert!(matches!(err, Error::Decrypt), "{err:?}");
    let err = envelope.rewrap_to_vec(&raw.message(), None).unwrap_err();
    assert!(matches!(err, Error::Decrypt), "{err:?}");
}

#[test]
fn a_well_formed_header_naming_an_unknown_key_is_unknown_kek() {
    let (_, message) = sealed(b"x");
    for id in ["kek-b", "KEK-A", "kek-a-", &"z".repeat(255)] {
        let mut raw = Raw::of(&message);
        raw.kek_id = id.as_bytes().to_vec();
        assert_all(
            &raw.message(),
            &context(),
            |e| matches!(e, Error::UnknownKek { key_id } if key_id == id),
            &format!("UnknownKek {{ key_id: {id:?} }}"),
        );
        // Header::parse needs no key and accepts it.
        assert_eq!(Header::parse(&raw.message()).unwrap().0.kek_id(), id);
    }
}

// ---- property tests ------------------------------------------------------

/// Runs every reader over `input`; only checks that they return.
fn run_all(envelope: &Envelope, input: &[u8], context: &Context) -> [bool; 5] {
    let parsed = Header::parse(input).is_ok();
    let opened = envelope.open_to_vec(input, context).is_ok();
    let streamed = open_stream(envelope, input, context).is_ok();
    let trickled = envelope
        .open(
            Trickle {
                data: input,
                chunk: 7,
            },
            Vec::new(),
            context,
        )
        .is_ok();
    let rewrapped = envelope.rewrap_to_vec(input, None).is_ok();
    let _ = rewrap_stream(envelope, input, None);
    [parsed, opened, streamed, trickled, rewrapped]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let envelope = envelope();
        let [_, opened, streamed, trickled, rewrapped] = run_all(&envelope, &input, &context());
        // Opening or rewrapping needs a key commitment made with the key.
        prop_assert!(!opened && !streamed && !trickled && !rewrapped);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(
        version in prop_oneof![Just(1u8), any::<u8>()],
        suite in prop_oneof![Just(1u8), Just(2u8), any::<u8>()],
        rest in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut input = b"TRSE".to_vec();
        input.push(version);
        input.push(suite);
        input.extend_from_slice(&rest);
        let envelope = envelope();
        let [_, opened, streamed, trickled, rewrapped] = run_all(&envelope, &input, &context());
        prop_assert!(!opened && !streamed && !trickled && !rewrapped);
    }

    #[test]
    fn arbitrary_frames_after_a_valid_header_never_open(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        frame_size in prop_oneof![Just(16u32), Just(17), Just(64), Just(65_536)],
        suite in prop_oneof![Just(Suite::Aes256Gcm), Just(Suite::Aes256GcmSiv)],
    ) {
        let envelope = envelope();
        let options = SealOptions::new().frame_size(frame_size).suite(suite);
        let message = envelope.seal_to_vec_with(b"", &context(), &options).unwrap();
        let header_len = Header::parse(&message).unwrap().1;
        let mut input = message[..header_len].to_vec();
        input.extend_from_slice(&body);
        prop_assume!(input != message);

        let [parsed, opened, streamed, trickled, _] = run_all(&envelope, &input, &context());
        prop_assert!(parsed);
        prop_assert!(!opened && !streamed && !trickled);
        let err = envelope.open_to_vec(&input, &context()).unwrap_err();
        prop_assert!(matches!(err, Error::Decrypt), "{:?}", err);

        // Rewrap does not read the frames (documented): it succeeds, copies
        // them unchanged, and the result still does not open.
        let moved = envelope.rewrap_to_vec(&input, None).unwrap();
        prop_assert_eq!(frames(&moved), &body[..]);
        prop_assert!(envelope.open_to_vec(&moved, &context()).is_err());
        let moved = rewrap_stream(&envelope, &input, None).unwrap();
        prop_assert_eq!(frames(&moved), &body[..]);
    }

    #[test]
    fn edited_messages_never_open(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let envelope = envelope();
        let options = SealOptions::new().frame_size(32);
        let message = envelope.seal_to_vec_with(&plaintext, &context(), &options).unwrap();
        let mut input = message.clone();
        for (index, value) in edits {
            let i = index.index(input.len());
            input[i] = value;
        }
        if let Some(cut) = cut {
            input.truncate(cut.index(input.len()));
        }
        input.extend_from_slice(&extra);
        prop_assume!(input != message);
        let [_, opened, streamed, trickled, _] = run_all(&envelope, &input, &context());
        prop_assert!(!opened && !streamed && !trickled);
    }
}

// ---- options and contexts ------------------------------------------------

#[test]
fn frame_sizes_out_of_range_are_refused_when_sealing() {
    let envelope = envelope();
    let context = context();
    for frame_size in [0, 1, MIN_FRAME_SIZE - 1, MAX_FRAME_SIZE + 1, u32::MAX] {
        let options = SealOptions::new().frame_size(frame_size);
        let is_invalid =
            |err: &Error| matches!(err, Error::InvalidFrameSize(n) if *n == frame_size);
        let err = envelope
            .seal_to_vec_with(b"x", &context, &options)
            .unwrap_err();
        assert!(is_invalid(&err), "{err:?}");
        let err = envelope
            .seal_with(&b"x"[..], Vec::new(), &context, &options)
            .unwrap_err();
        assert!(is_invalid(&err), "{err:?}");
        let err = envelope
            .seal_writer_with(Vec::new(), &context, &options)
            .err()
            .unwrap();
        assert!(is_invalid(&err), "{err:?}");
        let builder: EnvelopeBuilder =
            Envelope::builder(Keyring::with_primary(fixed_kek("kek-a", 1)).unwrap());
        let err = builder.options(options).build().err().unwrap();
        assert!(is_invalid(&err), "{err:?}");
        assert!(err.to_string().contains(&frame_size.to_string()), "{err}");
    }
    // The bounds themselves are valid.
    for frame_size in [MIN_FRAME_SIZE, MAX_FRAME_SIZE] {
        let options = SealOptions::new().frame_size(frame_size);
        let sealed = envelope.seal_to_vec_with(b"x", &context, &options).unwrap();
        assert_eq!(header(&sealed).frame_size(), frame_size);
        assert_eq!(envelope.open_to_vec(&sealed, &context).unwrap(), b"x");
    }
}

#[test]
fn context_limits_are_enforced() {
    let is = |result: Result<Context, Error>, reason: &str| {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidContext(m) if m.contains(reason)),
            "expected InvalidContext({reason:?}), got {err:?}"
        );
    };

    // Too many entries.
    is(
        Context::from_pairs((0..=MAX_CONTEXT_ENTRIES).map(|i| (format!("k{i}"), String::new()))),
        "too many",
    );
    let mut full =
        Context::from_pairs((0..MAX_CONTEXT_ENTRIES).map(|i| (format!("k{i}"), ""))).unwrap();
    assert_eq!(full.len(), MAX_CONTEXT_ENTRIES);
    let before = full.clone();
    assert!(matches!(
        full.insert("z", ""),
        Err(Error::InvalidContext(_))
    ));
    assert_eq!(full, before, "a refused insert changes nothing");

    // Too large: each entry costs 4 bytes plus its key and value.
    let fits = "v".repeat(MAX_CONTEXT_LEN - 5);
    let at_limit = Context::from_pairs([("k", fits.as_str())]).unwrap();
    let too_big = "v".repeat(MAX_CONTEXT_LEN - 4);
    is(Context::from_pairs([("k", too_big.as_str())]), "too large");
    is(
        Context::from_pairs([("k", "v".repeat(70_000))]),
        "too large",
    );
    is(
        Context::from_pairs([("a", fits.as_str()), ("b", "")]),
        "too large",
    );

    // Empty key, duplicate key.
    is(Context::from_pairs([("", "v")]), "empty key");
    is(Context::from_pairs([("a", "1"), ("", "2")]), "empty key");
    is(Context::from_pairs([("a", "1"), ("a", "1")]), "duplicate");
    is(
        Context::from_pairs([("a", "1"), ("b", "2"), ("a", "3")]),
        "duplicate",
    );

    // The largest context round-trips through a message.
    let envelope = envelope();
    let sealed = envelope.seal_to_vec(b"x", &at_limit).unwrap();
    assert_eq!(header(&sealed).context(), &at_limit);
    assert_eq!(envelope.open_to_vec(&sealed, &at_limit).unwrap(), b"x");
    // And a context that differs only in the value's last byte is refused.
    let mut other = fits.clone();
    other.pop();
    other.push('w');
    let other = Context::from_pairs([("k", other.as_str())]).unwrap();
    assert!(matches!(
        envelope.open_to_vec(&sealed, &other),
        Err(Error::Decrypt)
    ));
}
