//! Spans from real traffic (local DNS, TLS and HTTP servers, the reqwest
//! transport), captured in process with the SDK's in-memory exporter.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use httptrace_otel::OptInMetric;
use httptrace_testkit::http::{TestServer, full_body, refused_addr};
use httptrace_testkit::tls::TestCa;
use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt as _};
use support::*;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// Sets a thread-local subscriber with the OpenTelemetry layer on `cap`'s tracer.
fn subscriber(cap: &Capture) -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(cap.tracer())),
    )
}

fn children(
    spans: &[opentelemetry_sdk::trace::SpanData],
    parent: SpanId,
) -> Vec<&opentelemetry_sdk::trace::SpanData> {
    spans
        .iter()
        .filter(|s| s.parent_span_id == parent)
        .collect()
}

fn names_before(names: &[String], a: &str, b: &str) -> bool {
    let pa = names
        .iter()
        .position(|n| n == a)
        .unwrap_or_else(|| panic!("no {a} in {names:?}"));
    let pb = names
        .iter()
        .position(|n| n == b)
        .unwrap_or_else(|| panic!("no {b} in {names:?}"));
    pa < pb
}

#[tokio::test]
async fn one_span_per_hop_with_conventions_events_phases_and_metrics() {
    let cap = Capture::new();
    let net = Net::start();
    let _sub = subscriber(&cap);
    let client = net.client(
        cap.otel()
            .phase_spans(true)
            .enable_metric(OptInMetric::ActiveRequests)
            .enable_metric(OptInMetric::DnsLookupDuration),
    );
    let caller = tracing::info_span!("caller");
    let body = async {
        client
            .get(net.https_url("/redirect/1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
    .instrument(caller.clone())
    .await;
    assert_eq!(body, "done");
    drop(caller);

    let spans = cap.spans();
    let caller = spans
        .iter()
        .find(|s| s.name == "caller")
        .expect("caller span");
    let hops = cap.hops();
    assert_eq!(
        hops.len(),
        2,
        "{:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let port = i64::from(net.https.port());
    for (i, hop) in hops.iter().enumerate() {
        assert_eq!(hop.name, "GET");
        assert_eq!(hop.span_kind, SpanKind::Client);
        assert_eq!(hop.span_context.trace_id(), caller.span_context.trace_id());
        assert_eq!(
            hop.parent_span_id,
            caller.span_context.span_id(),
            "hop {i} under the caller"
        );
        assert_eq!(attr_str(hop, "http.request.method").as_deref(), Some("GET"));
        assert_eq!(attr_str(hop, "server.address").as_deref(), Some("svc.test"));
        assert_eq!(attr_i64(hop, "server.port"), Some(port));
        assert_eq!(
            attr_str(hop, "network.protocol.version").as_deref(),
            Some("1.1")
        );
        assert_eq!(
            attr_str(hop, "network.peer.address").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(attr_i64(hop, "network.peer.port"), Some(port));
        assert!(!is_error(hop), "{:?}", hop.status);
        assert!(attr_str(hop, "error.type").is_none());
        assert_events_in_range(hop);
        assert!(hop.start_time >= caller.start_time && hop.end_time <= caller.end_time);
        let names = phases(hop);
        assert_eq!(
            names.first().map(String::as_str),
            Some("httptrace.round_trip.start")
        );
        for pair in [
            ("httptrace.round_trip.start", "httptrace.conn.get"),
            ("httptrace.conn.got", "httptrace.request.headers_written"),
            (
                "httptrace.request.headers_written",
                "httptrace.request.written",
            ),
            ("httptrace.request.written", "httptrace.response.first_byte"),
            ("httptrace.response.first_byte", "httptrace.round_trip.done"),
            ("httptrace.round_trip.done", "httptrace.response.body_done"),
            ("httptrace.response.body_done", "httptrace.conn.put_idle"),
        ] {
            assert!(
                names_before(&names, pair.0, pair.1),
                "hop {i}: {pair:?} in {names:?}"
            );
        }
        // The span ends at body_done's own timestamp.
        let body_done = hop
            .events
            .iter()
            .find(|e| e.name == "httptrace.response.body_done")
            .unwrap();
        assert_eq!(body_done.timestamp, hop.end_time);
        let start = hop
            .events
            .iter()
            .find(|e| e.name == "httptrace.round_trip.start")
            .unwrap();
        assert_eq!(start.timestamp, hop.start_time);
    }
    let (h0, h1) = (&hops[0], &hops[1]);
    assert!(h0.end_time <= h1.start_time, "hops in order");
    assert_eq!(attr_str(h0, "url.full"), Some(net.https_url("/redirect/1")));
    assert_eq!(attr_str(h1, "url.full"), Some(net.https_url("/redirect/0")));
    assert_eq!(attr_i64(h0, "http.response.status_code"), Some(302));
    assert_eq!(attr_i64(h1, "http.response.status_code"), Some(200));
    assert_eq!(attr_i64(h0, "http.request.resend_count"), None);
    assert_eq!(attr_i64(h1, "http.request.resend_count"), Some(1));

    // The new connection's phases, in order, on the first hop only.
    let n0 = phases(h0);
    for pair in [
        ("httptrace.conn.get", "httptrace.dns.start"),
        ("httptrace.dns.start", "httptrace.dns.done"),
        ("httptrace.dns.done", "httptrace.connect.start"),
        ("httptrace.connect.start", "httptrace.connect.done"),
        ("httptrace.connect.done", "httptrace.tls.start"),
        ("httptrace.tls.start", "httptrace.tls.done"),
        ("httptrace.tls.done", "httptrace.conn.got"),
    ] {
        assert!(names_before(&n0, pair.0, pair.1), "{pair:?} in {n0:?}");
    }
    let n1 = phases(h1);
    assert!(
        !n1.iter()
            .any(|n| n.starts_with("httptrace.dns") || n.starts_with("httptrace.tls")),
        "{n1:?}"
    );

    // Event details.
    let ev = |hop: &opentelemetry_sdk::trace::SpanData, name: &str| {
        hop.events
            .iter()
            .find(|e| e.name == name)
            .unwrap()
            .attributes
            .clone()
    };
    let dns = ev(h0, "httptrace.dns.done");
    assert_eq!(
        attr(&dns, "dns.question.name"),
        Some(&Value::from("svc.test"))
    );
    assert_eq!(
        attr(&dns, "dns.answers"),
        Some(&Value::Array(
            vec![opentelemetry::StringValue::from("127.0.0.1")].into()
        ))
    );
    let tls = ev(h0, "httptrace.tls.done");
    assert_eq!(attr(&tls, "tls.protocol.name"), Some(&Value::from("tls")));
    assert!(matches!(attr(&tls, "tls.protocol.version"), Some(v) if v.as_str().starts_with("1.")));
    assert!(
        attr(&tls, "tls.server.subject")
            .is_some_and(|s| s.as_str().contains("svc.test") || !s.as_str().is_empty())
    );
    assert!(attr(&tls, "tls.server.issuer").is_some());
    let got0 = ev(h0, "httptrace.conn.got");
    assert_eq!(
        attr(&got0, "httptrace.conn.reused"),
        Some(&Value::Bool(false))
    );
    let got1 = ev(h1, "httptrace.conn.got");
    assert_eq!(
        attr(&got1, "httptrace.conn.reused"),
        Some(&Value::Bool(true))
    );
    let rtd = ev(h1, "httptrace.round_trip.done");
    assert_eq!(
        attr(&rtd, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    let body = ev(h1, "httptrace.response.body_done");
    assert_eq!(
        attr(&body, "httptrace.body.outcome"),
        Some(&Value::from("completed"))
    );
    assert_eq!(
        attr(&body, "httptrace.response.body_bytes"),
        Some(&Value::I64(4))
    );

    // Phase sub-spans: children of their hop, inside it, in order.
    let want0 = ["dns", "connect", "tls", "send", "wait", "receive"];
    let want1 = ["send", "wait", "receive"];
    for (hop, want) in [(h0, &want0[..]), (h1, &want1[..])] {
        let kids = children(&spans, hop.span_context.span_id());
        let names: Vec<&str> = kids.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(
            names,
            want,
            "phase spans of {:?}",
            attr_str(hop, "url.full")
        );
        for k in &kids {
            assert_eq!(k.span_kind, SpanKind::Internal);
            assert!(
                k.start_time >= hop.start_time && k.end_time <= hop.end_time,
                "{} outside its hop",
                k.name
            );
            assert!(!is_error(k));
        }
        for pair in kids.windows(2) {
            assert!(
                pair[0].end_time <= pair[1].start_time,
                "{} overlaps {}",
                pair[0].name,
                pair[1].name
            );
        }
    }
    let dns_span = children(&spans, h0.span_context.span_id())[0];
    assert_eq!(
        attr_str(dns_span, "dns.question.name").as_deref(),
        Some("svc.test")
    );

    // Metrics.
    let durations = cap.metric_points("http.client.request.duration");
    assert_eq!(durations.len(), 2, "{durations:?}");
    for (attrs, count) in &durations {
        assert_eq!(*count, 1.0);
        assert_eq!(
            attr(attrs, "http.request.method"),
            Some(&Value::from("GET"))
        );
        assert_eq!(
            attr(attrs, "server.address"),
            Some(&Value::from("svc.test"))
        );
        assert_eq!(attr(attrs, "server.port"), Some(&Value::I64(port)));
        assert_eq!(
            attr(attrs, "network.protocol.version"),
            Some(&Value::from("1.1"))
        );
        assert!(attr(attrs, "error.type").is_none());
    }
    let mut codes: Vec<i64> = durations
        .iter()
        .filter_map(|(a, _)| match attr(a, "http.response.status_code") {
            Some(Value::I64(c)) => Some(*c),
            _ => None,
        })
        .collect();
    codes.sort();
    assert_eq!(codes, [200, 302]);
    let active = cap.metric_points("http.client.active_requests");
    assert!(
        !active.is_empty() && active.iter().all(|(_, v)| *v == 0.0),
        "{active:?}"
    );
    let dns = cap.metric_points("dns.lookup.duration");
    assert_eq!(dns.len(), 1, "{dns:?}");
    assert_eq!(
        attr(&dns[0].0, "dns.question.name"),
        Some(&Value::from("svc.test"))
    );
}

/// A plain HTTP server recording the `traceparent` of every request; `/`
/// redirects to `/next`.
fn recording_server() -> (TestServer, Arc<Mutex<Vec<Option<String>>>>) {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = seen.clone();
    let server = TestServer::http_with_handler(move |req| {
        let log = log.clone();
        async move {
            let tp = req
                .headers()
                .get("traceparent")
                .map(|v| v.to_str().unwrap().to_string());
            log.lock().unwrap().push(tp);
            let resp = if req.uri().path() == "/" {
                http::Response::builder()
                    .status(302)
                    .header("location", "/next")
            } else {
                http::Response::builder().status(200)
            };
            resp.body(full_body("ok")).unwrap()
        }
    });
    (server, seen)
}

#[tokio::test]
async fn the_callers_baggage_goes_with_every_hop() {
    use opentelemetry::baggage::BaggageExt as _;
    use opentelemetry::trace::Tracer as _;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    let cap = Capture::new();
    // (path, baggage header) of every request the server got.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let server = TestServer::http_with_handler(move |req| {
        let baggage = req
            .headers()
            .get("baggage")
            .map(|v| v.to_str().unwrap().to_string());
        log.lock()
            .unwrap()
            .push((req.uri().path().to_string(), baggage));
        let resp = match req.uri().path() {
            "/" => http::Response::builder()
                .status(302)
                .header("location", "/next"),
            _ => http::Response::builder().status(200),
        };
        async move { resp.body(full_body("ok")).unwrap() }
    });
    let net = Net::start();
    let client = net.plain_client();
    let parent = opentelemetry::Context::new()
        .with_baggage([opentelemetry::KeyValue::new("tenant", "acme")])
        .with_span(cap.tracer().start("parent"));
    let propagator = opentelemetry::propagation::TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]);
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/", server.port())).unwrap();
    let headers = http::HeaderMap::new();
    let info = httptrace::RequestInfo::new(&http::Method::GET, &url, &headers);
    let trace = cap
        .otel()
        .propagator(propagator)
        .trace_with_parent(&info, parent);
    let resp = client.get(url.as_str()).trace(trace).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    let seen = seen.lock().unwrap().clone();
    let want = Some("tenant=acme".to_string());
    assert_eq!(
        seen,
        [("/".to_string(), want.clone()), ("/next".to_string(), want)]
    );
}

#[tokio::test]
async fn each_hop_propagates_its_own_span() {
    use opentelemetry::trace::Tracer as _;
    let cap = Capture::new();
    let (server, seen) = recording_server();
    let net = Net::start();
    let client = net.plain_client();
    let parent = opentelemetry::Context::new().with_span(cap.tracer().start("parent"));
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/", server.port())).unwrap();
    let headers = http::HeaderMap::new();
    let info = httptrace::RequestInfo::new(&http::Method::GET, &url, &headers);
    let trace = cap.otel().trace_with_parent(&info, parent.clone());
    let resp = client.get(url.as_str()).trace(trace).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");

    let seen = seen.lock().unwrap().clone();
    let hops = cap.hops();
    assert_eq!((seen.len(), hops.len()), (2, 2));
    for (i, hop) in hops.iter().enumerate() {
        let want = format!(
            "00-{}-{}-01",
            hop.span_context.trace_id(),
            hop.span_context.span_id()
        );
        assert_eq!(seen[i].as_deref(), Some(want.as_str()), "hop {i}");
        assert_eq!(hop.parent_span_id, parent.span().span_context().span_id());
        assert_eq!(
            hop.span_context.trace_id(),
            parent.span().span_context().trace_id()
        );
    }
}

#[tokio::test]
async fn caller_traceparent_is_kept() {
    let cap = Capture::new();
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = seen.clone();
    let server = TestServer::http_with_handler(move |req| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(
                req.headers()
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_string()),
            );
            http::Response::builder()
                .status(200)
                .body(full_body("ok"))
                .unwrap()
        }
    });
    let net = Net::start();
    let client = net.client(cap.otel());
    let mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let resp = client
        .get(format!("http://127.0.0.1:{}/", server.port()))
        .header("traceparent", mine)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    assert_eq!(seen.lock().unwrap().clone(), [Some(mine.to_string())]);
    assert_eq!(cap.hops().len(), 1);
}

