//! Wall-clock time, replaceable so tests pin it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::time::UnixTime;

/// A source of the current wall-clock time.
///
/// Object safe: the tresor crates hold an `Arc<dyn Clock>` and call it once
/// per operation.
pub trait Clock: Send + Sync {
    /// Now.
    ///
    /// # Errors
    ///
    /// [`Error::BeforeEpoch`] if the clock reads a time before the UNIX
    /// epoch (a broken clock: callers fail closed, never treat it as 0),
    /// [`Error::OutOfRange`] if it reads a time beyond `i64` seconds.
    fn now(&self) -> Result<UnixTime>;
}

/// The system's wall clock ([`SystemTime::now`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Result<UnixTime> {
        from_system_time(SystemTime::now())
    }
}

/// Converts a [`SystemTime`], refusing times before the epoch.
fn from_system_time(time: SystemTime) -> Result<UnixTime> {
    let since = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::BeforeEpoch)?;
    i64::try_from(since.as_secs())
        .map(UnixTime::from_secs)
        .map_err(|_| Error::OutOfRange)
}

/// A clock that stays where it is set, for tests and replays. Shared
/// through an `Arc`, it can be moved while others read it.
///
/// Like [`SystemClock`], it never reads a time before the epoch: set to a
/// negative time, [`now`](Clock::now) reports [`Error::BeforeEpoch`]
/// (which lets tests exercise that path).
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock reading `secs` seconds after the epoch.
    pub fn new(secs: i64) -> Self {
        Self(AtomicI64::new(secs))
    }

    /// A clock reading `time`.
    pub fn at(time: UnixTime) -> Self {
        Self::new(time.as_secs())
    }

    /// Sets the time to `secs` seconds after the epoch.
    pub fn set(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// Moves the time by `secs` seconds (back if negative), saturating.
    pub fn advance(&self, secs: i64) {
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Result<UnixTime> {
        let time = UnixTime::from_secs(self.0.load(Ordering::SeqCst));
        if time.is_before_epoch() {
            return Err(Error::BeforeEpoch);
        }
        Ok(time)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Result<UnixTime> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Result<UnixTime> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Result<UnixTime> {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        let now = SystemClock.now().unwrap();
        assert!(now.as_secs() > 1_577_836_800);
    }

    #[test]
    fn before_the_epoch_is_an_error() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(from_system_time(before), Err(Error::BeforeEpoch));
        assert_eq!(from_system_time(UNIX_EPOCH), Ok(UnixTime::EPOCH));
        let clock = FixedClock::new(-1);
        assert_eq!(clock.now(), Err(Error::BeforeEpoch));
        clock.advance(1);
        assert_eq!(clock.now(), Ok(UnixTime::EPOCH));
    }

    #[test]
    fn fixed_clock_set_and_advance() {
        let clock = FixedClock::new(1000);
        assert_eq!(clock.now().unwrap().as_secs(), 1000);
        clock.advance(5);
        assert_eq!(clock.now().unwrap().as_secs(), 1005);
        clock.advance(-10);
        assert_eq!(clock.now().unwrap().as_secs(), 995);
        clock.set(7);
        assert_eq!(clock.now().unwrap(), UnixTime::from_secs(7));
        clock.set(i64::MAX);
        clock.advance(1);
        assert_eq!(clock.now().unwrap().as_secs(), i64::MAX);
        assert_eq!(
            FixedClock::at(UnixTime::from_secs(3))
                .now()
                .unwrap()
                .as_secs(),
            3
        );
    }

    #[test]
    fn containers_forward() {
        let fixed = FixedClock::new(42);
        let by_ref: &dyn Clock = &fixed;
        assert_eq!(by_ref.now().unwrap().as_secs(), 42);
        let arc: Arc<dyn Clock> = Arc::new(FixedClock::new(43));
        assert_eq!(arc.now().unwrap().as_secs(), 43);
        let boxed: Box<dyn Clock> = Box::new(FixedClock::new(44));
        assert_eq!(boxed.now().unwrap().as_secs(), 44);
        fn read(clock: impl Clock) -> i64 {
            clock.now().map_or(-1, UnixTime::as_secs)
        }
        assert_eq!(read(&arc), 43);
        assert_eq!(read(&fixed), 42);
    }
}
