//! Listing a token's keys: their names, types and custody, never a value.

use std::fmt;

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};

use crate::key::{KeyCustody, read_custody};
use crate::pool::PooledSession;
use crate::uri::{ObjectType, Pkcs11Uri, object_description};
use crate::{Error, Result, Token};

/// Which keys [`Token::objects`] lists: every key, or those matching a
/// label, an id and a class.
///
/// ```
/// use tresor_pkcs11::{KeyClass, ObjectFilter};
///
/// let secret_keys = ObjectFilter::all().class(KeyClass::SecretKey);
/// let pepper = ObjectFilter::all().label("pepper");
/// # let _ = (secret_keys, pepper);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct ObjectFilter {
    label: Option<String>,
    id: Option<Vec<u8>>,
    class: Option<KeyClass>,
}

impl ObjectFilter {
    /// Every key of the token (secret keys, private keys, public keys).
    pub fn all() -> Self {
        Self::default()
    }

    /// The filter a URI's `object`, `id` and `type` make (`pkcs11:token=…`
    /// alone lists every key). `type=cert` and `type=data` are not keys:
    /// [`Error::InvalidKeyName`].
    pub fn from_uri(uri: &Pkcs11Uri) -> Result<Self> {
        let class = match uri.object_type() {
            None => None,
            Some(ObjectType::SecretKey) => Some(KeyClass::SecretKey),
            Some(ObjectType::Private) => Some(KeyClass::PrivateKey),
            Some(ObjectType::Public) => Some(KeyClass::PublicKey),
            Some(ObjectType::Cert | ObjectType::Data) => {
                return Err(Error::InvalidKeyName {
                    reason: "only keys are listed: the URI's type must be secret-key, private, \
                             public or absent"
                        .into(),
                });
            }
        };
        Ok(ObjectFilter {
            label: uri.object().map(str::to_owned),
            id: uri.id().map(<[u8]>::to_vec),
            class,
        })
    }

    /// Only keys with this label (`CKA_LABEL`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Only keys with this id (`CKA_ID`).
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Only keys of this class.
    pub fn class(mut self, class: KeyClass) -> Self {
        self.class = Some(class);
        self
    }
}

/// A key's class (`CKA_CLASS`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyClass {
    /// `CKO_SECRET_KEY`: a symmetric key (AES, HMAC).
    SecretKey,
    /// `CKO_PRIVATE_KEY`: the private half of a key pair.
    PrivateKey,
    /// `CKO_PUBLIC_KEY`: the public half of a key pair.
    PublicKey,
}

impl KeyClass {
    const ALL: [KeyClass; 3] = [
        KeyClass::SecretKey,
        KeyClass::PrivateKey,
        KeyClass::PublicKey,
    ];

    fn ck(self) -> ObjectClass {
        match self {
            KeyClass::SecretKey => ObjectClass::SECRET_KEY,
            KeyClass::PrivateKey => ObjectClass::PRIVATE_KEY,
            KeyClass::PublicKey => ObjectClass::PUBLIC_KEY,
        }
    }
}

impl fmt::Display for KeyClass {
    /// The RFC 7512 `type` value: `secret-key`, `private`, `public`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            KeyClass::SecretKey => "secret-key",
            KeyClass::PrivateKey => "private",
            KeyClass::PublicKey => "public",
        })
    }
}

/// What kind of key an object is (`CKA_KEY_TYPE`, with its length or
/// curve).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// `CKK_AES`; `bits` from `CKA_VALUE_LEN` (256 for a [`Pkcs11Kek`]).
    ///
    #[cfg_attr(feature = "envelope", doc = "[`Pkcs11Kek`]: crate::Pkcs11Kek")]
    #[cfg_attr(
        not(feature = "envelope"),
        doc = "[`Pkcs11Kek`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11Kek.html"
    )]
    Aes {
        /// The key's length in bits, if the token reports it.
        bits: Option<u32>,
    },
    /// `CKK_GENERIC_SECRET`: an HMAC key of any hash (the type of a
    /// `Pkcs11Pepper`'s keys).
    GenericSecret {
        /// The key's length in bits, if the token reports it.
        bits: Option<u32>,
    },
    /// `CKK_SHA256_HMAC`: an HMAC-SHA-256 key.
    HmacSha256 {
        /// The key's length in bits, if the token reports it.
        bits: Option<u32>,
    },
    /// `CKK_EC` on the NIST P-256 curve (ECDSA P-256).
    EcdsaP256,
    /// `CKK_EC` on the NIST P-384 curve (ECDSA P-384).
    EcdsaP384,
    /// `CKK_EC_EDWARDS` on Ed25519.
    Ed25519,
    /// `CKK_EC_EDWARDS` on Ed448.
    Ed448,
    /// `CKK_RSA`.
    Rsa {
        /// The modulus length in bits, if the token reports it.
        bits: Option<u32>,
    },
    /// Any other key type or curve.
    Other {
        /// The key type as PKCS#11 names it (`CKK_DES3`, or `CKK_EC` on
        /// an unknown curve).
        key_type: String,
    },
}

