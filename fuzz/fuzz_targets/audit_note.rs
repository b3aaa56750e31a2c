//! Signed notes and checkpoints of arbitrary text: `Note::parse`,
//! `note::open` and `Checkpoint::open` with the fixed verifier set of
//! `tresor_fuzz::audit` (log, witness and Go example keys),
//! `Checkpoint::parse`, and `NoteVerifier::from_key_string` /
//! `NoteSigner::from_key_string` of the whole text and of each of its
//! first four lines.
//!
//! Input: bytes, read as UTF-8 (invalid sequences replaced).
//!
//! Properties: nothing panics; a parsed note re-serialises to exactly the
//! input, and its text, signed by the fixed log key, opens (`note::open`,
//! `Note::parse`) to the same text signed by that key; a note that opens has
//! the text `Note::parse` gives; a parsed checkpoint re-serialises to
//! exactly its text and, signed, opens to an equal checkpoint; a parsed key
//! string re-serialises to a string that parses to the same key.
#![no_main]

use base64ct::{Base64, Encoding};
use libfuzzer_sys::fuzz_target;
use tresor_audit::note::{self, Note, NoteSigner, NoteVerifier};
use tresor_audit::{Checkpoint, Error};
use tresor_fuzz::audit::{LOG_KEY_NAME, signers, verifiers};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    check_note(text);
    check_checkpoint(text);
    check_keys(text);
    for line in text.split('\n').take(4) {
        check_keys(line);
    }
});

fn check_note(text: &str) {
    let parsed = Note::parse(text);
    let opened = note::open(text, verifiers());
    if let Ok(verified) = &opened {
        let parsed = parsed.as_ref().expect("a note that opens parses");
        assert_eq!(verified.text(), parsed.unverified_text());
        assert!(!verified.key_names().is_empty());
    }
    let Ok(parsed) = parsed else {
        return;
    };
    assert_eq!(reserialise(&parsed), text, "a parsed note re-serialises");
    let body = parsed.unverified_text();
    assert!(body.ends_with('\n'));

    let [log, ..] = signers();
    let signed = match note::sign(body, &[log]) {
        Ok(signed) => signed,
        // The text is at most MAX_NOTE_LEN bytes, but with a signature line
        // it may no longer fit.
        Err(Error::Malformed { .. }) if body.len() + 200 > note::MAX_NOTE_LEN => return,
        Err(e) => panic!("the text of a parsed note cannot be signed: {e}"),
    };
    let reopened = note::open(&signed, verifiers()).expect("a fresh signature opens");
    assert_eq!(reopened.text(), body);
    assert_eq!(reopened.key_names(), [LOG_KEY_NAME]);
    let reparsed = Note::parse(&signed).expect("a signed note parses");
    assert_eq!(reparsed.unverified_text(), body);
    assert_eq!(reparsed.signatures().len(), 1);
}

/// A note as its text, a blank line and its signature lines.
fn reserialise(parsed: &Note) -> String {
    let mut out = format!("{}\n", parsed.unverified_text());
    for sig in parsed.signatures() {
        let mut blob = sig.key_hash().to_be_bytes().to_vec();
        blob.extend_from_slice(sig.signature());
        out.push_str(&format!(
            "\u{2014} {} {}\n",
            sig.name(),
            Base64::encode_string(&blob)
        ));
    }
    out
}

fn check_checkpoint(text: &str) {
    let opened = Checkpoint::open(text, verifiers(), LOG_KEY_NAME);
    if let Ok(checkpoint) = &opened {
        let parsed = Note::parse(text).expect("an opened checkpoint is a note");
        assert_eq!(checkpoint.to_note_text(), parsed.unverified_text());
    }
    let Ok(checkpoint) = Checkpoint::parse(text) else {
        return;
    };
    assert_eq!(
        checkpoint.to_note_text(),
        text,
        "a checkpoint re-serialises"
    );
    let mut rebuilt = Checkpoint::new(checkpoint.origin(), checkpoint.size(), *checkpoint.root())
        .expect("the parts of a parsed checkpoint are valid");
    for line in checkpoint.extensions() {
        rebuilt = rebuilt
            .with_extension(line)
            .expect("a parsed extension line is valid");
    }
    assert_eq!(rebuilt, checkpoint);
    let [log, witness, _] = signers();
    let Ok(signed) = checkpoint.sign(&[log, witness]) else {
        assert!(
            text.len() + 400 > note::MAX_NOTE_LEN,
            "cannot sign {text:?}"
        );
        return;
    };
    let reopened = Checkpoint::open(&signed, verifiers(), LOG_KEY_NAME)
        .expect("a freshly signed checkpoint opens");
    assert_eq!(reopened, checkpoint);
}

fn check_keys(text: &str) {
    if let Ok(verifier) = NoteVerifier::from_key_string(text) {
        let again = NoteVerifier::from_key_string(&verifier.to_key_string())
            .expect("a verifier key string re-parses");
        assert_eq!(again.name(), verifier.name());
        assert_eq!(again.key_hash(), verifier.key_hash());
        assert_eq!(again.public_key(), verifier.public_key());
        assert!(note::is_valid_key_name(verifier.name()));
    }
    if let Ok(signer) = NoteSigner::from_key_string(text) {
        let again = NoteSigner::from_key_string(&signer.to_key_string())
            .expect("a signer key string re-parses");
        assert_eq!(again.name(), signer.name());
        assert_eq!(again.key_hash(), signer.key_hash());
        assert_eq!(
            again.verifier().public_key(),
            signer.verifier().public_key()
        );
        let signed = note::sign("fuzz\n", &[&signer]).expect("any signer signs");
        note::open(&signed, &[signer.verifier()]).expect("its own verifier opens it");
    }
}
