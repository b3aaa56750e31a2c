#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! | feature    | module       | crate             |
//! |------------|--------------|-------------------|
//! | `envelope` | [`envelope`] | `tresor-envelope` |
//! | `httpsig`  | [`httpsig`]  | `tresor-httpsig`  |
//! | `audit`    | [`audit`]    | `tresor-audit`    |
//! | `credentials` | [`credentials`] | `tresor-credentials` |
//! | `tower`    | [`httpsig::tower`](httpsig) | `tresor-httpsig` with its `tower` feature |
//! | `pkcs11`   | `pkcs11` (not a default) | `tresor-pkcs11` (keys in an HSM or KMS) |
//! | `postgres` | `postgres` (not a default) | `tresor-postgres` (state shared by several servers) |
//! | `redis`    | `redis` (not a default) | `tresor-redis` (replay protection and rate limits shared by several servers) |
#![forbid(unsafe_code)]

#[cfg(feature = "envelope")]
#[doc(inline)]
pub use tresor_envelope as envelope;

#[cfg(feature = "httpsig")]
#[doc(inline)]
pub use tresor_httpsig as httpsig;

#[cfg(feature = "audit")]
#[doc(inline)]
pub use tresor_audit as audit;

#[cfg(feature = "credentials")]
#[doc(inline)]
pub use tresor_credentials as credentials;

#[cfg(feature = "pkcs11")]
#[doc(inline)]
pub use tresor_pkcs11 as pkcs11;

#[cfg(feature = "postgres")]
#[doc(inline)]
pub use tresor_postgres as postgres;

#[cfg(feature = "redis")]
#[doc(inline)]
pub use tresor_redis as redis;
