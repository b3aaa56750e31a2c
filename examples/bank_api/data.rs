//! The data directory: every key and store the demo keeps, created on the
//! first run and reused on the next ones.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to a new file at `path` (never over an existing one),
/// mode 0600 when `secret`, and syncs it.
pub(crate) fn write_new(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    written
}

/// The layout of the data directory.
#[derive(Clone, Debug)]
pub(crate) struct DataDir {
    pub(crate) root: PathBuf,
}

impl DataDir {
    /// Opens (creating, mode 0700) the directory.
    pub(crate) fn open(root: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(root)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700))?;
        }
        fs::create_dir_all(root.join("kek"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}
