//! The envelope header and key section (specified in `FORMAT.md`).

use std::io::{self, Read};

use crate::kek::validate_key_id;
use crate::{Context, Error, MAX_CONTEXT_LEN, Result, Suite};

/// The four bytes every envelope starts with.
pub const MAGIC: [u8; 4] = *b"TRSE";

/// The format version this library writes.
pub const VERSION: u8 = 3;

/// The first format version, still read (and rewrapped) but no longer written.
pub const VERSION_1: u8 = 1;

/// The second format version, still read (and rewrapped) but no longer
/// written.
pub const VERSION_2: u8 = 2;

/// Every format version this library reads: [`VERSION_1`], [`VERSION_2`] and
/// [`VERSION`].
pub const READ_VERSIONS: [u8; 3] = [VERSION_1, VERSION_2, VERSION];

/// Length of the random message id.
pub const MESSAGE_ID_LEN: usize = 32;

/// Length of the key commitment.
pub const COMMITMENT_LEN: usize = 32;

/// Smallest frame size (plaintext bytes per frame).
pub const MIN_FRAME_SIZE: u32 = 16;

/// Largest frame size (plaintext bytes per frame): 4 MiB.
pub const MAX_FRAME_SIZE: u32 = 4 << 20;

/// Default frame size: 64 KiB.
pub const DEFAULT_FRAME_SIZE: u32 = 64 << 10;

/// Largest wrapped data key a key section may carry.
pub const MAX_WRAPPED_DEK_LEN: usize = 4096;

/// Bytes before the context: magic, version, suite, frame size, message id.
pub(crate) const FIXED_LEN: usize = 4 + 1 + 1 + 4 + MESSAGE_ID_LEN;

/// Domain separation label of the key-section AAD.
const KEY_SECTION_LABEL: &[u8] = b"tresor-envelope/v1 key section";

/// The public part of an envelope: its header and key section.
///
/// Nothing in a `Header` is secret; [`Header::read_from`] parses it without
/// any key, which is what `tresor inspect` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    version: u8,
    suite: Suite,
    frame_size: u32,
    message_id: [u8; MESSAGE_ID_LEN],
    context: Context,
    commitment: [u8; COMMITMENT_LEN],
    kek_id: String,
    wrapped_dek: Vec<u8>,
    /// Bytes from the magic to the end of the context: the key derivation's info.
    prefix: Vec<u8>,
}

