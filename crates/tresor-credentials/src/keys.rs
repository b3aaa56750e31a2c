//! Public keys for signed requests and client assertions: parsing,
//! registration with proof of possession, states and validity.
//!
//! # Registration
//!
//! 1. The server asks the registry for a [`Challenge`]
//!    ([`Registry::key_challenge`]) and hands it to the client.
//! 2. The client signs the challenge's bytes ([`Challenge::as_bytes`], its
//!    ASCII text) with the private key, using the key's JWS algorithm
//!    (ECDSA signatures as fixed-size `r ‖ s`).
//! 3. The server passes the public key (SPKI PEM or public JWK), the
//!    challenge text and the signature to [`Registry::add_key`], which
//!    checks the challenge, verifies the signature under the presented key
//!    and only then stores the key, in state [`KeyState::Active`].
//!
//! # The challenge is stateless
//!
//! Nothing is stored between steps 1 and 3. A challenge is the text
//!
//! ```text
//! tresor-key-challenge.v1.<base64url(payload)>.<base64url(mac)>
//! payload = u32be(pepper_version) ‖ i64be(expires) ‖ nonce[16] ‖ client_id[22]
//! mac     = HMAC-SHA-256(pepper[pepper_version],
//!             u32be(len(ctx)) ‖ ctx ‖ u32be(len(payload)) ‖ payload)
//! ctx     = "tresor-credentials/key-challenge/v1"
//! ```
//!
//! under the registry's [`Pepper`](crate::Pepper) (the same framing as the
//! secret verifiers with another context string, so no MAC of one kind is
//! a MAC of the other). It binds the client id and an expiry
//! ([`CHALLENGE_LIFETIME`]); a forged or altered one fails its MAC, one for
//! another client or past its expiry is refused. Its text starts with
//! `tresor-key-challenge.`, which neither a JWS signing input (`eyJ…`) nor
//! an RFC 9421 signature base (`"@…` or `"field"`) can, so a proof is never
//! a valid assertion or request signature. A challenge can be replayed
//! within its lifetime, but only to register the same key for the same
//! client again, which is refused ([`Error::KeyExists`]).
//!
//! # Key ids, algorithms, states
//!
//! The key id is the RFC 7638 thumbprint (SHA-256) of the public key; it is
//! unique across all clients (the store's key index refuses a second
//! owner). Each key is pinned to one [`JwsAlgorithm`] at registration: the
//! key type decides (P-256 → `ES256`, P-384 → `ES384`, Ed25519 → `EdDSA`)
//! except for RSA, which needs `PS256` or `PS512` (the JWK's `alg` member or
//! [`KeyOptions::alg`]). For RFC 9421 request signatures the same key
//! serves `ecdsa-p256-sha256`, `ecdsa-p384-sha384`, `ed25519` or
//! `rsa-pss-sha512`; a `PS256` key has no RFC 9421 algorithm and serves
//! client assertions only.
//!
//! States: [`KeyState::Active`] (at most [`MAX_ACTIVE_KEYS`] per client),
//! [`KeyState::VerifyOnly`] (being retired: still verifies),
//! [`KeyState::Revoked`] (never again; kept as a tombstone so it cannot be
//! registered again). Beyond [`MAX_STORED_KEYS`] keys, the oldest revoked
//! keys lose their key material, but their ids are kept for ever in
//! [`ClientRecord::revoked_kids`], which the stores index: re-registering
//! a revoked key, for its client or any other, is refused
//! ([`Error::KeyRevoked`]), and its id still finds its owner, never as a
//! usable key. Active ↔ verify-only, and either → revoked. A key is
//! accepted only inside its `not_before`/`not_after` window and only while
//! its client is active.

use std::fmt;
use std::time::Duration;

use ring::rand::SecureRandom;
use subtle::ConstantTimeEq;
use tresor_types::jwk::PublicJwk;

use crate::client::{ClientId, ClientRecord, ClientStatus, KeyState, RegisteredKey, RevokedKid};
use crate::error::{Error, Result};
use crate::jwt::{self, JwsAlgorithm, KeyKind, RawPublicKey};
use crate::registry::Registry;

