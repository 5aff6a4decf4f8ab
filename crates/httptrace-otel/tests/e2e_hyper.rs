//! The hyper-util transport end to end: its exact hooks (per-address
//! connects, 1xx, socket-level writes and first byte) become span events
//! that reach a real Jaeger over OTLP, and so does a dial that outlives its
//! round trip, as a `dial` span, and a round trip through a proxy. Its own
//! test binary: the pipeline installs
//! process-wide globals.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use httptrace_otel::{OtelTrace, Protocol};
use httptrace_testkit::http::TestServer;
use jaeger_harness::{Jaeger, spans};
use tracing::Instrument as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_transport_hooks_reach_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let guard = support::e2e::install(
        "httptrace-hyper-e2e",
        jaeger.otlp_grpc_endpoint(),
        Protocol::Grpc,
    );
    let server = TestServer::http();
    let client = httptrace::hyper::Client::builder()
        .make_trace(OtelTrace::new())
        .build::<Full<Bytes>>()
        .unwrap();
    let caller = tracing::info_span!("upload");
    let trace_id = support::trace_id(&caller);
    let request = http::Request::post(server.url("/continue"))
        .header("expect", "100-continue")
        .body(Full::new(Bytes::from_static(b"hello")))
        .unwrap();
    let body = async {
        let response = client.request(request).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    }
    .instrument(caller)
    .await;
    assert_eq!(&body[..], b"5");
    guard.force_flush().expect("flush to Jaeger");

    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(20), |t| spans(t).len() >= 2)
        .await
        .expect("trace in Jaeger");
    let spans = spans(&trace);
    let root = spans
        .iter()
        .find(|s| s.name == "upload")
        .expect("caller span");
    let hop = spans.iter().find(|s| s.is_client()).expect("hop span");
    assert_eq!(hop.parent_span_id, root.span_id);
    assert_eq!(hop.name, "POST");
    assert_eq!(hop.attr_i64("http.response.status_code"), Some(200));
    let names: Vec<&str> = hop.events.iter().map(|e| e.name.as_str()).collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("no {n} in {names:?}"))
    };
    assert!(pos("httptrace.connect.start") < pos("httptrace.connect.done"));
    assert!(pos("httptrace.connect.done") < pos("httptrace.request.headers_written"));
    assert!(pos("httptrace.request.headers_written") <= pos("httptrace.response.informational"));
    assert!(pos("httptrace.response.informational") < pos("httptrace.round_trip.done"));
    assert!(pos("httptrace.response.first_byte") < pos("httptrace.response.body_done"));
    for e in &hop.events {
        assert!(
            e.time_ns >= hop.start_ns && e.time_ns <= hop.end_ns,
            "{} outside its span",
            e.name
        );
    }
    let connect = hop
        .events
        .iter()
        .find(|e| e.name == "httptrace.connect.start")
        .unwrap();
    assert_eq!(
        connect.attributes.get("network.peer.address"),
        Some(&serde_json::json!("127.0.0.1")),
        "connect_start names the address it dials: {:?}",
        connect.attributes
    );
    assert_eq!(
        connect.attributes.get("network.peer.port"),
        Some(&serde_json::json!(server.port())),
    );

    outlived_dial_reaches_jaeger(&jaeger, &guard).await;
    proxied_round_trip_reaches_jaeger(&jaeger, &guard).await;
}

