//! End to end with `OtelTrace::hook_events(false)`, over OTLP/HTTP
//! (protobuf) into a real Jaeger: the hop spans arrive without events and
//! with the phases' durations as attributes, read back over Jaeger's API.
//! Its own test binary: the pipeline installs process-wide globals.

mod support;

use httptrace::reqwest::{ClientBuilderExt as _, Config};
use httptrace_otel::{OtelTrace, Protocol};
use httptrace_testkit::http::TestServer;
use jaeger_harness::Jaeger;
use tracing::Instrument as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_spans_without_events_carry_phase_durations_in_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let service = format!("httptrace-hook-events-off-e2e-{}", std::process::id());
    let guard = support::e2e::install(
        &service,
        jaeger.otlp_http_endpoint(),
        Protocol::HttpProtobuf,
    );

    let server = TestServer::http();
    let config = Config::new().make_trace(OtelTrace::new().hook_events(false));
    let client = reqwest::Client::builder()
        .no_proxy()
        .traced_with(config)
        .unwrap();
    let caller = tracing::info_span!("compact");
    let trace_id = support::trace_id(&caller);
    async {
        for _ in 0..2 {
            let response = client.get(server.url("/delay/40")).send().await.unwrap();
            assert_eq!(response.text().await.unwrap(), "ok");
        }
    }
    .instrument(caller.clone())
    .await;
    drop(caller);
    guard.force_flush().expect("flush to Jaeger");

    let all = support::e2e::read_back(&jaeger, &trace_id, 3).await;
    let hops = support::e2e::hops(&all);
    assert_eq!(hops.len(), 2, "{all:#?}");
    for (i, hop) in hops.iter().enumerate() {
        assert!(hop.events.is_empty(), "hop {i}: {:?}", hop.events);
        assert_eq!(hop.attr_i64("http.response.status_code"), Some(200));
        let wait = hop.attr_f64("httptrace.wait.duration").expect("wait");
        assert!(wait >= 0.040, "hop {i}: wait {wait} s");
        let span_s = (hop.end_ns - hop.start_ns) as f64 / 1e9;
        assert!(
            wait <= span_s,
            "hop {i}: wait {wait} s in a {span_s} s span"
        );
    }
    assert_eq!(hops[0].attr_bool("httptrace.conn.reused"), Some(false));
    assert!(hops[0].attr_f64("httptrace.connect.duration").is_some());
    assert_eq!(hops[1].attr_bool("httptrace.conn.reused"), Some(true));
    assert_eq!(hops[1].attr_f64("httptrace.connect.duration"), None);
    eprintln!("e2e hook_events(false): trace {trace_id} read back from Jaeger");
    guard.shutdown().expect("bounded shutdown");
}
