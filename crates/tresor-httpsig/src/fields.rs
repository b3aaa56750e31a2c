//! The `Signature-Input` and `Signature` fields (RFC 9421 section 4):
//! parsing with limits, selecting a signature, appending a new one.

use std::borrow::Cow;
use std::collections::HashSet;

use base64ct::{Base64, Encoding};
use http::{HeaderMap, HeaderName, HeaderValue};
use sfv::visitor::{DictionaryVisitor, EntryVisitor};
use sfv::{BareItem, Dictionary, KeyRef, ListEntry, Parser};

use crate::component::{ComponentId, truncate};
use crate::error::{Error, Result};
use crate::params::SignatureParams;

pub(crate) mod fast;

/// The `Signature-Input` field name.
pub const SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
/// The `Signature` field name.
pub const SIGNATURE: HeaderName = HeaderName::from_static("signature");

/// Size and count limits applied before and while parsing signature
/// fields, so a hostile message costs bounded work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Maximum bytes of each of `Signature-Input` and `Signature`, all
    /// field lines together (default 8192).
    pub max_field_bytes: usize,
    /// Maximum number of signatures (dictionary members) per field
    /// (default 8).
    pub max_signatures: usize,
    /// Maximum number of covered components per signature (default 32).
    pub max_components: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_field_bytes: 8192,
            max_signatures: 8,
            max_components: 32,
        }
    }
}

/// One member of `Signature-Input`: a label, the covered components and
/// the signature parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureInput {
    label: String,
    components: Vec<ComponentId>,
    params: SignatureParams,
}

impl SignatureInput {
    /// The signature's label (the dictionary key).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The covered components, in order.
    pub fn components(&self) -> &[ComponentId] {
        &self.components
    }

    /// The signature parameters.
    pub fn params(&self) -> &SignatureParams {
        &self.params
    }

    /// The label and the covered components, moved out.
    pub(crate) fn into_label_and_components(self) -> (String, Vec<ComponentId>) {
        (self.label, self.components)
    }
}

/// A signature found on a message: its input and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageSignature {
    input: SignatureInput,
    signature: Vec<u8>,
}

impl MessageSignature {
    /// The `Signature-Input` member.
    pub fn input(&self) -> &SignatureInput {
        &self.input
    }

    /// The signature bytes from the `Signature` field.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The input and the signature bytes, moved out.
    pub(crate) fn into_parts(self) -> (SignatureInput, Vec<u8>) {
        (self.input, self.signature)
    }
}

/// How to choose one signature among those on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector {
    /// The first signature in `Signature-Input`.
    First,
    /// The signature with this label.
    Label(String),
    /// The first signature whose `tag` parameter is this value.
    Tag(String),
}

impl Selector {
    fn describe(&self) -> String {
        match self {
            Selector::First => "at all".to_owned(),
            Selector::Label(l) => format!("with label {:?}", truncate(l)),
            Selector::Tag(t) => format!("with tag {:?}", truncate(t)),
        }
    }
}

/// A dictionary visitor that rejects duplicate keys (RFC 8941 would keep
/// the last one silently; two signatures with one label are an error here).
#[derive(Default)]
struct StrictDict {
    dict: Dictionary,
    duplicate: Option<String>,
    max_members: usize,
    too_many: bool,
}

#[derive(Debug)]
struct Rejected;

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rejected")
    }
}

impl std::error::Error for Rejected {}

impl<'de> DictionaryVisitor<'de> for &mut StrictDict {
    type Out = ();
    type Error = Rejected;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        if self.dict.contains_key(key) {
            self.duplicate = Some(key.as_str().to_owned());
            return Err(Rejected);
        }
        if self.dict.len() >= self.max_members {
            self.too_many = true;
            return Err(Rejected);
        }
        DictionaryVisitor::entry(&mut self.dict, key).map_err(|never| match never {})
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// All field lines of `name`, joined with `, ` (borrowed when there is one
/// line), or `None` when there is none.
fn combined<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
    field: &'static str,
    limits: &Limits,
) -> Result<Option<Cow<'h, str>>> {
    let mut out: Option<Cow<'h, str>> = None;
    for line in headers.get_all(name) {
        let text = std::str::from_utf8(line.as_bytes()).map_err(|_| Error::Malformed {
            field,
            reason: "not ASCII".to_owned(),
        })?;
        let len = out.as_ref().map_or(0, |o| o.len());
        if len + text.len() + 2 > limits.max_field_bytes {
            return Err(Error::LimitExceeded {
                what: field,
                limit: limits.max_field_bytes,
            });
        }
        match &mut out {
            None => out = Some(Cow::Borrowed(text)),
            Some(joined) => {
                let joined = joined.to_mut();
                joined.push_str(", ");
                joined.push_str(text);
            }
        }
    }
    Ok(out)
}

