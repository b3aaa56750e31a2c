//! Seeds of the `audit_*` targets. Everything here is deterministic: log
//! directories written by a real `FileStore` with fixed entries, proofs in
//! fixed trees and the RFC 9162 vectors of `rfc9162/`, notes signed with
//! the fixed Ed25519 keys, the RFC 8785 examples.

use std::error::Error;
use std::fs;

use base64ct::{Base64, Encoding};
use serde_json::Value;
use tresor_audit::merkle::{self, CompactRange};
use tresor_audit::note::{self, NoteSigner};
use tresor_audit::record::{Actor, AuditRecord, Outcome, Timestamp};
use tresor_audit::{Checkpoint, FileStore, FileStoreOptions, Hash, LogStore, SyncPolicy};
use tresor_fuzz::audit::{
    self as fixtures, BAD_SEGMENT_NAME, GO_NOTE, INDEX_FILE, LOCK_FILE, LengthEdit, NODES_FILE,
    OTHER_FILE, ProofInput, ScratchDir, join_files, segment_name, signers, tree,
};

use crate::Seed;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The seeds of `audit_recovery`, `audit_proofs`, `audit_note` and
/// `audit_jcs`.
pub(crate) fn seeds() -> Result<[Vec<Seed>; 4]> {
    Ok([recovery()?, proofs()?, notes()?, jcs()?])
}

fn seed(name: &str, bytes: impl Into<Vec<u8>>) -> Seed {
    (name.to_owned(), bytes.into())
}

// ---------------------------------------------------------------------------
// audit_recovery

/// Files of a log directory, sorted by name.
type Files = Vec<(String, Vec<u8>)>;

/// The `i`th entry of the seed logs: short JSON, so several segments fit
/// in a seed.
fn entry(i: u64) -> Vec<u8> {
    format!("{{\"e\":{i}}}").into_bytes()
}

/// A log of `count` entries written by `FileStore` with `segment_size`,
/// as its files (without `LOCK`).
fn real_log(count: u64, segment_size: u64) -> Result<Files> {
    let scratch = ScratchDir::new("tresor-make-seeds")?;
    let options = FileStoreOptions::default()
        .with_sync(SyncPolicy::Manual)
        .with_segment_size(segment_size);
    let mut store = FileStore::open(scratch.path(), options)?;
    let mut range = CompactRange::new();
    for i in 0..count {
        let bytes = entry(i);
        let nodes = range.append(merkle::leaf_hash(&bytes));
        store.append(&bytes, &nodes)?;
    }
    store.sync()?;
    drop(store);
    let mut files = Vec::new();
    for e in fs::read_dir(scratch.path())? {
        let e = e?;
        let name = e
            .file_name()
            .into_string()
            .map_err(|_| "a non-UTF-8 name")?;
        if name != LOCK_FILE {
            files.push((name, fs::read(e.path())?));
        }
    }
    files.sort();
    Ok(files)
}

fn file<'a>(files: &'a mut Files, name: &str) -> &'a mut Vec<u8> {
    &mut files
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("the log has {name}"))
        .1
}

fn without(files: &Files, names: &[&str]) -> Files {
    files
        .iter()
        .filter(|(n, _)| !names.contains(&n.as_str()))
        .cloned()
        .collect()
}

