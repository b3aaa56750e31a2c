//! [`PoolHandle`]: a pool that may be dropped anywhere, an async task
//! included.
//!
//! The synchronous `postgres` client closes a connection by blocking on a
//! runtime of its own, which tokio refuses (it panics) on a thread that is
//! driving async tasks. A store held by an async server is often dropped
//! on such a thread (the server's state, at shutdown). The handle therefore
//! drops its pool, and with it every idle connection, on a short-lived
//! thread of its own.

#![cfg_attr(not(any(feature = "credentials", feature = "audit")), allow(dead_code))]

use crate::pool::Pool;

/// A [`Pool`] whose connections are closed off the dropping thread.
pub(crate) struct PoolHandle(Option<Pool>);

impl PoolHandle {
    pub(crate) fn new(pool: Pool) -> Self {
        Self(Some(pool))
    }

    pub(crate) fn pool(&self) -> Option<&Pool> {
        self.0.as_ref()
    }
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            // If no thread can be started, the closure, and the pool with
            // it, is dropped here: as good as it gets.
            let _ = std::thread::Builder::new()
                .name("tresor-postgres-close".into())
                .spawn(move || drop(pool));
        }
    }
}
