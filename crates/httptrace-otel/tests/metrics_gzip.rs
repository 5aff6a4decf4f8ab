//! Metrics over OTLP/HTTP take the same compression setting as traces:
//! opentelemetry-otlp's metric exporter, built with its `gzip-http`, reads
//! `OTEL_EXPORTER_OTLP_COMPRESSION` from the process environment and sends
//! gzip. Its own test binary: it sets that variable for the process.

mod support;

use httptrace_otel::{Protocol, Setup};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message as _;

use support::otlp::{gunzip, http_collector};

#[test]
fn metrics_are_gzipped_when_asked() {
    // SAFETY: the only test of this binary, set before any thread reads it.
    unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip") };
    let collector = http_collector(200);
    let guard = Setup::from_env()
        .protocol(Protocol::HttpProtobuf)
        .endpoint(format!("http://{}", collector.server.addr()))
        .traces(false)
        .install_subscriber(false)
        .fmt(false)
        .build()
        .unwrap();
    let meter = guard.meter_provider().unwrap().meter("metrics-gzip-test");
    meter.u64_counter("gzip.test.requests").build().add(1, &[]);
    assert_eq!(guard.finish(), vec![]);

    let got = collector.received.lock().unwrap();
    let (head, body) = got
        .iter()
        .find(|(head, _)| head.uri.path() == "/v1/metrics")
        .expect("a metrics export");
    assert_eq!(head.headers["content-encoding"], "gzip");
    let request = ExportMetricsServiceRequest::decode(gunzip(body).as_slice()).unwrap();
    let names: Vec<_> = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.as_str())
        .collect();
    assert!(names.contains(&"gzip.test.requests"), "{names:?}");
}
