//! `HTTPTRACE_METRICS` switches the opt-in metrics on without a code
//! change. Its own test binary: the variable is read once per process.

mod support;

use httptrace_otel::{METRICS_ENV, OptInMetric};
use httptrace_testkit::http::TestServer;
use support::*;

#[tokio::test]
async fn the_environment_switches_metrics_on() {
    // SAFETY: the only test of this binary, before any thread reads it.
    unsafe { std::env::set_var(METRICS_ENV, " phase_duration,ROUND_TRIPS ,active_requests") };
    let cap = Capture::new();
    let server = TestServer::http();
    // Nothing enabled in code.
    let client = Net::start().client(cap.otel());
    client
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "httptrace.client.phase.duration",
        "httptrace.client.round_trips",
        "http.client.active_requests",
    ] {
        assert!(!cap.metric_points(name).is_empty(), "{name}");
    }
    // Not named: not made.
    assert!(cap.metric_points("dns.lookup.duration").is_empty());
    // An unknown name is refused with the valid ones listed.
    let e = OptInMetric::parse_list("phase_duration,round_trip").unwrap_err();
    assert_eq!(
        e.to_string(),
        "HTTPTRACE_METRICS: unknown metric name(s) round_trip; valid names: active_requests, \
         dns_lookup_duration, open_connections, connection_duration, phase_duration, \
         round_trips, or all"
    );
}
