//! The variants: plain reqwest, httptrace with no trace, the httptrace-otel
//! pipeline, reqwest-tracing, the httptrace-otel pipeline without hook
//! events, the httptrace-otel pipeline with the per-upstream aggregates;
//! their clients and pipelines.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    Plain,
    Traced,
    HttptraceOtel,
    ReqwestTracing,
    /// (c) with `OtelTrace::hook_events(false)`.
    HttptraceOtelNoEvents,
    /// (c) with `httptrace.client.phase.duration` and
    /// `httptrace.client.round_trips` on.
    HttptraceOtelAggregates,
    /// Plain reqwest inside the parent span under (c)'s subscriber and
    /// pipeline: the baseline of a service that traces its own spans but
    /// not its HTTP calls (what sampling is measured against).
    PlainParent,
    /// Plain reqwest behind reqwest-middleware with no middleware, in the
    /// parent span under (c)'s subscriber: what any middleware-based
    /// tracing starts from.
    MiddlewareParent,
    /// (c)'s client (`instrument()` + `TraceMiddleware`) with no trace
    /// maker, in the parent span under (c)'s subscriber: the hooks'
    /// machinery with no adapter.
    InstrumentedParent,
}

pub(crate) const VARIANTS: [Variant; 9] = [
    Variant::Plain,
    Variant::Traced,
    Variant::HttptraceOtel,
    Variant::ReqwestTracing,
    Variant::HttptraceOtelNoEvents,
    Variant::HttptraceOtelAggregates,
    Variant::PlainParent,
    Variant::MiddlewareParent,
    Variant::InstrumentedParent,
];

impl Variant {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Traced => "traced",
            Variant::HttptraceOtel => "httptrace-otel",
            Variant::ReqwestTracing => "reqwest-tracing",
            Variant::HttptraceOtelNoEvents => "httptrace-otel-no-events",
            Variant::HttptraceOtelAggregates => "httptrace-otel-aggregates",
            Variant::PlainParent => "plain-parent",
            Variant::MiddlewareParent => "middleware-parent",
            Variant::InstrumentedParent => "instrumented-parent",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Variant::Plain => "(a) plain reqwest",
            Variant::Traced => "(b) httptrace, no trace attached",
            Variant::HttptraceOtel => "(c) httptrace-otel pipeline",
            Variant::ReqwestTracing => "(d) reqwest-tracing 0.7 + OTel 0.32",
            Variant::HttptraceOtelNoEvents => "(e) (c) with hook_events(false)",
            Variant::HttptraceOtelAggregates => "(f) (c) with phase_duration + round_trips",
            Variant::PlainParent => "(g) plain reqwest in (c)'s parent span and subscriber",
            Variant::MiddlewareParent => "(h) (g) behind reqwest-middleware, no middleware",
            Variant::InstrumentedParent => "(i) (c)'s client and middleware, no trace maker",
        }
    }

    /// Spans the receiver must get per request.
    pub(crate) fn expected_spans(self) -> u64 {
        match self {
            Variant::Plain | Variant::Traced => 0,
            // The hop span + the parent span (tracing-opentelemetry).
            Variant::HttptraceOtel
            | Variant::HttptraceOtelNoEvents
            | Variant::HttptraceOtelAggregates => 2,
            // The parent span + reqwest-tracing's request span.
            Variant::ReqwestTracing => 2,
            // The parent span alone.
            Variant::PlainParent | Variant::MiddlewareParent | Variant::InstrumentedParent => 1,
        }
    }
}

pub(crate) enum BenchClient {
    Plain(reqwest::Client),
    Traced(httptrace::reqwest::Client),
    Middleware(reqwest_middleware::ClientWithMiddleware),
}

