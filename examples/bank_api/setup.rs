//! Start-up: the data directory's keys and stores (created once, reused
//! after), client registration, and the running server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use tresor::audit::{NoteSigner, NoteVerifier, PseudonymKey, Pseudonymizer};
use tresor::credentials::audit_log::AuditLogHook;
use tresor::credentials::{
    AssertionVerifier, ClientId, JwsAlgorithm, LocalPepper, Registry, TokenEndpoint, TokenIssuer,
    TokenSigningKey,
};
use tresor::httpsig::response_layer::response_policy;
use tresor::httpsig::{
    Algorithm, DigestAlgorithm, KeyMap, PrivateKey, Signer, SigningKey, Verifier,
};
use zeroize::Zeroizing;

use crate::Options;
use crate::backends;
use crate::client::{BoxError, Conn, Identity};
use crate::data::{DataDir, write_new};
use crate::server::{self, App, AppParts, SwitchStore};
use crate::tls;

pub(crate) const ISSUER: &str = "https://bank-api.tresor.example";
pub(crate) const AUDIENCE: &str = "https://bank-api.tresor.example/v1";
pub(crate) const CHECKPOINT_KEY_NAME: &str = "bank-api.tresor.example";
pub(crate) const LOG_ORIGIN: &str = "bank-api.tresor.example/audit";
pub(crate) const SCOPES: [&str; 2] = ["orders:write", "accounts:read"];
/// The demo client's rate limit (requests per second, burst the same).
pub(crate) const DEMO_RATE: u32 = 40;

/// Everything the scenario needs.
pub(crate) struct Demo {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) responses: Arc<Verifier>,
    pub(crate) demo: Identity,
    pub(crate) load: Identity,
    pub(crate) secret: Zeroizing<String>,
    pub(crate) app: Arc<App>,
    pub(crate) note_verifier: NoteVerifier,
    pub(crate) data: DataDir,
    pub(crate) server_public_jwk: String,
    pub(crate) created: Vec<&'static str>,
    /// The server's accept loop.
    pub(crate) server: JoinHandle<()>,
}

impl Demo {
    /// A new connection to the server, trusting the demo CA and verifying
    /// the server's response signatures.
    pub(crate) async fn connect(&self) -> Result<Conn, BoxError> {
        Conn::open(
            self.addr,
            Arc::clone(&self.tls),
            Arc::clone(&self.responses),
        )
        .await
    }
}

/// The data directory's key files: each loaded when present, else
/// created, and then named in `created`.
struct KeyFiles<'a> {
    data: &'a DataDir,
    created: Vec<&'static str>,
}

impl KeyFiles<'_> {
    fn load_or<T>(
        &mut self,
        file: &str,
        name: &'static str,
        load: impl FnOnce(&Path) -> Result<T, BoxError>,
        create: impl FnOnce(&Path) -> Result<T, BoxError>,
    ) -> Result<T, BoxError> {
        let path = self.data.path(file);
        if path.exists() {
            load(&path)
        } else {
            self.created.push(name);
            create(&path)
        }
    }

    /// An Ed25519 key in a PKCS#8 PEM file.
    fn private_key(&mut self, file: &str, name: &'static str) -> Result<PrivateKey, BoxError> {
        self.load_or(
            file,
            name,
            |p| Ok(PrivateKey::from_pem(&read_secret(p)?)?),
            |p| {
                let key = PrivateKey::generate(Algorithm::Ed25519)?;
                write_new(p, key.to_pkcs8_pem().as_bytes(), true)?;
                Ok(key)
            },
        )
    }
}

/// A secret text file, wiped from memory when dropped.
fn read_secret(path: &Path) -> Result<Zeroizing<String>, BoxError> {
    Ok(Zeroizing::new(std::fs::read_to_string(path)?))
}

/// The registered clients, by role (public data only).
struct Clients {
    demo: String,
    load: String,
}

