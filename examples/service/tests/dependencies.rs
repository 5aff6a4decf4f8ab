//! The `httptrace` feature is the only way the instrumentation gets in:
//! without it the service's normal dependency tree has no httptrace and no
//! OpenTelemetry crate at all; with it, both are there. Checked with the real
//! `cargo tree`, whatever features this test itself was built with.

use std::process::Command;

fn tree(features: &[&str]) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "tree",
        "-p",
        "example-service",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ])
    .args(features)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    let out = cmd.output().expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // "name v1.2.3 (path)" or "name v1.2.3 (*)": keep the name.
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn instrumentation(crates: &[String]) -> Vec<&String> {
    let mut v: Vec<&String> = crates
        .iter()
        .filter(|c| {
            c.starts_with("httptrace")
                || c.starts_with("opentelemetry")
                || c.starts_with("tracing-opentelemetry")
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn feature_off_has_no_httptrace_and_no_opentelemetry() {
    let crates = tree(&[]);
    assert!(crates.iter().any(|c| c == "example-service"), "{crates:?}");
    assert!(crates.iter().any(|c| c == "reqwest"), "{crates:?}");
    let found = instrumentation(&crates);
    assert!(found.is_empty(), "feature off, yet the tree has {found:?}");
}

#[test]
fn feature_on_brings_httptrace_and_opentelemetry() {
    let crates = tree(&["--features", "httptrace"]);
    let found = instrumentation(&crates);
    for want in [
        "httptrace",
        "httptrace-otel",
        "opentelemetry",
        "opentelemetry_sdk",
        "opentelemetry-otlp",
    ] {
        assert!(
            found.iter().any(|c| *c == want),
            "feature on, but no {want} in {found:?}"
        );
    }
}
