//! `httptrace.client.phase.duration` and `httptrace.client.round_trips`:
//! real DNS and HTTP servers (two upstreams), both transports, an
//! in-memory metric reader; exact sample counts per phase and per
//! `httptrace.conn.reused`, units, bucket boundaries and attribute sets.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use httptrace::reqwest::{ClientBuilderExt, Config};
use httptrace_otel::{OptInMetric, PHASE_DURATION_BUCKETS};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::{TestServer, refused_addr};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use support::*;

/// One data point: its attributes as sorted `key=value` strings, and its
/// count (histograms) or value (sums).
#[derive(Debug)]
struct Point {
    attrs: Vec<String>,
    n: u64,
    bounds: Vec<f64>,
}

/// The unit and points of instrument `name` after a flush (`None`: not
/// recorded at all).
fn read(cap: &Capture, name: &str) -> Option<(String, Vec<Point>)> {
    cap.meter_provider.force_flush().unwrap();
    let mut found = None;
    for rm in cap.metric_exporter.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm.metrics().filter(|m| m.name() == name) {
                let sorted = |a: &mut dyn Iterator<Item = &KeyValue>| {
                    let mut v: Vec<String> =
                        a.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                    v.sort();
                    v
                };
                let points: Vec<Point> = match m.data() {
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                        .data_points()
                        .map(|dp| Point {
                            attrs: sorted(&mut dp.attributes()),
                            n: dp.count(),
                            bounds: dp.bounds().collect(),
                        })
                        .collect(),
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        assert!(s.is_monotonic(), "{name} is a counter");
                        s.data_points()
                            .map(|dp| Point {
                                attrs: sorted(&mut dp.attributes()),
                                n: dp.value(),
                                bounds: Vec::new(),
                            })
                            .collect()
                    }
                    other => panic!("{name}: unexpected data {other:?}"),
                };
                found = Some((m.unit().to_string(), points));
            }
        }
    }
    cap.metric_exporter.reset();
    found
}

/// `count` of the point whose attributes are exactly `attrs` (sorted).
fn count(points: &[Point], attrs: &[String]) -> u64 {
    let mut want = attrs.to_vec();
    want.sort();
    points.iter().filter(|p| p.attrs == want).map(|p| p.n).sum()
}

fn phase_attrs(phase: &str, host: &str, port: u16) -> Vec<String> {
    vec![
        format!("httptrace.phase={phase}"),
        format!("server.address={host}"),
        format!("server.port={port}"),
    ]
}

fn reuse_attrs(reused: bool, host: &str, port: u16) -> Vec<String> {
    vec![
        format!("httptrace.conn.reused={reused}"),
        format!("server.address={host}"),
        format!("server.port={port}"),
    ]
}

struct Upstreams {
    dns: DnsServer,
    a: TestServer,
    b: TestServer,
}

impl Upstreams {
    fn start() -> Self {
        let local = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        let dns = DnsServer::start(
            DnsConfig::new()
                .record("a.test", local)
                .record("b.test", local),
        )
        .unwrap();
        Upstreams {
            dns,
            a: TestServer::http(),
            b: TestServer::http(),
        }
    }

    /// Each upstream three times, one request after the other, `a` first:
    /// one new connection and two reuses each. Query strings differ per
    /// request: never an attribute.
    fn urls(&self) -> Vec<(String, &TestServer)> {
        let mut urls = Vec::new();
        for (host, server) in [("a.test", &self.a), ("b.test", &self.b)] {
            for i in 0..3 {
                urls.push((
                    server.url_with_host(host, &format!("/?request={i}")),
                    server,
                ));
            }
        }
        urls
    }

