//! The crate's error types: [`Error`] for management and storage,
//! [`AuthError`] for the one answer an authenticating caller gets, and
//! [`BackendError`], the source of a backend failure.

/// The cause of a backend failure ([`Error::Storage`], [`Error::Pepper`],
/// [`Error::Io`], [`Error::Signing`]); defined in `tresor-types`, shared
/// with `tresor-httpsig`.
pub use tresor_types::BackendError;

/// Everything that can go wrong in `tresor-credentials`, except a failed
/// authentication (that is [`AuthError`], deliberately uninformative).
///
/// No variant carries secret bytes: a secret that fails to parse is
/// [`Error::MalformedSecret`] with a reason, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Input ------------------------------------------------------------
    /// A client id is not of the form this crate generates (22 base62
    /// characters).
    #[error("invalid client id")]
    InvalidClientId,

    /// A secret id is not of the form this crate generates (16 base62
    /// characters).
    #[error("invalid secret id")]
    InvalidSecretId,

    /// A client name is empty, too long or holds control characters.
    #[error("invalid client name: {reason}")]
    InvalidName {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A scope is not an RFC 6749 section 3.3 `scope-token`, or is too long,
    /// or there are too many.
    #[error("invalid scope {scope:?}: {reason}")]
    InvalidScope {
        /// The scope at fault (cut to 64 characters).
        scope: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A secret prefix is not 1 to 32 characters of `a-z`, `0-9` and `_`
    /// starting with a letter.
    #[error("invalid secret prefix: {reason}")]
    InvalidPrefix {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A string is not a well-formed client secret of this crate's format
    /// (wrong prefix, length, alphabet or checksum).
    #[error("malformed client secret: {reason}")]
    MalformedSecret {
        /// What is wrong with it (never the secret).
        reason: &'static str,
    },

    /// A rotation grace period is longer than [`MAX_ROTATION_GRACE`].
    ///
    /// [`MAX_ROTATION_GRACE`]: crate::registry::MAX_ROTATION_GRACE
    #[error("rotation grace period of {seconds} s exceeds the maximum of {max} s")]
    InvalidGrace {
        /// The grace period asked for, in seconds.
        seconds: u64,
        /// The maximum, in seconds.
        max: u64,
    },

    // --- Registry state ---------------------------------------------------
    /// No client is registered under this id.
    #[error("unknown client {client_id}")]
    UnknownClient {
        /// The client id.
        client_id: String,
    },

    /// The client has no secret with this id (or it is already revoked).
    #[error("client {client_id} has no active secret {secret_id}")]
    UnknownSecret {
        /// The client id.
        client_id: String,
        /// The secret id.
        secret_id: String,
    },

    /// The client already has two active secrets: revoke one, or wait for
    /// the older one to expire, before rotating again.
    #[error("client {client_id} already has two active secrets")]
    TooManyActiveSecrets {
        /// The client id.
        client_id: String,
    },

    /// A client with this id already exists in the store.
    #[error("client {client_id} already exists")]
    AlreadyExists {
        /// The client id.
        client_id: String,
    },

    /// The record changed since it was read (optimistic concurrency): read
    /// it again and retry.
    #[error("client {client_id} was changed concurrently (expected version {expected})")]
    Conflict {
        /// The client id.
        client_id: String,
        /// The version the update expected.
        expected: u64,
    },

    // --- Pepper -----------------------------------------------------------
    /// The pepper has no key of this version (it was removed, or the
    /// verifier was made under another pepper).
    #[error("unknown pepper version {version}")]
    UnknownPepperVersion {
        /// The version asked for.
        version: u32,
    },

    /// The pepper (a KMS, an HSM, a key file) failed.
    #[error("pepper failure")]
    Pepper {
        /// What failed (never key bytes).
        #[source]
        source: BackendError,
    },

    /// A pepper key file is malformed.
    #[error("invalid pepper file, line {line}: {reason}")]
    PepperFile {
        /// The 1-based line at fault (0 for the file as a whole).
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A key file is readable or writable by other users than its owner
    /// (its mode must be 0600 or stricter).
    #[error("{path} is accessible to other users (mode {mode:o}); chmod 600 it")]
    InsecurePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },

    /// A file that would be created exists already (key files are never
    /// overwritten).
    #[error("{path} already exists; refusing to overwrite it")]
    FileExists {
        /// The file.
        path: String,
    },

    /// An I/O error on a key file.
    #[error("i/o error on {path}")]
    Io {
        /// The file.
        path: String,
        /// The error (a [`std::io::Error`]: see [`BackendError::downcast_ref`]).
        #[source]
        source: BackendError,
    },

    // --- Storage ----------------------------------------------------------
    /// The store failed (SQLite error, lost connection, poisoned lock), or
    /// the replay cache did (down, or full), or a shared rate-limit store
    /// did.
    #[error("credential store failure")]
    Storage {
        /// What failed.
        #[source]
        source: BackendError,
    },

    /// A stored record could not be decoded.
    #[error("corrupt credential record: {reason}")]
    Corrupt {
        /// What is wrong with it.
        reason: String,
    },

    /// The database was written by a newer version of this crate; it is
    /// not opened, so nothing is lost to a downgrade.
    #[error("database schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// The database's schema version.
        found: i64,
        /// The newest schema this build knows.
        supported: i64,
    },

    /// The system random number generator failed.
    #[error("random number generator failure")]
    Rng,
    // --- Public keys --------------------------------------------------------
    /// A public key could not be registered: bad PEM/JWK, a private key or
    /// private JWK members, an unsupported key type or algorithm.
    #[error("invalid public key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },

    /// A key-registration challenge is malformed, was issued for another
    /// client, was not issued by this registry (or under a pepper version
    /// it no longer has), or has expired: ask for a new one.
    #[error("invalid key challenge: {reason}")]
    InvalidChallenge {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The proof-of-possession signature over the challenge does not
    /// verify under the key being registered.
    #[error("the proof of possession does not verify under the presented key")]
    BadProof,

    /// The client has no key with this id.
    #[error("client {client_id} has no key {kid}")]
    UnknownKey {
        /// The client id.
        client_id: String,
        /// The key id.
        kid: String,
    },

    /// The key is already registered (to this client, in any state, or to
    /// another client): a key belongs to one client only, and a revoked
    /// key never comes back.
    #[error("key {kid} is already registered")]
    KeyExists {
        /// The key id.
        kid: String,
    },

    /// The key was revoked (by this client or another, its material
    /// possibly pruned since): a revoked key is never registered again.
    /// Register a new key instead.
    #[error("key {kid} was revoked and can never be registered again")]
    KeyRevoked {
        /// The key id.
        kid: String,
    },

    /// The client already has the maximum number of active keys: retire
    /// (verify-only) or revoke one first.
    #[error("client {client_id} already has {max} active keys")]
    TooManyActiveKeys {
        /// The client id.
        client_id: String,
        /// The maximum.
        max: usize,
    },

    /// A key state change that is not allowed (a revoked key stays
    /// revoked).
    #[error("key {kid} cannot go from {from} to {to}")]
    InvalidKeyTransition {
        /// The key id.
        kid: String,
        /// The current state.
        from: &'static str,
        /// The state asked for.
        to: &'static str,
    },

    /// A key validity window is empty or already over.
    #[error("invalid key validity: {reason}")]
    InvalidValidity {
        /// What is wrong with it.
        reason: &'static str,
    },

    // --- Tokens -------------------------------------------------------------
    /// A token issuer or verifier could not be set up (bad key, bad
    /// configuration).
    #[error("token configuration: {reason}")]
    TokenConfig {
        /// What is wrong.
        reason: String,
    },

    /// Signing an access token or a client assertion failed (the key or
    /// its random generator).
    #[error("signing failed")]
    Signing {
        /// What failed.
        #[source]
        source: BackendError,
    },

    // --- Time -------------------------------------------------------------
    /// The clock cannot tell the time (it reads a time before the UNIX
    /// epoch): nothing with an expiry or a validity window can be decided,
    /// so the operation is refused.
    #[error("clock unavailable")]
    ClockUnavailable {
        /// What the clock reported ([`tresor_types::Error::BeforeEpoch`]
        /// or [`tresor_types::Error::OutOfRange`]).
        #[source]
        source: tresor_types::Error,
    },

    // --- Client assertions --------------------------------------------------
    /// A key whose algorithm cannot sign a `private_key_jwt` assertion
    /// here: an HMAC secret (no public key to register) or RSA PKCS#1 v1.5
    /// (`RS256` is not accepted). Ed25519, ECDSA P-256 and P-384 and
    /// RSA-PSS SHA-512 keys can.
    #[error(
        "a {alg} key cannot sign a client assertion (Ed25519, ECDSA P-256/P-384 and RSA-PSS SHA-512 keys can)"
    )]
    AssertionKey {
        /// The key's RFC 9421 algorithm name.
        alg: &'static str,
    },
    // Add new variants above this line, one small edit at a time.
}

