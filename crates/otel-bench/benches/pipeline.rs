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
//!   the receiver's column.
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
//!   span + the parent span for `httptrace-otel`, the parent + the request
//!   span for `reqwest-tracing`). A round that lost a span marks its row
//!   INVALID and prints no ratio for it.
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
//! `reqwest-tracing`), `--concurrency N[,N]`, e.g. for a profile:
//! `-- --variant httptrace-otel --concurrency 64 --rounds 1 --secs 20`.
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

// ---------------------------------------------------------------------------
// Allocation counting, by thread role.

/// Every thread not named below: the OpenTelemetry SDK's batch thread,
/// the exporter's runtime, flush helpers, the (idle) main thread.
const ROLE_CLIENT: u8 = 0;
const ROLE_SERVER: u8 = 1;
const ROLE_RECEIVER: u8 = 2;
/// The client's runtime thread: the request path.
const ROLE_REQUESTS: u8 = 3;

thread_local! {
    static ROLE: Cell<u8> = const { Cell::new(ROLE_CLIENT) };
}

/// One cache line per counter, so the cores do not share one.
#[repr(align(64))]
struct Counter(AtomicU64);

static ALLOCS: [Counter; 4] = [
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
];
static REALLOCS: [Counter; 4] = [
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
];

fn count(counters: &[Counter; 4], role: u8) -> u64 {
    counters[role as usize].0.load(Ordering::Relaxed)
}

fn role() -> usize {
    ROLE.try_with(|r| r.get()).unwrap_or(ROLE_CLIENT) as usize
}

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS[role()].0.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS[role()].0.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS[role()].0.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------
// CPU clocks and pinning.

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock})");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The CPU clock of the calling thread, readable from any thread while this
/// one lives.
fn this_thread_cpu_clock() -> libc::clockid_t {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self() is the calling thread; `id` is writable.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    assert_eq!(rc, 0, "pthread_getcpuclockid");
    id
}

/// Pins the calling thread (and the threads it starts from now on) to one
/// core. False when the machine has no such core.
fn pin_to(core: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is an empty set; the set outlives the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

// ---------------------------------------------------------------------------
// The HTTP server.

/// Starts the server on its own thread; returns its address, its thread's
/// CPU clock and whether it is pinned.
fn start_server() -> (SocketAddr, libc::clockid_t, bool) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            ROLE.with(|r| r.set(ROLE_SERVER));
            let pinned = pin_to(1);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                tx.send((addr, this_thread_cpu_clock(), pinned)).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    tcp.set_nodelay(true).ok();
                    tokio::spawn(async move {
                        let service = service_fn(|_req| async {
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(BODY),
                            )))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    });
                }
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

// ---------------------------------------------------------------------------
// The OTLP receiver: gRPC and HTTP/protobuf.

/// The OTLP transport both OpenTelemetry variants export over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// OTLP/gRPC (tonic on both ends).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`POST /v1/traces`, `/v1/metrics`).
    Http,
}

