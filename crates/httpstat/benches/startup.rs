//! httpstat's cost as a fresh process, beside curl's: one GET to a loopback
//! server, run as `httpstat URL` and `curl -s -o /dev/null URL` in pairs
//! (the order alternating), each pair's wall-time ratio taken, the median
//! ratio reported with both tools' median wall time and CPU time (user +
//! system, from `getrusage(RUSAGE_CHILDREN)`). Over plain HTTP and over
//! HTTPS (a test CA passed to both with `--cacert`), where the process's
//! first handshake seeds aws-lc's random generator.
//!
//! `cargo bench -p httpstat --bench startup` runs 40 pairs per URL;
//! `-- --runs N` changes that, `-- --smoke` runs 3 (no thresholds: it fails
//! only when a run fails), `-- --bin PATH` measures another build of
//! httpstat. Needs `curl` on the PATH.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use httptrace_testkit::http::TestServer;
use httptrace_testkit::tls::TestCa;

/// Wall and CPU time of one run of `program` with `args`.
fn run(program: &str, args: &[&str]) -> (Duration, Duration) {
    let cpu_before = children_cpu();
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let wall = start.elapsed();
    assert!(status.success(), "{program} {args:?} failed: {status}");
    (wall, children_cpu() - cpu_before)
}

/// User + system CPU time of the waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke" || a == "--test");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map_or(if smoke { 3 } else { 40 }, |n| n.parse().expect("--runs N"));
    // `--bin PATH`: another build of httpstat (say, one built with
    // `AWS_LC_SYS_NO_JITTER_ENTROPY=1`), against the same servers.
    let other = args
        .iter()
        .position(|a| a == "--bin")
        .and_then(|i| args.get(i + 1));
    let httpstat = other.map_or(env!("CARGO_BIN_EXE_httpstat"), String::as_str);

    // The servers run on this runtime's worker while the main thread waits
    // for the child processes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let http = TestServer::http();
    let ca = TestCa::new();
    let https = TestServer::https(&ca.server_identity(&["127.0.0.1"]), &[b"http/1.1"]);
    let ca_file =
        std::env::temp_dir().join(format!("httpstat-startup-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let ca_path = ca_file.to_str().unwrap();

    let http_url = format!("http://127.0.0.1:{}/", http.port());
    let https_url = format!("https://127.0.0.1:{}/", https.port());
    let cases: [(&str, Vec<&str>, Vec<&str>); 2] = [
        (
            "http://127.0.0.1/",
            vec![&http_url],
            vec!["-s", "-o", "/dev/null", &http_url],
        ),
        (
            "https://127.0.0.1/ (--cacert)",
            vec!["--cacert", ca_path, &https_url],
            vec!["-s", "-o", "/dev/null", "--cacert", ca_path, &https_url],
        ),
    ];
    println!(
        "httpstat start-up: {runs} paired runs per URL (fresh processes, order alternating), loopback server\n"
    );
    println!(
        "| URL | httpstat wall, median | curl wall, median | httpstat ÷ curl, median of pairs [min, max] | httpstat CPU | curl CPU |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, ours, theirs) in &cases {
        // One of each first: page cache, dynamic linking.
        run(httpstat, ours);
        run("curl", theirs);
        let (mut ours_wall, mut theirs_wall, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ours_cpu, mut theirs_cpu) = (Vec::new(), Vec::new());
        for i in 0..runs {
            let (a, b) = if i % 2 == 0 {
                let a = run(httpstat, ours);
                (a, run("curl", theirs))
            } else {
                let b = run("curl", theirs);
                (run(httpstat, ours), b)
            };
            ours_wall.push(a.0.as_secs_f64() * 1e3);
            theirs_wall.push(b.0.as_secs_f64() * 1e3);
            ratios.push(a.0.as_secs_f64() / b.0.as_secs_f64());
            ours_cpu.push(a.1.as_secs_f64() * 1e3);
            theirs_cpu.push(b.1.as_secs_f64() * 1e3);
        }
        let (lo, hi) = ratios
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2} [{lo:.2}, {hi:.2}] | {:.1} ms | {:.1} ms |",
            median(ours_wall),
            median(theirs_wall),
            median(ratios),
            median(ours_cpu),
            median(theirs_cpu),
        );
    }
    let _ = std::fs::remove_file(&ca_file);
}
