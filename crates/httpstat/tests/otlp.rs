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
    // Traces reached Jaeger and metrics are off unless asked: nothing to say.
    assert!(
        output.stderr.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs httpstat with `args`, exporting to `endpoint` over `protocol`, plus
/// `env`, never for more than 30 s; returns its output and run time.
async fn exporting_to(
    endpoint: &str,
    protocol: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Output, Duration) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_httpstat"));
    for var in [
        "OTEL_METRICS_EXPORTER",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ] {
        command.env_remove(var);
    }
    let started = std::time::Instant::now();
    let child = command
        .args(args)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), child)
        .await
        .expect("httpstat did not finish in 30 s")
        .expect("run httpstat");
    (output, started.elapsed())
}

/// The stderr lines, none of them with Rust debug text.
fn plain_lines(output: &std::process::Output) -> Vec<String> {
    let err = String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr");
    for bad in [
        "Operation failed",
        "InternalFailure",
        "{",
        "[",
        "Some(",
        "Err(",
    ] {
        assert!(!err.contains(bad), "debug text {bad:?} in {err:?}");
    }
    err.lines().map(str::to_string).collect()
}

/// A collector that is not there: the command's status is the request's,
/// and each signal that was on says, in one plain line, where it could not
/// go and why; over both OTLP transports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_is_one_plain_line_per_signal() {
    let server = TestServer::http();
    let ok = server.url("/");
    let dead = httptrace_testkit::http::refused_addr();
    let refused = httptrace_testkit::http::refused_addr();
    let failing = format!("http://{refused}/");
    for (protocol, traces_url, metrics_url) in [
        (
            "http/protobuf",
            format!("http://{dead}/v1/traces"),
            format!("http://{dead}/v1/metrics"),
        ),
        ("grpc", format!("http://{dead}"), format!("http://{dead}")),
    ] {
        let endpoint = format!("http://{dead}");
        // Traces only (metrics are off unless asked).
        let (out, took) = exporting_to(&endpoint, protocol, &["--json", &ok], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{protocol}: {:?}", out.stderr);
        assert_eq!(
            plain_lines(&out),
            [format!(
                "httpstat: traces not exported to {traces_url}: connection refused"
            )],
            "{protocol}"
        );
        assert!(took < Duration::from_secs(3), "{protocol}: took {took:?}");

        // Metrics asked for: one line each.
        let env = [("OTEL_METRICS_EXPORTER", "otlp")];
        let (out, _) = exporting_to(&endpoint, protocol, &["--json", &ok], &env).await;
        assert_eq!(out.status.code(), Some(0), "{protocol}: {:?}", out.stderr);
        assert_eq!(
            plain_lines(&out),
            [
                format!("httpstat: traces not exported to {traces_url}: connection refused"),
                format!("httpstat: metrics not exported to {metrics_url}: connection refused"),
            ],
            "{protocol}"
        );

        // A failing request keeps its own status and line, first.
        let (out, _) = exporting_to(&endpoint, protocol, &["--json", &failing], &[]).await;
        assert_eq!(out.status.code(), Some(1), "{protocol}: {:?}", out.stderr);
        let lines = plain_lines(&out);
        assert_eq!(lines.len(), 2, "{protocol}: {lines:?}");
        assert!(
            lines[0].starts_with("httpstat: connect failed: "),
            "{lines:?}"
        );
        assert_eq!(
            lines[1],
            format!("httpstat: traces not exported to {traces_url}: connection refused")
        );
    }

    // Credentials in the endpoint or the headers are never printed.
    let endpoint = format!("http://user:hunter22@{dead}/?token=hunter22");
    let env = [(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer hunter22",
    )];
    let (out, _) = exporting_to(&endpoint, "http/protobuf", &["--json", &ok], &env).await;
    let lines = plain_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(!lines[0].contains("hunter22"), "{lines:?}");
    assert!(lines[0].contains(&dead.to_string()), "{lines:?}");
}

/// A collector that never answers (connects hang): the command ends well
/// within 3 s (a CLI's flush bound is about a second) and says the export
/// did not finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_collector_costs_about_a_second() {
    let server = TestServer::http();
    let ok = server.url("/");
    let hole = httptrace_testkit::http::BlackHole::bind("127.0.0.1:0".parse().unwrap())
        .expect("black hole");
    let endpoint = format!("http://{}", hole.addr());
    for protocol in ["http/protobuf", "grpc"] {
        let (out, took) = exporting_to(&endpoint, protocol, &["--json", &ok], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{protocol}: {:?}", out.stderr);
        assert!(took < Duration::from_secs(3), "{protocol}: took {took:?}");
        let lines = plain_lines(&out);
        assert_eq!(lines.len(), 1, "{protocol}: {lines:?}");
        let prefix = format!("httpstat: traces not exported to {endpoint}");
        assert!(lines[0].starts_with(&prefix), "{lines:?}");
        assert!(
            lines[0].contains(": timed out after ")
                && lines[0].ends_with("; the export did not finish"),
            "{protocol}: {lines:?}"
        );
        assert_eq!(json_count(&out), 1, "the hop is printed");
    }
}

