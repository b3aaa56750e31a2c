//! The bank's API server: routes, authorisation after the signature layer,
//! orders under per-account keys, idempotency, audit and monitoring.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{self, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use base64ct::{Base64, Encoding};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::{Layer, ServiceExt};

use tresor::audit::monitor::RefusalMonitor;
use tresor::audit::{
    Actor, AuditRecord, Checkpoint, NoteSigner, Outcome, Pseudonymizer, Timestamp,
};
use tresor::credentials::client::ClientRecord;
use tresor::credentials::store::StoredClient;
use tresor::credentials::{ClientId, CredentialStore, Registry, TokenEndpoint, TokenVerifier};
use tresor::envelope::{Context, Envelope, LocalKek, SealOptions};
use tresor::httpsig::response_layer::SignResponseLayer;
use tresor::httpsig::tower::VerifyLayer;
use tresor::httpsig::{Error as SigError, Signer, Verified, Verifier};

use crate::backends::AuditTrail;
use crate::profile;

/// The largest request body the API reads.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// Refusals of one client or source within the window that raise an incident.
pub(crate) const INCIDENT_THRESHOLD: usize = 5;
pub(crate) const INCIDENT_WINDOW_SECS: u64 = 60;

// ---------------------------------------------------------------------------
// A credential store that an operator (the demo) can switch off, to show
// that an outage answers 503, never 401.

pub(crate) struct SwitchStore {
    pub(crate) inner: Box<dyn CredentialStore>,
    pub(crate) down: AtomicBool,
}

impl SwitchStore {
    fn check(&self) -> tresor::credentials::Result<()> {
        if self.down.load(Ordering::Relaxed) {
            return Err(tresor::credentials::Error::storage(
                "the credential database is unreachable (injected outage)",
            ));
        }
        Ok(())
    }
}

impl CredentialStore for SwitchStore {
    fn insert(&self, record: &ClientRecord) -> tresor::credentials::Result<()> {
        self.check()?;
        self.inner.insert(record)
    }
    fn get(&self, id: &ClientId) -> tresor::credentials::Result<Option<StoredClient>> {
        self.check()?;
        self.inner.get(id)
    }
    fn update(&self, record: &ClientRecord, v: u64) -> tresor::credentials::Result<u64> {
        self.check()?;
        self.inner.update(record, v)
    }
    fn list(&self) -> tresor::credentials::Result<Vec<StoredClient>> {
        self.check()?;
        self.inner.list()
    }
    fn find_by_key(&self, kid: &str) -> tresor::credentials::Result<Option<StoredClient>> {
        self.check()?;
        self.inner.find_by_key(kid)
    }
}

// ---------------------------------------------------------------------------
// Per-request context: the request id, the peer, and what the layers found.

#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) id: String,
    pub(crate) source: IpAddr,
    found: Arc<Mutex<Found>>,
}

#[derive(Default)]
struct Found {
    reason: Option<String>,
    client: Option<String>,
    key_id: Option<String>,
}

impl Ctx {
    fn set_reason(&self, reason: impl Into<String>) {
        if let Ok(mut f) = self.found.lock() {
            f.reason = Some(reason.into());
        }
    }
    fn set_client(&self, client: &str, kid: &str) {
        if let Ok(mut f) = self.found.lock() {
            f.client = Some(client.to_owned());
            f.key_id = Some(kid.to_owned());
        }
    }
    /// Records `reason` for the audit record; answers `status` with the
    /// error `code`.
    fn refuse(&self, reason: &str, status: StatusCode, code: &str) -> Response<Body> {
        self.set_reason(reason);
        error(status, code)
    }
}

