//! PostgreSQL for `tresor audit … --log postgres://…` (through
//! [`tresor_postgres::PostgresLog`]) and `tresor client … --store
//! postgres://…` (through `tresor_postgres::PostgresStore`), feature
//! `postgres`.
//!
//! The URL is never printed: it may hold a password. The password is best
//! given in `PGPASSWORD` rather than in the URL, where other users of the
//! machine could read it in the process list.

use std::io;
use std::time::Duration;

use std::path::Path;

use tresor_postgres::{Config, PoolOptions, PostgresLog, PostgresTls};

use crate::error::{CliError, Result};

/// How long a command waits for the server before failing as unavailable.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The connection settings of `url` for the command-line flag `flag`: the
/// password from `PGPASSWORD` when the URL has none, a 10 s connect
/// timeout unless the URL sets one, and a pool of two connections.
pub(crate) fn config(url: &str, flag: &str) -> Result<(Config, PoolOptions)> {
    let mut config: Config = url.parse().map_err(|_| {
        CliError::Usage(format!(
            "{flag}: not a valid PostgreSQL URL (postgres://USER@HOST:PORT/DB)"
        ))
    })?;
    if config.get_password().is_none()
        && let Ok(password) = std::env::var("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(TIMEOUT);
    }
    let options = PoolOptions {
        max_size: 2,
        checkout_timeout: TIMEOUT,
    };
    Ok((config, options))
}

/// TLS trusting only the CA in `ca` (PEM), given with the flag `flag`;
/// `None` without one.
pub(crate) fn tls(ca: Option<&Path>, flag: &str) -> Result<Option<PostgresTls>> {
    ca.map(|path| {
        PostgresTls::from_ca_file(path)
            .map_err(|e| CliError::Usage(format!("{flag} {path:?}: {e}")))
    })
    .transpose()
}

/// Opens the log `name` in the database at `url`, over TLS when `ca`
/// names a CA file. A writer (`create`) applies the migrations and creates
/// the log if needed; a reader changes nothing and fails if there is no
/// such log.
pub(crate) fn open(url: &str, name: &str, create: bool, ca: Option<&Path>) -> Result<PostgresLog> {
    let (config, options) = config(url, "--log")?;
    let tls = tls(ca, "--log-ca")?;
    let log = match (&tls, create) {
        (None, true) => PostgresLog::from_config(config, options, name),
        (None, false) => PostgresLog::open_existing(config, options, name),
        (Some(tls), true) => PostgresLog::from_config_tls(config, options, tls, name),
        (Some(tls), false) => PostgresLog::open_existing_tls(config, options, tls, name),
    };
    log.map_err(|err| match err {
        tresor_audit::Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            CliError::Usage(format!(
                "no audit log named {name:?} in the PostgreSQL database \
                 (`tresor audit append` creates one)"
            ))
        }
        other => other.into(),
    })
}
