//! A client signs an HTTP request (RFC 9421, with Content-Digest, RFC 9530)
//! built with the `http` crate; a server-side verifier accepts it and
//! refuses it after any one-byte change.
//!
//! The client holds an ECDSA P-256 key pair and registers only its public
//! key, under its RFC 7638 thumbprint as the key id. The example checks that
//! the verifier accepts the signed request (body included), refuses a copy
//! with one byte changed in the body, the path, the query, a covered header
//! or the signature, and refuses the same request a second time (replayed
//! nonce). Exits non-zero if any of that did not happen. No network: the
//! server is a `Verifier` in the same process.
//!
//! ```sh
//! cargo run --example sign_request
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use http::{Request, Uri};
use tresor::httpsig::{Algorithm, Error, KeyMap, Policy, PrivateKey, Signer, Verifier};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sign_request: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    // The client's key pair; the server knows only the public key.
    let key = PrivateKey::generate(Algorithm::EcdsaP256Sha256)?;
    let key_id = key.thumbprint();
    let mut registry = KeyMap::new();
    registry.insert(key_id.clone(), key.public_key());
    println!("client key id (RFC 7638 thumbprint): {key_id}");

    // Client side: build the request with `http` and sign it. The signer
    // adds Content-Digest and Content-Length and covers them with @method,
    // @authority, @path, @query and Content-Type; a random nonce and a
    // five-minute expiry bound it in time.
    let mut request = Request::post("https://api.bank.example/v1/payments?dry_run=false")
        .header("content-type", "application/json")
        .body(br#"{"amount":"120.00","currency":"EUR","to":"DE89370400440532013000"}"#.to_vec())?;
    let base = Signer::new(Arc::new(key), key_id)
        .random_nonce()
        .expires_in(300)
        .sign_request(&mut request)?;
    println!("signed; the signature base was:\n{}", base.as_str());

    // Server side: the default policy, with nonces required.
    let verifier = Verifier::new(Arc::new(registry), Policy::new().require_nonce(true));

    // One byte changed anywhere covered: refused (checked before the
    // genuine request is seen, so no nonce is remembered yet).
    let mut tampered = Vec::new();
    let mut body = request.clone();
    flip_middle(body.body_mut());
    tampered.push(("body", body));
    for (what, uri) in [
        ("path", "https://api.bank.example/v1/paymentt?dry_run=false"),
        (
            "query",
            "https://api.bank.example/v1/payments?dry_run=falsf",
        ),
    ] {
        let mut copy = request.clone();
        *copy.uri_mut() = uri.parse::<Uri>()?;
        tampered.push((what, copy));
    }
    for header in ["content-type", "signature"] {
        let mut copy = request.clone();
        let mut value = copy
            .headers()
            .get(header)
            .ok_or("header missing")?
            .as_bytes()
            .to_vec();
        flip_middle(&mut value);
        copy.headers_mut().insert(header, value.try_into()?);
        tampered.push((header, copy));
    }
    for (what, copy) in &tampered {
        match verifier.verify_request(copy) {
            Ok(_) => return Err(format!("a one-byte change to the {what} was accepted").into()),
            Err(err) => println!("one byte changed in the {what}: refused ({err})"),
        }
    }

    // The genuine request verifies, body included.
    let verified = verifier.verify_request(&request)?;
    if !verified.body_checked() {
        return Err("the verifier did not check the body".into());
    }
    println!(
        "genuine request: accepted, signed by {} with {:?}",
        verified.key_id(),
        verified.algorithm()
    );

    // Sent twice: the nonce is remembered.
    if !matches!(verifier.verify_request(&request), Err(Error::ReplayedNonce)) {
        return Err("a replayed request was not refused".into());
    }
    println!("same request again: refused as a replay");
    println!("sign_request: OK");
    Ok(())
}

/// Changes the middle byte of `bytes` to another letter.
fn flip_middle(bytes: &mut [u8]) {
    if let Some(byte) = bytes.get_mut(bytes.len() / 2) {
        *byte = if *byte == b'A' { b'B' } else { b'A' };
    }
}
