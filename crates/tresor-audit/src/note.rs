//! Signed notes: text signed by one or more Ed25519 keys, in the
//! [C2SP signed-note](https://c2sp.org/signed-note) format (the format of
//! Go's `golang.org/x/mod/sumdb/note`, used by transparency-log witnesses).
//!
//! # Guarantee
//!
//! [`open`] returns a note's text only if at least one of the caller's
//! trusted keys signed exactly that text, and no signature that claims to be
//! by a trusted key fails to verify. Signatures by unknown keys are ignored,
//! as the specification requires (they let witnesses cosign).
//!
//! # Format
//!
//! A note is its text, a blank line and one or more signature lines:
//!
//! ```text
//! If you think cryptography is the answer to your problem,
//! then you don't know what your problem is.
//!
//! — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
//! ```
//!
//! - The text is UTF-8, ends with a newline (U+000A) and contains no ASCII
//!   control character other than newline; it may contain blank lines: the
//!   *last* blank line of the note separates it from the signatures.
//! - A signature line is em dash (U+2014), space, key name, space,
//!   base64 (standard alphabet, padded) of `key hash (4 bytes, big-endian) ||
//!   Ed25519 signature of the text (64 bytes)`, newline.
//! - Key names are non-empty and contain neither Unicode white space nor `+`.
//! - The key hash is the first four bytes of
//!   `SHA-256(name || 0x0A || 0x01 || 32-byte Ed25519 public key)`, where
//!   `0x01` is the signed-note type byte for Ed25519.
//! - A verifier key is written `<name>+<key hash as 8 hex digits>+<base64(0x01
//!   || public key)>`; a signer key `PRIVATE+KEY+<name>+<key hash>+<base64(0x01
//!   || 32-byte Ed25519 seed)>`. Both are the strings Go's `note.GenerateKey`
//!   produces.
//!
//! # Keys held elsewhere
//!
//! [`NoteSign`] is an Ed25519 key that signs notes: [`NoteSigner`] holds
//! its seed in memory; a key in an HSM or a KMS implements the trait
//! itself (`tresor-pkcs11`'s `Pkcs11NoteSigner` does), and [`sign_with`]
//! (or [`Checkpoint::sign_with`](crate::Checkpoint::sign_with)) signs with
//! any mix of them. Every signature such a signer returns is verified
//! under its public key before it is written, so a key that does not
//! match its public key never produces a note.
//!
//! Parsing limits: a note is at most [`MAX_NOTE_LEN`] bytes and carries at
//! most [`MAX_SIGNATURES`] signature lines (the specification requires at
//! least 16 to be accepted).
//!
//! # Example
//!
//! ```
//! use tresor_audit::note::{self, NoteSigner};
//!
//! let log_key = NoteSigner::generate("example.com/log")?;
//! let signed = note::sign("hello\n", &[&log_key])?;
//!
//! let opened = note::open(&signed, &[log_key.verifier()])?;
//! assert_eq!(opened.text(), "hello\n");
//! assert_eq!(opened.key_names(), ["example.com/log"]);
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use std::fmt;

use base64ct::{Base64, Encoding};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The largest note [`open`] and [`Note::parse`] accept, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// The largest number of signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;

/// The signed-note signature type byte of Ed25519.
const ALG_ED25519: u8 = 0x01;

/// Ed25519 seed, public key and signature lengths.
const SEED_LEN: usize = 32;
const PUBLIC_KEY_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;

/// What a signature line starts with: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The prefix of a signer key string.
const SIGNER_PREFIX: &str = "PRIVATE+KEY+";

fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        reason: reason.into(),
    }
}

/// Whether `name` is a valid key name: non-empty, without Unicode white
/// space or `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_name(what: &'static str, name: &str) -> Result<()> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(malformed(
            what,
            "key name must be non-empty, without white space or '+'",
        ))
    }
}

