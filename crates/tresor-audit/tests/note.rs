//! Signed notes (C2SP signed-note): the Go reference example, round trips,
//! cosigning, unknown and bad signatures, malformed notes and keys.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use tresor_audit::Error;
use tresor_audit::note::{self, MAX_SIGNATURES, Note, NoteSigner, NoteVerifier};

// The example key pair and note of the Go reference implementation,
// golang.org/x/mod/sumdb/note (package documentation and note_test.go).
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n\
                       \n\
                       \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
// From the package documentation: the same note cosigned by "EnochRoot",
// whose key is not published (so its signature is an unknown key's).
const GO_ENOCH_LINE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn go_verifier() -> NoteVerifier {
    NoteVerifier::from_key_string(GO_VKEY).unwrap()
}

fn is_malformed(r: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(r, Err(Error::Malformed { .. }))
}

#[test]
fn go_reference_keys_parse_and_match() {
    let signer = NoteSigner::from_key_string(GO_SKEY).unwrap();
    let verifier = go_verifier();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_hash(), 0xc74f20a3);
    assert_eq!(verifier.key_hash(), 0xc74f20a3);
    assert_eq!(signer.verifier(), verifier);
    assert_eq!(verifier.to_key_string(), GO_VKEY);
    assert_eq!(signer.to_key_string().as_str(), GO_SKEY);
}

#[test]
fn go_reference_note_signs_byte_for_byte() {
    // Ed25519 is deterministic: our signature must equal Go's.
    let signer = NoteSigner::from_key_string(GO_SKEY).unwrap();
    assert_eq!(note::sign(GO_TEXT, &[&signer]).unwrap(), GO_NOTE);
}

#[test]
fn go_reference_note_opens() {
    let opened = note::open(GO_NOTE, &[go_verifier()]).unwrap();
    assert_eq!(opened.text(), GO_TEXT);
    assert_eq!(opened.key_names(), ["PeterNeumann"]);
}

#[test]
fn go_reference_cosigned_note_opens_ignoring_unknown_key() {
    let cosigned = format!("{GO_NOTE}{GO_ENOCH_LINE}");
    let opened = note::open(&cosigned, &[go_verifier()]).unwrap();
    assert_eq!(opened.text(), GO_TEXT);
    assert_eq!(opened.key_names(), ["PeterNeumann"]);
    let parsed = Note::parse(&cosigned).unwrap();
    assert_eq!(parsed.signatures().len(), 2);
    assert_eq!(parsed.signatures()[1].name(), "EnochRoot");
}

#[test]
fn go_reference_note_tampered_text_is_rejected() {
    let tampered = GO_NOTE.replace("cryptography", "cryptographY");
    assert!(matches!(
        note::open(&tampered, &[go_verifier()]),
        Err(Error::SignatureMissing { key_name }) if key_name == "PeterNeumann"
    ));
}

#[test]
fn every_single_byte_change_of_the_verifier_key_is_rejected() {
    let b = GO_VKEY.as_bytes().to_vec();
    for i in 0..b.len() {
        let mut m = b.clone();
        m[i] = m[i].wrapping_add(1);
        if let Ok(s) = String::from_utf8(m) {
            assert!(NoteVerifier::from_key_string(&s).is_err(), "{s}");
        }
    }
    for i in 0..b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            let s = std::str::from_utf8(&b[i..j]).unwrap();
            assert!(NoteVerifier::from_key_string(s).is_err(), "{s}");
        }
    }
}

#[test]
fn signer_key_with_wrong_hash_or_shape_is_rejected() {
    for bad in [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY++c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "",
    ] {
        assert!(NoteSigner::from_key_string(bad).is_err(), "{bad}");
    }
    // Never echo the secret in errors.
    let err = NoteSigner::from_key_string(
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    )
    .unwrap_err();
    assert!(!err.to_string().contains("AYEKFALV"));
}

#[test]
fn uppercase_key_hash_is_accepted() {
    let v = NoteVerifier::from_key_string(
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    )
    .unwrap();
    assert_eq!(v, go_verifier());
}

