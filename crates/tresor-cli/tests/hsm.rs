//! The CLI with keys in a real SoftHSM2 token: `hsm keygen` of every kind,
//! `hsm list`, and a `pkcs11:` URI in every key flag (`seal`, `open`,
//! `rewrap`, `http sign`, `audit checkpoint`, `client … --pepper`), each
//! checked by the file-key path or a verifier; a wrong PIN and a missing
//! key give one clean error line that never shows the PIN.
//!
//! Each test gets its own token in a temporary directory; the binary runs
//! with `SOFTHSM2_CONF` pointing at it. Without SoftHSM2 the tests print
//! that they were skipped, unless `TRESOR_REQUIRE_SERVICES=1` (as in CI),
//! where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{Sandbox, failure};
use serde_json::Value;

/// A throwaway PIN for a throwaway token.
const USER_PIN: &str = "tresor-cli-test-pin";
const SO_PIN: &str = "tresor-cli-test-so-pin";

const MODULE_PATHS: [&str; 5] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// A sandbox with a SoftHSM2 token labelled `tresor` and a PIN file.
struct Hsm {
    sandbox: Sandbox,
    conf: PathBuf,
    module: PathBuf,
}

impl Hsm {
    /// A new token, or `None` (after saying why) when SoftHSM2 is missing.
    fn new(test: &str) -> Option<Self> {
        let module = std::env::var_os("TRESOR_PKCS11_MODULE")
            .map(PathBuf::from)
            .or_else(|| MODULE_PATHS.iter().map(PathBuf::from).find(|p| p.is_file()))
            .filter(|p| p.is_file());
        let util = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("softhsm2-util"))
                .find(|p| p.is_file())
        });
        let (Some(module), Some(util)) = (module, util) else {
            let why = "SoftHSM2 is not installed (apt-get install softhsm2)";
            assert!(
                std::env::var_os("TRESOR_REQUIRE_SERVICES").is_none_or(|v| v != "1"),
                "{test}: {why}, and TRESOR_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped {test}: {why}");
            return None;
        };
        let sandbox = Sandbox::new();
        std::fs::create_dir(sandbox.path("tokens")).unwrap();
        let conf = sandbox.path("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                sandbox.path("tokens").display()
            ),
        )
        .unwrap();
        let init = Command::new(util)
            .args(["--init-token", "--free", "--label", "tresor"])
            .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(init.status.success(), "{init:?}");
        sandbox.write("user.pin", USER_PIN.as_bytes());
        sandbox.write("wrong.pin", b"not-the-pin");
        Some(Hsm {
            sandbox,
            conf,
            module,
        })
    }

    /// `pkcs11:PATH?module-path=…&pin-source=file:PIN_FILE`.
    fn uri_with_pin(&self, path: &str, pin_file: &str) -> String {
        format!(
            "pkcs11:{path}?module-path={}&pin-source=file:{}",
            self.module.display(),
            self.sandbox.path(pin_file).display()
        )
    }

    fn uri(&self, path: &str) -> String {
        self.uri_with_pin(path, "user.pin")
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut command = self.sandbox.command(args);
        command.env("SOFTHSM2_CONF", &self.conf);
        match stdin {
            None => command.stdin(std::process::Stdio::null()).output().unwrap(),
            Some(input) => {
                use std::io::Write as _;
                let mut child = command
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child.stdin.take().unwrap().write_all(input).unwrap();
                child.wait_with_output().unwrap()
            }
        }
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    fn ok_with(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        let output = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains(USER_PIN), "the PIN on stderr");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(!stdout.contains(USER_PIN), "the PIN on stdout");
        stdout
    }

    fn keygen(&self, kind: &str, label: &str, extra: &[&str]) -> Value {
        let token = self.uri("token=tresor");
        let mut args = vec![
            "hsm", "keygen", "--uri", &token, "--kind", kind, "--label", label,
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&self.ok(&args)).unwrap()
    }
}