/// The signed-note key hash of an Ed25519 key.
fn key_hash(name: &str, public_key: &[u8; PUBLIC_KEY_LEN]) -> u32 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ALG_ED25519]);
    ctx.update(public_key);
    let digest = ctx.finish();
    let mut first = [0u8; 4];
    for (dst, src) in first.iter_mut().zip(digest.as_ref()) {
        *dst = *src;
    }
    u32::from_be_bytes(first)
}

/// Parses exactly eight hex digits (either case).
fn parse_key_hash(what: &'static str, hex: &str) -> Result<u32> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(what, "key hash must be 8 hex digits"));
    }
    u32::from_str_radix(hex, 16).map_err(|_| malformed(what, "key hash must be 8 hex digits"))
}

/// Decodes `0x01 || 32 bytes` from standard base64 into a zeroized buffer.
fn decode_typed_key(what: &'static str, b64: &str) -> Result<Zeroizing<[u8; 32]>> {
    let mut buf = Zeroizing::new([0u8; 1 + 32]);
    let decoded = Base64::decode(b64, &mut buf[..])
        .map_err(|_| malformed(what, "key is not valid base64 of 33 bytes"))?;
    let (alg, key) = match decoded.split_first() {
        Some((alg, key)) if key.len() == 32 => (*alg, key),
        _ => return Err(malformed(what, "key is not 33 bytes long")),
    };
    if alg != ALG_ED25519 {
        return Err(malformed(
            what,
            format!("unsupported signature type 0x{alg:02x} (only Ed25519, 0x01)"),
        ));
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(key);
    Ok(out)
}

// ---------------------------------------------------------------------------
// Signer

/// An Ed25519 note signing key with its name: a secret.
///
/// Its [`Debug`](fmt::Debug) shows the name and key hash only; it has no
/// `Display`, `Serialize` or `Clone`, and its seed is wiped on drop. The only
/// way to get the secret out is [`NoteSigner::to_key_string`], which returns
/// a zeroizing string. (The expanded key inside `ring`'s
/// `Ed25519KeyPair` is not wiped: `ring` offers no way to.)
pub struct NoteSigner {
    name: String,
    key_hash: u32,
    seed: Zeroizing<[u8; SEED_LEN]>,
    key_pair: Ed25519KeyPair,
    public_key: [u8; PUBLIC_KEY_LEN],
}

impl NoteSigner {
    /// Generates a new key named `name` from the system's random source.
    pub fn generate(name: &str) -> Result<Self> {
        check_name("signer key", name)?;
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        SystemRandom::new()
            .fill(&mut seed[..])
            .map_err(|_| Error::Key {
                reason: "the system random source failed".into(),
            })?;
        Self::from_seed(name, seed)
    }

    fn from_seed(name: &str, seed: Zeroizing<[u8; SEED_LEN]>) -> Result<Self> {
        let key_pair = Ed25519KeyPair::from_seed_unchecked(&seed[..]).map_err(|_| Error::Key {
            reason: "invalid Ed25519 seed".into(),
        })?;
        let mut public_key = [0u8; PUBLIC_KEY_LEN];
        public_key.copy_from_slice(key_pair.public_key().as_ref());
        Ok(NoteSigner {
            name: name.to_owned(),
            key_hash: key_hash(name, &public_key),
            seed,
            key_pair,
            public_key,
        })
    }

    /// Parses a signer key string,
    /// `PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || seed)>`, checking that
    /// the key hash is that of the derived public key. Errors never contain
    /// key material.
    pub fn from_key_string(skey: &str) -> Result<Self> {
        const WHAT: &str = "signer key";
        let rest = skey
            .strip_prefix(SIGNER_PREFIX)
            .ok_or_else(|| malformed(WHAT, "must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash_hex), Some(key_b64)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(WHAT, "expected PRIVATE+KEY+<name>+<hash>+<key>"));
        };
        check_name(WHAT, name)?;
        let hash = parse_key_hash(WHAT, hash_hex)?;
        let seed = decode_typed_key(WHAT, key_b64)?;
        let signer = Self::from_seed(name, seed)?;
        if signer.key_hash != hash {
            return Err(malformed(WHAT, "key hash does not match the key"));
        }
        Ok(signer)
    }

    /// The signer key string (a secret), in the format
    /// [`NoteSigner::from_key_string`] reads. Wiped when dropped.
    pub fn to_key_string(&self) -> Zeroizing<String> {
        let mut typed = Zeroizing::new([0u8; 1 + SEED_LEN]);
        let (alg, seed) = typed.split_at_mut(1);
        alg.copy_from_slice(&[ALG_ED25519]);
        seed.copy_from_slice(&self.seed[..]);
        // base64 of 33 bytes is 44 characters.
        let mut b64 = Zeroizing::new([0u8; 44]);
        let mut out = Zeroizing::new(String::with_capacity(
            SIGNER_PREFIX.len() + self.name.len() + 1 + 8 + 1 + 44,
        ));
        out.push_str(SIGNER_PREFIX);
        out.push_str(&self.name);
        out.push('+');
        out.push_str(&format!("{:08x}", self.key_hash));
        out.push('+');
        if let Ok(encoded) = Base64::encode(&typed[..], &mut b64[..]) {
            out.push_str(encoded);
        }
        out
    }

    /// The matching verifier (public) key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_hash: self.key_hash,
            public_key: self.public_key,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash that identifies the key in signature lines.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.key_hash))
            .finish_non_exhaustive()
    }
}

