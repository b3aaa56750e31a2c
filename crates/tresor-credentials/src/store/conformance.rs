//! A conformance suite for [`CredentialStore`] implementations: the
//! behaviour every store must share with [`MemoryStore`](super::MemoryStore) and
//! [`SqliteStore`](super::SqliteStore) (inserts refuse taken ids, optimistic
//! concurrency on [`update`](CredentialStore::update), ordered
//! [`list`](CredentialStore::list), the key index of
//! [`find_by_key`](CredentialStore::find_by_key)).
//!
//! Behind the `conformance` cargo feature (off by default). The functions
//! panic, with a message naming the property, when the store misbehaves:
//! call them from a test. Each needs a fresh, empty store.
//!
//! ```
//! use tresor_credentials::store::{MemoryStore, conformance};
//!
//! conformance::run_all(MemoryStore::new);
//! ```

use std::sync::{Arc, Barrier};

use super::CredentialStore;
use crate::Error;
use crate::client::{ClientId, ClientRecord, ClientStatus, KeyState, RegisteredKey, RevokedKid};

/// Runs every property of this module, each against a fresh store from
/// `make` (which must return an empty store every time).
pub fn run_all<S, F>(make: F)
where
    S: CredentialStore + 'static,
    F: Fn() -> S,
{
    insert_get_update_list(&make());
    key_index(&make());
    concurrent_updates(Arc::new(make()), 2, 20);
    concurrent_updates(Arc::new(make()), 8, 5);
}

/// A client record with id `id`, one verify-only public key
/// (`kid-of-{id}`) and one revoked key id (`revoked-of-{id}`).
///
/// # Panics
///
/// If `id` is not a valid client id.
pub fn record(id: &str) -> ClientRecord {
    let client = ClientId::parse(id).expect("conformance: a valid client id");
    let mut record =
        ClientRecord::new(client, "n", &["a"], 1).expect("conformance: a valid record");
    let mut key = RegisteredKey::new(
        format!("kid-of-{id}"),
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        "EdDSA",
        1,
    );
    key.state = KeyState::VerifyOnly;
    key.not_before = Some(5);
    record.public_keys.push(key);
    record
        .revoked_kids
        .push(RevokedKid::new(format!("revoked-of-{id}"), 1));
    record
}

fn ok<T>(result: crate::Result<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("conformance: {what} failed: {e:?}"),
    }
}

/// Insert, duplicate insert, get (found and missing), update with the right
/// and a stale version, update of a missing record, list in id order.
pub fn insert_get_update_list(store: &dyn CredentialStore) {
    let a = record("AAAAAAAAAAAAAAAAAAAAAA");
    ok(store.insert(&a), "insert");
    assert!(
        matches!(store.insert(&a), Err(Error::AlreadyExists { .. })),
        "conformance: a second insert of one id must be AlreadyExists"
    );
    let got = ok(store.get(&a.id), "get").expect("conformance: an inserted record is found");
    assert_eq!(got.version, 1, "conformance: a new record is at version 1");
    assert_eq!(got.record, a, "conformance: get returns what was inserted");
    let missing = ClientId::parse("ZZZZZZZZZZZZZZZZZZZZZZ").expect("conformance: a valid id");
    assert!(
        ok(store.get(&missing), "get of a missing id").is_none(),
        "conformance: a missing id is None"
    );

    let mut changed = a.clone();
    changed.status = ClientStatus::Suspended;
    if let Some(key) = changed.public_keys.first_mut() {
        key.state = KeyState::Revoked;
    }
    assert_eq!(
        ok(store.update(&changed, 1), "update"),
        2,
        "conformance: an update returns the next version"
    );
    assert!(
        matches!(
            store.update(&changed, 1),
            Err(Error::Conflict { expected: 1, .. })
        ),
        "conformance: an update with a stale version must be Conflict"
    );
    let got = ok(store.get(&a.id), "get").expect("conformance: an updated record is found");
    assert_eq!(
        (got.version, got.record),
        (2, changed),
        "conformance: get returns the update"
    );

    let absent = record("MMMMMMMMMMMMMMMMMMMMMM");
    assert!(
        matches!(store.update(&absent, 1), Err(Error::UnknownClient { .. })),
        "conformance: an update of a missing record must be UnknownClient"
    );

    ok(store.insert(&record("0AAAAAAAAAAAAAAAAAAAAA")), "insert");
    let ids: Vec<String> = ok(store.list(), "list")
        .iter()
        .map(|s| s.record.id.to_string())
        .collect();
    assert_eq!(
        ids,
        ["0AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA"],
        "conformance: list is ordered by client id"
    );
}

