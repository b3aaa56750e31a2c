//! Sealing, opening and rewrapping.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use zeroize::{Zeroize, Zeroizing};

use crate::cache::{CachedDek, OpenCache, SealCache};
use crate::derive::{derive, derive_and_verify};
use crate::format::{
    COMMITMENT_LEN, Header, VERSION, check_frame_size, check_key_section, key_section_len,
    prefix_len, write_key_section, write_key_section_aad, write_prefix,
};
use crate::rng;
use crate::stream::{OpenReader, SealWriter, open_frames, seal_frame_after_header};
use crate::suite::{FrameCipher, TAG_LEN};
use crate::{
    Context, DEFAULT_FRAME_SIZE, DataKey, Error, KeyEncryptionKey, Keyring, MonotonicClock,
    OpenCacheLimits, Result, SealCacheLimits, Suite, SystemMonotonicClock,
};

/// How to seal one message: suite, frame size, and which key-encryption key.
///
/// ```
/// use tresor_envelope::{SealOptions, Suite};
///
/// let options = SealOptions::new()
///     .suite(Suite::Aes256GcmSiv)
///     .frame_size(1 << 20)
///     .kek("subject-42");
/// assert_eq!(options.suite, Suite::Aes256GcmSiv);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealOptions {
    /// The frames' cipher suite.
    pub suite: Suite,
    /// Plaintext bytes per frame, [`MIN_FRAME_SIZE`](crate::MIN_FRAME_SIZE)
    /// to [`MAX_FRAME_SIZE`](crate::MAX_FRAME_SIZE).
    pub frame_size: u32,
    /// The key-encryption key to seal under; `None` means the primary.
    pub kek_id: Option<String>,
}

impl SealOptions {
    /// AES-256-GCM, 64 KiB frames, the primary key-encryption key.
    pub fn new() -> Self {
        SealOptions {
            suite: Suite::default(),
            frame_size: DEFAULT_FRAME_SIZE,
            kek_id: None,
        }
    }

    /// Sets the suite.
    #[must_use]
    pub fn suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self
    }

    /// Sets the frame size.
    #[must_use]
    pub fn frame_size(mut self, frame_size: u32) -> Self {
        self.frame_size = frame_size;
        self
    }

    /// Seals under this key-encryption key instead of the primary.
    #[must_use]
    pub fn kek(mut self, kek_id: impl Into<String>) -> Self {
        self.kek_id = Some(kek_id.into());
        self
    }
}

impl Default for SealOptions {
    fn default() -> Self {
        SealOptions::new()
    }
}

/// Envelope encryption: seals data under fresh data keys wrapped by the
/// keyring's key-encryption keys, and opens it again.
///
/// An `Envelope` is `Send + Sync`; share one per service (`Arc<Envelope>`).
/// See the [crate docs](crate) for the guarantees and an example.
pub struct Envelope {
    keyring: RwLock<Keyring>,
    options: SealOptions,
    seal_cache: Option<SealCache>,
    open_cache: Option<OpenCache>,
    clock: Arc<dyn MonotonicClock>,
}

/// Builds an [`Envelope`] with caches, default options, or a monotonic clock
/// of the caller's choice.
///
/// There is no random-source option: data keys always come straight from the
/// operating system's generator, and message ids from a per-thread ChaCha20
/// generator seeded from it (see [`DataKey::generate`] and the crate docs).
pub struct EnvelopeBuilder {
    keyring: Keyring,
    options: SealOptions,
    seal_cache: Option<SealCacheLimits>,
    open_cache: Option<OpenCacheLimits>,
    clock: Arc<dyn MonotonicClock>,
}

impl EnvelopeBuilder {
    /// Default options for [`Envelope::seal_to_vec`], [`Envelope::seal`] and
    /// [`Envelope::seal_writer`].
    #[must_use]
    pub fn options(mut self, options: SealOptions) -> Self {
        self.options = options;
        self
    }

