//! A token: its module, its slot, its PIN and its session pool.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;

use crate::error::Pkcs11Failure;
use crate::module::{self, Module};
use crate::pin::Pin;
use crate::pool::{Checkout, Fault, Pool, PooledSession, SessionStats};
use crate::uri::Pkcs11Uri;
use crate::{BackendError, Error, Result};

/// How a [`Token`] manages its sessions.
///
/// ```
/// use std::time::Duration;
/// use tresor_pkcs11::TokenOptions;
///
/// // A YubiKey-class token: few sessions, and callers queue for them.
/// let options = TokenOptions::new()
///     .max_sessions(2)
///     .session_wait(Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenOptions {
    max_idle_sessions: usize,
    max_sessions: usize,
    session_wait: Duration,
}

/// The default [`TokenOptions::max_sessions`].
pub const DEFAULT_MAX_SESSIONS: usize = 32;
/// The default [`TokenOptions::session_wait`].
pub const DEFAULT_SESSION_WAIT: Duration = Duration::from_secs(5);

impl TokenOptions {
    /// The defaults: at most [`DEFAULT_MAX_SESSIONS`] (32) sessions open at
    /// once, of which up to 16 are kept idle, and callers wait up to
    /// [`DEFAULT_SESSION_WAIT`] (5 s) for a session when all are in use.
    pub fn new() -> Self {
        TokenOptions {
            max_idle_sessions: 16,
            max_sessions: DEFAULT_MAX_SESSIONS,
            session_wait: DEFAULT_SESSION_WAIT,
        }
    }

    /// How many idle sessions the pool keeps (at least 1, at most
    /// [`max_sessions`](Self::max_sessions)). Sessions beyond this are
    /// closed when returned.
    #[must_use]
    pub fn max_idle_sessions(mut self, max: usize) -> Self {
        self.max_idle_sessions = max.max(1);
        self
    }

