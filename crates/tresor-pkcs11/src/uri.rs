//! PKCS#11 URIs (RFC 7512): which module, which token, which key, and where
//! the PIN comes from.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::percent::{AttrWriter, Component, decode, split_attribute, split_attributes};
use crate::pin::PinSource;
use crate::{Error, Result};

/// Longest URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 4096;

/// A parsed PKCS#11 URI (RFC 7512), such as
///
/// ```text
/// pkcs11:token=tresor;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin
/// ```
///
/// # What is accepted
///
/// The parser is strict: whatever it accepts, it understands.
///
/// - The scheme `pkcs11:` (in any case), then path attributes separated by
///   `;`, then optionally `?` and query attributes separated by `&`. No
///   fragment (`#`).
/// - Path attributes (each at most once, in any order): `token`,
///   `manufacturer`, `serial`, `model` (the token), `slot-description`,
///   `slot-manufacturer`, `slot-id` (the slot), `library-manufacturer`,
///   `library-description`, `library-version` (the module), `object`,
///   `id`, `type` (the object), and vendor attributes named `x-…`.
/// - Query attributes: `module-path` (absolute: the module's file, or the
///   directory holding `module-name`), `module-name`, `pin-source` (each
///   at most once) and vendor attributes `x-…` (repeatable).
/// - Values are percent-decoded (`%2F`); characters outside RFC 7512's
///   sets must be percent-encoded. Text values must be UTF-8; `id` is any
///   bytes. An empty value is a value (`serial=` matches an empty serial
///   number), as in RFC 7512.
/// - `slot-id` is a decimal number, `library-version` is `MAJOR[.MINOR]`,
///   `type` is one of `public`, `private`, `cert`, `secret-key`, `data`.
///
/// Refused, with an error that says why: **`pin-value`** (a PIN never goes
/// into a URI: see [`Error::PinValueRefused`]), unknown attributes that do
/// not start with `x-`, a path attribute in the query or the reverse,
/// repeated attributes, percent-encoding in `slot-id`, `library-version`
/// or `type`, and a `module-name` without a `module-path` (this crate
/// never searches the system for modules).
///
/// RFC 7512 lets any other name be a vendor attribute; this parser takes
/// vendor attributes only with the `x-` prefix, so that a misspelt
/// standard attribute (`objet=`, `pin-sorce=`) is an error instead of a
/// silently ignored vendor attribute.
///
/// `pin-source` is `file:/absolute/path` (also `file:///absolute/path`
/// and a bare absolute path, as RFC 7512 suggests) or, as an extension of
/// this crate, `env:VARIABLE`; see [`PinSource`].
///
/// Errors never quote attribute values. [`Display`](fmt::Display) writes
/// the URI back in a canonical form (RFC 7512's attribute order, `id`
/// fully percent-encoded) that parses to an equal value.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct Pkcs11Uri {
    token: Option<String>,
    manufacturer: Option<String>,
    serial: Option<String>,
    model: Option<String>,
    library_manufacturer: Option<String>,
    library_description: Option<String>,
    library_version: Option<LibraryVersion>,
    object: Option<String>,
    object_type: Option<ObjectType>,
    id: Option<Vec<u8>>,
    slot_description: Option<String>,
    slot_manufacturer: Option<String>,
    slot_id: Option<u64>,
    vendor_path: Vec<(String, Vec<u8>)>,
    module_name: Option<String>,
    module_path: Option<PathBuf>,
    pin_source: Option<PinSource>,
    vendor_query: Vec<(String, Vec<u8>)>,
}

/// The object class named by a URI's `type` attribute.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ObjectType {
    /// `type=public`: a public key.
    Public,
    /// `type=private`: a private key.
    Private,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret (symmetric) key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

impl ObjectType {
    const ALL: [(ObjectType, &'static str); 5] = [
        (ObjectType::Public, "public"),
        (ObjectType::Private, "private"),
        (ObjectType::Cert, "cert"),
        (ObjectType::SecretKey, "secret-key"),
        (ObjectType::Data, "data"),
    ];

    /// The attribute value, as written in a URI.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("data", |(_, name)| name)
    }
}

/// A module version from `library-version` (`MAJOR[.MINOR]`, each 0 to 255).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LibraryVersion {
    /// The major version.
    pub major: u8,
    /// The minor version (0 when the URI gives only the major).
    pub minor: u8,
}

impl fmt::Display for LibraryVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The standard path attributes.
const PATH_ATTRIBUTES: [&str; 13] = [
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "object",
    "type",
    "id",
    "slot-description",
    "slot-manufacturer",
    "slot-id",
];
const QUERY_ATTRIBUTES: [&str; 3] = ["module-name", "module-path", "pin-source"];

