//! What the OpenTelemetry pipeline costs per outbound request, in one
//! process, side by side with the incumbent.
//!
//! # What runs
//!
//! - An HTTP/1.1 server (hyper, keep-alive, `GET` answered with a 13-byte
//!   body) on 127.0.0.1, on its own thread and current-thread runtime,
//!   pinned to core 1.
//! - An OTLP receiver on its own thread and current-thread runtime, also
//!   pinned to core 1, serving both OTLP transports on 127.0.0.1, one port
//!   each: gRPC (tonic, `opentelemetry-proto`'s collector `TraceService`
//!   and `MetricsService`) and HTTP/protobuf (a hyper HTTP/1.1 server,
//!   keep-alive, `POST /v1/traces` and `POST /v1/metrics` with protobuf
//!   bodies decoded with prost, answered 200 with the encoded empty export
//!   response; a compressed body is refused, as neither exporter compresses
//!   by default). Both paths decode every export request and count it with
//!   the same function, and both run on the one thread whose CPU clock is
//!   the receiver's column. The receiver runs at nice 10
//!   (`--receiver-priority low`, the default; `normal` and `idle` are the
//!   others): a collector runs on another machine, but here it shares core
//!   1 with the server, and at equal priority each export's decoding
//!   (milliseconds per batch of 512 spans) delayed the server's replies,
//!   hence the client, the more so for the variant whose spans take longer
//!   to decode. At nice 10 the server preempts it on wake-up and outweighs
//!   it about nine to one; its CPU is still counted, and a receiver that
//!   fell behind would show as dropped spans. (`idle`, `SCHED_IDLE`, let it
//!   fall behind: a round of reqwest-tracing at 64 in flight dropped 516
//!   spans.)
//! - Both OpenTelemetry variants export over the same transport, chosen by
//!   `--protocol`: `http` (OTLP/HTTP with protobuf bodies, the default:
//!   it is `Setup`'s default and the OpenTelemetry specification's) or
//!   `grpc`. The header line and the results table say which.
//! - The client variants, each round on a fresh thread pinned to core 0
//!   with a fresh current-thread tokio runtime, a fresh client and, for the
//!   OpenTelemetry variants, a fresh pipeline built on that thread (so the
//!   threads the pipeline starts, the SDK's batch span processor and the
//!   exporter's runtime (gRPC) or its reqwest blocking client's thread
//!   (HTTP), inherit the pinning to core 0: the client pays for
//!   its telemetry on its own core, as a one-core service would):
//!   - `plain`: `reqwest::Client`, no `tracing` subscriber.
//!   - `traced`: httptrace's traced client,
//!     `reqwest::Client::builder().traced()`, with no trace attached, no
//!     `tracing` subscriber.
//!   - `httptrace-otel`: the full pipeline as a user sets it up:
//!     [`httptrace_otel::Setup`] (OTLP over `--protocol` to the receiver:
//!     `.protocol(Protocol::HttpProtobuf)` or `Protocol::Grpc`, and
//!     `.endpoint()` the receiver's base URL, to which `Setup` appends
//!     `/v1/traces` and `/v1/metrics` for HTTP; metrics on,
//!     default batch settings, the SDK's default sampler, which is
//!     `ParentBased(AlwaysOn)`: every span is sampled) installed with
//!     `try_install()`, which sets the global tracer and meter providers
//!     and propagator the way `init()` does; and
//!     `Config::new().make_trace(OtelTrace::new())` for the client, built
//!     the `instrument` way: `reqwest::Client::builder().instrument(&config)`
//!     in a reqwest-middleware stack with `TraceMiddleware::new(&config)`
//!     (see `traced_otel_client`). One difference to `init()`: the
//!     global `tracing` subscriber can be set once per process, so the
//!     bench turns `install_subscriber` off and
//!     sets the very layer that subscriber would carry
//!     (`OtelGuard::tracing_layer()`, with its default filter) on a
//!     `tracing` registry as this thread's default dispatcher. The fmt
//!     (stderr log) layer is off, in this variant and the next.
//!   - `reqwest-tracing`: reqwest-middleware 0.5 + reqwest-tracing 0.7
//!     (`TracingMiddleware::default()`) on OpenTelemetry 0.32 (its newest
//!     line): opentelemetry-otlp 0.32's span exporter to the same receiver
//!     over the same transport, built as `Setup` builds its own: for HTTP,
//!     `.with_http()` with the `HttpBinary` protocol, the endpoint
//!     `<receiver>/v1/traces` (this exporter takes the signal's full URL
//!     when set in code) and its default reqwest blocking client, the same
//!     kind of client `Setup`'s HTTP exporter uses; for gRPC, `.with_tonic()`
//!     on a one-worker runtime of its own (as `Setup` does for gRPC); then
//!     the SDK's batch span processor
//!     with default settings, the W3C propagator as the 0.32 line's global
//!     propagator (so `traceparent` is injected, as in the variant above),
//!     and `tracing-opentelemetry` 0.33 with the tracer passed explicitly
//!     (no global tracer provider), filtered like the variant above, on a
//!     registry as this thread's default dispatcher. The filter adds
//!     `reqwest_tracing=info`: `DEFAULT_OTEL_FILTER`'s `reqwest=off` is a
//!     target prefix and would turn reqwest-tracing's own span off too.
//!   - `httptrace-otel-no-events`: `httptrace-otel` with
//!     `OtelTrace::new().hook_events(false)`: the same pipeline and spans,
//!     the hop span without its hook events and with the phases' durations
//!     as attributes instead.
//!   - `plain-parent`: `plain`'s client under `httptrace-otel`'s pipeline
//!     and subscriber: each request in the parent span, which is exported
//!     (one span per request); the baseline for sampled runs.
//!   - `middleware-parent`: `plain-parent`'s client behind
//!     reqwest-middleware with no middleware: the floor of any tracing
//!     done in a middleware.
//!   - `instrumented-parent`: (c)'s client (`instrument()` +
//!     `TraceMiddleware`) with no trace maker, under `plain-parent`'s
//!     pipeline: the hooks' machinery without the adapter.
//!   - `httptrace-otel-aggregates`: `httptrace-otel` with
//!     `OptInMetric::PhaseDuration` and `OptInMetric::RoundTrips` on: the
//!     same spans, and per hop its phase samples and its round trip
//!     counted (what `HTTPTRACE_METRICS=phase_duration,round_trips` adds).
//!
//! Every request runs inside `info_span!("parent")` (`.instrument`), at
//! concurrency 1 and 64 (that many tasks sending on one client).
//!
//! # What is counted
//!
//! Per variant, concurrency and round, after a short warm-up and a flush of
//! the pipeline, a measured window opens; it closes once the last request
//! is done *and* the pipeline was flushed (`force_flush` on the tracer and
//! meter providers, which returns when the receiver has answered the
//! export), so the export of the measured spans is inside the window.
//!
//! - Throughput: measured requests over the time to the last response;
//!   reported as the ratio to `plain` of the same round, [min, max] over
//!   rounds. Rounds rotate the order of the variants. The final flush
//!   comes after that time and is reported on its own (`flush ms`): a
//!   backlog the exporter had not caught up with shows there (its CPU is
//!   in the client CPU column either way), and in the second ratio, which
//!   counts the flush as part of the run's time.
//! - Client CPU µs per request: process CPU time
//!   (`CLOCK_PROCESS_CPUTIME_ID`, what `getrusage(RUSAGE_SELF)` reports, at
//!   ns resolution) over the window, minus the server thread's and the
//!   receiver thread's own CPU clocks (`pthread_getcpuclockid`). What is
//!   left is the client's runtime thread, the SDK's batch thread, the
//!   exporter's runtime thread (gRPC) or HTTP client thread (HTTP) and the
//!   flush helpers, plus the idle main thread.
//! - Allocations per request: a counting global allocator, by thread role;
//!   the client role is every thread but the server's and the receiver's
//!   (so the SDK and exporter threads count as client), shown as the sum
//!   and split into the client's runtime thread (the request path) and the
//!   other client threads (batch processor, exporter, flush). `allocs`
//!   counts `alloc` and `alloc_zeroed` calls, `reallocs` counts `realloc`
//!   calls.
//!   The counter runs in every variant, so it costs all of them alike.
//! - Spans per request: what the receiver decoded in the window over the
//!   measured requests, against what the variant must produce (the hop
//!   span + the parent span for both `httptrace-otel` variants, the
//!   parent + the request span for `reqwest-tracing`). A round that lost a
//!   span marks its row INVALID and prints no ratio for it.
//! - Receiver CPU µs per request: the receiver thread's CPU clock over the
//!   window. A second table gives what the receiver decoded per request:
//!   spans, span events, attributes and the encoded size of the exports.
//!
//! # Running
//!
//! `cargo bench -p otel-bench --bench pipeline` runs 7 rounds × 3 s per
//! variant and concurrency. `-- --smoke` runs 1 round of 300 requests each
//! (no thresholds; it exits non-zero only when spans were lost or a
//! response was wrong, which means the bench itself is broken). Options:
//! `--rounds N`, `--secs S`, `--requests N` (a count instead of a time),
//! `--protocol http|grpc` (the OTLP transport of both OpenTelemetry
//! variants, default `http`, i.e. `http/protobuf`),
//! `--max-queue N` (the batch span processor's queue bound in both
//! OpenTelemetry variants instead of the default 2048: with the default,
//! both can drop spans at 64 in flight on one core, which marks them INVALID),
//! `--variant NAME[,NAME]` (`plain`, `traced`, `httptrace-otel`,
//! `reqwest-tracing`, `httptrace-otel-no-events`,
//! `httptrace-otel-aggregates`, `plain-parent`), `--concurrency N[,N]`,
//! e.g. for a profile:
//! `-- --variant httptrace-otel --concurrency 64 --rounds 1 --secs 20`.
//! `--receiver-priority low|normal|idle` (the receiver's scheduling
//! against the server, default `low`, see above);
//! `--otel-metrics on|off` (httptrace-otel's metrics, `Setup::metrics` and
//! `OtelTrace::metrics`, default `on`; reqwest-tracing records none);
//! `--sampler-ratio R` samples like a production service: both SDKs get
//! `OTEL_TRACES_SAMPLER=parentbased_traceidratio` and
//! `OTEL_TRACES_SAMPLER_ARG=R`, the parent span is sampled at ratio R and
//! its children follow; the load counts which parents were sampled, and a
//! variant must deliver its spans for those (and no others). Then the
//! column "vs (g)" is what matters: `plain-parent` is plain reqwest inside
//! the same parent span under the same subscriber and pipeline, so the
//! cost of the parent span itself is in the baseline;
//! `--collector-down` points the exporters at a closed port instead of the
//! receiver, with either protocol (every span is then lost, as expected,
//! and the rows say so);
//! the process's peak RSS (`VmHWM`) is printed at the end, for the memory
//! bound: `-- --variant httptrace-otel --concurrency 64 --rounds 1
//! --requests 1000000 [--collector-down]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use httptrace::reqwest::{ClientBuilderExt, Config, TraceMiddleware};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tracing::Instrument as _;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// The body the server answers every GET with: 13 bytes.
const BODY: &[u8] = b"hello, world\n";