/// HTTPS through an authenticating proxy: the hop names the origin as its
/// server and the proxy as its peer, its connect events the proxy, its TLS
/// the origin; the proxy's credentials reach no span.
async fn proxied_round_trip_reaches_jaeger(jaeger: &Jaeger, guard: &httptrace_otel::OtelGuard) {
    use httptrace_testkit::proxy::ForwardProxy;
    use httptrace_testkit::tls::TestCa;

    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = ForwardProxy::with_basic_auth("agent", "pr0xy-secret");
    let matcher = httptrace::hyper::ProxyMatcher::builder()
        .all(format!("http://agent:pr0xy-secret@{}", proxy.addr()))
        .build();
    let client = httptrace::hyper::Client::builder()
        .make_trace(OtelTrace::new())
        .root_certificate_der(ca.cert_der().to_vec())
        .proxy(matcher)
        .build::<Full<Bytes>>()
        .unwrap();
    let caller = tracing::info_span!("via-proxy");
    let trace_id = support::trace_id(&caller);
    let url = origin.url_with_host("origin.test", "/");
    let body = async {
        let request = http::Request::get(&url).body(Full::default()).unwrap();
        let response = client.request(request).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    }
    .instrument(caller)
    .await;
    assert_eq!(&body[..], b"hello");
    guard.force_flush().expect("flush to Jaeger");

    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(20), |t| spans(t).len() >= 2)
        .await
        .expect("proxied trace in Jaeger");
    let spans = spans(&trace);
    let hop = spans.iter().find(|s| s.is_client()).expect("hop span");
    assert_eq!(hop.attr_str("server.address"), Some("origin.test"));
    assert_eq!(hop.attr_i64("server.port"), Some(i64::from(origin.port())));
    assert_eq!(
        hop.attr_i64("network.peer.port"),
        Some(i64::from(proxy.addr().port()))
    );
    let event = |name: &str| {
        hop.events
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no {name} on the hop"))
    };
    assert_eq!(
        event("httptrace.connect.start")
            .attributes
            .get("network.peer.port"),
        Some(&serde_json::json!(proxy.addr().port()))
    );
    assert_eq!(
        event("httptrace.tls.start")
            .attributes
            .get("server.address"),
        Some(&serde_json::json!("origin.test"))
    );
    assert_eq!(
        event("httptrace.conn.got")
            .attributes
            .get("httptrace.conn.proxied"),
        Some(&serde_json::json!(true))
    );
    let stored = serde_json::to_string(&trace).unwrap();
    assert!(!stored.contains("pr0xy-secret"));
    assert!(!stored.contains("YWdlbnQ6cHIweHktc2VjcmV0")); // base64 of agent:pr0xy-secret
}

/// A dial that outlives its round trip (see `support::outlived_dial`): its
/// late hooks reach Jaeger on a `dial` span under A's hop.
async fn outlived_dial_reaches_jaeger(jaeger: &Jaeger, guard: &httptrace_otel::OtelGuard) {
    let caller = tracing::info_span!("background-dial");
    let trace_id = support::trace_id(&caller);
    let _servers = support::outlived_dial(support::Transport::Hyper, OtelTrace::new())
        .instrument(caller)
        .await;
    // The dial span is made when A's dial is over (its winner connects
    // 500 ms after it began) and the trace is gone.
    tokio::time::sleep(Duration::from_millis(700)).await;
    guard.force_flush().expect("flush to Jaeger");

    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(20), |t| {
            spans(t).iter().any(|s| s.name == "dial")
        })
        .await
        .expect("trace with the dial span in Jaeger");
    let spans = spans(&trace);
    let dial = spans.iter().find(|s| s.name == "dial").unwrap();
    let hop = spans
        .iter()
        .find(|s| s.span_id == dial.parent_span_id)
        .expect("the dial's parent");
    assert!(hop.is_client());
    assert!(
        hop.attr_str("url.full")
            .is_some_and(|u| !u.ends_with("/hold")),
        "the dial belongs to A's hop"
    );
    assert!(!dial.is_error(), "{}", dial.status_message);
    let names: Vec<&str> = dial.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "httptrace.connect.start",
            "httptrace.connect.done",
            "httptrace.connect.done"
        ]
    );
    assert!(dial.start_ns < hop.end_ns);
    assert!(dial.events.iter().all(|e| e.time_ns >= hop.end_ns));
    assert!(dial.events.iter().all(|e| e.time_ns <= dial.end_ns));
}
