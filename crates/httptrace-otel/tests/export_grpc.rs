//! Traces over OTLP/gRPC through `Setup` into a real tonic server on an
//! ephemeral port this test binds: what arrives (spans, events,
//! attributes, the configured headers as metadata), and what a failing
//! collector is recorded as.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use httptrace_otel::{ExportError, ExportErrorKind, OtelGuard, Protocol, Setup};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use support::otlp::{self, assert_the_one_span};

/// What the collector got: each call's metadata and message.
type Calls = Arc<Mutex<Vec<(tonic::metadata::MetadataMap, ExportTraceServiceRequest)>>>;

#[derive(Clone)]
struct Collector {
    calls: Calls,
    /// Answer every call with this code instead of success.
    fail: Option<tonic::Code>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let (metadata, _, message) = request.into_parts();
        self.calls.lock().unwrap().push((metadata, message));
        match self.fail {
            Some(code) => Err(tonic::Status::new(code, "the collector's own words")),
            None => Ok(tonic::Response::new(ExportTraceServiceResponse::default())),
        }
    }
}

/// Starts a collector on 127.0.0.1:0 on a runtime of its own (the
/// listener is bound before the address is handed out, and kept).
fn collector(fail: Option<tonic::Code>) -> (SocketAddr, Calls) {
    let calls = Calls::default();
    let service = Collector {
        calls: calls.clone(),
        fail,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(service))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
    });
    (rx.recv().unwrap(), calls)
}

/// The pipeline, traces only over gRPC to `endpoint`, its `OTEL_*`
/// variables `env` (never the process environment).
fn pipeline(endpoint: String, env: &[(&str, &str)]) -> OtelGuard {
    setup(endpoint, env).build().unwrap()
}

fn setup(endpoint: String, env: &[(&str, &str)]) -> Setup {
    otlp::setup(Protocol::Grpc, endpoint, env)
}

const TRACER: &str = "export-grpc-test";

fn one_span(guard: &OtelGuard) {
    otlp::one_span(guard, TRACER);
}

/// The one error an export of [`one_span`] to `endpoint` was recorded as.
fn export_error(endpoint: String) -> ExportError {
    otlp::the_export_error(pipeline(endpoint, &[]), TRACER)
}

#[test]
fn spans_arrive_with_their_events_attributes_and_the_headers() {
    let (addr, calls) = collector(None);
    let guard = pipeline(
        format!("http://{addr}"),
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "x-api-key=s%20cret,x-tenant=t1",
        )],
    );
    one_span(&guard);
    assert_eq!(guard.finish(), vec![]);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "one export");
    let (metadata, request) = &calls[0];
    assert_eq!(metadata.get("x-api-key").unwrap(), "s cret", "URL-decoded");
    assert_eq!(metadata.get("x-tenant").unwrap(), "t1");
    assert_the_one_span(request);
}

#[test]
fn an_unavailable_collector_is_retried_then_reported_in_plain_words() {
    let (addr, calls) = collector(Some(tonic::Code::Unavailable));
    let error = export_error(format!("http://{addr}"));
    assert_eq!(error.kind(), ExportErrorKind::Other);
    assert_eq!(
        error.to_string(),
        format!(
            "traces not exported to http://{addr}: the collector is unavailable (gRPC Unavailable)"
        )
    );
    // The first attempt and opentelemetry-otlp's three retries.
    assert_eq!(calls.lock().unwrap().len(), 4);
}

#[test]
fn a_collector_without_traces_is_unimplemented() {
    let (addr, calls) = collector(Some(tonic::Code::Unimplemented));
    let error = export_error(format!("http://{addr}"));
    assert_eq!(error.kind(), ExportErrorKind::Unimplemented);
    assert_eq!(
        error.detail(),
        "the collector does not accept traces (gRPC Unimplemented)"
    );
    assert_eq!(calls.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn a_closed_port_is_refused() {
    // Bound, not listening, kept for the test's length: refuses for sure.
    let refused = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _in = rt.enter();
        httptrace_testkit::http::refused_addr()
    };
    let error = export_error(format!("http://{refused}"));
    assert_eq!(error.kind(), ExportErrorKind::Refused);
    assert_eq!(
        error.to_string(),
        format!("traces not exported to http://{refused}: connection refused")
    );
}

#[test]
fn compression_this_build_cannot_do_is_an_error() {
    let err = setup(
        "http://127.0.0.1:4317".into(),
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")],
    )
    .build()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("OTEL_EXPORTER_OTLP_COMPRESSION=zstd") && err.contains("not built in"),
        "{err}"
    );
    // gzip is built in.
    assert!(
        setup(
            "http://127.0.0.1:4317".into(),
            &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
        )
        .build()
        .is_ok()
    );
}
