//! Writes the seed corpora of the fuzz targets into `corpus/<target>/`.
//!
//! ```text
//! cd fuzz && cargo run --bin make_seeds            # into fuzz/corpus/
//! cd fuzz && cargo run --bin make_seeds -- DIR     # into DIR/<target>/
//! ```
//!
//! Each target's directory is emptied first, so it holds exactly these
//! seeds. Valid envelopes are sealed with the fixed key-encryption key of
//! `tresor_fuzz` (so the targets can open them) under its fixed contexts;
//! malformed ones are those envelopes with one defect each, or headers built
//! byte by byte. Data keys, message ids and wrap nonces are random, so every
//! run writes different bytes under the same file names.
//!
//! The `httpsig_*` seeds (module `httpsig`) come from the RFC 9421
//! Appendix B messages in `rfc9421/` and from messages signed with the
//! fixed Ed25519 and HMAC keys; those are the same on every run.
//!
//! The `audit_*` seeds (module `audit`) are log directories written by a
//! real `FileStore`, proofs in fixed trees and the RFC 9162 vectors of
//! `rfc9162/`, notes and checkpoints signed with fixed keys, and the
//! RFC 8785 examples; they too are the same on every run.
//!
//! The `cred_*` seeds (module `credentials`) are token requests, client
//! assertions, access tokens and secrets made with the fixed clients,
//! secrets and Ed25519 keys of `tresor_fuzz::credentials`; the same on
//! every run.
//!
//! The `rawhttp_parse` seeds (module `rawhttp`) are small raw HTTP/1.1
//! messages written out by hand: every shape `tresor_cli::rawhttp` reads,
//! and one refused message per defect; the same on every run.
//!
//! The `pkcs11_uri` seeds (module `pkcs11`) are PKCS#11 URIs written out
//! by hand: RFC 7512's examples that tresor accepts, tresor's own, every
//! attribute, and one refused URI per defect; the same on every run.

// Byte offsets into envelopes this program has just built.
#![allow(clippy::indexing_slicing)]

mod audit;
mod credentials;
mod httpsig;
mod pkcs11;
mod rawhttp;

use std::fs;
use std::path::{Path, PathBuf};

use tresor_envelope::{
    Context, Envelope, Header, Keyring, LocalKek, MAX_FRAME_SIZE, SealOptions, Suite, TAG_LEN,
};
use zeroize::Zeroizing;

/// Largest seed we commit.
const MAX_SEED_LEN: usize = 2048;

/// One seed: a file name and its bytes.
type Seed = (String, Vec<u8>);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args_os().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );

    let valid = valid_envelopes()?;
    let defective = defective_envelopes(&valid)?;
    let headers = header_seeds(&valid)?;

    let open_bytes: Vec<Seed> = valid.iter().chain(&defective).cloned().collect();

    let mut header_parse = headers;
    header_parse.extend(
        defective
            .iter()
            .filter(|(name, _)| name.starts_with("bad-header-"))
            .cloned(),
    );
    header_parse.extend(
        valid
            .iter()
            .filter(|(name, _)| ["gcm-f16-ctx-17", "siv-f64k-empty-0"].contains(&name.as_str()))
            .cloned(),
    );

    const SCHEDULES: [&[u8]; 8] = [
        &[],
        &[1],
        &[0, 1],
        &[3, 0, 7],
        &[16, 17, 0],
        &[0x80],
        &[0x85, 1],
        &[5, 0, 0, 2],
    ];
    let stream_defects = [
        "bad-frame-truncated",
        "bad-frame-flipped-tag",
        "bad-frame-swapped",
        "bad-frame-trailing-byte",
        "bad-header-truncated",
        "bad-key-unknown-kek",
    ];
    let open_stream: Vec<Seed> = valid
        .iter()
        .chain(
            defective
                .iter()
                .filter(|(name, _)| stream_defects.contains(&name.as_str())),
        )
        .zip(SCHEDULES.iter().cycle())
        .map(|((name, bytes), schedule)| {
            (name.clone(), tresor_fuzz::with_schedule(schedule, bytes))
        })
        .collect();

    let [httpsig_fields, httpsig_base, httpsig_verify] = httpsig::seeds()?;
    let [audit_recovery, audit_proofs, audit_note, audit_jcs] = audit::seeds()?;
    let [cred_token_request, cred_assertion, cred_secret_format] = credentials::seeds()?;
    let rawhttp_parse = rawhttp::seeds()?;
    let pkcs11_uri = pkcs11::seeds()?;
    let pkcs11_ec_point = pkcs11::ec_point_seeds()?;

    for (target, seeds) in [
        ("header_parse", header_parse),
        ("open_bytes", open_bytes),
        ("open_stream", open_stream),
        ("httpsig_fields", httpsig_fields),
        ("httpsig_base", httpsig_base),
        ("httpsig_verify", httpsig_verify),
        ("audit_recovery", audit_recovery),
        ("audit_proofs", audit_proofs),
        ("audit_note", audit_note),
        ("audit_jcs", audit_jcs),
        ("cred_token_request", cred_token_request),
        ("cred_assertion", cred_assertion),
        ("cred_secret_format", cred_secret_format),
        ("rawhttp_parse", rawhttp_parse),
        ("pkcs11_uri", pkcs11_uri),
        ("pkcs11_ec_point", pkcs11_ec_point),
    ] {
        write_corpus(&root.join(target), &seeds)?;
        println!(
            "{target}: {} seeds in {}",
            seeds.len(),
            root.join(target).display()
        );
    }
    Ok(())
}

