//! Runs the `demo` binary (the README's first command) as a user would and
//! reads its waterfall: two traces, each the client call with two round trips
//! (302 then 200) in order, the server's span under each round trip, and the
//! phases from the hook events; the second call reuses the connection.

use std::process::Command;

/// One drawn row: service column, depth in the tree, label, duration (ms).
#[derive(Debug, Clone)]
struct Row {
    service: String,
    depth: usize,
    label: String,
    ms: f64,
}

/// The rows of each trace block (a block starts at a `trace <id>` line).
fn parse(stdout: &str) -> Vec<(String, Vec<Row>)> {
    let mut traces: Vec<(String, Vec<Row>)> = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("trace ") {
            let id = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            traces.push((id, Vec::new()));
            continue;
        }
        // A span or phase row ends with "│ <duration> ms" after its bar.
        let Some(body) = line.strip_suffix(" ms") else {
            continue;
        };
        let parts: Vec<&str> = body.rsplitn(3, '│').collect();
        if parts.len() != 3 {
            continue;
        }
        let (dur, head) = (parts[0].trim(), parts[2]);
        let Ok(ms) = dur.parse::<f64>() else { continue };
        // head = "<service padded to 11>  <tree prefix><label><padding>  "
        let service: String = head.chars().take(11).collect::<String>().trim().to_string();
        let tree: String = head.chars().skip(13).collect();
        let idx = tree
            .chars()
            .position(|c| !matches!(c, ' ' | '│' | '├' | '└' | '─'))
            .expect("a label");
        let label: String = tree
            .chars()
            .skip(idx)
            .collect::<String>()
            .trim()
            .to_string();
        traces
            .last_mut()
            .expect("rows come after a trace line")
            .1
            .push(Row {
                service,
                depth: idx / 3,
                label,
                ms,
            });
    }
    traces
}

fn children(rows: &[Row], parent: usize) -> Vec<&Row> {
    let depth = rows[parent].depth;
    rows[parent + 1..]
        .iter()
        .take_while(|r| r.depth > depth)
        .filter(|r| r.depth == depth + 1)
        .collect()
}

fn find(rows: &[Row], pred: impl Fn(&Row) -> bool) -> usize {
    rows.iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such row in {rows:#?}"))
}

#[test]
fn demo_draws_two_round_trips_with_server_spans_and_phases() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--color", "never", "--calls", "2"])
        // In memory only: whatever the machine has set.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("RUST_LOG")
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed\n{stdout}\n{stderr}");
    eprintln!("{stdout}");
    assert!(!stdout.contains('\x1b'), "--color never printed ANSI codes");
    assert!(stdout.contains("The time is "), "{stdout}");

    let traces = parse(&stdout);
    assert_eq!(traces.len(), 2, "one waterfall per call:\n{stdout}");
    assert_ne!(traces[0].0, traces[1].0, "each call is its own trace");

    for (call, (id, rows)) in traces.iter().enumerate() {
        assert_eq!(id.len(), 32, "trace id {id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

        // The client's call is the only root, and spans the whole trace.
        let roots: Vec<&Row> = rows.iter().filter(|r| r.depth == 0).collect();
        assert_eq!(roots.len(), 1, "{rows:#?}");
        assert_eq!(rows[0].label, "demo-client call");
        assert_eq!(rows[0].service, "demo-client");

        // Two round trips under it, in order: the redirect, then the time.
        let hops = children(rows, 0);
        assert_eq!(hops.len(), 2, "{rows:#?}");
        assert!(
            hops[0].label.starts_with("GET / → 302"),
            "{}",
            hops[0].label
        );
        assert!(
            hops[1].label.starts_with("GET /gettime → 200"),
            "{}",
            hops[1].label
        );
        assert!(hops.iter().all(|h| h.service == "demo-client"));
        // The very first round trip opens the connection; the second call
        // starts on the idle one. A redirect hop usually reuses the
        // connection too, but may win with a dial of its own when the pool
        // has not got the connection back yet: then it says "new conn" and
        // shows its own dns and connect.
        if call == 0 {
            assert!(hops[0].label.ends_with("new conn"), "{}", hops[0].label);
        } else {
            assert!(hops[0].label.ends_with("reused conn"), "{}", hops[0].label);
        }
        assert!(
            hops[1].label.ends_with("reused conn") || hops[1].label.ends_with("new conn"),
            "{}",
            hops[1].label
        );

        for (path, hop_label) in [("/", "GET / → 302"), ("/gettime", "GET /gettime → 200")] {
            let h = find(rows, |r| r.label.starts_with(hop_label));
            let kids = children(rows, h);
            let names: Vec<&str> = kids.iter().map(|k| k.label.as_str()).collect();
            // The server's span hangs under the round trip that reached it.
            let server: Vec<&&Row> = kids.iter().filter(|k| k.service == "demo-server").collect();
            assert_eq!(server.len(), 1, "{hop_label}: {names:?}");
            assert_eq!(server[0].label, format!("GET {path}"));
            // Phases from the hook events.
            for phase in ["wait", "transfer"] {
                assert!(
                    names.contains(&phase),
                    "{hop_label}: no {phase} in {names:?}"
                );
            }
            // A round trip on a new connection shows its dns and connect;
            // one on a reused connection does not (at most those of a spare
            // dial the pool started and did not use, marked as such).
            let new_conn = rows[h].label.ends_with("new conn");
            for phase in ["dns", "connect"] {
                assert_eq!(
                    names.contains(&phase),
                    new_conn,
                    "call {call} {hop_label}: {phase} in {names:?}"
                );
                if new_conn {
                    assert!(!names.contains(&format!("{phase} (spare dial)").as_str()));
                }
            }
            assert!(
                !names.iter().any(|n| n.starts_with("tls")),
                "plain HTTP has no tls phase"
            );
        }

        // The server's simulated work, under its /gettime span.
        let s = find(rows, |r| {
            r.service == "demo-server" && r.label == "GET /gettime"
        });
        let work = children(rows, s);
        assert_eq!(work.len(), 1);
        assert_eq!(work[0].label, "simulated work");
        assert!(work[0].ms >= 19.0, "work took {} ms", work[0].ms);
        let g = find(rows, |r| r.label.starts_with("GET /gettime → 200"));
        let wait = children(rows, g)
            .into_iter()
            .find(|r| r.label == "wait")
            .expect("wait phase");
        assert!(
            wait.ms >= work[0].ms - 1.0,
            "the client waited ({} ms) while the server worked ({} ms)",
            wait.ms,
            work[0].ms
        );
        assert!(rows[0].ms >= work[0].ms);
    }
}
