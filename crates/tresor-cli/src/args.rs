//! The command line: flags, and their conversion into library values.
//!
//! Typed values (`--suite`, `--frame-size`, `--alg`, `--digest`) are parsed
//! by the `value_parser`s here, which fail with a [`FlagError`]: `run`
//! reports it as an ordinary `tresor: error:` line with exit code 1, the
//! message naming the flag and the accepted values. `--context` is taken as
//! text and checked by [`context`] the same way. Otherwise clap reports
//! malformed command lines (unknown or missing flags), with exit code 2.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use tresor_credentials::JwsAlgorithm;
use tresor_envelope::{Context, MAX_FRAME_SIZE, MIN_FRAME_SIZE, Suite};
use tresor_httpsig::{Algorithm, DigestAlgorithm};

use crate::error::{CliError, Result};

/// Envelope encryption, HTTP message signatures and API client credentials
/// from the shell: generate key-encryption keys, seal and open files or
/// streams of any size, rewrap them under a new key, inspect their headers;
/// generate signing keys, sign and verify raw HTTP messages (RFC 9421),
/// print signature bases; register and authenticate API clients, rotate and
/// revoke their secrets; keep tamper-evident audit logs with signed
/// checkpoints and Merkle proofs.
#[derive(Debug, Parser)]
#[command(name = "tresor", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 error, 2 bad command line (and for audit \
    verify-proof an unreadable proof).\n\
    With --out PATH, the output appears only when the command succeeds."
)]
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
    /// Manage HTTP message signature keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign and verify raw HTTP messages (RFC 9421, RFC 9530).
    #[command(subcommand)]
    Http(HttpCommand),
    /// Manage and authenticate API clients in a credential store (secrets
    /// are shown once and never stored).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Check client secrets offline.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Keep a tamper-evident audit log: append records, sign checkpoints,
    /// verify the log, print and check Merkle proofs (RFC 9162).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Make and list keys in a PKCS#11 token (an HSM, a KMS, SoftHSM2);
    /// every key flag of the other commands also takes their `pkcs11:` URI.
    #[command(subcommand)]
    Hsm(HsmCommand),
}

/// The `hsm` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum HsmCommand {
    /// Create a key in the token, sensitive and never extractable; print
    /// its URI (and public key) as JSON.
    Keygen(HsmKeygenArgs),
    /// List the token's keys as JSON (labels, ids, kinds, custody flags;
    /// never a key's value).
    List(HsmListArgs),
}

/// What `tresor hsm keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HsmKeyKind {
    /// An AES-256 key-encryption key (`--kek`).
    #[value(name = "aes-256")]
    Aes256,
    /// Version 1 of an HMAC-SHA-256 pepper (`client … --pepper`).
    #[value(name = "hmac-sha256")]
    HmacSha256,
    /// An ECDSA P-256 key pair (`http sign --key`).
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    /// An Ed25519 key pair (`http sign --key`, `audit checkpoint --key`).
    #[value(name = "ed25519")]
    Ed25519,
}

/// `tresor hsm keygen`.
#[derive(Debug, Args)]
pub(crate) struct HsmKeygenArgs {
    /// The token: `pkcs11:token=LABEL?module-path=MODULE&pin-source=file:PIN_FILE`
    /// (RFC 7512; the PIN comes from the file or `env:VAR` named, never
    /// from the command line).
    #[arg(long, value_name = "URI")]
    pub(crate) uri: String,
    /// The kind of key.
    #[arg(long, value_name = "KIND")]
    pub(crate) kind: HsmKeyKind,
    /// The key's label (`CKA_LABEL`): the URI's `object`.
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: String,
    /// For an ed25519 key: the note key name to print its audit verifier
    /// key (`audit verify --vkey`) under.
    #[arg(long, value_name = "NAME")]
    pub(crate) note_name: Option<String>,
}