    /// Reuses data keys for sealing records, within `limits` (off by default).
    ///
    /// Applies to [`Envelope::seal_to_vec`] and its variants, whose length is
    /// known up front; streams always get a data key of their own.
    #[must_use]
    pub fn seal_cache(mut self, limits: SealCacheLimits) -> Self {
        self.seal_cache = Some(limits);
        self
    }

    /// Keeps unwrapped data keys for opening, within `limits` (off by default).
    #[must_use]
    pub fn open_cache(mut self, limits: OpenCacheLimits) -> Self {
        self.open_cache = Some(limits);
        self
    }

    /// The monotonic clock the caches measure ages with (default:
    /// [`SystemMonotonicClock`]). Replace it to pin or advance time in tests.
    #[must_use]
    pub fn monotonic_clock(mut self, clock: Arc<dyn MonotonicClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the envelope, checking the default options.
    pub fn build(self) -> Result<Envelope> {
        check_frame_size(self.options.frame_size)?;
        Ok(Envelope {
            keyring: RwLock::new(self.keyring),
            options: self.options,
            seal_cache: self.seal_cache.map(SealCache::new),
            open_cache: self.open_cache.map(OpenCache::new),
            clock: self.clock,
        })
    }
}

impl Envelope {
    /// An envelope over `keyring` with default options and no caches.
    pub fn new(keyring: Keyring) -> Self {
        Envelope::builder(keyring)
            .build()
            .expect("the default options are valid")
    }

    /// Starts building an envelope over `keyring`.
    pub fn builder(keyring: Keyring) -> EnvelopeBuilder {
        EnvelopeBuilder {
            keyring,
            options: SealOptions::new(),
            seal_cache: None,
            open_cache: None,
            clock: Arc::new(SystemMonotonicClock),
        }
    }

    /// The default sealing options.
    pub fn options(&self) -> &SealOptions {
        &self.options
    }

    // ---- records ---------------------------------------------------------

    /// Seals `plaintext` under `context` with the default options.
    pub fn seal_to_vec(&self, plaintext: &[u8], context: &Context) -> Result<Vec<u8>> {
        self.seal_to_vec_with(plaintext, context, &self.options)
    }

    /// Seals `plaintext` under `context` with `options`.
    pub fn seal_to_vec_with(
        &self,
        plaintext: &[u8],
        context: &Context,
        options: &SealOptions,
    ) -> Result<Vec<u8>> {
        let frame_size = options.frame_size as usize;
        let frames = plaintext.len().div_ceil(frame_size.max(1)).max(1);
        let mut out = Vec::new();
        let (key, aad_len) = self.seal_header(
            context,
            options,
            Some(plaintext.len() as u64),
            plaintext.len() + frames * TAG_LEN,
            &mut out,
        )?;
        let cipher = FrameCipher::new(options.suite, &key);
        let mut chunks = plaintext.chunks(frame_size.max(1));
        for counter in 0..frames {
            let start = out.len();
            out.extend_from_slice(chunks.next().unwrap_or_default());
            seal_frame_after_header(
                &cipher,
                counter as u64,
                counter + 1 == frames,
                aad_len,
                &mut out,
                start,
            )?;
        }
        Ok(out)
    }

    /// Opens a sealed record. `context` must equal the one it was sealed with.
    ///
    /// Fails with [`Error::Decrypt`] for a wrong key, a wrong context and any
    /// tampering, truncation or extension.
    pub fn open_to_vec(&self, ciphertext: &[u8], context: &Context) -> Result<Vec<u8>> {
        let (header, consumed) = Header::parse(ciphertext)?;
        let cipher = self.prepare_open(&header, context)?;
        let body = ciphertext.get(consumed..).unwrap_or_default();
        let mut out = Vec::with_capacity(body.len());
        match open_frames(
            &cipher,
            header.frame_size() as usize,
            header.frame_aad(),
            body,
            &mut out,
        ) {
            Ok(()) => Ok(out),
            Err(err) => {
                out.zeroize();
                Err(err)
            }
        }
    }