    /// The most sessions the [`Token`] has open at once (at least 1;
    /// default 32): idle ones, ones in use, and the read-write sessions of
    /// key generation together. When all are in use, the next caller waits
    /// (up to [`session_wait`](Self::session_wait)) for one to come back,
    /// then fails with [`Error::SessionsExhausted`], an outage
    /// ([`Error::is_unavailable`]). The pool never opens more.
    ///
    /// Tokens limit sessions themselves: a smart card or a YubiKey
    /// (`ykcs11`) allows only a few, a network HSM's licence a few hundred
    /// per client. Set this at or below the token's limit
    /// (`CK_TOKEN_INFO.ulMaxSessionCount`), and at or above the number of
    /// threads that call the token at once if they should never wait.
    #[must_use]
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// How long a caller waits for a session when
    /// [`max_sessions`](Self::max_sessions) are in use (default 5 s; zero
    /// fails at once).
    #[must_use]
    pub fn session_wait(mut self, wait: Duration) -> Self {
        self.session_wait = wait;
        self
    }
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// A PKCS#11 token, opened from a [`Pkcs11Uri`], with a pool of logged-in
/// sessions.
///
/// - **One module per process path.** The module named by `module-path`
///   is loaded and initialised (`C_Initialize` with OS locking) the first
///   time any token of it is opened, and kept for the life of the process;
///   tokens opened later on the same file share it.
/// - **The token** is the one initialised token whose label, manufacturer,
///   serial and model (and slot description, manufacturer and id) match
///   the URI's attributes; none or several is an error
///   ([`Error::TokenNotPresent`], [`Error::AmbiguousToken`]).
/// - **The PIN** is read from `pin-source` when the token is opened, kept
///   in memory (wiped on drop) and used only for `C_Login`. `open` logs in
///   once, so a wrong PIN fails here. A PIN the token refuses is never
///   tried again by this `Token` (every failed login counts toward the
///   token's lockout): later calls fail with [`Error::PinIncorrect`] until
///   a new `Token` is opened.
/// - **Sessions** are read-only user sessions, borrowed from a pool for
///   one operation and returned. A call that fails with a token or session
///   error (`CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`,
///   `CKR_DEVICE_ERROR`, `CKR_GENERAL_ERROR`, `CKR_SESSION_HANDLE_INVALID`,
///   `CKR_SESSION_CLOSED`, `CKR_USER_NOT_LOGGED_IN`…) closes its session
///   and every idle one (login state and, after a device restart, session
///   handles belong to the whole token), and makes the next call look the
///   slot up again and open and log in a new session, so a token that
///   comes back (in the same or another slot) is used again without
///   restarting the process. The failing call itself returns the error:
///   nothing is retried behind the caller's back.
/// - **At most [`TokenOptions::max_sessions`] sessions** (default 32) are
///   open at once, counting idle ones, ones in use and the read-write
///   sessions of key generation; a caller beyond the cap waits up to
///   [`TokenOptions::session_wait`] (default 5 s), then gets
///   [`Error::SessionsExhausted`], an outage.
/// - **Listing**: [`Token::objects`] lists the token's keys, with their
///   names, kinds and custody flags, never a value.
///
/// `Token` is cheap to clone (the clones share the pool) and is `Send`
/// and `Sync`. Its `Debug` output shows the module and the token's
/// attributes, never the PIN.
#[derive(Clone)]
pub struct Token {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    module: Module,
    selector: Pkcs11Uri,
    description: String,
    pin: Option<Pin>,
    protected_path: bool,
    slot: Mutex<Option<Slot>>,
    pub(crate) pool: Pool,
    /// The login error that stopped this token from ever logging in again.
    login_refused: Mutex<Option<LoginRefused>>,
}

/// Why [`Inner::ensure_login`] failed: the token refused the PIN (now or
/// before), or a call failed (to be classified by the caller, who knows
/// whether the session is pooled).
pub(crate) enum LoginFailure {
    Refused(Error),
    Call(&'static str, CkError),
}

#[derive(Clone, Copy)]
enum LoginRefused {
    Incorrect,
    Locked,
}

impl Token {
    /// Opens the token a URI names, with the default [`TokenOptions`].
    ///
    /// Loads the module (once per process), finds the token, reads the PIN
    /// and logs in one session. Object attributes (`object`, `id`,
    /// `type`) are ignored here.
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        Self::open_with(uri, TokenOptions::default())
    }

    /// Opens the token a URI names.
    pub fn open_with(uri: &Pkcs11Uri, options: TokenOptions) -> Result<Self> {
        let file = module::module_file(uri)?;
        let module = module::load(&file)?;
        module::check_library(&module, uri)?;
        let description = uri.token_description();
        let slot = find_slot(&module, uri, &description)?;
        let info = module
            .pkcs11
            .get_token_info(slot)
            .map_err(|err| backend("C_GetTokenInfo", &description, err))?;
        let protected_path = info.protected_authentication_path();
        let pin = uri.pin_source().map(|source| source.read()).transpose()?;
        if pin.is_none() && info.login_required() && !protected_path {
            return Err(Error::PinRequired { token: description });
        }
        let token = Token {
            inner: Arc::new(Inner {
                module,
                selector: selector(uri),
                description,
                pin,
                protected_path,
                slot: Mutex::new(Some(slot)),
                pool: Pool::new(
                    options.max_idle_sessions,
                    options.max_sessions,
                    options.session_wait,
                ),
                login_refused: Mutex::new(None),
            }),
        };
        // Log in now: a wrong PIN or an unusable token shows at start-up,
        // not at the first request.
        drop(token.session()?);
        Ok(token)
    }

    /// The token's attributes in URI syntax, e.g. `token=tresor`, as used
    /// in error messages.
    pub fn description(&self) -> &str {
        &self.inner.description
    }

    /// The module's file (canonical path).
    pub fn module_path(&self) -> &Path {
        &self.inner.module.path
    }

