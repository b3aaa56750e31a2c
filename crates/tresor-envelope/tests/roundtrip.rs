//! Round trips: whatever is sealed opens to the same bytes, through every
//! pairing of the record API (`seal_to_vec`/`open_to_vec`) and the streaming
//! API (`seal`, `seal_writer`, `open`, `open_reader`), for both suites, small
//! frame sizes, lengths from 0 to about five frames (exact multiples of the
//! frame size included), random contexts, and readers and writers that move
//! data in random small chunks. The sealed length is checked against the
//! size formula of `FORMAT.md`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::{self, Read, Write};
use std::sync::LazyLock;

use proptest::prelude::*;
use tresor_envelope::{
    Context, Envelope, Error, Header, Keyring, LocalKek, SealOptions, Suite, TAG_LEN,
};

const KEK_ID: &str = "roundtrip-kek";
/// `LocalKek` wraps a data key into nonce (12) || key (32) || tag (16).
const WRAPPED_LEN: usize = 60;
/// magic 4, version 1, suite 1, frame size 4, message id 32, context_len 2,
/// commitment 32 (`FORMAT.md`, "Sizes").
const FIXED_HEADER_LEN: usize = 76;

static ENVELOPE: LazyLock<Envelope> = LazyLock::new(|| {
    Envelope::new(Keyring::with_primary(LocalKek::generate(KEK_ID).unwrap()).unwrap())
});

/// The length `FORMAT.md` gives for a sealed message, computed from the
/// inputs alone.
fn expected_len(plaintext_len: usize, frame_size: u32, context: &Context) -> usize {
    let context_len: usize = context.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
    let frames = plaintext_len.div_ceil(frame_size as usize).max(1);
    FIXED_HEADER_LEN
        + context_len
        + 1
        + KEK_ID.len()
        + 2
        + WRAPPED_LEN
        + plaintext_len
        + TAG_LEN * frames
}

/// Checks the sealed message's length and header against the inputs.
fn check_sealed(sealed: &[u8], plaintext_len: usize, options: &SealOptions, context: &Context) {
    assert_eq!(
        sealed.len(),
        expected_len(plaintext_len, options.frame_size, context),
        "sealed length for {plaintext_len} bytes in frames of {}",
        options.frame_size
    );
    let (header, header_len) = Header::parse(sealed).unwrap();
    assert_eq!(header.suite(), options.suite);
    assert_eq!(header.frame_size(), options.frame_size);
    assert_eq!(header.context(), context);
    assert_eq!(header.kek_id(), KEK_ID);
    let frames = plaintext_len.div_ceil(options.frame_size as usize).max(1);
    assert_eq!(sealed.len() - header_len, plaintext_len + TAG_LEN * frames);
}

/// A reader that hands out its data in chunks of the given sizes (cycled),
/// with an `Interrupted` error wherever a chunk size is 0.
struct ChunkedReader<'a> {
    data: &'a [u8],
    chunks: Vec<usize>,
    next: usize,
}

impl<'a> ChunkedReader<'a> {
    fn new(data: &'a [u8], chunks: &[usize]) -> Self {
        assert!(chunks.iter().any(|&c| c > 0));
        ChunkedReader {
            data,
            chunks: chunks.to_vec(),
            next: 0,
        }
    }
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = self.chunks[self.next % self.chunks.len()];
        self.next += 1;
        if chunk == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Reads `reader` to its end into buffers of the given sizes (cycled).
fn read_in_pieces(mut reader: impl Read, sizes: &[usize]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; sizes.iter().copied().max().unwrap()];
    for &size in sizes.iter().cycle() {
        match reader.read(&mut buf[..size]) {
            Ok(0) if size > 0 => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) => return Err(Error::from_io(err)),
        }
    }
    unreachable!("sizes is not empty, so the cycle never ends")
}

fn suites() -> impl Strategy<Value = Suite> {
    prop::sample::select(Suite::ALL.to_vec())
}

/// Contexts of up to six pairs: any printable Unicode, empty values, and
/// now and then a long value (still far within the 8 KiB limit).
fn contexts() -> impl Strategy<Value = Context> {
    let value = prop_oneof![
        4 => "\\PC{0,12}",
        1 => "[a-z0-9]{100,600}",
    ];
    prop::collection::btree_map("\\PC{1,10}", value, 0..=6)
        .prop_map(|pairs| Context::from_pairs(pairs).unwrap())
}

/// A frame size of 16 to 300 and a plaintext of 0 to about five frames,
/// with exact multiples of the frame size (and one byte either side) drawn
/// often.
fn frame_size_and_plaintext() -> impl Strategy<Value = (u32, Vec<u8>)> {
    (16u32..=300)
        .prop_flat_map(|fs| {
            let f = fs as usize;
            let len = prop_oneof![
                2 => 0..=5 * f + 1,
                1 => (0..=5usize).prop_map(move |k| k * f),
                1 => (1..=5usize, prop::bool::ANY).prop_map(move |(k, up)| if up { k * f + 1 } else { k * f - 1 }),
            ];
            (Just(fs), len)
        })
        .prop_flat_map(|(fs, len)| (Just(fs), prop::collection::vec(any::<u8>(), len)))
}