#[test]
fn non_ed25519_key_types_are_rejected() {
    // The same 32 bytes as the Go key, type byte 0x02.
    let mut raw = vec![0x02u8];
    raw.extend_from_slice(go_verifier().public_key());
    use base64ct::Encoding;
    let vkey = format!(
        "PeterNeumann+c74f20a3+{}",
        base64ct::Base64::encode_string(&raw)
    );
    assert!(is_malformed(NoteVerifier::from_key_string(&vkey)));
}

#[test]
fn signer_debug_is_redacted() {
    let signer = NoteSigner::from_key_string(GO_SKEY).unwrap();
    let debug = format!("{signer:?}");
    assert!(debug.contains("PeterNeumann"));
    assert!(debug.contains("c74f20a3"));
    assert!(!debug.contains("AYEKFALV"));
    assert!(!debug.contains("seed"));
}

#[test]
fn generated_keys_round_trip() {
    let signer = NoteSigner::generate("example.com/log").unwrap();
    let again = NoteSigner::from_key_string(&signer.to_key_string()).unwrap();
    assert_eq!(again.verifier(), signer.verifier());
    let v = NoteVerifier::from_key_string(&signer.verifier().to_key_string()).unwrap();
    assert_eq!(v, signer.verifier());
    assert_ne!(
        NoteSigner::generate("example.com/log").unwrap().verifier(),
        signer.verifier()
    );
    assert!(NoteSigner::generate("has space").is_err());
    assert!(NoteSigner::generate("has+plus").is_err());
    assert!(NoteSigner::generate("").is_err());
    assert!(NoteSigner::generate("nbsp\u{a0}name").is_err());
}

#[test]
fn cosigned_note_verifies_with_either_key() {
    let a = NoteSigner::generate("log.example/a").unwrap();
    let b = NoteSigner::generate("witness.example/b").unwrap();
    let signed = note::sign("tree head\n", &[&a, &b]).unwrap();
    assert_eq!(
        note::open(&signed, &[a.verifier()]).unwrap().key_names(),
        ["log.example/a"]
    );
    assert_eq!(
        note::open(&signed, &[b.verifier()]).unwrap().key_names(),
        ["witness.example/b"]
    );
    let both = note::open(&signed, &[b.verifier(), a.verifier()]).unwrap();
    assert_eq!(both.key_names(), ["log.example/a", "witness.example/b"]);
    assert!(both.is_signed_by("witness.example/b"));
}

#[test]
fn only_unknown_signatures_is_signature_missing() {
    let a = NoteSigner::generate("a").unwrap();
    let b = NoteSigner::generate("b").unwrap();
    let signed = note::sign("x\n", &[&a]).unwrap();
    assert!(matches!(
        note::open(&signed, &[b.verifier()]),
        Err(Error::SignatureMissing { .. })
    ));
}

#[test]
fn same_name_other_key_is_unknown_and_ignored() {
    // Same name, different key (so different hash): ignored, per spec.
    let real = NoteSigner::generate("log").unwrap();
    let impostor = NoteSigner::generate("log").unwrap();
    let signed = note::sign("x\n", &[&impostor, &real]).unwrap();
    let opened = note::open(&signed, &[real.verifier()]).unwrap();
    assert_eq!(opened.key_names(), ["log"]);
}

#[test]
fn bad_signature_by_known_key_rejects_the_note() {
    let a = NoteSigner::generate("a").unwrap();
    let b = NoteSigner::generate("b").unwrap();
    let good = note::sign("x\n", &[&a]).unwrap();
    // b's line signed over different text, spliced onto a's note.
    let other = note::sign("y\n", &[&b]).unwrap();
    let b_line = other.split_once("\n\n").unwrap().1;
    let spliced = format!("{good}{b_line}");
    // Known only a: b's line is unknown, fine.
    assert!(note::open(&spliced, &[a.verifier()]).is_ok());
    // Known a and b: b's line must verify, and does not.
    assert!(matches!(
        note::open(&spliced, &[a.verifier(), b.verifier()]),
        Err(Error::SignatureMissing { key_name }) if key_name == "b"
    ));
}

#[test]
fn empty_verifier_list_is_a_key_error() {
    // (Two different keys sharing name and hash, also a key error, would
    // need a 32-bit key hash collision: not tested.)
    let a = NoteSigner::generate("a").unwrap();
    let signed = note::sign("x\n", &[&a]).unwrap();
    assert!(matches!(note::open(&signed, &[]), Err(Error::Key { .. })));
}

