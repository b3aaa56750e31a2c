//! The audit log commands: `audit keygen`, `append`, `checkpoint`,
//! `verify`, `prove` and `consistency`, on top of [`tresor_audit`]'s
//! [`FileStore`] (`audit verify-proof` is in [`crate::proof`]).
//!
//! - **Durability before acknowledgement**: `append` prints a record's line
//!   only once the record is synced to disk. It group-commits: records are
//!   appended without a sync while more input is already buffered (at most
//!   [`MAX_PENDING`] of them), and the batch is synced, then its lines
//!   printed, before the tool waits for more input, at the end of the
//!   input, and before reporting an error.
//! - **Readers take no lock**: `verify`, `prove` and `consistency` open the
//!   log read-only ([`FileStore::open_read_only`]): they never write, never
//!   repair, and run beside a writer, seeing the log as it was when they
//!   opened it. `append` and `checkpoint` take the writer's lock (and
//!   recover a log left by a crash): a checkpoint then only ever covers
//!   synced entries.
//! - **PostgreSQL**: `--log postgres://…` (or `postgresql://…`, feature
//!   `postgres`) names a database, `--log-name` the log in it (default
//!   `default`), through [`tresor_postgres::PostgresLog`]. `append` commits
//!   each batch in one transaction and prints its lines once committed;
//!   several `append`s (and servers) may write the same log at once.
//!   The readers read a snapshot pinned at the size committed when they
//!   start, and change nothing in the database.
//! - **Keys**: the signer key file holds a secret and is created mode 0600;
//!   it is read into a buffer wiped when dropped, and never printed.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::Serialize;
use tresor_audit::verify::LogVerifier;
use tresor_audit::{
    AuditLog, AuditRecord, Checkpoint, FileStore, FileStoreOptions, Hash, LogStore, NoteSign,
    NoteSigner, NoteVerifier, SyncPolicy, merkle, note,
};
use tresor_pkcs11::Pkcs11NoteSigner;

use crate::args::{
    AuditAppendArgs, AuditCheckpointArgs, AuditConsistencyArgs, AuditKeygenArgs, AuditProveArgs,
    AuditVerifyArgs, LogArgs,
};
use crate::error::{CliError, Result};
use crate::hsm;
use crate::input::{Input, read_small_text};
use crate::output::{Output, print_json};
use crate::proof::{ConsistencyJson, InclusionJson, b64};
use crate::sigkeys::public_path;

/// The most records appended before a sync, whatever the input holds.
pub(crate) const MAX_PENDING: usize = 4096;

/// The longest input line `append` accepts: a stored record is at most
/// 16 MiB of canonical JSON, and its input may carry some more whitespace.
const MAX_LINE: u64 = 32 << 20;

/// The input buffer of `append`: what is already buffered is one batch.
const APPEND_BUFFER: usize = 256 << 10;

/// The most bytes read from a key file.
const MAX_KEY_FILE: u64 = 4096;

// ---- keys --------------------------------------------------------------------

