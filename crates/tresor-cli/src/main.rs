//! `tresor`: envelope encryption, HTTP message signatures, API client
//! credentials and tamper-evident audit logs from the shell, on top of
//! [`tresor_envelope`], [`tresor_httpsig`], [`tresor_credentials`] and
//! [`tresor_audit`].
//!
//! Files and streams of any size are sealed in constant memory under a fresh
//! data key, wrapped by a key-encryption key (KEK) read from a key file. The
//! sealed format is `tresor-envelope`'s (its `FORMAT.md`).
//!
//! Raw HTTP/1.1 requests and responses are signed and verified with HTTP
//! Message Signatures (RFC 9421), their bodies bound by `Content-Digest`
//! (RFC 9530); signing keys are generated as PEM files.
//!
//! # Guarantees
//!
//! - **No partial output**: with `--out PATH` the output is written to a
//!   temporary file in `PATH`'s directory (`.tresor-XXXXXX.tmp`, mode 0600),
//!   synced to disk and renamed to `PATH` only when the command succeeds. On
//!   any error, and on SIGINT, SIGTERM or SIGHUP, the temporary file is
//!   deleted: `PATH` is either the complete, verified result or untouched.
//!   An existing `PATH` is replaced on success (like most Unix tools); the
//!   replacement has mode 0600, and a symbolic link is followed (the link is
//!   kept). `--out` may not be the `--in` file, nor a directory. A `PATH`
//!   that is a special file (`/dev/null`, a FIFO, `/dev/stdout`) is written
//!   directly, like standard output.
//! - **Standard output cannot be taken back**: without `--out`, `open`
//!   streams plaintext as it goes. Each frame is written only after its tag
//!   verifies, but a stream cut short or tampered with further on is detected
//!   only when it is reached: the command then fails (exit code 1) after
//!   having written the frames before it. Trust standard output only when the
//!   exit code is 0, or use `--out`.
//! - **Secrets are never printed**: messages and JSON name key ids and check
//!   values, never keys; library errors are shown through their `Display`.
//!   The one exception is a new client secret, printed once by `client
//!   register` and `client rotate-secret`; secrets are read from standard
//!   input, never from the command line, and are never echoed.
//! - **Failures are one line** on standard error, `tresor: error: <message>`,
//!   with exit code 1. A malformed command line (unknown or missing flag) is
//!   reported by the argument parser with exit code 2, and so is an
//!   unreadable proof given to `audit verify-proof`; an interruption exits
//!   with 130.
//! - **Progress** is drawn on standard error only when it is a terminal: a
//!   bar when the input's size is known (a file), else a byte counter.
//!
//! # Commands
//!
//! `--in PATH` and `--out PATH` default to standard input and output; `-`
//! means them too.
//!
//! ## `tresor kek generate --out FILE [--id ID]`
//!
//! Creates a key file (mode 0600; an existing file is never overwritten)
//! holding a new random AES-256 key-encryption key, and prints one line of
//! JSON with its id and key check value. Without `--id` the id is `kek-`
//! followed by 16 random hex digits.
//!
//! ```sh
//! $ tresor kek generate --out kek-2026.key --id kek-2026
//! {"kek_id":"kek-2026","check":"5f2a9c"}
//! ```
//!
//! ## `tresor seal --kek FILE… [--context KEY=VALUE]… [--suite SUITE] [--frame-size BYTES] [--in PATH] [--out PATH]`
//!
//! Encrypts under the first `--kek` (the others only make up the keyring).
//! `--context` entries are authenticated and stored in clear; each key may be
//! given once. `--suite` is `aes-256-gcm` (default) or `aes-256-gcm-siv`;
//! `--frame-size` is 16 to 4194304 plaintext bytes per frame (default 65536).
//!
//! ```sh
//! $ tresor seal --kek kek-2026.key --context tenant=acme --context table=payments \
//!       --in dump.sql --out dump.sql.trse
//! $ pg_dump bank | tresor seal --kek kek-2026.key --context backup=2026-11-24 > bank.trse
//! ```
//!
//! ## `tresor open --kek FILE… [--context KEY=VALUE]… [--in PATH] [--out PATH]`
//!
//! Decrypts and verifies. The keyring holds every `--kek`; the key the header
//! names is used, so after a rotation old and new files open with the same
//! command line. The context must be exactly the one given to `seal`.
//!
//! ```sh
//! $ tresor open --kek kek-2026.key --kek kek-2025.key \
//!       --context tenant=acme --context table=payments --in dump.sql.trse --out dump.sql
//! ```
//!
//! ## `tresor rewrap --from FILE --to FILE [--in PATH] [--out PATH]`
//!
//! Moves a sealed file from the key-encryption key in `--from` to the one in
//! `--to`: the data key is unwrapped, checked against the key commitment and
//! wrapped again; the frames are copied unchanged (and are not decrypted, so
//! not verified: `open` does that). Needs no context.
//!
//! ```sh
//! $ tresor rewrap --from kek-2025.key --to kek-2026.key --in a.trse --out a.trse.new
//! $ mv a.trse.new a.trse
//! ```
//!
//! ## `tresor inspect [--in PATH]`
//!
//! Prints the header as JSON; needs no key and reads nothing past the header.
//!
//! ```sh
//! $ tresor inspect --in dump.sql.trse
//! {
//!   "version": 1,
//!   "suite": "aes-256-gcm",
//!   "frame_size": 65536,
//!   "kek_id": "kek-2026",
//!   "context": {
//!     "table": "payments",
//!     "tenant": "acme"
//!   },
//!   "message_id": "9c1e…(64 hex digits)"
//! }
//! ```
//!
//! ## `tresor key generate --alg ed25519|ecdsa-p256|ecdsa-p384 --out FILE`
//!
//! Generates a signing key pair: the PKCS#8 private key PEM in `FILE` (mode
//! 0600) and the SPKI public key PEM in `FILE.pub` (mode 0644). Neither may
//! exist: each is written to a temporary file and renamed into place with a
//! rename that never replaces a file (if `FILE.pub` cannot be placed,
//! `FILE` is removed again). Prints the public key's RFC 7638 JWK
//! thumbprint, one line, suitable as a `keyid`.
//!
//! ```sh
//! $ tresor key generate --alg ed25519 --out client.key
//! Urk2PzCgrr5nRyOZS9KUXndwauQGkkLRdkHvUFuOFLw
//! ```
//!
//! ## `tresor http sign --key FILE [--alg ALG] --keyid ID [--label LABEL] [--component ID]… [--created UNIX] [--expires UNIX] [--nonce VALUE | --random-nonce] [--tag VALUE] [--include-alg] [--digest sha-256|sha-512] [--scheme http|https] [--request PATH] [--in PATH] [--out PATH]`
//!
//! Reads a raw message and writes it back with `Signature-Input` and
//! `Signature` appended to its fields (and `Content-Digest` before them with
//! `--digest`, for a non-empty body that has none; an existing one is kept
//! once checked against the body). `--component` takes an identifier as
//! written in `Signature-Input` (`'"@method"'`, `'"@query-param";name="id"'`,
//! `'"content-digest"'`), in order; without any, the library's defaults
//! for the message (`@method @authority @path`, `@query` when there is a
//! query, and for a body `content-digest` (when present), `content-type`,
//! `content-length`; `@status` first for a response). Without `--created`,
//! the current time. The `alg` parameter is written only with
//! `--include-alg`. `ALG` is an RFC 9421 name (`ecdsa-p256-sha256`,
//! `ecdsa-p384-sha384`, `ed25519`, `hmac-sha256`, `rsa-pss-sha512`,
//! `rsa-v1_5-sha256`); without it the key decides, and RSA keys need it.
//! The key file is a PEM private key, a private JWK, or for `hmac-sha256`
//! the Base64 shared secret. `--out` is all or nothing, as for `seal`.
//!
//! ```sh
//! $ tresor http sign --key client.key --keyid client-1 --digest sha-256 \
//!       --in request.txt --out signed.txt
//! ```
//!
//! ## `tresor http verify --key FILE [--alg ALG] [--label LABEL] [--keyid ID] [--now UNIX] [--max-age SECONDS] [--require ID]… [--scheme http|https] [--request PATH] [--in PATH]`
//!
//! Verifies one signature (`--label`, else the first) and prints one line
//! of JSON; any failure is exit code 1 with the rule that failed on
//! standard error. The key file is a PEM public key (SPKI or PKCS#1; a
//! private key verifies too), a JWK, or the Base64 HMAC secret; the key
//! decides the algorithm unless `--alg` is given, and the signature's `alg`
//! parameter, when present, must name the same. Only the components named
//! with `--require` must be covered, age is checked only with `--max-age`
//! (then `created` is required), `expires` always, with 5 seconds of clock
//! skew; a covered `Content-Digest` is checked against the body. `--keyid`
//! requires that `keyid`.
//!
//! ```sh
//! $ tresor http verify --key client.key.pub --max-age 300 --require '"@method"' --in signed.txt
//! {"label":"sig","keyid":"client-1","alg":"ed25519","components":["\"@method\"","\"@authority\"","\"@path\"","\"content-digest\"","\"content-type\"","\"content-length\""],"created":1795691341,"expires":null,"nonce":null,"tag":null,"content_digest_checked":true}
//! ```
//!
//! The keys, always present and in this order: `label`, `keyid`, `alg`
//! (the key's algorithm), `components` (the covered identifiers, serialised
//! as in `Signature-Input`), `created`, `expires` (numbers or `null`),
//! `nonce`, `tag` (strings or `null`), `content_digest_checked` (whether the
//! body was checked against a covered `Content-Digest`).
//!
//! ## `tresor http base --label LABEL [--scheme http|https] [--request PATH] [--in PATH]`
//!
//! Prints the signature base of the signature `LABEL` on the message,
//! exactly (no final newline): the bytes that were signed, for debugging
//! another implementation.
//!
//! ## Raw messages
//!
//! A start line (`POST /path?q HTTP/1.1` or `HTTP/1.1 200 OK`), field lines,
//! a blank line, then a body of exactly `Content-Length` bytes (none without
//! it); lines end in CRLF or LF. A request target is origin-form with the
//! authority in `Host` and the scheme `https` unless `--scheme http`, or
//! absolute-form. One line ending after the body is tolerated (and kept in
//! the output); other trailing bytes, `Transfer-Encoding`, obsolete line
//! folding, a head over 64 KiB or 128 fields and a body over 64 MiB are
//! errors. Signing keeps the input's bytes and appends the new fields, in
//! the start line's line-ending style, before the blank line. `--request`
//! gives a response's request, for components with the `req` parameter.
//!
//! ## `tresor client register --store PATH [--pepper FILE] --name NAME [--scope SCOPE]…`
//!
//! Creates the store if needed, registers a client, and prints one line of
//! JSON with its id, its secret (shown this once, stored nowhere) and the
//! secret's id:
//!
//! ```sh
//! $ tresor client register --store clients.db --name "Payments batch" --scope payments:write
//! {"client_id":"5bqnx2kZmXbqcU7q7hFrn3","client_secret":"tresor_cs_AIOX…","secret_id":"0FNxQeCB9zN0MllC"}
//! ```
//!
//! **The pepper**: verifiers are HMACs under a pepper key file,
//! `--pepper FILE`, by default the store's path with `.pepper` appended.
//! `register` creates it (mode 0600, never overwritten, a note on standard
//! error) when it is absent and the store holds no client; a store with
//! clients never gets a new one. Only `register`, `authenticate`,
//! `rotate-secret`, `key-challenge` and `add-key` read it. In production the pepper lives apart from the
//! database (a KMS or HSM behind the library's `Pepper` trait): a file
//! beside the store is copied with it, and whoever has both can test
//! secret guesses offline.
//!
//! ## `tresor client authenticate --store PATH [--pepper FILE] --client-id ID [--now UNIX]`
//!
//! Reads the secret from standard input (one trailing LF or CRLF ignored).
//! Valid: exit code 0 and one line of JSON (`client_id`, `name`, `scopes`,
//! `secret_id`). Invalid for any reason (unknown or malformed client id;
//! wrong, malformed, expired or revoked secret; suspended client): exit code
//! 1, empty standard output and exactly `tresor: error: invalid client` on
//! standard error, byte for byte. A missing store or pepper file is
//! reported precisely instead. `--now` checks expiry at that UNIX time.
//!
//! ## `tresor client rotate-secret --store PATH [--pepper FILE] --client-id ID [--grace SECONDS]`
//!
//! Prints the same JSON as `register` with a new secret; the current one
//! stays valid for `--grace` seconds (default 86400, at most 7776000, `0`
//! ends it now). At most two secrets are valid at once.
//!
//! ## `tresor client revoke-secret --store PATH --client-id ID (--secret-id ID… | --all)`
//!
//! Revokes the named secrets, or every valid one, at once; prints
//! `{"client_id":…,"revoked":[…]}`.
//!
//! ## `tresor client show --store PATH --client-id ID`, `tresor client list --store PATH`
//!
//! `show` prints the record as pretty JSON: `client_id`, `name`, `scopes`,
//! `status`, `created`, `updated`, `secrets` (each `secret_id`, `state`
//! (`active`, `expired`, `revoked`), `created`, `expires`, `revoked`,
//! `pepper_version`) and `public_keys`; never a secret or a MAC. `list`
//! prints one line of JSON per client: `client_id`, `name`, `scopes`,
//! `status`, `created`, `updated`, `active_secrets`, `public_keys` (a
//! count).
//!
//! ## `tresor client key-challenge --store PATH [--pepper FILE] --client-id ID`, `tresor client add-key --store PATH [--pepper FILE] --client-id ID --public-key FILE --proof FILE [--challenge TEXT] [--alg ALG]`
//!
//! Public keys are registered with proof of possession: `key-challenge`
//! prints `{"client_id":…,"challenge":…,"expires":…}` (valid 5 minutes);
//! the client signs the challenge text's bytes (no newline) with its
//! private key; `add-key` takes the public key (SPKI PEM or public JWK)
//! and the proof file (the challenge on its first line, the Base64
//! signature on its second; or the signature alone with `--challenge
//! TEXT`), verifies the proof, stores the key and prints `{"client_id":…,"kid":…,"alg":…,
//! "state":"active"}`.
//!
//! ## `tresor client suspend|reactivate --store PATH --client-id ID`
//!
//! Suspends a client (it cannot authenticate) or reactivates it.
//!
//! ## `tresor secret check [--prefix PREFIX]`
//!
//! Checks offline that standard input holds a well-formed client secret
//! (format and CRC-32 checksum): exit code 0 and `well-formed client secret
//! (prefix tresor_cs)`, or exit code 1 and `malformed client secret:
//! <reason>`. Never prints the input.
//!
//! ## Audit logs: `tresor audit …`
//!
//! A log directory holds [`tresor_audit`]'s segment files (its `FORMAT.md`):
//! RFC 8785 canonical records under an RFC 9162 Merkle tree. `verify`,
//! `prove` and `consistency` open it read-only (no lock, nothing written or
//! repaired); `append` and `checkpoint` take the writer's lock.
//!
//! - `audit keygen --name NAME --out FILE`: an Ed25519 signer key in `FILE`
//!   (mode 0600, `PRIVATE+KEY+NAME+HASH+BASE64`) and its verifier key in
//!   `FILE.pub` (`NAME+HASH+BASE64`), C2SP note key formats; neither may
//!   exist. Prints the verifier key.
//! - `audit append --log DIR [--in PATH]`: JSON lines, one record each
//!   (blank lines skipped); prints `INDEX LEAF_HASH_HEX` per record, only
//!   once it is synced. Group commit: records already buffered in the input
//!   (at most 4096) are synced together, before the tool waits for more
//!   input and at the end. A bad line: the records before it are synced and
//!   printed, then `tresor: error: line N: …; nothing from this line on was
//!   appended`. Creates the log if absent.
//! - `audit checkpoint --log DIR --key SIGNER_FILE [--origin NAME]`: prints
//!   a signed C2SP checkpoint note of the current size; the origin defaults
//!   to the key's name.
//! - `audit verify --log DIR [--checkpoint FILE --vkey VERIFIER_FILE]`:
//!   checks every entry and stored hash, that the entries are canonical
//!   records and that nothing follows the last complete record; with a
//!   checkpoint, its signature by the `--vkey` key and its root against
//!   the log's tree head at its size (older checkpoints of a grown log
//!   verify). Prints `{"size":…,"root":B64,"checkpoint_size":…|null,
//!   "checkpoint_origin":…|null}`; exit code 1 names the first bad entry,
//!   node or file offset, or the failed check.
//! - `audit prove --log DIR --index I [--size N]`: prints `{"leafIdx",
//!   "treeSize", "root", "leafHash", "proof"}` (standard padded Base64).
//! - `audit consistency --log DIR --old N [--new M]`: prints `{"size1",
//!   "size2", "root1", "root2", "proof"}`, `1 <= N <= M`.
//! - `audit verify-proof [--in PATH]`: verifies one proof of either shape
//!   (`proof: null` is empty, other members ignored): exit code 0 (and
//!   `{"verified":"inclusion"|"consistency",…}`), 1 if it does not verify,
//!   2 if the input is not a readable proof (not JSON, neither shape, bad
//!   Base64, a hash not 32 bytes long, except equal placeholder roots of a
//!   consistency proof between equal sizes, as in the RFC 9162 vectors).

mod args;
mod audit;
mod client;
mod commands;
mod error;
mod http;
mod input;
mod keys;
mod output;
mod progress;
mod proof;
mod rawhttp;
mod sigkeys;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

/// Parses the command line, runs the command, and reports its failure as one
/// line on standard error with exit code 1 (2 for an unreadable proof).
fn main() -> ExitCode {
    let cli = Cli::parse();
    match output::handle_interrupts().and_then(|()| commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "tresor: error: {}", err.one_line());
            ExitCode::from(err.exit_code())
        }
    }
}
