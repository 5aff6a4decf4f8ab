//! Traces over OTLP/HTTP through `Setup` into a real HTTP server on an
//! ephemeral port this test binds: what arrives (the path, the spans with
//! their events and attributes, the configured headers, gzip when asked),
//! and what a failing collector is recorded as.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use httptrace_otel::{ExportErrorKind, OtelGuard, Protocol, Setup};
use httptrace_testkit::http::{TestServer, full_body};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;

/// What the collector got: each request's head and body.
type Received = Arc<Mutex<Vec<(http::request::Parts, Bytes)>>>;

/// A collector answering every request with `status`, on a runtime of its
/// own (the listener is bound before the address is handed out, and kept
/// as long as the runtime).
struct Collector {
    server: TestServer,
    received: Received,
    _rt: tokio::runtime::Runtime,
}

fn collector(status: u16) -> Collector {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let received = Received::default();
    let r = received.clone();
    let server = {
        let _in = rt.enter();
        TestServer::http_with_handler(move |req| {
            let r = r.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                r.lock().unwrap().push((parts, body));
                http::Response::builder()
                    .status(status)
                    .body(full_body(Bytes::new()))
                    .unwrap()
            }
        })
    };
    Collector {
        server,
        received,
        _rt: rt,
    }
}

/// The pipeline, traces only over HTTP to `endpoint`, its `OTEL_*`
/// variables `env` (never the process environment).
fn setup(endpoint: String, env: &[(&str, &str)]) -> Setup {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Setup::with_env(move |k| env.get(k).cloned())
        .protocol(Protocol::HttpProtobuf)
        .endpoint(endpoint)
        .service_name("export-http-test")
        .metrics(false)
        .install_subscriber(false)
        .fmt(false)
        .export_timeout(Duration::from_secs(3))
}

fn pipeline(endpoint: String, env: &[(&str, &str)]) -> OtelGuard {
    setup(endpoint, env).build().unwrap()
}

fn one_span(guard: &OtelGuard) {
    let tracer = guard.tracer("export-http-test").unwrap();
    let mut span = tracer.start("GET /items");
    span.set_attribute(KeyValue::new("http.response.status_code", 200));
    span.add_event(
        "got_conn",
        vec![KeyValue::new("net.peer.name", "example.test")],
    );
    span.end();
}

/// The request's message, gunzipped if it says so.
fn message(head: &http::request::Parts, body: &[u8]) -> ExportTraceServiceRequest {
    let plain = match head.headers.get("content-encoding") {
        Some(e) if e == "gzip" => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .unwrap();
            plain
        }
        None => body.to_vec(),
        Some(e) => panic!("content-encoding {e:?}"),
    };
    ExportTraceServiceRequest::decode(plain.as_slice()).unwrap()
}

fn attr(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<Value> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value)
}

#[test]
fn spans_arrive_with_their_events_attributes_and_the_headers() {
    for gzip in [false, true] {
        let c = collector(200);
        let mut env = vec![(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "x-api-key=s%20cret,x-tenant=t1",
        )];
        if gzip {
            env.push(("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"));
        }
        let guard = pipeline(format!("http://{}", c.server.addr()), &env);
        one_span(&guard);
        assert_eq!(guard.finish(), vec![]);
        let got = c.received.lock().unwrap();
        assert_eq!(got.len(), 1, "one export");
        let (head, body) = &got[0];
        assert_eq!(head.uri.path(), "/v1/traces");
        assert_eq!(head.headers["content-type"], "application/x-protobuf");
        assert_eq!(head.headers["x-api-key"], "s cret", "URL-decoded");
        assert_eq!(head.headers["x-tenant"], "t1");
        assert_eq!(
            head.headers.get("content-encoding").is_some(),
            gzip,
            "gzip: {gzip}"
        );
        let request = message(head, body);
        let resource = request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(
            attr(&resource.attributes, "service.name"),
            Some(Value::StringValue("export-http-test".into()))
        );
        let spans: Vec<_> = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect();
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
}

#[test]
fn an_unavailable_collector_is_retried_then_reported_in_plain_words() {
    let c = collector(503);
    let addr = c.server.addr();
    let guard = pipeline(format!("http://{addr}"), &[]);
    one_span(&guard);
    let errors = guard.finish();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), ExportErrorKind::Other);
    assert_eq!(
        errors[0].to_string(),
        format!(
            "traces not exported to http://{addr}/v1/traces: \
             the collector answered HTTP 503 Service Unavailable"
        )
    );
    // The first attempt and opentelemetry-otlp's three retries.
    assert_eq!(c.received.lock().unwrap().len(), 4);
}

#[test]
fn a_collector_without_traces_is_unimplemented() {
    let c = collector(404);
    let guard = pipeline(format!("http://{}", c.server.addr()), &[]);
    one_span(&guard);
    let errors = guard.finish();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), ExportErrorKind::Unimplemented);
    assert_eq!(
        errors[0].detail(),
        "the collector does not accept traces (HTTP 404 Not Found)"
    );
    assert_eq!(c.received.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn the_endpoint_variables_are_read_as_opentelemetry_otlp_reads_them() {
    // No programmatic endpoint: the general variable gets the path.
    let c = collector(200);
    let general = format!("http://{}/otlp/", c.server.addr());
    let guard =
        Setup::with_env(move |k| (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| general.clone()))
            .protocol(Protocol::HttpProtobuf)
            .metrics(false)
            .install_subscriber(false)
            .fmt(false)
            .build()
            .unwrap();
    one_span(&guard);
    assert_eq!(guard.finish(), vec![]);
    assert_eq!(
        c.received.lock().unwrap()[0].0.uri.path(),
        "/otlp/v1/traces"
    );
}

#[test]
fn zstd_is_an_error_for_both_signals() {
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    ] {
        let err = setup("http://127.0.0.1:4318".into(), &[(var, "zstd")])
            .metrics(true)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{var}=zstd")) && err.contains("not built in"),
            "{err}"
        );
    }
}

#[test]
fn a_closed_port_is_refused() {
    // Bound, not listening, kept for the test's length: refuses for sure.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = {
        let _in = rt.enter();
        httptrace_testkit::http::refused_addr()
    };
    let guard = pipeline(format!("http://{}", refused.addr()), &[]);
    one_span(&guard);
    let errors = guard.finish();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), ExportErrorKind::Refused);
    assert_eq!(
        errors[0].to_string(),
        format!(
            "traces not exported to http://{}/v1/traces: connection refused",
            refused.addr()
        )
    );
}
