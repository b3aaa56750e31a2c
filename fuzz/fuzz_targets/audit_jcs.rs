//! RFC 8785 canonicalisation (`jcs::canonicalize_str`) and record parsing
//! (`AuditRecord::from_json`) of arbitrary text.
//!
//! Input: bytes, read as UTF-8 (invalid sequences replaced).
//!
//! Properties: nothing panics; the canonical form is a fixed point
//! (canonicalising it again gives it back); it is the same JSON value as
//! the input, as `serde_json` reads both, with every number compared as the
//! IEEE-754 double it stands for; `jcs::canonicalize` of `serde_json`'s
//! reading of the input gives the same bytes; and it has no whitespace
//! outside strings. A record that parses has canonical bytes that
//! `AuditRecord::from_canonical` reads back to an equal record, and that
//! are their own canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tresor_audit::{AuditRecord, jcs};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    check_canonical(text);
    check_record(text);
});

fn check_canonical(text: &str) {
    let Ok(canonical) = jcs::canonicalize_str(text) else {
        return;
    };
    let canonical_text = std::str::from_utf8(&canonical).expect("canonical JSON is UTF-8");
    let again = jcs::canonicalize_str(canonical_text).expect("canonical JSON canonicalises");
    assert_eq!(
        again, canonical,
        "canonicalisation is not idempotent on {text:?}"
    );

    // serde_json keeps the last of duplicate names; canonicalize_str
    // accepted the text, so there are none.
    let input: Value = serde_json::from_str(text).expect("serde_json reads what jcs accepts");
    let output: Value =
        serde_json::from_str(canonical_text).expect("serde_json reads the canonical form");
    assert!(
        same_value(&input, &output),
        "canonical form {canonical_text:?} differs from input {text:?}"
    );
    assert_eq!(
        jcs::canonicalize(&input).expect("the value nests at most 128 deep"),
        canonical,
        "canonicalize and canonicalize_str disagree"
    );
    assert!(
        no_whitespace_outside_strings(&canonical),
        "whitespace in {canonical_text:?}"
    );
}

/// Equality of JSON values with numbers compared as doubles (`-0 == 0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (as_double(x), as_double(y)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// The double a number stands for, integers rounded to nearest (as
/// ECMAScript reads integer literals).
fn as_double(n: &serde_json::Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        Some(i as f64)
    } else if let Some(u) = n.as_u64() {
        Some(u as f64)
    } else {
        n.as_f64()
    }
}

fn no_whitespace_outside_strings(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b.is_ascii_whitespace() {
            return false;
        }
    }
    !in_string
}

fn check_record(text: &str) {
    let Ok(record) = AuditRecord::from_json(text) else {
        return;
    };
    let bytes = record
        .canonical_bytes()
        .expect("a parsed record canonicalises");
    let back = AuditRecord::from_canonical(&bytes).expect("a record's canonical bytes parse");
    assert_eq!(back, record, "canonical bytes read back to another record");
    let text = std::str::from_utf8(&bytes).expect("canonical JSON is UTF-8");
    assert_eq!(
        jcs::canonicalize_str(text).expect("canonical bytes are JSON"),
        bytes
    );
    assert_eq!(
        record.leaf_hash().expect("canonicalises"),
        tresor_audit::merkle::leaf_hash(&bytes)
    );
}