/// The most keys a client may have in state [`KeyState::Active`] at once.
pub const MAX_ACTIVE_KEYS: usize = 5;

/// How long a registration challenge is valid.
pub const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);

/// The most keys kept per client with their key material; beyond it the
/// oldest revoked keys are reduced to their id (kept for ever in
/// [`ClientRecord::revoked_kids`], so they can never be registered again),
/// then the oldest expired keys are forgotten.
pub const MAX_STORED_KEYS: usize = 20;

const CHALLENGE_PREFIX: &str = "tresor-key-challenge.v1.";
const CHALLENGE_CONTEXT: &str = "tresor-credentials/key-challenge/v1";
const NONCE_LEN: usize = 16;
const PAYLOAD_LEN: usize = 4 + 8 + NONCE_LEN + crate::client::CLIENT_ID_LEN;

/// A proof-of-possession challenge for one client (see the [module
/// docs](self)). Not secret: it only has to be unforgeable.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    text: String,
    client_id: ClientId,
    expires: i64,
}

impl Challenge {
    /// The challenge text, to send to the client and to get back.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The bytes the client signs: the text, as ASCII.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The client the challenge is for.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// When it expires (UNIX seconds): valid while `now < expires`.
    pub fn expires(&self) -> i64 {
        self.expires
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("client_id", &self.client_id)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Options of a key registration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyOptions {
    /// The algorithm to pin the key to (required for RSA keys unless the
    /// JWK has `alg`; must agree with the JWK's `alg` if both are given).
    pub alg: Option<JwsAlgorithm>,
    /// The key is not accepted before this time (UNIX seconds).
    pub not_before: Option<i64>,
    /// The key is not accepted from this time on (UNIX seconds).
    pub not_after: Option<i64>,
}

impl KeyOptions {
    /// No options: the algorithm follows from the key, no validity window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pins the key to `alg`.
    pub fn alg(mut self, alg: JwsAlgorithm) -> Self {
        self.alg = Some(alg);
        self
    }

    /// The key is valid from `not_before` (inclusive) to `not_after`
    /// (exclusive), UNIX seconds, each optional.
    pub fn validity(mut self, not_before: Option<i64>, not_after: Option<i64>) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }
}

/// A validated public key pinned to one algorithm, with its RFC 7638
/// thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientPublicKey {
    raw: RawPublicKey,
    alg: JwsAlgorithm,
    kid: String,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidKey {
        reason: reason.into(),
    }
}

fn httpsig_error(e: tresor_httpsig::Error) -> Error {
    invalid(e.to_string())
}

impl ClientPublicKey {
    /// Parses an SPKI PEM (`-----BEGIN PUBLIC KEY-----`, or PKCS#1
    /// `RSA PUBLIC KEY`) or a public JWK (RFC 7517: `EC` P-256/P-384, `OKP`
    /// Ed25519, `RSA` of 2048 to 8192 bits) and pins it to `alg`, or to the
    /// JWK's `alg`, or to the key type's algorithm.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for a private key (PEM) or any private JWK
    /// member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`), bad encoding,
    /// an unsupported key type, curve or algorithm (`RS256`, `HS256`,
    /// `none` …), an algorithm that does not fit the key, or an RSA key
    /// without an algorithm.
    pub fn parse(text: &str, alg: Option<JwsAlgorithm>) -> Result<Self> {
        let text = text.trim();
        let (public, alg) = if text.starts_with("-----BEGIN") {
            (Self::parse_pem(text, alg)?, alg)
        } else {
            Self::parse_jwk(text, alg)?
        };
        let jwk =
            PublicJwk::parse(&public.to_jwk()).map_err(|_| invalid("cannot read the key back"))?;
        let raw = RawPublicKey::from_jwk(&jwk).map_err(invalid)?;
        let kind = raw.kind();
        let alg = match (alg, kind) {
            (Some(alg), _) => alg,
            (None, KeyKind::P256) => JwsAlgorithm::Es256,
            (None, KeyKind::P384) => JwsAlgorithm::Es384,
            (None, KeyKind::Ed25519) => JwsAlgorithm::EdDsa,
            (None, KeyKind::Rsa) => {
                return Err(invalid(
                    "an RSA key needs an algorithm, PS256 or PS512 (JWK alg or KeyOptions::alg)",
                ));
            }
        };
        if !alg.fits(kind) {
            return Err(invalid(format!("{alg} does not fit this key type")));
        }
        let kid = raw.thumbprint();
        // Two independent RFC 7638 computations must agree.
        if kid != public.thumbprint() {
            return Err(invalid("thumbprint mismatch"));
        }
        Ok(Self { raw, alg, kid })
    }