/// A key file's text without its final line ending.
fn key_line(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

/// Loads a signer key file.
fn load_signer(path: &Path) -> Result<NoteSigner> {
    let text = read_small_text(path, MAX_KEY_FILE, "signer key")?;
    NoteSigner::from_key_string(key_line(&text)).map_err(|source| CliError::NoteKeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Loads a verifier key file.
fn load_verifier(path: &Path) -> Result<NoteVerifier> {
    let text = read_small_text(path, MAX_KEY_FILE, "verifier key")?;
    NoteVerifier::from_key_string(key_line(&text)).map_err(|source| CliError::NoteKeyFile {
        path: path.to_owned(),
        source,
    })
}

/// `tresor audit keygen`: writes the signer key to `--out` (mode 0600) and
/// the verifier key to `--out`.pub (mode 0644), never overwriting either;
/// prints the verifier key.
pub(crate) fn keygen(args: &AuditKeygenArgs) -> Result<()> {
    let out = &args.out;
    if out.as_os_str() == "-" {
        return Err(CliError::Usage(
            "audit keygen writes the key to a file only: give --out FILE".to_owned(),
        ));
    }
    let public_out = public_path(out);
    for path in [out.as_path(), public_out.as_path()] {
        if path.symlink_metadata().is_ok() {
            return Err(CliError::Usage(format!(
                "{path:?} exists already: refusing to overwrite it"
            )));
        }
    }
    let signer = NoteSigner::generate(&args.name)?;
    let verifier = signer.verifier().to_key_string();

    let mut output = Output::create_new(out, 0o600)?;
    let mut line = signer.to_key_string();
    line.push('\n');
    output
        .write_all(line.as_bytes())
        .map_err(|err| CliError::file("cannot write key file", out, err))?;
    output.finish()?;

    let placed = Output::create_new(&public_out, 0o644).and_then(|mut output| {
        writeln!(output, "{verifier}")
            .map_err(|err| CliError::file("cannot write key file", &public_out, err))?;
        output.finish()
    });
    if let Err(err) = placed {
        // The signer key file is ours (just created): take it back.
        let _ = std::fs::remove_file(out);
        return Err(err);
    }
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{verifier}")
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

// ---- opening logs ------------------------------------------------------------

/// Where `--log` points.
enum Location<'a> {
    /// A log directory.
    Dir(&'a Path),
    /// The log `name` in the PostgreSQL database at `url`.
    #[cfg(feature = "postgres")]
    Postgres {
        url: &'a str,
        name: &'a str,
        ca: Option<&'a Path>,
    },
}

/// `--log` and `--log-name` as a location: a URL is recognised by its
/// scheme, `postgres://` or `postgresql://` (a directory of that name is
/// reached as `./postgres:…`).
fn locate(args: &LogArgs) -> Result<Location<'_>> {
    let url = args
        .log
        .to_str()
        .filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"));
    match (url, args.log_name.as_deref()) {
        #[cfg(feature = "postgres")]
        (Some(url), name) => Ok(Location::Postgres {
            url,
            name: name.unwrap_or("default"),
            ca: args.log_ca.as_deref(),
        }),
        #[cfg(not(feature = "postgres"))]
        (Some(_), _) => Err(CliError::Usage(
            "--log postgres://…: this tresor was built without PostgreSQL support \
             (feature `postgres`)"
                .to_owned(),
        )),
        (None, Some(_)) => Err(CliError::Usage(
            "--log-name names a log in a PostgreSQL database: give --log postgres://…".to_owned(),
        )),
        (None, None) if args.log_ca.is_some() => Err(CliError::Usage(
            "--log-ca is the CA of a PostgreSQL server: give --log postgres://…".to_owned(),
        )),
        (None, None) => Ok(Location::Dir(&args.log)),
    }
}

/// Opens an existing log for writing (takes the lock, recovers).
fn open_writer(dir: &Path) -> Result<AuditLog<FileStore>> {
    let store = FileStore::open(dir, FileStoreOptions::default().with_create(false))
        .map_err(|err| no_log(dir, err))?;
    Ok(AuditLog::open(store)?)
}

/// Opens an existing log read-only: no lock, nothing written. A
/// PostgreSQL log is a snapshot at its committed size.
fn open_reader(args: &LogArgs) -> Result<AuditLog<Box<dyn LogStore>>> {
    let store: Box<dyn LogStore> = match locate(args)? {
        Location::Dir(dir) => {
            Box::new(FileStore::open_read_only(dir).map_err(|err| no_log(dir, err))?)
        }
        #[cfg(feature = "postgres")]
        Location::Postgres { url, name, ca } => {
            Box::new(crate::pglog::open(url, name, false, ca)?.snapshot()?)
        }
    };
    Ok(AuditLog::open(store)?)
}

/// Names a missing log plainly.
fn no_log(dir: &Path, err: tresor_audit::Error) -> CliError {
    match err {
        tresor_audit::Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            CliError::Usage(format!(
                "no audit log at {dir:?} (`tresor audit append` creates one)"
            ))
        }
        other => other.into(),
    }
}

// ---- append ------------------------------------------------------------------

/// Where `append` puts records: appended (or queued) by [`Sink::add`],
/// made durable by [`Sink::commit`], which returns their index and leaf
/// hash.
trait Sink {
    /// Appends or queues `record`.
    fn add(&mut self, record: &AuditRecord) -> tresor_audit::Result<()>;
    /// Whether the pending records should be committed before another.
    fn full(&self) -> bool;
    /// Makes the pending records durable; their index and leaf hash.
    fn commit(&mut self) -> Result<Vec<(u64, Hash)>>;
}

/// A log directory: records are appended at once and synced together.
struct FileSink {
    log: AuditLog<FileStore>,
    pending: Vec<(u64, Hash)>,
}

impl Sink for FileSink {
    fn add(&mut self, record: &AuditRecord) -> tresor_audit::Result<()> {
        self.pending.push(self.log.append(record)?);
        Ok(())
    }

    fn full(&self) -> bool {
        self.pending.len() >= MAX_PENDING
    }

    fn commit(&mut self) -> Result<Vec<(u64, Hash)>> {
        if !self.pending.is_empty() {
            self.log.sync()?;
        }
        Ok(std::mem::take(&mut self.pending))
    }
}

/// A PostgreSQL log: records are queued and appended in one transaction.
#[cfg(feature = "postgres")]
struct PostgresSink {
    log: tresor_postgres::PostgresLog,
    pending: Vec<Vec<u8>>,
    bytes: usize,
}

/// The bytes of records `append` sends in one transaction, at most.
#[cfg(feature = "postgres")]
const MAX_PENDING_BYTES: usize = 32 << 20;

#[cfg(feature = "postgres")]
impl Sink for PostgresSink {
    fn add(&mut self, record: &AuditRecord) -> tresor_audit::Result<()> {
        let bytes = record.canonical_bytes()?;
        if bytes.len() > tresor_postgres::audit::MAX_ENTRY_LEN {
            return Err(tresor_audit::Error::InvalidRecord {
                reason: format!(
                    "a record of {} bytes exceeds the {} a log stores",
                    bytes.len(),
                    tresor_postgres::audit::MAX_ENTRY_LEN
                ),
            });
        }
        self.bytes += bytes.len();
        self.pending.push(bytes);
        Ok(())
    }

    fn full(&self) -> bool {
        self.pending.len() >= MAX_PENDING || self.bytes >= MAX_PENDING_BYTES
    }

    fn commit(&mut self) -> Result<Vec<(u64, Hash)>> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let receipt = self.log.append_batch(&self.pending)?;
        self.bytes = 0;
        Ok(receipt
            .indexes()
            .zip(self.pending.drain(..))
            .map(|(index, bytes)| (index, merkle::leaf_hash(&bytes)))
            .collect())
    }
}

/// Appended records whose lines are not printed yet: committed and printed
/// together.
struct Batch<'a> {
    sink: Box<dyn Sink>,
    stdout: BufWriter<io::StdoutLock<'a>>,
}

