//! HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530).
//!
//! (Crate documentation with runnable examples: to be written.)
#![forbid(unsafe_code)]

mod alg;
pub mod digest;
mod error;
mod jwk;
mod key;
mod keys;

// RFC 9421 core (components, message view, base, fields, sign/verify).
mod base;
mod clock;
mod component;
mod fields;
mod message;
mod nonce;
mod params;
mod policy;
mod sign;
mod verify;

// Optional tower middleware.
#[cfg(feature = "tower")]
pub mod tower;

pub use alg::Algorithm;
pub use digest::{
    ContentDigestHasher, ContentDigestVerifier, DigestAlgorithm, content_digest,
    verify_content_digest,
};
pub use error::{Error, Result};
pub use key::{KeyMap, KeyResolver, SigningKey, VerifyingKey};
pub use keys::{HMAC_MIN_SECRET_LEN, HmacKey, PrivateKey, PublicKey};

pub use base::{SignatureBase, signature_base, signature_base_for_label};
pub use component::{ComponentId, ComponentParam, DerivedComponent};
pub use fields::{
    Limits, MessageSignature, SIGNATURE, SIGNATURE_INPUT, Selector, SignatureInput,
    parse_signature_inputs, parse_signatures, select_signature,
};
pub use message::{KNOWN_STRUCTURED_FIELDS, Message, StructuredType};
pub use params::{SignatureParams, serialize_signature_params};

pub use clock::{Clock, FixedClock, SystemClock};
pub use nonce::{MemoryNonceStore, NonceStore};
pub use policy::{DEFAULT_CLOCK_SKEW, DEFAULT_MAX_AGE, Policy, default_components};
pub use sign::Signer;
pub use verify::{Verified, Verifier};
