//! `PostgresStore` over TLS (rustls) against real PostgreSQL servers that
//! each test starts for itself (initdb, pg_ctl) on 127.0.0.1, with a
//! throwaway CA made by the test: the right CA works, a wrong CA or host
//! name is refused, mutual TLS (`cert` authentication), and TLS asked for
//! never falls back to plaintext.
//!
//! The servers are the test's own, never the shared one of
//! `TRESOR_POSTGRES_URL` (whose outage tests stop and start it). The
//! binaries come from `TRESOR_POSTGRES_BIN`, the `PATH`, or the newest
//! `/usr/lib/postgresql/*/bin`; as root the server runs as the user
//! `postgres` through `runuser`. Without them the tests print why they
//! skipped, unless `TRESOR_REQUIRE_SERVICES=1`, which makes them fail.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use tresor_credentials::store::conformance;
use tresor_credentials::{CredentialStore, Error};
use tresor_postgres::{PoolOptions, PostgresStore, PostgresTls, TlsError};

// ---------------------------------------------------------------------------
// A throwaway PKI.

struct Pki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

/// A new CA, a server certificate for `names` (DNS names or IP addresses)
/// and a client certificate whose common name is `client`.
fn pki(names: &[&str], client: &str) -> Pki {
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tresor test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    for name in names {
        params.subject_alt_names.push(match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*name).try_into().unwrap()),
        });
    }
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("server"),
    );
    let server_cert = params.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, client);
    let client_cert = params.signed_by(&client_key, &issuer).unwrap();

    Pki {
        ca_pem: ca_cert.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

// ---------------------------------------------------------------------------
// A throwaway cluster.

/// A PostgreSQL server of the test's own on 127.0.0.1, stopped and
/// removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// `runuser -u postgres --` as root, nothing otherwise.
    as_user: Vec<String>,
}

fn required() -> bool {
    std::env::var("TRESOR_REQUIRE_SERVICES").as_deref() == Ok("1")
}

fn bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TRESOR_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    }) {
        return Some(dir);
    }
    // The newest /usr/lib/postgresql/<major>/bin.
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin)
}

fn run(command: &mut Command, what: &str) {
    let out = command.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// A started server: with `tls`, `ssl = on` with its certificate, and
    /// TCP connections only over TLS (`hostssl`): `trust` for the role
    /// `tresor`, `cert` (mutual TLS) for the role `certuser`; without,
    /// plaintext TCP with `trust`. `None` (after printing why) when the
    /// binaries are missing and services are not required.
    fn start(test: &str, tls: Option<&Pki>) -> Option<Self> {
        let Some(bin) = bindir() else {
            assert!(
                !required(),
                "{test}: no initdb/pg_ctl (TRESOR_POSTGRES_BIN, PATH, /usr/lib/postgresql/*/bin) and TRESOR_REQUIRE_SERVICES=1"
            );
            eprintln!(
                "skipped: {test}: no initdb/pg_ctl (TRESOR_POSTGRES_BIN, PATH, /usr/lib/postgresql/*/bin)"
            );
            return None;
        };
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().unwrap();
        let as_user: Vec<String> = if root {
            ["runuser", "-u", "postgres", "--"]
                .map(str::to_owned)
                .to_vec()
        } else {
            Vec::new()
        };
        let port = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            bin,
            dir,
            port,
            as_user,
        };
        let data = cluster.data();
        std::fs::create_dir(cluster.dir.path().join("sock")).unwrap();
        if root {
            run(
                Command::new("chown")
                    .args(["-R", "postgres"])
                    .arg(cluster.dir.path()),
                "chown",
            );
        }
        run(
            cluster.command("initdb").arg("-D").arg(&data).args([
                "-U",
                "tresor",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]),
            "initdb",
        );

        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n",
            cluster.dir.path().join("sock").display()
        );
        let hba = match tls {
            Some(pki) => {
                std::fs::write(data.join("server.crt"), &pki.server_cert_pem).unwrap();
                std::fs::write(data.join("server.key"), &pki.server_key_pem).unwrap();
                std::fs::write(data.join("root.crt"), &pki.ca_pem).unwrap();
                conf.push_str(
                    "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root.crt'\n",
                );
                "local all all trust\n\
                 hostssl all certuser 127.0.0.1/32 cert\n\
                 hostssl all all 127.0.0.1/32 trust\n"
            }
            None => "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        };
        let mut existing = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        existing.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), existing).unwrap();
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        if root {
            run(
                Command::new("chown").args(["-R", "postgres"]).arg(&data),
                "chown",
            );
        }
        if tls.is_some() {
            // PostgreSQL refuses a key file others can read.
            run(
                Command::new("chmod")
                    .arg("0600")
                    .arg(data.join("server.key")),
                "chmod",
            );
        }
        run(
            cluster
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.dir.path().join("server.log"))
                .args(["-w", "-t", "30", "start"]),
            "pg_ctl start",
        );
        // The role for mutual TLS (its certificate's common name).
        let mut admin = cluster.admin();
        admin.batch_execute("CREATE ROLE certuser LOGIN").unwrap();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.as_user.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    /// A superuser connection over the Unix socket (no TLS there).
    fn admin(&self) -> postgres::Client {
        let mut config = postgres::Config::new();
        config
            .host_path(self.dir.path().join("sock"))
            .port(self.port)
            .user("tresor")
            .dbname("postgres");
        config.connect(postgres::NoTls).unwrap()
    }

    /// A key=value connection string to this server on 127.0.0.1, with
    /// `extra` appended.
    fn url(&self, extra: &str) -> String {
        self.url_at("host=127.0.0.1", extra)
    }

    /// As [`url`](Self::url), with `host` (`host=…`, `hostaddr=…`) instead.
    fn url_at(&self, host: &str, extra: &str) -> String {
        format!(
            "{host} port={} user=tresor dbname=postgres connect_timeout=5 {extra}",
            self.port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ---------------------------------------------------------------------------

/// Short waits: a refused connection fails the checkout quickly.
fn options() -> PoolOptions {
    PoolOptions {
        max_size: 2,
        checkout_timeout: Duration::from_secs(1),
    }
}

fn ca(pki: &Pki) -> PostgresTls {
    PostgresTls::from_ca_pem(pki.ca_pem.as_bytes()).unwrap()
}

/// The error and its sources as one string.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn connect(url: &str, tls: &PostgresTls) -> Result<PostgresStore, Error> {
    let config = url.parse().unwrap();
    PostgresStore::from_config_tls(config, options(), tls)
}

/// A round trip through the store: insert, then read back.
fn round_trip(store: &PostgresStore) {
    let record = conformance::record("AAAAAAAAAAAAAAAAAAAAAA");
    store.insert(&record).unwrap();
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].record.id, record.id);
}