    /// How many sessions this token opened and discarded, how many are open
    /// and idle now, the most that were open at once, and how often
    /// callers waited for one.
    pub fn session_stats(&self) -> SessionStats {
        self.inner.pool.stats()
    }

    /// A logged-in read-only session from the pool (or a new one).
    pub(crate) fn session(&self) -> Result<PooledSession<'_>> {
        self.inner.session()
    }

    /// A new logged-in read-write session (key generation), counted
    /// against [`TokenOptions::max_sessions`] and closed, not pooled, when
    /// dropped.
    pub(crate) fn rw_session(&self) -> Result<PooledSession<'_>> {
        self.inner.checkout(false)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Whether the token lists `mechanism` (`C_GetMechanismList`).
    pub(crate) fn has_mechanism(&self, mechanism: MechanismType) -> Result<bool> {
        let inner = &self.inner;
        let slot = inner.slot()?;
        inner
            .module
            .pkcs11
            .get_mechanism_list(slot)
            .map(|list| list.contains(&mechanism))
            .map_err(|err| inner.fail_fresh("C_GetMechanismList", err))
    }
}

impl Inner {
    fn session(&self) -> Result<PooledSession<'_>> {
        self.checkout(true)
    }

    /// A pooled read-only session (`read_only`), or a new read-write one
    /// that is closed when dropped; waits for room under the session cap.
    fn checkout(&self, read_only: bool) -> Result<PooledSession<'_>> {
        let Some((checkout, generation)) = self.pool.checkout(read_only) else {
            return Err(Error::SessionsExhausted {
                token: self.description.clone(),
                max: self.pool.max_open(),
                waited: self.pool.wait(),
            });
        };
        if let Checkout::Idle(session) = checkout {
            return Ok(PooledSession::new(self, session, generation, true));
        }
        let opened = self.slot().and_then(|slot| {
            let pkcs11 = &self.module.pkcs11;
            let session = if read_only {
                pkcs11.open_ro_session(slot)
            } else {
                pkcs11.open_rw_session(slot)
            };
            session.map_err(|err| self.fail_fresh("C_OpenSession", err))
        });
        let session = match opened {
            Ok(session) => session,
            Err(err) => {
                self.pool.release_slot();
                return Err(err);
            }
        };
        self.pool.count_opened();
        let mut pooled = PooledSession::new(self, session, generation, read_only);
        if let Err(err) = pooled.ensure_login() {
            // A session that could not log in is not pooled.
            pooled.discard();
            return Err(err);
        }
        Ok(pooled)
    }

    /// The token's slot: remembered, or looked up again after a token
    /// failure.
    fn slot(&self) -> Result<Slot> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = *slot {
            return Ok(slot);
        }
        let found = find_slot(&self.module, &self.selector, &self.description)?;
        *slot = Some(found);
        Ok(found)
    }

    /// After a token-level failure: close the idle sessions and look the
    /// slot up again next time.
    pub(crate) fn reset(&self) {
        self.pool.invalidate();
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Logs `session` in unless it already is (login state is shared by
    /// all sessions of a token in a process).
    pub(crate) fn ensure_login(&self, session: &Session) -> Result<(), LoginFailure> {
        if let Some(refused) = *self
            .login_refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            return Err(LoginFailure::Refused(self.refused(refused)));
        }
        let state = session
            .get_session_info()
            .map_err(|err| LoginFailure::Call("C_GetSessionInfo", err))?
            .session_state();
        if matches!(state, SessionState::RoUser | SessionState::RwUser) {
            return Ok(());
        }
        let result = match &self.pin {
            Some(pin) => session.login_with_raw(UserType::User, pin.secret()),
            None if self.protected_path => session.login(UserType::User, None),
            None => return Ok(()),
        };
        let refused = match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => return Ok(()),
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => LoginRefused::Incorrect,
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => LoginRefused::Locked,
            Err(err) => return Err(LoginFailure::Call("C_Login", err)),
        };
        *self
            .login_refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(refused);
        Err(LoginFailure::Refused(self.refused(refused)))
    }

    fn refused(&self, refused: LoginRefused) -> Error {
        let token = self.description.clone();
        match refused {
            LoginRefused::Incorrect => Error::PinIncorrect { token },
            LoginRefused::Locked => Error::PinLocked { token },
        }
    }

    /// Asks the token for its info: `Ok` if it is there and answering.
    /// Tells "no such key" apart from "the token is gone".
    pub(crate) fn check_present(&self) -> Result<()> {
        let slot = self.slot()?;
        self.module
            .pkcs11
            .get_token_info(slot)
            .map(drop)
            .map_err(|err| self.fail_fresh("C_GetTokenInfo", err))
    }

    /// Maps a failure outside any pooled session, resetting the token on a
    /// token-level fault.
    pub(crate) fn fail_fresh(&self, operation: &'static str, err: CkError) -> Error {
        if Fault::of(&err) == Fault::Token {
            self.reset();
        }
        self.error(operation, err)
    }

    /// Maps a PKCS#11 error to the crate's.
    pub(crate) fn error(&self, operation: &'static str, err: CkError) -> Error {
        match &err {
            CkError::Pkcs11(
                RvError::TokenNotPresent
                | RvError::DeviceRemoved
                | RvError::SlotIdInvalid
                | RvError::TokenNotRecognized,
                _,
            ) => Error::TokenNotPresent {
                token: self.description.clone(),
            },
            _ => backend(operation, &self.description, err),
        }
    }

    pub(crate) fn description(&self) -> &str {
        &self.description
    }
}

