#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! | feature    | module       | crate             |
//! |------------|--------------|-------------------|
//! | `envelope` | [`envelope`] | `tresor-envelope` |
#![forbid(unsafe_code)]

#[cfg(feature = "envelope")]
#[doc(inline)]
pub use tresor_envelope as envelope;
