//! The export pipeline for a service in one call: OTLP exporters (gRPC or
//! HTTP/protobuf), batch span processor, periodic metric reader, resource,
//! propagators, global providers and a `tracing` subscriber, configured by
//! the standard `OTEL_*` environment variables.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

use crate::export::errors::Signal;
use crate::guard::{DEFAULT_OTEL_FILTER, DEFAULT_SHUTDOWN_TIMEOUT, OtelGuard};

// What the `tracing` bridge adds to spans.
mod bridge;
// What the OTEL_* variables ask for.
mod env;
// The OTLP exporters `build` makes (gRPC or HTTP/protobuf).
mod exporters;

pub use bridge::BridgeDetails;

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over gRPC (tonic); default port 4317. Traces are encoded as
    /// over HTTP (straight from the SDK's spans) and sent by this crate's
    /// tonic client; metrics by opentelemetry-otlp's tonic exporter.
    Grpc,
    /// OTLP over HTTP with protobuf bodies; default port 4318. The
    /// specification's default. The traces body is encoded straight from
    /// the SDK's spans, as over gRPC (the same bytes as opentelemetry-otlp's,
    /// a third of its cost; see BENCHMARKS.md), and POSTed by this crate's exporter with the same reqwest blocking
    /// client opentelemetry-otlp uses; metrics by opentelemetry-otlp's HTTP
    /// exporter.
    HttpProtobuf,
}

impl Protocol {
    /// Parses an `OTEL_EXPORTER_OTLP_PROTOCOL` value (`grpc`,
    /// `http/protobuf`); `None` for anything else (`http/json` included,
    /// which this crate does not build).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            _ => None,
        }
    }
}

/// Why the pipeline could not be built.
#[derive(Debug)]
pub struct InitError(String);

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InitError {}

type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Options of the pipeline, on top of the environment. Start with
/// [`Setup::from_env`]; programmatic settings win over the environment,
/// except the service name, which is only a default.
#[derive(Clone)]
pub struct Setup {
    env: EnvLookup,
    service_name: Option<String>,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    traces: Option<bool>,
    metrics: Option<bool>,
    fmt: bool,
    subscriber: bool,
    max_queue_size: Option<usize>,
    scheduled_delay: Option<Duration>,
    export_timeout: Option<Duration>,
    shutdown_timeout: Duration,
    otel_filter: Option<String>,
    bridge: BridgeDetails,
}

impl fmt::Debug for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setup")
            .field("service_name", &self.service_name)
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("traces", &self.traces)
            .field("metrics", &self.metrics)
            .field("fmt", &self.fmt)
            .field("subscriber", &self.subscriber)
            .field("max_queue_size", &self.max_queue_size)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("bridge", &self.bridge)
            .finish_non_exhaustive()
    }
}

impl Setup {
    /// The defaults, read from the process environment.
    pub fn from_env() -> Self {
        Self::with_env(|k| std::env::var(k).ok())
    }

    /// The defaults, reading `OTEL_*` variables through `lookup` instead of
    /// the process environment (for tests). The OTLP traces exporters (both
    /// protocols) read their transport variables (endpoint, insecure,
    /// headers, timeout, compression) through `lookup` too; the metric
    /// exporters and the SDK still read the variables they handle
    /// themselves from the process environment: endpoint, headers, timeout,
    /// compression (`zstd` is refused through `lookup` first), sampler,
    /// resource attributes, batch and metric-interval settings.
    pub fn with_env(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Setup {
            env: Arc::new(lookup),
            service_name: None,
            endpoint: None,
            protocol: None,
            traces: None,
            metrics: None,
            fmt: true,
            subscriber: true,
            max_queue_size: None,
            scheduled_delay: None,
            export_timeout: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            otel_filter: None,
            bridge: BridgeDetails::none(),
        }
    }

    /// `service.name` when neither `OTEL_SERVICE_NAME` nor `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES` sets it (the deployment has the last word).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The collector's base URL (like `OTEL_EXPORTER_OTLP_ENDPOINT`, which it
    /// overrides): `http://host:4317` for gRPC, `http://host:4318` for HTTP
    /// (`/v1/traces` and `/v1/metrics` are appended).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The transport, overriding `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Whether to export traces, overriding `OTEL_TRACES_EXPORTER`.
    pub fn traces(mut self, enabled: bool) -> Self {
        self.traces = Some(enabled);
        self
    }

