//! Component identifiers: construction, validation, serialisation, and
//! component values beyond the RFC's own examples.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod sig_support;

use std::collections::HashSet;

use http::Request;
use tresor_httpsig::{
    ComponentId, Error, Message, component::ComponentParam, component::DerivedComponent,
    message::KNOWN_STRUCTURED_FIELDS, message::StructuredType,
};

#[test]
fn constructors_serialise_like_signature_input() {
    assert_eq!(ComponentId::method().to_string(), r#""@method""#);
    assert_eq!(ComponentId::status().to_string(), r#""@status""#);
    assert_eq!(
        ComponentId::query_param("Pet").unwrap().to_string(),
        r#""@query-param";name="Pet""#
    );
    assert_eq!(
        ComponentId::field("Content-Digest").unwrap().to_string(),
        r#""content-digest""#
    );
    let id = ComponentId::field("example-dict")
        .unwrap()
        .with_key("a")
        .unwrap()
        .with_req()
        .unwrap();
    assert_eq!(id.to_string(), r#""example-dict";key="a";req"#);
    assert_eq!(id.key(), Some("a"));
    assert!(id.is_req() && id.is_field() && !id.is_sf());
    assert_eq!(
        id.params(),
        &[ComponentParam::Key("a".into()), ComponentParam::Req]
    );
    for d in DerivedComponent::ALL {
        if d != DerivedComponent::QueryParam {
            let id = ComponentId::derived(d).unwrap();
            assert_eq!(id.derived_component(), Some(d));
            assert_eq!(ComponentId::parse(&id.to_string()).unwrap(), id);
        }
    }
    assert!(ComponentId::derived(DerivedComponent::QueryParam).is_err());
}

#[test]
fn builders_reject_illegal_combinations() {
    let f = || ComponentId::field("x").unwrap();
    assert!(f().with_sf().unwrap().with_bs().is_err());
    assert!(f().with_bs().unwrap().with_key("a").is_err());
    assert!(f().with_sf().unwrap().with_sf().is_err());
    assert!(ComponentId::method().with_sf().is_err());
    assert!(ComponentId::method().with_tr().is_err());
    assert!(ComponentId::status().with_req().is_err());
    assert!(f().with(ComponentParam::Name("n".into())).is_err());
    assert!(f().with_key("caf\u{e9}").is_err());
    assert!(ComponentId::field("bad name").is_err());
    assert!(ComponentId::field("").is_err());
    // A ';' or '"' inside a name parameter is escaped and round-trips.
    let q = ComponentId::query_param("a\"b;c").unwrap();
    assert_eq!(ComponentId::parse(&q.to_string()).unwrap(), q);
}

#[test]
fn identity_is_name_and_parameter_set() {
    let set: HashSet<ComponentId> = [
        r#""x";sf;req"#,
        r#""x";req;sf"#,
        r#""x";sf"#,
        r#""x""#,
        r#""@query-param";name="a""#,
        r#""@query-param";name="b""#,
    ]
    .iter()
    .map(|s| ComponentId::parse(s).unwrap())
    .collect();
    assert_eq!(set.len(), 5);
}

fn value(req: &Request<()>, id: &str) -> Result<String, Error> {
    Message::from_request(req).component_value(&ComponentId::parse(id).unwrap())
}

#[test]
fn query_param_encoding_details() {
    let req = Request::builder()
        .uri("/p?sp=a+b%20c&t=%7E*-._&e=&noeq&utf=%C3%A9&bad=%ZZ%4&pl=%2B")
        .header("host", "h")
        .body(())
        .unwrap();
    let v = |n: &str| value(&req, &format!("\"@query-param\";name=\"{n}\""));
    assert_eq!(v("sp").unwrap(), "a%20b%20c");
    assert_eq!(v("t").unwrap(), "%7E*-._");
    assert_eq!(v("e").unwrap(), "");
    assert_eq!(v("noeq").unwrap(), "");
    assert_eq!(v("utf").unwrap(), "%C3%A9");
    assert_eq!(v("bad").unwrap(), "%25ZZ%254");
    assert_eq!(v("pl").unwrap(), "%2B");
}

#[test]
fn structured_types() {
    assert!(
        KNOWN_STRUCTURED_FIELDS
            .iter()
            .any(|(n, t)| *n == "signature-input" && *t == StructuredType::Dictionary)
    );
    let req = Request::builder()
        .uri("/")
        .header("host", "h")
        .header("x-item", "  \"a\";p=1  ")
        .header("x-list", "1,   2;a, (x   y)")
        .header("content-digest", "sha-256=:AAAA:,   sha-512=:BBBB:")
        .body(())
        .unwrap();
    assert_eq!(value(&req, r#""x-item";sf"#).unwrap(), "\"a\";p=1");
    assert_eq!(value(&req, r#""x-list";sf"#).unwrap(), "1, 2;a, (x y)");
    assert_eq!(
        value(&req, r#""content-digest";sf"#).unwrap(),
        "sha-256=:AAAA:, sha-512=:BBBB:"
    );
    assert_eq!(
        value(&req, r#""content-digest";key="sha-512""#).unwrap(),
        ":BBBB:"
    );
    // A declared type wins: an Item-typed field that is not an Item fails.
    let msg = Message::from_request(&req).with_structured_field("x-list", StructuredType::Item);
    assert!(matches!(
        msg.component_value(&ComponentId::parse(r#""x-list";sf"#).unwrap()),
        Err(Error::InvalidComponent { .. })
    ));
    // Not a structured field at all.
    let req = Request::builder()
        .uri("/")
        .header("host", "h")
        .header("x-text", "hello world!")
        .body(())
        .unwrap();
    assert!(matches!(
        value(&req, r#""x-text";sf"#),
        Err(Error::InvalidComponent { .. })
    ));
}
