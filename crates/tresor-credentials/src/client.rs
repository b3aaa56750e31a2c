//! The client record and the plain data it holds: ids, status, secret
//! verifiers and registered public keys.
//!
//! Every type here is stored. None of them can hold a secret or a private
//! key: a secret is represented only by its [`SecretVerifier`] (a
//! peppered MAC, useless without the pepper, which lives in a KMS, an HSM
//! or a key file outside the store), a key only by its public JWK.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::base62;
use crate::error::{Error, Result};
use crate::store::{Mac, SecretVerifier};

/// The length of a client id: 22 base62 characters (128 random bits).
pub const CLIENT_ID_LEN: usize = 22;

/// The length of a secret id: 16 base62 characters (88 random bits).
pub const SECRET_ID_LEN: usize = 16;

/// The longest client name, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// The most scopes a client may have.
pub const MAX_SCOPES: usize = 64;

/// The longest scope, in bytes.
pub const MAX_SCOPE_LEN: usize = 128;

fn is_base62(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|c| base62::digit_value(c).is_some())
}

fn random_base62(rng: &SystemRandom, bytes: usize, width: usize) -> Result<String> {
    let mut raw = vec![0u8; bytes];
    rng.fill(&mut raw).map_err(|_| Error::Rng)?;
    let text = base62::encode(&raw, width).ok_or(Error::Rng)?;
    Ok(text.as_str().to_owned())
}

/// A client id: 22 base62 characters from 128 random bits, URL-safe, not
/// secret (clients send it in the clear), chosen by the registry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    /// Parses a client id; [`Error::InvalidClientId`] unless it has the
    /// form this crate generates.
    pub fn parse(text: &str) -> Result<Self> {
        if is_base62(text, CLIENT_ID_LEN) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidClientId)
        }
    }

    /// A fresh random client id.
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self> {
        Ok(Self(random_base62(rng, 16, CLIENT_ID_LEN)?))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> Self {
        id.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one of a client's secrets (not the secret): 16 base62
/// characters, for rotation and revocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretId(String);

impl SecretId {
    /// Parses a secret id; [`Error::InvalidSecretId`] unless it has the
    /// form this crate generates.
    pub fn parse(text: &str) -> Result<Self> {
        if is_base62(text, SECRET_ID_LEN) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidSecretId)
        }
    }

    /// A fresh random secret id.
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self> {
        Ok(Self(random_base62(rng, 11, SECRET_ID_LEN)?))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SecretId {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<SecretId> for String {
    fn from(id: SecretId) -> Self {
        id.0
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a client may authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// The client may authenticate.
    Active,
    /// The client may not authenticate until it is reactivated; its
    /// credentials are kept.
    Suspended,
}

/// The state of a registered public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// The key is accepted for new signatures.
    Active,
    /// The key is being retired: still accepted to verify, no longer
    /// offered as current.
    VerifyOnly,
    /// The key is never accepted again.
    Revoked,
}

/// A client's public key, as registered (plain data; registration with
/// proof of possession validates it before it is stored).
///
/// `#[non_exhaustive]`: it may record more about a key later. The registry
/// builds it (`Registry::add_key`, feature `httpsig`); stores
/// deserialize it; [`RegisteredKey::new`] builds one by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisteredKey {
    /// The key id: the key's RFC 7638 JWK thumbprint (SHA-256,
    /// base64url).
    pub kid: String,
    /// The public key as a JWK (JSON text; public members only).
    pub jwk: String,
    /// The one algorithm the key may be used with, e.g. `ES256`.
    pub alg: String,
    /// The key's state.
    pub state: KeyState,
    /// The key is not accepted before this time (UNIX seconds), if set.
    pub not_before: Option<i64>,
    /// The key is not accepted from this time on (UNIX seconds), if set.
    pub not_after: Option<i64>,
    /// When the key was registered (UNIX seconds).
    pub created: i64,
}

/// The id of a revoked key whose key material was pruned (see
/// `keys::MAX_STORED_KEYS`, feature `httpsig`): a tombstone, kept for
/// ever so the key can never be registered again, by this client or any
/// other.
///
/// `#[non_exhaustive]`, like the rest of a [`ClientRecord`];
/// [`RevokedKid::new`] builds one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RevokedKid {
    /// The key id: the revoked key's RFC 7638 thumbprint.
    pub kid: String,
    /// When its key material was pruned (UNIX seconds); it was revoked at
    /// or before that time.
    pub pruned: i64,
}

impl RegisteredKey {
    /// An active key `kid` (its RFC 7638 thumbprint) with its public `jwk`
    /// and its one algorithm `alg` (e.g. `ES256`), registered at `created`
    /// (UNIX seconds), with no validity window.
    ///
    /// Plain data, not checked: the registry validates a key (and the
    /// proof that the client holds it) before it stores one
    /// (`Registry::add_key`, feature `httpsig`); this is for
    /// stores, migrations and tests.
    pub fn new(
        kid: impl Into<String>,
        jwk: impl Into<String>,
        alg: impl Into<String>,
        created: i64,
    ) -> Self {
        Self {
            kid: kid.into(),
            jwk: jwk.into(),
            alg: alg.into(),
            state: KeyState::Active,
            not_before: None,
            not_after: None,
            created,
        }
    }
}

impl RevokedKid {
    /// The tombstone of key `kid`, whose material was pruned at `pruned`
    /// (UNIX seconds).
    pub fn new(kid: impl Into<String>, pruned: i64) -> Self {
        Self {
            kid: kid.into(),
            pruned,
        }
    }
}

/// A registered client: what the store holds.
///
/// Plain data with public fields for stores and for the registry's
/// extensions; the [`Registry`](crate::Registry) keeps its invariants (at
/// most two active secrets, valid names and scopes).
///
/// `#[non_exhaustive]`: a record may hold more later. The registry builds
/// records; a [`CredentialStore`](crate::CredentialStore) deserializes them
/// (serde is not affected); [`ClientRecord::new`] builds one by hand (a
/// migration, a test), and its fields can then be set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The client id.
    pub id: ClientId,
    /// A human-readable name.
    pub name: String,
    /// The scopes the client may request (sorted, unique).
    pub scopes: Vec<String>,
    /// Whether the client may authenticate.
    pub status: ClientStatus,
    /// When the client was registered (UNIX seconds).
    pub created: i64,
    /// When the record last changed (UNIX seconds).
    pub updated: i64,
    /// Verifiers of the client's shared secrets, oldest first: at most
    /// [`MAX_ACTIVE_SECRETS`](crate::registry::MAX_ACTIVE_SECRETS), and authentication
    /// considers only that many (the registry prunes expired and revoked
    /// ones at the next rotation).
    #[serde(default)]
    pub secrets: Vec<SecretVerifier>,
    /// The client's registered public keys.
    #[serde(default)]
    pub public_keys: Vec<RegisteredKey>,
    /// The ids of the client's revoked keys whose material was pruned from
    /// [`public_keys`](Self::public_keys), oldest first. Never shortened:
    /// stores index these ids like those of `public_keys`, so a revoked
    /// key id keeps its owner and cannot be registered again. (Absent from
    /// records written before it existed, and from the JSON while empty.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_kids: Vec<RevokedKid>,
}

