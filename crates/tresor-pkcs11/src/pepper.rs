//! `Pkcs11Pepper`: the versioned HMAC-SHA-256 pepper of `tresor-credentials`,
//! its keys held in the token.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};

use crate::key::{self, Described, KeyCustody, KeyName};
use crate::pool::{Fault, PooledSession};
use crate::uri::{ObjectType, Pkcs11Uri, object_description};
use crate::{BackendError, Error, Result, Token};

/// Length of the HMAC keys [`Pkcs11Pepper`] generates, in bytes (the
/// length of `tresor_credentials::LocalPepper`'s keys, and of SHA-256's
/// output); keys found in the token must have at least this many.
pub const PEPPER_KEY_LEN: usize = 32;

/// Length of an HMAC-SHA-256 tag.
const MAC_LEN: usize = 32;

/// Length of a version in `CKA_ID`: a big-endian `u32`.
const VERSION_ID_LEN: usize = 4;

const EXPECTED_PEPPER: &str = "an HMAC key (CKK_GENERIC_SECRET or CKK_SHA256_HMAC, at least 32 bytes) \
     with CKA_SIGN and a 4-byte CKA_ID holding its version (1 or more, big-endian)";

/// A `tresor_credentials::Pepper` whose HMAC-SHA-256 keys are secret keys
/// inside a PKCS#11 token: each MAC is computed by the token
/// (`C_Sign` with `CKM_SHA256_HMAC`), and the keys' bytes never leave it.
///
/// The tag is exactly HMAC-SHA-256 (RFC 2104) of the data under the key,
/// the same as `tresor_credentials::LocalPepper` computes in memory: a
/// verifier made under a key file verifies under the same key in a token.
///
/// # Versions are objects
///
/// A pepper is a **label** (the URI's `object=`, e.g. `pepper`); each of
/// its versions is one secret key with that label whose **`CKA_ID` is the
/// version**, 4 bytes big-endian (version 1 is `id=%00%00%00%01`). A
/// pepper URI names the label alone:
///
/// ```text
/// pkcs11:token=tresor;object=pepper?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin
/// ```
///
/// Every object under the label must be such a key (a misplaced object is
/// an error, not ignored). One label keeps the versions together in a
/// listing (`tresor hsm list`), lets an operator delete one version by its
/// id, and needs one search to find them all, where labels such as
/// `pepper-v2` would need a scan of every key of the token.
///
/// # Current version
///
/// [`Pepper::current_version`](tresor_credentials::Pepper::current_version)
/// is the highest version in the token when the pepper is opened, unless
/// the builder sets one ([`Pkcs11PepperBuilder::current_version`], or an
/// `id=` in the URI: then that version must exist, and new verifiers stay
/// under it until [`Pkcs11Pepper::rotate`]). A MAC under a version this
/// handle has not seen looks the version up in the token, so a version
/// another process created verifies here too, and, unless the version was
/// configured, becomes current (so two servers never re-derive verifiers
/// back and forth between their versions).
///
/// # Key type and custody
///
/// Generated keys are `CKK_GENERIC_SECRET`, 32 bytes
/// (`CKM_GENERIC_SECRET_KEY_GEN`): SoftHSM2 2.6 generates no
/// `CKK_SHA256_HMAC` key (`CKR_TEMPLATE_INCONSISTENT`), HSMs generally
/// generate generic secrets, and `CKM_SHA256_HMAC` signs with either
/// type; both are accepted when opening. Generated keys are token objects,
/// private, `CKA_SENSITIVE` true, `CKA_EXTRACTABLE` false, `CKA_SIGN`
/// true and nothing else (no verify, encrypt, decrypt, wrap, unwrap or
/// derive). A key whose `CKA_EXTRACTABLE` is true or `CKA_SENSITIVE`
/// false is refused ([`Error::KeyExtractable`]) unless the builder allows
/// it ([`Pkcs11PepperBuilder::allow_extractable`]).
///
/// # Errors in the `Pepper` impl
///
/// A version the token does not hold is
/// `tresor_credentials::Error::UnknownPepperVersion` (the registry treats
/// it as "this verifier does not match"). Every other failure, an outage
/// ([`Error::is_unavailable`]) or a misconfigured key alike, is
/// `tresor_credentials::Error::Pepper` with this crate's [`Error`] as its
/// source: the registry answers it `AuthError::Unavailable` (503), never
/// `invalid_client`, so a token outage never makes a client discard a good
/// secret.
pub struct Pkcs11Pepper {
    token: Token,
    label: String,
    allow_extractable: bool,
    /// Whether the current version was configured (then lookups do not
    /// raise it).
    pinned: bool,
    current: AtomicU32,
    /// Key handles by version, with the pool generation they were found
    /// in: a token failure makes them stale.
    keys: Mutex<Handles>,
    /// Serialises [`Pkcs11Pepper::rotate`] within the process.
    rotating: Mutex<()>,
}

