//! The built `httpstat` binary, run as a real process against real local
//! servers (HTTP/1.1, HTTPS with HTTP/2 by ALPN, DNS with injected delay,
//! misbehaving raw sockets) that live on the test's tokio runtime while the
//! binary runs.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Output;
use std::time::Duration;

use httptrace_testkit::dns::{DnsConfig, DnsServer};
use httptrace_testkit::http::{TestServer, refused_addr};
use httptrace_testkit::tls::TestCa;
use serde_json::Value;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Runs the binary with `args`, without waiting on the servers (they run on
/// this runtime meanwhile). Never hangs a test for more than 60 s.
async fn httpstat(args: &[&str]) -> Output {
    httpstat_with_env(args, &[]).await
}

/// Held (shared) by every run of the binary; the comparison with curl
/// holds it alone, so that no other test's process competes with the two
/// it times.
static CHILDREN: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Runs the binary with `args` and these extra environment variables.
async fn httpstat_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let _running = CHILDREN.read().await;
    spawn_httpstat(args, env).await
}

/// [`httpstat_with_env`] without taking [`CHILDREN`].
async fn spawn_httpstat(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_httpstat"));
    // The machine's proxy settings are not the test's.
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        command.env_remove(var).env_remove(var.to_ascii_lowercase());
    }
    let child = command
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("httpstat did not finish in 60 s")
        .expect("spawn httpstat")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// The JSON lines of a `--json` run.
fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Exactly one line on stderr, returned.
fn one_stderr_line(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(
        err.lines().count(),
        1,
        "expected one stderr line, got {err:?}"
    );
    assert!(err.ends_with('\n'));
    err.trim_end().to_string()
}

fn num(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number: {}", v[field]))
}

fn event<'a>(hop: &'a Value, name: &str) -> &'a Value {
    hop["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {}", hop["events"]))
}

/// Checks the whole schema of one hop object: every field present with the
/// right type, events well-formed and ordered.
fn assert_schema(hop: &Value) {
    let obj = hop.as_object().expect("an object");
    for field in ["url", "method"] {
        assert!(obj[field].is_string(), "{field}: {}", obj[field]);
    }
    assert!(obj["status"].is_u64() || obj["status"].is_null());
    assert!(obj["http_version"].is_string() || obj["http_version"].is_null());
    assert!(obj["remote_addr"].is_string() || obj["remote_addr"].is_null());
    assert!(obj.contains_key("proxy"), "no proxy field");
    assert!(obj["proxy"].is_string() || obj["proxy"].is_null());
    assert!(obj["conn_reused"].is_boolean());
    for field in [
        "idle_ms",
        "dns_ms",
        "tcp_ms",
        "tls_ms",
        "ttfb_ms",
        "transfer_ms",
        "total_ms",
    ] {
        assert!(
            obj.contains_key(field) && (obj[field].is_f64() || obj[field].is_null()),
            "{field}: {:?}",
            obj.get(field)
        );
        if let Some(ms) = obj[field].as_f64() {
            assert!(ms >= 0.0, "{field} = {ms}");
            // Microsecond precision: no more than three decimals.
            assert!(
                ((ms * 1000.0).round() - ms * 1000.0).abs() < 1e-6,
                "{field} = {ms}"
            );
        }
    }
    assert!(obj["body_bytes"].is_u64() || obj["body_bytes"].is_null());
    assert!(obj["resend_count"].is_u64());
    match &obj["error"] {
        Value::Null => {}
        Value::Object(e) => {
            for f in ["phase", "kind", "message"] {
                assert!(e[f].is_string(), "error.{f}");
            }
        }
        other => panic!("error is {other}"),
    }
    let events = obj["events"].as_array().expect("events is an array");
    assert!(!events.is_empty());
    assert_eq!(events[0]["name"], "round_trip_start");
    assert_eq!(events[0]["offset_ms"], 0.0);
    let mut last = f64::MIN;
    for e in events {
        assert!(e["name"].is_string(), "{e}");
        let offset = e["offset_ms"].as_f64().expect("offset_ms is a number");
        assert!(offset >= last, "offsets go backwards: {events:?}");
        last = offset;
    }
}

/// Which client the binary is told to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Reqwest,
    Hyper,
}

/// Runs the binary with `args` on `transport`: reqwest is the default, hyper
/// adds `--transport hyper`.
async fn run(transport: Transport, args: &[&str]) -> Output {
    run_with_env(transport, args, &[]).await
}

/// [`run`] with extra environment variables.
async fn run_with_env(transport: Transport, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = Vec::new();
    if transport == Transport::Hyper {
        all.extend(["--transport", "hyper"]);
    }
    all.extend_from_slice(args);
    httpstat_with_env(&all, env).await
}

/// Runs the binary with `--transport hyper` and `args`.
async fn hyper(args: &[&str]) -> Output {
    run(Transport::Hyper, args).await
}

/// Every event named `name`, in order.
fn events_named<'a>(hop: &'a Value, name: &str) -> Vec<&'a Value> {
    hop["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == name)
        .collect()
}

/// The offsets of every event named `name`, in order.
fn offsets(hop: &Value, name: &str) -> Vec<f64> {
    events_named(hop, name)
        .iter()
        .map(|e| e["offset_ms"].as_f64().unwrap())
        .collect()
}

/// The offset of the one event named `name`.
fn at(hop: &Value, name: &str) -> f64 {
    event(hop, name)["offset_ms"].as_f64().unwrap()
}