/// What start-up prepares on a blocking thread (files, databases).
struct Prepared {
    data: DataDir,
    pki: tls::Pki,
    app: Arc<App>,
    verifier: Verifier,
    server_key: PrivateKey,
    note_verifier: NoteVerifier,
    demo_key: PrivateKey,
    load_key: PrivateKey,
    clients: Clients,
    secret: Zeroizing<String>,
    created: Vec<&'static str>,
}

pub(crate) async fn start(options: &Options) -> Result<Demo, BoxError> {
    // Key files, SQLite, PostgreSQL and Redis all block: off the runtime.
    let owned = options.clone();
    let Prepared {
        data,
        pki,
        app,
        verifier,
        server_key,
        note_verifier,
        demo_key,
        load_key,
        clients,
        secret,
        created,
    } = tokio::task::spawn_blocking(move || prepare(&owned)).await??;
    let server_kid = server_key.thumbprint();
    let server_public = server_key.public_key();
    let response_signer = Signer::new(Arc::new(server_key), server_kid.clone())
        .content_digest(Some(DigestAlgorithm::Sha512));

    let listen = options
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let server_tls = Arc::new(tls::server_config(pki.chain, pki.key)?);
    let server = tokio::spawn(server::serve(
        Arc::clone(&app),
        verifier,
        response_signer,
        listener,
        server_tls,
        server::Timeouts {
            header_read: options.header_read_timeout,
            body_read: options.body_read_timeout,
        },
    ));

    let mut keys = KeyMap::new();
    let server_public_jwk = server_public.to_jwk();
    keys.insert(server_kid, server_public);
    let responses = Arc::new(Verifier::new(Arc::new(keys), response_policy()?));
    let identity = |key: PrivateKey, client_id: &str| Identity {
        kid: key.thumbprint(),
        key: Arc::new(key) as Arc<dyn SigningKey>,
        client_id: client_id.to_owned(),
    };
    Ok(Demo {
        addr,
        tls: Arc::new(tls::client_config(pki.ca)?),
        responses,
        demo: identity(demo_key, &clients.demo),
        load: identity(load_key, &clients.load),
        secret,
        app,
        note_verifier,
        data,
        server_public_jwk,
        created,
        server,
    })
}

