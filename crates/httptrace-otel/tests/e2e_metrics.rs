//! The convention metrics end to end: exported over real OTLP into Jaeger (a
//! collector distribution) and read back from its Prometheus exporter. Its
//! own test binary: the pipeline installs process-wide globals.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use httptrace_otel::{OptInMetric, OtelTrace, Protocol, Setup};
use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::TestServer;
use jaeger_harness::{Jaeger, Sample};

const SERVICE: &str = "httptrace-metrics-e2e";

/// The samples named `name` with every one of `labels`.
fn matching<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .collect()
}

fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    matching(samples, name, labels)
        .iter()
        .map(|s| s.value)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convention_metrics_reach_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let guard = Setup::with_env(|_| None)
        .service_name(SERVICE)
        .endpoint(jaeger.otlp_grpc_endpoint())
        .protocol(Protocol::Grpc)
        .traces(false)
        .metrics(true)
        .fmt(false)
        .try_install()
        .expect("install the pipeline");
    let dns =
        DnsServer::start(DnsConfig::new().record("api.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
    let server = TestServer::http();
    let client = httptrace::hyper::Client::builder()
        .dns_server(dns.addr())
        .make_trace(
            OtelTrace::new()
                .enable_metric(OptInMetric::DnsLookupDuration)
                .enable_metric(OptInMetric::OpenConnections)
                .enable_metric(OptInMetric::ConnectionDuration)
                .enable_metric(OptInMetric::PhaseDuration)
                .enable_metric(OptInMetric::RoundTrips),
        )
        .build::<Empty<Bytes>>()
        .unwrap();
    // Two successes and a 503, sequentially (usually on one connection;
    // hyper-util may open another if the first is not back in the pool yet).
    for path in ["/", "/", "/status/503"] {
        let request = http::Request::get(server.url_with_host("api.test", path))
            .body(Empty::new())
            .unwrap();
        let response = client.request(request).await.unwrap();
        response.into_body().collect().await.unwrap();
    }
    // Dropping the client closes its connections: their lifetimes are recorded.
    drop(client);
    let connections = server.connections_accepted() as f64;

    let port = server.port().to_string();
    let ours = [("service_name", SERVICE), ("server_address", "api.test")];
    let expected = |s: &[Sample]| {
        let ok = [ours[0], ours[1], ("http_response_status_code", "200")];
        let failed = [
            ours[0],
            ("http_response_status_code", "503"),
            ("error_type", "503"),
        ];
        total(s, "http_client_request_duration_seconds_count", &ok) == 2.0
            && total(s, "http_client_request_duration_seconds_count", &failed) == 1.0
            && total(s, "http_client_connection_duration_seconds_count", &ours) == connections
            && total(s, "httptrace_client_round_trips_total", &ours) == 3.0
            && total(
                s,
                "httptrace_client_phase_duration_seconds_count",
                &[ours[0], ours[1], ("httptrace_phase", "receive")],
            ) == 3.0
    };
    // The close is recorded asynchronously: flush until Jaeger has it all.
    let deadline = Instant::now() + Duration::from_secs(20);
    let samples = loop {
        guard.force_flush().expect("flush to Jaeger");
        match jaeger
            .wait_for_metrics(Duration::from_secs(1), expected)
            .await
        {
            Ok(samples) => break samples,
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => {}
        }
    };

    // Attributes follow the conventions, on every request sample.
    for s in matching(
        &samples,
        "http_client_request_duration_seconds_count",
        &ours,
    ) {
        assert_eq!(s.label("http_request_method"), Some("GET"), "{s:?}");
        assert_eq!(s.label("server_port"), Some(port.as_str()), "{s:?}");
        assert_eq!(s.label("network_protocol_version"), Some("1.1"), "{s:?}");
    }
    // A histogram with the conventions' buckets: all three took under 10 s.
    let under_10s = total(
        &samples,
        "http_client_request_duration_seconds_bucket",
        &[ours[0], ("le", "10")],
    );
    assert_eq!(under_10s, 3.0);
    // One lookup of the name per connection dialed.
    assert_eq!(
        total(
            &samples,
            "dns_lookup_duration_seconds_count",
            &[ours[0], ("dns_question_name", "api.test")]
        ),
        connections
    );
    // Reuse per upstream: a round trip on a new connection, or a reused one
    // (a dial the pool overtook is accepted but serves no round trip).
    let reused = |r: &'static str| {
        total(
            &samples,
            "httptrace_client_round_trips_total",
            &[ours[0], ours[1], ("httptrace_conn_reused", r)],
        )
    };
    let new = reused("false");
    assert!(
        new >= 1.0 && new <= connections,
        "{new} new of {connections}"
    );
    assert_eq!(reused("true"), 3.0 - new);
    // Per upstream and phase: a dial's phases once per new connection, the
    // exchange's once per round trip; no TLS on plain HTTP.
    // A dial the pool overtook reports the phases it finished while its
    // round trip lasted.
    for phase in ["dns", "connect"] {
        let labels = [ours[0], ours[1], ("httptrace_phase", phase)];
        let n = total(
            &samples,
            "httptrace_client_phase_duration_seconds_count",
            &labels,
        );
        assert!(new <= n && n <= connections, "{phase}: {n}");
    }
    for (phase, n) in [("tls", 0.0), ("send", 3.0), ("wait", 3.0), ("receive", 3.0)] {
        let labels = [ours[0], ours[1], ("httptrace_phase", phase)];
        assert_eq!(
            total(
                &samples,
                "httptrace_client_phase_duration_seconds_count",
                &labels
            ),
            n,
            "{phase}"
        );
        for s in matching(
            &samples,
            "httptrace_client_phase_duration_seconds_count",
            &labels,
        ) {
            assert_eq!(s.label("server_port"), Some(port.as_str()), "{s:?}");
            assert_eq!(s.label("http_request_method"), None, "{s:?}");
        }
    }
    // Nothing open any more: the connection went idle, then closed.
    assert_eq!(total(&samples, "http_client_open_connections", &ours), 0.0);
    assert!(
        !matching(
            &samples,
            "http_client_open_connections",
            &[ours[0], ours[1], ("http_connection_state", "idle")]
        )
        .is_empty(),
        "the idle series exists"
    );
}
