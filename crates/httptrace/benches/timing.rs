//! Timing benchmark for the reqwest transport, reported as ratios and errors
//! measured in one run.
//!
//! 1. Overhead: the same keep-alive GET through plain reqwest, through the
//!    traced client with no trace attached, and with a trace recording every
//!    event. Reported as median per-request time and ratios to plain reqwest.
//! 2. Accuracy of the hooks, on the reqwest and on the hyper-util transport:
//!    an in-process raw server (same
//!    monotonic clock) notes when it accepted the TCP connection, when it had
//!    read the request head, and when it wrote the response head. The hooks'
//!    `at` is compared with those instants; the difference is the hook's error
//!    (it includes loopback latency, which is a few microseconds).
//!
//! `cargo bench -p httptrace --bench timing` runs it in full;
//! `-- --smoke` runs a few iterations (CI does this to keep it working).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httptrace::reqwest::{ClientBuilderExt, Config};
use httptrace::{ClientTrace, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Instants the server saw for one connection / request.
#[derive(Default, Clone, Copy, Debug)]
struct ServerMarks {
    accepted: Option<Instant>,
    head_read: Option<Instant>,
    head_written: Option<Instant>,
}

type Marks = Arc<Mutex<Vec<ServerMarks>>>;

/// A raw HTTP/1.1 server: one request per connection is enough for the
/// accuracy runs (`Connection: close`), keep-alive for the overhead runs.
async fn raw_server(tls: Option<tokio_rustls::TlsAcceptor>, close: bool) -> (String, Marks) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let marks: Marks = Arc::default();
    let m = marks.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let accepted = Instant::now();
            let m = m.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                tcp.set_nodelay(true).ok();
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            serve(stream, accepted, m, close).await
                        }
                    }
                    None => serve(tcp, accepted, m, close).await,
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), marks)
}

async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    accepted: Instant,
    marks: Marks,
    close: bool,
) {
    let mut first = true;
    loop {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head_read = Instant::now();
        let header = if close { "connection: close\r\n" } else { "" };
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n{header}\r\n");
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let _ = stream.flush().await;
        let head_written = Instant::now();
        let _ = stream.write_all(b"hello").await;
        let _ = stream.flush().await;
        marks.lock().unwrap().push(ServerMarks {
            accepted: first.then_some(accepted),
            head_read: Some(head_read),
            head_written: Some(head_written),
        });
        first = false;
        if close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn p90(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

fn recorder() -> (ClientTrace, Arc<Mutex<Vec<Event>>>) {
    let log: Arc<Mutex<Vec<Event>>> = Arc::default();
    let l = log.clone();
    (
        ClientTrace::new().on_event(move |e| l.lock().unwrap().push(e.clone())),
        log,
    )
}

async fn overhead(iterations: usize) {
    let (host, _) = raw_server(None, false).await;
    let url = format!("http://{host}/");
    let plain = reqwest::Client::new();
    let traced = reqwest::Client::builder().traced().unwrap();
    // Warm up both pools.
    plain.get(&url).send().await.unwrap().bytes().await.unwrap();
    traced
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..iterations {
        // Interleaved, so drift on the machine hits all three alike.
        let t = Instant::now();
        plain.get(&url).send().await.unwrap().bytes().await.unwrap();
        times[0].push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        traced
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        times[1].push(t.elapsed().as_secs_f64() * 1e6);
        let (trace, _log) = recorder();
        let t = Instant::now();
        traced
            .get(&url)
            .trace(trace)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        times[2].push(t.elapsed().as_secs_f64() * 1e6);
    }
    let base = median(&mut times[0]);
    let none = median(&mut times[1]);
    let full = median(&mut times[2]);
    println!("overhead ({iterations} keep-alive GETs each, interleaved, median per request)");
    println!("  plain reqwest            {base:9.1} µs   1.00x");
    println!(
        "  traced, no trace         {none:9.1} µs   {:.2}x",
        none / base
    );
    println!(
        "  traced, recording trace  {full:9.1} µs   {:.2}x",
        full / base
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transport {
    Reqwest,
    Hyper,
}

async fn accuracy(iterations: usize, https: bool, transport: Transport) {
    let ca = httptrace_testkit::tls::TestCa::new();
    let acceptor = https.then(|| {
        let identity = ca.server_identity(&["127.0.0.1"]);
        tokio_rustls::TlsAcceptor::from(httptrace_testkit::tls::rustls_server_config(
            &identity,
            &[b"http/1.1"],
        ))
    });
    let (host, marks) = raw_server(acceptor, true).await;
    let scheme = if https { "https" } else { "http" };
    let url = format!("{scheme}://{host}/");
    let client = reqwest::Client::builder()
        .traced_with(Config::new().root_certificate_der(ca.cert_der().to_vec()))
        .unwrap();
    let hyper_client = httptrace::hyper::Client::builder()
        .root_certificate_der(ca.cert_der().to_vec())
        .http1_only()
        .build::<http_body_util::Empty<bytes::Bytes>>()
        .unwrap();
    let mut errors: [(&str, Vec<f64>); 4] = [
        ("connect_done - server accept", Vec::new()),
        ("wrote_headers - server read head", Vec::new()),
        ("first_byte - server wrote head", Vec::new()),
        ("round_trip_done - server wrote head", Vec::new()),
    ];
    for _ in 0..iterations {
        let (trace, log) = recorder();
        match transport {
            Transport::Reqwest => {
                let response = client.get(&url).trace(trace).send().await.unwrap();
                response.bytes().await.unwrap();
            }
            Transport::Hyper => {
                use http_body_util::BodyExt;
                let request = http::Request::get(&url)
                    .body(http_body_util::Empty::new())
                    .unwrap();
                let response = hyper_client.request_traced(request, trace).await.unwrap();
                response.into_body().collect().await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        let server = marks.lock().unwrap().pop().unwrap();
        let events = log.lock().unwrap().clone();
        let at = |name: &str| events.iter().find(|e| e.name() == name).map(|e| e.at());
        let diff = |a: Option<Instant>, b: Option<Instant>| -> Option<f64> {
            let (a, b) = (a?, b?);
            Some(if a >= b {
                (a - b).as_secs_f64() * 1e6
            } else {
                -((b - a).as_secs_f64() * 1e6)
            })
        };
        let pairs = [
            diff(at("connect_done"), server.accepted),
            diff(at("wrote_headers"), server.head_read),
            diff(at("got_first_response_byte"), server.head_written),
            diff(at("round_trip_done"), server.head_written),
        ];
        for (slot, value) in errors.iter_mut().zip(pairs) {
            if let Some(v) = value {
                slot.1.push(v);
            }
        }
    }
    println!(
        "accuracy, {transport:?} transport over {scheme} ({iterations} new connections; hook at minus ground truth, µs)"
    );
    for (name, mut v) in errors {
        if v.is_empty() {
            continue;
        }
        let med = median(&mut v);
        let p = p90(&mut v);
        println!("  {name:38} median {med:9.1}   p90 {p:9.1}");
    }
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke" || a == "--test");
    let (n_overhead, n_accuracy) = if smoke { (20, 10) } else { (2000, 300) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        overhead(n_overhead).await;
        for transport in [Transport::Reqwest, Transport::Hyper] {
            accuracy(n_accuracy, false, transport).await;
            accuracy(n_accuracy, true, transport).await;
        }
    });
}