#[test]
fn sign_rejects_bad_text() {
    let a = NoteSigner::generate("a").unwrap();
    assert!(is_malformed(note::sign("no newline", &[&a])));
    assert!(is_malformed(note::sign("", &[&a])));
    assert!(is_malformed(note::sign("tab\there\n", &[&a])));
    assert!(is_malformed(note::sign("cr\r\n", &[&a])));
    assert!(is_malformed(note::sign("x\n", &[])));
}

#[test]
fn text_with_blank_lines_round_trips() {
    let a = NoteSigner::generate("a").unwrap();
    for text in [
        "\n",
        "a\n\nb\n",
        "a\n\n",
        "a\n\n\n",
        "\u{2014} a b\n",
        "x\n\n\u{2014} a AAAA\n",
    ] {
        let signed = note::sign(text, &[&a]).unwrap();
        assert_eq!(
            note::open(&signed, &[a.verifier()]).unwrap().text(),
            text,
            "{text:?}"
        );
    }
}

#[test]
fn duplicate_signers_sign_once() {
    let a = NoteSigner::generate("a").unwrap();
    let signed = note::sign("x\n", &[&a, &a]).unwrap();
    assert_eq!(Note::parse(&signed).unwrap().signatures().len(), 1);
}

#[test]
fn malformed_notes_are_rejected() {
    let v = go_verifier();
    let sig_line = GO_NOTE.split_once("\n\n").unwrap().1;
    let cases = [
        "".to_owned(),
        GO_TEXT.to_owned(),                                       // no signatures
        GO_NOTE.trim_end_matches('\n').to_owned(),                // no final newline
        GO_NOTE.replace("\n\n", "\n"),                            // no blank line
        GO_NOTE.replace('\u{2014}', "-"),                         // not an em dash
        GO_NOTE.replace("\u{2014} ", "\u{2014}"),                 // no space
        GO_NOTE.replace("PeterNeumann x08", "PeterNeumann  x08"), // two spaces
        GO_NOTE.replace("x08go", "x08go!"),                       // bad base64
        GO_NOTE.replace("your problem,", "your\tproblem,"),       // control char
        format!("{GO_NOTE}\n"),                                   // trailing blank line
        format!("{GO_TEXT}\n\u{2014} PeterNeumann AAAA\n"),       // 3-byte signature
        format!("{GO_TEXT}\n\u{2014} PeterNeumann\n"),            // no signature at all
        format!("{GO_TEXT}\n\u{2014}  x08go\n"),                  // empty name
        format!("{GO_TEXT}\n{sig_line}garbage\n"),                // non-signature line
    ];
    for case in &cases {
        assert!(
            is_malformed(note::open(case, std::slice::from_ref(&v))),
            "{case:?}"
        );
    }
}

#[test]
fn signature_count_is_limited() {
    let a = NoteSigner::generate("a").unwrap();
    let signed = note::sign("x\n", &[&a]).unwrap();
    let line = signed.split_once("\n\n").unwrap().1;
    // MAX_SIGNATURES lines are fine (the spec requires accepting 16) ...
    let ok = format!("x\n\n{}", line.repeat(MAX_SIGNATURES));
    assert!(note::open(&ok, &[a.verifier()]).is_ok());
    // ... one more is not.
    let too_many = format!("x\n\n{}", line.repeat(MAX_SIGNATURES + 1));
    assert!(is_malformed(note::open(&too_many, &[a.verifier()])));
}

#[test]
fn oversized_note_is_rejected() {
    let big = format!(
        "{}\n\n\u{2014} a AAAAAAA=\n",
        "a".repeat(note::MAX_NOTE_LEN)
    );
    assert!(is_malformed(Note::parse(&big)));
}