/// Start-up's blocking part: keys, stores, registrations, the application.
fn prepare(options: &Options) -> Result<Prepared, BoxError> {
    let data = DataDir::open(&options.data_dir)?;
    let mut keys = KeyFiles {
        data: &data,
        created: Vec::new(),
    };

    let (pki, pki_created) = tls::load_or_create_pki(&data.root).map_err(|e| e.to_string())?;
    if pki_created {
        keys.created.push("demo CA and server certificate");
    }
    let pepper = keys.load_or(
        "pepper.key",
        "pepper",
        |p| Ok(LocalPepper::load(p)?),
        |p| Ok(LocalPepper::create(p)?),
    )?;
    let backends = backends::open(&data, options, &mut keys.created)?;
    let store = Arc::new(SwitchStore {
        inner: backends.store,
        down: AtomicBool::new(false),
    });
    let pseudonym_key = keys.load_or(
        "pseudonym.key",
        "pseudonymizer key",
        |p| Ok(PseudonymKey::read_file(p)?),
        |p| {
            let k = PseudonymKey::generate()?;
            k.write_file(p)?;
            Ok(k)
        },
    )?;
    let pseudonymizer = Arc::new(Pseudonymizer::new(pseudonym_key).with_purpose("bank-api audit"));
    let note_signer = keys.load_or(
        "checkpoint.key",
        "checkpoint signing key",
        |p| Ok(NoteSigner::from_key_string(read_secret(p)?.trim())?),
        |p| {
            let s = NoteSigner::generate(CHECKPOINT_KEY_NAME)?;
            write_new(p, s.to_key_string().as_bytes(), true)?;
            write_new(
                &p.with_extension("pub"),
                format!("{}\n", s.verifier()).as_bytes(),
                false,
            )?;
            Ok(s)
        },
    )?;
    let note_verifier = NoteVerifier::from_key_string(
        std::fs::read_to_string(data.path("checkpoint.pub"))?.trim(),
    )?;
    let server_key = keys.private_key("server-ed25519.pem", "response signing key")?;
    let token_key = keys.load_or(
        "token-eddsa.pk8",
        "access-token signing key",
        |p| {
            Ok(TokenSigningKey::from_pkcs8(
                JwsAlgorithm::EdDsa,
                &Zeroizing::new(std::fs::read(p)?),
            )?)
        },
        |p| {
            let k = TokenSigningKey::generate(JwsAlgorithm::EdDsa)?;
            write_new(p, &k.to_pkcs8_der(), true)?;
            Ok(k)
        },
    )?;

    let hook = AuditLogHook::with_sink(backends.audit.sink())
        .pseudonymize_source(Arc::clone(&pseudonymizer))
        .request_ids(|_| server::CURRENT_REQUEST.with(|c| c.borrow().clone()));
    let registry = Arc::new({
        let mut builder = Registry::builder(store.clone(), Arc::new(pepper)).audit(Arc::new(hook));
        if let Some(shared) = &backends.rate {
            builder = builder.shared_rate_limits(Arc::clone(shared));
        }
        builder.build()?
    });

    // Clients: registered once, with proof of possession of their keys.
    let demo_key = keys.private_key("client-ed25519.pem", "demo client key")?;
    let load_key = keys.private_key("load-client-ed25519.pem", "load client key")?;
    let clients_path = data.path("clients.json");
    let (clients, secret) = if clients_path.exists() {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&clients_path)?)?;
        let clients = Clients {
            demo: v
                .get("demo")
                .and_then(|x| x.as_str())
                .ok_or("clients.json: no demo client")?
                .to_owned(),
            load: v
                .get("load")
                .and_then(|x| x.as_str())
                .ok_or("clients.json: no load client")?
                .to_owned(),
        };
        // The secret was shown once and never stored: a new run rotates it
        // (the previous one stays valid for a minute) to show it again.
        let id = ClientId::parse(&clients.demo)?;
        if registry.get(&id)?.is_none() {
            return Err(format!(
                "{} names clients that the credential store does not hold: this data directory \
                 was set up with another store (SQLite, or another database); give a new \
                 --data-dir",
                clients_path.display()
            )
            .into());
        }
        let rotated = match registry.rotate_secret(&id, Duration::from_secs(60)) {
            // A run within the last minute left its secret in its grace
            // period: end that one now (its run is over, or it is another
            // instance that has already used it), then rotate.
            Err(tresor::credentials::Error::TooManyActiveSecrets { .. }) => {
                if let Some(record) = registry.get(&id)? {
                    for old in record.secrets.iter().filter(|s| s.expires.is_some()) {
                        registry.revoke_secret(&id, &old.id)?;
                    }
                }
                registry.rotate_secret(&id, Duration::from_secs(60))
            }
            other => other,
        };
        let (_, secret) = rotated?;
        (clients, Zeroizing::new(secret.expose_secret().to_owned()))
    } else {
        let scopes: Vec<&str> = SCOPES.to_vec();
        let (demo_id, secret) = registry.register("Demo trading desk", &scopes)?;
        register_key(&registry, &demo_id, &demo_key)?;
        let load_id = registry.register_without_secret("Load generator", &scopes)?;
        register_key(&registry, &load_id, &load_key)?;
        let clients = Clients {
            demo: demo_id.to_string(),
            load: load_id.to_string(),
        };
        write_new(
            &clients_path,
            serde_json::json!({ "demo": clients.demo, "load": clients.load })
                .to_string()
                .as_bytes(),
            false,
        )?;
        keys.created.push("client registrations");
        (clients, Zeroizing::new(secret.expose_secret().to_owned()))
    };

    let issuer = TokenIssuer::new(ISSUER, AUDIENCE, Arc::new(token_key));
    let tokens = issuer.verifier();
    let mut assertions = AssertionVerifier::new(ISSUER);
    if let Some(cache) = backends.replay {
        assertions = assertions.replay_cache(cache);
    }
    let endpoint = TokenEndpoint::new(Arc::clone(&registry), issuer).assertions(assertions);

    let mut quotas = HashMap::new();
    quotas.insert(clients.load.clone(), 1_000_000);
    let app = Arc::new(
        App::new(AppParts {
            registry: Arc::clone(&registry),
            store,
            endpoint,
            tokens,
            kek_dir: data.path("kek"),
            audit: backends.audit,
            backends: backends.label,
            pseudonymizer,
            note_signer,
            origin: LOG_ORIGIN.to_owned(),
            quotas,
            default_rate: DEMO_RATE,
            rate_store: backends.rate.clone(),
        })
        .map_err(|e| e.to_string())?,
    );

    // The request verifier: the signing profile (`profile::policy`); only
    // its route-dependent rule is checked after the layer.
    let policy = crate::profile::policy()?;
    let verifier = Verifier::new(registry.clone(), policy).nonce_store(backends.nonces);
    let created = keys.created;
    Ok(Prepared {
        data,
        pki,
        app,
        verifier,
        server_key,
        note_verifier,
        demo_key,
        load_key,
        clients,
        secret,
        created,
    })
}

