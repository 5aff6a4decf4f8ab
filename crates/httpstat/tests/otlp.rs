//! With an OTLP endpoint configured, httpstat exports its hops into a real
//! Jaeger: one `httpstat` span with a CLIENT span per round trip under it,
//! with either transport; and the sampler the environment names decides
//! what is exported and what `traceparent` says.

use std::process::Stdio;
use std::time::{Duration, SystemTime};

use httptrace_testkit::http::TestServer;

/// Runs httpstat with `args`, exporting to `jaeger` over OTLP/HTTP as
/// `service`, plus `env`; it must succeed.
async fn exporting(
    jaeger: &jaeger_harness::Jaeger,
    service: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_httpstat"))
        .args(args)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.otlp_http_endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_SERVICE_NAME", service)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run httpstat");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_one_span_per_hop_into_jaeger() {
    let Some(jaeger) = jaeger_harness::Jaeger::start().await.expect("start Jaeger") else {
        return; // loudly skipped by the harness (HTTPTRACE_SKIP_E2E=1)
    };
    let server = TestServer::http();
    for transport in ["reqwest", "hyper"] {
        exports_hops(&jaeger, &server, transport).await;
    }
    for (sampler, sampled) in [("always_off", false), ("always_on", true)] {
        honours_the_sampler(&jaeger, sampler, sampled).await;
    }
}

/// Runs httpstat against a server that keeps each request's `traceparent`,
/// with `OTEL_TRACES_SAMPLER=sampler`: the header is sent either way, its
/// flags say whether the trace is sampled, and only a sampled one reaches
/// Jaeger.
async fn honours_the_sampler(jaeger: &jaeger_harness::Jaeger, sampler: &str, sampled: bool) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let server = {
        let seen = seen.clone();
        TestServer::http_with_handler(move |request| {
            let header = request.headers().get("traceparent").cloned();
            seen.lock().unwrap().push(
                header
                    .map(|h| h.to_str().unwrap_or("").to_string())
                    .unwrap_or_default(),
            );
            async { http::Response::new(httptrace_testkit::http::full_body("ok")) }
        })
    };
    let from = SystemTime::now() - Duration::from_secs(5);
    let service = format!("httpstat-sampler-{sampler}-{}", std::process::id());
    let args = ["--json", &server.url("/")];
    exporting(jaeger, &service, &args, &[("OTEL_TRACES_SAMPLER", sampler)]).await;
    let headers = seen.lock().unwrap().clone();
    assert_eq!(headers.len(), 1, "{headers:?}");
    // version-traceid-spanid-flags
    let parts: Vec<&str> = headers[0].split('-').collect();
    assert_eq!(parts.len(), 4, "{sampler}: traceparent {:?}", headers[0]);
    assert_eq!(parts[3], if sampled { "01" } else { "00" }, "{sampler}");

    // httpstat flushed on exit; Jaeger stores within its 50 ms batch.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(if sampled { 20 } else { 2 });
    let found = loop {
        let to = SystemTime::now() + Duration::from_secs(5);
        let found = jaeger.find_traces(&service, from, to).await.expect("query");
        if found.is_some() || tokio::time::Instant::now() >= deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let trace_ids: Vec<String> = found
        .as_ref()
        .map(|f| {
            jaeger_harness::spans(f)
                .into_iter()
                .map(|s| s.trace_id)
                .collect()
        })
        .unwrap_or_default();
    if sampled {
        assert!(trace_ids.contains(&parts[1].to_string()), "{trace_ids:?}");
    } else {
        assert!(trace_ids.is_empty(), "{sampler} exported {trace_ids:?}");
    }
}

async fn exports_hops(jaeger: &jaeger_harness::Jaeger, server: &TestServer, transport: &str) {
    let from = SystemTime::now() - Duration::from_secs(5);
    let service = format!("httpstat-e2e-{transport}-{}", std::process::id());
    let url = server.url("/redirect/1");
    let args = ["--transport", transport, "-L", "--json", &url];
    let output = exporting(jaeger, &service, &args, &[]).await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let to = SystemTime::now() + Duration::from_secs(5);
        if let Some(found) = jaeger.find_traces(&service, from, to).await.expect("query") {
            let spans = jaeger_harness::spans(&found);
            if spans.len() >= 3 {
                break spans;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no trace for {service}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let root = spans
        .iter()
        .find(|s| s.name == "httpstat")
        .expect("httpstat span");
    let mut hops: Vec<_> = spans.iter().filter(|s| s.is_client()).collect();
    hops.sort_by_key(|s| s.start_ns);
    assert_eq!(hops.len(), 2, "{transport}: {spans:#?}");
    for hop in &hops {
        assert_eq!(hop.parent_span_id, root.span_id);
        assert_eq!(hop.name, "GET");
        assert!(hop.events.iter().any(|e| e.name == "got_conn"));
    }
    assert_eq!(hops[0].attr_i64("http.response.status_code"), Some(302));
    assert_eq!(hops[1].attr_i64("http.response.status_code"), Some(200));
    assert_eq!(hops[1].attr_i64("http.request.resend_count"), Some(1));
}