fn parse_dict(text: &str, field: &'static str, limits: &Limits) -> Result<Dictionary> {
    let mut visitor = StrictDict {
        max_members: limits.max_signatures,
        ..StrictDict::default()
    };
    let result = Parser::new(text)
        .with_version(sfv::Version::Rfc8941)
        .parse_dictionary_with_visitor(&mut visitor);
    if let Some(label) = visitor.duplicate {
        return Err(Error::InvalidLabel {
            label: truncate(&label),
            reason: format!("appears more than once in {field}"),
        });
    }
    if visitor.too_many {
        return Err(Error::LimitExceeded {
            what: "number of signatures",
            limit: limits.max_signatures,
        });
    }
    result.map_err(|e| Error::Malformed {
        field,
        reason: e.to_string(),
    })?;
    Ok(visitor.dict)
}

/// Parses every member of the message's `Signature-Input` (all field lines
/// combined). An absent field gives an empty list.
pub fn parse_signature_inputs(headers: &HeaderMap, limits: &Limits) -> Result<Vec<SignatureInput>> {
    let Some(text) = combined(headers, &SIGNATURE_INPUT, "Signature-Input", limits)? else {
        return Ok(Vec::new());
    };
    match fast::signature_inputs(&text, limits) {
        Some(inputs) => Ok(inputs),
        None => signature_inputs_with_sfv(&text, limits),
    }
}

impl SignatureInput {
    /// [`parse_signature_inputs`] through the `sfv` crate only, without
    /// the fast path: the reference the fast path is tested against.
    #[doc(hidden)]
    pub fn parse_all_with_sfv(headers: &HeaderMap, limits: &Limits) -> Result<Vec<Self>> {
        match combined(headers, &SIGNATURE_INPUT, "Signature-Input", limits)? {
            Some(text) => signature_inputs_with_sfv(&text, limits),
            None => Ok(Vec::new()),
        }
    }

    /// [`parse_signatures`] through the `sfv` crate only, without the fast
    /// path: the reference the fast path is tested against.
    #[doc(hidden)]
    pub fn parse_signatures_with_sfv(
        headers: &HeaderMap,
        limits: &Limits,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        match combined(headers, &SIGNATURE, "Signature", limits)? {
            Some(text) => signatures_with_sfv(&text, limits),
            None => Ok(Vec::new()),
        }
    }
}

/// The members of a `Signature-Input` value, parsed with `sfv`.
fn signature_inputs_with_sfv(text: &str, limits: &Limits) -> Result<Vec<SignatureInput>> {
    let dict = parse_dict(text, "Signature-Input", limits)?;
    let mut out = Vec::with_capacity(dict.len());
    for (label, entry) in dict {
        let ListEntry::InnerList(list) = entry else {
            return Err(Error::Malformed {
                field: "Signature-Input",
                reason: format!("member {} is not an inner list", truncate(label.as_str())),
            });
        };
        if list.items.len() > limits.max_components {
            return Err(Error::LimitExceeded {
                what: "number of covered components",
                limit: limits.max_components,
            });
        }
        let components = list
            .items
            .iter()
            .map(ComponentId::from_item)
            .collect::<Result<Vec<_>>>()?;
        check_unique(&components)?;
        out.push(SignatureInput {
            label: label.into(),
            components,
            params: SignatureParams::from_sfv(list.params)?,
        });
    }
    Ok(out)
}

/// Rejects a component list that names one identifier twice.
pub(crate) fn check_unique(components: &[ComponentId]) -> Result<()> {
    let twice = |c: &ComponentId| Error::InvalidComponent {
        component: c.to_string(),
        reason: "covered more than once".to_owned(),
    };
    // A few components (the usual case): compare each with those before it,
    // without a hash set.
    if components.len() <= 16 {
        for (i, c) in components.iter().enumerate() {
            if components.iter().take(i).any(|earlier| earlier == c) {
                return Err(twice(c));
            }
        }
        return Ok(());
    }
    let mut seen = HashSet::with_capacity(components.len());
    for c in components {
        if !seen.insert(c) {
            return Err(twice(c));
        }
    }
    Ok(())
}

