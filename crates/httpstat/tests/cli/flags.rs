//! The curl-compatible flags (issue 9), each against real local servers, on
//! both transports where the transport can honour the flag.

use super::*;

/// A temporary directory, for `-o` and `-O`.
fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The `{"summary": ...}` object, if `v` is one.
fn summary(v: &Value) -> Option<&Value> {
    v.get("summary")
}

on_each_transport! {
    check_output_file:
        output_writes_the_body_to_a_file_or_stdout_on_reqwest,
        output_writes_the_body_to_a_file_or_stdout_on_hyper;
    check_head:
        head_sends_head_and_reads_no_body_on_reqwest,
        head_sends_head_and_reads_no_body_on_hyper;
    check_silent:
        silent_prints_only_write_out_and_errors_on_reqwest,
        silent_prints_only_write_out_and_errors_on_hyper;
    check_fail:
        fail_exits_22_on_http_errors_with_timings_on_reqwest,
        fail_exits_22_on_http_errors_with_timings_on_hyper;
    check_several_urls:
        several_urls_share_the_client_on_reqwest,
        several_urls_share_the_client_on_hyper;
    check_count_summary:
        count_prints_a_summary_per_phase_on_reqwest,
        count_prints_a_summary_per_phase_on_hyper;
    check_http_versions:
        http_version_flags_pick_the_protocol_on_reqwest,
        http_version_flags_pick_the_protocol_on_hyper;
    check_write_out_variables:
        write_out_prints_curl_variables_on_reqwest,
        write_out_prints_curl_variables_on_hyper;
    check_write_out_against_curl:
        write_out_agrees_with_curl_on_an_injected_delay_on_reqwest,
        write_out_agrees_with_curl_on_an_injected_delay_on_hyper;
    check_malformed_values:
        malformed_flag_values_are_one_line_usage_errors_on_reqwest,
        malformed_flag_values_are_one_line_usage_errors_on_hyper;
}

