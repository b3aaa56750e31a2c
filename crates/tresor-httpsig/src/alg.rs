//! Signature algorithms of the HTTP Signature Algorithms registry (RFC 9421
//! section 6.2).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A signature algorithm, by its RFC 9421 registry name.
///
/// A key is bound to exactly one algorithm when it is loaded or registered;
/// the verifier never lets a signature's `alg` parameter pick another one
/// (no algorithm confusion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// `ecdsa-p256-sha256`: ECDSA over P-256 with SHA-256, signature `r || s`
    /// (64 bytes).
    EcdsaP256Sha256,
    /// `ecdsa-p384-sha384`: ECDSA over P-384 with SHA-384, signature `r || s`
    /// (96 bytes).
    EcdsaP384Sha384,
    /// `ed25519`: EdDSA over edwards25519 (RFC 8032).
    Ed25519,
    /// `hmac-sha256`: HMAC with SHA-256 under a shared secret.
    HmacSha256,
    /// `rsa-pss-sha512`: RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
    RsaPssSha512,
    /// `rsa-v1_5-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
    RsaV15Sha256,
}

impl Algorithm {
    /// Every algorithm, in registry order.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::RsaPssSha512,
        Algorithm::RsaV15Sha256,
        Algorithm::HmacSha256,
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::Ed25519,
    ];

    /// The registry name, as it appears in the `alg` signature parameter.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
            Algorithm::RsaV15Sha256 => "rsa-v1_5-sha256",
        }
    }

    /// Whether the algorithm is symmetric (the verifying key is a secret).
    pub fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HmacSha256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.name() == name)
            .ok_or_else(|| Error::UnsupportedAlgorithm {
                alg: name.chars().take(64).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.name().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.name());
        }
        assert!(matches!(
            "hmac-sha1".parse::<Algorithm>(),
            Err(Error::UnsupportedAlgorithm { .. })
        ));
    }
}
