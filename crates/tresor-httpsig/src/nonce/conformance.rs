//! A conformance suite for [`NonceStore`] implementations: the behaviour
//! every store must share with [`MemoryNonceStore`](super::MemoryNonceStore),
//! the embedded default, as the [`NonceStore`] docs define it.
//!
//! - the first use of `(key id, nonce)` is accepted, every later one is
//!   [`Error::ReplayedNonce`] while the entry is live, whatever expiry the
//!   replay presents;
//! - key ids are independent, and so are the same nonce under two key ids
//!   (and pairs that would collide if the store concatenated them);
//! - an entry is live **through** `expires_at`, inclusive (while
//!   `now <= expires_at`) and forgotten once `now > expires_at`: the nonce
//!   is then accepted again; a nonce presented with an `expires_at`
//!   already passed is accepted and not remembered;
//! - of several threads presenting one new nonce at once, exactly one is
//!   accepted, the others get `ReplayedNonce`;
//! - hostile key ids and nonces (empty, long, separators, braces, control
//!   characters, non-ASCII) give an answer or a clean error, never a
//!   panic; expiries far ahead, up to `i64::MAX`, are remembered;
//! - with [`key_share`] (not part of [`run_all`], as the share is the
//!   store's configuration): a key id holding its share gets
//!   [`Error::LimitExceeded`] for new nonces, and only it.
//!
//! Behind the `conformance` cargo feature (off by default). The functions
//! panic, with a message naming the property, when the store misbehaves:
//! call them from a test. Each property uses key ids of its own, made
//! unique per call (a time stamp and a counter), so one store, even a
//! shared or persistent one, can run the suite any number of times.
//! [`run_all`] needs a per-key share of at least 32 nonces and room for a
//! few hundred live ones in all. [`expiry_is_inclusive`] sleeps (about two
//! seconds: expiries are whole UNIX seconds) and reads the system clock,
//! which the store's clock (a Redis server's, say) must agree with to well
//! under a second.
//!
//! ```
//! use tresor_httpsig::MemoryNonceStore;
//! use tresor_httpsig::nonce::conformance;
//!
//! conformance::run_all(&MemoryNonceStore::new(10_000));
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::NonceStore;
use crate::error::{Error, Result};

/// How far ahead the suite's live entries expire, in seconds.
const LIVE: i64 = 300;

/// Runs every property of this module (except [`key_share`], which needs
/// the store's share) against `store`. Takes about two seconds.
pub fn run_all(store: &dyn NonceStore) {
    first_use_is_accepted(store);
    replay_is_refused(store);
    key_ids_are_independent(store);
    same_nonce_under_two_key_ids(store);
    past_expiry_is_not_remembered(store);
    hostile_inputs(store);
    extreme_expiries(store);
    concurrent_first_use(store, 16);
    expiry_is_inclusive(store);
}

