//! The multi-tier topology of deploy/: services → gateway (an OpenTelemetry
//! Collector: deploy/gateway/collector.yaml) → store (Jaeger with storage:
//! deploy/gateway/jaeger-store.yaml). Starts the real Jaeger v2 binary twice,
//! once per config, the files used as they are with every port a free local
//! one given through the environment; sends the demo trace to the gateway
//! only (over OTLP HTTP/protobuf, and again over gRPC), reads it back from
//! the store's api_v3, and reads the gateway's own metrics: the trace
//! crossed both tiers.
//!
//! Without the Jaeger binary this fails, unless HTTPTRACE_SKIP_E2E=1: then
//! it is skipped with a loud banner on stderr.

mod support;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jaeger_harness::spans;
use serde_json::Value;
use support::{check_demo_trace, run, trace_ids};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `n` distinct ports that were free a moment ago.
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// One Jaeger process running a config from deploy/gateway; killed on drop
/// (its log is printed if the test failed).
struct Tier {
    name: &'static str,
    child: Child,
    log: PathBuf,
    health: u16,
}

impl Tier {
    fn start(name: &'static str, bin: &Path, config: &Path, env: &[(&str, String)]) -> Tier {
        let log = std::env::temp_dir().join(format!(
            "httptrace-demo-{name}-{}-{}.log",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let out = fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        let health = env
            .iter()
            .find(|(k, _)| *k == "HEALTH_PORT")
            .map(|(_, v)| v.parse().unwrap())
            .expect("HEALTH_PORT");
        Tier {
            name,
            child,
            log,
            health,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_healthy(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("http://127.0.0.1:{}/status", self.health);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited during start-up ({status}):\n{}",
                    self.name,
                    self.log()
                );
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not healthy within 60 s:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log());
        }
        let _ = fs::remove_file(&self.log);
    }
}

/// Sums the samples of every Prometheus series whose name starts with `metric`.
fn metric_sum(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(metric))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn get_trace(http: &reqwest::Client, query: u16, trace_id: &str) -> Option<Value> {
    let url = format!("http://127.0.0.1:{query}/api/v3/traces/{trace_id}?raw_traces=true");
    let r = http.get(&url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    serde_json::from_str(&r.text().await.ok()?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_trace_crosses_gateway_into_store() {
    // The harness builds the binary on first use, or skips loudly with
    // HTTPTRACE_SKIP_E2E=1 when it cannot: let it, then run the binary
    // twice with our own configs.
    let Some(probe) = jaeger_harness::Jaeger::start().await.expect("Jaeger") else {
        return;
    };
    drop(probe);
    let bin = jaeger_harness::binary_path();
    let root = repo_root();
    let collector = root.join("deploy/gateway/collector.yaml");
    let store_cfg = root.join("deploy/gateway/jaeger-store.yaml");

    // Both files pass the binary's own validation, as shipped.
    for cfg in [&collector, &store_cfg] {
        let out = Command::new(&bin)
            .arg("validate")
            .arg("--config")
            .arg(cfg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} is not valid: {}",
            cfg.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let p = free_ports(10);
    let host = || ("JAEGER_LISTEN_HOST", "127.0.0.1".to_string());
    let store_env = vec![
        host(),
        ("OTLP_GRPC_PORT", p[0].to_string()),
        ("OTLP_HTTP_PORT", p[1].to_string()),
        ("QUERY_HTTP_PORT", p[2].to_string()),
        ("QUERY_GRPC_PORT", p[3].to_string()),
        ("HEALTH_PORT", p[4].to_string()),
        ("METRICS_PORT", p[5].to_string()),
    ];
    let gateway_env = vec![
        host(),
        ("OTLP_GRPC_PORT", p[6].to_string()),
        ("OTLP_HTTP_PORT", p[7].to_string()),
        ("HEALTH_PORT", p[8].to_string()),
        ("METRICS_PORT", p[9].to_string()),
        ("STORE_OTLP_ENDPOINT", format!("127.0.0.1:{}", p[0])),
    ];
    let (store_query, gw_grpc, gw_http, gw_metrics) = (p[2], p[6], p[7], p[9]);

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut store = Tier::start("jaeger-store", &bin, &store_cfg, &store_env);
    store.wait_healthy(&http).await;
    let mut gateway = Tier::start("otel-gateway", &bin, &collector, &gateway_env);
    gateway.wait_healthy(&http).await;

    // The demo knows only the gateway: once over HTTP/protobuf, once over gRPC.
    let runs = [
        ("http/protobuf", format!("http://127.0.0.1:{gw_http}")),
        ("grpc", format!("http://127.0.0.1:{gw_grpc}")),
    ];
    let mut sent = 0;
    for (protocol, endpoint) in runs {
        let env = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
        ];
        let out = tokio::task::spawn_blocking(move || {
            run(
                env!("CARGO_BIN_EXE_demo"),
                &["--color", "never", "--calls", "1"],
                &env,
            )
        })
        .await
        .unwrap();
        let ids = trace_ids(&out, "trace ");
        assert_eq!(ids.len(), 1, "{out}");
        let id = &ids[0];

        // Read back from the store, where only the gateway could have put it.
        let deadline = Instant::now() + Duration::from_secs(30);
        let trace = loop {
            if let Some(t) = get_trace(&http, store_query, id).await
                && spans(&t).len() >= 6
            {
                break t;
            }
            assert!(
                Instant::now() < deadline,
                "{protocol}: trace {id} not in the store within 30 s\n--- gateway ---\n{}\n--- store ---\n{}",
                gateway.log(),
                store.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let all = spans(&trace);
        check_demo_trace(&all, id, true);
        sent += all.len();
        eprintln!(
            "{protocol}: trace {id} went demo → gateway → store: {} spans",
            all.len()
        );
    }

    // The gateway's own account: it received and forwarded those spans.
    let metrics = http
        .get(format!("http://127.0.0.1:{gw_metrics}/metrics"))
        .send()
        .await
        .expect("gateway metrics")
        .text()
        .await
        .unwrap();
    let accepted = metric_sum(&metrics, "otelcol_receiver_accepted_spans");
    let exported = metric_sum(&metrics, "otelcol_exporter_sent_spans");
    assert!(
        accepted >= sent as f64 && exported >= sent as f64,
        "gateway accepted {accepted} and sent {exported} spans, expected at least {sent}:\n{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("otelcol_receiver") || l.starts_with("otelcol_exporter"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // And the store is a store: both services are searchable there.
    let services: Value = http
        .get(format!("http://127.0.0.1:{store_query}/api/v3/services"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).expect("services JSON"))
        .unwrap();
    for s in ["demo-client", "demo-server"] {
        assert!(
            services["services"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == s)),
            "{services}"
        );
    }
    drop(gateway);
    drop(store);
}