    fn parse_pem(text: &str, alg: Option<JwsAlgorithm>) -> Result<tresor_httpsig::PublicKey> {
        use tresor_httpsig::{Algorithm, PublicKey};
        match alg {
            Some(JwsAlgorithm::Ps256 | JwsAlgorithm::Ps512) => {
                PublicKey::from_pem_with_alg(text, Algorithm::RsaPssSha512).map_err(httpsig_error)
            }
            _ => PublicKey::from_pem(text).map_err(|e| {
                if PublicKey::from_pem_with_alg(text, Algorithm::RsaPssSha512).is_ok() {
                    invalid("an RSA key needs an algorithm, PS256 or PS512 (KeyOptions::alg)")
                } else {
                    httpsig_error(e)
                }
            }),
        }
    }

    fn parse_jwk(
        text: &str,
        requested: Option<JwsAlgorithm>,
    ) -> Result<(tresor_httpsig::PublicKey, Option<JwsAlgorithm>)> {
        use tresor_httpsig::{Algorithm, PublicKey};
        // The one JWK parser (tresor-types): the private members
        // (`tresor_types::jwk::PRIVATE_MEMBERS`), duplicate members, `use`
        // other than `sig` and bad encodings are refused there.
        let jwk = PublicJwk::parse(text).map_err(|e| match e {
            tresor_types::Error::InvalidJwk { reason } => {
                invalid(format!("{reason} (PEM or public JWK expected)"))
            }
            other => invalid(other.to_string()),
        })?;
        let jwk_alg = match jwk.alg() {
            None => None,
            Some(name) => Some(JwsAlgorithm::from_name(name).ok_or_else(|| {
                invalid(format!(
                    "unsupported algorithm {:?} (ES256, ES384, EdDSA, PS256, PS512)",
                    name.chars().take(16).collect::<String>()
                ))
            })?),
        };
        let alg = match (jwk_alg, requested) {
            (Some(j), Some(r)) if j != r => {
                return Err(invalid(format!("the JWK says {j}, the caller {r}")));
            }
            (j, r) => r.or(j),
        };
        // tresor-httpsig validates the key (point on the curve, RSA size);
        // it gets the bare key, as its algorithm names are not JOSE's.
        let bare = jwk.key().canonical_json();
        let public = if jwk.key().kty() == "RSA" {
            PublicKey::from_jwk_with_alg(&bare, Algorithm::RsaPssSha512)
        } else {
            PublicKey::from_jwk(&bare)
        }
        .map_err(httpsig_error)?;
        Ok((public, alg))
    }

    /// Reads a stored key back (validated when it was registered).
    pub(crate) fn from_registered(key: &RegisteredKey) -> Option<Self> {
        let alg = JwsAlgorithm::from_name(&key.alg)?;
        let jwk = PublicJwk::parse(&key.jwk).ok()?;
        let raw = RawPublicKey::from_jwk(&jwk).ok()?;
        alg.fits(raw.kind()).then(|| Self {
            raw,
            alg,
            kid: key.kid.clone(),
        })
    }

    /// The key id: the RFC 7638 thumbprint, base64url of SHA-256.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm the key is pinned to.
    pub fn alg(&self) -> JwsAlgorithm {
        self.alg
    }

    /// The public JWK as stored: the RFC 7638 members, `alg`, `kid`, `use`.
    pub fn to_jwk(&self) -> String {
        self.raw.to_jwk(self.alg, Some(&self.kid))
    }

