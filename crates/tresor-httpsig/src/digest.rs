//! `Content-Digest` (RFC 9530): the digest of a message's content, carried in
//! a field the signature covers, so that a signature protects the body too.
//!
//! # Format
//!
//! The field is an RFC 9651 structured-field Dictionary. Each member's key is
//! a hash algorithm name from the IANA "Hash Algorithms for HTTP Digest
//! Fields" registry and its value a Byte Sequence holding the raw digest of
//! the content bytes (after any content coding, before any transfer coding):
//!
//! ```text
//! Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
//! ```
//!
//! This module implements `sha-256` (32-byte value) and `sha-512` (64-byte
//! value), the two the registry marks "Active".
//!
//! # Guarantee
//!
//! [`verify_content_digest`] and [`ContentDigestVerifier`] succeed only if
//! the field names at least one supported algorithm and *every* supported
//! digest present equals the digest of the body, compared in constant time.
//! Members with other keys (`md5`, `sha`, `unixsum`, …, including the
//! registry's deprecated, insecure ones) are ignored, never trusted.
//! A field larger than [`MAX_FIELD_LEN`] bytes or with more than
//! [`MAX_MEMBERS`] members is refused before any hashing.

use std::fmt;
use std::str::FromStr;

use base64ct::{Base64, Encoding};
use ring::digest;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// The largest `Content-Digest` field value accepted, in bytes.
///
/// A field holding both supported digests is under 150 bytes; 4 KiB leaves
/// room for unknown members without letting a peer make us parse megabytes.
pub const MAX_FIELD_LEN: usize = 4096;

/// The most dictionary members accepted in a `Content-Digest` field.
pub const MAX_MEMBERS: usize = 16;

const FIELD: &str = "Content-Digest";

/// A digest algorithm of the RFC 9530 registry that this crate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `sha-256`: SHA-256 (FIPS 180-4), 32-byte digest.
    Sha256,
    /// `sha-512`: SHA-512 (FIPS 180-4), 64-byte digest.
    Sha512,
}

impl DigestAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [DigestAlgorithm; 2] = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];

    /// The registry name, the dictionary key in the field (`sha-256`, `sha-512`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        self.ring().output_len()
    }

    fn ring(self) -> &'static digest::Algorithm {
        match self {
            DigestAlgorithm::Sha256 => &digest::SHA256,
            DigestAlgorithm::Sha512 => &digest::SHA512,
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == key)
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = Error;

    /// Parses a registry name (exact, lower case, as in the field).
    fn from_str(name: &str) -> Result<Self> {
        Self::from_key(name).ok_or_else(|| Error::UnsupportedAlgorithm {
            alg: name.chars().take(64).collect(),
        })
    }
}

/// The `Content-Digest` field value for `body`, e.g.
/// `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
///
/// ```
/// use tresor_httpsig::{content_digest, DigestAlgorithm};
///
/// assert_eq!(
///     content_digest(DigestAlgorithm::Sha256, br#"{"hello": "world"}"#),
///     "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
/// );
/// ```
pub fn content_digest(alg: DigestAlgorithm, body: &[u8]) -> String {
    let mut hasher = ContentDigestHasher::new(alg);
    hasher.update(body);
    hasher.finish()
}

fn field_value(alg: DigestAlgorithm, digest: &[u8]) -> String {
    format!("{}=:{}:", alg.name(), Base64::encode_string(digest))
}

/// Computes a `Content-Digest` field value over a body given in pieces,
/// for signing bodies too large to hold in memory.
///
/// Feeding the body in any split gives the same value as [`content_digest`].
#[derive(Clone)]
pub struct ContentDigestHasher {
    alg: DigestAlgorithm,
    ctx: digest::Context,
}

impl ContentDigestHasher {
    /// Starts a digest with `alg`.
    pub fn new(alg: DigestAlgorithm) -> Self {
        Self {
            alg,
            ctx: digest::Context::new(alg.ring()),
        }
    }

    /// Feeds the next piece of the body.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// The field value for the body fed so far.
    pub fn finish(self) -> String {
        field_value(self.alg, self.ctx.finish().as_ref())
    }
}

impl fmt::Debug for ContentDigestHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentDigestHasher")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

struct Expected {
    alg: DigestAlgorithm,
    digest: Vec<u8>,
    ctx: digest::Context,
}

