//! Every attribute the crate writes, walked on real traffic (HTTPS with
//! DNS, a redirect, recorded headers, a connection the server closes, a
//! refused connection, an unknown method, phase spans): each key is in
//! `conventions::ATTRIBUTES` with the type it is written as, none is
//! deprecated, and every hook event is namespaced.

mod support;

use std::collections::BTreeSet;

use httptrace_otel::conventions;
use httptrace_testkit::http::{TestServer, full_body, refused_addr};
use opentelemetry::{Array, KeyValue, Value};
use support::*;

fn otlp_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::I64(_) => "int",
        Value::F64(_) => "double",
        Value::Bool(_) => "bool",
        Value::Array(Array::String(_)) => "array",
        _ => "other",
    }
}

/// Checks `attrs` against the table; returns their keys.
fn walk<'a>(on: &str, attrs: impl Iterator<Item = &'a KeyValue>, seen: &mut BTreeSet<String>) {
    for kv in attrs {
        let key = kv.key.as_str();
        let listed = conventions::attribute(key);
        assert!(
            listed.is_some(),
            "{on}: {key} is not in the conventions table"
        );
        if let Err(problem) = conventions::check(key, otlp_type(&kv.value)) {
            panic!("{on}: {problem}");
        }
        seen.insert(listed.unwrap().key.to_string());
    }
}

#[tokio::test]
async fn every_attribute_written_is_in_the_conventions_table_with_its_type() {
    let cap = Capture::new();
    let net = Net::start();
    let otel = cap
        .otel()
        .phase_spans(true)
        .record_request_headers(["x-request-id"])
        .record_response_headers(["content-type"])
        .url_templates(["/redirect/{n}"]);
    let client = net.client(otel);

    let response = client
        .get(net.https_url("/redirect/1"))
        .header("x-request-id", "r1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "done");

    let closing = TestServer::http_with_handler(|_| async {
        http::Response::builder()
            .header("connection", "close")
            .body(full_body("bye"))
            .unwrap()
    });
    let response = client.get(closing.url("/")).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "bye");

    let refused = refused_addr();
    client
        .get(format!("http://127.0.0.1:{}/", refused.port()))
        .send()
        .await
        .unwrap_err();

    let propfind = http::Method::from_bytes(b"PROPFIND").unwrap();
    let response = client
        .request(propfind, net.https_url("/"))
        .send()
        .await
        .unwrap();
    response.bytes().await.unwrap();

    let spans = cap.spans();
    assert!(spans.len() >= 5, "{} spans", spans.len());
    let mut seen = BTreeSet::new();
    for span in &spans {
        walk(&span.name, span.attributes.iter(), &mut seen);
        for event in span.events.iter() {
            assert!(
                event.name.starts_with("httptrace."),
                "{}: event {}",
                span.name,
                event.name
            );
            assert!(
                conventions::hook_name(&event.name).is_some(),
                "{}: {} is in the event table",
                span.name,
                event.name
            );
            let on = format!("{} / {}", span.name, event.name);
            walk(&on, event.attributes.iter(), &mut seen);
        }
    }
    // The traffic reached the keys that changed name or type.
    for key in [
        "httptrace.error.message",
        "httptrace.conn.kept",
        "httptrace.conn.not_kept_reason",
        "httptrace.conn.idle_time",
        "tls.server.not_before",
        "tls.server.not_after",
        "httptrace.dns.duration",
        "httptrace.tls.duration",
        "httptrace.wait.duration",
        "httptrace.receive.duration",
        "http.request.method_original",
        "http.request.header.",
        "http.response.header.",
        "url.template",
        "dns.answers",
    ] {
        assert!(seen.contains(key), "no {key} in {seen:?}");
    }
}
