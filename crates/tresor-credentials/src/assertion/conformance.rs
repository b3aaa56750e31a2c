//! A conformance suite for [`ReplayCache`] implementations: the behaviour
//! every cache must share with [`MemoryReplayCache`](super::MemoryReplayCache),
//! the embedded default, as the [`ReplayCache`] docs define it.
//!
//! - the first use of `(client id, jti)` is recorded (`Ok(true)`), every
//!   later one is `Ok(false)` while the entry is live, whatever expiry the
//!   replay presents;
//! - clients are independent: one `jti` under two clients is two entries;
//! - an entry is live **through** `expires`, inclusive (while
//!   `now <= expires`) and forgotten once `now > expires`: the `jti` is
//!   then recorded again; a `jti` presented with an `expires` already
//!   passed is recorded (`Ok(true)`) and is not a replay later;
//! - of several threads presenting one new `jti` at once, exactly one gets
//!   `Ok(true)`, the others `Ok(false)`;
//! - hostile `jti`s (empty, long, separators, braces, control characters,
//!   non-ASCII) give an answer or an error, never a panic; expiries far
//!   ahead, up to `i64::MAX`, are remembered;
//! - with [`client_quota`] (not part of [`run_all`], as the quota is the
//!   cache's configuration): a client at its quota gets an error for new
//!   `jti`s, and only it.
//!
//! Behind the `conformance` cargo feature (off by default; the module also
//! needs `httpsig`, which holds `assertion`). The functions panic, with a
//! message naming the property, when the cache misbehaves: call them from
//! a test. Each property uses client ids of its own, made unique per call
//! (a time stamp and a counter), so one cache, even a shared or persistent
//! one, can run the suite any number of times. [`run_all`] needs a
//! per-client quota of at least 32 and room for a few hundred live ids in
//! all. The suite passes the system clock as `now`; a cache that reads
//! its own clock instead (a Redis server's, say) must agree with it to
//! well under a second. [`expiry_is_inclusive`] sleeps (about two seconds:
//! expiries are whole UNIX seconds).
//!
//! ```
//! use tresor_credentials::assertion::{MemoryReplayCache, conformance};
//!
//! conformance::run_all(&MemoryReplayCache::default());
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ReplayCache;
use crate::client::ClientId;
use crate::error::Result;

/// How far ahead the suite's live entries expire, in seconds.
const LIVE: i64 = 300;

/// Runs every property of this module (except [`client_quota`], which
/// needs the cache's quota) against `cache`. Takes about two seconds.
pub fn run_all(cache: &dyn ReplayCache) {
    first_use_is_recorded(cache);
    replay_is_refused(cache);
    clients_are_independent(cache);
    past_expiry_is_not_a_replay(cache);
    hostile_jtis(cache);
    extreme_expiries(cache);
    concurrent_first_use(cache, 16);
    expiry_is_inclusive(cache);
}

/// A client id no other call of the suite uses (22 base62 characters from
/// a time stamp and a counter).
pub fn fresh_client() -> ClientId {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut value = (u128::from(n) << 64) | (nanos & u128::from(u64::MAX));
    let mut id = String::with_capacity(22);
    for _ in 0..22 {
        let digit = usize::try_from(value % 62).unwrap_or(0);
        id.push(char::from(DIGITS.get(digit).copied().unwrap_or(b'0')));
        value /= 62;
    }
    ClientId::parse(&id).expect("conformance: 22 base62 digits are a client id")
}

/// The system clock in UNIX seconds (0 before the epoch).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Sleeps until the UNIX second `second` has begun, plus 50 ms.
pub fn sleep_until(second: i64) {
    let target = Duration::from_secs(u64::try_from(second).unwrap_or(0)) + MARGIN;
    loop {
        let elapsed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if elapsed >= target {
            return;
        }
        std::thread::sleep(target - elapsed);
    }
}

const MARGIN: Duration = Duration::from_millis(50);

fn call(cache: &dyn ReplayCache, client: &ClientId, jti: &str, expires: i64) -> Result<bool> {
    cache.check_and_record(client, jti, expires, now())
}

fn recorded(cache: &dyn ReplayCache, client: &ClientId, jti: &str, expires: i64, what: &str) {
    let answer = call(cache, client, jti, expires);
    assert!(
        matches!(answer, Ok(true)),
        "conformance: {what}: ({client}, {jti:.40?}) must be recorded (Ok(true)), got {answer:?}"
    );
}

fn replayed(cache: &dyn ReplayCache, client: &ClientId, jti: &str, expires: i64, what: &str) {
    let answer = call(cache, client, jti, expires);
    assert!(
        matches!(answer, Ok(false)),
        "conformance: {what}: ({client}, {jti:.40?}) must be a replay (Ok(false)), got {answer:?}"
    );
}

/// A new `jti` of a new client is recorded; so are other new `jti`s of
/// that client.
pub fn first_use_is_recorded(cache: &dyn ReplayCache) {
    let client = fresh_client();
    let exp = now() + LIVE;
    for jti in ["j1", "j2", "j3"] {
        recorded(cache, &client, jti, exp, "first use");
    }
}