    /// The exact counts the sequence gives, on either transport. With
    /// `one_connection`, each upstream's three round trips took one new
    /// connection and reused it twice (a current-thread runtime: the
    /// connection is back in the pool before the next request). On a
    /// multi-threaded one the next request may find it not back yet and
    /// dial: the counts are then exact per new connection instead.
    fn check(&self, cap: &Capture, one_connection: bool) {
        let (unit, phases) =
            read(cap, "httptrace.client.phase.duration").expect("phase durations recorded");
        assert_eq!(unit, "s");
        let (unit, round_trips) =
            read(cap, "httptrace.client.round_trips").expect("round trips recorded");
        assert_eq!(unit, "{round_trip}");
        for (host, server) in [("a.test", &self.a), ("b.test", &self.b)] {
            let port = server.port();
            assert_eq!(server.requests_served(), 3, "{host}");
            let new = count(&round_trips, &reuse_attrs(false, host, port));
            let reused = count(&round_trips, &reuse_attrs(true, host, port));
            assert_eq!(new + reused, 3, "{host}: {round_trips:#?}");
            if one_connection {
                assert_eq!(server.connections_accepted(), 1, "{host}: one connection");
                assert_eq!((new, reused), (1, 2), "{host}");
            } else {
                // A dial the pool overtook is accepted but serves nothing.
                assert!(new >= 1 && new as usize <= server.connections_accepted());
            }
            // Each round trip on a new connection dialled: dns and connect
            // once; every round trip sent, waited and received. A round trip
            // on a reused connection has no dial sample, even when the pool
            // started a spare dial for it; only a round trip handed another
            // new connection while its own dial went on could add one.
            let dialled = server.connections_accepted() as u64;
            for phase in ["dns", "connect"] {
                let n = count(&phases, &phase_attrs(phase, host, port));
                assert!(
                    new <= n && n <= dialled,
                    "{host} {phase}: {n}, {new} new, {dialled} dialled"
                );
            }
            for (phase, n) in [("tls", 0), ("send", 3), ("wait", 3), ("receive", 3)] {
                assert_eq!(
                    count(&phases, &phase_attrs(phase, host, port)),
                    n,
                    "{host} {phase}: {phases:#?}"
                );
            }
        }
        // Nothing else: 5 phases and 2 reuse values per upstream, every
        // point with exactly these attributes (never the path or URL).
        assert_eq!(phases.len(), 10, "{phases:#?}");
        let new: u64 = round_trips
            .iter()
            .filter(|p| p.attrs[0] == "httptrace.conn.reused=false")
            .map(|p| p.n)
            .sum();
        if one_connection {
            assert_eq!(phases.iter().map(|p| p.n).sum::<u64>(), 18 + 2 * new);
        }
        // Per upstream a `false` point, and a `true` one unless every
        // round trip dialled.
        assert!((2..=4).contains(&round_trips.len()), "{round_trips:#?}");
        if one_connection {
            assert_eq!(round_trips.len(), 4, "{round_trips:#?}");
        }
        for p in phases.iter().chain(&round_trips) {
            assert_eq!(p.attrs.len(), 3, "{p:?}");
            assert!(!p.attrs.iter().any(|a| a.contains("request=")), "{p:?}");
        }
        for p in &phases {
            assert_eq!(p.bounds, PHASE_DURATION_BUCKETS, "{p:?}");
        }
    }
}

#[tokio::test]
async fn reqwest_two_upstreams_exact_counts_per_phase_and_reuse() {
    reqwest_sequence(true).await;
}

#[tokio::test]
async fn hyper_two_upstreams_exact_counts_per_phase_and_reuse() {
    hyper_sequence(true).await;
}

// Two worker threads: the request's task and the connection's run in
// parallel, as in a service (the hyper transport's got_conn was once
// stamped after the request's first write there, losing `send`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_two_upstreams_on_a_multi_threaded_runtime() {
    reqwest_sequence(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_two_upstreams_on_a_multi_threaded_runtime() {
    hyper_sequence(false).await;
}

async fn reqwest_sequence(one_connection: bool) {
    let cap = Capture::new();
    let up = Upstreams::start();
    let otel = cap
        .otel()
        .enable_metric(OptInMetric::PhaseDuration)
        .enable_metric(OptInMetric::RoundTrips);
    let client = reqwest::Client::builder()
        .no_proxy()
        .traced_with(Config::new().dns_server(up.dns.addr()).make_trace(otel))
        .unwrap();
    for (url, _) in up.urls() {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "hello");
    }
    up.check(&cap, one_connection);
}

