//! The crate's one error type, and [`BackendError`], the source of a
//! backend failure.

/// The cause of a backend failure ([`Error::Unavailable`],
/// [`Error::Signing`]); defined in `tresor-types`, shared with
/// `tresor-credentials`.
pub use tresor_types::BackendError;

/// Everything that can go wrong in `tresor-httpsig`.
///
/// Each verification failure names the policy rule that failed, so a server
/// can log it precisely, while the HTTP answer it sends stays uniform (the
/// tower layer answers every verification failure with the same 401). A
/// backend that failed (a key resolver's database, a shared nonce store, a
/// signing key in an HSM) is [`Error::Unavailable`] instead: an outage,
/// which says nothing about the request (the tower layer answers it 503). A signature that
/// does not verify is [`Error::BadSignature`] whatever the cause (wrong key,
/// altered component, altered signature): the error does not help forge one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Parsing ----------------------------------------------------------
    /// A `Signature-Input`, `Signature`, `Content-Digest` or other field
    /// could not be parsed, or breaks a structural rule of RFC 9421.
    #[error("malformed {field}: {reason}")]
    Malformed {
        /// The field or structure at fault, e.g. `Signature-Input`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// An input exceeds a size or count limit (header size, number of
    /// signatures, number of components, body size).
    #[error("limit exceeded: {what} (at most {limit})")]
    LimitExceeded {
        /// What is too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },

    // --- Components -------------------------------------------------------
    /// A component identifier is not valid (unknown derived component,
    /// bad parameter, parameter not allowed on that component).
    #[error("invalid component identifier {component}: {reason}")]
    InvalidComponent {
        /// The identifier as serialised.
        component: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A covered component is absent from the message (a field that is not
    /// present, `@query-param` with an unknown name, `@status` on a request).
    #[error("component {component} is not present in the message")]
    ComponentNotFound {
        /// The identifier as serialised.
        component: String,
    },

    // --- Selection --------------------------------------------------------
    /// No signature with the requested label or tag is on the message.
    #[error("no signature {selector} on the message")]
    SignatureNotFound {
        /// How the signature was selected, e.g. `label "sig1"`.
        selector: String,
    },

    /// A label appears more than once, or the `Signature` and
    /// `Signature-Input` fields name different labels.
    #[error("signature label {label:?}: {reason}")]
    InvalidLabel {
        /// The label at fault.
        label: String,
        /// What is wrong.
        reason: String,
    },

    // --- Policy -----------------------------------------------------------
    /// The policy requires a component the signature does not cover.
    #[error("required component {component} is not covered by the signature")]
    MissingComponent {
        /// The identifier as serialised.
        component: String,
    },

    /// The policy requires a signature parameter that is absent
    /// (`created`, `nonce`, `tag`, `keyid`).
    #[error("required signature parameter {parameter:?} is missing")]
    MissingParameter {
        /// The parameter name.
        parameter: &'static str,
    },

    /// The signature's `expires` time has passed.
    #[error("the signature expired at {expires} (now {now})")]
    Expired {
        /// The `expires` parameter (UNIX seconds).
        expires: i64,
        /// The verifier's time.
        now: i64,
    },

    /// The signature's `created` time is further in the future than the
    /// allowed clock skew.
    #[error("the signature is not yet valid: created at {created} (now {now})")]
    NotYetValid {
        /// The `created` parameter (UNIX seconds).
        created: i64,
        /// The verifier's time.
        now: i64,
    },

    /// The signature is older than the policy's maximum age.
    #[error("the signature is too old: created at {created}, max age {max_age} s (now {now})")]
    TooOld {
        /// The `created` parameter (UNIX seconds).
        created: i64,
        /// The policy's maximum age in seconds.
        max_age: u64,
        /// The verifier's time.
        now: i64,
    },

    /// The signature's `tag` is not the one the policy requires.
    #[error("signature tag {found:?} is not the required {expected:?}")]
    TagMismatch {
        /// The tag the policy requires.
        expected: String,
        /// The tag found (empty if none).
        found: String,
    },

    /// The nonce was seen before within the validity window.
    #[error("replayed nonce")]
    ReplayedNonce,

    // --- Keys and algorithms ----------------------------------------------
    /// No key is registered under this key id.
    #[error("unknown key {key_id:?}")]
    UnknownKey {
        /// The `keyid` parameter (truncated for logging).
        key_id: String,
    },

    /// The algorithm name is not one this crate implements.
    #[error("unsupported algorithm {alg:?}")]
    UnsupportedAlgorithm {
        /// The name found.
        alg: String,
    },

    /// The signature's `alg` parameter names another algorithm than the key
    /// is registered for, or the policy does not allow the key's algorithm.
    #[error("algorithm {alg} is not allowed here{}", if key_alg.is_empty() { String::new() } else { format!(" (the key is for {key_alg})") })]
    AlgorithmNotAllowed {
        /// The algorithm asked for.
        alg: String,
        /// The key's algorithm, when the failure is a mismatch with the key.
        key_alg: String,
    },

    /// A key could not be loaded: bad PEM, DER or JWK, wrong curve, private
    /// members in a public JWK, key too small.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong with the key (never key bytes).
        reason: String,
    },

    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,

    /// Signing failed (a key-store, HSM or RNG failure, or a signature
    /// that cannot be written as a field value).
    #[error("signing failed")]
    Signing {
        /// What failed.
        #[source]
        source: BackendError,
    },

    /// A backend this crate calls (a [`KeyResolver`](crate::KeyResolver)'s
    /// database, a shared [`NonceStore`](crate::NonceStore), a remote
    /// [`VerifyingKey`](crate::VerifyingKey)) failed: an outage, not a
    /// verdict on the request. Resolvers and stores must report their own
    /// failures with this variant, never as [`Error::UnknownKey`] or
    /// [`Error::InvalidKey`], so the request is answered 503 (retry later),
    /// not 401 (your credentials are wrong).
    #[error("{what} unavailable")]
    Unavailable {
        /// The backend that failed, e.g. `key resolver` or `nonce store`.
        what: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },

    // --- Content-Digest ---------------------------------------------------
    /// The body does not match its `Content-Digest`, or no supported
    /// digest algorithm is present.
    #[error("content digest mismatch: {reason}")]
    DigestMismatch {
        /// Which digest failed, or why none could be checked.
        reason: String,
    },
    // --- Time -------------------------------------------------------------
    /// The clock cannot tell the time (it reads a time before the UNIX
    /// epoch): nothing time-dependent can be checked, so verification and
    /// signing fail closed.
    #[error("clock unavailable")]
    ClockUnavailable {
        /// What the clock reported ([`tresor_types::Error::BeforeEpoch`]
        /// or [`tresor_types::Error::OutOfRange`]).
        #[source]
        source: tresor_types::Error,
    },
    // Add new variants above this line, one small edit at a time.
}

impl Error {
    /// An [`Error::Unavailable`] for the backend `what`, caused by `source`
    /// (any error, or a message: `&str` and `String` convert).
    pub fn unavailable(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            what,
            source: BackendError::new(source),
        }
    }

    /// An [`Error::Signing`] caused by `source` (any error, or a message).
    pub fn signing(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Signing {
            source: BackendError::new(source),
        }
    }

    /// Whether this is a backend outage ([`Error::Unavailable`]) rather
    /// than a verdict on the message.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A clock failure (from [`Clock::now`](crate::Clock::now)) as this
    /// crate's error, the clock's error as its source.
    pub(crate) fn clock(e: &tresor_types::Error) -> Self {
        Self::ClockUnavailable { source: e.clone() }
    }
}
