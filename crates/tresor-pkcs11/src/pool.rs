//! The session pool: logged-in sessions, reused, and dropped when they fail.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::Session;

use crate::token::{Inner, LoginFailure};

/// What a failed PKCS#11 call says about the session it ran in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Fault {
    /// The token, device or module failed or went away, or a session was
    /// closed or logged out: every session of the token is suspect, and
    /// the slot must be looked up again.
    Token,
    /// This session is in a state it should not be in.
    Session,
    /// An object handle is stale (the key was deleted, or the token was
    /// reset): look the key up again.
    Object,
    /// The call failed for its own reasons; the session is fine.
    Call,
}

impl Fault {
    pub(crate) fn of(err: &CkError) -> Fault {
        let CkError::Pkcs11(rv, _) = err else {
            return Fault::Call;
        };
        match rv {
            // Login state and (after a device restart) session handles
            // belong to the whole token: when one session is closed or
            // logged out, the idle ones are too.
            RvError::DeviceError
            | RvError::DeviceMemory
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::SlotIdInvalid
            | RvError::CryptokiNotInitialized
            | RvError::GeneralError
            | RvError::FunctionFailed
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::UserNotLoggedIn => Fault::Token,
            RvError::OperationActive | RvError::OperationNotInitialized => Fault::Session,
            RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid => Fault::Object,
            _ => Fault::Call,
        }
    }
}

/// How many sessions a token has opened and discarded, how many are open
/// and idle now, and how often callers had to wait for one.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct SessionStats {
    /// Sessions opened since the token was opened.
    pub opened: u64,
    /// Sessions closed because they, or another session of the token,
    /// failed with a token or session error.
    pub discarded: u64,
    /// Sessions idle in the pool now.
    pub idle: usize,
    /// Sessions open now: idle, in use, and read-write sessions of key
    /// generation. Never more than [`TokenOptions::max_sessions`].
    ///
    /// [`TokenOptions::max_sessions`]: crate::TokenOptions::max_sessions
    pub open: usize,
    /// The most sessions that were open at once since the token was
    /// opened.
    pub peak: usize,
    /// Callers that found every session in use and waited for one.
    pub waited: u64,
    /// Callers that waited for the whole
    /// [`TokenOptions::session_wait`](crate::TokenOptions::session_wait)
    /// and got [`Error::SessionsExhausted`](crate::Error::SessionsExhausted).
    pub timed_out: u64,
}

/// What [`Pool::checkout`] hands out.
pub(crate) enum Checkout {
    /// An idle, logged-in session of the current generation.
    Idle(Session),
    /// Room for one new session: the caller opens it, or calls
    /// [`Pool::release_slot`] if it cannot.
    New,
}

/// The sessions of one token: the idle ones, and the count of every open
/// one, capped. A token-level failure bumps the generation and empties the
/// pool; sessions of an older generation that are still in use are closed
/// when returned, not pooled.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Signalled when a session goes back to the pool or is closed.
    freed: Condvar,
    generation: AtomicU64,
    max_idle: usize,
    max_open: usize,
    wait: Duration,
    opened: AtomicU64,
    discarded: AtomicU64,
    waited: AtomicU64,
    timed_out: AtomicU64,
}

struct State {
    idle: Vec<Session>,
    /// Sessions open now (idle, in use, or being opened). A session is
    /// counted before `C_OpenSession` and uncounted after `C_CloseSession`,
    /// so the token never has more than `max_open` at any instant.
    open: usize,
    peak: usize,
}

impl Pool {
    pub(crate) fn new(max_idle: usize, max_open: usize, wait: Duration) -> Self {
        let max_open = max_open.max(1);
        Pool {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                peak: 0,
            }),
            freed: Condvar::new(),
            generation: AtomicU64::new(0),
            max_idle: max_idle.clamp(1, max_open),
            max_open,
            wait,
            opened: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            waited: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The most sessions this pool opens at once.
    pub(crate) fn max_open(&self) -> usize {
        self.max_open
    }

    /// How long a caller waits for a session.
    pub(crate) fn wait(&self) -> Duration {
        self.wait
    }