impl fmt::Display for KeyKind {
    /// Short names: `aes-256`, `generic-secret-256`, `hmac-sha256-256`,
    /// `ecdsa-p256`, `ecdsa-p384`, `ed25519`, `ed448`, `rsa-2048`, or the
    /// PKCS#11 key type (`CKK_DES3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sized = |name: &str, bits: &Option<u32>| match bits {
            Some(bits) => format!("{name}-{bits}"),
            None => name.to_owned(),
        };
        let text = match self {
            KeyKind::Aes { bits } => sized("aes", bits),
            KeyKind::GenericSecret { bits } => sized("generic-secret", bits),
            KeyKind::HmacSha256 { bits } => sized("hmac-sha256", bits),
            KeyKind::EcdsaP256 => "ecdsa-p256".to_owned(),
            KeyKind::EcdsaP384 => "ecdsa-p384".to_owned(),
            KeyKind::Ed25519 => "ed25519".to_owned(),
            KeyKind::Ed448 => "ed448".to_owned(),
            KeyKind::Rsa { bits } => sized("rsa", bits),
            KeyKind::Other { key_type } => key_type.clone(),
        };
        // `pad`: widths and alignment work, for tables.
        f.pad(&text)
    }
}

/// One key of a token, as [`Token::objects`] lists it: its names, its
/// kind and its custody flags. Never its value: listing asks the token
/// for these attributes and, for custody, only whether `CKA_VALUE` could
/// be read (its size), never the value itself.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// `CKA_LABEL` (bytes that are not UTF-8 replaced by U+FFFD), if the
    /// key has a non-empty one.
    pub label: Option<String>,
    /// `CKA_ID` (empty if the key has none); see [`ObjectInfo::id_hex`].
    pub id: Vec<u8>,
    /// `CKA_CLASS`.
    pub class: KeyClass,
    /// `CKA_KEY_TYPE`, with its length or curve.
    pub kind: KeyKind,
    /// `CKA_SENSITIVE`, `CKA_EXTRACTABLE`, `CKA_ALWAYS_SENSITIVE`,
    /// `CKA_NEVER_EXTRACTABLE`, `CKA_LOCAL`, and whether `CKA_VALUE` is
    /// readable. Public keys are not secret: the token reports no
    /// sensitivity for them.
    pub custody: KeyCustody,
}

