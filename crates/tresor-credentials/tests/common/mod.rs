//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use tresor_credentials::{
    AuthAudit, AuthEvent, CredentialStore, FailureQuota, FixedClock, LocalPepper, MemoryStore,
    Pepper, RateLimits, Registry, audit::AuthOutcome, audit::FailureReason,
};

/// The time the tests start at.
pub const T0: i64 = 1_750_000_000;

/// A pepper that counts its MAC invocations.
pub struct CountingPepper<P> {
    pub inner: P,
    pub calls: AtomicUsize,
}

impl<P: Pepper> CountingPepper<P> {
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
        }
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<P: Pepper> Pepper for CountingPepper<P> {
    fn current_version(&self) -> u32 {
        self.inner.current_version()
    }
    fn mac(&self, version: u32, data: &[u8]) -> tresor_credentials::Result<[u8; 32]> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.mac(version, data)
    }
}

/// An audit hook that keeps every event as a log line and its outcome.
#[derive(Default)]
pub struct Capture {
    pub lines: Mutex<Vec<String>>,
    pub outcomes: Mutex<Vec<(AuthOutcome, bool)>>,
}

impl Capture {
    pub fn last(&self) -> AuthOutcome {
        self.outcomes.lock().unwrap().last().unwrap().0
    }
    pub fn last_reason(&self) -> Option<FailureReason> {
        match self.last() {
            AuthOutcome::Success => None,
            AuthOutcome::Failure(r) => Some(r),
        }
    }
    pub fn last_rederived(&self) -> bool {
        self.outcomes.lock().unwrap().last().unwrap().1
    }
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl AuthAudit for Capture {
    fn record(&self, event: &AuthEvent<'_>) {
        self.lines.lock().unwrap().push(format!("{event:?}"));
        self.outcomes
            .lock()
            .unwrap()
            .push((event.outcome, event.rederived));
    }
}

/// Limits that never trigger in tests that are not about them.
pub fn generous_limits() -> RateLimits {
    RateLimits::default()
        .with_per_client(FailureQuota::per_hour(NonZeroU32::new(10_000).unwrap()))
        .with_per_source(FailureQuota::per_hour(NonZeroU32::new(10_000).unwrap()))
        .with_max_tracked(10_000)
}

pub struct Fixture {
    pub registry: Registry,
    pub clock: Arc<FixedClock>,
    pub audit: Arc<Capture>,
    pub pepper: Arc<CountingPepper<LocalPepper>>,
    pub store: Arc<dyn CredentialStore>,
}

pub fn fixture_with(store: Arc<dyn CredentialStore>, limits: RateLimits) -> Fixture {
    let clock = Arc::new(FixedClock::new(T0));
    let audit = Arc::new(Capture::default());
    let pepper = Arc::new(CountingPepper::new(LocalPepper::generate().unwrap()));
    let registry = Registry::builder(store.clone(), pepper.clone())
        .clock(clock.clone())
        .audit(audit.clone())
        .rate_limits(limits)
        .build()
        .unwrap();
    Fixture {
        registry,
        clock,
        audit,
        pepper,
        store,
    }
}

pub fn fixture() -> Fixture {
    fixture_with(Arc::new(MemoryStore::new()), generous_limits())
}

pub fn s(text: &str) -> SecretString {
    SecretString::from(text)
}

pub fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Reference base62 of a big-endian number, written independently of the
/// crate (digit by digit through u64 limbs would be overkill: bytes do).
pub fn base62(bytes: &[u8], width: usize) -> String {
    let mut n = bytes.to_vec();
    let mut out = Vec::new();
    while n.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in &mut n {
            let cur = rem * 256 + u32::from(*b);
            *b = (cur / 62) as u8;
            rem = cur % 62;
        }
        out.push(ALPHABET[rem as usize]);
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Decodes a base62 body into 32 bytes.
pub fn unbase62(text: &str) -> Vec<u8> {
    let mut n = vec![0u8; 32];
    for c in text.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        for b in n.iter_mut().rev() {
            let cur = u32::from(*b) * 62 + carry;
            *b = (cur & 0xff) as u8;
            carry = cur >> 8;
        }
        assert_eq!(carry, 0);
    }
    n
}

/// A valid secret built by the test's own reference implementation.
pub fn make_secret(prefix: &str, body: &[u8; 32]) -> String {
    let signed = format!("{prefix}_{}", base62(body, 43));
    let crc = crc32(signed.as_bytes());
    format!("{signed}{}", base62(&crc.to_be_bytes(), 6))
}

/// Bitwise CRC-32 (IEEE, reflected, zlib's), independent of crc32fast.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether a 43-character base62 body fits 256 bits.
pub fn unbase62_checked(text: &str) -> bool {
    let mut n = [0u8; 32];
    for c in text.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        for b in n.iter_mut().rev() {
            let cur = u32::from(*b) * 62 + carry;
            *b = (cur & 0xff) as u8;
            carry = cur >> 8;
        }
        if carry != 0 {
            return false;
        }
    }
    true
}
