//! The OAuth 2.0 token endpoint for the `client_credentials` grant
//! (RFC 6749 sections 2.3, 3.2, 4.4, 5), framework-agnostic: a
//! [`TokenRequest`] (method, `Authorization` header, `Content-Type`, body)
//! in, a [`TokenResponse`] (status, headers, JSON body) out; with the
//! `http` feature, `TokenEndpoint::handle_http` takes an
//! `http::Request` and returns an `http::Response`.
//!
//! # Client authentication
//!
//! Exactly one method per request (two → `invalid_request`):
//!
//! - `client_secret_basic`: `Authorization: Basic base64(id ":" secret)`
//!   where id and secret are each `application/x-www-form-urlencoded`
//!   first (RFC 6749 section 2.3.1): the endpoint decodes the Base64
//!   (padded, strict), splits at the **first** colon (a secret may hold
//!   colons, an encoded id cannot), then form-decodes both halves (`+` is a
//!   space, `%XX` a byte; the result must be UTF-8);
//! - `client_secret_post`: `client_id` and `client_secret` in the body;
//! - `private_key_jwt` (feature `httpsig`): `client_assertion_type` =
//!   `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
//!   `client_assertion` (a `client_id` parameter, if sent, must be the
//!   assertion's `sub`).
//!
//! # Requests
//!
//! `POST` only (else 405 with `Allow: POST`); `Content-Type:
//! application/x-www-form-urlencoded`; body at most 64 KiB; a parameter
//! sent twice → `invalid_request` (RFC 6749 section 3.2); a parameter with
//! an empty value counts as absent; `grant_type` must be
//! `client_credentials` (else `unsupported_grant_type`).
//!
//! # Scopes (least privilege)
//!
//! `scope` is checked against the client's scopes: any requested scope the
//! client does not hold → `invalid_scope` (never silently dropped); the
//! token carries exactly the requested ones. Without `scope`, the
//! [`DefaultScopes`] policy decides: all the client's scopes (the
//! default), a configured list narrowed to the client's, or
//! `invalid_scope`.
//!
//! # Answers
//!
//! Every answer is JSON with `Cache-Control: no-store` and
//! `Pragma: no-cache`. Errors are RFC 6749 section 5.2 objects
//! (`{"error":…,"error_description":…}`) with status 400, except
//! `invalid_client`: 401 with `WWW-Authenticate: Basic realm="…"` when the
//! client used the `Authorization` header or sent no credentials at all,
//! 400 when it used the body (`client_secret_post`, `private_key_jwt`);
//! the description never says why authentication failed (that goes to the
//! audit hook).
//!
//! # Outages: 503, never 401
//!
//! A store, pepper or replay-cache failure says nothing about the client's
//! credentials, and an `invalid_client` would make a legitimate client
//! discard a good secret or key. It is answered **HTTP 503** with
//! `{"error":"temporarily_unavailable",…}`, `Retry-After:`
//! [`RETRY_AFTER_SECONDS`] and `Cache-Control: no-store`. RFC 6749 defines
//! `temporarily_unavailable` for the authorization endpoint only (section
//! 4.1.2.1) and gives the token endpoint no code for an outage; this
//! endpoint uses the same code with the status HTTP gives an outage. The
//! backend's error goes to the audit hook
//! ([`AuthEvent::error`](crate::AuthEvent::error)), never to the client. A
//! failure to sign the access token (a bug, not an outage) is 500
//! `server_error`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use base64ct::{Base64, Encoding};
use secrecy::SecretString;
use serde_json::json;
use zeroize::Zeroizing;

use crate::client::{ClientId, normalize_scopes};
use crate::error::AuthError;
use crate::registry::Registry;
use crate::token::TokenIssuer;

/// The largest request body accepted.
pub const MAX_BODY_LEN: usize = 64 * 1024;

/// The `Retry-After` of a 503 answer, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// The longest `Authorization` header accepted.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Which scopes a token gets when the request names none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultScopes {
    /// All the client's scopes.
    #[default]
    All,
    /// These scopes, narrowed to the client's (none left → `invalid_scope`).
    Listed(Vec<String>),
    /// None: a request without `scope` is `invalid_scope`.
    Required,
}

