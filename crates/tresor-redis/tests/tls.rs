//! `rediss://` through rustls against a real redis-server listening with
//! TLS only, on 127.0.0.1, with a throwaway CA made by the test: the right
//! CA works, a wrong CA or a wrong host name is refused, mutual TLS, no
//! fallback to plaintext, bad PEM refused without echoing it.

#![cfg(feature = "httpsig")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::Path;

use support::pki::{Pki, pki};
use support::{RedisServer, now};
use tresor_httpsig::{Error as NonceError, NonceStore};
use tresor_redis::{Error, RedisConnection, RedisNonceStore, RedisTls};

/// A TLS-only server whose certificate comes from `pki`; with
/// `client_auth`, it requires a client certificate from the same CA.
/// The directory of its certificate files goes with it (a restart reads
/// them again).
fn tls_server(
    test: &str,
    pki: &Pki,
    client_auth: bool,
) -> Option<(RedisServer, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let args = vec![
        "--tls-cert-file".to_owned(),
        write("server.pem", &pki.server_cert_pem),
        "--tls-key-file".to_owned(),
        write("server-key.pem", &pki.server_key_pem),
        "--tls-ca-cert-file".to_owned(),
        write("ca.pem", &pki.ca_pem),
        "--tls-auth-clients".to_owned(),
        if client_auth { "yes" } else { "no" }.to_owned(),
    ];
    RedisServer::start_tls(test, args).map(|server| (server, dir))
}

fn ca(pki: &Pki) -> RedisTls {
    RedisTls::from_ca_pem(pki.ca_pem.as_bytes()).unwrap()
}

/// The error chain as one string, to look for the rustls reason.
fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[test]
fn the_right_ca_connects_and_checks_nonces() {
    let pki = pki(&["localhost", "127.0.0.1"], "tresor");
    let Some((server, _certs)) = tls_server("the_right_ca_connects_and_checks_nonces", &pki, false)
    else {
        return;
    };
    let connection = RedisConnection::connect_tls(&server.tls_url("127.0.0.1"), &ca(&pki)).unwrap();
    let store = RedisNonceStore::new(connection);
    let exp = now() + 300;
    store.check_and_remember("k1", "n1", exp).unwrap();
    assert_eq!(
        store.check_and_remember("k1", "n1", exp),
        Err(NonceError::ReplayedNonce)
    );
}

#[test]
fn a_wrong_ca_is_refused() {
    let pki = pki(&["localhost", "127.0.0.1"], "tresor");
    let Some((server, _certs)) = tls_server("a_wrong_ca_is_refused", &pki, false) else {
        return;
    };
    let other = support::pki::pki(&["localhost", "127.0.0.1"], "tresor");
    let e = RedisConnection::connect_tls(&server.tls_url("127.0.0.1"), &ca(&other)).unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    let text = chain(&e);
    // The other CA has the same name: the signature is what fails.
    assert!(
        text.contains("invalid peer certificate")
            && (text.contains("UnknownIssuer") || text.contains("BadSignature")),
        "{text}"
    );
}

#[test]
fn the_platform_roots_do_not_trust_a_private_ca() {
    let pki = pki(&["localhost", "127.0.0.1"], "tresor");
    let Some((server, _certs)) =
        tls_server("the_platform_roots_do_not_trust_a_private_ca", &pki, false)
    else {
        return;
    };
    // connect without a RedisTls: the platform's roots, not the test CA.
    let e = RedisConnection::connect(&server.tls_url("127.0.0.1")).unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert!(
        chain(&e).contains("invalid peer certificate"),
        "{}",
        chain(&e)
    );
}

