//! With an OTLP endpoint configured, httpstat exports its hops into a real
//! Jaeger: one `httpstat` span with a CLIENT span per round trip under it,
//! with either transport.

use std::process::Stdio;
use std::time::{Duration, SystemTime};

use httptrace_testkit::http::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_one_span_per_hop_into_jaeger() {
    let Some(jaeger) = jaeger_harness::Jaeger::start().await.expect("start Jaeger") else {
        return; // loudly skipped by the harness (HTTPTRACE_SKIP_E2E=1)
    };
    let server = TestServer::http();
    for transport in ["reqwest", "hyper"] {
        exports_hops(&jaeger, &server, transport).await;
    }
}

async fn exports_hops(jaeger: &jaeger_harness::Jaeger, server: &TestServer, transport: &str) {
    let from = SystemTime::now() - Duration::from_secs(5);
    let service = format!("httpstat-e2e-{transport}-{}", std::process::id());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_httpstat"))
        .args([
            "--transport",
            transport,
            "-L",
            "--json",
            &server.url("/redirect/1"),
        ])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.otlp_http_endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_SERVICE_NAME", &service)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run httpstat");
    assert!(
        output.status.success(),
        "{transport}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