/// `tresor hsm list`.
#[derive(Debug, Args)]
pub(crate) struct HsmListArgs {
    /// The token, and optionally `object`, `id` or `type` to list only the
    /// keys that match.
    #[arg(long, value_name = "URI")]
    pub(crate) uri: String,
}

/// The `audit` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Generate a checkpoint signing key: FILE (signer key, mode 0600) and
    /// FILE.pub (verifier key), in the C2SP note key formats; prints the
    /// verifier key.
    Keygen(AuditKeygenArgs),
    /// Append audit records, one JSON object per line; prints `INDEX
    /// LEAF_HASH_HEX` per record once it is durable. Creates the log if
    /// absent.
    Append(AuditAppendArgs),
    /// Print a signed checkpoint (C2SP tlog-checkpoint) of the log's current
    /// tree head.
    Checkpoint(AuditCheckpointArgs),
    /// Verify the whole log (read-only), and optionally a signed checkpoint
    /// against it; prints a JSON summary. Exit code 1 names the first bad
    /// index or the failed check.
    Verify(AuditVerifyArgs),
    /// Print an inclusion proof of one entry as JSON (RFC 9162 vector shape).
    Prove(AuditProveArgs),
    /// Print a consistency proof between two tree sizes as JSON (RFC 9162
    /// vector shape).
    Consistency(AuditConsistencyArgs),
    /// Check an inclusion or consistency proof JSON, offline. Exit code 0:
    /// it verifies; 1: it does not; 2: the input is not a readable proof.
    VerifyProof(AuditVerifyProofArgs),
}

/// `--log DIR|URL` and `--log-name NAME`, shared by the `audit` commands
/// that read or write a log.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The log directory (segment files, FORMAT.md of tresor-audit), or a
    /// PostgreSQL database: postgres://USER@HOST:PORT/DB (or postgresql://),
    /// the password from PGPASSWORD rather than the URL.
    #[arg(long, value_name = "DIR|URL")]
    pub(crate) log: PathBuf,
    /// The log's name within the PostgreSQL database [default: default].
    #[arg(long, value_name = "NAME")]
    pub(crate) log_name: Option<String>,
    /// With --log postgres://…: connect over TLS, trusting only this CA
    /// certificate (PEM) and checking the server's host name; never falls
    /// back to plaintext.
    #[arg(long, value_name = "FILE")]
    pub(crate) log_ca: Option<PathBuf>,
}