    /// Whether `signature` verifies over `message` under this key and its
    /// algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.raw.verify(self.alg, message, signature)
    }

    /// The key as an RFC 9421 verifying key, or `None` for a `PS256` key
    /// (RFC 9421 has no RSA-PSS-SHA-256 algorithm).
    pub fn to_httpsig(&self) -> Option<tresor_httpsig::PublicKey> {
        use tresor_httpsig::Algorithm;
        let alg = match self.alg {
            JwsAlgorithm::Es256 => Algorithm::EcdsaP256Sha256,
            JwsAlgorithm::Es384 => Algorithm::EcdsaP384Sha384,
            JwsAlgorithm::EdDsa => Algorithm::Ed25519,
            JwsAlgorithm::Ps512 => Algorithm::RsaPssSha512,
            JwsAlgorithm::Ps256 => return None,
        };
        tresor_httpsig::PublicKey::from_jwk_with_alg(&self.raw.thumbprint_input(), alg).ok()
    }
}

impl fmt::Debug for ClientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientPublicKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish()
    }
}

/// Why a registered key cannot be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    ClientSuspended,
    Revoked,
    OutsideWindow,
}

/// Whether `key` of `record` may verify at `now`: client active, key
/// active or verify-only, inside its window.
pub(crate) fn check_usable(
    record: &ClientRecord,
    key: &RegisteredKey,
    now: i64,
) -> Result<(), Unusable> {
    if record.status != ClientStatus::Active {
        return Err(Unusable::ClientSuspended);
    }
    if key.state == KeyState::Revoked {
        return Err(Unusable::Revoked);
    }
    if !in_window(key, now) {
        return Err(Unusable::OutsideWindow);
    }
    Ok(())
}

fn in_window(key: &RegisteredKey, now: i64) -> bool {
    key.not_before.is_none_or(|nb| nb <= now) && key.not_after.is_none_or(|na| now < na)
}

fn state_name(state: KeyState) -> &'static str {
    match state {
        KeyState::Active => "active",
        KeyState::VerifyOnly => "verify_only",
        KeyState::Revoked => "revoked",
    }
}

/// Active keys that are not past their end.
fn active_count(record: &ClientRecord, now: i64) -> usize {
    record
        .public_keys
        .iter()
        .filter(|k| k.state == KeyState::Active && k.not_after.is_none_or(|na| now < na))
        .count()
}

fn challenge_input(payload: &[u8]) -> Vec<u8> {
    crate::store::framed(&[CHALLENGE_CONTEXT.as_bytes(), payload])
}

impl Registry {
    /// A proof-of-possession challenge for registering a key of
    /// `client_id`, valid for [`CHALLENGE_LIFETIME`].
    ///
    /// # Errors
    ///
    /// [`Error::UnknownClient`], a store or pepper failure, [`Error::Rng`].
    pub fn key_challenge(&self, client_id: &ClientId) -> Result<Challenge> {
        if self.store.get(client_id)?.is_none() {
            return Err(Error::UnknownClient {
                client_id: client_id.to_string(),
            });
        }
        let version = self.pepper.current_version();
        let lifetime = i64::try_from(CHALLENGE_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        let expires = self.now()?.saturating_add(lifetime);
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| Error::Rng)?;
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.extend_from_slice(&version.to_be_bytes());
        payload.extend_from_slice(&expires.to_be_bytes());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(client_id.as_str().as_bytes());
        let mac = self.pepper.mac(version, &challenge_input(&payload))?;
        Ok(Challenge {
            text: format!(
                "{CHALLENGE_PREFIX}{}.{}",
                jwt::encode(&payload),
                jwt::encode(&mac)
            ),
            client_id: client_id.clone(),
            expires,
        })
    }

