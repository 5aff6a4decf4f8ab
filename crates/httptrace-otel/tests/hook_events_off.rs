//! `OtelTrace::hook_events(false)`: hop spans without events, with the
//! phases' durations as attributes instead (real DNS, TLS and HTTP servers,
//! the reqwest transport, spans captured in process).

mod support;

use httptrace_testkit::http::refused_addr;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use support::*;

const PHASES: [&str; 6] = [
    "httptrace.dns.duration",
    "httptrace.connect.duration",
    "httptrace.tls.duration",
    "httptrace.send.duration",
    "httptrace.wait.duration",
    "httptrace.receive.duration",
];

fn seconds(span: &SpanData, key: &str) -> Option<f64> {
    match attr(&span.attributes, key)? {
        Value::F64(s) => Some(*s),
        other => panic!("{key} is {other:?}, not seconds"),
    }
}

fn reused(span: &SpanData) -> Option<bool> {
    match attr(&span.attributes, "httptrace.conn.reused")? {
        Value::Bool(b) => Some(*b),
        other => panic!("httptrace.conn.reused is {other:?}"),
    }
}

fn span_seconds(span: &SpanData) -> f64 {
    span.end_time
        .duration_since(span.start_time)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn hop_spans_carry_phase_durations_instead_of_events() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().hook_events(false));
    // A new HTTPS connection, then the same one again; the server holds the
    // response head back 60 ms.
    for _ in 0..2 {
        let response = client.get(net.https_url("/delay/60")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
    }

    let hops = cap.hops();
    assert_eq!(hops.len(), 2);
    for (i, hop) in hops.iter().enumerate() {
        assert!(hop.events.is_empty(), "hop {i}: {:?}", event_names(hop));
        // The span's other attributes are as with events.
        assert_eq!(attr_i64(hop, "http.response.status_code"), Some(200));
        assert!(attr_str(hop, "network.peer.address").is_some(), "hop {i}");
        let total: f64 = PHASES.iter().filter_map(|k| seconds(hop, k)).sum();
        assert!(
            total <= span_seconds(hop) + 1e-6,
            "hop {i}: phases {total} s within the span's {} s",
            span_seconds(hop)
        );
        // The server's delay is the wait: a lower bound.
        let wait = seconds(hop, "httptrace.wait.duration").expect("wait");
        assert!(wait >= 0.060, "hop {i}: wait {wait} s");
        for k in ["send", "receive"] {
            let key = format!("httptrace.{k}.duration");
            assert!(seconds(hop, &key).is_some(), "hop {i}: no {key}");
        }
    }
    let (first, second) = (&hops[0], &hops[1]);
    assert_eq!(reused(first), Some(false));
    for k in [
        "httptrace.dns.duration",
        "httptrace.connect.duration",
        "httptrace.tls.duration",
    ] {
        let s = seconds(first, k)
            .unwrap_or_else(|| panic!("first hop: no {k} in {:?}", first.attributes));
        assert!(s > 0.0, "first hop: {k} {s}");
    }
    assert_eq!(reused(second), Some(true));
    for k in [
        "httptrace.dns.duration",
        "httptrace.connect.duration",
        "httptrace.tls.duration",
    ] {
        assert_eq!(seconds(second, k), None, "reused connection: no {k}");
    }
}

#[tokio::test]
async fn with_phase_spans_both_spans_and_durations_are_recorded() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().hook_events(false).phase_spans(true));
    let response = client.get(net.https_url("/delay/30")).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");

    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert!(hop.events.is_empty(), "{:?}", event_names(hop));
    let spans = cap.spans();
    let wait_span = spans
        .iter()
        .find(|s| s.name == "wait" && s.parent_span_id == hop.span_context.span_id())
        .expect("a wait phase span under the hop");
    // The attribute and the phase span measure the same interval.
    let wait = seconds(hop, "httptrace.wait.duration").expect("wait");
    assert!((wait - span_seconds(wait_span)).abs() < 1e-6, "{wait} s");
    assert!(wait >= 0.030, "wait {wait} s");
}

#[tokio::test]
async fn a_refused_connection_keeps_its_error_and_its_connect_time() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().hook_events(false));
    let refused = refused_addr();
    let url = format!("http://127.0.0.1:{}/", refused.port());
    client
        .get(&url)
        .send()
        .await
        .expect_err("nothing listens there");

    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert!(hop.events.is_empty(), "{:?}", event_names(hop));
    assert!(is_error(hop), "{:?}", hop.status);
    assert_eq!(
        attr_str(hop, "error.type").as_deref(),
        Some("connection_refused")
    );
    // The attempt ended, in failure: its time is still the connect phase's.
    let connect = seconds(hop, "httptrace.connect.duration").expect("connect");
    assert!(connect <= span_seconds(hop) + 1e-6, "{connect} s");
    // No connection: nothing was sent or waited for.
    for k in ["send", "wait", "receive"] {
        let key = format!("httptrace.{k}.duration");
        assert_eq!(seconds(hop, &key), None, "{key}");
    }
    assert_eq!(reused(hop), None);
}
