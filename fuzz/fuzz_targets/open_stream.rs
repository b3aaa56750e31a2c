//! Streaming open of arbitrary bytes delivered in arbitrary read sizes, with
//! `Interrupted` errors, checked against the in-memory `open_to_vec`.
//!
//! Input: a read schedule, then the envelope (see
//! `tresor_fuzz::split_schedule` and `tresor_fuzz::ChunkedReader`).
//!
//! Properties, for each fixed context: `Envelope::open`, an `OpenReader`
//! drained with schedule-sized buffers, and `open_to_vec` agree: all succeed
//! with the same plaintext or all fail with the same error. Likewise the
//! streaming `rewrap` succeeds exactly when `rewrap_to_vec` does and keeps
//! the same frames.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use tresor_envelope::{Context, Envelope, Error, Header};
use tresor_fuzz::ChunkedReader;

fuzz_target!(|data: &[u8]| {
    let Some((schedule, sealed)) = tresor_fuzz::split_schedule(data) else {
        return;
    };
    let envelope = tresor_fuzz::envelope();
    for context in tresor_fuzz::contexts() {
        let in_memory = outcome(envelope.open_to_vec(sealed, context));

        let mut streamed = Vec::new();
        let opened = envelope.open(ChunkedReader::new(sealed, schedule), &mut streamed, context);
        let streamed = outcome(opened.map(|len| {
            assert_eq!(len, streamed.len() as u64, "open's returned length");
            streamed
        }));
        assert_eq!(in_memory, streamed, "open_to_vec and open disagree");

        let drained = outcome(drain(envelope, sealed, schedule, context));
        assert_eq!(in_memory, drained, "open_to_vec and open_reader disagree");
    }

    let in_memory = envelope.rewrap_to_vec(sealed, None);
    let mut streamed = Vec::new();
    let rewrapped = envelope.rewrap(ChunkedReader::new(sealed, schedule), &mut streamed, None);
    match (in_memory, rewrapped) {
        (Ok(in_memory), Ok(len)) => {
            assert_eq!(len, streamed.len() as u64, "rewrap's returned length");
            assert_eq!(frames(&in_memory), frames(&streamed), "rewraps differ");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("rewrap_to_vec gave {a:?} but rewrap gave {b:?}"),
    }
});

/// Opens with `open_reader` and reads with buffers of the schedule's sizes.
fn drain(
    envelope: &Envelope,
    sealed: &[u8],
    schedule: &[u8],
    context: &Context,
) -> tresor_envelope::Result<Vec<u8>> {
    let mut reader = envelope.open_reader(ChunkedReader::new(sealed, schedule), context)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let mut sizes = schedule.iter().map(|&b| usize::from(b).max(1)).cycle();
    loop {
        let size = sizes.next().unwrap_or(buf.len()).min(buf.len());
        let chunk = buf.get_mut(..size).expect("size is at most buf.len()");
        match reader.read(chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                out.extend_from_slice(chunk.get(..n).expect("read returns at most its buffer"))
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Error::from_io(err)),
        }
    }
}

/// A comparable result: the plaintext, or the error's message.
fn outcome(result: tresor_envelope::Result<Vec<u8>>) -> Result<Vec<u8>, String> {
    result.map_err(|err| err.to_string())
}

/// The bytes after the header and key section.
fn frames(sealed: &[u8]) -> &[u8] {
    let (_, len) = Header::parse(sealed).expect("rewrap writes a valid header");
    sealed.get(len..).expect("the header is within the message")
}
