//! Cipher suites and the per-frame AEAD.

use std::fmt;
use std::str::FromStr;

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce as SivNonce, Tag as SivTag};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::{Error, Result};

/// Length of every frame's authentication tag.
pub const TAG_LEN: usize = 16;

/// Length of an AEAD nonce.
pub(crate) const NONCE_LEN: usize = 12;

/// The authenticated cipher that encrypts the frames of a message.
///
/// Both suites use a fresh 256-bit key per message (derived with HKDF-SHA-256
/// from the data key and a random 32-byte message id), so nonces never repeat
/// under a key and a cached data key can seal any number of messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// AES-256-GCM (`ring`): the default, at the hardware's speed.
    #[default]
    Aes256Gcm,
    /// AES-256-GCM-SIV (RFC 8452, `aes-gcm-siv`): nonce-misuse resistant,
    /// for defence in depth against a broken random source; slower.
    Aes256GcmSiv,
}

impl Suite {
    /// Every suite, in id order.
    pub const ALL: [Suite; 2] = [Suite::Aes256Gcm, Suite::Aes256GcmSiv];

    /// The suite's id byte in the header.
    pub const fn id(self) -> u8 {
        match self {
            Suite::Aes256Gcm => 0x01,
            Suite::Aes256GcmSiv => 0x02,
        }
    }

    /// The suite with this header id.
    pub fn from_id(id: u8) -> Result<Self> {
        match id {
            0x01 => Ok(Suite::Aes256Gcm),
            0x02 => Ok(Suite::Aes256GcmSiv),
            other => Err(Error::UnsupportedSuite(other)),
        }
    }

    /// The suite's name: `aes-256-gcm` or `aes-256-gcm-siv`.
    pub const fn name(self) -> &'static str {
        match self {
            Suite::Aes256Gcm => "aes-256-gcm",
            Suite::Aes256GcmSiv => "aes-256-gcm-siv",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownSuiteName(s.to_owned()))
    }
}

/// A keyed AEAD of one suite. Key schedules are built once per message.
// One per message, held on the stack or in a stream: boxing the larger GCM
// key would only add an allocation to every seal.
#[allow(clippy::large_enum_variant)]
pub(crate) enum FrameCipher {
    Gcm(LessSafeKey),
    GcmSiv(Box<Aes256GcmSiv>),
}

impl FrameCipher {
    pub(crate) fn new(suite: Suite, key: &[u8; 32]) -> Self {
        match suite {
            Suite::Aes256Gcm => FrameCipher::Gcm(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, key).expect("AES-256-GCM takes a 32-byte key"),
            )),
            Suite::Aes256GcmSiv => FrameCipher::GcmSiv(Box::new(Aes256GcmSiv::new(key.into()))),
        }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        match self {
            FrameCipher::Gcm(key) => {
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        buf,
                    )
                    // Only fails for inputs over GCM's 64 GiB limit; frames are far smaller.
                    .map_err(|_| Error::Decrypt)?;
                let mut out = [0u8; TAG_LEN];
                out.copy_from_slice(tag.as_ref());
                Ok(out)
            }
            FrameCipher::GcmSiv(cipher) => {
                let tag = cipher
                    .encrypt_inout_detached(&SivNonce::from(nonce), aad, buf.into())
                    .map_err(|_| Error::Decrypt)?;
                Ok(tag.into())
            }
        }
    }

    /// Decrypts `in_out` (ciphertext followed by its tag) in place and returns
    /// the plaintext's length. Any failure is [`Error::Decrypt`].
    pub(crate) fn open_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize> {
        let plain_len = in_out.len().checked_sub(TAG_LEN).ok_or(Error::Decrypt)?;
        match self {
            FrameCipher::Gcm(key) => key
                .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
                .map(|plain| plain.len())
                .map_err(|_| Error::Decrypt),
            FrameCipher::GcmSiv(cipher) => {
                let (msg, tag) = in_out.split_at_mut(plain_len);
                let tag = SivTag::try_from(&*tag).map_err(|_| Error::Decrypt)?;
                cipher
                    .decrypt_inout_detached(&SivNonce::from(nonce), aad, msg.into(), &tag)
                    .map(|()| plain_len)
                    .map_err(|_| Error::Decrypt)
            }
        }
    }
}

/// The STREAM nonce of frame `counter`: three zero bytes, the 64-bit
/// big-endian counter, and a flag byte that is 1 on the last frame only.
pub(crate) fn frame_nonce(counter: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_ids_and_names_round_trip() {
        for suite in Suite::ALL {
            assert_eq!(Suite::from_id(suite.id()).unwrap(), suite);
            assert_eq!(suite.name().parse::<Suite>().unwrap(), suite);
        }
        assert!(matches!(Suite::from_id(0), Err(Error::UnsupportedSuite(0))));
        assert!("aes-128-gcm".parse::<Suite>().is_err());
    }

    #[test]
    fn nonces_differ_by_counter_and_flag() {
        assert_eq!(frame_nonce(0, false), [0; 12]);
        assert_eq!(frame_nonce(1, true), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(
            frame_nonce(u64::MAX, false)[3..11],
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }
}
