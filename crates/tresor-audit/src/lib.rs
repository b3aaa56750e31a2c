//! A tamper-evident audit log with Merkle proofs and signed checkpoints.
//!
//! (Crate documentation with runnable examples: to be written.)
#![forbid(unsafe_code)]

mod error;
mod store;

pub use error::{Error, Result};
pub use store::{Hash, LogStore, Node};
