//! Randomness: data keys straight from the operating system, message ids
//! from a per-thread buffer of operating-system randomness.
//!
//! There is deliberately no way to plug in another source: every random byte
//! this crate uses comes from the operating system's generator (`getrandom`
//! on Linux, through `ring`'s `SystemRandom`).
//!
//! Message ids are public (they are written in clear in every header) but
//! must never repeat under a data key. Drawing 32 bytes per message costs a
//! system call per seal, so message ids are taken from a per-thread buffer
//! filled with [`BUFFER_LEN`] bytes of operating-system randomness at a time:
//! the bytes are exactly what the operating system returned (no generator of
//! our own), each byte is handed out once and wiped as it is taken, and the
//! rest is wiped when the thread exits.
//!
//! A forked child inherits a copy of its parent's buffer. Handing out the
//! same bytes in both processes would repeat message ids, and with a data
//! key cached before the fork, message keys and nonces; so the buffer
//! records the id of the process that filled it and is wiped and refilled
//! when a different process reads it.

use std::cell::RefCell;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroize;

use crate::format::MESSAGE_ID_LEN;
use crate::{Error, Result};

/// Bytes of operating-system randomness drawn per refill: 128 message ids.
const BUFFER_LEN: usize = 4096;

/// Fills `buf` from the operating system's generator, unbuffered.
pub(crate) fn fill_from_os(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new().fill(buf).map_err(|_| Error::Rng)
}

/// A fresh random message id.
pub(crate) fn message_id() -> Result<[u8; MESSAGE_ID_LEN]> {
    BUFFER.with(|buffer| buffer.borrow_mut().take())
}

thread_local! {
    static BUFFER: RefCell<OsBuffer> = const { RefCell::new(OsBuffer::empty()) };
}

/// Operating-system randomness not yet handed out: `bytes[pos..]`.
struct OsBuffer {
    bytes: [u8; BUFFER_LEN],
    pos: usize,
    /// The process that filled the buffer (0: never filled).
    pid: u32,
}

impl OsBuffer {
    const fn empty() -> Self {
        OsBuffer {
            bytes: [0; BUFFER_LEN],
            pos: BUFFER_LEN,
            pid: 0,
        }
    }

    fn take(&mut self) -> Result<[u8; MESSAGE_ID_LEN]> {
        let pid = std::process::id();
        if pid != self.pid {
            // Never filled, or filled by the parent of this forked process.
            self.bytes.zeroize();
            self.pos = BUFFER_LEN;
            self.pid = pid;
        }
        if self.pos + MESSAGE_ID_LEN > BUFFER_LEN {
            if let Err(err) = fill_from_os(&mut self.bytes) {
                self.bytes.zeroize();
                return Err(err);
            }
            self.pos = 0;
        }
        let mut id = [0u8; MESSAGE_ID_LEN];
        let taken = self
            .bytes
            .get_mut(self.pos..self.pos + MESSAGE_ID_LEN)
            .ok_or(Error::Rng)?;
        id.copy_from_slice(taken);
        taken.zeroize();
        self.pos += MESSAGE_ID_LEN;
        Ok(id)
    }
}

impl Drop for OsBuffer {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn message_ids_never_repeat_across_refills() {
        let ids: HashSet<_> = (0..3 * BUFFER_LEN / MESSAGE_ID_LEN)
            .map(|_| message_id().unwrap())
            .collect();
        assert_eq!(ids.len(), 3 * BUFFER_LEN / MESSAGE_ID_LEN);
    }

    #[test]
    fn taken_bytes_are_wiped() {
        let mut buffer = OsBuffer::empty();
        let first = buffer.take().unwrap();
        assert_ne!(first, [0; MESSAGE_ID_LEN]);
        assert_eq!(buffer.bytes[..MESSAGE_ID_LEN], [0; MESSAGE_ID_LEN]);
        assert_eq!(buffer.pid, std::process::id());
    }

    #[test]
    fn a_buffer_from_another_process_is_discarded() {
        let mut buffer = OsBuffer::empty();
        buffer.take().unwrap();
        // As a forked child sees its parent's buffer: same bytes, other pid.
        let inherited = buffer.bytes;
        buffer.pid = buffer.pid.wrapping_add(1);
        let id = buffer.take().unwrap();
        assert!(
            inherited.windows(MESSAGE_ID_LEN).all(|w| w != id),
            "a message id came from the inherited buffer"
        );
        assert_eq!(buffer.pos, MESSAGE_ID_LEN);
    }
}
