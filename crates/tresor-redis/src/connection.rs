//! The connection to Redis shared by the stores: a small runtime of its
//! own, a reconnecting connection manager, a timeout on every call.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The trust roots and the optional client certificate of a TLS
/// connection to Redis ([`RedisConnection::connect_tls`]), through rustls
/// on ring: TLS 1.2 and 1.3, the server's certificate and host name always
/// verified.
///
/// Made from PEM, checked when made. `Debug` shows the number of CA
/// certificates and whether a client certificate is set, never a key; the
/// key's bytes are wiped when the value is dropped.
pub struct RedisTls {
    ca_pem: Vec<u8>,
    ca_count: usize,
    client: Option<(Vec<u8>, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("roots", &self.ca_count)
            .field("client_auth", &self.client.is_some())
            .finish()
    }
}

impl RedisTls {
    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE`
    /// blocks), and only those.
    pub fn from_ca_pem(pem: &[u8]) -> Result<Self> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::InvalidTls {
                reason: "CA certificates: malformed PEM",
            })?;
        if certs.is_empty() {
            return Err(Error::InvalidTls {
                reason: "CA certificates: no CERTIFICATE block",
            });
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in &certs {
            roots.add(cert.clone()).map_err(|_| Error::InvalidTls {
                reason: "CA certificates: not a valid trust anchor",
            })?;
        }
        Ok(Self {
            ca_pem: pem.to_vec(),
            ca_count: certs.len(),
            client: None,
        })
    }

    /// Trusts the CA certificates in the PEM file at `path`, and only
    /// those.
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_ca_pem(&read(path.as_ref())?)
    }

    /// Presents a client certificate (mutual TLS, `tls-auth-clients yes`
    /// on the server): `cert_chain_pem` holds the client's certificate
    /// first, then any intermediates; `key_pem` its private key (PKCS#8,
    /// PKCS#1 or SEC1 PEM).
    pub fn client_auth(self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::InvalidTls {
                reason: "client certificate: malformed PEM",
            })?;
        if chain.is_empty() {
            return Err(Error::InvalidTls {
                reason: "client certificate: no CERTIFICATE block",
            });
        }
        // The PEM error could quote the key's text: not passed on.
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| Error::InvalidTls {
            reason: "client key: no PEM private key",
        })?;
        check_client_key(chain, key)?;
        Ok(Self {
            client: Some((cert_chain_pem.to_vec(), Zeroizing::new(key_pem.to_vec()))),
            ..self
        })
    }

    /// [`client_auth`](Self::client_auth) with the certificate chain and
    /// the key read from PEM files.
    pub fn client_auth_files(
        self,
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self> {
        let chain = read(cert_chain_path.as_ref())?;
        let key = Zeroizing::new(read(key_path.as_ref())?);
        self.client_auth(&chain, &key)
    }

    /// Whether a client certificate is presented.
    pub fn has_client_auth(&self) -> bool {
        self.client.is_some()
    }
}

/// Whether rustls (on ring) takes `key` for `chain`: a supported key that
/// fits the certificate. Checked now rather than at the first connection.
#[allow(deprecated)] // ring lacks the post-quantum key exchange; kept, as everywhere in tresor
fn check_client_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_client_auth_cert(chain, key)
        })
        .map(drop)
        .map_err(|_| Error::InvalidTls {
            reason: "client key: unsupported, or it does not fit the certificate",
        })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::TlsFile {
        path: path.display().to_string(),
        source,
    })
}

fn is_tls(client: &redis::Client) -> bool {
    matches!(
        client.get_connection_info().addr(),
        redis::ConnectionAddr::TcpTls { .. }
    )
}

/// The `#insecure` fragment would skip the certificate checks: refused,
/// whichever features of the `redis` crate some other crate enables.
fn refuse_insecure(client: &redis::Client) -> Result<()> {
    match client.get_connection_info().addr() {
        redis::ConnectionAddr::TcpTls { insecure: true, .. } => Err(Error::InvalidTls {
            reason: "the #insecure fragment is refused",
        }),
        _ => Ok(()),
    }
}

/// The `redis` crate builds its rustls configuration on the process's
/// default crypto provider. When the application has not installed one,
/// install ring (what rustls itself would pick in this build), so that a
/// build that also compiles another provider does not panic at connect.
#[allow(deprecated)] // ring lacks the post-quantum key exchange; kept, as everywhere in tresor
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing the race to another thread's install is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The default timeout of every call to Redis: 250 ms.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// Why a call to Redis failed: the source of the stores' outage errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// Redis answered with an error, or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// No answer within the timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// The script answered something it never answers.
    #[error("unexpected answer from the redis script: {0}")]
    Unexpected(i64),
}

