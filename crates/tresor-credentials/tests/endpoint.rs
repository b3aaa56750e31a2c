//! The token endpoint: each client authentication method, error shapes
//! (status, headers, JSON), grant and scope rules, the `http` adapter.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use base64ct::{Base64, Encoding};
use common::{Fixture, fixture};
use serde_json::Value;
use tresor_credentials::{
    ClientId, ClientSecret, FixedClock, JwsAlgorithm, TokenEndpoint, TokenIssuer, TokenSigningKey,
    TokenVerifier, endpoint::DefaultScopes, endpoint::TokenRequest, endpoint::TokenResponse,
};

const ISS: &str = "https://as.bank.example";
const AUD: &str = "https://api.bank.example";
const FORM: &str = "application/x-www-form-urlencoded";

struct Setup {
    endpoint: TokenEndpoint,
    verifier: TokenVerifier,
    id: ClientId,
    secret: ClientSecret,
    clock: Arc<FixedClock>,
    registry: Arc<tresor_credentials::Registry>,
}

fn setup() -> Setup {
    let Fixture {
        registry, clock, ..
    } = fixture();
    let (id, secret) = registry
        .register("batch", &["payments:read", "payments:write"])
        .unwrap();
    let registry = Arc::new(registry);
    let key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::Es256).unwrap());
    let issuer = TokenIssuer::new(ISS, AUD, key).clock(clock.clone());
    let verifier = issuer.verifier();
    Setup {
        endpoint: TokenEndpoint::new(registry.clone(), issuer),
        verifier,
        id,
        secret,
        clock,
        registry,
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        Base64::encode_string(format!("{id}:{secret}").as_bytes())
    )
}

impl Setup {
    fn basic(&self) -> String {
        basic(self.id.as_str(), self.secret.expose_secret())
    }
    fn post(&self, authorization: Option<&str>, body: &str) -> TokenResponse {
        self.endpoint.handle(
            &TokenRequest::new("POST", body.as_bytes())
                .authorization(authorization)
                .content_type(Some(FORM)),
        )
    }
}

fn json(response: &TokenResponse) -> Value {
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    serde_json::from_slice(&response.body).unwrap()
}

fn assert_error(response: &TokenResponse, status: u16, error: &str, challenge: bool) {
    assert_eq!(response.status, status, "{response:?}");
    let body = json(response);
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    assert!(body.get("access_token").is_none());
    assert_eq!(
        response.header("www-authenticate"),
        challenge.then_some(r#"Basic realm="https://as.bank.example""#)
    );
}

#[test]
fn client_secret_basic_issues_a_token() {
    let s = setup();
    let r = s.post(Some(&s.basic()), "grant_type=client_credentials");
    assert_eq!(r.status, 200);
    let body = json(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "payments:read payments:write");
    let claims = s
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.client_id, s.id.as_str());
    assert_eq!(claims.sub, s.id.as_str());
    assert_eq!(claims.scope, ["payments:read", "payments:write"]);
    assert!(!format!("{r:?}").contains(body["access_token"].as_str().unwrap()));
    // client_id in the body too, if it is the same.
    let r = s.post(
        Some(&s.basic()),
        &format!("grant_type=client_credentials&client_id={}", s.id),
    );
    assert_eq!(r.status, 200);
    let r = s.post(
        Some(&s.basic()),
        "grant_type=client_credentials&client_id=AAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_error(&r, 400, "invalid_request", false);
}

#[test]
fn client_secret_post_issues_a_token() {
    let s = setup();
    let r = s.post(
        None,
        &format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=payments%3Aread",
            s.id,
            s.secret.expose_secret()
        ),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(json(&r)["scope"], "payments:read");
}

#[test]
fn invalid_client_shapes() {
    let s = setup();
    // Wrong secret through the header: 401 with the Basic challenge.
    let r = s.post(
        Some(&basic(s.id.as_str(), "tresor_cs_wrong")),
        "grant_type=client_credentials",
    );
    assert_error(&r, 401, "invalid_client", true);
    // Unknown client, malformed header, another scheme: the same answer.
    let unknown = s.post(
        Some(&basic("AAAAAAAAAAAAAAAAAAAAAA", "x")),
        "grant_type=client_credentials",
    );
    assert_error(&unknown, 401, "invalid_client", true);
    assert_eq!(unknown.body, r.body);
    for header in ["Basic !!!", "Bearer abc", "Basic"] {
        assert_error(
            &s.post(Some(header), "grant_type=client_credentials"),
            401,
            "invalid_client",
            true,
        );
    }
    // Wrong secret in the body: 400, no challenge.
    let r = s.post(
        None,
        &format!(
            "grant_type=client_credentials&client_id={}&client_secret=nope",
            s.id
        ),
    );
    assert_error(&r, 400, "invalid_client", false);
    // No credentials at all: 401 with the challenge.
    assert_error(
        &s.post(None, "grant_type=client_credentials"),
        401,
        "invalid_client",
        true,
    );
    let r = s.post(
        None,
        &format!("grant_type=client_credentials&client_id={}", s.id),
    );
    assert_error(&r, 401, "invalid_client", true);
    // A suspended client.
    s.registry.suspend(&s.id).unwrap();
    assert_error(
        &s.post(Some(&s.basic()), "grant_type=client_credentials"),
        401,
        "invalid_client",
        true,
    );
}

#[test]
fn two_methods_are_refused() {
    let s = setup();
    let post = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        s.id,
        s.secret.expose_secret()
    );
    assert_error(
        &s.post(Some(&s.basic()), &post),
        400,
        "invalid_request",
        false,
    );
    let both = format!(
        "{post}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z"
    );
    assert_error(&s.post(None, &both), 400, "invalid_request", false);
    let jwt_and_basic = "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z";
    assert_error(
        &s.post(Some(&s.basic()), jwt_and_basic),
        400,
        "invalid_request",
        false,
    );
}