impl Error {
    /// An [`Error::Storage`] caused by `source` (any error, or a message:
    /// `&str` and `String` convert). For [`CredentialStore`] and
    /// `assertion::ReplayCache` (feature `httpsig`) implementations whose
    /// backend failed.
    ///
    /// [`CredentialStore`]: crate::CredentialStore
    pub fn storage(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage {
            source: BackendError::new(source),
        }
    }

    /// An [`Error::Pepper`] caused by `source` (any error, or a message).
    /// For [`Pepper`](crate::Pepper) implementations whose KMS or HSM
    /// failed.
    pub fn pepper(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Pepper {
            source: BackendError::new(source),
        }
    }

    /// Whether this is a backend outage (store, pepper, replay cache, a
    /// clock before the UNIX epoch) rather than a fault of the request or
    /// the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Storage { .. } | Self::Pepper { .. } | Self::ClockUnavailable { .. }
        )
    }
}

impl Error {
    /// A clock failure (from [`Clock::now`](crate::Clock::now)) as this
    /// crate's error, the clock's error as its source. Not a `From` impl:
    /// `tresor_types::Error` also describes JWKs, which are not clocks.
    pub(crate) fn clock(source: tresor_types::Error) -> Self {
        Self::ClockUnavailable { source }
    }
}

