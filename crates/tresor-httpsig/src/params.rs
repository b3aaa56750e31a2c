//! Signature parameters (RFC 9421 section 2.3): `created`, `expires`,
//! `nonce`, `alg`, `keyid`, `tag`, in the order given.

use sfv::{BareItem, FieldType, InnerList, Integer, KeyRef, List, ListEntry, Parameters};

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

    pub(crate) fn from_sfv(params: &Parameters) -> Result<Self> {
        for (key, value) in params {
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
        Ok(Self {
            params: params.clone(),
        })
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
    let items = components
        .iter()
        .map(ComponentId::to_item)
        .collect::<Result<Vec<_>>>()?;
    let list: List = vec![ListEntry::InnerList(InnerList::with_params(
        items,
        params.as_sfv().clone(),
    ))];
    list.serialize()
        .ok_or_else(|| malformed("cannot serialise the signature parameters"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