#[test]
fn request_rules() {
    let s = setup();
    let auth = s.basic();
    // Grant types.
    assert_error(
        &s.post(Some(&auth), "grant_type=password"),
        400,
        "unsupported_grant_type",
        false,
    );
    assert_error(
        &s.post(Some(&auth), "grant_type=authorization_code&code=x"),
        400,
        "unsupported_grant_type",
        false,
    );
    assert_error(&s.post(Some(&auth), ""), 400, "invalid_request", false);
    assert_error(
        &s.post(Some(&auth), "grant_type="),
        400,
        "invalid_request",
        false,
    );
    // Repeated parameters.
    assert_error(
        &s.post(
            Some(&auth),
            "grant_type=client_credentials&grant_type=client_credentials",
        ),
        400,
        "invalid_request",
        false,
    );
    assert_error(
        &s.post(Some(&auth), "grant_type=client_credentials&scope=a&scope=b"),
        400,
        "invalid_request",
        false,
    );
    // Bad form encoding.
    assert_error(
        &s.post(Some(&auth), "grant_type=client%ZZcredentials"),
        400,
        "invalid_request",
        false,
    );
    // Method and content type.
    let get = s.endpoint.handle(
        &TokenRequest::new("GET", b"grant_type=client_credentials")
            .authorization(Some(&auth))
            .content_type(Some(FORM)),
    );
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    assert_eq!(json(&get)["error"], "invalid_request");
    for content_type in [None, Some("application/json"), Some("text/plain")] {
        let r = s.endpoint.handle(
            &TokenRequest::new("POST", b"grant_type=client_credentials")
                .authorization(Some(&auth))
                .content_type(content_type),
        );
        assert_error(&r, 400, "invalid_request", false);
    }
    let r = s.endpoint.handle(
        &TokenRequest::new("POST", b"grant_type=client_credentials")
            .authorization(Some(&auth))
            .content_type(Some("application/x-www-form-urlencoded; charset=UTF-8")),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn scopes_are_narrowed_to_what_the_client_holds() {
    let s = setup();
    let auth = s.basic();
    let r = s.post(
        Some(&auth),
        "grant_type=client_credentials&scope=payments%3Awrite",
    );
    assert_eq!(json(&r)["scope"], "payments:write");
    let token = json(&r)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.verifier.verify(&token).unwrap().scope, ["payments:write"]);
    let r = s.post(
        Some(&auth),
        "grant_type=client_credentials&scope=payments:write+payments:read",
    );
    assert_eq!(json(&r)["scope"], "payments:read payments:write");
    for bad in [
        "admin",
        "payments:write+admin",
        "payments:write++payments:read",
        "+payments:read",
        "a%22b",
    ] {
        let r = s.post(
            Some(&auth),
            &format!("grant_type=client_credentials&scope={bad}"),
        );
        assert_error(&r, 400, "invalid_scope", false);
    }
    // Default policies.
    let s = setup();
    let endpoint = TokenEndpoint::new(
        s.registry.clone(),
        TokenIssuer::new(
            ISS,
            AUD,
            Arc::new(TokenSigningKey::generate(JwsAlgorithm::EdDsa).unwrap()),
        )
        .clock(s.clock.clone()),
    );
    let endpoint = endpoint.default_scopes(DefaultScopes::Required);
    let req = |e: &TokenEndpoint, body: &'static str| {
        e.handle(
            &TokenRequest::new("POST", body.as_bytes())
                .authorization(Some(&s.basic()))
                .content_type(Some(FORM)),
        )
    };
    assert_error(
        &req(&endpoint, "grant_type=client_credentials"),
        400,
        "invalid_scope",
        false,
    );
    let endpoint = endpoint.default_scopes(DefaultScopes::Listed(vec![
        "payments:read".into(),
        "other".into(),
    ]));
    assert_eq!(
        json(&req(&endpoint, "grant_type=client_credentials"))["scope"],
        "payments:read"
    );
    let endpoint = endpoint.default_scopes(DefaultScopes::Listed(vec!["other".into()]));
    assert_error(
        &req(&endpoint, "grant_type=client_credentials"),
        400,
        "invalid_scope",
        false,
    );
}

