//! Seeds of the `cred_*` targets. Everything here is deterministic: the
//! fixed clients, secrets and Ed25519 keys of `tresor_fuzz::credentials`
//! (Ed25519 signatures are deterministic), no random token or nonce in a
//! seed. The program checks that each valid seed is accepted and each
//! defective one refused.

use std::error::Error;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};

use tresor_credentials::{AuthError, endpoint::TokenRequest, secret::validate_secret_format};
use tresor_fuzz::credentials::{
    ASSERTION_TYPE, CLIENT_KEY_SEED, ISSUER, KEY_CLIENT_ID, NOW, PREFIX, REVOKED_KEY_SEED,
    RequestInput, SECRET_CLIENT_ID, STRANGER_KEY_SEED, TOKEN_KEY_SEED, assertion_claims,
    base62_encode, basic_header, check_digits, ed25519, ed25519_thumbprint, fixture, form_encode,
    known_secret, revoked_secret, secret_text, sign_jws, valid_assertion,
};

use crate::Seed;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The seeds of `cred_token_request`, `cred_assertion` and
/// `cred_secret_format`.
pub(crate) fn seeds() -> Result<[Vec<Seed>; 3]> {
    Ok([token_requests()?, assertions()?, secrets()?])
}

fn seed(name: &str, bytes: impl Into<Vec<u8>>) -> Seed {
    (name.to_owned(), bytes.into())
}

// ---------------------------------------------------------------------------
// cred_assertion

/// An assertion by the key client with this header and claims, signed by
/// the key of `seed`.
fn signed(key_seed: &[u8; 32], header: &str, claims: &str) -> String {
    sign_jws(&ed25519(key_seed), header, claims)
}

fn header_with_kid(alg: &str, kid: &str) -> String {
    format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#)
}

/// Claims with one member replaced or added (`"name":value` text).
fn claims_with(member: &str) -> String {
    let base = assertion_claims(60, "a-1");
    let name = member.split(':').next().unwrap_or_default();
    let kept: Vec<&str> = base
        .trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter(|m| !m.starts_with(name))
        .collect();
    format!("{{{},{member}}}", kept.join(","))
}