// The driver's error stays inside the source: `rusqlite` is not part of
// the public API.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::storage(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The answer to a failed authentication.
///
/// Deliberately uninformative: an unknown client, a wrong, expired or
/// revoked secret, a malformed secret, a suspended client and a rate-limited
/// attempt are all [`AuthError::InvalidClient`], so the caller (and the
/// attacker behind it) learns nothing but "no". The precise reason goes to
/// the [`AuthAudit`](crate::AuthAudit) hook only.
///
/// [`AuthError::Unavailable`] is the one exception: the store, the pepper
/// (a KMS, an HSM), the replay cache, a shared rate-limit store or the
/// clock (reading a time before the UNIX epoch) failed, which says nothing about the credential, and
/// answering `invalid_client` would make a legitimate client discard a good
/// secret. It carries no detail either: the backend's error (with its
/// source chain) goes to the audit hook
/// ([`AuthEvent::error`](crate::AuthEvent::error)), the place for the
/// reasons of every outcome, so the caller's answer stays a plain value
/// that cannot leak infrastructure details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The client could not be authenticated (RFC 6749 section 5.2
    /// `invalid_client`, HTTP 401).
    #[error("invalid client")]
    InvalidClient,

    /// A backend failure (store, pepper, replay cache, shared rate-limit
    /// store, a clock before the UNIX epoch) stopped the check: answer HTTP 503 with
    /// `temporarily_unavailable` (the [`TokenEndpoint`](crate::TokenEndpoint)
    /// does), never 401.
    #[error("authentication temporarily unavailable")]
    Unavailable,
}

impl AuthError {
    /// The OAuth 2.0 error code for a token endpoint's answer:
    /// `invalid_client` or `temporarily_unavailable` (RFC 6749 defines
    /// the latter for the authorization endpoint, section 4.1.2.1; the
    /// token endpoint uses it with HTTP 503).
    pub fn oauth_error(self) -> &'static str {
        match self {
            Self::InvalidClient => "invalid_client",
            Self::Unavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status for a token endpoint's answer: 401 (or 400, see
    /// the [`endpoint`](crate::endpoint) module) or 503.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::Unavailable => 503,
        }
    }
}
