//! Helpers shared by the integration tests: fixed and generated keys, a
//! manual clock, a key-encryption key that counts its calls, and byte-level
//! surgery on sealed messages.
//!
//! Every test file includes this module and uses a part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tresor_envelope::{
    Context, DataKey, Envelope, Header, KeyEncryptionKey, Keyring, LocalKek, MonotonicClock, Result,
};
use zeroize::Zeroizing;

/// A freshly generated in-process key.
pub(crate) fn kek(id: &str) -> LocalKek {
    LocalKek::generate(id).unwrap()
}

/// A key with known bytes, derived from `fill`: two calls with the same
/// arguments give the same key (a second handle to one key).
pub(crate) fn fixed_kek(id: &str, fill: u8) -> LocalKek {
    LocalKek::from_bytes(id, Zeroizing::new(fixed_key_bytes(fill))).unwrap()
}

/// The key bytes [`fixed_kek`] uses for `fill`: `fill + 7 * i` at index `i`.
pub(crate) fn fixed_key_bytes(fill: u8) -> [u8; 32] {
    let mut key = [fill; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = b.wrapping_add(u8::try_from(i).unwrap().wrapping_mul(7));
    }
    key
}

/// A context from pairs.
pub(crate) fn ctx(pairs: &[(&str, &str)]) -> Context {
    Context::from_pairs(pairs.iter().copied()).unwrap()
}

/// An envelope whose keyring holds exactly `keks`, the first one primary.
pub(crate) fn envelope_with(keks: Vec<LocalKek>) -> Envelope {
    let mut keyring = Keyring::new();
    for k in keks {
        keyring.add(k).unwrap();
    }
    Envelope::new(keyring)
}

/// The parsed header of a sealed message.
pub(crate) fn header(message: &[u8]) -> Header {
    Header::parse(message).unwrap().0
}

/// The bytes after the header and key section (the frames).
pub(crate) fn frames(message: &[u8]) -> &[u8] {
    let (_, len) = Header::parse(message).unwrap();
    &message[len..]
}

/// Where the key section (`kek_id_len || kek_id || wrapped_len || wrapped`)
/// lies in a sealed message.
pub(crate) fn key_section_range(message: &[u8]) -> Range<usize> {
    let (header, len) = Header::parse(message).unwrap();
    let section = 1 + header.kek_id().len() + 2 + header.wrapped_dek().len();
    len - section..len
}

/// Where the wrapped data key lies in a sealed message.
pub(crate) fn wrapped_dek_range(message: &[u8]) -> Range<usize> {
    let (header, len) = Header::parse(message).unwrap();
    len - header.wrapped_dek().len()..len
}

/// `message` with its key section replaced by raw bytes (any id, even an
/// invalid one).
pub(crate) fn with_key_section(message: &[u8], kek_id: &[u8], wrapped: &[u8]) -> Vec<u8> {
    let range = key_section_range(message);
    let mut out = message[..range.start].to_vec();
    out.push(u8::try_from(kek_id.len()).unwrap());
    out.extend_from_slice(kek_id);
    out.extend_from_slice(&u16::try_from(wrapped.len()).unwrap().to_be_bytes());
    out.extend_from_slice(wrapped);
    out.extend_from_slice(&message[range.end..]);
    out
}

/// `message` with one bit flipped at `index`.
pub(crate) fn flip(message: &[u8], index: usize) -> Vec<u8> {
    let mut out = message.to_vec();
    out[index] ^= 0x01;
    out
}

/// Opens a message through the streaming API.
pub(crate) fn open_stream(
    envelope: &Envelope,
    message: &[u8],
    context: &Context,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    envelope.open(message, &mut out, context)?;
    Ok(out)
}

/// Rewraps a message through the streaming API.
pub(crate) fn rewrap_stream(
    envelope: &Envelope,
    message: &[u8],
    to: Option<&str>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let written = envelope.rewrap(message, &mut out, to)?;
    assert_eq!(
        written,
        out.len() as u64,
        "rewrap returns the bytes written"
    );
    Ok(out)
}

/// Hex and standard Base64 (with and without padding) of `bytes`: what a
/// leak of key material would look like in text.
pub(crate) fn encodings(bytes: &[u8]) -> Vec<String> {
    use base64ct::{Base64, Base64Unpadded, Base64Url, Encoding};
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        Base64::encode_string(bytes),
        Base64Unpadded::encode_string(bytes),
        Base64Url::encode_string(bytes),
        format!("{bytes:?}"),
        format!("{bytes:x?}"),
    ]
}

/// Asserts that `text` shows none of the encodings of `secret`.
pub(crate) fn assert_no_secret(text: &str, secret: &[u8]) {
    for encoded in encodings(secret) {
        assert!(
            !text.contains(&encoded),
            "{text:?} contains key material ({encoded})"
        );
    }
}

// ---- clock -----------------------------------------------------------------

/// A clock that stands still until the test moves it.
#[derive(Debug)]
pub(crate) struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ManualClock {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        })
    }

    /// Moves the clock forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap() += by;
    }

    /// Sets the clock to `offset` after its start.
    pub(crate) fn set(&self, offset: Duration) {
        *self.offset.lock().unwrap() = offset;
    }
}

impl MonotonicClock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap()
    }
}

// ---- counting key-encryption key -------------------------------------------

/// A [`LocalKek`] that counts its wrap and unwrap calls (each one a KMS round
/// trip in production). Share it as `Arc<CountingKek>`: the keyring holds one
/// handle, the test reads the counters through another.
#[derive(Debug)]
pub(crate) struct CountingKek {
    inner: LocalKek,
    wraps: AtomicUsize,
    unwraps: AtomicUsize,
}

impl CountingKek {
    pub(crate) fn new(id: &str) -> Arc<Self> {
        Arc::new(CountingKek {
            inner: kek(id),
            wraps: AtomicUsize::new(0),
            unwraps: AtomicUsize::new(0),
        })
    }

    /// Wrap calls so far.
    pub(crate) fn wraps(&self) -> usize {
        self.wraps.load(Ordering::SeqCst)
    }

    /// Unwrap calls so far (successful or not).
    pub(crate) fn unwraps(&self) -> usize {
        self.unwraps.load(Ordering::SeqCst)
    }
}

impl KeyEncryptionKey for CountingKek {
    fn key_id(&self) -> &str {
        self.inner.key_id()
    }

    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        self.wraps.fetch_add(1, Ordering::SeqCst);
        self.inner.wrap(dek, aad)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        self.inner.unwrap(wrapped, aad)
    }
}
