//! [`UnixTime`]: a point in time as whole seconds since the UNIX epoch.

use std::fmt;

/// A point in time in whole seconds since 1970-01-01T00:00:00Z (leap
/// seconds not counted), as JWT `NumericDate`s and RFC 9421 `created` and
/// `expires` parameters count it.
///
/// A plain `Copy` newtype over `i64`, so comparing and adding costs what
/// the integer does. It can hold any `i64` (a `created` parameter read from
/// a message may be negative), but the clocks of this crate never *read* a
/// time before the epoch: [`Clock::now`](crate::Clock::now) reports
/// [`Error::BeforeEpoch`](crate::Error::BeforeEpoch) instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The epoch itself, 1970-01-01T00:00:00Z.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// The time `secs` seconds after the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// Whether the time is before the epoch.
    pub const fn is_before_epoch(self) -> bool {
        self.0 < 0
    }

    /// `secs` seconds later (earlier if negative), saturating at the ends
    /// of the range.
    #[must_use]
    pub const fn saturating_add_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }
}

impl From<i64> for UnixTime {
    fn from(secs: i64) -> Self {
        Self(secs)
    }
}

impl From<UnixTime> for i64 {
    fn from(time: UnixTime) -> Self {
        time.0
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
