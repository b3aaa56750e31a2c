//! The credential commands: `client register`, `authenticate`,
//! `rotate-secret`, `revoke-secret`, `show`, `list`, `key-challenge`,
//! `add-key`, `assertion`, `suspend`, `reactivate`, and `secret check`, on
//! top of [`tresor_credentials`].
//!
//! The store is an SQLite file ([`SqliteStore`]) or, with `--store
//! postgres://…`, a PostgreSQL database shared by several servers
//! (`tresor_postgres::PostgresStore`); the pepper a [`LocalPepper`] key
//! file, by default beside an SQLite store (a PostgreSQL store needs
//! `--pepper`), or HMAC keys in a PKCS#11 token. Only the commands
//! that make or check a MAC (`register`, `authenticate`, `rotate-secret`,
//! `key-challenge`, `add-key`) read the pepper; the others get a pepper
//! that refuses every use, so listing or revoking needs no access to it.
//!
//! A secret leaves the process only once, in the JSON `register` and
//! `rotate-secret` print; it is read (for `authenticate` and `secret
//! check`) from standard input, never from the command line, and held in
//! buffers that are wiped when dropped.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tresor_credentials::secrecy::SecretString;
use tresor_credentials::{
    ClientId, CredentialStore, FixedClock, LocalPepper, Pepper, Registry, SqliteStore,
    client::ClientRecord, client::KeyState, client::SecretId, keys::KeyOptions,
    secret::SecretPrefix, secret::validate_secret_format, secret::validate_secret_with_prefix,
};
use tresor_pkcs11::Pkcs11Pepper;
use zeroize::Zeroizing;

use crate::args::{
    ClientAddKeyArgs, ClientAssertionArgs, ClientAuthenticateArgs, ClientIdArgs,
    ClientKeyChallengeArgs, ClientRegisterArgs, ClientRevokeArgs, ClientRotateArgs, PepperArgs,
    SecretCheckArgs, StoreArgs,
};
use crate::error::{CliError, Result};
use crate::hsm;
use crate::input::read_small_text;
use crate::output::print_json;

/// The most bytes read from standard input as a secret (a secret is at most
/// 82 bytes; more is accepted so that an over-long input is refused like
/// any other wrong secret, not by a different message).
const MAX_SECRET_INPUT: usize = 4096;

// ---- store and pepper ------------------------------------------------------

/// Whether `--store` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than an SQLite file.
fn postgres_url(args: &StoreArgs) -> Option<&str> {
    let text = args.store.to_str()?;
    (text.starts_with("postgres://") || text.starts_with("postgresql://")).then_some(text)
}

/// Opens the store: a PostgreSQL database (`--store postgres://…`, its
/// migrations applied) or an SQLite file, of which only `create` makes a
/// new one.
fn open_store(args: &StoreArgs, create: bool) -> Result<Arc<dyn CredentialStore>> {
    if let Some(url) = postgres_url(args) {
        return open_postgres(url, args.store_ca.as_deref());
    }
    if args.store_ca.is_some() {
        return Err(CliError::Usage(
            "--store-ca is the CA of a PostgreSQL server: give --store postgres://…".into(),
        ));
    }
    let path = &args.store;
    if !create && path.symlink_metadata().is_err() {
        return Err(CliError::Usage(format!(
            "no credential store at {path:?} (`tresor client register` creates one)"
        )));
    }
    if path.is_dir() {
        return Err(CliError::Usage(format!("--store {path:?} is a directory")));
    }
    Ok(Arc::new(SqliteStore::open(path)?))
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str, ca: Option<&std::path::Path>) -> Result<Arc<dyn CredentialStore>> {
    use tresor_postgres::PostgresStore;
    // The password may come from PGPASSWORD; errors never repeat the URL.
    let (config, options) = crate::pglog::config(url, "--store")?;
    Ok(Arc::new(match crate::pglog::tls(ca, "--store-ca")? {
        Some(tls) => PostgresStore::from_config_tls(config, options, &tls)?,
        None => PostgresStore::from_config(config, options)?,
    }))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str, _ca: Option<&std::path::Path>) -> Result<Arc<dyn CredentialStore>> {
    Err(CliError::Usage(
        "--store postgres://…: this tresor was built without the `postgres` feature".into(),
    ))
}

