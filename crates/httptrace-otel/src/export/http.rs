//! Traces over OTLP/HTTP (protobuf): the batch encoded by `otlp_body` (the
//! bytes the gRPC path sends too), gzipped if asked, and POSTed to the
//! collector with reqwest's blocking client, on the SDK's batch thread.
//!
//! Why not opentelemetry-otlp's HTTP exporter: it converts every batch into
//! owned protobuf structs before prost encodes them (see `otlp_body.rs`).
//! Everything else is kept: the client is the one it builds by default
//! (reqwest's blocking client, the export timeout per request), the
//! settings are resolved as it resolves them (`config.rs`), and the
//! retries follow its HTTP policy (`retry.rs`), with the same texts in the
//! error handed to the SDK. What differs: the `user-agent` names this crate,
//! `zstd` is an error instead of a warning, and a collector's 2xx answer is
//! a success even when its body cannot be read.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;
use prost::Message as _;

use super::config::{self, Compression, Lookup};
use super::grpc::partial_success;
use super::lifecycle::ExportLifecycle;
use super::otlp_body;
use super::retry::{Backoff, Retry, http_retry_class};
use crate::export::errors::Signal;
use crate::export::status::{ExportStatus, classify_status, classify_transport_error};

/// The OTLP/HTTP specification's recommended limit, opentelemetry-otlp's
/// default: a larger body is not sent.
const MAX_REQUEST_BODY: usize = 64 * 1024 * 1024;
/// The most of a collector's answer read (opentelemetry-http's limit).
const MAX_RESPONSE_BODY: u64 = 4 * 1024 * 1024;

/// The span exporter of `Protocol::HttpProtobuf`: encodes each batch itself
/// and POSTs it, recording every export's outcome.
#[derive(Debug)]
pub(crate) struct HttpSpanExporter {
    client: reqwest::blocking::Client,
    endpoint: reqwest::Url,
    /// `content-type`, `content-encoding` if gzipped, then the configured
    /// headers (which may replace either, as theirs may).
    headers: HeaderMap,
    compression: Option<Compression>,
    timeout: Duration,
    lifecycle: ExportLifecycle,
}

