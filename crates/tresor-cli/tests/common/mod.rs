//! What the CLI test files share: a scratch directory the binary runs in,
//! and the check that a failure is one clean `tresor: error:` line.
// Each test binary uses a different subset.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;

/// The binary under test.
pub(crate) const TRESOR: &str = env!("CARGO_BIN_EXE_tresor");

/// A scratch directory in which the binary runs (paths are relative to it).
pub(crate) struct Sandbox {
    tmp: TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Sandbox {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub(crate) fn exists(&self, name: &str) -> bool {
        self.path(name).symlink_metadata().is_ok()
    }

    /// The names in the directory, temporary files included.
    pub(crate) fn listing(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.root())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    /// Every file's name and content.
    pub(crate) fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        self.listing()
            .into_iter()
            .map(|name| {
                let content = std::fs::read(self.path(&name)).unwrap_or_default();
                (name, content)
            })
            .collect()
    }

    /// `tresor args`, to run in this directory.
    pub(crate) fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(TRESOR);
        command.args(args).current_dir(self.root());
        command
    }

    /// Runs `tresor args` with `stdin` on standard input (empty if `None`).
    pub(crate) fn run_with<S: AsRef<OsStr>>(&self, args: &[S], stdin: Option<&[u8]>) -> Output {
        let Some(stdin) = stdin else {
            return self.command(args).stdin(Stdio::null()).output().unwrap();
        };
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        let input = stdin.to_vec();
        // A writer thread, so a child that fails early or writes a lot of
        // output cannot deadlock the test.
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        output
    }
}

/// Checks that `output` is a clean failure: exit code 1 and exactly one
/// line on stderr, starting `tresor: error:` and containing `expected`.
/// Returns that line.
pub(crate) fn failure(output: &Output, expected: &str) -> String {
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.starts_with("tresor: error: ") && stderr.ends_with('\n'),
        "not a tresor error line: {stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "more than one line: {stderr:?}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
    stderr
}
