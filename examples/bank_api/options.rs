//! The command-line options and their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Command-line options.
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) data_dir: PathBuf,
    pub(crate) load: usize,
    pub(crate) concurrency: usize,
    pub(crate) serve: bool,
    pub(crate) listen: Option<SocketAddr>,
    /// `--postgres URL`: client registrations and the audit log in this
    /// PostgreSQL database, shared with every other instance given it.
    pub(crate) postgres: Option<String>,
    /// `--redis URL`: nonces, assertion ids and rate limits in this Redis,
    /// shared with every other instance given it.
    pub(crate) redis: Option<String>,
    /// `--postgres-ca FILE`: connect to PostgreSQL over TLS, trusting this
    /// CA (PEM) only.
    pub(crate) postgres_ca: Option<PathBuf>,
    /// `--redis-ca FILE`: connect to Redis (`rediss://`) trusting this CA
    /// (PEM) only.
    pub(crate) redis_ca: Option<PathBuf>,
    /// How long a client may take over its TLS handshake and over each
    /// request head (request line and headers); then the server closes the
    /// connection (slow clients, slowloris). Not a flag: the router's
    /// integration test shortens it.
    pub(crate) header_read_timeout: Duration,
    /// How long a client may take to send a request's body once its head
    /// has arrived (the whole body, not each piece of it: a body trickled
    /// byte by byte is cut off too). Then the server answers 408 and
    /// closes the connection. Not a flag either.
    pub(crate) body_read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tresor-demo-data"),
            load: 2000,
            concurrency: 32,
            serve: false,
            listen: None,
            postgres: None,
            redis: None,
            postgres_ca: None,
            redis_ca: None,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}
