//! The `bank_api` example's server under hostile clients: the real router
//! (TLS, the signature layer, authorisation, the audit log) on
//! 127.0.0.1:0 with a temporary data directory, driven by
//!
//! - a raw TLS client sending malformed request lines, invalid header
//!   bytes, oversized heads, absurd `Content-Length`s, a truncated body
//!   and pipelined garbage: each gets a 4xx answer or a clean close, never
//!   a 5xx, and the server keeps serving;
//! - slow clients (one byte per 50 ms, and one that never handshakes)
//!   while 64 correctly-signed requests run concurrently, each with its
//!   expected status and a verified response signature;
//! - stalled bodies (a head declaring a body that never comes, or comes
//!   too slowly, with `Content-Length` or chunked) cut off at the body
//!   deadline with a 408, while signed requests keep being answered;
//!
//! and then checks that nothing unexpected happened: no panic in any
//! server task, the accept loop still running, every audit record written.

// The example's modules, included whole: the test uses part of them.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../examples/bank_api/backends.rs"]
mod backends;
#[path = "../examples/bank_api/client.rs"]
mod client;
#[path = "../examples/bank_api/data.rs"]
mod data;
#[path = "../examples/bank_api/options.rs"]
mod options;
#[path = "../examples/bank_api/profile.rs"]
mod profile;
#[path = "../examples/bank_api/scenario.rs"]
mod scenario;
#[path = "../examples/bank_api/server.rs"]
mod server;
#[path = "../examples/bank_api/setup.rs"]
mod setup;
#[path = "../examples/bank_api/tls.rs"]
mod tls;

pub(crate) use options::Options;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use client::{Call, Conn};
use setup::Demo;

/// The server's header-read (and TLS handshake) timeout in this test.
const HEADER_TIMEOUT: Duration = Duration::from_secs(4);
/// The server's body-read timeout in this test.
const BODY_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a raw exchange may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(10);
/// Concurrent signed requests.
const CONCURRENT: usize = 64;
/// The slow clients' pace.
const TRICKLE: Duration = Duration::from_millis(50);

/// Panics anywhere in the process (the server's tasks included).
static PANICS: AtomicUsize = AtomicUsize::new(0);

async fn tls_connect(demo: &Demo) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(demo.addr).await.unwrap();
    TlsConnector::from(Arc::clone(&demo.tls))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// What the server did with some bytes: the statuses it answered, in
/// order, and whether it then closed the connection before the deadline.
#[derive(Debug)]
struct Seen {
    statuses: Vec<u16>,
    closed: bool,
}

/// The status codes of the responses in `bytes` (response bodies here are
/// JSON, which never holds "HTTP/1.1 ").
fn statuses(bytes: &[u8]) -> Vec<u16> {
    let marker = b"HTTP/1.1 ";
    let mut out = Vec::new();
    for i in 0..bytes.len().saturating_sub(marker.len() + 3) {
        if &bytes[i..i + marker.len()] == marker {
            let code = &bytes[i + marker.len()..i + marker.len() + 3];
            if let Some(n) = std::str::from_utf8(code).ok().and_then(|c| c.parse().ok()) {
                out.push(n);
            }
        }
    }
    out
}

/// Reads until the server closes the connection (or fails it), or the
/// deadline. Returns what was read and whether it closed in time.
async fn read_to_close(
    mut rd: impl tokio::io::AsyncRead + Unpin,
    deadline: Duration,
) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(deadline, async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (got, closed)
}

/// Sends `bytes` over a new TLS connection (then closes the sending side
/// if `half_close`) and collects the server's answers until it closes.
async fn exchange(demo: &Demo, bytes: &[u8], half_close: bool) -> Seen {
    let (rd, mut wr) = tokio::io::split(tls_connect(demo).await);
    let write = tokio::time::timeout(DEADLINE, async {
        // The server may answer and close before it has read everything:
        // a failed write is an outcome like any other.
        let _ = wr.write_all(bytes).await;
        let _ = wr.flush().await;
        if half_close {
            let _ = wr.shutdown().await;
        }
    });
    let (_, (got, closed)) = tokio::join!(write, read_to_close(rd, DEADLINE));
    Seen {
        statuses: statuses(&got),
        closed,
    }
}

/// A hostile request: what it is, its bytes, whether the client closes its
/// sending side after it, and the statuses the server may answer. A clean
/// close without an answer is acceptable for every case.
struct Hostile {
    what: &'static str,
    bytes: Vec<u8>,
    half_close: bool,
    allowed: &'static [u16],
}

