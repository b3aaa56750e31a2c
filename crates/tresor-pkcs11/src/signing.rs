//! Signing keys in the token: ECDSA P-256 and Ed25519 key pairs whose
//! private key never leaves it.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, KeyType, ObjectHandle};
use ring::rand::{SecureRandom, SystemRandom};

use crate::ecdsa;
use crate::key::{self, KeyCustody, KeyName};
use crate::pair::{find_pair, find_private};
use crate::pool::{Fault, PooledSession};
use crate::public_key::{ED25519_NAME_PARAMS, ED25519_OID_PARAMS, P256_PARAMS, SigningPublicKey};
use crate::uri::{ObjectType, Pkcs11Uri};
use crate::{BackendError, Error, Result, Token};

/// Length of the random `CKA_ID` given to a key pair generated without one.
const GENERATED_ID_LEN: usize = 16;

/// What the key-pair check signs when a key is opened.
const PROBE: &[u8] = b"tresor-pkcs11: does this private key match its public key?";

/// A signature algorithm of a [`Pkcs11SigningKey`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ECDSA over P-256 (`prime256v1`) with SHA-256: the token signs the
    /// SHA-256 digest (computed in software) with `CKM_ECDSA`; signatures
    /// are the fixed-size `r || s` (64 bytes). RFC 9421
    /// `ecdsa-p256-sha256`, JOSE `ES256`.
    EcdsaP256Sha256,
    /// Pure Ed25519 (RFC 8032) with `CKM_EDDSA` and no parameters;
    /// signatures are 64 bytes. RFC 9421 `ed25519`, JOSE `EdDSA`.
    Ed25519,
}

impl SignatureAlgorithm {
    /// The RFC 9421 algorithm name: `ecdsa-p256-sha256` or `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            SignatureAlgorithm::Ed25519 => "ed25519",
        }
    }

    pub(crate) fn jose_name(self) -> &'static str {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => "ES256",
            SignatureAlgorithm::Ed25519 => "EdDSA",
        }
    }

    pub(crate) fn key_type(self) -> KeyType {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => KeyType::EC,
            SignatureAlgorithm::Ed25519 => KeyType::EC_EDWARDS,
        }
    }

    fn sign_mechanism(self) -> (MechanismType, &'static str) {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => (MechanismType::ECDSA, "CKM_ECDSA"),
            SignatureAlgorithm::Ed25519 => (MechanismType::EDDSA, "CKM_EDDSA"),
        }
    }

    fn keygen_mechanism(self) -> (Mechanism<'static>, MechanismType, &'static str) {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => (
                Mechanism::EccKeyPairGen,
                MechanismType::ECC_KEY_PAIR_GEN,
                "CKM_EC_KEY_PAIR_GEN",
            ),
            SignatureAlgorithm::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
                "CKM_EC_EDWARDS_KEY_PAIR_GEN",
            ),
        }
    }

    /// The algorithm of a key of `key_type` on the curve `params`.
    pub(crate) fn of(key_type: KeyType, params: &[u8]) -> Option<Self> {
        if key_type == KeyType::EC && params == P256_PARAMS {
            Some(SignatureAlgorithm::EcdsaP256Sha256)
        } else if key_type == KeyType::EC_EDWARDS
            && (params == ED25519_OID_PARAMS || params == ED25519_NAME_PARAMS)
        {
            Some(SignatureAlgorithm::Ed25519)
        } else {
            None
        }
    }

    pub(crate) fn expected_private(self) -> &'static str {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                "an ECDSA P-256 private key (CKK_EC on prime256v1) with CKA_SIGN"
            }
            SignatureAlgorithm::Ed25519 => {
                "an Ed25519 private key (CKK_EC_EDWARDS on edwards25519) with CKA_SIGN"
            }
        }
    }

    pub(crate) fn expected_public(self) -> &'static str {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => "a P-256 public key (CKK_EC on prime256v1)",
            SignatureAlgorithm::Ed25519 => "an Ed25519 public key (CKK_EC_EDWARDS on edwards25519)",
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A signing key whose private key is an ECDSA P-256 or Ed25519 key in a
/// PKCS#11 token: it signs in the token, and the private key's bytes
/// never leave it.
///
/// # Guarantees
///
/// - **Custody.** A private key whose `CKA_EXTRACTABLE` is true or whose
///   `CKA_SENSITIVE` is false is refused ([`Error::KeyExtractable`])
///   unless the builder allows it; [`Pkcs11SigningKey::generate`] makes
///   private keys that are token objects, private, sensitive, never
///   extractable, allowed to sign and nothing else.
/// - **A checked public key.** The public key is read from the pair's
///   public key object (`CKA_EC_POINT`, DER-wrapped or bare), validated
///   ([`SigningPublicKey`]: the `p256` crate checks a P-256 point), and
///   the pair is checked when opened: the token signs a probe that the
///   public key must verify. A pair whose halves do not match, or whose
///   public key is no key, does not open.
/// - **The signature format is fixed.** ECDSA: the SHA-256 digest is
///   computed here and signed with `CKM_ECDSA`; whatever the token returns
///   (`r || s`, DER, or short halves) becomes the 64-byte `r || s` of
///   RFC 9421 and JOSE (see the crate README). Ed25519: `CKM_EDDSA`
///   without parameters (pure Ed25519), 64 bytes.
/// - **Outages are outages.** A token that is gone or failing is an error
///   with [`Error::is_unavailable`] true; the `tresor_httpsig::SigningKey`
///   implementation (feature `httpsig`) reports it as
///   `tresor_httpsig::Error::Unavailable`. Nothing panics.
///
/// A token without the mechanism (`CKM_EDDSA` is missing from many) gives
/// [`Error::MechanismNotSupported`] when the key is generated or opened.
///
/// `Send + Sync`; concurrent callers each use a session of the token's
/// pool. `Debug` shows the algorithm, the key's name and the public key's
/// thumbprint.
pub struct Pkcs11SigningKey {
    token: Token,
    name: KeyName,
    alg: SignatureAlgorithm,
    public: SigningPublicKey,
    allow_extractable: bool,
    /// The private key's handle, with the pool generation it was found in.
    handle: Mutex<Option<(u64, ObjectHandle)>>,
}

