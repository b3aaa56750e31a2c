//! Signature parameters (RFC 9421 section 2.3): `created`, `expires`,
//! `nonce`, `alg`, `keyid`, `tag`, in the order given.

use sfv::{BareItem, FieldType, Integer, Item, KeyRef, Parameters};

use crate::component::ComponentId;
use crate::error::{Error, Result};

/// The parameters of one signature, in order. Parameters this crate does
/// not know are kept as received (they are part of the signature base).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignatureParams {
    params: Parameters,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::Malformed {
        field: "Signature-Input",
        reason: reason.into(),
    }
}

impl SignatureParams {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn from_sfv(params: Parameters) -> Result<Self> {
        for (key, value) in &params {
            match (key.as_str(), value) {
                ("created" | "expires", BareItem::Integer(_))
                | ("nonce" | "alg" | "keyid" | "tag", BareItem::String(_)) => {}
                ("created" | "expires", _) => {
                    return Err(malformed(format!("{} must be an integer", key.as_str())));
                }
                ("nonce" | "alg" | "keyid" | "tag", _) => {
                    return Err(malformed(format!("{} must be a string", key.as_str())));
                }
                _ => {}
            }
        }
        Ok(Self { params })
    }

    pub(crate) fn as_sfv(&self) -> &Parameters {
        &self.params
    }

    fn set(&mut self, key: &'static str, value: BareItem) {
        if let Ok(key) = KeyRef::from_str(key) {
            self.params.insert(key.to_owned(), value);
        }
    }

    fn set_int(mut self, key: &'static str, value: i64) -> Result<Self> {
        let int = Integer::try_from(value)
            .map_err(|_| malformed(format!("{key} is out of the sf-integer range")))?;
        self.set(key, BareItem::Integer(int));
        Ok(self)
    }

    fn set_str(mut self, key: &'static str, value: &str) -> Result<Self> {
        let s = sfv::String::from_string(value.to_owned())
            .map_err(|_| malformed(format!("{key} must be printable ASCII")))?;
        self.set(key, BareItem::String(s));
        Ok(self)
    }

    /// Sets `created` (UNIX seconds).
    pub fn with_created(self, created: i64) -> Result<Self> {
        self.set_int("created", created)
    }

    /// Sets `expires` (UNIX seconds).
    pub fn with_expires(self, expires: i64) -> Result<Self> {
        self.set_int("expires", expires)
    }

    /// Sets `nonce`.
    pub fn with_nonce(self, nonce: &str) -> Result<Self> {
        self.set_str("nonce", nonce)
    }

    /// Sets `alg`.
    pub fn with_alg(self, alg: crate::Algorithm) -> Result<Self> {
        self.set_str("alg", alg.name())
    }

    /// Sets `keyid`.
    pub fn with_keyid(self, keyid: &str) -> Result<Self> {
        self.set_str("keyid", keyid)
    }

    /// Sets `tag`.
    pub fn with_tag(self, tag: &str) -> Result<Self> {
        self.set_str("tag", tag)
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.params
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .and_then(|(_, v)| v.as_integer())
            .map(i64::from)
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .and_then(|(_, v)| v.as_string())
            .map(|s| s.as_str())
    }

    /// `created`, UNIX seconds.
    pub fn created(&self) -> Option<i64> {
        self.int("created")
    }

    /// `expires`, UNIX seconds.
    pub fn expires(&self) -> Option<i64> {
        self.int("expires")
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<&str> {
        self.string("nonce")
    }

    /// `alg`, as given (not checked against the registry).
    pub fn alg(&self) -> Option<&str> {
        self.string("alg")
    }

    /// `keyid`.
    pub fn keyid(&self) -> Option<&str> {
        self.string("keyid")
    }

    /// `tag`.
    pub fn tag(&self) -> Option<&str> {
        self.string("tag")
    }

    /// The parameter names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(|k| k.as_str())
    }
}

/// Serialises the covered components and parameters as the inner list of
/// `Signature-Input` and of the `@signature-params` line (RFC 9421
/// section 2.3), e.g. `("@method" "@path");created=1618884473;keyid="k"`.
pub fn serialize_signature_params(
    components: &[ComponentId],
    params: &SignatureParams,
) -> Result<String> {
    let mut out = String::with_capacity(32 * components.len() + 64);
    write_signature_params(&mut out, components, params)?;
    Ok(out)
}