    // ---- streams ---------------------------------------------------------

    /// Seals everything `reader` yields into `writer`, in constant memory,
    /// with the default options; returns the plaintext length.
    pub fn seal<R: Read, W: Write>(&self, reader: R, writer: W, context: &Context) -> Result<u64> {
        self.seal_with(reader, writer, context, &self.options)
    }

    /// [`seal`](Self::seal) with `options`.
    pub fn seal_with<R: Read, W: Write>(
        &self,
        mut reader: R,
        writer: W,
        context: &Context,
        options: &SealOptions,
    ) -> Result<u64> {
        let mut sealer = self.seal_writer_with(writer, context, options)?;
        io::copy(&mut reader, &mut sealer).map_err(Error::from_io)?;
        let len = sealer.plaintext_len();
        sealer.finish()?;
        Ok(len)
    }

    /// Writes the header to `writer` and returns a writer that seals what is
    /// written to it; call [`SealWriter::finish`] at the end.
    pub fn seal_writer<W: Write>(&self, writer: W, context: &Context) -> Result<SealWriter<W>> {
        self.seal_writer_with(writer, context, &self.options)
    }

    /// [`seal_writer`](Self::seal_writer) with `options`.
    pub fn seal_writer_with<W: Write>(
        &self,
        mut writer: W,
        context: &Context,
        options: &SealOptions,
    ) -> Result<SealWriter<W>> {
        let mut header = Vec::new();
        let (key, aad_len) = self.seal_header(context, options, None, 0, &mut header)?;
        let cipher = FrameCipher::new(options.suite, &key);
        writer.write_all(&header)?;
        header.truncate(aad_len);
        Ok(SealWriter::new(
            writer,
            cipher,
            header,
            options.frame_size as usize,
        ))
    }

    /// Opens a sealed stream from `reader` into `writer`, in constant memory;
    /// returns the plaintext length.
    ///
    /// Plaintext reaches `writer` frame by frame, each frame only after it
    /// authenticates; the stream is complete and authentic only when this
    /// returns `Ok`. On error, discard what was written.
    pub fn open<R: Read, W: Write>(
        &self,
        reader: R,
        mut writer: W,
        context: &Context,
    ) -> Result<u64> {
        let mut opener = self.open_reader(reader, context)?;
        let len = io::copy(&mut opener, &mut writer).map_err(Error::from_io)?;
        writer.flush()?;
        Ok(len)
    }

    /// Reads the header from `reader`, unwraps the data key and checks the key
    /// commitment, and returns a reader of the plaintext.
    pub fn open_reader<R: Read>(&self, mut reader: R, context: &Context) -> Result<OpenReader<R>> {
        let header = Header::read_from(&mut reader)?;
        let cipher = self.prepare_open(&header, context)?;
        Ok(OpenReader::new(
            reader,
            cipher,
            header.frame_aad().to_vec(),
            header.frame_size() as usize,
        ))
    }

    // ---- rewrap ----------------------------------------------------------

    /// Moves a sealed record to another key-encryption key (`None`: the
    /// primary) by rewriting only its key section; the frames are untouched.
    ///
    /// The data key is unwrapped and checked against the key commitment
    /// first; the frames are not decrypted (and so not verified) here.
    pub fn rewrap_to_vec(&self, ciphertext: &[u8], to_kek: Option<&str>) -> Result<Vec<u8>> {
        let (header, consumed) = Header::parse(ciphertext)?;
        let header = self.rewrap_header(header, to_kek)?;
        let body = ciphertext.get(consumed..).unwrap_or_default();
        let mut out = Vec::with_capacity(header.encoded_len() + body.len());
        header.write_to(&mut out);
        out.extend_from_slice(body);
        Ok(out)
    }