/// Parses every member of the message's `Signature` field: label and
/// signature bytes.
pub fn parse_signatures(headers: &HeaderMap, limits: &Limits) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(text) = combined(headers, &SIGNATURE, "Signature", limits)? else {
        return Ok(Vec::new());
    };
    match fast::signatures(&text, limits) {
        Some(signatures) => Ok(signatures),
        None => signatures_with_sfv(&text, limits),
    }
}

/// The members of a `Signature` value, parsed with `sfv`.
fn signatures_with_sfv(text: &str, limits: &Limits) -> Result<Vec<(String, Vec<u8>)>> {
    let dict = parse_dict(text, "Signature", limits)?;
    let mut out = Vec::with_capacity(dict.len());
    for (label, entry) in dict {
        match entry {
            ListEntry::Item(item) => match item.bare_item {
                BareItem::ByteSequence(bytes) => {
                    out.push((label.into(), bytes));
                }
                _ => {
                    return Err(Error::Malformed {
                        field: "Signature",
                        reason: format!(
                            "member {} is not a byte sequence",
                            truncate(label.as_str())
                        ),
                    });
                }
            },
            ListEntry::InnerList(_) => {
                return Err(Error::Malformed {
                    field: "Signature",
                    reason: format!("member {} is not a byte sequence", truncate(label.as_str())),
                });
            }
        }
    }
    Ok(out)
}

/// Selects one signature on the message and pairs its `Signature-Input`
/// member with its `Signature` member.
pub fn select_signature(
    headers: &HeaderMap,
    selector: &Selector,
    limits: &Limits,
) -> Result<MessageSignature> {
    let inputs = parse_signature_inputs(headers, limits)?;
    let signatures = parse_signatures(headers, limits)?;
    let input = match selector {
        Selector::First => inputs.into_iter().next(),
        Selector::Label(label) => inputs.into_iter().find(|i| &i.label == label),
        Selector::Tag(tag) => inputs
            .into_iter()
            .find(|i| i.params.tag() == Some(tag.as_str())),
    };
    let Some(input) = input else {
        return Err(Error::SignatureNotFound {
            selector: selector.describe(),
        });
    };
    let Some((_, signature)) = signatures.into_iter().find(|(l, _)| *l == input.label) else {
        return Err(Error::InvalidLabel {
            label: truncate(&input.label),
            reason: "in Signature-Input but not in Signature".to_owned(),
        });
    };
    Ok(MessageSignature { input, signature })
}

/// Appends a signature to the message's fields as new field lines
/// `Signature-Input: label=(…);…` and `Signature: label=:…:`. The label
/// must be a valid sf-key not already used on the message.
///
/// `inner_list` is the serialised components and parameters
/// ([`serialize_signature_params`](crate::serialize_signature_params)), as the end of the signature base has
/// them.
pub(crate) fn append_signature(
    headers: &mut HeaderMap,
    label: &str,
    inner_list: &str,
    signature: &[u8],
    limits: &Limits,
) -> Result<()> {
    if KeyRef::from_str(label).is_err() {
        return Err(Error::InvalidLabel {
            label: truncate(label),
            reason: "not a valid structured-field key".to_owned(),
        });
    }
    let used = parse_signature_inputs(headers, limits)?
        .into_iter()
        .map(|i| i.label)
        .chain(
            parse_signatures(headers, limits)?
                .into_iter()
                .map(|(l, _)| l),
        );
    for l in used {
        if l == label {
            return Err(Error::InvalidLabel {
                label: truncate(label),
                reason: "already used on this message".to_owned(),
            });
        }
    }
    let mut input = String::with_capacity(label.len() + 1 + inner_list.len());
    input.push_str(label);
    input.push('=');
    input.push_str(inner_list);
    let encoded_len = Base64::encoded_len(signature);
    let mut sig = String::with_capacity(label.len() + 3 + encoded_len);
    sig.push_str(label);
    sig.push_str("=:");
    let mut buf = [0u8; 1024];
    match Base64::encode(signature, &mut buf) {
        Ok(encoded) => sig.push_str(encoded),
        Err(_) => sig.push_str(&Base64::encode_string(signature)),
    }
    sig.push(':');
    let to_value = |s: String| HeaderValue::try_from(s).map_err(Error::signing);
    headers.append(SIGNATURE_INPUT, to_value(input)?);
    headers.append(SIGNATURE, to_value(sig)?);
    Ok(())
}