/// A key id no other call of the suite uses: `conformance:{what}:{unique}`.
pub fn fresh_key_id(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("conformance:{what}:{nanos:x}-{n}")
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

/// The call, for messages: key id and nonce cut to 40 characters.
fn shown(key_id: &str, nonce: &str) -> String {
    format!("({key_id:.40?}, {nonce:.40?})")
}

fn accepted(store: &dyn NonceStore, key_id: &str, nonce: &str, expires_at: i64, what: &str) {
    if let Err(e) = store.check_and_remember(key_id, nonce, expires_at) {
        panic!(
            "conformance: {what}: {} must be accepted, got {e:?}",
            shown(key_id, nonce)
        );
    }
}

fn replayed(store: &dyn NonceStore, key_id: &str, nonce: &str, expires_at: i64, what: &str) {
    let answer = store.check_and_remember(key_id, nonce, expires_at);
    assert!(
        answer == Err(Error::ReplayedNonce),
        "conformance: {what}: {} must be ReplayedNonce, got {answer:?}",
        shown(key_id, nonce)
    );
}

/// A new nonce, under a new key id, is accepted; so are other new nonces
/// of that key id.
pub fn first_use_is_accepted(store: &dyn NonceStore) {
    let key = fresh_key_id("first");
    let exp = now() + LIVE;
    for nonce in ["n1", "n2", "n3"] {
        accepted(store, &key, nonce, exp, "first use");
    }
}

/// A nonce used once is refused with [`Error::ReplayedNonce`] (not another
/// error) on every later use while live: with the same expiry, a later
/// one, an earlier one, one already passed.
pub fn replay_is_refused(store: &dyn NonceStore) {
    let key = fresh_key_id("replay");
    let exp = now() + LIVE;
    accepted(store, &key, "n", exp, "first use");
    for (presented, what) in [
        (exp, "a replay"),
        (exp, "a second replay"),
        (exp + LIVE, "a replay with a later expiry"),
        (exp - 60, "a replay with an earlier expiry"),
        (now() - 10, "a replay with an expiry already passed"),
        (i64::MIN, "a replay with expiry i64::MIN"),
    ] {
        replayed(store, &key, "n", presented, what);
    }
    // The replays did not shorten the entry.
    replayed(store, &key, "n", exp, "a replay after replays");
}

/// Two key ids have separate nonces: a nonce of one is unknown to the
/// other, and pairs that would collide if the store joined key id and
/// nonce with a separator (or without one) are separate entries.
pub fn key_ids_are_independent(store: &dyn NonceStore) {
    let a = fresh_key_id("independent-a");
    let b = fresh_key_id("independent-b");
    let exp = now() + LIVE;
    accepted(store, &a, "only-a", exp, "key a");
    accepted(store, &b, "only-b", exp, "key b");
    replayed(store, &a, "only-a", exp, "key a");
    replayed(store, &b, "only-b", exp, "key b");
    accepted(store, &b, "only-a", exp, "a nonce of key a under key b");
    accepted(store, &a, "only-b", exp, "a nonce of key b under key a");

    let k = fresh_key_id("boundary");
    let pairs = [
        (k.clone(), "a:b".to_owned()),
        (format!("{k}:a"), "b".to_owned()),
        (format!("{k}:"), "a:b".to_owned()),
        (format!("{k}a"), ":b".to_owned()),
        (format!("{k}a:b"), String::new()),
        (k.clone(), "a:b:".to_owned()),
        (format!("{k}\0a"), "b".to_owned()),
        (k.clone(), "\0a:b".to_owned()),
    ];
    for (key, nonce) in &pairs {
        accepted(store, key, nonce, exp, "a pair that joins like another");
    }
    for (key, nonce) in &pairs {
        replayed(store, key, nonce, exp, "a pair that joins like another");
    }
}

/// One nonce under two key ids is two entries: accepted under each once,
/// then refused under each; many key ids sharing one nonce likewise.
pub fn same_nonce_under_two_key_ids(store: &dyn NonceStore) {
    let keys: Vec<String> = (0..5)
        .map(|i| fresh_key_id(&format!("same-nonce-{i}")))
        .collect();
    let exp = now() + LIVE;
    for key in &keys {
        accepted(store, key, "shared", exp, "one nonce under another key id");
    }
    for key in &keys {
        replayed(store, key, "shared", exp, "one nonce under each key id");
    }
}

/// A nonce presented with an `expires_at` already passed is accepted
/// (nothing to remember: the signature's window is over, the verifier
/// refuses it on its own) and accepted again; it is not remembered, so a
/// later use with a live expiry is accepted too.
pub fn past_expiry_is_not_remembered(store: &dyn NonceStore) {
    let key = fresh_key_id("past");
    let past = now() - 10;
    accepted(store, &key, "old", past, "an expiry already passed");
    accepted(store, &key, "old", past, "an expiry already passed, again");
    accepted(store, &key, "old", now() - 1, "the second before now");
    let exp = now() + LIVE;
    accepted(store, &key, "old", exp, "after uses with expiries passed");
    replayed(store, &key, "old", exp, "then live");
}

/// Key ids and nonces of any content: empty, long (64 KiB), with
/// separators, braces, glob and format characters, CR LF, NUL, non-ASCII
/// and bidirectional controls. Each is accepted once and then refused,
/// independently of the others, except the longest values, which a store
/// may refuse with a clean error ([`Error::LimitExceeded`] or
/// [`Error::Unavailable`]) instead. Never a panic.
pub fn hostile_inputs(store: &dyn NonceStore) {
    let base = fresh_key_id("hostile");
    let exp = now() + LIVE;
    let values = [
        String::new(),
        " ".to_owned(),
        ":".to_owned(),
        "{tag}".to_owned(),
        "}{*?[a-z]\\".to_owned(),
        "%s%n%x".to_owned(),
        "'; DROP TABLE nonces; --".to_owned(),
        "\r\n\t\0\u{7f}".to_owned(),
        "é€😀".to_owned(),
        "\u{202e}\u{200b}\u{feff}".to_owned(),
    ];
    // Each value as a nonce under one fresh key id, then as the tail of a
    // key id with a fixed nonce.
    for value in &values {
        accepted(store, &base, value, exp, "a hostile nonce");
    }
    for value in &values {
        accepted(
            store,
            &format!("{base}{value}"),
            "n",
            exp,
            "a hostile key id",
        );
    }
    for value in &values {
        replayed(store, &base, value, exp, "a hostile nonce");
        replayed(
            store,
            &format!("{base}{value}"),
            "n",
            exp,
            "a hostile key id",
        );
    }
    // A key id that is entirely hostile cannot be made unique per run:
    // new or already seen (by an earlier run), but seen after one call.
    let short = now() + 60;
    for key in ["", "\0", "é€😀"] {
        let nonce = fresh_key_id("hostile-nonce");
        accepted(
            store,
            key,
            &nonce,
            short,
            "a fresh nonce under a hostile key id",
        );
        replayed(store, key, &nonce, short, "a hostile key id");
        let first = store.check_and_remember(key, "", short);
        assert!(
            first.is_ok() || first == Err(Error::ReplayedNonce),
            "conformance: {}: an answer, got {first:?}",
            shown(key, "")
        );
        replayed(
            store,
            key,
            "",
            short,
            "an empty nonce under a hostile key id",
        );
    }
    // Long values: remembered, or refused cleanly.
    let long = format!("{base}{}", "x".repeat(64 * 1024));
    for (key, nonce) in [(long.as_str(), "n"), (base.as_str(), long.as_str())] {
        match store.check_and_remember(key, nonce, exp) {
            Ok(()) => replayed(store, key, nonce, exp, "a 64 KiB value"),
            Err(e) => clean_refusal(&e, key, nonce),
        }
    }
}

/// An error a store may give for an input it cannot hold: a limit or an
/// outage, never a replay of a value never seen.
fn clean_refusal(error: &Error, key_id: &str, nonce: &str) {
    assert!(
        matches!(
            error,
            Error::LimitExceeded { .. } | Error::Unavailable { .. }
        ),
        "conformance: {}: a new value is accepted, or refused with LimitExceeded or \
         Unavailable, got {error:?}",
        shown(key_id, nonce)
    );
}

/// Expiries at the edges of `i64`: `i64::MIN` (and `0`, the epoch) are
/// passed, accepted and not remembered; a year ahead, `2^53` and beyond,
/// up to `i64::MAX`, are remembered like any other. `i64::MAX` is what the
/// verifier passes for a signature that nothing bounds in time (a nonce
/// the policy does not require), so a store must not refuse it. No
/// overflow, no panic.
pub fn extreme_expiries(store: &dyn NonceStore) {
    let key = fresh_key_id("extreme");
    for past in [i64::MIN, i64::MIN + 1, -1, 0] {
        accepted(store, &key, "past", past, "an expiry far in the past");
    }
    accepted(store, &key, "past", now() + LIVE, "after far past expiries");
    for (nonce, exp) in [
        ("year", now() + 366 * 86_400),
        ("2^53", 1 << 53),
        ("2^53+1", (1 << 53) + 1),
        ("2^62", 1 << 62),
        ("max-1", i64::MAX - 1),
        ("max", i64::MAX),
    ] {
        accepted(store, &key, nonce, exp, "a far expiry");
        replayed(store, &key, nonce, exp, "a far expiry");
    }
}

/// `threads` threads present one new nonce at once, five times: exactly
/// one is accepted each time, every other gets `ReplayedNonce`. Then
/// `threads` threads each present their own new nonce under one key id at
/// once: all are accepted, and each is then a replay (no lost write).
pub fn concurrent_first_use(store: &dyn NonceStore, threads: usize) {
    let threads = threads.max(2);
    let key = fresh_key_id("race");
    let exp = now() + LIVE;
    for round in 0..5 {
        let nonce = format!("race-{round}");
        let results = race(store, threads, |_| (key.clone(), nonce.clone(), exp));
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert!(
            wins == 1
                && results
                    .iter()
                    .all(|r| r.is_ok() || *r == Err(Error::ReplayedNonce)),
            "conformance: {threads} threads presenting one nonce: exactly one must win, \
             the others ReplayedNonce, got {results:?}"
        );
    }
    let key = fresh_key_id("race-distinct");
    let results = race(store, threads, |t| (key.clone(), format!("own-{t}"), exp));
    assert!(
        results.iter().all(Result::is_ok),
        "conformance: {threads} threads each with a nonce of its own: all accepted, got \
         {results:?}"
    );
    for t in 0..threads {
        replayed(store, &key, &format!("own-{t}"), exp, "a nonce of a race");
    }
}

/// Runs `threads` calls at once (behind a barrier), the `t`-th with the
/// arguments `args(t)`.
fn race(
    store: &dyn NonceStore,
    threads: usize,
    args: impl Fn(usize) -> (String, String, i64),
) -> Vec<Result<()>> {
    let barrier = Arc::new(Barrier::new(threads));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = barrier.clone();
                let (key, nonce, exp) = args(t);
                scope.spawn(move || {
                    barrier.wait();
                    store.check_and_remember(&key, &nonce, exp)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("conformance: a racing thread panicked"))
            .collect()
    })
}