#[test]
fn the_right_ca_connects_and_the_store_round_trips() {
    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start(
        "the_right_ca_connects_and_the_store_round_trips",
        Some(&pki),
    ) else {
        return;
    };
    // The IP address in the certificate, with libpq's sslmode=verify-full
    // (the `postgres` crate alone does not parse it); `hostssl` only in
    // pg_hba.conf, so the connection is TLS.
    let url = format!(
        "postgres://tresor@127.0.0.1:{}/postgres?sslmode=verify-full",
        cluster.port
    );
    let store = PostgresStore::connect_tls(&url, &ca(&pki)).unwrap();
    round_trip(&store);

    // The DNS name in the certificate (the socket goes to hostaddr), and
    // the default sslmode: TLS all the same.
    let store = connect(
        &cluster.url_at("host=localhost hostaddr=127.0.0.1", ""),
        &ca(&pki),
    )
    .unwrap();
    assert_eq!(store.list().unwrap().len(), 1);

    // The server saw TLS.
    let mut admin = cluster.admin();
    let ssl: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
             WHERE ssl AND usename = 'tresor' AND client_addr IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl >= 1, "no TLS connection seen by the server");
}

#[test]
fn a_wrong_ca_is_refused() {
    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start("a_wrong_ca_is_refused", Some(&pki)) else {
        return;
    };
    let other = self::pki(&["localhost", "127.0.0.1"], "certuser");
    let e = connect(&cluster.url("sslmode=require"), &ca(&other)).unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    let text = chain(&e);
    // The other CA has the same name: the signature is what fails.
    assert!(
        text.contains("invalid peer certificate")
            && (text.contains("UnknownIssuer") || text.contains("BadSignature")),
        "{text}"
    );
}

#[test]
fn a_wrong_host_name_is_refused() {
    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start("a_wrong_host_name_is_refused", Some(&pki)) else {
        return;
    };
    // Right CA, right server (hostaddr), but the name asked for is not in
    // the certificate.
    let e = connect(
        &cluster.url_at("host=db.other.invalid hostaddr=127.0.0.1", ""),
        &ca(&pki),
    )
    .unwrap_err();
    let text = chain(&e);
    assert!(text.contains("not valid for name"), "{text}");
    // hostaddr alone: no name to verify, so no connection.
    let e = connect(&cluster.url_at("hostaddr=127.0.0.1", ""), &ca(&pki)).unwrap_err();
    assert!(chain(&e).contains("no hostname"), "{}", chain(&e));
}