thread_local! {
    /// The id of the request whose token request is being authenticated on
    /// this thread (the token endpoint is synchronous), for the audit hook.
    pub(crate) static CURRENT_REQUEST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Why a request was refused, from the signature layer's precise error.
fn signature_reason(error: &SigError) -> &'static str {
    match error {
        SigError::MissingComponent { .. } => "signature_missing_component",
        SigError::MissingParameter { .. } => "signature_missing_parameter",
        SigError::Expired { .. } => "signature_expired",
        SigError::TooOld { .. } => "signature_too_old",
        SigError::NotYetValid { .. } => "signature_not_yet_valid",
        SigError::ReplayedNonce => "signature_replayed",
        SigError::UnknownKey { .. } => "signature_unknown_key",
        SigError::BadSignature => "signature_bad",
        SigError::DigestMismatch { .. } => "content_digest_mismatch",
        SigError::SignatureNotFound { .. } => "signature_absent",
        SigError::AlgorithmNotAllowed { .. } => "signature_algorithm",
        SigError::LimitExceeded { what, .. } if *what == "body size" => "body_too_large",
        SigError::LimitExceeded { .. } => "limit_exceeded",
        SigError::Unavailable { what, .. } if *what == "nonce store" => "nonce_store_unavailable",
        SigError::Unavailable { .. } => "backend_unavailable",
        SigError::Malformed { .. } => "signature_malformed",
        _ => "signature_invalid",
    }
}

// ---------------------------------------------------------------------------
// Rate limits: a token bucket per client.

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    quotas: HashMap<String, f64>,
    default_rate: f64,
}

impl RateLimiter {
    /// `Ok` or the seconds to wait. Burst = one second's worth.
    fn check(&self, client: &str) -> Result<(), u64> {
        let rate = self
            .quotas
            .get(client)
            .copied()
            .unwrap_or(self.default_rate);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let b = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(rate);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            // At most a second's wait: the burst is one second of quota.
            Err(1)
        }
    }
}

// ---------------------------------------------------------------------------
// The application.

pub(crate) struct App {
    pub(crate) registry: Arc<Registry>,
    pub(crate) store: Arc<SwitchStore>,
    pub(crate) endpoint: TokenEndpoint,
    pub(crate) tokens: TokenVerifier,
    pub(crate) envelope: Envelope,
    pub(crate) kek_dir: PathBuf,
    pub(crate) audit: AuditTrail,
    /// `embedded`, or which shared backends the state is in.
    pub(crate) backends: String,
    /// This instance's tag in request ids (random: instances that share an
    /// audit log must not write the same ids).
    pub(crate) instance: String,
    pub(crate) pseudonymizer: Arc<Pseudonymizer>,
    pub(crate) monitor: RefusalMonitor,
    pub(crate) note_signer: NoteSigner,
    pub(crate) origin: String,
    pub(crate) rate: RateLimiter,
    pub(crate) incidents: AtomicU64,
    pub(crate) audit_failures: AtomicU64,
    kek_lock: Mutex<()>,
    erased: Mutex<HashSet<String>>,
    orders: Mutex<HashMap<(String, String), Vec<u8>>>,
    idempotency: Mutex<HashMap<(String, String), (StatusCode, Bytes)>>,
    key_owners: Mutex<HashMap<String, String>>,
    next_request: AtomicU64,
}

pub(crate) struct AppParts {
    pub(crate) registry: Arc<Registry>,
    pub(crate) store: Arc<SwitchStore>,
    pub(crate) endpoint: TokenEndpoint,
    pub(crate) tokens: TokenVerifier,
    pub(crate) kek_dir: PathBuf,
    pub(crate) audit: AuditTrail,
    pub(crate) backends: String,
    pub(crate) pseudonymizer: Arc<Pseudonymizer>,
    pub(crate) note_signer: NoteSigner,
    pub(crate) origin: String,
    pub(crate) quotas: HashMap<String, f64>,
    pub(crate) default_rate: f64,
}