impl Pkcs11Uri {
    /// An empty URI (`pkcs11:`), to fill with the `with_…` methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a PKCS#11 URI; see the type's docs for what is accepted.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_URI_LEN {
            return Err(Error::uri(format!("longer than {MAX_URI_LEN} bytes")));
        }
        let rest = text
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| text.get(7..))
            .ok_or_else(|| Error::uri("does not start with `pkcs11:`"))?;
        if let Some(at) = rest.find('#') {
            return Err(Error::uri(format!(
                "`#` at byte {}: a PKCS#11 URI has no fragment (write %23 in a value)",
                at + 7
            )));
        }
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        for (offset, attr) in split_attributes(path, ';', 7) {
            uri.set_path(offset, attr)?;
        }
        if let Some(query) = query {
            let base = 7 + path.len() + 1;
            for (offset, attr) in split_attributes(query, '&', base) {
                uri.set_query(offset, attr)?;
            }
        }
        if uri.module_name.is_some() && uri.module_path.is_none() {
            return Err(Error::uri(
                "module-name without module-path: give module-path (the module's file, \
                 or the directory that holds module-name)",
            ));
        }
        Ok(uri)
    }

    fn set_path(&mut self, offset: usize, attr: &str) -> Result<()> {
        let (name, raw) = split_attribute(offset, attr)?;
        if QUERY_ATTRIBUTES.contains(&name) || name == "pin-value" {
            if name == "pin-value" {
                return Err(Error::PinValueRefused);
            }
            return Err(Error::uri(format!(
                "{name} is a query attribute: put it after `?`"
            )));
        }
        let value = decode(raw, Component::Path, offset + name.len() + 1, name)?;
        if name.starts_with("x-") {
            self.vendor_path.push((name.to_owned(), value));
            // RFC 7512: a path attribute appears at most once.
            let count = self.vendor_path.iter().filter(|(n, _)| n == name).count();
            return if count > 1 {
                Err(repeated(name))
            } else {
                Ok(())
            };
        }
        if !PATH_ATTRIBUTES.contains(&name) {
            return Err(unknown(name, Component::Path));
        }
        // Numbers and the type are plain ASCII in RFC 7512's grammar: no
        // percent-encoding.
        let plain = raw.as_bytes();
        match name {
            "id" => set_once(&mut self.id, name, value),
            "slot-id" => set_once(&mut self.slot_id, name, decimal(plain, name)?),
            "library-version" => set_once(&mut self.library_version, name, library_version(plain)?),
            "type" => set_once(&mut self.object_type, name, object_type(plain)?),
            _ => {
                let text = utf8(value, name)?;
                let slot = match name {
                    "token" => &mut self.token,
                    "manufacturer" => &mut self.manufacturer,
                    "serial" => &mut self.serial,
                    "model" => &mut self.model,
                    "library-manufacturer" => &mut self.library_manufacturer,
                    "library-description" => &mut self.library_description,
                    "object" => &mut self.object,
                    "slot-description" => &mut self.slot_description,
                    _ => &mut self.slot_manufacturer,
                };
                set_once(slot, name, text)
            }
        }
    }

    fn set_query(&mut self, offset: usize, attr: &str) -> Result<()> {
        let (name, raw) = split_attribute(offset, attr)?;
        if name == "pin-value" {
            return Err(Error::PinValueRefused);
        }
        if PATH_ATTRIBUTES.contains(&name) {
            return Err(Error::uri(format!(
                "{name} is a path attribute: put it before `?`"
            )));
        }
        let value = decode(raw, Component::Query, offset + name.len() + 1, name)?;
        if name.starts_with("x-") {
            // RFC 7512 leaves repeated vendor query attributes to the
            // consumer: they are kept, in order.
            self.vendor_query.push((name.to_owned(), value));
            return Ok(());
        }
        match name {
            "module-path" => {
                let path = PathBuf::from(utf8(value, name)?);
                set_once(&mut self.module_path, name, absolute(path, name)?)
            }
            "module-name" => {
                let module = utf8(value, name)?;
                set_once(&mut self.module_name, name, module_name(module)?)
            }
            "pin-source" => set_once(&mut self.pin_source, name, PinSource::parse(&value)?),
            _ => Err(unknown(name, Component::Query)),
        }
    }

    /// The token label (`token`).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
    /// The token manufacturer (`manufacturer`).
    pub fn manufacturer(&self) -> Option<&str> {
        self.manufacturer.as_deref()
    }
    /// The token serial number (`serial`).
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }
    /// The token model (`model`).
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    /// The module's manufacturer (`library-manufacturer`).
    pub fn library_manufacturer(&self) -> Option<&str> {
        self.library_manufacturer.as_deref()
    }
    /// The module's description (`library-description`).
    pub fn library_description(&self) -> Option<&str> {
        self.library_description.as_deref()
    }
    /// The module's version (`library-version`).
    pub fn library_version(&self) -> Option<LibraryVersion> {
        self.library_version
    }
    /// The object label, `CKA_LABEL` (`object`).
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }
    /// The object class (`type`).
    pub fn object_type(&self) -> Option<ObjectType> {
        self.object_type
    }
    /// The object id, `CKA_ID` (`id`), as bytes.
    pub fn id(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }
    /// The slot description (`slot-description`).
    pub fn slot_description(&self) -> Option<&str> {
        self.slot_description.as_deref()
    }
    /// The slot manufacturer (`slot-manufacturer`).
    pub fn slot_manufacturer(&self) -> Option<&str> {
        self.slot_manufacturer.as_deref()
    }
    /// The slot id (`slot-id`).
    pub fn slot_id(&self) -> Option<u64> {
        self.slot_id
    }
    /// The module's name (`module-name`), looked up in `module-path`.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }
    /// The module's file or directory (`module-path`), always absolute.
    pub fn module_path(&self) -> Option<&Path> {
        self.module_path.as_deref()
    }
    /// Where the PIN comes from (`pin-source`).
    pub fn pin_source(&self) -> Option<&PinSource> {
        self.pin_source.as_ref()
    }
    /// Vendor path attributes (`x-…`), decoded, in URI order. They are kept
    /// for round trips and otherwise ignored.
    pub fn vendor_path_attributes(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.vendor_path
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
    }
    /// Vendor query attributes (`x-…`), decoded, in URI order (repeats
    /// kept). They are kept for round trips and otherwise ignored.
    pub fn vendor_query_attributes(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.vendor_query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Sets the token label (`token`).
    pub fn with_token(mut self, label: impl Into<String>) -> Self {
        self.token = Some(label.into());
        self
    }
    /// Sets the object label (`object`).
    pub fn with_object(mut self, label: impl Into<String>) -> Self {
        self.object = Some(label.into());
        self
    }
    /// Sets the object id (`id`).
    pub fn with_id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Sets the module's file or directory (`module-path`): absolute.
    pub fn with_module_path(mut self, path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if path.to_str().is_none() {
            return Err(Error::uri("module-path is not UTF-8"));
        }
        self.module_path = Some(absolute(path, "module-path")?);
        Ok(self)
    }
    /// Sets where the PIN comes from (`pin-source`).
    pub fn with_pin_source(mut self, source: PinSource) -> Self {
        self.pin_source = Some(source);
        self
    }

    /// The token and slot attributes in URI syntax, e.g. `token=tresor`, for
    /// messages (`any token` when there are none).
    pub fn token_description(&self) -> String {
        let mut out = String::new();
        self.write_token_attributes(&mut out);
        if out.is_empty() {
            out.push_str("any token");
        }
        out
    }

    /// Copies the token and slot attributes of `uri` (what finding the
    /// token again needs).
    pub(crate) fn copy_token_attributes(&mut self, uri: &Pkcs11Uri) {
        self.token.clone_from(&uri.token);
        self.manufacturer.clone_from(&uri.manufacturer);
        self.serial.clone_from(&uri.serial);
        self.model.clone_from(&uri.model);
        self.slot_description.clone_from(&uri.slot_description);
        self.slot_manufacturer.clone_from(&uri.slot_manufacturer);
        self.slot_id = uri.slot_id;
    }

    fn write_token_attributes(&self, out: &mut String) {
        let mut w = AttrWriter::new(out, ';', Component::Path);
        w.text("token", self.token.as_deref());
        w.text("manufacturer", self.manufacturer.as_deref());
        w.text("serial", self.serial.as_deref());
        w.text("model", self.model.as_deref());
        w.text("slot-description", self.slot_description.as_deref());
        w.text("slot-manufacturer", self.slot_manufacturer.as_deref());
        if let Some(id) = self.slot_id {
            w.raw("slot-id", &id.to_string());
        }
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("pkcs11:");
        {
            let mut w = AttrWriter::new(&mut out, ';', Component::Path);
            w.text("token", self.token.as_deref());
            w.text("manufacturer", self.manufacturer.as_deref());
            w.text("serial", self.serial.as_deref());
            w.text("model", self.model.as_deref());
            w.text("library-manufacturer", self.library_manufacturer.as_deref());
            w.text("library-description", self.library_description.as_deref());
            if let Some(v) = self.library_version {
                w.raw("library-version", &v.to_string());
            }
            w.text("object", self.object.as_deref());
            if let Some(t) = self.object_type {
                w.raw("type", t.as_str());
            }
            if let Some(id) = &self.id {
                w.all_encoded("id", id);
            }
            w.text("slot-description", self.slot_description.as_deref());
            w.text("slot-manufacturer", self.slot_manufacturer.as_deref());
            if let Some(id) = self.slot_id {
                w.raw("slot-id", &id.to_string());
            }
            for (name, value) in &self.vendor_path {
                w.bytes(name, value);
            }
        }
        let mut query = String::new();
        {
            let mut w = AttrWriter::new(&mut query, '&', Component::Query);
            w.text("module-name", self.module_name.as_deref());
            w.text(
                "module-path",
                self.module_path.as_deref().and_then(Path::to_str),
            );
            if let Some(source) = &self.pin_source {
                w.bytes("pin-source", source.to_string().as_bytes());
            }
            for (name, value) in &self.vendor_query {
                w.bytes(name, value);
            }
        }
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query);
        }
        f.write_str(&out)
    }
}

