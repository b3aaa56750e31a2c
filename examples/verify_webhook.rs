//! A server signs its responses (the `SignResponseLayer` tower layer); a
//! client verifies one, bound to the request it sent, and refuses a
//! tampered one.
//!
//! The server's layer covers `@status`, the body (through Content-Digest,
//! Content-Type, Content-Length) and the request it answers (`@method;req`,
//! `@path;req`). The client verifies under `response_policy()`, which
//! requires that binding, and checks that a changed body, a changed status
//! and the same response presented as the answer to another request are all
//! refused. Exits non-zero if any of that did not happen. No network: the
//! server is a tower service called in the same process.
//!
//! ```sh
//! cargo run --example verify_webhook
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};
use tresor::httpsig::response_layer::{SignResponseLayer, response_policy};
use tresor::httpsig::{Algorithm, KeyMap, Message, PrivateKey, Signer, Verifier};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("verify_webhook: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    // The server's key; the client was given its public key beforehand.
    let server_key = PrivateKey::generate(Algorithm::Ed25519)?;
    let mut trusted = KeyMap::new();
    trusted.insert("bank-2026", server_key.public_key());

    // The server: a handler that creates a payment, behind the signing layer.
    let handler = service_fn(|_request: Request<Full<Bytes>>| async {
        let body = Bytes::from_static(br#"{"payment":"pay_8812","status":"accepted"}"#);
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = StatusCode::CREATED;
        response
            .headers_mut()
            .insert("content-type", "application/json".parse()?);
        Ok::<_, BoxError>(response)
    });
    let server =
        SignResponseLayer::new(Signer::new(Arc::new(server_key), "bank-2026")).layer(handler);

    // The client sends a request (here: calls the service in process) and
    // keeps its head to check what the response answers.
    let url = "https://api.bank.example/v1/payments";
    let body = br#"{"amount":"120.00","currency":"EUR"}"#;
    let request = Request::post(url).body(Full::new(Bytes::from_static(body)))?;
    let sent = Request::post(url).body(())?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let (parts, body) = runtime.block_on(server.oneshot(request))?.into_parts();
    let body = runtime.block_on(body.collect())?.to_bytes().to_vec();
    let response = Response::from_parts(parts, body);
    println!(
        "server answered {} with {} signed body bytes",
        response.status(),
        response.body().len()
    );

    // The client verifies the response against the request it sent.
    let verifier = Verifier::new(Arc::new(trusted), response_policy()?);
    let verified = verifier.verify_response(&response, Some(Message::from_request(&sent)))?;
    let covered: Vec<String> = verified
        .components()
        .iter()
        .map(ToString::to_string)
        .collect();
    for required in [
        "\"@status\"",
        "\"@method\";req",
        "\"@path\";req",
        "\"content-digest\"",
    ] {
        if !covered.iter().any(|c| c == required) {
            return Err(format!("the verified signature does not cover {required}").into());
        }
    }
    println!(
        "verified: signed by {}, covering {}",
        verified.key_id(),
        covered.join(" ")
    );

    // Tampered copies, each refused.
    let mut changed_body = response.clone();
    *changed_body.body_mut() = br#"{"payment":"pay_8812","status":"rejected"}"#.to_vec();
    let mut changed_status = response.clone();
    *changed_status.status_mut() = StatusCode::OK;
    let other = Request::get("https://api.bank.example/v1/accounts").body(())?;
    let cases = [
        ("a changed body", &changed_body, &sent),
        ("a changed status", &changed_status, &sent),
        (
            "the response as the answer to another request",
            &response,
            &other,
        ),
    ];
    for (what, response, request) in cases {
        match verifier.verify_response(response, Some(Message::from_request(request))) {
            Ok(_) => return Err(format!("{what} was accepted").into()),
            Err(err) => println!("{what}: refused ({err})"),
        }
    }
    println!("verify_webhook: OK");
    Ok(())
}