    /// [`rewrap_to_vec`](Self::rewrap_to_vec) for streams: reads the header,
    /// writes the new one, and copies the frames; returns the bytes written.
    pub fn rewrap<R: Read, W: Write>(
        &self,
        mut reader: R,
        mut writer: W,
        to_kek: Option<&str>,
    ) -> Result<u64> {
        let header = Header::read_from(&mut reader)?;
        let header = self.rewrap_header(header, to_kek)?;
        let bytes = header.to_bytes();
        writer.write_all(&bytes)?;
        let copied = io::copy(&mut reader, &mut writer)?;
        writer.flush()?;
        Ok(bytes.len() as u64 + copied)
    }

    // ---- keyring ---------------------------------------------------------

    /// Changes the keyring (add, rotate, retire, destroy keys) atomically:
    /// `update` works on a copy, which replaces the keyring only if it
    /// returns `Ok`, so a failed step leaves the keyring as it was.
    ///
    /// It waits for seals and opens in progress to finish and holds new ones
    /// back until it is done; then it drops the cached data keys of every
    /// key-encryption key that can no longer seal (retired, destroyed,
    /// replaced) or open (destroyed, replaced).
    pub fn update_keyring<T, E>(
        &self,
        update: impl FnOnce(&mut Keyring) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut keyring = self.keyring.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = keyring.clone();
        let result = update(&mut next)?;
        *keyring = next;
        let current = |kek: &Arc<dyn KeyEncryptionKey>, id: Option<&str>| {
            keyring.get(kek.key_id()).is_ok_and(|k| Arc::ptr_eq(k, kek))
                && id.is_none_or(|id| keyring.sealing_kek(Some(id)).is_ok())
        };
        if let Some(cache) = &self.seal_cache {
            cache.retain_keks(|kek| current(kek, Some(kek.key_id())));
        }
        if let Some(cache) = &self.open_cache {
            cache.retain_keks(|kek| current(kek, None));
        }
        Ok(result)
    }

    /// Destroys a key-encryption key (crypto-shredding): removes it from the
    /// keyring and forgets every cached data key it wrapped, so its data no
    /// longer opens through this envelope. Destroy the key at its source
    /// (KMS, HSM, key file) too.
    pub fn destroy_kek(&self, kek_id: &str) -> Result<()> {
        self.update_keyring(|keyring| keyring.destroy(kek_id))
    }

    /// A snapshot of the keyring.
    pub fn keyring(&self) -> Keyring {
        self.read_keyring().clone()
    }

    /// Number of data keys in the sealing and opening caches (for metrics).
    pub fn cached_keys(&self) -> (usize, usize) {
        (
            self.seal_cache.as_ref().map_or(0, SealCache::len),
            self.open_cache.as_ref().map_or(0, OpenCache::len),
        )
    }

    // ---- internals -------------------------------------------------------

