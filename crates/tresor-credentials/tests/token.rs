//! RFC 9068 access tokens: round trip, and refusal of type confusion,
//! wrong audience or issuer, expiry, unpinned algorithms and forgeries.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};
use tresor_credentials::{
    ClientId, FixedClock, JwsAlgorithm, TokenIssuer, TokenPublicKey, TokenSigningKey,
    TokenVerifier,
    token::{BearerError, TokenError},
};

const T0: i64 = 1_750_000_000;
const ISS: &str = "https://as.bank.example";
const AUD: &str = "https://api.bank.example";

fn client() -> ClientId {
    ClientId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap()
}

fn issuer(alg: JwsAlgorithm) -> (TokenIssuer, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(T0));
    let key = Arc::new(TokenSigningKey::generate(alg).unwrap());
    (TokenIssuer::new(ISS, AUD, key).clock(clock.clone()), clock)
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn parts(token: &str) -> (Value, Value) {
    let p: Vec<&str> = token.split('.').collect();
    let d = |s: &str| serde_json::from_slice(&Base64UrlUnpadded::decode_vec(s).unwrap()).unwrap();
    (d(p[0]), d(p[1]))
}

/// Re-signs `header` and `claims` with ring directly, under `key_der`.
fn resign(key: &TokenSigningKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let der = key.to_pkcs8_der();
    let sig = match key.alg() {
        JwsAlgorithm::Es256 => {
            let rng = ring::rand::SystemRandom::new();
            let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &der,
                &rng,
            )
            .unwrap();
            pair.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec()
        }
        _ => {
            let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).unwrap();
            pair.sign(input.as_bytes()).as_ref().to_vec()
        }
    };
    format!("{input}.{}", b64(&sig))
}

#[test]
fn round_trip_es256_and_eddsa() {
    for alg in [JwsAlgorithm::Es256, JwsAlgorithm::EdDsa] {
        let (issuer, _clock) = issuer(alg);
        let scopes = vec!["payments:read".to_owned(), "payments:write".to_owned()];
        let token = issuer.issue(&client(), &scopes).unwrap();
        assert_eq!(token.expires_in(), 300);
        let (header, claims) = parts(token.token());
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], alg.name());
        assert_eq!(claims["iss"], ISS);
        assert_eq!(claims["aud"], AUD);
        assert_eq!(claims["sub"], client().as_str());
        assert_eq!(claims["client_id"], client().as_str());
        assert_eq!(claims["scope"], "payments:read payments:write");
        assert_eq!(claims["iat"], T0);
        assert_eq!(claims["exp"], T0 + 300);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
        let verified = issuer.verifier().verify(token.token()).unwrap();
        assert_eq!(&verified, token.claims());
        assert_eq!(verified.scope, scopes);
        // Debug never shows the token.
        assert!(!format!("{token:?}").contains(token.token()));
        // Two tokens, two jtis.
        let again = issuer.issue(&client(), &scopes).unwrap();
        assert_ne!(again.claims().jti, token.claims().jti);
    }
}

#[test]
fn a_verifier_from_a_published_jwk() {
    let clock = Arc::new(FixedClock::new(T0));
    let key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::EdDsa).unwrap());
    let issuer = TokenIssuer::new(ISS, AUD, key.clone()).clock(clock.clone());
    let jwk = key.public_key().to_jwk();
    assert!(!jwk.contains("\"d\""));
    let public = TokenPublicKey::from_jwk(&jwk).unwrap();
    assert_eq!(public.kid(), key.kid());
    let verifier = TokenVerifier::new(ISS, AUD).key(public).clock(clock);
    verifier
        .verify(issuer.issue(&client(), &[]).unwrap().token())
        .unwrap();
    // A reloaded key signs tokens with the same kid.
    let reloaded = TokenSigningKey::from_pkcs8(JwsAlgorithm::EdDsa, &key.to_pkcs8_der()).unwrap();
    assert_eq!(reloaded.kid(), key.kid());
    assert!(TokenSigningKey::from_pkcs8(JwsAlgorithm::Es256, &key.to_pkcs8_der()).is_err());
    assert!(TokenSigningKey::generate(JwsAlgorithm::Ps256).is_err());
}

