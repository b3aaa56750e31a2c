//! The session pool: logged-in sessions, reused, and dropped when they fail.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

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

/// How many sessions a token has opened and discarded, and how many are
/// idle in its pool now.
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
}

/// Idle sessions of one token. A token-level failure bumps the generation
/// and empties the pool; sessions of an older generation that are still
/// in use are closed when returned, not pooled.
pub(crate) struct Pool {
    idle: Mutex<Vec<Session>>,
    generation: AtomicU64,
    max_idle: usize,
    opened: AtomicU64,
    discarded: AtomicU64,
}

impl Pool {
    pub(crate) fn new(max_idle: usize) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            max_idle,
            opened: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// An idle session, if there is one.
    pub(crate) fn take(&self) -> Option<Session> {
        self.lock().pop()
    }

    pub(crate) fn count_opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets every idle session (they are closed) and starts a new
    /// generation.
    pub(crate) fn invalidate(&self) {
        let stale = {
            let mut idle = self.lock();
            self.generation.fetch_add(1, Ordering::AcqRel);
            std::mem::take(&mut *idle)
        };
        self.discarded
            .fetch_add(stale.len() as u64, Ordering::Relaxed);
        drop(stale);
    }

    fn give_back(&self, session: Session, generation: u64, healthy: bool) {
        let mut idle = self.lock();
        if !healthy || generation != self.generation() {
            drop(idle);
            self.discarded.fetch_add(1, Ordering::Relaxed);
        } else if idle.len() < self.max_idle {
            idle.push(session);
        }
    }

    pub(crate) fn stats(&self) -> SessionStats {
        SessionStats {
            opened: self.opened.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
            idle: self.lock().len(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
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
}

impl<'t> PooledSession<'t> {
    pub(crate) fn new(token: &'t Inner, session: Session, generation: u64) -> Self {
        PooledSession {
            token,
            session: Some(session),
            generation,
            healthy: true,
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
                .give_back(session, self.generation, self.healthy);
        }
    }
}
