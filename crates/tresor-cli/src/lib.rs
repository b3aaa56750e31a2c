//! The `tresor` command-line tool as a library: the tool's commands run
//! from [`run`] (what the `tresor` binary calls), and [`rawhttp`], the
//! raw HTTP/1.1 message parser and writer the `tresor http` commands read
//! and write messages with, for the fuzz targets, the tests and any other
//! caller that signs or verifies messages kept as files.
//!
//! The commands, their flags, exit codes and guarantees are documented in
//! the crate's `README.md`; `tresor --help` and `tresor COMMAND --help`
//! list the flags.
//!
//! [`rawhttp`] guarantees: a parsed [`rawhttp::RawMessage`] writes back to
//! exactly the bytes it was read from; every input is either parsed within
//! the limits [`rawhttp::MAX_HEAD`], [`rawhttp::MAX_FIELDS`] and
//! [`rawhttp::MAX_BODY`] or refused with an error that names the line and
//! the defect; nothing panics on any input.

pub mod rawhttp;

mod args;
mod cmd;
mod error;
mod hsm;
mod input;
mod keys;
mod output;
#[cfg(feature = "postgres")]
mod pglog;
mod progress;
mod proof;
mod sigkeys;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, FlagError};

/// Runs the `tresor` tool: parses the command line, runs the command, and
/// reports its failure as one line on standard error with exit code 1 (2
/// for an unreadable proof). A flag value refused by its value parser is
/// such a failure too; clap reports other malformed command lines itself,
/// with exit code 2. The `tresor` binary's `main`; not a stable API.
#[doc(hidden)]
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => match flag_error(&err) {
            Some(flag) => return fail(&error::CliError::Usage(flag.to_string())),
            None => err.exit(),
        },
    };
    match output::handle_interrupts().and_then(|()| cmd::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

/// The tool's own message for a flag value its value parser refused.
fn flag_error(err: &clap::Error) -> Option<&FlagError> {
    if err.kind() != clap::error::ErrorKind::ValueValidation {
        return None;
    }
    std::error::Error::source(err)?.downcast_ref::<FlagError>()
}

/// Reports `err` as one `tresor: error:` line; its exit code.
fn fail(err: &error::CliError) -> ExitCode {
    let _ = writeln!(io::stderr().lock(), "tresor: error: {}", err.one_line());
    ExitCode::from(err.exit_code())
}
