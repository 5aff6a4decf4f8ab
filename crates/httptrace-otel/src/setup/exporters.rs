//! The OTLP exporters [`Setup`] builds: gRPC or HTTP/protobuf, per signal,
//! their endpoints, and the export status each one records to.
//!
//! Traces go through our own exporters, `export/grpc.rs` and
//! `export/http.rs`, which send the body `export/otlp_body.rs` encodes.
//! Metrics stay on opentelemetry-otlp's exporters (the HTTP one with our
//! recording client): one small export per interval, whose conversion
//! costs little next to the spans'.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::WithExportConfig;

use super::{InitError, Protocol, Setup};
use crate::export::config;
use crate::export::errors::{self, Signal};
use crate::export::grpc::GrpcSpanExporter;
use crate::export::http::HttpSpanExporter;
use crate::export::status::ExportStatus;

/// Builds an opentelemetry-otlp exporter (the metric one; the span and
/// metric exporter builders share their methods but no trait, hence a
/// macro).
macro_rules! otlp_exporter {
    ($setup:expr, $protocol:expr, $exporter:ident, $path:literal, $what:literal, $status:expr) => {{
        let endpoint = $setup.endpoint_for($protocol, $path);
        let built = match $protocol {
            Protocol::Grpc => {
                let mut b = opentelemetry_otlp::$exporter::builder().with_tonic();
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(t) = $setup.export_timeout {
                    b = b.with_timeout(t);
                }
                b.build()
            }
            Protocol::HttpProtobuf => {
                let mut b = opentelemetry_otlp::$exporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                // Our client: it tells refused, timeout and 404 apart.
                let timeout = export_timeout($status.signal(), $setup.export_timeout);
                let client =
                    crate::export::recording::RecordingHttpClient::new(timeout, $status.clone())
                        .map_err(|e| InitError(format!(concat!($what, ": {}"), e)))?;
                b = opentelemetry_otlp::WithHttpConfig::with_http_client(b, client);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(t) = $setup.export_timeout {
                    b = b.with_timeout(t);
                }
                b.build()
            }
        };
        built.map_err(|e| InitError(format!(concat!($what, ": {}"), e)))
    }};
}

impl Setup {
    pub(super) fn export_status(&self, signal: Signal, protocol: Protocol) -> Arc<ExportStatus> {
        let path = match signal {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
        };
        let programmatic = self.endpoint_for(protocol, path);
        if signal == Signal::Traces {
            // Where our exporter sends, as it resolves it.
            let env = |k: &str| (self.env)(k);
            let (endpoint, _) = match protocol {
                Protocol::Grpc => config::grpc_endpoint(&env, signal, programmatic.as_deref()),
                Protocol::HttpProtobuf => {
                    config::http_endpoint(&env, signal, programmatic.as_deref())
                }
            };
            let timeout = config::timeout(&env, signal, self.export_timeout);
            return ExportStatus::new(signal, errors::shown_endpoint(&endpoint), timeout);
        }
        let endpoint =
            errors::display_endpoint(signal, protocol == Protocol::Grpc, programmatic.as_deref());
        let timeout = export_timeout(signal, self.export_timeout);
        ExportStatus::new(signal, endpoint, timeout)
    }

    pub(super) fn endpoint_for(&self, protocol: Protocol, path: &str) -> Option<String> {
        let base = self.endpoint.as_deref()?.trim_end_matches('/');
        Some(match protocol {
            Protocol::Grpc => base.to_string(),
            Protocol::HttpProtobuf => format!("{base}{path}"),
        })
    }

    /// The OTLP/HTTP span exporter (ours), its transport variables read
    /// through the setup's lookup.
    pub(super) fn http_span_exporter(
        &self,
        status: Arc<ExportStatus>,
        notes: &mut Vec<String>,
    ) -> Result<HttpSpanExporter, InitError> {
        let env = |k: &str| (self.env)(k);
        HttpSpanExporter::new(
            &env,
            self.endpoint_for(Protocol::HttpProtobuf, "/v1/traces")
                .as_deref(),
            self.export_timeout,
            status,
            notes,
        )
        .map_err(|e| InitError(format!("OTLP span exporter: {e}")))
    }

    /// The OTLP/gRPC span exporter (ours), its transport variables read
    /// through the setup's lookup. Inside the export runtime.
    pub(super) fn grpc_span_exporter(
        &self,
        status: Arc<ExportStatus>,
        notes: &mut Vec<String>,
    ) -> Result<GrpcSpanExporter, InitError> {
        let env = |k: &str| (self.env)(k);
        GrpcSpanExporter::new(
            &env,
            self.endpoint_for(Protocol::Grpc, "").as_deref(),
            self.export_timeout,
            status,
            notes,
        )
        .map_err(|e| InitError(format!("OTLP span exporter: {e}")))
    }

    /// opentelemetry-otlp's metric exporter. It reads the compression
    /// variables itself (gzip built in, as for traces); `zstd`, which it
    /// would warn about and drop, is checked here first so that both
    /// signals fail alike.
    pub(super) fn metric_exporter(
        &self,
        protocol: Protocol,
        status: &Arc<ExportStatus>,
        notes: &mut Vec<String>,
    ) -> Result<opentelemetry_otlp::MetricExporter, InitError> {
        let env = |k: &str| (self.env)(k);
        config::compression(&env, Signal::Metrics, notes)
            .map_err(|e| InitError(format!("OTLP metric exporter: {e}")))?;
        otlp_exporter!(
            self,
            protocol,
            MetricExporter,
            "/v1/metrics",
            "OTLP metric exporter",
            status
        )
    }
}

/// The export timeout opentelemetry-otlp uses for `signal`, from the
/// process environment (see `config::timeout`).
pub(crate) fn export_timeout(signal: Signal, programmatic: Option<Duration>) -> Duration {
    config::timeout(&config::process_env, signal, programmatic)
}