/// `(name, client_id mode, assertion, accepted)`.
type AssertionCase = (&'static str, u8, String, bool);

fn assertion_cases() -> Vec<AssertionCase> {
    let f = fixture();
    let kid = f.client_kid.as_str();
    let ed = header_with_kid("EdDSA", kid);
    let claims = assertion_claims(60, "a-1");
    let valid = signed(&CLIENT_KEY_SEED, &ed, &claims);
    let mut flipped = valid.clone().into_bytes();
    if let Some(last) = flipped.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    let none_alg = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none"}"#),
        base64url(claims.as_bytes())
    );
    vec![
        ("valid-kid", 0, valid.clone(), true),
        ("valid-client-id", 1, valid.clone(), true),
        (
            "valid-no-kid",
            0,
            signed(&CLIENT_KEY_SEED, r#"{"alg":"EdDSA"}"#, &claims),
            true,
        ),
        (
            "valid-aud-array",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &claims_with(&format!(r#""aud":["{ISSUER}"]"#)),
            ),
            true,
        ),
        (
            // The issuer must be the sole audience (RFC 7523bis).
            "bad-aud-array-of-two",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &claims_with(&format!(r#""aud":["https://other.example","{ISSUER}"]"#)),
            ),
            false,
        ),
        (
            "valid-nbf-float-exp",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &format!(
                    r#"{{"iss":"{KEY_CLIENT_ID}","sub":"{KEY_CLIENT_ID}","aud":"{ISSUER}","nbf":{NOW},"exp":{}.5,"jti":"a-2"}}"#,
                    NOW + 100
                ),
            ),
            true,
        ),
        ("defect-client-id-other", 2, valid.clone(), false),
        ("defect-client-id-malformed", 3, valid, false),
        ("defect-flipped-signature", 0, flipped, false),
        (
            "defect-expired",
            0,
            signed(&CLIENT_KEY_SEED, &ed, &assertion_claims(-120, "a-1")),
            false,
        ),
        (
            "defect-lifetime",
            0,
            signed(&CLIENT_KEY_SEED, &ed, &assertion_claims(3600, "a-1")),
            false,
        ),
        (
            "defect-audience",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &claims_with(r#""aud":"https://other.example""#),
            ),
            false,
        ),
        (
            "defect-issuer",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &claims_with(&format!(r#""iss":"{SECRET_CLIENT_ID}""#)),
            ),
            false,
        ),
        (
            "defect-no-jti",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &format!(
                    r#"{{"iss":"{KEY_CLIENT_ID}","sub":"{KEY_CLIENT_ID}","aud":"{ISSUER}","exp":{}}}"#,
                    NOW + 60
                ),
            ),
            false,
        ),
        (
            "defect-future-iat",
            0,
            signed(
                &CLIENT_KEY_SEED,
                &ed,
                &claims_with(&format!(r#""iat":{}"#, NOW + 120)),
            ),
            false,
        ),
        (
            "defect-duplicate-member",
            0,
            signed(
                &CLIENT_KEY_SEED,
                r#"{"alg":"EdDSA","alg":"EdDSA"}"#,
                &claims,
            ),
            false,
        ),
        (
            "defect-crit",
            0,
            signed(
                &CLIENT_KEY_SEED,
                r#"{"alg":"EdDSA","crit":["b64"]}"#,
                &claims,
            ),
            false,
        ),
        ("defect-alg-none", 0, none_alg, false),
        (
            "defect-alg-hs256",
            0,
            signed(&CLIENT_KEY_SEED, &header_with_kid("HS256", kid), &claims),
            false,
        ),
        (
            "defect-alg-es256",
            0,
            signed(&CLIENT_KEY_SEED, &header_with_kid("ES256", kid), &claims),
            false,
        ),
        (
            "defect-revoked-key",
            0,
            signed(
                &REVOKED_KEY_SEED,
                &header_with_kid("EdDSA", &f.revoked_kid),
                &claims,
            ),
            false,
        ),
        (
            "defect-unregistered-key",
            0,
            signed(
                &STRANGER_KEY_SEED,
                &header_with_kid("EdDSA", &ed25519_thumbprint(&ed25519(&STRANGER_KEY_SEED))),
                &claims,
            ),
            false,
        ),
        (
            "defect-padded",
            0,
            format!("{}=", valid_assertion("a-3")),
            false,
        ),
        ("defect-two-parts", 0, base64url(b"{}") + ".e30", false),
    ]
}

fn base64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn base64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Access tokens for `TokenVerifier::verify`, made here (the issuer's own
/// tokens carry a random `jti`): `(name, token, accepted)`.
fn access_tokens() -> Vec<(&'static str, String, bool)> {
    let f = fixture();
    let claims = format!(
        r#"{{"iss":"{ISSUER}","sub":"{KEY_CLIENT_ID}","aud":"https://api.fuzz.example","client_id":"{KEY_CLIENT_ID}","iat":{NOW},"exp":{},"jti":"t-1","scope":"custody:read"}}"#,
        NOW + 300
    );
    let header = |typ: &str| {
        format!(
            r#"{{"alg":"EdDSA","kid":"{}","typ":"{typ}"}}"#,
            f.token_kid()
        )
    };
    vec![
        (
            "token-valid",
            signed(&TOKEN_KEY_SEED, &header("at+jwt"), &claims),
            true,
        ),
        (
            "token-application-type",
            signed(&TOKEN_KEY_SEED, &header("application/at+jwt"), &claims),
            true,
        ),
        (
            "token-defect-typ-jwt",
            signed(&TOKEN_KEY_SEED, &header("JWT"), &claims),
            false,
        ),
        (
            "token-defect-client-key",
            signed(&CLIENT_KEY_SEED, &header("at+jwt"), &claims),
            false,
        ),
    ]
}

fn assertions() -> Result<Vec<Seed>> {
    let f = fixture();
    let registry = f.registry();
    let mut seeds = Vec::new();
    for (name, mode, assertion, accepted) in assertion_cases() {
        let client_id = [
            None,
            Some(KEY_CLIENT_ID),
            Some(SECRET_CLIENT_ID),
            Some("not a client id"),
        ]
        .get(usize::from(mode))
        .copied()
        .flatten();
        let result = f
            .assertion_verifier()
            .authenticate(&registry, &assertion, client_id, None);
        match (&result, accepted) {
            (Ok(_), true) | (Err(AuthError::InvalidClient), false) => {}
            _ => return Err(format!("assertion seed {name}: {result:?}").into()),
        }
        let mut bytes = vec![mode];
        bytes.extend_from_slice(assertion.as_bytes());
        seeds.push(seed(name, bytes));
    }
    for (name, token, accepted) in access_tokens() {
        let result = f.token_verifier().verify(&token);
        if result.is_ok() != accepted {
            return Err(format!("token seed {name}: {result:?}").into());
        }
        let mut bytes = vec![0];
        bytes.extend_from_slice(token.as_bytes());
        seeds.push(seed(name, bytes));
    }
    Ok(seeds)
}

// ---------------------------------------------------------------------------
// cred_token_request

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", form_encode(n, false), form_encode(v, true)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn request(
    method: &'static str,
    content_type: Option<&'static str>,
    authorization: Option<String>,
    body: Vec<u8>,
) -> RequestInput {
    RequestInput {
        method,
        content_type,
        plus: false,
        authorization,
        body,
    }
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const GRANT: (&str, &str) = ("grant_type", "client_credentials");

/// `(name, request, expected status)`.
fn request_cases() -> Vec<(&'static str, RequestInput, u16)> {
    let secret = known_secret();
    let basic = || Some(basic_header(SECRET_CLIENT_ID, secret, false));
    let post = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![
            GRANT,
            ("client_id", SECRET_CLIENT_ID),
            ("client_secret", secret),
        ];
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    let assertion = valid_assertion("r-1");
    let jwt = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            GRANT,
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    let charset = Some("Application/X-WWW-Form-Urlencoded ; charset=UTF-8");
    let mut wrong = secret.to_owned();
    wrong.pop();
    wrong.push('x');
    vec![
        (
            "basic-valid",
            request("POST", FORM, basic(), form(&[GRANT])),
            200,
        ),
        (
            "basic-valid-scope",
            request(
                "POST",
                FORM,
                basic(),
                form(&[GRANT, ("scope", "payments:read")]),
            ),
            200,
        ),
        (
            "basic-valid-plus-client-id",
            RequestInput {
                plus: true,
                ..request(
                    "post",
                    charset,
                    basic(),
                    form(&[GRANT, ("client_id", SECRET_CLIENT_ID)]),
                )
            },
            200,
        ),
        ("post-valid", request("POST", FORM, None, post(&[])), 200),
        (
            "post-valid-two-scopes",
            request(
                "POST",
                FORM,
                None,
                post(&[("scope", "payments:write payments:read")]),
            ),
            200,
        ),
        ("jwt-valid", request("POST", FORM, None, jwt(&[])), 200),
        (
            "jwt-valid-client-id-scope",
            request(
                "POST",
                charset,
                None,
                jwt(&[("client_id", KEY_CLIENT_ID), ("scope", "custody:read")]),
            ),
            200,
        ),
        (
            "defect-get",
            request("GET", FORM, basic(), form(&[GRANT])),
            405,
        ),
        (
            "defect-json",
            request("POST", Some("application/json"), basic(), form(&[GRANT])),
            400,
        ),
        (
            "defect-no-content-type",
            request("POST", None, None, post(&[])),
            400,
        ),
        (
            "defect-two-methods",
            request("POST", FORM, basic(), post(&[])),
            400,
        ),
        (
            "defect-wrong-secret",
            request(
                "POST",
                FORM,
                Some(basic_header(SECRET_CLIENT_ID, &wrong, false)),
                form(&[GRANT]),
            ),
            401,
        ),
        (
            "defect-revoked-secret",
            request(
                "POST",
                FORM,
                None,
                form(&[
                    GRANT,
                    ("client_id", SECRET_CLIENT_ID),
                    ("client_secret", revoked_secret()),
                ]),
            ),
            400,
        ),
        (
            "defect-other-client",
            request(
                "POST",
                FORM,
                Some(basic_header(KEY_CLIENT_ID, secret, false)),
                form(&[GRANT]),
            ),
            401,
        ),
        (
            "defect-repeated-parameter",
            request(
                "POST",
                FORM,
                basic(),
                b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
            ),
            400,
        ),
        (
            "defect-bad-escape",
            request(
                "POST",
                FORM,
                basic(),
                b"grant_type=client%2credentials".to_vec(),
            ),
            400,
        ),
        (
            "defect-no-credentials",
            request("POST", FORM, None, form(&[GRANT])),
            401,
        ),
        (
            "defect-grant-type",
            request("POST", FORM, basic(), form(&[("grant_type", "password")])),
            400,
        ),
        (
            "defect-scope-not-held",
            request(
                "POST",
                FORM,
                basic(),
                form(&[GRANT, ("scope", "custody:read")]),
            ),
            400,
        ),
        (
            "defect-basic-no-colon",
            request(
                "POST",
                FORM,
                Some(format!("Basic {}", base64(SECRET_CLIENT_ID.as_bytes()))),
                form(&[GRANT]),
            ),
            401,
        ),
        (
            "defect-basic-client-id-differs",
            request(
                "POST",
                FORM,
                basic(),
                form(&[GRANT, ("client_id", KEY_CLIENT_ID)]),
            ),
            400,
        ),
        (
            "defect-bearer-scheme",
            request(
                "POST",
                FORM,
                Some(format!("Bearer {}", valid_assertion("r-2"))),
                form(&[GRANT]),
            ),
            401,
        ),
        (
            "defect-assertion-type-missing",
            request(
                "POST",
                FORM,
                None,
                form(&[GRANT, ("client_assertion", assertion.as_str())]),
            ),
            400,
        ),
        (
            "defect-assertion-other-key",
            request(
                "POST",
                FORM,
                None,
                form(&[
                    GRANT,
                    ("client_assertion_type", ASSERTION_TYPE),
                    (
                        "client_assertion",
                        &signed(
                            &STRANGER_KEY_SEED,
                            r#"{"alg":"EdDSA"}"#,
                            &assertion_claims(60, "r-3"),
                        ),
                    ),
                ]),
            ),
            400,
        ),
    ]
}

fn token_requests() -> Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for (name, input, status) in request_cases() {
        let bytes = input.to_bytes();
        if RequestInput::parse(&bytes) != input {
            return Err(format!("request seed {name} does not round-trip").into());
        }
        let response = fixture().endpoint().handle(
            &TokenRequest::new(input.method, &input.body)
                .authorization(input.authorization.as_deref())
                .content_type(input.content_type),
        );
        if response.status != status {
            return Err(format!(
                "request seed {name}: status {} ({}), expected {status}",
                response.status,
                String::from_utf8_lossy(&response.body)
            )
            .into());
        }
        seeds.push(seed(name, bytes));
    }
    Ok(seeds)
}

// ---------------------------------------------------------------------------
// cred_secret_format

fn secrets() -> Result<Vec<Seed>> {
    let zero = secret_text(PREFIX, &[0; 32]);
    let max = secret_text(PREFIX, &[0xff; 32]);
    let long_prefix = "abcdefghijklmnopqrstuvwxyz_01234";
    // A 43-digit body of 2^256 or more, with a matching checksum.
    let over = {
        let signed = format!("{PREFIX}_{}", "z".repeat(43));
        let check = check_digits(&signed);
        signed + &check
    };
    let mut bad_check = known_secret().to_owned();
    bad_check.pop();
    bad_check.push(if known_secret().ends_with('0') {
        '1'
    } else {
        '0'
    });
    let body = base62_encode(&[0x5a; 32], 43);
    let cases: Vec<(&str, String, bool)> = vec![
        ("valid-known-answer", zero.clone(), true),
        ("valid-fixture", known_secret().to_owned(), true),
        ("valid-max-body", max, true),
        ("valid-prefix-a", secret_text("a", &[7; 32]), true),
        (
            "valid-prefix-underscores",
            secret_text("acme_live_2", &[0x80; 32]),
            true,
        ),
        (
            "valid-prefix-32",
            secret_text(long_prefix, &[0x01; 32]),
            true,
        ),
        ("defect-check", bad_check, false),
        ("defect-body-over-256-bits", over, false),
        (
            "defect-prefix-33",
            secret_text(&format!("{long_prefix}5"), &[0x01; 32]),
            false,
        ),
        (
            "defect-prefix-uppercase",
            secret_text("Tresor_cs", &[0x01; 32]),
            false,
        ),
        (
            "defect-prefix-digit-first",
            secret_text("9tresor", &[0x01; 32]),
            false,
        ),
        (
            "defect-no-separator",
            format!("{PREFIX}{body}{}", check_digits(&format!("{PREFIX}{body}"))),
            false,
        ),
        ("defect-not-ascii", zero.replacen('0', "é", 1), false),
        (
            "defect-too-short",
            zero.get(..40).unwrap_or_default().to_owned(),
            false,
        ),
        ("defect-empty", String::new(), false),
    ];
    let mut seeds = Vec::new();
    for (name, text, valid) in cases {
        if validate_secret_format(&text).is_ok() != valid {
            return Err(format!("secret seed {name} ({text}): expected valid = {valid}").into());
        }
        seeds.push(seed(name, text));
    }
    // Inputs for the generated-secret property: choice, position,
    // replacement, 32 body bytes.
    for (name, head) in [("generated-0", [0u8, 0, 0]), ("generated-3", [3, 200, 70])] {
        let mut bytes = head.to_vec();
        bytes.extend((0u8..32).map(|i| i.wrapping_mul(37)));
        seeds.push(seed(name, bytes));
    }
    Ok(seeds)
}
