//! Shared by the end-to-end tests: running the demo binaries, and checking
//! the demo trace as Jaeger gives it back.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jaeger_harness::Span;

/// A running `demo-server` process; stopped with SIGTERM (so it flushes its
/// spans, as `docker stop` would) by [`DemoServer::stop`], killed on drop.
pub struct DemoServer {
    pub child: Child,
    pub port: u16,
}

impl DemoServer {
    /// Starts `demo-server --listen 127.0.0.1:0` with `env` and reads the
    /// port from its first line.
    pub fn start(env: &[(&str, String)]) -> DemoServer {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo-server"));
        cmd.args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        clean_otel_env(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start demo-server");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read demo-server's first line");
        let port = first
            .trim()
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        DemoServer { child, port }
    }

    /// SIGTERM, then waits (bounded) for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait demo-server") {
                assert!(status.success(), "demo-server exited with {status}");
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "demo-server did not stop within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Leaves out whatever OTEL_* the machine has set: the test says what it wants.
pub fn clean_otel_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("RUST_LOG", "warn");
}

/// Runs a demo binary to completion; returns its stdout (panics on failure).
pub fn run(bin: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null());
    clean_otel_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run {bin}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{bin} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every 32-hex-digit word following `prefix` in `text`.
pub fn trace_ids(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| {
            let id: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            (id.len() == 32).then_some(id)
        })
        .collect()
}

pub fn is_server(s: &Span) -> bool {
    s.kind == "2" || s.kind.eq_ignore_ascii_case("SPAN_KIND_SERVER")
}

fn event_names(s: &Span) -> Vec<&str> {
    s.events.iter().map(|e| e.name.as_str()).collect()
}

