//! Key files and token keys: loading them into a keyring.

use std::path::Path;
use std::sync::Arc;

use tresor_envelope::{Error, KeyEncryptionKey, Keyring, LocalKek};
use tresor_pkcs11::Pkcs11Kek;

use crate::error::{CliError, Result};
use crate::hsm;

/// Loads one key file, naming the file in any error.
pub(crate) fn load(path: &Path) -> Result<LocalKek> {
    LocalKek::load(path).map_err(|source| CliError::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// A key-encryption key: a key file, or an AES-256 key in a token named
/// by a `pkcs11:` URI.
pub(crate) fn kek(path: &Path) -> Result<Arc<dyn KeyEncryptionKey>> {
    Ok(match hsm::uri(path)? {
        Some(uri) => Arc::new(Pkcs11Kek::open(&uri)?),
        None => Arc::new(load(path)?),
    })
}

/// Loads key files (or `pkcs11:` URIs of AES-256 keys in a token) into a
/// keyring whose primary is the first one.
pub(crate) fn keyring(paths: &[impl AsRef<Path>]) -> Result<Keyring> {
    let mut keyring = Keyring::new();
    for path in paths {
        let path = path.as_ref();
        let kek = kek(path)?;
        let id = kek.key_id().to_owned();
        keyring.add_shared(kek).map_err(|err| match err {
            Error::DuplicateKek { key_id } => CliError::Usage(format!(
                "key file {path:?}: key id {key_id:?} is already given by another key file"
            )),
            other => other.into(),
        })?;
        if keyring.primary_id().is_none() {
            keyring.set_primary(&id)?;
        }
    }
    Ok(keyring)
}
