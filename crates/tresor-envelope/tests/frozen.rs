//! Frozen known-answer files of every envelope format version, each written
//! once and never regenerated: version 1 (`tests/vectors/frozen/`, by
//! tresor 0.1.0), version 2 (`tests/vectors/frozen-v2/`) and version 3
//! (`tests/vectors/frozen-v3/`); see their
//! READMEs. Today's code must still load their key files, open every message
//! to its plaintext byte for byte, parse every header to the recorded
//! fields, refuse a wrong context, rewrap each message within its own
//! version, and seal with the latest version's layout. A change of wire
//! format breaks this file.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::{ctx, frames, header, open_stream};
use tresor_envelope::{
    Context, Envelope, Error, Header, KeyEncryptionKey, LOCAL_WRAPPED_LEN, LocalKek, MAGIC,
    SealOptions, Suite, TAG_LEN, VERSION,
};

/// The key that sealed every message.
const KEK_1: &str = "frozen-kek-1";
/// The key the rewrapped message was moved to.
const KEK_2: &str = "frozen-kek-2";
/// The key files' check values, as written in them.
const KEK_1_CHECK: &str = "23a79e";
const KEK_2_CHECK: &str = "2b635e";

/// The records' context.
const RECORD_CONTEXT: &[(&str, &str)] = &[
    ("field", "iban"),
    ("record", "customer/1842"),
    ("tenant", "acme"),
];
/// The streams' context.
const STREAM_CONTEXT: &[(&str, &str)] = &[("backup", "2026-01-31"), ("tenant", "acme")];
/// The empty messages' context: no entries.
const EMPTY_CONTEXT: &[(&str, &str)] = &[];

/// The records' plaintext.
const RECORD_PLAINTEXT: &[u8] = b"DE89 3704 0044 0532 0130 00";
/// Frame size of the streams (records and empty messages use the default).
const STREAM_FRAME_SIZE: u32 = 256;

/// The streams' plaintext of `n` bytes: byte `i` is `i mod 251`.
fn stream_plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

/// One frozen message and everything recorded about it.
struct Frozen {
    file: &'static str,
    suite: Suite,
    frame_size: u32,
    context: &'static [(&'static str, &'static str)],
    plaintext: fn() -> Vec<u8>,
    /// The number of frames.
    frames: usize,
    /// The header's message id and commitment, hex.
    message_id: &'static str,
    commitment: &'static str,
}

/// Version 1, written by tresor 0.1.0.
const FROZEN_V1: &[Frozen] = &[
    Frozen {
        file: "aes-256-gcm-record.trse",
        suite: Suite::Aes256Gcm,
        frame_size: 65_536,
        context: RECORD_CONTEXT,
        plaintext: || RECORD_PLAINTEXT.to_vec(),
        frames: 1,
        message_id: "19730c88f3c2703469f34198ece635d48a7f4a21631d82988a762765b7aa14ba",
        commitment: "01af8af26bc0ebb6ecbb7b29ede0aa85cb9212e9f954cf0f61de557085a8f2e6",
    },
    Frozen {
        file: "aes-256-gcm-stream.trse",
        suite: Suite::Aes256Gcm,
        frame_size: STREAM_FRAME_SIZE,
        context: STREAM_CONTEXT,
        plaintext: || stream_plaintext(3000),
        frames: 12,
        message_id: "22eac411be691266c56a42f16e892f38e857677bdad47425bce17248e3b71aea",
        commitment: "b445f86269cf04543aaa97c4cb94378bb9e5b9d9a423cd030a3307bcde0c47fb",
    },
    Frozen {
        file: "aes-256-gcm-empty.trse",
        suite: Suite::Aes256Gcm,
        frame_size: 65_536,
        context: EMPTY_CONTEXT,
        plaintext: Vec::new,
        frames: 1,
        message_id: "e514e5107356d9a7e00c90b58868b143223a2220e67c61b7533b3a4757666220",
        commitment: "ee4551b2f2e577a9d6a28b0b3b5e5bbb124b6154d8671fdf9f73f505911e0fc5",
    },
    Frozen {
        file: "aes-256-gcm-siv-record.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: 65_536,
        context: RECORD_CONTEXT,
        plaintext: || RECORD_PLAINTEXT.to_vec(),
        frames: 1,
        message_id: "4321dbde45f1e56d26c72486cb4e673d2cd9ff465846f6ee299b310fb044ac35",
        commitment: "33028954781698f87d4135bee8f5eec3f90ee1694be968163dda1d1dcb214084",
    },
    Frozen {
        file: "aes-256-gcm-siv-stream.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: STREAM_FRAME_SIZE,
        context: STREAM_CONTEXT,
        plaintext: || stream_plaintext(2048),
        frames: 8,
        message_id: "055e0705ddf27fc4c09b5da460c6849a4244ff97d999fddbc5ef4407a60ed159",
        commitment: "7601b5f697a9b236431d08810a83dca5ce49f8d1aafa78325587d1ec4078ea9e",
    },
    Frozen {
        file: "aes-256-gcm-siv-empty.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: 65_536,
        context: EMPTY_CONTEXT,
        plaintext: Vec::new,
        frames: 1,
        message_id: "e4d612e18500635687097ecb6155a5fb79d583f82cf743ac3fb49db883a6d1a4",
        commitment: "ca3b9215541b6968f937b04b914be195fae54b6bb8f94b398e3e4332f2542766",
    },
];

