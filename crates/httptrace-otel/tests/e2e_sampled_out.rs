//! Sampled-out requests end to end, over OTLP/gRPC into a real Jaeger,
//! under `OTEL_TRACES_SAMPLER=parentbased_always_off`: requests under an
//! unsampled caller span send a `traceparent` with the sampled flag off,
//! leave no trace in Jaeger, and still reach its Prometheus exporter as
//! `http.client.request.duration` samples with their status codes; a
//! request under a sampled remote parent, in the same process and
//! pipeline, is the one trace Jaeger holds (so the absence means something).
//! Its own test binary: the pipeline installs process-wide globals, and the
//! sampler comes from the environment, set before any other thread runs.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use httptrace::reqwest::{ClientBuilderExt, Config, TraceMiddleware};
use httptrace_otel::{OtelTrace, Protocol, Setup};
use httptrace_testkit::http::{TestServer, full_body};
use jaeger_harness::{Jaeger, Sample, spans};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use tracing::Instrument as _;

const CONTROL_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn count(samples: &[Sample], status: &str, service: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == "http_client_request_duration_seconds_count")
        .filter(|s| s.label("service_name") == Some(service))
        .filter(|s| s.label("http_response_status_code") == Some(status))
        .map(|s| s.value)
        .sum()
}

#[test]
fn sampled_out_requests_leave_metrics_and_no_trace_in_jaeger() {
    // SAFETY: the test harness runs this binary's only test on one thread
    // and nothing else has started yet: no other thread reads the
    // environment while it changes.
    unsafe { std::env::set_var("OTEL_TRACES_SAMPLER", "parentbased_always_off") };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let service = format!("httptrace-sampled-out-e2e-{}", std::process::id());
    let guard = Setup::with_env(|_| None)
        .service_name(&service)
        .endpoint(jaeger.otlp_grpc_endpoint())
        .protocol(Protocol::Grpc)
        .metrics(true)
        .fmt(false)
        .scheduled_delay(Duration::from_millis(100))
        .try_install()
        .expect("install the pipeline");

    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen_in = seen.clone();
    let server = TestServer::http_with_handler(move |req| {
        seen_in
            .lock()
            .unwrap()
            .push(support::e2e::traceparent(&req));
        let status = if req.uri().path() == "/busy" {
            503
        } else {
            200
        };
        async move {
            http::Response::builder()
                .status(status)
                .body(full_body("x"))
                .unwrap()
        }
    });
    let config = Config::new().make_trace(OtelTrace::new());
    let instrumented = ClientBuilderExt::instrument(reqwest::Client::builder(), &config).unwrap();
    let client = reqwest_middleware::ClientBuilder::new(instrumented)
        .with(TraceMiddleware::new(&config))
        .build();
    let from = SystemTime::now() - Duration::from_secs(5);

    // Under a caller span the sampler drops: not recorded, still propagated.
    for path in ["/ok", "/busy"] {
        let caller = tracing::info_span!("checkout");
        async {
            let response = client.get(server.url(path)).send().await.unwrap();
            response.bytes().await.unwrap();
        }
        .instrument(caller)
        .await;
    }
    // Under a sampled remote parent: recorded.
    let remote = SpanContext::new(
        TraceId::from_hex(CONTROL_TRACE).unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let parent = opentelemetry::Context::new().with_remote_span_context(remote);
    async {
        let response = client.get(server.url("/control")).send().await.unwrap();
        response.bytes().await.unwrap();
    }
    .with_context(parent)
    .await;

    let traceparents = seen.lock().unwrap().clone();
    assert_eq!(traceparents.len(), 3, "{traceparents:?}");
    for tp in &traceparents[..2] {
        assert!(tp.starts_with("00-") && tp.ends_with("-00"), "{tp}");
        assert!(!tp.contains(CONTROL_TRACE), "{tp}");
    }
    assert!(
        traceparents[2].starts_with(&format!("00-{CONTROL_TRACE}-"))
            && traceparents[2].ends_with("-01"),
        "{}",
        traceparents[2]
    );

    // The metrics: every request, sampled or not.
    let deadline = Instant::now() + Duration::from_secs(20);
    let samples = loop {
        guard.force_flush().expect("flush to Jaeger");
        let ready =
            |s: &[Sample]| count(s, "200", &service) == 2.0 && count(s, "503", &service) == 1.0;
        match jaeger.wait_for_metrics(Duration::from_secs(1), ready).await {
            Ok(samples) => break samples,
            Err(e) if Instant::now() > deadline => {
                panic!("{e}\n--- jaeger log ---\n{}", jaeger.log())
            }
            Err(_) => {}
        }
    };
    assert_eq!(count(&samples, "503", &service), 1.0);

    // The traces: the control's alone, once it has arrived.
    support::e2e::read_back(&jaeger, CONTROL_TRACE, 1).await;
    let found = jaeger
        .find_traces(&service, from, SystemTime::now() + Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the control trace is found by service");
    let all = spans(&found);
    assert_eq!(all.len(), 1, "only the control's hop span: {all:#?}");
    assert!(all[0].is_client());
    assert_eq!(all[0].trace_id, CONTROL_TRACE);
}
