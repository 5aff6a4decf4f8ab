//! What the OTLP export tests (`export_grpc`, `export_http`,
//! `metrics_gzip`) share: the pipeline against a collector on a local port,
//! the span they send, a recording HTTP collector, and reading the decoded
//! request back.

use std::collections::HashMap;
use std::io::Read as _;
use std::time::Duration;

use bytes::Bytes;
use httptrace_otel::{ExportError, OtelGuard, Protocol, Setup};
use httptrace_testkit::http::{Received, TestServer};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

/// The pipeline, traces only over `protocol` to `endpoint`, its `OTEL_*`
/// variables `env` (never the process environment).
pub fn setup(protocol: Protocol, endpoint: String, env: &[(&str, &str)]) -> Setup {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Setup::with_env(move |k| env.get(k).cloned())
        .protocol(protocol)
        .endpoint(endpoint)
        .metrics(false)
        .install_subscriber(false)
        .fmt(false)
        .export_timeout(Duration::from_secs(3))
}

/// Ends one span of `tracer`, the one [`assert_the_one_span`] checks.
pub fn one_span(guard: &OtelGuard, tracer: &'static str) {
    let tracer = guard.tracer(tracer).unwrap();
    let mut span = tracer.start("GET /items");
    span.set_attribute(KeyValue::new("http.response.status_code", 200));
    span.add_event(
        "got_conn",
        vec![KeyValue::new("net.peer.name", "example.test")],
    );
    span.end();
}

/// Sends [`one_span`] of `tracer` through `guard`, shuts it down, and
/// returns the one error that export was recorded as.
pub fn the_export_error(guard: OtelGuard, tracer: &'static str) -> ExportError {
    one_span(&guard, tracer);
    let mut errors = guard.finish();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

/// Panics unless `request` holds exactly the span [`one_span`] ends, with
/// its attribute and its event.
pub fn assert_the_one_span(request: &ExportTraceServiceRequest) {
    let spans = spans(request);
    assert_eq!(spans.len(), 1);
    let span = spans[0];
    assert_eq!(span.name, "GET /items");
    assert_eq!(
        attr(&span.attributes, "http.response.status_code"),
        Some(Value::IntValue(200))
    );
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "got_conn");
    assert_eq!(
        attr(&span.events[0].attributes, "net.peer.name"),
        Some(Value::StringValue("example.test".into()))
    );
}

/// Every span of `request`, whatever its resource and scope.
pub fn spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect()
}

/// The value of the attribute `key` among decoded attributes.
pub fn attr(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<Value> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value)
}

/// An OTLP/HTTP collector answering every request with `status`, on a
/// runtime of its own (the listener is bound before the address is handed
/// out, and kept as long as the runtime): the pipeline blocks the test's
/// thread while it exports.
pub struct HttpCollector {
    pub server: TestServer,
    pub received: Received,
    _rt: tokio::runtime::Runtime,
}

pub fn http_collector(status: u16) -> HttpCollector {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (server, received) = {
        let _in = rt.enter();
        TestServer::recording(status, Bytes::new())
    };
    HttpCollector {
        server,
        received,
        _rt: rt,
    }
}

/// `body` gunzipped.
pub fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut plain)
        .unwrap();
    plain
}
