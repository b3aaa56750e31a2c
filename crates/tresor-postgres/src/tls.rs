//! [`PostgresTls`]: TLS to the server through rustls (on ring), with the
//! server's certificate and host name always verified.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use zeroize::Zeroizing;

/// Why a [`PostgresTls`] could not be made, or does not fit the
/// connection string. Never carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {what} from {path}")]
    Read {
        /// Which file: `CA certificates`, `client certificate` or `client key`.
        what: &'static str,
        /// The file's path (never its content).
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The trust roots hold no usable certificate: not PEM, no
    /// `CERTIFICATE` block, or a certificate that is not a valid trust
    /// anchor.
    #[error("invalid CA certificates: {reason}")]
    InvalidCa {
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The client certificate chain is not PEM or holds no certificate.
    #[error("invalid client certificate: {reason}")]
    InvalidClientCert {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client key is not a PEM private key (PKCS#8, PKCS#1 or SEC1), or
    /// it does not fit the certificate. The key is never shown.
    #[error("invalid client key: {reason}")]
    InvalidClientKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The connection string says `sslmode=disable` but TLS was asked for:
    /// refused rather than connecting in plaintext.
    #[error("sslmode=disable contradicts the TLS configuration")]
    SslModeDisable,
    /// rustls refused the configuration (no TLS version in common with
    /// the ring provider).
    #[error("tls configuration refused")]
    Config(#[source] rustls::Error),
}

/// TLS for the connections to PostgreSQL, through rustls on the ring
/// provider (TLS 1.2 and 1.3; no OpenSSL).
///
/// **Guarantee**: every connection made with it is encrypted and
/// authenticated, or not made. The server's certificate must chain to one
/// of the trust roots given here (and only those: the platform's store is
/// not consulted), and must name the `host` of the connection string (a
/// DNS name, or an IP address matched against the certificate's IP
/// addresses); there is no mode that accepts any certificate. A server
/// that does not offer TLS is refused, never used in plaintext:
/// `sslmode=prefer` (the default) and `sslmode=require`, `verify-ca` and
/// `verify-full` all mean TLS with full verification, and
/// `sslmode=disable` is an error ([`TlsError::SslModeDisable`]).
///
/// With [`client_auth`](Self::client_auth), the client also presents a
/// certificate (mutual TLS, `clientcert=verify-full` in `pg_hba.conf`).
///
/// `Debug` shows how many roots and whether a client certificate is set,
/// never a key.
pub struct PostgresTls {
    roots: Arc<RootCertStore>,
    config: Arc<ClientConfig>,
    client_auth: bool,
}

impl std::fmt::Debug for PostgresTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTls")
            .field("roots", &self.roots.len())
            .field("client_auth", &self.client_auth)
            .finish()
    }
}

impl PostgresTls {
    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE`
    /// blocks; other blocks are ignored), and only those.
    pub fn from_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|_| TlsError::InvalidCa {
                reason: "malformed PEM",
            })?;
            roots.add(cert).map_err(|_| TlsError::InvalidCa {
                reason: "a certificate is not a valid trust anchor",
            })?;
        }
        if roots.is_empty() {
            return Err(TlsError::InvalidCa {
                reason: "no CERTIFICATE block",
            });
        }
        let roots = Arc::new(roots);
        let config = client_config(&roots, None)?;
        Ok(Self {
            roots,
            config,
            client_auth: false,
        })
    }

    /// Trusts the CA certificates in the PEM file at `path`, and only
    /// those (see [`from_ca_pem`](Self::from_ca_pem)).
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::from_ca_pem(&read(path.as_ref(), "CA certificates")?)
    }

    /// Presents a client certificate (mutual TLS): `cert_chain_pem` holds
    /// the client's certificate first, then any intermediates;
    /// `key_pem` its private key (PKCS#8, PKCS#1 or SEC1 PEM).
    pub fn client_auth(self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::InvalidClientCert {
                reason: "malformed PEM",
            })?;
        if chain.is_empty() {
            return Err(TlsError::InvalidClientCert {
                reason: "no CERTIFICATE block",
            });
        }
        // The PEM error could quote the key's text: not passed on.
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::InvalidClientKey {
                reason: "no PEM private key",
            })?;
        let config = client_config(&self.roots, Some((chain, key)))?;
        Ok(Self {
            roots: self.roots,
            config,
            client_auth: true,
        })
    }

    /// [`client_auth`](Self::client_auth) with the certificate chain and
    /// the key read from PEM files.
    pub fn client_auth_files(
        self,
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let chain = read(cert_chain_path.as_ref(), "client certificate")?;
        let key = Zeroizing::new(read(key_path.as_ref(), "client key")?);
        self.client_auth(&chain, &key)
    }

    /// Whether a client certificate is presented.
    pub fn has_client_auth(&self) -> bool {
        self.client_auth
    }

    pub(crate) fn config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.display().to_string(),
        source,
    })
}

/// A rustls client configuration on the ring provider, with the default
/// (WebPKI) verifier over `roots` and, if given, a client certificate.
///
/// rustls deprecates its ring provider for lacking the post-quantum hybrid
/// key exchange that only its aws-lc-rs provider has; this workspace keeps
/// to ring (no C toolchain, no cmake), as the bank_api example does.
#[allow(deprecated)]
fn client_config(
    roots: &Arc<RootCertStore>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_root_certificates(Arc::clone(roots));
    let config =
        match client {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|_| {
                TlsError::InvalidClientKey {
                    reason: "unsupported key, or it does not fit the certificate",
                }
            })?,
        };
    Ok(Arc::new(config))
}
