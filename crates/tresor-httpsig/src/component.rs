//! Component identifiers (RFC 9421 section 2): the names of the message
//! parts a signature covers, with their parameters.
//!
//! An identifier is serialised as an sf-string with parameters, exactly as
//! it appears inside `Signature-Input`, e.g. `"@query-param";name="Pet"` or
//! `"example-dict";key="a"`. A [`ComponentId`] is valid once constructed:
//! unknown derived names, unknown parameters, duplicate parameters and the
//! combinations RFC 9421 forbids are rejected with
//! [`Error::InvalidComponent`].

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use sfv::{BareItem, Item, Parser, StringRef};

use crate::error::{Error, Result};

/// A derived component (RFC 9421 section 2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DerivedComponent {
    /// `@method`: the request method, case preserved.
    Method,
    /// `@target-uri`: the full absolute target URI.
    TargetUri,
    /// `@authority`: host (lowercase) and non-default port.
    Authority,
    /// `@scheme`: the URI scheme, lowercase.
    Scheme,
    /// `@request-target`: the request target as in the request line.
    RequestTarget,
    /// `@path`: the absolute path (`/` when empty).
    Path,
    /// `@query`: the query with its leading `?` (`?` alone when absent).
    Query,
    /// `@query-param`: one named query parameter (needs the `name` parameter).
    QueryParam,
    /// `@status`: the three-digit status code of a response.
    Status,
}

impl DerivedComponent {
    /// Every derived component.
    pub const ALL: [DerivedComponent; 9] = [
        DerivedComponent::Method,
        DerivedComponent::TargetUri,
        DerivedComponent::Authority,
        DerivedComponent::Scheme,
        DerivedComponent::RequestTarget,
        DerivedComponent::Path,
        DerivedComponent::Query,
        DerivedComponent::QueryParam,
        DerivedComponent::Status,
    ];

    /// The component name, with its `@`.
    pub fn name(self) -> &'static str {
        match self {
            DerivedComponent::Method => "@method",
            DerivedComponent::TargetUri => "@target-uri",
            DerivedComponent::Authority => "@authority",
            DerivedComponent::Scheme => "@scheme",
            DerivedComponent::RequestTarget => "@request-target",
            DerivedComponent::Path => "@path",
            DerivedComponent::Query => "@query",
            DerivedComponent::QueryParam => "@query-param",
            DerivedComponent::Status => "@status",
        }
    }

    /// Whether the component is taken from a request (all but `@status`).
    pub fn is_request_component(self) -> bool {
        self != DerivedComponent::Status
    }

    fn from_name(name: &str) -> Option<Self> {
        DerivedComponent::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// One parameter of a component identifier (RFC 9421 section 2.1 and 6.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ComponentParam {
    /// `sf`: re-serialise the field value as a structured field.
    Sf,
    /// `key="…"`: one member of a Dictionary structured field.
    Key(String),
    /// `bs`: each field line as a Byte Sequence.
    Bs,
    /// `req`: the component of the request related to a response.
    Req,
    /// `tr`: the field from the trailers.
    Tr,
    /// `name="…"`: the query parameter name of `@query-param`.
    Name(String),
}

impl ComponentParam {
    pub(crate) fn key(&self) -> &'static str {
        match self {
            ComponentParam::Sf => "sf",
            ComponentParam::Key(_) => "key",
            ComponentParam::Bs => "bs",
            ComponentParam::Req => "req",
            ComponentParam::Tr => "tr",
            ComponentParam::Name(_) => "name",
        }
    }
}

/// A component identifier: a derived component or a field name, with
/// parameters in the order given.
///
/// Two identifiers are equal when they have the same name and the same set
/// of parameters (parameter order does not change what is covered).
/// [`Display`](fmt::Display) gives the serialised form used in
/// `Signature-Input` and in the signature base.
#[derive(Clone, Debug)]
pub struct ComponentId {
    /// Borrowed for derived components and the common field names, so the
    /// identifiers a signer or a policy builds on every message cost no
    /// allocation.
    name: Cow<'static, str>,
    derived: Option<DerivedComponent>,
    params: Vec<ComponentParam>,
}

