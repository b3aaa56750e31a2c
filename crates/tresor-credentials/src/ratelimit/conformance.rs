//! A conformance suite for [`RateLimitStore`] implementations: the
//! behaviour every store must share with
//! [`MemoryRateLimitStore`](super::MemoryRateLimitStore), which defines it
//! (the GCRA of the [`RateLimitStore`] docs).
//!
//! Behind the `conformance` cargo feature (off by default). The functions
//! panic, with a message naming the property, when the store misbehaves:
//! call them from a test. Each property uses keys of its own, made unique
//! per call (a time stamp and a counter), so one store, even a persistent
//! one, can run the suite any number of times. A few properties sleep
//! (periods of 100 to 200 ms); [`run_all`] takes about a second.
//!
//! ```
//! use tresor_credentials::MemoryRateLimitStore;
//! use tresor_credentials::ratelimit::conformance;
//!
//! conformance::run_all(&MemoryRateLimitStore::default());
//! ```

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{FailureQuota, MAX_RATE_HORIZON, RateLimitStore};

/// Rounding a store may add to a `retry_after` (it counts in microseconds,
/// or milliseconds for an expiry).
const ROUNDING: Duration = Duration::from_millis(2);

/// Runs every property of this module against `store`.
pub fn run_all(store: &dyn RateLimitStore) {
    burst_then_refused(store);
    peek_takes_nothing(store);
    refused_takes_take_nothing(store);
    keys_are_independent(store);
    a_cell_comes_back_after_the_period(store);
    burst_of_one(store);
    extreme_quotas(store);
    any_key(store);
    concurrent_takes(store, 8);
}

/// A key no other call of the suite uses: `{what}:{unique}`.
pub fn fresh_key(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("conformance:{what}:{nanos:x}-{n}")
}

/// A quota of `burst` cells, one back per `period`.
///
/// # Panics
///
/// If `burst` or `period` is zero.
pub fn quota(burst: u32, period: Duration) -> FailureQuota {
    let burst = NonZeroU32::new(burst).expect("conformance: a non-zero burst");
    FailureQuota::new(burst, period).expect("conformance: a non-zero period")
}

fn call(result: crate::Result<Option<Duration>>, what: &str) -> Option<Duration> {
    match result {
        Ok(answer) => answer,
        Err(e) => panic!("conformance: {what} failed: {e:?}"),
    }
}

fn take(store: &dyn RateLimitStore, key: &str, q: FailureQuota) -> Option<Duration> {
    call(store.take(key, q), "take")
}

fn peek(store: &dyn RateLimitStore, key: &str, q: FailureQuota) -> Option<Duration> {
    call(store.peek(key, q), "peek")
}

/// Takes `burst` cells of a fresh key, all allowed, the `burst + 1`-th
/// refused with a `retry_after` of about the period (at most the period,
/// at least the period less the time the takes took), and again.
pub fn burst_then_refused(store: &dyn RateLimitStore) {
    let key = fresh_key("burst");
    let period = Duration::from_secs(60);
    let q = quota(5, period);
    let started = Instant::now();
    for n in 0..5 {
        assert_eq!(
            take(store, &key, q),
            None,
            "conformance: take {n} of a burst of 5 must be allowed"
        );
    }
    for _ in 0..2 {
        let retry = take(store, &key, q)
            .expect("conformance: a take past the burst must be refused (Some(retry_after))");
        assert!(
            retry <= period + ROUNDING && retry + started.elapsed() + ROUNDING >= period,
            "conformance: retry_after must be about the period (60 s), got {retry:?}"
        );
    }
}

