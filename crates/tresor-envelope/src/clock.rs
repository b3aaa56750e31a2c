//! Replaceable monotonic time, for cache expiry.
//!
//! The caches measure ages and time-to-live with a monotonic clock
//! (`std::time::Instant`), never with wall-clock time: setting the system
//! date, leap seconds or NTP steps cannot make a data key live longer.

use std::sync::Arc;
use std::time::Instant;

/// A monotonic clock: it only moves forward and has no relation to the date.
///
/// The data-key caches ask it for the time, so tests (and simulations) can
/// pin or advance it; see [`EnvelopeBuilder::monotonic_clock`](crate::EnvelopeBuilder::monotonic_clock).
pub trait MonotonicClock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The operating system's monotonic clock ([`Instant::now`]); the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemMonotonicClock;

impl MonotonicClock for SystemMonotonicClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl<T: MonotonicClock + ?Sized> MonotonicClock for Arc<T> {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

impl<T: MonotonicClock + ?Sized> MonotonicClock for Box<T> {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

impl<T: MonotonicClock + ?Sized> MonotonicClock for &T {
    fn now(&self) -> Instant {
        (**self).now()
    }
}