#[test]
fn typ_confusion_is_refused() {
    let (issuer, _clock) = issuer(JwsAlgorithm::Es256);
    let key = TokenSigningKey::generate(JwsAlgorithm::Es256).unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let key = Arc::new(key);
    let issuer2 = TokenIssuer::new(ISS, AUD, key.clone()).clock(clock);
    let verifier = issuer2.verifier();
    let token = issuer2.issue(&client(), &[]).unwrap();
    let (header, claims) = parts(token.token());
    for typ in [
        json!("JWT"),
        json!("application/jwt"),
        json!("jwt"),
        json!("dpop+jwt"),
        json!(7),
        Value::Null,
    ] {
        let mut h = header.clone();
        if typ.is_null() {
            h.as_object_mut().unwrap().remove("typ");
        } else {
            h["typ"] = typ.clone();
        }
        let forged = resign(&key, &h, &claims);
        let expected = if typ.is_number() {
            TokenError::Malformed
        } else {
            TokenError::WrongType
        };
        assert_eq!(verifier.verify(&forged), Err(expected), "{typ}");
    }
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let mut h = header.clone();
        h["typ"] = typ.into();
        verifier.verify(&resign(&key, &h, &claims)).unwrap();
    }
    // Another issuer's key: unknown kid.
    assert_eq!(
        verifier.verify(issuer.issue(&client(), &[]).unwrap().token()),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn claims_rules() {
    let clock = Arc::new(FixedClock::new(T0));
    let key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::Es256).unwrap());
    let issuer = TokenIssuer::new(ISS, AUD, key.clone()).clock(clock.clone());
    let verifier = issuer.verifier();
    let token = issuer.issue(&client(), &[]).unwrap();
    let (header, claims) = parts(token.token());
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        change(&mut c);
        verifier.verify(&resign(&key, &header, &c))
    };
    assert_eq!(
        with(&|c| c["aud"] = "https://other.example".into()),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        with(&|c| c["aud"] = json!(["x", "y"])),
        Err(TokenError::WrongAudience)
    );
    assert!(with(&|c| c["aud"] = json!(["x", AUD])).is_ok());
    assert_eq!(
        with(&|c| c["iss"] = "https://evil.example".into()),
        Err(TokenError::WrongIssuer)
    );
    assert_eq!(
        with(&|c| c["iat"] = (T0 + 31).into()),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        with(&|c| c["nbf"] = (T0 + 31).into()),
        Err(TokenError::NotYetValid)
    );
    for claim in ["exp", "iat", "sub", "client_id", "jti", "iss", "aud"] {
        assert_eq!(
            with(&|c| {
                c.as_object_mut().unwrap().remove(claim);
            }),
            Err(TokenError::Malformed),
            "{claim}"
        );
    }
    // Expiry, with the 30 s skew.
    clock.set(T0 + 329);
    verifier.verify(token.token()).unwrap();
    clock.set(T0 + 330);
    assert_eq!(verifier.verify(token.token()), Err(TokenError::Expired));
    clock.set(T0 + 100_000);
    assert_eq!(verifier.verify(token.token()), Err(TokenError::Expired));
}

