//! Keys that never leave a PKCS#11 token.
#![forbid(unsafe_code)]

mod error;
#[cfg(feature = "envelope")]
mod kek;
#[cfg(feature = "envelope")]
mod key;
mod module;
mod pin;
mod pool;
mod token;
mod uri;

pub use error::{BackendError, Error, Result};
#[cfg(feature = "envelope")]
pub use kek::{PKCS11_WRAPPED_LEN, Pkcs11Kek, Pkcs11KekBuilder};
#[cfg(feature = "envelope")]
pub use key::KeyCustody;
pub use pin::PinSource;
pub use pool::SessionStats;
pub use token::{Token, TokenOptions};
pub use uri::{LibraryVersion, MAX_URI_LEN, ObjectType, Pkcs11Uri};
