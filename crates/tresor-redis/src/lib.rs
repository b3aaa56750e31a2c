//! Shared replay protection in Redis, for several API servers with one
//! truth: a nonce or an assertion id accepted by one server is a replay on
//! every other.
//!
//! - `RedisNonceStore` (feature `httpsig`): a
//!   `tresor_httpsig::NonceStore` for HTTP message signatures.
//! - `RedisReplayCache` (feature `credentials`): a
//!   `tresor_credentials` `ReplayCache` for client-assertion `jti`s.
//!
//! # Guarantees
//!
//! - **Atomic.** Check and record are one Lua script on the server: of
//!   any number of servers and threads presenting the same nonce at once,
//!   exactly one is accepted.
//! - **Remembered through the expiry, inclusive.** An entry whose
//!   signature or assertion expires at second `T` is kept until Redis's
//!   clock reaches `T + 1`.
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
//! lower-case hex SHA-256 of the UTF-8 string:
//!
//! - `PREFIX{H(key id)}:H(nonce)`: the string `1`, `EXAT expires + 1`;
//! - `PREFIX{H(key id)}:index`: a sorted set of `H(nonce)` scored by the
//!   same expiry second, which counts the key's live entries; it expires
//!   with its last entry.
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
mod replay;

pub use connection::{DEFAULT_TIMEOUT, RedisConnection, RedisTls};
pub use error::{Error, Result};
#[cfg(feature = "httpsig")]
pub use nonce::{DEFAULT_NONCE_KEY_LIMIT, DEFAULT_NONCE_PREFIX, RedisNonceStore};
#[cfg(feature = "credentials")]
pub use replay::{DEFAULT_REPLAY_CLIENT_QUOTA, DEFAULT_REPLAY_PREFIX, RedisReplayCache};