/// Checks a body given in pieces against a received `Content-Digest` field.
///
/// Construction parses the field (and fails if it is malformed or names no
/// supported algorithm); [`finish`](Self::finish) succeeds only if every
/// supported digest in the field matches the body fed.
pub struct ContentDigestVerifier {
    expected: Vec<Expected>,
}

impl ContentDigestVerifier {
    /// Parses the received field value.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] if the field is longer than
    /// [`MAX_FIELD_LEN`] or has more than [`MAX_MEMBERS`] members;
    /// [`Error::Malformed`] if it is not a structured-field Dictionary, has
    /// a duplicate key, or a supported algorithm's value is not a byte
    /// sequence of the digest's length; [`Error::DigestMismatch`] if no
    /// member names a supported algorithm.
    pub fn new(field_value: &str) -> Result<Self> {
        let digests = parse_field(field_value)?;
        let expected = digests
            .into_iter()
            .map(|(alg, digest)| Expected {
                alg,
                digest,
                ctx: digest::Context::new(alg.ring()),
            })
            .collect();
        Ok(Self { expected })
    }

    /// The supported algorithms found in the field, in field order; each
    /// one is checked.
    pub fn algorithms(&self) -> Vec<DigestAlgorithm> {
        self.expected.iter().map(|e| e.alg).collect()
    }

    /// Feeds the next piece of the body.
    pub fn update(&mut self, data: &[u8]) {
        for e in &mut self.expected {
            e.ctx.update(data);
        }
    }

    /// Checks the body fed so far.
    ///
    /// # Errors
    ///
    /// [`Error::DigestMismatch`] naming the first algorithm whose digest does
    /// not match.
    pub fn finish(self) -> Result<()> {
        let mut first_failure = None;
        for e in self.expected {
            let actual = e.ctx.finish();
            let equal: bool = actual.as_ref().ct_eq(&e.digest).into();
            if !equal && first_failure.is_none() {
                first_failure = Some(e.alg);
            }
        }
        match first_failure {
            None => Ok(()),
            Some(alg) => Err(Error::DigestMismatch {
                reason: format!("the {alg} digest does not match the content"),
            }),
        }
    }
}

impl fmt::Debug for ContentDigestVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentDigestVerifier")
            .field("algorithms", &self.algorithms())
            .finish_non_exhaustive()
    }
}

/// Checks `body` against a received `Content-Digest` field value.
///
/// ```
/// use tresor_httpsig::verify_content_digest;
///
/// let field = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
/// assert!(verify_content_digest(field, br#"{"hello": "world"}"#).is_ok());
/// assert!(verify_content_digest(field, br#"{"hello": "World"}"#).is_err());
/// ```
///
/// # Errors
///
/// As [`ContentDigestVerifier::new`] and [`ContentDigestVerifier::finish`].
pub fn verify_content_digest(field_value: &str, body: &[u8]) -> Result<()> {
    verify_content_digest_accepting(field_value, body, &DigestAlgorithm::ALL)
}

/// [`verify_content_digest`] with only the `accepted` algorithms: members
/// of other algorithms are ignored, and a field with none of `accepted` is
/// refused as [`Error::DigestMismatch`].
pub(crate) fn verify_content_digest_accepting(
    field_value: &str,
    body: &[u8],
    accepted: &[DigestAlgorithm],
) -> Result<()> {
    let refused = || Error::DigestMismatch {
        reason: format!(
            "no accepted digest algorithm ({}) in Content-Digest",
            accepted
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let Some((alg, expected)) = single_digest(field_value) {
        if !accepted.contains(&alg) {
            return Err(refused());
        }
        // The usual field, one supported digest: checked without building
        // a dictionary or a verifier.
        let actual = digest::digest(alg.ring(), body);
        let expected = expected.get(..alg.output_len()).unwrap_or_default();
        let equal: bool = actual.as_ref().ct_eq(expected).into();
        return if equal {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                reason: format!("the {alg} digest does not match the content"),
            })
        };
    }
    let mut verifier = ContentDigestVerifier::new(field_value)?;
    verifier.expected.retain(|e| accepted.contains(&e.alg));
    if verifier.expected.is_empty() {
        return Err(refused());
    }
    verifier.update(body);
    verifier.finish()
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::Malformed {
        field: FIELD,
        reason: reason.into(),
    }
}