/// Version 2, written by the first release of the one-expand derivation.
const FROZEN_V2: &[Frozen] = &[
    Frozen {
        file: "aes-256-gcm-record.trse",
        suite: Suite::Aes256Gcm,
        frame_size: 65_536,
        context: RECORD_CONTEXT,
        plaintext: || RECORD_PLAINTEXT.to_vec(),
        frames: 1,
        message_id: "5ff11088c44c6575f1c81e8a8b7dc774f6fa144bb755d0ceb34f03bc3b135b12",
        commitment: "6e6514026abd6d60200ad6b5526d019c5584674d3908f3979a6f9cb09a93e103",
    },
    Frozen {
        file: "aes-256-gcm-stream.trse",
        suite: Suite::Aes256Gcm,
        frame_size: STREAM_FRAME_SIZE,
        context: STREAM_CONTEXT,
        plaintext: || stream_plaintext(3000),
        frames: 12,
        message_id: "c28ef51f6228279d963a95e726a1e7023eb2ccbdeb860fc031d147a41f1ee44f",
        commitment: "dd1c717d95782a9aa1a84bc7909888dd845bba454522c1a6d1fb2a9f29e3bb05",
    },
    Frozen {
        file: "aes-256-gcm-empty.trse",
        suite: Suite::Aes256Gcm,
        frame_size: 65_536,
        context: EMPTY_CONTEXT,
        plaintext: Vec::new,
        frames: 1,
        message_id: "177042ec7949192c27fc503fc15ed6ebb4c7c6e47086ce0f5882f6cdaf54ecd5",
        commitment: "cc7c07d785945801acf145bae197f805d74c9191c2f3408e59002202991d0d80",
    },
    Frozen {
        file: "aes-256-gcm-siv-record.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: 65_536,
        context: RECORD_CONTEXT,
        plaintext: || RECORD_PLAINTEXT.to_vec(),
        frames: 1,
        message_id: "e03be93fe6bb7fc1406c4a43450f2e6b222d6b20ef89eabbd4a863e75e2c9a6c",
        commitment: "6c4bec847f8151f96b7bc68a272946b9380ba3a88ec34b6631d4b8009e26b758",
    },
    Frozen {
        file: "aes-256-gcm-siv-stream.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: STREAM_FRAME_SIZE,
        context: STREAM_CONTEXT,
        plaintext: || stream_plaintext(2048),
        frames: 8,
        message_id: "bff7f1b3a5ec5764dca56b23f515566f2afa7fa948318842dbdd435bea2d3156",
        commitment: "f06a1f48671168c9091ce7b2c95905bc40f3114ab8bf39b9255bd3d428e21413",
    },
    Frozen {
        file: "aes-256-gcm-siv-empty.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: 65_536,
        context: EMPTY_CONTEXT,
        plaintext: Vec::new,
        frames: 1,
        message_id: "f26dddfa407a96cb26eb7e6e65ca60d0186c3f2bd235b258a4e65139671805c6",
        commitment: "c3aca833670ddbf2f2ee646767c7b92e691d4487e2e1031e135b8809a660f470",
    },
];

