//! The secret verifier: what is stored in place of a secret, and how its
//! MAC is computed.

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::client::SecretId;
use crate::error::{Error, Result};
use crate::pepper::Pepper;

/// A 32-byte HMAC-SHA-256 output, stored as unpadded base64url.
///
/// It is not a secret: without the pepper key it neither authenticates nor
/// lets anyone test a guess offline. Still, it is compared in constant
/// time only ([`ConstantTimeEq`]; `==` uses it too, it is not derived), so
/// no comparison of a presented secret's MAC leaks how much of it matched.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mac(pub [u8; 32]);

impl TryFrom<String> for Mac {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        use base64ct::Encoding;
        let mut out = [0u8; 32];
        match base64ct::Base64UrlUnpadded::decode(&text, &mut out) {
            Ok(decoded) if decoded.len() == 32 => Ok(Self(out)),
            _ => Err(Error::Corrupt {
                reason: "a verifier MAC is not 32 bytes of base64url".into(),
            }),
        }
    }
}

impl From<Mac> for String {
    fn from(mac: Mac) -> Self {
        use base64ct::Encoding;
        base64ct::Base64UrlUnpadded::encode_string(&mac.0)
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mac(")?;
        f.write_str(&String::from(*self))?;
        f.write_str(")")
    }
}

/// What is stored for one client secret: a peppered MAC of it, never the
/// secret.
///
/// `mac = HMAC-SHA-256(pepper[pepper_version], input)` where `input` is the
/// concatenation of three length-prefixed parts (each a 4-byte big-endian
/// length, then the bytes): the context string
/// `tresor-credentials/client-secret/v1`, the client id and the secret
/// (see [`verifier_input`]).
///
/// `#[non_exhaustive]`: it may record more about a secret later. The
/// registry builds it; stores deserialize it; [`SecretVerifier::new`]
/// builds one by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecretVerifier {
    /// The secret's id (for rotation and revocation).
    pub id: SecretId,
    /// The version of the pepper key the MAC was made under.
    pub pepper_version: u32,
    /// The MAC.
    pub mac: Mac,
    /// When the secret was created (UNIX seconds).
    pub created: i64,
    /// When the secret stops being accepted (UNIX seconds): it is valid
    /// while `now < expires`. Set on the old secret by a rotation; `None`
    /// for a secret without end.
    pub expires: Option<i64>,
    /// When the secret was revoked (UNIX seconds); a revoked secret is
    /// never accepted again.
    pub revoked: Option<i64>,
}

impl SecretVerifier {
    /// The verifier of secret `id`: its `mac` under pepper version
    /// `pepper_version`, created at `created` (UNIX seconds), without
    /// expiry, not revoked.
    pub fn new(id: SecretId, pepper_version: u32, mac: Mac, created: i64) -> Self {
        Self {
            id,
            pepper_version,
            mac,
            created,
            expires: None,
            revoked: None,
        }
    }

    /// Whether the secret is accepted at `now`: not revoked, not expired.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked.is_none() && self.expires.is_none_or(|e| now < e)
    }
}

impl ConstantTimeEq for Mac {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Mac {
    /// Constant time ([`ConstantTimeEq`]).
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for Mac {}

/// The domain-separation string, the first part of every verifier input.
pub const VERIFIER_CONTEXT: &str = "tresor-credentials/client-secret/v1";

/// The bytes a verifier MAC covers: the context string, the client id and
/// the secret, each preceded by its length as a 4-byte big-endian number,
/// so that no two different triples give the same input.
///
/// ```text
/// u32be(len(ctx)) || ctx || u32be(len(client_id)) || client_id || u32be(len(secret)) || secret
/// ```
///
/// The result holds the secret and is wiped on drop.
pub fn verifier_input(client_id: &str, secret: &[u8]) -> Zeroizing<Vec<u8>> {
    let parts: [&[u8]; 3] = [VERIFIER_CONTEXT.as_bytes(), client_id.as_bytes(), secret];
    let mut out = Zeroizing::new(Vec::with_capacity(parts.iter().map(|p| 4 + p.len()).sum()));
    for part in parts {
        // Callers bound every part far below 4 GiB; saturate to be total.
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// `HMAC-SHA-256(pepper[version], verifier_input(client_id, secret))`.
pub(crate) fn derive(
    pepper: &dyn Pepper,
    version: u32,
    client_id: &str,
    secret: &[u8],
) -> Result<Mac> {
    let input = verifier_input(client_id, secret);
    Ok(Mac(pepper.mac(version, &input)?))
}

/// Length-prefixed concatenation (each part preceded by its length as a
/// 4-byte big-endian number), the framing of [`verifier_input`], for MAC
/// inputs under other context strings.
#[cfg(feature = "httpsig")]
pub(crate) fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| 4 + p.len()).sum());
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}
