//! Public-key registration: parsing, RFC 7638 key ids, proof of
//! possession, the five-active-keys limit, states and validity, the key
//! index of both stores.
#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
mod keys_support;

use std::sync::Arc;

use common::{T0, fixture, fixture_with, generous_limits};
use keys_support::{TestKey, register, register_with};
use tresor_credentials::{
    CredentialStore, Error, JwsAlgorithm, MemoryStore, SqliteStore, client::KeyState,
    keys::CHALLENGE_LIFETIME, keys::ClientPublicKey, keys::KeyOptions, keys::MAX_ACTIVE_KEYS,
};
use tresor_httpsig::Algorithm;

/// RFC 7638 section 3.1, with `alg` changed from RS256 (which this crate
/// refuses) to PS256: the thumbprint covers `e`, `kty` and `n` only.
const RFC7638_JWK: &str = r#"{
  "kty": "RSA",
  "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  "e": "AQAB",
  "alg": "PS256",
  "kid": "2011-04-29"
}"#;
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

#[test]
fn rfc7638_thumbprint_example() {
    let key = ClientPublicKey::parse(RFC7638_JWK, None).unwrap();
    assert_eq!(key.kid(), RFC7638_THUMBPRINT);
    assert_eq!(key.alg(), JwsAlgorithm::Ps256);
    // The stored JWK has the same thumbprint, and the RFC's kid is replaced.
    let again = ClientPublicKey::parse(&key.to_jwk(), None).unwrap();
    assert_eq!(again.kid(), RFC7638_THUMBPRINT);
    assert!(!key.to_jwk().contains("2011-04-29"));
    // RS256 (PKCS#1 v1.5) is refused, as is a mismatch with the caller.
    let rs256 = RFC7638_JWK.replace("PS256", "RS256");
    assert!(matches!(
        ClientPublicKey::parse(&rs256, None),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        ClientPublicKey::parse(RFC7638_JWK, Some(JwsAlgorithm::Ps512)),
        Err(Error::InvalidKey { .. })
    ));
    // An RSA key without an algorithm is refused; with one it loads.
    let bare = RFC7638_JWK.replace(r#""alg": "PS256","#, "");
    assert!(ClientPublicKey::parse(&bare, None).is_err());
    assert_eq!(
        ClientPublicKey::parse(&bare, Some(JwsAlgorithm::Ps512))
            .unwrap()
            .kid(),
        RFC7638_THUMBPRINT
    );
}

#[test]
fn private_keys_are_refused() {
    let key = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let mut jwk: serde_json::Value = serde_json::from_str(&key.jwk()).unwrap();
    jwk["d"] = "AAAA".into();
    for text in [jwk.to_string(), key.httpsig().to_pkcs8_pem().to_string()] {
        match ClientPublicKey::parse(&text, None) {
            Err(Error::InvalidKey { reason }) => assert!(reason.contains("private"), "{reason}"),
            other => panic!("expected InvalidKey, got {other:?}"),
        }
    }
    for member in ["p", "q", "dp", "dq", "qi", "oth", "k"] {
        let mut jwk: serde_json::Value = serde_json::from_str(&key.jwk()).unwrap();
        jwk[member] = "AAAA".into();
        assert!(ClientPublicKey::parse(&jwk.to_string(), None).is_err());
    }
    // Through the registry too, before anything is stored.
    let f = fixture();
    let id = f.registry.register_without_secret("c", &["a"]).unwrap();
    let challenge = f.registry.key_challenge(&id).unwrap();
    let proof = key.sign(challenge.as_bytes());
    assert!(matches!(
        f.registry
            .add_key(&id, &jwk.to_string(), challenge.as_str(), &proof),
        Err(Error::InvalidKey { .. })
    ));
    assert!(f.registry.get(&id).unwrap().unwrap().public_keys.is_empty());
}

#[test]
fn duplicate_jwk_members_and_junk_are_refused() {
    let dup = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    assert!(ClientPublicKey::parse(dup, None).is_err());
    for junk in [
        "",
        "{}",
        "[]",
        "null",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    ] {
        assert!(ClientPublicKey::parse(junk, None).is_err(), "{junk}");
    }
    let hs = r#"{"kty":"oct","k":"AAAA","alg":"HS256"}"#;
    assert!(ClientPublicKey::parse(hs, None).is_err());
}

#[test]
fn registration_with_proof_of_possession() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    for (key, alg) in [
        (TestKey::generate(Algorithm::EcdsaP256Sha256), "ES256"),
        (TestKey::generate(Algorithm::EcdsaP384Sha384), "ES384"),
        (TestKey::generate(Algorithm::Ed25519), "EdDSA"),
        (TestKey::rsa_ps256(), "PS256"),
    ] {
        let registered = register(r, &id, &key);
        assert_eq!(registered.kid, key.thumbprint());
        assert_eq!(registered.alg, alg);
        assert_eq!(registered.state, KeyState::Active);
        assert_eq!(registered.created, T0);
        assert!(!registered.jwk.contains("\"d\""));
    }
    let record = r.get(&id).unwrap().unwrap();
    assert_eq!(record.public_keys.len(), 4);
    let (owner, key) = r
        .client_for_key(&record.public_keys[2].kid)
        .unwrap()
        .unwrap();
    assert_eq!(owner.id, id);
    assert_eq!(key.alg, "EdDSA");
    assert!(r.client_for_key("unknown").unwrap().is_none());
}

