//! The secret verifier: what is stored in place of a secret.

use zeroize::Zeroizing;

use crate::client::Mac;
use crate::error::Result;
use crate::pepper::Pepper;

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
