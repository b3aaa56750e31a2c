//! Frames: the STREAM construction over `Read` and `Write`.
//!
//! A message's plaintext is cut into frames of `frame_size` bytes; the last
//! frame holds the rest (1 to `frame_size` bytes, or 0 only when the whole
//! message is empty). Frame `i` is sealed with nonce
//! `0x000000 || i (u64 big-endian) || last (0x00 or 0x01)`, so dropping,
//! reordering, duplicating or appending frames, or cutting the stream at a
//! frame boundary, makes a frame fail to authenticate. Every frame's
//! additional data is the header's [`frame_aad`](crate::Header): the prefix
//! from format version 3 on, nothing before.

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use crate::suite::{FrameCipher, TAG_LEN, frame_nonce};
use crate::{Error, Result};

/// Seals `buf[start..]` in place as frame `counter`, with `aad` as its
/// additional data, and appends its tag.
pub(crate) fn seal_frame(
    cipher: &FrameCipher,
    counter: u64,
    last: bool,
    aad: &[u8],
    buf: &mut Vec<u8>,
    start: usize,
) -> Result<()> {
    let frame = buf.get_mut(start..).ok_or(Error::Decrypt)?;
    let tag = cipher.seal_in_place(frame_nonce(counter, last), aad, frame)?;
    buf.extend_from_slice(&tag);
    Ok(())
}

/// Seals `buf[start..]` in place as frame `counter` of a message written
/// in one buffer, whose additional data is `buf[..aad_len]` (its prefix),
/// and appends its tag.
pub(crate) fn seal_frame_after_header(
    cipher: &FrameCipher,
    counter: u64,
    last: bool,
    aad_len: usize,
    buf: &mut Vec<u8>,
    start: usize,
) -> Result<()> {
    if aad_len > start || start > buf.len() {
        return Err(Error::Decrypt);
    }
    let (head, frame) = buf.split_at_mut(start);
    let aad = head.get(..aad_len).ok_or(Error::Decrypt)?;
    let tag = cipher.seal_in_place(frame_nonce(counter, last), aad, frame)?;
    buf.extend_from_slice(&tag);
    Ok(())
}

/// Opens frame `counter` (ciphertext and tag) in place and returns the
/// plaintext's length. An empty last frame is valid only as the first frame.
pub(crate) fn open_frame(
    cipher: &FrameCipher,
    counter: u64,
    last: bool,
    aad: &[u8],
    frame: &mut [u8],
) -> Result<usize> {
    if last && counter > 0 && frame.len() == TAG_LEN {
        return Err(Error::Decrypt);
    }
    cipher.open_in_place(frame_nonce(counter, last), aad, frame)
}

/// Splits a complete frame section into frames and opens them, appending the
/// plaintext to `out`. On failure `out` may hold some plaintext; the caller
/// wipes it.
pub(crate) fn open_frames(
    cipher: &FrameCipher,
    frame_size: usize,
    aad: &[u8],
    mut body: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let frame_len = frame_size + TAG_LEN;
    let mut counter = 0u64;
    loop {
        let last = body.len() <= frame_len;
        let (frame, rest) = body.split_at(if last { body.len() } else { frame_len });
        let start = out.len();
        out.extend_from_slice(frame);
        let frame = out.get_mut(start..).ok_or(Error::Decrypt)?;
        let plain = open_frame(cipher, counter, last, aad, frame)?;
        out.truncate(start + plain);
        if last {
            return Ok(());
        }
        body = rest;
        counter = counter.checked_add(1).ok_or(Error::Decrypt)?;
    }
}

/// A writer that seals everything written to it into frames.
///
/// Made by [`Envelope::seal_writer`](crate::Envelope::seal_writer), which has
/// already written the header. Memory use is one frame, whatever the size of
/// the stream. **Call [`finish`](Self::finish)**: it seals the last frame;
/// a stream dropped without it is truncated and will not open.
pub struct SealWriter<W: Write> {
    inner: W,
    cipher: FrameCipher,
    aad: Vec<u8>,
    buf: Zeroizing<Vec<u8>>,
    frame_size: usize,
    counter: u64,
    plaintext_len: u64,
}

impl<W: Write> SealWriter<W> {
    pub(crate) fn new(inner: W, cipher: FrameCipher, aad: Vec<u8>, frame_size: usize) -> Self {
        SealWriter {
            inner,
            cipher,
            aad,
            buf: Zeroizing::new(Vec::with_capacity(frame_size + TAG_LEN)),
            frame_size,
            counter: 0,
            plaintext_len: 0,
        }
    }