/// The pepper's path: `--pepper`, or for an SQLite store its path with
/// `.pepper` appended. A PostgreSQL store has no path to put it beside:
/// `--pepper` is then required.
fn pepper_path(pepper: &PepperArgs, store: &StoreArgs) -> Result<PathBuf> {
    if postgres_url(store).is_some() && pepper.pepper.is_none() {
        return Err(CliError::Usage(
            "--store postgres://… needs --pepper FILE or --pepper pkcs11:…: the pepper is kept \
             apart from the database"
                .into(),
        ));
    }
    Ok(pepper.path(&store.store))
}

/// Loads the pepper of an existing store: its key file, or the HMAC keys
/// a `--pepper pkcs11:` URI names in a token.
fn load_pepper(pepper: &PepperArgs, store: &StoreArgs) -> Result<Arc<dyn Pepper>> {
    let path = pepper_path(pepper, store)?;
    if let Some(uri) = hsm::uri(&path)? {
        return Ok(Arc::new(Pkcs11Pepper::open(&uri)?));
    }
    if path.symlink_metadata().is_err() {
        return Err(CliError::Usage(format!(
            "no pepper key file at {path:?}: give the store's pepper with --pepper FILE"
        )));
    }
    Ok(Arc::new(LocalPepper::load(&path)?))
}

/// The pepper for `register`: the existing key file, or a new one (mode
/// 0600) if there is none and the store holds no client yet. A store with
/// clients never gets a new pepper: their secrets would stop verifying.
fn pepper_for_register(
    pepper: &PepperArgs,
    store_args: &StoreArgs,
    store: &dyn CredentialStore,
) -> Result<Arc<dyn Pepper>> {
    let path = pepper_path(pepper, store_args)?;
    if let Some(uri) = hsm::uri(&path)? {
        // A token's pepper is made with `tresor hsm keygen --kind hmac-sha256`.
        return Ok(Arc::new(Pkcs11Pepper::open(&uri)?));
    }
    if path.symlink_metadata().is_ok() {
        return Ok(Arc::new(LocalPepper::load(&path)?));
    }
    let clients = store.list()?.len();
    if clients > 0 {
        return Err(CliError::Usage(format!(
            "no pepper key file at {path:?}, but the store holds {clients} client(s): their \
             secrets were made under another pepper; give it with --pepper FILE"
        )));
    }
    match LocalPepper::create(&path) {
        Ok(created) => {
            let _ = writeln!(
                io::stderr().lock(),
                "tresor: created pepper key file {path:?} (mode 0600): without it no secret can \
                 be verified; in production keep it apart from the store"
            );
            Ok(Arc::new(created))
        }
        // Created meanwhile by another `register`: use that one.
        Err(tresor_credentials::Error::FileExists { .. }) => {
            Ok(Arc::new(LocalPepper::load(&path)?))
        }
        Err(err) => Err(err.into()),
    }
}

/// A pepper for the commands that make no verifier: every use fails, so
/// they run without access to the real one.
struct NoPepper;

impl Pepper for NoPepper {
    fn current_version(&self) -> u32 {
        1
    }

    fn mac(&self, _version: u32, _data: &[u8]) -> tresor_credentials::Result<[u8; 32]> {
        Err(tresor_credentials::Error::pepper(
            "this command does not use the pepper",
        ))
    }
}

/// A registry over an existing store that needs no pepper.
fn registry_without_pepper(store: &StoreArgs) -> Result<Registry> {
    Ok(Registry::new(
        open_store(store, false)?,
        Arc::new(NoPepper),
    )?)
}

/// A registry over an existing store and its pepper.
fn registry_with_pepper(store: &StoreArgs, pepper: &PepperArgs) -> Result<Registry> {
    let opened = open_store(store, false)?;
    let pepper = load_pepper(pepper, store)?;
    Ok(Registry::new(opened, pepper)?)
}

/// Parses `--client-id` for the management commands (the value is not
/// echoed: it might be a secret pasted in the wrong place).
fn client_id(text: &str) -> Result<ClientId> {
    ClientId::parse(text).map_err(|_| {
        CliError::Usage("invalid --client-id: expected a client id (22 base62 characters)".into())
    })
}