fn register_key(registry: &Registry, id: &ClientId, key: &PrivateKey) -> Result<(), BoxError> {
    let challenge = registry.key_challenge(id)?;
    let proof = key.sign(challenge.as_bytes())?;
    registry.add_key(id, &key.public_key().to_jwk(), challenge.as_str(), &proof)?;
    Ok(())
}

/// The account the worked session reads (the scenario's).
const SERVE_ACCOUNT: &str = "acc-1001";

/// `text` quoted for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `--serve`: what the server is, a worked session of calls by hand with
/// the `tresor` CLI and curl (between marker lines, so that scripts can
/// run it), then one JSON line, last, for scripts. Flushed: the server
/// keeps running.
pub(crate) fn print_serve_info(demo: &Demo) -> Result<(), BoxError> {
    use std::io::Write;

    let url = format!("https://localhost:{}", demo.addr.port());
    // Absolute paths: the session may be pasted in any directory.
    let root = std::fs::canonicalize(&demo.data.root)?;
    let ca = root.join("ca.pem").display().to_string();
    let key_file = root.join("client-ed25519.pem").display().to_string();
    let info = serde_json::json!({
        "url": url,
        "ca_cert": ca,
        "client_id": demo.demo.client_id,
        "key_file": key_file,
        "keyid": demo.demo.kid,
        "server_public_key": serde_json::from_str::<serde_json::Value>(&demo.server_public_jwk)?,
        "issuer": ISSUER,
        "data_dir": root.display().to_string(),
    });
    let session = worked_session(
        &url,
        &ca,
        &key_file,
        &demo.demo.kid,
        &demo.demo.client_id,
        &demo.server_public_jwk,
    );

    let mut out = std::io::stdout().lock();
    writeln!(out, "tresor bank_api --serve")?;
    writeln!(out, "  data directory: {}", root.display())?;
    if demo.created.is_empty() {
        writeln!(out, "  reusing every key, store and registration in it")?;
    } else {
        writeln!(out, "  created: {}", demo.created.join(", "))?;
    }
    writeln!(
        out,
        "  server: {url} (TLS 1.2/1.3, loopback only), until the process is stopped"
    )?;
    writeln!(
        out,
        "  demo client {} key {}",
        demo.demo.client_id, demo.demo.kid
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Call it by hand with the tresor CLI (cargo install --path crates/tresor-cli) and curl:\n\
         paste the lines between the markers into bash, in an empty directory (they write\n\
         token-request.http, request.http, response.http and server.jwk there). The token\n\
         request authenticates by private_key_jwt (RFC 7523), with a client assertion that\n\
         `tresor client assertion` signs with the client's key: no client secret is needed\n\
         (one is shown only when it is issued, and never by --serve). Every request is\n\
         signed under the bank's profile by `tresor http sign`, and the signed answer is\n\
         checked by `tresor http verify` against the server's public key."
    )?;
    writeln!(out)?;
    out.write_all(session.as_bytes())?;
    writeln!(out)?;
    writeln!(
        out,
        "The next line, the last of the start-up output and the only one that starts with \
         '{{', is JSON for scripts."
    )?;
    writeln!(out, "{info}")?;
    out.flush()?;
    Ok(())
}