/// Appends what [`serialize_signature_params`] returns to `out`, writing
/// the structured-field form directly (RFC 8941 section 4.1.1.1 for the
/// inner list, 4.1.1.2 for the parameters) rather than building `sfv`
/// values first. Byte for byte what `sfv` serialises: the identifiers are
/// validated sf-strings with parameters, and parameter values of a type
/// written here only rarely (decimals, byte sequences, dates, display
/// strings) are serialised by `sfv` itself.
pub(crate) fn write_signature_params(
    out: &mut String,
    components: &[ComponentId],
    params: &SignatureParams,
) -> Result<()> {
    use std::fmt::Write as _;

    let cannot = || malformed("cannot serialise the signature parameters");
    out.push('(');
    for (i, id) in components.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        id.write_to(out).map_err(|_| cannot())?;
    }
    out.push(')');
    for (key, value) in params.as_sfv() {
        out.push(';');
        out.push_str(key.as_str());
        match value {
            BareItem::Boolean(true) => {}
            BareItem::Boolean(false) => out.push_str("=?0"),
            BareItem::Integer(n) => {
                write!(out, "={}", i64::from(*n)).map_err(|_| cannot())?;
            }
            BareItem::String(s) => {
                out.push_str("=\"");
                for c in s.as_str().chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            BareItem::Token(t) => {
                out.push('=');
                out.push_str(t.as_str());
            }
            other => {
                out.push('=');
                out.push_str(&Item::new(other.clone()).serialize());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sfv::{Decimal, InnerList, List, ListEntry, Token};

    use super::*;

    /// What `sfv` itself serialises, the reference for the direct writer.
    fn via_sfv(components: &[ComponentId], params: &SignatureParams) -> String {
        let items = components
            .iter()
            .map(ComponentId::to_item)
            .collect::<Result<Vec<_>>>()
            .unwrap();
        let list: List = vec![ListEntry::InnerList(InnerList::with_params(
            items,
            params.as_sfv().clone(),
        ))];
        list.serialize().unwrap()
    }

    #[test]
    fn direct_writer_matches_sfv() {
        let ids = [
            r#""@method""#,
            r#""@query-param";name="a\"b\\c""#,
            r#""example-dict";key="k";req;sf"#,
            r#""x";bs;tr"#,
            r#""content-digest""#,
        ]
        .iter()
        .map(|s| ComponentId::parse(s).unwrap())
        .collect::<Vec<_>>();
        let mut raw = Parameters::new();
        for (k, v) in [
            ("created", BareItem::Integer(Integer::constant(-12))),
            (
                "keyid",
                BareItem::String(sfv::String::from_string("a\"\\b".into()).unwrap()),
            ),
            (
                "t",
                BareItem::Token(Token::from_string("a:b/c".into()).unwrap()),
            ),
            ("yes", BareItem::Boolean(true)),
            ("no", BareItem::Boolean(false)),
            ("d", BareItem::Decimal(Decimal::try_from(1.5f64).unwrap())),
            ("b", BareItem::ByteSequence(vec![0, 1, 2, 255])),
        ] {
            raw.insert(KeyRef::from_str(k).unwrap().to_owned(), v);
        }
        let params = SignatureParams::from_sfv(raw).unwrap();
        for n in 0..=ids.len() {
            for p in [&params, &SignatureParams::new()] {
                assert_eq!(
                    serialize_signature_params(&ids[..n], p).unwrap(),
                    via_sfv(&ids[..n], p)
                );
            }
        }
    }

    #[test]
    fn serialises_like_rfc_section_2_3() {
        let components = ["@target-uri", "@authority", "date", "cache-control"]
            .iter()
            .map(|n| ComponentId::parse(&format!("\"{n}\"")).unwrap())
            .collect::<Vec<_>>();
        let params = SignatureParams::new()
            .with_keyid("test-key-rsa-pss")
            .unwrap()
            .with_alg(crate::Algorithm::RsaPssSha512)
            .unwrap()
            .with_created(1618884475)
            .unwrap()
            .with_expires(1618884775)
            .unwrap();
        assert_eq!(
            serialize_signature_params(&components, &params).unwrap(),
            r#"("@target-uri" "@authority" "date" "cache-control");keyid="test-key-rsa-pss";alg="rsa-pss-sha512";created=1618884475;expires=1618884775"#
        );
        assert_eq!(
            serialize_signature_params(&[], &SignatureParams::new()).unwrap(),
            "()"
        );
    }
}