/// An entry is live through its `expires_at`, inclusive, and forgotten
/// after: recorded in second `s` until `s` it is refused during `s`;
/// recorded until `s + 1` it is still refused during `s + 1`, while the
/// first is accepted again; during `s + 2` both are. Sleeps up to about
/// two seconds, on the system clock (see the [module docs](self)).
pub fn expiry_is_inclusive(store: &dyn NonceStore) {
    let key = fresh_key_id("expiry");
    // Start early in a second, so the same-second checks have time.
    let subsec = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    if subsec > 600 {
        sleep_until(now() + 1);
    }
    let s = now();
    accepted(store, &key, "this-second", s, "an expiry of this second");
    accepted(
        store,
        &key,
        "next-second",
        s + 1,
        "an expiry of the next second",
    );
    let answer = store.check_and_remember(&key, "this-second", s);
    // Only conclusive if the second has not passed meanwhile.
    if now() == s {
        assert!(
            answer == Err(Error::ReplayedNonce),
            "conformance: a nonce remembered until this second is live through it \
             (inclusive): ReplayedNonce, got {answer:?}"
        );
    }
    sleep_until(s + 1);
    replayed(
        store,
        &key,
        "next-second",
        s + 1,
        "a nonce remembered until this second, recorded the second before (inclusive)",
    );
    accepted(
        store,
        &key,
        "this-second",
        s + 60,
        "a nonce whose expiry has passed (forgotten once now > expires_at)",
    );
    replayed(store, &key, "this-second", s + 60, "remembered again");
    sleep_until(s + 2);
    accepted(
        store,
        &key,
        "next-second",
        s + 60,
        "a nonce whose expiry has passed (forgotten once now > expires_at)",
    );
    replayed(store, &key, "next-second", s + 60, "remembered again");
}