struct Handles {
    generation: u64,
    by_version: BTreeMap<u32, ObjectHandle>,
}

/// Options for opening a [`Pkcs11Pepper`]: which label, which current
/// version, and whether extractable keys are acceptable.
#[must_use]
pub struct Pkcs11PepperBuilder {
    token: Token,
    label: Option<String>,
    current_version: Option<u32>,
    allow_extractable: bool,
    invalid: Option<String>,
}

impl Pkcs11PepperBuilder {
    /// The pepper's label, `CKA_LABEL` of every version (the URI's
    /// `object`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Takes the label from the URI's `object`, and the current version
    /// from its `id` if it has one (4 bytes, big-endian). The `type`, if
    /// any, must be `secret-key`.
    pub fn uri(mut self, uri: &Pkcs11Uri) -> Self {
        if let Some(label) = uri.object() {
            self.label = Some(label.to_owned());
        }
        if let Some(id) = uri.id() {
            match version_of(id) {
                Some(version) => self.current_version = Some(version),
                None => {
                    self.invalid = Some(
                        "a pepper URI's id= is a version: 4 bytes, big-endian, not zero \
                         (version 2 is id=%00%00%00%02)"
                            .into(),
                    );
                }
            }
        }
        if uri
            .object_type()
            .is_some_and(|t| t != ObjectType::SecretKey)
        {
            self.invalid = Some(
                "a pepper's keys are secret keys: the URI's type must be secret-key or absent"
                    .into(),
            );
        }
        self
    }

    /// The version new verifiers are made under, instead of the highest
    /// one in the token. It must exist.
    pub fn current_version(mut self, version: u32) -> Self {
        self.current_version = Some(version);
        self
    }

    /// Accepts keys that can leave the token (`CKA_EXTRACTABLE` true or
    /// `CKA_SENSITIVE` false). Off by default; meant for migrations and
    /// tests, never for production keys.
    pub fn allow_extractable(mut self, allow: bool) -> Self {
        self.allow_extractable = allow;
        self
    }

    /// Finds every version under the label, checks each (an HMAC key that
    /// may sign, with a version id, not extractable unless allowed), and
    /// returns the pepper.
    pub fn open(self) -> Result<Pkcs11Pepper> {
        if let Some(reason) = self.invalid {
            return Err(Error::InvalidKeyName { reason });
        }
        let label = self.label.ok_or_else(|| Error::InvalidKeyName {
            reason: "name the pepper by its label (object=)".into(),
        })?;
        // Validates the label (not empty).
        KeyName::new(Some(label.clone()), None)?;
        if self.current_version == Some(0) {
            return Err(Error::InvalidKeyName {
                reason: "pepper versions start at 1".into(),
            });
        }
        let pepper = Pkcs11Pepper {
            token: self.token,
            label,
            allow_extractable: self.allow_extractable,
            pinned: self.current_version.is_some(),
            current: AtomicU32::new(0),
            keys: Mutex::new(Handles {
                generation: 0,
                by_version: BTreeMap::new(),
            }),
            rotating: Mutex::new(()),
        };
        let found = pepper.scan()?;
        let current = match self.current_version {
            Some(version) if found.contains_key(&version) => version,
            Some(version) => {
                return Err(Error::KeyNotFound {
                    object: pepper.version_name(version),
                    token: pepper.token.description().to_owned(),
                });
            }
            None => found.keys().next_back().copied().unwrap_or(0),
        };
        pepper.current.store(current, Ordering::Release);
        Ok(pepper)
    }
}