#[test]
fn spki_pem_registration_and_rsa_needs_an_algorithm() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    let ed = TestKey::generate(Algorithm::Ed25519);
    let challenge = r.key_challenge(&id).unwrap();
    let proof = ed.sign(challenge.as_bytes());
    let key = r
        .add_key(&id, &ed.pem(), challenge.as_str(), &proof)
        .unwrap();
    assert_eq!(key.kid, ed.thumbprint());
    assert_eq!(key.alg, "EdDSA");

    let rsa = TestKey::rsa_ps512();
    let challenge = r.key_challenge(&id).unwrap();
    let proof = rsa.sign(challenge.as_bytes());
    assert!(matches!(
        r.add_key(&id, &rsa.pem(), challenge.as_str(), &proof),
        Err(Error::InvalidKey { .. })
    ));
    let key = r
        .add_key_with(
            &id,
            &rsa.pem(),
            challenge.as_str(),
            &proof,
            KeyOptions::new().alg(JwsAlgorithm::Ps512),
        )
        .unwrap();
    assert_eq!(key.alg, "PS512");
    // An algorithm that does not fit the key.
    let ec = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let challenge = r.key_challenge(&id).unwrap();
    let proof = ec.sign(challenge.as_bytes());
    assert!(matches!(
        r.add_key_with(
            &id,
            &ec.pem(),
            challenge.as_str(),
            &proof,
            KeyOptions::new().alg(JwsAlgorithm::EdDsa)
        ),
        Err(Error::InvalidKey { .. })
    ));
}

#[test]
fn wrong_proof_signatures_are_refused() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let other = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let challenge = r.key_challenge(&id).unwrap();
    // Signed by another key.
    let proof = other.sign(challenge.as_bytes());
    assert_eq!(
        r.add_key(&id, &key.jwk(), challenge.as_str(), &proof),
        Err(Error::BadProof)
    );
    // Signed over other bytes (another challenge).
    let second = r.key_challenge(&id).unwrap();
    assert_ne!(second.as_str(), challenge.as_str());
    let proof = key.sign(second.as_bytes());
    assert_eq!(
        r.add_key(&id, &key.jwk(), challenge.as_str(), &proof),
        Err(Error::BadProof)
    );
    // Empty and garbage signatures.
    for proof in [vec![], vec![0u8; 64], vec![0xff; 200]] {
        assert_eq!(
            r.add_key(&id, &key.jwk(), challenge.as_str(), &proof),
            Err(Error::BadProof)
        );
    }
    assert!(r.get(&id).unwrap().unwrap().public_keys.is_empty());
}

