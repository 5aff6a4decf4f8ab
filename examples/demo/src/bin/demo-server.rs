//! The demo server as a service: OTLP export configured by the standard
//! `OTEL_*` variables (service name `demo-server` unless
//! `OTEL_SERVICE_NAME` says otherwise).
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p httptrace-demo --bin demo-server
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// Serves `/` (302 → `/gettime`) and `/gettime` (the time, after ~20 ms of
/// simulated work), continuing the caller's trace.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let otel = httptrace_otel::Setup::from_env()
        .service_name("demo-server")
        .install();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        // The first line of stdout: tests and scripts read the port here.
        Ok(addr) => println!("demo-server listening on http://{addr}/"),
        Err(e) => eprintln!("demo-server: {e}"),
    }
    let served = httptrace_demo::server::serve(listener, shutdown_signal()).await;
    tracing::info!("demo-server stopping");
    if let Err(e) = otel.shutdown() {
        eprintln!("demo-server: telemetry flush: {e}");
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-server: {e}");
            ExitCode::FAILURE
        }
    }
}
