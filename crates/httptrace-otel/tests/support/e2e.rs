//! The end-to-end scenario shared by the gRPC and HTTP/protobuf tests: real
//! traffic through the traced reqwest client, exported by the pipeline
//! `Setup` installs, stored by a real Jaeger, read back over api_v3.

use std::time::{Duration, SystemTime};

use httptrace_otel::{OtelGuard, OtelTrace, Protocol, Setup};
use jaeger_harness::{Jaeger, Span, spans};
use serde_json::Value;
use tracing::Instrument as _;

use super::Net;

/// The span events of an HTTPS dial's hooks, in order.
fn https_dial() -> Vec<&'static str> {
    httptrace_testkit::hooks::HTTPS_DIAL
        .iter()
        .map(|hook| {
            let (_, event) = httptrace_otel::conventions::EVENT_NAMES
                .iter()
                .find(|(h, _)| h == hook)
                .expect("every hook has an event");
            *event
        })
        .collect()
}

fn pos(names: &[String], name: &str) -> usize {
    names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no {name} event in {names:?}"))
}

/// Whether the second hop also carries a dial that lost the race: hyper-util
/// starts a new connection when a request finds no idle one, and hands the
/// request whichever is ready first. The first hop's connection usually
/// comes back to the pool first; the dial then finishes during the second
/// hop, and its events and phases are that hop's.
fn raced_dial(all: &[Span]) -> bool {
    all.iter().any(|s| {
        s.is_client()
            && s.attr_i64("http.request.resend_count") == Some(1)
            && s.events.iter().any(|e| e.name == "httptrace.dns.start")
    })
}

/// The dial phases a raced dial adds under the second hop.
const RACED_PHASES: usize = 3;

/// Whether the raced dial outlived the second hop: its last hooks then
/// arrive after the hop's span ended and go on a `dial` span under the hop
/// (with the phases still open), so the hop lacks the dial's last hook.
fn late_dial(all: &[Span]) -> bool {
    raced_dial(all)
        && all.iter().any(|s| {
            s.is_client()
                && s.attr_i64("http.request.resend_count") == Some(1)
                && !s.events.iter().any(|e| e.name == https_dial()[5])
        })
}

/// How many spans the trace holds once complete: `want`, plus the raced
/// dial's phases, plus its `dial` span when it outlived the hop.
fn expected_spans(all: &[Span], want: usize) -> usize {
    want + if raced_dial(all) { RACED_PHASES } else { 0 } + usize::from(late_dial(all))
}

/// The pipeline an end-to-end test installs: `service` exporting over
/// `protocol` to `endpoint`, no metrics, no log output, a 100 ms batch delay,
/// and none of the machine's `OTEL_*` settings.
pub fn install(service: &str, endpoint: String, protocol: Protocol) -> OtelGuard {
    Setup::with_env(|_| None)
        .service_name(service)
        .endpoint(endpoint)
        .protocol(protocol)
        .metrics(false)
        .fmt(false)
        .scheduled_delay(Duration::from_millis(100))
        .try_install()
        .expect("install the pipeline")
}