impl BenchClient {
    /// One GET, body read to the end; its length.
    pub(crate) async fn get(&self, url: &str) -> usize {
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
pub(crate) fn traced_otel_client(config: &Config) -> reqwest_middleware::ClientWithMiddleware {
    // Spelled out: with `tracing::Instrument` in scope (as in most async
    // code, and here) `builder.instrument(config)` is ambiguous (E0034).
    let client = ClientBuilderExt::instrument(reqwest::Client::builder(), config).unwrap();
    reqwest_middleware::ClientBuilder::new(client)
        .with(TraceMiddleware::new(config))
        .build()
}

/// The pipelines' settings the command line can change.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    /// The batch span processor's queue bound, `None` for the default
    /// (2048), in both OpenTelemetry variants.
    pub(crate) max_queue: Option<usize>,
    /// httptrace-otel's metrics (`Setup::metrics`, `OtelTrace::metrics`);
    /// reqwest-tracing records none.
    pub(crate) otel_metrics: bool,
    /// `--sampler-ratio`: both SDKs sample by `OTEL_TRACES_SAMPLER` =
    /// `parentbased_traceidratio` (set in the environment at start-up), and
    /// the load counts which parents were sampled.
    pub(crate) sampled: bool,
}

/// What a variant installs besides its client: the `tracing` dispatcher
/// and the providers to flush.
pub(crate) enum Pipeline {
    None,
    HttptraceOtel {
        guard: httptrace_otel::OtelGuard,
        dispatch: tracing::Dispatch,
        metrics: bool,
    },
    ReqwestTracing {
        provider: opentelemetry_sdk_032::trace::SdkTracerProvider,
        dispatch: tracing::Dispatch,
        runtime: Option<tokio::runtime::Runtime>,
    },
}

impl Pipeline {
    /// `endpoint`: the receiver's base URL for `protocol` (no signal path).
    pub(crate) fn new(
        variant: Variant,
        protocol: Protocol,
        endpoint: &str,
        tuning: Tuning,
    ) -> Pipeline {
        let max_queue = tuning.max_queue;
        match variant {
            Variant::Plain | Variant::Traced => Pipeline::None,
            Variant::HttptraceOtel
            | Variant::HttptraceOtelNoEvents
            | Variant::HttptraceOtelAggregates
            | Variant::PlainParent
            | Variant::MiddlewareParent
            | Variant::InstrumentedParent => {
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
                    .metrics(tuning.otel_metrics)
                    .fmt(false)
                    .install_subscriber(false)
                    .try_install()
                    .expect("httptrace-otel pipeline");
                let dispatch = tracing::Dispatch::new(
                    tracing_subscriber::registry().with(guard.tracing_layer()),
                );
                Pipeline::HttptraceOtel {
                    guard,
                    dispatch,
                    metrics: tuning.otel_metrics,
                }
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

    pub(crate) fn client(&self, variant: Variant) -> BenchClient {
        match variant {
            Variant::Plain | Variant::PlainParent => BenchClient::Plain(reqwest::Client::new()),
            Variant::Traced => BenchClient::Traced(reqwest::Client::builder().traced().unwrap()),
            Variant::HttptraceOtel
            | Variant::HttptraceOtelNoEvents
            | Variant::HttptraceOtelAggregates => {
                let metrics = matches!(self, Pipeline::HttptraceOtel { metrics: true, .. });
                let mut trace = httptrace_otel::OtelTrace::new()
                    .hook_events(variant != Variant::HttptraceOtelNoEvents)
                    .metrics(metrics);
                if variant == Variant::HttptraceOtelAggregates {
                    trace = trace
                        .enable_metric(httptrace_otel::OptInMetric::PhaseDuration)
                        .enable_metric(httptrace_otel::OptInMetric::RoundTrips);
                }
                BenchClient::Middleware(traced_otel_client(&Config::new().make_trace(trace)))
            }
            Variant::MiddlewareParent => BenchClient::Middleware(
                reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build(),
            ),
            Variant::InstrumentedParent => {
                BenchClient::Middleware(traced_otel_client(&Config::new()))
            }
            Variant::ReqwestTracing => BenchClient::Middleware(
                reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                    .with(reqwest_tracing::TracingMiddleware::default())
                    .build(),
            ),
        }
    }

    /// Whether a parent span was sampled, read through the variant's own
    /// `tracing-opentelemetry` line; `None` without a pipeline.
    pub(crate) fn sampled_probe(&self) -> Option<fn(&tracing::Span) -> bool> {
        match self {
            Pipeline::None => None,
            Pipeline::HttptraceOtel { .. } => Some(|span| {
                use opentelemetry::trace::TraceContextExt as _;
                use tracing_opentelemetry::OpenTelemetrySpanExt as _;
                span.context().span().span_context().is_sampled()
            }),
            Pipeline::ReqwestTracing { .. } => Some(|span| {
                use opentelemetry_032::trace::TraceContextExt as _;
                use tracing_opentelemetry_033::OpenTelemetrySpanExt as _;
                span.context().span().span_context().is_sampled()
            }),
        }
    }

    pub(crate) fn dispatch(&self) -> Option<&tracing::Dispatch> {
        match self {
            Pipeline::None => None,
            Pipeline::HttptraceOtel { dispatch, .. }
            | Pipeline::ReqwestTracing { dispatch, .. } => Some(dispatch),
        }
    }

    /// Exports everything ended so far; returns when the receiver answered.
    /// A failed flush is reported, not fatal: with `--collector-down` it is
    /// the point, and otherwise the span count marks the row INVALID.
    pub(crate) fn flush(&self) {
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

    pub(crate) fn shutdown(self) {
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
