//! Test helpers: a small raw HTTP/1.1 parser, a test HMAC key, a fixed
//! resolver.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Request, Response};
use tresor_httpsig::{Algorithm, Error, KeyResolver, Result, SigningKey, VerifyingKey};

pub fn vector(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", name]
        .iter()
        .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A parsed raw message: start line, fields (obs-fold joined with one
/// space), body (exactly Content-Length bytes when given).
pub struct Raw {
    pub start: String,
    pub fields: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn parse_raw(text: &str) -> Raw {
    let text = text.replace("\r\n", "\n");
    let (head, rest) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let start = lines.next().unwrap().to_owned();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            // Obsolete line folding: replaced by a single space.
            let last = fields.last_mut().unwrap();
            last.1 = format!("{} {}", last.1.trim_end(), line.trim());
            continue;
        }
        let (name, value) = line.split_once(':').unwrap();
        fields.push((name.to_owned(), value.to_owned()));
    }
    let len = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim().parse::<usize>().unwrap());
    let body = match len {
        Some(n) => rest.as_bytes()[..n].to_vec(),
        None => rest.as_bytes().to_vec(),
    };
    Raw {
        start,
        fields,
        body,
    }
}

fn add_fields(headers: &mut http::HeaderMap, fields: &[(String, String)]) {
    for (n, v) in fields {
        headers.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
}

pub fn request(text: &str) -> Request<Vec<u8>> {
    let raw = parse_raw(text);
    let mut parts = raw.start.split(' ');
    let method = parts.next().unwrap();
    let target = parts.next().unwrap();
    let mut req = Request::builder()
        .method(method)
        .uri(target)
        .body(raw.body)
        .unwrap();
    add_fields(req.headers_mut(), &raw.fields);
    req
}

pub fn response(text: &str) -> Response<Vec<u8>> {
    let raw = parse_raw(text);
    let status: u16 = raw.start.split(' ').nth(1).unwrap().parse().unwrap();
    let mut resp = Response::builder().status(status).body(raw.body).unwrap();
    add_fields(resp.headers_mut(), &raw.fields);
    resp
}

/// A test-only HMAC-SHA256 key (ring::hmac), for signing and verifying.
pub struct TestHmac(pub ring::hmac::Key);

impl TestHmac {
    pub fn new(secret: &[u8]) -> Self {
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret))
    }
}

impl SigningKey for TestHmac {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }
    fn sign(&self, base: &[u8]) -> Result<Vec<u8>> {
        Ok(ring::hmac::sign(&self.0, base).as_ref().to_vec())
    }
}

impl VerifyingKey for TestHmac {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }
    fn verify(&self, base: &[u8], signature: &[u8]) -> Result<()> {
        ring::hmac::verify(&self.0, base, signature).map_err(|_| Error::BadSignature)
    }
}

/// A key that claims any algorithm (HMAC underneath), to test policy.
pub struct Claiming(pub Algorithm, pub TestHmac);

impl SigningKey for Claiming {
    fn algorithm(&self) -> Algorithm {
        self.0
    }
    fn sign(&self, base: &[u8]) -> Result<Vec<u8>> {
        self.1.sign(base)
    }
}

impl VerifyingKey for Claiming {
    fn algorithm(&self) -> Algorithm {
        self.0
    }
    fn verify(&self, base: &[u8], signature: &[u8]) -> Result<()> {
        VerifyingKey::verify(&self.1, base, signature)
    }
}

/// Resolves key ids from a map.
#[derive(Default)]
pub struct MapResolver(pub HashMap<String, Arc<dyn VerifyingKey>>);

impl MapResolver {
    pub fn with(mut self, id: &str, key: Arc<dyn VerifyingKey>) -> Self {
        self.0.insert(id.to_owned(), key);
        self
    }
}

impl KeyResolver for MapResolver {
    fn resolve(&self, key_id: &str) -> Result<Arc<dyn VerifyingKey>> {
        self.0
            .get(key_id)
            .cloned()
            .ok_or_else(|| Error::UnknownKey {
                key_id: key_id.chars().take(64).collect(),
            })
    }
}
