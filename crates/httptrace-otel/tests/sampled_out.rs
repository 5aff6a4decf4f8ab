//! Hops whose span is not sampled: the transports build only the events
//! the metrics read, and the metrics come out exactly as for sampled hops
//! (same data points, same attributes, same counts), on both transports,
//! over real DNS, TLS and HTTP; the `traceparent` still goes out.

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use std::sync::{Arc, Mutex};

use httptrace::{EventKind, RequestInfo};
use httptrace_otel::OptInMetric;
use httptrace_testkit::http::refused_addr;
use opentelemetry_sdk::trace::Sampler;
use support::*;

fn otel(cap: &Capture, opt_ins: bool) -> httptrace_otel::OtelTrace {
    let otel = cap.otel();
    if opt_ins {
        otel.enable_metric(OptInMetric::PhaseDuration)
            .enable_metric(OptInMetric::RoundTrips)
            .enable_metric(OptInMetric::ActiveRequests)
            .enable_metric(OptInMetric::DnsLookupDuration)
    } else {
        otel
    }
}

/// Every metric's data points as sorted `name{attributes} count` lines.
fn points(cap: &Capture) -> Vec<String> {
    let mut out = Vec::new();
    for name in [
        "http.client.request.duration",
        "httptrace.client.phase.duration",
        "httptrace.client.round_trips",
        "http.client.active_requests",
        "dns.lookup.duration",
    ] {
        for (attrs, n) in cap.metric_points(name) {
            let mut a: Vec<String> = attrs
                .iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect();
            a.sort();
            out.push(format!("{name}{{{}}} {n}", a.join(",")));
        }
    }
    out.sort();
    out
}

/// The same requests, one after the other, on a fresh client: a new HTTPS
/// connection, a reused one, a 503, a redirect reqwest follows, a body
/// dropped unread, a refused connection.
async fn reqwest_requests(net: &Net, refused: &str, make: httptrace_otel::OtelTrace) {
    let client = net.client(make);
    for path in ["/", "/", "/status/503", "/redirect/1", "/bytes/100000"] {
        let response = client.get(net.https_url(path)).send().await.unwrap();
        response.bytes().await.unwrap();
    }
    drop(client.get(net.https_url("/")).send().await.unwrap());
    assert!(client.get(refused).send().await.is_err());
}

async fn hyper_requests(net: &Net, refused: &str, make: httptrace_otel::OtelTrace) {
    let client = httptrace::hyper::Client::builder()
        .dns_server(net.dns.addr())
        .root_certificate_der(net.ca.cert_der().to_vec())
        .make_trace(make)
        .build::<Empty<Bytes>>()
        .unwrap();
    let get = |url: String| http::Request::get(url).body(Empty::new()).unwrap();
    for path in ["/", "/", "/status/503", "/bytes/100000"] {
        let response = client.request(get(net.https_url(path))).await.unwrap();
        response.into_body().collect().await.unwrap();
    }
    drop(client.request(get(net.https_url("/"))).await.unwrap());
    assert!(client.request(get(refused.to_string())).await.is_err());
}

async fn compare(hyper: bool, opt_ins: bool) {
    let net = Net::start();
    let refused = refused_addr();
    let refused = format!("http://{}/", refused.addr());
    let mut runs = Vec::new();
    for sampler in [Sampler::AlwaysOn, Sampler::AlwaysOff] {
        let cap = Capture::with_sampler(sampler);
        if hyper {
            hyper_requests(&net, &refused, otel(&cap, opt_ins)).await;
        } else {
            reqwest_requests(&net, &refused, otel(&cap, opt_ins)).await;
        }
        runs.push((cap.spans().len(), points(&cap)));
    }
    let (sampled_spans, sampled) = &runs[0];
    let (unsampled_spans, unsampled) = &runs[1];
    assert!(*sampled_spans > 6, "the sampled run made its spans");
    assert_eq!(*unsampled_spans, 0, "nothing sampled, nothing exported");
    let durations = sampled
        .iter()
        .filter(|p| p.starts_with("http.client.request.duration"))
        .count();
    // 200 (new and reused connection; one point), 503, the refused
    // connection, and on reqwest the redirect's 302.
    assert!(durations >= if hyper { 3 } else { 4 }, "{sampled:#?}");
    if opt_ins {
        assert!(
            sampled.iter().any(|p| p.contains("httptrace.phase=tls")),
            "{sampled:#?}"
        );
        assert!(
            sampled.iter().any(|p| p.starts_with("dns.lookup.duration")),
            "{sampled:#?}"
        );
    }
    assert_eq!(sampled, unsampled, "metrics must not depend on sampling");
}

#[tokio::test]
async fn reqwest_unsampled_hops_record_the_metrics_sampled_ones_do() {
    compare(false, false).await;
}

#[tokio::test]
async fn reqwest_unsampled_hops_record_the_opt_in_metrics_sampled_ones_do() {
    compare(false, true).await;
}

#[tokio::test]
async fn hyper_unsampled_hops_record_the_metrics_sampled_ones_do() {
    compare(true, false).await;
}

#[tokio::test]
async fn hyper_unsampled_hops_record_the_opt_in_metrics_sampled_ones_do() {
    compare(true, true).await;
}

/// What the adapter's trace asks the transports for once the hop's span
/// knows whether it records, and the `traceparent` the server got.
#[tokio::test]
async fn an_unsampled_hop_asks_only_for_what_its_metrics_read() {
    let net = Net::start();
    for (sampler, opt_ins) in [
        (Sampler::AlwaysOn, false),
        (Sampler::AlwaysOff, false),
        (Sampler::AlwaysOff, true),
    ] {
        let sampled = matches!(sampler, Sampler::AlwaysOn);
        let cap = Capture::with_sampler(sampler);
        let otel = otel(&cap, opt_ins);
        let made = Arc::new(Mutex::new(None));
        let keep = made.clone();
        let client = net.client(move |info: &RequestInfo<'_>| {
            let trace = otel.trace(info);
            *keep.lock().unwrap() = Some(trace.clone());
            Some(trace)
        });
        let body = client
            .get(net.https_url("/echo"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let echo: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let traceparent = echo["headers"]["traceparent"].as_str().unwrap();
        assert!(
            traceparent.ends_with(if sampled { "-01" } else { "-00" }),
            "{traceparent}"
        );
        let trace = made.lock().unwrap().take().unwrap();
        for kind in [
            EventKind::RoundTripStart,
            EventKind::DnsDone,
            EventKind::ConnectDone,
            EventKind::TlsHandshakeDone,
            EventKind::WroteRequest,
            EventKind::RoundTripDone,
            EventKind::BodyDone,
        ] {
            assert!(trace.wants(kind), "{kind:?}");
        }
        for kind in [
            EventKind::GetConn,
            EventKind::WroteHeaderField,
            EventKind::WroteHeaders,
            EventKind::PutIdleConn,
        ] {
            assert_eq!(trace.wants(kind), sampled, "{kind:?}");
        }
        // The phase metric reads the phases; the round-trip counter reads
        // `got_conn`.
        for kind in [EventKind::GotConn, EventKind::GotFirstResponseByte] {
            assert_eq!(trace.wants(kind), sampled || opt_ins, "{kind:?}");
        }
        drop(trace);
        assert_eq!(cap.hops().len(), usize::from(sampled));
    }
}
