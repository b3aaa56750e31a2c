//! `tresor`: envelope encryption from the shell, on top of
//! [`tresor_envelope`].
//!
//! Files and streams of any size are sealed in constant memory under a fresh
//! data key, wrapped by a key-encryption key (KEK) read from a key file. The
//! sealed format is `tresor-envelope`'s (its `FORMAT.md`).
//!
//! # Guarantees
//!
//! - **No partial output**: with `--out PATH` the output is written to a
//!   temporary file in `PATH`'s directory (`.tresor-XXXXXX.tmp`, mode 0600),
//!   synced to disk and renamed to `PATH` only when the command succeeds. On
//!   any error, and on SIGINT, SIGTERM or SIGHUP, the temporary file is
//!   deleted: `PATH` is either the complete, verified result or untouched.
//!   An existing `PATH` is replaced on success (like most Unix tools); the
//!   replacement has mode 0600, and a symbolic link is followed (the link is
//!   kept). `--out` may not be the `--in` file, nor a directory. A `PATH`
//!   that is a special file (`/dev/null`, a FIFO, `/dev/stdout`) is written
//!   directly, like standard output.
//! - **Standard output cannot be taken back**: without `--out`, `open`
//!   streams plaintext as it goes. Each frame is written only after its tag
//!   verifies, but a stream cut short or tampered with further on is detected
//!   only when it is reached: the command then fails (exit code 1) after
//!   having written the frames before it. Trust standard output only when the
//!   exit code is 0, or use `--out`.
//! - **Secrets are never printed**: messages and JSON name key ids and check
//!   values, never keys; library errors are shown through their `Display`.
//! - **Failures are one line** on standard error, `tresor: error: <message>`,
//!   with exit code 1. A malformed command line (unknown or missing flag) is
//!   reported by the argument parser with exit code 2; an interruption exits
//!   with 130.
//! - **Progress** is drawn on standard error only when it is a terminal: a
//!   bar when the input's size is known (a file), else a byte counter.
//!
//! # Commands
//!
//! `--in PATH` and `--out PATH` default to standard input and output; `-`
//! means them too.
//!
//! ## `tresor kek generate --out FILE [--id ID]`
//!
//! Creates a key file (mode 0600; an existing file is never overwritten)
//! holding a new random AES-256 key-encryption key, and prints one line of
//! JSON with its id and key check value. Without `--id` the id is `kek-`
//! followed by 16 random hex digits.
//!
//! ```sh
//! $ tresor kek generate --out kek-2026.key --id kek-2026
//! {"kek_id":"kek-2026","check":"5f2a9c"}
//! ```
//!
//! ## `tresor seal --kek FILE… [--context KEY=VALUE]… [--suite SUITE] [--frame-size BYTES] [--in PATH] [--out PATH]`
//!
//! Encrypts under the first `--kek` (the others only make up the keyring).
//! `--context` entries are authenticated and stored in clear; each key may be
//! given once. `--suite` is `aes-256-gcm` (default) or `aes-256-gcm-siv`;
//! `--frame-size` is 16 to 4194304 plaintext bytes per frame (default 65536).
//!
//! ```sh
//! $ tresor seal --kek kek-2026.key --context tenant=acme --context table=payments \
//!       --in dump.sql --out dump.sql.trse
//! $ pg_dump bank | tresor seal --kek kek-2026.key --context backup=2026-11-24 > bank.trse
//! ```
//!
//! ## `tresor open --kek FILE… [--context KEY=VALUE]… [--in PATH] [--out PATH]`
//!
//! Decrypts and verifies. The keyring holds every `--kek`; the key the header
//! names is used, so after a rotation old and new files open with the same
//! command line. The context must be exactly the one given to `seal`.
//!
//! ```sh
//! $ tresor open --kek kek-2026.key --kek kek-2025.key \
//!       --context tenant=acme --context table=payments --in dump.sql.trse --out dump.sql
//! ```
//!
//! ## `tresor rewrap --from FILE --to FILE [--in PATH] [--out PATH]`
//!
//! Moves a sealed file from the key-encryption key in `--from` to the one in
//! `--to`: the data key is unwrapped, checked against the key commitment and
//! wrapped again; the frames are copied unchanged (and are not decrypted, so
//! not verified: `open` does that). Needs no context.
//!
//! ```sh
//! $ tresor rewrap --from kek-2025.key --to kek-2026.key --in a.trse --out a.trse.new
//! $ mv a.trse.new a.trse
//! ```
//!
//! ## `tresor inspect [--in PATH]`
//!
//! Prints the header as JSON; needs no key and reads nothing past the header.
//!
//! ```sh
//! $ tresor inspect --in dump.sql.trse
//! {
//!   "version": 1,
//!   "suite": "aes-256-gcm",
//!   "frame_size": 65536,
//!   "kek_id": "kek-2026",
//!   "context": {
//!     "table": "payments",
//!     "tenant": "acme"
//!   },
//!   "message_id": "9c1e…(64 hex digits)"
//! }
//! ```

mod args;
mod commands;
mod error;
mod input;
mod keys;
mod output;
mod progress;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

/// Parses the command line, runs the command, and reports its failure as one
/// line on standard error with exit code 1.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match output::handle_interrupts().and_then(|()| commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "tresor: error: {}", err.one_line());
            ExitCode::from(1)
        }
    }
}
