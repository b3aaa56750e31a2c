//! Client secrets: generated, checksummed, shown once.
//!
//! # Format
//!
//! ```text
//! PREFIX "_" BODY CHECK
//! ```
//!
//! - `PREFIX`: 1 to 32 characters of `a-z`, `0-9` and `_`, starting with a
//!   letter; [`DEFAULT_SECRET_PREFIX`] (`tresor_cs`) unless configured. It
//!   tells a secret scanner (and a human) what the string is.
//! - `BODY`: 256 bits from the system CSPRNG, as a big-endian number written
//!   in base62 (alphabet `0-9A-Za-z`, digit values 0 to 61 in that order),
//!   exactly 43 characters, left-padded with `0`.
//! - `CHECK`: the CRC-32 (IEEE 802.3 polynomial, reflected, initial and final
//!   XOR `0xFFFFFFFF`, exactly zlib's `crc32`) of the ASCII bytes of
//!   `PREFIX "_" BODY`, in base62, exactly 6 characters, left-padded with `0`.
//!
//! There is an underscore between the prefix and the body, none between the
//! body and the check, and the prefix may itself hold underscores, so a
//! parser reads from the right: the last 6 characters are the check, the 43
//! before them the body, then one `_`, and the rest is the prefix. A known
//! answer (an all-zero body, never generated in practice):
//! `tresor_cs_00000000000000000000000000000000000000000002TosSX`.
//! [`validate_secret_format`] checks any candidate offline, without the
//! registry, for secret scanners.
//!
//! The checksum only detects typos and lets scanners avoid false positives;
//! it is not a secret and adds no security (the 256-bit body does that).

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::base62;
use crate::error::{Error, Result};

/// The secret prefix used unless the registry is configured otherwise.
pub const DEFAULT_SECRET_PREFIX: &str = "tresor_cs";

/// The number of random bytes in a secret's body (256 bits).
pub const SECRET_BODY_BYTES: usize = 32;

/// The length of a secret's body in base62 characters.
pub const SECRET_BODY_LEN: usize = 43;

/// 2^256 - 1 in [`SECRET_BODY_LEN`] base62 digits: the greatest body.
const MAX_BODY: &str = "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1";

/// The length of a secret's checksum in base62 characters.
pub const SECRET_CHECK_LEN: usize = 6;

/// The longest allowed prefix.
pub const MAX_PREFIX_LEN: usize = 32;

/// A validated secret prefix: 1 to [`MAX_PREFIX_LEN`] characters of `a-z`,
/// `0-9` and `_`, starting with a letter.
///
/// ```
/// use tresor_credentials::secret::SecretPrefix;
/// assert_eq!(SecretPrefix::default().as_str(), "tresor_cs");
/// assert!(SecretPrefix::new("acme_live").is_ok());
/// assert!(SecretPrefix::new("Acme-Live").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretPrefix(String);

impl SecretPrefix {
    /// Validates `prefix`.
    pub fn new(prefix: &str) -> Result<Self> {
        check_prefix(prefix)?;
        Ok(Self(prefix.to_owned()))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SecretPrefix {
    fn default() -> Self {
        Self(DEFAULT_SECRET_PREFIX.to_owned())
    }
}

impl fmt::Display for SecretPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_prefix(prefix: &str) -> Result<()> {
    let bad = |reason| Err(Error::InvalidPrefix { reason });
    if prefix.is_empty() {
        return bad("empty");
    }
    if prefix.len() > MAX_PREFIX_LEN {
        return bad("longer than 32 characters");
    }
    if !prefix.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("must start with a lowercase letter");
    }
    if !prefix
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return bad("only a-z, 0-9 and _ are allowed");
    }
    Ok(())
}

/// A client secret: the only value in this crate that authenticates a
/// client.
///
/// It exists in memory only: it has no `Serialize`, no `Display`, no
/// `Clone`, and its `Debug` prints the prefix only; the string is wiped on
/// drop (it is a [`secrecy::SecretString`]). The registry generates it and
/// hands it out once (at registration or rotation); it stores only a
/// peppered MAC of it.
pub struct ClientSecret {
    secret: SecretString,
    prefix_len: usize,
}