impl ClientRecord {
    /// An active client `id` named `name` with `scopes` (sorted and made
    /// unique), created and updated at `now` (UNIX seconds), with no
    /// secret and no key yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] or [`Error::InvalidScope`], as for
    /// [`Registry::register`](crate::Registry::register).
    pub fn new<S: AsRef<str>>(id: ClientId, name: &str, scopes: &[S], now: i64) -> Result<Self> {
        check_name(name)?;
        Ok(Self {
            id,
            name: name.to_owned(),
            scopes: normalize_scopes(scopes)?,
            status: ClientStatus::Active,
            created: now,
            updated: now,
            secrets: Vec::new(),
            public_keys: Vec::new(),
            revoked_kids: Vec::new(),
        })
    }

    /// Every key id the client holds or held: its registered keys' and its
    /// pruned revoked keys' ([`revoked_kids`](Self::revoked_kids)). A store
    /// indexes all of them ([`CredentialStore::find_by_key`](crate::CredentialStore::find_by_key)).
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.public_keys
            .iter()
            .map(|k| k.kid.as_str())
            .chain(self.revoked_kids.iter().map(|t| t.kid.as_str()))
    }

    /// Whether `kid` is one of the client's revoked keys, pruned or not.
    pub fn has_revoked_key(&self, kid: &str) -> bool {
        self.revoked_kids.iter().any(|t| t.kid == kid)
            || self
                .public_keys
                .iter()
                .any(|k| k.kid == kid && k.state == KeyState::Revoked)
    }
}

impl ClientRecord {
    /// The id of [`timing_dummy`](Self::timing_dummy): 22 zeros.
    pub(crate) fn timing_dummy_id() -> &'static str {
        "0000000000000000000000"
    }

    /// A record of the shape and size of a typical secret-authenticated
    /// client (a name, one scope, one secret, no keys). The stores clone or
    /// decode it when a lookup misses, so a missing id costs what a present
    /// one does ([`CredentialStore::get`](crate::CredentialStore::get)).
    /// It is never stored or returned.
    pub(crate) fn timing_dummy() -> Self {
        let now = 1_750_000_000;
        Self {
            id: ClientId(Self::timing_dummy_id().to_owned()),
            name: "Payments batch (timing dummy)".to_owned(),
            scopes: vec!["payments:write".to_owned()],
            status: ClientStatus::Active,
            created: now,
            updated: now,
            secrets: vec![SecretVerifier {
                id: SecretId("0".repeat(SECRET_ID_LEN)),
                pepper_version: 1,
                mac: Mac([0; 32]),
                created: now,
                expires: None,
                revoked: None,
            }],
            public_keys: Vec::new(),
            revoked_kids: Vec::new(),
        }
    }
}

/// Checks a client name: 1 to [`MAX_NAME_LEN`] bytes, no control
/// characters.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let bad = |reason| Err(Error::InvalidName { reason });
    if name.trim().is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 200 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("control characters");
    }
    Ok(())
}

/// Checks scopes (RFC 6749 section 3.3 `scope-token`: `%x21 / %x23-5B /
/// %x5D-7E`) and returns them sorted and unique.
pub(crate) fn normalize_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<Vec<String>> {
    let bad = |scope: &str, reason| {
        Err(Error::InvalidScope {
            scope: scope.chars().take(64).collect(),
            reason,
        })
    };
    let mut out = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let scope = scope.as_ref();
        if scope.is_empty() {
            return bad(scope, "empty");
        }
        if scope.len() > MAX_SCOPE_LEN {
            return bad(scope, "longer than 128 bytes");
        }
        if !scope
            .bytes()
            .all(|c| c == 0x21 || (0x23..=0x5b).contains(&c) || (0x5d..=0x7e).contains(&c))
        {
            return bad(scope, "not an RFC 6749 scope-token");
        }
        out.push(scope.to_owned());
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_SCOPES {
        return bad("", "more than 64 scopes");
    }
    Ok(out)
}