/// Version 3, written by the one-block derivation with a per-key commitment
/// (`tests/vectors/frozen-v3/`): the same cases.
const FROZEN_V3: &[Frozen] = &[
    Frozen {
        file: "aes-256-gcm-record.trse",
        suite: Suite::Aes256Gcm,
        frame_size: 65_536,
        context: RECORD_CONTEXT,
        plaintext: || RECORD_PLAINTEXT.to_vec(),
        frames: 1,
        message_id: "80f9fc7dbb1c13e2c401922ac9a7963dc8eb14f1814287b93e9751c8b3c8ec5c",
        commitment: "06811cd33234b2c89bad180700b88c8acb6e562d9097918546901891ed7ea1fd",
    },
    Frozen {
        file: "aes-256-gcm-stream.trse",
        suite: Suite::Aes256Gcm,
        frame_size: STREAM_FRAME_SIZE,
        context: STREAM_CONTEXT,
        plaintext: || stream_plaintext(3000),
        frames: 12,
        message_id: "89893f5da0e4a0749b2418c6929753cd01270ebe1f9581ed8ec40a2eb77c8244",
        commitment: "3685df3345beec74b8fa68da95d8b543067b29d2754641e60818768566160e66",
    },
    Frozen {
        file: "aes-256-gcm-empty.trse",
        suite: Suite::Aes256Gcm,
        frame_size: 65_536,
        context: EMPTY_CONTEXT,
        plaintext: Vec::new,
        frames: 1,
        message_id: "8158d737c175b661c21cbc590e9ed006adc91584b4e93a8a922ae54e6835a5a5",
        commitment: "e95e53ccf53cfd1f066fea924da4d52916cbfab6ab80369514b9d6937b440212",
    },
    Frozen {
        file: "aes-256-gcm-siv-record.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: 65_536,
        context: RECORD_CONTEXT,
        plaintext: || RECORD_PLAINTEXT.to_vec(),
        frames: 1,
        message_id: "9d032f99b53a4101ed89b8c5eb3d793ed631e762f4294caf2547b374806486ff",
        commitment: "e127d9b8ffc973eb686295ab0b751de20f3defb6221db9d60336f8eee5f4b48a",
    },
    Frozen {
        file: "aes-256-gcm-siv-stream.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: STREAM_FRAME_SIZE,
        context: STREAM_CONTEXT,
        plaintext: || stream_plaintext(2048),
        frames: 8,
        message_id: "91d4ed1d07822989be13673b5353426fb4cd33dc2299549d1676cb0751df865e",
        commitment: "96582886e078b2bd7b88c25b6fe63acc08b93a35ec4dfed2a696477e5f0e7267",
    },
    Frozen {
        file: "aes-256-gcm-siv-empty.trse",
        suite: Suite::Aes256GcmSiv,
        frame_size: 65_536,
        context: EMPTY_CONTEXT,
        plaintext: Vec::new,
        frames: 1,
        message_id: "74431add22d66638d8ec2477cf2b89944392d72ebce06db33aa375114f84c499",
        commitment: "9225d37e9f2d7d3feba32a789c2e0fe486d135e25b4ab2b943e3172a4380a5fe",
    },
];

/// One folder of frozen messages: one format version.
struct Set {
    /// The folder under `tests/vectors/`.
    dir: &'static str,
    version: u8,
    cases: &'static [Frozen],
}