/// A key's label and id in URI syntax (`object=kek-2026;id=%01`).
pub(crate) fn object_description(label: Option<&str>, id: Option<&[u8]>) -> String {
    let mut out = String::new();
    let mut w = AttrWriter::new(&mut out, ';', Component::Path);
    w.text("object", label);
    if let Some(id) = id {
        w.all_encoded("id", id);
    }
    out
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<()> {
    if slot.replace(value).is_some() {
        return Err(repeated(name));
    }
    Ok(())
}

fn repeated(name: &str) -> Error {
    Error::uri(format!("{name} appears more than once"))
}

fn unknown(name: &str, component: Component) -> Error {
    Error::uri(format!(
        "unknown {} attribute {name} (vendor attributes start with `x-`; names are lower case)",
        component.name()
    ))
}

fn utf8(value: Vec<u8>, name: &str) -> Result<String> {
    String::from_utf8(value).map_err(|_| Error::uri(format!("{name} is not UTF-8 text")))
}

fn decimal(value: &[u8], name: &str) -> Result<u64> {
    let text = std::str::from_utf8(value)
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()));
    text.and_then(|t| t.parse().ok())
        .ok_or_else(|| Error::uri(format!("{name} is not a decimal number below 2^64")))
}

fn library_version(value: &[u8]) -> Result<LibraryVersion> {
    let bad = || Error::uri("library-version is not MAJOR[.MINOR] with numbers 0 to 255");
    let text = std::str::from_utf8(value).map_err(|_| bad())?;
    let (major, minor) = match text.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (text, None),
    };
    let number = |s: &str| -> Result<u8> {
        if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    Ok(LibraryVersion {
        major: number(major)?,
        minor: minor.map_or(Ok(0), number)?,
    })
}

