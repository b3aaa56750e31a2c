//! The command line: flags, and their conversion into library values.
//!
//! Values that need more than a type check (`--context`, `--suite`,
//! `--frame-size`) are taken as text and checked here, so that a bad value is
//! an ordinary `tresor: error:` with exit code 1; clap itself reports only
//! malformed command lines (unknown or missing flags), with exit code 2.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use tresor_envelope::{Context, DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE, MIN_FRAME_SIZE, Suite};

use crate::error::{CliError, Result};

/// Envelope encryption from the shell: generate key-encryption keys, seal and
/// open files or streams of any size, rewrap them under a new key, inspect
/// their headers.
#[derive(Debug, Parser)]
#[command(name = "tresor", version, propagate_version = true)]
#[command(after_help = "Exit codes: 0 success, 1 error, 2 bad command line.\n\
    With --out PATH, the output appears only when the command succeeds.")]
pub(crate) struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Manage key-encryption key files.
    #[command(subcommand)]
    Kek(KekCommand),
    /// Encrypt a file or stream under the first --kek.
    Seal(SealArgs),
    /// Decrypt and verify a sealed file or stream.
    Open(OpenArgs),
    /// Move a sealed file to another key-encryption key (the data frames are
    /// copied unchanged, only the key section is rewritten).
    Rewrap(RewrapArgs),
    /// Print a sealed file's header as JSON (needs no key).
    Inspect(InspectArgs),
}

/// The `kek` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum KekCommand {
    /// Generate a key-encryption key file (mode 0600; never overwrites).
    Generate(GenerateArgs),
}

/// `tresor kek generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Key file to create; an existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Key id (printable ASCII, no spaces, 1 to 255 bytes) [default: kek-
    /// followed by 16 random hex digits].
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,
}

/// `tresor seal`.
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    /// Key file; repeat for a keyring. The first one seals.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) kek: Vec<PathBuf>,
    /// Encryption context entry, authenticated and stored in clear; repeat
    /// for more. Opening needs exactly the same entries.
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) context: Vec<String>,
    /// Cipher suite: aes-256-gcm or aes-256-gcm-siv [default: aes-256-gcm].
    #[arg(long, value_name = "SUITE")]
    pub(crate) suite: Option<String>,
    /// Plaintext bytes per frame, 16 to 4194304 [default: 65536].
    #[arg(long, value_name = "BYTES")]
    pub(crate) frame_size: Option<String>,
    /// Input and output.
    #[command(flatten)]
    pub(crate) io: IoArgs,
}

/// `tresor open`.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Key file; repeat for a keyring. The key the header names is used.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) kek: Vec<PathBuf>,
    /// Encryption context entry given when sealing; repeat for more.
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) context: Vec<String>,
    /// Input and output.
    #[command(flatten)]
    pub(crate) io: IoArgs,
}

/// `tresor rewrap`.
#[derive(Debug, Args)]
pub(crate) struct RewrapArgs {
    /// Key file of the key-encryption key the input is wrapped under.
    #[arg(long, value_name = "FILE")]
    pub(crate) from: PathBuf,
    /// Key file of the key-encryption key to wrap the data key under.
    #[arg(long, value_name = "FILE")]
    pub(crate) to: PathBuf,
    /// Input and output.
    #[command(flatten)]
    pub(crate) io: IoArgs,
}

/// `tresor inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Sealed file to read; `-` or absent: standard input. Only the header is
    /// read.
    #[arg(long = "in", value_name = "PATH")]
    pub(crate) input: Option<PathBuf>,
}

/// `--in` and `--out`, shared by `seal`, `open` and `rewrap`.
#[derive(Debug, Args)]
pub(crate) struct IoArgs {
    /// File to read; `-` or absent: standard input.
    #[arg(long = "in", value_name = "PATH")]
    pub(crate) input: Option<PathBuf>,
    /// File to write (created only on success; replaces an existing file);
    /// `-` or absent: standard output.
    #[arg(long = "out", value_name = "PATH")]
    pub(crate) output: Option<PathBuf>,
}

/// A path from `--in` or `--out`, where `-` means the standard stream.
pub(crate) fn file_path(path: Option<&Path>) -> Option<&Path> {
    path.filter(|path| *path != Path::new("-"))
}

/// Builds the encryption context from `--context KEY=VALUE` flags.
///
/// The value is everything after the first `=` and may be empty or contain
/// `=`; the key may not be empty, and may not be given twice.
pub(crate) fn context(pairs: &[String]) -> Result<Context> {
    let mut context = Context::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(CliError::Usage(format!(
                "invalid --context {pair:?}: expected KEY=VALUE"
            )));
        };
        if key.is_empty() {
            return Err(CliError::Usage(format!(
                "invalid --context {pair:?}: the key is empty"
            )));
        }
        if context.get(key).is_some() {
            return Err(CliError::Usage(format!(
                "duplicate --context key {key:?}: give each key once"
            )));
        }
        context.insert(key, value)?;
    }
    Ok(context)
}

/// The suite named by `--suite`, or the default.
pub(crate) fn suite(name: Option<&str>) -> Result<Suite> {
    Ok(name.map(str::parse).transpose()?.unwrap_or_default())
}

/// The frame size given by `--frame-size`, or the default.
pub(crate) fn frame_size(value: Option<&str>) -> Result<u32> {
    let Some(value) = value else {
        return Ok(DEFAULT_FRAME_SIZE);
    };
    value
        .parse::<u32>()
        .ok()
        .filter(|size| (MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(size))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "invalid --frame-size {value:?}: expected a number of bytes from \
                 {MIN_FRAME_SIZE} to {MAX_FRAME_SIZE}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn context_pairs() {
        let ctx = context(&strings(&["b=2", "a=", "c=x=y"])).unwrap();
        assert_eq!(
            ctx.iter().collect::<Vec<_>>(),
            [("a", ""), ("b", "2"), ("c", "x=y")]
        );
        assert!(context(&strings(&["novalue"])).is_err());
        assert!(context(&strings(&["=v"])).is_err());
        let dup = context(&strings(&["a=1", "a=1"])).unwrap_err();
        assert!(dup.to_string().contains("duplicate"), "{dup}");
    }

    #[test]
    fn suites_and_frame_sizes() {
        assert_eq!(suite(None).unwrap(), Suite::Aes256Gcm);
        assert_eq!(suite(Some("aes-256-gcm-siv")).unwrap(), Suite::Aes256GcmSiv);
        assert!(suite(Some("rot13")).is_err());
        assert_eq!(frame_size(None).unwrap(), DEFAULT_FRAME_SIZE);
        assert_eq!(frame_size(Some("16")).unwrap(), 16);
        for bad in ["15", "4194305", "-1", "1k", ""] {
            assert!(frame_size(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn dash_means_standard_stream() {
        assert_eq!(file_path(Some(Path::new("-"))), None);
        assert_eq!(file_path(None), None);
        assert_eq!(
            file_path(Some(Path::new("a.bin"))),
            Some(Path::new("a.bin"))
        );
    }
}