/// Options for opening a [`Pkcs11SigningKey`]: which key pair, of which
/// algorithm, and whether an extractable private key is acceptable.
#[must_use]
pub struct Pkcs11SigningKeyBuilder {
    token: Token,
    label: Option<String>,
    id: Option<Vec<u8>>,
    algorithm: Option<SignatureAlgorithm>,
    allow_extractable: bool,
    object_type: Option<ObjectType>,
}

impl Pkcs11SigningKeyBuilder {
    /// The key pair's label, `CKA_LABEL` (the URI's `object`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The key pair's id, `CKA_ID` (the URI's `id`).
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

    /// Requires the key to be of `algorithm`; another key type is
    /// [`Error::WrongKeyType`]. Without it, the algorithm follows from the
    /// key.
    pub fn algorithm(mut self, algorithm: SignatureAlgorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Accepts a private key that can leave the token (`CKA_EXTRACTABLE`
    /// true or `CKA_SENSITIVE` false). Off by default; meant for
    /// migrations and tests, never for production keys.
    pub fn allow_extractable(mut self, allow: bool) -> Self {
        self.allow_extractable = allow;
        self
    }

    /// Finds the private key and its public key, checks them, and returns
    /// the signing key.
    pub fn open(self) -> Result<Pkcs11SigningKey> {
        if self
            .object_type
            .is_some_and(|t| !matches!(t, ObjectType::Private | ObjectType::Public))
        {
            return Err(Error::InvalidKeyName {
                reason: "a signing key is a key pair: the URI's type must be private, public \
                         or absent"
                    .into(),
            });
        }
        let name = KeyName::new(self.label, self.id)?;
        let token = self.token;
        let mut session = token.session()?;
        session.ensure_login()?;
        let found = find_pair(&mut session, &name, self.algorithm, self.allow_extractable)?;
        drop(session);
        let (sign_mechanism, mechanism) = found.alg.sign_mechanism();
        if !token.has_mechanism(sign_mechanism)? {
            return Err(Error::MechanismNotSupported {
                mechanism,
                token: token.description().to_owned(),
            });
        }
        let key = Pkcs11SigningKey {
            token,
            name,
            alg: found.alg,
            public: found.public,
            allow_extractable: self.allow_extractable,
            handle: Mutex::new(None),
        };
        let probe = key.sign_message(PROBE)?;
        if !key.public.verifies(PROBE, &probe) {
            return Err(Error::WrongKeyType {
                object: key.name.to_string(),
                expected: "a key pair whose public key verifies the private key's signatures",
                found: "a private key that does not match its public key".into(),
            });
        }
        Ok(key)
    }
}

impl Pkcs11SigningKey {
    /// Opens the token and the key pair a URI names (`object` and/or
    /// `id`), refusing an extractable private key. For other options use
    /// [`Pkcs11SigningKey::builder`].
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let token = Token::open(uri)?;
        Self::builder(&token).uri(uri).open()
    }

    /// Options for opening a key pair of `token`.
    pub fn builder(token: &Token) -> Pkcs11SigningKeyBuilder {
        Pkcs11SigningKeyBuilder {
            token: token.clone(),
            label: None,
            id: None,
            algorithm: None,
            allow_extractable: false,
            object_type: None,
        }
    }

    /// Generates a new key pair of `algorithm` in the token and opens it.
    ///
    /// Both halves are token objects labelled `label` with the id `id` (16
    /// random bytes if `None`). The private key is private, sensitive and
    /// never extractable (`CKA_SENSITIVE` true, `CKA_EXTRACTABLE` false),
    /// may sign and nothing else (no `CKA_DERIVE`, `CKA_DECRYPT`,
    /// `CKA_UNWRAP`); the public key may verify. `CKA_EC_PARAMS` is the
    /// DER OID of `prime256v1` for P-256, and for Ed25519 the OID
    /// 1.3.101.112 (RFC 8410), or, on a token that refuses it (SoftHSM2
    /// 2.6 does), the DER PrintableString `edwards25519`. Both are
    /// recognised when a key is opened.
    ///
    /// # Errors
    ///
    /// [`Error::KeyExists`] if an object already has this label (or id);
    /// [`Error::MechanismNotSupported`] if the token cannot generate or
    /// sign with such keys.
    pub fn generate(
        token: &Token,
        algorithm: SignatureAlgorithm,
        label: &str,
        id: Option<&[u8]>,
    ) -> Result<Self> {
        let id = match id {
            Some(id) => id.to_vec(),
            None => {
                let mut id = vec![0u8; GENERATED_ID_LEN];
                SystemRandom::new()
                    .fill(&mut id)
                    .map_err(|_| Error::Backend {
                        operation: "key id generation",
                        token: token.description().to_owned(),
                        source: BackendError::new("the system random source failed"),
                    })?;
                id
            }
        };
        let name = KeyName::new(Some(label.to_owned()), Some(id.clone()))?;
        let (mechanism, mechanism_type, mechanism_name) = algorithm.keygen_mechanism();
        for (required, required_name) in
            [(mechanism_type, mechanism_name), algorithm.sign_mechanism()]
        {
            if !token.has_mechanism(required)? {
                return Err(Error::MechanismNotSupported {
                    mechanism: required_name,
                    token: token.description().to_owned(),
                });
            }
        }
        let inner = token.inner();
        let session = token.rw_session()?;
        // A name always means one key (pair): refuse a label or id in use.
        for attribute in name.template() {
            let found = session
                .find_objects(std::slice::from_ref(&attribute))
                .map_err(|err| inner.fail_fresh("C_FindObjects", err))?;
            if !found.is_empty() {
                return Err(Error::KeyExists {
                    object: name.to_string(),
                    token: inner.description().to_owned(),
                });
            }
        }
        let curves: &[&[u8]] = match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => &[P256_PARAMS],
            SignatureAlgorithm::Ed25519 => &[ED25519_OID_PARAMS, ED25519_NAME_PARAMS],
        };
        let mut last = None;
        for params in curves {
            let mut public = vec![
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Verify(true),
                Attribute::EcParams(params.to_vec()),
            ];
            public.extend(name.template());
            let mut private = vec![
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Decrypt(false),
                Attribute::Unwrap(false),
                Attribute::Derive(false),
            ];
            private.extend(name.template());
            match session.generate_key_pair(&mechanism, &public, &private) {
                Ok(_) => {
                    last = None;
                    break;
                }
                // The token does not know the curve by this encoding: try
                // the next one.
                Err(
                    err @ CkError::Pkcs11(
                        RvError::AttributeValueInvalid
                        | RvError::CurveNotSupported
                        | RvError::DomainParamsInvalid
                        | RvError::TemplateInconsistent,
                        _,
                    ),
                ) => last = Some(err),
                Err(CkError::Pkcs11(RvError::MechanismInvalid, _)) => {
                    return Err(Error::MechanismNotSupported {
                        mechanism: mechanism_name,
                        token: inner.description().to_owned(),
                    });
                }
                Err(err) => return Err(inner.fail_fresh("C_GenerateKeyPair", err)),
            }
        }
        if let Some(err) = last {
            return Err(inner.fail_fresh("C_GenerateKeyPair", err));
        }
        drop(session);
        Self::builder(token)
            .label(label)
            .id(id)
            .algorithm(algorithm)
            .open()
    }

