//! The crate's one error type.

use std::io;
use std::path::PathBuf;

pub use tresor_types::BackendError;

/// Everything that can go wrong in `tresor-pkcs11`.
///
/// Messages name the token (`token=…`) and the key (`object=…;id=…`) in
/// PKCS#11 URI syntax, so an operator can paste them into a configuration.
/// No error ever carries a PIN or key material: a PIN read from its source
/// is used for `C_Login` and nothing else, and key bytes never leave the
/// token.
///
/// Two groups matter to a server: [`Error::is_unavailable`] is true for
/// outages (the token is gone, the device fails: answer 503 and retry
/// later); everything else is a configuration or key-custody problem that
/// retrying will not fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a valid PKCS#11 URI (RFC 7512), or uses an attribute
    /// this crate does not accept. The reason never quotes attribute
    /// values.
    #[error("invalid PKCS#11 URI: {reason}")]
    InvalidUri {
        /// What is wrong, and where (byte offset), without attribute values.
        reason: String,
    },

    /// The URI has a `pin-value` attribute. A PIN never belongs in a URI,
    /// a command line or a configuration file that is shared: give
    /// `pin-source=file:/path` (or `env:VARIABLE`) instead.
    #[error(
        "pin-value is refused: a PIN never goes into a URI or onto a command line; \
         use pin-source=file:/absolute/path (or env:VARIABLE)"
    )]
    PinValueRefused,

    /// The PIN could not be read from its `pin-source`.
    #[error("cannot read the PIN from pin-source={pin_source}: {source}")]
    PinSource {
        /// The `pin-source` as written in the URI (a path or a variable
        /// name, never the PIN).
        pin_source: String,
        /// Why it could not be read.
        #[source]
        source: io::Error,
    },

    /// The PKCS#11 module is not configured, cannot be found, or cannot be
    /// loaded and initialised.
    #[error("cannot load PKCS#11 module {}: {source}", path.display())]
    Module {
        /// The module's path (as given, or as resolved from
        /// `module-path` and `module-name`).
        path: PathBuf,
        /// The loader's or the module's error.
        #[source]
        source: BackendError,
    },

    /// The URI names no module: `module-path` is required.
    #[error(
        "the PKCS#11 URI names no module: add ?module-path=/absolute/path/to/module.so \
         (or a directory with module-name=NAME)"
    )]
    NoModule,

    /// The loaded module does not match the URI's `library-manufacturer`,
    /// `library-description` or `library-version`.
    #[error("PKCS#11 module {} does not match the URI's {attribute}", path.display())]
    ModuleMismatch {
        /// The module's path.
        path: PathBuf,
        /// The attribute that does not match.
        attribute: &'static str,
    },

    /// No initialised token matches the URI's token and slot attributes, or
    /// the token was removed while in use.
    #[error("token not present: no initialised token matches {token}")]
    TokenNotPresent {
        /// The token's attributes from the URI, e.g. `token=tresor`.
        token: String,
    },

    /// Several tokens match the URI's token and slot attributes.
    #[error("several tokens match {token}: add serial= or slot-id= to the URI")]
    AmbiguousToken {
        /// The token's attributes from the URI.
        token: String,
    },

    /// The token needs a PIN and the URI has no `pin-source`.
    #[error("token {token} needs a PIN: add pin-source=file:/absolute/path to the URI")]
    PinRequired {
        /// The token's attributes from the URI.
        token: String,
    },

    /// The token refused the PIN. A [`Token`](crate::Token) tries a PIN
    /// once: every failed login counts toward the token's lockout, so after
    /// this error it never logs in with that PIN again; open a new `Token`
    /// with the right PIN.
    #[error(
        "PIN incorrect for {token} (not retried: every failed login counts toward the token's lockout)"
    )]
    PinIncorrect {
        /// The token's attributes from the URI.
        token: String,
    },

    /// The token's user PIN is locked (too many failed logins); the token's
    /// security officer must unlock it.
    #[error("the user PIN of {token} is locked: the security officer must reset it")]
    PinLocked {
        /// The token's attributes from the URI.
        token: String,
    },

    /// No key matches the label and id.
    #[error("key not found: {object} on {token}")]
    KeyNotFound {
        /// The key's attributes, e.g. `object=kek-2026`.
        object: String,
        /// The token's attributes from the URI.
        token: String,
    },

    /// Several keys match the label and id.
    #[error("several keys match {object} on {token}: add id= to tell them apart")]
    AmbiguousKey {
        /// The key's attributes.
        object: String,
        /// The token's attributes from the URI.
        token: String,
    },

    /// A key with this label or id already exists (key generation never
    /// creates a second key under a name in use).
    #[error("a key matching {object} already exists on {token}")]
    KeyExists {
        /// The key's attributes.
        object: String,
        /// The token's attributes from the URI.
        token: String,
    },

    /// The object is not a key of the type the operation needs.
    #[error("wrong key type for {object}: expected {expected}, found {found}")]
    WrongKeyType {
        /// The key's attributes.
        object: String,
        /// What the operation needs, e.g. "an AES-256 secret key that may encrypt and decrypt".
        expected: &'static str,
        /// What the token holds under that name.
        found: String,
    },

    /// The key can leave the token (`CKA_EXTRACTABLE` is true or
    /// `CKA_SENSITIVE` is false) and the caller did not allow that.
    #[error(
        "key {object} is extractable (CKA_EXTRACTABLE true or CKA_SENSITIVE false): \
         generate a non-extractable key, or allow_extractable(true) to accept it"
    )]
    KeyExtractable {
        /// The key's attributes.
        object: String,
    },

    /// The token does not offer a mechanism the operation needs (it is
    /// not in the token's `C_GetMechanismList`, or the token refused it
    /// with `CKR_MECHANISM_INVALID`), e.g. `CKM_EDDSA` on a token without
    /// Ed25519.
    #[error("mechanism not supported by token {token}: {mechanism}")]
    MechanismNotSupported {
        /// The mechanism, e.g. `CKM_EDDSA`.
        mechanism: &'static str,
        /// The token's attributes from the URI.
        token: String,
    },

    /// A key label, id or key id is unusable.
    #[error("invalid key name: {reason}")]
    InvalidKeyName {
        /// What is wrong.
        reason: String,
    },

    /// Every session the token may have open
    /// ([`TokenOptions::max_sessions`](crate::TokenOptions::max_sessions))
    /// stayed in use for the whole
    /// [`session_wait`](crate::TokenOptions::session_wait): the service is
    /// calling the token faster than it answers. An outage: retry later,
    /// or raise the cap if the token allows more sessions.
    #[error(
        "no free session on {token}: all {max} sessions stayed in use for {waited:?} \
         (TokenOptions::max_sessions, session_wait)"
    )]
    SessionsExhausted {
        /// The token's attributes from the URI.
        token: String,
        /// The cap on open sessions.
        max: usize,
        /// How long the caller waited.
        waited: std::time::Duration,
    },

    /// The token or module failed: a device error, a removed device, a
    /// closed session, or any other PKCS#11 error. Sessions that fail like
    /// this are dropped; the next call opens a new one.
    #[error("PKCS#11 {operation} failed on {token}: {source}")]
    Backend {
        /// The PKCS#11 operation (e.g. `C_Encrypt`).
        operation: &'static str,
        /// The token's attributes from the URI.
        token: String,
        /// The module's error (a PKCS#11 return value; never a PIN or key
        /// bytes).
        #[source]
        source: BackendError,
    },
}

