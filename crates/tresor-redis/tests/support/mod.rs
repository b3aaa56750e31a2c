//! A throwaway `redis-server` per test: from `TRESOR_REDIS_SERVER` or the
//! `PATH`, on a free 127.0.0.1 port, in a temporary directory, as the
//! unprivileged `redis` user when the tests run as root, killed on drop. Without one the tests
//! print `skipped: …` and pass, unless `TRESOR_REQUIRE_SERVICES=1`.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod pki;

pub struct RedisServer {
    child: Child,
    port: u16,
    program: PathBuf,
    dir: tempfile::TempDir,
    /// The TLS arguments, for a server that listens with TLS only.
    tls: Option<Vec<String>>,
}

fn program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRESOR_REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

fn required() -> bool {
    std::env::var("TRESOR_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The `redis` account's uid and gid, when this process runs as root and
/// the account exists (Debian's package makes it): the server then runs as
/// that unprivileged user, never as root.
fn unprivileged() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        out.status.success().then_some(())?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    Some((id(&["-u", "redis"])?, id(&["-g", "redis"])?))
}

fn spawn(program: &PathBuf, port: u16, dir: &tempfile::TempDir, tls: Option<&[String]>) -> Child {
    let mut command = match unprivileged() {
        Some((uid, gid)) => {
            // Its directory, and the files its arguments name (TLS keys),
            // become the server's; `setpriv` execs, so the child is the
            // server itself (signals and kills reach it).
            let give = |path: &std::path::Path| {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            };
            give(dir.path());
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                give(&entry.unwrap().path());
            }
            for arg in tls.unwrap_or_default() {
                let path = std::path::Path::new(arg);
                if path.is_file() {
                    give(path);
                }
            }
            let mut c = Command::new("setpriv");
            c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()])
                .args(["--clear-groups", "--"])
                .arg(program);
            c
        }
        None => Command::new(program),
    };
    match tls {
        None => command.args(["--port", &port.to_string()]),
        Some(args) => command
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(args),
    };
    let child = command
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl RedisServer {
    /// A fresh server, or `None` (after printing why) when none is
    /// installed and services are not required.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with(test, None)
    }

    /// A fresh server that listens with TLS only (`--port 0 --tls-port`),
    /// with `tls_args` (`--tls-cert-file` and the like), or `None` as
    /// [`start`](Self::start).
    pub fn start_tls(test: &str, tls_args: Vec<String>) -> Option<Self> {
        Self::start_with(test, Some(tls_args))
    }

    fn start_with(test: &str, tls: Option<Vec<String>>) -> Option<Self> {
        let Some(program) = program() else {
            assert!(
                !required(),
                "{test}: redis-server not found (PATH or TRESOR_REDIS_SERVER) and TRESOR_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: {test}: redis-server not found (PATH or TRESOR_REDIS_SERVER)");
            return None;
        };
        let port = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = spawn(&program, port, &dir, tls.as_deref());
        Some(Self {
            child,
            port,
            program,
            dir,
            tls,
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The `rediss://` url of a TLS server, with `host` as the host name.
    pub fn tls_url(&self, host: &str) -> String {
        format!("rediss://{host}:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's scratch directory (certificates may go there).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Kills the server (an outage).
    pub fn kill(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) the server: it keeps its
    /// connections but does not answer.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Starts a new, empty server on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.program, self.port, &self.dir, self.tls.as_deref());
    }

    /// A plain synchronous client, to look at the keys.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The current UNIX second.
pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Sleeps until the UNIX second `second` has begun (plus a margin).
pub fn sleep_until(second: i64) {
    loop {
        let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let target = Duration::from_secs(u64::try_from(second).unwrap());
        if elapsed >= target + Duration::from_millis(50) {
            return;
        }
        std::thread::sleep(target + Duration::from_millis(60) - elapsed);
    }
}