fn recovery() -> Result<Vec<Seed>> {
    // Options byte: bit 0 full_scan, bits 1-2 the writer's segment size
    // (64 MiB, 1, 128, 512 bytes).
    const DEFAULT: u8 = 0;
    const FULL_SCAN: u8 = 1;
    const SEAL_EVERY: u8 = 1 << 1;
    const SEG_128: u8 = 2 << 1;

    // Entries are 7 or 8 bytes, records 23 or 24: three per 96-byte
    // segment (24-byte header).
    let one = real_log(3, 64 << 20)?;
    let many = real_log(10, 96)?;
    let newest = segment_name(9);
    let sealed = segment_name(3);
    let empty = real_log(0, 64 << 20)?;

    let mut seeds = vec![
        seed("empty-dir", join_files(DEFAULT, &[])),
        seed("empty-log", join_files(DEFAULT, &empty)),
        seed("one-segment-3", join_files(DEFAULT, &one)),
        seed("one-segment-3-full-scan", join_files(FULL_SCAN, &one)),
        seed("segments-10", join_files(DEFAULT, &many)),
        seed(
            "segments-10-full-scan",
            join_files(FULL_SCAN | SEG_128, &many),
        ),
        seed("segments-10-seal-every", join_files(SEAL_EVERY, &many)),
    ];
    let mut with_lock = one.clone();
    with_lock.push((LOCK_FILE.to_owned(), Vec::new()));
    with_lock.push((OTHER_FILE.to_owned(), b"ignored\n".to_vec()));
    seeds.push(seed("lock-and-other-file", join_files(DEFAULT, &with_lock)));

    let no_derived = without(&many, &[INDEX_FILE, NODES_FILE]);
    seeds.push(seed("no-derived", join_files(DEFAULT, &no_derived)));
    seeds.push(seed(
        "no-nodes",
        join_files(DEFAULT, &without(&many, &[NODES_FILE])),
    ));

    // A torn final record: the newest segment cut inside its last record.
    let mut torn = many.clone();
    file(&mut torn, &newest).truncate(24 + 10);
    seeds.push(seed(
        "torn-tail",
        join_files(DEFAULT, &without(&torn, &[INDEX_FILE, NODES_FILE])),
    ));
    let mut zero_tail = one.clone();
    file(&mut zero_tail, &segment_name(0)).extend_from_slice(&[0; 20]);
    seeds.push(seed("zero-tail", join_files(DEFAULT, &zero_tail)));

    // A torn segment creation: the newest segment is a header prefix.
    let mut torn_create = many.clone();
    file(&mut torn_create, &newest).truncate(10);
    let torn_create = without(&torn_create, &[INDEX_FILE, NODES_FILE]);
    seeds.push(seed("torn-create", join_files(DEFAULT, &torn_create)));

    // Derived data zero-filled past what the segments hold (I2).
    let mut zeroed = one.clone();
    let nodes = file(&mut zeroed, NODES_FILE);
    let keep = nodes.len() - 32;
    nodes.truncate(keep);
    nodes.extend_from_slice(&[0; 32]);
    seeds.push(seed("nodes-zero-filled", join_files(DEFAULT, &zeroed)));

    // Damage the store must refuse.
    let mut flipped = many.clone();
    if let Some(b) = file(&mut flipped, &sealed).get_mut(24 + 12 + 2) {
        *b ^= 1;
    }
    seeds.push(seed(
        "corrupt-sealed-record",
        join_files(FULL_SCAN, &flipped),
    ));
    seeds.push(seed(
        "corrupt-missing-sealed",
        join_files(DEFAULT, &without(&many, &[&sealed])),
    ));
    let mut short = many.clone();
    file(&mut short, &newest).truncate(24);
    seeds.push(seed("corrupt-lost-entry", join_files(DEFAULT, &short)));
    let mut bad_magic = one.clone();
    if let Some(b) = file(&mut bad_magic, INDEX_FILE).first_mut() {
        *b = b'X';
    }
    seeds.push(seed("index-bad-magic", join_files(DEFAULT, &bad_magic)));
    let mut bad_version = one.clone();
    if let Some(b) = file(&mut bad_version, &segment_name(0)).get_mut(11) {
        *b = 2;
    }
    seeds.push(seed(
        "segment-bad-version",
        join_files(DEFAULT, &bad_version),
    ));
    let mut bad_name = one.clone();
    bad_name.push((BAD_SEGMENT_NAME.to_owned(), Vec::new()));
    seeds.push(seed("bad-segment-name", join_files(DEFAULT, &bad_name)));
    let mut gap = many.clone();
    let moved = gap.iter().position(|(n, _)| *n == newest).expect("newest");
    if let Some((name, _)) = gap.get_mut(moved) {
        *name = segment_name(10);
    }
    seeds.push(seed("segment-gap", join_files(DEFAULT, &gap)));
    Ok(seeds)
}

// ---------------------------------------------------------------------------
// audit_proofs

