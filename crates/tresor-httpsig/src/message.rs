//! The message view: what component values are taken from, and how
//! (RFC 9421 sections 2.1 and 2.2).

use std::borrow::Cow;

use base64ct::{Base64, Encoding};
use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use sfv::{Dictionary, FieldType, Item, List, Parser};

use crate::component::{ComponentId, DerivedComponent, invalid};
use crate::error::{Error, Result};

/// The type of a structured field (RFC 8941 section 3), needed to
/// re-serialise it for the `sf` and `key` component parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StructuredType {
    /// An sf-dictionary.
    Dictionary,
    /// An sf-list.
    List,
    /// An sf-item.
    Item,
}

/// Structured fields whose type this crate knows. Any other field used with
/// `sf` is declared with [`Message::with_structured_field`], or else parsed
/// as a Dictionary, then a List, then an Item (the first that parses).
pub const KNOWN_STRUCTURED_FIELDS: &[(&str, StructuredType)] = &[
    ("accept-signature", StructuredType::Dictionary),
    ("cache-status", StructuredType::List),
    ("cdn-cache-control", StructuredType::Dictionary),
    ("content-digest", StructuredType::Dictionary),
    ("priority", StructuredType::Dictionary),
    ("proxy-status", StructuredType::List),
    ("repr-digest", StructuredType::Dictionary),
    ("signature", StructuredType::Dictionary),
    ("signature-input", StructuredType::Dictionary),
    ("want-content-digest", StructuredType::Dictionary),
    ("want-repr-digest", StructuredType::Dictionary),
];

#[derive(Clone, Debug)]
enum Kind<'a> {
    Request { method: &'a Method, uri: &'a Uri },
    Response { status: StatusCode },
}

/// A read-only view of an HTTP request or response, from which component
/// values are computed.
///
/// For a server-side request whose URI is in origin form (`/path?query`),
/// the authority comes from the `Host` field and the scheme is `https`
/// unless set with [`Message::with_scheme`]. When the URI has an authority
/// (absolute form, HTTP/2 `:authority`) and the request also has a `Host`
/// field, the two must agree, and a request may have only one `Host` line
/// ([`Message::check_host`]): computing `@authority` or `@target-uri`, and
/// signing or verifying a request, refuse it otherwise.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    kind: Kind<'a>,
    headers: &'a HeaderMap,
    trailers: Option<&'a HeaderMap>,
    scheme: Option<String>,
    request: Option<Box<Message<'a>>>,
    field_types: Vec<(String, StructuredType)>,
}

impl<'a> Message<'a> {
    fn new(kind: Kind<'a>, headers: &'a HeaderMap) -> Self {
        Self {
            kind,
            headers,
            trailers: None,
            scheme: None,
            request: None,
            field_types: Vec::new(),
        }
    }

    /// A view of a request.
    pub fn from_request<B>(request: &'a Request<B>) -> Self {
        Self::new(
            Kind::Request {
                method: request.method(),
                uri: request.uri(),
            },
            request.headers(),
        )
    }

    /// A view of a request head.
    pub fn from_request_parts(parts: &'a http::request::Parts) -> Self {
        Self::new(
            Kind::Request {
                method: &parts.method,
                uri: &parts.uri,
            },
            &parts.headers,
        )
    }

    /// A view of a response.
    pub fn from_response<B>(response: &'a Response<B>) -> Self {
        Self::new(
            Kind::Response {
                status: response.status(),
            },
            response.headers(),
        )
    }

    /// A view of a response head.
    pub fn from_response_parts(parts: &'a http::response::Parts) -> Self {
        Self::new(
            Kind::Response {
                status: parts.status,
            },
            &parts.headers,
        )
    }

    /// For a response: the request it answers, from which components with
    /// the `req` parameter are taken.
    #[must_use]
    pub fn with_request(mut self, request: Message<'a>) -> Self {
        self.request = Some(Box::new(request));
        self
    }

    /// Overrides the scheme (`http` or `https`) of the target URI. By
    /// default the URI's own scheme is used, or `https` for origin-form URIs.
    #[must_use]
    pub fn with_scheme(mut self, scheme: &str) -> Self {
        self.scheme = Some(scheme.to_ascii_lowercase());
        self
    }

