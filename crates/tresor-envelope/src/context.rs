//! Encryption contexts: key/value pairs authenticated with the ciphertext.

use std::collections::BTreeMap;
use std::fmt;

use crate::{Error, Result};

/// Largest encoded context, in bytes (see `FORMAT.md`).
pub const MAX_CONTEXT_LEN: usize = 8192;

/// Most entries in a context.
pub const MAX_CONTEXT_ENTRIES: usize = 64;

/// An encryption context: string key/value pairs, sorted by key, keys unique
/// and non-empty, at most [`MAX_CONTEXT_ENTRIES`] entries and
/// [`MAX_CONTEXT_LEN`] bytes encoded.
///
/// The context is written **in clear** in the envelope header and
/// authenticated: opening requires exactly the same context, so a ciphertext
/// cannot be moved to another record, tenant or purpose. Put identifiers in it
/// (`tenant`, `table`, `column`, `record_id`), never secrets.
///
/// ```
/// use tresor_envelope::Context;
///
/// let ctx = Context::from_pairs([("tenant", "acme"), ("purpose", "iban")])?;
/// assert_eq!(ctx.get("tenant"), Some("acme"));
/// // Keys are kept sorted, so insertion order never matters.
/// assert_eq!(ctx.iter().next(), Some(("purpose", "iban")));
/// # Ok::<(), tresor_envelope::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Context {
    entries: BTreeMap<String, String>,
    /// The entries' encoding (`FORMAT.md`), kept beside them: every seal
    /// writes it twice (header prefix and key-section AAD).
    encoded: Vec<u8>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Builds a context from pairs; a repeated key is an error.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut ctx = Context::new();
        for (key, value) in pairs {
            ctx.insert(key, value)?;
        }
        Ok(ctx)
    }

    /// Adds a pair. Fails on an empty or repeated key, a key or value over
    /// 65535 bytes, or when the context would exceed its limits.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<()> {
        let (key, value) = (key.into(), value.into());
        if key.is_empty() {
            return Err(Error::InvalidContext("empty key"));
        }
        if self.entries.contains_key(&key) {
            return Err(Error::InvalidContext("duplicate key"));
        }
        if self.entries.len() >= MAX_CONTEXT_ENTRIES {
            return Err(Error::InvalidContext("too many entries"));
        }
        let added = 4 + key.len() + value.len();
        if self.encoded.len() + added > MAX_CONTEXT_LEN {
            return Err(Error::InvalidContext("too large"));
        }
        let last = self
            .entries
            .last_key_value()
            .is_none_or(|(last, _)| *last < key);
        if last {
            // In order (as a parsed header gives them): append.
            encode_entry(&mut self.encoded, &key, &value);
            self.entries.insert(key, value);
        } else {
            self.entries.insert(key, value);
            self.encoded.clear();
            for (key, value) in &self.entries {
                encode_entry(&mut self.encoded, key, value);
            }
        }
        Ok(())
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the context has no pairs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Length of the encoding written by [`Context::encode`], without the
    /// two-byte length prefix.
    pub(crate) fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    /// Appends `len(u16) || (klen(u16) key vlen(u16) value)*` to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&u16_be(self.encoded.len()));
        out.extend_from_slice(&self.encoded);
    }

    /// Parses the entries (without the length prefix), strictly: keys sorted,
    /// unique, non-empty, UTF-8, within the limits, nothing left over.
    pub(crate) fn decode(mut bytes: &[u8]) -> Result<Self> {
        let mut ctx = Context::new();
        let mut previous: Option<String> = None;
        while !bytes.is_empty() {
            let key = take_string(&mut bytes)?;
            let value = take_string(&mut bytes)?;
            if previous.as_deref().is_some_and(|p| p >= key.as_str()) {
                return Err(Error::MalformedHeader("context keys not strictly sorted"));
            }
            previous = Some(key.clone());
            ctx.insert(key, value)
                .map_err(|_| Error::MalformedHeader("invalid encryption context"))?;
        }
        Ok(ctx)
    }
}