fn hostile(what: &'static str, bytes: impl Into<Vec<u8>>, allowed: &'static [u16]) -> Hostile {
    Hostile {
        what,
        bytes: bytes.into(),
        half_close: false,
        allowed,
    }
}

fn hostile_requests() -> Vec<Hostile> {
    let big_header = format!(
        "GET /v1/accounts/acc-1 HTTP/1.1\r\nhost: localhost\r\nx-big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let many_headers = format!(
        "GET /v1/accounts/acc-1 HTTP/1.1\r\nhost: localhost\r\n{}\r\n",
        (0..200)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    let long_uri = format!(
        "GET /v1/accounts/{} HTTP/1.1\r\nhost: localhost\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let mut binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    binary.extend_from_slice(b"\r\n\r\n");
    vec![
        hostile("garbage request line", "HELLO THERE\r\n\r\n", &[400]),
        hostile("request line without a version", "GET /\r\n\r\n", &[400]),
        hostile("unknown HTTP version", "GET / HTTP/9.9\r\n\r\n", &[400, 505]),
        hostile("lowercase method and no target", "get\r\n\r\n", &[400]),
        hostile("binary garbage", binary, &[400]),
        hostile("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[400, 505]),
        hostile(
            "NUL in a header value",
            "GET /audit/checkpoint HTTP/1.1\r\nhost: localhost\r\nx-a: a\0b\r\n\r\n",
            &[400],
        ),
        hostile(
            "space in a header name",
            "GET /audit/checkpoint HTTP/1.1\r\nhost: localhost\r\nbad header: x\r\n\r\n",
            &[400],
        ),
        hostile(
            "bare LF line ends and a header without a colon",
            "GET /audit/checkpoint HTTP/1.1\nhost: localhost\nno-colon\n\n",
            &[400],
        ),
        hostile(
            "non-UTF-8 bytes in the signature headers",
            &b"GET /v1/accounts/acc-1 HTTP/1.1\r\nhost: localhost\r\n\
               authorization: Bearer \xff\xfe\r\nsignature-input: sig=(\"@method\");keyid=\"\xc3\x28\"\r\n\
               signature: sig=:\xff\xff:\r\ncontent-digest: sha-512=:\xfe:\r\n\
               connection: close\r\n\r\n"[..],
            &[401],
        ),
        hostile("100 KiB header", big_header, &[431]),
        hostile("200 headers", many_headers, &[431]),
        hostile("64 KiB request target", long_uri, &[414, 431]),
        hostile(
            "Content-Length beyond u64",
            "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\n\
             content-length: 99999999999999999999999999\r\n\r\n",
            &[400],
        ),
        hostile(
            "Content-Length of a terabyte",
            "POST /v1/accounts/acc-1/orders HTTP/1.1\r\nhost: localhost\r\n\
             content-type: application/json\r\ncontent-length: 1000000000000\r\n\r\n{",
            &[401, 413],
        ),
        hostile(
            "negative Content-Length",
            "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\ncontent-length: -1\r\n\r\n",
            &[400],
        ),
        hostile(
            "two different Content-Lengths",
            "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\n\
             content-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
            &[400],
        ),
        hostile(
            // RFC 9112 section 6.3: chunked wins, and the connection closes.
            "Content-Length with chunked",
            "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\ncontent-length: 4\r\n\
             transfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            &[400, 401],
        ),
        hostile(
            "bad chunk size",
            "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\n\
             transfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            &[400, 401],
        ),
        Hostile {
            half_close: true,
            ..hostile(
                "truncated body",
                "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\n\
                 content-type: application/x-www-form-urlencoded\r\n\
                 content-length: 100\r\n\r\ngrant_type=client",
                &[400, 401],
            )
        },
        hostile(
            "a request, then pipelined garbage",
            &b"GET /audit/checkpoint HTTP/1.1\r\nhost: localhost\r\n\r\n\
               \x16\x03\x01\x00\x05GARBAGE \0\xff\r\n\r\n"[..],
            &[401, 400],
        ),
    ]
}

/// A slow client: trickles `head` one byte per [`TRICKLE`], then (if
/// `endless`) more header bytes until `budget`, and reads concurrently.
/// Returns the statuses it got, and when (since its handshake) the server
/// closed the connection, if it did.
async fn trickle(
    demo: &Demo,
    head: &[u8],
    endless: bool,
    budget: Duration,
) -> (Vec<u16>, Option<Duration>) {
    let (rd, mut wr) = tokio::io::split(tls_connect(demo).await);
    let start = Instant::now();
    let tail: &[u8] = if endless { b"a" } else { b"" };
    let write = async {
        for b in head.iter().chain(tail.iter().cycle()) {
            if start.elapsed() > budget
                || wr.write_all(&[*b]).await.is_err()
                || wr.flush().await.is_err()
            {
                break;
            }
            tokio::time::sleep(TRICKLE).await;
        }
        // Keep the connection open: only the server may close it.
        std::future::pending::<()>().await;
    };
    let read = async {
        let (got, closed) = read_to_close(rd, budget + DEADLINE).await;
        (statuses(&got), closed.then(|| start.elapsed()))
    };
    tokio::select! {
        () = write => unreachable!(),
        seen = read => seen,
    }
}

/// The slow clients: (what went wrong) for each.
async fn slow_clients(demo: &Demo) -> Vec<String> {
    let mut unexpected = Vec::new();
    // A slow but finite head, sent well within the timeout: answered.
    let slow_ok = trickle(
        demo,
        b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n",
        false,
        Duration::from_secs(8),
    );
    // Slowloris: a head that never ends, one byte per 50 ms.
    let slowloris = trickle(
        demo,
        b"GET /audit/checkpoint HTTP/1.1\r\nx-slow: ",
        true,
        Duration::from_secs(12),
    );
    // A TCP connection that never starts its TLS handshake.
    let silent = async {
        let mut tcp = TcpStream::connect(demo.addr).await.unwrap();
        let start = Instant::now();
        let (_, closed) = read_to_close(&mut tcp, HEADER_TIMEOUT + DEADLINE).await;
        closed.then(|| start.elapsed())
    };
    let ((ok_statuses, ok_closed), (loris_statuses, loris_closed), silent_closed) =
        tokio::join!(slow_ok, slowloris, silent);
    if ok_statuses != [401] || ok_closed.is_none() {
        unexpected.push(format!(
            "slow client within the timeout: {ok_statuses:?}, closed after {ok_closed:?}"
        ));
    }
    let cut = HEADER_TIMEOUT.saturating_sub(Duration::from_millis(500))
        ..HEADER_TIMEOUT + Duration::from_secs(3);
    if !loris_statuses.iter().all(|s| (400..500).contains(s))
        || !loris_closed.is_some_and(|t| cut.contains(&t))
    {
        unexpected.push(format!(
            "slowloris: {loris_statuses:?}, closed after {loris_closed:?}, expected {cut:?}"
        ));
    }
    if !silent_closed.is_some_and(|t| cut.contains(&t)) {
        unexpected.push(format!(
            "silent TCP client: closed after {silent_closed:?}, expected {cut:?}"
        ));
    }
    unexpected
}

/// The concurrent signed requests (the load client, no rate limit): each
/// on its own connection, each with its expected status and a verified
/// response signature. Returns what went wrong.
async fn signed_requests(demo: &Demo, token: &str) -> Vec<String> {
    let account = "/v1/accounts/acc-router";
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CONCURRENT {
        let (call, want) = match i % 4 {
            0 => (
                Call::post_json(format!("{account}/orders"), token, &scenario::order()),
                StatusCode::CREATED,
            ),
            1 => (Call::get(account, token), StatusCode::OK),
            2 => (Call::get("/audit/checkpoint", token), StatusCode::OK),
            _ => (
                Call::get(account, "eyJhbGciOiJub25lIn0.e30.x"),
                StatusCode::UNAUTHORIZED,
            ),
        };
        let who = demo.load.clone();
        let (addr, tls, responses) = (
            demo.addr,
            Arc::clone(&demo.tls),
            Arc::clone(&demo.responses),
        );
        tasks.spawn(async move {
            let mut conn = Conn::open(addr, tls, responses).await?;
            let reply = conn.call(&who, &call).await?;
            Ok::<_, client::BoxError>((i, reply.status == want && reply.signed, reply.status))
        });
    }
    let mut unexpected = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((_, true, _))) => {}
            Ok(Ok((i, false, status))) => {
                unexpected.push(format!("signed request {i}: {status} or unsigned answer"));
            }
            Ok(Err(e)) => unexpected.push(format!("signed request: {e}")),
            Err(e) => unexpected.push(format!("signed request task: {e}")),
        }
    }
    unexpected
}

