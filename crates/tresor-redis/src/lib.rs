//! Shared replay protection and rate limits in Redis, for several API
//! servers with one truth: a nonce or an assertion id accepted by one
//! server is a replay on every other, and a rate-limit cell taken by one
//! is gone for all.
//!
//! - `RedisNonceStore` (feature `httpsig`): a
//!   `tresor_httpsig::NonceStore` for HTTP message signatures.
//! - `RedisReplayCache` (feature `credentials`): a
//!   `tresor_credentials` `ReplayCache` for client-assertion `jti`s.
//! - `RedisRateLimitStore` (feature `credentials`): a
//!   `tresor_credentials::RateLimitStore`, GCRA rate limits on Redis's
//!   clock, for the failure limits of a `Registry`
//!   (`RegistryBuilder::shared_rate_limits`) and limits of your own
//!   (per-client requests); see [Rate limits](#rate-limits).
//!
//! # Guarantees
//!
//! - **Atomic.** Check and record are one Lua script on the server: of
//!   any number of servers and threads presenting the same nonce at once,
//!   exactly one is accepted.
//! - **Remembered through the expiry, inclusive.** An entry whose
//!   signature or assertion expires at second `T` is kept until Redis's
//!   clock reaches `T + 1`.
//! - **The behaviour of the in-process stores.** `RedisNonceStore` and
//!   `RedisReplayCache` pass the suites every store must pass,
//!   `tresor_httpsig::nonce::conformance` and
//!   `tresor_credentials::assertion::conformance`, in this crate's tests,
//!   as `MemoryNonceStore` and `MemoryReplayCache` do.
//! - **Fail closed.** A Redis that is down, slow (each call is bounded by
//!   a timeout, default 250 ms) or refusing writes makes the check fail
//!   as an outage of the store (503), never accept, never blame the
//!   request. The connection reconnects by itself once Redis is back.
//! - **Bounded per tenant.** Each key id (client) holds at most its share
//!   of live entries; past it, only that key's new entries are refused.
//! - **Fixed-size keys.** Key ids, client ids, nonces and `jti`s are
//!   hashed (SHA-256, hex) into the keys: hostile values cannot make huge
//!   keys or reach outside the prefix.
//!
//! Configure Redis with `maxmemory-policy noeviction` (the default): an
//! evicting policy could forget a live nonce and reopen a replay window.
//! With `noeviction`, a full Redis refuses the write, which is an outage
//! here, not an acceptance.
//!
//! # TLS
//!
//! `rediss://` goes through rustls on ring (no OpenSSL, no native-tls).
//! [`RedisConnection::connect_tls`] with a [`RedisTls`] trusts only a
//! private CA, optionally presents a client certificate, and always
//! verifies the server's certificate and host name: there is no fallback
//! to plaintext and no `#insecure` mode.
//!
//! # Key layout
//!
//! Under a prefix (default `tresor:nonce:` and `tresor:jti:`), with `H` the
//! lower-case hex SHA-256 of the UTF-8 string (rate limits: see
//! [below](#rate-limits)):
//!
//! - `PREFIX{H(key id)}:H(nonce)`: the string `1`, `EXAT expires + 1`
//!   (at most `EXAT 2^53 - 1`: a later expiry, up to `i64::MAX`, is
//!   remembered until then, some 285 million years);
//! - `PREFIX{H(key id)}:index`: a sorted set of `H(nonce)` scored by the
//!   same expiry second, which counts the key's live entries; it expires
//!   with its last entry.
//!
//! # Rate limits
//!
//! `RedisRateLimitStore` implements the generic cell rate algorithm
//! (GCRA) of `tresor_credentials::RateLimitStore`. A key has a bucket of
//! `burst` cells; each allowed `take` takes one, one comes back every
//! `period`, and a key never holds more than `burst`. The whole state of
//! a key is one instant, its *theoretical arrival time* (TAT): when its
//! bucket is full again. With `now` the time, `T` the period and
//! `L = burst × T`, in microseconds:
//!
//! ```text
//! tat  = the stored TAT, or now if there is none or it has passed
//! next = tat + T
//! if next - now > L: refused, retry after (next - now - L)   (nothing written)
//! else:              allowed; a take stores TAT = next       (a peek does not)
//! ```
//!
//! This is the algorithm of the in-process
//! `tresor_credentials::MemoryRateLimitStore` (and of the `governor`
//! limiters); the conformance suite `tresor_credentials::ratelimit::conformance`
//! runs against both stores in this crate's tests. `T` and `L` are
//! `FailureQuota::period_micros` and `FailureQuota::horizon_micros`: whole
//! microseconds, at most 50 years (`ratelimit::MAX_RATE_HORIZON`), so
//! every instant stays below 2^53 and Lua's doubles compute it exactly.
//!
//! - **One clock.** Each `peek` or `take` is one `EVALSHA` of one Lua
//!   script that reads `now` from Redis's own clock (`TIME`): every API
//!   server decides by the same clock, whatever its own says. Redis
//!   replicates the script's effect (the `SET`), so a replica stores the
//!   same TAT.
//! - **Atomic.** The script reads and writes the TAT in one step: of any
//!   number of servers and threads taking from one key at once, at most
//!   `burst` are allowed.
//! - **Idle keys disappear.** The TAT is stored with `PX` = the time until
//!   it (rounded up to a millisecond): a key is gone once its bucket is
//!   full again, and a missing key is a full bucket.
//! - **Fail closed.** A Redis that is down, slow (the timeout), refusing
//!   the write (`OOM`) or holding a value that is not a number makes
//!   `peek` and `take` fail with `tresor_credentials::Error::Storage`
//!   (`is_unavailable()`), never an allowance; a `Registry` answers
//!   `AuthError::Unavailable` (503), a request limiter must answer 503
//!   too.
//!
//! Key layout: one string per limited key, `PREFIX` and then `H(key)`
//! (default prefix `tresor:rate:`), whose value is the TAT in microseconds
//! since the UNIX epoch as a decimal integer. A `Registry` uses the keys
//! `auth:source:{source}` and `auth:client:{client id}:{source}`; give
//! other limits other names (`requests:{client id}`).
//!
//! # Blocking
//!
//! The traits are synchronous: every call blocks its thread until Redis
//! answers or the timeout passes, on a one-thread tokio runtime that the
//! [`RedisConnection`] owns. Call them from ordinary threads or
//! `tokio::task::spawn_blocking` (the tresor tower layer and the
//! credential endpoint do), never from inside an async task.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "httpsig")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tresor_httpsig::NonceStore;
//! use tresor_redis::RedisNonceStore;
//!
//! let store = RedisNonceStore::connect("redis://127.0.0.1:6379/")?.per_key_limit(10_000);
//! store.check_and_remember("client-1", "a-fresh-nonce", 1_900_000_000)?;
//! assert!(store.check_and_remember("client-1", "a-fresh-nonce", 1_900_000_000).is_err());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "httpsig"))]
//! # fn main() {}
//! ```

// Without either feature only the connection is left: its internals are
// used by the stores alone.
#![cfg_attr(
    not(any(feature = "httpsig", feature = "credentials")),
    allow(dead_code)
)]

mod connection;
mod error;
mod keys;
#[cfg(feature = "httpsig")]
mod nonce;
#[cfg(feature = "credentials")]
mod ratelimit;
#[cfg(feature = "credentials")]
mod replay;

pub use connection::{DEFAULT_TIMEOUT, RedisConnection, RedisTls};
pub use error::{Error, Result};
#[cfg(feature = "httpsig")]
pub use nonce::{DEFAULT_NONCE_KEY_LIMIT, DEFAULT_NONCE_PREFIX, RedisNonceStore};
#[cfg(feature = "credentials")]
pub use ratelimit::{DEFAULT_RATE_PREFIX, RedisRateLimitStore};
#[cfg(feature = "credentials")]
pub use replay::{DEFAULT_REPLAY_CLIENT_QUOTA, DEFAULT_REPLAY_PREFIX, RedisReplayCache};
