//! `Pkcs11Kek`: an AES-256 key-encryption key held in the token.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use ring::rand::{SecureRandom, SystemRandom};
use tresor_envelope::{DEK_LEN, DataKey, KeyEncryptionKey, validate_key_id};
use zeroize::Zeroizing;

use crate::key::{self, KeyCustody, KeyName};
use crate::pool::{Fault, PooledSession};
use crate::uri::{ObjectType, Pkcs11Uri};
use crate::{BackendError, Error, Result, Token};

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const TAG_BITS: u64 = 128;

/// Length of a data key wrapped by a [`Pkcs11Kek`]: IV, encrypted key, tag.
pub const PKCS11_WRAPPED_LEN: usize = IV_LEN + DEK_LEN + TAG_LEN;

/// A key-encryption key that is an AES-256 key inside a PKCS#11 token: it
/// wraps and unwraps data keys with `CKM_AES_GCM` in the token, and its key
/// bytes never leave it.
///
/// # Wrapping
///
/// ```text
/// wrapped_dek = iv (12 bytes) || C_Encrypt(CKM_AES_GCM, key, iv, aad = key_aad, dek) (32 bytes ciphertext || 16 bytes tag)
/// ```
///
/// 60 bytes ([`PKCS11_WRAPPED_LEN`]). `key_aad` is the envelope's
/// key-section AAD (`tresor-envelope`'s `FORMAT.md`), passed as the GCM
/// additional data, so a wrapped key moved to another header does not
/// unwrap. The IV is 12 random bytes from the operating system; a token
/// that generates IVs itself (some FIPS-mode HSMs) writes its own IV into
/// the parameters, and that IV is the one stored.
///
/// Random 96-bit IVs keep AES-GCM within its bounds for 2^32 wraps under
/// one key (NIST SP 800-38D, 8.3): rotate the key before that, or let the
/// envelope's seal cache reuse data keys.
///
/// # Why `CKM_AES_GCM` and not a key-wrap mechanism
///
/// `CKM_AES_KEY_WRAP_KWP` (RFC 5649) takes no additional data: it could not
/// bind a data key to its header, and a wrapped key copied into another
/// message's header would unwrap there. AES-GCM authenticates the header
/// through the AAD, is supported for `C_Encrypt`/`C_Decrypt` by SoftHSM2
/// 2.6 and by the HSMs banks run, and keeps the key a plain
/// `CKA_ENCRYPT`/`CKA_DECRYPT` key: the data key is encrypted as data and
/// never becomes a token object.
///
/// # Failed authentication
///
/// A wrapped key that does not authenticate gives
/// `tresor_envelope::Error::Decrypt`, like any tampering. Some tokens
/// (SoftHSM2 2.6 among them) report a failed GCM tag check as
/// `CKR_GENERAL_ERROR`, the code they also use for real failures; then the
/// KEK encrypts and decrypts a probe under the same key, and only if that
/// works does it answer `Decrypt`. Every other failure is
/// `tresor_envelope::Error::Kek` carrying this crate's [`Error`] (see
/// [`Error::is_unavailable`]): an outage is never reported as tampering.
///
/// # Key id
///
/// The envelope key id ([`KeyEncryptionKey::key_id`]) is the key's label
/// (`object=`), with every byte that is not printable ASCII, and `%`
/// itself, percent-encoded (`KEK 2026` becomes `KEK%202026`); a key named
/// by `id=` alone uses its own `CKA_LABEL`. Relabelling the key in the
/// token changes the id, and envelopes name their KEK by id: to relabel,
/// keep the old id with [`Pkcs11KekBuilder::key_id`].
///
/// # Custody
///
/// A key whose `CKA_EXTRACTABLE` is true or whose `CKA_SENSITIVE` is false
/// is refused ([`Error::KeyExtractable`]) unless the builder allows it
/// ([`Pkcs11KekBuilder::allow_extractable`]). [`Pkcs11Kek::generate`]
/// creates keys that can never leave the token; [`Pkcs11Kek::custody`]
/// reports what the token says about a key.
pub struct Pkcs11Kek {
    token: Token,
    key_id: String,
    name: KeyName,
    allow_extractable: bool,
    /// The key's handle, with the pool generation it was found in: a token
    /// failure makes it stale.
    handle: Mutex<Option<(u64, ObjectHandle)>>,
    rng: SystemRandom,
}

/// Options for opening a [`Pkcs11Kek`]: which key, under which key id, and
/// whether an extractable key is acceptable.
#[must_use]
pub struct Pkcs11KekBuilder {
    token: Token,
    label: Option<String>,
    id: Option<Vec<u8>>,
    key_id: Option<String>,
    allow_extractable: bool,
    object_type: Option<ObjectType>,
}

impl Pkcs11KekBuilder {
    /// The key's label, `CKA_LABEL` (the URI's `object`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The key's id, `CKA_ID` (the URI's `id`).
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Takes the label, id and type from a URI (`object`, `id`, `type`).
    pub fn uri(mut self, uri: &Pkcs11Uri) -> Self {
        if let Some(label) = uri.object() {
            self.label = Some(label.to_owned());
        }
        if let Some(id) = uri.id() {
            self.id = Some(id.to_vec());
        }
        self.object_type = uri.object_type();
        self
    }