impl HttpSpanExporter {
    /// Builds the exporter from the settings opentelemetry-otlp's HTTP
    /// exporter would use, read through `lookup`. Callable inside or
    /// outside a tokio runtime (see [`blocking_client`]).
    pub(crate) fn new(
        lookup: Lookup<'_>,
        programmatic_endpoint: Option<&str>,
        programmatic_timeout: Option<Duration>,
        status: Arc<ExportStatus>,
        notes: &mut Vec<String>,
    ) -> Result<Self, String> {
        let signal = Signal::Traces;
        let compression = config::compression(lookup, signal, notes)?;
        let timeout = config::timeout(lookup, signal, programmatic_timeout);
        let (endpoint, source) = config::http_endpoint(lookup, signal, programmatic_endpoint);
        // Their check (an `http::Uri`), then the URL reqwest needs: one
        // without a scheme fails here rather than on every export.
        let endpoint = endpoint
            .parse::<http::Uri>()
            .map_err(|e| e.to_string())
            .and_then(|_| reqwest::Url::parse(&endpoint).map_err(|e| e.to_string()))
            .map_err(|e| {
                let shown = crate::export::errors::endpoint_in_message(&endpoint);
                format!("{source}: invalid endpoint '{shown}': {e}")
            })?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if compression == Some(Compression::Gzip) {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        headers.extend(config::headers(lookup, signal));
        Ok(HttpSpanExporter {
            client: blocking_client(timeout)?,
            endpoint,
            headers,
            compression,
            timeout,
            lifecycle: ExportLifecycle::new(status),
        })
    }

    /// The request body of `batch`: encoded, compressed if asked, within
    /// the size limit before and after.
    fn body(&self, batch: &[SpanData]) -> Result<Bytes, String> {
        let body = otlp_body::encode_traces(batch, &self.lifecycle.resource);
        check_size(&body, "uncompressed")?;
        let body = match self.compression {
            Some(Compression::Gzip) => {
                let mut gz = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4),
                    flate2::Compression::default(),
                );
                gz.write_all(&body)
                    .and_then(|()| gz.finish())
                    .map_err(|e| format!("gzip failed: {e}"))
                    .and_then(|gz| check_size(&gz, "compressed").map(|()| gz))?
            }
            None => body,
        };
        Ok(Bytes::from(body))
    }

    /// One export: the POST, retried as opentelemetry-otlp retries it, each
    /// failed attempt recorded in plain words. Blocking, on the batch
    /// thread (which runs no runtime), as their blocking client is; the
    /// waits between attempts are plain sleeps for the same reason.
    fn send(&self, body: Bytes) -> OTelSdkResult {
        let mut backoff = Backoff::new(self.timeout);
        loop {
            let (retry, error) = match self.attempt(body.clone()) {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            match backoff.next(retry) {
                Some(wait) => std::thread::sleep(wait),
                None => return Err(OTelSdkError::InternalFailure(error)),
            }
        }
    }

    /// One POST. A failure comes with its retry class and
    /// opentelemetry-otlp's text for it (which `status.rs` reads too).
    fn attempt(&self, body: Bytes) -> Result<(), (Retry, String)> {
        let mut request =
            reqwest::blocking::Request::new(http::Method::POST, self.endpoint.clone());
        *request.headers_mut() = self.headers.clone();
        *request.body_mut() = Some(body.into());
        let mut response = match self.client.execute(request) {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(target: "httptrace_otel", error = %e, "OTLP/HTTP traces export attempt failed");
                let (kind, detail) = classify_transport_error(&e, self.timeout);
                self.lifecycle.status.attempt_failed(kind, detail);
                return Err((
                    http_retry_class(None, None),
                    "HTTP export failed: network error".to_string(),
                ));
            }
        };
        let code = response.status();
        if !code.is_success() {
            // The answer's body stays unread: it may echo credentials.
            tracing::debug!(target: "httptrace_otel", status = code.as_u16(), "OTLP/HTTP traces export attempt failed");
            let (kind, detail) = classify_status(code, self.lifecycle.status.signal());
            self.lifecycle.status.attempt_failed(kind, detail);
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok());
            return Err((
                http_retry_class(Some(code), retry_after),
                format!("HTTP export failed with status code: {}", code.as_u16()),
            ));
        }
        // A 2xx is a success: what the answer says of rejected spans is
        // logged, not retried (the specification's rule).
        let mut answer = Vec::new();
        match (&mut response)
            .take(MAX_RESPONSE_BODY)
            .read_to_end(&mut answer)
        {
            Ok(_) => match ExportTraceServiceResponse::decode(answer.as_slice()) {
                Ok(response) => partial_success(&response),
                Err(e) => {
                    tracing::debug!(target: "httptrace_otel", error = %e, "the collector's answer does not decode");
                }
            },
            Err(e) => {
                tracing::debug!(target: "httptrace_otel", error = %e, "the collector's answer could not be read");
            }
        }
        Ok(())
    }
}

fn check_size(body: &[u8], what: &str) -> Result<(), String> {
    if body.len() > MAX_REQUEST_BODY {
        return Err(format!(
            "OTLP HTTP {what} request body is {} bytes, exceeding the limit of \
             {MAX_REQUEST_BODY} bytes; the batch was not sent",
            body.len()
        ));
    }
    Ok(())
}

/// reqwest's blocking client with `timeout` per request, as
/// opentelemetry-otlp builds it. It starts a runtime of its own, which
/// must not happen inside another one: hence the thread.
pub(crate) fn blocking_client(timeout: Duration) -> Result<reqwest::blocking::Client, String> {
    std::thread::Builder::new()
        .name("httptrace-otel-client".into())
        .spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?
        .join()
        .map_err(|_| "building the HTTP client panicked".to_string())?
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl opentelemetry_sdk::trace::SpanExporter for HttpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.lifecycle.begin()?;
        let body = self.body(&batch);
        // The spans are in the body: the batch goes before sending.
        drop(batch);
        let result = body
            .map_err(OTelSdkError::InternalFailure)
            .and_then(|body| self.send(body));
        self.lifecycle.end(&result);
        result
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.lifecycle.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.lifecycle.resource = resource.clone();
    }
}
