//! The in-process demo's telemetry: one tracer provider per service (so the
//! client's and the server's spans carry their own `service.name`), each
//! keeping its spans in memory for the waterfall and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, also exporting them over OTLP.
//!
//! `httptrace_otel::init()` is what a real service uses (see the
//! `demo-server` and `demo-client` binaries); it builds one exporting
//! provider per process and has no place for an in-memory processor, hence
//! this small pipeline of the demo's own.

use std::time::Duration;

use httptrace_otel::Protocol;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::capture::Capture;

/// Where the OTLP export goes, read from the standard variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Otlp {
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`
    /// (`http/protobuf` by default, or `grpc`).
    pub protocol: Protocol,
}

impl Otlp {
    /// The OTLP settings when an endpoint is set, else `None` (the demo then
    /// stays in memory).
    pub fn from_env() -> Option<Otlp> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))?;
        let protocol = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .and_then(|p| Protocol::parse(&p))
            .unwrap_or(Protocol::HttpProtobuf);
        Some(Otlp { endpoint, protocol })
    }
}

/// Builds OTLP span exporters, with the runtime the gRPC one needs.
pub struct Exporters {
    otlp: Otlp,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Exporters {
    /// Prepares exporters for `otlp`.
    pub fn new(otlp: Otlp) -> Result<Self, String> {
        // tonic needs a tokio runtime; give it one of its own, so export does
        // not depend on the demo's runtimes (as httptrace-otel's Setup does).
        let runtime = match otlp.protocol {
            Protocol::Grpc => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("demo-otlp")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the export runtime: {e}"))?,
            ),
            Protocol::HttpProtobuf => None,
        };
        Ok(Exporters { otlp, runtime })
    }

    /// The settings.
    pub fn otlp(&self) -> &Otlp {
        &self.otlp
    }

    /// A batch processor exporting over OTLP (endpoint and the other
    /// `OTEL_EXPORTER_OTLP_*` settings are read by the exporter itself).
    pub fn processor(&self) -> Result<BatchSpanProcessor, String> {
        let _entered = self.runtime.as_ref().map(|rt| rt.enter());
        let exporter = match self.otlp.protocol {
            Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build(),
            Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .build(),
        }
        .map_err(|e| format!("OTLP exporter: {e}"))?;
        Ok(BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_scheduled_delay(Duration::from_millis(200))
                    .build(),
            )
            .build())
    }
}

impl Drop for Exporters {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One service's tracer provider: in-memory capture, plus OTLP if asked.
pub struct Pipeline {
    service: &'static str,
    provider: SdkTracerProvider,
    capture: Capture,
}

impl Pipeline {
    /// The pipeline of `service`.
    pub fn new(service: &'static str, exporters: Option<&Exporters>) -> Result<Self, String> {
        let capture = Capture::new();
        let mut builder = SdkTracerProvider::builder()
            // Forced: one process plays two services here.
            .with_resource(Resource::builder().with_service_name(service).build())
            .with_span_processor(capture.clone());
        if let Some(e) = exporters {
            builder = builder.with_span_processor(e.processor()?);
        }
        Ok(Pipeline {
            service,
            provider: builder.build(),
            capture,
        })
    }

    /// The service name.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// A tracer of this provider.
    pub fn tracer(&self, scope: &'static str) -> SdkTracer {
        self.provider.tracer(scope)
    }

    /// The spans captured so far.
    pub fn capture(&self) -> &Capture {
        &self.capture
    }

    /// A `tracing` subscriber exporting `tracing` spans through this
    /// provider (HTTP internals filtered out as in httptrace-otel), and
    /// logging warnings (or `RUST_LOG`) to stderr.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        // As httptrace-otel's Setup has it by default: the spans' own
        // fields, none of the bridge's details (BridgeDetails).
        let otel = tracing_opentelemetry::layer()
            .with_tracer(self.tracer(self.service))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_target(false)
            .with_level(false)
            .with_filter(EnvFilter::new(httptrace_otel::DEFAULT_OTEL_FILTER))
            .with_filter(tracing_subscriber::filter::filter_fn(|m| !m.is_event()));
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
            );
        tracing_subscriber::registry().with(otel).with(fmt)
    }

    /// Flushes and shuts the provider down (bounded).
    pub fn shutdown(&self) -> Result<(), String> {
        self.provider
            .shutdown_with_timeout(Duration::from_secs(5))
            .map_err(|e| format!("{}: {e}", self.service))
    }
}