async fn one_failing_hop(
    cap: &Capture,
    client: &httptrace::reqwest::Client,
    url: &str,
) -> opentelemetry_sdk::trace::SpanData {
    let err = client.get(url).send().await.expect_err("request must fail");
    drop(err);
    let hops = cap.hops();
    assert_eq!(hops.len(), 1, "one hop span, ended");
    let hop = hops.into_iter().next().unwrap();
    assert!(is_error(&hop), "{:?}", hop.status);
    assert_events_in_range(&hop);
    let names = phases(&hop);
    assert_eq!(
        names.last().map(String::as_str),
        Some("httptrace.round_trip.done"),
        "{names:?}"
    );
    let rtd = hop.events.last().unwrap();
    assert_eq!(rtd.timestamp, hop.end_time);
    assert!(matches!(&hop.status, Status::Error { description } if !description.is_empty()));
    hop
}

#[tokio::test]
async fn dns_failure_ends_the_span_with_error() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().phase_spans(true));
    let hop = one_failing_hop(
        &cap,
        &client,
        &format!("https://nowhere.test:{}/", net.https.port()),
    )
    .await;
    // The name does not exist: the DNS conventions' `host_not_found`.
    assert_eq!(
        attr_str(&hop, "error.type").as_deref(),
        Some("host_not_found")
    );
    let dns_done = hop
        .events
        .iter()
        .find(|e| e.name == "httptrace.dns.done")
        .expect("dns_done event");
    assert_eq!(
        attr(&dns_done.attributes, "error.type"),
        Some(&Value::from("host_not_found"))
    );
    let spans = cap.spans();
    let dns = children(&spans, hop.span_context.span_id());
    assert_eq!(
        dns.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(),
        ["dns"]
    );
    assert!(is_error(dns[0]));
    let points = cap.metric_points("http.client.request.duration");
    assert_eq!(points.len(), 1);
    assert_eq!(
        attr(&points[0].0, "error.type"),
        Some(&Value::from("host_not_found"))
    );
}

