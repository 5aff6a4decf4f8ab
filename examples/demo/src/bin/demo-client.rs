//! The demo client as a service: one top-level span, a traced GET of the
//! server's `/` (302 → `/gettime`), OTLP export configured by the standard
//! `OTEL_*` variables (service name `demo-client` unless
//! `OTEL_SERVICE_NAME` says otherwise).
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p httptrace-demo --bin demo-client -- --url http://127.0.0.1:8080/
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use httptrace_demo::{client, wait_for_tcp};
use httptrace_otel::OtelTrace;

/// Calls the demo server and prints what came back, with the trace id.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The server's URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/")]
    url: String,
    /// How many calls to make (one trace each; the same client, so later
    /// calls reuse the connection).
    #[arg(long, default_value_t = 1)]
    calls: usize,
    /// How long to wait for the server and the OTLP collector to accept
    /// connections first, in seconds (containers start in any order).
    #[arg(long, default_value_t = 30)]
    wait_secs: u64,
}

/// `host:port` of an `http(s)://` URL, if it has a host.
fn host_port(url: &str, default_port: u16) -> Option<(String, u16)> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u.host_str()?.trim_matches(['[', ']']).to_string();
    Some((host, u.port_or_known_default().unwrap_or(default_port)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let otel = httptrace_otel::Setup::from_env()
        .service_name("demo-client")
        .install();

    let wait = Duration::from_secs(args.wait_secs);
    let collector = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .ok()
        .filter(|v| !v.trim().is_empty());
    let mut targets: Vec<(&str, String)> = vec![("server", args.url.clone())];
    if let Some(c) = collector {
        targets.push(("collector", c));
    }
    for (what, url) in &targets {
        if let Some((host, port)) = host_port(url, 4318)
            && !wait_for_tcp(&host, port, wait).await
        {
            eprintln!(
                "demo-client: the {what} at {host}:{port} did not accept connections within {wait:?}"
            );
            if *what == "server" {
                return ExitCode::FAILURE;
            }
        }
    }

    let client = match client::traced_client(OtelTrace::new()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo-client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for _ in 0..args.calls.max(1) {
        match client::call(&client, &args.url).await {
            Ok(r) => println!(
                "trace_id={} status={} body={:?}",
                r.trace_id, r.status, r.body
            ),
            Err(e) => {
                eprintln!("demo-client: GET {}: {e}", args.url);
                failed = true;
            }
        }
    }
    if let Err(e) = otel.shutdown() {
        eprintln!("demo-client: telemetry flush: {e}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
