//! A throwaway SoftHSM2 token for the benchmarks, shared by every bench
//! file of this crate (`#[path]`-included).
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialised, and the
//! workspace forbids the `unsafe` that setting it in-process needs. So the
//! bench binary starts as the parent: it makes a token in a temporary
//! directory (`softhsm2-util --init-token`, a PIN file only its owner may
//! read) and runs itself again with `SOFTHSM2_CONF` pointing at it; the
//! child runs the benchmarks against [`token`]. Without SoftHSM2 the parent
//! prints that the benchmarks were skipped and succeeds.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use tresor_pkcs11::{PinSource, Pkcs11Uri, Token};

/// The bench token's label.
const TOKEN_LABEL: &str = "tresor-bench";
/// A throwaway PIN for a throwaway token (it goes to `softhsm2-util` on its
/// command line, which a real deployment must never do).
const USER_PIN: &str = "tresor-bench-user-pin";
const SO_PIN: &str = "tresor-bench-so-pin";
/// Set in the child: the token's directory.
const CHILD_ENV: &str = "TRESOR_PKCS11_BENCH_DIR";
const MODULE_PATHS: [&str; 5] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// Runs `bench` with the token open in a child process; `what` names the
/// benchmarks in the message printed when SoftHSM2 is missing.
pub(crate) fn main(what: &str, bench: impl FnOnce(&Token)) -> ExitCode {
    match std::env::var_os(CHILD_ENV) {
        Some(dir) => {
            bench(&token(Path::new(&dir)));
            ExitCode::SUCCESS
        }
        None => parent(what),
    }
}

/// The parent: makes the token and runs this benchmark again with
/// `SOFTHSM2_CONF`.
fn parent(what: &str) -> ExitCode {
    let (Some(_), Some(util)) = (module(), util()) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped the {what} benchmarks: SoftHSM2 is not installed \
             (no libsofthsm2.so at $TRESOR_PKCS11_MODULE or the package's usual paths, \
             or no softhsm2-util on $PATH); apt-get install softhsm2"
        );
        return ExitCode::SUCCESS;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new(util)
        .args(["--init-token", "--free", "--label", TOKEN_LABEL])
        .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    write_private(&dir.path().join("user.pin"), USER_PIN.as_bytes());
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_ENV, dir.path())
        .status()
        .unwrap();
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The child: the token the parent made, logged in with its PIN file.
fn token(dir: &Path) -> Token {
    let module = module().expect("the parent found the module");
    let uri: Pkcs11Uri = Pkcs11Uri::new()
        .with_module_path(&module)
        .unwrap()
        .with_pin_source(PinSource::file(dir.join("user.pin")).unwrap())
        .with_token(TOKEN_LABEL);
    Token::open(&uri).unwrap()
}

/// Writes a file only its owner may read (the PIN file).
fn write_private(path: &Path, content: &[u8]) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).unwrap().write_all(content).unwrap();
}

fn module() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRESOR_PKCS11_MODULE") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    MODULE_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn util() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("softhsm2-util"))
        .find(|p| p.is_file())
}
