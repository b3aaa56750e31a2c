//! The JSON Canonicalization Scheme (JCS, RFC 8785): one byte string per
//! JSON value, so that a record hashes the same wherever it is produced.
//!
//! The canonical form of a value is its JSON text with:
//!
//! - no whitespace between tokens;
//! - object members sorted by name, comparing names as arrays of UTF-16
//!   code units (section 3.2.3), never by UTF-8 bytes or code points;
//! - strings escaped as section 3.2.2.2 says: `\"`, `\\`, the short forms
//!   `\b \t \n \f \r`, `\u00xx` (lower-case hex) for the other control
//!   characters below U+0020, and every other character as itself (UTF-8);
//! - numbers as IEEE-754 doubles written as ECMAScript's
//!   `Number.prototype.toString` writes them (section 3.2.2.3): shortest
//!   round-tripping digits, `1e+21` from 10²¹ up, `1e-7` below 10⁻⁶, `-0`
//!   written `0`. Integers beyond 2⁵³ are rounded to the nearest double, as
//!   I-JSON (RFC 7493) requires of interoperable numbers.
//!
//! NaN and infinities cannot occur: JSON text has no literal for them, and a
//! [`serde_json::Value`] cannot hold one. [`canonicalize_str`] parses the
//! text itself so it can refuse what RFC 8785 section 3.1 refuses (I-JSON):
//! duplicate member names (serde_json would silently keep the last), lone
//! surrogates in `\u` escapes, numbers out of the double range, and trailing
//! text.
//!
//! ```
//! let canonical = tresor_audit::jcs::canonicalize_str(r#"{ "b": 1.50, "a": [1E2, "\u00e9"] }"#)?;
//! assert_eq!(canonical, "{\"a\":[100,\"é\"],\"b\":1.5}".as_bytes());
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// Deepest nesting of arrays and objects accepted (serde_json's own parser
/// stops at 128 too), so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

fn error(reason: impl Into<String>) -> Error {
    Error::Canonicalization {
        reason: reason.into(),
    }
}

/// The RFC 8785 canonical form of `value`.
///
/// # Errors
///
/// [`Error::Canonicalization`] if `value` nests deeper than 128 levels.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_value(&mut out, value, 0)?;
    Ok(out)
}

/// Parses `json` strictly (see [`parse`]) and returns its canonical form.
///
/// # Errors
///
/// [`Error::Canonicalization`] if `json` is not valid I-JSON: a syntax
/// error, a duplicate member name, a lone surrogate, a number beyond the
/// double range, text after the value, nesting deeper than 128 levels.
pub fn canonicalize_str(json: &str) -> Result<Vec<u8>> {
    canonicalize(&parse(json)?)
}

/// Parses JSON text strictly, as RFC 8785 requires of its input: like
/// `serde_json::from_str::<Value>`, but a duplicate member name (compared
/// after unescaping) is an error instead of silently replacing the first,
/// and numbers are read as doubles (see [`normalize`]).
///
/// # Errors
///
/// As [`canonicalize_str`].
pub fn parse(json: &str) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_str(json);
    let Strict(value) = Strict::deserialize(&mut de).map_err(|e| error(e.to_string()))?;
    de.end().map_err(|e| error(e.to_string()))?;
    Ok(value)
}

/// A [`Value`] deserialised without accepting duplicate member names.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.visit_f64(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        number(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member name {key:?}"
                )));
            }
            let Strict(value) = map.next_value()?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

/// 2^53: integers up to this magnitude are exact doubles.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// The [`Number`] for a double, as [`parse`] and [`normalize`] make them:
/// an integral value within ±2⁵³ as an integer, anything else as a double.
fn number(f: f64) -> Option<Number> {
    if f.fract() == 0.0 && f.abs() <= EXACT {
        // Exact: |f| <= 2^53 fits i64, and integral.
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        Some(Number::from(i))
    } else {
        Number::from_f64(f)
    }
}

/// Rewrites every number in `value` to the double RFC 8785 gives it, in the
/// form [`parse`] produces (integers within ±2⁵³ as integers): two values
/// with the same canonical form are then equal as [`Value`]s.
pub fn normalize(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = as_double(n)
                && let Some(m) = number(f)
            {
                *n = m;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(members) => members.values_mut().for_each(normalize),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// The IEEE-754 double a JSON number stands for (round to nearest even).
fn as_double(n: &Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        Some(i as f64)
    } else if let Some(u) = n.as_u64() {
        Some(u as f64)
    } else {
        n.as_f64()
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            let depth = deeper(depth)?;
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, depth)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let depth = deeper(depth)?;
            let mut sorted: Vec<(Vec<u16>, &String, &Value)> = members
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), k, v))
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push(b'{');
            for (i, (_, key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item, depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn deeper(depth: usize) -> Result<usize> {
    if depth >= MAX_DEPTH {
        return Err(error(format!("nesting deeper than {MAX_DEPTH} levels")));
    }
    Ok(depth + 1)
}

/// Section 3.2.2.3: the double's ECMAScript `Number.prototype.toString`.
fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<()> {
    // i64 and u64 convert with round-to-nearest-even, as ECMAScript reads
    // integer literals; without `arbitrary_precision` that is every case.
    let f = as_double(n).ok_or_else(|| error(format!("number {n} is not an IEEE-754 double")))?;
    out.extend_from_slice(format_number(f)?.as_bytes());
    Ok(())
}

/// The RFC 8785 text of a double: ECMAScript's `Number.prototype.toString`,
/// with `-0` written `0`.
///
/// # Errors
///
/// [`Error::Canonicalization`] for NaN and the infinities, which JSON
/// cannot express.
pub fn format_number(f: f64) -> Result<String> {
    if !f.is_finite() {
        return Err(error("NaN and infinities have no JSON form"));
    }
    if f == 0.0 {
        // Both zeros; ECMAScript writes -0 as "0".
        return Ok("0".to_owned());
    }
    let mut buf = ryu_js::Buffer::new();
    Ok(buf.format_finite(f).to_owned())
}

/// Section 3.2.2.2: quotes, backslash and control characters escaped,
/// everything else (including U+007F and beyond) as its UTF-8 bytes.
fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    // Runs of bytes that need no escape are copied whole. UTF-8 multi-byte
    // sequences never contain bytes below 0x80, so a run never splits a
    // character.
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run_start..i).unwrap_or_default());
        run_start = i + 1;
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0'));
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(bytes.get(run_start..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zeros_and_extremes() {
        assert_eq!(format_number(-0.0).unwrap(), "0");
        assert_eq!(format_number(1e21).unwrap(), "1e+21");
        assert!(format_number(f64::NAN).is_err());
        assert!(format_number(f64::NEG_INFINITY).is_err());
    }
}
