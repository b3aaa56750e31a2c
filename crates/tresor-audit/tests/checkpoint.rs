//! Checkpoints (C2SP tlog-checkpoint): round trips, tampering, key
//! handling, cosigning and malformed inputs.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use tresor_audit::note::{self, NoteSigner};
use tresor_audit::{Checkpoint, Error};

const ORIGIN: &str = "example.com/audit";

fn key() -> NoteSigner {
    NoteSigner::generate(ORIGIN).unwrap()
}

fn root(seed: u8) -> [u8; 32] {
    core::array::from_fn(|i| seed.wrapping_add(u8::try_from(i).unwrap()))
}

#[test]
fn text_format_is_exact() {
    // The example of the tlog-checkpoint specification (body only: its
    // signing key is not published).
    let text =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!(cp.origin(), "example.com/behind-the-sofa");
    assert_eq!(cp.size(), 20852163);
    assert_eq!(
        hex::encode(cp.root()),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert!(cp.extensions().is_empty());
    assert_eq!(cp.to_note_text(), text);
}

#[test]
fn round_trip() {
    let k = key();
    for size in [0u64, 1, 7, u64::MAX] {
        let cp = Checkpoint::new(ORIGIN, size, root(size.to_le_bytes()[0])).unwrap();
        let signed = cp.sign(&[&k]).unwrap();
        assert_eq!(
            Checkpoint::open(&signed, &[k.verifier()], ORIGIN).unwrap(),
            cp
        );
    }
}

#[test]
fn round_trip_with_extensions() {
    let k = key();
    let cp = Checkpoint::new(ORIGIN, 3, root(1))
        .unwrap()
        .with_extension("ext one")
        .unwrap()
        .with_extension("\u{2014} looks like a signature")
        .unwrap();
    let signed = cp.sign(&[&k]).unwrap();
    let opened = Checkpoint::open(&signed, &[k.verifier()], ORIGIN).unwrap();
    assert_eq!(
        opened.extensions(),
        ["ext one", "\u{2014} looks like a signature"]
    );
    assert_eq!(opened, cp);
}

#[test]
fn wrong_key_is_rejected() {
    let k = key();
    let other = key(); // same name, different key
    let signed = Checkpoint::new(ORIGIN, 1, root(1))
        .unwrap()
        .sign(&[&k])
        .unwrap();
    assert!(matches!(
        Checkpoint::open(&signed, &[other.verifier()], ORIGIN),
        Err(Error::SignatureMissing { key_name }) if key_name == ORIGIN
    ));
}

#[test]
fn modified_body_lines_are_rejected() {
    let k = key();
    let cp = Checkpoint::new(ORIGIN, 10, root(1)).unwrap();
    let signed = cp.sign(&[&k]).unwrap();
    let mut root2 = root(1);
    root2[31] ^= 1;
    let tampered = [
        signed.replacen("\n10\n", "\n11\n", 1),
        signed.replacen(
            &cp.to_note_text(),
            &Checkpoint::new(ORIGIN, 10, root2).unwrap().to_note_text(),
            1,
        ),
        signed.replacen("example.com/audit\n", "example.com/audiT\n", 1),
    ];
    for t in &tampered {
        assert_ne!(t, &signed);
        assert!(
            matches!(
                Checkpoint::open(t, &[k.verifier()], ORIGIN),
                Err(Error::SignatureMissing { .. })
            ),
            "{t}"
        );
    }
}

#[test]
fn unknown_key_only_is_signature_missing() {
    let k = key();
    let stranger = NoteSigner::generate("stranger.example").unwrap();
    let signed = Checkpoint::new(ORIGIN, 1, root(1))
        .unwrap()
        .sign(&[&stranger])
        .unwrap();
    assert!(matches!(
        Checkpoint::open(&signed, &[k.verifier()], ORIGIN),
        Err(Error::SignatureMissing { key_name }) if key_name == ORIGIN
    ));
}

#[test]
fn required_key_must_sign_even_if_another_known_key_did() {
    let log = key();
    let witness = NoteSigner::generate("witness.example").unwrap();
    let signed = Checkpoint::new(ORIGIN, 1, root(1))
        .unwrap()
        .sign(&[&witness])
        .unwrap();
    let known = [log.verifier(), witness.verifier()];
    assert!(matches!(
        Checkpoint::open(&signed, &known, ORIGIN),
        Err(Error::SignatureMissing { key_name }) if key_name == ORIGIN
    ));
    assert!(Checkpoint::open(&signed, &known, "witness.example").is_ok());
}

#[test]
fn required_key_not_among_verifiers_is_a_key_error() {
    let k = key();
    let signed = Checkpoint::new(ORIGIN, 1, root(1))
        .unwrap()
        .sign(&[&k])
        .unwrap();
    assert!(matches!(
        Checkpoint::open(&signed, &[k.verifier()], "someone.else"),
        Err(Error::Key { .. })
    ));
}

#[test]
fn cosigned_checkpoint_verifies_with_either_key() {
    let log = key();
    let witness = NoteSigner::generate("witness.example/w1").unwrap();
    let cp = Checkpoint::new(ORIGIN, 42, root(9)).unwrap();
    let signed = cp.sign(&[&log, &witness]).unwrap();
    assert_eq!(
        Checkpoint::open(&signed, &[log.verifier()], ORIGIN).unwrap(),
        cp
    );
    assert_eq!(
        Checkpoint::open(&signed, &[witness.verifier()], "witness.example/w1").unwrap(),
        cp
    );
    assert_eq!(
        Checkpoint::open(&signed, &[witness.verifier(), log.verifier()], ORIGIN).unwrap(),
        cp
    );
}

#[test]
fn bad_cosignature_by_a_known_witness_rejects() {
    let log = key();
    let witness = NoteSigner::generate("w").unwrap();
    let cp = Checkpoint::new(ORIGIN, 1, root(1)).unwrap();
    let good = cp.sign(&[&log]).unwrap();
    let other = Checkpoint::new(ORIGIN, 2, root(1))
        .unwrap()
        .sign(&[&witness])
        .unwrap();
    let w_line = other.split_once("\n\n").unwrap().1;
    let spliced = format!("{good}{w_line}");
    assert!(Checkpoint::open(&spliced, &[log.verifier()], ORIGIN).is_ok());
    assert!(matches!(
        Checkpoint::open(&spliced, &[log.verifier(), witness.verifier()], ORIGIN),
        Err(Error::SignatureMissing { key_name }) if key_name == "w"
    ));
}

#[test]
fn malformed_texts_are_rejected() {
    let r = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases = [
        String::new(),
        "o\n1\n".to_owned(),
        format!("o\n1\n{r}"),    // no final newline
        format!("\n1\n{r}\n"),   // empty origin
        format!("o\n01\n{r}\n"), // leading zero
        format!("o\n00\n{r}\n"),
        format!("o\n-1\n{r}\n"),
        format!("o\n+1\n{r}\n"),
        format!("o\n 1\n{r}\n"),
        format!("o\n\n{r}\n"),
        format!("o\n18446744073709551616\n{r}\n"), // u64::MAX + 1
        "o\n1\nAAAA\n".to_owned(),                 // short root
        format!("o\n1\n{r}A\n"),
        format!("o\n1\n{}\n", r.trim_end_matches('=')), // unpadded
        format!("o\n1\n{r}\n\n"),                       // empty extension line
        format!("o\n1\n{r}\next\n\n"),
        format!("o\t\n1\n{r}\n"), // control character
    ];
    for case in &cases {
        assert!(
            matches!(Checkpoint::parse(case), Err(Error::Malformed { .. })),
            "{case:?}"
        );
    }
    assert!(Checkpoint::new("", 1, root(1)).is_err());
    assert!(Checkpoint::new("a\nb", 1, root(1)).is_err());
    assert!(
        Checkpoint::new("a", 1, root(1))
            .unwrap()
            .with_extension("")
            .is_err()
    );
}

#[test]
fn signed_note_with_non_checkpoint_text_is_malformed() {
    let k = key();
    let signed = note::sign("just one line\n", &[&k]).unwrap();
    assert!(matches!(
        Checkpoint::open(&signed, &[k.verifier()], ORIGIN),
        Err(Error::Malformed {
            what: "checkpoint",
            ..
        })
    ));
}

#[test]
fn extension_count_is_limited() {
    let mut cp = Checkpoint::new("o", 1, root(1)).unwrap();
    for _ in 0..tresor_audit::checkpoint::MAX_EXTENSIONS {
        cp = cp.with_extension("e").unwrap();
    }
    assert!(cp.clone().with_extension("e").is_err());
    let text = format!("{}e\n", cp.to_note_text());
    assert!(Checkpoint::parse(&text).is_err());
}

proptest! {
    #[test]
    fn arbitrary_strings_are_errors_not_panics(s in "\\PC*") {
        let k = NoteSigner::generate(ORIGIN).unwrap();
        let _ = Checkpoint::parse(&s);
        prop_assert!(Checkpoint::open(&s, &[k.verifier()], ORIGIN).is_err());
    }

    #[test]
    fn arbitrary_checkpoint_shaped_text_never_panics(
        origin in "[^\n]{0,10}", size in "[0-9+-]{0,22}", root in "[A-Za-z0-9+/=]{0,50}",
        ext in proptest::option::of("[^\n]{0,10}"),
    ) {
        let mut text = format!("{origin}\n{size}\n{root}\n");
        if let Some(e) = ext { text.push_str(&e); text.push('\n'); }
        if let Ok(cp) = Checkpoint::parse(&text) {
            prop_assert_eq!(cp.to_note_text(), text);
        }
    }

    #[test]
    fn round_trip_any_values(origin in "[a-z./]{1,30}", size: u64, root: [u8; 32]) {
        let cp = Checkpoint::new(&origin, size, root).unwrap();
        prop_assert_eq!(Checkpoint::parse(&cp.to_note_text()).unwrap(), cp);
    }
}