#[test]
fn keygen_makes_every_kind_and_list_shows_their_custody() {
    let Some(hsm) = Hsm::new("keygen_makes_every_kind_and_list_shows_their_custody") else {
        return;
    };
    let kek = hsm.keygen("aes-256", "kek-2026", &[]);
    assert_eq!(kek["kind"], "aes-256");
    assert_eq!(kek["class"], "secret-key");
    assert_eq!(kek["key_id"], "kek-2026");
    let pepper = hsm.keygen("hmac-sha256", "pepper", &[]);
    assert_eq!(pepper["pepper_version"], 1);
    assert_eq!(pepper["id"], "00000001");
    assert!(!pepper["uri"].as_str().unwrap().contains("id="));
    let ecdsa = hsm.keygen("ecdsa-p256", "api-signing", &[]);
    assert_eq!(ecdsa["algorithm"], "ecdsa-p256-sha256");
    assert_eq!(ecdsa["public_key_jwk"]["crv"], "P-256");
    assert!(
        ecdsa["spki_pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let ed = hsm.keygen(
        "ed25519",
        "audit-signing",
        &["--note-name", "audit.example"],
    );
    assert_eq!(ed["algorithm"], "ed25519");
    assert!(
        ed["note_verifier"]
            .as_str()
            .unwrap()
            .starts_with("audit.example+")
    );
    for key in [&kek, &pepper, &ecdsa, &ed] {
        assert_eq!(key["never_leaves_token"], true, "{key}");
        assert_eq!(key["extractable"], false);
        assert_eq!(key["value_readable"], false);
        let uri = key["uri"].as_str().unwrap();
        assert!(uri.starts_with("pkcs11:token=tresor;object="), "{uri}");
        assert!(!uri.contains(USER_PIN));
    }

    let listed: Value =
        serde_json::from_str(&hsm.ok(&["hsm", "list", "--uri", &hsm.uri("token=tresor")])).unwrap();
    let listed = listed.as_array().unwrap();
    // Four secret or private keys, and the two public halves.
    assert_eq!(listed.len(), 6, "{listed:?}");
    let secret_or_private: Vec<&Value> = listed.iter().filter(|k| k["class"] != "public").collect();
    assert_eq!(secret_or_private.len(), 4);
    assert!(
        secret_or_private
            .iter()
            .all(|k| k["never_leaves_token"] == true)
    );
    // A filter by object.
    let one: Value = serde_json::from_str(&hsm.ok(&[
        "hsm",
        "list",
        "--uri",
        &hsm.uri("token=tresor;object=kek-2026"),
    ]))
    .unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);

    // A second key of the same label is refused.
    let token = hsm.uri("token=tresor");
    let output = hsm.run(
        &[
            "hsm", "keygen", "--uri", &token, "--kind", "aes-256", "--label", "kek-2026",
        ],
        None,
    );
    failure(&output, "kek-2026");
}

#[test]
fn seal_open_and_rewrap_take_a_token_kek() {
    let Some(hsm) = Hsm::new("seal_open_and_rewrap_take_a_token_kek") else {
        return;
    };
    let kek = hsm.keygen("aes-256", "kek-2026", &[]);
    let kek_uri = kek["uri"].as_str().unwrap();
    let plaintext = b"IBAN DE89 3704 0044 0532 0130 00";
    hsm.sandbox.write("plain.txt", plaintext);
    hsm.ok(&[
        "seal",
        "--kek",
        kek_uri,
        "--context",
        "tenant=acme",
        "--in",
        "plain.txt",
        "--out",
        "sealed.bin",
    ]);
    let inspect: Value = serde_json::from_str(&hsm.ok(&["inspect", "--in", "sealed.bin"])).unwrap();
    assert_eq!(inspect["kek_id"], "kek-2026");
    hsm.ok(&[
        "open",
        "--kek",
        kek_uri,
        "--context",
        "tenant=acme",
        "--in",
        "sealed.bin",
        "--out",
        "opened.txt",
    ]);
    assert_eq!(hsm.sandbox.read("opened.txt"), plaintext);

    // Token -> key file -> token.
    hsm.ok(&["kek", "generate", "--id", "local-1", "--out", "local.key"]);
    hsm.ok(&[
        "rewrap",
        "--from",
        kek_uri,
        "--to",
        "local.key",
        "--in",
        "sealed.bin",
        "--out",
        "local.bin",
    ]);
    hsm.ok(&[
        "open",
        "--kek",
        "local.key",
        "--context",
        "tenant=acme",
        "--in",
        "local.bin",
        "--out",
        "opened-local.txt",
    ]);
    assert_eq!(hsm.sandbox.read("opened-local.txt"), plaintext);
    hsm.ok(&[
        "rewrap",
        "--from",
        "local.key",
        "--to",
        kek_uri,
        "--in",
        "local.bin",
        "--out",
        "back.bin",
    ]);
    hsm.ok(&[
        "open",
        "--kek",
        kek_uri,
        "--context",
        "tenant=acme",
        "--in",
        "back.bin",
        "--out",
        "opened-back.txt",
    ]);
    assert_eq!(hsm.sandbox.read("opened-back.txt"), plaintext);
    // A keyring of a token key and a file key: the header picks.
    hsm.ok(&[
        "open",
        "--kek",
        "local.key",
        "--kek",
        kek_uri,
        "--context",
        "tenant=acme",
        "--in",
        "sealed.bin",
        "--out",
        "opened-ring.txt",
    ]);
    assert_eq!(hsm.sandbox.read("opened-ring.txt"), plaintext);
}