#[tokio::test]
async fn refused_connection_ends_the_span_with_error() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().phase_spans(true));
    let refused = refused_addr();
    let hop = one_failing_hop(
        &cap,
        &client,
        &format!("http://127.0.0.1:{}/", refused.port()),
    )
    .await;
    assert_eq!(
        attr_str(&hop, "error.type").as_deref(),
        Some("connection_refused")
    );
    let spans = cap.spans();
    let kids = children(&spans, hop.span_context.span_id());
    let connect = kids
        .iter()
        .find(|s| s.name == "connect")
        .expect("connect phase");
    assert!(is_error(connect));
}

#[tokio::test]
async fn tls_failure_ends_the_span_with_error() {
    let cap = Capture::new();
    let net = Net::start();
    let stranger = TestCa::new();
    let untrusted = TestServer::https(&stranger.server_identity(&["svc.test"]), &[b"http/1.1"]);
    let client = net.client(cap.otel().phase_spans(true));
    let hop = one_failing_hop(
        &cap,
        &client,
        &format!("https://svc.test:{}/", untrusted.port()),
    )
    .await;
    let kind = attr_str(&hop, "error.type").unwrap();
    let tls_done = hop
        .events
        .iter()
        .find(|e| e.name == "httptrace.tls.done")
        .expect("httptrace.tls.done");
    // error.type names the failing phase's cause, as its event reports it.
    assert_eq!(
        attr(&tls_done.attributes, "error.type"),
        Some(&Value::from(kind.clone()))
    );
    assert!(kind == "certificate" || kind == "tls", "{kind}");
    let spans = cap.spans();
    let kids = children(&spans, hop.span_context.span_id());
    assert!(
        kids.iter().any(|s| s.name == "tls" && is_error(s)),
        "{:?}",
        kids.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn status_500_is_an_error_without_description() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel());
    let resp = client
        .get(net.https_url("/status/500"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    resp.text().await.unwrap();
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert_eq!(attr_str(hop, "error.type").as_deref(), Some("500"));
    assert_eq!(attr_i64(hop, "http.response.status_code"), Some(500));
    assert!(matches!(&hop.status, Status::Error { description } if description.is_empty()));
    assert_eq!(
        phases(hop).last().map(String::as_str),
        Some("httptrace.conn.put_idle")
    );
    assert_events_in_range(hop);
}

#[tokio::test]
async fn failed_body_ends_the_span_at_body_done_with_error() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().phase_spans(true));
    let resp = client
        .get(net.https_url("/abort-mid-body"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err());
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert!(is_error(hop));
    let kind = attr_str(hop, "error.type").unwrap();
    assert_ne!(kind, "200");
    let body_done = hop
        .events
        .iter()
        .find(|e| e.name == "httptrace.response.body_done")
        .unwrap();
    assert_eq!(
        attr(&body_done.attributes, "httptrace.body.outcome"),
        Some(&Value::from("failed"))
    );
    assert_eq!(body_done.timestamp, hop.end_time);
    assert_events_in_range(hop);
    let spans = cap.spans();
    let receive = children(&spans, hop.span_context.span_id())
        .into_iter()
        .find(|s| s.name == "receive")
        .expect("receive phase");
    assert!(is_error(receive));
}

#[tokio::test]
async fn dropped_body_ends_the_span_without_error() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel());
    let resp = client
        .get(net.https_url("/bytes/1000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    drop(resp);
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert!(!is_error(hop), "{:?}", hop.status);
    let body_done = hop.events.last().unwrap();
    assert_eq!(body_done.name, "httptrace.response.body_done");
    assert_eq!(
        attr(&body_done.attributes, "httptrace.body.outcome"),
        Some(&Value::from("dropped"))
    );
    assert_eq!(body_done.timestamp, hop.end_time);
}

#[tokio::test]
async fn cancelled_request_ends_the_span_as_cancelled() {
    let cap = Capture::new();
    let net = Net::start();
    let stall = TestServer::stall();
    let client = net.client(
        cap.otel()
            .phase_spans(true)
            .enable_metric(OptInMetric::ActiveRequests),
    );
    let send = client
        .get(format!("http://127.0.0.1:{}/", stall.port()))
        .send();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), send)
            .await
            .is_err()
    );
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert_eq!(attr_str(hop, "error.type").as_deref(), Some("cancelled"));
    assert!(is_error(hop));
    assert_events_in_range(hop);
    let active = cap.metric_points("http.client.active_requests");
    assert!(active.iter().all(|(_, v)| *v == 0.0), "{active:?}");
}