/// The header names of every `wrote_header_field` event, in order.
fn header_fields(hop: &Value) -> Vec<String> {
    events_named(hop, "wrote_header_field")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

/// The order every new-connection HTTP round trip's events must follow.
fn assert_round_trip_order(hop: &Value) {
    let chain = [
        "round_trip_start",
        "get_conn",
        "wrote_headers",
        "wrote_request",
        "got_first_response_byte",
        "round_trip_done",
        "body_done",
    ];
    for pair in chain.windows(2) {
        assert!(
            at(hop, pair[0]) <= at(hop, pair[1]),
            "{} after {}: {}",
            pair[0],
            pair[1],
            hop["events"]
        );
    }
}

/// For each `body: on_reqwest, on_hyper;` line, one `#[tokio::test]` per
/// transport around the test body that takes the transport.
macro_rules! on_each_transport {
    ($($body:ident: $on_reqwest:ident, $on_hyper:ident;)*) => {$(
        #[tokio::test]
        async fn $on_reqwest() {
            $body(Transport::Reqwest).await
        }

        #[tokio::test]
        async fn $on_hyper() {
            $body(Transport::Hyper).await
        }
    )*};
}

on_each_transport! {
    check_json_get_over_http:
        json_get_over_http_prints_one_complete_line_on_reqwest,
        json_get_over_http_prints_one_complete_line_on_hyper;
    check_follow_redirects:
        follow_redirects_prints_one_line_per_hop_on_reqwest,
        follow_redirects_prints_one_line_per_hop_on_hyper;
    check_repeated_requests:
        repeated_requests_reuse_one_connection_on_reqwest,
        repeated_requests_reuse_one_connection_on_hyper;
    check_https_with_cacert:
        https_with_cacert_negotiates_http2_and_times_tls_on_reqwest,
        https_with_cacert_negotiates_http2_and_times_tls_on_hyper;
    check_refused_connection:
        refused_connection_fails_in_connect_on_reqwest,
        refused_connection_fails_in_connect_on_hyper;
    check_untrusted_certificate:
        untrusted_certificate_fails_in_tls_unless_insecure_on_reqwest,
        untrusted_certificate_fails_in_tls_unless_insecure_on_hyper;
    check_body_reset_and_timeout:
        body_reset_fails_in_body_and_timeout_in_response_on_reqwest,
        body_reset_fails_in_body_and_timeout_in_response_on_hyper;
    check_credentials_redacted:
        credentials_in_the_url_are_redacted_everywhere_on_reqwest,
        credentials_in_the_url_are_redacted_everywhere_on_hyper;
    check_data_and_headers:
        data_and_headers_are_sent_on_reqwest,
        data_and_headers_are_sent_on_hyper;
    check_redirect_loop:
        redirect_loop_fails_in_redirect_on_reqwest,
        redirect_loop_fails_in_redirect_on_hyper;
    check_https_proxy_from_env:
        https_proxy_from_the_environment_tunnels_on_reqwest,
        https_proxy_from_the_environment_tunnels_on_hyper;
    check_explicit_proxy:
        explicit_proxy_forwards_plain_http_on_reqwest,
        explicit_proxy_forwards_plain_http_on_hyper;
    check_https_proxy:
        https_proxy_carries_https_on_reqwest,
        https_proxy_carries_https_on_hyper;
    check_location_credentials_never_sent:
        credentials_in_a_location_are_never_sent_on_reqwest,
        credentials_in_a_location_are_never_sent_on_hyper;
    check_unfollowable_redirect:
        unfollowable_redirect_fails_with_exit_3_on_reqwest,
        unfollowable_redirect_fails_with_exit_3_on_hyper;
    check_no_reuse_after_connection_close:
        no_reuse_after_connection_close_is_explained_on_reqwest,
        no_reuse_after_connection_close_is_explained_on_hyper;
    check_no_reuse_after_http_1_0:
        no_reuse_after_http_1_0_is_explained_on_reqwest,
        no_reuse_after_http_1_0_is_explained_on_hyper;
    check_no_reuse_when_closed_between_runs:
        no_reuse_when_closed_between_runs_is_explained_on_reqwest,
        no_reuse_when_closed_between_runs_is_explained_on_hyper;
}

/// The summary's connection counts: (round trips, reused, reasons).
fn reuse_of(summary: &Value) -> (u64, u64, Value) {
    let s = &summary["summary"];
    (
        s["round_trips"].as_u64().unwrap(),
        s["reused"].as_u64().unwrap(),
        s["not_reused"].clone(),
    )
}

/// `-n 3` against `url`: the JSON summary's connection counts, and the
/// human summary's last two lines.
async fn three_runs(transport: Transport, url: &str) -> ((u64, u64, Value), String) {
    let out = run(transport, &["--json", "-n", "3", url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json_lines(&out).pop().unwrap();
    let out = run(transport, &["-n", "3", url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    (reuse_of(&summary), lines[lines.len() - 2..].join("\n"))
}

/// A raw HTTP server on a port it keeps: every connection answers one
/// request with `head` + `ok` and then closes, saying so or not.
async fn raw_once(head: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((LOCAL, 0)).await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(b"ok").await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, task)
}

async fn check_no_reuse_after_connection_close(transport: Transport) {
    let server = TestServer::http();
    let ((round_trips, reused, why), human) = three_runs(transport, &server.url("/close")).await;
    assert_eq!((round_trips, reused), (3, 0));
    assert_eq!(why, serde_json::json!({"server_connection_close": 2}));
    assert_eq!(
        human,
        "  connection reuse: 0 of 3 round trips reused a connection\n  \
         none reused: the server sent Connection: close"
    );
    assert_eq!(server.connections_accepted(), 6);
}

async fn check_no_reuse_after_http_1_0(transport: Transport) {
    let (url, task) = raw_once("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n").await;
    let ((round_trips, reused, why), human) = three_runs(transport, &url).await;
    task.abort();
    assert_eq!((round_trips, reused), (3, 0));
    assert_eq!(why, serde_json::json!({"http_1_0": 2}));
    assert!(
        human.ends_with("none reused: the server answered HTTP/1.0 without keep-alive"),
        "{human}"
    );
}

async fn check_no_reuse_when_closed_between_runs(transport: Transport) {
    // HTTP/1.1, keep-alive by default, no word of closing: and then closed.
    let (url, task) = raw_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n").await;
    let ((round_trips, reused, why), human) = three_runs(transport, &url).await;
    task.abort();
    assert_eq!((round_trips, reused), (3, 0));
    assert_eq!(why, serde_json::json!({"closed_between_runs": 2}));
    assert!(
        human.ends_with("none reused: nothing asked to close it: the connection was closed between runs (by the server or something in between, e.g. an idle timeout)"),
        "{human}"
    );
}

// The assertions under `if transport == Transport::Hyper` rely on hooks the
// hyper transport takes from the socket itself; the reqwest transport cannot
// see its sockets, so there connect_start carries no address and
// tls_handshake_start, wrote_headers and got_first_response_byte are
// approximations (README, "Hooks, exact or approximate"), and the exact event
// order and phase sums are not promised.

async fn check_json_get_over_http(transport: Transport) {
    let server = TestServer::http();
    let out = run(transport, &["--json", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let hop = &json_lines(&out)[0];
    assert_schema(hop);

    assert_eq!(hop["url"], server.url("/"));
    assert_eq!(hop["method"], "GET");
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["http_version"], "HTTP/1.1");
    assert_eq!(hop["remote_addr"], server.addr().to_string());
    assert!(hop["proxy"].is_null(), "{hop}");
    assert!(hop["local_addr"].is_string());
    assert_eq!(hop["conn_reused"], false);
    assert_eq!(hop["idle_ms"], Value::Null);
    assert_eq!(hop["dns_ms"], Value::Null, "no DNS for an IP literal");
    assert_eq!(hop["tls_ms"], Value::Null, "no TLS for http");
    assert_eq!(hop["body_bytes"], 5, "body 'hello' read and counted");
    assert_eq!(hop["resend_count"], 0);
    assert_eq!(hop["request_index"], 0);
    assert_eq!(hop["error"], Value::Null);
    let (tcp, ttfb, transfer, total) = (
        num(hop, "tcp_ms"),
        num(hop, "ttfb_ms"),
        num(hop, "transfer_ms"),
        num(hop, "total_ms"),
    );
    // The phases are disjoint slices of the round trip.
    assert!(tcp + ttfb + transfer <= total + 0.01, "{hop}");
    assert_eq!(event(hop, "body_done")["offset_ms"], hop["total_ms"]);
    let addr = server.addr().to_string();
    assert_eq!(event(hop, "connect_done")["addr"], addr);
    assert!(event(hop, "connect_done").get("error").is_none());
    assert_eq!(event(hop, "got_conn")["reused"], false);
    assert_eq!(event(hop, "body_done")["outcome"], "completed");

    if transport == Transport::Hyper {
        // reqwest adds the user-agent (a client default) below the trace,
        // so its wrote_header_field events do not list it.
        let fields = header_fields(hop);
        assert!(fields.contains(&"user-agent".to_string()), "{fields:?}");
        // Socket-level hooks: the exact dial names its address at
        // connect_start, and every hook lands in order.
        assert_round_trip_order(hop);
        assert_eq!(event(hop, "connect_start")["addr"], addr);
        assert!(at(hop, "get_conn") <= at(hop, "connect_start"));
        assert!(at(hop, "connect_start") <= at(hop, "connect_done"));
        assert!(at(hop, "connect_done") <= at(hop, "wrote_headers"));
    }
}

async fn check_follow_redirects(transport: Transport) {
    let server = TestServer::http();
    let out = run(transport, &["--json", "-L", &server.url("/redirect/2")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hops = json_lines(&out);
    assert_eq!(hops.len(), 3, "{}", stdout(&out));
    for (i, hop) in hops.iter().enumerate() {
        assert_schema(hop);
        assert_eq!(hop["request_index"], 0);
        assert_eq!(event(hop, "round_trip_start")["resend_count"], i as u64);
        if transport == Transport::Hyper {
            // Socket-level hooks land in order (see above).
            assert_round_trip_order(hop);
        }
    }
    let resend: Vec<_> = hops.iter().map(|h| h["resend_count"].as_u64()).collect();
    assert_eq!(resend, [Some(0), Some(1), Some(2)]);
    let status: Vec<_> = hops.iter().map(|h| h["status"].as_u64()).collect();
    assert_eq!(status, [Some(302), Some(302), Some(200)]);
    let urls: Vec<_> = hops.iter().map(|h| h["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        [
            server.url("/redirect/2"),
            server.url("/redirect/1"),
            server.url("/redirect/0")
        ]
    );
    for hop in &hops[..2] {
        assert!(
            num(hop, "body_bytes") > 0.0,
            "the redirect's body was drained"
        );
        assert_eq!(event(hop, "body_done")["outcome"], "completed");
    }
    assert_eq!(hops[0]["conn_reused"], false);
    for hop in &hops[1..] {
        assert_eq!(
            hop["conn_reused"], true,
            "the hop reused the drained connection"
        );
        assert_eq!(hop["tcp_ms"], Value::Null);
        let fields = header_fields(hop);
        assert!(fields.contains(&"referer".to_string()), "{fields:?}");
    }
    assert_eq!(server.connections_accepted(), 1);

    // Without -L the redirect is the answer.
    let out = run(transport, &["--json", &server.url("/redirect/2")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hops = json_lines(&out);
    assert_eq!(hops.len(), 1);
    assert_eq!(hops[0]["status"], 302);

    // Human output: each hop with its own status line and headers.
    let out = run(transport, &["-L", &server.url("/redirect/1")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("HTTP/1.1 302 Found\n"), "{text}");
    assert!(text.contains("location: /redirect/0\n"), "{text}");
    assert!(text.contains("(redirect 1) GET "), "{text}");
}

async fn check_repeated_requests(transport: Transport) {
    let server = TestServer::http();
    let out = run(transport, &["--json", "-n", "3", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut hops = json_lines(&out);
    assert_eq!(hops.len(), 4, "{}", stdout(&out));
    let summary = hops.pop().unwrap();
    assert_eq!(summary["summary"]["requests"], 3, "{summary}");
    for (i, hop) in hops.iter().enumerate() {
        assert_schema(hop);
        assert_eq!(hop["request_index"], i as u64);
        assert_eq!(hop["resend_count"], 0);
        assert_eq!(hop["status"], 200);
        if transport == Transport::Hyper {
            // Socket-level hooks land in order (see above).
            assert_round_trip_order(hop);
        }
    }
    assert_eq!(hops[0]["conn_reused"], false);
    assert!(hops[0]["tcp_ms"].is_f64());
    for hop in &hops[1..] {
        assert_eq!(hop["conn_reused"], true, "{hop}");
        assert_eq!(hop["tcp_ms"], Value::Null, "no dial on a reused connection");
        assert_eq!(hop["dns_ms"], Value::Null);
        assert!(offsets(hop, "connect_start").is_empty(), "{hop}");
        assert!(
            hop["idle_ms"].is_f64(),
            "idle time of a pooled connection: {hop}"
        );
        assert_eq!(event(hop, "got_conn")["reused"], true);
        assert_eq!(event(hop, "got_conn")["was_idle"], true);
        assert_eq!(hop["local_addr"], hops[0]["local_addr"]);
    }
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(reuse_of(&summary), (3, 2, serde_json::json!({})));

    // The waterfall says so too.
    let out = run(transport, &["-n", "2", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "HTTP/1.1 200 OK",
        "new connection",
        "reused connection (idle ",
        "starttransfer:",
        "body: 5 bytes read",
        "connection reuse: 1 of 2 round trips reused a connection",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert!(!text.contains("none reused"), "{text}");
}

async fn check_https_proxy_from_env(transport: Transport) {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = httptrace_testkit::proxy::ForwardProxy::with_basic_auth("agent", "pr0xy-secret");
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), ca.cert_pem()).unwrap();
    let proxy_url = format!("http://agent:pr0xy-secret@{}", proxy.addr());
    // The origin's name resolves nowhere: only the proxy may look it up.
    let url = origin.url_with_host("origin.test", "/");
    let args = ["--json", "--cacert", pem.path().to_str().unwrap(), &url];
    let env = [("HTTPS_PROXY", proxy_url.as_str()), ("NO_PROXY", "")];
    let out = run_with_env(transport, &args, &env).await;
    let hop = assert_tunneled(&out, &proxy, &origin);
    assert!(events_named(&hop, "dns_start").is_empty(), "{hop}");
    assert_eq!(
        event(&hop, "tls_handshake_start")["server_name"],
        "origin.test"
    );
}

/// Checks a run whose one hop went to `origin.test` through `proxy`'s
/// `CONNECT` tunnel: proxy and peer named, credentials (`pr0xy-secret`)
/// never printed. Returns the hop.
fn assert_tunneled(
    out: &Output,
    proxy: &httptrace_testkit::proxy::ForwardProxy,
    origin: &TestServer,
) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let hop = json_lines(out).remove(0);
    assert_schema(&hop);
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["remote_addr"], proxy.addr().to_string());
    assert_eq!(hop["proxy"], proxy.addr().to_string());
    assert_eq!(
        proxy.connect_targets(),
        [format!("origin.test:{}", origin.port())]
    );
    let printed = format!("{}{}", stdout(out), stderr(out));
    assert!(!printed.contains("pr0xy-secret"), "{printed}");
    hop
}

async fn check_https_proxy(transport: Transport) {
    let ca = TestCa::new();
    let origin = TestServer::https(&ca.server_identity(&["origin.test"]), &[b"h2", b"http/1.1"]);
    let proxy = httptrace_testkit::proxy::ForwardProxy::https(
        &ca.server_identity(&["127.0.0.1"]),
        Some(("agent", "pr0xy-secret")),
    );
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), ca.cert_pem()).unwrap();
    let proxy_url = format!("https://agent:pr0xy-secret@{}", proxy.addr());
    let url = origin.url_with_host("origin.test", "/");
    let pem_path = pem.path().to_str().unwrap();
    let args = ["--json", "--cacert", pem_path, "-x", &proxy_url, &url];
    let out = run(transport, &args).await;
    let hop = &assert_tunneled(&out, &proxy, &origin);

    // The last (or only) handshake reported is the origin's: on reqwest one
    // pair spans both and describes the origin (see httptrace::reqwest).
    let server_names: Vec<&Value> = events_named(hop, "tls_handshake_start")
        .into_iter()
        .map(|e| &e["server_name"])
        .collect();
    assert_eq!(
        server_names.last().copied(),
        Some(&Value::from("origin.test")),
        "{hop}"
    );
    let done = events_named(hop, "tls_handshake_done");
    assert_eq!(done.last().unwrap()["alpn"], "h2", "{hop}");

    if transport == Transport::Hyper {
        // The proxy's handshake, then the origin's; tls_ms spans both.
        assert_eq!(server_names, ["127.0.0.1", "origin.test"]);
        let starts = offsets(hop, "tls_handshake_start");
        let dones = offsets(hop, "tls_handshake_done");
        let span = dones[1] - starts[0];
        assert!((num(hop, "tls_ms") - span).abs() < 0.002, "{hop}");
    }
}

async fn check_explicit_proxy(transport: Transport) {
    let origin = TestServer::http();
    let proxy = httptrace_testkit::proxy::ForwardProxy::with_basic_auth("agent", "pr0xy-secret");
    let proxy_url = format!("http://agent:pr0xy-secret@{}", proxy.addr());
    let url = origin.url_with_host("origin.test", "/echo");
    // -x wins over the environment's proxy (which points nowhere).
    let env = [("HTTP_PROXY", "http://127.0.0.1:9"), ("NO_PROXY", "")];
    let out = run_with_env(transport, &["--json", "-x", &proxy_url, &url], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["remote_addr"], proxy.addr().to_string());
    assert_eq!(hop["proxy"], proxy.addr().to_string());
    assert!(
        proxy.heads()[0].starts_with(&format!("GET {url} HTTP/1.1\r\n")),
        "{:?}",
        proxy.heads()
    );
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!printed.contains("pr0xy-secret"), "{printed}");

    // People see which proxy the hop went through.
    let out = run_with_env(transport, &["--no-color", "-x", &proxy_url, &url], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(
        first.ends_with(&format!("new connection via proxy {}", proxy.addr())),
        "{first}"
    );

    // NO_PROXY exempts a host from -x too, as in curl.
    let direct = [("NO_PROXY", "origin.test,127.0.0.1")];
    let proxied_before = proxy.heads().len();
    let url = origin.url("/echo");
    let out = run_with_env(transport, &["--json", "-x", &proxy_url, &url], &direct).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert!(hop["proxy"].is_null(), "{hop}");
    assert_eq!(hop["remote_addr"], origin.addr().to_string());
    assert_eq!(
        proxy.heads().len(),
        proxied_before,
        "nothing went to the proxy"
    );

    // A SOCKS proxy is a usage error that does not echo the value.
    let out = run(
        transport,
        &["-x", "socks5://agent:pr0xy-secret@127.0.0.1:1080", &url],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("only http:// and https:// proxies"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("pr0xy-secret"), "{}", stderr(&out));
}

async fn check_https_with_cacert(transport: Transport) {
    let dns = DnsServer::start(DnsConfig::new().record("svc.test", [LOCAL])).unwrap();
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["svc.test"]), &[b"h2", b"http/1.1"]);
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), ca.cert_pem()).unwrap();
    let dns_addr = dns.addr().to_string();
    let url = server.url_with_host("svc.test", "/");
    let pem_path = pem.path().to_str().unwrap();
    let args = [
        "--json",
        "--dns-server",
        &dns_addr,
        "--cacert",
        pem_path,
        &url,
    ];
    let out = run(transport, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    assert_eq!(hop["url"], url);
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["http_version"], "HTTP/2");
    assert_eq!(hop["remote_addr"], server.addr().to_string());
    for field in ["dns_ms", "tcp_ms", "tls_ms", "ttfb_ms", "transfer_ms"] {
        assert!(hop[field].is_f64(), "{field}: {hop}");
    }
    assert!(num(hop, "tls_ms") > 0.0, "{hop}");
    assert_eq!(
        event(hop, "dns_done")["addrs"],
        serde_json::json!(["127.0.0.1"])
    );
    let tls = event(hop, "tls_handshake_done");
    assert_eq!(tls["alpn"], "h2");
    assert_eq!(tls["version"], "TLSv1.3");
    assert_eq!(tls["resumed"], false);
    assert_eq!(event(hop, "tls_handshake_start")["server_name"], "svc.test");

    if transport == Transport::Hyper {
        // Socket-level hooks (see above): every phase starts after the one
        // before ends, and connect_start names the address dialled.
        let (dns_ms, tcp, tls, ttfb, transfer, total) = (
            num(hop, "dns_ms"),
            num(hop, "tcp_ms"),
            num(hop, "tls_ms"),
            num(hop, "ttfb_ms"),
            num(hop, "transfer_ms"),
            num(hop, "total_ms"),
        );
        assert!(
            dns_ms + tcp + tls + ttfb + transfer <= total + 0.01,
            "{hop}"
        );
        let mut chain = httptrace_testkit::hooks::HTTPS_DIAL.to_vec();
        chain.extend(["got_first_response_byte", "round_trip_done", "body_done"]);
        for pair in chain.windows(2) {
            assert!(at(hop, pair[0]) <= at(hop, pair[1]), "{pair:?}: {hop}");
        }
        assert_eq!(
            event(hop, "connect_start")["addr"],
            server.addr().to_string()
        );
    }
}

async fn check_refused_connection(transport: Transport) {
    let refused = refused_addr();
    let url = format!("http://{refused}/");
    let out = run(transport, &[&url]).await;
    assert_eq!(out.status.code(), Some(1));
    let line = one_stderr_line(&out);
    assert!(
        line.starts_with("httpstat: connect failed: connection_refused: "),
        "{line}"
    );

    // --json: the failed hop's line on stdout, then the error on stderr.
    let out = run(transport, &["--json", &url]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(one_stderr_line(&out).starts_with("httpstat: connect failed"));
    let hops = json_lines(&out);
    assert_eq!(hops.len(), 1);
    let hop = &hops[0];
    assert_schema(hop);
    assert_eq!(hop["status"], Value::Null);
    assert_eq!(hop["body_bytes"], Value::Null);
    assert_eq!(hop["error"]["phase"], "connect");
    assert_eq!(hop["error"]["kind"], "connection_refused");
    assert!(hop["tcp_ms"].is_f64());
    assert_eq!(hop["remote_addr"], Value::Null, "nothing was connected to");
    let done = event(hop, "connect_done");
    assert!(done["error"].is_object(), "{done}");
    let total = num(hop, "total_ms");
    assert_eq!(event(hop, "round_trip_done")["offset_ms"], total);
    assert!(at(hop, "connect_done") <= total);
    if transport == Transport::Hyper {
        // The hyper transport dials each address itself, so a failed dial
        // names it; reqwest's failed connect_done has no address.
        assert_eq!(
            done["addr"],
            url.trim_start_matches("http://").trim_end_matches('/')
        );
    }
}

async fn check_untrusted_certificate(transport: Transport) {
    let dns = DnsServer::start(DnsConfig::new().record("svc.test", [LOCAL])).unwrap();
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["svc.test"]), &[b"http/1.1"]);
    let dns_addr = dns.addr().to_string();
    let url = server.url_with_host("svc.test", "/");

    for json in [false, true] {
        let mut args = vec!["--dns-server", dns_addr.as_str(), url.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let out = run(transport, &args).await;
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let line = one_stderr_line(&out);
        assert!(
            line.starts_with("httpstat: tls failed: certificate: "),
            "{line}"
        );
        if json {
            let hop = &json_lines(&out)[0];
            assert_eq!(hop["error"]["phase"], "tls");
            assert!(hop["tls_ms"].is_f64());
        }
    }

    let out = run(
        transport,
        &["--json", "-k", "--dns-server", &dns_addr, &url],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["http_version"], "HTTP/1.1");
    assert!(hop["tls_ms"].is_f64());
}

async fn check_body_reset_and_timeout(transport: Transport) {
    let server = TestServer::raw_reset_mid_body();
    let out = run(
        transport,
        &["--json", &format!("http://{}/", server.addr())],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let line = one_stderr_line(&out);
    assert!(line.starts_with("httpstat: body failed: "), "{line}");
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["error"]["phase"], "body");
    assert!(num(hop, "body_bytes") >= 1000.0);

    let stall = TestServer::stall();
    let url = format!("http://{}/", stall.addr());
    for json in [false, true] {
        let mut args = vec!["-m", "0.3", url.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let out = run(transport, &args).await;
        assert_eq!(out.status.code(), Some(1));
        let line = one_stderr_line(&out);
        assert!(
            line.starts_with("httpstat: response failed: timeout: "),
            "{line}"
        );
        if json {
            let hop = &json_lines(&out)[0];
            assert_schema(hop);
            assert_eq!(hop["error"]["kind"], "timeout");
            assert!(num(hop, "total_ms") >= 300.0, "{hop}");
        }
    }
}

async fn check_credentials_redacted(transport: Transport) {
    let server = TestServer::http();
    let url = format!("http://alice:s3cret-pw@{}/", server.addr());
    let out = run(transport, &["--json", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    let redacted = format!("http://REDACTED:REDACTED@{}/", server.addr());
    assert_eq!(hop["url"], redacted);
    // What was sent: the userinfo moved into an Authorization header.
    assert_eq!(event(hop, "round_trip_start")["url"], server.url("/"));
    if transport == Transport::Hyper {
        // On reqwest only authorization is listed: the client's user-agent
        // is added below the trace (see above).
        assert!(offsets(hop, "wrote_header_field").len() >= 2);
    }
    assert!(!stdout(&out).contains("s3cret"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("alice"), "{}", stdout(&out));

    let refused_port = refused_addr();
    let refused = format!("http://alice:s3cret-pw@{refused_port}/");
    for json in [true, false] {
        let mut args = vec![refused.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let out = run(transport, &args).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(!stdout(&out).contains("s3cret"), "{}", stdout(&out));
        assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
        assert!(!stdout(&out).contains("alice"), "{}", stdout(&out));
    }
}

async fn check_data_and_headers(transport: Transport) {
    let server = TestServer::http();
    let url = server.url("/echo");
    // -d alone makes it a POST, as curl; -X overrides the method.
    for method in [None, Some("PUT")] {
        let mut args = vec!["--json", "-d", "a=1", "-H", "X-Test: yes", url.as_str()];
        if let Some(method) = method {
            args.splice(1..1, ["-X", method]);
        }
        let out = run(transport, &args).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let hop = &json_lines(&out)[0];
        assert_eq!(hop["method"], method.unwrap_or("POST"), "{args:?}");
        assert_eq!(event(hop, "wrote_request")["body_bytes"], 3);
        let fields = header_fields(hop);
        for name in ["x-test", "content-type"] {
            assert!(fields.contains(&name.to_string()), "{fields:?}");
        }
        if transport == Transport::Hyper {
            // reqwest adds its user-agent below the trace (see above).
            assert!(fields.contains(&"user-agent".to_string()), "{fields:?}");
        }
        assert!(num(hop, "body_bytes") > 0.0);
    }

    let args = ["--json", "-X", "PUT", "-d", "@/nonexistent/body", &url];
    let out = run(transport, &args).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(one_stderr_line(&out).starts_with("httpstat: -d @/nonexistent/body: "));
}

/// A server's `Location: http://user:pass@host/` never becomes an
/// `Authorization` header on the next hop (the caller's own credentials do,
/// on the same origin).
async fn check_location_credentials_never_sent(transport: Transport) {
    use std::sync::{Arc, Mutex, OnceLock};
    let port = Arc::new(OnceLock::<u16>::new());
    // (path, Authorization) per request the server saw.
    type Seen = Vec<(String, Option<String>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (port_in, seen_in) = (port.clone(), seen.clone());
    let server = TestServer::http_with_handler(move |request| {
        let auth = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let path = request.uri().path().to_string();
        seen_in.lock().unwrap().push((path.clone(), auth));
        let port = *port_in.get().unwrap();
        async move {
            let builder = http::Response::builder();
            let response = match path.as_str() {
                "/first" => builder.status(302).header(
                    "location",
                    format!("http://mallory:stolen@127.0.0.1:{port}/second"),
                ),
                "/second" => builder.status(302).header("location", "/third"),
                _ => builder.status(200),
            };
            response
                .body(httptrace_testkit::http::full_body("x"))
                .unwrap()
        }
    });
    port.set(server.port()).unwrap();
    let url = server.url("/first");
    let out = run(transport, &["--json", "-L", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 3);
    let first_run = seen.lock().unwrap().clone();
    assert_eq!(
        first_run,
        [
            ("/first".to_string(), None),
            ("/second".to_string(), None),
            ("/third".to_string(), None)
        ],
        "no Authorization from the Location's userinfo"
    );
    assert!(!stdout(&out).contains("stolen"), "{}", stdout(&out));

    // The caller's own URL credentials stay on their origin's hops, and
    // the Location's never replace them.
    seen.lock().unwrap().clear();
    let with_user = url.replacen("http://", "http://alice:pw@", 1);
    let out = run(transport, &["--json", "-L", &with_user]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let alice = Some("Basic YWxpY2U6cHc=".to_string());
    let auths: Vec<Option<String>> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, a)| a.clone())
        .collect();
    assert_eq!(auths, [alice.clone(), alice.clone(), alice]);
}

/// With `-L`, a redirect whose `Location` is missing, unparsable, not
/// http(s) or not a valid request target is a failure (exit 3, as curl's
/// `CURLE_URL_MALFORMAT`): the 3xx hop is still printed, one line names the
/// hop and the reason. Without `-L` it is the answer; 300 and 304 are not
/// redirects to follow.
async fn check_unfollowable_redirect(transport: Transport) {
    let long = format!("/{}", "a".repeat(100_000));
    let server = TestServer::http_with_handler(move |request| {
        let path = request.uri().path().to_string();
        let long = long.clone();
        async move {
            let builder = http::Response::builder();
            let response = match path.as_str() {
                "/missing" => builder.status(302),
                "/unparsable" => builder.status(301).header("location", "http://[::1"),
                "/ftp" => builder
                    .status(307)
                    .header("location", "ftp://user:hunter22@files.test/f"),
                "/long" => builder.status(302).header("location", long),
                "/via" => builder.status(302).header("location", "/missing"),
                "/300" => builder.status(300).header("location", "/done"),
                "/304" => builder.status(304).header("location", "/done"),
                _ => builder.status(200),
            };
            response
                .body(httptrace_testkit::http::full_body("moved"))
                .unwrap()
        }
    });
    let cases = [
        (
            "/missing",
            1,
            "302 Found",
            "the response has no Location header",
        ),
        (
            "/unparsable",
            1,
            "301 Moved Permanently",
            "its Location cannot be parsed as a URL: ",
        ),
        (
            "/ftp",
            1,
            "307 Temporary Redirect",
            "its Location ftp://files.test/f is a ftp: URL, not http or https",
        ),
        (
            "/long",
            1,
            "302 Found",
            "(100001 bytes) is not a valid request target",
        ),
        (
            "/via",
            2,
            "302 Found",
            "the response has no Location header",
        ),
    ];
    for (path, hops_expected, status, why) in cases {
        let out = run(transport, &["--json", "-L", &server.url(path)]).await;
        assert_eq!(out.status.code(), Some(3), "{path}: {}", stderr(&out));
        let line = one_stderr_line(&out);
        let failed = if hops_expected == 1 {
            server.url(path)
        } else {
            server.url("/missing")
        };
        let expected = format!(
            "httpstat: redirect failed: redirect: cannot follow the {status} of hop {hops_expected} (GET {failed}): "
        );
        assert!(line.starts_with(&expected), "{path}: {line}");
        assert!(line.contains(why), "{path}: {line}");
        assert!(!line.contains("hunter22"), "{line}");
        assert!(line.len() < 400, "{path}: {line}");
        let hops = json_lines(&out);
        assert_eq!(hops.len(), hops_expected, "{path}: {}", stdout(&out));
        let last = hops.last().unwrap();
        assert_schema(last);
        assert_eq!(last["status"], status[..3].parse::<u64>().unwrap());
        assert_eq!(last["url"], failed);
        assert_eq!(last["error"]["phase"], "redirect");
        assert_eq!(last["error"]["kind"], "redirect");
        assert!(line.ends_with(last["error"]["message"].as_str().unwrap()));
        assert!(!stdout(&out).contains("hunter22"));

        // Without -L the redirect is the answer.
        let out = run(transport, &["--json", &server.url(path)]).await;
        assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
        assert_eq!(json_lines(&out)[0]["error"], Value::Null);
    }

    // The human output still shows the 3xx hop, then the line.
    let out = run(transport, &["-L", &server.url("/ftp")]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("HTTP/1.1 307 Temporary Redirect\n"),
        "{}",
        stdout(&out)
    );
    assert!(one_stderr_line(&out).contains("not http or https"));

    // 300 and 304 are not redirects to follow: a success, with -L too.
    for path in ["/300", "/304"] {
        let out = run(transport, &["--json", "-L", &server.url(path)]).await;
        assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
        assert_eq!(json_lines(&out).len(), 1);
    }
}

async fn check_redirect_loop(transport: Transport) {
    let server = TestServer::http();
    let out = run(transport, &["--json", "-L", &server.url("/redirect-loop")]).await;
    assert_eq!(out.status.code(), Some(1));
    let line = one_stderr_line(&out);
    assert!(
        line.starts_with("httpstat: redirect failed: redirect: "),
        "{line}"
    );
    let hops = json_lines(&out);
    assert_eq!(hops.len(), 11, "the first request and 10 redirects");
    assert_eq!(hops[10]["resend_count"], 10);
    assert_eq!(hops[10]["error"]["phase"], "redirect");
    assert!(hops[..10].iter().all(|h| h["error"].is_null()));
}

// --- the default (reqwest) transport only ---

#[tokio::test]
async fn dns_server_delay_shows_in_dns_ms() {
    let delay = Duration::from_millis(50);
    let dns = DnsServer::start(DnsConfig::new().record("svc.test", [LOCAL]).delay(delay)).unwrap();
    let server = TestServer::http();
    let dns_addr = dns.addr().to_string();
    let url = server.url_with_host("svc.test", "/");
    let out = httpstat(&["--json", "--dns-server", &dns_addr, &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    let dns_ms = num(hop, "dns_ms");
    assert!(dns_ms >= 50.0, "dns_ms = {dns_ms}, the server delays 50 ms");
    assert!(num(hop, "total_ms") >= dns_ms);
    let done = event(hop, "dns_done");
    assert_eq!(done["host"], "svc.test");
    assert_eq!(done["addrs"], serde_json::json!(["127.0.0.1"]));
    assert!(dns.queries_for("svc.test") >= 1);
}

#[tokio::test]
async fn unknown_name_fails_in_dns() {
    let dns = DnsServer::start(DnsConfig::new()).unwrap();
    let dns_addr = dns.addr().to_string();
    let out = httpstat(&[
        "--json",
        "--dns-server",
        &dns_addr,
        "http://no-such-host.test:1/",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let line = one_stderr_line(&out);
    assert!(
        line.starts_with("httpstat: dns failed: host_not_found: "),
        "{line}"
    );
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["error"]["phase"], "dns");
    assert!(hop["dns_ms"].is_f64());
    assert_eq!(hop["tcp_ms"], Value::Null);
}

#[tokio::test]
async fn bad_cacert_and_missing_url_are_usage_errors() {
    let server = TestServer::http();
    let url = server.url("/");

    let missing = httpstat(&["--cacert", "/nonexistent/ca.pem", &url]).await;
    assert_eq!(missing.status.code(), Some(2));
    let line = one_stderr_line(&missing);
    assert!(
        line.starts_with("httpstat: --cacert /nonexistent/ca.pem: "),
        "{line}"
    );

    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), "this is not a certificate\n").unwrap();
    let path = garbage.path().to_str().unwrap();
    let bad = httpstat(&["--cacert", path, &url]).await;
    assert_eq!(bad.status.code(), Some(2));
    let line = one_stderr_line(&bad);
    assert!(
        line.contains("not a usable PEM CA file: no certificate found"),
        "{line}"
    );
    assert_eq!(
        server.requests_served(),
        0,
        "nothing is sent on a usage error"
    );

    let no_url = httpstat(&["--json"]).await;
    assert_eq!(no_url.status.code(), Some(2));
    assert!(stderr(&no_url).contains("<URL>"), "{}", stderr(&no_url));
    assert!(no_url.stdout.is_empty());

    for args in [
        &["ftp://example.test/"][..],
        &["-H", "no colon", "http://example.test/"],
        &["-n", "0", "http://example.test/"],
        &["-X", "", "http://example.test/"],
        &["--dns-server", "nope", "http://example.test/"],
        &["http://[::1"],
    ] {
        let out = httpstat(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn credentials_in_a_redirect_location_are_redacted_in_events_and_errors() {
    // A redirect to a URL with credentials, on a port where nothing listens:
    // the hop's URL and the transport's messages quote it.
    let refused = refused_addr();
    let target = format!("http://bob:hunter22@{refused}/");
    let server = TestServer::http_with_handler(move |_request| {
        let target = target.clone();
        async move {
            http::Response::builder()
                .status(302)
                .header("location", target)
                .body(httptrace_testkit::http::full_body("moved"))
                .unwrap()
        }
    });
    for json in [true, false] {
        let url = server.url("/");
        let mut args = vec!["-L", url.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let out = httpstat(&args).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(one_stderr_line(&out).starts_with("httpstat: connect failed"));
        for text in [stdout(&out), stderr(&out)] {
            assert!(!text.contains("hunter22"), "{text}");
            assert!(!text.contains("bob"), "{text}");
        }
        if !json {
            assert!(stdout(&out).contains("location: http://REDACTED:REDACTED@127.0.0.1:"));
        }
        if json {
            let hops = json_lines(&out);
            assert_eq!(hops.len(), 2);
            // Credentials are never taken from a server's Location: the hop
            // that follows it has none to redact.
            let next = hops[1]["url"].as_str().unwrap();
            assert!(next.starts_with("http://127.0.0.1:"), "{next}");
        }
    }

    // Not followed: the Location header is still printed without them.
    let out = httpstat(&[&server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("HTTP/1.1 302 Found"), "{text}");
    assert!(
        text.contains("location: http://REDACTED:REDACTED@127.0.0.1:"),
        "{text}"
    );
    assert!(
        !text.contains("hunter22") && !text.contains("bob"),
        "{text}"
    );
}

#[tokio::test]
async fn human_output_shows_status_headers_and_waterfall() {
    let server = TestServer::http();
    let out = httpstat(&["-n", "2", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal:\n{text}"
    );
    for needle in [
        "DNS Lookup",
        "TCP Connection",
        "TLS Handshake",
        "Server Processing",
        "Content Transfer",
        "starttransfer:",
        "total:",
        "HTTP/1.1 200 OK",
        "x-served-by-conn: 1",
        "new connection",
        "reused connection (idle ",
        "body: 5 bytes read",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with(&format!("GET {} -> 200 OK", server.url("/"))),
        "{header}"
    );
    assert!(header.contains(&server.addr().to_string()), "{header}");

    let out = httpstat(&["--no-color", &server.url("/status/503")]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "an HTTP error status is not a failure"
    );
    assert!(stdout(&out).contains("HTTP/1.1 503 Service Unavailable"));
}

// --- --transport hyper only: hooks and features reqwest does not expose ---

#[tokio::test]
async fn hyper_redirect_methods_and_bodies_follow_the_rules() {
    let server = TestServer::http();
    // 303: POST becomes GET without a body.
    let out = hyper(&["--json", "-L", "-d", "a=1", &server.url("/redirect-303")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hops = json_lines(&out);
    assert_eq!(hops.len(), 2, "{}", stdout(&out));
    assert_eq!(hops[0]["method"], "POST");
    assert_eq!(event(&hops[0], "wrote_request")["body_bytes"], 3);
    assert_eq!(hops[1]["method"], "GET");
    assert_eq!(event(&hops[1], "round_trip_start")["method"], "GET");
    assert_eq!(event(&hops[1], "wrote_request")["body_bytes"], 0);

    // 307 and 308: method and body resent.
    for path in ["/redirect-307", "/redirect-308"] {
        let out = hyper(&["--json", "-L", "-d", "a=1", &server.url(path)]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let hops = json_lines(&out);
        assert_eq!(hops.len(), 2, "{}", stdout(&out));
        assert_eq!(hops[1]["method"], "POST", "{path}");
        assert_eq!(event(&hops[1], "wrote_request")["body_bytes"], 3, "{path}");
        assert_eq!(hops[1]["status"], 200);
    }
    // A redirect loop: redirect_loop_fails_in_redirect_on_hyper.
}

#[tokio::test]
async fn hyper_reports_one_connect_pair_per_address_tried() {
    // svc.test has two addresses; nothing listens on the first, so the dial
    // moves on to the second.
    let server = TestServer::http();
    let unused = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let dns = DnsServer::start(DnsConfig::new().record("svc.test", [unused, LOCAL])).unwrap();
    let dns_addr = dns.addr().to_string();
    let url = server.url_with_host("svc.test", "/");
    let out = hyper(&["--json", "--dns-server", &dns_addr, &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    assert_eq!(hop["status"], 200);
    assert_eq!(
        hop["error"],
        Value::Null,
        "a failed attempt is not a failure"
    );
    assert_eq!(hop["remote_addr"], server.addr().to_string());

    let events = hop["events"].as_array().unwrap();
    let dials: Vec<&Value> = events
        .iter()
        .filter(|e| e["name"] == "connect_start" || e["name"] == "connect_done")
        .collect();
    assert_eq!(dials.len(), 4, "two attempts: {dials:?}");
    let names: Vec<_> = dials.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "connect_start",
            "connect_done",
            "connect_start",
            "connect_done"
        ]
    );
    let failed = format!("127.0.0.2:{}", server.port());
    assert_eq!(dials[0]["addr"], failed);
    assert_eq!(dials[1]["addr"], failed);
    assert!(dials[1]["error"].is_object(), "{}", dials[1]);
    assert_eq!(dials[2]["addr"], server.addr().to_string());
    assert!(dials[3].get("error").is_none(), "{}", dials[3]);
    // TCP Connection spans every attempt: first start to the one that
    // connected.
    let first_start = dials[0]["offset_ms"].as_f64().unwrap();
    let connected = dials[3]["offset_ms"].as_f64().unwrap();
    let tcp = num(hop, "tcp_ms");
    assert!(tcp >= connected - first_start - 0.0015, "{tcp} vs {hop}");
}

#[tokio::test]
async fn hyper_reports_informational_responses() {
    let server = TestServer::http();
    let out = hyper(&[
        "--json",
        "-H",
        "Expect: 100-continue",
        "-d",
        "abc",
        &server.url("/continue"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    assert_eq!(hop["status"], 200);
    let informational = event(hop, "got_1xx_response");
    assert_eq!(informational["status"], 100);
    assert!(at(hop, "got_1xx_response") <= at(hop, "round_trip_done"));
    assert!(at(hop, "wrote_headers") <= at(hop, "got_1xx_response"));
}

#[tokio::test]
async fn transport_is_checked_like_every_argument() {
    let server = TestServer::http();
    let out = httpstat(&["--transport", "foo", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("foo"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(server.requests_served(), 0);

    // The same usage errors as the reqwest transport.
    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), "this is not a certificate\n").unwrap();
    let path = garbage.path().to_str().unwrap();
    let bad = hyper(&["--cacert", path, &server.url("/")]).await;
    assert_eq!(bad.status.code(), Some(2));
    let line = one_stderr_line(&bad);
    assert!(
        line.contains("not a usable PEM CA file: no certificate found"),
        "{line}"
    );
    assert_eq!(server.requests_served(), 0);

    // Explicitly asking for the default changes nothing.
    let out = httpstat(&["--transport", "reqwest", "--json", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["status"], 200);
}

#[path = "cli/flags.rs"]
mod flags;