#[test]
fn algorithms_are_pinned_and_signatures_checked() {
    let clock = Arc::new(FixedClock::new(T0));
    let key = Arc::new(TokenSigningKey::generate(JwsAlgorithm::Es256).unwrap());
    let issuer = TokenIssuer::new(ISS, AUD, key.clone()).clock(clock.clone());
    let verifier = issuer.verifier();
    let token = issuer.issue(&client(), &[]).unwrap();
    let (header, claims) = parts(token.token());
    let body = b64(claims.to_string().as_bytes());
    for alg in ["none", "HS256", "RS256"] {
        let mut h = header.clone();
        h["alg"] = alg.into();
        let head = b64(h.to_string().as_bytes());
        assert_eq!(
            verifier.verify(&format!("{head}.{body}.{}", b64(b"x"))),
            Err(TokenError::Algorithm)
        );
    }
    // EdDSA under the ES256 key's kid.
    let mut h = header.clone();
    h["alg"] = "EdDSA".into();
    let head = b64(h.to_string().as_bytes());
    assert_eq!(
        verifier.verify(&format!("{head}.{body}.{}", b64(&[0; 64]))),
        Err(TokenError::Algorithm)
    );
    // Without kid.
    let mut h = header.clone();
    h.as_object_mut().unwrap().remove("kid");
    assert_eq!(
        verifier.verify(&resign(&key, &h, &claims)),
        Err(TokenError::UnknownKey)
    );
    // Altered claims keep the old signature.
    let t = token.token();
    let sig = t.rsplit('.').next().unwrap();
    let mut c = claims.clone();
    c["scope"] = "admin".into();
    let altered = format!(
        "{}.{}.{sig}",
        t.split('.').next().unwrap(),
        b64(c.to_string().as_bytes())
    );
    assert_eq!(verifier.verify(&altered), Err(TokenError::BadSignature));
    // Every single-character change fails.
    for i in 0..t.len() {
        let mut bytes = t.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let s = String::from_utf8(bytes).unwrap();
        if s != t {
            assert!(verifier.verify(&s).is_err(), "position {i}");
        }
    }
}

/// A clock before the UNIX epoch: no token is issued or accepted.
#[test]
fn a_clock_before_the_epoch_fails_closed() {
    let (issuer, clock) = issuer(JwsAlgorithm::Es256);
    let verifier = issuer.verifier();
    let token = issuer.issue(&client(), &["a".to_owned()]).unwrap();
    clock.set(-1);
    assert!(matches!(
        issuer.issue(&client(), &["a".to_owned()]),
        Err(tresor_credentials::Error::ClockUnavailable {
            source: tresor_credentials::tresor_types::Error::BeforeEpoch
        })
    ));
    assert_eq!(
        verifier.verify(token.token()).unwrap_err(),
        TokenError::ClockUnavailable {
            source: tresor_credentials::tresor_types::Error::BeforeEpoch
        }
    );
}

// ---- authorising a request: Authorization header, client binding, scopes ----

fn other_client() -> ClientId {
    ClientId::parse("BBBBBBBBBBBBBBBBBBBBBB").unwrap()
}

#[test]
fn authorize_accepts_the_token_of_the_signing_client_with_its_scopes() {
    let (issuer, _clock) = issuer(JwsAlgorithm::EdDsa);
    let verifier = issuer.verifier();
    let scopes = ["orders:write".to_owned(), "accounts:read".to_owned()];
    let token = issuer.issue(&client(), &scopes).unwrap();
    let id = client();
    for header in [
        format!("Bearer {}", token.token()),
        format!("bearer {}", token.token()),
        format!("BEARER   {}", token.token()),
    ] {
        for need in [
            &[][..],
            &["orders:write"],
            &["orders:write", "accounts:read"],
        ] {
            let claims = verifier
                .authorize(Some(&header), Some(id.as_str()), need)
                .unwrap();
            assert_eq!(&claims, token.claims());
        }
        // Without a signing client to bind to.
        verifier.authorize(Some(&header), None, &[]).unwrap();
    }
}

/// Header, signing client, needed scopes; the error, status, challenge
/// and reason expected.
type Case<'a> = (
    Option<String>,
    Option<&'a str>,
    &'a [&'a str],
    BearerError,
    u16,
    Option<String>,
    &'a str,
);

