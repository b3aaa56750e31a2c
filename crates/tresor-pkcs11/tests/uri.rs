//! The RFC 7512 URI parser: the RFC's own examples, what this crate
//! refuses and why, bad input that must neither panic nor leak a value, and
//! parse → display → parse round trips.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::Path;

use proptest::prelude::*;
use tresor_pkcs11::{Error, LibraryVersion, MAX_URI_LEN, ObjectType, PinSource, Pkcs11Uri};

fn parse(text: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
}

fn refused(text: &str) -> String {
    match Pkcs11Uri::parse(text) {
        Ok(uri) => panic!("{text} parsed as {uri:?}"),
        Err(err) => err.to_string(),
    }
}

/// RFC 7512 section 3's examples that this crate accepts as they are.
#[test]
fn rfc7512_examples() {
    assert_eq!(parse("pkcs11:"), Pkcs11Uri::new());

    let uri = parse("pkcs11:object=my-pubkey;type=public");
    assert_eq!(uri.object(), Some("my-pubkey"));
    assert_eq!(uri.object_type(), Some(ObjectType::Public));

    let uri = parse("pkcs11:object=my-key;type=private?pin-source=file:/etc/token");
    assert_eq!(
        uri.pin_source(),
        Some(&PinSource::File("/etc/token".into()))
    );

    let uri = parse(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;\
         model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=\
         ?pin-source=file:/etc/token_pin",
    );
    assert_eq!(uri.token(), Some("The Software PKCS#11 Softtoken"));
    assert_eq!(uri.manufacturer(), Some("Snake Oil, Inc."));
    assert_eq!(uri.model(), Some("1.0"));
    assert_eq!(uri.serial(), Some(""));
    assert_eq!(uri.object_type(), Some(ObjectType::Cert));
    assert_eq!(
        uri.id(),
        Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
    );

    let uri = parse("pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1");
    assert_eq!(uri.module_path(), Some(Path::new("/mnt/libmypkcs11.so.1")));

    let uri = parse("pkcs11:slot-description=Sun%20Metaslot");
    assert_eq!(uri.slot_description(), Some("Sun Metaslot"));

    let uri = parse(
        "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;\
         library-description=Soft%20Token%20Library;library-version=1.23",
    );
    assert_eq!(uri.library_manufacturer(), Some("Snake Oil, Inc."));
    assert_eq!(uri.library_description(), Some("Soft Token Library"));
    assert_eq!(
        uri.library_version(),
        Some(LibraryVersion {
            major: 1,
            minor: 23
        })
    );

    let uri = parse(
        "pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;\
         id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
    );
    assert_eq!(uri.token(), Some("My token% created by Joe"));
    assert_eq!(
        uri.library_version(),
        Some(LibraryVersion { major: 3, minor: 0 })
    );
    assert_eq!(
        uri.id(),
        Some(&[1, 2, 3, 0xba, 0xdd, 0xca, 0xfe, 4, 5, 6][..])
    );

    let uri = parse(
        "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
    );
    assert_eq!(uri.token(), Some("A name with a substring %;"));

    let uri = parse(
        "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
    );
    assert_eq!(uri.token(), Some("Name with a small A with acute: á"));
}

/// RFC 7512 section 3's examples that this crate refuses on purpose.
#[test]
fn rfc7512_examples_this_crate_refuses() {
    // A PIN in a URI.
    assert!(matches!(
        Pkcs11Uri::parse(
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin"
        ),
        Err(Error::PinValueRefused)
    ));
    // A module found by name alone: this crate never searches for modules.
    let err = refused("pkcs11:object=my-sign-key;type=private?module-name=mypkcs11");
    assert!(err.contains("module-name without module-path"), "{err}");
    // Vendor attributes without the `x-` prefix.
    let err = refused(
        "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b",
    );
    assert!(err.contains("unknown path attribute vendor-aaa"), "{err}");
    // ... which the `x-` prefix makes acceptable.
    let uri = parse(
        "pkcs11:token=my-token;object=my-certificate;type=cert;x-aaa=value-a?pin-source=file:/etc/token_pin&x-bbb=value-b&x-bbb=2",
    );
    assert_eq!(
        uri.vendor_path_attributes().collect::<Vec<_>>(),
        [("x-aaa", &b"value-a"[..])]
    );
    assert_eq!(
        uri.vendor_query_attributes().collect::<Vec<_>>(),
        [("x-bbb", &b"value-b"[..]), ("x-bbb", &b"2"[..])]
    );
}