/// A token request, as the web framework received it.
///
/// Built with [`TokenRequest::new`] and the setters (it may describe more
/// of the request later, so it cannot be built with a struct literal):
///
/// ```
/// use tresor_credentials::endpoint::TokenRequest;
///
/// let body = b"grant_type=client_credentials";
/// let request = TokenRequest::new("POST", body)
///     .authorization(Some("Basic YTpi"))
///     .content_type(Some("application/x-www-form-urlencoded"))
///     .source(Some([192, 0, 2, 7].into()));
/// assert_eq!(request.method, "POST");
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct TokenRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The `Authorization` header, if any (the caller refuses a request
    /// with several).
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The client's address (the TCP peer, or the address a trusted
    /// reverse proxy reports), for rate limiting. A network-facing
    /// endpoint must set it: failures are limited per (client, source) and
    /// per source, and without a source all callers share one (client, no
    /// source) bucket per client, in which anyone could lock a client out
    /// ([`ratelimit`](crate::ratelimit) module docs).
    pub source: Option<IpAddr>,
}

impl<'a> TokenRequest<'a> {
    /// A request with this method and body, and no `Authorization`, no
    /// `Content-Type`, no source address (set those that the request has
    /// with the setters).
    pub fn new(method: &'a str, body: &'a [u8]) -> Self {
        Self {
            method,
            authorization: None,
            content_type: None,
            body,
            source: None,
        }
    }

    /// The `Authorization` header, if the request has one.
    pub fn authorization(mut self, authorization: Option<&'a str>) -> Self {
        self.authorization = authorization;
        self
    }

    /// The `Content-Type` header, if the request has one.
    pub fn content_type(mut self, content_type: Option<&'a str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// The client's address, for rate limiting. A network-facing endpoint
    /// must set it: without one, all callers share one failure bucket per
    /// client.
    pub fn source(mut self, source: Option<IpAddr>) -> Self {
        self.source = source;
        self
    }
}

/// The endpoint's answer.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers (names in lower case).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body (holds the access token on success).
    pub body: Vec<u8>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a bearer token.
        f.debug_struct("TokenResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// The value of header `name` (lower case), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "application/json".into()),
                ("cache-control", "no-store".into()),
                ("pragma", "no-cache".into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }
}

/// An RFC 6749 section 5.2 error.
struct OAuthError {
    code: &'static str,
    description: &'static str,
    status: u16,
    basic_challenge: bool,
    retry_after: bool,
}

fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError {
        code: "invalid_request",
        description,
        status: 400,
        basic_challenge: false,
        retry_after: false,
    }
}

fn invalid_scope(description: &'static str) -> OAuthError {
    OAuthError {
        code: "invalid_scope",
        description,
        status: 400,
        basic_challenge: false,
        retry_after: false,
    }
}

fn invalid_client(basic_challenge: bool) -> OAuthError {
    OAuthError {
        code: "invalid_client",
        description: "client authentication failed",
        status: if basic_challenge { 401 } else { 400 },
        basic_challenge,
        retry_after: false,
    }
}

fn server_error() -> OAuthError {
    OAuthError {
        code: "server_error",
        description: "the request could not be processed; retry later",
        status: 500,
        basic_challenge: false,
        retry_after: false,
    }
}

/// A backend outage (store, pepper, replay cache): 503, retry later.
fn temporarily_unavailable() -> OAuthError {
    OAuthError {
        code: "temporarily_unavailable",
        description: "the service is temporarily unavailable; retry later",
        status: 503,
        basic_challenge: false,
        retry_after: true,
    }
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space,
/// `%XX` a byte; anything else malformed (a lone `%`, bad hex) is `None`,
/// as is a result that is not UTF-8. The buffer is wiped on drop (it may
/// be a secret).
pub fn form_decode(text: &[u8]) -> Option<Zeroizing<String>> {
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = Zeroizing::new(Vec::with_capacity(text.len()));
    let mut bytes = text.iter().copied();
    while let Some(c) = bytes.next() {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            c => out.push(c),
        }
    }
    let text = std::str::from_utf8(&out).ok()?;
    Some(Zeroizing::new(text.to_owned()))
}

