//! Fixtures of the `audit_*` targets (tresor-audit) and of their seeds: the
//! input layouts of `audit_recovery` (a log directory as a list of files)
//! and `audit_proofs` (a proof claim), the fixed Merkle trees the proof
//! oracle builds, and the fixed signed-note keys.
//!
//! Each layout has an encoder beside its decoder, so `make_seeds` writes
//! exactly what the targets read.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64ct::{Base64, Encoding};
use ring::signature::{Ed25519KeyPair, KeyPair};
use tresor_audit::note::{NoteSigner, NoteVerifier};
use tresor_audit::{Hash, merkle};

// ---------------------------------------------------------------------------
// audit_recovery: a log directory as bytes

/// The derived index file of a log directory (`FORMAT.md`).
pub const INDEX_FILE: &str = "index.bin";
/// The derived node file.
pub const NODES_FILE: &str = "nodes.bin";
/// The writer's lock file.
pub const LOCK_FILE: &str = "LOCK";
/// A name that starts `seg-` and ends `.log` without being a segment name:
/// the log must refuse to open.
pub const BAD_SEGMENT_NAME: &str = "seg-1.log";
/// A file the store ignores.
pub const OTHER_FILE: &str = "notes.txt";

/// Selector bytes below this name the fixed files; from it on, the segment
/// whose first entry is `selector - FIRST_SEGMENT_SELECTOR`.
pub const FIRST_SEGMENT_SELECTOR: u8 = 5;

/// The name of segment file starting at entry `first`.
pub fn segment_name(first: u64) -> String {
    format!("seg-{first:020}.log")
}

/// The file a selector byte names: `0` `index.bin`, `1` `nodes.bin`, `2`
/// `LOCK`, `3` [`BAD_SEGMENT_NAME`], `4` [`OTHER_FILE`], `5..=255` the
/// segments starting at entries 0 to 250.
pub fn file_name(selector: u8) -> String {
    match selector {
        0 => INDEX_FILE.into(),
        1 => NODES_FILE.into(),
        2 => LOCK_FILE.into(),
        3 => BAD_SEGMENT_NAME.into(),
        4 => OTHER_FILE.into(),
        s => segment_name(u64::from(s - FIRST_SEGMENT_SELECTOR)),
    }
}

/// The selector byte of a file name [`file_name`] produces.
pub fn selector(name: &str) -> Option<u8> {
    (0..=u8::MAX).find(|&s| file_name(s) == name)
}

/// How `audit_recovery` opens the directory, from the input's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// Bit 0: the writer opens with `full_scan`.
    pub full_scan: bool,
    /// Bits 1-2: the writer's segment size, [`SEGMENT_SIZES`]`[bits]`.
    pub segment_size: u64,
}

/// The segment sizes a recovery input chooses from: the default 64 MiB and
/// sizes small enough that the oracle's append seals the newest segment.
pub const SEGMENT_SIZES: [u64; 4] = [64 << 20, 1, 128, 512];

impl RecoveryOptions {
    /// Decodes the options byte.
    pub fn from_byte(b: u8) -> Self {
        let size = SEGMENT_SIZES
            .get(usize::from((b >> 1) & 3))
            .copied()
            .unwrap_or(64 << 20);
        Self {
            full_scan: b & 1 == 1,
            segment_size: size,
        }
    }
}