/// Every format version, oldest first; the last is the one written today.
const SETS: &[Set] = &[
    Set {
        dir: "frozen",
        version: 1,
        cases: FROZEN_V1,
    },
    Set {
        dir: "frozen-v2",
        version: 2,
        cases: FROZEN_V2,
    },
    Set {
        dir: "frozen-v3",
        version: 3,
        cases: FROZEN_V3,
    },
];

/// The set of the format version today's code writes.
fn latest() -> &'static Set {
    SETS.last().unwrap()
}

/// Every frozen message of every version, with its set.
fn all_cases() -> impl Iterator<Item = (&'static Set, &'static Frozen)> {
    SETS.iter()
        .flat_map(|set| set.cases.iter().map(move |case| (set, case)))
}

/// The rewrapped message: `aes-256-gcm-stream.trse` moved to [`KEK_2`].
const REWRAPPED: &str = "aes-256-gcm-stream-rewrapped.trse";
/// The message it was rewrapped from (an index into a set's cases).
const REWRAPPED_FROM: usize = 1;

fn dir(set: &Set) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(set.dir)
}

fn read(set: &Set, name: &str) -> Vec<u8> {
    std::fs::read(dir(set).join(name)).unwrap()
}

/// The key files, shared by every version, live with version 1's messages.
fn key_file(id: &str) -> PathBuf {
    dir(&SETS[0]).join(format!("{id}.key"))
}

/// An envelope holding the frozen keys `ids`, the first one primary.
fn envelope(ids: &[&str]) -> Envelope {
    common::envelope_with(
        ids.iter()
            .map(|id| LocalKek::load(key_file(id)).unwrap())
            .collect(),
    )
}

fn options(case: &Frozen) -> SealOptions {
    SealOptions::new()
        .suite(case.suite)
        .frame_size(case.frame_size)
}