/// `tresor audit keygen`.
#[derive(Debug, Args)]
pub(crate) struct AuditKeygenArgs {
    /// The key name, also the default checkpoint origin (e.g.
    /// audit.bank.example/log): printable ASCII without spaces or `+`.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
    /// Signer key file to create; the verifier key goes to FILE.pub. Neither
    /// may exist.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

/// `tresor audit append`.
#[derive(Debug, Args)]
pub(crate) struct AuditAppendArgs {
    /// The log.
    #[command(flatten)]
    pub(crate) log: LogArgs,
    /// JSON lines to read, one audit record each; `-` or absent: standard
    /// input.
    #[arg(long = "in", value_name = "PATH")]
    pub(crate) input: Option<PathBuf>,
}

/// `tresor audit checkpoint`.
#[derive(Debug, Args)]
pub(crate) struct AuditCheckpointArgs {
    /// The log.
    #[command(flatten)]
    pub(crate) log: LogArgs,
    /// The signer key file (from `audit keygen`), or the `pkcs11:` URI of
    /// an Ed25519 key in a token (then give the key's name with
    /// --key-name or --origin).
    #[arg(long, value_name = "SIGNER_FILE")]
    pub(crate) key: PathBuf,
    /// The checkpoint's origin line [default: the key's name].
    #[arg(long, value_name = "NAME")]
    pub(crate) origin: Option<String>,
    /// The signer's key name, for a key in a token [default: --origin]
    /// (a key file carries its own).
    #[arg(long, value_name = "NAME")]
    pub(crate) key_name: Option<String>,
}

/// `tresor audit verify`.
#[derive(Debug, Args)]
pub(crate) struct AuditVerifyArgs {
    /// The log.
    #[command(flatten)]
    pub(crate) log: LogArgs,
    /// A signed checkpoint to check against the log (needs --vkey); it may
    /// be older than the log.
    #[arg(long, value_name = "FILE", requires = "vkey")]
    pub(crate) checkpoint: Option<PathBuf>,
    /// The verifier key file whose signature the checkpoint must carry.
    #[arg(long, value_name = "VERIFIER_FILE", requires = "checkpoint")]
    pub(crate) vkey: Option<PathBuf>,
}

/// `tresor audit prove`.
#[derive(Debug, Args)]
pub(crate) struct AuditProveArgs {
    /// The log.
    #[command(flatten)]
    pub(crate) log: LogArgs,
    /// The entry's index (from 0).
    #[arg(long, value_name = "I")]
    pub(crate) index: u64,
    /// The tree size to prove against, above I [default: the log's size].
    #[arg(long, value_name = "N")]
    pub(crate) size: Option<u64>,
}

/// `tresor audit consistency`.
#[derive(Debug, Args)]
pub(crate) struct AuditConsistencyArgs {
    /// The log.
    #[command(flatten)]
    pub(crate) log: LogArgs,
    /// The older tree size (at least 1).
    #[arg(long, value_name = "N")]
    pub(crate) old: u64,
    /// The newer tree size, at least N [default: the log's size].
    #[arg(long, value_name = "M")]
    pub(crate) new: Option<u64>,
}

/// `tresor audit verify-proof`.
#[derive(Debug, Args)]
pub(crate) struct AuditVerifyProofArgs {
    /// The proof JSON to read; `-` or absent: standard input.
    #[arg(long = "in", value_name = "PATH")]
    pub(crate) input: Option<PathBuf>,
}

/// The `key` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a signing key pair: FILE (PKCS#8 PEM, mode 0600) and
    /// FILE.pub (SPKI PEM); prints the public key's RFC 7638 thumbprint.
    Generate(KeyGenerateArgs),
}

/// `tresor key generate`.
#[derive(Debug, Args)]
pub(crate) struct KeyGenerateArgs {
    /// Algorithm: ed25519, ecdsa-p256 or ecdsa-p384.
    #[arg(long, value_name = "ALG", value_parser = generate_algorithm)]
    pub(crate) alg: Algorithm,
    /// Private key file to create; the public key goes to FILE.pub. Neither
    /// may exist.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

/// The `http` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum HttpCommand {
    /// Sign a raw HTTP request or response: adds Signature-Input and
    /// Signature (and Content-Digest with --digest).
    Sign(HttpSignArgs),
    /// Verify a signature on a raw HTTP request or response; prints what was
    /// verified as one line of JSON.
    Verify(HttpVerifyArgs),
    /// Print the signature base of a signature on a raw HTTP message (the
    /// exact bytes that were signed).
    Base(HttpBaseArgs),
}

/// How a raw message is seen: shared by the `http` commands.
#[derive(Debug, Args)]
pub(crate) struct MessageArgs {
    /// Scheme of an origin-form request (for @scheme and @target-uri): http
    /// or https [default: https, or the absolute-form target's].
    #[arg(long, value_name = "SCHEME")]
    pub(crate) scheme: Option<String>,
    /// For a response: the raw request it answers, for components with the
    /// `req` parameter.
    #[arg(long, value_name = "PATH")]
    pub(crate) request: Option<PathBuf>,
}

