//! Signed tree heads in the [C2SP tlog-checkpoint](https://c2sp.org/tlog-checkpoint)
//! format: a [signed note](crate::note) whose text is the log's origin, its
//! size and its RFC 9162 root hash.
//!
//! # Format
//!
//! The note text is at least three non-empty lines, each ending in a newline:
//!
//! 1. the **origin**, the log's identity (e.g. `example.com/audit/prod`);
//! 2. the **tree size**, in ASCII decimal without leading zeros (`0` for
//!    the empty tree);
//! 3. the **root hash**, standard base64 (padded) of the 32-byte RFC 9162
//!    tree head at that size;
//! 4. optional, opaque, non-empty **extension lines** (at most
//!    [`MAX_EXTENSIONS`]).
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```
//!
//! The log's signature line should use a key named after the origin;
//! witnesses add their own signature lines (cosigning), which a verifier
//! that does not know their keys ignores.
//!
//! # Example
//!
//! ```
//! use tresor_audit::{Checkpoint, note::NoteSigner};
//!
//! let key = NoteSigner::generate("example.com/log")?;
//! let checkpoint = Checkpoint::new("example.com/log", 5, [7; 32])?;
//! let signed = checkpoint.sign(&[&key])?;
//!
//! let opened = Checkpoint::open(&signed, &[key.verifier()], "example.com/log")?;
//! assert_eq!(opened, checkpoint);
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use base64ct::{Base64, Encoding};

use crate::error::{Error, Result};
use crate::note::{self, NoteSigner, NoteVerifier};
use crate::store::Hash;

/// The largest number of extension lines a checkpoint may carry.
pub const MAX_EXTENSIONS: usize = 64;

fn malformed(reason: impl Into<String>) -> Error {
    Error::Malformed {
        what: "checkpoint",
        reason: reason.into(),
    }
}

/// Checks one line of checkpoint text (origin or extension).
fn check_line(kind: &str, line: &str) -> Result<()> {
    if line.is_empty() {
        return Err(malformed(format!("empty {kind} line")));
    }
    // The signed-note rule: no ASCII control character (below U+0020).
    if line.chars().any(|c| c < ' ') {
        return Err(malformed(format!(
            "{kind} line contains a control character"
        )));
    }
    Ok(())
}

/// A log's tree head: origin, size and root hash, plus optional extension
/// lines. Always valid: every constructor checks its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint of the log `origin` at `size` entries with tree head
    /// `root`. The origin must be non-empty, without ASCII control
    /// characters (newline included); it should be a schema-less URL
    /// without spaces or `+`, matching the log's key name.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self> {
        check_line("origin", origin)?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line (non-empty, no control characters). Their use
    /// is discouraged by the specification: monitors cannot audit them.
    pub fn with_extension(mut self, line: &str) -> Result<Self> {
        check_line("extension", line)?;
        if self.extensions.len() >= MAX_EXTENSIONS {
            return Err(malformed(format!(
                "more than {MAX_EXTENSIONS} extension lines"
            )));
        }
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size: the number of entries the root covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 9162 tree head at [`Checkpoint::size`].
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: origin, size, root and extension lines, each ending
    /// in a newline.
    pub fn to_note_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            Base64::encode_string(&self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses checkpoint note text (not a signed note: see
    /// [`Checkpoint::open`]).
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > note::MAX_NOTE_LEN {
            return Err(malformed("text too long"));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("text must end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("fewer than three lines"));
        };
        check_line("origin", origin)?;
        let size = parse_size(size)?;
        let root = parse_root(root)?;
        let mut checkpoint = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        for line in lines {
            checkpoint = checkpoint.with_extension(line)?;
        }
        Ok(checkpoint)
    }

    /// Signs the checkpoint with each of `signers` (the log's key, and
    /// witnesses' keys when cosigning) and returns the signed note.
    pub fn sign(&self, signers: &[&NoteSigner]) -> Result<String> {
        note::sign(&self.to_note_text(), signers)
    }

    /// Signs the checkpoint with each of `signers`, any
    /// [`NoteSign`](note::NoteSign): a log key held in an HSM
    /// (`tresor-pkcs11`'s `Pkcs11NoteSigner`), in-memory [`NoteSigner`]s,
    /// or a mix. The note is byte for byte what [`Checkpoint::sign`]
    /// writes for the same keys; see [`note::sign_with`] for the errors.
    pub fn sign_with(&self, signers: &[&dyn note::NoteSign]) -> Result<String> {
        note::sign_with(&self.to_note_text(), signers)
    }

    /// Opens a signed checkpoint: it must carry a valid signature by the
    /// key named `key_name`, found in `known`. Signatures by keys not in
    /// `known` are ignored; a failing signature by a key in `known` rejects
    /// the checkpoint.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if `known` has no key named `key_name`;
    /// [`Error::Malformed`] for a malformed note or checkpoint text;
    /// [`Error::SignatureMissing`] if `key_name`'s signature is absent or
    /// a known key's signature does not verify.
    pub fn open(note: &str, known: &[NoteVerifier], key_name: &str) -> Result<Self> {
        if !known.iter().any(|v| v.name() == key_name) {
            return Err(Error::Key {
                reason: format!("no verifier key named {key_name:?} given"),
            });
        }
        let verified = note::Note::parse(note)?.verify_known(known)?;
        if !verified.is_signed_by(key_name) {
            return Err(Error::SignatureMissing {
                key_name: key_name.to_owned(),
            });
        }
        Self::parse(verified.text())
    }
}

fn parse_size(line: &str) -> Result<u64> {
    let digits_ok = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !digits_ok {
        return Err(malformed(
            "tree size must be decimal digits without leading zeros",
        ));
    }
    line.parse::<u64>()
        .map_err(|_| malformed("tree size does not fit in 64 bits"))
}

fn parse_root(line: &str) -> Result<Hash> {
    let mut root = [0u8; 32];
    let decoded = Base64::decode(line, &mut root)
        .map_err(|_| malformed("root hash is not base64 of 32 bytes"))?;
    if decoded.len() != 32 {
        return Err(malformed("root hash is not 32 bytes long"));
    }
    Ok(root)
}