#[test]
fn challenges_expire() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::Ed25519);
    let challenge = r.key_challenge(&id).unwrap();
    let lifetime = CHALLENGE_LIFETIME.as_secs() as i64;
    assert_eq!(challenge.expires(), T0 + lifetime);
    let proof = key.sign(challenge.as_bytes());
    f.clock.set(T0 + lifetime);
    assert_eq!(
        r.add_key(&id, &key.jwk(), challenge.as_str(), &proof),
        Err(Error::InvalidChallenge { reason: "expired" })
    );
    f.clock.set(T0 + lifetime - 1);
    r.add_key(&id, &key.jwk(), challenge.as_str(), &proof)
        .unwrap();
}

#[test]
fn challenges_are_bound_to_their_client_and_registry() {
    let f = fixture();
    let r = &f.registry;
    let a = r.register_without_secret("a", &["a"]).unwrap();
    let b = r.register_without_secret("b", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::Ed25519);
    let for_a = r.key_challenge(&a).unwrap();
    assert_eq!(for_a.client_id(), &a);
    let proof = key.sign(for_a.as_bytes());
    assert_eq!(
        r.add_key(&b, &key.jwk(), for_a.as_str(), &proof),
        Err(Error::InvalidChallenge {
            reason: "issued for another client"
        })
    );
    // Another registry (another pepper) did not issue it.
    let other = fixture();
    let c = other.registry.register_without_secret("c", &["a"]).unwrap();
    let foreign = other.registry.key_challenge(&c).unwrap();
    let proof = key.sign(foreign.as_bytes());
    assert!(matches!(
        r.add_key(&a, &key.jwk(), foreign.as_str(), &proof),
        Err(Error::InvalidChallenge { .. })
    ));
    // Any altered character breaks it.
    let text = for_a.as_str();
    for i in 0..text.len() {
        let mut bytes = text.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        if altered == text {
            continue;
        }
        let proof = key.sign(altered.as_bytes());
        assert!(
            matches!(
                r.add_key(&a, &key.jwk(), &altered, &proof),
                Err(Error::InvalidChallenge { .. })
            ),
            "position {i}"
        );
    }
    assert!(matches!(
        r.key_challenge(&tresor_credentials::ClientId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap()),
        Err(Error::UnknownClient { .. })
    ));
}

#[test]
fn at_most_five_active_keys() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    let keys: Vec<_> = (0..MAX_ACTIVE_KEYS)
        .map(|_| register(r, &id, &TestKey::generate(Algorithm::Ed25519)).kid)
        .collect();
    let sixth = TestKey::generate(Algorithm::Ed25519);
    let challenge = r.key_challenge(&id).unwrap();
    let proof = sixth.sign(challenge.as_bytes());
    assert!(matches!(
        r.add_key(&id, &sixth.jwk(), challenge.as_str(), &proof),
        Err(Error::TooManyActiveKeys { max: 5, .. })
    ));
    // Retiring one makes room; reactivating it then is refused.
    r.set_key_state(&id, &keys[0], KeyState::VerifyOnly)
        .unwrap();
    r.add_key(&id, &sixth.jwk(), challenge.as_str(), &proof)
        .unwrap();
    assert!(matches!(
        r.set_key_state(&id, &keys[0], KeyState::Active),
        Err(Error::TooManyActiveKeys { .. })
    ));
    // A key past its end does not count.
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    register_with(
        r,
        &id,
        &TestKey::generate(Algorithm::Ed25519),
        KeyOptions::new().validity(None, Some(T0 + 10)),
    );
    for _ in 1..MAX_ACTIVE_KEYS {
        register(r, &id, &TestKey::generate(Algorithm::Ed25519));
    }
    f.clock.set(T0 + 10);
    register(r, &id, &TestKey::generate(Algorithm::Ed25519));
}

