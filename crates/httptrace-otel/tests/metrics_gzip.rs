//! Metrics over OTLP/HTTP take the same compression setting as traces:
//! opentelemetry-otlp's metric exporter, built with its `gzip-http`, reads
//! `OTEL_EXPORTER_OTLP_COMPRESSION` from the process environment and sends
//! gzip. Its own test binary: it sets that variable for the process.

use std::io::Read as _;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use httptrace_otel::{Protocol, Setup};
use httptrace_testkit::http::{TestServer, full_body};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message as _;

type Received = Arc<Mutex<Vec<(http::request::Parts, Bytes)>>>;

#[test]
fn metrics_are_gzipped_when_asked() {
    // SAFETY: the only test of this binary, set before any thread reads it.
    unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip") };
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
                http::Response::new(full_body(Bytes::new()))
            }
        })
    };
    let guard = Setup::from_env()
        .protocol(Protocol::HttpProtobuf)
        .endpoint(format!("http://{}", server.addr()))
        .traces(false)
        .install_subscriber(false)
        .fmt(false)
        .build()
        .unwrap();
    let meter = guard.meter_provider().unwrap().meter("metrics-gzip-test");
    meter.u64_counter("gzip.test.requests").build().add(1, &[]);
    assert_eq!(guard.finish(), vec![]);

    let got = received.lock().unwrap();
    let (head, body) = got
        .iter()
        .find(|(head, _)| head.uri.path() == "/v1/metrics")
        .expect("a metrics export");
    assert_eq!(head.headers["content-encoding"], "gzip");
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(body.as_ref())
        .read_to_end(&mut plain)
        .unwrap();
    let request = ExportMetricsServiceRequest::decode(plain.as_slice()).unwrap();
    let names: Vec<_> = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.as_str())
        .collect();
    assert!(names.contains(&"gzip.test.requests"), "{names:?}");
}