impl NoteSign for NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        let signature = self.key_pair.sign(message);
        <[u8; SIGNATURE_LEN]>::try_from(signature.as_ref()).map_err(|_| Error::Key {
            reason: "ring returned an Ed25519 signature that is not 64 bytes".into(),
        })
    }

    fn key_hash(&self) -> u32 {
        self.key_hash
    }
}

// ---------------------------------------------------------------------------
// Signers in general

/// An Ed25519 key that signs notes: [`NoteSigner`] (the seed in memory),
/// or a key held in an HSM or a KMS that never leaves it.
///
/// Object-safe, so [`sign_with`] and
/// [`Checkpoint::sign_with`](crate::Checkpoint::sign_with) take
/// `&[&dyn NoteSign]`: a log key in an HSM and a witness key in memory
/// cosign one note. The signature lines it yields are exactly those of a
/// [`NoteSigner`] with the same name and key: the key hash is
/// [`NoteSign::key_hash`] (`SHA-256(name || 0x0A || 0x01 || public key)`,
/// first four bytes), the signature pure Ed25519 (RFC 8032) over the note
/// text.
///
/// ```
/// use tresor_audit::note::{self, NoteSign, NoteSigner};
///
/// let log_key = NoteSigner::generate("example.com/log")?;
/// let witness = NoteSigner::generate("witness.example")?;
/// let signers: [&dyn NoteSign; 2] = [&log_key, &witness];
/// let signed = note::sign_with("hello\n", &signers)?;
/// let opened = note::open(&signed, &[log_key.verifier(), witness.verifier()])?;
/// assert_eq!(opened.key_names(), ["example.com/log", "witness.example"]);
/// # Ok::<(), tresor_audit::Error>(())
/// ```
pub trait NoteSign: Send + Sync {
    /// The key's name: non-empty, without white space or `+`
    /// ([`is_valid_key_name`]); a checkpoint's log key is named after the
    /// log's origin.
    fn name(&self) -> &str;

    /// The raw 32-byte Ed25519 public key.
    fn public_key(&self) -> [u8; 32];

    /// The pure Ed25519 signature (RFC 8032) of `message`.
    ///
    /// # Errors
    ///
    /// A signer that cannot sign (a token that is gone, a KMS that does
    /// not answer) returns [`Error::Signing`] with the cause as its
    /// source.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]>;