/// A field that is exactly one supported member in canonical form,
/// `sha-256=:<base64>:` or `sha-512=:<base64>:` (no parameters, no other
/// member, no whitespace), with a value of the digest's length: the
/// algorithm and the digest (in the first `output_len` bytes). `None` for
/// anything else, which [`parse_field`] then handles; for what this
/// accepts, [`parse_field`] gives the same single pair (its base64 decoding
/// is more lenient, never stricter).
fn single_digest(value: &str) -> Option<(DigestAlgorithm, [u8; 64])> {
    let (key, rest) = value.split_once("=:")?;
    let alg = DigestAlgorithm::from_key(key)?;
    let encoded = rest.strip_suffix(':')?;
    let mut buf = [0u8; 64];
    let mut len = 0;
    // Canonical base64 only, as base64ct's `Base64` takes it, but with a
    // table rather than in constant time (a digest of public content).
    crate::fields::fast::decode_base64_with(encoded.as_bytes(), |bytes| {
        buf.get_mut(len..len + bytes.len())?.copy_from_slice(bytes);
        len += bytes.len();
        Some(())
    })?;
    (len == alg.output_len()).then_some((alg, buf))
}

/// Parses the field into the supported (algorithm, digest) pairs, in order.
fn parse_field(value: &str) -> Result<Vec<(DigestAlgorithm, Vec<u8>)>> {
    if value.len() > MAX_FIELD_LEN {
        return Err(Error::LimitExceeded {
            what: "Content-Digest field length",
            limit: MAX_FIELD_LEN,
        });
    }
    let mut visitor = DuplicateCheck::default();
    sfv::Parser::new(value)
        .parse_dictionary_with_visitor(&mut visitor)
        .map_err(|e| malformed(format!("not a structured-field dictionary: {e}")))?;
    if let Some(key) = visitor.duplicate {
        return Err(malformed(format!("duplicate key {key:?}")));
    }
    if visitor.members > MAX_MEMBERS {
        return Err(Error::LimitExceeded {
            what: "Content-Digest members",
            limit: MAX_MEMBERS,
        });
    }

    let mut found = Vec::new();
    for (key, entry) in &visitor.dict {
        let Some(alg) = DigestAlgorithm::from_key(key.as_str()) else {
            continue; // unknown or insecure algorithm: ignored (RFC 9530 section 2)
        };
        let bytes = match entry {
            sfv::ListEntry::Item(item) => item.bare_item.as_byte_sequence(),
            sfv::ListEntry::InnerList(_) => None,
        }
        .ok_or_else(|| malformed(format!("the {alg} value is not a byte sequence")))?;
        if bytes.len() != alg.output_len() {
            return Err(malformed(format!(
                "the {alg} value is {} bytes, expected {}",
                bytes.len(),
                alg.output_len()
            )));
        }
        found.push((alg, bytes.to_vec()));
    }
    if found.is_empty() {
        return Err(Error::DigestMismatch {
            reason: "no supported digest algorithm (sha-256, sha-512) in Content-Digest".into(),
        });
    }
    Ok(found)
}

/// Builds the dictionary while counting members and noting the first
/// duplicate key: RFC 9651 keeps the last of duplicates, but two values for
/// one algorithm in a security field is a sign of tampering or smuggling.
#[derive(Default)]
struct DuplicateCheck {
    dict: sfv::Dictionary,
    members: usize,
    duplicate: Option<String>,
}

impl<'de> sfv::visitor::DictionaryVisitor<'de> for &mut DuplicateCheck {
    type Out = ();
    type Error = std::convert::Infallible;

    fn entry(
        &mut self,
        key: &'de sfv::KeyRef,
    ) -> std::result::Result<impl sfv::visitor::EntryVisitor<'de>, Self::Error> {
        self.members = self.members.saturating_add(1);
        if self.duplicate.is_none() && self.dict.contains_key(key) {
            self.duplicate = Some(key.as_str().chars().take(64).collect());
        }
        sfv::visitor::DictionaryVisitor::entry(&mut self.dict, key)
    }

    fn finish(self) -> std::result::Result<Self::Out, Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in DigestAlgorithm::ALL {
            assert_eq!(alg.name().parse::<DigestAlgorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.name());
        }
        assert!("md5".parse::<DigestAlgorithm>().is_err());
        assert!("SHA-256".parse::<DigestAlgorithm>().is_err());
    }

    #[test]
    fn duplicate_key_is_malformed() {
        let one = content_digest(DigestAlgorithm::Sha256, b"");
        let field = format!("{one}, {one}");
        assert!(matches!(
            verify_content_digest(&field, b""),
            Err(Error::Malformed { .. })
        ));
    }
}