impl Pkcs11Pepper {
    /// Opens the token and the pepper a URI names (`object`, and `id` to
    /// fix the current version), refusing extractable keys. For other
    /// options use [`Pkcs11Pepper::builder`].
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let token = Token::open(uri)?;
        Self::builder(&token).uri(uri).open()
    }

    /// Options for opening a pepper of `token`.
    pub fn builder(token: &Token) -> Pkcs11PepperBuilder {
        Pkcs11PepperBuilder {
            token: token.clone(),
            label: None,
            current_version: None,
            allow_extractable: false,
            invalid: None,
        }
    }

    /// Creates a new pepper in the token: version 1, a 32-byte HMAC key
    /// that never leaves the token (see [the type's docs](Pkcs11Pepper)),
    /// labelled `label` with `CKA_ID` `00 00 00 01`, and opens it.
    ///
    /// Fails with [`Error::KeyExists`] if any object already has this
    /// label: a label always means one pepper.
    pub fn generate(token: &Token, label: &str) -> Result<Self> {
        let name = KeyName::new(Some(label.to_owned()), None)?;
        {
            let session = token.rw_session()?;
            let inner = token.inner();
            let found = session
                .find_objects(&name.template())
                .map_err(|err| inner.fail_fresh("C_FindObjects", err))?;
            if !found.is_empty() {
                return Err(Error::KeyExists {
                    object: name.to_string(),
                    token: inner.description().to_owned(),
                });
            }
        }
        key::generate_hmac(token, &version_key_name(label, 1)?, PEPPER_KEY_LEN)?;
        Self::builder(token).label(label).open()
    }

    /// Adds the next version to the token (one above the highest there,
    /// or above the current one if that is higher) and makes it current;
    /// returns it. Older versions stay, for verifiers not yet re-derived:
    /// the registry moves each verifier to the new version at its
    /// client's next successful authentication. Delete an old version's
    /// object only once every client has authenticated since.
    ///
    /// Rotate from one place (an operator, a deployment job): two
    /// processes rotating at the same moment could both create the same
    /// version, which is then refused as [`Error::AmbiguousKey`]. Other
    /// processes pick the new version up at their first MAC under it, or
    /// with [`Pkcs11Pepper::refresh`].
    pub fn rotate(&self) -> Result<u32> {
        let _rotating = self.rotating.lock().unwrap_or_else(PoisonError::into_inner);
        let highest = self.scan()?.keys().next_back().copied().unwrap_or(0);
        let next = highest
            .max(self.current.load(Ordering::Acquire))
            .checked_add(1)
            .ok_or_else(|| Error::InvalidKeyName {
                reason: "pepper versions exhausted".into(),
            })?;
        key::generate_hmac(
            &self.token,
            &version_key_name(&self.label, next)?,
            PEPPER_KEY_LEN,
        )?;
        // Check the new key as any other, then make it current.
        let mut session = self.token.session()?;
        self.handle(&mut session, next)?;
        self.current.store(next, Ordering::Release);
        Ok(next)
    }

    /// Looks every version up in the token again (after another process
    /// rotated, or an operator deleted an old version) and, unless the
    /// current version was configured, makes the highest current. Returns
    /// the current version.
    pub fn refresh(&self) -> Result<u32> {
        let highest = self.scan()?.keys().next_back().copied().unwrap_or(0);
        if !self.pinned {
            self.current.fetch_max(highest, Ordering::AcqRel);
        }
        Ok(self.current.load(Ordering::Acquire))
    }

    /// The versions in the token, ascending (read from the token).
    pub fn versions(&self) -> Result<Vec<u32>> {
        Ok(self.scan()?.into_keys().collect())
    }

    /// The version new verifiers are made under (the same as
    /// `Pepper::current_version`).
    pub fn current(&self) -> u32 {
        self.current.load(Ordering::Acquire)
    }

    /// The pepper's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token the keys live in.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// What the token says about one version's custody.
    pub fn custody(&self, version: u32) -> Result<KeyCustody> {
        let mut session = self.token.session()?;
        let handle = self.handle(&mut session, version)?;
        key::custody(&mut session, handle)
    }

    /// HMAC-SHA-256 of `data` under the key of `version`, computed in the
    /// token. [`Error::KeyNotFound`] if the token holds no such version;
    /// this crate's errors otherwise. The `Pepper` impl maps these to
    /// `tresor_credentials` errors (see [the type's docs](Pkcs11Pepper)).
    pub fn hmac(&self, version: u32, data: &[u8]) -> Result<[u8; MAC_LEN]> {
        let mut session = self.token.session()?;
        let handle = self.handle(&mut session, version)?;
        let tag = match session.sign(&Mechanism::Sha256Hmac, handle, data) {
            Ok(tag) => tag,
            Err(err) => {
                if Fault::of(&err) == Fault::Object {
                    self.lock_keys().by_version.remove(&version);
                }
                return Err(session.fail("C_Sign", err));
            }
        };
        <[u8; MAC_LEN]>::try_from(tag.as_slice()).map_err(|_| Error::Backend {
            operation: "C_Sign",
            token: self.token.description().to_owned(),
            source: BackendError::new(format!(
                "CKM_SHA256_HMAC returned {} bytes, expected {MAC_LEN}",
                tag.len()
            )),
        })
    }

    /// The handle of `version`: remembered, or found (and checked).
    fn handle(&self, session: &mut PooledSession<'_>, version: u32) -> Result<ObjectHandle> {
        let generation = self.token.inner().pool.generation();
        {
            let mut keys = self.lock_keys();
            if keys.generation != generation {
                keys.generation = generation;
                keys.by_version.clear();
            }
            if let Some(handle) = keys.by_version.get(&version) {
                return Ok(*handle);
            }
        }
        if version == 0 {
            // Versions start at 1: no object can hold version 0 (as for
            // `LocalPepper`, an unknown version).
            return Err(Error::KeyNotFound {
                object: self.version_name(0),
                token: self.token.description().to_owned(),
            });
        }
        let name = version_key_name(&self.label, version)?;
        let handles = match session.find_objects(&name.template()) {
            Ok(handles) => handles,
            Err(err) => return Err(session.fail("C_FindObjects", err)),
        };
        let handle = match handles.as_slice() {
            [] => {
                // A token that stopped answering finds nothing too: that
                // is an outage, not a missing version.
                self.token.inner().check_present()?;
                return Err(Error::KeyNotFound {
                    object: name.to_string(),
                    token: self.token.description().to_owned(),
                });
            }
            [handle] => *handle,
            _ => {
                return Err(Error::AmbiguousKey {
                    object: name.to_string(),
                    token: self.token.description().to_owned(),
                });
            }
        };
        let described = Described::read(session, handle)?;
        self.check(&described)?;
        let mut keys = self.lock_keys();
        if keys.generation == generation {
            keys.by_version.insert(version, handle);
        }
        if !self.pinned {
            self.current.fetch_max(version, Ordering::AcqRel);
        }
        Ok(handle)
    }

    /// Every version under the label, checked; remembers their handles.
    fn scan(&self) -> Result<BTreeMap<u32, ObjectHandle>> {
        let mut session = self.token.session()?;
        let generation = self.token.inner().pool.generation();
        let template = [Attribute::Label(self.label.as_bytes().to_vec())];
        let handles = match session.find_objects(&template) {
            Ok(handles) => handles,
            Err(err) => return Err(session.fail("C_FindObjects", err)),
        };
        if handles.is_empty() {
            self.token.inner().check_present()?;
            return Err(Error::KeyNotFound {
                object: object_description(Some(&self.label), None),
                token: self.token.description().to_owned(),
            });
        }
        let mut found = BTreeMap::new();
        for handle in handles {
            let described = Described::read(&mut session, handle)?;
            let version = self.check(&described)?;
            if found.insert(version, handle).is_some() {
                return Err(Error::AmbiguousKey {
                    object: self.version_name(version),
                    token: self.token.description().to_owned(),
                });
            }
        }
        let mut keys = self.lock_keys();
        keys.generation = generation;
        keys.by_version.clone_from(&found);
        Ok(found)
    }

    /// Checks that an object under the label is a usable version; returns
    /// the version.
    fn check(&self, key: &Described) -> Result<u32> {
        let version = key.id.as_deref().and_then(version_of);
        let object = object_description(Some(&self.label), key.id.as_deref());
        let wrong = |found: String| Error::WrongKeyType {
            object: object.clone(),
            expected: EXPECTED_PEPPER,
            found,
        };
        match (key.class, key.key_type) {
            (Some(class), _) if class != ObjectClass::SECRET_KEY => {
                return Err(wrong(format!("a {class} object")));
            }
            (None, _) => return Err(wrong("an object of unknown class".into())),
            (_, Some(t)) if t != KeyType::GENERIC_SECRET && t != KeyType::SHA256_HMAC => {
                return Err(wrong(format!("a {t} secret key")));
            }
            (_, None) => return Err(wrong("a secret key of unknown type".into())),
            _ => {}
        }
        match key.value_len {
            Some(len) if len < PEPPER_KEY_LEN => {
                return Err(wrong(format!("an HMAC key of {len} bytes")));
            }
            None => return Err(wrong("an HMAC key of unknown length".into())),
            _ => {}
        }
        if key.sign != Some(true) {
            return Err(wrong("an HMAC key without CKA_SIGN".into()));
        }
        let Some(version) = version else {
            return Err(wrong(
                "an HMAC key whose CKA_ID is not a version (4 bytes, big-endian, not zero)".into(),
            ));
        };
        if key.extractable() && !self.allow_extractable {
            return Err(Error::KeyExtractable { object });
        }
        Ok(version)
    }

    fn version_name(&self, version: u32) -> String {
        object_description(Some(&self.label), Some(&version.to_be_bytes()))
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, Handles> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This crate's error as a `tresor_credentials` error: a version the
    /// token does not hold is `UnknownPepperVersion`, anything else a
    /// pepper failure carrying the error.
    fn credentials_error(version: u32, err: Error) -> tresor_credentials::Error {
        match err {
            Error::KeyNotFound { .. } => {
                tresor_credentials::Error::UnknownPepperVersion { version }
            }
            other => tresor_credentials::Error::pepper(other),
        }
    }
}

