//! The token commands: `hsm keygen` and `hsm list`.
//!
//! Keys are made with the attributes `tresor-pkcs11` gives them: token
//! objects, sensitive, never extractable, usable only for what their kind
//! does. Nothing here reads a key's value; the PIN comes from the URI's
//! `pin-source`.

use serde::Serialize;
use serde_json::Value;
use tresor_pkcs11::{
    ObjectFilter, ObjectInfo, Pkcs11Kek, Pkcs11NoteSigner, Pkcs11Pepper, Pkcs11SigningKey,
    Pkcs11Uri, SignatureAlgorithm, Token,
};

use crate::args::{HsmKeyKind, HsmKeygenArgs, HsmListArgs};
use crate::error::{CliError, Result};
use crate::output::print_json;

/// One key, as `hsm list` and `hsm keygen` print it.
#[derive(Serialize)]
struct KeyJson {
    /// A URI naming this key (the token's URI with `object`, `id` and
    /// `type` set): what the key flags take.
    uri: String,
    label: Option<String>,
    /// `CKA_ID`, hex.
    id: String,
    class: String,
    kind: String,
    sensitive: Option<bool>,
    extractable: Option<bool>,
    always_sensitive: Option<bool>,
    never_extractable: Option<bool>,
    local: Option<bool>,
    value_readable: bool,
    never_leaves_token: bool,
}

impl KeyJson {
    fn new(token_uri: &Pkcs11Uri, info: &ObjectInfo) -> Self {
        let custody = info.custody;
        KeyJson {
            uri: key_uri(token_uri, info),
            label: info.label.clone(),
            id: info.id_hex(),
            class: info.class.to_string(),
            kind: info.kind.to_string(),
            sensitive: custody.sensitive,
            extractable: custody.extractable,
            always_sensitive: custody.always_sensitive,
            never_extractable: custody.never_extractable,
            local: custody.local,
            value_readable: custody.value_readable,
            never_leaves_token: custody.never_leaves_token(),
        }
    }
}

/// What `hsm keygen` prints: the key, and for a key pair its public key.
#[derive(Serialize)]
struct KeygenJson {
    #[serde(flatten)]
    key: KeyJson,
    /// The envelope key id of an aes-256 key (what sealed headers name).
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    /// The pepper version of an hmac-sha256 key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pepper_version: Option<u32>,
    /// The RFC 9421 algorithm of a key pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    algorithm: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_jwk: Option<Value>,
    /// The RFC 7638 thumbprint of the public key (a `keyid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spki_pem: Option<String>,
    /// The C2SP note verifier key of an ed25519 key under `--note-name`
    /// (for `audit verify --vkey`).
    #[serde(skip_serializing_if = "Option::is_none")]
    note_verifier: Option<String>,
}

/// What a key URI's path names.
trait KeyPath {
    /// The path attributes, e.g. `object=kek;id=%01;type=secret-key`.
    fn uri_path(&self) -> String;
}

impl KeyPath for ObjectInfo {
    fn uri_path(&self) -> String {
        ObjectInfo::uri_path(self)
    }
}

/// A pepper: its label and class, no id (every version).
struct ObjectInfoPath {
    label: String,
}

impl KeyPath for ObjectInfoPath {
    fn uri_path(&self) -> String {
        Pkcs11Uri::new()
            .with_object(self.label.clone())
            .to_string()
            .trim_start_matches("pkcs11:")
            .to_owned()
            + ";type=secret-key"
    }
}

/// The token's URI with the key's path attributes in place of any object
/// attributes it had.
fn key_uri(token_uri: &Pkcs11Uri, info: &impl KeyPath) -> String {
    let text = token_uri.to_string();
    let (path, query) = match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text.as_str(), None),
    };
    let token_path: Vec<&str> = path
        .trim_start_matches("pkcs11:")
        .split(';')
        .filter(|attr| {
            !attr.is_empty()
                && !["object=", "id=", "type="]
                    .iter()
                    .any(|name| attr.starts_with(name))
        })
        .collect();
    let mut uri = format!("pkcs11:{}", token_path.join(";"));
    if !token_path.is_empty() {
        uri.push(';');
    }
    uri.push_str(&info.uri_path());
    if let Some(query) = query {
        uri.push('?');
        uri.push_str(query);
    }
    uri
}

