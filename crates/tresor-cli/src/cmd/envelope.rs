//! The envelope commands: `kek generate`, `seal`, `open`, `rewrap`,
//! `inspect`.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use serde::Serialize;
use tresor_envelope::{
    DEFAULT_FRAME_SIZE, Envelope, Error, Header, KeyEncryptionKey, Keyring, LocalKek, SealOptions,
};

use crate::args::{self, GenerateArgs, InspectArgs, OpenArgs, RewrapArgs, SealArgs};
use crate::error::{CliError, Result};
use crate::input::Input;
use crate::keys;
use crate::output::{Output, print_json};
use crate::progress::Progress;

/// What `tresor kek generate` prints: the new key's id and check value.
#[derive(Serialize)]
struct GeneratedKey<'a> {
    kek_id: &'a str,
    check: &'a str,
}

/// `tresor kek generate`: creates a key file and prints its id and check
/// value as one line of JSON.
pub(super) fn kek_generate(args: &GenerateArgs) -> Result<()> {
    if args.out.as_os_str() == "-" {
        return Err(CliError::Usage(
            "kek generate writes the key to a file only: give --out FILE".to_owned(),
        ));
    }
    let id = match &args.id {
        Some(id) => id.clone(),
        None => LocalKek::random_id()?,
    };
    let kek = LocalKek::generate(id)?;
    kek.save(&args.out).map_err(|err| match err {
        Error::Io(err) => CliError::file("cannot create key file", &args.out, err),
        other => other.into(),
    })?;
    let check = kek.check_value();
    print_json(
        &GeneratedKey {
            kek_id: kek.key_id(),
            check: &check,
        },
        false,
    )
}

/// `tresor seal`: encrypts the input under the first `--kek`.
pub(super) fn seal(args: &SealArgs) -> Result<()> {
    let context = args::context(&args.context)?;
    let options = SealOptions::new()
        .suite(args.suite.unwrap_or_default())
        .frame_size(args.frame_size.unwrap_or(DEFAULT_FRAME_SIZE));
    let envelope = Envelope::builder(keys::keyring(&args.kek)?)
        .options(options)
        .build()?;

    let input = Input::open(args.io.input.as_deref(), true)?;
    let mut output = Output::create(args.io.output.as_deref(), &input)?;
    refuse_terminal(&output)?;
    let progress = Progress::new("sealing", input.len());
    envelope.seal(progress.wrap(input.into_reader()), &mut output, &context)?;
    drop(progress);
    output.finish()
}

/// `tresor open`: decrypts and verifies the input with the `--kek` keyring.
pub(super) fn open(args: &OpenArgs) -> Result<()> {
    let context = args::context(&args.context)?;
    let envelope = Envelope::new(keys::keyring(&args.kek)?);

    let input = Input::open(args.io.input.as_deref(), true)?;
    let mut output = Output::create(args.io.output.as_deref(), &input)?;
    let progress = Progress::new("opening", input.len());
    envelope.open(progress.wrap(input.into_reader()), &mut output, &context)?;
    drop(progress);
    output.finish()
}

/// `tresor rewrap`: rewrites the key section from `--from` to `--to`.
pub(super) fn rewrap(args: &RewrapArgs) -> Result<()> {
    let from = keys::kek(&args.from)?;
    let to = keys::kek(&args.to)?;
    let (from_id, to_id) = (from.key_id().to_owned(), to.key_id().to_owned());
    if from_id == to_id {
        return Err(CliError::Usage(format!(
            "--from and --to hold the same key id {from_id:?}"
        )));
    }
    let mut keyring = Keyring::new();
    keyring.add_shared(from)?;
    keyring.set_primary(&from_id)?;
    keyring.add_shared(to)?;
    let envelope = Envelope::new(keyring);

    let mut input = Input::open(args.io.input.as_deref(), true)?;
    let header = Header::read_from(input.reader())?;
    if header.kek_id() != from_id {
        return Err(CliError::Usage(format!(
            "the input is wrapped under key-encryption key {:?}, not under --from {from_id:?}",
            header.kek_id()
        )));
    }
    let mut output = Output::create(args.io.output.as_deref(), &input)?;
    refuse_terminal(&output)?;
    let progress = Progress::new("rewrapping", input.len());
    // The header was read to check it: put it back in front of the frames.
    let reader = Cursor::new(header.to_bytes()).chain(input.into_reader());
    envelope.rewrap(progress.wrap(reader), &mut output, Some(&to_id))?;
    drop(progress);
    output.finish()
}

/// What `tresor inspect` prints: the public header, no key material.
#[derive(Serialize)]
struct HeaderJson<'a> {
    version: u8,
    suite: &'static str,
    frame_size: u32,
    kek_id: &'a str,
    context: BTreeMap<&'a str, &'a str>,
    message_id: String,
}

/// `tresor inspect`: prints the header as JSON, reading nothing past it.
pub(super) fn inspect(args: &InspectArgs) -> Result<()> {
    let mut input = Input::open(args.input.as_deref(), false)?;
    let header = Header::read_from(input.reader())?;
    print_json(
        &HeaderJson {
            version: header.version(),
            suite: header.suite().name(),
            frame_size: header.frame_size(),
            kek_id: header.kek_id(),
            context: header.context().iter().collect(),
            message_id: hex::encode(header.message_id()),
        },
        true,
    )
}

/// Refuses to write an envelope (binary) to a terminal.
fn refuse_terminal(output: &Output) -> Result<()> {
    if output.is_terminal() {
        return Err(CliError::Usage(
            "refusing to write a binary envelope to a terminal: give --out PATH or redirect \
             standard output"
                .to_owned(),
        ));
    }
    Ok(())
}
