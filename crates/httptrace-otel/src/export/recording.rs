//! The wrappers that record each metrics export's outcome in the signal's
//! [`ExportStatus`]: around opentelemetry-otlp's metric exporter, and the
//! HTTP client of its OTLP/HTTP metric exporter. (The traces exporters,
//! `grpc.rs` and `http.rs`, are ours and record for themselves.)

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;

use crate::export::status::{ExportStatus, classify_status, classify_transport_error};

/// A metric exporter that records each export's outcome for its signal.
#[derive(Debug)]
pub(crate) struct RecordingMetricExporter<E> {
    inner: E,
    status: Arc<ExportStatus>,
}

impl<E> RecordingMetricExporter<E> {
    pub(crate) fn new(inner: E, status: Arc<ExportStatus>) -> Self {
        RecordingMetricExporter { inner, status }
    }
}

impl<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>
    opentelemetry_sdk::metrics::exporter::PushMetricExporter for RecordingMetricExporter<E>
{
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        self.status.begin();
        let result = self.inner.export(metrics).await;
        self.status.end(&result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        self.inner.temporality()
    }
}

/// The OTLP/HTTP metric exporter's client: reqwest's blocking client (what
/// opentelemetry-otlp builds by default), recording what each attempt saw,
/// so that refused, timeout and 404 read as they do for traces.
#[derive(Debug)]
pub(crate) struct RecordingHttpClient {
    inner: reqwest::blocking::Client,
    timeout: Duration,
    status: Arc<ExportStatus>,
}

impl RecordingHttpClient {
    /// Builds the client with `timeout` per request (see
    /// [`blocking_client`](crate::export::http::blocking_client)).
    pub(crate) fn new(timeout: Duration, status: Arc<ExportStatus>) -> Result<Self, String> {
        Ok(RecordingHttpClient {
            inner: crate::export::http::blocking_client(timeout)?,
            timeout,
            status,
        })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for RecordingHttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<opentelemetry_http::Bytes>,
    ) -> Result<http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let result = self.inner.send_bytes(request).await;
        match &result {
            Ok(response) if !response.status().is_success() => {
                let (kind, detail) = classify_status(response.status(), self.status.signal());
                self.status.attempt_failed(kind, detail);
            }
            Ok(_) => {}
            Err(e) => {
                let (kind, detail) = classify_transport_error(e.as_ref(), self.timeout);
                self.status.attempt_failed(kind, detail);
            }
        }
        result
    }
}