/// The client's record, or an error naming the client.
fn record(registry: &Registry, id: &ClientId) -> Result<ClientRecord> {
    registry.get(id)?.ok_or_else(|| {
        tresor_credentials::Error::UnknownClient {
            client_id: id.to_string(),
        }
        .into()
    })
}

// ---- secrets on standard input ---------------------------------------------

/// Reads a secret from standard input: one line from a terminal, else
/// everything up to end of file; one trailing newline (LF or CRLF) is
/// dropped. `None` if the input is longer than [`MAX_SECRET_INPUT`].
fn read_secret_bytes() -> Result<Option<Zeroizing<Vec<u8>>>> {
    // Allocated once, so no copy of the secret is left behind by a
    // reallocation; wiped on drop.
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_SECRET_INPUT + 1));
    let stdin = io::stdin();
    let limit = u64::try_from(MAX_SECRET_INPUT + 1).unwrap_or(u64::MAX);
    let mut input = stdin.lock().take(limit);
    let read = if stdin.is_terminal() {
        input.read_until(b'\n', &mut buf)
    } else {
        input.read_to_end(&mut buf)
    };
    read.map_err(|err| CliError::Usage(format!("cannot read standard input: {err}")))?;
    if buf.len() > MAX_SECRET_INPUT {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(Some(buf))
}

// ---- output ----------------------------------------------------------------

/// What `register` and `rotate-secret` print: the secret, this once.
#[derive(Serialize)]
struct IssuedSecret<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    secret_id: &'a str,
}

/// Prints the issued secret as one line of JSON, through a buffer that is
/// wiped afterwards.
fn print_issued(client_id: &ClientId, secret: &str, secret_id: &SecretId) -> Result<()> {
    let json = Zeroizing::new(
        serde_json::to_string(&IssuedSecret {
            client_id: client_id.as_str(),
            client_secret: secret,
            secret_id: secret_id.as_str(),
        })
        .map_err(|err| CliError::Stdout(err.into()))?,
    );
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", json.as_str())
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

/// A secret's state at `now`.
fn secret_state(expires: Option<i64>, revoked: Option<i64>, now: i64) -> &'static str {
    if revoked.is_some() {
        "revoked"
    } else if expires.is_some_and(|end| now >= end) {
        "expired"
    } else {
        "active"
    }
}

/// One secret in `show`: its id and dates, never its MAC.
#[derive(Serialize)]
struct SecretJson<'a> {
    secret_id: &'a str,
    state: &'static str,
    created: i64,
    expires: Option<i64>,
    revoked: Option<i64>,
    pepper_version: u32,
}

/// One public key in `show`.
#[derive(Serialize)]
struct KeyJson<'a> {
    kid: &'a str,
    alg: &'a str,
    state: &'static str,
    not_before: Option<i64>,
    not_after: Option<i64>,
    created: i64,
    jwk: serde_json::Value,
}

/// What `show` prints.
#[derive(Serialize)]
struct ClientJson<'a> {
    client_id: &'a str,
    name: &'a str,
    scopes: &'a [String],
    status: &'static str,
    created: i64,
    updated: i64,
    secrets: Vec<SecretJson<'a>>,
    public_keys: Vec<KeyJson<'a>>,
    /// Ids of revoked keys whose material was pruned: never registrable
    /// again.
    revoked_kids: Vec<RevokedKidJson<'a>>,
}

/// A revoked key id kept after its key material was pruned.
#[derive(Serialize)]
struct RevokedKidJson<'a> {
    kid: &'a str,
    pruned: i64,
}

/// One line of `list`.
#[derive(Serialize)]
struct ClientLine<'a> {
    client_id: &'a str,
    name: &'a str,
    scopes: &'a [String],
    status: &'static str,
    created: i64,
    updated: i64,
    active_secrets: usize,
    public_keys: usize,
}

fn status_name(record: &ClientRecord) -> &'static str {
    match record.status {
        tresor_credentials::client::ClientStatus::Active => "active",
        tresor_credentials::client::ClientStatus::Suspended => "suspended",
    }
}

