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

    /// An audit log error: a damaged or altered log (the message names the
    /// first bad entry, node or file position), a checkpoint whose
    /// signature or tree head does not match, a proof that does not verify,
    /// a log locked by another writer, an invalid record.
    #[error(transparent)]
    Audit(#[from] tresor_audit::Error),

    /// An audit record on line `line` of `audit append`'s input was refused;
    /// the records before it are appended (and were printed).
    #[error("line {line}: {reason}; nothing from this line on was appended")]
    AuditLine {
        /// The line number, from 1.
        line: u64,
        /// What is wrong with the line.
        reason: String,
    },

    /// A note key file (`audit keygen`'s) could not be read or parsed.
    #[error("key file {path:?}: {source}")]
    NoteKeyFile {
        /// The key file given on the command line.
        path: PathBuf,
        /// Why it could not be used (never the key itself).
        source: tresor_audit::Error,
    },

    /// `audit verify-proof` could not read a proof from its input: not
    /// JSON, neither proof shape, bad Base64, a hash not 32 bytes long.
    /// Exit code 2, unlike a proof that reads but does not verify.
    #[error("unreadable proof: {0}")]
    UnreadableProof(String),

    /// A key in a PKCS#11 token could not be used: a bad `pkcs11:` URI,
    /// the token not present, a wrong PIN, no such key, a wrong key type
    /// (the message names the key by label and id, never the PIN).
    #[error(transparent)]
    Pkcs11(#[from] tresor_pkcs11::Error),

    /// A raw HTTP message could not be read or parsed.
    #[error("invalid HTTP message: {0}")]
    RawHttp(#[from] crate::rawhttp::Error),

    /// A raw HTTP message is not fit for the command.
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

    /// The process exit code: 2 for an unreadable proof, else 1.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::UnreadableProof(_) => 2,
            _ => 1,
        }
    }

    /// The message on one line: line breaks that a file name or an
    /// operating-system message might carry become spaces. A store's
    /// failure names its cause (a database's "connection refused"): those
    /// messages carry neither secrets nor connection strings.
    pub(crate) fn one_line(&self) -> String {
        let mut text = self.to_string();
        if let CliError::Credentials(tresor_credentials::Error::Storage { source }) = self {
            text = format!("{text}: {source}");
        }
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    }
}

/// The tool's result type.
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;