impl App {
    /// Loads the per-account KEKs and erasure tombstones from `kek_dir`.
    pub(crate) fn new(p: AppParts) -> Result<Self, Box<dyn std::error::Error>> {
        let mut keyring = tresor::envelope::Keyring::new();
        let mut erased = HashSet::new();
        for entry in std::fs::read_dir(&p.kek_dir)? {
            let path = entry?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("kek") => {
                    keyring.add(LocalKek::load(&path)?)?;
                }
                Some("erased") => {
                    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                        erased.insert(stem.to_owned());
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            registry: p.registry,
            store: p.store,
            endpoint: p.endpoint,
            tokens: p.tokens,
            envelope: Envelope::new(keyring),
            kek_dir: p.kek_dir,
            audit: p.audit,
            backends: p.backends,
            instance: random_id().chars().take(8).collect(),
            pseudonymizer: p.pseudonymizer,
            monitor: RefusalMonitor::new(
                INCIDENT_THRESHOLD,
                std::time::Duration::from_secs(INCIDENT_WINDOW_SECS),
            ),
            note_signer: p.note_signer,
            origin: p.origin,
            rate: RateLimiter {
                buckets: Mutex::new(HashMap::new()),
                quotas: p.quotas,
                default_rate: p.default_rate,
            },
            incidents: AtomicU64::new(0),
            audit_failures: AtomicU64::new(0),
            kek_lock: Mutex::new(()),
            erased: Mutex::new(erased),
            orders: Mutex::new(HashMap::new()),
            idempotency: Mutex::new(HashMap::new()),
            key_owners: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(0),
        })
    }

    fn kek_id(account: &str) -> String {
        format!("acct-{account}")
    }

    fn is_erased(&self, account: &str) -> bool {
        self.erased
            .lock()
            .map(|e| e.contains(account))
            .unwrap_or(true)
    }

    /// The account's KEK id, creating and saving the KEK on first use.
    fn account_kek(&self, account: &str) -> Result<String, Box<dyn std::error::Error>> {
        let id = Self::kek_id(account);
        if self.envelope.keyring().get(&id).is_ok() {
            return Ok(id);
        }
        let _guard = self.kek_lock.lock().map_err(|_| "kek lock poisoned")?;
        if self.envelope.keyring().get(&id).is_ok() {
            return Ok(id);
        }
        let kek = LocalKek::generate(id.clone())?;
        kek.save(self.kek_dir.join(format!("{account}.kek")))?;
        self.envelope.update_keyring(|k| k.add(kek).map(|_| ()))?;
        Ok(id)
    }

    /// Crypto-shredding: destroys the account's KEK (in memory and on disk)
    /// and leaves a tombstone. The sealed orders stay, unreadable.
    fn erase(&self, account: &str) -> Result<(), Box<dyn std::error::Error>> {
        let _guard = self.kek_lock.lock().map_err(|_| "kek lock poisoned")?;
        let id = Self::kek_id(account);
        if self.envelope.keyring().get(&id).is_ok() {
            self.envelope.destroy_kek(&id)?;
        }
        let path = self.kek_dir.join(format!("{account}.kek"));
        if path.exists() {
            let len = std::fs::metadata(&path)?.len();
            let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
            std::fs::write(&path, zeros)?;
            std::fs::remove_file(&path)?;
        }
        let tomb = self.kek_dir.join(format!("{account}.erased"));
        if !tomb.exists() {
            crate::data::write_new(&tomb, b"erased\n", false)?;
        }
        self.erased
            .lock()
            .map_err(|_| "poisoned")?
            .insert(account.to_owned());
        Ok(())
    }

    /// The client that owns key `kid` (cached; a miss asks the registry on
    /// the blocking pool: its store may be a database).
    async fn owner_of(self: &Arc<Self>, kid: &str) -> Result<Option<String>, ()> {
        if let Some(c) = self
            .key_owners
            .lock()
            .ok()
            .and_then(|m| m.get(kid).cloned())
        {
            return Ok(Some(c));
        }
        let (app, key) = (Arc::clone(self), kid.to_owned());
        let found = tokio::task::spawn_blocking(move || app.registry.client_for_key(&key))
            .await
            .map_err(|_| ())?;
        match found {
            Ok(Some((record, _))) => {
                let id = record.id.to_string();
                if let Ok(mut m) = self.key_owners.lock() {
                    m.insert(kid.to_owned(), id.clone());
                }
                Ok(Some(id))
            }
            Ok(None) => Ok(None),
            Err(_) => Err(()),
        }
    }

