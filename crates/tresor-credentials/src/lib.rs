//! A client registry in which nothing stored can authenticate as a client.
//!
//! An authorization server registers its API clients here. Where a client
//! cannot sign (and so needs an OAuth 2.0 `client_credentials` shared
//! secret, RFC 6749 section 4.4), the [`Registry`] generates the secret,
//! shows it once, and keeps only a peppered MAC of it; it authenticates a
//! presented secret with the same work and the same answer whatever is
//! wrong with it, and rate-limits failed attempts before doing any work.
//!
//! # Guarantees
//!
//! - **Nothing stored is a secret.** A stolen database (or backup, or log)
//!   neither authenticates as any client nor lets anyone test guesses
//!   offline: see [below](#what-is-stored-and-why-none-of-it-is-a-secret).
//! - **Secrets are strong and recognisable.** 256 bits from the system
//!   CSPRNG, never chosen by a person, in a prefixed, checksummed format
//!   ([`secret`] module docs) that secret scanners can validate offline
//!   with [`validate_secret_format`].
//! - **Secrets stay in memory.** [`ClientSecret`] and the presented
//!   [`SecretString`](secrecy::SecretString) have no `Serialize`, no
//!   `Display`, no `Clone`, a `Debug` that hides them, and are wiped on
//!   drop.
//! - **One answer, the same work.** Every failed authentication is
//!   [`AuthError::InvalidClient`]: unknown client, wrong, expired, revoked
//!   or malformed secret, suspended client, rate limit. Outside the rate
//!   limit, each attempt makes exactly [`MAX_ACTIVE_SECRETS`] pepper MACs and
//!   constant-time comparisons, against dummy verifiers where needed. The
//!   precise reason goes to the [`AuthAudit`] hook only.
//! - **Rotation without downtime, revocation at once.** At most two active
//!   secrets; a rotation gives the old one a mandatory expiry (at most
//!   [`MAX_ROTATION_GRACE`]); a revoked secret fails from the next attempt.
//!   A pepper rotation re-derives each verifier at its client's next
//!   successful authentication.
//! - **No lost updates.** Every record has a version; the
//!   [`CredentialStore`] writes only over the version that was read.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use secrecy::SecretString;
//! use tresor_credentials::{AuthError, LocalPepper, Registry, SqliteStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(SqliteStore::open_in_memory()?);
//! let pepper = Arc::new(LocalPepper::generate()?); // a KMS/HSM in production
//! let registry = Registry::new(store, pepper)?;
//!
//! // Registration: the secret is shown this once.
//! let (client_id, secret) = registry.register("Payments batch", &["payments:write"])?;
//! assert!(secret.expose_secret().starts_with("tresor_cs_"));
//!
//! // The token endpoint authenticates the client.
//! let presented = SecretString::from(secret.expose_secret());
//! let client = registry.authenticate(client_id.as_str(), &presented, None)?;
//! assert_eq!(client.scopes(), ["payments:write"]);
//!
//! // Rotation: the old secret stays valid for a day, the new one works now.
//! let (_new_id, new_secret) = registry.rotate_secret(&client_id, Duration::from_secs(86_400))?;
//! let new = SecretString::from(new_secret.expose_secret());
//! assert!(registry.authenticate(client_id.as_str(), &new, None).is_ok());
//! assert!(registry.authenticate(client_id.as_str(), &presented, None).is_ok());
//!
//! // Every failure looks the same to the caller.
//! let wrong = SecretString::from("tresor_cs_guess");
//! assert_eq!(
//!     registry.authenticate(client_id.as_str(), &wrong, None).unwrap_err(),
//!     AuthError::InvalidClient,
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # What is stored, and why none of it is a secret
//!
//! A [`ClientRecord`] holds:
//!
//! | field | what it is | why it cannot authenticate |
//! | --- | --- | --- |
//! | `id`, `name`, `scopes`, `status`, `created`, `updated` | public metadata | a client id is sent in the clear with every request |
//! | `secrets[].mac` | `HMAC-SHA-256(pepper, len‖context‖len‖client_id‖len‖secret)` ([`verifier_input`]) | a MAC is one-way; the pepper key is not in the store (KMS, HSM, key file), so the MAC cannot even be used to test guesses offline |
//! | `secrets[].id`, `pepper_version`, `created`, `expires`, `revoked` | bookkeeping | they name, version and date a secret, they are not it |
//! | `public_keys[]` | public JWKs with their thumbprint, algorithm, state and validity | public keys verify, they cannot sign |
//!
//! And why the MAC is enough: the secret is 256 uniformly random bits, so
//! there is nothing to brute-force even with the pepper (a slow password
//! hash would buy nothing); the pepper only adds that a database leak alone
//! gives no oracle at all. The MAC binds the client id (a verifier copied
//! to another client fails) and a versioned context string (no confusion
//! with other MACs under the same pepper), each part length-prefixed so no
//! two inputs collide.
//!
//! Nothing else is stored: the registry never writes the secret, its body
//! or any part of it, and the audit events it emits carry the client id
//! (only if well formed, so a secret pasted into the id field is not
//! logged), the source address, the outcome and the secret's id.
//!
//! # Modules
//!
//! - [`secret`]: the secret format, generation and offline validation.
//! - [`pepper`]: the [`Pepper`] trait and the [`LocalPepper`] key file.
//! - [`store`]: [`CredentialStore`], [`MemoryStore`], [`SqliteStore`]
//!   (schema and migrations).
//! - [`ratelimit`]: the failure rate limits.
#![forbid(unsafe_code)]

mod audit;
mod base62;
mod client;
mod clock;
mod error;
pub mod pepper;
pub mod ratelimit;
mod registry;
pub mod secret;
pub mod store;
mod verifier;

pub use audit::{AuditFn, AuthAudit, AuthEvent, AuthOutcome, FailureReason, NoAudit};
pub use client::{
    CLIENT_ID_LEN, ClientId, ClientRecord, ClientStatus, KeyState, MAX_NAME_LEN, MAX_SCOPE_LEN,
    MAX_SCOPES, Mac, RegisteredKey, SECRET_ID_LEN, SecretId, SecretVerifier,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{AuthError, Error, Result};
pub use pepper::{LocalPepper, Pepper};
pub use ratelimit::{Quota, RateLimits};
pub use registry::{
    AuthenticatedClient, MAX_ACTIVE_SECRETS, MAX_ROTATION_GRACE, Registry, RegistryBuilder,
};
pub use secret::{
    ClientSecret, DEFAULT_SECRET_PREFIX, SecretPrefix, validate_secret_format,
    validate_secret_with_prefix,
};
pub use store::{CredentialStore, MemoryStore, SqliteStore, StoredClient};
pub use verifier::{VERIFIER_CONTEXT, verifier_input};

/// Re-exported so callers name the same `SecretString` as the crate.
pub use secrecy;