/// The context bytes as the header encodes them (FORMAT.md, "Encryption
/// context"), written here independently of the library.
fn context_bytes(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        out.extend_from_slice(&u16::try_from(key.len()).unwrap().to_be_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// The message length FORMAT.md ("Sizes") gives.
fn expected_len(case: &Frozen, plaintext_len: usize) -> usize {
    let frames = plaintext_len.div_ceil(case.frame_size as usize).max(1);
    76 + context_bytes(case.context).len()
        + 3
        + KEK_1.len()
        + LOCAL_WRAPPED_LEN
        + plaintext_len
        + TAG_LEN * frames
}

#[test]
fn key_files_load_and_reencode_byte_for_byte() {
    for (id, check) in [(KEK_1, KEK_1_CHECK), (KEK_2, KEK_2_CHECK)] {
        let text = std::fs::read_to_string(key_file(id)).unwrap();
        let kek = LocalKek::from_key_file(&text).unwrap();
        assert_eq!(kek.key_id(), id, "{id}: key id");
        assert_eq!(kek.check_value(), check, "{id}: check value");
        assert_eq!(*kek.to_key_file(), text, "{id}: key file text");
        LocalKek::load(key_file(id)).unwrap();
    }
}

#[test]
fn frozen_messages_open_to_their_plaintext() {
    let envelope = envelope(&[KEK_1]);
    for (set, case) in all_cases() {
        let message = read(set, case.file);
        let context = ctx(case.context);
        let plaintext = (case.plaintext)();
        assert_eq!(
            envelope.open_to_vec(&message, &context).unwrap(),
            plaintext,
            "{}: open_to_vec",
            case.file
        );
        assert_eq!(
            open_stream(&envelope, &message, &context).unwrap(),
            plaintext,
            "{}: open",
            case.file
        );
        let mut read_back = Vec::new();
        envelope
            .open_reader(&message[..], &context)
            .unwrap()
            .read_to_end(&mut read_back)
            .unwrap();
        assert_eq!(read_back, plaintext, "{}: open_reader", case.file);
    }
}

#[test]
fn frozen_headers_parse_to_the_recorded_fields() {
    for (set, case) in all_cases() {
        let message = read(set, case.file);
        let plaintext_len = (case.plaintext)().len();
        let (parsed, header_len) = Header::parse(&message).unwrap();
        let name = case.file;

        assert_eq!(parsed.version(), set.version, "{name}: version");
        assert_eq!(parsed.suite(), case.suite, "{name}: suite");
        assert_eq!(parsed.frame_size(), case.frame_size, "{name}: frame size");
        assert_eq!(parsed.kek_id(), KEK_1, "{name}: kek id");
        assert_eq!(parsed.context(), &ctx(case.context), "{name}: context");
        assert_eq!(
            hex::encode(parsed.message_id()),
            case.message_id,
            "{name}: message id"
        );
        assert_eq!(
            hex::encode(parsed.commitment()),
            case.commitment,
            "{name}: commitment"
        );
        assert_eq!(
            parsed.wrapped_dek().len(),
            LOCAL_WRAPPED_LEN,
            "{name}: wrapped key"
        );

        // Re-encoding the parsed header gives the file's bytes.
        assert_eq!(header_len, parsed.encoded_len(), "{name}: header length");
        assert_eq!(
            parsed.to_bytes(),
            &message[..header_len],
            "{name}: header bytes"
        );

        // The fixed positions of FORMAT.md, read without the library.
        let context = context_bytes(case.context);
        let c = context.len();
        assert_eq!(&message[0..4], b"TRSE", "{name}: magic");
        assert_eq!(message[4], set.version, "{name}: version byte");
        let suite_byte = match case.suite {
            Suite::Aes256Gcm => 0x01,
            _ => 0x02,
        };
        assert_eq!(message[5], suite_byte, "{name}: suite byte");
        assert_eq!(
            message[6..10],
            case.frame_size.to_be_bytes(),
            "{name}: frame size"
        );
        assert_eq!(
            hex::encode(&message[10..42]),
            case.message_id,
            "{name}: message id bytes"
        );
        assert_eq!(
            message[42..44],
            u16::try_from(c).unwrap().to_be_bytes(),
            "{name}: context length"
        );
        assert_eq!(&message[44..44 + c], &context[..], "{name}: context bytes");
        assert_eq!(
            hex::encode(&message[44 + c..76 + c]),
            case.commitment,
            "{name}: commitment bytes"
        );
        assert_eq!(
            usize::from(message[76 + c]),
            KEK_1.len(),
            "{name}: kek id length"
        );
        assert_eq!(
            &message[77 + c..77 + c + KEK_1.len()],
            KEK_1.as_bytes(),
            "{name}: kek id bytes"
        );
        let at = 77 + c + KEK_1.len();
        assert_eq!(
            message[at..at + 2],
            u16::try_from(LOCAL_WRAPPED_LEN).unwrap().to_be_bytes(),
            "{name}: wrapped key length"
        );
        assert_eq!(
            at + 2 + LOCAL_WRAPPED_LEN,
            header_len,
            "{name}: key section end"
        );

        // The frames: every one but the last is frame_size + 16 bytes.
        assert_eq!(
            message.len(),
            expected_len(case, plaintext_len),
            "{name}: length"
        );
        let body = frames(&message);
        let full = case.frame_size as usize + TAG_LEN;
        assert_eq!(body.len().div_ceil(full), case.frames, "{name}: frames");
        assert_eq!(
            body.len() - (case.frames - 1) * full,
            plaintext_len - (case.frames - 1) * case.frame_size as usize + TAG_LEN,
            "{name}: last frame"
        );
    }
}

#[test]
fn the_edges_are_covered() {
    // A stream ending in a partial frame, one ending in a full frame, and an
    // empty message (its one frame is empty), for the FORMAT.md frame rules.
    for set in SETS {
        let gcm = &set.cases[1];
        let siv = &set.cases[4];
        assert_ne!((gcm.plaintext)().len() % gcm.frame_size as usize, 0);
        assert_eq!((siv.plaintext)().len() % siv.frame_size as usize, 0);
        assert!(siv.frames > 1);
        for case in set.cases.iter().filter(|c| (c.plaintext)().is_empty()) {
            assert_eq!(
                frames(&read(set, case.file)).len(),
                TAG_LEN,
                "{}",
                case.file
            );
        }
        for suite in Suite::ALL {
            assert_eq!(set.cases.iter().filter(|c| c.suite == suite).count(), 3);
        }
    }
}

#[test]
fn a_wrong_context_fails() {
    let envelope = envelope(&[KEK_1]);
    for (set, case) in all_cases() {
        let message = read(set, case.file);
        let mut wrong: Vec<(&str, &str)> = case.context.to_vec();
        match wrong.first_mut() {
            Some(first) => first.1 = "other",
            None => wrong.push(("tenant", "acme")),
        }
        for context in [ctx(&wrong), Context::new(), ctx(&[("tenant", "globex")])] {
            if context == ctx(case.context) {
                continue;
            }
            assert!(
                matches!(
                    envelope.open_to_vec(&message, &context),
                    Err(Error::Decrypt)
                ),
                "{}: opened under {context:?}",
                case.file
            );
            assert!(
                matches!(
                    open_stream(&envelope, &message, &context),
                    Err(Error::Decrypt)
                ),
                "{}: streamed under {context:?}",
                case.file
            );
        }
    }
}

#[test]
fn todays_seal_has_the_frozen_layout() {
    let envelope = envelope(&[KEK_1]);
    assert_eq!(MAGIC, *b"TRSE");
    let set = latest();
    assert_eq!(VERSION, set.version);
    for case in set.cases {
        let frozen = read(set, case.file);
        let context = ctx(case.context);
        let plaintext = (case.plaintext)();
        let sealed = envelope
            .seal_to_vec_with(&plaintext, &context, &options(case))
            .unwrap();
        let (old, old_len) = Header::parse(&frozen).unwrap();
        let (new, new_len) = Header::parse(&sealed).unwrap();
        let name = case.file;

        assert_eq!(sealed.len(), frozen.len(), "{name}: length");
        assert_eq!(new_len, old_len, "{name}: header length");
        // Magic, version, suite, frame size.
        assert_eq!(sealed[..10], frozen[..10], "{name}: fixed fields");
        // Context length and context.
        let c = context_bytes(case.context).len();
        assert_eq!(sealed[42..44 + c], frozen[42..44 + c], "{name}: context");
        // Key id length, key id and wrapped key length.
        let at = 76 + c;
        let id_end = at + 1 + KEK_1.len() + 2;
        assert_eq!(
            sealed[at..id_end],
            frozen[at..id_end],
            "{name}: key section"
        );
        // Random per message: the message id, the commitment, the wrapped key.
        assert_ne!(new.message_id(), old.message_id(), "{name}: message id");
        assert_ne!(new.commitment(), old.commitment(), "{name}: commitment");
        assert_eq!(
            (new.version(), new.suite(), new.frame_size(), new.kek_id()),
            (old.version(), old.suite(), old.frame_size(), old.kek_id()),
            "{name}: header fields"
        );
        assert_eq!(new.context(), old.context(), "{name}: header context");
        assert_eq!(
            envelope.open_to_vec(&sealed, &context).unwrap(),
            plaintext,
            "{name}: today's seal opens"
        );
        assert_eq!(header(&sealed).encoded_len(), new_len);
    }
}

#[test]
fn the_rewrapped_message_keeps_header_and_frames_byte_for_byte() {
    for set in SETS {
        rewrapped_message_keeps_header_and_frames(set);
    }
}

/// A rewrap never changes a message's version: only its key section.
fn rewrapped_message_keeps_header_and_frames(set: &Set) {
    let original_case = &set.cases[REWRAPPED_FROM];
    let original = read(set, original_case.file);
    let rewrapped = read(set, REWRAPPED);
    let context = ctx(original_case.context);

    // Opens with the new key alone.
    let only_new = envelope(&[KEK_2]);
    assert_eq!(
        only_new.open_to_vec(&rewrapped, &context).unwrap(),
        (original_case.plaintext)()
    );
    assert!(matches!(
        only_new.open_to_vec(&original, &context),
        Err(Error::UnknownKek { .. })
    ));

    // Only the key section changed.
    let (old, old_len) = Header::parse(&original).unwrap();
    let (new, new_len) = Header::parse(&rewrapped).unwrap();
    assert_eq!(new.kek_id(), KEK_2);
    assert_eq!((new.version(), old.version()), (set.version, set.version));
    assert_eq!(new.message_id(), old.message_id());
    assert_eq!(new.commitment(), old.commitment());
    let key_section_start = 76 + context_bytes(original_case.context).len();
    assert_eq!(
        rewrapped[..key_section_start],
        original[..key_section_start]
    );
    assert_eq!(frames(&rewrapped), frames(&original));
    assert_eq!(new_len - old_len, KEK_2.len() - KEK_1.len());

    // Today's rewrap of the original gives the same bytes but for the
    // wrapped key (its nonce is random).
    let both = envelope(&[KEK_1, KEK_2]);
    let today = both.rewrap_to_vec(&original, Some(KEK_2)).unwrap();
    assert_eq!(today.len(), rewrapped.len());
    let wrapped_start = new_len - LOCAL_WRAPPED_LEN;
    assert_eq!(today[..wrapped_start], rewrapped[..wrapped_start]);
    assert_eq!(today[new_len..], rewrapped[new_len..]);
    assert_eq!(
        both.open_to_vec(&today, &context).unwrap(),
        (original_case.plaintext)()
    );
}

/// Writes the frozen messages of the latest format version (the last of
/// [`SETS`]) into its folder, with the existing key files (generated only
/// if absent). For a new format version only, into a new folder: it refuses
/// to overwrite anything, and the files of a released format are never
/// regenerated. Run with
/// `TRESOR_REGENERATE_FROZEN=1 cargo test -p tresor-envelope --test frozen -- --ignored`,
/// then copy the printed values into this file and the README.
#[test]
#[ignore = "writes the frozen files; for a new format version only"]
fn regenerate_frozen_files() {
    if std::env::var_os("TRESOR_REGENERATE_FROZEN").is_none_or(|v| v != "1") {
        eprintln!("set TRESOR_REGENERATE_FROZEN=1 to write the frozen files");
        return;
    }
    let set = latest();
    let dir = dir(set);
    std::fs::create_dir_all(&dir).unwrap();
    let mut names: Vec<String> = set.cases.iter().map(|c| c.file.to_owned()).collect();
    names.push(REWRAPPED.to_owned());
    for name in &names {
        assert!(
            !dir.join(name).exists(),
            "{name} exists: frozen files are never overwritten"
        );
    }
    for id in [KEK_1, KEK_2] {
        if !key_file(id).exists() {
            let kek = LocalKek::generate(id).unwrap();
            kek.save(key_file(id)).unwrap();
            println!("{id} check value: {}", kek.check_value());
        }
    }
    let envelope = envelope(&[KEK_1, KEK_2]);
    for case in set.cases {
        let sealed = envelope
            .seal_to_vec_with(&(case.plaintext)(), &ctx(case.context), &options(case))
            .unwrap();
        let parsed = header(&sealed);
        println!(
            "{}: {} bytes, message_id {}, commitment {}",
            case.file,
            sealed.len(),
            hex::encode(parsed.message_id()),
            hex::encode(parsed.commitment())
        );
        write_new(&dir.join(case.file), &sealed);
    }
    let original = read(set, set.cases[REWRAPPED_FROM].file);
    let rewrapped = envelope.rewrap_to_vec(&original, Some(KEK_2)).unwrap();
    write_new(&dir.join(REWRAPPED), &rewrapped);
}

/// Writes a new file, failing if it exists.
fn write_new(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}