    /// Whether to export metrics, overriding `OTEL_METRICS_EXPORTER`.
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = Some(enabled);
        self
    }

    /// Whether the installed subscriber also logs to stderr through a
    /// `tracing-subscriber` fmt layer filtered by `RUST_LOG` (default `info`).
    /// On by default.
    pub fn fmt(mut self, enabled: bool) -> Self {
        self.fmt = enabled;
        self
    }

    /// Whether [`Setup::install`] installs a global `tracing` subscriber
    /// (registry + OpenTelemetry layer + optional fmt layer). On by default;
    /// turn off when the application builds its own (use
    /// [`OtelGuard::tracing_layer`]).
    pub fn install_subscriber(mut self, enabled: bool) -> Self {
        self.subscriber = enabled;
        self
    }

    /// Bound of the span queue (default 2048 or `OTEL_BSP_MAX_QUEUE_SIZE`).
    /// When it is full new spans are dropped, never waited for.
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = Some(spans);
        self
    }

    /// Delay between batch exports (default 5 s or `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn scheduled_delay(mut self, delay: Duration) -> Self {
        self.scheduled_delay = Some(delay);
        self
    }

    /// Timeout of one export call (default 10 s or `OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// Bound of [`OtelGuard::shutdown`] and of the guard's drop (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The `EnvFilter` directives of the OpenTelemetry `tracing` layer
    /// (default [`DEFAULT_OTEL_FILTER`]).
    pub fn otel_filter(mut self, directives: impl Into<String>) -> Self {
        self.otel_filter = Some(directives.into());
        self
    }

    /// What the `tracing-opentelemetry` layer adds to `tracing` spans
    /// beyond their fields (default: nothing; [`BridgeDetails`]).
    pub fn bridge(mut self, details: BridgeDetails) -> Self {
        self.bridge = details;
        self
    }

    /// Builds the providers without installing anything globally.
    ///
    /// The gRPC exporter runs on a small runtime of its own (one thread), so
    /// export never competes with, nor depends on, the application's runtime;
    /// this may be called inside or outside a tokio runtime.
    pub fn build(self) -> Result<OtelGuard, InitError> {
        let mut notes = Vec::new();
        let disabled = self.sdk_disabled();
        let traces = !disabled
            && self
                .traces
                .unwrap_or_else(|| self.exporter_enabled("OTEL_TRACES_EXPORTER", &mut notes));
        let metrics = !disabled
            && self
                .metrics
                .unwrap_or_else(|| self.exporter_enabled("OTEL_METRICS_EXPORTER", &mut notes));
        let traces_protocol = self.resolve_protocol("traces", &mut notes);
        let metrics_protocol = self.resolve_protocol("metrics", &mut notes);
        let propagator = self.propagator(&mut notes);

        let needs_runtime = (traces && traces_protocol == Protocol::Grpc)
            || (metrics && metrics_protocol == Protocol::Grpc);
        let runtime = if needs_runtime {
            Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("httptrace-otel-export")
                    .enable_all()
                    .build()
                    .map_err(|e| InitError(format!("cannot start the export runtime: {e}")))?,
            )
        } else {
            None
        };
        let _entered = runtime.as_ref().map(|rt| rt.enter());
        let resource = self.resource();

        let mut exports = Vec::new();
        let tracer_provider = if traces {
            let status = self.export_status(Signal::Traces, traces_protocol);
            exports.push(status.clone());
            let mut batch = BatchConfigBuilder::default();
            if let Some(n) = self.max_queue_size {
                batch = batch.with_max_queue_size(n);
            }
            if let Some(d) = self.scheduled_delay {
                batch = batch.with_scheduled_delay(d);
            }
            let batch = batch.build();
            // Either way the batch is encoded by `otlp_body`; the exporters
            // differ in how the bytes travel.
            let processor = match traces_protocol {
                Protocol::Grpc => {
                    BatchSpanProcessor::builder(self.grpc_span_exporter(status, &mut notes)?)
                        .with_batch_config(batch)
                        .build()
                }
                Protocol::HttpProtobuf => {
                    BatchSpanProcessor::builder(self.http_span_exporter(status, &mut notes)?)
                        .with_batch_config(batch)
                        .build()
                }
            };
            Some(
                SdkTracerProvider::builder()
                    .with_span_processor(processor)
                    .with_resource(resource.clone())
                    .build(),
            )
        } else {
            None
        };
        let meter_provider = if metrics {
            let status = self.export_status(Signal::Metrics, metrics_protocol);
            exports.push(status.clone());
            let exporter = crate::export::recording::RecordingMetricExporter::new(
                self.metric_exporter(metrics_protocol, &status, &mut notes)?,
                status,
            );
            Some(
                SdkMeterProvider::builder()
                    .with_reader(PeriodicReader::builder(exporter).build())
                    .with_resource(resource)
                    .build(),
            )
        } else {
            None
        };
        drop(_entered);
        Ok(OtelGuard {
            tracer_provider,
            meter_provider,
            propagator: Some(propagator),
            runtime,
            shutdown_timeout: self.shutdown_timeout,
            otel_filter: self
                .otel_filter
                .clone()
                .unwrap_or_else(|| DEFAULT_OTEL_FILTER.to_string()),
            fmt: self.fmt,
            bridge: self.bridge,
            subscriber: self.subscriber,
            notes,
            exports,
            done: false,
        })
    }

    /// Builds the pipeline and installs it: global propagator, tracer and
    /// meter providers, and (unless turned off) a global `tracing`
    /// subscriber with the OpenTelemetry layer. Fails only when an exporter
    /// cannot be built (say, an unparsable endpoint).
    pub fn try_install(self) -> Result<OtelGuard, InitError> {
        let mut guard = self.build()?;
        guard.install_globals();
        Ok(guard)
    }

    /// Like [`Setup::try_install`], but never fails: when the exporters
    /// cannot be built the problem is reported on stderr and the service
    /// runs with propagation and logging only.
    pub fn install(self) -> OtelGuard {
        let fallback = Setup {
            traces: Some(false),
            metrics: Some(false),
            ..self.clone()
        };
        match self.try_install() {
            Ok(guard) => guard,
            Err(e) => {
                eprintln!("httptrace-otel: telemetry export disabled: {e}");
                let mut guard = fallback.build().unwrap_or_else(|_| OtelGuard::empty());
                guard.install_globals();
                guard
            }
        }
    }
}