    /// The signed-note key hash of this key: the first four bytes,
    /// big-endian, of `SHA-256(name || 0x0A || 0x01 || public key)`.
    fn key_hash(&self) -> u32 {
        key_hash(self.name(), &self.public_key())
    }

    /// The matching verifier (public) key.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if the name is not a valid key name.
    fn note_verifier(&self) -> Result<NoteVerifier> {
        NoteVerifier::from_ed25519_public_key(self.name(), &self.public_key())
    }
}

macro_rules! forward_note_sign {
    ($($ptr:ty),*) => {$(
        impl<S: NoteSign + ?Sized> NoteSign for $ptr {
            fn name(&self) -> &str {
                (**self).name()
            }
            fn public_key(&self) -> [u8; 32] {
                (**self).public_key()
            }
            fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
                (**self).sign(message)
            }
            fn key_hash(&self) -> u32 {
                (**self).key_hash()
            }
        }
    )*};
}

forward_note_sign!(&S, Box<S>, std::sync::Arc<S>);

/// The signature line of `signer` for `text` (already valid note text),
/// its signature checked under its public key.
fn signature_line(signer: &dyn NoteSign, key_hash: u32, text: &str) -> Result<String> {
    let name = signer.name();
    let signature = signer.sign(text.as_bytes())?;
    let public_key = signer.public_key();
    if UnparsedPublicKey::new(&ED25519, &public_key)
        .verify(text.as_bytes(), &signature)
        .is_err()
    {
        return Err(Error::Signing {
            key_name: name.to_owned(),
            source: "the signature does not verify under the signer's public key".into(),
        });
    }
    let mut blob = Vec::with_capacity(4 + SIGNATURE_LEN);
    blob.extend_from_slice(&key_hash.to_be_bytes());
    blob.extend_from_slice(&signature);
    Ok(format!(
        "{SIG_PREFIX}{name} {}\n",
        Base64::encode_string(&blob)
    ))
}

// ---------------------------------------------------------------------------
// Verifier

/// An Ed25519 note verifier key with its name: public.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NoteVerifier {
    name: String,
    key_hash: u32,
    public_key: [u8; PUBLIC_KEY_LEN],
}

impl NoteVerifier {
    /// Parses a verifier key string, `<name>+<key hash>+<base64(0x01 ||
    /// public key)>`, checking the key hash.
    pub fn from_key_string(vkey: &str) -> Result<Self> {
        const WHAT: &str = "verifier key";
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash_hex), Some(key_b64)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(WHAT, "expected <name>+<hash>+<key>"));
        };
        check_name(WHAT, name)?;
        let hash = parse_key_hash(WHAT, hash_hex)?;
        let key = decode_typed_key(WHAT, key_b64)?;
        let verifier = Self::from_ed25519_public_key(name, &key)?;
        if verifier.key_hash != hash {
            return Err(malformed(WHAT, "key hash does not match the key"));
        }
        Ok(verifier)
    }

    /// A verifier for the raw 32-byte Ed25519 public key `public_key`,
    /// named `name`.
    pub fn from_ed25519_public_key(name: &str, public_key: &[u8; 32]) -> Result<Self> {
        check_name("verifier key", name)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_hash: key_hash(name, public_key),
            public_key: *public_key,
        })
    }

    /// The verifier key string, in the format
    /// [`NoteVerifier::from_key_string`] reads.
    pub fn to_key_string(&self) -> String {
        let mut typed = [0u8; 1 + PUBLIC_KEY_LEN];
        let (alg, key) = typed.split_at_mut(1);
        alg.copy_from_slice(&[ALG_ED25519]);
        key.copy_from_slice(&self.public_key);
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            Base64::encode_string(&typed)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash that identifies the key in signature lines.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        signature.len() == SIGNATURE_LEN
            && UnparsedPublicKey::new(&ED25519, &self.public_key)
                .verify(text.as_bytes(), signature)
                .is_ok()
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoteVerifier")
            .field(&self.to_key_string())
            .finish()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_key_string())
    }
}