#[test]
fn key_states_and_transitions() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let kid = register(r, &id, &key).kid;
    let state = |kid: &str| {
        r.get(&id)
            .unwrap()
            .unwrap()
            .public_keys
            .iter()
            .find(|k| k.kid == kid)
            .unwrap()
            .state
    };
    r.set_key_state(&id, &kid, KeyState::VerifyOnly).unwrap();
    assert_eq!(state(&kid), KeyState::VerifyOnly);
    r.set_key_state(&id, &kid, KeyState::Active).unwrap();
    r.set_key_state(&id, &kid, KeyState::Active).unwrap();
    r.revoke_key(&id, &kid).unwrap();
    assert_eq!(state(&kid), KeyState::Revoked);
    for to in [KeyState::Active, KeyState::VerifyOnly] {
        assert!(matches!(
            r.set_key_state(&id, &kid, to),
            Err(Error::InvalidKeyTransition {
                from: "revoked",
                ..
            })
        ));
    }
    // A revoked key cannot be registered again.
    let challenge = r.key_challenge(&id).unwrap();
    let proof = key.sign(challenge.as_bytes());
    assert!(matches!(
        r.add_key(&id, &key.jwk(), challenge.as_str(), &proof),
        Err(Error::KeyRevoked { .. })
    ));
    assert!(matches!(
        r.revoke_key(&id, "nope"),
        Err(Error::UnknownKey { .. })
    ));
}

#[test]
fn validity_windows_are_checked_at_registration() {
    let f = fixture();
    let r = &f.registry;
    let id = r.register_without_secret("c", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::Ed25519);
    let challenge = r.key_challenge(&id).unwrap();
    let proof = key.sign(challenge.as_bytes());
    for (nb, na) in [
        (None, Some(T0)),
        (Some(T0 + 10), Some(T0 + 10)),
        (None, Some(T0 - 1)),
    ] {
        assert!(matches!(
            r.add_key_with(
                &id,
                &key.jwk(),
                challenge.as_str(),
                &proof,
                KeyOptions::new().validity(nb, na)
            ),
            Err(Error::InvalidValidity { .. })
        ));
    }
    let k = r
        .add_key_with(
            &id,
            &key.jwk(),
            challenge.as_str(),
            &proof,
            KeyOptions::new().validity(Some(T0 + 5), Some(T0 + 50)),
        )
        .unwrap();
    assert_eq!((k.not_before, k.not_after), (Some(T0 + 5), Some(T0 + 50)));
}

fn one_key_one_client(store: Arc<dyn CredentialStore>) {
    let f = fixture_with(store.clone(), generous_limits());
    let r = &f.registry;
    let a = r.register_without_secret("a", &["a"]).unwrap();
    let b = r.register_without_secret("b", &["a"]).unwrap();
    let key = TestKey::generate(Algorithm::EcdsaP256Sha256);
    let kid = register(r, &a, &key).kid;
    let challenge = r.key_challenge(&b).unwrap();
    let proof = key.sign(challenge.as_bytes());
    assert_eq!(
        r.add_key(&b, &key.jwk(), challenge.as_str(), &proof),
        Err(Error::KeyExists { kid: kid.clone() })
    );
    // The store refuses it even when the registry's check is bypassed.
    let mut record = store.get(&b).unwrap().unwrap();
    let stolen = store.get(&a).unwrap().unwrap().record.public_keys[0].clone();
    record.record.public_keys.push(stolen);
    assert_eq!(
        store.update(&record.record, record.version),
        Err(Error::KeyExists { kid: kid.clone() })
    );
    assert_eq!(store.find_by_key(&kid).unwrap().unwrap().record.id, a);
    assert!(store.find_by_key("nope").unwrap().is_none());
    // After the record drops the key, the index forgets it.
    let mut record = store.get(&a).unwrap().unwrap();
    record.record.public_keys.clear();
    store.update(&record.record, record.version).unwrap();
    assert!(store.find_by_key(&kid).unwrap().is_none());
}