/// The decoded form parameters, unique, empty values dropped.
struct Form {
    params: Vec<(Zeroizing<String>, Zeroizing<String>)>,
}

impl Form {
    fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params: Vec<(Zeroizing<String>, Zeroizing<String>)> = Vec::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (
                    pair.get(..i).unwrap_or_default(),
                    pair.get(i + 1..).unwrap_or_default(),
                ),
                None => (pair, &[][..]),
            };
            let name =
                form_decode(name).ok_or_else(|| invalid_request("malformed form encoding"))?;
            let value =
                form_decode(value).ok_or_else(|| invalid_request("malformed form encoding"))?;
            if params.iter().any(|(n, _)| **n == *name) {
                return Err(invalid_request("a parameter is repeated"));
            }
            params.push((name, value));
        }
        params.retain(|(_, v)| !v.is_empty());
        Ok(Self { params })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `client_secret_basic` credentials: Base64, split at the first colon,
/// form-decode both halves (RFC 6749 section 2.3.1). `None` if malformed.
pub fn parse_basic(authorization: &str) -> Option<(Zeroizing<String>, Zeroizing<String>)> {
    let (scheme, rest) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let encoded = rest.trim_matches(' ');
    let decoded = Zeroizing::new(Base64::decode_vec(encoded).ok()?);
    let colon = decoded.iter().position(|&b| b == b':')?;
    let id = form_decode(decoded.get(..colon)?)?;
    let secret = form_decode(decoded.get(colon + 1..)?)?;
    Some((id, secret))
}

/// Who the client says it is, and how it proves it.
enum Credentials<'a> {
    Secret {
        id: Zeroizing<String>,
        secret: Zeroizing<String>,
        basic: bool,
    },
    #[cfg(feature = "httpsig")]
    Assertion {
        assertion: &'a str,
        client_id: Option<&'a str>,
    },
    #[cfg(not(feature = "httpsig"))]
    #[allow(dead_code)]
    Unsupported(std::marker::PhantomData<&'a ()>),
}

/// The token endpoint (see the [module docs](self)).
pub struct TokenEndpoint {
    registry: Arc<Registry>,
    issuer: TokenIssuer,
    #[cfg(feature = "httpsig")]
    assertions: crate::assertion::AssertionVerifier,
    realm: String,
    default_scopes: DefaultScopes,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("issuer", &self.issuer)
            .field("realm", &self.realm)
            .field("default_scopes", &self.default_scopes)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// An endpoint authenticating clients against `registry` and issuing
    /// tokens with `issuer`. The `Basic` realm is the issuer identifier;
    /// with the `httpsig` feature, `private_key_jwt` is accepted with
    /// `aud` = the issuer identifier and an in-memory replay cache (see
    /// `assertions`).
    pub fn new(registry: Arc<Registry>, issuer: TokenIssuer) -> Self {
        Self {
            realm: issuer.issuer().to_owned(),
            #[cfg(feature = "httpsig")]
            assertions: crate::assertion::AssertionVerifier::new(issuer.issuer()),
            registry,
            issuer,
            default_scopes: DefaultScopes::default(),
        }
    }

    /// The `private_key_jwt` verifier (to share a replay cache across
    /// servers, or change the lifetime and skew).
    #[cfg(feature = "httpsig")]
    pub fn assertions(mut self, verifier: crate::assertion::AssertionVerifier) -> Self {
        self.assertions = verifier;
        self
    }

    /// The realm of the `WWW-Authenticate: Basic` challenge.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The scopes of a request without `scope`.
    pub fn default_scopes(mut self, policy: DefaultScopes) -> Self {
        self.default_scopes = policy;
        self
    }

