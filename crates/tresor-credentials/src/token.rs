//! Access tokens as RFC 9068 JWTs ("JSON Web Token Profile for OAuth 2.0
//! Access Tokens"), signed with ES256 or EdDSA, and their verification.
//!
//! Uses *ring* directly (no feature needed): the issuer's key is a PKCS#8
//! P-256 or Ed25519 key ([`TokenSigningKey`]); resource servers hold its
//! public half ([`TokenPublicKey`], also as a JWK for a JWKS document).
//!
//! # Issued tokens
//!
//! Header `{"alg":"ES256"|"EdDSA","kid":<RFC 7638 thumbprint>,"typ":"at+jwt"}`;
//! claims `iss`, `sub` (the client id: a `client_credentials` token has no
//! resource owner, RFC 9068 section 2.2), `aud`, `client_id`, `scope`
//! (space-separated, omitted when empty), `iat`, `exp`, `jti` (128 random
//! bits).
//!
//! # Verification ([`TokenVerifier`])
//!
//! Strict JWS parsing ([`jwt`](mod@crate::jwt)); `typ` must be `at+jwt` or
//! `application/at+jwt` (RFC 9068 section 4: an ID token, a client
//! assertion or any other `JWT`-typed token is refused, so a JWT signed by
//! the same key for another purpose cannot pass as an access token);
//! `kid` must name a configured key and `alg` must be that key's algorithm
//! (no algorithm chosen by the token); the signature verifies; `iss` is
//! the issuer; `aud` contains the resource server's audience; `exp` has
//! not passed, `iat`/`nbf` are not in the future (each with the clock
//! skew); `sub`, `client_id`, `iat` and `jti` are present.
//!
//! # Authorising a request ([`TokenVerifier::authorize`])
//!
//! What a resource server does with every request after its HTTP message
//! signature verified: take the token from `Authorization: Bearer`
//! (RFC 6750 section 2.1), verify it, check that it was issued to the
//! client whose key signed the request (a token copied to another client
//! is refused), and that it grants every scope the endpoint needs. A
//! refusal is a [`BearerError`], which gives the HTTP status (401, 403, or
//! 503 for an outage), the RFC 6750 `WWW-Authenticate` challenge and a
//! stable reason code for the audit log.
//!
//! ```
//! use tresor_credentials::token::{BearerError, TokenIssuer, TokenSigningKey};
//! use tresor_credentials::jwt::JwsAlgorithm;
//! use tresor_credentials::ClientId;
//!
//! let key = TokenSigningKey::generate(JwsAlgorithm::EdDsa)?;
//! let issuer = TokenIssuer::new("https://bank.example", "https://api.bank.example", key.into());
//! let verifier = issuer.verifier();
//! let client = ClientId::parse("7kYq3XUOjJ8LmE2bRt5WzA")?;
//! let token = issuer.issue(&client, &["accounts:read".to_owned()])?;
//! let header = format!("Bearer {}", token.token());
//!
//! let id = client.as_str();
//! let claims = verifier.authorize(Some(&header), Some(id), &["accounts:read"])?;
//! assert_eq!(claims.client_id, id);
//!
//! let refused = verifier
//!     .authorize(Some(&header), Some(id), &["orders:write"])
//!     .unwrap_err();
//! assert_eq!(refused.status(), 403);
//! assert_eq!(
//!     refused.www_authenticate().as_deref(),
//!     Some(r#"Bearer error="insufficient_scope", scope="orders:write""#)
//! );
//! assert_eq!(refused.reason(), "insufficient_scope");
//! assert!(matches!(
//!     verifier.authorize(None, Some(id), &[]),
//!     Err(BearerError::Missing)
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::{Map, Value, json};
use tresor_types::jwk::{EcCurve, PublicJwk};
use tresor_types::{Clock, SystemClock};
use zeroize::Zeroizing;

use crate::client::ClientId;
use crate::error::{BackendError, Error, Result};
use crate::jwt::{self, JwsAlgorithm, JwsError, KeyKind, RawPublicKey};

/// The default access-token lifetime: 5 minutes.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The JWT `typ` of an access token (RFC 9068 section 2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