    /// Appends a record; a failure is counted (and would page an operator).
    /// Blocks on a shared log: callers on the runtime use
    /// [`App::audit_request_async`].
    fn append(&self, record: &AuditRecord) {
        if self.audit.sink().append_record(record).is_err() {
            self.audit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// [`App::audit_request`] from the async runtime: inline for the
    /// embedded log, on the blocking pool for a shared one. The answer
    /// waits for its record either way.
    async fn audit_request_async(
        self: &Arc<Self>,
        ctx: &Ctx,
        method: &Method,
        path: &str,
        status: StatusCode,
    ) {
        if !self.audit.is_remote() {
            self.audit_request(ctx, method, path, status);
            return;
        }
        let (app, ctx, method, path) = (
            Arc::clone(self),
            ctx.clone(),
            method.clone(),
            path.to_owned(),
        );
        let done = tokio::task::spawn_blocking(move || {
            app.audit_request(&ctx, &method, &path, status);
        })
        .await;
        if done.is_err() {
            self.audit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs `f`, which reads the audit trail: inline for the embedded log,
    /// on the blocking pool for a shared one. `None` if it could not run.
    pub(crate) async fn with_audit<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> T + Send + 'static,
    ) -> Option<T> {
        if !self.audit.is_remote() {
            return Some(f(self));
        }
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&app)).await.ok()
    }

    fn raise(&self, subject: &str, request_id: &str) {
        if let Some(incident) = self.monitor.refused(subject) {
            self.incidents.fetch_add(1, Ordering::Relaxed);
            println!(
                "ALERT security.incident: {} refused requests from {} within {} s",
                incident.count, incident.subject, incident.window_seconds
            );
            if let Ok(record) = incident.record(request_id) {
                self.append(&record);
            }
        }
    }

    /// The resource of a path, with the account id pseudonymised.
    fn resource(&self, path: &str) -> String {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["v1", "accounts", account, rest @ ..] => {
                let mut out = format!("accounts/{}", self.pseudonymizer.pseudonymize(account));
                for s in rest {
                    out.push('/');
                    out.push_str(s);
                }
                out
            }
            _ => {
                let p = path.trim_start_matches('/');
                if p.is_empty() {
                    "/".to_owned()
                } else {
                    p.chars().take(128).collect()
                }
            }
        }
    }

    /// One audit record per request, and refusal monitoring.
    fn audit_request(&self, ctx: &Ctx, method: &Method, path: &str, status: StatusCode) {
        let (reason, client, key_id) = match ctx.found.lock() {
            Ok(f) => (f.reason.clone(), f.client.clone(), f.key_id.clone()),
            Err(_) => (None, None, None),
        };
        let action = action_of(method, path);
        let outcome = if status.is_server_error() {
            Outcome::Failed
        } else if status.is_client_error() {
            Outcome::Denied
        } else {
            Outcome::Allowed
        };
        let source = self.pseudonymizer.pseudonymize(ctx.source.to_string());
        let actor = match &client {
            Some(c) => Actor::new("client", c.as_str()),
            None => Actor::new("anonymous", "unauthenticated"),
        };
        let mut builder = AuditRecord::builder()
            .action(action)
            .resource(self.resource(path))
            .outcome(outcome)
            .request_id(ctx.id.as_str())
            .source(source.as_str())
            .detail("method", method.as_str())
            .detail("status", status.as_u16());
        if let Ok(actor) = actor {
            builder = builder.actor(actor);
        }
        if let Ok(t) = Timestamp::from_system_time(std::time::SystemTime::now()) {
            builder = builder.timestamp(t);
        }
        if let Some(r) = &reason {
            builder = builder.detail("reason", r.as_str());
        }
        if let Some(k) = &key_id {
            builder = builder.detail("key_id", k.as_str());
        }
        match builder.build() {
            Ok(record) => self.append(&record),
            Err(_) => {
                self.audit_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        let refused = matches!(status.as_u16(), 400 | 401 | 403 | 408 | 413 | 429);
        if refused {
            if let Some(c) = &client {
                self.raise(&format!("client:{c}"), &ctx.id);
            }
            self.raise(&format!("source:{source}"), &ctx.id);
        }
    }
}

fn action_of(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["oauth", "token"]) => "oauth.token",
        ("POST", ["v1", "accounts", _, "orders"]) => "order.create",
        ("GET", ["v1", "accounts", _, "orders", _]) => "order.read",
        ("GET", ["v1", "accounts", _]) => "account.read",
        ("DELETE", ["v1", "accounts", _, "personal-data"]) => "account.erase",
        ("GET", ["audit", "checkpoint"]) => "audit.checkpoint",
        ("GET", ["audit", "proof"]) => "audit.proof",
        _ => "http.request",
    }
}