/// The key name of one version: the label, and the version as its id.
fn version_key_name(label: &str, version: u32) -> Result<KeyName> {
    if version == 0 {
        return Err(Error::InvalidKeyName {
            reason: "pepper versions start at 1".into(),
        });
    }
    KeyName::new(Some(label.to_owned()), Some(version.to_be_bytes().to_vec()))
}

/// The version a `CKA_ID` holds: 4 bytes, big-endian, not zero.
fn version_of(id: &[u8]) -> Option<u32> {
    let bytes: [u8; VERSION_ID_LEN] = id.try_into().ok()?;
    Some(u32::from_be_bytes(bytes)).filter(|v| *v != 0)
}

impl tresor_credentials::Pepper for Pkcs11Pepper {
    fn current_version(&self) -> u32 {
        self.current()
    }

    fn mac(&self, version: u32, data: &[u8]) -> tresor_credentials::Result<[u8; 32]> {
        self.hmac(version, data)
            .map_err(|err| Self::credentials_error(version, err))
    }
}

impl fmt::Debug for Pkcs11Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Pepper")
            .field("object", &object_description(Some(&self.label), None))
            .field("token", &self.token.description())
            .field("current_version", &self.current())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_four_big_endian_bytes() {
        assert_eq!(version_of(&[0, 0, 0, 1]), Some(1));
        assert_eq!(version_of(&[0, 0, 1, 0]), Some(256));
        assert_eq!(version_of(&[0xff; 4]), Some(u32::MAX));
        assert_eq!(version_of(&[0, 0, 0, 0]), None);
        assert_eq!(version_of(&[1]), None);
        assert_eq!(version_of(&[0, 0, 0, 0, 1]), None);
        assert_eq!(
            version_key_name("pepper", 2).unwrap().to_string(),
            "object=pepper;id=%00%00%00%02"
        );
        assert!(version_key_name("pepper", 0).is_err());
    }

    #[test]
    fn a_missing_version_is_unknown_and_everything_else_an_outage() {
        let missing = Error::KeyNotFound {
            object: "object=pepper;id=%00%00%00%07".into(),
            token: "token=tresor".into(),
        };
        assert_eq!(
            Pkcs11Pepper::credentials_error(7, missing),
            tresor_credentials::Error::UnknownPepperVersion { version: 7 }
        );
        for err in [
            Error::TokenNotPresent {
                token: "token=tresor".into(),
            },
            Error::KeyExtractable {
                object: "object=pepper".into(),
            },
            Error::SessionsExhausted {
                token: "token=tresor".into(),
                max: 2,
                waited: std::time::Duration::from_secs(5),
            },
        ] {
            let mapped = Pkcs11Pepper::credentials_error(1, err);
            assert!(mapped.is_unavailable(), "{mapped:?}");
        }
    }
}