impl Error {
    /// True for outages: the token is not present (or was removed), the
    /// module or device failed, or no session came free in time. A server answers these 503 and retries
    /// later; they are never an authentication failure.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::TokenNotPresent { .. } | Error::Backend { .. } | Error::SessionsExhausted { .. }
        )
    }

    pub(crate) fn uri(reason: impl Into<String>) -> Self {
        Error::InvalidUri {
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A PKCS#11 call's failure, shown by its return value's name
/// (`CKR_DEVICE_REMOVED`): the source of [`Error::Backend`] and of module
/// errors.
#[derive(Debug)]
pub(crate) struct Pkcs11Failure(pub(crate) cryptoki::error::Error);

impl std::fmt::Display for Pkcs11Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use cryptoki::error::{Error as CkError, RvError};
        match &self.0 {
            CkError::Pkcs11(RvError::VendorDefined(rv), _) => {
                write!(f, "vendor-defined return value {rv:#x}")
            }
            CkError::Pkcs11(RvError::UnknownErrorCode(rv), _) => {
                write!(f, "unknown return value {rv:#x}")
            }
            // `GeneralError` is `CKR_GENERAL_ERROR`: the variant names
            // are the return values' names in camel case.
            CkError::Pkcs11(rv, _) => {
                f.write_str("CKR")?;
                for c in format!("{rv:?}").chars() {
                    if c.is_ascii_uppercase() {
                        f.write_str("_")?;
                    }
                    write!(f, "{}", c.to_ascii_uppercase())?;
                }
                Ok(())
            }
            other => std::fmt::Display::fmt(other, f),
        }
    }
}

impl std::error::Error for Pkcs11Failure {}

#[cfg(test)]
mod tests {
    use cryptoki::context::Function;
    use cryptoki::error::{Error as CkError, RvError};

    use super::*;

    #[test]
    fn return_values_show_by_name() {
        for (rv, name) in [
            (RvError::GeneralError, "CKR_GENERAL_ERROR"),
            (RvError::SessionHandleInvalid, "CKR_SESSION_HANDLE_INVALID"),
            (RvError::DeviceRemoved, "CKR_DEVICE_REMOVED"),
            (RvError::PinIncorrect, "CKR_PIN_INCORRECT"),
        ] {
            let failure = Pkcs11Failure(CkError::Pkcs11(rv, Function::Encrypt));
            assert_eq!(failure.to_string(), name);
        }
        let vendor = Pkcs11Failure(CkError::Pkcs11(
            RvError::VendorDefined(0x8000_0001),
            Function::Encrypt,
        ));
        assert_eq!(vendor.to_string(), "vendor-defined return value 0x80000001");
    }
}
