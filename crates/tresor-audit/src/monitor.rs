//! Monitoring of refused activity: count refusals per subject (a client,
//! a source address) in a sliding window and raise an incident when a
//! subject reaches a threshold.
//!
//! A server feeds every refused request (and every failed authentication)
//! to [`RefusalMonitor::refused`] under one or more subjects; the monitor
//! answers with an [`Incident`] the first time a subject reaches the
//! threshold within the window, and again only once the window has
//! passed since that incident (so a sustained attack gives one incident
//! per window, not one per request). The server then appends a
//! `security.incident` record ([`Incident::record`]) and alerts.
//!
//! Memory is bounded: at most [`RefusalMonitor::max_subjects`] subjects are
//! tracked; when full, subjects with no refusal inside the window are
//! dropped, and if none can be dropped new subjects are counted under one
//! shared overflow subject (`*`), which raises its own incident.
//!
//! ```
//! use std::time::Duration;
//! use tresor_audit::monitor::RefusalMonitor;
//!
//! let monitor = RefusalMonitor::new(3, Duration::from_secs(60));
//! assert!(monitor.refused_at("client:c1", 100).is_none());
//! assert!(monitor.refused_at("client:c1", 101).is_none());
//! let incident = monitor.refused_at("client:c1", 102).expect("the third refusal");
//! assert_eq!(incident.count, 3);
//! assert!(monitor.refused_at("client:c1", 103).is_none()); // once per window
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::record::{Actor, AuditRecord, Outcome, Timestamp};

/// The `action` of an incident record.
pub const INCIDENT_ACTION: &str = "security.incident";

/// The default bound on tracked subjects.
pub const DEFAULT_MAX_SUBJECTS: usize = 10_000;

/// The subject that counts new subjects once the monitor is full.
const OVERFLOW_SUBJECT: &str = "*";

/// A subject reached the threshold of refusals within the window.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Incident {
    /// The subject, as given to [`RefusalMonitor::refused`].
    pub subject: String,
    /// Refusals of the subject inside the window.
    pub count: usize,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// When (UNIX seconds).
    pub time: i64,
}

impl Incident {
    /// The audit record of this incident: actor `monitor`/`refusals`,
    /// action [`INCIDENT_ACTION`], resource the subject, outcome `denied`,
    /// with the count and window in its details.
    pub fn record(&self, request_id: &str) -> Result<AuditRecord> {
        AuditRecord::builder()
            .timestamp(Timestamp::from_unix(self.time, 0)?)
            .actor(Actor::new("monitor", "refusals")?)
            .action(INCIDENT_ACTION)
            .resource(self.subject.as_str())
            .outcome(Outcome::Denied)
            .request_id(request_id)
            .source("monitor")
            .detail("refusals", self.count)
            .detail("window_seconds", self.window_seconds)
            .build()
    }
}

#[derive(Default)]
struct Subject {
    times: VecDeque<i64>,
    last_incident: Option<i64>,
}

/// Counts refusals per subject in a sliding window (see the [module
/// documentation](self)). Thread-safe.
pub struct RefusalMonitor {
    threshold: usize,
    window: i64,
    max_subjects: usize,
    subjects: Mutex<HashMap<String, Subject>>,
}

impl std::fmt::Debug for RefusalMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusalMonitor")
            .field("threshold", &self.threshold)
            .field("window", &self.window)
            .field("max_subjects", &self.max_subjects)
            .finish_non_exhaustive()
    }
}

impl RefusalMonitor {
    /// Raises an incident when a subject has `threshold` refusals (at
    /// least 1) within `window` (whole seconds, at least 1).
    pub fn new(threshold: usize, window: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            window: i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX),
            max_subjects: DEFAULT_MAX_SUBJECTS,
            subjects: Mutex::new(HashMap::new()),
        }
    }

    /// Tracks at most `max` subjects (at least 1).
    #[must_use]
    pub fn max_subjects(mut self, max: usize) -> Self {
        self.max_subjects = max.max(1);
        self
    }

    /// Counts one refusal of `subject` now (system clock).
    pub fn refused(&self, subject: &str) -> Option<Incident> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.refused_at(subject, now)
    }

    /// Counts one refusal of `subject` at `now` (UNIX seconds).
    pub fn refused_at(&self, subject: &str, now: i64) -> Option<Incident> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        let horizon = now.saturating_sub(self.window);
        let key = if subjects.contains_key(subject) || subjects.len() < self.max_subjects {
            subject
        } else {
            subjects.retain(|_, s| s.times.back().is_some_and(|t| *t > horizon));
            if subjects.len() < self.max_subjects {
                subject
            } else {
                OVERFLOW_SUBJECT
            }
        };
        let entry = subjects.entry(key.to_owned()).or_default();
        while entry.times.front().is_some_and(|t| *t <= horizon) {
            entry.times.pop_front();
        }
        entry.times.push_back(now);
        while entry.times.len() > self.threshold {
            entry.times.pop_front();
        }
        let quiet = entry.last_incident.is_none_or(|t| t <= horizon);
        if entry.times.len() >= self.threshold && quiet {
            entry.last_incident = Some(now);
            return Some(Incident {
                subject: key.to_owned(),
                count: entry.times.len(),
                window_seconds: self.window.unsigned_abs(),
                time: now,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_incident_per_window_per_subject() {
        let m = RefusalMonitor::new(2, Duration::from_secs(10));
        assert!(m.refused_at("a", 0).is_none());
        assert!(m.refused_at("b", 0).is_none());
        assert!(m.refused_at("a", 5).is_some());
        assert!(m.refused_at("a", 6).is_none());
        // Old refusals leave the window.
        assert!(m.refused_at("b", 20).is_none());
        // A new window, a new incident.
        assert!(m.refused_at("a", 16).is_none());
        assert!(m.refused_at("a", 17).is_some());
    }

    #[test]
    fn bounded_subjects_overflow_into_one() {
        let m = RefusalMonitor::new(2, Duration::from_secs(10)).max_subjects(1);
        assert!(m.refused_at("a", 0).is_none());
        assert!(m.refused_at("b", 1).is_none());
        let i = m
            .refused_at("c", 2)
            .expect("the overflow subject reached 2");
        assert_eq!(i.subject, "*");
    }

    #[test]
    fn incident_record_is_valid() {
        let m = RefusalMonitor::new(1, Duration::from_secs(60));
        let i = m
            .refused_at("client:x", 1_764_000_000)
            .expect("threshold 1");
        let r = i.record("req-1").expect("a valid record");
        assert_eq!(r.action(), INCIDENT_ACTION);
        assert_eq!(r.details()["refusals"], 1);
    }
}
