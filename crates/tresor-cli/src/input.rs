//! Where a command reads from: a file or standard input.

use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::args::file_path;
use crate::error::{CliError, Result};

/// Read buffer for files: one default frame, so frames are read in one call.
const BUFFER: usize = 64 << 10;

/// An opened input.
pub(crate) struct Input {
    reader: Box<dyn Read>,
    path: Option<PathBuf>,
    metadata: Option<Metadata>,
}

impl Input {
    /// Opens `--in`: the file, or standard input for `-` or no flag.
    ///
    /// Files are read through a buffer of one default frame; `buffered:
    /// false` reads them directly, for commands that read a few bytes only.
    pub(crate) fn open(path: Option<&Path>, buffered: bool) -> Result<Self> {
        let Some(path) = file_path(path) else {
            return Ok(Input {
                reader: Box::new(io::stdin().lock()),
                path: None,
                metadata: stdin_metadata(),
            });
        };
        let file =
            File::open(path).map_err(|err| CliError::file("cannot open input", path, err))?;
        let metadata = file
            .metadata()
            .map_err(|err| CliError::file("cannot open input", path, err))?;
        if metadata.is_dir() {
            return Err(CliError::Usage(format!(
                "cannot open input {path:?}: it is a directory"
            )));
        }
        let reader: Box<dyn Read> = if buffered {
            Box::new(BufReader::with_capacity(BUFFER, file))
        } else {
            Box::new(file)
        };
        Ok(Input {
            reader,
            path: Some(path.to_owned()),
            metadata: Some(metadata),
        })
    }

    /// The input's size in bytes, when it is a regular file (given by path or
    /// redirected to standard input).
    pub(crate) fn len(&self) -> Option<u64> {
        self.metadata
            .as_ref()
            .filter(|metadata| metadata.is_file())
            .map(Metadata::len)
    }

    /// The file's path, or `None` for standard input.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's metadata (also for standard input, where available).
    pub(crate) fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// The reader.
    pub(crate) fn reader(&mut self) -> &mut dyn Read {
        &mut self.reader
    }

    /// Consumes the input and returns its reader.
    pub(crate) fn into_reader(self) -> Box<dyn Read> {
        self.reader
    }
}

/// Metadata of whatever standard input is (file, pipe, terminal).
#[cfg(unix)]
fn stdin_metadata() -> Option<Metadata> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    File::from(fd).metadata().ok()
}

/// Metadata of standard input: not available on this platform.
#[cfg(not(unix))]
fn stdin_metadata() -> Option<Metadata> {
    None
}

/// Reads a small text file whole (a key, a proof, a checkpoint): at most
/// `max` bytes, UTF-8, wiped from memory on drop. `what` names the file in
/// errors, e.g. `key file` or `--proof`.
pub(crate) fn read_small_text(
    path: &Path,
    max: u64,
    what: &str,
) -> Result<zeroize::Zeroizing<String>> {
    let io_error = |verb: &str, err: io::Error| {
        CliError::Usage(format!("cannot {verb} {what} {path:?}: {err}"))
    };
    let file = File::open(path).map_err(|err| io_error("open", err))?;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| io_error("read", err))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(CliError::Usage(format!(
            "{what} {path:?} is larger than {max} bytes"
        )));
    }
    let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|err| {
        // Wipe the bytes the failed conversion hands back.
        drop(zeroize::Zeroizing::new(err.into_bytes()));
        CliError::Usage(format!("{what} {path:?} is not text"))
    })?;
    Ok(zeroize::Zeroizing::new(text))
}
