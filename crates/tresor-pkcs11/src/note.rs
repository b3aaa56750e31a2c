//! [`Pkcs11NoteSigner`]: an Ed25519 key in the token that signs
//! `tresor-audit` checkpoints (C2SP signed notes).

use std::fmt;

use tresor_audit::note::{NoteSign, NoteVerifier, is_valid_key_name};

use crate::{Error, Pkcs11SigningKey, Pkcs11Uri, Result, SignatureAlgorithm, Token};

/// A C2SP signed-note key whose Ed25519 private key is in a PKCS#11 token:
/// a `tresor_audit::note::NoteSign` for
/// `tresor_audit::Checkpoint::sign_with`.
///
/// Its signature lines are exactly those of a `tresor_audit::NoteSigner`
/// holding the same key under the same name: the key hash is the first
/// four bytes of `SHA-256(name || 0x0A || 0x01 || public key)`, the
/// signature pure Ed25519 (`CKM_EDDSA`) over the note text. So
/// [`Pkcs11NoteSigner::verifier`] (or its key string) is what
/// `tresor audit verify` and any note verifier trust.
///
/// A failing token makes signing fail with `tresor_audit::Error::Signing`,
/// this crate's [`Error`] as its source; nothing is signed.
///
/// ```no_run
/// use tresor_audit::Checkpoint;
/// use tresor_pkcs11::{Pkcs11NoteSigner, Pkcs11Uri};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let uri: Pkcs11Uri = "pkcs11:token=tresor;object=audit-log-2026\
///     ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin"
///     .parse()?;
/// let signer = Pkcs11NoteSigner::open(&uri, "audit.bank.example")?;
/// println!("verifier key: {}", signer.verifier());
/// let note = Checkpoint::new("audit.bank.example", 42, [0; 32])?.sign_with(&[&signer])?;
/// Checkpoint::open(&note, &[signer.verifier()], "audit.bank.example")?;
/// # Ok(())
/// # }
/// ```
pub struct Pkcs11NoteSigner {
    key: Pkcs11SigningKey,
    verifier: NoteVerifier,
    public_key: [u8; 32],
}

impl Pkcs11NoteSigner {
    /// A note signer named `name` (non-empty, without white space or `+`;
    /// a checkpoint's log key is named after the log's origin) for an
    /// Ed25519 key.
    ///
    /// # Errors
    ///
    /// [`Error::WrongKeyType`] if the key is not Ed25519;
    /// [`Error::InvalidKeyName`] for an invalid name.
    pub fn new(key: Pkcs11SigningKey, name: &str) -> Result<Self> {
        if key.algorithm() != SignatureAlgorithm::Ed25519 {
            return Err(Error::WrongKeyType {
                object: key.object(),
                expected: "an Ed25519 key (C2SP signed notes are Ed25519)",
                found: format!("an {} key", key.algorithm()),
            });
        }
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName {
                reason: "a note key name is non-empty, without white space or '+'".into(),
            });
        }
        let public_key =
            <[u8; 32]>::try_from(key.public_key().as_bytes()).map_err(|_| Error::WrongKeyType {
                object: key.object(),
                expected: "an Ed25519 public key of 32 bytes",
                found: "a public key of another length".into(),
            })?;
        let verifier = NoteVerifier::from_ed25519_public_key(name, &public_key).map_err(|err| {
            Error::InvalidKeyName {
                reason: err.to_string(),
            }
        })?;
        Ok(Pkcs11NoteSigner {
            key,
            verifier,
            public_key,
        })
    }

    /// Opens the token and the Ed25519 key pair a URI names, as a note
    /// signer named `name`.
    pub fn open(uri: &Pkcs11Uri, name: &str) -> Result<Self> {
        let token = Token::open(uri)?;
        let key = Pkcs11SigningKey::builder(&token)
            .uri(uri)
            .algorithm(SignatureAlgorithm::Ed25519)
            .open()?;
        Self::new(key, name)
    }

    /// The note verifier key (public): give its key string
    /// (`<name>+<hash>+<key>`) to auditors and to `tresor audit verify`.
    pub fn verifier(&self) -> NoteVerifier {
        self.verifier.clone()
    }

    /// The signing key in the token.
    pub fn key(&self) -> &Pkcs11SigningKey {
        &self.key
    }
}

impl NoteSign for Pkcs11NoteSigner {
    fn name(&self) -> &str {
        self.verifier.name()
    }

    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn sign(&self, message: &[u8]) -> tresor_audit::Result<[u8; 64]> {
        let signing =
            |source: Box<dyn std::error::Error + Send + Sync>| tresor_audit::Error::Signing {
                key_name: self.verifier.name().to_owned(),
                source,
            };
        let signature = self
            .key
            .sign_message(message)
            .map_err(|err| signing(Box::new(err)))?;
        <[u8; 64]>::try_from(signature.as_slice()).map_err(|_| {
            signing("the token returned an Ed25519 signature that is not 64 bytes".into())
        })
    }

    fn key_hash(&self) -> u32 {
        self.verifier.key_hash()
    }
}

impl fmt::Debug for Pkcs11NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11NoteSigner")
            .field("name", &self.verifier.name())
            .field(
                "key_hash",
                &format_args!("{:08x}", self.verifier.key_hash()),
            )
            .field("key", &self.key)
            .finish()
    }
}