fn config(reason: impl Into<String>) -> Error {
    Error::TokenConfig {
        reason: reason.into(),
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// The authorization server's token-signing key: P-256 (`ES256`) or
/// Ed25519 (`EdDSA`).
///
/// The PKCS#8 bytes are wiped on drop (*ring*'s key schedule is not).
/// `Debug` shows the algorithm and key id only; no `Clone` (share it in an
/// `Arc`).
pub struct TokenSigningKey {
    alg: JwsAlgorithm,
    pair: Pair,
    public: TokenPublicKey,
    pkcs8: Zeroizing<Vec<u8>>,
    rng: SystemRandom,
}

impl fmt::Debug for TokenSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigningKey {
    /// A fresh key for `alg` (`ES256` or `EdDSA`).
    ///
    /// # Errors
    ///
    /// [`Error::TokenConfig`] for another algorithm, [`Error::Rng`].
    pub fn generate(alg: JwsAlgorithm) -> Result<Self> {
        let rng = SystemRandom::new();
        let der = match alg {
            JwsAlgorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            JwsAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng),
            other => {
                return Err(config(format!(
                    "tokens are signed with ES256 or EdDSA, not {other}"
                )));
            }
        }
        .map_err(|_| Error::Rng)?;
        Self::from_pkcs8(alg, der.as_ref())
    }

    /// Loads a PKCS#8 (DER) private key for `alg` (`ES256`: a P-256 key;
    /// `EdDSA`: an Ed25519 key, v1 or v2).
    ///
    /// # Errors
    ///
    /// [`Error::TokenConfig`] if the key does not parse or fit `alg`.
    pub fn from_pkcs8(alg: JwsAlgorithm, der: &[u8]) -> Result<Self> {
        let rng = SystemRandom::new();
        let (pair, raw) = match alg {
            JwsAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(|e| config(format!("not a P-256 PKCS#8 key: {e}")))?;
                let raw = RawPublicKey::ec(EcCurve::P256, pair.public_key().as_ref())
                    .map_err(|e| config(e.to_string()))?;
                (Pair::Ecdsa(pair), raw)
            }
            JwsAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|e| config(format!("not an Ed25519 PKCS#8 key: {e}")))?;
                let raw = RawPublicKey::ed25519(pair.public_key().as_ref())
                    .map_err(|e| config(e.to_string()))?;
                (Pair::Ed25519(pair), raw)
            }
            other => {
                return Err(config(format!(
                    "tokens are signed with ES256 or EdDSA, not {other}"
                )));
            }
        };
        Ok(Self {
            alg,
            pair,
            public: TokenPublicKey::new(alg, raw),
            pkcs8: Zeroizing::new(der.to_vec()),
            rng,
        })
    }

    /// The PKCS#8 DER, to store the key (in a KMS, a secret store).
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }

    /// The algorithm.
    pub fn alg(&self) -> JwsAlgorithm {
        self.alg
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The public key, for verifiers.
    pub fn public_key(&self) -> TokenPublicKey {
        self.public.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Signing {
                    source: BackendError::new("ECDSA signing failed"),
                }),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// A token-verification key: the public half of a [`TokenSigningKey`].
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPublicKey {
    alg: JwsAlgorithm,
    raw: RawPublicKey,
    kid: String,
}

impl fmt::Debug for TokenPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPublicKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish()
    }
}

impl TokenPublicKey {
    fn new(alg: JwsAlgorithm, raw: RawPublicKey) -> Self {
        let kid = raw.thumbprint();
        Self { alg, raw, kid }
    }

    /// Reads a public JWK: `EC` P-256 (`ES256`) or `OKP` Ed25519
    /// (`EdDSA`); its `alg`, if present, must agree; private members are
    /// refused. The key id is the RFC 7638 thumbprint.
    ///
    /// # Errors
    ///
    /// [`Error::TokenConfig`].
    pub fn from_jwk(text: &str) -> Result<Self> {
        // The one JWK parser: private members, duplicates, `use` other than
        // `sig` and bad encodings are refused there.
        let jwk = PublicJwk::parse(text).map_err(|e| config(e.to_string()))?;
        let raw = RawPublicKey::from_jwk(&jwk).map_err(config)?;
        let alg = match raw.kind() {
            KeyKind::P256 => JwsAlgorithm::Es256,
            KeyKind::Ed25519 => JwsAlgorithm::EdDsa,
            _ => return Err(config("token keys are P-256 or Ed25519")),
        };
        if let Some(named) = jwk.alg()
            && named != alg.name()
        {
            return Err(config("the JWK alg does not fit the key"));
        }
        Ok(Self::new(alg, raw))
    }

    /// The public JWK (`alg`, `kid`, `use` = `sig`), for a JWKS document.
    pub fn to_jwk(&self) -> String {
        self.raw.to_jwk(self.alg, Some(&self.kid))
    }