struct Inner {
    /// `Some` until dropped; shut down in the background on drop, so that
    /// dropping a store inside an async context does not panic.
    runtime: Option<tokio::runtime::Runtime>,
    manager: ConnectionManager,
    timeout: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A connection to one Redis server, shared by clones (and by a
/// `RedisNonceStore` and a
/// `RedisReplayCache` made from it).
///
/// It owns a tokio runtime with one worker thread and a
/// [`ConnectionManager`] that reconnects by itself after the server went
/// away. Every call is bounded by the timeout (default
/// [`DEFAULT_TIMEOUT`]); a call that fails or times out is an outage of
/// the store, and the next call tries again on the (re)established
/// connection.
///
/// **The calls block** the calling thread until Redis answers or the
/// timeout passes. Call the stores from ordinary threads or from
/// `tokio::task::spawn_blocking` (as the tresor tower layers do), never
/// from inside an async task: tokio panics when a runtime is entered from
/// an async context.
#[derive(Clone)]
pub struct RedisConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Connects to the server at `url` (`redis://host:port/db`, or
    /// `redis+unix:///path`) with the default timeout.
    ///
    /// Fails with [`Error::Unreachable`] if the server cannot be reached
    /// now: a misconfigured address is found at start, not at the first
    /// request.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// Connects with `timeout` as the bound of every call (and of the
    /// first connection).
    ///
    /// A `rediss://` url connects over TLS (rustls) and trusts the
    /// platform's root certificates; for a private CA or a client
    /// certificate use [`connect_tls`](Self::connect_tls).
    ///
    /// When the first connection fails, the error says why (one more
    /// attempt, bounded by `timeout`, finds the reason the reconnecting
    /// manager hides), so failing can take up to twice `timeout`.
    pub fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|source| Error::InvalidUrl { source })?;
        if is_tls(&client) {
            refuse_insecure(&client)?;
            ensure_crypto_provider();
        }
        Self::start(client, timeout)
    }

    /// Connects to the server at `url` (`rediss://host:port/db`) over TLS
    /// (rustls) with `tls` and the default timeout.
    ///
    /// The server's certificate must chain to the CA certificates of `tls`
    /// (and only those: the platform's roots are not consulted) and name
    /// the host of `url` (a DNS name, or an IP address matched against the
    /// certificate's IP addresses); otherwise the connection fails with
    /// [`Error::Unreachable`], now and on every reconnection. A `redis://`
    /// url, or the `#insecure` fragment, is refused with
    /// [`Error::InvalidTls`]: there is no fallback to plaintext and no mode
    /// that skips verification. Every reconnection verifies again.
    ///
    /// The `redis` crate builds its rustls configuration on the process's
    /// default crypto provider: if the application has installed none,
    /// this installs ring's.
    pub fn connect_tls(url: &str, tls: &RedisTls) -> Result<Self> {
        Self::connect_tls_with_timeout(url, tls, DEFAULT_TIMEOUT)
    }

    /// [`connect_tls`](Self::connect_tls) with `timeout` as the bound of
    /// every call (and of the first connection).
    pub fn connect_tls_with_timeout(url: &str, tls: &RedisTls, timeout: Duration) -> Result<Self> {
        let plain = redis::Client::open(url).map_err(|source| Error::InvalidUrl { source })?;
        if !is_tls(&plain) {
            return Err(Error::InvalidTls {
                reason: "TLS needs a rediss:// url",
            });
        }
        refuse_insecure(&plain)?;
        let certificates = redis::TlsCertificates {
            client_tls: tls
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.to_vec(),
                }),
            root_cert: Some(tls.ca_pem.clone()),
        };
        // The PEM was checked by `RedisTls`; the only other refusal is a
        // url that is not `rediss://`, checked above.
        let client =
            redis::Client::build_with_tls(url, certificates).map_err(|_| Error::InvalidTls {
                reason: "the certificates or the key were refused",
            })?;
        ensure_crypto_provider();
        Self::start(client, timeout)
    }

    fn start(client: redis::Client, timeout: Duration) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tresor-redis")
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime { source })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(1));
        let manager = runtime.block_on(async {
            // Made inside the runtime: a timer needs its context.
            match tokio::time::timeout(
                timeout,
                ConnectionManager::new_with_config(client.clone(), config),
            )
            .await
            {
                Ok(made) => made.map_err(|e| Error::Unreachable {
                    source: Box::new(e),
                }),
                // The manager retries until the timeout and so hides
                // why: one plain attempt tells (a refused certificate,
                // a refused connection), else it was the timeout.
                Err(_) => Err(Error::Unreachable {
                    source: match tokio::time::timeout(
                        timeout,
                        client.get_multiplexed_async_connection(),
                    )
                    .await
                    {
                        Ok(Err(e)) => Box::new(e),
                        _ => Box::new(CallError::Timeout(timeout)),
                    },
                }),
            }
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                manager,
                timeout,
            }),
        })
    }

    /// The bound of every call.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Runs `call` on a clone of the connection manager, on the store's
    /// runtime, blocking until it answers or the timeout passes.
    pub(crate) fn run<T, F, Fut>(&self, call: F) -> std::result::Result<T, CallError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = std::result::Result<T, CallError>>,
    {
        let inner = &*self.inner;
        let Some(runtime) = inner.runtime.as_ref() else {
            // Only `Drop` takes the runtime, and it holds `&mut self`.
            return Err(CallError::Timeout(inner.timeout));
        };
        let fut = call(inner.manager.clone());
        match runtime.block_on(async { tokio::time::timeout(inner.timeout, fut).await }) {
            Ok(answer) => answer,
            Err(_) => Err(CallError::Timeout(inner.timeout)),
        }
    }
}
