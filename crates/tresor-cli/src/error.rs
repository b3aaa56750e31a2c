//! The tool's error: every failure prints as one line after `tresor: error: `.

use std::io;
use std::path::PathBuf;

/// Everything that makes a command fail (exit code 1).
///
/// Messages name the file or flag concerned and never carry key material:
/// library errors are shown through their `Display`, which the library keeps
/// free of secrets, and never through `Debug`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A library error: decryption, header, keyring, key file, context…
    #[error(transparent)]
    Envelope(#[from] tresor_envelope::Error),

    /// An HTTP message signature error: a signature that does not verify
    /// (the message names the failed rule), a bad component identifier, a
    /// missing component.
    #[error(transparent)]
    HttpSig(#[from] tresor_httpsig::Error),

    /// A credential registry error: an unknown client or secret, a bad
    /// name or scope, a store or pepper failure, a malformed secret (the
    /// message names what is wrong, never the secret).
    #[error(transparent)]
    Credentials(#[from] tresor_credentials::Error),

    /// A failed client authentication: `invalid client` whatever the
    /// reason, or the store or pepper being unavailable.
    #[error(transparent)]
    Auth(#[from] tresor_credentials::AuthError),

    /// A raw HTTP message could not be read or parsed.
    #[error("invalid HTTP message: {0}")]
    Http(String),

    /// A signing or verifying key file could not be read or parsed.
    #[error("key file {path:?}: {source}")]
    SigKeyFile {
        /// The key file given on the command line.
        path: PathBuf,
        /// Why it could not be used (never the key itself).
        source: tresor_httpsig::Error,
    },

    /// A key file could not be read or parsed.
    #[error("key file {path:?}: {source}")]
    KeyFile {
        /// The key file given on the command line.
        path: PathBuf,
        /// Why it could not be used (never the key itself).
        source: tresor_envelope::Error,
    },

    /// An operating-system call on a named file failed.
    #[error("{what} {path:?}: {source}")]
    File {
        /// What was being done, e.g. "cannot open input".
        what: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// Writing to standard output failed.
    #[error("cannot write to standard output: {0}")]
    Stdout(io::Error),

    /// A flag's value is invalid, or flags contradict each other.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// An error about a named file.
    pub(crate) fn file(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CliError::File {
            what,
            path: path.into(),
            source,
        }
    }

    /// The message on one line: line breaks that a file name or an
    /// operating-system message might carry become spaces.
    pub(crate) fn one_line(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    }
}

/// The tool's result type.
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;
