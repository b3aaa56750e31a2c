//! `tresor`: envelope encryption, HTTP message signatures, API client
//! credentials and tamper-evident audit logs from the shell. The commands
//! are documented in the crate's `README.md` and by `tresor --help`; the
//! code is in the `tresor_cli` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    tresor_cli::run()
}