    /// The message's trailer fields (for components with `tr`).
    #[must_use]
    pub fn with_trailers(mut self, trailers: &'a HeaderMap) -> Self {
        self.trailers = Some(trailers);
        self
    }

    /// Declares the structured type of a field, for `sf` and `key`.
    #[must_use]
    pub fn with_structured_field(mut self, name: &str, ty: StructuredType) -> Self {
        self.field_types.push((name.to_ascii_lowercase(), ty));
        self
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, Kind::Request { .. })
    }

    /// The request URI (`None` for a response).
    pub fn uri(&self) -> Option<&'a Uri> {
        match self.kind {
            Kind::Request { uri, .. } => Some(uri),
            Kind::Response { .. } => None,
        }
    }

    /// The request method (`None` for a response).
    pub fn method(&self) -> Option<&'a Method> {
        match self.kind {
            Kind::Request { method, .. } => Some(method),
            Kind::Response { .. } => None,
        }
    }

    /// The response status (`None` for a request).
    pub fn status(&self) -> Option<StatusCode> {
        match self.kind {
            Kind::Request { .. } => None,
            Kind::Response { status } => Some(status),
        }
    }

    /// The header fields.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The related request of a response, if given.
    pub fn related_request(&self) -> Option<&Message<'a>> {
        self.request.as_deref()
    }

    /// The value of one covered component (RFC 9421 section 2), as it
    /// appears in the signature base after `"id": `.
    pub fn component_value(&self, id: &ComponentId) -> Result<String> {
        self.value(id).map(Cow::into_owned)
    }

    /// [`Message::component_value`], borrowing from the message where the
    /// value is a field line or a part of the URI as it is.
    pub(crate) fn value(&self, id: &ComponentId) -> Result<Cow<'_, str>> {
        let value = if id.is_req() {
            if self.is_request() {
                return Err(invalid(
                    &id.to_string(),
                    "req is only valid in a response signature",
                ));
            }
            let Some(request) = self.request.as_deref() else {
                return Err(Error::ComponentNotFound {
                    component: id.to_string(),
                });
            };
            return request.value(&id.without_req());
        } else {
            match id.derived_component() {
                Some(d) => self.derived_value(d, id)?,
                None => self.field_value(id)?,
            }
        };
        // Without an early exit, so the check is vectorised.
        if value.bytes().fold(false, |bad, b| {
            bad | (b != b'\t' && !(0x20..0x7f).contains(&b))
        }) {
            return Err(invalid(
                &id.to_string(),
                "component value contains a control or non-ASCII character",
            ));
        }
        Ok(value)
    }

    fn request_parts(&self, id: &ComponentId) -> Result<(&'a Method, &'a Uri)> {
        match self.kind {
            Kind::Request { method, uri } => Ok((method, uri)),
            Kind::Response { .. } => Err(Error::ComponentNotFound {
                component: id.to_string(),
            }),
        }
    }

    fn scheme_value<'s>(&'s self, uri: &'s Uri) -> Cow<'s, str> {
        match (&self.scheme, uri.scheme_str()) {
            (Some(s), _) => Cow::Borrowed(s),
            (None, Some(s)) => lowercase(s),
            (None, None) => Cow::Borrowed("https"),
        }
    }

    /// For a request: refuses a `Host` field that contradicts the target
    /// URI, so that what the signature covers as `@authority` is also what
    /// an application routing by `Host` sees. More than one `Host` line is
    /// refused, and so is a `Host` that differs from the URI's authority
    /// (absolute-form or HTTP/2 `:authority`), compared as `@authority` is
    /// computed: host case-insensitively, the scheme's default port
    /// omitted. A response, a request without `Host` and an origin-form
    /// request (whose authority is the `Host`) pass.
    pub fn check_host(&self) -> Result<()> {
        let Kind::Request { uri, .. } = self.kind else {
            return Ok(());
        };
        let mut hosts = self.headers.get_all(http::header::HOST).iter();
        let first = hosts.next();
        if hosts.next().is_some() {
            return Err(Error::Malformed {
                field: "Host",
                reason: "more than one host field".to_owned(),
            });
        }
        if let (Some(target), Some(host)) = (uri.authority(), first) {
            // The same text (up to case) is the same authority.
            if trim_ows(host.as_bytes()).eq_ignore_ascii_case(target.as_str().as_bytes()) {
                return Ok(());
            }
            let scheme = self.scheme_value(uri);
            let host = parse_host(host)?;
            if !same_authority(target, &host, &scheme) {
                return Err(Error::Malformed {
                    field: "Host",
                    reason: "the host field differs from the authority of the request target"
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    fn authority_value(&self, uri: &'a Uri, id: &ComponentId) -> Result<Cow<'a, str>> {
        self.check_host()?;
        let scheme = self.scheme_value(uri);
        match uri.authority() {
            Some(a) => Ok(normalized_authority(a, a.as_str(), &scheme)),
            None => {
                let mut hosts = self.headers.get_all(http::header::HOST).iter();
                let (Some(host), None) = (hosts.next(), hosts.next()) else {
                    return Err(Error::ComponentNotFound {
                        component: id.to_string(),
                    });
                };
                let parsed = parse_host(host)?;
                // Valid as an authority, so ASCII.
                let text = std::str::from_utf8(trim_ows(host.as_bytes())).unwrap_or_default();
                Ok(normalized_authority(&parsed, text, &scheme))
            }
        }
    }

    fn derived_value(&self, d: DerivedComponent, id: &ComponentId) -> Result<Cow<'_, str>> {
        if d == DerivedComponent::Status {
            return match &self.kind {
                Kind::Response { status } => Ok(Cow::Borrowed(status.as_str())),
                Kind::Request { .. } => Err(Error::ComponentNotFound {
                    component: id.to_string(),
                }),
            };
        }
        let (method, uri) = self.request_parts(id)?;
        Ok(match d {
            DerivedComponent::Method => Cow::Borrowed(method.as_str()),
            DerivedComponent::Scheme => self.scheme_value(uri),
            DerivedComponent::Authority => self.authority_value(uri, id)?,
            DerivedComponent::TargetUri => {
                let scheme = self.scheme_value(uri);
                let authority = self.authority_value(uri, id)?;
                let path = origin_form(uri);
                let mut out =
                    String::with_capacity(scheme.len() + 3 + authority.len() + path.len());
                out.push_str(&scheme);
                out.push_str("://");
                out.push_str(&authority);
                out.push_str(&path);
                Cow::Owned(out)
            }
            DerivedComponent::RequestTarget => {
                if method == Method::CONNECT {
                    uri.authority()
                        .map(|a| Cow::Borrowed(a.as_str()))
                        .ok_or_else(|| Error::ComponentNotFound {
                            component: id.to_string(),
                        })?
                } else if uri.path() == "*" {
                    Cow::Borrowed("*")
                } else {
                    origin_form(uri)
                }
            }
            DerivedComponent::Path => {
                let p = uri.path();
                if p.is_empty() {
                    Cow::Borrowed("/")
                } else {
                    Cow::Borrowed(p)
                }
            }
            DerivedComponent::Query => Cow::Owned(format!("?{}", uri.query().unwrap_or(""))),
            DerivedComponent::QueryParam => {
                let name = id.query_param_name().unwrap_or_default();
                let mut found = None;
                for (n, v) in form_urlencoded_pairs(uri.query().unwrap_or("")) {
                    if percent_encode(&n) == name {
                        if found.is_some() {
                            return Err(invalid(
                                &id.to_string(),
                                "the query parameter occurs more than once",
                            ));
                        }
                        found = Some(percent_encode(&v));
                    }
                }
                Cow::Owned(found.ok_or_else(|| Error::ComponentNotFound {
                    component: id.to_string(),
                })?)
            }
            DerivedComponent::Status => Cow::Borrowed(""),
        })
    }

    fn field_lines(&self, id: &ComponentId) -> Result<http::header::ValueIter<'a, HeaderValue>> {
        let map = if id.is_tr() {
            self.trailers.ok_or_else(|| Error::ComponentNotFound {
                component: id.to_string(),
            })?
        } else {
            self.headers
        };
        let lines = map.get_all(id.name());
        if lines.iter().next().is_none() {
            return Err(Error::ComponentNotFound {
                component: id.to_string(),
            });
        }
        Ok(lines.iter())
    }

    fn structured_type(&self, name: &str) -> Option<StructuredType> {
        if let Some((_, t)) = self.field_types.iter().rev().find(|(n, _)| n == name) {
            return Some(*t);
        }
        KNOWN_STRUCTURED_FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    fn field_value(&self, id: &ComponentId) -> Result<Cow<'a, str>> {
        let mut lines = self.field_lines(id)?;
        if id.is_bs() {
            let encoded: Vec<String> = lines
                .map(|l| format!(":{}:", Base64::encode_string(trim_ows(l.as_bytes()))))
                .collect();
            return Ok(Cow::Owned(encoded.join(", ")));
        }
        let text = |line: &'a HeaderValue| {
            std::str::from_utf8(trim_ows(line.as_bytes())).map_err(|_| {
                invalid(
                    &id.to_string(),
                    "field value is not ASCII (cover it with bs)",
                )
            })
        };
        let first = match lines.next() {
            Some(line) => text(line)?,
            None => "",
        };
        let combined = match lines.next() {
            // One field line: its value as it is.
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut combined = String::from(first);
                combined.push_str(", ");
                combined.push_str(text(second)?);
                for line in lines {
                    combined.push_str(", ");
                    combined.push_str(text(line)?);
                }
                Cow::Owned(combined)
            }
        };
        if let Some(key) = id.key() {
            if let Some(ty) = self.structured_type(id.name())
                && ty != StructuredType::Dictionary
            {
                return Err(invalid(&id.to_string(), "key requires a Dictionary field"));
            }
            let dict: Dictionary = Parser::new(&*combined)
                .parse()
                .map_err(|_| invalid(&id.to_string(), "the field is not a Dictionary"))?;
            let member = dict
                .iter()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| Error::ComponentNotFound {
                    component: id.to_string(),
                })?;
            let list: List = vec![member];
            return list
                .serialize()
                .map(Cow::Owned)
                .ok_or_else(|| invalid(&id.to_string(), "cannot serialise the member"));
        }
        if id.is_sf() {
            return self.reserialize(id, &combined).map(Cow::Owned);
        }
        Ok(combined)
    }

    fn reserialize(&self, id: &ComponentId, value: &str) -> Result<String> {
        let err = || invalid(&id.to_string(), "the field is not a valid structured field");
        let as_dict = || -> Option<String> {
            Parser::new(value)
                .parse::<Dictionary>()
                .ok()
                .and_then(|d| d.serialize())
        };
        let as_list = || -> Option<String> {
            Parser::new(value)
                .parse::<List>()
                .ok()
                .and_then(|d| d.serialize())
        };
        let as_item = || -> Option<String> {
            Parser::new(value)
                .parse::<Item>()
                .ok()
                .map(|d| d.serialize())
        };
        let out = match self.structured_type(id.name()) {
            Some(StructuredType::Dictionary) => as_dict(),
            Some(StructuredType::List) => as_list(),
            Some(StructuredType::Item) => as_item(),
            None => as_dict().or_else(as_list).or_else(as_item),
        };
        out.ok_or_else(err)
    }
}

