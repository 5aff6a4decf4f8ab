//! The wrappers that record each export's outcome in its signal's
//! [`ExportStatus`]: around the SDK's span and metric exporters, and the
//! HTTP client of the OTLP/HTTP exporters (which also sends the traces
//! body `otlp_body.rs` encoded, in place of the exporter's own).

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;

use crate::export::otlp_body::{self, PreEncodedBody};
use crate::export::status::{ExportStatus, classify_status, classify_transport_error};

/// A span exporter that records each export's outcome for its signal.
///
/// With a [`PreEncodedBody`] (the OTLP/HTTP exporter, whose client holds
/// the same one), it encodes the batch itself (`otlp_body.rs`) and lets
/// the inner exporter send that body in place of its own: the inner
/// exporter gets an empty batch and keeps its transport (endpoint,
/// headers, timeout, retries). Should the client not send the body (a
/// compressed request, an exporter that sends nothing for an empty
/// batch), the batch goes through the inner exporter as usual.
#[derive(Debug)]
pub(crate) struct RecordingSpanExporter<E> {
    inner: E,
    status: Arc<ExportStatus>,
    body: Option<(Arc<PreEncodedBody>, opentelemetry_sdk::Resource)>,
}

impl<E> RecordingSpanExporter<E> {
    pub(crate) fn new(inner: E, status: Arc<ExportStatus>) -> Self {
        RecordingSpanExporter {
            inner,
            status,
            body: None,
        }
    }

    /// Encodes the batches itself into `body`, which the inner exporter's
    /// HTTP client sends.
    pub(crate) fn with_pre_encoded_body(mut self, body: Arc<PreEncodedBody>) -> Self {
        self.body = Some((body, opentelemetry_sdk::Resource::builder_empty().build()));
        self
    }
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for RecordingSpanExporter<E>
{
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        self.status.begin();
        let result = match &self.body {
            Some((body, resource)) if !batch.is_empty() => {
                body.set(otlp_body::encode_traces(&batch, resource));
                let result = self.inner.export(Vec::new()).await;
                if body.finish() {
                    result
                } else {
                    self.inner.export(batch).await
                }
            }
            _ => self.inner.export(batch).await,
        };
        self.status.end(&result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        if let Some((_, ours)) = &mut self.body {
            *ours = resource.clone();
        }
        self.inner.set_resource(resource);
    }
}

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

/// The OTLP/HTTP exporter's client: reqwest's blocking client (what
/// opentelemetry-otlp builds by default), recording what each attempt saw.
#[derive(Debug)]
pub(crate) struct RecordingHttpClient {
    inner: reqwest::blocking::Client,
    timeout: Duration,
    status: Arc<ExportStatus>,
    /// The traces exporter's: the body to send in place of the request's.
    body: Option<Arc<PreEncodedBody>>,
}

impl RecordingHttpClient {
    /// Builds the client with `timeout` per request. reqwest's blocking
    /// client must not be built inside an async runtime, hence the thread.
    pub(crate) fn new(timeout: Duration, status: Arc<ExportStatus>) -> Result<Self, String> {
        let inner = std::thread::Builder::new()
            .name("httptrace-otel-client".into())
            .spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(timeout)
                    .build()
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?
            .join()
            .map_err(|_| "building the HTTP client panicked".to_string())?
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(RecordingHttpClient {
            inner,
            timeout,
            status,
            body: None,
        })
    }

    /// Sends the body `body` holds, when it holds one, in place of the
    /// body of each uncompressed request.
    pub(crate) fn with_pre_encoded_body(mut self, body: Arc<PreEncodedBody>) -> Self {
        self.body = Some(body);
        self
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for RecordingHttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<opentelemetry_http::Bytes>,
    ) -> Result<http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let mut request = request;
        if let Some(body) = &self.body
            && !request
                .headers()
                .contains_key(http::header::CONTENT_ENCODING)
            && let Some(ours) = body.body_to_send()
        {
            *request.body_mut() = ours;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_sdk::trace::SpanExporter as _;
    use std::sync::Mutex;

    /// An inner exporter that records the batch sizes it was given and,
    /// when `sends`, takes the pre-encoded body as its HTTP client would.
    #[derive(Debug)]
    struct Inner {
        body: Arc<PreEncodedBody>,
        sends: bool,
        batches: Mutex<Vec<(usize, Option<usize>)>>,
    }

    impl opentelemetry_sdk::trace::SpanExporter for Inner {
        async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
            let sent = if self.sends {
                self.body.body_to_send().map(|b| b.len())
            } else {
                None
            };
            self.batches.lock().unwrap().push((batch.len(), sent));
            Ok(())
        }
    }

    fn spans(n: usize) -> Vec<opentelemetry_sdk::trace::SpanData> {
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
        let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("t");
        for i in 0..n {
            tracer.start(format!("s{i}")).end();
        }
        exporter.get_finished_spans().unwrap()
    }

    #[test]
    fn the_client_sends_our_body_and_the_exporter_gets_an_empty_batch() {
        for sends in [true, false] {
            let body = Arc::new(PreEncodedBody::default());
            let inner = Inner {
                body: body.clone(),
                sends,
                batches: Mutex::new(Vec::new()),
            };
            let exporter = RecordingSpanExporter::new(inner, status()).with_pre_encoded_body(body);
            block_on(exporter.export(spans(3))).unwrap();
            let batches = exporter.inner.batches.lock().unwrap().clone();
            if sends {
                let (len, sent) = batches[0];
                assert_eq!(batches.len(), 1, "{batches:?}");
                assert_eq!(len, 0, "the inner exporter encodes nothing");
                assert!(sent.is_some_and(|n| n > 3 * 16), "our body went: {sent:?}");
            } else {
                // Nothing sent our body: the batch goes the usual way.
                assert_eq!(batches, vec![(0, None), (3, None)]);
            }
        }
    }

    /// A minimal executor: the fake exporter never waits.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn status() -> Arc<ExportStatus> {
        ExportStatus::new(
            crate::export::errors::Signal::Traces,
            "http://127.0.0.1:4318/v1/traces".into(),
            Duration::from_secs(10),
        )
    }
}
