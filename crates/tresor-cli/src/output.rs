//! Where a command writes to: standard output, or a file that appears only
//! once the command has succeeded.
//!
//! A file output is written to a temporary file in the target's directory
//! (`.tresor-XXXXXX.tmp`, mode 0600), synced to disk, and renamed over the
//! target only at the end. On any error the temporary file is deleted (by
//! `NamedTempFile`'s destructor), and on SIGINT, SIGTERM or SIGHUP by the
//! interrupt handler, so a failed or interrupted command leaves no partial
//! output behind and an existing target untouched. Only SIGKILL or a crash
//! of the machine can leave the temporary file.
//!
//! A target that is a symbolic link to a regular file is resolved, so the
//! link is kept and its target replaced. A target that exists and is not a
//! regular file (`/dev/null`, a FIFO, `/dev/stdout`) is written directly,
//! like standard output: renaming over it would replace the device or link.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use tempfile::NamedTempFile;

use crate::args::file_path;
use crate::error::{CliError, Result};
use crate::input::Input;

/// Write buffer: a default frame and its tag fit in one write.
const BUFFER: usize = 64 << 10;

/// Exit code after an interruption: 128 + SIGINT, as shells report Ctrl-C.
const INTERRUPTED: i32 = 130;

/// The temporary file being written, for the interrupt handler to delete.
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);

fn pending() -> MutexGuard<'static, Option<PathBuf>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP: it deletes the
/// temporary output file, if any, reports the interruption and exits with
/// code 130. It never touches any file but the tool's own temporary one.
pub(crate) fn handle_interrupts() -> Result<()> {
    ctrlc::set_handler(|| {
        // Held until exit: the main thread cannot rename the file meanwhile.
        let pending = pending();
        if let Some(path) = pending.as_ref() {
            let _ = std::fs::remove_file(path);
        }
        let mut stderr = io::stderr().lock();
        if stderr.is_terminal() {
            // Clear a progress bar's line.
            let _ = write!(stderr, "\r\x1b[2K");
        }
        let _ = writeln!(stderr, "tresor: error: interrupted");
        std::process::exit(INTERRUPTED);
    })
    .map_err(|err| CliError::Usage(format!("cannot install the signal handler: {err}")))
}

/// The temporary file's registration with the interrupt handler; dropping
/// it unregisters the file.
struct Registration;

impl Registration {
    fn new(path: &Path) -> Self {
        *pending() = Some(path.to_owned());
        Registration
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        *pending() = None;
    }
}

/// An output being written.
pub(crate) enum Output {
    /// Standard output: written as it comes and cannot be taken back.
    Stdout(StdoutLock<'static>),
    /// An existing special file (device, FIFO): written directly, like
    /// standard output.
    Special(BufWriter<File>, PathBuf),
    /// A file, written to a temporary file and renamed on success.
    File(Box<PendingFile>),
}

/// A file output in progress.
pub(crate) struct PendingFile {
    // Field order matters: the temporary file is deleted (on drop) before it
    // is unregistered.
    writer: BufWriter<NamedTempFile>,
    target: PathBuf,
    /// Whether an existing target is replaced (else the rename fails).
    replace: bool,
    _registration: Registration,
}

impl Output {
    /// Opens `--out`: standard output for `-` or no flag; an existing special
    /// file directly; else a temporary file beside the (resolved) target.
    /// Refuses a target that is the input itself, or a directory.
    pub(crate) fn create(path: Option<&Path>, input: &Input) -> Result<Self> {
        let Some(target) = file_path(path) else {
            return Ok(Output::Stdout(io::stdout().lock()));
        };
        let target = match std::fs::metadata(target) {
            Err(_) => target.to_owned(),
            Ok(metadata) if metadata.is_file() => {
                if is_same_file(input, target, &metadata) {
                    return Err(CliError::Usage(format!(
                        "--out {target:?} is the input file; write to another file (and rename it)"
                    )));
                }
                // Through symbolic links, so they are kept.
                target
                    .canonicalize()
                    .map_err(|err| CliError::file("cannot write output", target, err))?
            }
            Ok(metadata) if metadata.is_dir() => {
                return Err(CliError::Usage(format!("--out {target:?} is a directory")));
            }
            Ok(_) => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(|err| CliError::file("cannot write output", target, err))?;
                return Ok(Output::Special(
                    BufWriter::with_capacity(BUFFER, file),
                    target.to_owned(),
                ));
            }
        };
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".tresor-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|err| CliError::file("cannot create output in", dir, err))?;
        let registration = Registration::new(temp.path());
        Ok(Output::File(Box::new(PendingFile {
            writer: BufWriter::with_capacity(BUFFER, temp),
            target,
            replace: true,
            _registration: registration,
        })))
    }