fn parse_host(host: &HeaderValue) -> Result<Authority> {
    Authority::try_from(trim_ows(host.as_bytes())).map_err(|_| Error::Malformed {
        field: "Host",
        reason: "not a valid authority".to_owned(),
    })
}

/// `s` in ASCII lower case, borrowed when it is already.
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The port `@authority` shows: the port unless it is the scheme's default.
fn shown_port(authority: &Authority, scheme: &str) -> Option<u16> {
    let port = authority.port_u16()?;
    let default = match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    (default != Some(port)).then_some(port)
}

/// Whether two authorities have the same `@authority` value
/// ([`normalized_authority`]) under `scheme`, without building it.
fn same_authority(a: &Authority, b: &Authority, scheme: &str) -> bool {
    a.host().eq_ignore_ascii_case(b.host()) && shown_port(a, scheme) == shown_port(b, scheme)
}

/// The authority as `@authority` has it (RFC 9421 section 2.2.3): the host
/// in lower case, the port unless it is the scheme's default. `text` is the
/// authority as written; it is returned as it is when it is that already.
fn normalized_authority<'t>(authority: &Authority, text: &'t str, scheme: &str) -> Cow<'t, str> {
    let host = authority.host();
    let port = shown_port(authority, scheme);
    if port.is_none() && text == host && !host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(text);
    }
    let mut out = host.to_ascii_lowercase();
    if let Some(port) = port {
        out.push(':');
        out.push_str(&port.to_string());
    }
    Cow::Owned(out)
}