    /// The envelope key id, instead of the one derived from the label.
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// Accepts a key that can leave the token (`CKA_EXTRACTABLE` true or
    /// `CKA_SENSITIVE` false). Off by default; meant for migrations and
    /// tests, never for production keys.
    pub fn allow_extractable(mut self, allow: bool) -> Self {
        self.allow_extractable = allow;
        self
    }

    /// Finds the key, checks it (an AES-256 secret key that may encrypt and
    /// decrypt, not extractable unless allowed) and returns the KEK.
    pub fn open(self) -> Result<Pkcs11Kek> {
        if self.object_type.is_some_and(|t| t != ObjectType::SecretKey) {
            return Err(Error::InvalidKeyName {
                reason: "a key-encryption key is a secret key: the URI's type must be secret-key \
                         or absent"
                    .into(),
            });
        }
        let name = KeyName::new(self.label, self.id)?;
        let mut kek = Pkcs11Kek {
            token: self.token,
            key_id: String::new(),
            name,
            allow_extractable: self.allow_extractable,
            handle: Mutex::new(None),
            rng: SystemRandom::new(),
        };
        let (_, key_label) = kek.find(&mut kek.token.session()?)?;
        kek.key_id = match self.key_id {
            Some(key_id) => key_id,
            None => {
                let label = kek.name.label().map(str::to_owned).or(key_label);
                let label = label.ok_or_else(|| Error::InvalidKeyName {
                    reason: format!(
                        "{} has no label to derive a key id from: set one with key_id()",
                        kek.name
                    ),
                })?;
                key_id_from_label(&label)
            }
        };
        validate_key_id(&kek.key_id).map_err(|err| Error::InvalidKeyName {
            reason: format!("key id: {err}"),
        })?;
        Ok(kek)
    }
}

impl Pkcs11Kek {
    /// Opens the token and the key a URI names (`object` and/or `id`),
    /// refusing an extractable key. For other options use
    /// [`Pkcs11Kek::builder`].
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let token = Token::open(uri)?;
        Self::builder(&token).uri(uri).open()
    }

    /// Options for opening a key of `token`.
    pub fn builder(token: &Token) -> Pkcs11KekBuilder {
        Pkcs11KekBuilder {
            token: token.clone(),
            label: None,
            id: None,
            key_id: None,
            allow_extractable: false,
            object_type: None,
        }
    }

    /// Generates a new AES-256 key in the token and opens it: a token
    /// object (`CKA_TOKEN`), private, sensitive and never extractable
    /// (`CKA_SENSITIVE` true, `CKA_EXTRACTABLE` false), allowed to encrypt
    /// and decrypt and nothing else, with `label` and, if given, `id`.
    ///
    /// Fails with [`Error::KeyExists`] if any object already has this label
    /// (or id): a name always means one key.
    pub fn generate(token: &Token, label: &str, id: Option<&[u8]>) -> Result<Self> {
        let name = KeyName::new(Some(label.to_owned()), id.map(<[u8]>::to_vec))?;
        validate_key_id(&key_id_from_label(label)).map_err(|err| Error::InvalidKeyName {
            reason: format!("the label cannot serve as a key id: {err}"),
        })?;
        key::generate_aes256(token, &name)?;
        let mut builder = Self::builder(token).label(label);
        if let Some(id) = id {
            builder = builder.id(id);
        }
        builder.open()
    }

    /// The token the key lives in.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// What the token says about the key's custody: sensitive, extractable,
    /// always sensitive, never extractable, and whether `CKA_VALUE` can be
    /// read.
    pub fn custody(&self) -> Result<KeyCustody> {
        let mut session = self.token.session()?;
        let (handle, _) = self.find(&mut session)?;
        key::custody(&mut session, handle)
    }

    /// The key's handle: remembered, or found (and checked) again.
    fn find(&self, session: &mut PooledSession<'_>) -> Result<(ObjectHandle, Option<String>)> {
        let generation = self.token.inner().pool.generation();
        if let Some((found_in, handle)) = *self.lock_handle()
            && found_in == generation
        {
            return Ok((handle, None));
        }
        session.ensure_login()?;
        let found = key::find_aes256(session, &self.name, self.allow_extractable)?;
        *self.lock_handle() = Some((generation, found.0));
        Ok(found)
    }

    fn lock_handle(&self) -> std::sync::MutexGuard<'_, Option<(u64, ObjectHandle)>> {
        self.handle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Maps a failed call in `session`; a stale key handle is forgotten.
    fn fail(
        &self,
        session: &mut PooledSession<'_>,
        operation: &'static str,
        err: CkError,
    ) -> Error {
        if Fault::of(&err) == Fault::Object {
            *self.lock_handle() = None;
        }
        session.fail(operation, err)
    }

    fn envelope_error(&self, err: Error) -> tresor_envelope::Error {
        tresor_envelope::Error::kek(&self.key_id, err)
    }

    fn encrypt(
        &self,
        session: &Session,
        key: ObjectHandle,
        iv: &mut [u8; IV_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> std::result::Result<Vec<u8>, CkError> {
        let params = GcmParams::new(iv, aad, TAG_BITS.into())?;
        session.encrypt(&Mechanism::AesGcm(params), key, plaintext)
    }

    fn decrypt(
        &self,
        session: &Session,
        key: ObjectHandle,
        iv: [u8; IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> std::result::Result<Zeroizing<Vec<u8>>, CkError> {
        let mut iv = iv;
        let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())?;
        session
            .decrypt(&Mechanism::AesGcm(params), key, ciphertext)
            .map(Zeroizing::new)
    }

    /// After a decryption failed with a code that may mean "bad tag" or
    /// "broken token": does the key still encrypt and decrypt a probe?
    fn token_works(&self, session: &Session, key: ObjectHandle) -> bool {
        let probe = [0u8; DEK_LEN];
        let mut iv = [0u8; IV_LEN];
        if self.rng.fill(&mut iv).is_err() {
            return false;
        }
        self.encrypt(session, key, &mut iv, b"", &probe)
            .and_then(|sealed| self.decrypt(session, key, iv, b"", &sealed))
            .is_ok_and(|opened| opened.as_slice() == probe)
    }
}

/// The key id for a label: the label with bytes outside `!`..`~`, and `%`,
/// percent-encoded.
pub(crate) fn key_id_from_label(label: &str) -> String {
    use std::fmt::Write as _;
    let mut id = String::with_capacity(label.len());
    for b in label.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            id.push(char::from(b));
        } else {
            let _ = write!(id, "%{b:02X}");
        }
    }
    id
}

