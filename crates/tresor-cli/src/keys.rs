//! Key files: loading them into a keyring.

use std::path::Path;

use tresor_envelope::{Error, KeyEncryptionKey, Keyring, LocalKek};

use crate::error::{CliError, Result};

/// Loads one key file, naming the file in any error.
pub(crate) fn load(path: &Path) -> Result<LocalKek> {
    LocalKek::load(path).map_err(|source| CliError::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Loads key files into a keyring whose primary is the first one.
pub(crate) fn keyring(paths: &[impl AsRef<Path>]) -> Result<Keyring> {
    let mut keyring = Keyring::new();
    for path in paths {
        let path = path.as_ref();
        let kek = load(path)?;
        let id = kek.key_id().to_owned();
        keyring.add(kek).map_err(|err| match err {
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
