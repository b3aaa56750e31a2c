//! Nothing a registry writes (database file, WAL, journal, audit and log
//! lines) contains a secret or any 16-character piece of one.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
use common::{Capture, T0, generous_limits, ip, s};
use tresor_credentials::FixedClock;
use tresor_credentials::{LocalPepper, Registry, SqliteStore};

/// Every 16-character window of `text`.
fn windows(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(16).map(|w| w.iter().collect()).collect()
}

/// The needles for one secret: windows of the secret, and of the hex and
/// base64 forms of its raw 256-bit body.
fn needles(secret: &str) -> Vec<String> {
    let body = &secret[secret.len() - 49..secret.len() - 6];
    let raw = common::unbase62(body);
    let mut forms = vec![
        secret.to_owned(),
        hex::encode(&raw),
        hex::encode_upper(&raw),
        Base64::encode_string(&raw),
        Base64Unpadded::encode_string(&raw),
        Base64Url::encode_string(&raw),
        Base64UrlUnpadded::encode_string(&raw),
    ];
    forms.dedup();
    forms.iter().flat_map(|f| windows(f)).collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn scan_files(dir: &std::path::Path, secrets: &[String]) -> usize {
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("credentials.db") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += 1;
        for secret in secrets {
            for needle in needles(secret) {
                assert!(
                    !contains(&bytes, &needle),
                    "{name} holds a piece of a secret"
                );
            }
        }
    }
    scanned
}

#[test]
fn no_secret_in_the_database_or_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("credentials.db");
    let audit = Arc::new(Capture::default());
    let clock = Arc::new(FixedClock::new(T0));
    let mut log: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    {
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let pepper = Arc::new(LocalPepper::generate().unwrap());
        let registry = Registry::builder(store, pepper)
            .clock(clock.clone())
            .audit(audit.clone())
            .rate_limits(generous_limits())
            .build()
            .unwrap();
        log.push(format!("{registry:?}"));

        let mut ids = Vec::new();
        for n in 0..5 {
            let (id, secret) = registry
                .register(&format!("client {n}"), &["payments:read"])
                .unwrap();
            log.push(format!("registered {id} {secret:?}"));
            secrets.push(secret.expose_secret().to_owned());
            ids.push(id);
        }
        for (id, secret) in ids.iter().zip(secrets.clone()) {
            let ok = registry
                .authenticate(id.as_str(), &s(&secret), ip("198.51.100.1"))
                .unwrap();
            log.push(format!("{ok:?}"));
            // A client that pastes its secret into the id field.
            let err = registry
                .authenticate(&secret, &s(&secret), ip("198.51.100.2"))
                .unwrap_err();
            log.push(format!("{err:?} {err}"));
        }
        for id in &ids[..3] {
            let (secret_id, secret) = registry.rotate_secret(id, Duration::from_secs(60)).unwrap();
            log.push(format!("rotated {id} {secret_id} {secret:?}"));
            secrets.push(secret.expose_secret().to_owned());
            registry
                .authenticate(id.as_str(), &s(secret.expose_secret()), None)
                .unwrap();
            registry.revoke_secret(id, &secret_id).unwrap();
            let err = registry
                .authenticate(id.as_str(), &s(secret.expose_secret()), None)
                .unwrap_err();
            log.push(format!("{err:?}"));
        }
        // Wrong secrets of the right shape (another client's).
        let err = registry
            .authenticate(ids[0].as_str(), &s(&secrets[1]), None)
            .unwrap_err();
        log.push(format!("{err:?}"));
        for record in registry.list().unwrap() {
            log.push(format!("{record:?}"));
            log.push(serde_json::to_string(&record).unwrap());
        }
        // While the store is open (WAL present).
        assert!(scan_files(dir.path(), &secrets) >= 2);
    }
    // After close (checkpointed).
    assert!(scan_files(dir.path(), &secrets) >= 1);

    // The scanner itself finds a planted piece (control).
    let planted = format!("{{\"x\":\"{}\"}}", &secrets[0][20..40]);
    assert!(
        needles(&secrets[0])
            .iter()
            .any(|n| contains(planted.as_bytes(), n))
    );
    let raw_hex = hex::encode(common::unbase62(&secrets[0][10..53]));
    assert!(
        needles(&secrets[0])
            .iter()
            .any(|n| contains(raw_hex.as_bytes(), n))
    );

    let lines = audit.lines();
    assert!(lines.len() >= 17);
    for line in lines.iter().chain(&log) {
        for secret in &secrets {
            for needle in needles(secret) {
                assert!(
                    !line.contains(&needle),
                    "a log line holds a piece of a secret: {line}"
                );
            }
        }
    }
}