impl std::str::FromStr for NoteVerifier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_key_string(s)
    }
}

// ---------------------------------------------------------------------------
// Notes

/// One signature line of a note, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_hash: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// The key name the line claims.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash the line claims.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The signature bytes (after the key hash).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// A parsed note whose signatures have **not** been verified.
///
/// The specification says the text of a note must be ignored unless a
/// trusted key's signature on it verifies: use [`Note::verify`] (or
/// [`open`]) to get a [`VerifiedNote`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks note text: ends with a newline, no control character but newline.
fn check_text(text: &str) -> Result<()> {
    if !text.ends_with('\n') {
        return Err(malformed("note", "text must end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(malformed(
            "note",
            "text contains a control character other than newline",
        ));
    }
    Ok(())
}

impl Note {
    /// Parses a signed note without verifying it. Rejects notes larger
    /// than [`MAX_NOTE_LEN`], with more than [`MAX_SIGNATURES`] signature
    /// lines, with control characters, or with malformed signature lines.
    pub fn parse(note: &str) -> Result<Self> {
        const WHAT: &str = "note";
        if note.len() > MAX_NOTE_LEN {
            return Err(malformed(WHAT, format!("longer than {MAX_NOTE_LEN} bytes")));
        }
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(malformed(
                WHAT,
                "contains a control character other than newline",
            ));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed(WHAT, "no blank line before the signatures"))?;
        let (text, rest) = note.split_at(split + 1);
        let block = rest
            .strip_prefix('\n')
            .and_then(|b| b.strip_suffix('\n'))
            .filter(|b| !b.is_empty())
            .ok_or_else(|| malformed(WHAT, "signature block missing or not ending in newline"))?;

        let mut signatures = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed(
                    WHAT,
                    format!("more than {MAX_SIGNATURES} signatures"),
                ));
            }
            let body = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
                malformed(WHAT, "signature line does not start with em dash and space")
            })?;
            let (name, b64) = body
                .split_once(' ')
                .ok_or_else(|| malformed(WHAT, "signature line has no signature"))?;
            if !is_valid_key_name(name) {
                return Err(malformed(WHAT, "invalid key name in signature line"));
            }
            let blob = Base64::decode_vec(b64)
                .map_err(|_| malformed(WHAT, "signature is not valid base64"))?;
            let (hash, signature) = match blob.split_first_chunk::<4>() {
                Some((hash, signature)) if !signature.is_empty() => (*hash, signature),
                _ => return Err(malformed(WHAT, "signature too short")),
            };
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_hash: u32::from_be_bytes(hash),
                signature: signature.to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The text, **unverified**: do not act on it before [`Note::verify`].
    pub fn unverified_text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verifies the note against the trusted keys `known`; see [`open`].
    pub fn verify(&self, known: &[NoteVerifier]) -> Result<VerifiedNote> {
        let verified = self.verify_known(known)?;
        if verified.key_names.is_empty() {
            let names: Vec<&str> = known.iter().map(NoteVerifier::name).collect();
            return Err(Error::SignatureMissing {
                key_name: names.join(" or "),
            });
        }
        Ok(verified)
    }

    /// Verifies every signature by a known key; the result may have no
    /// verified key.
    pub(crate) fn verify_known(&self, known: &[NoteVerifier]) -> Result<VerifiedNote> {
        if known.is_empty() {
            return Err(Error::Key {
                reason: "no verifier key given".into(),
            });
        }
        for (i, a) in known.iter().enumerate() {
            let clash = known.iter().skip(i + 1).any(|b| {
                a.name == b.name && a.key_hash == b.key_hash && a.public_key != b.public_key
            });
            if clash {
                return Err(Error::Key {
                    reason: format!(
                        "two different verifier keys share name {:?} and hash {:08x}",
                        a.name, a.key_hash
                    ),
                });
            }
        }
        let mut key_names: Vec<String> = Vec::new();
        for sig in &self.signatures {
            let Some(verifier) = known
                .iter()
                .find(|v| v.name == sig.name && v.key_hash == sig.key_hash)
            else {
                continue; // unknown key: ignored, as the specification requires
            };
            if !verifier.verify(&self.text, &sig.signature) {
                return Err(Error::SignatureMissing {
                    key_name: sig.name.clone(),
                });
            }
            if !key_names.contains(&sig.name) {
                key_names.push(sig.name.clone());
            }
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            key_names,
        })
    }
}

