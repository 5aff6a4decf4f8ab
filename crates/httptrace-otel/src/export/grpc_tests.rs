//! The gRPC sender against a real tonic server: the message it sends is
//! the one opentelemetry-otlp's tonic exporter would send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_sdk::trace::SpanExporter as _;
use prost::Message as _;

use super::grpc::GrpcSpanExporter;
use crate::export::errors::Signal;
use crate::export::otlp_body::tests::reference;
use crate::export::status::ExportStatus;
use crate::export::test_support::{batch, runtime};

/// A call's `grpc-encoding` and message.
type Call = (Option<String>, ExportTraceServiceRequest);

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Call>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let encoding = request
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap().to_string());
        self.0
            .lock()
            .unwrap()
            .push((encoding, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[test]
fn the_message_sent_is_opentelemetry_protos_gzipped_or_not() {
    for gzip in [false, true] {
        the_message_sent_is_opentelemetry_protos(gzip);
    }
}

fn the_message_sent_is_opentelemetry_protos(gzip: bool) {
    let rt = runtime();
    let collector = Collector::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(
        tonic::transport::Server::builder()
            .add_service(
                TraceServiceServer::new(collector.clone())
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let (spans, resource) = batch("grpc-test");

    let status = ExportStatus::new(
        Signal::Traces,
        format!("http://{addr}"),
        Duration::from_secs(5),
    );
    let endpoint = format!("http://{addr}");
    let mut exporter = {
        let _in = rt.enter();
        let env = move |k: &str| {
            (gzip && k == "OTEL_EXPORTER_OTLP_COMPRESSION").then(|| "gzip".to_string())
        };
        GrpcSpanExporter::new(&env, Some(&endpoint), None, status, &mut Vec::new()).unwrap()
    };
    exporter.set_resource(&resource);
    rt.block_on(exporter.export(spans.clone())).unwrap();

    let got = collector.0.lock().unwrap().clone();
    let want = ExportTraceServiceRequest::decode(reference(&spans, &resource).as_slice()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, want);
    let encoding = got[0].0.as_deref();
    assert_eq!(encoding, gzip.then_some("gzip"), "gzip: {gzip}");
}

/// The channel is built as opentelemetry-otlp builds it: an endpoint tonic
/// cannot parse and an `https` one without TLS are errors naming it.
#[test]
fn endpoints_the_channel_cannot_take_are_errors() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _in = rt.enter();
    let build = |endpoint: &str| {
        let status = ExportStatus::new(Signal::Traces, endpoint.into(), Duration::from_secs(1));
        GrpcSpanExporter::new(&|_| None, Some(endpoint), None, status, &mut Vec::new())
    };
    let err = build("http://bad host:4317").unwrap_err();
    assert!(
        err.contains("invalid endpoint 'http://bad host:4317'"),
        "{err}"
    );
    let https = build("https://collector.test:4317");
    #[cfg(not(feature = "tls"))]
    {
        let err = https.unwrap_err();
        assert!(
            err.contains("uses HTTPS") && err.contains("`tls` feature"),
            "{err}"
        );
    }
    #[cfg(feature = "tls")]
    assert!(https.is_ok(), "{:?}", https.err());
    // A schemeless endpoint is https unless insecure.
    let insecure = |k: &str| (k == "OTEL_EXPORTER_OTLP_INSECURE").then(|| "true".to_string());
    let status = ExportStatus::new(Signal::Traces, String::new(), Duration::from_secs(1));
    assert!(
        GrpcSpanExporter::new(
            &insecure,
            Some("collector.test:4317"),
            None,
            status,
            &mut Vec::new()
        )
        .is_ok()
    );
}
