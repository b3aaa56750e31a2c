//! Finding a signing key pair in the token: the private key named by a
//! label and/or id, checked, and its public key, read and validated.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};

use crate::key::KeyName;
use crate::pool::PooledSession;
use crate::public_key::SigningPublicKey;
use crate::signing::SignatureAlgorithm;
use crate::{Error, Result};

const EXPECTED_ANY: &str =
    "an ECDSA P-256 (CKK_EC on prime256v1) or Ed25519 (CKK_EC_EDWARDS) private key with CKA_SIGN";

/// The attributes that decide whether an object is (half of) a usable
/// signing key.
struct Described {
    handle: ObjectHandle,
    class: Option<ObjectClass>,
    key_type: Option<KeyType>,
    params: Option<Vec<u8>>,
    sign: Option<bool>,
    extractable: Option<bool>,
    sensitive: Option<bool>,
    id: Option<Vec<u8>>,
}

impl Described {
    fn read(session: &mut PooledSession<'_>, handle: ObjectHandle) -> Result<Self> {
        let attributes = match session.get_attributes(
            handle,
            &[
                AttributeType::Class,
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::Sign,
                AttributeType::Extractable,
                AttributeType::Sensitive,
                AttributeType::Id,
            ],
        ) {
            Ok(attributes) => attributes,
            Err(err) => return Err(session.fail("C_GetAttributeValue", err)),
        };
        let mut described = Described {
            handle,
            class: None,
            key_type: None,
            params: None,
            sign: None,
            extractable: None,
            sensitive: None,
            id: None,
        };
        for attribute in attributes {
            match attribute {
                Attribute::Class(class) => described.class = Some(class),
                Attribute::KeyType(key_type) => described.key_type = Some(key_type),
                Attribute::EcParams(params) => described.params = Some(params),
                Attribute::Sign(v) => described.sign = Some(v),
                Attribute::Extractable(v) => described.extractable = Some(v),
                Attribute::Sensitive(v) => described.sensitive = Some(v),
                Attribute::Id(id) => described.id = Some(id),
                _ => {}
            }
        }
        Ok(described)
    }

    fn algorithm(&self) -> Option<SignatureAlgorithm> {
        SignatureAlgorithm::of(self.key_type?, self.params.as_deref()?)
    }

    /// What this object is, for an error message.
    fn found(&self) -> String {
        let class = match self.class {
            Some(ObjectClass::PRIVATE_KEY) => "private key".to_owned(),
            Some(ObjectClass::PUBLIC_KEY) => "public key".to_owned(),
            Some(ObjectClass::SECRET_KEY) => "secret key".to_owned(),
            Some(class) => format!("{class} object"),
            None => "object of unknown class".to_owned(),
        };
        match (self.algorithm(), self.key_type) {
            (Some(alg), _) => format!("an {alg} {class}"),
            (None, Some(key_type)) if key_type == KeyType::EC => {
                format!("a {key_type} {class} on another curve than P-256")
            }
            (None, Some(key_type)) => format!("a {key_type} {class}"),
            (None, None) => format!("a {class}"),
        }
    }
}

/// The private key found for a name, checked.
pub(crate) struct FoundPrivate {
    pub(crate) handle: ObjectHandle,
    alg: SignatureAlgorithm,
    id: Option<Vec<u8>>,
}

/// A key pair found for a name: its private key's algorithm and its
/// public key.
pub(crate) struct FoundPair {
    pub(crate) alg: SignatureAlgorithm,
    pub(crate) public: SigningPublicKey,
}

fn find_described(session: &mut PooledSession<'_>, name: &KeyName) -> Result<Vec<Described>> {
    let handles = match session.find_objects(&name.template()) {
        Ok(handles) => handles,
        Err(err) => return Err(session.fail("C_FindObjects", err)),
    };
    let mut described = Vec::with_capacity(handles.len());
    for handle in handles {
        described.push(Described::read(session, handle)?);
    }
    Ok(described)
}

/// Finds the one private signing key named `name` and checks it.
pub(crate) fn find_private(
    session: &mut PooledSession<'_>,
    name: &KeyName,
    expected: Option<SignatureAlgorithm>,
    allow_extractable: bool,
) -> Result<FoundPrivate> {
    let objects = find_described(session, name)?;
    check_private(session, name, &objects, expected, allow_extractable)
}

