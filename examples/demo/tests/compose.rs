//! The deployment files, checked without a container engine: docker-compose.yml
//! (Jaeger pinned to the version the end-to-end tests run, the demo services
//! built from deploy/Dockerfile and pointed at Jaeger by the standard OTEL_*
//! variables), the gateway topology's compose file, the collector configs'
//! pipelines, the Dockerfile and .dockerignore. When Debian's
//! `docker-compose` is installed (deploy/validate-compose.sh installs it) the
//! compose files also go through its own schema check.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The image docker-compose.yml pins; the same Jaeger as the tests' binary.
const JAEGER_IMAGE: &str = "cr.jaegertracing.io/jaegertracing/jaeger:2.12.0";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn env<'a>(service: &'a Value, key: &str) -> Option<&'a str> {
    service["environment"][key].as_str()
}

/// The value after `flag` in a command list.
fn arg(command: &[String], flag: &str) -> Option<String> {
    let i = command.iter().position(|a| a == flag)?;
    command.get(i + 1).cloned()
}

fn check_demo_service(svc: &Value, name: &str, context: &str, endpoint: &str) -> Vec<String> {
    assert_eq!(svc["build"]["dockerfile"], "deploy/Dockerfile", "{name}");
    assert_eq!(svc["build"]["context"], context, "{name}");
    assert_eq!(
        env(svc, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        Some(endpoint),
        "{name}"
    );
    assert_eq!(
        env(svc, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        Some("http/protobuf"),
        "{name}"
    );
    let command = strings(&svc["command"]);
    // The command is one of this package's binaries.
    assert_eq!(command[0], name, "{name} runs its own binary");
    assert!(
        Path::new(match name {
            "demo-server" => env!("CARGO_BIN_EXE_demo-server"),
            _ => env!("CARGO_BIN_EXE_demo-client"),
        })
        .is_file()
    );
    command
}

fn compose_config_check(file: &str) {
    let which = Command::new("sh")
        .args(["-c", "command -v docker-compose"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !which {
        eprintln!(
            "note: docker-compose (v1) is not installed, so {file} was only parsed here; \
             `bash deploy/validate-compose.sh` installs it and runs its schema check"
        );
        return;
    }
    let out = Command::new("docker-compose")
        .args(["-f", file, "config", "-q"])
        .current_dir(root())
        .output()
        .expect("run docker-compose");
    assert!(
        out.status.success(),
        "docker-compose rejects {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn root_compose_runs_the_demo_against_pinned_jaeger() {
    let c = yaml("docker-compose.yml");
    let services = c["services"].as_object().expect("services");
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["demo-client", "demo-server", "jaeger"]);

    let jaeger = &c["services"]["jaeger"];
    assert_eq!(jaeger["image"], JAEGER_IMAGE);
    // Jaeger 2.12.0 is the Go module tag v1.75.0: the binary the e2e tests run.
    assert_eq!(jaeger_harness::JAEGER_VERSION, "v1.75.0");
    // The built-in config (no --config), with Jaeger's self-tracing off.
    let jaeger_cmd = strings(&jaeger["command"]);
    assert_eq!(arg(&jaeger_cmd, "--config"), None);
    assert!(
        jaeger_cmd.contains(&"--set=extensions.jaeger_query.enable_tracing=false".to_string()),
        "jaeger command {jaeger_cmd:?}"
    );
    let ports = strings(&jaeger["ports"]);
    for p in ["16686:16686", "4317:4317", "4318:4318"] {
        assert!(
            ports.contains(&p.to_string()),
            "jaeger ports {ports:?} lack {p}"
        );
    }

    let server = &c["services"]["demo-server"];
    let client = &c["services"]["demo-client"];
    let server_cmd = check_demo_service(server, "demo-server", ".", "http://jaeger:4318");
    let client_cmd = check_demo_service(client, "demo-client", ".", "http://jaeger:4318");
    assert_eq!(
        arg(&server_cmd, "--listen").as_deref(),
        Some("0.0.0.0:8080")
    );
    assert_eq!(
        arg(&client_cmd, "--url").as_deref(),
        Some("http://demo-server:8080/")
    );
    assert!(strings(&server["ports"]).contains(&"8080:8080".to_string()));
    let deps = strings(&client["depends_on"]);
    for d in ["demo-server", "jaeger"] {
        assert!(deps.contains(&d.to_string()), "client depends_on {deps:?}");
    }
    // Jaeger stores traces only: metrics export would just fail there.
    for svc in [server, client] {
        assert_eq!(env(svc, "OTEL_METRICS_EXPORTER"), Some("none"));
    }
    compose_config_check("docker-compose.yml");
}

#[test]
fn gateway_compose_puts_the_collector_tier_in_front_of_the_store() {
    let c = yaml("deploy/gateway/docker-compose.yml");
    let s = &c["services"];
    for tier in ["jaeger-store", "otel-gateway"] {
        assert_eq!(s[tier]["image"], JAEGER_IMAGE, "{tier}");
        let cmd = strings(&s[tier]["command"]);
        let config = arg(&cmd, "--config").expect("--config");
        // The mounted file is the one in deploy/gateway.
        let mount = strings(&s[tier]["volumes"])
            .into_iter()
            .find(|v| v.contains(&config))
            .unwrap_or_else(|| panic!("{tier}: {config} not mounted"));
        let local = mount.split(':').next().unwrap();
        assert!(
            root().join("deploy/gateway").join(local).is_file(),
            "{mount}"
        );
    }
    assert_eq!(
        env(&s["otel-gateway"], "STORE_OTLP_ENDPOINT"),
        Some("jaeger-store:4317")
    );
    assert!(
        s["otel-gateway"]["ports"].is_null(),
        "scalable: no fixed host ports"
    );
    assert!(strings(&s["jaeger-store"]["ports"]).contains(&"16686:16686".to_string()));
    for name in ["demo-server", "demo-client"] {
        check_demo_service(&s[name], name, "../..", "http://otel-gateway:4318");
    }
    compose_config_check("deploy/gateway/docker-compose.yml");
}

/// Every component a pipeline names is configured, and vice versa.
fn check_pipeline(cfg: &Value, file: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let p = &cfg["service"]["pipelines"]["traces"];
    let list = |k: &str| strings(&p[k]);
    let (r, pr, e) = (list("receivers"), list("processors"), list("exporters"));
    for (section, names) in [("receivers", &r), ("processors", &pr), ("exporters", &e)] {
        let defined: Vec<&String> = cfg[section].as_object().expect(section).keys().collect();
        for n in names {
            assert!(
                defined.contains(&n),
                "{file}: {section} {n} used but not configured"
            );
        }
        for d in defined {
            assert!(
                names.contains(d),
                "{file}: {section} {d} configured but unused"
            );
        }
    }
    for ext in strings(&cfg["service"]["extensions"]) {
        assert!(
            cfg["extensions"][&ext].is_object(),
            "{file}: extension {ext}"
        );
    }
    (r, pr, e)
}

#[test]
fn gateway_configs_have_the_expected_pipelines() {
    let gw = yaml("deploy/gateway/collector.yaml");
    let (r, p, e) = check_pipeline(&gw, "collector.yaml");
    assert_eq!(r, ["otlp"]);
    assert_eq!(
        p,
        ["memory_limiter", "batch"],
        "memory_limiter must come first"
    );
    assert_eq!(e, ["otlp/store"]);
    let export = &gw["exporters"]["otlp/store"];
    assert_eq!(
        export["endpoint"],
        "${env:STORE_OTLP_ENDPOINT:-jaeger-store:4317}"
    );
    assert_eq!(export["sending_queue"]["enabled"], true);
    assert_eq!(export["retry_on_failure"]["enabled"], true);
    assert!(
        gw["extensions"].get("jaeger_storage").is_none(),
        "the gateway stores nothing"
    );

    let store = yaml("deploy/gateway/jaeger-store.yaml");
    let (r, _, e) = check_pipeline(&store, "jaeger-store.yaml");
    assert_eq!(r, ["otlp"]);
    assert_eq!(e, ["jaeger_storage_exporter"]);
    let backend = store["exporters"]["jaeger_storage_exporter"]["trace_storage"]
        .as_str()
        .unwrap();
    assert_eq!(
        store["extensions"]["jaeger_query"]["storage"]["traces"],
        backend
    );
    assert!(store["extensions"]["jaeger_storage"]["backends"][backend].is_object());
    // No self-tracing (Jaeger v2 has it on by default).
    assert_eq!(store["extensions"]["jaeger_query"]["enable_tracing"], false);
    assert_eq!(store["service"]["telemetry"]["traces"]["level"], "none");
    // The production swap is documented next to the memory backend.
    let text = std::fs::read_to_string(root().join("deploy/gateway/jaeger-store.yaml")).unwrap();
    for b in ["elasticsearch:", "opensearch:", "cassandra:"] {
        assert!(text.contains(b), "jaeger-store.yaml shows no {b} example");
    }
}

#[test]
fn dockerfile_builds_the_demo_for_a_matching_runtime() {
    let text = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms,
        [
            "FROM rust:1-bookworm AS builder",
            "FROM debian:bookworm-slim"
        ]
    );
    assert!(text.contains("cargo build --release -p httptrace-demo"));
    for bin in ["demo", "demo-server", "demo-client"] {
        assert!(
            text.contains(&format!("target/release/{bin}")),
            "{bin} not copied"
        );
    }
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target/"));
}