/// A note whose text was signed by at least one trusted key; built only by
/// [`open`] and [`Note::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    key_names: Vec<String>,
}

impl VerifiedNote {
    /// The verified text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The names of the trusted keys whose signatures verified, in the
    /// order of the note's signature lines, without duplicates.
    pub fn key_names(&self) -> &[String] {
        &self.key_names
    }

    /// Whether the key named `name` signed the note.
    pub fn is_signed_by(&self, name: &str) -> bool {
        self.key_names.iter().any(|n| n == name)
    }
}

/// Signs `text` with each of `signers` (more than one: cosigning) and
/// returns the signed note.
///
/// `text` must end with a newline and contain no control character other
/// than newline. Signers sharing a name and key hash sign once. For
/// signers held elsewhere (an HSM), or a mix, see [`sign_with`].
pub fn sign(text: &str, signers: &[&NoteSigner]) -> Result<String> {
    let signers: Vec<&dyn NoteSign> = signers.iter().map(|s| *s as &dyn NoteSign).collect();
    sign_with(text, &signers)
}

/// Signs `text` with each of `signers`, any [`NoteSign`] (a [`NoteSigner`],
/// a key in an HSM), and returns the signed note, byte for byte what
/// [`sign`] writes for the same keys.
///
/// `text` must end with a newline and contain no control character other
/// than newline. Signers sharing a name and key hash sign once.
///
/// # Errors
///
/// [`Error::Malformed`] for bad text, no signer, too many signers or a
/// signer whose name is not a valid key name; whatever a signer's
/// [`NoteSign::sign`] returns ([`Error::Signing`] for a backend that
/// failed); [`Error::Signing`] if a signature does not verify under its
/// signer's public key. No note is returned unless every signature
/// verified.
pub fn sign_with(text: &str, signers: &[&dyn NoteSign]) -> Result<String> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(malformed("note", "a note needs at least one signature"));
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(malformed(
            "note",
            format!("more than {MAX_SIGNATURES} signatures"),
        ));
    }
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 128);
    note.push_str(text);
    note.push('\n');
    let mut done: Vec<(&str, u32)> = Vec::with_capacity(signers.len());
    for signer in signers {
        let name = signer.name();
        check_name("signer key", name)?;
        let key_hash = signer.key_hash();
        if done.contains(&(name, key_hash)) {
            continue;
        }
        done.push((name, key_hash));
        note.push_str(&signature_line(*signer, key_hash, text)?);
    }
    if note.len() > MAX_NOTE_LEN {
        return Err(malformed(
            "note",
            format!("longer than {MAX_NOTE_LEN} bytes"),
        ));
    }
    Ok(note)
}

/// Parses and verifies a signed note against the trusted keys `known`.
///
/// Succeeds only if at least one signature by a key in `known` verifies.
/// Signatures by keys not in `known` (name and key hash) are ignored; a
/// signature whose name and key hash match a known key but that does not
/// verify rejects the whole note ([`Error::SignatureMissing`] naming that
/// key). Malformed notes are [`Error::Malformed`]; two different keys in
/// `known` with the same name and key hash, or an empty `known`, are
/// [`Error::Key`].
pub fn open(note: &str, known: &[NoteVerifier]) -> Result<VerifiedNote> {
    Note::parse(note)?.verify(known)
}