fn parse(uri: &str) -> Result<Pkcs11Uri> {
    Ok(Pkcs11Uri::parse(uri)?)
}

/// The one key of the token with `label` and `id` (and `class`, for a pair).
fn describe(token: &Token, uri: &Pkcs11Uri, filter: ObjectFilter) -> Result<KeyJson> {
    let objects = token.objects(&filter)?;
    let info = objects
        .first()
        .ok_or_else(|| CliError::Usage("the new key is not listed by the token".to_owned()))?;
    Ok(KeyJson::new(uri, info))
}

/// `tresor hsm keygen`.
pub(crate) fn keygen(args: &HsmKeygenArgs) -> Result<()> {
    let uri = parse(&args.uri)?;
    if args.note_name.is_some() && args.kind != HsmKeyKind::Ed25519 {
        return Err(CliError::Usage(
            "--note-name is for an ed25519 key only".to_owned(),
        ));
    }
    let token = Token::open(&uri)?;
    let label = args.label.as_str();
    let out = match args.kind {
        HsmKeyKind::Aes256 => {
            let kek = Pkcs11Kek::generate(&token, label, None)?;
            let key_id = tresor_envelope::KeyEncryptionKey::key_id(&kek).to_owned();
            let key = describe(&token, &uri, ObjectFilter::all().label(label))?;
            KeygenJson::of(key).key_id(key_id)
        }
        HsmKeyKind::HmacSha256 => {
            let pepper = Pkcs11Pepper::generate(&token, label)?;
            let version = pepper.current();
            let filter = ObjectFilter::all()
                .label(label)
                .id(version.to_be_bytes().to_vec());
            let mut key = describe(&token, &uri, filter)?;
            // The pepper is the label: a URI without the version's id
            // follows rotations (the newest version is current).
            key.uri = key_uri(
                &uri,
                &ObjectInfoPath {
                    label: label.to_owned(),
                },
            );
            KeygenJson {
                pepper_version: Some(version),
                ..KeygenJson::of(key)
            }
        }
        HsmKeyKind::EcdsaP256 | HsmKeyKind::Ed25519 => {
            let algorithm = if args.kind == HsmKeyKind::Ed25519 {
                SignatureAlgorithm::Ed25519
            } else {
                SignatureAlgorithm::EcdsaP256Sha256
            };
            let pair = Pkcs11SigningKey::generate(&token, algorithm, label, None)?;
            let public = pair.public_key();
            let (jwk, thumbprint, spki_pem) =
                (public.to_jwk(), public.thumbprint(), public.to_spki_pem());
            let filter = ObjectFilter::all()
                .label(label)
                .class(tresor_pkcs11::KeyClass::PrivateKey);
            let key = describe(&token, &uri, filter)?;
            let note_verifier = match &args.note_name {
                Some(name) => Some(
                    Pkcs11NoteSigner::new(pair, name)?
                        .verifier()
                        .to_key_string(),
                ),
                None => None,
            };
            KeygenJson {
                algorithm: Some(tresor_httpsig::Algorithm::from(algorithm).name()),
                public_key_jwk: serde_json::from_str(&jwk).ok(),
                thumbprint: Some(thumbprint),
                spki_pem: Some(spki_pem),
                note_verifier,
                ..KeygenJson::of(key)
            }
        }
    };
    print_json(&out, false)
}

impl KeygenJson {
    fn of(key: KeyJson) -> Self {
        KeygenJson {
            key,
            key_id: None,
            pepper_version: None,
            algorithm: None,
            public_key_jwk: None,
            thumbprint: None,
            spki_pem: None,
            note_verifier: None,
        }
    }

    fn key_id(mut self, key_id: String) -> Self {
        self.key_id = Some(key_id);
        self
    }
}

/// `tresor hsm list`.
pub(crate) fn list(args: &HsmListArgs) -> Result<()> {
    let uri = parse(&args.uri)?;
    let token = Token::open(&uri)?;
    let objects = token.objects(&ObjectFilter::from_uri(&uri)?)?;
    let keys: Vec<KeyJson> = objects
        .iter()
        .map(|info| KeyJson::new(&uri, info))
        .collect();
    print_json(&keys, false)
}
