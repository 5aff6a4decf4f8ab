//! What the exporters' tests against real servers (`grpc_tests.rs`,
//! `http_tests.rs`) share: the runtime their servers run on and the batch
//! they send.

use std::io::Read as _;

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use crate::export::otlp_body::tests::span;

/// A runtime of one worker for the test's servers: they keep serving while
/// the exporter under test blocks the test's thread.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Twelve spans of two scopes, interleaved (ours with a version and an
/// attribute, another without), and a resource named `service_name` with a
/// schema URL: every part of the message's grouping is exercised.
pub(crate) fn batch(service_name: &'static str) -> (Vec<SpanData>, Resource) {
    let ours = InstrumentationScope::builder("httptrace-otel")
        .with_version("0.1.0")
        .with_attributes([KeyValue::new("scope.attr", "x")])
        .build();
    let theirs = InstrumentationScope::builder("tracing-opentelemetry").build();
    let resource = Resource::builder_empty()
        .with_attributes([KeyValue::new("service.name", service_name)])
        .with_schema_url([], "https://opentelemetry.io/schemas/1.37.0")
        .build();
    let spans = (0..12)
        .map(|n| span(if n % 3 == 1 { &theirs } else { &ours }, n))
        .collect();
    (spans, resource)
}

/// `body` gunzipped.
pub(crate) fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut plain)
        .unwrap();
    plain
}