#[test]
fn authorize_refuses_with_the_rfc_6750_answer() {
    let (issuer, clock) = issuer(JwsAlgorithm::Es256);
    let verifier = issuer.verifier();
    let token = issuer
        .issue(&client(), &["accounts:read".to_owned()])
        .unwrap();
    let good = format!("Bearer {}", token.token());
    let id = client();
    let me = Some(id.as_str());
    let other = other_client();
    // The signature's first character changed: well formed, forged.
    let forged = {
        let (input, sig) = token.token().rsplit_once('.').unwrap();
        let first = if sig.starts_with('A') { 'B' } else { 'A' };
        format!("Bearer {input}.{first}{}", &sig[1..])
    };
    let invalid = Some(r#"Bearer error="invalid_token""#.to_owned());

    let cases: Vec<Case> = vec![
        (
            None,
            me,
            &[],
            BearerError::Missing,
            401,
            Some("Bearer".to_owned()),
            "token_missing",
        ),
        (
            Some(format!("Basic {}", token.token())),
            me,
            &[],
            BearerError::Missing,
            401,
            Some("Bearer".to_owned()),
            "token_missing",
        ),
        (
            Some("Bearer".to_owned()),
            me,
            &[],
            BearerError::Missing,
            401,
            Some("Bearer".to_owned()),
            "token_missing",
        ),
        (
            Some("Bearer ".to_owned()),
            me,
            &[],
            BearerError::InvalidToken(TokenError::Malformed),
            401,
            invalid.clone(),
            "token_malformed",
        ),
        (
            Some(format!("Bearer {}, x", token.token())),
            me,
            &[],
            BearerError::InvalidToken(TokenError::Malformed),
            401,
            invalid.clone(),
            "token_malformed",
        ),
        (
            Some(format!("Bearer {} ", token.token())),
            me,
            &[],
            BearerError::InvalidToken(TokenError::Malformed),
            401,
            invalid.clone(),
            "token_malformed",
        ),
        (
            Some(forged),
            me,
            &[],
            BearerError::InvalidToken(TokenError::BadSignature),
            401,
            invalid.clone(),
            "token_bad_signature",
        ),
        (
            Some(good.clone()),
            Some(other.as_str()),
            &[],
            BearerError::ClientMismatch,
            401,
            invalid.clone(),
            "token_client_mismatch",
        ),
        (
            Some(good.clone()),
            me,
            &["accounts:read", "orders:write"],
            BearerError::InsufficientScope {
                scope: "orders:write".to_owned(),
            },
            403,
            Some(r#"Bearer error="insufficient_scope", scope="orders:write""#.to_owned()),
            "insufficient_scope",
        ),
        // A scope is matched whole: a prefix is not a grant.
        (
            Some(good.clone()),
            me,
            &["accounts"],
            BearerError::InsufficientScope {
                scope: "accounts".to_owned(),
            },
            403,
            Some(r#"Bearer error="insufficient_scope", scope="accounts""#.to_owned()),
            "insufficient_scope",
        ),
    ];
    for (header, client, need, want, status, challenge, reason) in cases {
        let got = verifier
            .authorize(header.as_deref(), client, need)
            .unwrap_err();
        assert_eq!(got, want, "{header:?}");
        assert_eq!(got.status(), status, "{header:?}");
        assert_eq!(got.www_authenticate(), challenge, "{header:?}");
        assert_eq!(got.reason(), reason, "{header:?}");
        // The answer never carries the token.
        assert!(!got.to_string().contains(token.token()));
        assert!(!format!("{got:?}").contains(token.token()));
    }

    // Expired: invalid_token, 401.
    clock.set(T0 + 300 + 31);
    let expired = verifier.authorize(Some(&good), me, &[]).unwrap_err();
    assert_eq!(expired, BearerError::InvalidToken(TokenError::Expired));
    assert_eq!((expired.status(), expired.reason()), (401, "token_expired"));
    // The verifier's clock broken: an outage, 503 without a challenge.
    clock.set(-1);
    let outage = verifier.authorize(Some(&good), me, &[]).unwrap_err();
    assert_eq!(outage.status(), 503);
    assert_eq!(outage.www_authenticate(), None);
    assert_eq!(outage.reason(), "token_clock_unavailable");
}

proptest::proptest! {
    /// Whatever the header says, authorize answers (no panic) and never
    /// accepts anything but the issued token.
    #[test]
    fn authorize_never_panics_on_any_header(header in "\\PC{0,200}") {
        let (issuer, _clock) = issuer(JwsAlgorithm::EdDsa);
        let verifier = issuer.verifier();
        let id = client();
        let result = verifier.authorize(Some(&header), Some(id.as_str()), &["a"]);
        proptest::prop_assert!(result.is_err());
    }
}
