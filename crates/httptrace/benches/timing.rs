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
//! 3. Side by side with Go: a small Go program (`benches/go-reference`,
//!    `net/http` + `net/http/httptrace`, standard library only) is built into
//!    the target directory and run against the same kind of server: its
//!    traced/plain ratio next to reqwest's, and its hooks' error against the
//!    server's wall-clock marks (a separate process cannot share `Instant`).
//!    Skipped, loudly, when `go` is not on PATH; a failing build or run fails
//!    the bench.
//!
//! `cargo bench -p httptrace --bench timing` runs it in full;
//! `-- --smoke` runs a few iterations (CI does this to keep it working).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use httptrace::reqwest::{ClientBuilderExt, Config, Tls};
use httptrace::{ClientTrace, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Instants the server saw for one connection / request.
///
/// The `*_wall` fields are the same moments on the wall clock, taken right
/// after the `Instant`, for the Go client: another process shares the wall
/// clock (`CLOCK_REALTIME`) but not `Instant`.
#[derive(Default, Clone, Copy, Debug)]
struct ServerMarks {
    /// Accept order of the connection, to match marks to a sequential
    /// client's requests whichever connection task records first.
    conn: usize,
    accepted: Option<Instant>,
    head_read: Option<Instant>,
    head_written: Option<Instant>,
    accepted_wall: Option<SystemTime>,
    head_read_wall: Option<SystemTime>,
    head_written_wall: Option<SystemTime>,
}

type Marks = Arc<Mutex<Vec<ServerMarks>>>;

/// A raw HTTP/1.1 server: one request per connection is enough for the
/// accuracy runs (`Connection: close`), keep-alive for the overhead runs.
async fn raw_server(tls: Option<tokio_rustls::TlsAcceptor>, close: bool) -> (String, Marks) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let marks: Marks = Arc::default();
    let m = marks.clone();
    let conns = AtomicUsize::new(0);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let accepted = (Instant::now(), SystemTime::now());
            let conn = conns.fetch_add(1, Ordering::Relaxed);
            let m = m.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                tcp.set_nodelay(true).ok();
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            serve(stream, conn, accepted, m, close).await
                        }
                    }
                    None => serve(tcp, conn, accepted, m, close).await,
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), marks)
}

async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    conn: usize,
    accepted: (Instant, SystemTime),
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
        let head_read = (Instant::now(), SystemTime::now());
        let header = if close { "connection: close\r\n" } else { "" };
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n{header}\r\n");
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let _ = stream.flush().await;
        let head_written = (Instant::now(), SystemTime::now());
        let _ = stream.write_all(b"hello").await;
        let _ = stream.flush().await;
        marks.lock().unwrap().push(ServerMarks {
            conn,
            accepted: first.then_some(accepted.0),
            head_read: Some(head_read.0),
            head_written: Some(head_written.0),
            accepted_wall: first.then_some(accepted.1),
            head_read_wall: Some(head_read.1),
            head_written_wall: Some(head_written.1),
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

/// Medians (µs per request) of the overhead section, kept for the Go
/// comparison.
struct Overhead {
    plain: f64,
    recording: f64,
}

async fn overhead(url: &str, iterations: usize) -> Overhead {
    let url = url.to_owned();
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
    Overhead {
        plain: base,
        recording: full,
    }
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
        .traced_with(
            Config::new().tls(Tls::platform().root_certificate_der(ca.cert_der().to_vec())),
        )
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
        record(&mut errors, pairs);
    }
    println!(
        "accuracy, {transport:?} transport over {scheme} ({iterations} new connections; hook at minus ground truth, µs)"
    );
    print_errors(errors);
}

/// Adds one request's hook errors to their rows; a hook not reported adds
/// nothing.
fn record<const N: usize>(errors: &mut [(&str, Vec<f64>); N], pairs: [Option<f64>; N]) {
    for (row, error) in errors.iter_mut().zip(pairs) {
        row.1.extend(error);
    }
}

/// One row per hook: median and p90 of its error, the same for every client.
fn print_errors<const N: usize>(errors: [(&str, Vec<f64>); N]) {
    for (name, mut v) in errors {
        if v.is_empty() {
            continue;
        }
        let med = median(&mut v);
        let p = p90(&mut v);
        println!("  {name:38} median {med:9.1}   p90 {p:9.1}");
    }
}

/// The Cargo target directory: the ancestor of this bench executable that
/// holds Cargo's `CACHEDIR.TAG` (right also with `--target <triple>`), else
/// `CARGO_TARGET_DIR` (which may be relative to where cargo ran, hence only
/// second), else the temp dir.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the bench executable");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir)
}

