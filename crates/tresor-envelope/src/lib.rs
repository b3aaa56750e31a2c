//! Envelope encryption with AES-256 under key-encryption keys held in a KMS
//! or HSM.
//!
//! Data is encrypted under a fresh 256-bit **data key** (DEK); the DEK is
//! wrapped by a **key-encryption key** (KEK) that never leaves its KMS or HSM,
//! and only the wrapped DEK is stored, beside the data. Rotating a KEK never
//! re-encrypts data ([`Envelope::rewrap`] rewrites a few hundred bytes of
//! header), and destroying one makes everything under it unreadable
//! (crypto-shredding, for GDPR erasure even in backups).
//!
//! # Guarantees
//!
//! - **Confidentiality and integrity** of every byte, with AES-256-GCM
//!   (`ring`, the default) or AES-256-GCM-SIV (`aes-gcm-siv`), chosen per
//!   message ([`Suite`]).
//! - **Per-message keys**: each message's key is derived from the DEK and a
//!   random 32-byte message id (NIST SP 800-56C one-step KDF with SHA-256,
//!   `FORMAT.md`), so nonces never repeat and a cached DEK can seal any
//!   number of messages.
//! - **Key commitment**: the header carries a 32-byte commitment to the DEK,
//!   checked in constant time before anything is decrypted, so no ciphertext
//!   opens under two keys (no "invisible salamanders", no partitioning
//!   oracles).
//! - **Context binding**: the [`Context`] (tenant, record id, purpose…) is
//!   authenticated; opening with any other context fails.
//! - **Streams in constant memory** ([`Envelope::seal`], [`Envelope::open`]):
//!   frames use the STREAM construction, so truncation, reordering,
//!   duplication and appending are detected; a record is simply a one-frame
//!   message ([`Envelope::seal_to_vec`]).
//! - **Uninformative failures**: wrong key, wrong context and any tampering
//!   give the same [`Error::Decrypt`]; unknown KEKs, unsupported versions and
//!   malformed headers are reported precisely. No input makes it panic.
//! - **Secrets stay secret**: data keys and KEKs are wiped on drop and never
//!   appear in `Debug` output or errors. (`ring`'s AES-GCM key schedule is not
//!   wiped on drop: `ring` offers no way to; the raw key bytes are.)
//!
//! The byte layout is specified in `FORMAT.md`, beside this crate's manifest.
//!
//! # Example
//!
//! ```
//! use tresor_envelope::{Context, Envelope, Keyring, LocalKek};
//!
//! // In production the KEK is a KMS or HSM key; `LocalKek` is in-process.
//! let keyring = Keyring::with_primary(LocalKek::generate("kek-2026-01")?)?;
//! let envelope = Envelope::new(keyring);
//!
//! let context = Context::from_pairs([("tenant", "acme"), ("field", "iban")])?;
//! let sealed = envelope.seal_to_vec(b"DE89 3704 0044 0532 0130 00", &context)?;
//!
//! assert_eq!(envelope.open_to_vec(&sealed, &context)?, b"DE89 3704 0044 0532 0130 00");
//!
//! // The wrong context is refused like a wrong key or a tampered byte.
//! let other = Context::from_pairs([("tenant", "globex"), ("field", "iban")])?;
//! assert!(matches!(
//!     envelope.open_to_vec(&sealed, &other),
//!     Err(tresor_envelope::Error::Decrypt)
//! ));
//! # Ok::<(), tresor_envelope::Error>(())
//! ```
//!
//! # Streams
//!
//! ```
//! use tresor_envelope::{Context, Envelope, Keyring, LocalKek};
//!
//! let envelope = Envelope::new(Keyring::with_primary(LocalKek::generate("backup-kek")?)?);
//! let context = Context::from_pairs([("backup", "2026-11-24")])?;
//!
//! let dump = vec![7u8; 200_000]; // any `Read`: a file, a socket, a pipe
//! let mut sealed = Vec::new();
//! envelope.seal(&dump[..], &mut sealed, &context)?;
//!
//! let mut restored = Vec::new();
//! envelope.open(&sealed[..], &mut restored, &context)?;
//! assert_eq!(restored, dump);
//! # Ok::<(), tresor_envelope::Error>(())
//! ```
//!
//! # Rotation, rewrap and crypto-shredding
//!
//! ```
//! use tresor_envelope::{Context, Envelope, Error, Keyring, LocalKek, SealOptions};
//!
//! let envelope = Envelope::new(Keyring::with_primary(LocalKek::generate("kek-2025")?)?);
//! let ctx = Context::new();
//! let old = envelope.seal_to_vec(b"sealed in 2025", &ctx)?;
//!
//! // Rotate: new data goes under kek-2026, old data still opens.
//! envelope.update_keyring(|k| {
//!     k.add(LocalKek::generate("kek-2026")?)?;
//!     k.set_primary("kek-2026")?;
//!     k.retire("kek-2025")
//! })?;
//! assert_eq!(envelope.open_to_vec(&old, &ctx)?, b"sealed in 2025");
//!
//! // Move the old record to the new key (only its header changes).
//! let moved = envelope.rewrap_to_vec(&old, None)?;
//!
//! // Per-subject keys: destroying a subject's key shreds only its data.
//! envelope.update_keyring(|k| k.add(LocalKek::generate("subject-42")?))?;
//! let personal = envelope.seal_to_vec_with(b"jane@example.com", &ctx, &SealOptions::new().kek("subject-42"))?;
//! envelope.destroy_kek("subject-42")?;
//! assert!(matches!(envelope.open_to_vec(&personal, &ctx), Err(Error::KekDestroyed { .. })));
//! assert_eq!(envelope.open_to_vec(&moved, &ctx)?, b"sealed in 2025");
//! # Ok::<(), tresor_envelope::Error>(())
//! ```
//!
//! # Caches
//!
//! Each seal normally generates a DEK and calls the KEK (a KMS round trip);
//! each open calls the KEK to unwrap. [`EnvelopeBuilder::seal_cache`] reuses a
//! DEK per (KEK, suite, context) within [`SealCacheLimits`], and
//! [`EnvelopeBuilder::open_cache`] keeps unwrapped DEKs within
//! [`OpenCacheLimits`]. Both are off by default. Cache ages are measured
//! with a [`MonotonicClock`], never with wall-clock time.
//!
//! # Randomness
//!
//! Randomness is not configurable. Data keys come straight from the
//! operating system's generator ([`DataKey::generate`]); message ids, which
//! are public but must never repeat, come from a per-thread ChaCha20
//! generator seeded from the operating system, reseeded every 65 536 ids and
//! in a forked child (which would otherwise repeat its parent's ids).
//!
//! # What the crate root exports
//!
//! Everything public is re-exported here, and nothing from other crates:
//!
//! - sealing and opening: [`Envelope`], [`EnvelopeBuilder`], [`SealOptions`],
//!   [`Suite`], [`Context`], [`SealWriter`], [`OpenReader`];
//! - keys: [`Keyring`], [`KekState`], [`KeyEncryptionKey`] (implement it for
//!   a KMS or HSM), [`LocalKek`], [`DataKey`], [`validate_key_id`];
//! - caches: [`SealCacheLimits`], [`OpenCacheLimits`], [`MonotonicClock`],
//!   [`SystemMonotonicClock`];
//! - the format: [`Header`] (read without a key) and the constants of
//!   `FORMAT.md`: [`MAGIC`], [`VERSION`] (written), [`READ_VERSIONS`],
//!   [`VERSION_1`], [`VERSION_2`], [`MESSAGE_ID_LEN`],
//!   [`COMMITMENT_LEN`], [`TAG_LEN`], [`DEK_LEN`], [`LOCAL_WRAPPED_LEN`],
//!   [`MIN_FRAME_SIZE`], [`DEFAULT_FRAME_SIZE`], [`MAX_FRAME_SIZE`],
//!   [`MAX_WRAPPED_DEK_LEN`], [`MAX_CONTEXT_LEN`], [`MAX_CONTEXT_ENTRIES`],
//!   [`MAX_KEY_ID_LEN`];
//! - errors: [`Error`], [`Result`].
#![forbid(unsafe_code)]

mod cache;
mod clock;
mod context;
mod dek;
mod derive;
mod envelope;
mod error;
mod format;
mod kek;
mod keyring;
mod local;
mod rng;
mod stream;
mod suite;
#[cfg(test)]
mod wycheproof_tests;

pub use cache::{OpenCacheLimits, SealCacheLimits};
pub use clock::{MonotonicClock, SystemMonotonicClock};
pub use context::{Context, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_LEN};
pub use dek::{DEK_LEN, DataKey};
pub use envelope::{Envelope, EnvelopeBuilder, SealOptions};
pub use error::{Error, Result};
pub use format::{
    COMMITMENT_LEN, DEFAULT_FRAME_SIZE, Header, MAGIC, MAX_FRAME_SIZE, MAX_WRAPPED_DEK_LEN,
    MESSAGE_ID_LEN, MIN_FRAME_SIZE, READ_VERSIONS, VERSION, VERSION_1, VERSION_2,
};
pub use kek::{KeyEncryptionKey, MAX_KEY_ID_LEN, validate_key_id};
pub use keyring::{KekState, Keyring};
pub use local::{LOCAL_WRAPPED_LEN, LocalKek};
pub use stream::{OpenReader, SealWriter};
pub use suite::{Suite, TAG_LEN};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