/// The demo trace as Jaeger stores it: "demo-client call" (demo-client, the
/// root) → two CLIENT round trips in order (302 for `/`, then 200 for
/// `/gettime` with `http.request.resend_count` = 1), each with the hooks as
/// events → under each, the server's SERVER span (demo-server) → under the
/// `/gettime` one, the simulated work. `fresh` says whether the first round
/// trip opened the connection (dns + connect events) or reused an idle one.
pub fn check_demo_trace(spans: &[Span], trace_id: &str, fresh: bool) {
    let names: Vec<(&str, &str)> = spans
        .iter()
        .map(|s| (s.service.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(spans.len(), 6, "{names:?}");
    for s in spans {
        assert_eq!(s.trace_id, trace_id);
        assert!(s.start_ns <= s.end_ns, "{} ends before it starts", s.name);
        // Conformant: typed as the conventions say (integer status codes),
        // no deprecated key, none of the tracing bridge's clutter.
        let problems = s.attribute_problems(httptrace_otel::conventions::check);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_ne!(s.attr_str("user_agent.original"), Some(""), "{}", s.name);
    }

    let root = spans
        .iter()
        .find(|s| s.name == "demo-client call")
        .unwrap_or_else(|| panic!("no client call span in {names:?}"));
    assert_eq!(root.service, "demo-client");
    assert!(root.parent_span_id.is_empty(), "the call is the root");

    let mut hops: Vec<&Span> = spans.iter().filter(|s| s.is_client()).collect();
    hops.sort_by_key(|s| s.start_ns);
    assert_eq!(hops.len(), 2, "{names:?}");
    assert!(hops[0].end_ns <= hops[1].start_ns, "round trips in order");
    let expect = [("/", 302, None), ("/gettime", 200, Some(1))];
    for (hop, (path, status, resend)) in hops.iter().zip(expect) {
        assert_eq!(hop.service, "demo-client");
        // Named by the server's route the client knows (url.template).
        assert_eq!(hop.name, format!("GET {path}"));
        assert_eq!(hop.attr_str("url.template"), Some(path));
        // Where the time went, readable in Jaeger's Tags.
        for phase in ["send", "wait", "receive"] {
            let key = format!("httptrace.{phase}.duration");
            assert!(hop.attr_f64(&key).is_some(), "{path}: no {key}");
        }
        assert!(
            hop.attr_f64("httptrace.wait.duration").unwrap() > 0.0,
            "{path}: the server's time"
        );
        assert_eq!(
            hop.parent_span_id, root.span_id,
            "round trip under the call"
        );
        assert!(hop.start_ns >= root.start_ns && hop.end_ns <= root.end_ns);
        assert_eq!(hop.attr_str("http.request.method"), Some("GET"));
        assert_eq!(hop.attr_i64("http.response.status_code"), Some(status));
        assert!(
            hop.attr_str("url.full").is_some_and(|u| u.ends_with(path)),
            "{:?}",
            hop.attr_str("url.full")
        );
        assert_eq!(hop.attr_i64("http.request.resend_count"), resend, "{path}");

        // The hooks, as events.
        let events = event_names(hop);
        assert!(
            events.iter().all(|e| e.starts_with("httptrace.")),
            "{path}: {events:?}"
        );
        for e in [
            "httptrace.round_trip.start",
            "httptrace.conn.get",
            "httptrace.conn.got",
            "httptrace.request.written",
            "httptrace.response.first_byte",
            "httptrace.round_trip.done",
            "httptrace.response.body_done",
        ] {
            assert!(events.contains(&e), "{path}: no {e} in {events:?}");
        }
        // The first round trip opens the connection (when `fresh`). The
        // second one usually reuses it; but when the pool has not got it back
        // yet it starts a dial too, and whichever is ready first is used:
        // either way the events say which, and got_conn agrees.
        let got_conn = hop
            .events
            .iter()
            .find(|e| e.name == "httptrace.conn.got")
            .expect("httptrace.conn.got");
        let reused = match got_conn.attributes.get("httptrace.conn.reused") {
            Some(serde_json::Value::Bool(b)) => *b,
            other => panic!("{path}: got_conn reused = {other:?}"),
        };
        if path == "/" {
            assert_eq!(reused, !fresh, "the first round trip: got_conn reused");
        }
        if !reused {
            for e in [
                "httptrace.dns.start",
                "httptrace.dns.done",
                "httptrace.connect.start",
                "httptrace.connect.done",
            ] {
                assert!(
                    events.contains(&e),
                    "{path}: new connection, no {e} in {events:?}"
                );
            }
        }
        // (A reused connection may still show dns/connect events: those of
        // the spare dial the pool started and did not use.)

        // The server's span, continued from this round trip's traceparent.
        let server: Vec<&Span> = spans
            .iter()
            .filter(|s| s.parent_span_id == hop.span_id)
            .collect();
        assert_eq!(server.len(), 1, "{path}: children {server:?}");
        let server = server[0];
        assert!(is_server(server), "{path}: kind {}", server.kind);
        assert_eq!(server.service, "demo-server");
        assert_eq!(server.name, format!("GET {path}"));
        assert_eq!(server.attr_i64("http.response.status_code"), Some(status));
        assert_eq!(server.attr_str("url.path"), Some(path));
        assert_eq!(server.attr_str("http.route"), Some(path));
        assert!(server.attr_str("server.address").is_some(), "{path}");
        assert!(server.attr_i64("server.port").is_some(), "{path}");
        assert!(server.attr_str("client.address").is_some(), "{path}");
        assert_eq!(server.attr_str("network.protocol.version"), Some("1.1"));
        // One clock on one machine: the server's span sits inside the round
        // trip (1 ms of slack for the processes' clock readings).
        assert!(
            server.start_ns + 1_000_000 >= hop.start_ns,
            "{path}: server starts before the round trip"
        );
        assert!(
            server.end_ns <= hop.end_ns + 1_000_000,
            "{path}: server ends after the round trip"
        );
    }

    let gettime = spans
        .iter()
        .find(|s| s.name == "GET /gettime" && is_server(s))
        .expect("server span");
    let work = spans
        .iter()
        .find(|s| s.name == "simulated work")
        .expect("work span");
    assert_eq!(work.service, "demo-server");
    assert_eq!(work.parent_span_id, gettime.span_id);
    assert!(
        work.end_ns - work.start_ns >= 19_000_000,
        "work took {} ns",
        work.end_ns - work.start_ns
    );
}