// ---------------------------------------------------------------------------
// Answers.

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, code: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": code }))
}

fn unavailable() -> Response<Body> {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// What a request must carry beyond its signature.
#[derive(Clone, Copy)]
enum Need {
    /// The token request: no access token.
    Nothing,
    /// An access token with this scope (or any token, for `None`).
    Token(Option<&'static str>),
}

struct Principal {
    client: String,
}

/// A request that passed the signature layer: what every handler reads
/// besides its path and body.
struct Signed {
    app: Arc<App>,
    verified: Verified,
    ctx: Ctx,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl FromRequestParts<Arc<App>> for Signed {
    type Rejection = Response<Body>;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let Extension(verified) = Extension::<Verified>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let Extension(ctx) = Extension::<Ctx>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            app: Arc::clone(app),
            verified,
            ctx,
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Signed {
    /// The authorisation that follows the signature layer: the brokerage
    /// signing profile, the signing client, its rate limit, the access
    /// token (issued to the same client) and its scope.
    #[allow(clippy::result_large_err)]
    async fn authorize(&self, need: Need) -> Result<Principal, Response<Body>> {
        let (app, ctx, headers) = (&self.app, &self.ctx, &self.headers);
        // The profile's route rule (the rest is the layer's policy): a call
        // that needs a token covers its `authorization`.
        let profile_ok =
            !matches!(need, Need::Token(_)) || profile::covers_authorization(&self.verified);
        if !profile_ok {
            let mut r = ctx.refuse(
                "signature_profile_violation",
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Signature"),
            );
            return Err(r);
        }
        let kid = self.verified.key_id();
        let client = match app.owner_of(kid).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(ctx.refuse(
                    "signature_unknown_key",
                    StatusCode::UNAUTHORIZED,
                    "invalid_signature",
                ));
            }
            Err(()) => {
                ctx.set_reason("registry_unavailable");
                return Err(unavailable());
            }
        };
        ctx.set_client(&client, kid);
        if let Err(wait) = app.rate.check(&client) {
            let mut r = ctx.refuse(
                "rate_limited",
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Err(r);
        }
        let Need::Token(scope) = need else {
            return Ok(Principal { client });
        };
        // The bearer token: issued to the client whose key signed the
        // request, with the scope the endpoint needs (RFC 6750 answers).
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let scopes: &[&str] = match &scope {
            Some(scope) => std::slice::from_ref(scope),
            None => &[],
        };
        if let Err(e) = app.tokens.authorize(authorization, Some(&client), scopes) {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            let code = match status {
                StatusCode::FORBIDDEN => "insufficient_scope",
                StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                _ => "invalid_token",
            };
            let mut r = ctx.refuse(e.reason(), status, code);
            if let Some(v) = e
                .www_authenticate()
                .and_then(|v| HeaderValue::try_from(v).ok())
            {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return Err(r);
        }
        Ok(Principal { client })
    }

    /// 410 for an erased account.
    #[allow(clippy::result_large_err)]
    fn not_erased(&self, account: &str) -> Result<(), Response<Body>> {
        if self.app.is_erased(account) {
            return Err(self
                .ctx
                .refuse("account_erased", StatusCode::GONE, "account_erased"));
        }
        Ok(())
    }
}
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

// ---------------------------------------------------------------------------
// Handlers. A refusal is the `Err` side, so that `?` answers it.

type Answer = Result<Response<Body>, Response<Body>>;

async fn token(req: Signed, body: Bytes) -> Answer {
    req.authorize(Need::Nothing).await?;
    let Signed {
        app,
        ctx,
        method,
        uri,
        headers,
        ..
    } = req;
    let mut builder = Request::builder().method(method).uri(uri);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        for v in headers.get_all(&name) {
            builder = builder.header(&name, v);
        }
    }
    let Ok(request) = builder.body(body) else {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_request"));
    };
    // The registry, its store and the pepper block (SQLite, a key in an
    // HSM): off the async workers, on the blocking pool, with this
    // request's id for the audit records the endpoint writes there.
    let (request_id, source) = (ctx.id.clone(), ctx.source);
    let answer = tokio::task::spawn_blocking(move || {
        CURRENT_REQUEST.with(|c| *c.borrow_mut() = Some(request_id));
        let answer = app.endpoint.handle_http(&request, Some(source));
        CURRENT_REQUEST.with(|c| *c.borrow_mut() = None);
        answer
    })
    .await
    .map_err(|_| {
        ctx.refuse(
            "token_endpoint_failed",
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
        )
    })?;
    if answer.status() != StatusCode::OK {
        let code = serde_json::from_slice::<serde_json::Value>(answer.body())
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "error".to_owned());
        ctx.set_reason(format!("token_request_{code}"));
    }
    let (parts, body) = answer.into_parts();
    Ok(Response::from_parts(parts, Body::from(body)))
}

async fn create_order(req: Signed, Path(account): Path<String>, body: Bytes) -> Answer {
    let principal = req.authorize(Need::Token(Some("orders:write"))).await?;
    let (app, ctx) = (&req.app, &req.ctx);
    if !valid_id(&account) {
        return Err(ctx.refuse(
            "invalid_account",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ));
    }
    let Some(key) = req
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 64)
    else {
        return Err(ctx.refuse(
            "idempotency_key_missing",
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
        ));
    };
    req.not_erased(&account)?;
    let order: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            return Err(ctx.refuse("invalid_order", StatusCode::BAD_REQUEST, "invalid_order"));
        }
    };
    let idem = (principal.client, format!("{account}/{key}"));
    // The lock is held while the order is created, so a concurrent retry
    // with the same key waits and then gets the first answer.
    let mut seen = app.idempotency.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((status, body)) = seen.get(&idem) {
        ctx.set_reason("idempotent_replay");
        let mut r = json_bytes(*status, body.clone());
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(r);
    }
    let kek = app.account_kek(&account).map_err(|_| unavailable())?;
    let order_id = random_id();
    let context =
        Context::from_pairs([("account", account.as_str()), ("order", order_id.as_str())]);
    let sealed = context.and_then(|c| {
        app.envelope.seal_to_vec_with(
            order.to_string().as_bytes(),
            &c,
            &SealOptions::new().kek(kek),
        )
    });
    let Ok(sealed) = sealed else {
        return Err(ctx.refuse(
            "seal_failed",
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
        ));
    };
    app.orders
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((account.clone(), order_id.clone()), sealed);
    let answer = Bytes::from(
        serde_json::json!({ "order_id": order_id, "account": account, "status": "accepted" })
            .to_string(),
    );
    seen.insert(idem, (StatusCode::CREATED, answer.clone()));
    Ok(json_bytes(StatusCode::CREATED, answer))
}