fn key_state_name(state: KeyState) -> &'static str {
    match state {
        KeyState::Active => "active",
        KeyState::VerifyOnly => "verify_only",
        KeyState::Revoked => "revoked",
    }
}

fn client_json(record: &ClientRecord, now: i64) -> ClientJson<'_> {
    ClientJson {
        client_id: record.id.as_str(),
        name: &record.name,
        scopes: &record.scopes,
        status: status_name(record),
        created: record.created,
        updated: record.updated,
        secrets: record
            .secrets
            .iter()
            .map(|v| SecretJson {
                secret_id: v.id.as_str(),
                state: secret_state(v.expires, v.revoked, now),
                created: v.created,
                expires: v.expires,
                revoked: v.revoked,
                pepper_version: v.pepper_version,
            })
            .collect(),
        public_keys: record
            .public_keys
            .iter()
            .map(|k| KeyJson {
                kid: &k.kid,
                alg: &k.alg,
                state: key_state_name(k.state),
                not_before: k.not_before,
                not_after: k.not_after,
                created: k.created,
                jwk: serde_json::from_str(&k.jwk)
                    .unwrap_or_else(|_| serde_json::Value::String(k.jwk.clone())),
            })
            .collect(),
        revoked_kids: record
            .revoked_kids
            .iter()
            .map(|r| RevokedKidJson {
                kid: &r.kid,
                pruned: r.pruned,
            })
            .collect(),
    }
}

// ---- commands --------------------------------------------------------------

/// `tresor client register`.
pub(crate) fn register(args: &ClientRegisterArgs) -> Result<()> {
    let store = open_store(&args.store, true)?;
    let pepper = pepper_for_register(&args.pepper, &args.store, store.as_ref())?;
    let registry = Registry::new(store, pepper)?;
    let (id, secret) = registry.register(&args.name, &args.scope)?;
    let secret_id = record(&registry, &id)?
        .secrets
        .first()
        .map(|v| v.id.clone())
        .ok_or_else(|| CliError::Usage("the new client has no secret".into()))?;
    print_issued(&id, secret.expose_secret(), &secret_id)
}

/// What `authenticate` prints on success.
#[derive(Serialize)]
struct Authenticated<'a> {
    client_id: &'a str,
    name: &'a str,
    scopes: &'a [String],
    secret_id: &'a str,
}

/// `tresor client authenticate`: every invalid credential gives the same
/// `invalid client` (the library's one answer), a malformed or over-long
/// secret included.
pub(crate) fn authenticate(args: &ClientAuthenticateArgs) -> Result<()> {
    let store = open_store(&args.client.store, false)?;
    let pepper = load_pepper(&args.pepper, &args.client.store)?;
    let mut builder = Registry::builder(store, pepper);
    if let Some(now) = args.now {
        builder = builder.clock(Arc::new(FixedClock::new(now)));
    }
    let registry = builder.build()?;
    // Unreadable as a secret: checked like any wrong one, the same work and
    // the same answer.
    let secret = read_secret_bytes()?
        .and_then(|bytes| std::str::from_utf8(&bytes).ok().map(SecretString::from))
        .unwrap_or_else(|| SecretString::from(""));
    let client = registry.authenticate(&args.client.client_id, &secret, None)?;
    print_json(
        &Authenticated {
            client_id: client.id().as_str(),
            name: client.name(),
            scopes: client.scopes(),
            secret_id: client.secret_id().map_or("", |id| id.as_str()),
        },
        false,
    )
}

/// `tresor client rotate-secret`.
pub(crate) fn rotate_secret(args: &ClientRotateArgs) -> Result<()> {
    let id = client_id(&args.client.client_id)?;
    let registry = registry_with_pepper(&args.client.store, &args.pepper)?;
    let (secret_id, secret) = registry
        .rotate_secret(&id, Duration::from_secs(args.grace))
        .map_err(|err| match err {
            tresor_credentials::Error::TooManyActiveSecrets { .. } => CliError::Usage(format!(
                "{err}: revoke one first (`tresor client revoke-secret --secret-id ID`, ids in \
                 `tresor client show`)"
            )),
            other => other.into(),
        })?;
    print_issued(&id, secret.expose_secret(), &secret_id)
}

