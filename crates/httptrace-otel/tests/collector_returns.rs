//! A collector that is down when the service starts never fails a request,
//! and export resumes by itself once the collector comes back. Its own test
//! binary: the pipeline installs process-wide globals.

mod support;

use std::time::{Duration, Instant};

use httptrace_otel::{OtelTrace, Protocol};
use jaeger_harness::{Jaeger, spans};
use tracing::Instrument as _;

use support::Net;

/// Sends one traced request under its own caller span; returns the trace id
/// and how long the request took.
async fn traced_call(client: &httptrace::reqwest::Client, url: &str) -> (String, Duration) {
    let caller = tracing::info_span!("call");
    let trace_id = support::trace_id(&caller);
    let t = Instant::now();
    let body = async { client.get(url).send().await.unwrap().text().await.unwrap() }
        .instrument(caller)
        .await;
    assert_eq!(body, "hello");
    (trace_id, t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_resumes_when_the_collector_comes_back() {
    // A port with nothing behind it yet: the collector is down.
    // Kept bound (not listening) until the collector returns on it.
    let down = httptrace_testkit::http::refused_addr();
    let port = down.port();
    let guard = support::e2e::install(
        "collector-returns",
        format!("http://127.0.0.1:{port}"),
        Protocol::HttpProtobuf,
    );
    let net = Net::start();
    let client = net.client(OtelTrace::new());
    let url = format!("http://127.0.0.1:{}/", net.http.port());

    let (_, took) = traced_call(&client, &url).await;
    assert!(
        took < Duration::from_millis(500),
        "request took {took:?} with the collector down"
    );
    assert!(
        guard.force_flush().is_err(),
        "export to a dead collector reports an error"
    );

    // The collector comes back on the same address.
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let upstream = jaeger
        .otlp_http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let listener = down.listen().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });

    let (trace_id, _) = traced_call(&client, &url).await;
    guard.force_flush().expect("export works again");
    let trace = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(20), |t| spans(t).len() >= 2)
        .await
        .expect("the trace sent after the collector came back is stored");
    let spans = spans(&trace);
    assert!(
        spans.iter().any(|s| s.is_client() && s.name == "GET"),
        "{spans:#?}"
    );
}
