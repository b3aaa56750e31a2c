//! The token endpoint of arbitrary requests: `TokenEndpoint::handle` (and
//! `handle_http`) over the fixed registry of `tresor_fuzz::credentials`
//! (a client with a known secret, a client with a registered Ed25519 key,
//! fixed pepper and clock, no rate limit in practice), and the public
//! parsers `parse_basic` and `form_decode`.
//!
//! Input: `flags | [authorization 0xFF] body` (`RequestInput`): flags bits
//! 0-1 the method (`POST`, `post`, `GET`, `PUT`), bits 2-3 the content type
//! (form, form in mixed case with a charset, none, JSON), bit 4 `+` for
//! spaces in the round trip; the `Authorization` header is there only if a
//! `0xFF` byte is.
//!
//! Properties: nothing panics; every answer has `Cache-Control: no-store`,
//! is JSON, and is never a 500 (the fixtures cannot fail); 405 exactly for
//! a method other than POST; a 401 challenges with `WWW-Authenticate:
//! Basic`; `handle_http` agrees with `handle` on the status. A 200 only for
//! a request that really carries a known client's credentials, checked
//! independently (`reference_form`, `reference_basic`, `ring`): exactly
//! one method, the known secret exactly as sent for the secret client, or
//! an assertion whose Ed25519 signature verifies under the client's key
//! and whose `iss` and `sub` are that client; `grant_type` is
//! `client_credentials`; the access token verifies, names that client, and
//! carries the requested scopes (else all the client's). `form_decode`
//! agrees with the reference decoding; `parse_basic` of `Basic
//! base64(urlencode(id) ":" urlencode(secret))`, for the header and body
//! text as id and secret, gives them back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ring::signature::KeyPair;
use serde_json::Value;
use tresor_credentials::endpoint::{form_decode, parse_basic};
use tresor_credentials::{endpoint::TokenRequest, endpoint::TokenResponse};
use tresor_fuzz::credentials::{
    ASSERTION_TYPE, CLIENT_KEY_SEED, KEY_CLIENT_ID, KEY_CLIENT_SCOPES, RequestInput,
    SECRET_CLIENT_ID, SECRET_CLIENT_SCOPES, basic_header, ed25519, ed25519_verified, fixture,
    form_encode, form_get, known_secret, member, reference_basic, reference_form,
    reference_form_decode,
};

fuzz_target!(|data: &[u8]| {
    let input = RequestInput::parse(data);
    check_parsers(&input);
    check_endpoint(&input);
});

fn check_parsers(input: &RequestInput) {
    for part in [
        input.authorization.as_deref().map(str::as_bytes),
        Some(input.body.as_slice()),
    ]
    .into_iter()
    .flatten()
    {
        let decoded = form_decode(part);
        assert_eq!(
            decoded.as_deref().map(String::as_str),
            reference_form_decode(part).as_deref(),
            "form_decode differs from the reference"
        );
    }
    if let Some(header) = &input.authorization {
        let parsed = parse_basic(header);
        let reference = reference_basic(header);
        assert_eq!(
            parsed
                .as_ref()
                .map(|(id, secret)| (id.as_str(), secret.as_str())),
            reference
                .as_ref()
                .map(|(id, secret)| (id.as_str(), secret.as_str())),
            "parse_basic differs from the reference"
        );
    }

    // Round trip: urlencode both halves, join at a colon, Base64.
    let id = input.authorization.clone().unwrap_or_default();
    let secret = String::from_utf8_lossy(&input.body);
    for text in [id.as_str(), &secret] {
        let encoded = form_encode(text, input.plus);
        assert_eq!(
            form_decode(encoded.as_bytes())
                .as_deref()
                .map(String::as_str),
            Some(text),
            "form_decode(urlencode(x)) != x"
        );
    }
    let header = basic_header(&id, &secret, input.plus);
    let variants = [
        header.clone(),
        header.replacen("Basic", "bAsIc", 1),
        header.replacen(' ', "   ", 1) + "  ",
    ];
    for header in variants {
        let (got_id, got_secret) =
            parse_basic(&header).unwrap_or_else(|| panic!("{header:?} does not parse"));
        assert_eq!(got_id.as_str(), id, "parse_basic id of {header:?}");
        assert_eq!(*got_secret, *secret, "parse_basic secret of {header:?}");
    }
}

fn check_endpoint(input: &RequestInput) {
    let request = TokenRequest::new(input.method, &input.body)
        .authorization(input.authorization.as_deref())
        .content_type(input.content_type);
    let response = fixture().endpoint().handle(&request);
    check_response(&response);
    assert_eq!(
        response.status == 405,
        !input.method.eq_ignore_ascii_case("POST"),
        "405 exactly for methods other than POST"
    );
    if response.status == 401 {
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Basic realm=\""), "{challenge:?}");
    }
    if response.status == 200 {
        check_genuine(input, &response);
    }
    check_http_agrees(input, &response);
}