    /// The algorithm.
    pub fn alg(&self) -> JwsAlgorithm {
        self.alg
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// The issuer.
    pub iss: String,
    /// The subject (for `client_credentials`, the client id).
    pub sub: String,
    /// The audiences.
    pub aud: Vec<String>,
    /// The client the token was issued to.
    pub client_id: String,
    /// The scopes granted.
    pub scope: Vec<String>,
    /// Issued at (UNIX seconds).
    pub iat: i64,
    /// Expires at (UNIX seconds).
    pub exp: i64,
    /// The token's unique id.
    pub jti: String,
}

/// An issued access token. The token is a bearer credential: `Debug`
/// hides it and it is wiped on drop.
pub struct AccessToken {
    token: Zeroizing<String>,
    claims: AccessTokenClaims,
}

impl AccessToken {
    /// The compact JWT, for the `access_token` member of the response.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its claims.
    pub fn claims(&self) -> &AccessTokenClaims {
        &self.claims
    }

    /// Seconds until it expires (`expires_in`).
    pub fn expires_in(&self) -> i64 {
        self.claims.exp.saturating_sub(self.claims.iat)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Issues RFC 9068 access tokens.
pub struct TokenIssuer {
    issuer: String,
    audience: String,
    lifetime: i64,
    key: Arc<TokenSigningKey>,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl TokenIssuer {
    /// An issuer named `issuer` (the authorization server's issuer
    /// identifier, also the `aud` of client assertions) issuing tokens for
    /// `audience` (the resource server), signed with `key`, valid for
    /// [`DEFAULT_TOKEN_LIFETIME`], on the system clock.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        key: Arc<TokenSigningKey>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            lifetime: seconds(DEFAULT_TOKEN_LIFETIME),
            key,
            clock: Arc::new(SystemClock),
            rng: SystemRandom::new(),
        }
    }

    /// The token lifetime.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = seconds(lifetime);
        self
    }

    /// The clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience of issued tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// A verifier for this issuer's tokens (same issuer, audience, key
    /// and clock).
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(&self.issuer, &self.audience)
            .key(self.key.public_key())
            .clock(self.clock.clone())
    }

    /// Issues a token to `client_id` for `scopes` (already narrowed to
    /// what the client holds).
    ///
    /// # Errors
    ///
    /// [`Error::Rng`], [`Error::TokenConfig`] if signing failed,
    /// [`Error::ClockUnavailable`] if the clock reads a time before the
    /// UNIX epoch.
    pub fn issue(&self, client_id: &ClientId, scopes: &[String]) -> Result<AccessToken> {
        let now = self.clock.now().map_err(Error::clock)?.as_secs();
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).map_err(|_| Error::Rng)?;
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: client_id.to_string(),
            aud: vec![self.audience.clone()],
            client_id: client_id.to_string(),
            scope: scopes.to_vec(),
            iat: now,
            exp: now.saturating_add(self.lifetime),
            jti: jwt::encode(&jti),
        };
        let header = json!({
            "alg": self.key.alg.name(),
            "kid": self.key.kid(),
            "typ": ACCESS_TOKEN_TYPE,
        });
        let mut body = json!({
            "iss": claims.iss,
            "sub": claims.sub,
            "aud": self.audience,
            "client_id": claims.client_id,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
        });
        if !scopes.is_empty()
            && let Some(map) = body.as_object_mut()
        {
            map.insert("scope".into(), Value::String(scopes.join(" ")));
        }
        let input = format!(
            "{}.{}",
            jwt::encode(header.to_string().as_bytes()),
            jwt::encode(body.to_string().as_bytes())
        );
        let signature = self.key.sign(input.as_bytes())?;
        Ok(AccessToken {
            token: Zeroizing::new(format!("{input}.{}", jwt::encode(&signature))),
            claims,
        })
    }
}