#[test]
fn the_tresor_example() {
    let uri = parse(
        "pkcs11:token=tresor;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin",
    );
    assert_eq!(uri.token(), Some("tresor"));
    assert_eq!(uri.object(), Some("kek-2026"));
    assert_eq!(
        uri.module_path(),
        Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
    );
    assert_eq!(
        uri.pin_source().and_then(PinSource::path),
        Some(Path::new("/etc/tresor/hsm.pin"))
    );
    assert_eq!(
        uri.to_string(),
        "pkcs11:token=tresor;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin"
    );
    assert_eq!(uri.token_description(), "token=tresor");

    let env = parse("pkcs11:token=tresor?pin-source=env:TRESOR_HSM_PIN&module-path=/m.so");
    assert_eq!(
        env.pin_source(),
        Some(&PinSource::Env("TRESOR_HSM_PIN".into()))
    );
    assert_eq!(
        env.to_string(),
        "pkcs11:token=tresor?module-path=/m.so&pin-source=env:TRESOR_HSM_PIN"
    );
}

#[test]
fn a_pin_value_is_refused_wherever_it_is_and_never_quoted() {
    for text in [
        "pkcs11:token=t?pin-value=S3CRET-PIN",
        "pkcs11:token=t;pin-value=S3CRET-PIN",
        "pkcs11:pin-value=S3CRET-PIN",
        "pkcs11:?pin-source=file:/p&pin-value=S3CRET-PIN",
        "pkcs11:?pin-value=",
    ] {
        let err = Pkcs11Uri::parse(text).unwrap_err();
        assert!(matches!(err, Error::PinValueRefused), "{text}: {err}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("S3CRET"), "{shown}");
        assert!(
            shown.contains("pin-source"),
            "the error says what to do: {shown}"
        );
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let cases = [
        ("", "does not start with `pkcs11:`"),
        ("pkcs12:token=a", "does not start with `pkcs11:`"),
        ("pkcs11:token=a#frag", "no fragment"),
        ("pkcs11:token=a;token=b", "token appears more than once"),
        ("pkcs11:x-a=1;x-a=2", "x-a appears more than once"),
        (
            "pkcs11:?module-path=/a&module-path=/b",
            "module-path appears more than once",
        ),
        ("pkcs11:token=a;;object=b", "empty attribute"),
        ("pkcs11:token=a;", "empty attribute"),
        ("pkcs11:token", "has no `=`"),
        ("pkcs11:=a", "invalid attribute name"),
        ("pkcs11:to ken=a", "invalid attribute name"),
        ("pkcs11:x-=a", "no name after `x-`"),
        ("pkcs11:objet=a", "unknown path attribute objet"),
        ("pkcs11:TOKEN=a", "unknown path attribute TOKEN"),
        (
            "pkcs11:?pin-sorce=file:/p",
            "unknown query attribute pin-sorce",
        ),
        ("pkcs11:?token=a", "token is a path attribute"),
        ("pkcs11:module-path=/a", "module-path is a query attribute"),
        ("pkcs11:token=a%2", "bad percent-encoding"),
        ("pkcs11:token=a%g0", "bad percent-encoding"),
        ("pkcs11:token=a b", "must be percent-encoded"),
        ("pkcs11:token=a/b", "must be percent-encoded"),
        ("pkcs11:token=é", "must be percent-encoded"),
        ("pkcs11:?x-a=a&b", "has no `=`"),
        ("pkcs11:token=%FF", "token is not UTF-8"),
        ("pkcs11:type=secret%2Dkey", "type is not one of"),
        ("pkcs11:slot-id=", "slot-id is not a decimal number"),
        ("pkcs11:slot-id=-1", "slot-id is not a decimal number"),
        (
            "pkcs11:slot-id=18446744073709551616",
            "slot-id is not a decimal number",
        ),
        ("pkcs11:slot-id=%31", "slot-id is not a decimal number"),
        (
            "pkcs11:library-version=1.",
            "library-version is not MAJOR[.MINOR]",
        ),
        (
            "pkcs11:library-version=256",
            "library-version is not MAJOR[.MINOR]",
        ),
        (
            "pkcs11:library-version=1.2.3",
            "library-version is not MAJOR[.MINOR]",
        ),
        ("pkcs11:type=secret", "type is not one of"),
        ("pkcs11:type=Cert", "type is not one of"),
        (
            "pkcs11:?module-path=lib/softhsm2.so",
            "module-path must be an absolute path",
        ),
        (
            "pkcs11:?module-path=/lib&module-name=a/b",
            "module-name is a file name",
        ),
        ("pkcs11:?pin-source=hsm.pin", "unsupported pin-source"),
        ("pkcs11:?pin-source=file:hsm.pin", "absolute"),
        ("pkcs11:?pin-source=file://host/hsm.pin", "with a host"),
        ("pkcs11:?pin-source=env:", "variable name"),
    ];
    for (text, expected) in cases {
        let err = refused(text);
        assert!(
            err.contains(expected),
            "{text}: {err} (expected {expected:?})"
        );
        assert!(err.starts_with("invalid PKCS#11 URI: "), "{err}");
    }
    let long = format!("pkcs11:object={}", "a".repeat(MAX_URI_LEN));
    assert!(refused(&long).contains("longer than 4096 bytes"));
}

#[test]
fn errors_never_quote_values() {
    for text in [
        "pkcs11:token=S3CRET%zz",
        "pkcs11:object=S3CRET value",
        "pkcs11:?pin-source=S3CRET",
        "pkcs11:?pin-source=file:S3CRET",
        "pkcs11:type=S3CRET",
        "pkcs11:slot-id=S3CRET",
        "pkcs11:library-version=S3CRET",
        "pkcs11:S3CRET",
        "pkcs11:?S3CRET",
    ] {
        let err = refused(text);
        assert!(!err.contains("S3CRET"), "{text}: {err}");
    }
}

#[test]
fn the_scheme_is_case_insensitive_and_names_are_not() {
    assert_eq!(parse("PKCS11:token=a").token(), Some("a"));
    assert_eq!(parse("Pkcs11:token=a").token(), Some("a"));
}

#[test]
fn builders_validate() {
    let uri = Pkcs11Uri::new()
        .with_token("tresor")
        .with_object("kek 2026")
        .with_id(vec![0, 1, 0xff])
        .with_module_path("/usr/lib/softhsm/libsofthsm2.so")
        .unwrap()
        .with_pin_source(PinSource::file("/run/secrets/hsm pin").unwrap());
    assert_eq!(
        uri.to_string(),
        "pkcs11:token=tresor;object=kek%202026;id=%00%01%FF\
         ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/hsm%20pin"
    );
    assert_eq!(parse(&uri.to_string()), uri);
    assert!(Pkcs11Uri::new().with_module_path("relative.so").is_err());
    assert!(PinSource::file("relative").is_err());
    assert!(PinSource::env("1A").is_err());
}

// ---------------------------------------------------------------------------
// Properties.

fn text(max: usize) -> impl Strategy<Value = String> {
    // Any Unicode, cut to `max` bytes on a character boundary.
    any::<String>().prop_map(move |s| {
        let mut end = s.len().min(max);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_owned()
    })
}

fn vendor_name() -> impl Strategy<Value = String> {
    "x-[A-Za-z0-9_-]{1,20}"
}

fn absolute_path() -> impl Strategy<Value = String> {
    // Empty parts make `//` anywhere, a leading `//` included (which a
    // `file:` pin-source must not read as a host).
    prop::collection::vec("[^/\u{0}]{0,12}", 1..4).prop_map(|parts| format!("/{}", parts.join("/")))
}

fn pin_source() -> impl Strategy<Value = PinSource> {
    prop_oneof![
        absolute_path().prop_map(|p| PinSource::file(p).unwrap()),
        "[A-Za-z_][A-Za-z0-9_]{0,30}".prop_map(|v| PinSource::env(v).unwrap()),
    ]
}

prop_compose! {
    fn uri()(
        token in prop::option::of(text(32)),
        object in prop::option::of(text(64)),
        id in prop::option::of(prop::collection::vec(any::<u8>(), 0..24)),
        module in prop::option::of(absolute_path()),
        pin in prop::option::of(pin_source()),
        rest in prop::option::of((text(32), text(16), text(16), text(64), text(32), any::<u64>())),
        object_type in prop::option::of(prop::sample::select(vec![
            ObjectType::Public, ObjectType::Private, ObjectType::Cert, ObjectType::SecretKey, ObjectType::Data,
        ])),
        library in prop::option::of((text(32), text(32), any::<u8>(), any::<u8>())),
        vendor_path in prop::collection::vec((vendor_name(), prop::collection::vec(any::<u8>(), 0..12)), 0..3),
        vendor_query in prop::collection::vec((vendor_name(), prop::collection::vec(any::<u8>(), 0..12)), 0..3),
    ) -> String {
        // Built as text, the way an operator writes it, in a random
        // attribute order per component.
        let enc = |bytes: &[u8]| bytes.iter().map(|b| format!("%{b:02x}")).collect::<String>();
        let mut path = Vec::new();
        if let Some(t) = token { path.push(format!("token={}", enc(t.as_bytes()))); }
        if let Some(o) = object { path.push(format!("object={}", enc(o.as_bytes()))); }
        if let Some(id) = id { path.push(format!("id={}", enc(&id))); }
        if let Some(t) = object_type { path.push(format!("type={}", t.as_str())); }
        if let Some((manufacturer, serial, model, slot_description, slot_manufacturer, slot_id)) = rest {
            path.push(format!("manufacturer={}", enc(manufacturer.as_bytes())));
            path.push(format!("serial={}", enc(serial.as_bytes())));
            path.push(format!("model={}", enc(model.as_bytes())));
            path.push(format!("slot-description={}", enc(slot_description.as_bytes())));
            path.push(format!("slot-manufacturer={}", enc(slot_manufacturer.as_bytes())));
            path.push(format!("slot-id={slot_id}"));
        }
        if let Some((manufacturer, description, major, minor)) = library {
            path.push(format!("library-manufacturer={}", enc(manufacturer.as_bytes())));
            path.push(format!("library-description={}", enc(description.as_bytes())));
            path.push(format!("library-version={major}.{minor}"));
        }
        let mut seen = std::collections::HashSet::new();
        for (name, value) in vendor_path {
            if seen.insert(name.clone()) {
                path.push(format!("{name}={}", enc(&value)));
            }
        }
        let mut query = Vec::new();
        if let Some(m) = module { query.push(format!("module-path={}", enc(m.as_bytes()))); }
        if let Some(p) = pin { query.push(format!("pin-source={}", enc(p.to_string().as_bytes()))); }
        for (name, value) in vendor_query {
            query.push(format!("{name}={}", enc(&value)));
        }
        let mut text = format!("pkcs11:{}", path.join(";"));
        if !query.is_empty() {
            text.push('?');
            text.push_str(&query.join("&"));
        }
        text
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// parse → display → parse gives the same URI, and the canonical text
    /// is a fixed point.
    #[test]
    fn round_trip(text in uri()) {
        let parsed = Pkcs11Uri::parse(&text).unwrap();
        let shown = parsed.to_string();
        let again = Pkcs11Uri::parse(&shown).unwrap();
        prop_assert_eq!(&again, &parsed);
        prop_assert_eq!(again.to_string(), shown);
    }

    /// Any text: an answer, never a panic; whatever parses round-trips.
    #[test]
    fn arbitrary_text_never_panics(text in "pkcs11:[ -~]{0,80}") {
        if let Ok(parsed) = Pkcs11Uri::parse(&text) {
            prop_assert_eq!(Pkcs11Uri::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }

    /// Any bytes after the scheme, including non-ASCII.
    #[test]
    fn arbitrary_unicode_never_panics(text in any::<String>()) {
        let _ = Pkcs11Uri::parse(&text);
        let _ = Pkcs11Uri::parse(&format!("pkcs11:{text}"));
        let _ = Pkcs11Uri::parse(&format!("pkcs11:token=a?{text}"));
    }

    /// Percent-decoding inverts percent-encoding for any bytes.
    #[test]
    fn any_id_bytes(id in prop::collection::vec(any::<u8>(), 0..64)) {
        let uri = Pkcs11Uri::new().with_id(id.clone());
        let parsed = Pkcs11Uri::parse(&uri.to_string()).unwrap();
        prop_assert_eq!(parsed.id(), Some(&id[..]));
    }
}