impl Protocol {
    fn parse(s: &str) -> Protocol {
        match s {
            "grpc" => Protocol::Grpc,
            "http" | "http/protobuf" => Protocol::Http,
            other => panic!("unknown protocol {other} (grpc, http)"),
        }
    }

    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` spelling.
    fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http/protobuf",
        }
    }
}

#[derive(Default)]
struct Received {
    spans: AtomicU64,
    /// Span events, in all spans.
    events: AtomicU64,
    /// Attributes of spans and of their events.
    attributes: AtomicU64,
    /// Encoded size of the export requests (protobuf, uncompressed).
    bytes: AtomicU64,
    trace_exports: AtomicU64,
    metric_exports: AtomicU64,
}

impl Received {
    /// Counts one decoded trace export, whichever transport brought it.
    fn count_traces(&self, request: &ExportTraceServiceRequest) {
        let spans = || {
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
        };
        let events: usize = spans().map(|s| s.events.len()).sum();
        let attributes: usize = spans()
            .map(|s| {
                s.attributes.len() + s.events.iter().map(|e| e.attributes.len()).sum::<usize>()
            })
            .sum();
        self.events.fetch_add(events as u64, Ordering::Relaxed);
        self.attributes
            .fetch_add(attributes as u64, Ordering::Relaxed);
        self.bytes.fetch_add(
            prost::Message::encoded_len(request) as u64,
            Ordering::Relaxed,
        );
        self.spans
            .fetch_add(spans().count() as u64, Ordering::Relaxed);
        self.trace_exports.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one decoded metric export, whichever transport brought it.
    fn count_metrics(&self, _request: &ExportMetricsServiceRequest) {
        self.metric_exports.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
struct Receiver(Arc<Received>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.count_traces(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.count_metrics(request.get_ref());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// A reply of the OTLP/HTTP receiver.
fn http_reply(
    status: hyper::StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

/// One OTLP/HTTP request: `POST /v1/traces` or `POST /v1/metrics` with a
/// protobuf body, decoded and counted like the gRPC path; the reply is the
/// encoded (empty) export response. Neither exporter compresses by default,
/// so a compressed body is refused (415), not guessed at: its spans would
/// then be missing and the row marked INVALID.
async fn otlp_http(
    received: &Received,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    use http_body_util::BodyExt as _;
    use prost::Message as _;
    const PROTOBUF: &str = "application/x-protobuf";
    const TEXT: &str = "text/plain";
    let bad = |status, text: String| http_reply(status, TEXT, text.into_bytes());
    let signal = match request.uri().path() {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        other => {
            return bad(
                hyper::StatusCode::NOT_FOUND,
                format!("no OTLP path {other}"),
            );
        }
    };
    if request.method() != hyper::Method::POST {
        return bad(
            hyper::StatusCode::METHOD_NOT_ALLOWED,
            "OTLP/HTTP takes POST".into(),
        );
    }
    if let Some(encoding) = request
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .filter(|e| e.as_bytes() != b"identity")
    {
        return bad(
            hyper::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content-encoding {encoding:?} is not supported by the bench receiver"),
        );
    }
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return bad(hyper::StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let reply = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(|request| {
            received.count_traces(&request);
            ExportTraceServiceResponse {
                partial_success: None,
            }
            .encode_to_vec()
        }),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(|request| {
            received.count_metrics(&request);
            ExportMetricsServiceResponse {
                partial_success: None,
            }
            .encode_to_vec()
        }),
    };
    match reply {
        Ok(encoded) => http_reply(hyper::StatusCode::OK, PROTOBUF, encoded),
        Err(e) => bad(hyper::StatusCode::BAD_REQUEST, format!("protobuf: {e}")),
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Metrics,
}

/// Where the receiver listens: one port per transport, on 127.0.0.1.
struct ReceiverAddrs {
    grpc: SocketAddr,
    http: SocketAddr,
}

/// Starts the receiver on its own thread: the gRPC server and the OTLP/HTTP
/// server (hyper, HTTP/1.1, keep-alive) on one current-thread runtime, so
/// both are measured by the same thread CPU clock. Returns their addresses,
/// the counters and that clock.
fn start_receiver() -> (ReceiverAddrs, Arc<Received>, libc::clockid_t) {
    let (tx, rx) = std::sync::mpsc::channel();
    let received = Arc::new(Received::default());
    let counts = received.clone();
    std::thread::Builder::new()
        .name("bench-receiver".into())
        .spawn(move || {
            ROLE.with(|r| r.set(ROLE_RECEIVER));
            pin_to(1);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addrs = ReceiverAddrs {
                    grpc: grpc.local_addr().unwrap(),
                    http: http.local_addr().unwrap(),
                };
                tx.send((addrs, this_thread_cpu_clock())).unwrap();
                let http_counts = counts.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok((tcp, _)) = http.accept().await else {
                            continue;
                        };
                        tcp.set_nodelay(true).ok();
                        let counts = http_counts.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |request| {
                                let counts = counts.clone();
                                async move { Ok::<_, Infallible>(otlp_http(&counts, request).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(tcp), service)
                                .await;
                        });
                    }
                });
                let receiver = Receiver(counts);
                tonic::transport::Server::builder()
                    .add_service(
                        TraceServiceServer::new(receiver.clone())
                            .max_decoding_message_size(64 << 20),
                    )
                    .add_service(
                        MetricsServiceServer::new(receiver).max_decoding_message_size(64 << 20),
                    )
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc))
                    .await
                    .unwrap();
            });
        })
        .unwrap();
    let (addrs, clock) = rx.recv().unwrap();
    (addrs, received, clock)
}

// ---------------------------------------------------------------------------
// The variants.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Plain,
    Traced,
    HttptraceOtel,
    ReqwestTracing,
}

const VARIANTS: [Variant; 4] = [
    Variant::Plain,
    Variant::Traced,
    Variant::HttptraceOtel,
    Variant::ReqwestTracing,
];

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Traced => "traced",
            Variant::HttptraceOtel => "httptrace-otel",
            Variant::ReqwestTracing => "reqwest-tracing",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Variant::Plain => "(a) plain reqwest",
            Variant::Traced => "(b) httptrace, no trace attached",
            Variant::HttptraceOtel => "(c) httptrace-otel pipeline",
            Variant::ReqwestTracing => "(d) reqwest-tracing 0.7 + OTel 0.32",
        }
    }

    /// Spans the receiver must get per request.
    fn expected_spans(self) -> u64 {
        match self {
            Variant::Plain | Variant::Traced => 0,
            // The hop span + the parent span (tracing-opentelemetry).
            Variant::HttptraceOtel => 2,
            // The parent span + reqwest-tracing's request span.
            Variant::ReqwestTracing => 2,
        }
    }
}

enum BenchClient {
    Plain(reqwest::Client),
    Traced(httptrace::reqwest::Client),
    Middleware(reqwest_middleware::ClientWithMiddleware),
}

impl BenchClient {
    /// One GET, body read to the end; its length.
    async fn get(&self, url: &str) -> usize {
        let body = match self {
            BenchClient::Plain(c) => c.get(url).send().await.unwrap().bytes().await,
            BenchClient::Traced(c) => c.get(url).send().await.unwrap().bytes().await,
            BenchClient::Middleware(c) => c.get(url).send().await.unwrap().bytes().await,
        };
        body.unwrap().len()
    }
}

/// The client of variant (c), as the `instrument` API has a user build it:
/// the user's own `reqwest::Client` with the hooks installed, in a
/// reqwest-middleware stack with `TraceMiddleware`, which makes the
/// config's trace (the hop span) per round trip. (A plain `.send()` on the
/// instrumented client reports no round trip, hence no hop span.)
fn traced_otel_client(config: &Config) -> reqwest_middleware::ClientWithMiddleware {
    // Spelled out: with `tracing::Instrument` in scope (as in most async
    // code, and here) `builder.instrument(config)` is ambiguous (E0034).
    let client = ClientBuilderExt::instrument(reqwest::Client::builder(), config).unwrap();
    reqwest_middleware::ClientBuilder::new(client)
        .with(TraceMiddleware::new(config))
        .build()
}

/// What a variant installs besides its client: the `tracing` dispatcher
/// and the providers to flush.
enum Pipeline {
    None,
    HttptraceOtel {
        guard: httptrace_otel::OtelGuard,
        dispatch: tracing::Dispatch,
    },
    ReqwestTracing {
        provider: opentelemetry_sdk_032::trace::SdkTracerProvider,
        dispatch: tracing::Dispatch,
        runtime: Option<tokio::runtime::Runtime>,
    },
}

impl Pipeline {
    /// `endpoint`: the receiver's base URL for `protocol` (no signal path);
    /// `max_queue`: the batch span processor's queue bound, `None` for the
    /// default (2048).
    fn new(
        variant: Variant,
        protocol: Protocol,
        endpoint: &str,
        max_queue: Option<usize>,
    ) -> Pipeline {
        match variant {
            Variant::Plain | Variant::Traced => Pipeline::None,
            Variant::HttptraceOtel => {
                let mut setup = httptrace_otel::Setup::with_env(|_| None);
                if let Some(n) = max_queue {
                    setup = setup.max_queue_size(n);
                }
                // `Setup` takes the base URL for both transports and appends
                // `/v1/traces` and `/v1/metrics` for HTTP itself.
                let guard = setup
                    .service_name("otel-bench")
                    .protocol(match protocol {
                        Protocol::Grpc => httptrace_otel::Protocol::Grpc,
                        Protocol::Http => httptrace_otel::Protocol::HttpProtobuf,
                    })
                    .endpoint(endpoint)
                    .traces(true)
                    .metrics(true)
                    .fmt(false)
                    .install_subscriber(false)
                    .try_install()
                    .expect("httptrace-otel pipeline");
                let dispatch = tracing::Dispatch::new(
                    tracing_subscriber::registry().with(guard.tracing_layer()),
                );
                Pipeline::HttptraceOtel { guard, dispatch }
            }
            Variant::ReqwestTracing => {
                use opentelemetry_032::trace::TracerProvider as _;
                use opentelemetry_otlp_032::WithExportConfig as _;
                // As `Setup` does: the gRPC exporter gets a one-worker
                // runtime of its own; the HTTP exporter's reqwest blocking
                // client brings its own thread and needs none.
                let runtime = (protocol == Protocol::Grpc).then(|| {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(1)
                        .thread_name("reqwest-tracing-export")
                        .enable_all()
                        .build()
                        .unwrap()
                });
                let entered = runtime.as_ref().map(|rt| rt.enter());
                let exporter = match protocol {
                    Protocol::Grpc => opentelemetry_otlp_032::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint)
                        .build(),
                    // The 0.32 exporter takes the full URL of the signal
                    // when the endpoint is set in code.
                    Protocol::Http => opentelemetry_otlp_032::SpanExporter::builder()
                        .with_http()
                        .with_protocol(opentelemetry_otlp_032::Protocol::HttpBinary)
                        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
                        .build(),
                }
                .expect("OTLP 0.32 exporter");
                let mut batch = opentelemetry_sdk_032::trace::BatchConfigBuilder::default();
                if let Some(n) = max_queue {
                    batch = batch.with_max_queue_size(n);
                }
                let processor = opentelemetry_sdk_032::trace::BatchSpanProcessor::builder(exporter)
                    .with_batch_config(batch.build())
                    .build();
                let provider = opentelemetry_sdk_032::trace::SdkTracerProvider::builder()
                    .with_span_processor(processor)
                    .with_resource(
                        opentelemetry_sdk_032::Resource::builder()
                            .with_service_name("otel-bench")
                            .build(),
                    )
                    .build();
                drop(entered);
                opentelemetry_032::global::set_text_map_propagator(
                    opentelemetry_sdk_032::propagation::TraceContextPropagator::new(),
                );
                let layer = tracing_opentelemetry_033::layer()
                    .with_tracer(provider.tracer("otel-bench"))
                    .with_filter(tracing_subscriber::EnvFilter::new(format!(
                        "{},reqwest_tracing=info",
                        httptrace_otel::DEFAULT_OTEL_FILTER
                    )));
                let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
                Pipeline::ReqwestTracing {
                    provider,
                    dispatch,
                    runtime,
                }
            }
        }
    }

    fn client(&self, variant: Variant) -> BenchClient {
        match variant {
            Variant::Plain => BenchClient::Plain(reqwest::Client::new()),
            Variant::Traced => BenchClient::Traced(reqwest::Client::builder().traced().unwrap()),
            Variant::HttptraceOtel => BenchClient::Middleware(traced_otel_client(
                &Config::new().make_trace(httptrace_otel::OtelTrace::new()),
            )),
            Variant::ReqwestTracing => BenchClient::Middleware(
                reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                    .with(reqwest_tracing::TracingMiddleware::default())
                    .build(),
            ),
        }
    }

    fn dispatch(&self) -> Option<&tracing::Dispatch> {
        match self {
            Pipeline::None => None,
            Pipeline::HttptraceOtel { dispatch, .. }
            | Pipeline::ReqwestTracing { dispatch, .. } => Some(dispatch),
        }
    }

    /// Exports everything ended so far; returns when the receiver answered.
    /// A failed flush is reported, not fatal: with `--collector-down` it is
    /// the point, and otherwise the span count marks the row INVALID.
    fn flush(&self) {
        let result = match self {
            Pipeline::None => Ok(()),
            Pipeline::HttptraceOtel { guard, .. } => guard.force_flush().map_err(|e| e.to_string()),
            Pipeline::ReqwestTracing { provider, .. } => {
                provider.force_flush().map_err(|e| e.to_string())
            }
        };
        if let Err(e) = result {
            eprintln!("otel-pipeline bench: flush: {e}");
        }
    }

    fn shutdown(self) {
        match self {
            Pipeline::None => {}
            // Reported, not fatal, as in `flush`.
            Pipeline::HttptraceOtel { guard, .. } => {
                if let Err(e) = guard.shutdown() {
                    eprintln!("otel-pipeline bench: shutdown: {e}");
                }
            }
            Pipeline::ReqwestTracing {
                provider,
                mut runtime,
                ..
            } => {
                if let Err(e) = provider.shutdown() {
                    eprintln!("otel-pipeline bench: shutdown: {e}");
                }
                if let Some(rt) = runtime.take() {
                    rt.shutdown_background();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Load and measurement.

#[derive(Clone, Copy)]
enum Plan {
    For(Duration),
    Count(u64),
}

/// `concurrency` tasks sending GETs on one client until the plan is done;
/// the number of requests made.
async fn load(client: Arc<BenchClient>, url: Arc<str>, concurrency: usize, plan: Plan) -> u64 {
    let deadline = match plan {
        Plan::For(d) => Some(Instant::now() + d),
        Plan::Count(_) => None,
    };
    let left = Arc::new(AtomicU64::new(match plan {
        Plan::Count(n) => n,
        Plan::For(_) => u64::MAX,
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        let left = left.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d)
                    || left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_err()
                {
                    return done;
                }
                let n = client
                    .get(&url)
                    .instrument(tracing::info_span!("parent"))
                    .await;
                assert_eq!(n, BODY.len(), "wrong body length");
                done += 1;
            }
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.unwrap();
    }
    total
}

/// Counters read at both ends of a measured window.
#[derive(Clone, Copy)]
struct Snapshot {
    at: Instant,
    process_cpu: u64,
    server_cpu: u64,
    receiver_cpu: u64,
    spans: u64,
    allocs: u64,
    path_allocs: u64,
    reallocs: u64,
    events: u64,
    attributes: u64,
    bytes: u64,
}

#[derive(Clone, Copy)]
struct Env {
    url_port: u16,
    server_clock: libc::clockid_t,
    receiver_clock: libc::clockid_t,
}

impl Env {
    fn snapshot(&self, received: &Received) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            process_cpu: clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
            server_cpu: clock_ns(self.server_clock),
            receiver_cpu: clock_ns(self.receiver_clock),
            spans: received.spans.load(Ordering::SeqCst),
            allocs: count(&ALLOCS, ROLE_CLIENT) + count(&ALLOCS, ROLE_REQUESTS),
            path_allocs: count(&ALLOCS, ROLE_REQUESTS),
            reallocs: count(&REALLOCS, ROLE_CLIENT) + count(&REALLOCS, ROLE_REQUESTS),
            events: received.events.load(Ordering::SeqCst),
            attributes: received.attributes.load(Ordering::SeqCst),
            bytes: received.bytes.load(Ordering::SeqCst),
        }
    }
}

/// One variant at one concurrency in one round.
#[derive(Clone, Copy, Debug)]
struct Run {
    requests: u64,
    /// Seconds from the window's start to the last response.
    load_secs: f64,
    /// Seconds the final flush took (exporting what was still queued).
    flush_secs: f64,
    client_cpu_ns: u64,
    receiver_cpu_ns: u64,
    spans: u64,
    allocs: u64,
    path_allocs: u64,
    reallocs: u64,
    events: u64,
    attributes: u64,
    bytes: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.load_secs
    }
    /// Requests per second counting the time to export their spans too.
    fn sustained_rate(&self) -> f64 {
        self.requests as f64 / (self.load_secs + self.flush_secs)
    }
    fn per_req(&self, x: u64) -> f64 {
        x as f64 / self.requests as f64
    }
    fn dropped(&self, variant: Variant) -> i64 {
        (variant.expected_spans() * self.requests) as i64 - self.spans as i64
    }
}

#[allow(clippy::too_many_arguments)]
fn run_variant(
    variant: Variant,
    protocol: Protocol,
    concurrency: usize,
    plan: Plan,
    max_queue: Option<usize>,
    env: Env,
    endpoint: Arc<str>,
    received: Arc<Received>,
) -> Run {
    std::thread::Builder::new()
        .name(format!("bench-client-{}", variant.name()))
        .spawn(move || {
            ROLE.with(|r| r.set(ROLE_REQUESTS));
            pin_to(0);
            let url: Arc<str> = format!("http://127.0.0.1:{}/", env.url_port).into();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // Built on this (pinned) thread: the pipeline's threads inherit
            // the pinning.
            let pipeline = Pipeline::new(variant, protocol, &endpoint, max_queue);
            let _dispatch = pipeline.dispatch().map(tracing::dispatcher::set_default);
            let client = Arc::new(pipeline.client(variant));
            // Warm-up: connections open, first-use initialisation done, then
            // everything it exported is out of the way.
            rt.block_on(load(
                client.clone(),
                url.clone(),
                concurrency,
                Plan::Count(4 * concurrency as u64),
            ));
            pipeline.flush();
            let start = env.snapshot(&received);
            let requests = rt.block_on(load(client.clone(), url, concurrency, plan));
            let loaded = Instant::now();
            drop(client);
            pipeline.flush();
            let end = env.snapshot(&received);
            drop(_dispatch);
            pipeline.shutdown();
            drop(rt);
            let server = end.server_cpu - start.server_cpu;
            let receiver = end.receiver_cpu - start.receiver_cpu;
            let process = end.process_cpu - start.process_cpu;
            Run {
                requests,
                load_secs: loaded.duration_since(start.at).as_secs_f64(),
                flush_secs: end.at.duration_since(loaded).as_secs_f64(),
                client_cpu_ns: process.saturating_sub(server + receiver),
                receiver_cpu_ns: receiver,
                spans: end.spans - start.spans,
                allocs: end.allocs - start.allocs,
                path_allocs: end.path_allocs - start.path_allocs,
                reallocs: end.reallocs - start.reallocs,
                events: end.events - start.events,
                attributes: end.attributes - start.attributes,
                bytes: end.bytes - start.bytes,
            }
        })
        .unwrap()
        .join()
        .expect("client thread panicked")
}

// ---------------------------------------------------------------------------
// Report.

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

struct Options {
    protocol: Protocol,
    collector_down: bool,
    smoke: bool,
    rounds: usize,
    plan: Plan,
    max_queue: Option<usize>,
    variants: Vec<Variant>,
    concurrency: Vec<usize>,
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
    let max_queue = value("--max-queue").map(|n| n.parse().unwrap());
    let collector_down = args.iter().any(|a| a == "--collector-down");
    let protocol = value("--protocol").map_or(Protocol::Http, |p| Protocol::parse(p));
    Options {
        protocol,
        collector_down,
        smoke,
        rounds,
        plan,
        max_queue,
        variants,
        concurrency,
    }
}

fn main() {
    let opts = options();
    let (server, server_clock, pinned) = start_server();
    let (addrs, received, receiver_clock) = start_receiver();
    let endpoint: Arc<str> = if opts.collector_down {
        // A port that was just free: nothing listens there.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
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
        "otel-pipeline bench: OTLP {} to {} ({}), {} round(s), {}, span queue {}, {} cores; server and receiver {} core 1, clients on core 0",
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
        opts.max_queue
            .map_or("2048 (default)".to_string(), |n| n.to_string()),
        cores,
        if pinned {
            "pinned to"
        } else {
            "NOT pinned (no core 1):"
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
                    opts.max_queue,
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
                    variant.expected_spans() * run.requests,
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

/// A `kB` field of `/proc/self/status` (0 where there is none).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Prints the markdown table; true when a row is INVALID.
fn report(opts: &Options, runs: &[Vec<Vec<Run>>]) -> bool {
    let plain = opts.variants.iter().position(|&v| v == Variant::Plain);
    let mut invalid = false;
    println!();
    println!(
        "| variant | OTLP | in flight | req/s (median) | throughput vs plain [min, max] (counting the final flush) | client CPU µs/req, median [min, max] | allocs/req (request thread + other client threads) | reallocs/req | spans/req expected | spans/req got | receiver CPU µs/req | flush ms (median) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (ci, &concurrency) in opts.concurrency.iter().enumerate() {
        for (vi, &variant) in opts.variants.iter().enumerate() {
            let rs = &runs[ci][vi];
            let dropped: i64 = rs.iter().map(|r| r.dropped(variant)).sum();
            let requests: u64 = rs.iter().map(|r| r.requests).sum();
            let spans: u64 = rs.iter().map(|r| r.spans).sum();
            let bad_round = rs.iter().any(|r| r.dropped(variant) != 0);
            let ratio = if bad_round {
                invalid = true;
                if dropped > 0 {
                    format!("**INVALID: {dropped} spans dropped**")
                } else {
                    format!("**INVALID: {} unexpected spans**", -dropped)
                }
            } else if let Some(pi) = plain {
                let ratios = |f: fn(&Run) -> f64| -> (f64, f64) {
                    let v: Vec<f64> = rs
                        .iter()
                        .zip(&runs[ci][pi])
                        .map(|(r, p)| f(r) / f(p))
                        .collect();
                    min_max(&v)
                };
                let (lo, hi) = ratios(Run::rate);
                let (slo, shi) = ratios(Run::sustained_rate);
                format!("{lo:.2}–{hi:.2} ({slo:.2}–{shi:.2})")
            } else {
                "n/a (plain not run)".to_string()
            };
            if bad_round {
                eprintln!(
                    "\n!!! INVALID: {} at {concurrency} in flight: the receiver got {spans} spans for {requests} requests, expected {} !!!",
                    variant.label(),
                    variant.expected_spans() * requests
                );
            }
            let cpu: Vec<f64> = rs
                .iter()
                .map(|r| r.per_req(r.client_cpu_ns) / 1e3)
                .collect();
            let (cpu_lo, cpu_hi) = min_max(&cpu);
            println!(
                "| {} | {} | {concurrency} | {:.0} | {ratio} | {:.1} [{cpu_lo:.1}, {cpu_hi:.1}] | {:.1} ({:.1} + {:.1}) | {:.1} | {} | {:.3} | {:.1} | {:.1} |",
                variant.label(),
                if variant.expected_spans() == 0 {
                    "–"
                } else {
                    opts.protocol.name()
                },
                median(rs.iter().map(Run::rate).collect()),
                median(cpu),
                median(rs.iter().map(|r| r.per_req(r.allocs)).collect()),
                median(rs.iter().map(|r| r.per_req(r.path_allocs)).collect()),
                median(
                    rs.iter()
                        .map(|r| r.per_req(r.allocs - r.path_allocs))
                        .collect()
                ),
                median(rs.iter().map(|r| r.per_req(r.reallocs)).collect()),
                variant.expected_spans(),
                spans as f64 / requests as f64,
                median(
                    rs.iter()
                        .map(|r| r.per_req(r.receiver_cpu_ns) / 1e3)
                        .collect()
                ),
                median(rs.iter().map(|r| r.flush_secs * 1e3).collect()),
            );
        }
    }
    println!();
    println!(
        "What the receiver got per request over OTLP {} (median over rounds; OTLP bytes = encoded export requests, uncompressed):",
        opts.protocol.name()
    );
    println!();
    println!(
        "| variant | in flight | spans | span events | attributes (span + event) | OTLP bytes |"
    );
    println!("|---|---|---|---|---|---|");
    for (ci, &concurrency) in opts.concurrency.iter().enumerate() {
        for (vi, &variant) in opts.variants.iter().enumerate() {
            if variant.expected_spans() == 0 {
                continue;
            }
            let rs = &runs[ci][vi];
            let per = |f: fn(&Run) -> u64| median(rs.iter().map(|r| r.per_req(f(r))).collect());
            println!(
                "| {} | {concurrency} | {:.2} | {:.1} | {:.1} | {:.0} |",
                variant.label(),
                per(|r| r.spans),
                per(|r| r.events),
                per(|r| r.attributes),
                per(|r| r.bytes),
            );
        }
    }
    invalid
}