/// Splits an `audit_recovery` input into its options byte and its files.
///
/// Layout: one options byte ([`RecoveryOptions::from_byte`]), then any
/// number of `selector (1 byte) | length (u16, big-endian) | content`. A
/// length past the end takes what is left. A file named twice gets both
/// contents, concatenated in order.
pub fn split_files(data: &[u8]) -> (RecoveryOptions, Vec<(String, Vec<u8>)>) {
    let Some((&options, mut rest)) = data.split_first() else {
        return (RecoveryOptions::from_byte(0), Vec::new());
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some((&sel, after)) = rest.split_first() {
        let (len, after) = match after.split_first_chunk::<2>() {
            Some((len, after)) => (usize::from(u16::from_be_bytes(*len)), after),
            None => (after.len(), &[][..]),
        };
        let (content, after) = after.split_at(len.min(after.len()));
        let name = file_name(sel);
        match files.iter_mut().find(|(n, _)| *n == name) {
            Some((_, bytes)) => bytes.extend_from_slice(content),
            None => files.push((name, content.to_vec())),
        }
        rest = after;
    }
    (RecoveryOptions::from_byte(options), files)
}

/// Encodes files for [`split_files`]; contents over 65 535 bytes are split
/// into several chunks of the same file.
pub fn join_files(options: u8, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![options];
    for (name, content) in files {
        let sel = selector(name).expect("only names file_name produces are encoded");
        let mut chunks = content.chunks(usize::from(u16::MAX)).peekable();
        if chunks.peek().is_none() {
            out.extend_from_slice(&[sel, 0, 0]);
        }
        for chunk in chunks {
            out.push(sel);
            let len = u16::try_from(chunk.len()).expect("chunks are at most u16::MAX long");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(chunk);
        }
    }
    out
}

/// A fresh, empty scratch directory, removed when dropped. Under
/// `/dev/shm` when it exists, so the store's `fsync`s cost nothing.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates a new directory, unique within this process.
    pub fn new(prefix: &str) -> io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{prefix}-{}-{n}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The entry `audit_recovery` appends: a canonical audit record.
pub const APPENDED_RECORD: &str = r#"{"action":"fuzz.append","actor":{"id":"f-1","kind":"fuzzer"},"details":{},"outcome":"allowed","request_id":"r-1","resource":"log","source":"fuzz","timestamp":"2026-01-01T00:00:00Z"}"#;

// ---------------------------------------------------------------------------
// audit_proofs: a proof claim

/// Largest tree the proof oracle builds.
pub const MAX_TREE: u64 = 64;

/// Bytes before the proof nodes of an `audit_proofs` input.
pub const PROOF_HEADER_LEN: usize = 3 + 8 + 8 + 32 + 32;

/// The claim of an `audit_proofs` input.
///
/// Layout: `flags | salt | size_delta | a (u64 BE) | b (u64 BE) | h1 (32) |
/// h2 (32) | proof nodes (32 each; a trailing partial node is ignored)`.
///
/// `flags` bit 0: consistency (else inclusion); bit 1: *relative* (else
/// direct); bits 2-3: [`LengthEdit`]; bits 4-7: `index_delta`.
///
/// *Direct*: the verifier gets `a, b, h1, h2` and the nodes as they are:
/// (`index, tree_size, leaf_hash, root`) or (`size1, size2, root1,
/// root2`).
///
/// *Relative*: the claim is built from a real proof in the fixed tree of
/// `n = b % 64 + 1` leaves ([`tree`] of `salt`): for inclusion, the proof
/// of leaf `a % n`; for consistency, of size `a % n + 1`. `h1` and `h2` are
/// XORed into the leaf (old root) and root (new root), each node into the
/// proof node at its position, and the proof's length is edited; the
/// claimed index (old size) is the real one XOR `index_delta`, the claimed
/// size `n + size_delta` (a signed byte).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofInput {
    /// Bit 0 of `flags`.
    pub consistency: bool,
    /// Bit 1 of `flags`.
    pub relative: bool,
    /// Bits 2-3 of `flags`.
    pub edit: LengthEdit,
    /// Bits 4-7 of `flags`.
    pub index_delta: u8,
    /// Picks the fixed tree.
    pub salt: u8,
    /// Added to the real size in relative mode.
    pub size_delta: i8,
    /// Index or old size.
    pub a: u64,
    /// Tree size or new size.
    pub b: u64,
    /// Leaf hash or old root (a mask in relative mode).
    pub h1: Hash,
    /// Root or new root (a mask in relative mode).
    pub h2: Hash,
    /// Proof nodes (masks in relative mode).
    pub nodes: Vec<Hash>,
}

/// How a relative claim edits the real proof's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthEdit {
    /// Keep every node.
    None,
    /// Drop the last node.
    DropLast,
    /// Append one node: the input node past the real proof's length, or
    /// zeros.
    Append,
    /// Drop the first node.
    DropFirst,
}

impl ProofInput {
    /// Decodes an input; `None` if shorter than [`PROOF_HEADER_LEN`].
    pub fn parse(data: &[u8]) -> Option<Self> {
        let (head, rest) = data.split_first_chunk::<PROOF_HEADER_LEN>()?;
        let (&[flags, salt, delta], head) = head.split_first_chunk::<3>()?;
        let (a, head) = head.split_first_chunk::<8>()?;
        let (b, head) = head.split_first_chunk::<8>()?;
        let (h1, head) = head.split_first_chunk::<32>()?;
        let h2: &[u8; 32] = head.try_into().ok()?;
        Some(Self {
            consistency: flags & 1 == 1,
            relative: flags & 2 == 2,
            edit: match (flags >> 2) & 3 {
                0 => LengthEdit::None,
                1 => LengthEdit::DropLast,
                2 => LengthEdit::Append,
                _ => LengthEdit::DropFirst,
            },
            index_delta: flags >> 4,
            salt,
            size_delta: i8::from_be_bytes([delta]),
            a: u64::from_be_bytes(*a),
            b: u64::from_be_bytes(*b),
            h1: *h1,
            h2: *h2,
            nodes: rest
                .chunks_exact(32)
                .map(|c| c.try_into().expect("chunks_exact(32)"))
                .collect(),
        })
    }