fn check_private(
    session: &mut PooledSession<'_>,
    name: &KeyName,
    objects: &[Described],
    expected: Option<SignatureAlgorithm>,
    allow_extractable: bool,
) -> Result<FoundPrivate> {
    let token = session.token();
    let object = name.to_string();
    let expected_text = expected.map_or(EXPECTED_ANY, SignatureAlgorithm::expected_private);
    let mut private = objects
        .iter()
        .filter(|d| d.class == Some(ObjectClass::PRIVATE_KEY));
    let key = match (private.next(), private.next()) {
        (Some(key), None) => key,
        (Some(_), Some(_)) => {
            return Err(Error::AmbiguousKey {
                object,
                token: token.description().to_owned(),
            });
        }
        (None, _) => {
            let Some(other) = objects.first() else {
                // A token that stopped answering also finds nothing.
                token.check_present()?;
                return Err(Error::KeyNotFound {
                    object,
                    token: token.description().to_owned(),
                });
            };
            let found = objects
                .iter()
                .find(|d| d.class != Some(ObjectClass::PUBLIC_KEY))
                .unwrap_or(other)
                .found();
            return Err(Error::WrongKeyType {
                object,
                expected: expected_text,
                found: format!("{found} (and no private key)"),
            });
        }
    };
    let alg = match (key.algorithm(), expected) {
        (Some(alg), None) => alg,
        (Some(alg), Some(wanted)) if alg == wanted => alg,
        _ => {
            return Err(Error::WrongKeyType {
                object,
                expected: expected_text,
                found: key.found(),
            });
        }
    };
    if key.sign != Some(true) {
        return Err(Error::WrongKeyType {
            object,
            expected: expected_text,
            found: format!("{} without CKA_SIGN", key.found()),
        });
    }
    // Extractable, or not reported as sensitive and non-extractable.
    let extractable = key.extractable != Some(false) || key.sensitive != Some(true);
    if extractable && !allow_extractable {
        return Err(Error::KeyExtractable { object });
    }
    Ok(FoundPrivate {
        handle: key.handle,
        alg,
        id: key.id.clone().filter(|id| !id.is_empty()),
    })
}

/// Finds the private key named `name` and its public key, and reads and
/// validates the public key.
pub(crate) fn find_pair(
    session: &mut PooledSession<'_>,
    name: &KeyName,
    expected: Option<SignatureAlgorithm>,
    allow_extractable: bool,
) -> Result<FoundPair> {
    let objects = find_described(session, name)?;
    let private = check_private(session, name, &objects, expected, allow_extractable)?;
    let alg = private.alg;
    let is_public = |d: &&Described| {
        d.class == Some(ObjectClass::PUBLIC_KEY) && d.key_type == Some(alg.key_type())
    };
    // The public key of the same name; if several, the one with the
    // private key's id; if none (named by label only), the one with the
    // private key's id.
    let mut publics: Vec<&Described> = objects.iter().filter(is_public).collect();
    if publics.len() > 1 {
        publics.retain(|d| d.id.is_some() && d.id == private.id);
    }
    let by_id;
    if publics.is_empty()
        && let Some(id) = &private.id
    {
        let template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(id.clone()),
        ];
        let handles = match session.find_objects(&template) {
            Ok(handles) => handles,
            Err(err) => return Err(session.fail("C_FindObjects", err)),
        };
        let mut found = Vec::with_capacity(handles.len());
        for handle in handles {
            found.push(Described::read(session, handle)?);
        }
        by_id = found;
        publics = by_id.iter().filter(is_public).collect();
    }
    let token = session.token();
    let public = match publics.as_slice() {
        [public] => public.handle,
        [] => {
            return Err(Error::KeyNotFound {
                object: format!("the public key of {name}"),
                token: token.description().to_owned(),
            });
        }
        _ => {
            return Err(Error::AmbiguousKey {
                object: format!("the public key of {name}"),
                token: token.description().to_owned(),
            });
        }
    };
    let point = match session.get_attributes(public, &[AttributeType::EcPoint]) {
        Ok(attributes) => attributes.into_iter().find_map(|a| match a {
            Attribute::EcPoint(point) => Some(point),
            _ => None,
        }),
        Err(err) => return Err(session.fail("C_GetAttributeValue", err)),
    };
    let point = point.ok_or_else(|| Error::WrongKeyType {
        object: format!("the public key of {name}"),
        expected: alg.expected_public(),
        found: "a public key without CKA_EC_POINT".into(),
    })?;
    let public = SigningPublicKey::decode(alg, &point).map_err(|invalid| Error::WrongKeyType {
        object: format!("the public key of {name}"),
        expected: alg.expected_public(),
        found: invalid.0.into(),
    })?;
    Ok(FoundPair { alg, public })
}