const RFC9162: [(&str, &str); 13] = [
    (
        "inclusion-0-happy",
        include_str!("../../../rfc9162/inclusion/0/happy-path.json"),
    ),
    (
        "inclusion-1-happy",
        include_str!("../../../rfc9162/inclusion/1/happy-path.json"),
    ),
    (
        "inclusion-2-happy",
        include_str!("../../../rfc9162/inclusion/2/happy-path.json"),
    ),
    (
        "inclusion-3-happy",
        include_str!("../../../rfc9162/inclusion/3/happy-path.json"),
    ),
    (
        "inclusion-4-happy",
        include_str!("../../../rfc9162/inclusion/4/happy-path.json"),
    ),
    (
        "inclusion-3-removed-component",
        include_str!("../../../rfc9162/inclusion/3/removed-component.json"),
    ),
    (
        "inclusion-single-entry",
        include_str!("../../../rfc9162/inclusion/single-entry/matching-root-and-leaf.json"),
    ),
    (
        "consistency-1-happy",
        include_str!("../../../rfc9162/consistency/1/happy-path.json"),
    ),
    (
        "consistency-2-happy",
        include_str!("../../../rfc9162/consistency/2/happy-path.json"),
    ),
    (
        "consistency-3-happy",
        include_str!("../../../rfc9162/consistency/3/happy-path.json"),
    ),
    (
        "consistency-4-happy",
        include_str!("../../../rfc9162/consistency/4/happy-path.json"),
    ),
    (
        "consistency-3-truncated",
        include_str!("../../../rfc9162/consistency/3/truncated-proof.json"),
    ),
    (
        "consistency-equal-sizes",
        include_str!(
            "../../../rfc9162/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"
        ),
    ),
];

fn direct(consistency: bool, a: u64, b: u64, h1: Hash, h2: Hash, nodes: Vec<Hash>) -> ProofInput {
    ProofInput {
        consistency,
        relative: false,
        edit: LengthEdit::None,
        index_delta: 0,
        salt: 0,
        size_delta: 0,
        a,
        b,
        h1,
        h2,
        nodes,
    }
}

fn relative(consistency: bool, a: u64, n: u64) -> ProofInput {
    ProofInput {
        relative: true,
        b: n - 1,
        ..direct(consistency, a, 0, [0; 32], [0; 32], Vec::new())
    }
}

/// A vector's hash; one that is not 32 bytes long (a "don't care" value)
/// is cut or zero-padded.
fn hash_of(v: &Value) -> Result<Hash> {
    let bytes = Base64::decode_vec(v.as_str().ok_or("a hash is a string")?)?;
    let mut hash = [0; 32];
    hash.iter_mut().zip(&bytes).for_each(|(h, b)| *h = *b);
    Ok(hash)
}