/// `tresor http sign`.
#[derive(Debug, Args)]
pub(crate) struct HttpSignArgs {
    /// Signing key file: PEM private key, private JWK, symmetric JWK
    /// (`"kty":"oct"`, hmac-sha256), or with `--alg hmac-sha256` only, the
    /// Base64 shared secret (a secret is never inferred); or the `pkcs11:`
    /// URI of an ECDSA P-256 or Ed25519 key in a token.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// Algorithm (RFC 9421 name); it must fit the key. Needed for RSA keys
    /// and for a Base64 hmac-sha256 secret [default: the key's].
    #[arg(long, value_name = "ALG", value_parser = http_algorithm)]
    pub(crate) alg: Option<Algorithm>,
    /// The `keyid` parameter.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) keyid: String,
    /// Signature label; it may not be on the message already [default: sig].
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: Option<String>,
    /// A covered component, as in Signature-Input (e.g. '"@method"' or
    /// '"@query-param";name="Pet"'); repeat, in order [default: @method,
    /// @authority, @path, @query if any; with a body content-digest,
    /// content-type, content-length when present; @status for responses].
    #[arg(long, value_name = "ID")]
    pub(crate) component: Vec<String>,
    /// The `created` parameter, UNIX seconds [default: now].
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) created: Option<i64>,
    /// The `expires` parameter, UNIX seconds (not before `created`).
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) expires: Option<i64>,
    /// The `nonce` parameter.
    #[arg(
        long,
        value_name = "VALUE",
        conflicts_with = "random_nonce",
        allow_hyphen_values = true
    )]
    pub(crate) nonce: Option<String>,
    /// Adds a random `nonce` (128 bits, base64url).
    #[arg(long)]
    pub(crate) random_nonce: bool,
    /// The `tag` parameter.
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub(crate) tag: Option<String>,
    /// Adds the `alg` parameter (the verifier takes the algorithm from its
    /// key; RFC 9421 makes `alg` optional).
    #[arg(long)]
    pub(crate) include_alg: bool,
    /// Adds a Content-Digest of the body (sha-256 or sha-512) before
    /// signing; an existing Content-Digest is kept, once checked against the
    /// body.
    #[arg(long, value_name = "ALG", value_parser = digest_algorithm)]
    pub(crate) digest: Option<DigestAlgorithm>,
    /// Scheme and related request.
    #[command(flatten)]
    pub(crate) message: MessageArgs,
    /// Input and output.
    #[command(flatten)]
    pub(crate) io: IoArgs,
}

/// `tresor http verify`.
#[derive(Debug, Args)]
pub(crate) struct HttpVerifyArgs {
    /// Verifying key file: PEM public key (SPKI or PKCS#1; a private key
    /// works too), JWK, symmetric JWK (`"kty":"oct"`, hmac-sha256), or with
    /// `--alg hmac-sha256` only, the Base64 shared secret (a secret is never
    /// inferred).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// Algorithm (RFC 9421 name); it must fit the key and agree with the
    /// signature's `alg` parameter. Needed for RSA keys and for a Base64
    /// hmac-sha256 secret [default: the key's].
    #[arg(long, value_name = "ALG", value_parser = http_algorithm)]
    pub(crate) alg: Option<Algorithm>,
    /// The label of the signature to verify [default: the first].
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: Option<String>,
    /// Requires this `keyid` [default: any; the key file decides].
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) keyid: Option<String>,
    /// The verifier's time, UNIX seconds [default: now].
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) now: Option<i64>,
    /// Rejects signatures created more than SECONDS ago (then `created` is
    /// required) [default: no age limit].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) max_age: Option<u64>,
    /// A component the signature must cover, as in Signature-Input; repeat
    /// for more [default: none required].
    #[arg(long, value_name = "ID")]
    pub(crate) require: Vec<String>,
    /// Scheme and related request.
    #[command(flatten)]
    pub(crate) message: MessageArgs,
    /// Raw message to read; `-` or absent: standard input.
    #[arg(long = "in", value_name = "PATH")]
    pub(crate) input: Option<PathBuf>,
}