impl ComponentId {
    /// A derived component without parameters. `@query-param` needs a name:
    /// use [`ComponentId::query_param`].
    pub fn derived(component: DerivedComponent) -> Result<Self> {
        if component == DerivedComponent::QueryParam {
            return Err(invalid(
                component.name(),
                "@query-param needs a name parameter",
            ));
        }
        Ok(Self::known(component))
    }

    fn known(component: DerivedComponent) -> Self {
        Self {
            name: Cow::Borrowed(component.name()),
            derived: Some(component),
            params: Vec::new(),
        }
    }

    /// `@method`.
    pub fn method() -> Self {
        Self::known(DerivedComponent::Method)
    }

    /// `@target-uri`.
    pub fn target_uri() -> Self {
        Self::known(DerivedComponent::TargetUri)
    }

    /// `@authority`.
    pub fn authority() -> Self {
        Self::known(DerivedComponent::Authority)
    }

    /// `@scheme`.
    pub fn scheme() -> Self {
        Self::known(DerivedComponent::Scheme)
    }

    /// `@request-target`.
    pub fn request_target() -> Self {
        Self::known(DerivedComponent::RequestTarget)
    }

    /// `@path`.
    pub fn path() -> Self {
        Self::known(DerivedComponent::Path)
    }

    /// `@query`.
    pub fn query() -> Self {
        Self::known(DerivedComponent::Query)
    }

    /// `@status`.
    pub fn status() -> Self {
        Self::known(DerivedComponent::Status)
    }

    /// `@query-param;name="…"`. `name` is the parameter name in its
    /// percent-encoded form (RFC 9421 section 2.2.8), e.g. `fa%C3%A7ade`.
    pub fn query_param(name: &str) -> Result<Self> {
        Self::known(DerivedComponent::QueryParam).with(ComponentParam::Name(name.to_owned()))
    }

