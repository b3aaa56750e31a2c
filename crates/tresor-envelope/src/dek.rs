//! Data-encryption keys.

use std::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::format::{COMMITMENT_LEN, FIXED_LEN};
use crate::rng::fill_from_os;
use crate::{Error, Result};

/// Length of a data-encryption key in bytes (AES-256).
pub const DEK_LEN: usize = 32;

/// A 256-bit data-encryption key (DEK).
///
/// A `DataKey` is what a [`KeyEncryptionKey`](crate::KeyEncryptionKey) wraps
/// and unwraps. It lives on the heap, is wiped when dropped, cannot be cloned,
/// printed or serialised; its `Debug` output shows only the type name.
///
/// Beside its bytes it keeps what every message under it needs and that
/// depends on the key alone, so a data key reused for many messages (the
/// sealing cache) computes it once:
/// - the SHA-256 state of the format-3 message-key derivation after the
///   part of its input that is the same for every message (counter, key,
///   label: see `FORMAT.md`); it is as secret as the key and
///   is wiped with it;
/// - its key commitment (format 3), which is public: it is written in clear
///   in every header sealed under the key.
pub struct DataKey {
    bytes: Box<[u8; DEK_LEN]>,
    message_key_state: Box<Sha256>,
    commitment: [u8; COMMITMENT_LEN],
}

impl DataKey {
    /// Generates a fresh key straight from the operating system's random
    /// generator (one call per key, never buffered); fails with
    /// [`Error::Rng`] if the generator does.
    pub fn generate() -> Result<Self> {
        let mut key = Box::new([0u8; DEK_LEN]);
        fill_from_os(key.as_mut_slice())?;
        Ok(DataKey::from_box(key))
    }

    /// Takes a key from a slice, which must be exactly [`DEK_LEN`] bytes long.
    ///
    /// Key-encryption key backends call this with the bytes they unwrapped;
    /// they should wipe their own copy afterwards. A slice of the wrong length
    /// gives [`Error::Decrypt`], as a wrong-length unwrap result means the
    /// wrapped key was not what the caller claimed.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let mut key = Box::new([0u8; DEK_LEN]);
        if bytes.len() != DEK_LEN {
            return Err(Error::Decrypt);
        }
        key.copy_from_slice(bytes);
        Ok(DataKey::from_box(key))
    }

    fn from_box(bytes: Box<[u8; DEK_LEN]>) -> Self {
        let message_key_state = Box::new(one_step(&bytes, MESSAGE_KEY_LABEL));
        let commitment = finish(one_step(&bytes, COMMITMENT_LABEL), &[]);
        DataKey {
            bytes,
            message_key_state,
            commitment: *commitment,
        }
    }

    /// The key's bytes, for a key-encryption key to wrap.
    ///
    /// Do not copy them anywhere that outlives the call.
    pub fn expose_secret(&self) -> &[u8; DEK_LEN] {
        &self.bytes
    }

    /// HKDF-SHA-256 with the data key as its pseudorandom key (RFC 5869,
    /// section 3.3: a uniformly random key needs no extract step).
    pub(crate) fn expander(&self) -> Hkdf<Sha256> {
        Hkdf::<Sha256>::from_prk(self.bytes.as_slice())
            .expect("a 32-byte key is a valid HKDF-SHA-256 PRK")
    }

    /// The format-3 message key for the header's fixed fields `info`
    /// (42 bytes): the one-step key derivation of NIST SP 800-56C rev. 2,
    /// section 4.1, option 1 (hash), with SHA-256 and one output block,
    /// `SHA-256(00000001 || dek || MESSAGE_KEY_LABEL || info)`.
    ///
    /// Everything before `info` is the same for every message, so it is
    /// hashed once per data key and the state kept: a message costs the one
    /// SHA-256 block that holds `info` and the padding.
    pub(crate) fn message_key(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        finish((*self.message_key_state).clone(), info)
    }

    /// The key commitment of format version 3, the same derivation with
    /// another label and nothing after it:
    /// `SHA-256(00000001 || dek || COMMITMENT_LABEL)`.
    pub(crate) fn commitment(&self) -> &[u8; COMMITMENT_LEN] {
        &self.commitment
    }
}

/// The label of a format-3 message key. With the four-byte counter and the
/// key it is 66 bytes, so a 42-byte `info` and SHA-256's padding fit in the
/// one block after the first.
pub(crate) const MESSAGE_KEY_LABEL: &[u8] = b"tresor-envelope/v3 message key";

// The fixed fields and SHA-256's padding (at least 9 bytes) fit in the
// block after the counter, key and label.
const _: () = assert!((4 + DEK_LEN + MESSAGE_KEY_LABEL.len()) % 64 + FIXED_LEN + 9 <= 64);

/// The label of a format-3 key commitment. The message-key and commitment
/// inputs differ within their first block, so neither is an extension of
/// the other (SHA-256's length extension cannot turn the public commitment
/// into a message key), and all message-key inputs have one length.
pub(crate) const COMMITMENT_LABEL: &[u8] = b"tresor-envelope/v3 key commitment";

/// SHA-256 after `00000001 || dek || label`: the one-step derivation's
/// counter (its first and only block of output), shared secret and the
/// start of its fixed info.
fn one_step(dek: &[u8; DEK_LEN], label: &[u8]) -> Sha256 {
    let mut state = Sha256::new();
    state.update(1u32.to_be_bytes());
    state.update(dek);
    state.update(label);
    state
}

/// Hashes the rest of the fixed info and returns the 32-byte output.
fn finish(mut state: Sha256, info: &[u8]) -> Zeroizing<[u8; 32]> {
    state.update(info);
    Zeroizing::new(state.finalize().into())
}

impl Zeroize for DataKey {
    /// Wipes the key's bytes and drops its key schedule (whose SHA-256
    /// states wipe themselves), leaving an all-zero key.
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        *self.message_key_state = one_step(&self.bytes, MESSAGE_KEY_LABEL);
        self.commitment = *finish(one_step(&self.bytes, COMMITMENT_LABEL), &[]);
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for DataKey {}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of the concatenation, in one call: what the cached state
    /// must reproduce.
    fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        Sha256::digest(parts.concat()).into()
    }

    #[test]
    fn the_cached_state_computes_the_one_step_derivation() {
        let key = DataKey::from_slice(&[7; DEK_LEN]).unwrap();
        for len in [0, 1, 42, 55, 64, 100] {
            let info = vec![0xa5; len];
            assert_eq!(
                *key.message_key(&info),
                sha256(&[&[0, 0, 0, 1], &[7; DEK_LEN], MESSAGE_KEY_LABEL, &info])
            );
        }
        assert_eq!(
            key.commitment(),
            &sha256(&[&[0, 0, 0, 1], &[7; DEK_LEN], COMMITMENT_LABEL])
        );
    }

    #[test]
    fn zeroize_wipes_the_key_and_its_state() {
        let mut key = DataKey::from_slice(&[7; DEK_LEN]).unwrap();
        let before = *key.message_key(b"info");
        key.zeroize();
        assert_eq!(key.expose_secret(), &[0; DEK_LEN]);
        let zero = DataKey::from_slice(&[0; DEK_LEN]).unwrap();
        assert_eq!(*key.message_key(b"info"), *zero.message_key(b"info"));
        assert_eq!(key.commitment(), zero.commitment());
        assert_ne!(*key.message_key(b"info"), before);
    }
}
