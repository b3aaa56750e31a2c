//! Per-message key derivation and key commitment (`FORMAT.md`, "Key
//! derivation and commitment").

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::format::{COMMITMENT_LEN, FIXED_LEN, Header, MESSAGE_ID_LEN, VERSION_1, VERSION_2};
use crate::{DataKey, Error, Result};

const V1_MESSAGE_KEY_LABEL: &[u8] = b"tresor-envelope/v1 message key";
const V1_COMMITMENT_LABEL: &[u8] = b"tresor-envelope/v1 key commitment";

/// What HKDF-SHA-256 derives from a data key for one message.
pub(crate) struct MessageKeys {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) commitment: [u8; COMMITMENT_LEN],
}

/// The message key and commitment of a message of format `version` whose
/// header starts with `prefix` (magic to end of context).
///
/// - Version 3 (written today): the message key is the one-step key
///   derivation of NIST SP 800-56C (SHA-256) of the data key, a label and
///   the fixed fields of the prefix (magic, version, suite, frame size and
///   the random message id: 42 bytes) ([`DataKey::message_key`]); the whole
///   prefix, context included, is every frame's additional data instead.
///   The commitment is the data key's own ([`DataKey::commitment`]). The
///   hash state before the fixed fields and the commitment are computed
///   once per data key, so a message under a cached data key costs one
///   SHA-256 block.
/// - Version 2: one 64-byte HKDF-Expand with the whole prefix as the info:
///   the message key, then a commitment of this message.
/// - Version 1: HKDF-Extract with the message id as salt, then two expands
///   with distinct labels, each followed by the prefix.
pub(crate) fn derive(
    dek: &DataKey,
    version: u8,
    message_id: &[u8; MESSAGE_ID_LEN],
    prefix: &[u8],
) -> MessageKeys {
    match version {
        VERSION_1 => {
            let mut key = Zeroizing::new([0u8; 32]);
            let mut commitment = [0u8; COMMITMENT_LEN];
            let hkdf = Hkdf::<Sha256>::new(Some(message_id), dek.expose_secret());
            hkdf.expand_multi_info(&[V1_MESSAGE_KEY_LABEL, prefix], key.as_mut_slice())
                .expect("32 bytes is a valid HKDF-SHA-256 output length");
            hkdf.expand_multi_info(&[V1_COMMITMENT_LABEL, prefix], &mut commitment)
                .expect("32 bytes is a valid HKDF-SHA-256 output length");
            MessageKeys { key, commitment }
        }
        VERSION_2 => {
            let mut okm = Zeroizing::new([0u8; 32 + COMMITMENT_LEN]);
            dek.expander()
                .expand(prefix, okm.as_mut_slice())
                .expect("64 bytes is a valid HKDF-SHA-256 output length");
            let (message_key, commitment_bytes) = okm.split_at(32);
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(message_key);
            let mut commitment = [0u8; COMMITMENT_LEN];
            commitment.copy_from_slice(commitment_bytes);
            MessageKeys { key, commitment }
        }
        // Version 3; the header parser admits no other.
        _ => MessageKeys {
            key: dek.message_key(prefix.get(..FIXED_LEN).unwrap_or(prefix)),
            commitment: *dek.commitment(),
        },
    }
}

/// Derives the message keys and checks the header's commitment in constant
/// time, before anything is decrypted.
pub(crate) fn derive_and_verify(dek: &DataKey, header: &Header) -> Result<MessageKeys> {
    let keys = derive(dek, header.version(), header.message_id(), header.prefix());
    if bool::from(keys.commitment.ct_eq(header.commitment())) {
        Ok(keys)
    } else {
        Err(Error::Decrypt)
    }
}