/// `tresor http base`.
#[derive(Debug, Args)]
pub(crate) struct HttpBaseArgs {
    /// The label of the signature.
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: String,
    /// Scheme and related request.
    #[command(flatten)]
    pub(crate) message: MessageArgs,
    /// Raw message to read; `-` or absent: standard input.
    #[arg(long = "in", value_name = "PATH")]
    pub(crate) input: Option<PathBuf>,
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
    /// Key file, or `pkcs11:` URI of an AES-256 key in a token; repeat for
    /// a keyring. The first one seals.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) kek: Vec<PathBuf>,
    /// Encryption context entry, authenticated and stored in clear; repeat
    /// for more. Opening needs exactly the same entries.
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) context: Vec<String>,
    /// Cipher suite: aes-256-gcm or aes-256-gcm-siv [default: aes-256-gcm].
    #[arg(long, value_name = "SUITE", value_parser = suite)]
    pub(crate) suite: Option<Suite>,
    /// Plaintext bytes per frame, 16 to 4194304 [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = frame_size)]
    pub(crate) frame_size: Option<u32>,
    /// Input and output.
    #[command(flatten)]
    pub(crate) io: IoArgs,
}

/// `tresor open`.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Key file, or `pkcs11:` URI of an AES-256 key in a token; repeat for
    /// a keyring. The key the header names is used.
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
    /// Key file (or `pkcs11:` URI) of the key-encryption key the input is
    /// wrapped under.
    #[arg(long, value_name = "FILE")]
    pub(crate) from: PathBuf,
    /// Key file (or `pkcs11:` URI) of the key-encryption key to wrap the
    /// data key under.
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

/// The `client` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client; prints its id and its secret as JSON (the secret
    /// is shown this once and stored nowhere).
    Register(ClientRegisterArgs),
    /// Authenticate a client: the secret is read from standard input. Exit
    /// code 0 if valid; 1 and `invalid client` for any invalid credential.
    Authenticate(ClientAuthenticateArgs),
    /// Issue a new secret; the current one stays valid for --grace seconds.
    /// Prints the same JSON as `register`.
    RotateSecret(ClientRotateArgs),
    /// Revoke one secret (--secret-id, see `client show`) or all (--all),
    /// at once.
    RevokeSecret(ClientRevokeArgs),
    /// Print a client's record as JSON: metadata, secret ids and states,
    /// public keys (never a secret or a MAC).
    Show(ClientIdArgs),
    /// Print one line of JSON per client.
    List(StoreArgs),
    /// Print a proof-of-possession challenge for `add-key` (valid 5
    /// minutes): the client signs its text with its private key.
    KeyChallenge(ClientKeyChallengeArgs),
    /// Register a client's public key, given a challenge from
    /// `key-challenge` and the client's signature over it.
    AddKey(ClientAddKeyArgs),
    /// Print a private_key_jwt client assertion (RFC 7523) signed with the
    /// client's private key, for a token request: one line, the compact
    /// JWS. Needs no store.
    Assertion(ClientAssertionArgs),
    /// Suspend a client: it cannot authenticate until reactivated.
    Suspend(ClientIdArgs),
    /// Reactivate a suspended client.
    Reactivate(ClientIdArgs),
}

/// The credential store, shared by the `client` commands.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The credential store: an SQLite database file (only `client
    /// register` creates it), or a PostgreSQL database given as
    /// `postgres://user@host/db` (its tables are created or migrated on
    /// first use; give `--pepper` with it; the password from PGPASSWORD
    /// rather than the URL).
    #[arg(long, value_name = "PATH|URL")]
    pub(crate) store: PathBuf,
    /// With --store postgres://…: connect over TLS, trusting only this CA
    /// certificate (PEM) and checking the server's host name; never falls
    /// back to plaintext.
    #[arg(long, value_name = "FILE")]
    pub(crate) store_ca: Option<PathBuf>,
}

/// The pepper, for the `client` commands that make or check verifiers.
#[derive(Debug, Args)]
pub(crate) struct PepperArgs {
    /// The pepper key file (mode 0600) the secret verifiers are made under
    /// [default: the store's PATH with .pepper appended, created by the
    /// first `client register`]. Keep it apart from the store in
    /// production.
    #[arg(long, value_name = "FILE")]
    pub(crate) pepper: Option<PathBuf>,
}

