//! A collector that accepts connections and never answers (the worst case:
//! no error, just waiting) must not slow requests down, and shutting the
//! pipeline down must stay within its bound.

mod support;

use std::time::{Duration, Instant};

use httptrace_otel::{OtelTrace, Protocol, Setup};
use httptrace_testkit::http::TestServer;
use support::Net;

async fn timed_requests(client: &httptrace::reqwest::Client, url: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let body = client.get(url).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "hello");
        out.push(t.elapsed());
    }
    out.sort();
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_collector_never_slows_requests() {
    let net = Net::start();
    let url = format!("http://127.0.0.1:{}/", net.http.port());
    const N: usize = 300;

    let plain = net.plain_client();
    timed_requests(&plain, &url, 20).await; // warm up
    let base = timed_requests(&plain, &url, N).await;

    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let collector = TestServer::stall();
        let guard = Setup::with_env(|_| None)
            .endpoint(format!("http://127.0.0.1:{}", collector.port()))
            .protocol(protocol)
            .metrics(false)
            .max_queue_size(64) // small: most spans are dropped, never waited for
            .scheduled_delay(Duration::from_millis(50))
            .shutdown_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let otel = OtelTrace::with_tracer(guard.tracer("slow").unwrap())
            .phase_spans(true)
            .metrics(false);
        let client = net.client(otel);
        timed_requests(&client, &url, 20).await;
        let traced = timed_requests(&client, &url, N).await;
        eprintln!(
            "{protocol:?}, stalled collector: p50 {:?} p99 {:?} max {:?} (untraced p50 {:?} p99 {:?})",
            pct(&traced, 0.5),
            pct(&traced, 0.99),
            traced[N - 1],
            pct(&base, 0.5),
            pct(&base, 0.99)
        );
        // Nothing on the request path waits for the collector: no request
        // comes anywhere near an export timeout (10 s).
        assert!(
            traced[N - 1] < Duration::from_millis(500),
            "{:?}",
            traced[N - 1]
        );
        let t = Instant::now();
        let result = guard.shutdown();
        let took = t.elapsed();
        eprintln!("{protocol:?}: shutdown with a stalled collector took {took:?} ({result:?})");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }
}