/// Path and query of the URI, as in an origin-form request line.
fn origin_form(uri: &Uri) -> Cow<'_, str> {
    match uri.path_and_query() {
        Some(pq) if !pq.as_str().is_empty() => {
            if pq.as_str().starts_with('/') || pq.as_str() == "*" {
                Cow::Borrowed(pq.as_str())
            } else {
                Cow::Owned(format!("/{}", pq.as_str()))
            }
        }
        _ => Cow::Borrowed("/"),
    }
}

fn trim_ows(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Parses `application/x-www-form-urlencoded` (WHATWG URL section 5.1),
/// as RFC 9421 section 2.2.8 requires for `@query-param`: split on `&`,
/// skip empty sequences, split at the first `=`, `+` to space,
/// percent-decode, then "UTF-8 decode without BOM", which replaces every
/// invalid sequence with U+FFFD. So `%FF`, `%C3` and `%EF%BF%BD` all
/// decode to U+FFFD, and their `@query-param` values are all `%EF%BF%BD`:
/// one signature covers each of them. [`query_is_utf8`] tells whether a
/// query avoids that replacement (see `Policy::require_utf8_query`).
pub(crate) fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query_pieces(query)
        .map(|(n, v)| (form_decode(n), form_decode(v)))
        .collect()
}

