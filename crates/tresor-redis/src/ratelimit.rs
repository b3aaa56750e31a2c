//! [`RedisRateLimitStore`]: rate limits shared by several servers, a
//! generic cell rate algorithm (GCRA) run by Redis on Redis's clock. The
//! crate docs' "Rate limits" section describes the algorithm, the clock,
//! the key layout and the outage behaviour.

use std::time::Duration;

use tresor_credentials::ratelimit::RateLimitStore;
use tresor_credentials::{Error, FailureQuota};

use crate::RedisConnection;
use crate::connection::CallError;
use crate::keys::{hashed_key, valid_prefix};

/// The default key prefix of a [`RedisRateLimitStore`].
pub const DEFAULT_RATE_PREFIX: &str = "tresor:rate:";

/// `KEYS[1]` the key's TAT; `ARGV[1]` the period `T`, `ARGV[2]` the
/// horizon `L` (both in microseconds), `ARGV[3]` `1` to take, `0` to
/// peek. Answers 0 if allowed (and, for a take, stores the new TAT with
/// `PX` until it), else the microseconds until a cell is back (at least
/// 1). A stored value that is not a number is an error.
const GCRA: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local period = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local value = tonumber(stored)
  if value == nil then
    return redis.error_reply('tresor: the rate-limit state is not a number')
  end
  if value > now then
    tat = value
  end
end
local new_tat = tat + period
local owed = new_tat - now
if owed > horizon then
  return owed - horizon
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
    'PX', string.format('%.0f', math.ceil(owed / 1000)))
end
return 0
";

/// A [`RateLimitStore`] in Redis, shared by every API server that uses
/// the same server and prefix: a cell taken by one server is gone for all
/// of them, and they all decide by Redis's clock (see the crate docs'
/// [rate limits](crate#rate-limits): GCRA, key layout, failing closed).
///
/// Use it for the failure limits of a `tresor_credentials::Registry`
/// (`RegistryBuilder::shared_rate_limits`), and for limits of your own
/// (per-client request limits) under other key names:
///
/// ```no_run
/// use std::num::NonZeroU32;
/// use std::sync::Arc;
/// use tresor_credentials::{FailureQuota, LocalPepper, MemoryStore, RateLimitStore, Registry};
/// use tresor_redis::{RedisConnection, RedisRateLimitStore};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379/")?;
/// let limits = Arc::new(RedisRateLimitStore::new(connection));
///
/// // Failed authentications, counted across every server.
/// let registry = Registry::builder(Arc::new(MemoryStore::new()), Arc::new(LocalPepper::generate()?))
///     .shared_rate_limits(limits.clone())
///     .build()?;
///
/// // 100 requests at once per client, then 100 per minute (from a thread
/// // or spawn_blocking: the call blocks).
/// let quota = FailureQuota::per_minute(NonZeroU32::new(100).unwrap());
/// match limits.take("requests:client-1", quota) {
///     Ok(None) => { /* serve */ }
///     Ok(Some(retry_after)) => { /* 429, Retry-After: retry_after */ }
///     Err(outage) => { /* 503: never serve unlimited */ }
/// }
/// # let _ = registry;
/// # Ok(())
/// # }
/// ```
///
/// The calls **block** (see [`RedisConnection`]).
#[derive(Debug, Clone)]
pub struct RedisRateLimitStore {
    connection: RedisConnection,
    prefix: String,
    script: redis::Script,
}

impl RedisRateLimitStore {
    /// Connects to `url` (see [`RedisConnection::connect`]) with the
    /// default prefix and timeout.
    pub fn connect(url: &str) -> crate::Result<Self> {
        Ok(Self::new(RedisConnection::connect(url)?))
    }

    /// A store on an existing connection (which the other stores may
    /// share), with the default prefix [`DEFAULT_RATE_PREFIX`].
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_RATE_PREFIX.to_owned(),
            script: redis::Script::new(GCRA),
        }
    }

    /// Keys under `prefix` instead of [`DEFAULT_RATE_PREFIX`] (one per
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

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Runs the script for `key`: `None` if allowed, else the wait.
    fn gcra(&self, key: &str, quota: FailureQuota, take: bool) -> Result<Option<Duration>, Error> {
        let redis_key = hashed_key(&self.prefix, key);
        let script = &self.script;
        let answer = self
            .connection
            .run(|mut manager| async move {
                let answer: i64 = script
                    .key(redis_key)
                    .arg(quota.period_micros())
                    .arg(quota.horizon_micros())
                    .arg(u8::from(take))
                    .invoke_async(&mut manager)
                    .await?;
                Ok(answer)
            })
            .map_err(Error::storage)?;
        match u64::try_from(answer) {
            Ok(0) => Ok(None),
            Ok(micros) => Ok(Some(Duration::from_micros(micros))),
            Err(_) => Err(Error::storage(CallError::Unexpected(answer))),
        }
    }
}

impl RateLimitStore for RedisRateLimitStore {
    fn peek(&self, key: &str, quota: FailureQuota) -> tresor_credentials::Result<Option<Duration>> {
        self.gcra(key, quota, false)
    }

    fn take(&self, key: &str, quota: FailureQuota) -> tresor_credentials::Result<Option<Duration>> {
        self.gcra(key, quota, true)
    }
}