async fn get_order(req: Signed, Path((account, order_id)): Path<(String, String)>) -> Answer {
    req.authorize(Need::Token(Some("accounts:read"))).await?;
    req.not_erased(&account)?;
    let (app, ctx) = (&req.app, &req.ctx);
    let sealed = app
        .orders
        .lock()
        .ok()
        .and_then(|o| o.get(&(account.clone(), order_id.clone())).cloned());
    let Some(sealed) = sealed else {
        return Err(ctx.refuse("order_not_found", StatusCode::NOT_FOUND, "not_found"));
    };
    let context =
        Context::from_pairs([("account", account.as_str()), ("order", order_id.as_str())]);
    match context.and_then(|c| app.envelope.open_to_vec(&sealed, &c)) {
        Ok(plain) => {
            let order: serde_json::Value =
                serde_json::from_slice(&plain).unwrap_or(serde_json::Value::Null);
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "order_id": order_id, "account": account, "order": order }),
            ))
        }
        Err(tresor::envelope::Error::KekDestroyed { .. }) => {
            Err(ctx.refuse("account_erased", StatusCode::GONE, "account_erased"))
        }
        Err(_) => Err(ctx.refuse(
            "decrypt_failed",
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
        )),
    }
}

async fn get_account(req: Signed, Path(account): Path<String>) -> Answer {
    req.authorize(Need::Token(Some("accounts:read"))).await?;
    req.not_erased(&account)?;
    let orders = req
        .app
        .orders
        .lock()
        .map(|o| o.keys().filter(|(a, _)| *a == account).count())
        .unwrap_or(0);
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "account": account, "status": "active", "orders_this_run": orders }),
    ))
}