/// Chunk sizes for readers and writers: mostly tiny, sometimes larger than
/// a frame; 0 stands for an `Interrupted` error (readers) or an empty write.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![1 => Just(0usize), 6 => 1usize..=40, 2 => 41usize..=700],
        1..12,
    )
    .prop_filter("at least one non-empty chunk", |c| c.iter().any(|&n| n > 0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `seal_to_vec` then `open_to_vec`.
    #[test]
    fn record_round_trip(
        (frame_size, plaintext) in frame_size_and_plaintext(),
        suite in suites(),
        context in contexts(),
    ) {
        let options = SealOptions::new().suite(suite).frame_size(frame_size);
        let sealed = ENVELOPE.seal_to_vec_with(&plaintext, &context, &options).unwrap();
        check_sealed(&sealed, plaintext.len(), &options, &context);
        prop_assert_eq!(ENVELOPE.open_to_vec(&sealed, &context).unwrap(), plaintext);
    }

    /// Streaming `seal_with` from a chunked reader, then streaming `open`
    /// from a chunked reader.
    #[test]
    fn stream_round_trip(
        (frame_size, plaintext) in frame_size_and_plaintext(),
        suite in suites(),
        context in contexts(),
        read_chunks in chunk_sizes(),
        open_chunks in chunk_sizes(),
    ) {
        let options = SealOptions::new().suite(suite).frame_size(frame_size);
        let mut sealed = Vec::new();
        let len = ENVELOPE
            .seal_with(ChunkedReader::new(&plaintext, &read_chunks), &mut sealed, &context, &options)
            .unwrap();
        prop_assert_eq!(len, plaintext.len() as u64);
        check_sealed(&sealed, plaintext.len(), &options, &context);

        let mut opened = Vec::new();
        let len = ENVELOPE
            .open(ChunkedReader::new(&sealed, &open_chunks), &mut opened, &context)
            .unwrap();
        prop_assert_eq!(len, plaintext.len() as u64);
        prop_assert_eq!(opened, plaintext);
    }

    /// `seal_to_vec`, then `open_reader` over a reader of random small
    /// chunks, read into buffers of random sizes.
    #[test]
    fn record_sealed_opens_as_stream(
        (frame_size, plaintext) in frame_size_and_plaintext(),
        suite in suites(),
        context in contexts(),
        in_chunks in chunk_sizes(),
        out_sizes in chunk_sizes(),
    ) {
        let options = SealOptions::new().suite(suite).frame_size(frame_size);
        let sealed = ENVELOPE.seal_to_vec_with(&plaintext, &context, &options).unwrap();
        let reader = ENVELOPE
            .open_reader(ChunkedReader::new(&sealed, &in_chunks), &context)
            .unwrap();
        prop_assert_eq!(read_in_pieces(reader, &out_sizes).unwrap(), plaintext.clone());

        // And through `open` (io::copy) as well.
        let mut opened = Vec::new();
        ENVELOPE.open(ChunkedReader::new(&sealed, &in_chunks), &mut opened, &context).unwrap();
        prop_assert_eq!(opened, plaintext);
    }

    /// `seal_writer` fed by writes of random sizes, then `open_to_vec`.
    #[test]
    fn stream_sealed_opens_as_record(
        (frame_size, plaintext) in frame_size_and_plaintext(),
        suite in suites(),
        context in contexts(),
        write_sizes in chunk_sizes(),
    ) {
        let options = SealOptions::new().suite(suite).frame_size(frame_size);
        let mut writer = ENVELOPE.seal_writer_with(Vec::new(), &context, &options).unwrap();
        let mut rest = plaintext.as_slice();
        let mut i = 0;
        while !rest.is_empty() {
            let n = write_sizes[i % write_sizes.len()].min(rest.len());
            i += 1;
            writer.write_all(&rest[..n]).unwrap();
            rest = &rest[n..];
            if i % 3 == 0 {
                writer.flush().unwrap();
            }
        }
        prop_assert_eq!(writer.plaintext_len(), plaintext.len() as u64);
        let sealed = writer.finish().unwrap();
        check_sealed(&sealed, plaintext.len(), &options, &context);
        prop_assert_eq!(ENVELOPE.open_to_vec(&sealed, &context).unwrap(), plaintext);
    }

    /// Record and stream sealing write the same format: equal lengths, and
    /// (under a fresh message id each) no two sealings share a byte string.
    #[test]
    fn record_and_stream_agree_on_layout(
        (frame_size, plaintext) in frame_size_and_plaintext(),
        suite in suites(),
        context in contexts(),
    ) {
        let options = SealOptions::new().suite(suite).frame_size(frame_size);
        let record = ENVELOPE.seal_to_vec_with(&plaintext, &context, &options).unwrap();
        let mut stream = Vec::new();
        ENVELOPE.seal_with(plaintext.as_slice(), &mut stream, &context, &options).unwrap();
        prop_assert_eq!(record.len(), stream.len());
        prop_assert_ne!(&record, &stream);
        let (a, a_len) = Header::parse(&record).unwrap();
        let (b, b_len) = Header::parse(&stream).unwrap();
        prop_assert_eq!(a_len, b_len);
        prop_assert_ne!(a.message_id(), b.message_id());
        prop_assert_eq!(ENVELOPE.open_to_vec(&stream, &context).unwrap(), plaintext);
    }
}