    /// Checks a challenge's MAC, client and expiry.
    fn check_challenge(&self, client_id: &ClientId, text: &str) -> Result<()> {
        let bad = |reason| Err(Error::InvalidChallenge { reason });
        let Some((payload, mac)) = text
            .strip_prefix(CHALLENGE_PREFIX)
            .and_then(|rest| rest.split_once('.'))
        else {
            return bad("malformed");
        };
        let (Ok(payload), Ok(mac)) = (jwt::decode(payload), jwt::decode(mac)) else {
            return bad("malformed");
        };
        if payload.len() != PAYLOAD_LEN || mac.len() != 32 {
            return bad("malformed");
        }
        let (version, rest) = payload.split_at(4);
        let (expires, rest) = rest.split_at(8);
        let (_nonce, id) = rest.split_at(NONCE_LEN);
        let version = u32::from_be_bytes(version.try_into().unwrap_or_default());
        let expires = i64::from_be_bytes(expires.try_into().unwrap_or_default());
        let expected = match self.pepper.mac(version, &challenge_input(&payload)) {
            Ok(m) => m,
            Err(Error::UnknownPepperVersion { .. }) => return bad("not issued by this registry"),
            Err(e) => return Err(e),
        };
        if !bool::from(expected.as_slice().ct_eq(&mac)) {
            return bad("not issued by this registry");
        }
        if id != client_id.as_str().as_bytes() {
            return bad("issued for another client");
        }
        if self.now()? >= expires {
            return bad("expired");
        }
        Ok(())
    }

    /// Registers a public key for `client_id` with proof of possession
    /// (see the [module docs](self)): the algorithm follows from the key
    /// (or the JWK's `alg`), no validity window.
    ///
    /// # Errors
    ///
    /// As [`add_key_with`](Self::add_key_with).
    pub fn add_key(
        &self,
        client_id: &ClientId,
        public_key: &str,
        challenge: &str,
        proof_signature: &[u8],
    ) -> Result<RegisteredKey> {
        self.add_key_with(
            client_id,
            public_key,
            challenge,
            proof_signature,
            KeyOptions::default(),
        )
    }

    /// Registers a public key (SPKI PEM or public JWK) for `client_id`:
    /// checks `challenge` (issued by [`key_challenge`](Self::key_challenge)
    /// for this client, not expired), verifies `proof_signature` (the
    /// client's signature over the challenge bytes under the presented key
    /// and its algorithm), then stores the key as [`KeyState::Active`] under
    /// its RFC 7638 thumbprint.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`], [`Error::InvalidChallenge`],
    /// [`Error::BadProof`], [`Error::InvalidValidity`],
    /// [`Error::KeyRevoked`] (revoked before, by this or another client,
    /// even if its material was pruned since), [`Error::KeyExists`]
    /// (registered to this or another client), [`Error::TooManyActiveKeys`],
    /// [`Error::UnknownClient`], store and pepper failures.
    pub fn add_key_with(
        &self,
        client_id: &ClientId,
        public_key: &str,
        challenge: &str,
        proof_signature: &[u8],
        options: KeyOptions,
    ) -> Result<RegisteredKey> {
        let key = ClientPublicKey::parse(public_key, options.alg)?;
        self.check_challenge(client_id, challenge)?;
        if !key.verify(challenge.as_bytes(), proof_signature) {
            return Err(Error::BadProof);
        }
        if let (Some(nb), Some(na)) = (options.not_before, options.not_after)
            && nb >= na
        {
            return Err(Error::InvalidValidity {
                reason: "not_before is not before not_after",
            });
        }
        let now = self.now()?;
        if options.not_after.is_some_and(|na| na <= now) {
            return Err(Error::InvalidValidity {
                reason: "not_after has passed",
            });
        }
        if let Some(owner) = self.store.find_by_key(key.kid())? {
            if owner.record.has_revoked_key(key.kid()) {
                return Err(Error::KeyRevoked {
                    kid: key.kid().to_owned(),
                });
            }
            if &owner.record.id != client_id {
                return Err(Error::KeyExists {
                    kid: key.kid().to_owned(),
                });
            }
        }
        self.modify(client_id, |record, now| {
            if record.has_revoked_key(key.kid()) {
                return Err(Error::KeyRevoked {
                    kid: key.kid().to_owned(),
                });
            }
            if record.public_keys.iter().any(|k| k.kid == key.kid()) {
                return Err(Error::KeyExists {
                    kid: key.kid().to_owned(),
                });
            }
            if active_count(record, now) >= MAX_ACTIVE_KEYS {
                return Err(Error::TooManyActiveKeys {
                    client_id: client_id.to_string(),
                    max: MAX_ACTIVE_KEYS,
                });
            }
            let registered = RegisteredKey {
                kid: key.kid().to_owned(),
                jwk: key.to_jwk(),
                alg: key.alg().name().to_owned(),
                state: KeyState::Active,
                not_before: options.not_before,
                not_after: options.not_after,
                created: now,
            };
            record.public_keys.push(registered.clone());
            prune(record, now)?;
            Ok(registered)
        })
    }

