//! [`PostgresLogWriter`]: group commit for callers that append one entry
//! at a time.

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use tresor_audit::{AuditRecord, AuditSink, Error, Result};

use super::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_ENTRY_LEN, PostgresLog};

/// How a [`PostgresLogWriter`] batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterOptions {
    /// The most entries committed in one transaction (default 256, at
    /// most [`MAX_BATCH_ENTRIES`]).
    pub max_batch: usize,
    /// The most entries waiting for the writer thread (default 4096);
    /// beyond it, [`PostgresLogWriter::append`] blocks until there is room
    /// (back-pressure rather than unbounded memory).
    pub queue: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            max_batch: 256,
            queue: 4096,
        }
    }
}

impl WriterOptions {
    /// These options with `max_batch` entries per transaction.
    #[must_use]
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch;
        self
    }

    /// These options with a queue of `queue` entries.
    #[must_use]
    pub fn with_queue(mut self, queue: usize) -> Self {
        self.queue = queue;
        self
    }
}

/// One caller's entry and where to send its outcome.
struct Request {
    entry: Vec<u8>,
    reply: SyncSender<Result<u64>>,
}

/// Appends entries one at a time from many threads, committing them
/// together: a background thread takes every entry waiting when the
/// previous transaction ends (up to [`WriterOptions::max_batch`]) and
/// commits them with [`PostgresLog::append_batch`]. Each caller of
/// [`PostgresLogWriter::append`] blocks until its batch is committed and
/// gets its entry's index: when it returns `Ok`, the entry is acknowledged
/// in the sense of the [module docs](super). Under load, batches grow by
/// themselves; an idle writer commits a lone entry at once (no timer, no
/// added latency).
///
/// When a batch fails, every caller in it gets the error (an outage is
/// [`Error::Unavailable`] for each); the next batch tries again, and the
/// pool reconnects once the server is back. An entry longer than
/// [`MAX_ENTRY_LEN`] is refused to its caller alone and never joins a
/// batch.
///
/// For a web server: share it in an `Arc` (as an `Arc<dyn
/// tresor_audit::AuditSink>`, which it implements) and call `append` from
/// `tokio::task::spawn_blocking` (it blocks, and the `postgres` client must
/// not run inside an async task). Dropping the writer commits what is
/// queued, then stops and joins its thread.
///
/// ```no_run
/// use std::sync::Arc;
/// use tresor_postgres::{PostgresLog, WriterOptions};
///
/// let log = PostgresLog::connect("postgres://tresor@127.0.0.1:5432/tresor", "default")?;
/// let writer = Arc::new(log.writer(WriterOptions::default())?);
/// let handles: Vec<_> = (0..8)
///     .map(|i| {
///         let writer = writer.clone();
///         std::thread::spawn(move || writer.append(format!("request {i}").into_bytes()))
///     })
///     .collect();
/// for handle in handles {
///     let index = handle.join().expect("no panic")?;
///     println!("stored at {index}");
/// }
/// # Ok::<(), tresor_audit::Error>(())
/// ```
pub struct PostgresLogWriter {
    log: PostgresLog,
    queue: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PostgresLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLogWriter")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl PostgresLogWriter {
    /// Starts a writer thread on `log`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the thread cannot be started.
    pub fn new(log: PostgresLog, options: WriterOptions) -> Result<Self> {
        let max_batch = options.max_batch.clamp(1, MAX_BATCH_ENTRIES);
        let (queue, requests) = mpsc::sync_channel(options.queue.max(1));
        let batch_log = log.clone();
        let thread = std::thread::Builder::new()
            .name(format!("tresor-audit-writer-{}", log.name()))
            .spawn(move || run(&batch_log, &requests, max_batch))?;
        Ok(Self {
            log,
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Appends `entry` (stored as given, see
    /// [`PostgresLog::append_batch`]) with whatever other entries are
    /// waiting, and returns its index once its batch is committed.
    ///
    /// # Errors
    ///
    /// As [`PostgresLog::append_batch`], for the batch the entry was in;
    /// [`Error::Backend`] if the writer thread has stopped.
    pub fn append(&self, entry: impl Into<Vec<u8>>) -> Result<u64> {
        let entry = entry.into();
        if entry.len() > MAX_ENTRY_LEN {
            // Refused alone, with its would-be index: it never holds up a
            // batch.
            return self.log.append(&entry).map(|receipt| receipt.first);
        }
        let (reply, outcome) = mpsc::sync_channel(1);
        let stopped = || Error::backend("the audit log writer thread has stopped");
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request { entry, reply })
            .map_err(|_| stopped())?;
        outcome.recv().map_err(|_| stopped())?
    }

    /// Appends a record as its RFC 8785 canonical bytes; see
    /// [`PostgresLogWriter::append`].
    ///
    /// # Errors
    ///
    /// [`Error::Canonicalization`] if the record cannot be canonicalised;
    /// as [`PostgresLogWriter::append`].
    pub fn append_record(&self, record: &AuditRecord) -> Result<u64> {
        self.append(record.canonical_bytes()?)
    }

    /// The log written to.
    pub fn log(&self) -> &PostgresLog {
        &self.log
    }
}

/// What request handlers and `tresor_credentials`' audit hook append to,
/// as `Arc<dyn AuditSink>`: each record committed (group commit) before
/// `append_record` returns its index. It blocks: call it from a plain
/// thread or `tokio::task::spawn_blocking`.
impl AuditSink for PostgresLogWriter {
    fn append_record(&self, record: &AuditRecord) -> Result<u64> {
        PostgresLogWriter::append_record(self, record)
    }
}

impl Drop for PostgresLogWriter {
    fn drop(&mut self) {
        // Closing the queue lets the thread commit what is queued, then end.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: one batch per loop, until the queue is closed and
/// empty.
fn run(log: &PostgresLog, requests: &Receiver<Request>, max_batch: usize) {
    let mut carry: Option<Request> = None;
    loop {
        let first = match carry.take() {
            Some(request) => request,
            None => match requests.recv() {
                Ok(request) => request,
                Err(_) => return,
            },
        };
        let mut bytes = first.entry.len();
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match requests.try_recv() {
                Ok(request) if bytes + request.entry.len() > MAX_BATCH_BYTES => {
                    carry = Some(request);
                    break;
                }
                Ok(request) => {
                    bytes += request.entry.len();
                    batch.push(request);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let entries: Vec<&[u8]> = batch.iter().map(|r| r.entry.as_slice()).collect();
        match log.append_batch(&entries) {
            Ok(receipt) => {
                for (index, request) in receipt.indexes().zip(&batch) {
                    // A caller that went away needs no answer.
                    let _ = request.reply.send(Ok(index));
                }
            }
            Err(err) => {
                for request in &batch {
                    let _ = request.reply.send(Err(copy(&err)));
                }
            }
        }
    }
}

/// `err` again, for the next caller of a failed batch.
fn copy(err: &Error) -> Error {
    match err {
        Error::Unavailable { source } => Error::Unavailable {
            source: source.clone(),
        },
        Error::Backend { source } => Error::Backend {
            source: source.clone(),
        },
        Error::InvalidAppend { index, reason } => Error::InvalidAppend {
            index: *index,
            reason: reason.clone(),
        },
        Error::Corrupt { position, reason } => Error::Corrupt {
            position: position.clone(),
            reason: reason.clone(),
        },
        Error::OutOfRange { index, size } => Error::OutOfRange {
            index: *index,
            size: *size,
        },
        other => Error::backend(other.to_string()),
    }
}