#[test]
fn a_key_belongs_to_one_client_memory() {
    one_key_one_client(Arc::new(MemoryStore::new()));
}

#[test]
fn a_key_belongs_to_one_client_sqlite() {
    one_key_one_client(Arc::new(SqliteStore::open_in_memory().unwrap()));
}

#[test]
fn migration_to_v2_indexes_existing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let key = TestKey::generate(Algorithm::Ed25519);
    let kid = key.thumbprint();
    let id = "AAAAAAAAAAAAAAAAAAAAAA";
    {
        // A version-1 database holding a record with a key.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE clients (
                id      TEXT    PRIMARY KEY NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                created INTEGER NOT NULL,
                updated INTEGER NOT NULL,
                record  TEXT    NOT NULL
            ) STRICT;",
        )
        .unwrap();
        let record = serde_json::json!({
            "id": id, "name": "old", "scopes": ["a"], "status": "active",
            "created": T0, "updated": T0, "secrets": [],
            "public_keys": [{
                "kid": kid, "jwk": key.jwk(), "alg": "EdDSA", "state": "active",
                "not_before": null, "not_after": null, "created": T0
            }]
        });
        conn.execute(
            "INSERT INTO clients VALUES (?1, 1, ?2, ?2, ?3)",
            rusqlite::params![id, T0, record.to_string()],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        tresor_credentials::store::SCHEMA_VERSION
    );
    assert_eq!(
        store.find_by_key(&kid).unwrap().unwrap().record.id.as_str(),
        id
    );
}

/// Tries to register `key` for `client` (fresh challenge, valid proof).
fn try_add(
    r: &tresor_credentials::Registry,
    client: &tresor_credentials::ClientId,
    key: &TestKey,
) -> Result<tresor_credentials::client::RegisteredKey, Error> {
    let challenge = r.key_challenge(client).unwrap();
    let proof = key.sign(challenge.as_bytes());
    r.add_key(client, &key.jwk(), challenge.as_str(), &proof)
}

// regression: finding 7 of the security review, issue 8 (a revoked key
// whose material was pruned could be registered again and resolve as
// active).
fn a_pruned_revoked_key_never_comes_back(store: Arc<dyn CredentialStore>) {
    use tresor_httpsig::KeyResolver;
    let f = fixture_with(store.clone(), generous_limits());
    let r = &f.registry;
    let a = r.register_without_secret("a", &["a"]).unwrap();
    let b = r.register_without_secret("b", &["a"]).unwrap();
    let compromised = TestKey::generate(Algorithm::Ed25519);
    let kid = register(r, &a, &compromised).kid;
    r.revoke_key(&a, &kid).unwrap();
    // Twenty-one more keys through add and revoke: the first is pruned.
    for _ in 0..21 {
        let k = register(r, &a, &TestKey::generate(Algorithm::Ed25519)).kid;
        r.revoke_key(&a, &k).unwrap();
    }
    let record = r.get(&a).unwrap().unwrap();
    assert!(record.public_keys.len() <= tresor_credentials::keys::MAX_STORED_KEYS);
    assert!(
        record.public_keys.iter().all(|k| k.kid != kid),
        "the test needs the first key's material pruned"
    );
    // Re-registration is refused, for the same client and for any other.
    assert!(matches!(
        try_add(r, &a, &compromised),
        Err(Error::KeyRevoked { .. })
    ));
    assert!(matches!(
        try_add(r, &b, &compromised),
        Err(Error::KeyRevoked { .. })
    ));
    assert!(
        r.get(&a)
            .unwrap()
            .unwrap()
            .revoked_kids
            .iter()
            .any(|t| t.kid == kid)
    );
    // The key id still finds its owner, and never resolves as active.
    assert_eq!(store.find_by_key(&kid).unwrap().unwrap().record.id, a);
    if let Some((_, key)) = r.client_for_key(&kid).unwrap() {
        assert_eq!(key.state, KeyState::Revoked);
    }
    assert!(r.resolve(&kid).is_err());
    // The store refuses another client's record naming the pruned key id
    // even when the registry's check is bypassed.
    let mut other = store.get(&b).unwrap().unwrap();
    let mut stolen = store.get(&a).unwrap().unwrap().record.public_keys[0].clone();
    stolen.kid.clone_from(&kid);
    stolen.state = KeyState::Active;
    other.record.public_keys.push(stolen);
    assert_eq!(
        store.update(&other.record, other.version),
        Err(Error::KeyExists { kid: kid.clone() })
    );
    assert!(r.resolve(&kid).is_err());
}

