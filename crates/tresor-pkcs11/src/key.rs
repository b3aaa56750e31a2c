//! Secret keys in the token: finding one by label and id, checking what it
//! is, generating one, and reading its custody attributes.

use std::fmt;

#[cfg(any(feature = "envelope", feature = "credentials"))]
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectHandle};
#[cfg(any(feature = "envelope", feature = "credentials"))]
use cryptoki::object::{KeyType, ObjectClass};
use cryptoki::session::Session;

#[cfg(any(feature = "envelope", feature = "credentials"))]
use crate::Token;
use crate::pool::PooledSession;
use crate::uri::object_description;
use crate::{Error, Result};

/// Length of an AES-256 key, in bytes.
#[cfg(feature = "envelope")]
const AES_256_LEN: usize = 32;

#[cfg(feature = "envelope")]
const EXPECTED_KEK: &str =
    "an AES-256 secret key (CKK_AES, 32 bytes) with CKA_ENCRYPT and CKA_DECRYPT";

/// A key's name in the token: its label and/or its id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct KeyName {
    label: Option<String>,
    id: Option<Vec<u8>>,
}

impl KeyName {
    pub(crate) fn new(label: Option<String>, id: Option<Vec<u8>>) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidKeyName {
            reason: reason.to_owned(),
        };
        if label.is_none() && id.is_none() {
            return Err(invalid(
                "name the key by its label (object=) or id (id=), or both",
            ));
        }
        if label.as_deref() == Some("") {
            return Err(invalid("the key label is empty"));
        }
        if id.as_deref() == Some(&[]) {
            return Err(invalid("the key id is empty"));
        }
        Ok(KeyName { label, id })
    }

    #[cfg(feature = "envelope")]
    pub(crate) fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The search template: label and/or id.
    pub(crate) fn template(&self) -> Vec<Attribute> {
        let mut template = Vec::with_capacity(2);
        if let Some(label) = &self.label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            template.push(Attribute::Id(id.clone()));
        }
        template
    }
}

impl fmt::Display for KeyName {
    /// In URI syntax: `object=kek-2026;id=%01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&object_description(
            self.label.as_deref(),
            self.id.as_deref(),
        ))
    }
}

/// What the token says about a key's custody.
///
/// `None` means the token did not report the attribute.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct KeyCustody {
    /// `CKA_SENSITIVE`: the key's value cannot be read in clear.
    pub sensitive: Option<bool>,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    pub extractable: Option<bool>,
    /// `CKA_ALWAYS_SENSITIVE`: the key has been sensitive since it was
    /// created.
    pub always_sensitive: Option<bool>,
    /// `CKA_NEVER_EXTRACTABLE`: the key has never been extractable.
    pub never_extractable: Option<bool>,
    /// `CKA_LOCAL`: the key was generated in the token (not imported).
    pub local: Option<bool>,
    /// Whether the token would return `CKA_VALUE` (the key bytes). Found by
    /// asking for the value's size only: the value itself is never read.
    pub value_readable: bool,
}

impl KeyCustody {
    /// True if the key is sensitive, not extractable, and its value cannot
    /// be read.
    pub fn never_leaves_token(&self) -> bool {
        self.sensitive == Some(true) && self.extractable == Some(false) && !self.value_readable
    }
}

/// The attributes that decide whether an object can serve as a KEK or a
/// pepper key.
#[cfg(any(feature = "envelope", feature = "credentials"))]
pub(crate) struct Described {
    #[cfg(feature = "envelope")]
    pub(crate) handle: ObjectHandle,
    pub(crate) class: Option<ObjectClass>,
    pub(crate) key_type: Option<KeyType>,
    pub(crate) value_len: Option<usize>,
    pub(crate) encrypt: Option<bool>,
    pub(crate) decrypt: Option<bool>,
    pub(crate) sign: Option<bool>,
    pub(crate) extractable: Option<bool>,
    pub(crate) sensitive: Option<bool>,
    pub(crate) label: Option<String>,
    pub(crate) id: Option<Vec<u8>>,
}

