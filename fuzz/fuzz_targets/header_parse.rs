//! `Header::parse` of arbitrary bytes.
//!
//! Properties: parsing never panics; a parsed header re-encodes to exactly
//! the bytes it consumed (`to_bytes`, `encoded_len`); parsing from a reader
//! (`Header::read_from`) agrees with parsing a slice and consumes the same
//! bytes; the re-encoding parses back to an equal header; every accessor
//! works.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_envelope::{Header, READ_VERSIONS, Suite};

fuzz_target!(|data: &[u8]| {
    let parsed = Header::parse(data);

    let mut reader = data;
    let read = Header::read_from(&mut reader);
    match (&parsed, &read) {
        (Ok((a, consumed)), Ok(b)) => {
            assert_eq!(a, b, "parse and read_from disagree");
            assert_eq!(data.len() - reader.len(), *consumed, "read_from consumed");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("parse gave {parsed:?} but read_from gave {read:?}"),
    }

    let Ok((header, consumed)) = parsed else {
        return;
    };
    let prefix = data
        .get(..consumed)
        .expect("consumed is at most data.len()");
    let bytes = header.to_bytes();
    assert_eq!(bytes, prefix, "re-encoding differs from the parsed bytes");
    assert_eq!(header.encoded_len(), consumed);

    let (again, again_len) = Header::parse(&bytes).expect("a re-encoded header parses");
    assert_eq!(again, header);
    assert_eq!(again_len, bytes.len());

    assert!(READ_VERSIONS.contains(&header.version()));
    assert_eq!(data.get(4), Some(&header.version()));
    assert!(Suite::ALL.contains(&header.suite()));
    assert_eq!(
        Suite::from_id(header.suite().id()).ok(),
        Some(header.suite())
    );
    assert!(
        (tresor_envelope::MIN_FRAME_SIZE..=tresor_envelope::MAX_FRAME_SIZE)
            .contains(&header.frame_size())
    );
    let _ = header.message_id();
    let _ = header.commitment();
    assert!(tresor_envelope::validate_key_id(header.kek_id()).is_ok());
    assert!(!header.wrapped_dek().is_empty());
    assert!(header.wrapped_dek().len() <= tresor_envelope::MAX_WRAPPED_DEK_LEN);
    let context = header.context();
    assert_eq!(context.iter().count(), context.len());
    assert_eq!(context.is_empty(), context.iter().next().is_none());
    assert!(context.len() <= tresor_envelope::MAX_CONTEXT_ENTRIES);
    for (key, value) in context {
        assert!(!key.is_empty());
        assert_eq!(context.get(key), Some(value));
    }
    // Debug output must not panic either (it is what `tresor inspect` logs).
    let _ = format!("{header:?}");
});