fn check_response(response: &TokenResponse) {
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_ne!(response.status, 500, "the fixtures cannot fail");
    let json: Value = serde_json::from_slice(&response.body).expect("every answer is JSON");
    if response.status != 200 {
        assert!(
            member(&json, "error").is_some(),
            "an error answer names its error"
        );
    }
}

/// Checks a 200 against what the request carries, read independently.
fn check_genuine(input: &RequestInput, response: &TokenResponse) {
    assert!(input.method.eq_ignore_ascii_case("POST"));
    let form = reference_form(&input.body).expect("a 200 request has a well-formed form");
    assert_eq!(form_get(&form, "grant_type"), Some("client_credentials"));

    let post = form_get(&form, "client_secret").is_some();
    let jwt = form_get(&form, "client_assertion").is_some()
        || form_get(&form, "client_assertion_type").is_some();
    let methods = usize::from(input.authorization.is_some()) + usize::from(post) + usize::from(jwt);
    assert_eq!(methods, 1, "a 200 with {methods} authentication methods");

    let client = if let Some(header) = &input.authorization {
        let (id, secret) = reference_basic(header).expect("a 200 Basic header parses");
        assert_eq!(id, SECRET_CLIENT_ID, "Basic: the secret client's id");
        assert_eq!(secret, known_secret(), "Basic: exactly the known secret");
        if let Some(id) = form_get(&form, "client_id") {
            assert_eq!(id, SECRET_CLIENT_ID);
        }
        SECRET_CLIENT_ID
    } else if post {
        assert_eq!(form_get(&form, "client_id"), Some(SECRET_CLIENT_ID));
        assert_eq!(form_get(&form, "client_secret"), Some(known_secret()));
        SECRET_CLIENT_ID
    } else {
        assert_eq!(
            form_get(&form, "client_assertion_type"),
            Some(ASSERTION_TYPE)
        );
        let assertion = form_get(&form, "client_assertion").unwrap_or_default();
        let key = ed25519(&CLIENT_KEY_SEED);
        let (header, claims) = ed25519_verified(assertion, key.public_key().as_ref())
            .expect("an accepted assertion is signed by the client key");
        assert_eq!(member(&header, "alg"), Some("EdDSA"));
        assert_eq!(member(&claims, "iss"), Some(KEY_CLIENT_ID));
        assert_eq!(member(&claims, "sub"), Some(KEY_CLIENT_ID));
        if let Some(id) = form_get(&form, "client_id") {
            assert_eq!(id, KEY_CLIENT_ID);
        }
        KEY_CLIENT_ID
    };

    let json: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(member(&json, "token_type"), Some("Bearer"));
    let token = member(&json, "access_token").expect("an access token");
    let claims = fixture()
        .token_verifier()
        .verify(token)
        .expect("an issued token verifies");
    assert_eq!(claims.client_id, client);
    assert_eq!(claims.sub, client);
    let held: &[&str] = if client == SECRET_CLIENT_ID {
        &SECRET_CLIENT_SCOPES
    } else {
        &KEY_CLIENT_SCOPES
    };
    let mut expected: Vec<String> = match form_get(&form, "scope") {
        Some(scope) => scope.split(' ').map(str::to_owned).collect(),
        None => held.iter().map(|s| (*s).to_owned()).collect(),
    };
    expected.sort();
    expected.dedup();
    let mut granted = claims.scope.clone();
    granted.sort();
    assert_eq!(granted, expected, "the token carries the requested scopes");
    assert!(granted.iter().all(|s| held.contains(&s.as_str())));
}

/// `handle_http` answers as `handle` does (a fresh endpoint each, so the
/// replay cache does not tell them apart), when the header is one `http`
/// can carry as text.
fn check_http_agrees(input: &RequestInput, response: &TokenResponse) {
    let visible = |s: &str| s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if !input.authorization.as_deref().is_none_or(visible) {
        return;
    }
    let mut builder = http::Request::builder().method(input.method);
    if let Some(header) = &input.authorization {
        builder = builder.header(http::header::AUTHORIZATION, header.as_str());
    }
    if let Some(content_type) = input.content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    let Ok(request) = builder.body(input.body.clone()) else {
        return;
    };
    let answer = fixture().endpoint().handle_http(&request, None);
    assert_eq!(
        answer.status().as_u16(),
        response.status,
        "handle_http vs handle"
    );
    assert_eq!(
        answer
            .headers()
            .get(http::header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}
