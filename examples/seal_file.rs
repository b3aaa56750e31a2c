//! Streaming backup of a directory's files, then a key-encryption key (KEK)
//! rotation and a rewrap of the backup.
//!
//! Seals every file of a generated directory, in constant memory, under the
//! KEK `backup-2025`; rotates to `backup-2026`; rewraps each backup file
//! (only its header is rewritten) and checks that:
//!
//! - each rewrapped file names the new KEK and its frames are byte for byte
//!   those sealed under the old one (nothing was re-encrypted);
//! - a restore host holding only the new KEK's key file opens every file to
//!   its original bytes, and cannot open the files as sealed before rewrap;
//! - everything still opens after the old KEK is destroyed.
//!
//! Exits non-zero if any check fails. Works in a temporary directory.
//!
//! ```sh
//! cargo run --example seal_file
//! ```

use std::fs::{self, File};
use std::path::Path;
use std::process::ExitCode;

use tresor::envelope::{Context, Envelope, Error, Header, Keyring, LocalKek};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("seal_file: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (data, backup) = (dir.path().join("data"), dir.path().join("backup"));
    fs::create_dir(&data)?;
    fs::create_dir(&backup)?;
    let files = [
        ("empty.csv", 0),
        ("ledger.csv", 70_000),
        ("dump.sql", 3 << 20),
    ];
    for (name, len) in files {
        fs::write(data.join(name), pseudo_random(len))?;
    }

    // 1. Seal each file, streaming, under the 2025 KEK.
    let envelope = Envelope::new(Keyring::with_primary(LocalKek::generate("backup-2025")?)?);
    let mut sealed_before = Vec::new();
    for (name, len) in files {
        let sealed = backup.join(format!("{name}.tresor"));
        envelope.seal(
            File::open(data.join(name))?,
            File::create(&sealed)?,
            &context(name)?,
        )?;
        println!("sealed {name} ({len} bytes) under backup-2025");
        sealed_before.push(fs::read(&sealed)?);
    }

    // 2. Rotate: new data goes under the 2026 KEK; the 2025 one only opens.
    let new_kek = LocalKek::generate("backup-2026")?;
    let key_file = dir.path().join("backup-2026.kek");
    new_kek.save(&key_file)?; // mode 0600, what the restore host receives
    envelope.update_keyring(|k| {
        k.add(new_kek)?;
        k.set_primary("backup-2026")?;
        k.retire("backup-2025")
    })?;

    // 3. Rewrap each file to the primary, streaming, through a temporary file.
    for ((name, _), before) in files.iter().zip(&sealed_before) {
        let path = backup.join(format!("{name}.tresor"));
        let tmp = path.with_extension("tmp");
        envelope.rewrap(File::open(&path)?, File::create(&tmp)?, None)?;
        fs::rename(&tmp, &path)?;
        let after = fs::read(&path)?;
        let (old_header, old_len) = Header::parse(before)?;
        let (new_header, new_len) = Header::parse(&after)?;
        check(
            old_header.kek_id() == "backup-2025",
            "sealed under the old KEK",
        )?;
        check(
            new_header.kek_id() == "backup-2026",
            "rewrapped to the new KEK",
        )?;
        check(
            before.get(old_len..) == after.get(new_len..),
            "rewrap left the frames unchanged",
        )?;
        println!("rewrapped {name}: header only, frames unchanged");
    }

    // 4. A restore host with only the new key file opens everything.
    let restore = Envelope::new(Keyring::with_primary(LocalKek::load(&key_file)?)?);
    check_backup(&restore, &data, &backup, &files)?;
    for ((name, _), before) in files.iter().zip(&sealed_before) {
        check(
            matches!(
                restore.open_to_vec(before, &context(name)?),
                Err(Error::UnknownKek { .. })
            ),
            "the new KEK alone does not open a file sealed before rewrap",
        )?;
    }
    println!("restore host with only backup-2026 opened every file");

    // 5. The old KEK is no longer needed: destroy it and open again.
    envelope.destroy_kek("backup-2025")?;
    check_backup(&envelope, &data, &backup, &files)?;
    println!("backup-2025 destroyed; every file still opens");
    println!("seal_file: OK");
    Ok(())
}

/// Opens every backup file, streaming, and compares it with the original.
fn check_backup(
    envelope: &Envelope,
    data: &Path,
    backup: &Path,
    files: &[(&str, usize)],
) -> Result<()> {
    for (name, _) in files {
        let mut restored = Vec::new();
        let sealed = File::open(backup.join(format!("{name}.tresor")))?;
        envelope.open(sealed, &mut restored, &context(name)?)?;
        check(
            restored == fs::read(data.join(name))?,
            "restored bytes equal the original",
        )?;
    }
    Ok(())
}

/// The encryption context of a backup file: opening needs the same one.
fn context(name: &str) -> Result<Context> {
    Ok(Context::from_pairs([
        ("backup", "nightly"),
        ("file", name),
    ])?)
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

/// Deterministic filler bytes (xorshift64), so no file compresses to nothing.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}
