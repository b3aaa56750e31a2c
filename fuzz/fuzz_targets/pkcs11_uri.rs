//! The RFC 7512 URI parser of `tresor_pkcs11` on arbitrary text.
//!
//! Input: bytes, read as UTF-8 (invalid sequences replaced).
//!
//! Properties: nothing panics; an accepted URI has no `pin-value`
//! attribute, and its canonical text (`Display`) parses back to an equal
//! URI and is a fixed point; a refused URI's error is one short line (at
//! most 200 bytes: it names attributes and byte offsets, never a value),
//! and an input with a `pin-value` attribute is never accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_pkcs11::Pkcs11Uri;

/// The `name=value` attributes of a URI's path and query, as written.
fn attribute_names(text: &str) -> impl Iterator<Item = &str> {
    let body = text.get(7..).unwrap_or_default();
    let (path, query) = body.split_once('?').unwrap_or((body, ""));
    path.split(';')
        .chain(query.split('&'))
        .map(|attr| attr.split_once('=').map_or(attr, |(name, _)| name))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Pkcs11Uri::parse(&text) {
        Ok(uri) => {
            assert!(attribute_names(&text).all(|name| name != "pin-value"));
            let shown = uri.to_string();
            let again = Pkcs11Uri::parse(&shown).expect("the canonical text parses");
            assert_eq!(again, uri);
            assert_eq!(again.to_string(), shown);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.len() <= 200, "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
});