/// What `revoke-secret` prints.
#[derive(Serialize)]
struct Revoked<'a> {
    client_id: &'a str,
    revoked: Vec<&'a str>,
}

/// `tresor client revoke-secret`.
pub(crate) fn revoke_secret(args: &ClientRevokeArgs) -> Result<()> {
    let id = client_id(&args.client.client_id)?;
    let registry = registry_without_pepper(&args.client.store)?;
    let secret_ids = if args.all {
        let now = registry.now()?;
        record(&registry, &id)?
            .secrets
            .into_iter()
            .filter(|v| v.is_active(now))
            .map(|v| v.id)
            .collect()
    } else {
        args.secret_id
            .iter()
            .map(|text| {
                SecretId::parse(text).map_err(|_| {
                    CliError::Usage(format!(
                        "invalid --secret-id {text:?}: expected a secret id (16 base62 \
                         characters, see `tresor client show`)"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?
    };
    for secret_id in &secret_ids {
        registry.revoke_secret(&id, secret_id)?;
    }
    print_json(
        &Revoked {
            client_id: id.as_str(),
            revoked: secret_ids.iter().map(SecretId::as_str).collect(),
        },
        false,
    )
}

/// `tresor client show`.
pub(crate) fn show(args: &ClientIdArgs) -> Result<()> {
    let id = client_id(&args.client_id)?;
    let registry = registry_without_pepper(&args.store)?;
    let record = record(&registry, &id)?;
    print_json(&client_json(&record, registry.now()?), true)
}

/// `tresor client list`.
pub(crate) fn list(args: &StoreArgs) -> Result<()> {
    let registry = registry_without_pepper(args)?;
    let now = registry.now()?;
    for record in registry.list()? {
        print_json(
            &ClientLine {
                client_id: record.id.as_str(),
                name: &record.name,
                scopes: &record.scopes,
                status: status_name(&record),
                created: record.created,
                updated: record.updated,
                active_secrets: record.secrets.iter().filter(|v| v.is_active(now)).count(),
                public_keys: record.public_keys.len(),
            },
            false,
        )?;
    }
    Ok(())
}

/// The most bytes read from a `--public-key` or `--proof` file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Decodes Base64, standard or URL-safe, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
    let text = text.trim();
    Base64::decode_vec(text)
        .or_else(|_| Base64Unpadded::decode_vec(text))
        .or_else(|_| Base64Url::decode_vec(text))
        .or_else(|_| Base64UrlUnpadded::decode_vec(text))
        .ok()
}

/// What `key-challenge` prints.
#[derive(Serialize)]
struct ChallengeJson<'a> {
    client_id: &'a str,
    challenge: &'a str,
    expires: i64,
}

/// `tresor client key-challenge`.
pub(crate) fn key_challenge(args: &ClientKeyChallengeArgs) -> Result<()> {
    let id = client_id(&args.client.client_id)?;
    let registry = registry_with_pepper(&args.client.store, &args.pepper)?;
    let challenge = registry.key_challenge(&id)?;
    print_json(
        &ChallengeJson {
            client_id: id.as_str(),
            challenge: challenge.as_str(),
            expires: challenge.expires(),
        },
        false,
    )
}

/// What `add-key` prints.
#[derive(Serialize)]
struct AddedKey<'a> {
    client_id: &'a str,
    kid: &'a str,
    alg: &'a str,
    state: &'static str,
}

/// `tresor client add-key`.
pub(crate) fn add_key(args: &ClientAddKeyArgs) -> Result<()> {
    let id = client_id(&args.client.client_id)?;
    let mut options = KeyOptions::new();
    if let Some(alg) = args.alg {
        options = options.alg(alg);
    }
    let public_key = read_small_text(&args.public_key, MAX_KEY_FILE, "--public-key")?;
    let proof_file = read_small_text(&args.proof, MAX_KEY_FILE, "--proof")?;
    let (challenge, signature) = match &args.challenge {
        Some(challenge) => (challenge.trim(), proof_file.trim()),
        None => {
            let mut lines = proof_file.lines().map(str::trim).filter(|l| !l.is_empty());
            match (lines.next(), lines.next(), lines.next()) {
                (Some(challenge), Some(signature), None) => (challenge, signature),
                _ => {
                    return Err(CliError::Usage(format!(
                        "--proof {:?} must hold two lines, the challenge and the Base64 \
                         signature over it (or give the challenge with --challenge)",
                        args.proof
                    )));
                }
            }
        }
    };
    let proof = decode_base64(signature).ok_or_else(|| {
        CliError::Usage(format!(
            "--proof {:?} does not hold Base64 (the signature over the challenge)",
            args.proof
        ))
    })?;
    let registry = registry_with_pepper(&args.client.store, &args.pepper)?;
    let key = registry.add_key_with(&id, &public_key, challenge, &proof, options)?;
    print_json(
        &AddedKey {
            client_id: id.as_str(),
            kid: &key.kid,
            alg: &key.alg,
            state: key_state_name(key.state),
        },
        false,
    )
}

/// `tresor client assertion`: a `private_key_jwt` client assertion, signed
/// with the client's private key, on one line.
pub(crate) fn assertion(args: &ClientAssertionArgs) -> Result<()> {
    use tresor_credentials::JwsAlgorithm;
    use tresor_credentials::assertion::AssertionSigner;
    use tresor_httpsig::Algorithm;

    let id = client_id(&args.client_id)?;
    if args.audience.is_empty() || args.audience.chars().any(char::is_control) {
        return Err(CliError::Usage(
            "invalid --audience: expected the authorization server's issuer identifier".into(),
        ));
    }
    let alg = match args.alg {
        None => None,
        Some(JwsAlgorithm::EdDsa) => Some(Algorithm::Ed25519),
        Some(JwsAlgorithm::Es256) => Some(Algorithm::EcdsaP256Sha256),
        Some(JwsAlgorithm::Es384) => Some(Algorithm::EcdsaP384Sha384),
        Some(JwsAlgorithm::Ps512) => Some(Algorithm::RsaPssSha512),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "--alg {other}: this tool signs assertions with EdDSA, ES256, ES384 or PS512"
            )));
        }
    };
    let key = crate::sigkeys::private_key(&args.key, alg, "--alg PS512")?;
    let kid = args.keyid.clone().unwrap_or_else(|| key.thumbprint());
    let assertion = AssertionSigner::new(Arc::new(key), kid, id)?
        .lifetime(Duration::from_secs(args.lifetime))
        .sign(&args.audience)?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{assertion}")
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