fn rfc9162_seed(json: &str) -> Result<ProofInput> {
    let v: Value = serde_json::from_str(json)?;
    let proof = match &v["proof"] {
        Value::Array(nodes) => nodes.iter().map(hash_of).collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    let int = |key: &str| v[key].as_u64().ok_or("a size is an integer");
    Ok(if v.get("leafIdx").is_some() {
        direct(
            false,
            int("leafIdx")?,
            int("treeSize")?,
            hash_of(&v["leafHash"])?,
            hash_of(&v["root"])?,
            proof,
        )
    } else {
        direct(
            true,
            int("size1")?,
            int("size2")?,
            hash_of(&v["root1"])?,
            hash_of(&v["root2"])?,
            proof,
        )
    })
}

fn proofs() -> Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for (name, json) in RFC9162 {
        seeds.push(seed(
            &format!("rfc9162-{name}"),
            rfc9162_seed(json)?.to_bytes(),
        ));
    }
    // Real proofs in the fixed tree of salt 0, given directly: each verifies.
    let leaves = tree(0);
    let prefix = |n: u64| &leaves[..usize::try_from(n).expect("small")];
    for (i, n) in [(0, 1), (1, 2), (3, 5), (6, 7), (12, 13), (31, 64)] {
        let all = prefix(n);
        let input = direct(
            false,
            i,
            n,
            all[usize::try_from(i)?],
            merkle::root(all),
            merkle::inclusion_proof(all, i)?,
        );
        seeds.push(seed(
            &format!("tree-inclusion-{i}-of-{n}"),
            input.to_bytes(),
        ));
    }
    for (m, n) in [(1, 2), (3, 7), (4, 8), (5, 13), (63, 64)] {
        let all = prefix(n);
        let input = direct(
            true,
            m,
            n,
            merkle::root(prefix(m)),
            merkle::root(all),
            merkle::consistency_proof(all, m)?,
        );
        seeds.push(seed(
            &format!("tree-consistency-{m}-to-{n}"),
            input.to_bytes(),
        ));
    }
    // Relative claims: the real proof (zero masks), and edited.
    let edits = [
        ("none", LengthEdit::None),
        ("drop-last", LengthEdit::DropLast),
        ("append", LengthEdit::Append),
        ("drop-first", LengthEdit::DropFirst),
    ];
    for (consistency, kind) in [(false, "inclusion"), (true, "consistency")] {
        for (edit_name, edit) in edits {
            let input = ProofInput {
                edit,
                ..relative(consistency, 2, 11)
            };
            seeds.push(seed(
                &format!("relative-{kind}-2-of-11-{edit_name}"),
                input.to_bytes(),
            ));
        }
        let shifted = ProofInput {
            index_delta: 1,
            salt: 7,
            ..relative(consistency, 4, 6)
        };
        seeds.push(seed(
            &format!("relative-{kind}-index-delta"),
            shifted.to_bytes(),
        ));
        let resized = ProofInput {
            size_delta: 1,
            ..relative(consistency, 5, 8)
        };
        seeds.push(seed(
            &format!("relative-{kind}-size-delta"),
            resized.to_bytes(),
        ));
    }
    // Sizes at the top of the range, a proof of 60 nodes.
    seeds.push(seed(
        "huge-inclusion",
        direct(
            false,
            u64::MAX - 1,
            u64::MAX,
            [1; 32],
            [2; 32],
            vec![[3; 32]; 60],
        )
        .to_bytes(),
    ));
    seeds.push(seed(
        "huge-consistency",
        direct(true, 1 << 63, u64::MAX, [1; 32], [2; 32], vec![[3; 32]; 60]).to_bytes(),
    ));
    Ok(seeds)
}

// ---------------------------------------------------------------------------
// audit_note

fn notes() -> Result<Vec<Seed>> {
    let [log, witness, go] = signers();
    let root = merkle::root(&tree(0)[..5]);
    let checkpoint = Checkpoint::new(fixtures::LOG_KEY_NAME, 5, root)?;
    let with_ext = Checkpoint::new(fixtures::LOG_KEY_NAME, 1 << 20, root)?
        .with_extension("timestamp 1767225600")?;
    let signed = checkpoint.sign(&[log])?;
    let cosigned = checkpoint.sign(&[log, witness])?;

    let mut seeds = vec![
        seed("go-example", GO_NOTE),
        seed("note-log", note::sign("hello\n", &[log])?),
        seed(
            "note-blank-lines",
            note::sign("first\n\nthird\n", &[log, go])?,
        ),
        seed("note-witness-only", note::sign("hello\n", &[witness])?),
        seed("checkpoint-signed", signed.as_str()),
        seed("checkpoint-cosigned", cosigned.as_str()),
        seed("checkpoint-extension", with_ext.sign(&[log])?),
        seed("checkpoint-text", checkpoint.to_note_text()),
        seed("checkpoint-text-extension", with_ext.to_note_text()),
    ];
    // A signature by a key nobody knows, beside the log's.
    let stranger =
        NoteSigner::from_key_string(&fixtures::signer_key_string("stranger", &[0x33; 32]))?;
    seeds.push(seed(
        "note-unknown-cosigner",
        note::sign("hello\n", &[log, &stranger])?,
    ));
    // The log's signature with one bit flipped (the last base64 digit
    // before the padding).
    let mut bad = signed.clone().into_bytes();
    let at = bad.len() - 3;
    bad[at] ^= 1;
    seeds.push(seed("defect-flipped-signature", bad));
    seeds.push(seed(
        "defect-no-blank-line",
        signed.replacen("\n\n", "\n", 1),
    ));
    seeds.push(seed("defect-control-char", signed.replacen('5', "\t", 1)));
    seeds.push(seed(
        "defect-wrong-key-hash",
        signed.replacen(fixtures::LOG_KEY_NAME, "fuzz.example/witness", 1),
    ));
    // Key strings.
    for (name, signer) in [("log", log), ("go", go)] {
        seeds.push(seed(
            &format!("vkey-{name}"),
            signer.verifier().to_key_string(),
        ));
        seeds.push(seed(
            &format!("skey-{name}"),
            signer.to_key_string().as_str(),
        ));
    }
    Ok(seeds)
}

