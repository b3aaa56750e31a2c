//! `bank_api`: a brokerage API on tresor, end to end, in one process.
//!
//! A real HTTPS server (axum on tokio, rustls on *ring*, loopback only) and
//! a real HTTPS client run a scenario: token requests by `private_key_jwt`
//! and `client_secret_basic`, RFC 9421-signed API calls under a brokerage
//! signing profile with signed responses, orders envelope-encrypted under
//! per-account keys, crypto-shredding, a tamper-evident audit log with
//! signed checkpoints and inclusion proofs, refusals of every kind, and a
//! concurrent load phase. The last line of stdout is a JSON report; the
//! exit code is 0 only if every outcome was the expected one.
//!
//! `--serve` keeps the server running instead and prints a worked session
//! of calls by hand with the `tresor` CLI and curl, then, as the last line
//! of its start-up output, one JSON line for scripts (`url`, `ca_cert`,
//! `client_id`, `key_file`, `keyid`, `server_public_key`, …); `--listen`
//! takes a loopback address, port 0 for a free port.
//!
//! ```text
//! cargo run --release --example bank_api -- [--data-dir DIR] [--load N] [--concurrency C]
//! cargo run --release --example bank_api -- --serve [--listen 127.0.0.1:8443]
//! cargo run --release --example bank_api -- --postgres postgres://tresor@127.0.0.1/bank --redis redis://127.0.0.1:6379
//! ```
//!
//! With `--postgres` and `--redis`, the state several instances must share
//! leaves the process: client registrations and the audit log go to
//! PostgreSQL, nonces, client-assertion ids and rate limits to Redis
//! (`backends.rs`). Instances given the same URLs (and the same data
//! directory, for the keys) are one API behind a load balancer: a request
//! replayed against another instance is refused, rate limits count across
//! all of them, and they append to one audit log.

mod backends;
mod client;
mod data;
mod options;
mod profile;
mod scenario;
mod server;
mod setup;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) use options::Options;

fn parse_options() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--data-dir" => o.data_dir = PathBuf::from(value("--data-dir")?),
            "--load" => {
                o.load = value("--load")?
                    .parse()
                    .map_err(|_| "--load takes a number")?
            }
            "--concurrency" => {
                o.concurrency = value("--concurrency")?
                    .parse::<usize>()
                    .map_err(|_| "--concurrency takes a number")?
                    .max(1)
            }
            "--serve" => o.serve = true,
            "--listen" => {
                let addr: std::net::SocketAddr = value("--listen")?
                    .parse()
                    .map_err(|_| "--listen takes an address such as 127.0.0.1:8443")?;
                if !addr.ip().is_loopback() {
                    return Err("--listen: loopback addresses only (this is a demo)".into());
                }
                o.listen = Some(addr);
            }
            "--postgres" => o.postgres = Some(value("--postgres")?),
            "--redis" => o.redis = Some(value("--redis")?),
            "--postgres-ca" => o.postgres_ca = Some(PathBuf::from(value("--postgres-ca")?)),
            "--redis-ca" => o.redis_ca = Some(PathBuf::from(value("--redis-ca")?)),
            "-h" | "--help" => {
                return Err("usage: bank_api [--data-dir DIR] [--load N] [--concurrency C] [--serve [--listen ADDR]] [--postgres URL [--postgres-ca FILE]] [--redis URL [--redis-ca FILE]]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bank_api: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bank_api: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // The error and its causes ("credential store failure: …"):
            // library errors keep secrets and connection strings out.
            let mut line = e.to_string();
            let mut cause = e.source();
            while let Some(c) = cause {
                line.push_str(": ");
                line.push_str(&c.to_string());
                cause = c.source();
            }
            eprintln!("bank_api: {line}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<bool, client::BoxError> {
    let demo = setup::start(&options).await?;
    if options.serve {
        setup::print_serve_info(&demo)?;
        // The server runs until the process ends; its task ends only by
        // a panic.
        demo.server.await?;
        return Ok(true);
    }
    let report = scenario::run(&demo, &options).await?;
    Ok(report)
}