/// Why an access token was refused (for the resource server's log; the
/// client gets `invalid_token`, RFC 6750 section 3.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a well-formed compact JWS of JSON objects, or a required claim
    /// is missing or of the wrong type.
    #[error("malformed access token")]
    Malformed,
    /// `typ` is not `at+jwt` / `application/at+jwt`.
    #[error("not an access token (typ)")]
    WrongType,
    /// `alg` is not accepted, not the key's, or the header has `crit`.
    #[error("access token algorithm not allowed")]
    Algorithm,
    /// `kid` is missing or names no configured key.
    #[error("unknown access token key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad access token signature")]
    BadSignature,
    /// `iss` is not the issuer.
    #[error("wrong access token issuer")]
    WrongIssuer,
    /// `aud` does not contain the audience.
    #[error("wrong access token audience")]
    WrongAudience,
    /// `exp` has passed.
    #[error("access token expired")]
    Expired,
    /// `iat` or `nbf` is in the future.
    #[error("access token not yet valid")]
    NotYetValid,
    /// The verifier's clock reads a time before the UNIX epoch: no token
    /// is accepted until it is fixed.
    #[error("clock unavailable")]
    ClockUnavailable {
        /// What the clock reported ([`tresor_types::Error::BeforeEpoch`]
        /// or [`tresor_types::Error::OutOfRange`]).
        #[source]
        source: tresor_types::Error,
    },
}

impl TokenError {
    /// A stable snake_case code for the audit log (`malformed`,
    /// `wrong_type`, `algorithm`, `unknown_key`, `bad_signature`,
    /// `wrong_issuer`, `wrong_audience`, `expired`, `not_yet_valid`,
    /// `clock_unavailable`).
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::WrongType => "wrong_type",
            TokenError::Algorithm => "algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::ClockUnavailable { .. } => "clock_unavailable",
        }
    }
}

/// Why a request's bearer token does not authorise it
/// ([`TokenVerifier::authorize`]).
///
/// [`status`](Self::status), [`www_authenticate`](Self::www_authenticate)
/// and [`reason`](Self::reason) give the answer and the audit code; the
/// client learns no more than RFC 6750 says (the token's claims and the
/// precise [`TokenError`] stay in the server's log).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No `Authorization` header, or one of another scheme: RFC 6750
    /// section 3.1 answers 401 with a challenge but no error code.
    #[error("no bearer token")]
    Missing,
    /// The credential is not a single RFC 6750 `b64token`, or the token
    /// does not verify.
    #[error("invalid access token: {0}")]
    InvalidToken(#[source] TokenError),
    /// The token was issued to another client than the one whose key
    /// signed the request.
    #[error("access token issued to another client")]
    ClientMismatch,
    /// The token does not grant a scope the request needs.
    #[error("access token lacks the scope {scope}")]
    InsufficientScope {
        /// The first missing scope.
        scope: String,
    },
}

impl BearerError {
    /// The HTTP status: 403 for a missing scope, 503 when the verifier's
    /// clock is unusable (an outage, not the client's fault), else 401.
    pub fn status(&self) -> u16 {
        match self {
            BearerError::InsufficientScope { .. } => 403,
            BearerError::InvalidToken(TokenError::ClockUnavailable { .. }) => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 section 3), or `None` for
    /// an outage (503 carries no challenge).
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            BearerError::Missing => Some("Bearer".to_owned()),
            BearerError::InvalidToken(TokenError::ClockUnavailable { .. }) => None,
            BearerError::InvalidToken(_) | BearerError::ClientMismatch => {
                Some(r#"Bearer error="invalid_token""#.to_owned())
            }
            BearerError::InsufficientScope { scope } => Some(format!(
                r#"Bearer error="insufficient_scope", scope="{scope}""#
            )),
        }
    }

    /// A stable snake_case code for the audit log: `token_missing`,
    /// `token_` followed by [`TokenError::reason`], `token_client_mismatch`
    /// or `insufficient_scope`.
    pub fn reason(&self) -> &'static str {
        match self {
            BearerError::Missing => "token_missing",
            BearerError::InvalidToken(e) => match e {
                TokenError::Malformed => "token_malformed",
                TokenError::WrongType => "token_wrong_type",
                TokenError::Algorithm => "token_algorithm",
                TokenError::UnknownKey => "token_unknown_key",
                TokenError::BadSignature => "token_bad_signature",
                TokenError::WrongIssuer => "token_wrong_issuer",
                TokenError::WrongAudience => "token_wrong_audience",
                TokenError::Expired => "token_expired",
                TokenError::NotYetValid => "token_not_yet_valid",
                TokenError::ClockUnavailable { .. } => "token_clock_unavailable",
            },
            BearerError::ClientMismatch => "token_client_mismatch",
            BearerError::InsufficientScope { .. } => "insufficient_scope",
        }
    }
}

/// The token of an `Authorization: Bearer` value (RFC 6750 section 2.1:
/// the scheme case-insensitively, one or more spaces, one `b64token`).
fn bearer_token(authorization: &str) -> Result<&str, BearerError> {
    let (scheme, rest) = authorization.split_once(' ').ok_or(BearerError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Missing);
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let b64token = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if b64token {
        Ok(token)
    } else {
        Err(BearerError::InvalidToken(TokenError::Malformed))
    }
}

