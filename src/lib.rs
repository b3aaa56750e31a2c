//! tresor: security libraries for regulated financial APIs.
//!
//! This package is a facade: it re-exports the tresor crates, each behind a
//! cargo feature of the same name (all on by default). Depend on a single crate
//! (`tresor-envelope`, …) instead when you need only that one.
//!
//! | feature    | module               | crate             | promise                                   |
//! |------------|----------------------|-------------------|-------------------------------------------|
//! | `envelope` | [`envelope`]         | `tresor-envelope` | data at rest is AES-256 encrypted under KMS/HSM-held keys |
#![forbid(unsafe_code)]

#[cfg(feature = "envelope")]
#[doc(inline)]
pub use tresor_envelope as envelope;