    /// Encodes the input ([`ProofInput::parse`]'s inverse).
    pub fn to_bytes(&self) -> Vec<u8> {
        let edit = match self.edit {
            LengthEdit::None => 0u8,
            LengthEdit::DropLast => 1,
            LengthEdit::Append => 2,
            LengthEdit::DropFirst => 3,
        };
        let flags = u8::from(self.consistency)
            | u8::from(self.relative) << 1
            | edit << 2
            | (self.index_delta & 0x0f) << 4;
        let mut out = Vec::with_capacity(PROOF_HEADER_LEN + 32 * self.nodes.len());
        out.extend_from_slice(&[flags, self.salt]);
        out.extend_from_slice(&self.size_delta.to_be_bytes());
        out.extend_from_slice(&self.a.to_be_bytes());
        out.extend_from_slice(&self.b.to_be_bytes());
        out.extend_from_slice(&self.h1);
        out.extend_from_slice(&self.h2);
        for node in &self.nodes {
            out.extend_from_slice(node);
        }
        out
    }
}

/// The leaves of the fixed tree of `salt`: leaf `i` holds the two bytes
/// `salt, i`. Trees of different sizes with one salt are prefixes of each
/// other. Returns [`MAX_TREE`] leaf hashes.
pub fn tree(salt: u8) -> Vec<Hash> {
    (0..MAX_TREE)
        .map(|i| merkle::leaf_hash(&[salt, u8::try_from(i).expect("MAX_TREE fits in u8")]))
        .collect()
}

/// XOR of two hashes.
pub fn xor(a: &Hash, b: &Hash) -> Hash {
    let mut out = *a;
    for (o, m) in out.iter_mut().zip(b) {
        *o ^= m;
    }
    out
}

// ---------------------------------------------------------------------------
// audit_note: fixed keys

/// The signer key of the example in Go's `golang.org/x/mod/sumdb/note`
/// documentation (public, it is in the docs); the C2SP spec's example note
/// is signed by it.
pub const GO_SIGNER_KEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

/// The Go documentation's signed example note (verifies under
/// [`GO_SIGNER_KEY`]).
pub const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
then you don't know what your problem is.\n\
\n\
\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/// Name of the fixed log key.
pub const LOG_KEY_NAME: &str = "fuzz.example/log";
/// Name of the fixed witness key.
pub const WITNESS_KEY_NAME: &str = "fuzz.example/witness";

/// A signer key string, `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`,
/// computed here with `ring` (independently of tresor-audit).
pub fn signer_key_string(name: &str, seed: &[u8; 32]) -> String {
    let pair = Ed25519KeyPair::from_seed_unchecked(seed).expect("any 32 bytes are a seed");
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n\x01");
    ctx.update(pair.public_key().as_ref());
    let digest = ctx.finish();
    let hash = digest.as_ref().get(..4).expect("SHA-256 is 32 bytes");
    let mut typed = vec![1u8];
    typed.extend_from_slice(seed);
    format!(
        "PRIVATE+KEY+{name}+{}+{}",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Base64::encode_string(&typed)
    )
}

/// The fixed signers: the log key (seed `0x11`×32), the witness key (seed
/// `0x22`×32) and the Go example key.
pub fn signers() -> &'static [NoteSigner; 3] {
    static SIGNERS: OnceLock<[NoteSigner; 3]> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        let load = |s: &str| NoteSigner::from_key_string(s).expect("the fixed keys load");
        [
            load(&signer_key_string(LOG_KEY_NAME, &[0x11; 32])),
            load(&signer_key_string(WITNESS_KEY_NAME, &[0x22; 32])),
            load(GO_SIGNER_KEY),
        ]
    })
}

/// The fixed verifier set: the public halves of [`signers`].
pub fn verifiers() -> &'static [NoteVerifier] {
    static VERIFIERS: OnceLock<Vec<NoteVerifier>> = OnceLock::new();
    VERIFIERS.get_or_init(|| signers().iter().map(NoteSigner::verifier).collect())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip() {
        let files = vec![
            (segment_name(0), b"TRSAUSEG".to_vec()),
            (INDEX_FILE.to_owned(), vec![]),
            (segment_name(250), vec![7; 70_000]),
        ];
        let (options, back) = split_files(&join_files(3, &files));
        assert_eq!(back, files);
        assert!(options.full_scan);
        assert_eq!(options.segment_size, 1);
        assert_eq!(selector(&segment_name(251)), None);
    }

    #[test]
    fn proof_input_round_trips() {
        let input = ProofInput {
            consistency: true,
            relative: true,
            edit: LengthEdit::Append,
            index_delta: 9,
            salt: 3,
            size_delta: -2,
            a: 5,
            b: u64::MAX,
            h1: [1; 32],
            h2: [2; 32],
            nodes: vec![[3; 32], [4; 32]],
        };
        assert_eq!(ProofInput::parse(&input.to_bytes()), Some(input));
    }

    #[test]
    fn fixed_keys_load() {
        assert_eq!(signers()[0].name(), LOG_KEY_NAME);
        assert!(tresor_audit::note::open(GO_NOTE, verifiers()).is_ok());
    }
}
