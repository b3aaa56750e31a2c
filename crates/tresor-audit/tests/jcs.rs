//! RFC 8785 (JSON Canonicalization Scheme): the RFC's own examples (sections
//! 3.2.2, 3.2.3 and the Appendix B number table), I-JSON rejections, and
//! properties (canonical bytes do not depend on member order or whitespace;
//! canonicalisation is idempotent).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use proptest::prelude::*;
use serde_json::{Value, json};
use tresor_audit::jcs::{canonicalize, canonicalize_str, format_number, parse};

fn canon(json: &str) -> String {
    String::from_utf8(canonicalize_str(json).unwrap()).unwrap()
}

/// RFC 8785 section 3.2.2 (and 3.2.4): the sample input and its canonical form.
#[test]
fn rfc8785_section_3_2_2_sample() {
    let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let want = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
                \"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(canon(input), want);
    // The same through a serde_json::Value.
    let value: Value = serde_json::from_str(input).unwrap();
    assert_eq!(canonicalize(&value).unwrap(), want.as_bytes());
}

/// RFC 8785 section 3.2.3: member names sorted by UTF-16 code units.
#[test]
fn rfc8785_section_3_2_3_sorting() {
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canon(input), want);
}

/// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
const APPENDIX_B: [(u64, &str); 24] = [
    (0x0000000000000000, "0"),
    (0x8000000000000000, "0"),
    (0x0000000000000001, "5e-324"),
    (0x8000000000000001, "-5e-324"),
    (0x7fefffffffffffff, "1.7976931348623157e+308"),
    (0xffefffffffffffff, "-1.7976931348623157e+308"),
    (0x4340000000000000, "9007199254740992"),
    (0xc340000000000000, "-9007199254740992"),
    (0x4430000000000000, "295147905179352830000"),
    (0x44b52d02c7e14af5, "9.999999999999997e+22"),
    (0x44b52d02c7e14af6, "1e+23"),
    (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
    (0x444b1ae4d6e2ef4e, "999999999999999700000"),
    (0x444b1ae4d6e2ef4f, "999999999999999900000"),
    (0x444b1ae4d6e2ef50, "1e+21"),
    (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
    (0x3eb0c6f7a0b5ed8d, "0.000001"),
    (0x41b3de4355555553, "333333333.3333332"),
    (0x41b3de4355555554, "333333333.33333325"),
    (0x41b3de4355555555, "333333333.3333333"),
    (0x41b3de4355555556, "333333333.3333334"),
    (0x41b3de4355555557, "333333333.33333343"),
    (0xbecbf647612f3696, "-0.0000033333333333333333"),
    (0x43143ff3c1cb0959, "1424953923781206.2"),
];

#[test]
fn rfc8785_appendix_b_numbers() {
    for (bits, want) in APPENDIX_B {
        let f = f64::from_bits(bits);
        assert_eq!(format_number(f).unwrap(), want, "{bits:016x}");
        // Through a Value, and parsed back from its own canonical text.
        let v = Value::from(f);
        assert_eq!(canonicalize(&v).unwrap(), want.as_bytes(), "{bits:016x}");
        assert_eq!(canon(want), want, "{bits:016x} reparsed");
        // And through the array context the parser sees.
        assert_eq!(canon(&format!("[{want}]")), format!("[{want}]"));
    }
    // The table's last rows: NaN and Infinity have no JSON form.
    assert!(format_number(f64::from_bits(0x7fffffffffffffff)).is_err());
    assert!(format_number(f64::from_bits(0x7ff0000000000000)).is_err());
    assert!(serde_json::Number::from_f64(f64::NAN).is_none());
}

#[test]
fn number_spellings() {
    for (input, want) in [
        ("-0", "0"),
        ("-0.0", "0"),
        ("0e10", "0"),
        ("1.0", "1"),
        ("100", "100"),
        ("1E2", "100"),
        ("-1.5e-7", "-1.5e-7"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ("9007199254740993", "9007199254740992"),
        ("18446744073709551615", "18446744073709552000"),
        ("-9223372036854775808", "-9223372036854776000"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1e-7"),
    ] {
        assert_eq!(canon(input), want, "{input}");
    }
    assert_eq!(
        canonicalize(&json!(u64::MAX)).unwrap(),
        b"18446744073709552000"
    );
    assert_eq!(
        canonicalize(&json!(i64::MIN)).unwrap(),
        b"-9223372036854776000"
    );
}

#[test]
fn string_escapes() {
    let all_controls: String = (0u8..0x20).map(char::from).collect();
    let v = json!(format!("{all_controls}\"\\/\u{7f}\u{2028}é😀"));
    let got = String::from_utf8(canonicalize(&v).unwrap()).unwrap();
    let want = "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\
                \\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\
                \\\"\\\\/\u{7f}\u{2028}é😀\"";
    assert_eq!(got, want);
}

#[test]
fn rejects_what_i_json_forbids() {
    for bad in [
        r#"{"a": 1, "a": 2}"#,
        r#"{"a": 1, "\u0061": 2}"#,
        r#"{"x": {"k": 1, "k": 1}}"#,
        r#"[{"a": 1, "b": 2, "a": 3}]"#,
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\x41""#,
        r#""\u12""#,
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1 2",
        "{} x",
        "\"unterminated",
        "\"tab\tin string\"",
        "",
        "'single'",
    ] {
        assert!(canonicalize_str(bad).is_err(), "accepted {bad:?}");
    }
    let deep = "[".repeat(200) + &"]".repeat(200);
    assert!(canonicalize_str(&deep).is_err());
    // Built by code, beyond what the parser would accept: refused, not a stack overflow.
    let mut v = json!(null);
    for _ in 0..200 {
        v = json!([v]);
    }
    assert!(canonicalize(&v).is_err());
    // A surrogate pair is one character, and fine.
    assert_eq!(canon(r#""\ud83d\ude00""#), "\"😀\"");
}

#[test]
fn parse_keeps_values() {
    let v = parse(r#" { "a" : [ true , null , "x" ] } "#).unwrap();
    assert_eq!(v, json!({"a": [true, null, "x"]}));
}

// --- Properties ------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "[\\x00-\\x7f]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Writes `v` as JSON with members in the order `perm` gives and with
/// arbitrary whitespace, using serde_json's own escaping (not ours).
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

fn scramble(v: &Value, seed: &mut u64, out: &mut String) {
    let ws = [" ", "\n", "\t", "\r\n  ", ""];
    let pad = |n: u64| ws[(n % ws.len() as u64) as usize];
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(pad(next(seed)));
                scramble(item, seed, out);
            }
            out.push_str(pad(*seed));
            out.push(']');
        }
        Value::Object(members) => {
            let mut entries: Vec<_> = members.iter().collect();
            // Fisher-Yates with the seeded generator.
            for i in (1..entries.len()).rev() {
                let j = (next(seed) % (i as u64 + 1)) as usize;
                entries.swap(i, j);
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(pad(next(seed)));
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(pad(next(seed)));
                out.push(':');
                out.push_str(pad(next(seed)));
                scramble(item, seed, out);
            }
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

proptest! {
    #[test]
    fn stable_under_reordering_and_whitespace(v in arb_json(), seed in any::<u64>()) {
        let want = canonicalize(&v).unwrap();
        let mut s = seed;
        let mut text = String::new();
        scramble(&v, &mut s, &mut text);
        prop_assert_eq!(canonicalize_str(&text).unwrap(), want);
    }

    #[test]
    fn idempotent(v in arb_json()) {
        let once = canonicalize(&v).unwrap();
        let text = std::str::from_utf8(&once).unwrap();
        prop_assert_eq!(canonicalize_str(text).unwrap(), once.clone());
        // And the canonical text is JSON that means the same value.
        let back: Value = serde_json::from_str(text).unwrap();
        prop_assert_eq!(canonicalize(&back).unwrap(), once);
    }

    #[test]
    fn numbers_round_trip(bits in any::<u64>()) {
        let f = f64::from_bits(bits);
        prop_assume!(f.is_finite());
        let text = format_number(f).unwrap();
        let back: f64 = text.parse().unwrap();
        prop_assert!(back == f, "{} -> {} -> {}", f, text, back);
        // Our strict parser reads it back to the same double.
        prop_assert_eq!(String::from_utf8(canonicalize_str(&text).unwrap()).unwrap(), text);
    }
}