fn write_corpus(dir: &Path, seeds: &[Seed]) -> std::io::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        assert!(
            bytes.len() <= MAX_SEED_LEN,
            "seed {name} is {} bytes, over {MAX_SEED_LEN}",
            bytes.len()
        );
        fs::write(dir.join(format!("{name}.bin")), bytes)?;
    }
    Ok(())
}

/// Envelopes the fixed keyring opens: both suites; 0, 1, 15, 16, 17 and 100
/// bytes in 16-byte frames under the non-empty context; 0, 17 and 100 bytes
/// in one default-sized frame under the empty context.
fn valid_envelopes() -> tresor_envelope::Result<Vec<Seed>> {
    let envelope = tresor_fuzz::envelope();
    let [empty, context] = tresor_fuzz::contexts();
    let mut seeds = Vec::new();
    for suite in Suite::ALL {
        let tag = suite_tag(suite);
        for len in [0, 1, 15, 16, 17, 100] {
            let options = SealOptions::new().suite(suite).frame_size(16);
            let sealed = envelope.seal_to_vec_with(&plaintext(len), context, &options)?;
            seeds.push((format!("{tag}-f16-ctx-{len}"), sealed));
        }
        for len in [0, 17, 100] {
            let options = SealOptions::new().suite(suite);
            let sealed = envelope.seal_to_vec_with(&plaintext(len), empty, &options)?;
            seeds.push((format!("{tag}-f64k-empty-{len}"), sealed));
        }
    }
    for (name, sealed) in &seeds {
        let context = if name.contains("-ctx-") {
            context
        } else {
            empty
        };
        envelope.open_to_vec(sealed, context)?;
    }
    Ok(seeds)
}

/// Envelopes with one defect each.
fn defective_envelopes(valid: &[Seed]) -> tresor_envelope::Result<Vec<Seed>> {
    let [_, context] = tresor_fuzz::contexts();
    let multi = find(valid, "gcm-f16-ctx-100");
    let single = find(valid, "siv-f64k-empty-17");
    let (header, header_len) = Header::parse(multi)?;
    // The commitment follows the context, whose length is at offset 42.
    let commitment_at = 44 + usize::from(u16::from_be_bytes([multi[42], multi[43]]));
    let wrapped_at = header_len - header.wrapped_dek().len();

    let edit = |name: &str, bytes: &[u8], f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = bytes.to_vec();
        f(&mut bytes);
        (name.to_owned(), bytes)
    };
    let mut seeds = vec![
        ("empty".to_owned(), Vec::new()),
        edit("bad-header-magic", multi, &|b| b[0] = b'X'),
        edit("bad-header-version", multi, &|b| b[4] = 2),
        edit("bad-header-suite", multi, &|b| b[5] = 3),
        edit("bad-header-frame-size-15", multi, &|b| {
            b[6..10].copy_from_slice(&15u32.to_be_bytes());
        }),
        edit("bad-header-frame-size-over", multi, &|b| {
            b[6..10].copy_from_slice(&(MAX_FRAME_SIZE + 1).to_be_bytes());
        }),
        edit("bad-header-truncated", multi, &|b| {
            b.truncate(header_len - 1)
        }),
        edit("bad-commitment", multi, &|b| b[commitment_at] ^= 1),
        edit("bad-wrapped-dek", multi, &|b| b[wrapped_at] ^= 1),
        edit("bad-frame-truncated", multi, &|b| {
            b.pop();
        }),
        edit("bad-frame-flipped-tag", single, &|b| {
            if let Some(last) = b.last_mut() {
                *last ^= 0x80;
            }
        }),
        edit("bad-frame-swapped", multi, &|b| {
            let frame = 16 + TAG_LEN;
            let (first, rest) = b[header_len..].split_at_mut(frame);
            first.swap_with_slice(&mut rest[..frame]);
        }),
        edit("bad-frame-trailing-byte", multi, &|b| b.push(0)),
        edit("bad-frame-last-dropped", multi, &|b| {
            // 100 bytes in 16-byte frames: six full frames and a 4-byte last.
            b.truncate(header_len + 6 * (16 + TAG_LEN));
        }),
    ];

    // Sealed under keys or a context the targets do not open with.
    let other_id = LocalKek::from_bytes("other-kek", Zeroizing::new([0x17; 32]))?;
    let other_key = LocalKek::from_bytes(tresor_fuzz::KEK_ID, Zeroizing::new([0x17; 32]))?;
    for (name, kek) in [
        ("bad-key-unknown-kek", other_id),
        ("bad-key-wrong-key", other_key),
    ] {
        let sealed = Envelope::new(Keyring::with_primary(kek)?).seal_to_vec(b"x", context)?;
        seeds.push((name.to_owned(), sealed));
    }
    let globex = Context::from_pairs([("tenant", "globex")])?;
    let sealed = tresor_fuzz::envelope().seal_to_vec(b"x", &globex)?;
    seeds.push(("bad-key-other-context".to_owned(), sealed));
    Ok(seeds)
}

