//! HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530).
//!
//! (Crate documentation with runnable examples: to be written.)
#![forbid(unsafe_code)]

mod alg;
mod error;
mod key;

pub use alg::Algorithm;
pub use error::{Error, Result};
pub use key::{KeyResolver, SigningKey, VerifyingKey};