/// A `jti` used once is `Ok(false)` (not an error) on every later use
/// while live: with the same expiry, a later one, an earlier one, one
/// already passed.
pub fn replay_is_refused(cache: &dyn ReplayCache) {
    let client = fresh_client();
    let exp = now() + LIVE;
    recorded(cache, &client, "j", exp, "first use");
    for (presented, what) in [
        (exp, "a replay"),
        (exp, "a second replay"),
        (exp + LIVE, "a replay with a later expiry"),
        (exp - 60, "a replay with an earlier expiry"),
        (now() - 10, "a replay with an expiry already passed"),
        (i64::MIN, "a replay with expiry i64::MIN"),
    ] {
        replayed(cache, &client, "j", presented, what);
    }
    // The replays did not shorten the entry.
    replayed(cache, &client, "j", exp, "a replay after replays");
}

/// Clients have separate `jti`s: a `jti` of one is new to the others, and
/// each client's use of it is remembered on its own.
pub fn clients_are_independent(cache: &dyn ReplayCache) {
    let clients: Vec<ClientId> = (0..5).map(|_| fresh_client()).collect();
    let exp = now() + LIVE;
    for client in &clients {
        recorded(cache, client, "shared", exp, "one jti under another client");
    }
    for client in &clients {
        replayed(cache, client, "shared", exp, "one jti under each client");
    }
    let (a, b) = (fresh_client(), fresh_client());
    recorded(cache, &a, "only-a", exp, "client a");
    recorded(cache, &b, "only-b", exp, "client b");
    recorded(cache, &b, "only-a", exp, "a jti of client a under client b");
    recorded(cache, &a, "only-b", exp, "a jti of client b under client a");
}

/// A `jti` presented with an `expires` already passed is recorded
/// (`Ok(true)`: the verifier refuses such an assertion on its own) and is
/// not a replay later, since its entry has expired.
pub fn past_expiry_is_not_a_replay(cache: &dyn ReplayCache) {
    let client = fresh_client();
    let past = now() - 10;
    recorded(cache, &client, "old", past, "an expiry already passed");
    recorded(
        cache,
        &client,
        "old",
        past,
        "an expiry already passed, again",
    );
    recorded(cache, &client, "old", now() - 1, "the second before now");
    let exp = now() + LIVE;
    recorded(
        cache,
        &client,
        "old",
        exp,
        "after uses with expiries passed",
    );
    replayed(cache, &client, "old", exp, "then live");
}

/// `jti`s of any content: empty, the longest a verifier accepts
/// ([`MAX_JTI_LEN`](super::MAX_JTI_LEN)), with separators, braces, glob
/// and format characters, CR LF, NUL, non-ASCII and bidirectional
/// controls: each recorded once and then a replay, independently of the
/// others. A 64 KiB `jti` is recorded, or refused with an error. Never a
/// panic.
pub fn hostile_jtis(cache: &dyn ReplayCache) {
    let client = fresh_client();
    let exp = now() + LIVE;
    let jtis = [
        String::new(),
        " ".to_owned(),
        ":".to_owned(),
        "{tag}".to_owned(),
        "}{*?[a-z]\\".to_owned(),
        "%s%n%x".to_owned(),
        "'; DROP TABLE jtis; --".to_owned(),
        "\r\n\t\0\u{7f}".to_owned(),
        "é€😀".to_owned(),
        "\u{202e}\u{200b}\u{feff}".to_owned(),
        "j".repeat(super::MAX_JTI_LEN),
    ];
    for jti in &jtis {
        recorded(cache, &client, jti, exp, "a hostile jti");
    }
    for jti in &jtis {
        replayed(cache, &client, jti, exp, "a hostile jti");
    }
    let long = "x".repeat(64 * 1024);
    if let Ok(answer) = call(cache, &client, &long, exp) {
        assert!(
            answer,
            "conformance: a new 64 KiB jti is recorded or an error, never a replay"
        );
        replayed(cache, &client, &long, exp, "a 64 KiB jti");
    }
}

/// Expiries at the edges of `i64`: `i64::MIN` (and `0`, the epoch) are
/// passed, recorded and not a replay later; a year ahead, `2^53` and
/// beyond, up to `i64::MAX`, are remembered like any other. No overflow,
/// no panic.
pub fn extreme_expiries(cache: &dyn ReplayCache) {
    let client = fresh_client();
    for past in [i64::MIN, i64::MIN + 1, -1, 0] {
        recorded(cache, &client, "past", past, "an expiry far in the past");
    }
    recorded(
        cache,
        &client,
        "past",
        now() + LIVE,
        "after far past expiries",
    );
    for (jti, exp) in [
        ("year", now() + 366 * 86_400),
        ("2^53", 1 << 53),
        ("2^53+1", (1 << 53) + 1),
        ("2^62", 1 << 62),
        ("max-1", i64::MAX - 1),
        ("max", i64::MAX),
    ] {
        recorded(cache, &client, jti, exp, "a far expiry");
        replayed(cache, &client, jti, exp, "a far expiry");
    }
}

