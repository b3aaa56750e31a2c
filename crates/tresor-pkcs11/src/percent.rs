//! The text of a PKCS#11 URI (RFC 7512 section 2.3): which characters a
//! component keeps unencoded, splitting attributes, percent-decoding and
//! percent-encoding values.

use std::fmt::Write as _;

use crate::{Error, Result};

// RFC 7512 section 2.3: the characters a value may hold unencoded, beside
// RFC 3986's unreserved ones.
const RES_AVAIL: &[u8] = b":[]@!$'()*+,=";
const PATH_EXTRA: &[u8] = b"&";
const QUERY_EXTRA: &[u8] = b"/?|";

/// The two parts of a URI that hold attributes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    /// Before `?`, attributes separated by `;`.
    Path,
    /// After `?`, attributes separated by `&`.
    Query,
}

impl Component {
    pub(crate) fn allows(self, b: u8) -> bool {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || RES_AVAIL.contains(&b)
            || match self {
                Component::Path => PATH_EXTRA.contains(&b),
                Component::Query => QUERY_EXTRA.contains(&b),
            }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Component::Path => "path",
            Component::Query => "query",
        }
    }
}

/// Writes `name=value` pairs with a separator, percent-encoding values.
pub(crate) struct AttrWriter<'a> {
    out: &'a mut String,
    separator: char,
    component: Component,
    first: bool,
}

impl<'a> AttrWriter<'a> {
    pub(crate) fn new(out: &'a mut String, separator: char, component: Component) -> Self {
        let first = out.is_empty() || out.ends_with(':');
        AttrWriter {
            out,
            separator,
            component,
            first,
        }
    }

    fn start(&mut self, name: &str) {
        if !self.first {
            self.out.push(self.separator);
        }
        self.first = false;
        self.out.push_str(name);
        self.out.push('=');
    }

    pub(crate) fn raw(&mut self, name: &str, value: &str) {
        self.start(name);
        self.out.push_str(value);
    }

    pub(crate) fn text(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.bytes(name, value.as_bytes());
        }
    }

    pub(crate) fn bytes(&mut self, name: &str, value: &[u8]) {
        self.start(name);
        for &b in value {
            if self.component.allows(b) {
                self.out.push(char::from(b));
            } else {
                let _ = write!(self.out, "%{b:02X}");
            }
        }
    }

    pub(crate) fn all_encoded(&mut self, name: &str, value: &[u8]) {
        self.start(name);
        for &b in value {
            let _ = write!(self.out, "%{b:02X}");
        }
    }
}

/// Splits a component into attributes, with each one's byte offset in the
/// whole URI. An empty component has no attributes.
pub(crate) fn split_attributes(
    component: &str,
    separator: char,
    base: usize,
) -> Vec<(usize, &str)> {
    if component.is_empty() {
        return Vec::new();
    }
    let mut offset = base;
    component
        .split(separator)
        .map(|attr| {
            let at = offset;
            offset += attr.len() + 1;
            (at, attr)
        })
        .collect()
}

pub(crate) fn split_attribute(offset: usize, attr: &str) -> Result<(&str, &str)> {
    if attr.is_empty() {
        return Err(Error::uri(format!(
            "empty attribute at byte {offset} (a doubled or trailing separator)"
        )));
    }
    let Some((name, value)) = attr.split_once('=') else {
        return Err(Error::uri(format!(
            "attribute at byte {offset} has no `=`: attributes are name=value"
        )));
    };
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(Error::uri(format!(
            "invalid attribute name at byte {offset}: names are 1 to 64 letters, digits, `-` and `_`"
        )));
    }
    if name.starts_with("x-") && name.len() == 2 {
        return Err(Error::uri(format!(
            "vendor attribute at byte {offset} has no name after `x-`"
        )));
    }
    Ok((name, value))
}

/// Percent-decodes `raw`, refusing characters that must be encoded.
pub(crate) fn decode(
    raw: &str,
    component: Component,
    offset: usize,
    name: &str,
) -> Result<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                let h = std::str::from_utf8(h).ok()?;
                if h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    u8::from_str_radix(h, 16).ok()
                } else {
                    None
                }
            });
            let Some(decoded) = hex else {
                return Err(Error::uri(format!(
                    "bad percent-encoding in {name} at byte {}: `%` must be followed by two hex digits",
                    offset + i
                )));
            };
            out.push(decoded);
            i += 3;
        } else if component.allows(b) {
            out.push(b);
            i += 1;
        } else {
            let shown = if b.is_ascii_graphic() {
                format!("`{}`", char::from(b))
            } else {
                format!("byte {b:#04x}")
            };
            return Err(Error::uri(format!(
                "{shown} at byte {} in {name} must be percent-encoded in the {} component",
                offset + i,
                component.name()
            )));
        }
    }
    Ok(out)
}
