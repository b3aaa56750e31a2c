//! Transport: the TLS configuration of the demo, and its self-signed PKI.
//!
//! [`strong_provider`] is the reusable part: TLS 1.2 and 1.3 only, AES-128-GCM
//! and AES-256-GCM only, always with an ephemeral (EC)DHE key exchange, on
//! *ring* (no OpenSSL, no aws-lc). [`server_config`] and [`client_config`]
//! build on it; the client trusts only the CA it is given, never the
//! system's roots.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::data::write_new;

/// The "strong AES128/256 TLSv1.2" configuration, extended to TLS 1.3:
/// AES-GCM cipher suites with ECDHE only (no CBC, no ChaCha20, no RSA key
/// exchange, no static DH), X25519, P-256 and P-384 for the key exchange.
///
/// rustls deprecates the *ring* provider because it lacks the post-quantum
/// hybrid key exchange (X25519MLKEM768), which only its aws-lc-rs provider
/// offers; this project keeps to *ring* (no C toolchain, no cmake).
#[allow(deprecated)]
pub(crate) fn strong_provider() -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    provider
}

/// The protocol versions: TLS 1.3 and 1.2, nothing older.
pub(crate) const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A server configuration on [`strong_provider`], HTTP/1.1 by ALPN.
pub(crate) fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(strong_provider()))
        .with_protocol_versions(VERSIONS)?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration on [`strong_provider`] that trusts `ca` alone.
pub(crate) fn client_config(ca: CertificateDer<'static>) -> Result<ClientConfig, rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(ca)?;
    let mut config = ClientConfig::builder_with_provider(Arc::new(strong_provider()))
        .with_protocol_versions(VERSIONS)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The demo PKI as loaded from the data directory.
pub(crate) struct Pki {
    pub(crate) ca: CertificateDer<'static>,
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

/// Loads `ca.pem`, `server-cert.pem` and `server-key.pem` from `dir`, or
/// creates them: a CA (whose private key is used once, for the server
/// certificate, and never stored) and a server certificate for `localhost`
/// and 127.0.0.1.
pub(crate) fn load_or_create_pki(dir: &Path) -> Result<(Pki, bool), Box<dyn std::error::Error>> {
    let (ca_path, cert_path, key_path) = (
        dir.join("ca.pem"),
        dir.join("server-cert.pem"),
        dir.join("server-key.pem"),
    );
    let created = !ca_path.exists();
    if created {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tresor bank_api demo CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&server_key, &issuer)?;
        write_new(&key_path, server_key.serialize_pem().as_bytes(), true)?;
        write_new(&cert_path, cert.pem().as_bytes(), false)?;
        write_new(&ca_path, ca_cert.pem().as_bytes(), false)?;
    }
    let ca = CertificateDer::from_pem_file(&ca_path).map_err(pem_error)?;
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    let key_pem = zeroize::Zeroizing::new(fs::read(&key_path)?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(pem_error)?;
    Ok((Pki { ca, chain, key }, created))
}

fn pem_error(e: rustls::pki_types::pem::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("PEM: {e}"))
}