/// Peeks take nothing: any number of peeks, then the full burst of takes;
/// a peek answers what a take would, with the same `retry_after`.
pub fn peek_takes_nothing(store: &dyn RateLimitStore) {
    let key = fresh_key("peek");
    let period = Duration::from_secs(60);
    let q = quota(2, period);
    for _ in 0..10 {
        assert_eq!(
            peek(store, &key, q),
            None,
            "conformance: a peek of a fresh key must be None"
        );
    }
    assert_eq!(take(store, &key, q), None, "conformance: first take");
    assert_eq!(
        peek(store, &key, q),
        None,
        "conformance: peek with a cell left"
    );
    assert_eq!(take(store, &key, q), None, "conformance: second take");
    let peeked = peek(store, &key, q).expect("conformance: a peek of a spent key must be Some");
    let taken = take(store, &key, q).expect("conformance: a take of a spent key must be Some");
    assert!(
        peeked <= period + ROUNDING && taken <= peeked + ROUNDING,
        "conformance: peek and take must agree on retry_after ({peeked:?}, {taken:?})"
    );
}

/// A refused take takes nothing: however many are refused, the cell comes
/// back at the same time (burst 1, period 150 ms).
pub fn refused_takes_take_nothing(store: &dyn RateLimitStore) {
    let key = fresh_key("refused");
    let q = quota(1, Duration::from_millis(150));
    assert_eq!(take(store, &key, q), None, "conformance: first take");
    let mut last = None;
    for _ in 0..20 {
        last = take(store, &key, q);
        assert!(
            last.is_some(),
            "conformance: a take of a spent key must be Some"
        );
    }
    let wait = last.unwrap_or_default();
    std::thread::sleep(wait + Duration::from_millis(20));
    assert_eq!(
        take(store, &key, q),
        None,
        "conformance: refused takes must not push the next cell back"
    );
}

/// Spending one key's burst leaves another key's whole.
pub fn keys_are_independent(store: &dyn RateLimitStore) {
    let a = fresh_key("independent-a");
    let b = fresh_key("independent-b");
    let q = quota(3, Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(take(store, &a, q), None, "conformance: take of key a");
    }
    assert!(take(store, &a, q).is_some(), "conformance: key a spent");
    for _ in 0..3 {
        assert_eq!(
            take(store, &b, q),
            None,
            "conformance: another key must keep its whole burst"
        );
    }
    assert!(take(store, &b, q).is_some(), "conformance: key b spent");
}

/// After the `retry_after` of a refusal, one cell is back (one, not the
/// burst), and after another period another one (burst 3, period 200 ms).
pub fn a_cell_comes_back_after_the_period(store: &dyn RateLimitStore) {
    let key = fresh_key("replenish");
    let period = Duration::from_millis(200);
    let q = quota(3, period);
    for _ in 0..3 {
        assert_eq!(take(store, &key, q), None, "conformance: burst");
    }
    let wait = take(store, &key, q).expect("conformance: the burst is spent");
    assert!(
        wait <= period + ROUNDING,
        "conformance: retry_after at most the period, got {wait:?}"
    );
    let slept = Instant::now();
    std::thread::sleep(wait + Duration::from_millis(20));
    assert_eq!(
        take(store, &key, q),
        None,
        "conformance: a cell must be back after retry_after"
    );
    // Unless the machine overslept by most of a period (then a second
    // cell may be back by right), only one cell came back.
    let overslept = slept.elapsed() >= wait + period / 2;
    match take(store, &key, q) {
        Some(wait) => {
            assert!(
                overslept || (wait <= period + ROUNDING && wait >= period / 4),
                "conformance: the next cell is about a period away, got {wait:?}"
            );
            std::thread::sleep(wait + Duration::from_millis(20));
            assert_eq!(
                take(store, &key, q),
                None,
                "conformance: another cell after another period"
            );
        }
        None => assert!(overslept, "conformance: one cell came back, not more"),
    }
}

