//! PKCS#11 modules: each loaded and initialised once per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};

use crate::error::Pkcs11Failure;
use crate::uri::Pkcs11Uri;
use crate::{BackendError, Error, Result};

/// A loaded and initialised module, shared by every token opened on it.
#[derive(Clone)]
pub(crate) struct Module {
    pub(crate) path: PathBuf,
    pub(crate) pkcs11: Pkcs11,
}

/// Modules by canonical path. `C_Initialize` may be called once per
/// process, so a module is never loaded twice, and it is never finalised:
/// it lives as long as the process.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The module a URI names: `module-path` is its file, or the directory
/// holding `module-name` (`lib` + name + the platform's library suffix, or
/// the name as given if that exists).
pub(crate) fn module_file(uri: &Pkcs11Uri) -> Result<PathBuf> {
    let path = uri.module_path().ok_or(Error::NoModule)?;
    match uri.module_name() {
        Some(name) if path.is_dir() => {
            let plain = path.join(name);
            let decorated = path.join(format!(
                "{}{name}{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ));
            Ok(if plain.is_file() { plain } else { decorated })
        }
        _ => Ok(path.to_owned()),
    }
}

/// Loads and initialises the module at `path` (with OS locking, so it may
/// be called from several threads), or returns the one already loaded.
///
/// A module that some other part of the process has initialised already
/// (`CKR_CRYPTOKI_ALREADY_INITIALIZED`) is used as it is.
pub(crate) fn load(path: &Path) -> Result<Module> {
    let fail = |source: BackendError| Error::Module {
        path: path.to_owned(),
        source,
    };
    let canonical = path
        .canonicalize()
        .map_err(|err| fail(BackendError::new(err)))?;
    let mut modules = MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(pkcs11) = modules.get(&canonical) {
        return Ok(Module {
            path: canonical,
            pkcs11: pkcs11.clone(),
        });
    }
    let pkcs11 = Pkcs11::new(&canonical).map_err(|err| fail(BackendError::new(err)))?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(err) => return Err(fail(BackendError::new(Pkcs11Failure(err)))),
    }
    modules.insert(canonical.clone(), pkcs11.clone());
    Ok(Module {
        path: canonical,
        pkcs11,
    })
}

/// Checks the URI's `library-*` attributes against the module's `C_GetInfo`.
pub(crate) fn check_library(module: &Module, uri: &Pkcs11Uri) -> Result<()> {
    if uri.library_manufacturer().is_none()
        && uri.library_description().is_none()
        && uri.library_version().is_none()
    {
        return Ok(());
    }
    let info = module
        .pkcs11
        .get_library_info()
        .map_err(|err| Error::Module {
            path: module.path.clone(),
            source: BackendError::new(Pkcs11Failure(err)),
        })?;
    let mismatch = |attribute| Error::ModuleMismatch {
        path: module.path.clone(),
        attribute,
    };
    if uri
        .library_manufacturer()
        .is_some_and(|m| m != info.manufacturer_id())
    {
        return Err(mismatch("library-manufacturer"));
    }
    if uri
        .library_description()
        .is_some_and(|d| d != info.library_description())
    {
        return Err(mismatch("library-description"));
    }
    if let Some(version) = uri.library_version() {
        let have = info.library_version();
        if (version.major, version.minor) != (have.major(), have.minor()) {
            return Err(mismatch("library-version"));
        }
    }
    Ok(())
}