    /// Opens a new file `target` that must not exist: written to a
    /// temporary file beside it with permissions `mode` (Unix), and renamed
    /// to `target` on [`Output::finish`] without ever replacing a file that
    /// appeared meanwhile (the rename itself refuses to overwrite).
    pub(crate) fn create_new(target: &Path, mode: u32) -> Result<Self> {
        if target.symlink_metadata().is_ok() {
            return Err(CliError::Usage(format!(
                "{target:?} exists already: refusing to overwrite it"
            )));
        }
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".tresor-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|err| CliError::file("cannot create output in", dir, err))?;
        set_mode(temp.as_file(), mode)
            .map_err(|err| CliError::file("cannot create", target, err))?;
        let registration = Registration::new(temp.path());
        Ok(Output::File(Box::new(PendingFile {
            writer: BufWriter::with_capacity(BUFFER, temp),
            target: target.to_owned(),
            replace: false,
            _registration: registration,
        })))
    }

    /// Whether the output is a terminal.
    pub(crate) fn is_terminal(&self) -> bool {
        match self {
            Output::Stdout(stdout) => stdout.is_terminal(),
            Output::Special(file, _) => file.get_ref().is_terminal(),
            Output::File(_) => false,
        }
    }

    /// Completes the output: flushes standard output, or syncs the temporary
    /// file to disk and renames it to the target.
    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Output::Stdout(mut stdout) => stdout.flush().map_err(CliError::Stdout),
            Output::Special(mut file, path) => file
                .flush()
                .map_err(|err| CliError::file("cannot write output", path, err)),
            Output::File(file) => file.persist(),
        }
    }
}

impl PendingFile {
    fn persist(self) -> Result<()> {
        let PendingFile {
            writer,
            target,
            replace,
            _registration: registration,
        } = self;
        let write_error = |err| CliError::file("cannot write output", &target, err);
        let temp = writer
            .into_inner()
            .map_err(|err| write_error(err.into_error()))?;
        temp.as_file().sync_all().map_err(write_error)?;
        {
            // No interrupt between the rename and the unregistration.
            let mut pending = pending();
            let persisted = if replace {
                temp.persist(&target)
            } else {
                temp.persist_noclobber(&target)
            };
            persisted.map_err(|err| {
                if err.error.kind() == io::ErrorKind::AlreadyExists {
                    CliError::Usage(format!(
                        "{target:?} exists already: refusing to overwrite it"
                    ))
                } else {
                    CliError::file("cannot write output", &target, err.error)
                }
            })?;
            *pending = None;
        }
        drop(registration);
        sync_parent(&target);
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(stdout) => stdout.write(buf),
            Output::Special(file, _) => file.write(buf),
            Output::File(file) => file.writer.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(stdout) => stdout.write_all(buf),
            Output::Special(file, _) => file.write_all(buf),
            Output::File(file) => file.writer.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(stdout) => stdout.flush(),
            Output::Special(file, _) => file.flush(),
            Output::File(file) => file.writer.flush(),
        }
    }
}

/// Whether the regular file `target` is the input (by path, by link, or as
/// standard input redirected from it).
fn is_same_file(input: &Input, target: &Path, target_metadata: &Metadata) -> bool {
    if input
        .metadata()
        .is_some_and(|input| same_inode(input, target_metadata))
    {
        return true;
    }
    input.path().is_some_and(|input| {
        matches!(
            (input.canonicalize(), target.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
    })
}

/// On Unix, files are the same when device and inode are (this also catches
/// hard links).
#[cfg(unix)]
fn same_inode(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Elsewhere only the canonical paths are compared.
#[cfg(not(unix))]
fn same_inode(_: &Metadata, _: &Metadata) -> bool {
    false
}

/// Sets a file's permission bits.
#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Permission bits are Unix only.
#[cfg(not(unix))]
fn set_mode(_: &File, _: u32) -> io::Result<()> {
    Ok(())
}

/// Syncs the directory holding `target`, so the rename is durable. Best
/// effort: the output is complete and in place already.
fn sync_parent(target: &Path) {
    if cfg!(unix) {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

/// Prints `value` as JSON and a newline on standard output.
pub(crate) fn print_json(value: &impl Serialize, pretty: bool) -> Result<()> {
    let json = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|err| CliError::Stdout(err.into()))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{json}")
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}
