//! The crate's one error type.

/// What can go wrong when a store is set up.
///
/// Once a store exists, its failures are reported through the error type
/// of the trait it implements (an outage of the store, never an
/// acceptance): see `RedisNonceStore` and
/// `RedisReplayCache`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Redis URL is malformed or names an unsupported scheme.
    #[error("invalid redis url")]
    InvalidUrl {
        /// What the client library said.
        #[source]
        source: redis::RedisError,
    },
    /// The server could not be reached, or did not answer in time, when
    /// the connection was first made.
    #[error("redis server unreachable")]
    Unreachable {
        /// The connection error, or the timeout.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store's own runtime (one I/O thread) could not be started.
    #[error("cannot start the redis client runtime")]
    Runtime {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A key prefix is empty or contains a character other than ASCII
    /// letters, digits and `:_-.`.
    #[error("invalid key prefix")]
    InvalidPrefix,
    /// The TLS configuration is unusable: a malformed or empty PEM, a key
    /// that does not fit, a url that is not `rediss://`, or the
    /// `#insecure` fragment. Never shows key material.
    #[error("invalid redis tls configuration: {reason}")]
    InvalidTls {
        /// What is wrong.
        reason: &'static str,
    },
    /// A certificate or key file could not be read.
    #[error("cannot read {path}")]
    TlsFile {
        /// The file's path (never its content).
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
