//! Randomness: data keys straight from the operating system, message ids
//! from a per-thread ChaCha20 generator seeded from the operating system.
//!
//! There is deliberately no way to plug in another source: every random
//! byte this crate uses comes from the operating system's generator
//! (`getrandom` on Linux, through `ring`'s `SystemRandom`), either directly
//! (data keys, generator seeds) or through a ChaCha20 generator it seeded
//! (message ids).
//!
//! Message ids are public (they are written in clear in every header) but
//! must never repeat under a data key. Drawing 32 bytes from the operating
//! system per message costs a system call and the kernel's generator per
//! seal (about 0.36 µs here), so each thread keeps a ChaCha20 generator
//! (RustCrypto's `ChaCha20Rng`, 20 rounds) seeded with 32 bytes from the
//! operating system and reseeded after [`RESEED_AFTER`] ids. Its state is
//! wiped when it is reseeded and when the thread exits.
//!
//! A forked child inherits a copy of its parent's generator. Drawing the
//! same ids in both processes would repeat message ids, and with a data key
//! cached before the fork, message keys; so the generator records the id of
//! the process that seeded it and is reseeded when a different process
//! draws from it. Reading the process id is a system call (about 0.14 µs,
//! glibc no longer caches it); fork detection without one needs `unsafe`
//! code (`pthread_atfork`, `MADV_WIPEONFORK`), which this crate forbids.

use std::cell::RefCell;

use chacha20::ChaCha20Rng;
use chacha20::rand_core::{Rng, SeedableRng};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::format::MESSAGE_ID_LEN;
use crate::{Error, Result};

/// Message ids drawn from one seed before the generator is reseeded.
const RESEED_AFTER: u32 = 1 << 16;

/// Fills `buf` from the operating system's generator, unbuffered.
pub(crate) fn fill_from_os(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new().fill(buf).map_err(|_| Error::Rng)
}

/// A fresh random message id.
pub(crate) fn message_id() -> Result<[u8; MESSAGE_ID_LEN]> {
    GENERATOR.with(|generator| generator.borrow_mut().message_id())
}

thread_local! {
    static GENERATOR: RefCell<IdGenerator> = const { RefCell::new(IdGenerator::unseeded()) };
}

/// A ChaCha20 generator and what decides when it is reseeded.
struct IdGenerator {
    /// `None` until the first id is drawn.
    rng: Option<ChaCha20Rng>,
    /// The process that seeded `rng` (0: never seeded).
    pid: u32,
    /// Ids left before the next reseed.
    left: u32,
}

impl IdGenerator {
    const fn unseeded() -> Self {
        IdGenerator {
            rng: None,
            pid: 0,
            left: 0,
        }
    }

    fn message_id(&mut self) -> Result<[u8; MESSAGE_ID_LEN]> {
        let pid = std::process::id();
        let rng = match &mut self.rng {
            Some(rng) if pid == self.pid && self.left > 0 => rng,
            // Never seeded, used up, or seeded by the parent of this
            // forked process.
            _ => self.reseed(pid)?,
        };
        let mut id = [0u8; MESSAGE_ID_LEN];
        rng.fill_bytes(&mut id);
        self.left -= 1;
        Ok(id)
    }

    fn reseed(&mut self, pid: u32) -> Result<&mut ChaCha20Rng> {
        // The old generator (if any) is dropped first, which wipes it.
        self.rng = None;
        let mut seed = Zeroizing::new([0u8; 32]);
        fill_from_os(seed.as_mut_slice())?;
        Ok(self.seed(pid, &seed))
    }

    fn seed(&mut self, pid: u32, seed: &[u8; 32]) -> &mut ChaCha20Rng {
        self.pid = pid;
        self.left = RESEED_AFTER;
        self.rng.insert(ChaCha20Rng::from_seed(*seed))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn message_ids_never_repeat() {
        let ids: HashSet<_> = (0..10_000).map(|_| message_id().unwrap()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    const SEED: [u8; 32] = [7; 32];

    /// The first `n` ids a generator seeded with [`SEED`] draws.
    fn stream_of_seed(n: usize) -> Vec<[u8; MESSAGE_ID_LEN]> {
        let mut rng = ChaCha20Rng::from_seed(SEED);
        (0..n)
            .map(|_| {
                let mut id = [0u8; MESSAGE_ID_LEN];
                rng.fill_bytes(&mut id);
                id
            })
            .collect()
    }

    #[test]
    fn the_generator_is_reseeded_after_its_quota() {
        let mut generator = IdGenerator::unseeded();
        generator.seed(std::process::id(), &SEED);
        generator.left = 2;
        let old = stream_of_seed(3);
        assert_eq!(generator.message_id().unwrap(), old[0]);
        assert_eq!(generator.message_id().unwrap(), old[1]);
        assert_eq!(generator.left, 0);
        // The next id comes from a new seed, not from the old stream.
        assert_ne!(generator.message_id().unwrap(), old[2]);
        assert_eq!(generator.left, RESEED_AFTER - 1);
    }

    #[test]
    fn a_generator_from_another_process_is_reseeded() {
        let mut generator = IdGenerator::unseeded();
        // As a forked child sees its parent's generator: its state, another pid.
        generator.seed(std::process::id().wrapping_add(1), &SEED);
        let in_parent = stream_of_seed(1)[0];
        assert_ne!(
            generator.message_id().unwrap(),
            in_parent,
            "the child repeated its parent's id"
        );
        assert_eq!(generator.pid, std::process::id());
        assert_eq!(generator.left, RESEED_AFTER - 1);
    }

    #[test]
    fn the_same_process_keeps_its_stream() {
        let mut generator = IdGenerator::unseeded();
        generator.seed(std::process::id(), &SEED);
        let want = stream_of_seed(3);
        let got: Vec<_> = (0..3).map(|_| generator.message_id().unwrap()).collect();
        assert_eq!(got, want);
    }
}