async fn hyper_sequence(one_connection: bool) {
    let cap = Capture::new();
    let up = Upstreams::start();
    let otel = cap
        .otel()
        .enable_metric(OptInMetric::PhaseDuration)
        .enable_metric(OptInMetric::RoundTrips);
    let client = httptrace::hyper::Client::builder()
        .dns_server(up.dns.addr())
        .make_trace(otel)
        .build::<Empty<Bytes>>()
        .unwrap();
    for (url, _) in up.urls() {
        let request = http::Request::get(url).body(Empty::new()).unwrap();
        let response = client.request(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
    }
    up.check(&cap, one_connection);
}

/// Hook events off takes the same phases from the same computation: the
/// span attributes and the histogram agree, sample for sample.
#[tokio::test]
async fn without_hook_events_the_histogram_matches_the_span_attributes() {
    let cap = Capture::new();
    let up = Upstreams::start();
    let otel = cap
        .otel()
        .hook_events(false)
        .enable_metric(OptInMetric::PhaseDuration);
    let client = reqwest::Client::builder()
        .no_proxy()
        .traced_with(Config::new().dns_server(up.dns.addr()).make_trace(otel))
        .unwrap();
    for (url, _) in up.urls() {
        client.get(&url).send().await.unwrap().text().await.unwrap();
    }
    let mut from_spans = 0.0;
    for hop in cap.hops() {
        for kv in hop.attributes.iter() {
            if kv.key.as_str().ends_with(".duration")
                && let Value::F64(s) = kv.value
            {
                from_spans += s;
            }
        }
    }
    let sum = cap.histogram_sum("httptrace.client.phase.duration");
    assert!(from_spans > 0.0);
    assert!(
        (sum - from_spans).abs() < 1e-9,
        "histogram {sum} s, span attributes {from_spans} s"
    );
}

/// A hop that never got a connection counts no round trip; its failed
/// connect is a `connect` sample (the time went there).
#[tokio::test]
async fn a_refused_connect_is_a_connect_sample_and_no_round_trip() {
    let cap = Capture::new();
    let refused = refused_addr();
    let otel = cap
        .otel()
        .enable_metric(OptInMetric::PhaseDuration)
        .enable_metric(OptInMetric::RoundTrips);
    let client = reqwest::Client::builder()
        .no_proxy()
        .traced_with(Config::new().make_trace(otel))
        .unwrap();
    let url = format!("http://127.0.0.1:{}/", refused.port());
    client.get(&url).send().await.unwrap_err();
    let (_, phases) = read(&cap, "httptrace.client.phase.duration").expect("recorded");
    assert_eq!(
        count(
            &phases,
            &phase_attrs("connect", "127.0.0.1", refused.port())
        ),
        1,
        "{phases:#?}"
    );
    assert_eq!(phases.iter().map(|p| p.n).sum::<u64>(), 1, "{phases:#?}");
    assert!(read(&cap, "httptrace.client.round_trips").is_none_or(|(_, p)| p.is_empty()));
}

/// Off by default: neither instrument is made.
#[tokio::test]
async fn off_by_default() {
    let cap = Capture::new();
    let up = Upstreams::start();
    let client = reqwest::Client::builder()
        .no_proxy()
        .traced_with(
            Config::new()
                .dns_server(up.dns.addr())
                .make_trace(cap.otel()),
        )
        .unwrap();
    let (url, _) = &up.urls()[0];
    client.get(url).send().await.unwrap().text().await.unwrap();
    assert!(read(&cap, "http.client.request.duration").is_some());
    assert!(read(&cap, "httptrace.client.phase.duration").is_none());
    assert!(read(&cap, "httptrace.client.round_trips").is_none());
}
