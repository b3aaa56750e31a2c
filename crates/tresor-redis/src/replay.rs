//! [`RedisReplayCache`]: client-assertion `jti`s shared by several servers.

use tresor_credentials::Error;
use tresor_credentials::assertion::ReplayCache;
use tresor_credentials::client::ClientId;

use crate::RedisConnection;
use crate::keys::{CHECK_AND_RECORD, Verdict, check_and_record, valid_prefix};

/// The default key prefix of a [`RedisReplayCache`].
pub const DEFAULT_REPLAY_PREFIX: &str = "tresor:jti:";

/// The default quota of one client: at most this many live `jti`s.
pub const DEFAULT_REPLAY_CLIENT_QUOTA: usize = 1_000;

/// A [`ReplayCache`] in Redis, shared by every API server that uses the
/// same server and prefix: an assertion accepted by one server is a
/// replay on all the others.
///
/// `check_and_record(client_id, jti, expires, now)` runs one Lua script,
/// atomically: `false` if the entry of `(client_id, jti)` exists;
/// otherwise, if the client holds fewer than its quota
/// ([`RedisReplayCache::per_client_quota`], default
/// [`DEFAULT_REPLAY_CLIENT_QUOTA`]) of live `jti`s, the entry is set to
/// expire at `expires + 1` and the answer is `true`. The trait's `expires`
/// is inclusive (live while `now <= expires`) and Redis's expiry
/// exclusive, hence the second more (and at most `2^53 - 1`: a later
/// `expires` is remembered until then, forever in practice). What expired
/// is decided by the Redis server's clock (`now` is not used), so every
/// API server agrees. It passes the suite every cache must pass,
/// `tresor_credentials::assertion::conformance`, as the in-process cache
/// does.
///
/// A client at its quota, and any failure of Redis (a lost connection, a
/// timeout, an error answer), is [`Error::Storage`] (whose
/// `is_unavailable()` is true): the authentication fails closed as
/// `AuthError::Unavailable`, never as a pass.
///
/// The call **blocks** (see [`RedisConnection`]).
#[derive(Debug, Clone)]
pub struct RedisReplayCache {
    connection: RedisConnection,
    prefix: String,
    quota: usize,
    script: redis::Script,
}

impl RedisReplayCache {
    /// Connects to `url` (see [`RedisConnection::connect`]) with the
    /// default prefix, quota and timeout.
    pub fn connect(url: &str) -> crate::Result<Self> {
        Ok(Self::new(RedisConnection::connect(url)?))
    }

    /// A cache on an existing connection, with the default prefix
    /// [`DEFAULT_REPLAY_PREFIX`] and quota [`DEFAULT_REPLAY_CLIENT_QUOTA`].
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_REPLAY_PREFIX.to_owned(),
            quota: DEFAULT_REPLAY_CLIENT_QUOTA,
            script: redis::Script::new(CHECK_AND_RECORD),
        }
    }

    /// Keys under `prefix` instead of [`DEFAULT_REPLAY_PREFIX`]. Fails
    /// with [`crate::Error::InvalidPrefix`] unless it is non-empty ASCII
    /// letters, digits and `:_-.`.
    pub fn with_prefix(mut self, prefix: &str) -> crate::Result<Self> {
        if !valid_prefix(prefix) {
            return Err(crate::Error::InvalidPrefix);
        }
        prefix.clone_into(&mut self.prefix);
        Ok(self)
    }

    /// At most `quota` live `jti`s per client; `0` refuses every one.
    #[must_use]
    pub fn with_per_client_quota(mut self, quota: usize) -> Self {
        self.quota = quota;
        self
    }

    /// The per-client quota.
    pub fn per_client_quota(&self) -> usize {
        self.quota
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl ReplayCache for RedisReplayCache {
    fn check_and_record(
        &self,
        client_id: &ClientId,
        jti: &str,
        expires: i64,
        _now: i64,
    ) -> tresor_credentials::Result<bool> {
        match check_and_record(
            &self.connection,
            &self.script,
            &self.prefix,
            (client_id.as_str(), jti),
            expires.saturating_add(1),
            self.quota,
        ) {
            Ok(Verdict::Recorded) => Ok(true),
            Ok(Verdict::Replayed) => Ok(false),
            Ok(Verdict::ShareUsed) => {
                Err(Error::storage("replay cache quota of this client reached"))
            }
            Err(e) => Err(Error::storage(e)),
        }
    }
}
