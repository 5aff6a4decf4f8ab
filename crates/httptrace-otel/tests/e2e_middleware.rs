//! End to end through a reqwest-middleware stack as services build it
//! (reqwest-retry outside, `TraceMiddleware` innermost, on the user's own
//! `reqwest::Client` with `instrument()`), over OTLP/gRPC into a real
//! Jaeger: every attempt and every redirect hop is its own CLIENT span,
//! counted by `http.request.resend_count`, all under the caller's span, the
//! ones on the caller's path named after its `url.template`.
//! Its own test binary: the pipeline installs process-wide globals.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use httptrace::reqwest::{ClientBuilderExt, Config, TraceMiddleware};
use httptrace_otel::{OtelTrace, Protocol};
use httptrace_testkit::http::{TestServer, full_body};
use jaeger_harness::Jaeger;
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use tracing::Instrument as _;

/// `/flaky` answers 503 twice, then redirects to `/done` (200); every
/// request's `traceparent` is kept, in arrival order.
fn flaky_server() -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen_in = seen.clone();
    let server = TestServer::http_with_handler(move |req| {
        seen_in
            .lock()
            .unwrap()
            .push(support::e2e::traceparent(&req));
        let call = if req.uri().path() == "/flaky" {
            calls.fetch_add(1, Ordering::SeqCst)
        } else {
            usize::MAX
        };
        async move {
            let response = http::Response::builder();
            match call {
                0 | 1 => response.status(503).body(full_body("busy")),
                usize::MAX => response.body(full_body("done")),
                _ => response
                    .status(302)
                    .header("location", "/done")
                    .body(full_body("")),
            }
            .unwrap()
        }
    });
    (server, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_redirect_hops_are_spans_with_resend_counts_in_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let service = format!("httptrace-middleware-e2e-{}", std::process::id());
    let guard = support::e2e::install(&service, jaeger.otlp_grpc_endpoint(), Protocol::Grpc);

    let (server, traceparents) = flaky_server();
    let config = Config::new().make_trace(OtelTrace::new());
    let retries = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(2);
    // `tracing::Instrument` is in scope too (every type has its
    // `instrument`), so the call names the trait.
    let instrumented = ClientBuilderExt::instrument(reqwest::Client::builder(), &config).unwrap();
    let client = reqwest_middleware::ClientBuilder::new(instrumented)
        .with(RetryTransientMiddleware::new_with_policy(retries))
        .with(TraceMiddleware::new(&config))
        .build();

    let caller = tracing::info_span!("checkout");
    let trace_id = support::trace_id(&caller);
    let body = async {
        let response = client
            .get(server.url("/flaky"))
            .with_extension(httptrace::UrlTemplate::new("/flaky"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
    .instrument(caller.clone())
    .await;
    assert_eq!(body, "done");
    drop(caller);
    guard.force_flush().expect("flush to Jaeger");

    let all = support::e2e::read_back(&jaeger, &trace_id, 5).await;
    let caller = all.iter().find(|s| s.name == "checkout").expect("caller");
    let hops = support::e2e::hops(&all);
    assert_eq!(
        hops.len(),
        4,
        "{:#?}",
        all.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let statuses: Vec<Option<i64>> = hops
        .iter()
        .map(|h| h.attr_i64("http.response.status_code"))
        .collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(302), Some(200)]);
    let resends: Vec<Option<i64>> = hops
        .iter()
        .map(|h| h.attr_i64("http.request.resend_count"))
        .collect();
    assert_eq!(resends, [None, Some(1), Some(2), Some(3)]);
    for (i, hop) in hops.iter().enumerate() {
        assert_eq!(
            hop.parent_span_id, caller.span_id,
            "hop {i} under the caller"
        );
        // The caller's template names the hops on its request's path; the
        // redirect hop to /done is another route, unknown here: its method.
        if i < 3 {
            assert_eq!(hop.name, "GET /flaky");
            assert_eq!(hop.attr_str("url.template"), Some("/flaky"));
        } else {
            assert_eq!(hop.name, "GET");
            assert_eq!(hop.attr_str("url.template"), None);
        }
        if i > 0 {
            assert!(hops[i - 1].end_ns <= hop.start_ns, "hops in order");
        }
    }
    assert!(hops[0].is_error() && hops[1].is_error(), "503s are errors");
    assert!(!hops[2].is_error() && !hops[3].is_error());
    // Each attempt carried its own span's context; the hop reqwest followed
    // inside the third attempt carried that attempt's (reqwest builds it
    // from the first hop's headers).
    let sent = traceparents.lock().unwrap().clone();
    let expected: Vec<String> = [0, 1, 2, 2]
        .iter()
        .map(|&i| format!("00-{trace_id}-{}-01", hops[i].span_id))
        .collect();
    assert_eq!(sent, expected);
    eprintln!("e2e middleware: trace {trace_id} read back from Jaeger with 4 hop spans");
    guard.shutdown().expect("bounded shutdown");
}