/// Builds the Go reference client into `<target>/go-reference/`. `None`
/// (after a loud notice) when `go` is not on PATH; panics when Go is there
/// but the build fails, so a broken Go side cannot pass unnoticed.
fn build_go_reference() -> Option<PathBuf> {
    let version = match Command::new("go").arg("version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "`go version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bar = "!".repeat(78);
            println!("{bar}");
            println!("!!! SKIPPED: the side-by-side section with Go's net/http/httptrace.");
            println!("!!! `go` is not on PATH. Install Go (`apt-get install golang-go`)");
            println!("!!! and run the bench again to compare with the Go reference client.");
            println!("{bar}");
            return None;
        }
        Err(e) => panic!("running `go version`: {e}"),
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/go-reference");
    let out_dir = target_dir().join("go-reference");
    let bin = out_dir.join("go-reference");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut build = Command::new("go");
    build
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        // Standard library only: never fetch a toolchain or a module, and
        // ignore a go.work or GOFLAGS from around the checkout.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env_remove("GOFLAGS");
    if std::env::var_os("GOCACHE").is_none() && std::env::var_os("HOME").is_none() {
        build.env("GOCACHE", out_dir.join("cache"));
    }
    let out = build
        .output()
        .unwrap_or_else(|e| panic!("running `go build` in {}: {e}", src.display()));
    assert!(
        out.status.success(),
        "`go build` of the Go reference client in {} failed ({}):\n{}",
        src.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    println!("Go reference client: {} ({version})", bin.display());
    Some(bin)
}

/// Runs the Go client to completion on a blocking thread (the server it talks
/// to runs on this runtime's workers) and returns its stdout; panics with its
/// stderr if it fails.
async fn run_go(bin: &Path, args: Vec<String>) -> String {
    let bin = bin.to_path_buf();
    let shown = format!("{} {}", bin.display(), args.join(" "));
    let out = tokio::task::spawn_blocking(move || Command::new(&bin).args(&args).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("running {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the Go client prints JSON")
}

/// Go's overhead mode against the server the Rust overhead section used:
/// Go's own traced/plain ratio next to reqwest's from the same run.
async fn go_overhead(go: &Path, url: &str, iterations: usize, rust: &Overhead) {
    let warmup = iterations.min(50);
    let args = ["-mode", "overhead", "-url", url]
        .map(String::from)
        .into_iter()
        .chain(["-n".into(), iterations.to_string()])
        .chain(["-warmup".into(), warmup.to_string()])
        .collect();
    let out: serde_json::Value = serde_json::from_str(&run_go(go, args).await).unwrap();
    let micros = |key: &str| -> Vec<f64> {
        let v: Vec<f64> = out[key]
            .as_array()
            .unwrap_or_else(|| panic!("Go output lacks {key}"))
            .iter()
            .map(|ns| ns.as_f64().unwrap() / 1e3)
            .collect();
        assert_eq!(v.len(), iterations, "Go {key}");
        v
    };
    let plain = median(&mut micros("plain_ns"));
    let recording = median(&mut micros("traced_ns"));
    println!(
        "side by side with Go net/http/httptrace ({iterations} keep-alive GETs each to the same server, interleaved, median per request)"
    );
    println!("  Go plain                 {plain:9.1} µs   1.00x");
    println!(
        "  Go, recording trace      {recording:9.1} µs   {:.2}x   (reqwest: {:.2}x, above)",
        recording / plain,
        rust.recording / rust.plain
    );
    println!(
        "  reqwest recording / Go recording   {:.2}x   (informative only: the clients, runtimes and processes differ in more than tracing)",
        rust.recording / recording
    );
}

/// Nanoseconds since the Unix epoch, the unit of Go's `time.Now().UnixNano()`.
fn unix_nanos(t: SystemTime) -> i128 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as i128
}

/// Go's accuracy mode: each request on a new connection, strictly one after
/// another, so the i-th connection the server accepted carries the i-th
/// request; hooks are compared on the wall clock.
async fn go_accuracy(go: &Path, iterations: usize, https: bool) {
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
    let mut args: Vec<String> = ["-mode", "accuracy", "-url", &format!("{scheme}://{host}/")]
        .map(String::from)
        .into();
    args.extend(["-n".into(), iterations.to_string()]);
    let cacert = target_dir().join(format!("go-reference/ca-{}.pem", std::process::id()));
    if https {
        std::fs::write(&cacert, ca.cert_pem()).unwrap();
        args.extend(["-cacert".into(), cacert.display().to_string()]);
    }
    let out = run_go(go, args).await;
    if https {
        let _ = std::fs::remove_file(&cacert);
    }
    // The last connection's task may still be recording its marks.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut marks = marks.lock().unwrap().clone();
    marks.sort_by_key(|m| m.conn);
    let requests: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        requests.len(),
        iterations,
        "Go printed one line per request"
    );
    assert_eq!(
        marks.len(),
        requests.len(),
        "server marks vs Go requests (one connection each)"
    );
    for (i, (m, r)) in marks.iter().zip(&requests).enumerate() {
        // Connection i served request i and nothing else (no extra or failed
        // connection shifted the order).
        assert_eq!((m.conn, r["request"].as_u64()), (i, Some(i as u64)));
        assert!(m.accepted_wall.is_some(), "request {i} on a new connection");
    }
    let mut errors: [(&str, Vec<f64>); 3] = [
        ("connect_done - server accept", Vec::new()),
        ("wrote_headers - server read head", Vec::new()),
        ("first_byte - server wrote head", Vec::new()),
    ];
    for (m, r) in marks.iter().zip(&requests) {
        // 0 from Go means the hook was not called.
        let hook = |key: &str| r[key].as_i64().filter(|&ns| ns != 0).map(i128::from);
        let diff = |a: Option<i128>, b: Option<SystemTime>| -> Option<f64> {
            Some((a? - unix_nanos(b?)) as f64 / 1e3)
        };
        let pairs = [
            diff(hook("connect_done"), m.accepted_wall),
            diff(hook("wrote_headers"), m.head_read_wall),
            diff(hook("first_byte"), m.head_written_wall),
        ];
        record(&mut errors, pairs);
    }
    println!(
        "accuracy, Go net/http/httptrace over {scheme} ({iterations} new connections; hook wall clock minus server wall clock, µs)"
    );
    print_errors(errors);
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke" || a == "--test");
    let (n_overhead, n_accuracy) = if smoke { (20, 10) } else { (2000, 300) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Built before anything is timed, so the compiler does not compete.
    let go = build_go_reference();
    rt.block_on(async {
        let (host, _) = raw_server(None, false).await;
        let url = format!("http://{host}/");
        let rust = overhead(&url, n_overhead).await;
        if let Some(go) = &go {
            go_overhead(go, &url, n_overhead, &rust).await;
        }
        for transport in [Transport::Reqwest, Transport::Hyper] {
            accuracy(n_accuracy, false, transport).await;
            accuracy(n_accuracy, true, transport).await;
        }
        if let Some(go) = &go {
            go_accuracy(go, n_accuracy, false).await;
            go_accuracy(go, n_accuracy, true).await;
        }
    });
}