impl PepperArgs {
    /// The pepper file: `--pepper`, or `store` with `.pepper` appended.
    pub(crate) fn path(&self, store: &Path) -> PathBuf {
        self.pepper.clone().unwrap_or_else(|| {
            let mut path = store.as_os_str().to_owned();
            path.push(".pepper");
            PathBuf::from(path)
        })
    }
}

/// A store and a client id.
#[derive(Debug, Args)]
pub(crate) struct ClientIdArgs {
    /// The store.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The client id (22 base62 characters).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) client_id: String,
}

/// `tresor client register`.
#[derive(Debug, Args)]
pub(crate) struct ClientRegisterArgs {
    /// The store.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The pepper.
    #[command(flatten)]
    pub(crate) pepper: PepperArgs,
    /// A human-readable name (1 to 200 bytes, no control characters).
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    pub(crate) name: String,
    /// A scope the client may request (RFC 6749 scope-token); repeat for
    /// more [default: none].
    #[arg(long, value_name = "SCOPE", allow_hyphen_values = true)]
    pub(crate) scope: Vec<String>,
}

/// `tresor client authenticate`.
#[derive(Debug, Args)]
pub(crate) struct ClientAuthenticateArgs {
    /// Store and client id.
    #[command(flatten)]
    pub(crate) client: ClientIdArgs,
    /// The pepper.
    #[command(flatten)]
    pub(crate) pepper: PepperArgs,
    /// The time to check expiry against, UNIX seconds (for tests and
    /// replays) [default: now].
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) now: Option<i64>,
}

/// `tresor client rotate-secret`.
#[derive(Debug, Args)]
pub(crate) struct ClientRotateArgs {
    /// Store and client id.
    #[command(flatten)]
    pub(crate) client: ClientIdArgs,
    /// The pepper.
    #[command(flatten)]
    pub(crate) pepper: PepperArgs,
    /// How long the current secret stays valid, in seconds, at most 7776000
    /// (90 days); 0 ends it now [default: 86400, one day].
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_GRACE)]
    pub(crate) grace: u64,
}

/// The default grace period of `client rotate-secret`: one day.
pub(crate) const DEFAULT_GRACE: u64 = 86_400;

/// `tresor client revoke-secret`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["secret_id", "all"])))]
pub(crate) struct ClientRevokeArgs {
    /// Store and client id.
    #[command(flatten)]
    pub(crate) client: ClientIdArgs,
    /// The secret to revoke (an id from `client show`); repeat for more.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) secret_id: Vec<String>,
    /// Revoke every secret that is still valid (the client can then only
    /// authenticate after a rotation, or with a public key).
    #[arg(long)]
    pub(crate) all: bool,
}

/// `tresor client key-challenge`.
#[derive(Debug, Args)]
pub(crate) struct ClientKeyChallengeArgs {
    /// Store and client id.
    #[command(flatten)]
    pub(crate) client: ClientIdArgs,
    /// The pepper (the challenge is MACed under it).
    #[command(flatten)]
    pub(crate) pepper: PepperArgs,
}

/// `tresor client add-key`.
#[derive(Debug, Args)]
pub(crate) struct ClientAddKeyArgs {
    /// Store and client id.
    #[command(flatten)]
    pub(crate) client: ClientIdArgs,
    /// The pepper (the challenge is checked under it).
    #[command(flatten)]
    pub(crate) pepper: PepperArgs,
    /// The public key: SPKI PEM (e.g. the .pub of `tresor key generate`) or
    /// a public JWK.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: PathBuf,
    /// The challenge text printed by `client key-challenge`. Without it,
    /// the proof file holds the challenge on its first line and the
    /// signature on its second.
    #[arg(long, value_name = "TEXT")]
    pub(crate) challenge: Option<String>,
    /// The client's signature over the challenge text's bytes (no newline),
    /// Base64 (standard or URL-safe, padding optional); ECDSA as fixed-size
    /// r||s. Without `--challenge`: two lines, the challenge, then the
    /// signature.
    #[arg(long, value_name = "FILE")]
    pub(crate) proof: PathBuf,
    /// The algorithm to pin the key to: ES256, ES384, EdDSA, PS256 or PS512
    /// [default: the key's; RSA keys need PS256 or PS512].
    #[arg(long, value_name = "ALG", value_parser = jws_algorithm)]
    pub(crate) alg: Option<JwsAlgorithm>,
}

