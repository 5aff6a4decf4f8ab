//! Traces over OTLP/gRPC: the batch encoded by `otlp_body` (the bytes the
//! HTTP path sends too) and sent as one unary call to the collector's
//! `TraceService/Export` through tonic's client, on the export runtime.
//!
//! Why not opentelemetry-otlp's tonic exporter: it deep-clones every batch
//! and converts it into owned protobuf structs before prost encodes them
//! (about 70 000 instructions per request on the batch thread, measured);
//! the codec here writes the bytes `otlp_body::encode_traces` produced.
//! The transport is the one it builds (`config.rs` resolves the same
//! settings the same way, gzip included), and so are the retries and the
//! error texts.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut as _, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;
use tonic::client::Grpc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::config::{self, Lookup};
use super::lifecycle::ExportLifecycle;
use super::otlp_body;
use super::retry::{Backoff, classify_grpc_status, retry_class_of, sdk_error};
use crate::export::errors::{Signal, source_chain};
use crate::export::status::ExportStatus;

/// The method every OTLP/gRPC traces export calls.
const SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The span exporter of `Protocol::Grpc`: encodes each batch itself and
/// sends it through tonic, recording every export's outcome.
#[derive(Debug)]
pub(crate) struct GrpcSpanExporter {
    client: Grpc<Channel>,
    /// Sent with every call: the configured headers.
    metadata: MetadataMap,
    /// The export runtime: the call, its retries and their waits run there,
    /// not on the SDK's batch thread (which has no runtime).
    runtime: tokio::runtime::Handle,
    timeout: Duration,
    lifecycle: ExportLifecycle,
}

impl GrpcSpanExporter {
    /// Builds the exporter from the settings opentelemetry-otlp's tonic
    /// exporter would use, read through `lookup`. Must run inside the
    /// export runtime (the channel's worker is spawned there); the channel
    /// connects on first use.
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
        let (endpoint, source) = config::grpc_endpoint(lookup, signal, programmatic_endpoint);
        let metadata = MetadataMap::from_headers(config::headers(lookup, signal));
        let channel = channel(&endpoint, &source, timeout)?;
        let mut client = Grpc::new(channel);
        // As opentelemetry-otlp's tonic client: gzip both ways when asked.
        if compression == Some(config::Compression::Gzip) {
            client = client
                .send_compressed(tonic::codec::CompressionEncoding::Gzip)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        Ok(GrpcSpanExporter {
            client,
            metadata,
            runtime: tokio::runtime::Handle::try_current()
                .map_err(|_| "the gRPC exporter needs the export runtime".to_string())?,
            timeout,
            lifecycle: ExportLifecycle::new(status),
        })
    }
}

/// The channel opentelemetry-otlp builds: `endpoint` with the export
/// timeout per call, TLS (`ClientTlsConfig::new()`) for `https`, connected
/// lazily.
fn channel(endpoint: &str, source: &str, timeout: Duration) -> Result<Channel, String> {
    // Messages name the endpoint without its credentials.
    let shown = crate::export::errors::endpoint_in_message(endpoint);
    let built = tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .map_err(|e| format!("{source}: invalid endpoint '{shown}': {}", source_chain(&e)))?;
    let https = built
        .uri()
        .scheme()
        .is_some_and(|s| *s == http::uri::Scheme::HTTPS);
    #[cfg(feature = "tls")]
    let built = if https {
        built
            .tls_config(tonic::transport::ClientTlsConfig::new())
            .map_err(|e| {
                format!(
                    "{source}: failed to configure default TLS for HTTPS endpoint '{shown}': {}",
                    source_chain(&e)
                )
            })?
    } else {
        built
    };
    #[cfg(not(feature = "tls"))]
    if https {
        return Err(format!(
            "{source}: endpoint '{shown}' uses HTTPS but this build has no TLS; \
             enable httptrace-otel's `tls` feature"
        ));
    }
    Ok(built.timeout(timeout).connect_lazy())
}

impl opentelemetry_sdk::trace::SpanExporter for GrpcSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.lifecycle.begin()?;
        // Encoded here, on the batch thread, as over HTTP; the batch goes.
        let body = Bytes::from(otlp_body::encode_traces(&batch, &self.lifecycle.resource));
        drop(batch);
        let call = send(
            self.client.clone(),
            self.metadata.clone(),
            body,
            self.timeout,
            self.lifecycle.status.clone(),
        );
        let result = match self.runtime.spawn(call).await {
            Ok(result) => result,
            Err(e) => Err(OTelSdkError::InternalFailure(format!(
                "the export runtime dropped the export: {e}"
            ))),
        };
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

/// One export: the call, retried as opentelemetry-otlp retries it, each
/// failed attempt recorded in `status` in plain words.
async fn send(
    mut client: Grpc<Channel>,
    metadata: MetadataMap,
    body: Bytes,
    timeout: Duration,
    status: Arc<ExportStatus>,
) -> OTelSdkResult {
    let mut backoff = Backoff::new(timeout);
    loop {
        let failure = match call(&mut client, &metadata, body.clone()).await {
            Ok(response) => {
                partial_success(&response);
                return Ok(());
            }
            Err(failure) => failure,
        };
        // The collector's message only at debug level: it may echo secrets.
        tracing::debug!(
            target: "httptrace_otel",
            grpc_code = ?failure.code(),
            grpc_message = failure.message(),
            "OTLP/gRPC traces export attempt failed"
        );
        let (kind, detail) = classify_grpc_status(&failure, Signal::Traces, timeout);
        status.attempt_failed(kind, detail);
        match backoff.next(retry_class_of(&failure)) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return Err(sdk_error(&failure)),
        }
    }
}

/// One unary call of `TraceService/Export` carrying `body`.
async fn call(
    client: &mut Grpc<Channel>,
    metadata: &MetadataMap,
    body: Bytes,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    client.ready().await.map_err(|e| {
        tonic::Status::unknown(format!("Service was not ready: {}", source_chain(&e)))
    })?;
    let mut request = tonic::Request::new(body);
    *request.metadata_mut() = metadata.clone();
    request
        .extensions_mut()
        .insert(tonic::GrpcMethod::new(SERVICE, "Export"));
    let path = http::uri::PathAndQuery::from_static(EXPORT_PATH);
    Ok(client.unary(request, path, PreEncoded).await?.into_inner())
}

/// A collector that took the export but rejected some spans says so in a
/// partial success: logged, not retried, as the specification asks (and
/// opentelemetry-otlp does). The HTTP exporter's too.
pub(super) fn partial_success(response: &ExportTraceServiceResponse) {
    if let Some(partial) = &response.partial_success
        && (partial.rejected_spans > 0 || !partial.error_message.is_empty())
    {
        tracing::warn!(
            target: "httptrace_otel",
            rejected_spans = partial.rejected_spans,
            error_message = partial.error_message.as_str(),
            "the collector rejected {} spans of an export",
            partial.rejected_spans
        );
    }
}

/// The codec of our call: the request is the encoded message already; the
/// response is prost-decoded (it is small and rare to carry anything).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PreEncoded;
    type Decoder = PreEncoded;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncoded
    }

    fn decoder(&mut self) -> Self::Decoder {
        PreEncoded
    }
}

impl Encoder for PreEncoded {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.reserve(item.len());
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        prost::Message::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}