#[test]
fn reconnects_over_tls_after_a_restart() {
    let pki = pki(&["localhost", "127.0.0.1"], "tresor");
    let Some((mut server, _certs)) = tls_server("reconnects_over_tls_after_a_restart", &pki, false)
    else {
        return;
    };
    let store = RedisNonceStore::new(
        RedisConnection::connect_tls(&server.tls_url("127.0.0.1"), &ca(&pki)).unwrap(),
    );
    store.check_and_remember("k1", "n1", now() + 300).unwrap();
    server.restart();
    // The manager reconnects (and verifies again) by itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match store.check_and_remember("k1", "n2", now() + 300) {
            Ok(()) => break,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "{e:?}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}

#[test]
fn a_wrong_host_name_is_refused() {
    // The certificate names another host; the server is still on 127.0.0.1.
    let pki = pki(&["db.other.invalid"], "tresor");
    let Some((server, _certs)) = tls_server("a_wrong_host_name_is_refused", &pki, false) else {
        return;
    };
    let e = RedisConnection::connect_tls(&server.tls_url("127.0.0.1"), &ca(&pki)).unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    let text = chain(&e);
    assert!(text.contains("not valid for name"), "{text}");
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let pki = pki(&["localhost", "127.0.0.1"], "tresor");
    let Some((server, _certs)) = tls_server("mutual_tls_needs_the_client_certificate", &pki, true)
    else {
        return;
    };
    let url = server.tls_url("127.0.0.1");
    // Without a client certificate the server hangs up: at the first
    // connection or, with TLS 1.3, at the first call at the latest.
    if let Ok(connection) = RedisConnection::connect_tls(&url, &ca(&pki)) {
        let store = RedisNonceStore::new(connection);
        assert!(store.check_and_remember("k1", "n1", now() + 300).is_err());
    }
    let tls = ca(&pki)
        .client_auth(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .unwrap();
    assert!(tls.has_client_auth());
    let store = RedisNonceStore::new(RedisConnection::connect_tls(&url, &tls).unwrap());
    store.check_and_remember("k1", "n1", now() + 300).unwrap();
}

#[test]
fn no_fallback_to_plaintext_and_no_insecure_mode() {
    let pki = pki(&["localhost", "127.0.0.1"], "tresor");
    let tls = ca(&pki);
    // connect_tls with a redis:// url: refused before any connection.
    let e = RedisConnection::connect_tls("redis://127.0.0.1:1/", &tls).unwrap_err();
    assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");
    // The #insecure fragment (no verification): refused, with or without
    // a RedisTls.
    let e = RedisConnection::connect_tls("rediss://127.0.0.1:1/#insecure", &tls).unwrap_err();
    assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");
    let e = RedisConnection::connect("rediss://127.0.0.1:1/#insecure").unwrap_err();
    assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");

    // rediss:// against a plaintext server: the handshake fails, no
    // plaintext connection is made.
    let Some(plain) = RedisServer::start("no_fallback_to_plaintext_and_no_insecure_mode") else {
        return;
    };
    let url = format!("rediss://127.0.0.1:{}/", plain.port());
    let e = RedisConnection::connect_tls(&url, &tls).unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
}

#[test]
fn bad_pem_is_refused_without_being_echoed() {
    let pki = pki(&["localhost"], "tresor");
    for junk in [&b""[..], b"not pem", pki.client_key_pem.as_bytes()] {
        let e = RedisTls::from_ca_pem(junk).unwrap_err();
        assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");
    }
    // A key that is not PEM: its text never shows in the error.
    let secret =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==!!\n-----END PRIVATE KEY-----\n";
    let e = ca(&pki)
        .client_auth(pki.client_cert_pem.as_bytes(), secret.as_bytes())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("c2VjcmV0"));
    // A key that does not fit the certificate.
    let other = support::pki::pki(&["localhost"], "tresor");
    let e = ca(&pki)
        .client_auth(
            pki.client_cert_pem.as_bytes(),
            other.client_key_pem.as_bytes(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");
    // No certificate in the chain.
    let e = ca(&pki)
        .client_auth(b"", pki.client_key_pem.as_bytes())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTls { .. }), "{e:?}");
    // Debug never shows the key.
    let tls = ca(&pki)
        .client_auth(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .unwrap();
    let debug = format!("{tls:?}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
    // A missing file names its path.
    let e = RedisTls::from_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
    assert!(matches!(e, Error::TlsFile { .. }), "{e:?}");
}