impl ObjectInfo {
    /// The id in lower-case hex (`00000001`), empty if there is none.
    pub fn id_hex(&self) -> String {
        use std::fmt::Write as _;
        self.id.iter().fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// The key's path attributes in PKCS#11 URI syntax
    /// (`object=kek-2026;id=%01;type=secret-key`), to append to a token's
    /// URI.
    pub fn uri_path(&self) -> String {
        let mut path = object_description(
            self.label.as_deref(),
            Some(&self.id)
                .filter(|id| !id.is_empty())
                .map(Vec::as_slice),
        );
        if !path.is_empty() {
            path.push(';');
        }
        path.push_str("type=");
        path.push_str(&self.class.to_string());
        path
    }
}

impl Token {
    /// The keys on the token that match `filter` (secret, private and
    /// public keys; not certificates or data objects), sorted by label, id
    /// and class: names, kind and custody flags, never a key's value.
    ///
    /// Private objects are listed because the token's sessions are logged
    /// in. Errors are the token's ([`Error::is_unavailable`] for an
    /// outage).
    pub fn objects(&self, filter: &ObjectFilter) -> Result<Vec<ObjectInfo>> {
        let mut session = self.session()?;
        let classes = match filter.class {
            Some(class) => vec![class],
            None => KeyClass::ALL.to_vec(),
        };
        let mut found = Vec::new();
        for class in classes {
            let mut template = vec![Attribute::Class(class.ck())];
            if let Some(label) = &filter.label {
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
            if let Some(id) = &filter.id {
                template.push(Attribute::Id(id.clone()));
            }
            let handles = match session.find_objects(&template) {
                Ok(handles) => handles,
                Err(err) => return Err(session.fail("C_FindObjects", err)),
            };
            for handle in handles {
                found.push(describe(&mut session, handle, class)?);
            }
        }
        found.sort_by(|a, b| (&a.label, &a.id, a.class).cmp(&(&b.label, &b.id, b.class)));
        Ok(found)
    }
}

/// Reads one key's names, kind and custody (never its value).
fn describe(
    session: &mut PooledSession<'_>,
    handle: ObjectHandle,
    class: KeyClass,
) -> Result<ObjectInfo> {
    let attributes = match session.get_attributes(
        handle,
        &[
            AttributeType::Label,
            AttributeType::Id,
            AttributeType::KeyType,
            AttributeType::ValueLen,
            AttributeType::ModulusBits,
            AttributeType::EcParams,
        ],
    ) {
        Ok(attributes) => attributes,
        Err(err) => return Err(session.fail("C_GetAttributeValue", err)),
    };
    let custody = match read_custody(session, handle) {
        Ok(custody) => custody,
        Err(err) => return Err(session.fail("C_GetAttributeValue", err)),
    };
    let (mut label, mut id, mut key_type) = (None, Vec::new(), None);
    let (mut value_len, mut modulus_bits, mut ec_params) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::Label(bytes) if !bytes.is_empty() => {
                label = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            Attribute::Id(bytes) => id = bytes,
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::ValueLen(len) => value_len = Some(u64::from(len)),
            Attribute::ModulusBits(bits) => modulus_bits = Some(u64::from(bits)),
            Attribute::EcParams(params) => ec_params = Some(params),
            _ => {}
        }
    }
    let bits = |bytes: Option<u64>| bytes.and_then(|b| b.checked_mul(8)?.try_into().ok());
    let kind = match key_type {
        Some(KeyType::AES) => KeyKind::Aes {
            bits: bits(value_len),
        },
        Some(KeyType::GENERIC_SECRET) => KeyKind::GenericSecret {
            bits: bits(value_len),
        },
        Some(KeyType::SHA256_HMAC) => KeyKind::HmacSha256 {
            bits: bits(value_len),
        },
        Some(KeyType::RSA) => KeyKind::Rsa {
            bits: modulus_bits.and_then(|b| b.try_into().ok()),
        },
        Some(t @ (KeyType::EC | KeyType::EC_EDWARDS)) => curve(t, ec_params.as_deref()),
        Some(other) => KeyKind::Other {
            key_type: other.to_string(),
        },
        None => KeyKind::Other {
            key_type: "unknown key type".into(),
        },
    };
    Ok(ObjectInfo {
        label,
        id,
        class,
        kind,
        custody,
    })
}

/// DER of the curves' OIDs, and the PKCS#11 3.0 printable-string names of
/// the Edwards curves.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const ED448_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x71];
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
const ED448_NAME: &[u8] = b"\x13\x0aedwards448";

/// An EC or Edwards key's kind, from its `CKA_EC_PARAMS`.
fn curve(key_type: KeyType, params: Option<&[u8]>) -> KeyKind {
    match (key_type, params) {
        (KeyType::EC, Some(P256_OID)) => KeyKind::EcdsaP256,
        (KeyType::EC, Some(P384_OID)) => KeyKind::EcdsaP384,
        (KeyType::EC_EDWARDS, Some(ED25519_OID | ED25519_NAME)) => KeyKind::Ed25519,
        (KeyType::EC_EDWARDS, Some(ED448_OID | ED448_NAME)) => KeyKind::Ed448,
        (t, _) => KeyKind::Other {
            key_type: format!("{t} on an unknown curve"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_by_their_parameters() {
        assert_eq!(curve(KeyType::EC, Some(P256_OID)), KeyKind::EcdsaP256);
        assert_eq!(curve(KeyType::EC, Some(P384_OID)), KeyKind::EcdsaP384);
        assert_eq!(
            curve(KeyType::EC_EDWARDS, Some(ED25519_NAME)),
            KeyKind::Ed25519
        );
        assert_eq!(
            curve(KeyType::EC_EDWARDS, Some(ED25519_OID)),
            KeyKind::Ed25519
        );
        assert_eq!(curve(KeyType::EC_EDWARDS, Some(ED448_OID)), KeyKind::Ed448);
        assert!(matches!(
            curve(KeyType::EC, Some(ED25519_OID)),
            KeyKind::Other { .. }
        ));
        assert!(matches!(curve(KeyType::EC, None), KeyKind::Other { .. }));
    }

    #[test]
    fn kinds_display_short_names() {
        assert_eq!(KeyKind::Aes { bits: Some(256) }.to_string(), "aes-256");
        assert_eq!(
            KeyKind::GenericSecret { bits: Some(256) }.to_string(),
            "generic-secret-256"
        );
        assert_eq!(
            KeyKind::HmacSha256 { bits: None }.to_string(),
            "hmac-sha256"
        );
        assert_eq!(KeyKind::EcdsaP256.to_string(), "ecdsa-p256");
        assert_eq!(KeyKind::Ed25519.to_string(), "ed25519");
        assert_eq!(KeyKind::Rsa { bits: Some(2048) }.to_string(), "rsa-2048");
        assert_eq!(KeyClass::SecretKey.to_string(), "secret-key");
        assert_eq!(format!("{:<8}|", KeyKind::Ed25519), "ed25519 |");
        assert_eq!(format!("{:>8}|", KeyClass::PublicKey), "  public|");
    }

    #[test]
    fn uri_paths_and_hex_ids() {
        let info = ObjectInfo {
            label: Some("pepper".into()),
            id: vec![0, 0, 0, 1],
            class: KeyClass::SecretKey,
            kind: KeyKind::GenericSecret { bits: Some(256) },
            custody: KeyCustody {
                sensitive: Some(true),
                extractable: Some(false),
                always_sensitive: Some(true),
                never_extractable: Some(true),
                local: Some(true),
                value_readable: false,
            },
        };
        assert_eq!(info.id_hex(), "00000001");
        assert_eq!(
            info.uri_path(),
            "object=pepper;id=%00%00%00%01;type=secret-key"
        );
        let bare = ObjectInfo {
            label: None,
            id: Vec::new(),
            ..info
        };
        assert_eq!(bare.id_hex(), "");
        assert_eq!(bare.uri_path(), "type=secret-key");
    }
}
