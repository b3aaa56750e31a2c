//! A PostgreSQL for the CLI tests (`TRESOR_POSTGRES_URL`, loopback only):
//! a fresh database per test, dropped at its end, and the binary run with
//! the password in `PGPASSWORD` (never printed: checked on every run).
//! Without the server a test prints why it skipped, unless
//! `TRESOR_REQUIRE_SERVICES=1`, which makes it fail.

use std::process::Output;

use super::Sandbox;

/// The server: (user, host, port, password), or `None` (test skipped).
pub(crate) fn server() -> Option<(String, String, u16, Option<String>)> {
    let Ok(url) = std::env::var("TRESOR_POSTGRES_URL") else {
        if std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("TRESOR_POSTGRES_URL not set and TRESOR_REQUIRE_SERVICES=1");
        }
        eprintln!("skipped: TRESOR_POSTGRES_URL not set (a PostgreSQL on 127.0.0.1)");
        return None;
    };
    let config: postgres::Config = url.parse().unwrap();
    let host = match &config.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        #[allow(unreachable_patterns)]
        _ => panic!("tests connect only to 127.0.0.1"),
    };
    assert!(
        host == "127.0.0.1" || host == "localhost",
        "tests connect only to loopback"
    );
    let password = config
        .get_password()
        .map(|p| String::from_utf8(p.to_vec()).unwrap());
    Some((
        config.get_user().unwrap().to_owned(),
        host,
        config.get_ports().first().copied().unwrap_or(5432),
        password,
    ))
}

/// A fresh database, dropped when this is; its URL has no password (the
/// commands get it from `PGPASSWORD`).
pub(crate) struct Db {
    admin: postgres::Config,
    name: String,
    pub(crate) url: String,
    password: Option<String>,
}

impl Db {
    pub(crate) fn new() -> Option<Self> {
        let (user, host, port, password) = server()?;
        let admin: postgres::Config = std::env::var("TRESOR_POSTGRES_URL")
            .unwrap()
            .parse()
            .unwrap();
        let name = format!(
            "tresor_cli_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut client = admin.connect(postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Some(Self {
            admin,
            url: format!("postgres://{user}@{host}:{port}/{name}"),
            name,
            password,
        })
    }

    /// Runs `tresor args` with the password in the environment.
    pub(crate) fn run(&self, dir: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut command = dir.command(args);
        if let Some(p) = &self.password {
            command.env("PGPASSWORD", p);
        }
        let output = match stdin {
            None => command.stdin(std::process::Stdio::null()).output().unwrap(),
            Some(input) => {
                use std::io::Write;
                let mut child = command
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child.stdin.take().unwrap().write_all(input).unwrap();
                child.wait_with_output().unwrap()
            }
        };
        if let Some(p) = &self.password {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(!all.contains(p.as_str()), "the password was printed: {all}");
        }
        output
    }

    pub(crate) fn ok(&self, dir: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> String {
        let out = self.run(dir, args, stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut client) = self.admin.connect(postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