#[tokio::test]
async fn listed_credentials_headers_are_never_recorded() {
    let cap = Capture::new();
    let net = Net::start();
    let otel = cap
        .otel()
        .record_request_headers([
            "X-Request-Id",
            "Authorization",
            "cookie",
            "Proxy-Authorization",
            "x-api-key",
        ])
        .sensitive_headers(["X-Api-Key"]);
    let client = net.client(otel);
    let resp = client
        .get(net.https_url("/echo"))
        .header("x-request-id", "req-42")
        .header("authorization", "Bearer SECRET-AUTH")
        .header("cookie", "session=SECRET-COOKIE")
        .header("proxy-authorization", "Basic SECRET-PROXY")
        .header("x-api-key", "SECRET-KEY")
        .send()
        .await
        .unwrap();
    resp.text().await.unwrap();
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    let recorded: Vec<&str> = hop
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .filter(|k| k.starts_with("http.request.header."))
        .collect();
    assert_eq!(recorded, ["http.request.header.x-request-id"]);
    assert_eq!(
        attr(&hop.attributes, "http.request.header.x-request-id").map(|v| v.to_string()),
        Some(Value::Array(vec![opentelemetry::StringValue::from("req-42")].into()).to_string())
    );
    let text = all_text(hop);
    assert!(!text.contains("SECRET"), "{text}");
    // Header names are still visible as events, values only when opted in.
    assert!(text.contains("httptrace.header.name=authorization"));
    assert!(text.contains("req-42"));
}

