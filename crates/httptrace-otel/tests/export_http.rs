//! Traces over OTLP/HTTP through `Setup` into a real HTTP server on an
//! ephemeral port this test binds: what arrives (the path, the spans with
//! their events and attributes, the configured headers, gzip when asked),
//! and what a failing collector is recorded as.

mod support;

use httptrace_otel::{ExportError, ExportErrorKind, OtelGuard, Protocol, Setup};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;

use support::otlp::{self, assert_the_one_span, attr, gunzip, http_collector};

/// The pipeline, traces only over HTTP to `endpoint`, its `OTEL_*`
/// variables `env` (never the process environment).
fn setup(endpoint: String, env: &[(&str, &str)]) -> Setup {
    otlp::setup(Protocol::HttpProtobuf, endpoint, env).service_name("export-http-test")
}

fn pipeline(endpoint: String, env: &[(&str, &str)]) -> OtelGuard {
    setup(endpoint, env).build().unwrap()
}

const TRACER: &str = "export-http-test";

fn one_span(guard: &OtelGuard) {
    otlp::one_span(guard, TRACER);
}

/// The one error an export of [`one_span`] to `endpoint` was recorded as.
fn export_error(endpoint: String) -> ExportError {
    otlp::the_export_error(pipeline(endpoint, &[]), TRACER)
}

/// The request's message, gunzipped if it says so.
fn message(head: &http::request::Parts, body: &[u8]) -> ExportTraceServiceRequest {
    let plain = match head.headers.get("content-encoding") {
        Some(e) if e == "gzip" => gunzip(body),
        None => body.to_vec(),
        Some(e) => panic!("content-encoding {e:?}"),
    };
    ExportTraceServiceRequest::decode(plain.as_slice()).unwrap()
}

#[test]
fn spans_arrive_with_their_events_attributes_and_the_headers() {
    for gzip in [false, true] {
        let c = http_collector(200);
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
        assert_the_one_span(&request);
    }
}

#[test]
fn an_unavailable_collector_is_retried_then_reported_in_plain_words() {
    let c = http_collector(503);
    let addr = c.server.addr();
    let error = export_error(format!("http://{addr}"));
    assert_eq!(error.kind(), ExportErrorKind::Other);
    assert_eq!(
        error.to_string(),
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
    let c = http_collector(404);
    let error = export_error(format!("http://{}", c.server.addr()));
    assert_eq!(error.kind(), ExportErrorKind::Unimplemented);
    assert_eq!(
        error.detail(),
        "the collector does not accept traces (HTTP 404 Not Found)"
    );
    assert_eq!(c.received.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn the_endpoint_variables_are_read_as_opentelemetry_otlp_reads_them() {
    // No programmatic endpoint: the general variable gets the path.
    let c = http_collector(200);
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
    let error = export_error(format!("http://{}", refused.addr()));
    assert_eq!(error.kind(), ExportErrorKind::Refused);
    assert_eq!(
        error.to_string(),
        format!(
            "traces not exported to http://{}/v1/traces: connection refused",
            refused.addr()
        )
    );
}
