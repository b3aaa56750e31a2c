//! The one JWK parser (`tresor_types::jwk`) on arbitrary text.
//!
//! Input: bytes, read as UTF-8 (invalid sequences replaced).
//!
//! Properties: nothing panics; a text accepted as a public JWK holds none
//! of the private members and its canonical form parses back to the same
//! key and thumbprint; a text accepted as a private JWK is refused as a
//! public one; no error message quotes the value of a private member.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_types::jwk::{PRIVATE_MEMBERS, PrivateJwk, PublicJwk};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match PublicJwk::parse(&text) {
        Ok(jwk) => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&text).expect("an accepted JWK is a JSON object");
            assert!(PRIVATE_MEMBERS.iter().all(|m| !map.contains_key(*m)));
            let canonical = jwk.key().canonical_json();
            let again = PublicJwk::parse(&canonical).expect("the canonical form parses");
            assert_eq!(again.key(), jwk.key());
            assert_eq!(again.thumbprint(), jwk.thumbprint());
        }
        Err(e) => {
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) {
                let message = e.to_string();
                for name in PRIVATE_MEMBERS {
                    if let Some(serde_json::Value::String(secret)) = map.get(name)
                        && secret.len() >= 8
                    {
                        assert!(!message.contains(secret.as_str()), "{message}");
                    }
                }
            }
        }
    }
    if let Ok(private) = PrivateJwk::parse(&text) {
        assert!(PublicJwk::parse(&text).is_err());
        let _ = private.public().thumbprint();
    }
});