    /// Handles one token request.
    pub fn handle(&self, request: &TokenRequest<'_>) -> TokenResponse {
        if !request.method.eq_ignore_ascii_case("POST") {
            let mut response = self.error(&invalid_request("the token endpoint takes POST"));
            response.status = 405;
            response.headers.push(("allow", "POST".into()));
            return response;
        }
        match self.process(request) {
            Ok(response) => response,
            Err(e) => self.error(&e),
        }
    }

    fn process(&self, request: &TokenRequest<'_>) -> Result<TokenResponse, OAuthError> {
        let form_type = request.content_type.is_some_and(|t| {
            t.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
        if !form_type {
            return Err(invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        if request.body.len() > MAX_BODY_LEN {
            return Err(invalid_request("the body is too large"));
        }
        let form = Form::parse(request.body)?;
        let credentials = self.credentials(request.authorization, &form)?;
        let (client_id, held) = self.authenticate(credentials, request.source)?;

        match form.get("grant_type") {
            None => return Err(invalid_request("grant_type is missing")),
            Some("client_credentials") => {}
            Some(_) => {
                return Err(OAuthError {
                    code: "unsupported_grant_type",
                    description: "only client_credentials is supported",
                    status: 400,
                    basic_challenge: false,
                    retry_after: false,
                });
            }
        }
        let scopes = self.scopes(form.get("scope"), &held)?;
        let token = self
            .issuer
            .issue(&client_id, &scopes)
            .map_err(|_| server_error())?;
        let mut body = json!({
            "access_token": token.token(),
            "token_type": "Bearer",
            "expires_in": token.expires_in(),
        });
        if !scopes.is_empty()
            && let Some(map) = body.as_object_mut()
        {
            map.insert("scope".into(), scopes.join(" ").into());
        }
        Ok(TokenResponse::json(200, &body))
    }

    /// Finds the one authentication method the request uses.
    fn credentials<'a>(
        &self,
        authorization: Option<&str>,
        form: &'a Form,
    ) -> Result<Credentials<'a>, OAuthError> {
        let post = form.get("client_secret").is_some();
        let jwt =
            form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some();
        let methods = usize::from(authorization.is_some()) + usize::from(post) + usize::from(jwt);
        if methods > 1 {
            return Err(invalid_request(
                "more than one client authentication method",
            ));
        }
        if let Some(header) = authorization {
            if header.len() > MAX_AUTHORIZATION_LEN {
                return Err(invalid_client(true));
            }
            let (id, secret) = parse_basic(header).ok_or_else(|| invalid_client(true))?;
            if form.get("client_id").is_some_and(|c| c != id.as_str()) {
                return Err(invalid_request(
                    "client_id differs from the Authorization header",
                ));
            }
            return Ok(Credentials::Secret {
                id,
                secret,
                basic: true,
            });
        }
        if post {
            let id = form
                .get("client_id")
                .ok_or_else(|| invalid_request("client_secret without client_id"))?;
            return Ok(Credentials::Secret {
                id: Zeroizing::new(id.to_owned()),
                secret: Zeroizing::new(form.get("client_secret").unwrap_or_default().to_owned()),
                basic: false,
            });
        }
        if jwt {
            let (Some(kind), Some(assertion)) = (
                form.get("client_assertion_type"),
                form.get("client_assertion"),
            ) else {
                return Err(invalid_request(
                    "client_assertion and client_assertion_type go together",
                ));
            };
            #[cfg(feature = "httpsig")]
            if kind == crate::assertion::CLIENT_ASSERTION_TYPE {
                return Ok(Credentials::Assertion {
                    assertion,
                    client_id: form.get("client_id"),
                });
            }
            let _ = (kind, assertion);
            return Err(invalid_client(false));
        }
        // No credentials: ask for them.
        Err(invalid_client(true))
    }

    fn authenticate(
        &self,
        credentials: Credentials<'_>,
        source: Option<IpAddr>,
    ) -> Result<(ClientId, Vec<String>), OAuthError> {
        let auth_error = |e: AuthError, basic: bool| match e {
            AuthError::Unavailable => temporarily_unavailable(),
            _ => invalid_client(basic),
        };
        match credentials {
            Credentials::Secret { id, secret, basic } => {
                let secret = SecretString::from(secret.as_str());
                self.registry
                    .authenticate(&id, &secret, source)
                    .map(|c| (c.id().clone(), c.scopes().to_vec()))
                    .map_err(|e| auth_error(e, basic))
            }
            #[cfg(feature = "httpsig")]
            Credentials::Assertion {
                assertion,
                client_id,
            } => self
                .assertions
                .authenticate(&self.registry, assertion, client_id, source)
                .map(|c| (c.id().clone(), c.scopes().to_vec()))
                .map_err(|e| auth_error(e, false)),
            #[cfg(not(feature = "httpsig"))]
            Credentials::Unsupported(_) => Err(invalid_client(false)),
        }
    }

    /// Least privilege: the requested scopes, each held by the client.
    fn scopes(&self, requested: Option<&str>, held: &[String]) -> Result<Vec<String>, OAuthError> {
        let holds = |s: &String| held.contains(s);
        match requested {
            Some(text) => {
                let tokens: Vec<&str> = text.split(' ').collect();
                if tokens.iter().any(|t| t.is_empty()) {
                    return Err(invalid_scope("malformed scope"));
                }
                let scopes =
                    normalize_scopes(&tokens).map_err(|_| invalid_scope("malformed scope"))?;
                if !scopes.iter().all(holds) {
                    return Err(invalid_scope(
                        "a requested scope is not granted to the client",
                    ));
                }
                Ok(scopes)
            }
            None => match &self.default_scopes {
                DefaultScopes::All => Ok(held.to_vec()),
                DefaultScopes::Listed(list) => {
                    let scopes: Vec<String> = list.iter().filter(|s| holds(s)).cloned().collect();
                    if scopes.is_empty() {
                        return Err(invalid_scope("no default scope is granted to the client"));
                    }
                    Ok(scopes)
                }
                DefaultScopes::Required => Err(invalid_scope("scope is required")),
            },
        }
    }

    fn error(&self, e: &OAuthError) -> TokenResponse {
        let mut response = TokenResponse::json(
            e.status,
            &json!({"error": e.code, "error_description": e.description}),
        );
        if e.retry_after {
            response
                .headers
                .push(("retry-after", RETRY_AFTER_SECONDS.to_string()));
        }
        if e.basic_challenge {
            let realm = self.realm.replace('\\', "\\\\").replace('"', "\\\"");
            response
                .headers
                .push(("www-authenticate", format!("Basic realm=\"{realm}\"")));
        }
        response
    }

    /// Handles an `http::Request` (any body that is bytes: `Vec<u8>`,
    /// `Bytes`, `&[u8]` …). `source` is the peer address, for rate
    /// limiting (pass it: see [`TokenRequest::source`]). Several `Authorization` headers, or one that is not
    /// visible ASCII, are `invalid_request`.
    #[cfg(feature = "http")]
    pub fn handle_http<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
        source: Option<IpAddr>,
    ) -> http::Response<Vec<u8>> {
        let headers = request.headers();
        let mut authorizations = headers.get_all(http::header::AUTHORIZATION).iter();
        let authorization = authorizations.next().map(|v| v.to_str());
        let response = if authorizations.next().is_some() || matches!(authorization, Some(Err(_))) {
            self.error(&invalid_request("malformed Authorization header"))
        } else {
            let content_type = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            self.handle(&TokenRequest {
                method: request.method().as_str(),
                authorization: authorization.and_then(Result::ok),
                content_type,
                body: request.body().as_ref(),
                source,
            })
        };
        let mut builder = http::Response::builder().status(response.status);
        for (name, value) in &response.headers {
            builder = builder.header(*name, value.as_str());
        }
        builder.body(response.body).unwrap_or_else(|_| {
            let mut fallback = http::Response::new(Vec::new());
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
    }
}
