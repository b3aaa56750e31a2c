//! Client assertions (`private_key_jwt`) and access tokens of arbitrary
//! text: `AssertionVerifier::authenticate` over the fixed registry of
//! `tresor_fuzz::credentials` (the key client holds an active and a
//! revoked Ed25519 key; fixed clock; a fresh replay cache per input), and
//! `TokenVerifier::verify` with the fixed token key. Both run the crate's
//! strict compact JWS parser.
//!
//! Input: one byte whose low two bits choose the request's `client_id`
//! parameter (none, the key client, the secret client, a malformed id),
//! then the assertion (UTF-8, invalid sequences replaced).
//!
//! Properties: nothing panics and nothing is `Unavailable`; an accepted
//! assertion's Ed25519 signature verifies under the client's active key
//! (checked with `ring` alone), its header says `EdDSA`, its `iss` and
//! `sub` are the key client, the `client_id` parameter (if any) is that
//! client, and the answer names that client, its scopes and its active
//! key; the same assertion is refused the second time (replay). An accepted
//! access token is signed by the token key (`ring` again), is `at+jwt` and
//! names the fixed issuer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ring::signature::KeyPair;
use tresor_credentials::{AuthError, AuthMethod};
use tresor_fuzz::credentials::{
    CLIENT_KEY_SEED, ISSUER, KEY_CLIENT_ID, KEY_CLIENT_SCOPES, SECRET_CLIENT_ID, TOKEN_KEY_SEED,
    ed25519, ed25519_verified, fixture, member,
};

/// The `client_id` parameters an input chooses from.
const CLIENT_IDS: [Option<&str>; 4] = [
    None,
    Some(KEY_CLIENT_ID),
    Some(SECRET_CLIENT_ID),
    Some("not a client id"),
];

fn client_id(mode: u8) -> Option<&'static str> {
    CLIENT_IDS.get(usize::from(mode & 3)).copied().flatten()
}

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = data.split_first().map_or((0, data), |(&m, r)| (m, r));
    let text = String::from_utf8_lossy(rest);
    check_assertion(&text, client_id(mode));
    check_access_token(&text);
});

fn check_assertion(assertion: &str, client_id: Option<&str>) {
    let fixture = fixture();
    let registry = fixture.registry();
    let verifier = fixture.assertion_verifier();
    let result = verifier.authenticate(&registry, assertion, client_id, None);
    let client = match result {
        Ok(client) => client,
        Err(e) => {
            assert_eq!(e, AuthError::InvalidClient, "the fixtures cannot fail");
            return;
        }
    };
    let key = ed25519(&CLIENT_KEY_SEED);
    let (header, claims) = ed25519_verified(assertion, key.public_key().as_ref())
        .expect("an accepted assertion is signed by the client's active key");
    assert_eq!(member(&header, "alg"), Some("EdDSA"));
    assert_eq!(member(&claims, "iss"), Some(KEY_CLIENT_ID));
    assert_eq!(member(&claims, "sub"), Some(KEY_CLIENT_ID));
    assert!(client_id.is_none_or(|id| id == KEY_CLIENT_ID));
    assert_eq!(client.id().as_str(), KEY_CLIENT_ID);
    assert_eq!(client.scopes(), KEY_CLIENT_SCOPES);
    let AuthMethod::PrivateKeyJwt { key_id, jti } = client.method() else {
        panic!("an assertion authenticates by private_key_jwt");
    };
    assert_eq!(key_id, &fixture.client_kid);
    assert_eq!(Some(jti.as_str()), member(&claims, "jti"));
    assert_eq!(
        verifier.authenticate(&registry, assertion, client_id, None),
        Err(AuthError::InvalidClient),
        "a replayed assertion is refused"
    );
}

fn check_access_token(token: &str) {
    let Ok(claims) = fixture().token_verifier().verify(token) else {
        return;
    };
    let key = ed25519(&TOKEN_KEY_SEED);
    let (header, _) = ed25519_verified(token, key.public_key().as_ref())
        .expect("an accepted token is signed by the token key");
    assert_eq!(member(&header, "alg"), Some("EdDSA"));
    let typ = member(&header, "typ").unwrap_or_default();
    assert!(
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"),
        "typ {typ:?}"
    );
    assert_eq!(claims.iss, ISSUER);
}