#[cfg(any(feature = "envelope", feature = "credentials"))]
impl Described {
    pub(crate) fn read(session: &mut PooledSession<'_>, handle: ObjectHandle) -> Result<Self> {
        let attributes = match session.get_attributes(
            handle,
            &[
                AttributeType::Class,
                AttributeType::KeyType,
                AttributeType::ValueLen,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
                AttributeType::Sign,
                AttributeType::Extractable,
                AttributeType::Sensitive,
                AttributeType::Label,
                AttributeType::Id,
            ],
        ) {
            Ok(attributes) => attributes,
            Err(err) => return Err(session.fail("C_GetAttributeValue", err)),
        };
        let mut described = Described {
            #[cfg(feature = "envelope")]
            handle,
            class: None,
            key_type: None,
            value_len: None,
            encrypt: None,
            decrypt: None,
            sign: None,
            extractable: None,
            sensitive: None,
            label: None,
            id: None,
        };
        for attribute in attributes {
            match attribute {
                Attribute::Class(class) => described.class = Some(class),
                Attribute::KeyType(key_type) => described.key_type = Some(key_type),
                Attribute::ValueLen(len) => described.value_len = Some(usize::from(len)),
                Attribute::Encrypt(v) => described.encrypt = Some(v),
                Attribute::Decrypt(v) => described.decrypt = Some(v),
                Attribute::Sign(v) => described.sign = Some(v),
                Attribute::Id(id) => described.id = Some(id),
                Attribute::Extractable(v) => described.extractable = Some(v),
                Attribute::Sensitive(v) => described.sensitive = Some(v),
                Attribute::Label(label) => {
                    described.label = String::from_utf8(label).ok().filter(|l| !l.is_empty());
                }
                _ => {}
            }
        }
        Ok(described)
    }

    /// Why this object is not a usable KEK, if it is not.
    #[cfg(feature = "envelope")]
    fn mismatch(&self) -> Option<String> {
        match (self.class, self.key_type, self.value_len) {
            (Some(class), _, _) if class != ObjectClass::SECRET_KEY => {
                Some(format!("a {class} object"))
            }
            (None, _, _) => Some("an object of unknown class".into()),
            (_, Some(key_type), _) if key_type != KeyType::AES => {
                Some(format!("a {key_type} secret key"))
            }
            (_, None, _) => Some("a secret key of unknown type".into()),
            (_, _, Some(len)) if len != AES_256_LEN => Some(format!("an AES key of {len} bytes")),
            (_, _, None) => Some("an AES key of unknown length".into()),
            _ if self.encrypt != Some(true) => Some("an AES-256 key without CKA_ENCRYPT".into()),
            _ if self.decrypt != Some(true) => Some("an AES-256 key without CKA_DECRYPT".into()),
            _ => None,
        }
    }

    /// Extractable, or not reported as sensitive and non-extractable
    /// (unknown counts as extractable).
    pub(crate) fn extractable(&self) -> bool {
        self.extractable != Some(false) || self.sensitive != Some(true)
    }
}

#[cfg(feature = "envelope")]
/// Finds the one AES-256 key named `name`, checks it, and returns its
/// handle and its label.
#[cfg(feature = "envelope")]
pub(crate) fn find_aes256(
    session: &mut PooledSession<'_>,
    name: &KeyName,
    allow_extractable: bool,
) -> Result<(ObjectHandle, Option<String>)> {
    let token = session.token();
    let object = name.to_string();
    let handles = match session.find_objects(&name.template()) {
        Ok(handles) => handles,
        Err(err) => return Err(session.fail("C_FindObjects", err)),
    };
    if handles.is_empty() {
        // A token that stopped answering also finds nothing: that is an
        // outage, not a missing key.
        token.check_present()?;
        return Err(Error::KeyNotFound {
            object,
            token: token.description().to_owned(),
        });
    }
    let mut described = Vec::with_capacity(handles.len());
    for handle in handles {
        described.push(Described::read(session, handle)?);
    }
    // A label may name a key pair and a secret key at once: keep the
    // secret keys, if there are any.
    if described.len() > 1
        && described
            .iter()
            .any(|d| d.class == Some(ObjectClass::SECRET_KEY))
    {
        described.retain(|d| d.class == Some(ObjectClass::SECRET_KEY));
    }
    let key = match described.as_slice() {
        [key] => key,
        [first, ..] if first.class != Some(ObjectClass::SECRET_KEY) => {
            return Err(Error::WrongKeyType {
                object,
                expected: EXPECTED_KEK,
                found: first.mismatch().unwrap_or_else(|| "several objects".into()),
            });
        }
        _ => {
            return Err(Error::AmbiguousKey {
                object,
                token: token.description().to_owned(),
            });
        }
    };
    if let Some(found) = key.mismatch() {
        return Err(Error::WrongKeyType {
            object,
            expected: EXPECTED_KEK,
            found,
        });
    }
    if key.extractable() && !allow_extractable {
        return Err(Error::KeyExtractable { object });
    }
    Ok((key.handle, key.label.clone()))
}