#[cfg(feature = "http")]
#[test]
fn the_http_adapter() {
    let s = setup();
    let request = http::Request::post("https://as.bank.example/token")
        .header("authorization", s.basic())
        .header("content-type", FORM)
        .body(b"grant_type=client_credentials".to_vec())
        .unwrap();
    let response = s.endpoint.handle_http(&request, None);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    s.verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();

    let request = http::Request::post("https://as.bank.example/token")
        .header("authorization", s.basic())
        .header("authorization", s.basic())
        .header("content-type", FORM)
        .body(&b"grant_type=client_credentials"[..])
        .unwrap();
    let response = s.endpoint.handle_http(&request, None);
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");

    let request = http::Request::post("https://as.bank.example/token")
        .header("content-type", FORM)
        .body(b"grant_type=client_credentials".to_vec())
        .unwrap();
    let response = s.endpoint.handle_http(&request, None);
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Basic realm="https://as.bank.example""#
    );
}

#[cfg(feature = "httpsig")]
mod keys_support;

#[cfg(feature = "httpsig")]
#[test]
fn private_key_jwt_issues_a_token() {
    use serde_json::json;
    use tresor_httpsig::Algorithm;
    let s = setup();
    let key = keys_support::TestKey::generate(Algorithm::Ed25519);
    let id = s
        .registry
        .register_without_secret("signer", &["payments:read"])
        .unwrap();
    let kid = keys_support::register(&s.registry, &id, &key).kid;
    let now = {
        use tresor_credentials::Clock;
        s.clock.now().unwrap().as_secs()
    };
    let assertion = |jti: &str| {
        keys_support::jws(
            &key,
            &json!({"alg": "EdDSA", "kid": kid}),
            &json!({"iss": id.as_str(), "sub": id.as_str(), "aud": ISS, "exp": now + 60, "jti": jti}),
        )
    };
    let body = |a: &str| {
        format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}"
        )
    };
    let r = s.post(None, &body(&assertion("one")));
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let claims = s
        .verifier
        .verify(json(&r)["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.client_id, id.as_str());
    assert_eq!(claims.scope, ["payments:read"]);
    // A replay: invalid_client, 400 (no Authorization header was used).
    assert_error(
        &s.post(None, &body(&assertion("one"))),
        400,
        "invalid_client",
        false,
    );
    // With a matching client_id parameter.
    let r = s.post(None, &format!("{}&client_id={id}", body(&assertion("two"))));
    assert_eq!(r.status, 200);
    // An unknown assertion type.
    let r = s.post(
        None,
        &format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aexample&client_assertion={}",
            assertion("three")
        ),
    );
    assert_error(&r, 400, "invalid_client", false);
    // Half of the pair.
    let r = s.post(
        None,
        &format!(
            "grant_type=client_credentials&client_assertion={}",
            assertion("four")
        ),
    );
    assert_error(&r, 400, "invalid_request", false);
}