mod alloc_count;
mod cpu;
mod load;
mod receiver;
mod report;
mod server;
mod variants;

use alloc_count::*;
use cpu::*;
use load::*;
use receiver::*;
use report::*;
use server::*;
use variants::*;

struct Options {
    protocol: Protocol,
    collector_down: bool,
    smoke: bool,
    rounds: usize,
    plan: Plan,
    tuning: Tuning,
    variants: Vec<Variant>,
    concurrency: Vec<usize>,
    /// The receiver's scheduling against the server (default low).
    receiver_priority: Priority,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter().position(|a| a == name).map(|i| {
            args.get(i + 1)
                .unwrap_or_else(|| panic!("{name} needs a value"))
        })
    };
    let smoke = args.iter().any(|a| a == "--smoke" || a == "--test");
    let rounds = value("--rounds").map_or(if smoke { 1 } else { 7 }, |v| v.parse().unwrap());
    let plan = match (value("--requests"), value("--secs")) {
        (Some(n), _) => Plan::Count(n.parse().unwrap()),
        (None, Some(s)) => Plan::For(Duration::from_secs_f64(s.parse().unwrap())),
        (None, None) if smoke => Plan::Count(300),
        (None, None) => Plan::For(Duration::from_secs(3)),
    };
    let variants = value("--variant").map_or(VARIANTS.to_vec(), |list| {
        list.split(',')
            .map(|n| {
                *VARIANTS
                    .iter()
                    .find(|v| v.name() == n)
                    .unwrap_or_else(|| panic!("unknown variant {n}"))
            })
            .collect()
    });
    let concurrency = value("--concurrency").map_or(vec![1, 64], |list| {
        list.split(',').map(|n| n.parse().unwrap()).collect()
    });
    let tuning = Tuning {
        max_queue: value("--max-queue").map(|n| n.parse().unwrap()),
        otel_metrics: match value("--otel-metrics").map(String::as_str) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => panic!("--otel-metrics on|off, not {other}"),
        },
        sampled: value("--sampler-ratio").is_some(),
    };
    if let Some(ratio) = value("--sampler-ratio") {
        let r: f64 = ratio.parse().expect("--sampler-ratio 0..1");
        assert!((0.0..=1.0).contains(&r), "--sampler-ratio 0..1, not {r}");
        // SAFETY: at start-up, before any thread of ours exists; both SDKs
        // read these when their providers are built.
        unsafe {
            std::env::set_var("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
            std::env::set_var("OTEL_TRACES_SAMPLER_ARG", ratio);
        }
    }
    let collector_down = args.iter().any(|a| a == "--collector-down");
    let protocol = value("--protocol").map_or(Protocol::Http, |p| Protocol::parse(p));
    let receiver_priority =
        value("--receiver-priority").map_or(Priority::Low, |p| Priority::parse(p));
    Options {
        protocol,
        collector_down,
        smoke,
        rounds,
        plan,
        tuning,
        variants,
        concurrency,
        receiver_priority,
    }
}

