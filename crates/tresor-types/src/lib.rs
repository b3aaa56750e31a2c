//! Types shared by the tresor crates, so each is written, reviewed and
//! tested once (the role `rustls-pki-types` plays for rustls).
//!
//! # Guarantees
//!
//! - **A broken clock is an error, never a time.** [`Clock::now`] returns
//!   [`Error::BeforeEpoch`] when the wall clock reads a time before
//!   1970-01-01; it never reports the epoch (0) or panics instead. The
//!   tresor crates fail closed on it: a signature does not verify, a client
//!   does not authenticate.
//! - **One strict JWK parser.** [`jwk::PublicJwk::parse`] refuses every
//!   private member ([`jwk::PRIVATE_MEMBERS`]), duplicate member names,
//!   symmetric keys, a `use` other than `sig`, non-canonical base64url and
//!   coordinates of the wrong length; [`jwk::PrivateJwk`] wipes the private
//!   members on drop.
//! - **RFC 7638 thumbprints**, SHA-256 over the canonical required
//!   members, checked against the RFC's own example.
//! - **One backend-failure source.** [`BackendError`] carries the cause of
//!   an outage (a database, a KMS, a nonce store) in the other crates'
//!   errors: `Clone`, displayed as its cause, equal only to itself.
//!
//! # Example
//!
//! ```
//! use tresor_types::jwk::{PublicJwk, PRIVATE_MEMBERS};
//! use tresor_types::{Clock, Error, FixedClock, UnixTime};
//!
//! # fn main() -> Result<(), tresor_types::Error> {
//! // RFC 8037 appendix A.2 and A.3: an Ed25519 public key and its thumbprint.
//! let jwk = PublicJwk::parse(
//!     r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
//! )?;
//! assert_eq!(jwk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
//!
//! // The private key (appendix A.1) is refused where a public key is expected.
//! let private = r#"{"kty":"OKP","crv":"Ed25519",
//!     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
//! assert!(PublicJwk::parse(private).is_err());
//! assert!(PRIVATE_MEMBERS.contains(&"d"));
//!
//! // A pinned clock for tests; before the epoch it is an error.
//! let clock = FixedClock::new(1_700_000_000);
//! clock.advance(60);
//! assert_eq!(clock.now()?, UnixTime::from_secs(1_700_000_060));
//! clock.set(-1);
//! assert_eq!(clock.now(), Err(Error::BeforeEpoch));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod backend;
mod clock;
mod error;
pub mod jwk;
mod time;

pub use backend::BackendError;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, Result};
pub use time::UnixTime;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
