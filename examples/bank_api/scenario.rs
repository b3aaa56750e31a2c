//! The scenario the client drives, its expectations, the load phase and
//! the report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use base64ct::{Base64, Encoding};

use tresor::audit::{AuditRecord, Checkpoint, merkle};
use tresor::httpsig::{Algorithm, PrivateKey, SigningKey};

use crate::Options;
use crate::client::{
    BoxError, Call, Conn, Identity, Reply, basic_credentials, duplicate, random_token,
};
use crate::setup::{CHECKPOINT_KEY_NAME, Demo, ISSUER};

/// The account the demo keeps across runs, and the load phase's.
const ACCOUNT: &str = "acc-1001";
const LOAD_ACCOUNT: &str = "acc-load";
/// Requests in the burst: twice the demo client's rate limit.
const BURST: usize = 80;

#[derive(Default)]
struct Tally {
    requests: u64,
    accepted: u64,
    refused: BTreeMap<String, u64>,
    unexpected: u64,
}

impl Tally {
    /// Checks one answer: the expected status, and a response signature
    /// that verified against the request.
    fn expect(&mut self, what: &str, reply: &Reply, want: StatusCode, label: &str) -> bool {
        self.expect_quietly(what, reply, want, label, false)
    }

    fn expect_quietly(
        &mut self,
        what: &str,
        reply: &Reply,
        want: StatusCode,
        label: &str,
        quiet: bool,
    ) -> bool {
        self.requests += 1;
        let ok = reply.status == want && reply.signed;
        if ok {
            if want.is_success() {
                self.accepted += 1;
            } else {
                *self.refused.entry(label.to_owned()).or_default() += 1;
            }
            if !quiet {
                println!("  ok   {what}: {}", reply.status);
            }
        } else {
            self.unexpected += 1;
            println!(
                "  FAIL {what}: got {} (signed response: {}), expected {want}",
                reply.status, reply.signed
            );
        }
        ok
    }

