//! End to end into the real Jaeger: the `demo-server` and `demo-client`
//! binaries, configured only by the standard `OTEL_*` variables (as in
//! docker-compose.yml), export over OTLP (HTTP/protobuf) to a Jaeger v2
//! started by jaeger-harness; the trace is read back over api_v3 and its
//! structure checked: client call → two CLIENT round trips (302, then 200
//! with resend_count 1) with the hooks as events → the server's span under
//! each, from another process, joined by the W3C traceparent of each hop.
//!
//! Without the Jaeger binary this fails, unless HTTPTRACE_SKIP_E2E=1: then
//! it is skipped with a loud banner on stderr.

mod support;

use std::time::{Duration, SystemTime};

use jaeger_harness::{Jaeger, spans};
use support::{DemoServer, check_demo_trace, run, trace_ids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_services_trace_lands_in_jaeger() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return; // the harness printed the skip banner
    };
    let from = SystemTime::now() - Duration::from_secs(5);
    let otlp = |service: &str| {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.otlp_http_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_string()),
            ("OTEL_METRICS_EXPORTER", "none".to_string()),
            // What compose could set: the binaries' own defaults are these.
            ("OTEL_SERVICE_NAME", service.to_string()),
        ]
    };

    let server = DemoServer::start(&otlp("demo-server"));
    let url = format!("http://localhost:{}/", server.port);
    let client_out = tokio::task::spawn_blocking({
        let env = otlp("demo-client");
        move || {
            run(
                env!("CARGO_BIN_EXE_demo-client"),
                &["--url", &url, "--wait-secs", "10"],
                &env,
            )
        }
    })
    .await
    .expect("client task");
    assert!(client_out.contains("status=200"), "{client_out}");
    assert!(client_out.contains("The time is "), "{client_out}");
    let ids = trace_ids(&client_out, "trace_id=");
    assert_eq!(ids.len(), 1, "{client_out}");
    let trace_id = &ids[0];

    // The client flushed on exit; the server flushes when it is stopped.
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stop task");

    let trace = jaeger
        .wait_for_trace(trace_id, Duration::from_secs(30), |t| spans(t).len() >= 6)
        .await
        .unwrap_or_else(|e| panic!("{e}\n--- jaeger log ---\n{}", jaeger.log()));
    let all = spans(&trace);
    check_demo_trace(&all, trace_id, true);
    eprintln!(
        "demo trace {trace_id} read back from Jaeger: {:?}",
        all.iter()
            .map(|s| format!("{}:{}", s.service, s.name))
            .collect::<Vec<_>>()
    );

    // Both services are known to Jaeger and searchable.
    let services = jaeger.services().await.expect("services");
    for s in ["demo-client", "demo-server"] {
        assert!(services.contains(&s.to_string()), "{services:?}");
    }
    let found = jaeger
        .find_traces(
            "demo-server",
            from,
            SystemTime::now() + Duration::from_secs(5),
        )
        .await
        .expect("search")
        .expect("search by service finds the trace");
    assert!(spans(&found).iter().any(|s| &s.trace_id == trace_id));
}

/// The single-process `demo` with `OTEL_EXPORTER_OTLP_ENDPOINT` set: the
/// waterfall it prints and the traces it exports are the same traces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_demo_also_exports_over_otlp() {
    let Some(jaeger) = Jaeger::start().await.expect("start Jaeger") else {
        return;
    };
    let env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.otlp_http_endpoint())];
    let out = tokio::task::spawn_blocking(move || {
        run(
            env!("CARGO_BIN_EXE_demo"),
            &["--color", "never", "--calls", "2"],
            &env,
        )
    })
    .await
    .expect("demo task");
    let ids = trace_ids(&out, "trace ");
    assert_eq!(ids.len(), 2, "{out}");
    assert!(out.contains("exported over OTLP"), "{out}");
    for (i, id) in ids.iter().enumerate() {
        let trace = jaeger
            .wait_for_trace(id, Duration::from_secs(30), |t| spans(t).len() >= 6)
            .await
            .unwrap_or_else(|e| panic!("{e}\n--- jaeger log ---\n{}", jaeger.log()));
        // The first call opens the connection, the second reuses it.
        check_demo_trace(&spans(&trace), id, i == 0);
    }
}
