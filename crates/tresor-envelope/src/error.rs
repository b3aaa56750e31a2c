//! The crate's one error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in `tresor-envelope`.
///
/// Decryption failures are deliberately uninformative: a wrong key-encryption
/// key, a wrong encryption context, a tampered byte anywhere past the header's
/// fixed fields, a truncated or extended stream and reordered frames all give
/// [`Error::Decrypt`], so an attacker probing a service learns nothing from the
/// error. Everything that concerns the public header (unknown key id,
/// unsupported version or suite, malformed header) is reported precisely,
/// because it reveals nothing the header did not already show.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ciphertext could not be authenticated: wrong key, wrong context,
    /// tampered, truncated, reordered or extended data.
    #[error("decryption failed: wrong key or context, or tampered or truncated ciphertext")]
    Decrypt,

    /// The header names a key-encryption key that the keyring does not hold.
    #[error("unknown key-encryption key {key_id:?}")]
    UnknownKek {
        /// The key id found in the header (or asked for).
        key_id: String,
    },

    /// The key-encryption key was destroyed (crypto-shredded); data under it
    /// can no longer be decrypted.
    #[error("key-encryption key {key_id:?} has been destroyed")]
    KekDestroyed {
        /// The destroyed key's id.
        key_id: String,
    },

    /// The key-encryption key is retired: it still decrypts, but never
    /// encrypts new data.
    #[error("key-encryption key {key_id:?} is retired and cannot seal new data")]
    KekRetired {
        /// The retired key's id.
        key_id: String,
    },

    /// A key-encryption key with this id is already in the keyring (or was
    /// destroyed, and ids are never reused).
    #[error("key-encryption key {key_id:?} is already in the keyring or was destroyed")]
    DuplicateKek {
        /// The duplicate id.
        key_id: String,
    },

    /// The keyring has no primary key-encryption key to seal with.
    #[error("the keyring has no primary key-encryption key")]
    NoPrimaryKek,

    /// The operation is not allowed on the primary key-encryption key.
    #[error("key-encryption key {key_id:?} is the primary; make another key primary first")]
    KekIsPrimary {
        /// The primary key's id.
        key_id: String,
    },

    /// A key id is empty, too long, or contains characters other than
    /// printable ASCII.
    #[error("invalid key id: {0}")]
    InvalidKeyId(&'static str),

    /// The key-encryption key's backend (KMS, HSM, …) failed for a reason
    /// other than authentication, such as an unreachable service.
    #[error("key-encryption key {key_id:?} failed: {source}")]
    Kek {
        /// The key's id.
        key_id: String,
        /// The backend's error (never carries key material).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// The data is not in a format version this library reads.
    #[error("unsupported envelope format version {0}")]
    UnsupportedVersion(u8),

    /// The header names a suite this library does not know.
    #[error("unsupported suite {0:#04x}")]
    UnsupportedSuite(u8),

    /// The header is not a well-formed tresor envelope header.
    #[error("malformed envelope header: {0}")]
    MalformedHeader(&'static str),

    /// An encryption context is invalid (empty key, duplicate key, too large).
    #[error("invalid encryption context: {0}")]
    InvalidContext(&'static str),

    /// A frame size outside the supported range was requested.
    #[error("invalid frame size {0}: must be between {min} and {max} bytes", min = crate::MIN_FRAME_SIZE, max = crate::MAX_FRAME_SIZE)]
    InvalidFrameSize(u32),

    /// A suite name could not be parsed.
    #[error("unknown suite {0:?}: expected aes-256-gcm or aes-256-gcm-siv")]
    UnknownSuiteName(String),

    /// A key file is malformed.
    #[error("invalid key file: {0}")]
    InvalidKeyFile(&'static str),

    /// Refused to overwrite an existing key file.
    #[error("refusing to overwrite existing key file {}", path.display())]
    KeyFileExists {
        /// The path that already exists.
        path: PathBuf,
    },

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,

    /// Reading or writing failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// Wraps a key-encryption key backend's failure (network, HSM session…).
    ///
    /// Backends return [`Error::Decrypt`] when a wrapped key does not
    /// authenticate, and this for everything else.
    pub fn kek<E>(key_id: impl Into<String>, source: E) -> Self
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        Error::Kek {
            key_id: key_id.into(),
            source: source.into(),
        }
    }

    /// Recovers an [`Error`] carried inside an [`io::Error`] by the streaming
    /// readers and writers; other I/O errors become [`Error::Io`].
    pub fn from_io(err: io::Error) -> Self {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            match err.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(inner)) => *inner,
                // Unreachable in practice: the check above saw an `Error`.
                Some(Err(other)) => Error::Io(io::Error::other(other)),
                None => Error::Io(io::Error::other("i/o error")),
            }
        } else {
            Error::Io(err)
        }
    }

    pub(crate) fn into_io(self) -> io::Error {
        match self {
            Error::Io(err) => err,
            other => io::Error::other(other),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
