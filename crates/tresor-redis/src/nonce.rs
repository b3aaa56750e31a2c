//! [`RedisNonceStore`]: HTTP-signature nonces shared by several servers.

use tresor_httpsig::{Error, NonceStore};

use crate::RedisConnection;
use crate::keys::{CHECK_AND_RECORD, Verdict, check_and_record, valid_prefix};

/// The default key prefix of a [`RedisNonceStore`].
pub const DEFAULT_NONCE_PREFIX: &str = "tresor:nonce:";

/// The default share of one key id: at most this many live nonces.
pub const DEFAULT_NONCE_KEY_LIMIT: usize = 100_000;

/// A [`NonceStore`] in Redis, shared by every API server that uses the
/// same server and prefix: a nonce accepted by one server is a replay on
/// all the others.
///
/// `check_and_remember(key_id, nonce, expires_at)` runs one Lua script,
/// atomically: if the entry of `(key_id, nonce)` exists, the nonce is
/// [`Error::ReplayedNonce`]; otherwise, if the key id holds fewer than its
/// share ([`RedisNonceStore::per_key_limit`], default
/// [`DEFAULT_NONCE_KEY_LIMIT`]) of live nonces, the entry is set to expire
/// at `expires_at + 1` (Redis forgets a key at its expiry second; the
/// nonce must be remembered through `expires_at`, inclusive, as
/// [`tresor_httpsig::MemoryNonceStore`] does; an `expires_at` from
/// `2^53 - 1` up to `i64::MAX`, which the verifier passes for a signature
/// that nothing bounds in time, is remembered until the second `2^53 - 1`,
/// forever in practice); else [`Error::LimitExceeded`] for that key id
/// only. Key ids and nonces are hashed (SHA-256) into the keys, see the
/// crate's documentation. It passes the suite every store must pass,
/// `tresor_httpsig::nonce::conformance`, as the in-process store does.
///
/// Any failure of Redis (a lost connection, a timeout, an error answer
/// such as `OOM` under `maxmemory`) is [`Error::Unavailable`] with
/// `what = "nonce store"`: the request fails closed (503), the nonce is
/// never accepted unseen and never blamed as a replay.
///
/// The call **blocks** (see [`RedisConnection`]).
#[derive(Debug, Clone)]
pub struct RedisNonceStore {
    connection: RedisConnection,
    prefix: String,
    key_limit: usize,
    script: redis::Script,
}

impl RedisNonceStore {
    /// Connects to `url` (see [`RedisConnection::connect`]) with the
    /// default prefix, share and timeout.
    pub fn connect(url: &str) -> crate::Result<Self> {
        Ok(Self::new(RedisConnection::connect(url)?))
    }

    /// A store on an existing connection, with the default prefix
    /// [`DEFAULT_NONCE_PREFIX`] and share [`DEFAULT_NONCE_KEY_LIMIT`].
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_NONCE_PREFIX.to_owned(),
            key_limit: DEFAULT_NONCE_KEY_LIMIT,
            script: redis::Script::new(CHECK_AND_RECORD),
        }
    }

    /// Keys under `prefix` instead of [`DEFAULT_NONCE_PREFIX`] (one per
    /// application sharing a Redis server). Fails with
    /// [`crate::Error::InvalidPrefix`] unless it is non-empty ASCII
    /// letters, digits and `:_-.`.
    pub fn with_prefix(mut self, prefix: &str) -> crate::Result<Self> {
        if !valid_prefix(prefix) {
            return Err(crate::Error::InvalidPrefix);
        }
        prefix.clone_into(&mut self.prefix);
        Ok(self)
    }

    /// At most `limit` live nonces per key id; `0` refuses every nonce.
    /// One tenant flooding the servers with valid signed requests uses up
    /// its own share, not Redis's memory.
    #[must_use]
    pub fn per_key_limit(mut self, limit: usize) -> Self {
        self.key_limit = limit;
        self
    }

    /// The per-key share.
    pub fn key_limit(&self) -> usize {
        self.key_limit
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl NonceStore for RedisNonceStore {
    fn check_and_remember(
        &self,
        key_id: &str,
        nonce: &str,
        expires_at: i64,
    ) -> tresor_httpsig::Result<()> {
        match check_and_record(
            &self.connection,
            &self.script,
            &self.prefix,
            (key_id, nonce),
            expires_at.saturating_add(1),
            self.key_limit,
        ) {
            Ok(Verdict::Recorded) => Ok(()),
            Ok(Verdict::Replayed) => Err(Error::ReplayedNonce),
            Ok(Verdict::ShareUsed) => Err(Error::LimitExceeded {
                what: "nonce store share of this key",
                limit: self.key_limit,
            }),
            Err(e) => Err(Error::unavailable("nonce store", e)),
        }
    }
}