#[test]
fn mutual_tls_authenticates_with_the_client_certificate() {
    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start(
        "mutual_tls_authenticates_with_the_client_certificate",
        Some(&pki),
    ) else {
        return;
    };
    let url = cluster.url("").replace("user=tresor", "user=certuser");
    // Without a certificate, `cert` authentication refuses.
    let e = connect(&url, &ca(&pki)).unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    // With it (its common name is the role), the store works.
    let mut admin = cluster.admin();
    admin
        .batch_execute("GRANT CREATE ON SCHEMA public TO certuser")
        .unwrap();
    let tls = ca(&pki)
        .client_auth(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .unwrap();
    assert!(tls.has_client_auth());
    round_trip(&connect(&url, &tls).unwrap());
}

#[test]
fn tls_asked_for_never_falls_back_to_plaintext() {
    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start("tls_asked_for_never_falls_back_to_plaintext", None) else {
        return;
    };
    // The server has no TLS: every way of asking for it fails.
    for extra in ["", "sslmode=prefer", "sslmode=require"] {
        let e = connect(&cluster.url(extra), &ca(&pki)).unwrap_err();
        assert!(
            chain(&e).contains("server does not support TLS"),
            "{extra}: {}",
            chain(&e)
        );
    }
    // sslmode=disable with a TLS configuration: refused before connecting.
    let e = connect(&cluster.url("sslmode=disable"), &ca(&pki)).unwrap_err();
    assert!(chain(&e).contains("sslmode=disable"), "{}", chain(&e));
    // Without a PostgresTls, sslmode=require (or verify-full, read as
    // require) fails too.
    let e = PostgresStore::from_config(cluster.url("sslmode=require").parse().unwrap(), options())
        .unwrap_err();
    assert!(
        chain(&e).contains("server does not support TLS"),
        "{}",
        chain(&e)
    );
    let url = format!(
        "postgres://tresor@127.0.0.1:{}/postgres?sslmode=verify-full&connect_timeout=5",
        cluster.port
    );
    let e = PostgresStore::connect(&url).unwrap_err();
    assert!(
        chain(&e).contains("server does not support TLS"),
        "{}",
        chain(&e)
    );
    // ...while plain connect with the default sslmode still works here.
    let plain = PostgresStore::from_config(cluster.url("").parse().unwrap(), options()).unwrap();
    round_trip(&plain);
}

#[test]
fn sslmode_require_without_a_tls_configuration_fails_on_a_tls_server() {
    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start(
        "sslmode_require_without_a_tls_configuration_fails_on_a_tls_server",
        Some(&pki),
    ) else {
        return;
    };
    let e = PostgresStore::from_config(cluster.url("sslmode=require").parse().unwrap(), options())
        .unwrap_err();
    assert!(chain(&e).contains("no TLS configuration"), "{}", chain(&e));
}

#[test]
fn bad_pem_is_refused_without_being_echoed() {
    let pki = pki(&["localhost"], "certuser");
    for junk in [&b""[..], b"not pem", pki.client_key_pem.as_bytes()] {
        let e = PostgresTls::from_ca_pem(junk).unwrap_err();
        assert!(matches!(e, TlsError::InvalidCa { .. }), "{e:?}");
    }
    let secret =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==!!\n-----END PRIVATE KEY-----\n";
    let e = ca(&pki)
        .client_auth(pki.client_cert_pem.as_bytes(), secret.as_bytes())
        .unwrap_err();
    assert!(matches!(e, TlsError::InvalidClientKey { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("c2VjcmV0"));
    // A key that does not fit the certificate.
    let other = self::pki(&["localhost"], "certuser");
    let e = ca(&pki)
        .client_auth(
            pki.client_cert_pem.as_bytes(),
            other.client_key_pem.as_bytes(),
        )
        .unwrap_err();
    assert!(matches!(e, TlsError::InvalidClientKey { .. }), "{e:?}");
    let e = ca(&pki)
        .client_auth(b"", pki.client_key_pem.as_bytes())
        .unwrap_err();
    assert!(matches!(e, TlsError::InvalidClientCert { .. }), "{e:?}");
    let tls = ca(&pki)
        .client_auth(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .unwrap();
    let debug = format!("{tls:?}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
    let e = PostgresTls::from_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
    assert!(matches!(e, TlsError::Read { .. }), "{e:?}");
}

/// The audit log over TLS: appends (direct and group commit), a snapshot
/// that verifies, a reader that changes nothing; a wrong CA is an outage.
#[cfg(feature = "audit")]
#[test]
fn the_audit_log_over_tls_appends_and_verifies() {
    use tresor_postgres::{PostgresLog, WriterOptions};

    let pki = pki(&["localhost", "127.0.0.1"], "certuser");
    let Some(cluster) = Cluster::start("the_audit_log_over_tls_appends_and_verifies", Some(&pki))
    else {
        return;
    };
    let url = format!(
        "postgres://tresor@127.0.0.1:{}/postgres?sslmode=verify-full",
        cluster.port
    );
    let log = PostgresLog::connect_tls(&url, &ca(&pki), "default").unwrap();
    log.append_batch(&[b"one".as_slice(), b"two"]).unwrap();
    let writer = log.writer(WriterOptions::default()).unwrap();
    assert_eq!(writer.append(b"three".to_vec()).unwrap(), 2);
    drop(writer);
    let report = tresor_audit::verify_log(&log.snapshot().unwrap(), None).unwrap();
    assert_eq!(report.size, 3);

    let config = cluster.url("sslmode=require").parse().unwrap();
    let reader = PostgresLog::open_existing_tls(config, options(), &ca(&pki), "default").unwrap();
    assert_eq!(reader.head().unwrap(), log.head().unwrap());

    let other = self::pki(&["localhost", "127.0.0.1"], "certuser");
    let config = cluster.url("sslmode=require").parse().unwrap();
    let e = PostgresLog::from_config_tls(config, options(), &ca(&other), "default").unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    assert!(
        chain(&e).contains("invalid peer certificate"),
        "{}",
        chain(&e)
    );
}
