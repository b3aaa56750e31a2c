//! Helpers for the public-key tests: registration with proof of
//! possession, JWS signing.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::large_enum_variant
)]

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::rand::SystemRandom;
use ring::signature::RsaKeyPair;
use serde_json::Value;
use tresor_credentials::{ClientId, Registry, client::RegisteredKey, keys::KeyOptions};
use tresor_httpsig::{Algorithm, PrivateKey, SigningKey};

/// The test RSA key (2048 bits).
pub const RSA_PEM: &str = include_str!("../vectors/rsa2048.pem");

/// A client's private key: an httpsig key, or an RSA key signing PS256.
pub enum TestKey {
    Httpsig(PrivateKey),
    Ps256(RsaKeyPair, PrivateKey),
}

impl TestKey {
    pub fn generate(alg: Algorithm) -> Self {
        TestKey::Httpsig(PrivateKey::generate(alg).unwrap())
    }
    pub fn rsa_ps512() -> Self {
        TestKey::Httpsig(PrivateKey::from_pem_with_alg(RSA_PEM, Algorithm::RsaPssSha512).unwrap())
    }
    pub fn rsa_ps256() -> Self {
        let key = PrivateKey::from_pem_with_alg(RSA_PEM, Algorithm::RsaPssSha512).unwrap();
        let pair = RsaKeyPair::from_pkcs8(&key.to_pkcs8_der()).unwrap();
        TestKey::Ps256(pair, key)
    }
    /// The public JWK (with `alg`).
    pub fn jwk(&self) -> String {
        match self {
            TestKey::Httpsig(k) => k.public_key().to_jwk(),
            TestKey::Ps256(_, k) => k.public_key().to_jwk().replace("PS512", "PS256"),
        }
    }
    pub fn pem(&self) -> String {
        match self {
            TestKey::Httpsig(k) | TestKey::Ps256(_, k) => k.public_key().to_spki_pem(),
        }
    }
    pub fn thumbprint(&self) -> String {
        match self {
            TestKey::Httpsig(k) | TestKey::Ps256(_, k) => k.thumbprint(),
        }
    }
    pub fn httpsig(&self) -> &PrivateKey {
        match self {
            TestKey::Httpsig(k) | TestKey::Ps256(_, k) => k,
        }
    }
    /// The JOSE name of the key's algorithm.
    pub fn jose(&self) -> &'static str {
        match self {
            TestKey::Ps256(..) => "PS256",
            TestKey::Httpsig(k) => match k.algorithm() {
                Algorithm::EcdsaP256Sha256 => "ES256",
                Algorithm::EcdsaP384Sha384 => "ES384",
                Algorithm::Ed25519 => "EdDSA",
                Algorithm::RsaPssSha512 => "PS512",
                _ => panic!("no JOSE name"),
            },
        }
    }
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            TestKey::Httpsig(k) => k.sign(message).unwrap(),
            TestKey::Ps256(pair, _) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &ring::signature::RSA_PSS_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .unwrap();
                sig
            }
        }
    }
}

/// Registers `key` for `client` with a fresh challenge and a valid proof.
pub fn register(registry: &Registry, client: &ClientId, key: &TestKey) -> RegisteredKey {
    register_with(registry, client, key, KeyOptions::new())
}

pub fn register_with(
    registry: &Registry,
    client: &ClientId,
    key: &TestKey,
    options: KeyOptions,
) -> RegisteredKey {
    let challenge = registry.key_challenge(client).unwrap();
    let proof = key.sign(challenge.as_bytes());
    registry
        .add_key_with(client, &key.jwk(), challenge.as_str(), &proof, options)
        .unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// A compact JWS of `header` and `claims`, signed by `key`.
pub fn jws(key: &TestKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}