/// For a store whose per-key share is `share` live nonces (for example
/// `MemoryNonceStore::new(1_000).per_key_limit(share)`; the store must
/// have room for two key ids at their share): a key id accepts `share`
/// new nonces, then gets [`Error::LimitExceeded`] for a new one (and
/// again), while a replay of one of its nonces is still `ReplayedNonce`
/// and a nonce with an expiry already passed is not refused as a replay;
/// another key id keeps its whole share.
pub fn key_share(store: &dyn NonceStore, share: usize) {
    let a = fresh_key_id("share-a");
    let b = fresh_key_id("share-b");
    let exp = now() + LIVE;
    for n in 0..share {
        accepted(store, &a, &format!("n{n}"), exp, "a nonce within the share");
    }
    for _ in 0..2 {
        let answer = store.check_and_remember(&a, "one-more", exp);
        assert!(
            matches!(answer, Err(Error::LimitExceeded { .. })),
            "conformance: a key id at its share of {share}: a new nonce must be \
             LimitExceeded, got {answer:?}"
        );
    }
    if share > 0 {
        replayed(store, &a, "n0", exp, "a replay by a key id at its share");
    }
    let answer = store.check_and_remember(&a, "expired", now() - 10);
    assert!(
        answer != Err(Error::ReplayedNonce),
        "conformance: a key id at its share: a new nonce is never a replay, got {answer:?}"
    );
    for n in 0..share {
        accepted(store, &b, &format!("n{n}"), exp, "another key id's share");
    }
    let answer = store.check_and_remember(&b, "one-more", exp);
    assert!(
        matches!(answer, Err(Error::LimitExceeded { .. })),
        "conformance: the other key id at its share of {share}: LimitExceeded, got {answer:?}"
    );
}
