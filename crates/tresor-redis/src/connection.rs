//! The connection to Redis shared by the stores: a small runtime of its
//! own, a reconnecting connection manager, a timeout on every call.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Error, Result};

/// The default timeout of every call to Redis: 250 ms.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// Why a call to Redis failed: the source of the stores' outage errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// Redis answered with an error, or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// No answer within the timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// The script answered something it never answers.
    #[error("unexpected answer from the redis script: {0}")]
    Unexpected(i64),
}

struct Inner {
    /// `Some` until dropped; shut down in the background on drop, so that
    /// dropping a store inside an async context does not panic.
    runtime: Option<tokio::runtime::Runtime>,
    manager: ConnectionManager,
    timeout: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A connection to one Redis server, shared by clones (and by a
/// `RedisNonceStore` and a
/// `RedisReplayCache` made from it).
///
/// It owns a tokio runtime with one worker thread and a
/// [`ConnectionManager`] that reconnects by itself after the server went
/// away. Every call is bounded by the timeout (default
/// [`DEFAULT_TIMEOUT`]); a call that fails or times out is an outage of
/// the store, and the next call tries again on the (re)established
/// connection.
///
/// **The calls block** the calling thread until Redis answers or the
/// timeout passes. Call the stores from ordinary threads or from
/// `tokio::task::spawn_blocking` (as the tresor tower layers do), never
/// from inside an async task: tokio panics when a runtime is entered from
/// an async context.
#[derive(Clone)]
pub struct RedisConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Connects to the server at `url` (`redis://host:port/db`, or
    /// `redis+unix:///path`) with the default timeout.
    ///
    /// Fails with [`Error::Unreachable`] if the server cannot be reached
    /// now: a misconfigured address is found at start, not at the first
    /// request.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// Connects with `timeout` as the bound of every call (and of the
    /// first connection).
    pub fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|source| Error::InvalidUrl { source })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tresor-redis")
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime { source })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(1));
        let manager = runtime
            .block_on(async {
                // Made inside the runtime: a timer needs its context.
                tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                    .await
            })
            .map_err(|_| Error::Unreachable {
                source: Box::new(CallError::Timeout(timeout)),
            })?
            .map_err(|e| Error::Unreachable {
                source: Box::new(e),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                manager,
                timeout,
            }),
        })
    }

    /// The bound of every call.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Runs `call` on a clone of the connection manager, on the store's
    /// runtime, blocking until it answers or the timeout passes.
    pub(crate) fn run<T, F, Fut>(&self, call: F) -> std::result::Result<T, CallError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = std::result::Result<T, CallError>>,
    {
        let inner = &*self.inner;
        let Some(runtime) = inner.runtime.as_ref() else {
            // Only `Drop` takes the runtime, and it holds `&mut self`.
            return Err(CallError::Timeout(inner.timeout));
        };
        let fut = call(inner.manager.clone());
        match runtime.block_on(async { tokio::time::timeout(inner.timeout, fut).await }) {
            Ok(answer) => answer,
            Err(_) => Err(CallError::Timeout(inner.timeout)),
        }
    }
}