impl Batch<'_> {
    /// Makes the pending records durable, then prints their lines.
    fn commit(&mut self) -> Result<()> {
        let committed = self.sink.commit()?;
        if committed.is_empty() {
            return Ok(());
        }
        for (index, leaf) in committed {
            writeln!(self.stdout, "{index} {}", hex::encode(leaf)).map_err(CliError::Stdout)?;
        }
        self.stdout.flush().map_err(CliError::Stdout)
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes into `line` (cleared
/// first), its line ending included. Returns false at the end of input.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>, number: u64) -> Result<bool> {
    line.clear();
    reader
        .take(MAX_LINE + 1)
        .read_until(b'\n', line)
        .map_err(|err| CliError::AuditLine {
            line: number,
            reason: format!("cannot read the input: {err}"),
        })?;
    if line.len() as u64 > MAX_LINE {
        return Err(CliError::AuditLine {
            line: number,
            reason: format!("longer than {MAX_LINE} bytes"),
        });
    }
    Ok(!line.is_empty())
}

/// The record on one input line, or `None` for a blank line.
fn parse_line(line: &[u8]) -> Result<Option<AuditRecord>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let text = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if text.is_empty() {
        return Ok(None);
    }
    AuditRecord::from_json(text)
        .map(Some)
        .map_err(|err| err.to_string())
}

