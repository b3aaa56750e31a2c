//! Per-message key derivation and key commitment.

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::format::{COMMITMENT_LEN, Header, MESSAGE_ID_LEN};
use crate::{DataKey, Error, Result};

const MESSAGE_KEY_LABEL: &[u8] = b"tresor-envelope/v1 message key";
const COMMITMENT_LABEL: &[u8] = b"tresor-envelope/v1 key commitment";

/// What HKDF-SHA-256 derives from a data key for one message.
pub(crate) struct MessageKeys {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) commitment: [u8; COMMITMENT_LEN],
}

/// HKDF-SHA-256 with salt = message id and IKM = the data key; the message
/// key and the commitment are expanded with distinct labels, each followed by
/// the header's prefix (magic to end of context), so every header field
/// changes both. The extract (the PRK and its HMAC key schedule) is computed
/// once and shared by both expands.
pub(crate) fn derive(
    dek: &DataKey,
    message_id: &[u8; MESSAGE_ID_LEN],
    prefix: &[u8],
) -> MessageKeys {
    let hkdf = Hkdf::<Sha256>::new(Some(message_id), dek.expose_secret());
    let mut key = Zeroizing::new([0u8; 32]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    hkdf.expand_multi_info(&[MESSAGE_KEY_LABEL, prefix], key.as_mut_slice())
        .expect("32 bytes is a valid HKDF-SHA-256 output length");
    hkdf.expand_multi_info(&[COMMITMENT_LABEL, prefix], &mut commitment)
        .expect("32 bytes is a valid HKDF-SHA-256 output length");
    MessageKeys { key, commitment }
}

/// Derives the message keys and checks the header's commitment in constant
/// time, before anything is decrypted.
pub(crate) fn derive_and_verify(dek: &DataKey, header: &Header) -> Result<MessageKeys> {
    let keys = derive(dek, header.message_id(), header.prefix());
    if bool::from(keys.commitment.ct_eq(header.commitment())) {
        Ok(keys)
    } else {
        Err(Error::Decrypt)
    }
}