    fn fail(&mut self, what: &str) {
        self.unexpected += 1;
        println!("  FAIL {what}");
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

pub(crate) fn form_token_request(scope: &str, assertion: Option<&str>) -> Vec<u8> {
    let scope = scope.replace(':', "%3A").replace(' ', "+");
    let mut body = format!("grant_type=client_credentials&scope={scope}");
    if let Some(a) = assertion {
        body.push_str(
            "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=",
        );
        body.push_str(a);
    }
    body.into_bytes()
}

pub(crate) fn token_call(body: Vec<u8>, basic: Option<String>) -> Call {
    Call {
        method: Method::POST,
        path: "/oauth/token".to_owned(),
        body: Some((body, "application/x-www-form-urlencoded")),
        basic,
        ..Call::default()
    }
}

pub(crate) async fn private_key_jwt_token(
    conn: &mut Conn,
    who: &Identity,
) -> Result<Reply, BoxError> {
    let assertion = who.client_assertion(ISSUER)?;
    let body = form_token_request("orders:write accounts:read", Some(&assertion));
    conn.call(who, &token_call(body, None)).await
}

pub(crate) fn order() -> serde_json::Value {
    serde_json::json!({ "instrument": "DE0007164600", "side": "buy", "quantity": 10, "limit": "118.40" })
}

pub(crate) async fn run(demo: &Demo, options: &Options) -> Result<bool, BoxError> {
    println!("tresor bank_api demo");
    println!("  data directory: {}", demo.data.root.display());
    if demo.created.is_empty() {
        println!("  reusing every key, store and registration in it");
    } else {
        println!("  created: {}", demo.created.join(", "));
    }
    println!(
        "  server: https://localhost:{} (TLS 1.2/1.3, AES-GCM with ECDHE)",
        demo.addr.port()
    );
    println!(
        "  demo client {} key {}",
        demo.demo.client_id, demo.demo.kid
    );
    println!(
        "  client secret (shown once, never stored): {}",
        demo.secret.as_str()
    );

    let audit_start = demo
        .app
        .with_audit(|app| app.audit.size())
        .await
        .and_then(Result::ok)
        .unwrap_or(0);
    let mut t = Tally::default();
    let me = &demo.demo;
    let mut conn = demo.connect().await?;

    println!("tokens");
    let reply = private_key_jwt_token(&mut conn, me).await?;
    t.expect("token by private_key_jwt", &reply, StatusCode::OK, "");
    let token = reply.text("access_token");
    let basic = basic_credentials(&me.client_id, &demo.secret);
    let basic_call = token_call(
        form_token_request("accounts:read", None),
        Some(basic.to_string()),
    );
    let reply = conn.call(me, &basic_call).await?;
    t.expect(
        "token by client_secret_basic (scope accounts:read)",
        &reply,
        StatusCode::OK,
        "",
    );
    let read_only = reply.text("access_token");

    println!("orders");
    let account = format!("/v1/accounts/{ACCOUNT}");
    let create = Call::post_json(format!("{account}/orders"), &token, &order());
    let reply = conn.call(me, &create).await?;
    t.expect("create an order", &reply, StatusCode::CREATED, "");
    let order_id = reply.text("order_id");
    let again = conn.call(me, &create).await?;
    t.expect(
        "same idempotency-key again",
        &again,
        StatusCode::CREATED,
        "",
    );
    if again.field("order_id").as_str() != Some(order_id.as_str())
        || again.header("idempotent-replayed") != Some("true")
    {
        t.fail("the repeated idempotency-key did not return the first answer");
    }
    let read_order = Call::get(format!("{account}/orders/{order_id}"), &token);
    let reply = conn.call(me, &read_order).await?;
    t.expect("read the order (decrypted)", &reply, StatusCode::OK, "");
    if reply.field("order") != order() {
        t.fail("the order read back differs");
    }
    let reply = conn.call(me, &Call::get(&account, &token)).await?;
    t.expect("read the account", &reply, StatusCode::OK, "");

    println!("crypto-shredding");
    let erased = format!(
        "/v1/accounts/acc-e{}",
        hex::encode(random_token(4).as_bytes())
            .get(..8)
            .unwrap_or("0")
    );
    let create_erased = Call::post_json(format!("{erased}/orders"), &token, &order());
    let reply = conn.call(me, &create_erased).await?;
    t.expect("order on a second account", &reply, StatusCode::CREATED, "");
    let erased_order = reply.text("order_id");
    let erase = Call {
        method: Method::DELETE,
        path: format!("{erased}/personal-data"),
        token: Some(token.clone()),
        ..Call::default()
    };
    let reply = conn.call(me, &erase).await?;
    t.expect(
        "erase its personal data (destroy its KEK)",
        &reply,
        StatusCode::OK,
        "",
    );
    let read_erased = Call::get(format!("{erased}/orders/{erased_order}"), &token);
    let reply = conn.call(me, &read_erased).await?;
    t.expect("read an erased order", &reply, StatusCode::GONE, "gone");
    let reply = conn.call(me, &read_order).await?;
    t.expect("other accounts keep working", &reply, StatusCode::OK, "");

    println!("refusals");
    let read_account = Call::get(&account, &token);
    let mut tampered_body = me.build(
        &Call::post_json(format!("{account}/orders"), &token, &order()),
        |s| s,
    )?;
    let body = String::from_utf8_lossy(tampered_body.body())
        .replace("\"quantity\":10", "\"quantity\":90")
        .into_bytes();
    *tampered_body.body_mut() = body;
    let mut tampered_header = me.build(&read_account, |s| s)?;
    tampered_header
        .headers_mut()
        .insert("accept", axum::http::HeaderValue::from_static("text/csv"));
    let first = me.build(&read_account, |s| s)?;
    let replay = duplicate(&first);
    let expired = me.build(&read_account, |s| s.created(now() - 100).expires_in(30))?;
    let wrong_token = me.build(&Call::get(&account, "eyJhbGciOiJub25lIn0.e30.x"), |s| s)?;
    let stranger_key = PrivateKey::generate(Algorithm::Ed25519)?;
    let stranger = Identity {
        kid: stranger_key.thumbprint(),
        key: Arc::new(stranger_key) as Arc<dyn SigningKey>,
        client_id: me.client_id.clone(),
    };
    let big = serde_json::json!({ "note": "x".repeat(crate::server::MAX_BODY + 1) });
    let oversized = Call::post_json(format!("{account}/orders"), &token, &big);
    let oversized = me.build(&oversized, |s| s)?;
    let read_only_order = Call::post_json(format!("{account}/orders"), &read_only, &order());
    let scope_order = me.build(&read_only_order, |s| s)?;
    let unknown_key = stranger.build(&read_account, |s| s)?;
    let unauthorized = StatusCode::UNAUTHORIZED;
    // What each refusal is, the answer it must get, and its label in the report.
    #[rustfmt::skip]
    let refusals = [
        ("tampered body", tampered_body, unauthorized, "tampered_body"),
        ("tampered header", tampered_header, unauthorized, "tampered_header"),
        ("a request", first, StatusCode::OK, ""),
        ("the same request replayed", replay, unauthorized, "replayed"),
        ("expired signature", expired, unauthorized, "expired_signature"),
        ("wrong token", wrong_token, unauthorized, "wrong_token"),
        ("token without orders:write", scope_order, StatusCode::FORBIDDEN, "insufficient_scope"),
        ("unknown key", unknown_key, unauthorized, "unknown_key"),
        ("oversized body", oversized, StatusCode::PAYLOAD_TOO_LARGE, "oversized_body"),
    ];
    for (what, request, want, label) in refusals {
        let reply = if label == "oversized_body" {
            // On a connection of its own.
            demo.connect().await?.send(request).await?
        } else {
            conn.send(request).await?
        };
        t.expect(what, &reply, want, label);
        let www_authenticate = reply.header("www-authenticate");
        let missing = match label {
            "wrong_token" if !www_authenticate.is_some_and(|v| v.starts_with("Bearer")) => {
                Some("401 for a token without WWW-Authenticate: Bearer")
            }
            "unknown_key"
                if reply.body != tresor::httpsig::tower::UNAUTHORIZED_BODY
                    || www_authenticate != Some("Signature") =>
            {
                Some("a signature 401 without the uniform body and WWW-Authenticate: Signature")
            }
            _ => None,
        };
        if let Some(missing) = missing {
            t.fail(missing);
        }
    }

    let mut limited = 0;
    for _ in 0..(BURST) {
        let reply = conn.call(me, &read_account).await?;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            if reply.header("retry-after").is_none() {
                t.fail("429 without Retry-After");
            }
            t.expect_quietly(
                "burst above the rate limit",
                &reply,
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                true,
            );
        } else {
            t.requests += 1;
            if reply.status == StatusCode::OK && reply.signed {
                t.accepted += 1;
            } else {
                t.fail("burst: neither 200 nor 429");
            }
        }
    }
    if limited == 0 {
        t.fail("a burst above the rate limit was never refused");
    } else {
        println!(
            "  ok   burst of {}: {limited} answered 429 with Retry-After",
            BURST
        );
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;

    demo.app.store.down.store(true, Ordering::Relaxed);
    let reply = conn.call(me, &read_account).await?;
    t.expect(
        "credential store outage (signed call)",
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    );
    demo.app.store.down.store(false, Ordering::Relaxed);
    let reply = conn.call(me, &read_account).await?;
    t.expect("store back", &reply, StatusCode::OK, "");
    if demo.app.incidents.load(Ordering::Relaxed) == 0 {
        t.fail("no security incident raised for the refusals");
    }

    // Load: the load client, its own token, C connections.
    println!(
        "load: {} signed order requests from {} tasks",
        options.load, options.concurrency
    );
    let load_token = {
        let mut c = demo.connect().await?;
        let reply = private_key_jwt_token(&mut c, &demo.load).await?;
        t.expect(
            "load client token by private_key_jwt",
            &reply,
            StatusCode::OK,
            "",
        );
        reply.text("access_token")
    };
    let unexpected_before = t.unexpected;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..options.concurrency {
        let n = options.load / options.concurrency
            + usize::from(task < options.load % options.concurrency);
        let (addr, tls, responses, who, token) = (
            demo.addr,
            Arc::clone(&demo.tls),
            Arc::clone(&demo.responses),
            demo.load.clone(),
            load_token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(n);
            let mut bad = 0u64;
            let Ok(mut conn) = Conn::open(addr, tls, responses).await else {
                return (latencies, n as u64);
            };
            for _ in 0..n {
                let t0 = Instant::now();
                let call = Call::post_json(
                    format!("/v1/accounts/{LOAD_ACCOUNT}/orders"),
                    &token,
                    &order(),
                );
                let ok = match who.build(&call, |s| s) {
                    Ok(req) => conn
                        .send(req)
                        .await
                        .is_ok_and(|r| r.status == StatusCode::CREATED && r.signed),
                    Err(_) => false,
                };
                latencies.push(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !ok {
                    bad += 1;
                }
            }
            (latencies, bad)
        }));
    }
    let mut latencies = Vec::with_capacity(options.load);
    for task in tasks {
        let (l, bad) = task.await?;
        latencies.extend(l);
        t.unexpected += bad;
    }
    let elapsed = started.elapsed();
    let load_sent = latencies.len() as u64;
    let load_bad: u64 = t.unexpected - unexpected_before;
    t.requests += load_sent;
    t.accepted += load_sent.saturating_sub(load_bad);
    let load_ok = load_sent;
    latencies.sort_unstable();
    let pct = |p: usize| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        let i = (latencies.len() - 1) * p / 100;
        latencies.get(i).copied().unwrap_or(0)
    };
    let throughput = if elapsed.as_secs_f64() > 0.0 {
        load_ok as f64 / elapsed.as_secs_f64()
    } else {
        0.0
    };
    println!(
        "  {load_ok} requests in {:.2} s: {throughput:.0} requests/s, p50 {} µs, p99 {} µs",
        elapsed.as_secs_f64(),
        pct(50),
        pct(99)
    );