    /// Changes the state of one of the client's keys: active ↔
    /// verify-only, either → revoked. Setting the current state is a
    /// no-op.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`], [`Error::InvalidKeyTransition`] (a revoked
    /// key stays revoked), [`Error::TooManyActiveKeys`] (reactivating a
    /// sixth), [`Error::UnknownClient`], store failures.
    pub fn set_key_state(&self, client_id: &ClientId, kid: &str, state: KeyState) -> Result<()> {
        self.modify(client_id, |record, now| {
            let active = active_count(record, now);
            let key = record
                .public_keys
                .iter_mut()
                .find(|k| k.kid == kid)
                .ok_or_else(|| Error::UnknownKey {
                    client_id: client_id.to_string(),
                    kid: kid.chars().take(64).collect(),
                })?;
            match (key.state, state) {
                (from, to) if from == to => Ok(()),
                (KeyState::Revoked, to) => Err(Error::InvalidKeyTransition {
                    kid: kid.to_owned(),
                    from: state_name(KeyState::Revoked),
                    to: state_name(to),
                }),
                (_, KeyState::Active) if active >= MAX_ACTIVE_KEYS => {
                    Err(Error::TooManyActiveKeys {
                        client_id: client_id.to_string(),
                        max: MAX_ACTIVE_KEYS,
                    })
                }
                (_, to) => {
                    key.state = to;
                    Ok(())
                }
            }
        })
    }

    /// Revokes one of the client's keys, immediately and for good.
    ///
    /// # Errors
    ///
    /// As [`set_key_state`](Self::set_key_state).
    pub fn revoke_key(&self, client_id: &ClientId, kid: &str) -> Result<()> {
        self.set_key_state(client_id, kid, KeyState::Revoked)
    }

    /// The client holding the key `kid` and the key, in any state; `None`
    /// if no client has it, or if it is a revoked key whose material was
    /// pruned (its id is in the owner's [`ClientRecord::revoked_kids`];
    /// [`CredentialStore::find_by_key`](crate::CredentialStore::find_by_key)
    /// still finds the owner). A server uses it after an RFC 9421
    /// verification to learn which client signed (and its scopes).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn client_for_key(&self, kid: &str) -> Result<Option<(ClientRecord, RegisteredKey)>> {
        let Some(stored) = self.store.find_by_key(kid)? else {
            return Ok(None);
        };
        let key = stored
            .record
            .public_keys
            .iter()
            .find(|k| k.kid == kid)
            .cloned();
        Ok(key.map(|k| (stored.record, k)))
    }
}

/// Keeps at most [`MAX_STORED_KEYS`] keys with their material: reduces the
/// oldest revoked keys to tombstones in [`ClientRecord::revoked_kids`]
/// (never forgotten), then forgets the oldest keys past their end.
fn prune(record: &mut ClientRecord, now: i64) -> Result<()> {
    let keys = &mut record.public_keys;
    while keys.len() > MAX_STORED_KEYS {
        let Some(i) = keys.iter().position(|k| k.state == KeyState::Revoked) else {
            break;
        };
        let revoked = keys.remove(i);
        record.revoked_kids.push(RevokedKid {
            kid: revoked.kid,
            pruned: now,
        });
    }
    let expired = |k: &RegisteredKey| k.not_after.is_some_and(|na| na <= now);
    while keys.len() > MAX_STORED_KEYS {
        let Some(i) = keys.iter().position(expired) else {
            break;
        };
        keys.remove(i);
    }
    if keys.len() > MAX_STORED_KEYS {
        return Err(Error::TooManyActiveKeys {
            client_id: record.id.to_string(),
            max: MAX_STORED_KEYS,
        });
    }
    Ok(())
}