/// Burst 1: one take, then refused for about the period (100 ms), then
/// one again.
pub fn burst_of_one(store: &dyn RateLimitStore) {
    let key = fresh_key("one");
    let period = Duration::from_millis(100);
    let q = quota(1, period);
    assert_eq!(take(store, &key, q), None, "conformance: burst of 1");
    let wait = take(store, &key, q).expect("conformance: burst of 1 spent");
    assert!(
        wait <= period + ROUNDING && wait >= period / 2,
        "conformance: burst of 1: retry_after about the period, got {wait:?}"
    );
    assert!(
        peek(store, &key, q).is_some(),
        "conformance: burst of 1 peek"
    );
    std::thread::sleep(wait + Duration::from_millis(20));
    assert_eq!(
        take(store, &key, q),
        None,
        "conformance: burst of 1: the cell comes back"
    );
}

/// Quotas at the edges: a huge period (counted as [`MAX_RATE_HORIZON`]),
/// a huge burst with a huge period, a period below a microsecond. No
/// error, no overflow, and the refusals say how long.
pub fn extreme_quotas(store: &dyn RateLimitStore) {
    // A period longer than the horizon: one take, then refused for about
    // the horizon.
    for period in [Duration::from_secs(200 * 365 * 86_400), Duration::MAX] {
        let key = fresh_key("huge-period");
        let q = quota(1, period);
        assert_eq!(
            take(store, &key, q),
            None,
            "conformance: huge period, first take"
        );
        let wait = take(store, &key, q).expect("conformance: huge period, refused");
        assert!(
            wait <= MAX_RATE_HORIZON + ROUNDING
                && wait + Duration::from_secs(60) >= MAX_RATE_HORIZON,
            "conformance: a huge period counts as MAX_RATE_HORIZON, got {wait:?}"
        );
    }
    // A burst whose burst × period exceeds the horizon: still many cells.
    let key = fresh_key("huge-burst");
    let q = quota(u32::MAX, Duration::from_secs(86_400));
    for _ in 0..50 {
        assert_eq!(take(store, &key, q), None, "conformance: huge burst");
    }
    // A period far below the store's resolution: counted as a microsecond.
    let key = fresh_key("tiny-period");
    let q = quota(1, Duration::from_nanos(1));
    for _ in 0..20 {
        let answer = take(store, &key, q);
        assert!(
            answer.is_none_or(|wait| wait <= ROUNDING),
            "conformance: a 1 ns period waits at most a microsecond, got {answer:?}"
        );
    }
}

/// Keys of any content: empty, long (64 KiB), with separators, braces,
/// newlines and non-ASCII; each independent of the others.
pub fn any_key(store: &dyn RateLimitStore) {
    let base = fresh_key("any");
    let long = format!("{base}{}", "x".repeat(64 * 1024));
    let keys = [
        String::new(),
        base.clone(),
        format!("{base}:"),
        format!("{base}{{tag}}\n\r\0"),
        format!("{base}é€"),
        long,
    ];
    let q = quota(1, Duration::from_secs(60));
    // The empty key may have been taken by an earlier run: peek only.
    let _ = peek(store, "", q);
    for key in keys.iter().skip(1) {
        assert_eq!(take(store, key, q), None, "conformance: key {:.40?}", key);
    }
    for key in keys.iter().skip(1) {
        assert!(
            take(store, key, q).is_some(),
            "conformance: key {:.40?} spent",
            key
        );
    }
}

/// `threads` threads take 20 cells each of one key with a burst of 10
/// (long period), all at once: exactly 10 are allowed.
pub fn concurrent_takes(store: &dyn RateLimitStore, threads: usize) {
    let key = fresh_key("concurrent");
    let q = quota(10, Duration::from_secs(600));
    let barrier = Arc::new(Barrier::new(threads.max(1)));
    let allowed: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let barrier = barrier.clone();
                let key = key.as_str();
                scope.spawn(move || {
                    barrier.wait();
                    (0..20).filter(|_| take(store, key, q).is_none()).count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("conformance: a taking thread panicked"))
            .sum()
    });
    assert_eq!(
        allowed, 10,
        "conformance: {threads} threads racing must get exactly the burst of 10"
    );
}