    /// An HTTP field by name. The name must be a valid field name; it is
    /// lowercased.
    pub fn field(name: &str) -> Result<Self> {
        if let Some(common) = COMMON_FIELDS
            .iter()
            .find(|common| common.eq_ignore_ascii_case(name))
        {
            return Ok(Self {
                name: Cow::Borrowed(common),
                derived: None,
                params: Vec::new(),
            });
        }
        let lower = name.to_ascii_lowercase();
        if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(invalid(name, "not a valid field name"));
        }
        Ok(Self {
            name: Cow::Owned(lower),
            derived: None,
            params: Vec::new(),
        })
    }

    /// A field without parameters from a name known to be valid and
    /// lowercase (what [`ComponentId::field`] gives for it, without the
    /// lookup).
    pub(crate) const fn known_field(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            derived: None,
            params: Vec::new(),
        }
    }

    /// Adds a parameter, checking that the combination is allowed.
    pub fn with(mut self, param: ComponentParam) -> Result<Self> {
        self.params.push(param);
        self.validate()?;
        Ok(self)
    }

    /// Adds `sf`.
    pub fn with_sf(self) -> Result<Self> {
        self.with(ComponentParam::Sf)
    }

    /// Adds `key="…"`.
    pub fn with_key(self, key: &str) -> Result<Self> {
        self.with(ComponentParam::Key(key.to_owned()))
    }

    /// Adds `bs`.
    pub fn with_bs(self) -> Result<Self> {
        self.with(ComponentParam::Bs)
    }

    /// Adds `req`.
    pub fn with_req(self) -> Result<Self> {
        self.with(ComponentParam::Req)
    }

    /// Adds `tr`.
    pub fn with_tr(self) -> Result<Self> {
        self.with(ComponentParam::Tr)
    }

    /// Parses the serialised form, e.g. `"@query-param";name="Pet"` or
    /// `"content-digest"`.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() > MAX_ID_LEN {
            return Err(Error::LimitExceeded {
                what: "component identifier length",
                limit: MAX_ID_LEN,
            });
        }
        let item: Item = Parser::new(s)
            .with_version(sfv::Version::Rfc8941)
            .parse_item()
            .map_err(|e| invalid(s, &format!("not an sf-string with parameters: {e}")))?;
        // Quote the caller's text, not the parsed item, in errors.
        Self::from_item(&item).map_err(|e| match e {
            Error::InvalidComponent { reason, .. } => invalid(s, &reason),
            other => other,
        })
    }

    /// Builds an identifier from a parsed structured-field item (a member of
    /// a `Signature-Input` inner list).
    pub(crate) fn from_item(item: &Item) -> Result<Self> {
        let Some(name) = item.bare_item.as_string() else {
            return Err(invalid(
                "(not a string)",
                "a component identifier must be an sf-string, e.g. \"date\"",
            ));
        };
        let name = name.as_str();
        let mut id = Self::named(name)?;
        for (key, value) in &item.params {
            let param = match (key.as_str(), value) {
                ("sf", BareItem::Boolean(true)) => ComponentParam::Sf,
                ("bs", BareItem::Boolean(true)) => ComponentParam::Bs,
                ("req", BareItem::Boolean(true)) => ComponentParam::Req,
                ("tr", BareItem::Boolean(true)) => ComponentParam::Tr,
                ("key", BareItem::String(s)) => ComponentParam::Key(s.as_str().to_owned()),
                ("name", BareItem::String(s)) => ComponentParam::Name(s.as_str().to_owned()),
                ("sf" | "bs" | "req" | "tr", _) => {
                    return Err(invalid(name, &format!("parameter {key} must be true")));
                }
                ("key" | "name", _) => {
                    return Err(invalid(name, &format!("parameter {key} must be a string")));
                }
                _ => {
                    return Err(invalid(
                        name,
                        &format!("unknown parameter {}", truncate(key.as_str())),
                    ));
                }
            };
            id.params.push(param);
        }
        id.validate()?;
        Ok(id)
    }

    /// Builds an identifier from the name of an sf-string and parameters
    /// already taken from its sf-parameters (each key once, each of the
    /// type [`ComponentId::from_item`] accepts): the fast `Signature-Input`
    /// parser's way in, with the same checks as `from_item`.
    pub(crate) fn from_parts(name: &str, params: Vec<ComponentParam>) -> Result<Self> {
        let mut id = Self::named(name)?;
        id.params = params;
        id.validate()?;
        Ok(id)
    }

    /// The identifier for `name` without parameters: a derived component
    /// (`@…`) or a lowercase field name.
    fn named(name: &str) -> Result<Self> {
        if name.starts_with('@') {
            match DerivedComponent::from_name(name) {
                Some(d) => Ok(Self::known(d)),
                None if name == "@signature-params" => {
                    Err(invalid(name, "@signature-params cannot be covered"))
                }
                None => Err(invalid(name, "unknown derived component")),
            }
        } else {
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(invalid(name, "field names must be lowercase"));
            }
            // Lowercase already: a common name is found as is.
            match COMMON_FIELDS.iter().find(|common| **common == name) {
                Some(common) => Ok(Self {
                    name: Cow::Borrowed(common),
                    derived: None,
                    params: Vec::new(),
                }),
                None => Self::field(name),
            }
        }
    }

    fn validate(&self) -> Result<()> {
        let err = |reason: &str| Err(invalid(&self.to_string(), reason));
        let mut seen: Vec<&'static str> = Vec::with_capacity(self.params.len());
        for p in &self.params {
            if seen.contains(&p.key()) {
                return err(&format!("duplicate parameter {}", p.key()));
            }
            seen.push(p.key());
            match p {
                ComponentParam::Key(s) | ComponentParam::Name(s)
                    if StringRef::from_str(s).is_err() =>
                {
                    return err(&format!("parameter {} must be printable ASCII", p.key()));
                }
                _ => {}
            }
        }
        let has = |k: &str| seen.contains(&k);
        match self.derived {
            Some(d) => {
                if has("sf") || has("key") || has("bs") || has("tr") {
                    return err("sf, key, bs and tr apply to fields only");
                }
                if d == DerivedComponent::QueryParam {
                    if !has("name") {
                        return err("@query-param needs a name parameter");
                    }
                } else if has("name") {
                    return err("name applies to @query-param only");
                }
                if d == DerivedComponent::Status && has("req") {
                    return err("@status cannot be taken from the request");
                }
            }
            None => {
                if has("name") {
                    return err("name applies to @query-param only");
                }
                if has("bs") && (has("sf") || has("key")) {
                    return err("bs cannot be combined with sf or key");
                }
            }
        }
        Ok(())
    }

    /// The component name: `@method`, `@query-param`, or a lowercase field
    /// name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The derived component, or `None` for a field.
    pub fn derived_component(&self) -> Option<DerivedComponent> {
        self.derived
    }

    /// Whether this identifies an HTTP field (not a derived component).
    pub fn is_field(&self) -> bool {
        self.derived.is_none()
    }

    /// The parameters, in the order given.
    pub fn params(&self) -> &[ComponentParam] {
        &self.params
    }

    /// Whether the `sf` parameter is present.
    pub fn is_sf(&self) -> bool {
        self.params.contains(&ComponentParam::Sf)
    }

    /// Whether the `bs` parameter is present.
    pub fn is_bs(&self) -> bool {
        self.params.contains(&ComponentParam::Bs)
    }

    /// Whether the `req` parameter is present.
    pub fn is_req(&self) -> bool {
        self.params.contains(&ComponentParam::Req)
    }

    /// Whether the `tr` parameter is present.
    pub fn is_tr(&self) -> bool {
        self.params.contains(&ComponentParam::Tr)
    }

    /// The `key` parameter.
    pub fn key(&self) -> Option<&str> {
        self.params.iter().find_map(|p| match p {
            ComponentParam::Key(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// The `name` parameter of `@query-param`.
    pub fn query_param_name(&self) -> Option<&str> {
        self.params.iter().find_map(|p| match p {
            ComponentParam::Name(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// The same identifier without `req` (the component as the related
    /// request names it).
    pub(crate) fn without_req(&self) -> Self {
        Self {
            name: self.name.clone(),
            derived: self.derived,
            params: self
                .params
                .iter()
                .filter(|p| **p != ComponentParam::Req)
                .cloned()
                .collect(),
        }
    }

    /// The identifier as a structured-field item (what the direct
    /// serialisation in [`ComponentId::write_to`] is tested against).
    #[cfg(test)]
    pub(crate) fn to_item(&self) -> Result<Item> {
        use sfv::{KeyRef, Parameters};

        let mut params = Parameters::new();
        for p in &self.params {
            let value = match p {
                ComponentParam::Sf
                | ComponentParam::Bs
                | ComponentParam::Req
                | ComponentParam::Tr => BareItem::Boolean(true),
                // Validated as sf-strings on construction.
                ComponentParam::Key(s) | ComponentParam::Name(s) => BareItem::String(
                    sfv::String::from_string(s.clone())
                        .map_err(|_| invalid(&self.name, "parameter is not an sf-string"))?,
                ),
            };
            let key = KeyRef::from_str(p.key())
                .map_err(|_| invalid(&self.name, "parameter name is not an sf-key"))?;
            params.insert(key.to_owned(), value);
        }
        let name = sfv::String::from_string(self.name.to_string())
            .map_err(|_| invalid(&self.name, "name is not an sf-string"))?;
        Ok(Item::with_params(BareItem::String(name), params))
    }

    fn canonical_params(&self) -> Vec<&ComponentParam> {
        let mut v: Vec<&ComponentParam> = self.params.iter().collect();
        v.sort();
        v
    }

    /// Writes the serialised form (as [`Display`](fmt::Display) shows it,
    /// and as an sf-string with parameters serialises) to `out`.
    pub(crate) fn write_to<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        // Names are validated on construction (derived names are constants,
        // field names are tokens), so they need no escaping.
        out.write_char('"')?;
        out.write_str(&self.name)?;
        out.write_char('"')?;
        for p in &self.params {
            out.write_char(';')?;
            out.write_str(p.key())?;
            if let ComponentParam::Key(s) | ComponentParam::Name(s) = p {
                out.write_str("=\"")?;
                // Validated as printable ASCII on construction: only `"`
                // and `\` are escaped.
                let mut rest = s.as_str();
                while let Some(i) = rest.find(['"', '\\']) {
                    let (before, after) = rest.split_at(i);
                    out.write_str(before)?;
                    out.write_char('\\')?;
                    let mut chars = after.chars();
                    if let Some(c) = chars.next() {
                        out.write_char(c)?;
                    }
                    rest = chars.as_str();
                }
                out.write_str(rest)?;
                out.write_char('"')?;
            }
        }
        Ok(())
    }
}

const MAX_ID_LEN: usize = 1024;

/// Field names that [`ComponentId::field`] borrows instead of allocating:
/// those the default policy covers and a few other common ones. Each is a
/// valid, lowercase field name.
const COMMON_FIELDS: &[&str] = &[
    "content-digest",
    "content-type",
    "content-length",
    "date",
    "host",
    "authorization",
    "cache-control",
    "repr-digest",
    "signature",
    "signature-input",
];

impl PartialEq for ComponentId {
    fn eq(&self, other: &Self) -> bool {
        // A derived component's name follows from it.
        self.derived == other.derived
            && (self.derived.is_some() || self.name == other.name)
            && self.params.len() == other.params.len()
            // Same order (the common case, and always with no parameters),
            // else the same set.
            && (self.params == other.params
                || self.canonical_params() == other.canonical_params())
    }
}

impl Eq for ComponentId {}

impl Hash for ComponentId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        // Hashing the sorted parameters; when they are sorted already the
        // slice hashes exactly as the sorted copy would.
        if self.params.is_sorted() {
            self.params.hash(state);
        } else {
            self.canonical_params().hash(state);
        }
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl std::str::FromStr for ComponentId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ComponentId::parse(s)
    }
}

pub(crate) fn invalid(component: &str, reason: &str) -> Error {
    Error::InvalidComponent {
        component: truncate(component),
        reason: reason.to_owned(),
    }
}

/// Truncates attacker-controlled text for error messages.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            r#""@method""#,
            r#""@query-param";name="Pet""#,
            r#""example-dict";key="a""#,
            r#""example-dict";sf"#,
            r#""example-header";bs"#,
            r#""@authority";req"#,
            r#""expires";tr"#,
            r#""content-digest";req;sf"#,
            r#""@query-param";name="a\"b""#,
        ] {
            let id = ComponentId::parse(s).unwrap();
            assert_eq!(id.to_string(), s);
        }
    }

    #[test]
    fn errors_quote_the_input_not_the_parsed_item() {
        let err = ComponentId::parse("date").unwrap_err().to_string();
        assert!(err.contains("date") && !err.contains("Token"), "{err}");
    }

    #[test]
    fn illegal_combinations() {
        for s in [
            r#""@method";sf"#,
            r#""@query-param""#,
            r#""@path";name="x""#,
            r#""x";sf;bs"#,
            r#""x";key="a";bs"#,
            r#""x";foo"#,
            r#""x";sf=?0"#,
            r#""x";key=1"#,
            r#""@unknown""#,
            r#""@signature-params""#,
            r#""@status";req"#,
            r#""Content-Type""#,
            r#""bad header""#,
            r#"token"#,
            r#""""#,
        ] {
            assert!(
                matches!(ComponentId::parse(s), Err(Error::InvalidComponent { .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn equality_ignores_parameter_order() {
        let a = ComponentId::parse(r#""x";sf;req"#).unwrap();
        let b = ComponentId::parse(r#""x";req;sf"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, ComponentId::parse(r#""x";sf"#).unwrap());
    }
}