    /// Seals the last frame, flushes, and returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        self.write_frame(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// Plaintext bytes accepted so far.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    fn write_frame(&mut self, last: bool) -> Result<()> {
        seal_frame(
            &self.cipher,
            self.counter,
            last,
            &self.aad,
            &mut self.buf,
            0,
        )?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.counter = self.counter.checked_add(1).ok_or(Error::Decrypt)?;
        Ok(())
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full buffer is sealed only once more data arrives: until then it
        // may still be the last frame.
        if self.buf.len() == self.frame_size {
            self.write_frame(false).map_err(Error::into_io)?;
        }
        let n = data.len().min(self.frame_size - self.buf.len());
        self.buf
            .extend_from_slice(data.get(..n).unwrap_or_default());
        self.plaintext_len += n as u64;
        Ok(n)
    }

    /// Flushes the inner writer. The frame being filled stays buffered: it
    /// can only be sealed once it is full or the stream is finished.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Frames,
    Done,
    FailedDecrypt,
    FailedIo,
}

/// A reader that opens a sealed stream frame by frame.
///
/// Made by [`Envelope::open_reader`](crate::Envelope::open_reader), which has
/// already read the header and checked the key commitment. It returns a
/// frame's plaintext only after that frame authenticates, and end of file
/// only after the last frame does; a truncated stream is an error, never a
/// short read. Data read before an error came from authentic frames, but the
/// stream as a whole is proven complete only by reaching end of file: treat
/// the output as provisional until then (the `tresor` CLI writes to a
/// temporary file and renames it only on success).
pub struct OpenReader<R: Read> {
    inner: R,
    cipher: FrameCipher,
    aad: Vec<u8>,
    frame_len: usize,
    /// One frame plus one byte of look-ahead (to tell the last frame).
    buf: Zeroizing<Vec<u8>>,
    carry: bool,
    pos: usize,
    end: usize,
    counter: u64,
    state: ReadState,
}

impl<R: Read> OpenReader<R> {
    pub(crate) fn new(inner: R, cipher: FrameCipher, aad: Vec<u8>, frame_size: usize) -> Self {
        let frame_len = frame_size + TAG_LEN;
        OpenReader {
            inner,
            cipher,
            aad,
            frame_len,
            buf: Zeroizing::new(vec![0u8; frame_len + 1]),
            carry: false,
            pos: 0,
            end: 0,
            counter: 0,
            state: ReadState::Frames,
        }
    }

    /// The inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn next_frame(&mut self) -> io::Result<()> {
        let mut filled = 0;
        if self.carry {
            let carried = *self
                .buf
                .get(self.frame_len)
                .expect("buffer holds a frame and one byte");
            *self.buf.first_mut().expect("buffer is not empty") = carried;
            filled = 1;
        }
        while filled < self.buf.len() {
            let spare = self.buf.get_mut(filled..).unwrap_or_default();
            match self.inner.read(spare) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    self.state = ReadState::FailedIo;
                    return Err(err);
                }
            }
        }
        let last = filled <= self.frame_len;
        self.carry = !last;
        let frame_end = filled.min(self.frame_len);
        let frame = self.buf.get_mut(..frame_end).unwrap_or_default();
        match open_frame(&self.cipher, self.counter, last, &self.aad, frame) {
            Ok(plain) => {
                self.pos = 0;
                self.end = plain;
                self.counter = self.counter.wrapping_add(1);
                if last {
                    self.state = ReadState::Done;
                }
                Ok(())
            }
            Err(err) => {
                self.state = ReadState::FailedDecrypt;
                Err(err.into_io())
            }
        }
    }
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.end {
                let available = self.buf.get(self.pos..self.end).unwrap_or_default();
                let n = available.len().min(out.len());
                out.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(available.get(..n).unwrap_or_default());
                self.pos += n;
                return Ok(n);
            }
            match self.state {
                ReadState::Frames => self.next_frame()?,
                ReadState::Done => return Ok(0),
                ReadState::FailedDecrypt => return Err(Error::Decrypt.into_io()),
                ReadState::FailedIo => {
                    return Err(io::Error::other("the underlying reader failed earlier"));
                }
            }
        }
    }
}