impl Header {
    /// Reads a header and key section from `reader`, consuming exactly their
    /// bytes and nothing of the frames.
    pub fn read_from<R: Read + ?Sized>(reader: &mut R) -> Result<Self> {
        let mut fixed = [0u8; FIXED_LEN];
        let (magic, rest) = fixed.split_at_mut(4);
        read_exact(reader, magic)?;
        if *magic != MAGIC {
            return Err(Error::MalformedHeader("not a tresor envelope (bad magic)"));
        }
        let (version, rest) = rest.split_at_mut(1);
        read_exact(reader, version)?;
        let version = version.first().copied().unwrap_or_default();
        if !READ_VERSIONS.contains(&version) {
            return Err(Error::UnsupportedVersion(version));
        }
        let (suite, rest) = rest.split_at_mut(1);
        read_exact(reader, suite)?;
        let suite = Suite::from_id(suite.first().copied().unwrap_or_default())?;
        read_exact(reader, rest)?;
        let (frame_size, message_id) = rest.split_first_chunk::<4>().ok_or(TRUNCATED)?;
        let frame_size = u32::from_be_bytes(*frame_size);
        check_frame_size(frame_size)
            .map_err(|_| Error::MalformedHeader("frame size out of range"))?;
        let message_id: [u8; MESSAGE_ID_LEN] = message_id.try_into().map_err(|_| TRUNCATED)?;

        let mut context_len = [0u8; 2];
        read_exact(reader, &mut context_len)?;
        let encoded_context_len = usize::from(u16::from_be_bytes(context_len));
        if encoded_context_len > MAX_CONTEXT_LEN {
            return Err(Error::MalformedHeader("encryption context too large"));
        }
        // The prefix is read in place: fixed fields, context length, context.
        let mut prefix = vec![0u8; FIXED_LEN + 2 + encoded_context_len];
        let (head, context_bytes) = prefix.split_at_mut(FIXED_LEN + 2);
        let (head_fixed, head_len) = head.split_at_mut(FIXED_LEN);
        head_fixed.copy_from_slice(&fixed);
        head_len.copy_from_slice(&context_len);
        read_exact(reader, context_bytes)?;
        let context = Context::decode(context_bytes)?;

        let mut commitment = [0u8; COMMITMENT_LEN];
        read_exact(reader, &mut commitment)?;

        let mut id_len = [0u8; 1];
        read_exact(reader, &mut id_len)?;
        let mut kek_id = vec![0u8; usize::from(id_len[0])];
        read_exact(reader, &mut kek_id)?;
        let kek_id =
            String::from_utf8(kek_id).map_err(|_| Error::MalformedHeader("key id is not UTF-8"))?;
        validate_key_id(&kek_id).map_err(|_| Error::MalformedHeader("invalid key id"))?;

        let wrapped_len = usize::from(read_u16(reader)?);
        if wrapped_len == 0 || wrapped_len > MAX_WRAPPED_DEK_LEN {
            return Err(Error::MalformedHeader("wrapped key length out of range"));
        }
        let mut wrapped_dek = vec![0u8; wrapped_len];
        read_exact(reader, &mut wrapped_dek)?;

        Ok(Header {
            version,
            suite,
            frame_size,
            message_id,
            context,
            commitment,
            kek_id,
            wrapped_dek,
            prefix,
        })
    }

    /// Parses a header from the start of `bytes` and returns it with the
    /// number of bytes it took.
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize)> {
        let mut cursor = bytes;
        let header = Header::read_from(&mut cursor)?;
        Ok((header, bytes.len() - cursor.len()))
    }

    /// Appends the header and key section to `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&self.commitment);
        write_key_section(out, &self.kek_id, &self.wrapped_dek);
    }

    /// The header and key section as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Length of the encoded header and key section.
    pub fn encoded_len(&self) -> usize {
        self.prefix.len() + COMMITMENT_LEN + 1 + self.kek_id.len() + 2 + self.wrapped_dek.len()
    }

    /// The format version (one of [`READ_VERSIONS`]).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The cipher suite of the frames.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Plaintext bytes per frame (the last frame may hold fewer).
    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// The random per-message id (the key derivation's salt).
    pub fn message_id(&self) -> &[u8; MESSAGE_ID_LEN] {
        &self.message_id
    }

    /// The encryption context, which must be given again to open.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The key commitment.
    pub fn commitment(&self) -> &[u8; COMMITMENT_LEN] {
        &self.commitment
    }

    /// The id of the key-encryption key that wrapped the data key.
    pub fn kek_id(&self) -> &str {
        &self.kek_id
    }

    /// The wrapped data key (opaque; only its key-encryption key can unwrap it).
    pub fn wrapped_dek(&self) -> &[u8] {
        &self.wrapped_dek
    }

    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The additional data of every frame: the prefix from version 3 on,
    /// nothing before.
    pub(crate) fn frame_aad(&self) -> &[u8] {
        if self.version >= VERSION {
            &self.prefix
        } else {
            &[]
        }
    }

    /// Replaces the key section. The id must be valid and the wrapped key
    /// within bounds, or the header could not be written back.
    pub(crate) fn set_key_section(&mut self, kek_id: &str, wrapped_dek: Vec<u8>) -> Result<()> {
        check_key_section(kek_id, &wrapped_dek)?;
        kek_id.clone_into(&mut self.kek_id);
        self.wrapped_dek = wrapped_dek;
        Ok(())
    }

    /// The AAD under which the key-encryption key wraps the data key.
    pub(crate) fn key_section_aad(&self, kek_id: &str) -> Vec<u8> {
        key_section_aad(self.version, self.suite, &self.context, kek_id)
    }
}