impl<'a> IntoIterator for &'a Context {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("entries", &self.entries)
            .finish()
    }
}

/// `klen(u16) key vlen(u16) value`.
fn encode_entry(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(&u16_be(key.len()));
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&u16_be(value.len()));
    out.extend_from_slice(value.as_bytes());
}

fn u16_be(n: usize) -> [u8; 2] {
    // Lengths are bounded by MAX_CONTEXT_LEN (< 65536) on insertion.
    u16::try_from(n)
        .expect("context lengths are bounded below 65536")
        .to_be_bytes()
}

fn take_string(bytes: &mut &[u8]) -> Result<String> {
    const TRUNCATED: Error = Error::MalformedHeader("truncated encryption context");
    let (len, rest) = bytes.split_first_chunk::<2>().ok_or(TRUNCATED)?;
    let len = usize::from(u16::from_be_bytes(*len));
    let (s, rest) = rest.split_at_checked(len).ok_or(TRUNCATED)?;
    *bytes = rest;
    String::from_utf8(s.to_vec())
        .map_err(|_| Error::MalformedHeader("encryption context is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_does_not_depend_on_insertion_order() {
        let pairs = [("m", "1"), ("a", "2"), ("z", "3"), ("b", "")];
        let mut forward = Context::new();
        let mut backward = Context::new();
        for (k, v) in pairs {
            forward.insert(k, v).unwrap();
        }
        for (k, v) in pairs.iter().rev() {
            backward.insert(*k, *v).unwrap();
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        forward.encode(&mut a);
        backward.encode(&mut b);
        assert_eq!(a, b);
        assert_eq!(forward, backward);
        let mut want = vec![0, 23];
        for (k, v) in [("a", "2"), ("b", ""), ("m", "1"), ("z", "3")] {
            encode_entry(&mut want, k, v);
        }
        assert_eq!(a, want);
    }

    #[test]
    fn encode_decode_round_trip() {
        let ctx = Context::from_pairs([("b", "2"), ("a", ""), ("ü", "x")]).unwrap();
        let mut out = Vec::new();
        ctx.encode(&mut out);
        assert_eq!(out.len(), 2 + ctx.encoded_len());
        let back = Context::decode(&out[2..]).unwrap();
        assert_eq!(back, ctx);
    }

    #[test]
    fn rejects_duplicates_and_empty_keys() {
        assert!(matches!(
            Context::from_pairs([("a", "1"), ("a", "2")]),
            Err(Error::InvalidContext("duplicate key"))
        ));
        assert!(matches!(
            Context::from_pairs([("", "1")]),
            Err(Error::InvalidContext("empty key"))
        ));
    }

    #[test]
    fn enforces_limits() {
        let mut ctx = Context::new();
        for i in 0..MAX_CONTEXT_ENTRIES {
            ctx.insert(format!("k{i:03}"), "v").unwrap();
        }
        assert!(ctx.insert("z", "v").is_err());
        let big = "x".repeat(MAX_CONTEXT_LEN);
        assert!(Context::from_pairs([("k", big.as_str())]).is_err());
        let fits = "x".repeat(MAX_CONTEXT_LEN - 5);
        assert!(Context::from_pairs([("k", fits.as_str())]).is_ok());
    }

    #[test]
    fn decode_rejects_unsorted_and_garbage() {
        let mut unsorted = Vec::new();
        for k in ["b", "a"] {
            unsorted.extend_from_slice(&[0, 1]);
            unsorted.extend_from_slice(k.as_bytes());
            unsorted.extend_from_slice(&[0, 0]);
        }
        assert!(Context::decode(&unsorted).is_err());
        assert!(Context::decode(&[0, 5, b'a']).is_err());
        assert!(Context::decode(&[0, 1, 0xff, 0, 0]).is_err());
        assert!(Context::decode(&[0]).is_err());
    }
}