#[tokio::test]
async fn url_credentials_and_signatures_never_reach_the_span() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel().redact_query_params(["api_key"]));
    let url = format!(
        "https://user:hunter2@svc.test:{}/status/200?X-Amz-Signature=SIGSECRET&api_key=KEYSECRET&ok=1",
        net.https.port()
    );
    client.get(&url).send().await.unwrap().text().await.unwrap();
    // And a failing one, whose error message would quote the URL.
    let refused_port = refused_addr();
    let refused = format!(
        "http://user:hunter2@127.0.0.1:{}/x?sig=SIGSECRET",
        refused_port.port()
    );
    client.get(&refused).send().await.unwrap_err();
    let hops = cap.hops();
    assert_eq!(hops.len(), 2);
    // reqwest moves userinfo into an Authorization header before the hop
    // starts, so the hop URL has none; when one has, it is REDACTED:REDACTED
    // (see the attrs unit tests).
    let full = attr_str(&hops[0], "url.full").unwrap();
    assert!(
        full.ends_with(&format!(
            "svc.test:{}/status/200?X-Amz-Signature=REDACTED&api_key=REDACTED&ok=1",
            net.https.port()
        )),
        "{full}"
    );
    for hop in &hops {
        let full = attr_str(hop, "url.full").unwrap();
        assert!(
            !full.contains('@') || full.contains("REDACTED:REDACTED@"),
            "{full}"
        );
        let text = all_text(hop);
        assert!(
            !text.contains("hunter2") && !text.contains("SECRET"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn unknown_methods_are_other() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel());
    let m = http::Method::from_bytes(b"PROPFIND").unwrap();
    client
        .request(m, net.https_url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hop = &cap.hops()[0];
    assert_eq!(hop.name, "HTTP");
    assert_eq!(
        attr_str(hop, "http.request.method").as_deref(),
        Some("_OTHER")
    );
    assert_eq!(
        attr_str(hop, "http.request.method_original").as_deref(),
        Some("PROPFIND")
    );
}

#[tokio::test]
async fn opted_in_response_headers_are_recorded_and_set_cookie_never() {
    let cap = Capture::new();
    let net = Net::start();
    let otel =
        cap.otel()
            .record_response_headers(["X-Served-By-Conn", "Set-Cookie", "content-length"]);
    let client = net.client(otel);
    client
        .get(net.https_url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let mut recorded: Vec<&str> = hops[0]
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .filter(|k| k.starts_with("http.response.header."))
        .collect();
    recorded.sort();
    assert_eq!(
        recorded,
        [
            "http.response.header.content-length",
            "http.response.header.x-served-by-conn"
        ]
    );
    assert_eq!(
        attr(&hops[0].attributes, "http.response.header.content-length").map(|v| v.to_string()),
        Some(Value::Array(vec![opentelemetry::StringValue::from("5")].into()).to_string())
    );
}

#[tokio::test]
async fn hops_share_one_trace_without_a_caller_span() {
    let cap = Capture::new();
    let (server, seen) = recording_server();
    let net = Net::start();
    let client = net.plain_client();
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/", server.port())).unwrap();
    let headers = http::HeaderMap::new();
    let info = httptrace::RequestInfo::new(&http::Method::GET, &url, &headers);
    // No caller span: one request span is the hops' parent.
    let trace = cap
        .otel()
        .trace_with_parent(&info, opentelemetry::Context::new());
    let resp = client.get(url.as_str()).trace(trace).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    let hops = cap.hops();
    assert_eq!(hops.len(), 2);
    let spans = cap.spans();
    let request = spans
        .iter()
        .find(|s| s.name == "HTTP GET")
        .expect("a request span");
    assert_eq!(request.span_kind, opentelemetry::trace::SpanKind::Internal);
    assert_eq!(
        request.parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
    for hop in &hops {
        assert_eq!(hop.span_context.trace_id(), request.span_context.trace_id());
        assert_eq!(hop.parent_span_id, request.span_context.span_id());
        assert!(hop.start_time >= request.start_time && hop.end_time <= request.end_time);
    }
    let seen = seen.lock().unwrap().clone();
    let trace_id = request.span_context.trace_id().to_string();
    assert!(
        seen.iter()
            .all(|tp| tp.as_deref().is_some_and(|tp| tp.contains(&trace_id)))
    );
}

#[tokio::test]
async fn connection_metrics_from_the_hyper_transport() {
    use http_body_util::{BodyExt, Empty};
    let cap = Capture::new();
    let server = httptrace_testkit::http::TestServer::http();
    let client = httptrace::hyper::Client::builder()
        .make_trace(
            cap.otel()
                .enable_metric(OptInMetric::OpenConnections)
                .enable_metric(OptInMetric::ConnectionDuration),
        )
        .build::<Empty<bytes::Bytes>>()
        .unwrap();
    let get = || {
        http::Request::get(server.url("/"))
            .body(Empty::new())
            .unwrap()
    };
    let response = client.request(get()).await.unwrap();
    response.into_body().collect().await.unwrap();
    // One open connection, idle, while the client keeps it.
    let state_of = |points: &[(Vec<opentelemetry::KeyValue>, f64)], state: &str| -> f64 {
        points
            .iter()
            .filter(|(a, _)| {
                a.iter().any(|kv| {
                    kv.key.as_str() == "http.connection.state" && kv.value.as_str() == state
                })
            })
            .map(|(_, v)| *v)
            .sum()
    };
    let open = cap.metric_points("http.client.open_connections");
    assert_eq!(
        (state_of(&open, "idle"), state_of(&open, "active")),
        (1.0, 0.0),
        "{open:?}"
    );
    let attrs = &open[0].0;
    assert!(attrs.iter().any(|kv| kv.key.as_str() == "server.port"
        && kv.value == opentelemetry::Value::I64(i64::from(server.port()))));
    assert!(
        attrs
            .iter()
            .any(|kv| kv.key.as_str() == "network.protocol.version")
    );
    // Dropping the client closes it: nothing open, one lifetime recorded.
    drop(client);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let durations = cap.metric_points("http.client.connection.duration");
        if !durations.is_empty() {
            assert_eq!(durations.iter().map(|(_, n)| *n).sum::<f64>(), 1.0);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no connection lifetime recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let open = cap.metric_points("http.client.open_connections");
    assert_eq!(
        (state_of(&open, "idle"), state_of(&open, "active")),
        (0.0, 0.0),
        "{open:?}"
    );
}

/// A hyper-util client resolving `name` to `ips` (port from the URL).
fn hyper_client_resolving(
    cap: &Capture,
    name: &str,
    ips: &[std::net::IpAddr],
    ca: Option<&TestCa>,
) -> (
    httptrace_testkit::DnsServer,
    httptrace::hyper::Client<http_body_util::Empty<bytes::Bytes>>,
) {
    let dns = httptrace_testkit::DnsServer::start(
        httptrace_testkit::DnsConfig::new().record(name, ips.iter().copied()),
    )
    .unwrap();
    let mut builder = httptrace::hyper::Client::builder()
        .dns_server(dns.addr())
        .make_trace(cap.otel().phase_spans(true))
        .happy_eyeballs_delay(Some(Duration::from_millis(100)))
        .connect_timeout(Duration::from_secs(5));
    if let Some(ca) = ca {
        builder = builder
            .built_in_roots(false)
            .root_certificate_der(ca.cert_der().to_vec());
    }
    (dns, builder.build().unwrap())
}

#[tokio::test]
async fn raced_connect_attempts_are_attributed_to_their_own_address() {
    use http_body_util::{BodyExt, Empty};
    let cap = Capture::new();
    let server = TestServer::http();
    let hole = httptrace_testkit::BlackHole::bind(
        (std::net::Ipv4Addr::new(127, 0, 0, 3), server.port()).into(),
    )
    .unwrap();
    let (_dns, client) = hyper_client_resolving(
        &cap,
        "race.test",
        &[hole.addr().ip(), std::net::Ipv4Addr::LOCALHOST.into()],
        None,
    );
    let url = server.url_with_host("race.test", "/");
    let response = client
        .request(http::Request::get(url).body(Empty::new()).unwrap())
        .await
        .unwrap();
    response.into_body().collect().await.unwrap();

    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    // The attempt that lost the race is no failure of the request.
    assert!(!is_error(hop), "{:?}", hop.status);
    assert_eq!(attr_str(hop, "error.type"), None);
    assert_eq!(
        attr_str(hop, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    let spans = cap.spans();
    let connects: Vec<_> = children(&spans, hop.span_context.span_id())
        .into_iter()
        .filter(|s| s.name == "connect")
        .collect();
    assert_eq!(connects.len(), 2);
    let by_peer = |ip: &str| {
        *connects
            .iter()
            .find(|s| attr_str(s, "network.peer.address").as_deref() == Some(ip))
            .unwrap_or_else(|| panic!("no connect span for {ip}"))
    };
    let (lost, won) = (by_peer("127.0.0.3"), by_peer("127.0.0.1"));
    assert!(is_error(lost));
    assert!(!is_error(won));
    // The winner started after the race delay and finished first.
    assert!(won.start_time >= lost.start_time + Duration::from_millis(100));
    assert!(won.end_time <= lost.end_time);
}

#[tokio::test]
async fn the_failing_phase_is_the_latest_not_an_earlier_refused_address() {
    use http_body_util::Empty;
    let cap = Capture::new();
    // The first address refuses; the second connects, and its certificate
    // is from a CA the client does not trust.
    let stranger = TestCa::new();
    let untrusted = TestServer::https(&stranger.server_identity(&["svc.test"]), &[b"http/1.1"]);
    let trusted = TestCa::new();
    let (_dns, client) = hyper_client_resolving(
        &cap,
        "svc.test",
        &[
            std::net::Ipv4Addr::new(127, 0, 0, 2).into(),
            std::net::Ipv4Addr::LOCALHOST.into(),
        ],
        Some(&trusted),
    );
    let url = format!("https://svc.test:{}/", untrusted.port());
    client
        .request(http::Request::get(url).body(Empty::new()).unwrap())
        .await
        .expect_err("untrusted certificate");
    let hops = cap.hops();
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert!(is_error(hop));
    assert_eq!(attr_str(hop, "error.type").as_deref(), Some("certificate"));
    let connect_errors: Vec<_> = hop
        .events
        .iter()
        .filter(|e| e.name == "httptrace.connect.done")
        .map(|e| attr(&e.attributes, "error.type").cloned())
        .collect();
    assert_eq!(
        connect_errors,
        [Some(Value::from("connection_refused")), None]
    );
}

#[tokio::test]
async fn a_dial_that_outlives_its_round_trip_gets_a_dial_span_on_hyper() {
    let (dial, attempts) = outlived_dial_span(Transport::Hyper).await;
    // Every attempt of the race after A's hop ended: the server's, started
    // after the delay, and the hole's, abandoned when the server answered.
    let names: Vec<_> = dial.events.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "httptrace.connect.start",
            "httptrace.connect.done",
            "httptrace.connect.done"
        ]
    );
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let hole = attempts
        .iter()
        .find(|s| attr_str(s, "network.peer.address").as_deref() == Some("127.0.0.3"))
        .unwrap();
    assert!(is_error(hole));
}

#[tokio::test]
async fn a_dial_that_outlives_its_round_trip_gets_a_dial_span_on_reqwest() {
    let (dial, attempts) = outlived_dial_span(Transport::Reqwest).await;
    // reqwest reports one connect per dial, its end (with the address) late.
    let names: Vec<_> = dial.events.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(names, ["httptrace.connect.done"]);
    assert_eq!(attempts.len(), 1, "{attempts:?}");
}

/// Runs `support::outlived_dial` and checks what both transports share: A's
/// hop reused B's connection, and its dial's late hooks are on a `dial` span
/// under A's hop, at their own times, after the hop's end; the connect that
/// won is a phase span under it. Returns the dial span and its phase spans.
async fn outlived_dial_span(
    transport: Transport,
) -> (
    opentelemetry_sdk::trace::SpanData,
    Vec<opentelemetry_sdk::trace::SpanData>,
) {
    let cap = Capture::new();
    let _servers = outlived_dial(transport, cap.otel().phase_spans(true)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let dial = loop {
        if let Some(dial) = cap.spans().into_iter().find(|s| s.name == "dial") {
            break dial;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no dial span: {:?}",
            cap.spans().iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let hops = cap.hops();
    let a_hop = hops
        .iter()
        .find(|h| attr_str(h, "url.full").is_some_and(|u| !u.ends_with("/hold")))
        .expect("A's hop");
    assert_eq!(dial.parent_span_id, a_hop.span_context.span_id());
    assert!(!is_error(a_hop), "{:?}", a_hop.status);
    assert!(!is_error(&dial), "{:?}", dial.status);
    // A's hop: reused B's connection; its own dial had only begun.
    let got_conn = a_hop
        .events
        .iter()
        .find(|e| e.name == "httptrace.conn.got")
        .unwrap();
    assert_eq!(
        attr(&got_conn.attributes, "httptrace.conn.reused"),
        Some(&Value::Bool(true))
    );
    let hop_names = event_names(a_hop);
    assert!(
        !hop_names.iter().any(|n| n == "httptrace.connect.done"),
        "{hop_names:?}"
    );
    let connect_start = a_hop
        .events
        .iter()
        .find(|e| e.name == "httptrace.connect.start")
        .expect("A's dial started during its hop")
        .timestamp;
    // The dial span runs from there to its last hook, all after A's hop.
    assert_eq!(dial.start_time, connect_start);
    assert!(dial.events.iter().all(|e| e.timestamp >= a_hop.end_time));
    assert!(dial.events[0].timestamp >= connect_start + RACE_DELAY);
    assert_eq!(dial.end_time, dial.events.last().unwrap().timestamp);
    let spans = cap.spans();
    let attempts: Vec<_> = children(&spans, dial.span_context.span_id())
        .into_iter()
        .cloned()
        .collect();
    assert!(
        attempts.iter().any(|s| s.name == "connect"
            && attr_str(s, "network.peer.address").as_deref() == Some("127.0.0.1")
            && !is_error(s)),
        "{attempts:?}"
    );
    (dial, attempts)
}

#[tokio::test]
async fn opted_in_url_headers_get_url_full_redaction() {
    // /first -> absolute Location with userinfo and a signature;
    // /second -> relative Location with a signature; /third -> 200.
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let port_in = port.clone();
    let server = TestServer::http_with_handler(move |req| {
        let port = *port_in.get().unwrap();
        let location = match req.uri().path() {
            "/first" => Some(format!(
                "http://user:hunter2@127.0.0.1:{port}/second?sig=SIGSECRET&ok=1"
            )),
            "/second" => Some("/third?X-Amz-Signature=SIGSECRET2#frag".to_string()),
            _ => None,
        };
        async move {
            match location {
                Some(to) => http::Response::builder()
                    .status(302)
                    .header(http::header::LOCATION, to)
                    .body(full_body(""))
                    .unwrap(),
                None => http::Response::new(full_body("done")),
            }
        }
    });
    port.set(server.port()).unwrap();
    let cap = Capture::new();
    let otel = cap
        .otel()
        .record_request_headers(["referer"])
        .record_response_headers(["location"]);
    use httptrace::reqwest::{ClientBuilderExt as _, Config};
    let client = reqwest::Client::builder()
        .traced_with(Config::new().make_trace(otel))
        .unwrap();
    let body = client.get(server.url("/first")).send().await.unwrap();
    assert_eq!(body.text().await.unwrap(), "done");
    let hops = cap.hops();
    assert_eq!(hops.len(), 3);
    let header = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
        attr(&span.attributes, key).map(|v| v.to_string())
    };
    let one =
        |s: String| Value::Array(vec![opentelemetry::StringValue::from(s)].into()).to_string();
    let port = server.port();
    assert_eq!(
        header(&hops[0], "http.response.header.location"),
        Some(one(format!(
            "http://REDACTED:REDACTED@127.0.0.1:{port}/second?sig=REDACTED&ok=1"
        )))
    );
    assert_eq!(
        header(&hops[1], "http.response.header.location"),
        Some(one("/third?X-Amz-Signature=REDACTED#frag".into()))
    );
    // The Referer a hop sent is exactly the previous hop's `url.full`.
    let url_full = attr_str(&hops[1], "url.full").unwrap();
    assert_eq!(
        url_full,
        format!("http://127.0.0.1:{port}/second?sig=REDACTED&ok=1")
    );
    // Referer is added per hop, so it shows on the hop's written-header event.
    let referer = hops[2]
        .events
        .iter()
        .find(|e| {
            attr(&e.attributes, "httptrace.header.name").map(|v| v.to_string())
                == Some("referer".into())
        })
        .and_then(|e| attr(&e.attributes, "httptrace.header.values"))
        .map(|v| v.to_string());
    assert_eq!(referer, Some(one(url_full)));
    for hop in &hops {
        let text = all_text(hop);
        assert!(
            !text.contains("hunter2") && !text.contains("SIGSECRET"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_hop_that_hits_the_redirect_limit_ends_with_error() {
    use httptrace::reqwest::{ClientBuilderExt, Config, RedirectPolicy};
    let server = TestServer::http();
    let url = server.url("/redirect/3");
    // The traced client follows redirects itself; an instrumented one lets
    // reqwest follow them: both report the limit on the hop that hit it.
    let cap = Capture::new();
    let config = Config::new()
        .redirect(RedirectPolicy::limited(1))
        .make_trace(cap.otel());
    let traced = reqwest::Client::builder()
        .traced_with(config.clone())
        .unwrap();
    traced.get(&url).send().await.unwrap_err();
    let instrumented = ClientBuilderExt::instrument(reqwest::Client::builder(), &config).unwrap();
    let request = instrumented.get(&url).build().unwrap();
    cap.otel()
        .trace(&httptrace::RequestInfo::new(
            request.method(),
            request.url(),
            request.headers(),
        ))
        .scope(httptrace::reqwest::execute(&instrumented, request))
        .await
        .unwrap_err();
    let hops = cap.hops();
    assert_eq!(hops.len(), 4);
    for pair in hops.chunks(2) {
        assert!(!is_error(&pair[0]));
        assert!(is_error(&pair[1]), "{:?}", pair[1].status);
        assert_eq!(attr_i64(&pair[1], "http.response.status_code"), Some(302));
        assert!(attr_str(&pair[1], "error.type").is_some());
    }
}

#[tokio::test]
async fn the_duration_metric_is_the_hop_spans_duration_body_included() {
    use httptrace::reqwest::{ClientBuilderExt as _, Config};
    let server = TestServer::http();
    let cap = Capture::new();
    let client = reqwest::Client::builder()
        .traced_with(Config::new().make_trace(cap.otel()))
        .unwrap();
    // Three body chunks 40 ms apart: the body takes most of the hop.
    let body = client
        .get(server.url("/slow-body/3/40"))
        .send()
        .await
        .unwrap();
    body.bytes().await.unwrap();
    let hop = &cap.hops()[0];
    let span_secs = hop
        .end_time
        .duration_since(hop.start_time)
        .unwrap()
        .as_secs_f64();
    assert!(span_secs >= 0.08, "{span_secs}");
    let metric_secs = cap.histogram_sum("http.client.request.duration");
    assert!(
        (metric_secs - span_secs).abs() < 1e-6,
        "metric {metric_secs} s, span {span_secs} s"
    );
}

#[tokio::test]
async fn optional_metrics_are_off_until_switched_on() {
    let cap = Capture::new();
    let net = Net::start();
    let client = net.client(cap.otel());
    let body = client.get(net.https_url("/")).send().await.unwrap();
    body.text().await.unwrap();
    assert_eq!(cap.metric_points("http.client.request.duration").len(), 1);
    for optional in ["http.client.active_requests", "dns.lookup.duration"] {
        assert!(
            cap.metric_points(optional).is_empty(),
            "{optional} is opt-in"
        );
    }
}

#[tokio::test]
async fn a_callers_url_template_names_the_hop_spans() {
    use httptrace::UrlTemplate;
    use httptrace::reqwest::{ClientBuilderExt, Config, TraceMiddleware};
    let server = TestServer::http();
    let cap = Capture::new();
    let config = Config::new().make_trace(cap.otel());
    // The traced client's request builder.
    let traced = reqwest::Client::builder()
        .traced_with(config.clone())
        .unwrap();
    traced
        .get(server.url("/status/201"))
        .url_template("/status/{code}")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // A reqwest-middleware stack: the template in the request's extensions.
    let instrumented = ClientBuilderExt::instrument(reqwest::Client::builder(), &config).unwrap();
    let stack = reqwest_middleware::ClientBuilder::new(instrumented)
        .with(TraceMiddleware::new(&config))
        .build();
    stack
        .get(server.url("/status/202"))
        .with_extension(UrlTemplate::new("/status/{code}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // The hyper-util transport: the template in the http::Request's extensions.
    use http_body_util::{BodyExt, Empty};
    let hyper = httptrace::hyper::Client::builder()
        .make_trace(cap.otel())
        .build::<Empty<bytes::Bytes>>()
        .unwrap();
    let mut request = http::Request::get(server.url("/status/203"))
        .body(Empty::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(UrlTemplate::new("/status/{code}"));
    let response = hyper.request(request).await.unwrap();
    response.into_body().collect().await.unwrap();
    // Without one, the name is the method alone (the path is never used).
    traced
        .get(server.url("/status/204"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let hops = cap.hops();
    let named: Vec<(String, Option<String>)> = hops
        .iter()
        .map(|h| (h.name.to_string(), attr_str(h, "url.template")))
        .collect();
    let templated = (
        "GET /status/{code}".to_string(),
        Some("/status/{code}".to_string()),
    );
    assert_eq!(
        named,
        [
            templated.clone(),
            templated.clone(),
            templated,
            ("GET".to_string(), None)
        ]
    );
}