/// Verifies RFC 9068 access tokens for one resource server (see the
/// [module docs](self)).
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    keys: Vec<TokenPublicKey>,
    clock: Arc<dyn Clock>,
    skew: i64,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("keys", &self.keys)
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

fn string(claims: &Map<String, Value>, name: &str) -> Result<String, TokenError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(TokenError::Malformed)
}

impl TokenVerifier {
    /// A verifier of tokens from `issuer` for `audience`, with no key yet
    /// (add the issuer's keys with [`key`](Self::key)), the system clock
    /// and a 30-second clock skew.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: Vec::new(),
            clock: Arc::new(SystemClock),
            skew: 30,
        }
    }

    /// Trusts `key` (several during a key rotation; each token's `kid`
    /// selects one).
    pub fn key(mut self, key: TokenPublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// The clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock skew tolerated on `exp`, `iat` and `nbf`.
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = seconds(skew);
        self
    }

    /// Verifies `token` and returns its claims.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] naming the first rule that failed.
    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let jws = jwt::parse(token).map_err(|e| match e {
            JwsError::Malformed => TokenError::Malformed,
            JwsError::Algorithm => TokenError::Algorithm,
        })?;
        let typ = jws.typ().map_err(|_| TokenError::Malformed)?;
        if !typ.is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || t.eq_ignore_ascii_case("application/at+jwt")
        }) {
            return Err(TokenError::WrongType);
        }
        let kid = jws
            .kid()
            .map_err(|_| TokenError::Malformed)?
            .ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        if key.alg != jws.alg {
            return Err(TokenError::Algorithm);
        }
        if !key
            .raw
            .verify(key.alg, jws.signing_input.as_bytes(), &jws.signature)
        {
            return Err(TokenError::BadSignature);
        }
        let claims = &jws.claims;
        let iss = string(claims, "iss")?;
        if iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if !jwt::audience_contains(claims, &self.audience).map_err(|()| TokenError::Malformed)? {
            return Err(TokenError::WrongAudience);
        }
        let date = |name| jwt::numeric_date(claims, name).map_err(|()| TokenError::Malformed);
        let exp = date("exp")?.ok_or(TokenError::Malformed)?;
        let iat = date("iat")?.ok_or(TokenError::Malformed)?;
        let nbf = date("nbf")?;
        let now = self
            .clock
            .now()
            .map_err(|source| TokenError::ClockUnavailable { source })?
            .as_secs();
        if now >= exp.saturating_add(self.skew) {
            return Err(TokenError::Expired);
        }
        let future = now.saturating_add(self.skew);
        if iat > future || nbf.is_some_and(|t| t > future) {
            return Err(TokenError::NotYetValid);
        }
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => return Err(TokenError::Malformed),
        };
        let scope = match claims.get("scope") {
            None => Vec::new(),
            Some(Value::String(s)) => s.split(' ').map(str::to_owned).collect(),
            Some(_) => return Err(TokenError::Malformed),
        };
        Ok(AccessTokenClaims {
            iss,
            sub: string(claims, "sub")?,
            aud,
            client_id: string(claims, "client_id")?,
            scope,
            iat,
            exp,
            jti: string(claims, "jti")?,
        })
    }

    /// Authorises a request by its bearer token: `authorization` is the
    /// `Authorization` header's value (`None` when absent), `client` the
    /// client whose key signed the request (the token must have been
    /// issued to it; `None` skips this binding, for requests that are not
    /// signed), and `scopes` every scope the endpoint needs.
    ///
    /// # Errors
    ///
    /// [`BearerError`]: no bearer token, a token that does not verify, a
    /// token of another client, or a missing scope, checked in that order.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        client: Option<&str>,
        scopes: &[&str],
    ) -> Result<AccessTokenClaims, BearerError> {
        let token = bearer_token(authorization.ok_or(BearerError::Missing)?)?;
        let claims = self.verify(token).map_err(BearerError::InvalidToken)?;
        if client.is_some_and(|c| c != claims.client_id) {
            return Err(BearerError::ClientMismatch);
        }
        if let Some(missing) = scopes
            .iter()
            .find(|need| !claims.scope.iter().any(|s| s == *need))
        {
            return Err(BearerError::InsufficientScope {
                scope: (*missing).to_owned(),
            });
        }
        Ok(claims)
    }
}
