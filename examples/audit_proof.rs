//! An audit log on disk, two signed checkpoints, and an auditor who checks
//! a record and the log's growth offline.
//!
//! The operator appends records to a `FileStore` log, signs a checkpoint
//! (C2SP signed note, Ed25519) at 5 entries, appends 4 more and signs
//! another at 9. The auditor holds only public material: the verifier key
//! string, the two signed notes, one record's bytes and two proofs (lists of
//! hashes). The example checks that the inclusion proof and the consistency
//! proof verify against the signed checkpoints, that a modified record and
//! an edited checkpoint are refused, and that the whole log verifies against
//! the later checkpoint. Exits non-zero if any of that did not happen.
//!
//! ```sh
//! cargo run --example audit_proof
//! ```

use std::process::ExitCode;

use tresor::audit::{
    Actor, AuditLog, AuditRecord, Checkpoint, FileStore, FileStoreOptions, NoteSigner,
    NoteVerifier, Outcome, Timestamp, merkle, verify_log,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const ORIGIN: &str = "audit.bank.example/log";
const KEY_NAME: &str = "audit.bank.example";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("audit_proof: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut log = AuditLog::open(FileStore::open(dir.path(), FileStoreOptions::default())?)?;
    let signer = NoteSigner::generate(KEY_NAME)?;

    // The operator: 5 records, a checkpoint, 4 more, another checkpoint.
    let mut notes = Vec::new();
    for i in 0..9_i64 {
        let record = AuditRecord::builder()
            .timestamp(Timestamp::from_unix(1_764_000_000 + i, 0)?)
            .actor(Actor::new("client", "client-7")?)
            .action(if i % 3 == 0 {
                "payment.create"
            } else {
                "account.read"
            })
            .resource("accounts/DE89370400440532013000")
            .outcome(Outcome::Allowed)
            .request_id(format!("req-{i}"))
            .source("10.0.0.7")
            .detail("amount", "120.00")
            .build()?;
        log.append(&record)?;
        if log.size() == 5 || log.size() == 9 {
            notes.push(Checkpoint::new(ORIGIN, log.size(), log.root())?.sign(&[&signer])?);
        }
    }
    log.sync()?;
    let [old_note, new_note] = notes.as_slice() else {
        return Err("expected two checkpoints".into());
    };
    println!(
        "log of {} entries; checkpoints signed at 5 and 9:\n{new_note}",
        log.size()
    );

    // What the operator hands the auditor: public material only.
    let vkey = signer.verifier().to_key_string();
    let (index, record) = (3, log.entry(3)?);
    let inclusion = log.inclusion_proof(index, 9)?;
    let consistency = log.consistency_proof(5, 9)?;

    // The auditor, offline.
    let trusted = [NoteVerifier::from_key_string(&vkey)?];
    let old = Checkpoint::open(old_note, &trusted, KEY_NAME)?;
    let new = Checkpoint::open(new_note, &trusted, KEY_NAME)?;
    let leaf = merkle::leaf_hash(&record);
    merkle::verify_inclusion(&leaf, index, new.size(), &inclusion, new.root())?;
    println!(
        "record {index} is in the signed tree of size {} ({} hashes)",
        new.size(),
        inclusion.len()
    );
    merkle::verify_consistency(old.size(), new.size(), &consistency, old.root(), new.root())?;
    println!(
        "the tree of size 9 extends the tree of size 5 ({} hashes)",
        consistency.len()
    );

    // A modified record does not prove; neither does an edited checkpoint.
    let modified = String::from_utf8(record)?.replace("120.00", "9120.00");
    let leaf = merkle::leaf_hash(modified.as_bytes());
    if merkle::verify_inclusion(&leaf, index, new.size(), &inclusion, new.root()).is_ok() {
        return Err("a modified record verified".into());
    }
    println!("the record with its amount changed: refused");
    let forged = new_note.replacen("\n9\n", "\n8\n", 1);
    if forged == *new_note || Checkpoint::open(&forged, &trusted, KEY_NAME).is_ok() {
        return Err("an edited checkpoint was accepted".into());
    }
    println!("the checkpoint with its size edited: refused");

    // Every entry of the log, walked and checked against the checkpoint.
    let report = verify_log(log.store(), Some((new_note, &trusted, KEY_NAME)))?;
    if report.size != 9 || report.root != *new.root() {
        return Err("the log does not match its checkpoint".into());
    }
    println!("the whole log verifies against the checkpoint of size 9");
    println!("audit_proof: OK");
    Ok(())
}