/// Fails with [`Error::KeyExists`] if an object has the label or the id
/// of `name` (a name always means one key).
#[cfg(any(feature = "envelope", feature = "credentials"))]
fn refuse_existing(token: &Token, session: &Session, name: &KeyName, whole: bool) -> Result<()> {
    let inner = token.inner();
    let templates = if whole {
        vec![name.template()]
    } else {
        name.template().into_iter().map(|a| vec![a]).collect()
    };
    for template in templates {
        let found = session
            .find_objects(&template)
            .map_err(|err| inner.fail_fresh("C_FindObjects", err))?;
        if !found.is_empty() {
            return Err(Error::KeyExists {
                object: name.to_string(),
                token: inner.description().to_owned(),
            });
        }
    }
    Ok(())
}

/// Generates an AES-256 key that never leaves the token, named `name`.
#[cfg(feature = "envelope")]
pub(crate) fn generate_aes256(token: &Token, name: &KeyName) -> Result<()> {
    let inner = token.inner();
    let session = token.rw_session()?;
    // A name always means one key: refuse a label or an id in use.
    refuse_existing(token, &session, name, false)?;
    let mut template = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        Attribute::ValueLen(AES_256_LEN.try_into().map_err(|_| Error::InvalidKeyName {
            reason: "key length does not fit a CK_ULONG".into(),
        })?),
    ];
    template.extend(name.template());
    session
        .generate_key(&Mechanism::AesKeyGen, &template)
        .map_err(|err| inner.fail_fresh("C_GenerateKey", err))?;
    Ok(())
}

/// Generates a 32-byte HMAC key (`CKK_GENERIC_SECRET`, the type SoftHSM2
/// 2.6 and most HSMs generate with `CKM_GENERIC_SECRET_KEY_GEN`) that
/// never leaves the token and may sign and nothing else, named `name`
/// (label and id together must be new).
#[cfg(feature = "credentials")]
pub(crate) fn generate_hmac(token: &Token, name: &KeyName, len: usize) -> Result<()> {
    let inner = token.inner();
    let session = token.rw_session()?;
    refuse_existing(token, &session, name, true)?;
    let mut template = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Verify(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::ValueLen(len.try_into().map_err(|_| Error::InvalidKeyName {
            reason: "key length does not fit a CK_ULONG".into(),
        })?),
    ];
    template.extend(name.template());
    session
        .generate_key(&Mechanism::GenericSecretKeyGen, &template)
        .map_err(|err| inner.fail_fresh("C_GenerateKey", err))?;
    Ok(())
}

/// Reads a key's custody attributes.
pub(crate) fn custody(session: &mut PooledSession<'_>, handle: ObjectHandle) -> Result<KeyCustody> {
    match read_custody(session, handle) {
        Ok(custody) => Ok(custody),
        Err(err) => Err(session.fail("C_GetAttributeValue", err)),
    }
}

/// Reads a key's custody attributes; never its value.
pub(crate) fn read_custody(
    session: &Session,
    handle: ObjectHandle,
) -> std::result::Result<KeyCustody, cryptoki::error::Error> {
    let attributes = session.get_attributes(
        handle,
        &[
            AttributeType::Sensitive,
            AttributeType::Extractable,
            AttributeType::AlwaysSensitive,
            AttributeType::NeverExtractable,
            AttributeType::Local,
        ],
    )?;
    let value = session.get_attribute_info(handle, &[AttributeType::Value])?;
    let mut custody = KeyCustody {
        sensitive: None,
        extractable: None,
        always_sensitive: None,
        never_extractable: None,
        local: None,
        value_readable: matches!(value.first(), Some(AttributeInfo::Available(_))),
    };
    for attribute in attributes {
        match attribute {
            Attribute::Sensitive(v) => custody.sensitive = Some(v),
            Attribute::Extractable(v) => custody.extractable = Some(v),
            Attribute::AlwaysSensitive(v) => custody.always_sensitive = Some(v),
            Attribute::NeverExtractable(v) => custody.never_extractable = Some(v),
            Attribute::Local(v) => custody.local = Some(v),
            _ => {}
        }
    }
    Ok(custody)
}
