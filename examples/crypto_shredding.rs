//! Crypto-shredding: one key-encryption key (KEK) per customer; destroying
//! one customer's KEK makes that customer's data unreadable while the other
//! customers' data opens and the audit log still verifies end to end.
//!
//! Each customer's records are sealed under the customer's own KEK. Each
//! access is audit-logged with the customer as a pseudonym (HMAC under a
//! separately held key) and the sealed record as the audit entry's encrypted
//! payload. After the erasure request, the example checks that the erased
//! customer's records fail with `Error::KekDestroyed`, the other customer's
//! open, and the whole log, payloads included, verifies against checkpoints
//! signed before and after the erasure. Exits non-zero if any of that did
//! not happen. Works in a temporary directory.
//!
//! ```sh
//! cargo run --example crypto_shredding
//! ```

use std::process::ExitCode;

use tresor::audit::{
    Actor, AuditLog, AuditRecord, Checkpoint, FileStore, FileStoreOptions, NoteSigner, Outcome,
    PseudonymKey, Pseudonymizer, Timestamp, verify_log,
};
use tresor::envelope::{Context, Envelope, Error, Keyring, LocalKek, SealOptions};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CUSTOMERS: [&str; 2] = ["cust-1001", "cust-1002"];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("crypto_shredding: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let envelope = Envelope::new(Keyring::with_primary(LocalKek::generate("service-2026")?)?);
    let mut log = AuditLog::open(FileStore::open(dir.path(), FileStoreOptions::default())?)?;
    let pseudonyms = Pseudonymizer::new(PseudonymKey::generate()?).with_purpose("customer");
    let signer = NoteSigner::generate("audit.bank.example")?;
    let trusted = [signer.verifier()];

    // One KEK per customer; each customer's records sealed under it and the
    // sealed bytes kept in the audit log as the entry's payload.
    let mut sealed = Vec::new();
    for (i, customer) in (0_i64..).zip(CUSTOMERS) {
        envelope.update_keyring(|k| k.add(LocalKek::generate(format!("kek-{customer}"))?))?;
        let options = SealOptions::new().kek(format!("kek-{customer}"));
        let ctx = Context::from_pairs([("customer", customer), ("table", "kyc")])?;
        let record = format!("{customer}: passport X1234567, born 1980-02-29");
        let ciphertext = envelope.seal_to_vec_with(record.as_bytes(), &ctx, &options)?;
        let entry = AuditRecord::builder()
            .timestamp(Timestamp::from_unix(1_764_000_000 + i, 0)?)
            .actor(Actor::new("employee", "e-1042")?)
            .action("customer.kyc.store")
            .resource(format!("customers/{}", pseudonyms.pseudonymize(customer)))
            .outcome(Outcome::Allowed)
            .request_id(format!("req-{i}"))
            .source("10.0.0.7")
            .payload(ciphertext.clone())
            .build()?;
        log.append(&entry)?;
        sealed.push((customer, ctx, ciphertext));
        println!("sealed {customer}'s KYC record under kek-{customer} and logged it");
    }
    let before =
        Checkpoint::new("audit.bank.example/log", log.size(), log.root())?.sign(&[&signer])?;

    // The erasure request for the first customer: destroy its KEK (and, in
    // production, the key at its KMS or HSM), then log the erasure.
    let erased = CUSTOMERS[0];
    envelope.destroy_kek(&format!("kek-{erased}"))?;
    let entry = AuditRecord::builder()
        .timestamp(Timestamp::from_unix(1_764_000_100, 0)?)
        .actor(Actor::new("employee", "e-2001")?)
        .action("customer.erase")
        .resource(format!("customers/{}", pseudonyms.pseudonymize(erased)))
        .outcome(Outcome::Allowed)
        .request_id("req-erase")
        .source("10.0.0.9")
        .build()?;
    log.append(&entry)?;
    log.sync()?;
    let after =
        Checkpoint::new("audit.bank.example/log", log.size(), log.root())?.sign(&[&signer])?;
    println!("destroyed kek-{erased}");

    // The erased customer's record is unreadable; the other one opens. The
    // copies in the audit log are the same ciphertexts.
    for (index, (customer, ctx, ciphertext)) in (0_u64..).zip(&sealed) {
        let payload = log.record(index)?.payload().map(<[u8]>::to_vec);
        if payload.as_ref() != Some(ciphertext) {
            return Err(
                format!("audit entry {index} does not hold {customer}'s ciphertext").into(),
            );
        }
        match envelope.open_to_vec(ciphertext, ctx) {
            Err(Error::KekDestroyed { .. }) if *customer == erased => {
                println!("{customer}: unreadable (key-encryption key destroyed), in the log too");
            }
            Ok(plaintext) if *customer != erased && plaintext.starts_with(customer.as_bytes()) => {
                println!("{customer}: still opens");
            }
            other => return Err(format!("{customer}: unexpected result {:?}", other.err()).into()),
        }
    }

    // The log, payloads included, verifies against both checkpoints.
    for (name, note) in [("before", &before), ("after", &after)] {
        let report = verify_log(log.store(), Some((note, &trusted, "audit.bank.example")))?;
        println!(
            "audit log of {} entries verifies against the checkpoint {name} the erasure",
            report.size
        );
    }
    println!("crypto_shredding: OK");
    Ok(())
}
