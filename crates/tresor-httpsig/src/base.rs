//! The signature base (RFC 9421 section 2.5): the exact bytes that are
//! signed and verified.
//!
//! For each covered component, in order, one line
//! `"<identifier>": <value>` followed by LF; then the line
//! `"@signature-params": <inner list>` with no trailing LF. Component values
//! may not contain LF, CR or other control or non-ASCII characters (use
//! `bs` for such fields), and no identifier may be covered twice.

use std::fmt;

use crate::component::{ComponentId, truncate};
use crate::error::{Error, Result};
use crate::fields::{Limits, check_unique, parse_signature_inputs};
use crate::message::Message;
use crate::params::{SignatureParams, write_signature_params};

/// A computed signature base. Its bytes are what a key signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureBase {
    text: String,
}

impl SignatureBase {
    /// The base as text (always ASCII).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The bytes to sign or verify.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The base as an owned string.
    pub fn into_string(self) -> String {
        self.text
    }
}

impl fmt::Display for SignatureBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Computes the signature base for `components` and `params` over
/// `message` (the signer's view, and the verifier's once it has parsed
/// `Signature-Input`).
pub fn signature_base(
    message: &Message<'_>,
    components: &[ComponentId],
    params: &SignatureParams,
) -> Result<SignatureBase> {
    build_signature_base(message, components, params).map(|(base, _)| base)
}

/// [`signature_base`], and where in it the serialised inner list of the
/// `@signature-params` line starts (the rest of the base, which is also
/// the value of the signature's `Signature-Input` member).
///
/// The base is written into one buffer: identifiers and parameters are
/// serialised in place, and component values are borrowed from the message
/// where they are a field line or a part of the URI as it is.
pub(crate) fn build_signature_base(
    message: &Message<'_>,
    components: &[ComponentId],
    params: &SignatureParams,
) -> Result<(SignatureBase, usize)> {
    const PARAMS_LINE: &str = "\"@signature-params\": ";
    check_unique(components)?;
    let mut text = String::with_capacity(512);
    for id in components {
        let value = message.value(id)?;
        // Writing to a `String` cannot fail.
        let _ = id.write_to(&mut text);
        text.push_str(": ");
        text.push_str(&value);
        text.push('\n');
    }
    text.push_str(PARAMS_LINE);
    let start = text.len();
    write_signature_params(&mut text, components, params)?;
    Ok((SignatureBase { text }, start))
}

/// Computes the signature base of the signature labelled `label` on the
/// message, from the message's own `Signature-Input` (default limits).
pub fn signature_base_for_label(message: &Message<'_>, label: &str) -> Result<SignatureBase> {
    let inputs = parse_signature_inputs(message.headers(), &Limits::default())?;
    let Some(input) = inputs.iter().find(|i| i.label() == label) else {
        return Err(Error::SignatureNotFound {
            selector: format!("with label {:?}", truncate(label)),
        });
    };
    signature_base(message, input.components(), input.params())
}