/// `tresor client assertion`.
#[derive(Debug, Args)]
pub(crate) struct ClientAssertionArgs {
    /// The client's private key, registered with `client add-key`: PEM
    /// (PKCS#8, SEC1, PKCS#1) or private JWK; Ed25519, ECDSA P-256 or
    /// P-384, or RSA with --alg PS512.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The client id (22 base62 characters): the assertion's `iss` and
    /// `sub`.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) client_id: String,
    /// The authorization server's issuer identifier: the assertion's `aud`.
    #[arg(long, value_name = "ISSUER")]
    pub(crate) audience: String,
    /// The `kid` header [default: the key's RFC 7638 thumbprint, the id
    /// `client add-key` registers it under].
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) keyid: Option<String>,
    /// Seconds until the assertion expires, 1 to 300.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_ASSERTION_LIFETIME, value_parser = assertion_lifetime)]
    pub(crate) lifetime: u64,
    /// The JWS algorithm: EdDSA, ES256, ES384 or PS512 [default: the
    /// key's; RSA keys need PS512].
    #[arg(long, value_name = "ALG", value_parser = jws_algorithm)]
    pub(crate) alg: Option<JwsAlgorithm>,
}

/// The default lifetime of `client assertion`: one minute.
pub(crate) const DEFAULT_ASSERTION_LIFETIME: u64 = 60;

/// The longest lifetime of `client assertion`: what a tresor token
/// endpoint accepts.
const MAX_ASSERTION_LIFETIME: u64 = 300;

/// The `secret` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum SecretCommand {
    /// Check that standard input holds a well-formed client secret (format
    /// and checksum, offline; a trailing newline is ignored). Never prints
    /// the secret.
    Check(SecretCheckArgs),
}

/// `tresor secret check`.
#[derive(Debug, Args)]
pub(crate) struct SecretCheckArgs {
    /// Also require this prefix (e.g. tresor_cs) [default: any valid
    /// prefix].
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
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

/// A flag value refused by one of the `value_parser`s below. Its message
/// is the whole error line: it names the flag, the value and what is
/// accepted.
#[derive(Debug)]
pub(crate) struct FlagError(String);

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FlagError {}

/// `--suite`: `aes-256-gcm` or `aes-256-gcm-siv`.
fn suite(name: &str) -> Result<Suite, FlagError> {
    name.parse()
        .map_err(|err: tresor_envelope::Error| FlagError(err.to_string()))
}

/// `--frame-size`: a number of bytes from [`MIN_FRAME_SIZE`] to
/// [`MAX_FRAME_SIZE`].
fn frame_size(value: &str) -> Result<u32, FlagError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|size| (MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(size))
        .ok_or_else(|| {
            FlagError(format!(
                "invalid --frame-size {value:?}: expected a number of bytes from \
                 {MIN_FRAME_SIZE} to {MAX_FRAME_SIZE}"
            ))
        })
}

/// `http sign|verify --alg`: an RFC 9421 algorithm name.
fn http_algorithm(name: &str) -> Result<Algorithm, FlagError> {
    name.parse::<Algorithm>().map_err(|_| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.name()).collect();
        FlagError(format!(
            "invalid --alg {name:?}: expected one of {}",
            names.join(", ")
        ))
    })
}