// ---------------------------------------------------------------------------
// audit_jcs

/// RFC 8785 section 3.2.2's example input.
const RFC8785_EXAMPLE: &str = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;

/// Its canonical form (section 3.2.4).
const RFC8785_CANONICAL: &str = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;

/// RFC 8785 section 3.2.3's property sorting example.
const RFC8785_SORTING: &str = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;

/// Numbers of RFC 8785 Appendix B, and integers around 2^53 and 2^64.
const NUMBERS: &str = "[0, -0, 5e-324, -5e-324, 1.7976931348623157e308, \
-1.7976931348623157e308, 9007199254740992, -9007199254740992, \
295147905179352830000, 9.999999999999997e22, 1e23, 1.0000000000000001e23, \
999999999999999700000, 999999999999999900000, 1e21, 0.000001, 1e-7, \
333333333.3333332, 333333333.33333325, 4.35, 0.0000001, \
9007199254740993, 18446744073709551615, -9223372036854775808, 1E+2, 1.0e0]";

fn record(payload: bool) -> Result<AuditRecord> {
    let mut builder = AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_767_225_600, 250_000_000)?)
        .actor(Actor::new("user", "u-1842")?)
        .action("payment.approve")
        .resource("payment/9921")
        .outcome(Outcome::Allowed)
        .request_id("req-77f1")
        .source("10.0.0.7")
        .detail("amount", "12.50")
        .detail("count", 3);
    if payload {
        builder = builder.payload(vec![0xA5; 12]);
    }
    Ok(builder.build()?)
}

fn jcs() -> Result<Vec<Seed>> {
    let canonical = String::from_utf8(record(false)?.canonical_bytes()?)?;
    let with_payload = String::from_utf8(record(true)?.canonical_bytes()?)?;
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&canonical)?)?;
    let appended = fixtures::APPENDED_RECORD;
    Ok(vec![
        seed("rfc8785-example", RFC8785_EXAMPLE),
        seed("rfc8785-canonical", RFC8785_CANONICAL),
        seed("rfc8785-sorting", RFC8785_SORTING),
        seed("numbers", NUMBERS),
        seed("record-canonical", canonical.as_str()),
        seed("record-payload", with_payload.as_str()),
        seed("record-pretty", pretty.as_str()),
        seed("record-appended", appended),
        seed("record-fraction", canonical.replace(".25Z", ".250000000Z")),
        seed(
            "record-unknown-member",
            canonical.replacen('{', r#"{"extra":1,"#, 1),
        ),
        seed("record-bad-outcome", canonical.replace("allowed", "maybe")),
        seed("defect-duplicate-name", r#"{"a":1,"b":2,"a":3}"#),
        seed("defect-escaped-duplicate", r#"{"a":1,"\u0061":2}"#),
        seed("defect-lone-surrogate", r#"["\ud800"]"#),
        seed("defect-out-of-range", "[1e400]"),
        seed("defect-trailing-text", r#"{"a":1} x"#),
        seed(
            "defect-too-deep",
            format!("{}{}", "[".repeat(129), "]".repeat(129)),
        ),
        seed(
            "deep-128",
            format!("{}{}", "[".repeat(128), "]".repeat(128)),
        ),
        seed(
            "strings",
            r#"["\u0000\u001f\u007f", "\b\f\n\r\t", "\"\\\/", "é€😀", "\uD83D\uDE00", ""]"#,
        ),
        seed("scalars", "[null,true,false,\"\",0,{}, []]"),
    ])
}