/// Installs the pipeline from the environment: [`Setup::from_env`] then
/// [`Setup::install`]. Keep the guard alive for the life of the service; its
/// drop flushes (bounded by 5 s).
///
/// Never fails and never blocks on the collector: export runs in the batch
/// processor's background thread, spans are dropped (not waited for) when its
/// queue is full, and a failed export is reported through `tracing` at
/// warn level in one plain line per signal (which endpoint, what failed),
/// at most once per signal per [`export_errors::WARN_INTERVAL`](crate::export_errors::WARN_INTERVAL); the
/// guard's drop reports what did not reach the collector the same way.
/// A command-line tool gets the same lines from [`OtelGuard::finish`].
pub fn init() -> OtelGuard {
    Setup::from_env().install()
}

/// Same as [`init`]: the environment is where the configuration comes from.
pub fn init_from_env() -> OtelGuard {
    init()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_default_filter_keeps_the_neighbours_of_the_crates_it_turns_off() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(DEFAULT_OTEL_FILTER));
        tracing::subscriber::with_default(subscriber, || {
            assert!(
                tracing::span_enabled!(target: "reqwest_tracing::reqwest_otel_span_builder", tracing::Level::INFO)
            );
            assert!(
                tracing::span_enabled!(target: "tower_http::trace::make_span", tracing::Level::INFO)
            );
            assert!(tracing::span_enabled!(target: "my_service", tracing::Level::INFO));
            assert!(!tracing::span_enabled!(target: "reqwest::connect", tracing::Level::INFO));
            assert!(!tracing::span_enabled!(target: "hyper_util::client", tracing::Level::INFO));
            assert!(
                !tracing::span_enabled!(target: "opentelemetry_sdk::trace", tracing::Level::INFO)
            );
        });
    }

    use super::*;

    #[test]
    fn a_malformed_endpoint_is_an_error_not_a_panic() {
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let err = Setup::with_env(|_| None)
                .protocol(protocol)
                .endpoint("not a url at all")
                .metrics(false)
                .build()
                .expect_err("malformed endpoint");
            assert!(err.to_string().contains("exporter"), "{err}");
        }
    }

    #[test]
    fn guard_shutdown_is_bounded_with_a_dead_collector() {
        // Nothing listens on port 9 (discard) on loopback: exports fail;
        // shutdown must still return within its bound.
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let guard = Setup::with_env(|_| None)
                .protocol(protocol)
                .endpoint("http://127.0.0.1:9")
                .metrics(false)
                .shutdown_timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            let tracer = guard.tracer("t").unwrap();
            use opentelemetry::trace::{Span, Tracer};
            let started = std::time::Instant::now();
            for _ in 0..10 {
                tracer.start("s").end();
            }
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "ending spans waited on export"
            );
            let started = std::time::Instant::now();
            let _ = guard.shutdown();
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{protocol:?} shutdown took {:?}",
                started.elapsed()
            );
        }
    }
}