/// The trace's spans, once Jaeger holds at least `at_least` of them (a
/// timeout panics with Jaeger's log).
pub async fn read_back(jaeger: &Jaeger, trace_id: &str, at_least: usize) -> Vec<Span> {
    let trace = jaeger
        .wait_for_trace(trace_id, Duration::from_secs(30), |t| {
            spans(t).len() >= at_least
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n--- jaeger log ---\n{}", jaeger.log()));
    spans(&trace)
}

/// The `traceparent` a test server received (empty when none).
pub fn traceparent<B>(req: &http::Request<B>) -> String {
    req.headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The CLIENT (hop) spans among `all`, by start time.
pub fn hops(all: &[Span]) -> Vec<&Span> {
    let mut hops: Vec<&Span> = all.iter().filter(|s| s.is_client()).collect();
    hops.sort_by_key(|s| s.start_ns);
    hops
}

pub async fn run(protocol: Protocol) {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let endpoint = match protocol {
        Protocol::Grpc => jaeger.otlp_grpc_endpoint(),
        Protocol::HttpProtobuf => jaeger.otlp_http_endpoint(),
    };
    let service = format!("httptrace-otel-e2e-{protocol:?}-{}", std::process::id()).to_lowercase();
    let guard = install(&service, endpoint, protocol);

    let net = Net::start();
    let client = net.client(OtelTrace::new().phase_spans(true));
    let from = SystemTime::now() - Duration::from_secs(5);
    let caller = tracing::info_span!("checkout");
    let trace_id = super::trace_id(&caller);
    assert_ne!(
        trace_id, "00000000000000000000000000000000",
        "the OpenTelemetry layer is installed"
    );
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
    guard.force_flush().expect("flush to Jaeger");

    // caller + 2 hops + phases (dns, connect, tls, send, wait, receive; then
    // send, wait, receive on the reused connection).
    let want = 1 + 2 + 6 + 3;
    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(30), |t| {
            let all = spans(t);
            all.len() >= expected_spans(&all, want)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n--- jaeger log ---\n{}", jaeger.log()));
    check(&trace, &trace_id, &service, net.https.port(), want);
    eprintln!(
        "e2e {protocol:?}: trace {trace_id} read back from Jaeger: {:?}",
        spans(&trace)
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
    );

    // The search by service finds it too.
    let found = jaeger
        .find_traces(&service, from, SystemTime::now() + Duration::from_secs(5))
        .await
        .unwrap()
        .expect("search by service");
    assert!(spans(&found).iter().any(|s| s.trace_id == trace_id));

    secrets_never_reach_jaeger(&jaeger, &guard, &net).await;
    guard.shutdown().expect("bounded shutdown");
}

fn check(trace: &Value, trace_id: &str, service: &str, port: u16, want: usize) {
    let all = spans(trace);
    let raced = raced_dial(&all);
    let late = late_dial(&all);
    assert_eq!(
        all.len(),
        expected_spans(&all, want),
        "{:#?}",
        all.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for s in &all {
        assert_eq!(s.trace_id, trace_id);
        assert_eq!(s.service, service);
        assert!(s.start_ns <= s.end_ns, "{} ends before it starts", s.name);
    }
    let caller = all
        .iter()
        .find(|s| s.name == "checkout")
        .expect("caller span");
    assert!(caller.parent_span_id.is_empty(), "caller is the root");
    let hops: Vec<&Span> = all.iter().filter(|s| s.is_client()).collect();
    assert_eq!(hops.len(), 2);
    // The late dial's span: under the second hop, starting inside it.
    let dial_span = all.iter().find(|s| s.name == "dial");
    assert_eq!(dial_span.is_some(), late, "a dial span exactly when late");
    if let Some(d) = dial_span {
        assert_eq!(
            d.parent_span_id, hops[1].span_id,
            "dial under the second hop"
        );
        assert!(d.start_ns >= hops[1].start_ns && d.start_ns <= hops[1].end_ns);
        assert_eq!(
            d.attributes.get("httptrace.dial.outlived_round_trip"),
            Some(&Value::from(true))
        );
    }
    assert!(hops[0].end_ns <= hops[1].start_ns, "hops in order");
    let url = |path: &str| format!("https://svc.test:{port}{path}");
    for (i, hop) in hops.iter().enumerate() {
        assert_eq!(hop.name, "GET");
        assert_eq!(
            hop.parent_span_id, caller.span_id,
            "hop {i} under the caller"
        );
        assert!(hop.start_ns >= caller.start_ns && hop.end_ns <= caller.end_ns);
        assert_eq!(hop.attr_str("http.request.method"), Some("GET"));
        assert_eq!(hop.attr_str("server.address"), Some("svc.test"));
        assert_eq!(hop.attr_i64("server.port"), Some(i64::from(port)));
        assert_eq!(hop.attr_str("network.protocol.version"), Some("1.1"));
        assert_eq!(hop.attr_str("network.peer.address"), Some("127.0.0.1"));
        assert!(!hop.is_error(), "{}", hop.status_message);
        // Every event inside the span, in time order.
        let mut prev = hop.start_ns;
        for e in &hop.events {
            assert!(
                e.time_ns >= prev && e.time_ns <= hop.end_ns,
                "{} out of place in hop {i}",
                e.name
            );
            prev = e.time_ns;
        }
        let names: Vec<String> = hop
            .events
            .iter()
            .map(|e| e.name.clone())
            .filter(|n| n != "httptrace.request.header_field")
            .collect();
        assert_eq!(
            names.first().map(String::as_str),
            Some("httptrace.round_trip.start")
        );
        let mut order = vec!["httptrace.round_trip.start", "httptrace.conn.get"];
        if i == 0 {
            order.extend(https_dial());
        }
        order.extend([
            "httptrace.conn.got",
            "httptrace.request.headers_written",
            "httptrace.request.written",
            "httptrace.response.first_byte",
            "httptrace.round_trip.done",
            "httptrace.response.body_done",
            "httptrace.conn.put_idle",
        ]);
        for pair in order.windows(2) {
            if pair == ["httptrace.conn.get", "httptrace.conn.got"] {
                continue; // a pooled connection's got_conn is stamped at the hop start
            }
            assert!(
                pos(&names, pair[0]) < pos(&names, pair[1]),
                "hop {i}: {pair:?} in {names:?}"
            );
        }
        if i == 1 && raced {
            // The losing dial, in order, beside the exchange on the pooled
            // connection.
            let reused = hop
                .events
                .iter()
                .find(|e| e.name == "httptrace.conn.got")
                .unwrap();
            assert_eq!(
                reused.attributes.get("httptrace.conn.reused"),
                Some(&Value::from(true)),
                "the second hop used the pooled connection"
            );
            // A dial that outlived the hop: its later hooks are the dial
            // span's, so the hop's and the dial span's together are the
            // whole dial, in order.
            let in_hop: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| https_dial().contains(n))
                .collect();
            let mut whole = in_hop.clone();
            if let Some(d) = dial_span {
                whole.extend(d.events.iter().map(|e| e.name.as_str()));
            }
            assert_eq!(whole, https_dial(), "{names:?}");
            assert_eq!(
                names.len(),
                order.len() + in_hop.len(),
                "hop {i}: {names:?}"
            );
        } else {
            assert_eq!(names.len(), order.len(), "hop {i}: {names:?}");
        }
    }
    assert_eq!(
        hops[0].attr_str("url.full"),
        Some(url("/redirect/1").as_str())
    );
    assert_eq!(
        hops[1].attr_str("url.full"),
        Some(url("/redirect/0").as_str())
    );
    assert_eq!(hops[0].attr_i64("http.response.status_code"), Some(302));
    assert_eq!(hops[1].attr_i64("http.response.status_code"), Some(200));
    assert_eq!(hops[0].attr_i64("http.request.resend_count"), None);
    assert_eq!(hops[1].attr_i64("http.request.resend_count"), Some(1));
    let dns_done = hops[0]
        .events
        .iter()
        .find(|e| e.name == "httptrace.dns.done")
        .unwrap();
    assert_eq!(
        dns_done.attributes.get("dns.question.name"),
        Some(&Value::from("svc.test"))
    );

    // Phase spans: under their hop, inside it, in order.
    for (hop, want) in [
        (
            hops[0],
            &["dns", "connect", "tls", "send", "wait", "receive"][..],
        ),
        (hops[1], &["send", "wait", "receive"][..]),
    ] {
        let mut kids: Vec<&Span> = all
            .iter()
            .filter(|s| s.parent_span_id == hop.span_id && s.name != "dial")
            .collect();
        kids.sort_by_key(|s| (s.start_ns, s.end_ns));
        let mut names: Vec<&str> = kids.iter().map(|s| s.name.as_str()).collect();
        // Phases still open when the hop ended are the dial span's.
        let late_phases: Vec<&str> = dial_span
            .filter(|_| hop.span_id == hops[1].span_id)
            .map(|d| {
                all.iter()
                    .filter(|s| s.parent_span_id == d.span_id)
                    .map(|s| s.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        names.extend(late_phases);
        if hop.span_id == hops[1].span_id && raced {
            // The raced dial's phases overlap the exchange: compare as sets.
            let mut want = [want, &["dns", "connect", "tls"][..]].concat();
            want.sort_unstable();
            names.sort_unstable();
            assert_eq!(names, want);
        } else {
            assert_eq!(names, want);
        }
        for k in kids {
            assert!(
                k.start_ns >= hop.start_ns && k.end_ns <= hop.end_ns,
                "{} outside its hop",
                k.name
            );
        }
    }
}

/// Credentials in the URL, a signed query value, `Authorization` and
/// `Cookie` (opted in for recording, and refused) never reach Jaeger, while
/// an opted-in ordinary header does.
async fn secrets_never_reach_jaeger(jaeger: &Jaeger, guard: &httptrace_otel::OtelGuard, net: &Net) {
    let client = net.client(OtelTrace::new().phase_spans(true).record_request_headers([
        "authorization",
        "cookie",
        "x-visible",
    ]));
    let caller = tracing::info_span!("secrets");
    let trace_id = super::trace_id(&caller);
    let url = net
        .https_url("/echo?X-Amz-Signature=s1gnature&page=2")
        .replace("https://", "https://alice:hunter2@");
    let response = client
        .get(url)
        .header("authorization", "Bearer t0ken")
        .header("cookie", "session=c00kie")
        .header("x-visible", "shown")
        .send()
        .instrument(caller.clone())
        .await
        .unwrap();
    // The server did get them: tracing changes nothing about the request.
    let echoed = response.text().await.unwrap();
    assert!(echoed.contains("Bearer t0ken") && echoed.contains("session=c00kie"));
    drop(caller);
    guard.force_flush().expect("flush to Jaeger");

    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(30), |t| {
            spans(t).iter().any(|s| s.is_client())
        })
        .await
        .expect("trace in Jaeger");
    let stored = trace.to_string();
    for secret in ["hunter2", "alice", "s1gnature", "t0ken", "c00kie"] {
        assert!(
            !stored.contains(secret),
            "{secret} reached Jaeger: {stored}"
        );
    }
    let all = spans(&trace);
    let hop = all.iter().find(|s| s.is_client()).unwrap();
    let url_full = hop.attr_str("url.full").unwrap();
    // Userinfo is redacted or, as reqwest moves it into the request's
    // Authorization header, absent; the signature is redacted.
    assert!(
        url_full.contains("X-Amz-Signature=REDACTED")
            && url_full.contains("page=2")
            && (!url_full.contains('@') || url_full.contains("REDACTED:REDACTED@")),
        "{url_full}"
    );
    assert!(stored.contains("shown"), "the opted-in header is recorded");
}