fn json_count(out: &std::process::Output) -> usize {
    String::from_utf8_lossy(&out.stdout).lines().count()
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
    metrics_only_when_asked(&jaeger, &server).await;
}

/// Metrics reach Jaeger (whose test config takes them) only when asked for
/// with `OTEL_METRICS_EXPORTER=otlp`; either way nothing is said on stderr.
async fn metrics_only_when_asked(jaeger: &jaeger_harness::Jaeger, server: &TestServer) {
    let pid = std::process::id();
    let quiet = format!("httpstat-metrics-off-{pid}");
    let asked = format!("httpstat-metrics-on-{pid}");
    let args = ["--json", &server.url("/")];
    exporting(jaeger, &quiet, &args, &[]).await;
    exporting(jaeger, &asked, &args, &[("OTEL_METRICS_EXPORTER", "otlp")]).await;
    let of = |samples: &[jaeger_harness::Sample], service: &str| {
        samples
            .iter()
            .filter(|s| s.label("service_name") == Some(service))
            .count()
    };
    // The asked run's metrics arrive; the quiet run, which ended first,
    // would have sent its own before them.
    let samples = jaeger
        .wait_for_metrics(Duration::from_secs(10), |s| of(s, &asked) > 0)
        .await
        .expect("metrics of the run that asked for them");
    assert_eq!(of(&samples, &quiet), 0, "metrics exported unasked");
}

/// A collector that takes traces but not metrics (as a stock Jaeger):
/// asked to export metrics there, httpstat says so in one plain line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_without_metrics_says_unimplemented() {
    let collector = TestServer::http_with_handler(|request| {
        let path = request.uri().path().to_string();
        async move {
            let builder = http::Response::builder();
            let response = match path.as_str() {
                // OTLP/HTTP: an empty ExportTraceServiceResponse.
                "/v1/traces" => builder
                    .status(200)
                    .header("content-type", "application/x-protobuf"),
                // gRPC, trailers-only: 12 is Unimplemented.
                p if p.starts_with("/opentelemetry.proto.collector.") => builder
                    .status(200)
                    .header("content-type", "application/grpc")
                    .header("grpc-status", "12"),
                _ => builder.status(404),
            };
            response
                .body(httptrace_testkit::http::full_body(""))
                .unwrap()
        }
    });
    let server = TestServer::http();
    let endpoint = format!("http://{}", collector.addr());
    for (protocol, metrics_url, kind) in [
        (
            "http/protobuf",
            format!("{endpoint}/v1/metrics"),
            "HTTP 404 Not Found",
        ),
        ("grpc", endpoint.clone(), "gRPC Unimplemented"),
    ] {
        let mut env = vec![("OTEL_METRICS_EXPORTER", "otlp")];
        if protocol == "grpc" {
            env.push(("OTEL_TRACES_EXPORTER", "none"));
        }
        let args = ["--json", &server.url("/")];
        let (out, took) = exporting_to(&endpoint, protocol, &args, &env).await;
        assert_eq!(out.status.code(), Some(0), "{protocol}: {:?}", out.stderr);
        assert!(took < Duration::from_secs(3), "{protocol}: took {took:?}");
        assert_eq!(
            plain_lines(&out),
            [format!(
                "httpstat: metrics not exported to {metrics_url}: \
                 the collector does not accept metrics ({kind})"
            )],
            "{protocol}"
        );
    }
    // Without OTEL_METRICS_EXPORTER, metrics are off: nothing to say.
    let (out, _) = exporting_to(
        &endpoint,
        "http/protobuf",
        &["--json", &server.url("/")],
        &[],
    )
    .await;
    assert!(plain_lines(&out).is_empty(), "{:?}", out.stderr);
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
            if spans.len() >= 4 {
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
    // Building the client is its own span, before the first hop: the gap
    // between the root's start and the first hop is accounted for.
    let setup = spans
        .iter()
        .find(|s| s.name == "client setup")
        .expect("client setup span");
    assert_eq!(setup.parent_span_id, root.span_id);
    assert!(setup.end_ns <= hops[0].start_ns);
    for span in &spans {
        let problems = span.attribute_problems(httptrace_otel::conventions::check);
        assert!(problems.is_empty(), "{transport}: {problems:#?}");
    }
    for hop in &hops {
        assert_eq!(hop.parent_span_id, root.span_id);
        assert_eq!(hop.name, "GET");
        assert!(hop.events.iter().any(|e| e.name == "httptrace.conn.got"));
        assert!(
            hop.events.iter().all(|e| e.name.starts_with("httptrace.")),
            "{transport}: {:?}",
            hop.events
        );
        for phase in ["send", "wait", "receive"] {
            let key = format!("httptrace.{phase}.duration");
            assert!(hop.attr_f64(&key).is_some(), "{transport}: no {key}");
        }
    }
    assert!(hops[0].attr_f64("httptrace.connect.duration").is_some());
    assert_eq!(hops[1].attr_bool("httptrace.conn.reused"), Some(true));
    assert_eq!(hops[0].attr_i64("http.response.status_code"), Some(302));
    assert_eq!(hops[1].attr_i64("http.response.status_code"), Some(200));
    assert_eq!(hops[1].attr_i64("http.request.resend_count"), Some(1));
}