/// `key generate --alg`: `ed25519`, `ecdsa-p256` or `ecdsa-p384` (the
/// RFC 9421 names `ecdsa-p256-sha256` and `ecdsa-p384-sha384` too).
fn generate_algorithm(name: &str) -> Result<Algorithm, FlagError> {
    match name {
        "ed25519" => Ok(Algorithm::Ed25519),
        "ecdsa-p256" | "ecdsa-p256-sha256" => Ok(Algorithm::EcdsaP256Sha256),
        "ecdsa-p384" | "ecdsa-p384-sha384" => Ok(Algorithm::EcdsaP384Sha384),
        _ => Err(FlagError(format!(
            "invalid --alg {name:?}: expected ed25519, ecdsa-p256 or ecdsa-p384 \
             (RSA keys come from an HSM or `openssl genpkey`; an hmac-sha256 secret is 32 \
             random bytes in Base64)"
        ))),
    }
}

/// `http sign --digest`: `sha-256` or `sha-512`.
fn digest_algorithm(name: &str) -> Result<DigestAlgorithm, FlagError> {
    name.parse::<DigestAlgorithm>().map_err(|_| {
        FlagError(format!(
            "invalid --digest {name:?}: expected sha-256 or sha-512"
        ))
    })
}

/// `client assertion --lifetime`: 1 to [`MAX_ASSERTION_LIFETIME`] seconds.
fn assertion_lifetime(value: &str) -> Result<u64, FlagError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=MAX_ASSERTION_LIFETIME).contains(s))
        .ok_or_else(|| {
            FlagError(format!(
                "invalid --lifetime {value:?}: expected a number of seconds from 1 to \
                 {MAX_ASSERTION_LIFETIME}"
            ))
        })
}

/// `client add-key --alg`: a JWS algorithm name.
fn jws_algorithm(name: &str) -> Result<JwsAlgorithm, FlagError> {
    JwsAlgorithm::from_name(name).ok_or_else(|| {
        FlagError(format!(
            "invalid --alg {name:?}: expected ES256, ES384, EdDSA, PS256 or PS512"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use tresor_envelope::DEFAULT_FRAME_SIZE;

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
        assert_eq!(suite("aes-256-gcm").unwrap(), Suite::Aes256Gcm);
        assert_eq!(suite("aes-256-gcm-siv").unwrap(), Suite::Aes256GcmSiv);
        assert!(suite("rot13").is_err());
        assert_eq!(frame_size("16").unwrap(), 16);
        assert_eq!(frame_size("65536").unwrap(), DEFAULT_FRAME_SIZE);
        for bad in ["15", "4194305", "-1", "1k", ""] {
            assert!(frame_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn algorithms() {
        assert_eq!(
            http_algorithm("rsa-pss-sha512").unwrap(),
            Algorithm::RsaPssSha512
        );
        assert!(http_algorithm("rsa").is_err());
        assert_eq!(
            generate_algorithm("ecdsa-p256").unwrap(),
            Algorithm::EcdsaP256Sha256
        );
        assert!(generate_algorithm("hmac-sha256").is_err());
        assert_eq!(
            digest_algorithm("sha-512").unwrap(),
            DigestAlgorithm::Sha512
        );
        assert!(digest_algorithm("md5").is_err());
        assert!(jws_algorithm("ES256").is_ok());
        assert!(jws_algorithm("none").is_err());
        assert_eq!(assertion_lifetime("60").unwrap(), 60);
        for bad in ["0", "301", "-1", "1m", ""] {
            assert!(assertion_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_values_are_flag_errors() {
        let err = Cli::try_parse_from(["tresor", "seal", "--kek", "k", "--frame-size", "15"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        let source = std::error::Error::source(&err)
            .and_then(|source| source.downcast_ref::<FlagError>())
            .unwrap();
        assert_eq!(
            source.to_string(),
            "invalid --frame-size \"15\": expected a number of bytes from 16 to 4194304"
        );
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