    /// An idle session (`idle_ok`), or room for a new one, with the pool
    /// generation it belongs to; waits up to the pool's wait time while
    /// every session is in use. `None` if none came free in time.
    ///
    /// A caller that needs a new session (`idle_ok` false: a read-write
    /// session) and finds the pool full of idle ones closes one of them to
    /// make room.
    pub(crate) fn checkout(&self, idle_ok: bool) -> Option<(Checkout, u64)> {
        let mut deadline = None;
        let mut state = self.lock();
        loop {
            let generation = self.generation();
            if idle_ok && let Some(session) = state.idle.pop() {
                return Some((Checkout::Idle(session), generation));
            }
            if state.open < self.max_open {
                state.open += 1;
                state.peak = state.peak.max(state.open);
                return Some((Checkout::New, generation));
            }
            if let Some(session) = state.idle.pop() {
                // Close an idle session (uncounted once closed), then try
                // again.
                drop(state);
                drop(session);
                self.uncount(1);
                state = self.lock();
                continue;
            }
            let now = Instant::now();
            let deadline = *deadline.get_or_insert_with(|| {
                self.waited.fetch_add(1, Ordering::Relaxed);
                now + self.wait
            });
            let Some(left) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                self.timed_out.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Gives back the room taken by [`Checkout::New`] when the session
    /// could not be opened.
    pub(crate) fn release_slot(&self) {
        self.uncount(1);
    }

    pub(crate) fn count_opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets every idle session (they are closed) and starts a new
    /// generation.
    pub(crate) fn invalidate(&self) {
        let stale = {
            let mut state = self.lock();
            self.generation.fetch_add(1, Ordering::AcqRel);
            std::mem::take(&mut state.idle)
        };
        let count = stale.len();
        self.discarded.fetch_add(count as u64, Ordering::Relaxed);
        drop(stale);
        self.uncount(count);
    }

    /// Takes back a session: pooled if it is healthy, of the current
    /// generation, meant for the pool and there is room; closed otherwise.
    fn give_back(&self, session: Session, generation: u64, healthy: bool, pooled: bool) {
        let mut state = self.lock();
        let current = generation == self.generation();
        if healthy && current && pooled && state.idle.len() < self.max_idle {
            state.idle.push(session);
            drop(state);
            self.freed.notify_one();
            return;
        }
        drop(state);
        if !healthy || !current {
            self.discarded.fetch_add(1, Ordering::Relaxed);
        }
        drop(session);
        self.uncount(1);
    }

    /// `count` sessions are closed: make room for as many callers.
    fn uncount(&self, count: usize) {
        if count == 0 {
            return;
        }
        let mut state = self.lock();
        state.open = state.open.saturating_sub(count);
        drop(state);
        if count == 1 {
            self.freed.notify_one();
        } else {
            self.freed.notify_all();
        }
    }

    pub(crate) fn stats(&self) -> SessionStats {
        let state = self.lock();
        SessionStats {
            opened: self.opened.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
            idle: state.idle.len(),
            open: state.open,
            peak: state.peak,
            waited: self.waited.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A logged-in session borrowed from a token's pool; it goes back to the
/// pool when dropped, unless a call in it failed in a way that makes it
/// unusable ([`PooledSession::fail`]).
pub(crate) struct PooledSession<'t> {
    token: &'t Inner,
    session: Option<Session>,
    generation: u64,
    healthy: bool,
    /// Whether the session goes back to the pool (read-only sessions) or
    /// is closed when dropped (read-write sessions of key generation).
    pooled: bool,
}

impl<'t> PooledSession<'t> {
    pub(crate) fn new(token: &'t Inner, session: Session, generation: u64, pooled: bool) -> Self {
        PooledSession {
            token,
            session: Some(session),
            generation,
            healthy: true,
            pooled,
        }
    }

    /// Records that `operation` failed with `err` in this session: a
    /// session or token fault retires the session (a token fault also
    /// empties the pool and forgets the slot), and the error is mapped to
    /// the crate's.
    pub(crate) fn fail(&mut self, operation: &'static str, err: CkError) -> crate::Error {
        match Fault::of(&err) {
            Fault::Token => {
                self.healthy = false;
                self.token.reset();
            }
            Fault::Session => self.healthy = false,
            Fault::Object | Fault::Call => {}
        }
        self.token.error(operation, err)
    }

    /// The token this session belongs to.
    pub(crate) fn token(&self) -> &'t Inner {
        self.token
    }

    /// Closes this session when it is dropped instead of pooling it.
    pub(crate) fn discard(&mut self) {
        self.healthy = false;
    }

    /// Logs the session in unless it already is.
    pub(crate) fn ensure_login(&mut self) -> crate::Result<()> {
        match self.token.ensure_login(self) {
            Ok(()) => Ok(()),
            Err(LoginFailure::Refused(err)) => Err(err),
            Err(LoginFailure::Call(operation, err)) => Err(self.fail(operation, err)),
        }
    }
}

impl Deref for PooledSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session
            .as_ref()
            .expect("a pooled session holds its session until dropped")
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.token
                .pool
                .give_back(session, self.generation, self.healthy, self.pooled);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    /// Room for new sessions only (no token needed): the cap holds, a
    /// caller beyond it waits for the wait time and gets nothing, and one
    /// that waits while room comes free gets it.
    #[test]
    fn the_cap_holds_and_waiters_wait() {
        let pool = Arc::new(Pool::new(16, 2, Duration::from_millis(150)));
        assert!(matches!(pool.checkout(true), Some((Checkout::New, 0))));
        assert!(matches!(pool.checkout(false), Some((Checkout::New, 0))));
        let start = Instant::now();
        assert!(pool.checkout(true).is_none());
        assert!(start.elapsed() >= Duration::from_millis(150));
        let stats = pool.stats();
        assert_eq!(
            (stats.open, stats.peak, stats.waited, stats.timed_out),
            (2, 2, 1, 1)
        );

        let releaser = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                pool.release_slot();
            })
        };
        assert!(matches!(pool.checkout(true), Some((Checkout::New, 0))));
        releaser.join().unwrap();
        let stats = pool.stats();
        assert_eq!(
            (stats.open, stats.peak, stats.waited, stats.timed_out),
            (2, 2, 2, 1)
        );
    }

    #[test]
    fn limits_are_at_least_one_and_idle_at_most_the_cap() {
        let pool = Pool::new(0, 0, Duration::ZERO);
        assert_eq!(pool.max_open(), 1);
        assert_eq!(pool.max_idle, 1);
        let pool = Pool::new(16, 4, Duration::ZERO);
        assert_eq!(pool.max_idle, 4);
        assert!(pool.checkout(true).is_some());
        assert_eq!(pool.stats().open, 1);
    }
}