/// A hand-built header: name, context entries, key id, wrapped key.
type HeaderCase<'a> = (&'a str, Vec<u8>, &'a [u8], &'a [u8]);

/// Headers alone (no frames), valid and malformed, for `header_parse`.
fn header_seeds(valid: &[Seed]) -> tresor_envelope::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for name in ["gcm-f16-ctx-1", "siv-f64k-empty-0"] {
        let (header, _) = Header::parse(find(valid, name))?;
        seeds.push((format!("header-{name}"), header.to_bytes()));
    }

    let wrapped = [0xAA; 60];
    let entry = |key: &str, value: &str| {
        let mut out = Vec::new();
        out.extend_from_slice(&len16(key.len()));
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&len16(value.len()));
        out.extend_from_slice(value.as_bytes());
        out
    };
    let many: Vec<u8> = (0..64)
        .flat_map(|i| entry(&format!("k{i:02}"), "v"))
        .collect();
    let too_many: Vec<u8> = (0..65)
        .flat_map(|i| entry(&format!("k{i:02}"), ""))
        .collect();
    let long_id = "k".repeat(255);
    let cases: [HeaderCase<'_>; 12] = [
        ("header-raw-minimal", vec![], b"a", &wrapped),
        ("header-raw-64-entries", many, b"fuzz-kek", &wrapped),
        (
            "header-raw-long-kek-id",
            entry("tenant", "acme"),
            long_id.as_bytes(),
            &wrapped,
        ),
        ("bad-header-65-entries", too_many, b"fuzz-kek", &wrapped),
        (
            "bad-header-context-unsorted",
            [entry("b", ""), entry("a", "")].concat(),
            b"k",
            &wrapped,
        ),
        (
            "bad-header-context-duplicate",
            [entry("a", ""), entry("a", "")].concat(),
            b"k",
            &wrapped,
        ),
        (
            "bad-header-context-empty-key",
            entry("", "v"),
            b"k",
            &wrapped,
        ),
        (
            "bad-header-context-not-utf8",
            vec![0, 1, 0xff, 0, 0],
            b"k",
            &wrapped,
        ),
        (
            "bad-header-context-truncated",
            vec![0, 5, b'a'],
            b"k",
            &wrapped,
        ),
        ("bad-header-kek-id-space", vec![], b"fuzz kek", &wrapped),
        ("bad-header-kek-id-empty", vec![], b"", &wrapped),
        ("bad-header-wrapped-empty", vec![], b"fuzz-kek", &[]),
    ];
    for (name, context, kek_id, wrapped) in cases {
        seeds.push((name.to_owned(), raw_header(&context, kek_id, wrapped)));
    }
    let mut over = raw_header(&[], b"k", &wrapped);
    over[42..44].copy_from_slice(&len16(8193));
    seeds.push(("bad-header-context-too-long".to_owned(), over));
    let mut over = raw_header(&[], b"k", &[]);
    let at = over.len() - 2;
    over[at..].copy_from_slice(&len16(4097));
    seeds.push(("bad-header-wrapped-too-long".to_owned(), over));
    seeds.push((
        "bad-header-kek-id-not-utf8".to_owned(),
        raw_header(&[], &[0xC3], &wrapped),
    ));
    Ok(seeds)
}

/// A header built byte by byte (see `FORMAT.md`): AES-256-GCM, 64 KiB
/// frames, a fixed message id and commitment, and the given context
/// entries, key id and wrapped key, none of them checked.
fn raw_header(context: &[u8], kek_id: &[u8], wrapped: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"TRSE");
    out.push(1);
    out.push(Suite::Aes256Gcm.id());
    out.extend_from_slice(&tresor_envelope::DEFAULT_FRAME_SIZE.to_be_bytes());
    out.extend_from_slice(&[0x11; 32]);
    out.extend_from_slice(&len16(context.len()));
    out.extend_from_slice(context);
    out.extend_from_slice(&[0x22; 32]);
    out.push(u8::try_from(kek_id.len()).expect("test key ids are short"));
    out.extend_from_slice(kek_id);
    out.extend_from_slice(&len16(wrapped.len()));
    out.extend_from_slice(wrapped);
    out
}

fn len16(len: usize) -> [u8; 2] {
    u16::try_from(len)
        .expect("test lengths fit in u16")
        .to_be_bytes()
}

fn find<'a>(seeds: &'a [Seed], name: &str) -> &'a [u8] {
    &seeds
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no seed named {name}"))
        .1
}

fn suite_tag(suite: Suite) -> &'static str {
    match suite {
        Suite::Aes256GcmSiv => "siv",
        _ => "gcm",
    }
}

/// `len` bytes of recognisable plaintext.
fn plaintext(len: usize) -> Vec<u8> {
    b"tresor fuzz seed "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}