/// `find_by_key` finds the owner of a registered and of a revoked key id,
/// nothing for an unknown one, and a record holding a key id another
/// client holds or held is refused with `KeyExists`, on insert and update.
pub fn key_index(store: &dyn CredentialStore) {
    let a = record("AAAAAAAAAAAAAAAAAAAAAA");
    ok(store.insert(&a), "insert");
    for kid in [
        "kid-of-AAAAAAAAAAAAAAAAAAAAAA",
        "revoked-of-AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let found = ok(store.find_by_key(kid), "find_by_key")
            .unwrap_or_else(|| panic!("conformance: key id {kid} must find its owner"));
        assert_eq!(found.record.id, a.id, "conformance: find_by_key({kid})");
    }
    assert!(
        ok(store.find_by_key("no-such-kid"), "find_by_key").is_none(),
        "conformance: an unknown key id finds nothing"
    );

    for taken in [
        "kid-of-AAAAAAAAAAAAAAAAAAAAAA",
        "revoked-of-AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let mut b = record("BBBBBBBBBBBBBBBBBBBBBB");
        if let Some(key) = b.public_keys.first_mut() {
            key.kid = taken.to_owned();
        }
        assert!(
            matches!(store.insert(&b), Err(Error::KeyExists { .. })),
            "conformance: inserting a record with key id {taken} of another client must be KeyExists"
        );
    }
    let b = record("BBBBBBBBBBBBBBBBBBBBBB");
    ok(store.insert(&b), "insert");
    let mut stolen = b.clone();
    if let Some(key) = stolen.public_keys.first_mut() {
        key.kid = "revoked-of-AAAAAAAAAAAAAAAAAAAAAA".to_owned();
    }
    assert!(
        matches!(store.update(&stolen, 1), Err(Error::KeyExists { .. })),
        "conformance: an update taking another client's (revoked) key id must be KeyExists"
    );
    let got = ok(store.get(&b.id), "get").expect("conformance: the record is still there");
    assert_eq!(
        (got.version, got.record),
        (1, b),
        "conformance: a refused update changes nothing"
    );
}

/// `threads` threads update one record from the same version at once,
/// `rounds` times: exactly one wins each round, every other gets
/// `Conflict`, and the version goes up by exactly one.
pub fn concurrent_updates(store: Arc<dyn CredentialStore>, threads: usize, rounds: u64) {
    let r = record("CCCCCCCCCCCCCCCCCCCCCC");
    ok(store.insert(&r), "insert");
    for round in 0..rounds {
        let version = ok(store.get(&r.id), "get")
            .expect("conformance: the record is found")
            .version;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                let barrier = barrier.clone();
                let mut mine = r.clone();
                mine.name = format!("thread {t} round {round}");
                std::thread::spawn(move || {
                    barrier.wait();
                    store.update(&mine, version)
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("conformance: an update thread panicked"))
            .collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Conflict { .. })))
            .count();
        assert_eq!(
            (won, conflicts),
            (1, threads - 1),
            "conformance: round {round}: exactly one update wins: {results:?}"
        );
        let now = ok(store.get(&r.id), "get")
            .expect("conformance: the record is found")
            .version;
        assert_eq!(now, version + 1, "conformance: one update, one version");
    }
}