#[test]
fn http_sign_takes_token_keys_of_both_curves() {
    let Some(hsm) = Hsm::new("http_sign_takes_token_keys_of_both_curves") else {
        return;
    };
    hsm.sandbox.write(
        "request.http",
        b"POST /v1/payments HTTP/1.1\r\nHost: api.bank.example\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"amount\": 10}",
    );
    for (kind, label) in [("ecdsa-p256", "api-p256"), ("ed25519", "api-ed25519")] {
        let key = hsm.keygen(kind, label, &[]);
        let pem = format!("{label}.pub.pem");
        hsm.sandbox
            .write(&pem, key["spki_pem"].as_str().unwrap().as_bytes());
        let signed = hsm.ok(&[
            "http",
            "sign",
            "--key",
            key["uri"].as_str().unwrap(),
            "--keyid",
            key["thumbprint"].as_str().unwrap(),
            "--in",
            "request.http",
        ]);
        assert!(signed.contains("Signature-Input: sig="), "{signed}");
        hsm.sandbox.write("signed.http", signed.as_bytes());
        hsm.ok(&["http", "verify", "--key", &pem, "--in", "signed.http"]);
        // One byte changed in the path: refused.
        let tampered = signed.replace("/v1/payments", "/v1/paymentz");
        hsm.sandbox.write("tampered.http", tampered.as_bytes());
        let output = hsm.run(
            &["http", "verify", "--key", &pem, "--in", "tampered.http"],
            None,
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{kind}: a tampered path verified"
        );
        // The key's algorithm is the key's: another --alg is refused.
        let other = if kind == "ed25519" {
            "ecdsa-p256-sha256"
        } else {
            "ed25519"
        };
        let output = hsm.run(
            &[
                "http",
                "sign",
                "--key",
                key["uri"].as_str().unwrap(),
                "--alg",
                other,
                "--keyid",
                "k",
                "--in",
                "request.http",
            ],
            None,
        );
        failure(&output, "signs with");
    }
}

