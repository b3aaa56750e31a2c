//! Shared fixtures of tresor's fuzz targets and of the seed generator.
//!
//! Every target opens with the same fixed keyring, so that the seeds in
//! `corpus/` (sealed by `src/bin/make_seeds.rs` under the same key) reach the
//! key unwrap, the key commitment and the frames instead of stopping at
//! "unknown key-encryption key". The `httpsig_*` targets' fixtures (fixed
//! RFC 9421 test keys, a raw HTTP/1.1 parser) are in [`httpsig`], the
//! `audit_*` targets' (input layouts, fixed Merkle trees and note keys) in
//! [`audit`], the `cred_*` targets' (a fixed registry and token issuer,
//! independent form, secret-format and JWS checks) in [`credentials`].

pub mod audit;
pub mod credentials;
pub mod httpsig;

use std::io::{self, Read};
use std::sync::OnceLock;

use tresor_envelope::{Context, Envelope, Keyring, LocalKek};
use zeroize::Zeroizing;

/// Id of the fixed key-encryption key.
pub const KEK_ID: &str = "fuzz-kek";

/// The fixed key-encryption key's bytes. Not a secret: it only seals seeds.
pub const KEK_BYTES: [u8; 32] = [0x42; 32];

/// The envelope every target opens with: one [`LocalKek`] made from
/// [`KEK_BYTES`], no caches (so a run never depends on earlier inputs).
pub fn envelope() -> &'static Envelope {
    static ENVELOPE: OnceLock<Envelope> = OnceLock::new();
    ENVELOPE.get_or_init(|| {
        let kek = LocalKek::from_bytes(KEK_ID, Zeroizing::new(KEK_BYTES))
            .expect("the fixed key id is valid");
        Envelope::new(Keyring::with_primary(kek).expect("a fresh keyring takes its first key"))
    })
}

/// The non-empty fixed context: `purpose=fuzz`, `tenant=acme`.
pub fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        Context::from_pairs([("tenant", "acme"), ("purpose", "fuzz")])
            .expect("the fixed context is valid")
    })
}

/// The contexts the targets open with: the empty one and [`context`]. Seeds
/// are sealed under one of the two (or, to test the mismatch, a third).
pub fn contexts() -> [&'static Context; 2] {
    static EMPTY: OnceLock<Context> = OnceLock::new();
    [EMPTY.get_or_init(Context::new), context()]
}

/// Most read-schedule bytes at the start of an `open_stream` input.
pub const MAX_SCHEDULE_LEN: usize = 15;

/// Splits an `open_stream` input into its read schedule and the envelope.
///
/// The first byte's low four bits give the schedule's length `n`; the next
/// `n` bytes are the schedule (see [`ChunkedReader`]); the rest is the
/// envelope. The first byte's high bits are ignored. Returns `None` for an
/// input too short to hold its schedule.
pub fn split_schedule(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = data.split_first()?;
    rest.split_at_checked(usize::from(first & 0x0f))
}

/// Encodes a schedule in front of `envelope` (the inverse of
/// [`split_schedule`]).
pub fn with_schedule(schedule: &[u8], envelope: &[u8]) -> Vec<u8> {
    assert!(
        schedule.len() <= MAX_SCHEDULE_LEN,
        "schedules are at most {MAX_SCHEDULE_LEN} bytes"
    );
    let mut out = Vec::with_capacity(1 + schedule.len() + envelope.len());
    out.push(u8::try_from(schedule.len()).expect("checked above"));
    out.extend_from_slice(schedule);
    out.extend_from_slice(envelope);
    out
}

/// A reader over a byte slice that returns short reads and `Interrupted`
/// errors as its schedule says, cycling through it:
///
/// - `0`: fail this call with [`io::ErrorKind::Interrupted`] (never twice in
///   a row, so every reader makes progress);
/// - `1..=127`: return at most that many bytes;
/// - `128..=255`: return at most `(b - 127) * 256` bytes.
///
/// An empty schedule returns as much as the caller asks for.
#[derive(Debug)]
pub struct ChunkedReader<'a> {
    data: &'a [u8],
    schedule: &'a [u8],
    step: usize,
    interrupted: bool,
}

impl<'a> ChunkedReader<'a> {
    /// A reader of `data` following `schedule`.
    pub fn new(data: &'a [u8], schedule: &'a [u8]) -> Self {
        ChunkedReader {
            data,
            schedule,
            step: 0,
            interrupted: false,
        }
    }

    /// The next read's limit, or `None` for an `Interrupted` error.
    fn next_limit(&mut self) -> Option<usize> {
        let Some(&b) = self.schedule.get(self.step % self.schedule.len().max(1)) else {
            return Some(usize::MAX);
        };
        self.step = self.step.wrapping_add(1);
        match b {
            0 if self.interrupted => {
                self.interrupted = false;
                Some(1)
            }
            0 => {
                self.interrupted = true;
                None
            }
            1..=127 => {
                self.interrupted = false;
                Some(usize::from(b))
            }
            _ => {
                self.interrupted = false;
                Some((usize::from(b) - 127) * 256)
            }
        }
    }
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(limit) = self.next_limit() else {
            return Err(io::ErrorKind::Interrupted.into());
        };
        let n = limit.min(buf.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf.get_mut(..n)
            .expect("n is at most buf.len()")
            .copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn schedule_round_trips() {
        let input = with_schedule(&[1, 0, 200], b"TRSE");
        assert_eq!(
            split_schedule(&input),
            Some((&[1u8, 0, 200][..], &b"TRSE"[..]))
        );
        assert_eq!(split_schedule(&[]), None);
        assert_eq!(split_schedule(&[3, 1]), None);
    }

    #[test]
    fn chunked_reader_reads_everything() {
        let data: Vec<u8> = (0..=255).collect();
        for schedule in [&[][..], &[0], &[0, 0, 3], &[1], &[200, 0, 7]] {
            let mut reader = ChunkedReader::new(&data, schedule);
            let mut out = Vec::new();
            let mut buf = [0u8; 100];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(err) => assert_eq!(err.kind(), io::ErrorKind::Interrupted),
                }
            }
            assert_eq!(out, data, "schedule {schedule:?}");
        }
    }
}