/// The raw name and value of each `&`-separated, non-empty sequence.
fn query_pieces(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('=').unwrap_or((s, "")))
}

/// Whether every query parameter name and value percent-decodes to valid
/// UTF-8, so that the `application/x-www-form-urlencoded` parsing of
/// [`form_urlencoded_pairs`] replaces nothing.
pub(crate) fn query_is_utf8(query: &str) -> bool {
    query_pieces(query).all(|(n, v)| {
        std::str::from_utf8(&form_decode_bytes(n)).is_ok()
            && std::str::from_utf8(&form_decode_bytes(v)).is_ok()
    })
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn form_decode(s: &str) -> String {
    String::from_utf8_lossy(&form_decode_bytes(s)).into_owned()
}

/// `+` to space and percent-decoding (a `%` not followed by two hex
/// digits stays as it is), on bytes.
fn form_decode_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => out.push(b' '),
            b'%' => match tail {
                [h, l, after @ ..] => match (hex_val(*h), hex_val(*l)) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        rest = after;
                    }
                    _ => out.push(b'%'),
                },
                _ => out.push(b'%'),
            },
            _ => out.push(b),
        }
    }
    out
}

/// Percent-encodes with the `application/x-www-form-urlencoded`
/// percent-encode set, space as `%20` (RFC 9421 section 2.2.8): only ASCII
/// alphanumerics and `*-._` stay as they are.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_utf8_check() {
        for ok in [
            "", "a=1&b=2", "x=%C3%A9", "%C3%A9=x", "x=+%20", "x=%", "x=%zz", "&&x",
        ] {
            assert!(query_is_utf8(ok), "{ok}");
        }
        for bad in ["x=%FF", "x=%C3", "%FE=1", "a=1&b=%C3%28", "x=%ED%A0%80"] {
            assert!(!query_is_utf8(bad), "{bad}");
        }
    }
}