/// Sends `stall`'s head at once, then the bytes it sends at once, then
/// its trickle one byte per [`TRICKLE`], then nothing (the connection
/// stays open: only the server may close it). Returns the statuses it got
/// and when, after the head, the server closed the connection, if it did.
async fn stalled_body(demo: &Demo, stall: &Stall) -> (Vec<u16>, Option<Duration>) {
    let (rd, mut wr) = tokio::io::split(tls_connect(demo).await);
    wr.write_all(stall.head.as_bytes()).await.unwrap();
    wr.write_all(stall.sent).await.unwrap();
    wr.flush().await.unwrap();
    let start = Instant::now();
    let write = async {
        for _ in 0..stall.trickled {
            if wr.write_all(b"a").await.is_err() || wr.flush().await.is_err() {
                break;
            }
            tokio::time::sleep(TRICKLE).await;
        }
        std::future::pending::<()>().await;
    };
    let read = async {
        let (got, closed) = read_to_close(rd, BODY_TIMEOUT + DEADLINE).await;
        (statuses(&got), closed.then(|| start.elapsed()))
    };
    tokio::select! {
        () = write => unreachable!(),
        seen = read => seen,
    }
}

/// A request whose body stalls: what it is, its head, the body bytes sent
/// at once, how many more are trickled, the statuses the server may
/// answer, and whether it is cut off at the deadline (else answered
/// before it).
struct Stall {
    what: &'static str,
    head: String,
    sent: &'static [u8],
    trickled: usize,
    allowed: &'static [u16],
    cut_off: bool,
}

