//! [`HmacKey`]: `hmac-sha256` under a shared secret.

use std::fmt;

use base64ct::{Base64, Encoding};
use ring::hmac;
use zeroize::Zeroizing;

use super::invalid;
use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::key::{SigningKey, VerifyingKey};

/// The shortest secret accepted, in bytes: 256 bits, the output size of
/// SHA-256 (RFC 2104 section 3: shorter keys weaken the MAC).
pub const HMAC_MIN_SECRET_LEN: usize = 32;

/// An `hmac-sha256` key (RFC 9421 section 3.3.3): it both signs and
/// verifies, so it is a secret on both sides.
///
/// The secret must be at least [`HMAC_MIN_SECRET_LEN`] (32) bytes. The
/// copies this type makes are wiped on drop; *ring*'s HMAC key schedule is
/// not (a *ring* limitation). Verification compares in constant time.
/// `Debug` never shows the secret. There is no `Clone`.
///
/// ```
/// use tresor_httpsig::{HmacKey, SigningKey, VerifyingKey};
///
/// let key = HmacKey::new(&[7u8; 32])?;
/// let mac = key.sign(b"signature base")?;
/// key.verify(b"signature base", &mac)?;
/// assert!(key.verify(b"signature base!", &mac).is_err());
/// # Ok::<(), tresor_httpsig::Error>(())
/// ```
pub struct HmacKey {
    key: hmac::Key,
}

impl HmacKey {
    /// A key from the raw secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] if the secret is shorter than
    /// [`HMAC_MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < HMAC_MIN_SECRET_LEN {
            return Err(invalid(format!(
                "an hmac-sha256 secret must be at least {HMAC_MIN_SECRET_LEN} bytes, not {}",
                secret.len()
            )));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }

    /// A key from the secret in standard, padded Base64 (RFC 4648 section
    /// 4), as in RFC 9421 Appendix B.1.5; surrounding whitespace is ignored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] if the text is not Base64 or the secret is too
    /// short.
    pub fn from_base64(text: &str) -> Result<Self> {
        let secret = Zeroizing::new(
            Base64::decode_vec(text.trim())
                .map_err(|_| invalid("the hmac-sha256 secret is not valid Base64"))?,
        );
        Self::new(&secret)
    }
}

impl SigningKey for HmacKey {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }

    fn sign(&self, base: &[u8]) -> Result<Vec<u8>> {
        Ok(hmac::sign(&self.key, base).as_ref().to_vec())
    }
}

impl VerifyingKey for HmacKey {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }

    fn verify(&self, base: &[u8], signature: &[u8]) -> Result<()> {
        hmac::verify(&self.key, base, signature).map_err(|_| Error::BadSignature)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("alg", &Algorithm::HmacSha256)
            .finish_non_exhaustive()
    }
}