#[test]
fn a_pruned_revoked_key_never_comes_back_memory() {
    a_pruned_revoked_key_never_comes_back(Arc::new(MemoryStore::new()));
}

#[test]
fn a_pruned_revoked_key_never_comes_back_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_pruned_revoked_key_never_comes_back(Arc::new(
        SqliteStore::open(dir.path().join("c.db")).unwrap(),
    ));
}

// regression: finding 7 of the security review, issue 8 (schema version 3
// indexes revoked key tombstones): a version-2 database migrates, keeps
// its key index, and then never forgets a pruned revoked key.
#[test]
fn migration_from_v2_to_v3_keeps_the_key_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let key = TestKey::generate(Algorithm::Ed25519);
    let kid = key.thumbprint();
    let id = "AAAAAAAAAAAAAAAAAAAAAA";
    {
        // A version-2 database (the two first migrations, verbatim) holding
        // a record with a key.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE clients (
                id      TEXT    PRIMARY KEY NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                created INTEGER NOT NULL,
                updated INTEGER NOT NULL,
                record  TEXT    NOT NULL
            ) STRICT;
            CREATE TABLE client_keys (
                kid       TEXT PRIMARY KEY NOT NULL,
                client_id TEXT NOT NULL REFERENCES clients (id)
            ) STRICT;
            CREATE INDEX client_keys_by_client ON client_keys (client_id);",
        )
        .unwrap();
        let record = serde_json::json!({
            "id": id, "name": "old", "scopes": ["a"], "status": "active",
            "created": T0, "updated": T0, "secrets": [],
            "public_keys": [{
                "kid": kid, "jwk": key.jwk(), "alg": "EdDSA", "state": "active",
                "not_before": null, "not_after": null, "created": T0
            }]
        });
        conn.execute(
            "INSERT INTO clients VALUES (?1, 1, ?2, ?2, ?3)",
            rusqlite::params![id, T0, record.to_string()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO client_keys VALUES (?1, ?2)",
            rusqlite::params![kid, id],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
    }
    let store: Arc<dyn CredentialStore> = Arc::new(SqliteStore::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
        let tombstone: i64 = conn
            .query_row(
                "SELECT tombstone FROM client_keys WHERE kid = ?1",
                [&kid],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tombstone, 0);
    }
    let client = tresor_credentials::ClientId::parse(id).unwrap();
    assert_eq!(store.find_by_key(&kid).unwrap().unwrap().record.id, client);
    // The migrated key, revoked and pruned, stays refused.
    let f = fixture_with(store.clone(), generous_limits());
    let r = &f.registry;
    r.revoke_key(&client, &kid).unwrap();
    for _ in 0..21 {
        let k = register(r, &client, &TestKey::generate(Algorithm::Ed25519)).kid;
        r.revoke_key(&client, &k).unwrap();
    }
    let record = r.get(&client).unwrap().unwrap();
    assert!(record.public_keys.iter().all(|k| k.kid != kid));
    assert!(record.revoked_kids.iter().any(|t| t.kid == kid));
    assert!(matches!(
        try_add(r, &client, &key),
        Err(Error::KeyRevoked { .. })
    ));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tombstone: i64 = conn
        .query_row(
            "SELECT tombstone FROM client_keys WHERE kid = ?1",
            [&kid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tombstone, 1);
}