    fn read_keyring(&self) -> RwLockReadGuard<'_, Keyring> {
        self.keyring.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Picks the key-encryption key and data key, draws the message id,
    /// writes the header (prefix, commitment, key section) into the empty
    /// `out`, with room reserved for `body_len` more bytes, and returns the
    /// message key and the length of the prefix, which is every frame's
    /// additional data (`out[..len]`). The caller keys the frame cipher in
    /// place (it is over 500 bytes: returning it would copy it).
    ///
    /// The header is encoded once, straight into `out`, and the key
    /// derivation reads its prefix there: no `Header` value, no copies.
    fn seal_header(
        &self,
        context: &Context,
        options: &SealOptions,
        len: Option<u64>,
        body_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(Zeroizing<[u8; 32]>, usize)> {
        check_frame_size(options.frame_size)?;
        // Held to the end, so a key destroyed meanwhile cannot be used or cached.
        let keyring = self.read_keyring();
        let kek = keyring.sealing_kek(options.kek_id.as_deref())?;
        let cached = with_scratch(|aad| {
            write_key_section_aad(aad, VERSION, options.suite, context, kek.key_id());
            self.data_key(kek, aad, len)
        })?;
        let (dek, wrapped) = &*cached;
        let message_id = rng::message_id()?;

        let prefix_len = prefix_len(context);
        out.reserve_exact(
            prefix_len + COMMITMENT_LEN + key_section_len(kek.key_id(), wrapped) + body_len,
        );
        write_prefix(out, options.suite, options.frame_size, &message_id, context);
        let keys = derive(dek, VERSION, &message_id, out);
        out.extend_from_slice(&keys.commitment);
        write_key_section(out, kek.key_id(), wrapped);
        Ok((keys.key, prefix_len))
    }

    /// A data key and its wrapped form: from the sealing cache when allowed,
    /// else fresh (and then cached).
    fn data_key(
        &self,
        kek: &Arc<dyn KeyEncryptionKey>,
        aad: &[u8],
        len: Option<u64>,
    ) -> Result<CachedDek> {
        let cache = self.seal_cache.as_ref().zip(len);
        if let Some(cached) =
            cache.and_then(|(cache, len)| cache.checkout(kek, aad, len, self.clock.now()))
        {
            return Ok(cached);
        }
        let dek = DataKey::generate()?;
        let wrapped = kek.wrap(&dek, aad)?.into_boxed_slice();
        // Checked before it is cached: a cached key section was checked.
        check_key_section(kek.key_id(), &wrapped)?;
        let fresh = Arc::new((dek, wrapped));
        if let Some((cache, len)) = cache {
            cache.insert(kek, aad.to_vec(), fresh.clone(), len, self.clock.now());
        }
        Ok(fresh)
    }

    /// Finds the key-encryption key, checks the context, unwraps the data
    /// key (or finds it in the cache), verifies the commitment, and keys the
    /// frame cipher.
    fn prepare_open(&self, header: &Header, context: &Context) -> Result<FrameCipher> {
        let keyring = self.read_keyring();
        let kek = keyring.get(header.kek_id())?;
        if header.context() != context {
            return Err(Error::Decrypt);
        }
        let dek = self.unwrap_dek(kek, header)?;
        let keys = derive_and_verify(&dek, header)?;
        Ok(FrameCipher::new(header.suite(), &keys.key))
    }

    /// Unwraps the header's data key with `kek`, through the open cache.
    /// Callers hold the keyring's read lock.
    fn unwrap_dek(&self, kek: &Arc<dyn KeyEncryptionKey>, header: &Header) -> Result<Arc<DataKey>> {
        let aad = header.key_section_aad(kek.key_id());
        let Some(cache) = &self.open_cache else {
            return Ok(Arc::new(kek.unwrap(header.wrapped_dek(), &aad)?));
        };
        let key = OpenCache::key(&aad, header.wrapped_dek());
        if let Some(dek) = cache.get(kek, &key, self.clock.now()) {
            return Ok(dek);
        }
        let dek = Arc::new(kek.unwrap(header.wrapped_dek(), &aad)?);
        cache.insert(kek, key, dek.clone(), self.clock.now());
        Ok(dek)
    }

    fn rewrap_header(&self, mut header: Header, to_kek: Option<&str>) -> Result<Header> {
        let keyring = self.read_keyring();
        let dek = self.unwrap_dek(keyring.get(header.kek_id())?, &header)?;
        derive_and_verify(&dek, &header)?;
        let to = keyring.sealing_kek(to_kek)?;
        let wrapped = to.wrap(&dek, &header.key_section_aad(to.key_id()))?;
        header.set_key_section(to.key_id(), wrapped)?;
        Ok(header)
    }
}

/// Runs `f` with an empty buffer: this thread's reusable one (a sealing
/// cache hit then allocates nothing for the key-section AAD it looks up
/// by), or a new one if that is in use (a key-encryption key that seals
/// from inside `wrap`).
fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            f(&mut buf)
        }
        Err(_) => f(&mut Vec::new()),
    })
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("keyring", &*self.read_keyring())
            .field("options", &self.options)
            .field("seal_cache", &self.seal_cache.is_some())
            .field("open_cache", &self.open_cache.is_some())
            .finish_non_exhaustive()
    }
}