#[test]
fn audit_checkpoints_are_signed_in_the_token() {
    let Some(hsm) = Hsm::new("audit_checkpoints_are_signed_in_the_token") else {
        return;
    };
    let key = hsm.keygen(
        "ed25519",
        "audit-signing",
        &["--note-name", "audit.example"],
    );
    hsm.sandbox.write(
        "audit.vkey",
        key["note_verifier"].as_str().unwrap().as_bytes(),
    );
    hsm.ok_with(
        &["audit", "append", "--log", "log"],
        Some(
            br#"{"timestamp":"2026-01-31T12:00:00Z","actor":{"kind":"user","id":"u-1"},"action":"payment.approve","resource":"payment/1","outcome":"allowed","request_id":"req-1","source":"10.0.0.7","details":{}}
"#,
        ),
    );
    let uri = key["uri"].as_str().unwrap();
    // A token key has no name of its own.
    let output = hsm.run(&["audit", "checkpoint", "--log", "log", "--key", uri], None);
    failure(&output, "--key-name");
    let checkpoint = hsm.ok(&[
        "audit",
        "checkpoint",
        "--log",
        "log",
        "--key",
        uri,
        "--key-name",
        "audit.example",
        "--origin",
        "audit.example/log",
    ]);
    assert!(
        checkpoint.starts_with("audit.example/log\n1\n"),
        "{checkpoint}"
    );
    hsm.sandbox.write("checkpoint.txt", checkpoint.as_bytes());
    let verified: Value = serde_json::from_str(&hsm.ok(&[
        "audit",
        "verify",
        "--log",
        "log",
        "--checkpoint",
        "checkpoint.txt",
        "--vkey",
        "audit.vkey",
    ]))
    .unwrap();
    assert_eq!(verified["checkpoint_size"], 1);
    // Signed under another name: the verifier key does not match.
    let other = hsm.ok(&[
        "audit",
        "checkpoint",
        "--log",
        "log",
        "--key",
        uri,
        "--key-name",
        "other.example",
        "--origin",
        "audit.example/log",
    ]);
    hsm.sandbox.write("other.txt", other.as_bytes());
    let output = hsm.run(
        &[
            "audit",
            "verify",
            "--log",
            "log",
            "--checkpoint",
            "other.txt",
            "--vkey",
            "audit.vkey",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn clients_authenticate_under_a_token_pepper() {
    let Some(hsm) = Hsm::new("clients_authenticate_under_a_token_pepper") else {
        return;
    };
    let pepper = hsm.keygen("hmac-sha256", "pepper", &[]);
    let uri = pepper["uri"].as_str().unwrap();
    let registered: Value = serde_json::from_str(&hsm.ok(&[
        "client",
        "register",
        "--store",
        "clients.db",
        "--pepper",
        uri,
        "--name",
        "Acme Brokerage",
    ]))
    .unwrap();
    // No pepper file was made beside the store: the pepper is in the token.
    assert!(!hsm.sandbox.exists("clients.db.pepper"));
    let id = registered["client_id"].as_str().unwrap();
    let secret = registered["client_secret"].as_str().unwrap();
    let authenticated: Value = serde_json::from_str(&hsm.ok_with(
        &[
            "client",
            "authenticate",
            "--store",
            "clients.db",
            "--client-id",
            id,
            "--pepper",
            uri,
        ],
        Some(format!("{secret}\n").as_bytes()),
    ))
    .unwrap();
    assert_eq!(authenticated["client_id"], id);
    // The wrong secret, and the right secret under the default (file)
    // pepper, which does not exist: both refused.
    let wrong = hsm.run(
        &[
            "client",
            "authenticate",
            "--store",
            "clients.db",
            "--client-id",
            id,
            "--pepper",
            uri,
        ],
        Some(format!("{}x\n", &secret[..secret.len() - 1]).as_bytes()),
    );
    failure(&wrong, "invalid client");
    let no_pepper = hsm.run(
        &[
            "client",
            "authenticate",
            "--store",
            "clients.db",
            "--client-id",
            id,
        ],
        Some(format!("{secret}\n").as_bytes()),
    );
    failure(&no_pepper, "pepper");
}

#[test]
fn a_wrong_pin_or_a_missing_key_is_one_clear_line_without_the_pin() {
    let Some(hsm) = Hsm::new("a_wrong_pin_or_a_missing_key_is_one_clear_line_without_the_pin")
    else {
        return;
    };
    hsm.keygen("aes-256", "kek-2026", &[]);
    hsm.sandbox.write("plain.txt", b"data");
    let wrong_pin = hsm.uri_with_pin("token=tresor;object=kek-2026", "wrong.pin");
    let output = hsm.run(
        &[
            "seal",
            "--kek",
            &wrong_pin,
            "--in",
            "plain.txt",
            "--out",
            "x.bin",
        ],
        None,
    );
    let line = failure(&output, "PIN incorrect");
    assert!(!line.contains("not-the-pin") && !line.contains(USER_PIN));
    assert!(!hsm.sandbox.exists("x.bin"));
    let missing = hsm.uri("token=tresor;object=kek-1999");
    let output = hsm.run(
        &[
            "seal",
            "--kek",
            &missing,
            "--in",
            "plain.txt",
            "--out",
            "x.bin",
        ],
        None,
    );
    failure(&output, "key not found: object=kek-1999");
    let no_token = hsm.uri("token=absent;object=kek-2026");
    let output = hsm.run(&["hsm", "list", "--uri", &no_token], None);
    failure(&output, "token=absent");
    // A PIN in the URI itself is refused before anything is opened.
    let pin_value = format!(
        "pkcs11:token=tresor;object=kek-2026?module-path={}&pin-value={USER_PIN}",
        hsm.module.display()
    );
    let output = hsm.run(
        &[
            "seal",
            "--kek",
            &pin_value,
            "--in",
            "plain.txt",
            "--out",
            "x.bin",
        ],
        None,
    );
    let line = failure(&output, "pin-value");
    assert!(!line.contains(USER_PIN), "{line}");
    // The wrong kind of key for the flag.
    let output = hsm.run(
        &[
            "http",
            "sign",
            "--key",
            &hsm.uri("token=tresor;object=kek-2026"),
            "--keyid",
            "k",
            "--in",
            "plain.txt",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
}
