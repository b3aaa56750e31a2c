//! [`Pkcs11SigningKey`] as a `tresor_httpsig::SigningKey`, and its
//! verifying key.

use tresor_httpsig::{Algorithm, PublicKey, SigningKey};

use crate::{Error, Pkcs11SigningKey, SignatureAlgorithm};

impl From<SignatureAlgorithm> for Algorithm {
    fn from(alg: SignatureAlgorithm) -> Self {
        match alg {
            SignatureAlgorithm::EcdsaP256Sha256 => Algorithm::EcdsaP256Sha256,
            SignatureAlgorithm::Ed25519 => Algorithm::Ed25519,
        }
    }
}

/// Signs RFC 9421 signature bases in the token: `ecdsa-p256-sha256`
/// (`r || s`, 64 bytes) or `ed25519`.
///
/// A token that is gone or failing ([`Error::is_unavailable`]) is
/// `tresor_httpsig::Error::Unavailable` (`what` = `PKCS#11 signing key`),
/// so a signing proxy answers 503; any other failure is
/// `tresor_httpsig::Error::Signing`. Both carry this crate's [`Error`] as
/// their source.
impl SigningKey for Pkcs11SigningKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm().into()
    }

    fn sign(&self, base: &[u8]) -> tresor_httpsig::Result<Vec<u8>> {
        self.sign_message(base).map_err(httpsig_error)
    }
}

/// This crate's error as `tresor-httpsig`'s.
fn httpsig_error(err: Error) -> tresor_httpsig::Error {
    if err.is_unavailable() {
        tresor_httpsig::Error::unavailable("PKCS#11 signing key", err)
    } else {
        tresor_httpsig::Error::signing(err)
    }
}

impl Pkcs11SigningKey {
    /// The verifying key a server registers for this key (e.g. in a
    /// `tresor_httpsig::KeyMap` or a client registry): a software
    /// `tresor_httpsig::PublicKey` built from the token's public key,
    /// bound to the key's algorithm, with its JWK
    /// (`PublicKey::to_jwk`), RFC 7638 thumbprint (`PublicKey::thumbprint`,
    /// a good `keyid`) and SPKI PEM.
    ///
    /// # Errors
    ///
    /// `tresor_httpsig::Error::InvalidKey` if `tresor-httpsig` refuses the
    /// key (it accepts every key this crate opens).
    pub fn verifying_key(&self) -> tresor_httpsig::Result<PublicKey> {
        PublicKey::from_raw(self.algorithm().into(), self.public_key().as_bytes())
    }
}