fn object_type(value: &[u8]) -> Result<ObjectType> {
    ObjectType::ALL
        .iter()
        .find(|(_, name)| name.as_bytes() == value)
        .map(|(t, _)| *t)
        .ok_or_else(|| Error::uri("type is not one of public, private, cert, secret-key, data"))
}

fn absolute(path: PathBuf, name: &str) -> Result<PathBuf> {
    if !path.is_absolute() {
        return Err(Error::uri(format!("{name} must be an absolute path")));
    }
    Ok(path)
}

fn module_name(name: String) -> Result<String> {
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return Err(Error::uri(
            "module-name is a file name without directories: put the directory in module-path",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_parses() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=tresor;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/path/pin",
        )
        .unwrap();
        assert_eq!(uri.token(), Some("tresor"));
        assert_eq!(uri.object(), Some("kek-2026"));
        assert_eq!(
            uri.module_path(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(
            uri.pin_source(),
            Some(&PinSource::File(PathBuf::from("/path/pin")))
        );
    }

    #[test]
    fn offsets_point_at_the_offending_byte() {
        let err = Pkcs11Uri::parse("pkcs11:token=a b")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at byte 14"), "{err}");
        let err = Pkcs11Uri::parse("pkcs11:token=a?x-a=%zz")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at byte 19"), "{err}");
    }

    #[test]
    fn display_is_canonical() {
        let uri =
            Pkcs11Uri::parse("pkcs11:id=%01A;object=a%20b;token=t?pin-source=env:PIN").unwrap();
        assert_eq!(
            uri.to_string(),
            "pkcs11:token=t;object=a%20b;id=%01%41?pin-source=env:PIN"
        );
    }
}