async fn erase(req: Signed, Path(account): Path<String>) -> Answer {
    req.authorize(Need::Token(Some("orders:write"))).await?;
    if !valid_id(&account) {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_request"));
    }
    match req.app.erase(&account) {
        Ok(()) => Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "account": account, "personal_data": "erased" }),
        )),
        Err(_) => Err(req.ctx.refuse(
            "erase_failed",
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
        )),
    }
}

async fn checkpoint(req: Signed) -> Answer {
    req.authorize(Need::Token(None)).await?;
    let note = req
        .app
        .with_audit(|app| {
            let (size, root) = app.audit.head().ok()?;
            Checkpoint::new(&app.origin, size, root)
                .ok()?
                .sign(&[&app.note_signer])
                .ok()
        })
        .await
        .flatten();
    let note = note.ok_or_else(unavailable)?;
    let mut r = Response::new(Body::from(note));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(r)
}

async fn proof(req: Signed) -> Answer {
    req.authorize(Need::Token(None)).await?;
    let mut index = None;
    let mut size = None;
    for pair in req.uri.query().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("index", v)) => index = v.parse::<u64>().ok(),
            Some(("size", v)) => size = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    let (Some(index), Some(size)) = (index, size) else {
        return Err(req.ctx.refuse(
            "invalid_proof_request",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ));
    };
    let answer = req
        .app
        .with_audit(move |app| {
            let (entry, proof) = app.audit.proof(index, size).ok()?;
            Some(serde_json::json!({
                "index": index,
                "size": size,
                "entry": Base64::encode_string(&entry),
                "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
            }))
        })
        .await
        .flatten();
    answer.map(|v| json(StatusCode::OK, &v)).ok_or_else(|| {
        req.ctx.refuse(
            "proof_unavailable",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
    })
}

fn random_id() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 12];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    hex::encode(b)
}

// ---------------------------------------------------------------------------
// Serving.

/// The largest request head (request line and headers) the server reads;
/// a larger one is answered 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// How long a client may take over the parts of a request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// The TLS handshake, and each request head (request line and headers).
    pub(crate) header_read: Duration,
    /// Each request body, whole, from the end of its head.
    pub(crate) body_read: Duration,
}