#[test]
fn every_single_bit_flip_of_a_small_note_is_rejected() {
    let a = NoteSigner::generate("a").unwrap();
    let signed = note::sign("size 5\n", &[&a]).unwrap();
    let bytes = signed.as_bytes();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut m = bytes.to_vec();
            m[i] ^= 1 << bit;
            let Ok(s) = String::from_utf8(m) else {
                continue;
            };
            match note::open(&s, &[a.verifier()]) {
                Err(_) => {}
                Ok(opened) => panic!("flip {i}/{bit} accepted: {:?}", opened.text()),
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC*") {
        let _ = note::open(&s, &[go_verifier()]);
        let _ = NoteVerifier::from_key_string(&s);
        let _ = NoteSigner::from_key_string(&s);
    }

    #[test]
    fn arbitrary_note_shaped_strings_never_panic(
        text in "[a-z\n]{0,20}",
        name in "[^ +\n]{0,8}",
        sig in "[A-Za-z0-9+/=]{0,100}",
    ) {
        let s = format!("{text}\n\u{2014} {name} {sig}\n");
        let _ = note::open(&s, &[go_verifier()]);
    }

    #[test]
    fn sign_open_round_trip(lines in proptest::collection::vec("[^\\x00-\\x1f]{0,40}", 1..6)) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let a = NoteSigner::from_key_string(GO_SKEY).unwrap();
        let signed = note::sign(&text, &[&a]).unwrap();
        let opened = note::open(&signed, &[go_verifier()]).unwrap();
        prop_assert_eq!(opened.text(), text.as_str());
    }
}

/// A signer held "elsewhere": forwards to a `NoteSigner`, or fails, or
/// signs with another key than it claims.
struct External {
    inner: NoteSigner,
    claimed: [u8; 32],
    fail: bool,
}

impl tresor_audit::NoteSign for External {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn public_key(&self) -> [u8; 32] {
        self.claimed
    }
    fn sign(&self, message: &[u8]) -> tresor_audit::Result<[u8; 64]> {
        if self.fail {
            return Err(tresor_audit::Error::Signing {
                key_name: self.inner.name().to_owned(),
                source: "token not present".into(),
            });
        }
        tresor_audit::NoteSign::sign(&self.inner, message)
    }
}

#[test]
fn external_signers_write_the_same_lines_and_are_checked() {
    use tresor_audit::NoteSign;

    let signer = NoteSigner::from_key_string(GO_SKEY).unwrap();
    let external = External {
        inner: NoteSigner::from_key_string(GO_SKEY).unwrap(),
        claimed: *signer.verifier().public_key(),
        fail: false,
    };
    assert_eq!(NoteSign::key_hash(&external), signer.key_hash());
    assert_eq!(external.note_verifier().unwrap(), signer.verifier());
    // Byte for byte the Go reference note, through the trait.
    assert_eq!(note::sign_with(GO_TEXT, &[&external]).unwrap(), GO_NOTE);
    let witness = NoteSigner::generate("witness.example").unwrap();
    let cosigned = note::sign_with(GO_TEXT, &[&external, &witness, &signer]).unwrap();
    let opened = note::open(&cosigned, &[signer.verifier(), witness.verifier()]).unwrap();
    assert_eq!(opened.key_names(), ["PeterNeumann", "witness.example"]);

    // A failing backend is an error naming the key, and no note.
    let failing = External {
        fail: true,
        ..external
    };
    let err = note::sign_with(GO_TEXT, &[&failing]).unwrap_err();
    assert!(
        matches!(&err, tresor_audit::Error::Signing { key_name, .. } if key_name == "PeterNeumann")
    );
    assert!(err.to_string().contains("token not present"), "{err}");

    // A signer whose key does not match its public key signs nothing.
    let mismatched = External {
        inner: NoteSigner::from_key_string(GO_SKEY).unwrap(),
        claimed: *witness.verifier().public_key(),
        fail: false,
    };
    assert!(matches!(
        note::sign_with(GO_TEXT, &[&mismatched]),
        Err(tresor_audit::Error::Signing { .. })
    ));

    // Checkpoints take the same signers.
    let checkpoint = tresor_audit::Checkpoint::new("PeterNeumann", 3, [9; 32]).unwrap();
    let boxed: Box<dyn NoteSign> = Box::new(NoteSigner::from_key_string(GO_SKEY).unwrap());
    let signed = checkpoint.sign_with(&[&boxed]).unwrap();
    assert_eq!(signed, checkpoint.sign(&[&signer]).unwrap());
    let opened =
        tresor_audit::Checkpoint::open(&signed, &[signer.verifier()], "PeterNeumann").unwrap();
    assert_eq!(opened, checkpoint);
}