/// `tresor audit append`: appends the input's records (one JSON object a
/// line, blank lines skipped) and prints `INDEX LEAF_HASH_HEX` for each,
/// once it is durable.
pub(crate) fn append(args: &AuditAppendArgs) -> Result<()> {
    let input = Input::open(args.input.as_deref(), false)?;
    let sink: Box<dyn Sink> = match locate(&args.log)? {
        Location::Dir(dir) => {
            let store = FileStore::open(
                dir,
                FileStoreOptions::default().with_sync(SyncPolicy::Manual),
            )?;
            Box::new(FileSink {
                log: AuditLog::open(store)?,
                pending: Vec::new(),
            })
        }
        #[cfg(feature = "postgres")]
        Location::Postgres { url, name, ca } => Box::new(PostgresSink {
            log: crate::pglog::open(url, name, true, ca)?,
            pending: Vec::new(),
            bytes: 0,
        }),
    };
    let mut batch = Batch {
        sink,
        stdout: BufWriter::new(io::stdout().lock()),
    };
    let mut reader = BufReader::with_capacity(APPEND_BUFFER, input.into_reader());
    let mut line = Vec::new();
    let mut number = 0u64;
    let result = loop {
        // Nothing more buffered: make the batch durable and acknowledge it
        // before the next read, which may wait for the producer.
        if reader.buffer().is_empty() || batch.sink.full() {
            batch.commit()?;
        }
        number += 1;
        match read_line(&mut reader, &mut line, number) {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(err) => break Err(err),
        }
        let record = match parse_line(&line) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(reason) => {
                break Err(CliError::AuditLine {
                    line: number,
                    reason,
                });
            }
        };
        match batch.sink.add(&record) {
            Ok(()) => {}
            Err(err) => {
                break Err(CliError::AuditLine {
                    line: number,
                    reason: err.to_string(),
                });
            }
        }
    };
    // The records before a bad line stay appended: acknowledge them first.
    batch.commit()?;
    result
}

// ---- checkpoint --------------------------------------------------------------

/// `tresor audit checkpoint`: prints a signed checkpoint of the log's
/// current tree head.
pub(crate) fn checkpoint(args: &AuditCheckpointArgs) -> Result<()> {
    let signer: Box<dyn NoteSign> = match hsm::uri(&args.key)? {
        Some(uri) => {
            let Some(name) = args.key_name.as_deref().or(args.origin.as_deref()) else {
                return Err(CliError::Usage(
                    "a key in a token has no name of its own: give --key-name NAME (or --origin)"
                        .to_owned(),
                ));
            };
            Box::new(Pkcs11NoteSigner::open(&uri, name)?)
        }
        None => {
            let signer = load_signer(&args.key)?;
            if let Some(name) = args.key_name.as_deref().filter(|n| *n != signer.name()) {
                return Err(CliError::Usage(format!(
                    "--key-name {name:?}: the key file's key is named {:?}",
                    signer.name()
                )));
            }
            Box::new(signer)
        }
    };
    let origin = args.origin.as_deref().unwrap_or(signer.name());
    let (size, root) = match locate(&args.log)? {
        Location::Dir(dir) => {
            let log = open_writer(dir)?;
            (log.size(), log.root())
        }
        // Only committed entries are ever visible: no lock needed.
        #[cfg(feature = "postgres")]
        Location::Postgres { url, name, ca } => {
            let view = crate::pglog::open(url, name, false, ca)?.snapshot()?;
            (view.size(), view.root())
        }
    };
    let signed = Checkpoint::new(origin, size, root)?.sign_with(&[signer.as_ref()])?;
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(signed.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

// ---- verify ------------------------------------------------------------------

/// What `tresor audit verify` prints.
#[derive(Serialize)]
struct VerifySummary {
    size: u64,
    root: String,
    checkpoint_size: Option<u64>,
    checkpoint_origin: Option<String>,
}

/// `tresor audit verify`: walks the whole log read-only, and checks the
/// checkpoint against it.
// Without PostgreSQL support a location is always a directory.
#[cfg_attr(
    not(feature = "postgres"),
    allow(clippy::infallible_destructuring_match)
)]
pub(crate) fn verify(args: &AuditVerifyArgs) -> Result<()> {
    let location = locate(&args.log)?;
    let checkpoint = match (&args.checkpoint, &args.vkey) {
        (Some(note_path), Some(vkey)) => {
            let text = read_small_text(note_path, note::MAX_NOTE_LEN as u64, "checkpoint")?;
            Some((text, [load_verifier(vkey)?]))
        }
        _ => None,
    };
    let mut verifier = LogVerifier::new().canonical_records(true);
    if let Some((note, known)) = &checkpoint {
        verifier = verifier.checkpoint(note, known, known[0].name());
    }
    let dir = match location {
        Location::Dir(dir) => dir,
        #[cfg(feature = "postgres")]
        Location::Postgres { url, name, ca } => {
            let view = crate::pglog::open(url, name, false, ca)?.snapshot()?;
            return print_verified(&verifier.verify(&view)?);
        }
    };
    let store = FileStore::open_read_only(dir).map_err(|err| no_log(dir, err))?;
    let report = verifier.verify(&store)?;
    // The read-only open skips bytes after the last complete record: a
    // torn or altered final record, or a writer appending right now.
    if let Some(torn) = store.torn_tail() {
        let name = torn.path.file_name().unwrap_or(torn.path.as_os_str());
        return Err(CliError::Usage(format!(
            "log corrupted at entry {}: {name:?} holds {} bytes after its last complete \
             record (offset {}): a torn or altered final record, or a writer appending \
             right now (verify again once it is idle)",
            report.size, torn.bytes, torn.offset
        )));
    }
    print_verified(&report)
}