    /// The algorithm the key signs with.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.alg
    }

    /// The public key, read from the token and validated.
    pub fn public_key(&self) -> &SigningPublicKey {
        &self.public
    }

    /// The token the key lives in.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The key's label and id in URI syntax (`object=…;id=…`), for errors.
    #[cfg(feature = "audit")]
    pub(crate) fn object(&self) -> String {
        self.name.to_string()
    }

    /// What the token says about the private key's custody.
    pub fn custody(&self) -> Result<KeyCustody> {
        let mut session = self.token.session()?;
        let handle = self.find(&mut session)?;
        key::custody(&mut session, handle)
    }

    /// Signs `message` in the token and returns the raw signature: for
    /// ECDSA P-256 the 64-byte `r || s` over `SHA-256(message)`, for
    /// Ed25519 the 64-byte pure Ed25519 signature of `message`.
    ///
    /// # Errors
    ///
    /// [`Error::TokenNotPresent`] or [`Error::Backend`] (outages:
    /// [`Error::is_unavailable`]), [`Error::MechanismNotSupported`], or
    /// the errors of finding the key again after a token failure.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut session = self.token.session()?;
        let handle = self.find(&mut session)?;
        match self.alg {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let digest = ring::digest::digest(&ring::digest::SHA256, message);
                let returned = session
                    .sign(&Mechanism::Ecdsa, handle, digest.as_ref())
                    .map_err(|err| self.fail(&mut session, err))?;
                ecdsa::raw_signature(&returned, |raw| self.public.verifies(message, raw))
                    .map(|raw| raw.to_vec())
                    .ok_or_else(|| {
                        self.malformed(format!(
                            "CKM_ECDSA returned {} bytes that are not a P-256 signature",
                            returned.len()
                        ))
                    })
            }
            SignatureAlgorithm::Ed25519 => {
                let pure = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
                let signature = session
                    .sign(&pure, handle, message)
                    .map_err(|err| self.fail(&mut session, err))?;
                if signature.len() != 64 {
                    return Err(self.malformed(format!(
                        "CKM_EDDSA returned {} bytes, not a 64-byte Ed25519 signature",
                        signature.len()
                    )));
                }
                Ok(signature)
            }
        }
    }

    fn malformed(&self, reason: String) -> Error {
        Error::Backend {
            operation: "C_Sign",
            token: self.token.description().to_owned(),
            source: BackendError::new(reason),
        }
    }

    /// The private key's handle: remembered, or found (and checked) again.
    fn find(&self, session: &mut PooledSession<'_>) -> Result<ObjectHandle> {
        let generation = self.token.inner().pool.generation();
        if let Some((found_in, handle)) = *self.lock_handle()
            && found_in == generation
        {
            return Ok(handle);
        }
        session.ensure_login()?;
        let found = find_private(session, &self.name, Some(self.alg), self.allow_extractable)?;
        *self.lock_handle() = Some((generation, found.handle));
        Ok(found.handle)
    }

    fn lock_handle(&self) -> MutexGuard<'_, Option<(u64, ObjectHandle)>> {
        self.handle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Maps a failed `C_Sign`; a stale key handle is forgotten.
    fn fail(&self, session: &mut PooledSession<'_>, err: CkError) -> Error {
        if let CkError::Pkcs11(RvError::MechanismInvalid, _) = err {
            return Error::MechanismNotSupported {
                mechanism: self.alg.sign_mechanism().1,
                token: self.token.description().to_owned(),
            };
        }
        if Fault::of(&err) == Fault::Object {
            *self.lock_handle() = None;
        }
        session.fail("C_Sign", err)
    }
}

impl fmt::Debug for Pkcs11SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11SigningKey")
            .field("alg", &self.alg)
            .field("object", &self.name.to_string())
            .field("token", &self.token.description())
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}