fn main() {
    let opts = options();
    let (server, server_clock, pinned) = start_server();
    let (addrs, received, receiver_clock, priority_granted) =
        start_receiver(opts.receiver_priority);
    // Bound and never listening, for the whole run: connects are refused and
    // no other socket can take the port.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    let endpoint: Arc<str> = if opts.collector_down {
        closed.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let port = closed.local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}").into()
    } else {
        match opts.protocol {
            Protocol::Grpc => format!("http://{}", addrs.grpc),
            Protocol::Http => format!("http://{}", addrs.http),
        }
        .into()
    };
    let rss_at_start = status_kib("VmRSS");
    let env = Env {
        url_port: server.port(),
        server_clock,
        receiver_clock,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "otel-pipeline bench: OTLP {} to {} ({}), {} round(s), {}, span queue {}, httptrace-otel metrics {}, {} cores; server and receiver {} core 1 (receiver priority {}), clients on core 0",
        opts.protocol.name(),
        endpoint,
        if opts.collector_down {
            "collector down: closed port"
        } else {
            "in-process receiver"
        },
        opts.rounds,
        match opts.plan {
            Plan::For(d) => format!("{:.1} s per variant", d.as_secs_f64()),
            Plan::Count(n) => format!("{n} requests per variant"),
        },
        opts.tuning
            .max_queue
            .map_or("2048 (default)".to_string(), |n| n.to_string()),
        if opts.tuning.otel_metrics {
            "on"
        } else {
            "off"
        },
        cores,
        if pinned {
            "pinned to"
        } else {
            "NOT pinned (no core 1):"
        },
        if priority_granted {
            opts.receiver_priority.name()
        } else {
            "normal: the requested one was refused"
        },
    );
    // runs[concurrency index][variant index] = one Run per round
    let mut runs = vec![vec![Vec::new(); opts.variants.len()]; opts.concurrency.len()];
    for round in 0..opts.rounds {
        for (ci, &concurrency) in opts.concurrency.iter().enumerate() {
            // Rotate the order each round, so no variant always goes first.
            let n = opts.variants.len();
            for k in 0..n {
                let vi = (k + round) % n;
                let variant = opts.variants[vi];
                let run = run_variant(
                    variant,
                    opts.protocol,
                    concurrency,
                    opts.plan,
                    opts.tuning,
                    env,
                    endpoint.clone(),
                    received.clone(),
                );
                eprintln!(
                    "round {} in-flight {concurrency:>2} {:<16} {:>8.0} req/s  client {:>6.1} µs/req  spans {}/{}  receiver {:>5.1} µs/req",
                    round + 1,
                    variant.name(),
                    run.rate(),
                    run.per_req(run.client_cpu_ns) / 1e3,
                    run.spans,
                    variant.expected_spans() * run.sampled,
                    run.per_req(run.receiver_cpu_ns) / 1e3,
                );
                runs[ci][vi].push(run);
            }
        }
    }
    let invalid = report(&opts, &runs);
    println!(
        "\npeak RSS (VmHWM) {:.1} MiB; RSS at start {:.1} MiB, at the end {:.1} MiB; collector {}",
        status_kib("VmHWM") as f64 / 1024.0,
        rss_at_start as f64 / 1024.0,
        status_kib("VmRSS") as f64 / 1024.0,
        if opts.collector_down {
            "down (closed port)"
        } else {
            "up (in-process receiver)"
        },
    );
    println!(
        "\n(receiver: {} trace exports, {} metric exports in all)",
        received.trace_exports.load(Ordering::Relaxed),
        received.metric_exports.load(Ordering::Relaxed)
    );
    if invalid && opts.smoke {
        eprintln!("otel-pipeline bench: spans were lost in a smoke run: the bench is broken");
        std::process::exit(1);
    }
}