    // Audit: a signed checkpoint and an inclusion proof, verified offline.
    // On a new connection: a long load phase may outlast the server's
    // header-read timeout, which also closes idle connections.
    println!("audit");
    let mut conn = demo.connect().await?;
    let reply = conn
        .call(me, &Call::get("/audit/checkpoint", &token))
        .await?;
    t.expect("signed checkpoint", &reply, StatusCode::OK, "");
    let note = String::from_utf8_lossy(&reply.body).into_owned();
    let checkpoint = Checkpoint::open(
        &note,
        std::slice::from_ref(&demo.note_verifier),
        CHECKPOINT_KEY_NAME,
    )
    .ok();
    let checkpoint_verified = checkpoint.is_some();
    let mut inclusion_verified = false;
    if let Some(cp) = &checkpoint {
        let index = cp.size().saturating_sub(1);
        let proof = Call::get(
            format!("/audit/proof?index={index}&size={}", cp.size()),
            &token,
        );
        let reply = conn.call(me, &proof).await?;
        t.expect("inclusion proof", &reply, StatusCode::OK, "");
        let v = reply.json();
        let entry = v
            .get("entry")
            .unwrap_or(&serde_json::Value::Null)
            .as_str()
            .and_then(|e| Base64::decode_vec(e).ok())
            .unwrap_or_default();
        let proof: Vec<[u8; 32]> = v
            .get("proof")
            .unwrap_or(&serde_json::Value::Null)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| {
                        h.as_str()
                            .and_then(|h| hex::decode(h).ok())
                            .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    })
                    .collect()
            })
            .unwrap_or_default();
        inclusion_verified = merkle::verify_inclusion(
            &merkle::leaf_hash(&entry),
            index,
            cp.size(),
            &proof,
            cp.root(),
        )
        .is_ok();
        println!(
            "  checkpoint of {} records verified; inclusion of record {index}: {inclusion_verified}",
            cp.size()
        );
    }
    if !checkpoint_verified || !inclusion_verified {
        t.fail("checkpoint or inclusion proof did not verify");
    }
    // The whole log, every leaf and subtree hash recomputed (the other
    // instances' records too, when it is shared).
    let log_verified = match demo.app.with_audit(|app| app.audit.verify()).await {
        Some(Ok(size)) => {
            println!("  whole log of {size} records verified");
            true
        }
        Some(Err(e)) => {
            t.fail(&format!("the audit log does not verify: {e}"));
            false
        }
        None => {
            t.fail("the audit log could not be verified");
            false
        }
    };

    // Each refusal is in the audit log with its precise reason, and no
    // secret, token or signature is anywhere in it.
    let audit_size = {
        let (size, entries) = demo
            .app
            .with_audit(move |app| {
                let size = app.audit.size()?;
                Ok::<_, BoxError>((size, app.audit.entries(audit_start, size)?))
            })
            .await
            .ok_or("the audit log could not be read")??;
        let mut reasons = BTreeMap::<String, u64>::new();
        let mut leaked = false;
        for entry in &entries {
            let text = String::from_utf8_lossy(entry);
            if text.contains(demo.secret.as_str())
                || text.contains(&token)
                || text.contains(&read_only)
                || text.contains(ACCOUNT)
            {
                leaked = true;
            }
            if let Ok(r) = AuditRecord::from_canonical(entry)
                && let Some(reason) = r.details().get("reason").and_then(|v| v.as_str())
            {
                *reasons.entry(reason.to_owned()).or_default() += 1;
            }
        }
        for want in [
            "content_digest_mismatch",
            "signature_bad",
            "signature_replayed",
            "signature_expired",
            "token_malformed",
            "insufficient_scope",
            "signature_unknown_key",
            "body_too_large",
            "rate_limited",
            "backend_unavailable",
            "account_erased",
        ] {
            if !reasons.contains_key(want) {
                t.fail(&format!("no audit record with reason {want}"));
            }
        }
        if leaked {
            t.fail("a secret, token or raw account id is in the audit log");
        }
        println!(
            "  audit reasons this run: {}",
            serde_json::to_string(&reasons)?
        );
        size
    };
    let failures = demo.app.audit_failures.load(Ordering::Relaxed);
    if failures > 0 {
        t.fail(&format!("{failures} audit records could not be written"));
    }

    let report = serde_json::json!({
        "requests": t.requests,
        "accepted": t.accepted,
        "refused": t.refused,
        "unexpected": t.unexpected,
        "audit_size": audit_size,
        "checkpoint_verified": checkpoint_verified,
        "log_verified": log_verified,
        "inclusion_verified": inclusion_verified,
        "throughput_rps": (throughput * 10.0).round() / 10.0,
        "latency_us": { "p50": pct(50), "p99": pct(99) },
        "backends": demo.app.backends.as_str(),
    });
    println!("{report}");
    Ok(t.unexpected == 0)
}