/// Runs the HTTPS server on `listener` until the process ends, with the
/// `timeouts` for slow clients.
pub(crate) async fn serve(
    app: Arc<App>,
    verifier: Verifier,
    response_signer: Signer,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    timeouts: Timeouts,
) {
    let header_read_timeout = timeouts.header_read;
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route("/v1/accounts/{id}/orders", post(create_order))
        .route("/v1/accounts/{id}/orders/{order_id}", get(get_order))
        .route("/v1/accounts/{id}", get(get_account))
        .route("/v1/accounts/{id}/personal-data", delete(erase))
        .route("/audit/checkpoint", get(checkpoint))
        .route("/audit/proof", get(proof))
        .with_state(Arc::clone(&app));
    let verify = VerifyLayer::new(verifier)
        .max_body_bytes(MAX_BODY)
        .on_reject(|error, parts| {
            if let Some(ctx) = parts.extensions.get::<Ctx>() {
                ctx.set_reason(signature_reason(error));
            }
        })
        .forward_body::<Body>();
    let stack = SignResponseLayer::new(response_signer).layer(verify.layer(router));
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let stack = stack.clone();
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(header_read_timeout, acceptor.accept(tcp)).await
            else {
                return;
            };
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                handle(
                    Arc::clone(&app),
                    stack.clone(),
                    peer,
                    timeouts.body_read,
                    req,
                )
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .max_header_size(MAX_HEAD)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// How much of a refused oversized body the server reads and discards, so
/// that the client reads the 413 instead of a reset connection.
const DRAIN_LIMIT: u64 = 4 << 20;

type RequestBody = BoxBody<Bytes, BodyError>;

/// Why a request body could not be read.
#[derive(Debug)]
enum BodyError {
    /// The connection failed, or the body was malformed.
    Read(hyper::Error),
    /// It did not arrive whole by the deadline.
    TimedOut,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Read(e) => e.fmt(f),
            BodyError::TimedOut => f.write_str("the request body did not arrive in time"),
        }
    }
}

impl std::error::Error for BodyError {}

/// A request body that must have arrived whole by a deadline: polled after
/// it while the client still owes bytes, it fails (the signature layer
/// then refuses the request as unreadable) and records that it timed out,
/// so that [`handle`] answers 408 instead. Like tower-http's
/// `RequestBodyTimeout`, but one deadline for the whole body rather than
/// one per frame, so a body trickled a byte at a time is cut off too.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, BodyError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BodyError::Read)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(BodyError::TimedOut)));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a request whose body did not arrive in time. It closes
/// the connection (the rest of the body is never read). Like hyper's own
/// answers to malformed heads it is not signed: the request never arrived
/// whole, so there is nothing to bind a signature to.
fn request_timeout() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(
        br#"{"error":"request_timeout"}"#,
    )));
    *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn handle<S>(
    app: Arc<App>,
    stack: S,
    peer: SocketAddr,
    body_read_timeout: Duration,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible>
where
    S: tower::Service<Request<RequestBody>, Response = Response<Full<Bytes>>, Error = Infallible>,
{
    // The head is in: the body, whatever its framing, has until then.
    let deadline = tokio::time::Instant::now() + body_read_timeout;
    let timed_out = Arc::new(AtomicBool::new(false));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // The signature layer refuses a body declared too large without reading
    // it; the connection then closes with unread bytes, which resets it
    // before the client reads the answer. Read (and drop) such a body after
    // the answer is computed, up to a limit.
    let (parts, incoming) = req.into_parts();
    let (mut req, drain) = match declared {
        Some(n) if n > MAX_BODY as u64 && n <= DRAIN_LIMIT => (
            Request::from_parts(parts, Empty::new().map_err(|never| match never {}).boxed()),
            Some(incoming),
        ),
        _ => {
            let body = DeadlineBody {
                inner: incoming,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                timed_out: Arc::clone(&timed_out),
            };
            (Request::from_parts(parts, body.boxed()), None)
        }
    };
    let n = app.next_request.fetch_add(1, Ordering::Relaxed);
    let ctx = Ctx {
        id: format!("req-{}-{n}", app.instance),
        source: peer.ip(),
        found: Arc::default(),
    };
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    req.extensions_mut().insert(ctx.clone());
    let mut response = stack.oneshot(req).await?;
    if timed_out.load(Ordering::Relaxed) {
        ctx.set_reason("body_read_timeout");
        response = request_timeout();
    }
    if let Some(mut body) = drain {
        // Within the same deadline: a client that stalls here gets its
        // answer then, and the connection closes with the body unread.
        let drained = tokio::time::timeout_at(deadline, async {
            while let Some(Ok(_)) = body.frame().await {}
        });
        let _ = drained.await;
    }
    app.audit_request_async(&ctx, &method, &path, response.status())
        .await;
    if let Ok(v) = HeaderValue::try_from(ctx.id.as_str()) {
        response.headers_mut().insert("x-request-id", v);
    }
    Ok(response)
}