/// Stalled and too slow bodies, each cut off at the body deadline (408,
/// or 413 for a body declared too large, which the server would only
/// have read to discard it), and a slow body within it answered; all the
/// while, signed requests on other connections are answered. Returns
/// what went wrong.
async fn stalled_bodies(demo: &Demo, token: &str) -> Vec<String> {
    let form = |length: &str| {
        format!(
            "POST /oauth/token HTTP/1.1\r\nhost: localhost\r\n\
             content-type: application/x-www-form-urlencoded\r\n{length}\r\n\r\n"
        )
    };
    let audit_before = demo.app.audit.size().unwrap();
    let cut = BODY_TIMEOUT.saturating_sub(Duration::from_millis(500))
        ..BODY_TIMEOUT + Duration::from_secs(3);
    let stall = |what, head: String, sent: &'static [u8], trickled, allowed| Stall {
        what,
        head,
        sent,
        trickled,
        allowed,
        cut_off: true,
    };
    let cases = [
        stall(
            "Content-Length 1000, 11 bytes, then nothing",
            form("content-length: 1000"),
            b"grant_type=",
            0,
            &[408],
        ),
        stall(
            "chunked, half a chunk, then nothing",
            form("transfer-encoding: chunked"),
            b"20\r\ngrant_type=",
            0,
            &[408],
        ),
        stall(
            "a body trickled slower than the deadline allows",
            form("content-length: 200"),
            b"",
            200,
            &[408],
        ),
        stall(
            "a body declared too large, then nothing",
            form("content-length: 100000"),
            b"grant_type=",
            0,
            &[413],
        ),
        Stall {
            cut_off: false,
            ..stall(
                "a slow body within the deadline",
                form("content-length: 20\r\nconnection: close"),
                b"",
                20,
                &[401],
            )
        },
    ];
    let [c0, c1, c2, c3, c4] = &cases;
    let stalls = async {
        let (a, b, c, d, e) = tokio::join!(
            stalled_body(demo, c0),
            stalled_body(demo, c1),
            stalled_body(demo, c2),
            stalled_body(demo, c3),
            stalled_body(demo, c4),
        );
        [a, b, c, d, e]
    };
    // Meanwhile, one signed request every 250 ms, each on a new connection.
    let meanwhile = async {
        let mut answered = 0;
        let mut failed = Vec::new();
        let start = Instant::now();
        while start.elapsed() < BODY_TIMEOUT {
            let reply = match demo.connect().await {
                Ok(mut conn) => {
                    conn.call(&demo.load, &Call::get("/v1/accounts/acc-router", token))
                        .await
                }
                Err(e) => Err(e),
            };
            match reply {
                Ok(r) if r.status == StatusCode::OK && r.signed => answered += 1,
                Ok(r) => failed.push(format!("meanwhile: {} (signed {})", r.status, r.signed)),
                Err(e) => failed.push(format!("meanwhile: {e}")),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        (answered, failed)
    };
    let (seen, (answered, failed)) = tokio::join!(stalls, meanwhile);
    let mut unexpected = failed;
    // About a dozen fit in the deadline; a loaded machine may manage fewer.
    if answered < 4 {
        unexpected.push(format!(
            "only {answered} signed requests answered meanwhile"
        ));
    }
    for (c, (statuses, closed)) in cases.iter().zip(seen) {
        println!("{}: {statuses:?}, closed after {closed:?}", c.what);
        let in_time = if c.cut_off {
            closed.is_some_and(|t| cut.contains(&t))
        } else {
            closed.is_some_and(|t| t < BODY_TIMEOUT)
        };
        if statuses != c.allowed || !in_time {
            let when = if c.cut_off {
                "cut off at the deadline"
            } else {
                "answered before it"
            };
            unexpected.push(format!(
                "{}: {statuses:?}, closed after {closed:?}, expected {:?} {when}",
                c.what, c.allowed
            ));
        }
    }
    // The timeouts are audited, with their reason.
    let audit = &demo.app.audit;
    let entries = audit.entries(audit_before, audit.size().unwrap()).unwrap();
    let timeouts = entries
        .iter()
        .filter(|e| String::from_utf8_lossy(e).contains("body_read_timeout"))
        .count();
    if timeouts != 3 {
        unexpected.push(format!(
            "{timeouts} audit records of body_read_timeout, expected 3"
        ));
    }
    unexpected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_survives_hostile_and_slow_clients() {
    let started = Instant::now();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        hook(info);
    }));
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: dir.path().join("data"),
        header_read_timeout: HEADER_TIMEOUT,
        body_read_timeout: BODY_TIMEOUT,
        ..Options::default()
    };
    let demo = setup::start(&options).await.unwrap();
    let mut conn = demo.connect().await.unwrap();
    let reply = scenario::private_key_jwt_token(&mut conn, &demo.load)
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.text("access_token");
    let mut unexpected = Vec::new();

    // (a) Malformed and oversized requests, one connection each.
    for h in hostile_requests() {
        let seen = exchange(&demo, &h.bytes, h.half_close).await;
        println!("{}: {seen:?}", h.what);
        if !seen.closed || !seen.statuses.iter().all(|s| h.allowed.contains(s)) {
            unexpected.push(format!("{}: {seen:?}, allowed {:?}", h.what, h.allowed));
        }
        let still = conn
            .call(&demo.load, &Call::get("/v1/accounts/acc-router", &token))
            .await;
        if !still.is_ok_and(|r| r.status == StatusCode::OK && r.signed) {
            unexpected.push(format!("after {}: the server stopped serving", h.what));
        }
    }

    // (b) and (c): slow clients while signed requests run concurrently.
    let (slow, signed) = tokio::join!(slow_clients(&demo), signed_requests(&demo, &token));
    unexpected.extend(slow);
    unexpected.extend(signed);

    // (e) Stalled bodies, while signed requests keep being answered.
    unexpected.extend(stalled_bodies(&demo, &token).await);

    // (d) Nothing unexpected, no panic, the server still up and auditing.
    let reply = demo
        .connect()
        .await
        .unwrap()
        .call(&demo.load, &Call::get("/audit/checkpoint", &token))
        .await
        .unwrap();
    if reply.status != StatusCode::OK || !reply.signed {
        unexpected.push(format!("final request: {}", reply.status));
    }
    let audit_failures = demo.app.audit_failures.load(Ordering::Relaxed);
    if audit_failures != 0 {
        unexpected.push(format!("{audit_failures} audit records not written"));
    }
    assert!(!demo.server.is_finished(), "the server's accept loop ended");
    demo.server.abort();
    assert!(matches!(demo.server.await, Err(e) if e.is_cancelled()));
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a server task panicked");
    assert!(unexpected.is_empty(), "unexpected: {unexpected:#?}");
    println!("done in {:?}", started.elapsed());
}

/// The README's worked session is the one `--serve` prints, with the
/// README's placeholder values.
#[test]
fn readme_shows_the_worked_session_the_server_prints() {
    let readme = include_str!("../README.md");
    let session = setup::worked_session(
        "https://localhost:41873",
        "/…/tresor-demo-data/ca.pem",
        "/…/tresor-demo-data/client-ed25519.pem",
        "Urk2PzCgrr5nRyOZS9KUXndwauQGkkLRdkHvUFuOFLw",
        "5bqnx2kZmXbqcU7q7hFrn3",
        r#"{"alg":"EdDSA","crv":"Ed25519","kty":"OKP","x":"…"}"#,
    );
    assert!(
        readme.contains(&session),
        "README.md's worked session differs from this one:\n{session}"
    );
}