/// `threads` threads present one new `jti` at once, five times: exactly
/// one gets `Ok(true)`, every other `Ok(false)`. Then `threads` threads
/// each present their own new `jti` of one client at once: all are
/// recorded, and each is then a replay (no lost write).
pub fn concurrent_first_use(cache: &dyn ReplayCache, threads: usize) {
    let threads = threads.max(2);
    let client = fresh_client();
    let exp = now() + LIVE;
    for round in 0..5 {
        let jti = format!("race-{round}");
        let results = race(cache, &client, threads, |_| jti.clone(), exp);
        let wins = results.iter().filter(|r| matches!(r, Ok(true))).count();
        assert!(
            wins == 1 && results.iter().all(Result::is_ok),
            "conformance: {threads} threads presenting one jti: exactly one must get \
             Ok(true), the others Ok(false), got {results:?}"
        );
    }
    let client = fresh_client();
    let results = race(cache, &client, threads, |t| format!("own-{t}"), exp);
    assert!(
        results.iter().all(|r| matches!(r, Ok(true))),
        "conformance: {threads} threads each with a jti of its own: all recorded, got \
         {results:?}"
    );
    for t in 0..threads {
        replayed(cache, &client, &format!("own-{t}"), exp, "a jti of a race");
    }
}

/// Runs `threads` calls at once (behind a barrier), the `t`-th with the
/// `jti` `jti(t)`.
fn race(
    cache: &dyn ReplayCache,
    client: &ClientId,
    threads: usize,
    jti: impl Fn(usize) -> String,
    expires: i64,
) -> Vec<Result<bool>> {
    let barrier = Arc::new(Barrier::new(threads));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = barrier.clone();
                let jti = jti(t);
                scope.spawn(move || {
                    barrier.wait();
                    call(cache, client, &jti, expires)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("conformance: a racing thread panicked"))
            .collect()
    })
}

/// An entry is live through its `expires`, inclusive, and forgotten
/// after: recorded in second `s` until `s` it is a replay during `s`;
/// recorded until `s + 1` it is still a replay during `s + 1`, while the
/// first is recorded again; during `s + 2` both are. Sleeps up to about
/// two seconds, on the system clock (see the [module docs](self)).
pub fn expiry_is_inclusive(cache: &dyn ReplayCache) {
    let client = fresh_client();
    // Start early in a second, so the same-second checks have time.
    let subsec = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    if subsec > 600 {
        sleep_until(now() + 1);
    }
    let s = now();
    recorded(cache, &client, "this-second", s, "an expiry of this second");
    recorded(
        cache,
        &client,
        "next-second",
        s + 1,
        "an expiry of the next second",
    );
    let answer = call(cache, &client, "this-second", s);
    // Only conclusive if the second has not passed meanwhile.
    if now() == s {
        assert!(
            matches!(answer, Ok(false)),
            "conformance: a jti recorded until this second is live through it \
             (inclusive): Ok(false), got {answer:?}"
        );
    }
    sleep_until(s + 1);
    replayed(
        cache,
        &client,
        "next-second",
        s + 1,
        "a jti recorded until this second, the second before (inclusive)",
    );
    recorded(
        cache,
        &client,
        "this-second",
        s + 60,
        "a jti whose expiry has passed (forgotten once now > expires)",
    );
    replayed(cache, &client, "this-second", s + 60, "recorded again");
    sleep_until(s + 2);
    recorded(
        cache,
        &client,
        "next-second",
        s + 60,
        "a jti whose expiry has passed (forgotten once now > expires)",
    );
    replayed(cache, &client, "next-second", s + 60, "recorded again");
}

/// For a cache whose per-client quota is `quota` live `jti`s (at least 1;
/// for example `MemoryReplayCache::new(1_000).with_per_client_quota(quota)`;
/// the cache must have room for two clients at their quota): a client
/// records `quota` new `jti`s, then gets an error (the authentication
/// fails closed) for a new one, and again, while a replay of one of its
/// `jti`s is still `Ok(false)`; another client keeps its whole quota.
pub fn client_quota(cache: &dyn ReplayCache, quota: usize) {
    let (a, b) = (fresh_client(), fresh_client());
    let exp = now() + LIVE;
    for n in 0..quota {
        recorded(cache, &a, &format!("j{n}"), exp, "a jti within the quota");
    }
    for _ in 0..2 {
        let answer = call(cache, &a, "one-more", exp);
        assert!(
            answer.is_err(),
            "conformance: a client at its quota of {quota}: a new jti must be an error \
             (the authentication fails closed), got {answer:?}"
        );
    }
    if quota > 0 {
        replayed(cache, &a, "j0", exp, "a replay by a client at its quota");
    }
    for n in 0..quota {
        recorded(cache, &b, &format!("j{n}"), exp, "another client's quota");
    }
    let answer = call(cache, &b, "one-more", exp);
    assert!(
        answer.is_err(),
        "conformance: the other client at its quota of {quota}: an error, got {answer:?}"
    );
}