/// Appends a new message's prefix (magic to end of context) to `out`.
/// The frame size must have been checked.
pub(crate) fn write_prefix(
    out: &mut Vec<u8>,
    suite: Suite,
    frame_size: u32,
    message_id: &[u8; MESSAGE_ID_LEN],
    context: &Context,
) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(suite.id());
    out.extend_from_slice(&frame_size.to_be_bytes());
    out.extend_from_slice(message_id);
    context.encode(out);
}

/// Length of the prefix [`write_prefix`] writes for `context`.
pub(crate) fn prefix_len(context: &Context) -> usize {
    FIXED_LEN + 2 + context.encoded_len()
}

/// Length of the key section for a key id and a wrapped key.
pub(crate) fn key_section_len(kek_id: &str, wrapped_dek: &[u8]) -> usize {
    1 + kek_id.len() + 2 + wrapped_dek.len()
}

/// Checks that a key section can be written: a valid key id and a wrapped
/// key of 1 to [`MAX_WRAPPED_DEK_LEN`] bytes.
pub(crate) fn check_key_section(kek_id: &str, wrapped_dek: &[u8]) -> Result<()> {
    validate_key_id(kek_id)?;
    if wrapped_dek.is_empty() || wrapped_dek.len() > MAX_WRAPPED_DEK_LEN {
        return Err(Error::kek(
            kek_id,
            format!(
                "wrapped data key is {} bytes; 1 to {MAX_WRAPPED_DEK_LEN} are allowed",
                wrapped_dek.len()
            ),
        ));
    }
    Ok(())
}

/// Appends a key section checked by [`check_key_section`] to `out`.
pub(crate) fn write_key_section(out: &mut Vec<u8>, kek_id: &str, wrapped_dek: &[u8]) {
    let id_len = u8::try_from(kek_id.len()).expect("key ids are validated to 255 bytes");
    out.push(id_len);
    out.extend_from_slice(kek_id.as_bytes());
    let wrapped_len =
        u16::try_from(wrapped_dek.len()).expect("wrapped keys are checked to 4096 bytes");
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(wrapped_dek);
}

/// The AAD of the key section: a label, the message's format version, the
/// suite, the encoded context and the key id. It leaves out the message id so that one
/// wrapped data key can be cached and reused across messages; the key
/// commitment binds the data key to the whole header.
pub(crate) fn key_section_aad(
    version: u8,
    suite: Suite,
    context: &Context,
    kek_id: &str,
) -> Vec<u8> {
    let mut aad = Vec::new();
    write_key_section_aad(&mut aad, version, suite, context, kek_id);
    aad
}

/// Appends the [`key_section_aad`] to `aad`.
pub(crate) fn write_key_section_aad(
    aad: &mut Vec<u8>,
    version: u8,
    suite: Suite,
    context: &Context,
    kek_id: &str,
) {
    aad.reserve(KEY_SECTION_LABEL.len() + 5 + context.encoded_len() + kek_id.len());
    aad.extend_from_slice(KEY_SECTION_LABEL);
    aad.push(version);
    aad.push(suite.id());
    context.encode(aad);
    aad.push(u8::try_from(kek_id.len()).unwrap_or(u8::MAX));
    aad.extend_from_slice(kek_id.as_bytes());
}

pub(crate) fn check_frame_size(frame_size: u32) -> Result<()> {
    if (MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&frame_size) {
        Ok(())
    } else {
        Err(Error::InvalidFrameSize(frame_size))
    }
}

const TRUNCATED: Error = Error::MalformedHeader("truncated header");

fn read_exact<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> Result<()> {
    reader.read_exact(buf).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => TRUNCATED,
        _ => Error::from_io(err),
    })
}

fn read_u16<R: Read + ?Sized>(reader: &mut R) -> Result<u16> {
    let mut buf = [0u8; 2];
    read_exact(reader, &mut buf)?;
    Ok(u16::from_be_bytes(buf))
}