/// What `suspend` and `reactivate` print.
#[derive(Serialize)]
struct StatusJson<'a> {
    client_id: &'a str,
    status: &'static str,
}

/// `tresor client suspend` (`suspend`) and `tresor client reactivate`.
pub(crate) fn set_status(args: &ClientIdArgs, suspend: bool) -> Result<()> {
    let id = client_id(&args.client_id)?;
    let registry = registry_without_pepper(&args.store)?;
    if suspend {
        registry.suspend(&id)?;
    } else {
        registry.reactivate(&id)?;
    }
    let record = record(&registry, &id)?;
    print_json(
        &StatusJson {
            client_id: id.as_str(),
            status: status_name(&record),
        },
        false,
    )
}

/// `tresor secret check`: validates the format and checksum offline and
/// prints one line naming the prefix (never the secret).
pub(crate) fn secret_check(args: &SecretCheckArgs) -> Result<()> {
    let prefix = args.prefix.as_deref().map(SecretPrefix::new).transpose()?;
    let malformed = |reason| tresor_credentials::Error::MalformedSecret { reason };
    let Some(bytes) = read_secret_bytes()? else {
        return Err(malformed("too long").into());
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not ASCII"))?;
    let found = validate_secret_format(text)?.to_owned();
    if let Some(prefix) = &prefix {
        validate_secret_with_prefix(text, prefix)?;
    }
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "well-formed client secret (prefix {found})")
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_states() {
        assert_eq!(secret_state(None, None, 10), "active");
        assert_eq!(secret_state(Some(11), None, 10), "active");
        assert_eq!(secret_state(Some(10), None, 10), "expired");
        assert_eq!(secret_state(Some(11), Some(5), 10), "revoked");
    }

    #[test]
    fn no_pepper_refuses_every_use() {
        assert!(NoPepper.mac(1, b"x").is_err());
    }
}