/// Prints what `verify` established.
fn print_verified(report: &tresor_audit::LogReport) -> Result<()> {
    print_json(
        &VerifySummary {
            size: report.size,
            root: b64(&report.root),
            checkpoint_size: report.checkpoint.as_ref().map(Checkpoint::size),
            checkpoint_origin: report.checkpoint.as_ref().map(|cp| cp.origin().to_owned()),
        },
        false,
    )
}

// ---- proofs ------------------------------------------------------------------

/// An error for a proof the log serves that does not check out: its stored
/// hashes disagree with its entries.
fn inconsistent(err: tresor_audit::Error) -> CliError {
    CliError::Usage(format!(
        "the log's stored hashes do not match its entries ({err}): run `tresor audit verify`"
    ))
}

/// `tresor audit prove`: prints the inclusion proof of entry `--index` in
/// the tree of `--size` entries.
pub(crate) fn prove(args: &AuditProveArgs) -> Result<()> {
    let log = open_reader(&args.log)?;
    let size = args.size.unwrap_or(log.size());
    if size > log.size() {
        return Err(CliError::Usage(format!(
            "--size {size} exceeds the log's {} entries",
            log.size()
        )));
    }
    if args.index >= size {
        return Err(CliError::Usage(format!(
            "--index {} is not below the tree size {size}",
            args.index
        )));
    }
    let root = log.root_at(size)?;
    let leaf = merkle::leaf_hash(&log.entry(args.index)?);
    let proof = log.inclusion_proof(args.index, size)?;
    // Never hand out a proof that does not verify.
    merkle::verify_inclusion(&leaf, args.index, size, &proof, &root).map_err(inconsistent)?;
    print_json(
        &InclusionJson::new(args.index, size, &root, &leaf, &proof),
        true,
    )
}

/// `tresor audit consistency`: prints the consistency proof between the
/// trees of `--old` and `--new` entries.
pub(crate) fn consistency(args: &AuditConsistencyArgs) -> Result<()> {
    let log = open_reader(&args.log)?;
    let new = args.new.unwrap_or(log.size());
    let old = args.old;
    if new > log.size() {
        return Err(CliError::Usage(format!(
            "--new {new} exceeds the log's {} entries",
            log.size()
        )));
    }
    if old == 0 {
        return Err(CliError::Usage(
            "--old must be at least 1: no consistency proof exists from the empty tree".to_owned(),
        ));
    }
    if old > new {
        return Err(CliError::Usage(format!(
            "--old {old} exceeds the new tree size {new}"
        )));
    }
    let root1 = log.root_at(old)?;
    let root2 = log.root_at(new)?;
    let proof = log.consistency_proof(old, new)?;
    merkle::verify_consistency(old, new, &proof, &root1, &root2).map_err(inconsistent)?;
    print_json(
        &ConsistencyJson::new(old, new, &root1, &root2, &proof),
        true,
    )
}