fn backend(operation: &'static str, token: &str, err: CkError) -> Error {
    Error::Backend {
        operation,
        token: token.to_owned(),
        source: BackendError::new(Pkcs11Failure(err)),
    }
}

/// The URI's token and slot attributes (what a re-lookup needs).
fn selector(uri: &Pkcs11Uri) -> Pkcs11Uri {
    let mut selector = Pkcs11Uri::new();
    selector.copy_token_attributes(uri);
    selector
}

/// The one initialised token matching the URI's token and slot attributes.
/// Slots whose token cannot answer (removed, failing) match nothing.
fn find_slot(module: &Module, uri: &Pkcs11Uri, description: &str) -> Result<Slot> {
    let pkcs11 = &module.pkcs11;
    let slots = pkcs11
        .get_slots_with_token()
        .map_err(|err| backend("C_GetSlotList", description, err))?;
    let wants_slot_info = uri.slot_description().is_some() || uri.slot_manufacturer().is_some();
    let mut matches = slots.into_iter().filter(|slot| {
        if uri.slot_id().is_some_and(|id| id != slot.id()) {
            return false;
        }
        if wants_slot_info {
            let Ok(info) = pkcs11.get_slot_info(*slot) else {
                return false;
            };
            if uri
                .slot_description()
                .is_some_and(|d| d != info.slot_description())
                || uri
                    .slot_manufacturer()
                    .is_some_and(|m| m != info.manufacturer_id())
            {
                return false;
            }
        }
        let Ok(info) = pkcs11.get_token_info(*slot) else {
            return false;
        };
        info.token_initialized()
            && uri.token().is_none_or(|l| l == info.label())
            && uri
                .manufacturer()
                .is_none_or(|m| m == info.manufacturer_id())
            && uri.serial().is_none_or(|s| s == info.serial_number())
            && uri.model().is_none_or(|m| m == info.model())
    });
    let token = || description.to_owned();
    match (matches.next(), matches.next()) {
        (Some(slot), None) => Ok(slot),
        (None, _) => Err(Error::TokenNotPresent { token: token() }),
        (Some(_), Some(_)) => Err(Error::AmbiguousToken { token: token() }),
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.inner.module.path)
            .field("token", &self.inner.description)
            .field("pin", &self.inner.pin.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}