impl KeyEncryptionKey for Pkcs11Kek {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn wrap(&self, dek: &DataKey, aad: &[u8]) -> tresor_envelope::Result<Vec<u8>> {
        let mut iv = [0u8; IV_LEN];
        self.rng
            .fill(&mut iv)
            .map_err(|_| tresor_envelope::Error::Rng)?;
        let mut session = self.token.session().map_err(|e| self.envelope_error(e))?;
        let (key, _) = self
            .find(&mut session)
            .map_err(|e| self.envelope_error(e))?;
        let sealed = match self.encrypt(&session, key, &mut iv, aad, dek.expose_secret()) {
            Ok(sealed) => sealed,
            Err(err) => {
                let err = self.fail(&mut session, "C_Encrypt", err);
                return Err(self.envelope_error(err));
            }
        };
        if sealed.len() != DEK_LEN + TAG_LEN {
            return Err(self.envelope_error(Error::Backend {
                operation: "C_Encrypt",
                token: self.token.description().to_owned(),
                source: BackendError::new(format!(
                    "AES-GCM returned {} bytes for a {DEK_LEN}-byte key, expected {}",
                    sealed.len(),
                    DEK_LEN + TAG_LEN
                )),
            }));
        }
        let mut wrapped = Vec::with_capacity(PKCS11_WRAPPED_LEN);
        wrapped.extend_from_slice(&iv);
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> tresor_envelope::Result<DataKey> {
        if wrapped.len() != PKCS11_WRAPPED_LEN {
            return Err(tresor_envelope::Error::Decrypt);
        }
        let (iv, sealed) = wrapped.split_at(IV_LEN);
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| tresor_envelope::Error::Decrypt)?;
        let mut session = self.token.session().map_err(|e| self.envelope_error(e))?;
        let (key, _) = self
            .find(&mut session)
            .map_err(|e| self.envelope_error(e))?;
        match self.decrypt(&session, key, iv, aad, sealed) {
            Ok(opened) => DataKey::from_slice(&opened),
            Err(CkError::Pkcs11(
                RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange,
                _,
            )) => Err(tresor_envelope::Error::Decrypt),
            Err(err @ CkError::Pkcs11(RvError::GeneralError | RvError::FunctionFailed, _)) => {
                if self.token_works(&session, key) {
                    Err(tresor_envelope::Error::Decrypt)
                } else {
                    let err = self.fail(&mut session, "C_Decrypt", err);
                    Err(self.envelope_error(err))
                }
            }
            Err(err) => {
                let err = self.fail(&mut session, "C_Decrypt", err);
                Err(self.envelope_error(err))
            }
        }
    }
}

impl fmt::Debug for Pkcs11Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kek")
            .field("key_id", &self.key_id)
            .field("object", &self.name.to_string())
            .field("token", &self.token.description())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_from_labels() {
        assert_eq!(key_id_from_label("kek-2026"), "kek-2026");
        assert_eq!(key_id_from_label("KEK 2026"), "KEK%202026");
        assert_eq!(key_id_from_label("100%"), "100%25");
        assert_eq!(key_id_from_label("clé"), "cl%C3%A9");
        for label in ["kek-2026", "KEK 2026", "100%", "clé", "\u{0}"] {
            validate_key_id(&key_id_from_label(label)).unwrap();
        }
    }
}
