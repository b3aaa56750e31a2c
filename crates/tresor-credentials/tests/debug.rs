//! Secrets never show in `Debug` output (they have no `Display` and no
//! `Serialize` at all: the types do not implement them, which this file
//! would fail to compile against if it tried).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use secrecy::SecretString;
use tresor_credentials::{ClientSecret, LocalPepper, MemoryStore, Registry};

#[test]
fn secrets_and_keys_stay_out_of_debug_output() {
    let pepper_text = format!("tresor-pepper-v1\n1 {}\n", "ab".repeat(32));
    let pepper = Arc::new(LocalPepper::parse(&pepper_text).unwrap());
    let debug = format!("{pepper:?}");
    assert!(!debug.contains("abab"), "{debug}");
    assert!(debug.contains("LocalPepper"));

    let registry = Registry::new(Arc::new(MemoryStore::new()), pepper).unwrap();
    let (id, secret) = registry.register("c", &["a"]).unwrap();
    let text = secret.expose_secret().to_owned();
    let body = &text[10..];

    let debug = format!("{secret:?} {secret:#?}");
    assert!(!debug.contains(body), "{debug}");
    assert!(debug.contains("ClientSecret") && debug.contains("tresor_cs"));

    let presented = SecretString::from(text.as_str());
    let debug = format!("{presented:?}");
    assert!(!debug.contains(body), "{debug}");

    let parsed = ClientSecret::parse(SecretString::from(text.as_str())).unwrap();
    assert!(!format!("{parsed:?}").contains(body));

    let client = registry
        .authenticate(id.as_str(), &presented, None)
        .unwrap();
    assert!(!format!("{client:?} {registry:?}").contains(body));
    let err = registry
        .authenticate(id.as_str(), &SecretString::from("x"), None)
        .unwrap_err();
    assert_eq!(format!("{err}"), "invalid client");
    assert_eq!(err.oauth_error(), "invalid_client");
}
