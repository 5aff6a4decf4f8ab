//! The OTLP/HTTP sender against a real HTTP server: the body it POSTs is,
//! byte for byte, the one opentelemetry-proto encodes (gzipped or not),
//! and failed attempts are retried as opentelemetry-otlp retries them.

use std::time::Duration;

use bytes::Bytes;
use httptrace_testkit::http::{Received, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use opentelemetry_sdk::trace::SpanExporter as _;
use prost::Message as _;

use super::http::HttpSpanExporter;
use crate::export::errors::Signal;
use crate::export::otlp_body::tests::reference;
use crate::export::status::ExportStatus;
use crate::export::test_support::{batch, gunzip, runtime};

/// A recording server on a port it bound, on `rt` (kept while the runtime
/// lives), answering every request with `status` and `answer`.
fn collector(rt: &tokio::runtime::Runtime, status: u16, answer: Bytes) -> (TestServer, Received) {
    let _in = rt.enter();
    TestServer::recording(status, answer)
}

fn exporter(endpoint: &str, env: &'static [(&'static str, &'static str)]) -> HttpSpanExporter {
    let lookup = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let status = ExportStatus::new(Signal::Traces, endpoint.into(), Duration::from_secs(5));
    HttpSpanExporter::new(&lookup, Some(endpoint), None, status, &mut Vec::new()).unwrap()
}

#[test]
fn the_body_posted_is_opentelemetry_protos_gzipped_or_not() {
    let rt = runtime();
    for gzip in [false, true] {
        let (server, received) = collector(&rt, 200, Bytes::new());
        let endpoint = server.url("/v1/traces");
        let env: &'static [_] = if gzip {
            &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")]
        } else {
            &[("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s%20cret")]
        };
        let mut exporter = exporter(&endpoint, env);
        let (spans, resource) = batch("http-test");
        exporter.set_resource(&resource);
        futures_block_on(exporter.export(spans.clone())).unwrap();

        let got = received.lock().unwrap();
        assert_eq!(got.len(), 1, "one POST");
        let (head, body) = &got[0];
        assert_eq!(head.method, http::Method::POST);
        assert_eq!(head.uri.path(), "/v1/traces");
        assert_eq!(head.headers["content-type"], "application/x-protobuf");
        assert!(
            head.headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("httptrace-otel/")
        );
        let body = if gzip {
            assert_eq!(head.headers["content-encoding"], "gzip");
            let plain = gunzip(body);
            assert!(body.len() < plain.len(), "compressed");
            plain
        } else {
            assert!(!head.headers.contains_key("content-encoding"));
            assert_eq!(head.headers["x-api-key"], "s cret");
            body.to_vec()
        };
        assert_eq!(body, reference(&spans, &resource), "gzip: {gzip}");
    }
}

#[test]
fn failed_attempts_are_retried_as_opentelemetry_otlp_retries_them() {
    let rt = runtime();
    // 502, 503 and 504: the first attempt and three retries; others once.
    for (code, attempts) in [(503, 4), (502, 4), (404, 1), (400, 1), (500, 1)] {
        let (server, received) = collector(&rt, code, Bytes::new());
        let exporter = exporter(&server.url("/v1/traces"), &[]);
        let err = futures_block_on(exporter.export(batch("http-test").0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Operation failed: HTTP export failed with status code: {code}")
        );
        assert_eq!(received.lock().unwrap().len(), attempts, "HTTP {code}");
    }
}

#[test]
fn a_partial_success_is_a_success() {
    let rt = runtime();
    let answer = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "too old".into(),
        }),
    };
    let (server, received) = collector(&rt, 200, answer.encode_to_vec().into());
    let exporter = exporter(&server.url("/v1/traces"), &[]);
    futures_block_on(exporter.export(batch("http-test").0)).unwrap();
    assert_eq!(received.lock().unwrap().len(), 1, "not retried");
    // Neither is an answer that is no protobuf.
    let (server, _) = collector(&rt, 200, Bytes::from_static(b"ok"));
    let exporter = self::exporter(&server.url("/v1/traces"), &[]);
    futures_block_on(exporter.export(batch("http-test").0)).unwrap();
}

#[test]
fn endpoints_reqwest_cannot_take_and_zstd_are_errors() {
    let build = |endpoint: &str, env: &[(&str, &str)]| {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let status = ExportStatus::new(Signal::Traces, endpoint.into(), Duration::from_secs(1));
        HttpSpanExporter::new(&lookup, Some(endpoint), None, status, &mut Vec::new())
    };
    let err = build("http://bad host:4318/v1/traces", &[]).unwrap_err();
    assert!(
        err.contains("invalid endpoint 'http://bad host:4318/v1/traces'"),
        "{err}"
    );
    let err = build("collector.test:4318/v1/traces", &[]).unwrap_err();
    assert!(err.starts_with("endpoint: invalid endpoint"), "{err}");
    let err = build(
        "http://c.test:4318/v1/traces",
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")],
    )
    .unwrap_err();
    assert!(err.contains("zstd compression is not built in"), "{err}");
}

/// The exporter runs where the SDK's batch thread runs it: outside any
/// runtime, polled by a plain executor (it never waits on a waker: it
/// blocks).
fn futures_block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
