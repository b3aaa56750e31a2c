//! The crate's one error type.

/// Everything that can go wrong in `tresor-types`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The clock reads a time before 1970-01-01T00:00:00Z. The system
    /// clock is broken; nothing time-dependent can be decided.
    #[error("the clock reads a time before the unix epoch")]
    BeforeEpoch,

    /// The clock reads a time too far in the future for `i64` seconds.
    #[error("the clock reads a time beyond the range of unix seconds")]
    OutOfRange,

    /// A JWK is not valid JSON, holds a member it must not, lacks one it
    /// needs, or a member has the wrong type, encoding or length.
    #[error("invalid JWK: {reason}")]
    InvalidJwk {
        /// What is wrong (never key bytes).
        reason: String,
    },
    // Add new variants above this line, one small edit at a time.
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`Error::InvalidJwk`].
pub(crate) fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidJwk {
        reason: reason.into(),
    }
}
