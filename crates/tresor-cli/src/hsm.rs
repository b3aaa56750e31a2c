//! Keys in a PKCS#11 token: every flag that takes a key file also takes a
//! `pkcs11:` URI (RFC 7512) naming a key in a token.
//!
//! The PIN comes from the file or environment variable the URI's
//! `pin-source` names, never from the command line (a `pin-value` is
//! refused by the parser), and no error shows it.

use std::path::Path;

use tresor_pkcs11::Pkcs11Uri;

use crate::error::Result;

/// The scheme that marks a key flag's value as a token key.
const SCHEME: &str = "pkcs11:";

/// The URI a key flag's value is, if it starts with `pkcs11:`; `None` for a
/// file path. (A file whose name starts with `pkcs11:` is given as
/// `./pkcs11:…`.)
pub(crate) fn uri(value: &Path) -> Result<Option<Pkcs11Uri>> {
    match value.to_str() {
        Some(text) if text.starts_with(SCHEME) => Ok(Some(Pkcs11Uri::parse(text)?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pkcs11_values_are_uris() {
        assert!(uri(Path::new("kek.key")).unwrap().is_none());
        assert!(uri(Path::new("./pkcs11:kek")).unwrap().is_none());
        let parsed = uri(Path::new(
            "pkcs11:token=tresor;object=kek?module-path=/usr/lib/softhsm/libsofthsm2.so",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(parsed.object(), Some("kek"));
        // A URI that does not parse is an error, not a file name.
        assert!(uri(Path::new("pkcs11:token=tresor;objet=kek")).is_err());
        assert!(uri(Path::new("pkcs11:object=k?pin-value=1234")).is_err());
    }
}