async fn check_output_file(transport: Transport) {
    let server = TestServer::http();
    let dir = temp_dir();
    let file = dir.path().join("body.bin");
    let url = server.url("/bytes/20000");
    let out = run(transport, &["--json", "-o", file.to_str().unwrap(), &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["body_bytes"], 20000);
    let written = std::fs::read(&file).unwrap();
    assert_eq!(written.len(), 20000);

    // -o -: the body on stdout, the report on stderr.
    let out = run(transport, &["--json", "-o", "-", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello");
    let report: Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(report["body_bytes"], 5);

    // -O: the URL's last segment, in the current directory; with -L only
    // the final body is written.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_httpstat"));
    if transport == Transport::Hyper {
        command.args(["--transport", "hyper"]);
    }
    let status = command
        .args(["-s", "-L", "-O", &server.url("/redirect/1")])
        .current_dir(dir.path())
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .status()
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(std::fs::read(dir.path().join("1")).unwrap(), b"done");

    // A URL without a file name, a directory that does not exist, more -o
    // than URLs: usage errors naming the flag, nothing sent.
    let served = server.requests_served();
    for args in [
        &["-O", &server.url("/")][..],
        &["-o", "/nonexistent/dir/f", &server.url("/")],
        &["-o", "a", "-o", "b", &server.url("/")],
    ] {
        let out = run(transport, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let line = one_stderr_line(&out);
        assert!(
            line.starts_with("httpstat: -O") || line.starts_with("httpstat: -o"),
            "{line}"
        );
    }
    assert_eq!(server.requests_served(), served);
}

async fn check_head(transport: Transport) {
    let server = TestServer::http();
    let out = run(transport, &["--json", "-I", &server.url("/bytes/1000")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["method"], "HEAD");
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["body_bytes"], 0);
    let out = run(
        transport,
        &["--no-color", "--head", &server.url("/bytes/1000")],
    )
    .await;
    let text = stdout(&out);
    assert!(text.starts_with("HEAD "), "{text}");
    assert!(text.contains("content-length: 1000"), "{text}");
}

async fn check_silent(transport: Transport) {
    let server = TestServer::http();
    let out = run(transport, &["-s", "-n", "2", &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    let out = run(
        transport,
        &["-s", "--json", "-w", "%{http_code}\\n", &server.url("/")],
    )
    .await;
    assert_eq!(stdout(&out), "200\n");

    // Errors still show.
    let url = format!("http://{}/", refused_addr());
    let out = run(transport, &["-s", &url]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(one_stderr_line(&out).starts_with("httpstat: connect failed"));
}

async fn check_fail(transport: Transport) {
    let server = TestServer::http();
    let dir = temp_dir();
    let file = dir.path().join("err.txt");
    let url = server.url("/status/404");
    let args = ["--json", "-f", "-o", file.to_str().unwrap(), &url];
    let out = run(transport, &args).await;
    assert_eq!(out.status.code(), Some(22), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    assert_eq!(hop["status"], 404);
    assert!(hop["total_ms"].is_f64(), "timings still printed");
    let line = one_stderr_line(&out);
    assert_eq!(
        line,
        format!("httpstat: --fail: {url} answered 404 Not Found")
    );
    assert!(!file.exists(), "an error's body is not written with -f");

    // Without -f a 404 is an answer; -f with a 200 is too.
    assert_eq!(run(transport, &[&url]).await.status.code(), Some(0));
    assert_eq!(
        run(transport, &["-f", &server.url("/")])
            .await
            .status
            .code(),
        Some(0)
    );
    // With several URLs the run goes on, and still exits 22.
    let out = run(transport, &["--json", "-f", &url, &server.url("/")]).await;
    assert_eq!(out.status.code(), Some(22));
    assert_eq!(json_lines(&out).len(), 2);
}

async fn check_several_urls(transport: Transport) {
    let a = TestServer::http();
    let b = TestServer::http();
    let urls = [a.url("/"), b.url("/echo"), a.url("/bytes/10")];
    let out = run(transport, &["--json", &urls[0], &urls[1], &urls[2]]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hops = json_lines(&out);
    assert_eq!(hops.len(), 3);
    for (hop, url) in hops.iter().zip(&urls) {
        assert_schema(hop);
        assert_eq!(hop["url"], url.as_str());
        assert_eq!(hop["status"], 200);
    }
    // One client: the third request reuses the first one's connection.
    assert_eq!(hops[0]["conn_reused"], false);
    assert_eq!(hops[1]["conn_reused"], false);
    assert_eq!(hops[2]["conn_reused"], true, "{}", hops[2]);
    assert_eq!(a.connections_accepted(), 1);

    // Humans get one block per URL.
    let out = run(transport, &["--no-color", &urls[0], &urls[1]]).await;
    let text = stdout(&out);
    assert_eq!(text.matches("Content Transfer").count(), 2, "{text}");
}

async fn check_count_summary(transport: Transport) {
    let server = TestServer::http();
    let url = server.url("/delay/5");
    let out = run(transport, &["--json", "-n", "4", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5, "4 round trips and the summary");
    let s = summary(&lines[4]).expect("the last line is the summary");
    assert_eq!(s["url"], url.as_str());
    assert_eq!(s["requests"], 4);
    assert!(s["dns_ms"].is_null(), "no DNS for an IP literal: {s}");
    assert!(s["tls_ms"].is_null());
    assert_eq!(s["tcp_ms"]["n"], 1, "one dial, then reuse: {s}");
    let ttfb = &s["ttfb_ms"];
    assert_eq!(ttfb["n"], 4);
    let values: Vec<f64> = lines[..4].iter().map(|h| num(h, "ttfb_ms")).collect();
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(num(ttfb, "min"), min);
    assert_eq!(num(ttfb, "max"), max);
    assert_eq!(num(ttfb, "p90"), max, "nearest rank of 4 samples");
    assert!(num(ttfb, "min") >= 5.0, "the server waits 5 ms: {ttfb}");
    assert!(num(ttfb, "median") >= num(ttfb, "min") && num(ttfb, "median") <= max);

    let out = run(transport, &["--no-color", "-n", "2", &url]).await;
    let text = stdout(&out);
    assert!(
        text.contains(&format!("summary: 2 requests to {url}")),
        "{text}"
    );
    assert!(text.contains("median"), "{text}");
    // -n 1: no summary.
    let out = run(transport, &["--json", &url]).await;
    assert_eq!(json_lines(&out).len(), 1);
}

async fn check_http_versions(transport: Transport) {
    let dns = DnsServer::start(DnsConfig::new().record("svc.test", [LOCAL])).unwrap();
    let dns_addr = dns.addr().to_string();
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["svc.test"]), &[b"h2", b"http/1.1"]);
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), ca.cert_pem()).unwrap();
    let pem = pem.path().to_str().unwrap();
    let url = server.url_with_host("svc.test", "/");
    let version = |out: &Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        json_lines(out)[0]["http_version"].clone()
    };
    let with = |flag: &'static str| {
        [
            "--json",
            "--dns-server",
            &dns_addr,
            "--cacert",
            pem,
            flag,
            &url,
        ]
        .map(String::from)
    };
    let run_with = |flag| {
        let args = with(flag);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(transport, &args).await
        }
    };
    assert_eq!(version(&run_with("--http1.1").await), "HTTP/1.1");
    assert_eq!(version(&run_with("--http2").await), "HTTP/2");

    // h2c with prior knowledge: the plain server speaks both.
    let plain = TestServer::http();
    let args = ["--json", "--http2-prior-knowledge", &plain.url("/")];
    let out = run(transport, &args).await;
    match transport {
        Transport::Reqwest => assert_eq!(version(&out), "HTTP/2"),
        Transport::Hyper => {
            assert_eq!(out.status.code(), Some(2));
            let line = one_stderr_line(&out);
            assert!(
                line.starts_with(
                    "httpstat: --http2-prior-knowledge is not available with --transport hyper"
                ),
                "{line}"
            );
        }
    }
    // Without a flag plain HTTP stays HTTP/1.1.
    let out = run(transport, &["--json", &plain.url("/")]).await;
    assert_eq!(version(&out), "HTTP/1.1");
    // Two version flags conflict.
    let out = run(transport, &["--http1.1", "--http2", &plain.url("/")]).await;
    assert_eq!(out.status.code(), Some(2));
    one_stderr_line(&out);
}

const WRITE_OUT: &str = "%{http_code} %{remote_ip} %{remote_port} %{num_connects} \
    %{size_download} %{url_effective} %{num_redirects} %{http_version} \
    %{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} \
    %{time_starttransfer} %{time_total}\\n";

/// The fields of one `WRITE_OUT` line.
fn fields(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

async fn check_write_out_variables(transport: Transport) {
    let server = TestServer::http();
    let url = server.url("/redirect/2");
    let out = run(transport, &["-s", "-L", "-w", WRITE_OUT, &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let f = fields(&text);
    assert_eq!(f[0], "200");
    assert_eq!(f[1], "127.0.0.1");
    assert_eq!(f[2], server.port().to_string());
    assert_eq!(f[3], "1", "one connection for three hops");
    assert_eq!(f[4], "4", "'done'");
    assert_eq!(f[5], server.url("/redirect/0"));
    assert_eq!(f[6], "2");
    assert_eq!(f[7], "1.1");
    let t: Vec<f64> = f[8..].iter().map(|x| x.parse().unwrap()).collect();
    assert!(
        f[8..]
            .iter()
            .all(|x| x.split('.').nth(1).map(str::len) == Some(6))
    );
    // Cumulative: namelookup <= connect <= pretransfer <= starttransfer <= total.
    assert_eq!(t[0], 0.0, "no DNS for an IP literal");
    assert_eq!(t[2], 0.0, "no TLS");
    assert!(t[1] <= t[3] && t[3] <= t[4] && t[4] <= t[5], "{t:?}");

    // %{json}, %header{}, and a failure's variables.
    let out = run(
        transport,
        &[
            "-s",
            "-w",
            "%header{content-type}|%{json}",
            &server.url("/"),
        ],
    )
    .await;
    let text = stdout(&out);
    let (ct, json) = text.split_once('|').unwrap();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["http_code"], 200);
    assert_eq!(v["exitcode"], 0);
    assert!(v["time_total"].as_f64().unwrap() > 0.0);
    let refused = format!("http://{}/", refused_addr());
    let out = run(
        transport,
        &["-s", "-w", "%{http_code} %{exitcode}", &refused],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "000 1");
}

/// The path to curl, or a loud failure: the comparison must not pass by
/// silently doing nothing. `HTTPSTAT_TEST_NO_CURL=1` skips it knowingly.
fn curl() -> Option<&'static str> {
    let found = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("curl");
    }
    if std::env::var_os("HTTPSTAT_TEST_NO_CURL").is_some() {
        eprintln!("SKIPPED: curl is not installed; the -w comparison with curl did not run");
        return None;
    }
    panic!(
        "curl is not installed: the -w comparison needs it \
         (set HTTPSTAT_TEST_NO_CURL=1 to skip it knowingly)"
    );
}

async fn check_write_out_against_curl(transport: Transport) {
    let Some(curl) = curl() else { return };
    let server = TestServer::http();
    // The server holds the response 80 ms: both clients must see it in
    // time_starttransfer and time_total, and agree on everything else.
    let url = server.url("/delay/80");
    let curl_out = tokio::process::Command::new(curl)
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--noproxy",
            "*",
            "-w",
            WRITE_OUT,
            &url,
        ])
        .output()
        .await
        .unwrap();
    assert!(curl_out.status.success(), "{curl_out:?}");
    let ours = run(transport, &["-s", "-w", WRITE_OUT, &url]).await;
    assert_eq!(ours.status.code(), Some(0), "{}", stderr(&ours));
    let theirs = fields(&String::from_utf8(curl_out.stdout).unwrap());
    let ours = fields(&stdout(&ours));
    eprintln!("curl:     {theirs:?}\nhttpstat: {ours:?}");
    assert_eq!(theirs.len(), ours.len());
    // http_code, remote_ip, num_connects, size_download, url_effective,
    // num_redirects, http_version: the same; remote_port too.
    for i in 0..8 {
        assert_eq!(ours[i], theirs[i], "field {i}");
    }
    let secs = |v: &[String]| -> Vec<f64> { v[8..].iter().map(|x| x.parse().unwrap()).collect() };
    let (ours, theirs) = (secs(&ours), secs(&theirs));
    for (name, i) in [("time_starttransfer", 4), ("time_total", 5)] {
        assert!(
            ours[i] >= 0.080 && theirs[i] >= 0.080,
            "{name}: {ours:?} {theirs:?}"
        );
        // Each measures its own request; both saw the 80 ms, within a few ms.
        let gap = (ours[i] - theirs[i]).abs();
        assert!(
            gap < 0.005,
            "{name}: httpstat {} vs curl {}",
            ours[i],
            theirs[i]
        );
    }
    // The connection phases are sub-millisecond on loopback for both.
    for (name, i) in [("time_connect", 1), ("time_pretransfer", 3)] {
        assert!(
            ours[i] < 0.010 && theirs[i] < 0.010,
            "{name}: {ours:?} {theirs:?}"
        );
    }
}

async fn check_malformed_values(transport: Transport) {
    let server = TestServer::http();
    let url = server.url("/");
    let cases: &[(&[&str], &str)] = &[
        (&["--resolve", "svc.test:80"], "--resolve"),
        (&["--resolve", "svc.test:99999:127.0.0.1"], "--resolve"),
        (&["--resolve", "svc.test:80:not-an-ip"], "--resolve"),
        (&["--connect-to", "svc.test:80:127.0.0.1"], "--connect-to"),
        (
            &["--connect-to", "svc.test:80:name.test:80"],
            "--connect-to",
        ),
        (&["-w", "%{no_such_variable}"], "--write-out"),
        (&["-w", "%{time_total"], "--write-out"),
        (&["-w", "@/nonexistent/format"], "--write-out"),
        (&["-o", ""], "--output"),
        (&["-4", "-6"], "--ipv4"),
        (&["-I", "-d", "x"], "--head"),
        (&["-n", "zero"], "--count"),
        (&["-m", "0"], "--max-time"),
    ];
    for (args, flag) in cases {
        let mut all = args.to_vec();
        all.push(&url);
        let out = run(transport, &all).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let line = one_stderr_line(&out);
        assert!(line.starts_with("httpstat: "), "{line}");
        assert!(line.contains(flag), "{args:?}: {line} does not name {flag}");
    }
    assert_eq!(
        server.requests_served(),
        0,
        "nothing is sent on a usage error"
    );
}

// --- pinning and address families: the reqwest transport only ---

#[tokio::test]
async fn resolve_pins_the_address_and_keeps_the_tls_name() {
    let ca = TestCa::new();
    let server = TestServer::https(&ca.server_identity(&["svc.test"]), &[b"h2", b"http/1.1"]);
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), ca.cert_pem()).unwrap();
    let pem = pem.path().to_str().unwrap();
    // No DNS server knows svc.test: only the pin can make this work.
    let dns = DnsServer::start(DnsConfig::new()).unwrap();
    let dns_addr = dns.addr().to_string();
    let url = server.url_with_host("svc.test", "/");
    let resolve = format!("svc.test:{}:127.0.0.1", server.port());
    let args = [
        "--json",
        "--dns-server",
        &dns_addr,
        "--cacert",
        pem,
        "--resolve",
        &resolve,
        &url,
    ];
    let out = httpstat(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_schema(hop);
    assert_eq!(hop["status"], 200);
    assert_eq!(hop["dns_ms"], Value::Null, "the DNS phase is skipped");
    assert_eq!(hop["dns_pinned"], true);
    assert!(events_named(hop, "dns_start").is_empty(), "{hop}");
    assert_eq!(dns.query_count(), 0);
    assert_eq!(hop["remote_addr"], server.addr().to_string());
    assert_eq!(event(hop, "tls_handshake_start")["server_name"], "svc.test");
    assert!(num(hop, "tls_ms") > 0.0);

    // People see the pin in the DNS cell.
    let args = ["--no-color", "--cacert", pem, "--resolve", &resolve, &url];
    let text = stdout(&httpstat(&args).await);
    assert!(text.contains("pinned"), "{text}");

    // --connect-to: the same, by address and port.
    let to = format!("svc.test:{0}:127.0.0.1:{0}", server.port());
    let args = [
        "--json",
        "--dns-server",
        &dns_addr,
        "--cacert",
        pem,
        "--connect-to",
        &to,
        &url,
    ];
    let out = httpstat(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["dns_pinned"], true);
    assert_eq!(hop["remote_addr"], server.addr().to_string());
    assert_eq!(dns.query_count(), 0);

    // Another port for a URL that names its own: reqwest would dial the
    // URL's, so it is refused rather than silently ignored.
    let elsewhere = format!("svc.test:{}:127.0.0.1:1", server.port());
    let out = httpstat(&["--connect-to", &elsewhere, &url]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(one_stderr_line(&out).starts_with("httpstat: --connect-to svc.test:"));
}

#[tokio::test]
async fn hyper_refuses_the_flags_it_cannot_honour() {
    let server = TestServer::http();
    let url = server.url_with_host("svc.test", "/");
    let resolve = format!("svc.test:{}:127.0.0.1", server.port());
    let to = format!("svc.test:{0}:127.0.0.1:{0}", server.port());
    for (args, flag) in [
        (&["--resolve", resolve.as_str()][..], "--resolve"),
        (&["--connect-to", to.as_str()], "--connect-to"),
        (&["-4"], "-4"),
        (&["-6"], "-6"),
    ] {
        let mut all = args.to_vec();
        all.push(&url);
        let out = hyper(&all).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let line = one_stderr_line(&out);
        assert!(
            line.starts_with(&format!(
                "httpstat: {flag} is not available with --transport hyper"
            )),
            "{line}"
        );
    }
    assert_eq!(server.requests_served(), 0);
}

#[tokio::test]
async fn ipv4_and_ipv6_pick_the_address_family() {
    // dual.test has both; the server listens on 127.0.0.1 only, so an IPv6
    // dial is refused.
    let six: IpAddr = "::1".parse().unwrap();
    let dns = DnsServer::start(DnsConfig::new().record("dual.test", [six, LOCAL])).unwrap();
    let dns_addr = dns.addr().to_string();
    let server = TestServer::http();
    let url = server.url_with_host("dual.test", "/");

    let out = httpstat(&["--json", "-4", "--dns-server", &dns_addr, &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["remote_addr"], server.addr().to_string());
    assert_eq!(events_named(hop, "connect_start").len(), 1, "{hop}");

    let out = httpstat(&["--json", "-6", "--dns-server", &dns_addr, &url]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let hop = &json_lines(&out)[0];
    assert_eq!(hop["error"]["phase"], "connect", "{hop}");
    assert!(one_stderr_line(&out).starts_with("httpstat: connect failed"));

    // A family that contradicts the URL or a pin is a usage error.
    let pin = format!("dual.test:{}:[::1]", server.port());
    for (args, flag) in [
        (
            vec!["-4", "--resolve", pin.as_str(), url.as_str()],
            "--resolve",
        ),
        (vec!["-6", "http://127.0.0.1:1/"], "-6"),
    ] {
        let out = httpstat(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let line = one_stderr_line(&out);
        assert!(line.starts_with(&format!("httpstat: {flag}")), "{line}");
    }
}
