//! `Verifier::verify_request` / `verify_response` of arbitrary raw HTTP/1.1
//! messages, with the fixed RFC 9421 test keys of `tresor_fuzz::httpsig`
//! (Ed25519, HMAC-SHA256, ECDSA P-256 by their RFC key ids), a fixed clock
//! and a lenient policy, so that fuzzed messages reach the signature check.
//!
//! Input: a raw HTTP/1.1 message as `tresor_cli::rawhttp::RawMessage::parse`
//! reads it (body of `Content-Length` bytes). A status line makes it a
//! response, verified without a related request.
//!
//! Properties: nothing panics; verifying twice gives the same answer; a
//! success is genuine: the signature verifies with `ring` (or a recomputed
//! HMAC) over the recomputed base under the named key, `expires` has not
//! passed, and a checked body matches its `Content-Digest`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_fuzz::httpsig::{RawMessage, verify_and_check};

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = RawMessage::parse(data) {
        let _ = verify_and_check(&raw.to_http());
    }
});