/// The first and last lines of the worked session.
pub(crate) const SESSION_BEGIN: &str = "# --- worked session: begin ---";
pub(crate) const SESSION_END: &str = "# --- worked session: end ---";

/// The worked session: a token by `private_key_jwt`, a signed
/// `GET /v1/accounts/{id}` with curl, and the check of its signed answer.
/// Exact shell commands; every value in them is quoted. (The README shows
/// it too; the router test checks that it is the same.)
pub(crate) fn worked_session(
    url: &str,
    ca: &str,
    key_file: &str,
    kid: &str,
    client_id: &str,
    server_jwk: &str,
) -> String {
    let q = shell_quote;
    let account = SERVE_ACCOUNT;
    format!(
        r#"{SESSION_BEGIN}
URL={url}
CA={ca}
KEY={key_file}
KID={kid}
CLIENT={client_id}
# Signs a raw request (stdin) under the bank's profile: created, expires in 60 s,
# a random nonce, keyid = the key's RFC 7638 thumbprint, Ed25519, sha-512
# Content-Digest of a body; the covered components are the arguments.
sign_request() {{
  tresor http sign --key "$KEY" --keyid "$KID" --random-nonce \
    --expires "$(( $(date +%s) + 60 ))" --digest sha-512 "$@"
}}
# The header lines of a signed request (no request line, no body), for curl -H @-.
header_lines() {{ sed -e 1d -e '/^$/,$d' "$1"; }}

# 1. An access token by private_key_jwt: a signed POST /oauth/token whose body
#    carries a client assertion signed with the client's key.
ASSERTION=$(tresor client assertion --key "$KEY" --client-id "$CLIENT" --audience {issuer})
BODY="grant_type=client_credentials&scope=accounts%3Aread&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=$ASSERTION"
printf 'POST /oauth/token HTTP/1.1\nAccept: application/json\nContent-Type: application/x-www-form-urlencoded\nContent-Length: %s\n\n%s' "${{#BODY}}" "$BODY" \
  | sign_request --component '"@method"' --component '"@path"' --component '"accept"' \
      --component '"content-type"' --component '"content-length"' --component '"content-digest"' \
  > token-request.http
TOKEN=$(header_lines token-request.http \
  | curl -sS --fail-with-body --cacert "$CA" -H @- --data-binary "$BODY" "$URL/oauth/token" \
  | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

# 2. A signed GET /v1/accounts/{account} with the token; curl -i keeps the answer's head.
printf 'GET /v1/accounts/{account} HTTP/1.1\nAccept: application/json\nAuthorization: Bearer %s\n\n' "$TOKEN" \
  | sign_request --component '"@method"' --component '"@path"' --component '"accept"' \
      --component '"authorization"' \
  > request.http
header_lines request.http \
  | curl -sS -i --fail-with-body --cacert "$CA" -H @- "$URL/v1/accounts/{account}" > response.http
cat response.http; echo

# 3. The answer is signed by the server (server_public_key), bound to this request.
printf '%s\n' {jwk} > server.jwk
tresor http verify --key server.jwk --request request.http --max-age 60 \
  --require '"@status"' --require '"@method";req' --require '"@path";req' --in response.http
{SESSION_END}
"#,
        url = q(url),
        ca = q(ca),
        key_file = q(key_file),
        kid = q(kid),
        client_id = q(client_id),
        issuer = q(ISSUER),
        jwk = q(server_jwk),
    )
}
