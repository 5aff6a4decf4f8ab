//! The whole demo in one process, no collector needed:
//!
//! ```sh
//! cargo run -p httptrace-demo --bin demo
//! ```
//!
//! Starts the demo server on `127.0.0.1:0` (its own thread and `tracing`
//! subscriber, service `demo-server`), calls it with the traced client
//! (service `demo-client`) twice — the second call reuses the connection —
//! keeps every span in memory and draws each trace as a waterfall. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set the spans are also exported over OTLP,
//! to see them in Jaeger.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use httptrace_demo::client::{self, CallResult};
use httptrace_demo::pipeline::{Exporters, Otlp, Pipeline};
use httptrace_demo::server;
use httptrace_demo::waterfall::{self, SpanView, Style};
use httptrace_otel::OtelTrace;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SpanData;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Runs the demo server and client in one process and draws the traces.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// How many calls (one trace each; from the second on, the client reuses
    /// its connection).
    #[arg(long, default_value_t = 2)]
    calls: usize,
    /// Pause between calls, in milliseconds (so the connection is back in
    /// the pool, idle, when the next call starts).
    #[arg(long, default_value_t = 50)]
    pause_ms: u64,
    /// The host name the client uses for the server: `localhost` shows a
    /// DNS lookup, `127.0.0.1` skips it.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// ANSI colours.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Width of the bars, in characters.
    #[arg(long, default_value_t = 48)]
    width: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let otlp = Otlp::from_env();
    let exporters = otlp.map(Exporters::new).transpose()?;
    let client_side = Pipeline::new("demo-client", exporters.as_ref())?;
    let server_side = Pipeline::new("demo-server", exporters.as_ref())?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    // The server: its own thread, runtime and `tracing` subscriber, as if it
    // were another process.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_subscriber = server_side.subscriber();
    let server_thread = std::thread::Builder::new()
        .name("demo-server".into())
        .spawn(move || -> Result<(), String> {
            let _default = tracing::subscriber::set_default(server_subscriber);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                server::serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .map_err(|e| e.to_string())
            })
        })
        .map_err(|e| e.to_string())?;

    // The client: the global subscriber, on a runtime of its own.
    tracing::subscriber::set_global_default(client_side.subscriber())
        .map_err(|e| format!("cannot install the tracing subscriber: {e}"))?;
    let url = format!("http://{}:{port}/", args.host);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let tracer = client_side.tracer(httptrace_otel::SCOPE_NAME);
    let calls: Result<Vec<CallResult>, String> = rt.block_on(async {
        let http = client::traced_client(OtelTrace::with_tracer(tracer).metrics(false))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for i in 0..args.calls.max(1) {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
            }
            out.push(
                client::call(&http, &url)
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?,
            );
        }
        Ok(out)
    });
    let calls = calls?;

    // The server's spans end when it has written the body, a moment after
    // the client read it: wait for them (each call: the client's call span
    // and 2 hops; the server's 2 request spans and the simulated work).
    let want = 3 * calls.len();
    let enough = |s: &[SpanData]| s.len() >= want;
    let server_spans = server_side
        .capture()
        .wait_for(Duration::from_secs(5), enough);
    let client_spans = client_side
        .capture()
        .wait_for(Duration::from_secs(5), enough);
    let _ = stop.send(());
    match server_thread.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("demo: server: {e}"),
        Err(_) => eprintln!("demo: server thread panicked"),
    }

    let mut views: Vec<SpanView> = Vec::new();
    views.extend(
        client_spans
            .iter()
            .map(|s| SpanView::from_data(client_side.service(), s)),
    );
    views.extend(
        server_spans
            .iter()
            .map(|s| SpanView::from_data(server_side.service(), s)),
    );
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let style = Style {
        color,
        bar_width: args.width,
    };
    for (i, call) in calls.iter().enumerate() {
        println!(
            "call {} of {}: GET {url} → {} {:?}",
            i + 1,
            calls.len(),
            call.status,
            call.body
        );
        println!();
        print!("{}", waterfall::render(&views, &call.trace_id, style));
        println!();
    }
    println!(
        "phases from the hook events: dns = dns_start→dns_done, connect = connect_start→connect_done, \
         tls = tls_handshake_start→done, wait = wrote_request→got_first_response_byte, \
         transfer = got_first_response_byte→body_done"
    );
    if views
        .iter()
        .any(|v| v.is_hop() && v.phases().iter().any(|p| p.spare))
    {
        println!(
            "spare dial: while the previous hop's connection went back to the pool, the pool \
             started a new one; the pooled connection won, the new one stays idle for later"
        );
    }

    let flushed = [client_side.shutdown(), server_side.shutdown()];
    if let Some(e) = &exporters {
        let otlp = e.otlp();
        println!(
            "exported over OTLP ({:?}) to {}: in Jaeger, service demo-client, or {}/trace/{}",
            otlp.protocol,
            otlp.endpoint,
            std::env::var("JAEGER_UI").unwrap_or_else(|_| "http://localhost:16686".into()),
            calls
                .first()
                .map(|c| c.trace_id.as_str())
                .unwrap_or_default()
        );
    }
    drop(exporters);
    for r in flushed {
        r.map_err(|e| format!("OTLP export: {e}"))?;
    }
    Ok(())
}