impl ClientSecret {
    /// Generates a fresh secret with `prefix` from the system CSPRNG.
    pub(crate) fn generate(prefix: &SecretPrefix, rng: &SystemRandom) -> Result<Self> {
        let mut raw = Zeroizing::new([0u8; SECRET_BODY_BYTES]);
        rng.fill(&mut raw[..]).map_err(|_| Error::Rng)?;
        let body = base62::encode(&raw[..], SECRET_BODY_LEN).ok_or(Error::Rng)?;
        let mut text = Zeroizing::new(String::with_capacity(
            prefix.0.len() + 1 + SECRET_BODY_LEN + SECRET_CHECK_LEN,
        ));
        text.push_str(&prefix.0);
        text.push('_');
        text.push_str(&body);
        let check = base62::encode_u32(crc32fast::hash(text.as_bytes()));
        text.push_str(&check);
        Ok(Self {
            secret: SecretString::from(text.as_str()),
            prefix_len: prefix.0.len(),
        })
    }

    /// Parses a secret presented by a client, checking its format and
    /// checksum ([`validate_secret_format`]).
    pub fn parse(secret: SecretString) -> Result<Self> {
        let prefix_len = validate_secret_format(secret.expose_secret())?.len();
        Ok(Self { secret, prefix_len })
    }

    /// The secret, to show once to the client's owner or to send in a
    /// token request.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The secret's prefix (not secret).
    pub fn prefix(&self) -> &str {
        self.secret
            .expose_secret()
            .get(..self.prefix_len)
            .unwrap_or_default()
    }

    /// The secret as a [`SecretString`], e.g. to hand to
    /// [`Registry::authenticate`](crate::Registry::authenticate).
    pub fn into_secret_string(self) -> SecretString {
        self.secret
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecret")
            .field("prefix", &self.prefix())
            .finish_non_exhaustive()
    }
}

/// Checks offline that `text` is a well-formed client secret of any valid
/// prefix: prefix rules, lengths, alphabet, a body below 2^256 and the
/// CRC-32 checksum. Returns the prefix.
///
/// Meant for secret scanners and for rejecting typos early; it needs no
/// registry and no key. A valid format says nothing about whether the
/// secret belongs to any client.
///
/// ```
/// use tresor_credentials::secret::validate_secret_format;
/// assert!(validate_secret_format("tresor_cs_not-a-secret").is_err());
/// ```
pub fn validate_secret_format(text: &str) -> Result<&str> {
    let bad = |reason| Err(Error::MalformedSecret { reason });
    if !text.is_ascii() {
        return bad("not ASCII");
    }
    let n = text.len();
    let tail = SECRET_BODY_LEN + SECRET_CHECK_LEN;
    if n < tail + 2 {
        return bad("too short");
    }
    if n > tail + 1 + MAX_PREFIX_LEN {
        return bad("too long");
    }
    // ASCII, so every byte index is a char boundary.
    let (Some(head), Some(body), Some(check)) = (
        text.get(..n - tail),
        text.get(n - tail..n - SECRET_CHECK_LEN),
        text.get(n - SECRET_CHECK_LEN..),
    ) else {
        return bad("too short");
    };
    let Some(prefix) = head.strip_suffix('_') else {
        return bad("no '_' between prefix and body");
    };
    if check_prefix(prefix).is_err() {
        return bad("invalid prefix");
    }
    if !body
        .bytes()
        .chain(check.bytes())
        .all(|c| base62::digit_value(c).is_some())
    {
        return bad("body or checksum outside the base62 alphabet");
    }
    // Fixed width, and the alphabet is in ASCII order: the body is below
    // 2^256 exactly when it is not greater, as a string, than 2^256 - 1 in
    // base62 (no arithmetic on every authentication).
    if body > MAX_BODY {
        return bad("body exceeds 256 bits");
    }
    let signed = text.get(..n - SECRET_CHECK_LEN).unwrap_or_default();
    if base62::encode_u32(crc32fast::hash(signed.as_bytes())) != check {
        return bad("checksum mismatch");
    }
    Ok(prefix)
}

/// Checks that `text` is a well-formed secret with exactly `prefix`.
pub fn validate_secret_with_prefix(text: &str, prefix: &SecretPrefix) -> Result<()> {
    if validate_secret_format(text)? != prefix.as_str() {
        return Err(Error::MalformedSecret {
            reason: "unexpected prefix",
        });
    }
    Ok(())
}

#[cfg(test)]
mod max_body_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn max_body_is_the_greatest_256_bit_number() {
        assert_eq!(
            &*base62::encode(&[0xff; 32], SECRET_BODY_LEN).unwrap(),
            MAX_BODY
        );
        assert!(base62::decode(MAX_BODY, SECRET_BODY_BYTES).is_some());
        // The next number up, and the last digit bumped, need 257 bits.
        assert!(base62::decode("yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp2", 32).is_none());
    }
}
