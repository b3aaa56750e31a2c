//! A real SoftHSM2 token for the integration tests.
//!
//! [`with_token`] gives a test its own token: a temporary directory with a
//! `softhsm2.conf` (`directories.tokendir = DIR/tokens`), a token labelled
//! `tresor` initialised with `softhsm2-util --init-token`, and a PIN file.
//!
//! SoftHSM2 reads its configuration from `SOFTHSM2_CONF` when the module
//! is initialised, once per process, and a test cannot set an environment
//! variable in its own process without `unsafe` (which the workspace
//! forbids). So the test runs itself again: the test binary is started as
//! a child process with `SOFTHSM2_CONF` set, filtered to that one test, and
//! the child runs the body. One process per test also means one
//! `C_Initialize` per token, as a service would do.
//!
//! When SoftHSM2 is not installed (no module, or no `softhsm2-util`), the
//! test prints that it was skipped and why, and passes, unless
//! `TRESOR_REQUIRE_SERVICES=1` (as in CI), where it fails.
//!
//! The module is looked for at `TRESOR_PKCS11_MODULE`, then at the usual
//! package paths (`/usr/lib/softhsm/libsofthsm2.so` on Debian and Ubuntu).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tresor_pkcs11::{PinSource, Pkcs11Uri, Token};

/// The token's label.
pub const TOKEN_LABEL: &str = "tresor";
/// The user PIN of every test token. A throwaway PIN for a throwaway
/// token; it goes to `softhsm2-util` on its command line, which a real
/// deployment must never do (run `softhsm2-util` without `--pin` and type
/// the PIN at its prompt).
pub const USER_PIN: &str = "tresor-test-user-pin";
const SO_PIN: &str = "tresor-test-so-pin";

/// Set in the child: the fixture directory.
const CHILD_ENV: &str = "TRESOR_PKCS11_TEST_DIR";
/// Set in the child: which phase of a multi-process test runs.
const PHASE_ENV: &str = "TRESOR_PKCS11_TEST_PHASE";

const MODULE_PATHS: [&str; 5] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// A SoftHSM2 token of this test, as seen from the child process.
pub struct SoftHsm {
    dir: PathBuf,
    module: PathBuf,
    test: String,
    phase: u32,
}

impl SoftHsm {
    /// The fixture directory (the configuration, the tokens, the PIN file).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory SoftHSM2 keeps its tokens in.
    pub fn token_dir(&self) -> PathBuf {
        self.dir.join("tokens")
    }

    /// The module's path.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The file holding [`USER_PIN`].
    pub fn pin_file(&self) -> PathBuf {
        self.dir.join("user.pin")
    }

    /// `pkcs11:token=tresor;<path>?module-path=…&pin-source=file:…`.
    pub fn uri_text(&self, path: &str) -> String {
        let mut text = format!("pkcs11:token={TOKEN_LABEL}");
        if !path.is_empty() {
            text.push(';');
            text.push_str(path);
        }
        let base = Pkcs11Uri::new()
            .with_module_path(&self.module)
            .unwrap()
            .with_pin_source(PinSource::file(self.pin_file()).unwrap())
            .to_string();
        let query = base.split_once('?').unwrap().1;
        format!("{text}?{query}")
    }

    /// The URI of the test token with `path` attributes added.
    pub fn uri(&self, path: &str) -> Pkcs11Uri {
        Pkcs11Uri::parse(&self.uri_text(path)).unwrap()
    }

    /// The test token, opened.
    pub fn token(&self) -> Token {
        Token::open(&self.uri("")).unwrap()
    }

    /// Which phase runs (1 first; see [`SoftHsm::run_phase`]).
    pub fn phase(&self) -> u32 {
        self.phase
    }

    /// Runs this test again in a new process on the same token directory,
    /// with [`SoftHsm::phase`] returning `phase`; fails if it fails.
    pub fn run_phase(&self, phase: u32) {
        run_child(&self.test, &self.dir, phase);
    }

    /// A raw `cryptoki` session on the test token, logged in as the user,
    /// for checks that go around `tresor-pkcs11`.
    pub fn raw_session(&self) -> cryptoki::session::Session {
        use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
        use cryptoki::error::{Error, RvError};
        use cryptoki::session::UserType;
        use cryptoki::types::AuthPin;

        let pkcs11 = Pkcs11::new(&self.module).unwrap();
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(err) => panic!("C_Initialize: {err}"),
        }
        let slot = pkcs11
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|slot| {
                pkcs11
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label() == TOKEN_LABEL)
            })
            .expect("the test token is present");
        let session = pkcs11.open_rw_session(slot).unwrap();
        match session.login(UserType::User, Some(&AuthPin::new(USER_PIN.into()))) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(err) => panic!("C_Login: {err}"),
        }
        session
    }
}

/// Runs `body` against a fresh SoftHSM2 token, in a child process (see the
/// module docs). `test` is the test function's name.
pub fn with_token(test: &str, body: impl FnOnce(&SoftHsm)) {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let phase = std::env::var(PHASE_ENV)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let hsm = SoftHsm {
            dir: PathBuf::from(dir),
            module: find_module().expect("the parent found the module"),
            test: test.to_owned(),
            phase,
        };
        body(&hsm);
        return;
    }
    let (module, util) = (find_module(), find_util());
    let (Some(_), Some(util)) = (&module, util) else {
        let missing = if module.is_none() {
            "no libsofthsm2.so ($TRESOR_PKCS11_MODULE, or the softhsm2 package's usual paths)"
        } else {
            "no softhsm2-util on $PATH"
        };
        let why = format!("SoftHSM2 is not installed: {missing}; apt-get install softhsm2");
        if std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("TRESOR_REQUIRE_SERVICES=1 and {why}");
        }
        // Straight to stderr: the test harness hides what a passing test
        // prints, and a skip must be seen.
        let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::create_dir(dir.path().join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new(&util)
        .args(["--init-token", "--free", "--label", TOKEN_LABEL])
        .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "softhsm2-util --init-token failed: {}{}",
        String::from_utf8_lossy(&init.stdout),
        String::from_utf8_lossy(&init.stderr)
    );
    write_private(
        &dir.path().join("user.pin"),
        format!("{USER_PIN}\n").as_bytes(),
    );
    run_child(test, dir.path(), 1);
}

/// Runs `test` of this test binary in a child process with the fixture's
/// `SOFTHSM2_CONF`, and fails unless it ran and passed.
fn run_child(test: &str, dir: &Path, phase: u32) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
        .env(CHILD_ENV, dir)
        .env(PHASE_ENV, phase.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "{test} (phase {phase}) failed in its SoftHSM2 process"
    );
    assert!(
        stdout.contains("1 passed"),
        "{test} (phase {phase}) did not run in its SoftHSM2 process"
    );
}

fn find_module() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRESOR_PKCS11_MODULE") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    MODULE_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn find_util() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("softhsm2-util"))
        .find(|p| p.is_file())
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
